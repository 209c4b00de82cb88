/*
 * cw_sender: batches, signs, sends and retries (see include/cw_sender.h).
 */
#include "cw_sender.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_post.h"
#include "aws_sigv4.h"
#include "cw_encode.h"
#include "cw_http.h"

#define CW_TARGET "GraniteServiceVersion20100801.PutMetricData"
#define CW_CONTENT_TYPE "application/x-amz-json-1.0"

struct cw_sender_s {
  cw_sender_config_t cfg;
  char *url;
  char *host; /* host[:port] as in the Host header */
  char *path;
  char *region;
  char *ns;
  cw_enc_t *enc;
  cw_http_t *http;
  cw_retry_budget_t budget;
  pthread_mutex_t stats_lock;
  cw_sender_stats_t stats;
  char last_error[1024];
};

static void logf_(cw_sender_t *s, cw_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(cw_sender_t *s, cw_log_level_t level, const char *fmt,
                  ...) {
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
  if (s->cfg.max_batch_bytes == 0 || s->cfg.max_batch_bytes > CW_ENC_MAX_BYTES)
    s->cfg.max_batch_bytes = CW_ENC_DEFAULT_MAX_BYTES;
  cw_retry_budget_init(&s->budget, CW_SENDER_RETRY_CAPACITY,
                       CW_SENDER_RETRY_COST);
  err[0] = 0;
  if (cw_http_split_url(cfg->url, &s->host, &s->path, err, err_size) != 0) {
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
  s->enc = cw_enc_create(cfg->ns, CW_ENC_MAX_DATUMS, s->cfg.max_batch_bytes,
                         err, err_size);
  if (s->enc == NULL)
    goto fail;
  s->http = cw_http_create();
  if (s->url == NULL || s->region == NULL || s->ns == NULL ||
      s->http == NULL) {
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
  cw_enc_destroy(s->enc);
  cw_http_destroy(s->http);
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

/* Encodes the oldest ready datums into one body and claims them. Returns
 * how many; 0 with none ready. A datum that cannot be encoded at the
 * front is dropped and counted. Called with the queue locked. */
static size_t build_batch(cw_sender_t *s, cw_queue_t *q) {
  size_t n = 0;
  const cw_datum_t *d;

  cw_enc_reset(s->enc);
  while ((d = cw_queue_ready_get(q, n)) != NULL) {
    cw_enc_result_t r = cw_enc_add(s->enc, d);
    if (r == CW_ENC_ADDED) {
      n++;
      continue;
    }
    if (r == CW_ENC_FULL || r == CW_ENC_NOMEM || n > 0)
      break;
    /* The front datum can never be sent (validation should have stopped
     * it): drop it so it does not block the queue. */
    logf_(s, CW_LOG_ERR, "dropping %s datum: cannot be encoded (%s)",
          d->metric_name, cw_enc_result_name(r));
    cw_queue_claim(q, 1);
    cw_queue_release(q, 1);
    STAT_ADD(s, datums_dropped, 1);
    cw_enc_reset(s->enc);
  }
  return cw_queue_claim(q, n);
}

/* One signed POST of body. */
static cw_http_class_t post(cw_sender_t *s, const char *body, size_t len,
                            cw_http_result_t *res, aws_creds_t *used) {
  unsigned char *gz = NULL;
  size_t gz_len = 0;
  sigv4_header_t sh[3] = {{"Content-Type", CW_CONTENT_TYPE},
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
  cw_http_class_t cls;

  if (s->cfg.compress && cw_gzip_wanted(len, s->cfg.compress_threshold) &&
      cw_gzip(body, len, 6, &gz, &gz_len) == CW_GZIP_OK && gz_len < len) {
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
    if (cls != CW_HTTP_OK)
      STAT_ADD(s, requests_failed, 1);
  }
  free(gz);
  return cls;
}

int cw_sender_drain(cw_sender_t *s, cw_queue_t *q, pthread_mutex_t *lock,
                    time_t deadline) {
  for (;;) {
    size_t n, len;
    const char *body;
    char *copy;
    unsigned attempt = 0;
    bool refreshed = false;
    int done = 0;
    cw_http_class_t cls = CW_HTTP_RETRY;
    cw_http_result_t res;

    /* No batch starts after the deadline (collectd's shutdown waits). */
    if (deadline != 0 && s->cfg.now(s->cfg.ud) >= deadline) {
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
    n = build_batch(s, q);
    body = cw_enc_body(s->enc, &len);
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

    for (;;) {
      aws_creds_t used;
      memset(&used, 0, sizeof(used));
      cls = post(s, copy, len, &res, &used);
      if (cls == CW_HTTP_CREDENTIALS && used.access_key_id != NULL)
        aws_creds_invalidate(s->cfg.creds, &used);
      aws_creds_clear(&used);
      if (cls == CW_HTTP_OK) {
        cw_retry_budget_success(&s->budget);
        STAT_ADD(s, datums_sent, n);
        done = 1;
        break;
      }
      if (cls == CW_HTTP_PERMANENT) {
        logf_(s, CW_LOG_ERR,
              "PutMetricData refused %zu datums (HTTP %ld %s): %s; dropped",
              n, res.status, res.error_type, res.message);
        STAT_ADD(s, datums_dropped, n);
        done = 1;
        break;
      }
      /* Fresh credentials get one immediate try. */
      if (cls == CW_HTTP_CREDENTIALS && !refreshed) {
        refreshed = true;
        STAT_ADD(s, retries, 1);
        logf_(s, CW_LOG_WARNING,
              "PutMetricData: %s (%s); retrying with fresh credentials",
              res.error_type, res.message);
        continue;
      }
      attempt++;
      if (attempt >= s->cfg.max_attempts ||
          cw_retry_budget_take(&s->budget) != 0 ||
          (deadline != 0 && s->cfg.now(s->cfg.ud) >= deadline))
        break;
      {
        uint64_t wait = cw_backoff_ms(attempt - 1, s->cfg.backoff_base_ms,
                                      s->cfg.backoff_cap_ms,
                                      s->cfg.random01(s->cfg.ud));
        /* Never sleep past the deadline, nor start a request after it. */
        if (deadline != 0) {
          time_t left = deadline - s->cfg.now(s->cfg.ud);
          if (left <= 0)
            break;
          if (wait > (uint64_t)left * 1000)
            wait = (uint64_t)left * 1000;
        }
        if (s->cfg.sleep_ms(wait, s->cfg.ud) != 0)
          break;
        if (deadline != 0 && s->cfg.now(s->cfg.ud) >= deadline)
          break;
      }
      STAT_ADD(s, retries, 1);
    }
    free(copy);
    pthread_mutex_lock(lock);
    cw_queue_release(q, done);
    pthread_mutex_unlock(lock);
    if (!done) {
      char status[200] = "";
      if (res.status != 0)
        snprintf(status, sizeof(status), " (HTTP %ld%s%s)", res.status,
                 res.error_type[0] ? " " : "", res.error_type);
      pthread_mutex_lock(&s->stats_lock);
      snprintf(s->last_error, sizeof(s->last_error),
               "PutMetricData failed%s: %s; %zu datums kept for the next "
               "attempt",
               status, res.message, n);
      pthread_mutex_unlock(&s->stats_lock);
      return -1;
    }
  }
}

void cw_sender_last_error(cw_sender_t *s, char *buf, size_t size) {
  pthread_mutex_lock(&s->stats_lock);
  snprintf(buf, size, "%s", s->last_error);
  pthread_mutex_unlock(&s->stats_lock);
}
