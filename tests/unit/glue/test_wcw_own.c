/* SPDX-License-Identifier: MIT */
/*
 * write_cloudwatch's own counters (plugin/wcw_own.c), as collectd gets
 * them: the block's sender thread dispatches them after each flush
 * (collectd's flush callback asks for one here), to a fake CloudWatch and
 * CloudWatch Logs (tests/fakes/fake_http.h) that answer as each scenario
 * wants.
 *
 *   - their names: exactly README's list (the paragraphs "The plugin
 *     dispatches its own counters" and "The plugin's own counters add"),
 *     with a spool, host metrics and the data log or without, each once,
 *     as plugin write_cloudwatch, the block's instance, type derive or
 *     queue_length;
 *   - each moves with what it counts, and no other moves: a scenario
 *     names every counter's change, against what the test wrote and what
 *     the fake received (requests, their bodies' bytes before and after
 *     gzip, the datums in them).
 */
#include "wcw_fixture.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fake_http.h"
#include "sm_sketch_text.h"
#include "tap.h"

#define MAX_OWN WCW_OWN_MAX
#define WAIT_MS 20000

static const char extra_types[] = "memory value:GAUGE:0:281474976710656\n"
                                  "percent value:GAUGE:0:100.1\n";

/* ------------------------------------------------ README's own values */

enum { G_BASE, G_SPOOL, G_HOST, G_LOG, G_LOG_SPOOL };

typedef struct {
  char name[64];
  int group;
} readme_name_t;

static readme_name_t names[128];
static size_t names_num;

/* The backquoted names of text[0..len) into group, skipping what is not
 * a counter (the plugin's and type's names, the instances, options). */
static void names_of(const char *text, size_t len, int group) {
  for (const char *p = text; p < text + len && names_num < 128;) {
    const char *a = memchr(p, '`', (size_t)(text + len - p)), *b;
    if (a == NULL)
      break;
    b = memchr(a + 1, '`', (size_t)(text + len - a - 1));
    if (b == NULL)
      break;
    if (b - a - 1 < 64 && (a[1] < '0' || a[1] > '9') &&
        strncmp(a + 1, "write_cloudwatch`", 17) != 0 &&
        strncmp(a + 1, "derive`", 7) != 0 &&
        strncmp(a + 1, "HostMetrics`", 12) != 0) {
      snprintf(names[names_num].name, 64, "%.*s", (int)(b - a - 1), a + 1);
      names[names_num++].group = group;
    }
    p = b + 1;
  }
}

/* The names of README's paragraph that starts with start (up to a blank
 * line, from its first "): " if from_colon), into groups: before the
 * first mark, then after each mark found. */
static int paragraph_names(const char *readme, const char *start,
                           bool from_colon, const char *const *marks,
                           const int *groups, size_t nmarks) {
  const char *p = strstr(readme, start), *end;
  char text[4096];
  const char *from;
  size_t len;

  if (p == NULL)
    return -1;
  end = strstr(p, "\n\n");
  len = end != NULL ? (size_t)(end - p) : strlen(p);
  if (len >= sizeof(text))
    return -1;
  /* One line: README wraps its paragraphs anywhere. */
  for (size_t i = 0; i < len; i++)
    text[i] = p[i] == '\n' ? ' ' : p[i];
  text[len] = 0;
  from = text;
  if (from_colon && (from = strstr(text, "): ")) == NULL)
    return -1;
  for (size_t i = 0; i <= nmarks; i++) {
    const char *to = i < nmarks ? strstr(from, marks[i]) : NULL;
    if (to == NULL)
      to = text + len;
    names_of(from, (size_t)(to - from), groups[i]);
    from = to;
  }
  return 0;
}

static int readme_names(const char *readme) {
  static const char *const own_marks[] = {"with a spool", "with `HostMetrics`"};
  static const int own_groups[] = {G_BASE, G_SPOOL, G_HOST};
  static const char *const log_marks[] = {"with a spool"};
  static const int log_groups[] = {G_LOG, G_LOG_SPOOL};

  if (paragraph_names(readme, "The plugin dispatches its own counters", true,
                      own_marks, own_groups, 2) != 0 ||
      paragraph_names(readme, "The plugin's own counters add", false, log_marks,
                      log_groups, 1) != 0)
    return -1;
  return 0;
}

static bool in_config(int group, bool spool, bool host, bool log) {
  return group == G_BASE || (group == G_SPOOL && spool) ||
         (group == G_HOST && host) || (group == G_LOG && log) ||
         (group == G_LOG_SPOOL && log && spool);
}

