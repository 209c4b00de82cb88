/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the endpoint data log in CloudWatch Logs. Log events (one line
 * per failed or expired request) wait in a bounded queue, grouped by log
 * group and stream, and are sent with PutLogEvents (AWS JSON 1.1,
 * "Logs_20140328.*"), signed with the same signer and credential chain as
 * the metrics. The group and stream are created when missing.
 *
 * PutLogEvents limits (CloudWatch Logs API reference): at most 10,000
 * events and 1,048,576 bytes per request, counting each event's UTF-8
 * message plus 26 bytes; the events of one request span at most 24 hours
 * and are in chronological order; none older than 14 days or more than 2
 * hours ahead; one event's message at most 256 KiB minus 26 bytes.
 *
 * collectd-free; the queue is not thread-safe (the caller locks, and
 * passes its lock to cw_logs_drain as with cw_sender).
 */
#ifndef CW_LOGS_H
#define CW_LOGS_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_creds.h"
#include "cw_sender.h" /* cw_log_level_t */

#define CW_LOGS_MAX_EVENTS 10000
#define CW_LOGS_MAX_BYTES 1048576
#define CW_LOGS_EVENT_OVERHEAD 26
#define CW_LOGS_MAX_MESSAGE (262144 - CW_LOGS_EVENT_OVERHEAD)
#define CW_LOGS_MAX_SPAN_MS (24LL * 3600 * 1000)
#define CW_LOGS_MAX_AGE_MS (14LL * 24 * 3600 * 1000)
#define CW_LOGS_MAX_AHEAD_MS (2LL * 3600 * 1000)
/* CreateLogGroup / CreateLogStream: names of 1 to 512 characters (counted
 * here in bytes, never fewer than the characters); a group name of
 * [.\-_/#A-Za-z0-9], a stream name without ':' or '*'. */
#define CW_LOGS_MAX_NAME 512

/* The queue's default bound on what its events hold (messages plus
 * CW_LOGS_EVENT_OVERHEAD each): sixteen full requests. max_events alone
 * would allow max_events times 256 KiB. */
#define CW_LOGS_QUEUE_DEFAULT_MAX_BYTES (16u * CW_LOGS_MAX_BYTES)
/* Per-request timeout when the configuration says 0. */
#define CW_LOGS_DEFAULT_TIMEOUT_MS 10000L
/* Group and stream names remembered as created (oldest forgotten first;
 * forgetting one costs a CreateLogStream answered "already exists"). */
#define CW_LOGS_MAX_KNOWN 1024

/* ------------------------------------------------------------- queue */

typedef struct cw_logs_queue_s cw_logs_queue_t;

typedef enum {
  CW_LOGS_ADDED = 0,
  CW_LOGS_ADDED_DROPPED_OLDEST, /* full: the oldest event was dropped */
  CW_LOGS_TOO_OLD,              /* older than 14 days: not added, counted */
  CW_LOGS_TOO_NEW,              /* more than 2 hours ahead: not added,
                                   counted */
  CW_LOGS_NOMEM,
  CW_LOGS_FULL,    /* full of events being sent: not added, counted */
  CW_LOGS_INVALID, /* empty message, or a group or stream name CloudWatch
                      Logs refuses: not added, not counted */
} cw_logs_add_t;

/* NULL when max_events is 0 or memory runs out. The queue holds at most
 * max_events events and CW_LOGS_QUEUE_DEFAULT_MAX_BYTES bytes. */
cw_logs_queue_t *cw_logs_queue_create(size_t max_events);
void cw_logs_queue_destroy(cw_logs_queue_t *q);

/* Changes the byte bound (at least CW_LOGS_MAX_MESSAGE +
 * CW_LOGS_EVENT_OVERHEAD, else that); events beyond it are dropped at the
 * next add. */
void cw_logs_queue_set_max_bytes(cw_logs_queue_t *q, size_t max_bytes);

/* Queues a copy of message for (group, stream) at timestamp_ms. The
 * message is made valid UTF-8 (invalid bytes become U+FFFD) and cut, on a
 * character boundary, to CW_LOGS_MAX_MESSAGE bytes. now_ms checks the
 * age. When the queue is full (max_events, or the byte bound), the oldest
 * event by arrival that is not being sent is dropped. */
cw_logs_add_t cw_logs_queue_add(cw_logs_queue_t *q, const char *group,
                                const char *stream, int64_t timestamp_ms,
                                const char *message, int64_t now_ms);

size_t cw_logs_queue_size(const cw_logs_queue_t *q);
/* Events dropped by cw_logs_queue_add: full, too old, too new. (Events
 * found too old at send time are the sender's events_dropped.) */
uint64_t cw_logs_queue_dropped(const cw_logs_queue_t *q);

