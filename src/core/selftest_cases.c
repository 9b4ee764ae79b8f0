/* The self-test's cases: each op of backend.h on small odd shapes (and the aligned shapes the
 * vec4 / texel paths need, and the sizes past lavapipe's loop limit), run on the device under
 * test and on the CPU reference with the same inputs, compared by normalised error
 * max|got - ref| / max(1, max|ref|). Outputs start as NaN (a skipped element shows), and ST_GUARD
 * elements around every buffer must come back untouched. Independent of tests/: the library
 * carries its own compact cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selftest.h"

#define TOL_EXACT 0.0
#define TOL_BITS (-1.0) /* bit-for-bit (i32 payloads) */
#define TOL_ELEMENTWISE 1e-5
#define TOL_ROWS 1e-4
static double tol_gemm(int64_t k) { return 2e-5 * sqrt((double)(k > 1 ? k : 1)); }

static const uint32_t guard_bits = 0x7f7fdeadu; /* a large finite float no op writes */

#define SIDES for (int s = 0; s < 2; s++)

static float next_uniform(st_harness *h, float lo, float hi) {
  h->rng = h->rng * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)(h->rng >> 8) * (1.0f / 16777216.0f);
}

static porta_ref R(const st_harness *h, int id, int64_t off, int side) {
  return (porta_ref){h->bufs[id].buf[side], (size_t)(ST_GUARD + off)};
}

static void record(st_harness *h, const char *what, const char *why) {
  h->cases++;
  if (h->failed) return; /* keep the first failure */
  h->failed = true;
  snprintf(h->detail, sizeof h->detail, "%.100s: %.150s", what, why);
}

/* A buffer of n elements on both backends holding data (n words; NULL: uniform in [lo, hi),
 * lo > hi: NaN), inside guards. Returns its id; on failure sets h->bad and returns 0. */
static int buf_make(st_harness *h, const char *what, int64_t n, const void *data, float lo,
                    float hi) {
  if (h->bad) return 0;
  int id = h->n_bufs;
  size_t total = (size_t)(n + 2 * ST_GUARD);
  uint32_t *host = malloc(total * 4);
  if (id >= ST_MAX_BUFS || !host) {
    free(host);
    h->bad = true;
    record(h, what, "out of host memory (or too many buffers)");
    return 0;
  }
  for (size_t i = 0; i < total; i++) host[i] = guard_bits;
  float *body = (float *)(host + ST_GUARD);
  if (data)
    memcpy(body, data, (size_t)n * 4);
  else
    for (int64_t i = 0; i < n; i++) body[i] = lo > hi ? NAN : next_uniform(h, lo, hi);
  h->bufs[id].n = n;
  h->bufs[id].buf[0] = h->bufs[id].buf[1] = NULL;
  h->n_bufs++;
  SIDES {
    porta_backend *be = h->be[s];
    porta_status st = be->ops->alloc(be, total * 4, &h->bufs[id].buf[s]);
    if (st == PORTA_OK) st = be->ops->upload(be, h->bufs[id].buf[s], 0, host, total * 4);
    if (st != PORTA_OK) {
      char why[300];
      snprintf(why, sizeof why, "%s buffer of %lld elements: %.200s", s ? "reference" : "device",
               (long long)n, be->err);
      record(h, what, why);
      h->bad = true;
      break;
    }
  }
  free(host);
  return id;
}

static int buf_random(st_harness *h, const char *what, int64_t n, float lo, float hi) {
  return buf_make(h, what, n, NULL, lo, hi);
}
static int buf_nan(st_harness *h, const char *what, int64_t n) {
  return buf_make(h, what, n, NULL, 1.0f, 0.0f);
}

static void bufs_free(st_harness *h) {
  for (int i = 0; i < h->n_bufs; i++)
    SIDES if (h->bufs[i].buf[s]) h->be[s]->ops->free(h->be[s], h->bufs[i].buf[s]);
  h->n_bufs = 0;
  h->bad = false;
}

