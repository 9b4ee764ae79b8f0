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
  const float *logits = porta_cpu_f32(a->logits);
  const int32_t *labels = porta_cpu_i32(a->labels);
  float *probs = porta_cpu_f32(a->probs);
  double chunk_loss[SUM_CHUNKS];
  int64_t chunk_valid[SUM_CHUNKS];
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (batch * classes >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t c = 0; c < SUM_CHUNKS; c++) {
    int64_t begin, end;
    chunk_range(batch, c, &begin, &end);
    double loss_sum = 0.0;
    int64_t valid = 0;
    for (int64_t b = begin; b < end; b++) {
      const float *lr = logits + b * classes;
      float *pr = probs + b * classes;
      float max_value = -INFINITY;
      for (int64_t j = 0; j < classes; j++) max_value = lr[j] > max_value ? lr[j] : max_value;
      double sum = 0.0;
      for (int64_t j = 0; j < classes; j++) {
        pr[j] = expf(lr[j] - max_value);
        sum += pr[j];
      }
      for (int64_t j = 0; j < classes; j++) pr[j] = (float)(pr[j] / sum);
      int64_t label = labels[b];
      if (label >= 0 && label < classes) {
        /* -log softmax from the logits: finite even where probs[label] underflows to 0. */
        loss_sum += log(sum) - ((double)lr[label] - max_value);
        valid++;
      }
    }
    chunk_loss[c] = loss_sum;
    chunk_valid[c] = valid;
  }
  double total = 0.0;
  int64_t n_valid = 0;
  for (int64_t c = 0; c < SUM_CHUNKS; c++) {
    total += chunk_loss[c];
    n_valid += chunk_valid[c];
  }
  *porta_cpu_f32(a->loss) = n_valid ? (float)(total / (double)n_valid) : 0.0f;
  return PORTA_OK;
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
  float *dlogits = porta_cpu_f32(a->dlogits);
  int64_t n_valid = 0;
  for (int64_t b = 0; b < batch; b++) n_valid += labels[b] >= 0 && labels[b] < classes;
  float row_scale = n_valid ? *porta_cpu_f32(a->dloss) / (float)n_valid : 0.0f;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (batch * classes >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t b = 0; b < batch; b++) {
    int64_t label = labels[b];
    bool valid = label >= 0 && label < classes;
    const float *pr = probs + b * classes;
    float *dr = dlogits + b * classes;
    for (int64_t j = 0; j < classes; j++)
      dr[j] = valid ? row_scale * (pr[j] - (j == label ? 1.0f : 0.0f)) : 0.0f;
  }
  return PORTA_OK;
}

/* ---- AdamW --------------------------------------------------------------------------------- */

/* One fused update of param, m, v [n] from grad [n], in torch.optim.AdamW's order. */
porta_status porta_cpu_adamw(porta_cpu_backend *cpu, const porta_adamw_args *a) {
  int64_t n = a->n;
  const char *op = "adamw";
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu adamw: n = %lld", (long long)n);
  if (!(a->bias_correction1 > 0.0f) || !(a->bias_correction2 > 0.0f))
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu adamw: bias corrections %g, %g must be > 0 (1 - beta^step)",
                              (double)a->bias_correction1, (double)a->bias_correction2);
  porta_status st = porta_cpu_check_ref(cpu, op, "param", a->param, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "grad", a->grad, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "m", a->m, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "v", a->v, n);
  if (st || n == 0) return st;
  float *param = porta_cpu_f32(a->param), *m = porta_cpu_f32(a->m), *v = porta_cpu_f32(a->v);
  const float *grad = porta_cpu_f32(a->grad);
  float beta1 = a->beta1, beta2 = a->beta2, eps = a->eps;
  float decay = 1.0f - a->lr * a->weight_decay;
  float step_size = a->lr / a->bias_correction1;
  float sqrt_bc2 = sqrtf(a->bias_correction2);
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i];
    float p = param[i] * decay; /* decoupled weight decay: p -= lr · wd · p */
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    param[i] = p - step_size * mi / (sqrtf(vi) / sqrt_bc2 + eps);
    m[i] = mi;
    v[i] = vi;
  }
  return PORTA_OK;
}

/* ---- sum of squares ------------------------------------------------------------------------ */

/* out [1] = (accumulate ? out : 0) + Σ x[i]² */
porta_status porta_cpu_sumsq(porta_cpu_backend *cpu, const porta_sumsq_args *a) {
  int64_t n = a->n;
  if (n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu sumsq: n = %lld", (long long)n);
  porta_status st = porta_cpu_check_ref(cpu, "sumsq", "out", a->out, 1);
  if (!st) st = porta_cpu_check_ref(cpu, "sumsq", "x", a->x, n);
  if (st) return st;
  const float *x = n ? porta_cpu_f32(a->x) : NULL;
  double partial[SUM_CHUNKS];
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t c = 0; c < SUM_CHUNKS; c++) {
    int64_t begin, end;
    chunk_range(n, c, &begin, &end);
    double sum = 0.0;
    for (int64_t i = begin; i < end; i++) sum += (double)x[i] * x[i];
    partial[c] = sum;
  }
  double total = 0.0;
  for (int64_t c = 0; c < SUM_CHUNKS; c++) total += partial[c];
  float *out = porta_cpu_f32(a->out);
  *out = a->accumulate ? *out + (float)total : (float)total;
  return PORTA_OK;
}
