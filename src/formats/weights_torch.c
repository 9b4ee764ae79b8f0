/* pytorch_model.bin: both layouts torch.save has used.
 *  - zip (torch >= 1.6): <archive>/data.pkl holds the state dict, whose tensors name their
 *    storages by persistent id; storage <key> is the stored entry <archive>/data/<key>.
 *  - legacy (torch < 1.6, or _use_new_zipfile_serialization=False): five pickles in a row —
 *    magic number 0x1950a86a20f9469cfc6c, protocol version, system info, the state dict, the
 *    sorted list of storage keys — then for each key an int64 element count and the raw bytes.
 * Either way the state dict goes through the restricted unpickler (pickle.c); each tensor becomes
 * a strided entry into its storage's bytes, so tensors that share a storage (tied embeddings,
 * views with offsets and strides) read exactly what torch would. */
#include <stdlib.h>
#include <string.h>

#include "formats/pickle.h"
#include "formats/torch_zip.h"
#include "formats/weights_internal.h"

// A storage key resolved to bytes in the mapped file.
typedef struct storage_bytes {
  const char *key;
  const uint8_t *data;
  uint64_t size;
  porta_weight_dtype dtype;
} storage_bytes;

static const char *kind_name(pk_kind kind) {
  static const char *const names[] = {"None",   "bool",    "int",    "int",   "float",
                                      "str",    "bytes",   "tuple",  "list",  "dict",
                                      "global", "storage", "tensor", "object"};
  return (int)kind >= 0 && (int)kind < (int)(sizeof(names) / sizeof(names[0])) ? names[kind] : "?";
}

// Adds every (str key → tensor) item of the state dict; lookup resolves a storage value to bytes.
static porta_status add_tensors(porta_weights *w, int file, const pk_value *root,
                                const storage_bytes *storages, int n_storages, char *err,
                                size_t err_size) {
  const char *path = w->files[file].path;
  if (root->kind != PK_DICT) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: the checkpoint holds a %s, not a state dict", path,
                         kind_name(root->kind));
  }
  for (int i = 0; i < root->n / 2; i++) {
    const pk_value *key = root->items[2 * i], *value = root->items[2 * i + 1];
    if (value->kind != PK_TENSOR) continue; // e.g. a nested _metadata-like entry: not a weight
    if (key->kind != PK_STR) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: a tensor's key is a %s, not a string", path, kind_name(key->kind));
    }
    const pk_tensor *t = value->tensor;
    const pk_value *st = t->storage;
    const storage_bytes *found = NULL;
    for (int k = 0; k < n_storages && found == NULL; k++) {
      if (strcmp(storages[k].key, st->s) == 0) found = &storages[k];
    }
    if (found == NULL) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: tensor %s uses storage '%s', which the file does not contain", path,
                           key->s, st->s);
    }
    if (found->dtype != st->dtype) {
      return porta_io_fail(
          PORTA_ERR_FORMAT, err, err_size, "%s: storage '%s' is used as both %s and %s", path,
          st->s, porta_weight_dtype_name(found->dtype), porta_weight_dtype_name(st->dtype));
    }
    porta_weight_entry e = {0};
    e.name = key->s;
    e.dtype = st->dtype;
    e.ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) {
      e.shape[d] = t->shape[d];
      e.stride[d] = t->stride[d];
    }
    e.file = file;
    e.storage = found->data;
    // The storage's declared element count bounds the view, and must fit in the bytes present.
    e.storage_bytes = (uint64_t)st->i * porta_weight_dtype_size(st->dtype);
    if (e.storage_bytes > found->size) e.storage_bytes = found->size;
    e.offset = t->offset;
    porta_status s = porta_weights_add(w, &e, err, err_size);
    if (s != PORTA_OK) return s;
  }
  return PORTA_OK;
}

// Every distinct storage the pickle refers to (by key), with its declared size checked against
// the bytes available from bytes_of(key).
typedef struct storage_list {
  storage_bytes *items;
  int count;
} storage_list;

