/* Shape ops: reshape (a view), permute / select / slice (copies; a slice along dim 0 is a view),
 * and sum / mean reductions. Forward and backward side by side. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

static void finish(porta_status st, porta_tensor **out) {
  if (st != PORTA_OK && out && *out) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
}

static porta_status normalise_dim(porta_context *ctx, const char *what, const porta_tensor *x,
                                  int *dim) {
  int d = *dim < 0 ? *dim + x->ndim : *dim;
  if (d < 0 || d >= x->ndim) {
    char sx[96];
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: dim %d is out of range for %s", what,
                      *dim, PORTA_SHAPE_STR(x, sx));
  }
  *dim = d;
  return PORTA_OK;
}

/* ---- reshape: out (view of x's buffer) has x's elements in a new shape; dx += dy ----------- */

static porta_status reshape_backward(porta_node *n) {
  porta_tensor *x = n->t[0];
  bool taken;
  porta_status st = porta_grad_take(x, n->out->grad, &taken); /* dx is dy: no copy */
  if (st != PORTA_OK || taken) return st;
  porta_ref dst;
  float beta;
  st = porta_grad_acc(x, &dst, &beta);
  if (st != PORTA_OK) return st;
  return porta_be_axpby(x->ctx, n->op, dst, porta_tensor_ref(n->out->grad), x->numel, 1.0f, beta);
}

/* A view of x with `shape`, recorded as an identity for autograd. */
static porta_status view_op(porta_tensor **out, porta_tensor *x, int ndim, const int64_t *shape,
                            const char *what) {
  porta_status st = porta_tensor_view(out, x, ndim, shape, 0);
  if (st == PORTA_OK && porta_grad_needed(x->ctx, x, NULL, NULL)) {
    porta_node n = {.backward = reshape_backward, .op = what, .out = *out};
    n.t[0] = x;
    st = porta_tape_push(x->ctx, &n);
  }
  finish(st, out);
  return st;
}

porta_status porta_reshape(porta_tensor **out, porta_tensor *x, int ndim, const int64_t *shape) {
  const char *what = "porta_reshape";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st != PORTA_OK) return st;
  if (!shape || ndim < 1 || ndim > PORTA_MAX_DIMS)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: shape is NULL or ndim %d not in 1..4",
                      what, ndim);
  int64_t s[PORTA_MAX_DIMS], known = 1;
  int infer = -1;
  bool ok = true;
  for (int i = 0; i < ndim; i++) {
    s[i] = shape[i];
    if (s[i] == -1 && infer < 0)
      infer = i;
    else if (s[i] < 1)
      ok = false;
    else
      known *= s[i];
  }
  if (ok && infer >= 0) {
    ok = x->numel % known == 0;
    if (ok) s[infer] = x->numel / known;
  } else if (ok) {
    ok = known == x->numel;
  }
  char sx[96], ss[96];
  if (!ok)
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: cannot reshape %s (%lld elements) to %s", what,
                      PORTA_SHAPE_STR(x, sx), (long long)x->numel,
                      porta_shape_format(ss, sizeof ss, ndim, shape));
  return view_op(out, x, ndim, s, what);
}

/* ---- strided copies: permute, select, slice ------------------------------------------------ */

static porta_status copy_strided(porta_context *ctx, const char *what, porta_ref out,
                                 const int64_t out_stride[4], porta_ref x,
                                 const int64_t x_stride[4], const int64_t shape[4],
                                 bool accumulate) {
  porta_copy_args c = {0};
  c.out = out;
  c.x = x;
  memcpy(c.shape, shape, sizeof c.shape);
  memcpy(c.out_stride, out_stride, sizeof c.out_stride);
  memcpy(c.x_stride, x_stride, sizeof c.x_stride);
  c.accumulate = accumulate;
  return porta_run(ctx, what, &c);
}

/* permute: out[o4] (contiguous) = x read with strides xs (x's strides in out's dim order).
 * backward: dx (strides xs) += dy (contiguous). */
static porta_status permute_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *dy = n->out->grad;
  int64_t o4[4], os[4], xs[4];
  for (int i = 0; i < 4; i++) {
    o4[i] = n->i[i];
    xs[i] = n->i[4 + i];
  }
  porta_strides4(o4, os);
  porta_ref dst;
  float beta;
  porta_status st = porta_grad_acc(x, &dst, &beta);
  if (st != PORTA_OK) return st;
  return copy_strided(x->ctx, n->op, dst, xs, porta_tensor_ref(dy), os, o4, beta != 0.0f);
}

