/* SGEMM throughput of the OpenCL backend's implementations at BERT shapes: CLBlast, our CPU-shaped
 * kernel (kernels/gemm_cpu.cl), our GPU-shaped kernel (kernels/gemm_gpu.cl), and OpenBLAS on the
 * host for reference. Prints a Markdown table of GFLOP/s (best of `reps` runs after a warm-up).
 *
 *   usage: opencl_gemm [reps]      (PORTA_DEVICE picks the OpenCL device)
 *   BENCH_CPU_TIME=1: GFLOP per CPU-second of the process instead of per wall second (steadier
 *   on a shared machine; compares kernel efficiency, not throughput). BENCH_ONLY=clblast|own_cpu|
 *   own_gpu|openblas: one column only.
 *
 * Build (from the repository root, after configuring build-opencl):
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Isrc \
 *       bench/opencl_gemm.c src/backend/opencl/\*.c build-opencl/generated/kernels_embedded.c \
 *       -o build-opencl/opencl_gemm -lOpenCL -lclblast -lopenblas -lm
 * (or link build-opencl/libporta.a in place of the sources) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/opencl/opencl_backend.h"

typedef struct shape {
  const char *what;
  bool ta, tb;
  int64_t batch, m, n, k;
} shape;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (the driver's worker threads included). */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static porta_gemm_args make_args(const shape *s, void *a, void *b, void *c) {
  porta_gemm_args g = {0};
  g.trans_a = s->ta, g.trans_b = s->tb;
  g.m = s->m, g.n = s->n, g.k = s->k, g.batch = s->batch;
  g.alpha = 1.0f, g.beta = 0.0f;
  g.a = (porta_ref){a, 0}, g.b = (porta_ref){b, 0}, g.c = (porta_ref){c, 0};
  g.lda = s->ta ? s->m : s->k;
  g.ldb = s->tb ? s->k : s->n;
  g.ldc = s->n;
  g.stride_a = s->m * s->k, g.stride_b = s->k * s->n, g.stride_c = s->m * s->n;
  return g;
}

/* GFLOP/s of one implementation, or 0 when it fails. */
static double time_impl(porta_backend *be, porta_opencl_gemm_mode mode, const porta_gemm_args *g,
                        int reps) {
  porta_opencl_set_gemm_mode(be, mode);
  if (be->ops->gemm(be, g) != PORTA_OK || be->ops->synchronize(be) != PORTA_OK) {
    fprintf(stderr, "gemm failed: %s\n", be->err);
    return 0.0;
  }
  double best = 1e30, best_cpu = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now(), c0 = cpu_now();
    be->ops->gemm(be, g);
    be->ops->synchronize(be);
    double t = now() - t0, c = cpu_now() - c0;
    if (t < best) best = t;
    if (c < best_cpu) best_cpu = c;
  }
  /* BENCH_CPU_TIME=1: GFLOP per CPU-second of the process (a steadier signal than wall time on
   * a loaded machine, for comparing kernel variants; not a throughput). */
  if (getenv("BENCH_CPU_TIME")) best = best_cpu;
  return 2.0 * (double)(g->batch * g->m * g->n * g->k) / best * 1e-9;
}

