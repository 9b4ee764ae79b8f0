/* The device self-test's internals (selftest.c drives it, selftest_cases.c holds the cases): every
 * op on small odd shapes, through one backend path at a time, against the CPU backend's plain
 * loops; guard elements around every buffer catch out-of-bounds writes. */
#ifndef PORTA_CORE_SELFTEST_H
#define PORTA_CORE_SELFTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

#define ST_MAX_BUFS 12
#define ST_GUARD 16 /* elements before and after every buffer's data */

typedef struct st_harness {
  porta_backend *be[2]; /* [0] the device under test, [1] the CPU reference */
  struct {
    void *buf[2];
    int64_t n; /* data elements (the buffer holds n + 2 · ST_GUARD) */
  } bufs[ST_MAX_BUFS];
  int n_bufs;
  bool bad; /* a buffer of the current case could not be made (recorded as its failure) */
  uint32_t rng;
  /* the results of the path being tested */
  int cases;
  double max_error;
  bool failed;
  char detail[256]; /* the first failure */
} st_harness;

/* The op families a path's op mask selects: which case groups run. */
enum { ST_GEMM = 1, ST_ROWS = 2, ST_ADAMW = 4, ST_OTHER = 8, ST_ALL = 15 };

/* Runs the case groups in `groups` on both backends of h; failures are recorded in h (the
 * function itself fails only when host memory runs out). */
porta_status porta_selftest_cases(st_harness *h, unsigned groups);
/* The groups covering an op mask (bit per porta_op). */
unsigned porta_selftest_groups(uint32_t op_mask);

#endif /* PORTA_CORE_SELFTEST_H */
