/* The fine-tuning loop behind `porta train`: data -> split -> tokens -> body + head -> AdamW with
 * a linear schedule -> evaluation each epoch -> best / last checkpoints -> test metrics. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/dist_train.h"
#include "train/train_internal.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* mkdir -p; false (errno set) when a part cannot be made or the path is not a folder. */
static bool make_dirs(const char *path) {
  char buf[4096];
  porta_pathf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return false;
    *p = '/';
  }
  if (mkdir(buf, 0755) == 0) return true;
  if (errno != EEXIST) return false;
  struct stat sb;
  if (stat(buf, &sb) != 0) return false;
  if (!S_ISDIR(sb.st_mode)) errno = ENOTDIR;
  return S_ISDIR(sb.st_mode);
}

static void format_duration(char *buf, size_t size, double seconds) {
  if (!(seconds >= 0) || seconds > 360000) seconds = 0;
  int s = (int)seconds;
  if (s >= 3600)
    snprintf(buf, size, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, size, "%d:%02d", s / 60, s % 60);
}

/* Everything one run holds; released by job_free. */
typedef struct job {
  porta_train_options o;
  porta_settings_strings strings;
  char run_dir[1024], last_dir[1200], best_dir[1200];
  porta_dataset *ds;
  porta_split split;
  porta_label_map labels;
  porta_context *ctx;
  porta_tokenizer *tok;
  porta_model *model;
  porta_head *head;
  porta_encoded_rows enc;
  porta_param *all_params; /* body + head */
  porta_param *params;     /* the trainable ones, as given to the optimizer */
  porta_tensor **tensors;
  bool *decay;
  int param_count;
  porta_optimizer *opt;
  porta_metrics_log metrics; /* metrics.jsonl */
  porta_run_lock_info lock;  /* held from the start to the end of the call */
  porta_run_info info;
  bool show_bar, log_lines;
  /* data-parallel (dist_train.h): NULL for one process; rank 0 alone writes and prints */
  porta_dist_trainer *dist;
  bool is_root, dist_cancel;
} job;

static void job_free(job *j) {
  porta_metrics_log_close(&j->metrics, NULL, 0);
  porta_dist_trainer_free(j->dist);
  porta_optimizer_free(j->opt);
  free(j->all_params), free(j->params), free(j->tensors), free(j->decay);
  porta_head_free(j->head);
  porta_model_free(j->model);
  porta_encoded_rows_free(&j->enc);
  porta_tokenizer_free(j->tok);
  porta_context_destroy(j->ctx);
  porta_label_map_free(&j->labels);
  porta_split_free(&j->split);
  porta_dataset_free(j->ds);
  porta_run_unlock(&j->lock); // last: everything this run writes is written
}

static void say(const job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const job *j, const char *fmt, ...) {
  if (j->o.quiet) return;
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
}

/* Reads the data, makes (or reloads, on resume) the split and the label map. */
static porta_status prepare_data(job *j, bool resume, char *err, size_t err_size) {
  porta_dataset_options dopts;
  porta_dataset_options_init(&dopts);
  dopts.text_field = j->o.text_field;
  dopts.label_field = j->o.label_field;
  dopts.limit_rows = j->o.limit_rows;
  char path[1200];
  if (resume) {
    porta_pathf(path, sizeof path, "%s/labels.json", j->run_dir);
    porta_status st = porta_label_map_load(&j->labels, path, err, err_size);
    if (st != PORTA_OK) return st;
    dopts.label_map = &j->labels;
  }
  porta_status st = porta_dataset_load(&j->ds, j->o.data_path, &dopts, err, err_size);
  if (st != PORTA_OK) return st;
  if (!resume) {
    st = porta_label_map_copy(&j->labels, &j->ds->label_map);
    if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "out of memory");
  }
  char summary[1024];
  porta_dataset_skip_summary(j->ds, 10, summary, sizeof summary);
  say(j, "data: %s: %lld rows, %d labels%s%s\n", j->o.data_path, (long long)j->ds->count,
      j->labels.count, summary[0] ? "; " : "", summary);
  if (j->ds->label_note[0]) say(j, "data: warning: %s\n", j->ds->label_note);
  if (j->labels.count < 2)
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: only %d label; a classifier needs at least 2", j->o.data_path,
                            j->labels.count);
  // integer labels number the classes 0..max (so "1" alone made 2 classes): count those present
  int32_t first_label = j->ds->labels[0];
  int64_t other = 0;
  while (other < j->ds->count && j->ds->labels[other] == first_label) other++;
  if (other == j->ds->count)
    return porta_train_fail(
        err, err_size, PORTA_ERR_FORMAT,
        "%s: every one of the %lld rows has the label \"%s\"; a classifier "
        "needs at least 2 labels",
        j->o.data_path, (long long)j->ds->count,
        first_label >= 0 && first_label < j->labels.count ? j->labels.names[first_label] : "?");
  porta_data_fingerprint(&j->info.data, j->ds, &j->labels);
  if (resume && !j->strings.has_data) {
    say(j, "data: settings.json records no fingerprint of the data (a run from an older porta): "
           "not checked\n");
  } else if (resume) {
    bool changed;
    porta_status checked =
        porta_data_fingerprint_check(&j->strings.data, &j->info.data, j->o.data_path,
                                     j->o.allow_changed_data, &changed, err, err_size);
    if (checked != PORTA_OK) return checked;
    if (changed)
      say(j,
          "data: warning: %s changed since the run began (%lld rows then, %lld now); going on "
          "with --allow-changed-data\n",
          j->o.data_path, (long long)j->strings.data.rows, (long long)j->ds->count);
    j->info.data = j->strings.data; // settings.json keeps what the run began with
  }
  porta_pathf(path, sizeof path, "%s/split.json", j->run_dir);
  if (resume) {
    st = porta_split_load(&j->split, path, err, err_size);
    for (int p = 0; st == PORTA_OK && p < 3; p++)
      for (int64_t i = 0; i < j->split.count[p]; i++)
        if (j->split.rows[p][i] < 0 || j->split.rows[p][i] >= j->ds->count)
          return porta_train_fail(
              err, err_size, PORTA_ERR_FORMAT, "%s: row %lld is not in %s (%lld rows)", path,
              (long long)j->split.rows[p][i], j->o.data_path, (long long)j->ds->count);
  } else {
    st = porta_split_make(&j->split, j->ds, j->o.valid_fraction, j->o.test_fraction, j->o.seed, err,
                          err_size);
    if (st == PORTA_OK && j->is_root) st = porta_split_save(&j->split, path, err, err_size);
    if (st == PORTA_OK && j->is_root) {
      porta_pathf(path, sizeof path, "%s/labels.json", j->run_dir);
      st = porta_label_map_save(&j->labels, path, err, err_size);
    }
  }
  if (st != PORTA_OK) return st;
  if (j->split.count[PORTA_SPLIT_TRAIN] == 0)
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: no rows left to train on after the split", j->o.data_path);
  say(j, "split: train %lld, valid %lld, test %lld (seed %llu)\n", (long long)j->split.count[0],
      (long long)j->split.count[1], (long long)j->split.count[2], (unsigned long long)j->o.seed);
  return PORTA_OK;
}

