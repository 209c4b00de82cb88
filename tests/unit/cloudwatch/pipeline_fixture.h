/* SPDX-License-Identifier: MIT */
/*
 * pipeline_fixture.h: what the tests that drive a cw_pipeline_t against
 * the scripted fake server of tests/fakes/fake_http.h share
 * (test_cw_pipeline.c with a PutMetricData stream, test_cw_stream_logs.c
 * with a PutLogEvents one).
 *
 * The injected functions, over one ctx_t: a clock the tests move (that
 * can jump past any deadline after a number of requests), a monotonic
 * clock that sleeping advances, random01 walking a fixed list (0.5 by
 * default), a sleep that records the delays asked for and returns at once
 * (or says stop; it may call the case back, as another thread adding
 * data while a batch is in flight would), a log kept in memory, and an
 * environment that serves one key pair on the first read and another
 * after an invalidation. Then the credentials provider and the pipeline's
 * configuration over them, the fake server, and the checks every case
 * makes: each request signed over the bytes received, the script used up
 * exactly.
 *
 * The including test defines CTYPE, its service's Content-Type.
 */
#ifndef SM_TESTS_PIPELINE_FIXTURE_H
#define SM_TESTS_PIPELINE_FIXTURE_H 1

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "aws_creds.h"
#include "aws_sigv4.h"
#include "cw_pipeline.h"
#include "fake_http.h"
#include "tap.h"

#ifndef CTYPE
#error "define CTYPE, the service's Content-Type, before pipeline_fixture.h"
#endif

/* 2025-11-26T20:00:30Z */
#define T0 ((time_t)1764187230)
#define AMZ_DATE "20251126T200030Z"
#define CRED_DATE "20251126"
#define REGION "us-east-1"

/* The environment's key pairs: the first, then (rotate) the second. */
#define K1 "AKIDSENDERTEST000001"
#define S1 "secret/one/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define K2 "AKIDSENDERTEST000002"
#define S2 "secret/two/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define TOK1 "token-one-FwoGZXIvYXdzEJr"
#define TOK2 "token-two-FwoGZXIvYXdzEJr"

/* A scripted answer of the fake service. */
#define ANSWER(code, text, extra)                                              \
  { .status = (code), .body = (text), .headers = (extra) }
#define SILENT                                                                 \
  { .action = FAKE_HTTP_SILENT }
/* The services' refusals the cases script: credentials that expired, and
 * a request signed 10 minutes behind the service's clock, which its Date
 * says. */
#define EXPIRED_TOKEN                                                          \
  ANSWER(400,                                                                  \
         "{\"__type\":\"ExpiredTokenException\",\"message\":\"The security "   \
         "token included in the request is expired\"}",                        \
         NULL)
#define SERVICE_DATE "Date: Wed, 26 Nov 2025 20:10:30 GMT\r\n"
#define SIGNATURE_EXPIRED                                                      \
  ANSWER(400,                                                                  \
         "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "  \
         "expired: 20251126T200030Z is now earlier than 20251126T200530Z "     \
         "(20251126T201030Z - 5 min.)\"}",                                     \
         SERVICE_DATE)
/* What every answer carries, as the services' do. */
#define ANSWER_HEADERS                                                         \
  "x-amzn-RequestId: 00000000-1111-2222-3333-444444444444\r\n"                 \
  "Content-Type: " CTYPE "\r\n"

/* ================================================== injected functions */

typedef struct {
  time_t now;
  uint64_t mono;     /* ms; sleeping advances it */
  const double *rnd; /* cycled; NULL: 0.5 */
  size_t nrnd, rnd_calls;
  uint64_t sleeps[64];
  size_t nsleeps;
  int stop; /* sleep says stop */
  /* called on each sleep with arg (nth counts sleeps from 0), as another
   * thread adding data would */
  void (*on_sleep)(void *arg, size_t nth);
  void *arg; /* the case's own, for its callbacks */
  char log[16384];
  size_t loglen;
  int err_logs, warn_logs, info_logs;
  /* environment */
  int no_keys;
  int id_reads;
  int rotate; /* later reads give K2 */
  int with_token;
  /* The clock jumps past any deadline once this many requests were
   * answered or timed out (0: never). */
  int deadline_after_requests;
  fake_http_t *srv;
} ctx_t;

static inline size_t srv_count(fake_http_t *s) {
  return fake_http_stats(s).requests;
}

