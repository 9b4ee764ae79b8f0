/* Internal core structures: context, tensors, caching allocator, autograd tape, and the checked
 * dispatch to the backend. Only src/core, src/train/optim*.c, tests and src/nn/attention.c (for
 * the fused attention ops) include this; the other layers above use the public porta.h. */
#ifndef PORTA_CORE_H
#define PORTA_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "porta/porta.h"

#define PORTA_ERR_SIZE 4096

/* ---- caching allocator (alloc.c) ------------------------------------------------------------ */

/* A device buffer shared by a tensor and its views. bytes is the size class actually held. */
typedef struct porta_buffer {
  porta_context *ctx;
  void *handle;
  size_t bytes;
  int refs;
} porta_buffer;

/* A cached (free) driver buffer and when it was returned (the allocator's clock). */
typedef struct porta_cached_block {
  void *handle;
  uint64_t tick, generation;
} porta_cached_block;

/* The blocks of one size class: the cached ones (oldest first) and counts for the report. */
typedef struct porta_free_list {
  size_t bytes;
  porta_cached_block *blocks;
  int count, capacity;
  int live, peak_held; /* blocks of this class in use; most held at once (live + cached) */
  uint64_t hits, driver_allocs, evictions;
} porta_free_list;

typedef struct porta_allocator {
  porta_free_list *lists; /* sorted by bytes */
  int n_lists, cap_lists;
  size_t live_bytes, cached_bytes, peak_bytes, peak_held_bytes;
  size_t limit;      /* 0: none (PORTA_MAX_DEVICE_BYTES) */
  size_t max_cached; /* 0: none (PORTA_MAX_CACHED_BYTES) */
  uint64_t driver_allocs, evictions, tick;
  uint64_t generation; /* porta_release_temporaries calls */
} porta_allocator;

/* Cached blocks not reused within this many porta_release_temporaries calls go back to the
 * driver (a training step makes two or three such calls, an eval batch one). */
#define PORTA_CACHE_IDLE_GENERATIONS 8

/* Size class for a request of `bytes` (≥ 256 B; 256 B steps under 1 MiB, then 4 steps per power
 * of two). */
size_t porta_size_class(size_t bytes);
/* A buffer of at least `bytes` with refs = 1, from the cache when a block of that class is free.
 * `what` names the request in error messages. */
porta_status porta_buffer_alloc(porta_context *ctx, size_t bytes, const char *what,
                                porta_buffer **out);
void porta_buffer_retain(porta_buffer *b);
/* Drops one reference; the last one returns the block to the cache. */
void porta_buffer_release(porta_buffer *b);
/* Returns every cached block to the driver. */
void porta_allocator_trim(porta_context *ctx);
/* Called by porta_release_temporaries: one more generation; idle cached blocks go back. */
void porta_allocator_next_generation(porta_context *ctx);
void porta_allocator_destroy(porta_context *ctx);

/* ---- tensors (tensor.c) --------------------------------------------------------------------- */

typedef enum porta_owner {
  PORTA_OWNER_CALLER,    /* freed by porta_tensor_free */
  PORTA_OWNER_TEMPORARY, /* freed by porta_release_temporaries */
  PORTA_OWNER_INTERNAL,  /* a .grad or scratch tensor: freed by the core (not in ctx->tensors) */
} porta_owner;

struct porta_tensor {
  porta_context *ctx;
  porta_dtype dtype;
  int ndim;
  int64_t shape[PORTA_MAX_DIMS];
  int64_t numel;
  porta_buffer *buffer; /* shared with views */
  size_t offset;        /* in elements */
  char *name;
  bool requires_grad;
  bool is_op_output; /* produced by a recorded op: not a leaf, its grad is dropped after use */
  bool on_tape;      /* its producing node is still on the tape */
  porta_tensor *grad;
  porta_owner owner;
  int pins;                  /* tape nodes that reference it */
  bool dead;                 /* its owner freed it while pinned: destroyed when the last pin goes */
  porta_tensor *prev, *next; /* ctx->tensors (caller-owned and temporaries) */
};

/* A new temporary (the output of an op), contents uninitialised. */
porta_status porta_tensor_temp(porta_context *ctx, porta_tensor **out, porta_dtype dtype, int ndim,
                               const int64_t *shape, const char *what);
/* A new internal tensor (scratch, .grad, optimizer state), not listed in the context. */
porta_status porta_tensor_internal(porta_context *ctx, porta_tensor **out, porta_dtype dtype,
                                   int ndim, const int64_t *shape, const char *what);
/* A temporary view of x's buffer with another shape / element offset (no copy). */
porta_status porta_tensor_view(porta_tensor **out, porta_tensor *x, int ndim, const int64_t *shape,
                               size_t extra_offset);
/* An internal tensor (not listed in the context) over x's buffer and offset with another shape. */
porta_status porta_tensor_internal_view(porta_tensor **out, porta_tensor *x, int ndim,
                                        const int64_t *shape);
