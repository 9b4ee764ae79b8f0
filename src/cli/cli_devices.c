/* porta devices: every backend's devices, or why there are none. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta devices [--backend cpu|opencl|vulkan] [--selftest [--device N] [--fresh]]\n\n"
    "Lists the devices of every backend built into porta: name, vendor, driver, compute units,\n"
    "memory, largest buffer, fp16, subgroup size. A backend without a driver prints why.\n"
    "--selftest runs every op and every fast path each device may use (GEMM variants, row-op\n"
    "layouts, subgroup and texel paths) against the CPU reference on small odd shapes, one line\n"
    "per path; the verdict is cached per device + driver + porta version, and porta train,\n"
    "bench and embed never use a path that failed. Exit code 1 when a path the device would\n"
    "use fails (docs/selftest.md says what to send).";

static void print_device(const porta_device_info *d) {
  printf("  [%d] %s\n", d->index, d->name);
  printf("      vendor %s, driver %s%s%s\n", d->vendor[0] ? d->vendor : "?",
         d->driver[0] ? d->driver : "?", d->api_version[0] ? ", " : "", d->api_version);
  printf("      compute units %d, memory %.1f GiB, largest buffer %.1f MiB, max work-group %d\n",
         d->compute_units, (double)d->global_mem_bytes / (1024.0 * 1024 * 1024),
         (double)d->max_alloc_bytes / (1024.0 * 1024), d->max_workgroup_size);
  printf("      fp16 %s, int8 %s, subgroup size %s%d%s%s\n", d->fp16 ? "yes" : "no",
         d->int8 ? "yes" : "no", d->subgroup_size ? "" : "unknown (", d->subgroup_size,
         d->subgroup_size ? "" : ")", d->is_cpu ? ", a CPU device" : "");
  if (d->extra[0]) printf("      %s\n", d->extra);
}

static void print_path(const porta_selftest_path *p) {
  char stats[64] = "";
  if (p->verdict != PORTA_SELFTEST_UNAVAILABLE)
    snprintf(stats, sizeof stats, "%3d checks, max error %.1e", p->cases, p->max_error);
  printf("  %-12s %-15s %-32s %s%s%s\n", porta_selftest_verdict_name(p->verdict), p->name, stats,
         p->used ? "used" : "not used", p->safe ? ", fallback" : "",
         p->verdict == PORTA_SELFTEST_FAIL ? "" : "");
  if (p->verdict == PORTA_SELFTEST_FAIL) printf("      %s\n", p->detail);
}

/* The self-test of one device; false when a path it would use failed (or it cannot open). */
static bool selftest_device(porta_backend_kind kind, const porta_device_info *d, bool fresh) {
  porta_selftest_report *r = malloc(sizeof *r);
  if (!r) {
    fprintf(stderr, "porta devices: out of memory\n");
    return false;
  }
  char err[1024] = "";
  printf("%s %d: %s (%s)\n", porta_backend_name(kind), d->index, d->name,
         d->driver[0] ? d->driver : "driver ?");
  fflush(stdout);
  porta_status st = porta_device_selftest(kind, d->index, fresh ? 0 : PORTA_SELFTEST_USE_CACHE, r,
                                          err, sizeof err);
  if (st != PORTA_OK) {
    printf("  cannot run: %s (%s)\n", err, porta_status_string(st));
    free(r);
    return false;
  }
  for (int i = 0; i < r->count; i++) print_path(&r->paths[i]);
  printf("  fp16: %s\n", d->fp16 ? "the device has it; no porta path uses it yet"
                                 : "not on this device (no porta path needs it)");
  printf("  verdict: %s%s, %.1f s%s%s\n", r->passed ? "pass" : "FAIL",
         r->passed ? "" : " (a path this device would use failed: it is switched off)", r->seconds,
         r->cached ? ", cached in " : "", r->cached ? r->cache_file : "");
  if (!r->cached && r->cache_file[0]) printf("  cached in %s\n", r->cache_file);
  bool ok = r->passed;
  free(r);
  return ok;
}

int cli_devices(int argc, char **argv) {
  const char *only = NULL;
  bool selftest = false, fresh = false;
  int want_device = -1;
  cli_flag flags[] = {
      {"backend", CLI_STRING, &only, "list only this backend"},
      {"selftest", CLI_BOOL, &selftest, "check every op and fast path against the CPU reference"},
      {"device", CLI_INT, &want_device, "with --selftest: only this device index"},
      {"fresh", CLI_BOOL, &fresh, "with --selftest: run it even when a verdict is cached"},
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  porta_backend_kind want = PORTA_BACKEND_AUTO;
  if (only && cli_parse_backend(only, &want) != CLI_OK) return CLI_USAGE;
  bool all_passed = true;
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    if (want != PORTA_BACKEND_AUTO && want != kinds[k]) continue;
    const char *name = porta_backend_name(kinds[k]);
    if (!porta_backend_compiled(kinds[k])) {
      printf("%s: not built into this porta\n", name);
      continue;
    }
    enum { CAP = 16 };
    porta_device_info infos[CAP];
    int count = 0;
    char err[1024] = "";
    porta_status st = porta_list_devices(kinds[k], infos, CAP, &count, err, sizeof err);
    if (st != PORTA_OK) {
      const char *why = err[0] ? err : porta_status_string(st);
      size_t n = strlen(name);
      if (!strncmp(why, name, n) && !strncmp(why + n, ": ", 2))
        why += n + 2; // the backend named itself
      printf("%s: %s\n", name, why);
      continue;
    }
    if (selftest) {
      for (int i = 0; i < count && i < CAP; i++)
        if (want_device < 0 || infos[i].index == want_device)
          all_passed = selftest_device(kinds[k], &infos[i], fresh) && all_passed;
      continue;
    }
    printf("%s: %d device%s\n", name, count, count == 1 ? "" : "s");
    for (int i = 0; i < count && i < CAP; i++) print_device(&infos[i]);
  }
  if (!selftest) {
    porta_context_options o;
    porta_context_options_init(&o);
    porta_context *ctx = NULL;
    if (want == PORTA_BACKEND_AUTO && porta_context_create(&ctx, &o, NULL, 0) == PORTA_OK) {
      const porta_device_info *d = porta_context_device(ctx);
      printf("--backend auto: %s %d: %s (%s)\n", porta_backend_name(porta_context_backend(ctx)),
             d->index, d->name, porta_context_reason(ctx));
      porta_context_destroy(ctx);
    }
  }
  return all_passed ? CLI_OK : CLI_FAILED;
}
