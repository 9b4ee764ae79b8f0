/* Scaled dot-product attention as one op with its own backward, composed from batched GEMMs and
 * the masked softmax, with optional dropout on the probabilities (BERT's attention dropout):
 *   S[B, H, Sq, Sk] = scale · Q · Kᵀ         scale = 1/√D
 *   P = softmax(S + mask[b, :])              mask [B, Sk] broadcast over heads and queries
 *   P' = dropout(P)                          (P' = P when not training or p = 0)
 *   O[B, H, Sq, Dv] = P' · V
 * backward:
 *   dP' = dO · Vᵀ     dV += P'ᵀ · dO     dP = dropout(dP')     dS = P ⊙ (dP - Σ_j dP_j P_j)
 *   dQ += scale · dS · K                 dK += scale · dSᵀ · Q
 * Q, K, V and O come either split into heads ([B, H, S, D], porta_attention) or with the heads
 * side by side in each row ([B, S, H·D], porta_attention_heads: the layout the linear layers
 * produce, so a transformer needs no permute copies). The GEMMs read both layouts through
 * leading dimensions and batch strides; the scores and probabilities are always [B, H, Sq, Sk]. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Where element (b, h, s, d) of an operand lives: b·sb + h·sh + s·ld + d. */
typedef struct head_layout {
  int64_t sb, sh, ld;
} head_layout;

/* [B, H, S, D] contiguous */
static head_layout split_layout(int64_t H, int64_t S, int64_t D) {
  head_layout l = {H * S * D, S * D, D};
  return l;
}

/* [B, S, H·D] contiguous: head h is the column block [h·D, (h+1)·D) of every row */
static head_layout merged_layout(int64_t H, int64_t S, int64_t D) {
  head_layout l = {S * H * D, D, H * D};
  return l;
}

/* C[b, h] = alpha · op(A[b, h]) · op(B[b, h]) + beta · C[b, h] for every (b, h): one batched
 * call, over b·H + h when all three operands step uniformly, else over two batch indices (b
 * outer, h inner), which backends run as one dispatch where they can. */
static porta_status head_gemm(porta_context *ctx, const char *what, bool ta, bool tb, int64_t m,
                              int64_t n, int64_t k, float alpha, porta_ref A, head_layout la,
                              porta_ref Bm, head_layout lb, float beta, porta_ref C, head_layout lc,
                              int64_t B, int64_t H) {
  porta_gemm_args g = {.trans_a = ta,
                       .trans_b = tb,
                       .m = m,
                       .n = n,
                       .k = k,
                       .alpha = alpha,
                       .beta = beta,
                       .a = A,
                       .b = Bm,
                       .c = C,
                       .lda = la.ld,
                       .ldb = lb.ld,
                       .ldc = lc.ld,
                       .stride_a = la.sh,
                       .stride_b = lb.sh,
                       .stride_c = lc.sh};
  bool uniform = la.sb == H * la.sh && lb.sb == H * lb.sh && lc.sb == H * lc.sh;
  if (uniform || B == 1) {
    g.batch = B * H;
  } else {
    g.batch = H;
    g.batch2 = B;
    g.stride2_a = la.sb, g.stride2_b = lb.sb, g.stride2_c = lc.sb;
  }
  return porta_run(ctx, what, &g);
}

/* The sizes of one attention op and its operands' layouts. */
typedef struct attn_dims {
  int64_t B, H, Sq, Sk, D, Dv;
  bool merged; /* q, k, v, out are [B, S, H·D] */
  head_layout q, k, v, o, p;
} attn_dims;

