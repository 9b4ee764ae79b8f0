/* Op entries, part 2: the row ops (softmax, layer norm, cross-entropy: a work group or an
 * invocation per row, see vk_row_plan_for), embedding gather/scatter, dropout, AdamW and the
 * two-stage sum of squares. Tensors larger than maxStorageBufferRange are bound in chunks of whole
 * rows (or element ranges), never as one descriptor. */
#include <math.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

#define NEED(cond, op)                                                                             \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: %s: bad argument (%s)", op, #cond);  \
  } while (0)

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Row ops bind [rows, n] tensors in chunks of whole rows that fit maxStorageBufferRange; one
 * row must fit. */
static porta_status check_rows(vk_backend *be, const char *op, int64_t rows, int64_t n) {
  if (rows < 0 || n < 0)
    return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: %s: negative shape [%lld, %lld]", op,
                   (long long)rows, (long long)n);
  if ((uint64_t)n > vk_max_elems(be))
    return vk_fail(be, PORTA_ERR_UNSUPPORTED,
                   "vulkan: %s: one row of %lld elements is larger than maxStorageBufferRange "
                   "(%llu bytes)",
                   op, (long long)n, (unsigned long long)be->max_range);
  return PORTA_OK;
}

static int64_t rows_per_chunk(vk_backend *be, int64_t n) {
  return n > 0 ? (int64_t)(vk_max_elems(be) / (uint64_t)n) : 1;
}

static porta_ref at_row(porta_ref ref, int64_t row, int64_t n) {
  return (porta_ref){ref.buf, ref.off + (size_t)(row * n)};
}

static void groups_per_row(vk_backend *be, uint64_t rows, uint32_t *gx, uint32_t *gy) {
  vk_groups_1d(rows * be->wg, be->wg, gx, gy);
}

