/* End to end: a 2-layer MLP (linear - gelu - dropout 0.1 - linear + cross-entropy) trained with
 * AdamW on an XOR-like toy task (4 Gaussian blobs, label = sign(x)·sign(y) < 0), full batch,
 * fixed seed, on every backend that can be created.
 * Pass: the final loss after 100 steps is below 0.05 (it starts near ln 2 = 0.693), the warmed-up
 * steps never reach the driver allocator, and a GPU backend's loss curve matches the CPU's at every
 * step within 1e-3 + 1e-2·loss (same data, init and dropout masks). Unavailable backends print
 * "skipped: <reason>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "porta/porta.h"

#define N 128
#define IN 2
#define HIDDEN 16
#define CLASSES 2
#define STEPS 100
#define FINAL_LOSS_MAX 0.05f

static int failures = 0;

typedef struct dataset {
  float x[N * IN];
  int32_t y[N];
  float w1[HIDDEN * IN], b1[HIDDEN], w2[CLASSES * HIDDEN], b2[CLASSES];
} dataset;

static uint64_t rng_state = 2024;
static float uniform01(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) * (1.0 / 16777216.0));
}
static float normal(void) { /* Box-Muller */
  float u = uniform01() + 1e-7f, v = uniform01();
  return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static void make_dataset(dataset *d) {
  for (int i = 0; i < N; i++) {
    float cx = (i & 1) ? 1.0f : -1.0f, cy = (i & 2) ? 1.0f : -1.0f;
    d->x[i * IN + 0] = cx + 0.3f * normal();
    d->x[i * IN + 1] = cy + 0.3f * normal();
    d->y[i] = (cx * cy < 0) ? 1 : 0;
  }
  float s1 = 1.0f / sqrtf((float)IN), s2 = 1.0f / sqrtf((float)HIDDEN);
  for (int i = 0; i < HIDDEN * IN; i++) d->w1[i] = s1 * (2 * uniform01() - 1);
  for (int i = 0; i < HIDDEN; i++) d->b1[i] = s1 * (2 * uniform01() - 1);
  for (int i = 0; i < CLASSES * HIDDEN; i++) d->w2[i] = s2 * (2 * uniform01() - 1);
  for (int i = 0; i < CLASSES; i++) d->b2[i] = s2 * (2 * uniform01() - 1);
}

