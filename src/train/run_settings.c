/* The run folder's settings.json: every option of the run, written at the start and read back by
 * --resume so the continued run uses the same settings. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void porta_train_options_init(porta_train_options *o) {
  memset(o, 0, sizeof *o);
  o->valid_fraction = 0.1;
  o->test_fraction = 0.1;
  o->seed = 42;
  o->head = PORTA_HEAD_CLS;
  o->dropout = -1.0f;
  o->epochs = 3;
  o->batch_size = 32;
  o->lr = 5e-5f;
  o->weight_decay = 0.01f;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->max_grad_norm = 1.0f;
  o->grad_accum = 1;
  o->max_batch_tokens = 2048;
  o->backend = PORTA_BACKEND_AUTO;
  o->device = -1;
  o->log_every = 50;
  o->progress = -1;
}

porta_status porta_settings_save(const char *path, const porta_train_options *o,
                                 const porta_run_info *info, char *err, size_t err_size) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "porta_version", PORTA_VERSION);
#ifdef PORTA_GIT_COMMIT
  cJSON_AddStringToObject(root, "git_commit", PORTA_GIT_COMMIT);
#endif
  // absolute paths, so that --resume works from any directory
  char model_abs[PATH_MAX], data_abs[PATH_MAX];
  cJSON_AddStringToObject(root, "model",
                          realpath(o->model_dir, model_abs) ? model_abs : o->model_dir);
  cJSON_AddStringToObject(root, "data", realpath(o->data_path, data_abs) ? data_abs : o->data_path);
  cJSON_AddStringToObject(root, "text_field", o->text_field);
  cJSON_AddStringToObject(root, "label_field", o->label_field);
  cJSON_AddNumberToObject(root, "limit_rows", (double)o->limit_rows);
  cJSON_AddNumberToObject(root, "valid_fraction", o->valid_fraction);
  cJSON_AddNumberToObject(root, "test_fraction", o->test_fraction);
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
  cJSON_AddStringToObject(root, "seed", seed);
  cJSON_AddStringToObject(root, "head", porta_head_kind_name(o->head));
  cJSON_AddBoolToObject(root, "freeze_body", o->freeze_body);
  cJSON_AddNumberToObject(root, "dropout", o->dropout);
  cJSON_AddNumberToObject(root, "max_length", info->max_length);
  cJSON_AddNumberToObject(root, "epochs", o->epochs);
  cJSON_AddNumberToObject(root, "batch_size", o->batch_size);
  cJSON_AddNumberToObject(root, "lr", o->lr);
  cJSON_AddNumberToObject(root, "weight_decay", o->weight_decay);
  cJSON_AddNumberToObject(root, "beta1", o->beta1);
  cJSON_AddNumberToObject(root, "beta2", o->beta2);
  cJSON_AddNumberToObject(root, "eps", o->eps);
  cJSON_AddNumberToObject(root, "warmup", o->warmup);
  cJSON_AddNumberToObject(root, "warmup_steps", (double)info->warmup_steps);
  cJSON_AddNumberToObject(root, "max_grad_norm", o->max_grad_norm);
  cJSON_AddNumberToObject(root, "grad_accum", o->grad_accum);
  cJSON_AddNumberToObject(root, "max_batch_tokens", o->max_batch_tokens);
  cJSON_AddNumberToObject(root, "max_steps", (double)o->max_steps);
  cJSON_AddNumberToObject(root, "total_steps", (double)info->total_steps);
  cJSON_AddNumberToObject(root, "save_every", (double)o->save_every);
  cJSON_AddStringToObject(root, "backend", porta_backend_name(info->backend));
  cJSON_AddNumberToObject(root, "device", info->device_index);
  cJSON_AddStringToObject(root, "device_name", info->device_name);
  cJSON_AddNumberToObject(root, "num_threads", o->num_threads);
  cJSON_AddNumberToObject(root, "num_labels", info->num_labels);
  cJSON_AddNumberToObject(root, "rows", (double)info->rows);
  cJSON_AddNumberToObject(root, "skipped_rows", (double)info->skipped_rows);
  // what --resume checks the data file against (a hash as a string: JSON numbers are doubles)
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)info->data.rows_hash);
  cJSON_AddStringToObject(root, "data_rows_hash", hash);
  cJSON_AddNumberToObject(root, "data_bytes", (double)info->data.bytes);
  cJSON *split = cJSON_AddObjectToObject(root, "split_rows");
  for (int p = 0; p < 3; p++)
    cJSON_AddNumberToObject(split, porta_split_name(p), (double)info->split_rows[p]);
  cJSON_AddStringToObject(root, "started_at", info->started_at);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text)
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory writing %s",
                            path);
  size_t n = strlen(text);
  text[n] = '\n'; // cJSON_Print's buffer ends in a NUL we may replace: write n + 1 bytes
  porta_status st = porta_write_file_atomic(path, text, n + 1, err, err_size);
  free(text);
  return st;
}

static const char *string_of(cJSON *root, const char *key) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double number_of(cJSON *root, const char *key, double fallback) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* An integer setting in [min, max] when present (else *out keeps its default). */
static porta_status integer_of(int64_t *out, cJSON *root, const char *key, int64_t min, int64_t max,
                               const char *path, char *err, size_t err_size) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) return PORTA_OK;
  return porta_json_int(out, v, min, max, path, key, err, err_size);
}

