/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the data-log queue (see cw_logs.h).
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
 * The sender is cw_stream_logs, on the delivery pipeline.
 */
#include "cw_logs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static bool stream_name_ok(const char *s);

bool cw_logs_names_ok(const char *group, const char *stream) {
  return group_name_ok(group) && stream_name_ok(stream);
}

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
  char *name;   /* the stream's name; while pending, the key it is made of */
  bool pending; /* the name waits for cw_logs_queue_resolve */
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
                             const char *name, bool pending) {
  lstream_t *s;

  for (s = q->streams; s != NULL; s = s->next)
    if (s->pending == pending && strcmp(s->group, group) == 0 &&
        strcmp(s->name, name) == 0)
      return s;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->pending = pending;
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

/* Messages repaired on the stack first, so that their event is allocated
 * at its size: up to this many bytes in (a data-log line is a few hundred
 * bytes). */
#define EV_SHORT_MESSAGE 1024

/* Makes an event: the message repaired and cut. NULL: out of memory. */
static ev_t *ev_new(const char *message, int64_t timestamp_ms) {
  /* Every input byte yields at least one output byte, so no more than
   * CW_LOGS_MAX_MESSAGE of them is ever used; the 3 more let the last
   * character that could still fit be seen whole. */
  size_t in_len = strnlen(message, CW_LOGS_MAX_MESSAGE + 4);
  size_t cap = in_len <= CW_LOGS_MAX_MESSAGE / UTF8_REPLACEMENT_LEN
                   ? in_len * UTF8_REPLACEMENT_LEN
                   : CW_LOGS_MAX_MESSAGE;
  ev_t *e;
  size_t len;

  if (in_len <= EV_SHORT_MESSAGE) {
    char text[EV_SHORT_MESSAGE * UTF8_REPLACEMENT_LEN + 1];
    len = cw_logs_utf8_repair(message, in_len, text, sizeof(text));
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
      return NULL;
    memset(e, 0, sizeof(*e));
    memcpy(e->text, text, len + 1);
  } else {
    /* Allocated for the worst case, then cut to its size. */
    e = malloc(sizeof(*e) + cap + 1);
    if (e == NULL)
      return NULL;
    memset(e, 0, sizeof(*e));
    len = cw_logs_utf8_repair(message, in_len, e->text, cap + 1);
    if (len < cap) {
      ev_t *smaller = realloc(e, sizeof(*e) + len + 1);
      if (smaller != NULL)
        e = smaller;
    }
  }
  e->pub.timestamp_ms = timestamp_ms;
  e->pub.message = e->text;
  e->pub.len = len;
  return e;
}

static cw_logs_add_t add(cw_logs_queue_t *q, const char *group,
                         const char *stream, bool pending, int64_t timestamp_ms,
                         const char *message, int64_t now_ms) {
  ev_t *e = NULL;
  lstream_t *s;
  bool made_room = false;
  size_t at;

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
  s = stream_get(q, group, stream, pending);
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

cw_logs_add_t cw_logs_queue_add(cw_logs_queue_t *q, const char *group,
                                const char *stream, int64_t timestamp_ms,
                                const char *message, int64_t now_ms) {
  if (q == NULL || message == NULL || message[0] == '\0' ||
      !group_name_ok(group) || !stream_name_ok(stream))
    return CW_LOGS_INVALID;
  return add(q, group, stream, false, timestamp_ms, message, now_ms);
}

cw_logs_add_t cw_logs_queue_add_pending(cw_logs_queue_t *q, const char *group,
                                        const char *key, int64_t timestamp_ms,
                                        const char *message, int64_t now_ms) {
  if (q == NULL || message == NULL || message[0] == '\0' ||
      !group_name_ok(group) || key == NULL ||
      strnlen(key, CW_LOGS_MAX_NAME + 1) > CW_LOGS_MAX_NAME)
    return CW_LOGS_INVALID;
  return add(q, group, key, true, timestamp_ms, message, now_ms);
}

size_t cw_logs_queue_pending(const cw_logs_queue_t *q) {
  size_t n = 0;
  for (const lstream_t *s = q->streams; s != NULL; s = s->next)
    if (s->pending)
      n += s->num;
  return n;
}

/* Moves the events of src into dst, keeping dst's order; frees src. */
static int stream_merge(cw_logs_queue_t *q, lstream_t *dst, lstream_t *src) {
  size_t n = dst->num + src->num, i = 0, j = 0, k = 0;
  ev_t **buf = malloc(n * sizeof(*buf));

  if (buf == NULL)
    return -1;
  while (i < dst->num || j < src->num) {
    if (j == src->num || (i < dst->num && ev_before(dst->ev[i], src->ev[j])))
      buf[k++] = dst->ev[i++];
    else
      buf[k++] = src->ev[j++];
  }
  for (size_t x = 0; x < src->num; x++)
    src->ev[x]->stream = dst;
  free(dst->buf);
  dst->buf = dst->ev = buf;
  dst->num = dst->cap = n;
  src->num = 0;
  stream_unlink(q, src);
  return 0;
}

/* Replaces event i of s with one whose message is msg (same time, same
 * arrival). -1 when out of memory (the event stays as it was). */
static int ev_replace(cw_logs_queue_t *q, lstream_t *s, size_t i,
                      const char *msg) {
  ev_t *old = s->ev[i], *e = ev_new(msg, old->pub.timestamp_ms);

  if (e == NULL)
    return -1;
  e->stream = s;
  e->seq = old->seq;
  e->older = old->older;
  e->newer = old->newer;
  if (e->older != NULL)
    e->older->newer = e;
  else
    q->oldest = e;
  if (e->newer != NULL)
    e->newer->older = e;
  else
    q->newest = e;
  q->bytes += ev_size(e);
  q->bytes -= ev_size(old);
  s->ev[i] = e;
  free(old);
  return 0;
}

size_t cw_logs_queue_resolve(cw_logs_queue_t *q, cw_logs_namer_t namer,
                             cw_logs_rewriter_t rewriter, void *ud,
                             size_t *nomem) {
  lstream_t *s, *next;
  size_t dropped = 0;

  if (nomem != NULL)
    *nomem = 0;
  for (s = q->streams; s != NULL; s = next) {
    char name[CW_LOGS_MAX_NAME + 1];
    lstream_t *t;
    next = s->next;
    if (!s->pending)
      continue;
    if (namer(s->group, s->name, ud, name, sizeof(name)) != 0 ||
        !stream_name_ok(name)) {
      /* No name CloudWatch Logs would take: the events cannot be sent. */
      dropped += s->num;
      stream_remove_prefix(q, s, s->num);
      continue;
    }
    /* The events' messages may name the stream's parts too. Pending
     * events are never claimed, so all are on the arrival list. */
    for (size_t i = 0; rewriter != NULL && i < s->num; i++) {
      char *msg = rewriter(s->ev[i]->pub.message, s->ev[i]->pub.len, ud);
      if (msg != NULL && ev_replace(q, s, i, msg) != 0 && nomem != NULL)
        (*nomem)++;
      free(msg);
    }
    for (t = q->streams; t != NULL; t = t->next)
      if (!t->pending && strcmp(t->group, s->group) == 0 &&
          strcmp(t->name, name) == 0)
        break;
    if (t == NULL) {
      char *copy = strdup(name);
      if (copy == NULL) {
        if (nomem != NULL)
          *nomem += s->num;
        continue;
      }
      free(s->name);
      s->name = copy;
      s->pending = false;
    } else if (stream_merge(q, t, s) != 0 && nomem != NULL) {
      *nomem += s->num;
    }
  }
  return dropped;
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
  /* The stream whose oldest event arrived first, among the named. */
  {
    ev_t *o = q->oldest;
    while (o != NULL && o->stream->pending)
      o = o->newer;
    if (o == NULL)
      return 0;
    s = o->stream;
  }
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
