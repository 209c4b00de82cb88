/* SPDX-License-Identifier: MIT */
/*
 * sm_hash: fast 64-bit hashing (see sm_hash.h).
 */
#include "sm_hash.h"

#include <string.h>

#define K0 0xa0761d6478bd642full
#define K1 0xe7037ed1a0b428dbull

/* The 128-bit product of a and b, its halves xor'ed. */
static uint64_t fold(uint64_t a, uint64_t b) {
#ifdef __SIZEOF_INT128__
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
  /* Without 128-bit integers: the product from 32-bit halves. */
  uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
  uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
  uint64_t lo = (mid << 32) | (uint32_t)ll;
  uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  return lo ^ hi;
#endif
}

static uint64_t load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

uint64_t sm_hash_bytes(uint64_t seed, const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = seed ^ K0;
  size_t n = len;

  while (n >= 8) {
    h = fold(h ^ load64(p), K1);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t tail = 0;
    memcpy(&tail, p, n);
    h = fold(h ^ tail, K1);
  }
  return fold(h ^ (uint64_t)len, K0);
}

uint64_t sm_hash_str(uint64_t seed, const char *s) {
  return sm_hash_bytes(seed, s, strlen(s));
}

uint64_t sm_hash_u64(uint64_t seed, uint64_t v) {
  return fold(seed ^ K0 ^ v, K1);
}
