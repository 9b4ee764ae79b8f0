/* The op table: one row per backend op, X(ENUM, name, args type). Every per-op piece of the
 * backend interface comes from these rows:
 *   the enum value PORTA_OP_<ENUM> and PORTA_OP_COUNT   (backend.h)
 *   porta_op_name's string "<name>"                      (backend.c)
 *   the vtable slot porta_backend_ops.<name>             (backend.h)
 *   the checked call porta_run(ctx, what, &args)         (core/core.h, core/dispatch.c)
 * Adding an op = a row here, its args struct in backend.h (what it computes, shapes in the
 * comment), each backend's kernel and vtable entry, a case in tests/test_backend_ops and in the
 * device self-test (src/core/selftest_cases.c). docs/architecture.md walks through it. */
#ifndef PORTA_BACKEND_OP_TABLE_H
#define PORTA_BACKEND_OP_TABLE_H

// clang-format off
#define PORTA_OP_TABLE(X)                                                      \
  X(GEMM,              gemm,              porta_gemm_args)                     \
  X(BINARY,            binary,            porta_binary_args)                   \
  X(UNARY,             unary,             porta_unary_args)                    \
  X(UNARY_BWD,         unary_bwd,         porta_unary_bwd_args)                \
  X(REDUCE,            reduce,            porta_reduce_args)                   \
  X(COPY_STRIDED,      copy_strided,      porta_copy_args)                     \
  X(SOFTMAX,           softmax,           porta_softmax_args)                  \
  X(SOFTMAX_BWD,       softmax_bwd,       porta_softmax_bwd_args)              \
  X(LAYERNORM,         layernorm,         porta_layernorm_args)                \
  X(LAYERNORM_BWD,     layernorm_bwd,     porta_layernorm_bwd_args)            \
  X(EMBEDDING,         embedding,         porta_embedding_args)                \
  X(EMBEDDING_BWD,     embedding_bwd,     porta_embedding_bwd_args)            \
  X(DROPOUT,           dropout,           porta_dropout_args)                  \
  X(CROSS_ENTROPY,     cross_entropy,     porta_cross_entropy_args)            \
  X(CROSS_ENTROPY_BWD, cross_entropy_bwd, porta_cross_entropy_bwd_args)        \
  X(ADAMW,             adamw,             porta_adamw_args)                    \
  X(SUMSQ,             sumsq,             porta_sumsq_args)
// clang-format on

#endif
