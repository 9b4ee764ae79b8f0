/* libFuzzer: arbitrary bytes as a safetensors file. Every accepted tensor is read back (f32 or
 * int64), so a header that slipped past validation would read out of bounds under ASan. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/weights_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512];
  porta_weights *w = NULL;
  if (porta_weights_open_memory(&w, data, size, "fuzz.safetensors", false, err, sizeof(err)) !=
      PORTA_OK) {
    return 0;
  }
  for (int i = 0; i < porta_weights_count(w); i++) {
    int64_t numel = porta_weights_numel(w, i);
    if (numel > (1 << 20)) continue;
    void *buf = malloc((size_t)numel * 8 + 8);
    if (buf == NULL) continue;
    if (porta_weights_read_f32(w, i, buf, (size_t)numel, err, sizeof(err)) != PORTA_OK) {
      (void)porta_weights_read_i64(w, i, buf, (size_t)numel, err, sizeof(err));
    }
    free(buf);
  }
  porta_weights_close(w);
  return 0;
}
