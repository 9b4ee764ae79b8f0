/* porta_context: one backend device, the caching allocator, the dropout RNG state, the autograd
 * tape and the last error message. Also status / backend names and device listing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "core/errors.h"

const char *porta_status_string(porta_status status) {
  switch (status) {
  case PORTA_OK:
    return "PORTA_OK";
  case PORTA_ERR_INVALID_ARGUMENT:
    return "PORTA_ERR_INVALID_ARGUMENT";
  case PORTA_ERR_SHAPE:
    return "PORTA_ERR_SHAPE";
  case PORTA_ERR_DTYPE:
    return "PORTA_ERR_DTYPE";
  case PORTA_ERR_OUT_OF_MEMORY:
    return "PORTA_ERR_OUT_OF_MEMORY";
  case PORTA_ERR_DEVICE_MEMORY:
    return "PORTA_ERR_DEVICE_MEMORY";
  case PORTA_ERR_NO_DEVICE:
    return "PORTA_ERR_NO_DEVICE";
  case PORTA_ERR_BACKEND:
    return "PORTA_ERR_BACKEND";
  case PORTA_ERR_UNSUPPORTED:
    return "PORTA_ERR_UNSUPPORTED";
  case PORTA_ERR_IO:
    return "PORTA_ERR_IO";
  case PORTA_ERR_FORMAT:
    return "PORTA_ERR_FORMAT";
  case PORTA_ERR_LIMIT:
    return "PORTA_ERR_LIMIT";
  case PORTA_ERR_STATE:
    return "PORTA_ERR_STATE";
  case PORTA_ERR_NOT_FOUND:
    return "PORTA_ERR_NOT_FOUND";
  case PORTA_ERR_BUILD:
    return "PORTA_ERR_BUILD";
  }
  return "PORTA_ERR_UNKNOWN";
}

const char *porta_backend_name(porta_backend_kind kind) {
  switch (kind) {
  case PORTA_BACKEND_AUTO:
    return "auto";
  case PORTA_BACKEND_CPU:
    return "cpu";
  case PORTA_BACKEND_OPENCL:
    return "opencl";
  case PORTA_BACKEND_VULKAN:
    return "vulkan";
  }
  return "unknown";
}

porta_status porta_backend_parse(const char *name, porta_backend_kind *out) {
  if (!name || !out) return PORTA_ERR_INVALID_ARGUMENT;
  static const porta_backend_kind kinds[] = {PORTA_BACKEND_AUTO, PORTA_BACKEND_CPU,
                                             PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (strcasecmp(name, porta_backend_name(kinds[i])) == 0) {
      *out = kinds[i];
      return PORTA_OK;
    }
  }
  return PORTA_ERR_INVALID_ARGUMENT;
}

bool porta_backend_compiled(porta_backend_kind kind) {
  return kind == PORTA_BACKEND_AUTO || porta_backend_lookup(kind) != NULL;
}

static void write_err(char *err, size_t err_size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void write_err(char *err, size_t err_size, const char *fmt, ...) {
  if (!err || err_size == 0) return;
  va_list ap;
  va_start(ap, fmt);
  porta_error_vformat(err, err_size, fmt, ap);
  va_end(ap);
}

/* The error for a kind this build has no backend for (not compiled in, or not a backend). */
static porta_status no_backend(porta_backend_kind kind, const char *what, char *err,
                               size_t err_size) {
  if (kind == PORTA_BACKEND_CPU || kind == PORTA_BACKEND_OPENCL || kind == PORTA_BACKEND_VULKAN) {
    write_err(err, err_size, "this build of porta has no %s backend (it was built without it)",
              porta_backend_name(kind));
    return PORTA_ERR_NO_DEVICE;
  }
  write_err(err, err_size, "%s: backend %d is not cpu, opencl or vulkan", what, (int)kind);
  return PORTA_ERR_INVALID_ARGUMENT;
}

