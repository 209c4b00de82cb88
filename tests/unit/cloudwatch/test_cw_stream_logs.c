/* SPDX-License-Identifier: MIT */
/*
 * cw_stream_logs: the data log's PutLogEvents stream on the delivery
 * pipeline. A cw_pipeline_t with one cw_stream_logs stream is driven by
 * cw_pipeline_run() (and cw_pipeline_stop()) against a scripted fake
 * CloudWatch Logs (tests/fakes/fake_http.h): a thread serving HTTP/1.1 on
 * 127.0.0.1 that answers each request with the next scripted reply and
 * records the request's head and body. Every server case ends by checking
 * that each scripted reply was used and that no request came beyond the
 * script. Request bodies are read back with yajl_tree; signatures are
 * computed again over the bytes received.
 *
 * Time, randomness, sleeping, logging and the environment the credentials
 * come from are injected: the clock is fixed (tests move it), random01 is
 * 0.5, sleep records the delays asked for and returns at once (or says
 * stop; it may also add events, as collectd's threads would while a batch
 * is in flight), getenv serves one key pair on the first read and another
 * after an invalidation. The spool cases use a spool in a temporary
 * directory, filled by the pipeline or, to control its batches exactly,
 * by cw_spool_write with bodies written here.
 *
 * Also the adapter's two readers on their own: cw_stream_logs_rejected
 * (rejectedLogEventsInfo) and cw_stream_logs_decode (spooled bodies).
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "aws_sigv4.h"
#include "cw_logs.h"
#include "cw_pipeline.h"
#include "cw_spool.h"
#include "cw_stream_logs.h"
#include "fake_http.h"
#include "logs_test_util.h"
#include "tap.h"

#define CTYPE "application/x-amz-json-1.1"
#include "pipeline_fixture.h"

_Static_assert(T0_MS == (int64_t)T0 * 1000, "the fixture and the logs' T0");
#define TARGET_PREFIX "Logs_20140328."
#define DEST GROUP ":" STREAM
#define DEST2 GROUP2 ":" STREAM2

/* ============================================================ requests */

typedef struct {
  char target[128];
  yajl_val root;
  const char *group, *stream;
  yajl_val events; /* array, or NULL */
} body_t;

/* Parses request i: its target (without the prefix) and JSON body. */
static int body_parse(fake_http_t *s, size_t i, body_t *b) {
  static const char *gp[] = {"logGroupName", NULL};
  static const char *sp[] = {"logStreamName", NULL};
  static const char *ep[] = {"logEvents", NULL};
  char t[128], err[256];
  const fake_http_request_t *r = fake_http_request(s, i);
  yajl_val v;

  memset(b, 0, sizeof(*b));
  if (r == NULL)
    return -1;
  if (fake_http_header(r, "X-Amz-Target", t, sizeof(t)) != NULL &&
      strncmp(t, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0)
    snprintf(b->target, sizeof(b->target), "%s", t + strlen(TARGET_PREFIX));
  b->root = yajl_tree_parse((const char *)r->body, err, sizeof(err));
  if (b->root == NULL || !YAJL_IS_OBJECT(b->root)) {
    T_NOTE("request %zu: not a JSON object: %.100s", i, err);
    return -1;
  }
  v = yajl_tree_get(b->root, gp, yajl_t_string);
  b->group = v ? YAJL_GET_STRING(v) : NULL;
  v = yajl_tree_get(b->root, sp, yajl_t_string);
  b->stream = v ? YAJL_GET_STRING(v) : NULL;
  b->events = yajl_tree_get(b->root, ep, yajl_t_array);
  return 0;
}

static void body_free(body_t *b) { yajl_tree_free(b->root); }

static size_t body_num(const body_t *b) {
  return b->events ? b->events->u.array.len : 0;
}

static int64_t body_ts(const body_t *b, size_t k) {
  static const char *tp[] = {"timestamp", NULL};
  yajl_val v = yajl_tree_get(b->events->u.array.values[k], tp, yajl_t_number);
  return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : INT64_MIN;
}

static const char *body_msg(const body_t *b, size_t k) {
  static const char *mp[] = {"message", NULL};
  yajl_val v = yajl_tree_get(b->events->u.array.values[k], mp, yajl_t_string);
  return v ? YAJL_GET_STRING(v) : "(none)";
}

/* Request i is a Create* for group (and stream): exactly those members. */
static void check_create(fake_http_t *s, size_t i, const char *group,
                         const char *stream, const char *what) {
  body_t b;
  const char *want = stream ? "CreateLogStream" : "CreateLogGroup";
  int ok =
      body_parse(s, i, &b) == 0 && strcmp(b.target, want) == 0 &&
      b.group != NULL && strcmp(b.group, group) == 0 &&
      b.root->u.object.len == (stream ? 2u : 1u) &&
      (stream == NULL || (b.stream != NULL && strcmp(b.stream, stream) == 0));
  if (!T_OK(ok, "%s: request %zu is %s %s%s%s", what, i, want, group,
            stream ? ":" : "", stream ? stream : ""))
    T_NOTE("target %s", b.target);
  body_free(&b);
}

/* Request i is a PutLogEvents for group:stream with messages
 * "<tag>-<idx[k]>" (at timestamps ts[k] unless ts is NULL), in that order,
 * and nothing else. */
static void check_put_ts(fake_http_t *s, size_t i, const char *group,
                         const char *stream, const char *tag, const size_t *idx,
                         const int64_t *ts, size_t n, const char *what) {
  body_t b;
  int ok = body_parse(s, i, &b) == 0 && strcmp(b.target, "PutLogEvents") == 0 &&
           b.group != NULL && strcmp(b.group, group) == 0 && b.stream != NULL &&
           strcmp(b.stream, stream) == 0 && b.events != NULL &&
           b.root->u.object.len == 3 && body_num(&b) == n;
  char want[64];

  for (size_t k = 0; ok && k < n; k++) {
    snprintf(want, sizeof(want), "%s-%05zu", tag, idx[k]);
    ok = strcmp(body_msg(&b, k), want) == 0 &&
         b.events->u.array.values[k]->u.object.len == 2 &&
         (ts == NULL || body_ts(&b, k) == ts[k]);
    if (!ok)
      T_NOTE("event %zu: %s at %lld, want %s", k, body_msg(&b, k),
             (long long)body_ts(&b, k), want);
  }
  if (!T_OK(ok,
            "%s: request %zu is PutLogEvents %s:%s with %zu events in "
            "order",
            what, i, group, stream, n))
    T_NOTE("target %s, %zu events, group %s, stream %s", b.target, body_num(&b),
           b.group ? b.group : "-", b.stream ? b.stream : "-");
  body_free(&b);
}

static void check_put(fake_http_t *s, size_t i, const char *group,
                      const char *stream, const char *tag, const size_t *idx,
                      size_t n, const char *what) {
  check_put_ts(s, i, group, stream, tag, idx, NULL, n, what);
}

/* check_put with the indexes written out: as many events. */
#define CHECK_PUT(s, i, group, stream, tag, what, ...)                         \
  check_put((s), (i), (group), (stream), (tag), (const size_t[]){__VA_ARGS__}, \
            sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t), (what))

/* ============================================================ fixture */

typedef struct {
  ctx_t c;
  fake_http_t *srv;
  size_t nsteps;
  aws_creds_provider_t *creds;
  cw_pipeline_config_t cfg;
  cw_pipeline_t *p;
  cw_logs_queue_t *q;
  cw_stream_logs_t *l;
  cw_spool_t *sp;
  int st;
  size_t max_events;
  pthread_mutex_t lock;
  char url[FX_ADDR_MAX];
  char host[FX_ADDR_MAX];
  char dir[64];
} fx_t;

/* Every one of the needles is in fx's log: one check, what; the log noted
 * when not. */
static void log_has(const fx_t *fx, const char *what,
                    const char *const *needles) {
  int ok = 1;
  for (size_t i = 0; needles[i] != NULL; i++)
    ok &= strstr(fx->c.log, needles[i]) != NULL;
  if (!T_OK(ok, "%s", what))
    T_NOTE("log: %s", fx->c.log);
}
#define LOG_HAS(fx, what, ...)                                                 \
  log_has((fx), (what), (const char *const[]){__VA_ARGS__, NULL})

/* The fake server, the credentials and the configuration; fx_open makes
 * the queue, the adapter and the pipeline (tests change fx->cfg or
 * fx->max_events in between). */
static int fx_init(fx_t *fx, const fake_http_step_t *steps, size_t n) {
  memset(fx, 0, sizeof(*fx));
  fx->c.now = T0;
  fx->c.mono = 1000000;
  fx->c.arg = fx;
  fx->max_events = 100;
  pthread_mutex_init(&fx->lock, NULL);
  fx->nsteps = n;
  fx->srv = fx_serve(steps, n, &fx->lock, fx->url, fx->host);
  if (fx->srv == NULL)
    return -1;
  fx->creds = fake_creds(&fx->c);
  fx->cfg = fake_config(&fx->c, fx->creds, &fx->lock);
  return fx->creds != NULL ? 0 : -1;
}

/* A pipeline (and adapter) on fx's queue, with fx's spool if it has one:
 * what a (re)start of the plugin makes. */
static int fx_pipeline(fx_t *fx) {
  cw_pipeline_stream_t s;
  char err[512];

  if (fx->p != NULL)
    cw_pipeline_destroy(fx->p);
  cw_stream_logs_destroy(fx->l);
  fx->p = NULL;
  fx->l = cw_stream_logs_create(fx->q);
  if (fx->l == NULL)
    return -1;
  fx->p = cw_pipeline_create(&fx->cfg, err, sizeof(err));
  if (fx->p == NULL) {
    T_NOTE("cw_pipeline_create: %s", err);
    return -1;
  }
  memset(&s, 0, sizeof(s));
  cw_stream_logs_describe(fx->l, &s);
  s.url = fx->url;
  s.region = REGION;
  fx->st = cw_pipeline_add_stream(fx->p, &s, err, sizeof(err));
  if (fx->st < 0) {
    T_NOTE("cw_pipeline_add_stream: %s", err);
    return -1;
  }
  cw_pipeline_set_spool(fx->p, fx->sp);
  return 0;
}

