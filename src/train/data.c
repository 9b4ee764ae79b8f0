/* Data sets: JSON lines and CSV (RFC 4180) readers. A row that cannot be read is skipped and
 * listed with its line number; one bad row never stops a run. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void porta_dataset_options_init(porta_dataset_options *options) {
  memset(options, 0, sizeof *options);
  options->text_field = "headline";
  options->label_field = "is_sarcastic";
}

/* Rows are collected with their label as text; ids are assigned once the whole file is read
 * (integer labels keep their value, string labels are numbered in byte order). */
typedef struct loader {
  porta_dataset *ds;
  char **label_texts; /* [count] */
  int64_t capacity, skip_capacity;
  const porta_dataset_options *options;
  bool has_labels;
  bool out_of_memory;
} loader;

static void add_skip(loader *ld, int64_t line, const char *reason) {
  porta_dataset *ds = ld->ds;
  if (ds->skipped_count == ld->skip_capacity) {
    int64_t cap = ld->skip_capacity ? ld->skip_capacity * 2 : 16;
    porta_skipped_row *grown = realloc(ds->skipped, (size_t)cap * sizeof *grown);
    if (!grown) {
      ld->out_of_memory = true;
      return;
    }
    ds->skipped = grown;
    ld->skip_capacity = cap;
  }
  porta_skipped_row *row = &ds->skipped[ds->skipped_count++];
  row->line = line;
  snprintf(row->reason, sizeof row->reason, "%s", reason);
}

static bool is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i])) return false;
  return true;
}

static bool is_integer_text(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 9) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

/* Checks one row's text and label; adds it or records why not. Takes ownership of nothing. */
static void add_row(loader *ld, int64_t line, const char *text, size_t text_len,
                    const char *label) {
  char reason[120];
  if (!porta_utf8_valid(text, text_len)) {
    add_skip(ld, line, "invalid UTF-8 in the text");
    return;
  }
  if (text_len == 0 || is_blank(text, text_len)) {
    add_skip(ld, line, "empty text");
    return;
  }
  if (ld->has_labels) {
    if (!porta_utf8_valid(label, strlen(label))) {
      add_skip(ld, line, "invalid UTF-8 in the label");
      return;
    }
    if (label[0] == '\0') {
      add_skip(ld, line, "empty label");
      return;
    }
    const porta_label_map *map = ld->options->label_map;
    if (map && porta_label_map_find(map, label) < 0) {
      snprintf(reason, sizeof reason, "label \"%.60s\" is not in the model's label map", label);
      add_skip(ld, line, reason);
      return;
    }
  }
  porta_dataset *ds = ld->ds;
  if (ds->count == ld->capacity) {
    int64_t cap = ld->capacity ? ld->capacity * 2 : 1024;
    char **texts = realloc(ds->texts, (size_t)cap * sizeof(char *));
    if (texts) ds->texts = texts;
    int64_t *lines = realloc(ds->lines, (size_t)cap * sizeof(int64_t));
    if (lines) ds->lines = lines;
    char **labels = realloc(ld->label_texts, (size_t)cap * sizeof(char *));
    if (labels) ld->label_texts = labels;
    if (!texts || !lines || !labels) {
      ld->out_of_memory = true;
      return;
    }
    ld->capacity = cap;
  }
  char *text_copy = malloc(text_len + 1);
  char *label_copy = ld->has_labels ? strdup(label) : NULL;
  if (!text_copy || (ld->has_labels && !label_copy)) {
    free(text_copy);
    free(label_copy);
    ld->out_of_memory = true;
    return;
  }
  memcpy(text_copy, text, text_len);
  text_copy[text_len] = '\0';
  ds->texts[ds->count] = text_copy;
  ds->lines[ds->count] = line;
  ld->label_texts[ds->count] = label_copy;
  ds->count++;
}

static bool limit_reached(const loader *ld) {
  return ld->options->limit_rows > 0 && ld->ds->count >= ld->options->limit_rows;
}