/* Context, tokenizer, body + head, tokens, parameters, optimizer. */
static porta_status prepare_model(job *j, bool resume, char *err, size_t err_size) {
  porta_context_options copts;
  porta_context_options_init(&copts);
  copts.backend = j->o.backend;
  copts.device = j->o.device;
  copts.seed = j->o.seed;
  copts.num_threads = j->o.num_threads;
  copts.profile = j->o.profile;
  copts.selftest = j->o.selftest;
  porta_status st = porta_context_create(&j->ctx, &copts, err, err_size);
  if (st != PORTA_OK) return st;
  const porta_device_info *dev = porta_context_device(j->ctx);
  j->info.backend = porta_context_backend(j->ctx);
  j->info.device_index = dev ? dev->index : 0;
  porta_pathf(j->info.device_name, sizeof j->info.device_name, "%s", dev ? dev->name : "");
  say(j, "device: %s %d: %s (%s)\n", porta_backend_name(j->info.backend), j->info.device_index,
      j->info.device_name, porta_context_reason(j->ctx));
  if (porta_context_selftest_note(j->ctx)[0]) say(j, "%s\n", porta_context_selftest_note(j->ctx));

  // on resume, all from the checkpoint: the original --model folder may have moved or changed
  const char *weights_dir = resume ? j->last_dir : j->o.model_dir;
  st = porta_tokenizer_load(&j->tok, weights_dir, err, err_size);
  if (st != PORTA_OK) return st;
  st = porta_model_load(&j->model, j->ctx, weights_dir);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(j->ctx));
  int rows = porta_model_classifier_labels(j->model);
  if (resume && rows != j->labels.count) // else the head would start afresh, silently
    return porta_train_fail(err, err_size, PORTA_ERR_SHAPE,
                            "%s/labels.json lists %d labels, but the classifier in %s has %d rows",
                            j->run_dir, j->labels.count, weights_dir, rows);
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = j->o.head;
  ho.num_labels = j->labels.count;
  ho.dropout = j->o.dropout;
  ho.seed = j->o.seed;
  ho.from_checkpoint = true; // a fine-tuned checkpoint (or last/ on resume) keeps its classifier
  st = porta_head_create(&j->head, j->model, &ho);
  if (st == PORTA_OK && j->o.freeze_body) st = porta_model_set_trainable(j->model, false);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(j->ctx));

  // the longest row: the flag, else the tokenizer's limit within the model's positions
  const porta_model_config *cfg = porta_model_get_config(j->model);
  int64_t positions = cfg->max_position_embeddings;
  if (porta_model_get_family(j->model) == PORTA_MODEL_ROBERTA) positions -= cfg->pad_token_id + 1;
  int max_length = j->o.max_length;
  if (max_length <= 0) {
    max_length = porta_tokenizer_model_max_length(j->tok);
    if (max_length <= 0 || max_length > positions) max_length = (int)positions;
  }
  if (max_length > positions)
    return porta_train_fail(err, err_size, PORTA_ERR_LIMIT,
                            "--max-len %d is more than the %lld positions of %s", max_length,
                            (long long)positions, weights_dir);
  j->info.max_length = max_length;
  double t0 = now_seconds();
  st = porta_encode_texts(&j->enc, j->tok, (const char *const *)j->ds->texts, j->ds->labels,
                          j->ds->count, max_length, err, err_size);
  if (st != PORTA_OK) return st;
  int64_t tokens = j->enc.offsets[j->enc.count];
  say(j, "tokens: %lld rows, %.1f tokens a row on average, max length %d (%.2f s)\n",
      (long long)j->enc.count, (double)tokens / (double)(j->enc.count ? j->enc.count : 1),
      max_length, now_seconds() - t0);

  int total = 0;
  st = porta_model_parameters(j->model, j->head, NULL, 0, &total);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(j->ctx));
  j->all_params = calloc((size_t)total, sizeof *j->all_params);
  j->params = calloc((size_t)total, sizeof *j->params);
  j->tensors = calloc((size_t)total, sizeof *j->tensors);
  j->decay = calloc((size_t)total, sizeof *j->decay);
  if (!j->all_params || !j->params || !j->tensors || !j->decay)
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  st = porta_model_parameters(j->model, j->head, j->all_params, total, &total);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(j->ctx));
  int64_t trainable_numel = 0;
  for (int i = 0; i < total; i++) {
    if (!porta_tensor_requires_grad(j->all_params[i].tensor)) continue;
    j->params[j->param_count] = j->all_params[i];
    j->tensors[j->param_count] = j->all_params[i].tensor;
    j->decay[j->param_count] = j->all_params[i].weight_decay;
    trainable_numel += porta_tensor_numel(j->all_params[i].tensor);
    j->param_count++;
  }
  say(j,
      "model: %s (%s, %lld layers, hidden %lld), head %s, %d labels, %.2f M trainable "
      "parameters%s\n",
      weights_dir, cfg->model_type, (long long)cfg->num_hidden_layers, (long long)cfg->hidden_size,
      porta_head_kind_name(j->o.head), j->labels.count, trainable_numel / 1e6,
      j->o.freeze_body ? " (body frozen)" : "");
  porta_adamw_options ao;
  porta_adamw_options_init(&ao);
  ao.lr = j->o.lr;
  ao.beta1 = j->o.beta1;
  ao.beta2 = j->o.beta2;
  ao.eps = j->o.eps;
  ao.weight_decay = j->o.weight_decay;
  st = porta_adamw_create(&j->opt, j->ctx, j->tensors, j->param_count, j->decay, &ao);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(j->ctx));
  st = porta_dist_trainer_create(&j->dist, j->o.comm, j->ctx, j->tensors, j->param_count,
                                 j->o.bucket_bytes, err, err_size);
  if (st == PORTA_OK && j->dist)
    say(j, "data-parallel: %d ranks, each a shard of every batch of %d\n",
        porta_comm_size(j->o.comm), j->o.batch_size);
  return st;
}

