#version 450
// Peak-FLOP probe for `porta bench`: invocation i runs `iters` iterations of 8 independent fused
// multiply-adds (16 flops each iteration) on values derived from i and writes their sum to
// out[i], so nothing can be optimised away.
#include "common.glsl"

layout(set = 0, binding = 0) writeonly buffer Out { float y[]; };
layout(push_constant) uniform Push {
  uint o_y;
  uint n, iters;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  float x = float(i & 1023u) * 0.0009765625;
  float a0 = x, a1 = x + 0.1, a2 = x + 0.2, a3 = x + 0.3;
  float a4 = x + 0.4, a5 = x + 0.5, a6 = x + 0.6, a7 = x + 0.7;
  const float m = 0.99990, c = 0.00005;
  for (uint it = 0; it < pc.iters; it++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  y[pc.o_y + i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
