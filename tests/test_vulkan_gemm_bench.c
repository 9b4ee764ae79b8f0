/* GEMM shaders timed against each other: naive, tiled (shared memory + register blocks) and the
 * register-blocked shaders that CPU drivers prefer, over storage buffers (vec) and storage texel
 * buffers (texel), NN and NT.
 * By default a quick run at 256³ that checks both agree (fast enough for CI); with
 * PORTA_VULKAN_BENCH=1 the BERT shapes of bench/results-vulkan.md, best of 3 after a warm-up:
 *   PORTA_VULKAN_BENCH=1 build/tests/test_vulkan_gemm_bench
 * Exits 0 with a note when no Vulkan device exists. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"

#ifndef PORTA_HAVE_VULKAN
int main(void) {
  printf("Vulkan backend not compiled in — skipping\n");
  return 0;
}
#else
#include "backend/vulkan/vk_internal.h"

static porta_backend *be;

#define OK(call)                                                                                   \
  do {                                                                                             \
    porta_status st_ = (call);                                                                     \
    if (st_ != PORTA_OK) {                                                                         \
      printf("FAIL %s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #call, (int)st_, be->err);          \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best seconds of `reps` runs of C = A·B (after one warm-up that compiles the pipeline). */
static double time_gemm(int variant, bool trans_b, int64_t m, int64_t n, int64_t k, void *a,
                        void *b, void *c, int reps) {
  ((vk_backend *)be)->gemm_variant = variant;
  porta_gemm_args g = {false,           trans_b, m, n, k, 1.0f, 0.0f, {a, 0}, {b, 0}, {c, 0}, k,
                       trans_b ? k : n, n,       0, 0, 0, 1,    1,    0,      0,      0};
  OK(be->ops->gemm(be, &g));
  OK(be->ops->synchronize(be));
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now_s();
    OK(be->ops->gemm(be, &g));
    OK(be->ops->synchronize(be));
    double t = now_s() - t0;
    if (t < best) best = t;
  }
  return best;
}

int main(void) {
  char err[1024] = "";
  porta_status st = porta_vulkan_backend_create(&be, 0, err, sizeof err);
  if (st == PORTA_ERR_NO_DEVICE) {
    printf("no Vulkan device: %s — skipping\n", err);
    return 0;
  }
  if (st != PORTA_OK) {
    printf("FAIL: create: %s\n", err);
    return 1;
  }
  bool full = getenv("PORTA_VULKAN_BENCH") && atoi(getenv("PORTA_VULKAN_BENCH")) > 0;
  const int64_t quick[][3] = {{256, 256, 256}};
  const int64_t bert[][3] = {{512, 1536, 384}, {1024, 384, 1536}, {1024, 1024, 1024}};
  const int64_t(*shapes)[3] = full ? bert : quick;
  int n_shapes = full ? 3 : 1;
  int failures = 0;
  printf("device: %s, driver %s\n", be->info.name, be->info.driver);
  for (int s = 0; s < n_shapes; s++) {
    int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *ha = malloc((size_t)(m * k) * 4), *hb = malloc((size_t)(k * n) * 4);
    for (int64_t i = 0; i < m * k; i++) ha[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    for (int64_t i = 0; i < k * n; i++) hb[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
    void *a, *b, *c[6];
    OK(be->ops->alloc(be, (size_t)(m * k) * 4, &a));
    OK(be->ops->alloc(be, (size_t)(k * n) * 4, &b));
    for (int v = 0; v < 6; v++) OK(be->ops->alloc(be, (size_t)(m * n) * 4, &c[v]));
    OK(be->ops->upload(be, a, 0, ha, (size_t)(m * k) * 4));
    OK(be->ops->upload(be, b, 0, hb, (size_t)(k * n) * 4));
    int reps = full ? 3 : 1;
    /* NN with each shader, then NT (B read as n×k: y = x·Wᵀ) with the vec4 shader; the NT
     * product uses the same B buffer read transposed, so it is compared to a host loop */
    const char *names[6] = {"naive NN", "tiled NN", "vec NN", "vec NT", "texel NN", "texel NT"};
    const int variants[6] = {VK_GEMM_NAIVE, VK_GEMM_TILED, VK_GEMM_VEC,
                             VK_GEMM_VEC,   VK_GEMM_TEXEL, VK_GEMM_TEXEL};
    double secs[6];
    for (int v = 0; v < 6; v++)
      secs[v] = time_gemm(variants[v], v == 3 || v == 5, m, n, k, a, b, c[v], reps);
    double flops = 2.0 * (double)m * (double)n * (double)k;
    float *r[6];
    for (int v = 0; v < 6; v++) {
      r[v] = malloc((size_t)(m * n) * 4);
      OK(be->ops->download(be, c[v], 0, r[v], (size_t)(m * n) * 4));
    }
    double worst = 0;
    for (int v = 1; v < 6; v++) /* NN shaders against naive, NT against vec NT */
      for (int64_t i = 0; i < m * n; i++)
        worst = fmax(worst, fabs((double)r[v == 5 ? 3 : v == 3 ? 3 : 0][i] - r[v][i]));
    for (int64_t i = 0; i < m; i += 97) /* spot-check NT rows on the host */
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++) acc += (double)ha[i * k + p] * hb[j * k + p];
        worst = fmax(worst, fabs(acc - r[3][i * n + j]));
      }
    bool ok = worst < 1e-3;
    failures += !ok;
    printf("%s m=%lld n=%lld k=%lld (max |diff| %.1e)\n", ok ? "ok  " : "FAIL", (long long)m,
           (long long)n, (long long)k, worst);
    for (int v = 0; v < 6; v++)
      printf("     %-9s %7.2f GFLOP/s  %8.1f ms  %5.2fx naive\n", names[v], flops / secs[v] * 1e-9,
             secs[v] * 1e3, secs[0] / secs[v]);
    free(ha), free(hb);
    for (int v = 0; v < 6; v++) free(r[v]), be->ops->free(be, c[v]);
    be->ops->free(be, a), be->ops->free(be, b);
  }
  be->ops->destroy(be);
  return failures ? 1 : 0;
}
#endif