static porta_status save_checkpoint(job *j, const char *dir, const porta_train_state *state,
                                    bool with_optimizer, char *err, size_t err_size) {
  if (!j->is_root) return PORTA_OK; /* every rank holds the same weights: rank 0 writes them */
  porta_train_state s = *state;
  s.rng_stream = porta_rng_stream(j->ctx);
  double t0 = now_seconds();
  porta_status st = porta_metrics_log_sync(&j->metrics, err, err_size);
  if (st == PORTA_OK)
    st = porta_checkpoint_save(dir, j->model, j->head, &j->labels, with_optimizer ? j->opt : NULL,
                               j->params, j->param_count, &s, err, err_size);
  if (st == PORTA_OK && !j->show_bar)
    say(j, "  checkpoint %s (step %lld) written in %.1f s\n", dir, (long long)state->step,
        now_seconds() - t0);
  return st;
}

/* The run's peaks: printed, and one {"memory": …} record in metrics.jsonl. On the CPU backend the
 * device memory is part of the host's resident set. */
static porta_status log_memory(job *j, int64_t step, char *err, size_t err_size) {
  porta_memory_stats mem;
  porta_memory_stats_get(j->ctx, &mem);
  size_t rss = porta_host_peak_rss_bytes();
  porta_status st = porta_metrics_log_line(
      &j->metrics, err, err_size,
      "{\"memory\": {\"peak_host_rss_bytes\": %zu, \"peak_device_bytes\": %zu, "
      "\"peak_device_live_bytes\": %zu, \"driver_allocs\": %llu, \"blocks_given_back\": %llu, "
      "\"backend\": \"%s\"}, \"step\": %lld}\n",
      rss, mem.peak_held_bytes, mem.peak_bytes, (unsigned long long)mem.driver_allocs,
      (unsigned long long)mem.evictions, porta_backend_name(j->info.backend), (long long)step);
  say(j, "memory: peak host RSS %.0f MB; %s device memory peak %.0f MB held (%.0f MB live)\n",
      rss / 1e6, porta_backend_name(j->info.backend), mem.peak_held_bytes / 1e6,
      mem.peak_bytes / 1e6);
  if (j->o.profile) {
    char *report = malloc(8192);
    if (report && porta_memory_report(j->ctx, report, 8192) == PORTA_OK) say(j, "%s", report);
    free(report);
  }
  return st;
}

static void print_metrics_table(const job *j, const char *title, const porta_metrics *m) {
  if (j->o.quiet) return;
  fprintf(stderr,
          "%-22s loss %.4f  accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  (%lld rows%s)\n",
          title, m->loss, m->accuracy, m->precision, m->recall, m->f1, (long long)m->count,
          m->num_classes == 2 ? ", positive class 1" : ", macro averages");
}