/* Whether both sides ran the op (else the failure is recorded). */
static bool ran(st_harness *h, const char *what, const porta_status st[2]) {
  if (h->bad) return false;
  SIDES if (st[s] != PORTA_OK) {
    char why[300];
    snprintf(why, sizeof why, "%s returned %s: %.200s", s ? "the CPU reference" : "the device",
             porta_status_string(st[s]), h->be[s]->err);
    record(h, what, why);
    return false;
  }
  return true;
}

/* Compares buffer id of both sides (tol as TOL_*) and the device's guards. */
static void check(st_harness *h, const char *what, int id, double tol) {
  size_t total = (size_t)(h->bufs[id].n + 2 * ST_GUARD);
  uint32_t *got = malloc(total * 4), *ref = malloc(total * 4);
  char why[200] = "";
  if (!got || !ref) {
    snprintf(why, sizeof why, "out of host memory");
  } else {
    SIDES {
      porta_status st = h->be[s]->ops->download(h->be[s], h->bufs[id].buf[s], 0,
                                                s ? (void *)ref : (void *)got, total * 4);
      if (st != PORTA_OK && !why[0]) snprintf(why, sizeof why, "download: %.150s", h->be[s]->err);
    }
  }
  for (size_t i = 0; !why[0] && i < total; i++) {
    bool in = i >= ST_GUARD && i < total - ST_GUARD;
    if (!in && got[i] != guard_bits)
      snprintf(why, sizeof why, "wrote outside its output (%s)",
               i < ST_GUARD ? "before the first element" : "after the last element");
  }
  double err = 0.0, scale = 1.0;
  int64_t worst = -1;
  for (int64_t i = 0; !why[0] && i < h->bufs[id].n; i++) {
    uint32_t gb = got[ST_GUARD + i], rb = ref[ST_GUARD + i];
    float g, r;
    memcpy(&g, &gb, 4);
    memcpy(&r, &rb, 4);
    if (tol < 0) {
      if (gb != rb)
        snprintf(why, sizeof why, "element %lld is 0x%08x, expected 0x%08x (bit-exact)",
                 (long long)i, gb, rb);
      continue;
    }
    if (isnan(g) != isnan(r) || (isinf(g) || isinf(r) ? g != r : false)) {
      snprintf(why, sizeof why, "element %lld is %g, expected %g", (long long)i, (double)g,
               (double)r);
      continue;
    }
    if (isnan(r) || isinf(r)) continue;
    if (fabs((double)r) > scale) scale = fabs((double)r);
    double d = fabs((double)g - (double)r);
    if (d > err) err = d, worst = i;
  }
  err /= scale;
  if (!why[0] && err > h->max_error) h->max_error = err;
  if (!why[0] && err > tol && tol >= 0) {
    float g, r;
    memcpy(&g, &got[ST_GUARD + worst], 4);
    memcpy(&r, &ref[ST_GUARD + worst], 4);
    snprintf(why, sizeof why, "normalised error %.3g > %.1g (element %lld: %g, expected %g)", err,
             tol, (long long)worst, (double)g, (double)r);
  }
  free(got);
  free(ref);
  if (why[0])
    record(h, what, why);
  else
    h->cases++;
}

/* ---- GEMM ------------------------------------------------------------------------------------ */

/* C = alpha op(A) op(B) + beta C over batch × batch2 products with padded leading dims (pad) and
 * an element offset (off) on every operand. */
typedef struct gemm_case {
  bool ta, tb;
  int64_t m, n, k, batch, batch2, pad, off;
  float alpha, beta;
} gemm_case;

