/* A tiny check library shared by the tests: a seeded random generator, normalised-error
 * comparison, and a pass/fail counter that prints one line per check and a summary.
 *
 *   check_counter c = {0};
 *   check_rng rng = check_rng_make(42);
 *   check_fill_uniform(&rng, x, n, -1.0f, 1.0f);
 *   check_close(&c, "softmax row 0", got, want, n, 1e-5);
 *   check_true(&c, status == PORTA_OK, "alloc returned %d", (int)status);
 *   CHECK(&c, n == 3, "n = %d", n);           // silent unless it fails
 *   CHECK_OK(ctx, porta_add(&sum, a, b));      // exits with the context's message on failure
 *   return check_finish(&c);   // prints "N passed, N failed", returns 0 or 1 for main
 */
#ifndef PORTA_TEST_CHECK_H
#define PORTA_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"

typedef struct check_rng {
  uint64_t state;
} check_rng;

typedef struct check_counter {
  int passed, failed, skipped;
} check_counter;

check_rng check_rng_make(uint64_t seed);
uint64_t check_rng_next(check_rng *rng);
/* Uniform in [lo, hi). */
float check_rng_uniform(check_rng *rng, float lo, float hi);
/* Uniform integer in [lo, hi]. */
int64_t check_rng_int(check_rng *rng, int64_t lo, int64_t hi);
void check_fill_uniform(check_rng *rng, float *x, size_t n, float lo, float hi);

/* max|x - ref| / max(1e-6, max|ref|). A NaN or infinity in x where ref differs gives INFINITY;
 * equal infinities and NaN in both at one index count as agreement. *worst (may be NULL)
 * receives the index of the largest difference (or of the first NaN mismatch). */
double check_norm_err(const float *x, const float *ref, size_t n, size_t *worst);
/* The same with max(floor, max|ref|) as the denominator (floor 1: an absolute error where the
 * reference is small, for functions whose natural scale is 1). */
double check_norm_err_floor(const float *x, const float *ref, size_t n, double floor,
                            size_t *worst);

/* Records one check, printing "<message>: ok" or "<message>: FAIL". Returns ok. */
bool check_true(check_counter *c, bool ok, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Compares got against want by normalised error, printing the error and, on failure, the worst
 * index with both values. */
bool check_close(check_counter *c, const char *what, const float *got, const float *want, size_t n,
                 double tol);
/* CHECK(c, cond, fmt, ...): counts cond in c; when it is false, prints
 * "FAIL file:line: cond: <message>". A passing check prints nothing (for tests of many small
 * checks; check_true prints every one). */
#define CHECK(c, cond, ...) check_that((c), (cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
bool check_that(check_counter *c, bool ok, const char *cond, const char *file, int line,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* CHECK_OK(ctx, call): a porta call the test cannot go on without. When it fails, prints
 * "FAIL file:line call -> status: porta_last_error(ctx)" to stderr and exits 1 (ctx may be NULL).
 * CHECK_OK_OR_UNSUPPORTED lets PORTA_ERR_UNSUPPORTED through, printed as "unsupported: message",
 * for tests that skip what a backend does not run. Both evaluate to the call's status. */
#define CHECK_OK(ctx, call) check_status((call), (ctx), #call, __FILE__, __LINE__, false)
#define CHECK_OK_OR_UNSUPPORTED(ctx, call)                                                         \
  check_status((call), (ctx), #call, __FILE__, __LINE__, true)
porta_status check_status(porta_status status, const porta_context *ctx, const char *call,
                          const char *file, int line, bool allow_unsupported);

/* Records one check without printing (for tests that print their own line); returns ok. */
bool check_count(check_counter *c, bool ok);

/* Records a skipped check (printed, counted, not a failure). */
void check_skip(check_counter *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Whether the comma-separated list in environment variable var names name (an unset or empty
 * variable selects everything), e.g. check_env_selects("PORTA_TEST_BACKENDS", "vulkan"). */
bool check_env_selects(const char *var, const char *name);

/* Prints "N passed, N failed" (and skips, if any); returns the exit status for main. */
int check_finish(const check_counter *c);

#endif /* PORTA_TEST_CHECK_H */
