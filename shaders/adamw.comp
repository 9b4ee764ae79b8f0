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
#include "common.glsl"

layout(set = 0, binding = 0) buffer Param { float param[]; };
layout(set = 0, binding = 0) buffer Param4 { vec4 param4[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(set = 0, binding = 2) buffer M { float m[]; };
layout(set = 0, binding = 2) buffer M4 { vec4 m4[]; };
layout(set = 0, binding = 3) buffer V { float v[]; };
layout(set = 0, binding = 3) buffer V4 { vec4 v4[]; };
#include "adamw_update.glsl"

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
