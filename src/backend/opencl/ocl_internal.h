/* Internals of the OpenCL backend, shared by its source files (never included above src/backend).
 *
 * One backend = one device, one context, one in-order queue. Buffers are cl_mem; every kernel
 * takes element offsets (CLBlast's style) instead of sub-buffers, whose alignment rules differ per
 * device. Programs (one per kernel source file in kernels/) are built on first use, kept for the
 * backend's life and cached on disk as binaries (ocl_program.c). */
#ifndef PORTA_OCL_INTERNAL_H
#define PORTA_OCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "backend/backend.h"
#include "backend/opencl/opencl_backend.h"

/* The programs, one per kernels/<name>.cl. */
typedef enum ocl_program_id {
  OCL_PROG_ELEMENTWISE,
  OCL_PROG_REDUCE,
  OCL_PROG_SOFTMAX,
  OCL_PROG_LAYERNORM,
  OCL_PROG_EMBEDDING,
  OCL_PROG_DROPOUT,
  OCL_PROG_ADAMW,
  OCL_PROG_GEMM_CPU,
  OCL_PROG_GEMM_GPU,
  OCL_PROG_BENCH,
  OCL_PROG_COUNT
} ocl_program_id;

/* Per-(transpose, batched) class of GEMM: the choice of implementation, measured once per
 * device and cached on disk (ocl_gemm.c). Index = trans_a + 2·trans_b + 4·batched. */
#define OCL_GEMM_CLASSES 8

/* Events of ops waiting to be timed (profiling on). */
#define OCL_PROFILE_PENDING_MAX 2048
typedef struct ocl_pending_event {
  cl_event event;
  porta_op op;
  bool counts_call; /* the first event of an op counts one call */
} ocl_pending_event;

typedef struct ocl_backend {
  porta_backend base; /* must stay first */
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  char cache_dir[1024]; /* "" when no cache directory is usable */
  size_t max_workgroup; /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
  size_t local_mem;     /* CL_DEVICE_LOCAL_MEM_SIZE */
  int row_wg;           /* work-group size for row reductions (power of two) */
  int elem_wg;          /* local size of elementwise launches (power of two) */
  int gemm_gpu_tile;    /* threads per side of the GPU GEMM work-group (16 or 8) */

  cl_program programs[OCL_PROG_COUNT];
  /* Kernels created so far (arguments are set at each launch; the queue captures them). */
  struct {
    const char *name; /* a string literal of the op's source file */
    cl_kernel kernel;
    size_t max_wg; /* CL_KERNEL_WORK_GROUP_SIZE */
  } kernels[64];
  int kernel_count;
  int program_cache_hits; /* programs loaded from the disk cache (for tests) */

  /* Scratch memory for multi-kernel ops (partial sums, transposed B). Reused freely: the
   * queue is in order, so one op's use ends before the next op's begins. */
  cl_mem scratch;
  size_t scratch_bytes;

  /* GEMM choice: forced by PORTA_OPENCL_GEMM / porta_opencl_set_gemm_mode, or measured. */
  porta_opencl_gemm_mode gemm_mode;
  porta_opencl_gemm_mode gemm_mode_env; /* as read at creation (path_force(-1) restores it) */
  porta_opencl_gemm_impl gemm_choice[OCL_GEMM_CLASSES]; /* UNDECIDED until measured */
  char gemm_measured[OCL_GEMM_CLASSES][160]; /* "clblast=9.4 own_cpu=101.2 ..." GFLOP/s */
  bool gemm_cache_loaded;

  bool profiling;
  ocl_pending_event pending[OCL_PROFILE_PENDING_MAX];
  int pending_count;
  uint64_t prof_ns[PORTA_OP_COUNT];
  uint64_t prof_calls[PORTA_OP_COUNT];
} ocl_backend;

/* The self-test's paths (bit i of base.paths_off): GEMM implementation i + 1. */
int ocl_paths(porta_backend *base, porta_backend_path *out, int capacity);
porta_status ocl_path_force(porta_backend *base, int i);

