/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the data-log queue, driven directly through its claim/release
 * side: UTF-8 repair, bounds, batching within the PutLogEvents limits,
 * chronological order, one stream per request, and the pending streams
 * (events whose stream is named later, when the instance is known): never
 * claimed, counted, bounded like the others, and named, rewritten and
 * merged by cw_logs_queue_resolve. The sender side (cw_stream_logs on the
 * delivery pipeline) is test_cw_stream_logs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_logs.h"
#include "logs_test_util.h"
#include "tap.h"
#include "utf8_ok.h"

/* ================================================================ UTF-8 */

#define FFFD "\xEF\xBF\xBD"

typedef struct {
  const char *what;
  const char *in;
  size_t in_len; /* 0: strlen */
  const char *want;
} repair_case_t;

static void test_utf8_repair(void) {
  static const repair_case_t cases[] = {
      {"ASCII unchanged", "plain text {\"q\":1}", 0, "plain text {\"q\":1}"},
      {"2-byte char kept", "caf\xC3\xA9", 0, "caf\xC3\xA9"},
      {"3-byte char kept", "\xE2\x82\xAC 5", 0, "\xE2\x82\xAC 5"},
      {"4-byte char kept", "\xF0\x9F\x98\x80!", 0, "\xF0\x9F\x98\x80!"},
      {"U+10FFFF kept", "\xF4\x8F\xBF\xBF", 0, "\xF4\x8F\xBF\xBF"},
      {"U+D7FF and U+E000 kept", "\xED\x9F\xBF\xEE\x80\x80", 0,
       "\xED\x9F\xBF\xEE\x80\x80"},
      {"U+FFFD itself kept", FFFD, 0, FFFD},
      {"NUL inside kept", "a\0b", 3, "a\0b"},
      {"lone continuation", "a\x80z", 0, "a" FFFD "z"},
      {"two continuations: one each", "\x80\xBF", 0, FFFD FFFD},
      {"bad continuation after a lead", "\xC3\x28", 0, FFFD "("},
      {"overlong 2-byte (C0 80)", "\xC0\x80", 0, FFFD FFFD},
      {"overlong 2-byte (C1 BF)", "\xC1\xBF", 0, FFFD FFFD},
      {"overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF", 0, FFFD FFFD FFFD},
      {"overlong 3-byte (E0 9F BF)", "\xE0\x9F\xBF", 0, FFFD FFFD FFFD},
      {"overlong 4-byte (F0 8F BF BF)", "\xF0\x8F\xBF\xBF", 0,
       FFFD FFFD FFFD FFFD},
      {"surrogate U+D800", "\xED\xA0\x80", 0, FFFD FFFD FFFD},
      {"surrogate U+DFFF", "\xED\xBF\xBF", 0, FFFD FFFD FFFD},
      {"beyond U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", 0,
       FFFD FFFD FFFD FFFD},
      {"F5 lead", "\xF5\x80\x80\x80", 0, FFFD FFFD FFFD FFFD},
      {"FE and FF", "\xFE\xFF", 0, FFFD FFFD},
      {"truncated 3-byte, then ASCII: one U+FFFD",
       "\xE2\x82"
       "A",
       0, FFFD "A"},
      {"truncated 4-byte at the end: one U+FFFD", "x\xF0\x9F\x98", 0, "x" FFFD},
      {"truncated 2-byte at the end", "\xC3", 0, FFFD},
      /* Unicode 3.9, table 3-8 (U+FFFD for maximal subparts). */
      {"Unicode table 3-8",
       "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF"
       "\x64",
       0, "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"},
  };
  char out[64];

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const repair_case_t *c = &cases[i];
    size_t in_len = c->in_len ? c->in_len : strlen(c->in);
    size_t want_len = c->in_len ? c->in_len : strlen(c->want);
    size_t n = cw_logs_utf8_repair(c->in, in_len, out, sizeof(out));
    if (!T_OK(n == want_len && memcmp(out, c->want, n) == 0 && out[n] == 0,
              "repair: %s", c->what))
      T_NOTE("got %zu bytes, want %zu", n, want_len);
  }

  /* Cut to out_size - 1 bytes, never inside a character. */
  T_EQ_INT(cw_logs_utf8_repair("a\xC3\xA9", 3, out, 3), 1,
           "cut: a 2-byte char that does not fit whole is left out");
  T_EQ_INT(cw_logs_utf8_repair("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 8, out, 8),
           4, "cut: the second 4-byte char needs 8 bytes of 7");
  T_EQ_INT(cw_logs_utf8_repair("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 8, out, 9),
           8, "cut: both 4-byte chars fit 8");
  T_EQ_INT(cw_logs_utf8_repair("ab\xFF", 3, out, 5), 2,
           "cut: U+FFFD (3 bytes) does not fit in 2 left");
  T_EQ_INT(cw_logs_utf8_repair("abc", 3, out, 1), 0, "cut: room for NUL only");
  T_OK(out[0] == 0, "cut: NUL-terminated");

  /* Random bytes: always valid, never longer than asked, stable. */
  {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int valid = 1, stable = 1, within = 1;
    char in[40], a[128], b[128];
    for (int round = 0; round < 20000; round++) {
      size_t len = (size_t)(round % 40), cap = 1 + (size_t)(round % 127), n, m;
      for (size_t k = 0; k < len; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* mostly high bytes: the interesting ones */
        in[k] = (char)((x & 3) == 0 ? (x >> 8) & 0x7F : 0x80 | (x >> 8));
      }
      n = cw_logs_utf8_repair(in, len, a, cap);
      m = cw_logs_utf8_repair(a, n, b, sizeof(b));
      valid &= utf8_ok(a, n);
      within &= n < cap;
      stable &= m == n && memcmp(a, b, n) == 0;
    }
    T_OK(valid, "random input: output always valid UTF-8");
    T_OK(within, "random input: output within out_size - 1");
    T_OK(stable, "random input: repairing again changes nothing");
  }
}

/* ================================================================ queue */

/* A message of len bytes (ASCII). */
static char *text_of(size_t len, char fill) {
  char *m = malloc(len + 1);
  if (m == NULL)
    abort();
  memset(m, fill, len);
  m[len] = 0;
  return m;
}

static void test_queue_add(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  char name[CW_LOGS_MAX_NAME + 2];

  T_OK(cw_logs_queue_create(0) == NULL, "max_events 0 refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "", T0_MS),
           CW_LOGS_INVALID, "empty message refused");
  T_EQ_INT(cw_logs_queue_add(q, "bad group", STREAM, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "group name with a space refused");
  T_EQ_INT(cw_logs_queue_add(q, "", STREAM, T0_MS, "m", T0_MS), CW_LOGS_INVALID,
           "empty group refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, "a:b", T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "stream name with ':' refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, "a*b", T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "stream name with '*' refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, "a\xFF", T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "stream name not UTF-8 refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, NULL, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "NULL stream refused");
  memset(name, 'g', CW_LOGS_MAX_NAME);
  name[CW_LOGS_MAX_NAME] = 0;
  T_EQ_INT(cw_logs_queue_add(q, name, "s\xC3\xA9", T0_MS, "m", T0_MS),
           CW_LOGS_ADDED, "512-byte group and a UTF-8 stream name accepted");
  name[CW_LOGS_MAX_NAME] = 'g';
  name[CW_LOGS_MAX_NAME + 1] = 0;
  T_EQ_INT(cw_logs_queue_add(q, name, STREAM, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "513-byte group refused");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, name, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "513-byte stream refused");
  T_EQ_INT(cw_logs_queue_dropped(q), 0, "refusals are not drops");

  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS - CW_LOGS_MAX_AGE_MS - 1,
                             "m", T0_MS),
           CW_LOGS_TOO_OLD, "14 days and 1 ms old: too old");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS - CW_LOGS_MAX_AGE_MS, "m",
                             T0_MS),
           CW_LOGS_ADDED, "exactly 14 days old: added");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS + CW_LOGS_MAX_AHEAD_MS + 1,
                             "m", T0_MS),
           CW_LOGS_TOO_NEW, "2 hours and 1 ms ahead: too new");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS + CW_LOGS_MAX_AHEAD_MS,
                             "m", T0_MS),
           CW_LOGS_ADDED, "exactly 2 hours ahead: added");
  T_EQ_INT(cw_logs_queue_dropped(q), 2, "too old and too new counted");
  T_EQ_INT(cw_logs_queue_size(q), 3, "3 queued");
  cw_logs_queue_destroy(q);
}

