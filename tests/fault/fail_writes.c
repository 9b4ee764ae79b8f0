/* An LD_PRELOAD shim that makes write(2) fail like a full disk, for the tests of checked writes
 * (tests/regress_cli.cmake). Only writes to files whose path contains $PORTA_FAIL_WRITES fail,
 * after the first $PORTA_FAIL_WRITES_AFTER such writes (default 0) went through; each failure sets
 * errno to ENOSPC (or $PORTA_FAIL_WRITES_ERRNO). Everything else, stderr included, is written as
 * usual. porta writes files with write(2) itself (src/core/file_atomic.c), so interposing write
 * suffices. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);

static long matched_writes;

static int should_fail(int fd) {
  const char *needle = getenv("PORTA_FAIL_WRITES");
  if (!needle || !needle[0] || fd <= 2) return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  if (!strstr(path, needle)) return 0;
  const char *after = getenv("PORTA_FAIL_WRITES_AFTER");
  long allowed = after ? strtol(after, NULL, 10) : 0;
  return __atomic_fetch_add(&matched_writes, 1, __ATOMIC_RELAXED) >= allowed;
}

ssize_t write(int fd, const void *buf, size_t count) {
  static write_fn real;
  if (!real) real = (write_fn)dlsym(RTLD_NEXT, "write");
  if (should_fail(fd)) {
    const char *code = getenv("PORTA_FAIL_WRITES_ERRNO");
    errno = code ? atoi(code) : ENOSPC;
    return -1;
  }
  return real(fd, buf, count);
}
