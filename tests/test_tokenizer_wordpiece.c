/* BERT WordPiece against transformers' BertTokenizer: the exact ids of ~300 fixture texts
 * (tests/data/tokenizers/wordpiece_cases.json, from tools/gen_tokenizer_fixtures.py) with the
 * all-MiniLM-L6-v2 vocabulary, loaded from vocab.txt and from a tokenizer.json; invalid UTF-8;
 * truncation and capacity; batching; decoding; load errors. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test_tokenizer_common.h"

#define DATA PORTA_TEST_DATA "/tokenizers"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* tokenizer.json = MiniLM's file with its vocab filled back in from vocab.txt (the skeleton
 * keeps the fixture small), plus extra added tokens when not NULL. Returns a malloc'd string. */
static char *build_tokenizer_json(const cJSON *extra_added) {
  size_t len;
  char *skeleton = read_all(DATA "/wordpiece/tokenizer_skeleton.json", &len);
  char *vocab = read_all(DATA "/wordpiece/vocab.txt", NULL);
  if (!skeleton || !vocab) return NULL;
  cJSON *root = cJSON_ParseWithLength(skeleton, len);
  cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  cJSON *v = cJSON_CreateObject();
  int id = 0;
  for (char *line = vocab; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON_AddItemToObject(v, line, cJSON_CreateNumber(id++));
    if (!nl) break;
    line = nl + 1;
  }
  cJSON_ReplaceItemInObjectCaseSensitive(model, "vocab", v);
  const cJSON *a;
  cJSON_ArrayForEach(a, extra_added) {
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(root, "added_tokens"),
                         cJSON_Duplicate(a, true));
  }
  char *out = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  free(skeleton);
  free(vocab);
  return out;
}

/* tokenizer_config.json overrides (do_lower_case, strip_accents, tokenize_chinese_chars) over
 * the same vocabulary: wordpiece_options_cases.json. */
static void test_options(void) {
  size_t len, vocab_len, cfg_len;
  char *json = read_all(DATA "/wordpiece_options_cases.json", &len);
  char *vocab = read_all(DATA "/wordpiece/vocab.txt", &vocab_len);
  char *base = read_all(DATA "/wordpiece/tokenizer_config.json", &cfg_len);
  cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
  const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "option_sets");
  CHECK(cJSON_IsArray(sets) && vocab && base, "reading wordpiece_options_cases.json");
  const cJSON *set;
  cJSON_ArrayForEach(set, sets) {
    cJSON *cfg = cJSON_ParseWithLength(base, cfg_len);
    const cJSON *opt;
    cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(set, "config")) {
      cJSON_DeleteItemFromObjectCaseSensitive(cfg, opt->string);
      cJSON_AddItemToObject(cfg, opt->string, cJSON_Duplicate(opt, true));
    }
    char *cfg_text = cJSON_PrintUnformatted(cfg);
    char *label = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(set, "config"));
    porta_tokenizer_files files = {.tokenizer_config_json = cfg_text,
                                   .tokenizer_config_json_len = strlen(cfg_text),
                                   .vocab_txt = vocab,
                                   .vocab_txt_len = vocab_len};
    porta_tokenizer *tok = NULL;
    char err[512] = "";
    porta_status st = porta_tokenizer_load_memory(&tok, &files, err, sizeof(err));
    CHECK(st == PORTA_OK, "%s: %s", label, err);
    if (!st) run_case_array(tok, cJSON_GetObjectItemCaseSensitive(set, "cases"), label);
    porta_tokenizer_free(tok);
    free(cfg_text);
    free(label);
    cJSON_Delete(cfg);
  }
  cJSON_Delete(root);
  free(json);
  free(vocab);
  free(base);
}

