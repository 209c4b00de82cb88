/* SPDX-License-Identifier: MIT */
/*
 * cw_pipeline: write_cloudwatch's one delivery path, for every stream it
 * sends (SageMaker and generic metrics, host metrics, the data log):
 *
 *   collectd's write threads ─▶ the stream's bounded queue (the glue fills
 *   it, under the pipeline's lock)
 *        │ every FlushInterval, or on collectd's flush, on the sender thread
 *        ▼
 *   batch: the stream claims the next request's worth (its service's
 *   limits) ─▶ encode ─▶ gzip ─▶ sign ─▶ POST ─▶ classify the answer
 *        │ not accepted within the attempts, or the destination failing
 *        ▼
 *   the spool on disk (optional): replayed oldest first, each batch to
 *   its own destination, merged with the next ones of the same destination
 *   into full requests
 *
 * A stream is an adapter (cw_pipeline_stream_t): how to claim a batch from
 * its queue and encode it, how to merge spooled bodies into a request, its
 * endpoint and service, and how to read its service's refusals. The send
 * loop, retries, clock-skew correction, pacing, spooling and shutdown are
 * the pipeline's, the same for every stream.
 *
 * Answers (aws_http_classify_at):
 *   OK           done; items the service refused inside a 200 (PutLogEvents'
 *                rejectedLogEventsInfo) are counted as refused;
 *   CLOCK_SKEW   the answer's Date becomes the signing clock's offset, the
 *                request is signed again and retried at once (once per
 *                batch; logged once per change of offset);
 *   CREDENTIALS  fresh credentials, then one immediate retry;
 *   RETRY        (throttling, 5xx, network) full-jitter backoff (at least
 *                the answer's Retry-After), within MaxAttempts, the retry
 *                budget and any deadline;
 *   DENIED       (AccessDenied) kept, as a failure of the destination, with
 *                an error naming the missing permission, rate-limited;
 *   PERMANENT    dropped, counted, the service's message logged, unless the
 *                stream asks to prepare its destination again
 *                (ResourceNotFoundException: the log stream was deleted).
 *
 * A destination that failed (a batch not accepted within its attempts, or
 * denied) is "failing": from then on, each flush first moves everything
 * queued for the stream to the spool (so that a kill loses at most what
 * arrived since the last flush), then probes with one attempt of the
 * oldest batch; the first success ends it. Without a spool the queue keeps
 * what it can (drop-oldest, counted).
 *
 * Shutdown (cw_pipeline_stop): the stop flag wakes every wait and ends
 * every loop of the sender thread, which exits after at most the request
 * in flight (Timeout). Then everything held is sent, in full batches and
 * without pacing, until the deadline; what is left is spooled, or counted
 * and logged with its exact number. collectd's shutdown takes at most
 * ShutdownTimeout plus one Timeout, whatever CloudWatch does.
 *
 * collectd-free: time, randomness, logging, the thread's creation and the
 * credentials are passed in. Unit tests drive cw_pipeline_run() against a
 * scripted server.
 */
#ifndef CW_PIPELINE_H
#define CW_PIPELINE_H 1

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_creds.h"
#include "aws_http.h"
#include "cw_spool.h"

#define CW_PIPELINE_MAX_STREAMS 4
#define CW_PIPELINE_DEFAULT_MAX_ATTEMPTS 5
#define CW_PIPELINE_DEFAULT_BACKOFF_BASE_MS 200
#define CW_PIPELINE_DEFAULT_BACKOFF_CAP_MS 20000
/* Retry budget: a long outage costs at most this many retries before the
 * sender waits for the next flush (the AWS SDKs' standard quota). */
#define CW_PIPELINE_RETRY_CAPACITY 500
#define CW_PIPELINE_RETRY_COST 5
/* A Retry-After longer than this is not waited for within one flush. */
#define CW_PIPELINE_MAX_RETRY_AFTER_MS 60000
#define CW_PIPELINE_DEST_MAX CW_SPOOL_DEST_MAX

typedef enum { CW_LOG_ERR, CW_LOG_WARNING, CW_LOG_INFO } cw_log_level_t;

typedef struct cw_pipeline_s cw_pipeline_t;

/* A request being built, and what it carries. The stream's adapter fills
 * it; the pipeline sends body[0..len). */
typedef struct {
  char dest[CW_PIPELINE_DEST_MAX + 1]; /* namespace, or "group:stream" */
  size_t items;                        /* datums or events */
  double oldest;                       /* the oldest item, epoch seconds */
  const char *body;                    /* owned by the adapter */
  size_t len;
  size_t expired; /* items dropped while claiming: older than accepted */
  size_t invalid; /* items dropped while claiming: cannot be encoded */
} cw_batch_t;

