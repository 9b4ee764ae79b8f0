/* Elementwise and layout ops on the CPU: fill, binary (with broadcasting), unary fwd/bwd,
 * reduce, copy_strided, dropout. Plain loops over ranges of rows or elements, which
 * porta_cpu_for spreads over the threads; `omp simd` marks the inner loops that must vectorise
 * (GCC at -O2 vectorises little on its own). */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_math.h"
#include "backend/philox.h"

static int64_t shape_count(const int64_t shape[PORTA_MAX_DIMS]) {
  int64_t count = 1;
  for (int d = 0; d < PORTA_MAX_DIMS; d++) count *= shape[d];
  return count;
}

static bool shape_negative(const int64_t shape[PORTA_MAX_DIMS]) {
  for (int d = 0; d < PORTA_MAX_DIMS; d++)
    if (shape[d] < 0) return true;
  return false;
}

static porta_status negative_shape(porta_cpu_backend *cpu, const char *op,
                                   const int64_t s[PORTA_MAX_DIMS]) {
  return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE,
                            "cpu %s: negative shape [%lld, %lld, %lld, %lld]", op, (long long)s[0],
                            (long long)s[1], (long long)s[2], (long long)s[3]);
}

typedef struct fill_job {
  uint32_t *out;
  uint32_t bits;
} fill_job;

static void fill_range(void *arg, int64_t begin, int64_t end) {
  const fill_job *job = arg;
  for (int64_t i = begin; i < end; i++) job->out[i] = job->bits;
}

porta_status porta_cpu_fill(porta_cpu_backend *cpu, porta_ref out, int64_t n, float value) {
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu fill: n = %lld", (long long)n);
  porta_status st = porta_cpu_check_ref(cpu, "fill", "out", out, n);
  if (st || n == 0) return st;
  /* Copy the bit pattern, so a fill works for i32 data as well as f32. */
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  fill_job job = {(uint32_t *)porta_cpu_i32(out), bits};
  porta_cpu_for(cpu, n, n, fill_range, &job);
  return PORTA_OK;
}

/* ---- binary: out[i] = a[i · a_stride] op b[i · b_stride] ----------------------------------- */

typedef struct binary_job {
  const porta_binary_args *a;
  const float *x, *y;
  float *out;
} binary_job;

/* Rows [begin, end) of the output viewed as [s0·s1·s2, s3]. */
static void binary_range(void *arg, int64_t begin, int64_t end) {
  const binary_job *job = arg;
  const int64_t *s = job->a->shape, *as = job->a->a_stride, *bs = job->a->b_stride;
  int64_t cols = s[3], xs = as[3], ys = bs[3];
  porta_binary_op op = job->a->op;
  for (int64_t r = begin; r < end; r++) {
    int64_t i0 = r / (s[1] * s[2]), i1 = (r / s[2]) % s[1], i2 = r % s[2];
    const float *xr = job->x + i0 * as[0] + i1 * as[1] + i2 * as[2];
    const float *yr = job->y + i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
    float *o = job->out + r * cols;
    /* out may alias a or b exactly: element j is read before it is written, and no other. */
    switch (op) {
    case PORTA_BINARY_ADD:
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] + yr[j * ys];
      break;
    case PORTA_BINARY_SUB:
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] - yr[j * ys];
      break;
    case PORTA_BINARY_MUL:
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] * yr[j * ys];
      break;
    case PORTA_BINARY_DIV:
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] / yr[j * ys];
      break;
    }
  }
}

porta_status porta_cpu_binary(porta_cpu_backend *cpu, const porta_binary_args *a) {
  const int64_t *s = a->shape;
  if (shape_negative(s)) return negative_shape(cpu, "binary", s);
  if (a->op < PORTA_BINARY_ADD || a->op > PORTA_BINARY_DIV)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT, "cpu binary: unknown op %d",
                              (int)a->op);
  int64_t count = shape_count(s);
  porta_status st = porta_cpu_check_ref(cpu, "binary", "out", a->out, count);
  if (!st) st = porta_cpu_check_ref(cpu, "binary", "a", a->a, porta_cpu_extent4(s, a->a_stride));
  if (!st) st = porta_cpu_check_ref(cpu, "binary", "b", a->b, porta_cpu_extent4(s, a->b_stride));
  if (st || count == 0) return st;
  binary_job job = {a, porta_cpu_f32(a->a), porta_cpu_f32(a->b), porta_cpu_f32(a->out)};
  porta_cpu_for(cpu, s[0] * s[1] * s[2], count, binary_range, &job);
  return PORTA_OK;
}

