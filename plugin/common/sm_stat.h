/* SPDX-License-Identifier: MIT */
/*
 * sm_stat: the count, sum, minimum and maximum of a set of samples, what a
 * CloudWatch statistic set holds. The read plugin keeps one per timing and
 * interval, and every sketch keeps one beside its buckets.
 *
 * With count 0, sum is 0 and min and max are NaN. Sums are doubles: exact
 * for integer samples while the sum stays below 2^53 (285 years of
 * microseconds). sm_stat_add is inline: it runs for every sample.
 */
#ifndef SM_STAT_H
#define SM_STAT_H 1

#include <math.h>
#include <stdint.h>

typedef struct {
  uint64_t count;
  double sum;
  double min;
  double max;
} sm_stat_t;

void sm_stat_reset(sm_stat_t *s);

static inline void sm_stat_add(sm_stat_t *s, double v) {
  if (s->count == 0) {
    s->min = v;
    s->max = v;
  } else if (v < s->min)
    s->min = v;
  else if (v > s->max)
    s->max = v;
  s->count++;
  s->sum += v;
}

/* Adds src's samples to dst's. */
void sm_stat_merge(sm_stat_t *dst, const sm_stat_t *src);

#endif /* SM_STAT_H */