/* The sender's side of the queue, exposed for tests and fuzzing. */
typedef struct {
  int64_t timestamp_ms;
  const char *message; /* valid UTF-8, NUL-terminated */
  size_t len;          /* bytes of message, 1..CW_LOGS_MAX_MESSAGE */
} cw_logs_event_t;

typedef struct {
  const char *group; /* the queue's; valid until cw_logs_queue_release */
  const char *stream;
  size_t num;       /* events claimed */
  size_t bytes;     /* their messages plus CW_LOGS_EVENT_OVERHEAD each */
  uint64_t too_old; /* events dropped, older than 14 days at now_ms */
} cw_logs_batch_t;

/* Drops the events older than 14 days at now_ms (counted in b->too_old),
 * then marks the next request's events as being sent: the earliest
 * events (by timestamp, then arrival) of the stream whose oldest event
 * arrived first, as many as the limits allow. They stay queued, are not
 * dropped to make room, and are removed by cw_logs_queue_release. Returns
 * b->num; 0 when the queue is empty. One claim at a time: 0 while one is
 * open. */
size_t cw_logs_queue_claim(cw_logs_queue_t *q, int64_t now_ms,
                           cw_logs_batch_t *b);
/* The i-th claimed event, in chronological order; NULL past the end. */
const cw_logs_event_t *cw_logs_queue_claimed(const cw_logs_queue_t *q,
                                             size_t i);
/* Ends the claim: the claimed events are removed when done is non-zero
 * (accepted, or refused for good), else they are sent again later. */
void cw_logs_queue_release(cw_logs_queue_t *q, int done);

/* Copies in[0..len) to out as valid UTF-8: every maximal ill-formed
 * subsequence (a bad lead or continuation byte, an overlong form, a
 * surrogate, beyond U+10FFFF, a truncated sequence; Unicode 3.9,
 * "substitution of maximal subparts") becomes U+FFFD. Stops before a
 * character that would not fit out_size - 1 bytes, so none is split, and
 * NUL-terminates (out_size >= 1). A NUL byte in the input is U+0000 and
 * kept. Returns the bytes written, without the NUL. */
size_t cw_logs_utf8_repair(const char *in, size_t len, char *out,
                           size_t out_size);

/* ------------------------------------------------------------ sender */

typedef struct {
  const char *url; /* "https://logs.us-east-1.amazonaws.com/" */
  const char *region;
  long timeout_ms;          /* 0: CW_LOGS_DEFAULT_TIMEOUT_MS */
  unsigned max_attempts;    /* per batch; 0: CW_SENDER_DEFAULT_MAX_ATTEMPTS */
  uint64_t backoff_base_ms; /* 0: CW_SENDER_DEFAULT_BACKOFF_BASE_MS */
  uint64_t backoff_cap_ms;  /* 0: CW_SENDER_DEFAULT_BACKOFF_CAP_MS */
  aws_creds_provider_t *creds; /* not owned */
  time_t (*now)(void *ud);
  double (*random01)(void *ud);
  int (*sleep_ms)(uint64_t ms, void *ud); /* non-zero: stop */
  void (*log)(cw_log_level_t level, const char *msg, void *ud);
  void *ud;
} cw_logs_config_t;

typedef struct {
  uint64_t requests;
  uint64_t requests_failed; /* not 2xx; "already exists" is not a failure */
  uint64_t events_sent;
  uint64_t events_dropped; /* refused for good, or too old at send time */
  uint64_t retries;
  uint64_t groups_created;
  uint64_t streams_created;
} cw_logs_stats_t;

typedef struct cw_logs_s cw_logs_t;

/* NULL with a message in err when the URL is unusable, a function is
 * missing or memory runs out. Copies what it needs from cfg. */
cw_logs_t *cw_logs_create(const cw_logs_config_t *cfg, char *err,
                          size_t err_size);
void cw_logs_destroy(cw_logs_t *l);

/* Sends every queued event, stream by stream, oldest first, in as few
 * PutLogEvents requests as the limits allow; creates a group or stream
 * that does not exist (an existing one is not an error). Events leave the
 * queue only once accepted or refused for good. Returns 0 when the queue
 * is empty, -1 when it stopped with events left (see
 * cw_logs_last_error). deadline is a time() value (0: none): no batch is
 * started at or after it, no backoff sleeps past it. */
int cw_logs_drain(cw_logs_t *l, cw_logs_queue_t *q, pthread_mutex_t *lock,
                  time_t deadline);

void cw_logs_get_stats(cw_logs_t *l, cw_logs_stats_t *out);
void cw_logs_last_error(cw_logs_t *l, char *buf, size_t size);

#endif /* CW_LOGS_H */
