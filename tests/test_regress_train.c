/* Regression cases from hardening (tests/fuzz/fuzz_run_files.c, fuzz_data.c): hostile run-folder
 * files and data files must load cleanly or fail with a message, never give values that wrapped.
 *   - split.json / trainer_state.json / settings.json with numbers past int64 (1e300): the loaders
 *     converted them with a plain (int64_t) cast, which is undefined behaviour (clang UBSan:
 *     "1e+300 is outside the range of representable values of type 'long'") and on x86 gives
 *     INT64_MIN: a row id of -9223372036854775808.
 *   - porta_classify_rows with metrics on a head of more than PORTA_MAX_CLASSES labels (a
 *     checkpoint may have any number): `porta eval` said only " (PORTA_ERR_INVALID_ARGUMENT)",
 *     with an empty message.
 *   - data files: the shapes the fuzzer reached (CRLF, a lone CR, quotes, a BOM, NUL bytes,
 *     labels past PORTA_MAX_CLASSES) give the documented counts and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/check.h"
#include "porta/porta.h"
#include "train/train_internal.h"

static check_counter checks;

static char dir[256];

static const char *write_file(const char *name, const char *data, size_t n) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
    printf("cannot write %s\n", path);
    exit(1);
  }
  return path;
}
#define WRITE(name, literal) write_file(name, literal, sizeof(literal) - 1)

/* split.json: row ids must be distinct non-negative integers; anything else is refused rather
 * than loaded as a wrapped, truncated or zero id. */
static void test_split_numbers(void) {
  static const char *const cases[] = {
      "{\"seed\":\"1\",\"train\":[1e300],\"valid\":[],\"test\":[]}",
      "{\"seed\":\"1\",\"train\":[-1e300],\"valid\":[],\"test\":[]}",
      "{\"seed\":\"1\",\"train\":[0,-3],\"valid\":[],\"test\":[]}",
      "{\"seed\":\"1\",\"train\":[0],\"valid\":[1.5],\"test\":[]}",
      "{\"seed\":\"1\",\"train\":[0,\"7\",null,{}],\"valid\":[],\"test\":[]}",
      "{\"seed\":\"1\",\"train\":[0,1],\"valid\":[1],\"test\":[]}",
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *path = write_file("split.json", cases[k], strlen(cases[k]));
    porta_split split;
    char err[512] = "";
    porta_status st = porta_split_load(&split, path, err, sizeof err);
    printf("split case %zu: %s -> status %d %s\n", k, cases[k], (int)st, err);
    CHECK(&checks, st == PORTA_ERR_FORMAT, "split case %zu: status %d, expected PORTA_ERR_FORMAT",
          k, (int)st);
    if (st != PORTA_OK) continue;
    for (int p = 0; p < 3; p++)
      for (int64_t i = 0; i < split.count[p]; i++)
        printf("  loaded %s row %lld\n", porta_split_name(p), (long long)split.rows[p][i]);
    porta_split_free(&split);
  }
}

/* trainer_state.json: counters past int64 must not wrap to negative values. */
static void test_state_numbers(void) {
  WRITE("trainer_state.json",
        "{\"step\":1e300,\"epoch\":-1e300,\"next_batch\":1e19,\"total_steps\":5,\"best_epoch\":-1,"
        "\"seed\":\"1\",\"rng_stream\":\"2\",\"best_f1\":0.5,\"last_loss\":0.7}");
  porta_train_state state;
  char err[512] = "";
  porta_status st = porta_train_state_load(&state, dir, err, sizeof err);
  if (st != PORTA_OK) {
    printf("trainer_state: refused: %s\n", err);
    CHECK(&checks, st == PORTA_ERR_FORMAT, "trainer_state: status %d, expected PORTA_ERR_FORMAT",
          (int)st);
    return;
  }
  printf("trainer_state: step %lld epoch %lld next_batch %lld\n", (long long)state.step,
         (long long)state.epoch, (long long)state.next_batch);
  CHECK(&checks, state.step >= 0 && state.epoch >= 0 && state.next_batch >= 0,
        "trainer_state with 1e300 / -1e300 / 1e19 loaded as step %lld epoch %lld next_batch %lld",
        (long long)state.step, (long long)state.epoch, (long long)state.next_batch);
}