/* Tokens added with add_tokens(): normalized ones are matched in the lowercased text. */
static void test_added_tokens(const char *cfg, size_t cfg_len) {
  size_t len;
  char *json = read_all(DATA "/wordpiece_added_cases.json", &len);
  cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
  char *tj = build_tokenizer_json(cJSON_GetObjectItemCaseSensitive(root, "added_tokens"));
  CHECK(root && tj, "reading wordpiece_added_cases.json");
  porta_tokenizer *tok = NULL;
  char err[512] = "";
  porta_tokenizer_files files = {.tokenizer_config_json = cfg,
                                 .tokenizer_config_json_len = cfg_len,
                                 .tokenizer_json = tj,
                                 .tokenizer_json_len = tj ? strlen(tj) : 0};
  porta_status st = porta_tokenizer_load_memory(&tok, &files, err, sizeof(err));
  CHECK(st == PORTA_OK, "tokenizer.json with added tokens: %s", err);
  if (!st) {
    CHECK(porta_tokenizer_vocab_size(tok) == 30526, "vocab size %d",
          porta_tokenizer_vocab_size(tok));
    run_case_array(tok, cJSON_GetObjectItemCaseSensitive(root, "cases"),
                   "wordpiece with added tokens ([URL], Covid, new york, <Special>)");
  }
  porta_tokenizer_free(tok);
  free(tj);
  cJSON_Delete(root);
  free(json);
}

static void test_invalid_utf8(const porta_tokenizer *tok) {
  static const struct {
    const char *bytes;
    size_t len;
    const char *offset;
  } bad[] = {
      {"\xff", 1, "offset 0"},                 /* never a UTF-8 byte */
      {"abc\xc3", 4, "offset 3"},              /* truncated 2-byte sequence */
      {"\xc0\xaf", 2, "offset 0"},             /* overlong '/' */
      {"ok \xe0\x80\xaf", 6, "offset 3"},      /* overlong 3-byte */
      {"\xed\xa0\x80", 3, "offset 0"},         /* surrogate U+D800 */
      {"x\xf4\x90\x80\x80", 5, "offset 1"},    /* above U+10FFFF */
      {"ok\x80", 3, "offset 2"},               /* lone continuation byte */
      {"hello w\xe2\x82", 9, "offset 7"},      /* truncated at the end */
      {"caf\xc3\xa9 \xc3\x28", 8, "offset 6"}, /* bad continuation after a good é */
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    int32_t ids[64];
    int n = -1;
    char err[256] = "";
    porta_status st =
        porta_tokenizer_encode(tok, ids, 64, &n, bad[k].bytes, bad[k].len, -1, err, sizeof(err));
    CHECK(st == PORTA_ERR_FORMAT, "invalid UTF-8 case %zu: status %d, want PORTA_ERR_FORMAT", k,
          st);
    CHECK(strstr(err, bad[k].offset) != NULL, "case %zu: message \"%s\" lacks \"%s\"", k, err,
          bad[k].offset);
  }
  printf("invalid UTF-8: %zu inputs give PORTA_ERR_FORMAT with the byte offset\n",
         sizeof(bad) / sizeof(bad[0]));
}

static void test_limits(const porta_tokenizer *tok) {
  const char *text = "the quick brown fox jumps over the lazy dog";
  int32_t ids[64];
  int n = 0;
  char err[256] = "";
  porta_status st =
      porta_tokenizer_encode(tok, ids, 5, &n, text, strlen(text), -1, err, sizeof(err));
  CHECK(st == PORTA_ERR_LIMIT && n == 11, "capacity 5: status %d, n %d (want LIMIT, 11)", st, n);
  st = porta_tokenizer_encode(tok, ids, 64, &n, text, strlen(text), 1, err, sizeof(err));
  CHECK(st == PORTA_ERR_INVALID_ARGUMENT, "max_length 1 < 2 specials: status %d", st);
  st = porta_tokenizer_encode(tok, ids, 64, &n, text, strlen(text), 2, err, sizeof(err));
  CHECK(st == PORTA_OK && n == 2 && ids[0] == 101 && ids[1] == 102, "max_length 2: %d ids", n);
  st = porta_tokenizer_encode(tok, ids, 64, &n, "", 0, 0, err, sizeof(err));
  CHECK(st == PORTA_OK && n == 2, "empty text: status %d, n %d", st, n);
  st = porta_tokenizer_encode(tok, ids, 64, &n, NULL, 0, 0, err, sizeof(err));
  CHECK(st == PORTA_OK && n == 2, "NULL text of length 0: status %d, n %d", st, n);
  printf("limits: capacity, max_length below the specials and empty text behave\n");
}

