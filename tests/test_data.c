/* Data sets: JSON lines / CSV reading (CRLF, quotes, string labels, bad rows), the seeded
 * stratified split that keeps repeated texts together, and length-bucketed epoch plans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "porta/porta.h"

static check_counter checks;

static void write_file(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    printf("cannot write %s\n", path);
    exit(1);
  }
  fwrite(data, 1, n, f);
  fclose(f);
}

static char dir[1024];
static void path_of(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static void test_jsonl(void) {
  // CRLF line ends, one bad JSON, one missing field, invalid UTF-8, empty text, blank line
  const char data[] =
      "{\"is_sarcastic\": 1, \"headline\": \"first row\", \"article_link\": \"x\"}\r\n"
      "{\"is_sarcastic\": 0, \"headline\": \"second \\\"quoted\\\" row\"}\r\n"
      "{\"is_sarcastic\": 1, \"headline\": \"broken\"\r\n"
      "{\"is_sarcastic\": 0}\r\n"
      "{\"is_sarcastic\": 0, \"headline\": \"bad \xC3\x28 utf8\"}\r\n"
      "\r\n"
      "{\"is_sarcastic\": 1, \"headline\": \"   \"}\r\n"
      "{\"is_sarcastic\": true, \"headline\": \"caf\xC3\xA9 ok\"}\r\n"
      "{\"is_sarcastic\": 0, \"headline\": \"last row without newline\"}";
  char path[1100];
  path_of(path, sizeof path, "rows.jsonl");
  write_file(path, data, sizeof data - 1);
  porta_dataset *ds;
  char err[512];
  porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "load %s: %s", path, err);
  if (st != PORTA_OK) return;
  printf("jsonl: %lld rows, %lld skipped\n", (long long)ds->count, (long long)ds->skipped_count);
  CHECK(&checks, ds->count == 4, "rows %lld, expected 4", (long long)ds->count);
  CHECK(&checks, strcmp(ds->texts[0], "first row") == 0, "text 0 '%s'", ds->texts[0]);
  CHECK(&checks, strcmp(ds->texts[1], "second \"quoted\" row") == 0, "text 1 '%s'", ds->texts[1]);
  CHECK(&checks, strcmp(ds->texts[2], "caf\xC3\xA9 ok") == 0, "text 2 '%s'", ds->texts[2]);
  CHECK(&checks, strcmp(ds->texts[3], "last row without newline") == 0, "text 3 '%s'",
        ds->texts[3]);
  int32_t want_labels[4] = {1, 0, 1, 0};
  int64_t want_lines[4] = {1, 2, 8, 9};
  for (int i = 0; i < 4 && i < ds->count; i++) {
    CHECK(&checks, ds->labels[i] == want_labels[i], "label %d = %d, expected %d", i, ds->labels[i],
          want_labels[i]);
    CHECK(&checks, ds->lines[i] == want_lines[i], "line of row %d = %lld, expected %lld", i,
          (long long)ds->lines[i], (long long)want_lines[i]);
  }
  CHECK(&checks, ds->label_map.count == 2 && !ds->label_map.from_strings, "label map: %d labels",
        ds->label_map.count);
  int64_t skipped_lines[4] = {3, 4, 5, 7};
  CHECK(&checks, ds->skipped_count == 4, "skipped %lld, expected 4", (long long)ds->skipped_count);
  for (int i = 0; i < 4 && i < ds->skipped_count; i++)
    CHECK(&checks, ds->skipped[i].line == skipped_lines[i], "skipped[%d] line %lld, expected %lld",
          i, (long long)ds->skipped[i].line, (long long)skipped_lines[i]);
  if (ds->skipped_count == 4) {
    CHECK(&checks, strstr(ds->skipped[0].reason, "bad JSON"), "reason 0: %s",
          ds->skipped[0].reason);
    CHECK(&checks, strstr(ds->skipped[1].reason, "missing field \"headline\""), "reason 1: %s",
          ds->skipped[1].reason);
    CHECK(&checks, strstr(ds->skipped[2].reason, "UTF-8"), "reason 2: %s", ds->skipped[2].reason);
    CHECK(&checks, strstr(ds->skipped[3].reason, "empty"), "reason 3: %s", ds->skipped[3].reason);
  }
  char summary[512];
  porta_dataset_skip_summary(ds, 2, summary, sizeof summary);
  printf("summary: %s\n", summary);
  CHECK(&checks,
        strstr(summary, "skipped 4 rows: line 3 (bad JSON), line 4") &&
            strstr(summary, "and 2 more"),
        "summary '%s'", summary);
  porta_dataset_free(ds);

  // --limit-rows takes the first N readable rows
  porta_dataset_options opts;
  porta_dataset_options_init(&opts);
  opts.limit_rows = 2;
  st = porta_dataset_load(&ds, path, &opts, err, sizeof err);
  CHECK(&checks, st == PORTA_OK && ds->count == 2, "limit_rows 2: status %d", st);
  if (st == PORTA_OK) porta_dataset_free(ds);
}

static void test_csv(void) {
  // header, quoted fields with "" escapes, a comma and a newline inside quotes, CRLF, string labels
  const char data[] = "id,text,label\r\n"
                      "1,plain text,pos\r\n"
                      "2,\"with, comma\",neg\r\n"
                      "3,\"say \"\"hi\"\"\",neutral\r\n"
                      "4,\"two\r\nlines\",pos\r\n"
                      "5,,neg\r\n"
                      "6\r\n"
                      "7,\"last\",neg\r\n";
  char path[1100];
  path_of(path, sizeof path, "rows.csv");
  write_file(path, data, sizeof data - 1);
  porta_dataset_options opts;
  porta_dataset_options_init(&opts);
  opts.text_field = "text";
  opts.label_field = "label";
  porta_dataset *ds;
  char err[512];
  porta_status st = porta_dataset_load(&ds, path, &opts, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "load %s: %s", path, err);
  if (st != PORTA_OK) return;
  printf("csv: %lld rows, %lld skipped\n", (long long)ds->count, (long long)ds->skipped_count);
  const char *texts[5] = {"plain text", "with, comma", "say \"hi\"", "two\r\nlines", "last"};
  // string labels get ids in byte order: neg 0, neutral 1, pos 2
  int32_t labels[5] = {2, 0, 1, 2, 0};
  int64_t lines[5] = {2, 3, 4, 5, 9};
  CHECK(&checks, ds->count == 5, "rows %lld, expected 5", (long long)ds->count);
  for (int i = 0; i < 5 && i < ds->count; i++) {
    CHECK(&checks, strcmp(ds->texts[i], texts[i]) == 0, "text %d '%s', expected '%s'", i,
          ds->texts[i], texts[i]);
    CHECK(&checks, ds->labels[i] == labels[i], "label %d = %d, expected %d", i, ds->labels[i],
          labels[i]);
    CHECK(&checks, ds->lines[i] == lines[i], "line %d = %lld, expected %lld", i,
          (long long)ds->lines[i], (long long)lines[i]);
  }
  CHECK(&checks,
        ds->label_map.from_strings && ds->label_map.count == 3 &&
            strcmp(ds->label_map.names[0], "neg") == 0 &&
            strcmp(ds->label_map.names[2], "pos") == 0,
        "label map");
  int64_t skipped[2] = {7, 8};
  CHECK(&checks, ds->skipped_count == 2, "skipped %lld, expected 2", (long long)ds->skipped_count);
  for (int i = 0; i < 2 && i < ds->skipped_count; i++)
    CHECK(&checks, ds->skipped[i].line == skipped[i],
          "skipped[%d] at line %lld (%s), expected %lld", i, (long long)ds->skipped[i].line,
          ds->skipped[i].reason, (long long)skipped[i]);

  // the label map survives a save / load, and mapping through it keeps the ids
  char map_path[1100];
  path_of(map_path, sizeof map_path, "labels.json");
  st = porta_label_map_save(&ds->label_map, map_path, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "save labels: %s", err);
  porta_label_map map;
  st = porta_label_map_load(&map, map_path, err, sizeof err);
  CHECK(&checks,
        st == PORTA_OK && map.count == 3 && map.from_strings &&
            strcmp(map.names[1], "neutral") == 0,
        "load labels: %s", err);
  if (st == PORTA_OK) {
    opts.label_map = &map;
    porta_dataset *again;
    st = porta_dataset_load(&again, path, &opts, err, sizeof err);
    CHECK(&checks, st == PORTA_OK, "load with map: %s", err);
    if (st == PORTA_OK) {
      for (int64_t i = 0; i < again->count && i < ds->count; i++)
        CHECK(&checks, again->labels[i] == ds->labels[i], "mapped label %lld", (long long)i);
      porta_dataset_free(again);
    }
    porta_label_map_free(&map);
  }
  porta_dataset_free(ds);

  // a header without the text column is an error naming the column
  opts.label_map = NULL;
  opts.text_field = "headline";
  st = porta_dataset_load(&ds, path, &opts, err, sizeof err);
  CHECK(&checks, st == PORTA_ERR_FORMAT && strstr(err, "headline"),
        "missing column: status %d, '%s'", st, err);

  // an unterminated quote is an error naming its line (it used to swallow what followed)
  const char open_quote[] = "id,text,label\r\n1,a,pos\r\n8,\"unterminated,pos\r\n9,b,neg\r\n";
  write_file(path, open_quote, sizeof open_quote - 1);
  opts.text_field = "text";
  st = porta_dataset_load(&ds, path, &opts, err, sizeof err);
  CHECK(&checks, st == PORTA_ERR_FORMAT && strstr(err, "line 3: the quoted field opened on line 3"),
        "unterminated quote: status %d, '%s'", st, err);
}

static void test_errors(void) {
  char path[1100], err[512];
  porta_dataset *ds = NULL;
  path_of(path, sizeof path, "empty.jsonl");
  write_file(path, "", 0);
  porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  printf("empty file: %s\n", err);
  CHECK(&checks, st == PORTA_ERR_FORMAT && ds == NULL && strstr(err, path), "empty file: status %d",
        st);
  path_of(path, sizeof path, "garbage.jsonl");
  const char garbage[] = "not json\n{\"a\": 1}\n";
  write_file(path, garbage, strlen(garbage));
  st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  printf("unreadable rows: %s\n", err);
  CHECK(&checks, st == PORTA_ERR_FORMAT && strstr(err, "line 1") && strstr(err, "line 2"),
        "no readable row: status %d", st);
  path_of(path, sizeof path, "does-not-exist.jsonl");
  st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  printf("missing file: %s\n", err);
  CHECK(&checks, st == PORTA_ERR_IO && strstr(err, path), "missing file: status %d", st);
}

/* 1000 rows, 70 % label 0, with every 5th text repeated 3 times (so groups of equal texts). */
static porta_dataset *synthetic(void) {
  char path[1100];
  path_of(path, sizeof path, "synthetic.jsonl");
  FILE *f = fopen(path, "wb");
  int row = 0;
  for (int i = 0; row < 1000; i++) {
    int copies = i % 5 == 0 ? 3 : 1;
    for (int c = 0; c < copies && row < 1000; c++, row++)
      fprintf(f, "{\"headline\": \"text %d\", \"is_sarcastic\": %d}\n", i,
              (i * 7) % 10 < 7 ? 0 : 1);
  }
  fclose(f);
  porta_dataset *ds;
  char err[512];
  if (porta_dataset_load(&ds, path, NULL, err, sizeof err) != PORTA_OK) {
    printf("FAIL synthetic: %s\n", err);
    exit(1);
  }
  return ds;
}

