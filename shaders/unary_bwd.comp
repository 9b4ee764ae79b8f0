#version 450
// dx[i] = dy[i] · f'(·) for i < n, four consecutive elements per invocation (one vec4 load/store
// where the offsets are multiples of 4, as in unary.comp). dx may alias dy.
// x holds the op's input (gelu, relu) or output y (tanh: 1 - y²); scale: dx = alpha · dy.
#include "common.glsl"
#include "math.glsl"

layout(set = 0, binding = 0) buffer DX { float dx[]; };
layout(set = 0, binding = 0) buffer DX4 { vec4 dx4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer DY4 { vec4 dy4[]; };
layout(push_constant) uniform Push {
  uint o_dx, o_x, o_dy;
  uint op, n;
  float alpha;
} pc;

float grad(float g, float v) {
  if (pc.op == 1u) {
    float cdf = normal_cdf(v);
    float pdf = exp(-0.5 * v * v) * 0.39894228040143268;
    return g * (cdf + v * pdf);
  }
  if (pc.op == 2u) return g * (1.0 - v * v);
  return v > 0.0 ? g : 0.0;
}

void main() {
  uint i = 4u * flat_index();
  if (i >= pc.n) return;
  if (((pc.o_dx | pc.o_x | pc.o_dy) & 3u) == 0u && i + 4u <= pc.n) {
    vec4 g = dy4[(pc.o_dy + i) / 4u];
    vec4 r;
    if (pc.op == 0u) {
      r = pc.alpha * g;
    } else {
      vec4 v = x4[(pc.o_x + i) / 4u];
      r = vec4(grad(g.x, v.x), grad(g.y, v.y), grad(g.z, v.z), grad(g.w, v.w));
    }
    dx4[(pc.o_dx + i) / 4u] = r;
    return;
  }
  for (uint k = i; k < min(i + 4u, pc.n); k++) {
    float g = dy[pc.o_dy + k];
    if (pc.op == 0u)
      dx[pc.o_dx + k] = pc.alpha * g;
    else
      dx[pc.o_dx + k] = grad(g, x[pc.o_x + k]);
  }
}
