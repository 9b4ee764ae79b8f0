/* A program using an installed porta: (1 2; 3 4)² through the public API. */
#include <porta/porta.h>
#include <stdio.h>
int main(void) {
  porta_context *ctx;
  porta_context_options o;
  porta_context_options_init(&o);
  char err[256];
  if (porta_context_create(&ctx, &o, err, sizeof err)) {
    puts(err);
    return 1;
  }
  int64_t shape[2] = {2, 2};
  float a[4] = {1, 2, 3, 4};
  porta_tensor *x, *y;
  float out[4];
  porta_tensor_from_host(ctx, &x, PORTA_F32, 2, shape, a);
  porta_matmul(&y, x, x, false, false);
  porta_tensor_download(y, out, 4);
  printf("%g %g %g %g\n", out[0], out[1], out[2], out[3]);
  porta_context_destroy(ctx);
  return 0;
}
