/* libFuzzer: arbitrary bytes through the restricted unpickler (as a raw data.pkl stream), and the
 * same bytes as a whole pytorch_model.bin (zip or legacy layout) whose tensors are read back. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/pickle.h"
#include "formats/weights_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512];
  porta_pickle p;
  size_t used = 0;
  if (porta_pickle_load(&p, data, size, &used, "fuzz.pkl", err, sizeof(err)) == PORTA_OK) {
    porta_pickle_free(&p);
  }
  porta_weights *w = NULL;
  if (porta_weights_open_memory(&w, data, size, "fuzz.bin", true, err, sizeof(err)) == PORTA_OK) {
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
  }
  return 0;
}