static attn_dims make_dims(int64_t B, int64_t H, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
                           bool merged) {
  attn_dims d = {B,      H,         Sq,        Sk,        D,         Dv,
                 merged, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
  head_layout (*lay)(int64_t, int64_t, int64_t) = merged ? merged_layout : split_layout;
  d.q = lay(H, Sq, D);
  d.k = lay(H, Sk, D);
  d.v = lay(H, Sk, Dv);
  d.o = lay(H, Sq, Dv);
  d.p = split_layout(H, Sq, Sk);
  return d;
}

static porta_status attention_backward(porta_node *n) {
  porta_tensor *q = n->t[0], *k = n->t[1], *v = n->t[2], *p = n->t[3], *dout = n->out->grad;
  porta_tensor *pd = n->t[4] ? n->t[4] : p; /* P' */
  porta_context *ctx = q->ctx;
  attn_dims d = make_dims(n->i[0], n->i[1], n->i[2], n->i[3], n->i[4], n->i[5], n->b[0]);
  int64_t B = d.B, H = d.H, Sq = d.Sq, Sk = d.Sk, D = d.D, Dv = d.Dv;
  float scale = n->f[0], drop_p = n->f[1];
  porta_ref P = porta_tensor_ref(p), PD = porta_tensor_ref(pd), DO = porta_tensor_ref(dout);
  porta_status st = PORTA_OK;
  porta_ref dst;
  float beta;
  if (v->requires_grad) { /* dV[Sk, Dv] += P'ᵀ[Sk, Sq] · dO[Sq, Dv] */
    st = porta_grad_acc(v, &dst, &beta);
    if (st == PORTA_OK)
      st = head_gemm(ctx, n->op, true, false, Sk, Dv, Sq, 1.0f, PD, d.p, DO, d.o, beta, dst, d.v, B,
                     H);
    if (st != PORTA_OK) return st;
  }
  if (!q->requires_grad && !k->requires_grad) return PORTA_OK;
  porta_tensor *ds;
  st = porta_tensor_internal(ctx, &ds, PORTA_F32, p->ndim, p->shape, n->op);
  if (st != PORTA_OK) return st;
  porta_ref DS = porta_tensor_ref(ds);
  /* dP'[Sq, Sk] = dO[Sq, Dv] · Vᵀ[Dv, Sk], dP = dropout(dP'), dS = softmax_bwd(P, dP), in place */
  st = head_gemm(ctx, n->op, false, true, Sq, Sk, Dv, 1.0f, DO, d.o, porta_tensor_ref(v), d.v, 0.0f,
                 DS, d.p, B, H);
  if (st == PORTA_OK && n->t[4]) {
    porta_dropout_args a = {.out = DS,
                            .x = DS,
                            .n = ds->numel,
                            .p = drop_p,
                            .seed = (uint64_t)n->i[6],
                            .stream = (uint64_t)n->i[7],
                            .base = (uint64_t)n->i[8]};
    st = porta_run(ctx, n->op, &a);
  }
  if (st == PORTA_OK) {
    porta_softmax_bwd_args a = {
        .dx = DS, .y = P, .dy = DS, .rows = B * H * Sq, .n = Sk, .scale = 1.0f};
    st = porta_run(ctx, n->op, &a);
  }
  if (st == PORTA_OK && q->requires_grad) { /* dQ[Sq, D] += scale · dS[Sq, Sk] · K[Sk, D] */
    st = porta_grad_acc(q, &dst, &beta);
    if (st == PORTA_OK)
      st = head_gemm(ctx, n->op, false, false, Sq, D, Sk, scale, DS, d.p, porta_tensor_ref(k), d.k,
                     beta, dst, d.q, B, H);
  }
  if (st == PORTA_OK && k->requires_grad) { /* dK[Sk, D] += scale · dSᵀ[Sk, Sq] · Q[Sq, D] */
    st = porta_grad_acc(k, &dst, &beta);
    if (st == PORTA_OK)
      st = head_gemm(ctx, n->op, true, false, Sk, D, Sq, scale, DS, d.p, porta_tensor_ref(q), d.q,
                     beta, dst, d.k, B, H);
  }
  porta_tensor_destroy(ds);
  return st;
}

/* The forward pass once the shapes are checked: out gets d.o's layout. probs receives P, or P'
 * with probs_dropped (what transformers returns as the attentions). */
static porta_status attention_run(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                  porta_tensor *k, porta_tensor *v, porta_tensor *mask,
                                  float dropout_p, bool probs_dropped, const attn_dims *d,
                                  const char *what) {
  porta_context *ctx = q->ctx;
  int64_t B = d->B, H = d->H, Sq = d->Sq, Sk = d->Sk, D = d->D, Dv = d->Dv;
  bool dropping = ctx->training && dropout_p > 0.0f;
  float scale = (float)(1.0 / sqrt((double)D));
  int64_t pshape[4] = {B, H, Sq, Sk}, oshape[4] = {B, H, Sq, Dv}, mshape[3] = {B, Sq, H * Dv};
  porta_tensor *scores = NULL, *p = NULL, *pd = NULL;
  porta_status st = porta_tensor_internal(ctx, &scores, PORTA_F32, 4, pshape, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, &p, PORTA_F32, 4, pshape, what);
  if (st == PORTA_OK)
    st = porta_tensor_temp(ctx, out, PORTA_F32, d->merged ? 3 : 4, d->merged ? mshape : oshape,
                           what);
  /* S = scale · Q[Sq, D] · Kᵀ[D, Sk] */
  if (st == PORTA_OK)
    st = head_gemm(ctx, what, false, true, Sq, Sk, D, scale, porta_tensor_ref(q), d->q,
                   porta_tensor_ref(k), d->k, 0.0f, porta_tensor_ref(scores), d->p, B, H);
  if (st == PORTA_OK) { /* P = softmax(S + mask[b]) with mask row = row / (H · Sq) */
    porta_softmax_args a = {.y = porta_tensor_ref(p),
                            .x = porta_tensor_ref(scores),
                            .rows = B * H * Sq,
                            .n = Sk,
                            .mask_div = H * Sq,
                            .scale = 1.0f};
    if (mask) a.mask = porta_tensor_ref(mask);
    st = porta_run(ctx, what, &a);
  }
  porta_tensor_destroy(scores);
  uint64_t stream = 0, base = 0;
  if (st == PORTA_OK && dropping) st = porta_dropout_base(ctx, what, B * H * Sq * Sk, &base);
  if (st == PORTA_OK && dropping) { /* P' = dropout(P), one stream for the whole tensor */
    stream = ctx->stream++;
    st = porta_tensor_temp(ctx, &pd, PORTA_F32, 4, pshape, what);
    if (st == PORTA_OK) {
      porta_dropout_args a = {.out = porta_tensor_ref(pd),
                              .x = porta_tensor_ref(p),
                              .n = B * H * Sq * Sk,
                              .p = dropout_p,
                              .seed = ctx->seed,
                              .stream = stream,
                              .base = base};
      st = porta_run(ctx, what, &a);
    }
  }
  /* O = P'[Sq, Sk] · V[Sk, Dv] */
  if (st == PORTA_OK)
    st = head_gemm(ctx, what, false, false, Sq, Dv, Sk, 1.0f, porta_tensor_ref(pd ? pd : p), d->p,
                   porta_tensor_ref(v), d->v, 0.0f, porta_tensor_ref(*out), d->o, B, H);
  if (st == PORTA_OK && porta_grad_needed(ctx, q, k, v)) {
    porta_node nd = {.backward = attention_backward, .op = what, .out = *out};
    nd.t[0] = q;
    nd.t[1] = k;
    nd.t[2] = v;
    nd.t[3] = p;
    nd.t[4] = pd;
    int64_t sizes[6] = {B, H, Sq, Sk, D, Dv};
    memcpy(nd.i, sizes, sizeof sizes);
    nd.i[6] = (int64_t)ctx->seed;
    nd.i[7] = (int64_t)stream;
    nd.i[8] = (int64_t)base;
    nd.b[0] = d->merged;
    nd.f[0] = scale;
    nd.f[1] = dropout_p;
    st = porta_tape_push(ctx, &nd);
  }
  if (st != PORTA_OK) {
    porta_tensor_destroy(pd);
    porta_tensor_destroy(p);
    if (*out) porta_tensor_destroy(*out);
    *out = NULL;
    return st;
  }
  /* the one not handed out goes now (pinned by the node when recorded) */
  porta_tensor *keep = probs_dropped && pd ? pd : p;
  if (probs) *probs = keep;
  if (!probs || keep != p) porta_tensor_destroy(p);
  if (!probs || keep != pd) porta_tensor_destroy(pd);
  return PORTA_OK;
}

/* Argument checks shared by both layouts: tensors, dtypes, the mask [B, Sk] and p. */
static porta_status check_common(porta_context *ctx, const char *what, porta_tensor **out,
                                 porta_tensor *q, porta_tensor *k, porta_tensor *v,
                                 porta_tensor *mask, float dropout_p) {
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "q", q, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "k", k, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "v", v, PORTA_F32);
  if (st == PORTA_OK && mask) st = porta_check_tensor(ctx, what, "mask", mask, PORTA_F32);
  if (st != PORTA_OK) return st;
  if (!(dropout_p >= 0.0f && dropout_p < 1.0f))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: dropout p = %g is not in [0, 1)", what,
                      (double)dropout_p);
  return PORTA_OK;
}