/* ---- unary forward and backward ------------------------------------------------------------ */

typedef struct unary_job {
  porta_unary_op op;
  const float *x, *dy; /* dy: backward only */
  float *out;          /* out, or dx in the backward pass */
  float alpha, beta;
} unary_job;

PORTA_CPU_VECTOR_CLONES
static void unary_range(void *arg, int64_t begin, int64_t end) {
  const unary_job *job = arg;
  const float *x = job->x;
  float *out = job->out;
  float alpha = job->alpha, beta = job->beta;
  switch (job->op) {
  case PORTA_UNARY_SCALE:
#pragma omp simd
    for (int64_t i = begin; i < end; i++) out[i] = alpha * x[i] + beta;
    break;
  case PORTA_UNARY_GELU:
    /* x·Φ(x), Φ through erfc (no cancellation for negative x: see cpu_math.h) */
#pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      float cdf, pdf;
      porta_cpu_normal_cdf_pdf(x[i], &cdf, &pdf);
      out[i] = x[i] * cdf;
    }
    break;
  case PORTA_UNARY_TANH:
    for (int64_t i = begin; i < end; i++) out[i] = tanhf(x[i]);
    break;
  case PORTA_UNARY_RELU:
#pragma omp simd
    for (int64_t i = begin; i < end; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  }
}

porta_status porta_cpu_unary(porta_cpu_backend *cpu, const porta_unary_args *a) {
  if (a->n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu unary: n = %lld", (long long)a->n);
  if (a->op < PORTA_UNARY_SCALE || a->op > PORTA_UNARY_RELU)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT, "cpu unary: unknown op %d",
                              (int)a->op);
  porta_status st = porta_cpu_check_ref(cpu, "unary", "out", a->out, a->n);
  if (!st) st = porta_cpu_check_ref(cpu, "unary", "x", a->x, a->n);
  if (st || a->n == 0) return st;
  unary_job job = {a->op, porta_cpu_f32(a->x), NULL, porta_cpu_f32(a->out), a->alpha, a->beta};
  porta_cpu_for(cpu, a->n, a->n, unary_range, &job);
  return PORTA_OK;
}

