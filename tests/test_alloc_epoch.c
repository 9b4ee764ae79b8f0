/* The caching allocator over an epoch of mixed lengths, the way `porta train` runs one: a tiny
 * BERT + CLS head, length-bucketed batches (each padded to its own longest row), one long row
 * that makes its batch split into passes, AdamW. Checks (counts and bytes, never times):
 * - with max_cached_bytes set, the cached bytes stay under the cap after every step past warm-up,
 *   and the cap was binding (blocks were given back);
 * - without a cap, blocks idle for PORTA_CACHE_IDLE_GENERATIONS releases go back to the driver,
 *   and live + cached stay within twice the peak of live bytes;
 * - a warmed-up fixed-shape step still never reaches the driver;
 * - porta_batch_split cuts by the token budget, and the passes' gradients scaled by their share
 *   of the rows add up to the whole batch's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h" /* PORTA_CACHE_IDLE_GENERATIONS */
#include "helpers/check.h"
#include "train/train_internal.h"

static check_counter checks;

enum { ROWS = 480, BATCH = 16, MAX_LEN = 72, BUDGET = 256 };

typedef struct job {
  porta_context *ctx;
  porta_model *model;
  porta_head *head;
  porta_optimizer *opt;
  porta_param *params;
  int n_params;
} job;

/* Headline-like lengths: mostly 5..28 tokens, two long rows. */
static void make_rows(porta_encoded_rows *enc) {
  memset(enc, 0, sizeof *enc);
  enc->count = ROWS;
  enc->lengths = malloc(ROWS * sizeof(int32_t));
  enc->labels = malloc(ROWS * sizeof(int32_t));
  enc->offsets = malloc((ROWS + 1) * sizeof(int64_t));
  check_rng rng = check_rng_make(7);
  enc->offsets[0] = 0;
  for (int i = 0; i < ROWS; i++) {
    int len = (int)check_rng_int(&rng, 5, 18) + (int)check_rng_int(&rng, 0, 10);
    if (i == 100) len = 70;
    if (i == 300) len = 44;
    enc->lengths[i] = len;
    enc->labels[i] = i % 2;
    enc->offsets[i + 1] = enc->offsets[i] + len;
  }
  enc->ids = malloc((size_t)enc->offsets[ROWS] * sizeof(int32_t));
  for (int64_t k = 0; k < enc->offsets[ROWS]; k++) enc->ids[k] = 3 + (int32_t)(k * 7919 % 90);
  enc->pad_id = 0;
  enc->max_length = MAX_LEN;
}

static void job_make(job *j, size_t max_cached, float dropout) {
  memset(j, 0, sizeof *j);
  porta_context_options co;
  porta_context_options_init(&co);
  co.backend = PORTA_BACKEND_CPU;
  co.max_cached_bytes = max_cached;
  co.num_threads = 1;
  char err[512];
  if (porta_context_create(&j->ctx, &co, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "FAIL context: %s\n", err);
    exit(1);
  }
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  porta_config_init(&cfg, "bert", err, sizeof err);
  cfg.hidden_size = 32;
  cfg.num_attention_heads = 2;
  cfg.num_hidden_layers = 2;
  cfg.intermediate_size = 64;
  cfg.vocab_size = 100;
  cfg.max_position_embeddings = MAX_LEN;
  cfg.hidden_dropout_prob = dropout;
  cfg.attention_probs_dropout_prob = dropout;
  CHECK_OK(j->ctx, porta_model_create(&j->model, j->ctx, &cfg, 1));
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.num_labels = 2;
  ho.dropout = dropout;
  CHECK_OK(j->ctx, porta_head_create(&j->head, j->model, &ho));
  CHECK_OK(j->ctx, porta_model_parameters(j->model, j->head, NULL, 0, &j->n_params));
  j->params = calloc((size_t)j->n_params, sizeof *j->params);
  CHECK_OK(j->ctx, porta_model_parameters(j->model, j->head, j->params, j->n_params, &j->n_params));
  porta_tensor **t = calloc((size_t)j->n_params, sizeof *t);
  for (int i = 0; i < j->n_params; i++) t[i] = j->params[i].tensor;
  CHECK_OK(j->ctx, porta_adamw_create(&j->opt, j->ctx, t, j->n_params, NULL, NULL));
  free(t);
}

static void job_free(job *j) {
  porta_optimizer_free(j->opt);
  free(j->params);
  porta_head_free(j->head);
  porta_model_free(j->model);
  porta_context_destroy(j->ctx);
}

