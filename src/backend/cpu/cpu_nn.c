/* Row-wise neural-net ops on the CPU: softmax fwd/bwd, layer norm fwd/bwd, embedding
 * gather/scatter-add. Rows are split across threads; sums are accumulated in double. Sums over rows
 * (dgamma, dbeta, dtable) split the columns across threads instead, each thread walking the rows
 * in order, so the result does not depend on the thread count. */
#include <math.h>

#include "backend/cpu/cpu_backend.h"

/* Columns per thread task for the column-parallel sums over rows. */
#define COLUMN_BLOCK 32

static porta_status check_rows(porta_cpu_backend *cpu, const char *op, int64_t rows, int64_t n) {
  if (rows < 0 || n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu %s: rows = %lld, n = %lld", op,
                              (long long)rows, (long long)n);
  return PORTA_OK;
}

/* ---- softmax ------------------------------------------------------------------------------- */

/* y[r, :] = softmax(scale · x[r, :] + mask[r / mask_div, :]) */
porta_status porta_cpu_softmax(porta_cpu_backend *cpu, const porta_softmax_args *a) {
  int64_t rows = a->rows, n = a->n;
  porta_status st = check_rows(cpu, "softmax", rows, n);
  if (st) return st;
  bool masked = a->mask.buf != NULL;
  if (masked && a->mask_div < 1)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu softmax: mask_div = %lld (must be ≥ 1)", (long long)a->mask_div);
  st = porta_cpu_check_ref(cpu, "softmax", "y", a->y, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax", "x", a->x, rows * n);
  if (!st && masked && rows > 0)
    st = porta_cpu_check_ref(cpu, "softmax", "mask", a->mask, ((rows - 1) / a->mask_div + 1) * n);
  if (st || rows * n == 0) return st;
  const float *x = porta_cpu_f32(a->x);
  const float *mask = masked ? porta_cpu_f32(a->mask) : NULL;
  float *y = porta_cpu_f32(a->y);
  float scale = a->scale;
  int64_t mask_div = a->mask_div;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (rows * n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    const float *mr = masked ? mask + (r / mask_div) * n : NULL;
    float *yr = y + r * n;
    float max_value = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
      float v = scale * xr[j] + (mr ? mr[j] : 0.0f);
      if (v > max_value) max_value = v;
    }
    if (max_value == -INFINITY) { /* every column masked: zeros, not 0/0 */
      for (int64_t j = 0; j < n; j++) yr[j] = 0.0f;
      continue;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
      float e = expf(scale * xr[j] + (mr ? mr[j] : 0.0f) - max_value);
      yr[j] = e;
      sum += e;
    }
    for (int64_t j = 0; j < n; j++) yr[j] = (float)(yr[j] / sum);
  }
  return PORTA_OK;
}

/* dx[r, :] = scale · y ⊙ (dy - Σ_j dy_j y_j) */
porta_status porta_cpu_softmax_bwd(porta_cpu_backend *cpu, const porta_softmax_bwd_args *a) {
  int64_t rows = a->rows, n = a->n;
  porta_status st = check_rows(cpu, "softmax_bwd", rows, n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "dx", a->dx, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "y", a->y, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "dy", a->dy, rows * n);
  if (st || rows * n == 0) return st;
  const float *y = porta_cpu_f32(a->y), *dy = porta_cpu_f32(a->dy);
  float *dx = porta_cpu_f32(a->dx);
  float scale = a->scale;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (rows * n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y + r * n, *dyr = dy + r * n;
    float *dxr = dx + r * n;
    double dot = 0.0;
    for (int64_t j = 0; j < n; j++) dot += (double)dyr[j] * yr[j];
    /* dx may alias dy: dy_j is read before dx_j is written. */
    for (int64_t j = 0; j < n; j++) dxr[j] = scale * yr[j] * (dyr[j] - (float)dot);
  }
  return PORTA_OK;
}

/* ---- layer norm ---------------------------------------------------------------------------- */

