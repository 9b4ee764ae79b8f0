#version 450
// Fused torch.optim.AdamW updates, four elements [4q, 4q + 4) per invocation q, in the f32
// arithmetic of torch's CPU kernels (see porta_adamw_args in backend.h; the host rounds the
// factors from doubles):
//   g = grad·grad_scale;  p = p·decay;  m = torch.lerp(m, g, w1) as an fma;
//   v = fma(w2·g, g, v·beta2);  p = p - (step_size·m) / (sqrt(v) / sqrt_bc2 + eps)
// vec4_ok = 1 (the host checked that all four views start 16-byte aligned): whole quads move as
// one vec4 load/store each (lavapipe turns every SSBO access into a per-lane loop with a branch
// per component; one loop for four components is ~15 % faster there than four). Otherwise, and
// for the last partial quad, element by element; the arithmetic is the same vec4 code either
// way (componentwise IEEE operations, the same bits).
// Vulkan lets a driver split fma() into a multiply and an add (llvmpipe does), so fma_exact
// computes the single rounding from f32 operations; everything is precise (NoContraction), so
// the driver neither fuses nor reassociates what the error-free transformations rely on.
#include "common.glsl"

layout(set = 0, binding = 0) buffer Param { float param[]; };
layout(set = 0, binding = 0) buffer Param4 { vec4 param4[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(set = 0, binding = 2) buffer M { float m[]; };
layout(set = 0, binding = 2) buffer M4 { vec4 m4[]; };
layout(set = 0, binding = 3) buffer V { float v[]; };
layout(set = 0, binding = 3) buffer V4 { vec4 v4[]; };
layout(push_constant) uniform Push {
  uint o_p, o_g, o_m, o_v;
  uint n;
  float decay, w1, beta2, w2, eps, step_size, sqrt_bc2, grad_scale;
  uint vec4_ok;
} pc;

// s + e = a + b exactly (Knuth's TwoSum).
void two_sum(vec4 a, vec4 b, out vec4 s, out vec4 e) {
  precise vec4 sum = a + b;
  precise vec4 bb = sum - a;
  precise vec4 err = (a - (sum - bb)) + (b - bb);
  s = sum;
  e = err;
}

// hi + lo = a·b exactly (Dekker's product with Veltkamp's split; |a|, |b| < 2^100).
void two_prod(vec4 a, vec4 b, out vec4 hi, out vec4 lo) {
  precise vec4 p = a * b;
  precise vec4 ca = 4097.0 * a;
  precise vec4 ah = ca - (ca - a);
  precise vec4 al = a - ah;
  precise vec4 cb = 4097.0 * b;
  precise vec4 bh = cb - (cb - b);
  precise vec4 bl = b - bh;
  precise vec4 err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  hi = p;
  lo = err;
}

// a + b rounded to odd: when inexact, the neighbour of the nearest sum whose last bit is 1.
vec4 add_odd(vec4 a, vec4 b) {
  vec4 s, e;
  two_sum(a, b, s, e);
  uvec4 bits = floatBitsToUint(s);
  bvec4 inexact_even = bvec4(uvec4(notEqual(e, vec4(0.0))) & (uvec4(1u) - (bits & 1u)));
  bvec4 away = equal(greaterThan(e, vec4(0.0)), greaterThan(s, vec4(0.0)));
  uvec4 odd = mix(bits - 1u, bits + 1u, away);
  return uintBitsToFloat(mix(bits, odd, inexact_even));
}

// a·b + c with one rounding (Boldo & Melquiond's emulated FMA: round to odd, then to nearest).
vec4 fma_exact(vec4 a, vec4 b, vec4 c) {
  vec4 uh, ul, th, tl;
  two_prod(a, b, uh, ul);
  two_sum(c, uh, th, tl);
  precise vec4 z = th + add_odd(tl, ul);
  return z;
}

// The update of four elements; p, m, v in and out.
void update(inout vec4 p, vec4 gin, inout vec4 mo, inout vec4 vo) {
  precise vec4 g = gin * pc.grad_scale;
  precise vec4 pd = p * pc.decay;
  precise vec4 d = g - mo;
  // torch.lerp(m, g, w1): from m for a small weight, from g otherwise
  precise float w1m1 = pc.w1 - 1.0;
  vec4 mi = pc.w1 < 0.5 ? fma_exact(vec4(pc.w1), d, mo) : fma_exact(vec4(w1m1), d, g);
  precise vec4 w2g = pc.w2 * g;
  precise vec4 vb = vo * pc.beta2;
  vec4 vi = fma_exact(w2g, g, vb);
  precise vec4 pn = pd - pc.step_size * mi / (sqrt(vi) / pc.sqrt_bc2 + pc.eps);
  p = pn;
  mo = mi;
  vo = vi;
}

void main() {
  uint i0 = flat_index() * 4u;
  if (i0 >= pc.n) return;
  if (pc.vec4_ok != 0u && i0 + 4u <= pc.n) {
    uint q = i0 / 4u;
    vec4 p = param4[pc.o_p / 4u + q], mo = m4[pc.o_m / 4u + q], vo = v4[pc.o_v / 4u + q];
    update(p, grad4[pc.o_g / 4u + q], mo, vo);
    param4[pc.o_p / 4u + q] = p;
    m4[pc.o_m / 4u + q] = mo;
    v4[pc.o_v / 4u + q] = vo;
    return;
  }
  uint count = min(4u, pc.n - i0);
  vec4 p = vec4(0.0), g = vec4(0.0), mo = vec4(0.0), vo = vec4(0.0);
  for (uint k = 0u; k < count; k++) {
    p[k] = param[pc.o_p + i0 + k];
    g[k] = grad[pc.o_g + i0 + k];
    mo[k] = m[pc.o_m + i0 + k];
    vo[k] = v[pc.o_v + i0 + k];
  }
  update(p, g, mo, vo);
  for (uint k = 0u; k < count; k++) {
    param[pc.o_p + i0 + k] = p[k];
    m[pc.o_m + i0 + k] = mo[k];
    v[pc.o_v + i0 + k] = vo[k];
  }
}
