/* The backend interface: one vtable that the CPU, OpenCL and Vulkan backends implement.
 *
 * The core (src/core) owns tensors, autograd and the caching allocator; a backend only knows
 * buffers and kernels. Every compute entry takes device buffers as porta_ref (buffer + offset in
 * 4-byte elements: CLBlast's style) and plain shapes. Outputs are written in full unless the
 * entry says "accumulates" (+=). Work is queued in order on one queue; only download and
 * synchronize wait.
 *
 * Shapes: "row-major, contiguous" unless strides are given. 4-D shape/stride arrays use
 * PORTA_MAX_DIMS (4) entries; unused leading dims have size 1.
 */
#ifndef PORTA_BACKEND_H
#define PORTA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/op_table.h"
#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct porta_backend porta_backend;

/* A buffer (opaque backend handle) and an offset in elements (every dtype is 4 bytes). */
typedef struct porta_ref {
  void *buf;
  size_t off;
} porta_ref;

/* The ops, one per row of the op table (backend/op_table.h). */
#define PORTA_OP_ENUM(ENUM, name, args_type) PORTA_OP_##ENUM,
typedef enum porta_op { PORTA_OP_TABLE(PORTA_OP_ENUM) PORTA_OP_COUNT } porta_op;
#undef PORTA_OP_ENUM

/* Name of an op ("gemm", "softmax_bwd"), for messages and profiles. */
const char *porta_op_name(porta_op op);

/* C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for b in [0, batch), row-major.
 * op(A) is m×k: A is m×k (lda ≥ k) or, with trans_a, k×m (lda ≥ m). op(B) is k×n likewise.
 * C is m×n with ldc ≥ n. stride_* = elements between consecutive batch matrices (0 = shared).
 * beta == 0 means C is not read (it may hold garbage/NaN).
 * An optional second batch index (attention's batch row × head, whose matrices do not step
 * uniformly): with batch2 > 1 the products are (b2, b) for b2 < batch2, b < batch, and matrix
 * (b2, b) of X starts at x.off + b2 · stride2_x + b · stride_x. batch2 = 0 means 1. One call
 * instead of batch2, because GPU drivers (lavapipe most) pay per dispatch. */
typedef struct porta_gemm_args {
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha, beta;
  porta_ref a, b, c;
  int64_t lda, ldb, ldc;
  int64_t stride_a, stride_b, stride_c;
  int64_t batch;
  int64_t batch2;
  int64_t stride2_a, stride2_b, stride2_c;
} porta_gemm_args;

/* For backends without a native second batch index: fn(be, one) for each b2 < batch2 with
 * `one` the b2-th product of one batch index (batch2 = 1, offsets moved by b2 · stride2_*). */
porta_status porta_gemm_each_batch2(porta_backend *be, const porta_gemm_args *g,
                                    porta_status (*fn)(porta_backend *be,
                                                       const porta_gemm_args *one));

typedef enum porta_binary_op {
  PORTA_BINARY_ADD,
  PORTA_BINARY_SUB,
  PORTA_BINARY_MUL,
  PORTA_BINARY_DIV,
} porta_binary_op;

/* out[i0,i1,i2,i3] = a[Σ i·a_stride] op b[Σ i·b_stride], out contiguous with `shape`.
 * A stride of 0 broadcasts. out may alias a or b exactly (same buffer and offset, same layout). */
typedef struct porta_binary_args {
  porta_binary_op op;
  porta_ref out, a, b;
  int64_t shape[PORTA_MAX_DIMS];
  int64_t a_stride[PORTA_MAX_DIMS], b_stride[PORTA_MAX_DIMS];
} porta_binary_args;

typedef enum porta_unary_op {
  PORTA_UNARY_SCALE, /* out = alpha · x + beta */
  PORTA_UNARY_GELU,  /* x/2 · (1 + erf(x/√2)) */
  PORTA_UNARY_TANH,
  PORTA_UNARY_RELU,
} porta_unary_op;

/* out[i] = f(x[i]) for i < n (contiguous). out may alias x exactly. */
typedef struct porta_unary_args {
  porta_unary_op op;
  porta_ref out, x;
  int64_t n;
  float alpha, beta;
} porta_unary_args;

/* dx[i] = dy[i] · f'(·) for i < n. The saved value `x` is the op's input for GELU and RELU and
 * its output y for TANH (dy·(1 - y²)). SCALE: dx = alpha · dy (x unused). dx may alias dy. */