/* The claimed events' messages must be "<tag>-<i>" for the listed i. */
static int claimed_are(cw_logs_queue_t *q, const char *tag, const size_t *idx,
                       size_t n) {
  char want[64];
  const cw_logs_event_t *e;
  for (size_t k = 0; k < n; k++) {
    e = cw_logs_queue_claimed(q, k);
    snprintf(want, sizeof(want), "%s-%05zu", tag, idx[k]);
    if (e == NULL || strcmp(e->message, want) != 0 || e->len != strlen(want)) {
      T_NOTE("claimed %zu: %s, want %s", k, e ? e->message : "(none)", want);
      return 0;
    }
  }
  return cw_logs_queue_claimed(q, n) == NULL;
}

/* The claimed events are exactly want[0..n), in that order, and (when ts
 * is not NULL) at those timestamps. */
static int claimed_msgs(cw_logs_queue_t *q, const char *const *want,
                        const int64_t *ts, size_t n) {
  for (size_t k = 0; k < n; k++) {
    const cw_logs_event_t *e = cw_logs_queue_claimed(q, k);
    if (e == NULL || strcmp(e->message, want[k]) != 0 ||
        e->len != strlen(want[k]) || (ts != NULL && e->timestamp_ms != ts[k])) {
      T_NOTE("claimed %zu: %s at %lld, want %s", k, e ? e->message : "(none)",
             e ? (long long)e->timestamp_ms : 0LL, want[k]);
      return 0;
    }
  }
  return cw_logs_queue_claimed(q, n) == NULL;
}

/* A claim at now takes n events (check what); it is left open. */
static cw_logs_batch_t claim_at(cw_logs_queue_t *q, int64_t now, size_t n,
                                const char *what) {
  cw_logs_batch_t b;
  T_EQ_INT(cw_logs_queue_claim(q, now, &b), n, what);
  return b;
}

/* The same at T0_MS, of dest, "<group>:<stream>" (NULL: not checked). */
static void claim_check(cw_logs_queue_t *q, const char *dest, size_t n,
                        const char *what) {
  cw_logs_batch_t b = claim_at(q, T0_MS, n, what);
  char got[2 * CW_LOGS_MAX_NAME + 4];

  if (dest == NULL)
    return;
  snprintf(got, sizeof(got), "%s:%s", b.group ? b.group : "(none)",
           b.stream ? b.stream : "(none)");
  T_EQ_STR(got, dest, what);
}

/* A claim at T0_MS of n events of dest (claim_check), released done (or
 * undone) after the check of which: the messages "<tag>-<i>" for the i of
 * idx (claim_tagged), or want[0..n) at ts[0..n) (ts NULL: any time;
 * claim_msgs), in that order. */
