/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for cw_logs' queue: UTF-8 repair, batching and the
 * pending streams.
 *
 * The first input byte selects: bit 0 clear, UTF-8 repair of the rest
 * into an output of 1 + (byte >> 1) bytes, and again with room to spare;
 * bit 0 set, a program of queue operations (add, add many, add a large
 * message, each named or pending; advance the clock; resolve the pending
 * streams with one of three instances; claim; release) run against a
 * plain model of what the queue must hold, with a small queue (at most
 * 1 + (byte >> 3) events) or, when bits 1 and 2 are set, a large one
 * (20,000 events, so that the 10,000-event limit is reached).
 *
 * Checked: repaired text is valid UTF-8 by an independent decoder, never
 * longer than asked, cut only between characters, unchanged by a second
 * repair, and equal to the input when that was valid and fits. A claim is
 * the earliest events (by timestamp, then arrival) of the stream whose
 * oldest event arrived first, within 10,000 events, 1,048,576 bytes with
 * 26 per event and 24 hours, and as many as those limits allow; too-old
 * events are dropped and counted; drops to make room (events or bytes)
 * take the oldest arrival not being sent, pending or not; pending events
 * are counted, never claimed, and a resolve names them (merging them
 * into a stream of that name), rewrites their messages, and drops (and
 * returns the number of) those without a valid name, whether a claim is
 * open or not; nothing is lost or counted twice.
 *
 * Built by tests/fuzz/run-fuzzers.sh.
 */
#include "../unit/utf8_ok.h"
#include "cw_logs.h"
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-11-26T20:00:30Z */
#define T0_MS (INT64_C(1764187230) * 1000)
#define HOUR_MS (INT64_C(3600) * 1000)

static void fuzz_repair(const uint8_t *in, size_t len, size_t out_size) {
  size_t big = 3 * len + 1;
  char *small = malloc(out_size);
  char *full = malloc(big);
  char *again = malloc(big);
  size_t n, m, r;

  CHECK(small != NULL && full != NULL && again != NULL);
  n = cw_logs_utf8_repair((const char *)in, len, small, out_size);
  m = cw_logs_utf8_repair((const char *)in, len, full, big);
  CHECK(n < out_size && small[n] == '\0');
  CHECK(m < big && full[m] == '\0');
  CHECK(utf8_ok(small, n));
  CHECK(utf8_ok(full, m));
  /* The cut output is the full output up to a character boundary, and
   * the next character would not have fitted. */
  CHECK(n <= m && memcmp(small, full, n) == 0);
  if (n < m) {
    size_t next = 1;
    while (n + next < m && ((unsigned char)full[n + next] & 0xC0) == 0x80)
      next++;
    CHECK(((unsigned char)full[n] & 0xC0) != 0x80);
    CHECK(n + next > out_size - 1);
  }
  r = cw_logs_utf8_repair(full, m, again, big);
  CHECK(r == m && memcmp(full, again, m) == 0);
  if (utf8_ok(in, len))
    CHECK(m == len && memcmp(full, in, len) == 0);
  free(small);
  free(full);
  free(again);
}

/* ---- queue against a model ---- */

#define STREAMS 4
static const char *const groups[STREAMS] = {"/g/one", "/g/one", "/g/two",
                                            "/g/two"};
static const char *const names[STREAMS] = {"a/i-1/data-log", "b/i-1/data-log",
                                           "a/i-1/data-log", "\xC3\xA9/x"};
/* Pending events of slot s wait in groups[s] under keys[s]. The namer
 * makes "<key>/<instance>/data-log": with "i-1", keys "a" and "b" name
 * streams that may hold named events (merges); with "i-2", new streams;
 * "bad:x" is refused by CloudWatch Logs (dropped); key "x" has no name. */
static const char *const keys[STREAMS] = {"a", "x", "a", "b"};
static const char *const instances[3] = {"i-1", "i-2", "bad:x"};

#define NAME_MAX_LEN 32

typedef struct {
  uint32_t id;             /* arrival */
  int group;               /* 0: /g/one, 1: /g/two */
  char name[NAME_MAX_LEN]; /* the stream's; while pending, the key */
  int64_t ts;
  size_t len; /* repaired */
  bool alive, claimed, pending;
  bool suffixed; /* rewritten with "@i" at its end (not cut) */
} mev_t;

