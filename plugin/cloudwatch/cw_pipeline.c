/* SPDX-License-Identifier: MIT */
/*
 * cw_pipeline: the delivery path of every stream (see cw_pipeline.h).
 *
 * One sender thread per pipeline runs flushes; shutdown runs a last one on
 * collectd's thread after the sender thread stopped. Everything below the
 * flush (deliver, replay, spill, send, call) runs on one thread at a time;
 * the lock is taken only around the adapters' queue callbacks and the
 * waits, and the statistics have a lock of their own so that the glue may
 * read them at any time.
 */
#include "cw_pipeline.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_post.h"
#include "cw_encode.h"
#include "cw_retry.h"

/* Complaints about a failing stream are repeated at doubling intervals,
 * as collectd's c_complain does: from one minute to a day. */
#define COMPLAIN_FIRST_S 60
#define COMPLAIN_MAX_S 86400

typedef enum {
  R_DONE = 0, /* accepted, or refused for good (counted) */
  R_FAILED,   /* not accepted now: kept */
  R_STOPPED,  /* the pipeline stops or the deadline passed: kept */
} result_t;

/* The attempts of one batch, shared by its requests (prepare's too). */
typedef struct {
  unsigned attempts; /* allowed */
  unsigned failures; /* answers that asked for a retry */
  bool refreshed;    /* fresh credentials were tried */
  bool resigned;     /* signed again after a clock-skew correction */
  bool stopped;
} tries_t;

typedef struct {
  cw_pipeline_stream_t s;
  char *host, *path; /* of s.url, as SigV4 signs them */
  aws_http_t *http;
  cw_retry_budget_t budget;
  uint64_t next_request_ms; /* pacing: not before this */
  bool failing;             /* the destination failed: see cw_pipeline.h */
  /* The first stream of its spool kind replays that kind's batches, each
   * to its own destination; the others do not (a batch one of them just
   * spilled would be tried again at once). */
  bool replays;
  bool rejecting; /* the last accepted answer refused some items */
  /* complaints while failing */
  uint64_t failures;
  time_t complain_at;
  int complain_interval;
  cw_pipeline_stats_t st;
} stream_t;

struct cw_pipeline_s {
  cw_pipeline_config_t cfg;
  stream_t streams[CW_PIPELINE_MAX_STREAMS];
  int nstreams;
  cw_spool_t *spool;

  /* under cfg.lock */
  pthread_cond_t cond;
  pthread_t thread;
  bool running, thread_failed, stopping, flush_now;

  /* sender side (one thread at a time) */
  bool final;      /* the last flush, at shutdown: no pacing */
  time_t deadline; /* of the flush under way; 0: none */
  stream_t *cur;   /* the stream of the batch being sent */
  tries_t *tries;  /* its attempts */
  int64_t skew;    /* seconds added to the local clock to sign */
  int64_t skew_logged;
  unsigned char *gz; /* compressed bodies, kept from one request to the
                        next (cw_encode_gzip_into says why) */
  size_t gz_cap;

  pthread_mutex_t stats_lock;
};

/* ------------------------------------------------------------ helpers */

