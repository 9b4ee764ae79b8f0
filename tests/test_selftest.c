/* The device self-test: every backend's device passes here (CPU, PoCL, lavapipe) with each path
 * listed and its verdict cached; a cached FAIL (written into the cache file, as a broken driver
 * would leave it) switches that path off in a context created with the self-test, which then
 * says so once and still computes right through the plain variant; PORTA_SELFTEST=0 ignores
 * the verdict; and AUTO never picks a CPU emulator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "porta/porta.h"

static int failures = 0;

static void expect(bool ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail && detail[0] ? ": " : "",
         detail ? detail : "");
  if (!ok) failures++;
}

static bool device_exists(porta_backend_kind kind) {
  porta_device_info info;
  int count = 0;
  return porta_backend_compiled(kind) &&
         porta_list_devices(kind, &info, 1, &count, NULL, 0) == PORTA_OK && count > 0;
}

/* The first fast path (not a fallback) the device under test uses: the one made to fail. */
static char used_path[32];

/* Runs it fresh, then from the cache; returns the cache file (static storage). */
static const char *check_device(porta_backend_kind kind) {
  used_path[0] = '\0';
  static char file[1024];
  porta_selftest_report *r = malloc(sizeof *r), *again = malloc(sizeof *again);
  char err[1024] = "", what[128];
  porta_status st = porta_device_selftest(kind, 0, 0, r, err, sizeof err);
  snprintf(what, sizeof what, "%s: self-test runs", porta_backend_name(kind));
  expect(st == PORTA_OK, what, err);
  if (st != PORTA_OK) {
    free(r);
    free(again);
    return NULL;
  }
  for (int i = 0; i < r->count; i++) {
    const porta_selftest_path *p = &r->paths[i];
    char detail[400];
    snprintf(detail, sizeof detail, "%s, %d checks, max error %.2g%s%s",
             porta_selftest_verdict_name(p->verdict), p->cases, p->max_error,
             p->detail[0] ? ", " : "", p->detail);
    snprintf(what, sizeof what, "%s: path %s", porta_backend_name(kind), p->name);
    /* a path this device never takes (lavapipe's texel shaders on a GPU) may fail here */
    expect(p->verdict == PORTA_SELFTEST_UNAVAILABLE || !p->used ||
               (p->verdict == PORTA_SELFTEST_PASS && p->cases > 0 && p->max_error < 1e-3),
           what, detail);
    if (!used_path[0] && p->used && !p->safe && p->verdict == PORTA_SELFTEST_PASS &&
        strcmp(p->name, "ops"))
      snprintf(used_path, sizeof used_path, "%s", p->name);
  }
  snprintf(what, sizeof what, "%s: passed, 'ops' last, cached", porta_backend_name(kind));
  expect(r->passed && r->count >= 2 && !strcmp(r->paths[r->count - 1].name, "ops") &&
             r->cache_file[0] && access(r->cache_file, R_OK) == 0 && !r->cached,
         what, r->cache_file);
  st = porta_device_selftest(kind, 0, PORTA_SELFTEST_USE_CACHE, again, err, sizeof err);
  bool same = st == PORTA_OK && again->cached && again->count == r->count && again->passed;
  for (int i = 0; same && i < r->count; i++)
    same = !strcmp(again->paths[i].name, r->paths[i].name) &&
           again->paths[i].verdict == r->paths[i].verdict &&
           again->paths[i].used == r->paths[i].used &&
           !strcmp(again->paths[i].ops, r->paths[i].ops);
  snprintf(what, sizeof what, "%s: the cached verdict reads back the same",
           porta_backend_name(kind));
  expect(same, what, err);
  snprintf(file, sizeof file, "%s", r->cache_file);
  free(r);
  free(again);
  return file;
}

/* Rewrites path `name`'s line of a cache file as a FAIL. */
static bool inject_failure(const char *file, const char *name) {
  FILE *f = fopen(file, "r");
  if (!f) return false;
  char text[16384] = "", line[1024], prefix[64];
  snprintf(prefix, sizeof prefix, "path %s 0 ", name);
  bool found = false;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, prefix, strlen(prefix))) {
      line[strlen(prefix) - 2] = '1';
      char *bar = strchr(line, '|');
      if (bar) snprintf(bar, sizeof line - (size_t)(bar - line), "|injected by test_selftest\n");
      found = true;
    }
    strncat(text, line, sizeof text - strlen(text) - 1);
  }
  fclose(f);
  f = fopen(file, "w");
  if (!f) return false;
  fputs(text, f);
  return fclose(f) == 0 && found;
}

