/* porta eval: metrics of a checkpoint on a data file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta eval --model CHECKPOINT --data FILE [options]\n"
    "       porta eval --run RUN_DIR [--split test|valid|train] [--model CHECKPOINT]\n\n"
    "Classifies every readable row of FILE with a checkpoint written by `porta train` (e.g.\n"
    "runs/<run>/best) and prints accuracy, precision, recall, F1 (binary: positive class 1; more\n"
    "classes: macro averages) and the confusion matrix. Labels are mapped through the "
    "checkpoint's\n"
    "labels.json. With --run, the data file, fields and rows come from the run's settings.json "
    "and\n"
    "split.json (default: its test split and its best/ checkpoint).";

int cli_eval(int argc, char **argv) {
  const char *model_dir = NULL, *data = NULL, *text_field = "headline",
             *label_field = "is_sarcastic";
  const char *run = NULL, *split_name = "test";
  int64_t limit = 0;
  int batch_size = 64;
  bool json = false;
  cli_device_flags dev;
  cli_device_flags_init(&dev);
  cli_flag flags[] = {
      {"model", CLI_STRING, &model_dir, "checkpoint folder (from porta train: <run>/best)"},
      {"data", CLI_STRING, &data, "JSON lines or CSV file"},
      {"text-field", CLI_STRING, &text_field, "JSON key / CSV column of the text (headline)"},
      {"label-field", CLI_STRING, &label_field,
       "JSON key / CSV column of the label (is_sarcastic)"},
      {"limit-rows", CLI_INT64, &limit, "use only the first N readable rows"},
      {"batch-size", CLI_INT, &batch_size, "rows per batch (64)"},
      {"json", CLI_BOOL, &json, "print the metrics as one JSON object on stdout"},
      {"run", CLI_STRING, &run, "a porta train run folder: its data, split and best/ checkpoint"},
      {"split", CLI_STRING, &split_name, "with --run: test (default) | valid | train"},
      CLI_DEVICE_FLAGS(dev),
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  // --run: the run's own data, fields, split and best checkpoint
  porta_run_settings settings;
  char run_best[4096], err[2048] = "";
  porta_split split = {0};
  int part = -1;
  if (run) {
    for (int p = 0; p < 3; p++)
      if (!strcmp(split_name, porta_split_name(p))) part = p;
    if (part < 0) {
      fprintf(stderr, "porta eval: unknown --split \"%s\" (train, valid, test)\n", split_name);
      return CLI_USAGE;
    }
    if (cli_run_settings(run, &settings, err, sizeof err) != CLI_OK ||
        cli_run_split(run, &split, err, sizeof err) != CLI_OK) {
      fprintf(stderr, "porta eval: %s\n", err);
      porta_split_free(&split);
      return CLI_FAILED;
    }
    data = data ? data : settings.data_path;
    text_field = settings.text_field;
    label_field = settings.label_field;
    limit = settings.options.limit_rows;
    snprintf(run_best, sizeof run_best, "%s/best", run);
    if (!model_dir) model_dir = run_best;
  }
  if (!model_dir || !data) {
    fprintf(stderr, "porta eval: --model and --data (or --run) are required (see --help)\n");
    porta_split_free(&split);
    return CLI_USAGE;
  }
  porta_context *ctx = cli_context(&dev, 0);
  if (!ctx) {
    porta_split_free(&split);
    return CLI_FAILED;
  }
  porta_model *model = NULL;
  porta_head *head = NULL;
  porta_label_map labels = {0};
  porta_tokenizer *tok = NULL;
  porta_dataset *ds = NULL;
  porta_encoded_rows enc = {0};
  porta_metrics m;
  rc = CLI_FAILED;
  char real[4096];
  porta_status st = porta_checkpoint_resolve(real, sizeof real, model_dir, err, sizeof err);
  if (st == PORTA_OK)
    st = porta_checkpoint_load(&model, &head, &labels, ctx, real, err, sizeof err);
  if (st == PORTA_OK) st = porta_tokenizer_load(&tok, real, err, sizeof err);
  if (st == PORTA_OK) {
    porta_dataset_options o;
    porta_dataset_options_init(&o);
    o.text_field = text_field;
    o.label_field = label_field;
    o.limit_rows = limit;
    o.label_map = &labels;
    st = porta_dataset_load(&ds, data, &o, err, sizeof err);
  }
  if (st == PORTA_OK) {
    char summary[1024];
    porta_dataset_skip_summary(ds, 10, summary, sizeof summary);
    if (summary[0]) fprintf(stderr, "%s: %s\n", data, summary);
    const porta_model_config *cfg = porta_model_get_config(model);
    int max_len = (int)cfg->max_position_embeddings;
    if (porta_model_get_family(model) == PORTA_MODEL_ROBERTA) max_len -= (int)cfg->pad_token_id + 1;
    int tok_max = porta_tokenizer_model_max_length(tok);
    if (tok_max > 0 && tok_max < max_len) max_len = tok_max;
    st = porta_encode_texts(&enc, tok, (const char *const *)ds->texts, ds->labels, ds->count,
                            max_len, err, sizeof err);
  }
  const int64_t *rows = NULL;
  int64_t count = enc.count;
  if (st == PORTA_OK && run) {
    rows = split.rows[part];
    count = split.count[part];
    for (int64_t i = 0; i < count; i++)
      if (rows[i] >= enc.count) {
        st = PORTA_ERR_FORMAT;
        snprintf(err, sizeof err, "%s/split.json names row %lld, but %s has %lld readable rows",
                 run, (long long)rows[i], data, (long long)enc.count);
        break;
      }
  }
  if (st == PORTA_OK) {
    st = porta_classify_rows(NULL, NULL, &m, NULL, model, head, &enc, rows, count, batch_size);
    if (st != PORTA_OK) snprintf(err, sizeof err, "%s", porta_last_error(ctx));
  }
  if (st == PORTA_OK) {
    rc = CLI_OK;
    if (json) {
      char buf[8192];
      porta_metrics_json(&m, buf, sizeof buf);
      printf("{\"rows\": %lld, \"loss\": %.6f, %s\n", (long long)m.count, m.loss, buf + 1);
    } else {
      printf("%s on %s%s%s (%lld rows)\n", real, data, run ? ", split " : "", run ? split_name : "",
             (long long)m.count);
      printf("loss %.4f  accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  (%s)\n", m.loss,
             m.accuracy, m.precision, m.recall, m.f1,
             m.num_classes == 2 ? "positive class 1" : "macro averages");
      printf("confusion (rows: true, columns: predicted)\n%12s", "");
      for (int p = 0; p < m.num_classes; p++) printf(" %10.10s", labels.names[p]);
      printf("\n");
      for (int y = 0; y < m.num_classes; y++) {
        printf("%12.12s", labels.names[y]);
        for (int p = 0; p < m.num_classes; p++)
          printf(" %10lld", (long long)m.confusion[y * m.num_classes + p]);
        printf("\n");
      }
    }
  } else {
    fprintf(stderr, "porta eval: %s (%s)\n", err, porta_status_string(st));
  }
  porta_encoded_rows_free(&enc);
  porta_dataset_free(ds);
  porta_tokenizer_free(tok);
  porta_label_map_free(&labels);
  porta_head_free(head);
  porta_model_free(model);
  porta_context_destroy(ctx);
  porta_split_free(&split);
  return rc;
}
