/* test_backend_ops: binary, unary (and backward), reduce and strided-copy cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "helpers/op_harness.h"
#include "test_backend_ops/cases.h"

/* ---- binary: same shapes, broadcasts, a transposed input, aliasing --------------------------- */

typedef struct binary_pattern {
  const char *name;
  int64_t shape[4], a_stride[4], b_stride[4];
  bool alias;
} binary_pattern;

void binary_cases(oph_case_list *l) {
  static const binary_pattern patterns[] = {
      {"same", {1, 3, 17, 65}, {0, 1105, 65, 1}, {0, 1105, 65, 1}, false},
      {"one", {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, false},
      {"bias-row", {1, 1, 129, 65}, {0, 0, 65, 1}, {0, 0, 0, 1}, false},
      {"column", {1, 3, 17, 65}, {0, 1105, 65, 1}, {0, 17, 1, 0}, false},
      {"scalar", {1, 1, 3, 129}, {0, 0, 129, 1}, {0, 0, 0, 0}, false},
      {"transposed-a", {1, 1, 17, 65}, {0, 0, 1, 17}, {0, 0, 65, 1}, false},
      {"mask-4d", {2, 3, 17, 65}, {3315, 1105, 65, 1}, {65, 0, 0, 1}, false},
      {"alias-out-a", {1, 1, 17, 65}, {0, 0, 65, 1}, {0, 0, 65, 1}, true},
      {"alias-out-b", {1, 1, 17, 65}, {0, 0, 65, 1}, {0, 0, 65, 1}, true},
      /* rows of a multiple of 4, every slot at offset 0: by vec4 on Vulkan */
      {"same-64", {1, 3, 17, 64}, {0, 1088, 64, 1}, {0, 1088, 64, 1}, false},
      {"bias-row-64", {1, 1, 129, 64}, {0, 0, 64, 1}, {0, 0, 0, 1}, false},
      {"mask-4d-64", {2, 3, 17, 64}, {3264, 1088, 64, 1}, {64, 0, 0, 1}, false},
      {"alias-out-a-64", {1, 1, 17, 64}, {0, 0, 64, 1}, {0, 0, 64, 1}, true},
  };
  static const char *op_names[] = {"add", "sub", "mul", "div"};
  for (int op = PORTA_BINARY_ADD; op <= PORTA_BINARY_DIV; op++)
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
      const binary_pattern *pt = &patterns[p];
      int64_t count = pt->shape[0] * pt->shape[1] * pt->shape[2] * pt->shape[3];
      int64_t off = pt->shape[3] % 4 == 0 ? 0 : (int64_t)(p % 3) * 4 + 1;
      oph_case *c =
          oph_new_case(l, PORTA_OP_BINARY, "%s %s shape=[%lld,%lld,%lld,%lld] off=%lld",
                       op_names[op], pt->name, (long long)pt->shape[0], (long long)pt->shape[1],
                       (long long)pt->shape[2], (long long)pt->shape[3], (long long)off);
      if (!c) return;
      float lo = op == PORTA_BINARY_DIV ? 0.5f : -1.0f, hi = op == PORTA_BINARY_DIV ? 2.0f : 1.0f;
      int64_t na = oph_view_extent(pt->shape, pt->a_stride);
      int64_t nb = oph_view_extent(pt->shape, pt->b_stride);
      bool alias_b = pt->alias && strcmp(pt->name, "alias-out-b") == 0;
      /* out doubles as a (or b): it starts with that input's values (b's range for b) */
      uint32_t *out_init =
          pt->alias ? oph_rand_f32(&l->rng, count, alias_b ? lo : -1, alias_b ? hi : 1) : NULL;
      oph_slot(c, 0, "out", count, pt->alias ? OPH_INOUT : OPH_OUT, out_init, TOL_ELEMENTWISE, off)
          ->cols = pt->shape[3];
      if (pt->alias && !alias_b)
        oph_slot(c, 1, "unused", 0, OPH_IN, NULL, 0, off);
      else
        oph_slot(c, 1, "a", na, OPH_IN, oph_rand_f32(&l->rng, na, -1, 1), 0, off);
      if (alias_b)
        oph_slot(c, 2, "unused", 0, OPH_IN, NULL, 0, off);
      else
        oph_slot(c, 2, "b", nb, OPH_IN, oph_rand_f32(&l->rng, nb, lo, hi), 0, off);
      c->alias = pt->alias && !alias_b;
      c->alias_b = alias_b;
      c->args.binary.op = (porta_binary_op)op;
      memcpy(c->args.binary.shape, pt->shape, sizeof pt->shape);
      memcpy(c->args.binary.a_stride, pt->a_stride, sizeof pt->a_stride);
      memcpy(c->args.binary.b_stride, pt->b_stride, sizeof pt->b_stride);
    }
}