static int fx_open(fx_t *fx) {
  fx->q = cw_logs_queue_create(fx->max_events);
  return fx->q != NULL ? fx_pipeline(fx) : -1;
}

/* A spool in a new temporary directory (before fx_open). */
static int fx_spool(fx_t *fx) {
  char err[512];

  snprintf(fx->dir, sizeof(fx->dir), "/tmp/sm-logs-spool.XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    fx->dir[0] = 0;
    return -1;
  }
  fx->sp = cw_spool_open(fx->dir, CW_SPOOL_DEFAULT_MAX_BYTES, NULL, err,
                         sizeof(err));
  if (fx->sp == NULL)
    T_NOTE("cw_spool_open: %s", err);
  return fx->sp != NULL ? 0 : -1;
}

/* What a case changes before fx_open; a field left 0 keeps the
 * fixture's default. */
typedef struct {
  int spool; /* with a spool (fx_spool) */
  size_t max_events;
  long timeout_ms;
  unsigned max_attempts;
} fx_opts_t;

/* fx_init (and fx_spool), checked as "<what>: fixture", the changes of o
 * (NULL: none), then fx_open, checked as "<what>: pipeline": 0 when the
 * case can go on. */
static int fx_start(fx_t *fx, const fake_http_step_t *steps, size_t n,
                    const fx_opts_t *o, const char *what) {
  static const fx_opts_t none;

  o = o != NULL ? o : &none;
  if (!T_OK(fx_init(fx, steps, n) == 0 && (!o->spool || fx_spool(fx) == 0),
            "%s: fixture", what))
    return -1;
  if (o->max_events != 0)
    fx->max_events = o->max_events;
  if (o->timeout_ms != 0)
    fx->cfg.timeout_ms = o->timeout_ms;
  if (o->max_attempts != 0)
    fx->cfg.max_attempts = o->max_attempts;
  return T_OK(fx_open(fx) == 0, "%s: pipeline", what) ? 0 : -1;
}

static int fx_run(fx_t *fx) { return cw_pipeline_run(fx->p, 0); }

/* The events queued, read under the lock. */
static size_t fx_qsize(fx_t *fx) {
  pthread_mutex_lock(&fx->lock);
  size_t n = cw_logs_queue_size(fx->q);
  pthread_mutex_unlock(&fx->lock);
  return n;
}

static cw_pipeline_stats_t fx_stats(fx_t *fx) {
  return fx_stream_stats(fx->p, fx->st);
}

static void fx_add(fx_t *fx, const char *g, const char *s, int64_t ts,
                   const char *tag, size_t i) {
  pthread_mutex_lock(&fx->lock);
  add_ok(fx->q, g, s, ts, tag, i);
  pthread_mutex_unlock(&fx->lock);
}

/* Stops the fake, checks its script was used up exactly, frees all. */
static void fx_done(fx_t *fx, const char *what) {
  check_script_used(fx->srv, fx->nsteps, what);
  cw_pipeline_destroy(fx->p);
  cw_stream_logs_destroy(fx->l);
  aws_creds_provider_destroy(fx->creds);
  cw_logs_queue_destroy(fx->q);
  if (fx->sp != NULL)
    cw_spool_close(fx->sp);
  if (fx->dir[0] != 0) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
      T_NOTE("could not remove %s", fx->dir);
  }
  pthread_mutex_destroy(&fx->lock);
}

/* Request i was signed by key for CloudWatch Logs at when (X-Amz-Date
 * amz_date; pipeline_fixture.h), not compressed, and sent with the queue
 * unlocked. */
static void check_signed_at(fx_t *fx, size_t i, const char *key,
                            const char *secret, const char *token, time_t when,
                            const char *amz_date, const char *what) {
  signed_at_t at = {
      fx->host, "POST / HTTP/1.1\r\n", "logs", TARGET_PREFIX, 1, when,
      amz_date};
  const fake_http_request_t *r =
      check_signature(fx->srv, i, &at, key, secret, token, what);
  char v[64];

  if (r == NULL)
    return;
  T_OK(fake_http_header(r, "Content-Encoding", v, sizeof(v)) == NULL,
       "%s: request %zu: not compressed", what, i);
  T_OK(r->lock_free, "%s: request %zu: sent with the queue unlocked", what, i);
}

static void check_signed(fx_t *fx, size_t i, const char *key,
                         const char *secret, const char *token,
                         const char *what) {
  check_signed_at(fx, i, key, secret, token, T0, AMZ_DATE, what);
}

#define OK_CREATE ANSWER(200, "", NULL)
#define OK_PUT ANSWER(200, "{\"nextSequenceToken\":\"4963\"}", NULL)
#define EXISTS                                                                 \
  REFUSAL(400, "ResourceAlreadyExistsException",                               \
          "The specified log group already exists")
#define NOT_FOUND                                                              \
  REFUSAL(400, "ResourceNotFoundException",                                    \
          "The specified log stream does not exist.")
#define THROTTLED REFUSAL(400, "ThrottlingException", "Rate exceeded")
#define UNAVAILABLE ANSWER(503, "", NULL)

/* ============================================================== cases */

static void test_first_send(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 4, NULL, "first send") != 0)
    return;
  T_EQ_INT(fx_run(&fx), 0, "empty queue: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 0, "empty queue: no request");
  fx_add(&fx, GROUP, STREAM, T0_MS - 1000, "e", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS - 3000, "e", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS - 2000, "e", 2);
  T_EQ_INT(fx_run(&fx), 0, "first send: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 3, "first send: 3 requests");
  check_create(fx.srv, 0, GROUP, NULL, "first send");
  check_create(fx.srv, 1, GROUP, STREAM, "first send");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "e", "first send", 1, 2, 0);
  {
    body_t b;
    if (body_parse(fx.srv, 2, &b) == 0 && body_num(&b) == 3)
      T_OK(body_ts(&b, 0) == T0_MS - 3000 && body_ts(&b, 1) == T0_MS - 2000 &&
               body_ts(&b, 2) == T0_MS - 1000,
           "first send: timestamps in ms, ascending");
    body_free(&b);
  }
  for (size_t i = 0; i < 3; i++)
    check_signed(&fx, i, K1, S1, NULL, "first send");
  T_EQ_INT(fx_qsize(&fx), 0, "first send: queue empty");

  fx_add(&fx, GROUP, STREAM, T0_MS, "e", 4);
  fx_add(&fx, GROUP, STREAM, T0_MS - 1, "e", 3);
  T_EQ_INT(fx_run(&fx), 0, "next run: returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "next run: PutLogEvents only");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "e", "next run", 3, 4);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "first send", STAT(requests, 4), STAT(requests_failed, 0),
              STAT(requests_unanswered, 0));
  T_EQ_INT(cw_stream_logs_created(fx.l), 2, "1 group and 1 stream created");
  T_EQ_INT(st.items_sent, 5, "stats: 5 events sent");
  T_EQ_INT(st.items_refused + st.items_expired + st.items_invalid, 0,
           "stats: none dropped");
  CHECK_STATS(&st, "first send", STAT(retries, 0),
              STAT(bytes_sent, st.bytes_raw));
  T_EQ_INT(fx.c.err_logs + fx.c.warn_logs, 0, "no warning or error logged");
  fx_done(&fx, "first send");
}

static void test_already_exists(void) {
  static const fake_http_step_t steps[] = {EXISTS, EXISTS, OK_PUT, OK_CREATE,
                                           OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 5, NULL, "already exists") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "x", 0);
  T_EQ_INT(fx_run(&fx), 0, "already exists: run returns 0");
  check_create(fx.srv, 0, GROUP, NULL, "already exists");
  check_create(fx.srv, 1, GROUP, STREAM, "already exists");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "x", "already exists", 0);
  /* A second stream of the same group: its stream only. */
  fx_add(&fx, GROUP, STREAM2, T0_MS, "x", 1);
  T_EQ_INT(fx_run(&fx), 0, "second stream: run returns 0");
  check_create(fx.srv, 3, GROUP, STREAM2, "second stream, group known");
  CHECK_PUT(fx.srv, 4, GROUP, STREAM2, "x", "second stream", 1);
  st = fx_stats(&fx);
  /* Fails until "already exists" stops counting as a failed request (see
   * the report: the pipeline counts every answer but 2xx). */
  CHECK_STATS(&st, "already exists", STAT(requests_failed, 0),
              STAT(requests, 5));
  T_EQ_INT(cw_stream_logs_created(fx.l), 1,
           "only the second stream was created");
  CHECK_STATS(&st, "already exists", STAT(items_sent, 2), STAT(retries, 0));
  T_EQ_INT(fx.c.err_logs + fx.c.warn_logs, 0, "nothing logged as a problem");
  fx_done(&fx, "already exists");
}

static void test_not_found(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE, OK_CREATE, OK_PUT, NOT_FOUND, EXISTS, OK_CREATE, OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 7, NULL, "not found") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 0);
  T_EQ_INT(fx_run(&fx), 0, "not found: first run");
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 2);
  T_EQ_INT(fx_run(&fx), 0, "not found: second run returns 0");
  T_EQ_INT(srv_count(fx.srv), 7, "not found: 7 requests");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "n", "not found", 0);
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "n", "not found: refused", 1, 2);
  check_create(fx.srv, 4, GROUP, NULL, "not found: group again");
  check_create(fx.srv, 5, GROUP, STREAM, "not found: stream again");
  CHECK_PUT(fx.srv, 6, GROUP, STREAM, "n", "not found: retried", 1, 2);
  T_OK(srv_same_body(fx.srv, 3, 6), "not found: the same body again");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "not found", STAT(items_sent, 3), STAT(items_refused, 0),
              STAT(retries, 1));
  T_EQ_INT(cw_stream_logs_created(fx.l), 3, "group once, stream twice created");
  T_EQ_INT(fx.c.err_logs, 0, "not found: no error logged");
  T_EQ_INT(fx_qsize(&fx), 0, "not found: queue empty");
  fx_done(&fx, "not found");
}

