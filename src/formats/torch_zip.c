/* Zip central-directory reader for torch.save archives (see torch_zip.h). Layout references:
 * PKWARE APPNOTE 4.3.12 (end of central directory), 4.3.14-15 (zip64 records), 4.4 (fields),
 * 4.5.3 (zip64 extended information extra field). */
#include <stdlib.h>
#include <string.h>

#include "formats/torch_zip.h"
#include "formats/weights_internal.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOCATOR 0x07064b50u

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void porta_zip_free(porta_zip *z) {
  if (z == NULL) return;
  for (int i = 0; i < z->count; i++) free(z->entries[i].name);
  free(z->entries);
  memset(z, 0, sizeof(*z));
}

const porta_zip_entry *porta_zip_find(const porta_zip *z, const char *name) {
  for (int i = 0; i < z->count; i++) {
    if (strcmp(z->entries[i].name, name) == 0) return &z->entries[i];
  }
  return NULL;
}

// Locates the central directory: *cd_offset, *cd_size, *count.
static porta_status find_central_directory(const uint8_t *data, size_t size, const char *path,
                                           uint64_t *cd_offset, uint64_t *cd_size, uint64_t *count,
                                           char *err, size_t err_size) {
  if (size < 22) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: too short for a zip archive (truncated?)", path);
  }
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
  size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  size_t eocd = SIZE_MAX;
  for (size_t p = size - 22 + 1; p-- > lowest;) {
    if (le(data + p, 4) == SIG_EOCD && p + 22 + le(data + p + 20, 2) <= size) {
      eocd = p;
      break;
    }
  }
  if (eocd == SIZE_MAX) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: no zip end-of-central-directory record (truncated file?)", path);
  }
  *count = le(data + eocd + 10, 2);
  *cd_size = le(data + eocd + 12, 4);
  *cd_offset = le(data + eocd + 16, 4);
  if (le(data + eocd + 4, 2) != 0 || le(data + eocd + 6, 2) != 0) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: multi-disk zip archives are not supported", path);
  }
  // zip64: a locator right before the end record points at the zip64 end record.
  if (eocd >= 20 && le(data + eocd - 20, 4) == SIG_EOCD64_LOCATOR) {
    uint64_t rec = le(data + eocd - 20 + 8, 8);
    if (rec > size || size - rec < 56 || le(data + rec, 4) != SIG_EOCD64) {
      return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                           "%s: broken zip64 end-of-central-directory record", path);
    }
    *count = le(data + rec + 32, 8);
    *cd_size = le(data + rec + 40, 8);
    *cd_offset = le(data + rec + 48, 8);
  }
  if (*count > PORTA_ZIP_MAX_ENTRIES) {
    return porta_io_fail(PORTA_ERR_LIMIT, err, err_size, "%s: %llu zip entries (limit %d)", path,
                         (unsigned long long)*count, PORTA_ZIP_MAX_ENTRIES);
  }
  if (*cd_offset > size || *cd_size > size - *cd_offset) {
    return porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                         "%s: the zip central directory lies outside the file (truncated?)", path);
  }
  return PORTA_OK;
}

// Reads zip64 replacements of the 0xFFFFFFFF fields from the extra field (APPNOTE 4.5.3).
static bool apply_zip64_extra(const uint8_t *extra, size_t extra_len, uint64_t *usize,
                              uint64_t *csize, uint64_t *offset) {
  size_t p = 0;
  while (p + 4 <= extra_len) {
    uint64_t id = le(extra + p, 2), len = le(extra + p + 2, 2);
    if (p + 4 + len > extra_len) return false;
    if (id == 1) {
      const uint8_t *f = extra + p + 4;
      size_t q = 0;
      uint64_t *fields[3] = {usize, csize, offset};
      for (int i = 0; i < 3; i++) {
        if (*fields[i] != 0xffffffffu) continue;
        if (q + 8 > len) return false;
        *fields[i] = le(f + q, 8);
        q += 8;
      }
      return true;
    }
    p += 4 + len;
  }
  return *usize != 0xffffffffu && *csize != 0xffffffffu && *offset != 0xffffffffu;
}

