/* RoBERTa / GPT-2 byte-level BPE, as the `tokenizers` crate runs it:
 *   ByteLevel pre-tokenizer: optional prefix space, the GPT-2 pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   (matched by hand below; \s is Unicode White_Space, as in Oniguruma), then every byte of a
 *   piece becomes one character of the bytes-to-unicode alphabet;
 *   BPE: the lowest-ranked adjacent pair merges first (leftmost on ties), until none applies.
 * Words are cached (the same headline words come back all the time); the cache has a lock so
 * that one tokenizer serves several threads. */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

/* ---- bytes <-> unicode (GPT-2's table, computed) ------------------------------------------- */
int32_t text_byte_to_unicode(int b) {
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
  if (b <= 32) return 256 + b;
  if (b >= 127 && b <= 160) return 256 + 33 + (b - 127);
  return 256 + 33 + 34; /* 173 */
}

int text_unicode_to_byte(int32_t c) {
  if ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255)) return c;
  if (c >= 256 && c < 256 + 33) return c - 256;
  if (c >= 256 + 33 && c < 256 + 33 + 34) return 127 + (c - 256 - 33);
  if (c == 256 + 33 + 34) return 173;
  return -1;
}

/* ---- the word cache ---------------------------------------------------------------------------
 */
#define CACHE_SLOTS 16384  /* power of two */
#define CACHE_MAX_WORD 256 /* longer words are not cached */

typedef struct cache_entry {
  char *key; /* NULL = empty */
  uint32_t key_len;
  int n_ids;
  int32_t *ids;
} cache_entry;

struct text_bpe_cache {
  pthread_mutex_t lock;
  cache_entry *slots;
  int count;
};

porta_status text_bpe_cache_create(text_bpe_cache **out) {
  text_bpe_cache *c = calloc(1, sizeof(*c));
  if (!c) return PORTA_ERR_OUT_OF_MEMORY;
  c->slots = calloc(CACHE_SLOTS, sizeof(cache_entry));
  if (!c->slots || pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c->slots);
    free(c);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  *out = c;
  return PORTA_OK;
}

static void cache_clear(text_bpe_cache *c) {
  for (int i = 0; i < CACHE_SLOTS; i++) {
    free(c->slots[i].key);
    free(c->slots[i].ids);
    c->slots[i] = (cache_entry){0};
  }
  c->count = 0;
}

void text_bpe_cache_free(text_bpe_cache *c) {
  if (!c) return;
  cache_clear(c);
  pthread_mutex_destroy(&c->lock);
  free(c->slots);
  free(c);
}

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

/* Appends the cached ids of word to the sink; false when not cached. */
static bool cache_get(text_bpe_cache *c, text_sink *sink, const char *word, size_t len,
                      porta_status *st) {
  bool hit = false;
  pthread_mutex_lock(&c->lock);
  uint32_t i = hash_bytes(word, len) & (CACHE_SLOTS - 1);
  while (c->slots[i].key) {
    cache_entry *e = &c->slots[i];
    if (e->key_len == len && memcmp(e->key, word, len) == 0) {
      for (int k = 0; k < e->n_ids && !*st; k++) *st = text_ids_push(&sink->ids, e->ids[k]);
      hit = true;
      break;
    }
    i = (i + 1) & (CACHE_SLOTS - 1);
  }
  pthread_mutex_unlock(&c->lock);
  return hit;
}

static void cache_put(text_bpe_cache *c, const char *word, size_t len, const int32_t *ids, int n) {
  char *key = malloc(len + 1);
  int32_t *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
  if (!key || !copy) { /* the cache is an optimisation: skip it when memory is short */
    free(key);
    free(copy);
    return;
  }
  memcpy(key, word, len);
  memcpy(copy, ids, (size_t)n * sizeof(int32_t));
  pthread_mutex_lock(&c->lock);
  if (c->count * 2 >= CACHE_SLOTS) cache_clear(c);
  uint32_t i = hash_bytes(word, len) & (CACHE_SLOTS - 1);
  while (c->slots[i].key) {
    if (c->slots[i].key_len == len && memcmp(c->slots[i].key, word, len) == 0) break;
    i = (i + 1) & (CACHE_SLOTS - 1);
  }
  if (c->slots[i].key) { /* another thread put it first */
    free(key);
    free(copy);
  } else {
    c->slots[i] = (cache_entry){key, (uint32_t)len, n, copy};
    c->count++;
  }
  pthread_mutex_unlock(&c->lock);
}