static void claim_tagged(cw_logs_queue_t *q, const char *dest, const char *tag,
                         const size_t *idx, size_t n, int done,
                         const char *what) {
  claim_check(q, dest, n, what);
  T_OK(claimed_are(q, tag, idx, n), "%s: the events, in order", what);
  cw_logs_queue_release(q, done);
}

static void claim_msgs(cw_logs_queue_t *q, const char *dest,
                       const char *const *want, const int64_t *ts, size_t n,
                       int done, const char *what) {
  claim_check(q, dest, n, what);
  T_OK(claimed_msgs(q, want, ts, n), "%s: the events, in order", what);
  cw_logs_queue_release(q, done);
}

/* The same, with the list written out: the events claimed are as many. */
#define CLAIM_TAGGED(q, dest, tag, done, what, ...)                            \
  claim_tagged((q), (dest), (tag), (const size_t[]){__VA_ARGS__},              \
               sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t), (done), \
               (what))
#define CLAIM_MSGS(q, dest, done, what, ...)                                   \
  claim_msgs((q), (dest), (const char *const[]){__VA_ARGS__}, NULL,            \
             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),      \
             (done), (what))

static void test_batch_count(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(20000);
  cw_logs_batch_t b;
  int sorted = 1;
  int64_t last = INT64_MIN;
  uint64_t x = 12345;

  /* Random timestamps within an hour: the first request takes the 10,000
   * earliest, the second the last one, later than all of them. */
  for (size_t i = 0; i < CW_LOGS_MAX_EVENTS + 1; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    add_ok(q, GROUP, STREAM, T0_MS - (int64_t)((x >> 33) % HOUR_MS), "ev", i);
  }
  b = claim_at(q, T0_MS, CW_LOGS_MAX_EVENTS,
               "10,001 events: the first request has 10,000");
  T_EQ_STR(b.group, GROUP, "batch group");
  T_EQ_STR(b.stream, STREAM, "batch stream");
  for (size_t i = 0; i < b.num; i++) {
    const cw_logs_event_t *e = cw_logs_queue_claimed(q, i);
    sorted &= e->timestamp_ms >= last;
    last = e->timestamp_ms;
  }
  T_OK(sorted, "first request chronological");
  b = claim_at(q, T0_MS, 0, "no second claim while one is open");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_size(q), 1, "one left");
  b = claim_at(q, T0_MS, 1, "second request: 1 event");
  T_OK(cw_logs_queue_claimed(q, 0)->timestamp_ms >= last,
       "second request not earlier than the first");
  cw_logs_queue_release(q, 1);
  b = claim_at(q, T0_MS, 0, "then empty");
  cw_logs_queue_destroy(q);
}

/* Byte limit: each event counts its message plus 26 bytes. */
static void test_batch_bytes(void) {
  const size_t max = CW_LOGS_MAX_MESSAGE; /* 262,118: 262,144 with 26 */
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  cw_logs_batch_t b;
  char *big = text_of(max, 'x');
  /* 3 * 262,144 + (last + 26) + (1 + 26) == 1,048,576 */
  size_t last = CW_LOGS_MAX_BYTES - 3 * (max + 26) - 26 - 27;
  char *m3 = text_of(last, 'y');

  for (int i = 0; i < 4; i++)
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + i, big, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 10, "z", T0_MS);
  b = claim_at(q, T0_MS, 4,
               "4 largest messages fill 1,048,576 bytes exactly: 4 events");
  T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES, "batch bytes at the limit");
  cw_logs_queue_release(q, 1);
  b = claim_at(q, T0_MS, 1, "the 1-byte event goes in the next request");
  T_EQ_INT(b.bytes, 27, "1 byte + 26");
  cw_logs_queue_release(q, 1);

  for (int i = 0; i < 3; i++)
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + i, big, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 3, m3, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 4, "z", T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 5, "z", T0_MS);
  b = claim_at(
      q, T0_MS, 5,
      "events summing to exactly 1,048,576 with overhead: one request");
  T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES, "exactly at the limit");
  cw_logs_queue_release(q, 1);
  b = claim_at(q, T0_MS, 1, "the rest: 1");
  cw_logs_queue_release(q, 1);

  m3[last] = 0;
  {
    char *m4 = text_of(last + 1, 'y');
    for (int i = 0; i < 3; i++)
      cw_logs_queue_add(q, GROUP, STREAM, T0_MS + i, big, T0_MS);
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 3, m4, T0_MS);
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 4, "z", T0_MS);
    b = claim_at(q, T0_MS, 4,
                 "one byte more: the last event waits for the next request");
    T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES - 26, "1,048,550 bytes");
    cw_logs_queue_release(q, 1);
    b = claim_at(q, T0_MS, 1, "then 1");
    cw_logs_queue_release(q, 1);
    free(m4);
  }
  free(big);
  free(m3);
  cw_logs_queue_destroy(q);
}

static void test_batch_span(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  int64_t t = T0_MS - 3 * DAY_MS;

  add_ok(q, GROUP, STREAM, t + DAY_MS, "sp", 2);
  add_ok(q, GROUP, STREAM, t, "sp", 0);
  add_ok(q, GROUP, STREAM, t + DAY_MS + 1, "sp", 3);
  add_ok(q, GROUP, STREAM, t + 12 * HOUR_MS, "sp", 1);
  add_ok(q, GROUP, STREAM, t + 2 * DAY_MS, "sp", 4);
  CLAIM_TAGGED(q, NULL, "sp", 1,
               "span: exactly 24 h in one request, 24 h + 1 ms not", 0, 1, 2);
  CLAIM_TAGGED(q, NULL, "sp", 1, "span: the rest", 3, 4);
  cw_logs_queue_destroy(q);
}

