/* The device self-test (porta/selftest.h): runs the cases of selftest_cases.c through each path
 * the backend lists (forced one at a time) and through its usual choice, keeps the verdict in the
 * cache directory keyed by device, driver, porta version and porta's kernels, and switches off
 * the failed paths of a context's backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/selftest.h"
/* embedded.h has a slash-star inside a comment, which -Wcomment rejects under -Werror. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "backend/embedded.h"
#pragma GCC diagnostic pop

#ifndef PORTA_VERSION
#define PORTA_VERSION "0.0.0"
#endif

const char *porta_selftest_verdict_name(porta_selftest_verdict verdict) {
  switch (verdict) {
  case PORTA_SELFTEST_PASS:
    return "pass";
  case PORTA_SELFTEST_FAIL:
    return "FAIL";
  case PORTA_SELFTEST_UNAVAILABLE:
    return "unavailable";
  }
  return "unknown";
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the cache ------------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }

/* selftest-<backend>-<key>.txt, the key over device, driver, porta version and every kernel and
 * shader porta carries (new kernels, new verdict). "" without a cache directory. */
static void cache_file(const porta_device_info *d, char *path, size_t size) {
  char dir[900];
  porta_cache_dir(dir, sizeof dir);
  path[0] = '\0';
  if (!dir[0]) return;
  uint64_t key = fnv_str(0xcbf29ce484222325ull, porta_backend_name(d->backend));
  key = fnv_str(key, d->name);
  key = fnv_str(key, d->vendor);
  key = fnv_str(key, d->driver);
  key = fnv_str(key, d->api_version);
  key = fnv_str(key, PORTA_VERSION);
  const porta_embedded_file *tables[2] = {porta_embedded_kernels, porta_embedded_shaders};
  for (int t = 0; t < 2; t++)
    for (const porta_embedded_file *f = tables[t]; f->name; f++) key = fnv(key, f->data, f->size);
  snprintf(path, size, "%s/selftest-%s-%016llx.txt", dir, porta_backend_name(d->backend),
           (unsigned long long)key);
}

/* Lines: "seconds S", "gemm_gflops G", then per path
 * "path NAME VERDICT USED SAFE CASES MAX_ERROR OPS|DETAIL" (ops with ',' for spaces). */
static void report_save(const porta_selftest_report *r) {
  if (!r->cache_file[0]) return;
  size_t cap = 4096 + (size_t)r->count * 600, len = 0;
  char *text = malloc(cap);
  if (!text) return;
  len += (size_t)snprintf(text + len, cap - len,
                          "# porta %s device self-test: %s %d '%s', driver '%s'\nseconds %.3f\n"
                          "gemm_gflops %.3f\n",
                          r->porta_version, porta_backend_name(r->device.backend), r->device.index,
                          r->device.name, r->device.driver, r->seconds, r->gemm_gflops);
  for (int i = 0; i < r->count && len < cap; i++) {
    const porta_selftest_path *p = &r->paths[i];
    char ops[sizeof p->ops];
    snprintf(ops, sizeof ops, "%s", p->ops);
    for (char *c = ops; *c; c++)
      if (*c == ' ') *c = ','; /* one word in the file */
    len += (size_t)snprintf(text + len, cap - len, "path %s %d %d %d %d %.6g %s|%s\n", p->name,
                            (int)p->verdict, p->used, p->safe, p->cases, p->max_error,
                            ops[0] ? ops : "-", p->detail);
  }
  if (len < cap) porta_cache_write(r->cache_file, text, len);
  free(text);
}

/* Fills r's paths, seconds and gemm_gflops from its cache file; false when there is none (or it
 * is malformed). */
