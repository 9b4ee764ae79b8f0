/* The CPU backend's internals: host buffers, thread count, and one function per op family.
 *
 * A buffer handle is a porta_cpu_buffer (its size kept so every op can check that the elements it
 * touches lie inside the buffer: a wrong offset from the core becomes an error message, not memory
 * corruption). Ops run synchronously, spread over the backend's own thread pool (cpu_pool.c; GEMM
 * too, with OpenBLAS on one thread per call); the vtable in cpu_backend.c wraps each op with the
 * profiler. Every op is deterministic: each output element is computed by one thread in a fixed
 * order, whole-tensor sums use fixed-size chunks, and GEMM is split into blocks by size alone, so
 * results do not depend on the thread count. */
#ifndef PORTA_CPU_BACKEND_H
#define PORTA_CPU_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

typedef struct porta_cpu_buffer {
  void *data;    /* 64-byte aligned */
  size_t bytes;  /* as requested */
  size_t mapped; /* > 0: data is an anonymous mapping of that many bytes (large buffers) */
} porta_cpu_buffer;

/* Buffers of at least this many bytes are anonymous mappings (page-aligned, returned to the
 * system when freed); smaller ones come from aligned_alloc. */
#define PORTA_CPU_MAP_BYTES ((size_t)256 << 10)

/* cpu_pool.c: the worker threads behind every parallel op. */
typedef struct porta_cpu_pool porta_cpu_pool;

typedef struct porta_cpu_backend {
  porta_backend base;
  int num_threads;         /* ≥ 1 (0 at creation means all cores) */
  porta_cpu_pool *pool;    /* num_threads - 1 workers; NULL with one thread */
  bool gemm_reference;     /* plain-loop GEMM instead of cblas (PORTA_CPU_GEMM=reference) */
  bool gemm_reference_env; /* as chosen at creation (path_force(-1) restores it) */
  bool profiling;
  uint64_t ns_per_op[PORTA_OP_COUNT];
  uint64_t calls_per_op[PORTA_OP_COUNT];
} porta_cpu_backend;

/* Like porta_cpu_backend_create, with the GEMM choice made by the caller instead of the
 * environment (tests compare the two GEMMs in one process). */
porta_status porta_cpu_backend_create_ex(porta_backend **out, int device, int num_threads,
                                         bool gemm_reference, char *err, size_t err_size);

/* Work below this many elements (or multiply-adds) runs on one thread: waking threads costs more.
 */
#define PORTA_CPU_PARALLEL_MIN 16384

/* One piece of a parallel loop: items [begin, end) of the op described by arg. */
typedef void (*porta_cpu_range_fn)(void *arg, int64_t begin, int64_t end);

/* Runs fn over [0, n) split into ranges spread over the backend's threads (the caller's
 * included), or as one call on this thread when `work` (elements or multiply-adds touched) is
 * below PORTA_CPU_PARALLEL_MIN. Returns when every range is done. fn must compute each output
 * element inside one item, so the split never changes the result. */
void porta_cpu_for(porta_cpu_backend *cpu, int64_t n, int64_t work, porta_cpu_range_fn fn,
                   void *arg);
/* Like porta_cpu_for with exactly `chunks` ranges (a split that depends only on the sizes). */
void porta_cpu_parallel_chunks(porta_cpu_backend *cpu, int64_t n, int64_t chunks,
                               porta_cpu_range_fn fn, void *arg);
porta_status porta_cpu_pool_create(porta_cpu_pool **out, int threads);
void porta_cpu_pool_destroy(porta_cpu_pool *pool);
/* Threads that run work (the caller included): 1 for a NULL pool. */
int porta_cpu_pool_threads(const porta_cpu_pool *pool);

static inline float *porta_cpu_f32(porta_ref r) {
  return (float *)((porta_cpu_buffer *)r.buf)->data + r.off;
}
static inline int32_t *porta_cpu_i32(porta_ref r) {
  return (int32_t *)((porta_cpu_buffer *)r.buf)->data + r.off;
}

/* Checks that r names a buffer holding elements [off, off + extent); extent 0 touches nothing.
 * On failure the message names the op and the argument. */
porta_status porta_cpu_check_ref(porta_cpu_backend *cpu, const char *op, const char *name,
                                 porta_ref r, int64_t extent);
/* Elements spanned by a 4-D strided view: 1 + Σ (shape_d - 1) · stride_d, 0 for an empty shape,
 * -1 when a size or stride is negative. */
int64_t porta_cpu_extent4(const int64_t shape[PORTA_MAX_DIMS],
                          const int64_t stride[PORTA_MAX_DIMS]);

/* cpu_gemm.c */
porta_status porta_cpu_gemm(porta_cpu_backend *cpu, const porta_gemm_args *a);
/* cpu_elementwise.c */
porta_status porta_cpu_fill(porta_cpu_backend *cpu, porta_ref out, int64_t n, float value);
porta_status porta_cpu_binary(porta_cpu_backend *cpu, const porta_binary_args *a);
porta_status porta_cpu_unary(porta_cpu_backend *cpu, const porta_unary_args *a);
porta_status porta_cpu_unary_bwd(porta_cpu_backend *cpu, const porta_unary_bwd_args *a);
porta_status porta_cpu_reduce(porta_cpu_backend *cpu, const porta_reduce_args *a);
porta_status porta_cpu_copy_strided(porta_cpu_backend *cpu, const porta_copy_args *a);
porta_status porta_cpu_dropout(porta_cpu_backend *cpu, const porta_dropout_args *a);
porta_status porta_cpu_bench_fma(porta_cpu_backend *cpu, porta_ref out, int64_t n, int iters);
/* cpu_nn.c */
porta_status porta_cpu_softmax(porta_cpu_backend *cpu, const porta_softmax_args *a);
porta_status porta_cpu_softmax_bwd(porta_cpu_backend *cpu, const porta_softmax_bwd_args *a);
porta_status porta_cpu_layernorm(porta_cpu_backend *cpu, const porta_layernorm_args *a);
porta_status porta_cpu_layernorm_bwd(porta_cpu_backend *cpu, const porta_layernorm_bwd_args *a);
porta_status porta_cpu_embedding(porta_cpu_backend *cpu, const porta_embedding_args *a);
porta_status porta_cpu_embedding_bwd(porta_cpu_backend *cpu, const porta_embedding_bwd_args *a);
/* cpu_loss_optim.c */
porta_status porta_cpu_cross_entropy(porta_cpu_backend *cpu, const porta_cross_entropy_args *a);
porta_status porta_cpu_cross_entropy_bwd(porta_cpu_backend *cpu,
                                         const porta_cross_entropy_bwd_args *a);
porta_status porta_cpu_adamw(porta_cpu_backend *cpu, const porta_adamw_args *a);
porta_status porta_cpu_sumsq(porta_cpu_backend *cpu, const porta_sumsq_args *a);

#endif /* PORTA_CPU_BACKEND_H */