static porta_status collect_storages(storage_list *out, const porta_pickle *p, const char *path,
                                     char *err, size_t err_size) {
  out->items = NULL;
  out->count = 0;
  size_t n = 0;
  for (size_t i = 0; i < p->count; i++) n += p->values[i]->kind == PK_STORAGE;
  out->items = calloc(n + 1, sizeof(*out->items));
  if (out->items == NULL)
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  for (size_t i = 0; i < p->count; i++) {
    const pk_value *v = p->values[i];
    if (v->kind != PK_STORAGE) continue;
    bool seen = false;
    for (int k = 0; k < out->count && !seen; k++) {
      if (strcmp(out->items[k].key, v->s) != 0) continue;
      seen = true;
      if (out->items[k].dtype != v->dtype) {
        return porta_io_fail(
            PORTA_ERR_FORMAT, err, err_size, "%s: storage '%s' is declared as both %s and %s", path,
            v->s, porta_weight_dtype_name(out->items[k].dtype), porta_weight_dtype_name(v->dtype));
      }
    }
    if (seen) continue;
    storage_bytes *sb = &out->items[out->count++];
    sb->key = v->s;
    sb->dtype = v->dtype;
    sb->size = (uint64_t)v->i * porta_weight_dtype_size(v->dtype); // declared; checked by caller
  }
  return PORTA_OK;
}

// ---- zip ---------------------------------------------------------------------------------------

static porta_status parse_zip(porta_weights *w, int file, char *err, size_t err_size) {
  const porta_mapped_file *f = &w->files[file];
  porta_zip z;
  porta_status s = porta_zip_open(&z, f->data, f->size, f->path, err, err_size);
  if (s != PORTA_OK) return s;
  // The archive's records live under one folder: <prefix>/data.pkl.
  const porta_zip_entry *pkl = NULL;
  for (int i = 0; i < z.count && pkl == NULL; i++) {
    const char *name = z.entries[i].name, *slash = strchr(name, '/');
    if (slash != NULL && strcmp(slash, "/data.pkl") == 0) pkl = &z.entries[i];
  }
  if (pkl == NULL) {
    porta_zip_free(&z);
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: a zip without <name>/data.pkl is not a torch.save checkpoint",
                         f->path);
  }
  size_t prefix_len = strlen(pkl->name) - strlen("data.pkl");
  char prefix[1024];
  snprintf(prefix, sizeof(prefix), "%.*s", (int)prefix_len, pkl->name);
  char name[1200];
  snprintf(name, sizeof(name), "%sbyteorder", prefix);
  const porta_zip_entry *order = porta_zip_find(&z, name);
  if (order != NULL && !(order->size >= 6 && memcmp(order->data, "little", 6) == 0)) {
    porta_zip_free(&z);
    return porta_io_fail(PORTA_ERR_UNSUPPORTED, err, err_size,
                         "%s: big-endian checkpoints are not supported", f->path);
  }
  char what[1200];
  snprintf(what, sizeof(what), "%s: %s", f->path, pkl->name);
  porta_pickle p;
  s = porta_pickle_load(&p, pkl->data, (size_t)pkl->size, NULL, what, err, err_size);
  if (s != PORTA_OK) {
    porta_zip_free(&z);
    return s;
  }
  storage_list list;
  s = collect_storages(&list, &p, f->path, err, err_size);
  for (int k = 0; k < list.count && s == PORTA_OK; k++) {
    storage_bytes *sb = &list.items[k];
    snprintf(name, sizeof(name), "%sdata/%s", prefix, sb->key);
    const porta_zip_entry *e = porta_zip_find(&z, name);
    if (e == NULL) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' has no entry %s in the archive", f->path, sb->key, name);
    } else if (e->size < sb->size) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' declares %llu bytes of %s but its entry %s holds %llu",
                        f->path, sb->key, (unsigned long long)sb->size,
                        porta_weight_dtype_name(sb->dtype), name, (unsigned long long)e->size);
    } else {
      sb->data = e->data;
    }
  }
  if (s == PORTA_OK) s = add_tensors(w, file, p.root, list.items, list.count, err, err_size);
  free(list.items);
  porta_pickle_free(&p);
  porta_zip_free(&z);
  if (s == PORTA_OK) w->format = w->format ? w->format : "pytorch-zip";
  return s;
}

// ---- legacy ------------------------------------------------------------------------------------

