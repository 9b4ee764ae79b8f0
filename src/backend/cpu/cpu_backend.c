/* The CPU backend: host buffers, the vtable (each op wrapped by the profiler), device info.
 * The ops themselves live in cpu_gemm.c, cpu_elementwise.c, cpu_nn.c and cpu_loss_optim.c. */
#include "backend/cpu/cpu_backend.h"

#include <cblas.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- argument checks shared by the ops ---------------------------------------------------- */

porta_status porta_cpu_check_ref(porta_cpu_backend *cpu, const char *op, const char *name,
                                 porta_ref r, int64_t extent) {
  if (extent == 0) return PORTA_OK;
  if (extent < 0)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu %s: %s has a negative size or stride", op, name);
  if (!r.buf)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT, "cpu %s: %s is NULL", op,
                              name);
  const porta_cpu_buffer *b = r.buf;
  size_t elems = b->bytes / sizeof(float);
  if (r.off > elems || (uint64_t)extent > elems - r.off)
    return porta_backend_fail(&cpu->base, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu %s: %s needs elements [%zu, %zu) but its buffer holds %zu", op,
                              name, r.off, r.off + (size_t)extent, elems);
  return PORTA_OK;
}

int64_t porta_cpu_extent4(const int64_t shape[PORTA_MAX_DIMS],
                          const int64_t stride[PORTA_MAX_DIMS]) {
  int64_t extent = 1;
  for (int d = 0; d < PORTA_MAX_DIMS; d++) {
    if (shape[d] < 0 || stride[d] < 0) return -1;
    if (shape[d] == 0) return 0;
    extent += (shape[d] - 1) * stride[d];
  }
  return extent;
}

/* ---- buffers ------------------------------------------------------------------------------ */

static porta_status cpu_alloc(porta_backend *be, size_t bytes, void **out) {
  *out = NULL;
  /* A request larger than the machine's memory fails here rather than in malloc, which under
   * AddressSanitizer would abort the process instead of returning NULL. */
  if (bytes > be->info.global_mem_bytes || bytes > SIZE_MAX - 64)
    return porta_backend_fail(be, PORTA_ERR_DEVICE_MEMORY,
                              "cpu: cannot allocate %zu bytes (the machine has %llu bytes)", bytes,
                              (unsigned long long)be->info.global_mem_bytes);
  porta_cpu_buffer *b = malloc(sizeof *b);
  size_t rounded = bytes == 0 ? 64 : (bytes + 63) & ~(size_t)63;
  void *data = NULL;
  size_t mapped = 0;
#ifdef MAP_ANONYMOUS
  /* Large buffers are mappings of their own, so a buffer the core's allocator gives back returns
   * its memory to the system at once; from malloc's heap it would stay in the process (glibc
   * serves blocks under its adaptive mmap threshold, up to 32 MiB, from heaps it rarely shrinks),
   * and the allocator's cache policy would not bound the resident set. */
  if (b && rounded >= PORTA_CPU_MAP_BYTES) {
    data = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED)
      data = NULL;
    else
      mapped = rounded;
  }
#endif
  if (b && !data) data = aligned_alloc(64, rounded);
  if (!data) {
    free(b);
    return porta_backend_fail(be, PORTA_ERR_DEVICE_MEMORY,
                              "cpu: out of memory allocating %zu bytes", bytes);
  }
  b->data = data;
  b->bytes = bytes;
  b->mapped = mapped;
  *out = b;
  return PORTA_OK;
}

static void cpu_free(porta_backend *be, void *buf) {
  (void)be;
  porta_cpu_buffer *b = buf;
  if (!b) return;
#ifdef MAP_ANONYMOUS
  if (b->mapped)
    munmap(b->data, b->mapped);
  else
#endif
    free(b->data);
  free(b);
}

static porta_status check_bytes(porta_backend *be, const char *what, const void *buf, size_t offset,
                                size_t bytes) {
  if (!buf) return porta_backend_fail(be, PORTA_ERR_INVALID_ARGUMENT, "cpu %s: NULL buffer", what);
  const porta_cpu_buffer *b = buf;
  if (offset > b->bytes || bytes > b->bytes - offset)
    return porta_backend_fail(be, PORTA_ERR_INVALID_ARGUMENT,
                              "cpu %s: bytes [%zu, %zu) outside a buffer of %zu bytes", what,
                              offset, offset + bytes, b->bytes);
  return PORTA_OK;
}

