/* porta bench's all-reduce section: time and bus bandwidth of an f32 sum all-reduce against
 * message size, as nccl-tests reports them (busbw = algbw · 2(n-1)/n for a ring all-reduce). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/comm_internal.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

porta_status porta_bench_allreduce(porta_comm *comm, size_t bytes, int repeat,
                                   porta_bench_result *out) {
  if (!comm || !out || repeat < 1) return PORTA_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  size_t count = bytes / sizeof(float);
  float *buf = malloc((count ? count : 1) * sizeof(float));
  double *times = malloc((size_t)repeat * sizeof(double));
  if (!buf || !times) {
    free(buf), free(times);
    return porta_comm_fail(comm, PORTA_ERR_OUT_OF_MEMORY, "bench: out of memory");
  }
  for (size_t i = 0; i < count; i++) buf[i] = 1.0f;
  porta_status st = PORTA_OK;
  for (int r = -2; st == PORTA_OK && r < repeat; r++) { /* 2 warm-up runs */
    st = porta_comm_barrier(comm);
    double t0 = now_seconds();
    if (st == PORTA_OK) st = porta_comm_allreduce(comm, buf, count, PORTA_COMM_F32, PORTA_COMM_SUM);
    /* the slowest rank's time, as nccl-tests reports */
    double dt = now_seconds() - t0;
    if (st == PORTA_OK) st = porta_comm_allreduce(comm, &dt, 1, PORTA_COMM_F64, PORTA_COMM_MAX);
    if (r >= 0) times[r] = dt;
  }
  if (st == PORTA_OK) {
    qsort(times, (size_t)repeat, sizeof *times, compare_double);
    double t = times[repeat / 2], n = comm->size;
    snprintf(out->section, sizeof out->section, "allreduce");
    snprintf(out->name, sizeof out->name, "allreduce f32 sum %zu bytes, %d ranks", count * 4,
             comm->size);
    out->m = (int64_t)(count * 4);
    out->batch = comm->size;
    out->median_ms = t * 1e3;
    out->value = t > 0 ? (double)(count * 4) / t / 1e9 * 2.0 * (n - 1) / n : 0; /* busbw */
    snprintf(out->unit, sizeof out->unit, "GB/s bus");
    out->fraction_of_peak = -1;
    out->repeat = repeat;
  }
  free(buf), free(times);
  return st;
}
