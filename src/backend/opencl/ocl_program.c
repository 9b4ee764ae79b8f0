/* Program builds and the on-disk binary cache.
 *
 * A cache entry is keyed by platform + device name + driver version + OpenCL version + source +
 * build options (FNV-1a 64) and stored as "ocl-<key>.bin" in the cache directory:
 *   "PORTACL1" | u64 payload bytes | u64 payload hash | payload (the device binary)
 * It is written to a temporary file and renamed, so a crash never leaves half an entry; an entry
 * whose size or hash does not match, or that the driver refuses, is ignored and rebuilt. The
 * hash check matters: some drivers crash on a damaged binary rather than returning an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/driver_output.h"
#include "backend/opencl/ocl_internal.h"
/* embedded.h has a slash-star inside a comment, which -Wcomment rejects under -Werror. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "backend/embedded.h"
#pragma GCC diagnostic pop

static const char *const program_files[OCL_PROG_COUNT] = {
    [OCL_PROG_ELEMENTWISE] = "elementwise.cl",
    [OCL_PROG_REDUCE] = "reduce.cl",
    [OCL_PROG_SOFTMAX] = "softmax.cl",
    [OCL_PROG_LAYERNORM] = "layernorm.cl",
    [OCL_PROG_EMBEDDING] = "embedding.cl",
    [OCL_PROG_DROPOUT] = "dropout.cl",
    [OCL_PROG_ADAMW] = "adamw.cl",
    [OCL_PROG_GEMM_CPU] = "gemm_cpu.cl",
    [OCL_PROG_GEMM_GPU] = "gemm_gpu.cl",
    [OCL_PROG_BENCH] = "bench.cl",
};

static const char cache_magic[8] = {'P', 'O', 'R', 'T', 'A', 'C', 'L', '1'};

uint64_t ocl_hash(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static uint64_t hash_str(uint64_t h, const char *s) { return ocl_hash(h, s, strlen(s) + 1); }

/* The payload of a valid cache entry (malloc'd), or NULL. */
static unsigned char *cache_read(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char header[24];
  unsigned char *payload = NULL;
  if (fread(header, 1, sizeof header, f) == sizeof header && memcmp(header, cache_magic, 8) == 0) {
    uint64_t bytes, hash;
    memcpy(&bytes, header + 8, 8);
    memcpy(&hash, header + 16, 8);
    if (bytes > 0 && bytes < ((uint64_t)1 << 31)) {
      payload = malloc((size_t)bytes + 1);
      if (payload && (fread(payload, 1, (size_t)bytes, f) != bytes || fgetc(f) != EOF ||
                      ocl_hash(OCL_HASH_SEED, payload, (size_t)bytes) != hash)) {
        free(payload);
        payload = NULL;
      }
      *size = (size_t)bytes;
    }
  }
  fclose(f);
  return payload;
}

static void cache_write(const char *path, const unsigned char *payload, size_t size) {
  unsigned char *buf = malloc(size + 24);
  if (!buf) return;
  uint64_t bytes = size, hash = ocl_hash(OCL_HASH_SEED, payload, size);
  memcpy(buf, cache_magic, 8);
  memcpy(buf + 8, &bytes, 8);
  memcpy(buf + 16, &hash, 8);
  memcpy(buf + 24, payload, size);
  porta_cache_write(path, buf, size + 24); /* a cache that cannot be written is no error */
  free(buf);
}

static porta_status build_failure(ocl_backend *be, cl_program program, const char *label,
                                  cl_int code) {
  char log[3072] = "";
  size_t log_size = 0;
  clGetProgramBuildInfo(program, be->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &log_size);
  if (log_size == 0 || log_size > sizeof log - 1) {
    /* too long for the buffer: fetch the whole log and keep its start */
    char *full = log_size ? malloc(log_size + 1) : NULL;
    if (full && clGetProgramBuildInfo(program, be->device, CL_PROGRAM_BUILD_LOG, log_size, full,
                                      NULL) == CL_SUCCESS) {
      full[log_size] = '\0';
      snprintf(log, sizeof log, "%s", full);
    }
    free(full);
  }
  return ocl_fail(be, PORTA_ERR_BUILD,
                  "building OpenCL program '%s' failed: %s (%d); build log:\n%s", label,
                  ocl_error_name(code), (int)code, log[0] ? log : "(empty)");
}

