/* RoBERTa byte-level BPE against transformers' RobertaTokenizerFast: the exact ids of ~300
 * fixture texts (tests/data/tokenizers/bpe_cases.json) with a small BPE trained by
 * tools/gen_tokenizer_fixtures.py, loaded from tokenizer.json and from vocab.json + merges.txt;
 * add_prefix_space; several threads sharing one tokenizer; lossless decoding; load errors. */
#include <pthread.h>

#include "test_tokenizer_common.h"

#define DATA PORTA_TEST_DATA "/tokenizers"

typedef struct bpe_files {
  char *config, *vocab, *merges;
  size_t config_len, vocab_len, merges_len;
} bpe_files;

static porta_status load_vocab_files(porta_tokenizer **tok, const bpe_files *f, const char *config,
                                     char *err, size_t err_size) {
  porta_tokenizer_files files = {.tokenizer_config_json = config,
                                 .tokenizer_config_json_len = config ? strlen(config) : 0,
                                 .vocab_json = f->vocab,
                                 .vocab_json_len = f->vocab_len,
                                 .merges_txt = f->merges,
                                 .merges_txt_len = f->merges_len};
  return porta_tokenizer_load_memory(tok, &files, err, err_size);
}

/* ---- threads: the word cache is shared ---- */
typedef struct thread_arg {
  const porta_tokenizer *tok;
  int mismatches;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  const char *texts[4] = {"Area man passionate defender of what he imagines",
                          "Scientists discover water on Mars -- again!", "café 😀 中文 it's",
                          "  whitespace\t\truns  "};
  int32_t first[4][64];
  int n_first[4];
  for (int round = 0; round < 200; round++) {
    for (int k = 0; k < 4; k++) {
      int32_t ids[64];
      int n = 0;
      if (porta_tokenizer_encode(a->tok, ids, 64, &n, texts[k], strlen(texts[k]), -1, NULL, 0)) {
        a->mismatches++;
        continue;
      }
      if (round == 0) {
        memcpy(first[k], ids, sizeof(ids));
        n_first[k] = n;
      } else if (n != n_first[k] || memcmp(ids, first[k], (size_t)n * sizeof(int32_t)) != 0) {
        a->mismatches++;
      }
    }
  }
  return NULL;
}

static void test_threads(const porta_tokenizer *tok) {
  pthread_t threads[4];
  thread_arg args[4];
  for (int t = 0; t < 4; t++) {
    args[t] = (thread_arg){tok, 0};
    pthread_create(&threads[t], NULL, thread_main, &args[t]);
  }
  int mismatches = 0;
  for (int t = 0; t < 4; t++) {
    pthread_join(threads[t], NULL);
    mismatches += args[t].mismatches;
  }
  CHECK(mismatches == 0, "%d encodes differed between threads", mismatches);
  printf("threads: 4 threads x 800 encodes on one tokenizer agree\n");
}

static void test_decode(const porta_tokenizer *tok) {
  const char *texts[3] = {"Hello world, café 😀!", "  two  spaces\tand\ttabs\n", "中文 <mask> text"};
  for (int k = 0; k < 3; k++) {
    int32_t ids[128];
    int n = 0;
    char out[256], err[256] = "";
    size_t out_len = 0;
    porta_status st =
        porta_tokenizer_encode(tok, ids, 128, &n, texts[k], strlen(texts[k]), -1, err, sizeof(err));
    if (!st)
      st = porta_tokenizer_decode(tok, out, sizeof(out), &out_len, ids, n, true, err, sizeof(err));
    /* <mask> swallows the space before it (lstrip) and is skipped as special */
    const char *want = k == 2 ? "中文 text" : texts[k];
    CHECK(st == PORTA_OK && strcmp(out, want) == 0, "decode \"%s\" -> \"%s\" (%s)", texts[k], out,
          err);
  }
  printf("decode: byte-level BPE restores the text exactly\n");
}

static void expect_error(porta_status st, porta_tokenizer *tok, porta_status want, const char *err,
                         const char *needle, const char *what) {
  CHECK(st == want && tok == NULL, "%s: status %d (want %d), message \"%s\"", what, st, want, err);
  CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
  printf("load error (%s): %s\n", what, err);
  porta_tokenizer_free(tok);
}

static void test_load_errors(const bpe_files *f) {
  char err[512] = "";
  porta_tokenizer *tok = NULL;
  porta_tokenizer_files files = {.vocab_json = f->vocab, .vocab_json_len = f->vocab_len};
  porta_status st = porta_tokenizer_load_memory(&tok, &files, err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_NOT_FOUND, err, "merges.txt", "vocab.json without merges.txt");

  bpe_files bad = *f;
  const char *vocab_no_unk = "{\"<s>\": 0, \"</s>\": 1, \"a\": 2}";
  bad.vocab = (char *)vocab_no_unk;
  bad.vocab_len = strlen(vocab_no_unk);
  bad.merges = "";
  bad.merges_len = 0;
  tok = NULL;
  st = load_vocab_files(&tok, &bad, NULL, err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_FORMAT, err, "<unk>", "vocab.json without <unk>");

  const char *not_object = "[1, 2, 3]";
  bad.vocab = (char *)not_object;
  bad.vocab_len = strlen(not_object);
  tok = NULL;
  st = load_vocab_files(&tok, &bad, NULL, err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_FORMAT, err, "vocab.json", "vocab.json that is an array");

  const char *merges_missing = "#version: 0.2\nt h\nzz qq\n";
  bad = *f;
  bad.merges = (char *)merges_missing;
  bad.merges_len = strlen(merges_missing);
  tok = NULL;
  st = load_vocab_files(&tok, &bad, NULL, err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_FORMAT, err, "line 3", "merges.txt with unknown tokens");

  const char *merges_three = "#version: 0.2\nt h e\n";
  bad.merges = (char *)merges_three;
  bad.merges_len = strlen(merges_three);
  tok = NULL;
  st = load_vocab_files(&tok, &bad, NULL, err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_FORMAT, err, "line 2", "merges.txt line with three tokens");

  st = porta_tokenizer_load(&tok, DATA "/bpe-missing", err, sizeof(err));
  expect_error(st, tok, PORTA_ERR_NOT_FOUND, err, "bpe-missing", "missing folder");
}

