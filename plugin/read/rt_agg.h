/* SPDX-License-Identifier: MIT */
/*
 * rt_agg: exact per-interval aggregation of the runtime's request records
 * into the SageMaker counts and statistic sets (the mapping table of
 * runtime-api.md), and, once rt_agg_enable_sketches() is called, a sketch
 * per timing metric for its percentiles. The read plugin keeps one per
 * page being staged and one per interval, and merges them exactly: the
 * page's keeps its timings' samples (rt_agg_keep_samples), which the
 * merge puts into the interval's sketches in one pass per timing.
 * Without sketches or samples it is a plain struct that needs no cleanup.
 */
#ifndef RT_AGG_H
#define RT_AGG_H 1

#include <stdint.h>

#include "rt_parser.h"
#include "sm_metrics.h"
#include "sm_sketch.h"
#include "sm_stat.h"

typedef struct {
  uint64_t records;              /* records aggregated */
  uint64_t counts[SM_C_NUM];     /* indexed by SM_C_* */
  sm_stat_t stats[SM_S_NUM];     /* indexed by SM_S_* */
  sm_sketch_t *sketch[SM_S_NUM]; /* timings only; NULL when not enabled */
  /* Each timing's samples in record order, when kept instead of a sketch
   * (rt_agg_keep_samples): room for samples_max each. */
  double *samples[SM_S_NUM];
  size_t samples_num[SM_S_NUM];
  size_t samples_max;
} rt_agg_t;

/* Clears the counts, statistics and sketches (the sketches stay
 * allocated). A zeroed rt_agg_t is a valid argument. */
void rt_agg_reset(rt_agg_t *a);

/* Gives every timing metric (sm_metrics_is_timing) a sketch of that
 * accuracy and size. Returns 0, or -1 when out of memory or the accuracy
 * is out of range (then no sketch is kept). */
int rt_agg_enable_sketches(rt_agg_t *a, double accuracy, size_t max_buckets);

/* Frees the sketches. */
void rt_agg_free_sketches(rt_agg_t *a);

/* Keeps every timing's samples, up to max_records records between two
 * resets, for rt_agg_merge() to put into the sketches of another
 * aggregate; for one without sketches of its own. Returns 0, or -1 when
 * out of memory (then nothing is kept). */
int rt_agg_keep_samples(rt_agg_t *a, size_t max_records);

/* Frees the samples' room. */
void rt_agg_free_samples(rt_agg_t *a);

/* Adds a record. Returns 0, or -1 when the aggregate keeps samples and
 * holds max_records records already (the record is not added). */
int rt_agg_add_record(rt_agg_t *a, const rt_record_t *rec);

/* Adds src's records to dst: counts and statistic sets, and into dst's
 * sketches src's sketches or kept samples. */
void rt_agg_merge(rt_agg_t *dst, const rt_agg_t *src);

/* Whether a record is a failed or expired request (one data-log line and
 * one notification each). Inline: asked of every record staged. */
static inline int rt_agg_record_failed(const rt_record_t *rec) {
  return rec->outcome != RT_OUTCOME_SUCCESS;
}

/* The stage a failed record failed in: "queue" (expired), "download",
 * "model", "upload", "runtime"; NULL for a success. */
const char *rt_agg_failed_stage(const rt_record_t *rec);

#endif /* RT_AGG_H */