static void test_split(void) {
  porta_dataset *ds = synthetic();
  porta_split a, b, c;
  char err[512];
  CHECK(&checks, porta_split_make(&a, ds, 0.1, 0.1, 42, err, sizeof err) == PORTA_OK, "split: %s",
        err);
  CHECK(&checks, porta_split_make(&b, ds, 0.1, 0.1, 42, err, sizeof err) == PORTA_OK, "split: %s",
        err);
  CHECK(&checks, porta_split_make(&c, ds, 0.1, 0.1, 43, err, sizeof err) == PORTA_OK, "split: %s",
        err);
  printf("split seed 42: train %lld valid %lld test %lld\n", (long long)a.count[0],
         (long long)a.count[1], (long long)a.count[2]);
  // same seed, same split; another seed, another split
  bool same = true, differs = false;
  for (int p = 0; p < 3; p++) {
    same = same && a.count[p] == b.count[p] &&
           memcmp(a.rows[p], b.rows[p], (size_t)a.count[p] * 8) == 0;
    differs = differs || a.count[p] != c.count[p] ||
              memcmp(a.rows[p], c.rows[p], (size_t)a.count[p] * 8) != 0;
  }
  CHECK(&checks, same, "same seed gave different splits");
  CHECK(&checks, differs, "seeds 42 and 43 gave the same split");
  // the first rows of the seed-42 split never change across machines (pinned)
  printf("valid rows of seed 42 start: %lld %lld %lld %lld\n", (long long)a.rows[1][0],
         (long long)a.rows[1][1], (long long)a.rows[1][2], (long long)a.rows[1][3]);
  CHECK(&checks,
        a.rows[1][0] == 10 && a.rows[1][1] == 11 && a.rows[1][2] == 18 && a.rows[1][3] == 28,
        "the pinned seed-42 split changed");
  // every row exactly once; every copy of a text in one part; stratified within 2 points
  int *part_of = malloc(1000 * sizeof(int));
  for (int i = 0; i < 1000; i++) part_of[i] = -1;
  int64_t per_label[3][2] = {{0}};
  for (int p = 0; p < 3; p++)
    for (int64_t i = 0; i < a.count[p]; i++) {
      int64_t row = a.rows[p][i];
      CHECK(&checks, part_of[row] == -1, "row %lld in two parts", (long long)row);
      part_of[row] = p;
      per_label[p][ds->labels[row]]++;
    }
  for (int i = 0; i < 1000; i++) CHECK(&checks, part_of[i] >= 0, "row %d in no part", i);
  int split_groups = 0;
  for (int i = 0; i < 1000; i++)
    for (int j = i + 1; j < 1000 && j < i + 4; j++)
      if (strcmp(ds->texts[i], ds->texts[j]) == 0 && part_of[i] != part_of[j]) split_groups++;
  CHECK(&checks, split_groups == 0, "%d repeated texts in different parts", split_groups);
  int64_t positives = 0;
  for (int i = 0; i < 1000; i++) positives += ds->labels[i];
  double overall = positives / 1000.0;
  for (int p = 0; p < 3; p++) {
    int64_t n = per_label[p][0] + per_label[p][1];
    double share = n ? (double)per_label[p][1] / (double)n : 0;
    printf("  %s: %lld rows, label 1 share %.3f (all rows %.3f)\n", porta_split_name(p),
           (long long)n, share, overall);
    CHECK(&checks, share > overall - 0.02 && share < overall + 0.02,
          "%s label-1 share %.3f, expected %.3f +- 0.02", porta_split_name(p), share, overall);
  }
  CHECK(&checks, a.count[1] >= 95 && a.count[1] <= 105 && a.count[2] >= 95 && a.count[2] <= 105,
        "sizes %lld %lld", (long long)a.count[1], (long long)a.count[2]);

  // save / load round trip
  char path[1100];
  path_of(path, sizeof path, "split.json");
  CHECK(&checks, porta_split_save(&a, path, err, sizeof err) == PORTA_OK, "save split: %s", err);
  porta_split loaded;
  CHECK(&checks, porta_split_load(&loaded, path, err, sizeof err) == PORTA_OK, "load split: %s",
        err);
  for (int p = 0; p < 3; p++)
    CHECK(&checks,
          loaded.count[p] == a.count[p] &&
              memcmp(loaded.rows[p], a.rows[p], (size_t)a.count[p] * 8) == 0,
          "split part %d after load", p);
  CHECK(&checks, loaded.seed == 42, "seed after load %llu", (unsigned long long)loaded.seed);
  porta_split_free(&loaded);
  free(part_of);
  porta_split_free(&a);
  porta_split_free(&b);
  porta_split_free(&c);
  porta_dataset_free(ds);
}