/* Every batch call writes nothing past the capacity it is given: guard values around both
 * outputs stay as they were, and a batch that does not fit is PORTA_ERR_LIMIT with the length it
 * needed. (max_length 0 resolves to model_max_length, 512: the case that wrote batch × 512 ids
 * into a 32-value buffer before.) */
enum { GUARD = 8 };
static bool guards_intact(const int32_t *buf, int64_t capacity) {
  for (int g = 0; g < GUARD; g++)
    if (buf[g] != 0x5a5a5a5a || buf[GUARD + capacity + g] != 0x5a5a5a5a) return false;
  return true;
}

static void test_batch_capacity(const porta_tokenizer *tok, const int32_t *const *rows,
                                const int *row_lens) {
  const char *texts[4] = {"the quick brown fox jumps over the lazy dog", "a", "b", "c"};
  int32_t ids[GUARD + 32 + GUARD], mask[GUARD + 32 + GUARD];
  char err[256] = "";
  for (int max_length = 0; max_length <= 64; max_length += 64) {
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) ids[k] = mask[k] = 0x5a5a5a5a;
    int L = -1;
    /* lens NULL: NUL-terminated texts; 4 rows of 11 ids need 44 values, 32 are given */
    porta_status st = porta_tokenizer_encode_batch(tok, ids + GUARD, mask + GUARD, 32, &L, texts,
                                                   NULL, 4, max_length, err, sizeof(err));
    CHECK(st == PORTA_ERR_LIMIT && L == 11,
          "encode_batch max_length %d into 32 values: status %d, seq_len %d (want LIMIT, 11)",
          max_length, st, L);
    CHECK(guards_intact(ids, 32) && guards_intact(mask, 32),
          "encode_batch max_length %d wrote past its buffers", max_length);
    for (int k = GUARD; k < GUARD + 32; k++)
      if (ids[k] != 0x5a5a5a5a || mask[k] != 0x5a5a5a5a) {
        CHECK(false, "encode_batch max_length %d wrote into buffers too small", max_length);
        break;
      }
    st = porta_tokenizer_encode_batch(tok, ids + GUARD, mask + GUARD, 32, &L, texts + 1, NULL, 3,
                                      max_length, err, sizeof(err));
    CHECK(st == PORTA_OK && L == 3 && guards_intact(ids, 32) && guards_intact(mask, 32),
          "encode_batch of 3 short texts into 32 values: status %d %s, seq_len %d", st, err, L);
  }
  for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) ids[k] = mask[k] = 0x5a5a5a5a;
  int L = -1;
  porta_status st = porta_tokenizer_pad_batch(ids + GUARD, mask + GUARD, 11, &L, rows, row_lens, 2,
                                              16, 0, err, sizeof(err));
  CHECK(st == PORTA_ERR_LIMIT && L == 6 && guards_intact(ids, 11) && guards_intact(mask, 11),
        "pad_batch 2 x 6 into 11 values: status %d, seq_len %d", st, L);
  st = porta_tokenizer_pad_batch(ids + GUARD, mask + GUARD, 12, &L, rows, row_lens, 2, 16, 0, err,
                                 sizeof(err));
  CHECK(st == PORTA_OK && L == 6 && guards_intact(ids, 12) && guards_intact(mask, 12),
        "pad_batch 2 x 6 into 12 values: status %d, seq_len %d", st, L);
}

