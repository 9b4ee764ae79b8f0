#version 450
// dx[i] = dy[i] · f'(·) for i < n, one invocation per element. dx may alias dy.
// x holds the op's input (gelu, relu) or output y (tanh: 1 - y²); scale: dx = alpha · dy.
#include "common.glsl"
#include "math.glsl"

layout(set = 0, binding = 0) buffer DX { float dx[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(push_constant) uniform Push {
  uint o_dx, o_x, o_dy;
  uint op, n;
  float alpha;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  float g = dy[pc.o_dy + i];
  float r;
  if (pc.op == 0u) {
    r = pc.alpha * g;
  } else {
    float v = x[pc.o_x + i];
    if (pc.op == 1u) {
      float cdf = normal_cdf(v);
      float pdf = exp(-0.5 * v * v) * 0.39894228040143268;
      r = g * (cdf + v * pdf);
    } else if (pc.op == 2u) {
      r = g * (1.0 - v * v);
    } else {
      r = v > 0.0 ? g : 0.0;
    }
  }
  dx[pc.o_dx + i] = r;
}
