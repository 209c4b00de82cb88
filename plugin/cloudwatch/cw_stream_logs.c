/* SPDX-License-Identifier: MIT */
/*
 * cw_stream_logs: PutLogEvents batches (see cw_stream_logs.h).
 *
 * A batch from the queue is written while claimed (its events are the
 * queue's, chronological). A batch replayed from the spool collects the
 * events of one or more spooled bodies of its log stream in an arena
 * (one copy of each message, no allocation per event), sorts them by time
 * (stable) and is written at finish.
 */
#include "cw_stream_logs.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "sm_json.h"

#define LOGS_ALREADY_EXISTS "ResourceAlreadyExistsException"
#define LOGS_NOT_FOUND "ResourceNotFoundException"

typedef struct {
  int64_t ts;
  size_t off, len; /* in the arena */
  size_t order;    /* arrival: the order of equal times */
} rec_t;

struct cw_stream_logs_s {
  cw_logs_queue_t *q;
  yajl_gen g; /* the body of the batch under way */

  /* a replayed batch */
  char group[CW_LOGS_MAX_NAME + 1];
  char stream[CW_LOGS_MAX_NAME + 1];
  rec_t *recs;
  size_t nrecs, recs_cap;
  char *arena;
  size_t arena_len, arena_cap;
  size_t bytes; /* messages plus CW_LOGS_EVENT_OVERHEAD each */
  bool from_spool;

  /* Groups ("G") and streams ("G:S"; a group name has no ':') known to
   * exist: a ring, the oldest overwritten; NULL slots are forgotten. */
  char *known[CW_LOGS_MAX_KNOWN];
  size_t known_next;
  uint64_t created;
  bool rejecting; /* the last answer refused some events */
};

cw_stream_logs_t *cw_stream_logs_create(cw_logs_queue_t *q) {
  cw_stream_logs_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->q = q;
  return l;
}

void cw_stream_logs_destroy(cw_stream_logs_t *l) {
  if (l == NULL)
    return;
  if (l->g != NULL)
    yajl_gen_free(l->g);
  for (size_t i = 0; i < CW_LOGS_MAX_KNOWN; i++)
    free(l->known[i]);
  free(l->recs);
  free(l->arena);
  free(l);
}

uint64_t cw_stream_logs_created(const cw_stream_logs_t *l) {
  return l->created;
}

/* ------------------------------------------------------------ bodies */

/* Starts a body: {"logGroupName": G[, "logStreamName": S] (the map left
 * open), in *gp, made when NULL, else emptied and used again: its buffer
 * (as large as the largest body, up to twice a request's 1 MiB) stays
 * allocated from one request to the next instead of being freed and grown
 * again for each (cw_encode_gzip_into says why that matters). Strings are
 * checked as UTF-8 once more, so that a bug in the queue's repair shows as
 * a refused batch, not as a body the service refuses. Non-zero on any
 * error. */
static int body_open(yajl_gen *gp, const char *group, const char *stream) {
  yajl_gen g = *gp;
  int st = 0;

  if (g != NULL) {
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
  } else {
    *gp = g = yajl_gen_alloc(NULL);
    if (g == NULL)
      return -1;
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  }
  st |= yajl_gen_map_open(g);
  st |= yajl_gen_string(g, (const unsigned char *)"logGroupName", 12);
  st |= yajl_gen_string(g, (const unsigned char *)group, strlen(group));
  if (stream != NULL) {
    st |= yajl_gen_string(g, (const unsigned char *)"logStreamName", 13);
    st |= yajl_gen_string(g, (const unsigned char *)stream, strlen(stream));
  }
  return st;
}

static int body_event(yajl_gen g, int64_t ts, const char *msg, size_t len) {
  int st = 0;
  st |= yajl_gen_map_open(g);
  st |= yajl_gen_string(g, (const unsigned char *)"timestamp", 9);
  st |= yajl_gen_integer(g, (long long)ts);
  st |= yajl_gen_string(g, (const unsigned char *)"message", 7);
  st |= yajl_gen_string(g, (const unsigned char *)msg, len);
  st |= yajl_gen_map_close(g);
  return st;
}

static void split_dest(const char *dest, char *group, char *stream) {
  const char *colon = strchr(dest, ':');
  size_t gl = colon != NULL ? (size_t)(colon - dest) : strlen(dest);
  if (gl > CW_LOGS_MAX_NAME)
    gl = CW_LOGS_MAX_NAME;
  memcpy(group, dest, gl);
  group[gl] = 0;
  snprintf(stream, CW_LOGS_MAX_NAME + 1, "%s", colon != NULL ? colon + 1 : "");
}