static void test_not_found_twice(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, NOT_FOUND,
                                           OK_CREATE, OK_CREATE, NOT_FOUND};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 6, NULL, "not found twice") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 1);
  T_EQ_INT(fx_run(&fx), 0, "not found twice: run returns 0 (dropped)");
  T_EQ_INT(srv_count(fx.srv), 6, "not found twice: one re-creation only");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "not found twice", STAT(items_refused, 2),
              STAT(items_sent, 0));
  T_EQ_INT(fx.c.err_logs, 1, "one error logged");
  LOG_HAS(&fx, "the error names the service's error type",
          "ResourceNotFoundException");
  T_EQ_INT(fx_qsize(&fx), 0, "not found twice: queue empty");
  fx_done(&fx, "not found twice");
}

static void test_throttling(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, THROTTLED, OK_CREATE,
                                           THROTTLED, OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 5, NULL, "throttling") != 0)
    return;
  for (size_t i = 0; i < 3; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "t", i);
  T_EQ_INT(fx_run(&fx), 0, "throttling: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 5, "throttling: 5 requests");
  check_create(fx.srv, 1, GROUP, STREAM, "throttled CreateLogStream");
  check_create(fx.srv, 2, GROUP, STREAM, "CreateLogStream again");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "t", "throttling", 0, 1, 2);
  CHECK_PUT(fx.srv, 4, GROUP, STREAM, "t", "throttling: again", 0, 1, 2);
  T_OK(srv_same_body(fx.srv, 3, 4), "throttling: the same body again");
  T_EQ_INT(fx.c.nsleeps, 2, "throttling: two backoff sleeps");
  T_EQ_INT(fx.c.sleeps[0], 100, "first delay: 0.5 of 200");
  T_EQ_INT(fx.c.sleeps[1], 200, "second delay: 0.5 of 400 (attempts shared)");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "throttling", STAT(items_sent, 3), STAT(retries, 2),
              STAT(requests_failed, 2), STAT(requests, 5));
  T_EQ_INT(fx_qsize(&fx), 0, "throttling: queue empty");
  fx_done(&fx, "throttling");
}

static void test_permanent(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE,
      OK_CREATE,
      REFUSAL(400, "InvalidParameterException",
              "Log events in a single PutLogEvents request must be in "
              "chronological order."),
      OK_CREATE,
      OK_CREATE,
      OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 6, NULL, "permanent") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "p", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "p", 1);
  fx_add(&fx, GROUP2, STREAM2, T0_MS, "p", 2);
  T_EQ_INT(fx_run(&fx), 0, "permanent: run goes on (returns 0)");
  T_EQ_INT(srv_count(fx.srv), 6, "permanent: no retry of the refused batch");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "p", "permanent", 0, 1);
  CHECK_PUT(fx.srv, 5, GROUP2, STREAM2, "p",
            "permanent: the next stream still sent", 2);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "permanent", STAT(items_refused, 2), STAT(items_sent, 1),
              STAT(retries, 0));
  T_EQ_INT(fx.c.nsleeps, 0, "permanent: no sleep");
  T_EQ_INT(fx.c.err_logs, 1, "one error logged");
  LOG_HAS(&fx,
          "the log has the destination, the service's error type and "
          "message",
          "must be in chronological order", "InvalidParameterException", DEST);
  T_EQ_INT(fx_qsize(&fx), 0, "permanent: queue empty");
  fx_done(&fx, "permanent");
}

static void test_rejected(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE, OK_CREATE,
      ANSWER(200,
             "{\"nextSequenceToken\":\"1\",\"rejectedLogEventsInfo\":{"
             "\"tooOldLogEventEndIndex\":2,\"tooNewLogEventStartIndex\":5}}",
             NULL),
      ANSWER(200, "{\"rejectedLogEventsInfo\":{\"expiredLogEventEndIndex\":1}}",
             NULL),
      OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 5, NULL, "rejected") != 0)
    return;
  for (size_t i = 0; i < 6; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "r", i);
  T_EQ_INT(fx_run(&fx), 0, "rejected: run returns 0");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "rejected", STAT(items_refused, 3), STAT(items_sent, 3));
  T_EQ_INT(fx.c.warn_logs, 1, "one warning");
  LOG_HAS(&fx, "the warning counts them", "refused 3 of 6");
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 6);
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 7);
  T_EQ_INT(fx_run(&fx), 0, "expired: run returns 0");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "rejected", STAT(items_refused, 4), STAT(items_sent, 4));
  T_EQ_INT(fx.c.warn_logs, 1, "not logged again");
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 8);
  T_EQ_INT(fx_run(&fx), 0, "all accepted: run returns 0");
  T_EQ_INT(fx_stats(&fx).items_sent, 5, "5 accepted in all");
  LOG_HAS(&fx, "a line when all are accepted again", "takes every event again");
  T_EQ_INT(fx_stats(&fx).requests_failed, 0,
           "an answer refusing some events is no failed request");
  fx_done(&fx, "rejected");
}

static void test_expired_token(void) {
  static const fake_http_step_t steps[] = {EXPIRED_TOKEN, OK_CREATE, OK_CREATE,
                                           OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 4, NULL, "expired token") != 0)
    return;
  fx.c.rotate = 1;
  fx.c.with_token = 1;
  fx_add(&fx, GROUP, STREAM, T0_MS, "k", 0);
  T_EQ_INT(fx_run(&fx), 0, "expired token: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "expired token: 4 requests");
  check_signed(&fx, 0, K1, S1, TOK1, "expired token: first");
  check_signed(&fx, 1, K2, S2, TOK2, "expired token: fresh keys");
  check_signed(&fx, 3, K2, S2, TOK2, "expired token: Put with fresh keys");
  T_OK(srv_same_body(fx.srv, 0, 1), "expired token: the same body again");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "k", "expired token", 0);
  T_EQ_INT(fx.c.id_reads, 2, "the environment was read again once");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep before the retry with fresh keys");
  T_EQ_INT(fx_stats(&fx).items_sent, 1, "stats: sent");
  T_EQ_INT(fx_stats(&fx).retries, 1, "stats: 1 retry");
  fx_done(&fx, "expired token");
}

/* A batch that fails its attempts leaves the stream failing: the next run
 * probes with one attempt, without a backoff. */
static void test_persistent(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE,   OK_CREATE,   UNAVAILABLE, UNAVAILABLE,
      UNAVAILABLE, UNAVAILABLE, OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 7, &(fx_opts_t){.max_attempts = 3}, "persistent") !=
      0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 1);
  T_EQ_INT(fx_run(&fx), -1, "always 503: run returns -1");
  T_EQ_INT(srv_count(fx.srv), 5, "always 503: 3 attempts");
  T_EQ_INT(fx.c.nsleeps, 2, "always 503: 2 backoffs");
  T_EQ_INT(fx_qsize(&fx), 2, "always 503: events kept");
  T_EQ_INT(fx.c.err_logs, 1, "always 503: one error logged");
  LOG_HAS(&fx, "the error names PutLogEvents, HTTP 503 and what is kept", "503",
          "PutLogEvents", "2 events kept");

  fx.c.nsleeps = 0;
  T_EQ_INT(fx_run(&fx), -1, "failing: the probe fails: -1");
  T_EQ_INT(srv_count(fx.srv), 6, "failing: one attempt only");
  T_EQ_INT(fx.c.nsleeps, 0, "failing: no backoff");
  T_EQ_INT(fx_qsize(&fx), 2, "failing: events still kept");
  T_EQ_INT(fx.c.err_logs, 1, "failing: not logged again within a minute");

  T_EQ_INT(fx_run(&fx), 0, "server back: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 7, "server back: just the Put");
  CHECK_PUT(fx.srv, 6, GROUP, STREAM, "s", "server back", 0, 1);
  T_EQ_INT(fx_stats(&fx).items_sent, 2, "stats: 2 sent");
  T_EQ_INT(fx_stats(&fx).items_refused, 0, "stats: none refused");
  T_EQ_INT(fx_stats(&fx).requests_failed, 4, "stats: 4 failed");
  T_EQ_INT(fx_stats(&fx).retries, 2, "stats: 2 retries (the probe is none)");
  LOG_HAS(&fx, "a line when it works again", "succeeds again",
          "after 2 failures");
  fx_done(&fx, "persistent failure");
}

static void test_stop(void) {
  static const fake_http_step_t steps[] = {UNAVAILABLE, OK_CREATE, OK_CREATE,
                                           OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 4, NULL, "stop") != 0)
    return;
  fx.c.stop = 1;
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 0);
  T_EQ_INT(fx_run(&fx), -1, "stop: run returns -1");
  T_EQ_INT(srv_count(fx.srv), 1, "stop: nothing after the first failure");
  T_EQ_INT(fx_qsize(&fx), 1, "stop: event kept");
  T_EQ_INT(fx_stats(&fx).retries, 0, "stop: no retry counted");
  T_EQ_INT(fx.c.err_logs, 0, "stop: no failure logged");
  /* Told to stop is no failure of the destination: full attempts next. */
  fx.c.stop = 0;
  T_EQ_INT(fx_run(&fx), 0, "after stop: the next run sends");
  T_EQ_INT(srv_count(fx.srv), 4, "after stop: the group, stream and put");
  fx_done(&fx, "stop");
}

static void test_deadline(void) {
  fx_t fx;

  if (fx_start(&fx, NULL, 0, NULL, "deadline") != 0)
    return;
  T_EQ_INT(cw_pipeline_run(fx.p, T0 - 10), 0, "past deadline, empty queue: 0");
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 0);
  T_EQ_INT(cw_pipeline_run(fx.p, T0), -1,
           "at the deadline: -1, no request started");
  T_EQ_INT(srv_count(fx.srv), 0, "deadline: no request");
  T_EQ_INT(fx_qsize(&fx), 1, "deadline: event kept");
  T_EQ_INT(fx.c.err_logs, 0, "deadline: no failure logged");
  fx_done(&fx, "deadline");
}

/* Events arrive while a batch is in flight (during the backoff sleep, as
 * collectd's threads would): the batch is sent unchanged, the queue bound
 * drops only what is not being sent, and the newcomers go next. */
static void add_in_flight(void *arg, size_t nth) {
  fx_t *fx = arg;
  if (nth != 0)
    return;
  pthread_mutex_lock(&fx->lock);
  add_ok(fx->q, GROUP, STREAM, T0_MS - 100, "f", 3); /* before the batch */
  add_ok(fx->q, GROUP, STREAM, T0_MS + 100, "f", 4);
  if (cw_logs_queue_add(fx->q, GROUP, STREAM, T0_MS + 200, "f-00005", T0_MS) !=
      CW_LOGS_ADDED_DROPPED_OLDEST)
    T_OK(0, "in flight: f-5 should drop the oldest not being sent");
  pthread_mutex_unlock(&fx->lock);
}

