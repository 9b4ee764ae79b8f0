/* Loss and optimiser ops on the CPU: cross-entropy fwd/bwd, the AdamW step, the sum of squares
 * (for gradient-norm clipping). Whole-tensor sums are split into a number of chunks that depends
 * only on the size (never on the thread count), each summed in order, then the chunks in order:
 * the same bits with 1 thread or 16. */
#include <math.h>

#include "backend/cpu/cpu_backend.h"

#define SUM_CHUNKS 256

/* Chunk c of [0, n) split into SUM_CHUNKS nearly equal parts: [*begin, *end). */
static void chunk_range(int64_t n, int64_t c, int64_t *begin, int64_t *end) {
  int64_t per = (n + SUM_CHUNKS - 1) / SUM_CHUNKS;
  *begin = c * per < n ? c * per : n;
  *end = *begin + per < n ? *begin + per : n;
}

/* ---- cross-entropy ------------------------------------------------------------------------- */

typedef struct ce_job {
  const float *logits, *probs_in;
  const int32_t *labels;
  float *probs, *dlogits;
  int64_t batch, classes;
  float row_scale;
  double chunk_loss[SUM_CHUNKS];
  int64_t chunk_valid[SUM_CHUNKS];
} ce_job;

/* Chunks [begin, end) of the rows: softmax of each row, and each chunk's loss sum. */
static void ce_range(void *arg, int64_t c_begin, int64_t c_end) {
  ce_job *job = arg;
  int64_t classes = job->classes;
  for (int64_t c = c_begin; c < c_end; c++) {
    int64_t begin, end;
    chunk_range(job->batch, c, &begin, &end);
    double loss_sum = 0.0;
    int64_t valid = 0;
    for (int64_t b = begin; b < end; b++) {
      const float *lr = job->logits + b * classes;
      float *pr = job->probs + b * classes;
      float max_value = -INFINITY;
      for (int64_t j = 0; j < classes; j++) max_value = lr[j] > max_value ? lr[j] : max_value;
      double sum = 0.0;
      for (int64_t j = 0; j < classes; j++) {
        pr[j] = expf(lr[j] - max_value);
        sum += pr[j];
      }
      for (int64_t j = 0; j < classes; j++) pr[j] = (float)(pr[j] / sum);
      int64_t label = job->labels[b];
      if (label >= 0 && label < classes) {
        /* -log softmax from the logits: finite even where probs[label] underflows to 0. */
        loss_sum += log(sum) - ((double)lr[label] - max_value);
        valid++;
      }
    }
    job->chunk_loss[c] = loss_sum;
    job->chunk_valid[c] = valid;
  }
}

/* probs [B, C] = softmax(logits [B, C]); loss [1] = mean over valid rows of -log probs[b, label_b]
 */
porta_status porta_cpu_cross_entropy(porta_cpu_backend *cpu, const porta_cross_entropy_args *a) {
  int64_t batch = a->batch, classes = a->classes;
  const char *op = "cross_entropy";
  if (batch < 0 || classes < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu %s: batch = %lld, classes = %lld",
                              op, (long long)batch, (long long)classes);
  porta_status st = porta_cpu_check_ref(cpu, op, "loss", a->loss, 1);
  if (!st) st = porta_cpu_check_ref(cpu, op, "probs", a->probs, batch * classes);
  if (!st) st = porta_cpu_check_ref(cpu, op, "logits", a->logits, batch * classes);
  if (!st) st = porta_cpu_check_ref(cpu, op, "labels", a->labels, batch);
  if (st) return st;
  if (batch * classes == 0) { /* no row, or no class a label could name: no valid label */
    *porta_cpu_f32(a->loss) = 0.0f;
    return PORTA_OK;
  }
  ce_job job = {.logits = porta_cpu_f32(a->logits),
                .labels = porta_cpu_i32(a->labels),
                .probs = porta_cpu_f32(a->probs),
                .batch = batch,
                .classes = classes};
  /* SUM_CHUNKS items whatever the thread count: the chunk sums come out the same */
  porta_cpu_for(cpu, SUM_CHUNKS, batch * classes, ce_range, &job);
  double total = 0.0;
  int64_t n_valid = 0;
  for (int64_t c = 0; c < SUM_CHUNKS; c++) {
    total += job.chunk_loss[c];
    n_valid += job.chunk_valid[c];
  }
  *porta_cpu_f32(a->loss) = n_valid ? (float)(total / (double)n_valid) : 0.0f;
  return PORTA_OK;
}

