/* Every Vulkan op against a plain host loop on the same random inputs: GEMM (tiled and naive
 * shaders) at odd sizes, all four transposes, beta 0/1, batched with strides and offsets; then
 * binary, unary (+bwd), reduce, strided copy, softmax (+bwd, mask, all -inf rows), layer norm
 * (+bwd), embedding (+deterministic bwd), dropout (Philox bit for bit), cross-entropy (+bwd),
 * AdamW and sumsq. Prints each comparison; exits 0 with a note when no Vulkan device exists. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

#ifndef PORTA_HAVE_VULKAN
int main(void) {
  printf("Vulkan backend not compiled in — skipping\n");
  return 0;
}
#else
#include "backend/philox.h"
#include "backend/vulkan/vk_internal.h"

static int failures = 0;
static porta_backend *be;
static uint64_t rng_state = 0x12345678u;

static float frand(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

#define OK(call)                                                                                   \
  do {                                                                                             \
    porta_status st_ = (call);                                                                     \
    if (st_ != PORTA_OK) {                                                                         \
      printf("FAIL %s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #call, (int)st_, be->err);          \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* A device buffer with `pad` guard elements in front (refs use offset pad) holding host[0..n). */
static void *dev(const float *host, int64_t n, int pad) {
  void *buf;
  OK(be->ops->alloc(be, (size_t)(n + pad + 1) * 4, &buf));
  OK(be->ops->fill(be, (porta_ref){buf, 0}, n + pad + 1, -777.0f));
  if (n && host) OK(be->ops->upload(be, buf, (size_t)pad * 4, host, (size_t)n * 4));
  return buf;
}

static float *get(void *buf, int64_t n, int pad) {
  float *out = malloc((size_t)n * 4 + 4);
  OK(be->ops->download(be, buf, (size_t)pad * 4, out, (size_t)n * 4));
  return out;
}

static float *randv(int64_t n) {
  float *v = malloc((size_t)n * 4 + 4);
  for (int64_t i = 0; i < n; i++) v[i] = frand();
  return v;
}

/* max |got - want| / max(1, |want|) over n; prints and counts a failure above tol. */
static void compare(const char *what, const float *got, const float *want, int64_t n, double tol) {
  double worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]) / fmax(1.0, fabs((double)want[i]));
    if (!(d <= worst)) { /* NaN counts */
      worst = isnan(d) ? INFINITY : d;
      at = i;
    }
  }
  bool ok = worst <= tol;
  printf("%-4s %-46s n=%-7lld max err %.2e (tol %.0e)", ok ? "ok" : "FAIL", what, (long long)n,
         worst, tol);
  if (!ok) printf(" at %lld: got %g want %g", (long long)at, got[at], want[at]);
  printf("\n");
  failures += !ok;
}

/* aligned: leading dimensions, batch strides and offsets multiples of 4 (the vec4 shaders' case);
 * otherwise deliberately odd. */