static void test_in_flight(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, UNAVAILABLE,
                                           OK_PUT, OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 5, &(fx_opts_t){.max_events = 5}, "in flight") != 0)
    return;
  fx.c.on_sleep = add_in_flight;
  for (size_t i = 0; i < 3; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "f", i);
  T_EQ_INT(fx_run(&fx), 0, "in flight: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 5, "in flight: 5 requests");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "f", "in flight: first try", 0, 1, 2);
  T_OK(srv_same_body(fx.srv, 2, 3), "in flight: the retry is the same batch");
  CHECK_PUT(fx.srv, 4, GROUP, STREAM, "f",
            "in flight: newcomers next, f-3 dropped for room", 4, 5);
  pthread_mutex_lock(&fx.lock);
  T_EQ_INT(cw_logs_queue_dropped(fx.q), 1, "in flight: 1 dropped for room");
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_stats(&fx).items_sent, 5, "in flight: 5 sent");
  fx_done(&fx, "in flight");
}

static void test_streams(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 6, NULL, "streams") != 0)
    return;
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 2, "m", 0);
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 1, "m", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS + 0, "m", 2);
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 3, "m", 3);
  fx_add(&fx, GROUP, STREAM, T0_MS + 4, "m", 4);
  T_EQ_INT(fx_run(&fx), 0, "streams: run returns 0");
  check_create(fx.srv, 0, GROUP2, NULL, "streams");
  check_create(fx.srv, 1, GROUP2, STREAM2, "streams");
  CHECK_PUT(fx.srv, 2, GROUP2, STREAM2, "m", "streams: oldest first", 1, 0, 3);
  check_create(fx.srv, 3, GROUP, NULL, "streams");
  check_create(fx.srv, 4, GROUP, STREAM, "streams");
  CHECK_PUT(fx.srv, 5, GROUP, STREAM, "m", "streams: then the other", 2, 4);
  fx_done(&fx, "streams");
}

static void test_big_batches(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_PUT};
  fx_t fx;
  body_t b1, b2;
  size_t n = CW_LOGS_MAX_EVENTS + 1;

  if (fx_start(&fx, steps, 4, &(fx_opts_t){.max_events = 20000}, "10,001") != 0)
    return;
  pthread_mutex_lock(&fx.lock);
  for (size_t i = 0; i < n; i++) /* newest first: the send reverses them */
    add_ok(fx.q, GROUP, STREAM, T0_MS - (int64_t)i, "big", i);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_run(&fx), 0, "10,001: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "10,001: two PutLogEvents");
  if (body_parse(fx.srv, 2, &b1) == 0 && body_parse(fx.srv, 3, &b2) == 0) {
    int sorted = 1;
    T_EQ_INT(body_num(&b1), CW_LOGS_MAX_EVENTS, "first request: 10,000");
    T_EQ_INT(body_num(&b2), 1, "second request: 1");
    for (size_t k = 1; k < body_num(&b1); k++)
      sorted &= body_ts(&b1, k - 1) <= body_ts(&b1, k);
    T_OK(sorted, "first request chronological");
    T_OK(body_num(&b1) > 0 && body_num(&b2) > 0 &&
             body_ts(&b1, body_num(&b1) - 1) <= body_ts(&b2, 0),
         "second request not earlier than the first");
    T_EQ_STR(body_msg(&b1, 0), "big-10000", "the earliest first");
    T_EQ_STR(body_msg(&b2, 0), "big-00000", "the latest last");
  } else {
    T_OK(0, "10,001: bodies parse");
  }
  body_free(&b1);
  body_free(&b2);
  T_EQ_INT(fx_stats(&fx).items_sent, n, "10,001 sent");
  fx_done(&fx, "10,001 events");
}

static void test_utf8_on_the_wire(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;
  body_t b;

  if (fx_start(&fx, steps, 3, NULL, "wire") != 0)
    return;
  pthread_mutex_lock(&fx.lock);
  cw_logs_queue_add(fx.q, GROUP, STREAM, T0_MS,
                    "error: \"bad\xFFinput\"\n\tat \xF0\x9F\x98\x80", T0_MS);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_run(&fx), 0, "wire: run returns 0");
  if (T_OK(body_parse(fx.srv, 2, &b) == 0 && body_num(&b) == 1,
           "wire: body parses"))
    T_EQ_STR(body_msg(&b, 0),
             "error: \"bad\xEF\xBF\xBDinput\"\n\tat \xF0\x9F\x98\x80",
             "wire: quotes and controls escaped, invalid byte replaced");
  body_free(&b);
  fx_done(&fx, "wire");
}

/* A refused CreateLogGroup (a role allowed to put, not to create) does not
 * stop PutLogEvents. */
static void test_create_denied(void) {
  static const fake_http_step_t steps[] = {
      REFUSAL(400, "AccessDeniedException",
              "User is not authorized to perform: logs:CreateLogGroup"),
      OK_CREATE, OK_PUT, OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 4, NULL, "create denied") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 0);
  T_EQ_INT(fx_run(&fx), 0, "create denied: run returns 0");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "d", "create denied", 0);
  T_EQ_INT(fx.c.warn_logs, 1, "create denied: one warning");
  LOG_HAS(&fx, "create denied: the service's message logged",
          "logs:CreateLogGroup");
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 1);
  T_EQ_INT(fx_run(&fx), 0, "create denied: next run");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "d", "create denied: not asked again", 1);
  fx_done(&fx, "create denied");
}

static void test_too_old_at_send(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 3, NULL, "too old at send") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS - 13 * DAY_MS, "o", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS - 1000, "o", 1);
  fx.c.now = T0 + 2 * 24 * 3600; /* two days without a run */
  T_EQ_INT(fx_run(&fx), 0, "too old at send: run returns 0");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "o", "too old at send: left out", 1);
  T_EQ_INT(fx_stats(&fx).items_expired, 1, "too old at send: counted");
  T_EQ_INT(fx_stats(&fx).items_sent, 1, "too old at send: 1 sent");
  fx_done(&fx, "too old at send");
}

static void test_create_args(void) {
  ctx_t c;
  aws_creds_config_t cc = {.getenv_fn = fake_getenv, .clock_fn = fake_now};
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  cw_pipeline_config_t cfg;
  cw_pipeline_stream_t s;
  cw_logs_queue_t *q = cw_logs_queue_create(10);
  cw_stream_logs_t *l = cw_stream_logs_create(q);
  cw_pipeline_t *p;
  char err[512];
  int rc = 0;

  memset(&c, 0, sizeof(c));
  cc.getenv_ud = &c;
  cc.clock_ud = &c;
  cfg = (cw_pipeline_config_t){.creds = aws_creds_provider_create(&cc),
                               .lock = &lock,
                               .now = fake_now,
                               .random01 = fake_random,
                               .ud = &c};
  memset(&s, 0, sizeof(s));
  cw_stream_logs_describe(l, &s);
  T_OK(strcmp(s.name, "data log") == 0 && s.kind == CW_SPOOL_LOGS &&
           strcmp(s.action, "PutLogEvents") == 0 &&
           strcmp(s.service, "logs") == 0 &&
           strcmp(s.iam_prefix, "logs") == 0 &&
           strcmp(s.target_prefix, TARGET_PREFIX) == 0 &&
           strcmp(s.content_type, CTYPE) == 0 &&
           strcmp(s.item_name, "events") == 0 && s.compress_threshold == 0,
       "describe: a data log stream of PutLogEvents, service logs, never "
       "gzipped");
  T_OK(s.url == NULL && s.region == NULL,
       "describe: the endpoint and region left to the caller");

  T_OK(cw_pipeline_create(NULL, err, sizeof(err)) == NULL && err[0] != 0,
       "no configuration refused: %s", err);
  {
    cw_pipeline_config_t bad = cfg;
    err[0] = 0;
    bad.creds = NULL;
    T_OK(cw_pipeline_create(&bad, err, sizeof(err)) == NULL && err[0] != 0,
         "no credentials refused: %s", err);
    bad = cfg;
    bad.random01 = NULL;
    err[0] = 0;
    T_OK(cw_pipeline_create(&bad, err, sizeof(err)) == NULL && err[0] != 0,
         "no randomness refused: %s", err);
    bad = cfg;
    bad.lock = NULL;
    err[0] = 0;
    T_OK(cw_pipeline_create(&bad, err, sizeof(err)) == NULL && err[0] != 0,
         "no lock refused: %s", err);
  }
  p = cw_pipeline_create(&cfg, err, sizeof(err));
  if (!T_OK(p != NULL, "complete configuration accepted (no sleep_ms: "
                       "the pipeline waits itself)"))
    goto out;
  s.url = "ftp://example.com/";
  s.region = REGION;
  err[0] = 0;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) == -1 &&
           strstr(err, "data log") != NULL && strstr(err, "ftp") != NULL,
       "ftp endpoint refused, named: %s", err);
  s.url = "http://127.0.0.1:1/";
  s.claim = NULL;
  err[0] = 0;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) == -1 && err[0] != 0,
       "a stream without claim refused: %s", err);
  cw_stream_logs_describe(l, &s);
  s.url = "http://127.0.0.1:1/";
  s.region = NULL;
  err[0] = 0;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) == -1 && err[0] != 0,
       "a stream without region refused: %s", err);
  s.region = REGION;
  for (int i = 0; i < CW_PIPELINE_MAX_STREAMS; i++)
    rc |= cw_pipeline_add_stream(p, &s, err, sizeof(err)) != i;
  T_OK(rc == 0, "up to %d streams, numbered from 0", CW_PIPELINE_MAX_STREAMS);
  err[0] = 0;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) == -1 && err[0] != 0,
       "one more refused: %s", err);
  cw_pipeline_destroy(p);
out:
  cw_stream_logs_destroy(l);
  cw_logs_queue_destroy(q);
  aws_creds_provider_destroy(cfg.creds);
}

/* ===================================================== new behaviour */

