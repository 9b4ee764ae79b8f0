/* Encoding: added tokens split first (on the raw text, then on the normalized text), the model on
 * the pieces between them, truncation, the post-processor's specials. Also batching, decoding and
 * the accessors. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "porta/text.h"
#include "text/text_internal.h"

static porta_status utf8_validate(const char *s, size_t len, char *err, size_t err_size) {
  int n = 0;
  return text_utf8_decode(NULL, &n, s, len, err, err_size); /* NULL: check only */
}

/* ---- added tokens -------------------------------------------------------------------------------
 */
static int32_t char_before(const char *s, size_t at, size_t floor, size_t *start) {
  size_t i = at;
  do i--;
  while (i > floor && ((unsigned char)s[i] & 0xC0) == 0x80);
  *start = i;
  size_t j = i;
  return text_utf8_next(s, &j);
}

/* The leftmost-longest added token (normalized or not) in s[from..len). */
static bool find_added(const porta_tokenizer *tok, bool normalized, const char *s, size_t from,
                       size_t len, size_t *start, size_t *end, const text_added_token **which) {
  bool any = false;
  for (int k = 0; k < tok->n_added && !any; k++) any = tok->added[k].normalized == normalized;
  if (!any) return false;
  for (size_t p = from; p < len; p++) {
    if (((unsigned char)s[p] & 0xC0) == 0x80) continue; /* match at character starts only */
    const text_added_token *best = NULL;
    for (int k = 0; k < tok->n_added; k++) {
      const text_added_token *t = &tok->added[k];
      const char *m = t->match ? t->match : t->content;
      size_t m_len = t->match ? t->match_len : t->len;
      if (t->normalized != normalized || m_len == 0 || m_len > len - p) continue;
      if (memcmp(s + p, m, m_len) != 0) continue;
      if (best && *end - p >= m_len) continue;
      if (t->single_word) { /* not inside a word */
        size_t cs, ce = p + m_len;
        if (p > 0 && text_is_alphanumeric(char_before(s, p, 0, &cs))) continue;
        if (ce < len && text_is_alphanumeric(text_utf8_next(s, &ce))) continue;
      }
      best = t;
      *end = p + m_len;
    }
    if (best) {
      *start = p;
      *which = best;
      return true;
    }
  }
  return false;
}

/* Splits s[0..len) on added tokens of one kind; calls the model (or the next stage) on the rest. */
static porta_status encode_pieces(const porta_tokenizer *tok, text_sink *sink, bool normalized,
                                  const char *s, size_t len, char *err, size_t err_size);

static porta_status encode_segment(const porta_tokenizer *tok, text_sink *sink, bool normalized,
                                   const char *s, size_t len, char *err, size_t err_size) {
  if (len == 0 || text_sink_full(sink)) return PORTA_OK;
  if (normalized) {
    if (tok->kind == PORTA_TOKENIZER_WORDPIECE)
      return text_wordpiece_encode(tok, sink, s, len, err, err_size);
    return text_bpe_encode(tok, sink, s, len, err, err_size);
  }
  /* raw text: normalize (BERT), then split on the normalized added tokens */
  if (tok->kind == PORTA_TOKENIZER_WORDPIECE) {
    text_buf norm = {0};
    porta_status st = text_wordpiece_normalize(tok, &norm, s, len, err, err_size);
    if (!st) st = encode_pieces(tok, sink, true, norm.data, norm.n, err, err_size);
    text_buf_free(&norm);
    return st;
  }
  return encode_pieces(tok, sink, true, s, len, err, err_size);
}

static porta_status encode_pieces(const porta_tokenizer *tok, text_sink *sink, bool normalized,
                                  const char *s, size_t len, char *err, size_t err_size) {
  size_t pos = 0;
  while (pos < len && !text_sink_full(sink)) {
    size_t start, end;
    const text_added_token *t;
    if (!find_added(tok, normalized, s, pos, len, &start, &end, &t))
      return encode_segment(tok, sink, normalized, s + pos, len - pos, err, err_size);
    if (t->lstrip) /* the token swallows the whitespace before it */
      while (start > pos) {
        size_t cs;
        if (!text_is_white_space(char_before(s, start, pos, &cs))) break;
        start = cs;
      }
    if (t->rstrip)
      while (end < len) {
        size_t next = end;
        if (!text_is_white_space(text_utf8_next(s, &next))) break;
        end = next;
      }
    porta_status st = encode_segment(tok, sink, normalized, s + pos, start - pos, err, err_size);
    if (st) return st;
    if (!text_sink_full(sink)) {
      st = text_ids_push(&sink->ids, t->id);
      if (st) return text_fail(err, err_size, st, "tokenizer: out of memory");
    }
    pos = end;
  }
  return PORTA_OK;
}