void cw_pipeline_log(cw_pipeline_t *p, cw_log_level_t level, const char *fmt,
                     ...) {
  char msg[1536];
  va_list ap;

  if (p->cfg.log == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  p->cfg.log(level, msg, p->cfg.ud);
}

#define STAT_ADD(p, st, field, n)                                              \
  do {                                                                         \
    pthread_mutex_lock(&(p)->stats_lock);                                      \
    (st)->st.field += (n);                                                     \
    pthread_mutex_unlock(&(p)->stats_lock);                                    \
  } while (0)

static uint64_t mono_ms(const cw_pipeline_t *p) {
  struct timespec ts;
  if (p->cfg.mono_ms != NULL)
    return p->cfg.mono_ms(p->cfg.ud);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static time_t now_s(const cw_pipeline_t *p) { return p->cfg.now(p->cfg.ud); }

static bool stopped(cw_pipeline_t *p) {
  bool stop;
  if (p->final)
    return false;
  pthread_mutex_lock(p->cfg.lock);
  stop = p->stopping;
  pthread_mutex_unlock(p->cfg.lock);
  return stop;
}

/* Whether no new request may start: told to stop, or past the deadline. */
static bool over(cw_pipeline_t *p) {
  return stopped(p) || (p->deadline != 0 && now_s(p) >= p->deadline);
}

/* Waits ms, or less: until the deadline, or until told to stop (not in
 * the final flush, where only the deadline counts). Returns non-zero when
 * the wait was cut short by either. */
static int wait_ms(cw_pipeline_t *p, uint64_t ms) {
  struct timespec until;
  int cut = 0;

  if (p->deadline != 0) {
    time_t left = p->deadline - now_s(p);
    if (left <= 0)
      return 1;
    if (ms > (uint64_t)left * 1000) {
      ms = (uint64_t)left * 1000;
      cut = 1;
    }
  }
  if (p->cfg.sleep_ms != NULL)
    return p->cfg.sleep_ms(ms, p->cfg.ud) != 0 ? 1 : cut;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(p->cfg.lock);
  while ((p->final || !p->stopping) &&
         pthread_cond_timedwait(&p->cond, p->cfg.lock, &until) == 0)
    ;
  if (!p->final && p->stopping)
    cut = 1;
  pthread_mutex_unlock(p->cfg.lock);
  return cut;
}

static const char *dest_word(const stream_t *st) {
  return st->s.kind == CW_SPOOL_LOGS ? "log stream" : "namespace";
}

/* ------------------------------------------------------------ lifecycle */

cw_pipeline_t *cw_pipeline_create(const cw_pipeline_config_t *cfg, char *err,
                                  size_t err_size) {
  cw_pipeline_t *p;

  if (cfg == NULL || cfg->creds == NULL || cfg->lock == NULL ||
      cfg->now == NULL || cfg->random01 == NULL) {
    snprintf(err, err_size,
             "the pipeline needs credentials, a lock, a clock "
             "and randomness");
    return NULL;
  }
  p = calloc(1, sizeof(*p));
  if (p == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  p->cfg = *cfg;
  if (p->cfg.max_attempts == 0)
    p->cfg.max_attempts = CW_PIPELINE_DEFAULT_MAX_ATTEMPTS;
  if (p->cfg.backoff_base_ms == 0)
    p->cfg.backoff_base_ms = CW_PIPELINE_DEFAULT_BACKOFF_BASE_MS;
  if (p->cfg.backoff_cap_ms == 0)
    p->cfg.backoff_cap_ms = CW_PIPELINE_DEFAULT_BACKOFF_CAP_MS;
  if (p->cfg.flush_interval_ms == 0)
    p->cfg.flush_interval_ms = 10000;
  pthread_cond_init(&p->cond, NULL);
  pthread_mutex_init(&p->stats_lock, NULL);
  return p;
}

int cw_pipeline_add_stream(cw_pipeline_t *p, const cw_pipeline_stream_t *s,
                           char *err, size_t err_size) {
  stream_t *st;
  char why[512];

  if (p->nstreams >= CW_PIPELINE_MAX_STREAMS) {
    snprintf(err, err_size, "too many streams");
    return -1;
  }
  if (s->claim == NULL || s->release == NULL || s->seal == NULL ||
      s->queued == NULL || s->begin == NULL || s->merge == NULL ||
      s->finish == NULL || s->url == NULL || s->region == NULL ||
      s->service == NULL || s->action == NULL || s->target_prefix == NULL) {
    snprintf(err, err_size, "%s: an incomplete stream",
             s->name != NULL ? s->name : "(unnamed)");
    return -1;
  }
  st = &p->streams[p->nstreams];
  memset(st, 0, sizeof(*st));
  st->s = *s;
  st->replays = true;
  for (int i = 0; i < p->nstreams; i++)
    if (p->streams[i].s.kind == s->kind)
      st->replays = false;
  if (aws_http_split_url(s->url, &st->host, &st->path, why, sizeof(why)) != 0) {
    snprintf(err, err_size, "%s endpoint %s", s->name, why);
    return -1;
  }
  st->http = aws_http_create();
  if (st->http == NULL) {
    free(st->host);
    free(st->path);
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  cw_retry_budget_init(&st->budget, CW_PIPELINE_RETRY_CAPACITY,
                       CW_PIPELINE_RETRY_COST);
  st->complain_interval = COMPLAIN_FIRST_S;
  return p->nstreams++;
}

void cw_pipeline_set_spool(cw_pipeline_t *p, cw_spool_t *spool) {
  p->spool = spool;
}

/* Raises the stop flag and waits for the sender thread, if it runs: at
 * most the request in flight, since every wait and loop sees the flag. */
static void stop_thread(cw_pipeline_t *p) {
  bool join;

  pthread_mutex_lock(p->cfg.lock);
  p->stopping = true;
  join = p->running;
  p->running = false;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(p->cfg.lock);
  if (join)
    pthread_join(p->thread, NULL);
}

void cw_pipeline_destroy(cw_pipeline_t *p) {
  if (p == NULL)
    return;
  stop_thread(p);
  for (int i = 0; i < p->nstreams; i++) {
    aws_http_destroy(p->streams[i].http);
    free(p->streams[i].host);
    free(p->streams[i].path);
  }
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->stats_lock);
  free(p->gz);
  free(p);
}

void cw_pipeline_get_stats(cw_pipeline_t *p, int stream,
                           cw_pipeline_stats_t *out) {
  memset(out, 0, sizeof(*out));
  if (stream < 0 || stream >= p->nstreams)
    return;
  pthread_mutex_lock(&p->stats_lock);
  *out = p->streams[stream].st;
  pthread_mutex_unlock(&p->stats_lock);
}

int64_t cw_pipeline_clock_offset(cw_pipeline_t *p) {
  int64_t v;
  pthread_mutex_lock(&p->stats_lock);
  v = p->skew;
  pthread_mutex_unlock(&p->stats_lock);
  return v;
}

/* ------------------------------------------------------------ complaints */

/* A failure of st's destination: the first is logged, then again at
 * doubling intervals while it lasts. */
static void complain(cw_pipeline_t *p, stream_t *st, cw_log_level_t level,
                     const char *msg) {
  time_t now = now_s(p);

  st->failures++;
  if (st->failures > 1 && now < st->complain_at && !p->final)
    return;
  if (st->failures > 1 && st->complain_interval < COMPLAIN_MAX_S)
    st->complain_interval *= 2;
  st->complain_at = now + st->complain_interval;
  if (st->failures > 1)
    cw_pipeline_log(p, level, "%s (%" PRIu64 " failures so far)", msg,
                    st->failures);
  else
    cw_pipeline_log(p, level, "%s", msg);
}

static void recovered(cw_pipeline_t *p, stream_t *st) {
  if (st->failures > 0)
    cw_pipeline_log(p, CW_LOG_INFO,
                    "%s succeeds again for the %s after %" PRIu64 " failures",
                    st->s.action, st->s.name, st->failures);
  st->failures = 0;
  st->complain_interval = COMPLAIN_FIRST_S;
}

/* ------------------------------------------------------------ requests */

/* Keeps requests to max_requests_per_second (not in the final flush).
 * Non-zero when the wait was cut short. */
static int pace(cw_pipeline_t *p, stream_t *st) {
  uint64_t now, gap;

  if (p->final || !(st->s.max_requests_per_second > 0))
    return 0;
  gap = (uint64_t)(1000.0 / st->s.max_requests_per_second);
  now = mono_ms(p);
  if (st->next_request_ms > now && wait_ms(p, st->next_request_ms - now) != 0)
    return -1;
  now = mono_ms(p);
  st->next_request_ms =
      (st->next_request_ms > now ? st->next_request_ms : now) + gap;
  return 0;
}

/* One signed POST of action with body; counts what went out. An answer
 * with the error type expected (NULL: none) is not a failed request. */
static aws_http_class_t post(cw_pipeline_t *p, stream_t *st, const char *action,
                             const void *body, size_t len, const char *expected,
                             aws_http_result_t *res, aws_creds_t *used) {
  size_t gz_len = 0;
  char target[128], warn[1024];
  aws_sigv4_header_t sh[3] = {{"Content-Type", st->s.content_type},
                              {"X-Amz-Target", target},
                              {"Content-Encoding", "gzip"}};
  time_t local = now_s(p);
  aws_post_t req = {.url = st->s.url,
                    .host = st->host,
                    .path = st->path,
                    .region = st->s.region,
                    .service = st->s.service,
                    .headers = sh,
                    .header_count = 2,
                    .payload = body,
                    .payload_len = len,
                    .now = (time_t)((int64_t)local + p->skew),
                    .timeout_ms = p->cfg.timeout_ms};
  aws_http_class_t cls;

  /* A request does not outlast the deadline (the shutdown's bound). */
  if (p->deadline != 0 && p->deadline > local &&
      (long)(p->deadline - local) * 1000L < req.timeout_ms)
    req.timeout_ms = (long)(p->deadline - local) * 1000L;

  snprintf(target, sizeof(target), "%s%s", st->s.target_prefix, action);
  if (cw_encode_gzip_wanted(len, st->s.compress_threshold) &&
      cw_encode_gzip_into(body, len, 6, &p->gz, &p->gz_cap, &gz_len) ==
          CW_ENCODE_GZIP_OK &&
      gz_len < len) {
    req.payload = p->gz;
    req.payload_len = gz_len;
    req.header_count = 3;
  }
  cls = aws_post(st->http, &req, p->cfg.creds, used, res, warn, sizeof(warn));
  if (warn[0])
    cw_pipeline_log(p, CW_LOG_WARNING, "%s", warn);
  pthread_mutex_lock(&p->stats_lock);
  if (res->status != 0) { /* answered: it reached the service */
    st->st.requests++;
    st->st.bytes_sent += req.payload_len;
    st->st.bytes_raw += len;
    if (cls != AWS_HTTP_OK &&
        (expected == NULL || strcmp(res->error_type, expected) != 0))
      st->st.requests_failed++;
  } else if (res->bytes_sent > 0) { /* went out, no answer */
    st->st.requests_unanswered++;
  }
  pthread_mutex_unlock(&p->stats_lock);
  /* The service's clock, whatever the answer (as the AWS SDKs do): a
   * Date five minutes or more away from the clock signed with becomes
   * the offset. */
  if (res->date != 0) {
    int64_t off = res->date - (int64_t)local;
    int64_t diff = off - p->skew;
    if (diff >= AWS_HTTP_SKEW_MIN_S || diff <= -AWS_HTTP_SKEW_MIN_S) {
      pthread_mutex_lock(&p->stats_lock);
      p->skew = off;
      pthread_mutex_unlock(&p->stats_lock);
    }
  }
  if (cls != AWS_HTTP_OK && cls != AWS_HTTP_RETRY)
    cls = aws_http_classify_at(res, (int64_t)local, (int64_t)req.now - local);
  return cls;
}

/* One request with its retries (see cw_pipeline.h), within the batch's
 * tries. Returns the last answer's class: OK, PERMANENT or DENIED as they
 * come; RETRY when the attempts, the budget or the time ran out (or the
 * pipeline stops: t->stopped). */
static aws_http_class_t call(cw_pipeline_t *p, stream_t *st, tries_t *t,
                             const char *action, const void *body, size_t len,
                             const char *expected, aws_http_result_t *res) {
  memset(res, 0, sizeof(*res));
  for (;;) {
    aws_creds_t used;
    aws_http_class_t cls;
    uint64_t wait;

    if (over(p) || pace(p, st) != 0) {
      t->stopped = true;
      if (res->message[0] == 0)
        snprintf(res->message, sizeof(res->message), "%s",
                 stopped(p) ? "stopping" : "out of time");
      return AWS_HTTP_RETRY;
    }
    memset(&used, 0, sizeof(used));
    cls = post(p, st, action, body, len, expected, res, &used);
    if (cls == AWS_HTTP_CREDENTIALS && used.access_key_id != NULL)
      aws_creds_invalidate(p->cfg.creds, &used);
    aws_creds_clear(&used);
    switch (cls) {
    case AWS_HTTP_OK:
      cw_retry_budget_success(&st->budget);
      return cls;
    case AWS_HTTP_PERMANENT:
    case AWS_HTTP_DENIED:
      return cls;
    case AWS_HTTP_CLOCK_SKEW:
      if (!t->resigned) {
        t->resigned = true;
        if (p->skew != p->skew_logged) {
          p->skew_logged = p->skew;
          cw_pipeline_log(p, CW_LOG_WARNING,
                          "%s: %s (%s): this host's clock is %" PRId64
                          " s %s the service's; signing with the service's "
                          "time from now on",
                          action, res->error_type, res->message,
                          p->skew > 0 ? p->skew : -p->skew,
                          p->skew > 0 ? "behind" : "ahead of");
        }
        STAT_ADD(p, st, retries, 1);
        continue;
      }
      break;
    case AWS_HTTP_CREDENTIALS:
      /* Fresh credentials get one immediate try. */
      if (!t->refreshed) {
        t->refreshed = true;
        STAT_ADD(p, st, retries, 1);
        cw_pipeline_log(p, CW_LOG_WARNING,
                        "%s: %s (%s); retrying with fresh credentials", action,
                        res->error_type, res->message);
        continue;
      }
      break;
    case AWS_HTTP_RETRY:
      break;
    }
    t->failures++;
    if (over(p)) {
      /* Stopping, or the deadline: not a failure of the destination. */
      t->stopped = true;
      return AWS_HTTP_RETRY;
    }
    if (t->failures >= t->attempts || cw_retry_budget_take(&st->budget) != 0)
      return AWS_HTTP_RETRY;
    wait =
        cw_retry_backoff_ms(t->failures - 1, p->cfg.backoff_base_ms,
                            p->cfg.backoff_cap_ms, p->cfg.random01(p->cfg.ud));
    if (res->retry_after_ms > 0) {
      /* The service said when: not sooner, and not at all within this
       * flush when that is too far. */
      if (res->retry_after_ms > CW_PIPELINE_MAX_RETRY_AFTER_MS)
        return AWS_HTTP_RETRY;
      if ((uint64_t)res->retry_after_ms > wait)
        wait = (uint64_t)res->retry_after_ms;
    }
    if (wait_ms(p, wait) != 0) {
      t->stopped = true;
      return AWS_HTTP_RETRY;
    }
    STAT_ADD(p, st, retries, 1);
  }
}

aws_http_class_t cw_pipeline_call(cw_pipeline_t *p, const char *action,
                                  const void *body, size_t len,
                                  const char *expected,
                                  aws_http_result_t *res) {
  if (p->cur == NULL || p->tries == NULL) {
    memset(res, 0, sizeof(*res));
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "no batch under way");
    return AWS_HTTP_RETRY;
  }
  return call(p, p->cur, p->tries, action, body, len, expected, res);
}

const char *cw_pipeline_response(cw_pipeline_t *p, size_t *len) {
  if (p->cur == NULL) {
    *len = 0;
    return "";
  }
  return aws_http_response_body(p->cur->http, len);
}

/* "HTTP 400 ThrottlingException: Rate exceeded", or the transport error. */
static void describe(const aws_http_result_t *res, char *buf, size_t size) {
  if (res->status != 0)
    snprintf(buf, size, "HTTP %ld%s%s: %s", res->status,
             res->error_type[0] ? " " : "", res->error_type, res->message);
  else
    snprintf(buf, size, "%s", res->message);
}

/* Sends one finished batch of st with its attempts. */
static result_t send_batch(cw_pipeline_t *p, stream_t *st, cw_batch_t *b) {
  tries_t t = {.attempts = st->failing ? 1 : p->cfg.max_attempts};
  aws_http_result_t res;
  aws_http_class_t cls = AWS_HTTP_RETRY;
  bool again = false;
  char why[800];

  p->cur = st;
  p->tries = &t;
  for (;;) {
    if (st->s.prepare != NULL && st->s.prepare(st->s.ud, p, b, &res) != 0) {
      cls = AWS_HTTP_RETRY;
      break;
    }
    cls = call(p, st, &t, st->s.action, b->body, b->len, NULL, &res);
    if (cls == AWS_HTTP_PERMANENT && !again && st->s.refusal_fixable != NULL &&
        st->s.refusal_fixable(st->s.ud, b, &res)) {
      again = true;
      STAT_ADD(p, st, retries, 1);
      continue;
    }
    break;
  }
  p->tries = NULL;
  describe(&res, why, sizeof(why));

  if (cls == AWS_HTTP_OK) {
    size_t refused = 0, rlen;
    const char *resp = aws_http_response_body(st->http, &rlen);
    if (st->s.refused != NULL)
      refused = st->s.refused(st->s.ud, b, resp, rlen);
    if (refused > b->items)
      refused = b->items;
    if (refused > 0 && !st->rejecting)
      cw_pipeline_log(p, CW_LOG_WARNING,
                      "%s to %s %s: the service refused %zu of %zu %s "
                      "(too old or too new); counted as refused, not logged "
                      "again until it takes all",
                      st->s.action, dest_word(st), b->dest, refused, b->items,
                      st->s.item_name);
    else if (refused == 0 && st->rejecting)
      cw_pipeline_log(p, CW_LOG_INFO, "%s to %s %s takes every %s again",
                      st->s.action, dest_word(st), b->dest,
                      st->s.item_name[0] == 'e' ? "event" : "datum");
    st->rejecting = refused > 0;
    pthread_mutex_lock(&p->stats_lock);
    st->st.items_sent += b->items - refused;
    st->st.items_refused += refused;
    pthread_mutex_unlock(&p->stats_lock);
    p->cur = NULL;
    return R_DONE;
  }
  p->cur = NULL;
  if (cls == AWS_HTTP_PERMANENT) {
    cw_pipeline_log(p, CW_LOG_ERR, "%s refused %zu %s (%s %s: %s); dropped",
                    st->s.action, b->items, st->s.item_name, dest_word(st),
                    b->dest, why);
    STAT_ADD(p, st, items_refused, b->items);
    return R_DONE;
  }
  if (t.stopped)
    return R_STOPPED;
  {
    char msg[2400];
    if (cls == AWS_HTTP_DENIED)
      snprintf(msg, sizeof(msg),
               "%s denied (%s %s: %s): the identity needs the permission "
               "%s:%s; %zu %s kept for later",
               st->s.action, dest_word(st), b->dest, why, st->s.iam_prefix,
               st->s.action, b->items, st->s.item_name);
    else
      snprintf(msg, sizeof(msg), "%s failed (%s %s: %s); %zu %s kept for later",
               st->s.action, dest_word(st), b->dest, why, b->items,
               st->s.item_name);
    complain(p, st, CW_LOG_ERR, msg);
  }
  return R_FAILED;
}

/* ------------------------------------------------------------ spool */

/* Moves everything st's queue holds to the spool (no network). Returns
 * the items spooled; stops at the first write that fails (those stay
 * queued). */
static size_t spill(cw_pipeline_t *p, stream_t *st) {
  size_t total = 0;

  if (p->spool == NULL)
    return 0;
  for (;;) {
    cw_batch_t b;
    char err[600];
    size_t n;
    int rc;

    memset(&b, 0, sizeof(b));
    pthread_mutex_lock(p->cfg.lock);
    n = st->s.claim(st->s.ud, &b, (double)now_s(p));
    pthread_mutex_unlock(p->cfg.lock);
    STAT_ADD(p, st, items_expired, b.expired);
    STAT_ADD(p, st, items_invalid, b.invalid);
    if (n == 0)
      return total;
    st->s.finish(st->s.ud, &b);
    /* The disk is written unlocked: the claimed items stay put. */
    rc = cw_spool_write(p->spool, st->s.kind, b.dest, b.body, b.len, b.items,
                        b.oldest, err, sizeof(err));
    pthread_mutex_lock(p->cfg.lock);
    st->s.release(st->s.ud, rc == 0);
    pthread_mutex_unlock(p->cfg.lock);
    if (rc != 0) {
      STAT_ADD(p, st, spool_errors, 1);
      cw_pipeline_log(p, CW_LOG_ERR,
                      "cannot spool %zu %s: %s; they stay queued", n,
                      st->s.item_name, err);
      return total;
    }
    STAT_ADD(p, st, items_spooled, n);
    total += n;
  }
}

/* Sends the spooled batches of st's kind, oldest first, each merged with
 * the next ones of its destination into a full request. */
/* Spooled batches that were delivered (or held only items too old to
 * send) leave the spool; their expired items are counted then, once. */
static void replayed(cw_pipeline_t *p, stream_t *st, const uint64_t *seqs,
                     size_t n, size_t expired) {
  for (size_t i = 0; i < n; i++)
    cw_spool_remove(p->spool, seqs[i]);
  if (expired == 0)
    return;
  STAT_ADD(p, st, items_expired, expired);
  cw_pipeline_log(p, CW_LOG_WARNING,
                  "spool: %zu %s older than the service accepts dropped",
                  expired, st->s.item_name);
}

static result_t replay(cw_pipeline_t *p, stream_t *st) {
  for (;;) {
    cw_spool_batch_t first, next;
    uint64_t merged[64];
    size_t nmerged = 0;
    cw_batch_t b;
    char err[600];
    result_t r;

    if (over(p))
      return R_STOPPED;
    if (!cw_spool_next(p->spool, 0, st->s.kind, NULL, &first))
      return R_DONE;
    memset(&b, 0, sizeof(b));
    snprintf(b.dest, sizeof(b.dest), "%s", first.dest);
    if (st->s.begin(st->s.ud, first.dest) != 0) {
      cw_pipeline_log(p, CW_LOG_ERR,
                      "spool: %" PRIu64 " %s for \"%s\" cannot be sent there; "
                      "dropped",
                      first.items, st->s.item_name, first.dest);
      STAT_ADD(p, st, items_refused, first.items);
      STAT_ADD(p, st, spool_errors, 1);
      cw_spool_remove(p->spool, first.seq);
      continue;
    }
    snprintf(b.dest, sizeof(b.dest), "%s", first.dest);
    next = first;
    for (;;) {
      char *body = NULL;
      size_t len = 0;
      int rc = cw_spool_read(p->spool, next.seq, &body, &len, err, sizeof(err));
      uint64_t seq = next.seq;
      if (rc == -2) {
        STAT_ADD(p, st, spool_errors, 1);
        cw_pipeline_log(p, CW_LOG_ERR, "spool: %s", err);
      } else if (rc < 0) {
        cw_pipeline_log(p, CW_LOG_ERR, "spool: %s", err);
        if (nmerged == 0)
          return R_FAILED;
        break;
      } else {
        rc = st->s.merge(st->s.ud, &b, body, len, (double)now_s(p), err,
                         sizeof(err));
        free(body);
        if (rc == 0)
          break; /* full: the rest goes in the next request */
        if (rc < 0) {
          cw_pipeline_log(p, CW_LOG_ERR,
                          "spool: a batch of %" PRIu64 " %s is unreadable "
                          "(%s); dropped",
                          next.items, st->s.item_name, err);
          STAT_ADD(p, st, spool_errors, 1);
          STAT_ADD(p, st, items_refused, next.items);
          cw_spool_remove(p->spool, seq);
        } else {
          merged[nmerged++] = seq;
        }
      }
      if (nmerged == sizeof(merged) / sizeof(merged[0]) ||
          !cw_spool_next(p->spool, seq, st->s.kind, b.dest, &next))
        break;
    }
    if (b.items > 0) {
      st->s.finish(st->s.ud, &b);
      r = send_batch(p, st, &b);
      if (r != R_DONE)
        return r; /* kept: its expired items are counted when it goes */
    }
    replayed(p, st, merged, nmerged, b.expired);
    if (b.items == 0)
      continue;
    st->failing = false;
    recovered(p, st);
  }
}

/* ------------------------------------------------------------ flushes */

static size_t queued(cw_pipeline_t *p, stream_t *st) {
  size_t n;
  pthread_mutex_lock(p->cfg.lock);
  n = st->s.queued(st->s.ud);
  pthread_mutex_unlock(p->cfg.lock);
  return n;
}

/* One stream's part of a flush. */
static void deliver(cw_pipeline_t *p, stream_t *st) {
  if (st->failing)
    spill(p, st);
  if (p->spool != NULL && !p->final && st->replays) {
    cw_spool_batch_t any;
    if (cw_spool_next(p->spool, 0, st->s.kind, NULL, &any)) {
      result_t r = replay(p, st);
      if (r == R_FAILED) {
        st->failing = true;
        spill(p, st);
      }
      if (r != R_DONE)
        return;
    }
  }
  for (;;) {
    cw_batch_t b;
    size_t n;
    result_t r;

    if (over(p))
      return;
    memset(&b, 0, sizeof(b));
    pthread_mutex_lock(p->cfg.lock);
    n = st->s.claim(st->s.ud, &b, (double)now_s(p));
    if (n == 0)
      st->s.release(st->s.ud, 0);
    pthread_mutex_unlock(p->cfg.lock);
    STAT_ADD(p, st, items_expired, b.expired);
    STAT_ADD(p, st, items_invalid, b.invalid);
    if (n == 0)
      return;
    st->s.finish(st->s.ud, &b);
    r = send_batch(p, st, &b);
    pthread_mutex_lock(p->cfg.lock);
    st->s.release(st->s.ud, r == R_DONE);
    pthread_mutex_unlock(p->cfg.lock);
    if (r == R_STOPPED)
      return;
    if (r == R_FAILED) {
      st->failing = true;
      spill(p, st);
      return;
    }
    if (st->failing || st->failures > 0) {
      st->failing = false;
      recovered(p, st);
    }
  }
}

int cw_pipeline_run(cw_pipeline_t *p, time_t deadline) {
  int left = 0;

  p->deadline = deadline;
  for (int i = 0; i < p->nstreams; i++) {
    pthread_mutex_lock(p->cfg.lock);
    p->streams[i].s.seal(p->streams[i].s.ud);
    pthread_mutex_unlock(p->cfg.lock);
    deliver(p, &p->streams[i]);
  }
  for (int i = 0; i < p->nstreams; i++) {
    cw_spool_batch_t any;
    if (queued(p, &p->streams[i]) > 0 ||
        (p->spool != NULL &&
         cw_spool_next(p->spool, 0, p->streams[i].s.kind, NULL, &any)))
      left = -1;
  }
  p->deadline = 0;
  return left;
}

static void add_ms(struct timespec *t, uint64_t ms) {
  t->tv_sec += (time_t)(ms / 1000);
  t->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t->tv_nsec >= 1000000000L) {
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec ||
         (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Flushes begin FlushInterval apart, however long each takes (pacing, a
 * slow answer), so that what merges in the queues between two flushes is
 * one interval's worth: counted from the end of each flush, a flush that
 * took half the interval let half as much again pile up. A flush that
 * took longer than the interval (retries) is followed by a full interval
 * all the same, so that a failing destination is not asked again at
 * once.
 * The first flush comes a little later than one interval after the start
 * (a quarter interval, at most a second): collectd runs each read callback
 * an Interval apart from when it was registered, just before the writers'
 * start, so with FlushInterval equal to Interval a flush exactly in step
 * would begin a moment before every read and hold what it dispatched for
 * a whole interval. */
static void *sender_main(void *arg) {
  cw_pipeline_t *p = arg;
  struct timespec until;
  uint64_t lag = p->cfg.flush_interval_ms / 4;

  clock_gettime(CLOCK_REALTIME, &until);
  add_ms(&until, p->cfg.flush_interval_ms + (lag < 1000 ? lag : 1000));
  for (;;) {
    struct timespec start, now;
    bool stop;

    pthread_mutex_lock(p->cfg.lock);
    while (!p->stopping && !p->flush_now)
      if (pthread_cond_timedwait(&p->cond, p->cfg.lock, &until) != 0)
        break;
    p->flush_now = false;
    stop = p->stopping;
    pthread_mutex_unlock(p->cfg.lock);
    if (stop)
      break;
    clock_gettime(CLOCK_REALTIME, &start);
    if (p->cfg.before_flush != NULL)
      p->cfg.before_flush(p->cfg.ud);
    cw_pipeline_run(p, 0);
    if (p->cfg.after_flush != NULL)
      p->cfg.after_flush(p->cfg.ud);
    until = start;
    add_ms(&until, p->cfg.flush_interval_ms);
    clock_gettime(CLOCK_REALTIME, &now);
    if (!before(&now, &until)) {
      until = now;
      add_ms(&until, p->cfg.flush_interval_ms);
    }
  }
  return NULL;
}

int cw_pipeline_start(cw_pipeline_t *p) {
  int rc;

  if (p->running)
    return 0;
  if (p->thread_failed || p->stopping)
    return -1;
  rc = p->cfg.thread_create != NULL
           ? p->cfg.thread_create(&p->thread, sender_main, p, p->cfg.ud)
           : pthread_create(&p->thread, NULL, sender_main, p);
  if (rc != 0) {
    p->thread_failed = true;
    return -1;
  }
  p->running = true;
  return 0;
}

void cw_pipeline_flush(cw_pipeline_t *p) {
  p->flush_now = true;
  pthread_cond_broadcast(&p->cond);
}

void cw_pipeline_stop(cw_pipeline_t *p, time_t deadline) {
  uint64_t spooled_before[CW_PIPELINE_MAX_STREAMS];

  stop_thread(p);
  if (p->cfg.before_stop != NULL)
    p->cfg.before_stop(p->cfg.ud);

  p->final = true;
  pthread_mutex_lock(&p->stats_lock);
  for (int i = 0; i < p->nstreams; i++)
    spooled_before[i] = p->streams[i].st.items_spooled;
  pthread_mutex_unlock(&p->stats_lock);
  cw_pipeline_run(p, deadline);
  for (int i = 0; i < p->nstreams; i++) {
    stream_t *st = &p->streams[i];
    uint64_t spooled;
    size_t left;
    const char *why;

    pthread_mutex_lock(p->cfg.lock);
    st->s.seal(st->s.ud);
    pthread_mutex_unlock(p->cfg.lock);
    spill(p, st);
    pthread_mutex_lock(p->cfg.lock);
    left = st->s.queued(st->s.ud);
    why = st->s.unspoolable != NULL ? st->s.unspoolable(st->s.ud) : NULL;
    pthread_mutex_unlock(p->cfg.lock);
    pthread_mutex_lock(&p->stats_lock);
    spooled = st->st.items_spooled - spooled_before[i];
    pthread_mutex_unlock(&p->stats_lock);
    if (spooled > 0)
      cw_pipeline_log(p, CW_LOG_INFO,
                      "shutdown: %" PRIu64 " %s of the %s spooled for the "
                      "next start",
                      spooled, st->s.item_name, st->s.name);
    if (left > 0) {
      STAT_ADD(p, st, items_unsent, left);
      cw_pipeline_log(
          p, CW_LOG_WARNING, "shutdown: %zu %s of the %s not sent (%s)", left,
          st->s.item_name, st->s.name,
          p->spool == NULL && !p->cfg.spool_configured ? "no SpoolDirectory"
          : p->spool == NULL                           ? "the spool is not open"
          : why != NULL                                ? why
                        : "the spool refused them");
    }
  }
  p->final = false;
}
