/* The op-conformance harness behind test_backend_ops: one case = one backend op call with its
 * buffers and fixed random inputs; the harness runs it on a backend under test and on the CPU
 * reference backend, and compares.
 *
 * Every buffer is allocated with `off` sentinel elements before it and OPH_GUARD after, so writes
 * outside [off, off + n) show up; inputs must come back bit-identical; outputs are compared by
 * normalised error max|x - ref| / max(1e-6, max|ref|), or bit for bit, and dropout outputs must
 * also have their zeros in the same places. One line is printed per case and backend:
 *   opencl gemm m=17 n=65 k=3 tA=1 tB=0 batch=3 off=5: C=1.2e-07 (tol 2e-05) ok
 *
 * Buffer slots per op (the order of oph_case.buf; `alias` makes the output double as the input):
 *   gemm 0=A 1=B 2=C         binary 0=out 1=a 2=b (alias: a = out; alias_b: b = out)
 *   unary 0=out 1=x (alias: x = out)  unary_bwd 0=dx 1=x 2=dy (alias: dy = dx)
 *   reduce 0=out 1=x                 copy_strided 0=out 1=x
 *   softmax 0=y 1=x 2=mask (mask n = 0: no mask)   softmax_bwd 0=dx 1=y 2=dy (alias: dy = dx)
 *   layernorm 0=y 1=mean 2=rstd 3=x 4=gamma 5=beta
 *   layernorm_bwd 0=dx 1=dgamma 2=dbeta 3=dy 4=x 5=mean 6=rstd 7=gamma
 *   embedding 0=out 1=table 2=ids    embedding_bwd 0=dtable 1=dout 2=ids
 *   dropout 0=out 1=x (alias: x = out)
 *   cross_entropy 0=loss 1=probs 2=logits 3=labels   cross_entropy_bwd 0=dlogits 1=probs 2=labels
 * 3=dloss adamw 0=param 1=m 2=v 3=grad     sumsq 0=out 1=x fill 0=out                       copy
 * 0=dst 1=src (bytes = 4 · src n, byte offsets from off) */
#ifndef PORTA_TEST_OP_HARNESS_H
#define PORTA_TEST_OP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "helpers/check.h"

#define OPH_MAX_BUFS 8
#define OPH_GUARD 19 /* sentinel elements after each buffer (odd: catches vector tails) */
#define OPH_SENTINEL                                                                               \
  0x7FC0BEEFu /* a quiet NaN: a kernel that reads it spreads NaN into its output */

/* Buffer ops, tested next to the compute ops. */
enum { OPH_OP_FILL = PORTA_OP_COUNT, OPH_OP_COPY, OPH_OP_END };

typedef enum oph_role {
  OPH_IN,    /* uploaded, must come back unchanged */
  OPH_OUT,   /* starts as sentinels (NaN), compared after */
  OPH_INOUT, /* uploaded, compared after (accumulating outputs, beta = 1, aliases) */
} oph_role;

typedef struct oph_buf {
  const char *name;
  int64_t n;    /* elements the op may touch */
  int64_t off;  /* element offset of the tensor in its device buffer (sentinels before) */
  int64_t view; /* extra offset of the op's ref inside the tensor (select, slice) */
  int64_t cols; /* row length for messages (0: flat index only) */
  oph_role role;
  bool bits;         /* compare bit for bit (i32, pure copies) */
  bool zero_pattern; /* zeros must be in the same places (dropout) */
  double tol;
  double floor;   /* normalise by max(floor, max|ref|); 0 means 1e-6 */
  uint32_t *init; /* n words, owned by the case; NULL for OPH_OUT */
} oph_buf;

