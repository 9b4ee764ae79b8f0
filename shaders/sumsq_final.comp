#version 450
// Stage 2 of Σ x²: one work group sums the partials; out[0] = (accumulate ? out[0] : 0) + Σ.
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 1) readonly buffer Partials { float partials[]; };
layout(push_constant) uniform Push {
  uint o_y, o_part;
  uint count, accumulate;
} pc;

void main() {
  float s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < pc.count; i += WG) s += partials[pc.o_part + i];
  s = group_sum(s);
  if (gl_LocalInvocationID.x == 0u) y[pc.o_y] = (pc.accumulate != 0u ? y[pc.o_y] : 0.0) + s;
}
