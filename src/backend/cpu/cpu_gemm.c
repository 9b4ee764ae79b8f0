/* Strided-batched GEMM on the CPU: cblas_sgemm (OpenBLAS, one thread per call) on blocks that the
 * pool spreads over the threads as the fast path, and a plain-loop reference
 * (PORTA_CPU_GEMM=reference) that says exactly what the op computes. */
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

/* Matrices of the product: batch × batch2; matrix bi is (bi / batch, bi % batch). */
static int64_t matrix_count(const porta_gemm_args *g) {
  return g->batch * (g->batch2 > 1 ? g->batch2 : 1);
}

/* Where matrix bi of an operand starts, relative to its ref. */
static int64_t matrix_at(const porta_gemm_args *g, int64_t bi, int64_t stride, int64_t stride2) {
  return g->batch2 > 1 ? bi % g->batch * stride + bi / g->batch * stride2 : bi * stride;
}

/* matrix_extent over both batch indices */
static int64_t operand_extent(const porta_gemm_args *g, int64_t stride, int64_t stride2,
                              int64_t rows, int64_t cols, int64_t ld) {
  int64_t one = matrix_extent(g->batch, stride, rows, cols, ld);
  return one == 0 || g->batch2 <= 1 ? one : (g->batch2 - 1) * stride2 + one;
}

/* Whether the C matrices never share an element (else they must be written in order): stacked
 * (stride ≥ one matrix) or side by side in the same rows (attention heads' column blocks). */
static bool c_disjoint(const porta_gemm_args *g) {
  int64_t one = (g->m - 1) * g->ldc + g->n;
  bool inner = g->batch == 1 || g->stride_c >= one ||
               (g->stride_c >= g->n && (g->batch - 1) * g->stride_c + g->n <= g->ldc);
  int64_t inner_extent = matrix_extent(g->batch, g->stride_c, g->m, g->n, g->ldc);
  return inner && (g->batch2 <= 1 || g->stride2_c >= inner_extent);
}

static porta_status check_gemm(porta_cpu_backend *cpu, const porta_gemm_args *g) {
  porta_backend *be = &cpu->base;
  if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0 || g->batch2 < 0)
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
  if (g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0 || g->stride2_a < 0 ||
      g->stride2_b < 0 || g->stride2_c < 0)
    return porta_backend_fail(be, PORTA_ERR_SHAPE, "cpu gemm: negative batch stride");
  bool empty = g->m == 0 || g->n == 0 || g->batch == 0;
  porta_status st = porta_cpu_check_ref(
      cpu, "gemm", "A", g->a,
      empty ? 0 : operand_extent(g, g->stride_a, g->stride2_a, a_rows, a_cols, g->lda));
  if (!st)
    st = porta_cpu_check_ref(
        cpu, "gemm", "B", g->b,
        empty ? 0 : operand_extent(g, g->stride_b, g->stride2_b, b_rows, b_cols, g->ldb));
  if (!st)
    st = porta_cpu_check_ref(cpu, "gemm", "C", g->c,
                             operand_extent(g, g->stride_c, g->stride2_c, g->m, g->n, g->ldc));
  return st;
}

/* The reference: every C element is one dot product, accumulated in double. Items: rows of
 * all the C matrices, batch-major. */
static void gemm_reference_range(void *arg, int64_t begin, int64_t end) {
  const porta_gemm_args *g = arg;
  const float *a = porta_cpu_f32(g->a), *b = porta_cpu_f32(g->b);
  float *c = porta_cpu_f32(g->c);
  for (int64_t item = begin; item < end; item++) {
    int64_t bi = item / g->m, i = item % g->m;
    const float *ab = a + matrix_at(g, bi, g->stride_a, g->stride2_a);
    const float *bb = b + matrix_at(g, bi, g->stride_b, g->stride2_b);
    float *crow = c + matrix_at(g, bi, g->stride_c, g->stride2_c) + i * g->ldc;
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

/* C = beta · C (k == 0: the product is empty). */
static void gemm_scale_c(const porta_gemm_args *g) {
  float *c = porta_cpu_f32(g->c);
  for (int64_t bi = 0; bi < matrix_count(g); bi++)
    for (int64_t i = 0; i < g->m; i++) {
      float *crow = c + matrix_at(g, bi, g->stride_c, g->stride2_c) + i * g->ldc;
      for (int64_t j = 0; j < g->n; j++) crow[j] = g->beta == 0.0f ? 0.0f : g->beta * crow[j];
    }
}

static bool fits_blas_int(const porta_gemm_args *g) {
  return g->m <= INT_MAX && g->n <= INT_MAX && g->k <= INT_MAX && g->lda <= INT_MAX &&
         g->ldb <= INT_MAX && g->ldc <= INT_MAX;
}

/* ---- the cblas path ------------------------------------------------------------------------
 * OpenBLAS runs on one thread per call (set at backend creation) and the pool splits the work:
 * a batch by its matrices, one big product by blocks of rows or columns of C. The split depends
 * only on the sizes, never on the thread count, because OpenBLAS's result for an element of C
 * depends on the block it was computed in (checked here: a split in 2 changes the low bits), and
 * the backend promises the same bits with 1 thread or 16. */

/* Rows (or columns) of C per block for one product: ≥ 128, and about a quarter of the larger
 * side, so 2 or 4 threads all get work while each block stays big enough that packing the other
 * operand once per block costs little (measured: 2 blocks lose nothing, 6 lose 5-10 %). */
#define GEMM_MIN_BLOCK 128
#define GEMM_BLOCKS 4

typedef struct gemm_job {
  const porta_gemm_args *g;
  bool split_rows;  /* blocks of rows of C (else columns) */
  int64_t block;    /* rows or columns per block */
  int64_t per_task; /* batch entries per task (batched products) */
} gemm_job;

static void sgemm_one(const porta_gemm_args *g, int64_t m, int64_t n, const float *a,
                      const float *b, float *c) {
  /* OpenBLAS with beta == 0 writes C without reading it (checked by test_cpu_backend). */
  cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
              g->trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)g->k, g->alpha, a,
              (int)g->lda, b, (int)g->ldb, g->beta, c, (int)g->ldc);
}

