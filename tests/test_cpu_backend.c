/* The CPU backend against direct formulas on tiny hand-checkable inputs (one or more values per
 * op), GELU against double erfc over [-14, 14], the reference GEMM against cblas over odd shapes,
 * bitwise equality of 1 and 4 threads for every op family (GEMM included), the error paths (huge
 * allocation, bad arguments), profiling, and a self-test of the conformance harness (it must catch
 * out-of-bounds writes, modified inputs, wrong values). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/philox.h"
#include "helpers/check.h"
#include "helpers/op_harness.h"

/* ---- small helpers: host arrays in and out of device buffers -------------------------------- */

typedef struct dev {
  porta_backend *be;
  void *bufs[64];
  int count;
} dev;

/* A buffer holding host[0..n) at element offset off (garbage before it). */
static porta_ref put(dev *d, const float *host, size_t n, size_t off) {
  void *buf = NULL;
  if (d->be->ops->alloc(d->be, (n + off + 1) * 4, &buf) != PORTA_OK || d->count == 64) {
    printf("alloc failed: %s\n", d->be->err);
    exit(1);
  }
  d->bufs[d->count++] = buf;
  if (host) d->be->ops->upload(d->be, buf, off * 4, host, n * 4);
  return (porta_ref){buf, off};
}

static porta_ref put_i32(dev *d, const int32_t *host, size_t n) {
  porta_ref r = put(d, NULL, n, 0);
  d->be->ops->upload(d->be, r.buf, 0, host, n * 4);
  return r;
}

/* An output buffer of n NaNs (an op that reads it before writing would spread them). */
static porta_ref put_nan(dev *d, size_t n, size_t off) {
  float *nan_host = malloc(n * 4 + 4);
  for (size_t i = 0; i < n; i++) nan_host[i] = NAN;
  porta_ref r = put(d, nan_host, n, off);
  free(nan_host);
  return r;
}

static void get(dev *d, porta_ref r, float *host, size_t n) {
  d->be->ops->download(d->be, r.buf, r.off * 4, host, n * 4);
}

static void release(dev *d) {
  for (int i = 0; i < d->count; i++) d->be->ops->free(d->be, d->bufs[i]);
  d->count = 0;
}

#define TOL 1e-6

/* ---- ops against hand-computed values ------------------------------------------------------ */

