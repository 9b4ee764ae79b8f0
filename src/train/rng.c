/* xoshiro256** seeded through splitmix64 (Blackman & Vigna): a small, fast RNG whose output is
 * the same on every machine, for splits and data order. Never rand(). */
#include "porta/porta.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void porta_rng_seed(porta_rng *rng, uint64_t seed) {
  uint64_t state = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&state);
}

uint64_t porta_rng_next(porta_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t porta_rng_below(porta_rng *rng, uint64_t n) {
  if (n <= 1) return 0;
  // reject the top sliver of values so every residue is equally likely
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do {
    x = porta_rng_next(rng);
  } while (x >= limit);
  return x % n;
}

void porta_rng_shuffle_i64(porta_rng *rng, int64_t *items, int64_t count) {
  for (int64_t i = count - 1; i > 0; i--) {
    int64_t j = (int64_t)porta_rng_below(rng, (uint64_t)i + 1);
    int64_t tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
}
