/* OpenCL backend specifics (the ops themselves are covered by test_backend_ops): device listing and
 * selection errors, buffers with offsets, GEMM of every implementation (own CPU-shaped, own
 * GPU-shaped, one CLBlast call) against a host loop at odd sizes, the measured GEMM choice and its
 * cache file, the program binary cache (hits, a corrupt entry rebuilt), build errors with their
 * log, profiling, and dropout against src/backend/philox.h bit for bit.
 *
 * Runs in its own cache directory ($PORTA_CACHE_DIR/test_opencl_backend, emptied first) so that
 * corrupting entries cannot disturb other tests. Without any OpenCL platform it prints why and
 * passes (there is nothing to test). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/opencl/opencl_backend.h"
#include "backend/philox.h"
#include "helpers/check.h"

static check_counter checks;

/* Files in dir whose names start with prefix and end with suffix; optionally calls fn on each. */
static int count_files(const char *dir, const char *prefix, const char *suffix,
                       void (*fn)(const char *path)) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || len < sl ||
        strcmp(e->d_name + len - sl, suffix) != 0)
      continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (fn) fn(path);
    n++;
  }
  closedir(d);
  return n;
}

static void remove_file(const char *path) { unlink(path); }

/* Leftover temporary files ("<entry>.tmp.XXXXXX") in dir. */
static int count_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

/* Flips bytes in the middle of a cache entry, keeping its size. */
static void corrupt_file(const char *path) {
  FILE *f = fopen(path, "r+b");
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, size / 2, SEEK_SET);
  const char junk[16] = "corrupt!corrupt!";
  fwrite(junk, 1, sizeof junk, f);
  fclose(f);
}

static void *dev_alloc(porta_backend *be, size_t floats) {
  void *buf = NULL;
  porta_status st = be->ops->alloc(be, floats * 4, &buf);
  check_true(&checks, st == PORTA_OK, "alloc %zu floats (%s)", floats, st ? be->err : "ok");
  return buf;
}

/* ---- GEMM against a host loop ---------------------------------------------------------------- */

typedef struct gemm_case {
  bool ta, tb;
  int64_t batch, m, n, k;
  float alpha, beta;
  bool shared_b; /* stride_b = 0 */
} gemm_case;