static bool report_load(porta_selftest_report *r) {
  if (!r->cache_file[0]) return false;
  FILE *f = fopen(r->cache_file, "r");
  if (!f) return false;
  char line[1024];
  int count = 0;
  bool ok = true;
  while (ok && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#') continue;
    if (sscanf(line, "seconds %lf", &r->seconds) == 1) continue;
    if (sscanf(line, "gemm_gflops %lf", &r->gemm_gflops) == 1) continue;
    porta_selftest_path p;
    memset(&p, 0, sizeof p);
    int verdict = 0, used = 0, safe = 0, at = 0;
    char ops[160];
    if (count >= PORTA_SELFTEST_MAX_PATHS ||
        sscanf(line, "path %31s %d %d %d %d %lf %159[^|]|%n", p.name, &verdict, &used, &safe,
               &p.cases, &p.max_error, ops, &at) < 7 ||
        at == 0 || verdict < 0 || verdict > 2) {
      ok = false;
      break;
    }
    for (char *c = ops; *c; c++)
      if (*c == ',') *c = ' ';
    snprintf(p.ops, sizeof p.ops, "%s", strcmp(ops, "-") ? ops : "");
    snprintf(p.detail, sizeof p.detail, "%s", line + at);
    p.verdict = (porta_selftest_verdict)verdict;
    p.used = used != 0, p.safe = safe != 0;
    r->paths[count++] = p;
  }
  fclose(f);
  if (!ok || count == 0) return false;
  r->count = count;
  r->passed = true;
  for (int i = 0; i < count; i++)
    if (r->paths[i].used && r->paths[i].verdict == PORTA_SELFTEST_FAIL) r->passed = false;
  return true;
}

/* ---- running it ------------------------------------------------------------------------------ */

static void ops_list(uint32_t mask, char *out, size_t size) {
  size_t len = 0;
  out[0] = '\0';
  for (int op = 0; op < PORTA_OP_COUNT; op++)
    if (mask & 1u << op) {
      int n = snprintf(out + len, size - len, "%s%s", len ? " " : "", porta_op_name((porta_op)op));
      if (n < 0 || (size_t)n >= size - len) break;
      len += (size_t)n;
    }
}

static void run_cases(st_harness *h, unsigned groups, porta_selftest_path *p) {
  h->cases = 0, h->max_error = 0, h->failed = false, h->detail[0] = '\0';
  porta_selftest_cases(h, groups);
  p->cases = h->cases;
  p->max_error = h->max_error;
  p->verdict = h->failed ? PORTA_SELFTEST_FAIL : PORTA_SELFTEST_PASS;
  snprintf(p->detail, sizeof p->detail, "%s", h->detail);
}

/* GFLOP/s of a 1024×1536×384 x·Wᵀ (a MiniLM FFN projection) through the usual choice: best of
 * three after a warm-up; 0 when it fails. */
static double measure_gemm(porta_backend *be) {
  const int64_t m = 1024, n = 1536, k = 384;
  void *a = NULL, *b = NULL, *c = NULL;
  double best = 0.0;
  if (be->ops->alloc(be, (size_t)(m * k) * 4, &a) == PORTA_OK &&
      be->ops->alloc(be, (size_t)(n * k) * 4, &b) == PORTA_OK &&
      be->ops->alloc(be, (size_t)(m * n) * 4, &c) == PORTA_OK &&
      be->ops->fill(be, (porta_ref){a, 0}, m * k, 0.5f) == PORTA_OK &&
      be->ops->fill(be, (porta_ref){b, 0}, n * k, 0.25f) == PORTA_OK) {
    porta_gemm_args g = {.trans_b = true, .m = m, .n = n, .k = k, .alpha = 1.0f};
    g.a = (porta_ref){a, 0}, g.b = (porta_ref){b, 0}, g.c = (porta_ref){c, 0};
    g.lda = k, g.ldb = k, g.ldc = n, g.batch = 1;
    for (int rep = 0; rep < 4; rep++) {
      double t0 = now_seconds();
      if (be->ops->gemm(be, &g) != PORTA_OK || be->ops->synchronize(be) != PORTA_OK) {
        best = 0.0;
        break;
      }
      double rate = 2.0 * (double)(m * n * k) / (now_seconds() - t0) * 1e-9;
      if (rep > 0 && rate > best) best = rate;
    }
  }
  if (a) be->ops->free(be, a);
  if (b) be->ops->free(be, b);
  if (c) be->ops->free(be, c);
  return best;
}

