/* BERT's encoder sub-blocks (post-LN): self-attention + output projection, and feed-forward.
 * Shapes: B batch, S sequence, D hidden = H heads × Dh. */
#include <math.h>

#include "nn/nn.h"

/* [B, S, D] → [B, H, S, Dh] */
static porta_status split_heads(porta_tensor **out, porta_tensor *x, int heads) {
  int64_t b = porta_tensor_dim(x, 0), s = porta_tensor_dim(x, 1), d = porta_tensor_dim(x, 2);
  int64_t shape[4] = {b, s, heads, d / heads};
  static const int perm[4] = {0, 2, 1, 3};
  porta_tensor *v;
  porta_status st = porta_reshape(&v, x, 4, shape);
  if (st == PORTA_OK) st = porta_permute(out, v, perm);
  return st;
}

/* [B, H, S, Dh] → [B, S, H·Dh] */
static porta_status merge_heads(porta_tensor **out, porta_tensor *x) {
  int64_t b = porta_tensor_dim(x, 0), h = porta_tensor_dim(x, 1), s = porta_tensor_dim(x, 2),
          dh = porta_tensor_dim(x, 3);
  static const int perm[4] = {0, 2, 1, 3};
  int64_t shape[3] = {b, s, h * dh};
  porta_tensor *p;
  porta_status st = porta_permute(&p, x, perm);
  if (st == PORTA_OK) st = porta_reshape(out, p, 3, shape);
  return st;
}

/* softmax(q·kᵀ/√Dh + mask) with dropout on the probabilities, then · v, from separate ops: the
 * path for training with attention dropout (porta_attention has no dropout of its own). */
static porta_status attention_with_dropout(porta_tensor **out, porta_tensor **probs_out,
                                           porta_tensor *q, porta_tensor *k, porta_tensor *v,
                                           porta_tensor *mask, float p) {
  int64_t b = porta_tensor_dim(mask, 0), s = porta_tensor_dim(mask, 1);
  float scale = 1.0f / sqrtf((float)porta_tensor_dim(q, 3));
  int64_t mask_shape[4] = {b, 1, 1, s};
  porta_tensor *scores, *mask4, *probs;
  porta_status st = porta_matmul(&scores, q, k, false, true); /* [B, H, S, S] */
  if (st == PORTA_OK) st = porta_scale(&scores, scores, scale);
  if (st == PORTA_OK) st = porta_reshape(&mask4, mask, 4, mask_shape);
  if (st == PORTA_OK) st = porta_softmax(&probs, scores, mask4);
  if (st == PORTA_OK) st = porta_dropout(&probs, probs, p);
  if (st == PORTA_OK) st = porta_matmul(out, probs, v, false, false); /* [B, H, S, Dh] */
  if (st == PORTA_OK && probs_out) *probs_out = probs;
  return st;
}

porta_status porta_nn_attention_forward(porta_tensor **out, porta_tensor **probs, porta_tensor *x,
                                        porta_tensor *mask, const porta_nn_attention *attn,
                                        float attn_dropout, float hidden_dropout) {
  porta_tensor *q, *k, *v, *qh, *kh, *vh, *ctx_h, *merged, *proj, *res;
  porta_status st = porta_nn_linear_forward(&q, x, &attn->query); /* [B, S, D] */
  if (st == PORTA_OK) st = porta_nn_linear_forward(&k, x, &attn->key);
  if (st == PORTA_OK) st = porta_nn_linear_forward(&v, x, &attn->value);
  if (st == PORTA_OK) st = split_heads(&qh, q, attn->num_heads); /* [B, H, S, Dh] */
  if (st == PORTA_OK) st = split_heads(&kh, k, attn->num_heads);
  if (st == PORTA_OK) st = split_heads(&vh, v, attn->num_heads);
  if (st != PORTA_OK) return st;
  if (attn_dropout > 0.0f && porta_is_training(porta_tensor_context(x)))
    st = attention_with_dropout(&ctx_h, probs, qh, kh, vh, mask, attn_dropout);
  else
    st = porta_attention(&ctx_h, probs, qh, kh, vh, mask);
  if (st == PORTA_OK) st = merge_heads(&merged, ctx_h); /* [B, S, D] */
  if (st == PORTA_OK) st = porta_nn_linear_forward(&proj, merged, &attn->output);
  if (st == PORTA_OK) st = porta_nn_dropout(&proj, hidden_dropout);
  if (st == PORTA_OK) st = porta_add(&res, proj, x);
  if (st == PORTA_OK) st = porta_nn_layer_norm_forward(out, res, &attn->norm);
  return st;
}

porta_status porta_nn_mlp_forward(porta_tensor **out, porta_tensor *x, const porta_nn_mlp *mlp,
                                  float hidden_dropout) {
  porta_tensor *h, *a, *o, *res;
  porta_status st = porta_nn_linear_forward(&h, x, &mlp->intermediate); /* [B, S, I] */
  if (st == PORTA_OK) st = porta_nn_activation_forward(&a, h, mlp->act);
  if (st == PORTA_OK) st = porta_nn_linear_forward(&o, a, &mlp->output); /* [B, S, D] */
  if (st == PORTA_OK) st = porta_nn_dropout(&o, hidden_dropout);
  if (st == PORTA_OK) st = porta_add(&res, o, x);
  if (st == PORTA_OK) st = porta_nn_layer_norm_forward(out, res, &mlp->norm);
  return st;
}