static void run_gemm_case(porta_backend *be, const char *impl, const gemm_case *gc,
                          check_rng *rng) {
  const int64_t off = 5, pad = 3;
  porta_gemm_args g = {0};
  g.trans_a = gc->ta, g.trans_b = gc->tb;
  g.m = gc->m, g.n = gc->n, g.k = gc->k, g.batch = gc->batch;
  g.alpha = gc->alpha, g.beta = gc->beta;
  g.lda = (gc->ta ? gc->m : gc->k) + pad;
  g.ldb = (gc->tb ? gc->k : gc->n) + pad;
  g.ldc = gc->n + pad;
  g.stride_a = (gc->ta ? gc->k : gc->m) * g.lda;
  g.stride_b = gc->shared_b ? 0 : (gc->tb ? gc->n : gc->k) * g.ldb;
  g.stride_c = gc->m * g.ldc;
  size_t na = (size_t)(off + gc->batch * g.stride_a);
  size_t nb = (size_t)(off + (gc->shared_b ? 1 : gc->batch) * (gc->tb ? gc->n : gc->k) * g.ldb);
  size_t nc = (size_t)(off + gc->batch * g.stride_c);
  float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *want = malloc(nc * 4);
  float *got = malloc(nc * 4);
  check_fill_uniform(rng, a, na, -1.0f, 1.0f);
  check_fill_uniform(rng, b, nb, -1.0f, 1.0f);
  check_fill_uniform(rng, c, nc, -1.0f, 1.0f);
  if (gc->beta == 0.0f)
    for (size_t i = 0; i < nc; i++) c[i] = NAN; /* beta 0: C must not be read */
  memcpy(want, c, nc * 4);
  for (int64_t bi = 0; bi < gc->batch; bi++)
    for (int64_t i = 0; i < gc->m; i++)
      for (int64_t j = 0; j < gc->n; j++) {
        double acc = 0.0;
        for (int64_t p = 0; p < gc->k; p++) {
          float av = gc->ta ? a[off + bi * g.stride_a + p * g.lda + i]
                            : a[off + bi * g.stride_a + i * g.lda + p];
          float bv = gc->tb ? b[off + bi * g.stride_b + j * g.ldb + p]
                            : b[off + bi * g.stride_b + p * g.ldb + j];
          acc += (double)av * bv;
        }
        float *w = &want[off + bi * g.stride_c + i * g.ldc + j];
        *w = (float)(gc->alpha * acc + (gc->beta == 0.0f ? 0.0 : gc->beta * (double)*w));
      }
  void *da = dev_alloc(be, na), *db = dev_alloc(be, nb), *dc = dev_alloc(be, nc);
  be->ops->upload(be, da, 0, a, na * 4);
  be->ops->upload(be, db, 0, b, nb * 4);
  be->ops->upload(be, dc, 0, c, nc * 4);
  g.a = (porta_ref){da, (size_t)off};
  g.b = (porta_ref){db, (size_t)off};
  g.c = (porta_ref){dc, (size_t)off};
  porta_status st = be->ops->gemm(be, &g);
  if (st == PORTA_OK) st = be->ops->download(be, dc, 0, got, nc * 4);
  char what[200];
  snprintf(what, sizeof what,
           "gemm %s tA=%d tB=%d batch=%lld%s m=%lld n=%lld k=%lld alpha=%g beta=%g", impl, gc->ta,
           gc->tb, (long long)gc->batch, gc->shared_b ? " (shared B)" : "", (long long)gc->m,
           (long long)gc->n, (long long)gc->k, gc->alpha, gc->beta);
  if (!check_true(&checks, st == PORTA_OK, "%s runs (%s)", what, st ? be->err : "ok")) {
  } else {
    /* The padding between rows and the elements before the offset must be untouched (NaN stays
     * NaN where beta = 0: compare the bits there). */
    bool untouched = true;
    for (int64_t bi = 0; bi < gc->batch; bi++)
      for (int64_t i = 0; i < gc->m; i++)
        for (int64_t j = gc->n; j < g.ldc; j++) {
          size_t at = (size_t)(off + bi * g.stride_c + i * g.ldc + j);
          if (memcmp(&got[at], &c[at], 4) != 0) untouched = false;
          got[at] = want[at] = 0.0f;
        }
    for (int64_t i = 0; i < off; i++) {
      if (memcmp(&got[i], &c[i], 4) != 0) untouched = false;
      got[i] = want[i] = 0.0f;
    }
    check_true(&checks, untouched, "%s leaves the padding alone", what);
    check_close(&checks, what, got, want, nc, 2e-5 * sqrt((double)gc->k));
  }
  be->ops->free(be, da);
  be->ops->free(be, db);
  be->ops->free(be, dc);
  free(a), free(b), free(c), free(want), free(got);
}

