/* Internal state of the Vulkan backend, shared by its files:
 *   vk_device.c    instance, device listing, device creation, validation messenger, destroy
 *   vk_memory.c    block sub-allocator, buffers, staging, upload/download/copy/fill
 *   vk_exec.c      frames (command buffer + fence + descriptor pool + staging + timestamps),
 *                  barriers, batched submission, deferred frees, profiling
 *   vk_pipeline.c  shader modules, lazily created pipelines, the on-disk VkPipelineCache
 *   vk_ops*.c      one entry per op of backend.h, each a few dispatches
 *
 * Execution model: every command is recorded into the current frame's command buffer behind a
 * full compute/transfer barrier; a frame is submitted (without waiting) when it grows large or
 * its staging space runs out, and the host waits on a fence only in download/synchronize or when
 * it needs a frame that is still in flight. Buffers freed while work may use them are released
 * when the frame that was recording at the time has completed.
 *
 * Bindings: every descriptor covers only the elements a dispatch reads or writes, starting at the
 * offset rounded down to minStorageBufferOffsetAlignment (the remainder goes to the shader as an
 * element offset push constant), and never more than maxStorageBufferRange: larger work is split
 * (element ranges, chunks of rows, embedding-table row ranges, GEMM tiles of C, pieces of strided
 * views) and anything that cannot be split returns PORTA_ERR_UNSUPPORTED with the reason.
 *
 * Environment: PORTA_VULKAN_VALIDATION=1 (Khronos validation layer + synchronization checks,
 * messages counted and printed as "porta vulkan validation ..."),
 * PORTA_VULKAN_GEMM=naive|tiled|vec|texel (force a GEMM shader), PORTA_VULKAN_MAX_RANGE=<bytes>
 * (cap the binding range, for tests), PORTA_VULKAN_ROWS=lanes|group|shared (force the layout of
 * the row shaders, for tests: see vk_row_plan). */
#ifndef PORTA_VK_INTERNAL_H
#define PORTA_VK_INTERNAL_H

#include <vulkan/vulkan.h>

#include "backend/backend.h"

#define VK_FRAMES 3         /* command buffers in rotation */
#define VK_MAX_DISPATCH 256 /* dispatches per frame before it is submitted */
#define VK_MAX_BINDINGS 8   /* storage buffers per shader */
/* lavapipe ends a shader invocation after 65535 loop iterations in all (one counter an
 * invocation, never reset: LP_MAX_TGSI_LOOP_ITERATIONS), silently. Shaders that loop over a size
 * the caller chooses (GEMM's k, the tokens of the embedding backward, the rows of a layer norm's
 * parameter gradients) take it in slices under this limit on CPU devices. */
#define VK_CPU_LOOP_LIMIT 65535
#define VK_CPU_LOOP_SLICE 16384 /* a slice that leaves room for a shader's other loops */
#define VK_MAX_TEXEL_BINDINGS 4 /* bindings of a shader that reads or writes texel buffers */
#define VK_PUSH_WORDS 32        /* 128 bytes: the minimum maxPushConstantsSize */
#define VK_STAGING_BYTES (16u << 20)
#define VK_BLOCK_BYTES (64u << 20)
#define VK_MAX_PIPELINES 128

/* GEMM shaders. AUTO: on CPU devices (lavapipe) the register-blocked shaders where the operands
 * allow vec4 views — reading through texel buffers (texel) where RGBA32F storage texel buffers
 * exist, else storage buffers (vec) — and the tiled one otherwise and on GPUs. */
enum { VK_GEMM_AUTO, VK_GEMM_TILED, VK_GEMM_NAIVE, VK_GEMM_VEC, VK_GEMM_TEXEL };

/* Row shaders (softmax, layer norm, cross-entropy, reduce): AUTO picks per device and shape;
 * LANES = one invocation per row; GROUP = one work group per row, reductions through subgroup
 * operations where the device has them; SHARED = GROUP through shared memory only. */
enum { VK_ROWS_AUTO, VK_ROWS_LANES, VK_ROWS_GROUP, VK_ROWS_SHARED };

/* The fast paths of the self-test (bit i of base.paths_off), see vk_paths. Switched off, a path
 * gives way to the plain one of its family: gemm_naive, shared-memory rows, adamw. */
enum {
  VK_PATH_GEMM_TILED,
  VK_PATH_GEMM_NAIVE,
  VK_PATH_GEMM_VEC,
  VK_PATH_GEMM_TEXEL,
  VK_PATH_ROWS_LANES,
  VK_PATH_ROWS_SUBGROUP,
  VK_PATH_ROWS_SHARED,
  VK_PATH_ADAMW_TEXEL,
  VK_PATH_ADAMW_PLAIN,
  VK_PATH_COUNT
};
enum { VK_ADAMW_AUTO, VK_ADAMW_TEXEL, VK_ADAMW_PLAIN };

