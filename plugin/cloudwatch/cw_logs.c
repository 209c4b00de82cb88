/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the data-log queue and the PutLogEvents sender (see
 * cw_logs.h).
 *
 * Queue: every event is one heap block (its message follows the struct),
 * in its stream's array sorted by (timestamp, arrival), so that a request
 * is always a prefix of one stream's array: chronological, and stable for
 * equal timestamps. Events not being sent are also on a list by arrival
 * across all streams, whose head is the one to drop when the queue is
 * full; a claim takes its events off the list and an undone release
 * merges them back in arrival order. Streams are few (one per endpoint
 * variant and instance), so they are found by a linear search.
 *
 * Sender: the structure of cw_sender. A batch is claimed and its body
 * written under the caller's lock, sent unlocked, and released under the
 * lock. Before the first PutLogEvents of a stream the group and the stream
 * are created (once per process each, remembered; again after a
 * ResourceNotFoundException). Answers are classified by aws_http;
 * credentials are refreshed once on an expired-token answer; throttling,
 * 5xx and network errors are retried with full-jitter backoff within the
 * attempts, the retry budget and the deadline.
 */
#include "cw_logs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "aws_http.h"
#include "aws_post.h"
#include "aws_sigv4.h"
#include "cw_retry.h"

/* CloudWatch Logs API reference: AWS JSON 1.1, target prefix
 * "Logs_20140328". */
#define LOGS_CONTENT_TYPE "application/x-amz-json-1.1"
#define LOGS_TARGET_PREFIX "Logs_20140328."
#define LOGS_SERVICE "logs"

#define LOGS_ALREADY_EXISTS "ResourceAlreadyExistsException"
#define LOGS_NOT_FOUND "ResourceNotFoundException"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char utf8_replacement[] = "\xEF\xBF\xBD";
#define UTF8_REPLACEMENT_LEN 3

/* ================================================================ UTF-8 */

size_t cw_logs_utf8_repair(const char *in, size_t len, char *out,
                           size_t out_size) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i = 0, o = 0, room;

  if (out_size == 0)
    return 0;
  room = out_size - 1;
  while (i < len) {
    unsigned char c = s[i];
    /* Unicode 3.9, table 3-7: the well-formed byte sequences. need is
     * the number of continuation bytes; lo..hi the range of the first. */
    size_t need = 0, k = 1;
    unsigned char lo = 0x80, hi = 0xBF;
    bool valid = true;

    if (c < 0x80) {
      need = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0)
        lo = 0xA0; /* below: overlong */
      else if (c == 0xED)
        hi = 0x9F; /* above: surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0)
        lo = 0x90; /* below: overlong */
      else if (c == 0xF4)
        hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
      valid = false; /* continuation, C0, C1 or F5..FF as a lead */
    }
    for (k = 1; valid && k <= need; k++) {
      unsigned char d;
      if (i + k >= len) {
        valid = false;
        break;
      }
      d = s[i + k];
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) {
        valid = false;
        break;
      }
    }
    if (valid) {
      if (o + need + 1 > room)
        break;
      memcpy(out + o, s + i, need + 1);
      o += need + 1;
      i += need + 1;
    } else {
      /* The maximal subpart is the lead and the k - 1 good bytes after
       * it: one U+FFFD for them all. */
      if (o + UTF8_REPLACEMENT_LEN > room)
        break;
      memcpy(out + o, utf8_replacement, UTF8_REPLACEMENT_LEN);
      o += UTF8_REPLACEMENT_LEN;
      i += k;
    }
  }
  out[o] = '\0';
  return o;
}

static bool utf8_valid(const char *s, size_t len) {
  char buf[4 * CW_LOGS_MAX_NAME + 1];
  size_t n;

  if (len >= sizeof(buf))
    return false;
  n = cw_logs_utf8_repair(s, len, buf, sizeof(buf));
  return n == len && memcmp(buf, s, len) == 0;
}

/* CreateLogGroup: logGroupName [\.\-_/#A-Za-z0-9]+, 1 to 512. */
static bool group_name_ok(const char *g) {
  size_t n = 0;

  if (g == NULL)
    return false;
  for (; g[n] != '\0'; n++) {
    char c = g[n];
    if (n >= CW_LOGS_MAX_NAME ||
        !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
          c == '/' || c == '#'))
      return false;
  }
  return n > 0;
}

/* CreateLogStream: logStreamName of 1 to 512, without ':' or '*'. Counted
 * here in bytes (never more characters than bytes), and valid UTF-8 as
 * the body must be. */
static bool stream_name_ok(const char *s) {
  size_t n;

  if (s == NULL)
    return false;
  n = strnlen(s, CW_LOGS_MAX_NAME + 1);
  return n > 0 && n <= CW_LOGS_MAX_NAME && strpbrk(s, ":*") == NULL &&
         utf8_valid(s, n);
}

/* ================================================================ queue */

typedef struct lstream_s lstream_t;

typedef struct ev_s {
  cw_logs_event_t pub;        /* pub.message points at text below */
  struct ev_s *older, *newer; /* arrival order, all streams */
  lstream_t *stream;
  uint64_t seq; /* arrival: the order of equal timestamps */
  bool claimed;
  char text[]; /* the repaired message, NUL-terminated */
} ev_t;