static void test_gemm(porta_backend *be, check_rng *rng) {
  const gemm_case cases[] = {
      {false, false, 1, 1, 1, 1, 1.0f, 0.0f, false},
      {false, false, 1, 37, 45, 29, 1.0f, 0.0f, false},
      {true, false, 1, 33, 17, 65, 0.5f, 1.0f, false},
      {false, true, 1, 65, 129, 3, 1.0f, 0.0f, false},
      {true, true, 1, 17, 31, 47, 2.0f, -0.5f, false},
      {false, true, 3, 19, 16, 33, 1.0f, 0.0f, false},
      {true, false, 2, 7, 64, 5, 1.0f, 0.25f, true},
      {false, false, 4, 5, 3, 17, 1.0f, 0.0f, true},
      {false, false, 1, 4, 16, 0, 1.0f, 0.5f, false}, /* k = 0: C = beta · C */
  };
  const porta_opencl_gemm_mode modes[2] = {PORTA_OPENCL_GEMM_OWN_CPU, PORTA_OPENCL_GEMM_OWN_GPU};
  const char *names[2] = {"own_cpu", "own_gpu"};
  for (int mi = 0; mi < 2; mi++) {
    porta_opencl_set_gemm_mode(be, modes[mi]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      run_gemm_case(be, names[mi], &cases[i], rng);
  }
  /* One CLBlast call (its first use compiles for seconds on PoCL): transposed B, NaN in C. */
  porta_opencl_set_gemm_mode(be, PORTA_OPENCL_GEMM_CLBLAST);
  const gemm_case clblast_case = {false, true, 1, 37, 45, 29, 1.0f, 0.0f, false};
  run_gemm_case(be, "clblast", &clblast_case, rng);

  /* The measured choice: decided, usable, and written to the cache directory. */
  porta_opencl_set_gemm_mode(be, PORTA_OPENCL_GEMM_AUTO);
  porta_opencl_gemm_impl impl = PORTA_OPENCL_IMPL_UNDECIDED;
  porta_status st = porta_opencl_gemm_choice(be, false, true, false, &impl);
  check_true(&checks, st == PORTA_OK && impl != PORTA_OPENCL_IMPL_UNDECIDED,
             "auto GEMM choice for (tA=0, tB=1) measured: %s (%s)",
             porta_opencl_gemm_impl_name(impl), st ? be->err : "ok");
  run_gemm_case(be, "auto", &clblast_case, rng);
  const char *dir = porta_opencl_cache_dir(be);
  check_true(&checks, count_files(dir, "ocl-gemm-", ".txt", NULL) == 1,
             "the GEMM choice is cached in %s/ocl-gemm-*.txt", dir);
}

/* ---- buffers --------------------------------------------------------------------------------- */

static void test_buffers(porta_backend *be) {
  float host[64], back[64];
  for (int i = 0; i < 64; i++) host[i] = (float)i + 0.5f;
  void *buf = dev_alloc(be, 64), *other = dev_alloc(be, 64);
  be->ops->fill(be, (porta_ref){buf, 0}, 64, -1.0f);
  be->ops->upload(be, buf, 10 * 4, host, 20 * 4);   /* elements 10..29 */
  be->ops->fill(be, (porta_ref){buf, 40}, 7, 3.0f); /* elements 40..46 */
  be->ops->fill(be, (porta_ref){other, 0}, 64, 0.0f);
  be->ops->copy(be, other, 2 * 4, buf, 8 * 4, 40 * 4); /* other[2..41] = buf[8..47] */
  porta_status st = be->ops->download(be, buf, 0, back, sizeof back);
  bool ok = st == PORTA_OK;
  for (int i = 0; i < 64; i++) {
    float want = (i >= 10 && i < 30) ? host[i - 10] : (i >= 40 && i < 47) ? 3.0f : -1.0f;
    if (back[i] != want) ok = false;
  }
  check_true(&checks, ok, "upload at an offset + fill at an offset round-trip (64 floats)");
  float part[5];
  st = be->ops->download(be, other, 12 * 4, part, sizeof part); /* other[12..16] = buf[18..22] */
  check_true(&checks, st == PORTA_OK && part[0] == host[8] && part[4] == host[12],
             "copy between buffers with offsets: other[12] = %g (want %g)", part[0], host[8]);
  st = be->ops->download(be, other, 0, part, 2 * 4);
  check_true(&checks, st == PORTA_OK && part[0] == 0.0f && part[1] == 0.0f,
             "copy leaves the bytes before its offset alone");
  void *huge = NULL;
  st = be->ops->alloc(be, (size_t)be->info.max_alloc_bytes + 4096, &huge);
  check_true(&checks, st == PORTA_ERR_DEVICE_MEMORY && huge == NULL && strstr(be->err, "bytes"),
             "an allocation over CL_DEVICE_MAX_MEM_ALLOC_SIZE is PORTA_ERR_DEVICE_MEMORY: %s",
             be->err);
  be->ops->free(be, buf);
  be->ops->free(be, other);
}

/* ---- a unary op, through the program cache --------------------------------------------------- */

/* Runs y = 2x + 1 over 100 elements at offset 3; true when correct. */
static bool unary_works(porta_backend *be) {
  float x[103], y[103];
  for (int i = 0; i < 103; i++) x[i] = (float)i * 0.25f;
  void *buf = dev_alloc(be, 103), *out = dev_alloc(be, 103);
  be->ops->upload(be, buf, 0, x, sizeof x);
  porta_unary_args u = {PORTA_UNARY_SCALE, {out, 3}, {buf, 3}, 100, 2.0f, 1.0f};
  porta_status st = be->ops->unary(be, &u);
  if (st == PORTA_OK) st = be->ops->download(be, out, 0, y, sizeof y);
  bool ok = st == PORTA_OK;
  for (int i = 3; ok && i < 103; i++) ok = y[i] == 2.0f * x[i] + 1.0f;
  if (st != PORTA_OK) printf("  unary failed: %s\n", be->err);
  be->ops->free(be, buf);
  be->ops->free(be, out);
  return ok;
}

static void test_program_cache(int device) {
  char err[4096];
  porta_backend *a = NULL, *b = NULL, *c = NULL;
  porta_opencl_backend_create(&a, device, err, sizeof err);
  if (!a) return;
  const char *dir = porta_opencl_cache_dir(a);
  check_true(&checks, unary_works(a), "scale on a first backend");
  check_true(&checks, count_files(dir, "ocl-", ".bin", NULL) >= 1,
             "program binaries are cached in %s (%d ocl-*.bin files)", dir,
             count_files(dir, "ocl-", ".bin", NULL));
  check_true(&checks, count_temporaries(dir) == 0, "no temporary files left");
  porta_opencl_backend_create(&b, device, err, sizeof err);
  check_true(&checks, b && unary_works(b) && porta_opencl_program_cache_hits(b) >= 1,
             "a second backend loads the program from the disk cache (%d hits)",
             b ? porta_opencl_program_cache_hits(b) : -1);
  count_files(dir, "ocl-", ".bin", corrupt_file);
  porta_opencl_backend_create(&c, device, err, sizeof err);
  check_true(&checks, c && unary_works(c) && porta_opencl_program_cache_hits(c) == 0,
             "corrupt cache entries are ignored and rebuilt (%d hits)",
             c ? porta_opencl_program_cache_hits(c) : -1);
  a->ops->destroy(a);
  if (b) b->ops->destroy(b);
  if (c) c->ops->destroy(c);
  porta_backend *d = NULL;
  porta_opencl_backend_create(&d, device, err, sizeof err);
  check_true(&checks, d && unary_works(d) && porta_opencl_program_cache_hits(d) >= 1,
             "the rebuilt entry is valid again (%d hits)",
             d ? porta_opencl_program_cache_hits(d) : -1);
  if (d) d->ops->destroy(d);
}

static void test_build_error(porta_backend *be) {
  const char *broken = "__kernel void broken(__global float *x) { x[0] = no_such_variable; }\n";
  porta_status st = porta_opencl_build_source(be, "broken.cl", broken, "-cl-std=CL1.2");
  check_true(&checks,
             st == PORTA_ERR_BUILD && strstr(be->err, "broken.cl") &&
                 strstr(be->err, "build log") && strstr(be->err, "no_such_variable"),
             "a broken source gives PORTA_ERR_BUILD with its log:\n%.300s", be->err);
}

static void test_profile(porta_backend *be) {
  if (!be->ops->profile_enable) return;
  be->ops->profile_enable(be, true);
  porta_opencl_set_gemm_mode(be, PORTA_OPENCL_GEMM_OWN_CPU);
  void *a = dev_alloc(be, 64 * 64), *c = dev_alloc(be, 64 * 64);
  be->ops->fill(be, (porta_ref){a, 0}, 64 * 64, 1.0f);
  porta_gemm_args g = {0};
  g.m = g.n = g.k = 64, g.batch = 1, g.alpha = 1.0f;
  g.a = g.b = (porta_ref){a, 0}, g.c = (porta_ref){c, 0};
  g.lda = g.ldb = g.ldc = 64;
  g.trans_b = true; /* two kernels (transpose + product): still one call */
  be->ops->gemm(be, &g);
  uint64_t ns[PORTA_OP_COUNT], calls[PORTA_OP_COUNT];
  porta_status st = be->ops->profile_read(be, ns, calls);
  check_true(&checks,
             st == PORTA_OK && calls[PORTA_OP_GEMM] == 1 && ns[PORTA_OP_GEMM] > 0 &&
                 calls[PORTA_OP_SOFTMAX] == 0,
             "profiling counts 1 gemm call, %llu ns", (unsigned long long)ns[PORTA_OP_GEMM]);
  be->ops->profile_enable(be, false);
  be->ops->free(be, a);
  be->ops->free(be, c);
}

static void test_dropout(porta_backend *be) {
  enum { n = 1000 };
  float x[n], y[n];
  for (int i = 0; i < n; i++) x[i] = 1.0f + (float)i / n;
  void *buf = dev_alloc(be, n);
  be->ops->upload(be, buf, 0, x, sizeof x);
  /* base just below 2^32: the counter's low word wraps inside a 16-lane vector (a batch shard) */
  porta_dropout_args d = {{buf, 0},        {buf, 0},     n, 0.3f, 0x123456789abcdefull,
                          0xfedcba9876ull, 0xfffffff9ull};
  porta_status st = be->ops->dropout(be, &d);
  if (st == PORTA_OK) st = be->ops->download(be, buf, 0, y, sizeof y);
  int mismatches = 0, zeros = 0;
  float scale = 1.0f / (1.0f - d.p);
  for (int i = 0; i < n; i++) {
    float u = porta_philox_uniform(d.seed, d.stream, d.base + (uint64_t)i);
    float want = x[i] * (u >= d.p ? scale : 0.0f);
    if (memcmp(&want, &y[i], 4) != 0) mismatches++;
    zeros += y[i] == 0.0f;
  }
  check_true(&checks, st == PORTA_OK && mismatches == 0,
             "dropout (in place) matches philox.h bit for bit: %d mismatches, %d of %d dropped",
             mismatches, zeros, n);
  be->ops->free(be, buf);
}

/* Child mode: with OCL_ICD_VENDORS pointing nowhere the ICD loader finds no platform; listing
 * and creation must both say so with PORTA_ERR_NO_DEVICE, never crash. */
static int expect_no_platform(void) {
  char err[1024] = "";
  int count = -1;
  porta_status st = porta_opencl_list_devices(NULL, 0, &count, err, sizeof err);
  check_true(&checks, st == PORTA_ERR_NO_DEVICE && count == 0 && strstr(err, "no OpenCL platform"),
             "no ICD: listing gives PORTA_ERR_NO_DEVICE: %s", err);
  porta_backend *be = NULL;
  st = porta_opencl_backend_create(&be, 0, err, sizeof err);
  check_true(&checks, st == PORTA_ERR_NO_DEVICE && be == NULL && strstr(err, "-1001"),
             "no ICD: create gives PORTA_ERR_NO_DEVICE: %s", err);
  return check_finish(&checks);
}

/* Runs this program again as a child with no OpenCL driver visible. Called before any OpenCL
 * call, so the fork copies a single-threaded process. */
static void test_no_platform(const char *self) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OCL_ICD_VENDORS", "/nonexistent-porta-test", 1);
    setenv("OCL_ICD_FILENAMES", "", 1);
    execl(self, self, "--expect-no-platform", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  bool ok =
      pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  check_true(&checks, ok,
             "a process without any OpenCL platform gets clear errors (child status %d)", status);
}

/* Random 4-D shapes with size-1 dims anywhere, broadcast (0) and permuted strides: binary add and
 * copy_strided against a host walk. The host merges dims before launching; a wrong merge shows
 * here (the conformance cases are regular shapes). */
static void test_strided_shapes(porta_backend *be, check_rng *rng) {
  enum { cases = 200, cap = 81 }; /* shapes up to 3×3×3×3 */
  float a[cap], b[cap], out[cap], want[cap];
  for (int i = 0; i < cap; i++) a[i] = (float)i, b[i] = (float)(1000 * i);
  void *da = dev_alloc(be, cap), *db = dev_alloc(be, cap), *dout = dev_alloc(be, cap);
  be->ops->upload(be, da, 0, a, sizeof a);
  be->ops->upload(be, db, 0, b, sizeof b);
  int bad_binary = 0, bad_copy = 0, copies = 0;
  for (int t = 0; t < cases; t++) {
    int64_t shape[4], contiguous[4], sa[4], sb[4], step = 1;
    for (int d = 3; d >= 0; d--) {
      shape[d] = check_rng_int(rng, 1, 3);
      contiguous[d] = step;
      step *= shape[d];
    }
    for (int d = 0; d < 4; d++) {
      sa[d] = check_rng_int(rng, 0, 2) == 0 ? 0 : contiguous[d];
      sb[d] = check_rng_int(rng, 0, 2) == 0 ? 0 : contiguous[d];
    }
    int x = (int)check_rng_int(rng, 0, 3), y = (int)check_rng_int(rng, 0, 3); /* permute a */
    int64_t tmp = sa[x];
    sa[x] = sa[y], sa[y] = tmp;
    porta_binary_args ba = {PORTA_BINARY_ADD, {dout, 0}, {da, 0}, {db, 0}, {0}, {0}, {0}};
    porta_copy_args ca = {{dout, 0}, {da, 0}, {0}, {0}, {0}, false};
    for (int d = 0; d < 4; d++) {
      ba.shape[d] = ca.shape[d] = shape[d];
      ba.a_stride[d] = sa[d], ba.b_stride[d] = sb[d];
      ca.x_stride[d] = contiguous[d], ca.out_stride[d] = sa[d] ? sa[d] : contiguous[d];
    }
    /* binary: out contiguous */
    for (int64_t i0 = 0, k = 0; i0 < shape[0]; i0++)
      for (int64_t i1 = 0; i1 < shape[1]; i1++)
        for (int64_t i2 = 0; i2 < shape[2]; i2++)
          for (int64_t i3 = 0; i3 < shape[3]; i3++, k++)
            want[k] = a[i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3]] +
                      b[i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3]];
    porta_status st = be->ops->binary(be, &ba);
    if (st == PORTA_OK) st = be->ops->download(be, dout, 0, out, (size_t)step * 4);
    if (st != PORTA_OK || memcmp(out, want, (size_t)step * 4) != 0) bad_binary++;
    /* copy_strided into the permuted layout, when its positions are distinct */
    bool seen[cap * 3] = {false}, distinct = true;
    for (int64_t i0 = 0; i0 < shape[0]; i0++)
      for (int64_t i1 = 0; i1 < shape[1]; i1++)
        for (int64_t i2 = 0; i2 < shape[2]; i2++)
          for (int64_t i3 = 0; i3 < shape[3]; i3++) {
            int64_t at = i0 * ca.out_stride[0] + i1 * ca.out_stride[1] + i2 * ca.out_stride[2] +
                         i3 * ca.out_stride[3];
            if (at >= cap || seen[at])
              distinct = false;
            else
              seen[at] = true;
          }
    if (!distinct) continue;
    copies++;
    for (int i = 0; i < cap; i++) want[i] = out[i] = -1.0f;
    be->ops->upload(be, dout, 0, want, sizeof want);
    for (int64_t i0 = 0, k = 0; i0 < shape[0]; i0++)
      for (int64_t i1 = 0; i1 < shape[1]; i1++)
        for (int64_t i2 = 0; i2 < shape[2]; i2++)
          for (int64_t i3 = 0; i3 < shape[3]; i3++, k++)
            want[i0 * ca.out_stride[0] + i1 * ca.out_stride[1] + i2 * ca.out_stride[2] +
                 i3 * ca.out_stride[3]] = a[k];
    st = be->ops->copy_strided(be, &ca);
    if (st == PORTA_OK) st = be->ops->download(be, dout, 0, out, sizeof out);
    if (st != PORTA_OK || memcmp(out, want, sizeof out) != 0) bad_copy++;
  }
  check_true(&checks, bad_binary == 0 && bad_copy == 0,
             "%d random 4-D shapes with size-1 dims, broadcasts and permuted strides: binary "
             "%d wrong, copy_strided %d of %d wrong",
             cases, bad_binary, bad_copy, copies);
  be->ops->free(be, da);
  be->ops->free(be, db);
  be->ops->free(be, dout);
}