porta_status vk_ops_nn_softmax(porta_backend *base, const porta_softmax_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_SOFTMAX);
  porta_status st = check_rows(be, "softmax", a->rows, a->n);
  if (st != PORTA_OK) return st;
  if (a->rows == 0 || a->n == 0) return PORTA_OK;
  NEED(a->y.buf && a->x.buf, "softmax");
  bool has_mask = a->mask.buf != NULL;
  NEED(!has_mask || a->mask_div >= 1, "softmax");
  vk_pipeline *pipe;
  vk_row_plan plan = vk_row_plan_for(be, (uint64_t)a->rows, (uint64_t)a->n);
  if ((st = vk_pipe_rows(be, "softmax", 3, plan, &pipe)) != PORTA_OK) return st;
  int64_t chunk = rows_per_chunk(be, a->n), div = has_mask ? a->mask_div : 1;
  for (int64_t r0 = 0; r0 < a->rows; r0 += chunk) {
    int64_t rows = a->rows - r0 < chunk ? a->rows - r0 : chunk;
    int64_t m0 = r0 / div, m1 = (r0 + rows - 1) / div; /* mask rows this chunk reads */
    uint64_t count = (uint64_t)(rows * a->n);
    struct {
      uint32_t rows, n, mask_div, has_mask;
      float scale;
      uint32_t row0, mask_row0;
    } push = {(uint32_t)rows, (uint32_t)a->n, (uint32_t)div, has_mask,
              a->scale,       (uint32_t)r0,   (uint32_t)m0};
    vk_bind binds[3] = {{at_row(a->y, r0, a->n), count},
                        {at_row(a->x, r0, a->n), count},
                        {has_mask ? at_row(a->mask, m0, a->n) : a->mask,
                         has_mask ? (uint64_t)((m1 - m0 + 1) * a->n) : 1}};
    uint32_t gx, gy;
    vk_groups_rows(plan, (uint64_t)rows, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_SOFTMAX, pipe, binds, 3, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_softmax_bwd(porta_backend *base, const porta_softmax_bwd_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_SOFTMAX_BWD);
  porta_status st = check_rows(be, "softmax_bwd", a->rows, a->n);
  if (st != PORTA_OK) return st;
  if (a->rows == 0 || a->n == 0) return PORTA_OK;
  NEED(a->dx.buf && a->y.buf && a->dy.buf, "softmax_bwd");
  vk_pipeline *pipe;
  vk_row_plan plan = vk_row_plan_for(be, (uint64_t)a->rows, (uint64_t)a->n);
  if ((st = vk_pipe_rows(be, "softmax_bwd", 3, plan, &pipe)) != PORTA_OK) return st;
  int64_t chunk = rows_per_chunk(be, a->n);
  for (int64_t r0 = 0; r0 < a->rows; r0 += chunk) {
    int64_t rows = a->rows - r0 < chunk ? a->rows - r0 : chunk;
    uint64_t count = (uint64_t)(rows * a->n);
    struct {
      uint32_t rows, n;
      float scale;
    } push = {(uint32_t)rows, (uint32_t)a->n, a->scale};
    vk_bind binds[3] = {{at_row(a->dx, r0, a->n), count},
                        {at_row(a->y, r0, a->n), count},
                        {at_row(a->dy, r0, a->n), count}};
    uint32_t gx, gy;
    vk_groups_rows(plan, (uint64_t)rows, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_SOFTMAX_BWD, pipe, binds, 3, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_layernorm(porta_backend *base, const porta_layernorm_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_LAYERNORM);
  porta_status st = check_rows(be, "layernorm", a->rows, a->n);
  if (st != PORTA_OK) return st;
  if (a->rows == 0 || a->n == 0) return PORTA_OK;
  NEED(a->y.buf && a->mean.buf && a->rstd.buf && a->x.buf && a->gamma.buf && a->beta.buf,
       "layernorm");
  vk_pipeline *pipe;
  vk_row_plan plan = vk_row_plan_for(be, (uint64_t)a->rows, (uint64_t)a->n);
  if ((st = vk_pipe_rows(be, "layernorm", 6, plan, &pipe)) != PORTA_OK) return st;
  int64_t chunk = rows_per_chunk(be, a->n);
  uint64_t n = (uint64_t)a->n;
  for (int64_t r0 = 0; r0 < a->rows; r0 += chunk) {
    int64_t rows = a->rows - r0 < chunk ? a->rows - r0 : chunk;
    uint64_t count = (uint64_t)rows * n;
    struct {
      uint32_t rows, n;
      float eps;
    } push = {(uint32_t)rows, (uint32_t)a->n, a->eps};
    vk_bind binds[6] = {{at_row(a->y, r0, a->n), count},
                        {at_row(a->mean, r0, 1), (uint64_t)rows},
                        {at_row(a->rstd, r0, 1), (uint64_t)rows},
                        {at_row(a->x, r0, a->n), count},
                        {a->gamma, n},
                        {a->beta, n}};
    uint32_t gx, gy;
    vk_groups_rows(plan, (uint64_t)rows, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_LAYERNORM, pipe, binds, 6, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_layernorm_bwd(porta_backend *base, const porta_layernorm_bwd_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_LAYERNORM_BWD);
  porta_status st = check_rows(be, "layernorm_bwd", a->rows, a->n);
  if (st != PORTA_OK) return st;
  if (a->rows == 0 || a->n == 0) return PORTA_OK;
  NEED(a->dy.buf && a->x.buf && a->mean.buf && a->rstd.buf, "layernorm_bwd");
  NEED((a->dgamma.buf != NULL) == (a->dbeta.buf != NULL), "layernorm_bwd");
  if (a->dx.buf) NEED(a->gamma.buf, "layernorm_bwd");
  uint64_t n = (uint64_t)a->n;
  /* ≤ 32768 rows a dispatch: layernorm_bwd_params loops over them (VK_CPU_LOOP_LIMIT) */
  int64_t max_rows = (VK_CPU_LOOP_LIMIT + 1) / 2;
  int64_t chunk = rows_per_chunk(be, a->n) < max_rows ? rows_per_chunk(be, a->n) : max_rows;
  vk_pipeline *pipe;
  uint32_t gx, gy;
  vk_row_plan plan = vk_row_plan_for(be, (uint64_t)a->rows, (uint64_t)a->n);
  for (int64_t r0 = 0; r0 < a->rows; r0 += chunk) {
    int64_t rows = a->rows - r0 < chunk ? a->rows - r0 : chunk;
    uint64_t count = (uint64_t)rows * n;
    struct {
      uint32_t rows, n;
    } push = {(uint32_t)rows, (uint32_t)a->n};
    porta_ref dy = at_row(a->dy, r0, a->n), x = at_row(a->x, r0, a->n);
    porta_ref mean = at_row(a->mean, r0, 1), rstd = at_row(a->rstd, r0, 1);
    if (a->dx.buf) {
      if ((st = vk_pipe_rows(be, "layernorm_bwd", 6, plan, &pipe)) != PORTA_OK) return st;
      vk_bind binds[6] = {
          {at_row(a->dx, r0, a->n), count}, {dy, count},  {x, count}, {mean, (uint64_t)rows},
          {rstd, (uint64_t)rows},           {a->gamma, n}};
      vk_groups_rows(plan, (uint64_t)rows, &gx, &gy);
      st = vk_dispatch(be, PORTA_OP_LAYERNORM_BWD, pipe, binds, 6, &push, sizeof push, gx, gy, 1);
      if (st != PORTA_OK) return st;
    }
    if (a->dgamma.buf) { /* accumulates, so row chunks add up */
      /* 4 columns an invocation as vec4s where n and every view allow */
      uint32_t spec[2] = {be->wg, n % 4 == 0 && vk_aligned16(a->dgamma) && vk_aligned16(a->dbeta) &&
                                      vk_aligned16(dy) && vk_aligned16(x)};
      if ((st = vk_pipeline_get(be, "layernorm_bwd_params", 6, spec, 2, &pipe)) != PORTA_OK)
        return st;
      vk_bind binds[6] = {{a->dgamma, n}, {a->dbeta, n},          {dy, count},
                          {x, count},     {mean, (uint64_t)rows}, {rstd, (uint64_t)rows}};
      vk_groups_1d(spec[1] ? n / 4 : n, be->wg, &gx, &gy);
      st = vk_dispatch(be, PORTA_OP_LAYERNORM_BWD, pipe, binds, 6, &push, sizeof push, gx, gy, 1);
      if (st != PORTA_OK) return st;
    }
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_embedding(porta_backend *base, const porta_embedding_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_EMBEDDING);
  if (a->n_ids < 0 || a->dim < 0 || a->vocab < 0 || a->vocab > INT32_MAX)
    return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: embedding: bad shape");
  if (a->n_ids == 0 || a->dim == 0) return PORTA_OK;
  porta_status st = check_rows(be, "embedding", a->n_ids, a->dim);
  if (st != PORTA_OK) return st;
  NEED(a->out.buf && a->ids.buf, "embedding");
  if (a->vocab == 0) return vk_fill(base, a->out, a->n_ids * a->dim, 0.0f);
  NEED(a->table.buf, "embedding");
  vk_pipeline *pipe;
  if ((st = vk_pipe_1d(be, "embedding", 3, &pipe)) != PORTA_OK) return st;
  uint64_t count = (uint64_t)(a->n_ids * a->dim);
  int64_t chunk = rows_per_chunk(be, a->dim);
  for (int64_t lo = 0; lo < a->vocab; lo += chunk) {
    int64_t hi = a->vocab - lo < chunk ? a->vocab : lo + chunk;
    struct {
      uint32_t n_ids, dim;
      int32_t lo, hi, vocab;
      uint32_t first_chunk;
    } push = {(uint32_t)a->n_ids, (uint32_t)a->dim,  (int32_t)lo,
              (int32_t)hi,        (int32_t)a->vocab, lo == 0};
    vk_bind binds[3] = {
        {a->out, count},
        {{a->table.buf, a->table.off + (size_t)(lo * a->dim)}, (uint64_t)((hi - lo) * a->dim)},
        {a->ids, (uint64_t)a->n_ids}};
    uint32_t gx, gy;
    vk_groups_1d(count, be->wg, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_EMBEDDING, pipe, binds, 3, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_embedding_bwd(porta_backend *base, const porta_embedding_bwd_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_EMBEDDING_BWD);
  if (a->n_ids < 0 || a->dim < 0 || a->vocab < 0 || a->vocab > INT32_MAX)
    return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: embedding_bwd: bad shape");
  if (a->n_ids == 0 || a->dim == 0 || a->vocab == 0) return PORTA_OK;
  porta_status st = check_rows(be, "embedding_bwd", a->n_ids, a->dim);
  if (st != PORTA_OK) return st;
  NEED(a->dtable.buf && a->dout.buf && a->ids.buf, "embedding_bwd");
  /* Both shaders loop up to n_ids times an invocation, and lavapipe ends an invocation after
   * 65535 loop iterations (silently): CPU devices take the tokens in slices, in order, which
   * adds them to each row in the same order as one pass would. */
  if (be->base.info.is_cpu && a->n_ids > VK_CPU_LOOP_SLICE) {
    porta_embedding_bwd_args part = *a;
    for (int64_t t0 = 0; t0 < a->n_ids && st == PORTA_OK; t0 += VK_CPU_LOOP_SLICE) {
      part.n_ids = a->n_ids - t0 < VK_CPU_LOOP_SLICE ? a->n_ids - t0 : VK_CPU_LOOP_SLICE;
      part.ids.off = a->ids.off + (size_t)t0;
      part.dout.off = a->dout.off + (size_t)(t0 * a->dim);
      st = vk_ops_nn_embedding_bwd(base, &part);
    }
    return st;
  }
  vk_buffer *links;
  if ((st = vk_scratch(be, (size_t)a->n_ids * 8, &links)) != PORTA_OK) return st;
  porta_ref links_ref = {links, 0};
  vk_pipeline *pipe;
  uint32_t gx, gy;
  if ((st = vk_pipe_1d(be, "embedding_bwd_links", 2, &pipe)) != PORTA_OK) return st;
  {
    uint32_t push[1] = {(uint32_t)a->n_ids};
    vk_bind binds[2] = {{links_ref, (uint64_t)a->n_ids * 2}, {a->ids, (uint64_t)a->n_ids}};
    vk_groups_1d((uint64_t)a->n_ids, be->wg, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_EMBEDDING_BWD, pipe, binds, 2, push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  if ((st = vk_pipe_1d(be, "embedding_bwd", 4, &pipe)) != PORTA_OK) return st;
  uint64_t count = (uint64_t)(a->n_ids * a->dim);
  int64_t chunk = rows_per_chunk(be, a->dim);
  for (int64_t lo = 0; lo < a->vocab; lo += chunk) {
    int64_t hi = a->vocab - lo < chunk ? a->vocab : lo + chunk;
    struct {
      uint32_t n_ids, dim;
      int32_t lo, hi;
    } push = {(uint32_t)a->n_ids, (uint32_t)a->dim, (int32_t)lo, (int32_t)hi};
    vk_bind binds[4] = {
        {{a->dtable.buf, a->dtable.off + (size_t)(lo * a->dim)}, (uint64_t)((hi - lo) * a->dim)},
        {a->dout, count},
        {a->ids, (uint64_t)a->n_ids},
        {links_ref, (uint64_t)a->n_ids * 2}};
    vk_groups_1d(count, be->wg, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_EMBEDDING_BWD, pipe, binds, 4, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_dropout(porta_backend *base, const porta_dropout_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_DROPOUT);
  if (a->n < 0) return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: dropout: negative n");
  if (!(a->p >= 0.0f && a->p <= 1.0f))
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: dropout: p = %g is not in [0, 1]",
                   (double)a->p);
  if (a->n == 0) return PORTA_OK;
  NEED(a->out.buf && a->x.buf, "dropout");
  vk_pipeline *pipe;
  porta_status st = vk_pipe_1d(be, "dropout", 2, &pipe);
  if (st != PORTA_OK) return st;
  float scale = 1.0f / (1.0f - a->p);
  uint64_t chunk = vk_max_elems(be);
  for (uint64_t s = 0; s < (uint64_t)a->n; s += chunk) {
    uint64_t cnt = min_u64((uint64_t)a->n - s, chunk);
    struct {
      uint32_t n;
      float p, scale;
      uint32_t seed_lo, seed_hi, stream_lo, stream_hi, base_lo, base_hi;
    } push = {(uint32_t)cnt,
              a->p,
              scale,
              (uint32_t)a->seed,
              (uint32_t)(a->seed >> 32),
              (uint32_t)a->stream,
              (uint32_t)(a->stream >> 32),
              (uint32_t)(a->base + s),
              (uint32_t)((a->base + s) >> 32)};
    vk_bind binds[2] = {{{a->out.buf, a->out.off + s}, cnt}, {{a->x.buf, a->x.off + s}, cnt}};
    uint32_t gx, gy;
    vk_groups_1d((cnt + 3) / 4, be->wg, &gx, &gy); /* 4 elements an invocation */
    st = vk_dispatch(be, PORTA_OP_DROPOUT, pipe, binds, 2, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

porta_status vk_ops_nn_cross_entropy(porta_backend *base, const porta_cross_entropy_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_CROSS_ENTROPY);
  porta_status st = check_rows(be, "cross_entropy", a->batch, a->classes);
  if (st != PORTA_OK) return st;
  NEED(a->loss.buf, "cross_entropy");
  if (a->batch == 0 || a->classes == 0) return vk_fill(base, a->loss, 1, 0.0f);
  NEED(a->probs.buf && a->logits.buf && a->labels.buf, "cross_entropy");
  vk_buffer *row_losses;
  if ((st = vk_scratch(be, (size_t)a->batch * 8, &row_losses)) != PORTA_OK) return st;
  porta_ref rows_ref = {row_losses, 0};
  uint64_t batch = (uint64_t)a->batch;
  vk_pipeline *pipe;
  uint32_t gx, gy;
  vk_row_plan plan = vk_row_plan_for(be, batch, (uint64_t)a->classes);
  if ((st = vk_pipe_rows(be, "cross_entropy", 4, plan, &pipe)) != PORTA_OK) return st;
  int64_t chunk = rows_per_chunk(be, a->classes);
  for (int64_t r0 = 0; r0 < a->batch; r0 += chunk) {
    int64_t rows = a->batch - r0 < chunk ? a->batch - r0 : chunk;
    uint64_t count = (uint64_t)(rows * a->classes);
    uint32_t push[4] = {(uint32_t)a->batch, (uint32_t)a->classes, (uint32_t)r0, (uint32_t)rows};
    vk_bind binds[4] = {{at_row(a->probs, r0, a->classes), count},
                        {at_row(a->logits, r0, a->classes), count},
                        {a->labels, batch},
                        {rows_ref, 2 * batch}};
    vk_groups_rows(plan, (uint64_t)rows, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_CROSS_ENTROPY, pipe, binds, 4, push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  if ((st = vk_pipe_1d(be, "cross_entropy_loss", 2, &pipe)) != PORTA_OK) return st;
  uint32_t push[1] = {(uint32_t)a->batch};
  vk_bind binds[2] = {{a->loss, 1}, {rows_ref, 2 * batch}};
  return vk_dispatch(be, PORTA_OP_CROSS_ENTROPY, pipe, binds, 2, push, sizeof push, 1, 1, 1);
}

porta_status vk_ops_nn_cross_entropy_bwd(porta_backend *base,
                                         const porta_cross_entropy_bwd_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_CROSS_ENTROPY_BWD);
  porta_status st = check_rows(be, "cross_entropy_bwd", a->batch, a->classes);
  if (st != PORTA_OK) return st;
  if (a->batch == 0 || a->classes == 0) return PORTA_OK;
  NEED(a->dlogits.buf && a->probs.buf && a->labels.buf && a->dloss.buf, "cross_entropy_bwd");
  uint64_t batch = (uint64_t)a->batch;
  vk_pipeline *pipe;
  if ((st = vk_pipe_1d(be, "cross_entropy_bwd", 4, &pipe)) != PORTA_OK) return st;
  int64_t chunk = rows_per_chunk(be, a->classes);
  for (int64_t r0 = 0; r0 < a->batch; r0 += chunk) {
    int64_t rows = a->batch - r0 < chunk ? a->batch - r0 : chunk;
    uint64_t count = (uint64_t)(rows * a->classes);
    uint32_t push[4] = {(uint32_t)a->batch, (uint32_t)a->classes, (uint32_t)r0, (uint32_t)rows};
    vk_bind binds[4] = {{at_row(a->dlogits, r0, a->classes), count},
                        {at_row(a->probs, r0, a->classes), count},
                        {a->labels, batch},
                        {a->dloss, 1}};
    uint32_t gx, gy;
    groups_per_row(be, (uint64_t)rows, &gx, &gy);
    st = vk_dispatch(be, PORTA_OP_CROSS_ENTROPY_BWD, pipe, binds, 4, push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* Elements [begin, end) of one AdamW update through pipeline pipe (adamw or adamw_texel: the
 * same push constants), in chunks of at most chunk elements, an invocation per quad. */
static porta_status adamw_range(vk_backend *be, vk_pipeline *pipe, const porta_adamw_args *a,
                                uint64_t begin, uint64_t end, uint64_t chunk, uint32_t vec4_ok) {
  for (uint64_t s = begin; s < end; s += chunk) {
    uint64_t cnt = min_u64(end - s, chunk);
    vk_bind binds[4] = {{{a->param.buf, a->param.off + s}, cnt},
                        {{a->grad.buf, a->grad.off + s}, cnt},
                        {{a->m.buf, a->m.off + s}, cnt},
                        {{a->v.buf, a->v.off + s}, cnt}};
    struct { /* the step's factors rounded from doubles, as porta_adamw_args describes */
      uint32_t n;
      float decay, w1, beta2, w2, eps, step_size, sqrt_bc2, grad_scale;
      uint32_t vec4_ok;
    } push = {(uint32_t)cnt,
              (float)(1.0 - a->lr * a->weight_decay),
              (float)(1.0 - a->beta1),
              (float)a->beta2,
              (float)(1.0 - a->beta2),
              (float)a->eps,
              (float)(a->lr / a->bias_correction1),
              (float)sqrt(a->bias_correction2),
              a->grad_scale != 0.0f ? a->grad_scale : 1.0f,
              vec4_ok};
    uint32_t gx, gy;
    vk_groups_1d((cnt + 3) / 4, be->wg, &gx, &gy);
    porta_status st =
        vk_dispatch(be, PORTA_OP_ADAMW, pipe, binds, 4, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* Whole quads as vec4s when all four views start 16-byte aligned (chunks start at multiples of
 * 64 elements, so they stay aligned). On CPU devices with RGBA32F storage texel buffers, those
 * quads go through adamw_texel (lavapipe inlines imageLoad/imageStore into its SIMD code, while
 * each SSBO access is a per-lane loop: 2.2x faster), the last n % 4 elements through adamw. */
porta_status vk_ops_nn_adamw(porta_backend *base, const porta_adamw_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_ADAMW);
  if (a->n < 0) return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: adamw: negative n");
  if (a->n == 0) return PORTA_OK;
  NEED(a->param.buf && a->grad.buf && a->m.buf && a->v.buf, "adamw");
  const porta_ref refs[4] = {a->param, a->grad, a->m, a->v};
  uint32_t vec4_ok = 1;
  for (int i = 0; i < 4; i++)
    if (!vk_aligned16(refs[i])) vec4_ok = 0;
  uint64_t n = (uint64_t)a->n, chunk = vk_max_elems(be), done = 0;
  porta_status st = PORTA_OK;
  bool texel = be->adamw_mode == VK_ADAMW_TEXEL ||
               (be->adamw_mode == VK_ADAMW_AUTO && be->base.info.is_cpu &&
                porta_path_on(&be->base, VK_PATH_ADAMW_TEXEL));
  if (vec4_ok && be->texel_ok && texel && n >= 4) {
    vk_pipeline *texel;
    uint32_t spec[1] = {be->wg};
    st = vk_pipeline_get_texel(be, "adamw_texel", 4, 0xF, spec, 1, &texel);
    uint64_t texel_chunk = min_u64(chunk, 4 * (uint64_t)be->props.limits.maxTexelBufferElements);
    texel_chunk &= ~(uint64_t)63;
    done = n / 4 * 4;
    if (st == PORTA_OK) st = adamw_range(be, texel, a, 0, done, texel_chunk, 1);
  }
  vk_pipeline *pipe;
  if (st == PORTA_OK && done < n) st = vk_pipe_1d(be, "adamw", 4, &pipe);
  if (st == PORTA_OK && done < n) st = adamw_range(be, pipe, a, done, n, chunk, vec4_ok);
  return st;
}

#define SUMSQ_GROUPS 256u

porta_status vk_ops_nn_sumsq(porta_backend *base, const porta_sumsq_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_SUMSQ);
  if (a->n < 0) return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: sumsq: negative n");
  NEED(a->out.buf && (a->x.buf || a->n == 0), "sumsq");
  if (a->n == 0) return a->accumulate ? PORTA_OK : vk_fill(base, a->out, 1, 0.0f);
  uint64_t chunk = vk_max_elems(be);
  uint64_t n_chunks = ((uint64_t)a->n + chunk - 1) / chunk;
  vk_buffer *partials;
  porta_status st = vk_scratch(be, n_chunks * SUMSQ_GROUPS * 4, &partials);
  if (st != PORTA_OK) return st;
  /* CPU devices: subgroup-sized groups, which need no barrier with subgroup arithmetic (a lane
   * then loops over ≤ 4096 vec4s of a chunk, under lavapipe's loop limit) */
  vk_row_plan plan = {.wg = be->wg, .subgroup = vk_rows_subgroup(be)};
  if (be->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) plan.wg = be->subgroup_size;
  vk_pipeline *pipe;
  if ((st = vk_pipe_rows(be, "sumsq_partial", 2, plan, &pipe)) != PORTA_OK) return st;
  uint64_t total = 0; /* partials written, contiguous: every chunk but the last fills 256 */
  for (uint64_t s = 0; s < (uint64_t)a->n; s += chunk) {
    uint64_t cnt = min_u64((uint64_t)a->n - s, chunk);
    uint32_t groups = (uint32_t)min_u64((cnt + plan.wg - 1) / plan.wg, SUMSQ_GROUPS);
    uint32_t push[2] = {(uint32_t)cnt, groups};
    vk_bind binds[2] = {{{partials, total}, groups}, {{a->x.buf, a->x.off + s}, cnt}};
    st = vk_dispatch(be, PORTA_OP_SUMSQ, pipe, binds, 2, push, sizeof push, groups, 1, 1);
    if (st != PORTA_OK) return st;
    total += groups;
  }
  if ((st = vk_pipe_1d(be, "sumsq_final", 2, &pipe)) != PORTA_OK) return st;
  /* one pass unless the partials themselves exceed a binding; later passes accumulate */
  for (uint64_t s = 0; s < total; s += chunk) {
    uint64_t cnt = min_u64(total - s, chunk);
    uint32_t push[2] = {(uint32_t)cnt, s > 0 || a->accumulate};
    vk_bind binds[2] = {{a->out, 1}, {{partials, s}, cnt}};
    st = vk_dispatch(be, PORTA_OP_SUMSQ, pipe, binds, 2, push, sizeof push, 1, 1, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}