/* ---- JSON lines -------------------------------------------------------------------------- */
static void read_jsonl_line(loader *ld, const char *line, size_t len, int64_t line_number) {
  const char *text_field = ld->options->text_field;
  const char *label_field = ld->options->label_field;
  char reason[120];
  cJSON *row = cJSON_ParseWithLength(line, len);
  if (!row || !cJSON_IsObject(row)) {
    add_skip(ld, line_number, row ? "not a JSON object" : "bad JSON");
    cJSON_Delete(row);
    return;
  }
  cJSON *text = cJSON_GetObjectItemCaseSensitive(row, text_field);
  if (!text || cJSON_IsNull(text)) {
    snprintf(reason, sizeof reason, "missing field \"%.80s\"", text_field);
    add_skip(ld, line_number, reason);
  } else if (!cJSON_IsString(text)) {
    snprintf(reason, sizeof reason, "field \"%.80s\" is not a string", text_field);
    add_skip(ld, line_number, reason);
  } else {
    char label_text[64] = "";
    const char *label = label_text;
    bool ok = true;
    if (ld->has_labels) {
      cJSON *lab = cJSON_GetObjectItemCaseSensitive(row, label_field);
      if (!lab || cJSON_IsNull(lab)) {
        snprintf(reason, sizeof reason, "missing field \"%.80s\"", label_field);
        ok = false;
      } else if (cJSON_IsBool(lab)) {
        snprintf(label_text, sizeof label_text, "%d", cJSON_IsTrue(lab) ? 1 : 0);
      } else if (cJSON_IsNumber(lab)) {
        double v = lab->valuedouble;
        if (v != floor(v) || v < 0 || v > 1e9) {
          snprintf(reason, sizeof reason, "label %g is not a non-negative integer", v);
          ok = false;
        } else {
          snprintf(label_text, sizeof label_text, "%.0f", v);
        }
      } else if (cJSON_IsString(lab)) {
        label = lab->valuestring;
      } else {
        snprintf(reason, sizeof reason, "field \"%.80s\" is not a number or string", label_field);
        ok = false;
      }
    }
    if (ok)
      add_row(ld, line_number, text->valuestring, strlen(text->valuestring), label);
    else
      add_skip(ld, line_number, reason);
  }
  cJSON_Delete(row);
}

static void read_jsonl(loader *ld, const char *data, size_t size) {
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos < size && !limit_reached(ld) && !ld->out_of_memory) {
    line_number++;
    const char *start = data + pos;
    const char *nl = memchr(start, '\n', size - pos);
    size_t len = nl ? (size_t)(nl - start) : size - pos;
    pos += len + (nl ? 1 : 0);
    if (len > 0 && start[len - 1] == '\r') len--; // CRLF
    if (is_blank(start, len)) continue;
    if (len > PORTA_MAX_ROW_BYTES) {
      char reason[80];
      snprintf(reason, sizeof reason, "%zu bytes, over the 1 MiB a row may have", len);
      add_skip(ld, line_number, reason);
      continue;
    }
    // a NUL byte (a binary or corrupt file) would cut the text short: skip the row instead
    if (memchr(start, '\0', len))
      add_skip(ld, line_number, "NUL byte in the line");
    else
      read_jsonl_line(ld, start, len, line_number);
  }
}

/* ---- CSV (RFC 4180) ---------------------------------------------------------------------- */
typedef struct csv_record {
  char **fields;
  int count, capacity;
  char *buf; /* field bytes, each NUL-terminated */
  size_t buf_len, buf_cap;
  size_t *starts;
} csv_record;

static bool csv_push_char(csv_record *r, char c) {
  if (r->buf_len + 1 >= r->buf_cap) {
    size_t cap = r->buf_cap ? r->buf_cap * 2 : 256;
    char *grown = realloc(r->buf, cap);
    if (!grown) return false;
    r->buf = grown;
    r->buf_cap = cap;
  }
  r->buf[r->buf_len++] = c;
  return true;
}

/* Ends the current field (room for its start offset was made when it began). */
static bool csv_end_field(csv_record *r) {
  if (!csv_push_char(r, '\0')) return false;
  r->count++;
  return true;
}

