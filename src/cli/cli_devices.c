/* porta devices: every backend's devices, or why there are none. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: porta devices [--backend cpu|opencl|vulkan]\n\n"
    "Lists the devices of every backend built into porta: name, vendor, driver, compute units,\n"
    "memory, largest buffer, fp16, subgroup size. A backend without a driver prints why.";

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

int cli_devices(int argc, char **argv) {
  const char *only = NULL;
  cli_flag flags[] = {
      {"backend", CLI_STRING, &only, "list only this backend"},
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  porta_backend_kind want = PORTA_BACKEND_AUTO;
  if (only && cli_parse_backend(only, &want) != CLI_OK) return CLI_USAGE;
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
    printf("%s: %d device%s\n", name, count, count == 1 ? "" : "s");
    for (int i = 0; i < count && i < CAP; i++) print_device(&infos[i]);
  }
  return CLI_OK;
}