/* ---- unary and unary_bwd --------------------------------------------------------------------- */

void unary_cases(oph_case_list *l) {
  static const char *names[] = {"scale", "gelu", "tanh", "relu"};
  static const float range[] = {2.0f, 6.0f, 4.0f, 1.0f};
  static const int64_t sizes[] = {1, 17, 4099, 65};
  for (int op = PORTA_UNARY_SCALE; op <= PORTA_UNARY_RELU; op++)
    for (int s = 0; s < 4; s++) {
      int64_t n = sizes[s];
      bool alias = s == 3;
      int64_t off = s == 1 ? 0 : 3;
      double tol =
          op == PORTA_UNARY_GELU || op == PORTA_UNARY_TANH ? TOL_TRANSCENDENTAL : TOL_ELEMENTWISE;
      double floor = tol == TOL_TRANSCENDENTAL ? 1.0 : 0.0;
      oph_case *c = oph_new_case(l, PORTA_OP_UNARY, "%s n=%lld%s off=%lld", names[op], (long long)n,
                                 alias ? " alias" : "", (long long)off);
      if (!c) return;
      uint32_t *x = oph_rand_f32(&l->rng, n, -range[op], range[op]);
      if (alias) {
        oph_slot(c, 0, "out", n, OPH_INOUT, x, tol, off)->floor = floor;
        oph_slot(c, 1, "unused", 0, OPH_IN, NULL, 0, off);
      } else {
        oph_slot(c, 0, "out", n, OPH_OUT, NULL, tol, off)->floor = floor;
        oph_slot(c, 1, "x", n, OPH_IN, x, 0, off);
      }
      c->alias = alias;
      c->args.unary =
          (porta_unary_args){.op = (porta_unary_op)op, .n = n, .alpha = 0.5f, .beta = -1.25f};
    }
  for (int op = PORTA_UNARY_SCALE; op <= PORTA_UNARY_RELU; op++)
    for (int s = 0; s < 4; s++) {
      int64_t n = sizes[s];
      bool alias = s == 3;
      int64_t off = s == 1 ? 0 : 3;
      double tol =
          op == PORTA_UNARY_GELU || op == PORTA_UNARY_TANH ? TOL_TRANSCENDENTAL : TOL_ELEMENTWISE;
      double floor = tol == TOL_TRANSCENDENTAL ? 1.0 : 0.0;
      oph_case *c = oph_new_case(l, PORTA_OP_UNARY_BWD, "%s n=%lld%s off=%lld", names[op],
                                 (long long)n, alias ? " alias" : "", (long long)off);
      if (!c) return;
      uint32_t *x = oph_rand_f32(&l->rng, n, -range[op], range[op]);
      if (op == PORTA_UNARY_TANH) /* the saved value is y = tanh(input) */
        for (int64_t i = 0; i < n; i++) oph_set_f32(x, i, tanhf(oph_get_f32(x, i)));
      uint32_t *dy = oph_rand_f32(&l->rng, n, -1, 1);
      if (alias) {
        oph_slot(c, 0, "dx", n, OPH_INOUT, dy, tol, off)->floor = floor;
        oph_slot(c, 2, "unused", 0, OPH_IN, NULL, 0, off);
      } else {
        oph_slot(c, 0, "dx", n, OPH_OUT, NULL, tol, off)->floor = floor;
        oph_slot(c, 2, "dy", n, OPH_IN, dy, 0, off);
      }
      oph_slot(c, 1, "x", n, OPH_IN, x, 0, off);
      c->alias = alias;
      c->args.unary_bwd = (porta_unary_bwd_args){.op = (porta_unary_op)op, .n = n, .alpha = 0.5f};
    }
}