/* Parses one record starting at *pos; advances *pos and *line past it. Returns false when the
 * record is malformed: a quoted field never closed, or closed by a quote that text follows (RFC
 * 4180 allows only a separator, a line end or the end of the file there). Both mean a quote that
 * was never meant to open a field, which would otherwise swallow the rows after it; error[] says
 * where. Field starts are kept as offsets during parsing (buf may move) and turned into pointers
 * at the end. */
static bool csv_read_record(csv_record *r, const char *data, size_t size, size_t *pos,
                            int64_t *line, char *error, size_t error_size, bool *oom) {
  r->count = 0;
  r->buf_len = 0;
  error[0] = '\0';
  size_t i = *pos;
  bool done = false;
  while (!done) {
    if (r->count == r->capacity) {
      // make room for this field's start offset
      int cap = r->capacity ? r->capacity * 2 : 16;
      size_t *grown = realloc(r->starts, (size_t)cap * sizeof(size_t));
      char **fields = realloc(r->fields, (size_t)cap * sizeof(char *));
      if (grown) r->starts = grown;
      if (fields) r->fields = fields;
      if (!grown || !fields) {
        *oom = true;
        return false;
      }
      r->capacity = cap;
    }
    r->starts[r->count] = r->buf_len;
    if (i < size && data[i] == '"') {
      int64_t opened = *line;
      i++;
      for (;;) {
        if (i >= size) {
          snprintf(error, error_size,
                   "the quoted field opened on line %lld is never closed (unterminated quote)",
                   (long long)opened);
          *pos = size;
          return false;
        }
        char c = data[i++];
        if (c == '"') {
          if (i < size && data[i] == '"') {
            i++;
            if (!csv_push_char(r, '"')) goto oom;
            continue;
          }
          break;
        }
        if (c == '\n') (*line)++;
        if (!csv_push_char(r, c)) goto oom;
      }
      if (i < size && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
        char after[24];
        size_t n = 0;
        while (n < 16 && i + n < size && data[i + n] != '\n' && data[i + n] != '\r') n++;
        snprintf(after, sizeof after, "%.*s", (int)n, data + i);
        if (*line == opened)
          snprintf(error, error_size, "text (\"%s\") after the closing quote of a quoted field",
                   after);
        else
          snprintf(error, error_size,
                   "the quoted field opened on line %lld runs to line %lld, where text "
                   "(\"%s\") follows its closing quote (unterminated quote on line %lld?)",
                   (long long)opened, (long long)*line, after, (long long)opened);
        *pos = i;
        return false;
      }
    } else {
      while (i < size && data[i] != ',' && data[i] != '\n' &&
             !(data[i] == '\r' && i + 1 < size && data[i + 1] == '\n') &&
             !(data[i] == '\r' && i + 1 == size)) {
        if (!csv_push_char(r, data[i++])) goto oom;
      }
    }
    if (!csv_end_field(r)) goto oom;
    if (i < size && data[i] == ',') {
      i++;
      continue;
    }
    // end of record: CRLF, LF or end of data
    if (i < size && data[i] == '\r') i++;
    if (i < size && data[i] == '\n') i++;
    (*line)++;
    done = true;
  }
  *pos = i;
  for (int f = 0; f < r->count; f++) r->fields[f] = r->buf + r->starts[f];
  return true;
oom:
  *oom = true;
  return false;
}

static void csv_free(csv_record *r) {
  free(r->fields);
  free(r->buf);
  free(r->starts);
}