static porta_status cpu_upload(porta_backend *be, void *buf, size_t offset, const void *src,
                               size_t bytes) {
  porta_status st = check_bytes(be, "upload", buf, offset, bytes);
  if (st) return st;
  if (bytes) memcpy((char *)((porta_cpu_buffer *)buf)->data + offset, src, bytes);
  return PORTA_OK;
}

static porta_status cpu_download(porta_backend *be, void *buf, size_t offset, void *dst,
                                 size_t bytes) {
  porta_status st = check_bytes(be, "download", buf, offset, bytes);
  if (st) return st;
  if (bytes) memcpy(dst, (const char *)((porta_cpu_buffer *)buf)->data + offset, bytes);
  return PORTA_OK;
}

static porta_status cpu_copy(porta_backend *be, void *dst, size_t dst_offset, void *src,
                             size_t src_offset, size_t bytes) {
  porta_status st = check_bytes(be, "copy (destination)", dst, dst_offset, bytes);
  if (!st) st = check_bytes(be, "copy (source)", src, src_offset, bytes);
  if (st) return st;
  /* memmove: source and destination may be ranges of one buffer. */
  if (bytes)
    memmove((char *)((porta_cpu_buffer *)dst)->data + dst_offset,
            (const char *)((porta_cpu_buffer *)src)->data + src_offset, bytes);
  return PORTA_OK;
}

static porta_status cpu_fill(porta_backend *be, porta_ref out, int64_t n, float value) {
  return porta_cpu_fill((porta_cpu_backend *)be, out, n, value);
}

static porta_status cpu_bench_fma(porta_backend *be, porta_ref out, int64_t n, int iters) {
  return porta_cpu_bench_fma((porta_cpu_backend *)be, out, n, iters);
}

static porta_status cpu_synchronize(porta_backend *be) {
  (void)be; /* every op has finished when it returns */
  return PORTA_OK;
}

static bool cpu_supports(porta_backend *be, porta_op op, const void *args) {
  (void)be;
  (void)args;
  return op >= 0 && op < PORTA_OP_COUNT;
}

/* ---- ops, each timed when profiling is on -------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* entry_<name>: the vtable entry for porta_cpu_<name>, with the NULL check and the timer. */
#define CPU_ENTRY(name, op_id, args_type)                                                          \
  static porta_status entry_##name(porta_backend *be, const args_type *a) {                        \
    porta_cpu_backend *cpu = (porta_cpu_backend *)be;                                              \
    if (!a)                                                                                        \
      return porta_backend_fail(be, PORTA_ERR_INVALID_ARGUMENT, "cpu %s: NULL arguments",          \
                                porta_op_name(op_id));                                             \
    if (!cpu->profiling) return porta_cpu_##name(cpu, a);                                          \
    uint64_t start = now_ns();                                                                     \
    porta_status st = porta_cpu_##name(cpu, a);                                                    \
    cpu->ns_per_op[op_id] += now_ns() - start;                                                     \
    cpu->calls_per_op[op_id]++;                                                                    \
    return st;                                                                                     \
  }

CPU_ENTRY(gemm, PORTA_OP_GEMM, porta_gemm_args)
CPU_ENTRY(binary, PORTA_OP_BINARY, porta_binary_args)
CPU_ENTRY(unary, PORTA_OP_UNARY, porta_unary_args)
CPU_ENTRY(unary_bwd, PORTA_OP_UNARY_BWD, porta_unary_bwd_args)
CPU_ENTRY(reduce, PORTA_OP_REDUCE, porta_reduce_args)
CPU_ENTRY(copy_strided, PORTA_OP_COPY_STRIDED, porta_copy_args)
CPU_ENTRY(softmax, PORTA_OP_SOFTMAX, porta_softmax_args)
CPU_ENTRY(softmax_bwd, PORTA_OP_SOFTMAX_BWD, porta_softmax_bwd_args)
CPU_ENTRY(layernorm, PORTA_OP_LAYERNORM, porta_layernorm_args)
CPU_ENTRY(layernorm_bwd, PORTA_OP_LAYERNORM_BWD, porta_layernorm_bwd_args)
CPU_ENTRY(embedding, PORTA_OP_EMBEDDING, porta_embedding_args)
CPU_ENTRY(embedding_bwd, PORTA_OP_EMBEDDING_BWD, porta_embedding_bwd_args)
CPU_ENTRY(dropout, PORTA_OP_DROPOUT, porta_dropout_args)
CPU_ENTRY(cross_entropy, PORTA_OP_CROSS_ENTROPY, porta_cross_entropy_args)
CPU_ENTRY(cross_entropy_bwd, PORTA_OP_CROSS_ENTROPY_BWD, porta_cross_entropy_bwd_args)
CPU_ENTRY(adamw, PORTA_OP_ADAMW, porta_adamw_args)
CPU_ENTRY(sumsq, PORTA_OP_SUMSQ, porta_sumsq_args)