/* ---- reduce: different dim sets, non-contiguous x and out, beta 0 and 1 ---------------------- */

typedef struct reduce_pattern {
  const char *name;
  int64_t shape[4], x_stride[4], out_stride[4];
} reduce_pattern;

void reduce_cases(oph_case_list *l) {
  static const reduce_pattern patterns[] = {
      {"last-dim", {1, 1, 129, 65}, {0, 0, 65, 1}, {0, 0, 1, 0}},
      {"rows (bias grad)", {1, 1, 129, 65}, {0, 0, 65, 1}, {0, 0, 0, 1}},
      {"dims 0,2", {3, 17, 5, 65}, {5525, 325, 65, 1}, {0, 65, 0, 1}},
      {"all", {3, 17, 1, 65}, {1105, 65, 65, 1}, {0, 0, 0, 0}},
      {"transposed-x", {1, 1, 65, 17}, {0, 0, 1, 65}, {0, 0, 1, 0}},
      {"one", {1, 1, 1, 1}, {0, 0, 0, 1}, {0, 0, 0, 0}},
      {"strided-out", {1, 1, 17, 65}, {0, 0, 65, 1}, {0, 0, 3, 0}},
      {"all-large", {1, 1, 1025, 1029}, {0, 0, 1029, 1}, {0, 0, 0, 0}},
      {"rows-tall", {1, 1, 4099, 3}, {0, 0, 3, 1}, {0, 0, 0, 1}},
      /* offsets 0, rows of a multiple of 4: by vec4 on Vulkan */
      {"rows vec4", {1, 1, 129, 64}, {0, 0, 64, 1}, {0, 0, 0, 1}},
      {"dims 0-2 vec4", {3, 17, 5, 64}, {5440, 320, 64, 1}, {0, 0, 0, 1}},
  };
  for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++)
    for (int accumulate = 0; accumulate < 2; accumulate++) {
      const reduce_pattern *pt = &patterns[p];
      int64_t out_shape[4];
      for (int d = 0; d < 4; d++) out_shape[d] = pt->out_stride[d] ? pt->shape[d] : 1;
      int64_t nx = oph_view_extent(pt->shape, pt->x_stride),
              nout = oph_view_extent(out_shape, pt->out_stride);
      float alpha = accumulate ? 0.5f : 1.0f;
      float beta = accumulate ? (p % 2 ? 0.25f : 1.0f) : 0.0f;
      int off = strstr(pt->name, "vec4") ? 0 : accumulate ? 4 : 1;
      oph_case *c = oph_new_case(
          l, PORTA_OP_REDUCE, "%s shape=[%lld,%lld,%lld,%lld] alpha=%g beta=%g off=%d", pt->name,
          (long long)pt->shape[0], (long long)pt->shape[1], (long long)pt->shape[2],
          (long long)pt->shape[3], (double)alpha, (double)beta, off);
      if (!c) return;
      /* a sum of nred values in [-1, 1] is about √nred in size, and its rounding error scales
       * with that, not with the sum drawn (which can be near 0) */
      double nred = (double)(pt->shape[0] * pt->shape[1] * pt->shape[2] * pt->shape[3]) /
                    (double)(out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3]);
      oph_slot(c, 0, "out", nout, accumulate ? OPH_INOUT : OPH_OUT,
               accumulate ? oph_rand_f32(&l->rng, nout, -1, 1) : NULL, TOL_REDUCTION, off)
          ->floor = sqrt(nred);
      oph_slot(c, 1, "x", nx, OPH_IN, oph_rand_f32(&l->rng, nx, -1, 1), 0, off);
      c->args.reduce.alpha = alpha;
      c->args.reduce.beta = beta;
      memcpy(c->args.reduce.shape, pt->shape, sizeof pt->shape);
      memcpy(c->args.reduce.x_stride, pt->x_stride, sizeof pt->x_stride);
      memcpy(c->args.reduce.out_stride, pt->out_stride, sizeof pt->out_stride);
    }
}