static porta_status parse_legacy(porta_weights *w, int file, char *err, size_t err_size) {
  const porta_mapped_file *f = &w->files[file];
  static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  porta_pickle header[3], p, keys;
  size_t pos = 0, used = 0;
  char what[1100];
  porta_status s = PORTA_OK;
  int loaded = 0;
  static const char *const header_names[3] = {"magic number", "protocol version", "system info"};
  for (; loaded < 3 && s == PORTA_OK; loaded++) {
    snprintf(what, sizeof(what), "%s: %s", f->path, header_names[loaded]);
    s = porta_pickle_load(&header[loaded], f->data + pos, f->size - pos, &used, what, err,
                          err_size);
    if (s != PORTA_OK) break;
    pos += used;
  }
  if (s == PORTA_OK) {
    const pk_value *m = header[0].root;
    if (m->kind != PK_BIGINT || m->len != 10 || memcmp(m->s, magic, 10) != 0) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: not a torch checkpoint (no legacy magic number, and not a zip)",
                        f->path);
    }
    const pk_value *info = header[2].root;
    for (int i = 0; s == PORTA_OK && info->kind == PK_DICT && i < info->n / 2; i++) {
      const pk_value *k = info->items[2 * i], *v = info->items[2 * i + 1];
      if (k->kind == PK_STR && strcmp(k->s, "little_endian") == 0 && v->kind == PK_BOOL && !v->i) {
        s = porta_io_fail(PORTA_ERR_UNSUPPORTED, err, err_size,
                          "%s: big-endian checkpoints are not supported", f->path);
      }
    }
  }
  for (int i = 0; i < loaded; i++) porta_pickle_free(&header[i]);
  if (s != PORTA_OK) return s;

  snprintf(what, sizeof(what), "%s: state dict", f->path);
  s = porta_pickle_load(&p, f->data + pos, f->size - pos, &used, what, err, err_size);
  if (s != PORTA_OK) return s;
  pos += used;
  snprintf(what, sizeof(what), "%s: storage keys", f->path);
  s = porta_pickle_load(&keys, f->data + pos, f->size - pos, &used, what, err, err_size);
  if (s != PORTA_OK) {
    porta_pickle_free(&p);
    return s;
  }
  pos += used;
  storage_list list;
  s = collect_storages(&list, &p, f->path, err, err_size);
  if (s == PORTA_OK && keys.root->kind != PK_LIST) {
    s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size, "%s: the storage key list is a %s", f->path,
                      kind_name(keys.root->kind));
  }
  // Each storage in key order: int64 element count, then the elements.
  for (int i = 0; s == PORTA_OK && i < keys.root->n; i++) {
    const pk_value *key = keys.root->items[i];
    storage_bytes *sb = NULL;
    for (int k = 0; k < list.count && sb == NULL && key->kind == PK_STR; k++) {
      if (strcmp(list.items[k].key, key->s) == 0) sb = &list.items[k];
    }
    if (sb == NULL) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage key %d is not used by any tensor (cannot size it)", f->path,
                        i);
      break;
    }
    if (f->size - pos < 8) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' is missing (file truncated?)", f->path, sb->key);
      break;
    }
    uint64_t numel = 0;
    for (int b = 7; b >= 0; b--) numel = (numel << 8) | f->data[pos + (size_t)b];
    pos += 8;
    uint64_t esize = porta_weight_dtype_size(sb->dtype);
    if (numel > (f->size - pos) / esize) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' declares %llu elements of %s, past the end of the file",
                        f->path, sb->key, (unsigned long long)numel,
                        porta_weight_dtype_name(sb->dtype));
      break;
    }
    if (numel * esize < sb->size) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' holds %llu elements but the pickle declares more",
                        f->path, sb->key, (unsigned long long)numel);
      break;
    }
    sb->data = f->data + pos;
    pos += numel * esize;
  }
  for (int k = 0; s == PORTA_OK && k < list.count; k++) {
    if (list.items[k].data == NULL) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: storage '%s' is not in the file's storage list", f->path,
                        list.items[k].key);
    }
  }
  if (s == PORTA_OK) s = add_tensors(w, file, p.root, list.items, list.count, err, err_size);
  free(list.items);
  porta_pickle_free(&keys);
  porta_pickle_free(&p);
  if (s == PORTA_OK) w->format = w->format ? w->format : "pytorch-legacy";
  return s;
}

porta_status porta_torch_parse(porta_weights *w, int file, char *err, size_t err_size) {
  const porta_mapped_file *f = &w->files[file];
  if (f->size >= 4 && memcmp(f->data, "PK\x03\x04", 4) == 0)
    return parse_zip(w, file, err, err_size);
  if (f->size >= 2 && f->data[0] == 0x80) return parse_legacy(w, file, err, err_size);
  if (f->size >= 4 && memcmp(f->data, "PK", 2) == 0) return parse_zip(w, file, err, err_size);
  return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                       "%s: neither a zip (torch >= 1.6) nor a legacy torch.save file", f->path);
}
