#version 450
// Tiled SGEMM with register blocking. A work group of TX × TY invocations computes a
// BM × BN block of C (BM = TY·TM, BN = TX·TN); each step stages a BM × BK slice of op(A) and a
// BK × BN slice of op(B) in shared memory (loaded so that neighbouring invocations read
// neighbouring addresses for either transpose), then each invocation accumulates its TM × TN
// elements — rows ty + r·TY, columns tx + c·TX, so shared reads and C writes are contiguous
// across the group. Out-of-range elements load as 0, so every size is correct.
// Spec constants: 0 TX, 1 TY, 2 TM, 3 TN, 4 BK (the host picks them from device limits).
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint TX = 16;
layout(constant_id = 1) const uint TY = 16;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;
const uint BM = TY * TM;
const uint BN = TX * TN;
const uint THREADS = TX * TY;
#include "gemm_common.glsl"

shared float As[BK * BM];  // As[p * BM + i] = op(A)[row0 + i, k0 + p]
shared float Bs[BK * BN];  // Bs[p * BN + j] = op(B)[k0 + p, col0 + j]

void main() {
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * TX + tx;
  uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  uint z = gl_WorkGroupID.z;
  float acc[TM * TN];
  for (uint q = 0; q < TM * TN; q++) acc[q] = 0.0;
  float ra[TM], rb[TN];

  for (uint k0 = 0; k0 < pc.k; k0 += BK) {
    for (uint l = tid; l < BM * BK; l += THREADS) {
      // A row-major: p varies fastest in memory; transposed: i does.
      uint i = pc.trans_a != 0u ? l % BM : l / BK;
      uint p = pc.trans_a != 0u ? l / BM : l % BK;
      uint gi = row0 + i, gp = k0 + p;
      As[p * BM + i] = (gi < pc.m && gp < pc.k) ? load_a(z, gi, gp) : 0.0;
    }
    for (uint l = tid; l < BK * BN; l += THREADS) {
      uint j = pc.trans_b != 0u ? l / BK : l % BN;
      uint p = pc.trans_b != 0u ? l % BK : l / BN;
      uint gj = col0 + j, gp = k0 + p;
      Bs[p * BN + j] = (gj < pc.n && gp < pc.k) ? load_b(z, gp, gj) : 0.0;
    }
    barrier();
    for (uint p = 0; p < BK; p++) {
      for (uint r = 0; r < TM; r++) ra[r] = As[p * BM + ty + r * TY];
      for (uint s = 0; s < TN; s++) rb[s] = Bs[p * BN + tx + s * TX];
      for (uint r = 0; r < TM; r++)
        for (uint s = 0; s < TN; s++) acc[r * TN + s] += ra[r] * rb[s];
    }
    barrier();
  }
  for (uint r = 0; r < TM; r++)
    for (uint s = 0; s < TN; s++) {
      uint i = row0 + ty + r * TY, j = col0 + tx + s * TX;
      if (i < pc.m && j < pc.n) store_c(z, i, j, acc[r * TN + s]);
    }
}
