/* CPU-shaped SGEMM (PoCL and other CPU drivers), row-major:
 *   C[b] = alpha · A[b] · B[b] + beta · C[b],  A m×k, B k×n, C m×n   (beta 0: C not read)
 * The host first copies the operands into shapes this kernel reads sequentially:
 * - A plain (m×k, lda): a transposed A is copied plain with `transpose`;
 * - B packed with `pack_b` into panels of 16 columns: panel jb = k rows of 16 floats, contiguous,
 *   zeros past column n. Reading B in place would walk a column with a stride of n floats, which
 *   on a CPU costs a TLB entry and an L1 set per row: 2048³ ran at 20 GFLOP per CPU-second
 *   unpacked against ≈120 at BERT sizes.
 * Work-item (ib, jb, b) computes the 4×16 block C[4·ib .. +3][16·jb .. +15] of batch b as a sum of
 * outer products: per step p, one float16 row of the panel (vload16) times four scalars of A. No
 * local memory: the CPU's caches do the tiling, and float16 maps onto the SIMD registers.
 * Edges: rows past m are clamped for loads and not stored; columns past n are zeros in the panel
 * and not stored. */

/* C row segment = alpha · acc + beta · C for its first `cols` columns. */
inline void store_c_row(__global float *row, float16 acc, int cols, float alpha, float beta) {
  if (cols == 16) {
    float16 r = alpha * acc;
    if (beta != 0.0f) r += beta * vload16(0, row);
    vstore16(r, 0, row);
    return;
  }
  float v[16];
  vstore16(acc, 0, v);
  for (int j = 0; j < cols; j++)
    row[j] = beta == 0.0f ? alpha * v[j] : alpha * v[j] + beta * row[j];
}

/* Global size (ceil(m/4), ceil(n/16), batch): dim 0 walks row blocks, so the work-items a CPU
 * driver runs one after another share one panel of B (hot in L1/L2) while each reads its own
 * four rows of A. stride_a = elements between batch matrices of A; stride_bp = between packed
 * panel sets (0: shared B); stride_c for C. */
__kernel void gemm_cpu_nn(int m, int n, int k, float alpha, float beta, __global const float *A,
                          int a_off, int lda, int stride_a, __global const float *Bp, int bp_off,
                          int stride_bp, __global float *C, int c_off, int ldc, int stride_c) {
  int i0 = get_global_id(0) * 4, jb = get_global_id(1), j0 = jb * 16;
  size_t bi = get_global_id(2);
  if (i0 >= m || j0 >= n) return;
  __global const float *a0 = A + a_off + bi * stride_a + (size_t)i0 * lda;
  __global const float *a1 = A + a_off + bi * stride_a + (size_t)min(i0 + 1, m - 1) * lda;
  __global const float *a2 = A + a_off + bi * stride_a + (size_t)min(i0 + 2, m - 1) * lda;
  __global const float *a3 = A + a_off + bi * stride_a + (size_t)min(i0 + 3, m - 1) * lda;
  __global const float *b = Bp + bp_off + bi * stride_bp + (size_t)jb * k * 16;
  float16 c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
  for (int p = 0; p < k; p++) {
    float16 bv = vload16(p, b);
    c0 += a0[p] * bv;
    c1 += a1[p] * bv;
    c2 += a2[p] * bv;
    c3 += a3[p] * bv;
  }
  int cols = min(16, n - j0);
  __global float *c = C + c_off + bi * stride_c + (size_t)i0 * ldc + j0;
  store_c_row(c, c0, cols, alpha, beta);
  if (i0 + 1 < m) store_c_row(c + ldc, c1, cols, alpha, beta);
  if (i0 + 2 < m) store_c_row(c + 2 * (size_t)ldc, c2, cols, alpha, beta);
  if (i0 + 3 < m) store_c_row(c + 3 * (size_t)ldc, c3, cols, alpha, beta);
}

