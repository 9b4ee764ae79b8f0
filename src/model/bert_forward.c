/* The body's forward pass: embeddings (word + position + token type → LayerNorm → dropout), then
 * N encoder layers (self-attention block, feed-forward block). Inputs are checked and the
 * per-batch index tensors built on the host before anything is uploaded. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert_internal.h"

/* Host-side index data for one batch: [B, S] each (positions [S] for BERT: one row, broadcast). */
typedef struct batch_host {
  int32_t *positions;
  int32_t *token_types;
  float *mask;     /* 1 / 0 */
  float *add_mask; /* 0 / -FLT_MAX (torch.finfo(float32).min, as transformers) */
} batch_host;

static void batch_host_free(batch_host *h) {
  free(h->positions);
  free(h->token_types);
  free(h->mask);
  free(h->add_mask);
}

static porta_status check_input(const porta_model *m, const porta_model_input *in) {
  porta_context *ctx = m->ctx;
  const porta_model_config *c = &m->cfg;
  if (!in || !in->input_ids)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_model_forward: input_ids is NULL");
  if (in->batch < 1 || in->seq_len < 1)
    return porta_nn_fail(ctx, PORTA_ERR_SHAPE,
                         "porta_model_forward: batch %d × seq_len %d: both must be ≥ 1", in->batch,
                         in->seq_len);
  int64_t max_pos = porta_model_max_seq_len(m); /* RoBERTa's run from pad + 1 to pad + S */
  if (in->seq_len > max_pos)
    return porta_nn_fail(
        ctx, PORTA_ERR_LIMIT,
        "porta_model_forward: seq_len %d is longer than the model's %lld positions", in->seq_len,
        (long long)max_pos);
  int64_t n = (int64_t)in->batch * in->seq_len;
  for (int64_t i = 0; i < n; i++) {
    int32_t id = in->input_ids[i];
    if (id < 0 || id >= c->vocab_size)
      return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                           "porta_model_forward: input_ids[%lld][%lld] = %d is outside the "
                           "vocabulary [0, %lld)",
                           (long long)(i / in->seq_len), (long long)(i % in->seq_len), (int)id,
                           (long long)c->vocab_size);
    if (in->token_type_ids &&
        (in->token_type_ids[i] < 0 || in->token_type_ids[i] >= c->type_vocab_size))
      return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                           "porta_model_forward: token_type_ids[%lld][%lld] = %d is outside "
                           "[0, %lld) (type_vocab_size)",
                           (long long)(i / in->seq_len), (long long)(i % in->seq_len),
                           (int)in->token_type_ids[i], (long long)c->type_vocab_size);
    if (in->attention_mask && in->attention_mask[i] != 0 && in->attention_mask[i] != 1)
      return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                           "porta_model_forward: attention_mask[%lld][%lld] = %d is not 0 or 1",
                           (long long)(i / in->seq_len), (long long)(i % in->seq_len),
                           (int)in->attention_mask[i]);
  }
  return PORTA_OK;
}

