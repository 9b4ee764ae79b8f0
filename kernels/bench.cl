/* A compute-bound kernel for `porta bench`'s peak figure. Item i (i < n) runs `iters` rounds of 8
 * independent fused multiply-adds a_k = a_k · 0.999 + 0.001 (16 flops a round) on chains that
 * start from i, and out[i] = their sum, so that nothing can be folded away.
 * Work-item w computes items 8w .. 8w+7 as four float16 (two items each): four independent
 * vector chains keep a CPU's FMA units busy despite their latency (one float8 chain per
 * work-item ran PoCL at a tenth of the GEMM kernel's rate); GPUs see 32 scalar chains. */
inline float16 chains(int i) {
  float16 lane = (float16)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f,
                           0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f);
  float8 lo = (float8)((float)(i % 1024) * 0.001f), hi = (float8)((float)((i + 1) % 1024) * 0.001f);
  return (float16)(lo, hi) + lane;
}

inline float sum8(float8 a) {
  float4 h = a.lo + a.hi;
  return (h.x + h.y) + (h.z + h.w);
}

__kernel void bench_fma(__global float *out, int out_off, int n, int iters) {
  int i0 = get_global_id(0) * 8;
  if (i0 >= n) return;
  float16 a0 = chains(i0), a1 = chains(i0 + 2), a2 = chains(i0 + 4), a3 = chains(i0 + 6);
  const float16 mul = (float16)(0.999f), add = (float16)(0.001f);
  for (int it = 0; it < iters; it++) {
    a0 = fma(a0, mul, add);
    a1 = fma(a1, mul, add);
    a2 = fma(a2, mul, add);
    a3 = fma(a3, mul, add);
  }
  float r[8] = {sum8(a0.lo), sum8(a0.hi), sum8(a1.lo), sum8(a1.hi),
                sum8(a2.lo), sum8(a2.hi), sum8(a3.lo), sum8(a3.hi)};
  for (int k = 0; k < 8 && i0 + k < n; k++) out[out_off + i0 + k] = r[k];
}
