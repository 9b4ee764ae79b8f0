/* Linear, layer norm and activations as compositions of porta ops (autograd comes with them). */
#include <math.h>
#include <string.h>

#include "nn/nn.h"

porta_status porta_nn_activation_parse(porta_context *ctx, const char *name,
                                       porta_nn_activation *out) {
  if (!strcmp(name, "gelu") || !strcmp(name, "gelu_python")) {
    *out = PORTA_ACT_GELU;
  } else if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") ||
             !strcmp(name, "gelu_fast")) {
    *out = PORTA_ACT_GELU_TANH;
  } else if (!strcmp(name, "relu")) {
    *out = PORTA_ACT_RELU;
  } else {
    return porta_nn_fail(ctx, PORTA_ERR_UNSUPPORTED,
                         "config.json: hidden_act \"%s\" is not supported (porta has gelu, "
                         "gelu_new / gelu_pytorch_tanh / gelu_fast, relu)",
                         name);
  }
  return PORTA_OK;
}

porta_status porta_nn_linear_forward(porta_tensor **out, porta_tensor *x,
                                     const porta_nn_linear *l) {
  return porta_linear(out, x, l->w, l->b);
}

porta_status porta_nn_layer_norm_forward(porta_tensor **out, porta_tensor *x,
                                         const porta_nn_layer_norm *ln) {
  return porta_layer_norm(out, x, ln->gamma, ln->beta, ln->eps);
}

porta_status porta_nn_gelu_tanh(porta_tensor **out, porta_tensor *x) {
  /* 0.5·x + 0.5·x·tanh(c·(x + 0.044715·x³)), c = √(2/π): no constant tensors needed */
  const float c = 0.7978845608028654f;
  porta_tensor *x2, *x3, *inner, *u, *t, *xt, *half_x, *half_xt;
  porta_status st = porta_mul(&x2, x, x);
  if (st == PORTA_OK) st = porta_mul(&x3, x2, x);
  if (st == PORTA_OK) st = porta_scale(&x3, x3, 0.044715f);
  if (st == PORTA_OK) st = porta_add(&inner, x, x3);
  if (st == PORTA_OK) st = porta_scale(&u, inner, c);
  if (st == PORTA_OK) st = porta_tanh(&t, u);
  if (st == PORTA_OK) st = porta_mul(&xt, x, t);
  if (st == PORTA_OK) st = porta_scale(&half_x, x, 0.5f);
  if (st == PORTA_OK) st = porta_scale(&half_xt, xt, 0.5f);
  if (st == PORTA_OK) st = porta_add(out, half_x, half_xt);
  return st;
}

porta_status porta_nn_activation_forward(porta_tensor **out, porta_tensor *x,
                                         porta_nn_activation act) {
  switch (act) {
  case PORTA_ACT_GELU:
    return porta_gelu(out, x);
  case PORTA_ACT_GELU_TANH:
    return porta_nn_gelu_tanh(out, x);
  case PORTA_ACT_RELU:
    return porta_relu(out, x);
  }
  return porta_nn_fail(porta_tensor_context(x), PORTA_ERR_INVALID_ARGUMENT,
                       "porta_nn_activation_forward: unknown activation %d", (int)act);
}

porta_status porta_nn_dropout(porta_tensor **x, float p) {
  /* porta_dropout is the identity when not training or p == 0; skipping it saves a copy */
  if (p <= 0.0f || !porta_is_training(porta_tensor_context(*x))) return PORTA_OK;
  return porta_dropout(x, *x, p);
}
