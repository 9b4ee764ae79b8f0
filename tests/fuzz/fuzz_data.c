/* libFuzzer: arbitrary bytes as a data-set file (porta_dataset_load reads a path, so the bytes go
 * to a temporary file first), read as JSON lines and as CSV with several option sets: the default
 * fields, other field names with a row limit, no labels, and a fixed label map (evaluation). An
 * accepted data set must hold only non-empty valid UTF-8 texts, labels inside its label map and
 * ascending line numbers; its label map must survive labels.json save + load, and it must split. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porta/porta.h"
#include "train/train_internal.h"

static char data_path[512];
static char labels_path[560];

static void remove_temp_files(void) {
  unlink(data_path);
  unlink(labels_path);
}

static void make_temp_paths(void) {
  // a file system in memory when there is one: every input is written and read back 8 times
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !tmp[0]) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(data_path, sizeof data_path, "%s/porta-fuzz-data-XXXXXX", tmp);
  int fd = mkstemp(data_path);
  if (fd < 0) {
    fprintf(stderr, "fuzz_data: cannot create a temporary file %s\n", data_path);
    abort(); /* the harness cannot run without it */
  }
  close(fd);
  snprintf(labels_path, sizeof labels_path, "%s.labels.json", data_path);
  atexit(remove_temp_files);
}

static void write_input(const uint8_t *data, size_t size) {
  FILE *f = fopen(data_path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "fuzz_data: cannot write %s\n", data_path);
    abort();
  }
}

/* Invariants of an accepted data set; abort() makes libFuzzer report the input. */
static void check_dataset(const porta_dataset *ds, const porta_dataset_options *opts) {
  if (ds->count <= 0) abort();
  bool has_labels = !opts->label_field || opts->label_field[0] != '\0'; /* NULL: the default */
  if (opts->limit_rows > 0 && ds->count > opts->limit_rows) abort();
  for (int64_t i = 0; i < ds->count; i++) {
    size_t n = strlen(ds->texts[i]);
    if (n == 0 || !porta_utf8_valid(ds->texts[i], n)) abort();
    if (ds->lines[i] < 1 || (i > 0 && ds->lines[i] <= ds->lines[i - 1])) abort();
    if (has_labels ? (ds->labels[i] < 0 || ds->labels[i] >= ds->label_map.count)
                   : ds->labels[i] != -1)
      abort();
  }
  for (int64_t i = 0; i < ds->skipped_count; i++)
    if (ds->skipped[i].line < 1 ||
        memchr(ds->skipped[i].reason, '\0', sizeof ds->skipped[i].reason) == NULL)
      abort();
  char small[24], big[2048];
  porta_dataset_skip_summary(ds, 3, small, sizeof small);
  porta_dataset_skip_summary(ds, 1000, big, sizeof big);
  if (strlen(small) >= sizeof small || strlen(big) >= sizeof big) abort();

  char err[512];
  if (has_labels) {
    porta_label_map loaded = {0};
    if (porta_label_map_save(&ds->label_map, labels_path, err, sizeof err) != PORTA_OK) {
      fprintf(stderr, "fuzz_data: label map save failed: %s\n", err);
      abort();
    }
    if (porta_label_map_load(&loaded, labels_path, err, sizeof err) != PORTA_OK) {
      fprintf(stderr, "fuzz_data: saved label map does not load back: %s\n", err);
      abort();
    }
    if (loaded.count != ds->label_map.count || loaded.from_strings != ds->label_map.from_strings)
      abort();
    for (int c = 0; c < loaded.count; c++)
      if (strcmp(loaded.names[c], ds->label_map.names[c]) != 0) abort();
    porta_label_map_free(&loaded);
  }
  porta_split split;
  if (porta_split_make(&split, ds, 0.1, 0.1, 7, err, sizeof err) == PORTA_OK) {
    if (split.count[0] + split.count[1] + split.count[2] != ds->count) abort();
    porta_split_free(&split);
  }
}

static void load_one(const porta_dataset_options *opts) {
  porta_dataset *ds = NULL;
  char err[512];
  porta_status st = porta_dataset_load(&ds, data_path, opts, err, sizeof err);
  if (st == PORTA_OK) {
    if (!ds) abort();
    check_dataset(ds, opts);
    porta_dataset_free(ds);
  } else if (ds) {
    abort(); /* a failed load must leave *out NULL */
  } else if (st != PORTA_ERR_FORMAT && st != PORTA_ERR_LIMIT) {
    fprintf(stderr, "fuzz_data: unexpected status %d: %s\n", (int)st, err);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!data_path[0]) make_temp_paths();
  write_input(data, size);

  static char *const binary_names[] = {"0", "1"};
  static char *const string_names[] = {"neg", "pos"};
  const porta_label_map binary = {.count = 2, .names = (char **)binary_names};
  const porta_label_map strings = {
      .count = 2, .names = (char **)string_names, .from_strings = true};
  for (int format = PORTA_DATA_JSONL; format <= PORTA_DATA_CSV; format++) {
    porta_dataset_options opts;
    porta_dataset_options_init(&opts);
    opts.format = (porta_data_format)format;
    load_one(&opts); /* headline / is_sarcastic */

    opts.text_field = "text";
    opts.label_field = "label";
    opts.limit_rows = 3;
    load_one(&opts);

    opts.limit_rows = 0;
    opts.label_field = ""; /* no labels */
    load_one(&opts);

    opts.text_field = NULL;
    opts.label_field = NULL;
    opts.label_map = format == PORTA_DATA_CSV ? &strings : &binary;
    load_one(&opts);
  }
  return 0;
}
