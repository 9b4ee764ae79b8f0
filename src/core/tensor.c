/* Tensors: a shape + dtype over a reference-counted device buffer (shared by views), with an
 * owner (caller, context temporaries, or the core itself) and tape pins that defer freeing while
 * the autograd tape still needs the tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

char *porta_shape_format(char *buf, size_t size, int ndim, const int64_t *shape) {
  if (!buf || size == 0) return buf;
  size_t n = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
  return buf;
}

void porta_shape4(const porta_tensor *x, int64_t shape[PORTA_MAX_DIMS]) {
  int pad = PORTA_MAX_DIMS - x->ndim;
  for (int i = 0; i < PORTA_MAX_DIMS; i++) shape[i] = i < pad ? 1 : x->shape[i - pad];
}

void porta_strides4(const int64_t shape[PORTA_MAX_DIMS], int64_t strides[PORTA_MAX_DIMS]) {
  int64_t s = 1;
  for (int i = PORTA_MAX_DIMS - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
}

static void list_insert(porta_context *ctx, porta_tensor *t) {
  t->prev = NULL;
  t->next = ctx->tensors;
  if (ctx->tensors) ctx->tensors->prev = t;
  ctx->tensors = t;
}

static void list_remove(porta_context *ctx, porta_tensor *t) {
  if (t->prev)
    t->prev->next = t->next;
  else if (ctx->tensors == t)
    ctx->tensors = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

static porta_status check_shape(porta_context *ctx, const char *what, int ndim,
                                const int64_t *shape, int64_t *numel) {
  if (ndim < 1 || ndim > PORTA_MAX_DIMS)
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: ndim %d is not in 1..%d", what, ndim,
                      PORTA_MAX_DIMS);
  if (!shape) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: shape is NULL", what);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 1 || shape[i] > ((int64_t)1 << 40) || n > (((int64_t)1 << 40) / shape[i])) {
      char buf[128];
      return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: shape %s has a dimension < 1 or is too large",
                        what, porta_shape_format(buf, sizeof buf, ndim, shape));
    }
    n *= shape[i];
  }
  *numel = n;
  return PORTA_OK;
}

/* Tensor struct over an existing buffer (retained). */
static porta_status tensor_wrap(porta_context *ctx, porta_tensor **out, porta_dtype dtype, int ndim,
                                const int64_t *shape, int64_t numel, porta_buffer *buf,
                                size_t offset, porta_owner owner, const char *what) {
  porta_tensor *t = calloc(1, sizeof *t);
  if (!t) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
  t->ctx = ctx;
  t->dtype = dtype;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
  t->numel = numel;
  t->buffer = buf;
  porta_buffer_retain(buf);
  t->offset = offset;
  t->owner = owner;
  if (owner != PORTA_OWNER_INTERNAL) list_insert(ctx, t);
  *out = t;
  return PORTA_OK;
}

static porta_status tensor_create(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                  int ndim, const int64_t *shape, porta_owner owner,
                                  const char *what) {
  if (!out) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: out is NULL", what);
  *out = NULL;
  if (dtype != PORTA_F32 && dtype != PORTA_I32)
    return porta_fail(ctx, PORTA_ERR_DTYPE, "%s: dtype %d is not PORTA_F32 or PORTA_I32", what,
                      (int)dtype);
  int64_t numel;
  porta_status st = check_shape(ctx, what, ndim, shape, &numel);
  if (st != PORTA_OK) return st;
  porta_buffer *buf;
  st = porta_buffer_alloc(ctx, (size_t)numel * 4, what, &buf);
  if (st != PORTA_OK) return st;
  st = tensor_wrap(ctx, out, dtype, ndim, shape, numel, buf, 0, owner, what);
  porta_buffer_release(buf);
  return st;
}

porta_status porta_tensor_temp(porta_context *ctx, porta_tensor **out, porta_dtype dtype, int ndim,
                               const int64_t *shape, const char *what) {
  return tensor_create(ctx, out, dtype, ndim, shape, PORTA_OWNER_TEMPORARY, what);
}

porta_status porta_tensor_internal(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                   int ndim, const int64_t *shape, const char *what) {
  return tensor_create(ctx, out, dtype, ndim, shape, PORTA_OWNER_INTERNAL, what);
}