/* Tasks [begin, end) of a batched product: per_task whole matrices each. */
static void gemm_batch_range(void *arg, int64_t begin, int64_t end) {
  const gemm_job *job = arg;
  const porta_gemm_args *g = job->g;
  const float *a = porta_cpu_f32(g->a), *b = porta_cpu_f32(g->b);
  float *c = porta_cpu_f32(g->c);
  int64_t first = begin * job->per_task;
  int64_t count = matrix_count(g);
  int64_t last = end * job->per_task < count ? end * job->per_task : count;
  for (int64_t bi = first; bi < last; bi++)
    sgemm_one(g, g->m, g->n, a + matrix_at(g, bi, g->stride_a, g->stride2_a),
              b + matrix_at(g, bi, g->stride_b, g->stride2_b),
              c + matrix_at(g, bi, g->stride_c, g->stride2_c));
}

/* Blocks [begin, end) of one product. Rows i0.. of C take rows of op(A): A's rows, or with
 * trans_a its columns; columns j0.. take columns of op(B) likewise. */
static void gemm_block_range(void *arg, int64_t begin, int64_t end) {
  const gemm_job *job = arg;
  const porta_gemm_args *g = job->g;
  const float *a = porta_cpu_f32(g->a), *b = porta_cpu_f32(g->b);
  float *c = porta_cpu_f32(g->c);
  for (int64_t blk = begin; blk < end; blk++) {
    int64_t lo = blk * job->block;
    if (job->split_rows) {
      int64_t rows = lo + job->block < g->m ? job->block : g->m - lo;
      sgemm_one(g, rows, g->n, g->trans_a ? a + lo : a + lo * g->lda, b, c + lo * g->ldc);
    } else {
      int64_t cols = lo + job->block < g->n ? job->block : g->n - lo;
      sgemm_one(g, g->m, cols, a, g->trans_b ? b + lo * g->ldb : b + lo, c + lo);
    }
  }
}

porta_status porta_cpu_gemm(porta_cpu_backend *cpu, const porta_gemm_args *g) {
  porta_status st = check_gemm(cpu, g);
  if (st) return st;
  if (g->m == 0 || g->n == 0 || matrix_count(g) == 0) return PORTA_OK;
  if (g->k == 0) {
    gemm_scale_c(g);
    return PORTA_OK;
  }
  int64_t count = matrix_count(g);
  int64_t work = count * g->m * g->n * g->k;
  if (cpu->gemm_reference || !fits_blas_int(g) || !porta_path_on(&cpu->base, 0)) {
    porta_cpu_for(cpu, count * g->m, work, gemm_reference_range, (void *)g);
    return PORTA_OK;
  }
  gemm_job job = {.g = g};
  if (count > 1) {
    /* about 16 tasks of whole matrices; each matrix product stays on one thread */
    job.per_task = (count + 15) / 16;
    int64_t tasks = (count + job.per_task - 1) / job.per_task;
    /* C matrices that overlap (stride_c 0: a sum into one C) must be written in order */
    if (work < PORTA_CPU_PARALLEL_MIN || !c_disjoint(g)) tasks = 1, job.per_task = count;
    porta_cpu_parallel_chunks(cpu, tasks, tasks, gemm_batch_range, &job);
    return PORTA_OK;
  }
  job.split_rows = g->m >= g->n;
  int64_t side = job.split_rows ? g->m : g->n;
  int64_t block = (side + GEMM_BLOCKS - 1) / GEMM_BLOCKS;
  job.block = block < GEMM_MIN_BLOCK ? GEMM_MIN_BLOCK : block;
  int64_t blocks = (side + job.block - 1) / job.block;
  /* small products: one call (the pool's hand-off would cost more than it saves) */
  if (work < 64 * PORTA_CPU_PARALLEL_MIN) blocks = 1, job.block = side;
  porta_cpu_parallel_chunks(cpu, blocks, blocks, gemm_block_range, &job);
  return PORTA_OK;
}
