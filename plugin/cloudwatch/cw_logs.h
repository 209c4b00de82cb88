/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the endpoint data log's queue. Log events (one line per failed
 * or expired request) wait in a bounded queue, grouped by log group and
 * stream, until cw_stream_logs sends them with PutLogEvents.
 *
 * PutLogEvents limits (CloudWatch Logs API reference): at most 10,000
 * events and 1,048,576 bytes per request, counting each event's UTF-8
 * message plus 26 bytes; the events of one request span at most 24 hours
 * and are in chronological order; none older than 14 days or more than 2
 * hours ahead; one event's message at most 256 KiB minus 26 bytes.
 *
 * collectd-free; the queue is not thread-safe (the caller locks: the
 * delivery pipeline's lock).
 */
#ifndef CW_LOGS_H
#define CW_LOGS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* What an event costs beyond its message: its header and the heap's own
 * (the queue's promise; tests/unit/cloudwatch/test_cw_memory.c checks
 * it). */
#define CW_LOGS_EVENT_HEADER_MAX 128

/* The queue's default bound on what its events hold (messages plus
 * CW_LOGS_EVENT_OVERHEAD each): sixteen full requests. max_events alone
 * would allow max_events times 256 KiB. */
#define CW_LOGS_QUEUE_DEFAULT_MAX_BYTES (16u * CW_LOGS_MAX_BYTES)
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

/* Queues an event whose stream has no name yet (the data log's stream
 * names the instance, which may not be known when the event arrives):
 * it is held under key (at most CW_LOGS_MAX_NAME bytes) in group, counted
 * and bounded like any other, never claimed until cw_logs_queue_resolve
 * names its stream. */
cw_logs_add_t cw_logs_queue_add_pending(cw_logs_queue_t *q, const char *group,
                                        const char *key, int64_t timestamp_ms,
                                        const char *message, int64_t now_ms);

/* Events waiting for their stream's name. */
size_t cw_logs_queue_pending(const cw_logs_queue_t *q);

/* Writes the stream name for (group, key) into out: 0, or -1 when there
 * is none. */
typedef int (*cw_logs_namer_t)(const char *group, const char *key, void *ud,
                               char *out, size_t size);

/* A pending event's message, rewritten once its stream is named (the
 * data log's line names the instance too): malloc'ed, or NULL to keep it
 * as it is. */
typedef char *(*cw_logs_rewriter_t)(const char *message, size_t len, void *ud);

/* Names every pending stream with namer, rewrites its events' messages
 * with rewriter (unless NULL), and merges them into a stream of that name
 * when there is one (keeping the chronological order). Returns the events
 * dropped because their name is one CloudWatch Logs refuses (or namer had
 * none); *nomem (unless NULL) counts the events left pending, or left
 * with their old message, for want of memory. */
size_t cw_logs_queue_resolve(cw_logs_queue_t *q, cw_logs_namer_t namer,
                             cw_logs_rewriter_t rewriter, void *ud,
                             size_t *nomem);

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

/* Whether CloudWatch Logs takes group and stream as names (see above). */
bool cw_logs_names_ok(const char *group, const char *stream);

#endif /* CW_LOGS_H */
