/* porta_weights: the named tensors of a checkpoint folder or file, whatever its format.
 * Opening finds the files, lets the format parsers (safetensors.c, weights_torch.c) add strided
 * entries that point into memory-mapped files, then sorts the entries by name. Reading converts
 * F32/F16/BF16/F64 to f32 and integer types to int64. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "formats/weights_internal.h"

// Files store little-endian bytes, copied as they are into host values.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "porta's checkpoint readers assume a little-endian host"
#endif

static const struct {
  const char *name;
  size_t size;
} DTYPES[] = {
    [PORTA_WEIGHT_F32] = {"F32", 4},   [PORTA_WEIGHT_F16] = {"F16", 2},
    [PORTA_WEIGHT_BF16] = {"BF16", 2}, [PORTA_WEIGHT_F64] = {"F64", 8},
    [PORTA_WEIGHT_I64] = {"I64", 8},   [PORTA_WEIGHT_I32] = {"I32", 4},
    [PORTA_WEIGHT_I16] = {"I16", 2},   [PORTA_WEIGHT_I8] = {"I8", 1},
    [PORTA_WEIGHT_U8] = {"U8", 1},     [PORTA_WEIGHT_BOOL] = {"BOOL", 1},
};
#define DTYPE_COUNT ((int)(sizeof(DTYPES) / sizeof(DTYPES[0])))

const char *porta_weight_dtype_name(porta_weight_dtype dtype) {
  if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT) return "?";
  return DTYPES[dtype].name;
}

size_t porta_weight_dtype_size(porta_weight_dtype dtype) {
  if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT) return 0;
  return DTYPES[dtype].size;
}

bool porta_weight_dtype_parse(const char *name, porta_weight_dtype *out) {
  for (int i = 0; i < DTYPE_COUNT; i++) {
    if (strcmp(name, DTYPES[i].name) == 0) {
      *out = (porta_weight_dtype)i;
      return true;
    }
  }
  return false;
}

static bool is_float_dtype(porta_weight_dtype d) {
  return d == PORTA_WEIGHT_F32 || d == PORTA_WEIGHT_F16 || d == PORTA_WEIGHT_BF16 ||
         d == PORTA_WEIGHT_F64;
}

// ---- building ---------------------------------------------------------------------------------

porta_status porta_weights_add_file(porta_weights *w, porta_mapped_file *f, int *index, char *err,
                                    size_t err_size) {
  porta_mapped_file *files = realloc(w->files, sizeof(*files) * (size_t)(w->file_count + 1));
  if (files == NULL) {
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory opening %s",
                         f->path);
  }
  w->files = files;
  files[w->file_count] = *f;
  memset(f, 0, sizeof(*f));
  *index = w->file_count++;
  return PORTA_OK;
}

porta_status porta_weights_add(porta_weights *w, const porta_weight_entry *e, char *err,
                               size_t err_size) {
  const char *file = w->files[e->file].path;
  size_t name_len = strlen(e->name);
  if (name_len == 0 || name_len > PORTA_WEIGHTS_MAX_NAME) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: tensor name of %zu bytes (must be 1..%d)", file, name_len,
                         PORTA_WEIGHTS_MAX_NAME);
  }
  if (w->count >= PORTA_WEIGHTS_MAX_TENSORS) {
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size, "%s: more than %d tensors", file,
                         PORTA_WEIGHTS_MAX_TENSORS);
  }
  if (e->ndim < 0 || e->ndim > PORTA_WEIGHTS_MAX_DIMS) {
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size,
                         "%s: tensor %s has %d dimensions (at most %d)", file, e->name, e->ndim,
                         PORTA_WEIGHTS_MAX_DIMS);
  }
  // numel and the furthest element reachable through the strides, both without overflow.
  const int64_t limit = INT64_MAX / 16;
  int64_t numel = 1, furthest = e->offset;
  if (e->offset < 0) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: tensor %s has storage offset %lld",
                         file, e->name, (long long)e->offset);
  }
  for (int d = 0; d < e->ndim; d++) {
    if (e->shape[d] < 0 || e->stride[d] < 0) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: tensor %s has negative size or stride in dim %d", file, e->name, d);
    }
    if (e->shape[d] != 0 && numel > limit / e->shape[d]) {
      return porta_io_fail(PORTA_ERR_LIMIT, err, err_size,
                           "%s: tensor %s declares an absurd number of elements", file, e->name);
    }
    numel *= e->shape[d];
  }
  size_t esize = porta_weight_dtype_size(e->dtype);
  uint64_t storage_elems = e->storage_bytes / esize;
  if (numel > 0) {
    for (int d = 0; d < e->ndim; d++) {
      if (e->stride[d] != 0 && e->shape[d] - 1 > (limit - furthest) / e->stride[d]) {
        return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                             "%s: tensor %s reaches past its storage (strides overflow)", file,
                             e->name);
      }
      furthest += (e->shape[d] - 1) * e->stride[d];
    }
    if ((uint64_t)furthest >= storage_elems) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: tensor %s needs element %lld of its storage, which holds %llu "
                           "elements of %s",
                           file, e->name, (long long)furthest, (unsigned long long)storage_elems,
                           porta_weight_dtype_name(e->dtype));
    }
  }
  if (w->count == w->capacity) {
    int cap = w->capacity ? w->capacity * 2 : 64;
    porta_weight_entry *entries = realloc(w->entries, sizeof(*entries) * (size_t)cap);
    if (entries == NULL) {
      return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory reading %s",
                           file);
    }
    w->entries = entries;
    w->capacity = cap;
  }
  porta_weight_entry *dst = &w->entries[w->count];
  *dst = *e;
  dst->numel = numel;
  dst->name = strdup(e->name);
  if (dst->name == NULL) {
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory reading %s", file);
  }
  w->count++;
  return PORTA_OK;
}

static int compare_entries(const void *a, const void *b) {
  return strcmp(((const porta_weight_entry *)a)->name, ((const porta_weight_entry *)b)->name);
}

// ---- opening ---------------------------------------------------------------------------------

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// Maps one checkpoint file and hands it to the parser its name or first bytes call for.
static porta_status open_one(porta_weights *w, const char *path, int *file_index, char *err,
                             size_t err_size) {
  porta_mapped_file f;
  porta_status s = porta_map_file(&f, path, err, err_size);
  if (s != PORTA_OK) return s;
  int index = 0;
  s = porta_weights_add_file(w, &f, &index, err, err_size);
  if (s != PORTA_OK) {
    porta_unmap_file(&f);
    return s;
  }
  *file_index = index;
  const porta_mapped_file *mf = &w->files[index];
  bool torch = ends_with(path, ".bin") || ends_with(path, ".pt") || ends_with(path, ".pth");
  if (!ends_with(path, ".safetensors") && mf->size >= 2) {
    // Sniff: a zip (torch >= 1.6) or a pickle stream (legacy torch.save).
    if ((mf->data[0] == 'P' && mf->data[1] == 'K') || mf->data[0] == 0x80) torch = true;
  }
  const char *format = torch ? NULL : "safetensors";
  s = torch ? porta_torch_parse(w, index, err, err_size)
            : porta_safetensors_parse(w, index, err, err_size);
  if (s == PORTA_OK && w->format == NULL) w->format = format;
  return s;
}

static porta_status open_sharded(porta_weights *w, const char *index_path, char *err,
                                 size_t err_size) {
  char *text = NULL;
  size_t size = 0;
  porta_status s =
      porta_read_small_file(&text, &size, index_path, PORTA_JSON_MAX_BYTES, err, err_size);
  if (s != PORTA_OK) return s;
  cJSON *root = cJSON_ParseWithLength(text, size);
  free(text);
  const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
  if (root == NULL || !cJSON_IsObject(map)) {
    cJSON_Delete(root);
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: not a shard index (expected a JSON object with \"weight_map\")",
                         index_path);
  }
  // The shards live beside the index.
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", index_path);
  char *slash = strrchr(dir, '/');
  if (slash != NULL) {
    slash[1] = '\0';
  } else {
    dir[0] = '\0';
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, map) {
    const char *shard = cJSON_GetStringValue(item);
    if (shard == NULL || shard[0] == '\0' || strchr(shard, '/') != NULL ||
        strchr(shard, '\\') != NULL || strcmp(shard, "..") == 0 || strcmp(shard, ".") == 0) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: tensor %s maps to an invalid shard file name", index_path,
                        item->string ? item->string : "?");
      break;
    }
    bool seen = false;
    for (int f = 0; f < w->file_count && !seen; f++) {
      const char *base = strrchr(w->files[f].path, '/');
      seen = strcmp(base ? base + 1 : w->files[f].path, shard) == 0;
    }
    if (seen) continue;
    char shard_path[4352];
    snprintf(shard_path, sizeof(shard_path), "%s%s", dir, shard);
    int file_index = 0;
    s = open_one(w, shard_path, &file_index, err, err_size);
    if (s != PORTA_OK) break;
  }
  if (s == PORTA_OK) {
    // Every tensor the index names must exist in the shard it names (find needs sorted entries).
    if (w->count > 0) qsort(w->entries, (size_t)w->count, sizeof(*w->entries), compare_entries);
    cJSON_ArrayForEach(item, map) {
      const char *shard = cJSON_GetStringValue(item);
      int i = porta_weights_find(w, item->string);
      bool found = false;
      if (i >= 0) {
        const char *path = w->files[w->entries[i].file].path;
        const char *base = strrchr(path, '/');
        found = strcmp(base ? base + 1 : path, shard) == 0;
      }
      if (!found) {
        s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: tensor %s is not in its shard %s",
                          index_path, item->string, shard);
        break;
      }
    }
  }
  cJSON_Delete(root);
  return s;
}

// Sorts the entries by name (find() bisects) and refuses duplicates (across shards too).
static porta_status sort_and_check_names(porta_weights *w, char *err, size_t err_size) {
  if (w->count > 0) qsort(w->entries, (size_t)w->count, sizeof(*w->entries), compare_entries);
  for (int i = 1; i < w->count; i++) {
    if (strcmp(w->entries[i - 1].name, w->entries[i].name) == 0) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "duplicate tensor name %s (in %s)",
                           w->entries[i].name, w->files[w->entries[i].file].path);
    }
  }
  return PORTA_OK;
}

porta_status porta_weights_open(porta_weights **out, const char *path, char *err, size_t err_size) {
  if (out == NULL || path == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_weights_open: NULL argument");
  }
  *out = NULL;
  porta_weights *w = calloc(1, sizeof(*w));
  if (w == NULL) return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  porta_status s = PORTA_OK;
  int file_index = 0;
  if (is_dir(path)) {
    static const char *const candidates[] = {"model.safetensors", "model.safetensors.index.json",
                                             "pytorch_model.bin", "pytorch_model.bin.index.json"};
    const char *found = NULL;
    char candidate[4096];
    for (int i = 0; i < 4 && found == NULL; i++) {
      snprintf(candidate, sizeof(candidate), "%s/%s", path, candidates[i]);
      if (is_file(candidate)) found = candidates[i];
    }
    if (found == NULL) {
      s = porta_io_fail(PORTA_ERR_NOT_FOUND, err, err_size,
                        "%s holds no checkpoint (looked for model.safetensors, "
                        "model.safetensors.index.json, pytorch_model.bin, "
                        "pytorch_model.bin.index.json)",
                        path);
    } else if (ends_with(found, ".index.json")) {
      s = open_sharded(w, candidate, err, err_size);
    } else {
      s = open_one(w, candidate, &file_index, err, err_size);
    }
  } else if (ends_with(path, ".index.json")) {
    s = open_sharded(w, path, err, err_size);
  } else {
    s = open_one(w, path, &file_index, err, err_size);
  }
  if (s == PORTA_OK) s = sort_and_check_names(w, err, err_size);
  if (s != PORTA_OK) {
    porta_weights_close(w);
    return s;
  }
  if (w->format == NULL) w->format = "safetensors";
  *out = w;
  return PORTA_OK;
}

porta_status porta_weights_open_memory(porta_weights **out, const uint8_t *data, size_t size,
                                       const char *name, bool torch, char *err, size_t err_size) {
  *out = NULL;
  porta_weights *w = calloc(1, sizeof(*w));
  porta_mapped_file f = {.path = strdup(name ? name : "(memory)"),
                         .data = size ? data : NULL,
                         .size = size,
                         .borrowed = true};
  int index = 0;
  porta_status s = PORTA_OK;
  if (w == NULL || f.path == NULL) {
    free(f.path);
    free(w);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  }
  s = porta_weights_add_file(w, &f, &index, err, err_size);
  if (s == PORTA_OK) {
    s = torch ? porta_torch_parse(w, index, err, err_size)
              : porta_safetensors_parse(w, index, err, err_size);
  }
  if (s == PORTA_OK) s = sort_and_check_names(w, err, err_size);
  if (s != PORTA_OK) {
    free(f.path); // still ours when add_file failed; NULL (moved) otherwise
    porta_weights_close(w);
    return s;
  }
  if (w->format == NULL) w->format = torch ? "pytorch-zip" : "safetensors";
  *out = w;
  return PORTA_OK;
}

void porta_weights_close(porta_weights *w) {
  if (w == NULL) return;
  for (int i = 0; i < w->count; i++) free(w->entries[i].name);
  free(w->entries);
  for (int f = 0; f < w->file_count; f++) porta_unmap_file(&w->files[f]);
  free(w->files);
  free(w);
}

// ---- accessors -------------------------------------------------------------------------------

const char *porta_weights_format(const porta_weights *w) { return w ? w->format : ""; }
int porta_weights_count(const porta_weights *w) { return w ? w->count : 0; }

static const porta_weight_entry *entry_at(const porta_weights *w, int index) {
  if (w == NULL || index < 0 || index >= w->count) return NULL;
  return &w->entries[index];
}

const char *porta_weights_name(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? e->name : NULL;
}

int porta_weights_find(const porta_weights *w, const char *name) {
  if (w == NULL || name == NULL) return -1;
  int lo = 0, hi = w->count - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(w->entries[mid].name, name);
    if (c == 0) return mid;
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return -1;
}

porta_weight_dtype porta_weights_dtype(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? e->dtype : PORTA_WEIGHT_F32;
}

int porta_weights_ndim(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? e->ndim : 0;
}

const int64_t *porta_weights_shape(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? e->shape : NULL;
}

int64_t porta_weights_numel(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? e->numel : 0;
}

const char *porta_weights_file(const porta_weights *w, int index) {
  const porta_weight_entry *e = entry_at(w, index);
  return e ? w->files[e->file].path : NULL;
}

// ---- reading ---------------------------------------------------------------------------------

static bool is_contiguous(const porta_weight_entry *e) {
  int64_t expected = 1;
  for (int d = e->ndim - 1; d >= 0; d--) {
    if (e->shape[d] != 1 && e->stride[d] != expected) return false;
    expected *= e->shape[d];
  }
  return true;
}

void porta_weight_entry_gather(const porta_weight_entry *e, void *dst) {
  size_t esize = porta_weight_dtype_size(e->dtype);
  if (e->numel == 0) return;
  if (is_contiguous(e)) {
    memcpy(dst, e->storage + (size_t)e->offset * esize, (size_t)e->numel * esize);
    return;
  }
  // Walk the multi-index in row-major order; pos is the element index in the storage.
  int64_t index[PORTA_WEIGHTS_MAX_DIMS] = {0};
  int64_t pos = e->offset;
  uint8_t *out = dst;
  for (int64_t i = 0; i < e->numel; i++) {
    memcpy(out + (size_t)i * esize, e->storage + (size_t)pos * esize, esize);
    for (int d = e->ndim - 1; d >= 0; d--) {
      index[d]++;
      pos += e->stride[d];
      if (index[d] < e->shape[d]) break;
      pos -= index[d] * e->stride[d];
      index[d] = 0;
    }
  }
}

// IEEE half → single, exact for every value (subnormals, infinities, NaN payloads).
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: normalise the mantissa.
    int e = -1;
    do {
      e++;
      mant <<= 1;
    } while ((mant & 0x400) == 0);
    bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static porta_status check_read(const porta_weights *w, int index, size_t count, bool want_float,
                               char *err, size_t err_size) {
  const porta_weight_entry *e = entry_at(w, index);
  if (e == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "weights: tensor index %d out of range (count %d)", index,
                         w ? w->count : 0);
  }
  if (is_float_dtype(e->dtype) != want_float) {
    return porta_io_fail(PORTA_ERR_DTYPE, err, err_size,
                         "%s: tensor %s is %s; read it with porta_weights_read_%s",
                         w->files[e->file].path, e->name, porta_weight_dtype_name(e->dtype),
                         want_float ? "i64" : "f32");
  }
  if ((int64_t)count != e->numel) {
    return porta_io_fail(PORTA_ERR_SHAPE, err, err_size,
                         "%s: tensor %s has %lld elements, caller asked for %zu",
                         w->files[e->file].path, e->name, (long long)e->numel, count);
  }
  return PORTA_OK;
}

/* The entry's elements in their stored dtype, gathered into a new buffer (the caller frees it)
 * for the readers that convert element by element. */
