/* porta — public API section: text (included by porta/porta.h).
 *
 * Tokenizers that give exactly the ids of the Hugging Face Hub's tokenizers:
 * - BERT WordPiece (BertTokenizer / BertTokenizerFast): clean text, CJK splitting, lower casing and
 *   accent stripping per tokenizer_config.json, punctuation splitting, greedy longest-match-first
 *   WordPiece with "##" continuations; encodes as [CLS] ... [SEP].
 * - RoBERTa / GPT-2 byte-level BPE (RobertaTokenizer(Fast)): the GPT-2 pre-tokenisation pattern,
 *   bytes-to-unicode, merges by rank; encodes as <s> ... </s>.
 *
 * A tokenizer is immutable after loading, and porta_tokenizer_encode may be called from several
 * threads at once (the BPE word cache has its own lock). No context is needed: messages go to
 * `err` (when not NULL; always NUL-terminated, truncated to err_size).
 *
 * Batching: porta_tokenizer_encode gives one unpadded row. porta_tokenizer_pad_batch (or
 * porta_tokenizer_encode_batch) packs rows into ids [B, L] + attention_mask [B, L] padded with the
 * pad id to the longest row of the batch (dynamic padding), never to a fixed length. Token type
 * ids are all 0 for a single sequence, so none are produced.
 */
#ifndef PORTA_TEXT_H
#define PORTA_TEXT_H

/* Declared before porta.h, whose later sections (train.h) use it when this header comes first. */
typedef struct porta_tokenizer porta_tokenizer;

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum porta_tokenizer_kind {
  PORTA_TOKENIZER_WORDPIECE = 1, /* BERT */
  PORTA_TOKENIZER_BPE = 2,       /* RoBERTa / GPT-2 byte-level BPE */
} porta_tokenizer_kind;

/* Loads the tokenizer of a Hub model folder. Reads tokenizer_config.json (optional: do_lower_case,
 * strip_accents, tokenize_chinese_chars, model_max_length, special tokens, add_prefix_space), then
 * tokenizer.json when present (WordPiece or BPE model, normalizer / pre-tokenizer / post-processor
 * settings; its built-in truncation and padding are ignored), else vocab.txt (WordPiece) or
 * vocab.json + merges.txt (byte-level BPE). Errors name the missing or malformed file; a vocabulary
 * without its unknown token ([UNK] / <unk>) or its special tokens is PORTA_ERR_FORMAT.
 * On failure *out is NULL. */
PORTA_API porta_status porta_tokenizer_load(porta_tokenizer **out, const char *model_dir, char *err,
                                            size_t err_size);

/* The same from file contents in memory (embedding a tokenizer in a program, fuzzing). Each field
 * may be NULL (absent file); lengths are in bytes and the data need not be NUL-terminated. */
typedef struct porta_tokenizer_files {
  const char *tokenizer_config_json;
  size_t tokenizer_config_json_len;
  const char *tokenizer_json;
  size_t tokenizer_json_len;
  const char *vocab_txt; /* WordPiece: one token a line, id = line number */
  size_t vocab_txt_len;
  const char *vocab_json; /* BPE: {"token": id, ...} */
  size_t vocab_json_len;
  const char *merges_txt; /* BPE: "a b" a line, rank = order; a "#version" first line is skipped */
  size_t merges_txt_len;
} porta_tokenizer_files;

PORTA_API porta_status porta_tokenizer_load_memory(porta_tokenizer **out,
                                                   const porta_tokenizer_files *files, char *err,
                                                   size_t err_size);

PORTA_API void porta_tokenizer_free(porta_tokenizer *tok);

/* Encodes UTF-8 text (len bytes, need not be NUL-terminated; WordPiece drops NULs and other
 * control characters as BERT does, byte-level BPE keeps every byte) as one sequence with special
 * tokens: [CLS] tokens [SEP] or <s> tokens </s>. Special-token strings in the text ("[MASK]",
 * "<mask>") become their ids, as in transformers. The tokens are truncated so
 * that the whole row, specials included, is at most max_length ids: max_length > 0 is that limit,
 * 0 means the tokenizer's model_max_length, -1 means no truncation.
 * ids[0..capacity) receives the row and *n_ids its length. If the row does not fit, *n_ids is the
 * length needed and the call returns PORTA_ERR_LIMIT. Invalid UTF-8 returns PORTA_ERR_FORMAT with
 * the byte offset in the message. */
