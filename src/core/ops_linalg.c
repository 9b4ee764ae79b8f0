/* Matrix products: porta_matmul (batched, optional transposes) and porta_linear (x·wᵀ + bias),
 * each with its backward next to it. Gradients accumulate in place through gemm's beta. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* C = alpha·op(A)·op(B) + beta·C, batched (stride 0 = shared). */
static porta_status gemm(porta_context *ctx, const char *what, bool ta, bool tb, int64_t m,
                         int64_t n, int64_t k, float alpha, porta_ref A, int64_t lda, int64_t sa,
                         porta_ref B, int64_t ldb, int64_t sb, float beta, porta_ref C, int64_t ldc,
                         int64_t sc, int64_t batch) {
  porta_gemm_args g = {0};
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = alpha;
  g.beta = beta;
  g.a = A;
  g.b = B;
  g.c = C;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
  g.stride_a = sa;
  g.stride_b = sb;
  g.stride_c = sc;
  g.batch = batch;
  return porta_run(ctx, what, &g);
}

static porta_ref ref_at(porta_ref r, int64_t off) {
  r.off += (size_t)off;
  return r;
}

/* ---- matmul ----------------------------------------------------------------------------------
 * out[batch, M, N] = op(a)[batch, M, K] · op(b)[batch or shared, K, N]
 * a is stored [.., M, K] (or [.., K, M] with trans_a); b [.., K, N] (or [.., N, K] with trans_b).
 * backward (shown without transposes): da += dy · bᵀ,  db += aᵀ · dy (summed over the batch when
 * b is shared). */

typedef struct matmul_dims {
  int64_t batch, m, n, k;
  bool ta, tb, shared_b;
} matmul_dims;

static matmul_dims node_dims(const porta_node *nd) {
  matmul_dims d = {nd->i[0], nd->i[1], nd->i[2], nd->i[3], nd->b[0], nd->b[1], nd->b[2]};
  return d;
}

static porta_status matmul_backward(porta_node *nd) {
  porta_tensor *a = nd->t[0], *b = nd->t[1], *dy = nd->out->grad;
  porta_context *ctx = a->ctx;
  matmul_dims d = node_dims(nd);
  int64_t M = d.m, N = d.n, K = d.k;
  porta_ref A = porta_tensor_ref(a), B = porta_tensor_ref(b), DY = porta_tensor_ref(dy);
  int64_t lda = d.ta ? M : K, ldb = d.tb ? K : N;
  int64_t sb = d.shared_b ? 0 : K * N;
  porta_status st = PORTA_OK;
  if (a->requires_grad) {
    porta_ref DA;
    float beta;
    st = porta_grad_acc(a, &DA, &beta);
    if (st != PORTA_OK) return st;
    if (!d.ta) /* dA[M,K] = dY[M,N] · op(B)ᵀ */
      st = gemm(ctx, nd->op, false, !d.tb, M, K, N, 1.0f, DY, N, M * N, B, ldb, sb, beta, DA, K,
                M * K, d.batch);
    else /* dA[K,M] = op(B)[K,N] · dYᵀ */
      st = gemm(ctx, nd->op, d.tb, true, K, M, N, 1.0f, B, ldb, sb, DY, N, M * N, beta, DA, M,
                M * K, d.batch);
    if (st != PORTA_OK) return st;
  }
  if (b->requires_grad) {
    porta_ref DB;
    float beta;
    st = porta_grad_acc(b, &DB, &beta);
    if (st != PORTA_OK) return st;
    int64_t batch = d.batch, rows = M, sa = M * K, sdy = M * N;
    if (d.shared_b && !d.ta) { /* stack the batch into the rows: one product sums it */
      rows = M * d.batch;
      batch = 1;
    }
    int64_t calls = d.shared_b ? batch : 1;
    int64_t gemm_batch = d.shared_b ? 1 : batch;
    for (int64_t i = 0; i < calls && st == PORTA_OK; i++) {
      float be = i == 0 ? beta : 1.0f;
      porta_ref Ai = ref_at(A, i * sa), DYi = ref_at(DY, i * sdy);
      if (!d.tb) /* dB[K,N] = op(A)ᵀ[K,M] · dY[M,N] */
        st = gemm(ctx, nd->op, !d.ta, false, K, N, rows, 1.0f, Ai, lda, sa, DYi, N, sdy, be, DB, N,
                  K * N, gemm_batch);
      else /* dB[N,K] = dYᵀ[N,M] · op(A)[M,K] */
        st = gemm(ctx, nd->op, true, d.ta, N, K, rows, 1.0f, DYi, N, sdy, Ai, lda, sa, be, DB, K,
                  K * N, gemm_batch);
    }
  }
  return st;
}