/* The self-test of an open backend (its paths switched off meanwhile are restored after). */
static porta_status selftest_backend(porta_backend *be, unsigned flags, porta_selftest_report *r,
                                     char *err, size_t err_size) {
  double t0 = now_seconds();
  st_harness *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, err_size, "self-test: out of host memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  porta_backend *ref = NULL;
  porta_backend_options ref_options = {.device = 0, .num_threads = 1, .reference = true};
  porta_status st =
      porta_backend_lookup(PORTA_BACKEND_CPU)->create(&ref, &ref_options, err, err_size);
  if (st != PORTA_OK) {
    free(h);
    return st;
  }
  h->be[0] = be, h->be[1] = ref;
  uint32_t saved_off = be->paths_off;
  be->paths_off = 0;
  porta_backend_path paths[PORTA_MAX_PATHS];
  int n = be->ops->paths ? be->ops->paths(be, paths, PORTA_MAX_PATHS) : 0;
  if (n > PORTA_MAX_PATHS) n = PORTA_MAX_PATHS;
  if (n > PORTA_SELFTEST_MAX_PATHS - 1) n = PORTA_SELFTEST_MAX_PATHS - 1;
  r->count = 0;
  for (int i = 0; i < n; i++) {
    porta_selftest_path *p = &r->paths[r->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", paths[i].name);
    ops_list(paths[i].op_mask, p->ops, sizeof p->ops);
    p->used = paths[i].automatic && paths[i].available;
    p->safe = paths[i].safe;
    if (!paths[i].available) {
      p->verdict = PORTA_SELFTEST_UNAVAILABLE;
      snprintf(p->detail, sizeof p->detail, "the device lacks what this path needs");
      continue;
    }
    if (be->ops->path_force(be, i) != PORTA_OK) {
      p->verdict = PORTA_SELFTEST_FAIL;
      snprintf(p->detail, sizeof p->detail, "cannot be selected: %.200s", be->err);
    } else {
      run_cases(h, porta_selftest_groups(paths[i].op_mask), p);
    }
    be->ops->path_force(be, -1);
  }
  porta_selftest_path *all = &r->paths[r->count++];
  memset(all, 0, sizeof *all);
  snprintf(all->name, sizeof all->name, "ops");
  snprintf(all->ops, sizeof all->ops, "every op through the usual choice");
  all->used = true;
  run_cases(h, ST_ALL, all);
  r->gemm_gflops = (flags & PORTA_SELFTEST_MEASURE) ? measure_gemm(be) : 0.0;
  be->paths_off = saved_off;
  ref->ops->destroy(ref);
  free(h);
  r->passed = true;
  for (int i = 0; i < r->count; i++)
    if (r->paths[i].used && r->paths[i].verdict == PORTA_SELFTEST_FAIL) r->passed = false;
  r->cached = false;
  r->seconds = now_seconds() - t0;
  return PORTA_OK;
}

static void report_init(porta_selftest_report *r, const porta_device_info *d) {
  memset(r, 0, sizeof *r);
  r->device = *d;
  snprintf(r->porta_version, sizeof r->porta_version, "%s", PORTA_VERSION);
  cache_file(d, r->cache_file, sizeof r->cache_file);
}

/* The report of an open backend: cached, or run now (and saved). */
static porta_status selftest_report(porta_backend *be, unsigned flags, porta_selftest_report *r,
                                    char *err, size_t err_size) {
  report_init(r, &be->info);
  if ((flags & PORTA_SELFTEST_USE_CACHE) && report_load(r)) {
    r->cached = true;
    if (!(flags & PORTA_SELFTEST_MEASURE) || r->gemm_gflops > 0) return PORTA_OK;
    r->gemm_gflops = measure_gemm(be); /* verdict cached, timing not yet */
    report_save(r);
    return PORTA_OK;
  }
  porta_status st = selftest_backend(be, flags, r, err, err_size);
  if (st == PORTA_OK) report_save(r);
  return st;
}

porta_status porta_device_selftest(porta_backend_kind backend, int device, unsigned flags,
                                   porta_selftest_report *out, char *err, size_t err_size) {
  if (err && err_size) err[0] = '\0';
  if (!out || backend == PORTA_BACKEND_AUTO || device < 0) {
    if (err && err_size)
      snprintf(err, err_size, "porta_device_selftest: needs a report, a backend and a device");
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  char local[1024];
  if (!err || err_size == 0) err = local, err_size = sizeof local;
  /* a cached verdict needs only the device list, not the device opened (--backend auto asks for
   * it on every context it creates) */
  enum { CAP = 16 };
  porta_device_info infos[CAP];
  int count = 0;
  if ((flags & PORTA_SELFTEST_USE_CACHE) && device < CAP &&
      porta_list_devices(backend, infos, CAP, &count, NULL, 0) == PORTA_OK && device < count) {
    report_init(out, &infos[device]);
    if (report_load(out) && (!(flags & PORTA_SELFTEST_MEASURE) || out->gemm_gflops > 0)) {
      out->cached = true;
      return PORTA_OK;
    }
  }
  porta_backend *be = NULL;
  porta_status st = porta_backend_open(&be, backend, device, 0, err, err_size);
  if (st != PORTA_OK) return st;
  st = selftest_report(be, flags, out, err, err_size);
  be->ops->destroy(be);
  return st;
}

/* ---- consulting it --------------------------------------------------------------------------- */

void porta_selftest_apply(porta_context *ctx, porta_selftest_use use) {
  ctx->selftest_note[0] = '\0';
  const char *env = getenv("PORTA_SELFTEST");
  if (use == PORTA_SELFTEST_OFF || (env && (!strcmp(env, "0") || !strcmp(env, "off")))) return;
  porta_backend *be = ctx->be;
  porta_selftest_report *r = malloc(sizeof *r);
  if (!r) return;
  char err[512] = "";
  porta_status st = PORTA_ERR_NOT_FOUND;
  if (use == PORTA_SELFTEST_RUN) {
    st = selftest_report(be, PORTA_SELFTEST_USE_CACHE, r, err, sizeof err);
  } else {
    report_init(r, &be->info);
    if (report_load(r)) st = PORTA_OK;
  }
  if (st != PORTA_OK) {
    if (use == PORTA_SELFTEST_RUN)
      snprintf(ctx->selftest_note, sizeof ctx->selftest_note, "self-test could not run: %.300s",
               err);
    free(r);
    return;
  }
  porta_backend_path paths[PORTA_MAX_PATHS];
  int n = be->ops->paths ? be->ops->paths(be, paths, PORTA_MAX_PATHS) : 0;
  uint32_t off = 0;
  size_t len = 0;
  for (int i = 0; i < r->count; i++) {
    const porta_selftest_path *p = &r->paths[i];
    if (p->verdict != PORTA_SELFTEST_FAIL) continue;
    int index = -1;
    for (int j = 0; j < n && j < PORTA_MAX_PATHS; j++)
      if (!strcmp(paths[j].name, p->name) && !paths[j].safe) index = j;
    if (index >= 0) off |= 1u << index;
    if (!p->used && index >= 0) continue; /* never taken here: nothing to say */
    const char *then = index >= 0 ? "switched off, porta takes another variant"
                                  : "no variant to fall back to: results may be wrong";
    int w = snprintf(ctx->selftest_note + len, sizeof ctx->selftest_note - len,
                     "%sself-test: %s failed on this device (%.160s): %s", len ? "\n" : "", p->name,
                     p->detail, then);
    if (w < 0 || (size_t)w >= sizeof ctx->selftest_note - len) break;
    len += (size_t)w;
  }
  be->paths_off = off;
  if (be->ops->path_force) be->ops->path_force(be, -1);
  free(r);
}

const char *porta_context_selftest_note(const porta_context *ctx) {
  return ctx ? ctx->selftest_note : "";
}