/* Forward + backward of rows[0..n) as the trainer runs one micro-batch: split into passes under
 * the budget, each pass's loss scaled by its share of the rows. */
static void accumulate(job *j, const porta_encoded_rows *enc, int64_t *rows, int n, int budget) {
  int32_t ids[BATCH * MAX_LEN], mask[BATCH * MAX_LEN], labels[BATCH];
  int pass_start[BATCH + 1];
  int passes = porta_batch_split(rows, n, enc->lengths, budget, pass_start);
  for (int p = 0; p < passes; p++) {
    int count = pass_start[p + 1] - pass_start[p], seq_len;
    porta_batch_fill(ids, mask, labels, &seq_len, enc, rows + pass_start[p], count);
    porta_model_input in = {ids, mask, NULL, labels, count, seq_len};
    porta_model_output out;
    CHECK_OK(j->ctx, porta_model_classify(&out, j->model, j->head, &in, NULL));
    porta_tensor *scaled = out.loss;
    if (passes > 1) CHECK_OK(j->ctx, porta_scale(&scaled, out.loss, (float)count / (float)n));
    CHECK_OK(j->ctx, porta_backward(scaled));
    porta_release_temporaries(j->ctx);
  }
}

static void step(job *j, const porta_encoded_rows *enc, int64_t *rows, int n) {
  accumulate(j, enc, rows, n, BUDGET);
  CHECK_OK(j->ctx, porta_optimizer_step(j->opt, 1e-3f));
  CHECK_OK(j->ctx, porta_optimizer_zero_grad(j->opt));
  porta_release_temporaries(j->ctx);
}

/* One epoch of bucketed batches; after every step past the first two, the cache's bounds. */
static void run_epoch(job *j, const porta_encoded_rows *enc, size_t cap, const char *what) {
  porta_epoch_plan plan;
  int64_t all[ROWS];
  int32_t lengths[ROWS];
  for (int i = 0; i < ROWS; i++) all[i] = i, lengths[i] = enc->lengths[i];
  if (porta_epoch_plan_make(&plan, lengths, ROWS, BATCH, PORTA_ORDER_BUCKETED, 8, 42, 0) !=
      PORTA_OK) {
    fprintf(stderr, "FAIL epoch plan\n");
    exit(1);
  }
  size_t worst_cached = 0;
  int over_cap = 0, longest = 0;
  for (int64_t b = 0; b < plan.num_batches; b++) {
    int64_t rows[BATCH];
    int n = (int)(plan.batch_start[b + 1] - plan.batch_start[b]);
    for (int i = 0; i < n; i++) {
      rows[i] = all[plan.rows[plan.batch_start[b] + i]];
      if (enc->lengths[rows[i]] > longest) longest = enc->lengths[rows[i]];
    }
    step(j, enc, rows, n);
    porta_memory_stats st;
    porta_memory_stats_get(j->ctx, &st);
    if (b < 2) continue; // warm-up
    if (st.cached_bytes > worst_cached) worst_cached = st.cached_bytes;
    if (cap && st.cached_bytes > cap) over_cap++;
  }
  porta_memory_stats st;
  porta_memory_stats_get(j->ctx, &st);
  printf("%s: %lld steps (longest row %d), cached at most %zu bytes, peak live %zu, peak held %zu, "
         "%llu driver allocations, %llu blocks given back\n",
         what, (long long)plan.num_batches, longest, worst_cached, st.peak_bytes,
         st.peak_held_bytes, (unsigned long long)st.driver_allocs,
         (unsigned long long)st.evictions);
  if (cap) {
    check_true(&checks, over_cap == 0, "%s: cached bytes stay under the cap of %zu (%d steps over)",
               what, cap, over_cap);
    check_true(&checks, st.evictions > 0,
               "%s: the cap was binding: %llu blocks given back to the driver", what,
               (unsigned long long)st.evictions);
  } else {
    // the cache holds what the last few steps used: measured 1.8x the peak of live bytes here
    check_true(&checks, st.peak_held_bytes <= 2 * st.peak_bytes,
               "%s: live + cached stay within twice the peak of live bytes (peak held %zu, peak "
               "live %zu)",
               what, st.peak_held_bytes, st.peak_bytes);
    for (int g = 0; g < PORTA_CACHE_IDLE_GENERATIONS; g++) porta_release_temporaries(j->ctx);
    porta_memory_stats_get(j->ctx, &st);
    check_true(&checks, st.cached_bytes == 0,
               "%s: blocks idle for %d generations go back to the driver (%zu bytes cached)", what,
               PORTA_CACHE_IDLE_GENERATIONS, st.cached_bytes);
  }
  porta_epoch_plan_free(&plan);
}