PORTA_CPU_VECTOR_CLONES
static void unary_bwd_range(void *arg, int64_t begin, int64_t end) {
  const unary_job *job = arg;
  const float *x = job->x, *dy = job->dy;
  float *dx = job->out;
  float alpha = job->alpha;
  switch (job->op) {
  case PORTA_UNARY_SCALE:
#pragma omp simd
    for (int64_t i = begin; i < end; i++) dx[i] = alpha * dy[i];
    break;
  case PORTA_UNARY_GELU: /* d/dx [x Φ(x)] = Φ(x) + x φ(x) */
#pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      float cdf, pdf;
      porta_cpu_normal_cdf_pdf(x[i], &cdf, &pdf);
      dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
    break;
  case PORTA_UNARY_TANH: /* x holds y = tanh(input) */
#pragma omp simd
    for (int64_t i = begin; i < end; i++) dx[i] = dy[i] * (1.0f - x[i] * x[i]);
    break;
  case PORTA_UNARY_RELU:
#pragma omp simd
    for (int64_t i = begin; i < end; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  }
}

porta_status porta_cpu_unary_bwd(porta_cpu_backend *cpu, const porta_unary_bwd_args *a) {
  if (a->n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu unary_bwd: n = %lld",
                              (long long)a->n);
  if (a->op < PORTA_UNARY_SCALE || a->op > PORTA_UNARY_RELU)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu unary_bwd: unknown op %d", (int)a->op);
  porta_status st = porta_cpu_check_ref(cpu, "unary_bwd", "dx", a->dx, a->n);
  if (!st) st = porta_cpu_check_ref(cpu, "unary_bwd", "dy", a->dy, a->n);
  if (!st && a->op != PORTA_UNARY_SCALE)
    st = porta_cpu_check_ref(cpu, "unary_bwd", "x", a->x, a->n);
  if (st || a->n == 0) return st;
  unary_job job = {a->op,
                   a->op == PORTA_UNARY_SCALE ? NULL : porta_cpu_f32(a->x),
                   porta_cpu_f32(a->dy),
                   porta_cpu_f32(a->dx),
                   a->alpha,
                   0.0f};
  porta_cpu_for(cpu, a->n, a->n, unary_bwd_range, &job);
  return PORTA_OK;
}

/* ---- reduce: sum over the dims where out_stride is 0 --------------------------------------- */

/* Sums run in double, over the reduced indices in row-major order; the result is
 * alpha · (float)sum (+ beta · out). Two layouts get their own loops, with the same order and so
 * the same bits as the general one: the last dim kept (bias gradients, or no dim reduced at all:
 * gradient accumulation, out = alpha·x + beta·out), walked as contiguous rows; and anything
 * else, one output at a time. */

#define REDUCE_COLUMN_BLOCK 64

typedef struct reduce_job {
  const porta_reduce_args *a;
  const float *x;
  float *out;
  int64_t out_shape[PORTA_MAX_DIMS];
  bool reduced[PORTA_MAX_DIMS];
  int64_t col_blocks; /* last dim kept: column blocks per output row */
} reduce_job;

/* Output rows × column blocks [begin, end), the last dim kept: each task sums its block of
 * columns over the reduced leading dims, row by row. */
static void reduce_rows_range(void *arg, int64_t begin, int64_t end) {
  const reduce_job *job = arg;
  const porta_reduce_args *a = job->a;
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  const int64_t *osh = job->out_shape;
  float alpha = a->alpha, beta = a->beta;
  for (int64_t task = begin; task < end; task++) {
    int64_t row = task / job->col_blocks, blk = task % job->col_blocks;
    int64_t j0 = blk * REDUCE_COLUMN_BLOCK;
    int64_t j1 = j0 + REDUCE_COLUMN_BLOCK < s[3] ? j0 + REDUCE_COLUMN_BLOCK : s[3];
    int64_t idx[3] = {row / (osh[1] * osh[2]), (row / osh[2]) % osh[1], row % osh[2]};
    int64_t lo[3], hi[3];
    for (int d = 0; d < 3; d++) {
      lo[d] = job->reduced[d] ? 0 : idx[d];
      hi[d] = job->reduced[d] ? s[d] : idx[d] + 1;
    }
    float *dst = job->out + idx[0] * os[0] + idx[1] * os[1] + idx[2] * os[2];
    bool single = hi[0] - lo[0] == 1 && hi[1] - lo[1] == 1 && hi[2] - lo[2] == 1;
    if (single && xs[3] == 1 && os[3] == 1) {
      /* nothing summed: out = alpha · x (+ beta · out), the same bits as via the double sum */
      const float *src = job->x + lo[0] * xs[0] + lo[1] * xs[1] + lo[2] * xs[2];
      if (beta == 0.0f) {
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) dst[j] = alpha * src[j];
      } else {
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) dst[j] = beta * dst[j] + alpha * src[j];
      }
      continue;
    }
    double acc[REDUCE_COLUMN_BLOCK] = {0};
    for (int64_t i0 = lo[0]; i0 < hi[0]; i0++)
      for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
        for (int64_t i2 = lo[2]; i2 < hi[2]; i2++) {
          const float *src = job->x + i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
          if (xs[3] == 1) {
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) acc[j - j0] += src[j];
          } else {
            for (int64_t j = j0; j < j1; j++) acc[j - j0] += src[j * xs[3]];
          }
        }
    for (int64_t j = j0; j < j1; j++) {
      float value = alpha * (float)acc[j - j0];
      float *o = dst + j * os[3];
      *o = beta == 0.0f ? value : beta * *o + value; /* beta == 0: out not read */
    }
  }
}

