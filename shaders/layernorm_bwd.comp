#version 450
// dx for layer norm, one work group or one invocation per row r (ROW_LANES, see
// group_reduce.glsl): with xhat = (x - mean) · rstd, g = dy · gamma,
// dx = rstd · (g - mean_j(g) - xhat · mean_j(g · xhat)). (dgamma/dbeta: layernorm_bwd_params.)
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) readonly buffer Mean { float mean_in[]; };
layout(set = 0, binding = 4) readonly buffer Rstd { float rstd_in[]; };
layout(set = 0, binding = 5) readonly buffer G { float gamma[]; };
layout(push_constant) uniform Push {
  uint o_dx, o_dy, o_x, o_mean, o_rstd, o_g;
  uint rows, n;
} pc;

void main() {
  uint r = row_index();
  if (r >= pc.rows) return;  // uniform across the group when ROW_LANES = 0
  uint lid = row_lane(), step = row_step();
  float mean = mean_in[pc.o_mean + r];
  float rstd = rstd_in[pc.o_rstd + r];
  uint base = r * pc.n;
  float sg = 0.0, sgx = 0.0;
  for (uint j = lid; j < pc.n; j += step) {
    float g = dy[pc.o_dy + base + j] * gamma[pc.o_g + j];
    float xhat = (x[pc.o_x + base + j] - mean) * rstd;
    sg += g;
    sgx += g * xhat;
  }
  float mg = row_sum(sg) / float(pc.n);
  float mgx = row_sum(sgx) / float(pc.n);
  for (uint j = lid; j < pc.n; j += step) {
    float g = dy[pc.o_dy + base + j] * gamma[pc.o_g + j];
    float xhat = (x[pc.o_x + base + j] - mean) * rstd;
    dx[pc.o_dx + base + j] = rstd * (g - mg - xhat * mgx);
  }
}