/* Rows [begin, end) of dlogits. */
static void ce_bwd_range(void *arg, int64_t begin, int64_t end) {
  const ce_job *job = arg;
  int64_t classes = job->classes;
  for (int64_t b = begin; b < end; b++) {
    int64_t label = job->labels[b];
    bool valid = label >= 0 && label < classes;
    const float *pr = job->probs_in + b * classes;
    float *dr = job->dlogits + b * classes;
    for (int64_t j = 0; j < classes; j++)
      dr[j] = valid ? job->row_scale * (pr[j] - (j == label ? 1.0f : 0.0f)) : 0.0f;
  }
}

/* dlogits [B, C] = dloss · (probs - onehot(label)) / n_valid on valid rows, 0 on the others */
porta_status porta_cpu_cross_entropy_bwd(porta_cpu_backend *cpu,
                                         const porta_cross_entropy_bwd_args *a) {
  int64_t batch = a->batch, classes = a->classes;
  const char *op = "cross_entropy_bwd";
  if (batch < 0 || classes < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu %s: batch = %lld, classes = %lld",
                              op, (long long)batch, (long long)classes);
  porta_status st = porta_cpu_check_ref(cpu, op, "dlogits", a->dlogits, batch * classes);
  if (!st) st = porta_cpu_check_ref(cpu, op, "probs", a->probs, batch * classes);
  if (!st) st = porta_cpu_check_ref(cpu, op, "labels", a->labels, batch);
  if (!st) st = porta_cpu_check_ref(cpu, op, "dloss", a->dloss, 1);
  if (st || batch * classes == 0) return st;
  const float *probs = porta_cpu_f32(a->probs);
  const int32_t *labels = porta_cpu_i32(a->labels);
  int64_t n_valid = 0;
  for (int64_t b = 0; b < batch; b++) n_valid += labels[b] >= 0 && labels[b] < classes;
  ce_job job = {.probs_in = probs,
                .labels = labels,
                .dlogits = porta_cpu_f32(a->dlogits),
                .batch = batch,
                .classes = classes,
                .row_scale = n_valid ? *porta_cpu_f32(a->dloss) / (float)n_valid : 0.0f};
  porta_cpu_for(cpu, batch, batch * classes, ce_bwd_range, &job);
  return PORTA_OK;
}

/* ---- AdamW --------------------------------------------------------------------------------- */

/* The step's factors, rounded to f32 as backend.h describes. lerp_w is torch.lerp's coefficient:
 * w1 with base m when w1 < 0.5, else w1 - 1 with base g. grad_scale is 1 when there is none
 * (g · 1 = g exactly). */
typedef struct adamw_job {
  float *param, *m, *v;
  const float *grad;
  float grad_scale, decay, lerp_w, beta2, w2, eps, step_size, sqrt_bc2;
  bool lerp_from_m;
} adamw_job;

/* Elements [begin, end), one at a time. */
static void adamw_scalar(const adamw_job *job, int64_t begin, int64_t end) {
  float *param = job->param, *m = job->m, *v = job->v;
  const float *grad = job->grad;
  for (int64_t i = begin; i < end; i++) {
    float g = grad[i] * job->grad_scale; /* clipped (C11: no contraction into g - m) */
    float p = param[i] * job->decay;     /* decoupled weight decay */
    float mi = fmaf(job->lerp_w, g - m[i], job->lerp_from_m ? m[i] : g);
    float vi = fmaf(job->w2 * g, g, v[i] * job->beta2);
    param[i] = p - job->step_size * mi / (sqrtf(vi) / job->sqrt_bc2 + job->eps);
    m[i] = mi;
    v[i] = vi;
  }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define PORTA_CPU_ADAMW_AVX2 1

/* The same arithmetic in the same order, 8 elements at a time (sqrtf's errno keeps GCC from
 * vectorising the scalar loop; the IEEE operations give the same bits either way). */
__attribute__((target("avx2,fma"))) static void adamw_avx2(const adamw_job *job, int64_t begin,
                                                           int64_t end) {
  const __m256 decay = _mm256_set1_ps(job->decay), lerp_w = _mm256_set1_ps(job->lerp_w);
  const __m256 beta2 = _mm256_set1_ps(job->beta2), w2 = _mm256_set1_ps(job->w2);
  const __m256 eps = _mm256_set1_ps(job->eps), step_size = _mm256_set1_ps(job->step_size);
  const __m256 sqrt_bc2 = _mm256_set1_ps(job->sqrt_bc2);
  const __m256 grad_scale = _mm256_set1_ps(job->grad_scale);
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256 g = _mm256_mul_ps(_mm256_loadu_ps(job->grad + i), grad_scale);
    __m256 m = _mm256_loadu_ps(job->m + i);
    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(job->param + i), decay);
    __m256 mi = _mm256_fmadd_ps(lerp_w, _mm256_sub_ps(g, m), job->lerp_from_m ? m : g);
    __m256 vi =
        _mm256_fmadd_ps(_mm256_mul_ps(w2, g), g, _mm256_mul_ps(_mm256_loadu_ps(job->v + i), beta2));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), sqrt_bc2), eps);
    __m256 update = _mm256_div_ps(_mm256_mul_ps(step_size, mi), denom);
    _mm256_storeu_ps(job->param + i, _mm256_sub_ps(p, update));
    _mm256_storeu_ps(job->m + i, mi);
    _mm256_storeu_ps(job->v + i, vi);
  }
  adamw_scalar(job, i, end);
}
#endif

