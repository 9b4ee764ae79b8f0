#version 450
// out[i] = x[i] · (u_i ≥ p ? scale : 0), u_i = Philox-4x32-10 uniform of (seed, stream, base + i),
// bit for bit the function of src/backend/philox.h (keep them in step). Four consecutive elements
// per invocation (one vec4 load/store where the offsets are multiples of 4, as in unary.comp);
// base is the 64-bit index of element 0 of this dispatch (lo, hi words).
#include "common.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 0) buffer Out4 { vec4 y4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint n;
  float p, scale;
  uint seed_lo, seed_hi, stream_lo, stream_hi, base_lo, base_hi;
} pc;

uint philox_first_word(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1) {
  for (int round = 0; round < 10; round++) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, c0, hi0, lo0);
    umulExtended(0xCD9E8D57u, c2, hi1, lo1);
    uint n0 = hi1 ^ c1 ^ k0;
    uint n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c0;
}

float keep(uint i) {  // the mask factor of element i of this dispatch
  uint lo = pc.base_lo + i;
  uint hi = pc.base_hi + (lo < i ? 1u : 0u);  // carry
  uint r = philox_first_word(lo, hi, pc.stream_lo, pc.stream_hi, pc.seed_lo, pc.seed_hi);
  float u = float(r >> 8) * (1.0 / 16777216.0);
  return u >= pc.p ? pc.scale : 0.0;
}

void main() {
  uint i = 4u * flat_index();
  if (i >= pc.n) return;
  if (((pc.o_x | pc.o_y) & 3u) == 0u && i + 4u <= pc.n) {
    vec4 k = vec4(keep(i), keep(i + 1u), keep(i + 2u), keep(i + 3u));
    y4[(pc.o_y + i) / 4u] = x4[(pc.o_x + i) / 4u] * k;
    return;
  }
  for (uint e = i; e < min(i + 4u, pc.n); e++) y[pc.o_y + e] = x[pc.o_x + e] * keep(e);
}