static void hand_gemm(check_counter *c, porta_backend *be, const char *mode) {
  dev d = {.be = be};
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, ones[] = {1, 1, 1, 1};
  char what[128];
  /* A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ of A = [1 2; 3 4], B = [5 6; 7 8] */
  const float want[4][4] = {{19, 22, 43, 50}, {26, 30, 38, 44}, {17, 23, 39, 53}, {23, 31, 34, 46}};
  for (int t = 0; t < 4; t++) {
    porta_ref ra = put(&d, a, 4, 1), rb = put(&d, b, 4, 2), rc = put_nan(&d, 4, 3);
    porta_gemm_args g = {.trans_a = t & 1,
                         .trans_b = t >> 1,
                         .m = 2,
                         .n = 2,
                         .k = 2,
                         .alpha = 1,
                         .beta = 0,
                         .a = ra,
                         .b = rb,
                         .c = rc,
                         .lda = 2,
                         .ldb = 2,
                         .ldc = 2,
                         .batch = 1};
    porta_status st = be->ops->gemm(be, &g);
    float got[4];
    get(&d, rc, got, 4);
    snprintf(what, sizeof what, "%s gemm tA=%d tB=%d 2x2 (beta 0 over NaN, status %d)", mode, t & 1,
             t >> 1, (int)st);
    check_close(c, what, got, want[t], 4, TOL);
  }
  /* alpha = 2, beta = 1 onto ones; batch 2 with B shared (stride 0). */
  float a2[8] = {1, 2, 3, 4, 0, 1, 1, 0}, c2[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  porta_ref ra = put(&d, a2, 8, 0), rb = put(&d, b, 4, 0), rc = put(&d, c2, 8, 0);
  porta_gemm_args g = {.m = 2,
                       .n = 2,
                       .k = 2,
                       .alpha = 2,
                       .beta = 1,
                       .a = ra,
                       .b = rb,
                       .c = rc,
                       .lda = 2,
                       .ldb = 2,
                       .ldc = 2,
                       .stride_a = 4,
                       .stride_b = 0,
                       .stride_c = 4,
                       .batch = 2};
  be->ops->gemm(be, &g);
  float got[8];
  get(&d, rc, got, 8);
  /* batch 1: [0 1; 1 0]·B = [7 8; 5 6] */
  const float want2[8] = {39, 45, 87, 101, 15, 17, 11, 13};
  snprintf(what, sizeof what, "%s gemm alpha=2 beta=1 batch=2 strideB=0", mode);
  check_close(c, what, got, want2, 8, TOL);
  (void)ones;
  release(&d);
}

static void hand_elementwise(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  /* binary: [1 2 3] op [10] broadcast */
  const float x[] = {1, 2, 3}, ten[] = {10};
  const float want_bin[4][3] = {{11, 12, 13}, {-9, -8, -7}, {10, 20, 30}, {0.1f, 0.2f, 0.3f}};
  for (int op = 0; op < 4; op++) {
    porta_ref out = put_nan(&d, 3, 2);
    porta_binary_args b = {.op = (porta_binary_op)op,
                           .out = out,
                           .a = put(&d, x, 3, 1),
                           .b = put(&d, ten, 1, 4),
                           .shape = {1, 1, 1, 3},
                           .a_stride = {0, 0, 0, 1},
                           .b_stride = {0, 0, 0, 0}};
    be->ops->binary(be, &b);
    float got[3];
    get(&d, out, got, 3);
    char what[64];
    snprintf(what, sizeof what, "binary op %d [1 2 3] with broadcast [10]", op);
    check_close(c, what, got, want_bin[op], 3, TOL);
  }
  /* unary: scale 2x + 1, GELU (erf), tanh, relu */
  const float ux[] = {1, -1, 0.5f, -2};
  const float want_un[4][4] = {{3, -1, 2, -3},
                               {0.8413447461f, -0.1586552539f, 0.3457312306f, -0.0455002639f},
                               {0.7615941560f, -0.7615941560f, 0.4621171573f, -0.9640275801f},
                               {1, 0, 0.5f, 0}};
  for (int op = 0; op < 4; op++) {
    porta_ref out = put_nan(&d, 4, 0);
    porta_unary_args u = {.op = (porta_unary_op)op,
                          .out = out,
                          .x = put(&d, ux, 4, 3),
                          .n = 4,
                          .alpha = 2,
                          .beta = 1};
    be->ops->unary(be, &u);
    float got[4];
    get(&d, out, got, 4);
    char what[64];
    snprintf(what, sizeof what, "unary op %d of [1 -1 0.5 -2]", op);
    check_close(c, what, got, want_un[op], 4, 1e-6);
  }
  /* unary_bwd with dy = 2: scale α·dy, GELU' = Φ(x) + x φ(x), tanh' from y, relu' */
  const float dy[] = {2, 2, 2, 2}, ys[] = {0.5f, -0.5f, 0, 1};
  const float want_bwd[4][4] = {
      {4, 4, 4, 4},
      {2 * 1.0833154706f, 2 * -0.0833154706f, 2 * 0.8674951247f, 2 * -0.0852318011f},
      {1.5f, 1.5f, 2, 0},
      {2, 0, 2, 0}};
  for (int op = 0; op < 4; op++) {
    porta_ref dx = put_nan(&d, 4, 1);
    porta_unary_bwd_args u = {.op = (porta_unary_op)op,
                              .dx = dx,
                              .x = put(&d, op == PORTA_UNARY_TANH ? ys : ux, 4, 0),
                              .dy = put(&d, dy, 4, 2),
                              .n = 4,
                              .alpha = 2};
    be->ops->unary_bwd(be, &u);
    float got[4];
    get(&d, dx, got, 4);
    char what[64];
    snprintf(what, sizeof what, "unary_bwd op %d", op);
    check_close(c, what, got, want_bwd[op], 4, 1e-6);
  }
  /* reduce x = [1 2 3; 4 5 6]: over rows, over columns, over all (alpha 0.5, beta 1 onto 1) */
  const float m23[] = {1, 2, 3, 4, 5, 6}, one[] = {1};
  porta_ref rx = put(&d, m23, 6, 5);
  porta_ref cols = put_nan(&d, 3, 0), rows = put_nan(&d, 2, 0), all = put(&d, one, 1, 0);
  porta_reduce_args r1 = {.out = cols,
                          .x = rx,
                          .shape = {1, 1, 2, 3},
                          .x_stride = {0, 0, 3, 1},
                          .out_stride = {0, 0, 0, 1},
                          .alpha = 1,
                          .beta = 0};
  porta_reduce_args r2 = {.out = rows,
                          .x = rx,
                          .shape = {1, 1, 2, 3},
                          .x_stride = {0, 0, 3, 1},
                          .out_stride = {0, 0, 1, 0},
                          .alpha = 1,
                          .beta = 0};
  porta_reduce_args r3 = {.out = all,
                          .x = rx,
                          .shape = {1, 1, 2, 3},
                          .x_stride = {0, 0, 3, 1},
                          .out_stride = {0, 0, 0, 0},
                          .alpha = 0.5f,
                          .beta = 1};
  be->ops->reduce(be, &r1);
  be->ops->reduce(be, &r2);
  be->ops->reduce(be, &r3);
  float got[6];
  get(&d, cols, got, 3);
  check_close(c, "reduce [1 2 3; 4 5 6] over rows = [5 7 9]", got, (float[]){5, 7, 9}, 3, TOL);
  get(&d, rows, got, 2);
  check_close(c, "reduce over columns = [6 15]", got, (float[]){6, 15}, 2, TOL);
  get(&d, all, got, 1);
  check_close(c, "reduce all, alpha 0.5 beta 1 onto 1 = 11.5", got, (float[]){11.5f}, 1, TOL);
  /* copy_strided: transpose [2,3] -> [3,2], then accumulate it once more */
  porta_ref tr = put_nan(&d, 6, 1);
  porta_copy_args cp = {.out = tr,
                        .x = rx,
                        .shape = {1, 1, 3, 2},
                        .out_stride = {0, 0, 2, 1},
                        .x_stride = {0, 0, 1, 3}};
  be->ops->copy_strided(be, &cp);
  get(&d, tr, got, 6);
  check_close(c, "copy_strided transpose", got, (float[]){1, 4, 2, 5, 3, 6}, 6, 0);
  cp.accumulate = true;
  be->ops->copy_strided(be, &cp);
  get(&d, tr, got, 6);
  check_close(c, "copy_strided transpose accumulate", got, (float[]){2, 8, 4, 10, 6, 12}, 6, 0);
  /* fill, copy, sumsq */
  porta_ref f = put_nan(&d, 5, 2);
  be->ops->fill(be, (porta_ref){f.buf, 3}, 3, 2.5f);
  get(&d, f, got, 5);
  check_true(c, isnan(got[0]) && got[1] == 2.5f && got[3] == 2.5f && isnan(got[4]),
             "fill writes exactly elements [1, 4) of the view");
  be->ops->copy(be, f.buf, 2 * 4, rx.buf, 5 * 4, 2 * 4);
  get(&d, f, got, 2);
  check_true(c, got[0] == 1 && got[1] == 2, "copy 2 elements at byte offsets 8 <- 20");
  porta_ref sq = put(&d, one, 1, 3);
  porta_sumsq_args s = {.out = sq, .x = rx, .n = 3, .accumulate = true};
  be->ops->sumsq(be, &s);
  get(&d, sq, got, 1);
  check_close(c, "sumsq [1 2 3] accumulated onto 1 = 15", got, (float[]){15}, 1, TOL);
  release(&d);
}

static void hand_nn(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  float got[8];
  /* softmax [1 2 3]; with the last column masked; a fully masked row; scale 2 */
  const float x[] = {1, 2, 3, 0.5f, 1, 1.5f, 1, 2, 3};
  const float mask[] = {0, 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  porta_ref y = put_nan(&d, 9, 0);
  porta_softmax_args sm = {.y = y, .x = put(&d, x, 9, 1), .rows = 3, .n = 3, .scale = 1};
  be->ops->softmax(be, &sm);
  get(&d, y, got, 3);
  check_close(c, "softmax [1 2 3]", got, (float[]){0.0900305732f, 0.2447284711f, 0.6652409558f}, 3,
              TOL);
  sm.scale = 2;
  be->ops->softmax(be, &sm);
  get(&d, (porta_ref){y.buf, 3}, got, 3);
  check_close(c, "softmax 2·[0.5 1 1.5]", got,
              (float[]){0.0900305732f, 0.2447284711f, 0.6652409558f}, 3, TOL);
  /* mask_div 2: rows 0 and 1 share mask row 0, row 2 gets the fully masked mask row 1 */
  sm.scale = 1;
  sm.mask = put(&d, mask, 6, 2);
  sm.mask_div = 2;
  be->ops->softmax(be, &sm);
  float all[9];
  get(&d, y, all, 9);
  check_close(c, "softmax [1 2 -inf]", all, (float[]){0.2689414214f, 0.7310585786f, 0}, 3, TOL);
  check_close(c, "softmax fully masked row = zeros", all + 6, (float[]){0, 0, 0}, 3, 0);
  /* softmax_bwd: y = [0.5 0.5], dy = [1 0] -> dx = [0.25 -0.25] (scale 1), doubled (scale 2) */
  porta_ref dx = put_nan(&d, 2, 0);
  porta_softmax_bwd_args sb = {.dx = dx,
                               .y = put(&d, (float[]){0.5f, 0.5f}, 2, 0),
                               .dy = put(&d, (float[]){1, 0}, 2, 1),
                               .rows = 1,
                               .n = 2,
                               .scale = 2};
  be->ops->softmax_bwd(be, &sb);
  get(&d, dx, got, 2);
  check_close(c, "softmax_bwd y=[.5 .5] dy=[1 0] scale 2", got, (float[]){0.5f, -0.5f}, 2, TOL);
  /* layernorm [1 2 3 4]: mean 2.5, var 1.25; gamma 2, beta 1 */
  porta_ref ly = put_nan(&d, 4, 0), lm = put_nan(&d, 1, 0), ls = put_nan(&d, 1, 0);
  porta_ref lx = put(&d, (float[]){1, 2, 3, 4}, 4, 3);
  porta_ref gamma = put(&d, (float[]){2, 2, 2, 2}, 4, 0),
            beta = put(&d, (float[]){1, 1, 1, 1}, 4, 0);
  porta_layernorm_args ln = {.y = ly,
                             .mean = lm,
                             .rstd = ls,
                             .x = lx,
                             .gamma = gamma,
                             .beta = beta,
                             .rows = 1,
                             .n = 4,
                             .eps = 0};
  be->ops->layernorm(be, &ln);
  float rstd = 1.0f / sqrtf(1.25f);
  get(&d, ly, got, 4);
  check_close(c, "layernorm [1 2 3 4] gamma 2 beta 1", got,
              (float[]){1 - 3 * rstd, 1 - rstd, 1 + rstd, 1 + 3 * rstd}, 4, TOL);
  get(&d, lm, got, 1);
  get(&d, ls, got + 1, 1);
  check_close(c, "layernorm mean 2.5, rstd 1/sqrt(1.25)", got, (float[]){2.5f, rstd}, 2, TOL);
  /* layernorm_bwd, dy = [1 0 0 0]: dx = rstd·(g - mean(g) - norm·mean(g·norm)), g = gamma·dy */
  porta_ref ldx = put_nan(&d, 4, 0);
  porta_ref dg = put(&d, (float[]){1, 1, 1, 1}, 4, 0), db = put(&d, (float[]){0, 0, 0, 0}, 4, 0);
  porta_layernorm_bwd_args lb = {.dx = ldx,
                                 .dgamma = dg,
                                 .dbeta = db,
                                 .dy = put(&d, (float[]){1, 0, 0, 0}, 4, 0),
                                 .x = lx,
                                 .mean = lm,
                                 .rstd = ls,
                                 .gamma = gamma,
                                 .rows = 1,
                                 .n = 4};
  be->ops->layernorm_bwd(be, &lb);
  float norm0 = -1.5f * rstd, want_dx[4];
  for (int j = 0; j < 4; j++) {
    float norm = (j + 1 - 2.5f) * rstd;
    want_dx[j] = rstd * ((j == 0 ? 2.0f : 0.0f) - 0.5f - norm * (2.0f * norm0 / 4));
  }
  get(&d, ldx, got, 4);
  check_close(c, "layernorm_bwd dx for dy = e0", got, want_dx, 4, TOL);
  get(&d, dg, got, 4);
  get(&d, db, got + 4, 4);
  check_close(c, "layernorm_bwd dgamma += norm·dy, dbeta += dy", got,
              (float[]){1 + norm0, 1, 1, 1, 1, 0, 0, 0}, 8, TOL);
  /* embedding: table 3x2, ids [2 0 -1 3] (the last two out of range) */
  porta_ref table = put(&d, (float[]){1, 2, 3, 4, 5, 6}, 6, 1);
  porta_ref ids = put_i32(&d, (int32_t[]){2, 0, -1, 3}, 4);
  porta_ref eo = put_nan(&d, 8, 0);
  porta_embedding_args em = {
      .out = eo, .table = table, .ids = ids, .n_ids = 4, .dim = 2, .vocab = 3};
  be->ops->embedding(be, &em);
  get(&d, eo, got, 8);
  check_close(c, "embedding ids [2 0 -1 3]", got, (float[]){5, 6, 1, 2, 0, 0, 0, 0}, 8, 0);
  porta_embedding_bwd_args eb = {.dtable = table,
                                 .dout = put(&d, (float[]){1, 2, 3, 4, 5, 6, 7, 8}, 8, 0),
                                 .ids = put_i32(&d, (int32_t[]){1, 1, 7, 0}, 4),
                                 .n_ids = 4,
                                 .dim = 2,
                                 .vocab = 3};
  be->ops->embedding_bwd(be, &eb);
  get(&d, table, got, 6);
  check_close(c, "embedding_bwd ids [1 1 7 0] (repeat, out of range)", got,
              (float[]){1 + 7, 2 + 8, 3 + 1 + 3, 4 + 2 + 4, 5, 6}, 6, 0);
  release(&d);
}

static void hand_loss_optim(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  float got[4];
  /* logits [0 0; ln3 0], labels [0 0]: probs [.5 .5; .75 .25], loss (ln 2 - ln .75) / 2 */
  porta_ref loss = put_nan(&d, 1, 0), probs = put_nan(&d, 4, 1);
  porta_ref logits = put(&d, (float[]){0, 0, logf(3), 0}, 4, 2);
  porta_cross_entropy_args ce = {.loss = loss,
                                 .probs = probs,
                                 .logits = logits,
                                 .labels = put_i32(&d, (int32_t[]){0, 0}, 2),
                                 .batch = 2,
                                 .classes = 2};
  be->ops->cross_entropy(be, &ce);
  get(&d, probs, got, 4);
  check_close(c, "cross_entropy probs", got, (float[]){0.5f, 0.5f, 0.75f, 0.25f}, 4, TOL);
  get(&d, loss, got, 1);
  check_close(c, "cross_entropy loss (ln2 - ln.75)/2", got, (float[]){0.4904146265f}, 1, TOL);
  ce.labels = put_i32(&d, (int32_t[]){0, -100}, 2);
  be->ops->cross_entropy(be, &ce);
  get(&d, loss, got, 1);
  check_close(c, "cross_entropy with label -100 ignored = ln 2", got, (float[]){0.6931471806f}, 1,
              TOL);
  ce.labels = put_i32(&d, (int32_t[]){-100, 2}, 2);
  be->ops->cross_entropy(be, &ce);
  get(&d, loss, got, 1);
  check_close(c, "cross_entropy with no valid label = 0", got, (float[]){0}, 1, 0);
  ce.logits = put(&d, (float[]){1000, 0, -1000, 1000}, 4, 0);
  ce.labels = put_i32(&d, (int32_t[]){1, 0}, 2);
  be->ops->cross_entropy(be, &ce);
  get(&d, loss, got, 1);
  check_close(c, "cross_entropy logits ±1000: loss (1000 + 2000)/2, finite", got, (float[]){1500},
              1, TOL);
  /* bwd: dloss 2, probs [.5 .5; .75 .25], labels [0 -100] -> [-1 1; 0 0] */
  porta_ref dl = put_nan(&d, 4, 0);
  porta_cross_entropy_bwd_args cb = {.dlogits = dl,
                                     .probs = put(&d, (float[]){0.5f, 0.5f, 0.75f, 0.25f}, 4, 3),
                                     .labels = put_i32(&d, (int32_t[]){0, -100}, 2),
                                     .dloss = put(&d, (float[]){2}, 1, 1),
                                     .batch = 2,
                                     .classes = 2};
  be->ops->cross_entropy_bwd(be, &cb);
  get(&d, dl, got, 4);
  check_close(c, "cross_entropy_bwd dloss 2, one valid row", got, (float[]){-1, 1, 0, 0}, 4, TOL);
  /* AdamW first step from m = v = 0: p = 1, g = 0.1, lr 0.1, wd 0.01:
   * p·(1 - 0.001) = 0.999; m = 0.01; v = 1e-5; p -= (0.1/0.1)·0.01/(sqrt(1e-5)/sqrt(0.001) + 1e-8)
   */
  porta_ref p = put(&d, (float[]){1}, 1, 0), m = put(&d, (float[]){0}, 1, 1);
  porta_ref v = put(&d, (float[]){0}, 1, 2), g = put(&d, (float[]){0.1f}, 1, 3);
  porta_adamw_args ad = {.param = p,
                         .grad = g,
                         .m = m,
                         .v = v,
                         .n = 1,
                         .lr = 0.1f,
                         .beta1 = 0.9f,
                         .beta2 = 0.999f,
                         .eps = 1e-8f,
                         .weight_decay = 0.01f,
                         .bias_correction1 = 1 - 0.9f,
                         .bias_correction2 = 1 - 0.999f};
  be->ops->adamw(be, &ad);
  get(&d, p, got, 1);
  get(&d, m, got + 1, 1);
  get(&d, v, got + 2, 1);
  check_close(c, "adamw step 1: param 0.899, m 0.01, v 1e-5", got,
              (float[]){0.999f - 0.1f / (1 + 1e-7f), 0.01f, 1e-5f}, 3, 2e-6);
  /* dropout: each element kept (scaled by 1/(1-p)) exactly when philox u >= p. N is odd so
   * that every vector path (16 and 8 lanes) and the portable tail run. */
  enum { N = 10007 };
  float *ones = malloc(N * 4), *out = malloc(N * 4);
  for (int i = 0; i < N; i++) ones[i] = 1;
  porta_ref dout = put_nan(&d, N, 0);
  porta_dropout_args dr = {.out = dout,
                           .x = put(&d, ones, N, 1),
                           .n = N,
                           .p = 0.5f,
                           .seed = 0x0123456789abcdefull,
                           .stream = 0x100000002ull,
                           .base = 0xffffff00ull}; /* a shard's counters, crossing 2^32 */
  be->ops->dropout(be, &dr);
  get(&d, dout, out, N);
  int mismatches = 0, dropped = 0;
  for (int i = 0; i < N; i++) {
    float u = porta_philox_uniform(dr.seed, dr.stream, dr.base + (uint64_t)i);
    float want = u >= 0.5f ? 2.0f : 0.0f;
    mismatches += out[i] != want;
    dropped += out[i] == 0;
  }
  check_true(c, mismatches == 0 && dropped > 4700 && dropped < 5300,
             "dropout p=0.5 n=%d: %d mismatches against philox, %d dropped", N, mismatches,
             dropped);
  free(ones);
  free(out);
  /* Philox-4x32-10 known answers (Random123's kat_vectors). */
  check_true(c,
             porta_philox4x32_10(0, 0, 0, 0, 0, 0) == 0x6627e8d5u &&
                 porta_philox4x32_10(~0u, ~0u, ~0u, ~0u, ~0u, ~0u) == 0x408f276du &&
                 porta_philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u,
                                     0xa4093822u, 0x299f31d0u) == 0xd16cfe09u,
             "philox4x32-10 known-answer vectors");
  release(&d);
}

/* ---- reference GEMM against cblas ------------------------------------------------------------ */

static void gemm_reference_vs_cblas(check_counter *c, porta_backend *fast, porta_backend *ref) {
  static const int64_t shapes[][3] = {{1, 1, 1},    {2, 3, 5},      {7, 1, 13},    {31, 33, 1},
                                      {64, 65, 63}, {129, 17, 200}, {200, 300, 77}};
  check_rng rng = check_rng_make(7);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int t = 0; t < 4; t++) {
      int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], batch = 2, pad = (int64_t)s % 3;
      bool ta = t & 1, tb = t >> 1;
      int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
      int64_t sa = (ta ? k : m) * lda, sb = (tb ? n : k) * ldb, sc = m * ldc;
      float *a = malloc((size_t)(batch * sa) * 4), *b = malloc((size_t)(batch * sb) * 4);
      float *c0 = malloc((size_t)(batch * sc) * 4), *got = malloc((size_t)(batch * sc) * 4);
      float *want = malloc((size_t)(batch * sc) * 4);
      check_fill_uniform(&rng, a, (size_t)(batch * sa), -1, 1);
      check_fill_uniform(&rng, b, (size_t)(batch * sb), -1, 1);
      check_fill_uniform(&rng, c0, (size_t)(batch * sc), -1, 1);
      for (int side = 0; side < 2; side++) {
        dev d = {.be = side ? ref : fast};
        porta_gemm_args g = {.trans_a = ta,
                             .trans_b = tb,
                             .m = m,
                             .n = n,
                             .k = k,
                             .alpha = 0.75f,
                             .beta = 0.5f,
                             .a = put(&d, a, (size_t)(batch * sa), 3),
                             .b = put(&d, b, (size_t)(batch * sb), 0),
                             .c = put(&d, c0, (size_t)(batch * sc), 1),
                             .lda = lda,
                             .ldb = ldb,
                             .ldc = ldc,
                             .stride_a = sa,
                             .stride_b = sb,
                             .stride_c = sc,
                             .batch = batch};
        porta_status st = d.be->ops->gemm(d.be, &g);
        if (st) printf("gemm failed: %s\n", d.be->err);
        get(&d, g.c, side ? want : got, (size_t)(batch * sc));
        release(&d);
      }
      char what[160];
      snprintf(what, sizeof what,
               "reference gemm vs cblas m=%lld n=%lld k=%lld tA=%d tB=%d pad=%lld batch=2",
               (long long)m, (long long)n, (long long)k, ta, tb, (long long)pad);
      check_close(c, what, got, want, (size_t)(batch * sc), 2e-5 * sqrt((double)k));
      free(a), free(b), free(c0), free(got), free(want);
    }
}