/* Frees a tensor regardless of owner, honouring pins. */
void porta_tensor_destroy(porta_tensor *t);
void porta_tensor_unpin(porta_tensor *t);
void porta_tensor_pin(porta_tensor *t);

static inline porta_ref porta_tensor_ref(const porta_tensor *t) {
  porta_ref r = {t->buffer->handle, t->offset};
  return r;
}

/* "[2, 3, 5]" for shapes given as arrays. */
char *porta_shape_format(char *buf, size_t size, int ndim, const int64_t *shape);
/* x's shape padded with leading 1s to 4-D, and its contiguous strides. */
void porta_shape4(const porta_tensor *x, int64_t shape[PORTA_MAX_DIMS]);
void porta_strides4(const int64_t shape[PORTA_MAX_DIMS], int64_t strides[PORTA_MAX_DIMS]);

/* ---- autograd (autograd.c) ------------------------------------------------------------------ */

#define PORTA_NODE_TENSORS 6

typedef struct porta_node porta_node;
/* Reads node->out->grad and accumulates into the grads of the inputs that require them. */
typedef porta_status (*porta_backward_fn)(porta_node *node);

struct porta_node {
  porta_backward_fn backward;
  const char *op; /* "porta_matmul", for messages */
  porta_tensor *out;
  porta_tensor *t[PORTA_NODE_TENSORS]; /* inputs and saved tensors (meaning per op), pinned */
  float f[4];
  int64_t i[9];
  bool b[4];
};

/* Whether an op on these inputs (NULLs ignored) must be recorded. */
bool porta_grad_needed(porta_context *ctx, const porta_tensor *a, const porta_tensor *b,
                       const porta_tensor *c);
/* Copies node onto the tape, pins its tensors and marks node->out as requiring grad. */
porta_status porta_tape_push(porta_context *ctx, const porta_node *node);
void porta_tape_clear(porta_context *ctx);

/* Gradient destinations used by backward functions:
 * - acc: for ops with an accumulate/beta input. *beta = 0 when the grad was just allocated (the op
 *   must write it in full), 1 when it already holds a value (the op must add).
 * - zeroed: for ops that only accumulate (allocated grads are zero-filled first).
 * - begin/end: for ops that write in full: begin returns x's fresh grad or a scratch tensor, end
 *   adds the scratch into the grad and frees it. */
porta_status porta_grad_acc(porta_tensor *x, porta_ref *dst, float *beta);
porta_status porta_grad_zeroed(porta_tensor *x, porta_ref *dst);
porta_status porta_grad_begin(porta_tensor *x, porta_tensor **g);
porta_status porta_grad_end(porta_tensor *x, porta_tensor *g);
/* For ops whose input gradient is the output gradient itself (reshape, add): when x has no grad
 * yet and dy has x's element count, x's grad becomes a view of dy's buffer (no copy) and *taken
 * is true. dy (an op output's grad) is freed right after its node and nothing writes it once its
 * node runs; gradients that still share a buffer are copied before they are written (acc, zeroed,
 * end and porta_tensor_zero_grad copy on write). A leaf only takes a buffer nothing else holds,
 * so leaves never share gradients after the backward pass. */
porta_status porta_grad_take(porta_tensor *x, porta_tensor *dy, bool *taken);

/* ---- context (context.c) -------------------------------------------------------------------- */

struct porta_context {
  porta_backend *be;
  porta_backend_kind kind;
  char err[PORTA_ERR_SIZE];
  char reason[512];        /* why this device (porta_context_reason) */
  char selftest_note[768]; /* what the self-test switched off (porta_context_selftest_note) */
  bool training;
  uint64_t seed, stream;
  int64_t shard_first_row, shard_rows; /* porta_set_batch_shard (rows 0: off) */
  int no_grad_depth;
  porta_allocator alloc;
  porta_tensor *tensors; /* caller-owned and temporary tensors */
  porta_node *tape;
  int tape_len, tape_cap;
  /* profiling (profile.c) */
  bool profile;      /* on */
  bool profile_host; /* the backend has no timers: the core times each call (synchronised) */
  uint64_t prof_ns[PORTA_OP_COUNT], prof_calls[PORTA_OP_COUNT];           /* host timing */
  uint64_t prof_base_ns[PORTA_OP_COUNT], prof_base_calls[PORTA_OP_COUNT]; /* at last reset */
};

/* Opens device `device` of backend `kind` (not AUTO); num_threads for the CPU backend. On failure
 * *out is NULL and err holds the message. (context.c) */
porta_status porta_backend_open(porta_backend **out, porta_backend_kind kind, int device,
                                int num_threads, char *err, size_t err_size);
/* AUTO's choice (device_choice.c): a GPU that passes its self-test, the fastest when several do,
 * else the CPU backend; want_device >= 0 restricts it to that index. Never fails. */
void porta_auto_choose(int want_device, porta_backend_kind *kind, int *device, char *reason,
                       size_t reason_size);
/* Reads (IF_CACHED) or runs (RUN) the self-test of ctx's device and switches off the paths that
 * failed; writes ctx->selftest_note. (selftest.c) */
