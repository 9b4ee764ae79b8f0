/* porta — a portable GPU compute library for fine-tuning transformer encoders.
 *
 * This is the whole public API. porta.h holds the core (status codes, contexts, tensors,
 * autograd, ops, optimizers); the other sections are in headers it includes:
 *   porta/text.h   tokenizers (WordPiece, byte-level BPE)
 *   porta/model.h  config.json, safetensors / pytorch_model.bin, BERT/RoBERTa bodies, heads
 *   porta/train.h  data sets, splits, batching, metrics, checkpoints
 *
 * Conventions
 * - Every function that can fail returns porta_status; PORTA_OK is 0. After a failure,
 *   porta_last_error(ctx) holds a message naming the thing (tensor shapes, file, driver error).
 *   A failed call frees what it allocated and leaves the context usable.
 * - Outputs come first in signatures (porta_add(&out, a, b)).
 * - Tensors are row-major, contiguous, up to 4-D, f32 or i32. Views (reshape, slicing along the
 *   first dimension) share their parent's buffer; other layout changes (permute, select) copy.
 * - Lifetime: tensors made by porta_tensor_new/from_host are owned by the caller (free with
 *   porta_tensor_free). Tensors made by ops are "temporaries" owned by the context: they stay valid
 *   until porta_release_temporaries(ctx), which also clears the autograd tape. Call it once per
 *   training step; porta_tensor_keep() turns a temporary into a caller-owned tensor.
 * - Several contexts may coexist; porta has no global state. A context is not thread-safe.
 */
#ifndef PORTA_PORTA_H
#define PORTA_PORTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PORTA_VERSION_MAJOR 0
#define PORTA_VERSION_MINOR 1
#define PORTA_VERSION_PATCH 0
#define PORTA_MAX_DIMS 4

/* Marks the functions libporta exports. The library is built with hidden visibility, so only what
 * carries PORTA_API (every declaration in include/porta/, nothing else) is in its dynamic symbol
 * table. */
#if defined(__GNUC__) || defined(__clang__)
#define PORTA_API __attribute__((visibility("default")))
#else
#define PORTA_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes: one enum for every error (see docs/errors.md).
 * ------------------------------------------------------------------------------------------- */
typedef enum porta_status {
  PORTA_OK = 0,
  PORTA_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, bad flag, out-of-range index */
  PORTA_ERR_SHAPE = 2,            /* shapes that do not fit together */
  PORTA_ERR_DTYPE = 3,            /* wrong element type */
  PORTA_ERR_OUT_OF_MEMORY = 4,    /* host allocation failed */
  PORTA_ERR_DEVICE_MEMORY = 5,    /* device allocation failed or over PORTA_MAX_DEVICE_BYTES */
  PORTA_ERR_NO_DEVICE = 6,        /* no driver / platform / device of the requested backend */
  PORTA_ERR_BACKEND = 7,          /* the driver returned an error (message has the driver's code) */
  PORTA_ERR_UNSUPPORTED = 8,      /* the backend cannot run this op or this configuration */
  PORTA_ERR_IO = 9,               /* a file could not be opened, read or written */
  PORTA_ERR_FORMAT = 10,    /* a file or string is malformed (corrupt safetensors, bad JSON) */
  PORTA_ERR_LIMIT = 11,     /* a resource limit was exceeded (header size, sequence length) */
  PORTA_ERR_STATE = 12,     /* the call does not fit the object's state (backward twice) */
  PORTA_ERR_NOT_FOUND = 13, /* a named thing is missing (tensor name, file, vocabulary entry) */
  PORTA_ERR_BUILD = 14,     /* a kernel or shader failed to compile (message has the log) */
} porta_status;

/* A constant English name for a status ("PORTA_ERR_SHAPE"). Never NULL. */
PORTA_API const char *porta_status_string(porta_status status);

typedef enum porta_backend_kind {
  PORTA_BACKEND_AUTO = 0, /* $PORTA_BACKEND, else the best device (see porta_context_create) */
  PORTA_BACKEND_CPU = 1,
  PORTA_BACKEND_OPENCL = 2,
  PORTA_BACKEND_VULKAN = 3,
} porta_backend_kind;