static void test_rng_pinned(void) {
  // xoshiro256** from splitmix64(0): the same numbers on every machine
  porta_rng rng;
  porta_rng_seed(&rng, 0);
  uint64_t first = porta_rng_next(&rng);
  printf("rng(0) first output %016llx\n", (unsigned long long)first);
  CHECK(&checks, first == 0x99ec5f36cb75f2b4ull, "xoshiro256** from splitmix64(0) changed");
  porta_rng again;
  porta_rng_seed(&again, 0);
  CHECK(&checks, porta_rng_next(&again) == first, "rng not repeatable");
  int64_t hist[3] = {0};
  for (int i = 0; i < 30000; i++) hist[porta_rng_below(&rng, 3)]++;
  CHECK(&checks, hist[0] > 9500 && hist[1] > 9500 && hist[2] > 9500,
        "rng_below(3) histogram %lld %lld %lld", (long long)hist[0], (long long)hist[1],
        (long long)hist[2]);
}

static void test_epoch_plan(void) {
  enum { N = 1000, B = 32 };
  int32_t lengths[N];
  porta_rng rng;
  porta_rng_seed(&rng, 7);
  for (int i = 0; i < N; i++) lengths[i] = 3 + (int32_t)porta_rng_below(&rng, 60);
  porta_epoch_plan plan, same, next;
  CHECK(&checks,
        porta_epoch_plan_make(&plan, lengths, N, B, PORTA_ORDER_BUCKETED, 10, 42, 0) == PORTA_OK,
        "plan");
  CHECK(&checks,
        porta_epoch_plan_make(&same, lengths, N, B, PORTA_ORDER_BUCKETED, 10, 42, 0) == PORTA_OK,
        "plan");
  CHECK(&checks,
        porta_epoch_plan_make(&next, lengths, N, B, PORTA_ORDER_BUCKETED, 10, 42, 1) == PORTA_OK,
        "plan");
  CHECK(&checks, plan.num_batches == (N + B - 1) / B, "batches %lld", (long long)plan.num_batches);
  int seen[N] = {0};
  int64_t padded = 0;
  for (int64_t b = 0; b < plan.num_batches; b++) {
    int64_t start = plan.batch_start[b], end = plan.batch_start[b + 1];
    CHECK(&checks, end - start >= 1 && end - start <= B, "batch %lld has %lld rows", (long long)b,
          (long long)(end - start));
    int32_t longest = 0;
    for (int64_t i = start; i < end; i++)
      longest = lengths[plan.rows[i]] > longest ? lengths[plan.rows[i]] : longest;
    padded += longest * (end - start);
    for (int64_t i = start; i < end; i++) seen[plan.rows[i]]++;
  }
  for (int i = 0; i < N; i++) CHECK(&checks, seen[i] == 1, "row %d seen %d times", i, seen[i]);
  // padding with buckets vs in random order
  porta_epoch_plan random_order;
  porta_epoch_plan_make(&random_order, lengths, N, B, PORTA_ORDER_SEQUENTIAL, 10, 42, 0);
  int64_t padded_random = 0, tokens = 0;
  for (int64_t b = 0; b < random_order.num_batches; b++) {
    int32_t longest = 0;
    for (int64_t i = random_order.batch_start[b]; i < random_order.batch_start[b + 1]; i++)
      longest = lengths[random_order.rows[i]] > longest ? lengths[random_order.rows[i]] : longest;
    padded_random += longest * (random_order.batch_start[b + 1] - random_order.batch_start[b]);
  }
  for (int i = 0; i < N; i++) tokens += lengths[i];
  printf("tokens %lld, padded: bucketed %lld, sequential %lld\n", (long long)tokens,
         (long long)padded, (long long)padded_random);
  CHECK(&checks, padded < padded_random * 0.8, "bucketing did not cut padding");
  CHECK(&checks,
        memcmp(plan.rows, same.rows, sizeof(int64_t) * N) == 0 &&
            memcmp(plan.batch_start, same.batch_start,
                   sizeof(int64_t) * (size_t)(plan.num_batches + 1)) == 0,
        "same seed and epoch, different plans");
  CHECK(&checks, memcmp(plan.rows, next.rows, sizeof(int64_t) * N) != 0,
        "epochs 0 and 1 have the same order");
  porta_epoch_plan by_length;
  porta_epoch_plan_make(&by_length, lengths, N, B, PORTA_ORDER_BY_LENGTH, 0, 0, 0);
  for (int i = 1; i < N; i++)
    CHECK(&checks, lengths[by_length.rows[i - 1]] >= lengths[by_length.rows[i]],
          "by-length order broken at %d", i);
  porta_epoch_plan_free(&by_length);
  porta_epoch_plan_free(&random_order);
  porta_epoch_plan_free(&plan);
  porta_epoch_plan_free(&same);
  porta_epoch_plan_free(&next);
}

