/* Scaled dot-product attention as one op with its own backward, composed from batched GEMMs and
 * the masked softmax, with optional dropout on the probabilities (BERT's attention dropout):
 *   S[B·H, Sq, Sk] = scale · Q · Kᵀ         scale = 1/√D
 *   P = softmax(S + mask[b, :])              mask [B, Sk] broadcast over heads and queries
 *   P' = dropout(P)                          (P' = P when not training or p = 0)
 *   O[B·H, Sq, Dv] = P' · V
 * backward:
 *   dP' = dO · Vᵀ     dV += P'ᵀ · dO     dP = dropout(dP')     dS = P ⊙ (dP - Σ_j dP_j P_j)
 *   dQ += scale · dS · K                 dK += scale · dSᵀ · Q */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

static porta_status bgemm(porta_context *ctx, const char *what, bool ta, bool tb, int64_t m,
                          int64_t n, int64_t k, float alpha, porta_ref A, int64_t lda,
                          int64_t sa, porta_ref B, int64_t ldb, int64_t sb, float beta,
                          porta_ref C, int64_t ldc, int64_t sc, int64_t batch) {
  porta_gemm_args g = {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = alpha,
                       .beta = beta, .a = A, .b = B, .c = C, .lda = lda, .ldb = ldb, .ldc = ldc,
                       .stride_a = sa, .stride_b = sb, .stride_c = sc, .batch = batch};
  return porta_be_gemm(ctx, what, &g);
}

static porta_status attention_backward(porta_node *n) {
  porta_tensor *q = n->t[0], *k = n->t[1], *v = n->t[2], *p = n->t[3], *dout = n->out->grad;
  porta_tensor *pd = n->t[4] ? n->t[4] : p; /* P' */
  porta_context *ctx = q->ctx;
  int64_t BH = n->i[0], Sq = n->i[1], Sk = n->i[2], D = n->i[3], Dv = n->i[4];
  float scale = n->f[0], drop_p = n->f[1];
  porta_ref P = porta_tensor_ref(p), PD = porta_tensor_ref(pd), DO = porta_tensor_ref(dout);
  porta_status st = PORTA_OK;
  porta_ref dst;
  float beta;
  if (v->requires_grad) { /* dV[Sk, Dv] += P'ᵀ[Sk, Sq] · dO[Sq, Dv] */
    st = porta_grad_acc(v, &dst, &beta);
    if (st == PORTA_OK)
      st = bgemm(ctx, n->op, true, false, Sk, Dv, Sq, 1.0f, PD, Sk, Sq * Sk, DO, Dv, Sq * Dv, beta,
                 dst, Dv, Sk * Dv, BH);
    if (st != PORTA_OK) return st;
  }
  if (!q->requires_grad && !k->requires_grad) return PORTA_OK;
  porta_tensor *ds;
  st = porta_tensor_internal(ctx, &ds, PORTA_F32, p->ndim, p->shape, n->op);
  if (st != PORTA_OK) return st;
  porta_ref DS = porta_tensor_ref(ds);
  /* dP'[Sq, Sk] = dO[Sq, Dv] · Vᵀ[Dv, Sk], dP = dropout(dP'), dS = softmax_bwd(P, dP), in place */
  st = bgemm(ctx, n->op, false, true, Sq, Sk, Dv, 1.0f, DO, Dv, Sq * Dv, porta_tensor_ref(v), Dv,
             Sk * Dv, 0.0f, DS, Sk, Sq * Sk, BH);
  if (st == PORTA_OK && n->t[4]) {
    porta_dropout_args a = {.out = DS, .x = DS, .n = ds->numel, .p = drop_p,
                            .seed = (uint64_t)n->i[5], .stream = (uint64_t)n->i[6]};
    st = porta_be_dropout(ctx, n->op, &a);
  }
  if (st == PORTA_OK) {
    porta_softmax_bwd_args a = {.dx = DS, .y = P, .dy = DS, .rows = BH * Sq, .n = Sk,
                                .scale = 1.0f};
    st = porta_be_softmax_bwd(ctx, n->op, &a);
  }
  if (st == PORTA_OK && q->requires_grad) { /* dQ[Sq, D] += scale · dS[Sq, Sk] · K[Sk, D] */
    st = porta_grad_acc(q, &dst, &beta);
    if (st == PORTA_OK)
      st = bgemm(ctx, n->op, false, false, Sq, D, Sk, scale, DS, Sk, Sq * Sk, porta_tensor_ref(k),
                 D, Sk * D, beta, dst, D, Sq * D, BH);
  }
  if (st == PORTA_OK && k->requires_grad) { /* dK[Sk, D] += scale · dSᵀ[Sk, Sq] · Q[Sq, D] */
    st = porta_grad_acc(k, &dst, &beta);
    if (st == PORTA_OK)
      st = bgemm(ctx, n->op, true, false, Sk, D, Sq, scale, DS, Sk, Sq * Sk, porta_tensor_ref(q),
                 D, Sq * D, beta, dst, D, Sk * D, BH);
  }
  porta_tensor_destroy(ds);
  return st;
}