/* Loads a cached binary; NULL when absent, damaged or refused by the driver. */
static cl_program load_cached(ocl_backend *be, const char *path, const char *options) {
  size_t size = 0;
  unsigned char *binary = cache_read(path, &size);
  if (!binary) return NULL;
  cl_int bin_status = CL_SUCCESS, err = CL_SUCCESS;
  const unsigned char *bins[1] = {binary};
  cl_program program =
      clCreateProgramWithBinary(be->context, 1, &be->device, &size, bins, &bin_status, &err);
  free(binary);
  if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
    if (program) clReleaseProgram(program);
    return NULL;
  }
  porta_driver_output quiet;
  porta_driver_output_begin(&quiet);
  /* a refused binary is no failure: the source is built instead */
  cl_int built = clBuildProgram(program, 1, &be->device, options, NULL, NULL);
  porta_driver_output_end(&quiet, false);
  if (built != CL_SUCCESS) {
    clReleaseProgram(program);
    return NULL;
  }
  return program;
}

porta_status ocl_program_build(ocl_backend *be, const char *label, const char *source,
                               size_t source_len, const char *options, cl_program *out) {
  *out = NULL;
  char path[1200] = "";
  if (be->cache_dir[0]) {
    char platform[256] = "", version[256] = "", driver[256] = "";
    clGetPlatformInfo(be->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
    clGetDeviceInfo(be->device, CL_DEVICE_VERSION, sizeof version - 1, version, NULL);
    clGetDeviceInfo(be->device, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
    uint64_t key = hash_str(OCL_HASH_SEED, platform);
    key = hash_str(key, be->base.info.name);
    key = hash_str(key, driver);
    key = hash_str(key, version);
    key = hash_str(key, options);
    key = ocl_hash(key, source, source_len);
    snprintf(path, sizeof path, "%s/ocl-%016llx.bin", be->cache_dir, (unsigned long long)key);
    cl_program cached = load_cached(be, path, options);
    if (cached) {
      be->program_cache_hits++;
      *out = cached;
      return PORTA_OK;
    }
  }

  cl_int err = CL_SUCCESS;
  const char *sources[1] = {source};
  cl_program program = clCreateProgramWithSource(be->context, 1, sources, &source_len, &err);
  if (err != CL_SUCCESS) return ocl_fail_cl(be, err, "clCreateProgramWithSource");
  porta_driver_output quiet;
  porta_driver_output_begin(&quiet);
  err = clBuildProgram(program, 1, &be->device, options, NULL, NULL);
  porta_driver_output_end(&quiet, err != CL_SUCCESS);
  if (err != CL_SUCCESS) {
    porta_status st = build_failure(be, program, label, err);
    clReleaseProgram(program);
    return st;
  }
  if (path[0]) {
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) ==
            CL_SUCCESS &&
        size > 0) {
      unsigned char *binary = malloc(size);
      unsigned char *bins[1] = {binary};
      if (binary &&
          clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
        cache_write(path, binary, size);
      free(binary);
    }
  }
  *out = program;
  return PORTA_OK;
}

porta_status ocl_program_get(ocl_backend *be, ocl_program_id id, cl_program *out) {
  if (be->programs[id]) {
    *out = be->programs[id];
    return PORTA_OK;
  }
  const char *name = program_files[id];
  const porta_embedded_file *file = porta_embedded_find(porta_embedded_kernels, name);
  if (!file)
    return ocl_fail(be, PORTA_ERR_NOT_FOUND,
                    "OpenCL kernel source '%s' is not embedded in this build", name);
  char options[256];
  snprintf(options, sizeof options, "-cl-std=CL1.2 -DGPU_TILE_THREADS=%d%s", be->gemm_gpu_tile,
           be->base.info.is_cpu ? " -DPORTA_FAST_ERF=1" : "");
  porta_status st =
      ocl_program_build(be, name, (const char *)file->data, file->size, options, &be->programs[id]);
  if (st != PORTA_OK) return st;
  *out = be->programs[id];
  return PORTA_OK;
}

porta_status porta_opencl_build_source(porta_backend *base, const char *label, const char *source,
                                       const char *options) {
  ocl_backend *be = (ocl_backend *)base;
  cl_program program = NULL;
  porta_status st =
      ocl_program_build(be, label, source, strlen(source), options ? options : "", &program);
  if (program) clReleaseProgram(program);
  return st;
}
