#version 450
// Naive SGEMM, kept as the baseline for gemm_tiled: one invocation per C element (i, j), a
// dot product of length k straight from the storage buffers. Work group TX × TY (spec ids 0, 1).
layout(local_size_x_id = 0, local_size_y_id = 1) in;
#include "gemm_common.glsl"

void main() {
  uint j = gl_GlobalInvocationID.x;
  uint i = gl_GlobalInvocationID.y;
  uint z = gl_WorkGroupID.z;
  if (i >= pc.m || j >= pc.n) return;
  float acc = 0.0;
  for (uint p = 0; p < pc.k; p++) acc += load_a(z, i, p) * load_b(z, p, j);
  store_c(z, i, j, acc);
}
