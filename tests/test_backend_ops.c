/* Op conformance (like ggml's test-backend-ops): every vtable op, forward and backward, on every
 * backend that can be created, against the CPU backend with the same random inputs.
 *
 * Backends under test: "cpu-ref" (the CPU backend with the plain-loop reference GEMM on one thread:
 * always runs, so the suite is never empty), "opencl" and "vulkan" when compiled in (a backend that
 * cannot be created prints "opencl: skipped: <why>"). The reference is the CPU backend with
 * cblas GEMM on all cores.
 *
 * Each case runs with guard elements around every buffer (see tests/helpers/op_harness.h) and
 * prints one line: "<backend> <op and its parameters>: <output>=<normalised error> ... ok".
 * Normalised error = max|x - ref| / max(1e-6, max|ref|). Tolerances:
 *   TOL_EXACT        data movement (fill, copy, copy_strided, embedding gather): bit for bit
 *   TOL_ELEMENTWISE  1e-5  binary, unary scale/relu fwd/bwd, dropout values (+ identical zero
 *                          pattern), copy_strided with accumulate
 *   TOL_TRANSCENDENTAL 1e-4 unary gelu/tanh fwd/bwd, normalised by max(1, max|ref|): GLSL has
 *                          no erf and leaves tanh's precision open, so GPU backends approximate;
 *                          and GELU's tail (x < -4: |y| < 1e-4) keeps few correct digits in any
 *                          (1 + erf) formulation, PyTorch's included. The CPU uses erfc there.
 *   TOL_REDUCTION    1e-4  reduce, softmax fwd/bwd, layernorm fwd/bwd, embedding_bwd,
 *                          cross-entropy fwd/bwd, adamw, sumsq
 *   gemm             2e-5 · sqrt(k)   (rounding of a k-term dot product grows like sqrt(k))
 *
 * Developer filters: PORTA_TEST_BACKENDS=opencl,vulkan (names above), PORTA_TEST_OPS=gemm,softmax
 * (op names as printed; "fill" and "copy" are the buffer ops). Exits non-zero on any failure.
 * The GEMM and elementwise case lists live in tests/test_backend_ops/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "helpers/check.h"
#include "helpers/op_harness.h"
#include "test_backend_ops/cases.h"

/* ---- building cases ------------------------------------------------------------------------- */

/* ---- softmax and softmax_bwd ----------------------------------------------------------------- */

/* mask_kind: 0 none, 1 random -inf entries and one fully masked row, 2 padding per batch with
 * mask_div > 1 (one batch fully masked), 3 HF-style -FLT_MAX instead of -inf. */
