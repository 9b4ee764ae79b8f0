/* GEMM on OpenCL: CLBlast, or our kernels (kernels/gemm_cpu.cl for CPU drivers, kernels/gemm_gpu.cl
 * for GPUs). Which one runs is decided per device and per class (trans_a, trans_b, batched) by a
 * one-time measurement, checked for correctness on the device itself and cached on disk next to
 * the program binaries; PORTA_OPENCL_GEMM=clblast|own|own_cpu|own_gpu forces a choice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clblast_c.h>

#include "backend/driver_output.h"
#include "backend/opencl/ocl_internal.h"
/* embedded.h has a slash-star inside a comment, which -Wcomment rejects under -Werror. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "backend/embedded.h"
#pragma GCC diagnostic pop

const char *porta_opencl_gemm_impl_name(porta_opencl_gemm_impl impl) {
  switch (impl) {
  case PORTA_OPENCL_IMPL_CLBLAST:
    return "clblast";
  case PORTA_OPENCL_IMPL_OWN_CPU:
    return "own_cpu";
  case PORTA_OPENCL_IMPL_OWN_GPU:
    return "own_gpu";
  default:
    return "undecided";
  }
}

bool porta_opencl_gemm_mode_parse(const char *text, porta_opencl_gemm_mode *out) {
  static const struct {
    const char *name;
    porta_opencl_gemm_mode mode;
  } names[] = {{"auto", PORTA_OPENCL_GEMM_AUTO},
               {"clblast", PORTA_OPENCL_GEMM_CLBLAST},
               {"own", PORTA_OPENCL_GEMM_OWN},
               {"own_cpu", PORTA_OPENCL_GEMM_OWN_CPU},
               {"own_gpu", PORTA_OPENCL_GEMM_OWN_GPU}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(text, names[i].name) == 0) {
      *out = names[i].mode;
      return true;
    }
  return false;
}

void porta_opencl_set_gemm_mode(porta_backend *base, porta_opencl_gemm_mode mode) {
  ((ocl_backend *)base)->gemm_mode = mode;
}

/* Path i is implementation i + 1: every one is a candidate of the measured choice. */
int ocl_paths(porta_backend *base, porta_backend_path *out, int capacity) {
  (void)base;
  const uint32_t gemm = 1u << PORTA_OP_GEMM;
  const porta_backend_path all[3] = {{"gemm.clblast", gemm, true, true, false},
                                     {"gemm.own_cpu", gemm, true, true, false},
                                     {"gemm.own_gpu", gemm, true, true, false}};
  for (int i = 0; i < 3 && i < capacity; i++) out[i] = all[i];
  return 3;
}

porta_status ocl_path_force(porta_backend *base, int i) {
  ocl_backend *be = (ocl_backend *)base;
  static const porta_opencl_gemm_mode modes[3] = {
      PORTA_OPENCL_GEMM_CLBLAST, PORTA_OPENCL_GEMM_OWN_CPU, PORTA_OPENCL_GEMM_OWN_GPU};
  if (i < -1 || i >= 3) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "opencl: no path %d", i);
  be->gemm_mode = i < 0 ? be->gemm_mode_env : modes[i];
  return PORTA_OK;
}

static bool impl_on(const ocl_backend *be, porta_opencl_gemm_impl impl) {
  return porta_path_on(&be->base, (int)impl - 1);
}

static int gemm_class(bool trans_a, bool trans_b, bool batched) {
  return (trans_a ? 1 : 0) + (trans_b ? 2 : 0) + (batched ? 4 : 0);
}

/* ---- the three implementations --------------------------------------------------------------- */

/* C = beta · C over the m×n matrices of every batch (beta 0: zeros, C not read): the whole GEMM
 * when k == 0. */