static inline time_t fake_now(void *ud) {
  ctx_t *c = ud;
  if (c->deadline_after_requests > 0 && c->srv != NULL &&
      srv_count(c->srv) >= (size_t)c->deadline_after_requests)
    return c->now + 3600;
  return c->now;
}

/* The credentials' clock: never jumps. */
static inline time_t fake_clock(void *ud) { return ((ctx_t *)ud)->now; }

static inline uint64_t fake_mono(void *ud) { return ((ctx_t *)ud)->mono; }

static inline double fake_random(void *ud) {
  ctx_t *c = ud;
  static const double dflt[] = {0.5};
  const double *r = c->rnd ? c->rnd : dflt;
  size_t n = c->rnd ? c->nrnd : 1;
  return r[c->rnd_calls++ % n];
}

static inline int fake_sleep(uint64_t ms, void *ud) {
  ctx_t *c = ud;
  size_t nth = c->nsleeps;
  if (c->nsleeps < sizeof(c->sleeps) / sizeof(c->sleeps[0]))
    c->sleeps[c->nsleeps] = ms;
  c->nsleeps++;
  c->mono += ms;
  if (c->on_sleep != NULL)
    c->on_sleep(c->arg, nth);
  return c->stop;
}

static inline void fake_log(cw_log_level_t level, const char *msg, void *ud) {
  ctx_t *c = ud;
  int n = snprintf(c->log + c->loglen, sizeof(c->log) - c->loglen, "%s: %s\n",
                   level == CW_LOG_ERR       ? "ERR"
                   : level == CW_LOG_WARNING ? "WARNING"
                                             : "INFO",
                   msg);
  if (n > 0 && c->loglen + (size_t)n < sizeof(c->log))
    c->loglen += (size_t)n;
  if (level == CW_LOG_ERR)
    c->err_logs++;
  else if (level == CW_LOG_WARNING)
    c->warn_logs++;
  else
    c->info_logs++;
}

static inline const char *fake_getenv(void *ud, const char *name) {
  ctx_t *c = ud;
  int second;
  if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
    return "true";
  if (c->no_keys)
    return NULL;
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0) {
    c->id_reads++;
    return c->rotate && c->id_reads > 1 ? K2 : K1;
  }
  second = c->rotate && c->id_reads > 1;
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return second ? S2 : S1;
  if (strcmp(name, "AWS_SESSION_TOKEN") == 0)
    return !c->with_token ? NULL : second ? TOK2 : TOK1;
  return NULL;
}

/* The environment provider over c's getenv and clock. */
static inline aws_creds_provider_t *fake_creds(ctx_t *c) {
  aws_creds_config_t cc;
  memset(&cc, 0, sizeof(cc));
  cc.getenv_fn = fake_getenv;
  cc.getenv_ud = c;
  cc.clock_fn = fake_clock;
  cc.clock_ud = c;
  cc.home_dir = NULL;
  cc.timeout_ms = 200;
  return aws_creds_provider_create(&cc);
}

/* A pipeline's configuration over the injected functions: 3 s a request,
 * 5 attempts, backoff from 200 ms up to 20 s. */
static inline cw_pipeline_config_t
fake_config(ctx_t *c, aws_creds_provider_t *creds, pthread_mutex_t *lock) {
  return (cw_pipeline_config_t){
      .creds = creds,
      .timeout_ms = 3000,
      .max_attempts = 5,
      .backoff_base_ms = 200,
      .backoff_cap_ms = 20000,
      .lock = lock,
      .now = fake_now,
      .mono_ms = fake_mono,
      .random01 = fake_random,
      .sleep_ms = fake_sleep,
      .log = fake_log,
      .ud = c,
  };
}

/* ========================================================= the server */

/* The fake service: answers steps in order (an unscripted request 400
 * UnscriptedRequest); notes whether lock was free while each request was
 * in flight (a sender holding it would block collectd's threads). */
static inline fake_http_t *fake_server(const fake_http_step_t *steps, size_t n,
                                       pthread_mutex_t *lock) {
  fake_http_config_t cfg = {.steps = steps,
                            .nsteps = n,
                            .probe_lock = lock,
                            .headers = ANSWER_HEADERS};
  char err[256];
  fake_http_t *s = fake_http_start(&cfg, err, sizeof(err));
  if (s == NULL)
    T_NOTE("%s", err);
  return s;
}