static void print_confusion(const job *j, const porta_metrics *m) {
  if (j->o.quiet) return;
  int C = m->num_classes;
  fprintf(stderr, "confusion (rows: true label, columns: predicted)\n%12s", "");
  for (int p = 0; p < C; p++) fprintf(stderr, " %10.10s", j->labels.names[p]);
  fprintf(stderr, "\n");
  for (int y = 0; y < C; y++) {
    fprintf(stderr, "%12.12s", j->labels.names[y]);
    for (int p = 0; p < C; p++) fprintf(stderr, " %10lld", (long long)m->confusion[y * C + p]);
    fprintf(stderr, "\n");
  }
}

/* Evaluates valid at the end of an epoch; a better F1 writes best/. */
static porta_status end_of_epoch(job *j, porta_train_state *state, porta_train_result *result,
                                 char *err, size_t err_size) {
  if (j->split.count[PORTA_SPLIT_VALID] > 0) {
    porta_metrics m;
    double t0 = now_seconds();
    porta_status st = porta_dist_classify(j->dist, &m, j->model, j->head, &j->enc,
                                          j->split.rows[PORTA_SPLIT_VALID],
                                          j->split.count[PORTA_SPLIT_VALID], j->o.batch_size * 2);
    if (st != PORTA_OK)
      return porta_train_fail(err, err_size, st, "evaluating valid: %s", porta_last_error(j->ctx));
    porta_memory_trim(j->ctx); // the eval batches' blocks: training needs other shapes
    st = porta_metrics_log_evaluation(&j->metrics, "valid", state->epoch, state->step, &m, err,
                                      err_size);
    if (st != PORTA_OK) return st;
    char title[64];
    snprintf(title, sizeof title, "epoch %lld valid", (long long)state->epoch + 1);
    if (j->show_bar) fprintf(stderr, "\n");
    print_metrics_table(j, title, &m);
    say(j, "  (evaluated in %.1f s)\n", now_seconds() - t0);
    if (m.f1 > state->best_f1 || state->best_epoch < 0) {
      state->best_f1 = m.f1;
      state->best_epoch = state->epoch;
      result->best_valid = m;
      result->best_epoch = state->epoch;
      st = save_checkpoint(j, j->best_dir, state, false, err, err_size);
      if (st != PORTA_OK) return st;
      say(j, "  new best valid F1 %.4f: saved %s\n", m.f1, j->best_dir);
    }
  }
  return PORTA_OK;
}

static void show_progress(job *j, const porta_train_state *state, int64_t epochs, float loss,
                          float lr, double seq_per_s, double elapsed, int64_t steps_done_here) {
  double eta = steps_done_here > 0
                   ? elapsed / steps_done_here * (double)(state->total_steps - state->step)
                   : 0;
  char eta_text[32];
  format_duration(eta_text, sizeof eta_text, eta);
  if (j->show_bar) {
    int width = 24, filled = (int)(width * (double)state->step /
                                   (double)(state->total_steps ? state->total_steps : 1));
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr,
            "\repoch %lld/%lld [%s] step %lld/%lld  loss %.4f  lr %.2e  %.1f seq/s  ETA %s   ",
            (long long)state->epoch + 1, (long long)epochs, bar, (long long)state->step,
            (long long)state->total_steps, loss, lr, seq_per_s, eta_text);
    fflush(stderr);
  } else if (j->log_lines &&
             (state->step % j->o.log_every == 0 || state->step == state->total_steps)) {
    fprintf(stderr, "epoch %lld/%lld step %lld/%lld loss %.4f lr %.3e %.1f seq/s ETA %s\n",
            (long long)state->epoch + 1, (long long)epochs, (long long)state->step,
            (long long)state->total_steps, loss, lr, seq_per_s, eta_text);
  }
}

/* One optimizer step over micro-batches [first, last) of the plan: forward, backward (each
 * micro-batch's loss scaled by 1/count so the gradient is their mean), clip, AdamW. A micro-batch
 * past max_batch_tokens runs as several passes, each pass's loss scaled by its share of the rows:
 * the activations of one pass are bounded by the budget, not by the batch's longest row. With N
 * ranks each computes its shard of every pass, its loss scaled by the shard's share of the rows,
 * and the gradients are summed over the ranks before clip + AdamW (dist_train.h). The passes do
 * not depend on the number of ranks, so 1 and N ranks compute the same. */