static void add_softmax(oph_case_list *l, int64_t rows, int64_t n, float scale, float magnitude,
                        int mask_kind, int64_t mask_div, int64_t off) {
  static const char *mask_names[] = {"none", "random-inf", "padding", "flt-max"};
  int64_t mask_rows = mask_kind ? (rows - 1) / mask_div + 1 : 0;
  oph_case *c = oph_new_case(l, PORTA_OP_SOFTMAX,
                             "rows=%lld n=%lld scale=%g |x|<=%g mask=%s mask_div=%lld off=%lld",
                             (long long)rows, (long long)n, (double)scale, (double)magnitude,
                             mask_names[mask_kind], (long long)mask_div, (long long)off);
  if (!c) return;
  oph_slot(c, 0, "y", rows * n, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = n;
  oph_slot(c, 1, "x", rows * n, OPH_IN, oph_rand_f32(&l->rng, rows * n, -magnitude, magnitude), 0,
           off)
      ->cols = n;
  uint32_t *mask = mask_kind ? oph_rand_f32(&l->rng, mask_rows * n, -1, 1) : NULL;
  for (int64_t r = 0; mask && r < mask_rows; r++)
    for (int64_t j = 0; j < n; j++) {
      bool masked = false;
      if (mask_kind == 1) masked = r == mask_rows / 2 || check_rng_int(&l->rng, 0, 4) == 0;
      if (mask_kind == 2) masked = r == mask_rows - 1 || j >= n - r - 1;
      if (mask_kind == 3) masked = r == mask_rows - 1 || j >= n / 2;
      if (masked) oph_set_f32(mask, r * n + j, mask_kind == 3 ? -3.4028235e38f : -INFINITY);
    }
  oph_slot(c, 2, "mask", mask_rows * n, OPH_IN, mask, 0, off)->cols = n;
  c->args.softmax =
      (porta_softmax_args){.rows = rows, .n = n, .mask_div = mask_div, .scale = scale};
}

static void add_softmax_bwd(oph_case_list *l, int64_t rows, int64_t n, float scale, bool alias,
                            int64_t off) {
  oph_case *c =
      oph_new_case(l, PORTA_OP_SOFTMAX_BWD, "rows=%lld n=%lld scale=%g%s off=%lld", (long long)rows,
                   (long long)n, (double)scale, alias ? " alias" : "", (long long)off);
  if (!c) return;
  /* y: rows of a real softmax (positive, summing to 1). */
  uint32_t *y = oph_rand_f32(&l->rng, rows * n, 0.01f, 1.0f);
  for (int64_t r = 0; y && r < rows; r++) {
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += oph_get_f32(y, r * n + j);
    for (int64_t j = 0; j < n; j++)
      oph_set_f32(y, r * n + j, (float)(oph_get_f32(y, r * n + j) / sum));
  }
  uint32_t *dy = oph_rand_f32(&l->rng, rows * n, -1, 1);
  if (alias) {
    oph_slot(c, 0, "dx", rows * n, OPH_INOUT, dy, TOL_REDUCTION, off)->cols = n;
    oph_slot(c, 2, "unused", 0, OPH_IN, NULL, 0, off);
  } else {
    oph_slot(c, 0, "dx", rows * n, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = n;
    oph_slot(c, 2, "dy", rows * n, OPH_IN, dy, 0, off)->cols = n;
  }
  oph_slot(c, 1, "y", rows * n, OPH_IN, y, 0, off)->cols = n;
  c->alias = alias;
  c->args.softmax_bwd = (porta_softmax_bwd_args){.rows = rows, .n = n, .scale = scale};
}

static void softmax_cases(oph_case_list *l) {
  add_softmax(l, 1, 1, 1.0f, 1.0f, 0, 1, 3);
  add_softmax(l, 3, 17, 1.0f, 3.0f, 0, 1, 0);
  add_softmax(l, 17, 65, 0.125f, 5.0f, 0, 1, 5);
  add_softmax(l, 65, 129, 1.0f, 5.0f, 0, 1, 1);
  add_softmax(l, 4, 1029, 1.0f, 5.0f, 0, 1, 2);
  add_softmax(l, 17, 65, 1.0f, 1000.0f, 0, 1, 3); /* large magnitude: needs the max subtracted */
  add_softmax(l, 17, 65, 0.5f, 2.0f, 1, 1, 4);
  add_softmax(l, 30, 5, 0.125f, 2.0f, 2, 15, 1); /* [B=2, H=3, S=5, S=5] scores, [B, S] mask */
  add_softmax(l, 129, 17, 1.0f, 3.0f, 2, 17, 2);
  add_softmax(l, 12, 65, 1.0f, 3.0f, 3, 4, 3);
  add_softmax(l, 3, 4099, 1.0f, 5.0f, 1, 1, 1); /* a row longer than any work-group */
  add_softmax_bwd(l, 1, 1, 1.0f, false, 3);
  add_softmax_bwd(l, 3, 17, 1.0f, false, 0);
  add_softmax_bwd(l, 17, 65, 0.125f, false, 5);
  add_softmax_bwd(l, 65, 129, 1.0f, false, 1);
  add_softmax_bwd(l, 17, 65, 0.5f, true, 2);
}

/* ---- layernorm and layernorm_bwd ------------------------------------------------------------- */

static void add_layernorm(oph_case_list *l, int64_t rows, int64_t n, float eps, float center,
                          int64_t off) {
  oph_case *c =
      oph_new_case(l, PORTA_OP_LAYERNORM, "rows=%lld n=%lld eps=%g x=%g+-1 off=%lld",
                   (long long)rows, (long long)n, (double)eps, (double)center, (long long)off);
  if (!c) return;
  oph_slot(c, 0, "y", rows * n, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = n;
  oph_slot(c, 1, "mean", rows, OPH_OUT, NULL, TOL_REDUCTION, off);
  oph_slot(c, 2, "rstd", rows, OPH_OUT, NULL, TOL_REDUCTION, off);
  oph_slot(c, 3, "x", rows * n, OPH_IN, oph_rand_f32(&l->rng, rows * n, center - 1, center + 1), 0,
           off)
      ->cols = n;
  oph_slot(c, 4, "gamma", n, OPH_IN, oph_rand_f32(&l->rng, n, 0.5f, 1.5f), 0, off);
  oph_slot(c, 5, "beta", n, OPH_IN, oph_rand_f32(&l->rng, n, -0.5f, 0.5f), 0, off);
  c->args.layernorm = (porta_layernorm_args){.rows = rows, .n = n, .eps = eps};
}

static void add_layernorm_bwd(oph_case_list *l, int64_t rows, int64_t n, float eps, int64_t off) {
  oph_case *c = oph_new_case(l, PORTA_OP_LAYERNORM_BWD, "rows=%lld n=%lld off=%lld",
                             (long long)rows, (long long)n, (long long)off);
  if (!c) return;
  uint32_t *x = oph_rand_f32(&l->rng, rows * n, -2, 2), *mean = oph_words(rows),
           *rstd = oph_words(rows);
  for (int64_t r = 0; x && mean && rstd && r < rows; r++) { /* the forward's saved statistics */
    double sum = 0, sq = 0;
    for (int64_t j = 0; j < n; j++) sum += oph_get_f32(x, r * n + j);
    double m = sum / n;
    for (int64_t j = 0; j < n; j++)
      sq += (oph_get_f32(x, r * n + j) - m) * (oph_get_f32(x, r * n + j) - m);
    oph_set_f32(mean, r, (float)m);
    oph_set_f32(rstd, r, (float)(1.0 / sqrt(sq / n + eps)));
  }
  oph_slot(c, 0, "dx", rows * n, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = n;
  oph_slot(c, 1, "dgamma", n, OPH_INOUT, oph_rand_f32(&l->rng, n, -1, 1), TOL_REDUCTION, off);
  oph_slot(c, 2, "dbeta", n, OPH_INOUT, oph_rand_f32(&l->rng, n, -1, 1), TOL_REDUCTION, off);
  oph_slot(c, 3, "dy", rows * n, OPH_IN, oph_rand_f32(&l->rng, rows * n, -1, 1), 0, off)->cols = n;
  oph_slot(c, 4, "x", rows * n, OPH_IN, x, 0, off)->cols = n;
  oph_slot(c, 5, "mean", rows, OPH_IN, mean, 0, off);
  oph_slot(c, 6, "rstd", rows, OPH_IN, rstd, 0, off);
  oph_slot(c, 7, "gamma", n, OPH_IN, oph_rand_f32(&l->rng, n, 0.5f, 1.5f), 0, off);
  c->args.layernorm_bwd = (porta_layernorm_bwd_args){.rows = rows, .n = n};
}

static void layernorm_cases(oph_case_list *l) {
  add_layernorm(l, 1, 1, 1e-5f, 0.0f, 3);
  add_layernorm(l, 3, 17, 1e-5f, 0.0f, 0);
  add_layernorm(l, 17, 65, 1e-12f, 0.0f, 5);
  add_layernorm(l, 65, 129, 1e-5f, 0.0f, 1);
  add_layernorm(l, 8, 384, 1e-12f, 0.0f, 2);
  add_layernorm(l, 17, 65, 1e-12f, 1000.0f, 3); /* a large mean: needs the two-pass variance */
  add_layernorm(l, 3, 1029, 1e-5f, 0.0f, 1);
  add_layernorm_bwd(l, 1, 1, 1e-5f, 3);
  add_layernorm_bwd(l, 3, 17, 1e-5f, 0);
  add_layernorm_bwd(l, 17, 65, 1e-12f, 5);
  add_layernorm_bwd(l, 65, 129, 1e-5f, 1);
  add_layernorm_bwd(l, 8, 384, 1e-12f, 2);
  add_layernorm_bwd(l, 1029, 3, 1e-5f, 1); /* dgamma/dbeta summed over many rows */
  add_layernorm_bwd(l, 3, 1029, 1e-5f, 4);
  add_layernorm_bwd(l, 40, 384, 1e-5f, 0); /* offsets 0, n % 4 = 0: dgamma/dbeta as vec4s */
  add_layernorm_bwd(l, 1029, 8, 1e-5f, 0);
}

/* ---- embedding gather and scatter-add (ids out of range, repeated ids) ----------------------- */

static uint32_t *make_ids(oph_case_list *l, int64_t n_ids, int64_t vocab, bool out_of_range) {
  uint32_t *ids = oph_rand_i32(&l->rng, n_ids, 0, vocab - 1);
  /* in range, every id is a denormal when read as a float; out of range, some are NaN payloads
   * (signalling and quiet): integer data must never ride through a float path */
  static const uint32_t bad[] = {0xffffffffu, 0, 1u << 30, 0x80000000u, 0x7f9a470eu, 0xffc00001u};
  for (int64_t t = 0; ids && out_of_range && t < n_ids; t += 5)
    ids[t] = t % 20 == 5 ? (uint32_t)vocab : bad[(t / 5) % (sizeof bad / sizeof bad[0])];
  return ids;
}

static void add_embedding(oph_case_list *l, bool backward, int64_t vocab, int64_t dim,
                          int64_t n_ids, bool out_of_range, int64_t off) {
  oph_case *c =
      oph_new_case(l, backward ? PORTA_OP_EMBEDDING_BWD : PORTA_OP_EMBEDDING,
                   "vocab=%lld dim=%lld n_ids=%lld%s off=%lld", (long long)vocab, (long long)dim,
                   (long long)n_ids, out_of_range ? " bad-ids" : "", (long long)off);
  if (!c) return;
  if (backward) {
    oph_slot(c, 0, "dtable", vocab * dim, OPH_INOUT, oph_rand_f32(&l->rng, vocab * dim, -1, 1),
             TOL_REDUCTION, off)
        ->cols = dim;
    oph_slot(c, 1, "dout", n_ids * dim, OPH_IN, oph_rand_f32(&l->rng, n_ids * dim, -1, 1), 0, off)
        ->cols = dim;
  } else {
    oph_buf *out = oph_slot(c, 0, "out", n_ids * dim, OPH_OUT, NULL, TOL_EXACT, off);
    out->cols = dim;
    out->bits = true;
    oph_slot(c, 1, "table", vocab * dim, OPH_IN, oph_rand_f32(&l->rng, vocab * dim, -1, 1), 0, off)
        ->cols = dim;
  }
  oph_slot(c, 2, "ids", n_ids, OPH_IN, make_ids(l, n_ids, vocab, out_of_range), 0, off);
  if (backward)
    c->args.embedding_bwd = (porta_embedding_bwd_args){.n_ids = n_ids, .dim = dim, .vocab = vocab};
  else
    c->args.embedding = (porta_embedding_args){.n_ids = n_ids, .dim = dim, .vocab = vocab};
}

static void embedding_cases(oph_case_list *l) {
  for (int backward = 0; backward < 2; backward++) {
    add_embedding(l, backward, 1, 1, 1, false, 3);
    add_embedding(l, backward, 17, 65, 3, false, 0);
    add_embedding(l, backward, 129, 17, 129, true, 5);
    add_embedding(l, backward, 3, 65, 129, true, 1); /* many repeated ids */
    add_embedding(l, backward, 30, 384, 40, true, 2);
    add_embedding(l, backward, 17, 3, 4099, true, 4); /* thousands of ids onto 17 rows */
  }
  /* 70,000 occurrences of one id: past lavapipe's 65535 loop iterations an invocation, so CPU
   * Vulkan devices take the tokens in slices */
  add_embedding(l, true, 2, 1, 140000, false, 1);
}

/* ---- dropout: the Philox mask must agree bit for bit ----------------------------------------- */

/* base: the counter of element 0, as a batch shard's rows draw it (porta_set_batch_shard) */
static void add_dropout_at(oph_case_list *l, int64_t n, float p, uint64_t seed, uint64_t stream,
                           uint64_t base, bool alias, int64_t off) {
  oph_case *c = oph_new_case(
      l, PORTA_OP_DROPOUT, "n=%lld p=%g seed=0x%llx stream=0x%llx base=0x%llx%s off=%lld",
      (long long)n, (double)p, (unsigned long long)seed, (unsigned long long)stream,
      (unsigned long long)base, alias ? " alias" : "", (long long)off);
  if (!c) return;
  /* x never 0, so a zero in the output always means "dropped". */
  uint32_t *x = oph_rand_f32(&l->rng, n, 0.1f, 1.0f);
  for (int64_t i = 0; x && i < n; i += 2) oph_set_f32(x, i, -oph_get_f32(x, i));
  oph_buf *out;
  if (alias) {
    out = oph_slot(c, 0, "out", n, OPH_INOUT, x, TOL_ELEMENTWISE, off);
    oph_slot(c, 1, "unused", 0, OPH_IN, NULL, 0, off);
  } else {
    out = oph_slot(c, 0, "out", n, OPH_OUT, NULL, TOL_ELEMENTWISE, off);
    oph_slot(c, 1, "x", n, OPH_IN, x, 0, off);
  }
  out->zero_pattern = true;
  c->alias = alias;
  c->args.dropout =
      (porta_dropout_args){.n = n, .p = p, .seed = seed, .stream = stream, .base = base};
}

static void add_dropout(oph_case_list *l, int64_t n, float p, uint64_t seed, uint64_t stream,
                        bool alias, int64_t off) {
  add_dropout_at(l, n, p, seed, stream, 0, alias, off);
}

static void dropout_cases(oph_case_list *l) {
  add_dropout(l, 1, 0.5f, 42, 0, false, 3);
  add_dropout(l, 17, 0.1f, 42, 7, false, 0);
  add_dropout(l, 4099, 0.1f, 0x123456789abcdef0ull, 0x500000003ull, false, 5);
  add_dropout(l, 4099, 0.5f, 0x123456789abcdef0ull, 0x500000003ull, false, 1);
  add_dropout(l, 65537, 0.1f, 0xfedcba9876543210ull, 12345, false, 2);
  add_dropout(l, 1000, 0.5f, 7, 1, true, 3);
  add_dropout(l, 1000, 0.0f, 7, 1, false, 3);
  add_dropout(l, 1000, 1.0f, 7, 1, false, 3);
  add_dropout(l, 4099, 0.3f, 99, 5, false, 4); /* 4-aligned: vec4 loads on Vulkan, plus a tail */
  add_dropout(l, 1002, 0.5f, 7, 1, true, 4);
  add_dropout_at(l, 4099, 0.1f, 42, 7, 3 * 4099, false, 0);      /* the 4th row of a shard */
  add_dropout_at(l, 1000, 0.5f, 42, 7, 0xfffffffaull, false, 4); /* the low word wraps */
}

/* ---- cross-entropy fwd/bwd: ignored labels, no valid label, large logits --------------------- */

static uint32_t *make_labels(oph_case_list *l, int64_t batch, int64_t classes, int label_kind) {
  uint32_t *labels = oph_rand_i32(&l->rng, batch, 0, classes - 1);
  for (int64_t b = 0; labels && b < batch; b++) {
    /* ignored: -100, a label past the classes and one whose float reading is a signalling NaN */
    const uint32_t ignored[] = {(uint32_t)-100, (uint32_t)classes, 0x7f9a470eu};
    if (label_kind == 1 && b % 3 == 1) labels[b] = ignored[(b / 3) % 3];
    if (label_kind == 2) labels[b] = (uint32_t)-100;
  }
  return labels;
}

static const char *label_names[] = {"valid", "some-ignored", "all-ignored"};

static void add_cross_entropy(oph_case_list *l, int64_t batch, int64_t classes, float magnitude,
                              int label_kind, int64_t off) {
  oph_case *c =
      oph_new_case(l, PORTA_OP_CROSS_ENTROPY,
                   "batch=%lld classes=%lld |logits|<=%g labels=%s off=%lld", (long long)batch,
                   (long long)classes, (double)magnitude, label_names[label_kind], (long long)off);
  if (!c) return;
  oph_slot(c, 0, "loss", 1, OPH_OUT, NULL, TOL_REDUCTION, off);
  oph_slot(c, 1, "probs", batch * classes, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = classes;
  oph_slot(c, 2, "logits", batch * classes, OPH_IN,
           oph_rand_f32(&l->rng, batch * classes, -magnitude, magnitude), 0, off)
      ->cols = classes;
  oph_slot(c, 3, "labels", batch, OPH_IN, make_labels(l, batch, classes, label_kind), 0, off);
  c->args.cross_entropy = (porta_cross_entropy_args){.batch = batch, .classes = classes};
}

static void add_cross_entropy_bwd(oph_case_list *l, int64_t batch, int64_t classes, int label_kind,
                                  int64_t off) {
  oph_case *c =
      oph_new_case(l, PORTA_OP_CROSS_ENTROPY_BWD, "batch=%lld classes=%lld labels=%s off=%lld",
                   (long long)batch, (long long)classes, label_names[label_kind], (long long)off);
  if (!c) return;
  uint32_t *probs = oph_rand_f32(&l->rng, batch * classes, 0.01f, 1.0f);
  for (int64_t b = 0; probs && b < batch; b++) {
    double sum = 0;
    for (int64_t j = 0; j < classes; j++) sum += oph_get_f32(probs, b * classes + j);
    for (int64_t j = 0; j < classes; j++)
      oph_set_f32(probs, b * classes + j, (float)(oph_get_f32(probs, b * classes + j) / sum));
  }
  oph_slot(c, 0, "dlogits", batch * classes, OPH_OUT, NULL, TOL_REDUCTION, off)->cols = classes;
  oph_slot(c, 1, "probs", batch * classes, OPH_IN, probs, 0, off)->cols = classes;
  oph_slot(c, 2, "labels", batch, OPH_IN, make_labels(l, batch, classes, label_kind), 0, off);
  oph_slot(c, 3, "dloss", 1, OPH_IN, oph_rand_f32(&l->rng, 1, 0.5f, 2.0f), 0, off);
  c->args.cross_entropy_bwd = (porta_cross_entropy_bwd_args){.batch = batch, .classes = classes};
}

static void cross_entropy_cases(oph_case_list *l) {
  add_cross_entropy(l, 1, 1, 1.0f, 0, 3);
  add_cross_entropy(l, 3, 17, 3.0f, 0, 0);
  add_cross_entropy(l, 17, 2, 3.0f, 1, 5);
  add_cross_entropy(l, 65, 129, 5.0f, 1, 1);
  add_cross_entropy(l, 129, 3, 1000.0f, 1, 2); /* large logits: needs log-sum-exp */
  add_cross_entropy(l, 17, 5, 3.0f, 2, 3);     /* no valid label: loss 0 */
  add_cross_entropy(l, 4099, 3, 3.0f, 1, 2);   /* the loss summed over many rows */
  add_cross_entropy_bwd(l, 1, 1, 0, 3);
  add_cross_entropy_bwd(l, 3, 17, 0, 0);
  add_cross_entropy_bwd(l, 17, 2, 1, 5);
  add_cross_entropy_bwd(l, 65, 129, 1, 1);
  add_cross_entropy_bwd(l, 17, 5, 2, 3);
}

/* ---- adamw, sumsq, and the buffer ops fill and copy ------------------------------------------ */

static void add_adamw(oph_case_list *l, int64_t n, int step, float lr, float weight_decay,
                      int64_t off) {
  oph_case *c = oph_new_case(l, PORTA_OP_ADAMW, "n=%lld step=%d lr=%g wd=%g off=%lld", (long long)n,
                             step, (double)lr, (double)weight_decay, (long long)off);
  if (!c) return;
  bool first = step == 1; /* the first step starts from m = v = 0 */
  oph_slot(c, 0, "param", n, OPH_INOUT, oph_rand_f32(&l->rng, n, -1, 1), TOL_REDUCTION, off);
  oph_slot(c, 1, "m", n, OPH_INOUT, first ? oph_words(n) : oph_rand_f32(&l->rng, n, -0.01f, 0.01f),
           TOL_REDUCTION, off);
  oph_slot(c, 2, "v", n, OPH_INOUT, first ? oph_words(n) : oph_rand_f32(&l->rng, n, 0.0f, 1e-4f),
           TOL_REDUCTION, off);
  oph_slot(c, 3, "grad", n, OPH_IN, oph_rand_f32(&l->rng, n, -0.1f, 0.1f), 0, off);
  c->args.adamw = (porta_adamw_args){.n = n,
                                     .lr = lr,
                                     .beta1 = 0.9f,
                                     .beta2 = 0.999f,
                                     .eps = 1e-8f,
                                     .weight_decay = weight_decay,
                                     .bias_correction1 = 1.0f - powf(0.9f, (float)step),
                                     .bias_correction2 = 1.0f - powf(0.999f, (float)step)};
}

static void add_sumsq(oph_case_list *l, int64_t n, bool accumulate, int64_t off) {
  oph_case *c = oph_new_case(l, PORTA_OP_SUMSQ, "n=%lld%s off=%lld", (long long)n,
                             accumulate ? " accumulate" : "", (long long)off);
  if (!c) return;
  oph_slot(c, 0, "out", 1, accumulate ? OPH_INOUT : OPH_OUT,
           accumulate ? oph_rand_f32(&l->rng, 1, 1, 2) : NULL, TOL_REDUCTION, off);
  oph_slot(c, 1, "x", n, OPH_IN, oph_rand_f32(&l->rng, n, -1, 1), 0, off);
  c->args.sumsq = (porta_sumsq_args){.n = n, .accumulate = accumulate};
}

static void optim_and_buffer_cases(oph_case_list *l) {
  add_adamw(l, 1, 1, 1e-3f, 0.01f, 3);
  add_adamw(l, 17, 1, 0.1f, 0.0f, 0);
  add_adamw(l, 4099, 1000, 0.1f, 0.01f, 5);
  add_adamw(l, 65537, 10, 5e-5f, 0.01f, 1);
  add_sumsq(l, 1, false, 3);
  add_sumsq(l, 17, true, 0);
  add_sumsq(l, 4099, false, 5);
  add_sumsq(l, (1 << 20) + 3, true, 1);
  add_sumsq(l, 65539, false, 4); /* vec4 loads where the offset allows, plus a tail */
  static const int64_t sizes[] = {1, 17, 4099};
  for (int s = 0; s < 3; s++) {
    int64_t n = sizes[s], off = s ? 2 * s + 1 : 0;
    float value = (float[]){1.5f, 0.0f, -INFINITY}[s];
    oph_case *c = oph_new_case(l, OPH_OP_FILL, "n=%lld value=%g off=%lld", (long long)n,
                               (double)value, (long long)off);
    if (!c) return;
    oph_slot(c, 0, "out", n, OPH_OUT, NULL, TOL_EXACT, off)->bits = true;
    c->args.fill.n = n;
    c->args.fill.value = value;
    c = oph_new_case(l, OPH_OP_COPY, "n=%lld off=%lld", (long long)n, (long long)off);
    if (!c) return;
    oph_slot(c, 0, "dst", n, OPH_OUT, NULL, TOL_EXACT, off)->bits = true;
    oph_slot(c, 1, "src", n, OPH_IN, oph_rand_f32(&l->rng, n, -1, 1), 0, off);
  }
}

/* ---- empty sizes: nothing to compute, nothing may be written (except sums of nothing) ---- */

static void empty_cases(oph_case_list *l) {
  oph_case *c = oph_new_case(l, PORTA_OP_GEMM, "empty m=0 n=5 k=3 off=1");
  if (!c) return;
  oph_slot(c, 0, "A", 0, OPH_IN, NULL, 0, 1);
  oph_slot(c, 1, "B", 15, OPH_IN, oph_rand_f32(&l->rng, 15, -1, 1), 0, 1);
  oph_slot(c, 2, "C", 0, OPH_OUT, NULL, 0, 1);
  c->args.gemm = (porta_gemm_args){
      .m = 0, .n = 5, .k = 3, .alpha = 1, .lda = 3, .ldb = 5, .ldc = 5, .batch = 1};
  for (int half = 0; half < 2; half++) { /* k = 0: C = beta · C */
    c = oph_new_case(l, PORTA_OP_GEMM, "empty k=0 m=3 n=5 beta=%g off=2", half ? 0.5 : 0.0);
    if (!c) return;
    oph_slot(c, 0, "A", 0, OPH_IN, NULL, 0, 2);
    oph_slot(c, 1, "B", 0, OPH_IN, NULL, 0, 2);
    oph_slot(c, 2, "C", 15, half ? OPH_INOUT : OPH_OUT,
             half ? oph_rand_f32(&l->rng, 15, -1, 1) : NULL, TOL_ELEMENTWISE, 2);
    c->args.gemm = (porta_gemm_args){.m = 3,
                                     .n = 5,
                                     .k = 0,
                                     .alpha = 1,
                                     .beta = half ? 0.5f : 0,
                                     .lda = 1,
                                     .ldb = 5,
                                     .ldc = 5,
                                     .batch = 1};
  }
  /* A reduced dim of size 0: every output is beta · out + 0. */
  c = oph_new_case(l, PORTA_OP_REDUCE, "empty reduced dim shape=[1,1,0,5] beta=0 off=1");
  if (!c) return;
  oph_slot(c, 0, "out", 5, OPH_OUT, NULL, TOL_REDUCTION, 1);
  oph_slot(c, 1, "x", 0, OPH_IN, NULL, 0, 1);
  c->args.reduce = (porta_reduce_args){
      .shape = {1, 1, 0, 5}, .x_stride = {0, 0, 5, 1}, .out_stride = {0, 0, 0, 1}, .alpha = 1};
  c = oph_new_case(l, PORTA_OP_UNARY, "empty gelu n=0 off=3");
  if (!c) return;
  oph_slot(c, 0, "out", 0, OPH_OUT, NULL, 0, 3);
  oph_slot(c, 1, "x", 0, OPH_IN, NULL, 0, 3);
  c->args.unary = (porta_unary_args){.op = PORTA_UNARY_GELU};
  c = oph_new_case(l, PORTA_OP_SOFTMAX, "empty rows=0 n=17 off=1");
  if (!c) return;
  oph_slot(c, 0, "y", 0, OPH_OUT, NULL, 0, 1);
  oph_slot(c, 1, "x", 0, OPH_IN, NULL, 0, 1);
  oph_slot(c, 2, "mask", 0, OPH_IN, NULL, 0, 1);
  c->args.softmax = (porta_softmax_args){.n = 17, .mask_div = 1, .scale = 1};
  c = oph_new_case(l, PORTA_OP_DROPOUT, "empty n=0 p=0.1 off=2");
  if (!c) return;
  oph_slot(c, 0, "out", 0, OPH_OUT, NULL, 0, 2);
  oph_slot(c, 1, "x", 0, OPH_IN, NULL, 0, 2);
  c->args.dropout = (porta_dropout_args){.p = 0.1f, .seed = 1};
  c = oph_new_case(l, PORTA_OP_CROSS_ENTROPY, "empty batch=0 classes=3 (loss 0) off=1");
  if (!c) return;
  oph_slot(c, 0, "loss", 1, OPH_OUT, NULL, TOL_REDUCTION, 1);
  for (int i = 1; i < 4; i++)
    oph_slot(c, i, (const char *[]){"", "probs", "logits", "labels"}[i], 0, OPH_IN, NULL, 0, 1);
  c->args.cross_entropy = (porta_cross_entropy_args){.batch = 0, .classes = 3};
  for (int accumulate = 0; accumulate < 2; accumulate++) {
    c = oph_new_case(l, PORTA_OP_SUMSQ, "empty n=0%s off=3", accumulate ? " accumulate" : "");
    if (!c) return;
    oph_slot(c, 0, "out", 1, accumulate ? OPH_INOUT : OPH_OUT,
             accumulate ? oph_rand_f32(&l->rng, 1, 1, 2) : NULL, TOL_REDUCTION, 3);
    oph_slot(c, 1, "x", 0, OPH_IN, NULL, 0, 3);
    c->args.sumsq = (porta_sumsq_args){.accumulate = accumulate};
  }
  c = oph_new_case(l, PORTA_OP_ADAMW, "empty n=0 off=1");
  if (!c) return;
  static const char *adamw_names[] = {"param", "m", "v", "grad"};
  for (int i = 0; i < 4; i++)
    oph_slot(c, i, adamw_names[i], 0, i < 3 ? OPH_OUT : OPH_IN, NULL, 0, 1);
  c->args.adamw = (porta_adamw_args){.lr = 0.1f,
                                     .beta1 = 0.9f,
                                     .beta2 = 0.999f,
                                     .eps = 1e-8f,
                                     .bias_correction1 = 0.1f,
                                     .bias_correction2 = 0.001f};
  c = oph_new_case(l, OPH_OP_FILL, "empty n=0 off=2");
  if (!c) return;
  oph_slot(c, 0, "out", 0, OPH_OUT, NULL, 0, 2);
  c = oph_new_case(l, OPH_OP_COPY, "empty 0 bytes off=2");
  if (!c) return;
  oph_slot(c, 0, "dst", 0, OPH_OUT, NULL, 0, 2);
  oph_slot(c, 1, "src", 0, OPH_IN, NULL, 0, 2);
}

/* ---- running --------------------------------------------------------------------------------- */

#if defined(PORTA_HAVE_OPENCL) || defined(PORTA_HAVE_VULKAN)
typedef porta_status (*gpu_create_fn)(porta_backend **out, int device, char *err, size_t size);

/* Creates the backend (device 0), says what it is and which ops it supports in general, runs. */
static void test_gpu_backend(oph_suite *su, const char *name, gpu_create_fn create) {
  if (!oph_env_selects("PORTA_TEST_BACKENDS", name)) return;
  char err[4096] = "";
  porta_backend *be = NULL;
  if (create(&be, 0, err, sizeof err) != PORTA_OK || !be) {
    printf("%s: skipped: %s\n", name, err);
    return;
  }
  printf("%s: %s (%s, driver %s)\n", name, be->info.name, be->info.api_version, be->info.driver);
  printf("%s: supports(op, NULL) says no to:", name);
  int refused = 0;
  for (int op = 0; op < PORTA_OP_COUNT; op++)
    if (!be->ops->supports(be, (porta_op)op, NULL)) {
      printf(" %s", porta_op_name((porta_op)op));
      refused++;
    }
  printf("%s\n", refused ? "" : " nothing");
  oph_run_cases(su, be, name);
  be->ops->destroy(be);
}
#endif

int main(void) {
  static oph_suite su;
  su.cases.rng = check_rng_make(20240611);
  oph_case_list *cases = &su.cases;
  gemm_cases(cases);
  gemm_heads_cases(cases);
  binary_cases(cases);
  unary_cases(cases);
  reduce_cases(cases);
  copy_cases(cases);
  softmax_cases(cases);
  layernorm_cases(cases);
  embedding_cases(cases);
  dropout_cases(cases);
  cross_entropy_cases(cases);
  optim_and_buffer_cases(cases);
  empty_cases(cases);
  if (!oph_case_list_complete(cases)) return 1;
  printf("%d cases per backend\n", cases->count);

  char err[4096] = "";
  if (porta_cpu_backend_create_ex(&su.ref, 0, 0, false, err, sizeof err)) {
    printf("cpu reference backend: FAIL: %s\n", err);
    return 1;
  }
  if (oph_env_selects("PORTA_TEST_BACKENDS", "cpu-ref")) {
    porta_backend *be = NULL;
    if (porta_cpu_backend_create_ex(&be, 0, 1, true, err, sizeof err)) {
      printf("cpu-ref: FAIL: %s\n", err);
      su.failed++;
    } else {
      oph_run_cases(&su, be, "cpu-ref");
      be->ops->destroy(be);
    }
  }
#ifdef PORTA_HAVE_OPENCL
  test_gpu_backend(&su, "opencl", porta_opencl_backend_create);
#else
  printf("opencl: skipped: not compiled in\n");
#endif
#ifdef PORTA_HAVE_VULKAN
  test_gpu_backend(&su, "vulkan", porta_vulkan_backend_create);
#else
  printf("vulkan: skipped: not compiled in\n");
#endif
  su.ref->ops->destroy(su.ref);
  oph_case_list_free(cases);

  if (su.unsupported)
    printf("%d unsupported (not failures):\n%s", su.unsupported, su.unsupported_log);
  printf("%d passed, %d failed\n", su.passed, su.failed);
  if (su.passed + su.failed == 0) {
    printf("no case ran (check PORTA_TEST_BACKENDS / PORTA_TEST_OPS)\n");
    return 1;
  }
  return su.failed ? 1 : 0;
}