/* ---- copy_strided: permute, select, slice, their backward (accumulate), i32 bits ------------- */

/* What an i32 copy carries. Every i32 from 1 to 2^23 − 1 (every token id) is a denormal when its
 * bits are read as a float, and some are NaN payloads: a driver that lets integer data touch a
 * float path flushes the first to 0 or quietens the second. */
enum { F32 = 0, I32_BITS, I32_DENORMAL, I32_NAN };

typedef struct copy_pattern {
  const char *name;
  int64_t shape[4], x_stride[4], out_stride[4];
  int64_t nx, nout, x_view, out_view;
  bool accumulate;
  int i32; /* F32 or one of the I32_* payloads */
} copy_pattern;

/* n i32 words of the given payload kind */
static uint32_t *i32_payload(check_rng *rng, int kind, int64_t n) {
  /* signalling and quiet NaNs of both signs, infinities, -0, the largest denormal */
  static const uint32_t special[] = {0x7f9a470eu, 0x7f800001u, 0xff800001u, 0x7fbfffffu,
                                     0x7fc00001u, 0xffc00000u, 0x7f800000u, 0xff800000u,
                                     0x80000000u, 0x007fffffu, 0x80000001u};
  uint32_t *x = oph_words(n);
  for (int64_t i = 0; x && i < n; i++) {
    uint32_t r = (uint32_t)check_rng_next(rng);
    if (kind == I32_DENORMAL)
      x[i] = 1u + r % 0x7fffffu; /* 1 … 2^23 − 1 */
    else if (kind == I32_NAN)
      x[i] = i % 3 == 0 ? special[(i / 3) % (sizeof special / sizeof special[0])]
                        : (r & 0x807fffffu) | 0x7f800001u; /* exponent all ones, mantissa ≠ 0 */
    else
      x[i] = r;
  }
  return x;
}

