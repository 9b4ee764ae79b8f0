#version 450
// Stage 1 of Σ x²: work group g sums x[i]² for i ≡ g·WG + lane (mod groups·WG) and writes
// partials[g]. Fixed grouping, so the result is the same on every run.
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer Partials { float partials[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push {
  uint o_part, o_x;
  uint n, groups;
} pc;

void main() {
  uint g = gl_WorkGroupID.x;
  float s = 0.0;
  for (uint i = g * WG + gl_LocalInvocationID.x; i < pc.n; i += pc.groups * WG) {
    float v = x[pc.o_x + i];
    s += v * v;
  }
  s = group_sum(s);
  if (gl_LocalInvocationID.x == 0u) partials[pc.o_part + g] = s;
}
