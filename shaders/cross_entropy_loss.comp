#version 450
// loss[0] = Σ_b rows[b] / Σ_b rows[batch + b] (0 when no row is valid); one work group.
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer Loss { float loss[]; };
layout(set = 0, binding = 1) readonly buffer Rows { float rows[]; };
layout(push_constant) uniform Push {
  uint o_loss, o_rows;
  uint batch;
} pc;

void main() {
  uint lid = gl_LocalInvocationID.x;
  float s = 0.0, c = 0.0;
  for (uint b = lid; b < pc.batch; b += WG) {
    s += rows[pc.o_rows + b];
    c += rows[pc.o_rows + pc.batch + b];
  }
  s = group_sum(s);
  c = group_sum(c);
  if (lid == 0u) loss[pc.o_loss] = c > 0.0 ? s / c : 0.0;
}