/* ---- encode -----------------------------------------------------------------------------------
 */
static int resolve_max_length(const porta_tokenizer *tok, int max_length) {
  if (max_length < 0) return INT_MAX;
  if (max_length == 0) return tok->model_max_length;
  return max_length;
}

porta_status porta_tokenizer_encode(const porta_tokenizer *tok, int32_t *ids, int capacity,
                                    int *n_ids, const char *text, size_t len, int max_length,
                                    char *err, size_t err_size) {
  if (n_ids) *n_ids = 0;
  if (!tok || !n_ids || (!text && len > 0) || capacity < 0 || (!ids && capacity > 0) ||
      max_length < -1)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_encode: NULL tokenizer/text/ids/n_ids, negative capacity "
                     "or max_length below -1");
  if (len > (size_t)INT_MAX / 8)
    return text_fail(err, err_size, PORTA_ERR_LIMIT,
                     "porta_tokenizer_encode: text of %zu bytes is too long", len);
  porta_status st = utf8_validate(text, len, err, err_size);
  if (st) return st;
  int n_special = tok->n_prefix + tok->n_suffix;
  int limit = resolve_max_length(tok, max_length);
  if (limit < n_special)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_encode: max_length %d leaves no room for the %d special "
                     "tokens",
                     limit, n_special);
  text_sink sink = {.ids = {0}, .limit = limit == INT_MAX ? INT_MAX : limit - n_special};
  st = encode_pieces(tok, &sink, false, text ? text : "", len, err, err_size);
  if (st) {
    text_ids_free(&sink.ids);
    return st;
  }
  int n_tokens = sink.ids.n < sink.limit ? sink.ids.n : sink.limit; /* truncation */
  int total = tok->n_prefix + n_tokens + tok->n_suffix;
  *n_ids = total;
  if (total > capacity) {
    text_ids_free(&sink.ids);
    return text_fail(err, err_size, PORTA_ERR_LIMIT,
                     "porta_tokenizer_encode: %d ids do not fit in capacity %d", total, capacity);
  }
  int k = 0;
  for (int i = 0; i < tok->n_prefix; i++) ids[k++] = tok->prefix_ids[i];
  for (int i = 0; i < n_tokens; i++) ids[k++] = sink.ids.data[i];
  for (int i = 0; i < tok->n_suffix; i++) ids[k++] = tok->suffix_ids[i];
  text_ids_free(&sink.ids);
  return PORTA_OK;
}

/* ---- batching -----------------------------------------------------------------------------------
 */
porta_status porta_tokenizer_pad_batch(int32_t *ids, int32_t *attention_mask, int64_t capacity,
                                       int *seq_len, const int32_t *const *rows,
                                       const int *row_lengths, int batch, int max_seq_len,
                                       int32_t pad_id, char *err, size_t err_size) {
  if (!ids || !seq_len || !rows || !row_lengths || batch < 0 || max_seq_len < 0 || capacity < 0)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_pad_batch: NULL output/rows or negative "
                     "batch/max_seq_len/capacity");
  int L = 0;
  for (int b = 0; b < batch; b++) {
    if (row_lengths[b] < 0 || (row_lengths[b] > 0 && !rows[b]))
      return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                       "porta_tokenizer_pad_batch: row %d has length %d and data %p", b,
                       row_lengths[b], (const void *)rows[b]);
    if (row_lengths[b] > max_seq_len)
      return text_fail(err, err_size, PORTA_ERR_LIMIT,
                       "porta_tokenizer_pad_batch: row %d has %d ids, more than max_seq_len %d", b,
                       row_lengths[b], max_seq_len);
    if (row_lengths[b] > L) L = row_lengths[b];
  }
  if ((int64_t)batch * L > capacity) { /* nothing is written past the caller's buffers */
    *seq_len = L;
    return text_fail(err, err_size, PORTA_ERR_LIMIT,
                     "porta_tokenizer_pad_batch: %d rows of %d ids need %lld values, the buffers "
                     "hold %lld",
                     batch, L, (long long)batch * L, (long long)capacity);
  }
  for (int b = 0; b < batch; b++) { /* ids [batch, L], attention_mask [batch, L] */
    for (int t = 0; t < L; t++) {
      bool real = t < row_lengths[b];
      ids[b * L + t] = real ? rows[b][t] : pad_id;
      if (attention_mask) attention_mask[b * L + t] = real ? 1 : 0;
    }
  }
  *seq_len = L;
  return PORTA_OK;
}