static size_t expected_num(bool spool, bool host, bool log) {
  size_t n = 0;
  for (size_t i = 0; i < names_num; i++)
    n += in_config(names[i].group, spool, host, log);
  return n;
}

/* --------------------------------------------------- the fake service */

typedef struct {
  int status; /* 0: never answer */
  const char *body;
} reply_t;

#define OK_BODY "{}"
#define REFUSED_METRICS                                                        \
  "{\"__type\":\"InvalidParameterValue\",\"message\":\"refused here\"}"
#define REFUSED_LOGS                                                           \
  "{\"__type\":\"InvalidParameterException\",\"message\":\"refused here\"}"
#define ANSWER_HEADERS                                                         \
  "x-amzn-RequestId: 00000000-1111-2222-3333-444444444444\r\n"

/* What PutMetricData and PutLogEvents are answered: a script, then the
 * default (CreateLogGroup and CreateLogStream: always 200). */
static struct {
  pthread_mutex_t lock;
  reply_t metrics[8], logs[8];
  size_t metrics_n, logs_n;
  int metrics_default, logs_default;
} script = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .metrics_default = 200,
            .logs_default = 200};

static fake_http_t *srv;

static void answer(reply_t r, fake_http_step_t *a) {
  if (r.status == 0) {
    a->action = FAKE_HTTP_SILENT;
    return;
  }
  a->status = r.status;
  a->body = r.body;
  a->headers = ANSWER_HEADERS;
}

/* Answers req as scripted, and marks it with the status answered (0:
 * none). */
static fake_http_pick_t pick(void *ud, fake_http_request_t *req, size_t nth,
                             fake_http_step_t *a) {
  bool logs = strstr(req->head, "Logs_20140328.PutLogEvents") != NULL;
  reply_t r = {200, OK_BODY};

  (void)ud;
  (void)nth;
  if (strstr(req->head, "Logs_20140328.CreateLog") != NULL) {
    req->mark = 200;
    answer((reply_t){200, ""}, a);
    return FAKE_HTTP_PICKED;
  }
  pthread_mutex_lock(&script.lock);
  if (logs && script.logs_n > 0) {
    r = script.logs[0];
    memmove(script.logs, script.logs + 1, --script.logs_n * sizeof(r));
  } else if (!logs && script.metrics_n > 0) {
    r = script.metrics[0];
    memmove(script.metrics, script.metrics + 1, --script.metrics_n * sizeof(r));
  } else {
    int status = logs ? script.logs_default : script.metrics_default;
    r = (reply_t){status, status == 200 ? OK_BODY : ""};
  }
  pthread_mutex_unlock(&script.lock);
  req->mark = r.status;
  answer(r, a);
  return FAKE_HTTP_PICKED;
}

static void script_metrics(const reply_t *r, size_t n) {
  pthread_mutex_lock(&script.lock);
  memcpy(script.metrics, r, n * sizeof(*r));
  script.metrics_n = n;
  pthread_mutex_unlock(&script.lock);
}

static void script_logs(const reply_t *r, size_t n) {
  pthread_mutex_lock(&script.lock);
  memcpy(script.logs, r, n * sizeof(*r));
  script.logs_n = n;
  pthread_mutex_unlock(&script.lock);
}

static void script_defaults(int metrics, int logs) {
  pthread_mutex_lock(&script.lock);
  script.metrics_default = metrics;
  script.logs_default = logs;
  pthread_mutex_unlock(&script.lock);
}

/* A body as it arrived, gunzipped when it was gzipped: its length. */
static size_t raw_length(const fake_http_request_t *r, char **raw) {
  char enc[32];
  z_stream z;
  static unsigned char out[8 << 20];
  size_t n;

  *raw = NULL;
  if (fake_http_header(r, "Content-Encoding", enc, sizeof(enc)) == NULL) {
    *raw = malloc(r->body_len + 1);
    memcpy(*raw, r->body, r->body_len + 1);
    return r->body_len;
  }
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return 0;
  z.next_in = r->body;
  z.avail_in = (uInt)r->body_len;
  z.next_out = out;
  z.avail_out = sizeof(out) - 1;
  inflate(&z, Z_FINISH);
  n = z.total_out;
  inflateEnd(&z);
  *raw = malloc(n + 1);
  memcpy(*raw, out, n);
  (*raw)[n] = 0;
  return n;
}

static size_t count_of(const char *text, const char *what) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
    n++;
  return n;
}