porta_status porta_list_devices(porta_backend_kind backend, porta_device_info *infos, int capacity,
                                int *count, char *err, size_t err_size) {
  if (count) *count = 0;
  if (!count || capacity < 0 || (capacity > 0 && !infos)) {
    write_err(err, err_size, "porta_list_devices: count is NULL or infos/capacity invalid");
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  const porta_backend_entry *entry = porta_backend_lookup(backend);
  if (entry) return entry->list_devices(infos, capacity, count, err, err_size);
  return no_backend(backend, "porta_list_devices", err, err_size);
}

porta_status porta_backend_open(porta_backend **out, porta_backend_kind kind, int device,
                                int num_threads, char *err, size_t err_size) {
  *out = NULL;
  porta_backend *be = NULL;
  const porta_backend_entry *entry = porta_backend_lookup(kind);
  if (!entry) return no_backend(kind, "porta_context_create", err, err_size);
  porta_backend_options options = {.device = device, .num_threads = num_threads};
  porta_status st = entry->create(&be, &options, err, err_size);
  if (st != PORTA_OK) {
    if (be && be->ops && be->ops->destroy) be->ops->destroy(be);
    return st;
  }
  if (!be) {
    write_err(err, err_size, "the %s backend returned no device", porta_backend_name(kind));
    return PORTA_ERR_BACKEND;
  }
  *out = be;
  return PORTA_OK;
}

void porta_context_options_init(porta_context_options *options) {
  if (!options) return;
  memset(options, 0, sizeof *options);
  options->backend = PORTA_BACKEND_AUTO;
  options->device = -1;
  options->seed = 42;
  options->max_device_bytes = 0;
  options->num_threads = 0;
  options->profile = false;
}

/* Parses "123", "64K", "512M", "2G" (binary multiples). */
static bool parse_bytes(const char *s, size_t *out) {
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  unsigned long long mult = 1;
  if (*end == 'k' || *end == 'K')
    mult = 1ull << 10, end++;
  else if (*end == 'm' || *end == 'M')
    mult = 1ull << 20, end++;
  else if (*end == 'g' || *end == 'G')
    mult = 1ull << 30, end++;
  if (*end == 'i' || *end == 'I') end++;
  if (*end == 'b' || *end == 'B') end++;
  if (*end != '\0') return false;
  *out = (size_t)(v * mult);
  return true;
}

porta_status porta_context_create(porta_context **out, const porta_context_options *options,
                                  char *err, size_t err_size) {
  if (!out) {
    write_err(err, err_size, "porta_context_create: out is NULL");
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  *out = NULL;
  porta_context_options opt;
  if (options)
    opt = *options;
  else
    porta_context_options_init(&opt);

  porta_backend_kind kind = opt.backend;
  char reason[sizeof((porta_context *)0)->reason] = "requested";
  if (kind == PORTA_BACKEND_AUTO) {
    const char *env = getenv("PORTA_BACKEND");
    if (env && *env && porta_backend_parse(env, &kind) != PORTA_OK) {
      write_err(err, err_size, "PORTA_BACKEND=\"%s\" is not one of cpu, opencl, vulkan, auto", env);
      return PORTA_ERR_INVALID_ARGUMENT;
    }
    if (kind != PORTA_BACKEND_AUTO) snprintf(reason, sizeof reason, "PORTA_BACKEND=%s", env);
  }
  int device = opt.device;
  if (device < 0) {
    const char *env = getenv("PORTA_DEVICE");
    if (env && *env) {
      char *end = NULL;
      long v = strtol(env, &end, 10);
      if (end == env || *end != '\0' || v < 0 || v > 1000000) {
        write_err(err, err_size, "PORTA_DEVICE=\"%s\" is not a device index (0, 1, ...)", env);
        return PORTA_ERR_INVALID_ARGUMENT;
      }
      device = (int)v;
    }
  }
  porta_selftest_use selftest = opt.selftest;
  if (kind == PORTA_BACKEND_AUTO) {
    porta_auto_choose(device, &kind, &device, reason, sizeof reason);
    /* the choice ran the self-test of a GPU: its verdict is cached */
    if (kind != PORTA_BACKEND_CPU && selftest == PORTA_SELFTEST_OFF)
      selftest = PORTA_SELFTEST_IF_CACHED;
  }
  if (device < 0) device = 0;
  size_t limit = opt.max_device_bytes;
  if (limit == 0) {
    const char *env = getenv("PORTA_MAX_DEVICE_BYTES");
    if (env && *env && !parse_bytes(env, &limit)) {
      write_err(err, err_size,
                "PORTA_MAX_DEVICE_BYTES=\"%s\" is not a byte count (e.g. 1073741824 or 1G)", env);
      return PORTA_ERR_INVALID_ARGUMENT;
    }
  }
  size_t max_cached = opt.max_cached_bytes;
  if (max_cached == 0) {
    const char *env = getenv("PORTA_MAX_CACHED_BYTES");
    if (env && *env && !parse_bytes(env, &max_cached)) {
      write_err(err, err_size,
                "PORTA_MAX_CACHED_BYTES=\"%s\" is not a byte count (e.g. 268435456 or 256M)", env);
      return PORTA_ERR_INVALID_ARGUMENT;
    }
  }
  bool profile = opt.profile;
  const char *env_profile = getenv("PORTA_PROFILE");
  if (env_profile && *env_profile && strcmp(env_profile, "0") != 0) profile = true;

  porta_backend *be = NULL;
  porta_status st = porta_backend_open(&be, kind, device, opt.num_threads, err, err_size);
  if (st != PORTA_OK) return st;

  porta_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    be->ops->destroy(be);
    write_err(err, err_size, "porta_context_create: out of host memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  ctx->be = be;
  ctx->kind = kind;
  ctx->training = true;
  ctx->seed = opt.seed;
  ctx->alloc.limit = limit;
  snprintf(ctx->reason, sizeof ctx->reason, "%s", reason);
  porta_selftest_apply(ctx, selftest);
  ctx->alloc.max_cached = max_cached;
  if (profile) porta_profile_start(ctx);
  *out = ctx;
  return PORTA_OK;
}

void porta_context_destroy(porta_context *ctx) {
  if (!ctx) return;
  porta_tape_clear(ctx);
  /* Everything still listed (temporaries and caller-owned tensors the caller forgot) goes. */
  while (ctx->tensors) {
    porta_tensor *t = ctx->tensors;
    t->pins = 0;
    porta_tensor_destroy(t);
  }
  free(ctx->tape);
  if (ctx->be) ctx->be->ops->synchronize(ctx->be);
  porta_allocator_destroy(ctx);
  if (ctx->be) ctx->be->ops->destroy(ctx->be);
  free(ctx);
}

porta_status porta_fail(porta_context *ctx, porta_status status, const char *fmt, ...) {
  if (!ctx) return status;
  va_list ap;
  va_start(ap, fmt);
  porta_error_vformat(ctx->err, sizeof ctx->err, fmt, ap);
  va_end(ap);
  return status;
}

porta_status porta_fail_backend(porta_context *ctx, porta_status status, const char *what) {
  if (!ctx) return status;
  const char *msg = ctx->be->err[0] ? ctx->be->err : porta_status_string(status);
  snprintf(ctx->err, sizeof ctx->err, "%.200s: %s backend: %.3800s", what,
           porta_backend_name(ctx->kind), msg);
  porta_error_sanitize(ctx->err, sizeof ctx->err);
  return status;
}

const char *porta_last_error(const porta_context *ctx) { return ctx ? ctx->err : ""; }

const char *porta_context_reason(const porta_context *ctx) { return ctx ? ctx->reason : ""; }

porta_backend_kind porta_context_backend(const porta_context *ctx) {
  return ctx ? ctx->kind : PORTA_BACKEND_AUTO;
}

const porta_device_info *porta_context_device(const porta_context *ctx) {
  return ctx ? &ctx->be->info : NULL;
}

porta_status porta_synchronize(porta_context *ctx) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = ctx->be->ops->synchronize(ctx->be);
  if (st != PORTA_OK) return porta_fail_backend(ctx, st, "porta_synchronize");
  return PORTA_OK;
}

void porta_set_training(porta_context *ctx, bool training) {
  if (ctx) ctx->training = training;
}
bool porta_is_training(const porta_context *ctx) { return ctx && ctx->training; }

uint64_t porta_rng_stream(const porta_context *ctx) { return ctx ? ctx->stream : 0; }
void porta_set_rng_stream(porta_context *ctx, uint64_t stream) {
  if (ctx) ctx->stream = stream;
}
uint64_t porta_context_seed(const porta_context *ctx) { return ctx ? ctx->seed : 0; }

porta_status porta_set_batch_shard(porta_context *ctx, int64_t first_row, int64_t rows) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (first_row < 0 || rows < 0)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "porta_set_batch_shard: rows [%lld, +%lld) cannot be negative",
                      (long long)first_row, (long long)rows);
  ctx->shard_first_row = rows ? first_row : 0;
  ctx->shard_rows = rows;
  return PORTA_OK;
}

