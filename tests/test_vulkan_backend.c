/* The Vulkan backend's machinery against host computations: device listing, a bad device index,
 * buffer round trips with offsets, sub-allocation, a buffer over maxStorageBufferRange used by
 * ops at its far end (bound in ranges), many dispatches batched before one download, deferred
 * frees, profiling, the pipeline cache file, and no validation messages when
 * PORTA_VULKAN_VALIDATION=1. Exits 0 (with a note) when no Vulkan device exists. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"

#ifndef PORTA_HAVE_VULKAN
int main(void) {
  printf("Vulkan backend not compiled in — skipping\n");
  return 0;
}
#else
#include "backend/vulkan/vk_internal.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                       \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
    }                                                                                              \
  } while (0)

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

static void test_listing(void) {
  porta_device_info infos[8];
  int count = 0;
  char err[512] = "";
  porta_status st = porta_vulkan_list_devices(infos, 8, &count, err, sizeof err);
  CHECK(st == PORTA_OK, "list: %s", err);
  CHECK(count >= 1, "count %d", count);
  for (int i = 0; i < count && i < 8; i++) {
    porta_device_info *d = &infos[i];
    printf("device %d: %s | vendor %s | driver %s | %s | subgroup %d | max wg %d | "
           "max_alloc %llu | fp16 %d int8 %d cpu %d\n  %s\n",
           d->index, d->name, d->vendor, d->driver, d->api_version, d->subgroup_size,
           d->max_workgroup_size, (unsigned long long)d->max_alloc_bytes, d->fp16, d->int8,
           d->is_cpu, d->extra);
    CHECK(d->name[0] && d->api_version[0] && d->driver[0], "empty fields");
    CHECK(d->max_alloc_bytes > 0 && d->max_workgroup_size >= 128, "limits");
    CHECK(d->backend == PORTA_BACKEND_VULKAN && d->index == i, "index");
  }
  porta_backend *be = NULL;
  st = porta_vulkan_backend_create(&be, 99, err, sizeof err);
  printf("device 99: status %d, \"%s\"\n", (int)st, err);
  CHECK(st == PORTA_ERR_NO_DEVICE && be == NULL && strstr(err, "out of range"), "bad index");
}

static void test_round_trips(porta_backend *be) {
  enum { N = 1000 };
  float host[N], back[N];
  for (int i = 0; i < N; i++) host[i] = (float)i * 0.5f - 7.0f;
  void *a, *b;
  OK(be->ops->alloc(be, N * 4, &a));
  OK(be->ops->alloc(be, N * 4, &b));
  OK(be->ops->upload(be, a, 0, host, N * 4));
  OK(be->ops->upload(be, a, 40, host + 500, 100 * 4)); /* a[10..110) = host[500..600) */
  OK(be->ops->copy(be, b, 8, a, 4, (N - 2) * 4));      /* b[2..N) = a[1..N-1) */
  OK(be->ops->fill(be, (porta_ref){b, 0}, 2, 42.0f));  /* b[0..2) = 42 */
  OK(be->ops->download(be, b, 0, back, N * 4));
  int bad = 0;
  for (int i = 0; i < N; i++) {
    float a_i1 =
        i >= 2 ? (i - 1 >= 10 && i - 1 < 110 ? host[500 + i - 1 - 10] : host[i - 1]) : 42.0f;
    if (back[i] != a_i1) bad++;
  }
  CHECK(bad == 0, "%d mismatches in upload/copy/fill round trip", bad);
  float part[3];
  OK(be->ops->download(be, a, 4 * 998, part, 8));
  CHECK(part[0] == host[998] && part[1] == host[999], "download at offset: %g %g", part[0],
        part[1]);
  CHECK(be->ops->download(be, a, 4 * 999, part, 8) == PORTA_ERR_INVALID_ARGUMENT,
        "out-of-range download accepted");
  printf("round trips: upload/copy/fill/download with offsets, %d mismatches\n", bad);
  void *huge = NULL;
  porta_status st = be->ops->alloc(be, (size_t)1 << 40, &huge);
  printf("1 TiB alloc: status %d, \"%s\"\n", (int)st, be->err);
  CHECK(st == PORTA_ERR_DEVICE_MEMORY && huge == NULL, "1 TiB alloc");
  be->ops->free(be, a);
  be->ops->free(be, b);

  /* 500 small tensors come from a few blocks, not 500 driver allocations */
  void *bufs[500];
  for (int i = 0; i < 500; i++) OK(be->ops->alloc(be, (size_t)(i % 7 + 1) * 1000, &bufs[i]));
  int blocks = ((vk_backend *)be)->n_blocks;
  printf("sub-allocation: 500 buffers live in %d block(s)\n", blocks);
  CHECK(blocks <= 3, "%d blocks", blocks);
  for (int i = 0; i < 500; i++) be->ops->free(be, bufs[i]);
  OK(be->ops->synchronize(be));
}

