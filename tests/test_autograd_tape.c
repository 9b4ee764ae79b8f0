/* The autograd tape and tensor lifetimes: accumulation, no_grad, frozen parameters, backward
 * twice, deferred frees of tensors the tape still needs, temporaries and the allocator's reuse.
 * Runs on the CPU backend and on every GPU backend that can be created. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "porta/porta.h"

static porta_context *ctx;
static check_counter checks;

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})

static porta_tensor *param(int ndim, const int64_t *shape, const float *data) {
  porta_tensor *t;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, ndim, shape, data));
  CHECK_OK(ctx, porta_tensor_set_requires_grad(t, true));
  return t;
}

/* Downloads t (n elements) and compares with want exactly up to 1e-5. */
static void expect_values(const char *what, const porta_tensor *t, const float *want, int n) {
  float got[64];
  if (!t) {
    check_true(&checks, false, "%s: tensor is NULL", what);
    return;
  }
  CHECK_OK(ctx, porta_tensor_download(t, got, (size_t)n));
  float worst = 0.0f;
  for (int i = 0; i < n; i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
  check_true(&checks, worst <= 1e-5f, "%s: max |err| %.3g (got[0] %g, want[0] %g)", what,
             (double)worst, (double)got[0], (double)want[0]);
}

static void test_accumulation(void) {
  /* y = Σ (x·x + x): dy/dx = 2x + 1 */
  porta_tensor *x = param(1, S(3), F(1, 2, 3)), *sq, *y, *loss;
  CHECK_OK(ctx, porta_mul(&sq, x, x));
  CHECK_OK(ctx, porta_add(&y, sq, x));
  CHECK_OK(ctx, porta_sum_all(&loss, y));
  CHECK_OK(ctx, porta_backward(loss));
  expect_values("x used three times: grad = 2x + 1", porta_tensor_grad(x), F(3, 5, 7), 3);
  check_true(&checks, porta_tensor_grad(y) == NULL,
             "intermediate grads are dropped after backward");
  porta_release_temporaries(ctx);
  /* A second step adds onto the existing grad (no zero_grad in between). */
  CHECK_OK(ctx, porta_mul(&sq, x, x));
  CHECK_OK(ctx, porta_add(&y, sq, x));
  CHECK_OK(ctx, porta_sum_all(&loss, y));
  CHECK_OK(ctx, porta_backward(loss));
  expect_values("second backward accumulates", porta_tensor_grad(x), F(6, 10, 14), 3);
  porta_tensor_free(porta_tensor_grad(x)); /* owned by x: the public free ignores it */
  expect_values("freeing a grad is a no-op", porta_tensor_grad(x), F(6, 10, 14), 3);
  CHECK_OK(ctx, porta_tensor_zero_grad(x));
  expect_values("zero_grad", porta_tensor_grad(x), F(0, 0, 0), 3);
  porta_release_temporaries(ctx);
  porta_tensor_free(x);
}

static void test_shared_gradients(void) {
  /* Adds and reshapes hand their output's gradient to their inputs without a copy; a shared
   * gradient must be copied before it is written. u = 3x, w = u·u, v = 5x, y = u + v, t = y + w,
   * L = Σ t: the add backwards leave u, v and w sharing one buffer, then w's product writes u's.
   * dL/dx = 3 + 5 + 18x. */
  porta_tensor *x = param(1, S(3), F(1, -2, 0.5f)), *u, *w, *v, *y, *t, *loss;
  CHECK_OK(ctx, porta_scale(&u, x, 3.0f));
  CHECK_OK(ctx, porta_mul(&w, u, u));
  CHECK_OK(ctx, porta_scale(&v, x, 5.0f));
  CHECK_OK(ctx, porta_add(&y, u, v));
  CHECK_OK(ctx, porta_add(&t, y, w));
  CHECK_OK(ctx, porta_sum_all(&loss, t));
  CHECK_OK(ctx, porta_backward(loss));
  expect_values("shared add gradients copied on write: 8 + 18x", porta_tensor_grad(x),
                F(26, -28, 17), 3);
  porta_release_temporaries(ctx);
  /* two leaves added: each keeps a gradient of its own */
  porta_tensor *a = param(1, S(3), F(1, 2, 3)), *b = param(1, S(3), F(4, 5, 6)), *ab;
  CHECK_OK(ctx, porta_add(&ab, a, b));
  CHECK_OK(ctx, porta_reshape(&ab, ab, 2, S(1, 3)));
  CHECK_OK(ctx, porta_sum_all(&loss, ab));
  CHECK_OK(ctx, porta_backward(loss));
  CHECK_OK(ctx, porta_tensor_zero_grad(a));
  expect_values("leaf grads are not shared: zeroing a's", porta_tensor_grad(a), F(0, 0, 0), 3);
  expect_values("leaves the other's", porta_tensor_grad(b), F(1, 1, 1), 3);
  porta_release_temporaries(ctx);
  porta_tensor_free(x);
  porta_tensor_free(a);
  porta_tensor_free(b);
}

static void test_no_grad_and_frozen(void) {
  porta_tensor *x = param(2, S(1, 2), F(1, 2)), *w = param(2, S(2, 2), F(1, 2, 3, 4));
  porta_tensor *out, *loss;
  porta_no_grad_begin(ctx);
  porta_no_grad_begin(ctx); /* nesting */
  CHECK_OK(ctx, porta_linear(&out, x, w, NULL));
  porta_no_grad_end(ctx);
  CHECK_OK(ctx, porta_sum_all(&loss, out));
  porta_no_grad_end(ctx);
  check_true(&checks, !porta_tensor_requires_grad(out) && !porta_tensor_requires_grad(loss),
             "no_grad (nested): results do not require grad");
  porta_status st = porta_backward(loss);
  check_true(&checks, st == PORTA_ERR_STATE, "backward of a no_grad result: %s (%s)",
             porta_status_string(st), porta_last_error(ctx));
  porta_release_temporaries(ctx);

  /* Frozen w: only x gets a gradient. out = x·wᵀ = [1·1+2·2, 1·3+2·4]; d Σout/dx = Σ_o w[o,:] */
  CHECK_OK(ctx, porta_tensor_set_requires_grad(w, false));
  CHECK_OK(ctx, porta_linear(&out, x, w, NULL));
  CHECK_OK(ctx, porta_sum_all(&loss, out));
  CHECK_OK(ctx, porta_backward(loss));
  check_true(&checks, porta_tensor_grad(w) == NULL, "frozen weight gets no grad");
  expect_values("x grad with frozen weight", porta_tensor_grad(x), F(4, 6), 2);
  st = porta_backward(loss);
  check_true(&checks, st == PORTA_ERR_STATE, "backward twice: %s (%s)", porta_status_string(st),
             porta_last_error(ctx));
  porta_release_temporaries(ctx);
  /* After release, ops record again and backward works. */
  CHECK_OK(ctx, porta_linear(&out, x, w, NULL));
  CHECK_OK(ctx, porta_sum_all(&loss, out));
  CHECK_OK(ctx, porta_backward(loss));
  expect_values("backward after release accumulates again", porta_tensor_grad(x), F(8, 12), 2);
  porta_tensor *not_scalar;
  CHECK_OK(ctx, porta_linear(&not_scalar, x, w, NULL));
  CHECK_OK(ctx, porta_tensor_set_requires_grad(w, true));
  porta_release_temporaries(ctx);
  CHECK_OK(ctx, porta_linear(&not_scalar, x, w, NULL));
  st = porta_backward(not_scalar);
  check_true(&checks, st == PORTA_ERR_SHAPE, "backward of a [1, 2] tensor: %s (%s)",
             porta_status_string(st), porta_last_error(ctx));
  porta_release_temporaries(ctx);
  porta_tensor_free(x);
  porta_tensor_free(w);
}

static void test_deferred_free_and_keep(void) {
  porta_memory_stats base, now;
  porta_memory_stats_get(ctx, &base);
  porta_tensor *x = param(1, S(4), F(-1, 0.5f, 2, 3)), *w = param(1, S(4), F(1, 2, 3, 4));
  porta_tensor *h, *p, *loss;
  CHECK_OK(ctx, porta_relu(&h, x));
  CHECK_OK(ctx, porta_mul(&p, h, w));
  CHECK_OK(ctx, porta_sum_all(&loss, p));
  /* Free an intermediate temporary and a caller-owned input while the tape still needs them. */
  porta_tensor_free(h);
  porta_tensor_free(w);
  CHECK_OK(ctx, porta_backward(loss));
  expect_values("grad through a freed temporary and freed weight", porta_tensor_grad(x),
                F(0, 2, 3, 4), 4);
  /* keep: a temporary survives release. */
  porta_tensor *kept;
  CHECK_OK(ctx, porta_scale(&kept, x, 2.0f));
  porta_tensor_keep(kept);
  porta_release_temporaries(ctx);
  expect_values("kept temporary survives release", kept, F(-2, 1, 4, 6), 4);
  porta_tensor_free(kept);
  porta_tensor_free(x);
  porta_memory_stats_get(ctx, &now);
  check_true(&checks, now.live_bytes == base.live_bytes,
             "live bytes back to baseline: %zu (baseline %zu)", now.live_bytes, base.live_bytes);

  /* Views share the buffer: a reshape sees later uploads into its parent. */
  porta_tensor *parent, *view, *slice;
  CHECK_OK(ctx, porta_tensor_zeros(ctx, &parent, PORTA_F32, 2, S(2, 3)));
  CHECK_OK(ctx, porta_reshape(&view, parent, 1, S(6)));
  CHECK_OK(ctx, porta_slice(&slice, parent, 0, 1, 1));
  CHECK_OK(ctx, porta_tensor_upload(parent, F(1, 2, 3, 4, 5, 6), 6));
  expect_values("reshape is a view", view, F(1, 2, 3, 4, 5, 6), 6);
  expect_values("slice along dim 0 is a view", slice, F(4, 5, 6), 3);
  porta_tensor_free(parent); /* the views keep the buffer alive */
  expect_values("view outlives its freed parent", view, F(1, 2, 3, 4, 5, 6), 6);
  porta_release_temporaries(ctx);
  porta_memory_stats_get(ctx, &now);
  check_true(&checks, now.live_bytes == base.live_bytes,
             "live bytes back to baseline after views: %zu", now.live_bytes);
}

/* A small training step: linear-gelu-linear + cross-entropy, AdamW, release. */
static void test_allocator_reuse(void) {
  float w1h[8 * 4], w2h[3 * 8], xh[16 * 4];
  for (int i = 0; i < 32; i++) w1h[i] = 0.1f * (float)((i * 7) % 11 - 5);
  for (int i = 0; i < 24; i++) w2h[i] = 0.1f * (float)((i * 5) % 7 - 3);
  for (int i = 0; i < 64; i++) xh[i] = 0.05f * (float)((i * 13) % 17 - 8);
  int32_t yh[16];
  for (int i = 0; i < 16; i++) yh[i] = i % 3;
  porta_tensor *w1 = param(2, S(8, 4), w1h), *b1 = param(1, S(8), F(0, 0, 0, 0, 0, 0, 0, 0));
  porta_tensor *w2 = param(2, S(3, 8), w2h), *b2 = param(1, S(3), F(0, 0, 0));
  porta_tensor *x, *y;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &x, PORTA_F32, 2, S(16, 4), xh));
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &y, PORTA_I32, 1, S(16), yh));
  porta_tensor *params[4] = {w1, b1, w2, b2};
  porta_optimizer *opt;
  CHECK_OK(ctx, porta_adamw_create(&opt, ctx, params, 4, NULL, NULL));
  uint64_t allocs[6];
  float losses[6];
  for (int step = 0; step < 6; step++) {
    porta_tensor *h, *g, *d, *logits, *loss;
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    CHECK_OK(ctx, porta_linear(&h, x, w1, b1));
    CHECK_OK(ctx, porta_gelu(&g, h));
    CHECK_OK(ctx, porta_dropout(&d, g, 0.1f));
    CHECK_OK(ctx, porta_linear(&logits, d, w2, b2));
    CHECK_OK(ctx, porta_cross_entropy(&loss, logits, y));
    CHECK_OK(ctx, porta_backward(loss));
    CHECK_OK(ctx, porta_clip_grad_norm(ctx, params, 4, 1.0f, NULL));
    CHECK_OK(ctx, porta_optimizer_step(opt, 1e-2f));
    CHECK_OK(ctx, porta_tensor_download(loss, &losses[step], 1));
    porta_release_temporaries(ctx);
    porta_memory_stats st;
    porta_memory_stats_get(ctx, &st);
    allocs[step] = st.driver_allocs;
  }
  printf("     driver allocs after each step: %llu %llu %llu %llu %llu %llu; loss %.4f -> %.4f\n",
         (unsigned long long)allocs[0], (unsigned long long)allocs[1],
         (unsigned long long)allocs[2], (unsigned long long)allocs[3],
         (unsigned long long)allocs[4], (unsigned long long)allocs[5], (double)losses[0],
         (double)losses[5]);
  check_true(&checks, allocs[5] == allocs[1],
             "warmed-up steps never reach the driver allocator (%llu == %llu)",
             (unsigned long long)allocs[5], (unsigned long long)allocs[1]);
  porta_memory_stats st;
  porta_memory_stats_get(ctx, &st);
  check_true(&checks, st.cached_bytes > 0 && st.peak_bytes >= st.live_bytes,
             "stats: live %zu, cached %zu, peak %zu bytes", st.live_bytes, st.cached_bytes,
             st.peak_bytes);
  porta_memory_trim(ctx);
  porta_memory_stats_get(ctx, &st);
  check_true(&checks, st.cached_bytes == 0, "trim empties the cache (%zu bytes cached)",
             st.cached_bytes);
  /* A request may take a cached block up to 25 % larger: 1100 floats (4608 B) then 1000 (4096 B).
   */
  porta_tensor *t1, *t2;
  CHECK_OK(ctx, porta_tensor_new(ctx, &t1, PORTA_F32, 1, (const int64_t[]){1100}));
  porta_tensor_free(t1);
  porta_memory_stats before, after;
  porta_memory_stats_get(ctx, &before);
  CHECK_OK(ctx, porta_tensor_new(ctx, &t2, PORTA_F32, 1, (const int64_t[]){1000}));
  porta_memory_stats_get(ctx, &after);
  check_true(&checks, after.driver_allocs == before.driver_allocs && after.cached_bytes == 0,
             "a slightly smaller request reuses the cached block (driver allocs %llu -> %llu)",
             (unsigned long long)before.driver_allocs, (unsigned long long)after.driver_allocs);
  porta_tensor_free(t2);
  porta_optimizer_free(opt);
  for (int i = 0; i < 4; i++) porta_tensor_free(params[i]);
  porta_tensor_free(x);
  porta_tensor_free(y);
}