typedef struct porta_unary_bwd_args {
  porta_unary_op op;
  porta_ref dx, x, dy;
  int64_t n;
  float alpha;
} porta_unary_bwd_args;

/* Sum over the dims where out_stride is 0:
 * out[Σ i·out_stride] = beta · out[...] + alpha · Σ_{reduced} x[Σ i·x_stride]
 * `shape` is x's (4-D). x_stride lets x be non-contiguous. beta == 0: out not read. */
typedef struct porta_reduce_args {
  porta_ref out, x;
  int64_t shape[PORTA_MAX_DIMS];
  int64_t x_stride[PORTA_MAX_DIMS], out_stride[PORTA_MAX_DIMS];
  float alpha, beta;
} porta_reduce_args;

/* out[Σ i·out_stride] = (accumulate ? out[...] : 0) + x[Σ i·x_stride] over the 4-D `shape`.
 * Used for permute, select, slice and their backward passes. Works for f32 and i32 alike when
 * accumulate is false (a bit copy). out positions are distinct (no two i map to one out). */
typedef struct porta_copy_args {
  porta_ref out, x;
  int64_t shape[PORTA_MAX_DIMS];
  int64_t out_stride[PORTA_MAX_DIMS], x_stride[PORTA_MAX_DIMS];
  bool accumulate;
} porta_copy_args;

/* y[r, :] = softmax(scale · x[r, :] + mask[r / mask_div, :]) for r < rows, over n columns.
 * mask.buf == NULL means no mask. Rows that are all -inf after masking give zeros, not NaN. */
typedef struct porta_softmax_args {
  porta_ref y, x, mask;
  int64_t rows, n;
  int64_t mask_div;
  float scale;
} porta_softmax_args;

/* dx[r, :] = scale · y ⊙ (dy - Σ_j dy_j y_j). dx may alias dy. */
typedef struct porta_softmax_bwd_args {
  porta_ref dx, y, dy;
  int64_t rows, n;
  float scale;
} porta_softmax_bwd_args;

/* Per row r of x [rows, n]: mean[r], rstd[r] = 1/sqrt(var + eps) (biased variance, two-pass),
 * y = (x - mean) · rstd · gamma + beta. */
typedef struct porta_layernorm_args {
  porta_ref y, mean, rstd, x, gamma, beta;
  int64_t rows, n;
  float eps;
} porta_layernorm_args;

/* dx written (full); dgamma and dbeta accumulate (+=) over rows. */
typedef struct porta_layernorm_bwd_args {
  porta_ref dx, dgamma, dbeta, dy, x, mean, rstd, gamma;
  int64_t rows, n;
} porta_layernorm_bwd_args;

/* out[t, :] = table[ids[t], :] for t < n_ids; ids (i32) outside [0, vocab) give zeros. */
typedef struct porta_embedding_args {
  porta_ref out, table, ids;
  int64_t n_ids, dim, vocab;
} porta_embedding_args;

/* dtable[ids[t], :] += dout[t, :] (accumulates; ids outside [0, vocab) skipped). Deterministic:
 * the same result on every run (no float atomics in arbitrary order). */
typedef struct porta_embedding_bwd_args {
  porta_ref dtable, dout, ids;
  int64_t n_ids, dim, vocab;
} porta_embedding_bwd_args;

/* out[i] = x[i] · (u_i ≥ p ? 1/(1-p) : 0), u_i = porta_philox_uniform(seed, stream, base + i).
 * base: the counter of element 0 (a shard of a batch draws the whole batch's mask for its rows).
 * The backward pass is this same op applied to dy. out may alias x. */
typedef struct porta_dropout_args {
  porta_ref out, x;
  int64_t n;
  float p;
  uint64_t seed, stream, base;
} porta_dropout_args;

/* probs = softmax(logits) [B, C]; loss[0] = Σ_valid -log probs[b, labels[b]] / n_valid
 * (labels i32; valid = 0 ≤ label < C; loss = 0 when none is valid). */
typedef struct porta_cross_entropy_args {
  porta_ref loss, probs, logits, labels;
  int64_t batch, classes;
} porta_cross_entropy_args;

/* dlogits[b, c] = dloss[0] · (probs[b, c] - [c == label_b]) / n_valid for valid rows, 0 for
 * invalid rows (written in full). dloss is a 1-element device buffer. */