/* ---- 1 thread vs 4 threads, bit for bit (sizes above the parallel threshold) ----------------- */

/* A slot compared bit for bit, with random contents unless it is a pure output. */
static oph_buf *add_slot(oph_case *cs, int i, const char *name, int64_t n, oph_role role,
                         check_rng *rng, float lo, float hi) {
  uint32_t *init = role == OPH_OUT ? NULL : oph_rand_f32(rng, n, lo, hi);
  oph_buf *b = oph_slot(cs, i, name, n, role, init, 0, 1);
  b->bits = true;
  return b;
}

/* Sizes ROWS · N - 3 split unevenly, so the vector paths (AVX2, AVX-512) and their scalar tails
 * cover different elements on 1 and 4 threads: the bitwise comparison checks they agree. */
static void thread_determinism(check_counter *c, porta_backend *one, porta_backend *four) {
  check_rng rng = check_rng_make(99);
  enum { ROWS = 256, N = 384, VOCAB = 50 };
  oph_case cases[16];
  int count = 0;
  memset(cases, 0, sizeof cases);
  oph_case *cs = &cases[count++];
  cs->op = PORTA_OP_SOFTMAX;
  snprintf(cs->desc, sizeof cs->desc, "softmax rows=%d n=%d with mask", ROWS, N);
  add_slot(cs, 0, "y", ROWS * N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "x", ROWS * N, OPH_IN, &rng, -8, 8);
  add_slot(cs, 2, "mask", 2 * N, OPH_IN, &rng, -3, 0);
  cs->args.softmax =
      (porta_softmax_args){.rows = ROWS, .n = N, .mask_div = ROWS / 2, .scale = 0.125f};
  cs = &cases[count++];
  cs->op = PORTA_OP_SOFTMAX_BWD;
  snprintf(cs->desc, sizeof cs->desc, "softmax_bwd rows=%d n=%d", ROWS, N);
  add_slot(cs, 0, "dx", ROWS * N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "y", ROWS * N, OPH_IN, &rng, 0, 0.01f);
  add_slot(cs, 2, "dy", ROWS * N, OPH_IN, &rng, -1, 1);
  cs->args.softmax_bwd = (porta_softmax_bwd_args){.rows = ROWS, .n = N, .scale = 1};
  cs = &cases[count++];
  cs->op = PORTA_OP_LAYERNORM;
  snprintf(cs->desc, sizeof cs->desc, "layernorm rows=%d n=%d", ROWS, N);
  add_slot(cs, 0, "y", ROWS * N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "mean", ROWS, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 2, "rstd", ROWS, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 3, "x", ROWS * N, OPH_IN, &rng, -3, 3);
  add_slot(cs, 4, "gamma", N, OPH_IN, &rng, 0.5f, 1.5f);
  add_slot(cs, 5, "beta", N, OPH_IN, &rng, -1, 1);
  cs->args.layernorm = (porta_layernorm_args){.rows = ROWS, .n = N, .eps = 1e-12f};
  cs = &cases[count++];
  cs->op = PORTA_OP_LAYERNORM_BWD;
  snprintf(cs->desc, sizeof cs->desc, "layernorm_bwd rows=%d n=%d", ROWS, N);
  add_slot(cs, 0, "dx", ROWS * N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "dgamma", N, OPH_INOUT, &rng, -1, 1);
  add_slot(cs, 2, "dbeta", N, OPH_INOUT, &rng, -1, 1);
  add_slot(cs, 3, "dy", ROWS * N, OPH_IN, &rng, -1, 1);
  add_slot(cs, 4, "x", ROWS * N, OPH_IN, &rng, -2, 2);
  add_slot(cs, 5, "mean", ROWS, OPH_IN, &rng, -0.1f, 0.1f);
  add_slot(cs, 6, "rstd", ROWS, OPH_IN, &rng, 0.5f, 1.5f);
  add_slot(cs, 7, "gamma", N, OPH_IN, &rng, 0.5f, 1.5f);
  cs->args.layernorm_bwd = (porta_layernorm_bwd_args){.rows = ROWS, .n = N};
  cs = &cases[count++];
  cs->op = PORTA_OP_EMBEDDING_BWD;
  snprintf(cs->desc, sizeof cs->desc, "embedding_bwd vocab=%d dim=%d n_ids=%d", VOCAB, N, ROWS);
  add_slot(cs, 0, "dtable", VOCAB * N, OPH_INOUT, &rng, -1, 1);
  add_slot(cs, 1, "dout", ROWS * N, OPH_IN, &rng, -1, 1);
  oph_buf *ids = add_slot(cs, 2, "ids", ROWS, OPH_IN, &rng, 0, 0);
  for (int t = 0; t < ROWS; t++) ids->init[t] = (uint32_t)check_rng_int(&rng, 0, VOCAB - 1);
  cs->args.embedding_bwd = (porta_embedding_bwd_args){.n_ids = ROWS, .dim = N, .vocab = VOCAB};
  cs = &cases[count++];
  cs->op = PORTA_OP_REDUCE;
  snprintf(cs->desc, sizeof cs->desc, "reduce rows (bias grad) [%d, %d]", ROWS, N);
  add_slot(cs, 0, "out", N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "x", ROWS * N, OPH_IN, &rng, -1, 1);
  cs->args.reduce = (porta_reduce_args){
      .shape = {1, 1, ROWS, N}, .x_stride = {0, 0, N, 1}, .out_stride = {0, 0, 0, 1}, .alpha = 1};
  cs = &cases[count++];
  cs->op = PORTA_OP_CROSS_ENTROPY;
  snprintf(cs->desc, sizeof cs->desc, "cross_entropy batch=%d classes=%d", ROWS * 8, 16);
  add_slot(cs, 0, "loss", 1, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "probs", ROWS * 8 * 16, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 2, "logits", ROWS * 8 * 16, OPH_IN, &rng, -5, 5);
  oph_buf *labels = add_slot(cs, 3, "labels", ROWS * 8, OPH_IN, &rng, 0, 0);
  for (int t = 0; t < ROWS * 8; t++) labels->init[t] = (uint32_t)check_rng_int(&rng, -1, 15);
  cs->args.cross_entropy = (porta_cross_entropy_args){.batch = ROWS * 8, .classes = 16};
  cs = &cases[count++];
  cs->op = PORTA_OP_SUMSQ;
  snprintf(cs->desc, sizeof cs->desc, "sumsq n=%d", ROWS * N * 4);
  add_slot(cs, 0, "out", 1, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "x", ROWS * N * 4, OPH_IN, &rng, -1, 1);
  cs->args.sumsq = (porta_sumsq_args){.n = ROWS * N * 4};
  cs = &cases[count++];
  cs->op = PORTA_OP_ADAMW;
  snprintf(cs->desc, sizeof cs->desc, "adamw n=%d", ROWS * N - 3);
  add_slot(cs, 0, "param", ROWS * N - 3, OPH_INOUT, &rng, -1, 1);
  add_slot(cs, 1, "m", ROWS * N - 3, OPH_INOUT, &rng, -0.01f, 0.01f);
  add_slot(cs, 2, "v", ROWS * N - 3, OPH_INOUT, &rng, 0, 1e-4f);
  add_slot(cs, 3, "grad", ROWS * N - 3, OPH_IN, &rng, -0.1f, 0.1f);
  cs->args.adamw = (porta_adamw_args){.n = ROWS * N - 3,
                                      .lr = 1e-3f,
                                      .beta1 = 0.9f,
                                      .beta2 = 0.999f,
                                      .eps = 1e-8f,
                                      .weight_decay = 0.01f,
                                      .bias_correction1 = 0.5f,
                                      .bias_correction2 = 0.1f};
  cs = &cases[count++];
  cs->op = PORTA_OP_DROPOUT;
  snprintf(cs->desc, sizeof cs->desc, "dropout n=%d p=0.1", ROWS * N - 3);
  add_slot(cs, 0, "out", ROWS * N - 3, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "x", ROWS * N - 3, OPH_IN, &rng, -1, 1);
  cs->args.dropout = (porta_dropout_args){.n = ROWS * N - 3, .p = 0.1f, .seed = 5, .stream = 9};
  cs = &cases[count++];
  cs->op = PORTA_OP_UNARY;
  snprintf(cs->desc, sizeof cs->desc, "unary gelu n=%d", ROWS * N);
  add_slot(cs, 0, "out", ROWS * N, OPH_OUT, &rng, 0, 0);
  add_slot(cs, 1, "x", ROWS * N, OPH_IN, &rng, -5, 5);
  cs->args.unary = (porta_unary_args){.op = PORTA_UNARY_GELU, .n = ROWS * N};
  cs = &cases[count++];
  cs->op = PORTA_OP_COPY_STRIDED;
  snprintf(cs->desc, sizeof cs->desc, "copy_strided transpose accumulate [%d, %d]", ROWS, N);
  add_slot(cs, 0, "out", ROWS * N, OPH_INOUT, &rng, -1, 1);
  add_slot(cs, 1, "x", ROWS * N, OPH_IN, &rng, -1, 1);
  cs->args.copy_strided = (porta_copy_args){.shape = {1, 1, N, ROWS},
                                            .out_stride = {0, 0, ROWS, 1},
                                            .x_stride = {0, 0, 1, N},
                                            .accumulate = true};
  /* GEMM: split into blocks by size only (OpenBLAS's bits depend on the split), so the same
   * bits on any thread count: rows of C, columns of C, and a batch of small products. */
  const int64_t gemm_shapes[3][6] = {/* tA, tB, m, n, k, batch */
                                     {0, 1, 1024, 384, 384, 1},
                                     {1, 0, 384, 1536, 512, 1},
                                     {0, 0, 32, 32, 32, 96}};
  for (int i = 0; i < 3; i++) {
    const int64_t *g = gemm_shapes[i];
    int64_t m = g[2], n = g[3], k = g[4], batch = g[5];
    cs = &cases[count++];
    cs->op = PORTA_OP_GEMM;
    snprintf(cs->desc, sizeof cs->desc, "gemm tA=%d tB=%d m=%lld n=%lld k=%lld batch=%lld beta=%d",
             (int)g[0], (int)g[1], (long long)m, (long long)n, (long long)k, (long long)batch,
             batch == 1);
    add_slot(cs, 0, "a", batch * m * k, OPH_IN, &rng, -1, 1);
    add_slot(cs, 1, "b", batch * k * n, OPH_IN, &rng, -1, 1);
    add_slot(cs, 2, "c", batch * m * n, batch == 1 ? OPH_INOUT : OPH_OUT, &rng, -1, 1);
    cs->args.gemm = (porta_gemm_args){.trans_a = g[0],
                                      .trans_b = g[1],
                                      .m = m,
                                      .n = n,
                                      .k = k,
                                      .alpha = 0.5f,
                                      .beta = batch == 1 ? 1.0f : 0.0f,
                                      .lda = g[0] ? m : k,
                                      .ldb = g[1] ? k : n,
                                      .ldc = n,
                                      .stride_a = m * k,
                                      .stride_b = k * n,
                                      .stride_c = m * n,
                                      .batch = batch};
  }
  for (int i = 0; i < count; i++) {
    if (oph_run_compare(four, "cpu 4 threads vs 1 thread (bitwise):", one, &cases[i]) == OPH_PASS)
      c->passed++;
    else
      c->failed++;
    oph_case_free(&cases[i]);
  }
}

