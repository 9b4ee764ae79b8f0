/* metrics.jsonl, the run's log: one JSON object a line (steps, evaluations, the test), each line
 * one write(2), every write, fsync and close checked. A failed write is an error like a failed
 * checkpoint: a record is never silently lost or spliced. On resume the log is cut back to the
 * checkpoint's step. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_internal.h"

porta_status porta_metrics_log_open(porta_metrics_log *log, bool append, char *err,
                                    size_t err_size) {
  log->fd =
      open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC), 0644);
  if (log->fd < 0)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot write %s: %s", log->path,
                            strerror(errno));
  return PORTA_OK;
}

porta_status porta_metrics_log_line(porta_metrics_log *log, char *err, size_t err_size,
                                    const char *fmt, ...) {
  if (log->fd < 0) return PORTA_OK; /* not open: a rank other than 0 logs nothing */
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(NULL, 0, fmt, args);
  va_end(args);
  char *line = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!line) return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  va_start(args, fmt);
  vsnprintf(line, (size_t)n + 1, fmt, args);
  va_end(args);
  bool ok = porta_write_all(log->fd, line, (size_t)n);
  int e = errno;
  free(line);
  if (!ok)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot write %s: %s", log->path,
                            strerror(e));
  return PORTA_OK;
}

porta_status porta_metrics_log_evaluation(porta_metrics_log *log, const char *split, int64_t epoch,
                                          int64_t step, const porta_metrics *m, char *err,
                                          size_t err_size) {
  int n = porta_metrics_json(m, NULL, 0);
  char *json = malloc((size_t)n + 1);
  if (!json) return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  porta_metrics_json(m, json, (size_t)n + 1);
  // {"split":…,"epoch":…,"step":…,"loss":…, + the metrics object's fields}
  porta_status st = porta_metrics_log_line(
      log, err, err_size,
      "{\"split\": \"%s\", \"epoch\": %lld, \"step\": %lld, \"loss\": %.6f, %s\n", split,
      (long long)epoch, (long long)step, m->loss, json + 1);
  free(json);
  return st;
}

porta_status porta_metrics_log_sync(porta_metrics_log *log, char *err, size_t err_size) {
  if (log->fd < 0) return PORTA_OK;
  if (fsync(log->fd) != 0 && errno != EINVAL)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot fsync %s: %s", log->path,
                            strerror(errno));
  return PORTA_OK;
}

porta_status porta_metrics_log_close(porta_metrics_log *log, char *err, size_t err_size) {
  if (log->fd < 0) return PORTA_OK;
  porta_status st = porta_metrics_log_sync(log, err, err_size);
  if (close(log->fd) != 0 && st == PORTA_OK && errno != EINTR)
    st = porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot close %s: %s", log->path,
                          strerror(errno));
  log->fd = -1;
  return st;
}

porta_status porta_metrics_trim(const char *path, int64_t step, char *err, size_t err_size) {
  char *data;
  size_t size;
  if (porta_read_file(path, &data, &size, NULL, 0) != PORTA_OK) return PORTA_OK; // none yet
  size_t kept = 0;
  for (size_t pos = 0; pos < size;) {
    char *line = data + pos;
    char *nl = memchr(line, '\n', size - pos);
    size_t len = nl ? (size_t)(nl - line) + 1 : size - pos;
    // only whole lines (a write cut by a crash has no newline) that are JSON objects with a step
    bool keep = false;
    if (nl) {
      cJSON *record = cJSON_ParseWithLength(line, len);
      cJSON *at = cJSON_GetObjectItemCaseSensitive(record, "step");
      keep = cJSON_IsObject(record) && cJSON_IsNumber(at) && at->valuedouble <= (double)step;
      cJSON_Delete(record);
    }
    if (keep) {
      memmove(data + kept, line, len);
      kept += len;
    }
    pos += len;
  }
  porta_status st = porta_write_file_atomic(path, data, kept, err, err_size);
  free(data);
  return st;
}

bool porta_metrics_has_test(const char *path, int64_t step) {
  char *data;
  size_t size;
  if (porta_read_file(path, &data, &size, NULL, 0) != PORTA_OK) return false;
  bool found = false;
  for (char *line = data; !found && line < data + size;) {
    char *nl = memchr(line, '\n', (size_t)(data + size - line));
    if (!nl) break;
    cJSON *record = cJSON_ParseWithLength(line, (size_t)(nl - line));
    cJSON *split = cJSON_GetObjectItemCaseSensitive(record, "split");
    cJSON *at = cJSON_GetObjectItemCaseSensitive(record, "step");
    found = cJSON_IsString(split) && !strcmp(split->valuestring, "test") && cJSON_IsNumber(at) &&
            at->valuedouble == (double)step;
    cJSON_Delete(record);
    line = nl + 1;
  }
  free(data);
  return found;
}
