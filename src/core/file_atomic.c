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

#define PORTA_ATOMIC_BUFFER ((size_t)1 << 16)

static void release(porta_atomic_file *f) {
  free(f->buf);
  free(f->tmp_path);
  free(f->path);
  memset(f, 0, sizeof(*f));
  f->fd = -1;
}

bool porta_write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t done = write(fd, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return false;
    if (done == 0) { // no progress and no error: a device that takes nothing
      errno = EIO;
      return false;
    }
    p += done;
    n -= (size_t)done;
  }
  return true;
}

porta_status porta_atomic_open(porta_atomic_file *f, const char *path, char *err, size_t err_size) {
  memset(f, 0, sizeof(*f));
  f->fd = -1;
  size_t len = strlen(path);
  f->path = strdup(path);
  f->tmp_path = malloc(len + 16);
  f->buf = malloc(PORTA_ATOMIC_BUFFER);
  if (f->path == NULL || f->tmp_path == NULL || f->buf == NULL) {
    release(f);
    return porta_error_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory writing %s",
                            path);
  }
  snprintf(f->tmp_path, len + 16, "%s.tmp-XXXXXX", path);
  f->fd = mkstemp(f->tmp_path);
  if (f->fd < 0) {
    porta_status s = porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot create %s: %s",
                                      f->tmp_path, strerror(errno));
    release(f);
    return s;
  }
  (void)fchmod(f->fd, 0644); // mkstemp makes 0600; these are ordinary files
  return PORTA_OK;
}

static void flush_buffer(porta_atomic_file *f) {
  if (f->error == 0 && f->buffered > 0 && !porta_write_all(f->fd, f->buf, f->buffered))
    f->error = errno ? errno : EIO;
  f->buffered = 0;
}

void porta_atomic_write(porta_atomic_file *f, const void *data, size_t size) {
  if (f->error != 0 || size == 0) return;
  if (f->buffered + size > PORTA_ATOMIC_BUFFER) flush_buffer(f);
  if (size >= PORTA_ATOMIC_BUFFER) { // large arrays (weights) go straight through
    if (f->error == 0 && !porta_write_all(f->fd, data, size)) f->error = errno ? errno : EIO;
    return;
  }
  memcpy(f->buf + f->buffered, data, size);
  f->buffered += size;
}

void porta_atomic_abort(porta_atomic_file *f) {
  if (f->fd >= 0) close(f->fd);
  if (f->tmp_path != NULL) unlink(f->tmp_path);
  release(f);
}

porta_status porta_atomic_commit(porta_atomic_file *f, char *err, size_t err_size) {
  flush_buffer(f);
  int e = f->error;
  const char *what = "write";
  if (e == 0 && fsync(f->fd) != 0) e = errno, what = "fsync";
  if (close(f->fd) != 0 && e == 0 && errno != EINTR) e = errno, what = "close";
  f->fd = -1;
  if (e == 0 && rename(f->tmp_path, f->path) != 0) e = errno, what = "rename";
  if (e != 0) {
    porta_status s =
        strcmp(what, "rename") == 0
            ? porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot rename %s to %s: %s",
                               f->tmp_path, f->path, strerror(e))
            : porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot %s %s: %s", what, f->path,
                               strerror(e));
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
    return porta_error_fail(errno == ENOENT ? PORTA_ERR_NOT_FOUND : PORTA_ERR_IO, err, err_size,
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
    return porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot read %s: %s", src,
                            strerror(read_error));
  }
  return porta_atomic_commit(&f, err, err_size);
}

porta_status porta_fsync_dir(const char *dir, char *err, size_t err_size) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot open the folder %s: %s", dir,
                            strerror(errno));
  int e = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  if (e != 0 && e != EINVAL && e != ENOTSUP)
    return porta_error_fail(PORTA_ERR_IO, err, err_size, "cannot fsync the folder %s: %s", dir,
                            strerror(e));
  return PORTA_OK;
}

porta_status porta_fsync_parent(const char *path, char *err, size_t err_size) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) return porta_fsync_dir(".", err, err_size);
  if (slash == path) return porta_fsync_dir("/", err, err_size);
  size_t n = (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (dir == NULL)
    return porta_error_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory syncing %s",
                            path);
  memcpy(dir, path, n);
  dir[n] = '\0';
  porta_status s = porta_fsync_dir(dir, err, err_size);
  free(dir);
  return s;
}
