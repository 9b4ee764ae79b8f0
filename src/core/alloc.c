/* The caching allocator over the backend's alloc/free.
 *
 * Requests are rounded to a size class and freed blocks are kept in a free list per class, so the
 * same sequence of allocations (one training step after another) is served from the cache and
 * never reaches the driver once warmed up. A request may also take a cached block up to twice
 * its class, so batches of varying shapes reuse the cache too. Classes: multiples of 256 B up to
 * 1 MiB, then four steps per power of two (≤ 25 % waste).
 *
 * What the cache may hold (measured in bench/RESULTS.md §8: a length-bucketed epoch needs blocks
 * of new classes at many steps, and a cache that kept them all grew to 4 GB):
 * - a block that stays cached for PORTA_CACHE_IDLE_GENERATIONS calls of
 *   porta_release_temporaries (a training step makes two or three) goes back to the driver, so
 *   the cache holds what the last few steps used, and a fixed-shape loop, which reuses every
 *   block each step, never reaches the driver once warmed up;
 * - PORTA_MAX_CACHED_BYTES (max_cached_bytes) caps the cached bytes: a return past it gives the
 *   least recently returned blocks back;
 * - PORTA_MAX_DEVICE_BYTES (max_device_bytes) caps live + cached: over it, the least recently
 *   returned cached blocks go back first, and the request fails only if live bytes alone would
 *   pass it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

size_t porta_size_class(size_t bytes) {
  if (bytes < 256) return 256;
  if (bytes <= (1u << 20)) return (bytes + 255) & ~(size_t)255;
  size_t pow2 = (size_t)1 << 20;
  while (pow2 <= bytes / 2) pow2 <<= 1; /* largest power of two ≤ bytes */
  size_t step = pow2 / 4;
  return (bytes + step - 1) / step * step;
}

/* Index of the free list for `bytes`, or where it would be inserted (binary search). */
static int find_list(const porta_allocator *a, size_t bytes, bool *found) {
  int lo = 0, hi = a->n_lists;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (a->lists[mid].bytes < bytes)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < a->n_lists && a->lists[lo].bytes == bytes;
  return lo;
}

/* The list of class `bytes`, made when missing; NULL when out of host memory. Lists are never
 * removed, so a live block's list is always there when it is returned. */
static porta_free_list *list_for(porta_allocator *a, size_t bytes) {
  bool found;
  int i = find_list(a, bytes, &found);
  if (found) return &a->lists[i];
  if (a->n_lists == a->cap_lists) {
    int cap = a->cap_lists ? a->cap_lists * 2 : 32;
    porta_free_list *lists = realloc(a->lists, (size_t)cap * sizeof *lists);
    if (!lists) return NULL;
    a->lists = lists;
    a->cap_lists = cap;
  }
  memmove(&a->lists[i + 1], &a->lists[i], (size_t)(a->n_lists - i) * sizeof *a->lists);
  memset(&a->lists[i], 0, sizeof a->lists[i]);
  a->lists[i].bytes = bytes;
  a->n_lists++;
  return &a->lists[i];
}

static void note_held(porta_allocator *a, porta_free_list *l) {
  size_t held = a->live_bytes + a->cached_bytes;
  if (held > a->peak_held_bytes) a->peak_held_bytes = held;
  if (l->live + l->count > l->peak_held) l->peak_held = l->live + l->count;
}

/* Gives the least recently returned cached blocks back to the driver until at most `keep` bytes
 * stay cached. Each list is oldest first, so the oldest block overall heads one of the lists. */
static void evict_lru(porta_context *ctx, size_t keep) {
  porta_allocator *a = &ctx->alloc;
  if (a->cached_bytes <= keep) return;
  ctx->be->ops->synchronize(ctx->be); /* queued work may still read a freed tensor's block */
  while (a->cached_bytes > keep) {
    porta_free_list *oldest = NULL;
    for (int i = 0; i < a->n_lists; i++) {
      porta_free_list *l = &a->lists[i];
      if (l->count > 0 && (!oldest || l->blocks[0].tick < oldest->blocks[0].tick)) oldest = l;
    }
    if (!oldest) break;
    ctx->be->ops->free(ctx->be, oldest->blocks[0].handle);
    memmove(&oldest->blocks[0], &oldest->blocks[1],
            (size_t)(oldest->count - 1) * sizeof(oldest->blocks[0]));
    oldest->count--;
    oldest->evictions++;
    a->evictions++;
    a->cached_bytes -= oldest->bytes;
  }
}

void porta_allocator_trim(porta_context *ctx) { evict_lru(ctx, 0); }