static porta_status train_step(job *j, const porta_epoch_plan *plan, const int64_t *train_rows,
                               int64_t first, int64_t last, float lr, int32_t *ids, int32_t *mask,
                               int32_t *labels, int64_t *batch_rows, int *pass_start,
                               float *loss_out, int64_t *rows_out) {
  porta_context *ctx = j->ctx;
  float loss_sum = 0;
  int64_t rows = 0;
  int micro = (int)(last - first);
  for (int64_t mb = first; mb < last; mb++) {
    int64_t start = plan->batch_start[mb];
    int n = (int)(plan->batch_start[mb + 1] - start);
    for (int i = 0; i < n; i++) batch_rows[i] = train_rows[plan->rows[start + i]];
    int passes =
        porta_batch_split(batch_rows, n, j->enc.lengths, j->o.max_batch_tokens, pass_start);
    for (int p = 0; p < passes; p++) {
      const int64_t *pass_rows = batch_rows + pass_start[p];
      int pass_n = pass_start[p + 1] - pass_start[p];
      int64_t shard_first, shard_rows; /* all pass_n rows in one process */
      porta_dist_shard(j->dist, pass_n, &shard_first, &shard_rows);
      float share = (float)shard_rows / (float)n; /* of the batch: the loss is a mean over it */
      if (shard_rows > 0) {
        int seq_len; /* a shard pads to its whole pass's longest row, as one process would */
        porta_batch_fill_padded(ids, mask, labels, &seq_len, &j->enc, pass_rows + shard_first,
                                (int)shard_rows,
                                porta_dist_pad_length(j->dist, &j->enc, pass_rows, pass_n));
        porta_status st = j->dist ? porta_set_batch_shard(ctx, shard_first, shard_rows) : PORTA_OK;
        porta_model_input in = {ids, mask, NULL, labels, (int)shard_rows, seq_len};
        porta_model_output out;
        if (st == PORTA_OK) st = porta_model_classify(&out, j->model, j->head, &in, NULL);
        porta_tensor *scaled = out.loss;
        if (st == PORTA_OK && (micro > 1 || share != 1.0f))
          st = porta_scale(&scaled, out.loss, share / (float)micro);
        float loss = 0;
        if (st == PORTA_OK) st = porta_tensor_download(out.loss, &loss, 1);
        if (st == PORTA_OK) st = porta_backward(scaled);
        porta_release_temporaries(ctx);
        if (st != PORTA_OK) return st;
        loss_sum += loss * share;
      }
      porta_status st = porta_dist_after_micro(j->dist, pass_n);
      if (st != PORTA_OK) return st;
    }
    rows += n;
  }
  /* with N ranks: the gradients, losses and cancel requests summed over the ranks */
  j->dist_cancel = j->o.cancel && *j->o.cancel;
  porta_status st = porta_dist_reduce_step(j->dist, &loss_sum, &j->dist_cancel);
  if (st != PORTA_OK) return st;
  /* clip + AdamW: the clip coefficient is folded into AdamW's read of the gradients */
  st = porta_optimizer_clip_step(j->opt, j->o.max_grad_norm, lr, NULL);
  if (st == PORTA_OK) st = porta_optimizer_zero_grad(j->opt);
  porta_release_temporaries(ctx);
  *loss_out = loss_sum / (float)micro;
  *rows_out = rows;
  return st;
}

/* A signal asked to stop: with N ranks, when any rank got one (they agree at each step). */
static bool cancel_requested(const job *j) {
  return j->dist ? j->dist_cancel : j->o.cancel && *j->o.cancel;
}

