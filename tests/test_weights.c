/* porta_weights edge cases: NULL and out-of-range arguments, dtype names, and robustness sweeps —
 * every truncation and a few thousand seeded byte flips of small safetensors / zip / legacy files
 * must either load (and read back) or fail with a message, never crash (run under ASan in CI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "formats/weights_internal.h"

#define DATA PORTA_TEST_DATA "/modelio"

static check_counter checks;

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(fp);
  *size = (size_t)n;
  return buf;
}

// Opens bytes and reads every tensor; returns whether it loaded.
static bool open_and_read(const uint8_t *data, size_t size, bool torch, char *err, size_t n) {
  porta_weights *w = NULL;
  if (porta_weights_open_memory(&w, data, size, "sweep", torch, err, n) != PORTA_OK) {
    if (err[0] == '\0') {
      check_count(&checks, false);
      fprintf(stderr, "FAIL: an error without a message\n");
    }
    return false;
  }
  for (int i = 0; i < porta_weights_count(w); i++) {
    size_t numel = (size_t)porta_weights_numel(w, i);
    void *buf = malloc(numel * 8 + 8);
    if (porta_weights_read_f32(w, i, buf, numel, err, n) != PORTA_OK) {
      CHECK(&checks, porta_weights_read_i64(w, i, buf, numel, err, n) == PORTA_OK, "read: %s", err);
    }
    free(buf);
  }
  porta_weights_close(w);
  return true;
}

static void sweep(const char *file, bool torch) {
  size_t size = 0;
  uint8_t *orig = read_all(file, &size);
  CHECK(&checks, orig != NULL, "cannot read %s", file);
  if (orig == NULL) return;
  uint8_t *copy = malloc(size + 1);
  char err[512];
  int loaded = 0, refused = 0;
  // Every truncation (a copy of exactly that length, so ASan sees reads past it).
  for (size_t len = 0; len < size; len++) {
    uint8_t *cut = malloc(len ? len : 1);
    memcpy(cut, orig, len);
    err[0] = '\0';
    if (open_and_read(cut, len, torch, err, sizeof(err))) {
      loaded++;
    } else {
      refused++;
    }
    free(cut);
  }
  // Seeded byte flips (xorshift), one to four bytes each.
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int trial = 0; trial < 3000; trial++) {
    memcpy(copy, orig, size);
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    int flips = 1 + (int)(state % 4);
    for (int f = 0; f < flips; f++) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      copy[(state >> 8) % size] ^= (uint8_t)(1u << (state % 8));
    }
    err[0] = '\0';
    if (open_and_read(copy, size, torch, err, sizeof(err))) {
      loaded++;
    } else {
      refused++;
    }
  }
  printf("sweep %-28s %zu truncations + 3000 flips: %d loaded, %d refused with a message\n",
         strrchr(file, '/') + 1, size, loaded, refused);
  free(copy);
  free(orig);
}

static void test_arguments(void) {
  char err[256];
  CHECK(&checks,
        porta_weights_open(NULL, DATA "/tiny_bert", err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "NULL out");
  porta_weights *w = NULL;
  CHECK(&checks, porta_weights_open(&w, NULL, err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "NULL path");
  CHECK(&checks, porta_weights_open(&w, DATA "/tiny_bert", NULL, 0) == PORTA_OK, "NULL err buffer");
  CHECK(&checks,
        porta_weights_count(NULL) == 0 && porta_weights_name(NULL, 0) == NULL &&
            porta_weights_find(NULL, "x") == -1 && porta_weights_shape(w, -1) == NULL &&
            porta_weights_name(w, porta_weights_count(w)) == NULL &&
            porta_weights_find(w, NULL) == -1,
        "accessors on bad input");
  float x[4];
  CHECK(&checks,
        porta_weights_read_f32(NULL, 0, x, 4, err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "read on NULL");
  porta_weights_close(w);
  porta_weights_close(NULL);
  static const char *names[] = {"F32", "F16", "BF16", "F64", "I64",
                                "I32", "I16", "I8",   "U8",  "BOOL"};
  static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
  for (int d = 0; d < 10; d++) {
    porta_weight_dtype parsed;
    CHECK(&checks,
          strcmp(porta_weight_dtype_name((porta_weight_dtype)d), names[d]) == 0 &&
              porta_weight_dtype_size((porta_weight_dtype)d) == sizes[d] &&
              porta_weight_dtype_parse(names[d], &parsed) && parsed == (porta_weight_dtype)d,
          "dtype %d", d);
  }
  CHECK(&checks,
        porta_weight_dtype_size((porta_weight_dtype)99) == 0 &&
            strcmp(porta_weight_dtype_name((porta_weight_dtype)99), "?") == 0,
        "bad dtype");
  printf("arguments: NULL handles, bad indices and dtype tables behave\n");
}

// Every one of the 65536 half-precision values converts like the compiler's _Float16 → float.
static void test_all_halves(void) {
#ifdef __FLT16_MAX__
  uint16_t *halves = malloc(65536 * 2);
  float *back = malloc(65536 * 4);
  for (int i = 0; i < 65536; i++) halves[i] = (uint16_t)i;
  char err[512], path[] = PORTA_BINARY_DIR "/test_weights_f16.safetensors";
  porta_raw_array a = {
      .name = "all", .dtype = PORTA_WEIGHT_F16, .ndim = 1, .shape = {65536}, .data = halves};
  CHECK(&checks, porta_safetensors_write_raw(path, &a, 1, NULL, err, sizeof(err)) == PORTA_OK, "%s",
        err);
  porta_weights *w = NULL;
  CHECK(&checks, porta_weights_open(&w, path, err, sizeof(err)) == PORTA_OK, "%s", err);
  if (w != NULL) {
    CHECK(&checks, porta_weights_read_f32(w, 0, back, 65536, err, sizeof(err)) == PORTA_OK, "%s",
          err);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
      _Float16 h;
      memcpy(&h, &halves[i], 2);
      float want = (float)h;
      bool same = (want != want) ? (back[i] != back[i]) : memcmp(&want, &back[i], 4) == 0;
      bad += !same;
    }
    CHECK(&checks, bad == 0, "%d half values convert differently", bad);
    printf("F16 -> f32: all 65536 bit patterns match the compiler's conversion (%d differ)\n", bad);
    porta_weights_close(w);
  }
  remove(path);
  free(halves);
  free(back);
#else
  printf("F16 exhaustive check: no _Float16 in this compiler, skipped\n");
#endif
}

int main(void) {
  test_arguments();
  test_all_halves();
  sweep(DATA "/st_types.safetensors", false);
  sweep(DATA "/shared_zip.bin", true);
  sweep(DATA "/shared_legacy.bin", true);
  sweep(DATA "/pickle_bad/zip64_fake.bin", true);
  return check_finish(&checks);
}
