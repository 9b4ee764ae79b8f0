/* porta convert DIR: pytorch_model.bin → model.safetensors, every tensor with its own dtype,
 * shape and bytes (views and shared storages are written out as contiguous copies, as
 * safetensors requires). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/weights_internal.h"

porta_status porta_checkpoint_convert(const char *model_dir, char *err, size_t err_size) {
  if (model_dir == NULL) {
    return porta_io_fail(PORTA_ERR_INVALID_ARGUMENT, err, err_size,
                         "porta_checkpoint_convert: NULL folder");
  }
  struct stat st;
  char source[4096], out_path[4096];
  if (stat(model_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(source, sizeof(source), "%s/pytorch_model.bin", model_dir);
    if (stat(source, &st) != 0) {
      snprintf(source, sizeof(source), "%s/pytorch_model.bin.index.json", model_dir);
      if (stat(source, &st) != 0) {
        return porta_io_fail(PORTA_ERR_NOT_FOUND, err, err_size,
                             "%s has neither pytorch_model.bin nor pytorch_model.bin.index.json",
                             model_dir);
      }
    }
    snprintf(out_path, sizeof(out_path), "%s/model.safetensors", model_dir);
  } else {
    // A .bin file given directly: write model.safetensors in its folder.
    snprintf(source, sizeof(source), "%s", model_dir);
    const char *slash = strrchr(model_dir, '/');
    if (slash != NULL) {
      snprintf(out_path, sizeof(out_path), "%.*s/model.safetensors", (int)(slash - model_dir),
               model_dir);
    } else {
      snprintf(out_path, sizeof(out_path), "model.safetensors");
    }
  }
  porta_weights *w = NULL;
  porta_status s = porta_weights_open(&w, source, err, err_size);
  if (s != PORTA_OK) return s;
  int count = porta_weights_count(w);
  porta_raw_array *arrays = calloc((size_t)count + 1, sizeof(*arrays));
  if (arrays == NULL) {
    porta_weights_close(w);
    return porta_io_fail(PORTA_ERR_OUT_OF_MEMORY, err, err_size, "out of memory converting %s",
                         source);
  }
  for (int i = 0; i < count; i++) {
    const porta_weight_entry *e = &w->entries[i];
    arrays[i].name = e->name;
    arrays[i].dtype = e->dtype;
    arrays[i].ndim = e->ndim;
    memcpy(arrays[i].shape, e->shape, sizeof(e->shape));
    arrays[i].source = w;
    arrays[i].source_index = i;
  }
  s = porta_safetensors_write_raw(out_path, arrays, count, "{\"format\":\"pt\"}", err, err_size);
  free(arrays);
  porta_weights_close(w);
  return s;
}
