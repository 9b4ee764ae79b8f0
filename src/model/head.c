/* Classification heads on a body's last_hidden_state: cls (token 0), pooler (BERT's dense + tanh
 * on token 0) and mean (mask-weighted mean of the tokens), each dropout + linear to N labels;
 * plus the all-in-one classify call and the parameter listing of body + head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert_internal.h"

static const char *const head_names[] = {NULL, "cls", "pooler", "mean"};

const char *porta_head_kind_name(porta_head_kind kind) {
  return kind >= PORTA_HEAD_CLS && kind <= PORTA_HEAD_MEAN ? head_names[kind] : "unknown";
}

porta_status porta_head_kind_parse(const char *name, porta_head_kind *out) {
  for (int k = PORTA_HEAD_CLS; name && k <= PORTA_HEAD_MEAN; k++) {
    if (!strcmp(name, head_names[k])) {
      *out = (porta_head_kind)k;
      return PORTA_OK;
    }
  }
  return PORTA_ERR_INVALID_ARGUMENT;
}

void porta_head_options_init(porta_head_options *o) {
  memset(o, 0, sizeof *o);
  o->kind = PORTA_HEAD_CLS;
  o->dropout = -1.0f;
  o->init_std = 0.02f;
  o->from_checkpoint = true;
}

/* A [rows, cols] (or [rows] when cols == 0) parameter from host data, or N(0, std) / zeros. */
static porta_status make_param(porta_context *ctx, porta_tensor **out, const char *name,
                               int64_t rows, int64_t cols, const float *data, porta_nn_rng *rng,
                               float std) {
  int64_t shape[2] = {rows, cols};
  int ndim = cols ? 2 : 1;
  int64_t n = cols ? rows * cols : rows;
  float *host = NULL;
  if (!data) {
    host = malloc((size_t)n * sizeof *host);
    if (!host)
      return porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_head_create: out of memory");
    for (int64_t i = 0; i < n; i++) host[i] = rng ? std * porta_nn_rng_normal(rng) : 0.0f;
    data = host;
  }
  porta_status st = porta_tensor_from_host(ctx, out, PORTA_F32, ndim, shape, data);
  free(host);
  if (st != PORTA_OK) return st;
  porta_tensor_set_name(*out, name);
  return porta_tensor_set_requires_grad(*out, true);
}

void porta_head_free(porta_head *h) {
  if (!h) return;
  porta_tensor_free(h->classifier.w);
  porta_tensor_free(h->classifier.b);
  if (h->owns_pooler) {
    porta_tensor_free(h->pooler.w);
    porta_tensor_free(h->pooler.b);
  }
  free(h);
}

