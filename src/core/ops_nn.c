/* Neural-network ops: softmax (+ additive mask), layer norm, embedding, dropout, cross-entropy.
 * Forward and backward side by side, shapes in the comments. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

static void finish(porta_status st, porta_tensor **out) {
  if (st != PORTA_OK && out && *out) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
}

/* ---- softmax ---------------------------------------------------------------------------------
 * y[rows, n] = softmax(x[rows, n] + mask[row / mask_div, n]) over the last dim
 * backward: dx = y ⊙ (dy - Σ_j dy_j y_j)   (no gradient into the mask) */

static porta_status softmax_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *y = n->out, *dy = n->out->grad;
  porta_tensor *g;
  porta_status st = porta_grad_begin(x, &g);
  if (st != PORTA_OK) return st;
  porta_softmax_bwd_args a = {.dx = porta_tensor_ref(g),
                              .y = porta_tensor_ref(y),
                              .dy = porta_tensor_ref(dy),
                              .rows = n->i[0],
                              .n = n->i[1],
                              .scale = 1.0f};
  st = porta_run(x->ctx, n->op, &a);
  porta_status st2 = porta_grad_end(x, g);
  return st != PORTA_OK ? st : st2;
}

/* Makes mask usable as mask[row / div, :] for x's rows: directly when its shape is a prefix of
 * x's row dims followed by 1s (e.g. [B, 1, 1, S] against [B, H, S, S]), otherwise broadcast into
 * *expanded (an internal tensor of x's shape the caller frees). */
static porta_status prepare_mask(porta_context *ctx, const char *what, porta_tensor *x,
                                 porta_tensor *mask, porta_ref *ref, int64_t *div,
                                 porta_tensor **expanded) {
  int64_t x4[4], m4[4];
  porta_shape4(x, x4);
  porta_shape4(mask, m4);
  if (mask->ndim > x->ndim) goto bad;
  for (int i = 0; i < 4; i++)
    if (m4[i] != x4[i] && m4[i] != 1) goto bad;
  *ref = porta_tensor_ref(mask);
  if (m4[3] == x4[3]) {
    for (int j = 3; j >= 0; j--) { /* mask dims [0, j) equal x's, [j, 3) are 1 */
      bool fits = true;
      for (int i = 0; i < 3 && fits; i++) fits = i < j ? m4[i] == x4[i] : m4[i] == 1;
      if (fits) {
        *div = 1;
        for (int i = j; i < 3; i++) *div *= x4[i];
        return PORTA_OK;
      }
    }
  }
  porta_status st = porta_tensor_internal(ctx, expanded, PORTA_F32, 4, x4, what);
  if (st != PORTA_OK) return st;
  porta_copy_args c = {0};
  c.out = porta_tensor_ref(*expanded);
  c.x = *ref;
  memcpy(c.shape, x4, sizeof c.shape);
  porta_strides4(x4, c.out_stride);
  porta_strides4(m4, c.x_stride);
  for (int i = 0; i < 4; i++)
    if (m4[i] == 1) c.x_stride[i] = 0;
  *ref = c.out;
  *div = 1;
  return porta_run(ctx, what, &c);
bad:;
  char sx[96], sm[96];
  return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: mask %s does not broadcast to scores %s", what,
                    PORTA_SHAPE_STR(mask, sm), PORTA_SHAPE_STR(x, sx));
}

porta_status porta_softmax(porta_tensor **out, porta_tensor *x, porta_tensor *mask) {
  const char *what = "porta_softmax";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st == PORTA_OK && mask) st = porta_check_tensor(ctx, what, "mask", mask, PORTA_F32);
  if (st != PORTA_OK) return st;
  int64_t n = x->shape[x->ndim - 1], rows = x->numel / n;
  porta_softmax_args a = {.rows = rows, .n = n, .mask_div = 1, .scale = 1.0f};
  porta_tensor *expanded = NULL;
  if (mask) st = prepare_mask(ctx, what, x, mask, &a.mask, &a.mask_div, &expanded);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, out, PORTA_F32, x->ndim, x->shape, what);
  if (st == PORTA_OK) {
    a.y = porta_tensor_ref(*out);
    a.x = porta_tensor_ref(x);
    st = porta_run(ctx, what, &a);
  }
  porta_tensor_destroy(expanded); /* the queue is in order: later users of the block wait */
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node nd = {.backward = softmax_backward, .op = what, .out = *out};
    nd.t[0] = x;
    nd.i[0] = rows;
    nd.i[1] = n;
    st = porta_tape_push(ctx, &nd);
  }
  finish(st, out);
  return st;
}