/* settings.json: 1e300 must not become a negative epoch count or row limit. */
static void test_settings_numbers(void) {
  const char *path =
      WRITE("settings.json",
            "{\"model\":\"m\",\"data\":\"d.jsonl\",\"epochs\":1e300,\"limit_rows\":1e300,"
            "\"batch_size\":1e300,\"max_length\":1e300}");
  porta_train_options o;
  porta_settings_strings strings;
  porta_train_options_init(&o);
  char err[512] = "";
  porta_status st = porta_settings_load(&o, &strings, path, err, sizeof err);
  if (st != PORTA_OK) {
    printf("settings: refused: %s\n", err);
    CHECK(&checks, st == PORTA_ERR_FORMAT, "settings: status %d, expected PORTA_ERR_FORMAT",
          (int)st);
    return;
  }
  printf("settings: epochs %d batch_size %d max_length %d limit_rows %lld\n", o.epochs,
         o.batch_size, o.max_length, (long long)o.limit_rows);
  CHECK(&checks, o.epochs >= 0 && o.batch_size >= 0 && o.max_length >= 0 && o.limit_rows >= 0,
        "settings with 1e300 loaded as epochs %d batch_size %d max_length %d limit_rows %lld",
        o.epochs, o.batch_size, o.max_length, (long long)o.limit_rows);
}

/* Data files: the corners the fuzzer explored, with the counts they must give. */
static void test_data_corners(void) {
#define C(name, literal, status, rows, skipped)                                                    \
  { name, literal, sizeof(literal) - 1, status, rows, skipped }
  struct {
    const char *name;
    const char *bytes;
    size_t size;
    porta_status status;
    int64_t rows, skipped;
  } cases[] = {
      // a lone CR inside an unquoted CSV field is data, CR LF ends the record
      C("lone_cr.csv", "headline,is_sarcastic\r\na\rb,1\r\nc,0", PORTA_OK, 2, 0),
      // a NUL byte inside a text (a binary or corrupt file) skips that row, rather than loading
      // the text cut short at the NUL
      C("nul.csv", "headline,is_sarcastic\nab\0cd,1\nok,0\n", PORTA_OK, 1, 1),
      // a raw NUL inside a JSON line: that row is skipped
      C("nul.jsonl",
        "{\"headline\":\"a\0b\",\"is_sarcastic\":1}\n{\"headline\":\"ok\",\"is_sarcastic\":0}\n",
        PORTA_OK, 1, 1),
      // "\u0000" decodes to an empty text: skipped, not a crash
      C("u0000.jsonl",
        "{\"headline\":\"\\u0000\",\"is_sarcastic\":1}\n{\"headline\":\"x\",\"is_sarcastic\":1}\n",
        PORTA_OK, 1, 1),
      // an unterminated quote would swallow the rest of the file: refused, naming the line
      C("open_quote.csv", "headline,is_sarcastic\n\"never closed,1\nb,0\n", PORTA_ERR_FORMAT, 0, 1),
      // a stray quote closed lines later by a quote that text follows: the rows between would
      // have become one text (issue 16); refused rather than loaded as 2 rows
      C("closed_late.csv", "headline,is_sarcastic\n\"stray,1\nb,0\nc,1\n\"d\" e,0\nf,1\n",
        PORTA_ERR_FORMAT, 0, 0),
      C("text_after_quote.csv", "headline,is_sarcastic\n\"a\"b,1\nc,0\n", PORTA_ERR_FORMAT, 0, 0),
      // what RFC 4180 allows stays: quotes doubled inside, line ends inside, a quote inside an
      // unquoted field
      C("rfc_quotes.csv", "headline,is_sarcastic\n\"a \"\"b\"\"\nc\",1\nsay \"hi\",0\n", PORTA_OK,
        2, 0),
      // only a header, only a BOM, nothing at all
      C("header_only.csv", "headline,is_sarcastic\r\n", PORTA_ERR_FORMAT, 0, 0),
      C("bom_only.jsonl", "\xEF\xBB\xBF", PORTA_ERR_FORMAT, 0, 0),
      C("empty.csv", "", PORTA_ERR_FORMAT, 0, 0),
      // integer label 64 means 65 classes: past PORTA_MAX_CLASSES, a clear limit error
      C("many_classes.jsonl", "{\"headline\":\"a\",\"is_sarcastic\":64}\n", PORTA_ERR_LIMIT, 0, 0),
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *path = write_file(cases[k].name, cases[k].bytes, cases[k].size);
    porta_dataset *ds = NULL;
    char err[1024] = "";
    porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
    printf("%-20s status %d rows %lld skipped %lld %s\n", cases[k].name, (int)st,
           ds ? (long long)ds->count : 0LL, ds ? (long long)ds->skipped_count : 0LL, st ? err : "");
    CHECK(&checks, st == cases[k].status, "%s: status %d, expected %d (%s)", cases[k].name, (int)st,
          (int)cases[k].status, err);
    if (st != PORTA_OK) {
      CHECK(&checks, ds == NULL, "%s: a failed load left a data set", cases[k].name);
      CHECK(&checks, strstr(err, cases[k].name) != NULL,
            "%s: the message does not name the file: %s", cases[k].name, err);
      continue;
    }
    CHECK(&checks, ds->count == cases[k].rows && ds->skipped_count == cases[k].skipped,
          "%s: %lld rows %lld skipped, expected %lld and %lld", cases[k].name, (long long)ds->count,
          (long long)ds->skipped_count, (long long)cases[k].rows, (long long)cases[k].skipped);
    for (int64_t i = 0; i < ds->count; i++)
      CHECK(&checks,
            ds->texts[i][0] != '\0' && porta_utf8_valid(ds->texts[i], strlen(ds->texts[i])),
            "%s: row %lld text is empty or not UTF-8", cases[k].name, (long long)i);
    porta_dataset_free(ds);
  }
}