static porta_status read_csv(loader *ld, const char *data, size_t size, char *err,
                             size_t err_size) {
  const char *path = ld->ds->path;
  csv_record r = {0};
  size_t pos = 0;
  int64_t line = 1;
  char error[300];
  bool oom = false;
  // header row
  while (pos < size && (data[pos] == '\n' || data[pos] == '\r')) {
    if (data[pos] == '\n') line++;
    pos++;
  }
  if (!csv_read_record(&r, data, size, &pos, &line, error, sizeof error, &oom)) {
    csv_free(&r);
    if (oom)
      return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s",
                              path);
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: bad CSV header (%s)", path,
                            error);
  }
  int text_col = -1, label_col = -1;
  for (int f = 0; f < r.count; f++) {
    if (strcmp(r.fields[f], ld->options->text_field) == 0) text_col = f;
    if (ld->has_labels && strcmp(r.fields[f], ld->options->label_field) == 0) label_col = f;
  }
  if (text_col < 0 || (ld->has_labels && label_col < 0)) {
    const char *missing = text_col < 0 ? ld->options->text_field : ld->options->label_field;
    csv_free(&r);
    return porta_train_fail(
        err, err_size, PORTA_ERR_FORMAT,
        "%s: the CSV header has no column \"%s\" (set --text-field / --label-field)", path,
        missing);
  }
  char reason[120];
  while (pos < size && !limit_reached(ld) && !ld->out_of_memory) {
    int64_t start_line = line;
    // blank lines between records are not rows
    if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < size && data[pos + 1] == '\n')) {
      pos += data[pos] == '\r' ? 2 : 1;
      line++;
      continue;
    }
    size_t record_start = pos;
    if (!csv_read_record(&r, data, size, &pos, &line, error, sizeof error, &oom)) {
      if (oom) break;
      // not a skip: the rows after a stray quote would vanish into one "field"
      csv_free(&r);
      return porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: line %lld: %s", path,
                              (long long)start_line, error);
    }
    size_t record_len = pos - record_start; // without its line end, as a JSON line's
    while (record_len > 0 && (data[record_start + record_len - 1] == '\n' ||
                              data[record_start + record_len - 1] == '\r'))
      record_len--;
    if (record_len > PORTA_MAX_ROW_BYTES) {
      snprintf(reason, sizeof reason, "%zu bytes, over the 1 MiB a row may have", record_len);
      add_skip(ld, start_line, reason);
      continue;
    }
    // a NUL byte (a binary or corrupt file) would cut the field short: skip the record instead
    if (memchr(data + record_start, '\0', pos - record_start)) {
      add_skip(ld, start_line, "NUL byte in the record");
      continue;
    }
    int need = text_col > label_col ? text_col : label_col;
    if (r.count <= need) {
      snprintf(reason, sizeof reason, "expected at least %d fields, found %d", need + 1, r.count);
      add_skip(ld, start_line, reason);
      continue;
    }
    const char *text = r.fields[text_col];
    add_row(ld, start_line, text, strlen(text), ld->has_labels ? r.fields[label_col] : NULL);
  }
  csv_free(&r);
  if (oom) ld->out_of_memory = true;
  return PORTA_OK;
}

