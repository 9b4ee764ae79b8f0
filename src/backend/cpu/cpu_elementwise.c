/* Elementwise and layout ops on the CPU: fill, binary (with broadcasting), unary fwd/bwd,
 * reduce, copy_strided, dropout. Plain loops; rows of the output are split across threads. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
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

porta_status porta_cpu_fill(porta_cpu_backend *cpu, porta_ref out, int64_t n, float value) {
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu fill: n = %lld", (long long)n);
  porta_status st = porta_cpu_check_ref(cpu, "fill", "out", out, n);
  if (st || n == 0) return st;
  /* Copy the bit pattern, so a fill works for i32 data as well as f32. */
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  uint32_t *o = (uint32_t *)porta_cpu_i32(out);
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t i = 0; i < n; i++) o[i] = bits;
  return PORTA_OK;
}

/* ---- binary: out[i] = a[i · a_stride] op b[i · b_stride] ----------------------------------- */

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
  const float *x = porta_cpu_f32(a->a), *y = porta_cpu_f32(a->b);
  float *out = porta_cpu_f32(a->out);
  const int64_t *as = a->a_stride, *bs = a->b_stride;
  int64_t rows = s[0] * s[1] * s[2], cols = s[3];
  porta_binary_op op = a->op;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (count >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t i0 = r / (s[1] * s[2]), i1 = (r / s[2]) % s[1], i2 = r % s[2];
    const float *xr = x + i0 * as[0] + i1 * as[1] + i2 * as[2];
    const float *yr = y + i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
    float *o = out + r * cols;
    int64_t xs = as[3], ys = bs[3];
    /* out may alias a or b exactly: element j is read before it is written. */
    switch (op) {
    case PORTA_BINARY_ADD:
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] + yr[j * ys];
      break;
    case PORTA_BINARY_SUB:
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] - yr[j * ys];
      break;
    case PORTA_BINARY_MUL:
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] * yr[j * ys];
      break;
    case PORTA_BINARY_DIV:
      for (int64_t j = 0; j < cols; j++) o[j] = xr[j * xs] / yr[j * ys];
      break;
    }
  }
  return PORTA_OK;
}

/* ---- unary forward and backward ------------------------------------------------------------ */

static const float inv_sqrt2 = 0.70710678118654752f;
static const float inv_sqrt_2pi = 0.39894228040143268f;

porta_status porta_cpu_unary(porta_cpu_backend *cpu, const porta_unary_args *a) {
  if (a->n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu unary: n = %lld", (long long)a->n);
  if (a->op < PORTA_UNARY_SCALE || a->op > PORTA_UNARY_RELU)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT, "cpu unary: unknown op %d",
                              (int)a->op);
  porta_status st = porta_cpu_check_ref(cpu, "unary", "out", a->out, a->n);
  if (!st) st = porta_cpu_check_ref(cpu, "unary", "x", a->x, a->n);
  if (st || a->n == 0) return st;
  const float *x = porta_cpu_f32(a->x);
  float *out = porta_cpu_f32(a->out);
  int64_t n = a->n;
  float alpha = a->alpha, beta = a->beta;
  switch (a->op) {
  case PORTA_UNARY_SCALE:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = alpha * x[i] + beta;
    break;
  case PORTA_UNARY_GELU:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    /* Φ(x) as erfc(-x/√2)/2, not (1 + erf(x/√2))/2: no cancellation for negative x, where the
     * output is tiny and 1 + erf would keep only a few correct digits. */
    for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * erfcf(-x[i] * inv_sqrt2);
    break;
  case PORTA_UNARY_TANH:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = tanhf(x[i]);
    break;
  case PORTA_UNARY_RELU:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  }
  return PORTA_OK;
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
  const float *dy = porta_cpu_f32(a->dy);
  const float *x = a->op == PORTA_UNARY_SCALE ? NULL : porta_cpu_f32(a->x);
  float *dx = porta_cpu_f32(a->dx);
  int64_t n = a->n;
  float alpha = a->alpha;
  switch (a->op) {
  case PORTA_UNARY_SCALE:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = alpha * dy[i];
    break;
  case PORTA_UNARY_GELU:
    /* d/dx [x Φ(x)] = Φ(x) + x φ(x) */
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
      float cdf = 0.5f * erfcf(-x[i] * inv_sqrt2);
      float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
      dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
    break;
  case PORTA_UNARY_TANH: /* x holds y = tanh(input) */
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - x[i] * x[i]);
    break;
  case PORTA_UNARY_RELU:
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  }
  return PORTA_OK;
}

/* ---- reduce: sum over the dims where out_stride is 0 --------------------------------------- */

