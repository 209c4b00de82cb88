/* SPDX-License-Identifier: MIT */
/*
 * cw_stream_metrics: PutMetricData batches (see cw_stream_metrics.h).
 */
#include "cw_stream_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_decode.h"
#include "cw_encode.h"

struct cw_stream_metrics_s {
  cw_queue_t *q;
  cw_encode_t *enc;
  char ns[CW_NAMESPACE_MAX + 1];
};

void cw_stream_metrics_destroy(cw_stream_metrics_t *m) {
  if (m == NULL)
    return;
  cw_encode_destroy(m->enc);
  free(m);
}

cw_stream_metrics_t *cw_stream_metrics_create(cw_queue_t *q, const char *ns,
                                              size_t max_bytes, char *err,
                                              size_t err_size) {
  cw_stream_metrics_t *m = calloc(1, sizeof(*m));

  if (m == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  if (max_bytes == 0 || max_bytes > CW_ENCODE_MAX_BYTES)
    max_bytes = CW_ENCODE_DEFAULT_MAX_BYTES;
  m->q = q;
  snprintf(m->ns, sizeof(m->ns), "%s", ns);
  m->enc = cw_encode_create(ns, CW_ENCODE_MAX_DATUMS, max_bytes, err, err_size);
  if (m->enc == NULL) {
    free(m);
    return NULL;
  }
  return m;
}

static bool too_old(const cw_datum_t *d, double now) {
  return d->timestamp < now - CW_TIMESTAMP_MAX_AGE;
}

static void seal(void *ud) {
  cw_stream_metrics_t *m = ud;
  cw_queue_seal(m->q);
}

static size_t queued(void *ud) {
  cw_stream_metrics_t *m = ud;
  return cw_queue_size(m->q);
}

/* The oldest ready datums, as many as a request takes. A datum at the
 * front that has grown too old, or that cannot be encoded, is dropped
 * (counted in b) so that it does not block the queue. */
static size_t claim(void *ud, cw_batch_t *b, double now) {
  cw_stream_metrics_t *m = ud;
  const cw_datum_t *d;
  size_t n = 0;

  cw_encode_set_namespace(m->enc, m->ns, NULL, 0);
  snprintf(b->dest, sizeof(b->dest), "%s", m->ns);
  while ((d = cw_queue_ready_get(m->q, n)) != NULL) {
    cw_encode_result_t r;
    if (n == 0 && too_old(d, now)) {
      cw_queue_claim(m->q, 1);
      cw_queue_release(m->q, 1);
      b->expired++;
      continue;
    }
    r = cw_encode_add(m->enc, d);
    if (r == CW_ENCODE_ADDED) {
      if (n == 0 || d->timestamp < b->oldest)
        b->oldest = d->timestamp;
      n++;
      continue;
    }
    if (r == CW_ENCODE_FULL || r == CW_ENCODE_NOMEM || n > 0)
      break;
    /* The front datum can never be sent (validation should have stopped
     * it). */
    cw_queue_claim(m->q, 1);
    cw_queue_release(m->q, 1);
    b->invalid++;
    cw_encode_reset(m->enc);
  }
  b->items = cw_queue_claim(m->q, n);
  return b->items;
}

static void release(void *ud, int done) {
  cw_stream_metrics_t *m = ud;
  cw_queue_release(m->q, done);
}

static int begin(void *ud, const char *dest) {
  cw_stream_metrics_t *m = ud;
  return cw_encode_set_namespace(m->enc, dest, NULL, 0);
}

typedef struct {
  cw_stream_metrics_t *m;
  double now;
  size_t added, expired;
  double oldest;
  cw_encode_result_t refused; /* why the encoder stopped, else ADDED */
} merge_t;

static int merge_datum(const cw_datum_t *d, void *ud) {
  merge_t *x = ud;
  cw_encode_result_t r;

  if (too_old(d, x->now)) {
    x->expired++;
    return 0;
  }
  r = cw_encode_add(x->m->enc, d);
  if (r != CW_ENCODE_ADDED) {
    x->refused = r;
    return 1;
  }
  if (x->added == 0 || d->timestamp < x->oldest)
    x->oldest = d->timestamp;
  x->added++;
  return 0;
}

static int merge(void *ud, cw_batch_t *b, const char *body, size_t len,
                 double now, char *err, size_t err_size) {
  cw_stream_metrics_t *m = ud;
  cw_encode_mark_t mark = cw_encode_mark(m->enc);
  merge_t x = {.m = m, .now = now, .refused = CW_ENCODE_ADDED};
  char ns[CW_NAMESPACE_MAX + 1] = "", why[1600];
  long n = cw_decode_metrics(body, len, ns, sizeof(ns), merge_datum, &x, why,
                             sizeof(why));

  if (n >= 0 && strcmp(ns, b->dest) != 0) {
    snprintf(why, sizeof(why), "a body of namespace %s, not %s", ns, b->dest);
    n = -1;
  }
  if (n < 0 || x.refused != CW_ENCODE_ADDED) {
    cw_encode_rollback(m->enc, mark);
    /* Full: the next request takes it. A body an empty request cannot
     * take is not one of ours. */
    if ((x.refused == CW_ENCODE_FULL || x.refused == CW_ENCODE_NOMEM) &&
        b->items > 0)
      return 0;
    snprintf(err, err_size, "%s",
             x.refused != CW_ENCODE_ADDED ? cw_encode_result_name(x.refused)
                                          : why);
    return -1;
  }
  if (x.added > 0 && (b->items == 0 || x.oldest < b->oldest))
    b->oldest = x.oldest;
  b->items += x.added;
  b->expired += x.expired;
  return 1;
}

static void finish(void *ud, cw_batch_t *b) {
  cw_stream_metrics_t *m = ud;
  b->body = cw_encode_body(m->enc, &b->len);
}

void cw_stream_metrics_describe(cw_stream_metrics_t *m,
                                cw_pipeline_stream_t *s) {
  s->name = "metrics";
  s->kind = CW_SPOOL_METRICS;
  s->action = "PutMetricData";
  s->service = CW_STREAM_METRICS_SERVICE;
  s->iam_prefix = "cloudwatch";
  s->target_prefix = CW_STREAM_METRICS_TARGET_PREFIX;
  s->content_type = CW_STREAM_METRICS_CONTENT_TYPE;
  s->item_name = "datums";
  s->ud = m;
  s->seal = seal;
  s->queued = queued;
  s->claim = claim;
  s->release = release;
  s->begin = begin;
  s->merge = merge;
  s->finish = finish;
  s->prepare = NULL;
  s->refusal_fixable = NULL;
  s->refused = NULL;
}
