/* The OpenCL backend: device discovery, creation (one context + one in-order queue per backend),
 * capabilities and the vtable. Buffers are in ocl_memory.c, kernel launches in ocl_launch.c,
 * profiling in ocl_profile.c, the ops in ocl_ops.c and ocl_gemm.c, the program cache in
 * ocl_program.c. Targets OpenCL 1.2 with no vendor extension. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/ocl_internal.h"

/* ---- device discovery ------------------------------------------------------------------------ */

typedef struct ocl_device_ref {
  cl_platform_id platform;
  cl_device_id device;
} ocl_device_ref;

/* Every device of every platform, in platform order. *refs is malloc'd (NULL when none). */
static porta_status enumerate_devices(ocl_device_ref **refs, int *count, char *err,
                                      size_t err_size) {
  *refs = NULL;
  *count = 0;
  cl_uint num_platforms = 0;
  cl_int rc = clGetPlatformIDs(0, NULL, &num_platforms);
  if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (rc == CL_SUCCESS && num_platforms == 0)) {
    if (err && err_size)
      snprintf(err, err_size,
               "no OpenCL platform found (clGetPlatformIDs: %s (%d)): no OpenCL driver (ICD) is "
               "installed; install one for your GPU, or pocl-opencl-icd for the CPU",
               ocl_error_name(rc == CL_SUCCESS ? -1001 : rc), rc == CL_SUCCESS ? -1001 : (int)rc);
    return PORTA_ERR_NO_DEVICE;
  }
  if (rc != CL_SUCCESS) {
    if (err && err_size)
      snprintf(err, err_size, "clGetPlatformIDs failed: %s (%d)", ocl_error_name(rc), (int)rc);
    return PORTA_ERR_NO_DEVICE;
  }
  cl_platform_id *platforms = calloc(num_platforms, sizeof *platforms);
  if (!platforms) return PORTA_ERR_OUT_OF_MEMORY;
  clGetPlatformIDs(num_platforms, platforms, NULL);
  int total = 0, cap = 0;
  ocl_device_ref *list = NULL;
  for (cl_uint p = 0; p < num_platforms; p++) {
    cl_uint n = 0;
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS || n == 0)
      continue; /* CL_DEVICE_NOT_FOUND: a platform without devices */
    cl_device_id *devs = calloc(n, sizeof *devs);
    if (!devs || clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n, devs, NULL) != CL_SUCCESS) {
      free(devs);
      continue;
    }
    if (total + (int)n > cap) {
      cap = total + (int)n;
      ocl_device_ref *grown = realloc(list, (size_t)cap * sizeof *list);
      if (!grown) {
        free(devs);
        free(list);
        free(platforms);
        return PORTA_ERR_OUT_OF_MEMORY;
      }
      list = grown;
    }
    for (cl_uint d = 0; d < n; d++) list[total++] = (ocl_device_ref){platforms[p], devs[d]};
    free(devs);
  }
  free(platforms);
  if (total == 0) {
    free(list);
    if (err && err_size)
      snprintf(err, err_size, "OpenCL platforms were found (%u) but none has a device",
               (unsigned)num_platforms);
    return PORTA_ERR_NO_DEVICE;
  }
  *refs = list;
  *count = total;
  return PORTA_OK;
}

/* A device string, truncated to fit `out` (the driver refuses a buffer that is too small). */
static void device_string(cl_device_id dev, cl_device_info what, char *out, size_t size) {
  out[0] = '\0';
  size_t len = 0;
  if (clGetDeviceInfo(dev, what, 0, NULL, &len) != CL_SUCCESS || len == 0) return;
  char *full = malloc(len + 1);
  if (full && clGetDeviceInfo(dev, what, len, full, NULL) == CL_SUCCESS) {
    full[len] = '\0';
    snprintf(out, size, "%s", full);
  }
  free(full);
}