/* AccessDenied on PutLogEvents is no drop: the batch is kept, the stream
 * fails with an error naming the permission, probed once per run; the
 * complaint is repeated at doubling intervals. */
static void test_denied(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE,
      OK_CREATE,
      REFUSAL(400, "AccessDeniedException",
              "User: arn:aws:sts::123456789012:assumed-role/r/i is not "
              "authorized to perform: logs:PutLogEvents"),
      REFUSAL(400, "AccessDeniedException", "still not"),
      REFUSAL(403, "UnauthorizedOperation",
              "You are not authorized to perform this operation."),
      OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 6, NULL, "denied") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "a", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS + 1, "a", 1);
  T_EQ_INT(fx_run(&fx), -1, "denied: run returns -1");
  T_EQ_INT(srv_count(fx.srv), 3, "denied: one PutLogEvents, no retry");
  T_EQ_INT(fx.c.nsleeps, 0, "denied: no backoff");
  T_EQ_INT(fx_qsize(&fx), 2, "denied: the events are kept");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "denied", STAT(items_refused, 0), STAT(requests_failed, 1));
  T_EQ_INT(fx.c.err_logs, 1, "denied: one error");
  LOG_HAS(&fx,
          "denied: the error names the permission, the log stream and "
          "what is kept",
          "logs:PutLogEvents", "permission", DEST, "2 events kept");

  T_EQ_INT(fx_run(&fx), -1, "denied again: -1");
  T_EQ_INT(srv_count(fx.srv), 4, "denied again: one probe");
  T_EQ_INT(fx.c.err_logs, 1, "denied again: not logged within a minute");
  fx.c.now += 61;
  T_EQ_INT(fx_run(&fx), -1, "UnauthorizedOperation: kept too");
  T_EQ_INT(srv_count(fx.srv), 5, "UnauthorizedOperation: one probe");
  T_EQ_INT(fx.c.err_logs, 2, "a minute later: logged again");
  LOG_HAS(&fx, "with the count of failures", "3 failures so far");
  T_EQ_INT(fx_stats(&fx).items_refused, 0, "still nothing refused");
  T_EQ_INT(fx_run(&fx), 0, "allowed again: sent");
  CHECK_PUT(fx.srv, 5, GROUP, STREAM, "a", "allowed again", 0, 1);
  T_OK(srv_same_body(fx.srv, 2, 5), "allowed again: the batch as first sent");
  T_EQ_INT(fx_stats(&fx).items_sent, 2, "allowed again: 2 sent");
  LOG_HAS(&fx, "allowed again: a line says so", "succeeds again");
  fx_done(&fx, "denied");
}

/* Retry-After: the backoff is at least that long; beyond a minute, the
 * batch waits for the next run instead. */
static void test_retry_after(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE,
      OK_CREATE,
      ANSWER(400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate\"}",
             "Retry-After: 3\r\n"),
      ANSWER(503, "", "Retry-After: 0\r\n"),
      OK_PUT,
      ANSWER(503, "", "Retry-After: 120\r\n"),
      OK_PUT};
  fx_t fx;

  if (fx_start(&fx, steps, 7, NULL, "retry after") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "w", 0);
  T_EQ_INT(fx_run(&fx), 0, "retry after: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 5, "retry after: 3 puts");
  T_EQ_INT(fx.c.nsleeps, 2, "retry after: 2 waits");
  T_EQ_INT(fx.c.sleeps[0], 3000, "Retry-After 3: 3 s, not the backoff's 100");
  T_EQ_INT(fx.c.sleeps[1], 200, "Retry-After 0: the backoff (200 ms)");
  CHECK_PUT(fx.srv, 4, GROUP, STREAM, "w", "retry after", 0);
  T_EQ_INT(fx_stats(&fx).retries, 2, "retry after: 2 retries");

  fx.c.nsleeps = 0;
  fx_add(&fx, GROUP, STREAM, T0_MS, "w", 1);
  T_EQ_INT(fx_run(&fx), -1, "Retry-After 120: not waited for: -1");
  T_EQ_INT(fx.c.nsleeps, 0, "Retry-After 120: no wait");
  T_EQ_INT(srv_count(fx.srv), 6, "Retry-After 120: one put");
  T_EQ_INT(fx_qsize(&fx), 1, "Retry-After 120: kept");
  T_EQ_INT(fx_run(&fx), 0, "next run: sent");
  CHECK_PUT(fx.srv, 6, GROUP, STREAM, "w", "next run", 1);
  fx_done(&fx, "retry after");
}

/* A signature refused with a Date 10 minutes ahead of the clock signed
 * with: the offset is taken, the request signed again and retried at once;
 * the next requests are signed with it too. */
static void test_clock_skew(void) {
  static const fake_http_step_t steps[] = {
      SIGNATURE_EXPIRED, OK_CREATE, OK_CREATE, OK_PUT, OK_PUT,
      /* 4 minutes off the corrected clock: the service's refusal */
      ANSWER(400,
             "{\"__type\":\"InvalidSignatureException\",\"message\":\"The "
             "request signature we calculated does not match\"}",
             "Date: Wed, 26 Nov 2025 20:14:30 GMT\r\n")};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 6, NULL, "clock skew") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "c", 0);
  T_EQ_INT(fx_run(&fx), 0, "clock skew: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "clock skew: 4 requests");
  T_EQ_INT(fx.c.nsleeps, 0, "clock skew: retried at once");
  check_signed(&fx, 0, K1, S1, NULL, "clock skew: first, local clock");
  check_signed_at(&fx, 1, K1, S1, NULL, T0 + 600, "20251126T201030Z",
                  "clock skew: signed again with the service's time");
  T_OK(srv_same_body(fx.srv, 0, 1), "clock skew: the same body again");
  check_signed_at(&fx, 2, K1, S1, NULL, T0 + 600, "20251126T201030Z",
                  "clock skew: CreateLogStream");
  check_signed_at(&fx, 3, K1, S1, NULL, T0 + 600, "20251126T201030Z",
                  "clock skew: PutLogEvents");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "c", "clock skew", 0);
  T_EQ_INT(cw_pipeline_clock_offset(fx.p), 600, "clock skew: offset 600 s");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "clock skew", STAT(retries, 1), STAT(requests_failed, 1));
  T_EQ_INT(fx.c.warn_logs, 1, "clock skew: one warning");
  LOG_HAS(&fx, "clock skew: the warning says by how much and why",
          "600 s behind", "InvalidSignatureException");

  fx_add(&fx, GROUP, STREAM, T0_MS, "c", 1);
  T_EQ_INT(fx_run(&fx), 0, "next run: returns 0");
  check_signed_at(&fx, 4, K1, S1, NULL, T0 + 600, "20251126T201030Z",
                  "next run: still the service's time");
  CHECK_PUT(fx.srv, 4, GROUP, STREAM, "c", "next run", 1);

  fx_add(&fx, GROUP, STREAM, T0_MS, "c", 2);
  T_EQ_INT(fx_run(&fx), 0, "4 minutes off: refused for good");
  T_EQ_INT(srv_count(fx.srv), 6, "4 minutes off: no retry");
  T_EQ_INT(cw_pipeline_clock_offset(fx.p), 600,
           "4 minutes off: the offset unchanged");
  T_EQ_INT(fx_stats(&fx).items_refused, 1, "4 minutes off: 1 refused");
  T_EQ_INT(fx.c.warn_logs, 1, "4 minutes off: no clock warning");
  fx_done(&fx, "clock skew");
}

/* requests counts answered requests: one that got no answer is counted
 * apart, and retried. */
static void test_unanswered(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, SILENT,
                                           OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;
  uint64_t answered = 0;

  if (fx_start(&fx, steps, 4, &(fx_opts_t){.timeout_ms = 300}, "unanswered") !=
      0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "u", 0);
  T_EQ_INT(fx_run(&fx), 0, "unanswered: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "unanswered: the put twice");
  T_OK(srv_same_body(fx.srv, 2, 3), "unanswered: the same body again");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "u", "unanswered", 0);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "unanswered", STAT(requests, 3),
              STAT(requests_unanswered, 1), STAT(requests_failed, 0),
              STAT(retries, 1));
  T_EQ_INT(fx.c.nsleeps, 1, "unanswered: after a backoff");
  for (size_t i = 0; i < 4; i++)
    if (i != 2)
      answered += srv_req(fx.srv, i)->body_len;
  CHECK_STATS(&st, "unanswered", STAT(bytes_sent, answered),
              STAT(bytes_raw, answered));
  fx_done(&fx, "unanswered");
}

/* Events that wait for their stream's name are not sent (and keep the
 * run from reporting "all delivered") until a resolve names them. */
static int name_i1(const char *group, const char *key, void *ud, char *out,
                   size_t size) {
  (void)group;
  (void)ud;
  snprintf(out, size, "%s/i-1/data-log", key);
  return 0;
}

static char *line_i1(const char *message, size_t len, void *ud) {
  char *out = malloc(len + 5);
  (void)ud;
  if (out != NULL)
    snprintf(out, len + 5, "%.*s@i-1", (int)len, message);
  return out;
}

static void test_pending(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_CREATE, OK_PUT};
  fx_t fx;
  body_t b;

  if (fx_start(&fx, steps, 5, NULL, "pending") != 0)
    return;
  pthread_mutex_lock(&fx.lock);
  T_EQ_INT(cw_logs_queue_add_pending(fx.q, GROUP, "AllTraffic", T0_MS,
                                     "p-00000", T0_MS),
           CW_LOGS_ADDED, "pending: added");
  pthread_mutex_unlock(&fx.lock);
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 1);
  T_EQ_INT(fx_run(&fx), -1, "pending: run returns -1 (one waits)");
  T_EQ_INT(srv_count(fx.srv), 3, "pending: only the named event sent");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "n", "pending", 1);
  T_EQ_INT(fx_qsize(&fx), 1, "pending: held");
  pthread_mutex_lock(&fx.lock);
  T_EQ_INT(cw_logs_queue_resolve(fx.q, name_i1, line_i1, NULL, NULL), 0,
           "pending: resolved");
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_run(&fx), 0, "pending: then sent");
  check_create(fx.srv, 3, GROUP, "AllTraffic/i-1/data-log",
               "pending: its stream");
  if (T_OK(body_parse(fx.srv, 4, &b) == 0 && body_num(&b) == 1 &&
               b.stream != NULL,
           "pending: one event"))
    T_OK(strcmp(b.stream, "AllTraffic/i-1/data-log") == 0 &&
             strcmp(body_msg(&b, 0), "p-00000@i-1") == 0,
         "pending: to the named stream, rewritten");
  body_free(&b);
  fx_done(&fx, "pending");
}