static void test_order_and_streams(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  /* arrival: a0(t+5) b1(t+1) a2(t+1) c3(t+0) a4(t+5) b5(t+0) a6(t+1) */

  add_ok(q, GROUP, STREAM, T0_MS + 5, "o", 0);
  add_ok(q, GROUP2, STREAM2, T0_MS + 1, "o", 1);
  add_ok(q, GROUP, STREAM, T0_MS + 1, "o", 2);
  add_ok(q, GROUP, STREAM2, T0_MS, "o", 3); /* same name, other group */
  add_ok(q, GROUP, STREAM, T0_MS + 5, "o", 4);
  add_ok(q, GROUP2, STREAM2, T0_MS, "o", 5);
  add_ok(q, GROUP, STREAM, T0_MS + 1, "o", 6);

  CLAIM_TAGGED(q, GROUP ":" STREAM, "o", 1,
               "first: the stream of the oldest arrival; by timestamp, equal "
               "timestamps in arrival order",
               2, 6, 0, 4);
  CLAIM_TAGGED(q, GROUP2 ":" STREAM2, "o", 1, "second: 2 events", 5, 1);
  CLAIM_TAGGED(q, GROUP ":" STREAM2, "o", 1,
               "third: 1 event, never mixed with a stream of the same name", 3);
  T_EQ_INT(cw_logs_queue_size(q), 0, "queue empty");
  cw_logs_queue_destroy(q);
}

static void test_too_old_at_claim(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  cw_logs_batch_t b;
  static const size_t left[] = {2};

  add_ok(q, GROUP, STREAM, T0_MS - 13 * DAY_MS, "old", 0);
  add_ok(q, GROUP2, STREAM2, T0_MS - 13 * DAY_MS - 1, "old", 1);
  add_ok(q, GROUP, STREAM, T0_MS - 10 * DAY_MS, "old", 2);
  /* Two days later, the first two are past 14 days. */
  b = claim_at(q, T0_MS + 2 * DAY_MS, 1, "too old at send time: left out");
  T_EQ_INT(b.too_old, 2, "and counted in the batch");
  T_OK(claimed_are(q, "old", left, 1), "the young one claimed");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_size(q), 1, "released undone: still queued");
  T_EQ_INT(cw_logs_queue_dropped(q), 0, "not counted by the queue");
  cw_logs_queue_destroy(q);
}

/* The byte bound (here 1) below one event: a largest event, pending or
 * not, is still taken, and the next add drops it. */
static cw_logs_queue_t *byte_floor(bool pending) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  char *big = text_of(CW_LOGS_MAX_MESSAGE, 'q');

  cw_logs_queue_set_max_bytes(q, 1);
  T_EQ_INT(pending ? cw_logs_queue_add_pending(q, GROUP, "AllTraffic", T0_MS,
                                               big, T0_MS)
                   : cw_logs_queue_add(q, GROUP, STREAM, T0_MS, big, T0_MS),
           CW_LOGS_ADDED,
           pending ? "bytes: a largest pending event fits the floor"
                   : "bytes: one largest event fits the floor");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "bytes: the next drops it");
  free(big);
  return q;
}

static void test_bound(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(5);
  static const size_t claimed[] = {1, 0, 2};
  cw_logs_add_t r;

  /* Later arrivals carry earlier timestamps: drops go by arrival. */
  for (size_t i = 0; i < 7; i++) {
    char msg[32];
    snprintf(msg, sizeof(msg), "b-%05zu", i);
    r = cw_logs_queue_add(q, GROUP, STREAM, T0_MS - (int64_t)i, msg, T0_MS);
    if (i < 5)
      T_EQ_INT(r, CW_LOGS_ADDED, "bound: added");
    else
      T_EQ_INT(r, CW_LOGS_ADDED_DROPPED_OLDEST, "bound: full, oldest dropped");
  }
  T_EQ_INT(cw_logs_queue_size(q), 5, "bound: 5 held");
  T_EQ_INT(cw_logs_queue_dropped(q), 2, "bound: 2 dropped");
  CLAIM_TAGGED(q, NULL, "b", 1, "bound: claim all", 6, 5, 4, 3, 2);

  /* Events being sent are not dropped to make room. */
  add_ok(q, GROUP, STREAM, T0_MS - 10, "c", 0);
  add_ok(q, GROUP, STREAM, T0_MS - 20, "c", 1);
  add_ok(q, GROUP, STREAM, T0_MS - 5, "c", 2);
  claim_at(q, T0_MS, 3, "claim 3");
  add_ok(q, GROUP, STREAM, T0_MS - 30, "c", 3); /* before the claimed */
  add_ok(q, GROUP2, STREAM2, T0_MS, "c", 4);
  r = cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "c-00005", T0_MS);
  T_EQ_INT(r, CW_LOGS_ADDED_DROPPED_OLDEST,
           "full while sending: the oldest not being sent is dropped");
  T_OK(claimed_are(q, "c", claimed, 3), "the claim is untouched");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_size(q), 2, "c-4 and c-5 left");
  T_EQ_INT(cw_logs_queue_dropped(q), 3, "c-3 was dropped");
  {
    CLAIM_TAGGED(q, NULL, "c", 1, "next: GROUP2's", 4);
    CLAIM_TAGGED(q, NULL, "c", 1, "next: c-5", 5);
  }
  cw_logs_queue_destroy(q);

  /* All being sent: nothing to drop. */
  q = cw_logs_queue_create(2);
  add_ok(q, GROUP, STREAM, T0_MS, "f", 0);
  add_ok(q, GROUP, STREAM, T0_MS, "f", 1);
  claim_at(q, T0_MS, 2, "all being sent: both claimed");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS), CW_LOGS_FULL,
           "full of events being sent: FULL");
  T_EQ_INT(cw_logs_queue_dropped(q), 1, "and counted");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "after release: drops the oldest");
  cw_logs_queue_destroy(q);

  q = byte_floor(false);
  T_EQ_INT(cw_logs_queue_size(q), 1, "bytes: 1 held");
  cw_logs_queue_destroy(q);
}