void porta_selftest_apply(porta_context *ctx, porta_selftest_use use);

/* Formats the context's error message and returns status (printf-style). */
porta_status porta_fail(porta_context *ctx, porta_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Copies the backend's message (be->err) into the context, prefixed with `what`. */
porta_status porta_fail_backend(porta_context *ctx, porta_status status, const char *what);

/* ---- checked dispatch (dispatch.c): supports() check, call, error copy, profiling ---------- */

/* The checked call of a backend op: supports() first (PORTA_ERR_UNSUPPORTED naming the op and the
 * backend, never a silent fallback), then the backend's slot for `op`, with `args` pointing to that
 * op's args struct; the backend's message is copied into the context on failure; timed on the
 * host when profiling without backend timers. Call it through porta_run. */
porta_status porta_dispatch(porta_context *ctx, const char *what, porta_op op, const void *args);

/* porta_run(ctx, what, &args): porta_dispatch of the op whose args struct `args` points to (the op
 * follows from the type, so no call can pair an op with another op's arguments; a pointer to
 * anything else does not compile). The trailing `int : 0` only closes the list. */
#define PORTA_OP_OF_ARGS(ENUM, name, args_type)                                                    \
  args_type * : PORTA_OP_##ENUM, const args_type * : PORTA_OP_##ENUM,
#define porta_run(ctx, what, args)                                                                 \
  porta_dispatch((ctx), (what), _Generic((args), PORTA_OP_TABLE(PORTA_OP_OF_ARGS) int : 0), (args))

/* The dropout counter of element 0 of a tensor of numel elements under porta_set_batch_shard. */
porta_status porta_dropout_base(porta_context *ctx, const char *what, int64_t numel,
                                uint64_t *base);
porta_status porta_be_fill(porta_context *ctx, const char *what, porta_ref out, int64_t n,
                           float value);
/* The backend's compute-bound probe for `porta bench` (PORTA_ERR_UNSUPPORTED without one), whether
 * it has one, and the total device nanoseconds of every op so far from the backend's own timers
 * (false when it does not time ops). */
porta_status porta_be_bench_fma(porta_context *ctx, const char *what, porta_ref out, int64_t n,
                                int iters);
bool porta_be_has_bench_fma(const porta_context *ctx);
bool porta_be_device_ns(porta_context *ctx, uint64_t *total);
/* dst = beta · dst + alpha · src over n contiguous elements (a reduce with nothing reduced). */
porta_status porta_be_axpby(porta_context *ctx, const char *what, porta_ref dst, porta_ref src,
                            int64_t n, float alpha, float beta);

/* ---- ops beyond the public API ------------------------------------------------------------- */

/* porta_attention with dropout on the probabilities (BERT's attention_probs_dropout_prob):
 * out = dropout(softmax(q·kᵀ/√D + mask), p) · v, one op with its own backward. The dropout is
 * active only in training mode with p > 0; it then draws one Philox stream (advancing it by one,
 * like porta_dropout) for the [B, H, Sq, Sk] probabilities. probs (may be NULL) receives the
 * probabilities before dropout. */
porta_status porta_attention_dropout(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                     porta_tensor *k, porta_tensor *v, porta_tensor *mask,
                                     float dropout_p);
/* The same with the heads side by side in each row, the layout linear layers produce (no permute
 * copies): q [B, Sq, H·D], k [B, Sk, H·D], v [B, Sk, H·Dv] → out [B, Sq, H·Dv], where head h is
 * the column block [h·D, (h+1)·D). probs (may be NULL) receives [B, H, Sq, Sk] after dropout (as
 * transformers' attentions). Dropout and its stream as in porta_attention_dropout. */
porta_status porta_attention_heads(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                   porta_tensor *k, porta_tensor *v, porta_tensor *mask, int heads,
                                   float dropout_p);

/* ---- profiling (profile.c) ------------------------------------------------------------------ */
void porta_profile_start(porta_context *ctx);
uint64_t porta_now_ns(void);

/* ---- argument checks shared by the ops ------------------------------------------------------ */
/* NULL → INVALID_ARGUMENT naming the argument; wrong dtype → DTYPE. */
porta_status porta_check_tensor(porta_context *ctx, const char *what, const char *arg,
                                const porta_tensor *t, porta_dtype dtype);
/* The context of an op's first non-NULL tensor argument. */
static inline porta_context *porta_ctx_of(const porta_tensor *a, const porta_tensor *b) {
  return a ? a->ctx : b ? b->ctx : NULL;
}
/* Checks out != NULL and clears *out. */
static inline porta_status porta_check_out(porta_context *ctx, const char *what,
                                           porta_tensor **out) {
  if (!out) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: out is NULL", what);
  *out = NULL;
  return PORTA_OK;
}
/* Shape of t as "[2, 3]" in a caller buffer (for messages). */
#define PORTA_SHAPE_STR(t, buf) porta_shape_format((buf), sizeof(buf), (t)->ndim, (t)->shape)

#endif