/* ---- error paths and profiling --------------------------------------------------------------- */

static void error_paths(check_counter *c, porta_backend *be) {
  void *buf = (void *)&c;
  porta_status st = be->ops->alloc(be, (size_t)1 << 62, &buf);
  check_true(c, st == PORTA_ERR_DEVICE_MEMORY && buf == NULL,
             "alloc 2^62 bytes -> PORTA_ERR_DEVICE_MEMORY, NULL (\"%s\")", be->err);
  st = be->ops->alloc(be, SIZE_MAX, &buf);
  check_true(c, st == PORTA_ERR_DEVICE_MEMORY && buf == NULL,
             "alloc SIZE_MAX bytes -> PORTA_ERR_DEVICE_MEMORY");
  dev d = {.be = be};
  porta_ref small = put(&d, (float[]){1, 2, 3, 4}, 4, 0);
  float got[4] = {0};
  get(&d, small, got, 4);
  check_true(c, got[3] == 4, "the backend still works after a failed alloc");
  st = be->ops->upload(be, small.buf, 16, got, 8);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT,
             "upload past the end -> PORTA_ERR_INVALID_ARGUMENT (\"%s\")", be->err);
  porta_gemm_args g = {.m = 2,
                       .n = 2,
                       .k = 2,
                       .alpha = 1,
                       .a = small,
                       .b = small,
                       .c = small,
                       .lda = 2,
                       .ldb = 2,
                       .ldc = 2,
                       .batch = 2,
                       .stride_a = 0,
                       .stride_b = 0,
                       .stride_c = 4};
  st = be->ops->gemm(be, &g);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT && strstr(be->err, "C needs elements"),
             "gemm whose C runs past its buffer -> PORTA_ERR_INVALID_ARGUMENT (\"%s\")", be->err);
  g.batch = 1;
  g.lda = 1;
  st = be->ops->gemm(be, &g);
  check_true(c, st == PORTA_ERR_SHAPE, "gemm with lda < k -> PORTA_ERR_SHAPE (\"%s\")", be->err);
  porta_softmax_args sm = {
      .y = small, .x = small, .mask = small, .rows = 2, .n = 2, .mask_div = 0, .scale = 1};
  st = be->ops->softmax(be, &sm);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT,
             "softmax with mask_div 0 -> PORTA_ERR_INVALID_ARGUMENT (\"%s\")", be->err);
  porta_dropout_args dr = {.out = small, .x = small, .n = 4, .p = 1.5f};
  st = be->ops->dropout(be, &dr);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT,
             "dropout p = 1.5 -> PORTA_ERR_INVALID_ARGUMENT (\"%s\")", be->err);
  release(&d);

  char err[256] = "";
  porta_backend *other = NULL;
  st = porta_cpu_backend_create(&other, 1, 0, err, sizeof err);
  check_true(c, st == PORTA_ERR_NO_DEVICE && !other, "cpu device 1 -> PORTA_ERR_NO_DEVICE (\"%s\")",
             err);
  st = porta_cpu_backend_create(&other, 0, -1, err, sizeof err);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT && !other,
             "num_threads -1 -> PORTA_ERR_INVALID_ARGUMENT");
  setenv("PORTA_CPU_GEMM", "fastest", 1);
  st = porta_cpu_backend_create(&other, 0, 0, err, sizeof err);
  check_true(c, st == PORTA_ERR_INVALID_ARGUMENT && !other,
             "PORTA_CPU_GEMM=fastest -> PORTA_ERR_INVALID_ARGUMENT (\"%s\")", err);
  setenv("PORTA_CPU_GEMM", "reference", 1);
  st = porta_cpu_backend_create(&other, 0, 2, err, sizeof err);
  check_true(c,
             st == PORTA_OK && ((porta_cpu_backend *)other)->gemm_reference &&
                 ((porta_cpu_backend *)other)->num_threads == 2,
             "PORTA_CPU_GEMM=reference selects the reference GEMM (%s)",
             other ? other->info.extra : "");
  if (other) other->ops->destroy(other);
  unsetenv("PORTA_CPU_GEMM");
  porta_device_info info[2];
  int count = 0;
  st = porta_cpu_list_devices(info, 2, &count, err, sizeof err);
  check_true(c,
             st == PORTA_OK && count == 1 && info[0].is_cpu && info[0].backend == PORTA_BACKEND_CPU,
             "cpu lists one device: %s", count ? info[0].name : "");
}