/* Outputs [begin, end), any layout. */
static void reduce_any_range(void *arg, int64_t begin, int64_t end) {
  const reduce_job *job = arg;
  const porta_reduce_args *a = job->a;
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  for (int64_t o = begin; o < end; o++) {
    /* Index of this output along each kept dim; reduced dims run over their whole range. */
    int64_t idx[PORTA_MAX_DIMS], lo[PORTA_MAX_DIMS], hi[PORTA_MAX_DIMS];
    int64_t rest = o;
    for (int d = PORTA_MAX_DIMS - 1; d >= 0; d--) {
      idx[d] = rest % job->out_shape[d];
      rest /= job->out_shape[d];
      lo[d] = job->reduced[d] ? 0 : idx[d];
      hi[d] = job->reduced[d] ? s[d] : idx[d] + 1;
    }
    double sum = 0.0;
    for (int64_t i0 = lo[0]; job->x && i0 < hi[0]; i0++)
      for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
        for (int64_t i2 = lo[2]; i2 < hi[2]; i2++) {
          const float *row = job->x + i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
          for (int64_t i3 = lo[3]; i3 < hi[3]; i3++) sum += row[i3 * xs[3]];
        }
    float *dst = job->out + idx[0] * os[0] + idx[1] * os[1] + idx[2] * os[2] + idx[3] * os[3];
    float value = a->alpha * (float)sum;
    *dst = a->beta == 0.0f ? value : a->beta * *dst + value; /* beta == 0: out not read */
  }
}

porta_status porta_cpu_reduce(porta_cpu_backend *cpu, const porta_reduce_args *a) {
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  if (shape_negative(s)) return negative_shape(cpu, "reduce", s);
  reduce_job job = {.a = a};
  /* Output shape: reduced dims collapse to 1. */
  for (int d = 0; d < PORTA_MAX_DIMS; d++) {
    job.reduced[d] = os[d] == 0;
    job.out_shape[d] = job.reduced[d] ? 1 : s[d];
  }
  /* An empty reduced dim still writes its outputs: the sum of nothing is 0. */
  int64_t outputs = shape_count(job.out_shape);
  porta_status st = porta_cpu_check_ref(cpu, "reduce", "x", a->x, porta_cpu_extent4(s, xs));
  if (!st)
    st = porta_cpu_check_ref(cpu, "reduce", "out", a->out,
                             outputs ? porta_cpu_extent4(job.out_shape, os) : 0);
  if (st || outputs == 0) return st;
  int64_t work = shape_count(s);
  job.x = work ? porta_cpu_f32(a->x) : NULL;
  job.out = porta_cpu_f32(a->out);
  if (!job.reduced[3] && work > 0) {
    int64_t rows = job.out_shape[0] * job.out_shape[1] * job.out_shape[2];
    job.col_blocks = (s[3] + REDUCE_COLUMN_BLOCK - 1) / REDUCE_COLUMN_BLOCK;
    porta_cpu_for(cpu, rows * job.col_blocks, work, reduce_rows_range, &job);
  } else {
    porta_cpu_for(cpu, outputs, outputs > 1 ? work : 0, reduce_any_range, &job);
  }
  return PORTA_OK;
}

/* ---- copy_strided: permute, select, slice and their backward passes ------------------------ */

typedef struct copy_job {
  const porta_copy_args *a;
  const uint32_t *x; /* bits: f32 or i32 alike */
  uint32_t *out;
} copy_job;

static void copy_range(void *arg, int64_t begin, int64_t end) {
  const copy_job *job = arg;
  const int64_t *s = job->a->shape, *xs = job->a->x_stride, *os = job->a->out_stride;
  int64_t cols = s[3], xs3 = xs[3], os3 = os[3];
  for (int64_t r = begin; r < end; r++) {
    int64_t i0 = r / (s[1] * s[2]), i1 = (r / s[2]) % s[1], i2 = r % s[2];
    const uint32_t *xb = job->x + i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
    uint32_t *ob = job->out + i0 * os[0] + i1 * os[1] + i2 * os[2];
    if (job->a->accumulate) {
      const float *x = (const float *)xb;
      float *o = (float *)ob;
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j * os3] += x[j * xs3];
    } else {
      /* A bit copy: i32 data and NaN payloads pass unchanged. */
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) ob[j * os3] = xb[j * xs3];
    }
  }
}

