/* SPDX-License-Identifier: MIT */
/*
 * cw_stream_metrics: the PutMetricData stream of the delivery pipeline
 * (cw_pipeline.h): batches of a cw_queue's ready datums encoded with
 * cw_encode (AWS JSON 1.0, at most 1000 datums and max_bytes per
 * request), and spooled bodies read back with cw_decode and merged into
 * full requests of their own namespace. One per namespace a block sends
 * to (its Namespace, and HostMetricsNamespace).
 *
 * collectd-free; used on the pipeline's sender side only, and its queue
 * under the pipeline's lock.
 */
#ifndef CW_STREAM_METRICS_H
#define CW_STREAM_METRICS_H 1

#include <stddef.h>

#include "cw_pipeline.h"
#include "cw_queue.h"

/* CloudWatch's PutMetricData, AWS JSON 1.0. */
#define CW_STREAM_METRICS_SERVICE "monitoring"
#define CW_STREAM_METRICS_TARGET_PREFIX "GraniteServiceVersion20100801."
#define CW_STREAM_METRICS_CONTENT_TYPE "application/x-amz-json-1.0"

typedef struct cw_stream_metrics_s cw_stream_metrics_t;

/* An adapter for queue q (not owned) and namespace ns, with requests of at
 * most max_bytes (0: CW_ENCODE_DEFAULT_MAX_BYTES). NULL with a line in
 * err. */
cw_stream_metrics_t *cw_stream_metrics_create(cw_queue_t *q, const char *ns,
                                              size_t max_bytes, char *err,
                                              size_t err_size);
void cw_stream_metrics_destroy(cw_stream_metrics_t *m);

/* Fills s with the adapter's callbacks and names; the caller sets the
 * endpoint, region, compression and rate (and name, when not "metrics"). */
void cw_stream_metrics_describe(cw_stream_metrics_t *m,
                                cw_pipeline_stream_t *s);

#endif /* CW_STREAM_METRICS_H */
