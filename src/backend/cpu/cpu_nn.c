/* Row-wise neural-net ops on the CPU: softmax fwd/bwd, layer norm fwd/bwd, embedding
 * gather/scatter-add. Rows are split across threads; sums are accumulated in double. Sums over rows
 * (dgamma, dbeta, dtable) split the columns across threads instead, each thread walking the rows
 * in order, so the result does not depend on the thread count. */
#include <math.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_math.h"

/* Columns per thread task for the column-parallel sums over rows. */
#define COLUMN_BLOCK 32

/* Sums along a row run in SUM_LANES interleaved partial sums (element j into lane j % SUM_LANES),
 * added up in a fixed tree at the end: the lanes vectorise, and the order, so the bits, are the
 * same on every machine, vector width and thread count. */
#define SUM_LANES 8

static inline double lanes_total(const double acc[SUM_LANES]) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static porta_status check_rows(porta_cpu_backend *cpu, const char *op, int64_t rows, int64_t n) {
  if (rows < 0 || n < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_SHAPE, "cpu %s: rows = %lld, n = %lld", op,
                              (long long)rows, (long long)n);
  return PORTA_OK;
}

/* ---- softmax ------------------------------------------------------------------------------- */

typedef struct softmax_job {
  const porta_softmax_args *a;
  const float *x, *mask;
  float *y;
} softmax_job;

PORTA_CPU_VECTOR_CLONES
static void softmax_range(void *arg, int64_t begin, int64_t end) {
  const softmax_job *job = arg;
  int64_t n = job->a->n, mask_div = job->a->mask_div;
  float scale = job->a->scale;
  for (int64_t r = begin; r < end; r++) {
    const float *xr = job->x + r * n;
    const float *mr = job->mask ? job->mask + (r / mask_div) * n : NULL;
    float *yr = job->y + r * n;
    /* yr first holds the masked, scaled logits, then their exponentials */
    float max_value = -INFINITY;
    if (mr) {
#pragma omp simd
      for (int64_t j = 0; j < n; j++) yr[j] = scale * xr[j] + mr[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < n; j++) yr[j] = scale * xr[j] + 0.0f;
    }
    for (int64_t j = 0; j < n; j++) max_value = yr[j] > max_value ? yr[j] : max_value;
    if (max_value == -INFINITY) { /* every column masked: zeros, not 0/0 */
      for (int64_t j = 0; j < n; j++) yr[j] = 0.0f;
      continue;
    }
    /* exp vectorised (cpu_math.h; within 2 ulp of expf, 0 for masked logits) */
#pragma omp simd
    for (int64_t j = 0; j < n; j++) yr[j] = porta_cpu_exp_nonpositive(yr[j] - max_value);
    double acc[SUM_LANES] = {0};
    int64_t j = 0;
    for (; j + SUM_LANES <= n; j += SUM_LANES) {
#pragma omp simd
      for (int l = 0; l < SUM_LANES; l++) acc[l] += yr[j + l];
    }
    for (int l = 0; j < n; j++, l++) acc[l] += yr[j];
    double sum = lanes_total(acc);
#pragma omp simd
    for (j = 0; j < n; j++) yr[j] = (float)(yr[j] / sum);
  }
}

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
  softmax_job job = {a, porta_cpu_f32(a->x), masked ? porta_cpu_f32(a->mask) : NULL,
                     porta_cpu_f32(a->y)};
  porta_cpu_for(cpu, rows, rows * n, softmax_range, &job);
  return PORTA_OK;
}

typedef struct softmax_bwd_job {
  const float *y, *dy;
  float *dx;
  int64_t n;
  float scale;
} softmax_bwd_job;

PORTA_CPU_VECTOR_CLONES
static void softmax_bwd_range(void *arg, int64_t begin, int64_t end) {
  const softmax_bwd_job *job = arg;
  int64_t n = job->n;
  float scale = job->scale;
  for (int64_t r = begin; r < end; r++) {
    const float *yr = job->y + r * n, *dyr = job->dy + r * n;
    float *dxr = job->dx + r * n;
    double acc[SUM_LANES] = {0};
    int64_t j = 0;
    for (; j + SUM_LANES <= n; j += SUM_LANES) {
#pragma omp simd
      for (int l = 0; l < SUM_LANES; l++) acc[l] += (double)dyr[j + l] * yr[j + l];
    }
    for (int l = 0; j < n; j++, l++) acc[l] += (double)dyr[j] * yr[j];
    float dot_f = (float)lanes_total(acc);
    /* dx may alias dy: dy_j is read before dx_j is written. */
#pragma omp simd
    for (j = 0; j < n; j++) dxr[j] = scale * yr[j] * (dyr[j] - dot_f);
  }
}

