/* Internals of the tokenizers (src/text): the vocabulary hash, the merges table, the added
 * tokens, the tokenizer struct and the pieces the encoder is built from. */
#ifndef PORTA_TEXT_INTERNAL_H
#define PORTA_TEXT_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"

/* Ids above this are refused at load time (a corrupt vocab.json must not make us allocate GBs). */
#define PORTA_TOKENIZER_MAX_ID (1 << 22)

/* ---- small helpers ----------------------------------------------------------------------- */

/* Writes a formatted message to err (when not NULL) and returns status. */
porta_status text_fail(char *err, size_t err_size, porta_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A growable int32 array. */
typedef struct text_ids {
  int32_t *data;
  int n, cap;
} text_ids;
porta_status text_ids_push(text_ids *a, int32_t v);
void text_ids_free(text_ids *a);

/* A growable byte buffer. */
typedef struct text_buf {
  char *data;
  size_t n, cap;
} text_buf;
porta_status text_buf_append(text_buf *b, const char *s, size_t n);
void text_buf_free(text_buf *b);

/* ---- vocabulary: token string <-> id --------------------------------------------------------- */
typedef struct text_vocab {
  char *arena; /* all token strings, each NUL-terminated */
  size_t arena_len, arena_cap;
  uint32_t *offsets; /* [n_ids] offset into arena, UINT32_MAX where an id has no token */
  uint32_t *lengths; /* [n_ids] */
  int n_ids;         /* largest id + 1 */
  int ids_cap;
  int32_t *slots;   /* open addressing: id or -1 */
  uint32_t n_slots; /* power of two */
  int n_tokens;     /* distinct strings stored */
} text_vocab;

void text_vocab_free(text_vocab *v);
/* Maps token -> id (overwriting an earlier id of the same string, as Python dicts do). */
porta_status text_vocab_set(text_vocab *v, const char *token, size_t len, int32_t id);
int32_t text_vocab_find(const text_vocab *v, const char *token, size_t len); /* -1 if absent */
const char *text_vocab_token(const text_vocab *v, int32_t id, size_t *len);  /* NULL if none */

/* ---- BPE merges: (left id, right id) -> rank, merged id -------------------------------------- */
typedef struct text_merge {
  uint64_t key; /* left << 32 | right; UINT64_MAX = empty */
  int32_t rank;
  int32_t merged;
} text_merge;

typedef struct text_merges {
  text_merge *slots;
  uint32_t n_slots; /* power of two */
  int count;
} text_merges;

void text_merges_free(text_merges *m);
porta_status text_merges_add(text_merges *m, int32_t left, int32_t right, int32_t rank,
                             int32_t merged);
const text_merge *text_merges_find(const text_merges *m, int32_t left, int32_t right);

/* ---- added tokens: matched in the text before the model sees it ------------------------------ */
typedef struct text_added_token {
  char *content;
  size_t len;
  int32_t id;
  bool lstrip, rstrip, single_word, normalized, special;
  char *match; /* a normalized token's content as the normalizer leaves it; NULL: content */
  size_t match_len;
} text_added_token;

/* ---- the BPE word cache (shared by threads, so it has a lock) -------------------------------- */
typedef struct text_bpe_cache text_bpe_cache;
porta_status text_bpe_cache_create(text_bpe_cache **out);
void text_bpe_cache_free(text_bpe_cache *c);

/* ---- the tokenizer -----------------------------------------------------------------------------
 */
struct porta_tokenizer {
  porta_tokenizer_kind kind;
  text_vocab vocab;
  int vocab_size; /* largest id + 1 over the vocabulary and the added tokens */
  int model_max_length;

  /* WordPiece (BertNormalizer + BertPreTokenizer + WordPiece model) */
  bool clean_text, handle_chinese_chars, strip_accents, lowercase;
  int strip_accents_option; /* while loading: -1 = follows lowercase (null), 0, 1 */
  char continuing_prefix[16];
  int max_input_chars_per_word;

  /* BPE (ByteLevel pre-tokenizer + BPE model) */
  text_merges merges;
  bool add_prefix_space, use_regex, ignore_merges;
  int32_t byte_ids[256]; /* the id of each byte's byte-level symbol, -1 when missing */
  text_bpe_cache *cache;

  text_added_token *added;
  int n_added;

  /* post-processor: ids put around a single sequence */
  int32_t prefix_ids[4], suffix_ids[4];
  int n_prefix, n_suffix;
  bool post_processor_set; /* by tokenizer.json; else [CLS] A [SEP] / <s> A </s> */

  int32_t pad_id, unk_id, cls_id, sep_id, mask_id, bos_id, eos_id;
};

/* ---- unicode helpers (unicode.c) ------------------------------------------------------------- */
/* Decodes strict UTF-8 (no overlongs, surrogates or values above U+10FFFF). On error returns
 * PORTA_ERR_FORMAT naming the byte offset. out needs room for len codepoints; NULL only checks. */
porta_status text_utf8_decode(int32_t *out, int *n_out, const char *s, size_t len, char *err,
                              size_t err_size);
/* Encodes one codepoint; returns the byte count (1-4). */
int text_utf8_encode(char out[4], int32_t c);
/* The codepoint at byte *i of valid UTF-8; advances *i past it. */
int32_t text_utf8_next(const char *s, size_t *i);
/* Length in bytes of the sequence that starts with byte b (1 for a bad lead byte). */
int text_utf8_len(unsigned char b);
bool text_is_white_space(
    int32_t c); /* the Unicode White_Space property (Rust char::is_whitespace) */
bool text_is_bert_whitespace(int32_t c);
bool text_is_bert_control(int32_t c);
bool text_is_bert_punctuation(int32_t c);
bool text_is_cjk(int32_t c);
bool text_is_letter(int32_t c); /* \p{L} */
bool text_is_number(int32_t c); /* \p{N} */
bool text_is_alphanumeric(int32_t c);
bool text_is_bert_mark(int32_t c);
/* Canonical decomposition (NFD) of cps[0..n) into out (growable). */
porta_status text_nfd(int32_t **out, int *n_out, const int32_t *cps, int n);
/* Full lowercase mapping of one codepoint (Rust char::to_lowercase); returns 1 or 2 codepoints. */
int text_lowercase(int32_t out[2], int32_t c);

/* ---- model pieces ------------------------------------------------------------------------------
 */
/* Where tokens go while encoding: stops accepting at `limit` (truncation). */
typedef struct text_sink {
  text_ids ids;
  int limit; /* INT32_MAX for none */
} text_sink;
static inline bool text_sink_full(const text_sink *s) { return s->ids.n >= s->limit; }

/* BertNormalizer: valid UTF-8 text -> normalized UTF-8 in out. */
porta_status text_wordpiece_normalize(const porta_tokenizer *tok, text_buf *out, const char *text,
                                      size_t len, char *err, size_t err_size);
/* Pre-tokenizes and tokenizes one piece of normalized text that holds no added token.
 * `text` is valid UTF-8. */
porta_status text_wordpiece_encode(const porta_tokenizer *tok, text_sink *sink, const char *text,
                                   size_t len, char *err, size_t err_size);
porta_status text_bpe_encode(const porta_tokenizer *tok, text_sink *sink, const char *text,
                             size_t len, char *err, size_t err_size);
/* The byte-level alphabet: the codepoint standing for byte b, and back (-1 if not one). */
int32_t text_byte_to_unicode(int b);
int text_unicode_to_byte(int32_t c);

/* ---- loading pieces (load.c, load_json.c) ---------------------------------------------------- */
porta_status text_load_vocab_txt(porta_tokenizer *tok, const char *data, size_t len, char *err,
                                 size_t err_size);
porta_status text_load_vocab_json(porta_tokenizer *tok, const char *data, size_t len,
                                  const char *what, char *err, size_t err_size);
porta_status text_load_merges_txt(porta_tokenizer *tok, const char *data, size_t len, char *err,
                                  size_t err_size);
porta_status text_add_merge(porta_tokenizer *tok, const char *left, size_t left_len,
                            const char *right, size_t right_len, int32_t rank, const char *what,
                            char *err, size_t err_size);
/* Adds (or updates) an added token; the id is taken from the vocabulary when id < 0. */
porta_status text_add_added_token(porta_tokenizer *tok, const text_added_token *t, char *err,
                                  size_t err_size);
/* Parses tokenizer.json into tok (model, normalizer, pre-tokenizer, post-processor, added
 * tokens). unk_name receives the model's unknown token ("" when null). */
porta_status text_load_tokenizer_json(porta_tokenizer *tok, const char *data, size_t len,
                                      char *unk_name, size_t unk_name_size, char *err,
                                      size_t err_size);

#endif