/* ds->label_note: a label unlike the rest of its column is reported, naming its line; a
 * column of two common labels is not. */
static void test_label_note(void) {
  char *text = malloc(64 * 1024);
  size_t used = 0;
  for (int i = 0; i < 400; i++)
    used += (size_t)snprintf(text + used, 64 * 1024 - used,
                             "{\"headline\": \"row %d\", \"is_sarcastic\": %d}\n", i,
                             i == 123 ? 2 : i % 2);
  const char *path = write_file("rare.jsonl", text, used);
  porta_dataset *ds = NULL;
  char err[512] = "";
  porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  printf("rare label: %s\n", ds ? ds->label_note : err);
  CHECK(&checks, st == PORTA_OK && strstr(ds->label_note, "label \"2\" on 1 row (line 124)"),
        "a label on 1 row of 400 is not reported: '%s'", ds ? ds->label_note : err);
  porta_dataset_free(ds);
  used = (size_t)snprintf(text, 64 * 1024, "headline,is_sarcastic\n");
  for (int i = 0; i < 400; i++)
    used += (size_t)snprintf(text + used, 64 * 1024 - used, "row %d,%s\n", i, i % 2 ? "yes" : "no");
  path = write_file("even.csv", text, used);
  st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && ds->label_note[0] == '\0', "two even labels reported: '%s'",
        ds ? ds->label_note : err);
  porta_dataset_free(ds);
  free(text);
}

/* The run folder's lock works within one process too (flock, not fcntl: a library may run two
 * trainings in one program); a second lock names the holder's PID; unlocking frees it. */
static void test_run_lock(void) {
  porta_run_lock_info a, b;
  char err[1024] = "";
  porta_status st = porta_run_lock(&a, dir, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "first lock: %s", err);
  st = porta_run_lock(&b, dir, err, sizeof err);
  char pid[32];
  snprintf(pid, sizeof pid, "PID %ld", (long)getpid());
  printf("second lock: %s\n", err);
  CHECK(&checks, st == PORTA_ERR_STATE && strstr(err, pid) && b.fd < 0,
        "a second lock in one process: status %d: %s", (int)st, err);
  porta_run_unlock(&a);
  st = porta_run_lock(&b, dir, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && b.stale_pid == 0, "lock after unlock: %s", err);
  porta_run_unlock(&b);
}

