/* safetensors writer: header JSON (names escaped, offsets in the order given, padded with spaces
 * to a multiple of 8 as the reference implementation does), then the data. The file appears
 * atomically (porta_atomic_*): a failure leaves any previous file untouched. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/weights_internal.h"

// A growing text buffer for the header.
typedef struct text {
  char *data;
  size_t len, cap;
  bool failed;
} text;

static void text_append(text *t, const char *s, size_t n) {
  if (t->failed) return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 4096;
    while (cap < t->len + n + 1) cap *= 2;
    char *data = realloc(t->data, cap);
    if (data == NULL) {
      t->failed = true;
      return;
    }
    t->data = data;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
}

static void text_puts(text *t, const char *s) { text_append(t, s, strlen(s)); }

// A JSON string literal: quotes, backslashes and control bytes escaped; UTF-8 passes through.
static void text_json_string(text *t, const char *s) {
  text_puts(t, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      text_append(t, esc, 2);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof(esc), "\\u%04x", *p);
      text_append(t, esc, 6);
    } else {
      text_append(t, (const char *)p, 1);
    }
  }
  text_puts(t, "\"");
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static porta_status check_arrays(const char *path, const porta_raw_array *arrays, int count,
                                 uint64_t *sizes, char *err, size_t err_size) {
  for (int i = 0; i < count; i++) {
    const porta_raw_array *a = &arrays[i];
    if (a->name == NULL || a->name[0] == '\0' || strlen(a->name) > PORTA_WEIGHTS_MAX_NAME ||
        strcmp(a->name, "__metadata__") == 0) {
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "writing %s: array %d has an empty, reserved or too long name", path, i);
    }
    if (a->ndim < 0 || a->ndim > PORTA_WEIGHTS_MAX_DIMS) {
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "writing %s: array %s has %d dimensions", path, a->name, a->ndim);
    }
    uint64_t bytes = porta_weight_dtype_size(a->dtype);
    if (bytes == 0) {
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "writing %s: array %s has an unknown dtype", path, a->name);
    }
    for (int d = 0; d < a->ndim; d++) {
      if (a->shape[d] < 0 ||
          (a->shape[d] != 0 && bytes > ((uint64_t)1 << 62) / (uint64_t)a->shape[d])) {
        return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                             "writing %s: array %s has a bad size in dim %d (%lld)", path, a->name,
                             d, (long long)a->shape[d]);
      }
      bytes *= (uint64_t)a->shape[d];
    }
    if (bytes > 0 && a->data == NULL && a->source == NULL) {
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "writing %s: array %s has no data", path, a->name);
    }
    if (a->data == NULL && a->source != NULL) {
      const porta_weight_entry *e = &a->source->entries[a->source_index];
      if (e->dtype != a->dtype || (uint64_t)e->numel * porta_weight_dtype_size(e->dtype) != bytes) {
        return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                             "writing %s: array %s does not match its source tensor", path,
                             a->name);
      }
    }
    sizes[i] = bytes;
  }
  // Names must be unique.
  const char **names = malloc(sizeof(*names) * (size_t)(count + 1));
  if (names == NULL) return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  for (int i = 0; i < count; i++) names[i] = arrays[i].name;
  qsort(names, (size_t)count, sizeof(*names), compare_names);
  porta_status s = PORTA_OK;
  for (int i = 1; i < count; i++) {
    if (strcmp(names[i - 1], names[i]) == 0) {
      s = porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                        "writing %s: duplicate array name %s", path, names[i]);
      break;
    }
  }
  free(names);
  return s;
}

// Appends "__metadata__": {...} from metadata_json (string values only), adding "format": "pt".
static porta_status append_metadata(text *t, const char *path, const char *metadata_json, char *err,
                                    size_t err_size) {
  cJSON *meta = NULL;
  if (metadata_json != NULL) {
    meta = cJSON_Parse(metadata_json);
    if (!cJSON_IsObject(meta)) {
      cJSON_Delete(meta);
      return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                           "writing %s: metadata is not a JSON object", path);
    }
  }
  text_puts(t, "\"__metadata__\":{");
  bool has_format = false, first = true;
  const cJSON *item;
  cJSON_ArrayForEach(item, meta) {
    if (!cJSON_IsString(item)) {
      porta_status s =
          porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                        "writing %s: metadata value of \"%s\" is not a string", path, item->string);
      cJSON_Delete(meta);
      return s;
    }
    if (strcmp(item->string, "format") == 0) has_format = true;
    if (!first) text_puts(t, ",");
    first = false;
    text_json_string(t, item->string);
    text_puts(t, ":");
    text_json_string(t, item->valuestring);
  }
  if (!has_format) text_puts(t, first ? "\"format\":\"pt\"" : ",\"format\":\"pt\"");
  text_puts(t, "}");
  cJSON_Delete(meta);
  return PORTA_OK;
}

porta_status porta_safetensors_write_raw(const char *path, const porta_raw_array *arrays, int count,
                                         const char *metadata_json, char *err, size_t err_size) {
  if (path == NULL || count < 0 || (count > 0 && arrays == NULL)) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_safetensors_write: bad arguments");
  }
  uint64_t *sizes = calloc((size_t)count + 1, sizeof(*sizes));
  if (sizes == NULL) return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  porta_status s = check_arrays(path, arrays, count, sizes, err, err_size);
  text t = {0};
  if (s == PORTA_OK) {
    text_puts(&t, "{");
    s = append_metadata(&t, path, metadata_json, err, err_size);
  }
  uint64_t offset = 0;
  for (int i = 0; i < count && s == PORTA_OK; i++) {
    char buf[64];
    text_puts(&t, ",");
    text_json_string(&t, arrays[i].name);
    text_puts(&t, ":{\"dtype\":\"");
    text_puts(&t, porta_weight_dtype_name(arrays[i].dtype));
    text_puts(&t, "\",\"shape\":[");
    for (int d = 0; d < arrays[i].ndim; d++) {
      snprintf(buf, sizeof(buf), d ? ",%lld" : "%lld", (long long)arrays[i].shape[d]);
      text_puts(&t, buf);
    }
    snprintf(buf, sizeof(buf), "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
             (unsigned long long)(offset + sizes[i]));
    text_puts(&t, buf);
    offset += sizes[i];
  }
  text_puts(&t, "}");
  while (!t.failed && t.len % 8 != 0) text_puts(&t, " ");
  if (s == PORTA_OK && t.failed) {
    s = porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory writing %s", path);
  }
  if (s == PORTA_OK && t.len > PORTA_SAFETENSORS_MAX_HEADER) {
    s = porta_io_fail(PORTA_ERR_LIMIT, err, err_size,
                      "writing %s: header of %zu bytes is over the limit", path, t.len);
  }
  porta_atomic_file f;
  if (s == PORTA_OK) s = porta_atomic_open(&f, path, err, err_size);
  if (s == PORTA_OK) {
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)((uint64_t)t.len >> (8 * i));
    porta_atomic_write(&f, len_bytes, 8);
    porta_atomic_write(&f, t.data, t.len);
    for (int i = 0; i < count && s == PORTA_OK; i++) {
      if (arrays[i].data != NULL) {
        porta_atomic_write(&f, arrays[i].data, sizes[i]);
      } else if (sizes[i] > 0) {
        void *buf = malloc(sizes[i]);
        if (buf == NULL) {
          s = porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory writing %s (%s)",
                            path, arrays[i].name);
          break;
        }
        porta_weight_entry_gather(&arrays[i].source->entries[arrays[i].source_index], buf);
        porta_atomic_write(&f, buf, sizes[i]);
        free(buf);
      }
    }
    if (s == PORTA_OK) {
      s = porta_atomic_commit(&f, err, err_size);
    } else {
      porta_atomic_abort(&f);
    }
  }
  free(t.data);
  free(sizes);
  return s;
}

porta_status porta_safetensors_write(const char *path, const porta_named_array *arrays, int count,
                                     const char *metadata_json, char *err, size_t err_size) {
  if (count < 0 || (count > 0 && arrays == NULL)) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_safetensors_write: bad arguments");
  }
  porta_raw_array *raw = calloc((size_t)count + 1, sizeof(*raw));
  if (raw == NULL) return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  for (int i = 0; i < count; i++) {
    raw[i].name = arrays[i].name;
    raw[i].dtype = PORTA_WEIGHT_F32;
    raw[i].ndim = arrays[i].ndim;
    for (int d = 0; d < PORTA_WEIGHTS_MAX_DIMS; d++) raw[i].shape[d] = arrays[i].shape[d];
    raw[i].data = arrays[i].data;
  }
  porta_status s = porta_safetensors_write_raw(path, raw, count, metadata_json, err, err_size);
  free(raw);
  return s;
}
