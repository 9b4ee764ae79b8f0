/* libFuzzer: arbitrary bytes as text through both fixture tokenizers (WordPiece from
 * tests/data/tokenizers/wordpiece, byte-level BPE from tests/data/tokenizers/bpe): encode with
 * several max_length / capacity settings, then decode. Invalid UTF-8 must be a PORTA_ERR_FORMAT,
 * never a crash. The data folder is $PORTA_TEST_DATA, else PORTA_TEST_DATA, else tests/data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porta/text.h"

#ifndef PORTA_TEST_DATA
#define PORTA_TEST_DATA "tests/data"
#endif

static porta_tokenizer *load(const char *name) {
  const char *data = getenv("PORTA_TEST_DATA");
  char dir[4096], err[512];
  snprintf(dir, sizeof(dir), "%s/tokenizers/%s", data ? data : PORTA_TEST_DATA, name);
  porta_tokenizer *tok = NULL;
  if (porta_tokenizer_load(&tok, dir, err, sizeof(err))) {
    fprintf(stderr, "fuzz_tokenizer_encode: %s\n", err);
    abort(); /* the harness cannot run without its fixtures */
  }
  return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static porta_tokenizer *toks[2];
  if (!toks[0]) {
    toks[0] = load("wordpiece");
    toks[1] = load("bpe");
  }
  if (size == 0) return 0;
  uint8_t mode = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  static const int max_lengths[4] = {-1, 0, 3, 17};
  int max_length = max_lengths[mode & 3];
  int capacity = (mode & 4) ? 8 : 4096;
  for (int t = 0; t < 2; t++) {
    int32_t ids[4096];
    int n = -1;
    char err[256];
    porta_status st =
        porta_tokenizer_encode(toks[t], ids, capacity, &n, text, len, max_length, err, sizeof(err));
    if (st == PORTA_OK) {
      if (n < 2 || n > capacity) abort();
      for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= porta_tokenizer_vocab_size(toks[t])) abort();
      if (max_length > 0 && n > max_length) abort();
      char out[1024];
      size_t out_len;
      st = porta_tokenizer_decode(toks[t], out, sizeof(out), &out_len, ids, n, mode & 8, err,
                                  sizeof(err));
      if (st != PORTA_OK && st != PORTA_ERR_LIMIT) abort();
    } else if (st != PORTA_ERR_FORMAT && st != PORTA_ERR_LIMIT) {
      abort(); /* only bad UTF-8 or a full buffer may fail */
    } else if (st == PORTA_ERR_LIMIT && n <= capacity) {
      abort();
    }
  }
  return 0;
}
