#version 450
// out[i] = f(x[i]) for i < n, one invocation per element. out may alias x.
// op: 0 scale (alpha·x + beta), 1 gelu (x·Φ(x), erf form), 2 tanh, 3 relu.
#include "common.glsl"
#include "math.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint op, n;
  float alpha, beta;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  float v = x[pc.o_x + i];
  float r;
  if (pc.op == 0u) r = pc.alpha * v + pc.beta;
  else if (pc.op == 1u) r = v * normal_cdf(v);
  else if (pc.op == 2u) r = tanh_safe(v);
  else r = v > 0.0 ? v : 0.0;
  y[pc.o_y + i] = r;
}