/* ---- layer norm ------------------------------------------------------------------------------
 * y[rows, n] = (x - mean) · rstd · gamma[n] + beta[n];  saves mean[rows], rstd[rows]
 * backward (backend): dx written, dgamma and dbeta accumulated over rows */

static porta_status layer_norm_backward(porta_node *n) {
  porta_tensor *x = n->t[0], *gamma = n->t[1], *beta = n->t[2], *mean = n->t[3], *rstd = n->t[4];
  porta_context *ctx = x->ctx;
  int64_t rows = n->i[0], cols = n->i[1];
  porta_tensor *dx = NULL, *scratch_g = NULL, *scratch_b = NULL;
  porta_layernorm_bwd_args a = {.dy = porta_tensor_ref(n->out->grad),
                                .x = porta_tensor_ref(x),
                                .mean = porta_tensor_ref(mean),
                                .rstd = porta_tensor_ref(rstd),
                                .gamma = porta_tensor_ref(gamma),
                                .rows = rows,
                                .n = cols};
  porta_status st;
  if (x->requires_grad)
    st = porta_grad_begin(x, &dx);
  else
    st = porta_tensor_internal(ctx, &dx, PORTA_F32, x->ndim, x->shape, n->op);
  if (st != PORTA_OK) return st;
  a.dx = porta_tensor_ref(dx);
  /* dgamma/dbeta only accumulate: a zeroed scratch when the parameter is frozen. */
  if (gamma->requires_grad) {
    st = porta_grad_zeroed(gamma, &a.dgamma);
  } else {
    st = porta_tensor_internal(ctx, &scratch_g, PORTA_F32, 1, &cols, n->op);
    if (st == PORTA_OK) a.dgamma = porta_tensor_ref(scratch_g);
    if (st == PORTA_OK) st = porta_be_fill(ctx, n->op, a.dgamma, cols, 0.0f);
  }
  /* gamma and beta may be one tensor: the backend's two accumulators must not alias. */
  bool beta_aliases = beta == gamma && gamma->requires_grad;
  if (st == PORTA_OK) {
    if (beta->requires_grad && !beta_aliases) {
      st = porta_grad_zeroed(beta, &a.dbeta);
    } else {
      st = porta_tensor_internal(ctx, &scratch_b, PORTA_F32, 1, &cols, n->op);
      if (st == PORTA_OK) a.dbeta = porta_tensor_ref(scratch_b);
      if (st == PORTA_OK) st = porta_be_fill(ctx, n->op, a.dbeta, cols, 0.0f);
    }
  }
  if (st == PORTA_OK) st = porta_run(ctx, n->op, &a);
  if (st == PORTA_OK && beta_aliases)
    st = porta_be_axpby(ctx, n->op, porta_tensor_ref(beta->grad), a.dbeta, cols, 1.0f, 1.0f);
  if (x->requires_grad) {
    porta_status st2 = porta_grad_end(x, dx);
    if (st == PORTA_OK) st = st2;
  } else {
    porta_tensor_destroy(dx);
  }
  porta_tensor_destroy(scratch_g);
  porta_tensor_destroy(scratch_b);
  return st;
}

porta_status porta_layer_norm(porta_tensor **out, porta_tensor *x, porta_tensor *gamma,
                              porta_tensor *beta, float eps) {
  const char *what = "porta_layer_norm";
  porta_context *ctx = porta_ctx_of(x, gamma);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "gamma", gamma, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "beta", beta, PORTA_F32);
  if (st != PORTA_OK) return st;
  int64_t cols = x->shape[x->ndim - 1], rows = x->numel / cols;
  char sx[96], sg[96], sb[96];
  if (gamma->ndim != 1 || gamma->shape[0] != cols || beta->ndim != 1 || beta->shape[0] != cols)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: x %s needs gamma and beta of [%lld], got gamma %s%s%s and beta %s", what,
                      PORTA_SHAPE_STR(x, sx), (long long)cols, gamma->name ? gamma->name : "",
                      gamma->name ? " " : "", PORTA_SHAPE_STR(gamma, sg),
                      PORTA_SHAPE_STR(beta, sb));
  if (!(eps >= 0.0f))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: eps %g is negative or NaN", what,
                      (double)eps);
  porta_tensor *mean = NULL, *rstd = NULL;
  st = porta_tensor_temp(ctx, &mean, PORTA_F32, 1, &rows, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, &rstd, PORTA_F32, 1, &rows, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, out, PORTA_F32, x->ndim, x->shape, what);
  if (st == PORTA_OK) {
    porta_layernorm_args a = {.y = porta_tensor_ref(*out),
                              .mean = porta_tensor_ref(mean),
                              .rstd = porta_tensor_ref(rstd),
                              .x = porta_tensor_ref(x),
                              .gamma = porta_tensor_ref(gamma),
                              .beta = porta_tensor_ref(beta),
                              .rows = rows,
                              .n = cols,
                              .eps = eps};
    st = porta_run(ctx, what, &a);
  }
  if (st == PORTA_OK && porta_grad_needed(ctx, x, gamma, beta)) {
    porta_node nd = {.backward = layer_norm_backward, .op = what, .out = *out};
    nd.t[0] = x;
    nd.t[1] = gamma;
    nd.t[2] = beta;
    nd.t[3] = mean;
    nd.t[4] = rstd;
    nd.i[0] = rows;
    nd.i[1] = cols;
    st = porta_tape_push(ctx, &nd);
  }
  /* Saved statistics live as long as the node (pinned) or go now. */
  porta_tensor_destroy(mean);
  porta_tensor_destroy(rstd);
  finish(st, out);
  return st;
}

