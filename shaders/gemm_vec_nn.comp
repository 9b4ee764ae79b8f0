#version 450
// Register-blocked SGEMM for op(B) = B (not transposed), A either way; no shared memory — the
// shape CPU Vulkan drivers (lavapipe) run well, where each invocation is one SIMD lane and
// shared-memory traffic costs as much as buffer traffic. Each invocation computes a 4 × 16 block
// of C: per p it loads 4 scalars of op(A) and 4 vec4s of B's row p, and does 64 multiply-adds.
// Rows/columns past the edge are clamped on load and skipped on store (needs n % 4 == 0).
// Grid: x = ceil(m / 4 / WGY), y = ceil(n / 16 / WGX), z = batch. The host shapes the group
// to the matrix (few columns: more row blocks), so narrow products keep every lane busy.
layout(constant_id = 0) const uint WGX = 64;  // invocations along columns
layout(constant_id = 1) const uint WGY = 1;   // and along 4-row blocks (WGX · WGY = 64 or less)
// Work group ids are swapped: x counts row blocks and y column blocks, so consecutive groups
// (which a CPU driver runs one after another) share the same columns of B while it is in cache.
layout(local_size_x_id = 0, local_size_y_id = 1) in;
#include "gemm_vec_common.glsl"

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { vec4 b4[]; };

void main() {
  uint z = gl_WorkGroupID.z;
  uint jb = gl_WorkGroupID.y * WGX + gl_LocalInvocationID.x;  // block of 4 vec4 columns
  uint i0 = (gl_WorkGroupID.x * WGY + gl_LocalInvocationID.y) * 4u;
  uint n4 = pc.n / 4u;
  if (jb * 4u >= n4 || i0 >= pc.m) return;
  uint a_base = pc.o_a + batch_off(z, pc.stride_a, pc.stride2_a);
  uint b_base = (pc.o_b + batch_off(z, pc.stride_b, pc.stride2_b)) / 4u;
  uint ldb4 = pc.ldb / 4u;
  uint rows[4], cols[4];
  for (uint r = 0; r < 4u; r++) rows[r] = min(i0 + r, pc.m - 1u);
  for (uint q = 0; q < 4u; q++) cols[q] = min(jb * 4u + q, n4 - 1u);
  // op(A)[i, p] = a[i * sa_i + p * sa_p]
  uint sa_i = pc.trans_a != 0u ? 1u : pc.lda;
  uint sa_p = pc.trans_a != 0u ? pc.lda : 1u;
  vec4 acc[16];
  for (uint t = 0; t < 16u; t++) acc[t] = vec4(0.0);
  for (uint p = 0; p < pc.k; p++) {
    uint brow = b_base + p * ldb4;
    vec4 b0 = b4[brow + cols[0]], b1 = b4[brow + cols[1]];
    vec4 b2 = b4[brow + cols[2]], b3 = b4[brow + cols[3]];
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
