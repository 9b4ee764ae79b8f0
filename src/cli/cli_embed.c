/* porta embed: sentence embeddings (mean / cls pooling) or hidden states of stdin lines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta embed --model DIR [--pooling mean|cls|none] [--normalize] [--out "
    "FILE.safetensors] < lines.txt\n\n"
    "Runs the model body over each line of stdin and prints {\"text\": ..., \"embedding\": [...]}\n"
    "(mean: the attention-mask-weighted mean of the last hidden states, as sentence-transformers;\n"
    "cls: the first token's) or {\"text\": ..., \"last_hidden_state\": [[...], ...]} with "
    "--pooling none.\n"
    "--out writes a safetensors file instead: \"embeddings\" [N, hidden], or one\n"
    "\"last_hidden_state.<i>\" [tokens, hidden] per line with --pooling none.";

typedef struct embed_out {
  int64_t rows, capacity;
  float *data;               /* pooled: [rows, hidden] */
  porta_named_array *arrays; /* none: one per line */
  char **names;
  int64_t count, arrays_cap;
} embed_out;

static void print_vector(const float *v, int64_t n) {
  printf("[");
  for (int64_t i = 0; i < n; i++) printf("%s%.6g", i ? ", " : "", v[i]);
  printf("]");
}

int cli_embed(int argc, char **argv) {
  const char *model_dir = NULL, *pooling = "mean", *out_path = NULL;
  bool normalize = false;
  int batch_size = 32, max_len = 0;
  cli_device_flags dev;
  cli_device_flags_init(&dev);
  cli_flag flags[] = {
      {"model", CLI_STRING, &model_dir, "Hub model folder (default: models/all-MiniLM-L6-v2)"},
      {"pooling", CLI_STRING, &pooling, "mean (default) | cls | none"},
      {"normalize", CLI_BOOL, &normalize, "scale each embedding to unit length"},
      {"out", CLI_STRING, &out_path, "write a safetensors file instead of JSON lines"},
      {"batch-size", CLI_INT, &batch_size, "lines run together (32)"},
      {"max-len", CLI_INT, &max_len, "truncate to N tokens (default: the model's maximum)"},
      CLI_DEVICE_FLAGS(dev),
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  int mode = !strcmp(pooling, "mean")   ? 0
             : !strcmp(pooling, "cls")  ? 1
             : !strcmp(pooling, "none") ? 2
                                        : -1;
  if (mode < 0) {
    fprintf(stderr, "porta embed: unknown --pooling \"%s\" (mean, cls, none)\n", pooling);
    return CLI_USAGE;
  }
  if (batch_size < 1) batch_size = 32;
  char buf[4096];
  if (!model_dir) model_dir = cli_default_model(buf, sizeof buf);
  if (!model_dir) {
    fprintf(stderr, "porta embed: --model is required (see --help)\n");
    return CLI_USAGE;
  }
  porta_context *ctx = cli_context(&dev, 0);
  if (!ctx) return CLI_FAILED;
  char err[2048] = "";
  porta_model *model = NULL;
  porta_tokenizer *tok = NULL;
  porta_status st = porta_model_load(&model, ctx, model_dir);
  if (st != PORTA_OK) snprintf(err, sizeof err, "%s", porta_last_error(ctx));
  if (st == PORTA_OK) st = porta_tokenizer_load(&tok, model_dir, err, sizeof err);
  int64_t hidden = 0;
  bool in_no_grad = false;
  if (st == PORTA_OK) {
    const porta_model_config *cfg = porta_model_get_config(model);
    hidden = cfg->hidden_size;
    int positions = (int)cfg->max_position_embeddings;
    if (porta_model_get_family(model) == PORTA_MODEL_ROBERTA)
      positions -= (int)cfg->pad_token_id + 1;
    if (max_len <= 0) {
      max_len = porta_tokenizer_model_max_length(tok);
      if (max_len <= 0 || max_len > positions) max_len = positions;
    }
    porta_set_training(ctx, false);
    porta_no_grad_begin(ctx);
    in_no_grad = true;
  }
  char **lines = calloc((size_t)batch_size, sizeof(char *));
  size_t *caps = calloc((size_t)batch_size, sizeof(size_t));
  float *states = NULL;
  embed_out out = {0};
  bool eof = false, skipped_nul = false;
  int64_t line_number = 0;
  while (st == PORTA_OK && !eof && lines && caps) {
    int n = 0;
    while (n < batch_size) {
      cli_line_status got = cli_read_line(&lines[n], &caps[n], stdin);
      if (got == CLI_LINE_EOF) {
        eof = true;
        break;
      }
      line_number++;
      if (got == CLI_LINE_NUL) {
        cli_report_nul_line("embed", line_number);
        skipped_nul = true;
        continue;
      }
      if (lines[n][0]) n++;
    }
    if (n == 0) break;
    porta_encoded_rows enc;
    st = porta_encode_texts(&enc, tok, (const char *const *)lines, NULL, n, max_len, err,
                            sizeof err);
    if (st != PORTA_OK) break;
    int64_t *order = malloc((size_t)n * sizeof(int64_t));
    int32_t *ids = malloc((size_t)n * max_len * sizeof(int32_t));
    int32_t *mask = malloc((size_t)n * max_len * sizeof(int32_t));
    int seq_len = 0;
    if (!order || !ids || !mask) st = PORTA_ERR_OUT_OF_MEMORY;
    if (st == PORTA_OK) {
      for (int i = 0; i < n; i++) order[i] = i;
      porta_batch_fill(ids, mask, NULL, &seq_len, &enc, order, n);
      porta_model_input in = {ids, mask, NULL, NULL, n, seq_len};
      porta_model_output o;
      st = porta_model_forward(&o, model, &in, NULL);
      float *grown =
          st == PORTA_OK ? realloc(states, (size_t)n * seq_len * hidden * sizeof(float)) : NULL;
      if (st == PORTA_OK && !grown) st = PORTA_ERR_OUT_OF_MEMORY;
      if (grown) states = grown;
      if (st == PORTA_OK)
        st = porta_tensor_download(o.last_hidden_state, states, (size_t)n * seq_len * hidden);
      porta_release_temporaries(ctx);
      if (st != PORTA_OK) snprintf(err, sizeof err, "%s", porta_last_error(ctx));
    }
    for (int i = 0; st == PORTA_OK && i < n; i++) {
      int len = enc.lengths[i];
      const float *h = states + (size_t)i * seq_len * hidden; // [seq_len, hidden]
      if (mode == 2) {
        if (out_path) {
          if (out.count == out.arrays_cap) {
            out.arrays_cap = out.arrays_cap ? out.arrays_cap * 2 : 64;
            out.arrays = realloc(out.arrays, (size_t)out.arrays_cap * sizeof *out.arrays);
            out.names = realloc(out.names, (size_t)out.arrays_cap * sizeof *out.names);
          }
          float *copy = malloc((size_t)len * hidden * sizeof(float));
          char *name = malloc(48);
          memcpy(copy, h, (size_t)len * hidden * sizeof(float));
          snprintf(name, 48, "last_hidden_state.%lld", (long long)out.count);
          out.names[out.count] = name;
          out.arrays[out.count] = (porta_named_array){name, 2, {len, hidden}, copy};
          out.count++;
        } else {
          printf("{\"text\": ");
          cli_json_string(stdout, lines[i]);
          printf(", \"last_hidden_state\": [");
          for (int t = 0; t < len; t++) {
            printf("%s", t ? ", " : "");
            print_vector(h + (size_t)t * hidden, hidden);
          }
          printf("]}\n");
        }
        continue;
      }
      float *v = malloc((size_t)hidden * sizeof(float));
      for (int64_t d = 0; d < hidden; d++) {
        if (mode == 1) {
          v[d] = h[d];
        } else {
          double sum = 0;
          for (int t = 0; t < len; t++) sum += h[(size_t)t * hidden + d];
          v[d] = (float)(sum / (len > 0 ? len : 1));
        }
      }
      if (normalize) {
        double norm = 0;
        for (int64_t d = 0; d < hidden; d++) norm += (double)v[d] * v[d];
        norm = sqrt(norm);
        for (int64_t d = 0; d < hidden; d++) v[d] = (float)(v[d] / (norm > 1e-12 ? norm : 1e-12));
      }
      if (out_path) {
        if (out.rows == out.capacity) {
          out.capacity = out.capacity ? out.capacity * 2 : 256;
          out.data = realloc(out.data, (size_t)out.capacity * hidden * sizeof(float));
        }
        memcpy(out.data + (size_t)out.rows * hidden, v, (size_t)hidden * sizeof(float));
        out.rows++;
      } else {
        printf("{\"text\": ");
        cli_json_string(stdout, lines[i]);
        printf(", \"embedding\": ");
        print_vector(v, hidden);
        printf("}\n");
      }
      free(v);
    }
    free(order), free(ids), free(mask);
    porta_encoded_rows_free(&enc);
  }
  if (st == PORTA_OK && out_path) {
    if (mode == 2) {
      st = porta_safetensors_write(out_path, out.arrays, (int)out.count, NULL, err, sizeof err);
    } else {
      porta_named_array a = {"embeddings", 2, {out.rows, hidden}, out.data};
      st = porta_safetensors_write(out_path, &a, 1, NULL, err, sizeof err);
    }
    if (st == PORTA_OK) fprintf(stderr, "wrote %s\n", out_path);
  }
  if (st != PORTA_OK) fprintf(stderr, "porta embed: %s (%s)\n", err, porta_status_string(st));
  for (int64_t i = 0; i < out.count; i++) free(out.names[i]), free((void *)out.arrays[i].data);
  free(out.names), free(out.arrays), free(out.data);
  for (int i = 0; lines && i < batch_size; i++) free(lines[i]);
  free(lines), free(caps), free(states);
  if (in_no_grad) porta_no_grad_end(ctx);
  porta_tokenizer_free(tok);
  porta_model_free(model);
  porta_context_destroy(ctx);
  return st == PORTA_OK && !skipped_nul ? CLI_OK : CLI_FAILED;
}