static porta_status scale_c(ocl_backend *be, const porta_gemm_args *g, float beta) {
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_ELEMENTWISE, "scale_matrix");
  ocl_arg_mem(&l, (cl_mem)g->c.buf);
  ocl_arg_int(&l, (int)g->c.off);
  ocl_arg_int(&l, (int)g->m);
  ocl_arg_int(&l, (int)g->n);
  ocl_arg_int(&l, (int)g->ldc);
  ocl_arg_int(&l, (int)g->stride_c);
  ocl_arg_float(&l, beta);
  size_t global[3] = {(size_t)g->n, (size_t)g->m, (size_t)g->batch}, local[3];
  ocl_launch_local_2d(&l, 16, 16, local);
  return ocl_launch_run(&l, PORTA_OP_GEMM, 3, global, local);
}

static porta_status gemm_clblast(ocl_backend *be, const porta_gemm_args *g) {
  /* beta == 0: CLBlast's store step does not read C (IsZero(beta)), so NaN garbage there is
   * harmless; the tests and the one-time correctness check run with NaN in C. */
  cl_event event = NULL;
  cl_event *event_ptr = ocl_profiling(be) ? &event : NULL;
  CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastStatusCode s;
  const char *routine;
  if (g->batch == 1) {
    routine = "CLBlastSgemm";
    s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k,
                     g->alpha, (cl_mem)g->a.buf, g->a.off, (size_t)g->lda, (cl_mem)g->b.buf,
                     g->b.off, (size_t)g->ldb, g->beta, (cl_mem)g->c.buf, g->c.off, (size_t)g->ldc,
                     &be->queue, event_ptr);
  } else {
    routine = "CLBlastSgemmStridedBatched";
    s = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha,
        (cl_mem)g->a.buf, g->a.off, (size_t)g->lda, (size_t)g->stride_a, (cl_mem)g->b.buf, g->b.off,
        (size_t)g->ldb, (size_t)g->stride_b, g->beta, (cl_mem)g->c.buf, g->c.off, (size_t)g->ldc,
        (size_t)g->stride_c, (size_t)g->batch, &be->queue, event_ptr);
  }
  if (s != CLBlastSuccess) {
    porta_status st = PORTA_ERR_BACKEND;
    if (s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfResources)
      st = PORTA_ERR_DEVICE_MEMORY;
    if (s == CLBlastOpenCLBuildProgramFailure) st = PORTA_ERR_BUILD;
    return ocl_fail(be, st,
                    "%s failed: %s (%d) for m=%lld n=%lld k=%lld batch=%lld trans_a=%d trans_b=%d "
                    "lda=%lld ldb=%lld ldc=%lld on '%s'",
                    routine, ocl_clblast_name(s), (int)s, (long long)g->m, (long long)g->n,
                    (long long)g->k, (long long)g->batch, g->trans_a, g->trans_b, (long long)g->lda,
                    (long long)g->ldb, (long long)g->ldc, be->base.info.name);
  }
  if (event) ocl_profile_add(be, PORTA_OP_GEMM, event, true);
  return PORTA_OK;
}

/* Sets the 17 GEMM kernel arguments shared by both kernel files. */
static void gemm_args(ocl_launch *l, const porta_gemm_args *g, cl_mem b, int b_off, int ldb,
                      int stride_b) {
  ocl_arg_int(l, (int)g->m);
  ocl_arg_int(l, (int)g->n);
  ocl_arg_int(l, (int)g->k);
  ocl_arg_float(l, g->alpha);
  ocl_arg_float(l, g->beta);
  ocl_arg_mem(l, (cl_mem)g->a.buf);
  ocl_arg_int(l, (int)g->a.off);
  ocl_arg_int(l, (int)g->lda);
  ocl_arg_int(l, (int)g->stride_a);
  ocl_arg_mem(l, b);
  ocl_arg_int(l, b_off);
  ocl_arg_int(l, ldb);
  ocl_arg_int(l, stride_b);
  ocl_arg_mem(l, (cl_mem)g->c.buf);
  ocl_arg_int(l, (int)g->c.off);
  ocl_arg_int(l, (int)g->ldc);
  ocl_arg_int(l, (int)g->stride_c);
}