/* "cpu", "opencl", "vulkan" ("auto" for AUTO). */
PORTA_API const char *porta_backend_name(porta_backend_kind kind);
/* Parses "cpu" / "opencl" / "vulkan" / "auto"; returns PORTA_ERR_INVALID_ARGUMENT otherwise. */
PORTA_API porta_status porta_backend_parse(const char *name, porta_backend_kind *out);
/* Whether this build of porta includes the backend (not whether a device exists). */
PORTA_API bool porta_backend_compiled(porta_backend_kind kind);

typedef enum porta_dtype {
  PORTA_F32 = 0,
  PORTA_I32 = 1, /* token ids, labels */
} porta_dtype;

typedef struct porta_context porta_context;
typedef struct porta_tensor porta_tensor;

/* ---------------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_device_info {
  porta_backend_kind backend;
  int index; /* the value for PORTA_DEVICE / porta_context_options.device */
  char name[256];
  char vendor[128];
  char driver[128];     /* driver version string */
  char api_version[64]; /* "OpenCL 1.2 pocl ...", "Vulkan 1.3.230" */
  uint64_t global_mem_bytes;
  uint64_t max_alloc_bytes; /* largest single buffer (maxStorageBufferRange on Vulkan) */
  int compute_units;
  int max_workgroup_size;
  int subgroup_size; /* 0 when unknown */
  bool fp16;
  bool int8;
  bool is_cpu;      /* PoCL, lavapipe, the CPU backend */
  bool is_discrete; /* a GPU with its own memory (preferred by AUTO over integrated ones) */
  char extra[512];  /* backend-specific details (memory heaps, extensions of note) */
} porta_device_info;

/* Lists the devices of one backend into infos[0..capacity). *count receives the number found
 * (which may exceed capacity). A backend with no driver installed yields PORTA_ERR_NO_DEVICE and
 * a message in err (when err is not NULL). */
