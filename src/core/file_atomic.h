/* Durable file replacement, the one way porta writes a file that must survive a crash or a power
 * loss (model files, config.json, checkpoints, run-folder files): data goes to
 * "<path>.tmp-XXXXXX" in the same folder; commit flushes and fsyncs it, renames it over path and
 * fsyncs the folder, so after commit returns the new file is on disk and a crash at any earlier
 * instant leaves the old one. Every write, flush, fsync, close and rename is checked, and a
 * failure's message names the file and the cause (strerror). */
#ifndef PORTA_CORE_FILE_ATOMIC_H
#define PORTA_CORE_FILE_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "porta/porta.h"

typedef struct porta_atomic_file {
  int fd;
  char *tmp_path;
  char *path;
  int error; /* errno of the first failed write (0: none) */
  char *buf; /* PORTA_ATOMIC_BUFFER bytes collected before a write(2) */
  size_t buffered;
} porta_atomic_file;

/* write(2) of all n bytes (a short write is continued, EINTR retried); false with errno set. Every
 * porta file write goes through it (no stdio), so each failure is seen with its errno. */
bool porta_write_all(int fd, const void *data, size_t n);

porta_status porta_atomic_open(porta_atomic_file *f, const char *path, char *err, size_t err_size);
/* Appends bytes; a failure is remembered and reported by commit. */
void porta_atomic_write(porta_atomic_file *f, const void *data, size_t size);
/* flush + fsync + close + rename + fsync of the folder. On failure the temporary is removed and
 * path keeps what it held. Either way f is released. */
porta_status porta_atomic_commit(porta_atomic_file *f, char *err, size_t err_size);
/* Drops the temporary (path keeps what it held). */
void porta_atomic_abort(porta_atomic_file *f);

/* The whole cycle for a buffer: open, write, commit. */
porta_status porta_write_file_atomic(const char *path, const void *data, size_t size, char *err,
                                     size_t err_size);
/* Copies src to dst the same way. A missing src is PORTA_ERR_NOT_FOUND (nothing written). */
porta_status porta_copy_file_atomic(const char *src, const char *dst, char *err, size_t err_size);

/* fsync of a folder, so that renames and new entries in it are durable. Some file systems refuse
 * to fsync a folder (EINVAL): that counts as done. */
porta_status porta_fsync_dir(const char *dir, char *err, size_t err_size);
/* porta_fsync_dir of the folder that holds path. */
porta_status porta_fsync_parent(const char *path, char *err, size_t err_size);

#endif /* PORTA_CORE_FILE_ATOMIC_H */
