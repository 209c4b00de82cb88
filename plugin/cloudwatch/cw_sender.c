/* SPDX-License-Identifier: MIT */
/*
 * cw_sender: batches, signs, sends and retries (see cw_sender.h).
 */
#include "cw_sender.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_http.h"
#include "aws_post.h"
#include "aws_sigv4.h"
#include "cw_encode.h"
#include "cw_retry.h"

#define CW_TARGET "GraniteServiceVersion20100801.PutMetricData"
#define CW_CONTENT_TYPE "application/x-amz-json-1.0"

struct cw_sender_s {
  cw_sender_config_t cfg;
  char *url;
  char *host; /* host[:port] as in the Host header */
  char *path;
  char *region;
  char *ns;
  cw_encode_t *enc;
  aws_http_t *http;
  cw_retry_budget_t budget;
  pthread_mutex_t stats_lock;
  cw_sender_stats_t stats;
  char last_error[1024];
  uint64_t next_request_ms; /* the request rate: not before this */
};

static void logf_(cw_sender_t *s, cw_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(cw_sender_t *s, cw_log_level_t level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (s->cfg.log == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  s->cfg.log(level, msg, s->cfg.ud);
}

cw_sender_t *cw_sender_create(const cw_sender_config_t *cfg, char *err,
                              size_t err_size) {
  cw_sender_t *s = calloc(1, sizeof(*s));

  if (s == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  s->cfg = *cfg;
  pthread_mutex_init(&s->stats_lock, NULL);
  if (s->cfg.max_attempts == 0)
    s->cfg.max_attempts = CW_SENDER_DEFAULT_MAX_ATTEMPTS;
  if (s->cfg.backoff_base_ms == 0)
    s->cfg.backoff_base_ms = CW_SENDER_DEFAULT_BACKOFF_BASE_MS;
  if (s->cfg.backoff_cap_ms == 0)
    s->cfg.backoff_cap_ms = CW_SENDER_DEFAULT_BACKOFF_CAP_MS;
  if (s->cfg.max_batch_bytes == 0 ||
      s->cfg.max_batch_bytes > CW_ENCODE_MAX_BYTES)
    s->cfg.max_batch_bytes = CW_ENCODE_DEFAULT_MAX_BYTES;
  cw_retry_budget_init(&s->budget, CW_SENDER_RETRY_CAPACITY,
                       CW_SENDER_RETRY_COST);
  err[0] = 0;
  if (aws_http_split_url(cfg->url, &s->host, &s->path, err, err_size) != 0) {
    char why[512];
    snprintf(why, sizeof(why), "Endpoint %s", err);
    snprintf(err, err_size, "%s", why);
    goto fail;
  }
  s->url = strdup(cfg->url);
  s->region = strdup(cfg->region);
  s->ns = strdup(cfg->ns);
  s->cfg.url = s->url;
  s->cfg.region = s->region;
  s->cfg.ns = s->ns;
  s->enc = cw_encode_create(cfg->ns, CW_ENCODE_MAX_DATUMS,
                            s->cfg.max_batch_bytes, err, err_size);
  if (s->enc == NULL)
    goto fail;
  s->http = aws_http_create();
  if (s->url == NULL || s->region == NULL || s->ns == NULL || s->http == NULL) {
    snprintf(err, err_size, "out of memory");
    goto fail;
  }
  return s;
fail:
  if (err[0] == 0)
    snprintf(err, err_size, "out of memory");
  cw_sender_destroy(s);
  return NULL;
}

void cw_sender_destroy(cw_sender_t *s) {
  if (s == NULL)
    return;
  cw_encode_destroy(s->enc);
  aws_http_destroy(s->http);
  free(s->url);
  free(s->host);
  free(s->path);
  free(s->region);
  free(s->ns);
  pthread_mutex_destroy(&s->stats_lock);
  free(s);
}

void cw_sender_get_stats(cw_sender_t *s, cw_sender_stats_t *out) {
  pthread_mutex_lock(&s->stats_lock);
  *out = s->stats;
  pthread_mutex_unlock(&s->stats_lock);
}

#define STAT_ADD(s, field, n)                                                  \
  do {                                                                         \
    pthread_mutex_lock(&(s)->stats_lock);                                      \
    (s)->stats.field += (n);                                                   \
    pthread_mutex_unlock(&(s)->stats_lock);                                    \
  } while (0)

static uint64_t mono_ms(cw_sender_t *s) {
  struct timespec ts;
  if (s->cfg.mono_ms != NULL)
    return s->cfg.mono_ms(s->cfg.ud);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether a datum is older than CloudWatch accepts. */
static bool expired(const cw_sender_t *s, const cw_datum_t *d) {
  return d->timestamp < (double)s->cfg.now(s->cfg.ud) - CW_TIMESTAMP_MAX_AGE;
}

/* Encodes the oldest ready datums into one body and claims them. Returns
 * how many; 0 with none ready. A datum that cannot be encoded, or has
 * grown too old while it waited, is dropped and counted at the front.
 * *oldest is the batch's oldest timestamp. Called with the queue locked. */
static size_t build_batch(cw_sender_t *s, cw_queue_t *q, double *oldest) {
  size_t n = 0;
  const cw_datum_t *d;

  *oldest = 0;
  cw_encode_reset(s->enc);
  while ((d = cw_queue_ready_get(q, n)) != NULL) {
    cw_encode_result_t r;
    if (n == 0 && expired(s, d)) {
      cw_queue_claim(q, 1);
      cw_queue_release(q, 1);
      STAT_ADD(s, datums_expired, 1);
      continue;
    }
    r = cw_encode_add(s->enc, d);
    if (r == CW_ENCODE_ADDED) {
      if (n == 0 || d->timestamp < *oldest)
        *oldest = d->timestamp;
      n++;
      continue;
    }
    if (r == CW_ENCODE_FULL || r == CW_ENCODE_NOMEM || n > 0)
      break;
    /* The front datum can never be sent (validation should have stopped
     * it): drop it so it does not block the queue. */
    logf_(s, CW_LOG_ERR, "dropping %s datum: cannot be encoded (%s)",
          d->metric_name, cw_encode_result_name(r));
    cw_queue_claim(q, 1);
    cw_queue_release(q, 1);
    STAT_ADD(s, datums_dropped, 1);
    cw_encode_reset(s->enc);
  }
  return cw_queue_claim(q, n);
}

/* Waits, if needed, so that requests keep to max_requests_per_second.
 * Returns non-zero when told to stop. */
static int pace(cw_sender_t *s) {
  uint64_t now, gap;

  if (!(s->cfg.max_requests_per_second > 0))
    return 0;
  gap = (uint64_t)(1000.0 / s->cfg.max_requests_per_second);
  now = mono_ms(s);
  if (s->next_request_ms > now &&
      s->cfg.sleep_ms(s->next_request_ms - now, s->cfg.ud) != 0)
    return -1;
  now = mono_ms(s);
  s->next_request_ms =
      (s->next_request_ms > now ? s->next_request_ms : now) + gap;
  return 0;
}

/* One signed POST of body. */
static aws_http_class_t post(cw_sender_t *s, const char *body, size_t len,
                             aws_http_result_t *res, aws_creds_t *used) {
  unsigned char *gz = NULL;
  size_t gz_len = 0;
  aws_sigv4_header_t sh[3] = {{"Content-Type", CW_CONTENT_TYPE},
                              {"X-Amz-Target", CW_TARGET},
                              {"Content-Encoding", "gzip"}};
  aws_post_t p = {.url = s->url,
                  .host = s->host,
                  .path = s->path,
                  .region = s->region,
                  .service = "monitoring",
                  .headers = sh,
                  .header_count = 2,
                  .payload = body,
                  .payload_len = len,
                  .now = s->cfg.now(s->cfg.ud),
                  .timeout_ms = s->cfg.timeout_ms};
  char warn[1024];
  aws_http_class_t cls;

  if (s->cfg.compress &&
      cw_encode_gzip_wanted(len, s->cfg.compress_threshold) &&
      cw_encode_gzip(body, len, 6, &gz, &gz_len) == CW_ENCODE_GZIP_OK &&
      gz_len < len) {
    p.payload = gz;
    p.payload_len = gz_len;
    p.header_count = 3;
  }
  cls = aws_post(s->http, &p, s->cfg.creds, used, res, warn, sizeof(warn));
  if (warn[0])
    logf_(s, CW_LOG_WARNING, "%s", warn);
  if (res->bytes_sent > 0) { /* a request went out */
    STAT_ADD(s, requests, 1);
    STAT_ADD(s, bytes_sent, p.payload_len);
    STAT_ADD(s, bytes_raw, len);
    if (cls != AWS_HTTP_OK)
      STAT_ADD(s, requests_failed, 1);
  }
  free(gz);
  return cls;
}

/* Whether the deadline has passed. */
static bool past(const cw_sender_t *s, time_t deadline) {
  return deadline != 0 && s->cfg.now(s->cfg.ud) >= deadline;
}

/* Sends one body of n datums with its attempts. Returns 1 when it is done
 * with (accepted, or refused for good: counted), 0 when it could not be
 * sent now (res says why), -1 when told to stop. */
static int send_body(cw_sender_t *s, const char *body, size_t len, size_t n,
                     time_t deadline, aws_http_result_t *res) {
  unsigned attempt = 0;
  bool refreshed = false;
  aws_http_class_t cls;

  memset(res, 0, sizeof(*res));
  for (;;) {
    aws_creds_t used;
    if (pace(s) != 0)
      return -1;
    memset(&used, 0, sizeof(used));
    cls = post(s, body, len, res, &used);
    if (cls == AWS_HTTP_CREDENTIALS && used.access_key_id != NULL)
      aws_creds_invalidate(s->cfg.creds, &used);
    aws_creds_clear(&used);
    if (cls == AWS_HTTP_OK) {
      cw_retry_budget_success(&s->budget);
      STAT_ADD(s, datums_sent, n);
      return 1;
    }
    if (cls == AWS_HTTP_PERMANENT) {
      logf_(s, CW_LOG_ERR,
            "PutMetricData refused %zu datums (HTTP %ld %s): %s; dropped", n,
            res->status, res->error_type, res->message);
      STAT_ADD(s, datums_dropped, n);
      return 1;
    }
    /* Fresh credentials get one immediate try. */
    if (cls == AWS_HTTP_CREDENTIALS && !refreshed) {
      refreshed = true;
      STAT_ADD(s, retries, 1);
      logf_(s, CW_LOG_WARNING,
            "PutMetricData: %s (%s); retrying with fresh credentials",
            res->error_type, res->message);
      continue;
    }
    attempt++;
    if (attempt >= s->cfg.max_attempts ||
        cw_retry_budget_take(&s->budget) != 0 || past(s, deadline))
      return 0;
    {
      uint64_t wait = cw_retry_backoff_ms(attempt - 1, s->cfg.backoff_base_ms,
                                          s->cfg.backoff_cap_ms,
                                          s->cfg.random01(s->cfg.ud));
      /* Never sleep past the deadline, nor start a request after it. */
      if (deadline != 0) {
        time_t left = deadline - s->cfg.now(s->cfg.ud);
        if (left <= 0)
          return 0;
        if (wait > (uint64_t)left * 1000)
          wait = (uint64_t)left * 1000;
      }
      if (s->cfg.sleep_ms(wait, s->cfg.ud) != 0)
        return -1;
      if (past(s, deadline))
        return 0;
    }
    STAT_ADD(s, retries, 1);
  }
}

static void set_last_error(cw_sender_t *s, const aws_http_result_t *res,
                           size_t n, const char *where) {
  char status[200] = "";
  if (res->status != 0)
    snprintf(status, sizeof(status), " (HTTP %ld%s%s)", res->status,
             res->error_type[0] ? " " : "", res->error_type);
  pthread_mutex_lock(&s->stats_lock);
  snprintf(s->last_error, sizeof(s->last_error),
           "PutMetricData failed%s: %s; %zu datums %s", status, res->message, n,
           where);
  pthread_mutex_unlock(&s->stats_lock);
}

void cw_sender_set_spool(cw_sender_t *s, cw_spool_t *spool) {
  s->cfg.spool = spool;
}

size_t cw_sender_spill(cw_sender_t *s, cw_queue_t *q, pthread_mutex_t *lock) {
  size_t total = 0;

  if (s->cfg.spool == NULL)
    return 0;
  for (;;) {
    size_t n, len;
    double oldest;
    const char *body;
    char *copy = NULL;
    char err[512];
    int rc;

    pthread_mutex_lock(lock);
    n = build_batch(s, q, &oldest);
    if (n > 0) {
      body = cw_encode_body(s->enc, &len);
      copy = malloc(len + 1);
      if (copy != NULL)
        memcpy(copy, body, len + 1);
    }
    if (copy == NULL)
      cw_queue_release(q, 0);
    pthread_mutex_unlock(lock);
    if (n == 0)
      return total;
    if (copy == NULL) {
      logf_(s, CW_LOG_ERR, "out of memory spooling a batch");
      return total;
    }
    /* The disk is written with the queue unlocked: the claimed datums
     * stay put meanwhile. */
    rc = cw_spool_write(s->cfg.spool, s->ns, copy, len, n, oldest, err,
                        sizeof(err));
    free(copy);
    pthread_mutex_lock(lock);
    cw_queue_release(q, rc == 0);
    pthread_mutex_unlock(lock);
    if (rc != 0) {
      STAT_ADD(s, spool_errors, 1);
      logf_(s, CW_LOG_ERR, "cannot spool %zu datums: %s; they stay queued", n,
            err);
      return total;
    }
    STAT_ADD(s, datums_spooled, n);
    total += n;
  }
}

typedef struct {
  cw_sender_t *s;
  size_t kept;
  size_t expired;
  int failed;
} replay_t;

static void replay_datum(const cw_datum_t *d, void *ud) {
  replay_t *r = ud;
  if (expired(r->s, d)) {
    r->expired++;
    return;
  }
  if (cw_encode_add(r->s->enc, d) == CW_ENCODE_ADDED)
    r->kept++;
  else
    r->failed = 1;
}

/* Sends the spooled batches, oldest first. Returns 0 when the spool is
 * empty, -1 when a batch could not be sent (it stays), -2 when told to
 * stop or out of time. */
static int replay(cw_sender_t *s, time_t deadline) {
  for (;;) {
    char *body = NULL, *again;
    size_t len = 0, datums = 0, alen;
    const char *enc;
    char err[512];
    aws_http_result_t res;
    replay_t r = {.s = s};
    int rc;

    if (past(s, deadline))
      return -2;
    rc = cw_spool_peek(s->cfg.spool, &body, &len, &datums, err, sizeof(err));
    if (rc == 0)
      return 0;
    if (rc == -2) {
      STAT_ADD(s, spool_errors, 1);
      logf_(s, CW_LOG_ERR, "spool: %s", err);
      continue;
    }
    if (rc < 0) {
      logf_(s, CW_LOG_ERR, "spool: %s", err);
      return -1;
    }
    cw_encode_reset(s->enc);
    if (cw_spool_parse_body(body, len, replay_datum, &r, err, sizeof(err)) <
            0 ||
        r.failed) {
      free(body);
      STAT_ADD(s, spool_errors, 1);
      STAT_ADD(s, datums_dropped, datums);
      logf_(s, CW_LOG_ERR,
            "spool: a batch of %zu datums is unreadable (%s); "
            "dropped",
            datums, r.failed ? "too large" : err);
      cw_spool_pop(s->cfg.spool);
      continue;
    }
    free(body);
    if (r.expired > 0) {
      STAT_ADD(s, datums_expired, r.expired);
      logf_(s, CW_LOG_WARNING,
            "spool: %zu datums older than CloudWatch "
            "accepts (two weeks) dropped",
            r.expired);
    }
    if (r.kept == 0) {
      cw_spool_pop(s->cfg.spool);
      continue;
    }
    enc = cw_encode_body(s->enc, &alen);
    again = malloc(alen + 1);
    if (again == NULL) {
      logf_(s, CW_LOG_ERR, "out of memory replaying the spool");
      return -1;
    }
    memcpy(again, enc, alen + 1);
    rc = send_body(s, again, alen, r.kept, deadline, &res);
    free(again);
    if (rc == 1) {
      cw_spool_pop(s->cfg.spool);
      continue;
    }
    if (rc == 0)
      set_last_error(s, &res, r.kept, "kept in the spool");
    return rc == 0 ? -1 : -2;
  }
}

int cw_sender_drain(cw_sender_t *s, cw_queue_t *q, pthread_mutex_t *lock,
                    time_t deadline) {
  if (s->cfg.spool != NULL) {
    cw_spool_stats_t st;
    cw_spool_get_stats(s->cfg.spool, &st);
    if (st.files > 0) {
      /* Behind what waits on disk: keep the order. */
      cw_sender_spill(s, q, lock);
      if (replay(s, deadline) != 0)
        return -1;
    }
  }
  for (;;) {
    size_t n, len;
    double oldest;
    const char *body;
    char *copy;
    int rc;
    aws_http_result_t res;

    /* No batch starts after the deadline (collectd's shutdown waits). */
    if (past(s, deadline)) {
      size_t left;
      pthread_mutex_lock(lock);
      left = cw_queue_ready_num(q);
      pthread_mutex_unlock(lock);
      if (left == 0)
        return 0;
      pthread_mutex_lock(&s->stats_lock);
      snprintf(s->last_error, sizeof(s->last_error),
               "out of time: %zu datums not sent", left);
      pthread_mutex_unlock(&s->stats_lock);
      return -1;
    }

    pthread_mutex_lock(lock);
    n = build_batch(s, q, &oldest);
    body = cw_encode_body(s->enc, &len);
    copy = n > 0 ? malloc(len) : NULL;
    if (copy != NULL)
      memcpy(copy, body, len);
    else
      cw_queue_release(q, 0);
    pthread_mutex_unlock(lock);
    if (n == 0)
      return 0;
    if (copy == NULL) {
      logf_(s, CW_LOG_ERR, "out of memory building a request");
      return -1;
    }
    rc = send_body(s, copy, len, n, deadline, &res);
    free(copy);
    pthread_mutex_lock(lock);
    cw_queue_release(q, rc == 1);
    pthread_mutex_unlock(lock);
    if (rc != 1) {
      if (rc == 0) {
        size_t spooled = cw_sender_spill(s, q, lock);
        set_last_error(s, &res, n,
                       spooled > 0 ? "spooled to disk with the rest"
                                   : "kept for the next attempt");
      }
      return -1;
    }
  }
}

void cw_sender_last_error(cw_sender_t *s, char *buf, size_t size) {
  pthread_mutex_lock(&s->stats_lock);
  snprintf(buf, size, "%s", s->last_error);
  pthread_mutex_unlock(&s->stats_lock);
}