/* out = a · b for a 36×40 and b 40×44 (aligned for the vec4 and texel shaders), against loops. */
static bool matmul_right(porta_context *ctx) {
  enum { M = 36, K = 40, N = 44 };
  static float a[M * K], b[K * N], c[M * N];
  for (int i = 0; i < M * K; i++) a[i] = (float)((i * 37) % 11) / 8.0f - 0.5f;
  for (int i = 0; i < K * N; i++) b[i] = (float)((i * 13) % 7) / 4.0f - 0.75f;
  porta_tensor *ta = NULL, *tb = NULL, *tc = NULL;
  bool ok =
      porta_tensor_from_host(ctx, &ta, PORTA_F32, 2, (const int64_t[]){M, K}, a) == PORTA_OK &&
      porta_tensor_from_host(ctx, &tb, PORTA_F32, 2, (const int64_t[]){K, N}, b) == PORTA_OK &&
      porta_matmul(&tc, ta, tb, false, false) == PORTA_OK &&
      porta_tensor_download(tc, c, M * N) == PORTA_OK;
  for (int i = 0; ok && i < M; i++)
    for (int j = 0; ok && j < N; j++) {
      double ref = 0;
      for (int q = 0; q < K; q++) ref += (double)a[i * K + q] * b[q * N + j];
      if (!(c[i * N + j] - ref < 1e-4 && ref - c[i * N + j] < 1e-4)) ok = false;
    }
  porta_tensor_free(ta);
  porta_tensor_free(tb);
  porta_release_temporaries(ctx);
  return ok;
}

/* A cached FAIL of `path` on device 0 of kind: switched off (bit), said once, still right. */
static void check_fallback(porta_backend_kind kind, const char *file, const char *path) {
  char what[160];
  snprintf(what, sizeof what, "%s: a failure of %s written into the cache",
           porta_backend_name(kind), path);
  expect(inject_failure(file, path), what, file);
  porta_context_options o;
  porta_context_options_init(&o);
  o.backend = kind;
  o.device = 0;
  o.selftest = PORTA_SELFTEST_IF_CACHED;
  porta_context *ctx = NULL;
  char err[512] = "";
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    expect(false, "context with the self-test", err);
    return;
  }
  const char *note = porta_context_selftest_note(ctx);
  snprintf(what, sizeof what, "%s: %s switched off and said so", porta_backend_name(kind), path);
  expect(strstr(note, path) && strstr(note, "injected") && strstr(note, "switched off") &&
             ctx->be->paths_off != 0,
         what, note);
  snprintf(what, sizeof what, "%s: matmul still right without %s", porta_backend_name(kind), path);
  expect(matmul_right(ctx), what, NULL);
  porta_context_destroy(ctx);

  setenv("PORTA_SELFTEST", "0", 1);
  ctx = NULL;
  porta_context_create(&ctx, &o, NULL, 0);
  snprintf(what, sizeof what, "%s: PORTA_SELFTEST=0 ignores the verdict", porta_backend_name(kind));
  expect(ctx && !porta_context_selftest_note(ctx)[0] && ctx->be->paths_off == 0, what, NULL);
  porta_context_destroy(ctx);
  unsetenv("PORTA_SELFTEST");

  /* the report reads back as failed: `porta devices --selftest` exits non-zero */
  porta_selftest_report *r = malloc(sizeof *r);
  porta_status st = porta_device_selftest(kind, 0, PORTA_SELFTEST_USE_CACHE, r, err, sizeof err);
  snprintf(what, sizeof what, "%s: the report says failed", porta_backend_name(kind));
  expect(st == PORTA_OK && r->cached && !r->passed, what, err);
  free(r);
}

static void check_auto(void) {
  unsetenv("PORTA_BACKEND");
  porta_context *ctx = NULL;
  char err[512] = "";
  porta_status st = porta_context_create(&ctx, NULL, err, sizeof err);
  expect(st == PORTA_OK, "auto: a context", err);
  if (st != PORTA_OK) return;
  const porta_device_info *d = porta_context_device(ctx);
  const char *reason = porta_context_reason(ctx);
  bool ok = !strncmp(reason, "auto: ", 6) &&
            (porta_context_backend(ctx) == PORTA_BACKEND_CPU || !d->is_cpu);
  char detail[700];
  snprintf(detail, sizeof detail, "%s %d '%s' (%s)", porta_backend_name(porta_context_backend(ctx)),
           d->index, d->name, reason);
  expect(ok, "auto: the CPU backend or a real GPU, never an emulator", detail);
  porta_context_destroy(ctx);
  setenv("PORTA_BACKEND", "cpu", 1);
  st = porta_context_create(&ctx, NULL, err, sizeof err);
  expect(st == PORTA_OK && porta_context_backend(ctx) == PORTA_BACKEND_CPU &&
             !strcmp(porta_context_reason(ctx), "PORTA_BACKEND=cpu"),
         "PORTA_BACKEND=cpu is the reason", st == PORTA_OK ? porta_context_reason(ctx) : err);
  porta_context_destroy(ctx);
  unsetenv("PORTA_BACKEND");
}

int main(void) {
  /* a cache of its own: the injected failures must not reach other tests */
  char dir[1024];
  const char *tmp = getenv("TMPDIR"); /* not the build folder: the binary may run elsewhere */
  snprintf(dir, sizeof dir, "%s/porta-selftest-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
  setenv("PORTA_CACHE_DIR", dir, 1);
  unsetenv("PORTA_SELFTEST");
  const char *only = getenv("PORTA_TEST_BACKENDS");
  const porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL,
                                       PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    const char *name = porta_backend_name(kinds[k]);
    if ((only && !strstr(only, name)) || !device_exists(kinds[k])) {
      printf("skip %s: no device\n", name);
      continue;
    }
    const char *file = check_device(kinds[k]);
    if (file && used_path[0]) check_fallback(kinds[k], file, used_path);
  }
  check_auto();
  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
  printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
