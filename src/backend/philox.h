/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), the counter-based
 * RNG behind dropout. Every backend computes the same function, so the same (seed, stream) gives
 * the same mask everywhere:
 *   key     = (seed & 0xffffffff, seed >> 32)
 *   counter = (i & 0xffffffff, i >> 32, stream & 0xffffffff, stream >> 32)
 *   u_i     = (first output word >> 8) · 2^-24, in [0, 1)
 * kernels/dropout.cl and shaders/dropout.comp repeat these lines; keep them in step. */
#ifndef PORTA_PHILOX_H
#define PORTA_PHILOX_H

#include <stdint.h>

static inline uint32_t porta_philox_mulhi(uint32_t a, uint32_t b, uint32_t *lo) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *lo = (uint32_t)p;
  return (uint32_t)(p >> 32);
}

/* Returns the first of the four output words of Philox-4x32-10(counter, key). */
static inline uint32_t porta_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                           uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; round++) {
    uint32_t lo0, lo1;
    uint32_t hi0 = porta_philox_mulhi(0xD2511F53u, c0, &lo0);
    uint32_t hi1 = porta_philox_mulhi(0xCD9E8D57u, c2, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n1 = lo1;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    uint32_t n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c0;
}

static inline float porta_philox_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
  uint32_t r =
      porta_philox4x32_10((uint32_t)i, (uint32_t)(i >> 32), (uint32_t)stream,
                          (uint32_t)(stream >> 32), (uint32_t)seed, (uint32_t)(seed >> 32));
  return (float)(r >> 8) * (1.0f / 16777216.0f);
}

#endif /* PORTA_PHILOX_H */