static porta_status build_host(batch_host *h, const porta_model *m, const porta_model_input *in) {
  int b = in->batch, s = in->seq_len;
  size_t n = (size_t)b * (size_t)s;
  memset(h, 0, sizeof *h);
  h->positions = malloc(n * sizeof *h->positions);
  h->mask = malloc(n * sizeof *h->mask);
  h->add_mask = malloc(n * sizeof *h->add_mask);
  if (!in->token_type_ids) h->token_types = calloc((size_t)s, sizeof *h->token_types);
  if (!h->positions || !h->mask || !h->add_mask || (!in->token_type_ids && !h->token_types)) {
    batch_host_free(h);
    return porta_nn_fail(m->ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_forward: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    bool keep = !in->attention_mask || in->attention_mask[i];
    h->mask[i] = keep ? 1.0f : 0.0f;
    h->add_mask[i] = keep ? 0.0f : -FLT_MAX;
  }
  if (m->family == PORTA_MODEL_ROBERTA) {
    /* transformers' create_position_ids_from_input_ids: non-pad tokens count up from pad + 1,
     * pads keep position pad */
    int32_t pad = (int32_t)m->cfg.pad_token_id;
    for (int r = 0; r < b; r++) {
      int32_t count = 0;
      for (int j = 0; j < s; j++) {
        size_t i = (size_t)r * (size_t)s + (size_t)j;
        bool is_token = in->input_ids[i] != pad;
        count += is_token;
        h->positions[i] = is_token ? count + pad : pad;
      }
    }
  } else {
    for (int j = 0; j < s; j++) h->positions[j] = j;
  }
  return PORTA_OK;
}

/* word + position + token type embeddings → LayerNorm → dropout; [B, S, D] */
static porta_status embed(porta_tensor **out, porta_model *m, const porta_model_input *in,
                          const batch_host *h) {
  porta_context *ctx = m->ctx;
  int64_t bs[2] = {in->batch, in->seq_len}, s1[1] = {in->seq_len};
  bool roberta = m->family == PORTA_MODEL_ROBERTA;
  porta_tensor *ids, *pos_ids, *type_ids, *words, *pos, *types, *sum, *sum2;
  porta_status st = porta_nn_upload_temp(ctx, &ids, PORTA_I32, 2, bs, in->input_ids);
  /* BERT's positions are one row [S] shared by the batch (broadcast in the add) */
  if (st == PORTA_OK)
    st = porta_nn_upload_temp(ctx, &pos_ids, PORTA_I32, roberta ? 2 : 1, roberta ? bs : s1,
                              h->positions);
  if (st == PORTA_OK)
    st = in->token_type_ids
             ? porta_nn_upload_temp(ctx, &type_ids, PORTA_I32, 2, bs, in->token_type_ids)
             : porta_nn_upload_temp(ctx, &type_ids, PORTA_I32, 1, s1, h->token_types);
  if (st == PORTA_OK) st = porta_embedding(&words, m->word_embeddings, ids);       /* [B, S, D] */
  if (st == PORTA_OK) st = porta_embedding(&pos, m->position_embeddings, pos_ids); /* [.., S, D] */
  if (st == PORTA_OK) st = porta_embedding(&types, m->token_type_embeddings, type_ids);
  if (st == PORTA_OK) st = porta_add(&sum, words, types);
  if (st == PORTA_OK) st = porta_add(&sum2, sum, pos);
  if (st == PORTA_OK) st = porta_nn_layer_norm_forward(out, sum2, &m->embeddings_norm);
  if (st == PORTA_OK) st = porta_nn_dropout(out, m->hidden_dropout);
  return st;
}

porta_status porta_model_forward(porta_model_output *out, porta_model *m,
                                 const porta_model_input *input,
                                 const porta_forward_options *options) {
  if (!m) return PORTA_ERR_INVALID_ARGUMENT;
  if (!out)
    return porta_nn_fail(m->ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_model_forward: out is NULL");
  memset(out, 0, sizeof *out);
  porta_status st = check_input(m, input);
  if (st != PORTA_OK) return st;
  bool want_hidden = options && options->output_hidden_states;
  bool want_attn = options && options->output_attentions;
  batch_host h;
  st = build_host(&h, m, input);
  if (st != PORTA_OK) return st;

  int64_t bs[2] = {input->batch, input->seq_len};
  porta_tensor *add_mask = NULL, *x;
  st = porta_nn_upload_temp(m->ctx, &out->attention_mask, PORTA_F32, 2, bs, h.mask);
  /* without an attention mask nothing is hidden: the attention runs unmasked */
  if (st == PORTA_OK && input->attention_mask)
    st = porta_nn_upload_temp(m->ctx, &add_mask, PORTA_F32, 2, bs, h.add_mask);
  if (st == PORTA_OK) st = embed(&x, m, input, &h);
  batch_host_free(&h);
  if (st != PORTA_OK) goto fail;
  if (want_hidden) out->hidden_states[0] = x;
  for (int i = 0; i < m->num_layers; i++) {
    porta_bert_layer *L = &m->layers[i];
    porta_tensor *a;
    st = porta_nn_attention_forward(&a, want_attn ? &out->attentions[i] : NULL, x, add_mask,
                                    &L->attention, m->attn_dropout, m->hidden_dropout);
    if (st == PORTA_OK) st = porta_nn_mlp_forward(&x, a, &L->mlp, m->hidden_dropout);
    if (st != PORTA_OK) goto fail;
    if (want_hidden) out->hidden_states[i + 1] = x;
  }
  out->last_hidden_state = x;
  out->num_hidden_states = want_hidden ? m->num_layers + 1 : 0;
  out->num_attentions = want_attn ? m->num_layers : 0;
  return PORTA_OK;
fail:
  memset(out, 0, sizeof *out);
  return st;
}