static void test_gemm_case(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float beta,
                           int64_t batch, const char *variant, bool aligned) {
  int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
  if (aligned) lda = ((ta ? m : k) + 3) / 4 * 4 + 4, ldb = ((tb ? k : n) + 3) / 4 * 4;
  int64_t sa = (ta ? k : m) * lda + (aligned ? 8 : 5), sb = (tb ? n : k) * ldb, sc = m * ldc + 7;
  float *A = randv(sa * batch), *B = randv(sb * batch), *C = randv(sc * batch);
  float *want = malloc((size_t)(sc * batch) * 4);
  memcpy(want, C, (size_t)(sc * batch) * 4);
  float alpha = 0.75f;
  for (int64_t z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++)
          acc += (double)A[z * sa + (ta ? p * lda + i : i * lda + p)] *
                 B[z * sb + (tb ? j * ldb + p : p * ldb + j)];
        float *c = &want[z * sc + i * ldc + j];
        *c = alpha * (float)acc + (beta == 0.0f ? 0.0f : beta * *c);
      }
  if (beta == 0.0f) /* C must not be read: poison it */
    for (int64_t i = 0; i < sc * batch; i++) C[i] = NAN;
  int pad = aligned ? 4 : 3;
  void *dA = dev(A, sa * batch, pad), *dB = dev(B, sb * batch, pad), *dC = dev(C, sc * batch, pad);
  porta_gemm_args g = {ta,  tb,  m,  n,  k,  alpha, beta, {dA, pad}, {dB, pad}, {dC, pad}, lda,
                       ldb, ldc, sa, sb, sc, batch, 1,    0,         0,         0};
  OK(be->ops->gemm(be, &g));
  float *got = get(dC, sc * batch, pad);
  /* compare only C's elements (padding between rows keeps its old values) */
  for (int64_t z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = n; j < ldc && i * ldc + j < sc; j++)
        got[z * sc + i * ldc + j] = want[z * sc + i * ldc + j] = 0;
  if (beta == 0.0f)
    for (int64_t z = 0; z < batch; z++)
      for (int64_t t = m * ldc; t < sc; t++) got[z * sc + t] = want[z * sc + t] = 0;
  char what[96];
  snprintf(what, sizeof what, "gemm %s %c%c m=%lld n=%lld k=%lld beta=%g batch=%lld", variant,
           ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)m, (long long)n, (long long)k, beta,
           (long long)batch);
  compare(what, got, want, sc * batch, 1e-4);
  float guard;
  OK(be->ops->download(be, dC, (size_t)(pad + sc * batch) * 4, &guard, 4));
  if (guard != -777.0f) {
    printf("FAIL gemm wrote past C's end (guard %g)\n", guard);
    failures++;
  }
  free(A), free(B), free(C), free(want), free(got);
  be->ops->free(be, dA), be->ops->free(be, dB), be->ops->free(be, dC);
}

static void test_gemm(void) {
  vk_backend *vb = (vk_backend *)be;
  const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 65, 33}, {65, 129, 17}, {130, 67, 70}};
  const int variants[] = {VK_GEMM_TILED, VK_GEMM_NAIVE};
  for (int v = 0; v < 2; v++) {
    vb->gemm_variant = variants[v];
    const char *name = v ? "naive" : "tiled";
    for (int s = 0; s < 5; s++)
      for (int t = 0; t < 4; t++)
        test_gemm_case(t & 1, t & 2, sizes[s][0], sizes[s][1], sizes[s][2],
                       (s + t) % 2 ? 1.0f : 0.0f, s == 2 ? 3 : 1, name, false);
  }
  /* the register-blocked shaders over storage buffers (vec) and texel buffers (texel) — NN/TN:
   * B rows as vec4; NT: A and B along k — where the operands allow them; TT falls back to tiled */
  const int64_t vsizes[][3] = {{1, 4, 4}, {3, 8, 4}, {17, 64, 36}, {65, 132, 20}, {130, 68, 72}};
  const int vvariants[2] = {VK_GEMM_VEC, VK_GEMM_TEXEL};
  for (int v = 0; v < 2; v++) {
    vb->gemm_variant = vvariants[v];
    for (int s = 0; s < 5; s++)
      for (int t = 0; t < 4; t++)
        test_gemm_case(t & 1, t & 2, vsizes[s][0], vsizes[s][1], vsizes[s][2],
                       (s + t) % 2 ? 1.0f : 0.0f, s == 2 ? 3 : 1, v ? "texel" : "vec", true);
  }
  vb->gemm_variant = VK_GEMM_AUTO;
  test_gemm_case(false, false, 64, 64, 0, 1.0f, 2, "auto", false); /* k = 0: C = beta·C */
}