/* ------------------------------------------------------------ the queue */

static void seal(void *ud) { (void)ud; }

static size_t queued(void *ud) {
  cw_stream_logs_t *l = ud;
  return cw_logs_queue_size(l->q);
}

static const char *unspoolable(void *ud) {
  cw_stream_logs_t *l = ud;
  return cw_logs_queue_pending(l->q) > 0
             ? "they wait for the instance ID that names their log stream"
             : NULL;
}

/* Claims the next request's events and writes its body. A batch that
 * cannot be written (not UTF-8: the repair failed) would block the queue
 * for good: it is dropped and counted, and the next one claimed. */
static size_t claim(void *ud, cw_batch_t *b, double now) {
  cw_stream_logs_t *l = ud;

  l->from_spool = false;
  for (;;) {
    cw_logs_batch_t lb;
    const cw_logs_event_t *e;
    size_t n = cw_logs_queue_claim(l->q, (int64_t)(now * 1000), &lb);
    int st;

    b->expired += lb.too_old;
    if (n == 0)
      return 0;
    snprintf(b->dest, sizeof(b->dest), "%s:%s", lb.group, lb.stream);
    st = body_open(&l->g, lb.group, lb.stream);
    st |= yajl_gen_string(l->g, (const unsigned char *)"logEvents", 9);
    st |= yajl_gen_array_open(l->g);
    for (size_t i = 0; st == 0 && (e = cw_logs_queue_claimed(l->q, i)); i++) {
      if (i == 0)
        b->oldest = (double)e->timestamp_ms / 1000.0;
      st |= body_event(l->g, e->timestamp_ms, e->message, e->len);
    }
    st |= yajl_gen_array_close(l->g);
    st |= yajl_gen_map_close(l->g);
    if (st == 0) {
      b->items = n;
      return n;
    }
    cw_logs_queue_release(l->q, 1);
    b->invalid += n;
  }
}

static void release(void *ud, int done) {
  cw_stream_logs_t *l = ud;
  cw_logs_queue_release(l->q, done);
}

/* ------------------------------------------------------------ the spool */

static int begin(void *ud, const char *dest) {
  cw_stream_logs_t *l = ud;

  split_dest(dest, l->group, l->stream);
  l->from_spool = true;
  l->nrecs = 0;
  l->arena_len = 0;
  l->bytes = 0;
  return cw_logs_names_ok(l->group, l->stream) ? 0 : -1;
}

typedef struct {
  cw_stream_logs_t *l;
  int64_t now_ms;
  size_t first; /* the body's first record */
  size_t expired;
  bool nomem;
} collect_t;

static int grow(void **buf, size_t *cap, size_t need, size_t size) {
  void *p;
  size_t c = *cap ? *cap : 64;
  if (need <= *cap)
    return 0;
  while (c < need)
    c *= 2;
  p = realloc(*buf, c * size);
  if (p == NULL)
    return -1;
  *buf = p;
  *cap = c;
  return 0;
}

static int collect_event(int64_t ts, const char *msg, size_t len, void *ud) {
  collect_t *c = ud;
  cw_stream_logs_t *l = c->l;

  if (ts < c->now_ms - CW_LOGS_MAX_AGE_MS) {
    c->expired++;
    return 0;
  }
  if (grow((void **)&l->recs, &l->recs_cap, l->nrecs + 1, sizeof(rec_t)) != 0 ||
      grow((void **)&l->arena, &l->arena_cap, l->arena_len + len + 1, 1) != 0) {
    c->nomem = true;
    return 1;
  }
  memcpy(l->arena + l->arena_len, msg, len);
  l->arena[l->arena_len + len] = 0;
  l->recs[l->nrecs] = (rec_t){ts, l->arena_len, len, l->nrecs};
  l->arena_len += len + 1;
  l->nrecs++;
  l->bytes += len + CW_LOGS_EVENT_OVERHEAD;
  return 0;
}

