#version 450
// gemm_texel_nn.comp with op(A) read through a storage texel buffer as well, so that no load in
// the inner loop is a storage-buffer load (each of those is a per-lane loop with bounds checks on
// lavapipe, DESIGN.md): B not transposed, one texel = 4 columns of a row of B; A either way:
//   A_ALONG_M = 0: A is m×k, one texel = 4 consecutive k of a row of A (needs k % 4 == 0);
//   A_ALONG_M = 1: A is k×m (trans_a: weight gradients Xᵀ·dY), one texel = op(A)[i0..i0+3, p],
//                  4 rows of C at once (needs m % 4 == 0).
// Each invocation computes a 4 × 16 block of C. Needs n % 4 == 0 and both operands' offsets,
// leading dimensions and batch strides multiples of 4 (the host checks).
// Grid: x = ceil(m / 4 / WGY), y = ceil(n / 16 / WGX), z = batch.
layout(constant_id = 0) const uint WGX = 64;
layout(constant_id = 1) const uint WGY = 1;
layout(constant_id = 2) const uint A_ALONG_M = 0;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
#include "gemm_vec_common.glsl"

layout(set = 0, binding = 0, rgba32f) uniform readonly imageBuffer a_img;
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer b_img;

void main() {
  uint z = gl_WorkGroupID.z;
  uint jb = gl_WorkGroupID.y * WGX + gl_LocalInvocationID.x; // block of 4 texel columns
  uint i0 = (gl_WorkGroupID.x * WGY + gl_LocalInvocationID.y) * 4u;
  uint n4 = pc.n / 4u;
  if (jb * 4u >= n4 || i0 >= pc.m) return;
  uint a_base = (pc.o_a + batch_off(z, pc.stride_a, pc.stride2_a)) / 4u, lda4 = pc.lda / 4u;
  uint b_base = (pc.o_b + batch_off(z, pc.stride_b, pc.stride2_b)) / 4u, ldb4 = pc.ldb / 4u;
  int cols[4];
  for (uint q = 0; q < 4u; q++) cols[q] = int(min(jb * 4u + q, n4 - 1u));
  vec4 acc[16];
  for (uint t = 0; t < 16u; t++) acc[t] = vec4(0.0);
  if (A_ALONG_M == 0u) {
    int arow[4];
    for (uint r = 0; r < 4u; r++) arow[r] = int(a_base + min(i0 + r, pc.m - 1u) * lda4);
    uint k4 = pc.k / 4u;
    for (uint p4 = 0; p4 < k4; p4++) {
      vec4 av[4];
      for (uint r = 0; r < 4u; r++) av[r] = imageLoad(a_img, arow[r] + int(p4));
      int brow = int(b_base + p4 * 4u * ldb4);
      for (uint kk = 0; kk < 4u; kk++) {
        vec4 b0 = imageLoad(b_img, brow + cols[0]), b1 = imageLoad(b_img, brow + cols[1]);
        vec4 b2 = imageLoad(b_img, brow + cols[2]), b3 = imageLoad(b_img, brow + cols[3]);
        brow += int(ldb4);
        for (uint r = 0; r < 4u; r++) {
          float a = av[r][kk];
          acc[r * 4u + 0u] += a * b0;
          acc[r * 4u + 1u] += a * b1;
          acc[r * 4u + 2u] += a * b2;
          acc[r * 4u + 3u] += a * b3;
        }
      }
    }
  } else {
    int acol = int(a_base + i0 / 4u);
    int brow = int(b_base);
    for (uint p = 0; p < pc.k; p++) {
      vec4 av = imageLoad(a_img, acol);
      vec4 b0 = imageLoad(b_img, brow + cols[0]), b1 = imageLoad(b_img, brow + cols[1]);
      vec4 b2 = imageLoad(b_img, brow + cols[2]), b3 = imageLoad(b_img, brow + cols[3]);
      acol += int(lda4);
      brow += int(ldb4);
      for (uint r = 0; r < 4u; r++) {
        acc[r * 4u + 0u] += av[r] * b0;
        acc[r * 4u + 1u] += av[r] * b1;
        acc[r * 4u + 2u] += av[r] * b2;
        acc[r * 4u + 3u] += av[r] * b3;
      }
    }
  }
  for (uint r = 0; r < 4u; r++) {
    uint i = i0 + r;
    if (i >= pc.m) break;
    for (uint q = 0; q < 4u; q++) {
      uint j4 = jb * 4u + q;
      if (j4 >= n4) break;
      vec4 v = acc[r * 4u + q];
      store_c(z, i, 4u * j4 + 0u, v.x);
      store_c(z, i, 4u * j4 + 1u, v.y);
      store_c(z, i, 4u * j4 + 2u, v.z);
      store_c(z, i, 4u * j4 + 3u, v.w);
    }
  }
}