static void case_gemm(st_harness *h, gemm_case c) {
  char what[128];
  snprintf(what, sizeof what, "gemm %s%s %lldx%lldx%lld batch %lldx%lld pad %lld off %lld",
           c.ta ? "t" : "n", c.tb ? "t" : "n", (long long)c.m, (long long)c.n, (long long)c.k,
           (long long)c.batch, (long long)c.batch2, (long long)c.pad, (long long)c.off);
  porta_gemm_args g = {.trans_a = c.ta, .trans_b = c.tb, .m = c.m, .n = c.n, .k = c.k};
  g.alpha = c.alpha, g.beta = c.beta, g.batch = c.batch, g.batch2 = c.batch2;
  g.lda = (c.ta ? c.m : c.k) + c.pad;
  g.ldb = (c.tb ? c.k : c.n) + c.pad;
  g.ldc = c.n + c.pad;
  g.stride_a = (c.ta ? c.k : c.m) * g.lda;
  g.stride_b = (c.tb ? c.n : c.k) * g.ldb;
  g.stride_c = c.m * g.ldc;
  g.stride2_a = g.stride_a * c.batch, g.stride2_b = g.stride_b * c.batch;
  g.stride2_c = g.stride_c * c.batch;
  int64_t nb = c.batch * (c.batch2 > 1 ? c.batch2 : 1);
  int a = buf_random(h, what, c.off + nb * g.stride_a, -1, 1);
  int b = buf_random(h, what, c.off + nb * g.stride_b, -1, 1);
  int cc = c.beta == 0 ? buf_nan(h, what, c.off + nb * g.stride_c)
                       : buf_random(h, what, c.off + nb * g.stride_c, -1, 1);
  porta_status st[2];
  SIDES {
    g.a = R(h, a, c.off, s), g.b = R(h, b, c.off, s), g.c = R(h, cc, c.off, s);
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->gemm(h->be[s], &g);
  }
  if (ran(h, what, st)) {
    /* beta = 0 leaves the padding of C as NaN on both sides: compare only what is written */
    check(h, what, cc, tol_gemm(c.k));
  }
  bufs_free(h);
}

static void gemm_cases(st_harness *h, bool cpu_device) {
  for (int t = 0; t < 4; t++) {
    bool ta = t & 1, tb = t & 2;
    case_gemm(h, (gemm_case){ta, tb, 37, 45, 29, 1, 1, 1, 1, 1.0f, 0.0f}); /* odd, unaligned */
    case_gemm(h, (gemm_case){ta, tb, 36, 48, 32, 1, 1, 0, 4, 1.0f, 0.0f}); /* vec4 / texel */
  }
  case_gemm(h, (gemm_case){false, false, 17, 20, 12, 3, 1, 0, 0, 0.7f, 0.5f}); /* batched */
  case_gemm(h, (gemm_case){false, true, 17, 20, 12, 3, 1, 4, 0, 1.0f, 1.0f});
  case_gemm(h, (gemm_case){true, false, 16, 20, 12, 3, 1, 0, 0, 1.0f, 0.0f});
  case_gemm(h, (gemm_case){false, true, 9, 16, 8, 2, 3, 0, 0, 0.125f, 0.0f}); /* attention */
  case_gemm(h, (gemm_case){false, false, 9, 16, 8, 2, 3, 0, 0, 1.0f, 0.0f});
  case_gemm(h, (gemm_case){false, true, 260, 64, 96, 1, 1, 0, 0, 1.0f, 0.0f}); /* x·Wᵀ */
  case_gemm(h, (gemm_case){true, false, 40, 36, 130, 1, 1, 0, 0, 1.0f, 1.0f}); /* dW */
  case_gemm(h, (gemm_case){false, false, 5, 3, 1, 1, 1, 0, 1, 1.0f, 0.0f});    /* k = 1 */
  if (cpu_device) /* past lavapipe's loop limit (VK_CPU_LOOP_SLICE): k in slices */
    case_gemm(h, (gemm_case){false, false, 3, 8, 16500, 1, 1, 0, 0, 1.0f, 0.0f});
}

/* ---- row ops: softmax, layer norm, cross-entropy, reductions --------------------------------- */

