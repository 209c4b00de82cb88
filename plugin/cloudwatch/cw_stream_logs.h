/* SPDX-License-Identifier: MIT */
/*
 * cw_stream_logs: the PutLogEvents stream of the delivery pipeline
 * (cw_pipeline.h), for the endpoint data log: batches of a cw_logs_queue
 * (one log stream per request, chronological, within PutLogEvents'
 * limits), written in AWS JSON 1.1; the log group and stream created
 * before the first request to them (CreateLogGroup, CreateLogStream; one
 * that exists is not an error) and again when the service says they are
 * gone; events the service refuses inside an accepted answer
 * (rejectedLogEventsInfo) counted; spooled bodies read back and merged,
 * sorted by time, into full requests of their log stream.
 *
 * collectd-free; used on the pipeline's sender side only, and its queue
 * under the pipeline's lock.
 */
#ifndef CW_STREAM_LOGS_H
#define CW_STREAM_LOGS_H 1

#include <stddef.h>
#include <stdint.h>

#include "cw_logs.h"
#include "cw_pipeline.h"

/* CloudWatch Logs API reference: AWS JSON 1.1, target prefix
 * "Logs_20140328". */
#define CW_STREAM_LOGS_SERVICE "logs"
#define CW_STREAM_LOGS_TARGET_PREFIX "Logs_20140328."
#define CW_STREAM_LOGS_CONTENT_TYPE "application/x-amz-json-1.1"

typedef struct cw_stream_logs_s cw_stream_logs_t;

/* An adapter for queue q (not owned). NULL when out of memory. */
cw_stream_logs_t *cw_stream_logs_create(cw_logs_queue_t *q);
void cw_stream_logs_destroy(cw_stream_logs_t *l);

/* Fills s with the adapter's callbacks and names; the caller sets the
 * endpoint, region and rate. */
void cw_stream_logs_describe(cw_stream_logs_t *l, cw_pipeline_stream_t *s);

/* Log groups and streams this process created (not those found to exist). */
uint64_t cw_stream_logs_created(const cw_stream_logs_t *l);

/* Exposed for tests and the fuzz target: reads a PutLogEvents body back,
 * calling cb for each event (message valid during the call); the group
 * and stream go to group and stream (CW_LOGS_MAX_NAME + 1 bytes each).
 * The number of events, or -1 with a line in err. */
typedef int (*cw_stream_logs_event_cb)(int64_t timestamp_ms,
                                       const char *message, size_t len,
                                       void *ud);
long cw_stream_logs_decode(const char *body, size_t len, char *group,
                           char *stream, cw_stream_logs_event_cb cb, void *ud,
                           char *err, size_t err_size);

/* Exposed for tests and the fuzz target: the events of a batch of n that
 * a PutLogEvents answer's rejectedLogEventsInfo refused, counted once
 * each; *old, *expired and *new_ get the three ranges' sizes. */
size_t cw_stream_logs_rejected(const char *resp, size_t len, size_t n,
                               size_t *old, size_t *expired, size_t *new_);

#endif /* CW_STREAM_LOGS_H */