static int merge(void *ud, cw_batch_t *b, const char *body, size_t len,
                 double now, char *err, size_t err_size) {
  cw_stream_logs_t *l = ud;
  char group[CW_LOGS_MAX_NAME + 1], stream[CW_LOGS_MAX_NAME + 1];
  collect_t c = {.l = l, .now_ms = (int64_t)(now * 1000), .first = l->nrecs};
  size_t arena0 = l->arena_len, bytes0 = l->bytes;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  long n;

  n = cw_stream_logs_decode(body, len, group, stream, collect_event, &c, err,
                            err_size);
  if (n >= 0 && (strcmp(group, l->group) != 0 || strcmp(stream, l->stream))) {
    snprintf(err, err_size, "a body of %s:%s, not %s:%s", group, stream,
             l->group, l->stream);
    n = -1;
  }
  if (c.nomem) {
    snprintf(err, err_size, "out of memory");
    n = -1;
  }
  for (size_t i = 0; n >= 0 && i < l->nrecs; i++) {
    if (l->recs[i].ts < lo)
      lo = l->recs[i].ts;
    if (l->recs[i].ts > hi)
      hi = l->recs[i].ts;
  }
  if (n < 0 || l->nrecs > CW_LOGS_MAX_EVENTS || l->bytes > CW_LOGS_MAX_BYTES ||
      (l->nrecs > 0 && hi - lo > CW_LOGS_MAX_SPAN_MS)) {
    /* Undo this body: unreadable, or beyond one request. */
    bool fits_alone = c.first == 0;
    l->nrecs = c.first;
    l->arena_len = arena0;
    l->bytes = bytes0;
    if (n < 0)
      return -1;
    if (fits_alone) {
      snprintf(err, err_size, "more than one request holds");
      return -1;
    }
    return 0;
  }
  b->items += l->nrecs - c.first;
  b->expired += c.expired;
  if (l->nrecs > 0)
    b->oldest = (double)lo / 1000.0;
  return 1;
}

static int by_time(const void *a, const void *b) {
  const rec_t *x = a, *y = b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static void finish(void *ud, cw_batch_t *b) {
  cw_stream_logs_t *l = ud;
  const unsigned char *buf = NULL;
  size_t len = 0;

  if (l->from_spool) {
    int st;
    qsort(l->recs, l->nrecs, sizeof(*l->recs), by_time);
    st = body_open(&l->g, l->group, l->stream);
    st |= yajl_gen_string(l->g, (const unsigned char *)"logEvents", 9);
    st |= yajl_gen_array_open(l->g);
    for (size_t i = 0; st == 0 && i < l->nrecs; i++)
      st |= body_event(l->g, l->recs[i].ts, l->arena + l->recs[i].off,
                       l->recs[i].len);
    st |= yajl_gen_array_close(l->g);
    st |= yajl_gen_map_close(l->g);
    (void)st; /* the events were valid when decoded */
  }
  if (l->g != NULL)
    yajl_gen_get_buf(l->g, &buf, &len);
  b->body = (const char *)buf;
  b->len = len;
}

/* ----------------------------------------------- groups and streams */

static void known_key(const char *group, const char *stream, char *buf,
                      size_t size) {
  snprintf(buf, size, "%s%s%s", group, stream != NULL ? ":" : "",
           stream != NULL ? stream : "");
}

static size_t known_find(const cw_stream_logs_t *l, const char *key) {
  for (size_t i = 0; i < CW_LOGS_MAX_KNOWN; i++)
    if (l->known[i] != NULL && strcmp(l->known[i], key) == 0)
      return i;
  return CW_LOGS_MAX_KNOWN;
}

static void known_add(cw_stream_logs_t *l, const char *key) {
  char *copy;

  if (known_find(l, key) < CW_LOGS_MAX_KNOWN)
    return;
  copy = strdup(key);
  if (copy == NULL)
    return; /* it will be created again: harmless */
  free(l->known[l->known_next]);
  l->known[l->known_next] = copy;
  l->known_next = (l->known_next + 1) % CW_LOGS_MAX_KNOWN;
}

static void known_forget(cw_stream_logs_t *l, const char *key) {
  size_t i = known_find(l, key);
  if (i < CW_LOGS_MAX_KNOWN) {
    free(l->known[i]);
    l->known[i] = NULL;
  }
}

/* CreateLogGroup (stream NULL) or CreateLogStream. 0 when the answer is
 * final: created, already there, or refused (then PutLogEvents is tried
 * anyway: a role may put into a group it may not create); -1 when no
 * answer came within the tries (res says why). */
static int create(cw_stream_logs_t *l, cw_pipeline_t *p, const char *group,
                  const char *stream, aws_http_result_t *res) {
  const char *action = stream != NULL ? "CreateLogStream" : "CreateLogGroup";
  yajl_gen g = NULL;
  const unsigned char *body;
  size_t len;
  aws_http_class_t cls;
  int rc = 0;

  if ((body_open(&g, group, stream) | yajl_gen_map_close(g)) != 0) {
    if (g != NULL)
      yajl_gen_free(g);
    memset(res, 0, sizeof(*res));
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "out of memory");
    return -1;
  }
  yajl_gen_get_buf(g, &body, &len);
  cls = cw_pipeline_call(p, action, body, len, LOGS_ALREADY_EXISTS, res);
  if (cls == AWS_HTTP_OK) {
    l->created++;
    if (stream != NULL)
      cw_pipeline_log(p, CW_LOG_INFO, "created log stream %s in %s", stream,
                      group);
    else
      cw_pipeline_log(p, CW_LOG_INFO, "created log group %s", group);
  } else if (cls == AWS_HTTP_PERMANENT || cls == AWS_HTTP_DENIED) {
    if (strcmp(res->error_type, LOGS_ALREADY_EXISTS) != 0)
      cw_pipeline_log(p, CW_LOG_WARNING,
                      "%s %s%s%s refused (HTTP %ld %s): %s; trying "
                      "PutLogEvents anyway",
                      action, group, stream != NULL ? ":" : "",
                      stream != NULL ? stream : "", res->status,
                      res->error_type, res->message);
  } else {
    rc = -1;
  }
  yajl_gen_free(g);
  return rc;
}

