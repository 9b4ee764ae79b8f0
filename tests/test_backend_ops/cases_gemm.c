/* test_backend_ops: GEMM cases — the four transposes, batches, odd sizes, long k, and two batch
 * indices (attention's heads). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "helpers/op_harness.h"
#include "test_backend_ops/cases.h"

/* ---- gemm: all four transposes, batches with strides (0 = shared B), beta 0 and 1 ----------- */

static void add_gemm(oph_case_list *l, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                     int64_t batch, int64_t pad, bool shared_b, float alpha, float beta,
                     int64_t off) {
  int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;
  int64_t stride_a = a_rows * lda + pad, stride_b = shared_b ? 0 : b_rows * ldb + pad;
  int64_t stride_c = m * ldc + pad;
  int64_t na = (batch - 1) * stride_a + a_rows * lda, nb = (batch - 1) * stride_b + b_rows * ldb;
  int64_t nc = (batch - 1) * stride_c + m * ldc;
  oph_case *c = oph_new_case(
      l, PORTA_OP_GEMM,
      "m=%lld n=%lld k=%lld tA=%d tB=%d batch=%lld%s pad=%lld alpha=%g beta=%g off=%lld",
      (long long)m, (long long)n, (long long)k, ta, tb, (long long)batch,
      shared_b ? " strideB=0" : "", (long long)pad, (double)alpha, (double)beta, (long long)off);
  if (!c) return;
  oph_slot(c, 0, "A", na, OPH_IN, oph_rand_f32(&l->rng, na, -1, 1), 0, off)->cols = lda;
  oph_slot(c, 1, "B", nb, OPH_IN, oph_rand_f32(&l->rng, nb, -1, 1), 0, off)->cols = ldb;
  /* beta == 0: C starts as NaN sentinels, which a correct GEMM never reads. */
  oph_slot(c, 2, "C", nc, beta == 0 ? OPH_OUT : OPH_INOUT,
           beta == 0 ? NULL : oph_rand_f32(&l->rng, nc, -1, 1), gemm_tol(k), off)
      ->cols = ldc;
  c->args.gemm = (porta_gemm_args){.trans_a = ta,
                                   .trans_b = tb,
                                   .m = m,
                                   .n = n,
                                   .k = k,
                                   .alpha = alpha,
                                   .beta = beta,
                                   .lda = lda,
                                   .ldb = ldb,
                                   .ldc = ldc,
                                   .stride_a = stride_a,
                                   .stride_b = stride_b,
                                   .stride_c = stride_c,
                                   .batch = batch};
}

void gemm_cases(oph_case_list *l) {
  static const int64_t shapes[][3] = {{1, 1, 1},     {1, 65, 17},   {3, 17, 65},  {17, 65, 3},
                                      {65, 129, 17}, {129, 3, 129}, {17, 17, 129}};
  int i = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int t = 0; t < 4; t++, i++) {
      int64_t batch = (int64_t[]){1, 3, 1, 2}[i % 4];
      add_gemm(l, shapes[s][0], shapes[s][1], shapes[s][2], t & 1, (t >> 1) & 1, batch,
               i % 5 == 2 ? 3 : 0, batch > 1 && i % 3 == 1, i % 3 == 0 ? 1.0f : 0.5f,
               i % 2 ? 1.0f : 0.0f, i % 7 == 3 ? 0 : 5);
    }
  /* Shapes of the model: a linear layer (x · Wᵀ) and batched attention scores. */
  add_gemm(l, 128, 384, 384, false, true, 1, 0, false, 1.0f, 0.0f, 3);
  add_gemm(l, 130, 200, 257, false, false, 2, 0, false, 1.0f, 1.0f, 1);
  add_gemm(l, 32, 32, 64, false, true, 12, 0, false, 0.125f, 0.0f, 7);
  add_gemm(l, 3, 5, 1029, true, false, 1, 0, false, 1.0f, 0.5f, 2); /* long k; beta not 0 or 1 */
  add_gemm(l, 65, 17, 129, false, true, 3, 1, true, -1.5f, 0.5f, 4);
  /* x·Wᵀ with a long k or a narrow W: CPU Vulkan devices transpose W first (vk_ops.c) */
  add_gemm(l, 259, 20, 1028, false, true, 1, 0, false, 1.0f, 0.0f, 4);
  add_gemm(l, 256, 36, 1024, false, true, 1, 0, false, 0.5f, 1.0f, 8);
  add_gemm(l, 260, 12, 36, false, true, 1, 0, false, 1.0f, 0.0f, 0);
  /* k past 65535: lavapipe ends every shader invocation after 65535 loop iterations in all
   * (silently), so CPU Vulkan devices split k (vk_ops.c) */
  add_gemm(l, 3, 8, 70001, false, false, 1, 0, false, 1.0f, 0.0f, 0);
  add_gemm(l, 8, 4, 66000, true, false, 1, 0, false, 1.0f, 1.0f, 4);
}

