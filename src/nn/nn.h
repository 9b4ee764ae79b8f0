/* Layers built from porta ops (no backend code here): linear, layer norm, activations, the BERT
 * self-attention block and feed-forward block, plus small helpers the model code shares
 * (errors, uploads of per-batch host data, a host RNG for initialisation). */
#ifndef PORTA_NN_H
#define PORTA_NN_H

#include <stdbool.h>
#include <stdint.h>

#include "porta/porta.h"

/* ---- errors ---------------------------------------------------------------------------------- */
/* Sets the context's error message (printf-style) and returns status. */
porta_status porta_nn_fail(porta_context *ctx, porta_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- per-batch uploads ------------------------------------------------------------------------
 */
/* A temporary tensor (freed by porta_release_temporaries) holding host data. */
porta_status porta_nn_upload_temp(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                  int ndim, const int64_t *shape, const void *data);

/* ---- host RNG for reproducible initialisation ---------------------------------------------- */
typedef struct porta_nn_rng {
  uint64_t state;
} porta_nn_rng;
void porta_nn_rng_seed(porta_nn_rng *rng, uint64_t seed);
/* Standard normal (Box-Muller over splitmix64). */
float porta_nn_rng_normal(porta_nn_rng *rng);

/* ---- layers -----------------------------------------------------------------------------------
 */
typedef struct porta_nn_linear {
  porta_tensor *w; /* [out, in] (the PyTorch layout) */
  porta_tensor *b; /* [out] or NULL */
} porta_nn_linear;

typedef struct porta_nn_layer_norm {
  porta_tensor *gamma, *beta; /* [dim] */
  float eps;
} porta_nn_layer_norm;

typedef enum porta_nn_activation {
  PORTA_ACT_GELU = 1,      /* erf form */
  PORTA_ACT_GELU_TANH = 2, /* gelu_new / gelu_pytorch_tanh / gelu_fast */
  PORTA_ACT_RELU = 3,
} porta_nn_activation;

/* Parses a config's hidden_act; PORTA_ERR_UNSUPPORTED (with a message) for anything else. */
porta_status porta_nn_activation_parse(porta_context *ctx, const char *name,
                                       porta_nn_activation *out);

/* out[..., O] = x[..., I] · wᵀ + b */
porta_status porta_nn_linear_forward(porta_tensor **out, porta_tensor *x, const porta_nn_linear *l);
porta_status porta_nn_layer_norm_forward(porta_tensor **out, porta_tensor *x,
                                         const porta_nn_layer_norm *ln);
porta_status porta_nn_activation_forward(porta_tensor **out, porta_tensor *x,
                                         porta_nn_activation act);
/* *x = dropout(*x, p) when training and p > 0; otherwise *x is left as it is (no copy). */
porta_status porta_nn_dropout(porta_tensor **x, float p);
/* 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) from porta ops. */
porta_status porta_nn_gelu_tanh(porta_tensor **out, porta_tensor *x);

/* BERT's self-attention block with its output projection (post-LN):
 *   q, k, v = x·Wqᵀ.. [B, S, H·Dh], head h in columns [h·Dh, (h+1)·Dh) (no permutes)
 *   a = softmax(q·kᵀ/√Dh + mask) (dropout attn_dropout when training) · v → [B, S, H·Dh]
 *   out = LayerNorm(dropout(a·Woᵀ + bo) + x)
 * x [B, S, D]; mask [B, S] additive (0 keep / large negative hide) or NULL (nothing hidden).
 * probs (may be NULL) receives the attention probabilities [B, H, S, S] (after dropout). */
typedef struct porta_nn_attention {
  porta_nn_linear query, key, value, output;
  porta_nn_layer_norm norm;
  int num_heads;
} porta_nn_attention;

porta_status porta_nn_attention_forward(porta_tensor **out, porta_tensor **probs, porta_tensor *x,
                                        porta_tensor *mask, const porta_nn_attention *attn,
                                        float attn_dropout, float hidden_dropout);

/* BERT's feed-forward block: out = LayerNorm(dropout(act(x·W1ᵀ + b1)·W2ᵀ + b2) + x). */
typedef struct porta_nn_mlp {
  porta_nn_linear intermediate, output;
  porta_nn_layer_norm norm;
  porta_nn_activation act;
} porta_nn_mlp;

porta_status porta_nn_mlp_forward(porta_tensor **out, porta_tensor *x, const porta_nn_mlp *mlp,
                                  float hidden_dropout);

#endif