/* What the fake got since the last reset. */
typedef struct {
  size_t metrics_requests; /* PutMetricData, answered or not */
  size_t logs_requests;    /* every CloudWatch Logs request */
  size_t answered_metrics, answered_logs;
  uint64_t metrics_bytes, metrics_raw; /* as sent, and gunzipped */
  size_t datums_accepted;              /* in PutMetricData answered 200 */
  size_t events_accepted;              /* in PutLogEvents answered 200 */
} got_t;

/* What the fake received since its last reset, and answered (pick's
 * mark). */
static got_t received(void) {
  got_t g;
  fake_http_stats_t st = fake_http_stats(srv);

  memset(&g, 0, sizeof(g));
  for (size_t i = 0; i < st.requests; i++) {
    const fake_http_request_t *r = fake_http_request(srv, i);
    char *raw = NULL;
    size_t len;
    int status;

    if (r == NULL)
      continue;
    if (strstr(r->head, "Logs_20140328.") != NULL) {
      g.logs_requests++;
      if (strstr(r->head, "Logs_20140328.PutLogEvents") == NULL) {
        g.answered_logs += r->mark != 0;
        continue;
      }
      status = r->mark;
      g.answered_logs += status != 0;
      if (status == 200) {
        raw_length(r, &raw);
        g.events_accepted += count_of(raw, "\"timestamp\"");
      }
      free(raw);
      continue;
    }
    g.metrics_requests++;
    status = r->mark;
    len = raw_length(r, &raw);
    if (status != 0) {
      g.answered_metrics++;
      g.metrics_bytes += r->body_len;
      g.metrics_raw += len;
    }
    if (status == 200)
      g.datums_accepted += count_of(raw, "\"MetricName\"");
    free(raw);
  }
  return g;
}

/* ------------------------------------------------------- own values */

typedef struct {
  char name[2 * DATA_MAX_NAME_LEN + 1]; /* type-type_instance */
  uint64_t v;
} own_t;

typedef struct {
  own_t v[MAX_OWN];
  size_t n;
} owns_t;

static uint64_t own(const owns_t *o, const char *name) {
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->v[i].name, name) == 0)
      return o->v[i].v;
  return 0;
}

/* A flush, as collectd's flush callback asks for it: the values the
 * sender thread dispatches after it. */
static bool flush(const wcw_t *w, size_t expect, owns_t *o) {
  stub_values_clear();
  stub_flush();
  o->n = 0;
  if (!stub_values_wait(expect, WAIT_MS))
    return false;
  for (size_t i = 0; i < stub_values_count() && o->n < MAX_OWN; i++) {
    const value_list_t *vl = stub_value(i);
    own_t *x = &o->v[o->n];
    if (strcmp(vl->plugin, "write_cloudwatch") != 0 ||
        strcmp(vl->plugin_instance, w->instance) != 0)
      continue;
    if (strcmp(vl->type, "derive") == 0) {
      snprintf(x->name, sizeof(x->name), "%s", vl->type_instance);
      x->v = (uint64_t)vl->values[0].derive;
    } else {
      snprintf(x->name, sizeof(x->name), "%s-%s", vl->type, vl->type_instance);
      x->v = (uint64_t)vl->values[0].gauge;
    }
    o->n++;
  }
  return true;
}

/* The dispatched names are README's for this configuration, each once,
 * as collectd values of the block. */
static void check_names(const wcw_t *w, bool spool, bool host, bool log,
                        const char *what) {
  size_t expect = expected_num(spool, host, log);
  owns_t o;
  bool ok_meta = true;

  if (!T_OK(flush(w, expect, &o), "%s: %zu own values dispatched", what,
            expect))
    return;
  T_EQ_INT(stub_values_count(), expect, "  README's number, no more");
  for (size_t i = 0; i < names_num; i++) {
    size_t times = 0;
    if (!in_config(names[i].group, spool, host, log))
      continue;
    for (size_t j = 0; j < o.n; j++)
      times += strcmp(o.v[j].name, names[i].name) == 0;
    T_EQ_INT(times, 1, names[i].name);
  }
  for (size_t i = 0; i < stub_values_count(); i++) {
    const value_list_t *vl = stub_value(i);
    ok_meta = ok_meta && strcmp(vl->plugin, "write_cloudwatch") == 0 &&
              strcmp(vl->plugin_instance, w->instance) == 0 &&
              (strcmp(vl->type, "derive") == 0 ||
               strcmp(vl->type, "queue_length") == 0) &&
              vl->values_len == 1 && vl->interval == w->flush_interval &&
              vl->time != 0;
  }
  T_OK(ok_meta,
       "  each: plugin write_cloudwatch, instance %s, a derive or "
       "a queue_length, the flush interval",
       w->instance);
}

