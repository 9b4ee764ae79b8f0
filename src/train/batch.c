/* Epoch plans: which rows go into which batch, in what order. Bucketing by length keeps padding
 * low (each batch is padded to its longest row) while the order stays random. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

typedef struct length_key {
  int32_t length;
  int64_t order; /* tie-break: position before sorting, so the sort is deterministic */
  int64_t row;
} length_key;

static int compare_longest_first(const void *a, const void *b) {
  const length_key *x = a, *y = b;
  if (x->length != y->length) return x->length > y->length ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

static void sort_by_length(int64_t *rows, int64_t count, const int32_t *lengths, length_key *keys) {
  for (int64_t i = 0; i < count; i++) keys[i] = (length_key){lengths[rows[i]], i, rows[i]};
  qsort(keys, (size_t)count, sizeof *keys, compare_longest_first);
  for (int64_t i = 0; i < count; i++) rows[i] = keys[i].row;
}

porta_status porta_epoch_plan_make(porta_epoch_plan *out, const int32_t *lengths, int64_t count,
                                   int batch_size, porta_batch_order order, int chunk_batches,
                                   uint64_t seed, int64_t epoch) {
  memset(out, 0, sizeof *out);
  if (batch_size <= 0 || count < 0) return PORTA_ERR_INVALID_ARGUMENT;
  if (chunk_batches <= 0) chunk_batches = 100;
  int64_t num_batches = (count + batch_size - 1) / batch_size;
  int64_t *rows = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
  int64_t *starts = malloc((size_t)(num_batches + 1) * sizeof(int64_t));
  length_key *keys = malloc((size_t)(count ? count : 1) * sizeof(length_key));
  int64_t *batch_ids = malloc((size_t)(num_batches ? num_batches : 1) * sizeof(int64_t));
  int64_t *shuffled = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
  if (!rows || !starts || !keys || !batch_ids || !shuffled) {
    free(rows), free(starts), free(keys), free(batch_ids), free(shuffled);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  for (int64_t i = 0; i < count; i++) rows[i] = i;
  for (int64_t b = 0; b <= num_batches; b++)
    starts[b] = b * batch_size < count ? b * batch_size : count;

  if (order == PORTA_ORDER_BY_LENGTH) {
    sort_by_length(rows, count, lengths, keys);
  } else if (order == PORTA_ORDER_BUCKETED) {
    // each epoch draws from its own stream: the order depends on (seed, epoch) only
    porta_rng rng;
    porta_rng_seed(&rng, seed ^ (0xA0761D6478BD642Full * (uint64_t)(epoch + 1)));
    porta_rng_shuffle_i64(&rng, rows, count);
    int64_t chunk = (int64_t)batch_size * chunk_batches;
    for (int64_t start = 0; start < count; start += chunk) {
      int64_t n = count - start < chunk ? count - start : chunk;
      sort_by_length(rows + start, n, lengths, keys);
    }
    // shuffle whole batches; the short last batch moves with them
    for (int64_t b = 0; b < num_batches; b++) batch_ids[b] = b;
    porta_rng_shuffle_i64(&rng, batch_ids, num_batches);
    int64_t used = 0;
    int64_t *new_starts = starts; // the batches' new offsets, written in their new order
    for (int64_t i = 0; i < num_batches; i++) {
      int64_t b = batch_ids[i];
      int64_t b_start = b * batch_size,
              b_end = b_start + batch_size < count ? b_start + batch_size : count;
      new_starts[i] = used;
      for (int64_t r = b_start; r < b_end; r++) shuffled[used++] = rows[r];
    }
    new_starts[num_batches] = used;
    memcpy(rows, shuffled, (size_t)count * sizeof(int64_t));
  }
  free(keys);
  free(batch_ids);
  free(shuffled);
  out->num_batches = num_batches;
  out->rows = rows;
  out->batch_start = starts;
  return PORTA_OK;
}

void porta_epoch_plan_free(porta_epoch_plan *plan) {
  free(plan->rows);
  free(plan->batch_start);
  memset(plan, 0, sizeof *plan);
}

int porta_batch_split(int64_t *rows, int n, const int32_t *lengths, int max_tokens,
                      int *pass_start) {
  pass_start[0] = 0;
  if (n <= 0) return 0;
  int32_t longest = 0;
  for (int i = 0; i < n; i++)
    if (lengths[rows[i]] > longest) longest = lengths[rows[i]];
  if (max_tokens <= 0 || (int64_t)n * longest <= max_tokens) {
    pass_start[1] = n;
    return 1;
  }
  for (int i = 1; i < n; i++) { // insertion sort, longest first, stable: n is one batch
    int64_t row = rows[i];
    int k = i;
    for (; k > 0 && lengths[rows[k - 1]] < lengths[row]; k--) rows[k] = rows[k - 1];
    rows[k] = row;
  }
  int passes = 0;
  for (int start = 0; start < n;) {
    int64_t pass_longest = lengths[rows[start]]; // sorted: the pass's first row is its longest
    int count = (int)(max_tokens / (pass_longest > 0 ? pass_longest : 1));
    if (count < 1) count = 1;
    if (count > n - start) count = n - start;
    start += count;
    pass_start[++passes] = start;
  }
  return passes;
}