/* ============================================================== spool */

/* A growing text. */
typedef struct {
  char *buf;
  size_t len, cap;
} sb_t;

static void sb_add(sb_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_add(sb_t *s, const char *fmt, ...) {
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort();
  if (s->len + (size_t)n + 1 > s->cap) {
    s->cap = (s->len + (size_t)n + 1) * 2;
    s->buf = realloc(s->buf, s->cap);
    if (s->buf == NULL)
      abort();
  }
  va_start(ap, fmt);
  vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
  va_end(ap);
  s->len += (size_t)n;
}

/* A PutLogEvents body, as the pipeline would have spooled it, written by
 * hand: body_start, body_ev for each event, then spool_body. */
typedef struct {
  sb_t sb;
  const char *group, *stream;
  size_t n;
  int64_t oldest;
} spb_t;

static void body_start(spb_t *b, const char *group, const char *stream) {
  memset(b, 0, sizeof(*b));
  b->group = group;
  b->stream = stream;
  b->oldest = INT64_MAX;
  sb_add(&b->sb,
         "{\"logGroupName\":\"%s\",\"logStreamName\":\"%s\","
         "\"logEvents\":[",
         group, stream);
}

static void body_ev(spb_t *b, int64_t ts, const char *msg) {
  sb_add(&b->sb, "%s{\"timestamp\":%lld,\"message\":\"%s\"}",
         b->n > 0 ? "," : "", (long long)ts, msg);
  b->n++;
  if (ts < b->oldest)
    b->oldest = ts;
}

/* Events "<tag>-<first + k>" at ts0 + k * step, k < n. */
static void body_evs(spb_t *b, const char *tag, size_t first, size_t n,
                     int64_t ts0, int64_t step) {
  for (size_t k = 0; k < n; k++) {
    char msg[32];
    snprintf(msg, sizeof(msg), "%s-%05zu", tag, first + k);
    body_ev(b, ts0 + (int64_t)k * step, msg);
  }
}

/* Writes body (len bytes, n events, the oldest at t) to fx's spool as a
 * batch for dest: 0, or -1 with a note. */
static int spool_raw(fx_t *fx, const char *dest, const char *body, size_t len,
                     size_t n, double t) {
  char err[512];
  int rc = cw_spool_write(fx->sp, CW_SPOOL_LOGS, dest, body, len, n, t, err,
                          sizeof(err));
  if (rc != 0)
    T_NOTE("cw_spool_write: %s", err);
  return rc;
}

static int spool_body(fx_t *fx, spb_t *b) {
  char dest[CW_SPOOL_DEST_MAX + 1];
  int rc;

  sb_add(&b->sb, "]}");
  snprintf(dest, sizeof(dest), "%s:%s", b->group, b->stream);
  rc = spool_raw(fx, dest, b->sb.buf, b->sb.len, b->n,
                 (double)b->oldest / 1000.0);
  free(b->sb.buf);
  return rc;
}

typedef struct {
  size_t n;
  int64_t ts[16];
  char msg[16][32];
} got_t;

static int collect(int64_t ts, const char *message, size_t len, void *ud) {
  got_t *g = ud;
  if (g->n < 16) {
    g->ts[g->n] = ts;
    snprintf(g->msg[g->n], sizeof(g->msg[0]), "%.*s", (int)len, message);
  }
  g->n++;
  return 0;
}

static uint64_t spool_items(fx_t *fx) {
  cw_spool_stats_t ss;
  cw_spool_get_stats(fx->sp, &ss);
  return ss.items[CW_SPOOL_LOGS];
}

/* A failing destination with a spool: the events go to disk, and the next
 * run replays them to their log stream, the batches spooled meanwhile
 * merged with them into one request sorted by time. */
static void test_spool_failing(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, UNAVAILABLE,
                                           UNAVAILABLE, OK_PUT};
  static const size_t order[] = {3, 0, 1, 4, 2};
  static const int64_t order_ts[] = {T0_MS + 5, T0_MS + 10, T0_MS + 20,
                                     T0_MS + 25, T0_MS + 30};
  fx_t fx;
  cw_spool_batch_t sb;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 5, &(fx_opts_t){.spool = 1, .max_attempts = 2},
               "spool failing") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS + 10, "s", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS + 20, "s", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS + 30, "s", 2);
  T_EQ_INT(fx_run(&fx), -1, "spool failing: run returns -1");
  T_EQ_INT(srv_count(fx.srv), 4, "spool failing: two attempts");
  T_EQ_INT(fx_qsize(&fx), 0, "spool failing: the queue moved to the spool");
  if (T_OK(cw_spool_next(fx.sp, 0, CW_SPOOL_LOGS, NULL, &sb),
           "spool failing: a logs batch spooled")) {
    char *body = NULL, err[256], g[CW_LOGS_MAX_NAME + 1],
         s[CW_LOGS_MAX_NAME + 1];
    size_t len = 0;
    got_t got = {0};
    T_EQ_STR(sb.dest, DEST, "spool failing: destination group:stream");
    T_EQ_INT(sb.items, 3, "spool failing: 3 events");
    T_EQ_DBL(sb.oldest, (double)(T0_MS + 10) / 1000.0,
             "spool failing: the oldest event's time");
    T_EQ_INT(cw_spool_read(fx.sp, sb.seq, &body, &len, err, sizeof(err)), 1,
             "spool failing: readable");
    T_EQ_INT(
        cw_stream_logs_decode(body, len, g, s, collect, &got, err, sizeof(err)),
        3, "spool failing: a PutLogEvents body of 3 events");
    T_OK(strcmp(g, GROUP) == 0 && strcmp(s, STREAM) == 0 &&
             strcmp(got.msg[0], "s-00000") == 0 &&
             strcmp(got.msg[2], "s-00002") == 0 && got.ts[1] == T0_MS + 20,
         "spool failing: its events");
    free(body);
  }
  st = fx_stats(&fx);
  CHECK_STATS(&st, "spool failing", STAT(items_spooled, 3),
              STAT(items_sent, 0));

  /* Earlier events come while it fails. */
  fx_add(&fx, GROUP, STREAM, T0_MS + 5, "s", 3);
  fx_add(&fx, GROUP, STREAM, T0_MS + 25, "s", 4);
  T_EQ_INT(fx_run(&fx), 0, "spool replay: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 5, "spool replay: one request");
  check_put_ts(fx.srv, 4, GROUP, STREAM, "s", order, order_ts, 5,
               "spool replay: both batches merged, sorted by time");
  T_OK(!cw_spool_next(fx.sp, 0, CW_SPOOL_LOGS, NULL, &sb),
       "spool replay: the spool is empty");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "spool failing", STAT(items_spooled, 5),
              STAT(items_sent, 5));
  T_EQ_INT(fx_qsize(&fx), 0, "spool replay: queue empty");
  LOG_HAS(&fx, "spool replay: a line when it works again", "succeeds again");
  fx_done(&fx, "spool failing");
}

/* Spooled batches (written by an earlier run) go to their own log
 * streams: those of one destination merged into one request, sorted by
 * time (equal times in the order spooled), never mixed with another's;
 * a metrics batch is left to the metrics stream. */
static void test_spool_destinations(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_CREATE, OK_CREATE, OK_PUT};
  static const size_t a[] = {0, 2, 1, 3};
  static const int64_t a_ts[] = {T0_MS - 50, T0_MS - 30, T0_MS - 10,
                                 T0_MS - 10};
  fx_t fx;
  spb_t sb;
  char err[256];
  cw_spool_stats_t ss;
  int rc = 0;

  if (fx_start(&fx, steps, 6, &(fx_opts_t){.spool = 1}, "spool destinations") !=
      0)
    return;
  body_start(&sb, GROUP, STREAM);
  body_ev(&sb, T0_MS - 50, "a-00000");
  body_ev(&sb, T0_MS - 10, "a-00001");
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP2, STREAM2);
  body_ev(&sb, T0_MS - 40, "b-00000");
  rc |= spool_body(&fx, &sb);
  rc |= cw_spool_write(fx.sp, CW_SPOOL_METRICS, "SageMaker/AsyncInference",
                       "{}", 2, 1, (double)T0, err, sizeof(err));
  body_start(&sb, GROUP, STREAM);
  body_ev(&sb, T0_MS - 30, "a-00002");
  body_ev(&sb, T0_MS - 10, "a-00003");
  rc |= spool_body(&fx, &sb);
  T_EQ_INT(rc, 0, "spool destinations: 4 batches spooled");

  T_EQ_INT(fx_run(&fx), 0, "spool destinations: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 6, "spool destinations: 6 requests");
  check_create(fx.srv, 0, GROUP, NULL, "spool destinations");
  check_create(fx.srv, 1, GROUP, STREAM, "spool destinations");
  check_put_ts(fx.srv, 2, GROUP, STREAM, "a", a, a_ts, 4,
               "spool destinations: the first and fourth batch merged");
  check_create(fx.srv, 3, GROUP2, NULL, "spool destinations");
  check_create(fx.srv, 4, GROUP2, STREAM2, "spool destinations");
  CHECK_PUT(fx.srv, 5, GROUP2, STREAM2, "b",
            "spool destinations: the second to its own stream", 0);
  cw_spool_get_stats(fx.sp, &ss);
  T_OK(ss.files == 1 && ss.items[CW_SPOOL_LOGS] == 0 &&
           ss.items[CW_SPOOL_METRICS] == 1,
       "spool destinations: only the metrics batch is left");
  T_EQ_INT(fx_stats(&fx).items_sent, 5, "spool destinations: 5 sent");
  fx_done(&fx, "spool destinations");
}

/* Merging stops before a batch that would take the request beyond 10,000
 * events, 1,048,576 bytes or 24 hours: it goes in the next request. */
