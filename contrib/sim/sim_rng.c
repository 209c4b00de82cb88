/* SPDX-License-Identifier: MIT */
/*
 * sim_rng: the simulator's randomness, xoshiro256** seeded through
 * splitmix64, in independent streams (records, boot IDs, response framing)
 * derived from the one --seed, so that what one stream draws never shifts
 * another: the records stay the same however clients are answered.
 */
#include "sim.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  for (size_t i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl64(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl64(s[3], 45);
  return result;
}

double sim_rng_unit(struct sim_rng *r) {
  return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double sim_rng_open(struct sim_rng *r) {
  return ((double)(sim_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* The bias of the float route is far below 2^-40 for the small n used. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n) {
  return (uint64_t)(sim_rng_unit(r) * (double)n);
}

/* Box-Muller, one of the pair. */
double sim_rng_normal(struct sim_rng *r) {
  return sqrt(-2.0 * log(sim_rng_open(r))) * cos(WL_TAU * sim_rng_unit(r));
}

double sim_rng_lognormal(struct sim_rng *r, double median, double sigma) {
  return median * exp(sigma * sim_rng_normal(r));
}

void sim_rng_uuid(struct sim_rng *r, uint8_t id[16]) {
  uint64_t hi = sim_rng_next(r), lo = sim_rng_next(r);
  for (size_t i = 0; i < 8; i++) {
    id[i] = (uint8_t)(hi >> (56 - 8 * i));
    id[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
  }
  id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* looks like a version 4 UUID */
  id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}