static porta_status check_mask(porta_context *ctx, const char *what, const porta_tensor *mask,
                               const porta_tensor *k, int64_t B, int64_t Sk) {
  char sm[96], sk[96];
  if (mask && (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != Sk))
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: mask %s does not fit k %s (want [%lld, %lld])",
                      what, PORTA_SHAPE_STR(mask, sm), PORTA_SHAPE_STR(k, sk), (long long)B,
                      (long long)Sk);
  return PORTA_OK;
}

porta_status porta_attention_dropout(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                     porta_tensor *k, porta_tensor *v, porta_tensor *mask,
                                     float dropout_p) {
  const char *what = "porta_attention";
  porta_context *ctx = porta_ctx_of(q, k);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (probs) *probs = NULL;
  porta_status st = check_common(ctx, what, out, q, k, v, mask, dropout_p);
  if (st != PORTA_OK) return st;
  char sq[96], sk[96], sv[96];
  bool ok = q->ndim == 4 && k->ndim == 4 && v->ndim == 4;
  for (int i = 0; ok && i < 2; i++) ok = k->shape[i] == q->shape[i] && v->shape[i] == q->shape[i];
  ok = ok && k->shape[3] == q->shape[3] && v->shape[2] == k->shape[2];
  if (!ok)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: q %s, k %s and v %s do not fit (want [B, H, S, D] with k and v of the "
                      "same length)",
                      what, PORTA_SHAPE_STR(q, sq), PORTA_SHAPE_STR(k, sk), PORTA_SHAPE_STR(v, sv));
  int64_t B = q->shape[0];
  st = check_mask(ctx, what, mask, k, B, k->shape[2]);
  if (st != PORTA_OK) return st;
  attn_dims d =
      make_dims(B, q->shape[1], q->shape[2], k->shape[2], q->shape[3], v->shape[3], false);
  return attention_run(out, probs, q, k, v, mask, dropout_p, false, &d, what);
}

