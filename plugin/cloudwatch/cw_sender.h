/* SPDX-License-Identifier: MIT */
/*
 * cw_sender: sends write_cloudwatch's ready datums to CloudWatch with
 * PutMetricData (AWS JSON 1.0), as few requests as the limits allow:
 * batch (<= 1000 datums, <= 1 MB), gzip above a threshold, SigV4-sign with
 * the credential chain's current credentials, POST, classify the answer,
 * and retry with full-jitter backoff within a retry budget.
 *
 * A batch leaves the queue only when CloudWatch accepted it, or refused it
 * for good (then CloudWatch's own message is logged and the datums are
 * counted as dropped). A batch that cannot be sent now stays at the front
 * of the queue for the next drain: nothing is lost that the queue holds.
 * An expired-token answer invalidates the credentials and retries once
 * with fresh ones.
 *
 * With a spool (cfg.spool), a batch that could not be sent within its
 * attempts goes to disk with every other ready datum, and while the spool
 * holds batches, everything goes through it, oldest first: a drain first
 * appends the ready datums to the spool, then sends the spooled batches in
 * order. A spooled datum older than CloudWatch accepts (two weeks) is
 * dropped and counted when its batch is sent. Requests never go out faster
 * than cfg.max_requests_per_second.
 *
 * Time, randomness, sleeping and logging are passed in. collectd-free: the
 * glue runs it on its sender thread; unit tests drive it against a
 * scripted server.
 */
#ifndef CW_SENDER_H
#define CW_SENDER_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_creds.h"
#include "cw_queue.h"
#include "cw_spool.h"

#define CW_SENDER_DEFAULT_COMPRESS_THRESHOLD 1024
#define CW_SENDER_DEFAULT_MAX_ATTEMPTS 5
#define CW_SENDER_DEFAULT_BACKOFF_BASE_MS 200
#define CW_SENDER_DEFAULT_BACKOFF_CAP_MS 20000
/* Retry budget: a long outage costs at most this many retries before the
 * sender waits for the next flush (the AWS SDKs' standard quota). */
#define CW_SENDER_RETRY_CAPACITY 500
#define CW_SENDER_RETRY_COST 5

typedef enum { CW_LOG_ERR, CW_LOG_WARNING, CW_LOG_INFO } cw_log_level_t;

typedef struct {
  const char *url;    /* "https://monitoring.us-east-1.amazonaws.com/" */
  const char *region; /* for signing */
  const char *ns;     /* Namespace */
  int compress;       /* gzip bodies of compress_threshold bytes and more */
  size_t compress_threshold;
  long timeout_ms;       /* per HTTP request */
  unsigned max_attempts; /* per batch and drain */
  uint64_t backoff_base_ms;
  uint64_t backoff_cap_ms;
  size_t max_batch_bytes;         /* 0: CW_ENCODE_DEFAULT_MAX_BYTES */
  cw_spool_t *spool;              /* not owned; NULL: no spool */
  double max_requests_per_second; /* 0: no limit */

  aws_creds_provider_t *creds; /* not owned */

  time_t (*now)(void *ud);
  double (*random01)(void *ud);
  /* Sleeps ms, or less when woken to stop: returns non-zero then. */
  int (*sleep_ms)(uint64_t ms, void *ud);
  /* A monotonic clock in ms, for the request rate; NULL: CLOCK_MONOTONIC. */
  uint64_t (*mono_ms)(void *ud);
  void (*log)(cw_log_level_t level, const char *msg, void *ud);
  void *ud;
} cw_sender_config_t;

typedef struct {
  uint64_t requests;        /* HTTP requests made */
  uint64_t requests_failed; /* of which not accepted */
  uint64_t datums_sent;     /* accepted by CloudWatch */
  uint64_t datums_dropped;  /* refused for good */
  uint64_t retries;
  uint64_t bytes_sent;     /* bodies as sent (after gzip) */
  uint64_t bytes_raw;      /* bodies before gzip */
  uint64_t datums_spooled; /* written to the spool */
  uint64_t datums_expired; /* older than CloudWatch accepts: dropped */
  uint64_t spool_errors;   /* spool files set aside or unwritable */
} cw_sender_stats_t;

typedef struct cw_sender_s cw_sender_t;

/* NULL with a message in err when the URL or namespace is unusable or
 * memory runs out. Copies what it needs from cfg. */
cw_sender_t *cw_sender_create(const cw_sender_config_t *cfg, char *err,
                              size_t err_size);
void cw_sender_destroy(cw_sender_t *s);

/* Sends ready datums of q, which lock guards, until none is left
 * (returns 0), or a batch could not be sent within its attempts or by
 * the deadline (a time() value; 0: none), or sleep_ms said stop (returns
 * -1; the batch stays queued). */
int cw_sender_drain(cw_sender_t *s, cw_queue_t *q, pthread_mutex_t *lock,
                    time_t deadline);

/* Gives the sender a spool (not owned; NULL: none) after creation, for a
 * spool opened once the sender thread runs. */
void cw_sender_set_spool(cw_sender_t *s, cw_spool_t *spool);

/* Appends every ready datum of q to the spool, in batches (no network):
 * for a shutdown that ran out of time. Returns the datums spooled; 0
 * without a spool. */
size_t cw_sender_spill(cw_sender_t *s, cw_queue_t *q, pthread_mutex_t *lock);

void cw_sender_get_stats(cw_sender_t *s, cw_sender_stats_t *out);

/* Why the last drain that returned -1 stopped (for a rate-limited log). */
void cw_sender_last_error(cw_sender_t *s, char *buf, size_t size);

#endif /* CW_SENDER_H */
