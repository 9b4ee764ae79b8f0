#version 450
// dx[r, :] = scale · y ⊙ (dy - Σ_j dy_j y_j); one work group or one invocation per row
// (ROW_LANES, see group_reduce.glsl). dx may alias dy (each invocation reads dy[j] before it
// writes dx[j]).
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) buffer DX { float dx[]; };
layout(set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(push_constant) uniform Push {
  uint o_dx, o_y, o_dy;
  uint rows, n;
  float scale;
} pc;

void main() {
  uint r = row_index();
  if (r >= pc.rows) return;  // uniform across the group when ROW_LANES = 0
  uint lid = row_lane(), step = row_step();
  uint base = r * pc.n;
  float d = 0.0;
  for (uint j = lid; j < pc.n; j += step) d += dy[pc.o_dy + base + j] * y[pc.o_y + base + j];
  d = row_sum(d);
  for (uint j = lid; j < pc.n; j += step) {
    float yv = y[pc.o_y + base + j];
    dx[pc.o_dx + base + j] = pc.scale * yv * (dy[pc.o_dy + base + j] - d);
  }
}