/* A stream's events sit in buf[off, off + num), sorted by (timestamp,
 * seq); ev points at the first. Removing near the front (the oldest, the
 * usual case) moves the front part, adding near the end the back part. */
struct lstream_s {
  lstream_t *next;
  char *group;
  char *name;
  ev_t **buf;
  ev_t **ev; /* buf + off */
  size_t num, cap;
};

struct cw_logs_queue_s {
  size_t max_events;
  size_t max_bytes;
  size_t num;
  size_t bytes; /* messages + CW_LOGS_EVENT_OVERHEAD each */
  uint64_t seq;
  uint64_t dropped;
  ev_t *oldest, *newest;
  lstream_t *streams;
  ev_t **claim; /* the claimed events, chronological */
  size_t claim_cap, claim_num;
  lstream_t *claim_stream;
};

static size_t ev_size(const ev_t *e) {
  return e->pub.len + CW_LOGS_EVENT_OVERHEAD;
}

static bool ev_before(const ev_t *a, const ev_t *b) {
  return a->pub.timestamp_ms < b->pub.timestamp_ms ||
         (a->pub.timestamp_ms == b->pub.timestamp_ms && a->seq < b->seq);
}

/* The index of the first event of s not before e. */
static size_t stream_lower_bound(const lstream_t *s, const ev_t *e) {
  size_t lo = 0, hi = s->num;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ev_before(s->ev[mid], e))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void stream_free(lstream_t *s) {
  if (s == NULL)
    return;
  free(s->group);
  free(s->name);
  free(s->buf);
  free(s);
}

