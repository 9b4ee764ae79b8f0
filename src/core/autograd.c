/* The autograd tape: ops append a node (backward function + pinned tensors + saved values);
 * porta_backward walks it in reverse and accumulates (+=) into .grad. Intermediate tensors' grads
 * are freed as soon as their node has used them; leaves keep theirs. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

bool porta_grad_needed(porta_context *ctx, const porta_tensor *a, const porta_tensor *b,
                       const porta_tensor *c) {
  if (ctx->no_grad_depth > 0) return false;
  return (a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad);
}

porta_status porta_tape_push(porta_context *ctx, const porta_node *node) {
  if (ctx->tape_len == ctx->tape_cap) {
    int cap = ctx->tape_cap ? ctx->tape_cap * 2 : 64;
    porta_node *tape = realloc(ctx->tape, (size_t)cap * sizeof *tape);
    if (!tape) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", node->op);
    ctx->tape = tape;
    ctx->tape_cap = cap;
  }
  porta_node *n = &ctx->tape[ctx->tape_len++];
  *n = *node;
  porta_tensor_pin(n->out);
  for (int i = 0; i < PORTA_NODE_TENSORS; i++)
    if (n->t[i]) porta_tensor_pin(n->t[i]);
  n->out->requires_grad = true;
  n->out->is_op_output = true;
  n->out->on_tape = true;
  return PORTA_OK;
}

static void node_release(porta_node *n) {
  n->out->on_tape = false;
  porta_tensor_unpin(n->out);
  for (int i = 0; i < PORTA_NODE_TENSORS; i++)
    if (n->t[i]) porta_tensor_unpin(n->t[i]);
}

void porta_tape_clear(porta_context *ctx) {
  /* Unpin in reverse so outputs go before the inputs they were computed from. */
  for (int i = ctx->tape_len - 1; i >= 0; i--) node_release(&ctx->tape[i]);
  ctx->tape_len = 0;
}

/* ---- gradient destinations --------------------------------------------------------------- */

static porta_status grad_alloc(porta_tensor *x) {
  return porta_tensor_internal(x->ctx, &x->grad, PORTA_F32, x->ndim, x->shape, "gradient");
}

/* Before x's existing grad is written: when it still shares its buffer with another gradient
 * (porta_grad_take), it gets a private copy first (copy on write). */
static porta_status grad_unshare(porta_tensor *x) {
  if (!x->grad || x->grad->buffer->refs == 1) return PORTA_OK;
  porta_tensor *own;
  porta_status st = porta_tensor_internal(x->ctx, &own, PORTA_F32, x->ndim, x->shape, "gradient");
  if (st != PORTA_OK) return st;
  st = porta_be_axpby(x->ctx, "gradient", porta_tensor_ref(own), porta_tensor_ref(x->grad),
                      x->numel, 1.0f, 0.0f);
  if (st != PORTA_OK) {
    porta_tensor_destroy(own);
    return st;
  }
  porta_tensor_destroy(x->grad);
  x->grad = own;
  return PORTA_OK;
}

porta_status porta_grad_acc(porta_tensor *x, porta_ref *dst, float *beta) {
  *beta = 1.0f;
  porta_status su = grad_unshare(x);
  if (su != PORTA_OK) return su;
  if (!x->grad) {
    porta_status st = grad_alloc(x);
    if (st != PORTA_OK) return st;
    *beta = 0.0f;
  }
  *dst = porta_tensor_ref(x->grad);
  return PORTA_OK;
}

porta_status porta_grad_zeroed(porta_tensor *x, porta_ref *dst) {
  porta_status su = grad_unshare(x);
  if (su != PORTA_OK) return su;
  if (!x->grad) {
    porta_status st = grad_alloc(x);
    if (st != PORTA_OK) return st;
    st = porta_be_fill(x->ctx, "gradient", porta_tensor_ref(x->grad), x->numel, 0.0f);
    if (st != PORTA_OK) return st;
  }
  *dst = porta_tensor_ref(x->grad);
  return PORTA_OK;
}

porta_status porta_grad_begin(porta_tensor *x, porta_tensor **g) {
  if (!x->grad) {
    porta_status st = grad_alloc(x);
    *g = x->grad;
    return st;
  }
  return porta_tensor_internal(x->ctx, g, PORTA_F32, x->ndim, x->shape, "gradient scratch");
}

porta_status porta_grad_end(porta_tensor *x, porta_tensor *g) {
  if (g == x->grad) return PORTA_OK;
  porta_status st = grad_unshare(x);
  if (st != PORTA_OK) {
    porta_tensor_destroy(g);
    return st;
  }
  st = porta_be_axpby(x->ctx, "gradient", porta_tensor_ref(x->grad), porta_tensor_ref(g), x->numel,
                      1.0f, 1.0f);
  porta_tensor_destroy(g);
  return st;
}

