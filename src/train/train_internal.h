/* Helpers shared by the files of src/train (not public). */
#ifndef PORTA_TRAIN_INTERNAL_H
#define PORTA_TRAIN_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "porta/porta.h"

/* snprintf into err (when not NULL) and return status. */
porta_status porta_train_fail(char *err, size_t err_size, porta_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* snprintf for paths and messages where truncation is acceptable (cut, never overflowed). */
void porta_pathf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Limits of what porta reads whole into memory (docs/errors.md): any data, run or checkpoint JSON
 * file, and one row of a data file (a JSON line or a CSV record; a longer one is skipped and
 * listed with its line number, like any unreadable row). */
#define PORTA_MAX_FILE_BYTES ((size_t)2 << 30) /* 2 GiB */
#define PORTA_MAX_ROW_BYTES ((size_t)1 << 20)  /* 1 MiB */

/* Reads a whole file (NUL-terminated; *size excludes the NUL). PORTA_ERR_LIMIT past
 * PORTA_MAX_FILE_BYTES, also for a pipe or device that never ends. */
porta_status porta_read_file(const char *path, char **data, size_t *size, char *err,
                             size_t err_size);
/* Writes data to path through path.tmp + rename, so a crash never leaves half a file. */
porta_status porta_write_file_atomic(const char *path, const void *data, size_t size, char *err,
                                     size_t err_size);
/* rm -rf path (a missing path is fine); false when something could not be removed. */
bool porta_remove_tree(const char *path);
/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool porta_utf8_valid(const char *s, size_t n);

struct cJSON;
/* A JSON number that must be an integer in [min, max] (JSON numbers are doubles: 1e300 or 1.5
 * would wrap or truncate in a plain cast). Else PORTA_ERR_FORMAT naming path and field. */
porta_status porta_json_int(int64_t *out, const struct cJSON *item, int64_t min, int64_t max,
                            const char *path, const char *field, char *err, size_t err_size);

/* What settings.json records beyond the options. */
typedef struct porta_run_info {
  int max_length;
  int64_t warmup_steps, total_steps;
  porta_backend_kind backend;
  int device_index;
  char device_name[256];
  int num_labels;
  int64_t rows, skipped_rows, split_rows[3];
  char started_at[32];
} porta_run_info;

/* Owned copies of the strings porta_settings_load points the options at. */
typedef struct porta_settings_strings {
  char model_dir[1024], data_path[1024], text_field[256], label_field[256];
} porta_settings_strings;

porta_status porta_settings_save(const char *path, const porta_train_options *o,
                                 const porta_run_info *info, char *err, size_t err_size);
/* Reads settings.json into o (only the run's settings: device, logging and callbacks stay). */
porta_status porta_settings_load(porta_train_options *o, porta_settings_strings *strings,
                                 const char *path, char *err, size_t err_size);

/* Splits one batch, rows[0..n) indexing lengths, into passes of at most max_tokens padded tokens
 * (rows × the pass's longest row); a row longer than the budget runs alone. When the batch fits
 * (or max_tokens <= 0) it is one pass and rows keep their order; else rows are sorted longest
 * first (stably) and cut greedily. pass_start[0..passes] (n + 1 entries at most) receives the
 * offsets; returns the number of passes. */
int porta_batch_split(int64_t *rows, int n, const int32_t *lengths, int max_tokens,
                      int *pass_start);

/* The resident set of this process now and at its peak, in bytes (0 where the system does not
 * say). */
size_t porta_host_rss_bytes(void);
size_t porta_host_peak_rss_bytes(void);

/* porta_clip_grad_norm over the optimizer's parameters, then porta_optimizer_step, with AdamW
 * reading each gradient times the clip coefficient (src/train/optim.c): bit-identical to clip
 * then step, one pass over the gradients less; the gradients are left unclipped. max_norm <= 0:
 * no clipping. */
porta_status porta_optimizer_clip_step(porta_optimizer *opt, float max_norm, float lr,
                                       float *total_norm);

#endif
