/* config.json of BERT-family checkpoints: read into porta_model_config (BERT's vocabulary, with
 * DistilBERT's keys mapped), validated, and written back in a form transformers accepts, keeping
 * the source file's other keys. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "formats/weights_internal.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define CONFIG_MAX_LABELS 100000

static bool is_distilbert(const porta_model_config *cfg) {
  return strcmp(cfg->model_type, "distilbert") == 0;
}

static bool known_type(const char *t) {
  return strcmp(t, "bert") == 0 || strcmp(t, "roberta") == 0 || strcmp(t, "xlm-roberta") == 0 ||
         strcmp(t, "camembert") == 0 || strcmp(t, "distilbert") == 0;
}

porta_status porta_config_init(porta_model_config *cfg, const char *model_type, char *err,
                               size_t err_size) {
  if (cfg == NULL || model_type == NULL || !known_type(model_type)) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_config_init: unsupported model_type \"%s\" (porta supports bert, "
                         "roberta, xlm-roberta, camembert, distilbert)",
                         model_type ? model_type : "(null)");
  }
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->model_type, sizeof(cfg->model_type), "%s", model_type);
  cfg->hidden_size = 768;
  cfg->num_hidden_layers = 12;
  cfg->num_attention_heads = 12;
  cfg->intermediate_size = 3072;
  snprintf(cfg->hidden_act, sizeof(cfg->hidden_act), "gelu");
  cfg->layer_norm_eps = 1e-12;
  cfg->max_position_embeddings = 512;
  cfg->type_vocab_size = 2;
  cfg->vocab_size = 30522;
  cfg->pad_token_id = 0;
  cfg->hidden_dropout_prob = 0.1f;
  cfg->attention_probs_dropout_prob = 0.1f;
  cfg->classifier_dropout = -1.0f;
  snprintf(cfg->position_embedding_type, sizeof(cfg->position_embedding_type), "absolute");
  if (strcmp(model_type, "distilbert") == 0) {
    cfg->num_hidden_layers = 6;
    cfg->type_vocab_size = 0;
  } else if (strcmp(model_type, "bert") != 0) {
    // roberta-base and its relatives: positions start after the padding index.
    cfg->layer_norm_eps = 1e-5;
    cfg->max_position_embeddings = 514;
    cfg->type_vocab_size = 1;
    cfg->pad_token_id = 1;
    cfg->vocab_size = strcmp(model_type, "xlm-roberta") == 0 ? 250002
                      : strcmp(model_type, "camembert") == 0 ? 32005
                                                             : 50265;
  }
  return PORTA_OK;
}

void porta_config_free(porta_model_config *cfg) {
  if (cfg == NULL) return;
  for (int i = 0; cfg->id2label != NULL && i < cfg->num_labels; i++) free(cfg->id2label[i]);
  free(cfg->id2label);
  cJSON_Delete(cfg->source_json);
  memset(cfg, 0, sizeof(*cfg));
}

porta_status porta_config_set_labels(porta_model_config *cfg, int num_labels,
                                     const char *const *names, char *err, size_t err_size) {
  if (cfg == NULL || num_labels < 0 || num_labels > CONFIG_MAX_LABELS) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_config_set_labels: bad label count %d", num_labels);
  }
  char **labels = calloc((size_t)num_labels + 1, sizeof(*labels));
  bool ok = labels != NULL;
  for (int i = 0; ok && i < num_labels; i++) {
    char fallback[32];
    snprintf(fallback, sizeof(fallback), "LABEL_%d", i);
    labels[i] = strdup(names != NULL && names[i] != NULL ? names[i] : fallback);
    ok = labels[i] != NULL;
  }
  if (!ok) {
    for (int i = 0; labels != NULL && i < num_labels; i++) free(labels[i]);
    free(labels);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  }
  for (int i = 0; cfg->id2label != NULL && i < cfg->num_labels; i++) free(cfg->id2label[i]);
  free(cfg->id2label);
  cfg->id2label = num_labels > 0 ? labels : NULL;
  if (num_labels == 0) free(labels);
  cfg->num_labels = num_labels;
  return PORTA_OK;
}

porta_status porta_config_copy(porta_model_config *dst, const porta_model_config *src, char *err,
                               size_t err_size) {
  if (dst == NULL || src == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size, "porta_config_copy: NULL");
  }
  *dst = *src;
  dst->id2label = NULL;
  dst->num_labels = 0;
  dst->source_json = NULL;
  porta_status s = porta_config_set_labels(dst, src->num_labels, (const char *const *)src->id2label,
                                           err, err_size);
  if (s != PORTA_OK) return s;
  if (src->source_json != NULL) {
    dst->source_json = cJSON_Duplicate(src->source_json, 1);
    if (dst->source_json == NULL) {
      porta_config_free(dst);
      return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
    }
  }
  return PORTA_OK;
}

porta_status porta_config_validate(const porta_model_config *cfg, char *err, size_t err_size) {
  if (cfg == NULL) return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size, "config: NULL");
  if (!known_type(cfg->model_type)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "unsupported model_type \"%s\" (porta supports bert, roberta, "
                         "xlm-roberta, camembert, distilbert)",
                         cfg->model_type);
  }
  const struct {
    const char *name;
    int64_t value;
  } sizes[] = {{"hidden_size", cfg->hidden_size},
               {"num_hidden_layers", cfg->num_hidden_layers},
               {"num_attention_heads", cfg->num_attention_heads},
               {"intermediate_size", cfg->intermediate_size},
               {"max_position_embeddings", cfg->max_position_embeddings},
               {"vocab_size", cfg->vocab_size}};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    if (sizes[i].value <= 0 || sizes[i].value > ((int64_t)1 << 31)) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "config: %s is %lld (must be positive)",
                           sizes[i].name, (long long)sizes[i].value);
    }
  }
  if (cfg->hidden_size % cfg->num_attention_heads != 0) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "config: hidden_size %lld is not a multiple of num_attention_heads %lld",
                         (long long)cfg->hidden_size, (long long)cfg->num_attention_heads);
  }
  if (cfg->type_vocab_size < 0 || cfg->type_vocab_size > (1 << 20)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "config: type_vocab_size is %lld",
                         (long long)cfg->type_vocab_size);
  }
  if (cfg->pad_token_id < 0 || cfg->pad_token_id >= cfg->vocab_size) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "config: pad_token_id %lld is outside the vocabulary of %lld",
                         (long long)cfg->pad_token_id, (long long)cfg->vocab_size);
  }
  if (!(cfg->layer_norm_eps > 0.0) || !(cfg->layer_norm_eps < 1.0)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "config: layer_norm_eps is %g",
                         cfg->layer_norm_eps);
  }
  if (!(cfg->hidden_dropout_prob >= 0.0f && cfg->hidden_dropout_prob < 1.0f) ||
      !(cfg->attention_probs_dropout_prob >= 0.0f && cfg->attention_probs_dropout_prob < 1.0f) ||
      !(cfg->classifier_dropout < 1.0f)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "config: a dropout probability is outside [0, 1)");
  }
  if (strcmp(cfg->position_embedding_type, "absolute") != 0) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "config: position_embedding_type \"%s\" is not supported (only "
                         "\"absolute\")",
                         cfg->position_embedding_type);
  }
  if (cfg->num_labels < 0 || (cfg->num_labels > 0 && cfg->id2label == NULL)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "config: labels are inconsistent");
  }
  return PORTA_OK;
}

// ---- loading ---------------------------------------------------------------------------------

// Maps architectures[0] to a model_type ("RobertaForSequenceClassification" → "roberta").
static const char *type_from_architecture(const char *arch) {
  static const struct {
    const char *prefix, *type;
  } map[] = {{"XLMRoberta", "xlm-roberta"},
             {"Camembert", "camembert"},
             {"DistilBert", "distilbert"},
             {"Roberta", "roberta"},
             {"Bert", "bert"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (strncmp(arch, map[i].prefix, strlen(map[i].prefix)) == 0) return map[i].type;
  }
  return NULL;
}

typedef struct reader {
  const cJSON *root;
  const char *path;
  char *err;
  size_t err_size;
} reader;

// An integer field: missing → keep *out (or fail when required); present → integral number.
static porta_status get_int(const reader *r, const char *key, bool required, int64_t *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, key);
  if (item == NULL || cJSON_IsNull(item)) {
    if (!required) return PORTA_OK;
    return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size,
                         "%s: required field \"%s\" is missing", r->path, key);
  }
  double v = item->valuedouble;
  if (!cJSON_IsNumber(item) || floor(v) != v || fabs(v) > 9007199254740992.0) {
    return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size, "%s: \"%s\" is not an integer",
                         r->path, key);
  }
  *out = (int64_t)v;
  return PORTA_OK;
}

static porta_status get_double(const reader *r, const char *key, double *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, key);
  if (item == NULL || cJSON_IsNull(item)) return PORTA_OK;
  if (!cJSON_IsNumber(item)) {
    return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size, "%s: \"%s\" is not a number",
                         r->path, key);
  }
  *out = item->valuedouble;
  return PORTA_OK;
}

static porta_status get_float(const reader *r, const char *key, float *out) {
  double v = *out;
  porta_status s = get_double(r, key, &v);
  *out = (float)v;
  return s;
}

static porta_status get_string(const reader *r, const char *key, char *out, size_t cap) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, key);
  if (item == NULL || cJSON_IsNull(item)) return PORTA_OK;
  if (!cJSON_IsString(item) || strlen(item->valuestring) >= cap) {
    return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size,
                         "%s: \"%s\" is not a string of at most %zu bytes", r->path, key, cap - 1);
  }
  snprintf(out, cap, "%s", item->valuestring);
  return PORTA_OK;
}

// id2label {"0": "neg", ...} (keys 0..n-1, all present), else num_labels → LABEL_i.
static porta_status read_labels(porta_model_config *cfg, const reader *r) {
  const cJSON *map = cJSON_GetObjectItemCaseSensitive(r->root, "id2label");
  int64_t num_labels = 0;
  porta_status s = get_int(r, "num_labels", false, &num_labels);
  if (s != PORTA_OK) return s;
  if (map == NULL || cJSON_IsNull(map)) {
    if (num_labels < 0 || num_labels > CONFIG_MAX_LABELS) {
      return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size, "%s: num_labels is %lld", r->path,
                           (long long)num_labels);
    }
    return porta_config_set_labels(cfg, (int)num_labels, NULL, r->err, r->err_size);
  }
  int n = cJSON_GetArraySize(map);
  if (!cJSON_IsObject(map) || n > CONFIG_MAX_LABELS) {
    return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size,
                         "%s: \"id2label\" is not an object of at most %d labels", r->path,
                         CONFIG_MAX_LABELS);
  }
  const char **names = calloc((size_t)n + 1, sizeof(*names));
  if (names == NULL)
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, r->err, r->err_size, "out of memory");
  const cJSON *item;
  cJSON_ArrayForEach(item, map) {
    char *end = NULL;
    long id = strtol(item->string, &end, 10);
    if (end == item->string || *end != '\0' || id < 0 || id >= n || names[id] != NULL ||
        !cJSON_IsString(item)) {
      free(names);
      return porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size,
                           "%s: id2label key \"%s\" is not a distinct label id in 0..%d with a "
                           "string name",
                           r->path, item->string, n - 1);
    }
    names[id] = item->valuestring;
  }
  s = porta_config_set_labels(cfg, n, names, r->err, r->err_size);
  free(names);
  return s;
}

static porta_status read_fields(porta_model_config *cfg, const reader *r) {
  const bool distil = is_distilbert(cfg);
  // DistilBERT names the same quantities differently.
  const char *k_hidden = distil ? "dim" : "hidden_size";
  const char *k_layers = distil ? "n_layers" : "num_hidden_layers";
  const char *k_heads = distil ? "n_heads" : "num_attention_heads";
  const char *k_inter = distil ? "hidden_dim" : "intermediate_size";
  porta_status s = PORTA_OK;
  if (s == PORTA_OK) s = get_int(r, k_hidden, true, &cfg->hidden_size);
  if (s == PORTA_OK) s = get_int(r, k_layers, true, &cfg->num_hidden_layers);
  if (s == PORTA_OK) s = get_int(r, k_heads, true, &cfg->num_attention_heads);
  if (s == PORTA_OK) s = get_int(r, k_inter, true, &cfg->intermediate_size);
  if (s == PORTA_OK) s = get_int(r, "vocab_size", true, &cfg->vocab_size);
  if (s == PORTA_OK)
    s = get_int(r, "max_position_embeddings", false, &cfg->max_position_embeddings);
  if (s == PORTA_OK) s = get_int(r, "pad_token_id", false, &cfg->pad_token_id);
  if (distil) {
    if (s == PORTA_OK) s = get_string(r, "activation", cfg->hidden_act, sizeof(cfg->hidden_act));
    if (s == PORTA_OK) s = get_float(r, "dropout", &cfg->hidden_dropout_prob);
    if (s == PORTA_OK) s = get_float(r, "attention_dropout", &cfg->attention_probs_dropout_prob);
    if (s == PORTA_OK) s = get_float(r, "seq_classif_dropout", &cfg->classifier_dropout);
    const cJSON *sin = cJSON_GetObjectItemCaseSensitive(r->root, "sinusoidal_pos_embds");
    if (s == PORTA_OK && cJSON_IsTrue(sin)) {
      s = porta_io_fail(PORTA_ERR_FORMAT, r->err, r->err_size,
                        "%s: sinusoidal_pos_embds = true is not supported (only learned absolute "
                        "positions)",
                        r->path);
    }
  } else {
    if (s == PORTA_OK) s = get_string(r, "hidden_act", cfg->hidden_act, sizeof(cfg->hidden_act));
    if (s == PORTA_OK) s = get_double(r, "layer_norm_eps", &cfg->layer_norm_eps);
    if (s == PORTA_OK) s = get_int(r, "type_vocab_size", false, &cfg->type_vocab_size);
    if (s == PORTA_OK) s = get_float(r, "hidden_dropout_prob", &cfg->hidden_dropout_prob);
    if (s == PORTA_OK) {
      s = get_float(r, "attention_probs_dropout_prob", &cfg->attention_probs_dropout_prob);
    }
    if (s == PORTA_OK) s = get_float(r, "classifier_dropout", &cfg->classifier_dropout);
    if (s == PORTA_OK) {
      s = get_string(r, "position_embedding_type", cfg->position_embedding_type,
                     sizeof(cfg->position_embedding_type));
    }
  }
  const cJSON *archs = cJSON_GetObjectItemCaseSensitive(r->root, "architectures");
  const char *arch = cJSON_GetStringValue(cJSON_GetArrayItem(archs, 0));
  if (s == PORTA_OK && arch != NULL)
    snprintf(cfg->architecture, sizeof(cfg->architecture), "%s", arch);
  if (s == PORTA_OK) s = read_labels(cfg, r);
  return s;
}

porta_status porta_config_load(porta_model_config *cfg, const char *path_or_dir, char *err,
                               size_t err_size) {
  if (cfg == NULL || path_or_dir == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size, "porta_config_load: NULL");
  }
  memset(cfg, 0, sizeof(*cfg));
  char path[4096];
  struct stat st;
  if (stat(path_or_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(path, sizeof(path), "%s/config.json", path_or_dir);
  } else {
    snprintf(path, sizeof(path), "%s", path_or_dir);
  }
  char *text = NULL;
  size_t size = 0;
  porta_status s = porta_read_small_file(&text, &size, path, CONFIG_MAX_BYTES, err, err_size);
  if (s != PORTA_OK) return s;
  s = porta_config_parse(cfg, text, size, path, err, err_size);
  free(text);
  return s;
}

porta_status porta_config_parse(porta_model_config *cfg, const char *text, size_t size,
                                const char *path, char *err, size_t err_size) {
  memset(cfg, 0, sizeof(*cfg));
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
  if (root == NULL || !cJSON_IsObject(root)) {
    long pos = root == NULL && end >= text && end <= text + size ? (long)(end - text) : -1;
    if (root != NULL) {
      cJSON_Delete(root);
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: not a JSON object", path);
    }
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: not a JSON object (parse error near byte %ld)", path, pos);
  }
  // model_type, else architectures[0], else (old BERT configs had neither) BERT's keys.
  char warning[sizeof(cfg->warning)] = "";
  const cJSON *type_item = cJSON_GetObjectItemCaseSensitive(root, "model_type");
  if (type_item != NULL && !cJSON_IsString(type_item)) {
    cJSON_Delete(root);
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: \"model_type\" is not a string",
                         path);
  }
  const char *type = cJSON_GetStringValue(type_item);
  const char *arch = cJSON_GetStringValue(
      cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "architectures"), 0));
  if (type == NULL && arch != NULL) {
    type = type_from_architecture(arch);
    if (type == NULL) {
      porta_status st2 = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                                       "%s: no model_type, and architecture %.100s is not one "
                                       "porta supports",
                                       path, arch);
      cJSON_Delete(root);
      return st2;
    }
    snprintf(warning, sizeof(warning),
             "config.json has no model_type; using \"%s\" from architectures %.100s", type, arch);
  } else if (type == NULL && cJSON_GetObjectItemCaseSensitive(root, "hidden_size") != NULL &&
             cJSON_GetObjectItemCaseSensitive(root, "num_attention_heads") != NULL) {
    type = "bert";
    snprintf(warning, sizeof(warning),
             "config.json has neither model_type nor architectures; assuming \"bert\" from its "
             "keys");
  } else if (type == NULL) {
    cJSON_Delete(root);
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: required field \"model_type\" is missing (and no architectures)",
                         path);
  }
  if (!known_type(type)) {
    porta_status st2 = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                                     "%s: unsupported model_type \"%.40s\" (porta supports bert, "
                                     "roberta, xlm-roberta, camembert, distilbert)",
                                     path, type);
    cJSON_Delete(root);
    return st2;
  }
  porta_config_init(cfg, type, NULL, 0);
  snprintf(cfg->warning, sizeof(cfg->warning), "%s", warning);
  reader r = {.root = root, .path = path, .err = err, .err_size = err_size};
  porta_status s = read_fields(cfg, &r);
  if (s == PORTA_OK) {
    char why[400] = ""; // written only when the validation fails
    s = porta_config_validate(cfg, why, sizeof(why));
    if (s != PORTA_OK) {
      const char *reason = strncmp(why, "config: ", 8) == 0 ? why + 8 : why;
      porta_io_fail(s, err, err_size, "%s: %s", path, reason);
    }
  }
  if (s != PORTA_OK) {
    cJSON_Delete(root);
    porta_config_free(cfg);
    return s;
  }
  cfg->source_json = root;
  return PORTA_OK;
}

// ---- saving ----------------------------------------------------------------------------------

static void put(cJSON *root, const char *key, cJSON *value) {
  if (value == NULL) return;
  if (cJSON_GetObjectItemCaseSensitive(root, key) != NULL) {
    cJSON_ReplaceItemInObjectCaseSensitive(root, key, value);
  } else {
    cJSON_AddItemToObject(root, key, value);
  }
}

// The shortest decimal that reads back as the same float (0.1f → 0.1, not 0.100000001490116).
static cJSON *float_number(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; digits++) {
    snprintf(buf, sizeof(buf), "%.*g", digits, (double)v);
    if ((float)strtod(buf, NULL) == v) break;
  }
  return cJSON_CreateNumber(strtod(buf, NULL));
}

static porta_status fill_json(cJSON *root, const porta_model_config *cfg) {
  const bool distil = is_distilbert(cfg);
  put(root, "model_type", cJSON_CreateString(cfg->model_type));
  if (cfg->architecture[0] != '\0') {
    const char *archs[1] = {cfg->architecture};
    put(root, "architectures", cJSON_CreateStringArray(archs, 1));
  }
  put(root, distil ? "dim" : "hidden_size", cJSON_CreateNumber((double)cfg->hidden_size));
  put(root, distil ? "n_layers" : "num_hidden_layers",
      cJSON_CreateNumber((double)cfg->num_hidden_layers));
  put(root, distil ? "n_heads" : "num_attention_heads",
      cJSON_CreateNumber((double)cfg->num_attention_heads));
  put(root, distil ? "hidden_dim" : "intermediate_size",
      cJSON_CreateNumber((double)cfg->intermediate_size));
  put(root, distil ? "activation" : "hidden_act", cJSON_CreateString(cfg->hidden_act));
  put(root, "max_position_embeddings", cJSON_CreateNumber((double)cfg->max_position_embeddings));
  put(root, "vocab_size", cJSON_CreateNumber((double)cfg->vocab_size));
  put(root, "pad_token_id", cJSON_CreateNumber((double)cfg->pad_token_id));
  put(root, distil ? "dropout" : "hidden_dropout_prob", float_number(cfg->hidden_dropout_prob));
  put(root, distil ? "attention_dropout" : "attention_probs_dropout_prob",
      float_number(cfg->attention_probs_dropout_prob));
  const char *k_cls = distil ? "seq_classif_dropout" : "classifier_dropout";
  if (cfg->classifier_dropout >= 0.0f) {
    put(root, k_cls, float_number(cfg->classifier_dropout));
  } else if (!distil) {
    put(root, k_cls, cJSON_CreateNull());
  }
  if (!distil) {
    put(root, "layer_norm_eps", cJSON_CreateNumber(cfg->layer_norm_eps));
    put(root, "type_vocab_size", cJSON_CreateNumber((double)cfg->type_vocab_size));
    put(root, "position_embedding_type", cJSON_CreateString(cfg->position_embedding_type));
  }
  if (cfg->num_labels > 0) {
    cJSON *id2label = cJSON_CreateObject(), *label2id = cJSON_CreateObject();
    if (id2label == NULL || label2id == NULL) {
      cJSON_Delete(id2label);
      cJSON_Delete(label2id);
      return PORTA_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < cfg->num_labels; i++) {
      char key[16];
      snprintf(key, sizeof(key), "%d", i);
      cJSON_AddItemToObject(id2label, key, cJSON_CreateString(cfg->id2label[i]));
      cJSON_AddItemToObject(label2id, cfg->id2label[i], cJSON_CreateNumber(i));
    }
    put(root, "id2label", id2label);
    put(root, "label2id", label2id);
    if (cJSON_GetObjectItemCaseSensitive(root, "num_labels") != NULL) {
      put(root, "num_labels", cJSON_CreateNumber(cfg->num_labels));
    }
  }
  return PORTA_OK;
}

porta_status porta_config_save(const porta_model_config *cfg, const char *path,
                               const char *extra_json, char *err, size_t err_size) {
  if (cfg == NULL || path == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size, "porta_config_save: NULL");
  }
  porta_status s = porta_config_validate(cfg, err, err_size);
  if (s != PORTA_OK) return s;
  char file[4096];
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(file, sizeof(file), "%s/config.json", path);
  } else {
    snprintf(file, sizeof(file), "%s", path);
  }
  cJSON *extra = NULL;
  if (extra_json != NULL) {
    extra = cJSON_Parse(extra_json);
    if (!cJSON_IsObject(extra)) {
      cJSON_Delete(extra);
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "porta_config_save: extra_json is not a JSON object");
    }
  }
  cJSON *root = cfg->source_json ? cJSON_Duplicate(cfg->source_json, 1) : cJSON_CreateObject();
  if (root == NULL || fill_json(root, cfg) != PORTA_OK) {
    cJSON_Delete(root);
    cJSON_Delete(extra);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory saving %s", file);
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, extra) put(root, item->string, cJSON_Duplicate(item, 1));
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  cJSON_Delete(extra);
  if (text == NULL) {
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory saving %s", file);
  }
  porta_atomic_file f;
  s = porta_atomic_open(&f, file, err, err_size);
  if (s == PORTA_OK) {
    porta_atomic_write(&f, text, strlen(text));
    porta_atomic_write(&f, "\n", 1);
    s = porta_atomic_commit(&f, err, err_size);
  }
  cJSON_free(text);
  return s;
}