/* A call the pipeline makes for an adapter (CreateLogStream before a
 * PutLogEvents): the action and body; the answer comes back in res. */
typedef struct cw_pipeline_call_s cw_pipeline_call_t;

/* What a stream is. Callbacks get the stream's ud. Those marked "locked"
 * are called with the pipeline's lock held (they touch the queue the
 * collectd threads fill); the others without it. */
typedef struct {
  const char *name;       /* "metrics", "host metrics", "data log" */
  cw_spool_kind_t kind;   /* its spooled batches; the first stream of a kind
                             replays them all, each to its destination */
  const char *action;     /* "PutMetricData" */
  const char *service;    /* SigV4 service: "monitoring", "logs" */
  const char *iam_prefix; /* "cloudwatch", "logs" */
  /* X-Amz-Target is target_prefix followed by the action:
   * "GraniteServiceVersion20100801.", "Logs_20140328." */
  const char *target_prefix;
  const char *content_type;
  const char *item_name;          /* "datums", "events" */
  const char *url;                /* the endpoint */
  const char *region;             /* signing region */
  size_t compress_threshold;      /* gzip bodies this long and more; 0: never */
  double max_requests_per_second; /* 0: no limit */
  void *ud;

  /* locked: makes what waits in the queue ready to send (a flush). */
  void (*seal)(void *ud);
  /* locked: items in the queue (ready or not), for the counters. */
  size_t (*queued)(void *ud);
  /* locked: claims the next request's items, as many as the service's
   * limits allow, and encodes them into b (items too old or that cannot be
   * encoded are dropped and counted in b). The claimed items stay in the
   * queue, safe from drop-oldest, until release. Returns b->items; 0 when
   * nothing is ready. now is epoch seconds. */
  size_t (*claim)(void *ud, cw_batch_t *b, double now);
  /* locked: ends the claim: the items go when done, else they stay at the
   * front. */
  void (*release)(void *ud, int done);
  /* Starts an empty request for destination dest (replaying the spool;
   * the pipeline has set the batch's dest). 0, or -1 when dest is not one
   * of this kind (the batches are dropped). */
  int (*begin)(void *ud, const char *dest);
  /* Adds a spooled body's items to the request begun: 1 added, 0 they do
   * not fit (nothing added), -1 the body is unreadable (nothing added;
   * err says why). Items older than accepted are dropped and counted in
   * b->expired. */
  int (*merge)(void *ud, cw_batch_t *b, const char *body, size_t len,
               double now, char *err, size_t err_size);
  /* Finishes the request: b->body and b->len. */
  void (*finish)(void *ud, cw_batch_t *b);
  /* Optional: requests to make before sending to b->dest (create the log
   * group and stream). 0 when ready, -1 when they did not succeed (res of
   * the last call says why). */
  int (*prepare)(void *ud, cw_pipeline_t *p, const cw_batch_t *b,
                 aws_http_result_t *res);
  /* Optional: after a PERMANENT refusal, non-zero when the destination
   * should be prepared again and the batch retried (once per batch). */
  int (*refusal_fixable)(void *ud, const cw_batch_t *b,
                         const aws_http_result_t *res);
  /* Optional: how many of b's items an accepted answer (body resp) says
   * were refused. */
  size_t (*refused)(void *ud, const cw_batch_t *b, const char *resp,
                    size_t len);
  /* Optional, locked: why items still queued after the spool took what
   * it could were not spooled (the shutdown message); NULL: the spool
   * refused them. */
  const char *(*unspoolable)(void *ud);
} cw_pipeline_stream_t;

typedef struct {
  uint64_t requests;            /* answered by the service */
  uint64_t requests_failed;     /* answered, not accepted */
  uint64_t requests_unanswered; /* no answer (connection, timeout) */
  uint64_t items_sent;          /* accepted */
  uint64_t items_refused;       /* refused for good (dropped) */
  uint64_t items_expired;       /* older than the service accepts (dropped) */
  uint64_t items_invalid;       /* could not be encoded (dropped) */
  uint64_t items_spooled;       /* written to the spool */
  uint64_t items_unsent;        /* left at shutdown, without a spool (lost) */
  uint64_t retries;
  uint64_t bytes_sent;   /* bodies answered, as sent (after gzip) */
  uint64_t bytes_raw;    /* the same before gzip */
  uint64_t spool_errors; /* spool files set aside or unwritable */
} cw_pipeline_stats_t;

