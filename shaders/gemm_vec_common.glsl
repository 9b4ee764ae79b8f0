// Push constants of the register-blocked GEMM shaders (the same words as gemm_common.glsl).
// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b], row-major; batch b = gl_WorkGroupID.z, which
// with two batch indices is z2 · batch1 + z1: matrix z starts at z1 · stride + z2 · stride2.
// The host uses these shaders only where the vec4 views are exact: the vec4-read operands have
// element offsets, leading dimensions and batch strides that are multiples of 4.
layout(push_constant) uniform Push {
  uint o_a, o_b, o_c;
  uint m, n, k;
  uint lda, ldb, ldc;
  uint stride_a, stride_b, stride_c;
  uint trans_a, trans_b;
  float alpha, beta;
  uint batch1, stride2_a, stride2_b, stride2_c;
} pc;

uint batch_off(uint z, uint stride, uint stride2) {
  return (z % pc.batch1) * stride + (z / pc.batch1) * stride2;
}

layout(set = 0, binding = 2) buffer C { float c[]; };

void store_c(uint z, uint i, uint j, float acc) {
  uint at = pc.o_c + batch_off(z, pc.stride_c, pc.stride2_c) + i * pc.ldc + j;
  float prev = pc.beta == 0.0 ? 0.0 : pc.beta * c[at];
  c[at] = pc.alpha * acc + prev;
}
