/* One hand-checked forward value per op through the core, on the CPU backend and on every GPU
 * backend that can be created (others print "skipped: <reason>"). The expected numbers are
 * worked out in the comments or are standard values: softmax(1,2,3), gelu(±1), tanh(0.5), ... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/philox.h"
#include "core/core.h"
#include "helpers/check.h"
#include "porta/porta.h"

/* CHECK_OK_OR_UNSUPPORTED: an op the backend does not support is reported and its check skipped
 * (outputs stay NULL); any other error ends the test. */
static check_counter checks;
static porta_context *ctx;

static porta_tensor *tf(int ndim, const int64_t *shape, const float *data) {
  porta_tensor *t;
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, ndim, shape, data));
  return t;
}

static porta_tensor *ti(int ndim, const int64_t *shape, const int32_t *data) {
  porta_tensor *t;
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_from_host(ctx, &t, PORTA_I32, ndim, shape, data));
  return t;
}

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})

/* Compares t's shape and values with want (absolute tolerance tol). */
static void expect(const char *name, const porta_tensor *t, int ndim, const int64_t *shape,
                   const float *want, float tol) {
  char got_shape[64], want_shape[64] = "[";
  if (!t) {
    printf("skip %-28s (unsupported)\n", name);
    return;
  }
  porta_tensor_shape_string(t, got_shape, sizeof got_shape);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    n *= shape[i];
    snprintf(want_shape + strlen(want_shape), sizeof want_shape - strlen(want_shape), "%s%lld",
             i ? ", " : "", (long long)shape[i]);
  }
  strcat(want_shape, "]");
  if (strcmp(got_shape, want_shape) != 0) {
    printf("FAIL %-28s shape %s, want %s\n", name, got_shape, want_shape);
    check_count(&checks, false);
    return;
  }
  float *got = malloc((size_t)n * sizeof *got);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_download(t, got, (size_t)n));
  float worst = 0.0f;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < n; i++) {
    float e = fabsf(got[i] - want[i]);
    if (!(e <= worst)) {
      worst = e;
      worst_i = i;
    }
  }
  bool ok = worst <= tol;
  printf("%s %-28s %s max |err| %.3g at %lld (got %.7g, want %.7g, tol %.1g)\n",
         ok ? "ok  " : "FAIL", name, got_shape, (double)worst, (long long)worst_i,
         (double)got[worst_i], (double)want[worst_i], (double)tol);
  check_count(&checks, ok);
  free(got);
}

/* porta_attention_heads on q [B, Sq, H·D], k and v [B, Sk, H·D] against porta_attention_dropout
 * on the same data split into heads with permutes (same dropout stream): the output, the
 * probabilities after dropout, and the gradients of Σ out ⊙ w into q, k and v. B < H and B > H
 * take the two ways the per-head GEMMs are issued. */