static void cpu_profile_enable(porta_backend *be, bool on) {
  ((porta_cpu_backend *)be)->profiling = on;
}

static porta_status cpu_profile_read(porta_backend *be, uint64_t ns_per_op[PORTA_OP_COUNT],
                                     uint64_t calls_per_op[PORTA_OP_COUNT]) {
  porta_cpu_backend *cpu = (porta_cpu_backend *)be;
  memcpy(ns_per_op, cpu->ns_per_op, sizeof cpu->ns_per_op);
  memcpy(calls_per_op, cpu->calls_per_op, sizeof cpu->calls_per_op);
  return PORTA_OK;
}

static void cpu_destroy(porta_backend *be) {
  if (!be) return;
  porta_cpu_pool_destroy(((porta_cpu_backend *)be)->pool);
  free(be);
}

/* The self-test's paths: GEMM through cblas (0) or the plain loops (1, the fallback). */
static int cpu_paths(porta_backend *base, porta_backend_path *out, int capacity) {
  porta_cpu_backend *cpu = (porta_cpu_backend *)base;
  const uint32_t gemm = 1u << PORTA_OP_GEMM;
  const porta_backend_path all[2] = {{"gemm.cblas", gemm, true, !cpu->gemm_reference_env, false},
                                     {"gemm.reference", gemm, true, cpu->gemm_reference_env, true}};
  for (int i = 0; i < 2 && i < capacity; i++) out[i] = all[i];
  return 2;
}

static porta_status cpu_path_force(porta_backend *base, int i) {
  porta_cpu_backend *cpu = (porta_cpu_backend *)base;
  if (i < -1 || i > 1) return porta_backend_fail(base, PORTA_ERR_UNSUPPORTED, "cpu: no path %d", i);
  cpu->gemm_reference = i < 0 ? cpu->gemm_reference_env : i == 1;
  return PORTA_OK;
}

static const porta_backend_ops cpu_ops = {
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .synchronize = cpu_synchronize,
    .supports = cpu_supports,
    .gemm = entry_gemm,
    .binary = entry_binary,
    .unary = entry_unary,
    .unary_bwd = entry_unary_bwd,
    .reduce = entry_reduce,
    .copy_strided = entry_copy_strided,
    .softmax = entry_softmax,
    .softmax_bwd = entry_softmax_bwd,
    .layernorm = entry_layernorm,
    .layernorm_bwd = entry_layernorm_bwd,
    .embedding = entry_embedding,
    .embedding_bwd = entry_embedding_bwd,
    .dropout = entry_dropout,
    .cross_entropy = entry_cross_entropy,
    .cross_entropy_bwd = entry_cross_entropy_bwd,
    .adamw = entry_adamw,
    .sumsq = entry_sumsq,
    .profile_enable = cpu_profile_enable,
    .profile_read = cpu_profile_read,
    .bench_fma = cpu_bench_fma,
    .paths = cpu_paths,
    .path_force = cpu_path_force,
};

/* ---- device info and construction ---------------------------------------------------------- */

/* Copies the value of the first "key : value" line of /proc/cpuinfo into out (empty if absent). */
static void cpuinfo_field(const char *key, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  size_t key_len = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, key_len) != 0) continue;
    const char *colon = strchr(line, ':');
    if (!colon) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    snprintf(out, size, "%s", colon);
    out[strcspn(out, "\n")] = '\0';
    break;
  }
  fclose(f);
}

/* Cores this process may run on (its affinity mask, as taskset and cgroups set it). */
static int usable_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (int)online : 1;
}