static void test_spool_limits(void) {
  static const fake_http_step_t steps[] = {
      OK_CREATE, OK_CREATE, OK_PUT,    OK_PUT, OK_CREATE, OK_PUT,
      OK_PUT,    OK_CREATE, OK_CREATE, OK_PUT, OK_PUT};
  fx_t fx;
  spb_t sb;
  int rc = 0;
  char *big = malloc(CW_LOGS_MAX_MESSAGE + 1);
  const int64_t t = T0_MS - 3 * DAY_MS;
  body_t b;

  if (big == NULL ||
      fx_start(&fx, steps, 11, &(fx_opts_t){.spool = 1}, "spool limits") != 0) {
    free(big);
    return;
  }
  memset(big, 'x', CW_LOGS_MAX_MESSAGE);
  big[CW_LOGS_MAX_MESSAGE] = 0;
  /* events: 6,000 + 4,000 fit, 1 more does not */
  body_start(&sb, GROUP, STREAM);
  body_evs(&sb, "e", 0, 6000, T0_MS - 60000, 1);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP, STREAM);
  body_evs(&sb, "e", 6000, 4000, T0_MS - 70000, 1);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP, STREAM);
  body_evs(&sb, "e", 10000, 1, T0_MS - 80000, 1);
  rc |= spool_body(&fx, &sb);
  /* bytes: 3 + 1 largest events are 1,048,576 bytes; 27 more do not fit */
  body_start(&sb, GROUP, STREAM2);
  for (int i = 0; i < 3; i++)
    body_ev(&sb, T0_MS + i, big);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP, STREAM2);
  body_ev(&sb, T0_MS + 3, big);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP, STREAM2);
  body_ev(&sb, T0_MS + 4, "z");
  rc |= spool_body(&fx, &sb);
  /* span: exactly 24 hours fit, 1 ms more does not */
  body_start(&sb, GROUP2, STREAM2);
  body_evs(&sb, "h", 0, 2, t, HOUR_MS);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP2, STREAM2);
  body_evs(&sb, "h", 2, 1, t + DAY_MS, 1);
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP2, STREAM2);
  body_evs(&sb, "h", 3, 1, t + DAY_MS + 1, 1);
  rc |= spool_body(&fx, &sb);
  T_EQ_INT(rc, 0, "spool limits: 9 batches spooled");

  T_EQ_INT(fx_run(&fx), 0, "spool limits: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 11, "spool limits: 11 requests");
  if (T_OK(body_parse(fx.srv, 2, &b) == 0, "events: first request")) {
    int sorted = 1;
    T_EQ_INT(body_num(&b), 10000, "events: 6,000 + 4,000 merged");
    for (size_t k = 1; k < body_num(&b); k++)
      sorted &= body_ts(&b, k - 1) <= body_ts(&b, k);
    T_OK(sorted, "events: sorted by time");
    T_EQ_STR(body_msg(&b, 0), "e-06000", "events: the second batch's first");
  }
  body_free(&b);
  {
    CHECK_PUT(fx.srv, 3, GROUP, STREAM, "e",
              "events: the 10,001st in the next request", 10000);
  }
  check_create(fx.srv, 4, GROUP, STREAM2, "bytes");
  if (T_OK(body_parse(fx.srv, 5, &b) == 0, "bytes: first request")) {
    size_t bytes = 0;
    for (size_t k = 0; k < body_num(&b); k++)
      bytes += strlen(body_msg(&b, k)) + CW_LOGS_EVENT_OVERHEAD;
    T_EQ_INT(body_num(&b), 4, "bytes: 3 + 1 largest events merged");
    T_EQ_INT(bytes, CW_LOGS_MAX_BYTES, "bytes: 1,048,576 bytes");
  }
  body_free(&b);
  if (T_OK(body_parse(fx.srv, 6, &b) == 0 && body_num(&b) == 1,
           "bytes: the next request"))
    T_EQ_STR(body_msg(&b, 0), "z", "bytes: the small event");
  body_free(&b);
  {
    static const size_t day[] = {0, 1, 2};
    static const int64_t day_ts[] = {t, t + HOUR_MS, t + DAY_MS};
    check_create(fx.srv, 7, GROUP2, NULL, "span");
    check_create(fx.srv, 8, GROUP2, STREAM2, "span");
    check_put_ts(fx.srv, 9, GROUP2, STREAM2, "h", day, day_ts, 3,
                 "span: exactly 24 hours merged");
    CHECK_PUT(fx.srv, 10, GROUP2, STREAM2, "h",
              "span: 24 hours and 1 ms in the next request", 3);
  }
  T_EQ_INT(spool_items(&fx), 0, "spool limits: all sent");
  T_EQ_INT(fx_stats(&fx).items_sent, 10001 + 5 + 4,
           "spool limits: every event sent");
  free(big);
  fx_done(&fx, "spool limits");
}

/* Spooled events older than 14 days are dropped and counted as expired;
 * a batch of nothing else is removed without a request. */
static void test_spool_expired(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;
  spb_t sb;
  int rc = 0;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 3, &(fx_opts_t){.spool = 1}, "spool expired") != 0)
    return;
  body_start(&sb, GROUP2, STREAM2);
  body_ev(&sb, T0_MS - 20 * DAY_MS, "x-00000");
  rc |= spool_body(&fx, &sb);
  body_start(&sb, GROUP, STREAM);
  /* A request spans at most 24 hours. */
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS - 12 * HOUR_MS, "o-00000");
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS - 1, "o-00001");
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS, "o-00002");
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS + 12 * HOUR_MS, "o-00003");
  rc |= spool_body(&fx, &sb);
  T_EQ_INT(rc, 0, "spool expired: 2 batches spooled");
  T_EQ_INT(fx_run(&fx), 0, "spool expired: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 3,
           "spool expired: no request for the old "
           "batch");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "o",
            "spool expired: exactly 14 days old and younger sent", 2, 3);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "spool expired", STAT(items_expired, 3),
              STAT(items_sent, 2));
  T_EQ_INT(spool_items(&fx), 0, "spool expired: the spool is empty");
  LOG_HAS(&fx, "spool expired: a warning says so", "older than");
  fx_done(&fx, "spool expired");
}

static int occurrences(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p != NULL;
       p = strstr(p + 1, needle))
    n++;
  return n;
}

/* A replay that fails keeps its batches, and reads them again next time:
 * their expired events must be counted once. */
static void test_spool_expired_retried(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, UNAVAILABLE,
                                           OK_PUT};
  fx_t fx;
  spb_t sb;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 4, &(fx_opts_t){.spool = 1, .max_attempts = 1},
               "spool expired retried") != 0)
    return;
  body_start(&sb, GROUP, STREAM);
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS - HOUR_MS, "o-00000");
  body_ev(&sb, T0_MS - CW_LOGS_MAX_AGE_MS + HOUR_MS, "o-00001");
  T_EQ_INT(spool_body(&fx, &sb), 0, "spool expired retried: spooled");
  T_EQ_INT(fx_run(&fx), -1, "spool expired retried: the replay fails");
  T_EQ_INT(fx_stats(&fx).items_expired, 0,
           "spool expired retried: not counted while its batch stays");
  T_EQ_INT(spool_items(&fx), 2, "spool expired retried: the batch stays");
  T_EQ_INT(fx_run(&fx), 0, "spool expired retried: the replay succeeds");
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "o",
            "spool expired retried: the young event", 1);
  st = fx_stats(&fx);
  T_EQ_INT(st.items_expired, 1,
           "spool expired retried: 1 expired, counted once when it went");
  T_EQ_INT(occurrences(fx.c.log, "older than"), 1,
           "spool expired retried: warned once");
  T_EQ_INT(st.items_sent, 1, "spool expired retried: 1 sent");
  fx_done(&fx, "spool expired retried");
}

/* Spooled batches that cannot go: a destination that is no log stream, a
 * body that is not a PutLogEvents body, a body of another log stream than
 * its header says. Each is dropped, counted as refused and as a spool
 * error, and logged; the next batch of the destination still goes. */
static void test_spool_unreadable(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;
  spb_t sb;
  int rc = 0;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 3, &(fx_opts_t){.spool = 1}, "spool unreadable") !=
      0)
    return;
  body_start(&sb, "bad group", "s");
  body_ev(&sb, T0_MS, "x-00000");
  body_ev(&sb, T0_MS, "x-00001");
  rc |= spool_body(&fx, &sb);
  rc |= spool_raw(&fx, DEST, "{}", 2, 3, (double)T0);
  body_start(&sb, GROUP2, STREAM2);
  body_ev(&sb, T0_MS, "y-00000");
  sb_add(&sb.sb, "]}");
  rc |= spool_raw(&fx, DEST, sb.sb.buf, sb.sb.len, 1, (double)T0);
  free(sb.sb.buf);
  body_start(&sb, GROUP, STREAM);
  body_evs(&sb, "g", 0, 2, T0_MS, 1);
  rc |= spool_body(&fx, &sb);
  T_EQ_INT(rc, 0, "spool unreadable: 4 batches spooled");

  T_EQ_INT(fx_run(&fx), 0, "spool unreadable: run returns 0");
  T_EQ_INT(srv_count(fx.srv), 3, "spool unreadable: one put");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "g", "spool unreadable: the good batch",
            0, 1);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "spool unreadable", STAT(items_refused, 6),
              STAT(spool_errors, 3), STAT(items_sent, 2));
  T_EQ_INT(fx.c.err_logs, 3, "spool unreadable: 3 errors logged");
  LOG_HAS(&fx, "spool unreadable: each error says why", "bad group:s",
          "not a PutLogEvents body", GROUP2 ":" STREAM2);
  T_EQ_INT(spool_items(&fx), 0, "spool unreadable: the spool is empty");
  fx_done(&fx, "spool unreadable");
}

/* Shutdown with the deadline passed: with a spool, everything queued is
 * spooled (and sent after the restart); pending events cannot be, and are
 * counted as not sent. */
