/* The caching allocator over the backend's alloc/free.
 *
 * Requests are rounded to a size class and freed blocks are kept in a free list per class, so the
 * same sequence of allocations (one training step after another) is served from the cache and
 * never reaches the driver once warmed up. A request may also take a cached block up to 25 %
 * larger than its class, so batches of varying shapes reuse the cache too. Classes: multiples of
 * 256 B up to 1 MiB, then four steps per power of two (≤ 25 % waste). A limit
 * (PORTA_MAX_DEVICE_BYTES) caps the bytes held from the driver (live + cached); over it, or when
 * the driver is out of memory, the cache is returned to the driver and the request retried once. */
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

/* Driver frees every cached block. */
void porta_allocator_trim(porta_context *ctx) {
  porta_allocator *a = &ctx->alloc;
  if (a->cached_bytes == 0) return;
  ctx->be->ops->synchronize(ctx->be); /* queued work may still read a freed tensor's block */
  for (int i = 0; i < a->n_lists; i++) {
    porta_free_list *l = &a->lists[i];
    for (int j = 0; j < l->count; j++) ctx->be->ops->free(ctx->be, l->handles[j]);
    a->cached_bytes -= (size_t)l->count * l->bytes;
    l->count = 0;
  }
}

void porta_allocator_destroy(porta_context *ctx) {
  porta_allocator_trim(ctx);
  porta_allocator *a = &ctx->alloc;
  for (int i = 0; i < a->n_lists; i++) free(a->lists[i].handles);
  free(a->lists);
  memset(a, 0, sizeof *a);
}

static porta_status driver_alloc(porta_context *ctx, size_t bytes, const char *what, void **out) {
  porta_allocator *a = &ctx->alloc;
  for (int attempt = 0; attempt < 2; attempt++) {
    size_t held = a->live_bytes + a->cached_bytes;
    if (a->limit && held + bytes > a->limit) {
      if (attempt == 0 && a->cached_bytes) {
        porta_allocator_trim(ctx);
        continue;
      }
      return porta_fail(ctx, PORTA_ERR_DEVICE_MEMORY,
                        "%s: device memory limit exceeded: requested %zu bytes with %zu bytes "
                        "live, limit %zu bytes (PORTA_MAX_DEVICE_BYTES / max_device_bytes)",
                        what, bytes, a->live_bytes, a->limit);
    }
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
  /* The exact class first, else a cached block at most 25 % larger (varying batch shapes then
   * still reuse the cache); the block keeps its own class. */
  for (int j = i; j < a->n_lists && j < i + 16 && a->lists[j].bytes <= cls + cls / 4; j++) {
    if (a->lists[j].count > 0) {
      handle = a->lists[j].handles[--a->lists[j].count];
      cls = a->lists[j].bytes;
      a->cached_bytes -= cls;
      break;
    }
  }
  if (!handle) {
    porta_status st = driver_alloc(ctx, cls, what, &handle);
    if (st != PORTA_OK) {
      free(b);
      return st;
    }
  }
  b->ctx = ctx;
  b->handle = handle;
  b->bytes = cls;
  b->refs = 1;
  a->live_bytes += cls;
  if (a->live_bytes > a->peak_bytes) a->peak_bytes = a->live_bytes;
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
  bool found;
  int i = find_list(a, b->bytes, &found);
  if (!found) {
    if (a->n_lists == a->cap_lists) {
      int cap = a->cap_lists ? a->cap_lists * 2 : 32;
      porta_free_list *lists = realloc(a->lists, (size_t)cap * sizeof *lists);
      if (!lists) goto give_back;
      a->lists = lists;
      a->cap_lists = cap;
    }
    memmove(&a->lists[i + 1], &a->lists[i], (size_t)(a->n_lists - i) * sizeof *a->lists);
    memset(&a->lists[i], 0, sizeof a->lists[i]);
    a->lists[i].bytes = b->bytes;
    a->n_lists++;
  }
  porta_free_list *l = &a->lists[i];
  if (l->count == l->capacity) {
    int cap = l->capacity ? l->capacity * 2 : 4;
    void **handles = realloc(l->handles, (size_t)cap * sizeof *handles);
    if (!handles) goto give_back;
    l->handles = handles;
    l->capacity = cap;
  }
  l->handles[l->count++] = b->handle;
  a->cached_bytes += b->bytes;
  free(b);
  return;
give_back: /* no host memory to cache it: return it to the driver */
  ctx->be->ops->synchronize(ctx->be);
  ctx->be->ops->free(ctx->be, b->handle);
  free(b);
}
