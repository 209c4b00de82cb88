/* SPDX-License-Identifier: MIT */
/*
 * sm_agg: exact per-interval aggregation of the runtime's request records
 * into the SageMaker counts and statistic sets (the mapping table of
 * runtime-api.md), and, once sm_agg_enable_sketches() is called, a sketch
 * per timing metric for its percentiles. The read plugin keeps one per
 * page being staged and one per interval, and merges them exactly.
 * Without sketches it is a plain struct that needs no cleanup.
 */
#ifndef SM_AGG_H
#define SM_AGG_H 1

#include <stdint.h>

#include "runtime_parse.h"
#include "sm_metrics.h"
#include "sm_sketch.h"

/* Count, sum, min and max of a set of samples. With count 0, sum is 0 and
 * min and max are NaN. Sums are doubles: exact for integer samples while
 * the sum stays below 2^53 (285 years of microseconds). */
typedef struct {
  uint64_t count;
  double sum;
  double min;
  double max;
} sm_stat_t;

void sm_stat_reset(sm_stat_t *s);
void sm_stat_add(sm_stat_t *s, double v);
void sm_stat_merge(sm_stat_t *dst, const sm_stat_t *src);

typedef struct {
  uint64_t records;           /* records aggregated */
  uint64_t counts[SM_C_NUM];  /* indexed by SM_C_* */
  sm_stat_t stats[SM_S_NUM];  /* indexed by SM_S_* */
  sm_sketch_t *sketch[SM_S_NUM]; /* timings only; NULL when not enabled */
} sm_agg_t;

/* Clears the counts, statistics and sketches (the sketches stay
 * allocated). A zeroed sm_agg_t is a valid argument. */
void sm_agg_reset(sm_agg_t *a);

/* Gives every timing metric (sm_metric_is_timing) a sketch of that
 * accuracy and size. Returns 0, or -1 when out of memory or the accuracy
 * is out of range (then no sketch is kept). */
int sm_agg_enable_sketches(sm_agg_t *a, double accuracy, size_t max_buckets);

/* Frees the sketches. */
void sm_agg_free_sketches(sm_agg_t *a);
void sm_agg_add_record(sm_agg_t *a, const sm_rt_record_t *rec);
void sm_agg_merge(sm_agg_t *dst, const sm_agg_t *src);

/* Whether a record is a failed or expired request (one data-log line and
 * one notification each). */
int sm_agg_record_failed(const sm_rt_record_t *rec);

/* The stage a failed record failed in: "queue" (expired), "download",
 * "model", "upload", "runtime"; NULL for a success. */
const char *sm_agg_failed_stage(const sm_rt_record_t *rec);

#endif /* SM_AGG_H */
