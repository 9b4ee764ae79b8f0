/* The training loop end to end on a tiny random BERT (tests/data/train/tiny_bert) and a synthetic
 * separable data set (one sentiment word decides the label): on every backend the loss falls and
 * test accuracy beats the majority class; on the CPU the same run twice gives identical losses, a
 * run stopped after N steps and resumed gives the uninterrupted run's losses, and a checkpoint
 * left half-written by a killed writer does not break loading the previous one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/check.h"
#include "porta/porta.h"

static check_counter checks;

enum { MAX_STEPS = 512 };
typedef struct loss_log {
  int count;
  float loss[MAX_STEPS];
  int64_t step[MAX_STEPS];
} loss_log;

static void on_step(void *user, const porta_step_record *r) {
  loss_log *log = user;
  if (log->count < MAX_STEPS) {
    log->loss[log->count] = r->loss;
    log->step[log->count] = r->step;
    log->count++;
  }
}

static char work[1024], data_path[1100], model_dir[1100];

static void write_synthetic(void) {
  const char *pos[4] = {"good", "great", "happy", "fun"}, *neg[4] = {"bad", "sad", "awful", "dull"};
  const char *fill[12] = {"the",  "a",  "movie", "day",  "was",  "is",
                          "very", "so", "this",  "book", "song", "today"};
  porta_rng rng;
  porta_rng_seed(&rng, 2024);
  FILE *f = fopen(data_path, "wb");
  if (!f) {
    printf("cannot write %s\n", data_path);
    exit(1);
  }
  for (int i = 0; i < 512; i++) {
    int label = (int)porta_rng_below(&rng, 100) < 60 ? 0 : 1; // 60 / 40: a majority class to beat
    int words = 2 + (int)porta_rng_below(&rng, 6),
        at = (int)porta_rng_below(&rng, (uint64_t)words + 1);
    fprintf(f, "{\"headline\": \"");
    for (int w = 0; w <= words; w++) {
      const char *word =
          w == at ? (label ? pos : neg)[porta_rng_below(&rng, 4)] : fill[porta_rng_below(&rng, 12)];
      fprintf(f, "%s%s", w ? " " : "", word);
    }
    fprintf(f, "\", \"is_sarcastic\": %d}\r\n", label);
  }
  fclose(f);
}

static void base_options(porta_train_options *o, porta_backend_kind backend, const char *out,
                         loss_log *log) {
  porta_train_options_init(o);
  o->model_dir = model_dir;
  o->data_path = data_path;
  o->out_dir = out;
  o->backend = backend;
  o->epochs = 2;
  o->batch_size = 16;
  o->lr = 5e-3f;
  o->num_threads = 1; // a tiny model: OpenMP threads only cost time, more so on a busy machine
  o->warmup = 0.1;
  o->quiet = true;
  o->on_step = on_step;
  o->user = log;
}

static void run_dir(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", work, name);
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
  if (system(cmd) != 0) exit(1);
}

static double mean(const float *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return n ? s / n : 0;
}

/* Trains on one backend; returns false when the backend has no device here. */
static bool train_on(porta_backend_kind backend, loss_log *log, porta_train_result *result) {
  char out[1200], err[2048] = "";
  char name[64];
  snprintf(name, sizeof name, "run-%s", porta_backend_name(backend));
  run_dir(out, sizeof out, name);
  porta_train_options o;
  base_options(&o, backend, out, log);
  memset(log, 0, sizeof *log);
  porta_status st = porta_train(result, &o, err, sizeof err);
  if (st == PORTA_ERR_NO_DEVICE) {
    printf("%s: no device (%s): skipped\n", porta_backend_name(backend), err);
    return false;
  }
  CHECK(&checks, st == PORTA_OK, "%s: porta_train failed: %s (%s)", porta_backend_name(backend),
        err, porta_status_string(st));
  if (st != PORTA_OK) return false;
  int n = log->count, k = n >= 10 ? 5 : 1;
  double first = mean(log->loss, k), last = mean(log->loss + n - k, k);
  // majority share of the test rows, from the confusion matrix
  const porta_metrics *t = &result->test;
  int64_t neg = t->confusion[0] + t->confusion[1], posi = t->confusion[2] + t->confusion[3];
  double majority = (double)(neg > posi ? neg : posi) / (double)(neg + posi ? neg + posi : 1);
  printf("%-7s %lld steps, loss %.4f -> %.4f (mean of %d), valid F1 %.3f (epoch %lld), test "
         "accuracy %.3f vs majority "
         "%.3f, %.2f s\n",
         porta_backend_name(backend), (long long)result->steps, first, last, k,
         result->best_valid.f1, (long long)result->best_epoch + 1, t->accuracy, majority,
         result->seconds);
  CHECK(&checks, n >= 40, "%s: only %d steps", porta_backend_name(backend), n);
  CHECK(&checks, last < first - 0.1, "%s: the loss did not fall (%.4f -> %.4f)",
        porta_backend_name(backend), first, last);
  CHECK(&checks, result->has_test && t->accuracy > majority + 0.1,
        "%s: test accuracy %.3f does not beat the majority class %.3f", porta_backend_name(backend),
        t->accuracy, majority);
  return true;
}