/* Writes the transposes of `copies` stored matrices (stored_rows×stored_cols, ld, stride) into
 * scratch from element `at`, contiguous: the plain operand a transposed one stands for. */
static porta_status transpose_into(ocl_backend *be, cl_mem scratch, int64_t at, porta_ref src,
                                   int64_t ld, int64_t stride, int64_t copies, int64_t stored_rows,
                                   int64_t stored_cols, bool extra) {
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_GEMM_CPU, "transpose");
  l.extra_kernel = extra;
  ocl_arg_mem(&l, scratch);
  ocl_arg_int(&l, (int)at);
  ocl_arg_mem(&l, (cl_mem)src.buf);
  ocl_arg_int(&l, (int)src.off);
  ocl_arg_int(&l, (int)ld);
  ocl_arg_int(&l, (int)stride);
  ocl_arg_int(&l, (int)stored_rows);
  ocl_arg_int(&l, (int)stored_cols);
  size_t global[3] = {(size_t)(stored_cols + 15) / 16, (size_t)(stored_rows + 15) / 16,
                      (size_t)copies},
         local[3];
  ocl_launch_local_2d(&l, 4, 4, local);
  return ocl_launch_run(&l, PORTA_OP_GEMM, 3, global, local);
}

/* CPU-shaped kernel. A transposed A is first copied plain, and B (plain or transposed) is packed
 * into panels of 16 columns (kernels/gemm_cpu.cl says why): O(size) passes against the O(m·n·k)
 * product. */
static porta_status gemm_own_cpu(ocl_backend *be, const porta_gemm_args *g) {
  cl_mem a = (cl_mem)g->a.buf;
  int64_t a_off = (int64_t)g->a.off, lda = g->lda, stride_a = g->stride_a;
  int64_t copies_a = g->stride_a == 0 ? 1 : g->batch, copies_b = g->stride_b == 0 ? 1 : g->batch;
  int64_t need_a = g->trans_a ? copies_a * g->m * g->k : 0;
  int64_t panel_set = (g->n + 15) / 16 * 16 * g->k; /* packed B of one batch */
  int64_t need_b = copies_b * panel_set;
  if (!ocl_fits_int(need_a + need_b))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "gemm: packed operands too large (%lld elements)",
                    (long long)(need_a + need_b));
  cl_mem t = NULL;
  porta_status st = ocl_scratch(be, (size_t)(need_a + need_b) * 4, &t);
  if (st != PORTA_OK) return st;
  if (g->trans_a) { /* A is stored k×m */
    st = transpose_into(be, t, 0, g->a, g->lda, g->stride_a, copies_a, g->k, g->m, false);
    if (st != PORTA_OK) return st;
    a = t, a_off = 0, lda = g->k, stride_a = g->stride_a == 0 ? 0 : g->m * g->k;
  }
  ocl_launch p;
  ocl_launch_begin(&p, be, OCL_PROG_GEMM_CPU, "pack_b");
  p.extra_kernel = g->trans_a;
  ocl_arg_mem(&p, t);
  ocl_arg_int(&p, (int)need_a);
  ocl_arg_mem(&p, (cl_mem)g->b.buf);
  ocl_arg_int(&p, (int)g->b.off);
  ocl_arg_int(&p, (int)g->ldb);
  ocl_arg_int(&p, (int)g->stride_b);
  ocl_arg_int(&p, (int)g->k);
  ocl_arg_int(&p, (int)g->n);
  ocl_arg_int(&p, g->trans_b ? 1 : 0);
  size_t pack_global[3] = {(size_t)(g->n + 15) / 16, (size_t)(g->k + 15) / 16, (size_t)copies_b};
  size_t pack_local[3];
  ocl_launch_local_2d(&p, 1, 4, pack_local);
  st = ocl_launch_run(&p, PORTA_OP_GEMM, 3, pack_global, pack_local);
  if (st != PORTA_OK) return st;

  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_GEMM_CPU, "gemm_cpu_nn");
  l.extra_kernel = true;
  ocl_arg_int(&l, (int)g->m);
  ocl_arg_int(&l, (int)g->n);
  ocl_arg_int(&l, (int)g->k);
  ocl_arg_float(&l, g->alpha);
  ocl_arg_float(&l, g->beta);
  ocl_arg_mem(&l, a);
  ocl_arg_int(&l, (int)a_off);
  ocl_arg_int(&l, (int)lda);
  ocl_arg_int(&l, (int)stride_a);
  ocl_arg_mem(&l, t);
  ocl_arg_int(&l, (int)need_a);
  ocl_arg_int(&l, g->stride_b == 0 ? 0 : (int)panel_set);
  ocl_arg_mem(&l, (cl_mem)g->c.buf);
  ocl_arg_int(&l, (int)g->c.off);
  ocl_arg_int(&l, (int)g->ldc);
  ocl_arg_int(&l, (int)g->stride_c);
  /* 16 row blocks (64 rows of C) per work-group share each panel of B. */
  size_t global[3] = {(size_t)(g->m + 3) / 4, (size_t)(g->n + 15) / 16, (size_t)g->batch};
  size_t local[3];
  ocl_launch_local_2d(&l, 16, 1, local);
  return ocl_launch_run(&l, PORTA_OP_GEMM, 3, global, local);
}