/* ---- embedding -------------------------------------------------------------------------------
 * out[ids..., D] = table[ids[...], :]
 * backward: dtable[ids[t], :] += dout[t, :] (repeated ids add up) */

static porta_status embedding_backward(porta_node *n) {
  porta_tensor *table = n->t[0], *ids = n->t[1];
  porta_embedding_bwd_args a = {.dout = porta_tensor_ref(n->out->grad),
                                .ids = porta_tensor_ref(ids),
                                .n_ids = ids->numel,
                                .dim = table->shape[1],
                                .vocab = table->shape[0]};
  porta_status st = porta_grad_zeroed(table, &a.dtable);
  if (st != PORTA_OK) return st;
  return porta_run(table->ctx, n->op, &a);
}

porta_status porta_embedding(porta_tensor **out, porta_tensor *table, porta_tensor *ids) {
  const char *what = "porta_embedding";
  porta_context *ctx = porta_ctx_of(table, ids);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "table", table, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "ids", ids, PORTA_I32);
  if (st != PORTA_OK) return st;
  char st_[96], si[96];
  if (table->ndim != 2 || ids->ndim > PORTA_MAX_DIMS - 1)
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: table %s%s%s must be [vocab, dim] and ids %s at most 3-D", what,
                      table->name ? table->name : "", table->name ? " " : "",
                      PORTA_SHAPE_STR(table, st_), PORTA_SHAPE_STR(ids, si));
  int64_t oshape[PORTA_MAX_DIMS];
  memcpy(oshape, ids->shape, sizeof(int64_t) * (size_t)ids->ndim);
  oshape[ids->ndim] = table->shape[1];
  st = porta_tensor_temp(ctx, out, PORTA_F32, ids->ndim + 1, oshape, what);
  if (st == PORTA_OK) {
    porta_embedding_args a = {.out = porta_tensor_ref(*out),
                              .table = porta_tensor_ref(table),
                              .ids = porta_tensor_ref(ids),
                              .n_ids = ids->numel,
                              .dim = table->shape[1],
                              .vocab = table->shape[0]};
    st = porta_run(ctx, what, &a);
  }
  if (st == PORTA_OK && porta_grad_needed(ctx, table, NULL, NULL)) {
    porta_node nd = {.backward = embedding_backward, .op = what, .out = *out};
    nd.t[0] = table;
    nd.t[1] = ids;
    st = porta_tape_push(ctx, &nd);
  }
  finish(st, out);
  return st;
}

/* ---- dropout ---------------------------------------------------------------------------------
 * out[i] = x[i] · keep_i / (1 - p), keep_i = philox(seed, stream, i) ≥ p
 * backward: the same mask applied to dy (same seed and stream) */

static porta_status dropout_backward(porta_node *n) {
  porta_tensor *x = n->t[0];
  porta_tensor *g;
  porta_status st = porta_grad_begin(x, &g);
  if (st != PORTA_OK) return st;
  porta_dropout_args a = {.out = porta_tensor_ref(g),
                          .x = porta_tensor_ref(n->out->grad),
                          .n = x->numel,
                          .p = n->f[0],
                          .seed = (uint64_t)n->i[0],
                          .stream = (uint64_t)n->i[1],
                          .base = (uint64_t)n->i[2]};
  st = porta_run(x->ctx, n->op, &a);
  porta_status st2 = porta_grad_end(x, g);
  return st != PORTA_OK ? st : st2;
}