typedef struct {
  aws_creds_provider_t *creds; /* not owned */
  long timeout_ms;             /* per request */
  unsigned max_attempts;       /* per batch and flush */
  uint64_t backoff_base_ms;
  uint64_t backoff_cap_ms;
  pthread_mutex_t *lock; /* the glue's: guards the queues (not owned) */
  uint64_t flush_interval_ms;

  /* Injected. now: epoch seconds; mono_ms: a monotonic clock (NULL:
   * CLOCK_MONOTONIC); random01: [0, 1); log: one line. */
  time_t (*now)(void *ud);
  uint64_t (*mono_ms)(void *ud);
  double (*random01)(void *ud);
  /* Waits ms: returns non-zero when told to stop (tests record the waits
   * and return at once). NULL: a wait on the pipeline's condition that
   * stopping ends. */
  int (*sleep_ms)(uint64_t ms, void *ud);
  void (*log)(cw_log_level_t level, const char *msg, void *ud);
  /* Starts the sender thread (collectd's plugin_thread_create names it);
   * NULL: pthread_create. */
  int (*thread_create)(pthread_t *t, void *(*fn)(void *), void *arg, void *ud);
  /* Called on the sender thread before each flush (unlocked) and after it
   * (the glue resolves the data log's instance ID, dispatches its own
   * counters). Either may be NULL. */
  void (*before_flush)(void *ud);
  void (*after_flush)(void *ud);
  /* Called by cw_pipeline_stop once the sender thread ended, before the
   * last flush (the glue opens the spool if the thread never did). May be
   * NULL. */
  void (*before_stop)(void *ud);
  /* A spool was configured (the shutdown line says why none is used). */
  bool spool_configured;
  void *ud;
} cw_pipeline_config_t;

/* NULL with a line in err when something required is missing. */
cw_pipeline_t *cw_pipeline_create(const cw_pipeline_config_t *cfg, char *err,
                                  size_t err_size);
/* Stops first if needed (no deadline: nothing more is sent). */
void cw_pipeline_destroy(cw_pipeline_t *p);

/* Adds a stream (copied; its strings must outlive the pipeline). Its index
 * (0, 1, ...), or -1 with a line in err (a bad URL, too many streams). */
int cw_pipeline_add_stream(cw_pipeline_t *p, const cw_pipeline_stream_t *s,
                           char *err, size_t err_size);

/* Gives the pipeline a spool (not owned; NULL: none). On the sender
 * thread (the before_flush callback opens it), or before it starts. */
void cw_pipeline_set_spool(cw_pipeline_t *p, cw_spool_t *spool);

/* Called with the lock held. start: runs the sender thread if it does not
 * run yet (collectd may fork after reading the configuration, so the
 * thread starts on first use); -1 when it cannot start (then nothing is
 * sent until shutdown). flush: asks the thread for a flush now. */
int cw_pipeline_start(cw_pipeline_t *p);
void cw_pipeline_flush(cw_pipeline_t *p);

/* One flush on the caller's thread: every stream, its spool and its queue
 * (sealed first). deadline: epoch seconds after which no request starts
 * and no wait ends (0: none). 0 when everything was delivered (nothing
 * left queued or spooled), -1 else. What the sender thread runs, and
 * what unit tests call. */
int cw_pipeline_run(cw_pipeline_t *p, time_t deadline);

/* Shutdown: stops the sender thread, then sends what the queues hold until
 * deadline (epoch seconds) without pacing, spools what is left, or counts
 * it (items_unsent) and logs its number. */
void cw_pipeline_stop(cw_pipeline_t *p, time_t deadline);

/* For the adapters' prepare callback: one request of another action of
 * the stream's service (CreateLogStream), sharing the batch's attempts,
 * backoff, credentials and clock. An answer with the error type expected
 * (ResourceAlreadyExistsException; NULL: none) is not counted as a failed
 * request. Returns the answer's class (RETRY when the attempts ran out or
 * the pipeline stops); res says why. */
aws_http_class_t cw_pipeline_call(cw_pipeline_t *p, const char *action,
                                  const void *body, size_t len,
                                  const char *expected, aws_http_result_t *res);
/* The body of the last answer (for an adapter's refused callback). */
const char *cw_pipeline_response(cw_pipeline_t *p, size_t *len);
/* For an adapter's messages. */
void cw_pipeline_log(cw_pipeline_t *p, cw_log_level_t level, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

void cw_pipeline_get_stats(cw_pipeline_t *p, int stream,
                           cw_pipeline_stats_t *out);
/* The signing clock's offset from the local clock, in seconds. */
int64_t cw_pipeline_clock_offset(cw_pipeline_t *p);

#endif /* CW_PIPELINE_H */