static void test_elementwise(void) {
  /* binary: a [2,3,4,5] + b broadcast as [1,3,1,5] */
  int64_t shape[4] = {2, 3, 4, 5}, n = 120;
  float *a = randv(n), *b = randv(15), want[120];
  for (int op = 0; op < 4; op++) {
    for (int64_t i = 0; i < n; i++) {
      int64_t i3 = i % 5, i1 = (i / 20) % 3;
      float x = a[i], y = b[i1 * 5 + i3] + (op == 3 ? 2.0f : 0.0f);
      want[i] = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
    }
    float bb[15];
    for (int i = 0; i < 15; i++) bb[i] = b[i] + (op == 3 ? 2.0f : 0.0f);
    void *da = dev(a, n, 1), *db = dev(bb, 15, 2), *dout = dev(NULL, n, 0);
    porta_binary_args args = {op,           {dout, 0},      {da, 1},     {db, 2},
                              {2, 3, 4, 5}, {60, 20, 5, 1}, {0, 5, 0, 1}};
    memcpy(args.shape, shape, sizeof shape);
    OK(be->ops->binary(be, &args));
    float *got = get(dout, n, 0);
    const char *names[] = {"binary add (broadcast)", "binary sub", "binary mul", "binary div"};
    compare(names[op], got, want, n, 1e-6);
    free(got);
    be->ops->free(be, da), be->ops->free(be, db), be->ops->free(be, dout);
  }
  free(a), free(b);

  /* unary and unary_bwd, each op */
  n = 1000;
  float *x = randv(n), *dy = randv(n);
  for (int64_t i = 0; i < n; i++) x[i] *= 4.0f;
  void *dx_in = dev(x, n, 0), *ddy = dev(dy, n, 0), *dout = dev(NULL, n, 0);
  float *w = malloc((size_t)n * 4);
  for (int op = 0; op < 4; op++) {
    for (int64_t i = 0; i < n; i++) {
      float v = x[i];
      w[i] = op == 0   ? 1.5f * v - 0.5f
             : op == 1 ? 0.5f * v * (1.0f + erff(v / sqrtf(2.0f)))
             : op == 2 ? tanhf(v)
                       : (v > 0 ? v : 0);
    }
    porta_unary_args u = {op, {dout, 0}, {dx_in, 0}, n, 1.5f, -0.5f};
    OK(be->ops->unary(be, &u));
    float *got = get(dout, n, 0);
    const char *names[] = {"unary scale", "unary gelu", "unary tanh", "unary relu"};
    compare(names[op], got, w, n, 2e-6);
    free(got);
    /* backward: for tanh the saved value is y */
    float *saved = op == 2 ? w : x;
    void *dsaved = dev(saved, n, 0);
    float *wb = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
      float v = saved[i];
      wb[i] = op == 0   ? 1.5f * dy[i]
              : op == 1 ? dy[i] * (0.5f * (1.0f + erff(v / sqrtf(2.0f))) +
                                   v * expf(-0.5f * v * v) * 0.3989422804f)
              : op == 2 ? dy[i] * (1.0f - v * v)
                        : (v > 0 ? dy[i] : 0);
    }
    porta_unary_bwd_args ub = {op, {dout, 0}, {dsaved, 0}, {ddy, 0}, n, 1.5f};
    OK(be->ops->unary_bwd(be, &ub));
    got = get(dout, n, 0);
    const char *bnames[] = {"unary_bwd scale", "unary_bwd gelu", "unary_bwd tanh",
                            "unary_bwd relu"};
    compare(bnames[op], got, wb, n, 2e-6);
    free(got), free(wb);
    be->ops->free(be, dsaved);
  }
  free(x), free(dy), free(w);
  be->ops->free(be, dx_in), be->ops->free(be, ddy), be->ops->free(be, dout);
}