/* x [rows, n] -> y [rows, n], mean [rows], rstd [rows]; gamma, beta [n] */
porta_status porta_cpu_layernorm(porta_cpu_backend *cpu, const porta_layernorm_args *a) {
  int64_t rows = a->rows, n = a->n;
  porta_status st = check_rows(cpu, "layernorm", rows, n);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "y", a->y, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "x", a->x, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "mean", a->mean, n ? rows : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "rstd", a->rstd, n ? rows : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "gamma", a->gamma, rows ? n : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "layernorm", "beta", a->beta, rows ? n : 0);
  if (st || rows * n == 0) return st;
  const float *x = porta_cpu_f32(a->x), *gamma = porta_cpu_f32(a->gamma);
  const float *beta = porta_cpu_f32(a->beta);
  float *y = porta_cpu_f32(a->y), *mean = porta_cpu_f32(a->mean), *rstd = porta_cpu_f32(a->rstd);
  double eps = a->eps;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (rows * n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    /* Two passes: the mean first, then the variance around it (no E[x²] - E[x]² cancellation). */
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += xr[j];
    double m = sum / (double)n;
    double sq = 0.0;
    for (int64_t j = 0; j < n; j++) sq += (xr[j] - m) * (xr[j] - m);
    double s = 1.0 / sqrt(sq / (double)n + eps); /* biased variance, as PyTorch */
    for (int64_t j = 0; j < n; j++) yr[j] = (float)((xr[j] - m) * s) * gamma[j] + beta[j];
    mean[r] = (float)m;
    rstd[r] = (float)s;
  }
  return PORTA_OK;
}

/* dx [rows, n] written; dgamma, dbeta [n] accumulate. norm = (x - mean) · rstd,
 * dx = rstd · (g - mean(g) - norm · mean(g ⊙ norm)) with g = gamma ⊙ dy. */
porta_status porta_cpu_layernorm_bwd(porta_cpu_backend *cpu, const porta_layernorm_bwd_args *a) {
  int64_t rows = a->rows, n = a->n;
  const char *op = "layernorm_bwd";
  porta_status st = check_rows(cpu, op, rows, n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "dx", a->dx, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "dgamma", a->dgamma, rows ? n : 0);
  if (!st) st = porta_cpu_check_ref(cpu, op, "dbeta", a->dbeta, rows ? n : 0);
  if (!st) st = porta_cpu_check_ref(cpu, op, "dy", a->dy, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "x", a->x, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, op, "mean", a->mean, n ? rows : 0);
  if (!st) st = porta_cpu_check_ref(cpu, op, "rstd", a->rstd, n ? rows : 0);
  if (!st) st = porta_cpu_check_ref(cpu, op, "gamma", a->gamma, rows ? n : 0);
  if (st || rows * n == 0) return st;
  const float *dy = porta_cpu_f32(a->dy), *x = porta_cpu_f32(a->x);
  const float *mean = porta_cpu_f32(a->mean), *rstd = porta_cpu_f32(a->rstd);
  const float *gamma = porta_cpu_f32(a->gamma);
  float *dx = porta_cpu_f32(a->dx), *dgamma = porta_cpu_f32(a->dgamma);
  float *dbeta = porta_cpu_f32(a->dbeta);
  int64_t blocks = (n + COLUMN_BLOCK - 1) / COLUMN_BLOCK;

  /* dgamma and dbeta first: dy is read whole before dx (which may share its memory) is written. */
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (rows * n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t blk = 0; blk < blocks; blk++) {
    int64_t j0 = blk * COLUMN_BLOCK, j1 = j0 + COLUMN_BLOCK < n ? j0 + COLUMN_BLOCK : n;
    double acc_gamma[COLUMN_BLOCK] = {0}, acc_beta[COLUMN_BLOCK] = {0};
    for (int64_t r = 0; r < rows; r++) {
      const float *xr = x + r * n, *dyr = dy + r * n;
      for (int64_t j = j0; j < j1; j++) {
        float norm = (xr[j] - mean[r]) * rstd[r];
        acc_gamma[j - j0] += (double)norm * dyr[j];
        acc_beta[j - j0] += dyr[j];
      }
    }
    for (int64_t j = j0; j < j1; j++) {
      dgamma[j] += (float)acc_gamma[j - j0];
      dbeta[j] += (float)acc_beta[j - j0];
    }
  }

#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (rows * n >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n, *dyr = dy + r * n;
    float *dxr = dx + r * n;
    float m = mean[r], s = rstd[r];
    double g_sum = 0.0, g_norm_sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
      float g = gamma[j] * dyr[j];
      g_sum += g;
      g_norm_sum += (double)g * ((xr[j] - m) * s);
    }
    float g_mean = (float)(g_sum / (double)n), g_norm_mean = (float)(g_norm_sum / (double)n);
    for (int64_t j = 0; j < n; j++) {
      float norm = (xr[j] - m) * s;
      dxr[j] = s * (gamma[j] * dyr[j] - g_mean - norm * g_norm_mean);
    }
  }
  return PORTA_OK;
}