static void check_attention_heads(int64_t B, int64_t H, int64_t Sq, int64_t Sk, int64_t D,
                                  float p) {
  const int perm[4] = {0, 2, 1, 3};
  int64_t nq = B * Sq * H * D, nk = B * Sk * H * D;
  float *hq = malloc(sizeof(float) * (size_t)nq), *hk = malloc(sizeof(float) * (size_t)nk);
  float *hv = malloc(sizeof(float) * (size_t)nk), *hw = malloc(sizeof(float) * (size_t)nq);
  float *hm = calloc((size_t)(B * Sk), sizeof(float));
  int64_t nwant = nq > nk ? nq : nk;
  if (B * H * Sq * Sk > nwant) nwant = B * H * Sq * Sk;
  float *want = malloc(sizeof(float) * (size_t)nwant);
  for (int64_t i = 0; i < nq; i++) hq[i] = 0.1f * (float)((i * 7) % 13 - 6);
  for (int64_t i = 0; i < nq; i++) hw[i] = 0.05f * (float)((i * 3) % 7 - 3);
  for (int64_t i = 0; i < nk; i++) hk[i] = 0.1f * (float)((i * 5) % 11 - 5);
  for (int64_t i = 0; i < nk; i++) hv[i] = 0.1f * (float)((i * 9) % 17 - 8);
  for (int64_t b = 1; b < B; b += 2) hm[b * Sk + Sk - 1] = -1e9f; /* hide the last key */
  porta_tensor *q = tf(3, S(B, Sq, H * D), hq), *k = tf(3, S(B, Sk, H * D), hk);
  porta_tensor *v = tf(3, S(B, Sk, H * D), hv), *w = tf(3, S(B, Sq, H * D), hw);
  porta_tensor *mask = tf(2, S(B, Sk), hm);
  porta_tensor *in[3] = {q, k, v}, *split[3], *t, *out, *probs, *ref, *ref_probs, *loss;
  for (int i = 0; i < 3; i++)
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_set_requires_grad(in[i], true));
  /* reference: permute to [B, H, S, D], attention, permute back */
  uint64_t stream0 = porta_rng_stream(ctx);
  for (int i = 0; i < 3; i++) {
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_reshape(&t, in[i], 4, S(B, in[i] == q ? Sq : Sk, H, D)));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_permute(&split[i], t, perm));
  }
  CHECK_OK_OR_UNSUPPORTED(
      ctx, porta_attention_dropout(&t, &ref_probs, split[0], split[1], split[2], mask, p));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_permute(&ref, t, perm));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_reshape(&ref, ref, 3, S(B, Sq, H * D)));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_mul(&t, ref, w));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_sum_all(&loss, t));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_backward(loss));
  float *ref_grad[3];
  for (int i = 0; i < 3; i++) {
    int64_t n = porta_tensor_numel(in[i]);
    ref_grad[i] = malloc(sizeof(float) * (size_t)n);
    CHECK_OK_OR_UNSUPPORTED(
        ctx, porta_tensor_download(porta_tensor_grad(in[i]), ref_grad[i], (size_t)n));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_zero_grad(in[i]));
  }
  /* the fused layout, same stream */
  porta_set_rng_stream(ctx, stream0);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_attention_heads(&out, &probs, q, k, v, mask, (int)H, p));
  char name[96];
  snprintf(name, sizeof name, "attention_heads B%lld H%lld out", (long long)B, (long long)H);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_download(ref, want, (size_t)nq));
  expect(name, out, 3, S(B, Sq, H * D), want, 1e-5f);
  /* ref_probs is P before dropout, probs P' after: compare P' with P' recomputed from P */
  if (p == 0.0f) {
    snprintf(name, sizeof name, "attention_heads B%lld H%lld probs", (long long)B, (long long)H);
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_download(ref_probs, want, (size_t)(B * H * Sq * Sk)));
    expect(name, probs, 4, S(B, H, Sq, Sk), want, 1e-6f);
  }
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_mul(&t, out, w));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_sum_all(&loss, t));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_backward(loss));
  const char *names[3] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "attention_heads B%lld H%lld %s", (long long)B, (long long)H,
             names[i]);
    porta_tensor *g = porta_tensor_grad(in[i]);
    expect(name, g, 3, S(B, i == 0 ? Sq : Sk, H * D), ref_grad[i], 1e-5f);
    free(ref_grad[i]);
  }
  porta_release_temporaries(ctx);
  free(hq), free(hk), free(hv), free(hw), free(hm), free(want);
}