porta_status porta_head_create(porta_head **out, porta_model *m,
                               const porta_head_options *options) {
  if (!out || !m) return PORTA_ERR_INVALID_ARGUMENT;
  *out = NULL;
  porta_context *ctx = m->ctx;
  porta_head_options o;
  if (options)
    o = *options;
  else
    porta_head_options_init(&o);
  if (o.kind < PORTA_HEAD_CLS || o.kind > PORTA_HEAD_MEAN)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_head_create: unknown kind %d",
                         (int)o.kind);
  int labels = o.num_labels;
  if (labels == 0) labels = o.from_checkpoint && m->clf_labels ? m->clf_labels : m->cfg.num_labels;
  if (labels < 1)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_head_create: num_labels is %d and neither the checkpoint's "
                         "classifier nor config.json give a number of labels",
                         o.num_labels);
  float p = o.dropout;
  if (p < 0.0f)
    p = m->cfg.classifier_dropout >= 0.0f ? m->cfg.classifier_dropout : m->cfg.hidden_dropout_prob;
  if (!(p >= 0.0f && p < 1.0f))
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_head_create: dropout %g is not in [0, 1)", (double)p);
  porta_head *h = calloc(1, sizeof *h);
  if (!h) return porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_head_create: out of memory");
  h->model = m;
  h->kind = o.kind;
  h->num_labels = labels;
  h->dropout = p;

  int64_t d = m->cfg.hidden_size;
  porta_nn_rng rng;
  porta_nn_rng_seed(&rng, o.seed);
  /* RoBERTa's pooler head is RobertaClassificationHead: classifier.dense + classifier.out_proj */
  h->roberta_style = o.kind == PORTA_HEAD_POOLER && m->family == PORTA_MODEL_ROBERTA;
  bool ckpt_has_dense = m->clf_dense_weight != NULL;
  bool from_ckpt =
      o.from_checkpoint && m->clf_labels == labels && ckpt_has_dense == h->roberta_style;
  const char *w_name = h->roberta_style ? "classifier.out_proj.weight" : "classifier.weight";
  const char *b_name = h->roberta_style ? "classifier.out_proj.bias" : "classifier.bias";
  porta_status st = PORTA_OK;
  if (o.kind == PORTA_HEAD_POOLER) {
    if (m->has_pooler && !h->roberta_style) {
      h->pooler = m->pooler;
    } else {
      /* RoBERTa: RobertaClassificationHead's dense (from the checkpoint when it has one);
       * BERT without a pooler in the checkpoint: a new one, saved where BertModel expects it */
      bool dense_from_ckpt = from_ckpt && h->roberta_style;
      char wname[64], bname[64];
      snprintf(wname, sizeof wname, "%s%s", h->roberta_style ? "classifier." : m->prefix,
               h->roberta_style ? "dense.weight" : "pooler.dense.weight");
      snprintf(bname, sizeof bname, "%s%s", h->roberta_style ? "classifier." : m->prefix,
               h->roberta_style ? "dense.bias" : "pooler.dense.bias");
      h->owns_pooler = true;
      st = make_param(ctx, &h->pooler.w, wname, d, d, dense_from_ckpt ? m->clf_dense_weight : NULL,
                      &rng, o.init_std);
      if (st == PORTA_OK)
        st = make_param(ctx, &h->pooler.b, bname, d, 0, dense_from_ckpt ? m->clf_dense_bias : NULL,
                        NULL, 0.0f);
    }
  }
  if (st == PORTA_OK)
    st = make_param(ctx, &h->classifier.w, w_name, labels, d, from_ckpt ? m->clf_weight : NULL,
                    &rng, o.init_std);
  if (st == PORTA_OK)
    st = make_param(ctx, &h->classifier.b, b_name, labels, 0, from_ckpt ? m->clf_bias : NULL, NULL,
                    0.0f);
  if (st != PORTA_OK) {
    porta_head_free(h);
    return st;
  }
  *out = h;
  return PORTA_OK;
}

porta_head_kind porta_head_get_kind(const porta_head *h) { return h ? h->kind : 0; }
int porta_head_num_labels(const porta_head *h) { return h ? h->num_labels : 0; }

/* Σ_s h[b, s, :]·mask[b, s] / max(Σ_s mask[b, s], 1e-9): [B, S, D] → [B, D] */
static porta_status mean_pool(porta_tensor **out, porta_tensor *hidden, porta_tensor *mask) {
  int64_t b = porta_tensor_dim(mask, 0), s = porta_tensor_dim(mask, 1);
  int64_t m3[3] = {b, s, 1};
  porta_tensor *mask3, *masked, *sum, *count, *count_eps, *eps;
  porta_status st = porta_reshape(&mask3, mask, 3, m3);
  if (st == PORTA_OK) st = porta_mul(&masked, hidden, mask3);
  if (st == PORTA_OK) st = porta_sum(&sum, masked, 1, false); /* [B, D] */
  if (st == PORTA_OK) st = porta_sum(&count, mask, 1, true);  /* [B, 1] */
  /* + 1e-9 is torch's clamp(min=1e-9) for counts ≥ 1 in f32, and keeps an all-padding row at 0 */
  static const float tiny = 1e-9f;
  int64_t one = 1;
  if (st == PORTA_OK)
    st = porta_nn_upload_temp(porta_tensor_context(mask), &eps, PORTA_F32, 1, &one, &tiny);
  if (st == PORTA_OK) st = porta_add(&count_eps, count, eps);
  if (st == PORTA_OK) st = porta_div(out, sum, count_eps);
  return st;
}

