/* --backend auto: a real GPU when there is one (discrete before integrated; Vulkan or OpenCL,
 * whichever passes the self-test and runs a short GEMM faster, both cached), else the CPU
 * backend. CPU emulators (PoCL, lavapipe) are never chosen: on the same cores the CPU backend
 * is faster (DESIGN.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

enum { AUTO_MAX = 16 };

typedef struct auto_candidate {
  porta_backend_kind kind;
  porta_device_info info;
  double gflops; /* its cached GEMM timing; 0: not tried or failed */
} auto_candidate;

/* Appends to a reason string, cutting at its end. */
static void add(char *reason, size_t size, const char *fmt, const char *a, const char *b) {
  size_t len = strlen(reason);
  if (len + 1 < size) snprintf(reason + len, size - len, fmt, a, b);
}

void porta_auto_choose(int want_device, porta_backend_kind *kind, int *device, char *reason,
                       size_t reason_size) {
  *kind = PORTA_BACKEND_CPU;
  *device = 0;
  auto_candidate *c = malloc(2 * AUTO_MAX * sizeof *c);
  porta_selftest_report *r = malloc(sizeof *r);
  if (!c || !r) {
    free(c);
    free(r);
    snprintf(reason, reason_size, "auto: out of host memory listing devices: the CPU backend");
    return;
  }
  int n = 0;
  char emulators[160] = "";
  const porta_backend_kind gpu_kinds[2] = {PORTA_BACKEND_VULKAN, PORTA_BACKEND_OPENCL};
  for (int k = 0; k < 2; k++) {
    if (!porta_backend_compiled(gpu_kinds[k])) continue;
    porta_device_info infos[AUTO_MAX];
    int count = 0;
    if (porta_list_devices(gpu_kinds[k], infos, AUTO_MAX, &count, NULL, 0) != PORTA_OK) continue;
    for (int i = 0; i < count && i < AUTO_MAX; i++) {
      if (want_device >= 0 && infos[i].index != want_device) continue;
      if (infos[i].is_cpu) {
        add(emulators, sizeof emulators, "%s%s", emulators[0] ? ", " : "",
            gpu_kinds[k] == PORTA_BACKEND_VULKAN ? "lavapipe/Vulkan" : "PoCL/OpenCL");
        continue;
      }
      c[n].kind = gpu_kinds[k];
      c[n].gflops = 0.0;
      c[n++].info = infos[i];
    }
  }
  bool discrete = false;
  for (int i = 0; i < n; i++) discrete = discrete || c[i].info.is_discrete;
  int best = -1;
  double best_rate = 0.0;
  char failed[256] = "";
  for (int i = 0; i < n; i++) {
    if (discrete && !c[i].info.is_discrete) continue; /* integrated GPUs only without discrete */
    char err[256] = "";
    porta_status st = porta_device_selftest(c[i].kind, c[i].info.index,
                                            PORTA_SELFTEST_USE_CACHE | PORTA_SELFTEST_MEASURE, r,
                                            err, sizeof err);
    if (st != PORTA_OK || !r->passed || r->gemm_gflops <= 0) {
      add(failed, sizeof failed, "%s%s", failed[0] ? ", " : "", c[i].info.name);
      add(failed, sizeof failed, " (%s%s)", porta_backend_name(c[i].kind),
          st != PORTA_OK ? ": cannot open"
          : !r->passed   ? ": failed its self-test"
                         : "");
      continue;
    }
    c[i].gflops = r->gemm_gflops;
    if (best < 0 || r->gemm_gflops > best_rate) best = i, best_rate = r->gemm_gflops;
  }
  if (best >= 0) {
    *kind = c[best].kind;
    *device = c[best].info.index;
    int len = snprintf(reason, reason_size,
                       "auto: %s GPU, self-test passed, GEMM %.0f GFLOP/s (cached measurement)",
                       c[best].info.is_discrete ? "discrete" : "integrated", best_rate);
    for (int i = 0; i < n && len > 0 && (size_t)len < reason_size; i++)
      if (i != best && c[i].gflops > 0)
        len +=
            snprintf(reason + len, reason_size - (size_t)len, "; %s %d '%s': %.0f GFLOP/s",
                     porta_backend_name(c[i].kind), c[i].info.index, c[i].info.name, c[i].gflops);
    if (failed[0]) add(reason, reason_size, "; passed over: %s%s", failed, "");
  } else if (n > 0) {
    snprintf(reason, reason_size,
             "auto: the CPU backend, because no GPU passed its self-test (%s; `porta devices "
             "--selftest` shows why)",
             failed);
  } else {
    snprintf(reason, reason_size, "auto: the CPU backend, no GPU found%s%s%s",
             emulators[0] ? " (" : "", emulators,
             emulators[0] ? " emulate one on these cores, slower than the CPU backend)" : "");
  }
  free(c);
  free(r);
}