/* A buffer larger than maxStorageBufferRange: ops bind it in ranges. */
static void test_big_buffer(porta_backend *be) {
  vk_backend *vb = (vk_backend *)be;
  const int64_t dim = 768, vocab = 54000; /* 159 MB, like roberta-base's 154 MB table */
  const int64_t n = dim * vocab;
  printf("big buffer: %.1f MiB, maxStorageBufferRange %.1f MiB\n", (double)n * 4 / 1048576.0,
         (double)vb->max_range / 1048576.0);
  void *big, *out, *ids, *small;
  OK(be->ops->alloc(be, (size_t)n * 4, &big));
  OK(be->ops->alloc(be, 4 * (size_t)dim * 4, &out));
  OK(be->ops->alloc(be, 4 * 4, &ids));
  OK(be->ops->alloc(be, 4096 * 4, &small));
  OK(be->ops->fill(be, (porta_ref){big, 0}, n, 1.0f));
  /* the whole buffer through a chunked op: x = 2x + 1 = 3 */
  porta_unary_args u = {PORTA_UNARY_SCALE, {big, 0}, {big, 0}, n, 2.0f, 1.0f};
  OK(be->ops->unary(be, &u));
  /* its far end through an op: last 4096 elements += their index */
  float ramp[4096];
  for (int i = 0; i < 4096; i++) ramp[i] = (float)i;
  OK(be->ops->upload(be, small, 0, ramp, sizeof ramp));
  porta_binary_args add = {PORTA_BINARY_ADD, {big, (size_t)(n - 4096)}, {big, (size_t)(n - 4096)},
                           {small, 0},       {1, 1, 1, 4096},           {0, 0, 0, 1},
                           {0, 0, 0, 1}};
  OK(be->ops->binary(be, &add));
  /* embedding rows from both ends of the table, one id out of range */
  int32_t id_host[4] = {0, (int32_t)vocab - 1, 40000, -3};
  OK(be->ops->upload(be, ids, 0, id_host, sizeof id_host));
  porta_embedding_args emb = {{out, 0}, {big, 0}, {ids, 0}, 4, dim, vocab};
  OK(be->ops->embedding(be, &emb));
  float rows[4 * 768];
  OK(be->ops->download(be, out, 0, rows, sizeof rows));
  float tail[4096];
  OK(be->ops->download(be, big, (size_t)(n - 4096) * 4, tail, sizeof tail));
  int bad = 0;
  for (int i = 0; i < 4096; i++) bad += tail[i] != 3.0f + (float)i;
  CHECK(bad == 0, "%d wrong at the far end (tail[4095] = %g)", bad, tail[4095]);
  int bad_rows = 0;
  for (int d = 0; d < dim; d++) {
    float last = 3.0f + (float)(4096 - dim + d); /* last row: the ramp's final 768 values */
    bad_rows += rows[d] != 3.0f;
    bad_rows += rows[dim + d] != last;
    bad_rows += rows[2 * dim + d] != 3.0f;
    bad_rows += rows[3 * dim + d] != 0.0f;
  }
  CHECK(bad_rows == 0, "%d wrong embedding values (last row [0] = %g)", bad_rows, rows[dim]);
  /* embedding backward into the far end */
  float dout[4 * 768];
  for (int i = 0; i < 4 * 768; i++) dout[i] = 0.25f;
  void *dbuf;
  OK(be->ops->alloc(be, sizeof dout, &dbuf));
  OK(be->ops->upload(be, dbuf, 0, dout, sizeof dout));
  int32_t id2[4] = {(int32_t)vocab - 1, 7, (int32_t)vocab - 1, (int32_t)vocab};
  OK(be->ops->upload(be, ids, 0, id2, sizeof id2));
  porta_embedding_bwd_args eb = {{big, 0}, {dbuf, 0}, {ids, 0}, 4, dim, vocab};
  OK(be->ops->embedding_bwd(be, &eb));
  float last_row[768], row7[768];
  OK(be->ops->download(be, big, (size_t)((vocab - 1) * dim) * 4, last_row, sizeof last_row));
  OK(be->ops->download(be, big, (size_t)(7 * dim) * 4, row7, sizeof row7));
  bad = 0;
  for (int d = 0; d < dim; d++) {
    bad += last_row[d] != 3.0f + (float)(4096 - dim + d) + 0.5f;
    bad += row7[d] != 3.25f;
  }
  CHECK(bad == 0, "%d wrong after embedding_bwd (last row [0] = %g, row 7 [0] = %g)", bad,
        last_row[0], row7[0]);
  /* sum of squares over all of it */
  void *acc;
  OK(be->ops->alloc(be, 4, &acc));
  OK(be->ops->fill(be, (porta_ref){big, 0}, n, 0.5f));
  porta_sumsq_args sq = {{acc, 0}, {big, 0}, n, false};
  OK(be->ops->sumsq(be, &sq));
  float total;
  OK(be->ops->download(be, acc, 0, &total, 4));
  double want = 0.25 * (double)n;
  CHECK(fabs(total - want) / want < 1e-5, "sumsq %g, want %g", total, want);
  printf("big buffer: unary/binary/embedding/embedding_bwd/sumsq across %lld elements, "
         "tail ok=%d rows ok=%d sumsq %.0f (want %.0f)\n",
         (long long)n, bad == 0, bad_rows == 0, total, want);
  be->ops->free(be, acc);
  be->ops->free(be, dbuf);
  be->ops->free(be, big);
  be->ops->free(be, out);
  be->ops->free(be, ids);
  be->ops->free(be, small);
  OK(be->ops->synchronize(be));
}