/* Makes sure the group and stream were created (or found to exist). */
static int prepare(void *ud, cw_pipeline_t *p, const cw_batch_t *b,
                   aws_http_result_t *res) {
  cw_stream_logs_t *l = ud;
  char group[CW_LOGS_MAX_NAME + 1], stream[CW_LOGS_MAX_NAME + 1];
  char key[2 * CW_LOGS_MAX_NAME + 2];

  split_dest(b->dest, group, stream);
  known_key(group, stream, key, sizeof(key));
  if (known_find(l, key) < CW_LOGS_MAX_KNOWN)
    return 0;
  known_key(group, NULL, key, sizeof(key));
  if (known_find(l, key) == CW_LOGS_MAX_KNOWN) {
    if (create(l, p, group, NULL, res) != 0)
      return -1;
    known_add(l, key);
  }
  if (create(l, p, group, stream, res) != 0)
    return -1;
  known_key(group, stream, key, sizeof(key));
  known_add(l, key);
  return 0;
}

/* Deleted since we created it (or made elsewhere and deleted): made again
 * before the batch is retried. */
static int refusal_fixable(void *ud, const cw_batch_t *b,
                           const aws_http_result_t *res) {
  cw_stream_logs_t *l = ud;
  char group[CW_LOGS_MAX_NAME + 1], stream[CW_LOGS_MAX_NAME + 1];
  char key[2 * CW_LOGS_MAX_NAME + 2];

  if (strcmp(res->error_type, LOGS_NOT_FOUND) != 0)
    return 0;
  split_dest(b->dest, group, stream);
  known_key(group, NULL, key, sizeof(key));
  known_forget(l, key);
  known_key(group, stream, key, sizeof(key));
  known_forget(l, key);
  return 1;
}

/* ------------------------------------------------- rejected events */

typedef struct {
  bool in_info;
  int key; /* 1 old, 2 expired, 3 new; -1 rejectedLogEventsInfo */
  long long index[3];
} rej_t;

static int rej_key(void *ctx, unsigned depth, const char *k, size_t len) {
  rej_t *r = ctx;
  r->key = 0;
  if (depth == 1 && len == 21 && memcmp(k, "rejectedLogEventsInfo", 21) == 0)
    r->key = -1;
  else if (depth == 2 && r->in_info) {
    if (len == 22 && memcmp(k, "tooOldLogEventEndIndex", 22) == 0)
      r->key = 1;
    else if (len == 23 && memcmp(k, "expiredLogEventEndIndex", 23) == 0)
      r->key = 2;
    else if (len == 24 && memcmp(k, "tooNewLogEventStartIndex", 24) == 0)
      r->key = 3;
  }
  return 0;
}