int main(void) {
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    porta_context_options opt;
    porta_context_options_init(&opt);
    opt.backend = kinds[k];
    char err[1024];
    if (kinds[k] != PORTA_BACKEND_CPU &&
        !check_env_selects("PORTA_TEST_BACKENDS", porta_backend_name(kinds[k]))) {
      printf("---- %s skipped: not in PORTA_TEST_BACKENDS\n", porta_backend_name(kinds[k]));
      continue;
    }
    if (porta_context_create(&ctx, &opt, err, sizeof err) != PORTA_OK) {
      if (kinds[k] == PORTA_BACKEND_CPU) {
        fprintf(stderr, "FAIL cpu context: %s\n", err);
        return 1;
      }
      printf("---- %s skipped: %s\n", porta_backend_name(kinds[k]), err);
      continue;
    }
    printf("---- %s: %s\n", porta_backend_name(kinds[k]), porta_context_device(ctx)->name);
    test_accumulation();
    test_shared_gradients();
    test_no_grad_and_frozen();
    test_deferred_free_and_keep();
    test_allocator_reuse();
    porta_memory_stats st;
    porta_memory_stats_get(ctx, &st);
    check_true(&checks, st.live_bytes == 0, "everything freed: %zu live bytes", st.live_bytes);
    porta_context_destroy(ctx);
  }
  return check_finish(&checks);
}