porta_status porta_grad_take(porta_tensor *x, porta_tensor *dy, bool *taken) {
  *taken = false;
  if (x->grad || dy->numel != x->numel) return PORTA_OK;
  /* a leaf keeps its grad after the backward pass: it shares with nothing (an op output's grad
   * is freed once its node has run) */
  if (!x->is_op_output && dy->buffer->refs > 1) return PORTA_OK;
  porta_status st = porta_tensor_internal_view(&x->grad, dy, x->ndim, x->shape);
  *taken = st == PORTA_OK;
  return st;
}

/* ---- public autograd API ----------------------------------------------------------------- */

porta_status porta_tensor_set_requires_grad(porta_tensor *t, bool requires_grad) {
  if (!t) return PORTA_ERR_INVALID_ARGUMENT;
  if (requires_grad && t->dtype != PORTA_F32) {
    char shape[96];
    return porta_fail(t->ctx, PORTA_ERR_DTYPE,
                      "porta_tensor_set_requires_grad: tensor %s%s is i32; only f32 tensors can "
                      "require gradients",
                      t->name ? t->name : "",
                      porta_shape_format(shape, sizeof shape, t->ndim, t->shape));
  }
  if (t->is_op_output && !requires_grad && t->on_tape)
    return porta_fail(t->ctx, PORTA_ERR_STATE,
                      "porta_tensor_set_requires_grad: the output of a recorded op cannot stop "
                      "requiring grad (compute it under porta_no_grad instead)");
  t->requires_grad = requires_grad;
  return PORTA_OK;
}

bool porta_tensor_requires_grad(const porta_tensor *t) { return t && t->requires_grad; }
porta_tensor *porta_tensor_grad(const porta_tensor *t) { return t ? t->grad : NULL; }

porta_status porta_tensor_zero_grad(porta_tensor *t) {
  if (!t) return PORTA_ERR_INVALID_ARGUMENT;
  if (!t->grad) return PORTA_OK;
  porta_status st = grad_unshare(t);
  if (st != PORTA_OK) return st;
  return porta_be_fill(t->ctx, "porta_tensor_zero_grad", porta_tensor_ref(t->grad), t->numel, 0.0f);
}

void porta_no_grad_begin(porta_context *ctx) {
  if (ctx) ctx->no_grad_depth++;
}

void porta_no_grad_end(porta_context *ctx) {
  if (ctx && ctx->no_grad_depth > 0) ctx->no_grad_depth--;
}

porta_status porta_backward(porta_tensor *loss) {
  if (!loss) return PORTA_ERR_INVALID_ARGUMENT;
  porta_context *ctx = loss->ctx;
  if (loss->numel != 1) {
    char shape[96];
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "porta_backward: the loss must be a scalar (1 element), got %s",
                      porta_shape_format(shape, sizeof shape, loss->ndim, loss->shape));
  }
  if (loss->is_op_output && !loss->on_tape)
    return porta_fail(ctx, PORTA_ERR_STATE,
                      "porta_backward: the tape that computed this loss was already consumed "
                      "(backward called twice, or porta_release_temporaries in between)");
  if (!loss->requires_grad)
    return porta_fail(ctx, PORTA_ERR_STATE,
                      "porta_backward: the loss does not require grad (no input of the ops that "
                      "computed it requires grad, or it was computed under porta_no_grad)");
  /* d loss / d loss = 1, accumulated like every other gradient. */
  porta_tensor *seed;
  porta_status st = porta_grad_begin(loss, &seed);
  if (st == PORTA_OK) st = porta_be_fill(ctx, "porta_backward", porta_tensor_ref(seed), 1, 1.0f);
  if (st == PORTA_OK) st = porta_grad_end(loss, seed);
  if (st != PORTA_OK) {
    porta_tape_clear(ctx);
    return st;
  }
  /* Only nodes up to the one that produced the loss take part; later ones are left alone. */
  int last = ctx->tape_len - 1;
  while (last >= 0 && ctx->tape[last].out != loss) last--;
  for (int i = last; i >= 0; i--) {
    porta_node *n = &ctx->tape[i];
    if (!n->out->grad) continue; /* nothing flowed into this op's output */
    st = n->backward(n);
    if (st != PORTA_OK) break;
    if (n->out->is_op_output) {
      porta_tensor_destroy(n->out->grad);
      n->out->grad = NULL;
    }
  }
  /* The tape is consumed (also on failure, so that a retry cannot double-count). */
  porta_tape_clear(ctx);
  return st;
}