/* A free range inside a memory block. */
typedef struct vk_range {
  VkDeviceSize offset, size;
} vk_range;

/* One vkAllocateMemory with one VkBuffer over all of it; tensors are ranges of it. */
typedef struct vk_block {
  VkDeviceMemory memory;
  VkBuffer buffer;
  VkDeviceSize size;
  vk_range *free_ranges; /* sorted by offset, merged */
  int n_free, cap_free;
  bool dedicated; /* made for one large buffer: released when that buffer is freed */
} vk_block;

/* The handle behind porta_ref.buf. */
typedef struct vk_buffer {
  int block;
  VkDeviceSize offset, size; /* within the block's VkBuffer; size as requested */
  VkDeviceSize reserved;     /* size rounded up to the allocation granule */
} vk_buffer;

typedef struct vk_frame {
  VkCommandBuffer cmd;
  VkFence fence;
  VkDescriptorPool pool;
  VkQueryPool queries; /* VK_NULL_HANDLE without timestamp support */
  bool recording, in_flight;
  int n_commands, n_dispatch;
  /* staging (host-visible, coherent) for uploads and downloads recorded in this frame */
  VkBuffer staging;
  VkDeviceMemory staging_memory;
  unsigned char *staging_map;
  VkDeviceSize staging_used;
  /* buffers freed while this frame was recording: released once it completes */
  vk_buffer **frees;
  int n_frees, cap_frees;
  /* texel-buffer views made for this frame's dispatches: destroyed once it completes */
  VkBufferView *views;
  int n_views, cap_views;
  /* profiling: op of each timestamp pair */
  uint8_t query_op[VK_MAX_DISPATCH];
  uint32_t n_queries;
  bool timing; /* queries were reset when this frame began: timestamps may be written */
} vk_frame;

typedef struct vk_pipeline {
  char name[32];
  uint32_t spec[8];
  int n_spec;
  int n_bindings;
  uint32_t texel_mask; /* bit i: binding i is an RGBA32F storage texel buffer (else a buffer) */
  VkShaderModule module;
  VkPipeline pipeline;
} vk_pipeline;

typedef struct vk_backend {
  porta_backend base; /* first: the core sees a porta_backend */
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem_props;
  uint32_t device_memory_type, staging_memory_type;
  VkDeviceSize alignment; /* sub-allocation granule: ≥ minStorageBufferOffsetAlignment */
  VkDeviceSize max_range; /* maxStorageBufferRange */
  VkDeviceSize block_bytes;
  VkDeviceSize max_allocation;        /* maxMemoryAllocationSize (Vulkan 1.1 maintenance3) */
  uint32_t wg;                        /* work-group size for 1-D shaders (power of two) */
  int gemm_variant;                   /* VK_GEMM_*: $PORTA_VULKAN_GEMM, else AUTO */
  uint32_t subgroup_size;             /* power of two ≤ wg (1 when unknown) */
  bool subgroup_arith;                /* subgroup arithmetic in compute shaders: the *_sg shaders */
  int row_mode;                       /* VK_ROWS_*: $PORTA_VULKAN_ROWS, else AUTO */
  int adamw_mode;                     /* VK_ADAMW_*: AUTO unless the self-test forces one */
  int gemm_variant_env, row_mode_env; /* as read at creation (path_force(-1) restores them) */
  vk_block *blocks;
  int n_blocks, cap_blocks;
  vk_buffer *dummy;   /* bound where a shader's optional input is absent */
  vk_buffer *scratch; /* grown on demand: partial sums, embedding links */
  VkCommandPool command_pool;
  vk_frame frames[VK_FRAMES];
  int cur; /* index of the frame being recorded */
  /* pipelines */
  VkPipelineCache pipeline_cache;
  char pipeline_cache_path[1024];
  bool pipeline_cache_dirty;
  VkDescriptorSetLayout set_layouts[VK_MAX_BINDINGS + 1]; /* by binding count */
  VkPipelineLayout pipeline_layouts[VK_MAX_BINDINGS + 1];
  /* layouts with texel-buffer bindings, by binding count and mask (bit i: binding i), made on
   * first use */
  VkDescriptorSetLayout texel_set_layouts[VK_MAX_TEXEL_BINDINGS + 1][1 << VK_MAX_TEXEL_BINDINGS];
  VkPipelineLayout texel_pipeline_layouts[VK_MAX_TEXEL_BINDINGS + 1][1 << VK_MAX_TEXEL_BINDINGS];
  bool texel_ok; /* RGBA32F storage texel buffers supported */
  vk_pipeline pipelines[VK_MAX_PIPELINES];
  int n_pipelines;
  /* validation: counted by the debug messenger */
  int validation_errors, validation_warnings;
  /* profiling */
  bool profiling;
  float timestamp_period; /* ns per tick */
  uint64_t timestamp_mask;
  uint64_t prof_ns[PORTA_OP_COUNT], prof_calls[PORTA_OP_COUNT];
} vk_backend;

