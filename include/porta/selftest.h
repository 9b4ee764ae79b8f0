/* porta — the device self-test (included by porta/porta.h).
 *
 * Drivers differ: a shader that is right on one GPU can be wrong on another (CLBlast's tuned
 * kernels on some GPUs, a subgroup reduction on an emulator). The self-test runs every op, and
 * every fast path the backend may choose on this device — each GEMM variant, the layouts of the
 * row shaders (softmax, layer norm, cross-entropy, reductions), subgroup and texel-buffer paths —
 * on small odd shapes against the CPU backend's plain loops, and caches the verdict on disk keyed
 * by device, driver and porta version (and porta's kernels). A context created with
 * porta_context_options.selftest switches off the paths that failed, so the backend takes the
 * plain variant of that family instead. `porta devices --selftest` prints it; docs/selftest.md
 * says what to send when a path fails.
 */
#ifndef PORTA_SELFTEST_H
#define PORTA_SELFTEST_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum porta_selftest_verdict {
  PORTA_SELFTEST_PASS = 0,
  PORTA_SELFTEST_FAIL = 1,        /* a result differed from the CPU reference, or an op failed */
  PORTA_SELFTEST_UNAVAILABLE = 2, /* the device lacks what the path needs: not run, never used */
} porta_selftest_verdict;

/* "pass", "FAIL", "unavailable". */
PORTA_API const char *porta_selftest_verdict_name(porta_selftest_verdict verdict);

#define PORTA_SELFTEST_MAX_PATHS 20

typedef struct porta_selftest_path {
  char name[32]; /* "gemm.texel", "rows.subgroup"; "ops" = every op through the usual choice */
  char ops[160]; /* the ops it covers: "gemm", "softmax softmax_bwd layernorm ..." */
  porta_selftest_verdict verdict;
  bool used;        /* the automatic choice may use it on this device */
  bool safe;        /* the plain variant of its family, taken where a path failed */
  int cases;        /* checks run */
  double max_error; /* worst normalised error max|got - ref| / max(1, max|ref|) of its checks */
  char detail[256]; /* the first failing case and why, or why unavailable; "" on a pass */
} porta_selftest_path;

typedef struct porta_selftest_report {
  porta_device_info device;
  char porta_version[16]; /* "0.1.0" */
  int count;
  porta_selftest_path paths[PORTA_SELFTEST_MAX_PATHS];
  bool passed;           /* every path the automatic choice may use passed */
  bool cached;           /* read from the cache, not run now */
  char cache_file[1024]; /* where the verdict is kept ("" without a cache directory) */
  double seconds;        /* how long the run took (the original run's, when cached) */
  double gemm_gflops;    /* a short GEMM timing through the usual choice (PORTA_SELFTEST_MEASURE),
                            which --backend auto compares; 0 when not measured */
} porta_selftest_report;

/* Flags of porta_device_selftest. */
enum {
  PORTA_SELFTEST_USE_CACHE = 1, /* return the cached verdict when there is one */
  PORTA_SELFTEST_MEASURE = 2,   /* also time a 1024×1536×384 GEMM (cached with the verdict) */
};

/* Runs the self-test of device `device` of `backend` (not AUTO) and writes the verdict to the
 * cache ($PORTA_CACHE_DIR, else $XDG_CACHE_HOME/porta, else ~/.cache/porta). A failing path is
 * not an error: the call returns PORTA_OK with out->passed false. Errors are for a device that
 * cannot be opened (message in err). */
PORTA_API porta_status porta_device_selftest(porta_backend_kind backend, int device, unsigned flags,
                                             porta_selftest_report *out, char *err,
                                             size_t err_size);

/* What the self-test changed on this context: "" when nothing, else one line such as
 * "self-test: gemm.texel failed on this device (gemm nt 36x48x32 ...): using the plain
 * variant". Callers print it once. */
PORTA_API const char *porta_context_selftest_note(const porta_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* PORTA_SELFTEST_H */