/* trainer_state.json against the schedule: what a run writes fits, hand edits do not. */
static void test_state_check(void) {
  porta_schedule plan = {.total_steps = 26,
                         .epochs = 2,
                         .steps_per_epoch = 13,
                         .batches_per_epoch = 13,
                         .grad_accum = 1};
  struct {
    int64_t step, epoch, next_batch, best_epoch;
    bool fits;
  } cases[] = {
      {0, 0, 0, -1, true},       {5, 0, 5, -1, true},  {13, 1, 0, 0, true},  {26, 2, 0, 1, true},
      {5, 0, 100000, -1, false}, {5, 0, 4, -1, false}, {27, 2, 0, 1, false}, {13, 1, 0, 1, false},
      {5, 3, 5, -1, false},      {26, 2, 3, 1, false},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    porta_train_state s = {.step = cases[k].step,
                           .epoch = cases[k].epoch,
                           .next_batch = cases[k].next_batch,
                           .total_steps = 26,
                           .best_epoch = cases[k].best_epoch};
    char err[512] = "";
    porta_status st = porta_train_state_check(&s, &plan, "trainer_state.json", err, sizeof err);
    CHECK(&checks, (st == PORTA_OK) == cases[k].fits,
          "state case %zu (step %lld epoch %lld next_batch %lld best %lld): %s", k,
          (long long)cases[k].step, (long long)cases[k].epoch, (long long)cases[k].next_batch,
          (long long)cases[k].best_epoch, st ? err : "accepted");
  }
  // with accumulation: 13 batches, 4 a step -> 4 steps an epoch; batch 8 is step 2
  plan = (porta_schedule){.total_steps = 8,
                          .epochs = 2,
                          .steps_per_epoch = 4,
                          .batches_per_epoch = 13,
                          .grad_accum = 4};
  porta_train_state s = {.step = 6, .epoch = 1, .next_batch = 8, .best_epoch = 0};
  CHECK(&checks, porta_train_state_check(&s, &plan, "t", NULL, 0) == PORTA_OK,
        "accumulated state refused");
}

/* A head of 100 labels: prediction works; metrics (at most PORTA_MAX_CLASSES classes) must fail
 * with a message that says why. */
static void test_many_labels(void) {
  porta_context_options copts;
  porta_context_options_init(&copts);
  copts.backend = PORTA_BACKEND_CPU;
  porta_context *ctx = NULL;
  porta_model *model = NULL;
  porta_head *head = NULL;
  char err[1024] = "";
  if (porta_context_create(&ctx, &copts, err, sizeof err) != PORTA_OK) {
    CHECK(&checks, 0, "cpu context: %s", err);
    return;
  }
  const char *dir_path = PORTA_TEST_DATA "/train/tiny_bert";
  porta_status st = porta_model_load(&model, ctx, dir_path);
  CHECK(&checks, st == PORTA_OK, "load %s: %s", dir_path, porta_last_error(ctx));
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.num_labels = 100;
  if (st == PORTA_OK) {
    st = porta_head_create(&head, model, &ho);
    CHECK(&checks, st == PORTA_OK, "head with 100 labels: %s", porta_last_error(ctx));
  }
  if (st == PORTA_OK) {
    // two rows: [CLS] good movie [SEP] and [CLS] good [SEP] (tiny vocabulary ids)
    int32_t ids[7] = {2, 5, 15, 3, 2, 5, 3}, lengths[2] = {4, 3}, labels[2] = {5, 70};
    int64_t offsets[3] = {0, 4, 7};
    porta_encoded_rows enc = {.count = 2,
                              .ids = ids,
                              .offsets = offsets,
                              .lengths = lengths,
                              .labels = labels,
                              .pad_id = 0,
                              .max_length = 8};
    int32_t predictions[2] = {-1, -1};
    st = porta_classify_rows(NULL, predictions, NULL, NULL, model, head, &enc, NULL, 2, 2);
    CHECK(&checks,
          st == PORTA_OK && predictions[0] >= 0 && predictions[0] < 100 && predictions[1] >= 0 &&
              predictions[1] < 100,
          "predictions with 100 labels: status %d, %d %d: %s", (int)st, predictions[0],
          predictions[1], porta_last_error(ctx));
    porta_metrics *metrics = calloc(1, sizeof *metrics);
    st = porta_classify_rows(NULL, NULL, metrics, NULL, model, head, &enc, NULL, 2, 2);
    const char *msg = porta_last_error(ctx);
    printf("metrics with 100 labels: status %d: %s\n", (int)st, msg);
    CHECK(&checks, st != PORTA_OK, "metrics over 100 classes succeeded (at most %d fit)",
          PORTA_MAX_CLASSES);
    CHECK(&checks, st == PORTA_OK || (msg[0] != '\0' && strstr(msg, "100") != NULL),
          "the error does not say how many labels the head has: \"%s\"", msg);
    free(metrics);
  }
  porta_head_free(head);
  porta_model_free(model);
  porta_context_destroy(ctx);
}

