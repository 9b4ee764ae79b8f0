/* Small file and string helpers for src/train. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/errors.h"
#include "train/train_internal.h"

porta_status porta_train_fail(char *err, size_t err_size, porta_status status, const char *fmt,
                              ...) {
  if (err && err_size > 0) {
    va_list args;
    va_start(args, fmt);
    porta_error_vformat(err, err_size, fmt, args);
    va_end(args);
  }
  return status;
}

porta_status porta_read_file(const char *path, char **data, size_t *size, char *err,
                             size_t err_size) {
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot open %s: %s", path,
                            strerror(errno));
  // a regular file is measured first; a pipe or device is cut off once it passes the limit
  const size_t limit = PORTA_MAX_FILE_BYTES;
  struct stat sb;
  if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    fclose(f);
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "%s is a folder, not a file", path);
  }
  if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > limit) {
    fclose(f);
    return porta_train_fail(err, err_size, PORTA_ERR_LIMIT,
                            "%s: %llu bytes; porta reads files of at most %zu GiB whole", path,
                            (unsigned long long)sb.st_size, limit >> 30);
  }
  size_t capacity = 1 << 16, used = 0;
  char *buf = malloc(capacity);
  if (!buf) {
    fclose(f);
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s",
                            path);
  }
  while (used <= limit) {
    if (used + 1 >= capacity) {
      size_t grown_capacity = capacity * 2 < limit + 2 ? capacity * 2 : limit + 2;
      char *bigger = realloc(buf, grown_capacity);
      if (!bigger) {
        free(buf);
        fclose(f);
        return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s",
                                path);
      }
      buf = bigger;
      capacity = grown_capacity;
    }
    size_t n = fread(buf + used, 1, capacity - used - 1, f);
    used += n;
    if (n == 0) break;
  }
  if (used > limit) {
    free(buf);
    fclose(f);
    return porta_train_fail(err, err_size, PORTA_ERR_LIMIT,
                            "%s: more than the %zu GiB porta reads whole", path, limit >> 30);
  }
  int failed = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (failed) {
    free(buf);
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "error reading %s: %s", path,
                            strerror(failed));
  }
  buf[used] = '\0';
  *data = buf;
  *size = used;
  return PORTA_OK;
}

bool porta_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    int extra;
    unsigned min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0)
      extra = 1, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      extra = 2, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      extra = 3, min = 0x10000, cp = c & 0x07;
    else
      return false;
    if (i + (size_t)extra >= n) return false;
    for (int k = 1; k <= extra; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += (size_t)extra + 1;
  }
  return true;
}

void porta_pathf(char *out, size_t size, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(out, size, fmt, args);
  va_end(args);
}

porta_status porta_json_int(int64_t *out, const cJSON *item, int64_t min, int64_t max,
                            const char *path, const char *field, char *err, size_t err_size) {
  if (!cJSON_IsNumber(item))
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: \"%s\" is not a number", path,
                            field);
  double v = item->valuedouble;
  // past 2^53 a double no longer holds every integer: refuse before the cast (which is UB past
  // int64)
  const double exact = 9007199254740992.0;
  if (!(v == floor(v)) || v < -exact || v > exact || (int64_t)v < min || (int64_t)v > max)
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: \"%s\" is %.15g, expected an integer in [%lld, %lld]", path, field,
                            v, (long long)min, (long long)max);
  *out = (int64_t)v;
  return PORTA_OK;
}
