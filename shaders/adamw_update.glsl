// The AdamW update shared by adamw.comp (storage buffers) and adamw_texel.comp (texel buffers):
// the push constants and update(), in the f32 arithmetic of torch's CPU kernels (see
// porta_adamw_args in backend.h).
// Vulkan lets a driver split fma() into a multiply and an add (llvmpipe does), so fma_exact
// computes the single rounding from f32 operations; everything is precise (NoContraction), so
// the driver neither fuses nor reassociates what the error-free transformations rely on.
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