static void run_all(void) {
  const float tol = 1e-5f;
  porta_tensor *out, *out2;

  /* Broadcasting: [2, 3] + [3]; [2, 1] op [1, 3]. */
  porta_tensor *a23 = tf(2, S(2, 3), F(1, 2, 3, 4, 5, 6));
  porta_tensor *b3 = tf(1, S(3), F(10, 20, 30));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_add(&out, a23, b3));
  expect("add [2,3]+[3]", out, 2, S(2, 3), F(11, 22, 33, 14, 25, 36), tol);
  porta_tensor *c21 = tf(2, S(2, 1), F(1, 2)), *r13 = tf(2, S(1, 3), F(2, 4, 8));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_sub(&out, c21, r13));
  expect("sub [2,1]-[1,3]", out, 2, S(2, 3), F(-1, -3, -7, 0, -2, -6), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_mul(&out, c21, r13));
  expect("mul [2,1]*[1,3]", out, 2, S(2, 3), F(2, 4, 8, 4, 8, 16), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_div(&out, c21, r13));
  expect("div [2,1]/[1,3]", out, 2, S(2, 3), F(0.5f, 0.25f, 0.125f, 1, 0.5f, 0.25f), tol);

  /* Unary. */
  porta_tensor *u = tf(1, S(4), F(-1, 0, 0.5f, 1));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_scale(&out, u, -2.0f));
  expect("scale -2", out, 1, S(4), F(2, 0, -1, -2), tol);
  CHECK_OK(ctx,
           porta_gelu(&out, u)); /* x/2·(1+erf(x/√2)): gelu(1) = 0.8413447, gelu(0.5) = 0.3457312 */
  expect("gelu", out, 1, S(4), F(-0.1586553f, 0, 0.3457312f, 0.8413447f), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_tanh(&out, u));
  expect("tanh", out, 1, S(4), F(-0.7615942f, 0, 0.4621172f, 0.7615942f), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_relu(&out, u));
  expect("relu", out, 1, S(4), F(0, 0, 0.5f, 1), tol);

  /* matmul: [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]. */
  porta_tensor *b32 = tf(2, S(3, 2), F(7, 8, 9, 10, 11, 12));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&out, a23, b32, false, false));
  expect("matmul", out, 2, S(2, 2), F(58, 64, 139, 154), tol);
  porta_tensor *b23t = tf(2, S(2, 3), F(7, 9, 11, 8, 10, 12));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&out, a23, b23t, false, true));
  expect("matmul trans_b", out, 2, S(2, 2), F(58, 64, 139, 154), tol);
  porta_tensor *a32t = tf(2, S(3, 2), F(1, 4, 2, 5, 3, 6));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&out, a32t, b32, true, false));
  expect("matmul trans_a", out, 2, S(2, 2), F(58, 64, 139, 154), tol);
  /* batched a [2, 2, 3] (second batch = 2·a) with a shared 2-D b */
  porta_tensor *a223 = tf(3, S(2, 2, 3), F(1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&out, a223, b32, false, false));
  expect("matmul batched, shared b", out, 3, S(2, 2, 2), F(58, 64, 139, 154, 116, 128, 278, 308),
         tol);
  porta_tensor *b232 = tf(3, S(2, 3, 2), F(7, 8, 9, 10, 11, 12, 1, 0, 0, 1, 0, 0));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&out, a223, b232, false, false));
  expect("matmul batched", out, 3, S(2, 2, 2), F(58, 64, 139, 154, 2, 4, 8, 10), tol);

  /* linear: [1,2,3]·[[1,0,-1],[.5,.5,.5]]ᵀ + [10,20] = [8, 23] */
  porta_tensor *x13 = tf(2, S(1, 3), F(1, 2, 3));
  porta_tensor *w = tf(2, S(2, 3), F(1, 0, -1, 0.5f, 0.5f, 0.5f)), *bias = tf(1, S(2), F(10, 20));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_linear(&out, x13, w, bias));
  expect("linear", out, 2, S(1, 2), F(8, 23), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_linear(&out, x13, w, NULL));
  expect("linear no bias", out, 2, S(1, 2), F(-2, 3), tol);

  /* softmax(1,2,3) = [0.0900306, 0.2447285, 0.6652410]; masking the middle gives
   * [e/(e+e³), 0, e³/(e+e³)] = [0.1192029, 0, 0.8807971]. */
  porta_tensor *s = tf(2, S(2, 3), F(1, 2, 3, 1, 2, 3));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_softmax(&out, s, NULL));
  expect("softmax", out, 2, S(2, 3),
         F(0.0900306f, 0.2447285f, 0.6652410f, 0.0900306f, 0.2447285f, 0.6652410f), tol);
  porta_tensor *m = tf(2, S(2, 3), F(0, -1e9f, 0, 0, 0, 0));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_softmax(&out, s, m));
  expect("softmax mask [2,3]", out, 2, S(2, 3),
         F(0.1192029f, 0, 0.8807971f, 0.0900306f, 0.2447285f, 0.6652410f), tol);
  porta_tensor *m13 = tf(2, S(1, 3), F(0, -1e9f, 0));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_softmax(&out, s, m13));
  expect("softmax mask [1,3]", out, 2, S(2, 3),
         F(0.1192029f, 0, 0.8807971f, 0.1192029f, 0, 0.8807971f), tol);
  porta_tensor *m21 = tf(2, S(2, 1), F(0, 5)); /* a per-row constant leaves softmax unchanged */
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_softmax(&out, s, m21));
  expect("softmax mask [2,1]", out, 2, S(2, 3),
         F(0.0900306f, 0.2447285f, 0.6652410f, 0.0900306f, 0.2447285f, 0.6652410f), 1e-4f);

  /* layer norm of [1,2,3,4]: mean 2.5, var 1.25 → ±1.3416408, ±0.4472136; γ = 2, β = 1 */
  porta_tensor *ln = tf(2, S(1, 4), F(1, 2, 3, 4));
  porta_tensor *g = tf(1, S(4), F(2, 2, 2, 2)), *be = tf(1, S(4), F(1, 1, 1, 1));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_layer_norm(&out, ln, g, be, 0.0f));
  expect("layer_norm", out, 2, S(1, 4), F(-1.6832816f, 0.1055728f, 1.8944272f, 3.6832816f), tol);

  /* embedding */
  porta_tensor *table = tf(2, S(3, 2), F(1, 2, 3, 4, 5, 6));
  porta_tensor *ids = ti(2, S(1, 3), (const int32_t[]){2, 0, 2});
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_embedding(&out, table, ids));
  expect("embedding", out, 3, S(1, 3, 2), F(5, 6, 1, 2, 5, 6), tol);

  /* dropout: the mask is Philox(seed, stream, i) ≥ p; kept values scaled by 1/(1-p) = 2 */
  float ones[64], want[64];
  for (int i = 0; i < 64; i++) ones[i] = (float)(i + 1);
  porta_tensor *dx = tf(1, S(64), ones);
  uint64_t stream = porta_rng_stream(ctx);
  int kept = 0;
  for (int i = 0; i < 64; i++) {
    bool keep = porta_philox_uniform(1234, stream, (uint64_t)i) >= 0.5f;
    want[i] = keep ? 2.0f * ones[i] : 0.0f;
    kept += keep;
  }
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_dropout(&out, dx, 0.5f));
  expect("dropout p=0.5 (Philox mask)", out, 1, S(64), want, tol);
  printf("     dropout kept %d of 64, stream %llu -> %llu\n", kept, (unsigned long long)stream,
         (unsigned long long)porta_rng_stream(ctx));
  if (porta_rng_stream(ctx) != stream + 1 || kept < 16 || kept > 48) {
    printf("FAIL dropout stream / keep count\n");
    check_count(&checks, false);
  }
  porta_set_training(ctx, false);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_dropout(&out, dx, 0.5f));
  expect("dropout eval = identity", out, 1, S(64), ones, 0.0f);
  porta_set_training(ctx, true);

  /* cross-entropy: -log softmax(1,2,3)[2] = 0.4076059; the second row's label -100 is ignored */
  porta_tensor *logits = tf(2, S(2, 3), F(1, 2, 3, 5, 0, 0));
  porta_tensor *labels = ti(1, S(2), (const int32_t[]){2, -100});
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_cross_entropy(&out, logits, labels));
  expect("cross_entropy (ignore -100)", out, 1, S(1), F(0.4076059f), tol);
  porta_tensor *labels2 = ti(1, S(2), (const int32_t[]){2, 0}); /* row 2: -log(e⁵/(e⁵+2)) */
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_cross_entropy(&out, logits, labels2));
  expect("cross_entropy", out, 1, S(1), F((0.4076059f + 0.0133857f) / 2), tol);

  /* shape ops on [[1,2,3],[4,5,6]] */
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_reshape(&out, a23, 2, S(3, -1)));
  expect("reshape [3,-1]", out, 2, S(3, 2), F(1, 2, 3, 4, 5, 6), 0.0f);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_permute(&out, a23, (const int[]){1, 0}));
  expect("permute (1,0)", out, 2, S(3, 2), F(1, 4, 2, 5, 3, 6), 0.0f);
  porta_tensor *p3 = tf(3, S(2, 3, 2), F(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_permute(&out, p3, (const int[]){2, 0, 1}));
  expect("permute (2,0,1)", out, 3, S(2, 2, 3), F(0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11), 0.0f);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_select(&out, a23, 1, 1));
  expect("select dim 1", out, 1, S(2), F(2, 5), 0.0f);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_select(&out, a23, 0, 1));
  expect("select dim 0", out, 1, S(3), F(4, 5, 6), 0.0f);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_slice(&out, a23, 1, 1, 2));
  expect("slice dim 1", out, 2, S(2, 2), F(2, 3, 5, 6), 0.0f);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_slice(&out, p3, 0, 1, 1));
  expect("slice dim 0 (view)", out, 3, S(1, 3, 2), F(6, 7, 8, 9, 10, 11), 0.0f);
  { /* i32 data goes through the same copies (token ids, labels) */
    porta_tensor *ids23 = ti(2, S(2, 3), (const int32_t[]){1, 2, 3, 4, 5, 6}), *sl = NULL;
    int32_t got[2] = {0, 0};
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_slice(&sl, ids23, 1, 2, 1));
    if (sl) CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_download(sl, got, 2));
    bool ok = sl && got[0] == 3 && got[1] == 6;
    printf("%s %-28s got [%d, %d], want [3, 6]\n", ok ? "ok  " : "FAIL", "slice i32 dim 1",
           (int)got[0], (int)got[1]);
    check_count(&checks, ok);
  }
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_sum(&out, a23, 0, false));
  expect("sum dim 0", out, 1, S(3), F(5, 7, 9), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_mean(&out, a23, -1, true));
  expect("mean dim -1 keepdim", out, 2, S(2, 1), F(2, 5), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_sum_all(&out, a23));
  expect("sum_all", out, 1, S(1), F(21), tol);
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_mean_all(&out, a23));
  expect("mean_all", out, 1, S(1), F(3.5f), tol);

  /* attention, B = H = 1, S = 2, D = 1 (scale 1): q = k = [1, 0], v = [1, 2].
   * query 0: scores [1, 0] → p = [0.7310586, 0.2689414] → 1.2689414; query 1: [0.5, 0.5] → 1.5.
   * With key 1 masked both rows attend to key 0 only → 1. */
  porta_tensor *q = tf(4, S(1, 1, 2, 1), F(1, 0)), *v = tf(4, S(1, 1, 2, 1), F(1, 2));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_attention(&out, &out2, q, q, v, NULL));
  expect("attention", out, 4, S(1, 1, 2, 1), F(1.2689414f, 1.5f), tol);
  expect("attention probs", out2, 4, S(1, 1, 2, 2), F(0.7310586f, 0.2689414f, 0.5f, 0.5f), tol);
  porta_tensor *am = tf(2, S(1, 2), F(0, -1e9f));
  CHECK_OK_OR_UNSUPPORTED(ctx, porta_attention(&out, NULL, q, q, v, am));
  expect("attention masked", out, 4, S(1, 1, 2, 1), F(1, 1), tol);

  /* attention with dropout on the probabilities = the same steps written out with the public
   * ops (same stream, so the same mask): q [2,2,3,4], k and v [2,2,5,4], mask [2,5] */
  {
    float hq[48], hk[80], hm[10] = {0, 0, -1e9f, 0, 0, 0, 0, 0, 0, -1e9f};
    for (int i = 0; i < 48; i++) hq[i] = 0.1f * (float)((i * 7) % 13 - 6);
    for (int i = 0; i < 80; i++) hk[i] = 0.1f * (float)((i * 5) % 11 - 5);
    porta_tensor *aq = tf(4, S(2, 2, 3, 4), hq), *ak = tf(4, S(2, 2, 5, 4), hk);
    porta_tensor *amask = tf(2, S(2, 5), hm), *fused = NULL, *sc = NULL, *sc2 = NULL, *m4 = NULL,
                 *pr = NULL, *prd = NULL, *manual = NULL;
    uint64_t stream0 = porta_rng_stream(ctx);
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_attention_dropout(&fused, NULL, aq, ak, ak, amask, 0.5f));
    porta_set_rng_stream(ctx, stream0);
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&sc, aq, ak, false, true));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_scale(&sc2, sc, 0.5f)); /* 1/√4 */
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_reshape(&m4, amask, 4, S(2, 1, 1, 5)));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_softmax(&pr, sc2, m4));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_dropout(&prd, pr, 0.5f));
    CHECK_OK_OR_UNSUPPORTED(ctx, porta_matmul(&manual, prd, ak, false, false));
    float want_att[48];
    if (manual) CHECK_OK_OR_UNSUPPORTED(ctx, porta_tensor_download(manual, want_att, 48));
    if (manual) expect("attention dropout = composed", fused, 4, S(2, 2, 3, 4), want_att, 1e-5f);
  }
  porta_release_temporaries(ctx);
  check_attention_heads(2, 3, 3, 5, 4, 0.0f); /* B < H: one GEMM per batch row */
  check_attention_heads(3, 2, 4, 3, 2, 0.0f); /* B > H: one GEMM per head */
  check_attention_heads(2, 3, 3, 5, 4, 0.5f); /* with dropout (training) */
}

int main(void) {
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    porta_context_options opt;
    porta_context_options_init(&opt);
    opt.backend = kinds[k];
    opt.seed = 1234;
    char err[1024];
    if (kinds[k] != PORTA_BACKEND_CPU &&
        !check_env_selects("PORTA_TEST_BACKENDS", porta_backend_name(kinds[k]))) {
      printf("---- %s skipped: not in PORTA_TEST_BACKENDS\n", porta_backend_name(kinds[k]));
      continue;
    }
    porta_status st = porta_context_create(&ctx, &opt, err, sizeof err);
    if (st != PORTA_OK) {
      if (kinds[k] == PORTA_BACKEND_CPU) {
        fprintf(stderr, "FAIL cpu context: %s\n", err);
        return 1;
      }
      printf("---- %s skipped: %s\n", porta_backend_name(kinds[k]), err);
      continue;
    }
    printf("---- %s: %s\n", porta_backend_name(kinds[k]), porta_context_device(ctx)->name);
    run_all();
    porta_context_destroy(ctx); /* also frees the caller-owned inputs */
  }
  return check_finish(&checks);
}