static void stream_unlink(cw_logs_queue_t *q, lstream_t *s) {
  for (lstream_t **p = &q->streams; *p != NULL; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  stream_free(s);
}

/* Takes e off the arrival list (claimed events are off it). */
static void list_unlink(cw_logs_queue_t *q, ev_t *e) {
  if (e->older != NULL)
    e->older->newer = e->newer;
  else
    q->oldest = e->newer;
  if (e->newer != NULL)
    e->newer->older = e->older;
  else
    q->newest = e->older;
  e->older = e->newer = NULL;
}

/* Puts e back on the arrival list, before the first event of a later
 * arrival from *at on; *at moves on, so that events given in arrival
 * order are merged in one pass. */
static void list_merge(cw_logs_queue_t *q, ev_t *e, ev_t **at) {
  ev_t *p = *at;

  while (p != NULL && p->seq < e->seq)
    p = p->newer;
  e->newer = p;
  e->older = p != NULL ? p->older : q->newest;
  if (e->older != NULL)
    e->older->newer = e;
  else
    q->oldest = e;
  if (p != NULL)
    p->older = e;
  else
    q->newest = e;
  *at = p;
}

/* Takes e out of the queue's list and counts; the caller frees it. */
static void arrival_unlink(cw_logs_queue_t *q, ev_t *e) {
  if (!e->claimed)
    list_unlink(q, e);
  q->num--;
  q->bytes -= ev_size(e);
}

static int by_seq(const void *a, const void *b) {
  const ev_t *x = *(ev_t *const *)a, *y = *(ev_t *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Removes and frees the first k events of s, and s when it empties. */
static void stream_remove_prefix(cw_logs_queue_t *q, lstream_t *s, size_t k) {
  for (size_t i = 0; i < k; i++) {
    arrival_unlink(q, s->ev[i]);
    free(s->ev[i]);
  }
  s->ev += k;
  s->num -= k;
  if (s->num == 0 && s != q->claim_stream)
    stream_unlink(q, s);
}

/* Removes and frees one event that is not claimed. */
static void queue_remove(cw_logs_queue_t *q, ev_t *e) {
  lstream_t *s = e->stream;
  size_t at = stream_lower_bound(s, e);

  arrival_unlink(q, e);
  if (at < s->num / 2) {
    memmove(s->ev + 1, s->ev, at * sizeof(*s->ev));
    s->ev++;
  } else {
    memmove(s->ev + at, s->ev + at + 1, (s->num - at - 1) * sizeof(*s->ev));
  }
  s->num--;
  free(e);
  if (s->num == 0 && s != q->claim_stream)
    stream_unlink(q, s);
}

/* Drops the oldest event by arrival that is not being sent (those being
 * sent are off the list): 0, or -1 when every event is being sent. */
static int drop_oldest(cw_logs_queue_t *q) {
  ev_t *e = q->oldest;

  if (e == NULL)
    return -1;
  queue_remove(q, e);
  q->dropped++;
  return 0;
}

cw_logs_queue_t *cw_logs_queue_create(size_t max_events) {
  cw_logs_queue_t *q;

  if (max_events == 0)
    return NULL;
  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return NULL;
  q->max_events = max_events;
  q->max_bytes = CW_LOGS_QUEUE_DEFAULT_MAX_BYTES;
  /* A claim never holds more than a request or the queue. */
  q->claim_cap =
      max_events < CW_LOGS_MAX_EVENTS ? max_events : CW_LOGS_MAX_EVENTS;
  q->claim = calloc(q->claim_cap, sizeof(*q->claim));
  if (q->claim == NULL) {
    free(q);
    return NULL;
  }
  return q;
}

void cw_logs_queue_destroy(cw_logs_queue_t *q) {
  ev_t *e;

  if (q == NULL)
    return;
  e = q->oldest;
  while (e != NULL) {
    ev_t *next = e->newer;
    free(e);
    e = next;
  }
  for (size_t i = 0; i < q->claim_num; i++)
    free(q->claim[i]);
  while (q->streams != NULL) {
    lstream_t *next = q->streams->next;
    stream_free(q->streams);
    q->streams = next;
  }
  free(q->claim);
  free(q);
}

void cw_logs_queue_set_max_bytes(cw_logs_queue_t *q, size_t max_bytes) {
  const size_t floor = CW_LOGS_MAX_MESSAGE + CW_LOGS_EVENT_OVERHEAD;
  q->max_bytes = max_bytes < floor ? floor : max_bytes;
}

size_t cw_logs_queue_size(const cw_logs_queue_t *q) { return q->num; }

uint64_t cw_logs_queue_dropped(const cw_logs_queue_t *q) { return q->dropped; }

/* Makes room for one more event at the end of s's array: moves the
 * events to the front when a quarter or more of the array is free there
 * (so that moving costs O(1) per event removed), else grows it. 0, or -1
 * when out of memory. */
static int stream_make_room(lstream_t *s) {
  size_t off = s->buf != NULL ? (size_t)(s->ev - s->buf) : 0;

  if (off + s->num < s->cap)
    return 0;
  if (off > 0 && off >= s->cap / 4) {
    memmove(s->buf, s->ev, s->num * sizeof(*s->buf));
    s->ev = s->buf;
    return 0;
  }
  {
    size_t cap = s->cap == 0 ? 16 : s->cap * 2;
    ev_t **buf = realloc(s->buf, cap * sizeof(*buf));
    if (buf == NULL)
      return -1;
    s->ev = buf + off;
    s->buf = buf;
    s->cap = cap;
  }
  return 0;
}

static lstream_t *stream_get(cw_logs_queue_t *q, const char *group,
                             const char *name) {
  lstream_t *s;

  for (s = q->streams; s != NULL; s = s->next)
    if (strcmp(s->group, group) == 0 && strcmp(s->name, name) == 0)
      return s;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->group = strdup(group);
  s->name = strdup(name);
  if (s->group == NULL || s->name == NULL) {
    stream_free(s);
    return NULL;
  }
  s->next = q->streams;
  q->streams = s;
  return s;
}

/* Makes an event: the message repaired and cut. NULL: out of memory. */
static ev_t *ev_new(const char *message, int64_t timestamp_ms) {
  /* Every input byte yields at least one output byte, so no more than
   * CW_LOGS_MAX_MESSAGE of them is ever used; the 3 more let the last
   * character that could still fit be seen whole. */
  size_t in_len = strnlen(message, CW_LOGS_MAX_MESSAGE + 4);
  size_t cap = in_len <= CW_LOGS_MAX_MESSAGE / UTF8_REPLACEMENT_LEN
                   ? in_len * UTF8_REPLACEMENT_LEN
                   : CW_LOGS_MAX_MESSAGE;
  ev_t *e = malloc(sizeof(*e) + cap + 1);
  size_t len;

  if (e == NULL)
    return NULL;
  memset(e, 0, sizeof(*e));
  len = cw_logs_utf8_repair(message, in_len, e->text, cap + 1);
  if (len < cap) {
    ev_t *smaller = realloc(e, sizeof(*e) + len + 1);
    if (smaller != NULL)
      e = smaller;
  }
  e->pub.timestamp_ms = timestamp_ms;
  e->pub.message = e->text;
  e->pub.len = len;
  return e;
}

cw_logs_add_t cw_logs_queue_add(cw_logs_queue_t *q, const char *group,
                                const char *stream, int64_t timestamp_ms,
                                const char *message, int64_t now_ms) {
  ev_t *e = NULL;
  lstream_t *s;
  bool made_room = false;
  size_t at;

  if (q == NULL || message == NULL || message[0] == '\0' ||
      !group_name_ok(group) || !stream_name_ok(stream))
    return CW_LOGS_INVALID;
  if (timestamp_ms < now_ms - CW_LOGS_MAX_AGE_MS) {
    q->dropped++;
    return CW_LOGS_TOO_OLD;
  }
  if (timestamp_ms > now_ms + CW_LOGS_MAX_AHEAD_MS) {
    q->dropped++;
    return CW_LOGS_TOO_NEW;
  }
  e = ev_new(message, timestamp_ms);
  if (e == NULL)
    return CW_LOGS_NOMEM;
  /* Room first: a drop may free the very stream this event goes to. */
  while (q->num >= q->max_events || q->bytes + ev_size(e) > q->max_bytes) {
    if (drop_oldest(q) != 0) {
      free(e);
      q->dropped++;
      return CW_LOGS_FULL;
    }
    made_room = true;
  }
  s = stream_get(q, group, stream);
  if (s == NULL || stream_make_room(s) != 0) {
    if (s != NULL && s->num == 0)
      stream_unlink(q, s);
    free(e);
    return CW_LOGS_NOMEM;
  }
  e->stream = s;
  e->seq = q->seq++;
  at = stream_lower_bound(s, e); /* usually the end */
  if (at < s->num / 2 && s->ev > s->buf) {
    memmove(s->ev - 1, s->ev, at * sizeof(*s->ev));
    s->ev--;
  } else {
    memmove(s->ev + at + 1, s->ev + at, (s->num - at) * sizeof(*s->ev));
  }
  s->ev[at] = e;
  s->num++;
  e->older = q->newest;
  if (q->newest != NULL)
    q->newest->newer = e;
  else
    q->oldest = e;
  q->newest = e;
  q->num++;
  q->bytes += ev_size(e);
  return made_room ? CW_LOGS_ADDED_DROPPED_OLDEST : CW_LOGS_ADDED;
}

size_t cw_logs_queue_claim(cw_logs_queue_t *q, int64_t now_ms,
                           cw_logs_batch_t *b) {
  lstream_t *s, *next;
  size_t n = 0, bytes = 0;
  int64_t first;

  memset(b, 0, sizeof(*b));
  if (q->claim_num > 0)
    return 0;
  /* Too old at send time: each stream's are a prefix of its array. */
  for (s = q->streams; s != NULL; s = next) {
    size_t k = 0;
    next = s->next;
    while (k < s->num &&
           s->ev[k]->pub.timestamp_ms < now_ms - CW_LOGS_MAX_AGE_MS)
      k++;
    if (k > 0) {
      b->too_old += k;
      stream_remove_prefix(q, s, k);
    }
  }
  if (q->oldest == NULL)
    return 0;
  s = q->oldest->stream;
  first = s->ev[0]->pub.timestamp_ms;
  while (n < s->num && n < q->claim_cap) {
    ev_t *e = s->ev[n];
    if (bytes + ev_size(e) > CW_LOGS_MAX_BYTES ||
        e->pub.timestamp_ms - first > CW_LOGS_MAX_SPAN_MS)
      break;
    /* Off the arrival list while being sent: drops need not walk past
     * them. */
    list_unlink(q, e);
    e->claimed = true;
    q->claim[n++] = e;
    bytes += ev_size(e);
  }
  q->claim_num = n;
  q->claim_stream = s;
  b->group = s->group;
  b->stream = s->name;
  b->num = n;
  b->bytes = bytes;
  return n;
}

const cw_logs_event_t *cw_logs_queue_claimed(const cw_logs_queue_t *q,
                                             size_t i) {
  return i < q->claim_num ? &q->claim[i]->pub : NULL;
}

void cw_logs_queue_release(cw_logs_queue_t *q, int done) {
  lstream_t *s = q->claim_stream;

  if (s == NULL)
    return;
  if (done) {
    /* Events may have come in before the claimed ones meanwhile: keep
     * the others in order, drop the claimed. */
    size_t kept = 0;
    for (size_t i = 0; i < s->num; i++) {
      ev_t *e = s->ev[i];
      if (e->claimed) {
        arrival_unlink(q, e);
        free(e);
      } else {
        s->ev[kept++] = e;
      }
    }
    s->num = kept;
  } else {
    ev_t *at = q->oldest;
    qsort(q->claim, q->claim_num, sizeof(*q->claim), by_seq);
    for (size_t i = 0; i < q->claim_num; i++) {
      q->claim[i]->claimed = false;
      list_merge(q, q->claim[i], &at);
    }
  }
  q->claim_num = 0;
  q->claim_stream = NULL;
  if (s->num == 0)
    stream_unlink(q, s);
}

/* =============================================================== sender */

struct cw_logs_s {
  cw_logs_config_t cfg;
  char *url;
  char *host; /* host[:port] as in the Host header */
  char *path;
  char *region;

  aws_http_t *http;

  cw_retry_budget_t budget;
  /* Groups ("G") and streams ("G:S"; a group name has no ':') known to
   * exist: a ring, the oldest overwritten; NULL slots are forgotten. */
  char *known[CW_LOGS_MAX_KNOWN];
  size_t known_next;
  bool rejecting; /* the last response refused some events */

  pthread_mutex_t stats_lock;
  cw_logs_stats_t stats;
  char last_error[1024];
};

static void logf_(cw_logs_t *l, cw_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(cw_logs_t *l, cw_log_level_t level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;

  if (l->cfg.log == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  l->cfg.log(level, msg, l->cfg.ud);
}

static void set_last_error(cw_logs_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_last_error(cw_logs_t *l, const char *fmt, ...) {
  va_list ap;

  pthread_mutex_lock(&l->stats_lock);
  va_start(ap, fmt);
  vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&l->stats_lock);
}

#define STAT_ADD(l, field, n)                                                  \
  do {                                                                         \
    pthread_mutex_lock(&(l)->stats_lock);                                      \
    (l)->stats.field += (n);                                                   \
    pthread_mutex_unlock(&(l)->stats_lock);                                    \
  } while (0)

cw_logs_t *cw_logs_create(const cw_logs_config_t *cfg, char *err,
                          size_t err_size) {
  cw_logs_t *l = NULL;

  err[0] = '\0';
  if (cfg == NULL || cfg->url == NULL || cfg->region == NULL ||
      cfg->region[0] == '\0' || cfg->creds == NULL || cfg->now == NULL ||
      cfg->random01 == NULL || cfg->sleep_ms == NULL) {
    snprintf(err, err_size,
             "data log: the URL, region, credentials, clock, "
             "randomness and sleep are all required");
    return NULL;
  }
  l = calloc(1, sizeof(*l));
  if (l == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  l->cfg = *cfg;
  pthread_mutex_init(&l->stats_lock, NULL);
  if (l->cfg.timeout_ms <= 0)
    l->cfg.timeout_ms = CW_LOGS_DEFAULT_TIMEOUT_MS;
  if (l->cfg.max_attempts == 0)
    l->cfg.max_attempts = CW_SENDER_DEFAULT_MAX_ATTEMPTS;
  if (l->cfg.backoff_base_ms == 0)
    l->cfg.backoff_base_ms = CW_SENDER_DEFAULT_BACKOFF_BASE_MS;
  if (l->cfg.backoff_cap_ms == 0)
    l->cfg.backoff_cap_ms = CW_SENDER_DEFAULT_BACKOFF_CAP_MS;
  cw_retry_budget_init(&l->budget, CW_SENDER_RETRY_CAPACITY,
                       CW_SENDER_RETRY_COST);
  if (aws_http_split_url(cfg->url, &l->host, &l->path, err, err_size) != 0) {
    char why[512];
    snprintf(why, sizeof(why), "LogsEndpoint %s", err);
    snprintf(err, err_size, "%s", why);
    goto fail;
  }
  l->url = strdup(cfg->url);
  l->region = strdup(cfg->region);
  l->http = aws_http_create();
  if (l->url == NULL || l->region == NULL || l->http == NULL) {
    snprintf(err, err_size, "out of memory");
    goto fail;
  }
  l->cfg.url = l->url;
  l->cfg.region = l->region;
  return l;
fail:
  cw_logs_destroy(l);
  return NULL;
}

void cw_logs_destroy(cw_logs_t *l) {
  if (l == NULL)
    return;
  aws_http_destroy(l->http);
  for (size_t i = 0; i < CW_LOGS_MAX_KNOWN; i++)
    free(l->known[i]);
  free(l->url);
  free(l->host);
  free(l->path);
  free(l->region);
  pthread_mutex_destroy(&l->stats_lock);
  free(l);
}

void cw_logs_get_stats(cw_logs_t *l, cw_logs_stats_t *out) {
  pthread_mutex_lock(&l->stats_lock);
  *out = l->stats;
  pthread_mutex_unlock(&l->stats_lock);
}

void cw_logs_last_error(cw_logs_t *l, char *buf, size_t size) {
  pthread_mutex_lock(&l->stats_lock);
  snprintf(buf, size, "%s", l->last_error);
  pthread_mutex_unlock(&l->stats_lock);
}

/* ---------------------------------------------- groups and streams known */

/* "G" for a group, "G:S" for a stream of it, into buf. */
static void known_key(const char *group, const char *stream, char *buf,
                      size_t size) {
  snprintf(buf, size, "%s%s%s", group, stream != NULL ? ":" : "",
           stream != NULL ? stream : "");
}

static size_t known_find(const cw_logs_t *l, const char *key) {
  for (size_t i = 0; i < CW_LOGS_MAX_KNOWN; i++)
    if (l->known[i] != NULL && strcmp(l->known[i], key) == 0)
      return i;
  return CW_LOGS_MAX_KNOWN;
}

static void known_add(cw_logs_t *l, const char *key) {
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

static void known_forget(cw_logs_t *l, const char *key) {
  size_t i = known_find(l, key);

  if (i < CW_LOGS_MAX_KNOWN) {
    free(l->known[i]);
    l->known[i] = NULL;
  }
}

/* ------------------------------------------------------------ transport */

/* One signed POST of body for action ("PutLogEvents"). */
static aws_http_class_t post(cw_logs_t *l, const char *action,
                             const unsigned char *body, size_t len,
                             aws_http_result_t *res, aws_creds_t *used) {
  char target[64], warn[1024];
  aws_sigv4_header_t sh[2] = {{"Content-Type", LOGS_CONTENT_TYPE},
                              {"X-Amz-Target", target}};
  aws_post_t p = {.url = l->url,
                  .host = l->host,
                  .path = l->path,
                  .region = l->region,
                  .service = LOGS_SERVICE,
                  .headers = sh,
                  .header_count = 2,
                  .payload = body,
                  .payload_len = len,
                  .now = l->cfg.now(l->cfg.ud),
                  .timeout_ms = l->cfg.timeout_ms};
  aws_http_class_t cls;

  snprintf(target, sizeof(target), LOGS_TARGET_PREFIX "%s", action);
  cls = aws_post(l->http, &p, l->cfg.creds, used, res, warn, sizeof(warn));
  if (warn[0])
    logf_(l, CW_LOG_WARNING, "%s", warn);
  if (res->bytes_sent > 0) { /* a request went out */
    STAT_ADD(l, requests, 1);
    if (cls != AWS_HTTP_OK && strcmp(res->error_type, LOGS_ALREADY_EXISTS) != 0)
      STAT_ADD(l, requests_failed, 1);
  }
  return cls;
}

/* The attempts of one batch, shared by its Create* and PutLogEvents
 * requests. */
typedef struct {
  unsigned failures; /* answers that asked for a retry */
  bool refreshed;    /* fresh credentials were tried */
  time_t deadline;
} tries_t;

/* Sends one request until the answer is OK or PERMANENT, or the attempts,
 * the retry budget or the deadline run out, or sleep says stop; returns
 * the class of the last answer, in res. */
static aws_http_class_t call(cw_logs_t *l, const char *action,
                             const unsigned char *body, size_t len, tries_t *t,
                             aws_http_result_t *res) {
  for (;;) {
    aws_creds_t used;
    aws_http_class_t cls;
    uint64_t wait;

    memset(&used, 0, sizeof(used));
    cls = post(l, action, body, len, res, &used);
    if (cls == AWS_HTTP_CREDENTIALS && used.access_key_id != NULL)
      aws_creds_invalidate(l->cfg.creds, &used);
    aws_creds_clear(&used);
    if (cls == AWS_HTTP_OK) {
      cw_retry_budget_success(&l->budget);
      return cls;
    }
    if (cls == AWS_HTTP_PERMANENT)
      return cls;
    /* Fresh credentials get one immediate try. */
    if (cls == AWS_HTTP_CREDENTIALS && !t->refreshed) {
      t->refreshed = true;
      STAT_ADD(l, retries, 1);
      logf_(l, CW_LOG_WARNING, "%s: %s (%s); retrying with fresh credentials",
            action, res->error_type, res->message);
      continue;
    }
    t->failures++;
    if (t->failures >= l->cfg.max_attempts ||
        cw_retry_budget_take(&l->budget) != 0 ||
        (t->deadline != 0 && l->cfg.now(l->cfg.ud) >= t->deadline))
      return cls;
    wait =
        cw_retry_backoff_ms(t->failures - 1, l->cfg.backoff_base_ms,
                            l->cfg.backoff_cap_ms, l->cfg.random01(l->cfg.ud));
    /* Never sleep past the deadline, nor start a request after it. */
    if (t->deadline != 0) {
      time_t left = t->deadline - l->cfg.now(l->cfg.ud);
      if (left <= 0)
        return cls;
      if (wait > (uint64_t)left * 1000)
        wait = (uint64_t)left * 1000;
    }
    if (l->cfg.sleep_ms(wait, l->cfg.ud) != 0 ||
        (t->deadline != 0 && l->cfg.now(l->cfg.ud) >= t->deadline))
      return cls;
    STAT_ADD(l, retries, 1);
  }
}

/* Starts a body in g: {"logGroupName": G[, "logStreamName": S] (the map
 * left open). Returns the yajl_gen_status values or'ed: 0 when all went
 * well. Strings are checked as UTF-8 once more, so that a bug in the
 * repair shows as a refused batch, not as a body CloudWatch refuses. */
static int body_open(yajl_gen g, const char *group, const char *stream) {
  int st = 0;

  yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  st |= yajl_gen_map_open(g);
  st |= yajl_gen_string(g, (const unsigned char *)"logGroupName", 12);
  st |= yajl_gen_string(g, (const unsigned char *)group, strlen(group));
  if (stream != NULL) {
    st |= yajl_gen_string(g, (const unsigned char *)"logStreamName", 13);
    st |= yajl_gen_string(g, (const unsigned char *)stream, strlen(stream));
  }
  return st;
}

/* CreateLogGroup (stream NULL) or CreateLogStream. 0 when the answer is
 * final: created, already there, or refused (then PutLogEvents is tried
 * anyway: a role may put into a group it may not create); -1 when no
 * answer came within the tries (res says why). */
static int create(cw_logs_t *l, const char *group, const char *stream,
                  tries_t *t, aws_http_result_t *res) {
  const char *action = stream != NULL ? "CreateLogStream" : "CreateLogGroup";
  yajl_gen g = yajl_gen_alloc(NULL);
  const unsigned char *body;
  size_t len;
  aws_http_class_t cls;
  int rc = 0;

  /* The names were checked when their events were queued. */
  if (g == NULL || (body_open(g, group, stream) | yajl_gen_map_close(g)) !=
                       yajl_gen_status_ok) {
    if (g != NULL)
      yajl_gen_free(g);
    memset(res, 0, sizeof(*res));
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "out of memory");
    return -1;
  }
  yajl_gen_get_buf(g, &body, &len);
  cls = call(l, action, body, len, t, res);
  if (cls == AWS_HTTP_OK) {
    if (stream != NULL) {
      STAT_ADD(l, streams_created, 1);
      logf_(l, CW_LOG_INFO, "created log stream %s in %s", stream, group);
    } else {
      STAT_ADD(l, groups_created, 1);
      logf_(l, CW_LOG_INFO, "created log group %s", group);
    }
  } else if (cls == AWS_HTTP_PERMANENT) {
    if (strcmp(res->error_type, LOGS_ALREADY_EXISTS) != 0)
      logf_(l, CW_LOG_WARNING,
            "%s %s%s%s refused (HTTP %ld %s): %s; trying PutLogEvents "
            "anyway",
            action, group, stream != NULL ? ":" : "",
            stream != NULL ? stream : "", res->status, res->error_type,
            res->message);
  } else {
    rc = -1;
  }
  yajl_gen_free(g);
  return rc;
}

/* Makes sure the group and stream were created (or found to exist) by
 * this process. 0, or -1 when no answer came. */
static int ensure_stream(cw_logs_t *l, const char *group, const char *stream,
                         tries_t *t, aws_http_result_t *res) {
  char key[2 * CW_LOGS_MAX_NAME + 2];

  known_key(group, stream, key, sizeof(key));
  if (known_find(l, key) < CW_LOGS_MAX_KNOWN)
    return 0;
  known_key(group, NULL, key, sizeof(key));
  if (known_find(l, key) == CW_LOGS_MAX_KNOWN) {
    if (create(l, group, NULL, t, res) != 0)
      return -1;
    known_add(l, key);
  }
  if (create(l, group, stream, t, res) != 0)
    return -1;
  known_key(group, stream, key, sizeof(key));
  known_add(l, key);
  return 0;
}

/* The PutLogEvents body of the claimed events, in *out. 0; -1 when out
 * of memory; -2 when yajl refused a string (not valid UTF-8: repair
 * should have made sure it is). Called with the queue locked. */
static int put_body(const cw_logs_queue_t *q, const cw_logs_batch_t *b,
                    yajl_gen *out) {
  yajl_gen g = yajl_gen_alloc(NULL);
  const cw_logs_event_t *e;
  int st;

  *out = NULL;
  if (g == NULL)
    return -1;
  st = body_open(g, b->group, b->stream);
  st |= yajl_gen_string(g, (const unsigned char *)"logEvents", 9);
  st |= yajl_gen_array_open(g);
  for (size_t i = 0; (e = cw_logs_queue_claimed(q, i)) != NULL; i++) {
    st |= yajl_gen_map_open(g);
    st |= yajl_gen_string(g, (const unsigned char *)"timestamp", 9);
    st |= yajl_gen_integer(g, (long long)e->timestamp_ms);
    st |= yajl_gen_string(g, (const unsigned char *)"message", 7);
    st |= yajl_gen_string(g, (const unsigned char *)e->message, e->len);
    st |= yajl_gen_map_close(g);
  }
  st |= yajl_gen_array_close(g);
  st |= yajl_gen_map_close(g);
  if (st != yajl_gen_status_ok) {
    yajl_gen_free(g);
    return -2;
  }
  *out = g;
  return 0;
}

/* The events of a batch of n that a PutLogEvents answer refused:
 * [0, tooOldLogEventEndIndex) and [0, expiredLogEventEndIndex) (both
 * exclusive ends) and [tooNewLogEventStartIndex, n) (inclusive start),
 * counted once each. *old, *expired and *new_ get the three ranges' sizes
 * for the log. */
static size_t rejected(const char *body, size_t n, size_t *old, size_t *expired,
                       size_t *new_) {
  static const char *info_path[] = {"rejectedLogEventsInfo", NULL};
  static const char *old_path[] = {"tooOldLogEventEndIndex", NULL};
  static const char *exp_path[] = {"expiredLogEventEndIndex", NULL};
  static const char *new_path[] = {"tooNewLogEventStartIndex", NULL};
  yajl_val root, info, v;
  size_t prefix, start = n;

  *old = *expired = *new_ = 0;
  root = yajl_tree_parse(body, NULL, 0);
  info = root != NULL ? yajl_tree_get(root, info_path, yajl_t_object) : NULL;
  if (info != NULL) {
    v = yajl_tree_get(info, old_path, yajl_t_number);
    if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0)
      *old =
          (uint64_t)YAJL_GET_INTEGER(v) < n ? (size_t)YAJL_GET_INTEGER(v) : n;
    v = yajl_tree_get(info, exp_path, yajl_t_number);
    if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0)
      *expired =
          (uint64_t)YAJL_GET_INTEGER(v) < n ? (size_t)YAJL_GET_INTEGER(v) : n;
    v = yajl_tree_get(info, new_path, yajl_t_number);
    if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 &&
        (uint64_t)YAJL_GET_INTEGER(v) < n) {
      start = (size_t)YAJL_GET_INTEGER(v);
      *new_ = n - start;
    }
  }
  yajl_tree_free(root);
  prefix = *old > *expired ? *old : *expired;
  if (start < prefix)
    start = prefix;
  return prefix + (n - start);
}

/* Sends one claimed batch. Returns 1 when it is done with (accepted, or
 * refused for good), 0 when it stays queued (last_error says why). */
static int send_batch(cw_logs_t *l, const char *group, const char *stream,
                      size_t n, const unsigned char *body, size_t len,
                      time_t deadline) {
  tries_t t = {.deadline = deadline};
  aws_http_result_t res;
  aws_http_class_t cls = AWS_HTTP_RETRY;
  bool put = false; /* cls is PutLogEvents' answer */
  bool recreated = false;
  int done = 0;

  memset(&res, 0, sizeof(res));
  for (;;) {
    if (ensure_stream(l, group, stream, &t, &res) != 0) {
      put = false;
      break;
    }
    put = true;
    cls = call(l, "PutLogEvents", body, len, &t, &res);
    /* Deleted since we created it (or made elsewhere and deleted): make
     * it again, once per batch. */
    if (cls == AWS_HTTP_PERMANENT && !recreated &&
        strcmp(res.error_type, LOGS_NOT_FOUND) == 0) {
      char key[2 * CW_LOGS_MAX_NAME + 2];
      recreated = true;
      logf_(l, CW_LOG_WARNING,
            "PutLogEvents: %s:%s does not exist (%s); creating it", group,
            stream, res.message);
      known_key(group, NULL, key, sizeof(key));
      known_forget(l, key);
      known_key(group, stream, key, sizeof(key));
      known_forget(l, key);
      STAT_ADD(l, retries, 1);
      continue;
    }
    break;
  }

  if (put && cls == AWS_HTTP_OK) {
    size_t old, expired, new_;
    const char *resp = aws_http_response_body(l->http, NULL);
    size_t refused = rejected(resp, n, &old, &expired, &new_);
    STAT_ADD(l, events_sent, n - refused);
    STAT_ADD(l, events_dropped, refused);
    if (refused > 0 && !l->rejecting)
      logf_(l, CW_LOG_WARNING,
            "PutLogEvents to %s:%s refused %zu of %zu events (too old: "
            "%zu, expired: %zu, too new: %zu); counted as dropped, not "
            "logged again until all are accepted",
            group, stream, refused, n, old, expired, new_);
    else if (refused == 0 && l->rejecting)
      logf_(l, CW_LOG_INFO, "PutLogEvents accepts every event again");
    l->rejecting = refused > 0;
    done = 1;
  } else if (put && cls == AWS_HTTP_PERMANENT) {
    logf_(l, CW_LOG_ERR,
          "PutLogEvents to %s:%s refused %zu events (HTTP %ld %s): %s; "
          "dropped",
          group, stream, n, res.status, res.error_type, res.message);
    STAT_ADD(l, events_dropped, n);
    done = 1;
  } else {
    char status[200] = "";
    if (res.status != 0)
      snprintf(status, sizeof(status), " (HTTP %ld%s%s)", res.status,
               res.error_type[0] != '\0' ? " " : "", res.error_type);
    set_last_error(l,
                   "%s for %s:%s failed%s: %s; %zu events kept for the "
                   "next attempt",
                   put ? "PutLogEvents" : "Creating the log group or stream",
                   group, stream, status, res.message, n);
  }
  return done;
}

int cw_logs_drain(cw_logs_t *l, cw_logs_queue_t *q, pthread_mutex_t *lock,
                  time_t deadline) {
  for (;;) {
    cw_logs_batch_t b;
    char group[CW_LOGS_MAX_NAME + 1] = "", stream[CW_LOGS_MAX_NAME + 1] = "";
    yajl_gen g = NULL;
    const unsigned char *body = NULL;
    size_t n = 0, len = 0, left = 0;
    time_t now = l->cfg.now(l->cfg.ud);
    bool late = deadline != 0 && now >= deadline;
    int built = 0, done;

    memset(&b, 0, sizeof(b));
    pthread_mutex_lock(lock);
    if (late) {
      left = cw_logs_queue_size(q);
    } else {
      n = cw_logs_queue_claim(q, (int64_t)now * 1000, &b);
      if (n > 0) {
        snprintf(group, sizeof(group), "%s", b.group);
        snprintf(stream, sizeof(stream), "%s", b.stream);
        built = put_body(q, &b, &g);
        /* Unwritable events would block the queue for good: drop them. */
        if (built != 0)
          cw_logs_queue_release(q, built == -2);
      }
    }
    pthread_mutex_unlock(lock);
    if (late) {
      if (left == 0)
        return 0;
      set_last_error(l, "deadline reached with %zu data-log events queued",
                     left);
      return -1;
    }
    if (b.too_old > 0) {
      STAT_ADD(l, events_dropped, b.too_old);
      logf_(l, CW_LOG_WARNING,
            "dropped %" PRIu64 " data-log events older than 14 days, which "
            "CloudWatch Logs would refuse",
            b.too_old);
    }
    if (n == 0)
      return 0;
    if (built == -2) {
      logf_(l, CW_LOG_ERR,
            "dropped %zu data-log events for %s:%s: not valid UTF-8", n, group,
            stream);
      STAT_ADD(l, events_dropped, n);
      continue;
    }
    if (built != 0) {
      set_last_error(l,
                     "out of memory building a PutLogEvents request; "
                     "%zu events kept",
                     n);
      return -1;
    }
    yajl_gen_get_buf(g, &body, &len);
    done = send_batch(l, group, stream, n, body, len, deadline);
    yajl_gen_free(g);
    pthread_mutex_lock(lock);
    cw_logs_queue_release(q, done);
    pthread_mutex_unlock(lock);
    if (!done)
      return -1;
  }
}
