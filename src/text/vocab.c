/* The tokenizers' tables: token string <-> id (open addressing over FNV-1a hashes, strings in one
 * arena) and the BPE merges (id pair -> rank + merged id). Plus small growable arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "text/text_internal.h"

porta_status text_fail(char *err, size_t err_size, porta_status status, const char *fmt, ...) {
  if (err && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    porta_error_vformat(err, err_size, fmt, ap); /* user bytes (tokens, paths) stay valid UTF-8 */
    va_end(ap);
  }
  return status;
}

porta_status text_ids_push(text_ids *a, int32_t v) {
  if (a->n == a->cap) {
    int cap = a->cap ? 2 * a->cap : 64;
    int32_t *grown = realloc(a->data, (size_t)cap * sizeof(int32_t));
    if (!grown) return PORTA_ERR_OUT_OF_MEMORY;
    a->data = grown;
    a->cap = cap;
  }
  a->data[a->n++] = v;
  return PORTA_OK;
}

void text_ids_free(text_ids *a) {
  free(a->data);
  a->data = NULL;
  a->n = a->cap = 0;
}

porta_status text_buf_append(text_buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return PORTA_ERR_OUT_OF_MEMORY;
    b->data = grown;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->n, s, n);
  b->n += n;
  b->data[b->n] = '\0';
  return PORTA_OK;
}

void text_buf_free(text_buf *b) {
  free(b->data);
  b->data = NULL;
  b->n = b->cap = 0;
}

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

void text_vocab_free(text_vocab *v) {
  free(v->arena);
  free(v->offsets);
  free(v->lengths);
  free(v->slots);
  memset(v, 0, sizeof(*v));
}

/* Rebuilds the hash from the id table; a string held by several ids maps to the highest one
 * (vocab.txt read line by line: a later line wins, as in Python). */
static porta_status vocab_rehash(text_vocab *v) {
  uint32_t with_string = 0;
  for (int id = 0; id < v->n_ids; id++) with_string += v->offsets[id] != UINT32_MAX;
  uint32_t n_slots = 4096;
  while (n_slots < 2u * with_string + 2) n_slots *= 2;
  int32_t *slots = malloc((size_t)n_slots * sizeof(int32_t));
  if (!slots) return PORTA_ERR_OUT_OF_MEMORY;
  for (uint32_t i = 0; i < n_slots; i++) slots[i] = -1;
  int n_tokens = 0;
  for (int id = 0; id < v->n_ids; id++) {
    if (v->offsets[id] == UINT32_MAX) continue;
    const char *s = v->arena + v->offsets[id];
    uint32_t len = v->lengths[id];
    uint32_t i = (uint32_t)fnv1a(s, len) & (n_slots - 1);
    while (slots[i] >= 0) {
      int32_t o = slots[i];
      if (v->lengths[o] == len && memcmp(v->arena + v->offsets[o], s, len) == 0) break;
      i = (i + 1) & (n_slots - 1);
    }
    if (slots[i] < 0) n_tokens++;
    slots[i] = id;
  }
  free(v->slots);
  v->slots = slots;
  v->n_slots = n_slots;
  v->n_tokens = n_tokens;
  return PORTA_OK;
}

static porta_status vocab_grow_ids(text_vocab *v, int need) {
  if (need <= v->ids_cap) return PORTA_OK;
  int cap = v->ids_cap ? v->ids_cap : 1024;
  while (cap < need) cap *= 2;
  uint32_t *offsets = realloc(v->offsets, (size_t)cap * sizeof(uint32_t));
  if (!offsets) return PORTA_ERR_OUT_OF_MEMORY;
  v->offsets = offsets;
  uint32_t *lengths = realloc(v->lengths, (size_t)cap * sizeof(uint32_t));
  if (!lengths) return PORTA_ERR_OUT_OF_MEMORY;
  v->lengths = lengths;
  for (int i = v->ids_cap; i < cap; i++) {
    v->offsets[i] = UINT32_MAX;
    v->lengths[i] = 0;
  }
  v->ids_cap = cap;
  return PORTA_OK;
}