/* A claim released undone goes back to its place in arrival order: the
 * next drops take it in turn. */
static void test_release_order(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(5);
  static const size_t c_left[] = {5, 6, 7};

  add_ok(q, GROUP, STREAM, T0_MS, "r", 0);
  add_ok(q, GROUP2, STREAM2, T0_MS, "r", 1);
  add_ok(q, GROUP, STREAM, T0_MS, "r", 2);
  add_ok(q, GROUP2, STREAM2, T0_MS, "r", 3);
  add_ok(q, GROUP, STREAM, T0_MS, "r", 4);
  CLAIM_TAGGED(q, NULL, "r", 0, "release order: claim A", 0, 2, 4);
  for (size_t i = 5; i < 8; i++) {
    char msg[32];
    snprintf(msg, sizeof(msg), "r-%05zu", i);
    T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM2, T0_MS, msg, T0_MS),
             CW_LOGS_ADDED_DROPPED_OLDEST, "release order: full, drop");
  }
  CLAIM_TAGGED(q, NULL, "r", 1,
               "release order: r-0, r-1, r-2 went; B's r-3 is oldest", 3);
  CLAIM_TAGGED(q, NULL, "r", 1, "release order: then A", 4);
  claim_at(q, T0_MS, 3, "release order: then C");
  T_OK(claimed_are(q, "r", c_left, 3), "release order: r-5..r-7");
  /* Destroyed with a claim open: nothing leaks. */
  cw_logs_queue_destroy(q);
}

static void test_message_cut(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(10);
  const cw_logs_event_t *e;
  size_t n4 = CW_LOGS_MAX_MESSAGE / 4 + 10;
  char *m = malloc(n4 * 4 + 1);
  char *ascii = text_of(CW_LOGS_MAX_MESSAGE + 100, 'a');

  for (size_t i = 0; i < n4; i++)
    memcpy(m + 4 * i, "\xF0\x9F\x98\x80", 4);
  m[n4 * 4] = 0;
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS, m, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 1, ascii, T0_MS);
  ascii[CW_LOGS_MAX_MESSAGE - 1] = 0;
  {
    char *mixed = malloc(CW_LOGS_MAX_MESSAGE + 8);
    snprintf(mixed, CW_LOGS_MAX_MESSAGE + 8, "%s\xC3\xA9", ascii);
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 2, mixed, T0_MS);
    free(mixed);
  }
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 3,
                    "bad \xC0\xAF here\xED\xA0\x80", T0_MS);
  claim_at(q, T0_MS, 4, "4 events");
  e = cw_logs_queue_claimed(q, 0);
  T_EQ_INT(e->len, (CW_LOGS_MAX_MESSAGE / 4) * 4,
           "4-byte chars cut to the last whole one (262,116 bytes)");
  T_OK(utf8_ok(e->message, e->len) && strlen(e->message) == e->len,
       "and valid UTF-8");
  e = cw_logs_queue_claimed(q, 1);
  T_EQ_INT(e->len, CW_LOGS_MAX_MESSAGE, "ASCII cut at 262,118 bytes");
  e = cw_logs_queue_claimed(q, 2);
  T_EQ_INT(e->len, CW_LOGS_MAX_MESSAGE - 1,
           "a 2-byte char one byte short of room is left out");
  e = cw_logs_queue_claimed(q, 3);
  T_EQ_STR(e->message, "bad " FFFD FFFD " here" FFFD FFFD FFFD,
           "invalid bytes replaced in a queued message");
  cw_logs_queue_release(q, 1);
  free(m);
  free(ascii);
  cw_logs_queue_destroy(q);
}

/* ======================================================= pending streams */

#define NAMED "AllTraffic/i-1/data-log"

/* Adds message "<tag>-<i>" to the events of group g waiting under key. */
static void add_pending_ok(cw_logs_queue_t *q, const char *g, const char *key,
                           int64_t ts, const char *tag, size_t i) {
  add_msg(q, g, key, true, ts, tag, i);
}

/* The namer and rewriter the glue would pass, made independent of
 * cw_datalog: the stream is "<key>/<instance>/data-log" (or one fixed
 * name, or a failure, per key), the message gets "@<instance>" appended,
 * except messages of tag "k", which are kept (NULL). */
typedef struct {
  const char *instance;
  const char *same;     /* every key gets this name */
  const char *fail_key; /* the namer has no name for this key */
  const char *bad_key;  /* ... and gives bad_name for this one */
  const char *bad_name;
  int names, rewrites;
  char calls[256]; /* "group|key;" per call */
} namer_t;

