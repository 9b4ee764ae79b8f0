/* Checked calls into the backend: every op asks supports() first and reports
 * PORTA_ERR_UNSUPPORTED naming the op and backend (never a silent fallback), copies the backend's
 * message on failure, and, when profiling without backend timers, times the call on the host. */
#include <stdio.h>

#include "core/core.h"

static porta_status unsupported(porta_context *ctx, const char *what, porta_op op) {
  return porta_fail(ctx, PORTA_ERR_UNSUPPORTED,
                    "%s: the %s backend (%s) does not support the %s op with these arguments", what,
                    porta_backend_name(ctx->kind), ctx->be->info.name, porta_op_name(op));
}

/* Runs before each call: the supports() check and the host profiling start. */
static porta_status before(porta_context *ctx, const char *what, porta_op op, const void *args,
                           bool present, uint64_t *t0) {
  porta_backend *be = ctx->be;
  if (!present || (be->ops->supports && !be->ops->supports(be, op, args)))
    return unsupported(ctx, what, op);
  be->err[0] = '\0';
  if (ctx->profile_host) {
    be->ops->synchronize(be);
    *t0 = porta_now_ns();
  }
  return PORTA_OK;
}

static porta_status after(porta_context *ctx, const char *what, porta_op op, porta_status st,
                          uint64_t t0) {
  if (ctx->profile_host) {
    ctx->be->ops->synchronize(ctx->be);
    ctx->prof_ns[op] += porta_now_ns() - t0;
    ctx->prof_calls[op]++;
  }
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, what);
  return PORTA_OK;
}

#define PORTA_DISPATCH(name, OP, type)                                                             \
  porta_status porta_be_##name(porta_context *ctx, const char *what, const type *a) {              \
    uint64_t t0 = 0;                                                                               \
    porta_status st = before(ctx, what, OP, a, ctx->be->ops->name != NULL, &t0);                   \
    if (st != PORTA_OK) return st;                                                                 \
    return after(ctx, what, OP, ctx->be->ops->name(ctx->be, a), t0);                               \
  }

PORTA_DISPATCH(gemm, PORTA_OP_GEMM, porta_gemm_args)
PORTA_DISPATCH(binary, PORTA_OP_BINARY, porta_binary_args)
PORTA_DISPATCH(unary, PORTA_OP_UNARY, porta_unary_args)
PORTA_DISPATCH(unary_bwd, PORTA_OP_UNARY_BWD, porta_unary_bwd_args)
PORTA_DISPATCH(reduce, PORTA_OP_REDUCE, porta_reduce_args)
PORTA_DISPATCH(copy_strided, PORTA_OP_COPY_STRIDED, porta_copy_args)
PORTA_DISPATCH(softmax, PORTA_OP_SOFTMAX, porta_softmax_args)
PORTA_DISPATCH(softmax_bwd, PORTA_OP_SOFTMAX_BWD, porta_softmax_bwd_args)
PORTA_DISPATCH(layernorm, PORTA_OP_LAYERNORM, porta_layernorm_args)
PORTA_DISPATCH(layernorm_bwd, PORTA_OP_LAYERNORM_BWD, porta_layernorm_bwd_args)
PORTA_DISPATCH(embedding, PORTA_OP_EMBEDDING, porta_embedding_args)
PORTA_DISPATCH(embedding_bwd, PORTA_OP_EMBEDDING_BWD, porta_embedding_bwd_args)
PORTA_DISPATCH(dropout, PORTA_OP_DROPOUT, porta_dropout_args)
PORTA_DISPATCH(cross_entropy, PORTA_OP_CROSS_ENTROPY, porta_cross_entropy_args)
PORTA_DISPATCH(cross_entropy_bwd, PORTA_OP_CROSS_ENTROPY_BWD, porta_cross_entropy_bwd_args)
PORTA_DISPATCH(adamw, PORTA_OP_ADAMW, porta_adamw_args)
PORTA_DISPATCH(sumsq, PORTA_OP_SUMSQ, porta_sumsq_args)

porta_status porta_be_fill(porta_context *ctx, const char *what, porta_ref out, int64_t n,
                           float value) {
  ctx->be->err[0] = '\0';
  porta_status st = ctx->be->ops->fill(ctx->be, out, n, value);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, what);
  return PORTA_OK;
}

porta_status porta_be_axpby(porta_context *ctx, const char *what, porta_ref dst, porta_ref src,
                            int64_t n, float alpha, float beta) {
  porta_reduce_args r = {0};
  r.out = dst;
  r.x = src;
  r.shape[0] = r.shape[1] = r.shape[2] = 1;
  r.shape[3] = n;
  r.x_stride[0] = r.x_stride[1] = r.x_stride[2] = n;
  r.x_stride[3] = 1;
  r.out_stride[0] = r.out_stride[1] = r.out_stride[2] = n;
  r.out_stride[3] = 1;
  r.alpha = alpha;
  r.beta = beta;
  return porta_be_reduce(ctx, what, &r);
}