porta_status porta_tensor_view(porta_tensor **out, porta_tensor *x, int ndim, const int64_t *shape,
                               size_t extra_offset) {
  int64_t numel;
  porta_status st = check_shape(x->ctx, "porta_tensor_view", ndim, shape, &numel);
  if (st != PORTA_OK) return st;
  return tensor_wrap(x->ctx, out, x->dtype, ndim, shape, numel, x->buffer, x->offset + extra_offset,
                     PORTA_OWNER_TEMPORARY, "porta_tensor_view");
}

porta_status porta_tensor_internal_view(porta_tensor **out, porta_tensor *x, int ndim,
                                        const int64_t *shape) {
  int64_t numel;
  porta_status st = check_shape(x->ctx, "porta_tensor_internal_view", ndim, shape, &numel);
  if (st != PORTA_OK) return st;
  return tensor_wrap(x->ctx, out, x->dtype, ndim, shape, numel, x->buffer, x->offset,
                     PORTA_OWNER_INTERNAL, "porta_tensor_internal_view");
}

porta_status porta_tensor_new(porta_context *ctx, porta_tensor **out, porta_dtype dtype, int ndim,
                              const int64_t *shape) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  return tensor_create(ctx, out, dtype, ndim, shape, PORTA_OWNER_CALLER, "porta_tensor_new");
}

porta_status porta_tensor_zeros(porta_context *ctx, porta_tensor **out, porta_dtype dtype, int ndim,
                                const int64_t *shape) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st =
      tensor_create(ctx, out, dtype, ndim, shape, PORTA_OWNER_CALLER, "porta_tensor_zeros");
  if (st != PORTA_OK) return st;
  st = porta_be_fill(ctx, "porta_tensor_zeros", porta_tensor_ref(*out), (*out)->numel, 0.0f);
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

porta_status porta_tensor_from_host(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                    int ndim, const int64_t *shape, const void *data) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (!data) {
    if (out) *out = NULL;
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_tensor_from_host: data is NULL");
  }
  porta_status st =
      tensor_create(ctx, out, dtype, ndim, shape, PORTA_OWNER_CALLER, "porta_tensor_from_host");
  if (st != PORTA_OK) return st;
  st = porta_tensor_upload(*out, data, (size_t)(*out)->numel);
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

/* Really frees: grad, name, buffer reference. */
static void tensor_delete(porta_tensor *t) {
  if (t->grad) tensor_delete(t->grad);
  if (t->owner != PORTA_OWNER_INTERNAL) list_remove(t->ctx, t);
  porta_buffer_release(t->buffer);
  free(t->name);
  free(t);
}

void porta_tensor_destroy(porta_tensor *t) {
  if (!t) return;
  if (t->pins > 0) {
    /* The tape still reads it: drop it from its owner now, free it when unpinned. */
    t->dead = true;
    return;
  }
  tensor_delete(t);
}

void porta_tensor_pin(porta_tensor *t) { t->pins++; }

void porta_tensor_unpin(porta_tensor *t) {
  if (--t->pins == 0 && t->dead) tensor_delete(t);
}

void porta_tensor_free(porta_tensor *t) {
  /* Gradients and optimizer state belong to their owner: freeing them here would leave it with a
   * dangling pointer, so the public free ignores them. */
  if (!t || t->dead || t->owner == PORTA_OWNER_INTERNAL) return;
  porta_tensor_destroy(t);
}

void porta_tensor_keep(porta_tensor *t) {
  if (t && t->owner == PORTA_OWNER_TEMPORARY) t->owner = PORTA_OWNER_CALLER;
}

void porta_release_temporaries(porta_context *ctx) {
  if (!ctx) return;
  porta_tape_clear(ctx);
  porta_tensor *t = ctx->tensors;
  while (t) {
    porta_tensor *next = t->next;
    if (t->owner == PORTA_OWNER_TEMPORARY && !t->dead) porta_tensor_destroy(t);
    t = next;
  }
  porta_allocator_next_generation(ctx);
}

porta_status porta_tensor_upload(porta_tensor *t, const void *data, size_t count) {
  if (!t) return PORTA_ERR_INVALID_ARGUMENT;
  porta_context *ctx = t->ctx;
  if (!data)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_tensor_upload: data is NULL");
  if (count != (size_t)t->numel) {
    char shape[96];
    return porta_fail(
        ctx, PORTA_ERR_SHAPE, "porta_tensor_upload: %zu elements given for tensor %s%s with %lld",
        count, t->name ? t->name : "", porta_shape_format(shape, sizeof shape, t->ndim, t->shape),
        (long long)t->numel);
  }
  ctx->be->err[0] = '\0';
  porta_status st =
      ctx->be->ops->upload(ctx->be, t->buffer->handle, t->offset * 4, data, count * 4);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, "porta_tensor_upload");
  return PORTA_OK;
}

