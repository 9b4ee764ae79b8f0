#version 450
// Per row r of x [rows, n]: mean, rstd = 1/sqrt(var + eps) (biased, two passes),
// y = (x - mean) · rstd · gamma + beta. One work group or one invocation per row (ROW_LANES, see
// group_reduce.glsl).
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Mean { float mean_out[]; };
layout(set = 0, binding = 2) writeonly buffer Rstd { float rstd_out[]; };
layout(set = 0, binding = 3) readonly buffer X { float x[]; };
layout(set = 0, binding = 4) readonly buffer G { float gamma[]; };
layout(set = 0, binding = 5) readonly buffer B { float beta[]; };
layout(push_constant) uniform Push {
  uint o_y, o_mean, o_rstd, o_x, o_g, o_b;
  uint rows, n;
  float eps;
} pc;

void main() {
  uint r = row_index();
  if (r >= pc.rows) return;  // uniform across the group when ROW_LANES = 0
  uint lid = row_lane(), step = row_step();
  uint base = pc.o_x + r * pc.n;
  // the mean as x0 + mean(x - x0): exact differences, so a large common offset costs no digits
  float x0 = x[base];
  float s = 0.0;
  for (uint j = lid; j < pc.n; j += step) s += x[base + j] - x0;
  float mean = x0 + row_sum(s) / float(pc.n);
  float v = 0.0;
  for (uint j = lid; j < pc.n; j += step) {
    float d = x[base + j] - mean;
    v += d * d;
  }
  float rstd = 1.0 / sqrt(row_sum(v) / float(pc.n) + pc.eps);
  for (uint j = lid; j < pc.n; j += step)
    y[pc.o_y + r * pc.n + j] = (x[base + j] - mean) * rstd * gamma[pc.o_g + j] + beta[pc.o_b + j];
  if (lid == 0u) {
    mean_out[pc.o_mean + r] = mean;
    rstd_out[pc.o_rstd + r] = rstd;
  }
}