/* ---- errors (ocl_errors.c) ------------------------------------------------------------------- */
const char *ocl_error_name(cl_int code); /* "CL_MEM_OBJECT_ALLOCATION_FAILURE" */
const char *ocl_clblast_name(int code);  /* "CLBlastInvalidLeadDimA" */
/* Writes the message into be->err and returns status. */
porta_status ocl_fail(ocl_backend *be, porta_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* "what failed: CL_NAME (code)" with the status a CL error deserves (allocation → DEVICE_MEMORY).
 */
porta_status ocl_fail_cl(ocl_backend *be, cl_int code, const char *what);

/* ---- programs and the disk cache (ocl_program.c) --------------------------------------------- */
/* The program `id`, built on first use. */
porta_status ocl_program_get(ocl_backend *be, ocl_program_id id, cl_program *out);
/* Builds `source` with `options` through the disk cache; a failed build gives PORTA_ERR_BUILD with
 * the log. `label` names the source in messages. */
porta_status ocl_program_build(ocl_backend *be, const char *label, const char *source,
                               size_t source_len, const char *options, cl_program *out);
/* FNV-1a 64 over bytes, chained from h. */
uint64_t ocl_hash(uint64_t h, const void *data, size_t len);
#define OCL_HASH_SEED 0xcbf29ce484222325ull

/* ---- buffers (ocl_memory.c), profiling and the bench probe (ocl_profile.c): vtable entries -- */
porta_status ocl_alloc(porta_backend *base, size_t bytes, void **out);
void ocl_free(porta_backend *base, void *buf);
porta_status ocl_upload(porta_backend *base, void *buf, size_t offset, const void *src,
                        size_t bytes);
porta_status ocl_download(porta_backend *base, void *buf, size_t offset, void *dst, size_t bytes);
porta_status ocl_copy(porta_backend *base, void *dst, size_t dst_offset, void *src,
                      size_t src_offset, size_t bytes);
porta_status ocl_fill(porta_backend *base, porta_ref out, int64_t n, float value);
porta_status ocl_synchronize(porta_backend *base);
void ocl_profile_enable(porta_backend *base, bool on);
porta_status ocl_profile_read(porta_backend *base, uint64_t ns_per_op[PORTA_OP_COUNT],
                              uint64_t calls_per_op[PORTA_OP_COUNT]);
porta_status ocl_bench_fma(porta_backend *base, porta_ref out, int64_t n, int iters);

/* ---- kernel launches (ocl_launch.c) ------------------------------------------------------ */
/* Collects arguments for one kernel; the first failure is kept and reported by the launch. */
typedef struct ocl_launch {
  ocl_backend *be;
  cl_kernel kernel;
  size_t max_wg;
  const char *name;
  cl_uint next_arg;
  bool extra_kernel; /* a later kernel of a multi-kernel op: timed, but not counted as a call */
  cl_int err;
  porta_status status;
} ocl_launch;

/* Looks up (creating on first use) the kernel `name` of program `id`. */
void ocl_launch_begin(ocl_launch *l, ocl_backend *be, ocl_program_id id, const char *name);
/* The largest power-of-two work-group size ≤ be->row_wg (row reductions) or be->elem_wg
 * (elementwise launches) this kernel can run (≥ 1). Local sizes are fixed rather than left to
 * the driver: PoCL compiles a kernel once per distinct local size. */
size_t ocl_launch_row_wg(const ocl_launch *l);
size_t ocl_launch_elem_wg(const ocl_launch *l);
/* A 2-D local size (x, y, 1) with x·y ≤ the kernel's limit, at most want_x × want_y. */
void ocl_launch_local_2d(const ocl_launch *l, size_t want_x, size_t want_y, size_t local[3]);
void ocl_arg_mem(ocl_launch *l, cl_mem mem);
void ocl_arg_int(ocl_launch *l, int v);
void ocl_arg_uint(ocl_launch *l, unsigned v);
void ocl_arg_ulong(ocl_launch *l, uint64_t v);
void ocl_arg_float(ocl_launch *l, float v);
void ocl_arg_int4(ocl_launch *l, const int v[4]);
void ocl_arg_local(ocl_launch *l, size_t bytes);
/* Enqueues over `dims` dimensions (local may be NULL: the driver chooses). Records the event
 * for profiling under `op` (PORTA_OP_COUNT: not profiled). A zero-sized range enqueues nothing. */
porta_status ocl_launch_run(ocl_launch *l, porta_op op, cl_uint dims, const size_t *global,
                            const size_t *local);
/* Records an event produced outside ocl_launch_run (CLBlast, fill) for profiling; takes it.
 * (ocl_profile.c) */
void ocl_profile_add(ocl_backend *be, porta_op op, cl_event event, bool counts_call);
/* Whether ops should ask for events. */
static inline bool ocl_profiling(const ocl_backend *be) { return be->profiling; }

/* A scratch buffer of at least `bytes` (grown as needed). (ocl_memory.c) */
porta_status ocl_scratch(ocl_backend *be, size_t bytes, cl_mem *out);

/* ceil(a / b) · b */
static inline size_t ocl_round_up(size_t a, size_t b) { return (a + b - 1) / b * b; }

/* ---- ops (ocl_ops.c, ocl_gemm.c) ----------------------------------------------------------- */
porta_status ocl_gemm(porta_backend *be, const porta_gemm_args *a);
porta_status ocl_binary(porta_backend *be, const porta_binary_args *a);
porta_status ocl_unary(porta_backend *be, const porta_unary_args *a);
porta_status ocl_unary_bwd(porta_backend *be, const porta_unary_bwd_args *a);
porta_status ocl_reduce(porta_backend *be, const porta_reduce_args *a);
porta_status ocl_copy_strided(porta_backend *be, const porta_copy_args *a);
porta_status ocl_softmax(porta_backend *be, const porta_softmax_args *a);
porta_status ocl_softmax_bwd(porta_backend *be, const porta_softmax_bwd_args *a);
porta_status ocl_layernorm(porta_backend *be, const porta_layernorm_args *a);
porta_status ocl_layernorm_bwd(porta_backend *be, const porta_layernorm_bwd_args *a);
porta_status ocl_embedding(porta_backend *be, const porta_embedding_args *a);
porta_status ocl_embedding_bwd(porta_backend *be, const porta_embedding_bwd_args *a);
porta_status ocl_dropout(porta_backend *be, const porta_dropout_args *a);
porta_status ocl_cross_entropy(porta_backend *be, const porta_cross_entropy_args *a);
porta_status ocl_cross_entropy_bwd(porta_backend *be, const porta_cross_entropy_bwd_args *a);
porta_status ocl_adamw(porta_backend *be, const porta_adamw_args *a);
porta_status ocl_sumsq(porta_backend *be, const porta_sumsq_args *a);

/* Checks that an element count or index fits the kernels' 32-bit int arithmetic. */
static inline bool ocl_fits_int(int64_t v) { return v >= 0 && v <= 0x7fffffff; }

#endif /* PORTA_OCL_INTERNAL_H */
