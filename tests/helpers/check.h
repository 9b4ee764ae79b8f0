/* A tiny check library shared by the tests: a seeded random generator, normalised-error
 * comparison, and a pass/fail counter that prints one line per check and a summary.
 *
 *   check_counter c = {0};
 *   check_rng rng = check_rng_make(42);
 *   check_fill_uniform(&rng, x, n, -1.0f, 1.0f);
 *   check_close(&c, "softmax row 0", got, want, n, 1e-5);
 *   check_true(&c, status == PORTA_OK, "alloc returned %d", (int)status);
 *   return check_finish(&c);   // prints "N passed, N failed", returns 0 or 1 for main
 */
#ifndef PORTA_TEST_CHECK_H
#define PORTA_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Records a skipped check (printed, counted, not a failure). */
void check_skip(check_counter *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "N passed, N failed" (and skips, if any); returns the exit status for main. */
int check_finish(const check_counter *c);

#endif /* PORTA_TEST_CHECK_H */