static void test_batch_and_decode(const porta_tokenizer *tok) {
  const char *texts[3] = {"hello world", "a", "the quick brown fox"};
  size_t lens[3] = {11, 1, 19};
  int32_t ids[3 * 16], mask[3 * 16];
  int L = 0;
  char err[256] = "";
  porta_status st = porta_tokenizer_encode_batch(tok, ids, mask, 3 * 16, &L, texts, lens, 3, 16,
                                                 err, sizeof(err));
  /* [CLS] the quick brown fox [SEP] = 6 ids; "a" -> [CLS] a [SEP] + 3 pads */
  CHECK(st == PORTA_OK && L == 6, "encode_batch: status %d %s, seq_len %d (want 6)", st, err, L);
  if (st == PORTA_OK && L == 6) {
    int32_t want_row1[6] = {101, 1037, 102, 0, 0, 0};
    int32_t want_mask1[6] = {1, 1, 1, 0, 0, 0};
    CHECK(memcmp(ids + 6, want_row1, sizeof(want_row1)) == 0, "row 1 ids %d %d %d %d", ids[6],
          ids[7], ids[8], ids[9]);
    CHECK(memcmp(mask + 6, want_mask1, sizeof(want_mask1)) == 0, "row 1 mask");
    CHECK(ids[0] == 101 && ids[1] == 7592 && ids[2] == 2088 && ids[3] == 102 && ids[4] == 0,
          "row 0: %d %d %d %d %d", ids[0], ids[1], ids[2], ids[3], ids[4]);
  }
  const int32_t *rows[2] = {ids, ids + 6};
  int row_lens[2] = {6, 3};
  int32_t packed[12];
  st = porta_tokenizer_pad_batch(packed, NULL, 12, &L, rows, row_lens, 2, 5, 0, err, sizeof(err));
  CHECK(st == PORTA_ERR_LIMIT, "pad_batch: a row of 6 with max_seq_len 5: status %d", st);
  test_batch_capacity(tok, rows, row_lens);

  const char *text = "Hello, World! It's unaffable.";
  int32_t enc[64];
  int n = 0;
  st = porta_tokenizer_encode(tok, enc, 64, &n, text, strlen(text), 0, err, sizeof(err));
  char out[256];
  size_t out_len = 0;
  if (!st)
    st = porta_tokenizer_decode(tok, out, sizeof(out), &out_len, enc, n, true, err, sizeof(err));
  /* transformers' decode gives the same: its WordPiece decoder cleans up token by token */
  CHECK(st == PORTA_OK && strcmp(out, "hello, world! it ' s unaffable.") == 0, "decode: \"%s\"",
        out);
  int32_t bad_ids[3] = {101, 7592, 99999};
  st = porta_tokenizer_decode(tok, out, sizeof(out), &out_len, bad_ids, 3, false, err, sizeof(err));
  CHECK(st == PORTA_ERR_INVALID_ARGUMENT && strstr(err, "99999"), "decode of id 99999: %d %s", st,
        err);
  char small[4];
  st = porta_tokenizer_decode(tok, small, sizeof(small), &out_len, enc, n, true, err, sizeof(err));
  CHECK(st == PORTA_ERR_LIMIT && out_len == 31 && strcmp(small, "hel") == 0,
        "decode into 4 bytes: status %d, needs %zu, \"%s\"", st, out_len, small);
  CHECK(strcmp(porta_tokenizer_id_to_token(tok, 2088), "world") == 0, "id 2088 -> %s",
        porta_tokenizer_id_to_token(tok, 2088));
  CHECK(porta_tokenizer_token_to_id(tok, "##able") == 3085, "##able -> %d",
        porta_tokenizer_token_to_id(tok, "##able"));
  CHECK(porta_tokenizer_id_to_token(tok, 30522) == NULL, "id 30522 is past the vocabulary");
  printf("batch: [3, %d] ids + attention_mask padded with [PAD]; decode gives \"%s\"\n", 6, out);
}