porta_status porta_attention(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                             porta_tensor *k, porta_tensor *v, porta_tensor *mask) {
  return porta_attention_dropout(out, probs, q, k, v, mask, 0.0f);
}

porta_status porta_attention_heads(porta_tensor **out, porta_tensor **probs, porta_tensor *q,
                                   porta_tensor *k, porta_tensor *v, porta_tensor *mask, int heads,
                                   float dropout_p) {
  const char *what = "porta_attention_heads";
  porta_context *ctx = porta_ctx_of(q, k);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (probs) *probs = NULL;
  porta_status st = check_common(ctx, what, out, q, k, v, mask, dropout_p);
  if (st != PORTA_OK) return st;
  char sq[96], sk[96], sv[96];
  bool ok = heads >= 1 && q->ndim == 3 && k->ndim == 3 && v->ndim == 3 &&
            k->shape[0] == q->shape[0] && v->shape[0] == q->shape[0] &&
            k->shape[2] == q->shape[2] && v->shape[1] == k->shape[1];
  ok = ok && q->shape[2] % heads == 0 && v->shape[2] % heads == 0;
  if (!ok)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: q %s, k %s and v %s do not fit %d heads (want [B, S, H·D] with k and v "
                      "of the same length, widths divisible by the heads)",
                      what, PORTA_SHAPE_STR(q, sq), PORTA_SHAPE_STR(k, sk), PORTA_SHAPE_STR(v, sv),
                      heads);
  int64_t B = q->shape[0];
  st = check_mask(ctx, what, mask, k, B, k->shape[1]);
  if (st != PORTA_OK) return st;
  attn_dims d =
      make_dims(B, heads, q->shape[1], k->shape[1], q->shape[2] / heads, v->shape[2] / heads, true);
  return attention_run(out, probs, q, k, v, mask, dropout_p, true, &d, what);
}
