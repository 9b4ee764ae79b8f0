/* Small helpers of the checkpoint readers and writers: error messages, memory-mapped files,
 * whole small files (atomic replacement is core/file_atomic.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "formats/weights_internal.h"

porta_status porta_map_file(porta_mapped_file *out, const char *path, char *err, size_t err_size) {
  memset(out, 0, sizeof(*out));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return porta_io_fail(errno == ENOENT ? PORTA_ERR_NOT_FOUND : PORTA_ERR_IO, err, err_size,
                         "cannot open %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return porta_io_fail(PORTA_ERR_IO, err, err_size, "%s is not a regular file", path);
  }
  const uint8_t *data = NULL;
  if (st.st_size > 0) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return porta_io_fail(PORTA_ERR_IO, err, err_size, "cannot map %s: %s", path, strerror(e));
    }
    data = p;
  }
  close(fd); // the mapping stays valid
  out->path = strdup(path);
  if (out->path == NULL) {
    if (data != NULL) munmap((void *)data, (size_t)st.st_size);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory mapping %s", path);
  }
  out->data = data;
  out->size = (size_t)st.st_size;
  return PORTA_OK;
}

void porta_unmap_file(porta_mapped_file *f) {
  if (f->data != NULL && !f->borrowed) munmap((void *)f->data, f->size);
  free(f->path);
  memset(f, 0, sizeof(*f));
}

porta_status porta_read_small_file(char **out, size_t *size, const char *path, size_t max_bytes,
                                   char *err, size_t err_size) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    return porta_io_fail(errno == ENOENT ? PORTA_ERR_NOT_FOUND : PORTA_ERR_IO, err, err_size,
                         "cannot open %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(fp);
    return porta_io_fail(PORTA_ERR_IO, err, err_size, "%s is not a regular file", path);
  }
  if ((uint64_t)st.st_size > max_bytes) {
    fclose(fp);
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size, "%s is %lld bytes, over the limit of %zu",
                         path, (long long)st.st_size, max_bytes);
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if (buf == NULL) {
    fclose(fp);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory reading %s", path);
  }
  size_t got = fread(buf, 1, n, fp);
  fclose(fp);
  if (got != n) {
    free(buf);
    return porta_io_fail(PORTA_ERR_IO, err, err_size, "short read of %s", path);
  }
  buf[n] = '\0';
  *out = buf;
  if (size != NULL) *size = n;
  return PORTA_OK;
}