#define TRY(call)                                                                                  \
  do {                                                                                             \
    porta_status st_ = (call);                                                                     \
    if (st_ != PORTA_OK) {                                                                         \
      printf("FAIL %s: %s -> %s: %s\n", name, #call, porta_status_string(st_),                     \
             porta_last_error(ctx));                                                               \
      failures++;                                                                                  \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

/* Trains on `kind`; fills losses[STEPS]. Returns false when the backend is unavailable. */
static bool train(porta_backend_kind kind, const dataset *d, float *losses) {
  const char *name = porta_backend_name(kind);
  porta_context_options opt;
  porta_context_options_init(&opt);
  opt.backend = kind;
  opt.seed = 7;
  char err[1024];
  porta_context *ctx = NULL;
  porta_status st = porta_context_create(&ctx, &opt, err, sizeof err);
  if (st != PORTA_OK) {
    printf("%-7s skipped: %s (%s)\n", name, err, porta_status_string(st));
    return false;
  }
  porta_tensor *x = NULL, *y = NULL, *params[4] = {NULL};
  porta_optimizer *adamw = NULL;
  const float *init[4] = {d->w1, d->b1, d->w2, d->b2};
  const int64_t shapes[4][2] = {{HIDDEN, IN}, {HIDDEN, 0}, {CLASSES, HIDDEN}, {CLASSES, 0}};
  TRY(porta_tensor_from_host(ctx, &x, PORTA_F32, 2, (const int64_t[]){N, IN}, d->x));
  TRY(porta_tensor_from_host(ctx, &y, PORTA_I32, 1, (const int64_t[]){N}, d->y));
  for (int i = 0; i < 4; i++) {
    TRY(porta_tensor_from_host(ctx, &params[i], PORTA_F32, shapes[i][1] ? 2 : 1, shapes[i],
                               init[i]));
    TRY(porta_tensor_set_requires_grad(params[i], true));
  }
  porta_adamw_options ao;
  porta_adamw_options_init(&ao);
  ao.weight_decay = 0.01f;
  bool decay[4] = {true, false, true, false};
  TRY(porta_adamw_create(&adamw, ctx, params, 4, decay, &ao));
  uint64_t allocs_step2 = 0;
  for (int step = 0; step < STEPS; step++) {
    porta_tensor *h, *g, *dr, *logits, *loss;
    TRY(porta_optimizer_zero_grad(adamw));
    TRY(porta_linear(&h, x, params[0], params[1])); /* [N, HIDDEN] */
    TRY(porta_gelu(&g, h));
    TRY(porta_dropout(&dr, g, 0.1f));
    TRY(porta_linear(&logits, dr, params[2], params[3])); /* [N, CLASSES] */
    TRY(porta_cross_entropy(&loss, logits, y));
    TRY(porta_backward(loss));
    TRY(porta_optimizer_step(adamw, 3e-2f));
    TRY(porta_tensor_download(loss, &losses[step], 1));
    porta_release_temporaries(ctx);
    porta_memory_stats ms;
    porta_memory_stats_get(ctx, &ms);
    if (step == 2) allocs_step2 = ms.driver_allocs;
    if (step == STEPS - 1) {
      bool ok = ms.driver_allocs == allocs_step2;
      printf("%s %-7s driver allocs after step 3: %llu, after step %d: %llu\n",
             ok ? "ok  " : "FAIL", name, (unsigned long long)allocs_step2, STEPS,
             (unsigned long long)ms.driver_allocs);
      failures += !ok;
    }
  }
  bool ok = losses[STEPS - 1] < FINAL_LOSS_MAX;
  printf("%s %-7s loss %.4f (step 1) -> %.4f (step 50) -> %.4f (step %d), want < %.2f\n",
         ok ? "ok  " : "FAIL", name, (double)losses[0], (double)losses[49],
         (double)losses[STEPS - 1], STEPS, (double)FINAL_LOSS_MAX);
  failures += !ok;
done:
  porta_optimizer_free(adamw);
  for (int i = 0; i < 4; i++) porta_tensor_free(params[i]);
  porta_tensor_free(x);
  porta_tensor_free(y);
  porta_context_destroy(ctx);
  return true;
}

int main(void) {
  static dataset d;
  make_dataset(&d);
  static float cpu[STEPS], gpu[STEPS];
  if (!train(PORTA_BACKEND_CPU, &d, cpu)) {
    printf("FAIL the CPU backend must always be available\n");
    return 1;
  }
  porta_backend_kind kinds[2] = {PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 2; k++) {
    memset(gpu, 0, sizeof gpu);
    if (!check_env_selects("PORTA_TEST_BACKENDS", porta_backend_name(kinds[k]))) {
      printf("%-7s skipped: not in PORTA_TEST_BACKENDS\n", porta_backend_name(kinds[k]));
      continue;
    }
    if (!train(kinds[k], &d, gpu)) continue;
    float worst = 0.0f;
    int worst_step = 0;
    bool ok = true;
    for (int s = 0; s < STEPS; s++) {
      float diff = fabsf(gpu[s] - cpu[s]);
      if (diff > worst) {
        worst = diff;
        worst_step = s;
      }
      ok = ok && diff <= 1e-3f + 1e-2f * cpu[s];
    }
    printf("%s %-7s loss curve vs cpu: max |diff| %.2e at step %d (%.5f vs %.5f)\n",
           ok ? "ok  " : "FAIL", porta_backend_name(kinds[k]), (double)worst, worst_step + 1,
           (double)gpu[worst_step], (double)cpu[worst_step]);
    failures += !ok;
  }
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