static void expect_load_error(const porta_tokenizer_files *files, porta_status want,
                              const char *needle, const char *what) {
  porta_tokenizer *tok = NULL;
  char err[512] = "";
  porta_status st = porta_tokenizer_load_memory(&tok, files, err, sizeof(err));
  CHECK(st == want && tok == NULL, "%s: status %d (want %d), message \"%s\"", what, st, want, err);
  CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
  printf("load error (%s): %s\n", what, err);
  porta_tokenizer_free(tok);
}

static void test_load_errors(void) {
  porta_tokenizer *tok = NULL;
  char err[512] = "";
  porta_status st = porta_tokenizer_load(&tok, DATA "/no-such-folder", err, sizeof(err));
  CHECK(st == PORTA_ERR_NOT_FOUND && strstr(err, "no-such-folder"), "missing folder: %d %s", st,
        err);
  char empty[] = "/tmp/porta-tokenizer-test-XXXXXX"; /* a folder without tokenizer files */
  CHECK(mkdtemp(empty) != NULL, "mkdtemp");
  st = porta_tokenizer_load(&tok, empty, err, sizeof(err));
  CHECK(st == PORTA_ERR_NOT_FOUND && strstr(err, "vocab.txt"), "empty folder: %d %s", st, err);
  printf("load error (empty folder): %s\n", err);
  rmdir(empty);

  const char *no_unk = "[PAD]\n[CLS]\n[SEP]\nhello\n";
  expect_load_error(&(porta_tokenizer_files){.vocab_txt = no_unk, .vocab_txt_len = strlen(no_unk)},
                    PORTA_ERR_FORMAT, "[UNK]", "vocab.txt without [UNK]");
  const char *no_cls = "[PAD]\n[UNK]\n[SEP]\nhello\n";
  expect_load_error(&(porta_tokenizer_files){.vocab_txt = no_cls, .vocab_txt_len = strlen(no_cls)},
                    PORTA_ERR_FORMAT, "[CLS]", "vocab.txt without [CLS]");
  expect_load_error(&(porta_tokenizer_files){.vocab_txt = "", .vocab_txt_len = 0}, PORTA_ERR_FORMAT,
                    "empty", "empty vocab.txt");
  const char *broken = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0";
  expect_load_error(
      &(porta_tokenizer_files){.tokenizer_json = broken, .tokenizer_json_len = strlen(broken)},
      PORTA_ERR_FORMAT, "tokenizer.json", "truncated tokenizer.json");
  const char *unigram = "{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}";
  expect_load_error(
      &(porta_tokenizer_files){.tokenizer_json = unigram, .tokenizer_json_len = strlen(unigram)},
      PORTA_ERR_UNSUPPORTED, "Unigram", "Unigram tokenizer.json");
  const char *bad_id = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": -3}}}";
  expect_load_error(
      &(porta_tokenizer_files){.tokenizer_json = bad_id, .tokenizer_json_len = strlen(bad_id)},
      PORTA_ERR_FORMAT, "[UNK]", "negative id in tokenizer.json");
  const char *bad_cfg = "{\"do_lower_case\": tru";
  const char *vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
  expect_load_error(&(porta_tokenizer_files){.tokenizer_config_json = bad_cfg,
                                             .tokenizer_config_json_len = strlen(bad_cfg),
                                             .vocab_txt = vocab,
                                             .vocab_txt_len = strlen(vocab)},
                    PORTA_ERR_FORMAT, "tokenizer_config.json", "corrupt tokenizer_config.json");
}