/* ---- BPE merges over one word ------------------------------------------------------------------
 */
typedef struct merge_candidate {
  int32_t rank;
  int pos; /* the left symbol */
  int32_t merged;
} merge_candidate;

static bool candidate_less(merge_candidate a, merge_candidate b) {
  return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

typedef struct merge_heap {
  merge_candidate *items;
  int n, cap;
} merge_heap;

static porta_status heap_push(merge_heap *h, merge_candidate c) {
  if (h->n == h->cap) {
    int cap = h->cap ? 2 * h->cap : 64;
    merge_candidate *grown = realloc(h->items, (size_t)cap * sizeof(merge_candidate));
    if (!grown) return PORTA_ERR_OUT_OF_MEMORY;
    h->items = grown;
    h->cap = cap;
  }
  int i = h->n++;
  h->items[i] = c;
  while (i > 0 && candidate_less(h->items[i], h->items[(i - 1) / 2])) {
    merge_candidate t = h->items[i];
    h->items[i] = h->items[(i - 1) / 2];
    h->items[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
  return PORTA_OK;
}

static merge_candidate heap_pop(merge_heap *h) {
  merge_candidate top = h->items[0];
  h->items[0] = h->items[--h->n];
  int i = 0;
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && candidate_less(h->items[l], h->items[m])) m = l;
    if (r < h->n && candidate_less(h->items[r], h->items[m])) m = r;
    if (m == i) break;
    merge_candidate t = h->items[i];
    h->items[i] = h->items[m];
    h->items[m] = t;
    i = m;
  }
  return top;
}

static porta_status push_pair(const porta_tokenizer *tok, merge_heap *h, const int32_t *ids,
                              int left, int right) {
  if (left < 0 || right < 0) return PORTA_OK;
  const text_merge *m = text_merges_find(&tok->merges, ids[left], ids[right]);
  if (!m) return PORTA_OK;
  return heap_push(h, (merge_candidate){m->rank, left, m->merged});
}

/* BPE of one pre-token (raw bytes) into the sink. */
static porta_status bpe_word(const porta_tokenizer *tok, text_sink *sink, const char *word,
                             size_t len) {
  porta_status st = PORTA_OK;
  if (len == 0) return PORTA_OK;
  if (len <= CACHE_MAX_WORD && tok->cache && cache_get(tok->cache, sink, word, len, &st)) return st;

  if (tok->ignore_merges) { /* a word that is a token as a whole skips the merges */
    text_buf mapped = {0};
    for (size_t i = 0; i < len && !st; i++) {
      char b[4];
      int nb = text_utf8_encode(b, text_byte_to_unicode((unsigned char)word[i]));
      st = text_buf_append(&mapped, b, (size_t)nb);
    }
    int32_t id = st ? -1 : text_vocab_find(&tok->vocab, mapped.data, mapped.n);
    text_buf_free(&mapped);
    if (st) return st;
    if (id >= 0) return text_ids_push(&sink->ids, id);
  }

  int n = (int)len;
  int32_t *ids = malloc((size_t)n * sizeof(int32_t));
  int *next = malloc((size_t)n * sizeof(int));
  int *prev = malloc((size_t)n * sizeof(int));
  merge_heap heap = {0};
  if (!ids || !next || !prev) {
    st = PORTA_ERR_OUT_OF_MEMORY;
    goto done;
  }
  for (int i = 0; i < n; i++) {
    int32_t id = tok->byte_ids[(unsigned char)word[i]];
    ids[i] = id >= 0 ? id : tok->unk_id; /* load() made sure one of them exists */
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  for (int i = 0; i + 1 < n && !st; i++) st = push_pair(tok, &heap, ids, i, i + 1);
  while (heap.n > 0 && !st) {
    merge_candidate top = heap_pop(&heap);
    int left = top.pos, right = next[left];
    if (ids[left] < 0 || right < 0) continue; /* the left symbol was merged away, or is last */
    const text_merge *m = text_merges_find(&tok->merges, ids[left], ids[right]);
    if (!m || m->merged != top.merged) continue; /* stale: a neighbour changed */
    ids[left] = m->merged;
    ids[right] = -1;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    st = push_pair(tok, &heap, ids, prev[left], left);
    if (!st) st = push_pair(tok, &heap, ids, left, next[left]);
  }
  if (st) goto done;
  int first = sink->ids.n;
  for (int i = 0; i >= 0 && !st; i = next[i]) st = text_ids_push(&sink->ids, ids[i]);
  if (!st && len <= CACHE_MAX_WORD && tok->cache)
    cache_put(tok->cache, word, len, sink->ids.data + first, sink->ids.n - first);
done:
  free(ids);
  free(next);
  free(prev);
  free(heap.items);
  return st;
}

/* ---- the GPT-2 pattern ------------------------------------------------------------------------
 */
static bool is_other(int32_t c) {
  return !text_is_white_space(c) && !text_is_letter(c) && !text_is_number(c);
}

/* End (in characters) of the pattern's match that starts at character i of cps[0..n). */
static int gpt2_match_end(const int32_t *cps, int n, int i) {
  int32_t c = cps[i];
  if (c == '\'' && i + 1 < n) {
    int32_t c1 = cps[i + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
    if (i + 2 < n) {
      int32_t c2 = cps[i + 2];
      if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return i + 3;
    }
  }
  int k = (c == ' ' && i + 1 < n) ? i + 1 : i; /* the optional leading space */
  bool (*cls)(int32_t) = NULL;
  if (text_is_letter(cps[k]))
    cls = text_is_letter;
  else if (text_is_number(cps[k]))
    cls = text_is_number;
  else if (is_other(cps[k]))
    cls = is_other;
  if (cls) {
    int e = k;
    while (e < n && cls(cps[e])) e++;
    return e;
  }
  /* whitespace: \s+(?!\S) leaves the last one for the next word, else \s+ */
  int e = i;
  while (e < n && text_is_white_space(cps[e])) e++;
  if (e == n || e - i < 2) return e;
  return e - 1;
}

porta_status text_bpe_encode(const porta_tokenizer *tok, text_sink *sink, const char *text,
                             size_t len, char *err, size_t err_size) {
  porta_status st = PORTA_OK;
  if (len == 0) return PORTA_OK;
  text_buf prefixed = {0};
  if (tok->add_prefix_space && text[0] != ' ') {
    st = text_buf_append(&prefixed, " ", 1);
    if (!st) st = text_buf_append(&prefixed, text, len);
    if (st) return text_fail(err, err_size, st, "tokenizer: out of memory");
    text = prefixed.data;
    len = prefixed.n;
  }
  int32_t *cps = malloc((len + 1) * sizeof(int32_t));
  size_t *offsets = malloc((len + 1) * sizeof(size_t)); /* byte offset of each character */
  if (!cps || !offsets) {
    st = PORTA_ERR_OUT_OF_MEMORY;
    goto done;
  }
  int n = 0;
  for (size_t i = 0; i < len;) {
    offsets[n] = i;
    cps[n++] = text_utf8_next(text, &i);
  }
  offsets[n] = len;
  if (!tok->use_regex) {
    st = bpe_word(tok, sink, text, len);
    goto done;
  }
  for (int i = 0; i < n && !st && !text_sink_full(sink);) {
    int e = gpt2_match_end(cps, n, i);
    st = bpe_word(tok, sink, text + offsets[i], offsets[e] - offsets[i]);
    i = e;
  }
done:
  free(cps);
  free(offsets);
  text_buf_free(&prefixed);
  if (st) return text_fail(err, err_size, st, "tokenizer: out of memory in BPE");
  return PORTA_OK;
}
