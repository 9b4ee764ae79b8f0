/* Durable file replacement (see file_atomic.h): write a temporary, fsync it, rename it over the
 * target, fsync the folder. */
#include "core/file_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"

static porta_status fail(porta_status status, char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static porta_status fail(porta_status status, char *err, size_t err_size, const char *fmt, ...) {
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    porta_error_vformat(err, err_size, fmt, ap);
    va_end(ap);
  }
  return status;
}

static void release(porta_atomic_file *f) {
  free(f->tmp_path);
  free(f->path);
  memset(f, 0, sizeof(*f));
}

porta_status porta_atomic_open(porta_atomic_file *f, const char *path, char *err, size_t err_size) {
  memset(f, 0, sizeof(*f));
  size_t len = strlen(path);
  f->path = strdup(path);
  f->tmp_path = malloc(len + 16);
  if (f->path == NULL || f->tmp_path == NULL) {
    release(f);
    return fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory writing %s", path);
  }
  snprintf(f->tmp_path, len + 16, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(f->tmp_path);
  if (fd < 0) {
    porta_status s =
        fail(PORTA_ERR_IO, err, err_size, "cannot create %s: %s", f->tmp_path, strerror(errno));
    release(f);
    return s;
  }
  (void)fchmod(fd, 0644); // mkstemp makes 0600; these are ordinary files
  f->fp = fdopen(fd, "wb");
  if (f->fp == NULL) {
    int e = errno;
    close(fd);
    unlink(f->tmp_path);
    porta_status s =
        fail(PORTA_ERR_IO, err, err_size, "cannot open a stream on %s: %s", path, strerror(e));
    release(f);
    return s;
  }
  return PORTA_OK;
}

void porta_atomic_write(porta_atomic_file *f, const void *data, size_t size) {
  if (f->error != 0 || size == 0) return;
  errno = 0;
  if (fwrite(data, 1, size, f->fp) != size) f->error = errno ? errno : EIO;
}

void porta_atomic_abort(porta_atomic_file *f) {
  if (f->fp != NULL) fclose(f->fp);
  if (f->tmp_path != NULL) unlink(f->tmp_path);
  release(f);
}

porta_status porta_atomic_commit(porta_atomic_file *f, char *err, size_t err_size) {
  int e = f->error;
  const char *what = "write";
  errno = 0;
  if (e == 0 && fflush(f->fp) != 0) e = errno ? errno : EIO;
  if (e == 0 && fsync(fileno(f->fp)) != 0) e = errno, what = "fsync";
  if (fclose(f->fp) != 0 && e == 0) e = errno ? errno : EIO, what = "close";
  f->fp = NULL;
  if (e == 0 && rename(f->tmp_path, f->path) != 0) e = errno, what = "rename";
  if (e != 0) {
    porta_status s = fail(PORTA_ERR_IO, err, err_size, "cannot %s %s: %s", what,
                          strcmp(what, "rename") == 0 ? f->path : f->tmp_path, strerror(e));
    porta_atomic_abort(f);
    return s;
  }
  porta_status s = porta_fsync_parent(f->path, err, err_size);
  release(f);
  return s;
}

porta_status porta_write_file_atomic(const char *path, const void *data, size_t size, char *err,
                                     size_t err_size) {
  porta_atomic_file f;
  porta_status s = porta_atomic_open(&f, path, err, err_size);
  if (s != PORTA_OK) return s;
  porta_atomic_write(&f, data, size);
  return porta_atomic_commit(&f, err, err_size);
}

porta_status porta_copy_file_atomic(const char *src, const char *dst, char *err, size_t err_size) {
  FILE *in = fopen(src, "rb");
  if (in == NULL)
    return fail(errno == ENOENT ? PORTA_ERR_NOT_FOUND : PORTA_ERR_IO, err, err_size,
                "cannot read %s: %s", src, strerror(errno));
  porta_atomic_file f;
  porta_status s = porta_atomic_open(&f, dst, err, err_size);
  if (s != PORTA_OK) {
    fclose(in);
    return s;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) porta_atomic_write(&f, buf, n);
  int read_error = ferror(in) ? (errno ? errno : EIO) : 0;
  fclose(in);
  if (read_error != 0) {
    porta_atomic_abort(&f);
    return fail(PORTA_ERR_IO, err, err_size, "cannot read %s: %s", src, strerror(read_error));
  }
  return porta_atomic_commit(&f, err, err_size);
}

porta_status porta_fsync_dir(const char *dir, char *err, size_t err_size) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail(PORTA_ERR_IO, err, err_size, "cannot open the folder %s: %s", dir, strerror(errno));
  int e = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  if (e != 0 && e != EINVAL && e != ENOTSUP)
    return fail(PORTA_ERR_IO, err, err_size, "cannot fsync the folder %s: %s", dir, strerror(e));
  return PORTA_OK;
}

porta_status porta_fsync_parent(const char *path, char *err, size_t err_size) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) return porta_fsync_dir(".", err, err_size);
  if (slash == path) return porta_fsync_dir("/", err, err_size);
  size_t n = (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (dir == NULL)
    return fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory syncing %s", path);
  memcpy(dir, path, n);
  dir[n] = '\0';
  porta_status s = porta_fsync_dir(dir, err, err_size);
  free(dir);
  return s;
}