static void test_fixed_shape(job *j, const porta_encoded_rows *enc) {
  int64_t rows[BATCH];
  for (int i = 0; i < BATCH; i++) rows[i] = 20 + i; // short rows: one pass
  uint64_t allocs[5];
  for (int s = 0; s < 5; s++) {
    step(j, enc, rows, BATCH);
    porta_memory_stats st;
    porta_memory_stats_get(j->ctx, &st);
    allocs[s] = st.driver_allocs;
  }
  check_true(&checks, allocs[4] == allocs[1],
             "a warmed-up fixed-shape step never reaches the driver (%llu after step 2, %llu after "
             "step 5)",
             (unsigned long long)allocs[1], (unsigned long long)allocs[4]);
}

static void test_split(const porta_encoded_rows *enc) {
  // rows of lengths 70, 44 and short ones: 16 × 70 tokens is past the budget of 256
  int64_t rows[BATCH] = {101, 100, 102, 103, 300, 104, 105, 106,
                         107, 108, 109, 110, 111, 112, 113, 114};
  int pass_start[BATCH + 1];
  int passes = porta_batch_split(rows, BATCH, enc->lengths, BUDGET, pass_start);
  bool sorted = true, within = true;
  for (int i = 1; i < BATCH; i++) sorted &= enc->lengths[rows[i - 1]] >= enc->lengths[rows[i]];
  for (int p = 0; p < passes; p++) {
    int count = pass_start[p + 1] - pass_start[p];
    int64_t tokens = (int64_t)count * enc->lengths[rows[pass_start[p]]];
    within &= count == 1 || tokens <= BUDGET;
  }
  check_true(&checks,
             passes >= 2 && pass_start[passes] == BATCH && sorted && within && rows[0] == 100 &&
                 rows[1] == 300,
             "porta_batch_split: %d passes, longest first, each within %d tokens", passes, BUDGET);
  int64_t short_rows[4] = {110, 111, 112, 113}, kept[4];
  memcpy(kept, short_rows, sizeof kept);
  passes = porta_batch_split(short_rows, 4, enc->lengths, BUDGET, pass_start);
  check_true(&checks, passes == 1 && pass_start[1] == 4 && !memcmp(kept, short_rows, sizeof kept),
             "porta_batch_split: a batch within the budget is one pass, order kept");

  // gradients: the passes add up to the whole batch's (no dropout, so the same function)
  job a, b;
  job_make(&a, 0, 0.0f);
  job_make(&b, 0, 0.0f);
  int64_t whole[BATCH];
  memcpy(whole, rows, sizeof whole);
  accumulate(&a, enc, whole, BATCH, 0);
  accumulate(&b, enc, rows, BATCH, BUDGET);
  double worst = 0;
  for (int i = 0; i < a.n_params; i++) {
    porta_tensor *ga = porta_tensor_grad(a.params[i].tensor),
                 *gb = porta_tensor_grad(b.params[i].tensor);
    if (!ga || !gb) continue;
    size_t n = (size_t)porta_tensor_numel(ga);
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    CHECK_OK(a.ctx, porta_tensor_download(ga, x, n));
    CHECK_OK(b.ctx, porta_tensor_download(gb, y, n));
    double err = check_norm_err(y, x, n, NULL);
    if (err > worst) worst = err;
    free(x), free(y);
  }
  check_true(&checks, worst < 1e-4,
             "split passes' gradients equal the whole batch's (normalised error %.2e)", worst);
  job_free(&a);
  job_free(&b);
}

int main(void) {
  porta_encoded_rows enc;
  make_rows(&enc);
  test_split(&enc);

  job j;
  job_make(&j, 0, 0.1f);
  run_epoch(&j, &enc, 0, "no cap");
  test_fixed_shape(&j, &enc);
  job_free(&j);

  const size_t cap = 96 << 10; // well under one step's blocks: the cap has to give blocks back
  job_make(&j, cap, 0.1f);
  run_epoch(&j, &enc, cap, "cap 96 KiB");
  job_free(&j);

  porta_encoded_rows_free(&enc);
  return check_finish(&checks);
}