static porta_status gemm_own_gpu(ocl_backend *be, const porta_gemm_args *g) {
  static const char *const names[4] = {"gemm_gpu_nn", "gemm_gpu_tn", "gemm_gpu_nt", "gemm_gpu_tt"};
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_GEMM_GPU, names[(g->trans_a ? 1 : 0) + (g->trans_b ? 2 : 0)]);
  gemm_args(&l, g, (cl_mem)g->b.buf, (int)g->b.off, (int)g->ldb, (int)g->stride_b);
  size_t t = (size_t)be->gemm_gpu_tile, tile = 4 * t;
  size_t global[3] = {(size_t)(g->n + (int64_t)tile - 1) / tile * t,
                      (size_t)(g->m + (int64_t)tile - 1) / tile * t, (size_t)g->batch};
  size_t local[3] = {t, t, 1};
  return ocl_launch_run(&l, PORTA_OP_GEMM, 3, global, local);
}

static porta_status gemm_run(ocl_backend *be, porta_opencl_gemm_impl impl,
                             const porta_gemm_args *g) {
  switch (impl) {
  case PORTA_OPENCL_IMPL_CLBLAST:
    return gemm_clblast(be, g);
  case PORTA_OPENCL_IMPL_OWN_CPU:
    return gemm_own_cpu(be, g);
  case PORTA_OPENCL_IMPL_OWN_GPU:
    return gemm_own_gpu(be, g);
  default:
    return ocl_fail(be, PORTA_ERR_STATE, "gemm: no implementation chosen");
  }
}

/* ---- the measured choice and its cache ------------------------------------------------------- */

