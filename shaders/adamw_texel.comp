#version 450
// Fused torch.optim.AdamW updates, four elements [4q, 4q + 4) per invocation q, in the f32
// arithmetic of torch's CPU kernels (see porta_adamw_args in backend.h; the host rounds the
// factors from doubles):
//   g = grad·grad_scale;  p = p·decay;  m = torch.lerp(m, g, w1) as an fma;
//   v = fma(w2·g, g, v·beta2);  p = p - (step_size·m) / (sqrt(v) / sqrt_bc2 + eps)
// All four views are RGBA32F storage texel buffers (one texel = one quad; the host checked
// 16-byte alignment and leaves the last n % 4 elements to adamw.comp): lavapipe inlines
// imageLoad/imageStore into its SIMD code, while every SSBO access is a per-lane loop.
#include "common.glsl"

layout(set = 0, binding = 0, rgba32f) uniform imageBuffer param_t;
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer grad_t;
layout(set = 0, binding = 2, rgba32f) uniform imageBuffer m_t;
layout(set = 0, binding = 3, rgba32f) uniform imageBuffer v_t;
#include "adamw_update.glsl"

void main() {
  uint q = flat_index();
  if (q >= pc.n / 4u) return;
  vec4 p = imageLoad(param_t, int(pc.o_p / 4u + q)), mo = imageLoad(m_t, int(pc.o_m / 4u + q));
  vec4 vo = imageLoad(v_t, int(pc.o_v / 4u + q));
  update(p, imageLoad(grad_t, int(pc.o_g / 4u + q)), mo, vo);
  imageStore(param_t, int(pc.o_p / 4u + q), p);
  imageStore(m_t, int(pc.o_m / 4u + q), mo);
  imageStore(v_t, int(pc.o_v / 4u + q), vo);
}
