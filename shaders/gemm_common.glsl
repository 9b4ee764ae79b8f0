// Bindings and push constants shared by the GEMM shaders:
// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b], row-major; op(A) m×k, op(B) k×n, C m×n.
// Batch b = gl_WorkGroupID.z; beta == 0 means C is not read. Two batch indices (e.g. batch row
// and attention head): z = z2 · batch1 + z1, and matrix z starts at z1 · stride + z2 · stride2.
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) buffer C { float c[]; };
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

// op(A)[i, p] and op(B)[p, j] of batch matrix z (callers check bounds).
float load_a(uint z, uint i, uint p) {
  uint base = pc.o_a + batch_off(z, pc.stride_a, pc.stride2_a);
  return pc.trans_a != 0u ? a[base + p * pc.lda + i] : a[base + i * pc.lda + p];
}
float load_b(uint z, uint p, uint j) {
  uint base = pc.o_b + batch_off(z, pc.stride_b, pc.stride2_b);
  return pc.trans_b != 0u ? b[base + j * pc.ldb + p] : b[base + p * pc.ldb + j];
}
void store_c(uint z, uint i, uint j, float acc) {
  uint at = pc.o_c + batch_off(z, pc.stride_c, pc.stride2_c) + i * pc.ldc + j;
  float prev = pc.beta == 0.0 ? 0.0 : pc.beta * c[at];
  c[at] = pc.alpha * acc + prev;
}