static void choice_path(ocl_backend *be, char *path, size_t size) {
  char platform[256] = "", version[256] = "";
  clGetPlatformInfo(be->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
  clGetDeviceInfo(be->device, CL_DEVICE_VERSION, sizeof version - 1, version, NULL);
  uint64_t key = ocl_hash(OCL_HASH_SEED, platform, strlen(platform) + 1);
  key = ocl_hash(key, be->base.info.name, strlen(be->base.info.name) + 1);
  key = ocl_hash(key, be->base.info.driver, strlen(be->base.info.driver) + 1);
  key = ocl_hash(key, version, strlen(version) + 1);
  key = ocl_hash(key, &be->gemm_gpu_tile, sizeof be->gemm_gpu_tile);
  const char *files[2] = {"gemm_cpu.cl", "gemm_gpu.cl"}; /* new kernels, new measurement */
  for (int i = 0; i < 2; i++) {
    const porta_embedded_file *f = porta_embedded_find(porta_embedded_kernels, files[i]);
    if (f) key = ocl_hash(key, f->data, f->size);
  }
  snprintf(path, size, "%s/ocl-gemm-%016llx.txt", be->cache_dir, (unsigned long long)key);
}

static porta_opencl_gemm_impl impl_parse(const char *name) {
  for (int i = PORTA_OPENCL_IMPL_CLBLAST; i <= PORTA_OPENCL_IMPL_OWN_GPU; i++)
    if (strcmp(name, porta_opencl_gemm_impl_name((porta_opencl_gemm_impl)i)) == 0)
      return (porta_opencl_gemm_impl)i;
  return PORTA_OPENCL_IMPL_UNDECIDED;
}

/* Reads "class <i> <impl> ..." lines; a malformed file just leaves classes undecided. */
static void choices_load(ocl_backend *be) {
  be->gemm_cache_loaded = true;
  if (!be->cache_dir[0]) return;
  char path[1200], line[512];
  choice_path(be, path, sizeof path);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    int cls = -1, used = 0;
    char name[32];
    if (sscanf(line, "class %d %31s %n", &cls, name, &used) >= 2 && cls >= 0 &&
        cls < OCL_GEMM_CLASSES) {
      be->gemm_choice[cls] = impl_parse(name);
      snprintf(be->gemm_measured[cls], sizeof be->gemm_measured[cls], "%s", line + used);
      be->gemm_measured[cls][strcspn(be->gemm_measured[cls], "\n")] = '\0';
    }
  }
  fclose(f);
}