PORTA_API porta_status porta_tokenizer_encode(const porta_tokenizer *tok, int32_t *ids,
                                              int capacity, int *n_ids, const char *text,
                                              size_t len, int max_length, char *err,
                                              size_t err_size);

/* Packs `batch` rows (rows[b] with row_lengths[b] ids) into ids [batch, *seq_len] and
 * attention_mask [batch, *seq_len] (1 for tokens, 0 for padding), contiguous with row stride
 * *seq_len = the longest row. `capacity` is the room, in int32 values, of ids and (when not NULL)
 * of attention_mask each: when batch * *seq_len exceeds it, nothing is written, *seq_len is the
 * length that would have been used and the call returns PORTA_ERR_LIMIT. A row longer than
 * max_seq_len is PORTA_ERR_LIMIT too. */
PORTA_API porta_status porta_tokenizer_pad_batch(int32_t *ids, int32_t *attention_mask,
                                                 int64_t capacity, int *seq_len,
                                                 const int32_t *const *rows, const int *row_lengths,
                                                 int batch, int max_seq_len, int32_t pad_id,
                                                 char *err, size_t err_size);

/* Encodes `batch` texts (texts[b] with lens[b] bytes; lens == NULL: NUL-terminated texts) and
 * pads them as porta_tokenizer_pad_batch does, into ids and attention_mask of `capacity` values
 * each (PORTA_ERR_LIMIT, nothing written, when batch * the longest row does not fit). max_length
 * as in porta_tokenizer_encode, but it must be > 0, or 0 with a finite model_max_length. */
PORTA_API porta_status porta_tokenizer_encode_batch(const porta_tokenizer *tok, int32_t *ids,
                                                    int32_t *attention_mask, int64_t capacity,
                                                    int *seq_len, const char *const *texts,
                                                    const size_t *lens, int batch, int max_length,
                                                    char *err, size_t err_size);

/* Token strings of ids joined back into text (WordPiece: "##" pieces glued, words separated by a
 * space; BPE: bytes restored). out receives at most out_size - 1 bytes and a NUL; *out_len the
 * length needed (PORTA_ERR_LIMIT if it did not fit). Special tokens are skipped when
 * skip_special. Unknown ids are PORTA_ERR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_tokenizer_decode(const porta_tokenizer *tok, char *out,
                                              size_t out_size, size_t *out_len, const int32_t *ids,
                                              int n_ids, bool skip_special, char *err,
                                              size_t err_size);

/* Accessors. Ids of absent special tokens are -1. For BPE, cls = <s> = bos and sep = </s> = eos,
 * as in RobertaTokenizer. */
PORTA_API porta_tokenizer_kind porta_tokenizer_get_kind(const porta_tokenizer *tok);
/* The largest id + 1, added tokens too. */
PORTA_API int porta_tokenizer_vocab_size(const porta_tokenizer *tok);
/* INT32_MAX when unbounded. */
PORTA_API int porta_tokenizer_model_max_length(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_pad_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_unk_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_cls_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_sep_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_mask_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_bos_id(const porta_tokenizer *tok);
PORTA_API int32_t porta_tokenizer_eos_id(const porta_tokenizer *tok);
/* The vocabulary string of an id ("##ing", "Ġhello"), or NULL when out of range. */
PORTA_API const char *porta_tokenizer_id_to_token(const porta_tokenizer *tok, int32_t id);
/* The id of a vocabulary string (NUL-terminated), or -1. */
PORTA_API int32_t porta_tokenizer_token_to_id(const porta_tokenizer *tok, const char *token);

#ifdef __cplusplus
}
#endif

#endif