porta_status porta_tensor_download(const porta_tensor *t, void *data, size_t count) {
  if (!t) return PORTA_ERR_INVALID_ARGUMENT;
  porta_context *ctx = t->ctx;
  if (!data)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_tensor_download: data is NULL");
  if (count != (size_t)t->numel) {
    char shape[96];
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "porta_tensor_download: room for %zu elements given for tensor %s%s with "
                      "%lld",
                      count, t->name ? t->name : "",
                      porta_shape_format(shape, sizeof shape, t->ndim, t->shape),
                      (long long)t->numel);
  }
  ctx->be->err[0] = '\0';
  porta_status st =
      ctx->be->ops->download(ctx->be, t->buffer->handle, t->offset * 4, data, count * 4);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, "porta_tensor_download");
  return PORTA_OK;
}

porta_status porta_tensor_fill(porta_tensor *t, float value) {
  if (!t) return PORTA_ERR_INVALID_ARGUMENT;
  if (t->dtype != PORTA_F32 && value != 0.0f)
    return porta_fail(t->ctx, PORTA_ERR_DTYPE,
                      "porta_tensor_fill: an i32 tensor can only be filled with 0");
  return porta_be_fill(t->ctx, "porta_tensor_fill", porta_tensor_ref(t), t->numel, value);
}

porta_status porta_tensor_copy(porta_tensor *dst, const porta_tensor *src) {
  if (!dst || !src) {
    porta_context *ctx = dst ? dst->ctx : src ? src->ctx : NULL;
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_tensor_copy: %s is NULL",
                      dst ? "src" : "dst");
  }
  porta_context *ctx = dst->ctx;
  if (src->ctx != ctx)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "porta_tensor_copy: src belongs to another context");
  bool same = dst->ndim == src->ndim && dst->dtype == src->dtype;
  for (int i = 0; same && i < dst->ndim; i++) same = dst->shape[i] == src->shape[i];
  if (!same) {
    char a[96], b[96];
    return porta_fail(ctx, dst->dtype != src->dtype ? PORTA_ERR_DTYPE : PORTA_ERR_SHAPE,
                      "porta_tensor_copy: dst %s %s and src %s %s differ",
                      porta_shape_format(a, sizeof a, dst->ndim, dst->shape),
                      dst->dtype == PORTA_F32 ? "f32" : "i32",
                      porta_shape_format(b, sizeof b, src->ndim, src->shape),
                      src->dtype == PORTA_F32 ? "f32" : "i32");
  }
  if (dst->buffer == src->buffer && dst->offset == src->offset) return PORTA_OK;
  ctx->be->err[0] = '\0';
  porta_status st =
      ctx->be->ops->copy(ctx->be, dst->buffer->handle, dst->offset * 4, src->buffer->handle,
                         src->offset * 4, (size_t)src->numel * 4);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, "porta_tensor_copy");
  return PORTA_OK;
}

porta_context *porta_tensor_context(const porta_tensor *t) { return t ? t->ctx : NULL; }
porta_dtype porta_tensor_dtype(const porta_tensor *t) { return t ? t->dtype : PORTA_F32; }
int porta_tensor_ndim(const porta_tensor *t) { return t ? t->ndim : 0; }

int64_t porta_tensor_dim(const porta_tensor *t, int i) {
  if (!t) return 0;
  if (i < 0) i += t->ndim;
  if (i < 0 || i >= t->ndim) return 0;
  return t->shape[i];
}

int64_t porta_tensor_numel(const porta_tensor *t) { return t ? t->numel : 0; }

char *porta_tensor_shape_string(const porta_tensor *t, char *buf, size_t size) {
  if (!t) {
    if (buf && size) snprintf(buf, size, "(null)");
    return buf;
  }
  return porta_shape_format(buf, size, t->ndim, t->shape);
}

void porta_tensor_set_name(porta_tensor *t, const char *name) {
  if (!t) return;
  free(t->name);
  t->name = name ? strdup(name) : NULL;
}

const char *porta_tensor_name(const porta_tensor *t) { return t ? t->name : NULL; }