static void profiling(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  porta_ref r = put(&d, (float[]){1, 2, 3, 4}, 4, 0), out = put_nan(&d, 4, 0);
  uint64_t ns[PORTA_OP_COUNT], calls[PORTA_OP_COUNT];
  be->ops->profile_enable(be, true);
  porta_gemm_args g = {.m = 2,
                       .n = 2,
                       .k = 2,
                       .alpha = 1,
                       .a = r,
                       .b = r,
                       .c = out,
                       .lda = 2,
                       .ldb = 2,
                       .ldc = 2,
                       .batch = 1};
  for (int i = 0; i < 3; i++) be->ops->gemm(be, &g);
  porta_softmax_args sm = {.y = out, .x = r, .rows = 2, .n = 2, .scale = 1};
  for (int i = 0; i < 2; i++) be->ops->softmax(be, &sm);
  be->ops->profile_enable(be, false);
  be->ops->gemm(be, &g);
  porta_status st = be->ops->profile_read(be, ns, calls);
  check_true(c,
             st == PORTA_OK && calls[PORTA_OP_GEMM] == 3 && calls[PORTA_OP_SOFTMAX] == 2 &&
                 calls[PORTA_OP_LAYERNORM] == 0 && ns[PORTA_OP_GEMM] > 0,
             "profile: gemm %llu calls %llu ns, softmax %llu calls",
             (unsigned long long)calls[PORTA_OP_GEMM], (unsigned long long)ns[PORTA_OP_GEMM],
             (unsigned long long)calls[PORTA_OP_SOFTMAX]);
  release(&d);
}