typedef struct porta_cross_entropy_bwd_args {
  porta_ref dlogits, probs, labels, dloss;
  int64_t batch, classes;
} porta_cross_entropy_bwd_args;

/* torch.optim.AdamW, one tensor, in the f32 arithmetic of torch's _single_tensor_adam. The
 * hyper-parameters are doubles, as torch holds them (Python floats), and bias_correction_i =
 * 1 - beta_i^step (computed by the caller in double). Each backend rounds the step's factors to
 * f32 on the host, as torch does when it applies a Python number to a float32 tensor:
 *   decay = f32(1 - lr·weight_decay)   w1 = f32(1 - beta1)   b2 = f32(beta2)   w2 = f32(1 - beta2)
 *   step_size = f32(lr / bias_correction1)   sqrt_bc2 = f32(sqrt(bias_correction2))   f32(eps)
 * then per element, in f32 (fma = one rounding, as torch's vectorised kernels):
 *   g = grad · grad_scale                                       (clip_grad_norm_'s mul_)
 *   p = p · decay
 *   m = w1 < 0.5 ? fma(w1, g - m, m) : fma(w1 - 1, g - m, g)   (torch.lerp(m, g, w1))
 *   v = fma(w2 · g, g, v · b2)                                  (mul_(beta2), addcmul_)
 *   p = p - (step_size · m) / (sqrt(v) / sqrt_bc2 + eps)        (addcdiv_) */
typedef struct porta_adamw_args {
  porta_ref param, grad, m, v;
  int64_t n;
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1, bias_correction2;
  float grad_scale; /* the clip coefficient folded into the step; 0 or 1: none (grad unchanged) */
} porta_adamw_args;

/* out[0] = (accumulate ? out[0] : 0) + Σ_i x[i]² for i < n. */
typedef struct porta_sumsq_args {
  porta_ref out, x;
  int64_t n;
  bool accumulate;
} porta_sumsq_args;

/* One fast path of a backend: a variant of the code behind some ops (a GEMM shader, the layout
 * of the row shaders). Paths of one family ("gemm", "rows", "adamw") are alternatives. */
#define PORTA_MAX_PATHS 16
typedef struct porta_backend_path {
  const char *name; /* "gemm.texel": family, dot, variant */
  uint32_t op_mask; /* bit (1u << porta_op) for each op it serves */
  bool available;   /* the device has what the path needs (texel buffers, subgroup arithmetic) */
  bool automatic;   /* the automatic choice may use it on this device */
  bool safe;        /* the family's fallback, plain code: never switched off */
} porta_backend_path;

typedef struct porta_backend_ops {
  void (*destroy)(porta_backend *be);

  /* Buffers. alloc returns PORTA_ERR_DEVICE_MEMORY when the driver is out of memory. Offsets
   * and sizes here are in bytes. */
  porta_status (*alloc)(porta_backend *be, size_t bytes, void **out);
  void (*free)(porta_backend *be, void *buf);
  porta_status (*upload)(porta_backend *be, void *buf, size_t offset, const void *src,
                         size_t bytes);
  porta_status (*download)(porta_backend *be, void *buf, size_t offset, void *dst, size_t bytes);
  porta_status (*copy)(porta_backend *be, void *dst, size_t dst_offset, void *src,
                       size_t src_offset, size_t bytes);
  /* out[0..n) = value (f32 bit pattern; value 0 also zeroes i32 data). */
  porta_status (*fill)(porta_backend *be, porta_ref out, int64_t n, float value);
  porta_status (*synchronize)(porta_backend *be);

  /* Whether this backend runs op with these arguments (args points to the op's struct, or NULL
   * for "in general"). The core never falls back silently. */
  bool (*supports)(porta_backend *be, porta_op op, const void *args);

  /* One slot per row of the op table (backend/op_table.h): porta_status name(be, const args *a).
   * A slot may be NULL when the backend lacks the op (the core reports it as unsupported). */
#define PORTA_OP_SLOT(ENUM, name, args_type)                                                       \
  porta_status (*name)(porta_backend * be, const args_type *a);
  PORTA_OP_TABLE(PORTA_OP_SLOT)
#undef PORTA_OP_SLOT

  /* Optional profiling (may be NULL): when enabled, the backend times each op with its own
   * timers (OpenCL events, Vulkan timestamps, clock on CPU) and adds nanoseconds per op. */
  void (*profile_enable)(porta_backend *be, bool on);
  porta_status (*profile_read)(porta_backend *be, uint64_t ns_per_op[PORTA_OP_COUNT],
                               uint64_t calls_per_op[PORTA_OP_COUNT]);

  /* Optional (may be NULL), for `porta bench`'s peak figure: a compute-bound kernel. Each of n
   * items runs `iters` iterations of 8 independent fused multiply-adds (16 flops per iteration
   * per item) on values derived from its index and writes their sum to out[i] (so nothing is
   * optimised away). Queued like any op. */
  porta_status (*bench_fma)(porta_backend *be, porta_ref out, int64_t n, int iters);

  /* Optional (may be NULL: one code path per op): the variants the backend chooses among, for
   * the device self-test (src/core/selftest.c). Fills out[0..capacity) and returns the count.
   * Path i is bit i of porta_backend.paths_off. */
  int (*paths)(porta_backend *be, porta_backend_path *out, int capacity);
  /* Makes the ops of path i's family go through path i wherever the shape allows it (elsewhere
   * through the family's usual choice); i = -1 restores the choice made at creation. A path the
   * device lacks is PORTA_ERR_UNSUPPORTED. */
  porta_status (*path_force)(porta_backend *be, int i);
} porta_backend_ops;

