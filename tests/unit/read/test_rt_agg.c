/* SPDX-License-Identifier: MIT */
/*
 * rt_agg: the mapping table of runtime-api.md applied to records of every
 * outcome, and exact merging.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_agg.h"
#include "rt_test_util.h"
#include "tap.h"

static void test_stat(void) {
  sm_stat_t a, b;
  sm_stat_reset(&a);
  T_EQ_INT(a.count, 0, "empty count");
  T_OK(isnan(a.min) && isnan(a.max), "empty min/max are NaN");
  sm_stat_add(&a, 5);
  sm_stat_add(&a, -2);
  sm_stat_add(&a, 9);
  T_EQ_INT(a.count, 3, "count");
  T_EQ_DBL(a.sum, 12, "sum");
  T_EQ_DBL(a.min, -2, "min");
  T_EQ_DBL(a.max, 9, "max");
  sm_stat_reset(&b);
  sm_stat_merge(&b, &a);
  T_EQ_DBL(b.min, -2, "merge into empty: min");
  T_EQ_DBL(b.max, 9, "merge into empty: max");
  sm_stat_reset(&b);
  sm_stat_merge(&a, &b);
  T_EQ_INT(a.count, 3, "merging an empty set changes nothing");
  T_EQ_DBL(a.min, -2, "merging an empty set keeps min");
}

static void test_mapping(void) {
  /* The statistic sets of the records below, from rec()'s values: seq 1
   * success (200), 2 model_error (400), 3 download_failed, 4 upload_failed
   * (200), 5 expired, 6 timeout, 7 internal_error. */
  static const struct {
    int k;
    int64_t count;
    double sum, min, max;
    const char *what;
  } stats[] = {
      {SM_S_MODEL_LATENCY, 5, 5001 + 5002 + 5004 + 5006 + 5007, 5001, 5007,
       "model latency: past the download"},
      {SM_S_DOWNLOAD_LATENCY, 6, 101 + 102 + 103 + 104 + 106 + 107, 101, 107,
       "download: not expired"},
      {SM_S_UPLOAD_LATENCY, 3, 301 + 302 + 304, 301, 304,
       "upload: past the model"},
      {SM_S_TIME_IN_BACKLOG, 6, 1000.0 * (1 + 2 + 3 + 4 + 6 + 7), 1000, 7000,
       "backlog time: not expired"},
      {SM_S_TOTAL_PROCESSING_TIME, 6, 10.0 * (1 + 2 + 3 + 4 + 6 + 7), 10, 70,
       "total time: not expired"},
      {SM_S_4XX_ERRORS, 3, 1, 0, 1, "4xx: a sample per status, 400 once"},
      {SM_S_5XX_ERRORS, 3, 0, 0, 0, "5xx: a sample per status, none"},
  };
  rt_agg_t a = {0};
  rt_record_t r;

  rt_agg_reset(&a);
  for (int o = 0; o < RT_OUTCOME_COUNT; o++) {
    r = rec(o + 1, (rt_outcome_t)o);
    rt_agg_add_record(&a, &r);
  }
  /* seq 1 success(200), 2 model_error(500: seq 2 % 2 = 0 -> 400), ... */
  T_EQ_INT(a.records, 7, "records");
  T_EQ_INT(a.counts[SM_C_INVOCATIONS_PROCESSED], 6, "processed: not expired");
  T_EQ_INT(a.counts[SM_C_EXPIRED_REQUESTS], 1, "expired");
  T_EQ_INT(a.counts[SM_C_INVOCATION_FAILURES], 5,
           "failures: neither success nor expired");
  T_EQ_INT(a.counts[SM_C_DOWNLOAD_FAILURES], 1, "download failures");
  T_EQ_INT(a.counts[SM_C_UPLOAD_FAILURES], 1, "upload failures");
  T_EQ_INT(a.counts[SM_C_NOTIFICATION_FAILURES], 0, "notification failures");
  /* Each statistic set whole: the table above. */
  for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
    const sm_stat_t *st = &a.stats[stats[i].k];
    char m[4][96];
    snprintf(m[0], sizeof(m[0]), "%s: count", stats[i].what);
    snprintf(m[1], sizeof(m[1]), "%s: sum", stats[i].what);
    snprintf(m[2], sizeof(m[2]), "%s: min", stats[i].what);
    snprintf(m[3], sizeof(m[3]), "%s: max", stats[i].what);
    T_EQ_INT(st->count, stats[i].count, m[0]);
    T_EQ_DBL(st->sum, stats[i].sum, m[1]);
    T_EQ_DBL(st->min, stats[i].min, m[2]);
    T_EQ_DBL(st->max, stats[i].max, m[3]);
  }

  r = rec(9, RT_OUTCOME_MODEL_ERROR); /* 500 */
  r.notification = RT_NOTIFY_FAILED;
  rt_agg_add_record(&a, &r);
  T_EQ_DBL(a.stats[SM_S_5XX_ERRORS].sum, 1, "5xx counted");
  T_EQ_INT(a.counts[SM_C_NOTIFICATION_FAILURES], 1, "notification failure");

  T_OK(rt_agg_failed_stage(&r) != NULL &&
           strcmp(rt_agg_failed_stage(&r), "model") == 0,
       "model_error fails in the model stage");
  r = rec(1, RT_OUTCOME_SUCCESS);
  T_OK(rt_agg_failed_stage(&r) == NULL && !rt_agg_record_failed(&r),
       "success is not failed");
  r = rec(1, RT_OUTCOME_EXPIRED);
  T_OK(rt_agg_record_failed(&r), "expired gets a data-log line");
  T_EQ_STR(rt_agg_failed_stage(&r), "queue", "expired in the queue");
}