static bool safe_name(const char *name, size_t len) {
  if (len == 0 || name[0] == '/' || name[0] == '\\' || memchr(name, '\0', len) != NULL)
    return false;
  for (size_t i = 0; i + 1 < len; i++) {
    if (name[i] == '.' && name[i + 1] == '.') return false;
  }
  return true;
}

porta_status porta_zip_open(porta_zip *z, const uint8_t *data, size_t size, const char *path,
                            char *err, size_t err_size) {
  memset(z, 0, sizeof(*z));
  uint64_t cd_offset = 0, cd_size = 0, count = 0;
  porta_status s =
      find_central_directory(data, size, path, &cd_offset, &cd_size, &count, err, err_size);
  if (s != PORTA_OK) return s;
  z->entries = calloc((size_t)count + 1, sizeof(*z->entries));
  if (z->entries == NULL)
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
  const uint8_t *cd = data + cd_offset;
  uint64_t p = 0;
  for (uint64_t i = 0; i < count; i++) {
    if (cd_size - p < 46 || le(cd + p, 4) != SIG_CENTRAL) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: zip central directory entry %llu is broken", path,
                        (unsigned long long)i);
      break;
    }
    const uint8_t *h = cd + p;
    uint64_t flags = le(h + 8, 2), method = le(h + 10, 2);
    uint64_t csize = le(h + 20, 4), usize = le(h + 24, 4), offset = le(h + 42, 4);
    uint64_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    if (cd_size - p - 46 < name_len + extra_len + comment_len) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: zip central directory entry %llu runs past the directory", path,
                        (unsigned long long)i);
      break;
    }
    char name[1024];
    size_t shown = name_len < sizeof(name) - 1 ? (size_t)name_len : sizeof(name) - 1;
    memcpy(name, h + 46, shown);
    name[shown] = '\0';
    if (name_len >= sizeof(name) || !safe_name((const char *)h + 46, (size_t)name_len)) {
      s = porta_io_fail(
          PORTA_ERR_FORMAT, err, err_size,
          "%s: refusing zip entry named \"%s\" (empty, absolute, too long or with ..)", path, name);
      break;
    }
    if (!apply_zip64_extra(h + 46 + name_len, (size_t)extra_len, &usize, &csize, &offset)) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: zip entry %s has a broken zip64 extra field", path, name);
      break;
    }
    if (method != 0) {
      s = porta_io_fail(PORTA_ERR_UNSUPPORTED, err, err_size,
                        "%s: zip entry %s is compressed (method %llu); porta reads only stored "
                        "entries, which is what torch.save writes",
                        path, name, (unsigned long long)method);
      break;
    }
    if (flags & 1) {
      s = porta_io_fail(PORTA_ERR_UNSUPPORTED, err, err_size, "%s: zip entry %s is encrypted", path,
                        name);
      break;
    }
    if (csize != usize) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: stored zip entry %s has different sizes (%llu, %llu)", path, name,
                        (unsigned long long)csize, (unsigned long long)usize);
      break;
    }
    // The data starts after the local header, whose name and extra lengths may differ.
    if (offset > size || size - offset < 30 || le(data + offset, 4) != SIG_LOCAL) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: zip entry %s: local header missing (truncated file?)", path, name);
      break;
    }
    uint64_t start = offset + 30 + le(data + offset + 26, 2) + le(data + offset + 28, 2);
    if (start > size || usize > size - start) {
      s = porta_io_fail(PORTA_ERR_FORMAT, err, err_size,
                        "%s: zip entry %s (%llu bytes) runs past the end of the file (truncated?)",
                        path, name, (unsigned long long)usize);
      break;
    }
    porta_zip_entry *e = &z->entries[z->count];
    e->name = strdup(name);
    if (e->name == NULL) {
      s = porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory");
      break;
    }
    e->data = data + start;
    e->size = usize;
    z->count++;
    p += 46 + name_len + extra_len + comment_len;
  }
  if (s != PORTA_OK) porta_zip_free(z);
  return s;
}
