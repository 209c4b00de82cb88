/* SPDX-License-Identifier: MIT */
/*
 * sm_stat: count, sum, minimum and maximum (see sm_stat.h).
 */
#include "sm_stat.h"

void sm_stat_reset(sm_stat_t *s) {
  s->count = 0;
  s->sum = 0;
  s->min = NAN;
  s->max = NAN;
}

void sm_stat_merge(sm_stat_t *dst, const sm_stat_t *src) {
  if (src->count == 0)
    return;
  if (dst->count == 0 || src->min < dst->min)
    dst->min = src->min;
  if (dst->count == 0 || src->max > dst->max)
    dst->max = src->max;
  dst->count += src->count;
  dst->sum += src->sum;
}