/* Stops the fake, checks its script of nsteps was used up exactly and
 * frees it. */
static inline void check_script_used(fake_http_t *s, size_t nsteps,
                                     const char *what) {
  fake_http_stats_t st;
  char m[128];

  fake_http_stop(s);
  st = fake_http_stats(s);
  snprintf(m, sizeof(m), "%s: every scripted reply used", what);
  T_EQ_INT(st.used, nsteps, m);
  if (!T_OK(st.extra == 0, "%s: no request beyond the script", m))
    T_NOTE("%zu unscripted requests", st.extra);
  fake_http_free(s);
}

/* Request i as recorded (the server records before answering), or an
 * empty one when there is none. */
static inline const fake_http_request_t *srv_req(fake_http_t *s, size_t i) {
  static const fake_http_request_t none;
  const fake_http_request_t *r = fake_http_request(s, i);
  return r != NULL ? r : &none;
}

static inline int srv_same_body(fake_http_t *s, size_t a, size_t b) {
  const fake_http_request_t *x = srv_req(s, a), *y = srv_req(s, b);
  return x->body != NULL && y->body != NULL && x->body_len == y->body_len &&
         memcmp(x->body, y->body, x->body_len) == 0;
}

/* How a request must have been sent and signed. */
typedef struct {
  const char *host;    /* the Host header, and the host signed */
  const char *line;    /* the request line, CRLF included */
  const char *service; /* "monitoring", "logs" */
  const char *target;  /* X-Amz-Target, or its prefix (target_prefix) */
  int target_prefix;
  time_t when; /* the signing time, X-Amz-Date amz_date */
  const char *amz_date;
} signed_at_t;

/* Request i: its line, Host, Content-Type, X-Amz-Target, X-Amz-Date and
 * security token (none without one) as at says, and its Authorization
 * the signature of key over the bytes and header values received,
 * recomputed with aws_sigv4_sign. Returns the request, or NULL when none
 * was recorded. */
static inline const fake_http_request_t *
check_signature(fake_http_t *s, size_t i, const signed_at_t *at,
                const char *key, const char *secret, const char *token,
                const char *what) {
  const fake_http_request_t *r = srv_req(s, i);
  char v[4096], ct[128] = "", tg[128] = "", ce[64], want[256], m[256];
  aws_sigv4_header_t sh[3];
  size_t nsh = 0;
  aws_sigv4_request_t req;
  aws_sigv4_credentials_t sc = {key, secret, token};
  aws_sigv4_result_t res;
  const char *auth;
  size_t tlen = strlen(at->target);

  if (!T_OK(r->head != NULL, "%s: request %zu recorded", what, i))
    return NULL;
  if (!T_OK(strncmp(r->head, at->line, strlen(at->line)) == 0,
            "%s: request %zu: request line %.*s", what, i,
            (int)strcspn(at->line, "\r"), at->line))
    T_NOTE("got %.*s", (int)strcspn(r->head, "\r"), r->head);
#define MSG(text)                                                              \
  (snprintf(m, sizeof(m), "%s: request %zu: %s", what, i, text), m)
  T_EQ_STR(fake_http_header(r, "Host", v, sizeof(v)), at->host, MSG("Host"));
  if (!T_OK(fake_http_header(r, "X-Amz-Target", tg, sizeof(tg)) != NULL &&
                strncmp(tg, at->target, tlen) == 0 &&
                (at->target_prefix || tg[tlen] == '\0'),
            "%s: request %zu: X-Amz-Target %s%s", what, i, at->target,
            at->target_prefix ? "*" : ""))
    T_NOTE("got %s", tg);
  T_EQ_STR(fake_http_header(r, "Content-Type", ct, sizeof(ct)), CTYPE,
           MSG("Content-Type"));
  T_EQ_STR(fake_http_header(r, "X-Amz-Date", v, sizeof(v)), at->amz_date,
           MSG("X-Amz-Date is the injected clock's"));
  if (token != NULL)
    T_EQ_STR(fake_http_header(r, "X-Amz-Security-Token", v, sizeof(v)), token,
             MSG("X-Amz-Security-Token"));
  else
    T_OK(fake_http_header(r, "X-Amz-Security-Token", v, sizeof(v)) == NULL,
         "%s", MSG("no X-Amz-Security-Token without a session token"));
  snprintf(want, sizeof(want),
           "AWS4-HMAC-SHA256 Credential=%s/" CRED_DATE "/" REGION
           "/%s/aws4_request, ",
           key, at->service);
  auth = fake_http_header(r, "Authorization", v, sizeof(v));
  if (!T_OK(auth != NULL && strncmp(auth, want, strlen(want)) == 0,
            "%s: request %zu: Authorization names %s/" CRED_DATE "/" REGION
            "/%s/aws4_request",
            what, i, key, at->service))
    T_NOTE("Authorization: %s", auth ? auth : "(none)");

  sh[nsh++] = (aws_sigv4_header_t){"Content-Type", ct};
  sh[nsh++] = (aws_sigv4_header_t){"X-Amz-Target", tg};
  if (fake_http_header(r, "Content-Encoding", ce, sizeof(ce)) != NULL)
    sh[nsh++] = (aws_sigv4_header_t){"Content-Encoding", ce};
  req = (aws_sigv4_request_t){.method = "POST",
                              .host = at->host,
                              .path = "/",
                              .headers = sh,
                              .header_count = nsh,
                              .payload = r->body,
                              .payload_len = r->body_len,
                              .region = REGION,
                              .service = at->service,
                              .now = at->when};
  if (T_OK(aws_sigv4_sign(&req, &sc, &res) == 0, "%s: re-sign request %zu",
           what, i)) {
    T_EQ_STR(auth, aws_sigv4_result_header(&res, "Authorization"),
             MSG("Authorization is the signature over the bytes received"));
  }
#undef MSG
  aws_sigv4_result_free(&res);
  return r;
}

