/* pytorch_model.bin: the zip format (torch >= 1.6) and the legacy format read through the
 * restricted unpickler equal the safetensors copies torch wrote bit for bit (shared storages,
 * offsets, strides, F16/BF16/F64/I64/I32 included); sharded .bin folders; conversion to
 * safetensors; hostile and broken files fail with a clear message and nothing runs; optionally,
 * the real legacy BERT checkpoints of the rxnfp wheel ($PORTA_RXNFP_DIR). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "helpers/check.h"
#include "formats/pickle.h"
#include "porta/porta.h"

#define DATA PORTA_TEST_DATA "/modelio"

static check_counter checks;

// Every tensor of ref equals the same-named tensor of w: dtype, shape, bits. Returns the count.
static int compare_all(const porta_weights *w, const porta_weights *ref, const char *label) {
  char err[512];
  int compared = 0;
  CHECK(&checks, porta_weights_count(w) == porta_weights_count(ref), "%s: %d tensors, reference %d",
        label, porta_weights_count(w), porta_weights_count(ref));
  for (int r = 0; r < porta_weights_count(ref); r++) {
    const char *name = porta_weights_name(ref, r);
    int i = porta_weights_find(w, name);
    CHECK(&checks, i >= 0, "%s: tensor %s missing", label, name);
    if (i < 0) continue;
    CHECK(&checks, porta_weights_dtype(w, i) == porta_weights_dtype(ref, r),
          "%s: %s dtype %s vs %s", label, name, porta_weight_dtype_name(porta_weights_dtype(w, i)),
          porta_weight_dtype_name(porta_weights_dtype(ref, r)));
    CHECK(&checks, porta_weights_ndim(w, i) == porta_weights_ndim(ref, r), "%s: %s ndim", label,
          name);
    bool same_shape = porta_weights_ndim(w, i) == porta_weights_ndim(ref, r);
    for (int d = 0; same_shape && d < porta_weights_ndim(w, i); d++) {
      same_shape = porta_weights_shape(w, i)[d] == porta_weights_shape(ref, r)[d];
    }
    CHECK(&checks, same_shape, "%s: %s shape differs", label, name);
    if (!same_shape) continue;
    size_t n = (size_t)porta_weights_numel(ref, r);
    porta_weight_dtype dt = porta_weights_dtype(ref, r);
    bool is_int = dt == PORTA_WEIGHT_I64 || dt == PORTA_WEIGHT_I32;
    void *a = calloc(n + 1, 8), *b = calloc(n + 1, 8);
    porta_status sa, sb;
    if (is_int) {
      sa = porta_weights_read_i64(w, i, a, n, err, sizeof(err));
      sb = porta_weights_read_i64(ref, r, b, n, err, sizeof(err));
    } else {
      sa = porta_weights_read_f32(w, i, a, n, err, sizeof(err));
      sb = porta_weights_read_f32(ref, r, b, n, err, sizeof(err));
    }
    CHECK(&checks, sa == PORTA_OK && sb == PORTA_OK, "%s: %s: %s", label, name, err);
    CHECK(&checks, memcmp(a, b, n * (is_int ? 8 : 4)) == 0, "%s: %s values differ", label, name);
    free(a);
    free(b);
    compared++;
  }
  return compared;
}

static void test_against_reference(const char *path, const char *ref_path, const char *format) {
  char err[512];
  porta_weights *w = NULL, *ref = NULL;
  CHECK(&checks, porta_weights_open(&w, path, err, sizeof(err)) == PORTA_OK, "%s: %s", path, err);
  CHECK(&checks, porta_weights_open(&ref, ref_path, err, sizeof(err)) == PORTA_OK, "%s: %s",
        ref_path, err);
  if (w != NULL && ref != NULL) {
    CHECK(&checks, strcmp(porta_weights_format(w), format) == 0, "%s: format %s, expected %s", path,
          porta_weights_format(w), format);
    int n = compare_all(w, ref, path);
    printf("%-40s %-15s %3d tensors equal torch's safetensors copy bit for bit\n",
           strrchr(path, '/') + 1, porta_weights_format(w), n);
  }
  porta_weights_close(w);
  porta_weights_close(ref);
}

static void test_views(void) {
  // Tied tensors and views read what torch shows: check a few by hand as well.
  char err[512];
  porta_weights *w = NULL;
  CHECK(&checks, porta_weights_open(&w, DATA "/shared_legacy.bin", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  if (w == NULL) return;
  float base[24], t[24], col[4], strided[4];
  porta_weights_read_f32(w, porta_weights_find(w, "base"), base, 24, err, sizeof(err));
  CHECK(&checks,
        porta_weights_read_f32(w, porta_weights_find(w, "transposed"), t, 24, err, sizeof(err)) ==
            PORTA_OK,
        "%s", err);
  porta_weights_read_f32(w, porta_weights_find(w, "column"), col, 4, err, sizeof(err));
  porta_weights_read_f32(w, porta_weights_find(w, "strided"), strided, 4, err, sizeof(err));
  bool ok = true;
  for (int r = 0; r < 4; r++) {
    for (int c = 0; c < 6; c++) ok &= t[c * 4 + r] == base[r * 6 + c];
    ok &= col[r] == base[r * 6 + 2];
  }
  // base[::2, 1::3] → rows 0, 2; columns 1, 4.
  ok &= strided[0] == base[1] && strided[1] == base[4] && strided[2] == base[13] &&
        strided[3] == base[16];
  CHECK(&checks, ok, "views do not match the base tensor");
  printf("views of one storage (transpose, column, [::2, 1::3]) match the base tensor\n");
  porta_weights_close(w);
}

static void test_hostile(void) {
  static const struct {
    const char *file;
    porta_status status;
    const char *words;
  } cases[] = {
      {"global_os_system.bin", PORTA_ERR_FORMAT, "refusing global os.system"},
      {"global_builtins_eval.bin", PORTA_ERR_FORMAT, "refusing global builtins.eval"},
      {"global_subprocess_popen.bin", PORTA_ERR_FORMAT, "refusing global subprocess.Popen"},
      {"reduce_payload.bin", PORTA_ERR_FORMAT, "refusing global posix.system"},
      {"legacy_os_system.bin", PORTA_ERR_FORMAT, "refusing global os.system"},
      {"deep_nesting.bin", PORTA_ERR_LIMIT, "nesting deeper than the limit"},
      {"memo_out_of_range.bin", PORTA_ERR_FORMAT, "memo index 5 was never stored"},
      {"storage_past_file.bin", PORTA_ERR_FORMAT, "declares 4000 bytes of F32 but its entry"},
      {"huge_declared_size.bin", PORTA_ERR_FORMAT, "needs element 1099511627775"},
      {"huge_storage.bin", PORTA_ERR_FORMAT, "bad key or element count"},
      {"view_past_storage.bin", PORTA_ERR_FORMAT, "needs element 6 of its storage"},
      {"missing_storage.bin", PORTA_ERR_FORMAT, "storage '7' has no entry"},
      {"compressed.bin", PORTA_ERR_UNSUPPORTED, "is compressed (method 8)"},
      {"dotdot_entry.bin", PORTA_ERR_FORMAT, "refusing zip entry named \"../../x\""},
      {"truncated_zip.bin", PORTA_ERR_FORMAT, "truncated"},
      {"legacy_storage_past_file.bin", PORTA_ERR_FORMAT, "past the end of the file"},
      {"not_a_checkpoint.bin", PORTA_ERR_FORMAT, "neither a zip"},
  };
  char err[512], path[1024];
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    snprintf(path, sizeof(path), DATA "/pickle_bad/%s", cases[c].file);
    porta_weights *w = (porta_weights *)1;
    err[0] = '\0';
    porta_status s = porta_weights_open(&w, path, err, sizeof(err));
    const char *shown = strstr(err, "pickle_bad/");
    printf("hostile %-30s -> %s: %s\n", cases[c].file, porta_status_string(s), shown ? shown : err);
    CHECK(&checks, s == cases[c].status, "%s: status %d, expected %d", cases[c].file, s,
          cases[c].status);
    CHECK(&checks, w == NULL, "%s: handle not NULL", cases[c].file);
    CHECK(&checks, strstr(err, cases[c].words) != NULL, "%s: message lacks \"%s\"", cases[c].file,
          cases[c].words);
  }
  // The same layouts with honest content load: [[1, 2], [3, 4]].
  const char *good[3] = {DATA "/pickle_bad/good_fake.bin", DATA "/pickle_bad/legacy_good_fake.bin",
                         DATA "/pickle_bad/zip64_fake.bin"};
  for (int g = 0; g < 3; g++) {
    porta_weights *w = NULL;
    float v[4] = {0};
    CHECK(&checks, porta_weights_open(&w, good[g], err, sizeof(err)) == PORTA_OK, "%s", err);
    if (w == NULL) continue;
    CHECK(&checks,
          porta_weights_read_f32(w, porta_weights_find(w, "w"), v, 4, err, sizeof(err)) ==
                  PORTA_OK &&
              v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4,
          "%s values", good[g]);
    printf("honest %s: w = [%g %g %g %g]\n", strrchr(good[g], '/') + 1, (double)v[0], (double)v[1],
           (double)v[2], (double)v[3]);
    porta_weights_close(w);
  }
  // Nothing was executed: the payloads would have printed or created nothing we can see, but the
  // unpickler has no way to call anything; the marker below would exist if a shell had run.
  CHECK(&checks, access("/tmp/porta-was-pwned", F_OK) != 0, "a payload ran");
}

#define P(literal) literal, sizeof(literal) - 1
static void test_raw_pickles(void) {
  // The unpickler alone, on a few hand-made streams.
  static const struct {
    const char *bytes;
    size_t len;
    porta_status status;
  } cases[] = {
      {P("\x80\x02}q\x00X\x01\x00\x00\x00"
         "aK\x05s."),
       PORTA_OK}, // {'a': 5}
      {P("\x80\x02]q\x00(K\x01K\x02"
         "e."),
       PORTA_OK},                                         // [1, 2]
      {P("\x80\x02K\x01"), PORTA_ERR_FORMAT},             // no STOP
      {P("\x80\x02X\xff\xff\xff\x7f"), PORTA_ERR_FORMAT}, // string past the end
      {P("\x80\x02"
         "ccollections\nOrderedDict\nK\x01\x85R."),
       PORTA_ERR_FORMAT}, // with args
      {P("\x80\x02"
         "ctorch\nFloatStorage\n)R."),
       PORTA_ERR_FORMAT}, // calling a storage type
      {P("\x80\x02K\x01K\x02"
         "b."),
       PORTA_ERR_FORMAT},                                      // BUILD on an int
      {P("\x80\x02\x81."), PORTA_ERR_FORMAT},                  // NEWOBJ: not supported
      {P("\x80\x02K\x01r\xff\xff\xff\x7f."), PORTA_ERR_LIMIT}, // memo index far ahead
      {P("\x80\x02(e."), PORTA_ERR_FORMAT},                    // APPENDS without a list
  };
  char err[512];
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    porta_pickle p;
    err[0] = '\0';
    porta_status s = porta_pickle_load(&p, (const uint8_t *)cases[c].bytes, cases[c].len, NULL,
                                       "raw", err, sizeof(err));
    printf("raw pickle %zu -> %s %s\n", c, porta_status_string(s), err);
    CHECK(&checks, s == cases[c].status, "raw case %zu: %d, expected %d", c, s, cases[c].status);
    if (s == PORTA_OK) porta_pickle_free(&p);
  }
  // A stream of 1.1 million NONE opcodes stops at the value limit (bounded memory per byte).
  size_t n = (1u << 20) + 100000;
  uint8_t *many = malloc(n + 3);
  many[0] = 0x80;
  many[1] = 2;
  memset(many + 2, 'N', n);
  many[n + 2] = '.';
  porta_pickle p;
  porta_status s = porta_pickle_load(&p, many, n + 3, NULL, "many", err, sizeof(err));
  printf("1.1M values -> %s %s\n", porta_status_string(s), err);
  CHECK(&checks, s == PORTA_ERR_LIMIT, "value limit: %d", s);
  if (s == PORTA_OK) porta_pickle_free(&p);
  free(many);
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char buf[65536];
  size_t n;
  while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0) fwrite(buf, 1, n, out);
  if (in) fclose(in);
  if (out) fclose(out);
}

static void test_convert(const char *tmp) {
  char err[512], path[1200], out[1200];
  const char *sources[2] = {DATA "/tiny_bert_bin/pytorch_model.bin", DATA "/shared_zip.bin"};
  const char *refs[2] = {DATA "/tiny_bert_bin_ref.safetensors", DATA "/shared_ref.safetensors"};
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof(path), "%s/pytorch_model.bin", tmp);
    snprintf(out, sizeof(out), "%s/model.safetensors", tmp);
    copy_file(sources[k], path);
    CHECK(&checks, porta_checkpoint_convert(tmp, err, sizeof(err)) == PORTA_OK, "convert: %s", err);
    porta_weights *w = NULL, *ref = NULL;
    CHECK(&checks, porta_weights_open(&w, out, err, sizeof(err)) == PORTA_OK, "%s", err);
    CHECK(&checks, porta_weights_open(&ref, refs[k], err, sizeof(err)) == PORTA_OK, "%s", err);
    if (w && ref) {
      int n = compare_all(w, ref, "converted");
      printf("convert %s: %d tensors in model.safetensors, dtypes kept, bit for bit\n",
             strrchr(sources[k], '/') + 1, n);
    }
    porta_weights_close(w);
    porta_weights_close(ref);
  }
  CHECK(&checks,
        porta_checkpoint_convert(DATA "/config_bert", err, sizeof(err)) == PORTA_ERR_NOT_FOUND,
        "convert without a .bin");
}

// Real legacy checkpoints from the rxnfp wheel, checked against values torch recorded.
static void test_rxnfp(void) {
  const char *root = getenv("PORTA_RXNFP_DIR");
  if (root == NULL || root[0] == '\0') {
    printf("rxnfp: PORTA_RXNFP_DIR not set, skipped (pip download --no-deps rxnfp; unzip it; "
           "point PORTA_RXNFP_DIR at the folder holding rxnfp/)\n");
    return;
  }
  FILE *fp = fopen(DATA "/rxnfp_checks.json", "rb");
  CHECK(&checks, fp != NULL, "rxnfp_checks.json missing");
  if (fp == NULL) return;
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof(text) - 1, fp);
  fclose(fp);
  text[n] = '\0';
  cJSON *expected = cJSON_Parse(text);
  const cJSON *model;
  char err[512], path[2048];
  cJSON_ArrayForEach(model, expected) {
    snprintf(path, sizeof(path), "%s/rxnfp/models/transformers/%s", root, model->string);
    porta_weights *w = NULL;
    CHECK(&checks, porta_weights_open(&w, path, err, sizeof(err)) == PORTA_OK, "%s", err);
    if (w == NULL) continue;
    int count = (int)cJSON_GetObjectItem(model, "count")->valuedouble;
    CHECK(&checks, porta_weights_count(w) == count, "%s: %d tensors, torch saw %d", model->string,
          porta_weights_count(w), count);
    const cJSON *t;
    int checked = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(model, "tensors")) {
      const char *name = cJSON_GetObjectItem(t, "name")->valuestring;
      int i = porta_weights_find(w, name);
      CHECK(&checks, i >= 0, "%s: %s missing", model->string, name);
      if (i < 0) continue;
      size_t numel = (size_t)porta_weights_numel(w, i);
      double sum = 0.0;
      double first[4] = {0};
      if (porta_weights_dtype(w, i) == PORTA_WEIGHT_I64) {
        int64_t *v = calloc(numel + 1, 8);
        CHECK(&checks, porta_weights_read_i64(w, i, v, numel, err, sizeof(err)) == PORTA_OK, "%s",
              err);
        for (size_t k = 0; k < numel; k++) sum += (double)v[k];
        for (size_t k = 0; k < 4 && k < numel; k++) first[k] = (double)v[k];
        free(v);
      } else {
        float *v = calloc(numel + 1, 4);
        CHECK(&checks, porta_weights_read_f32(w, i, v, numel, err, sizeof(err)) == PORTA_OK, "%s",
              err);
        for (size_t k = 0; k < numel; k++) sum += (double)v[k];
        for (size_t k = 0; k < 4 && k < numel; k++) first[k] = (double)v[k];
        free(v);
      }
      double want = cJSON_GetObjectItem(t, "sum")->valuedouble;
      CHECK(&checks, fabs(sum - want) <= 1e-9 * (1.0 + fabs(want)) * (double)numel,
            "%s: %s sum %.12g vs %.12g", model->string, name, sum, want);
      const cJSON *f;
      int k = 0;
      cJSON_ArrayForEach(f, cJSON_GetObjectItem(t, "first")) {
        CHECK(&checks, first[k] == f->valuedouble, "%s: %s[%d] %.9g vs %.9g", model->string, name,
              k, first[k], f->valuedouble);
        k++;
      }
      checked++;
    }
    printf("rxnfp %-16s %-15s %d tensors; %d checked against torch (sum, first values)\n",
           model->string, porta_weights_format(w), porta_weights_count(w), checked);
    porta_weights_close(w);
  }
  cJSON_Delete(expected);
}

int main(void) {
  char tmp[] = PORTA_BINARY_DIR "/test_pickle-XXXXXX";
  if (mkdtemp(tmp) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  test_against_reference(DATA "/tiny_bert_bin/pytorch_model.bin",
                         DATA "/tiny_bert_bin_ref.safetensors", "pytorch-zip");
  test_against_reference(DATA "/tiny_bert_bin", DATA "/tiny_bert_bin_ref.safetensors",
                         "pytorch-zip");
  test_against_reference(DATA "/tiny_bert_bin_sharded", DATA "/tiny_bert_bin_ref.safetensors",
                         "pytorch-zip");
  test_against_reference(DATA "/shared_zip.bin", DATA "/shared_ref.safetensors", "pytorch-zip");
  test_against_reference(DATA "/shared_legacy.bin", DATA "/shared_ref.safetensors",
                         "pytorch-legacy");
  test_views();
  test_hostile();
  test_raw_pickles();
  test_convert(tmp);
  test_rxnfp();
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  return check_finish(&checks);
}
