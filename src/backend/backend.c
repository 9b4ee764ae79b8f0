/* Shared pieces of the backend interface: op names, the error formatter every backend uses, and
 * the on-disk cache's directory and atomic writes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"

const char *porta_op_name(porta_op op) {
#define PORTA_OP_NAME(ENUM, name, args_type) [PORTA_OP_##ENUM] = #name,
  static const char *const names[PORTA_OP_COUNT] = {PORTA_OP_TABLE(PORTA_OP_NAME)};
#undef PORTA_OP_NAME
  return op >= 0 && op < PORTA_OP_COUNT ? names[op] : "unknown_op";
}

porta_status porta_backend_fail(porta_backend *be, porta_status status, const char *fmt, ...) {
  if (!be) return status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(be->err, sizeof be->err, fmt, ap);
  va_end(ap);
  return status;
}

porta_status porta_gemm_each_batch2(porta_backend *be, const porta_gemm_args *g,
                                    porta_status (*fn)(porta_backend *be,
                                                       const porta_gemm_args *one)) {
  porta_gemm_args one = *g;
  one.batch2 = 1;
  int64_t count = g->batch2 > 1 ? g->batch2 : 1;
  for (int64_t i = 0; i < count; i++) {
    one.a.off = g->a.off + (size_t)(i * g->stride2_a);
    one.b.off = g->b.off + (size_t)(i * g->stride2_b);
    one.c.off = g->c.off + (size_t)(i * g->stride2_c);
    porta_status st = fn(be, &one);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* mkdir -p */
static bool make_dirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
    *p = '/';
    if (!ok) return false;
  }
  if (mkdir(path, 0755) != 0 && errno != EEXIST) return false;
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void porta_cache_dir(char *dir, size_t size) {
  const char *env = getenv("PORTA_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n = -1;
  if (env && *env)
    n = snprintf(dir, size, "%s", env);
  else if (xdg && *xdg)
    n = snprintf(dir, size, "%s/porta", xdg);
  else if (home && *home)
    n = snprintf(dir, size, "%s/.cache/porta", home);
  if (n <= 0 || (size_t)n >= size || !make_dirs(dir)) dir[0] = '\0';
}

bool porta_cache_write(const char *path, const void *data, size_t size) {
  char tmp[1100];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) return false;
  int fd = mkstemp(tmp);
  if (fd < 0) return false;
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(tmp);
    return false;
  }
  bool ok = fwrite(data, 1, size, f) == size;
  ok = (fclose(f) == 0) && ok;
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok) unlink(tmp);
  return ok;
}