int main(void) {
  char err[512] = "";
  porta_tokenizer *tok = NULL;
  porta_status st = porta_tokenizer_load(&tok, DATA "/bpe", err, sizeof(err));
  if (st) {
    fprintf(stderr, "FAIL loading %s: %s\n", DATA "/bpe", err);
    return 1;
  }
  printf("loaded %s (tokenizer.json + tokenizer_config.json): %d tokens\n", DATA "/bpe",
         porta_tokenizer_vocab_size(tok));
  CHECK(porta_tokenizer_get_kind(tok) == PORTA_TOKENIZER_BPE, "kind");
  CHECK(porta_tokenizer_model_max_length(tok) == 64, "model_max_length %d",
        porta_tokenizer_model_max_length(tok));
  CHECK(porta_tokenizer_cls_id(tok) == 0 && porta_tokenizer_bos_id(tok) == 0 &&
            porta_tokenizer_pad_id(tok) == 1 && porta_tokenizer_sep_id(tok) == 2 &&
            porta_tokenizer_eos_id(tok) == 2 && porta_tokenizer_unk_id(tok) == 3 &&
            porta_tokenizer_mask_id(tok) == 4,
        "special ids cls %d pad %d sep %d unk %d mask %d", porta_tokenizer_cls_id(tok),
        porta_tokenizer_pad_id(tok), porta_tokenizer_sep_id(tok), porta_tokenizer_unk_id(tok),
        porta_tokenizer_mask_id(tok));
  CHECK(porta_tokenizer_token_to_id(tok, "Ġworld") >= 0, "Ġworld is in the vocabulary");
  run_cases(tok, DATA "/bpe_cases.json", "bpe from tokenizer.json");
  run_cases(tok, DATA "/bpe_cases.json", "bpe from tokenizer.json (word cache warm)");
  test_threads(tok);
  test_decode(tok);

  bpe_files f = {0};
  f.config = read_all(DATA "/bpe/tokenizer_config.json", &f.config_len);
  f.vocab = read_all(DATA "/bpe/vocab.json", &f.vocab_len);
  f.merges = read_all(DATA "/bpe/merges.txt", &f.merges_len);
  porta_tokenizer *tok_files = NULL;
  st = load_vocab_files(&tok_files, &f, f.config, err, sizeof(err));
  CHECK(st == PORTA_OK, "vocab.json + merges.txt: %s", err);
  if (!st) {
    CHECK(porta_tokenizer_vocab_size(tok_files) == porta_tokenizer_vocab_size(tok),
          "vocab sizes %d vs %d", porta_tokenizer_vocab_size(tok_files),
          porta_tokenizer_vocab_size(tok));
    run_cases(tok_files, DATA "/bpe_cases.json", "bpe from vocab.json + merges.txt");
  }
  porta_tokenizer_free(tok_files);

  /* tokenizer.json alone: RoBERTa's defaults, no length limit */
  size_t tj_len = 0;
  char *tj = read_all(DATA "/bpe/tokenizer.json", &tj_len);
  tok_files = NULL;
  st = porta_tokenizer_load_memory(
      &tok_files, &(porta_tokenizer_files){.tokenizer_json = tj, .tokenizer_json_len = tj_len}, err,
      sizeof(err));
  CHECK(st == PORTA_OK, "tokenizer.json alone: %s", err);
  if (!st) {
    int32_t ids[16], want[5] = {0, 669, 662, 4, 2};
    int n = 0;
    st = porta_tokenizer_encode(tok_files, ids, 16, &n, "Hello world <mask>", 18, 0, err,
                                sizeof(err));
    CHECK(st == PORTA_OK && n == 5 && memcmp(ids, want, sizeof(want)) == 0,
          "tokenizer.json alone: \"Hello world <mask>\" -> %d ids", n);
    CHECK(porta_tokenizer_model_max_length(tok_files) == INT32_MAX, "model_max_length %d",
          porta_tokenizer_model_max_length(tok_files));
    printf("tokenizer.json alone: <s> Hello Ġworld <mask> </s> = 0 669 662 4 2, no length limit\n");
  }
  porta_tokenizer_free(tok_files);
  free(tj);

  /* add_prefix_space from tokenizer_config.json */
  tok_files = NULL;
  const char *prefix_cfg = "{\"add_prefix_space\": true, \"model_max_length\": 64, "
                           "\"mask_token\": {\"content\": \"<mask>\", \"lstrip\": true}}";
  st = load_vocab_files(&tok_files, &f, prefix_cfg, err, sizeof(err));
  CHECK(st == PORTA_OK, "add_prefix_space config: %s", err);
  if (!st) run_cases(tok_files, DATA "/bpe_prefix_space_cases.json", "bpe with add_prefix_space");
  porta_tokenizer_free(tok_files);

  test_load_errors(&f);
  free(f.config);
  free(f.vocab);
  free(f.merges);
  porta_tokenizer_free(tok);
  if (g_failures) {
    fprintf(stderr, "test_tokenizer_bpe: %d failures\n", g_failures);
    return 1;
  }
  printf("test_tokenizer_bpe: all passed\n");
  return 0;
}