porta_status porta_cpu_reduce(porta_cpu_backend *cpu, const porta_reduce_args *a) {
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  if (shape_negative(s)) return negative_shape(cpu, "reduce", s);
  /* Output shape: reduced dims collapse to 1. */
  int64_t out_shape[PORTA_MAX_DIMS];
  bool reduced[PORTA_MAX_DIMS];
  for (int d = 0; d < PORTA_MAX_DIMS; d++) {
    reduced[d] = os[d] == 0;
    out_shape[d] = reduced[d] ? 1 : s[d];
  }
  /* An empty reduced dim still writes its outputs: the sum of nothing is 0. */
  int64_t outputs = shape_count(out_shape);
  porta_status st = porta_cpu_check_ref(cpu, "reduce", "x", a->x, porta_cpu_extent4(s, xs));
  if (!st)
    st = porta_cpu_check_ref(cpu, "reduce", "out", a->out,
                             outputs ? porta_cpu_extent4(out_shape, os) : 0);
  if (st || outputs == 0) return st;
  int64_t work = shape_count(s);
  const float *x = work ? porta_cpu_f32(a->x) : NULL;
  float *out = porta_cpu_f32(a->out);
  float alpha = a->alpha, beta = a->beta;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (work >= PORTA_CPU_PARALLEL_MIN && outputs > 1)
  for (int64_t o = 0; o < outputs; o++) {
    /* Index of this output along each kept dim; reduced dims run over their whole range. */
    int64_t idx[PORTA_MAX_DIMS], lo[PORTA_MAX_DIMS], hi[PORTA_MAX_DIMS];
    int64_t rest = o;
    for (int d = PORTA_MAX_DIMS - 1; d >= 0; d--) {
      idx[d] = rest % out_shape[d];
      rest /= out_shape[d];
      lo[d] = reduced[d] ? 0 : idx[d];
      hi[d] = reduced[d] ? s[d] : idx[d] + 1;
    }
    double sum = 0.0;
    for (int64_t i0 = lo[0]; x && i0 < hi[0]; i0++)
      for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
        for (int64_t i2 = lo[2]; i2 < hi[2]; i2++) {
          const float *row = x + i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
          for (int64_t i3 = lo[3]; i3 < hi[3]; i3++) sum += row[i3 * xs[3]];
        }
    float *dst = out + idx[0] * os[0] + idx[1] * os[1] + idx[2] * os[2] + idx[3] * os[3];
    float value = alpha * (float)sum;
    *dst = beta == 0.0f ? value : beta * *dst + value; /* beta == 0: out not read */
  }
  return PORTA_OK;
}

/* ---- copy_strided: permute, select, slice and their backward passes ------------------------ */

porta_status porta_cpu_copy_strided(porta_cpu_backend *cpu, const porta_copy_args *a) {
  const int64_t *s = a->shape, *xs = a->x_stride, *os = a->out_stride;
  if (shape_negative(s)) return negative_shape(cpu, "copy_strided", s);
  int64_t count = shape_count(s);
  porta_status st = porta_cpu_check_ref(cpu, "copy_strided", "x", a->x, porta_cpu_extent4(s, xs));
  if (!st) st = porta_cpu_check_ref(cpu, "copy_strided", "out", a->out, porta_cpu_extent4(s, os));
  if (st || count == 0) return st;
  int64_t rows = s[0] * s[1] * s[2], cols = s[3];
  bool accumulate = a->accumulate;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (count >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t i0 = r / (s[1] * s[2]), i1 = (r / s[2]) % s[1], i2 = r % s[2];
    int64_t x_row = i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
    int64_t o_row = i0 * os[0] + i1 * os[1] + i2 * os[2];
    if (accumulate) {
      const float *x = porta_cpu_f32(a->x) + x_row;
      float *o = porta_cpu_f32(a->out) + o_row;
      for (int64_t j = 0; j < cols; j++) o[j * os[3]] += x[j * xs[3]];
    } else {
      /* A bit copy: i32 data and NaN payloads pass unchanged. */
      const uint32_t *x = (const uint32_t *)porta_cpu_i32(a->x) + x_row;
      uint32_t *o = (uint32_t *)porta_cpu_i32(a->out) + o_row;
      for (int64_t j = 0; j < cols; j++) o[j * os[3]] = x[j * xs[3]];
    }
  }
  return PORTA_OK;
}

/* ---- dropout: the mask comes from Philox, so every backend draws the same one -------------- */

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
  const float *x = porta_cpu_f32(a->x);
  float *out = porta_cpu_f32(a->out);
  float p = a->p, keep_scale = 1.0f / (1.0f - a->p); /* inf when p == 1: never selected */
  uint64_t seed = a->seed, stream = a->stream;
  int64_t n = a->n;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) if (n >= 4096)
  for (int64_t i = 0; i < n; i++) {
    float u = porta_philox_uniform(seed, stream, (uint64_t)i);
    out[i] = x[i] * (u >= p ? keep_scale : 0.0f);
  }
  return PORTA_OK;
}

/* ---- bench_fma: a compute-bound loop for `porta bench`'s peak figure ------------------------ */

/* out[i] = Σ_k a_k after iters rounds of a_k = a_k · mul + add on 8 independent chains (16 flops
 * a round); the chains start from i so nothing can be folded away. */
porta_status porta_cpu_bench_fma(porta_cpu_backend *cpu, porta_ref out, int64_t n, int iters) {
  if (n < 0 || iters < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu bench_fma: n = %lld, iters = %d", (long long)n, iters);
  porta_status st = porta_cpu_check_ref(cpu, "bench_fma", "out", out, n);
  if (st || n == 0) return st;
  float *o = porta_cpu_f32(out);
  const float mul = 0.999f, add = 0.001f;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads)
  for (int64_t i = 0; i < n; i++) {
    float a[8];
    for (int k = 0; k < 8; k++) a[k] = (float)(i % 1024) * 0.001f + (float)k;
    for (int it = 0; it < iters; it++)
      for (int k = 0; k < 8; k++) a[k] = a[k] * mul + add;
    float sum = 0.0f;
    for (int k = 0; k < 8; k++) sum += a[k];
    o[i] = sum;
  }
  return PORTA_OK;
}
