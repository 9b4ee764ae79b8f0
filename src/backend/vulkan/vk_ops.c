/* Op entries, part 1: elementwise (binary, unary, unary backward), reduce, strided copy, the
 * supports query and the vtable (GEMM: vk_gemm.c). Each entry checks its arguments, splits work
 * that would bind more than maxStorageBufferRange, and records dispatches (see vk_exec.c). */
#include <string.h>

#include "backend/vulkan/vk_internal.h"

/* ---- elementwise ----------------------------------------------------------------------------- */

porta_status vk_pipe_1d(vk_backend *be, const char *name, int n_bindings, vk_pipeline **out) {
  uint32_t spec[1] = {be->wg};
  return vk_pipeline_get(be, name, n_bindings, spec, 1, out);
}

/* Elements a strided 4-D view spans (0 for an empty shape). */
static uint64_t view_span(const int64_t shape[4], const int64_t stride[4]) {
  uint64_t span = 1;
  for (int d = 0; d < 4; d++) {
    if (shape[d] == 0) return 0;
    span += (uint64_t)(shape[d] - 1) * (uint64_t)stride[d];
  }
  return span;
}

static porta_status check_shape(vk_backend *be, const char *op, const int64_t shape[4],
                                const int64_t *const strides[], int n_strides) {
  for (int d = 0; d < 4; d++) {
    if (shape[d] < 0)
      return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: %s: negative dimension %lld", op,
                     (long long)shape[d]);
    for (int s = 0; s < n_strides; s++)
      if (strides[s][d] < 0)
        return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: %s: negative stride", op);
  }
  return PORTA_OK;
}

/* A 4-D iteration over up to 3 strided views (the output first). */
typedef struct vk_views {
  int64_t shape[4];
  int64_t stride[3][4];
  porta_ref ref[3];
  int n;
  int64_t origin[4]; /* index of this piece's first element in the whole iteration */
} vk_views;

typedef porta_status (*vk_views_fn)(vk_backend *be, const vk_views *v, const void *op_args);

static uint64_t widest_view(const vk_views *v) {
  uint64_t worst = 0;
  for (int i = 0; i < v->n; i++) {
    uint64_t span = view_span(v->shape, v->stride[i]);
    if (span > worst) worst = span;
  }
  return worst;
}

/* Runs fn on pieces of v in which every view spans at most `limit` elements: the outermost
 * dimension longer than 1 is cut into chunks (halved until they fit), and a single slice that is
 * still too wide is cut along the next dimension. Pieces of a contiguous view stay contiguous. */
