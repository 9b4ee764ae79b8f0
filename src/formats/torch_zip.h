/* A minimal reader of the zip archives torch.save writes (torch >= 1.6): it reads the central
 * directory (zip64 included, which torch always emits) and gives the position of each entry's
 * bytes inside the memory-mapped file. Only stored (method 0, uncompressed) entries are
 * accepted — torch writes nothing else; compressed or encrypted entries, names with "..", absolute
 * names and entries outside the file are refused with a message naming the entry. */
#ifndef PORTA_FORMATS_TORCH_ZIP_H
#define PORTA_FORMATS_TORCH_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"

#define PORTA_ZIP_MAX_ENTRIES (1 << 20)

typedef struct porta_zip_entry {
  char *name;
  const uint8_t *data; /* inside the mapped file */
  uint64_t size;
} porta_zip_entry;

typedef struct porta_zip {
  porta_zip_entry *entries;
  int count;
} porta_zip;

/* path is for messages only. */
porta_status porta_zip_open(porta_zip *z, const uint8_t *data, size_t size, const char *path,
                            char *err, size_t err_size);
/* The entry with exactly this name, or NULL. */
const porta_zip_entry *porta_zip_find(const porta_zip *z, const char *name);
void porta_zip_free(porta_zip *z);

#endif