static porta_status gather_raw(const porta_weight_entry *e, size_t count, size_t esize,
                               uint8_t **raw, char *err, size_t err_size) {
  *raw = malloc(count * esize + 1);
  if (*raw == NULL)
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory reading %s",
                         e->name);
  porta_weight_entry_gather(e, *raw);
  return PORTA_OK;
}

porta_status porta_weights_read_f32(const porta_weights *w, int index, float *dst, size_t count,
                                    char *err, size_t err_size) {
  porta_status s = check_read(w, index, count, true, err, err_size);
  if (s != PORTA_OK) return s;
  const porta_weight_entry *e = &w->entries[index];
  if (e->dtype == PORTA_WEIGHT_F32) {
    porta_weight_entry_gather(e, dst);
    return PORTA_OK;
  }
  size_t esize = porta_weight_dtype_size(e->dtype);
  uint8_t *raw;
  porta_status s2 = gather_raw(e, count, esize, &raw, err, err_size);
  if (s2 != PORTA_OK) return s2;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *p = raw + i * esize;
    if (e->dtype == PORTA_WEIGHT_F16) {
      uint16_t h;
      memcpy(&h, p, 2);
      dst[i] = half_to_float(h);
    } else if (e->dtype == PORTA_WEIGHT_BF16) {
      uint16_t h;
      memcpy(&h, p, 2);
      uint32_t bits = (uint32_t)h << 16;
      memcpy(&dst[i], &bits, 4);
    } else {
      double v;
      memcpy(&v, p, 8);
      dst[i] = (float)v;
    }
  }
  free(raw);
  return PORTA_OK;
}

