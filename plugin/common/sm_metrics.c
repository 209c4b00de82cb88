/* SPDX-License-Identifier: MIT */
/*
 * sm_metrics: the metric table (see sm_metrics.h).
 */
#include "sm_metrics.h"

#include <string.h>

/* InvocationsProcesssed is spelled with three s: that is the name
 * SageMaker publishes, and dashboards and alarms match it exactly. */
const sm_metric_t sm_metrics[] = {
    {"Invocation4XXErrors", "None", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_STATS,
     SM_S_4XX_ERRORS, "Average,Sum"},
    {"Invocation5XXErrors", "None", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_STATS,
     SM_S_5XX_ERRORS, "Average,Sum"},
    {"ModelLatency", "Microseconds", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_STATS,
     SM_S_MODEL_LATENCY, "Average,Sum,Min,Max,SampleCount"},
    {"ApproximateBacklogSize", "Count", SM_DIMS_ENDPOINT, SM_KIND_GAUGE,
     SM_G_BACKLOG_SIZE, "Average,Max,Min"},
    {"ApproximateBacklogSizePerInstance", "Count", SM_DIMS_ENDPOINT,
     SM_KIND_GAUGE, SM_G_BACKLOG_PER_INSTANCE, "Average,Max,Min"},
    {"ApproximateAgeOfOldestRequest", "Seconds", SM_DIMS_ENDPOINT,
     SM_KIND_GAUGE, SM_G_OLDEST_REQUEST_AGE, "Average,Max,Min"},
    {"RequestDownloadFailures", "Count", SM_DIMS_ENDPOINT_VARIANT,
     SM_KIND_COUNT, SM_C_DOWNLOAD_FAILURES, "Sum"},
    {"ResponseUploadFailures", "Count", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_COUNT,
     SM_C_UPLOAD_FAILURES, "Sum"},
    {"NotificationFailures", "Count", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_COUNT,
     SM_C_NOTIFICATION_FAILURES, "Sum"},
    {"RequestDownloadLatency", "Microseconds", SM_DIMS_ENDPOINT_VARIANT,
     SM_KIND_STATS, SM_S_DOWNLOAD_LATENCY, "Average,Sum,Min,Max,SampleCount"},
    {"ResponseUploadLatency", "Microseconds", SM_DIMS_ENDPOINT_VARIANT,
     SM_KIND_STATS, SM_S_UPLOAD_LATENCY, "Average,Sum,Min,Max,SampleCount"},
    {"ExpiredRequests", "Count", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_COUNT,
     SM_C_EXPIRED_REQUESTS, "Sum"},
    {"InvocationFailures", "Count", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_COUNT,
     SM_C_INVOCATION_FAILURES, "Sum"},
    {"InvocationsProcesssed", "Count", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_COUNT,
     SM_C_INVOCATIONS_PROCESSED, "Sum"},
    {"TimeInBacklog", "Microseconds", SM_DIMS_ENDPOINT_VARIANT, SM_KIND_STATS,
     SM_S_TIME_IN_BACKLOG, "Average,Sum,Min,Max,SampleCount"},
    {"TotalProcessingTime", "Milliseconds", SM_DIMS_ENDPOINT_VARIANT,
     SM_KIND_STATS, SM_S_TOTAL_PROCESSING_TIME,
     "Average,Sum,Min,Max,SampleCount"},
};
const size_t sm_metrics_num = sizeof(sm_metrics) / sizeof(sm_metrics[0]);

const char *const sm_metrics_never_async[] = {"OverheadLatency", "Invocations",
                                              "InvocationsPerInstance"};
const size_t sm_metrics_never_async_num =
    sizeof(sm_metrics_never_async) / sizeof(sm_metrics_never_async[0]);

const sm_metric_t *sm_metrics_find(const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < sm_metrics_num; i++)
    if (strcmp(sm_metrics[i].name, name) == 0)
      return &sm_metrics[i];
  return NULL;
}

int sm_metrics_is_timing(const sm_metric_t *m) {
  return m != NULL && m->kind == SM_KIND_STATS &&
         (strcmp(m->unit, "Microseconds") == 0 ||
          strcmp(m->unit, "Milliseconds") == 0 ||
          strcmp(m->unit, "Seconds") == 0);
}

const sm_metric_t *sm_metrics_by_index(sm_metric_kind_t kind, int index) {
  for (size_t i = 0; i < sm_metrics_num; i++)
    if (sm_metrics[i].kind == kind && sm_metrics[i].index == index)
      return &sm_metrics[i];
  return NULL;
}