porta_status porta_cpu_copy_strided(porta_cpu_backend *cpu, const porta_copy_args *a) {
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  if (shape_negative(s)) return negative_shape(cpu, "copy_strided", s);
  int64_t count = shape_count(s);
  porta_status st = porta_cpu_check_ref(cpu, "copy_strided", "x", a->x, porta_cpu_extent4(s, xs));
  if (!st) st = porta_cpu_check_ref(cpu, "copy_strided", "out", a->out, porta_cpu_extent4(s, os));
  if (st || count == 0) return st;
  copy_job job = {a, (const uint32_t *)porta_cpu_i32(a->x), (uint32_t *)porta_cpu_i32(a->out)};
  porta_cpu_for(cpu, s[0] * s[1] * s[2], count, copy_range, &job);
  return PORTA_OK;
}

/* ---- dropout: the mask comes from Philox, so every backend draws the same one -------------- */

typedef struct dropout_job {
  const float *x;
  float *out;
  float p, keep_scale;
  uint64_t seed, stream, base; /* base: the counter of element 0 */
} dropout_job;

/* Lanes of the portable Philox loop below: rounds outside, lanes inside. */
#define PHILOX_LANES 16

/* Elements [begin, end) with the portable loop. GCC vectorises it, but widens the 32×32→64-bit
 * products to full 64-bit multiplies (~5 ns an element): x86-64 takes the AVX-512 / AVX2 paths
 * below (1.6 / 3.3 ns). */
