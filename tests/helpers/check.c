/* The shared test check library (see check.h). */
#include "helpers/check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

check_rng check_rng_make(uint64_t seed) {
  check_rng rng = {seed ^ 0x9E3779B97F4A7C15ull};
  return rng;
}

/* splitmix64: tiny, fast, and the same sequence on every platform. */
uint64_t check_rng_next(check_rng *rng) {
  uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float check_rng_uniform(check_rng *rng, float lo, float hi) {
  float u = (float)(check_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

int64_t check_rng_int(check_rng *rng, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1;
  return lo + (int64_t)(check_rng_next(rng) % span);
}

void check_fill_uniform(check_rng *rng, float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = check_rng_uniform(rng, lo, hi);
}

double check_norm_err(const float *x, const float *ref, size_t n, size_t *worst) {
  return check_norm_err_floor(x, ref, n, 1e-6, worst);
}

double check_norm_err_floor(const float *x, const float *ref, size_t n, double floor,
                            size_t *worst) {
  double max_ref = 0.0, max_diff = 0.0;
  size_t worst_i = 0;
  bool mismatch = false;
  for (size_t i = 0; i < n; i++) {
    if (isfinite(ref[i]) && fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
  }
  for (size_t i = 0; i < n; i++) {
    if (isnan(x[i]) && isnan(ref[i])) continue;
    if (isinf(x[i]) || isinf(ref[i]) || isnan(x[i]) || isnan(ref[i])) {
      if (x[i] == ref[i]) continue; /* the same infinity */
      if (!mismatch) worst_i = i;
      mismatch = true;
      continue;
    }
    double diff = fabs((double)x[i] - (double)ref[i]);
    if (diff > max_diff && !mismatch) worst_i = i;
    if (diff > max_diff) max_diff = diff;
  }
  if (worst) *worst = worst_i;
  if (mismatch) return INFINITY;
  return max_diff / (max_ref > floor ? max_ref : floor);
}

static void vprint_line(const char *fmt, va_list ap) { vprintf(fmt, ap); }

bool check_true(check_counter *c, bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint_line(fmt, ap);
  va_end(ap);
  printf(": %s\n", ok ? "ok" : "FAIL");
  if (ok)
    c->passed++;
  else
    c->failed++;
  fflush(stdout);
  return ok;
}

bool check_close(check_counter *c, const char *what, const float *got, const float *want, size_t n,
                 double tol) {
  size_t worst = 0;
  double err = check_norm_err(got, want, n, &worst);
  bool ok = err <= tol;
  if (ok)
    printf("%s: err=%.1e (tol %.0e) ok\n", what, err, tol);
  else
    printf("%s: err=%.1e (tol %.0e) FAIL: [%zu] = %.9g, want %.9g\n", what, err, tol, worst,
           n ? (double)got[worst] : 0.0, n ? (double)want[worst] : 0.0);
  if (ok)
    c->passed++;
  else
    c->failed++;
  fflush(stdout);
  return ok;
}

bool check_count(check_counter *c, bool ok) {
  if (ok)
    c->passed++;
  else
    c->failed++;
  return ok;
}

bool check_that(check_counter *c, bool ok, const char *cond, const char *file, int line,
                const char *fmt, ...) {
  if (ok) {
    c->passed++;
    return true;
  }
  c->failed++;
  printf("FAIL %s:%d: %s: ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  vprint_line(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  return false;
}

porta_status check_status(porta_status status, const porta_context *ctx, const char *call,
                          const char *file, int line, bool allow_unsupported) {
  if (status == PORTA_OK) return status;
  if (status == PORTA_ERR_UNSUPPORTED && allow_unsupported) {
    printf("unsupported: %s\n", porta_last_error(ctx));
    return status;
  }
  fflush(stdout);
  fprintf(stderr, "FAIL %s:%d %s -> %s: %s\n", file, line, call, porta_status_string(status),
          porta_last_error(ctx));
  exit(1);
}

void check_skip(check_counter *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint_line(fmt, ap);
  va_end(ap);
  printf(": skipped\n");
  c->skipped++;
  fflush(stdout);
}

bool check_env_selects(const char *var, const char *name) {
  const char *list = getenv(var);
  if (!list || !*list) return true;
  size_t len = strlen(name);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && strncmp(p, name, n) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

int check_finish(const check_counter *c) {
  if (c->skipped)
    printf("%d passed, %d failed (%d skipped)\n", c->passed, c->failed, c->skipped);
  else
    printf("%d passed, %d failed\n", c->passed, c->failed);
  return c->failed ? 1 : 0;
}
