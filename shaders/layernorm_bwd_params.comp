#version 450
// dgamma[j] += Σ_r dy[r, j] · xhat[r, j],  dbeta[j] += Σ_r dy[r, j]; one invocation per column j,
// rows summed in order (deterministic, and the CPU's order).
#include "common.glsl"

layout(set = 0, binding = 0) buffer DG { float dgamma[]; };
layout(set = 0, binding = 1) buffer DB { float dbeta[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 3) readonly buffer X { float x[]; };
layout(set = 0, binding = 4) readonly buffer Mean { float mean_in[]; };
layout(set = 0, binding = 5) readonly buffer Rstd { float rstd_in[]; };
layout(push_constant) uniform Push {
  uint o_dg, o_db, o_dy, o_x, o_mean, o_rstd;
  uint rows, n;
} pc;

void main() {
  uint j = flat_index();
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
