/* The real all-MiniLM-L6-v2 folder ($PORTA_MINILM_DIR, else <source>/models/all-MiniLM-L6-v2;
 * skipped with a message when absent): porta_tokenizer_load reads its tokenizer.json (which has
 * truncation + padding to 128 built in: both must be ignored) and gives the fixture ids; the same
 * with vocab.txt only; load time. */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "test_tokenizer_common.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void) {
  const char *dir = getenv("PORTA_MINILM_DIR");
  if (!dir || !*dir) dir = PORTA_SOURCE_DIR "/models/all-MiniLM-L6-v2";
  char path[4096];
  snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
  struct stat sb;
  if (stat(path, &sb) != 0) {
    printf("SKIP test_tokenizer_load: %s not found (set PORTA_MINILM_DIR or run tools/setup.sh "
           "--model)\n",
           path);
    return 0;
  }
  char err[512] = "";
  porta_tokenizer *tok = NULL;
  double t0 = now_ms();
  porta_status st = porta_tokenizer_load(&tok, dir, err, sizeof(err));
  double t1 = now_ms();
  if (st) {
    fprintf(stderr, "FAIL loading %s: %s\n", dir, err);
    return 1;
  }
  printf("loaded %s (tokenizer.json) in %.1f ms: %d tokens, model_max_length %d\n", dir, t1 - t0,
         porta_tokenizer_vocab_size(tok), porta_tokenizer_model_max_length(tok));
  CHECK(porta_tokenizer_vocab_size(tok) == 30522, "vocab size %d", porta_tokenizer_vocab_size(tok));
  CHECK(porta_tokenizer_model_max_length(tok) == 512,
        "model_max_length %d (tokenizer_config.json "
        "says 512; tokenizer.json's truncation to 128 must not apply)",
        porta_tokenizer_model_max_length(tok));
  /* No fixed padding: a short text stays short. */
  int32_t ids[8];
  int n = 0;
  st = porta_tokenizer_encode(tok, ids, 8, &n, "hello world", 11, 0, err, sizeof(err));
  CHECK(st == PORTA_OK && n == 4 && ids[0] == 101 && ids[1] == 7592 && ids[2] == 2088 &&
            ids[3] == 102,
        "\"hello world\" -> %d ids (%s)", n, err);
  run_cases(tok, PORTA_TEST_DATA "/tokenizers/wordpiece_cases.json",
            "MiniLM folder (tokenizer.json)");
  porta_tokenizer_free(tok);

  /* vocab.txt + tokenizer_config.json of the same folder, without tokenizer.json */
  size_t vocab_len = 0, cfg_len = 0;
  snprintf(path, sizeof(path), "%s/vocab.txt", dir);
  char *vocab = read_all(path, &vocab_len);
  snprintf(path, sizeof(path), "%s/tokenizer_config.json", dir);
  char *cfg = read_all(path, &cfg_len);
  CHECK(vocab && cfg, "reading %s/vocab.txt and tokenizer_config.json", dir);
  if (vocab && cfg) {
    porta_tokenizer_files files = {.tokenizer_config_json = cfg,
                                   .tokenizer_config_json_len = cfg_len,
                                   .vocab_txt = vocab,
                                   .vocab_txt_len = vocab_len};
    tok = NULL;
    t0 = now_ms();
    st = porta_tokenizer_load_memory(&tok, &files, err, sizeof(err));
    t1 = now_ms();
    CHECK(st == PORTA_OK, "vocab.txt: %s", err);
    if (!st) {
      printf("loaded its vocab.txt in %.1f ms\n", t1 - t0);
      run_cases(tok, PORTA_TEST_DATA "/tokenizers/wordpiece_cases.json",
                "MiniLM folder (vocab.txt)");
    }
    porta_tokenizer_free(tok);
  }
  free(vocab);
  free(cfg);
  if (g_failures) {
    fprintf(stderr, "test_tokenizer_load: %d failures\n", g_failures);
    return 1;
  }
  printf("test_tokenizer_load: all passed\n");
  return 0;
}
