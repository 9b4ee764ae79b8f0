/* The Vulkan GEMM: shader choice per device class (texel-buffer register-blocked shaders on CPU
 * devices, the shared-memory tiled shader on GPUs), two batch indices in one dispatch, C split
 * into tiles where an operand would bind more than maxStorageBufferRange, and the lavapipe
 * workarounds (k slices under its loop limit, x·Wᵀ through a transposed copy of W). */
#include <string.h>

#include "backend/vulkan/vk_internal.h"

typedef struct gemm_push {
  uint32_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, trans_a, trans_b;
  float alpha, beta;
  uint32_t batch1, stride2_a, stride2_b, stride2_c; /* z = z2 · batch1 + z1 (see gemm_common) */
} gemm_push;

/* Elements one matrix spans: rows·ld with the last row only as wide as it is. */
static uint64_t matrix_span(int64_t rows, int64_t cols, int64_t ld) {
  if (rows <= 0 || cols <= 0) return 0;
  return (uint64_t)(rows - 1) * (uint64_t)ld + (uint64_t)cols;
}

static uint64_t batch_span(uint64_t one, int64_t count, int64_t stride) {
  if (one == 0) return 0;
  return (uint64_t)(count - 1) * (uint64_t)stride + one;
}

/* Elements an operand spans over both batch indices (batch2 ≤ 1: one index). */
static uint64_t batch2_span(uint64_t one, const porta_gemm_args *g, int64_t stride,
                            int64_t stride2) {
  uint64_t inner = batch_span(one, g->batch, stride);
  if (inner == 0 || g->batch2 <= 1) return inner;
  return (uint64_t)(g->batch2 - 1) * (uint64_t)stride2 + inner;
}

static porta_status gemm_tiles(vk_backend *be, const porta_gemm_args *g);

/* On CPU devices x·Wᵀ with a long k or a narrow W (a transformer's FFN down projection and its
 * QKV / output projections) runs faster as x·(Wᵀ) through gemm_texel_ab after one transposing
 * copy of W into scratch memory than through gemm_texel_nt (lavapipe, near-quiet, ms:
 * 1024×384×1536 26-28 vs 41-42, 4096×384×384 22-33 vs 38-39; 4096×1536×384 is not faster). */
static bool gemm_nt_by_transpose(vk_backend *be, const porta_gemm_args *g) {
  uint64_t texels = (uint64_t)be->props.limits.maxTexelBufferElements * 4 - 16;
  uint64_t nk = (uint64_t)g->n * (uint64_t)g->k;
  return be->base.info.is_cpu && be->gemm_variant == VK_GEMM_AUTO && be->texel_ok &&
         porta_path_on(&be->base, VK_PATH_GEMM_TEXEL) && !g->trans_a && g->trans_b &&
         g->batch == 1 && g->batch2 <= 1 && (g->k >= 1024 || g->n <= 512) && g->m >= 256 &&
         g->n % 4 == 0 && g->k % 4 == 0 && g->lda % 4 == 0 && g->a.off % 4 == 0 &&
         nk <= vk_max_elems(be) && nk <= texels && matrix_span(g->m, g->k, g->lda) <= texels &&
         matrix_span(g->m, g->k, g->lda) <= vk_max_elems(be) &&
         matrix_span(g->m, g->n, g->ldc) <= vk_max_elems(be);
}

static porta_status gemm_nt_transposed(vk_backend *be, const porta_gemm_args *g) {
  vk_buffer *wt;
  porta_status st = vk_scratch(be, (size_t)g->n * (size_t)g->k * 4, &wt);
  if (st != PORTA_OK) return st;
  /* Wᵀ[p, j] = B[j, p]: k × n, contiguous */
  porta_copy_args c = {.out = {wt, 0}, .x = g->b, .shape = {1, 1, g->k, g->n}};
  int64_t os[4] = {g->k * g->n, g->k * g->n, g->n, 1}, xs[4] = {0, 0, 1, g->ldb};
  memcpy(c.out_stride, os, sizeof os);
  memcpy(c.x_stride, xs, sizeof xs);
  st = vk_backend_ops.copy_strided(&be->base, &c);
  if (st != PORTA_OK) return st;
  porta_gemm_args h = *g;
  h.trans_b = false;
  h.b = (porta_ref){wt, 0};
  h.ldb = g->n;
  h.stride_b = 0;
  return gemm_tiles(be, &h);
}