porta_status porta_dropout(porta_tensor **out, porta_tensor *x, float p) {
  const char *what = "porta_dropout";
  porta_context *ctx = porta_ctx_of(x, NULL);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "x", x, PORTA_F32);
  if (st != PORTA_OK) return st;
  if (!(p >= 0.0f && p < 1.0f))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: p = %g is not in [0, 1)", what,
                      (double)p);
  if (!ctx->training || p == 0.0f) /* identity: a view that passes the gradient through */
    return porta_reshape(out, x, x->ndim, x->shape);
  uint64_t base;
  st = porta_dropout_base(ctx, what, x->numel, &base);
  if (st != PORTA_OK) return st;
  uint64_t stream = ctx->stream++;
  st = porta_tensor_temp(ctx, out, PORTA_F32, x->ndim, x->shape, what);
  if (st == PORTA_OK) {
    porta_dropout_args a = {.out = porta_tensor_ref(*out),
                            .x = porta_tensor_ref(x),
                            .n = x->numel,
                            .p = p,
                            .seed = ctx->seed,
                            .stream = stream,
                            .base = base};
    st = porta_run(ctx, what, &a);
  }
  if (st == PORTA_OK && porta_grad_needed(ctx, x, NULL, NULL)) {
    porta_node nd = {.backward = dropout_backward, .op = what, .out = *out};
    nd.t[0] = x;
    nd.f[0] = p;
    nd.i[0] = (int64_t)ctx->seed;
    nd.i[1] = (int64_t)stream;
    nd.i[2] = (int64_t)base;
    st = porta_tape_push(ctx, &nd);
  }
  finish(st, out);
  return st;
}

/* ---- cross-entropy ---------------------------------------------------------------------------
 * loss[1] = mean over valid rows b of -log softmax(logits[b, :])[labels[b]]; saves probs[B, C]
 * backward: dlogits[b, c] = dloss · (probs[b, c] - [c == label_b]) / n_valid (0 on ignored rows) */

static porta_status cross_entropy_backward(porta_node *n) {
  porta_tensor *logits = n->t[0], *labels = n->t[1], *probs = n->t[2];
  porta_tensor *g;
  porta_status st = porta_grad_begin(logits, &g);
  if (st != PORTA_OK) return st;
  porta_cross_entropy_bwd_args a = {.dlogits = porta_tensor_ref(g),
                                    .probs = porta_tensor_ref(probs),
                                    .labels = porta_tensor_ref(labels),
                                    .dloss = porta_tensor_ref(n->out->grad),
                                    .batch = logits->shape[0],
                                    .classes = logits->shape[1]};
  st = porta_run(logits->ctx, n->op, &a);
  porta_status st2 = porta_grad_end(logits, g);
  return st != PORTA_OK ? st : st2;
}

porta_status porta_cross_entropy(porta_tensor **out, porta_tensor *logits, porta_tensor *labels) {
  const char *what = "porta_cross_entropy";
  porta_context *ctx = porta_ctx_of(logits, labels);
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = porta_check_out(ctx, what, out);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "logits", logits, PORTA_F32);
  if (st == PORTA_OK) st = porta_check_tensor(ctx, what, "labels", labels, PORTA_I32);
  if (st != PORTA_OK) return st;
  char sl[96], sy[96];
  if (logits->ndim != 2 || labels->ndim != 1 || labels->shape[0] != logits->shape[0])
    return porta_fail(ctx, PORTA_ERR_SHAPE,
                      "%s: logits %s and labels %s do not fit (want [B, C] and [B])", what,
                      PORTA_SHAPE_STR(logits, sl), PORTA_SHAPE_STR(labels, sy));
  porta_tensor *probs = NULL;
  int64_t one = 1;
  st = porta_tensor_temp(ctx, &probs, PORTA_F32, 2, logits->shape, what);
  if (st == PORTA_OK) st = porta_tensor_temp(ctx, out, PORTA_F32, 1, &one, what);
  if (st == PORTA_OK) {
    porta_cross_entropy_args a = {.loss = porta_tensor_ref(*out),
                                  .probs = porta_tensor_ref(probs),
                                  .logits = porta_tensor_ref(logits),
                                  .labels = porta_tensor_ref(labels),
                                  .batch = logits->shape[0],
                                  .classes = logits->shape[1]};
    st = porta_run(ctx, what, &a);
  }
  if (st == PORTA_OK && porta_grad_needed(ctx, logits, NULL, NULL)) {
    porta_node nd = {.backward = cross_entropy_backward, .op = what, .out = *out};
    nd.t[0] = logits;
    nd.t[1] = labels;
    nd.t[2] = probs;
    st = porta_tape_push(ctx, &nd);
  }
  porta_tensor_destroy(probs); /* kept alive by the node's pin when recorded */
  finish(st, out);
  return st;
}
