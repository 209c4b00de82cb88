/* SPDX-License-Identifier: MIT */
/*
 * cw_datalog: the endpoint data log's names and line format.
 *
 * SageMaker's platform log for an endpoint lives in the log group
 * /aws/sagemaker/Endpoints/<EndpointName>, stream
 * <VariantName>/<instance-id>/data-log, one line per request with its
 * inference ID. Our lines are JSON objects, one per event, keys in this
 * order, absent ones left out:
 *
 *   {"time":"2026-11-26T21:53:00.123Z","inference_id":"...",
 *    "outcome":"model_error","stage":"model","status_code":500,
 *    "error":"...","endpoint_name":"...","variant_name":"...",
 *    "instance_id":"...","boot_id":"...","seq":1043,
 *    "received":"2026-11-26T21:52:58.000Z"}
 *
 * JSON rather than key=value: the error text is free-form (quotes,
 * newlines, any UTF-8) and JSON's escaping is unambiguous, and CloudWatch
 * Logs Insights discovers the fields of JSON events by itself
 * ("fields inference_id, outcome | filter outcome != 'success'").
 *
 * collectd-free.
 */
#ifndef CW_DATALOG_H
#define CW_DATALOG_H 1

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t time_ms;          /* completion */
  int64_t received_ms;      /* -1: absent */
  const char *inference_id; /* required */
  const char *outcome;      /* required */
  const char *stage;        /* NULL for a success */
  int status_code;          /* 0: absent */
  const char *error;        /* NULL: absent */
  const char *endpoint_name;
  const char *variant_name;
  const char *instance_id;
  const char *boot_id; /* NULL: absent */
  int64_t seq;         /* 0: absent */
} cw_datalog_entry_t;

/* The line for an entry, malloc'ed (the caller frees), or NULL when a
 * required field is missing or memory runs out. */
char *cw_datalog_line(const cw_datalog_entry_t *e);

/* The line of an event whose instance is not known yet: e->instance_id is
 * ignored and CW_DATALOG_INSTANCE_MARK (a byte JSON text never holds
 * unescaped) stands where the member goes, until
 * cw_datalog_line_resolve() puts it there. */
#define CW_DATALOG_INSTANCE_MARK '\x01'
char *cw_datalog_line_pending(const cw_datalog_entry_t *e);
/* line[0..len) with its mark replaced by the instance_id member: the line
 * cw_datalog_line would have written. malloc'ed; NULL when line has no
 * mark or memory runs out. */
char *cw_datalog_line_resolve(const char *line, size_t len,
                              const char *instance_id);

/* "/aws/sagemaker/Endpoints/<endpoint>" and "<variant>/<instance>/data-log"
 * into buf. 0, or -1 if they do not fit or a name is empty. */
int cw_datalog_group(const char *endpoint, char *buf, size_t size);
int cw_datalog_stream(const char *variant, const char *instance_id, char *buf,
                      size_t size);

#endif /* CW_DATALOG_H */
