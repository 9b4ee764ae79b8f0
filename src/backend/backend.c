/* Shared pieces of the backend interface: op names and the error formatter every backend uses. */
#include <stdarg.h>
#include <stdio.h>

#include "backend/backend.h"

const char *porta_op_name(porta_op op) {
  switch (op) {
  case PORTA_OP_GEMM:
    return "gemm";
  case PORTA_OP_BINARY:
    return "binary";
  case PORTA_OP_UNARY:
    return "unary";
  case PORTA_OP_UNARY_BWD:
    return "unary_bwd";
  case PORTA_OP_REDUCE:
    return "reduce";
  case PORTA_OP_COPY_STRIDED:
    return "copy_strided";
  case PORTA_OP_SOFTMAX:
    return "softmax";
  case PORTA_OP_SOFTMAX_BWD:
    return "softmax_bwd";
  case PORTA_OP_LAYERNORM:
    return "layernorm";
  case PORTA_OP_LAYERNORM_BWD:
    return "layernorm_bwd";
  case PORTA_OP_EMBEDDING:
    return "embedding";
  case PORTA_OP_EMBEDDING_BWD:
    return "embedding_bwd";
  case PORTA_OP_DROPOUT:
    return "dropout";
  case PORTA_OP_CROSS_ENTROPY:
    return "cross_entropy";
  case PORTA_OP_CROSS_ENTROPY_BWD:
    return "cross_entropy_bwd";
  case PORTA_OP_ADAMW:
    return "adamw";
  case PORTA_OP_SUMSQ:
    return "sumsq";
  case PORTA_OP_COUNT:
    break;
  }
  return "unknown_op";
}

porta_status porta_backend_fail(porta_backend *be, porta_status status, const char *fmt, ...) {
  if (!be) return status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(be->err, sizeof be->err, fmt, ap);
  va_end(ap);
  return status;
}

porta_status porta_gemm_each_batch2(porta_backend *be, const porta_gemm_args *g,
                                    porta_status (*fn)(porta_backend *be,
                                                       const porta_gemm_args *one)) {
  porta_gemm_args one = *g;
  one.batch2 = 1;
  int64_t count = g->batch2 > 1 ? g->batch2 : 1;
  for (int64_t i = 0; i < count; i++) {
    one.a.off = g->a.off + (size_t)(i * g->stride2_a);
    one.b.off = g->b.off + (size_t)(i * g->stride2_b);
    one.c.off = g->c.off + (size_t)(i * g->stride2_c);
    porta_status st = fn(be, &one);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}
