/* Inverted dropout with the Philox-4x32-10 mask of src/backend/philox.h (keep them in step):
 *   key = (seed lo, seed hi), counter = (base + i lo, hi, stream lo, stream hi),
 *   u_i = (first output word >> 8) · 2^-24;  out[i] = x[i] · (u_i ≥ p ? scale : 0)
 * scale = 1/(1-p) is computed on the host as the CPU backend does, so masks and values match
 * bit for bit. One work-item per element; out may alias x. */

/* The 32×32→64-bit products are written as one 64-bit multiply (not mul_hi + a 32-bit multiply):
 * PoCL vectorises that 3× faster. */
inline uint philox4x32_10(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1) {
  for (int round = 0; round < 10; round++) {
    ulong p0 = (ulong)0xD2511F53u * c0, p1 = (ulong)0xCD9E8D57u * c2;
    uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
    uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
    uint n0 = hi1 ^ c1 ^ k0;
    uint n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c0;
}

__kernel void dropout_fwd(__global float *out, int out_off, __global const float *x, int x_off,
                          int n, float p, float scale, ulong seed, ulong stream, ulong base) {
  int i = get_global_id(0);
  if (i >= n) return;
  ulong idx = base + (ulong)i;
  uint r = philox4x32_10((uint)idx, (uint)(idx >> 32), (uint)stream, (uint)(stream >> 32),
                         (uint)seed, (uint)(seed >> 32));
  float u = (float)(r >> 8) * (1.0f / 16777216.0f);
  out[out_off + i] = x[x_off + i] * (u >= p ? scale : 0.0f);
}

/* The same mask for 16 consecutive elements per work-item, as uint16 vectors (CPU drivers: PoCL
 * does not vectorise the scalar kernel's 64-bit products across work-items). Element i of the
 * tensor is lane i % 16 of work-item i / 16; its counter is base + i, carried into the high word
 * lane by lane. */
__kernel void dropout_fwd16(__global float *out, int out_off, __global const float *x, int x_off,
                            int n, float p, float scale, ulong seed, ulong stream, ulong base) {
  int i0 = get_global_id(0) * 16;
  if (i0 >= n) return;
  ulong first = base + (ulong)i0;
  uint16 c0 = (uint16)((uint)first) + (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  uint16 carry = select((uint16)(0u), (uint16)(1u), c0 < (uint16)((uint)first));
  uint16 c1 = (uint16)((uint)(first >> 32)) + carry;
  uint16 c2 = (uint16)((uint)stream), c3 = (uint16)((uint)(stream >> 32));
  uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint16 hi0 = mul_hi((uint16)(0xD2511F53u), c0), lo0 = (uint16)(0xD2511F53u) * c0;
    uint16 hi1 = mul_hi((uint16)(0xCD9E8D57u), c2), lo1 = (uint16)(0xCD9E8D57u) * c2;
    uint16 n0 = hi1 ^ c1 ^ (uint16)(k0);
    uint16 n2 = hi0 ^ c3 ^ (uint16)(k1);
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  float16 u = convert_float16(c0 >> 8) * (1.0f / 16777216.0f);
  float16 keep = select((float16)(0.0f), (float16)(scale), isgreaterequal(u, (float16)(p)));
  if (i0 + 16 <= n) {
    vstore16(vload16(0, x + x_off + i0) * keep, 0, out + out_off + i0);
    return;
  }
  float k[16];
  vstore16(keep, 0, k);
  for (int j = 0; i0 + j < n; j++) out[out_off + i0 + j] = x[x_off + i0 + j] * k[j];
}