static int rej_scalar(void *ctx, unsigned depth, sm_json_type_t type,
                      const char *s, size_t len) {
  rej_t *r = ctx;
  long long v;
  if (type == SM_JSON_NUMBER && depth == 2 && r->in_info && r->key > 0 &&
      sm_json_integer(s, len, &v) == 0)
    r->index[r->key - 1] = v;
  r->key = 0;
  return 0;
}

static int rej_open(void *ctx, unsigned depth, bool is_array) {
  rej_t *r = ctx;
  (void)is_array;
  if (depth == 1 && r->key == -1)
    r->in_info = true;
  r->key = 0;
  return depth >= 16;
}

static int rej_close(void *ctx, unsigned depth, bool is_array) {
  rej_t *r = ctx;
  (void)is_array;
  if (depth == 1)
    r->in_info = false;
  return 0;
}

size_t cw_stream_logs_rejected(const char *resp, size_t len, size_t n,
                               size_t *old, size_t *expired, size_t *new_) {
  static const sm_json_events_t events = {rej_scalar, rej_key, rej_open,
                                          rej_close};
  rej_t r = {.index = {-1, -1, -1}};
  size_t prefix, start = n;

  *old = *expired = *new_ = 0;
  /* A body cut short still says what it said before the cut. */
  sm_json_parse(&events, &r, resp, len, NULL, 0);
  /* [0, tooOld) and [0, expired) are exclusive ends, [tooNew, n) an
   * inclusive start; each event counted once. */
  if (r.index[0] > 0)
    *old = (unsigned long long)r.index[0] < n ? (size_t)r.index[0] : n;
  if (r.index[1] > 0)
    *expired = (unsigned long long)r.index[1] < n ? (size_t)r.index[1] : n;
  if (r.index[2] >= 0 && (unsigned long long)r.index[2] < n) {
    start = (size_t)r.index[2];
    *new_ = n - start;
  }
  prefix = *old > *expired ? *old : *expired;
  if (start < prefix)
    start = prefix;
  return prefix + (n - start);
}

static size_t refused(void *ud, const cw_batch_t *b, const char *resp,
                      size_t len) {
  cw_stream_logs_t *l = ud;
  size_t old, expired, new_;
  size_t n =
      cw_stream_logs_rejected(resp, len, b->items, &old, &expired, &new_);
  (void)l;
  return n;
}

/* ------------------------------------------------- spooled bodies */

/* Depths (sm_json's): 1 in the body, 2 in logEvents, 3 in an event. */
typedef struct {
  int key; /* see dkey_t */
  bool have_group, have_stream, have_events, in_event;
  bool have_ts, have_msg;
  int64_t ts;
  char *msg;
  size_t msg_len, msg_cap;
  char *group, *stream;
  cw_stream_logs_event_cb cb;
  void *ud;
  long count;
  char err[160];
} dec_t;

enum { DK_NONE, DK_GROUP, DK_STREAM, DK_EVENTS, DK_TS, DK_MSG };

static int dec_fail(dec_t *d, const char *what) {
  if (d->err[0] == 0) {
    if (d->in_event)
      snprintf(d->err, sizeof(d->err), "logEvents[%ld]: %s", d->count, what);
    else
      snprintf(d->err, sizeof(d->err), "%s", what);
  }
  return -1;
}

static int dec_key(void *ctx, unsigned depth, const char *k, size_t len) {
  dec_t *d = ctx;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, len) == 0)
  if (depth == 1 && IS("logGroupName"))
    d->key = DK_GROUP;
  else if (depth == 1 && IS("logStreamName"))
    d->key = DK_STREAM;
  else if (depth == 1 && IS("logEvents"))
    d->key = DK_EVENTS;
  else if (depth == 3 && IS("timestamp"))
    d->key = DK_TS;
  else if (depth == 3 && IS("message"))
    d->key = DK_MSG;
  else
    return dec_fail(d, "an unexpected member");
#undef IS
  return 0;
}

static int dec_string(dec_t *d, unsigned depth, const char *s, size_t len) {
  char *dst = NULL;

  if (depth == 1 && d->key == DK_GROUP)
    dst = d->group, d->have_group = true;
  else if (depth == 1 && d->key == DK_STREAM)
    dst = d->stream, d->have_stream = true;
  if (dst != NULL) {
    if (len > CW_LOGS_MAX_NAME || memchr(s, 0, len) != NULL)
      return dec_fail(d, "a name too long");
    memcpy(dst, s, len);
    dst[len] = 0;
    d->key = DK_NONE;
    return 0;
  }
  if (depth == 3 && d->key == DK_MSG) {
    if (len == 0 || len > CW_LOGS_MAX_MESSAGE)
      return dec_fail(d, "a message that is empty or too long");
    if (grow((void **)&d->msg, &d->msg_cap, len + 1, 1) != 0)
      return dec_fail(d, "out of memory");
    memcpy(d->msg, s, len);
    d->msg[len] = 0;
    d->msg_len = len;
    d->have_msg = true;
    d->key = DK_NONE;
    return 0;
  }
  return dec_fail(d, "an unexpected string");
}