static void dropout_portable(const dropout_job *job, int64_t begin, int64_t end) {
  const float *x = job->x;
  float *out = job->out;
  float p = job->p, keep_scale = job->keep_scale;
  uint32_t s0 = (uint32_t)job->seed, s1 = (uint32_t)(job->seed >> 32);
  uint32_t t0 = (uint32_t)job->stream, t1 = (uint32_t)(job->stream >> 32);
  for (int64_t i0 = begin; i0 < end; i0 += PHILOX_LANES) {
    int64_t lanes = end - i0 < PHILOX_LANES ? end - i0 : PHILOX_LANES;
    /* porta_philox4x32_10 (backend/philox.h) on PHILOX_LANES counters at once, the same
     * arithmetic in the same order (test_cpu_backend compares the bits with philox.h's) */
    uint32_t c0[PHILOX_LANES], c1[PHILOX_LANES], c2[PHILOX_LANES], c3[PHILOX_LANES];
    for (int l = 0; l < PHILOX_LANES; l++) {
      uint64_t i = job->base + (uint64_t)(i0 + l);
      c0[l] = (uint32_t)i, c1[l] = (uint32_t)(i >> 32), c2[l] = t0, c3[l] = t1;
    }
    uint32_t k0 = s0, k1 = s1;
    for (int round = 0; round < 10; round++) {
#pragma omp simd
      for (int l = 0; l < PHILOX_LANES; l++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0[l], p1 = (uint64_t)0xCD9E8D57u * c2[l];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
        c1[l] = (uint32_t)p1;
        c3[l] = (uint32_t)p0;
        c0[l] = n0;
        c2[l] = n2;
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    for (int l = 0; l < lanes; l++) {
      float u = (float)(c0[l] >> 8) * (1.0f / 16777216.0f); /* porta_philox_uniform */
      out[i0 + l] = x[i0 + l] * (u >= p ? keep_scale : 0.0f);
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define PORTA_CPU_DROPOUT_X86 1

/* lo and hi words of the 8 products m · c (32 × 32 → 64 bits): even lanes by _mm256_mul_epu32
 * directly, odd lanes after shifting them down. */
__attribute__((target("avx2"))) static inline void mul_wide_avx2(__m256i m, __m256i c, __m256i *lo,
                                                                 __m256i *hi) {
  __m256i even = _mm256_mul_epu32(m, c);
  __m256i odd = _mm256_mul_epu32(m, _mm256_srli_epi64(c, 32));
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Elements [begin, end), 8 at a time: porta_philox4x32_10 in 8 AVX2 lanes (the same words), the
 * uniform and the mask as in porta_cpu_dropout's contract; the tail goes to the portable loop. */
__attribute__((target("avx2"))) static void dropout_avx2(const dropout_job *job, int64_t begin,
                                                         int64_t end) {
  const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
  const __m256i stream_lo = _mm256_set1_epi32((int)(uint32_t)job->stream);
  const __m256i stream_hi = _mm256_set1_epi32((int)(uint32_t)(job->stream >> 32));
  const __m256 p = _mm256_set1_ps(job->p), keep_scale = _mm256_set1_ps(job->keep_scale);
  const __m256 to_unit = _mm256_set1_ps(1.0f / 16777216.0f);
  int64_t i0 = begin;
  for (; i0 + 8 <= end; i0 += 8) {
    uint32_t lo_words[8], hi_words[8];
    for (int l = 0; l < 8; l++) {
      uint64_t i = job->base + (uint64_t)(i0 + l);
      lo_words[l] = (uint32_t)i, hi_words[l] = (uint32_t)(i >> 32);
    }
    __m256i c0 = _mm256_loadu_si256((const __m256i *)lo_words);
    __m256i c1 = _mm256_loadu_si256((const __m256i *)hi_words);
    __m256i c2 = stream_lo, c3 = stream_hi;
    uint32_t k0 = (uint32_t)job->seed, k1 = (uint32_t)(job->seed >> 32);
    for (int round = 0; round < 10; round++) {
      __m256i lo0, hi0, lo1, hi1;
      mul_wide_avx2(m0, c0, &lo0, &hi0);
      mul_wide_avx2(m1, c2, &lo1, &hi1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
      c1 = lo1;
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    /* u = (word >> 8) · 2^-24 (exact); out = x · (u ≥ p ? keep_scale : 0) */
    __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(c0, 8)), to_unit);
    __m256 scale = _mm256_and_ps(_mm256_cmp_ps(u, p, _CMP_GE_OQ), keep_scale);
    _mm256_storeu_ps(job->out + i0, _mm256_mul_ps(_mm256_loadu_ps(job->x + i0), scale));
  }
  if (i0 < end) dropout_portable(job, i0, end);
}

/* The same with 16 AVX-512 lanes. */
__attribute__((target("avx512f"))) static void dropout_avx512(const dropout_job *job, int64_t begin,
                                                              int64_t end) {
  const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53u), m1 = _mm512_set1_epi32((int)0xCD9E8D57u);
  const __m512 p = _mm512_set1_ps(job->p), keep_scale = _mm512_set1_ps(job->keep_scale);
  const __m512 to_unit = _mm512_set1_ps(1.0f / 16777216.0f);
  int64_t i0 = begin;
  for (; i0 + 16 <= end; i0 += 16) {
    uint32_t lo_words[16], hi_words[16];
    for (int l = 0; l < 16; l++) {
      uint64_t i = job->base + (uint64_t)(i0 + l);
      lo_words[l] = (uint32_t)i, hi_words[l] = (uint32_t)(i >> 32);
    }
    __m512i c0 = _mm512_loadu_si512(lo_words), c1 = _mm512_loadu_si512(hi_words);
    __m512i c2 = _mm512_set1_epi32((int)(uint32_t)job->stream);
    __m512i c3 = _mm512_set1_epi32((int)(uint32_t)(job->stream >> 32));
    uint32_t k0 = (uint32_t)job->seed, k1 = (uint32_t)(job->seed >> 32);
    for (int round = 0; round < 10; round++) {
      __m512i even0 = _mm512_mul_epu32(m0, c0);
      __m512i odd0 = _mm512_mul_epu32(m0, _mm512_srli_epi64(c0, 32));
      __m512i even1 = _mm512_mul_epu32(m1, c2);
      __m512i odd1 = _mm512_mul_epu32(m1, _mm512_srli_epi64(c2, 32));
      __m512i lo0 = _mm512_mask_blend_epi32(0xAAAA, even0, _mm512_slli_epi64(odd0, 32));
      __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even0, 32), odd0);
      __m512i lo1 = _mm512_mask_blend_epi32(0xAAAA, even1, _mm512_slli_epi64(odd1, 32));
      __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even1, 32), odd1);
      c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
      c1 = lo1;
      c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(c0, 8)), to_unit);
    __m512 scale = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(u, p, _CMP_GE_OQ), keep_scale);
    _mm512_storeu_ps(job->out + i0, _mm512_mul_ps(_mm512_loadu_ps(job->x + i0), scale));
  }
  if (i0 < end) dropout_avx2(job, i0, end);
}
#endif