porta_status text_vocab_set(text_vocab *v, const char *token, size_t len, int32_t id) {
  if (id < 0 || id >= PORTA_TOKENIZER_MAX_ID || len > UINT32_MAX / 4) return PORTA_ERR_LIMIT;
  if (v->arena_len + len + 1 > UINT32_MAX / 2) return PORTA_ERR_LIMIT;
  porta_status st = vocab_grow_ids(v, id + 1);
  if (st) return st;
  bool rehash = (uint32_t)(v->n_tokens + 1) * 2 > v->n_slots;
  if (v->offsets[id] != UINT32_MAX) {
    if (v->lengths[id] == len && memcmp(v->arena + v->offsets[id], token, len) == 0) {
      /* Same string again: make it map to this id. */
      uint32_t i = (uint32_t)fnv1a(token, len) & (v->n_slots - 1);
      while (v->slots[i] >= 0 && v->slots[i] != id) {
        int32_t o = v->slots[i];
        if (v->lengths[o] == len && memcmp(v->arena + v->offsets[o], token, len) == 0) break;
        i = (i + 1) & (v->n_slots - 1);
      }
      v->slots[i] = id;
      return PORTA_OK;
    }
    rehash = true; /* the id changes its string: the old string's slot must go */
  }
  if (v->arena_len + len + 1 > v->arena_cap) {
    size_t cap = v->arena_cap ? v->arena_cap : 65536;
    while (cap < v->arena_len + len + 1) cap *= 2;
    char *grown = realloc(v->arena, cap);
    if (!grown) return PORTA_ERR_OUT_OF_MEMORY;
    v->arena = grown;
    v->arena_cap = cap;
  }
  v->offsets[id] = (uint32_t)v->arena_len;
  v->lengths[id] = (uint32_t)len;
  if (len) memcpy(v->arena + v->arena_len, token, len);
  v->arena[v->arena_len + len] = '\0';
  v->arena_len += len + 1;
  if (id + 1 > v->n_ids) v->n_ids = id + 1;
  if (rehash) return vocab_rehash(v);

  uint32_t i = (uint32_t)fnv1a(token, len) & (v->n_slots - 1);
  while (v->slots[i] >= 0) {
    int32_t o = v->slots[i];
    if (v->lengths[o] == len && memcmp(v->arena + v->offsets[o], token, len) == 0) break;
    i = (i + 1) & (v->n_slots - 1);
  }
  if (v->slots[i] < 0) v->n_tokens++;
  v->slots[i] = id; /* a string seen before now maps to the newer id */
  return PORTA_OK;
}

int32_t text_vocab_find(const text_vocab *v, const char *token, size_t len) {
  if (!v->n_slots) return -1;
  uint32_t i = (uint32_t)fnv1a(token, len) & (v->n_slots - 1);
  while (v->slots[i] >= 0) {
    int32_t o = v->slots[i];
    if (v->lengths[o] == len && memcmp(v->arena + v->offsets[o], token, len) == 0) return o;
    i = (i + 1) & (v->n_slots - 1);
  }
  return -1;
}

const char *text_vocab_token(const text_vocab *v, int32_t id, size_t *len) {
  if (id < 0 || id >= v->n_ids || v->offsets[id] == UINT32_MAX) return NULL;
  if (len) *len = v->lengths[id];
  return v->arena + v->offsets[id];
}

/* ---- merges ------------------------------------------------------------------------------- */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

void text_merges_free(text_merges *m) {
  free(m->slots);
  memset(m, 0, sizeof(*m));
}

static porta_status merges_rehash(text_merges *m, uint32_t n_slots) {
  text_merge *slots = malloc((size_t)n_slots * sizeof(text_merge));
  if (!slots) return PORTA_ERR_OUT_OF_MEMORY;
  for (uint32_t i = 0; i < n_slots; i++) slots[i].key = UINT64_MAX;
  for (uint32_t j = 0; j < m->n_slots; j++) {
    if (m->slots[j].key == UINT64_MAX) continue;
    uint32_t i = (uint32_t)mix64(m->slots[j].key) & (n_slots - 1);
    while (slots[i].key != UINT64_MAX) i = (i + 1) & (n_slots - 1);
    slots[i] = m->slots[j];
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n_slots;
  return PORTA_OK;
}

porta_status text_merges_add(text_merges *m, int32_t left, int32_t right, int32_t rank,
                             int32_t merged) {
  if ((uint32_t)(m->count + 1) * 2 > m->n_slots) {
    porta_status st = merges_rehash(m, m->n_slots ? m->n_slots * 2 : 4096);
    if (st) return st;
  }
  uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
  uint32_t i = (uint32_t)mix64(key) & (m->n_slots - 1);
  while (m->slots[i].key != UINT64_MAX) {
    if (m->slots[i].key == key) return PORTA_OK; /* a repeated merge keeps its first rank */
    i = (i + 1) & (m->n_slots - 1);
  }
  m->slots[i].key = key;
  m->slots[i].rank = rank;
  m->slots[i].merged = merged;
  m->count++;
  return PORTA_OK;
}

const text_merge *text_merges_find(const text_merges *m, int32_t left, int32_t right) {
  if (!m->n_slots) return NULL;
  uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
  uint32_t i = (uint32_t)mix64(key) & (m->n_slots - 1);
  while (m->slots[i].key != UINT64_MAX) {
    if (m->slots[i].key == key) return &m->slots[i];
    i = (i + 1) & (m->n_slots - 1);
  }
  return NULL;
}
