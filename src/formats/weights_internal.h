/* Internal pieces shared by the checkpoint readers and writers (safetensors, pytorch_model.bin,
 * config.json). Not part of the public API. */
#ifndef PORTA_FORMATS_WEIGHTS_INTERNAL_H
#define PORTA_FORMATS_WEIGHTS_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "core/errors.h"
#include "core/file_atomic.h"
#include "porta/porta.h"

/* safetensors: the 8-byte header length may not exceed this (the format's own reader uses 100 MB).
 */
#define PORTA_SAFETENSORS_MAX_HEADER (100u << 20)
/* JSON side files (config.json, *.index.json) larger than this are refused. */
#define PORTA_JSON_MAX_BYTES (64u << 20)

/* A read-only memory map of a whole file (data is NULL for an empty file). */
typedef struct porta_mapped_file {
  char *path;
  const uint8_t *data;
  size_t size;
  bool borrowed; /* data belongs to the caller (porta_weights_open_memory): not unmapped */
} porta_mapped_file;

/* One tensor: a strided view into a storage that lies inside a mapped file. Elements are little
 * endian. stride and offset count elements of dtype. */
typedef struct porta_weight_entry {
  char *name;
  porta_weight_dtype dtype;
  int ndim;
  int64_t shape[PORTA_WEIGHTS_MAX_DIMS];
  int64_t stride[PORTA_WEIGHTS_MAX_DIMS];
  int64_t numel;
  int file;               /* index into porta_weights.files */
  const uint8_t *storage; /* first byte of the storage */
  uint64_t storage_bytes;
  int64_t offset; /* element offset of element [0, 0, ...] inside the storage */
} porta_weight_entry;

struct porta_weights {
  porta_mapped_file *files;
  int file_count;
  porta_weight_entry *entries;
  int count, capacity;
  const char *format; /* "safetensors", "pytorch-zip", "pytorch-legacy" */
};

/* Opens one checkpoint held in memory (fuzzing, tests): data must outlive the handle. name is
 * used in messages; torch selects the pytorch_model.bin parser instead of safetensors. */
porta_status porta_weights_open_memory(porta_weights **out, const uint8_t *data, size_t size,
                                       const char *name, bool torch, char *err, size_t err_size);
/* Parses config.json text (fuzzing, tests); name is used in messages. */
porta_status porta_config_parse(porta_model_config *cfg, const char *text, size_t size,
                                const char *name, char *err, size_t err_size);

/* Writes a message to err (if not NULL) and returns status (core/errors.h). */
#define porta_io_fail porta_error_fail

porta_status porta_map_file(porta_mapped_file *out, const char *path, char *err, size_t err_size);
void porta_unmap_file(porta_mapped_file *f);
/* Reads a whole (small) file into a NUL-terminated heap buffer; files over max_bytes are
 * PORTA_ERR_LIMIT. */
porta_status porta_read_small_file(char **out, size_t *size, const char *path, size_t max_bytes,
                                   char *err, size_t err_size);

/* Appends an entry (the name is copied). Checks name length, ndim, shape, strides and that every
 * element it can reach lies inside its storage; the message names file and tensor. */
porta_status porta_weights_add(porta_weights *w, const porta_weight_entry *e, char *err,
                               size_t err_size);
/* Adds a mapped file to w (takes ownership of f's contents); *index receives its index. */
porta_status porta_weights_add_file(porta_weights *w, porta_mapped_file *f, int *index, char *err,
                                    size_t err_size);

/* Parsers: add the tensors of files[file] to w. */
porta_status porta_safetensors_parse(porta_weights *w, int file, char *err, size_t err_size);
porta_status porta_torch_parse(porta_weights *w, int file, char *err, size_t err_size);

/* "F32" → PORTA_WEIGHT_F32 ...; false when unknown. */
bool porta_weight_dtype_parse(const char *name, porta_weight_dtype *out);

/* An entry of a safetensors file being written: raw little-endian bytes of one dtype. */
typedef struct porta_raw_array {
  const char *name;
  porta_weight_dtype dtype;
  int ndim;
  int64_t shape[PORTA_WEIGHTS_MAX_DIMS];
  /* Either contiguous bytes (data) or, when data is NULL, a weights entry to copy from. */
  const void *data;
  const porta_weights *source;
  int source_index;
} porta_raw_array;
porta_status porta_safetensors_write_raw(const char *path, const porta_raw_array *arrays, int count,
                                         const char *metadata_json, char *err, size_t err_size);

/* Gathers entry e's elements in row-major order into dst as raw bytes (numel × dtype size). */
void porta_weight_entry_gather(const porta_weight_entry *e, void *dst);

#endif