typedef struct {
  const uint8_t *p, *end;
  cw_logs_queue_t *q;
  mev_t *ev;
  size_t nev, cap;
  size_t lo; /* no event below this index is alive and not claimed */
  size_t max_events;
  size_t bytes;  /* of the alive events, as the queue counts them */
  size_t budget; /* adds left: bounds the time one input takes */
  size_t alive;
  size_t pending; /* alive and pending */
  uint64_t dropped;
  int64_t now;
  bool open;            /* a claim is open */
  const char *instance; /* of the resolve under way */
} prog_t;

static unsigned byte(prog_t *pr) { return pr->p < pr->end ? *pr->p++ : 0; }

/* The repaired length of a message as the queue cuts it. */
static size_t repaired_len(const char *msg) {
  static char out[CW_LOGS_MAX_MESSAGE + 1];
  return cw_logs_utf8_repair(msg, strnlen(msg, CW_LOGS_MAX_MESSAGE + 4), out,
                             sizeof(out));
}

/* lo only grows between claims and releases, which reset it. */
static mev_t *oldest_unclaimed(prog_t *pr) {
  while (pr->lo < pr->nev && (!pr->ev[pr->lo].alive || pr->ev[pr->lo].claimed))
    pr->lo++;
  return pr->lo < pr->nev ? &pr->ev[pr->lo] : NULL;
}

static void ev_kill(prog_t *pr, mev_t *e) {
  e->alive = false;
  pr->alive--;
  pr->pending -= e->pending;
  pr->bytes -= e->len + CW_LOGS_EVENT_OVERHEAD;
}

/* Adds "<id>:" + body at ts on slot s (pending: under its key), and
 * mirrors it in the model: full (events or bytes), the oldest arrivals
 * not being sent go first, pending or not. */
static void add(prog_t *pr, int s, bool pending, int64_t ts, const char *body) {
  size_t blen = strlen(body), size;
  char *msg;
  mev_t e = {
      .id = (uint32_t)pr->nev, .group = s / 2, .ts = ts, .pending = pending};
  cw_logs_add_t r;
  bool dropped = false;

  if (pr->budget == 0)
    return;
  pr->budget--;
  msg = malloc(blen + 16);
  CHECK(msg != NULL);
  snprintf(msg, blen + 16, "%07u:%s", e.id, body);
  e.len = repaired_len(msg);
  snprintf(e.name, sizeof(e.name), "%s", pending ? keys[s] : names[s]);
  r = pending ? cw_logs_queue_add_pending(pr->q, groups[s], keys[s], ts, msg,
                                          pr->now)
              : cw_logs_queue_add(pr->q, groups[s], names[s], ts, msg, pr->now);
  free(msg);
  if (ts < pr->now - CW_LOGS_MAX_AGE_MS) {
    CHECK(r == CW_LOGS_TOO_OLD);
    pr->dropped++;
    return;
  }
  if (ts > pr->now + CW_LOGS_MAX_AHEAD_MS) {
    CHECK(r == CW_LOGS_TOO_NEW);
    pr->dropped++;
    return;
  }
  size = e.len + CW_LOGS_EVENT_OVERHEAD;
  while (pr->alive >= pr->max_events ||
         pr->bytes + size > CW_LOGS_QUEUE_DEFAULT_MAX_BYTES) {
    mev_t *o = oldest_unclaimed(pr);
    if (o == NULL) {
      CHECK(r == CW_LOGS_FULL);
      pr->dropped++;
      return;
    }
    ev_kill(pr, o);
    pr->dropped++;
    dropped = true;
  }
  CHECK(r == (dropped ? CW_LOGS_ADDED_DROPPED_OLDEST : CW_LOGS_ADDED));
  if (pr->nev == pr->cap) {
    pr->cap = pr->cap ? pr->cap * 2 : 64;
    pr->ev = realloc(pr->ev, pr->cap * sizeof(*pr->ev));
    CHECK(pr->ev != NULL);
  }
  e.alive = true;
  pr->ev[pr->nev++] = e;
  pr->alive++;
  pr->pending += pending;
  pr->bytes += size;
}