porta_status porta_head_forward(porta_tensor **logits, porta_head *h,
                                const porta_model_output *body) {
  if (!h || !logits) return PORTA_ERR_INVALID_ARGUMENT;
  porta_context *ctx = h->model->ctx;
  if (!body || !body->last_hidden_state || !body->attention_mask)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_head_forward: the body output has no last_hidden_state / "
                         "attention_mask (run porta_model_forward first)");
  porta_tensor *pooled, *dense;
  porta_status st;
  if (h->kind == PORTA_HEAD_MEAN) {
    st = mean_pool(&pooled, body->last_hidden_state, body->attention_mask);
  } else {
    st = porta_select(&pooled, body->last_hidden_state, 1, 0); /* [B, D] */
    if (st == PORTA_OK && h->roberta_style) st = porta_nn_dropout(&pooled, h->dropout);
    if (st == PORTA_OK && h->kind == PORTA_HEAD_POOLER) {
      st = porta_nn_linear_forward(&dense, pooled, &h->pooler);
      if (st == PORTA_OK) st = porta_tanh(&pooled, dense);
    }
  }
  if (st == PORTA_OK) st = porta_nn_dropout(&pooled, h->dropout);
  if (st == PORTA_OK) st = porta_nn_linear_forward(logits, pooled, &h->classifier); /* [B, N] */
  return st;
}

porta_status porta_model_classify(porta_model_output *out, porta_model *m, porta_head *h,
                                  const porta_model_input *input,
                                  const porta_forward_options *options) {
  if (!m || !h) return PORTA_ERR_INVALID_ARGUMENT;
  if (h->model != m)
    return porta_nn_fail(m->ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_model_classify: the head was created on another model");
  porta_status st = porta_model_forward(out, m, input, options);
  if (st == PORTA_OK) st = porta_head_forward(&out->logits, h, out);
  if (st == PORTA_OK && input->labels) {
    int64_t b = input->batch;
    for (int64_t i = 0; i < b; i++) {
      int32_t y = input->labels[i];
      if (y != -100 && (y < 0 || y >= h->num_labels))
        return porta_nn_fail(m->ctx, PORTA_ERR_INVALID_ARGUMENT,
                             "porta_model_classify: labels[%lld] = %d is outside [0, %d) "
                             "(-100 is ignored)",
                             (long long)i, (int)y, h->num_labels);
    }
    porta_tensor *labels;
    st = porta_nn_upload_temp(m->ctx, &labels, PORTA_I32, 1, &b, input->labels);
    if (st == PORTA_OK) st = porta_cross_entropy(&out->loss, out->logits, labels);
  }
  return st;
}

porta_status porta_model_parameters(const porta_model *m, const porta_head *h, porta_param *params,
                                    int capacity, int *count) {
  if (!count) return PORTA_ERR_INVALID_ARGUMENT;
  int n = 0;
#define PUSH(t, nm, wd)                                                                            \
  do {                                                                                             \
    if (params && n < capacity) params[n] = (porta_param){(t), (nm), (wd)};                        \
    n++;                                                                                           \
  } while (0)
  for (int i = 0; m && i < m->num_params; i++)
    PUSH(*m->params[i].slot, m->params[i].full_name, m->params[i].weight_decay);
  if (h) {
    if (h->owns_pooler) {
      PUSH(h->pooler.w, porta_tensor_name(h->pooler.w), true);
      PUSH(h->pooler.b, porta_tensor_name(h->pooler.b), false);
    }
    PUSH(h->classifier.w, porta_tensor_name(h->classifier.w), true);
    PUSH(h->classifier.b, porta_tensor_name(h->classifier.b), false);
  }
#undef PUSH
  *count = n;
  if (n > capacity && capacity > 0)
    return porta_nn_fail(m ? m->ctx : h->model->ctx, PORTA_ERR_LIMIT,
                         "porta_model_parameters: %d parameters do not fit in %d", n, capacity);
  return PORTA_OK;
}