porta_status porta_weights_read_i64(const porta_weights *w, int index, int64_t *dst, size_t count,
                                    char *err, size_t err_size) {
  porta_status s = check_read(w, index, count, false, err, err_size);
  if (s != PORTA_OK) return s;
  const porta_weight_entry *e = &w->entries[index];
  if (e->dtype == PORTA_WEIGHT_I64) {
    porta_weight_entry_gather(e, dst);
    return PORTA_OK;
  }
  size_t esize = porta_weight_dtype_size(e->dtype);
  uint8_t *raw;
  porta_status s2 = gather_raw(e, count, esize, &raw, err, err_size);
  if (s2 != PORTA_OK) return s2;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *p = raw + i * esize;
    switch (e->dtype) {
    case PORTA_WEIGHT_I32: {
      int32_t v;
      memcpy(&v, p, 4);
      dst[i] = v;
      break;
    }
    case PORTA_WEIGHT_I16: {
      int16_t v;
      memcpy(&v, p, 2);
      dst[i] = v;
      break;
    }
    case PORTA_WEIGHT_I8:
      dst[i] = (int8_t)p[0];
      break;
    case PORTA_WEIGHT_BOOL:
      dst[i] = p[0] != 0;
      break;
    default:
      dst[i] = p[0];
      break; // U8
    }
  }
  free(raw);
  return PORTA_OK;
}