PORTA_API porta_status porta_list_devices(porta_backend_kind backend, porta_device_info *infos,
                                          int capacity, int *count, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Context: one backend device + caching allocator + RNG + autograd tape + error state.
 * ------------------------------------------------------------------------------------------- */
/* How a context uses the device self-test (porta/selftest.h); $PORTA_SELFTEST=0 turns it off
 * whatever the options say. */
typedef enum porta_selftest_use {
  PORTA_SELFTEST_OFF = 0,       /* the backend's own choices, untested */
  PORTA_SELFTEST_IF_CACHED = 1, /* switch off the paths a cached verdict failed */
  PORTA_SELFTEST_RUN = 2,       /* the same, running the self-test first when none is cached */
} porta_selftest_use;

typedef struct porta_context_options {
  /* AUTO: $PORTA_BACKEND when set (and not "auto"), else the best device: a real GPU (discrete
   * before integrated) that passes the self-test, the fastest by a short cached GEMM timing when
   * several do (Vulkan or OpenCL), else the CPU backend. CPU emulators (PoCL, lavapipe) are
   * never chosen: the CPU backend is faster. porta_context_reason says why. */
  porta_backend_kind backend;
  int device;                  /* -1: $PORTA_DEVICE, else 0 */
  uint64_t seed;               /* dropout and init RNG seed */
  size_t max_device_bytes;     /* 0: $PORTA_MAX_DEVICE_BYTES, else no limit */
  size_t max_cached_bytes;     /* cap on cached (unused) device bytes; 0: $PORTA_MAX_CACHED_BYTES,
                                  else the cache is bounded by the peak of live bytes only */
  int num_threads;             /* CPU backend threads; 0: all cores */
  bool profile;                /* time every op with the backend's timers (also $PORTA_PROFILE=1) */
  porta_selftest_use selftest; /* OFF by default; the porta program uses RUN */
} porta_context_options;

PORTA_API void porta_context_options_init(porta_context_options *options);

/* Creates a context. On failure *out is NULL; when err is not NULL it receives the message
 * (there is no context to hold it). */
PORTA_API porta_status porta_context_create(porta_context **out,
                                            const porta_context_options *options, char *err,
                                            size_t err_size);
PORTA_API void porta_context_destroy(porta_context *ctx);

/* The message of the last failed call on this context ("" if none). Valid until the next call. */
PORTA_API const char *porta_last_error(const porta_context *ctx);
PORTA_API porta_backend_kind porta_context_backend(const porta_context *ctx);
/* Why the context runs on its device: "requested", "PORTA_BACKEND=vulkan", or AUTO's reasoning
 * ("auto: no GPU; PoCL and lavapipe emulate one on the CPU, slower than the CPU backend"). */
PORTA_API const char *porta_context_reason(const porta_context *ctx);
PORTA_API const porta_device_info *porta_context_device(const porta_context *ctx);
/* Waits for all queued device work. */
PORTA_API porta_status porta_synchronize(porta_context *ctx);

/* Training mode enables dropout (default: on). */
PORTA_API void porta_set_training(porta_context *ctx, bool training);
PORTA_API bool porta_is_training(const porta_context *ctx);

/* The dropout stream: every porta_dropout call draws from (seed, stream, element) and advances the
 * stream by one, so the same sequence of calls draws the same masks on every backend. Save and
 * restore it to resume a run exactly. */
PORTA_API uint64_t porta_rng_stream(const porta_context *ctx);
PORTA_API void porta_set_rng_stream(porta_context *ctx, uint64_t stream);
/* Data-parallel shards: the tensors that follow hold rows [first_row, first_row + rows) of a
 * batch (their first dimension, or the outermost one before a reshape). Dropout then draws for
 * every row the mask the whole batch would draw for it (the element counter is offset by
 * first_row × elements per row), so N ranks drop exactly what one process drops — provided each
 * shard is padded to the whole batch's sequence length. rows = 0 turns it off. A dropout whose
 * tensor is not a whole number of rows then fails with PORTA_ERR_SHAPE. */
PORTA_API porta_status porta_set_batch_shard(porta_context *ctx, int64_t first_row, int64_t rows);
PORTA_API uint64_t porta_context_seed(const porta_context *ctx);

/* Device memory in use by live tensors and held in the allocator's cache, and the peaks. The
 * cache keeps freed blocks for reuse; before it takes a new block from the driver it gives the
 * least recently used cached blocks back until live + cached fit in the peak of live bytes, and
 * max_cached_bytes / $PORTA_MAX_CACHED_BYTES caps the cached bytes themselves. */
typedef struct porta_memory_stats {
  size_t live_bytes, cached_bytes;
  size_t peak_bytes;      /* most bytes live at once */
  size_t peak_held_bytes; /* most bytes held from the driver at once (live + cached) */
  uint64_t driver_allocs; /* calls that reached the backend's allocator */
  uint64_t evictions;     /* cached blocks given back to the driver (trim included) */
} porta_memory_stats;
PORTA_API void porta_memory_stats_get(const porta_context *ctx, porta_memory_stats *out);
/* Returns cached (unused) device buffers to the driver. */
PORTA_API void porta_memory_trim(porta_context *ctx);
/* A table of the allocator's totals and of the size classes that held the most bytes at once
 * (live and cached blocks, peak, cache hits, driver allocations, blocks given back) into buf
 * (NUL-terminated, truncated to size). */
PORTA_API porta_status porta_memory_report(porta_context *ctx, char *buf, size_t size);

/* With profiling on: writes a table of each backend op's calls, total device time and share since
 * the last reset into buf (NUL-terminated, truncated to size). PORTA_ERR_STATE when off. */
PORTA_API porta_status porta_profile_report(porta_context *ctx, char *buf, size_t size);
PORTA_API void porta_profile_reset(porta_context *ctx);

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */
/* New tensor, contents uninitialised. Caller-owned. */
PORTA_API porta_status porta_tensor_new(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                        int ndim, const int64_t *shape);
/* New tensor filled with zeros. Caller-owned. */
PORTA_API porta_status porta_tensor_zeros(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                          int ndim, const int64_t *shape);
/* New tensor holding numel elements copied from host memory (float or int32_t). Caller-owned. */
PORTA_API porta_status porta_tensor_from_host(porta_context *ctx, porta_tensor **out,
                                              porta_dtype dtype, int ndim, const int64_t *shape,
                                              const void *data);
/* Frees a tensor (caller-owned or temporary) and its gradient. NULL is a no-op. A tensor still
 * referenced by the autograd tape stays alive until the tape is cleared. */
PORTA_API void porta_tensor_free(porta_tensor *t);
/* Makes a temporary caller-owned (it survives porta_release_temporaries). */
PORTA_API void porta_tensor_keep(porta_tensor *t);
/* Frees every temporary not kept and clears the autograd tape. Every pointer to such a temporary
 * (an op's output, a view of one, a loss) dangles afterwards: reading it is a use after free. Keep
 * what must outlive the step with porta_tensor_keep, or download it first. */
PORTA_API void porta_release_temporaries(porta_context *ctx);

/* Copies count elements between host and tensor (count must equal numel). Download waits. */
PORTA_API porta_status porta_tensor_upload(porta_tensor *t, const void *data, size_t count);
PORTA_API porta_status porta_tensor_download(const porta_tensor *t, void *data, size_t count);
PORTA_API porta_status porta_tensor_fill(porta_tensor *t, float value);
/* dst = src (same shape and dtype). Not recorded by autograd. */
PORTA_API porta_status porta_tensor_copy(porta_tensor *dst, const porta_tensor *src);

PORTA_API porta_context *porta_tensor_context(const porta_tensor *t);
PORTA_API porta_dtype porta_tensor_dtype(const porta_tensor *t);
PORTA_API int porta_tensor_ndim(const porta_tensor *t);
/* Size of dimension i; negative i counts from the end. 0 when out of range. */
PORTA_API int64_t porta_tensor_dim(const porta_tensor *t, int i);
PORTA_API int64_t porta_tensor_numel(const porta_tensor *t);
/* Writes "[2, 3, 5]" into buf. Returns buf. */
PORTA_API char *porta_tensor_shape_string(const porta_tensor *t, char *buf, size_t size);
/* Name used in error messages and checkpoints (copied; may be NULL). */
PORTA_API void porta_tensor_set_name(porta_tensor *t, const char *name);
PORTA_API const char *porta_tensor_name(const porta_tensor *t);

/* ---------------------------------------------------------------------------------------------
 * Autograd
 * ------------------------------------------------------------------------------------------- */
/* Leaves with requires_grad receive .grad from porta_backward. Setting it on a parameter of a
 * frozen body to false trains only the head. Only f32 tensors can require gradients. */
PORTA_API porta_status porta_tensor_set_requires_grad(porta_tensor *t, bool requires_grad);
PORTA_API bool porta_tensor_requires_grad(const porta_tensor *t);
/* The accumulated gradient (same shape), or NULL before any backward reached the tensor. Owned by
 * the tensor: valid until the tensor is freed or porta_optimizer_zero_grad frees it (see there);
 * ask for it again after each backward rather than keeping the pointer. */
PORTA_API porta_tensor *porta_tensor_grad(const porta_tensor *t);
/* Sets .grad to zeros in place (if it exists): the pointer porta_tensor_grad gave stays valid. */
PORTA_API porta_status porta_tensor_zero_grad(porta_tensor *t);

/* Reverse-mode pass from a scalar (numel == 1) loss: accumulates (+=) d loss / d t into .grad of
 * every tensor that requires grad and took part in computing loss. The tape is consumed: a
 * second backward before new ops is PORTA_ERR_STATE. */
PORTA_API porta_status porta_backward(porta_tensor *loss);

/* Inside no_grad (nesting allowed), ops record nothing and results do not require grad. */
PORTA_API void porta_no_grad_begin(porta_context *ctx);
PORTA_API void porta_no_grad_end(porta_context *ctx);

/* ---------------------------------------------------------------------------------------------
 * Ops. Each creates a temporary *out. Broadcasting follows NumPy: shapes are aligned at the last
 * dimension and a dimension of size 1 stretches.
 * ------------------------------------------------------------------------------------------- */
/* out[..., M, N] = op(a)[..., M, K] · op(b)[..., K, N]; op transposes the last two dims when the
 * flag is set. Leading (batch) dims must match, or b may be 2-D (shared by every batch). */
PORTA_API porta_status porta_matmul(porta_tensor **out, porta_tensor *a, porta_tensor *b,
                                    bool trans_a, bool trans_b);
/* out[..., O] = x[..., I] · wᵀ + bias; w is [O, I] (the Hugging Face / PyTorch layout), bias [O]
 * or NULL. */
PORTA_API porta_status porta_linear(porta_tensor **out, porta_tensor *x, porta_tensor *w,
                                    porta_tensor *bias);

PORTA_API porta_status porta_add(porta_tensor **out, porta_tensor *a, porta_tensor *b);
PORTA_API porta_status porta_sub(porta_tensor **out, porta_tensor *a, porta_tensor *b);
PORTA_API porta_status porta_mul(porta_tensor **out, porta_tensor *a, porta_tensor *b);
PORTA_API porta_status porta_div(porta_tensor **out, porta_tensor *a, porta_tensor *b);
/* out = x * scale */
PORTA_API porta_status porta_scale(porta_tensor **out, porta_tensor *x, float scale);
/* GELU, erf form: x/2 · (1 + erf(x/√2)) (BERT's "gelu"). */
PORTA_API porta_status porta_gelu(porta_tensor **out, porta_tensor *x);
PORTA_API porta_status porta_tanh(porta_tensor **out, porta_tensor *x);
PORTA_API porta_status porta_relu(porta_tensor **out, porta_tensor *x);

/* Softmax over the last dim of x + mask. mask (may be NULL) is additive, f32, and broadcasts
 * to x (e.g. [B, 1, 1, S] against scores [B, H, S, S]); no gradient flows into the mask. */
PORTA_API porta_status porta_softmax(porta_tensor **out, porta_tensor *x, porta_tensor *mask);
/* Layer norm over the last dim: (x - mean) / sqrt(var + eps) * gamma + beta (biased var). */
PORTA_API porta_status porta_layer_norm(porta_tensor **out, porta_tensor *x, porta_tensor *gamma,
                                        porta_tensor *beta, float eps);
/* out[..., D] = table[ids[...], :]; table [V, D] f32, ids i32. An id outside [0, V) is an error
 * (checked on upload by the caller's data; on device it yields zeros). */
PORTA_API porta_status porta_embedding(porta_tensor **out, porta_tensor *table, porta_tensor *ids);
/* Inverted dropout: zero with probability p, scale the rest by 1/(1-p). Identity when not
 * training or p == 0. The mask comes from Philox-4x32-10 keyed by (seed, stream, index). */
PORTA_API porta_status porta_dropout(porta_tensor **out, porta_tensor *x, float p);

/* A view with a new shape and the same number of elements; one dim may be -1. */
PORTA_API porta_status porta_reshape(porta_tensor **out, porta_tensor *x, int ndim,
                                     const int64_t *shape);
/* out's dim i is x's dim perm[i] (copies). */
PORTA_API porta_status porta_permute(porta_tensor **out, porta_tensor *x, const int *perm);
/* Picks index along dim and removes that dim (x[:, 0, :] is select(x, 1, 0)). */
PORTA_API porta_status porta_select(porta_tensor **out, porta_tensor *x, int dim, int64_t index);
/* x[start : start + length] along dim. */
PORTA_API porta_status porta_slice(porta_tensor **out, porta_tensor *x, int dim, int64_t start,
                                   int64_t length);
/* Sum / mean over dim (keeps it as size 1 when keepdim). dim = -1 is the last dim; use
 * porta_sum_all / porta_mean_all for a scalar. */
PORTA_API porta_status porta_sum(porta_tensor **out, porta_tensor *x, int dim, bool keepdim);
PORTA_API porta_status porta_mean(porta_tensor **out, porta_tensor *x, int dim, bool keepdim);
PORTA_API porta_status porta_sum_all(porta_tensor **out, porta_tensor *x);
PORTA_API porta_status porta_mean_all(porta_tensor **out, porta_tensor *x);

/* Mean over the batch of -log softmax(logits)[label]; logits [B, C] f32, labels [B] i32. Rows
 * whose label is outside [0, C) (e.g. -100) are ignored, as in PyTorch. out is a scalar [1]. */
PORTA_API porta_status porta_cross_entropy(porta_tensor **out, porta_tensor *logits,
                                           porta_tensor *labels);

/* Scaled dot-product attention, one op with its own backward:
 * out = softmax(q·kᵀ/√D + mask) · v; q, k, v [B, H, S, D]; mask [B, S] additive f32 or NULL
 * (0 keeps a key, a large negative number hides it). When probs is not NULL it receives the
 * attention probabilities [B, H, S, S] (a temporary, not differentiable). */
PORTA_API porta_status porta_attention(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                       porta_tensor *k, porta_tensor *v, porta_tensor *mask);

/* ---------------------------------------------------------------------------------------------
 * Optimizers
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_optimizer porta_optimizer;

typedef struct porta_adamw_options {
  float lr;           /* 5e-5 */
  float beta1, beta2; /* 0.9, 0.999 */
  float eps;          /* 1e-8 */
  float weight_decay; /* 0.01 */
} porta_adamw_options;
PORTA_API void porta_adamw_options_init(porta_adamw_options *options);