/* 600 dispatches recorded, then one download; frees in between are deferred. */
static void test_batching(porta_backend *be) {
  enum { N = 4096, STEPS = 600 };
  void *x;
  OK(be->ops->alloc(be, N * 4, &x));
  OK(be->ops->fill(be, (porta_ref){x, 0}, N, 0.0f));
  double t0 = now_s();
  for (int s = 0; s < STEPS; s++) {
    porta_unary_args u = {PORTA_UNARY_SCALE, {x, 0}, {x, 0}, N, 1.0f, 1.0f};
    OK(be->ops->unary(be, &u));
    if (s % 50 == 0) { /* a temporary used and freed mid-batch */
      void *tmp;
      OK(be->ops->alloc(be, N * 4, &tmp));
      OK(be->ops->copy(be, tmp, 0, x, 0, N * 4));
      be->ops->free(be, tmp);
    }
  }
  double t1 = now_s();
  float back[N];
  OK(be->ops->download(be, x, 0, back, sizeof back));
  double t2 = now_s();
  int bad = 0;
  for (int i = 0; i < N; i++) bad += back[i] != (float)STEPS;
  CHECK(bad == 0, "%d wrong after %d dispatches (back[0] = %g)", bad, STEPS, back[0]);
  printf("batching: %d dispatches recorded in %.1f ms, download waited %.1f ms, value %g\n", STEPS,
         1e3 * (t1 - t0), 1e3 * (t2 - t1), back[0]);
  be->ops->free(be, x);
}

