/* BERT WordPiece, as the `tokenizers` crate runs it for transformers' BertTokenizer:
 *   BertNormalizer: clean text (drop NUL, U+FFFD and controls; whitespace -> ' '), spaces around
 *                   CJK ideographs, strip accents (NFD, drop Mn), lowercase — in that order;
 *   BertPreTokenizer: split on whitespace, every punctuation character a word of its own;
 *   WordPiece: greedy longest-match-first, "##" continuations, a word longer than
 *              max_input_chars_per_word (or with no match) becomes [UNK]. */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

static porta_status push_cp(int32_t **buf, int *n, int *cap, int32_t c) {
  if (*n == *cap) {
    int grown_cap = *cap ? 2 * *cap : 64;
    int32_t *grown = realloc(*buf, (size_t)grown_cap * sizeof(int32_t));
    if (!grown) return PORTA_ERR_OUT_OF_MEMORY;
    *buf = grown;
    *cap = grown_cap;
  }
  (*buf)[(*n)++] = c;
  return PORTA_OK;
}

/* Normalizes valid UTF-8 text into out (UTF-8). */
porta_status text_wordpiece_normalize(const porta_tokenizer *tok, text_buf *out, const char *text,
                                      size_t len, char *err, size_t err_size) {
  porta_status st = PORTA_OK;
  int32_t *cps = malloc((len + 1) * sizeof(int32_t));
  int32_t *work = NULL, *nfd = NULL;
  int n = 0, n_work = 0, cap_work = 0, n_nfd = 0;
  if (!cps) return text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
  st = text_utf8_decode(cps, &n, text, len, err, err_size);
  if (st) goto done;

  /* clean text + CJK spacing */
  for (int i = 0; i < n && !st; i++) {
    int32_t c = cps[i];
    if (tok->clean_text) {
      if (c == 0 || c == 0xFFFD || text_is_bert_control(c)) continue;
      if (text_is_bert_whitespace(c)) c = ' ';
    }
    if (tok->handle_chinese_chars && text_is_cjk(c)) {
      st = push_cp(&work, &n_work, &cap_work, ' ');
      if (!st) st = push_cp(&work, &n_work, &cap_work, c);
      if (!st) st = push_cp(&work, &n_work, &cap_work, ' ');
    } else {
      st = push_cp(&work, &n_work, &cap_work, c);
    }
  }
  if (st) goto oom;

  /* strip accents: NFD, then drop non-spacing marks */
  if (tok->strip_accents && n_work > 0) {
    st = text_nfd(&nfd, &n_nfd, work, n_work);
    if (st) goto oom;
    int m = 0;
    for (int i = 0; i < n_nfd; i++)
      if (!text_is_bert_mark(nfd[i])) nfd[m++] = nfd[i];
    free(work);
    work = nfd;
    nfd = NULL;
    n_work = m;
    cap_work = n_nfd;
  }

  /* lowercase, then back to UTF-8 */
  out->n = 0;
  st = text_buf_append(out, "", 0);
  for (int i = 0; i < n_work && !st; i++) {
    int32_t lower[2];
    int k = 1;
    lower[0] = work[i];
    if (tok->lowercase) k = text_lowercase(lower, work[i]);
    for (int j = 0; j < k && !st; j++) {
      char b[4];
      int nb = text_utf8_encode(b, lower[j]);
      st = text_buf_append(out, b, (size_t)nb);
    }
  }
  if (st) goto oom;
  goto done;
oom:
  st = text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
done:
  free(cps);
  free(work);
  free(nfd);
  return st;
}

/* WordPiece of one word: bytes[0..len) holding n_chars characters starting at offsets[i]. */
static porta_status wordpiece_word(const porta_tokenizer *tok, text_sink *sink, const char *bytes,
                                   const int *offsets, int n_chars, text_buf *scratch) {
  porta_status st;
  if (n_chars > tok->max_input_chars_per_word) return text_ids_push(&sink->ids, tok->unk_id);
  size_t prefix_len = strlen(tok->continuing_prefix);
  int first = sink->ids.n;
  int start = 0;
  while (start < n_chars) {
    int end = n_chars;
    int32_t found = -1;
    while (start < end) {
      const char *piece = bytes + offsets[start];
      size_t piece_len = (size_t)(offsets[end] - offsets[start]);
      if (start > 0) {
        scratch->n = 0;
        st = text_buf_append(scratch, tok->continuing_prefix, prefix_len);
        if (!st) st = text_buf_append(scratch, piece, piece_len);
        if (st) return st;
        found = text_vocab_find(&tok->vocab, scratch->data, scratch->n);
      } else {
        found = text_vocab_find(&tok->vocab, piece, piece_len);
      }
      if (found >= 0) break;
      end--;
    }
    if (found < 0) { /* no piece matches: the whole word is unknown */
      sink->ids.n = first;
      return text_ids_push(&sink->ids, tok->unk_id);
    }
    st = text_ids_push(&sink->ids, found);
    if (st) return st;
    start = end;
  }
  return PORTA_OK;
}

/* BertPreTokenizer + WordPiece over normalized UTF-8 text. */
static porta_status wordpiece_tokenize(const porta_tokenizer *tok, text_sink *sink,
                                       const char *text, size_t len) {
  porta_status st = PORTA_OK;
  int *offsets = malloc((len + 2) * sizeof(int)); /* char starts of the current word */
  text_buf scratch = {0};
  if (!offsets) return PORTA_ERR_OUT_OF_MEMORY;
  size_t i = 0;
  while (i < len && !st && !text_sink_full(sink)) {
    size_t clen = (size_t)text_utf8_len((unsigned char)text[i]);
    size_t at = i;
    int32_t c = text_utf8_next(text, &at);
    if (text_is_bert_whitespace(c)) {
      i += clen;
      continue;
    }
    if (text_is_bert_punctuation(c)) {
      offsets[0] = 0;
      offsets[1] = (int)clen;
      st = wordpiece_word(tok, sink, text + i, offsets, 1, &scratch);
      i += clen;
      continue;
    }
    /* a word: up to the next whitespace or punctuation */
    size_t start = i;
    int n_chars = 0;
    while (i < len) {
      size_t next = i;
      int32_t d = text_utf8_next(text, &next);
      if (text_is_bert_whitespace(d) || text_is_bert_punctuation(d)) break;
      offsets[n_chars++] = (int)(i - start);
      i = next;
    }
    offsets[n_chars] = (int)(i - start);
    st = wordpiece_word(tok, sink, text + start, offsets, n_chars, &scratch);
  }
  free(offsets);
  text_buf_free(&scratch);
  return st;
}

porta_status text_wordpiece_encode(const porta_tokenizer *tok, text_sink *sink, const char *text,
                                   size_t len, char *err, size_t err_size) {
  porta_status st = wordpiece_tokenize(tok, sink, text, len);
  if (st) return text_fail(err, err_size, st, "tokenizer: out of memory in WordPiece");
  return PORTA_OK;
}