/* bench_fma: every item's chains, computed on the host the same way (fmaf is exact). */
static void test_bench_fma(porta_backend *be) {
  if (!be->ops->bench_fma) return;
  enum { n = 1003, iters = 5 };
  float got[n];
  void *buf = dev_alloc(be, n + 2);
  porta_status st = be->ops->bench_fma(be, (porta_ref){buf, 2}, n, iters);
  if (st == PORTA_OK) st = be->ops->download(be, buf, 8, got, sizeof got);
  int bad = 0;
  for (int i = 0; i < n && st == PORTA_OK; i++) {
    float a[8];
    for (int k = 0; k < 8; k++) a[k] = (float)(i % 1024) * 0.001f + (float)k;
    for (int it = 0; it < iters; it++)
      for (int k = 0; k < 8; k++) a[k] = fmaf(a[k], 0.999f, 0.001f);
    float want = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    bad += fabsf(got[i] - want) > 1e-6f * fabsf(want);
  }
  check_true(&checks, st == PORTA_OK && bad == 0, "bench_fma over %d items at offset 2: %d wrong",
             n, bad);
  be->ops->free(be, buf);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--expect-no-platform") == 0) return expect_no_platform();
  /* A private cache directory, emptied first. */
  char dir[1024];
  const char *base = getenv("PORTA_CACHE_DIR");
  snprintf(dir, sizeof dir, "%s/test_opencl_backend", base && *base ? base : "/tmp/porta-cache");
  mkdir(base && *base ? base : "/tmp/porta-cache", 0755);
  mkdir(dir, 0755);
  count_files(dir, "", "", remove_file);
  setenv("PORTA_CACHE_DIR", dir, 1);
  unsetenv("PORTA_OPENCL_GEMM");
  /* First, while no driver thread exists yet (the child is forked). */
  test_no_platform(argv[0]);

  char err[4096] = "";
  porta_device_info infos[16];
  int count = 0;
  porta_status st = porta_opencl_list_devices(infos, 16, &count, err, sizeof err);
  if (st == PORTA_ERR_NO_DEVICE) {
    printf("no OpenCL device, nothing to test: %s\n", err);
    return 0;
  }
  check_true(&checks, st == PORTA_OK && count >= 1, "list devices: %d found", count);
  for (int i = 0; i < count && i < 16; i++) {
    const porta_device_info *d = &infos[i];
    printf("  %d: %s | %s | driver %s | %s | %d CUs | %llu MiB (max alloc %llu MiB) | wg %d | "
           "fp16 %d | cpu %d | %s\n",
           d->index, d->name, d->vendor, d->driver, d->api_version, d->compute_units,
           (unsigned long long)(d->global_mem_bytes >> 20),
           (unsigned long long)(d->max_alloc_bytes >> 20), d->max_workgroup_size, d->fp16,
           d->is_cpu, d->extra);
    check_true(&checks,
               d->backend == PORTA_BACKEND_OPENCL && d->index == i && d->name[0] &&
                   strncmp(d->api_version, "OpenCL ", 7) == 0 && d->compute_units > 0 &&
                   d->global_mem_bytes > 0 && d->max_alloc_bytes > 0 && d->max_workgroup_size > 0,
               "device %d has its fields filled", i);
  }

  porta_backend *be = NULL;
  st = porta_opencl_backend_create(&be, count + 3, err, sizeof err);
  check_true(&checks, st == PORTA_ERR_NO_DEVICE && be == NULL && strstr(err, "does not exist"),
             "device %d out of range: %s", count + 3, err);
  setenv("PORTA_OPENCL_GEMM", "fastest", 1);
  st = porta_opencl_backend_create(&be, 0, err, sizeof err);
  check_true(&checks, st == PORTA_ERR_INVALID_ARGUMENT && be == NULL,
             "PORTA_OPENCL_GEMM=fastest is refused: %s", err);
  unsetenv("PORTA_OPENCL_GEMM");

  int device = 0;
  const char *env = getenv("PORTA_DEVICE");
  if (env && *env) device = atoi(env);
  st = porta_opencl_backend_create(&be, device, err, sizeof err);
  if (!check_true(&checks, st == PORTA_OK, "create OpenCL device %d (%s)", device, err))
    return check_finish(&checks);
  printf("device %d: %s (%s), cache %s\n", device, be->info.name, be->info.api_version,
         porta_opencl_cache_dir(be));

  check_rng rng = check_rng_make(7);
  test_buffers(be);
  test_strided_shapes(be, &rng);
  test_build_error(be);
  test_dropout(be);
  test_bench_fma(be);
  test_profile(be);
  test_gemm(be, &rng);
  be->ops->destroy(be);
  test_program_cache(device);
  return check_finish(&checks);
}