/* ---- the conformance harness must catch what it promises to catch ---------------------------- */

typedef enum fault {
  FAULT_NONE,
  FAULT_WRITE_PAST_END, /* sumsq also writes the element after out */
  FAULT_MODIFY_INPUT,   /* sumsq zeroes x[0] */
  FAULT_WRONG_VALUE,    /* sumsq's result 1 % too large */
  FAULT_UNSUPPORTED,    /* supports() says no */
} fault;

/* A backend that forwards to the CPU backend and breaks sumsq in one way. */
typedef struct faulty_backend {
  porta_backend base;
  porta_backend *inner;
  fault fault;
} faulty_backend;

static porta_backend *inner_of(porta_backend *be) { return ((faulty_backend *)be)->inner; }
static porta_status f_alloc(porta_backend *be, size_t bytes, void **out) {
  return inner_of(be)->ops->alloc(inner_of(be), bytes, out);
}
static void f_free(porta_backend *be, void *buf) { inner_of(be)->ops->free(inner_of(be), buf); }
static porta_status f_upload(porta_backend *be, void *buf, size_t off, const void *src, size_t n) {
  return inner_of(be)->ops->upload(inner_of(be), buf, off, src, n);
}
static porta_status f_download(porta_backend *be, void *buf, size_t off, void *dst, size_t n) {
  return inner_of(be)->ops->download(inner_of(be), buf, off, dst, n);
}
static porta_status f_synchronize(porta_backend *be) { return PORTA_OK; }
static bool f_supports(porta_backend *be, porta_op op, const void *args) {
  return ((faulty_backend *)be)->fault != FAULT_UNSUPPORTED;
}
static porta_status f_sumsq(porta_backend *be, const porta_sumsq_args *a) {
  porta_backend *in = inner_of(be);
  porta_status st = in->ops->sumsq(in, a);
  float value, zero = 0;
  switch (((faulty_backend *)be)->fault) {
  case FAULT_WRITE_PAST_END:
    in->ops->upload(in, a->out.buf, (a->out.off + 1) * 4, &zero, 4);
    break;
  case FAULT_MODIFY_INPUT:
    in->ops->upload(in, a->x.buf, a->x.off * 4, &zero, 4);
    break;
  case FAULT_WRONG_VALUE:
    in->ops->download(in, a->out.buf, a->out.off * 4, &value, 4);
    value *= 1.01f;
    in->ops->upload(in, a->out.buf, a->out.off * 4, &value, 4);
    break;
  default:
    break;
  }
  return st;
}