/* Data files: a row longer than PORTA_MAX_ROW_BYTES (1 MiB) is skipped and listed with its line
 * number, one of exactly 1 MiB is read; a file over PORTA_MAX_FILE_BYTES (2 GiB; a sparse file
 * here) is refused with PORTA_ERR_LIMIT before anything is read. */
static void test_data_limits(void) {
  size_t max = PORTA_MAX_ROW_BYTES;
  const char *formats[2] = {"long.jsonl", "long.csv"};
  for (int csv = 0; csv < 2; csv++) {
    // line 1 (CSV: 2) is a good row, then rows of exactly max bytes and of max + 1, then a good row
    size_t cap = 3 * max + 256, n = 0;
    char *buf = malloc(cap);
    if (!buf) exit(1);
    if (csv) n += (size_t)snprintf(buf + n, cap - n, "headline,is_sarcastic\n");
    n += (size_t)snprintf(buf + n, cap - n,
                          csv ? "ok,1\n" : "{\"headline\":\"ok\",\"is_sarcastic\":1}\n");
    for (size_t len = max; len <= max + 1; len++) {
      const char *head = csv ? "" : "{\"headline\":\"",
                 *tail = csv ? ",0" : "\",\"is_sarcastic\":0}";
      size_t fill = len - strlen(head) - strlen(tail);
      n += (size_t)snprintf(buf + n, cap - n, "%s", head);
      memset(buf + n, 'x', fill);
      n += fill;
      n += (size_t)snprintf(buf + n, cap - n, "%s\n", tail);
    }
    n += (size_t)snprintf(buf + n, cap - n,
                          csv ? "last,1\n" : "{\"headline\":\"last\",\"is_sarcastic\":1}\n");
    const char *path = write_file(formats[csv], buf, n);
    free(buf);
    porta_dataset *ds = NULL;
    char err[1024] = "", summary[512] = "";
    porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
    if (ds) porta_dataset_skip_summary(ds, 5, summary, sizeof summary);
    printf("%-20s status %d rows %lld: %s\n", formats[csv], (int)st,
           ds ? (long long)ds->count : 0LL, st ? err : summary);
    int64_t long_line = csv ? 4 : 3;
    CHECK(&checks,
          st == PORTA_OK && ds->count == 3 && ds->skipped_count == 1 &&
              ds->skipped[0].line == long_line && strstr(ds->skipped[0].reason, "1 MiB"),
          "%s: %s; %s (expected 3 rows and line %lld skipped)", formats[csv], err, summary,
          (long long)long_line);
    porta_dataset_free(ds);
  }

  char path[512];
  snprintf(path, sizeof path, "%s/huge.jsonl", dir);
  FILE *f = fopen(path, "wb");
  bool made = f && ftruncate(fileno(f), (off_t)PORTA_MAX_FILE_BYTES + 1) == 0;
  if (f) fclose(f);
  if (!made) {
    printf("note: cannot make a sparse file of 2 GiB here: file limit not tested\n");
    return;
  }
  porta_dataset *ds = NULL;
  char err[1024] = "";
  porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  printf("huge.jsonl (2 GiB + 1 byte, sparse) status %d: %s\n", (int)st, err);
  CHECK(&checks, st == PORTA_ERR_LIMIT && !ds && strstr(err, "huge.jsonl") && strstr(err, "2 GiB"),
        "a data file over 2 GiB: status %d: %s", (int)st, err);
  porta_dataset_free(ds);
  unlink(path);
}

