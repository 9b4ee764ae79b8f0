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

/* The backend's slot for op (has_slot said it is there), called with the op's own args type. */
static porta_status call_slot(porta_backend *be, porta_op op, const void *args) {
  switch (op) {
#define PORTA_OP_CALL(ENUM, name, args_type)                                                       \
  case PORTA_OP_##ENUM:                                                                            \
    return be->ops->name(be, (const args_type *)args);
    PORTA_OP_TABLE(PORTA_OP_CALL)
#undef PORTA_OP_CALL
  case PORTA_OP_COUNT:
    break;
  }
  return PORTA_ERR_UNSUPPORTED;
}

/* Whether the backend has a slot for op (a NULL slot: the op is unsupported). */
static bool has_slot(const porta_backend_ops *ops, porta_op op) {
  switch (op) {
#define PORTA_OP_HAS(ENUM, name, args_type)                                                        \
  case PORTA_OP_##ENUM:                                                                            \
    return ops->name != NULL;
    PORTA_OP_TABLE(PORTA_OP_HAS)
#undef PORTA_OP_HAS
  case PORTA_OP_COUNT:
    break;
  }
  return false;
}

porta_status porta_dispatch(porta_context *ctx, const char *what, porta_op op, const void *args) {
  if (op < 0 || op >= PORTA_OP_COUNT || !args)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: no such op (%d) or no arguments", what,
                      (int)op);
  uint64_t t0 = 0;
  porta_status st = before(ctx, what, op, args, has_slot(ctx->be->ops, op), &t0);
  if (st != PORTA_OK) return st;
  return after(ctx, what, op, call_slot(ctx->be, op, args), t0);
}

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
  return porta_run(ctx, what, &r);
}

porta_status porta_be_bench_fma(porta_context *ctx, const char *what, porta_ref out, int64_t n,
                                int iters) {
  porta_backend *be = ctx->be;
  if (!be->ops->bench_fma)
    return porta_fail(ctx, PORTA_ERR_UNSUPPORTED, "%s: the %s backend has no FMA probe", what,
                      porta_backend_name(ctx->kind));
  be->err[0] = '\0';
  porta_status st = be->ops->bench_fma(be, out, n, iters);
  return st == PORTA_OK ? st : porta_fail_backend(ctx, st, what);
}

bool porta_be_has_bench_fma(const porta_context *ctx) { return ctx->be->ops->bench_fma != NULL; }

bool porta_be_device_ns(porta_context *ctx, uint64_t *total) {
  porta_backend *be = ctx->be;
  if (!ctx->profile || ctx->profile_host || !be->ops->profile_read) return false;
  uint64_t ns[PORTA_OP_COUNT], calls[PORTA_OP_COUNT];
  if (be->ops->profile_read(be, ns, calls) != PORTA_OK) return false;
  *total = 0;
  for (int i = 0; i < PORTA_OP_COUNT; i++) *total += ns[i];
  return true;
}