static void test_profiling(porta_backend *be) {
  if (!be->ops->profile_enable) return;
  be->ops->profile_enable(be, true);
  void *x;
  OK(be->ops->alloc(be, 65536 * 4, &x));
  OK(be->ops->fill(be, (porta_ref){x, 0}, 65536, 1.0f));
  for (int i = 0; i < 3; i++) {
    porta_unary_args u = {PORTA_UNARY_GELU, {x, 0}, {x, 0}, 65536, 0, 0};
    OK(be->ops->unary(be, &u));
  }
  uint64_t ns[PORTA_OP_COUNT], calls[PORTA_OP_COUNT];
  porta_status st = be->ops->profile_read(be, ns, calls);
  if (st == PORTA_ERR_UNSUPPORTED) {
    printf("profiling: no timestamps on this queue (%s)\n", be->err);
  } else {
    CHECK(st == PORTA_OK, "profile_read: %s", be->err);
    printf("profiling: unary %llu calls, %llu ns\n", (unsigned long long)calls[PORTA_OP_UNARY],
           (unsigned long long)ns[PORTA_OP_UNARY]);
    CHECK(calls[PORTA_OP_UNARY] == 3 && ns[PORTA_OP_UNARY] > 0, "profile counts");
  }
  be->ops->profile_enable(be, false);
  be->ops->free(be, x);
}

/* The peak-FLOP probe computes what it says (fma may round like mul + add on Vulkan). */
static void test_bench_fma(porta_backend *be) {
  if (!be->ops->bench_fma) return;
  enum { N = 3000, ITERS = 200 };
  void *out;
  OK(be->ops->alloc(be, N * 4, &out));
  OK(be->ops->bench_fma(be, (porta_ref){out, 0}, N, ITERS));
  float got[N];
  OK(be->ops->download(be, out, 0, got, sizeof got));
  double worst = 0;
  for (int i = 0; i < N; i++) {
    float x = (float)(i & 1023) * 0.0009765625f, sum = 0;
    for (int j = 0; j < 8; j++) {
      float a = x + 0.1f * (float)j;
      for (int it = 0; it < ITERS; it++) a = fmaf(a, 0.99990f, 0.00005f);
      sum += a;
    }
    worst = fmax(worst, fabs((double)got[i] - sum) / fabs((double)sum));
  }
  printf("bench_fma: %d items x %d iterations, max rel err %.1e\n", N, ITERS, worst);
  CHECK(worst < 1e-4, "bench_fma error %g", worst);
  be->ops->free(be, out);
}

int main(void) {
  char err[1024] = "";
  porta_device_info info;
  int count = 0;
  porta_status st = porta_vulkan_list_devices(&info, 1, &count, err, sizeof err);
  if (st == PORTA_ERR_NO_DEVICE) {
    printf("no Vulkan device: %s — skipping\n", err);
    return 0;
  }
  test_listing();
  porta_backend *be = NULL;
  st = porta_vulkan_backend_create(&be, 0, err, sizeof err);
  if (st != PORTA_OK) {
    printf("FAIL: porta_vulkan_backend_create: %d %s\n", (int)st, err);
    return 1;
  }
  printf("backend on %s (%s)\n", be->info.name, be->info.driver);
  test_round_trips(be);
  test_big_buffer(be);
  test_batching(be);
  test_profiling(be);
  test_bench_fma(be);
  OK(be->ops->synchronize(be));
  int errors = porta_vulkan_validation_errors(be);
  int warnings = porta_vulkan_validation_warnings(be);
  char cache[1024];
  snprintf(cache, sizeof cache, "%s", porta_vulkan_pipeline_cache_path(be));
  be->ops->destroy(be);
  struct stat sb;
  if (getenv("PORTA_CACHE_DIR")) {
    CHECK(cache[0] && stat(cache, &sb) == 0 && sb.st_size > 0, "pipeline cache %s missing", cache);
    printf("pipeline cache: %s (%lld bytes)\n", cache, cache[0] ? (long long)sb.st_size : 0ll);
  }
  printf("validation: %d error(s), %d warning(s)\n", errors, warnings);
  CHECK(errors == 0 && warnings == 0, "validation messages");
  printf(failures ? "FAILED: %d check(s)\n" : "all Vulkan backend checks passed\n", failures);
  return failures ? 1 : 0;
}
#endif /* PORTA_HAVE_VULKAN */