/* A copy of the interrupted run whose labels.json lists a third label: resuming used to start a
 * new classifier silently (last/'s has 2 rows); now it is refused with both counts. */
static void test_resume_other_labels(const char *run) {
  char copy[1300], cmd[8192], err[2048] = "";
  snprintf(copy, sizeof copy, "%s-labels", run);
  snprintf(cmd, sizeof cmd,
           "rm -rf '%s' && cp -r '%s' '%s' && printf '%%s' '{\"id2label\": {\"0\": \"0\", "
           "\"1\": \"1\", \"2\": \"2\"}}' > '%s/labels.json'",
           copy, run, copy, copy);
  if (system(cmd) != 0) exit(1);
  loss_log log = {0};
  porta_train_options o;
  porta_train_result r;
  base_options(&o, PORTA_BACKEND_CPU, NULL, &log);
  o.resume_dir = copy;
  porta_status st = porta_train(&r, &o, err, sizeof err);
  printf("resume with a 3-label labels.json -> %s: %s\n", porta_status_string(st), err);
  CHECK(&checks,
        st == PORTA_ERR_SHAPE && strstr(err, "lists 3 labels") && strstr(err, "has 2 rows") &&
            log.count == 0,
        "resuming with labels.json of 3 labels for a 2-row classifier: %s, %d steps",
        porta_status_string(st), log.count);
}

static void test_resume(const loss_log *full) {
  char out[1200], err[2048] = "";
  run_dir(out, sizeof out, "run-resume");
  loss_log first = {0}, second = {0};
  porta_train_options o;
  porta_train_result r;
  base_options(&o, PORTA_BACKEND_CPU, out, &first);
  o.save_every = 10;
  o.stop_after = 25; // "killed" at step 25: last/ holds step 20
  porta_status st = porta_train(&r, &o, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && r.interrupted && r.steps == 25,
        "interrupted run: %s, steps %lld", err, (long long)r.steps);
  test_resume_other_labels(out);
  base_options(&o, PORTA_BACKEND_CPU, NULL, &second);
  o.resume_dir = out;
  st = porta_train(&r, &o, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && !r.interrupted, "resumed run: %s", err);
  CHECK(&checks, second.count > 0 && second.step[0] == 21,
        "the resumed run starts at step %lld, expected 21",
        second.count ? (long long)second.step[0] : -1LL);
  // steps 1..20 from the first call, 21.. from the second: the uninterrupted run's losses exactly
  int mismatches = 0, compared = 0;
  for (int i = 0; i < full->count; i++) {
    int64_t step = full->step[i];
    float got = NAN;
    if (step <= 20 && step - 1 < first.count) got = first.loss[step - 1];
    if (step > 20 && step - 21 < second.count) got = second.loss[step - 21];
    compared++;
    if (got != full->loss[i]) {
      if (mismatches < 5)
        printf("  step %lld: resumed %.9g, uninterrupted %.9g\n", (long long)step, got,
               full->loss[i]);
      mismatches++;
    }
  }
  printf("resume: %d steps compared with the uninterrupted run, %d differ\n", compared, mismatches);
  CHECK(&checks,
        mismatches == 0 && compared == full->count && first.count + second.count - 5 == full->count,
        "resumed losses differ from the uninterrupted run");
  // metrics.jsonl reads as one run: every step once
  char path[1300];
  snprintf(path, sizeof path, "%s/metrics.jsonl", out);
  FILE *f = fopen(path, "rb");
  int steps_logged = 0;
  char line[4096];
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "{\"step\"", 7) == 0) steps_logged++;
  if (f) fclose(f);
  CHECK(&checks, steps_logged == full->count, "metrics.jsonl has %d step records, expected %d",
        steps_logged, full->count);
}