typedef struct {
  const char *name;
  int64_t v; /* a counter: its change; a queue_length: its level */
} move_t;

/* Every own value moved as moves says (those not named: not at all), from
 * before to after. */
static void check_moves(const owns_t *before, const owns_t *after,
                        const move_t *moves, size_t n, const char *what) {
  bool all = true;

  for (size_t i = 0; i < after->n; i++) {
    const char *name = after->v[i].name;
    bool level = strncmp(name, "queue_length-", 13) == 0;
    int64_t want = 0, got;
    for (size_t j = 0; j < n; j++)
      if (strcmp(moves[j].name, name) == 0)
        want = moves[j].v;
    got = level ? (int64_t)after->v[i].v
                : (int64_t)(after->v[i].v - own(before, name));
    if (got != want) {
      T_NOTE("%s: %s %s %" PRId64 ", want %" PRId64, what, name,
             level ? "is" : "moved by", got, want);
      all = false;
    }
  }
  T_OK(all && after->n > 0, "%s: each own value moved as it should", what);
}

/* A scenario's block: its own values at the flush before the last and at
 * the last, and what the fake received since its last reset. */
typedef struct {
  const wcw_t *w;
  size_t n; /* own values dispatched at each flush */
  owns_t before, after;
  got_t g;
} scene_t;

/* A flush (see flush): false when its own values did not come. */
static bool scene_flush(scene_t *s) {
  bool ok;
  s->before = s->after;
  ok = flush(s->w, s->n, &s->after);
  s->g = received();
  return ok;
}

/* The block's first flush, from no own values at all. */
static bool scene_start(scene_t *s, const wcw_t *w, size_t n) {
  memset(s, 0, sizeof(*s));
  s->w = w;
  s->n = n;
  return scene_flush(s);
}

/* Since the flush before: every own value moved as moves says. */
static void moved(const scene_t *s, const move_t *moves, size_t n,
                  const char *what) {
  check_moves(&s->before, &s->after, moves, n, what);
}

/* moved, with these further moves. */
static void moved_plus(const scene_t *s, const move_t *moves, size_t n,
                       const move_t *plus, size_t nplus, const char *what) {
  move_t m[16];

  if (n + nplus > 16) {
    T_OK(0, "%s: more than 16 moves", what);
    return;
  }
  memcpy(m, moves, n * sizeof(*m));
  memcpy(m + n, plus, nplus * sizeof(*m));
  moved(s, m, n + nplus, what);
}

/* moved, with the data log's requests: those the fake answered. */
static void moved_logs(const scene_t *s, const move_t *moves, size_t n,
                       const char *what) {
  move_t plus = {"log_requests", (int64_t)s->g.answered_logs};
  moved_plus(s, moves, n, &plus, 1, what);
}

/* The moves of the PutMetricData requests answered since the last reset:
 * the bytes the fake got, and gunzipped. */
#define BYTES_MOVED(g)                                                         \
  {"bytes_sent", (int64_t)(g).metrics_bytes}, {                                \
    "bytes_uncompressed", (int64_t)(g).metrics_raw                             \
  }

/* --------------------------------------------------------- scenarios */

/* Now, at the start of its minute plus a second: values of one scenario
 * at t and t + 1 s are of one period (StorageResolution 60). */
static cdtime_t now_t(void) {
  return TIME_T_TO_CDTIME_T(CDTIME_T_TO_TIME_T(cdtime()) / 60 * 60 + 1);
}

static void write_sm_count(const char *metric, double v, cdtime_t t) {
  fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_COUNT, metric, &v, 1, t,
           fx_sm_meta(EP, VARIANT, NULL));
}

static void write_memory(const char *host, const char *ti, double v,
                         cdtime_t t) {
  fx_write(host, "memory", "", "memory", ti, &v, 1, t, NULL);
}

/* A send of memory series (instance, value) that the fake answers with
 * replies (a status of 0: no answer), one a PutMetricData request, and
 * that moves the own values so, with the bytes sent. */
typedef struct {
  const char *what;
  reply_t replies[2];
  size_t requests; /* the replies scripted, each used once */
  struct {
    const char *ti;
    double v;
  } writes[2];
  move_t moves[4]; /* up to a NULL name */
} send_t;

