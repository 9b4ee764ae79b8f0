/* Strided-batched GEMM on the CPU: cblas_sgemm (OpenBLAS) per batch entry as the fast path, and a
 * plain-loop reference (PORTA_CPU_GEMM=reference) that says exactly what the op computes. */
#include <cblas.h>
#include <limits.h>
#include <stdint.h>

#include "backend/cpu/cpu_backend.h"

/* Elements a batch of row-major rows×cols matrices spans (0 when nothing is read). */
static int64_t matrix_extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols,
                             int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

static porta_status check_gemm(porta_cpu_backend *cpu, const porta_gemm_args *g) {
  porta_backend *be = &cpu->base;
  if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0)
    return porta_backend_fail(
        be, PORTA_ERR_SHAPE, "cpu gemm: negative size m=%lld n=%lld k=%lld batch=%lld",
        (long long)g->m, (long long)g->n, (long long)g->k, (long long)g->batch);
  int64_t a_rows = g->trans_a ? g->k : g->m, a_cols = g->trans_a ? g->m : g->k;
  int64_t b_rows = g->trans_b ? g->n : g->k, b_cols = g->trans_b ? g->k : g->n;
  if (g->lda < (a_cols > 1 ? a_cols : 1) || g->ldb < (b_cols > 1 ? b_cols : 1) ||
      g->ldc < (g->n > 1 ? g->n : 1))
    return porta_backend_fail(be, PORTA_ERR_SHAPE,
                              "cpu gemm: leading dimensions lda=%lld ldb=%lld ldc=%lld too small "
                              "for A %lldx%lld, B %lldx%lld, C %lldx%lld",
                              (long long)g->lda, (long long)g->ldb, (long long)g->ldc,
                              (long long)a_rows, (long long)a_cols, (long long)b_rows,
                              (long long)b_cols, (long long)g->m, (long long)g->n);
  if (g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0)
    return porta_backend_fail(be, PORTA_ERR_SHAPE, "cpu gemm: negative batch stride");
  bool empty = g->m == 0 || g->n == 0 || g->batch == 0;
  porta_status st =
      porta_cpu_check_ref(cpu, "gemm", "A", g->a,
                          empty ? 0 : matrix_extent(g->batch, g->stride_a, a_rows, a_cols, g->lda));
  if (!st)
    st = porta_cpu_check_ref(cpu, "gemm", "B", g->b,
                             empty ? 0
                                   : matrix_extent(g->batch, g->stride_b, b_rows, b_cols, g->ldb));
  if (!st)
    st = porta_cpu_check_ref(cpu, "gemm", "C", g->c,
                             matrix_extent(g->batch, g->stride_c, g->m, g->n, g->ldc));
  return st;
}

/* The reference: every C element is one dot product, accumulated in double. */
static void gemm_reference(porta_cpu_backend *cpu, const porta_gemm_args *g) {
  const float *a = porta_cpu_f32(g->a), *b = porta_cpu_f32(g->b);
  float *c = porta_cpu_f32(g->c);
  int64_t work = g->batch * g->m * g->n * (g->k > 0 ? g->k : 1);
#pragma omp parallel for collapse(2) schedule(static) num_threads(cpu->num_threads) \
    if (work >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t bi = 0; bi < g->batch; bi++) {
    for (int64_t i = 0; i < g->m; i++) {
      const float *ab = a + bi * g->stride_a, *bb = b + bi * g->stride_b;
      float *crow = c + bi * g->stride_c + i * g->ldc;
      for (int64_t j = 0; j < g->n; j++) {
        double sum = 0.0;
        for (int64_t p = 0; p < g->k; p++) {
          float a_ip = g->trans_a ? ab[p * g->lda + i] : ab[i * g->lda + p]; /* op(A)[i, p] */
          float b_pj = g->trans_b ? bb[j * g->ldb + p] : bb[p * g->ldb + j]; /* op(B)[p, j] */
          sum += (double)a_ip * (double)b_pj;
        }
        float value = g->alpha * (float)sum;
        /* beta == 0: C is not read, so garbage or NaN there does not leak into the result. */
        crow[j] = g->beta == 0.0f ? value : value + g->beta * crow[j];
      }
    }
  }
}

/* C = beta · C (k == 0: the product is empty). */
static void gemm_scale_c(const porta_gemm_args *g) {
  float *c = porta_cpu_f32(g->c);
  for (int64_t bi = 0; bi < g->batch; bi++)
    for (int64_t i = 0; i < g->m; i++) {
      float *crow = c + bi * g->stride_c + i * g->ldc;
      for (int64_t j = 0; j < g->n; j++) crow[j] = g->beta == 0.0f ? 0.0f : g->beta * crow[j];
    }
}

static bool fits_blas_int(const porta_gemm_args *g) {
  return g->m <= INT_MAX && g->n <= INT_MAX && g->k <= INT_MAX && g->lda <= INT_MAX &&
         g->ldb <= INT_MAX && g->ldc <= INT_MAX;
}

porta_status porta_cpu_gemm(porta_cpu_backend *cpu, const porta_gemm_args *g) {
  porta_status st = check_gemm(cpu, g);
  if (st) return st;
  if (g->m == 0 || g->n == 0 || g->batch == 0) return PORTA_OK;
  if (g->k == 0) {
    gemm_scale_c(g);
    return PORTA_OK;
  }
  if (cpu->gemm_reference || !fits_blas_int(g)) {
    gemm_reference(cpu, g);
    return PORTA_OK;
  }
  const float *a = porta_cpu_f32(g->a), *b = porta_cpu_f32(g->b);
  float *c = porta_cpu_f32(g->c);
  for (int64_t bi = 0; bi < g->batch; bi++) {
    /* OpenBLAS with beta == 0 writes C without reading it (checked by test_cpu_backend). */
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n, (int)g->k, g->alpha,
                a + bi * g->stride_a, (int)g->lda, b + bi * g->stride_b, (int)g->ldb, g->beta,
                c + bi * g->stride_c, (int)g->ldc);
  }
  return PORTA_OK;
}