static void test_killed_writer(void) {
  // the CPU run's best/ is a complete checkpoint; a killed writer leaves best.tmp half-written
  char best[1300], tmp[1400], old[1400], real[1400], err[2048] = "", cmd[8192];
  snprintf(best, sizeof best, "%s/run-cpu/best", work);
  snprintf(tmp, sizeof tmp, "%s.tmp", best);
  snprintf(old, sizeof old, "%s.old", best);
  snprintf(
      cmd, sizeof cmd,
      "mkdir -p '%s' && printf 'garbage' > '%s/model.safetensors' && echo '{' > '%s/config.json'",
      tmp, tmp, tmp);
  if (system(cmd) != 0) exit(1);
  porta_context *ctx;
  porta_context_options co;
  porta_context_options_init(&co);
  co.backend = PORTA_BACKEND_CPU;
  if (porta_context_create(&ctx, &co, err, sizeof err) != PORTA_OK) {
    CHECK(&checks, false, "cpu context: %s", err);
    return;
  }
  porta_model *model;
  porta_head *head;
  porta_label_map labels;
  porta_status st = porta_checkpoint_load(&model, &head, &labels, ctx, best, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "loading %s beside a stray .tmp: %s", best, err);
  if (st == PORTA_OK) {
    CHECK(&checks, porta_head_num_labels(head) == 2 && labels.count == 2, "labels %d",
          labels.count);
    // a new save over it clears the stray .tmp
    st = porta_checkpoint_save(best, model, head, &labels, NULL, NULL, 0, NULL, err, sizeof err);
    struct stat sb;
    CHECK(&checks, st == PORTA_OK && stat(tmp, &sb) != 0, "saving over a stray .tmp: %s", err);
    porta_label_map_free(&labels);
    porta_head_free(head);
    porta_model_free(model);
  }
  // killed between the two renames: only best.old exists, and it is what loads
  snprintf(cmd, sizeof cmd, "mv '%s' '%s'", best, old);
  if (system(cmd) != 0) exit(1);
  st = porta_checkpoint_resolve(real, sizeof real, best, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && strcmp(real, old) == 0,
        "resolve after a crash between renames: %s", st ? err : real);
  st = porta_checkpoint_load(&model, &head, &labels, ctx, best, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "loading %s from its .old: %s", best, err);
  if (st == PORTA_OK) {
    porta_label_map_free(&labels);
    porta_head_free(head);
    porta_model_free(model);
  }
  printf("killed writer: a stray .tmp and a lone .old both leave a loadable checkpoint\n");
  porta_context_destroy(ctx);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); // lines reach the log even if a sanitizer ends the process
  snprintf(work, sizeof work, "%s/test_train_tiny", PORTA_BINARY_DIR);
  snprintf(data_path, sizeof data_path, "%s/synthetic.jsonl", work);
  snprintf(model_dir, sizeof model_dir, "%s/train/tiny_bert", PORTA_TEST_DATA);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", work);
  if (system(cmd) != 0) return 1;
  write_synthetic();

  static loss_log cpu, again, other;
  porta_train_result result;
  bool have_cpu = train_on(PORTA_BACKEND_CPU, &cpu, &result);
  if (have_cpu) {
    train_on(PORTA_BACKEND_CPU, &again, &result);
    bool same = again.count == cpu.count &&
                memcmp(again.loss, cpu.loss, sizeof(float) * (size_t)cpu.count) == 0;
    printf("cpu twice: %d steps, %s\n", cpu.count, same ? "identical losses" : "DIFFERENT losses");
    CHECK(&checks, same, "the same run twice on the CPU gave different losses");
    test_resume(&cpu);
    test_killed_writer();
  }
  porta_backend_kind gpus[2] = {PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int i = 0; i < 2; i++) {
    if (!porta_backend_compiled(gpus[i])) {
      printf("%s: not built: skipped\n", porta_backend_name(gpus[i]));
      continue;
    }
    if (train_on(gpus[i], &other, &result) && have_cpu) {
      // same data order and dropout masks: the first loss agrees with the CPU's to rounding
      printf("%s first loss %.6f, cpu %.6f\n", porta_backend_name(gpus[i]), other.loss[0],
             cpu.loss[0]);
      CHECK(&checks, fabsf(other.loss[0] - cpu.loss[0]) < 1e-3f,
            "%s first loss differs from the CPU's", porta_backend_name(gpus[i]));
    }
  }
  return check_finish(&checks);
}
