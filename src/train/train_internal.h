/* Helpers shared by the files of src/train (not public). */
#ifndef PORTA_TRAIN_INTERNAL_H
#define PORTA_TRAIN_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "core/file_atomic.h" /* porta_write_file_atomic: every run-folder file */
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
/* rm -rf path (a missing path is fine); false when something could not be removed. */
bool porta_remove_tree(const char *path);
/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool porta_utf8_valid(const char *s, size_t n);

struct cJSON;
/* A JSON number that must be an integer in [min, max] (JSON numbers are doubles: 1e300 or 1.5
 * would wrap or truncate in a plain cast). Else PORTA_ERR_FORMAT naming path and field. */
porta_status porta_json_int(int64_t *out, const struct cJSON *item, int64_t min, int64_t max,
                            const char *path, const char *field, char *err, size_t err_size);

/* The run folder's writer lock (src/train/run_lock.c): an flock on "<run_dir>/run.lock" held
 * until porta_run_unlock. A folder locked by a live process is PORTA_ERR_STATE naming its PID and
 * host; stale_pid is the PID of a dead holder whose lock file was taken over (0: none). */
typedef struct porta_run_lock_info {
  int fd;
  long stale_pid;
} porta_run_lock_info;
porta_status porta_run_lock(porta_run_lock_info *out, const char *run_dir, char *err,
                            size_t err_size);
void porta_run_unlock(porta_run_lock_info *lock);

/* FNV-1a, 64 bits: h = porta_hash64(h, bytes, n), starting from PORTA_HASH64_INIT. */
#define PORTA_HASH64_INIT 0xcbf29ce484222325ull
uint64_t porta_hash64(uint64_t h, const void *data, size_t n);

/* The rows a run trains on, as settings.json records them: a hash over every row's text and
 * label name in order (what the split's row ids and the checkpoint depend on), their count, and
 * the file's size (bytes -1: unknown). */
typedef struct porta_data_fingerprint_info {
  uint64_t rows_hash;
  int64_t rows, bytes;
} porta_data_fingerprint_info;
void porta_data_fingerprint(porta_data_fingerprint_info *out, const porta_dataset *ds,
                            const porta_label_map *labels);
/* *changed: whether now differs from recorded. A change is PORTA_ERR_STATE naming the file and
 * both fingerprints, unless allow_changed. */
porta_status porta_data_fingerprint_check(const porta_data_fingerprint_info *recorded,
                                          const porta_data_fingerprint_info *now,
                                          const char *data_path, bool allow_changed, bool *changed,
                                          char *err, size_t err_size);

/* What settings.json records beyond the options. */
typedef struct porta_run_info {
  int max_length;
  int64_t warmup_steps, total_steps;
  porta_backend_kind backend;
  int device_index;
  char device_name[256];
  int num_labels;
  int64_t rows, skipped_rows, split_rows[3];
  porta_data_fingerprint_info data;
  char started_at[32];
} porta_run_info;

/* A run's schedule, to check a trainer_state.json against. */
typedef struct porta_schedule {
  int64_t total_steps, epochs, steps_per_epoch, batches_per_epoch;
  int grad_accum;
} porta_schedule;
/* PORTA_ERR_FORMAT naming path when the state's counters cannot come from this schedule (a
 * hand-edited next_batch past the epoch's batches would silently skip the rest of an epoch). */
porta_status porta_train_state_check(const porta_train_state *state, const porta_schedule *plan,
                                     const char *path, char *err, size_t err_size);
/* metrics.jsonl (src/train/metrics_log.c): each line one checked write(2). */
typedef struct porta_metrics_log {
  int fd; /* -1: not open */
  char path[1200];
} porta_metrics_log;
/* Opens log->path (set by the caller), appending or truncating. */
porta_status porta_metrics_log_open(porta_metrics_log *log, bool append, char *err,
                                    size_t err_size);
/* Appends one formatted line with a single write (nothing when the log is not open: ranks other
 * than 0 of a data-parallel job keep none); a failure is PORTA_ERR_IO naming the file and
 * the cause. */
porta_status porta_metrics_log_line(porta_metrics_log *log, char *err, size_t err_size,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* {"split": …, "epoch": …, "step": …, "loss": …, + porta_metrics_json's fields} */
porta_status porta_metrics_log_evaluation(porta_metrics_log *log, const char *split, int64_t epoch,
                                          int64_t step, const porta_metrics *m, char *err,
                                          size_t err_size);
/* fsync, before each checkpoint: the log on disk is never behind a saved state. */
porta_status porta_metrics_log_sync(porta_metrics_log *log, char *err, size_t err_size);
/* fsync + close (both checked); nothing when not open. */
porta_status porta_metrics_log_close(porta_metrics_log *log, char *err, size_t err_size);
/* On resume: drops the records metrics.jsonl got after the checkpoint's step (a killed run logged
 * steps that the resumed run repeats), and lines a crash cut short, so the file reads as one
 * uninterrupted run. */
porta_status porta_metrics_trim(const char *path, int64_t step, char *err, size_t err_size);
/* Whether metrics.jsonl holds a test record at step (the run finished and was evaluated). */
bool porta_metrics_has_test(const char *path, int64_t step);

/* What settings.json holds beyond the options: owned copies of the strings porta_settings_load
 * points the options at, and the data's fingerprint (has_data: recorded; older runs lack it). */
typedef struct porta_settings_strings {
  char model_dir[1024], data_path[1024], text_field[256], label_field[256];
  bool has_data;
  porta_data_fingerprint_info data;
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
