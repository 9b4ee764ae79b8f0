/* GPU-shaped SGEMM, row-major, all four transpose combinations in-kernel:
 *   C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b],  op(A) m×k, op(B) k×n   (beta 0: C not read)
 * A work-group of T×T work-items (T = GPU_TILE_THREADS, 16 or 8 from the device's limits) owns a
 * TILE×TILE block of C (TILE = 4T) and walks k in steps of TK: the group stages a TILE×TK slice
 * of op(A) and a TK×TILE slice of op(B) in local memory (zeros past the edges), then work-item
 * (tx, ty) accumulates the 4×4 outputs at rows ty + T·r and columns tx + T·c in registers.
 * Global loads are ordered so neighbouring work-items read neighbouring addresses. */
#ifndef GPU_TILE_THREADS
#define GPU_TILE_THREADS 16
#endif
#define T GPU_TILE_THREADS
#define TILE (4 * T)
#define TK 16

inline void gemm_gpu_tile(const int trans_a, const int trans_b, int m, int n, int k, float alpha,
                          float beta, __global const float *A, int lda, __global const float *B,
                          int ldb, __global float *C, int ldc, __local float *As,
                          __local float *Bs) {
  int tx = get_local_id(0), ty = get_local_id(1);
  int lid = ty * T + tx;
  int j0 = get_group_id(0) * TILE, i0 = get_group_id(1) * TILE;
  float acc[4][4];
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++) acc[r][c] = 0.0f;

  for (int p0 = 0; p0 < k; p0 += TK) {
    for (int e = lid; e < TILE * TK; e += T * T) {
      /* As[kk][ii] = op(A)[i0 + ii][p0 + kk] */
      int ii = trans_a ? e % TILE : e / TK;
      int kk = trans_a ? e / TILE : e % TK;
      int i = i0 + ii, p = p0 + kk;
      float av = 0.0f;
      if (i < m && p < k) av = trans_a ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
      As[kk * TILE + ii] = av;
      /* Bs[kk][jj] = op(B)[p0 + kk][j0 + jj] */
      int jj = trans_b ? e / TK : e % TILE;
      int kb = trans_b ? e % TK : e / TILE;
      int j = j0 + jj, q = p0 + kb;
      float bv = 0.0f;
      if (j < n && q < k) bv = trans_b ? B[(size_t)j * ldb + q] : B[(size_t)q * ldb + j];
      Bs[kb * TILE + jj] = bv;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < TK; kk++) {
      float a[4], b[4];
      for (int r = 0; r < 4; r++) a[r] = As[kk * TILE + ty + r * T];
      for (int c = 0; c < 4; c++) b[c] = Bs[kk * TILE + tx + c * T];
      for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = mad(a[r], b[c], acc[r][c]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int r = 0; r < 4; r++) {
    int i = i0 + ty + r * T;
    if (i >= m) continue;
    for (int c = 0; c < 4; c++) {
      int j = j0 + tx + c * T;
      if (j >= n) continue;
      __global float *out = C + (size_t)i * ldc + j;
      *out = beta == 0.0f ? alpha * acc[r][c] : alpha * acc[r][c] + beta * *out;
    }
  }
}

/* Global size (ceil(n/TILE)·T, ceil(m/TILE)·T, batch), local (T, T, 1). */
#define GEMM_GPU_KERNEL(name, ta, tb)                                                            \
  __kernel __attribute__((reqd_work_group_size(T, T, 1))) void name(                             \
      int m, int n, int k, float alpha, float beta, __global const float *A, int a_off, int lda, \
      int stride_a, __global const float *B, int b_off, int ldb, int stride_b,                   \
      __global float *C, int c_off, int ldc, int stride_c) {                                     \
    __local float As[TK * TILE];                                                                 \
    __local float Bs[TK * TILE];                                                                 \
    size_t bi = get_global_id(2);                                                                \
    gemm_gpu_tile(ta, tb, m, n, k, alpha, beta, A + a_off + bi * stride_a, lda,                  \
                  B + b_off + bi * stride_b, ldb, C + c_off + bi * stride_c, ldc, As, Bs);       \
  }

GEMM_GPU_KERNEL(gemm_gpu_nn, 0, 0)
GEMM_GPU_KERNEL(gemm_gpu_nt, 0, 1)
GEMM_GPU_KERNEL(gemm_gpu_tn, 1, 0)
GEMM_GPU_KERNEL(gemm_gpu_tt, 1, 1)