static int cmp_ts(const void *a, const void *b) {
  const mev_t *x = *(mev_t *const *)a, *y = *(mev_t *const *)b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static uint32_t id_of(const char *m) {
  uint32_t id = 0;
  for (int k = 0; k < 7; k++) {
    CHECK(m[k] >= '0' && m[k] <= '9');
    id = id * 10 + (uint32_t)(m[k] - '0');
  }
  CHECK(m[7] == ':');
  return id;
}

static void claim(prog_t *pr) {
  cw_logs_batch_t b;
  size_t n, want_old = 0, k = 0, bytes = 0;
  mev_t **sorted;
  mev_t *first = NULL;

  if (pr->open) {
    CHECK(cw_logs_queue_claim(pr->q, pr->now, &b) == 0);
    return;
  }
  /* Too old at claim time: pending ones too. */
  for (size_t i = 0; i < pr->nev; i++)
    if (pr->ev[i].alive && pr->ev[i].ts < pr->now - CW_LOGS_MAX_AGE_MS) {
      ev_kill(pr, &pr->ev[i]);
      want_old++;
    }
  n = cw_logs_queue_claim(pr->q, pr->now, &b);
  CHECK(b.too_old == want_old);
  CHECK(cw_logs_queue_size(pr->q) == pr->alive);
  /* The stream of the oldest arrival among the named events. */
  for (size_t i = 0; i < pr->nev && first == NULL; i++)
    if (pr->ev[i].alive && !pr->ev[i].pending)
      first = &pr->ev[i];
  if (first == NULL) {
    CHECK(n == 0);
    cw_logs_queue_release(pr->q, 0);
    return;
  }
  CHECK(n > 0 && n == b.num && n <= CW_LOGS_MAX_EVENTS);
  CHECK(strcmp(b.group, groups[2 * first->group]) == 0 &&
        strcmp(b.stream, first->name) == 0);
  sorted = malloc(pr->alive * sizeof(*sorted));
  CHECK(sorted != NULL);
  for (size_t i = 0; i < pr->nev; i++)
    if (pr->ev[i].alive && !pr->ev[i].pending &&
        pr->ev[i].group == first->group &&
        strcmp(pr->ev[i].name, first->name) == 0)
      sorted[k++] = &pr->ev[i];
  qsort(sorted, k, sizeof(*sorted), cmp_ts);
  CHECK(n <= k);
  for (size_t i = 0; i < n; i++) {
    const cw_logs_event_t *e = cw_logs_queue_claimed(pr->q, i);
    CHECK(e != NULL);
    CHECK(e->len > 0 && e->len <= CW_LOGS_MAX_MESSAGE);
    CHECK(strlen(e->message) == e->len);
    CHECK(utf8_ok(e->message, e->len));
    CHECK(id_of(e->message) == sorted[i]->id);
    CHECK(e->timestamp_ms == sorted[i]->ts && e->len == sorted[i]->len);
    CHECK(e->timestamp_ms - sorted[0]->ts <= CW_LOGS_MAX_SPAN_MS);
    if (sorted[i]->suffixed)
      CHECK(e->len >= 2 && memcmp(e->message + e->len - 2, "@i", 2) == 0);
    sorted[i]->claimed = true;
    bytes += e->len + CW_LOGS_EVENT_OVERHEAD;
  }
  CHECK(cw_logs_queue_claimed(pr->q, n) == NULL);
  CHECK(bytes == b.bytes && bytes <= CW_LOGS_MAX_BYTES);
  /* As many as the limits allow. */
  if (n < k)
    CHECK(n == CW_LOGS_MAX_EVENTS ||
          bytes + sorted[n]->len + CW_LOGS_EVENT_OVERHEAD > CW_LOGS_MAX_BYTES ||
          sorted[n]->ts - sorted[0]->ts > CW_LOGS_MAX_SPAN_MS);
  free(sorted);
  pr->open = true;
  pr->lo = 0;
}

static void release(prog_t *pr, bool done) {
  cw_logs_queue_release(pr->q, done);
  for (size_t i = 0; i < pr->nev; i++)
    if (pr->ev[i].claimed) {
      pr->ev[i].claimed = false;
      if (done)
        ev_kill(pr, &pr->ev[i]);
    }
  pr->open = false;
  pr->lo = 0;
}

static int namer(const char *group, const char *key, void *ud, char *out,
                 size_t size) {
  prog_t *pr = ud;
  CHECK(strcmp(group, groups[0]) == 0 || strcmp(group, groups[2]) == 0);
  if (strcmp(key, "x") == 0)
    return -1;
  snprintf(out, size, "%s/%s/data-log", key, pr->instance);
  return 0;
}

/* Appends "@i", except to the messages of every third event (kept). */
static char *rewriter(const char *message, size_t len, void *ud) {
  char *out;
  (void)ud;
  CHECK(strlen(message) == len);
  if (id_of(message) % 3 == 0)
    return NULL;
  out = malloc(len + 3);
  CHECK(out != NULL);
  memcpy(out, message, len);
  memcpy(out + len, "@i", 3);
  return out;
}

/* Names every pending event's stream (or drops it), as the queue must. */
static void resolve(prog_t *pr, const char *instance) {
  size_t want_dropped = 0, nomem = 99, got;

  pr->instance = instance;
  for (size_t i = 0; i < pr->nev; i++) {
    mev_t *e = &pr->ev[i];
    if (!e->alive || !e->pending)
      continue;
    CHECK(!e->claimed);
    if (strcmp(e->name, "x") == 0 || strchr(instance, ':') != NULL) {
      ev_kill(pr, e);
      want_dropped++;
      continue;
    }
    {
      char name[NAME_MAX_LEN];
      snprintf(name, sizeof(name), "%s/%s/data-log", e->name, instance);
      snprintf(e->name, sizeof(e->name), "%s", name);
    }
    e->pending = false;
    pr->pending--;
    if (e->id % 3 != 0) {
      size_t len =
          e->len + 2 > CW_LOGS_MAX_MESSAGE ? CW_LOGS_MAX_MESSAGE : e->len + 2;
      e->suffixed = len == e->len + 2;
      pr->bytes += len - e->len;
      e->len = len;
    }
  }
  got = cw_logs_queue_resolve(pr->q, namer, rewriter, pr, &nomem);
  CHECK(got == want_dropped);
  CHECK(nomem == 0);
  CHECK(pr->pending == 0 && cw_logs_queue_pending(pr->q) == 0);
}

static void fuzz_queue(const uint8_t *data, size_t size, bool large,
                       size_t small_max) {
  prog_t pr = {.p = data, .end = data + size, .now = T0_MS};
  static char big[CW_LOGS_MAX_MESSAGE + 64];

  pr.max_events = large ? 20000 : small_max;
  pr.budget = 30000;
  pr.q = cw_logs_queue_create(pr.max_events);
  CHECK(pr.q != NULL);
  while (pr.p < pr.end) {
    unsigned op = byte(&pr);
    int s = (int)((op >> 3) % STREAMS);
    /* The adds with the high bit set wait for their stream's name. */
    bool pending = (op & 0x80) != 0;
    /* -16 h .. +3 h around now, in steps that make equal stamps likely;
     * 0xFF: 15 days old. */
    unsigned t = byte(&pr);
    int64_t ts = t == 0xFF ? pr.now - 15 * 24 * HOUR_MS
                           : pr.now + ((int64_t)t - 200) * 5 * 60 * 1000;

    switch (op & 7) {
    case 0:
    case 1: { /* a message of raw input bytes, NUL ends it */
      char body[64];
      size_t len = byte(&pr) % sizeof(body), i;
      for (i = 0; i < len && pr.p < pr.end && *pr.p != 0; i++)
        body[i] = (char)*pr.p++;
      body[i] = '\0';
      add(&pr, s, pending, ts, body);
      break;
    }
    case 2: { /* many at once */
      unsigned n = large ? 1 + byte(&pr) * 40u : 1 + byte(&pr) % 8;
      for (unsigned i = 0; i < n; i++)
        add(&pr, s, pending, ts + (int64_t)(i % 3), "x");
      break;
    }
    case 3: { /* a large message, up to past the cut */
      size_t len = (size_t)byte(&pr) * 1100;
      unsigned char fill = (unsigned char)byte(&pr);
      if (len > sizeof(big) - 1)
        len = sizeof(big) - 1;
      memset(big, fill == 0 ? 'a' : fill, len);
      big[len] = '\0';
      add(&pr, s, pending, ts, big);
      break;
    }
    case 4: /* time passes: up to ~2 days; or the instance becomes known */
      if (pending)
        resolve(&pr, instances[t % 3]);
      else
        pr.now += (int64_t)t * 12 * 60 * 1000;
      break;
    case 5:
    case 6:
      claim(&pr);
      break;
    case 7:
      if (pr.open)
        release(&pr, (t & 1) != 0);
      break;
    }
    CHECK(cw_logs_queue_size(pr.q) == pr.alive);
    CHECK(cw_logs_queue_dropped(pr.q) == pr.dropped);
    CHECK(cw_logs_queue_pending(pr.q) == pr.pending);
  }
  /* Drain what is left: everything comes out exactly once. */
  if (pr.open)
    release(&pr, false);
  resolve(&pr, instances[0]);
  for (;;) {
    claim(&pr);
    if (!pr.open)
      break;
    release(&pr, true);
  }
  CHECK(pr.alive == 0 && cw_logs_queue_size(pr.q) == 0);
  cw_logs_queue_destroy(pr.q);
  free(pr.ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  if ((data[0] & 1) == 0)
    fuzz_repair(data + 1, size - 1, 1 + (size_t)(data[0] >> 1));
  else
    fuzz_queue(data + 1, size - 1, (data[0] & 6) == 6,
               1 + (size_t)(data[0] >> 3));
  return 0;
}
