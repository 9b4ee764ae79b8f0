#version 450
// One fused torch.optim.AdamW update per element i < n (one invocation each), in the f32
// arithmetic of torch's CPU kernels (see porta_adamw_args in backend.h; the host rounds the
// factors from doubles):
//   p = p·decay;  m = torch.lerp(m, g, w1) as an fma;  v = fma(w2·g, g, v·beta2)
//   p = p - (step_size·m) / (sqrt(v) / sqrt_bc2 + eps)
// Vulkan lets a driver split fma() into a multiply and an add (llvmpipe does), so fma_exact
// computes the single rounding from f32 operations; everything is precise (NoContraction), so
// the driver neither fuses nor reassociates what the error-free transformations rely on.
#include "common.glsl"

layout(set = 0, binding = 0) buffer Param { float param[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer M { float m[]; };
layout(set = 0, binding = 3) buffer V { float v[]; };
layout(push_constant) uniform Push {
  uint o_p, o_g, o_m, o_v;
  uint n;
  float decay, w1, beta2, w2, eps, step_size, sqrt_bc2;
} pc;

// s + e = a + b exactly (Knuth's TwoSum).
void two_sum(float a, float b, out float s, out float e) {
  precise float sum = a + b;
  precise float bb = sum - a;
  precise float err = (a - (sum - bb)) + (b - bb);
  s = sum;
  e = err;
}

// hi + lo = a·b exactly (Dekker's product with Veltkamp's split; |a|, |b| < 2^100).
void two_prod(float a, float b, out float hi, out float lo) {
  precise float p = a * b;
  precise float ca = 4097.0 * a;
  precise float ah = ca - (ca - a);
  precise float al = a - ah;
  precise float cb = 4097.0 * b;
  precise float bh = cb - (cb - b);
  precise float bl = b - bh;
  precise float err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  hi = p;
  lo = err;
}

// a + b rounded to odd: when inexact, the neighbour of the nearest sum whose last bit is 1.
float add_odd(float a, float b) {
  float s, e;
  two_sum(a, b, s, e);
  uint bits = floatBitsToUint(s);
  if (e != 0.0 && (bits & 1u) == 0u) bits = (e > 0.0) == (s > 0.0) ? bits + 1u : bits - 1u;
  return uintBitsToFloat(bits);
}

// a·b + c with one rounding (Boldo & Melquiond's emulated FMA: round to odd, then to nearest).
float fma_exact(float a, float b, float c) {
  float uh, ul, th, tl;
  two_prod(a, b, uh, ul);
  two_sum(c, uh, th, tl);
  precise float z = th + add_odd(tl, ul);
  return z;
}

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  precise float p = param[pc.o_p + i] * pc.decay;
  float g = grad[pc.o_g + i];
  float mo = m[pc.o_m + i];
  precise float d = g - mo;
  // torch.lerp(m, g, w1): from m for a small weight, from g otherwise
  precise float w1m1 = pc.w1 - 1.0;
  float mi = pc.w1 < 0.5 ? fma_exact(pc.w1, d, mo) : fma_exact(w1m1, d, g);
  precise float w2g = pc.w2 * g;
  precise float vb = v[pc.o_v + i] * pc.beta2;
  float vi = fma_exact(w2g, g, vb);
  p = p - pc.step_size * mi / (sqrt(vi) / pc.sqrt_bc2 + pc.eps);
  m[pc.o_m + i] = mi;
  v[pc.o_v + i] = vi;
  param[pc.o_p + i] = p;
}