static void test_stop_spool(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;
  cw_spool_batch_t b1, b2;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 6, &(fx_opts_t){.spool = 1}, "stop with a spool") !=
      0)
    return;
  for (size_t i = 0; i < 5; i++)
    fx_add(&fx, i % 2 ? GROUP2 : GROUP, i % 2 ? STREAM2 : STREAM,
           T0_MS + (int64_t)i, "t", i);
  pthread_mutex_lock(&fx.lock);
  cw_logs_queue_add_pending(fx.q, GROUP, "AllTraffic", T0_MS, "p-00005", T0_MS);
  pthread_mutex_unlock(&fx.lock);
  cw_pipeline_stop(fx.p, T0 - 1);
  T_EQ_INT(srv_count(fx.srv), 0, "stop with a spool: no request");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "stop with a spool", STAT(items_spooled, 5),
              STAT(items_unsent, 1));
  T_OK(cw_spool_next(fx.sp, 0, CW_SPOOL_LOGS, DEST, &b1) && b1.items == 3 &&
           cw_spool_next(fx.sp, 0, CW_SPOOL_LOGS, DEST2, &b2) && b2.items == 2,
       "stop with a spool: one batch per log stream");
  LOG_HAS(&fx, "stop with a spool: the log says how many, and why",
          "5 events of the data log spooled",
          "1 events of the data log not sent (they "
          "wait for the instance ID");

  /* The next start sends them. */
  pthread_mutex_lock(&fx.lock);
  cw_logs_queue_destroy(fx.q);
  fx.q = cw_logs_queue_create(fx.max_events);
  pthread_mutex_unlock(&fx.lock);
  if (!T_OK(fx_pipeline(&fx) == 0, "restart: pipeline"))
    return;
  T_EQ_INT(fx_run(&fx), 0, "restart: run returns 0");
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "t", "restart: the first stream", 0, 2,
            4);
  CHECK_PUT(fx.srv, 5, GROUP2, STREAM2, "t", "restart: the second stream", 1,
            3);
  T_EQ_INT(spool_items(&fx), 0, "restart: the spool is empty");
  fx_done(&fx, "stop with a spool");
}

/* Without a spool, what is left is counted and logged with its number. */
static void test_stop_no_spool(void) {
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, NULL, 0, NULL, "stop without a spool") != 0)
    return;
  for (size_t i = 0; i < 4; i++)
    fx_add(&fx, i % 2 ? GROUP2 : GROUP, i % 2 ? STREAM2 : STREAM, T0_MS, "u",
           i);
  cw_pipeline_stop(fx.p, T0 - 1);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "stop without a spool", STAT(items_unsent, 4),
              STAT(items_spooled, 0));
  T_EQ_INT(fx.c.warn_logs, 1, "stop without a spool: one warning");
  LOG_HAS(&fx, "stop without a spool: the exact number in the log",
          "4 events of the data log not sent");
  fx_done(&fx, "stop without a spool");
}

/* Shutdown before the deadline: everything is sent, without pacing. */
static void test_stop_sends(void) {
  static const fake_http_step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                           OK_PUT};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 4, NULL, "stop sends") != 0)
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "v", 0);
  T_EQ_INT(fx_run(&fx), 0, "stop sends: a first run");
  fx_add(&fx, GROUP, STREAM, T0_MS, "v", 1);
  cw_pipeline_stop(fx.p, T0 + 60);
  CHECK_PUT(fx.srv, 2, GROUP, STREAM, "v", "stop sends: first", 0);
  CHECK_PUT(fx.srv, 3, GROUP, STREAM, "v", "stop sends: at stop", 1);
  st = fx_stats(&fx);
  CHECK_STATS(&st, "stop sends", STAT(items_sent, 2), STAT(items_unsent, 0));
  T_EQ_INT(fx_qsize(&fx), 0, "stop sends: queue empty");
  fx_done(&fx, "stop sends");
}

/* ============================================================ readers */

static void test_rejected_info(void) {
  static const struct {
    const char *resp;
    size_t n, want, old, expired, new_;
    const char *what;
  } cases[] = {
      {"{\"nextSequenceToken\":\"1\",\"rejectedLogEventsInfo\":{"
       "\"tooOldLogEventEndIndex\":2,\"tooNewLogEventStartIndex\":5}}",
       6, 3, 2, 0, 1, "too old [0,2) and too new [5,6)"},
      {"{\"rejectedLogEventsInfo\":{\"expiredLogEventEndIndex\":1}}", 2, 1, 0,
       1, 0, "expired [0,1)"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":3,"
       "\"expiredLogEventEndIndex\":2}}",
       10, 3, 3, 2, 0, "too old and expired overlap: counted once"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":3,"
       "\"tooNewLogEventStartIndex\":1}}",
       5, 5, 3, 0, 4, "too new overlapping too old: each event once"},
      {"{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":0}}", 4, 4, 0,
       0, 4, "too new from 0: all"},
      {"{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":4}}", 4, 0, 0,
       0, 0, "too new from n: none"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":100}}", 4, 4, 4,
       0, 0, "an index past the batch: the batch"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":-3,"
       "\"tooNewLogEventStartIndex\":-1}}",
       4, 0, 0, 0, 0, "negative indexes: none"},
      {"{\"nextSequenceToken\":\"x\"}", 4, 0, 0, 0, 0, "no info: none"},
      {"{\"x\":{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":2}}}", 4,
       0, 0, 0, 0, "not at the top: none"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":\"2\"}}", 4, 0,
       0, 0, 0, "a string index: none"},
      {"{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":2,\"too", 4, 2,
       2, 0, 0, "cut short: what came before the cut"},
      {"not json", 4, 0, 0, 0, 0, "not JSON: none"},
      {"", 4, 0, 0, 0, 0, "empty: none"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t old = 99, expired = 99, new_ = 99;
    size_t got = cw_stream_logs_rejected(cases[i].resp, strlen(cases[i].resp),
                                         cases[i].n, &old, &expired, &new_);
    if (!T_OK(got == cases[i].want && old == cases[i].old &&
                  expired == cases[i].expired && new_ == cases[i].new_,
              "rejected: %s", cases[i].what))
      T_NOTE("got %zu (%zu, %zu, %zu)", got, old, expired, new_);
  }
}

static void test_decode(void) {
  static const struct {
    const char *body;
    const char *err; /* expected in the error, or NULL: accepted */
    const char *what;
  } bad[] = {
      {"{\"logGroupName\":\"g\",\"logEvents\":[{\"timestamp\":1,\"message\":"
       "\"m\"}]}",
       "not a PutLogEvents body", "no stream"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[]}",
       "not a PutLogEvents body", "no events"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"sequenceToken\":"
       "\"1\",\"logEvents\":[{\"timestamp\":1,\"message\":\"m\"}]}",
       "unexpected member", "another member"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
       "\"timestamp\":1,\"message\":\"m\"},{\"message\":\"m\"}]}",
       "logEvents[1]", "an event without a timestamp, named by its index"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
       "\"timestamp\":-1,\"message\":\"m\"}]}",
       "number", "a negative timestamp"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
       "\"timestamp\":1,\"message\":\"\"}]}",
       "empty", "an empty message"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
       "\"timestamp\":1.5,\"message\":\"m\"}]}",
       "unexpected", "a fractional timestamp"},
      {"{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
       "\"timestamp\":1,\"message\":\"m\"}",
       "not JSON", "cut short"},
      {"[]", "unexpected", "not an object"},
  };
  static const char good[] =
      "{\"logGroupName\":\"/g\",\"logStreamName\":\"a/b\",\"logEvents\":["
      "{\"timestamp\":1764187230000,\"message\":\"caf\\u00e9 \\\"q\\\"\\n\"},"
      "{\"message\":\"second\",\"timestamp\":5}]}";
  char g[CW_LOGS_MAX_NAME + 1], s[CW_LOGS_MAX_NAME + 1], err[256];
  got_t got = {0};
  long n;

  n = cw_stream_logs_decode(good, strlen(good), g, s, collect, &got, err,
                            sizeof(err));
  T_EQ_INT(n, 2, "decode: 2 events");
  T_OK(strcmp(g, "/g") == 0 && strcmp(s, "a/b") == 0,
       "decode: group and stream");
  T_OK(got.n == 2 && got.ts[0] == 1764187230000LL &&
           strcmp(got.msg[0], "caf\xC3\xA9 \"q\"\n") == 0 && got.ts[1] == 5 &&
           strcmp(got.msg[1], "second") == 0,
       "decode: events in order, escapes decoded, members in any order");
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = 0;
    n = cw_stream_logs_decode(bad[i].body, strlen(bad[i].body), g, s, NULL,
                              NULL, err, sizeof(err));
    if (!T_OK(n == -1 && strstr(err, bad[i].err) != NULL, "decode: %s refused",
              bad[i].what))
      T_NOTE("got %ld, \"%s\"", n, err);
  }
  {
    /* A name of 513 bytes. */
    sb_t b = {0};
    sb_add(&b, "{\"logGroupName\":\"");
    for (int i = 0; i < CW_LOGS_MAX_NAME + 1; i++)
      sb_add(&b, "g");
    sb_add(&b, "\",\"logStreamName\":\"s\",\"logEvents\":[{\"timestamp\":1,"
               "\"message\":\"m\"}]}");
    err[0] = 0;
    T_OK(cw_stream_logs_decode(b.buf, b.len, g, s, NULL, NULL, err,
                               sizeof(err)) == -1 &&
             strstr(err, "name") != NULL,
         "decode: a 513-byte group name refused: %s", err);
    free(b.buf);
  }
}

int main(void) {
  long t0 = fake_http_now_ms();

  fx_process_init();
  test_rejected_info();
  test_decode();
  test_create_args();
  test_first_send();
  test_already_exists();
  test_not_found();
  test_not_found_twice();
  test_throttling();
  test_permanent();
  test_rejected();
  test_expired_token();
  test_persistent();
  test_stop();
  test_deadline();
  test_in_flight();
  test_streams();
  test_big_batches();
  test_utf8_on_the_wire();
  test_create_denied();
  test_too_old_at_send();
  test_denied();
  test_retry_after();
  test_clock_skew();
  test_unanswered();
  test_pending();
  test_spool_failing();
  test_spool_destinations();
  test_spool_limits();
  test_spool_expired();
  test_spool_expired_retried();
  test_spool_unreadable();
  test_stop_spool();
  test_stop_no_spool();
  test_stop_sends();
  curl_global_cleanup();
  T_NOTE("%ld ms", fake_http_now_ms() - t0);
  return t_done();
}