void porta_allocator_next_generation(porta_context *ctx) {
  porta_allocator *a = &ctx->alloc;
  a->generation++;
  if (a->generation <= PORTA_CACHE_IDLE_GENERATIONS) return;
  uint64_t stale = a->generation - PORTA_CACHE_IDLE_GENERATIONS; /* returned before this: idle */
  bool synced = false;
  for (int i = 0; i < a->n_lists; i++) {
    porta_free_list *l = &a->lists[i];
    int n = 0; /* each list is oldest first: its idle blocks lead */
    while (n < l->count && l->blocks[n].generation < stale) n++;
    if (n == 0) continue;
    if (!synced) ctx->be->ops->synchronize(ctx->be), synced = true;
    for (int k = 0; k < n; k++) ctx->be->ops->free(ctx->be, l->blocks[k].handle);
    memmove(&l->blocks[0], &l->blocks[n], (size_t)(l->count - n) * sizeof l->blocks[0]);
    l->count -= n;
    l->evictions += (uint64_t)n;
    a->evictions += (uint64_t)n;
    a->cached_bytes -= (size_t)n * l->bytes;
  }
}

void porta_allocator_destroy(porta_context *ctx) {
  porta_allocator_trim(ctx);
  porta_allocator *a = &ctx->alloc;
  for (int i = 0; i < a->n_lists; i++) free(a->lists[i].blocks);
  free(a->lists);
  memset(a, 0, sizeof *a);
}

static porta_status driver_alloc(porta_context *ctx, size_t bytes, const char *what, void **out) {
  porta_allocator *a = &ctx->alloc;
  if (a->limit && a->live_bytes + a->cached_bytes + bytes > a->limit)
    evict_lru(ctx, a->limit > a->live_bytes + bytes ? a->limit - a->live_bytes - bytes : 0);
  if (a->limit && a->live_bytes + bytes > a->limit)
    return porta_fail(ctx, PORTA_ERR_DEVICE_MEMORY,
                      "%s: device memory limit exceeded: requested %zu bytes with %zu bytes "
                      "live, limit %zu bytes (PORTA_MAX_DEVICE_BYTES / max_device_bytes)",
                      what, bytes, a->live_bytes, a->limit);
  for (int attempt = 0; attempt < 2; attempt++) {
    ctx->be->err[0] = '\0';
    porta_status st = ctx->be->ops->alloc(ctx->be, bytes, out);
    if (st == PORTA_OK) {
      a->driver_allocs++;
      return PORTA_OK;
    }
    if (st == PORTA_ERR_DEVICE_MEMORY && attempt == 0 && a->cached_bytes) {
      porta_allocator_trim(ctx); /* give the cache back and try once more */
      continue;
    }
    char msg[PORTA_ERR_SIZE / 2];
    snprintf(msg, sizeof msg, "%.2000s", ctx->be->err);
    return porta_fail(ctx, st, "%s: device allocation of %zu bytes failed (%zu bytes live): %s",
                      what, bytes, a->live_bytes, msg[0] ? msg : porta_status_string(st));
  }
  return porta_fail(ctx, PORTA_ERR_DEVICE_MEMORY, "%s: device allocation of %zu bytes failed", what,
                    bytes);
}

porta_status porta_buffer_alloc(porta_context *ctx, size_t bytes, const char *what,
                                porta_buffer **out) {
  *out = NULL;
  porta_allocator *a = &ctx->alloc;
  size_t cls = porta_size_class(bytes);
  porta_buffer *b = malloc(sizeof *b);
  if (!b) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
  bool found;
  int i = find_list(a, cls, &found);
  void *handle = NULL;
  porta_free_list *l = NULL;
  /* The smallest cached block of the class or up to twice its size: a batch shorter than the
   * recent ones then reuses their blocks instead of growing the footprint (with 25 % here, the
   * mixed-length epoch of tests/test_alloc_epoch.c reached the driver 1409 times, not 891); the
   * block keeps its own class. The newest block of a list is taken: the oldest are the first to go
   * back. */
  size_t most = 2 * cls;
  for (int j = i; j < a->n_lists && a->lists[j].bytes <= most; j++) {
    if (a->lists[j].count > 0) {
      l = &a->lists[j];
      handle = l->blocks[--l->count].handle;
      cls = l->bytes;
      a->cached_bytes -= cls;
      l->hits++;
      break;
    }
  }
  if (!handle) {
    porta_status st = PORTA_OK;
    if (!(l = list_for(a, cls)))
      st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
    if (st == PORTA_OK) st = driver_alloc(ctx, cls, what, &handle);
    if (st != PORTA_OK) {
      free(b);
      return st;
    }
    l->driver_allocs++; /* eviction frees blocks, never lists: l still points at the class */
  }
  b->ctx = ctx;
  b->handle = handle;
  b->bytes = cls;
  b->refs = 1;
  a->live_bytes += cls;
  l->live++;
  if (a->live_bytes > a->peak_bytes) a->peak_bytes = a->live_bytes;
  note_held(a, l);
  *out = b;
  return PORTA_OK;
}