static void harness_self_test(check_counter *c, porta_backend *cpu) {
  static const porta_backend_ops faulty_ops = {.alloc = f_alloc,
                                               .free = f_free,
                                               .upload = f_upload,
                                               .download = f_download,
                                               .synchronize = f_synchronize,
                                               .supports = f_supports,
                                               .sumsq = f_sumsq};
  check_rng rng = check_rng_make(3);
  oph_case cs;
  memset(&cs, 0, sizeof cs);
  cs.op = PORTA_OP_SUMSQ;
  snprintf(cs.desc, sizeof cs.desc, "sumsq n=17");
  add_slot(&cs, 0, "out", 1, OPH_OUT, &rng, 0, 0)->bits = false;
  cs.buf[0].tol = 1e-4;
  add_slot(&cs, 1, "x", 17, OPH_IN, &rng, -1, 1);
  cs.args.sumsq = (porta_sumsq_args){.n = 17};
  static const struct {
    fault fault;
    const char *name;
    oph_outcome want;
  } trials[] = {{FAULT_NONE, "faulty(none)", OPH_PASS},
                {FAULT_WRITE_PAST_END, "faulty(write-past-end)", OPH_FAIL},
                {FAULT_MODIFY_INPUT, "faulty(modify-input)", OPH_FAIL},
                {FAULT_WRONG_VALUE, "faulty(wrong-value)", OPH_FAIL},
                {FAULT_UNSUPPORTED, "faulty(unsupported)", OPH_UNSUPPORTED}};
  printf("harness self-test: the FAIL lines below come from a deliberately broken backend\n");
  for (size_t i = 0; i < sizeof trials / sizeof trials[0]; i++) {
    faulty_backend fb = {.base = {.ops = &faulty_ops}, .inner = cpu, .fault = trials[i].fault};
    oph_outcome got = oph_run_compare(&fb.base, trials[i].name, cpu, &cs);
    check_true(c, got == trials[i].want, "harness verdict on %s is %d (want %d)", trials[i].name,
               (int)got, (int)trials[i].want);
  }
  /* An op whose vtable entry is NULL fails instead of crashing. */
  faulty_backend fb = {.base = {.ops = &faulty_ops}, .inner = cpu, .fault = FAULT_NONE};
  cs.op = PORTA_OP_SOFTMAX;
  snprintf(cs.desc, sizeof cs.desc, "softmax with a NULL vtable entry");
  check_true(c, oph_run_compare(&fb.base, "faulty(null-entry)", cpu, &cs) == OPH_FAIL,
             "harness verdict on a NULL vtable entry is FAIL");
  oph_case_free(&cs);
}