/* dx[r, :] = scale · y ⊙ (dy - Σ_j dy_j y_j) */
porta_status porta_cpu_softmax_bwd(porta_cpu_backend *cpu, const porta_softmax_bwd_args *a) {
  int64_t rows = a->rows, n = a->n;
  porta_status st = check_rows(cpu, "softmax_bwd", rows, n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "dx", a->dx, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "y", a->y, rows * n);
  if (!st) st = porta_cpu_check_ref(cpu, "softmax_bwd", "dy", a->dy, rows * n);
  if (st || rows * n == 0) return st;
  softmax_bwd_job job = {porta_cpu_f32(a->y), porta_cpu_f32(a->dy), porta_cpu_f32(a->dx), n,
                         a->scale};
  porta_cpu_for(cpu, rows, rows * n, softmax_bwd_range, &job);
  return PORTA_OK;
}

/* ---- layer norm ---------------------------------------------------------------------------- */

typedef struct layernorm_job {
  const float *x, *gamma, *beta, *dy;
  float *y, *mean, *rstd;     /* forward */
  float *dx, *dgamma, *dbeta; /* backward (mean, rstd read) */
  int64_t rows, n;
  double eps;
} layernorm_job;

PORTA_CPU_VECTOR_CLONES
static void layernorm_range(void *arg, int64_t begin, int64_t end) {
  const layernorm_job *job = arg;
  int64_t n = job->n;
  const float *gamma = job->gamma, *beta = job->beta;
  for (int64_t r = begin; r < end; r++) {
    const float *xr = job->x + r * n;
    float *yr = job->y + r * n;
    /* Two passes: the mean first, then the variance around it (no E[x²] - E[x]² cancellation). */
    double acc[SUM_LANES] = {0};
    int64_t j = 0;
    for (; j + SUM_LANES <= n; j += SUM_LANES) {
#pragma omp simd
      for (int l = 0; l < SUM_LANES; l++) acc[l] += xr[j + l];
    }
    for (int l = 0; j < n; j++, l++) acc[l] += xr[j];
    double m = lanes_total(acc) / (double)n;
    double acc_sq[SUM_LANES] = {0};
    for (j = 0; j + SUM_LANES <= n; j += SUM_LANES) {
#pragma omp simd
      for (int l = 0; l < SUM_LANES; l++) acc_sq[l] += (xr[j + l] - m) * (xr[j + l] - m);
    }
    for (int l = 0; j < n; j++, l++) acc_sq[l] += (xr[j] - m) * (xr[j] - m);
    double s = 1.0 / sqrt(lanes_total(acc_sq) / (double)n + job->eps); /* biased, as PyTorch */
#pragma omp simd
    for (j = 0; j < n; j++) yr[j] = (float)((xr[j] - m) * s) * gamma[j] + beta[j];
    job->mean[r] = (float)m;
    job->rstd[r] = (float)s;
  }
}

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
  layernorm_job job = {.x = porta_cpu_f32(a->x),
                       .gamma = porta_cpu_f32(a->gamma),
                       .beta = porta_cpu_f32(a->beta),
                       .y = porta_cpu_f32(a->y),
                       .mean = porta_cpu_f32(a->mean),
                       .rstd = porta_cpu_f32(a->rstd),
                       .rows = rows,
                       .n = n,
                       .eps = a->eps};
  porta_cpu_for(cpu, rows, rows * n, layernorm_range, &job);
  return PORTA_OK;
}

/* Column blocks [begin, end): dgamma, dbeta += Σ_rows of norm ⊙ dy and dy. */
PORTA_CPU_VECTOR_CLONES
static void layernorm_dparams_range(void *arg, int64_t begin, int64_t end) {
  const layernorm_job *job = arg;
  int64_t n = job->n;
  for (int64_t blk = begin; blk < end; blk++) {
    int64_t j0 = blk * COLUMN_BLOCK, j1 = j0 + COLUMN_BLOCK < n ? j0 + COLUMN_BLOCK : n;
    double acc_gamma[COLUMN_BLOCK] = {0}, acc_beta[COLUMN_BLOCK] = {0};
    for (int64_t r = 0; r < job->rows; r++) {
      const float *xr = job->x + r * n, *dyr = job->dy + r * n;
      float m = job->mean[r], s = job->rstd[r];
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) {
        float norm = (xr[j] - m) * s;
        acc_gamma[j - j0] += (double)norm * dyr[j];
        acc_beta[j - j0] += dyr[j];
      }
    }
    for (int64_t j = j0; j < j1; j++) {
      job->dgamma[j] += (float)acc_gamma[j - j0];
      job->dbeta[j] += (float)acc_beta[j - j0];
    }
  }
}