porta_status porta_permute(porta_tensor **out, porta_tensor *x, const int *perm) {
  const char *what = "porta_permute";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st != PORTA_OK) return st;
  if (!perm) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: perm is NULL", what);
  bool seen[PORTA_MAX_DIMS] = {false};
  char sx[96];
  for (int i = 0; i < x->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]])
      return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                        "%s: perm is not a permutation of the %d dims of %s", what, x->ndim,
                        PORTA_SHAPE_STR(x, sx));
    seen[perm[i]] = true;
  }
  int pad = PORTA_MAX_DIMS - x->ndim;
  int64_t x4[4], x4s[4], o4[4], os[4], xs[4], oshape[PORTA_MAX_DIMS];
  porta_shape4(x, x4);
  porta_strides4(x4, x4s);
  for (int i = 0; i < 4; i++) {
    o4[i] = i < pad ? 1 : x4[pad + perm[i - pad]];
    xs[i] = i < pad ? 0 : x4s[pad + perm[i - pad]];
  }
  for (int i = 0; i < x->ndim; i++) oshape[i] = o4[pad + i];
  porta_strides4(o4, os);
  st = porta_tensor_temp(ctx, out, x->dtype, x->ndim, oshape, what);
  if (st == PORTA_OK)
    st = copy_strided(ctx, what, porta_tensor_ref(*out), os, porta_tensor_ref(x), xs, o4, false);
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node n = {.backward = permute_backward, .op = what, .out = *out};
    n.t[0] = x;
    for (int i = 0; i < 4; i++) {
      n.i[i] = o4[i];
      n.i[4 + i] = xs[i];
    }
    st = porta_tape_push(ctx, &n);
  }
  finish(st, out);
  return st;
}

/* select / slice: out = the region r4 of x starting at element `offset` (x's strides).
 * backward: dx[region] += dy (dx zero-filled when new). */
static porta_status region_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *dy = n->out->grad;
  int64_t r4[4], rs[4], x4[4], xs[4];
  for (int i = 0; i < 4; i++) r4[i] = n->i[i];
  porta_strides4(r4, rs);
  porta_shape4(x, x4);
  porta_strides4(x4, xs);
  porta_ref dst;
  porta_status st = porta_grad_zeroed(x, &dst);
  if (st != PORTA_OK) return st;
  dst.off += (size_t)n->i[4];
  return copy_strided(x->ctx, n->op, dst, xs, porta_tensor_ref(dy), rs, r4, true);
}

/* out (ndim, oshape) = x[region], region = x4 with dim d4 narrowed to [start, start+len). */
static porta_status region_op(porta_tensor **out, porta_tensor *x, int dim, int64_t start,
                              int64_t len, int ndim, const int64_t *oshape, bool view,
                              const char *what) {
  porta_context *ctx = x->ctx;
  int pad = PORTA_MAX_DIMS - x->ndim, d4 = pad + dim;
  int64_t x4[4], xs[4], r4[4], rs[4];
  porta_shape4(x, x4);
  porta_strides4(x4, xs);
  memcpy(r4, x4, sizeof r4);
  r4[d4] = len;
  porta_strides4(r4, rs);
  int64_t offset = start * xs[d4];
  porta_status st;
  if (view) {
    st = porta_tensor_view(out, x, ndim, oshape, (size_t)offset);
  } else {
    st = porta_tensor_temp(ctx, out, x->dtype, ndim, oshape, what);
    porta_ref src = porta_tensor_ref(x);
    src.off += (size_t)offset;
    if (st == PORTA_OK)
      st = copy_strided(ctx, what, porta_tensor_ref(*out), rs, src, xs, r4, false);
  }
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node n = {.backward = region_backward, .op = what, .out = *out};
    n.t[0] = x;
    for (int i = 0; i < 4; i++) n.i[i] = r4[i];
    n.i[4] = offset;
    st = porta_tape_push(ctx, &n);
  }
  finish(st, out);
  return st;
}

porta_status porta_select(porta_tensor **out, porta_tensor *x, int dim, int64_t index) {
  const char *what = "porta_select";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = normalise_dim(ctx, what, x, &dim);
  if (st != PORTA_OK) return st;
  char sx[96];
  if (index < 0 || index >= x->shape[dim])
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "%s: index %lld is out of range for dim %d of %s", what, (long long)index,
                      dim, PORTA_SHAPE_STR(x, sx));
  int64_t oshape[PORTA_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++)
    if (i != dim) oshape[nd++] = x->shape[i];
  if (nd == 0) oshape[nd++] = 1; /* selecting from a vector gives [1] */
  return region_op(out, x, dim, index, 1, nd, oshape, false, what);
}

porta_status porta_slice(porta_tensor **out, porta_tensor *x, int dim, int64_t start,
                         int64_t length) {
  const char *what = "porta_slice";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = normalise_dim(ctx, what, x, &dim);
  if (st != PORTA_OK) return st;
  char sx[96];
  if (start < 0 || length < 1 || start + length > x->shape[dim])
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "%s: [%lld, %lld) is out of range for dim %d of %s", what, (long long)start,
                      (long long)(start + length), dim, PORTA_SHAPE_STR(x, sx));
  int64_t oshape[PORTA_MAX_DIMS];
  memcpy(oshape, x->shape, sizeof oshape);
  oshape[dim] = length;
  return region_op(out, x, dim, start, length, x->ndim, oshape, dim == 0, what);
}