static int namer(const char *group, const char *key, void *ud, char *out,
                 size_t size) {
  namer_t *n = ud;
  size_t at = strlen(n->calls);
  n->names++;
  snprintf(n->calls + at, sizeof(n->calls) - at, "%s|%s;", group, key);
  if (n->fail_key != NULL && strcmp(key, n->fail_key) == 0)
    return -1;
  if (n->bad_key != NULL && strcmp(key, n->bad_key) == 0) {
    snprintf(out, size, "%s", n->bad_name);
    return 0;
  }
  if (n->same != NULL)
    snprintf(out, size, "%s", n->same);
  else
    snprintf(out, size, "%s/%s/data-log", key, n->instance);
  return 0;
}

static char *rewriter(const char *message, size_t len, void *ud) {
  namer_t *n = ud;
  char *out;
  n->rewrites++;
  if (message[0] == 'k')
    return NULL;
  out = malloc(len + strlen(n->instance) + 2);
  if (out == NULL)
    abort();
  snprintf(out, len + strlen(n->instance) + 2, "%.*s@%s", (int)len, message,
           n->instance);
  return out;
}

static void test_pending_add(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  char key[CW_LOGS_MAX_NAME + 2];

  add_pending_ok(q, GROUP, "AllTraffic", T0_MS - 3, "p", 0);
  add_ok(q, GROUP, STREAM2, T0_MS, "n", 1);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS - 1, "p", 2);
  add_pending_ok(q, GROUP2, "variant-b", T0_MS - 2, "p", 3);
  /* A named stream whose name is a pending key's text: another stream. */
  add_ok(q, GROUP, "AllTraffic", T0_MS, "n", 4);
  T_EQ_INT(cw_logs_queue_pending(q), 3, "pending: 3 events wait for a name");
  T_EQ_INT(cw_logs_queue_size(q), 5, "pending: counted in the size");
  CLAIM_MSGS(q, GROUP ":" STREAM2, 1,
             "pending: the oldest arrival is pending: the named stream first",
             "n-00001");
  CLAIM_MSGS(q, GROUP ":AllTraffic", 1,
             "pending: then the named stream called like a pending key, "
             "only its own event",
             "n-00004");
  claim_at(q, T0_MS, 0, "pending: only pending events left: nothing to claim");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_size(q), 3, "pending: all 3 still held");
  T_EQ_INT(cw_logs_queue_pending(q), 3, "pending: all 3 still pending");

  T_EQ_INT(cw_logs_queue_add_pending(q, "bad group", "v", T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "pending: a bad group refused");
  T_EQ_INT(cw_logs_queue_add_pending(q, GROUP, NULL, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "pending: a NULL key refused");
  T_EQ_INT(cw_logs_queue_add_pending(q, GROUP, "v", T0_MS, "", T0_MS),
           CW_LOGS_INVALID, "pending: an empty message refused");
  memset(key, 'k', CW_LOGS_MAX_NAME + 1);
  key[CW_LOGS_MAX_NAME + 1] = 0;
  T_EQ_INT(cw_logs_queue_add_pending(q, GROUP, key, T0_MS, "m", T0_MS),
           CW_LOGS_INVALID, "pending: a 513-byte key refused");
  key[CW_LOGS_MAX_NAME] = 0;
  T_EQ_INT(cw_logs_queue_add_pending(q, GROUP, key, T0_MS, "m", T0_MS),
           CW_LOGS_ADDED, "pending: a 512-byte key accepted");
  T_EQ_INT(cw_logs_queue_dropped(q), 0, "pending: refusals are not drops");
  T_EQ_INT(cw_logs_queue_add_pending(
               q, GROUP, "v", T0_MS - CW_LOGS_MAX_AGE_MS - 1, "m", T0_MS),
           CW_LOGS_TOO_OLD, "pending: too old");
  T_EQ_INT(cw_logs_queue_add_pending(
               q, GROUP, "v", T0_MS + CW_LOGS_MAX_AHEAD_MS + 1, "m", T0_MS),
           CW_LOGS_TOO_NEW, "pending: too new");
  T_EQ_INT(cw_logs_queue_dropped(q), 2, "pending: too old and too new counted");
  T_EQ_INT(cw_logs_queue_pending(q), 4, "pending: 4 in all");
  cw_logs_queue_destroy(q);
}

static void test_pending_resolve(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  cw_logs_batch_t b;
  namer_t nm = {.instance = "i-1"};
  size_t nomem = 99;
  static const char *const merged[] = {"p-00004@i-1", "p-00000@i-1",
                                       "n-00001",     "p-00005@i-1",
                                       "n-00002",     "p-00003@i-1"};
  static const int64_t merged_ts[] = {T0_MS + 5,  T0_MS + 10, T0_MS + 10,
                                      T0_MS + 20, T0_MS + 30, T0_MS + 30};

  T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, &nomem), 0,
           "resolve: nothing pending: nothing dropped");
  T_EQ_INT(nm.names, 0, "resolve: nothing pending: the namer is not called");
  T_EQ_INT(nomem, 0, "resolve: *nomem set to 0");

  /* Arrival order, with equal timestamps both ways between a pending
   * event and a named one. */
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 10, "p", 0);
  add_ok(q, GROUP, NAMED, T0_MS + 10, "n", 1);
  add_ok(q, GROUP, NAMED, T0_MS + 30, "n", 2);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 30, "p", 3);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 5, "p", 4);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 20, "p", 5);
  add_pending_ok(q, GROUP2, "AllTraffic", T0_MS, "p", 6);
  add_pending_ok(q, GROUP, "variant-b", T0_MS + 1, "k", 7);
  T_EQ_INT(cw_logs_queue_pending(q), 6, "resolve: 6 pending before");
  CLAIM_MSGS(q, NULL, 0,
             "resolve: before it, only the named events are claimed", "n-00001",
             "n-00002");

  T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, &nomem), 0,
           "resolve: every name valid: nothing dropped");
  T_EQ_INT(nomem, 0, "resolve: no memory trouble");
  T_EQ_INT(nm.names, 3, "resolve: the namer is asked once per pending stream");
  T_OK(strstr(nm.calls, GROUP "|AllTraffic;") != NULL &&
           strstr(nm.calls, GROUP2 "|AllTraffic;") != NULL &&
           strstr(nm.calls, GROUP "|variant-b;") != NULL,
       "resolve: the namer gets each group and key: %s", nm.calls);
  T_EQ_INT(nm.rewrites, 6, "resolve: each pending message rewritten once");
  T_EQ_INT(cw_logs_queue_pending(q), 0, "resolve: none pending after");
  T_EQ_INT(cw_logs_queue_size(q), 8, "resolve: all 8 held");

  b = claim_at(q, T0_MS, 6,
               "resolve: merged into the named stream of that name");
  T_OK(strcmp(b.group, GROUP) == 0 && strcmp(b.stream, NAMED) == 0,
       "resolve: claim is %s:%s", b.group, b.stream);
  T_OK(claimed_msgs(q, merged, merged_ts, 6),
       "resolve: chronological, equal times in arrival order, pending "
       "messages rewritten");
  T_EQ_INT(b.bytes,
           6 * CW_LOGS_EVENT_OVERHEAD + 2 * strlen("n-00001") +
               4 * strlen("p-00000@i-1"),
           "resolve: the batch counts the rewritten messages' bytes");
  cw_logs_queue_release(q, 1);
  CLAIM_MSGS(q, GROUP2 ":" NAMED, 1,
             "resolve: the same key in another group is another stream",
             "p-00006@i-1");
  CLAIM_MSGS(q, GROUP ":variant-b/i-1/data-log", 1,
             "resolve: a second key; a rewriter's NULL keeps the message",
             "k-00007");
  T_EQ_INT(cw_logs_queue_size(q), 0, "resolve: all sent");
  T_EQ_INT(cw_logs_queue_dropped(q), 0, "resolve: none dropped");

  /* Without a rewriter, and without nomem. */
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS, "p", 8);
  T_EQ_INT(cw_logs_queue_resolve(q, namer, NULL, &nm, NULL), 0,
           "resolve: no rewriter, no nomem");
  CLAIM_MSGS(q, GROUP ":" NAMED, 1, "resolve: named, the message as it came",
             "p-00008");
  cw_logs_queue_destroy(q);
}