static double time_openblas(const shape *s, const float *a, const float *b, float *c, int reps) {
  double best = 1e30;
  bool cpu_time = getenv("BENCH_CPU_TIME") != NULL;
  for (int r = 0; r <= reps; r++) {
    double t0 = cpu_time ? cpu_now() : now();
    for (int64_t i = 0; i < s->batch; i++)
      cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                  s->tb ? CblasTrans : CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f,
                  a + i * s->m * s->k, s->ta ? (int)s->m : (int)s->k, b + i * s->k * s->n,
                  s->tb ? (int)s->k : (int)s->n, 0.0f, c + i * s->m * s->n, (int)s->n);
    double t = (cpu_time ? cpu_now() : now()) - t0;
    if (r > 0 && t < best) best = t; /* r = 0 is the warm-up */
  }
  return 2.0 * (double)(s->batch * s->m * s->n * s->k) / best * 1e-9;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  char err[1024];
  porta_backend *be = NULL;
  porta_status st = porta_opencl_backend_create(&be, -1, err, sizeof err);
  if (st != PORTA_OK) {
    fprintf(stderr, "opencl: %s\n", err);
    return 1;
  }
  const shape shapes[] = {
      {"QKV/out proj fwd x·Wᵀ", false, true, 1, 1024, 384, 384},
      {"FFN up fwd x·Wᵀ", false, true, 1, 1024, 1536, 384},
      {"FFN down fwd x·Wᵀ", false, true, 1, 1024, 384, 1536},
      {"FFN up bwd dY·W", false, false, 1, 1024, 384, 1536},
      {"FFN up bwd dWᵀ: dYᵀ·X", true, false, 1, 1536, 384, 1024},
      {"plain NN", false, false, 1, 1024, 384, 384},
      {"plain NN", false, false, 1, 1024, 1536, 384},
      {"plain NN", false, false, 1, 1024, 384, 1536},
      {"attention Q·Kᵀ (48 heads·seqs)", false, true, 48, 128, 128, 32},
      {"attention P·V (48 heads·seqs)", false, false, 48, 128, 32, 128},
      {"attention Q·Kᵀ seq 384 (12 heads)", false, true, 12, 384, 384, 32},
  };
  printf("device: %s | %s | driver %s\n\n", be->info.name, be->info.api_version, be->info.driver);
  printf("| shape | tA tB | batch×m×n×k | CLBlast | own_cpu | own_gpu | OpenBLAS (host) |\n");
  printf("|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const shape *s = &shapes[i];
    size_t na = (size_t)(s->batch * s->m * s->k), nb = (size_t)(s->batch * s->k * s->n);
    size_t nc = (size_t)(s->batch * s->m * s->n);
    float *ha = malloc(na * 4), *hb = malloc(nb * 4), *hc = malloc(nc * 4);
    for (size_t j = 0; j < na; j++) ha[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t j = 0; j < nb; j++) hb[j] = (float)((j * 104729) % 1000) / 1000.0f - 0.5f;
    void *a, *b, *c;
    be->ops->alloc(be, na * 4, &a);
    be->ops->alloc(be, nb * 4, &b);
    be->ops->alloc(be, nc * 4, &c);
    be->ops->upload(be, a, 0, ha, na * 4);
    be->ops->upload(be, b, 0, hb, nb * 4);
    porta_gemm_args g = make_args(s, a, b, c);
    /* BENCH_ONLY=own_cpu (etc.) times one implementation (for tuning). */
    const char *only = getenv("BENCH_ONLY");
    bool all = !only || !*only;
    double clb =
        all || !strcmp(only, "clblast") ? time_impl(be, PORTA_OPENCL_GEMM_CLBLAST, &g, reps) : 0;
    double own_cpu =
        all || !strcmp(only, "own_cpu") ? time_impl(be, PORTA_OPENCL_GEMM_OWN_CPU, &g, reps) : 0;
    double own_gpu = all || !strcmp(only, "own_gpu")
                         ? time_impl(be, PORTA_OPENCL_GEMM_OWN_GPU, &g, reps > 2 ? 2 : reps)
                         : 0;
    double blas = all || !strcmp(only, "openblas") ? time_openblas(s, ha, hb, hc, reps) : 0;
    printf("| %s | %d %d | %lld×%lld×%lld×%lld | %.1f | %.1f | %.1f | %.1f |\n", s->what, s->ta,
           s->tb, (long long)s->batch, (long long)s->m, (long long)s->n, (long long)s->k, clb,
           own_cpu, own_gpu, blas);
    fflush(stdout);
    be->ops->free(be, a);
    be->ops->free(be, b);
    be->ops->free(be, c);
    free(ha);
    free(hb);
    free(hc);
  }
  be->ops->destroy(be);
  return 0;
}
