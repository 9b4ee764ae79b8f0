/* porta_set_batch_shard: a shard of a batch draws, row for row, the dropout mask the whole batch
 * draws (forward and backward), and a tensor that is not a whole number of rows is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "porta/porta.h"

enum { B = 5, S = 3, H = 7, ROW = S * H };

int main(void) {
  check_counter c = {0};
  porta_context_options o;
  porta_context_options_init(&o);
  o.backend = PORTA_BACKEND_CPU;
  o.seed = 1234;
  o.num_threads = 1;
  porta_context *ctx;
  char err[256];
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  porta_set_training(ctx, true);
  float x[B * ROW], full[B * ROW], full_grad[B * ROW];
  for (int i = 0; i < B * ROW; i++) x[i] = 1.0f + (float)i / 100.0f;
  int64_t shape[3] = {B, S, H};
  porta_tensor *t, *y, *sum;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, 3, shape, x));
  CHECK_OK(ctx, porta_tensor_set_requires_grad(t, true));
  uint64_t stream = porta_rng_stream(ctx);
  CHECK_OK(ctx, porta_dropout(&y, t, 0.5f));
  CHECK_OK(ctx, porta_tensor_download(y, full, B * ROW));
  CHECK_OK(ctx, porta_sum_all(&sum, y));
  CHECK_OK(ctx, porta_backward(sum));
  CHECK_OK(ctx, porta_tensor_download(porta_tensor_grad(t), full_grad, B * ROW));
  porta_release_temporaries(ctx);
  porta_tensor_free(t);

  /* rows [2, 4) alone, as rank 1 of a 2-rank shard would compute them */
  int64_t first = 2, rows = 2, shard_shape[3] = {rows, S, H};
  float part[2 * ROW], part_grad[2 * ROW];
  porta_set_rng_stream(ctx, stream);
  CHECK_OK(ctx, porta_set_batch_shard(ctx, first, rows));
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, 3, shard_shape, x + first * ROW));
  CHECK_OK(ctx, porta_tensor_set_requires_grad(t, true));
  CHECK_OK(ctx, porta_dropout(&y, t, 0.5f));
  CHECK_OK(ctx, porta_tensor_download(y, part, 2 * ROW));
  CHECK_OK(ctx, porta_sum_all(&sum, y));
  CHECK_OK(ctx, porta_backward(sum));
  CHECK_OK(ctx, porta_tensor_download(porta_tensor_grad(t), part_grad, 2 * ROW));
  porta_release_temporaries(ctx);
  int dropped = 0;
  for (int i = 0; i < 2 * ROW; i++) dropped += part[i] == 0;
  check_true(&c, !memcmp(part, full + first * ROW, sizeof part) && dropped > 0 && dropped < 2 * ROW,
             "shard rows [2, 4): the whole batch's mask, bit for bit (%d of %d dropped)", dropped,
             2 * ROW);
  check_true(&c, !memcmp(part_grad, full_grad + first * ROW, sizeof part_grad),
             "shard rows [2, 4): the whole batch's gradient mask");

  /* 2 rows set, a tensor of 3 rows: refused */
  int64_t odd_shape[2] = {3, 5};
  porta_tensor *odd;
  CHECK_OK(ctx, porta_tensor_zeros(ctx, &odd, PORTA_F32, 2, odd_shape));
  porta_status st = porta_dropout(&y, odd, 0.5f);
  check_true(&c, st == PORTA_ERR_SHAPE && strstr(porta_last_error(ctx), "porta_set_batch_shard"),
             "15 elements in a 2-row shard: %s", porta_last_error(ctx));
  CHECK_OK(ctx, porta_set_batch_shard(ctx, 0, 0));
  check_true(&c, porta_dropout(&y, odd, 0.5f) == PORTA_OK, "shard off: any shape again");
  porta_release_temporaries(ctx);
  porta_tensor_free(odd);
  porta_tensor_free(t);
  porta_context_destroy(ctx);
  return check_finish(&c);
}
