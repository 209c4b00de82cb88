/* SPDX-License-Identifier: MIT */
/*
 * cw_dedup: remembers which (series, time) pairs a writer has already
 * taken, so that a value collectd hands over twice is published once.
 *
 * collectd 5.12 passes repeated and out-of-order values of a series to
 * writers (with several write threads, about 0.1% of values under load).
 * A repeat is the same identifier with the same time; an out-of-order
 * value has a time not seen before and is taken. Each series keeps its
 * last CW_DEDUP_WINDOW times; series not seen for max_age are forgotten.
 *
 * collectd-free; not thread-safe (the caller locks).
 */
#ifndef CW_DEDUP_H
#define CW_DEDUP_H 1

#include <stddef.h>
#include <stdint.h>

/* Times remembered per series: a repeat arrives within a few values of
 * the original. */
#define CW_DEDUP_WINDOW 16

typedef struct cw_dedup_s cw_dedup_t;

cw_dedup_t *cw_dedup_create(void);
void cw_dedup_destroy(cw_dedup_t *d);

/* Returns 1 if (id, time) is new (and remembers it), 0 if it was seen
 * before, -1 when out of memory (the caller should take the value). */
int cw_dedup_check(cw_dedup_t *d, const char *id, uint64_t time, uint64_t now);

/* The hash of id that cw_dedup_check_hashed takes: a pure function, so
 * that the caller may compute it before taking its lock. */
uint64_t cw_dedup_hash(const char *id);
int cw_dedup_check_hashed(cw_dedup_t *d, const char *id, uint64_t hash,
                          uint64_t time, uint64_t now);

/* Forgets series whose last value is older than now - max_age. */
void cw_dedup_expire(cw_dedup_t *d, uint64_t now, uint64_t max_age);

size_t cw_dedup_series(const cw_dedup_t *d);

#endif /* CW_DEDUP_H */