static void test_reduce_copy(void) {
  /* x [4, 33, 5, 3]: reduce dims 1 and 3 (per-group path: 99 each), then dim 1 only (per-thread) */
  int64_t n = 4 * 33 * 5 * 3;
  float *x = randv(n);
  void *dx = dev(x, n, 0);
  for (int pass = 0; pass < 2; pass++) {
    float out0[20] = {0}, want[20];
    for (int i = 0; i < 20; i++) out0[i] = frand();
    int64_t nout = pass == 0 ? 20 : 60;
    float *o = randv(nout), *wv = malloc((size_t)nout * 4);
    (void)out0;
    for (int64_t i = 0; i < nout; i++) wv[i] = 0.25f * o[i];
    for (int64_t i0 = 0; i0 < 4; i0++)
      for (int64_t i1 = 0; i1 < 33; i1++)
        for (int64_t i2 = 0; i2 < 5; i2++)
          for (int64_t i3 = 0; i3 < 3; i3++) {
            int64_t oi = pass == 0 ? i0 * 5 + i2 : i0 * 15 + i2 * 3 + i3;
            wv[oi] += 2.0f * x[((i0 * 33 + i1) * 5 + i2) * 3 + i3];
          }
    (void)want;
    void *dout = dev(o, nout, 1);
    porta_reduce_args r = {{dout, 1},
                           {dx, 0},
                           {4, 33, 5, 3},
                           {495, 15, 3, 1},
                           {pass == 0 ? 5 : 15, 0, pass == 0 ? 1 : 3, pass == 0 ? 0 : 1},
                           2.0f,
                           0.25f};
    OK(be->ops->reduce(be, &r));
    float *got = get(dout, nout, 1);
    compare(pass == 0 ? "reduce dims 1,3 (group per output)" : "reduce dim 1 (thread per output)",
            got, wv, nout, 1e-5);
    free(got), free(o), free(wv);
    be->ops->free(be, dout);
  }
  /* copy_strided: permute [4,33,5,3] -> [5,4,3,33] and accumulate */
  float *o = randv(n), *wv = malloc((size_t)n * 4);
  memcpy(wv, o, (size_t)n * 4);
  for (int64_t i0 = 0; i0 < 4; i0++)
    for (int64_t i1 = 0; i1 < 33; i1++)
      for (int64_t i2 = 0; i2 < 5; i2++)
        for (int64_t i3 = 0; i3 < 3; i3++)
          wv[((i2 * 4 + i0) * 3 + i3) * 33 + i1] += x[((i0 * 33 + i1) * 5 + i2) * 3 + i3];
  void *dout = dev(o, n, 0);
  porta_copy_args c = {{dout, 0}, {dx, 0}, {4, 33, 5, 3}, {99, 1, 396, 33}, {495, 15, 3, 1}, true};
  OK(be->ops->copy_strided(be, &c));
  float *got = get(dout, n, 0);
  compare("copy_strided permute + accumulate", got, wv, n, 1e-6);
  free(got), free(o), free(wv), free(x);
  be->ops->free(be, dout), be->ops->free(be, dx);
}