void porta_buffer_retain(porta_buffer *b) { b->refs++; }

void porta_buffer_release(porta_buffer *b) {
  if (!b || --b->refs > 0) return;
  porta_context *ctx = b->ctx;
  porta_allocator *a = &ctx->alloc;
  a->live_bytes -= b->bytes;
  /* Keep the block for reuse; the queue is in order, so later work that gets this block runs
   * after the work that still reads it. */
  porta_free_list *l = list_for(a, b->bytes);
  if (!l) goto give_back;
  l->live--;
  if (l->count == l->capacity) {
    int cap = l->capacity ? l->capacity * 2 : 4;
    porta_cached_block *blocks = realloc(l->blocks, (size_t)cap * sizeof *blocks);
    if (!blocks) goto give_back;
    l->blocks = blocks;
    l->capacity = cap;
  }
  l->blocks[l->count++] = (porta_cached_block){b->handle, ++a->tick, a->generation};
  a->cached_bytes += b->bytes;
  free(b);
  if (a->max_cached && a->cached_bytes > a->max_cached) evict_lru(ctx, a->max_cached);
  return;
give_back: /* no host memory to cache it: return it to the driver */
  ctx->be->ops->synchronize(ctx->be);
  ctx->be->ops->free(ctx->be, b->handle);
  free(b);
}

/* The report: totals, then the classes that held the most bytes at once, largest first. */
static int compare_peak_desc(const void *x, const void *y) {
  const porta_free_list *a = *(porta_free_list *const *)x, *b = *(porta_free_list *const *)y;
  size_t pa = (size_t)a->peak_held * a->bytes, pb = (size_t)b->peak_held * b->bytes;
  return (pa < pb) - (pa > pb);
}

porta_status porta_memory_report(porta_context *ctx, char *buf, size_t size) {
  if (!ctx || !buf || size == 0) return PORTA_ERR_INVALID_ARGUMENT;
  porta_allocator *a = &ctx->alloc;
  const double MB = 1e6;
  size_t used = 0;
  char cap[64] = "none";
  if (a->max_cached) snprintf(cap, sizeof cap, "%.1f MB", a->max_cached / MB);
#define PUT(...)                                                                                   \
  do {                                                                                             \
    if (used < size) used += (size_t)snprintf(buf + used, size - used, __VA_ARGS__);               \
  } while (0)
  PUT("device memory: live %.1f MB, cached %.1f MB; peak live %.1f MB, peak held %.1f MB; "
      "%llu driver allocations, %llu blocks given back; %d size classes; cache cap %s\n",
      a->live_bytes / MB, a->cached_bytes / MB, a->peak_bytes / MB, a->peak_held_bytes / MB,
      (unsigned long long)a->driver_allocs, (unsigned long long)a->evictions, a->n_lists, cap);
  porta_free_list **order = malloc((size_t)(a->n_lists ? a->n_lists : 1) * sizeof *order);
  if (!order) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_memory_report: out of memory");
  for (int i = 0; i < a->n_lists; i++) order[i] = &a->lists[i];
  qsort(order, (size_t)a->n_lists, sizeof *order, compare_peak_desc);
  PUT("%12s %6s %6s %10s %12s %8s %8s %8s\n", "class", "live", "cached", "peak held",
      "peak held MB", "hits", "allocs", "freed");
  int shown = a->n_lists < 20 ? a->n_lists : 20;
  for (int i = 0; i < shown; i++) {
    const porta_free_list *l = order[i];
    PUT("%12zu %6d %6d %10d %12.1f %8llu %8llu %8llu\n", l->bytes, l->live, l->count, l->peak_held,
        (double)l->peak_held * l->bytes / MB, (unsigned long long)l->hits,
        (unsigned long long)l->driver_allocs, (unsigned long long)l->evictions);
  }
  double rest = 0;
  for (int i = shown; i < a->n_lists; i++) rest += (double)order[i]->peak_held * order[i]->bytes;
  if (shown < a->n_lists)
    PUT("(%d more classes, %.1f MB peak held)\n", a->n_lists - shown, rest / MB);
#undef PUT
  free(order);
  return PORTA_OK;
}