static void fill_info(const ocl_device_ref *ref, int index, porta_device_info *info) {
  memset(info, 0, sizeof *info);
  info->backend = PORTA_BACKEND_OPENCL;
  info->index = index;
  device_string(ref->device, CL_DEVICE_NAME, info->name, sizeof info->name);
  device_string(ref->device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
  device_string(ref->device, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
  device_string(ref->device, CL_DEVICE_VERSION, info->api_version, sizeof info->api_version);
  cl_ulong global_mem = 0, max_alloc = 0, local_mem = 0;
  cl_uint units = 0;
  size_t max_wg = 0;
  cl_device_type type = 0;
  clGetDeviceInfo(ref->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem, NULL);
  clGetDeviceInfo(ref->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
  clGetDeviceInfo(ref->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
  clGetDeviceInfo(ref->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
  clGetDeviceInfo(ref->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
  clGetDeviceInfo(ref->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  info->global_mem_bytes = global_mem;
  info->max_alloc_bytes = max_alloc;
  info->compute_units = (int)units;
  info->max_workgroup_size = (int)max_wg;
  info->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
  cl_bool unified = CL_TRUE; /* deprecated in OpenCL 2.0 but still answered */
  clGetDeviceInfo(ref->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
  info->is_discrete = (type & CL_DEVICE_TYPE_GPU) != 0 && !unified;
  size_t ext_size = 0;
  if (clGetDeviceInfo(ref->device, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_size) == CL_SUCCESS &&
      ext_size > 0) {
    char *ext = malloc(ext_size + 1);
    if (ext &&
        clGetDeviceInfo(ref->device, CL_DEVICE_EXTENSIONS, ext_size, ext, NULL) == CL_SUCCESS) {
      ext[ext_size] = '\0';
      info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    }
    free(ext);
  }
  char platform[128] = "", c_version[64] = "";
  clGetPlatformInfo(ref->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
  device_string(ref->device, CL_DEVICE_OPENCL_C_VERSION, c_version, sizeof c_version);
  snprintf(info->extra, sizeof info->extra, "platform: %s; %s; local memory %llu KiB", platform,
           c_version, (unsigned long long)(local_mem / 1024));
}

porta_status porta_opencl_list_devices(porta_device_info *infos, int capacity, int *count,
                                       char *err, size_t err_size) {
  if (count) *count = 0;
  ocl_device_ref *refs = NULL;
  int n = 0;
  porta_status st = enumerate_devices(&refs, &n, err, err_size);
  if (st != PORTA_OK) return st;
  for (int i = 0; i < n && i < capacity; i++)
    if (infos) fill_info(&refs[i], i, &infos[i]);
  if (count) *count = n;
  free(refs);
  return PORTA_OK;
}

/* ---- creation and destruction ---------------------------------------------------------------- */

static const porta_backend_ops ocl_ops;

static void ocl_destroy(porta_backend *base) {
  ocl_backend *be = (ocl_backend *)base;
  if (!be) return;
  if (be->queue) clFinish(be->queue);
  for (int i = 0; i < be->pending_count; i++) clReleaseEvent(be->pending[i].event);
  for (int i = 0; i < be->kernel_count; i++) clReleaseKernel(be->kernels[i].kernel);
  for (int i = 0; i < OCL_PROG_COUNT; i++)
    if (be->programs[i]) clReleaseProgram(be->programs[i]);
  if (be->scratch) clReleaseMemObject(be->scratch);
  if (be->queue) clReleaseCommandQueue(be->queue);
  if (be->context) clReleaseContext(be->context);
  free(be);
}

/* OpenCL 1.2 or newer ("OpenCL 1.2 ...", "OpenCL 3.0 ..."). */
static bool version_at_least_1_2(const char *version) {
  int major = 0, minor = 0;
  if (sscanf(version, "OpenCL %d.%d", &major, &minor) != 2) return false;
  return major > 1 || (major == 1 && minor >= 2);
}

porta_status porta_opencl_backend_create(porta_backend **out, int device, char *err,
                                         size_t err_size) {
  *out = NULL;
  if (err && err_size) err[0] = '\0';
  porta_opencl_gemm_mode mode = PORTA_OPENCL_GEMM_AUTO;
  const char *gemm_env = getenv("PORTA_OPENCL_GEMM");
  if (gemm_env && *gemm_env && !porta_opencl_gemm_mode_parse(gemm_env, &mode)) {
    if (err && err_size)
      snprintf(err, err_size,
               "PORTA_OPENCL_GEMM='%s' is not one of auto, clblast, own, own_cpu, own_gpu",
               gemm_env);
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  if (device < 0) {
    const char *env = getenv("PORTA_DEVICE");
    char *end = NULL;
    long v = (env && *env) ? strtol(env, &end, 10) : 0;
    if (env && *env && (*end != '\0' || v < 0 || v > 1000000)) {
      if (err && err_size)
        snprintf(err, err_size, "PORTA_DEVICE='%s' is not a device index (0, 1, ...)", env);
      return PORTA_ERR_INVALID_ARGUMENT;
    }
    device = (int)v;
  }
  ocl_device_ref *refs = NULL;
  int n = 0;
  porta_status st = enumerate_devices(&refs, &n, err, err_size);
  if (st != PORTA_OK) return st;
  if (device < 0 || device >= n) {
    if (err && err_size) {
      int len =
          snprintf(err, err_size, "OpenCL device %d does not exist; %d device%s found:", device, n,
                   n == 1 ? "" : "s");
      for (int i = 0; i < n && len > 0 && (size_t)len < err_size; i++) {
        char name[256];
        device_string(refs[i].device, CL_DEVICE_NAME, name, sizeof name);
        len += snprintf(err + len, err_size - (size_t)len, " %d: '%s'%s", i, name,
                        i + 1 < n ? "," : "");
      }
    }
    free(refs);
    return PORTA_ERR_NO_DEVICE;
  }
  ocl_backend *be = calloc(1, sizeof *be);
  if (!be) {
    free(refs);
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  be->base.ops = &ocl_ops;
  be->base.kind = PORTA_BACKEND_OPENCL;
  be->platform = refs[device].platform;
  be->device = refs[device].device;
  fill_info(&refs[device], device, &be->base.info);
  free(refs);
  be->gemm_mode = mode;
  be->gemm_mode_env = mode;

  if (!version_at_least_1_2(be->base.info.api_version)) {
    if (err && err_size)
      snprintf(err, err_size, "OpenCL device %d '%s' reports '%s'; porta needs OpenCL 1.2", device,
               be->base.info.name, be->base.info.api_version);
    free(be);
    return PORTA_ERR_UNSUPPORTED;
  }
  cl_int rc = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)be->platform, 0};
  be->context = clCreateContext(props, 1, &be->device, NULL, NULL, &rc);
  if (rc == CL_SUCCESS)
    be->queue = clCreateCommandQueue(be->context, be->device, CL_QUEUE_PROFILING_ENABLE, &rc);
  if (rc != CL_SUCCESS) {
    ocl_fail_cl(be, rc, be->context ? "clCreateCommandQueue" : "clCreateContext");
    if (err && err_size) snprintf(err, err_size, "%s", be->base.err);
    ocl_destroy(&be->base);
    return PORTA_ERR_BACKEND;
  }
  cl_ulong local_mem = 0;
  clGetDeviceInfo(be->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
  be->local_mem = (size_t)local_mem;
  be->max_workgroup = (size_t)be->base.info.max_workgroup_size;
  size_t item_sizes[3] = {1, 1, 1};
  clGetDeviceInfo(be->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_sizes, item_sizes, NULL);
  /* Work-group sizes: powers of two within both limits. GPUs: 256 for both. CPU drivers run a
   * group's work-items as loops (vectorised across ≈16 items), so elementwise launches get 16
   * and row reductions 1, i.e. one work-item walks a whole row without barriers (measured on
   * PoCL: softmax over 49152 rows of 128 took 268 ms with 256, 53 ms with 16, 43 ms with 1;
   * GELU over 6.3 M elements 16 ms with 16, 58 ms with 1). */
  int row_max = be->base.info.is_cpu ? 1 : 256, elem_max = be->base.info.is_cpu ? 16 : 256;
  be->row_wg = 1;
  while ((size_t)be->row_wg * 2 <= be->max_workgroup && (size_t)be->row_wg * 2 <= item_sizes[0] &&
         be->row_wg < row_max)
    be->row_wg *= 2;
  be->elem_wg = 1;
  while ((size_t)be->elem_wg * 2 <= be->max_workgroup && (size_t)be->elem_wg * 2 <= item_sizes[0] &&
         be->elem_wg < elem_max)
    be->elem_wg *= 2;
  /* The GPU GEMM tile: 16×16 threads need 256 work-items and 2·16·64 floats of local memory. */
  be->gemm_gpu_tile = (be->max_workgroup >= 256 && item_sizes[0] >= 16 && item_sizes[1] >= 16 &&
                       be->local_mem >= 16384)
                          ? 16
                          : 8;
  porta_cache_dir(be->cache_dir, sizeof be->cache_dir);
  *out = &be->base;
  return PORTA_OK;
}

/* ---- capabilities ---------------------------------------------------------------------------- */

static bool ocl_supports(porta_backend *base, porta_op op, const void *args) {
  (void)base;
  if (op < 0 || op >= PORTA_OP_COUNT) return false;
  if (!args) return true;
  /* Kernels index with 32-bit ints: every element count must fit. */
  switch (op) {
  case PORTA_OP_GEMM: {
    const porta_gemm_args *g = args;
    return ocl_fits_int(g->m) && ocl_fits_int(g->n) && ocl_fits_int(g->k) && ocl_fits_int(g->batch);
  }
  case PORTA_OP_UNARY:
    return ocl_fits_int(((const porta_unary_args *)args)->n);
  case PORTA_OP_UNARY_BWD:
    return ocl_fits_int(((const porta_unary_bwd_args *)args)->n);
  case PORTA_OP_DROPOUT:
    return ocl_fits_int(((const porta_dropout_args *)args)->n);
  case PORTA_OP_ADAMW:
    return ocl_fits_int(((const porta_adamw_args *)args)->n);
  case PORTA_OP_SUMSQ:
    return ocl_fits_int(((const porta_sumsq_args *)args)->n);
  default:
    return true;
  }
}

int porta_opencl_program_cache_hits(porta_backend *base) {
  return ((ocl_backend *)base)->program_cache_hits;
}

const char *porta_opencl_cache_dir(porta_backend *base) { return ((ocl_backend *)base)->cache_dir; }

static const porta_backend_ops ocl_ops = {
    .destroy = ocl_destroy,
    .alloc = ocl_alloc,
    .free = ocl_free,
    .upload = ocl_upload,
    .download = ocl_download,
    .copy = ocl_copy,
    .fill = ocl_fill,
    .synchronize = ocl_synchronize,
    .supports = ocl_supports,
    .gemm = ocl_gemm,
    .binary = ocl_binary,
    .unary = ocl_unary,
    .unary_bwd = ocl_unary_bwd,
    .reduce = ocl_reduce,
    .copy_strided = ocl_copy_strided,
    .softmax = ocl_softmax,
    .softmax_bwd = ocl_softmax_bwd,
    .layernorm = ocl_layernorm,
    .layernorm_bwd = ocl_layernorm_bwd,
    .embedding = ocl_embedding,
    .embedding_bwd = ocl_embedding_bwd,
    .dropout = ocl_dropout,
    .cross_entropy = ocl_cross_entropy,
    .cross_entropy_bwd = ocl_cross_entropy_bwd,
    .adamw = ocl_adamw,
    .sumsq = ocl_sumsq,
    .profile_enable = ocl_profile_enable,
    .profile_read = ocl_profile_read,
    .bench_fma = ocl_bench_fma,
    .paths = ocl_paths,
    .path_force = ocl_path_force,
};