/* Every backend struct starts with this. err holds the message of the last failure (with the
 * driver's error code / build log); the core copies it into the context. */
struct porta_backend {
  const porta_backend_ops *ops;
  porta_backend_kind kind;
  porta_device_info info;
  char err[4096];
  /* Bit i: path i (see paths) failed this device's self-test; the automatic choice avoids it
   * and takes the family's safe path instead. Set by the core, read by the backend. */
  uint32_t paths_off;
};

/* Whether the automatic choice may take path i (not switched off by the self-test). */
static inline bool porta_path_on(const porta_backend *be, int i) {
  return !(be->paths_off & (1u << i));
}

/* Formats into be->err and returns status (printf-style). */
porta_status porta_backend_fail(porta_backend *be, porta_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The cache directory ($PORTA_CACHE_DIR, else $XDG_CACHE_HOME/porta, else ~/.cache/porta),
 * created if missing; "" when there is none. */
void porta_cache_dir(char *dir, size_t size);
/* Writes a file through a temporary file and a rename: readers never see half of it. */
bool porta_cache_write(const char *path, const void *data, size_t size);

/* ---- the registry (registry.c): the backends of this build, one signature to open each ------ */
typedef struct porta_backend_options {
  int device;      /* index among the backend's devices */
  int num_threads; /* worker threads where the backend has them (CPU); 0: all cores */
  /* the plain reference kernels where the backend has a faster choice (the CPU backend's loop
   * GEMM instead of OpenBLAS): the device self-test's oracle */
  bool reference;
} porta_backend_options;

typedef struct porta_backend_entry {
  porta_backend_kind kind;
  const char *name; /* "cpu", "opencl", "vulkan" */
  /* Opens a device. On failure *out is NULL and err holds the message. */
  porta_status (*create)(porta_backend **out, const porta_backend_options *options, char *err,
                         size_t err_size);
  /* Lists the devices into infos[0..capacity); *count receives the number found. */
  porta_status (*list_devices)(porta_device_info *infos, int capacity, int *count, char *err,
                               size_t err_size);
} porta_backend_entry;

/* The registered backend of `kind`; NULL when this build has none (or kind is AUTO). */
const porta_backend_entry *porta_backend_lookup(porta_backend_kind kind);

/* Each backend's own constructor and device list, which its registry entry wraps (the GPU ones
 * exist when compiled in: PORTA_HAVE_OPENCL / PORTA_HAVE_VULKAN). Tests call them directly. */
porta_status porta_cpu_backend_create(porta_backend **out, int device, int num_threads, char *err,
                                      size_t err_size);
porta_status porta_cpu_list_devices(porta_device_info *infos, int capacity, int *count, char *err,
                                    size_t err_size);
porta_status porta_opencl_backend_create(porta_backend **out, int device, char *err,
                                         size_t err_size);
porta_status porta_opencl_list_devices(porta_device_info *infos, int capacity, int *count,
                                       char *err, size_t err_size);
porta_status porta_vulkan_backend_create(porta_backend **out, int device, char *err,
                                         size_t err_size);
porta_status porta_vulkan_list_devices(porta_device_info *infos, int capacity, int *count,
                                       char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* PORTA_BACKEND_H */
