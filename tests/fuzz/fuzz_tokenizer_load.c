/* libFuzzer: arbitrary bytes as tokenizer files through porta_tokenizer_load_memory. The first
 * byte picks the files; a NUL byte separates two files where a mode needs two:
 *   0 vocab.txt            1 tokenizer.json          2 vocab.json NUL merges.txt
 *   3 tokenizer_config.json (+ a small valid vocab.txt)   4 tokenizer_config.json NUL
 * tokenizer.json A load that succeeds must encode a few texts (and the input itself) without
 * crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porta/text.h"

static void exercise(const porta_tokenizer *tok, const char *extra, size_t extra_len) {
  static const char *const texts[] = {"hello world", "Héllo, wörld! [MASK] <mask> 中文 😀", "",
                                      "it's  a\ttest\n", "[CLS][SEP]<s></s>"};
  int32_t ids[512];
  int n;
  char err[256];
  for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
    if (porta_tokenizer_encode(tok, ids, 512, &n, texts[k], strlen(texts[k]), 0, err,
                               sizeof(err)) == PORTA_OK) {
      char out[512];
      size_t out_len;
      porta_tokenizer_decode(tok, out, sizeof(out), &out_len, ids, n, false, err, sizeof(err));
    }
  }
  porta_tokenizer_encode(tok, ids, 512, &n, extra, extra_len, -1, err, sizeof(err));
  for (int32_t id = -1; id < 8; id++) porta_tokenizer_id_to_token(tok, id);
  porta_tokenizer_token_to_id(tok, "hello");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int mode = data[0] % 5;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  const char *nul = memchr(body, '\0', len);
  const char *first = body, *second = nul ? nul + 1 : body + len;
  size_t first_len = nul ? (size_t)(nul - body) : len;
  size_t second_len = (size_t)(body + len - second);
  static const char small_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##lo\nworld\n";
  porta_tokenizer_files files = {0};
  switch (mode) {
  case 0:
    files.vocab_txt = body;
    files.vocab_txt_len = len;
    break;
  case 1:
    files.tokenizer_json = body;
    files.tokenizer_json_len = len;
    break;
  case 2:
    files.vocab_json = first;
    files.vocab_json_len = first_len;
    files.merges_txt = second;
    files.merges_txt_len = second_len;
    break;
  case 3:
    files.tokenizer_config_json = body;
    files.tokenizer_config_json_len = len;
    files.vocab_txt = small_vocab;
    files.vocab_txt_len = sizeof(small_vocab) - 1;
    break;
  default:
    files.tokenizer_config_json = first;
    files.tokenizer_config_json_len = first_len;
    files.tokenizer_json = second;
    files.tokenizer_json_len = second_len;
    break;
  }
  porta_tokenizer *tok = NULL;
  char err[512];
  porta_status st = porta_tokenizer_load_memory(&tok, &files, err, sizeof(err));
  if (st == PORTA_OK) {
    if (!tok) abort();
    exercise(tok, body, len);
    porta_tokenizer_free(tok);
  } else if (tok) {
    abort(); /* a failed load must leave *out NULL */
  }
  return 0;
}