static void dropout_range(void *arg, int64_t begin, int64_t end) {
  const dropout_job *job = arg;
#ifdef PORTA_CPU_DROPOUT_X86
  if (__builtin_cpu_supports("avx512f")) {
    dropout_avx512(job, begin, end);
    return;
  }
  if (__builtin_cpu_supports("avx2")) {
    dropout_avx2(job, begin, end);
    return;
  }
#endif
  dropout_portable(job, begin, end);
}

porta_status porta_cpu_dropout(porta_cpu_backend *cpu, const porta_dropout_args *a) {
  if (a->n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu dropout: n = %lld",
                              (long long)a->n);
  if (!(a->p >= 0.0f && a->p <= 1.0f))
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu dropout: p = %g is outside [0, 1]", (double)a->p);
  porta_status st = porta_cpu_check_ref(cpu, "dropout", "out", a->out, a->n);
  if (!st) st = porta_cpu_check_ref(cpu, "dropout", "x", a->x, a->n);
  if (st || a->n == 0) return st;
  /* keep_scale is inf when p == 1: never selected */
  dropout_job job = {porta_cpu_f32(a->x),
                     porta_cpu_f32(a->out),
                     a->p,
                     1.0f / (1.0f - a->p),
                     a->seed,
                     a->stream,
                     a->base};
  /* Philox costs ~50 operations an element: worth threads from 4096 elements. */
  porta_cpu_for(cpu, a->n, a->n * 4, dropout_range, &job);
  return PORTA_OK;
}

/* ---- bench_fma: a compute-bound loop for `porta bench`'s peak figure ------------------------ */

typedef struct fma_job {
  float *out;
  int iters;
} fma_job;

/* out[i] = Σ_k a_k after iters rounds of a_k = a_k · mul + add on 8 independent chains (16 flops
 * a round); the chains start from i so nothing can be folded away. Items go 16 at a time, lanes
 * innermost, so the rounds run as vector instructions (a scalar loop would measure latency). */
enum { FMA_LANES = 16 };

PORTA_CPU_VECTOR_CLONES
static void fma_block(float *out, int64_t first, int64_t count, int iters) {
  const float mul = 0.999f, add = 0.001f;
  float a[8][FMA_LANES];
  for (int k = 0; k < 8; k++)
    for (int l = 0; l < FMA_LANES; l++) a[k][l] = (float)((first + l) % 1024) * 0.001f + (float)k;
  for (int it = 0; it < iters; it++)
    for (int k = 0; k < 8; k++)
#pragma omp simd
      for (int l = 0; l < FMA_LANES; l++)
        a[k][l] = fmaf(a[k][l], mul, add); /* bits do not matter here */
  for (int64_t l = 0; l < count; l++) {
    float sum = 0.0f;
    for (int k = 0; k < 8; k++) sum += a[k][l];
    out[first + l] = sum;
  }
}

static void fma_range(void *arg, int64_t begin, int64_t end) {
  const fma_job *job = arg;
  for (int64_t i = begin; i < end; i += FMA_LANES)
    fma_block(job->out, i, end - i < FMA_LANES ? end - i : FMA_LANES, job->iters);
}

porta_status porta_cpu_bench_fma(porta_cpu_backend *cpu, porta_ref out, int64_t n, int iters) {
  if (n < 0 || iters < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu bench_fma: n = %lld, iters = %d", (long long)n, iters);
  porta_status st = porta_cpu_check_ref(cpu, "bench_fma", "out", out, n);
  if (st || n == 0) return st;
  fma_job job = {porta_cpu_f32(out), iters};
  porta_cpu_parallel_chunks(cpu, n, porta_cpu_pool_threads(cpu->pool), fma_range, &job);
  return PORTA_OK;
}
