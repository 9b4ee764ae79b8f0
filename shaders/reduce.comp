#version 450
// out[o] = beta · out[o] + alpha · Σ_r x[base(o) + off(r)].
// The host splits x's 4 dims into kept dims (k*, out_stride ≠ 0: nout outputs) and reduced dims
// (r*: nred elements each). per_thread = 0: one work group per output (strided loop over r +
// shared-memory tree); per_thread = 1 (few reduced elements): one invocation per output.
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint nout, nred, per_thread;
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
  if (pc.per_thread != 0u) {
    uint o = flat_index();
    if (o >= pc.nout) return;
    kept(o, xb, yb);
    float s = 0.0;
    for (uint r = 0; r < pc.nred; r++) s += x[pc.o_x + xb + reduced(r)];
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
