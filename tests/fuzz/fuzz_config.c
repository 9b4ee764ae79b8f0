/* libFuzzer: arbitrary bytes as config.json; an accepted config is also copied and validated. */
#include <stdint.h>

#include "formats/weights_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512];
  porta_model_config cfg, copy;
  if (porta_config_parse(&cfg, (const char *)data, size, "fuzz/config.json", err, sizeof(err)) !=
      PORTA_OK) {
    return 0;
  }
  if (porta_config_copy(&copy, &cfg, err, sizeof(err)) == PORTA_OK) {
    (void)porta_config_validate(&copy, err, sizeof(err));
    porta_config_free(&copy);
  }
  porta_config_free(&cfg);
  return 0;
}