/* ---------------------------------------- what every case does alike:
 * start the fake service and note how it is reached, read a stream's
 * statistics, and prepare the process before the cases. */

#define FX_ADDR_MAX 64

/* An answer of the services' refusing kind: status code, a JSON body with
 * the error's __type and message. */
#define REFUSAL(code, type, message)                                           \
  ANSWER((code), "{\"__type\":\"" type "\",\"message\":\"" message "\"}", NULL)

/* The fake service answering steps, on lock (fake_server); writes its URL
 * (path "/") to url and its Host header to host, FX_ADDR_MAX bytes each.
 * NULL when it did not start. */
static inline fake_http_t *fx_serve(const fake_http_step_t *steps, size_t n,
                                    pthread_mutex_t *lock, char *url,
                                    char *host) {
  fake_http_t *s = fake_server(steps, n, lock);

  if (s != NULL) {
    snprintf(url, FX_ADDR_MAX, "%s/", fake_http_url(s));
    snprintf(host, FX_ADDR_MAX, "127.0.0.1:%d", fake_http_port(s));
  }
  return s;
}

/* The statistics of stream st of p. */
static inline cw_pipeline_stats_t fx_stream_stats(cw_pipeline_t *p, int st) {
  cw_pipeline_stats_t out;
  cw_pipeline_get_stats(p, st, &out);
  return out;
}

/* A statistic a case checks: its name, its place in cw_pipeline_stats_t
 * and what it must be. */
typedef struct {
  const char *name;
  size_t offset;
  int64_t want;
} fx_stat_t;
#define STAT(field, value)                                                     \
  { #field, offsetof(cw_pipeline_stats_t, field), (value) }

static inline void fx_check_stats_(const cw_pipeline_stats_t *got,
                                   const fx_stat_t *want, size_t n,
                                   const char *what) {
  char m[160];
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    memcpy(&v, (const char *)got + want[i].offset, sizeof(v));
    snprintf(m, sizeof(m), "%s: stats: %s", what, want[i].name);
    T_EQ_INT(v, want[i].want, m);
  }
}

/* Each statistic of *got that the STAT()s after what name is what it must
 * be (checks named "<what>: stats: <field>"). */
#define CHECK_STATS(got, what, ...)                                            \
  fx_check_stats_(                                                             \
      (got), (const fx_stat_t[]){__VA_ARGS__},                                 \
      sizeof((const fx_stat_t[]){__VA_ARGS__}) / sizeof(fx_stat_t), (what))

/* Before the cases: no SIGPIPE from a connection the fake closed, never a
 * proxy to the fake server on 127.0.0.1, and curl initialised. */
static inline void fx_process_init(void) {
  signal(SIGPIPE, SIG_IGN);
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

#endif /* SM_TESTS_PIPELINE_FIXTURE_H */