/* A product with two batch indices goes out as one dispatch (z over batch × batch2) when all of
 * it fits the bindings' range and the grid; otherwise as batch2 products of one index. */
static bool gemm_2d_fits(vk_backend *be, const porta_gemm_args *g) {
  uint64_t limit = vk_max_elems(be);
  int64_t a_rows = g->trans_a ? g->k : g->m, a_cols = g->trans_a ? g->m : g->k;
  int64_t b_rows = g->trans_b ? g->n : g->k, b_cols = g->trans_b ? g->k : g->n;
  return g->batch * g->batch2 <= 65535 &&
         batch2_span(matrix_span(a_rows, a_cols, g->lda), g, g->stride_a, g->stride2_a) <= limit &&
         batch2_span(matrix_span(b_rows, b_cols, g->ldb), g, g->stride_b, g->stride2_b) <= limit &&
         batch2_span(matrix_span(g->m, g->n, g->ldc), g, g->stride_c, g->stride2_c) <= limit;
}

porta_status vk_gemm(porta_backend *base, const porta_gemm_args *g) {
  vk_backend *be = (vk_backend *)base;
  vk_count_call(be, PORTA_OP_GEMM);
  if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0 || g->stride_a < 0 || g->stride_b < 0 ||
      g->stride_c < 0 || g->batch2 < 0 || g->stride2_a < 0 || g->stride2_b < 0 || g->stride2_c < 0)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: gemm: negative size or stride");
  if (g->m == 0 || g->n == 0 || g->batch == 0) return PORTA_OK;
  int64_t a_cols = g->trans_a ? g->m : g->k, b_cols = g->trans_b ? g->k : g->n;
  if (g->lda < (a_cols ? a_cols : 1) || g->ldb < (b_cols ? b_cols : 1) || g->ldc < g->n)
    return vk_fail(be, PORTA_ERR_SHAPE,
                   "vulkan: gemm: leading dimensions lda=%lld ldb=%lld ldc=%lld too small for "
                   "m=%lld n=%lld k=%lld (trans_a=%d trans_b=%d)",
                   (long long)g->lda, (long long)g->ldb, (long long)g->ldc, (long long)g->m,
                   (long long)g->n, (long long)g->k, g->trans_a, g->trans_b);
  if (!g->a.buf || !g->b.buf || !g->c.buf)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: gemm: NULL buffer");
  /* lavapipe ends a shader invocation after 65535 loop iterations in all, silently (DESIGN.md):
   * on CPU devices a long k runs as products over k slices accumulated into C */
  if (be->base.info.is_cpu && g->k > VK_CPU_LOOP_SLICE) {
    porta_gemm_args part = *g;
    for (int64_t k0 = 0; k0 < g->k; k0 += VK_CPU_LOOP_SLICE) {
      part.k = g->k - k0 < VK_CPU_LOOP_SLICE ? g->k - k0 : VK_CPU_LOOP_SLICE;
      part.beta = k0 == 0 ? g->beta : 1.0f;
      part.a.off = g->a.off + (size_t)(g->trans_a ? k0 * g->lda : k0);
      part.b.off = g->b.off + (size_t)(g->trans_b ? k0 : k0 * g->ldb);
      porta_status st = vk_gemm(base, &part);
      if (st != PORTA_OK) return st;
    }
    return PORTA_OK;
  }
  if (gemm_nt_by_transpose(be, g)) return gemm_nt_transposed(be, g);
  if (g->batch2 > 1) {
    if (gemm_2d_fits(be, g)) return gemm_tiles(be, g);
    return porta_gemm_each_batch2(base, g, vk_gemm);
  }
  uint64_t limit = vk_max_elems(be);
  /* Tiles of C (mc × nc) small enough that A's, B's and C's bindings each fit the range limit
   * (a product with C or a weight over maxStorageBufferRange, like a tied 50265-row decoder).
   * Tile sizes stay multiples of 64 so offsets keep the vec4 shaders' alignment. */
  int64_t mc = g->m, nc = g->n;
  for (;;) {
    uint64_t sa = g->trans_a ? matrix_span(g->k, mc, g->lda) : matrix_span(mc, g->k, g->lda);
    uint64_t sb = g->trans_b ? matrix_span(nc, g->k, g->ldb) : matrix_span(g->k, nc, g->ldb);
    uint64_t sc = matrix_span(mc, nc, g->ldc);
    if (sa <= limit && sb <= limit && sc <= limit) break;
    /* A depends on mc only, B on nc only, C on both */
    int64_t *side = sa > limit ? &mc : sb > limit ? &nc : mc >= nc ? &mc : &nc;
    if (*side <= 1 && sa <= limit && sb <= limit) side = side == &mc ? &nc : &mc;
    if (*side <= 1)
      return vk_fail(be, PORTA_ERR_UNSUPPORTED,
                     "vulkan: gemm: m=%lld n=%lld k=%lld (lda=%lld ldb=%lld) cannot be split into "
                     "bindings under maxStorageBufferRange (%llu bytes)",
                     (long long)g->m, (long long)g->n, (long long)g->k, (long long)g->lda,
                     (long long)g->ldb, (unsigned long long)be->max_range);
    *side = *side > 128 ? (*side / 2 + 63) / 64 * 64 : *side / 2;
  }
  if (mc < g->m || nc < g->n) {
    porta_gemm_args t = *g;
    for (int64_t z = 0; z < g->batch; z++)
      for (int64_t i0 = 0; i0 < g->m; i0 += mc)
        for (int64_t j0 = 0; j0 < g->n; j0 += nc) {
          t.m = g->m - i0 < mc ? g->m - i0 : mc;
          t.n = g->n - j0 < nc ? g->n - j0 : nc;
          t.batch = 1;
          t.a.off = g->a.off + (size_t)(z * g->stride_a + (g->trans_a ? i0 : i0 * g->lda));
          t.b.off = g->b.off + (size_t)(z * g->stride_b + (g->trans_b ? j0 * g->ldb : j0));
          t.c.off = g->c.off + (size_t)(z * g->stride_c + i0 * g->ldc + j0);
          porta_status st = gemm_tiles(be, &t);
          if (st != PORTA_OK) return st;
        }
    return PORTA_OK;
  }
  return gemm_tiles(be, g);
}