/* AdamW with decoupled weight decay, the exact update of torch.optim.AdamW: the options (and
 * porta_optimizer_step's lr) are read as the shortest decimals they stand for (0.999f as 0.999,
 * as torch holds Python floats), so exp_avg and exp_avg_sq equal torch's bit for bit. The
 * optimizer keeps pointers to params (not ownership). weight_decay_mask (may be NULL) gives
 * per-parameter whether decay applies (transformers skips biases and LayerNorm weights). */
PORTA_API porta_status porta_adamw_create(porta_optimizer **out, porta_context *ctx,
                                          porta_tensor **params, int count,
                                          const bool *weight_decay_mask,
                                          const porta_adamw_options *options);
/* A parameter group of porta_adamw_create_groups: params[0..count) (porta_model_parameters'
 * entries; their weight_decay flag says whether decay applies to each), with its own peak learning
 * rate and weight decay. */
typedef struct porta_param_group {
  const struct porta_param *params;
  int count;
  /* this group's lr where porta_optimizer_step is given options.lr: the step's lr (a schedule's
   * value) scales every group in proportion, as torch's LambdaLR does. 0: the step's lr. */
  float lr;
  float weight_decay; /* < 0: options.weight_decay */
} porta_param_group;
/* AdamW over several groups (e.g. the head at 1e-3, the body at 2e-5; no decay on the
 * embeddings), otherwise as porta_adamw_create. */
