/* Branch-free float math for the CPU backend's hot loops (GELU): plain arithmetic and bit moves
 * only, so a `#pragma omp simd` loop around them vectorises (libm's erfcf and expf are calls the
 * compiler cannot vectorise without -ffast-math). Accuracy: a few float ulps, relative, also in
 * the tails (see tests/test_cpu_backend.c, which compares them with erfc and exp in double). */
#ifndef PORTA_CPU_MATH_H
#define PORTA_CPU_MATH_H

#include <stdint.h>
#include <string.h>

/* exp(hi + lo) for hi + lo in [-88, 0], with |lo| ≪ |hi| carried separately so that an argument
 * known to more than float precision keeps it (the rounding of -a² would otherwise cost a²·2^-24
 * of relative accuracy). */
#if defined(__GNUC__)
#define PORTA_CPU_INLINE static inline __attribute__((always_inline))
#else
#define PORTA_CPU_INLINE static inline
#endif

/* Hot loops compiled for AVX-512 and AVX2 as well as the baseline, the best picked at load time
 * (GCC's function multiversioning; x86-64 with GCC only). The clones do the same arithmetic lane
 * by lane, and C11 mode keeps GCC from fusing multiply-adds (-ffp-contract=off), so every clone
 * gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define PORTA_CPU_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PORTA_CPU_VECTOR_CLONES
#endif

PORTA_CPU_INLINE float porta_cpu_exp2parts(float hi, float lo) {
  const float log2e = 1.44269504088896341f;
  const float ln2_hi = 0.693145751953125f;    /* 16 significant bits: n·ln2_hi is exact */
  const float ln2_lo = 1.42860676533018e-06f; /* ln 2 - ln2_hi */
  const float round_magic = 12582912.0f;      /* 1.5·2^23: adding it rounds to an integer */
  float nf = ((hi + lo) * log2e + round_magic) - round_magic;
  float r = (hi - nf * ln2_hi) + (lo - nf * ln2_lo); /* |r| ≲ 0.39 */
  /* e^r: Taylor to r^7 (remainder < 2e-8 relative on |r| < 0.4) */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  /* · 2^n through the exponent bits (n ≥ -127 + 1 for hi + lo ≥ -87: a normal float) */
  int32_t n = (int32_t)nf;
  uint32_t bits = (uint32_t)(n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* exp(t) for any t ≤ 0 (NaN propagates): 0 below -87, where the true value is under 2^-125, so
 * that masked logits (-inf, -1e9, -FLT_MAX) give exactly 0. */
PORTA_CPU_INLINE float porta_cpu_exp_nonpositive(float t) {
  uint32_t keep_mask = 0u - (uint32_t)(t >= -87.0f); /* NaN: not kept, but NaN below */
  uint32_t nan_mask = 0u - (uint32_t)(t != t);
  const float floor_value = -87.0f;
  uint32_t t_bits, floor_bits, bits;
  memcpy(&t_bits, &t, sizeof t_bits);
  memcpy(&floor_bits, &floor_value, sizeof floor_bits);
  t_bits = (t_bits & keep_mask) | (floor_bits & ~keep_mask);
  float clamped;
  memcpy(&clamped, &t_bits, sizeof clamped);
  float e = porta_cpu_exp2parts(clamped, 0.0f);
  memcpy(&bits, &e, sizeof bits);
  bits = (bits & keep_mask) | (0x7fc00000u & nan_mask);
  memcpy(&e, &bits, sizeof e);
  return e;
}

/* The standard normal's cdf Φ(x) and pdf φ(x), from erfc(a) = exp(-a²)·P(q)/(1 + 2a) with
 * a = |x|/√2 and q = (a - 2)/(a + 2) ∈ [-1, 1): P is a degree-9 fit (relative error 1e-8 of
 * exp(a²)·erfc(a)·(1 + 2a) over a ∈ [0, 9.5], weighted least squares against mpmath). Φ of a
 * negative x is computed directly as erfc(a)/2, never as 1 - something: no cancellation in the
 * tail. Beyond |x| = 12.7 (a = 9) the tail is below 1e-36 and is returned as 0. */
PORTA_CPU_INLINE void porta_cpu_normal_cdf_pdf(float x, float *cdf, float *pdf) {
  const float inv_sqrt2 = 0.70710678118654752f;
  const float inv_sqrt_2pi = 0.39894228040143268f;
  const uint32_t nine_bits = 0x41100000u; /* 9.0f */
  /* Selects by bit masks, not ternaries: GCC at -O2 -g leaves branches in those and the loops
   * around this would not vectorise. For non-negative floats the integer order is the float
   * order. NaN ends up clamped, and x·Φ(x) still returns NaN through x. */
  float scaled = x * inv_sqrt2;
  uint32_t xbits, abits;
  memcpy(&xbits, &scaled, sizeof xbits);
  abits = xbits & 0x7fffffffu;                            /* |x|/√2 */
  uint32_t far_mask = 0u - (uint32_t)(abits > nine_bits); /* all ones where a > 9 */
  abits = (abits & ~far_mask) | (nine_bits & far_mask);
  float a;
  memcpy(&a, &abits, sizeof a);
  float q = (a - 2.0f) / (a + 2.0f);
  float p = -0.00040754752643598277f;
  p = p * q + -0.0012419637454133096f;
  p = p * q + 0.0013144879862780953f;
  p = p * q + 0.008641264461791975f;
  p = p * q + -0.008058088407081268f;
  p = p * q + -0.05420672980202962f;
  p = p * q + 0.16405485506124076f;
  p = p * q + -0.1660312205385634f;
  p = p * q + -0.09276395572333401f;
  p = p * q + 1.276978390652254f;
  /* exp(-a²) with a = ah + al, ah = a's top 12 bits: ah² is exact, a² - ah² = al·(a + ah). */
  uint32_t ahbits = abits & 0xfffff000u;
  float ah;
  memcpy(&ah, &ahbits, sizeof ah);
  float e = porta_cpu_exp2parts(-(ah * ah), -((a - ah) * (a + ah)));
  uint32_t ebits;
  memcpy(&ebits, &e, sizeof ebits);
  ebits &= ~far_mask; /* 0 beyond a = 9 */
  memcpy(&e, &ebits, sizeof e);
  float tail = 0.5f * e * p / (1.0f + 2.0f * a); /* erfc(a)/2 = Φ(-|x|) */
  float upper = 1.0f - tail;
  uint32_t tail_bits, upper_bits;
  memcpy(&tail_bits, &tail, sizeof tail_bits);
  memcpy(&upper_bits, &upper, sizeof upper_bits);
  uint32_t negative_mask = 0u - (xbits >> 31); /* x < 0: the tail itself */
  uint32_t cdf_bits = (tail_bits & negative_mask) | (upper_bits & ~negative_mask);
  memcpy(cdf, &cdf_bits, sizeof cdf_bits);
  *pdf = inv_sqrt_2pi * e;
}

#endif /* PORTA_CPU_MATH_H */
