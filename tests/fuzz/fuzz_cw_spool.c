/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the spool's readers. Any bytes are a spool file
 * (cw_spool_decode: header, length, CRC, gzip) and, when that holds, its
 * body is read back as its kind says: a PutMetricData body
 * (cw_decode_metrics) or a PutLogEvents body (cw_stream_logs_decode).
 * Since a fuzzer seldom forges a CRC and a gzip stream, the bytes are also
 * read directly as a body of either kind, and as a PutLogEvents answer
 * (cw_stream_logs_rejected, for batches of a few sizes).
 *
 * Checked: a refusal always says why; a decoded header has a known kind,
 * its destination and at most CW_SPOOL_MAX_ITEMS items, a body within
 * CW_SPOOL_MAX_BODY; a datum carries what a datum needs; a log event has
 * a timestamp of 0 or more and a message of 1 to CW_LOGS_MAX_MESSAGE
 * bytes, at most CW_LOGS_MAX_EVENTS of them, as many as the count
 * returned, with names of at most CW_LOGS_MAX_NAME bytes; refused events
 * are counted once each, never more than the batch.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cw_datum.h"
#include "cw_decode.h"
#include "cw_logs.h"
#include "cw_spool.h"
#include "cw_stream_logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_datum(const cw_datum_t *d, void *ud) {
  (void)ud;
  if (d->metric_name == NULL || d->num_dims > CW_MAX_DIMENSIONS ||
      (d->num_dims > 0 && d->dims == NULL) ||
      (d->kind == CW_KIND_VALUES && (d->values == NULL || d->num_values == 0 ||
                                     d->num_values > CW_MAX_VALUES)))
    abort();
  for (size_t i = 0; i < d->num_dims; i++)
    if (d->dims[i].name == NULL || d->dims[i].value == NULL)
      abort();
  return 0;
}

static int check_event(int64_t ts, const char *message, size_t len, void *ud) {
  long *n = ud;
  if (ts < 0 || message == NULL || len == 0 || len > CW_LOGS_MAX_MESSAGE ||
      message[len] != 0)
    abort();
  (*n)++;
  return 0;
}

static void metrics_body(const char *b, size_t len) {
  char err[256], ns[300];
  err[0] = 0;
  if (cw_decode_metrics(b, len, ns, sizeof(ns), check_datum, NULL, err,
                        sizeof(err)) < 0 &&
      err[0] == 0)
    abort();
}

static void logs_body(const char *b, size_t len) {
  char err[256], group[CW_LOGS_MAX_NAME + 1], stream[CW_LOGS_MAX_NAME + 1];
  long seen = 0, n;

  err[0] = 0;
  n = cw_stream_logs_decode(b, len, group, stream, check_event, &seen, err,
                            sizeof(err));
  if (n < 0 && err[0] == 0)
    abort();
  if (n >= 0 &&
      (n != seen || n == 0 || n > CW_LOGS_MAX_EVENTS ||
       strlen(group) > CW_LOGS_MAX_NAME || strlen(stream) > CW_LOGS_MAX_NAME))
    abort();
}

static void answer(const char *b, size_t len) {
  static const size_t sizes[] = {0, 1, 7, CW_LOGS_MAX_EVENTS};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i], old = 0, expired = 0, new_ = 0;
    size_t r = cw_stream_logs_rejected(b, len, n, &old, &expired, &new_);
    size_t prefix = old > expired ? old : expired;
    if (r > n || old > n || expired > n || new_ > n || r < prefix || r < new_ ||
        r > prefix + new_)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256], dest[CW_SPOOL_DEST_MAX + 1], *b = NULL, *text;
  size_t len = 0;
  cw_spool_batch_t info;

  err[0] = 0;
  if (cw_spool_decode(data, size, &b, &len, &info, dest, sizeof(dest), err,
                      sizeof(err)) == 0) {
    if (b == NULL || b[len] != 0 || len > CW_SPOOL_MAX_BODY ||
        info.kind >= CW_SPOOL_KINDS || info.dest != dest ||
        info.items > CW_SPOOL_MAX_ITEMS || info.size != size)
      abort();
    if (info.kind == CW_SPOOL_METRICS)
      metrics_body(b, len);
    else
      logs_body(b, len);
    free(b);
  } else if (err[0] == 0 || b != NULL) {
    abort();
  }
  text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  metrics_body(text, size);
  logs_body(text, size);
  answer(text, size);
  free(text);
  return 0;
}