porta_status porta_matmul(porta_tensor **out, porta_tensor *a, porta_tensor *b, bool trans_a,
                          bool trans_b) {
  const char *what = "porta_matmul";
  porta_context *ctx = porta_ctx_of(a, b);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "a", a, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "b", b, PORTA_F32);
  if (st != PORTA_OK) return st;
  char sa[96], sb[96];
  if (a->ndim < 2 || b->ndim < 2)
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: a %s and b %s must have at least 2 dims", what,
                      PORTA_SHAPE_STR(a, sa), PORTA_SHAPE_STR(b, sb));
  matmul_dims d = {1, 0, 0, 0, trans_a, trans_b, b->ndim == 2};
  int64_t a_rows = a->shape[a->ndim - 2], a_cols = a->shape[a->ndim - 1];
  int64_t b_rows = b->shape[b->ndim - 2], b_cols = b->shape[b->ndim - 1];
  d.m = trans_a ? a_cols : a_rows;
  d.k = trans_a ? a_rows : a_cols;
  d.n = trans_b ? b_rows : b_cols;
  int64_t kb = trans_b ? b_cols : b_rows;
  bool ok = kb == d.k;
  if (!d.shared_b) {
    ok = ok && b->ndim == a->ndim;
    for (int i = 0; ok && i < a->ndim - 2; i++) ok = a->shape[i] == b->shape[i];
  }
  if (!ok)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: shapes %s%s and %s%s do not multiply (inner dims %lld and %lld; batch "
                      "dims must match or b be 2-D)",
                      what, PORTA_SHAPE_STR(a, sa), trans_a ? "ᵀ" : "", PORTA_SHAPE_STR(b, sb),
                      trans_b ? "ᵀ" : "", (long long)d.k, (long long)kb);
  int64_t oshape[PORTA_MAX_DIMS];
  for (int i = 0; i < a->ndim - 2; i++) {
    oshape[i] = a->shape[i];
    d.batch *= a->shape[i];
  }
  oshape[a->ndim - 2] = d.m;
  oshape[a->ndim - 1] = d.n;
  st = porta_tensor_temp(ctx, out, PORTA_F32, a->ndim, oshape, what);
  if (st != PORTA_OK) return st;
  int64_t M = d.m, N = d.n, K = d.k;
  porta_ref A = porta_tensor_ref(a), B = porta_tensor_ref(b), C = porta_tensor_ref(*out);
  if (d.shared_b && !trans_a) /* the batch stacks into rows: one plain product */
    st = gemm(ctx, what, false, trans_b, M * d.batch, N, K, 1.0f, A, K, 0, B, trans_b ? K : N, 0,
              0.0f, C, N, 0, 1);
  else
    st = gemm(ctx, what, trans_a, trans_b, M, N, K, 1.0f, A, trans_a ? M : K, M * K, B,
              trans_b ? K : N, d.shared_b ? 0 : K * N, 0.0f, C, N, M * N, d.batch);
  if (st == PORTA_OK && porta_grad_needed(ctx, a, b, NULL)) {
    porta_node n = {.backward = matmul_backward, .op = what, .out = *out};
    n.t[0] = a;
    n.t[1] = b;
    n.i[0] = d.batch;
    n.i[1] = d.m;
    n.i[2] = d.n;
    n.i[3] = d.k;
    n.b[0] = d.ta;
    n.b[1] = d.tb;
    n.b[2] = d.shared_b;
    st = porta_tape_push(ctx, &n);
  }
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

/* ---- linear ----------------------------------------------------------------------------------
 * out[R, O] = x[R, I] · w[O, I]ᵀ + bias[O]     (R = every leading dim of x)
 * backward: dx[R, I] += dy[R, O] · w[O, I];  dw[O, I] += dyᵀ[O, R] · x[R, I];  dbias += Σ_R dy */

