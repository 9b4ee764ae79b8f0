/* OpenCL-specific hooks for tests, benchmarks and `porta devices`, beyond the backend vtable.
 * No OpenCL types here: callers need not include CL headers. */
#ifndef PORTA_OPENCL_BACKEND_H
#define PORTA_OPENCL_BACKEND_H

#include <stdbool.h>

#include "backend/backend.h"

/* How GEMM picks its implementation (PORTA_OPENCL_GEMM=auto|clblast|own|own_cpu|own_gpu). */
typedef enum porta_opencl_gemm_mode {
  PORTA_OPENCL_GEMM_AUTO = 0, /* measured once per device and shape class, cached on disk */
  PORTA_OPENCL_GEMM_CLBLAST,
  PORTA_OPENCL_GEMM_OWN,     /* our kernels, variant by device type (CPU-shaped on CPUs) */
  PORTA_OPENCL_GEMM_OWN_CPU, /* kernels/gemm_cpu.cl */
  PORTA_OPENCL_GEMM_OWN_GPU, /* kernels/gemm_gpu.cl */
} porta_opencl_gemm_mode;

typedef enum porta_opencl_gemm_impl {
  PORTA_OPENCL_IMPL_UNDECIDED = 0,
  PORTA_OPENCL_IMPL_CLBLAST,
  PORTA_OPENCL_IMPL_OWN_CPU,
  PORTA_OPENCL_IMPL_OWN_GPU,
} porta_opencl_gemm_impl;

const char *porta_opencl_gemm_impl_name(porta_opencl_gemm_impl impl);
/* Parses a PORTA_OPENCL_GEMM value; false when unknown. */
bool porta_opencl_gemm_mode_parse(const char *text, porta_opencl_gemm_mode *out);

/* be must be an OpenCL backend. Overrides the mode chosen at creation (from the environment). */
void porta_opencl_set_gemm_mode(porta_backend *be, porta_opencl_gemm_mode mode);
/* The implementation GEMM uses for this class (measuring it now under AUTO when not yet known). */
porta_status porta_opencl_gemm_choice(porta_backend *be, bool trans_a, bool trans_b, bool batched,
                                      porta_opencl_gemm_impl *out);
/* Programs this backend loaded from the disk cache so far. */
int porta_opencl_program_cache_hits(porta_backend *be);
/* The cache directory in use ("" when none). */
const char *porta_opencl_cache_dir(porta_backend *be);
/* Builds an OpenCL C source string (through the disk cache) and releases the program: for
 * tests of build errors. */
porta_status porta_opencl_build_source(porta_backend *be, const char *label, const char *source,
                                       const char *options);

#endif /* PORTA_OPENCL_BACKEND_H */
