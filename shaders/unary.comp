#version 450
// out[i] = f(x[i]) for i < n, four consecutive elements per invocation (as one vec4 load and
// store where both offsets are multiples of 4: on lavapipe every load instruction is a per-lane
// loop, so a vec4 costs what a float does). out may alias x.
// op: 0 scale (alpha·x + beta), 1 gelu (x·Φ(x), erf form), 2 tanh, 3 relu.
#include "common.glsl"
#include "math.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 0) buffer Out4 { vec4 y4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint op, n;
  float alpha, beta;
} pc;

vec4 f(vec4 v) {
  if (pc.op == 0u) return pc.alpha * v + pc.beta;
  if (pc.op == 1u)
    return v * vec4(normal_cdf(v.x), normal_cdf(v.y), normal_cdf(v.z), normal_cdf(v.w));
  if (pc.op == 2u) return vec4(tanh_safe(v.x), tanh_safe(v.y), tanh_safe(v.z), tanh_safe(v.w));
  return max(v, vec4(0.0));
}

void main() {
  uint i = 4u * flat_index();
  if (i >= pc.n) return;
  if (((pc.o_x | pc.o_y) & 3u) == 0u && i + 4u <= pc.n) {
    y4[(pc.o_y + i) / 4u] = f(x4[(pc.o_x + i) / 4u]);
    return;
  }
  for (uint k = i; k < min(i + 4u, pc.n); k++) y[pc.o_y + k] = f(vec4(x[pc.o_x + k])).x;
}