static void adamw_range(void *arg, int64_t begin, int64_t end) {
  const adamw_job *job = arg;
#ifdef PORTA_CPU_ADAMW_AVX2
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    adamw_avx2(job, begin, end);
    return;
  }
#endif
  adamw_scalar(job, begin, end);
}

/* One fused update of param, m, v [n] from grad [n], in torch.optim.AdamW's order. */
porta_status porta_cpu_adamw(porta_cpu_backend *cpu, const porta_adamw_args *a) {
  int64_t n = a->n;
  const char *op = "adamw";
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu adamw: n = %lld", (long long)n);
  if (!(a->bias_correction1 > 0.0) || !(a->bias_correction2 > 0.0))
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu adamw: bias corrections %g, %g must be > 0 (1 - beta^step)",
                              a->bias_correction1, a->bias_correction2);
  porta_status st = porta_cpu_check_ref(cpu, op, "param", a->param, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "grad", a->grad, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "m", a->m, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "v", a->v, n);
  if (st || n == 0) return st;
  float w1 = (float)(1.0 - a->beta1);
  adamw_job job = {.param = porta_cpu_f32(a->param),
                   .m = porta_cpu_f32(a->m),
                   .v = porta_cpu_f32(a->v),
                   .grad = porta_cpu_f32(a->grad),
                   .grad_scale = a->grad_scale != 0.0f ? a->grad_scale : 1.0f,
                   .decay = (float)(1.0 - a->lr * a->weight_decay),
                   .lerp_w = w1 < 0.5f ? w1 : w1 - 1.0f,
                   .beta2 = (float)a->beta2,
                   .w2 = (float)(1.0 - a->beta2),
                   .eps = (float)a->eps,
                   .step_size = (float)(a->lr / a->bias_correction1),
                   .sqrt_bc2 = (float)sqrt(a->bias_correction2),
                   .lerp_from_m = w1 < 0.5f};
  porta_cpu_for(cpu, n, n, adamw_range, &job);
  return PORTA_OK;
}

/* ---- sum of squares ------------------------------------------------------------------------ */

typedef struct sumsq_job {
  const float *x;
  int64_t n;
  double partial[SUM_CHUNKS];
} sumsq_job;

static void sumsq_range(void *arg, int64_t c_begin, int64_t c_end) {
  sumsq_job *job = arg;
  for (int64_t c = c_begin; c < c_end; c++) {
    int64_t begin, end;
    chunk_range(job->n, c, &begin, &end);
    double sum = 0.0;
    for (int64_t i = begin; i < end; i++) sum += (double)job->x[i] * job->x[i];
    job->partial[c] = sum;
  }
}

/* out [1] = (accumulate ? out : 0) + Σ x[i]² */
porta_status porta_cpu_sumsq(porta_cpu_backend *cpu, const porta_sumsq_args *a) {
  int64_t n = a->n;
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu sumsq: n = %lld", (long long)n);
  porta_status st = porta_cpu_check_ref(cpu, "sumsq", "out", a->out, 1);
  if (!st) st = porta_cpu_check_ref(cpu, "sumsq", "x", a->x, n);
  if (st) return st;
  const float *x = n ? porta_cpu_f32(a->x) : NULL;
  sumsq_job job = {.x = x, .n = n};
  porta_cpu_for(cpu, SUM_CHUNKS, n, sumsq_range, &job);
  double total = 0.0;
  for (int64_t c = 0; c < SUM_CHUNKS; c++) total += job.partial[c];
  float *out = porta_cpu_f32(a->out);
  *out = a->accumulate ? *out + (float)total : (float)total;
  return PORTA_OK;
}