static void choices_save(ocl_backend *be) {
  if (!be->cache_dir[0]) return;
  char path[1200];
  choice_path(be, path, sizeof path);
  char text[4096];
  int len = snprintf(text, sizeof text,
                     "# porta OpenCL GEMM choice per class (trans_a + 2 trans_b + 4 batched), "
                     "GFLOP/s measured\n# device '%s', driver '%s'\n",
                     be->base.info.name, be->base.info.driver);
  for (int c = 0; c < OCL_GEMM_CLASSES && len > 0 && (size_t)len < sizeof text; c++)
    if (be->gemm_choice[c] != PORTA_OPENCL_IMPL_UNDECIDED)
      len += snprintf(text + len, sizeof text - (size_t)len, "class %d %s %s\n", c,
                      porta_opencl_gemm_impl_name(be->gemm_choice[c]), be->gemm_measured[c]);
  if (len > 0 && (size_t)len < sizeof text) porta_cache_write(path, text, (size_t)len);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A problem of class cls: buffers A, B, C sized for it, filled with small pseudo-random values. */
typedef struct gemm_problem {
  porta_gemm_args g;
  float *a, *b; /* host copies, for the reference */
} gemm_problem;

static void problem_free(ocl_backend *be, gemm_problem *p) {
  if (p->g.a.buf) clReleaseMemObject((cl_mem)p->g.a.buf);
  if (p->g.b.buf) clReleaseMemObject((cl_mem)p->g.b.buf);
  if (p->g.c.buf) clReleaseMemObject((cl_mem)p->g.c.buf);
  free(p->a);
  free(p->b);
  (void)be;
  memset(p, 0, sizeof *p);
}

static porta_status problem_make(ocl_backend *be, int cls, int64_t batch, int64_t m, int64_t n,
                                 int64_t k, int64_t off, gemm_problem *p) {
  memset(p, 0, sizeof *p);
  porta_gemm_args *g = &p->g;
  g->trans_a = cls & 1;
  g->trans_b = (cls & 2) != 0;
  g->m = m, g->n = n, g->k = k, g->batch = batch;
  g->alpha = 1.0f, g->beta = 0.0f;
  g->lda = (g->trans_a ? m : k) + 1; /* padded leading dimensions, as in real views */
  g->ldb = (g->trans_b ? k : n) + 1;
  g->ldc = n + 1;
  g->stride_a = (g->trans_a ? k : m) * g->lda;
  g->stride_b = (g->trans_b ? n : k) * g->ldb;
  g->stride_c = m * g->ldc;
  size_t na = (size_t)(off + batch * g->stride_a), nb = (size_t)(off + batch * g->stride_b);
  size_t nc = (size_t)(off + batch * g->stride_c);
  p->a = malloc(na * 4);
  p->b = malloc(nb * 4);
  if (!p->a || !p->b) {
    problem_free(be, p);
    return ocl_fail(be, PORTA_ERR_OUT_OF_MEMORY, "gemm measurement: no host memory");
  }
  uint32_t s = 12345;
  for (size_t i = 0; i < na; i++)
    p->a[i] = (float)((s = s * 1664525u + 1013904223u) >> 9) / 8388608.0f - 1.0f;
  for (size_t i = 0; i < nb; i++)
    p->b[i] = (float)((s = s * 1664525u + 1013904223u) >> 9) / 8388608.0f - 1.0f;
  cl_int rc = CL_SUCCESS;
  cl_mem a =
      clCreateBuffer(be->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, na * 4, p->a, &rc);
  g->a = (porta_ref){a, (size_t)off};
  if (rc == CL_SUCCESS) {
    cl_mem b =
        clCreateBuffer(be->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, nb * 4, p->b, &rc);
    g->b = (porta_ref){b, (size_t)off};
  }
  if (rc == CL_SUCCESS) {
    cl_mem c = clCreateBuffer(be->context, CL_MEM_READ_WRITE, nc * 4, NULL, &rc);
    g->c = (porta_ref){c, (size_t)off};
    float nan = NAN; /* beta = 0 must not read C */
    if (rc == CL_SUCCESS) rc = clEnqueueFillBuffer(be->queue, c, &nan, 4, 0, nc * 4, 0, NULL, NULL);
  }
  if (rc != CL_SUCCESS) {
    problem_free(be, p);
    return ocl_fail_cl(be, rc, "clCreateBuffer (gemm measurement)");
  }
  return PORTA_OK;
}

/* Whether impl computes problem p correctly on this device (relative error ≤ 1e-4). */
static bool impl_correct(ocl_backend *be, porta_opencl_gemm_impl impl, gemm_problem *p) {
  const porta_gemm_args *g = &p->g;
  if (gemm_run(be, impl, g) != PORTA_OK) return false;
  size_t nc = (size_t)(g->c.off + g->batch * g->stride_c);
  float *c = malloc(nc * 4);
  if (!c) return false;
  bool ok = clEnqueueReadBuffer(be->queue, (cl_mem)g->c.buf, CL_TRUE, 0, nc * 4, c, 0, NULL,
                                NULL) == CL_SUCCESS;
  for (int64_t bi = 0; ok && bi < g->batch; bi++)
    for (int64_t i = 0; ok && i < g->m; i++)
      for (int64_t j = 0; ok && j < g->n; j++) {
        double ref = 0.0;
        for (int64_t q = 0; q < g->k; q++) {
          float av = g->trans_a ? p->a[g->a.off + bi * g->stride_a + q * g->lda + i]
                                : p->a[g->a.off + bi * g->stride_a + i * g->lda + q];
          float bv = g->trans_b ? p->b[g->b.off + bi * g->stride_b + j * g->ldb + q]
                                : p->b[g->b.off + bi * g->stride_b + q * g->ldb + j];
          ref += (double)av * bv;
        }
        float got = c[g->c.off + bi * g->stride_c + i * g->ldc + j];
        if (!(fabs(got - ref) <= 1e-4 * (1.0 + fabs(ref)) * sqrt((double)g->k))) ok = false;
      }
  free(c);
  return ok;
}

/* Seconds per run of impl on p (best of 3 after a warm-up), or -1 on failure. */
static double impl_time(ocl_backend *be, porta_opencl_gemm_impl impl, const porta_gemm_args *g) {
  if (gemm_run(be, impl, g) != PORTA_OK || clFinish(be->queue) != CL_SUCCESS) return -1.0;
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_seconds();
    if (gemm_run(be, impl, g) != PORTA_OK || clFinish(be->queue) != CL_SUCCESS) return -1.0;
    double t = now_seconds() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* Measures every implementation on a small odd problem (correctness) and a BERT-sized one
 * (speed) of class cls, and keeps the fastest correct one. */
static porta_status measure_class(ocl_backend *be, int cls, char *summary, size_t summary_size) {
  bool batched = cls >= 4;
  gemm_problem check, timed;
  porta_status st = problem_make(be, cls, batched ? 3 : 1, 37, 45, 29, 3, &check);
  if (st != PORTA_OK) return st;
  st = batched ? problem_make(be, cls, 24, 128, 128, 64, 0, &timed)
               : problem_make(be, cls, 1, 512, 384, 384, 0, &timed);
  if (st != PORTA_OK) {
    problem_free(be, &check);
    return st;
  }
  double flops =
      2.0 * (double)timed.g.batch * (double)timed.g.m * (double)timed.g.n * (double)timed.g.k;
  porta_opencl_gemm_impl best = PORTA_OPENCL_IMPL_UNDECIDED;
  double best_time = 1e30;
  int len = 0;
  summary[0] = '\0';
  for (int i = PORTA_OPENCL_IMPL_CLBLAST; i <= PORTA_OPENCL_IMPL_OWN_GPU; i++) {
    porta_opencl_gemm_impl impl = (porta_opencl_gemm_impl)i;
    if (!impl_on(be, impl)) continue; /* failed this device's self-test */
    /* the first call of each implementation compiles its kernels (CLBlast's own too) */
    porta_driver_output quiet;
    porta_driver_output_begin(&quiet);
    bool correct = impl_correct(be, impl, &check);
    porta_driver_output_end(&quiet, false);
    double t = correct ? impl_time(be, impl, &timed.g) : -1.0;
    if (len >= 0 && (size_t)len < summary_size)
      len += snprintf(summary + len, summary_size - (size_t)len, "%s%s=%.1f", len ? " " : "",
                      porta_opencl_gemm_impl_name(impl), t > 0 ? flops / t * 1e-9 : 0.0);
    if (t > 0 && t < best_time) {
      best_time = t;
      best = impl;
    }
  }
  problem_free(be, &check);
  problem_free(be, &timed);
  if (best == PORTA_OPENCL_IMPL_UNDECIDED)
    return ocl_fail(be, PORTA_ERR_BACKEND,
                    "gemm: no implementation (CLBlast, own_cpu, own_gpu) computed a correct result "
                    "on OpenCL device '%s'%s",
                    be->base.info.name,
                    be->base.paths_off ? " (some were switched off by the device self-test)" : "");
  be->gemm_choice[cls] = best;
  return PORTA_OK;
}

porta_status porta_opencl_gemm_choice(porta_backend *base, bool trans_a, bool trans_b, bool batched,
                                      porta_opencl_gemm_impl *out) {
  ocl_backend *be = (ocl_backend *)base;
  switch (be->gemm_mode) {
  case PORTA_OPENCL_GEMM_CLBLAST:
    *out = PORTA_OPENCL_IMPL_CLBLAST;
    return PORTA_OK;
  case PORTA_OPENCL_GEMM_OWN_CPU:
    *out = PORTA_OPENCL_IMPL_OWN_CPU;
    return PORTA_OK;
  case PORTA_OPENCL_GEMM_OWN_GPU:
    *out = PORTA_OPENCL_IMPL_OWN_GPU;
    return PORTA_OK;
  case PORTA_OPENCL_GEMM_OWN:
    *out = be->base.info.is_cpu ? PORTA_OPENCL_IMPL_OWN_CPU : PORTA_OPENCL_IMPL_OWN_GPU;
    return PORTA_OK;
  default:
    break;
  }
  int cls = gemm_class(trans_a, trans_b, batched);
  if (!be->gemm_cache_loaded) choices_load(be);
  if (be->gemm_choice[cls] != PORTA_OPENCL_IMPL_UNDECIDED && !impl_on(be, be->gemm_choice[cls]))
    be->gemm_choice[cls] = PORTA_OPENCL_IMPL_UNDECIDED; /* measured before the self-test */
  if (be->gemm_choice[cls] == PORTA_OPENCL_IMPL_UNDECIDED) {
    char summary[160];
    porta_status st = measure_class(be, cls, summary, sizeof summary);
    if (st != PORTA_OK) return st;
    /* Merge with what other processes may have measured meanwhile, then save. */
    porta_opencl_gemm_impl mine = be->gemm_choice[cls];
    choices_load(be);
    be->gemm_choice[cls] = mine;
    snprintf(be->gemm_measured[cls], sizeof be->gemm_measured[cls], "%s", summary);
    choices_save(be);
  }
  *out = be->gemm_choice[cls];
  return PORTA_OK;
}

/* ---- the vtable entry ------------------------------------------------------------------------ */

static porta_status gemm_one_batch(porta_backend *base, const porta_gemm_args *g);

/* A second batch index is a loop of enqueues here: OpenCL drivers' per-enqueue cost is small next
 * to the Vulkan dispatch cost it exists for, and CLBlast has one batch stride. */
porta_status ocl_gemm(porta_backend *base, const porta_gemm_args *g) {
  ocl_backend *be = (ocl_backend *)base;
  if (g->batch2 < 0 || g->stride2_a < 0 || g->stride2_b < 0 || g->stride2_c < 0)
    return ocl_fail(be, PORTA_ERR_INVALID_ARGUMENT, "gemm: negative batch2 %lld or its strides",
                    (long long)g->batch2);
  return porta_gemm_each_batch2(base, g, gemm_one_batch);
}

static porta_status gemm_one_batch(porta_backend *base, const porta_gemm_args *g) {
  ocl_backend *be = (ocl_backend *)base;
  if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0)
    return ocl_fail(be, PORTA_ERR_INVALID_ARGUMENT,
                    "gemm: negative size m=%lld n=%lld k=%lld batch=%lld", (long long)g->m,
                    (long long)g->n, (long long)g->k, (long long)g->batch);
  if (g->m == 0 || g->n == 0 || g->batch == 0) return PORTA_OK;
  int64_t a_rows = g->trans_a ? g->k : g->m, a_cols = g->trans_a ? g->m : g->k;
  int64_t b_rows = g->trans_b ? g->n : g->k, b_cols = g->trans_b ? g->k : g->n;
  if (g->lda < a_cols || g->ldb < b_cols || g->ldc < g->n)
    return ocl_fail(be, PORTA_ERR_INVALID_ARGUMENT,
                    "gemm: leading dimensions too small: lda=%lld (needs %lld), ldb=%lld (needs "
                    "%lld), ldc=%lld (needs %lld)",
                    (long long)g->lda, (long long)a_cols, (long long)g->ldb, (long long)b_cols,
                    (long long)g->ldc, (long long)g->n);
  /* Every index the kernels form must fit a 32-bit int. */
  int64_t last_a = (int64_t)g->a.off + (g->batch - 1) * g->stride_a + a_rows * g->lda;
  int64_t last_b = (int64_t)g->b.off + (g->batch - 1) * g->stride_b + b_rows * g->ldb;
  int64_t last_c = (int64_t)g->c.off + (g->batch - 1) * g->stride_c + g->m * g->ldc;
  if (!ocl_fits_int(last_a) || !ocl_fits_int(last_b) || !ocl_fits_int(last_c) || g->stride_a < 0 ||
      g->stride_b < 0 || g->stride_c < 0)
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED,
                    "gemm: operands span more than 2^31 elements (A %lld, B %lld, C %lld)",
                    (long long)last_a, (long long)last_b, (long long)last_c);
  if (g->k == 0) return scale_c(be, g, g->beta); /* the product is empty */
  porta_opencl_gemm_impl impl = PORTA_OPENCL_IMPL_UNDECIDED;
  porta_status st = porta_opencl_gemm_choice(base, g->trans_a, g->trans_b, g->batch > 1, &impl);
  if (st != PORTA_OK) return st;
  return gemm_run(be, impl, g);
}