/* Two pending keys given the same name: one stream, in order. */
static void test_pending_two_keys(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  namer_t nm = {.instance = "i-2", .same = NAMED};
  static const char *const want[] = {"p-00001@i-2", "p-00000@i-2",
                                     "p-00002@i-2", "p-00003@i-2"};
  static const int64_t ts[] = {T0_MS + 1, T0_MS + 2, T0_MS + 2, T0_MS + 3};

  add_pending_ok(q, GROUP, "a", T0_MS + 2, "p", 0);
  add_pending_ok(q, GROUP, "b", T0_MS + 1, "p", 1);
  add_pending_ok(q, GROUP, "b", T0_MS + 2, "p", 2);
  add_pending_ok(q, GROUP, "a", T0_MS + 3, "p", 3);
  T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, NULL), 0,
           "two keys: nothing dropped");
  claim_msgs(q, NULL, want, ts, 4, 1, "two keys: one stream");
  T_EQ_INT(cw_logs_queue_size(q), 0, "two keys: all claimed at once");
  cw_logs_queue_destroy(q);
}

/* A namer without a name, or with one CloudWatch Logs refuses: dropped,
 * returned, not counted as queue drops. */
static void test_pending_unnamed(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  static const char *const bad[] = {"a:b", "a*b", "", "bad\xFF"};

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    namer_t nm = {.instance = "i-1", .bad_key = "v2", .bad_name = bad[i]};
    size_t nomem = 99;
    add_pending_ok(q, GROUP, "v1", T0_MS, "p", 0);
    add_pending_ok(q, GROUP, "v2", T0_MS, "p", 1);
    add_pending_ok(q, GROUP, "v2", T0_MS + 1, "p", 2);
    T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, &nomem), 2,
             "unnamed: the events of a refused name dropped");
    if (!T_OK(nomem == 0, "unnamed: no memory trouble"))
      T_NOTE("name \"%s\"", bad[i]);
    T_EQ_INT(cw_logs_queue_size(q), 1, "unnamed: the valid one kept");
    claim_at(q, T0_MS, 1, "unnamed: it is claimed");
    cw_logs_queue_release(q, 1);
  }
  {
    namer_t nm = {.instance = "i-1", .fail_key = "v1"};
    add_pending_ok(q, GROUP, "v1", T0_MS, "p", 0);
    add_pending_ok(q, GROUP, "v1", T0_MS + 1, "p", 1);
    add_pending_ok(q, GROUP, "v1", T0_MS + 2, "p", 2);
    add_ok(q, GROUP, STREAM, T0_MS, "n", 3);
    T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, NULL), 3,
             "unnamed: the namer has no name: 3 dropped");
    T_EQ_INT(cw_logs_queue_pending(q), 0, "unnamed: none pending");
    T_EQ_INT(cw_logs_queue_size(q), 1, "unnamed: the named event kept");
    CLAIM_MSGS(q, NULL, 1, "unnamed: claimed", "n-00003");
  }
  T_EQ_INT(cw_logs_queue_dropped(q), 0,
           "unnamed: not counted as the queue's drops");
  cw_logs_queue_destroy(q);
}

