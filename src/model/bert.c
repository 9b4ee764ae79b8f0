/* BERT / RoBERTa bodies: the parameter table, loading from a Hub folder, random creation,
 * freezing and parameter listing. The forward pass is in bert_forward.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert_internal.h"

static bool name_is_layer_norm_or_bias(const char *name) {
  size_t n = strlen(name);
  if (n >= 4 && !strcmp(name + n - 4, "bias")) return true;
  return strstr(name, "LayerNorm") != NULL;
}

static void add_param(porta_model *m, porta_tensor **slot, const char *name, int ndim, int64_t d0,
                      int64_t d1, bool is_pooler) {
  porta_bert_param *p = &m->params[m->num_params++];
  p->slot = slot;
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->full_name, sizeof p->full_name, "%s%s", m->prefix, name);
  p->ndim = ndim;
  p->shape[0] = d0;
  p->shape[1] = d1;
  p->weight_decay = !name_is_layer_norm_or_bias(name);
  p->is_pooler = is_pooler;
}

static void add_linear(porta_model *m, porta_nn_linear *l, const char *name, int64_t out,
                       int64_t in, bool is_pooler) {
  char buf[PORTA_BERT_NAME_MAX];
  snprintf(buf, sizeof buf, "%s.weight", name);
  add_param(m, &l->w, buf, 2, out, in, is_pooler);
  snprintf(buf, sizeof buf, "%s.bias", name);
  add_param(m, &l->b, buf, 1, out, 0, is_pooler);
}

static void add_norm(porta_model *m, porta_nn_layer_norm *ln, const char *name, int64_t dim) {
  char buf[PORTA_BERT_NAME_MAX];
  ln->eps = (float)m->cfg.layer_norm_eps;
  snprintf(buf, sizeof buf, "%s.weight", name);
  add_param(m, &ln->gamma, buf, 1, dim, 0, false);
  snprintf(buf, sizeof buf, "%s.bias", name);
  add_param(m, &ln->beta, buf, 1, dim, 0, false);
}

porta_status porta_bert_build_params(porta_model *m, bool with_pooler) {
  const porta_model_config *c = &m->cfg;
  int64_t d = c->hidden_size, inter = c->intermediate_size;
  int max_params = 5 + 16 * m->num_layers + 2;
  m->params = calloc((size_t)max_params, sizeof *m->params);
  if (!m->params)
    return porta_nn_fail(m->ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model: out of memory");
  m->num_params = 0;
  add_param(m, &m->word_embeddings, "embeddings.word_embeddings.weight", 2, c->vocab_size, d,
            false);
  add_param(m, &m->position_embeddings, "embeddings.position_embeddings.weight", 2,
            c->max_position_embeddings, d, false);
  add_param(m, &m->token_type_embeddings, "embeddings.token_type_embeddings.weight", 2,
            c->type_vocab_size, d, false);
  add_norm(m, &m->embeddings_norm, "embeddings.LayerNorm", d);
  for (int i = 0; i < m->num_layers; i++) {
    porta_bert_layer *L = &m->layers[i];
    char base[32], buf[96];
    snprintf(base, sizeof base, "encoder.layer.%d", i);
    snprintf(buf, sizeof buf, "%s.attention.self.query", base);
    add_linear(m, &L->attention.query, buf, d, d, false);
    snprintf(buf, sizeof buf, "%s.attention.self.key", base);
    add_linear(m, &L->attention.key, buf, d, d, false);
    snprintf(buf, sizeof buf, "%s.attention.self.value", base);
    add_linear(m, &L->attention.value, buf, d, d, false);
    snprintf(buf, sizeof buf, "%s.attention.output.dense", base);
    add_linear(m, &L->attention.output, buf, d, d, false);
    snprintf(buf, sizeof buf, "%s.attention.output.LayerNorm", base);
    add_norm(m, &L->attention.norm, buf, d);
    snprintf(buf, sizeof buf, "%s.intermediate.dense", base);
    add_linear(m, &L->mlp.intermediate, buf, inter, d, false);
    snprintf(buf, sizeof buf, "%s.output.dense", base);
    add_linear(m, &L->mlp.output, buf, d, inter, false);
    snprintf(buf, sizeof buf, "%s.output.LayerNorm", base);
    add_norm(m, &L->mlp.norm, buf, d);
    L->attention.num_heads = m->num_heads;
    L->mlp.act = m->act;
  }
  if (with_pooler) add_linear(m, &m->pooler, "pooler.dense", d, d, true);
  m->has_pooler = with_pooler;
  return PORTA_OK;
}

porta_status porta_bert_finish_params(porta_model *m) {
  for (int i = 0; i < m->num_params; i++) {
    porta_tensor *t = *m->params[i].slot;
    porta_tensor_set_name(t, m->params[i].full_name);
    porta_status st = porta_tensor_set_requires_grad(t, true);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

void porta_model_free(porta_model *m) {
  if (!m) return;
  for (int i = 0; i < m->num_params; i++) {
    porta_tensor_free(*m->params[i].slot);
    *m->params[i].slot = NULL;
  }
  free(m->params);
  free(m->layers);
  free(m->clf_weight);
  free(m->clf_bias);
  free(m->clf_dense_weight);
  free(m->clf_dense_bias);
  porta_config_free(&m->cfg);
  free(m);
}

/* A model struct with cfg copied and checked; parameters not yet allocated. */
static porta_status model_new(porta_model **out, porta_context *ctx,
                              const porta_model_config *cfg) {
  char err[512];
  *out = NULL;
  porta_model *m = calloc(1, sizeof *m);
  if (!m) return porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model: out of memory");
  m->ctx = ctx;
  porta_status st = porta_config_copy(&m->cfg, cfg, err, sizeof err);
  if (st != PORTA_OK) {
    free(m);
    return porta_nn_fail(ctx, st, "porta_model: %s", err);
  }
  const porta_model_config *c = &m->cfg;
  if (!strcmp(c->model_type, "bert")) {
    m->family = PORTA_MODEL_BERT;
    m->prefix = "bert.";
  } else if (!strcmp(c->model_type, "roberta") || !strcmp(c->model_type, "xlm-roberta") ||
             !strcmp(c->model_type, "camembert")) {
    m->family = PORTA_MODEL_ROBERTA;
    m->prefix = "roberta.";
  } else {
    st = porta_nn_fail(ctx, PORTA_ERR_UNSUPPORTED,
                       "porta_model: model_type \"%s\" is not supported (bert, roberta, "
                       "xlm-roberta, camembert)",
                       c->model_type);
    goto fail;
  }
  if (c->num_hidden_layers < 1 || c->num_hidden_layers > PORTA_MODEL_MAX_LAYERS) {
    st = porta_nn_fail(ctx, PORTA_ERR_LIMIT, "porta_model: num_hidden_layers %lld is not in 1..%d",
                       (long long)c->num_hidden_layers, PORTA_MODEL_MAX_LAYERS);
    goto fail;
  }
  if (c->hidden_size < 1 || c->num_attention_heads < 1 ||
      c->hidden_size % c->num_attention_heads != 0 || c->type_vocab_size < 1 || c->vocab_size < 1 ||
      c->max_position_embeddings < 1 || c->intermediate_size < 1) {
    st = porta_nn_fail(ctx, PORTA_ERR_FORMAT,
                       "porta_model: config sizes do not fit a BERT body (hidden_size %lld, "
                       "num_attention_heads %lld, type_vocab_size %lld, vocab_size %lld)",
                       (long long)c->hidden_size, (long long)c->num_attention_heads,
                       (long long)c->type_vocab_size, (long long)c->vocab_size);
    goto fail;
  }
  st = porta_nn_activation_parse(ctx, c->hidden_act, &m->act);
  if (st != PORTA_OK) goto fail;
  m->num_heads = (int)c->num_attention_heads;
  m->num_layers = (int)c->num_hidden_layers;
  m->hidden_dropout = c->hidden_dropout_prob;
  m->attn_dropout = c->attention_probs_dropout_prob;
  m->layers = calloc((size_t)m->num_layers, sizeof *m->layers);
  if (!m->layers) {
    st = porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model: out of memory");
    goto fail;
  }
  *out = m;
  return PORTA_OK;
fail:
  porta_model_free(m);
  return st;
}

