/* The process's resident set (what `/usr/bin/time -f %M` reports at exit), for the memory lines of
 * `porta train` and `porta bench`. On the CPU backend the device memory is host memory too. */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "train/train_internal.h"

size_t porta_host_rss_bytes(void) {
  long page = sysconf(_SC_PAGESIZE);
  FILE *f = fopen("/proc/self/statm", "r"); /* Linux; elsewhere 0 */
  if (!f || page <= 0) {
    if (f) fclose(f);
    return 0;
  }
  unsigned long long size = 0, resident = 0;
  int got = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  return got == 2 ? (size_t)resident * (size_t)page : 0;
}

size_t porta_host_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0) return 0;
#ifdef __APPLE__
  return (size_t)ru.ru_maxrss; /* bytes on macOS */
#else
  return (size_t)ru.ru_maxrss * 1024; /* KiB on Linux and the BSDs */
#endif
}
