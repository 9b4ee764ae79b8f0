#version 450
// dgamma[j] += Σ_r dy[r, j] · xhat[r, j],  dbeta[j] += Σ_r dy[r, j]; one invocation per column j,
// rows summed in order (deterministic, and the CPU's order). VEC4 = 1 (spec constant 1; n a
// multiple of 4, every view 16-byte aligned): one invocation per 4 columns, as vec4s.
#include "common.glsl"

layout(constant_id = 1) const uint VEC4 = 0;

layout(set = 0, binding = 0) buffer DG { float dgamma[]; };
layout(set = 0, binding = 0) buffer DG4 { vec4 dgamma4[]; };
layout(set = 0, binding = 1) buffer DB { float dbeta[]; };
layout(set = 0, binding = 1) buffer DB4 { vec4 dbeta4[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer DY4 { vec4 dy4[]; };
layout(set = 0, binding = 3) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 4) readonly buffer Mean { float mean_in[]; };
layout(set = 0, binding = 5) readonly buffer Rstd { float rstd_in[]; };
layout(push_constant) uniform Push {
  uint o_dg, o_db, o_dy, o_x, o_mean, o_rstd;
  uint rows, n;
} pc;

void main() {
  uint j = flat_index();
  if (VEC4 != 0u) {
    uint n4 = pc.n / 4u;
    if (j >= n4) return;
    vec4 g = dgamma4[pc.o_dg / 4u + j];
    vec4 b = dbeta4[pc.o_db / 4u + j];
    for (uint r = 0; r < pc.rows; r++) {
      vec4 d = dy4[pc.o_dy / 4u + r * n4 + j];
      vec4 xhat = (x4[pc.o_x / 4u + r * n4 + j] - mean_in[pc.o_mean + r]) * rstd_in[pc.o_rstd + r];
      g += d * xhat;
      b += d;
    }
    dgamma4[pc.o_dg / 4u + j] = g;
    dbeta4[pc.o_db / 4u + j] = b;
    return;
  }
  if (j >= pc.n) return;
  float g = dgamma[pc.o_dg + j];
  float b = dbeta[pc.o_db + j];
  for (uint r = 0; r < pc.rows; r++) {
    float d = dy[pc.o_dy + r * pc.n + j];
    float xhat = (x[pc.o_x + r * pc.n + j] - mean_in[pc.o_mean + r]) * rstd_in[pc.o_rstd + r];
    g += d * xhat;
    b += d;
  }
  dgamma[pc.o_dg + j] = g;
  dbeta[pc.o_db + j] = b;
}