porta_status porta_attention_dropout(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                     porta_tensor *k, porta_tensor *v, porta_tensor *mask,
                                     float dropout_p) {
  const char *what = "porta_attention";
  porta_context *ctx = porta_ctx_of(q, k);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (probs) *probs = NULL;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "q", q, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "k", k, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "v", v, PORTA_F32);
  if (st == PORTA_OK && mask) st = porta_check_tensor(ctx, what, "mask", mask, PORTA_F32);
  if (st != PORTA_OK) return st;
  char sq[96], sk[96], sv[96], sm[96];
  bool ok = q->ndim == 4 && k->ndim == 4 && v->ndim == 4;
  for (int i = 0; ok && i < 2; i++) ok = k->shape[i] == q->shape[i] && v->shape[i] == q->shape[i];
  ok = ok && k->shape[3] == q->shape[3] && v->shape[2] == k->shape[2];
  if (!ok)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: q %s, k %s and v %s do not fit (want [B, H, S, D] with k and v of the "
                      "same length)",
                      what, PORTA_SHAPE_STR(q, sq), PORTA_SHAPE_STR(k, sk), PORTA_SHAPE_STR(v, sv));
  int64_t B = q->shape[0], H = q->shape[1], Sq = q->shape[2], D = q->shape[3];
  int64_t Sk = k->shape[2], Dv = v->shape[3], BH = B * H;
  if (mask && (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != Sk))
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: mask %s does not fit k %s (want [%lld, %lld])",
                      what, PORTA_SHAPE_STR(mask, sm), PORTA_SHAPE_STR(k, sk), (long long)B,
                      (long long)Sk);
  if (!(dropout_p >= 0.0f && dropout_p < 1.0f))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: dropout p = %g is not in [0, 1)", what,
                      (double)dropout_p);
  bool dropping = ctx->training && dropout_p > 0.0f;
  float scale = (float)(1.0 / sqrt((double)D));
  int64_t pshape[4] = {B, H, Sq, Sk}, oshape[4] = {B, H, Sq, Dv};
  porta_tensor *scores = NULL, *p = NULL, *pd = NULL;
  st = porta_tensor_internal(ctx, &scores, PORTA_F32, 4, pshape, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, &p, PORTA_F32, 4, pshape, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, out, PORTA_F32, 4, oshape, what);
  /* S = scale · Q[Sq, D] · Kᵀ[D, Sk] */
  if (st == PORTA_OK)
    st = bgemm(ctx, what, false, true, Sq, Sk, D, scale, porta_tensor_ref(q), D, Sq * D,
               porta_tensor_ref(k), D, Sk * D, 0.0f, porta_tensor_ref(scores), Sk, Sq * Sk, BH);
  if (st == PORTA_OK) { /* P = softmax(S + mask[b]) with mask row = row / (H · Sq) */
    porta_softmax_args a = {.y = porta_tensor_ref(p), .x = porta_tensor_ref(scores),
                            .rows = BH * Sq, .n = Sk, .mask_div = H * Sq, .scale = 1.0f};
    if (mask) a.mask = porta_tensor_ref(mask);
    st = porta_be_softmax(ctx, what, &a);
  }
  porta_tensor_destroy(scores);
  uint64_t stream = 0;
  if (st == PORTA_OK && dropping) { /* P' = dropout(P), one stream for the whole tensor */
    stream = ctx->stream++;
    st = porta_tensor_temp(ctx, &pd, PORTA_F32, 4, pshape, what);
    if (st == PORTA_OK) {
      porta_dropout_args a = {.out = porta_tensor_ref(pd), .x = porta_tensor_ref(p),
                              .n = BH * Sq * Sk, .p = dropout_p, .seed = ctx->seed,
                              .stream = stream};
      st = porta_be_dropout(ctx, what, &a);
    }
  }
  /* O = P'[Sq, Sk] · V[Sk, Dv] */
  if (st == PORTA_OK)
    st = bgemm(ctx, what, false, false, Sq, Dv, Sk, 1.0f, porta_tensor_ref(pd ? pd : p), Sk,
               Sq * Sk, porta_tensor_ref(v), Dv, Sk * Dv, 0.0f, porta_tensor_ref(*out), Dv,
               Sq * Dv, BH);
  if (st == PORTA_OK && porta_grad_needed(ctx, q, k, v)) {
    porta_node nd = {.backward = attention_backward, .op = what, .out = *out};
    nd.t[0] = q;
    nd.t[1] = k;
    nd.t[2] = v;
    nd.t[3] = p;
    nd.t[4] = pd;
    nd.i[0] = BH;
    nd.i[1] = Sq;
    nd.i[2] = Sk;
    nd.i[3] = D;
    nd.i[4] = Dv;
    nd.i[5] = (int64_t)ctx->seed;
    nd.i[6] = (int64_t)stream;
    nd.f[0] = scale;
    nd.f[1] = dropout_p;
    st = porta_tape_push(ctx, &nd);
  }
  porta_tensor_destroy(pd); /* pinned by the node when recorded */
  if (st != PORTA_OK) {
    porta_tensor_destroy(p);
    if (*out) porta_tensor_destroy(*out);
    *out = NULL;
    return st;
  }
  if (probs) *probs = p;
  else porta_tensor_destroy(p); /* pinned by the node when recorded */
  return PORTA_OK;
}

porta_status porta_attention(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                             porta_tensor *k, porta_tensor *v, porta_tensor *mask) {
  return porta_attention_dropout(out, probs, q, k, v, mask, 0.0f);
}
