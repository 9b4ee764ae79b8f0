/* porta predict: label and probabilities of texts (arguments, else stdin lines). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta predict --model CHECKPOINT [--json] [TEXT ...]\n\n"
    "Classifies each TEXT (or each line of stdin when none is given) and prints the label and the\n"
    "probability of every label: \"label<TAB>name=p ...<TAB>text\", or one JSON object a line with "
    "--json.";

enum { MAX_ARGS = 4096 };

/* Classifies texts[0..n) and prints them. */
static porta_status predict(porta_model *model, porta_head *head, const porta_tokenizer *tok,
                            const porta_label_map *labels, char **texts, int64_t n, int max_len,
                            int batch_size, bool json, char *err, size_t err_size) {
  porta_encoded_rows enc;
  porta_status st =
      porta_encode_texts(&enc, tok, (const char *const *)texts, NULL, n, max_len, err, err_size);
  if (st != PORTA_OK) return st;
  int C = porta_head_num_labels(head);
  float *probs = malloc((size_t)(n ? n : 1) * C * sizeof(float));
  int32_t *preds = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
  st = probs && preds ? PORTA_OK : PORTA_ERR_OUT_OF_MEMORY;
  if (st == PORTA_OK)
    st = porta_classify_rows(probs, preds, NULL, NULL, model, head, &enc, NULL, n, batch_size);
  if (st != PORTA_OK) snprintf(err, err_size, "%s", porta_last_error(porta_model_context(model)));
  for (int64_t i = 0; st == PORTA_OK && i < n; i++) {
    const char *label = labels->names[preds[i]];
    if (json) {
      printf("{\"text\": ");
      cli_json_string(stdout, texts[i]);
      printf(", \"label\": ");
      cli_json_string(stdout, label);
      printf(", \"label_id\": %d, \"probabilities\": {", preds[i]);
      for (int c = 0; c < C; c++) {
        printf("%s", c ? ", " : "");
        cli_json_string(stdout, labels->names[c]);
        printf(": %.6f", probs[i * C + c]);
      }
      printf("}}\n");
    } else {
      printf("%s\t", label);
      for (int c = 0; c < C; c++)
        printf("%s%s=%.4f", c ? " " : "", labels->names[c], probs[i * C + c]);
      printf("\t%s\n", texts[i]);
    }
  }
  fflush(stdout);
  free(probs);
  free(preds);
  porta_encoded_rows_free(&enc);
  return st;
}

int cli_predict(int argc, char **argv) {
  const char *model_dir = NULL;
  bool json = false;
  int batch_size = 32;
  cli_device_flags dev;
  cli_device_flags_init(&dev);
  cli_flag flags[] = {
      {"model", CLI_STRING, &model_dir, "checkpoint folder (from porta train: <run>/best)"},
      {"json", CLI_BOOL, &json, "one JSON object a line: text, label, label_id, probabilities"},
      {"batch-size", CLI_INT, &batch_size, "stdin lines classified together (32)"},
      CLI_DEVICE_FLAGS(dev),
      {NULL, 0, NULL, NULL},
  };
  char **positional = malloc(MAX_ARGS * sizeof(char *));
  int n_positional;
  bool help;
  int rc = positional
               ? cli_parse(argc, argv, flags, usage, positional, MAX_ARGS, &n_positional, &help)
               : CLI_FAILED;
  if (rc != CLI_OK || help) {
    free(positional);
    return rc;
  }
  if (!model_dir) {
    fprintf(stderr, "porta predict: --model is required (see --help)\n");
    free(positional);
    return CLI_USAGE;
  }
  if (batch_size < 1) batch_size = 32;
  porta_context *ctx = cli_context(&dev, 0);
  if (!ctx) {
    free(positional);
    return CLI_FAILED;
  }
  char err[2048] = "", real[4096];
  porta_model *model = NULL;
  porta_head *head = NULL;
  porta_label_map labels = {0};
  porta_tokenizer *tok = NULL;
  porta_status st = porta_checkpoint_resolve(real, sizeof real, model_dir, err, sizeof err);
  if (st == PORTA_OK)
    st = porta_checkpoint_load(&model, &head, &labels, ctx, real, err, sizeof err);
  if (st == PORTA_OK) st = porta_tokenizer_load(&tok, real, err, sizeof err);
  int max_len = 0;
  bool skipped_nul = false; // a stdin line held a NUL byte: reported, skipped, exit 1 at the end
  if (st == PORTA_OK) {
    const porta_model_config *cfg = porta_model_get_config(model);
    max_len = (int)cfg->max_position_embeddings;
    if (porta_model_get_family(model) == PORTA_MODEL_ROBERTA) max_len -= (int)cfg->pad_token_id + 1;
    int tok_max = porta_tokenizer_model_max_length(tok);
    if (tok_max > 0 && tok_max < max_len) max_len = tok_max;
  }
  if (st == PORTA_OK && n_positional > 0) {
    st = predict(model, head, tok, &labels, positional, n_positional, max_len, batch_size, json,
                 err, sizeof err);
  } else if (st == PORTA_OK) {
    // stdin: classify lines in groups of batch_size as they come
    char **lines = calloc((size_t)batch_size, sizeof(char *));
    size_t *caps = calloc((size_t)batch_size, sizeof(size_t));
    int n = 0;
    int64_t line_number = 0;
    while (st == PORTA_OK && lines && caps) {
      cli_line_status line_status = cli_read_line(&lines[n], &caps[n], stdin);
      bool got = line_status != CLI_LINE_EOF;
      if (got) line_number++;
      if (line_status == CLI_LINE_NUL) {
        cli_report_nul_line("predict", line_number);
        skipped_nul = true;
        continue;
      }
      if (got && lines[n][0] == '\0') continue; // blank line
      if (got) n++;
      if (n == batch_size || (!got && n > 0)) {
        st = predict(model, head, tok, &labels, lines, n, max_len, batch_size, json, err,
                     sizeof err);
        n = 0;
      }
      if (!got) break;
    }
    for (int i = 0; lines && i < batch_size; i++) free(lines[i]);
    free(lines);
    free(caps);
  }
  if (st != PORTA_OK) fprintf(stderr, "porta predict: %s (%s)\n", err, porta_status_string(st));
  porta_tokenizer_free(tok);
  porta_label_map_free(&labels);
  porta_head_free(head);
  porta_model_free(model);
  porta_context_destroy(ctx);
  free(positional);
  return st == PORTA_OK && !skipped_nul ? CLI_OK : CLI_FAILED;
}