int main(void) {
  char err[512] = "";
  porta_tokenizer *tok = NULL;
  double t0 = now_ms();
  porta_status st = porta_tokenizer_load(&tok, DATA "/wordpiece", err, sizeof(err));
  double t1 = now_ms();
  if (st) {
    fprintf(stderr, "FAIL loading %s: %s\n", DATA "/wordpiece", err);
    return 1;
  }
  printf("loaded vocab.txt + tokenizer_config.json in %.1f ms: %d tokens\n", t1 - t0,
         porta_tokenizer_vocab_size(tok));
  CHECK(porta_tokenizer_get_kind(tok) == PORTA_TOKENIZER_WORDPIECE, "kind");
  CHECK(porta_tokenizer_vocab_size(tok) == 30522, "vocab size %d", porta_tokenizer_vocab_size(tok));
  CHECK(porta_tokenizer_model_max_length(tok) == 512, "model_max_length %d",
        porta_tokenizer_model_max_length(tok));
  CHECK(porta_tokenizer_pad_id(tok) == 0 && porta_tokenizer_unk_id(tok) == 100 &&
            porta_tokenizer_cls_id(tok) == 101 && porta_tokenizer_sep_id(tok) == 102 &&
            porta_tokenizer_mask_id(tok) == 103 && porta_tokenizer_bos_id(tok) == -1,
        "special ids pad %d unk %d cls %d sep %d mask %d bos %d", porta_tokenizer_pad_id(tok),
        porta_tokenizer_unk_id(tok), porta_tokenizer_cls_id(tok), porta_tokenizer_sep_id(tok),
        porta_tokenizer_mask_id(tok), porta_tokenizer_bos_id(tok));
  printf("loaded vocab.txt in %.1f ms\n", t1 - t0);
  run_cases(tok, DATA "/wordpiece_cases.json", "wordpiece from vocab.txt");
  run_cases(tok, DATA "/wordpiece_unicode_cases.json", "wordpiece, code points of every plane");
  test_options();
  test_invalid_utf8(tok);
  test_limits(tok);
  test_batch_and_decode(tok);

  /* The same from tokenizer.json (in memory) + tokenizer_config.json. */
  char *tj = build_tokenizer_json(NULL);
  size_t cfg_len;
  char *cfg = read_all(DATA "/wordpiece/tokenizer_config.json", &cfg_len);
  porta_tokenizer *tok_json = NULL;
  if (!tj || !cfg) {
    fprintf(stderr, "FAIL cannot build tokenizer.json from the skeleton\n");
    g_failures++;
  } else {
    porta_tokenizer_files files = {.tokenizer_config_json = cfg,
                                   .tokenizer_config_json_len = cfg_len,
                                   .tokenizer_json = tj,
                                   .tokenizer_json_len = strlen(tj)};
    t0 = now_ms();
    st = porta_tokenizer_load_memory(&tok_json, &files, err, sizeof(err));
    t1 = now_ms();
    CHECK(st == PORTA_OK, "tokenizer.json: %s", err);
    if (!st) {
      printf("loaded tokenizer.json (%zu bytes) in %.1f ms\n", strlen(tj), t1 - t0);
      CHECK(porta_tokenizer_vocab_size(tok_json) == 30522, "vocab size %d",
            porta_tokenizer_vocab_size(tok_json));
      CHECK(porta_tokenizer_model_max_length(tok_json) == 512,
            "model_max_length %d: tokenizer.json's truncation to 128 must not apply",
            porta_tokenizer_model_max_length(tok_json));
      run_cases(tok_json, DATA "/wordpiece_cases.json", "wordpiece from tokenizer.json");
    }
  }
  porta_tokenizer_free(tok_json);
  if (cfg) test_added_tokens(cfg, cfg_len);
  free(tj);
  free(cfg);
  test_load_errors();
  porta_tokenizer_free(tok);
  if (g_failures) {
    fprintf(stderr, "test_tokenizer_wordpiece: %d failures\n", g_failures);
    return 1;
  }
  printf("test_tokenizer_wordpiece: all passed\n");
  return 0;
}