/* ---- gemm over two batch indices: attention's (batch row, head) products --------------------
 * An operand of R × Cc per (b, h) is either merged ([B, R, H·Cc]: heads side by side in each row,
 * how the linear layers lay out Q, K, V) or split ([B, H, R, Cc]). */

typedef struct head_operand {
  int64_t ld, sh, sb, n;
} head_operand;

static head_operand head_operand_make(bool merged, int64_t B, int64_t H, int64_t R, int64_t Cc) {
  head_operand o;
  if (merged)
    o = (head_operand){H * Cc, Cc, R * H * Cc, 0};
  else
    o = (head_operand){Cc, R * Cc, H * R * Cc, 0};
  o.n = B * H * R * Cc;
  return o;
}

static void add_gemm_heads(oph_case_list *l, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                           int64_t B, int64_t H, bool ma, bool mb, bool mc, float beta,
                           int64_t off) {
  head_operand a = head_operand_make(ma, B, H, ta ? k : m, ta ? m : k);
  head_operand b = head_operand_make(mb, B, H, tb ? n : k, tb ? k : n);
  head_operand c = head_operand_make(mc, B, H, m, n);
  oph_case *cs = oph_new_case(
      l, PORTA_OP_GEMM,
      "heads m=%lld n=%lld k=%lld tA=%d tB=%d B=%lld H=%lld merged=%d%d%d beta=%g", (long long)m,
      (long long)n, (long long)k, ta, tb, (long long)B, (long long)H, ma, mb, mc, (double)beta);
  if (!cs) return;
  oph_slot(cs, 0, "A", a.n, OPH_IN, oph_rand_f32(&l->rng, a.n, -1, 1), 0, off)->cols = a.ld;
  oph_slot(cs, 1, "B", b.n, OPH_IN, oph_rand_f32(&l->rng, b.n, -1, 1), 0, off)->cols = b.ld;
  oph_slot(cs, 2, "C", c.n, beta == 0 ? OPH_OUT : OPH_INOUT,
           beta == 0 ? NULL : oph_rand_f32(&l->rng, c.n, -1, 1), gemm_tol(k), off)
      ->cols = c.ld;
  cs->args.gemm = (porta_gemm_args){.trans_a = ta,
                                    .trans_b = tb,
                                    .m = m,
                                    .n = n,
                                    .k = k,
                                    .alpha = 0.75f,
                                    .beta = beta,
                                    .lda = a.ld,
                                    .ldb = b.ld,
                                    .ldc = c.ld,
                                    .stride_a = a.sh,
                                    .stride_b = b.sh,
                                    .stride_c = c.sh,
                                    .batch = H,
                                    .batch2 = B,
                                    .stride2_a = a.sb,
                                    .stride2_b = b.sb,
                                    .stride2_c = c.sb};
}

void gemm_heads_cases(oph_case_list *l) {
  /* the five products of attention forward and backward, odd sizes, then aligned ones (vec4
   * shaders) */
  int64_t sq = 13, sk = 11, d = 7;
  add_gemm_heads(l, sq, sk, d, false, true, 3, 5, true, true, false, 0.0f, 1);  /* S = Q·Kᵀ */
  add_gemm_heads(l, sq, d, sk, false, false, 3, 5, false, true, true, 0.0f, 0); /* O = P·V */
  add_gemm_heads(l, sk, d, sq, true, false, 3, 5, false, true, true, 1.0f, 2);  /* dV += Pᵀ·dO */
  add_gemm_heads(l, sq, d, sk, false, false, 2, 3, false, true, true, 1.0f, 3); /* dQ += dS·K */
  add_gemm_heads(l, sk, sq, d, true, true, 2, 3, true, true, false, 0.5f, 0);   /* TT */
  add_gemm_heads(l, 24, 20, 32, false, true, 4, 3, true, true, false, 0.0f, 0);
  add_gemm_heads(l, 24, 32, 20, false, false, 4, 3, false, true, true, 0.0f, 4);
  add_gemm_heads(l, 20, 32, 24, true, false, 4, 3, false, true, true, 1.0f, 8);
}