/* Packs B[b] into panels for gemm_cpu_nn: out[b][jb][p][c] = B[b][p][16·jb + c] (0 past n), batch
 * stride ceil(n/16)·16·k, from element out_off. B is k×n with leading dimension ld, or with trans
 * stored n×k (element (p, j) at j·ld + p). Work-item (jb, pb, b) packs rows 16·pb .. +15 of
 * panel jb; the transposed case goes through a 16×16 block in private memory so that both the
 * reads and the writes are float16 rows. */
__kernel void pack_b(__global float *out, int out_off, __global const float *in, int in_off,
                     int ld, int stride_in, int k, int n, int trans) {
  int jb = get_global_id(0), j0 = jb * 16, p0 = get_global_id(1) * 16;
  size_t bi = get_global_id(2);
  if (j0 >= n || p0 >= k) return;
  int cols = min(16, n - j0), pn = min(16, k - p0);
  __global const float *src = in + in_off + bi * stride_in;
  __global float *dst =
      out + out_off + bi * (size_t)((n + 15) / 16) * 16 * k + ((size_t)jb * k + p0) * 16;
  float block[16][16]; /* block[p][c] */
  if (!trans) {
    for (int p = 0; p < pn; p++) {
      __global const float *row = src + (size_t)(p0 + p) * ld + j0;
      if (cols == 16) {
        vstore16(vload16(0, row), 0, dst + p * 16);
      } else {
        for (int c = 0; c < 16; c++) block[p][c] = c < cols ? row[c] : 0.0f;
        vstore16(vload16(0, block[p]), 0, dst + p * 16);
      }
    }
    return;
  }
  for (int c = 0; c < 16; c++) {
    __global const float *col = src + (size_t)(j0 + c) * ld + p0; /* stored row j0 + c */
    if (c < cols && pn == 16) {
      float v[16];
      vstore16(vload16(0, col), 0, v);
      for (int p = 0; p < 16; p++) block[p][c] = v[p];
    } else {
      for (int p = 0; p < pn; p++) block[p][c] = c < cols ? col[p] : 0.0f;
    }
  }
  for (int p = 0; p < pn; p++) vstore16(vload16(0, block[p]), 0, dst + p * 16);
}

/* out[b] = transpose of in[b]: in is rows×cols (ld ldi, batch stride stride_in), out is cols×rows,
 * contiguous (batch stride rows·cols) from element out_off. Turns a transposed GEMM operand into a
 * plain one (A here). Work-item (cb, rb, b) moves one 16×16 block, which stays in L1 while it is read
 * along rows and written along columns. */
__kernel void transpose(__global float *out, int out_off, __global const float *in, int in_off,
                        int ldi, int stride_in, int rows, int cols) {
  int c0 = get_global_id(0) * 16, r0 = get_global_id(1) * 16;
  size_t bi = get_global_id(2);
  if (c0 >= cols || r0 >= rows) return;
  __global const float *src = in + in_off + bi * stride_in;
  __global float *dst = out + out_off + bi * (size_t)rows * cols;
  int rn = min(16, rows - r0), cn = min(16, cols - c0);
  if (rn == 16 && cn == 16) { /* full block: 16 row loads and 16 row stores of float16 */
    float block[16][16]; /* block[c][r] */
    for (int r = 0; r < 16; r++) {
      float row[16];
      vstore16(vload16(0, src + (size_t)(r0 + r) * ldi + c0), 0, row);
      for (int c = 0; c < 16; c++) block[c][r] = row[c];
    }
    for (int c = 0; c < 16; c++)
      vstore16(vload16(0, block[c]), 0, dst + (size_t)(c0 + c) * rows + r0);
    return;
  }
  for (int r = 0; r < rn; r++)
    for (int c = 0; c < cn; c++)
      dst[(size_t)(c0 + c) * rows + r0 + r] = src[(size_t)(r0 + r) * ldi + c0 + c];
}