/* Rows [begin, end) of dx. */
PORTA_CPU_VECTOR_CLONES
static void layernorm_dx_range(void *arg, int64_t begin, int64_t end) {
  const layernorm_job *job = arg;
  int64_t n = job->n;
  const float *gamma = job->gamma;
  for (int64_t r = begin; r < end; r++) {
    const float *xr = job->x + r * n, *dyr = job->dy + r * n;
    float *dxr = job->dx + r * n;
    float m = job->mean[r], s = job->rstd[r];
    double acc_g[SUM_LANES] = {0}, acc_gn[SUM_LANES] = {0};
    int64_t j = 0;
    for (; j + SUM_LANES <= n; j += SUM_LANES) {
#pragma omp simd
      for (int l = 0; l < SUM_LANES; l++) {
        float g = gamma[j + l] * dyr[j + l];
        acc_g[l] += g;
        acc_gn[l] += (double)g * ((xr[j + l] - m) * s);
      }
    }
    for (int l = 0; j < n; j++, l++) {
      float g = gamma[j] * dyr[j];
      acc_g[l] += g;
      acc_gn[l] += (double)g * ((xr[j] - m) * s);
    }
    float g_mean = (float)(lanes_total(acc_g) / (double)n);
    float g_norm_mean = (float)(lanes_total(acc_gn) / (double)n);
#pragma omp simd
    for (j = 0; j < n; j++) {
      float norm = (xr[j] - m) * s;
      dxr[j] = s * (gamma[j] * dyr[j] - g_mean - norm * g_norm_mean);
    }
  }
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
  layernorm_job job = {.x = porta_cpu_f32(a->x),
                       .gamma = porta_cpu_f32(a->gamma),
                       .dy = porta_cpu_f32(a->dy),
                       .mean = porta_cpu_f32(a->mean),
                       .rstd = porta_cpu_f32(a->rstd),
                       .dx = porta_cpu_f32(a->dx),
                       .dgamma = porta_cpu_f32(a->dgamma),
                       .dbeta = porta_cpu_f32(a->dbeta),
                       .rows = rows,
                       .n = n};
  /* dgamma and dbeta first: dy is read whole before dx (which may share its memory) is written. */
  porta_cpu_for(cpu, (n + COLUMN_BLOCK - 1) / COLUMN_BLOCK, rows * n, layernorm_dparams_range,
                &job);
  porta_cpu_for(cpu, rows, rows * n, layernorm_dx_range, &job);
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

typedef struct embedding_job {
  const float *table, *dout;
  const int32_t *ids;
  float *out, *dtable;
  int64_t n_ids, dim, vocab;
} embedding_job;

static void embedding_range(void *arg, int64_t begin, int64_t end) {
  const embedding_job *job = arg;
  int64_t dim = job->dim;
  for (int64_t t = begin; t < end; t++) {
    int64_t id = job->ids[t];
    float *o = job->out + t * dim;
    const float *row = id >= 0 && id < job->vocab ? job->table + id * dim : NULL;
    for (int64_t j = 0; j < dim; j++) o[j] = row ? row[j] : 0.0f;
  }
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
  embedding_job job = {.table = porta_cpu_f32(a->table),
                       .ids = porta_cpu_i32(a->ids),
                       .out = porta_cpu_f32(a->out),
                       .n_ids = n_ids,
                       .dim = dim,
                       .vocab = vocab};
  porta_cpu_for(cpu, n_ids, n_ids * dim, embedding_range, &job);
  return PORTA_OK;
}

/* Column blocks [begin, end) of dtable: walk the ids in order, so repeated ids add up in the same
 * order on every run. */
static void embedding_bwd_range(void *arg, int64_t begin, int64_t end) {
  const embedding_job *job = arg;
  int64_t dim = job->dim;
  for (int64_t blk = begin; blk < end; blk++) {
    int64_t j0 = blk * COLUMN_BLOCK, j1 = j0 + COLUMN_BLOCK < dim ? j0 + COLUMN_BLOCK : dim;
    for (int64_t t = 0; t < job->n_ids; t++) {
      int64_t id = job->ids[t];
      if (id < 0 || id >= job->vocab) continue;
      float *row = job->dtable + id * dim;
      const float *g = job->dout + t * dim;
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) row[j] += g[j];
    }
  }
}

/* dtable [vocab, dim] += dout [n_ids, dim] scattered by ids. Threads own column blocks. */
porta_status porta_cpu_embedding_bwd(porta_cpu_backend *cpu, const porta_embedding_bwd_args *a) {
  int64_t n_ids = a->n_ids, dim = a->dim, vocab = a->vocab;
  porta_status st = check_embedding(cpu, "embedding_bwd", n_ids, dim, vocab);
  if (!st)
    st = porta_cpu_check_ref(cpu, "embedding_bwd", "dtable", a->dtable,
                             n_ids * dim > 0 ? vocab * dim : 0);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding_bwd", "dout", a->dout, n_ids * dim);
  if (!st) st = porta_cpu_check_ref(cpu, "embedding_bwd", "ids", a->ids, dim ? n_ids : 0);
  if (st || n_ids * dim == 0) return st;
  embedding_job job = {.dout = porta_cpu_f32(a->dout),
                       .ids = porta_cpu_i32(a->ids),
                       .dtable = porta_cpu_f32(a->dtable),
                       .n_ids = n_ids,
                       .dim = dim,
                       .vocab = vocab};
  porta_cpu_for(cpu, (dim + COLUMN_BLOCK - 1) / COLUMN_BLOCK, n_ids * dim, embedding_bwd_range,
                &job);
  return PORTA_OK;
}