/* One GEMM whose single matrices fit a binding: batches grouped per dispatch as the range allows.
 * With two batch indices (batch2 > 1) the caller has checked that all of it is one dispatch. */
static porta_status gemm_tiles(vk_backend *be, const porta_gemm_args *g) {
  bool two = g->batch2 > 1;
  int64_t a_rows = g->trans_a ? g->k : g->m, a_cols = g->trans_a ? g->m : g->k;
  int64_t b_rows = g->trans_b ? g->n : g->k, b_cols = g->trans_b ? g->k : g->n;
  uint64_t span_a = matrix_span(a_rows, a_cols, g->lda);
  uint64_t span_b = matrix_span(b_rows, b_cols, g->ldb);
  uint64_t span_c = matrix_span(g->m, g->n, g->ldc);
  uint64_t limit = vk_max_elems(be);
  /* matrices per dispatch: all three bindings within the range limit, z ≤ 65535 */
  int64_t per = g->batch < 65535 ? g->batch : 65535;
  while (!two && per > 1 &&
         (batch_span(span_a, per, g->stride_a) > limit ||
          batch_span(span_b, per, g->stride_b) > limit ||
          batch_span(span_c, per, g->stride_c) > limit))
    per = (per + 1) / 2;

  /* pick the shader and its grid (z over the batch) */
  const char *shader;
  uint32_t spec[5];
  int n_spec;
  uint64_t gx, gy;
  bool cpu_shape = be->gemm_variant == VK_GEMM_VEC || be->gemm_variant == VK_GEMM_TEXEL ||
                   (be->gemm_variant == VK_GEMM_AUTO && be->base.info.is_cpu);
  /* texel views hold at most maxTexelBufferElements texels (65536 on some devices) */
  uint64_t texels = (uint64_t)be->props.limits.maxTexelBufferElements * 4 - 16;
  uint64_t all_a = two ? batch2_span(span_a, g, g->stride_a, g->stride2_a)
                       : batch_span(span_a, per, g->stride_a);
  uint64_t all_b = two ? batch2_span(span_b, g, g->stride_b, g->stride2_b)
                       : batch_span(span_b, per, g->stride_b);
  bool texel = be->texel_ok && be->gemm_variant != VK_GEMM_VEC && all_a <= texels &&
               all_b <= texels &&
               (be->gemm_variant == VK_GEMM_TEXEL || porta_path_on(&be->base, VK_PATH_GEMM_TEXEL));
  /* the self-test switched the vec shaders off: register blocks only through texel buffers */
  if (cpu_shape && be->gemm_variant == VK_GEMM_AUTO && !texel &&
      !porta_path_on(&be->base, VK_PATH_GEMM_VEC))
    cpu_shape = false;
  /* vec4 views need every matrix start aligned: offsets and both batch strides */
  bool a_al = g->a.off % 4 == 0 && (g->batch == 1 || g->stride_a % 4 == 0) &&
              (!two || g->stride2_a % 4 == 0);
  bool b_al = g->b.off % 4 == 0 && (g->batch == 1 || g->stride_b % 4 == 0) &&
              (!two || g->stride2_b % 4 == 0);
  bool b_rows4 = !g->trans_b && g->n % 4 == 0 && g->ldb % 4 == 0 && b_al;
  bool ab_k4 = !g->trans_a && g->trans_b && g->k % 4 == 0 && g->lda % 4 == 0 && g->ldb % 4 == 0 &&
               a_al && b_al;
  /* op(A) as texels too (gemm_texel_ab): along k when A is m×k, along m when it is k×m */
  bool a_k4 = !g->trans_a && g->k % 4 == 0 && g->lda % 4 == 0 && a_al;
  bool a_m4 = g->trans_a && g->m % 4 == 0 && g->lda % 4 == 0 && a_al;
  bool texel_ab = texel && b_rows4 && (a_k4 || a_m4);
  if (cpu_shape && (b_rows4 || ab_k4)) {
    shader = texel_ab  ? "gemm_texel_ab"
             : b_rows4 ? (texel ? "gemm_texel_nn" : "gemm_vec_nn")
                       : (texel ? "gemm_texel_nt" : "gemm_vec_nt");
    /* a group of ≤ 64 invocations, as wide as the column blocks need, the rest over rows */
    uint64_t per_inv = b_rows4 ? 16 : 4; /* columns per invocation */
    uint64_t blocks = ((uint64_t)g->n + per_inv - 1) / per_inv;
    uint32_t total = 64 <= be->wg ? 64 : be->wg;
    uint32_t wgx = 1;
    while (wgx < total && wgx < blocks) wgx *= 2;
    spec[0] = wgx;
    spec[1] = total / wgx;
    spec[2] = a_m4 ? 1 : 0; /* gemm_texel_ab's A_ALONG_M */
    n_spec = texel_ab ? 3 : 2;
    gx = ((uint64_t)g->m + 4 * spec[1] - 1) / (4 * spec[1]); /* x: row blocks (see shader) */
    gy = (blocks + wgx - 1) / wgx;
  } else if (be->gemm_variant == VK_GEMM_NAIVE ||
             (be->gemm_variant != VK_GEMM_TILED && !porta_path_on(&be->base, VK_PATH_GEMM_TILED))) {
    texel = false;
    shader = "gemm_naive";
    spec[0] = 16;
    spec[1] = be->props.limits.maxComputeWorkGroupInvocations >= 256 ? 16 : 8;
    n_spec = 2;
    gx = ((uint64_t)g->n + spec[0] - 1) / spec[0];
    gy = ((uint64_t)g->m + spec[1] - 1) / spec[1];
  } else {
    /* 16×16 invocations × 4×4 each; 16×8 × 8×4 where 256 invocations are not allowed */
    texel = false;
    bool big = be->props.limits.maxComputeWorkGroupInvocations >= 256 &&
               be->props.limits.maxComputeWorkGroupSize[1] >= 16;
    shader = "gemm_tiled";
    spec[0] = 16;
    spec[1] = big ? 16 : 8;
    spec[2] = big ? 4 : 8;
    spec[3] = 4;
    spec[4] = 16;
    n_spec = 5;
    gx = ((uint64_t)g->n + spec[0] * spec[3] - 1) / (spec[0] * spec[3]);
    gy = ((uint64_t)g->m + spec[1] * spec[2] - 1) / (spec[1] * spec[2]);
  }
  vk_pipeline *pipe;
  /* texel NN reads B (binding 1) as texels, texel NT and texel AB both A and B (bindings 0, 1) */
  uint32_t texel_mask = b_rows4 && !texel_ab ? 2u : 3u;
  porta_status st = texel ? vk_pipeline_get_texel(be, shader, 3, texel_mask, spec, n_spec, &pipe)
                          : vk_pipeline_get(be, shader, 3, spec, n_spec, &pipe);
  if (st != PORTA_OK) return st;
  if (gx > 65535 || gy > 65535)
    return vk_fail(be, PORTA_ERR_UNSUPPORTED, "vulkan: gemm: %lld×%lld is too large for one grid",
                   (long long)g->m, (long long)g->n);
  gemm_push push = {(uint32_t)g->m,
                    (uint32_t)g->n,
                    (uint32_t)g->k,
                    (uint32_t)g->lda,
                    (uint32_t)g->ldb,
                    (uint32_t)g->ldc,
                    (uint32_t)g->stride_a,
                    (uint32_t)g->stride_b,
                    (uint32_t)g->stride_c,
                    (uint32_t)g->trans_a,
                    (uint32_t)g->trans_b,
                    g->alpha,
                    g->beta,
                    (uint32_t)per,
                    0,
                    0,
                    0};
  if (two) {
    push.batch1 = (uint32_t)g->batch;
    push.stride2_a = (uint32_t)g->stride2_a;
    push.stride2_b = (uint32_t)g->stride2_b;
    push.stride2_c = (uint32_t)g->stride2_c;
    vk_bind binds[3] = {
        {g->a, all_a}, {g->b, all_b}, {g->c, batch2_span(span_c, g, g->stride_c, g->stride2_c)}};
    return vk_dispatch(be, PORTA_OP_GEMM, pipe, binds, 3, &push, sizeof push, (uint32_t)gx,
                       (uint32_t)gy, (uint32_t)(g->batch * g->batch2));
  }
  for (int64_t b0 = 0; b0 < g->batch; b0 += per) {
    int64_t nb = g->batch - b0 < per ? g->batch - b0 : per;
    vk_bind binds[3] = {
        {{g->a.buf, g->a.off + (size_t)(b0 * g->stride_a)}, batch_span(span_a, nb, g->stride_a)},
        {{g->b.buf, g->b.off + (size_t)(b0 * g->stride_b)}, batch_span(span_b, nb, g->stride_b)},
        {{g->c.buf, g->c.off + (size_t)(b0 * g->stride_c)}, batch_span(span_c, nb, g->stride_c)},
    };
    st = vk_dispatch(be, PORTA_OP_GEMM, pipe, binds, 3, &push, sizeof push, (uint32_t)gx,
                     (uint32_t)gy, (uint32_t)nb);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

/* C is split into tiles down to one row and column if need be: one row of op(A) and one column
 * of op(B) must fit a binding. */
bool vk_gemm_supported(vk_backend *be, const porta_gemm_args *g) {
  uint64_t limit = vk_max_elems(be);
  return (g->trans_a ? matrix_span(g->k, 1, g->lda) : (uint64_t)g->k) <= limit &&
         (g->trans_b ? (uint64_t)g->k : matrix_span(g->k, 1, g->ldb)) <= limit;
}
