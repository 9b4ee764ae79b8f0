/* torch.optim.AdamW for one tensor, fused, in the f32 arithmetic of torch's CPU kernels (see
 * porta_adamw_args in backend.h; the host rounds the factors from doubles):
 *   g = grad · grad_scale   (the clip coefficient; 1 when none)
 *   p = p · decay
 *   m = torch.lerp(m, g, w1) = w1 < 0.5 ? fma(w1, g - m, m) : fma(w1 - 1, g - m, g)
 *   v = fma(w2 · g, g, v · beta2)
 *   p = p - (step_size · m) / (sqrt(v) / sqrt_bc2 + eps)
 * No contraction: a fused p · decay - update would round differently from torch's mul_. */
#pragma OPENCL FP_CONTRACT OFF

__kernel void adamw_step(__global float *param, int p_off, __global const float *grad, int g_off,
                         __global float *m, int m_off, __global float *v, int v_off, int n,
                         float decay, float w1, float beta2, float w2, float eps, float step_size,
                         float sqrt_bc2, float grad_scale) {
  int i = get_global_id(0);
  if (i >= n) return;
  float p = param[p_off + i] * decay;
  float g = grad[g_off + i] * grad_scale;
  float mo = m[m_off + i];
  float mi = w1 < 0.5f ? fma(w1, g - mo, mo) : fma(w1 - 1.0f, g - mo, g);
  float vi = fma(w2 * g, g, v[v_off + i] * beta2);
  p = p - step_size * mi / (sqrt(vi) / sqrt_bc2 + eps);
  param[p_off + i] = p;
  m[m_off + i] = mi;
  v[v_off + i] = vi;
}

/* The same for 16 consecutive elements per work-item as float16, scalar at the tail: for CPU
 * drivers, where it runs 5× faster than the scalar kernel on PoCL. Same operations in the same
 * order, so the same results. */
__kernel void adamw_step16(__global float *param, int p_off, __global const float *grad,
                           int g_off, __global float *m, int m_off, __global float *v, int v_off,
                           int n, float decay, float w1, float beta2, float w2, float eps,
                           float step_size, float sqrt_bc2, float grad_scale) {
  int i0 = get_global_id(0) * 16;
  if (i0 >= n) return;
  bool from_m = w1 < 0.5f;
  float lerp_w = from_m ? w1 : w1 - 1.0f;
  if (i0 + 16 <= n) {
    float16 p = vload16(0, param + p_off + i0) * decay;
    float16 g = vload16(0, grad + g_off + i0) * grad_scale;
    float16 mo = vload16(0, m + m_off + i0);
    float16 mi = fma((float16)lerp_w, g - mo, from_m ? mo : g);
    float16 vi = fma(w2 * g, g, vload16(0, v + v_off + i0) * beta2);
    p = p - step_size * mi / (sqrt(vi) / sqrt_bc2 + eps);
    vstore16(p, 0, param + p_off + i0);
    vstore16(mi, 0, m + m_off + i0);
    vstore16(vi, 0, v + v_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float p = param[p_off + i] * decay, g = grad[g_off + i] * grad_scale;
    float mo = m[m_off + i];
    float mi = fma(lerp_w, g - mo, from_m ? mo : g);
    float vi = fma(w2 * g, g, v[v_off + i] * beta2);
    p = p - step_size * mi / (sqrt(vi) / sqrt_bc2 + eps);
    param[p_off + i] = p;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
  }
}
