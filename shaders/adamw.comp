#version 450
// One fused torch.optim.AdamW update per element i < n (one invocation each):
//   p -= lr·wd·p;  m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;
//   p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
#include "common.glsl"

layout(set = 0, binding = 0) buffer Param { float param[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer M { float m[]; };
layout(set = 0, binding = 3) buffer V { float v[]; };
layout(push_constant) uniform Push {
  uint o_p, o_g, o_m, o_v;
  uint n;
  float lr, beta1, beta2, eps, weight_decay, bc1, bc2;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  float p = param[pc.o_p + i];
  float g = grad[pc.o_g + i];
  p -= pc.lr * pc.weight_decay * p;
  float mi = pc.beta1 * m[pc.o_m + i] + (1.0 - pc.beta1) * g;
  float vi = pc.beta2 * v[pc.o_v + i] + (1.0 - pc.beta2) * g * g;
  p -= (pc.lr / pc.bc1) * mi / (sqrt(vi) / sqrt(pc.bc2) + pc.eps);
  m[pc.o_m + i] = mi;
  v[pc.o_v + i] = vi;
  param[pc.o_p + i] = p;
}