/* ---- sum / mean ------------------------------------------------------------------------------
 * out = alpha · Σ_{dims in mask} x   (alpha = 1 or 1/count)
 * backward: dx += alpha · dy broadcast over the reduced dims */

static porta_status reduce_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *dy = n->out->grad;
  porta_context *ctx = x->ctx;
  float alpha = n->f[0];
  int64_t x4[4], xs[4], ys[4];
  porta_shape4(x, x4);
  porta_strides4(x4, xs);
  int64_t y4[4];
  for (int i = 0; i < 4; i++) y4[i] = n->i[i] ? 1 : x4[i];
  porta_strides4(y4, ys);
  for (int i = 0; i < 4; i++)
    if (n->i[i]) ys[i] = 0;
  porta_ref src = porta_tensor_ref(dy);
  porta_tensor *scaled = NULL;
  porta_status st = PORTA_OK;
  if (alpha != 1.0f) { /* mean: scale the (small) dy first */
    st = porta_tensor_internal(ctx, &scaled, PORTA_F32, dy->ndim, dy->shape, n->op);
    if (st != PORTA_OK) return st;
    porta_unary_args u = {.op = PORTA_UNARY_SCALE,
                          .out = porta_tensor_ref(scaled),
                          .x = src,
                          .n = dy->numel,
                          .alpha = alpha,
                          .beta = 0.0f};
    st = porta_run(ctx, n->op, &u);
    src = porta_tensor_ref(scaled);
  }
  porta_ref dst;
  float beta = 0.0f;
  if (st == PORTA_OK) st = porta_grad_acc(x, &dst, &beta);
  if (st == PORTA_OK) st = copy_strided(ctx, n->op, dst, xs, src, ys, x4, beta != 0.0f);
  porta_tensor_destroy(scaled);
  return st;
}

static porta_status reduce_op(porta_tensor **out, porta_tensor *x, const bool mask4[4], int ndim,
                              const int64_t *oshape, bool mean, const char *what) {
  porta_context *ctx = x->ctx;
  int64_t x4[4], count = 1;
  porta_shape4(x, x4);
  porta_reduce_args r = {0};
  int64_t y4[4];
  for (int i = 0; i < 4; i++) {
    y4[i] = mask4[i] ? 1 : x4[i];
    if (mask4[i]) count *= x4[i];
  }
  memcpy(r.shape, x4, sizeof r.shape);
  porta_strides4(x4, r.x_stride);
  porta_strides4(y4, r.out_stride);
  for (int i = 0; i < 4; i++)
    if (mask4[i]) r.out_stride[i] = 0;
  r.alpha = mean ? 1.0f / (float)count : 1.0f;
  r.beta = 0.0f;
  porta_status st = porta_tensor_temp(ctx, out, PORTA_F32, ndim, oshape, what);
  if (st != PORTA_OK) return st;
  r.out = porta_tensor_ref(*out);
  r.x = porta_tensor_ref(x);
  st = porta_run(ctx, what, &r);
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node n = {.backward = reduce_backward, .op = what, .out = *out};
    n.t[0] = x;
    for (int i = 0; i < 4; i++) n.i[i] = mask4[i];
    n.f[0] = r.alpha;
    st = porta_tape_push(ctx, &n);
  }
  finish(st, out);
  return st;
}

static porta_status reduce_dim(porta_tensor **out, porta_tensor *x, int dim, bool keepdim,
                               bool mean, const char *what) {
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st == PORTA_OK) st = normalise_dim(ctx, what, x, &dim);
  if (st != PORTA_OK) return st;
  bool mask4[4] = {false};
  mask4[PORTA_MAX_DIMS - x->ndim + dim] = true;
  int64_t oshape[PORTA_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i != dim)
      oshape[nd++] = x->shape[i];
    else if (keepdim)
      oshape[nd++] = 1;
  }
  if (nd == 0) oshape[nd++] = 1;
  return reduce_op(out, x, mask4, nd, oshape, mean, what);
}

static porta_status reduce_all(porta_tensor **out, porta_tensor *x, bool mean, const char *what) {
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st != PORTA_OK) return st;
  bool mask4[4] = {true, true, true, true};
  int64_t one = 1;
  return reduce_op(out, x, mask4, 1, &one, mean, what);
}

porta_status porta_sum(porta_tensor **out, porta_tensor *x, int dim, bool keepdim) {
  return reduce_dim(out, x, dim, keepdim, false, "porta_sum");
}
porta_status porta_mean(porta_tensor **out, porta_tensor *x, int dim, bool keepdim) {
  return reduce_dim(out, x, dim, keepdim, true, "porta_mean");
}
porta_status porta_sum_all(porta_tensor **out, porta_tensor *x) {
  return reduce_all(out, x, false, "porta_sum_all");
}
porta_status porta_mean_all(porta_tensor **out, porta_tensor *x) {
  return reduce_all(out, x, true, "porta_mean_all");
}