static void test_rows(void) {
  /* softmax with mask (mask_div 3), one all -inf row; then backward */
  int64_t rows = 6, n = 65;
  float *x = randv(rows * n), *mask = calloc((size_t)(2 * n), 4),
        *y = malloc((size_t)(rows * n) * 4);
  for (int64_t j = 0; j < n; j++) mask[j] = j % 4 == 0 ? -INFINITY : 0.0f;
  for (int64_t j = 0; j < n; j++) mask[n + j] = -INFINITY;
  for (int64_t r = 0; r < rows; r++) {
    float mx = -INFINITY, s = 0;
    float *m = &mask[(r / 3) * n];
    for (int64_t j = 0; j < n; j++) mx = fmaxf(mx, 0.5f * x[r * n + j] + m[j]);
    for (int64_t j = 0; j < n; j++) s += expf(0.5f * x[r * n + j] + m[j] - mx);
    for (int64_t j = 0; j < n; j++)
      y[r * n + j] = isinf(mx) ? 0.0f : expf(0.5f * x[r * n + j] + m[j] - mx) / s;
  }
  void *dx = dev(x, rows * n, 2), *dm = dev(mask, 2 * n, 1), *dy = dev(NULL, rows * n, 0);
  porta_softmax_args sa = {{dy, 0}, {dx, 2}, {dm, 1}, rows, n, 3, 0.5f};
  OK(be->ops->softmax(be, &sa));
  float *got = get(dy, rows * n, 0);
  compare("softmax (mask, -inf rows)", got, y, rows * n, 1e-6);
  free(got);
  float *g = randv(rows * n), *wdx = malloc((size_t)(rows * n) * 4);
  for (int64_t r = 0; r < rows; r++) {
    float d = 0;
    for (int64_t j = 0; j < n; j++) d += g[r * n + j] * y[r * n + j];
    for (int64_t j = 0; j < n; j++) wdx[r * n + j] = 0.5f * y[r * n + j] * (g[r * n + j] - d);
  }
  void *dg = dev(g, rows * n, 0);
  porta_softmax_bwd_args sb = {{dg, 0}, {dy, 0}, {dg, 0}, rows, n, 0.5f}; /* dx aliases dy */
  OK(be->ops->softmax_bwd(be, &sb));
  got = get(dg, rows * n, 0);
  compare("softmax_bwd (in place)", got, wdx, rows * n, 1e-6);
  free(got), free(g), free(wdx), free(mask);
  be->ops->free(be, dg), be->ops->free(be, dm), be->ops->free(be, dy);

  /* layer norm forward + backward, rows of 129 */
  n = 129;
  float *gamma = randv(n), *beta = randv(n), *wy = malloc((size_t)(rows * n) * 4);
  float wmean[6], wrstd[6];
  free(x);
  x = randv(rows * n);
  for (int64_t r = 0; r < rows; r++) {
    double s = 0, v = 0;
    for (int64_t j = 0; j < n; j++) s += x[r * n + j];
    float mean = (float)(s / n);
    for (int64_t j = 0; j < n; j++)
      v += ((double)x[r * n + j] - mean) * ((double)x[r * n + j] - mean);
    float rstd = (float)(1.0 / sqrt(v / n + 1e-5));
    wmean[r] = mean, wrstd[r] = rstd;
    for (int64_t j = 0; j < n; j++)
      wy[r * n + j] = (x[r * n + j] - mean) * rstd * gamma[j] + beta[j];
  }
  be->ops->free(be, dx);
  dx = dev(x, rows * n, 0);
  void *dgam = dev(gamma, n, 0), *dbet = dev(beta, n, 0), *dyy = dev(NULL, rows * n, 0);
  void *dmean = dev(NULL, rows, 0), *drstd = dev(NULL, rows, 0);
  porta_layernorm_args la = {{dyy, 0},  {dmean, 0}, {drstd, 0}, {dx, 0}, {dgam, 0},
                             {dbet, 0}, rows,       n,          1e-5f};
  OK(be->ops->layernorm(be, &la));
  got = get(dyy, rows * n, 0);
  compare("layernorm y", got, wy, rows * n, 1e-5);
  free(got);
  got = get(drstd, rows, 0);
  compare("layernorm rstd", got, wrstd, rows, 1e-5);
  free(got);
  got = get(dmean, rows, 0);
  compare("layernorm mean", got, wmean, rows, 1e-6);
  free(got);
  float *gy = randv(rows * n), *wdxx = malloc((size_t)(rows * n) * 4);
  float *wdg = randv(n), *wdb = randv(n);
  void *ddg = dev(wdg, n, 0), *ddb = dev(wdb, n, 0), *dgy = dev(gy, rows * n, 0);
  for (int64_t r = 0; r < rows; r++) {
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < n; j++) {
      float xh = (x[r * n + j] - wmean[r]) * wrstd[r], gg = gy[r * n + j] * gamma[j];
      sg += gg, sgx += gg * xh;
      wdg[j] += gy[r * n + j] * xh;
      wdb[j] += gy[r * n + j];
    }
    for (int64_t j = 0; j < n; j++) {
      float xh = (x[r * n + j] - wmean[r]) * wrstd[r], gg = gy[r * n + j] * gamma[j];
      wdxx[r * n + j] = wrstd[r] * (gg - (float)(sg / n) - xh * (float)(sgx / n));
    }
  }
  porta_layernorm_bwd_args lb = {{dyy, 0},   {ddg, 0},   {ddb, 0},  {dgy, 0}, {dx, 0},
                                 {dmean, 0}, {drstd, 0}, {dgam, 0}, rows,     n};
  OK(be->ops->layernorm_bwd(be, &lb));
  got = get(dyy, rows * n, 0);
  compare("layernorm_bwd dx", got, wdxx, rows * n, 1e-5);
  free(got);
  got = get(ddg, n, 0);
  compare("layernorm_bwd dgamma (+=)", got, wdg, n, 1e-5);
  free(got);
  got = get(ddb, n, 0);
  compare("layernorm_bwd dbeta (+=)", got, wdb, n, 1e-5);
  free(got);
  free(x), free(y), free(gamma), free(beta), free(wy), free(gy), free(wdxx), free(wdg), free(wdb);
  void *bufs[] = {dx, dgam, dbet, dyy, dmean, drstd, ddg, ddb, dgy};
  for (int i = 0; i < 9; i++) be->ops->free(be, bufs[i]);
}