PORTA_API porta_status porta_adamw_create_groups(porta_optimizer **out, porta_context *ctx,
                                                 const porta_param_group *groups, int n_groups,
                                                 const porta_adamw_options *options);
/* Plain SGD with optional momentum (torch.optim.SGD semantics, no dampening/nesterov). */
PORTA_API porta_status porta_sgd_create(porta_optimizer **out, porta_context *ctx,
                                        porta_tensor **params, int count, float lr, float momentum,
                                        float weight_decay);
/* One update with learning rate lr (the schedule's value for this step). Parameters without a
 * gradient are skipped. */
PORTA_API porta_status porta_optimizer_step(porta_optimizer *opt, float lr);
/* Frees the gradients of the optimizer's parameters (their memory returns to the allocator; the
 * next backward makes new ones), unlike porta_tensor_zero_grad, which zeroes in place: a pointer
 * from porta_tensor_grad dangles after this call. */
PORTA_API porta_status porta_optimizer_zero_grad(porta_optimizer *opt);
PORTA_API void porta_optimizer_free(porta_optimizer *opt);
/* Steps taken so far (AdamW's bias correction uses it). */
PORTA_API int64_t porta_optimizer_steps(const porta_optimizer *opt);
/* State for checkpoints: slot 0 = exp_avg (momentum for SGD), slot 1 = exp_avg_sq. NULL if the
 * slot does not exist or the parameter has not been stepped yet. */
