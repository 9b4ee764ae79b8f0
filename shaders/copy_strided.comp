#version 450
// out[Σ i·out_stride] = (accumulate ? out[...] : 0) + x[Σ i·x_stride] over the 4-D shape
// [s0, s1, s2, s3], one invocation per element.
// VEC4 = 1 (spec constant 1): the host has divided s3, all strides, offsets and n by 4 (both
// views contiguous along dim 3, 16-byte aligned): one invocation per uvec4.
// ACCUMULATE (spec constant 2) is a compile-time choice, not a run-time flag: the plain copy
// moves bits as uint and its pipeline holds no float operation at all, so i32 data (token ids,
// labels) survives any driver. With the add as a dead branch beside it, lavapipe's compiler
// on an AVX2 host rewrote the copy through a float op that quietened signalling-NaN payloads;
// a GPU that flushes denormals would zero every i32 below 2^23 the same way.
#include "common.glsl"

layout(constant_id = 1) const uint VEC4 = 0;
layout(constant_id = 2) const uint ACCUMULATE = 0;

layout(set = 0, binding = 0) buffer Out { uint y[]; };
layout(set = 0, binding = 0) buffer Out4 { uvec4 y4[]; };
layout(set = 0, binding = 1) readonly buffer X { uint x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { uvec4 x4[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x;
  uint n;
  uint s1, s2, s3;
  uint ys0, ys1, ys2, ys3;
  uint xs0, xs1, xs2, xs3;
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
  uint yi = i0 * pc.ys0 + i1 * pc.ys1 + i2 * pc.ys2 + i3 * pc.ys3;
  uint xi = i0 * pc.xs0 + i1 * pc.xs1 + i2 * pc.xs2 + i3 * pc.xs3;
  if (VEC4 != 0u) {
    uvec4 v = x4[pc.o_x / 4u + xi];
    if (ACCUMULATE != 0u)
      v = floatBitsToUint(uintBitsToFloat(y4[pc.o_y / 4u + yi]) + uintBitsToFloat(v));
    y4[pc.o_y / 4u + yi] = v;
    return;
  }
  uint v = x[pc.o_x + xi];
  if (ACCUMULATE != 0u)
    v = floatBitsToUint(uintBitsToFloat(y[pc.o_y + yi]) + uintBitsToFloat(v));
  y[pc.o_y + yi] = v;
}
