/* BERT's encoder sub-blocks (post-LN): self-attention + output projection, and feed-forward.
 * Shapes: B batch, S sequence, D hidden = H heads × Dh. */
#include "core/core.h" /* porta_attention_heads: attention on [B, S, H·Dh] without permutes */
#include "nn/nn.h"

porta_status porta_nn_attention_forward(porta_tensor **out, porta_tensor **probs, porta_tensor *x,
                                        porta_tensor *mask, const porta_nn_attention *attn,
                                        float attn_dropout, float hidden_dropout) {
  porta_tensor *q, *k, *v, *merged, *proj, *res;
  porta_status st = porta_nn_linear_forward(&q, x, &attn->query); /* [B, S, D] */
  if (st == PORTA_OK) st = porta_nn_linear_forward(&k, x, &attn->key);
  if (st == PORTA_OK) st = porta_nn_linear_forward(&v, x, &attn->value);
  /* softmax(q·kᵀ/√Dh + mask) (dropout when training) · v per head, read and written in the
   * [B, S, H·Dh] layout: one op, no permute copies */
  if (st == PORTA_OK)
    st = porta_attention_heads(&merged, probs, q, k, v, mask, attn->num_heads, attn_dropout);
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
