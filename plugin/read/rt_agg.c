/* SPDX-License-Identifier: MIT */
/*
 * rt_agg: per-interval aggregation (see rt_agg.h).
 */
#include "rt_agg.h"

#include <math.h>
#include <stdlib.h>

void rt_agg_reset(rt_agg_t *a) {
  a->records = 0;
  for (int i = 0; i < SM_C_NUM; i++)
    a->counts[i] = 0;
  for (int i = 0; i < SM_S_NUM; i++) {
    sm_stat_reset(&a->stats[i]);
    if (a->sketch[i] != NULL)
      sm_sketch_reset(a->sketch[i]);
    a->samples_num[i] = 0;
  }
}

void rt_agg_free_sketches(rt_agg_t *a) {
  for (int i = 0; i < SM_S_NUM; i++) {
    sm_sketch_destroy(a->sketch[i]);
    a->sketch[i] = NULL;
  }
}

int rt_agg_enable_sketches(rt_agg_t *a, double accuracy, size_t max_buckets) {
  rt_agg_free_sketches(a);
  for (int i = 0; i < SM_S_NUM; i++) {
    if (!sm_metrics_is_timing(sm_metrics_by_index(SM_KIND_STATS, i)))
      continue;
    a->sketch[i] = sm_sketch_create(accuracy, max_buckets);
    if (a->sketch[i] == NULL) {
      rt_agg_free_sketches(a);
      return -1;
    }
  }
  return 0;
}

void rt_agg_free_samples(rt_agg_t *a) {
  for (int i = 0; i < SM_S_NUM; i++) {
    free(a->samples[i]);
    a->samples[i] = NULL;
    a->samples_num[i] = 0;
  }
  a->samples_max = 0;
}

int rt_agg_keep_samples(rt_agg_t *a, size_t max_records) {
  rt_agg_free_samples(a);
  if (max_records == 0)
    return -1;
  for (int i = 0; i < SM_S_NUM; i++) {
    if (!sm_metrics_is_timing(sm_metrics_by_index(SM_KIND_STATS, i)))
      continue;
    a->samples[i] = calloc(max_records, sizeof(*a->samples[i]));
    if (a->samples[i] == NULL) {
      rt_agg_free_samples(a);
      return -1;
    }
  }
  a->samples_max = max_records;
  return 0;
}

/* A timing sample: into the statistic set, and the sketch or the kept
 * samples if any (a record adds at most one sample to each timing, and
 * rt_agg_add_record() takes at most samples_max records). */
static inline void timing_add(rt_agg_t *a, int i, double v) {
  sm_stat_add(&a->stats[i], v);
  if (a->sketch[i] != NULL)
    sm_sketch_add(a->sketch[i], v);
  else if (a->samples[i] != NULL)
    a->samples[i][a->samples_num[i]++] = v;
}

const char *rt_agg_failed_stage(const rt_record_t *rec) {
  switch (rec->outcome) {
  case RT_OUTCOME_SUCCESS:
    return NULL;
  case RT_OUTCOME_EXPIRED:
    return "queue";
  case RT_OUTCOME_DOWNLOAD_FAILED:
    return "download";
  case RT_OUTCOME_MODEL_ERROR:
  case RT_OUTCOME_TIMEOUT:
    return "model";
  case RT_OUTCOME_UPLOAD_FAILED:
    return "upload";
  case RT_OUTCOME_INTERNAL_ERROR:
  case RT_OUTCOME_COUNT:
    break;
  }
  return "runtime";
}

/* The mapping table of runtime-api.md, one line of it per statement. */
int rt_agg_add_record(rt_agg_t *a, const rt_record_t *rec) {
  int expired = rec->outcome == RT_OUTCOME_EXPIRED;

  if (a->samples_max != 0 && a->records >= a->samples_max)
    return -1;
  a->records++;
  if (expired)
    a->counts[SM_C_EXPIRED_REQUESTS]++;
  else
    a->counts[SM_C_INVOCATIONS_PROCESSED]++;
  if (!expired && rec->outcome != RT_OUTCOME_SUCCESS)
    a->counts[SM_C_INVOCATION_FAILURES]++;
  if ((rec->have & RT_HAVE_DOWNLOAD_OK) && !rec->download_ok)
    a->counts[SM_C_DOWNLOAD_FAILURES]++;
  if ((rec->have & RT_HAVE_UPLOAD_OK) && !rec->upload_ok)
    a->counts[SM_C_UPLOAD_FAILURES]++;
  if (rec->notification == RT_NOTIFY_FAILED)
    a->counts[SM_C_NOTIFICATION_FAILURES]++;

  if (rec->have & RT_HAVE_STATUS_CODE) {
    int cls = rec->status_code / 100;
    sm_stat_add(&a->stats[SM_S_4XX_ERRORS], cls == 4 ? 1.0 : 0.0);
    sm_stat_add(&a->stats[SM_S_5XX_ERRORS], cls == 5 ? 1.0 : 0.0);
  }
  if (rec->have & RT_HAVE_MODEL_US)
    timing_add(a, SM_S_MODEL_LATENCY, (double)rec->model_us);
  if (rec->have & RT_HAVE_DOWNLOAD_US)
    timing_add(a, SM_S_DOWNLOAD_LATENCY, (double)rec->download_us);
  if (rec->have & RT_HAVE_UPLOAD_US)
    timing_add(a, SM_S_UPLOAD_LATENCY, (double)rec->upload_us);
  if (!expired) {
    timing_add(a, SM_S_TIME_IN_BACKLOG, (double)rec->backlog_us);
    timing_add(a, SM_S_TOTAL_PROCESSING_TIME, (double)rec->total_ms);
  }
  return 0;
}

void rt_agg_merge(rt_agg_t *dst, const rt_agg_t *src) {
  dst->records += src->records;
  for (int i = 0; i < SM_C_NUM; i++)
    dst->counts[i] += src->counts[i];
  for (int i = 0; i < SM_S_NUM; i++) {
    sm_stat_merge(&dst->stats[i], &src->stats[i]);
    if (dst->sketch[i] == NULL)
      continue;
    if (src->sketch[i] != NULL)
      sm_sketch_merge(dst->sketch[i], src->sketch[i]);
    else if (src->samples[i] != NULL)
      sm_sketch_add_many(dst->sketch[i], src->samples[i], src->samples_num[i]);
  }
}