/* ---- embedding ----------------------------------------------------------------------------- */

static porta_status check_embedding(porta_cpu_backend *cpu, const char *op, int64_t n_ids,
                                    int64_t dim, int64_t vocab) {
  if (n_ids < 0 || dim < 0 || vocab < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE,
                              "cpu %s: n_ids = %lld, dim = %lld, vocab = %lld", op,
                              (long long)n_ids, (long long)dim, (long long)vocab);
  return PORTA_OK;
}

/* out [n_ids, dim] = table [vocab, dim] rows picked by ids [n_ids] (zeros for ids out of range) */
porta_status porta_cpu_embedding(porta_cpu_backend *cpu, const porta_embedding_args *a) {
  int64_t n_ids = a->n_ids, dim = a->dim, vocab = a->vocab;
  porta_status st = check_embedding(cpu, "embedding", n_ids, dim, vocab);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding", "out", a->out, n_ids * dim);
  if (!st)
    st =
        porta_cpu_check_ref(cpu, "embedding", "table", a->table, n_ids * dim > 0 ? vocab * dim : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding", "ids", a->ids, dim ? n_ids : 0);
  if (st || n_ids * dim == 0) return st;
  const float *table = porta_cpu_f32(a->table);
  const int32_t *ids = porta_cpu_i32(a->ids);
  float *out = porta_cpu_f32(a->out);
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n_ids * dim >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t t = 0; t < n_ids; t++) {
    int64_t id = ids[t];
    float *o = out + t * dim;
    const float *row = id >= 0 && id < vocab ? table + id * dim : NULL;
    for (int64_t j = 0; j < dim; j++) o[j] = row ? row[j] : 0.0f;
  }
  return PORTA_OK;
}

/* dtable [vocab, dim] += dout [n_ids, dim] scattered by ids. Threads own column blocks and walk
 * the ids in order, so repeated ids add up in the same order on every run. */
porta_status porta_cpu_embedding_bwd(porta_cpu_backend *cpu, const porta_embedding_bwd_args *a) {
  int64_t n_ids = a->n_ids, dim = a->dim, vocab = a->vocab;
  porta_status st = check_embedding(cpu, "embedding_bwd", n_ids, dim, vocab);
  if (!st)
    st = porta_cpu_check_ref(cpu, "embedding_bwd", "dtable", a->dtable,
                             n_ids * dim > 0 ? vocab * dim : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding_bwd", "dout", a->dout, n_ids * dim);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding_bwd", "ids", a->ids, dim ? n_ids : 0);
  if (st || n_ids * dim == 0) return st;
  const float *dout = porta_cpu_f32(a->dout);
  const int32_t *ids = porta_cpu_i32(a->ids);
  float *dtable = porta_cpu_f32(a->dtable);
  int64_t blocks = (dim + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for schedule(static) num_threads(cpu->num_threads) \
    if (n_ids * dim >= PORTA_CPU_PARALLEL_MIN)
  for (int64_t blk = 0; blk < blocks; blk++) {
    int64_t j0 = blk * COLUMN_BLOCK, j1 = j0 + COLUMN_BLOCK < dim ? j0 + COLUMN_BLOCK : dim;
    for (int64_t t = 0; t < n_ids; t++) {
      int64_t id = ids[t];
      if (id < 0 || id >= vocab) continue;
      float *row = dtable + id * dim;
      const float *g = dout + t * dim;
      for (int64_t j = j0; j < j1; j++) row[j] += g[j];
    }
  }
  return PORTA_OK;
}