static const send_t sends[] = {
    {"a batch refused for good",
     {{400, REFUSED_METRICS}},
     1,
     {{"r1", 1}, {"r2", 2}},
     {{"datums_dropped-refused", 2}, {"requests", 1}, {"requests_failed", 1}}},
    {"a request unanswered, then accepted",
     {{0, NULL}, {200, OK_BODY}},
     2,
     {{"u1", 1}},
     {{"datums_sent", 1},
      {"requests", 1},
      {"requests_unanswered", 1},
      {"retries", 1}}},
    {"a 500, then accepted",
     {{500, ""}, {200, OK_BODY}},
     2,
     {{"f1", 1}},
     {{"datums_sent", 1},
      {"requests", 2},
      {"requests_failed", 1},
      {"retries", 1}}},
    {"a batch failing its attempts: kept",
     {{503, ""}, {503, ""}},
     2,
     {{"k1", 1}, {"k2", 1}},
     {{"queue_length-datums", 2},
      {"requests", 2},
      {"requests_failed", 2},
      {"retries", 1}}},
};

static void check_send(scene_t *s, const send_t *c, cdtime_t t) {
  size_t n = 0;
  char what[128];

  fake_http_reset(srv, NULL, 0);
  script_metrics(c->replies, c->requests);
  for (size_t i = 0; i < 2 && c->writes[i].ti != NULL; i++)
    write_memory("h1", c->writes[i].ti, c->writes[i].v, t);
  scene_flush(s);
  while (n < 4 && c->moves[n].name != NULL)
    n++;
  snprintf(what, sizeof(what), "%s: the fake got %zu requests", c->what,
           c->requests);
  T_EQ_INT(s->g.metrics_requests, c->requests, what);
  moved_plus(s, c->moves, n, (move_t[]){BYTES_MOVED(s->g)}, 2, c->what);
}

/* The counters of the metrics, without a spool, host metrics or data
 * log. */
