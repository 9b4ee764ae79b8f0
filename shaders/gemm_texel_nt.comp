#version 450
// gemm_vec_nt.comp (A not transposed, op(B) = Bᵀ: y = x·Wᵀ, Q·Kᵀ) with A and B read through
// storage texel buffers (RGBA32F, one texel = 4 consecutive k of a row), which lavapipe inlines
// where storage-buffer loads become per-lane loops (DESIGN.md). Each invocation computes a 4 × 4
// block of C with 16 dot products per texel step. Needs k % 4 == 0 and A's and B's offsets,
// leading dimensions and batch strides multiples of 4. Edges are clamped on load, skipped on store.
// Grid: x = ceil(m / 4 / WGY), y = ceil(n / 4 / WGX), z = batch.
layout(constant_id = 0) const uint WGX = 64;
layout(constant_id = 1) const uint WGY = 1;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
#include "gemm_vec_common.glsl"

layout(set = 0, binding = 0, rgba32f) uniform readonly imageBuffer a_img;
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer b_img;

void main() {
  uint z = gl_WorkGroupID.z;
  uint j0 = (gl_WorkGroupID.y * WGX + gl_LocalInvocationID.x) * 4u;
  uint i0 = (gl_WorkGroupID.x * WGY + gl_LocalInvocationID.y) * 4u;
  if (j0 >= pc.n || i0 >= pc.m) return;
  uint k4 = pc.k / 4u;
  uint a_base = (pc.o_a + batch_off(z, pc.stride_a, pc.stride2_a)) / 4u, lda4 = pc.lda / 4u;
  uint b_base = (pc.o_b + batch_off(z, pc.stride_b, pc.stride2_b)) / 4u, ldb4 = pc.ldb / 4u;
  int ar[4], br[4];
  for (uint r = 0; r < 4u; r++) ar[r] = int(a_base + min(i0 + r, pc.m - 1u) * lda4);
  for (uint q = 0; q < 4u; q++) br[q] = int(b_base + min(j0 + q, pc.n - 1u) * ldb4);
  float acc[16];
  for (uint t = 0; t < 16u; t++) acc[t] = 0.0;
  for (int p = 0; p < int(k4); p++) {
    vec4 bv0 = imageLoad(b_img, br[0] + p), bv1 = imageLoad(b_img, br[1] + p);
    vec4 bv2 = imageLoad(b_img, br[2] + p), bv3 = imageLoad(b_img, br[3] + p);
    for (uint r = 0; r < 4u; r++) {
      vec4 av = imageLoad(a_img, ar[r] + p);
      acc[r * 4u + 0u] += dot(av, bv0);
      acc[r * 4u + 1u] += dot(av, bv1);
      acc[r * 4u + 2u] += dot(av, bv2);
      acc[r * 4u + 3u] += dot(av, bv3);
    }
  }
  for (uint r = 0; r < 4u; r++) {
    uint i = i0 + r;
    if (i >= pc.m) break;
    for (uint q = 0; q < 4u; q++)
      if (j0 + q < pc.n) store_c(z, i, j0 + q, acc[r * 4u + q]);
  }
}