typedef union oph_args {
  porta_gemm_args gemm;
  porta_binary_args binary;
  porta_unary_args unary;
  porta_unary_bwd_args unary_bwd;
  porta_reduce_args reduce;
  porta_copy_args copy_strided;
  porta_softmax_args softmax;
  porta_softmax_bwd_args softmax_bwd;
  porta_layernorm_args layernorm;
  porta_layernorm_bwd_args layernorm_bwd;
  porta_embedding_args embedding;
  porta_embedding_bwd_args embedding_bwd;
  porta_dropout_args dropout;
  porta_cross_entropy_args cross_entropy;
  porta_cross_entropy_bwd_args cross_entropy_bwd;
  porta_adamw_args adamw;
  porta_sumsq_args sumsq;
  struct {
    int64_t n;
    float value;
  } fill;
} oph_args;

typedef struct oph_case {
  int op;         /* porta_op or OPH_OP_FILL / OPH_OP_COPY */
  char desc[256]; /* "gemm m=17 n=65 k=3 tA=1 tB=0 batch=3 off=5" */
  int nbuf;
  oph_buf buf[OPH_MAX_BUFS];
  oph_args args; /* refs are filled in per run from the slots */
  bool alias;    /* the op's output doubles as its input (see the slot table) */
  bool alias_b;  /* binary only: b = out */
} oph_case;

typedef enum oph_outcome { OPH_PASS, OPH_FAIL, OPH_UNSUPPORTED } oph_outcome;

/* "gemm", "softmax_bwd", "fill", "copy" */
const char *oph_op_name(int op);

/* Runs c on be (named be_name in the printed line) and on the reference backend ref, compares, and
 * prints one line. */
oph_outcome oph_run_compare(porta_backend *be, const char *be_name, porta_backend *ref,
                            const oph_case *c);

void oph_case_free(oph_case *c);

/* ---- building cases ---- */

typedef struct oph_case_list {
  oph_case *items;
  int count, capacity;
  check_rng rng; /* the inputs' generator: fixed seed, so every run sees the same inputs */
} oph_case_list;

/* Appends a zeroed case whose description is "<op name> <fmt...>"; NULL when out of memory. */
oph_case *oph_new_case(oph_case_list *list, int op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void oph_case_list_free(oph_case_list *list);

/* Adds slot `slot` of c. The tensor starts base_off + 2·slot elements into its buffer (0 when
 * base_off is 0), so no two buffers line up the same way. init (n words) becomes the case's. */
oph_buf *oph_slot(oph_case *c, int slot, const char *name, int64_t n, oph_role role, uint32_t *init,
                  double tol, int64_t base_off);

/* Host data as 4-byte words (NULL when out of memory): zeros, uniform floats in [lo, hi),
 * uniform i32 in [lo, hi]. */
uint32_t *oph_words(int64_t n);
uint32_t *oph_rand_f32(check_rng *rng, int64_t n, float lo, float hi);
uint32_t *oph_rand_i32(check_rng *rng, int64_t n, int64_t lo, int64_t hi);
void oph_set_f32(uint32_t *w, int64_t i, float v);
float oph_get_f32(const uint32_t *w, int64_t i);

/* Whether every case got its input data (prints the first that did not: out of memory). */
bool oph_case_list_complete(const oph_case_list *list);

/* ---- running a list of cases ---- */

/* The cases, the reference backend, and the tally over every backend run. */
typedef struct oph_suite {
  oph_case_list cases;
  porta_backend *ref;
  int passed, failed, unsupported;
  char unsupported_log[65536]; /* "  <backend> <case>" lines */
} oph_suite;

/* Whether name is in the comma-separated list in environment variable var (unset or empty: yes). */
bool oph_env_selects(const char *var, const char *name);

/* Runs every case whose op PORTA_TEST_OPS selects on be (printed as name) against su->ref, adds
 * to the tally, prints "<name>: N passed, N failed in T s". */
void oph_run_cases(oph_suite *su, porta_backend *be, const char *name);

/* Elements a 4-D strided view spans: 1 + Σ (shape_d - 1) · stride_d. */
int64_t oph_view_extent(const int64_t shape[4], const int64_t stride[4]);

#endif /* PORTA_TEST_OP_HARNESS_H */