static void test_metrics(const char *url) {
  char options[1024];
  scene_t s;
  size_t n = expected_num(false, false, false);
  wcw_t *w;
  cdtime_t t = now_t();

  snprintf(options, sizeof(options),
           "Endpoint \"%s/\"\nDataLog false\nGenericMetrics true\n"
           "MaxQueuedDatums 1000\nMaxAttempts 2\nTimeout 0.5\n"
           "ShutdownTimeout 0\nFlushInterval 3600\nMaxRequestsPerSecond 1000",
           url);
  w = fx_block(options, NULL);
  if (!T_OK(w != NULL, "a block without spool, host metrics, data log"))
    return;
  check_names(w, false, false, false, "without spool, host, data log");
  if (!scene_start(&s, w, n))
    return;
  moved(&s, NULL, 0, "at first: all 0");

  /* Sent: three SageMaker series in one request. */
  fake_http_reset(srv, NULL, 0);
  write_sm_count("InvocationFailures", 1, t);
  write_sm_count("ExpiredRequests", 2, t);
  write_sm_count("InvocationsProcesssed", 3, t);
  scene_flush(&s);
  {
    move_t m[] = {{"datums_sent", 3}, {"requests", 1}, BYTES_MOVED(s.g)};
    T_EQ_INT(s.g.datums_accepted, 3, "the fake got three datums");
    moved(&s, m, 4, "three datums sent");
  }

  /* The queue full: 1001 series, the oldest dropped; 1000 sent, gzipped. */
  fake_http_reset(srv, NULL, 0);
  for (int i = 0; i <= 1000; i++) {
    char ti[32];
    snprintf(ti, sizeof(ti), "m%d", i);
    write_memory("h1", ti, i, t);
  }
  scene_flush(&s);
  {
    move_t m[] = {{"datums_sent", 1000},
                  {"datums_dropped-queue_full", 1},
                  {"requests", (int64_t)s.g.answered_metrics},
                  BYTES_MOVED(s.g)};
    T_EQ_INT(s.g.datums_accepted, 1000, "the fake got 1000 datums");
    T_OK(s.g.metrics_bytes < s.g.metrics_raw,
         "  gzipped: %" PRIu64 " < %" PRIu64, s.g.metrics_bytes,
         s.g.metrics_raw);
    moved(&s, m, 5, "1001 series in a queue of 1000");
  }

  /* Invalid: no endpoint name; a timestamp three weeks back. */
  fake_http_reset(srv, NULL, 0);
  {
    double v = 1;
    /* (at another time than the InvocationFailures above: that would be
     * a repeat) */
    fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_COUNT, "InvocationFailures",
             &v, 1, t + TIME_T_TO_CDTIME_T(2), fx_sm_meta(NULL, VARIANT, NULL));
    write_memory("h1", "old", 1, t - TIME_T_TO_CDTIME_T(21 * 86400));
  }
  scene_flush(&s);
  {
    move_t m[] = {{"datums_dropped-invalid", 2}};
    moved(&s, m, 1, "two datums CloudWatch would refuse");
  }

  /* Refused: 400 for good. No answer, then accepted; a 500, then
   * accepted. Kept: failed twice (MaxAttempts 2), then sent at the next
   * flush. */
  for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++)
    check_send(&s, &sends[i], t);
  fake_http_reset(srv, NULL, 0);
  scene_flush(&s);
  {
    move_t m[] = {{"datums_sent", 2}, {"requests", 1}, BYTES_MOVED(s.g)};
    moved(&s, m, 4, "  sent at the next flush");
  }

  /* Expired while it waited: written when the clock said 15 days ago. */
  fake_http_reset(srv, NULL, 0);
  stub_set_time(t - TIME_T_TO_CDTIME_T(15 * 86400));
  write_memory("h1", "e1", 1, t - TIME_T_TO_CDTIME_T(15 * 86400));
  stub_set_time(0);
  scene_flush(&s);
  {
    move_t m[] = {{"datums_dropped-expired", 1},
                  {"requests", (int64_t)s.g.answered_metrics},
                  BYTES_MOVED(s.g)};
    T_EQ_INT(s.g.metrics_requests, 0, "  nothing sent");
    moved(&s, m, 4, "a datum older than two weeks at the flush");
  }

  /* A repeat; a timing with and without a sketch in one period; an
   * unreadable sketch. */
  fake_http_reset(srv, NULL, 0);
  {
    double st[4] = {1, 100, 100, 100};
    sm_sketch_t *sk = sm_sketch_create(0.01, sm_sketch_buckets_for(0.01));
    char *text;
    sm_sketch_add(sk, 100);
    text = sm_sketch_text_encode(sk);
    sm_sketch_destroy(sk);
    write_memory("h1", "rep", 1, t);
    write_memory("h1", "rep", 1, t);
    fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_STATS, "ModelLatency", st,
             4, t, fx_sm_meta(EP, VARIANT, text));
    fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_STATS, "ModelLatency", st,
             4, t + TIME_T_TO_CDTIME_T(1), fx_sm_meta(EP, VARIANT, NULL));
    fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_STATS, "TimeInBacklog", st,
             4, t, fx_sm_meta(EP, VARIANT, "sketch 9 garbage"));
    free(text);
  }
  scene_flush(&s);
  {
    move_t m[] = {{"values_repeated", 1},
                  {"percentiles_dropped-fallback", 1},
                  {"percentiles_dropped-unreadable", 1},
                  {"datums_sent", 3},
                  {"requests", 1},
                  BYTES_MOVED(s.g)};
    T_EQ_INT(s.g.datums_accepted, 3, "  the fake got three datums");
    moved(&s, m, 7, "a repeat, a fallback, an unreadable sketch");
  }
  fx_free_blocks();
}

/* A spool directory that holds one damaged batch file. */
static int make_spool(char *dir, size_t size) {
  char path[512];
  FILE *f;

  snprintf(dir, size, "%s/sm-own-spool.XXXXXX",
           getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/00000000000000000001.spool", dir);
  f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs("not a spool file\n", f);
  fclose(f);
  return 0;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[1024];

  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d != NULL)
    closedir(d);
  rmdir(dir);
}

static void notify(const char *variant, const char *instance) {
  fx_notify_request(SM_PLUGIN_ASYNC, SM_TYPE_REQUEST, variant, instance,
                    (int64_t)CDTIME_T_TO_MS(cdtime()));
}