static porta_status linear_backward(porta_node *nd) {
  porta_tensor *x = nd->t[0], *w = nd->t[1], *bias = nd->t[2], *dy = nd->out->grad;
  porta_context *ctx = x->ctx;
  int64_t R = nd->i[0], I = nd->i[1], O = nd->i[2];
  porta_ref DY = porta_tensor_ref(dy);
  porta_status st = PORTA_OK;
  porta_ref dst;
  float beta;
  if (x->requires_grad) {
    st = porta_grad_acc(x, &dst, &beta);
    if (st == PORTA_OK)
      st = gemm(ctx, nd->op, false, false, R, I, O, 1.0f, DY, O, 0, porta_tensor_ref(w), I, 0, beta,
                dst, I, 0, 1);
    if (st != PORTA_OK) return st;
  }
  if (w->requires_grad) {
    st = porta_grad_acc(w, &dst, &beta);
    if (st == PORTA_OK)
      st = gemm(ctx, nd->op, true, false, O, I, R, 1.0f, DY, O, 0, porta_tensor_ref(x), I, 0, beta,
                dst, I, 0, 1);
    if (st != PORTA_OK) return st;
  }
  if (bias && bias->requires_grad) {
    porta_reduce_args r = {0};
    st = porta_grad_acc(bias, &r.out, &r.beta);
    if (st != PORTA_OK) return st;
    r.x = DY;
    int64_t shape[4] = {1, 1, R, O};
    memcpy(r.shape, shape, sizeof shape);
    porta_strides4(shape, r.x_stride);
    r.out_stride[3] = 1; /* sum over R */
    r.alpha = 1.0f;
    st = porta_run(ctx, nd->op, &r);
  }
  return st;
}

porta_status porta_linear(porta_tensor **out, porta_tensor *x, porta_tensor *w,
                          porta_tensor *bias) {
  const char *what = "porta_linear";
  porta_context *ctx = porta_ctx_of(x, w);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "w", w, PORTA_F32);
  if (st == PORTA_OK && bias) st = porta_check_tensor(ctx, what, "bias", bias, PORTA_F32);
  if (st != PORTA_OK) return st;
  char sx[96], sw[96], sbias[96];
  int64_t I = x->shape[x->ndim - 1];
  if (w->ndim != 2 || w->shape[1] != I)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: x %s and weight %s%s%s do not fit (weight must be [out, %lld])", what,
                      PORTA_SHAPE_STR(x, sx), w->name ? w->name : "", w->name ? " " : "",
                      PORTA_SHAPE_STR(w, sw), (long long)I);
  int64_t O = w->shape[0];
  if (bias && (bias->ndim != 1 || bias->shape[0] != O))
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: bias %s%s%s does not fit weight %s (want [%lld])",
                      what, bias->name ? bias->name : "", bias->name ? " " : "",
                      PORTA_SHAPE_STR(bias, sbias), PORTA_SHAPE_STR(w, sw), (long long)O);
  int64_t R = x->numel / I;
  int64_t oshape[PORTA_MAX_DIMS];
  memcpy(oshape, x->shape, sizeof oshape);
  oshape[x->ndim - 1] = O;
  st = porta_tensor_temp(ctx, out, PORTA_F32, x->ndim, oshape, what);
  if (st != PORTA_OK) return st;
  porta_ref C = porta_tensor_ref(*out);
  float beta = 0.0f;
  if (bias) { /* out[r, :] = bias, then the product accumulates onto it */
    porta_copy_args c = {0};
    c.out = C;
    c.x = porta_tensor_ref(bias);
    int64_t shape[4] = {1, 1, R, O};
    memcpy(c.shape, shape, sizeof shape);
    porta_strides4(shape, c.out_stride);
    c.x_stride[3] = 1;
    st = porta_run(ctx, what, &c);
    beta = 1.0f;
  }
  if (st == PORTA_OK)
    st = gemm(ctx, what, false, true, R, O, I, 1.0f, porta_tensor_ref(x), I, 0, porta_tensor_ref(w),
              I, 0, beta, C, O, 0, 1);
  if (st == PORTA_OK && porta_grad_needed(ctx, x, w, bias)) {
    porta_node n = {.backward = linear_backward, .op = what, .out = *out};
    n.t[0] = x;
    n.t[1] = w;
    n.t[2] = bias;
    n.i[0] = R;
    n.i[1] = I;
    n.i[2] = O;
    st = porta_tape_push(ctx, &n);
  }
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}