static void cpu_device_info(porta_device_info *info, int num_threads, bool gemm_reference) {
  memset(info, 0, sizeof *info);
  info->backend = PORTA_BACKEND_CPU;
  info->index = 0;
  char model[200];
  cpuinfo_field("model name", model, sizeof model);
  snprintf(info->name, sizeof info->name, "%s", model[0] ? model : "CPU");
  cpuinfo_field("vendor_id", info->vendor, sizeof info->vendor);
  if (!info->vendor[0]) snprintf(info->vendor, sizeof info->vendor, "unknown");
  const char *blas = openblas_get_config();
  snprintf(info->driver, sizeof info->driver, "%s", blas ? blas : "OpenBLAS");
  snprintf(info->api_version, sizeof info->api_version, "porta cpu (C11, pthreads)");
  long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  info->global_mem_bytes =
      pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : (uint64_t)1 << 32;
  info->max_alloc_bytes = info->global_mem_bytes;
  info->compute_units = usable_cores();
  info->max_workgroup_size = 1;
  info->subgroup_size = 0;
  info->is_cpu = true;
  snprintf(info->extra, sizeof info->extra, "threads=%d gemm=%s", num_threads,
           gemm_reference ? "reference" : "cblas");
}

porta_status porta_cpu_backend_create_ex(porta_backend **out, int device, int num_threads,
                                         bool gemm_reference, char *err, size_t err_size) {
  if (out) *out = NULL;
  porta_status st = PORTA_OK;
  if (!out) {
    st = PORTA_ERR_INVALID_ARGUMENT;
    if (err && err_size) snprintf(err, err_size, "cpu backend: NULL output pointer");
  } else if (device != 0) {
    st = PORTA_ERR_NO_DEVICE;
    if (err && err_size)
      snprintf(err, err_size, "cpu backend: no device %d (the CPU backend has one device, 0)",
               device);
  } else if (num_threads < 0) {
    st = PORTA_ERR_INVALID_ARGUMENT;
    if (err && err_size)
      snprintf(err, err_size, "cpu backend: num_threads is %d (use 0 for all cores)", num_threads);
  }
  if (st) return st;
  porta_cpu_backend *cpu = calloc(1, sizeof *cpu);
  if (!cpu) {
    if (err && err_size) snprintf(err, err_size, "cpu backend: out of host memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  cpu->num_threads = num_threads > 0 ? num_threads : usable_cores();
  if (cpu->num_threads > 1 && porta_cpu_pool_create(&cpu->pool, cpu->num_threads) != PORTA_OK) {
    free(cpu);
    if (err && err_size) snprintf(err, err_size, "cpu backend: out of host memory (thread pool)");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  /* The pool may have started fewer threads than asked (a process limit). */
  cpu->num_threads = porta_cpu_pool_threads(cpu->pool);
  /* GEMM runs on the pool's threads, one OpenBLAS call per block: OpenBLAS's own threads would
   * fight the pool for the cores. This is process-wide (OpenBLAS 0.3.21 has no per-call
   * setting). */
  openblas_set_num_threads(1);
  cpu->gemm_reference = gemm_reference;
  cpu->gemm_reference_env = gemm_reference;
  cpu->base.ops = &cpu_ops;
  cpu->base.kind = PORTA_BACKEND_CPU;
  cpu_device_info(&cpu->base.info, cpu->num_threads, gemm_reference);
  *out = &cpu->base;
  return PORTA_OK;
}

porta_status porta_cpu_backend_create(porta_backend **out, int device, int num_threads, char *err,
                                      size_t err_size) {
  const char *gemm = getenv("PORTA_CPU_GEMM");
  bool reference = false;
  if (gemm && gemm[0]) {
    if (strcmp(gemm, "reference") == 0) {
      reference = true;
    } else if (strcmp(gemm, "cblas") != 0) {
      if (out) *out = NULL;
      if (err && err_size)
        snprintf(err, err_size, "PORTA_CPU_GEMM=%s: expected \"cblas\" or \"reference\"", gemm);
      return PORTA_ERR_INVALID_ARGUMENT;
    }
  }
  return porta_cpu_backend_create_ex(out, device, num_threads, reference, err, err_size);
}

porta_status porta_cpu_list_devices(porta_device_info *infos, int capacity, int *count, char *err,
                                    size_t err_size) {
  (void)err;
  (void)err_size;
  if (count) *count = 1;
  if (infos && capacity > 0) {
    const char *gemm = getenv("PORTA_CPU_GEMM");
    cpu_device_info(&infos[0], usable_cores(), gemm && strcmp(gemm, "reference") == 0);
  }
  return PORTA_OK;
}