void copy_cases(oph_case_list *l) {
  static const copy_pattern patterns[] = {
      /* [2, 17, 3·65] -> [2, 3, 17, 65]: splitting attention heads */
      {"permute-heads",
       {2, 3, 17, 65},
       {3315, 65, 195, 1},
       {3315, 1105, 65, 1},
       6630,
       6630,
       0,
       0,
       false,
       F32},
      {"transpose",
       {1, 3, 17, 65},
       {0, 1105, 1, 17},
       {0, 1105, 65, 1},
       3315,
       3315,
       0,
       0,
       false,
       F32},
      {"transpose-129",
       {1, 1, 129, 65},
       {0, 0, 1, 129},
       {0, 0, 65, 1},
       8385,
       8385,
       0,
       0,
       false,
       F32},
      /* x [3, 17, 65], index 5 of dim 1 -> [3, 65] */
      {"select", {1, 1, 3, 65}, {0, 0, 1105, 1}, {0, 0, 65, 1}, 3315, 195, 325, 0, false, F32},
      /* x [17, 65], columns [5, 22) -> [17, 17] */
      {"slice", {1, 1, 17, 17}, {0, 0, 65, 1}, {0, 0, 17, 1}, 1105, 289, 5, 0, false, F32},
      {"slice-bwd", {1, 1, 17, 17}, {0, 0, 17, 1}, {0, 0, 65, 1}, 289, 1105, 0, 5, true, F32},
      {"permute-bwd",
       {2, 3, 17, 65},
       {3315, 1105, 65, 1},
       {3315, 65, 195, 1},
       6630,
       6630,
       0,
       0,
       true,
       F32},
      {"i32-transpose",
       {1, 1, 17, 65},
       {0, 0, 1, 17},
       {0, 0, 65, 1},
       1105,
       1105,
       0,
       0,
       false,
       I32_BITS},
      {"i32-denormal-transpose",
       {1, 1, 17, 65},
       {0, 0, 1, 17},
       {0, 0, 65, 1},
       1105,
       1105,
       0,
       0,
       false,
       I32_DENORMAL},
      {"i32-nan-transpose",
       {1, 3, 17, 65},
       {0, 1105, 1, 17},
       {0, 1105, 65, 1},
       3315,
       3315,
       0,
       0,
       false,
       I32_NAN},
      /* by uvec4 on Vulkan */
      {"i32-denormal-heads-32",
       {2, 3, 17, 32},
       {1632, 32, 96, 1},
       {1632, 544, 32, 1},
       3264,
       3266,
       0,
       2,
       false,
       I32_DENORMAL},
      {"i32-nan-heads-32",
       {2, 3, 17, 32},
       {1632, 32, 96, 1},
       {1632, 544, 32, 1},
       3264,
       3266,
       0,
       2,
       false,
       I32_NAN},
      {"one", {1, 1, 1, 1}, {0, 0, 0, 1}, {0, 0, 0, 1}, 1, 1, 0, 0, true, F32},
      /* inner dims of multiples of 4 at offsets of multiples of 4 (out: off + out_view, x:
       * off + 2 + x_view; off = index % 4 + 1): by vec4 on Vulkan; the last one misaligned */
      {"permute-heads-32",
       {2, 3, 17, 32},
       {1632, 32, 96, 1},
       {1632, 544, 32, 1},
       3264,
       3266,
       0,
       2,
       false,
       F32},
      {"permute-heads-32-bwd",
       {2, 3, 17, 32},
       {1632, 544, 32, 1},
       {1632, 32, 96, 1},
       3267,
       3265,
       3,
       1,
       true,
       F32},
      {"slice-vec4", {1, 1, 17, 16}, {0, 0, 68, 1}, {0, 0, 16, 1}, 1158, 272, 2, 0, false, F32},
      {"slice-vec4-misaligned",
       {1, 1, 17, 16},
       {0, 0, 68, 1},
       {0, 0, 16, 1},
       1161,
       272,
       5,
       0,
       false,
       F32},
  };
  for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
    const copy_pattern *pt = &patterns[p];
    int64_t off = (int64_t)p % 4 + 1;
    oph_case *c = oph_new_case(
        l, PORTA_OP_COPY_STRIDED, "%s shape=[%lld,%lld,%lld,%lld]%s off=%lld", pt->name,
        (long long)pt->shape[0], (long long)pt->shape[1], (long long)pt->shape[2],
        (long long)pt->shape[3], pt->accumulate ? " accumulate" : "", (long long)off);
    if (!c) return;
    /* i32: any bit pattern, NaN payloads and denormal readings included, passes unchanged */
    uint32_t *x = pt->i32 != F32 ? i32_payload(&l->rng, pt->i32, pt->nx)
                                 : oph_rand_f32(&l->rng, pt->nx, -1, 1);
    oph_buf *out = oph_slot(c, 0, "out", pt->nout, pt->accumulate ? OPH_INOUT : OPH_OUT,
                            pt->accumulate ? oph_rand_f32(&l->rng, pt->nout, -1, 1) : NULL,
                            pt->accumulate ? TOL_ELEMENTWISE : TOL_EXACT, off);
    out->view = pt->out_view;
    out->bits = !pt->accumulate;
    oph_slot(c, 1, "x", pt->nx, OPH_IN, x, 0, off)->view = pt->x_view;
    c->args.copy_strided.accumulate = pt->accumulate;
    memcpy(c->args.copy_strided.shape, pt->shape, sizeof pt->shape);
    memcpy(c->args.copy_strided.x_stride, pt->x_stride, sizeof pt->x_stride);
    memcpy(c->args.copy_strided.out_stride, pt->out_stride, sizeof pt->out_stride);
  }
}