/* Splitting records into pages and merging gives the same as one pass. */
static void test_merge_equals_single_pass(void) {
  rt_agg_t whole = {0}, merged = {0}, part = {0};
  unsigned seed = 7;

  T_OK(rt_agg_enable_sketches(&whole, 0.01, 4096) == 0 &&
           rt_agg_enable_sketches(&merged, 0.01, 4096) == 0 &&
           rt_agg_enable_sketches(&part, 0.01, 4096) == 0,
       "sketches enabled");
  rt_agg_reset(&whole);
  rt_agg_reset(&merged);
  rt_agg_reset(&part);
  for (int i = 1; i <= 1000; i++) {
    rt_record_t r;
    seed = seed * 1103515245u + 12345u;
    r = rec(i, (rt_outcome_t)((seed >> 16) % RT_OUTCOME_COUNT));
    r.model_us = (seed >> 8) % 1000000;
    rt_agg_add_record(&whole, &r);
    rt_agg_add_record(&part, &r);
    if ((seed >> 20) % 17 == 0) {
      rt_agg_merge(&merged, &part);
      rt_agg_reset(&part);
    }
  }
  rt_agg_merge(&merged, &part);
  T_OK(memcmp(whole.counts, merged.counts, sizeof(whole.counts)) == 0,
       "counts merge exactly");
  for (int i = 0; i < SM_S_NUM; i++) {
    T_OK(whole.stats[i].count == merged.stats[i].count &&
             whole.stats[i].sum == merged.stats[i].sum &&
             whole.stats[i].min == merged.stats[i].min &&
             whole.stats[i].max == merged.stats[i].max,
         "statistic set %d merges exactly", i);
  }
  /* A sketch for each timing, and its statistics are the statistic set's. */
  for (int i = 0; i < SM_S_NUM; i++) {
    const sm_metric_t *m = sm_metrics_by_index(SM_KIND_STATS, i);
    const sm_sketch_t *k = merged.sketch[i];
    if (!sm_metrics_is_timing(m)) {
      T_OK(k == NULL, "%s: no sketch", m->name);
      continue;
    }
    T_OK(k != NULL && sm_sketch_stat(k)->count == merged.stats[i].count &&
             sm_sketch_stat(k)->sum == merged.stats[i].sum &&
             sm_sketch_stat(k)->min == merged.stats[i].min &&
             sm_sketch_stat(k)->max == merged.stats[i].max,
         "%s: the merged sketch holds the statistic set's %" PRIu64
         " samples, sum, min and max",
         m->name, merged.stats[i].count);
  }
  rt_agg_free_sketches(&whole);
  rt_agg_free_sketches(&merged);
  rt_agg_free_sketches(&part);
}

/* The same sketch: same statistics and flags, same buckets (the text
 * form writes them all). */
static bool same_sketch(const sm_sketch_t *a, const sm_sketch_t *b) {
  char *ta = sm_sketch_text_encode(a), *tb = sm_sketch_text_encode(b);
  bool same = ta != NULL && tb != NULL && strcmp(ta, tb) == 0 &&
              sm_sketch_collapsed(a) == sm_sketch_collapsed(b) &&
              sm_sketch_ok(a) == sm_sketch_ok(b);
  free(ta);
  free(tb);
  return same;
}