porta_status porta_dropout_base(porta_context *ctx, const char *what, int64_t numel,
                                uint64_t *base) {
  *base = 0;
  if (ctx->shard_rows == 0) return PORTA_OK;
  if (numel % ctx->shard_rows != 0)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: %lld elements are not a whole number of the batch shard's %lld rows "
                      "(porta_set_batch_shard)",
                      what, (long long)numel, (long long)ctx->shard_rows);
  *base = (uint64_t)ctx->shard_first_row * (uint64_t)(numel / ctx->shard_rows);
  return PORTA_OK;
}

void porta_memory_stats_get(const porta_context *ctx, porta_memory_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!ctx) return;
  out->live_bytes = ctx->alloc.live_bytes;
  out->cached_bytes = ctx->alloc.cached_bytes;
  out->peak_bytes = ctx->alloc.peak_bytes;
  out->peak_held_bytes = ctx->alloc.peak_held_bytes;
  out->driver_allocs = ctx->alloc.driver_allocs;
  out->evictions = ctx->alloc.evictions;
}

void porta_memory_trim(porta_context *ctx) {
  if (ctx) porta_allocator_trim(ctx);
}

porta_status porta_check_tensor(porta_context *ctx, const char *what, const char *arg,
                                const porta_tensor *t, porta_dtype dtype) {
  if (!t) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: %s is NULL", what, arg);
  if (t->ctx != ctx)
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: %s belongs to another context", what,
                      arg);
  if (t->dtype != dtype) {
    char shape[64];
    porta_shape_format(shape, sizeof shape, t->ndim, t->shape);
    return porta_fail(ctx, PORTA_ERR_DTYPE, "%s: %s%s%s%s %s is %s, expected %s", what, arg,
                      t->name ? " (" : "", t->name ? t->name : "", t->name ? ")" : "", shape,
                      t->dtype == PORTA_F32 ? "f32" : "i32", dtype == PORTA_F32 ? "f32" : "i32");
  }
  return PORTA_OK;
}