/* The real data set, when present: 28,619 rows, no bad rows, split sizes. */
static void test_sarcasm(void) {
  const char *path = "/work/shared/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl";
  FILE *f = fopen(path, "rb");
  if (!f) {
    printf("sarcasm data set not present: skipped\n");
    return;
  }
  fclose(f);
  porta_dataset *ds;
  char err[512];
  porta_status st = porta_dataset_load(&ds, path, NULL, err, sizeof err);
  CHECK(&checks, st == PORTA_OK, "%s", err);
  if (st != PORTA_OK) return;
  porta_split s;
  porta_split_make(&s, ds, 0.1, 0.1, 42, err, sizeof err);
  printf("sarcasm: %lld rows (%lld skipped); split train %lld valid %lld test %lld\n",
         (long long)ds->count, (long long)ds->skipped_count, (long long)s.count[0],
         (long long)s.count[1], (long long)s.count[2]);
  CHECK(&checks, ds->count == 28619 && ds->skipped_count == 0, "sarcasm rows");
  porta_split_free(&s);
  porta_dataset_free(ds);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); // lines reach the log even if a sanitizer ends the process
  snprintf(dir, sizeof dir, "%s/test_data_files", PORTA_BINARY_DIR);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
  if (system(cmd) != 0) return 1;
  test_jsonl();
  test_csv();
  test_errors();
  test_rng_pinned();
  test_split();
  test_epoch_plan();
  test_sarcasm();
  return check_finish(&checks);
}
