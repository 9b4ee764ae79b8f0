/* Helpers shared by the layers and the model code: error messages, per-batch uploads, a host RNG.
 * The only file of src/nn that reaches into the core's internals (the context's error buffer and
 * temporaries), so the rest stays on the public API. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/core.h"
#include "nn/nn.h"

porta_status porta_nn_fail(porta_context *ctx, porta_status status, const char *fmt, ...) {
  char msg[PORTA_ERR_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return porta_fail(ctx, status, "%s", msg);
}

porta_status porta_nn_upload_temp(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                  int ndim, const int64_t *shape, const void *data) {
  porta_tensor *t;
  porta_status st = porta_tensor_temp(ctx, &t, dtype, ndim, shape, "porta_nn_upload_temp");
  if (st != PORTA_OK) return st;
  st = porta_tensor_upload(t, data, (size_t)t->numel);
  if (st != PORTA_OK) {
    porta_tensor_destroy(t);
    return st;
  }
  *out = t;
  return PORTA_OK;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void porta_nn_rng_seed(porta_nn_rng *rng, uint64_t seed) { rng->state = seed; }

float porta_nn_rng_normal(porta_nn_rng *rng) {
  /* uniforms in (0, 1]: 53 random bits, never 0 so log() is finite */
  double u1 = ((double)(splitmix64(&rng->state) >> 11) + 1.0) / 9007199254740992.0;
  double u2 = (double)(splitmix64(&rng->state) >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
