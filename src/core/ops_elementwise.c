/* Elementwise ops: add/sub/mul/div with NumPy broadcasting (up to 4-D), scale, GELU, tanh, ReLU.
 * Each op's forward and backward sit side by side. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* ---- broadcasting helpers ------------------------------------------------------------------ */

/* Strides of a tensor whose padded 4-D shape is x4 when read as o4: 0 on stretched dims. */
static void broadcast_strides(const int64_t x4[4], const int64_t o4[4], int64_t s[4]) {
  porta_strides4(x4, s);
  for (int i = 0; i < 4; i++)
    if (x4[i] == 1 && o4[i] != 1) s[i] = 0;
}

/* x.grad (shape x4 padded) += alpha · Σ src (contiguous with shape o4) over the stretched dims. */
static porta_status reduce_into_grad(porta_tensor *x, porta_ref src, const int64_t o4[4],
                                     float alpha, const char *what) {
  int64_t x4[4];
  porta_shape4(x, x4);
  porta_reduce_args r = {0};
  porta_status st = porta_grad_acc(x, &r.out, &r.beta);
  if (st != PORTA_OK) return st;
  r.x = src;
  memcpy(r.shape, o4, sizeof r.shape);
  porta_strides4(o4, r.x_stride);
  porta_strides4(x4, r.out_stride);
  for (int i = 0; i < 4; i++)
    if (x4[i] == 1 && o4[i] != 1) r.out_stride[i] = 0;
  r.alpha = alpha;
  return porta_run(x->ctx, what, &r);
}

/* ---- add / sub / mul / div -------------------------------------------------------------------
 * out[o4] = a[a4 → o4] op b[b4 → o4]
 * backward: da += Σ_bcast dy·∂out/∂a,  db += Σ_bcast dy·∂out/∂b
 *   add: dy, dy   sub: dy, -dy   mul: dy·b, dy·a   div: dy/b, -dy·out/b */

static const char *binary_name(porta_binary_op op) {
  switch (op) {
  case PORTA_BINARY_ADD:
    return "porta_add";
  case PORTA_BINARY_SUB:
    return "porta_sub";
  case PORTA_BINARY_MUL:
    return "porta_mul";
  case PORTA_BINARY_DIV:
    return "porta_div";
  }
  return "porta_binary";
}

/* out (contiguous o4) = x op y with their own (broadcast) strides. */
static porta_status binary_raw(porta_context *ctx, const char *what, porta_binary_op op,
                               porta_ref out, porta_ref x, const int64_t xs[4], porta_ref y,
                               const int64_t ys[4], const int64_t o4[4]) {
  porta_binary_args args = {0};
  args.op = op;
  args.out = out;
  args.a = x;
  args.b = y;
  memcpy(args.shape, o4, sizeof args.shape);
  memcpy(args.a_stride, xs, sizeof args.a_stride);
  memcpy(args.b_stride, ys, sizeof args.b_stride);
  return porta_run(ctx, what, &args);
}

static porta_status binary_backward(porta_node *n) {
  porta_tensor *a = n->t[0], *b = n->t[1], *out = n->out, *dy = n->out->grad;
  porta_context *ctx = out->ctx;
  porta_binary_op op = (porta_binary_op)n->i[0];
  const char *what = binary_name(op);
  int64_t o4[4], a4[4], b4[4], os[4], as[4], bs[4];
  porta_shape4(out, o4);
  porta_shape4(a, a4);
  porta_shape4(b, b4);
  porta_strides4(o4, os);
  broadcast_strides(a4, o4, as);
  broadcast_strides(b4, o4, bs);
  porta_status st = PORTA_OK;
  if (op == PORTA_BINARY_ADD || op == PORTA_BINARY_SUB) {
    /* An operand of out's size may take dy itself as its gradient (no copy): a residual add
     * passes dy to both sides (porta_grad_take: shared until one is written). */
    if (b->requires_grad) {
      bool taken = false;
      if (op == PORTA_BINARY_ADD && b->numel == out->numel) st = porta_grad_take(b, dy, &taken);
      if (st == PORTA_OK && !taken)
        st = reduce_into_grad(b, porta_tensor_ref(dy), o4, op == PORTA_BINARY_SUB ? -1.0f : 1.0f,
                              what);
    }
    if (st == PORTA_OK && a->requires_grad) {
      bool taken = false;
      if (a->numel == out->numel) st = porta_grad_take(a, dy, &taken);
      if (st == PORTA_OK && !taken) st = reduce_into_grad(a, porta_tensor_ref(dy), o4, 1.0f, what);
    }
    return st;
  }
  /* mul / div: the product with the other operand goes through a scratch of out's shape. */
  porta_tensor *tmp;
  st = porta_tensor_internal(ctx, &tmp, PORTA_F32, 4, o4, what);
  if (st != PORTA_OK) return st;
  porta_ref t = porta_tensor_ref(tmp);
  if (a->requires_grad) {
    /* da = dy · b  or  dy / b */
    st = binary_raw(ctx, what, op, t, porta_tensor_ref(dy), os, porta_tensor_ref(b), bs, o4);
    if (st == PORTA_OK) st = reduce_into_grad(a, t, o4, 1.0f, what);
  }
  if (st == PORTA_OK && b->requires_grad) {
    if (op == PORTA_BINARY_MUL) {
      st = binary_raw(ctx, what, PORTA_BINARY_MUL, t, porta_tensor_ref(dy), os, porta_tensor_ref(a),
                      as, o4);
      if (st == PORTA_OK) st = reduce_into_grad(b, t, o4, 1.0f, what);
    } else { /* db = -Σ dy · out / b */
      st = binary_raw(ctx, what, PORTA_BINARY_MUL, t, porta_tensor_ref(dy), os,
                      porta_tensor_ref(out), os, o4);
      if (st == PORTA_OK)
        st = binary_raw(ctx, what, PORTA_BINARY_DIV, t, t, os, porta_tensor_ref(b), bs, o4);
      if (st == PORTA_OK) st = reduce_into_grad(b, t, o4, -1.0f, what);
    }
  }
  porta_tensor_destroy(tmp);
  return st;
}