static void case_softmax(st_harness *h, int64_t rows, int64_t n, int64_t mask_div, float scale) {
  char what[96];
  snprintf(what, sizeof what, "softmax %lldx%lld mask_div %lld", (long long)rows, (long long)n,
           (long long)mask_div);
  int x = buf_random(h, what, rows * n, -4, 4), y = buf_nan(h, what, rows * n);
  int m = -1;
  if (mask_div > 0) {
    int64_t mrows = (rows + mask_div - 1) / mask_div;
    float *mask = malloc((size_t)(mrows * n) * 4);
    if (mask) {
      for (int64_t i = 0; i < mrows * n; i++) mask[i] = (i % 7 == 3) ? -10000.0f : 0.0f;
      for (int64_t j = 0; j < n; j++) mask[j] = -INFINITY; /* a fully masked row: zeros */
      m = buf_make(h, what, mrows * n, mask, 0, 0);
      free(mask);
    } else {
      h->bad = true, record(h, what, "out of host memory");
    }
  }
  porta_status st[2];
  SIDES {
    porta_softmax_args a = {.y = R(h, y, 0, s), .x = R(h, x, 0, s), .rows = rows, .n = n};
    a.mask = m >= 0 ? R(h, m, 0, s) : (porta_ref){NULL, 0};
    a.mask_div = mask_div > 0 ? mask_div : 1;
    a.scale = scale;
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->softmax(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, y, TOL_ROWS);
  bufs_free(h);

  snprintf(what, sizeof what, "softmax_bwd %lldx%lld", (long long)rows, (long long)n);
  y = buf_random(h, what, rows * n, 0, 1);
  int dy = buf_random(h, what, rows * n, -1, 1), dx = buf_nan(h, what, rows * n);
  SIDES {
    porta_softmax_bwd_args a = {R(h, dx, 0, s), R(h, y, 0, s), R(h, dy, 0, s), rows, n, scale};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->softmax_bwd(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, dx, TOL_ROWS);
  bufs_free(h);
}

static void case_layernorm(st_harness *h, int64_t rows, int64_t n) {
  char what[96];
  snprintf(what, sizeof what, "layernorm %lldx%lld", (long long)rows, (long long)n);
  int x = buf_random(h, what, rows * n, -2, 3), gamma = buf_random(h, what, n, 0.5f, 1.5f);
  int beta = buf_random(h, what, n, -0.5f, 0.5f), y = buf_nan(h, what, rows * n);
  int mean = buf_nan(h, what, rows), rstd = buf_nan(h, what, rows);
  porta_status st[2];
  SIDES {
    porta_layernorm_args a = {R(h, y, 0, s),
                              R(h, mean, 0, s),
                              R(h, rstd, 0, s),
                              R(h, x, 0, s),
                              R(h, gamma, 0, s),
                              R(h, beta, 0, s),
                              rows,
                              n,
                              1e-5f};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->layernorm(h->be[s], &a);
  }
  if (ran(h, what, st)) {
    check(h, what, y, TOL_ROWS);
    check(h, what, mean, TOL_ROWS);
    check(h, what, rstd, TOL_ROWS);
  }
  /* backward from the reference's saved mean and rstd, copied to the device */
  snprintf(what, sizeof what, "layernorm_bwd %lldx%lld", (long long)rows, (long long)n);
  int dy = buf_random(h, what, rows * n, -1, 1), dx = buf_nan(h, what, rows * n);
  int dgamma = buf_random(h, what, n, -1, 1), dbeta = buf_random(h, what, n, -1, 1);
  float *host = malloc((size_t)(2 * rows) * 4);
  if (!host && !h->bad) h->bad = true, record(h, what, "out of host memory");
  for (int i = 0; !h->bad && i < 2; i++) {
    int id = i ? rstd : mean;
    porta_status s1 = h->be[1]->ops->download(h->be[1], h->bufs[id].buf[1], ST_GUARD * 4,
                                              host + i * rows, (size_t)rows * 4);
    porta_status s0 = s1 == PORTA_OK
                          ? h->be[0]->ops->upload(h->be[0], h->bufs[id].buf[0], ST_GUARD * 4,
                                                  host + i * rows, (size_t)rows * 4)
                          : s1;
    if (s0 != PORTA_OK) h->bad = true, record(h, what, "copying the saved statistics failed");
  }
  free(host);
  SIDES {
    porta_layernorm_bwd_args a = {
        R(h, dx, 0, s),   R(h, dgamma, 0, s), R(h, dbeta, 0, s), R(h, dy, 0, s), R(h, x, 0, s),
        R(h, mean, 0, s), R(h, rstd, 0, s),   R(h, gamma, 0, s), rows,           n};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->layernorm_bwd(h->be[s], &a);
  }
  if (ran(h, what, st)) {
    check(h, what, dx, TOL_ROWS);
    check(h, what, dgamma, TOL_ROWS);
    check(h, what, dbeta, TOL_ROWS);
  }
  bufs_free(h);
}

static void case_cross_entropy(st_harness *h, int64_t batch, int64_t classes) {
  char what[96];
  snprintf(what, sizeof what, "cross_entropy %lldx%lld", (long long)batch, (long long)classes);
  int32_t *labels = malloc((size_t)batch * 4);
  if (!labels) return record(h, what, "out of host memory");
  for (int64_t b = 0; b < batch; b++)
    labels[b] = b % 5 == 2 ? -1 : (int32_t)((b * 7 + 3) % classes); /* -1: an ignored row */
  int logits = buf_random(h, what, batch * classes, -5, 5);
  int lab = buf_make(h, what, batch, labels, 0, 0);
  int loss = buf_nan(h, what, 1), probs = buf_nan(h, what, batch * classes);
  free(labels);
  porta_status st[2];
  SIDES {
    porta_cross_entropy_args a = {
        R(h, loss, 0, s), R(h, probs, 0, s), R(h, logits, 0, s), R(h, lab, 0, s), batch, classes};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->cross_entropy(h->be[s], &a);
  }
  if (ran(h, what, st)) {
    check(h, what, loss, TOL_ROWS);
    check(h, what, probs, TOL_ROWS);
  }
  snprintf(what, sizeof what, "cross_entropy_bwd %lldx%lld", (long long)batch, (long long)classes);
  float two = 2.0f;
  int dloss = buf_make(h, what, 1, &two, 0, 0), dlogits = buf_nan(h, what, batch * classes);
  SIDES {
    porta_cross_entropy_bwd_args a = {
        R(h, dlogits, 0, s), R(h, probs, 0, s), R(h, lab, 0, s), R(h, dloss, 0, s), batch, classes};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->cross_entropy_bwd(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, dlogits, TOL_ROWS);
  bufs_free(h);
}

/* Sums over the dims whose out stride is 0; x is [d0, d1, d2, d3] contiguous. */
static void case_reduce(st_harness *h, const int64_t shape[4], const bool reduced[4], float beta) {
  char what[96];
  snprintf(what, sizeof what, "reduce [%lld,%lld,%lld,%lld] over %d%d%d%d beta %g",
           (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3],
           reduced[0], reduced[1], reduced[2], reduced[3], (double)beta);
  porta_reduce_args a = {.alpha = 1.0f, .beta = beta};
  int64_t xs = 1, os = 1, nx = 1;
  for (int d = 3; d >= 0; d--) {
    a.shape[d] = shape[d];
    a.x_stride[d] = xs;
    a.out_stride[d] = reduced[d] ? 0 : os;
    xs *= shape[d];
    if (!reduced[d]) os *= shape[d];
    nx *= shape[d];
  }
  int x = buf_random(h, what, nx, -1, 1);
  int out = beta == 0 ? buf_nan(h, what, os) : buf_random(h, what, os, -1, 1);
  porta_status st[2];
  SIDES {
    a.x = R(h, x, 0, s), a.out = R(h, out, 0, s);
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->reduce(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, out, TOL_ROWS);
  bufs_free(h);
}

static void case_sumsq(st_harness *h, int64_t n, bool accumulate) {
  char what[64];
  snprintf(what, sizeof what, "sumsq %lld%s", (long long)n, accumulate ? " accumulate" : "");
  int x = buf_random(h, what, n, -1, 1);
  int out = accumulate ? buf_random(h, what, 1, 0, 1) : buf_nan(h, what, 1);
  porta_status st[2];
  SIDES {
    porta_sumsq_args a = {R(h, out, 0, s), R(h, x, 0, s), n, accumulate};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->sumsq(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, out, TOL_ROWS);
  bufs_free(h);
}

static void row_cases(st_harness *h) {
  case_softmax(h, 3, 129, 1, 1.0f);
  case_softmax(h, 300, 37, 0, 0.125f);
  case_softmax(h, 2, 1000, 2, 1.0f);
  case_softmax(h, 24, 16, 4, 0.25f); /* attention: [batch, heads, S, S] with [batch, S] mask */
  case_layernorm(h, 3, 129);
  case_layernorm(h, 300, 37);
  case_layernorm(h, 2, 1000);
  case_cross_entropy(h, 7, 3);
  case_cross_entropy(h, 300, 7);
  const int64_t s1[4] = {1, 7, 33, 5}, s2[4] = {1, 1, 300, 37}, s3[4] = {1, 1, 300, 64};
  const bool mid[4] = {false, false, true, false}, last[4] = {false, false, false, true};
  const bool rows[4] = {true, true, true, false};
  case_reduce(h, s1, mid, 0.0f);
  case_reduce(h, s2, last, 0.0f);
  case_reduce(h, s3, rows, 1.0f); /* a bias gradient, accumulated */
  case_sumsq(h, 10007, false);
  case_sumsq(h, 3, true);
}

/* ---- AdamW ----------------------------------------------------------------------------------- */

static void case_adamw(st_harness *h, int64_t n, int64_t off, float grad_scale) {
  char what[64];
  snprintf(what, sizeof what, "adamw %lld off %lld", (long long)n, (long long)off);
  int p = buf_random(h, what, n + off, -1, 1), g = buf_random(h, what, n + off, -1, 1);
  int m = buf_random(h, what, n + off, -0.1f, 0.1f), v = buf_random(h, what, n + off, 0, 0.01f);
  porta_status st[2];
  SIDES {
    porta_adamw_args a = {.param = R(h, p, off, s),
                          .grad = R(h, g, off, s),
                          .m = R(h, m, off, s),
                          .v = R(h, v, off, s),
                          .n = n,
                          .lr = 5e-5,
                          .beta1 = 0.9,
                          .beta2 = 0.999,
                          .eps = 1e-8,
                          .weight_decay = 0.01,
                          .grad_scale = grad_scale};
    a.bias_correction1 = 1.0 - 0.9 * 0.9 * 0.9, a.bias_correction2 = 1.0 - pow(0.999, 3);
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->adamw(h->be[s], &a);
  }
  if (ran(h, what, st)) {
    check(h, what, p, TOL_ELEMENTWISE);
    check(h, what, m, TOL_ELEMENTWISE);
    check(h, what, v, TOL_ELEMENTWISE);
  }
  bufs_free(h);
}

/* ---- the other ops: one path each ------------------------------------------------------------ */

static void case_binary(st_harness *h, porta_binary_op op) {
  static const char *names[4] = {"add", "sub", "mul", "div"};
  char what[64];
  snprintf(what, sizeof what, "binary %s [2,3,5,7] with [3,1,7]", names[op]);
  int a = buf_random(h, what, 210, -2, 2), b = buf_random(h, what, 21, 0.5f, 2);
  int out = buf_nan(h, what, 210);
  porta_status st[2];
  SIDES {
    porta_binary_args x = {.op = op, .out = R(h, out, 0, s), .a = R(h, a, 0, s)};
    x.b = R(h, b, 0, s);
    const int64_t shape[4] = {2, 3, 5, 7}, as[4] = {105, 35, 7, 1}, bs[4] = {0, 7, 0, 1};
    memcpy(x.shape, shape, sizeof shape);
    memcpy(x.a_stride, as, sizeof as);
    memcpy(x.b_stride, bs, sizeof bs);
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->binary(h->be[s], &x);
  }
  if (ran(h, what, st)) check(h, what, out, TOL_ELEMENTWISE);
  bufs_free(h);
}

static void case_unary(st_harness *h, porta_unary_op op) {
  static const char *names[4] = {"scale", "gelu", "tanh", "relu"};
  char what[64];
  snprintf(what, sizeof what, "unary %s 1001", names[op]);
  int x = buf_random(h, what, 1001, -4, 4), out = buf_nan(h, what, 1001);
  int dy = buf_random(h, what, 1001, -1, 1), dx = buf_nan(h, what, 1001);
  porta_status st[2];
  SIDES {
    porta_unary_args a = {op, R(h, out, 0, s), R(h, x, 0, s), 1001, 0.5f, 0.25f};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->unary(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, out, op == PORTA_UNARY_SCALE ? TOL_ELEMENTWISE : TOL_ROWS);
  snprintf(what, sizeof what, "unary_bwd %s 1001", names[op]);
  SIDES {
    porta_unary_bwd_args a = {op, R(h, dx, 0, s), R(h, x, 0, s), R(h, dy, 0, s), 1001, 0.5f};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->unary_bwd(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, dx, TOL_ROWS);
  bufs_free(h);
}

/* A permute of [2,3,5,7] (dims 1 and 3 swapped), as a bit copy of i32 payloads that float
 * registers would change (a signalling NaN, denormal token ids) and as an accumulation. */
static void case_copy(st_harness *h, bool accumulate) {
  char what[64];
  snprintf(what, sizeof what, "copy_strided permute %s", accumulate ? "accumulate" : "i32 bits");
  uint32_t *bits = malloc(210 * 4);
  if (!bits) return record(h, what, "out of host memory");
  for (int i = 0; i < 210; i++)
    bits[i] = i % 3 == 0 ? 0x7f9a470eu + (uint32_t)i : (uint32_t)i * 4099u;
  int x = accumulate ? buf_random(h, what, 210, -1, 1) : buf_make(h, what, 210, bits, 0, 0);
  int out = accumulate ? buf_random(h, what, 210, -1, 1) : buf_nan(h, what, 210);
  free(bits);
  porta_status st[2];
  SIDES {
    porta_copy_args a = {.out = R(h, out, 0, s), .x = R(h, x, 0, s), .accumulate = accumulate};
    const int64_t shape[4] = {2, 3, 5, 7}, xs[4] = {105, 35, 7, 1}, os[4] = {105, 1, 21, 3};
    memcpy(a.shape, shape, sizeof shape);
    memcpy(a.x_stride, xs, sizeof xs);
    memcpy(a.out_stride, os, sizeof os);
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->copy_strided(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, out, accumulate ? TOL_ELEMENTWISE : TOL_BITS);
  bufs_free(h);
}

static void case_embedding(st_harness *h) {
  const char *what = "embedding 23 ids of a 50x37 table";
  int32_t ids[23];
  for (int i = 0; i < 23; i++) ids[i] = (i * 17) % 50;
  ids[4] = -1, ids[9] = 50, ids[11] = ids[3]; /* out of range (zeros, skipped); repeated */
  int table = buf_random(h, what, 50 * 37, -1, 1), idb = buf_make(h, what, 23, ids, 0, 0);
  int out = buf_nan(h, what, 23 * 37);
  porta_status st[2];
  SIDES {
    porta_embedding_args a = {R(h, out, 0, s), R(h, table, 0, s), R(h, idb, 0, s), 23, 37, 50};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->embedding(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, out, TOL_EXACT);
  what = "embedding_bwd 23 ids into a 50x37 table";
  int dout = buf_random(h, what, 23 * 37, -1, 1);
  SIDES {
    porta_embedding_bwd_args a = {R(h, table, 0, s), R(h, dout, 0, s), R(h, idb, 0, s), 23, 37, 50};
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->embedding_bwd(h->be[s], &a);
  }
  if (ran(h, what, st)) check(h, what, table, TOL_ELEMENTWISE);
  bufs_free(h);
}

static void case_dropout_fill(st_harness *h) {
  const char *what = "dropout 1001 p 0.1";
  int x = buf_random(h, what, 1001, -1, 1), out = buf_nan(h, what, 1001);
  porta_status st[2];
  /* base: the Philox counter offset of a data-parallel shard (rows after the first) */
  for (uint64_t base = 0; base <= 5005; base += 5005) {
    what = base ? "dropout 1001 p 0.1 base 5005" : "dropout 1001 p 0.1";
    SIDES {
      porta_dropout_args a = {R(h, out, 0, s), R(h, x, 0, s), 1001, 0.1f, 42, 7, base};
      st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->dropout(h->be[s], &a);
    }
    if (ran(h, what, st)) check(h, what, out, TOL_ELEMENTWISE);
  }
  what = "fill 37";
  SIDES {
    st[s] = h->bad ? PORTA_ERR_STATE : h->be[s]->ops->fill(h->be[s], R(h, out, 3, s), 37, 3.5f);
  }
  if (ran(h, what, st)) check(h, what, out, TOL_EXACT);
  bufs_free(h);
}

static void other_cases(st_harness *h) {
  for (int op = PORTA_BINARY_ADD; op <= PORTA_BINARY_DIV; op++) case_binary(h, (porta_binary_op)op);
  for (int op = PORTA_UNARY_SCALE; op <= PORTA_UNARY_RELU; op++) case_unary(h, (porta_unary_op)op);
  case_copy(h, false);
  case_copy(h, true);
  case_embedding(h);
  case_dropout_fill(h);
}

unsigned porta_selftest_groups(uint32_t op_mask) {
  const uint32_t rows = 1u << PORTA_OP_SOFTMAX | 1u << PORTA_OP_SOFTMAX_BWD |
                        1u << PORTA_OP_LAYERNORM | 1u << PORTA_OP_LAYERNORM_BWD |
                        1u << PORTA_OP_CROSS_ENTROPY | 1u << PORTA_OP_CROSS_ENTROPY_BWD |
                        1u << PORTA_OP_REDUCE | 1u << PORTA_OP_SUMSQ;
  unsigned groups = 0;
  if (op_mask & 1u << PORTA_OP_GEMM) groups |= ST_GEMM;
  if (op_mask & rows) groups |= ST_ROWS;
  if (op_mask & 1u << PORTA_OP_ADAMW) groups |= ST_ADAMW;
  if (op_mask & ~(rows | 1u << PORTA_OP_GEMM | 1u << PORTA_OP_ADAMW)) groups |= ST_OTHER;
  return groups;
}

porta_status porta_selftest_cases(st_harness *h, unsigned groups) {
  h->rng = 20240917u; /* the same inputs on every run */
  if (groups & ST_GEMM) gemm_cases(h, h->be[0]->info.is_cpu);
  if (groups & ST_ROWS) row_cases(h);
  if (groups & ST_ADAMW) {
    case_adamw(h, 1003, 0, 0.5f); /* quads + a tail */
    case_adamw(h, 77, 1, 0.0f);   /* unaligned: no vec4 */
  }
  if (groups & ST_OTHER) other_cases(h);
  return PORTA_OK;
}