/* ---- labels ------------------------------------------------------------------------------ */
static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static porta_status assign_labels(loader *ld, char *err, size_t err_size) {
  porta_dataset *ds = ld->ds;
  ds->labels = malloc((size_t)(ds->count ? ds->count : 1) * sizeof(int32_t));
  if (!ds->labels) return PORTA_ERR_OUT_OF_MEMORY;
  if (!ld->has_labels) {
    for (int64_t i = 0; i < ds->count; i++) ds->labels[i] = -1;
    return PORTA_OK;
  }
  if (ld->options->label_map) {
    porta_status st = porta_label_map_copy(&ds->label_map, ld->options->label_map);
    if (st != PORTA_OK) return st;
    for (int64_t i = 0; i < ds->count; i++)
      ds->labels[i] = porta_label_map_find(&ds->label_map, ld->label_texts[i]);
    return PORTA_OK;
  }
  bool all_integers = true;
  for (int64_t i = 0; i < ds->count && all_integers; i++)
    all_integers = is_integer_text(ld->label_texts[i]);
  porta_label_map *map = &ds->label_map;
  if (all_integers) {
    long max_label = 0;
    for (int64_t i = 0; i < ds->count; i++) {
      long v = strtol(ld->label_texts[i], NULL, 10);
      if (v > max_label) max_label = v;
    }
    if (max_label >= PORTA_MAX_CLASSES)
      return porta_train_fail(err, err_size, PORTA_ERR_LIMIT,
                              "%s: label %ld means more than %d classes", ds->path, max_label,
                              PORTA_MAX_CLASSES);
    // at least two classes: a tiny sample with one class still trains a binary head
    map->count = max_label + 1 < 2 ? 2 : (int)max_label + 1;
    map->names = calloc((size_t)map->count, sizeof(char *));
    if (!map->names) return PORTA_ERR_OUT_OF_MEMORY;
    for (int c = 0; c < map->count; c++) {
      char name[16];
      snprintf(name, sizeof name, "%d", c);
      map->names[c] = strdup(name);
    }
    for (int64_t i = 0; i < ds->count; i++)
      ds->labels[i] = (int32_t)strtol(ld->label_texts[i], NULL, 10);
    return PORTA_OK;
  }
  // string labels: unique names in byte order
  char **sorted = malloc((size_t)ds->count * sizeof(char *));
  if (!sorted) return PORTA_ERR_OUT_OF_MEMORY;
  memcpy(sorted, ld->label_texts, (size_t)ds->count * sizeof(char *));
  qsort(sorted, (size_t)ds->count, sizeof(char *), compare_strings);
  int unique = 0;
  for (int64_t i = 0; i < ds->count; i++)
    if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0) sorted[unique++] = sorted[i];
  if (unique > PORTA_MAX_CLASSES) {
    free(sorted);
    return porta_train_fail(err, err_size, PORTA_ERR_LIMIT,
                            "%s: %d distinct labels, more than %d classes", ds->path, unique,
                            PORTA_MAX_CLASSES);
  }
  map->from_strings = true;
  map->count = unique;
  map->names = calloc((size_t)unique, sizeof(char *));
  if (!map->names) {
    free(sorted);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  for (int c = 0; c < unique; c++) map->names[c] = strdup(sorted[c]);
  free(sorted);
  for (int64_t i = 0; i < ds->count; i++)
    ds->labels[i] = porta_label_map_find(map, ld->label_texts[i]);
  return PORTA_OK;
}

/* A label column holds a few values, each on many rows. A label that breaks that pattern (text
 * among integer labels, or a value on 1 to 3 rows of hundreds) is most often a row whose columns
 * slipped (a stray quote or separator) and would silently add a class: ds->label_note says so,
 * naming the lines. */