static porta_status binary_op(porta_tensor **out, porta_tensor *a, porta_tensor *b,
                              porta_binary_op op) {
  const char *what = binary_name(op);
  porta_context *ctx = porta_ctx_of(a, b);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "a", a, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "b", b, PORTA_F32);
  if (st != PORTA_OK) return st;
  int64_t a4[4], b4[4], o4[4], as[4], bs[4];
  porta_shape4(a, a4);
  porta_shape4(b, b4);
  for (int i = 0; i < 4; i++) {
    if (a4[i] == b4[i] || b4[i] == 1)
      o4[i] = a4[i];
    else if (a4[i] == 1)
      o4[i] = b4[i];
    else {
      char sa[96], sb[96];
      return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", what,
                        PORTA_SHAPE_STR(a, sa), PORTA_SHAPE_STR(b, sb));
    }
  }
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  broadcast_strides(a4, o4, as);
  broadcast_strides(b4, o4, bs);
  st = porta_tensor_temp(ctx, out, PORTA_F32, nd, o4 + (4 - nd), what);
  if (st != PORTA_OK) return st;
  st = binary_raw(ctx, what, op, porta_tensor_ref(*out), porta_tensor_ref(a), as,
                  porta_tensor_ref(b), bs, o4);
  if (st == PORTA_OK && porta_grad_needed(ctx, a, b, NULL)) {
    porta_node n = {.backward = binary_backward, .op = what, .out = *out};
    n.t[0] = a;
    n.t[1] = b;
    n.i[0] = op;
    st = porta_tape_push(ctx, &n);
  }
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

porta_status porta_add(porta_tensor **out, porta_tensor *a, porta_tensor *b) {
  return binary_op(out, a, b, PORTA_BINARY_ADD);
}
porta_status porta_sub(porta_tensor **out, porta_tensor *a, porta_tensor *b) {
  return binary_op(out, a, b, PORTA_BINARY_SUB);
}
porta_status porta_mul(porta_tensor **out, porta_tensor *a, porta_tensor *b) {
  return binary_op(out, a, b, PORTA_BINARY_MUL);
}
porta_status porta_div(porta_tensor **out, porta_tensor *a, porta_tensor *b) {
  return binary_op(out, a, b, PORTA_BINARY_DIV);
}

/* ---- scale, GELU, tanh, ReLU -----------------------------------------------------------------
 * out[n] = f(x[n]);  dx[n] += dy[n] · f'(x[n])  (tanh uses its output: 1 - y²) */

static porta_status unary_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *dy = n->out->grad;
  porta_unary_op op = (porta_unary_op)n->i[0];
  if (op == PORTA_UNARY_SCALE) {
    porta_ref dst;
    float beta;
    porta_status st = porta_grad_acc(x, &dst, &beta);
    if (st != PORTA_OK) return st;
    return porta_be_axpby(x->ctx, n->op, dst, porta_tensor_ref(dy), x->numel, n->f[0], beta);
  }
  porta_tensor *g;
  porta_status st = porta_grad_begin(x, &g);
  if (st != PORTA_OK) return st;
  porta_unary_bwd_args args = {0};
  args.op = op;
  args.dx = porta_tensor_ref(g);
  args.x = porta_tensor_ref(op == PORTA_UNARY_TANH ? n->out : x);
  args.dy = porta_tensor_ref(dy);
  args.n = x->numel;
  args.alpha = n->f[0];
  st = porta_run(x->ctx, n->op, &args);
  porta_status st2 = porta_grad_end(x, g);
  return st != PORTA_OK ? st : st2;
}

static porta_status unary_op(porta_tensor **out, porta_tensor *x, porta_unary_op op, float alpha,
                             const char *what) {
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, out, PORTA_F32, x->ndim, x->shape, what);
  if (st != PORTA_OK) return st;
  porta_unary_args args = {0};
  args.op = op;
  args.out = porta_tensor_ref(*out);
  args.x = porta_tensor_ref(x);
  args.n = x->numel;
  args.alpha = alpha;
  args.beta = 0.0f;
  st = porta_run(ctx, what, &args);
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node n = {.backward = unary_backward, .op = what, .out = *out};
    n.t[0] = x;
    n.i[0] = op;
    n.f[0] = alpha;
    st = porta_tape_push(ctx, &n);
  }
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

porta_status porta_scale(porta_tensor **out, porta_tensor *x, float scale) {
  return unary_op(out, x, PORTA_UNARY_SCALE, scale, "porta_scale");
}
porta_status porta_gelu(porta_tensor **out, porta_tensor *x) {
  return unary_op(out, x, PORTA_UNARY_GELU, 1.0f, "porta_gelu");
}
porta_status porta_tanh(porta_tensor **out, porta_tensor *x) {
  return unary_op(out, x, PORTA_UNARY_TANH, 1.0f, "porta_tanh");
}
porta_status porta_relu(porta_tensor **out, porta_tensor *x) {
  return unary_op(out, x, PORTA_UNARY_RELU, 1.0f, "porta_relu");
}
