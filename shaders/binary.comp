#version 450
// out[i0,i1,i2,i3] = a[Σ i·a_stride] op b[Σ i·b_stride]; out contiguous [s0, s1, s2, s3].
// One invocation per output element; a stride of 0 broadcasts. op: 0 add, 1 sub, 2 mul, 3 div.
#include "common.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(push_constant) uniform Push {
  uint o_y, o_a, o_b;
  uint op, n;
  uint s1, s2, s3;
  uint as0, as1, as2, as3;
  uint bs0, bs1, bs2, bs3;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n) return;
  uint i3 = i % pc.s3;
  uint r = i / pc.s3;
  uint i2 = r % pc.s2;
  r /= pc.s2;
  uint i1 = r % pc.s1;
  uint i0 = r / pc.s1;
  float va = a[pc.o_a + i0 * pc.as0 + i1 * pc.as1 + i2 * pc.as2 + i3 * pc.as3];
  float vb = b[pc.o_b + i0 * pc.bs0 + i1 * pc.bs1 + i2 * pc.bs2 + i3 * pc.bs3];
  float v;
  if (pc.op == 0u) v = va + vb;
  else if (pc.op == 1u) v = va - vb;
  else if (pc.op == 2u) v = va * vb;
  else v = va / vb;
  y[pc.o_y + i] = v;
}
