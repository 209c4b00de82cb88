/* SPDX-License-Identifier: MIT */
/*
 * sm_hash: the same bytes hash the same whatever their alignment; every
 * length from 0 to 64 and every byte counts; chained strings keep their
 * boundaries; on 200,000 identifiers like collectd's, no two collide and
 * the low bits (the hash tables' slots) spread evenly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_hash.h"
#include "tap.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  char buf[128], shifted[136];
  int ok;

  for (size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (char)('a' + i % 26);
  ok = 1;
  for (size_t len = 0; len <= 64; len++)
    for (size_t off = 1; off < 8; off++) {
      memcpy(shifted + off, buf, len);
      if (sm_hash_bytes(7, shifted + off, len) != sm_hash_bytes(7, buf, len))
        ok = 0;
    }
  T_OK(ok, "the same bytes at any alignment hash the same");
  ok = 1;
  for (size_t len = 1; len <= 64; len++) {
    uint64_t h = sm_hash_bytes(0, buf, len);
    if (h == sm_hash_bytes(0, buf, len - 1))
      ok = 0;
    for (size_t i = 0; i < len; i++) {
      buf[i] ^= 1;
      if (sm_hash_bytes(0, buf, len) == h)
        ok = 0;
      buf[i] ^= 1;
    }
  }
  T_OK(ok, "each length and each bit of each byte changes the hash");
  T_OK(sm_hash_str(sm_hash_str(0, "ab"), "c") !=
           sm_hash_str(sm_hash_str(0, "a"), "bc"),
       "chained strings keep their boundaries");
  T_OK(sm_hash_bytes(1, buf, 10) != sm_hash_bytes(2, buf, 10),
       "the seed counts");
  T_OK(sm_hash_u64(5, 1) != sm_hash_u64(5, 2), "integers mix in");
  {
    enum { N = 200000, SLOTS = 1 << 16 };
    uint64_t *h = malloc(N * sizeof(*h));
    unsigned *slots = calloc(SLOTS, sizeof(*slots));
    size_t dups = 0, max = 0;
    for (size_t i = 0; i < N; i++) {
      char id[96];
      snprintf(id, sizeof(id), "ip-10-0-%zu-%zu/load-%zu/gauge-series%05zu",
               i % 7, i % 11, i % 16, i);
      h[i] = sm_hash_str(0, id);
      slots[h[i] & (SLOTS - 1)]++;
    }
    qsort(h, N, sizeof(*h), cmp_u64);
    for (size_t i = 1; i < N; i++)
      dups += h[i] == h[i - 1];
    for (size_t i = 0; i < SLOTS; i++)
      if (slots[i] > max)
        max = slots[i];
    T_EQ_INT(dups, 0, "200,000 identifiers: no two hash the same");
    /* About 3 a slot; a fair spread keeps every slot under 20. */
    T_OK(max < 20, "their low 16 bits spread evenly (fullest slot: %zu)", max);
    free(h);
    free(slots);
  }
  return t_done();
}
