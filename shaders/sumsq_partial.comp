#version 450
// Stage 1 of Σ x²: work group g sums x[i]² for i ≡ g·WG + lane (mod groups·WG) — over vec4s
// where x's offset is a multiple of 4, then over the last n mod 4 elements — and writes
// partials[g]. Fixed grouping, so the result is the same on every run.
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer Partials { float partials[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
  uint o_part, o_x;
  uint n, groups;
} pc;

void main() {
  uint g = gl_WorkGroupID.x;
  uint first = g * WG + gl_LocalInvocationID.x, stride = pc.groups * WG;
  float s = 0.0;
  uint i0 = 0u;  // first element left to the scalar loop
  if ((pc.o_x & 3u) == 0u) {  // vec4 loads: a quarter of the (per-lane, on lavapipe) load loops
    uint n4 = pc.n / 4u;
    for (uint j = first; j < n4; j += stride) {
      vec4 v = x4[pc.o_x / 4u + j];
      s += dot(v, v);
    }
    i0 = 4u * n4;
  }
  for (uint i = i0 + first; i < pc.n; i += stride) {
    float v = x[pc.o_x + i];
    s += v * v;
  }
  s = group_sum(s);
  if (gl_LocalInvocationID.x == 0u) partials[pc.o_part + g] = s;
}
