/* The case lists of test_backend_ops, by op family (one file each beside this header) and the
 * tolerances they share (see test_backend_ops.c's header comment). */
#ifndef PORTA_TEST_BACKEND_OPS_CASES_H
#define PORTA_TEST_BACKEND_OPS_CASES_H

#include <math.h>
#include <stdint.h>

#include "helpers/op_harness.h"

#define TOL_EXACT 0.0
#define TOL_ELEMENTWISE 1e-5
#define TOL_REDUCTION 1e-4
#define TOL_TRANSCENDENTAL 1e-4

static inline double gemm_tol(int64_t k) { return 2e-5 * sqrt((double)(k > 1 ? k : 1)); }

/* cases_gemm.c */
void gemm_cases(oph_case_list *l);
void gemm_heads_cases(oph_case_list *l);
/* cases_elementwise.c */
void binary_cases(oph_case_list *l);
void unary_cases(oph_case_list *l);
void reduce_cases(oph_case_list *l);
void copy_cases(oph_case_list *l);

#endif /* PORTA_TEST_BACKEND_OPS_CASES_H */