/* One storage-buffer binding of a dispatch: `count` elements from ref are accessed. */
typedef struct vk_bind {
  porta_ref ref;
  uint64_t count;
} vk_bind;

/* ---- vk_device.c ---- */
const char *vk_result_name(VkResult r);
/* Formats into be->err; VK_ERROR_OUT_OF_*_MEMORY maps to PORTA_ERR_DEVICE_MEMORY. */
porta_status vk_fail(vk_backend *be, porta_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
porta_status vk_fail_result(vk_backend *be, VkResult r, const char *what);
/* Validation messages seen so far (PORTA_VULKAN_VALIDATION=1); for tests. */
int porta_vulkan_validation_errors(const porta_backend *be);
int porta_vulkan_validation_warnings(const porta_backend *be);
/* The pipeline cache file of this backend ("" when none). */
const char *porta_vulkan_pipeline_cache_path(const porta_backend *be);

/* ---- vk_memory.c ---- */
porta_status vk_memory_init(vk_backend *be);
/* A VkBuffer over its own fresh memory (memory type with `want`, else `fallback` flags). */
porta_status vk_make_buffer(vk_backend *be, VkDeviceSize size, VkBufferUsageFlags usage,
                            VkMemoryPropertyFlags want, VkMemoryPropertyFlags fallback,
                            VkBuffer *buf, VkDeviceMemory *mem);
void vk_memory_destroy(vk_backend *be);
porta_status vk_buffer_alloc(vk_backend *be, size_t bytes, vk_buffer **out);
void vk_buffer_release(vk_backend *be, vk_buffer *buf); /* now: the caller knows it is idle */
porta_status vk_scratch(vk_backend *be, size_t bytes, vk_buffer **out);
VkBuffer vk_buffer_handle(vk_backend *be, const vk_buffer *buf);
porta_status vk_alloc(porta_backend *base, size_t bytes, void **out);
void vk_free(porta_backend *base, void *buf);
porta_status vk_upload(porta_backend *base, void *buf, size_t offset, const void *src,
                       size_t bytes);
porta_status vk_download(porta_backend *base, void *buf, size_t offset, void *dst, size_t bytes);
porta_status vk_copy(porta_backend *base, void *dst, size_t dst_offset, void *src,
                     size_t src_offset, size_t bytes);
porta_status vk_fill(porta_backend *base, porta_ref out, int64_t n, float value);

/* ---- vk_exec.c ---- */
porta_status vk_exec_init(vk_backend *be);
void vk_exec_destroy(vk_backend *be);
/* The current frame, begun, with room for one more command (submits a full one first). */
porta_status vk_frame_for_command(vk_backend *be, vk_frame **out);
/* Staging space of `bytes` (≤ VK_STAGING_BYTES) in the current frame; may submit and move on. */
porta_status vk_frame_for_staging(vk_backend *be, VkDeviceSize bytes, vk_frame **out,
                                  VkDeviceSize *staging_offset);
void vk_barrier(vk_backend *be, vk_frame *f);
porta_status vk_submit(vk_backend *be);                /* current frame, no wait */
porta_status vk_wait_frame(vk_backend *be, int index); /* wait + recycle one frame */
porta_status vk_synchronize(porta_backend *base);
void vk_defer_free(vk_backend *be, vk_buffer *buf);
/* Records one dispatch: bindings, push words (after the bindings' element offsets). */
porta_status vk_dispatch(vk_backend *be, porta_op op, vk_pipeline *pipe, const vk_bind *binds,
                         int n_binds, const void *push, size_t push_bytes, uint32_t gx, uint32_t gy,
                         uint32_t gz);
void vk_profile_enable(porta_backend *base, bool on);
porta_status vk_profile_read(porta_backend *base, uint64_t ns_per_op[PORTA_OP_COUNT],
                             uint64_t calls_per_op[PORTA_OP_COUNT]);
void vk_count_call(vk_backend *be, porta_op op);

/* ---- vk_pipeline.c ---- */
porta_status vk_pipeline_init(vk_backend *be);
void vk_pipeline_destroy(vk_backend *be);
/* The pipeline of shader `name` ("gemm_tiled") with these specialisation constants (ids 0..). */
porta_status vk_pipeline_get(vk_backend *be, const char *name, int n_bindings, const uint32_t *spec,
                             int n_spec, vk_pipeline **out);
/* The same for a shader of n_bindings (≤ VK_MAX_TEXEL_BINDINGS) whose bindings in texel_mask
 * (bit i: binding i) are RGBA32F storage texel buffers. */
porta_status vk_pipeline_get_texel(vk_backend *be, const char *name, int n_bindings,
                                   uint32_t texel_mask, const uint32_t *spec, int n_spec,
                                   vk_pipeline **out);
VkPipelineLayout vk_pipeline_layout(const vk_backend *be, const vk_pipeline *pipe);
/* How a row shader covers `rows` rows of n elements: work-group size and layout. */
typedef struct vk_row_plan {
  uint32_t wg;
  bool lanes;    /* one invocation per row (else one work group per row) */
  bool subgroup; /* the <name>_sg variant (subgroup reductions) */
} vk_row_plan;
vk_row_plan vk_row_plan_for(const vk_backend *be, uint64_t rows, uint64_t n);
/* Whether row shaders reduce through subgroup arithmetic (the device has it, no forced shared
 * layout, the self-test did not switch it off). */
bool vk_rows_subgroup(const vk_backend *be);
/* The backend's fast paths (porta_backend_ops.paths / path_force). */
int vk_paths(porta_backend *base, porta_backend_path *out, int capacity);
porta_status vk_path_force(porta_backend *base, int i);
/* The pipeline of row shader `name` for this plan (spec constants WG, ROW_LANES). */
porta_status vk_pipe_rows(vk_backend *be, const char *name, int n_bindings, vk_row_plan plan,
                          vk_pipeline **out);
/* Work groups covering `rows` rows under this plan. */
void vk_groups_rows(vk_row_plan plan, uint64_t rows, uint32_t *gx, uint32_t *gy);
VkDescriptorSetLayout vk_set_layout(const vk_backend *be, const vk_pipeline *pipe);

/* ---- vk_ops*.c ---- */
extern const porta_backend_ops vk_backend_ops;

/* vk_gemm.c: the GEMM entry, and whether its arguments fit this device (supports()). */
porta_status vk_gemm(porta_backend *base, const porta_gemm_args *g);
bool vk_gemm_supported(vk_backend *be, const porta_gemm_args *g);
void vk_backend_destroy(porta_backend *base);
/* The pipeline of a 1-D shader (spec constant 0 = be->wg). */
porta_status vk_pipe_1d(vk_backend *be, const char *name, int n_bindings, vk_pipeline **out);
porta_status vk_ops_nn_softmax(porta_backend *base, const porta_softmax_args *a);
porta_status vk_ops_nn_softmax_bwd(porta_backend *base, const porta_softmax_bwd_args *a);
porta_status vk_ops_nn_layernorm(porta_backend *base, const porta_layernorm_args *a);
porta_status vk_ops_nn_layernorm_bwd(porta_backend *base, const porta_layernorm_bwd_args *a);
porta_status vk_ops_nn_embedding(porta_backend *base, const porta_embedding_args *a);
porta_status vk_ops_nn_embedding_bwd(porta_backend *base, const porta_embedding_bwd_args *a);
porta_status vk_ops_nn_dropout(porta_backend *base, const porta_dropout_args *a);
porta_status vk_ops_nn_cross_entropy(porta_backend *base, const porta_cross_entropy_args *a);
porta_status vk_ops_nn_cross_entropy_bwd(porta_backend *base,
                                         const porta_cross_entropy_bwd_args *a);
porta_status vk_ops_nn_adamw(porta_backend *base, const porta_adamw_args *a);
porta_status vk_ops_nn_sumsq(porta_backend *base, const porta_sumsq_args *a);
/* Work groups for n invocations of `wg` each, spread over x and y (x ≤ 65535). */
void vk_groups_1d(uint64_t n, uint32_t wg, uint32_t *gx, uint32_t *gy);
/* Largest element count one binding may span (maxStorageBufferRange less alignment slack). */
uint64_t vk_max_elems(const vk_backend *be);
/* ref's first element is 16-byte aligned in its VkBuffer: bound as vec4s, its element offset in
 * the shader (see vk_dispatch) is then a multiple of 4. */
bool vk_aligned16(porta_ref r);

#endif /* PORTA_VK_INTERNAL_H */