/* Index of name in the checkpoint, with the family prefix first, then without. */
static int find_weight(const porta_weights *w, const char *prefix, const char *name) {
  char full[PORTA_BERT_NAME_MAX + 16];
  snprintf(full, sizeof full, "%s%s", prefix, name);
  int i = porta_weights_find(w, full);
  return i >= 0 ? i : porta_weights_find(w, name);
}

static bool shape_is(const porta_weights *w, int idx, int ndim, const int64_t *shape) {
  if (porta_weights_ndim(w, idx) != ndim) return false;
  const int64_t *s = porta_weights_shape(w, idx);
  for (int i = 0; i < ndim; i++)
    if (s[i] != shape[i]) return false;
  return true;
}

static porta_status load_param(porta_model *m, const porta_weights *w, const porta_bert_param *p,
                               const char *dir) {
  int idx = find_weight(w, m->prefix, p->name);
  if (idx < 0)
    return porta_nn_fail(m->ctx, PORTA_ERR_NOT_FOUND,
                         "porta_model_load: %s: tensor \"%s\" (or \"%s\") is missing", dir,
                         p->full_name, p->name);
  if (!shape_is(w, idx, p->ndim, p->shape)) {
    char want[64], got[64];
    snprintf(want, sizeof want, p->ndim == 2 ? "[%lld, %lld]" : "[%lld]", (long long)p->shape[0],
             (long long)p->shape[1]);
    int nd = porta_weights_ndim(w, idx);
    const int64_t *s = porta_weights_shape(w, idx);
    size_t n = (size_t)snprintf(got, sizeof got, "[");
    for (int i = 0; i < nd && n < sizeof got; i++)
      n += (size_t)snprintf(got + n, sizeof got - n, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (n < sizeof got) snprintf(got + n, sizeof got - n, "]");
    return porta_nn_fail(m->ctx, PORTA_ERR_SHAPE,
                         "porta_model_load: %s: tensor \"%s\" has shape %s, config.json implies %s",
                         dir, porta_weights_name(w, idx), got, want);
  }
  int64_t numel = porta_weights_numel(w, idx);
  float *host = malloc((size_t)numel * sizeof(float));
  if (!host)
    return porta_nn_fail(m->ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_load: out of memory for %s",
                         p->full_name);
  char err[512];
  porta_status st = porta_weights_read_f32(w, idx, host, (size_t)numel, err, sizeof err);
  if (st != PORTA_OK) {
    free(host);
    return porta_nn_fail(m->ctx, st, "porta_model_load: %s", err);
  }
  st = porta_tensor_from_host(m->ctx, p->slot, PORTA_F32, p->ndim, p->shape, host);
  free(host);
  return st;
}

/* 1 + the largest i of the checkpoint's "[prefix]encoder.layer.<i>." tensors (0 without any). */
static long checkpoint_layers(const porta_weights *w, const char *prefix) {
  const char *key = "encoder.layer.";
  size_t prefix_len = strlen(prefix), key_len = strlen(key);
  long layers = 0;
  for (int i = 0; i < porta_weights_count(w); i++) {
    const char *name = porta_weights_name(w, i);
    if (!strncmp(name, prefix, prefix_len)) name += prefix_len;
    if (strncmp(name, key, key_len) || name[key_len] < '0' || name[key_len] > '9') continue;
    char *end;
    long index = strtol(name + key_len, &end, 10);
    if (*end == '.' && index < LONG_MAX && index + 1 > layers) layers = index + 1;
  }
  return layers;
}

/* The checkpoint must hold exactly config.json's num_hidden_layers layers. transformers loads a
 * deeper checkpoint's first layers and only logs the rest as unexpected; porta has no warning
 * channel there and refuses instead: a config.json that is not the checkpoint's is the likely
 * cause. A shallower checkpoint is missing tensors (transformers initialises them at random). */
static porta_status check_layer_count(porta_model *m, const porta_weights *w, const char *dir) {
  long layers = checkpoint_layers(w, m->prefix);
  if (layers > m->num_layers)
    return porta_nn_fail(m->ctx, PORTA_ERR_SHAPE,
                         "porta_model_load: %s: config.json says num_hidden_layers %d, but the "
                         "checkpoint holds %ld layers (encoder.layer.0..%ld); set "
                         "num_hidden_layers to %ld, or drop the extra layers from the checkpoint",
                         dir, m->num_layers, layers, layers - 1, layers);
  if (layers < m->num_layers)
    return porta_nn_fail(m->ctx, PORTA_ERR_NOT_FOUND,
                         "porta_model_load: %s: config.json says num_hidden_layers %d, but the "
                         "checkpoint holds %ld layers: tensor \"encoder.layer.%ld.attention.self."
                         "query.weight\" is missing",
                         dir, m->num_layers, layers, layers);
  return PORTA_OK;
}

/* A host copy of tensor `name` if it exists with shape [d0] (d1 == 0) or [d0, d1]; *out stays
 * NULL when it does not. */
static porta_status read_optional(porta_model *m, const porta_weights *w, const char *name,
                                  int64_t d0, int64_t d1, float **out) {
  int i = porta_weights_find(w, name);
  int64_t shape[2] = {d0, d1};
  if (i < 0 || !shape_is(w, i, d1 ? 2 : 1, shape)) return PORTA_OK;
  size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
  float *data = malloc(n * sizeof *data);
  if (!data)
    return porta_nn_fail(m->ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_load: out of memory");
  char err[512];
  porta_status st = porta_weights_read_f32(w, i, data, n, err, sizeof err);
  if (st != PORTA_OK) {
    free(data);
    return porta_nn_fail(m->ctx, st, "porta_model_load: %s", err);
  }
  *out = data;
  return PORTA_OK;
}

/* Keeps host copies of the checkpoint's classifier: "classifier.weight" [N, D] + bias [N], or
 * RoBERTa's "classifier.dense" [D, D] + "classifier.out_proj" [N, D] (+ biases). */
static porta_status load_classifier(porta_model *m, const porta_weights *w) {
  int64_t d = m->cfg.hidden_size;
  bool roberta = false;
  int wi = porta_weights_find(w, "classifier.weight");
  if (wi < 0) {
    wi = porta_weights_find(w, "classifier.out_proj.weight");
    roberta = true;
  }
  if (wi < 0 || porta_weights_ndim(w, wi) != 2) return PORTA_OK;
  int64_t n = porta_weights_shape(w, wi)[0];
  if (n < 1 || n > 1000000 || porta_weights_shape(w, wi)[1] != d) return PORTA_OK;
  porta_status st = PORTA_OK;
  float *weight = NULL, *bias = NULL, *dense_w = NULL, *dense_b = NULL;
  st = read_optional(m, w, roberta ? "classifier.out_proj.weight" : "classifier.weight", n, d,
                     &weight);
  if (st == PORTA_OK)
    st = read_optional(m, w, roberta ? "classifier.out_proj.bias" : "classifier.bias", n, 0, &bias);
  if (st == PORTA_OK && roberta)
    st = read_optional(m, w, "classifier.dense.weight", d, d, &dense_w);
  if (st == PORTA_OK && roberta) st = read_optional(m, w, "classifier.dense.bias", d, 0, &dense_b);
  if (st != PORTA_OK || !weight || !bias || (roberta && (!dense_w || !dense_b))) {
    free(weight);
    free(bias);
    free(dense_w);
    free(dense_b);
    return st; /* an incomplete classifier is ignored */
  }
  m->clf_labels = (int)n;
  m->clf_weight = weight;
  m->clf_bias = bias;
  m->clf_dense_weight = dense_w;
  m->clf_dense_bias = dense_b;
  return PORTA_OK;
}

porta_status porta_model_load(porta_model **out, porta_context *ctx, const char *model_dir) {
  if (!out) return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_model_load: out is NULL");
  *out = NULL;
  if (!ctx || !model_dir)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_model_load: context or model_dir is NULL");
  char err[1024];
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  porta_status st = porta_config_load(&cfg, model_dir, err, sizeof err);
  if (st != PORTA_OK) return porta_nn_fail(ctx, st, "porta_model_load: %s", err);
  porta_model *m;
  st = model_new(&m, ctx, &cfg);
  porta_config_free(&cfg);
  if (st != PORTA_OK) return st;
  snprintf(m->source_dir, sizeof m->source_dir, "%s", model_dir);

  porta_weights *w = NULL;
  st = porta_weights_open(&w, model_dir, err, sizeof err);
  if (st != PORTA_OK) {
    porta_model_free(m);
    return porta_nn_fail(ctx, st, "porta_model_load: %s", err);
  }
  bool pooler = find_weight(w, m->prefix, "pooler.dense.weight") >= 0 &&
                find_weight(w, m->prefix, "pooler.dense.bias") >= 0;
  st = check_layer_count(m, w, model_dir);
  if (st == PORTA_OK) st = porta_bert_build_params(m, pooler);
  for (int i = 0; st == PORTA_OK && i < m->num_params; i++)
    st = load_param(m, w, &m->params[i], model_dir);
  if (st == PORTA_OK) st = load_classifier(m, w);
  if (st == PORTA_OK) st = porta_bert_finish_params(m);
  porta_weights_close(w);
  if (st != PORTA_OK) {
    porta_model_free(m);
    return st;
  }
  *out = m;
  return PORTA_OK;
}

porta_status porta_model_create(porta_model **out, porta_context *ctx,
                                const porta_model_config *cfg, uint64_t seed) {
  if (!out)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_model_create: out is NULL");
  *out = NULL;
  if (!ctx || !cfg)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_model_create: context or config is NULL");
  porta_model *m;
  porta_status st = model_new(&m, ctx, cfg);
  if (st != PORTA_OK) return st;
  st = porta_bert_build_params(m, m->family == PORTA_MODEL_BERT);
  porta_nn_rng rng;
  porta_nn_rng_seed(&rng, seed);
  for (int i = 0; st == PORTA_OK && i < m->num_params; i++) {
    const porta_bert_param *p = &m->params[i];
    int64_t n = p->ndim == 2 ? p->shape[0] * p->shape[1] : p->shape[0];
    float *host = malloc((size_t)n * sizeof(float));
    if (!host) {
      st = porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_create: out of memory");
      break;
    }
    bool is_norm_weight = strstr(p->name, "LayerNorm.weight") != NULL;
    bool is_bias = !p->weight_decay && !is_norm_weight;
    for (int64_t j = 0; j < n; j++)
      host[j] = is_norm_weight ? 1.0f : is_bias ? 0.0f : 0.02f * porta_nn_rng_normal(&rng);
    st = porta_tensor_from_host(ctx, p->slot, PORTA_F32, p->ndim, p->shape, host);
    free(host);
  }
  if (st == PORTA_OK) st = porta_bert_finish_params(m);
  if (st != PORTA_OK) {
    porta_model_free(m);
    return st;
  }
  *out = m;
  return PORTA_OK;
}

const porta_model_config *porta_model_get_config(const porta_model *m) {
  return m ? &m->cfg : NULL;
}
porta_model_family porta_model_get_family(const porta_model *m) { return m ? m->family : 0; }
porta_context *porta_model_context(const porta_model *m) { return m ? m->ctx : NULL; }
const char *porta_model_source_dir(const porta_model *m) { return m ? m->source_dir : ""; }
int64_t porta_model_max_seq_len(const porta_model *m) {
  if (!m) return 0;
  if (m->family == PORTA_MODEL_ROBERTA)
    return m->cfg.max_position_embeddings - m->cfg.pad_token_id - 1;
  return m->cfg.max_position_embeddings;
}
bool porta_model_has_pooler(const porta_model *m) { return m && m->has_pooler; }
int porta_model_classifier_labels(const porta_model *m) { return m ? m->clf_labels : 0; }

porta_status porta_model_set_trainable(porta_model *m, bool trainable) {
  if (!m) return PORTA_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < m->num_params; i++) {
    if (m->params[i].is_pooler) continue;
    porta_status st = porta_tensor_set_requires_grad(*m->params[i].slot, trainable);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status porta_model_set_dropout(porta_model *m, float hidden, float attention) {
  if (!m) return PORTA_ERR_INVALID_ARGUMENT;
  if (!(hidden < 1.0f) || !(attention < 1.0f))
    return porta_nn_fail(m->ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_model_set_dropout: hidden %g / attention %g: must be < 1",
                         (double)hidden, (double)attention);
  if (hidden >= 0.0f) m->hidden_dropout = hidden;
  if (attention >= 0.0f) m->attn_dropout = attention;
  return PORTA_OK;
}