/* Pending events are bounded like the others: the oldest arrival goes,
 * pending or not; too old at claim time, they are dropped too. */
static void test_pending_bound(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(3);
  cw_logs_batch_t b;
  namer_t nm = {.instance = "i-1"};

  add_pending_ok(q, GROUP, "AllTraffic", T0_MS, "p", 0);
  add_ok(q, GROUP, STREAM, T0_MS, "n", 1);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS, "p", 2);
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "n-00003", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "bound: full, the oldest dropped");
  T_EQ_INT(cw_logs_queue_pending(q), 1, "bound: it was the pending p-0");
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "n-00004", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "bound: again");
  T_EQ_INT(cw_logs_queue_pending(q), 1, "bound: this time the named n-1");
  T_EQ_INT(cw_logs_queue_add_pending(q, GROUP, "AllTraffic", T0_MS, "p-00005",
                                     T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "bound: a pending add drops too");
  T_EQ_INT(cw_logs_queue_pending(q), 1, "bound: p-2 went, p-5 came");
  T_EQ_INT(cw_logs_queue_dropped(q), 3, "bound: 3 dropped");
  T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, &nm, NULL), 0,
           "bound: resolve");
  CLAIM_MSGS(q, NULL, 1, "bound: n-3, n-4 first", "n-00003", "n-00004");
  CLAIM_MSGS(q, NULL, 1, "bound: then p-5", "p-00005@i-1");
  cw_logs_queue_destroy(q);

  q = byte_floor(true);
  T_EQ_INT(cw_logs_queue_pending(q), 0, "bytes: none pending");
  cw_logs_queue_destroy(q);

  /* Too old while waiting for a name. */
  q = cw_logs_queue_create(100);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS - 13 * DAY_MS, "p", 0);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS, "p", 1);
  b = claim_at(q, T0_MS + 2 * DAY_MS, 0, "too old: nothing named to claim");
  T_EQ_INT(b.too_old, 1, "too old: the old pending event counted");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_pending(q), 1, "too old: the other waits");
  cw_logs_queue_destroy(q);
}

/* A resolve while a claim is open on the stream it merges into: the
 * claim is untouched, and both ends of it keep the queue's order.
 * resolved_under_claim: n-0, n-1 named and p-2, p-3 pending for the same
 * stream, interleaved in time; resolved by nm while n-0, n-1 are claimed. */
static cw_logs_queue_t *resolved_under_claim(namer_t *nm) {
  cw_logs_queue_t *q = cw_logs_queue_create(6);

  add_ok(q, GROUP, NAMED, T0_MS + 10, "n", 0);
  add_ok(q, GROUP, NAMED, T0_MS + 20, "n", 1);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 5, "p", 2);
  add_pending_ok(q, GROUP, "AllTraffic", T0_MS + 15, "p", 3);
  claim_at(q, T0_MS, 2, "claim open: n-0, n-1");
  T_EQ_INT(cw_logs_queue_resolve(q, namer, rewriter, nm, NULL), 0,
           "claim open: resolve into the claimed stream");
  return q;
}

static void test_pending_claim_open(void) {
  namer_t nm = {.instance = "i-1"};
  cw_logs_queue_t *q = resolved_under_claim(&nm);
  static const char *const claim1[] = {"n-00000", "n-00001"};
  static const char *const all[] = {"p-00002@i-1", "n-00000", "p-00003@i-1",
                                    "n-00001"};
  static const int64_t all_ts[] = {T0_MS + 5, T0_MS + 10, T0_MS + 15,
                                   T0_MS + 20};

  /* Released undone: everything comes back in order. */
  T_OK(claimed_msgs(q, claim1, NULL, 2), "claim open: the claim untouched");
  claim_at(q, T0_MS, 0, "claim open: still one claim at a time");
  cw_logs_queue_release(q, 0);
  claim_msgs(q, NULL, all, all_ts, 4, 0, "released undone: all four claimed");
  cw_logs_queue_destroy(q);

  /* Released done: only the claimed events go. */
  q = resolved_under_claim(&nm);
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_size(q), 2, "released done: the two merged left");
  CLAIM_MSGS(q, NULL, 0, "released done: claim them", "p-00002@i-1",
             "p-00003@i-1");
  /* Undone, they are back in arrival order: the next drop takes p-2. */
  for (size_t i = 4; i < 8; i++)
    add_ok(q, GROUP2, STREAM2, T0_MS, "m", i);
  T_EQ_INT(cw_logs_queue_add(q, GROUP2, STREAM2, T0_MS, "m-00008", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "full: the oldest arrival dropped");
  CLAIM_MSGS(q, NULL, 1, "full: p-2 went, p-3 next", "p-00003@i-1");
  CLAIM_MSGS(q, NULL, 1, "full: then the m events", "m-00004", "m-00005",
             "m-00006", "m-00007", "m-00008");
  T_EQ_INT(cw_logs_queue_size(q), 0, "full: empty");
  T_EQ_INT(cw_logs_queue_dropped(q), 1, "full: 1 dropped");
  cw_logs_queue_destroy(q);
}

int main(void) {
  test_utf8_repair();
  test_queue_add();
  test_batch_count();
  test_batch_bytes();
  test_batch_span();
  test_order_and_streams();
  test_too_old_at_claim();
  test_bound();
  test_release_order();
  test_message_cut();
  test_pending_add();
  test_pending_resolve();
  test_pending_two_keys();
  test_pending_unnamed();
  test_pending_bound();
  test_pending_claim_open();
  return t_done();
}