static porta_status split_views(vk_backend *be, const vk_views *v, uint64_t limit, vk_views_fn fn,
                                const void *op_args) {
  if (widest_view(v) <= limit) return fn(be, v, op_args);
  int d = 0;
  while (d < 3 && v->shape[d] <= 1) d++;
  vk_views piece = *v;
  int64_t c = v->shape[d];
  for (;;) {
    piece.shape[d] = c;
    if (c == 1 || widest_view(&piece) <= limit) break;
    c = (c + 1) / 2;
  }
  if (c == 1 && d == 3 && widest_view(&piece) > limit)
    return vk_fail(
        be, PORTA_ERR_UNSUPPORTED,
        "vulkan: a strided view cannot be split under maxStorageBufferRange (%llu bytes)",
        (unsigned long long)be->max_range);
  for (int64_t i0 = 0; i0 < v->shape[d]; i0 += c) {
    piece.shape[d] = v->shape[d] - i0 < c ? v->shape[d] - i0 : c;
    piece.origin[d] = v->origin[d] + i0;
    for (int i = 0; i < v->n; i++)
      piece.ref[i].off = v->ref[i].off + (size_t)(i0 * v->stride[i][d]);
    porta_status st = split_views(be, &piece, limit, fn, op_args);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

bool vk_aligned16(porta_ref r) {
  const vk_buffer *b = r.buf;
  return b && (b->offset + (VkDeviceSize)r.off * 4) % 16 == 0;
}

/* Whether views v[0..n) can be read as uvec4s along dim 3: contiguous there, every other stride
 * and the length of dim 3 multiples of 4, every view 16-byte aligned. */
static bool vec4_views(const vk_views *v) {
  if (v->shape[3] % 4) return false;
  for (int i = 0; i < v->n; i++) {
    if (v->stride[i][3] != 1 || !vk_aligned16(v->ref[i])) return false;
    for (int d = 0; d < 3; d++)
      if (v->stride[i][d] % 4) return false;
  }
  return true;
}

/* One binary dispatch: views out (contiguous over v->shape), a, b; by vec4 where vec4_views
 * allows. */
static porta_status binary_piece(vk_backend *be, const vk_views *v, const void *op_args) {
  const porta_binary_args *a = op_args;
  uint64_t n = (uint64_t)(v->shape[0] * v->shape[1] * v->shape[2] * v->shape[3]);
  uint32_t vec = vec4_views(v) ? 4 : 1;
  vk_pipeline *pipe;
  uint32_t spec[2] = {be->wg, vec == 4};
  porta_status st = vk_pipeline_get(be, "binary", 3, spec, 2, &pipe);
  if (st != PORTA_OK) return st;
  const int64_t *sa = v->stride[1], *sb = v->stride[2];
  /* in units of vec elements: dim 3 has stride 1 when vec = 4 */
  uint32_t push[13] = {
      (uint32_t)a->op,         (uint32_t)(n / vec),           (uint32_t)v->shape[1],
      (uint32_t)v->shape[2],   (uint32_t)(v->shape[3] / vec), (uint32_t)(sa[0] / vec),
      (uint32_t)(sa[1] / vec), (uint32_t)(sa[2] / vec),       (uint32_t)sa[3],
      (uint32_t)(sb[0] / vec), (uint32_t)(sb[1] / vec),       (uint32_t)(sb[2] / vec),
      (uint32_t)sb[3]};
  vk_bind binds[3] = {
      {v->ref[0], n}, {v->ref[1], view_span(v->shape, sa)}, {v->ref[2], view_span(v->shape, sb)}};
  uint32_t gx, gy;
  vk_groups_1d(n / vec, be->wg, &gx, &gy);
  return vk_dispatch(be, PORTA_OP_BINARY, pipe, binds, 3, push, sizeof push, gx, gy, 1);
}

static porta_status binary(porta_backend *base, const porta_binary_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_BINARY);
  const int64_t *strides[2] = {a->a_stride, a->b_stride};
  porta_status st = check_shape(be, "binary", a->shape, strides, 2);
  if (st != PORTA_OK) return st;
  uint64_t n = (uint64_t)(a->shape[0] * a->shape[1] * a->shape[2] * a->shape[3]);
  if (n == 0) return PORTA_OK;
  if (!a->out.buf || !a->a.buf || !a->b.buf)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: binary: NULL buffer");
  vk_views v = {.n = 3, .ref = {a->out, a->a, a->b}};
  memcpy(v.shape, a->shape, sizeof v.shape);
  int64_t contiguous = 1;
  for (int d = 3; d >= 0; d--) {
    v.stride[0][d] = contiguous;
    contiguous *= a->shape[d];
  }
  memcpy(v.stride[1], a->a_stride, sizeof v.stride[1]);
  memcpy(v.stride[2], a->b_stride, sizeof v.stride[2]);
  return split_views(be, &v, vk_max_elems(be), binary_piece, a);
}

static porta_status unary(porta_backend *base, const porta_unary_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_UNARY);
  if (a->n < 0) return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: unary: negative n");
  if (a->n == 0) return PORTA_OK;
  if (!a->out.buf || !a->x.buf)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: unary: NULL buffer");
  vk_pipeline *pipe;
  porta_status st = vk_pipe_1d(be, "unary", 2, &pipe);
  if (st != PORTA_OK) return st;
  uint64_t chunk = vk_max_elems(be);
  for (uint64_t s = 0; s < (uint64_t)a->n; s += chunk) {
    uint64_t cnt = (uint64_t)a->n - s < chunk ? (uint64_t)a->n - s : chunk;
    struct {
      uint32_t op, n;
      float alpha, beta;
    } push = {(uint32_t)a->op, (uint32_t)cnt, a->alpha, a->beta};
    vk_bind binds[2] = {{{a->out.buf, a->out.off + s}, cnt}, {{a->x.buf, a->x.off + s}, cnt}};
    uint32_t gx, gy;
    vk_groups_1d((cnt + 3) / 4, be->wg, &gx, &gy); /* 4 elements an invocation */
    st = vk_dispatch(be, PORTA_OP_UNARY, pipe, binds, 2, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

static porta_status unary_bwd(porta_backend *base, const porta_unary_bwd_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_UNARY_BWD);
  if (a->n < 0) return vk_fail(be, PORTA_ERR_SHAPE, "vulkan: unary_bwd: negative n");
  if (a->n == 0) return PORTA_OK;
  bool uses_x = a->op != PORTA_UNARY_SCALE;
  if (!a->dx.buf || !a->dy.buf || (uses_x && !a->x.buf))
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: unary_bwd: NULL buffer");
  vk_pipeline *pipe;
  porta_status st = vk_pipe_1d(be, "unary_bwd", 3, &pipe);
  if (st != PORTA_OK) return st;
  uint64_t chunk = vk_max_elems(be);
  for (uint64_t s = 0; s < (uint64_t)a->n; s += chunk) {
    uint64_t cnt = (uint64_t)a->n - s < chunk ? (uint64_t)a->n - s : chunk;
    struct {
      uint32_t op, n;
      float alpha;
    } push = {(uint32_t)a->op, (uint32_t)cnt, a->alpha};
    vk_bind binds[3] = {{{a->dx.buf, a->dx.off + s}, cnt},
                        {{uses_x ? a->x.buf : NULL, a->x.off + s}, cnt},
                        {{a->dy.buf, a->dy.off + s}, cnt}};
    uint32_t gx, gy;
    vk_groups_1d((cnt + 3) / 4, be->wg, &gx, &gy); /* 4 elements an invocation */
    st = vk_dispatch(be, PORTA_OP_UNARY_BWD, pipe, binds, 3, &push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* One reduce dispatch over views out (stride 0 on reduced dims), x. A piece that does not start
 * at index 0 of every reduced dim adds to what an earlier piece wrote (beta = 1). */
static porta_status reduce_piece(vk_backend *be, const vk_views *v, const void *op_args) {
  const porta_reduce_args *a = op_args;
  const int64_t *so = v->stride[0], *sx = v->stride[1];
  /* kept dims (out_stride ≠ 0) and reduced dims, each right-aligned in 4 slots */
  uint32_t k_size[4] = {1, 1, 1, 1}, k_x[4] = {0}, k_y[4] = {0};
  uint32_t r_size[4] = {1, 1, 1, 1}, r_x[4] = {0};
  int nk = 0;
  for (int d = 0; d < 4; d++) nk += so[d] != 0;
  uint64_t nout = 1, nred = 1;
  bool later = false;
  for (int d = 0, ik = 4 - nk, ir = nk; d < 4; d++) {
    if (so[d] != 0) {
      k_size[ik] = (uint32_t)v->shape[d];
      k_x[ik] = (uint32_t)sx[d];
      k_y[ik++] = (uint32_t)so[d];
      nout *= (uint64_t)v->shape[d];
    } else {
      r_size[ir] = (uint32_t)v->shape[d];
      r_x[ir++] = (uint32_t)sx[d];
      nred *= (uint64_t)v->shape[d];
      later = later || v->origin[d] > 0;
    }
  }
  /* one invocation per output: with few reduced elements on any device, and on CPU devices up
   * to 16384 (one pass over r, under lavapipe's loop limit; the plan allows 4096 for 3 passes) */
  vk_row_plan plan = vk_row_plan_for(be, nout, nred);
  bool cpu_lanes = be->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU &&
                   be->row_mode == VK_ROWS_AUTO && nout >= 4 * (uint64_t)be->subgroup_size &&
                   nred <= 16384 && porta_path_on(&be->base, VK_PATH_ROWS_LANES);
  if (!plan.lanes && (nred < 64 || cpu_lanes)) plan = (vk_row_plan){.wg = be->wg, .lanes = true};
  /* 4 outputs an invocation as vec4s: sums over rows into one contiguous row (bias gradients) */
  bool vec4 = plan.lanes && nk == 1 && k_x[3] == 1 && k_y[3] == 1 && nout % 4 == 0 &&
              vk_aligned16(v->ref[0]) && vk_aligned16(v->ref[1]);
  for (int i = 0; i < 4; i++) vec4 = vec4 && r_x[i] % 4 == 0;
  uint32_t spec[3] = {plan.wg, 1, 1};
  vk_pipeline *pipe;
  porta_status st = vec4 ? vk_pipeline_get(be, "reduce", 2, spec, 3, &pipe)
                         : vk_pipe_rows(be, "reduce", 2, plan, &pipe);
  if (st != PORTA_OK) return st;
  struct {
    uint32_t nout, nred;
    float alpha, beta;
    uint32_t k1, k2, k3, kx[4], ky[4], r1, r2, r3, rx[4];
  } push = {(uint32_t)nout,
            (uint32_t)nred,
            a->alpha,
            later ? 1.0f : a->beta,
            k_size[1],
            k_size[2],
            k_size[3],
            {k_x[0], k_x[1], k_x[2], k_x[3]},
            {k_y[0], k_y[1], k_y[2], k_y[3]},
            r_size[1],
            r_size[2],
            r_size[3],
            {r_x[0], r_x[1], r_x[2], r_x[3]}};
  uint64_t out_span = 1; /* over the kept dims only: a reduced dim may have size 0 */
  for (int d = 0; d < 4; d++)
    if (so[d]) out_span += (uint64_t)(v->shape[d] - 1) * (uint64_t)so[d];
  vk_bind binds[2] = {{v->ref[0], out_span}, {v->ref[1], view_span(v->shape, sx)}};
  uint32_t gx, gy;
  vk_groups_rows(plan, vec4 ? nout / 4 : nout, &gx, &gy);
  return vk_dispatch(be, PORTA_OP_REDUCE, pipe, binds, 2, &push, sizeof push, gx, gy, 1);
}

static porta_status reduce(porta_backend *base, const porta_reduce_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_REDUCE);
  const int64_t *strides[2] = {a->x_stride, a->out_stride};
  porta_status st = check_shape(be, "reduce", a->shape, strides, 2);
  if (st != PORTA_OK) return st;
  uint64_t nout = 1, nred = 1;
  for (int d = 0; d < 4; d++) {
    if (a->out_stride[d] != 0)
      nout *= (uint64_t)a->shape[d];
    else
      nred *= (uint64_t)a->shape[d];
  }
  if (nout == 0) return PORTA_OK;
  if (!a->out.buf || (!a->x.buf && nred > 0))
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: reduce: NULL buffer");
  vk_views v = {.n = 2, .ref = {a->out, a->x}};
  memcpy(v.shape, a->shape, sizeof v.shape);
  memcpy(v.stride[0], a->out_stride, sizeof v.stride[0]);
  memcpy(v.stride[1], a->x_stride, sizeof v.stride[1]);
  /* an empty sum (a reduced dim of size 0) reads no x: out = beta · out in one dispatch */
  if (nred == 0) return reduce_piece(be, &v, a);
  return split_views(be, &v, vk_max_elems(be), reduce_piece, a);
}

/* One strided-copy dispatch: views out, x; by uvec4 where vec4_views allows (on lavapipe every
 * load is a per-lane loop, so this does a quarter of them). */
static porta_status copy_piece(vk_backend *be, const vk_views *v, const void *op_args) {
  const porta_copy_args *a = op_args;
  uint64_t n = (uint64_t)(v->shape[0] * v->shape[1] * v->shape[2] * v->shape[3]);
  uint32_t vec = vec4_views(v) ? 4 : 1;
  vk_pipeline *pipe;
  /* accumulate is a specialization constant: the plain copy's code has no float op (see the
   * shader) */
  uint32_t spec[3] = {be->wg, vec == 4, a->accumulate != 0};
  porta_status st = vk_pipeline_get(be, "copy_strided", 2, spec, 3, &pipe);
  if (st != PORTA_OK) return st;
  const int64_t *so = v->stride[0], *sx = v->stride[1];
  /* in units of vec elements: dim 3 has stride 1 when vec = 4 */
  uint32_t push[12] = {
      (uint32_t)(n / vec),           (uint32_t)v->shape[1],   (uint32_t)v->shape[2],
      (uint32_t)(v->shape[3] / vec), (uint32_t)(so[0] / vec), (uint32_t)(so[1] / vec),
      (uint32_t)(so[2] / vec),       (uint32_t)so[3],         (uint32_t)(sx[0] / vec),
      (uint32_t)(sx[1] / vec),       (uint32_t)(sx[2] / vec), (uint32_t)sx[3]};
  vk_bind binds[2] = {{v->ref[0], view_span(v->shape, so)}, {v->ref[1], view_span(v->shape, sx)}};
  uint32_t gx, gy;
  vk_groups_1d(n / vec, be->wg, &gx, &gy);
  return vk_dispatch(be, PORTA_OP_COPY_STRIDED, pipe, binds, 2, push, sizeof push, gx, gy, 1);
}

static porta_status copy_strided(porta_backend *base, const porta_copy_args *a) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_COPY_STRIDED);
  const int64_t *strides[2] = {a->x_stride, a->out_stride};
  porta_status st = check_shape(be, "copy_strided", a->shape, strides, 2);
  if (st != PORTA_OK) return st;
  uint64_t n = (uint64_t)(a->shape[0] * a->shape[1] * a->shape[2] * a->shape[3]);
  if (n == 0) return PORTA_OK;
  if (!a->out.buf || !a->x.buf)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: copy_strided: NULL buffer");
  vk_views v = {.n = 2, .ref = {a->out, a->x}};
  memcpy(v.shape, a->shape, sizeof v.shape);
  memcpy(v.stride[0], a->out_stride, sizeof v.stride[0]);
  memcpy(v.stride[1], a->x_stride, sizeof v.stride[1]);
  return split_views(be, &v, vk_max_elems(be), copy_piece, a);
}

/* The compute-bound probe of `porta bench` (see backend.h). */
static porta_status bench_fma(porta_backend *base, porta_ref out, int64_t n, int iters) {
  vk_backend *be = (vk_backend *)base;
  if (n < 0 || iters < 0)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: bench_fma: negative n or iters");
  if (n == 0) return PORTA_OK;
  if (!out.buf) return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: bench_fma: NULL buffer");
  vk_pipeline *pipe;
  porta_status st = vk_pipe_1d(be, "bench_fma", 1, &pipe);
  if (st != PORTA_OK) return st;
  uint64_t chunk = vk_max_elems(be);
  for (uint64_t s = 0; s < (uint64_t)n; s += chunk) {
    uint64_t cnt = (uint64_t)n - s < chunk ? (uint64_t)n - s : chunk;
    uint32_t push[2] = {(uint32_t)cnt, (uint32_t)iters};
    vk_bind binds[1] = {{{out.buf, out.off + s}, cnt}};
    uint32_t gx, gy;
    vk_groups_1d(cnt, be->wg, &gx, &gy);
    /* counted under no op: it is not one of the model's ops */
    st = vk_dispatch(be, PORTA_OP_COUNT, pipe, binds, 1, push, sizeof push, gx, gy, 1);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* ---- supports ----------------------------------------------------------------------------------
 */

static bool supports(porta_backend *base, porta_op op, const void *args) {
  vk_backend *be = (vk_backend *)base;
  if ((int)op < 0 || op >= PORTA_OP_COUNT) return false;
  if (!args) return true;
  uint64_t limit = vk_max_elems(be);
  switch (op) {
  case PORTA_OP_GEMM:
    return vk_gemm_supported(be, args);
  case PORTA_OP_BINARY: /* split into pieces down to single elements if need be */
  case PORTA_OP_COPY_STRIDED:
  case PORTA_OP_REDUCE:
    return true;
  /* row ops bind chunks of whole rows: one row must fit */
  case PORTA_OP_SOFTMAX:
    return (uint64_t)((const porta_softmax_args *)args)->n <= limit;
  case PORTA_OP_SOFTMAX_BWD:
    return (uint64_t)((const porta_softmax_bwd_args *)args)->n <= limit;
  case PORTA_OP_LAYERNORM:
    return (uint64_t)((const porta_layernorm_args *)args)->n <= limit;
  case PORTA_OP_LAYERNORM_BWD:
    return (uint64_t)((const porta_layernorm_bwd_args *)args)->n <= limit;
  case PORTA_OP_CROSS_ENTROPY:
    return (uint64_t)((const porta_cross_entropy_args *)args)->classes <= limit &&
           (uint64_t)((const porta_cross_entropy_args *)args)->batch * 2 <= limit;
  case PORTA_OP_CROSS_ENTROPY_BWD:
    return (uint64_t)((const porta_cross_entropy_bwd_args *)args)->classes <= limit;
  case PORTA_OP_EMBEDDING: { /* the table is split into row ranges; the output is not */
    const porta_embedding_args *e = args;
    return (uint64_t)e->n_ids * (uint64_t)e->dim <= limit;
  }
  case PORTA_OP_EMBEDDING_BWD: {
    const porta_embedding_bwd_args *e = args;
    return (uint64_t)e->n_ids * (uint64_t)e->dim <= limit;
  }
  default:
    /* unary, dropout, adamw, sumsq: split into ranges as needed */
    return true;
  }
}

const porta_backend_ops vk_backend_ops = {
    .destroy = vk_backend_destroy,
    .alloc = vk_alloc,
    .free = vk_free,
    .upload = vk_upload,
    .download = vk_download,
    .copy = vk_copy,
    .fill = vk_fill,
    .synchronize = vk_synchronize,
    .supports = supports,
    .gemm = vk_gemm,
    .binary = binary,
    .unary = unary,
    .unary_bwd = unary_bwd,
    .reduce = reduce,
    .copy_strided = copy_strided,
    .softmax = vk_ops_nn_softmax,
    .softmax_bwd = vk_ops_nn_softmax_bwd,
    .layernorm = vk_ops_nn_layernorm,
    .layernorm_bwd = vk_ops_nn_layernorm_bwd,
    .embedding = vk_ops_nn_embedding,
    .embedding_bwd = vk_ops_nn_embedding_bwd,
    .dropout = vk_ops_nn_dropout,
    .cross_entropy = vk_ops_nn_cross_entropy,
    .cross_entropy_bwd = vk_ops_nn_cross_entropy_bwd,
    .adamw = vk_ops_nn_adamw,
    .sumsq = vk_ops_nn_sumsq,
    .profile_enable = vk_profile_enable,
    .profile_read = vk_profile_read,
    .bench_fma = bench_fma,
    .paths = vk_paths,
    .path_force = vk_path_force,
};