/* Host metrics, the data log and the spool. */
static void test_all(const char *url) {
  char options[2048], dir[256];
  scene_t s;
  size_t n = expected_num(true, true, true);
  wcw_t *w;
  cdtime_t t = now_t();

  if (!T_OK(make_spool(dir, sizeof(dir)) == 0, "a spool directory"))
    return;
  snprintf(options, sizeof(options),
           "Endpoint \"%s/\"\nLogsEndpoint \"%s/\"\nGenericMetrics true\n"
           "HostMetrics true\nSpoolDirectory \"%s\"\n"
           "SpoolMaxBytes 1048576\nMaxQueuedLogEvents 1000\nMaxAttempts 2\n"
           "Timeout 0.5\nShutdownTimeout 0\nFlushInterval 3600\n"
           "MaxRequestsPerSecond 1000",
           url, url, dir);
  w = fx_block(options, NULL);
  if (!T_OK(w != NULL, "a block with a spool, host metrics, the data log")) {
    remove_dir(dir);
    return;
  }
  check_names(w, true, true, true, "with spool, host metrics, data log");
  if (!scene_start(&s, w, n))
    return;
  {
    move_t m[] = {{"spool_errors", 1}};
    moved(&s, m, 1, "at first: the damaged file set aside");
  }

  /* Host metrics: a host without names, one with a read missing a value,
   * a late value, hosts beyond 64. */
  fake_http_reset(srv, NULL, 0);
  {
    cdtime_t ten = TIME_T_TO_CDTIME_T(10);
    double v = 1;
    /* h1 is named by sagemaker_async's value. */
    fx_write("h1", SM_PLUGIN_ASYNC, "main", SM_TYPE_GAUGE,
             "ApproximateBacklogSize", &v, 1, t, fx_sm_meta(EP, VARIANT, NULL));
    /* From percentages, MemoryUtilization takes "used" and
     * "slab_unrecl" (cw_host.h). u1: a complete read, closed by the next
     * one: no names. */
    fx_write("u1", "memory", "", "percent", "used", (double[]){40}, 1, t, NULL);
    fx_write("u1", "memory", "", "percent", "slab_unrecl", (double[]){6}, 1, t,
             NULL);
    fx_write("u1", "memory", "", "percent", "used", (double[]){40}, 1, t + ten,
             NULL);
    /* h1: read 0 complete, read 1 without "slab_unrecl" closed by read 2,
     * then read 1's "slab_unrecl" after read 2 began: late. */
    fx_write("h1", "memory", "", "percent", "used", (double[]){30}, 1, t, NULL);
    fx_write("h1", "memory", "", "percent", "slab_unrecl", (double[]){5}, 1, t,
             NULL);
    fx_write("h1", "memory", "", "percent", "used", (double[]){30}, 1, t + ten,
             NULL);
    fx_write("h1", "memory", "", "percent", "used", (double[]){30}, 1,
             t + 2 * ten, NULL);
    fx_write("h1", "memory", "", "percent", "slab_unrecl", (double[]){5}, 1,
             t + ten + TIME_T_TO_CDTIME_T(1), NULL);
    for (int h = 0; h < 70; h++) {
      char host[16];
      snprintf(host, sizeof(host), "y%d", h);
      fx_write(host, "memory", "", "percent", "used", (double[]){1}, 1, t,
               NULL);
    }
  }
  scene_flush(&s);
  {
    /* README: hosts beyond 64 are dropped; u1 and h1 are two of them. */
    move_t m[] = {{"host_reads_dropped-unnamed", 1},
                  {"host_reads_dropped-incomplete", 1},
                  {"host_values_dropped-late", 1},
                  {"host_values_dropped-limit", 70 - 62},
                  {"datums_sent", (int64_t)s.g.datums_accepted},
                  {"requests", (int64_t)s.g.answered_metrics},
                  BYTES_MOVED(s.g)};
    T_OK(s.g.datums_accepted >= 2, "  the fake got %zu datums",
         s.g.datums_accepted);
    moved(&s, m, 8, "host metrics");
  }

  /* The data log: sent (creating its group and stream), retried,
   * refused, invalid, beyond its queue, waiting for its instance. */
  fake_http_reset(srv, NULL, 0);
  notify(VARIANT, "i-1");
  scene_flush(&s);
  {
    move_t m[] = {{"log_events_sent", 1}};
    T_EQ_INT(s.g.events_accepted, 1, "the fake got one event");
    moved_logs(&s, m, 1, "a data-log event sent");
  }
  fake_http_reset(srv, NULL, 0);
  script_logs((reply_t[]){{503, ""}, {200, OK_BODY}}, 2);
  notify(VARIANT, "i-1");
  scene_flush(&s);
  {
    move_t m[] = {{"log_events_sent", 1}, {"log_retries", 1}};
    moved_logs(&s, m, 2, "a data-log event retried");
  }
  fake_http_reset(srv, NULL, 0);
  script_logs((reply_t[]){{400, REFUSED_LOGS}}, 1);
  notify(VARIANT, "i-1");
  notify(NULL, NULL);
  scene_flush(&s);
  {
    move_t m[] = {{"log_events_dropped-refused", 1},
                  {"log_events_dropped-invalid", 1}};
    moved_logs(&s, m, 2, "a data-log event refused, one unnamable");
  }
  fake_http_reset(srv, NULL, 0);
  for (int i = 0; i <= 1000; i++)
    notify(VARIANT, "i-1");
  scene_flush(&s);
  {
    move_t m[] = {{"log_events_sent", 1000}, {"log_events_dropped-queue", 1}};
    T_EQ_INT(s.g.events_accepted, 1000, "the fake got 1000 events");
    moved_logs(&s, m, 2, "1001 events in a queue of 1000");
  }
  fake_http_reset(srv, NULL, 0);
  notify(VARIANT, NULL);
  scene_flush(&s);
  {
    move_t m[] = {{"queue_length-log_events", 1},
                  {"queue_length-log_events_unnamed", 1}};
    T_EQ_INT(fake_http_stats(srv).requests, 0, "  nothing sent");
    moved(&s, m, 2, "an event waiting for its instance ID");
  }

  /* The spool: both services failing; then more than it holds. */
  fake_http_reset(srv, NULL, 0);
  script_defaults(503, 503);
  write_memory("h1", "s1", 1, t);
  write_memory("h1", "s2", 1, t);
  notify(VARIANT, "i-1");
  scene_flush(&s);
  {
    move_t m[] = {{"datums_spooled", 2},
                  {"queue_length-spool_datums", 2},
                  {"log_events_spooled", 1},
                  {"queue_length-spool_log_events", 1},
                  {"queue_length-log_events", 1},
                  {"queue_length-log_events_unnamed", 1},
                  {"requests", (int64_t)s.g.answered_metrics},
                  {"requests_failed", (int64_t)s.g.answered_metrics},
                  {"retries", (int64_t)s.g.answered_metrics / 2},
                  {"log_requests", (int64_t)s.g.answered_logs},
                  {"log_retries", 1},
                  BYTES_MOVED(s.g)};
    moved(&s, m, 13, "both failing: spooled");
    /* README ("Sending"): a batch not sent within its attempts goes to
     * the spool and its destination is failing: later sends try one
     * request. The host metrics' stream replays the metrics' spool too
     * (one kind), at once, with its own attempts. */
    T_EQ_INT(s.g.metrics_requests, 2,
             "  a batch failing its 2 attempts is not tried again in the "
             "same flush (with HostMetrics)");
    T_EQ_INT(s.g.logs_requests, 2, "  nor is the data log's");
  }
  fake_http_reset(srv, NULL, 0);
  {
    /* Series whose names gzip does not shrink much: 20000 of them fill
     * more than the spool's 1 MiB. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
      char pi[101];
      for (int j = 0; j < 100; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pi[j] = "0123456789abcdef"[x & 15];
      }
      pi[100] = 0;
      fx_write("h1", "memory", pi, "memory", "used", (double[]){1}, 1, t, NULL);
    }
  }
  scene_flush(&s);
  {
    uint64_t spooled =
        own(&s.after, "datums_spooled") - own(&s.before, "datums_spooled");
    uint64_t full = own(&s.after, "datums_dropped-spool_full") -
                    own(&s.before, "datums_dropped-spool_full");
    uint64_t held = own(&s.after, "queue_length-spool_datums");
    T_EQ_INT(spooled, 20000, "20000 more datums spooled");
    T_OK(full > 0, "  the spool full: %" PRIu64 " dropped", full);
    T_EQ_INT(held + full, 2 + spooled,
             "  what it holds and what it dropped: all it took");
    T_EQ_INT(own(&s.after, "log_events_dropped-spool_full"), 1,
             "  the oldest batches go first: the data log's too");
    T_EQ_INT(own(&s.after, "queue_length-spool_log_events"), 0,
             "  so it holds no event");
  }
  script_defaults(200, 200);
  fx_free_blocks();
  remove_dir(dir);
}

int main(void) {
  char *readme = fx_source("README.md");
  fake_http_config_t cfg = {.pick = pick};
  char err[256];

  if (readme == NULL || readme_names(readme) != 0 ||
      fx_init(extra_types) != 0) {
    T_OK(0, "README.md and contrib/types.db read");
    free(readme);
    return t_done();
  }
  free(readme);
  T_OK(names_num >= 30, "README lists %zu own values", names_num);
  srv = fake_http_start(&cfg, err, sizeof(err));
  if (!T_OK(srv != NULL, "a fake CloudWatch")) {
    T_NOTE("%s", err);
    return t_done();
  }
  test_metrics(fake_http_url(srv));
  test_all(fake_http_url(srv));
  fake_http_free(srv);
  return t_done();
}