static void test_misc(void) {
  /* embedding + backward with repeated and invalid ids */
  int64_t vocab = 17, dim = 33, nid = 40;
  float *table = randv(vocab * dim), *dout = randv(nid * dim);
  int32_t ids[40];
  for (int i = 0; i < 40; i++) ids[i] = i % 9 == 8 ? (i % 2 ? -1 : 17) : (i * 7) % 5;
  float *wout = malloc((size_t)(nid * dim) * 4), *wtab = malloc((size_t)(vocab * dim) * 4);
  memcpy(wtab, table, (size_t)(vocab * dim) * 4);
  for (int64_t t = 0; t < nid; t++)
    for (int64_t d = 0; d < dim; d++) {
      bool ok = ids[t] >= 0 && ids[t] < vocab;
      wout[t * dim + d] = ok ? table[ids[t] * dim + d] : 0.0f;
      if (ok) wtab[ids[t] * dim + d] += dout[t * dim + d];
    }
  void *dt = dev(table, vocab * dim, 0), *dids = dev((const float *)ids, nid, 1);
  void *dout_d = dev(dout, nid * dim, 0), *demb = dev(NULL, nid * dim, 0);
  porta_embedding_args ea = {{demb, 0}, {dt, 0}, {dids, 1}, nid, dim, vocab};
  OK(be->ops->embedding(be, &ea));
  float *got = get(demb, nid * dim, 0);
  compare("embedding (invalid ids -> 0)", got, wout, nid * dim, 0);
  free(got);
  porta_embedding_bwd_args eb = {{dt, 0}, {dout_d, 0}, {dids, 1}, nid, dim, vocab};
  OK(be->ops->embedding_bwd(be, &eb));
  got = get(dt, vocab * dim, 0);
  compare("embedding_bwd (repeats, token order: exact)", got, wtab, vocab * dim, 0);
  free(got), free(table), free(dout), free(wout), free(wtab);
  be->ops->free(be, dt), be->ops->free(be, dids), be->ops->free(be, dout_d),
      be->ops->free(be, demb);

  /* dropout: the Philox mask, bit for bit */
  int64_t n = 5000;
  float *x = randv(n), *w = malloc((size_t)n * 4);
  uint64_t seed = 0x1234567890abcdefull, stream = 0xfedcba9876543210ull;
  uint64_t base = 0xfffffe00ull; /* a batch shard's counters, crossing 2^32 */
  float p = 0.1f, scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; i++)
    w[i] = x[i] * (porta_philox_uniform(seed, stream, base + (uint64_t)i) >= p ? scale : 0.0f);
  void *dx = dev(x, n, 0);
  porta_dropout_args da = {{dx, 0}, {dx, 0}, n, p, seed, stream, base};
  OK(be->ops->dropout(be, &da));
  got = get(dx, n, 0);
  compare("dropout (philox, in place): exact", got, w, n, 0);
  free(got), free(x), free(w);
  be->ops->free(be, dx);

  /* cross-entropy forward + backward, one invalid label */
  int64_t batch = 5, classes = 7;
  float *logits = randv(batch * classes), *wp = malloc((size_t)(batch * classes) * 4);
  int32_t labels[5] = {0, 6, 3, -100, 2};
  double loss = 0;
  int valid = 0;
  for (int64_t b = 0; b < batch; b++) {
    float mx = -INFINITY, s = 0;
    for (int64_t c = 0; c < classes; c++) mx = fmaxf(mx, logits[b * classes + c]);
    for (int64_t c = 0; c < classes; c++) s += expf(logits[b * classes + c] - mx);
    for (int64_t c = 0; c < classes; c++)
      wp[b * classes + c] = expf(logits[b * classes + c] - mx) / s;
    if (labels[b] >= 0 && labels[b] < classes) {
      loss -= log(wp[b * classes + labels[b]]);
      valid++;
    }
  }
  float wloss = (float)(loss / valid);
  void *dl = dev(logits, batch * classes, 0), *dlab = dev((const float *)labels, batch, 0);
  void *dprobs = dev(NULL, batch * classes, 0), *dloss = dev(NULL, 1, 0);
  porta_cross_entropy_args ca = {{dloss, 0}, {dprobs, 0}, {dl, 0}, {dlab, 0}, batch, classes};
  OK(be->ops->cross_entropy(be, &ca));
  got = get(dprobs, batch * classes, 0);
  compare("cross_entropy probs", got, wp, batch * classes, 1e-6);
  free(got);
  got = get(dloss, 1, 0);
  compare("cross_entropy loss", got, &wloss, 1, 1e-5);
  free(got);
  float two = 2.0f, *wd = malloc((size_t)(batch * classes) * 4);
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < classes; c++) {
      bool ok = labels[b] >= 0 && labels[b] < classes;
      wd[b * classes + c] = ok ? two * (wp[b * classes + c] - (c == labels[b])) / valid : 0.0f;
    }
  void *dtwo = dev(&two, 1, 0);
  porta_cross_entropy_bwd_args cb = {{dl, 0}, {dprobs, 0}, {dlab, 0}, {dtwo, 0}, batch, classes};
  OK(be->ops->cross_entropy_bwd(be, &cb));
  got = get(dl, batch * classes, 0);
  compare("cross_entropy_bwd", got, wd, batch * classes, 1e-6);
  free(got), free(logits), free(wp), free(wd);
  void *cbufs[] = {dl, dlab, dprobs, dloss, dtwo};
  for (int i = 0; i < 5; i++) be->ops->free(be, cbufs[i]);

  /* AdamW */
  n = 777;
  float *pp = randv(n), *gg = randv(n), *mm = randv(n), *vv = randv(n);
  for (int64_t i = 0; i < n; i++) vv[i] = fabsf(vv[i]);
  void *dp = dev(pp, n, 0), *dg = dev(gg, n, 0), *dm = dev(mm, n, 0), *dv = dev(vv, n, 0);
  porta_adamw_args aa = {{dp, 0},
                         {dg, 0},
                         {dm, 0},
                         {dv, 0},
                         n,
                         1e-3f,
                         0.9f,
                         0.999f,
                         1e-8f,
                         0.01f,
                         1.0f - 0.9f * 0.9f * 0.9f,
                         1.0f - 0.999f * 0.999f * 0.999f,
                         1.0f};
  for (int64_t i = 0; i < n; i++) {
    pp[i] -= aa.lr * aa.weight_decay * pp[i];
    mm[i] = aa.beta1 * mm[i] + (1 - aa.beta1) * gg[i];
    vv[i] = aa.beta2 * vv[i] + (1 - aa.beta2) * gg[i] * gg[i];
    pp[i] -= (aa.lr / aa.bias_correction1) * mm[i] /
             (sqrtf(vv[i]) / sqrtf(aa.bias_correction2) + aa.eps);
  }
  OK(be->ops->adamw(be, &aa));
  got = get(dp, n, 0);
  compare("adamw param", got, pp, n, 1e-6);
  free(got);
  got = get(dv, n, 0);
  compare("adamw v", got, vv, n, 1e-6);
  free(got);

  /* sumsq, accumulating onto 1.5 */
  float one5 = 1.5f, wsum = 1.5f;
  for (int64_t i = 0; i < n; i++) wsum += gg[i] * gg[i];
  void *dsum = dev(&one5, 1, 0);
  porta_sumsq_args sa = {{dsum, 0}, {dg, 0}, n, true};
  OK(be->ops->sumsq(be, &sa));
  got = get(dsum, 1, 0);
  compare("sumsq (accumulate)", got, &wsum, 1, 1e-5);
  free(got), free(pp), free(gg), free(mm), free(vv);
  void *abufs[] = {dp, dg, dm, dv, dsum};
  for (int i = 0; i < 5; i++) be->ops->free(be, abufs[i]);
}

int main(void) {
  char err[1024] = "";
  porta_status st = porta_vulkan_backend_create(&be, 0, err, sizeof err);
  if (st == PORTA_ERR_NO_DEVICE) {
    printf("no Vulkan device: %s — skipping\n", err);
    return 0;
  }
  if (st != PORTA_OK) {
    printf("FAIL: porta_vulkan_backend_create: %d %s\n", (int)st, err);
    return 1;
  }
  printf("Vulkan ops on %s\n", be->info.name);
  test_gemm();
  test_elementwise();
  test_reduce_copy();
  test_rows();
  test_misc();
  st = be->ops->synchronize(be);
  if (st != PORTA_OK) {
    printf("FAIL synchronize: %s\n", be->err);
    failures++;
  }
  int verrors = porta_vulkan_validation_errors(be);
  be->ops->destroy(be);
  if (verrors) {
    printf("FAIL: %d validation error(s)\n", verrors);
    failures++;
  }
  printf(failures ? "FAILED: %d comparison(s)\n" : "all Vulkan op comparisons passed\n", failures);
  return failures ? 1 : 0;
}
#endif /* PORTA_HAVE_VULKAN */
