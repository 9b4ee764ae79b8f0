// Bindings and push constants shared by the GEMM shaders:
// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b], row-major; op(A) m×k, op(B) k×n, C m×n.
// Batch b = gl_WorkGroupID.z (+ z0); beta == 0 means C is not read.
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
} pc;

// op(A)[i, p] and op(B)[p, j] of batch matrix z (callers check bounds).
float load_a(uint z, uint i, uint p) {
  uint base = pc.o_a + z * pc.stride_a;
  return pc.trans_a != 0u ? a[base + p * pc.lda + i] : a[base + i * pc.lda + p];
}
float load_b(uint z, uint p, uint j) {
  uint base = pc.o_b + z * pc.stride_b;
  return pc.trans_b != 0u ? b[base + j * pc.ldb + p] : b[base + p * pc.ldb + j];
}
void store_c(uint z, uint i, uint j, float acc) {
  uint at = pc.o_c + z * pc.stride_c + i * pc.ldc + j;
  float prev = pc.beta == 0.0 ? 0.0 : pc.beta * c[at];
  c[at] = pc.alpha * acc + prev;
}
