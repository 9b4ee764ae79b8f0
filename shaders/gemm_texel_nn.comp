#version 450
// gemm_vec_nn.comp with B read through a storage texel buffer (RGBA32F, one texel = 4 columns of
// a row of B): on lavapipe imageLoad is inlined into the SIMD code while every storage-buffer
// load becomes a per-lane loop with bounds checks (DESIGN.md). Each invocation computes a 4 × 16
// block of C. Chosen only on CPU devices whose texel buffers allow it; needs n % 4 == 0 and
// B's offset, leading dimension and batch stride multiples of 4.
// Grid: x = ceil(m / 4 / WGY), y = ceil(n / 16 / WGX), z = batch.
layout(constant_id = 0) const uint WGX = 64;
layout(constant_id = 1) const uint WGY = 1;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
#include "gemm_vec_common.glsl"

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer b_img;

void main() {
  uint z = gl_WorkGroupID.z;
  uint jb = gl_WorkGroupID.y * WGX + gl_LocalInvocationID.x;  // block of 4 texel columns
  uint i0 = (gl_WorkGroupID.x * WGY + gl_LocalInvocationID.y) * 4u;
  uint n4 = pc.n / 4u;
  if (jb * 4u >= n4 || i0 >= pc.m) return;
  uint a_base = pc.o_a + batch_off(z, pc.stride_a, pc.stride2_a);
  uint b_base = (pc.o_b + batch_off(z, pc.stride_b, pc.stride2_b)) / 4u;
  uint ldb4 = pc.ldb / 4u;
  uint rows[4];
  int cols[4];
  for (uint r = 0; r < 4u; r++) rows[r] = min(i0 + r, pc.m - 1u);
  for (uint q = 0; q < 4u; q++) cols[q] = int(min(jb * 4u + q, n4 - 1u));
  uint sa_i = pc.trans_a != 0u ? 1u : pc.lda;
  uint sa_p = pc.trans_a != 0u ? pc.lda : 1u;
  vec4 acc[16];
  for (uint t = 0; t < 16u; t++) acc[t] = vec4(0.0);
  for (uint p = 0; p < pc.k; p++) {
    int brow = int(b_base + p * ldb4);
    vec4 b0 = imageLoad(b_img, brow + cols[0]), b1 = imageLoad(b_img, brow + cols[1]);
    vec4 b2 = imageLoad(b_img, brow + cols[2]), b3 = imageLoad(b_img, brow + cols[3]);
    for (uint r = 0; r < 4u; r++) {
      float av = a[a_base + rows[r] * sa_i + p * sa_p];
      acc[r * 4u + 0u] += av * b0;
      acc[r * 4u + 1u] += av * b1;
      acc[r * 4u + 2u] += av * b2;
      acc[r * 4u + 3u] += av * b3;
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