/* GELU (vectorised erfc, cpu_math.h) against erfc and exp in double over [-14, 14]: error
 * normalised by max(1, |want|), and relative error in the negative tail, where the rounding of
 * x/√2 to float alone costs ~1e-5 at x = -11 (glibc's erfcf does the same). */
static void gelu_accuracy(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  enum { N = 28 * 256 + 1 };
  float *x = malloc(N * 4), *y = malloc(N * 4), *dx = malloc(N * 4), *ones = malloc(N * 4);
  for (int i = 0; i < N; i++) x[i] = -14.0f + (float)i / 256.0f, ones[i] = 1;
  x[0] = NAN, x[1] = INFINITY, x[2] = -0.0f;
  porta_ref rx = put(&d, x, N, 1), ry = put_nan(&d, N, 0), rdx = put_nan(&d, N, 2);
  be->ops->unary(be, &(porta_unary_args){.op = PORTA_UNARY_GELU, .out = ry, .x = rx, .n = N});
  be->ops->unary_bwd(
      be, &(porta_unary_bwd_args){
              .op = PORTA_UNARY_GELU, .dx = rdx, .x = rx, .dy = put(&d, ones, N, 0), .n = N});
  get(&d, ry, y, N);
  get(&d, rdx, dx, N);
  double worst_fwd = 0, worst_tail = 0, worst_bwd = 0;
  for (int i = 3; i < N; i++) {
    double xd = x[i], cdf = 0.5 * erfc(-xd / sqrt(2.0));
    double pdf = exp(-0.5 * xd * xd) / sqrt(2.0 * 3.14159265358979323846);
    double want = xd * cdf, want_bwd = cdf + xd * pdf;
    worst_fwd = fmax(worst_fwd, fabs(y[i] - want) / fmax(1.0, fabs(want)));
    worst_bwd = fmax(worst_bwd, fabs(dx[i] - want_bwd) / fmax(1.0, fabs(want_bwd)));
    if (xd < 0 && xd > -12) worst_tail = fmax(worst_tail, fabs(y[i] - want) / fabs(want));
  }
  check_true(c, worst_fwd < 1e-6 && worst_bwd < 1e-6 && worst_tail < 2e-5,
             "gelu over [-14, 14] against double erfc: fwd err %.1e, bwd err %.1e (tol 1e-6), "
             "relative in the tail %.1e (tol 2e-5)",
             worst_fwd, worst_bwd, worst_tail);
  check_true(c, isnan(y[0]) && isnan(dx[0]) && y[1] == INFINITY && y[2] == 0.0f,
             "gelu(NaN) = %g, gelu'(NaN) = %g, gelu(inf) = %g, gelu(-0) = %g", y[0], dx[0], y[1],
             y[2]);
  free(x);
  free(y);
  free(dx);
  free(ones);
  release(&d);
}

static void bench_fma(check_counter *c, porta_backend *be) {
  dev d = {.be = be};
  porta_ref out = put_nan(&d, 5, 2);
  porta_status st = be->ops->bench_fma(be, out, 5, 3);
  float got[5], want[5];
  get(&d, out, got, 5);
  for (int i = 0; i < 5; i++) {
    float sum = 0;
    for (int k = 0; k < 8; k++) {
      float a = (float)i * 0.001f + (float)k;
      for (int it = 0; it < 3; it++) a = a * 0.999f + 0.001f;
      sum += a;
    }
    want[i] = sum;
  }
  check_true(c, st == PORTA_OK, "bench_fma n=5 iters=3 status %d", (int)st);
  check_close(c, "bench_fma n=5 iters=3 values", got, want, 5, 1e-6);
  release(&d);
}

int main(void) {
  check_counter c = {0};
  char err[4096];
  porta_backend *cblas_be = NULL, *ref_be = NULL, *one = NULL, *four = NULL;
  if (porta_cpu_backend_create_ex(&cblas_be, 0, 0, false, err, sizeof err) ||
      porta_cpu_backend_create_ex(&ref_be, 0, 0, true, err, sizeof err) ||
      porta_cpu_backend_create_ex(&one, 0, 1, false, err, sizeof err) ||
      porta_cpu_backend_create_ex(&four, 0, 4, false, err, sizeof err)) {
    printf("cpu backend creation failed: %s\n", err);
    return 1;
  }
  printf("device: %s | %s | %s\n", cblas_be->info.name, cblas_be->info.driver,
         cblas_be->info.extra);
  hand_gemm(&c, cblas_be, "cblas");
  hand_gemm(&c, ref_be, "reference");
  hand_elementwise(&c, cblas_be);
  hand_nn(&c, cblas_be);
  gelu_accuracy(&c, cblas_be);
  hand_loss_optim(&c, cblas_be);
  gemm_reference_vs_cblas(&c, ref_be, cblas_be);
  thread_determinism(&c, one, four);
  error_paths(&c, cblas_be);
  profiling(&c, one);
  bench_fma(&c, cblas_be);
  harness_self_test(&c, cblas_be);
  cblas_be->ops->destroy(cblas_be);
  ref_be->ops->destroy(ref_be);
  one->ops->destroy(one);
  four->ops->destroy(four);
  return check_finish(&c);
}