porta_status porta_settings_load(porta_train_options *o, porta_settings_strings *strings,
                                 const char *path, char *err, size_t err_size) {
  memset(strings, 0, sizeof *strings);
  char *data;
  size_t size;
  porta_status st = porta_read_file(path, &data, &size, err, err_size);
  if (st != PORTA_OK) return st;
  cJSON *root = cJSON_ParseWithLength(data, size);
  free(data);
  if (!cJSON_IsObject(root) || !string_of(root, "model") || !string_of(root, "data")) {
    cJSON_Delete(root);
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: not a porta settings.json (no \"model\" / \"data\")", path);
  }
  // integers first: a bad one leaves o untouched
  int64_t limit_rows = 0, max_length = 0, epochs = 3, batch_size = 32, grad_accum = 1,
          max_steps = 0, save_every = 0, rows = 0, data_bytes = -1,
          max_batch_tokens = 0; // runs before the field: no split
  struct {
    const char *key;
    int64_t *value, min, max;
  } ints[] = {
      {"limit_rows", &limit_rows, 0, INT64_MAX},
      {"max_length", &max_length, 0, INT_MAX},
      {"epochs", &epochs, 0, INT_MAX},
      {"batch_size", &batch_size, 1, INT_MAX},
      {"grad_accum", &grad_accum, 1, INT_MAX},
      {"max_steps", &max_steps, 0, INT64_MAX},
      {"save_every", &save_every, 0, INT64_MAX},
      {"rows", &rows, 0, INT64_MAX},
      {"data_bytes", &data_bytes, -1, INT64_MAX},
      {"max_batch_tokens", &max_batch_tokens, -1, INT_MAX},
  };
  for (size_t i = 0; i < sizeof ints / sizeof ints[0] && st == PORTA_OK; i++)
    st =
        integer_of(ints[i].value, root, ints[i].key, ints[i].min, ints[i].max, path, err, err_size);
  // float settings: a value past FLT_MAX would not convert
  const char *floats[] = {"dropout", "lr",  "weight_decay", "beta1",
                          "beta2",   "eps", "max_grad_norm"};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0] && st == PORTA_OK; i++) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, floats[i]);
    if (v && (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) <= FLT_MAX)))
      st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: \"%s\" is not a number within float range", path, floats[i]);
  }
  char *seed_end = NULL;
  const char *seed = string_of(root, "seed");
  uint64_t seed_value = seed ? strtoull(seed, &seed_end, 10) : o->seed;
  if (st == PORTA_OK && seed && (seed_end == seed || *seed_end != '\0' || seed[0] == '-'))
    st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                          "%s: \"seed\" is \"%.40s\", not an unsigned integer", path, seed);
  const char *hash = string_of(root, "data_rows_hash");
  char *hash_end = NULL;
  if (hash) strings->data.rows_hash = strtoull(hash, &hash_end, 16);
  bool hex = hash && strlen(hash) == 16 && *hash_end == '\0';
  for (int i = 0; hex && i < 16; i++) hex = isxdigit((unsigned char)hash[i]) != 0;
  if (st == PORTA_OK && hash && !hex)
    st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                          "%s: \"data_rows_hash\" is \"%.40s\", not 16 hex digits", path, hash);
  strings->has_data = hash != NULL;
  strings->data.rows = rows;
  strings->data.bytes = data_bytes;
  if (st != PORTA_OK) {
    cJSON_Delete(root);
    return st;
  }
  snprintf(strings->model_dir, sizeof strings->model_dir, "%s", string_of(root, "model"));
  snprintf(strings->data_path, sizeof strings->data_path, "%s", string_of(root, "data"));
  snprintf(strings->text_field, sizeof strings->text_field, "%s",
           string_of(root, "text_field") ? string_of(root, "text_field") : "headline");
  snprintf(strings->label_field, sizeof strings->label_field, "%s",
           string_of(root, "label_field") ? string_of(root, "label_field") : "is_sarcastic");
  o->model_dir = strings->model_dir;
  o->data_path = strings->data_path;
  o->text_field = strings->text_field;
  o->label_field = strings->label_field;
  o->limit_rows = limit_rows;
  o->valid_fraction = number_of(root, "valid_fraction", 0.1);
  o->test_fraction = number_of(root, "test_fraction", 0.1);
  o->seed = seed_value;
  if (string_of(root, "head")) porta_head_kind_parse(string_of(root, "head"), &o->head);
  o->freeze_body = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "freeze_body"));
  o->dropout = (float)number_of(root, "dropout", -1);
  o->max_length = (int)max_length;
  o->epochs = (int)epochs;
  o->batch_size = (int)batch_size;
  o->lr = (float)number_of(root, "lr", 5e-5);
  o->weight_decay = (float)number_of(root, "weight_decay", 0.01);
  o->beta1 = (float)number_of(root, "beta1", 0.9);
  o->beta2 = (float)number_of(root, "beta2", 0.999);
  o->eps = (float)number_of(root, "eps", 1e-8);
  o->warmup = number_of(root, "warmup", 0);
  o->max_grad_norm = (float)number_of(root, "max_grad_norm", 1.0);
  o->grad_accum = (int)grad_accum;
  o->max_batch_tokens = (int)max_batch_tokens;
  o->max_steps = max_steps;
  if (o->save_every == 0) o->save_every = save_every;
  cJSON_Delete(root);
  return PORTA_OK;
}

porta_status porta_run_settings_load(porta_run_settings *out, const char *run_dir, char *err,
                                     size_t err_size) {
  if (!out || !run_dir)
    return porta_train_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                            "porta_run_settings_load: out or run_dir is NULL");
  memset(out, 0, sizeof *out);
  porta_train_options_init(&out->options);
  char path[1200];
  porta_pathf(path, sizeof path, "%s/settings.json", run_dir);
  porta_settings_strings strings;
  porta_status st = porta_settings_load(&out->options, &strings, path, err, err_size);
  if (st != PORTA_OK) return st;
  snprintf(out->model_dir, sizeof out->model_dir, "%s", strings.model_dir);
  snprintf(out->data_path, sizeof out->data_path, "%s", strings.data_path);
  snprintf(out->text_field, sizeof out->text_field, "%s", strings.text_field);
  snprintf(out->label_field, sizeof out->label_field, "%s", strings.label_field);
  out->options.model_dir = out->options.data_path = NULL;
  out->options.text_field = out->options.label_field = NULL;
  return PORTA_OK;
}
