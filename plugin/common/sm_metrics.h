/* SPDX-License-Identifier: MIT */
/*
 * sm_metrics: the SageMaker asynchronous-endpoint metric table, defined
 * once. The read plugin names what it dispatches from it; the write
 * plugin maps values back to CloudWatch names, units and dimensions with
 * it; tests check it against the reference metrics.tsv.
 *
 * Source: the "Monitor Asynchronous Endpoint" page of the SageMaker
 * developer guide (metric names, units, dimensions, valid statistics),
 * and runtime-api.md for how each is derived from the runtime.
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H 1

#include <stddef.h>

/* What the read plugin dispatches for a metric, and so the collectd type
 * of its value list (types.db): */
typedef enum {
  SM_KIND_GAUGE, /* "sagemaker_gauge": one sample from the snapshot */
  SM_KIND_COUNT, /* "sagemaker_count": requests in the interval */
  SM_KIND_STATS, /* "sagemaker_stats": count, sum, min, max of samples */
} sm_metric_kind_t;

typedef enum {
  SM_DIMS_ENDPOINT,         /* EndpointName */
  SM_DIMS_ENDPOINT_VARIANT, /* EndpointName, VariantName */
} sm_dims_t;

/* Indices of the gauges, counts and statistic sets within their kind. */
enum {
  SM_G_BACKLOG_SIZE,
  SM_G_BACKLOG_PER_INSTANCE,
  SM_G_OLDEST_REQUEST_AGE,
  SM_G_NUM
};
enum {
  SM_C_INVOCATIONS_PROCESSED,
  SM_C_EXPIRED_REQUESTS,
  SM_C_INVOCATION_FAILURES,
  SM_C_DOWNLOAD_FAILURES,
  SM_C_UPLOAD_FAILURES,
  SM_C_NOTIFICATION_FAILURES,
  SM_C_NUM
};
enum {
  SM_S_MODEL_LATENCY,
  SM_S_DOWNLOAD_LATENCY,
  SM_S_UPLOAD_LATENCY,
  SM_S_TIME_IN_BACKLOG,
  SM_S_TOTAL_PROCESSING_TIME,
  SM_S_4XX_ERRORS,
  SM_S_5XX_ERRORS,
  SM_S_NUM
};

typedef struct {
  const char *name;       /* CloudWatch metric name */
  const char *unit;       /* CloudWatch unit */
  sm_dims_t dims;         /* dimension set */
  sm_metric_kind_t kind;  /* how it travels through collectd */
  int index;              /* SM_G_*, SM_C_* or SM_S_* */
  const char *statistics; /* valid statistics, comma-separated */
} sm_metric_t;

extern const sm_metric_t sm_metrics[];
extern const size_t sm_metrics_num;

/* Metric names never published for asynchronous endpoints. */
extern const char *const sm_metrics_never_async[];
extern const size_t sm_metrics_never_async_num;

/* The entry with that CloudWatch name, or NULL. */
const sm_metric_t *sm_metrics_find(const char *name);

/* Whether a metric is a timing (a statistic set in a unit of time): the
 * metrics published with percentiles. */
int sm_metrics_is_timing(const sm_metric_t *m);

/* The entry of a kind and index, or NULL when out of range. */
const sm_metric_t *sm_metrics_by_index(sm_metric_kind_t kind, int index);

#endif /* SM_METRICS_H */