porta_status porta_tokenizer_encode_batch(const porta_tokenizer *tok, int32_t *ids,
                                          int32_t *attention_mask, int64_t capacity, int *seq_len,
                                          const char *const *texts, const size_t *lens, int batch,
                                          int max_length, char *err, size_t err_size) {
  if (!tok || !ids || !seq_len || !texts || batch < 0)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_encode_batch: NULL argument or negative batch");
  int L = max_length < 0 ? INT_MAX : resolve_max_length(tok, max_length);
  if (L == INT_MAX || L > (1 << 20))
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_encode_batch: needs a finite max_length (got %d, "
                     "model_max_length %d)",
                     max_length, tok->model_max_length);
  int32_t *rows = malloc((size_t)(batch > 0 ? batch : 1) * (size_t)L * sizeof(int32_t));
  int *lengths = malloc((size_t)(batch > 0 ? batch : 1) * sizeof(int));
  const int32_t **row_ptrs = malloc((size_t)(batch > 0 ? batch : 1) * sizeof(int32_t *));
  porta_status st = PORTA_OK;
  if (!rows || !lengths || !row_ptrs) {
    st = text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY,
                   "porta_tokenizer_encode_batch: out of memory");
    goto done;
  }
  for (int b = 0; b < batch && !st; b++) {
    row_ptrs[b] = rows + (size_t)b * L;
    size_t len = lens ? lens[b] : texts[b] ? strlen(texts[b]) : 0;
    st = porta_tokenizer_encode(tok, rows + (size_t)b * L, L, &lengths[b], texts[b], len, L, err,
                                err_size);
  }
  if (!st)
    st = porta_tokenizer_pad_batch(ids, attention_mask, capacity, seq_len, row_ptrs, lengths, batch,
                                   L, tok->pad_id >= 0 ? tok->pad_id : 0, err, err_size);
done:
  free(rows);
  free(lengths);
  free(row_ptrs);
  return st;
}

/* ---- decode ---------------------------------------------------------------------------------- */
static bool is_special_id(const porta_tokenizer *tok, int32_t id) {
  for (int k = 0; k < tok->n_added; k++)
    if (tok->added[k].id == id && tok->added[k].special) return true;
  return false;
}

/* The WordPiece decoder's clean-up of spaces before punctuation and contractions. */
static porta_status append_cleaned(text_buf *out, const char *s, size_t n) {
  static const char *const from[] = {" .",   " ?",  " !",  " ,",   " ' ",
                                     " n't", " 'm", " 's", " 've", " 're"};
  static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
  for (int k = 0; k < 10; k++) {
    size_t fl = strlen(from[k]);
    if (n == fl && memcmp(s, from[k], fl) == 0) return text_buf_append(out, to[k], strlen(to[k]));
  }
  return text_buf_append(out, s, n);
}

