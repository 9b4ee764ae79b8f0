/* Shared by the tokenizer tests: reading files and running the fixture cases of
 * tools/gen_tokenizer_fixtures.py ({"cases": [{"hex", "max_length", "ids"}]}). */
#ifndef PORTA_TEST_TOKENIZER_COMMON_H
#define PORTA_TEST_TOKENIZER_COMMON_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porta/text.h"

static int g_failures = 0;

/* Load times are printed, never asserted: speed belongs to benchmarks, not tests (a loaded
 * machine or valgrind would fail a timed check). */

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                              \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      g_failures++;                                                                                \
    }                                                                                              \
  } while (0)

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  if (len) *len = (size_t)n;
  return buf;
}

static size_t hex_decode(char *out, const char *hex) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (char)v;
  }
  return n;
}

static void print_ids(const char *label, const int32_t *ids, int n) {
  fprintf(stderr, "  %s (%d):", label, n);
  for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
  fprintf(stderr, "\n");
}

/* Runs cases ([{"hex", "max_length", "ids"}]) through tok; returns the number of mismatches. */
static int run_case_array(const porta_tokenizer *tok, const cJSON *cases, const char *label) {
  int n_cases = 0, mismatches = 0, tokens = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cases) {
    const char *hex = cJSON_GetObjectItemCaseSensitive(c, "hex")->valuestring;
    int max_length = cJSON_GetObjectItemCaseSensitive(c, "max_length")->valueint;
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "ids");
    char *text = malloc(strlen(hex) / 2 + 1);
    size_t text_len = hex_decode(text, hex);
    int n_want = cJSON_GetArraySize(want);
    int32_t *expect = malloc((size_t)(n_want + 1) * sizeof(int32_t));
    for (int i = 0; i < n_want; i++) expect[i] = cJSON_GetArrayItem(want, i)->valueint;
    int32_t ids[2048];
    int n_ids = 0;
    char err[256] = "";
    porta_status st = porta_tokenizer_encode(tok, ids, 2048, &n_ids, text, text_len, max_length,
                                             err, sizeof(err));
    bool same = st == PORTA_OK && n_ids == n_want &&
                memcmp(ids, expect, (size_t)n_ids * sizeof(int32_t)) == 0;
    if (!same) {
      if (mismatches < 5) {
        fprintf(stderr, "FAIL %s case %d: text \"%.*s\" (max_length %d), status %d %s\n", label,
                n_cases, (int)(text_len > 200 ? 200 : text_len), text, max_length, st, err);
        print_ids("want", expect, n_want);
        print_ids("got ", ids, n_ids > 2048 ? 0 : n_ids);
      }
      mismatches++;
    }
    tokens += n_want;
    n_cases++;
    free(text);
    free(expect);
  }
  printf("%s: %d/%d fixture cases give transformers' exact ids (%d ids compared)\n", label,
         n_cases - mismatches, n_cases, tokens);
  g_failures += mismatches;
  return mismatches;
}

/* Runs every case of a fixture file through tok; returns the number of mismatches. */
static int run_cases(const porta_tokenizer *tok, const char *cases_path, const char *label) {
  size_t len;
  char *json = read_all(cases_path, &len);
  if (!json) {
    fprintf(stderr, "FAIL cannot read %s\n", cases_path);
    g_failures++;
    return 1;
  }
  cJSON *root = cJSON_ParseWithLength(json, len);
  free(json);
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
  int mismatches = 1;
  if (!cJSON_IsArray(cases)) {
    fprintf(stderr, "FAIL %s has no cases\n", cases_path);
    g_failures++;
  } else {
    mismatches = run_case_array(tok, cases, label);
  }
  cJSON_Delete(root);
  return mismatches;
}

#endif
