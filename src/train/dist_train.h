/* Data-parallel training over a porta_comm (not public): the trainer's hooks. Rank r computes
 * its contiguous shard of every batch, padded to the whole batch's length and with the batch's
 * dropout rows (porta_set_batch_shard); losses are scaled by the shard's share of the batch, so
 * the all-reduced (summed) gradient is exactly the one-process gradient; every rank then runs the
 * same clip + AdamW on it. Gradients travel in buckets of ~25 MB through host memory. */
#ifndef PORTA_TRAIN_DIST_TRAIN_H
#define PORTA_TRAIN_DIST_TRAIN_H

#include "porta/porta.h"

typedef struct porta_dist_trainer porta_dist_trainer;

/* NULL *out (and PORTA_OK) for a single process: every hook below then does nothing. Broadcasts
 * rank 0's parameters so that all ranks start from the same weights. */
porta_status porta_dist_trainer_create(porta_dist_trainer **out, porta_comm *comm,
                                       porta_context *ctx, porta_tensor **params, int count,
                                       size_t bucket_bytes, char *err, size_t err_size);
void porta_dist_trainer_free(porta_dist_trainer *d);

bool porta_dist_is_root(const porta_dist_trainer *d);
/* This rank's rows [*first, *first + *count) of a batch of n rows (all of them without d). */
void porta_dist_shard(const porta_dist_trainer *d, int64_t n, int64_t *first, int64_t *count);
/* The whole batch's padded length (0 without d: each batch pads to its own longest row). */
int porta_dist_pad_length(const porta_dist_trainer *d, const porta_encoded_rows *enc,
                          const int64_t *rows, int64_t n);
/* After a micro-batch of n rows: when some rank had no row of it, the ranks agree on the dropout
 * stream (the ones that ran the forward pass advanced it). */
porta_status porta_dist_after_micro(porta_dist_trainer *d, int64_t n);

/* After the step's backward passes: sums the gradients, *loss_sum (each rank's share-weighted
 * losses) and the cancel requests over the ranks, and agrees on the dropout stream. */
porta_status porta_dist_reduce_step(porta_dist_trainer *d, float *loss_sum, bool *cancel);

/* porta_classify_rows over rows shared out across the ranks, metrics summed (confusion, loss). */
porta_status porta_dist_classify(porta_dist_trainer *d, porta_metrics *m, porta_model *model,
                                 porta_head *head, const porta_encoded_rows *enc,
                                 const int64_t *rows, int64_t count, int batch_size);
/* Waits for every rank (before reading what rank 0 wrote). */
porta_status porta_dist_barrier(porta_dist_trainer *d);
/* The last failure's message ("rank R of N: ..."). */
const char *porta_dist_error(const porta_dist_trainer *d);

/* Time spent in the step's communication (seconds, summed over steps): staging gradients
 * between device and host, and waiting for all-reduces to finish. */
typedef struct porta_dist_stats {
  int64_t steps;
  double stage_s, wait_s, bytes;
} porta_dist_stats;
void porta_dist_get_stats(const porta_dist_trainer *d, porta_dist_stats *out);

#endif