/* A page's kept samples, merged into an interval's sketches, give the
 * sketches that adding every sample to them one by one gives: lognormal
 * timings, zeros, a sample far above the rest (the array grows), a
 * negative one (refused by both), and with few buckets (folded). */
static void test_samples_into_sketches(size_t max_buckets, const char *how) {
  rt_agg_t direct = {0}, interval = {0}, page = {0};
  unsigned seed = 11;
  int pages = 0;

  T_OK(rt_agg_enable_sketches(&direct, 0.01, max_buckets) == 0 &&
           rt_agg_enable_sketches(&interval, 0.01, max_buckets) == 0 &&
           rt_agg_keep_samples(&page, 50) == 0,
       "%s: sketches, and samples for pages of 50 records", how);
  rt_agg_reset(&direct);
  rt_agg_reset(&interval);
  rt_agg_reset(&page);
  for (int i = 1; i <= 2000; i++) {
    rt_record_t r;
    double g = 0;
    seed = seed * 1103515245u + 12345u;
    r = rec(i, (rt_outcome_t)((seed >> 16) % RT_OUTCOME_COUNT));
    for (int k = 0; k < 12; k++) { /* about normal: lognormal timings */
      seed = seed * 1103515245u + 12345u;
      g += (double)((seed >> 8) & 0xffff) / 65536.0;
    }
    r.model_us = (int64_t)exp(10 + (g - 6));
    r.download_us = i % 97 == 0 ? 0 : r.model_us / 3;
    if (i == 1234)
      r.upload_us = INT64_C(1) << 50;
    if (i == 1500)
      r.backlog_us = -5;
    rt_agg_add_record(&direct, &r);
    if (rt_agg_add_record(&page, &r) != 0 || page.records == 50 || i == 2000) {
      rt_agg_merge(&interval, &page);
      rt_agg_reset(&page);
      pages++;
    }
  }
  T_OK(pages == 40, "%s: 40 pages merged (%d)", how, pages);
  T_OK(memcmp(direct.counts, interval.counts, sizeof(direct.counts)) == 0,
       "%s: counts", how);
  for (int i = 0; i < SM_S_NUM; i++) {
    const sm_metric_t *m = sm_metrics_by_index(SM_KIND_STATS, i);
    if (!sm_metrics_is_timing(m))
      continue;
    T_OK(direct.stats[i].count == interval.stats[i].count &&
             direct.stats[i].sum == interval.stats[i].sum,
         "%s: %s: statistic set", how, m->name);
    T_OK(same_sketch(direct.sketch[i], interval.sketch[i]),
         "%s: %s: the same sketch (%" PRIu64 " samples%s)", how, m->name,
         sm_sketch_stat(interval.sketch[i])->count,
         sm_sketch_collapsed(interval.sketch[i]) ? ", folded" : "");
  }
  T_OK(sm_sketch_collapsed(interval.sketch[SM_S_UPLOAD_LATENCY]) ==
           (max_buckets < 1000),
       "%s: the upload sketch is folded only with few buckets", how);
  rt_agg_free_sketches(&direct);
  rt_agg_free_sketches(&interval);
  rt_agg_free_samples(&page);
}

/* An aggregate that keeps samples takes as many records as it has room
 * for, and no more. */
static void test_samples_room(void) {
  rt_agg_t a = {0};
  rt_record_t r = rec(1, RT_OUTCOME_SUCCESS);

  T_EQ_INT(rt_agg_keep_samples(&a, 3), 0, "room for 3 records");
  rt_agg_reset(&a);
  for (int i = 0; i < 3; i++)
    T_OK(rt_agg_add_record(&a, &r) == 0, "record %d added", i + 1);
  T_EQ_INT(rt_agg_add_record(&a, &r), -1, "a fourth is refused");
  T_OK(a.records == 3 && a.stats[SM_S_MODEL_LATENCY].count == 3 &&
           a.samples_num[SM_S_MODEL_LATENCY] == 3,
       "  and not counted");
  T_OK(a.samples[SM_S_4XX_ERRORS] == NULL, "no samples kept for 4XX");
  rt_agg_reset(&a);
  T_EQ_INT(rt_agg_add_record(&a, &r), 0, "room again after a reset");
  rt_agg_free_samples(&a);
  T_OK(a.samples[SM_S_MODEL_LATENCY] == NULL && a.samples_max == 0, "freed");
}

int main(void) {
  test_stat();
  test_mapping();
  test_merge_equals_single_pass();
  test_samples_into_sketches(sm_sketch_buckets_for(0.01), "default buckets");
  test_samples_into_sketches(64, "64 buckets");
  test_samples_room();
  return t_done();
}
