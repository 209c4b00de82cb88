/* SPDX-License-Identifier: MIT */
/*
 * sm_hash: a fast 64-bit hash of bytes and strings, for the hash tables on
 * the write path (the repeat check, the queue's series), which hash every
 * value's identifier: eight bytes at a time, each word mixed with a
 * multiply and a fold (the 128-bit product's halves xor'ed), the tail read
 * without going past the end. Not for anything an attacker chooses keys
 * to collide (collectd's identifiers come from its own configuration).
 *
 * collectd-free; pure.
 */
#ifndef SM_HASH_H
#define SM_HASH_H 1

#include <stddef.h>
#include <stdint.h>

/* The hash of p[0..len), continuing from seed (0 to start). */
uint64_t sm_hash_bytes(uint64_t seed, const void *p, size_t len);

/* The hash of a NUL-terminated string and its end, so that ("ab", "c")
 * and ("a", "bc") hash differently when chained. */
uint64_t sm_hash_str(uint64_t seed, const char *s);

/* Mixes an integer into a hash. */
uint64_t sm_hash_u64(uint64_t seed, uint64_t v);

#endif /* SM_HASH_H */
