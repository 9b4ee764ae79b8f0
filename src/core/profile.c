/* Per-op profiling: the backend's own timers (profile_enable / profile_read) when it has them,
 * otherwise the core synchronises around each call and times it on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

uint64_t porta_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void porta_profile_start(porta_context *ctx) {
  ctx->profile = true;
  porta_backend *be = ctx->be;
  if (be->ops->profile_enable && be->ops->profile_read) {
    be->ops->profile_enable(be, true);
    ctx->profile_host = false;
  } else {
    ctx->profile_host = true;
  }
  porta_profile_reset(ctx);
}

/* Totals since the backend (or host timing) started. */
static porta_status read_totals(porta_context *ctx, uint64_t ns[PORTA_OP_COUNT],
                                uint64_t calls[PORTA_OP_COUNT]) {
  if (ctx->profile_host) {
    memcpy(ns, ctx->prof_ns, sizeof ctx->prof_ns);
    memcpy(calls, ctx->prof_calls, sizeof ctx->prof_calls);
    return PORTA_OK;
  }
  memset(ns, 0, sizeof(uint64_t) * PORTA_OP_COUNT);
  memset(calls, 0, sizeof(uint64_t) * PORTA_OP_COUNT);
  ctx->be->err[0] = '\0';
  porta_status st = ctx->be->ops->profile_read(ctx->be, ns, calls);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, "porta_profile_report");
  return PORTA_OK;
}

void porta_profile_reset(porta_context *ctx) {
  if (!ctx || !ctx->profile) return;
  if (read_totals(ctx, ctx->prof_base_ns, ctx->prof_base_calls) != PORTA_OK) {
    memset(ctx->prof_base_ns, 0, sizeof ctx->prof_base_ns);
    memset(ctx->prof_base_calls, 0, sizeof ctx->prof_base_calls);
  }
}

porta_status porta_profile_report(porta_context *ctx, char *buf, size_t size) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (!buf || size == 0)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_profile_report: buf is NULL");
  buf[0] = '\0';
  if (!ctx->profile)
    return porta_fail(ctx, PORTA_ERR_STATE,
                      "porta_profile_report: profiling is off (set options.profile or "
                      "PORTA_PROFILE=1)");
  porta_status st = porta_synchronize(ctx);
  if (st != PORTA_OK) return st;
  uint64_t ns[PORTA_OP_COUNT], calls[PORTA_OP_COUNT];
  st = read_totals(ctx, ns, calls);
  if (st != PORTA_OK) return st;
  uint64_t total = 0;
  for (int op = 0; op < PORTA_OP_COUNT; op++) {
    ns[op] -= ns[op] >= ctx->prof_base_ns[op] ? ctx->prof_base_ns[op] : ns[op];
    calls[op] -= calls[op] >= ctx->prof_base_calls[op] ? ctx->prof_base_calls[op] : calls[op];
    total += ns[op];
  }
  /* Ops by time, largest first (selection over at most PORTA_OP_COUNT entries). */
  int order[PORTA_OP_COUNT];
  for (int i = 0; i < PORTA_OP_COUNT; i++) order[i] = i;
  for (int i = 0; i < PORTA_OP_COUNT; i++)
    for (int j = i + 1; j < PORTA_OP_COUNT; j++)
      if (ns[order[j]] > ns[order[i]]) {
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
      }
  size_t n = (size_t)snprintf(buf, size, "%-20s %10s %12s %7s  (%s, %s timers)\n", "op", "calls",
                              "ms", "share", porta_backend_name(ctx->kind),
                              ctx->profile_host ? "host" : "device");
  for (int i = 0; i < PORTA_OP_COUNT && n < size; i++) {
    int op = order[i];
    if (calls[op] == 0) continue;
    double share = total ? 100.0 * (double)ns[op] / (double)total : 0.0;
    n += (size_t)snprintf(buf + n, size - n, "%-20s %10llu %12.3f %6.1f%%\n",
                          porta_op_name((porta_op)op), (unsigned long long)calls[op],
                          (double)ns[op] / 1e6, share);
  }
  if (n < size)
    snprintf(buf + n, size - n, "%-20s %10s %12.3f %6.1f%%\n", "total", "", (double)total / 1e6,
             total ? 100.0 : 0.0);
  return PORTA_OK;
}