static porta_status run_loop(job *j, porta_train_state *state, porta_train_result *result,
                             char *err, size_t err_size) {
  const int64_t *train_rows = j->split.rows[PORTA_SPLIT_TRAIN];
  int64_t n_train = j->split.count[PORTA_SPLIT_TRAIN];
  int B = j->o.batch_size, accum = j->o.grad_accum;
  int32_t *lengths = malloc((size_t)n_train * sizeof(int32_t));
  int32_t *ids = malloc((size_t)B * j->enc.max_length * sizeof(int32_t));
  int32_t *mask = malloc((size_t)B * j->enc.max_length * sizeof(int32_t));
  int32_t *labels = malloc((size_t)B * sizeof(int32_t));
  int64_t *batch_rows = malloc((size_t)B * sizeof(int64_t));
  int *pass_start = malloc((size_t)(B + 1) * sizeof(int));
  porta_status st = (lengths && ids && mask && labels && batch_rows && pass_start)
                        ? PORTA_OK
                        : PORTA_ERR_OUT_OF_MEMORY;
  if (st != PORTA_OK) porta_train_fail(err, err_size, st, "out of memory");
  for (int64_t i = 0; st == PORTA_OK && i < n_train; i++)
    lengths[i] = j->enc.lengths[train_rows[i]];

  double started = now_seconds(), smoothed = 0;
  int64_t steps_here = 0;
  while (st == PORTA_OK && state->epoch < j->o.epochs && state->step < state->total_steps) {
    porta_epoch_plan plan;
    st = porta_epoch_plan_make(&plan, lengths, n_train, B, PORTA_ORDER_BUCKETED, 100, j->o.seed,
                               state->epoch);
    if (st != PORTA_OK) break;
    porta_set_training(j->ctx, true);
    while (st == PORTA_OK && state->next_batch < plan.num_batches &&
           state->step < state->total_steps) {
      int64_t first = state->next_batch;
      int64_t last = first + accum < plan.num_batches ? first + accum : plan.num_batches;
      float lr = porta_lr_linear(state->step, j->info.warmup_steps, state->total_steps, j->o.lr);
      double t0 = now_seconds();
      float loss;
      int64_t rows;
      st = train_step(j, &plan, train_rows, first, last, lr, ids, mask, labels, batch_rows,
                      pass_start, &loss, &rows);
      if (st != PORTA_OK) {
        const char *why = porta_dist_error(j->dist);
        porta_train_fail(err, err_size, st, "step %lld: %s", (long long)state->step + 1,
                         why[0] ? why : porta_last_error(j->ctx));
        break;
      }
      if (!isfinite(loss)) {
        st = porta_train_fail(err, err_size, PORTA_ERR_STATE,
                              "step %lld: the loss is %g (lower --lr?)", (long long)state->step + 1,
                              loss);
        break;
      }
      double dt = now_seconds() - t0;
      double seq_per_s = dt > 0 ? rows / dt : 0;
      smoothed = steps_here == 0 ? seq_per_s : 0.9 * smoothed + 0.1 * seq_per_s;
      state->step++;
      state->next_batch = last;
      state->last_loss = loss;
      steps_here++;
      result->steps = state->step;
      result->last_loss = loss;
      porta_memory_stats mem;
      porta_memory_stats_get(j->ctx, &mem);
      st = porta_metrics_log_line(
          &j->metrics, err, err_size,
          "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6f, \"lr\": %.6e, \"seq_per_s\": %.2f, "
          "\"device_live_mb\": %.1f, \"device_cached_mb\": %.1f, \"host_rss_mb\": %.1f}\n",
          (long long)state->step, (long long)state->epoch, loss, lr, seq_per_s,
          mem.live_bytes / 1e6, mem.cached_bytes / 1e6, porta_host_rss_bytes() / 1e6);
      if (st != PORTA_OK) break;
      if (j->o.on_step) {
        porta_step_record rec = {state->step, state->epoch, loss, lr, seq_per_s};
        j->o.on_step(j->o.user, &rec);
      }
      show_progress(j, state, j->o.epochs, loss, lr, smoothed, now_seconds() - started, steps_here);
      bool epoch_done = state->next_batch >= plan.num_batches || state->step >= state->total_steps;
      if (!epoch_done && j->o.save_every > 0 && state->step % j->o.save_every == 0) {
        st = save_checkpoint(j, j->last_dir, state, true, err, err_size);
      }
      if (st == PORTA_OK && j->o.stop_after > 0 && steps_here >= j->o.stop_after && !epoch_done) {
        result->interrupted = true;
        break;
      }
      if (st == PORTA_OK && cancel_requested(j) && !epoch_done) {
        if (j->show_bar) fprintf(stderr, "\n");
        say(j, "interrupted at step %lld: writing %s\n", (long long)state->step, j->last_dir);
        st = save_checkpoint(j, j->last_dir, state, true, err, err_size);
        result->interrupted = true;
        break;
      }
    }
    porta_epoch_plan_free(&plan);
    if (st != PORTA_OK || result->interrupted) break;
    // the epoch (or the step budget) ended: evaluate, keep the best, write last/
    st = end_of_epoch(j, state, result, err, err_size);
    state->epoch++;
    state->next_batch = 0;
    if (st == PORTA_OK) st = save_checkpoint(j, j->last_dir, state, true, err, err_size);
    if (st == PORTA_OK && j->o.stop_after > 0 && steps_here >= j->o.stop_after)
      result->interrupted = true;
    if (st == PORTA_OK && cancel_requested(j)) result->interrupted = true;
    if (result->interrupted) break;
  }
  if (j->show_bar) fprintf(stderr, "\n");
  porta_dist_stats ds;
  porta_dist_get_stats(j->dist, &ds);
  if (ds.steps > 0)
    say(j,
        "data-parallel: %.1f MB all-reduced a step; a step spent %.1f ms staging gradients "
        "and %.1f ms waiting for the all-reduce (%.1f s in %lld steps)\n",
        ds.bytes / (double)ds.steps / 1e6, 1e3 * ds.stage_s / (double)ds.steps,
        1e3 * ds.wait_s / (double)ds.steps, now_seconds() - started, (long long)steps_here);
  free(lengths), free(ids), free(mask), free(labels), free(batch_rows), free(pass_start);
  return st;
}

/* Test metrics from the best checkpoint (last/ when there was no valid split). */
static porta_status final_test(job *j, porta_train_result *result, char *err, size_t err_size) {
  if (j->split.count[PORTA_SPLIT_TEST] == 0) return PORTA_OK;
  const char *dir = j->split.count[PORTA_SPLIT_VALID] > 0 ? j->best_dir : j->last_dir;
  char real[1200];
  /* every rank reads the checkpoint rank 0 wrote: once it is complete */
  porta_status st = porta_dist_barrier(j->dist);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_dist_error(j->dist));
  st = porta_checkpoint_resolve(real, sizeof real, dir, err, err_size);
  if (st != PORTA_OK) return st;
  // free the training state first: the best model takes its place
  porta_optimizer_free(j->opt);
  j->opt = NULL;
  porta_head_free(j->head);
  j->head = NULL;
  porta_model_free(j->model);
  j->model = NULL;
  porta_model *model;
  porta_head *head;
  porta_label_map labels;
  st = porta_checkpoint_load(&model, &head, &labels, j->ctx, real, err, err_size);
  if (st != PORTA_OK) return st;
  porta_label_map_free(&labels);
  porta_metrics m;
  st = porta_dist_classify(j->dist, &m, model, head, &j->enc, j->split.rows[PORTA_SPLIT_TEST],
                           j->split.count[PORTA_SPLIT_TEST], j->o.batch_size * 2);
  if (st != PORTA_OK) {
    porta_train_fail(err, err_size, st, "evaluating test: %s", porta_last_error(j->ctx));
  } else {
    result->has_test = true;
    result->test = m;
    st = porta_metrics_log_evaluation(&j->metrics, "test", result->best_epoch, result->steps, &m,
                                      err, err_size);
  }
  porta_head_free(head);
  porta_model_free(model);
  return st;
}