static void check_label_set(loader *ld) {
  porta_dataset *ds = ld->ds;
  const porta_label_map *map = &ds->label_map;
  int64_t *counts = calloc((size_t)(map->count ? map->count : 1), sizeof(int64_t));
  int64_t *first_line = calloc((size_t)(map->count ? map->count : 1), sizeof(int64_t));
  if (!counts || !first_line) {
    free(counts), free(first_line);
    return;
  }
  int64_t integer_rows = 0;
  for (int64_t i = 0; i < ds->count; i++) {
    int32_t c = ds->labels[i];
    if (c < 0 || c >= map->count) continue;
    if (counts[c]++ == 0) first_line[c] = ds->lines[i];
    if (is_integer_text(map->names[c])) integer_rows++;
  }
  size_t used = 0;
  char *note = ds->label_note;
  size_t size = sizeof ds->label_note;
  bool mostly_integers = integer_rows * 10 >= ds->count * 9 && integer_rows < ds->count;
  int listed = 0;
  for (int c = 0; c < map->count && used < size; c++) {
    bool odd = mostly_integers ? !is_integer_text(map->names[c])
                               : counts[c] <= 3 && counts[c] * 100 < ds->count;
    if (!odd) continue;
    if (listed++ == 3) {
      used += (size_t)snprintf(note + used, size - used, ", …");
      break;
    }
    used += (size_t)snprintf(
        note + used, size - used, "%slabel \"%.40s\" on %lld row%s (line %lld)", used ? ", " : "",
        map->names[c], (long long)counts[c], counts[c] == 1 ? "" : "s", (long long)first_line[c]);
  }
  if (used > 0 && used < size)
    snprintf(note + used, size - used, "%s",
             mostly_integers ? ": not an integer, as the other labels are (a row whose columns "
                               "slipped?)"
                             : ": far rarer than the other labels (a row whose columns slipped?)");
  free(counts), free(first_line);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

porta_status porta_dataset_load(porta_dataset **out, const char *path,
                                const porta_dataset_options *options, char *err, size_t err_size) {
  *out = NULL;
  porta_dataset_options defaults;
  porta_dataset_options_init(&defaults);
  if (!options) options = &defaults;
  porta_dataset_options opts = *options;
  if (!opts.text_field) opts.text_field = defaults.text_field;
  if (!opts.label_field) opts.label_field = defaults.label_field;
  if (!path)
    return porta_train_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT, "no data file given");

  char *data;
  size_t size;
  porta_status st = porta_read_file(path, &data, &size, err, err_size);
  if (st != PORTA_OK) return st;
  porta_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    free(data);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  snprintf(ds->path, sizeof ds->path, "%s", path);
  loader ld = {.ds = ds, .options = &opts, .has_labels = opts.label_field[0] != '\0'};
  const char *body = data;
  size_t body_size = size;
  if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) body += 3, body_size -= 3; // BOM
  porta_data_format format = opts.format;
  if (format == PORTA_DATA_AUTO)
    format = ends_with(path, ".csv") ? PORTA_DATA_CSV : PORTA_DATA_JSONL;
  if (format == PORTA_DATA_CSV)
    st = read_csv(&ld, body, body_size, err, err_size);
  else
    read_jsonl(&ld, body, body_size);
  free(data);
  if (st == PORTA_OK && ld.out_of_memory)
    st = porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
  if (st == PORTA_OK && ds->count == 0) {
    char summary[512];
    porta_dataset_skip_summary(ds, 5, summary, sizeof summary);
    st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                          "%s: no readable row (text field \"%s\"%s%s%s)%s%s", path,
                          opts.text_field, ld.has_labels ? ", label field \"" : "",
                          ld.has_labels ? opts.label_field : "", ld.has_labels ? "\"" : "",
                          summary[0] ? "; " : "", summary);
  }
  if (st == PORTA_OK) {
    st = assign_labels(&ld, err, err_size);
    if (st == PORTA_ERR_OUT_OF_MEMORY)
      porta_train_fail(err, err_size, st, "out of memory reading %s", path);
    if (st == PORTA_OK && ld.has_labels && !opts.label_map) check_label_set(&ld);
  }
  if (ld.label_texts)
    for (int64_t i = 0; i < ds->count; i++) free(ld.label_texts[i]);
  free(ld.label_texts);
  if (st != PORTA_OK) {
    porta_dataset_free(ds);
    return st;
  }
  *out = ds;
  return PORTA_OK;
}

void porta_dataset_free(porta_dataset *ds) {
  if (!ds) return;
  for (int64_t i = 0; i < ds->count; i++) free(ds->texts[i]);
  free(ds->texts);
  free(ds->labels);
  free(ds->lines);
  free(ds->skipped);
  porta_label_map_free(&ds->label_map);
  free(ds);
}

void porta_dataset_skip_summary(const porta_dataset *ds, int max_listed, char *buf, size_t size) {
  if (size == 0) return;
  buf[0] = '\0';
  if (ds->skipped_count == 0) return;
  size_t used = (size_t)snprintf(buf, size, "skipped %lld row%s:", (long long)ds->skipped_count,
                                 ds->skipped_count == 1 ? "" : "s");
  for (int64_t i = 0; i < ds->skipped_count && i < max_listed && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s line %lld (%s)", i ? "," : "",
                             (long long)ds->skipped[i].line, ds->skipped[i].reason);
  if (ds->skipped_count > max_listed && used < size)
    snprintf(buf + used, size - used, ", and %lld more",
             (long long)(ds->skipped_count - max_listed));
}