static int dec_scalar(void *ctx, unsigned depth, sm_json_type_t type,
                      const char *s, size_t len) {
  dec_t *d = ctx;
  long long v;

  if (type == SM_JSON_STRING)
    return dec_string(d, depth, s, len);
  if (type != SM_JSON_NUMBER || sm_json_integer(s, len, &v) != 0)
    return dec_fail(d, "an unexpected value");
  if (depth == 3 && d->key == DK_TS && v >= 0) {
    d->ts = v;
    d->have_ts = true;
    d->key = DK_NONE;
    return 0;
  }
  return dec_fail(d, "an unexpected number");
}

static int dec_open(void *ctx, unsigned depth, bool is_array) {
  dec_t *d = ctx;

  if (!is_array && (depth == 0 || depth == 2)) { /* the body, an event */
    d->in_event = depth == 2;
    d->have_ts = d->have_msg = false;
    d->key = DK_NONE;
    return 0;
  }
  if (is_array && depth == 1 && d->key == DK_EVENTS && !d->have_events) {
    d->have_events = true;
    return 0;
  }
  return dec_fail(d, is_array ? "an unexpected array" : "an unexpected object");
}

static int dec_close(void *ctx, unsigned depth, bool is_array) {
  dec_t *d = ctx;

  (void)is_array;
  if (depth == 2) {
    /* Checked while in the event, so that a failure names it. */
    if (!d->have_ts || !d->have_msg)
      return dec_fail(d, "an event needs a timestamp and a message");
    if (d->count >= CW_LOGS_MAX_EVENTS)
      return dec_fail(d, "too many events");
    if (d->cb != NULL && d->cb(d->ts, d->msg, d->msg_len, d->ud) != 0)
      return dec_fail(d, "stopped");
    d->count++;
    d->in_event = false;
  }
  d->key = DK_NONE;
  return 0;
}

long cw_stream_logs_decode(const char *body, size_t len, char *group,
                           char *stream, cw_stream_logs_event_cb cb, void *ud,
                           char *err, size_t err_size) {
  static const sm_json_events_t events = {dec_scalar, dec_key, dec_open,
                                          dec_close};
  dec_t d;
  char why[128];
  int st;
  long rc = -1;

  memset(&d, 0, sizeof(d));
  d.group = group;
  d.stream = stream;
  d.cb = cb;
  d.ud = ud;
  group[0] = stream[0] = 0;
  st = sm_json_parse(&events, &d, body, len, why, sizeof(why));
  if (d.err[0] != 0)
    snprintf(err, err_size, "%s", d.err);
  else if (st != 0)
    snprintf(err, err_size, "not JSON: %s", why);
  else if (!d.have_group || !d.have_stream || !d.have_events || d.count == 0)
    snprintf(err, err_size, "not a PutLogEvents body with events");
  else
    rc = d.count;
  free(d.msg);
  return rc;
}

/* ------------------------------------------------------------ adapter */

void cw_stream_logs_describe(cw_stream_logs_t *l, cw_pipeline_stream_t *s) {
  s->name = "data log";
  s->kind = CW_SPOOL_LOGS;
  s->action = "PutLogEvents";
  s->service = CW_STREAM_LOGS_SERVICE;
  s->iam_prefix = "logs";
  s->target_prefix = CW_STREAM_LOGS_TARGET_PREFIX;
  s->content_type = CW_STREAM_LOGS_CONTENT_TYPE;
  s->item_name = "events";
  s->compress_threshold = 0;
  s->ud = l;
  s->seal = seal;
  s->queued = queued;
  s->unspoolable = unspoolable;
  s->claim = claim;
  s->release = release;
  s->begin = begin;
  s->merge = merge;
  s->finish = finish;
  s->prepare = prepare;
  s->refusal_fixable = refusal_fixable;
  s->refused = refused;
}