porta_status porta_train(porta_train_result *result, const porta_train_options *options, char *err,
                         size_t err_size) {
  memset(result, 0, sizeof *result);
  result->best_epoch = -1;
  job *j = calloc(1, sizeof *j);
  if (!j) return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  j->o = *options;
  j->is_root = porta_comm_rank(options->comm) == 0;
  if (!j->is_root) j->o.quiet = true; /* rank 0 prints for the job */
  double started = now_seconds();
  bool resume = options->resume_dir && options->resume_dir[0];
  porta_status st = PORTA_OK;
  char path[1200];
  j->lock.fd = -1;
  j->metrics.fd = -1;
  if (resume) {
    porta_pathf(j->run_dir, sizeof j->run_dir, "%s", options->resume_dir);
    struct stat sb;
    if (stat(j->run_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
      st = porta_train_fail(err, err_size, PORTA_ERR_NOT_FOUND, "--resume %s: no such run folder",
                            j->run_dir);
    // the lock comes before anything is read: a writer in the folder may be replacing it (rank 0
    // of a data-parallel job holds it for all ranks)
    if (st == PORTA_OK && j->is_root) st = porta_run_lock(&j->lock, j->run_dir, err, err_size);
    porta_pathf(path, sizeof path, "%s/settings.json", j->run_dir);
    if (st == PORTA_OK) st = porta_settings_load(&j->o, &j->strings, path, err, err_size);
  } else {
    if (!j->o.text_field) j->o.text_field = "headline";
    if (!j->o.label_field) j->o.label_field = "is_sarcastic";
    if (!j->o.model_dir || !j->o.data_path)
      st = porta_train_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                            "porta_train needs a model folder and a data file");
    if (j->o.out_dir && j->o.out_dir[0]) {
      porta_pathf(j->run_dir, sizeof j->run_dir, "%s", j->o.out_dir);
    } else {
      time_t t = time(NULL);
      struct tm tm;
      localtime_r(&t, &tm);
      strftime(j->run_dir, sizeof j->run_dir, "runs/%Y%m%d-%H%M%S", &tm);
    }
  }
  if (st == PORTA_OK && (j->o.epochs < 1 || j->o.batch_size < 1 || j->o.grad_accum < 1 ||
                         !(j->o.lr > 0) || j->o.log_every < 0))
    st = porta_train_fail(
        err, err_size, PORTA_ERR_INVALID_ARGUMENT,
        "epochs (%d), batch size (%d), grad accumulation (%d) and lr (%g) must be positive",
        j->o.epochs, j->o.batch_size, j->o.grad_accum, (double)j->o.lr);
  if (j->o.log_every <= 0) j->o.log_every = 50;
  porta_pathf(j->last_dir, sizeof j->last_dir, "%s/last", j->run_dir);
  porta_pathf(j->best_dir, sizeof j->best_dir, "%s/best", j->run_dir);
  porta_pathf(j->metrics.path, sizeof j->metrics.path, "%s/metrics.jsonl", j->run_dir);
  porta_pathf(result->run_dir, sizeof result->run_dir, "%s", j->run_dir);
  bool tty = isatty(STDERR_FILENO);
  j->show_bar = !j->o.quiet && (j->o.progress == 1 || (j->o.progress < 0 && tty));
  j->log_lines = !j->o.quiet && !j->show_bar;
  // one writer per run folder: rank 0 of a data-parallel job (the other ranks write nothing)
  if (st == PORTA_OK && !resume && j->is_root && !make_dirs(j->run_dir))
    st = porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot create the run folder %s: %s",
                          j->run_dir, strerror(errno));
  if (st == PORTA_OK && !resume && j->is_root)
    st = porta_run_lock(&j->lock, j->run_dir, err, err_size);
  if (st == PORTA_OK && j->lock.stale_pid > 0)
    say(j, "run: %s was locked by PID %ld, which is no longer running: taken over\n", j->run_dir,
        j->lock.stale_pid);
  if (st == PORTA_OK && !resume && j->is_root) {
    // a fresh run in a used folder: the old checkpoints must not pass for this run's
    const char *stale[] = {"best", "best.tmp", "best.old", "last", "last.tmp", "last.old"};
    for (int i = 0; i < 6 && st == PORTA_OK; i++) {
      porta_pathf(path, sizeof path, "%s/%s", j->run_dir, stale[i]);
      if (!porta_remove_tree(path))
        st = porta_train_fail(err, err_size, PORTA_ERR_IO,
                              "cannot remove the old checkpoint %s: %s", path, strerror(errno));
    }
  }
  char last_real[1200] = "";
  bool already_done = false;
  porta_train_state state = {.best_f1 = -1, .best_epoch = -1, .seed = j->o.seed};
  if (st == PORTA_OK && resume) {
    st = porta_checkpoint_resolve(last_real, sizeof last_real, j->last_dir, err, err_size);
    if (st == PORTA_OK) {
      porta_pathf(j->last_dir, sizeof j->last_dir, "%s", last_real);
      st = porta_train_state_load(&state, last_real, err, err_size);
      porta_pathf(j->last_dir, sizeof j->last_dir, "%s/last",
                  j->run_dir); // where new checkpoints go
    }
  }
  if (st == PORTA_OK) say(j, "run: %s%s\n", j->run_dir, resume ? " (resuming)" : "");
  if (st == PORTA_OK) st = prepare_data(j, resume, err, err_size);
  if (st == PORTA_OK) {
    // load weights from last/ (or the .old a crash left) when resuming
    if (resume) porta_pathf(j->last_dir, sizeof j->last_dir, "%s", last_real);
    st = prepare_model(j, resume, err, err_size);
    porta_pathf(j->last_dir, sizeof j->last_dir, "%s/last", j->run_dir);
  }
  // the schedule: steps per epoch from micro-batches and accumulation, capped by max_steps
  int64_t n_train = j->split.count[PORTA_SPLIT_TRAIN];
  int64_t micro_per_epoch = (n_train + j->o.batch_size - 1) / j->o.batch_size;
  int64_t steps_per_epoch = (micro_per_epoch + j->o.grad_accum - 1) / j->o.grad_accum;
  int64_t total = steps_per_epoch * j->o.epochs;
  if (j->o.max_steps > 0 && j->o.max_steps < total) total = j->o.max_steps;
  j->info.total_steps = total;
  j->info.warmup_steps =
      j->o.warmup < 1 ? (int64_t)llround(j->o.warmup * (double)total) : (int64_t)j->o.warmup;
  if (st == PORTA_OK && resume) {
    if (state.total_steps != total)
      st = porta_train_fail(err, err_size, PORTA_ERR_STATE,
                            "%s: the checkpoint's schedule has %lld steps, these settings %lld",
                            j->last_dir, (long long)state.total_steps, (long long)total);
    porta_schedule schedule = {total, j->o.epochs, steps_per_epoch, micro_per_epoch,
                               j->o.grad_accum};
    porta_pathf(path, sizeof path, "%s/trainer_state.json", last_real);
    if (st == PORTA_OK) st = porta_train_state_check(&state, &schedule, path, err, err_size);
    if (st == PORTA_OK)
      st = porta_optimizer_state_load(j->opt, j->params, j->param_count, last_real, &state, err,
                                      err_size);
    if (st == PORTA_OK) {
      porta_set_rng_stream(j->ctx, state.rng_stream);
      result->best_epoch = state.best_epoch;
      result->steps = state.step;
      // a finished run with its test record has nothing left to do (a crash before the test
      // evaluation leaves one to do)
      already_done = state.step == total && porta_metrics_has_test(j->metrics.path, state.step);
      if (already_done)
        say(j, "the run finished at step %lld of %lld; its test metrics are in %s\n",
            (long long)state.step, (long long)total, j->metrics.path);
      else
        say(j, "resuming at step %lld of %lld (epoch %lld, batch %lld)\n", (long long)state.step,
            (long long)total, (long long)state.epoch + 1, (long long)state.next_batch);
    }
  }
  state.total_steps = total;
  if (st == PORTA_OK) {
    j->info.num_labels = j->labels.count;
    j->info.rows = j->ds->count;
    j->info.skipped_rows = j->ds->skipped_count;
    for (int p = 0; p < 3; p++) j->info.split_rows[p] = j->split.count[p];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(j->info.started_at, sizeof j->info.started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    porta_pathf(path, sizeof path, "%s/settings.json", j->run_dir);
    if (!resume && j->is_root) st = porta_settings_save(path, &j->o, &j->info, err, err_size);
  }
  if (st == PORTA_OK && resume && j->is_root)
    st = porta_metrics_trim(j->metrics.path, state.step, err, err_size);
  // only rank 0 opens metrics.jsonl; the log's calls do nothing on a log that is not open
  if (st == PORTA_OK && j->is_root) st = porta_metrics_log_open(&j->metrics, resume, err, err_size);
  if (st == PORTA_OK && !already_done) {
    say(j,
        "training: %lld steps (%lld a epoch, batch %d x %d accumulated), lr %g, warmup %lld "
        "steps\n",
        (long long)total, (long long)steps_per_epoch, j->o.batch_size, j->o.grad_accum,
        (double)j->o.lr, (long long)j->info.warmup_steps);
    st = run_loop(j, &state, result, err, err_size);
    /* with --profile or PORTA_PROFILE=1: where the device time went */
    char *report = malloc(16384);
    if (report && porta_profile_report(j->ctx, report, 16384) == PORTA_OK)
      say(j, "\nprofile:\n%s\n", report);
    free(report);
  }
  if (st == PORTA_OK && !result->interrupted && !already_done) {
    st = final_test(j, result, err, err_size);
    if (st == PORTA_OK && !j->o.quiet) {
      fprintf(stderr, "\nresults (%s)\n", j->run_dir);
      if (result->best_epoch >= 0 && result->best_valid.count > 0) { // evaluated in this call
        char title[64];
        snprintf(title, sizeof title, "valid (best, epoch %lld)",
                 (long long)result->best_epoch + 1);
        print_metrics_table(j, title, &result->best_valid);
      }
      if (result->has_test) {
        print_metrics_table(j, "test (best checkpoint)", &result->test);
        print_confusion(j, &result->test);
      }
    }
  }
  if (st == PORTA_OK && !already_done) st = log_memory(j, result->steps, err, err_size);
  // the log's last lines reach the disk, or the run says why not
  char close_err[1400];
  porta_status closed = porta_metrics_log_close(&j->metrics, close_err, sizeof close_err);
  if (st == PORTA_OK && closed != PORTA_OK)
    st = porta_train_fail(err, err_size, closed, "%s", close_err);
  result->seconds = now_seconds() - started;
  if (st == PORTA_OK) say(j, "done in %.1f s: %s\n", result->seconds, j->run_dir);
  job_free(j);
  free(j);
  return st;
}
