#version 450
// out[o] = beta · out[o] + alpha · Σ_r x[base(o) + off(r)].
// The host splits x's 4 dims into kept dims (k*, out_stride ≠ 0: nout outputs) and reduced dims
// (r*: nred elements each). ROW_LANES = 0: one work group per output (strided loop over r + a
// group reduction); ROW_LANES = 1: one invocation per output (a plain loop over r), or with
// VEC4 = 1 (spec constant 2: the only kept dim is dim 3, contiguous in x and out, nout and every
// reduced stride multiples of 4, both views 16-byte aligned) per 4 outputs, as vec4s.
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(constant_id = 2) const uint VEC4 = 0;

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 0) buffer Out4 { vec4 y4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint nout, nred;
  float alpha, beta;
  uint k1, k2, k3;            // kept sizes (k0 implied)
  uint kx0, kx1, kx2, kx3;    // kept x strides
  uint ky0, ky1, ky2, ky3;    // kept out strides
  uint r1, r2, r3;            // reduced sizes (r0 implied)
  uint rx0, rx1, rx2, rx3;    // reduced x strides
} pc;

void kept(uint o, out uint xb, out uint yb) {
  uint i3 = o % pc.k3;
  uint t = o / pc.k3;
  uint i2 = t % pc.k2;
  t /= pc.k2;
  uint i1 = t % pc.k1;
  uint i0 = t / pc.k1;
  xb = i0 * pc.kx0 + i1 * pc.kx1 + i2 * pc.kx2 + i3 * pc.kx3;
  yb = i0 * pc.ky0 + i1 * pc.ky1 + i2 * pc.ky2 + i3 * pc.ky3;
}

uint reduced(uint r) {
  uint i3 = r % pc.r3;
  uint t = r / pc.r3;
  uint i2 = t % pc.r2;
  t /= pc.r2;
  uint i1 = t % pc.r1;
  uint i0 = t / pc.r1;
  return i0 * pc.rx0 + i1 * pc.rx1 + i2 * pc.rx2 + i3 * pc.rx3;
}

void store(uint yb, float s) {
  uint yi = pc.o_y + yb;
  float prev = pc.beta == 0.0 ? 0.0 : pc.beta * y[yi];
  y[yi] = prev + pc.alpha * s;
}

void main() {
  uint xb, yb;
  if (ROW_LANES != 0u) {
    // nested loops over the reduced dims: no index division per element
    uint inner = pc.r1 * pc.r2 * pc.r3;  // 0 when a reduced dim is empty
    uint r0 = inner == 0u ? 0u : pc.nred / inner;
    if (VEC4 != 0u) {
      uint o4 = flat_index();  // outputs 4·o4 .. 4·o4 + 3
      if (4u * o4 >= pc.nout) return;
      vec4 s = vec4(0.0);
      for (uint i0 = 0; i0 < r0; i0++)
        for (uint i1 = 0; i1 < pc.r1; i1++)
          for (uint i2 = 0; i2 < pc.r2; i2++) {
            uint b = (pc.o_x + 4u * o4 + i0 * pc.rx0 + i1 * pc.rx1 + i2 * pc.rx2) / 4u;
            for (uint i3 = 0; i3 < pc.r3; i3++) s += x4[b + i3 * (pc.rx3 / 4u)];
          }
      uint yi = (pc.o_y + 4u * o4) / 4u;
      vec4 prev = pc.beta == 0.0 ? vec4(0.0) : pc.beta * y4[yi];
      y4[yi] = prev + pc.alpha * s;
      return;
    }
    uint o = flat_index();
    if (o >= pc.nout) return;
    kept(o, xb, yb);
    float s = 0.0;
    for (uint i0 = 0; i0 < r0; i0++)
      for (uint i1 = 0; i1 < pc.r1; i1++)
        for (uint i2 = 0; i2 < pc.r2; i2++) {
          uint b = pc.o_x + xb + i0 * pc.rx0 + i1 * pc.rx1 + i2 * pc.rx2;
          for (uint i3 = 0; i3 < pc.r3; i3++) s += x[b + i3 * pc.rx3];
        }
    store(yb, s);
    return;
  }
  uint o = group_index();
  if (o >= pc.nout) return;  // uniform across the group
  kept(o, xb, yb);
  float s = 0.0;
  for (uint r = gl_LocalInvocationID.x; r < pc.nred; r += WG) s += x[pc.o_x + xb + reduced(r)];
  s = group_sum(s);
  if (gl_LocalInvocationID.x == 0u) store(yb, s);
}