/* A checkpoint's labels.json must fit its classifier: one that lists another number of labels (or
 * does not parse) used to be skipped silently for config.json's names or "0".."N-1"; now it is
 * refused with both counts. The classifier of tests/data/bert/tiny_bert has 3 rows. */
static void test_checkpoint_labels(void) {
  char ckpt[512], cmd[2048], err[1024] = "";
  snprintf(ckpt, sizeof ckpt, "%s/ckpt", dir);
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s' && cp '%s/bert/tiny_bert/config.json' '%s/' && ln -sf "
           "'%s/bert/tiny_bert/model.safetensors' '%s/'",
           ckpt, PORTA_TEST_DATA, ckpt, PORTA_TEST_DATA, ckpt);
  if (system(cmd) != 0) {
    CHECK(&checks, 0, "cannot make %s", ckpt);
    return;
  }
  porta_context_options copts;
  porta_context_options_init(&copts);
  copts.backend = PORTA_BACKEND_CPU;
  porta_context *ctx = NULL;
  if (porta_context_create(&ctx, &copts, err, sizeof err) != PORTA_OK) {
    CHECK(&checks, 0, "cpu context: %s", err);
    return;
  }
  static const struct {
    const char *json; /* NULL: no labels.json */
    porta_status want;
    const char *needle; /* in the message, or the first label's name on success */
  } cases[] = {
      {NULL, PORTA_OK, NULL},
      {"{\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}", PORTA_OK, "a"},
      {"{\"id2label\": {\"0\": \"a\", \"1\": \"b\"}}", PORTA_ERR_SHAPE, "lists 2 labels"},
      {"{\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\", \"3\": \"d\"}}", PORTA_ERR_SHAPE,
       "has 3 rows"},
      {"{\"id2label\": [", PORTA_ERR_FORMAT, "labels.json"},
  };
  char path[600];
  snprintf(path, sizeof path, "%s/labels.json", ckpt);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    unlink(path);
    if (cases[k].json) write_file("ckpt/labels.json", cases[k].json, strlen(cases[k].json));
    porta_model *model = NULL;
    porta_head *head = NULL;
    porta_label_map labels;
    err[0] = '\0';
    porta_status st = porta_checkpoint_load(&model, &head, &labels, ctx, ckpt, err, sizeof err);
    const char *needle = cases[k].needle;
    bool ok = st == cases[k].want &&
              (st == PORTA_OK ? labels.count == 3 && (!needle || !strcmp(labels.names[0], needle))
                              : !model && !head && strstr(err, needle) != NULL);
    printf("checkpoint labels.json case %zu -> %s: %s\n", k, porta_status_string(st),
           st ? err : "loaded");
    CHECK(&checks, ok, "case %zu: status %s, want %s: %s", k, porta_status_string(st),
          porta_status_string(cases[k].want), err);
    if (st == PORTA_OK) {
      porta_label_map_free(&labels);
      porta_head_free(head);
      porta_model_free(model);
    }
  }
  porta_context_destroy(ctx);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/porta-regress-train-XXXXXX", P_tmpdir);
  if (!mkdtemp(dir)) {
    printf("cannot create a temporary folder\n");
    return 1;
  }
  test_split_numbers();
  test_state_numbers();
  test_settings_numbers();
  test_data_corners();
  test_label_note();
  test_run_lock();
  test_state_check();
  test_many_labels();
  test_checkpoint_labels();
  test_data_limits();
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
  return check_finish(&checks);
}
