/* safetensors reader. The format: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
 *    "data_offsets": [begin, end]}, ...}
 * then the data area; offsets are relative to its start. Everything is checked before any tensor
 * is handed out: a sane header length inside the file, valid JSON, a known dtype, non-negative
 * integer shapes, shape × dtype size == end - begin, spans inside the data area and not
 * overlapping each other. The file stays memory-mapped; entries point into it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/weights_internal.h"

// A JSON number that is an exact non-negative integer below 2^53.
static bool json_uint(const cJSON *item, uint64_t *out) {
  if (!cJSON_IsNumber(item)) return false;
  double v = item->valuedouble;
  if (!(v >= 0.0) || v > 9007199254740992.0 || floor(v) != v) return false;
  *out = (uint64_t)v;
  return true;
}

typedef struct span {
  uint64_t begin, end;
  const char *name;
} span;

static int compare_spans(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : (x->end > y->end);
}

// Parses one tensor's header object into e (storage = its span). Message names file and tensor.
static porta_status parse_entry(porta_weight_entry *e, span *sp, const cJSON *item,
                                const char *file, const uint8_t *data_area, uint64_t data_size,
                                char *err, size_t err_size) {
  const char *name = item->string;
  if (!cJSON_IsObject(item)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: tensor %s: entry is not an object",
                         file, name);
  }
  const char *dtype_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "dtype"));
  if (dtype_name == NULL) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: tensor %s has no \"dtype\" string",
                         file, name);
  }
  porta_weight_dtype dtype;
  if (!porta_weight_dtype_parse(dtype_name, &dtype)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor %s has unknown dtype \"%.32s\" (known: F32 F16 BF16 F64 I64 "
                         "I32 I16 I8 U8 BOOL)",
                         file, name, dtype_name);
  }
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
  if (!cJSON_IsArray(shape)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: tensor %s has no \"shape\" array",
                         file, name);
  }
  int ndim = cJSON_GetArraySize(shape);
  if (ndim > PORTA_WEIGHTS_MAX_DIMS) {
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size,
                         "%s: tensor %s has %d dimensions (at most %d)", file, name, ndim,
                         PORTA_WEIGHTS_MAX_DIMS);
  }
  memset(e, 0, sizeof(*e));
  e->name = (char *)name;
  e->dtype = dtype;
  e->ndim = ndim;
  uint64_t bytes = porta_weight_dtype_size(dtype);
  const uint64_t limit = (uint64_t)1 << 62;
  int d = 0;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, shape) {
    uint64_t v = 0;
    if (!json_uint(dim, &v)) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: tensor %s: shape[%d] is not a non-negative integer", file, name, d);
    }
    e->shape[d++] = (int64_t)v;
    if (v != 0 && bytes > limit / v) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: tensor %s: shape is absurdly large", file, name);
    }
    bytes *= v;
  }
  // Row-major strides.
  int64_t stride = 1;
  for (int k = ndim - 1; k >= 0; k--) {
    e->stride[k] = stride;
    stride *= e->shape[k] ? e->shape[k] : 1;
  }
  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
  uint64_t begin = 0, end = 0;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_uint(cJSON_GetArrayItem(offsets, 0), &begin) ||
      !json_uint(cJSON_GetArrayItem(offsets, 1), &end)) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor %s: \"data_offsets\" must be two non-negative integers", file,
                         name);
  }
  if (begin > end) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor %s: data_offsets [%llu, %llu] run backwards", file, name,
                         (unsigned long long)begin, (unsigned long long)end);
  }
  if (end > data_size) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor %s: data_offsets [%llu, %llu] reach past the data area of "
                         "%llu bytes (file truncated?)",
                         file, name, (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)data_size);
  }
  if (end - begin != bytes) {
    char shape_text[160] = "";
    size_t pos = 0;
    for (int k = 0; k < ndim && pos < sizeof(shape_text) - 24; k++) {
      pos += (size_t)snprintf(shape_text + pos, sizeof(shape_text) - pos, k ? ", %lld" : "%lld",
                              (long long)e->shape[k]);
    }
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor %s: %s shape [%s] needs %llu bytes but data_offsets span %llu",
                         file, name, dtype_name, shape_text, (unsigned long long)bytes,
                         (unsigned long long)(end - begin));
  }
  e->storage = data_area + begin;
  e->storage_bytes = end - begin;
  e->offset = 0;
  sp->begin = begin;
  sp->end = end;
  sp->name = name;
  return PORTA_OK;
}

porta_status porta_safetensors_parse(porta_weights *w, int file, char *err, size_t err_size) {
  const porta_mapped_file *f = &w->files[file];
  if (f->size < 8) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: %zu bytes is too short for a safetensors file (no 8-byte header "
                         "length)",
                         f->path, f->size);
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | f->data[i];
  if (header_len > PORTA_SAFETENSORS_MAX_HEADER) {
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size,
                         "%s: header length %llu is over the limit of %u bytes (not a safetensors "
                         "file?)",
                         f->path, (unsigned long long)header_len, PORTA_SAFETENSORS_MAX_HEADER);
  }
  if (header_len > f->size - 8) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: header length %llu reaches past the end of the file (%zu bytes)",
                         f->path, (unsigned long long)header_len, f->size);
  }
  const char *header = (const char *)f->data + 8;
  const char *at = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(header, (size_t)header_len, &at, 0);
  if (root == NULL) {
    long pos = at && at >= header && at <= header + header_len ? (long)(at - header) : -1;
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: the JSON header does not parse (near byte %ld of %llu)", f->path, pos,
                         (unsigned long long)header_len);
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: the JSON header is not an object",
                         f->path);
  }
  const uint8_t *data_area = f->data + 8 + header_len;
  uint64_t data_size = f->size - 8 - header_len;
  int n = cJSON_GetArraySize(root);
  span *spans = calloc((size_t)n + 1, sizeof(*spans));
  if (spans == NULL) {
    cJSON_Delete(root);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory reading %s",
                         f->path);
  }
  porta_status s = PORTA_OK;
  int n_spans = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    if (strcmp(item->string, "__metadata__") == 0) {
      // String-to-string map per the format; its content does not matter to us.
      if (!cJSON_IsObject(item)) {
        s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: \"__metadata__\" is not an object",
                          f->path);
        break;
      }
      continue;
    }
    porta_weight_entry e;
    s = parse_entry(&e, &spans[n_spans], item, f->path, data_area, data_size, err, err_size);
    if (s != PORTA_OK) break;
    e.file = file;
    s = porta_weights_add(w, &e, err, err_size);
    if (s != PORTA_OK) break;
    n_spans++;
  }
  if (s == PORTA_OK) {
    // No two tensors may share bytes (empty tensors take none).
    qsort(spans, (size_t)n_spans, sizeof(*spans), compare_spans);
    uint64_t prev_begin = 0, prev_end = 0;
    const char *prev_name = NULL;
    for (int i = 0; i < n_spans; i++) {
      if (spans[i].begin == spans[i].end) continue;
      if (prev_name != NULL && spans[i].begin < prev_end) {
        s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                          "%s: tensors %s and %s overlap (bytes %llu..%llu and %llu..%llu)",
                          f->path, prev_name, spans[i].name, (unsigned long long)prev_begin,
                          (unsigned long long)prev_end, (unsigned long long)spans[i].begin,
                          (unsigned long long)spans[i].end);
        break;
      }
      prev_begin = spans[i].begin;
      prev_end = spans[i].end;
      prev_name = spans[i].name;
    }
  }
  // Entry names were copied by porta_weights_add; the JSON can go.
  free(spans);
  cJSON_Delete(root);
  return s;
}