PORTA_API porta_tensor *porta_optimizer_state(porta_optimizer *opt, int param_index, int slot);
/* Restores steps and state (tensors are copied; shapes must match the parameters). */
PORTA_API porta_status porta_optimizer_load_state(porta_optimizer *opt, int64_t steps,
                                                  porta_tensor *const *exp_avg,
                                                  porta_tensor *const *exp_avg_sq);

/* Scales gradients so their global L2 norm is at most max_norm (torch.nn.utils.clip_grad_norm_).
 * *total_norm (may be NULL) receives the norm before clipping. */
PORTA_API porta_status porta_clip_grad_norm(porta_context *ctx, porta_tensor **params, int count,
                                            float max_norm, float *total_norm);

/* Linear warm-up from 0 to base_lr over warmup steps, then linear decay to 0 at total steps
 * (transformers' get_linear_schedule_with_warmup). */
PORTA_API float porta_lr_linear(int64_t step, int64_t warmup, int64_t total, float base_lr);

#ifdef __cplusplus
}
#endif

#include "porta/model_io.h"
#include "porta/model.h"
#include "porta/text.h"
#include "porta/train.h"
#include "porta/bench.h"
#include "porta/selftest.h"
#include "porta/dist.h"

#endif /* PORTA_PORTA_H */