porta_status porta_tokenizer_decode(const porta_tokenizer *tok, char *out, size_t out_size,
                                    size_t *out_len, const int32_t *ids, int n_ids,
                                    bool skip_special, char *err, size_t err_size) {
  if (!tok || !out_len || (!ids && n_ids > 0) || n_ids < 0 || (!out && out_size > 0))
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_decode: NULL argument or negative n_ids");
  text_buf text = {0}, piece = {0};
  porta_status st = text_buf_append(&text, "", 0);
  size_t prefix_len = strlen(tok->continuing_prefix);
  int emitted = 0;
  for (int i = 0; i < n_ids && !st; i++) {
    size_t len;
    const char *t = text_vocab_token(&tok->vocab, ids[i], &len);
    if (!t) {
      text_buf_free(&text);
      text_buf_free(&piece);
      return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                       "porta_tokenizer_decode: id %d at position %d is not in the vocabulary "
                       "(size %d)",
                       ids[i], i, tok->vocab_size);
    }
    if (skip_special && is_special_id(tok, ids[i])) continue;
    if (tok->kind == PORTA_TOKENIZER_WORDPIECE) {
      piece.n = 0;
      if (emitted > 0 && prefix_len > 0 && len >= prefix_len &&
          memcmp(t, tok->continuing_prefix, prefix_len) == 0) {
        st = text_buf_append(&piece, t + prefix_len, len - prefix_len);
      } else {
        if (emitted > 0) st = text_buf_append(&piece, " ", 1);
        if (!st) st = text_buf_append(&piece, t, len);
      }
      if (!st) st = append_cleaned(&text, piece.data, piece.n);
    } else { /* byte-level: every character stands for one byte */
      for (size_t j = 0; j < len && !st;) {
        size_t at = j;
        int32_t c = text_utf8_next(t, &j);
        int b = text_unicode_to_byte(c);
        if (b >= 0) {
          char byte = (char)b;
          st = text_buf_append(&text, &byte, 1);
        } else {
          st = text_buf_append(&text, t + at, j - at);
        }
      }
    }
    emitted++;
  }
  text_buf_free(&piece);
  if (st) {
    text_buf_free(&text);
    return text_fail(err, err_size, st, "porta_tokenizer_decode: out of memory");
  }
  /* Bytes that do not form UTF-8 (a token cut inside a character) become U+FFFD. */
  text_buf clean = {0};
  st = text_buf_append(&clean, "", 0);
  for (size_t i = 0; i < text.n && !st;) {
    int l = text_utf8_len((unsigned char)text.data[i]);
    size_t avail = text.n - i < (size_t)l ? text.n - i : (size_t)l;
    int32_t c;
    int nc;
    if (text_utf8_decode(&c, &nc, text.data + i, avail, NULL, 0) == PORTA_OK && nc == 1) {
      st = text_buf_append(&clean, text.data + i, avail);
      i += avail;
    } else {
      st = text_buf_append(&clean, "\xEF\xBF\xBD", 3);
      i += 1;
    }
  }
  text_buf_free(&text);
  if (st) {
    text_buf_free(&clean);
    return text_fail(err, err_size, st, "porta_tokenizer_decode: out of memory");
  }
  *out_len = clean.n;
  if (out_size > 0) {
    size_t n = clean.n < out_size - 1 ? clean.n : out_size - 1;
    memcpy(out, clean.data, n);
    out[n] = '\0';
  }
  size_t needed = clean.n;
  text_buf_free(&clean);
  if (needed + 1 > out_size)
    return text_fail(err, err_size, PORTA_ERR_LIMIT,
                     "porta_tokenizer_decode: %zu bytes do not fit in %zu", needed + 1, out_size);
  return PORTA_OK;
}

/* ---- accessors
 * ----------------------------------------------------------------------------------- */
/* NULL-safe: a NULL tokenizer has no ids. */
porta_tokenizer_kind porta_tokenizer_get_kind(const porta_tokenizer *tok) {
  return tok ? tok->kind : (porta_tokenizer_kind)0;
}
int porta_tokenizer_vocab_size(const porta_tokenizer *tok) { return tok ? tok->vocab_size : 0; }
int porta_tokenizer_model_max_length(const porta_tokenizer *tok) {
  return tok ? tok->model_max_length : 0;
}
int32_t porta_tokenizer_pad_id(const porta_tokenizer *tok) { return tok ? tok->pad_id : -1; }
int32_t porta_tokenizer_unk_id(const porta_tokenizer *tok) { return tok ? tok->unk_id : -1; }
int32_t porta_tokenizer_cls_id(const porta_tokenizer *tok) { return tok ? tok->cls_id : -1; }
int32_t porta_tokenizer_sep_id(const porta_tokenizer *tok) { return tok ? tok->sep_id : -1; }
int32_t porta_tokenizer_mask_id(const porta_tokenizer *tok) { return tok ? tok->mask_id : -1; }
int32_t porta_tokenizer_bos_id(const porta_tokenizer *tok) { return tok ? tok->bos_id : -1; }
int32_t porta_tokenizer_eos_id(const porta_tokenizer *tok) { return tok ? tok->eos_id : -1; }

const char *porta_tokenizer_id_to_token(const porta_tokenizer *tok, int32_t id) {
  return tok ? text_vocab_token(&tok->vocab, id, NULL) : NULL;
}

int32_t porta_tokenizer_token_to_id(const porta_tokenizer *tok, const char *token) {
  if (!tok || !token) return -1;
  return text_vocab_find(&tok->vocab, token, strlen(token));
}
