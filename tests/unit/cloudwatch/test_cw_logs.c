/* SPDX-License-Identifier: MIT */
/*
 * cw_logs: the data-log queue (UTF-8 repair, bounds, batching within the
 * PutLogEvents limits, chronological order, one stream per request) driven
 * directly through its claim/release side, then the sender against a
 * scripted fake CloudWatch Logs: a thread serving HTTP/1.1 on 127.0.0.1
 * (ephemeral port) that answers each request with the next scripted reply
 * and records the request's head and body. Every server case ends by
 * checking that each scripted reply was used and that no request came
 * beyond the script. Request bodies are read back with yajl_tree.
 *
 * Time, randomness, sleeping, logging and the environment the credentials
 * come from are injected as in test_cw_sender: the clock is fixed, sleep
 * records the delays asked for and returns at once (and may add events,
 * as another thread would while a batch is in flight), getenv serves one
 * key pair on the first read and another after an invalidation.
 */
#define _GNU_SOURCE /* strcasestr, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "aws_creds.h"
#include "aws_sigv4.h"
#include "cw_logs.h"
#include "tap.h"

/* 2025-11-26T20:00:30Z */
#define T0 ((time_t)1764187230)
#define T0_MS ((int64_t)T0 * 1000)
#define AMZ_DATE "20251126T200030Z"
#define CRED_DATE "20251126"
#define REGION "us-east-1"
#define CTYPE "application/x-amz-json-1.1"
#define TARGET_PREFIX "Logs_20140328."
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

#define GROUP "/aws/sagemaker/Endpoints/ep-one"
#define STREAM "AllTraffic/i-0123456789abcdef0/data-log"
#define GROUP2 "/aws/sagemaker/Endpoints/ep-two"
#define STREAM2 "variant-b/i-0fedcba9876543210/data-log"

#define K1 "AKIDLOGSTEST00000001"
#define S1 "secret/one/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define K2 "AKIDLOGSTEST00000002"
#define S2 "secret/two/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define TOK1 "token-one-FwoGZXIvYXdzEJr"
#define TOK2 "token-two-FwoGZXIvYXdzEJr"

#include "fake_aws.h"

/* ================================================== injected functions */

struct fx_s;

typedef struct {
  time_t now;
  uint64_t sleeps[64];
  size_t nsleeps;
  int stop; /* sleep says stop */
  /* called on each sleep, as another thread adding events would */
  void (*on_sleep)(struct fx_s *fx, size_t nth);
  struct fx_s *fx;
  char log[16384];
  size_t loglen;
  int err_logs, warn_logs;
  /* environment */
  int id_reads;
  int rotate; /* later reads give K2 */
  int with_token;
} ctx_t;

static time_t fake_now(void *ud) { return ((ctx_t *)ud)->now; }

static double fake_random(void *ud) {
  (void)ud;
  return 0.5;
}

static int fake_sleep(uint64_t ms, void *ud) {
  ctx_t *c = ud;
  size_t nth = c->nsleeps;
  if (c->nsleeps < sizeof(c->sleeps) / sizeof(c->sleeps[0]))
    c->sleeps[c->nsleeps] = ms;
  c->nsleeps++;
  if (c->on_sleep != NULL)
    c->on_sleep(c->fx, nth);
  return c->stop;
}

static void fake_log(cw_log_level_t level, const char *msg, void *ud) {
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
  if (level == CW_LOG_WARNING)
    c->warn_logs++;
}

static const char *fake_getenv(void *ud, const char *name) {
  ctx_t *c = ud;
  int second;
  if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
    return "true";
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

/* ================================================================ UTF-8 */

/* An independent check: decodes code points and refuses what Unicode's
 * table 3-7 does not list (overlongs, surrogates, > U+10FFFF). */
static int utf8_ok(const char *p, size_t len) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i = 0;

  while (i < len) {
    unsigned c = s[i], need, cp, min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      need = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      need = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      need = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (i + need >= len)
      return 0;
    for (unsigned k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += need + 1;
  }
  return 1;
}

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

/* Adds message "<tag>-<i>" and checks the result. */
static void add_ok(cw_logs_queue_t *q, const char *g, const char *s, int64_t ts,
                   const char *tag, size_t i) {
  char msg[64];
  cw_logs_add_t r;
  snprintf(msg, sizeof(msg), "%s-%05zu", tag, i);
  r = cw_logs_queue_add(q, g, s, ts, msg, T0_MS);
  if (r != CW_LOGS_ADDED)
    T_OK(0, "add %s: result %d", msg, (int)r);
}

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
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), CW_LOGS_MAX_EVENTS,
           "10,001 events: the first request has 10,000");
  T_EQ_STR(b.group, GROUP, "batch group");
  T_EQ_STR(b.stream, STREAM, "batch stream");
  for (size_t i = 0; i < b.num; i++) {
    const cw_logs_event_t *e = cw_logs_queue_claimed(q, i);
    sorted &= e->timestamp_ms >= last;
    last = e->timestamp_ms;
  }
  T_OK(sorted, "first request chronological");
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 0,
           "no second claim while one is open");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_size(q), 1, "one left");
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "second request: 1 event");
  T_OK(cw_logs_queue_claimed(q, 0)->timestamp_ms >= last,
       "second request not earlier than the first");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 0, "then empty");
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
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 4,
           "4 largest messages fill 1,048,576 bytes exactly: 4 events");
  T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES, "batch bytes at the limit");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1,
           "the 1-byte event goes in the next request");
  T_EQ_INT(b.bytes, 27, "1 byte + 26");
  cw_logs_queue_release(q, 1);

  for (int i = 0; i < 3; i++)
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + i, big, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 3, m3, T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 4, "z", T0_MS);
  cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 5, "z", T0_MS);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 5,
           "events summing to exactly 1,048,576 with overhead: one request");
  T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES, "exactly at the limit");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "the rest: 1");
  cw_logs_queue_release(q, 1);

  m3[last] = 0;
  {
    char *m4 = text_of(last + 1, 'y');
    for (int i = 0; i < 3; i++)
      cw_logs_queue_add(q, GROUP, STREAM, T0_MS + i, big, T0_MS);
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 3, m4, T0_MS);
    cw_logs_queue_add(q, GROUP, STREAM, T0_MS + 4, "z", T0_MS);
    T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 4,
             "one byte more: the last event waits for the next request");
    T_EQ_INT(b.bytes, CW_LOGS_MAX_BYTES - 26, "1,048,550 bytes");
    cw_logs_queue_release(q, 1);
    T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "then 1");
    cw_logs_queue_release(q, 1);
    free(m4);
  }
  free(big);
  free(m3);
  cw_logs_queue_destroy(q);
}

static void test_batch_span(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  cw_logs_batch_t b;
  int64_t t = T0_MS - 3 * DAY_MS;
  static const size_t first[] = {0, 1, 2}, second[] = {3, 4};

  add_ok(q, GROUP, STREAM, t + DAY_MS, "sp", 2);
  add_ok(q, GROUP, STREAM, t, "sp", 0);
  add_ok(q, GROUP, STREAM, t + DAY_MS + 1, "sp", 3);
  add_ok(q, GROUP, STREAM, t + 12 * HOUR_MS, "sp", 1);
  add_ok(q, GROUP, STREAM, t + 2 * DAY_MS, "sp", 4);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 3,
           "span: exactly 24 h in one request, 24 h + 1 ms not");
  T_OK(claimed_are(q, "sp", first, 3), "span: first request in order");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 2, "span: the rest");
  T_OK(claimed_are(q, "sp", second, 2), "span: second request in order");
  cw_logs_queue_release(q, 1);
  cw_logs_queue_destroy(q);
}

static void test_order_and_streams(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(100);
  cw_logs_batch_t b;
  /* arrival: a0(t+5) b1(t+1) a2(t+1) c3(t+0) a4(t+5) b5(t+0) a6(t+1) */
  static const size_t a_want[] = {2, 6, 0, 4}, b_want[] = {5, 1},
                      c_want[] = {3};

  add_ok(q, GROUP, STREAM, T0_MS + 5, "o", 0);
  add_ok(q, GROUP2, STREAM2, T0_MS + 1, "o", 1);
  add_ok(q, GROUP, STREAM, T0_MS + 1, "o", 2);
  add_ok(q, GROUP, STREAM2, T0_MS, "o", 3); /* same name, other group */
  add_ok(q, GROUP, STREAM, T0_MS + 5, "o", 4);
  add_ok(q, GROUP2, STREAM2, T0_MS, "o", 5);
  add_ok(q, GROUP, STREAM, T0_MS + 1, "o", 6);

  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 4,
           "first: the stream of the oldest arrival");
  T_OK(strcmp(b.group, GROUP) == 0 && strcmp(b.stream, STREAM) == 0,
       "first: %s:%s", b.group, b.stream);
  T_OK(claimed_are(q, "o", a_want, 4),
       "by timestamp, equal timestamps in arrival order");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 2, "second: 2 events");
  T_OK(strcmp(b.group, GROUP2) == 0 && strcmp(b.stream, STREAM2) == 0,
       "second: %s:%s", b.group, b.stream);
  T_OK(claimed_are(q, "o", b_want, 2), "second stream in order");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "third: 1 event");
  T_OK(strcmp(b.group, GROUP) == 0 && strcmp(b.stream, STREAM2) == 0,
       "third: %s:%s, never mixed with a stream of the same name", b.group,
       b.stream);
  T_OK(claimed_are(q, "o", c_want, 1), "third stream");
  cw_logs_queue_release(q, 1);
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
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS + 2 * DAY_MS, &b), 1,
           "too old at send time: left out");
  T_EQ_INT(b.too_old, 2, "and counted in the batch");
  T_OK(claimed_are(q, "old", left, 1), "the young one claimed");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_size(q), 1, "released undone: still queued");
  T_EQ_INT(cw_logs_queue_dropped(q), 0, "not counted by the queue");
  cw_logs_queue_destroy(q);
}

static void test_bound(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(5);
  cw_logs_batch_t b;
  static const size_t kept[] = {6, 5, 4, 3, 2};
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
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 5, "bound: claim all");
  T_OK(claimed_are(q, "b", kept, 5), "bound: the first two arrivals went");
  cw_logs_queue_release(q, 1);

  /* Events being sent are not dropped to make room. */
  add_ok(q, GROUP, STREAM, T0_MS - 10, "c", 0);
  add_ok(q, GROUP, STREAM, T0_MS - 20, "c", 1);
  add_ok(q, GROUP, STREAM, T0_MS - 5, "c", 2);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 3, "claim 3");
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
    static const size_t s4[] = {4}, s5[] = {5};
    T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "next: GROUP2's");
    T_OK(claimed_are(q, "c", s4, 1), "c-4");
    cw_logs_queue_release(q, 1);
    T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "next: c-5");
    T_OK(claimed_are(q, "c", s5, 1), "c-5");
    cw_logs_queue_release(q, 1);
  }
  cw_logs_queue_destroy(q);

  /* All being sent: nothing to drop. */
  q = cw_logs_queue_create(2);
  add_ok(q, GROUP, STREAM, T0_MS, "f", 0);
  add_ok(q, GROUP, STREAM, T0_MS, "f", 1);
  cw_logs_queue_claim(q, T0_MS, &b);
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS), CW_LOGS_FULL,
           "full of events being sent: FULL");
  T_EQ_INT(cw_logs_queue_dropped(q), 1, "and counted");
  cw_logs_queue_release(q, 0);
  T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS),
           CW_LOGS_ADDED_DROPPED_OLDEST, "after release: drops the oldest");
  cw_logs_queue_destroy(q);

  /* The byte bound. */
  q = cw_logs_queue_create(100);
  cw_logs_queue_set_max_bytes(q, 1);
  {
    char *big = text_of(CW_LOGS_MAX_MESSAGE, 'q');
    T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, big, T0_MS),
             CW_LOGS_ADDED, "bytes: one largest event fits the floor");
    T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM, T0_MS, "x", T0_MS),
             CW_LOGS_ADDED_DROPPED_OLDEST, "bytes: the next drops it");
    T_EQ_INT(cw_logs_queue_size(q), 1, "bytes: 1 held");
    free(big);
  }
  cw_logs_queue_destroy(q);
}

/* A claim released undone goes back to its place in arrival order: the
 * next drops take it in turn. */
static void test_release_order(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(5);
  cw_logs_batch_t b;
  static const size_t a_claim[] = {0, 2, 4}, b_left[] = {3}, a_left[] = {4},
                      c_left[] = {5, 6, 7};

  add_ok(q, GROUP, STREAM, T0_MS, "r", 0);
  add_ok(q, GROUP2, STREAM2, T0_MS, "r", 1);
  add_ok(q, GROUP, STREAM, T0_MS, "r", 2);
  add_ok(q, GROUP2, STREAM2, T0_MS, "r", 3);
  add_ok(q, GROUP, STREAM, T0_MS, "r", 4);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 3, "release order: claim A");
  T_OK(claimed_are(q, "r", a_claim, 3), "release order: r-0, r-2, r-4");
  cw_logs_queue_release(q, 0);
  for (size_t i = 5; i < 8; i++) {
    char msg[32];
    snprintf(msg, sizeof(msg), "r-%05zu", i);
    T_EQ_INT(cw_logs_queue_add(q, GROUP, STREAM2, T0_MS, msg, T0_MS),
             CW_LOGS_ADDED_DROPPED_OLDEST, "release order: full, drop");
  }
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1,
           "release order: r-0, r-1, r-2 went; B's r-3 is oldest");
  T_OK(claimed_are(q, "r", b_left, 1), "release order: r-3");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 1, "release order: then A");
  T_OK(claimed_are(q, "r", a_left, 1), "release order: r-4");
  cw_logs_queue_release(q, 1);
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 3, "release order: then C");
  T_OK(claimed_are(q, "r", c_left, 3), "release order: r-5..r-7");
  /* Destroyed with a claim open: nothing leaks. */
  cw_logs_queue_destroy(q);
}

static void test_message_cut(void) {
  cw_logs_queue_t *q = cw_logs_queue_create(10);
  cw_logs_batch_t b;
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
  T_EQ_INT(cw_logs_queue_claim(q, T0_MS, &b), 4, "4 events");
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

/* ============================================================ requests */

typedef struct {
  char target[128];
  yajl_val root;
  const char *group, *stream;
  yajl_val events; /* array, or NULL */
} body_t;

/* Parses request i: its target (without the prefix) and JSON body. */
static int body_parse(srv_t *s, size_t i, body_t *b) {
  static const char *gp[] = {"logGroupName", NULL};
  static const char *sp[] = {"logStreamName", NULL};
  static const char *ep[] = {"logEvents", NULL};
  char t[128], err[256];
  const req_t *r;
  yajl_val v;

  memset(b, 0, sizeof(*b));
  pthread_mutex_lock(&s->mu);
  pthread_mutex_unlock(&s->mu);
  r = &s->reqs[i];
  if (r->head == NULL || r->body == NULL)
    return -1;
  if (hdr(r, "X-Amz-Target", t, sizeof(t)) != NULL &&
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
static void check_create(srv_t *s, size_t i, const char *group,
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
 * "<tag>-<idx[k]>" at timestamps ts0 + idx[k] (or any when ts is 0), in
 * that order. */
static void check_put(srv_t *s, size_t i, const char *group, const char *stream,
                      const char *tag, const size_t *idx, size_t n,
                      const char *what) {
  body_t b;
  int ok = body_parse(s, i, &b) == 0 && strcmp(b.target, "PutLogEvents") == 0 &&
           b.group != NULL && strcmp(b.group, group) == 0 && b.stream != NULL &&
           strcmp(b.stream, stream) == 0 && b.events != NULL &&
           b.root->u.object.len == 3 && body_num(&b) == n;
  char want[64];

  for (size_t k = 0; ok && k < n; k++) {
    snprintf(want, sizeof(want), "%s-%05zu", tag, idx[k]);
    ok = strcmp(body_msg(&b, k), want) == 0 &&
         b.events->u.array.values[k]->u.object.len == 2;
    if (!ok)
      T_NOTE("event %zu: %s, want %s", k, body_msg(&b, k), want);
  }
  T_OK(ok, "%s: request %zu is PutLogEvents %s:%s with %zu events in order",
       what, i, group, stream, n);
  body_free(&b);
}

/* ============================================================ fixture */

typedef struct fx_s {
  ctx_t c;
  srv_t srv;
  aws_creds_provider_t *creds;
  cw_logs_config_t cfg;
  cw_logs_t *l;
  cw_logs_queue_t *q;
  pthread_mutex_t lock;
  char url[64];
  char host[64];
} fx_t;

static int fx_init(fx_t *fx, const step_t *steps, size_t n, size_t max_events) {
  aws_creds_config_t cc;
  char err[256];

  memset(fx, 0, sizeof(*fx));
  fx->c.now = T0;
  fx->c.fx = fx;
  pthread_mutex_init(&fx->lock, NULL);
  fx->q = cw_logs_queue_create(max_events);
  if (srv_start(&fx->srv, steps, n, &fx->lock) != 0)
    return -1;
  snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d/", fx->srv.port);
  snprintf(fx->host, sizeof(fx->host), "127.0.0.1:%d", fx->srv.port);
  memset(&cc, 0, sizeof(cc));
  cc.getenv_fn = fake_getenv;
  cc.getenv_ud = &fx->c;
  cc.clock_fn = fake_now;
  cc.clock_ud = &fx->c;
  cc.timeout_ms = 200;
  fx->creds = aws_creds_provider_create(&cc);
  fx->cfg = (cw_logs_config_t){
      .url = fx->url,
      .region = REGION,
      .timeout_ms = 3000,
      .max_attempts = 5,
      .backoff_base_ms = 200,
      .backoff_cap_ms = 20000,
      .creds = fx->creds,
      .now = fake_now,
      .random01 = fake_random,
      .sleep_ms = fake_sleep,
      .log = fake_log,
      .ud = &fx->c,
  };
  if (fx->q == NULL || fx->creds == NULL)
    return -1;
  fx->l = cw_logs_create(&fx->cfg, err, sizeof(err));
  if (fx->l == NULL)
    T_NOTE("cw_logs_create: %s", err);
  return fx->l != NULL ? 0 : -1;
}

static int fx_drain(fx_t *fx) {
  return cw_logs_drain(fx->l, fx->q, &fx->lock, 0);
}

static size_t fx_qsize(fx_t *fx) {
  size_t n;
  pthread_mutex_lock(&fx->lock);
  n = cw_logs_queue_size(fx->q);
  pthread_mutex_unlock(&fx->lock);
  return n;
}

static cw_logs_stats_t fx_stats(fx_t *fx) {
  cw_logs_stats_t st;
  cw_logs_get_stats(fx->l, &st);
  return st;
}

static void fx_add(fx_t *fx, const char *g, const char *s, int64_t ts,
                   const char *tag, size_t i) {
  pthread_mutex_lock(&fx->lock);
  add_ok(fx->q, g, s, ts, tag, i);
  pthread_mutex_unlock(&fx->lock);
}

static void fx_done(fx_t *fx, const char *what) {
  char m[128];
  snprintf(m, sizeof(m), "%s: every scripted reply used", what);
  srv_stop(&fx->srv, m);
  cw_logs_destroy(fx->l);
  aws_creds_provider_destroy(fx->creds);
  cw_logs_queue_destroy(fx->q);
  pthread_mutex_destroy(&fx->lock);
}

static int same_body(fx_t *fx, size_t a, size_t b) {
  const req_t *x = &fx->srv.reqs[a], *y = &fx->srv.reqs[b];
  return x->body != NULL && y->body != NULL && x->body_len == y->body_len &&
         memcmp(x->body, y->body, x->body_len) == 0;
}

/* Request i: the line, headers and the signature (service "logs"),
 * recomputed over the bytes received. */
static void check_signed(fx_t *fx, size_t i, const char *key,
                         const char *secret, const char *token,
                         const char *what) {
  const req_t *r = &fx->srv.reqs[i];
  char v[4096], ct[128] = "", tg[128] = "", want[256], m[256];
  aws_sigv4_header_t sh[2];
  aws_sigv4_request_t req;
  aws_sigv4_credentials_t sc = {key, secret, token};
  aws_sigv4_result_t res;
  const char *auth;

  if (!T_OK(r->head != NULL, "%s: request %zu recorded", what, i))
    return;
#define MSG(text)                                                              \
  (snprintf(m, sizeof(m), "%s: request %zu: %s", what, i, text), m)
  T_OK(strncmp(r->head, "POST / HTTP/1.1\r\n", 17) == 0, "%s", MSG("POST /"));
  T_EQ_STR(hdr(r, "Content-Type", ct, sizeof(ct)), CTYPE, MSG("Content-Type"));
  T_OK(hdr(r, "X-Amz-Target", tg, sizeof(tg)) != NULL &&
           strncmp(tg, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0,
       "%s", MSG("X-Amz-Target Logs_20140328.*"));
  T_EQ_STR(hdr(r, "X-Amz-Date", v, sizeof(v)), AMZ_DATE, MSG("X-Amz-Date"));
  if (token != NULL)
    T_EQ_STR(hdr(r, "X-Amz-Security-Token", v, sizeof(v)), token,
             MSG("X-Amz-Security-Token"));
  snprintf(want, sizeof(want),
           "AWS4-HMAC-SHA256 Credential=%s/" CRED_DATE "/" REGION
           "/logs/aws4_request, ",
           key);
  auth = hdr(r, "Authorization", v, sizeof(v));
  if (!T_OK(auth != NULL && strncmp(auth, want, strlen(want)) == 0, "%s",
            MSG("Authorization for service logs")))
    T_NOTE("Authorization: %s", auth ? auth : "(none)");
  T_OK(r->lock_free, "%s", MSG("sent with the queue unlocked"));
  sh[0] = (aws_sigv4_header_t){"Content-Type", ct};
  sh[1] = (aws_sigv4_header_t){"X-Amz-Target", tg};
  req = (aws_sigv4_request_t){.method = "POST",
                              .host = fx->host,
                              .path = "/",
                              .headers = sh,
                              .header_count = 2,
                              .payload = r->body,
                              .payload_len = r->body_len,
                              .region = REGION,
                              .service = "logs",
                              .now = T0};
  if (T_OK(aws_sigv4_sign(&req, &sc, &res) == 0, "%s", MSG("re-sign")))
    T_EQ_STR(auth, aws_sigv4_result_header(&res, "Authorization"),
             MSG("signature over the bytes received"));
#undef MSG
  aws_sigv4_result_free(&res);
}

#define OK_CREATE                                                              \
  { 200, "", NULL }
#define OK_PUT                                                                 \
  { 200, "{\"nextSequenceToken\":\"4963\"}", NULL }
#define EXISTS                                                                 \
  {                                                                            \
    400,                                                                       \
        "{\"__type\":\"ResourceAlreadyExistsException\",\"message\":\"The "    \
        "specified log group already exists\"}",                               \
        NULL                                                                   \
  }
#define NOT_FOUND                                                              \
  {                                                                            \
    400,                                                                       \
        "{\"__type\":\"ResourceNotFoundException\",\"message\":\"The "         \
        "specified "                                                           \
        "log stream does not exist.\"}",                                       \
        NULL                                                                   \
  }
#define THROTTLED                                                              \
  {                                                                            \
    400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", \
        NULL                                                                   \
  }

/* ============================================================== cases */

static void test_first_send(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT, OK_PUT};
  static const size_t first[] = {1, 2, 0}, second[] = {3, 4};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 4, 100) == 0, "first send: fixture"))
    return;
  T_EQ_INT(fx_drain(&fx), 0, "empty queue: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 0, "empty queue: no request");
  fx_add(&fx, GROUP, STREAM, T0_MS - 1000, "e", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS - 3000, "e", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS - 2000, "e", 2);
  T_EQ_INT(fx_drain(&fx), 0, "first send: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 3, "first send: 3 requests");
  check_create(&fx.srv, 0, GROUP, NULL, "first send");
  check_create(&fx.srv, 1, GROUP, STREAM, "first send");
  check_put(&fx.srv, 2, GROUP, STREAM, "e", first, 3, "first send");
  {
    body_t b;
    if (body_parse(&fx.srv, 2, &b) == 0 && body_num(&b) == 3)
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
  T_EQ_INT(fx_drain(&fx), 0, "next drain: returns 0");
  T_EQ_INT(srv_count(&fx.srv), 4, "next drain: PutLogEvents only");
  check_put(&fx.srv, 3, GROUP, STREAM, "e", second, 2, "next drain");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 4, "stats: 4 requests");
  T_EQ_INT(st.requests_failed, 0, "stats: none failed");
  T_EQ_INT(st.groups_created, 1, "stats: 1 group created");
  T_EQ_INT(st.streams_created, 1, "stats: 1 stream created");
  T_EQ_INT(st.events_sent, 5, "stats: 5 events sent");
  T_EQ_INT(st.events_dropped, 0, "stats: none dropped");
  T_EQ_INT(fx.c.err_logs + fx.c.warn_logs, 0, "no warning or error logged");
  fx_done(&fx, "first send");
}

static void test_already_exists(void) {
  static const step_t steps[] = {EXISTS, EXISTS, OK_PUT, OK_CREATE, OK_PUT};
  static const size_t one[] = {0}, two[] = {1};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 5, 100) == 0, "already exists: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "x", 0);
  T_EQ_INT(fx_drain(&fx), 0, "already exists: drain returns 0");
  check_create(&fx.srv, 0, GROUP, NULL, "already exists");
  check_create(&fx.srv, 1, GROUP, STREAM, "already exists");
  check_put(&fx.srv, 2, GROUP, STREAM, "x", one, 1, "already exists");
  /* A second stream of the same group: its stream only. */
  fx_add(&fx, GROUP, STREAM2, T0_MS, "x", 1);
  T_EQ_INT(fx_drain(&fx), 0, "second stream: drain returns 0");
  check_create(&fx.srv, 3, GROUP, STREAM2, "second stream, group known");
  check_put(&fx.srv, 4, GROUP, STREAM2, "x", two, 1, "second stream");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests_failed, 0, "stats: \"already exists\" is no failure");
  T_EQ_INT(st.groups_created, 0, "stats: no group created");
  T_EQ_INT(st.streams_created, 1, "stats: 1 stream created");
  T_EQ_INT(st.events_sent, 2, "stats: 2 sent");
  T_EQ_INT(fx.c.err_logs + fx.c.warn_logs, 0, "nothing logged as a problem");
  fx_done(&fx, "already exists");
}

static void test_not_found(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT, NOT_FOUND,
                                 EXISTS,    OK_CREATE, OK_PUT};
  static const size_t one[] = {0}, two[] = {1, 2};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 7, 100) == 0, "not found: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 0);
  T_EQ_INT(fx_drain(&fx), 0, "not found: first drain");
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 2);
  T_EQ_INT(fx_drain(&fx), 0, "not found: second drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 7, "not found: 7 requests");
  check_put(&fx.srv, 2, GROUP, STREAM, "n", one, 1, "not found");
  check_put(&fx.srv, 3, GROUP, STREAM, "n", two, 2, "not found: refused");
  check_create(&fx.srv, 4, GROUP, NULL, "not found: group again");
  check_create(&fx.srv, 5, GROUP, STREAM, "not found: stream again");
  check_put(&fx.srv, 6, GROUP, STREAM, "n", two, 2, "not found: retried");
  T_OK(same_body(&fx, 3, 6), "not found: the same body again");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_sent, 3, "stats: events sent once");
  T_EQ_INT(st.events_dropped, 0, "stats: none dropped");
  T_EQ_INT(st.streams_created, 2, "stats: stream created twice");
  T_EQ_INT(fx_qsize(&fx), 0, "not found: queue empty");
  fx_done(&fx, "not found");
}

static void test_not_found_twice(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, NOT_FOUND,
                                 OK_CREATE, OK_CREATE, NOT_FOUND};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 6, 100) == 0, "not found twice: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "n", 1);
  T_EQ_INT(fx_drain(&fx), 0, "not found twice: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 6, "not found twice: one re-creation only");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_dropped, 2, "stats: 2 dropped");
  T_EQ_INT(st.events_sent, 0, "stats: none sent");
  T_EQ_INT(fx.c.err_logs, 1, "one error logged");
  T_EQ_INT(fx_qsize(&fx), 0, "not found twice: queue empty");
  fx_done(&fx, "not found twice");
}

static void test_throttling(void) {
  static const step_t steps[] = {OK_CREATE, THROTTLED, OK_CREATE, THROTTLED,
                                 OK_PUT};
  static const size_t all[] = {0, 1, 2};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 5, 100) == 0, "throttling: fixture"))
    return;
  for (size_t i = 0; i < 3; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "t", i);
  T_EQ_INT(fx_drain(&fx), 0, "throttling: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 5, "throttling: 5 requests");
  check_create(&fx.srv, 1, GROUP, STREAM, "throttled CreateLogStream");
  check_create(&fx.srv, 2, GROUP, STREAM, "CreateLogStream again");
  check_put(&fx.srv, 3, GROUP, STREAM, "t", all, 3, "throttling");
  check_put(&fx.srv, 4, GROUP, STREAM, "t", all, 3, "throttling: again");
  T_OK(same_body(&fx, 3, 4), "throttling: the same body again");
  T_EQ_INT(fx.c.nsleeps, 2, "throttling: two backoff sleeps");
  T_EQ_INT(fx.c.sleeps[0], 100, "first delay: 0.5 of 200");
  T_EQ_INT(fx.c.sleeps[1], 200, "second delay: 0.5 of 400 (attempts shared)");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_sent, 3, "stats: events sent once");
  T_EQ_INT(st.retries, 2, "stats: 2 retries");
  T_EQ_INT(st.requests_failed, 2, "stats: 2 failed");
  T_EQ_INT(fx_qsize(&fx), 0, "throttling: queue empty");
  fx_done(&fx, "throttling");
}

static void test_permanent(void) {
  static const step_t steps[] = {
      OK_CREATE,
      OK_CREATE,
      {400,
       "{\"__type\":\"InvalidParameterException\",\"message\":\"Log events "
       "in a single PutLogEvents request must be in chronological order.\"}",
       NULL},
      OK_CREATE,
      OK_CREATE,
      OK_PUT};
  static const size_t refused[] = {0, 1}, next[] = {2};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 6, 100) == 0, "permanent: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "p", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "p", 1);
  fx_add(&fx, GROUP2, STREAM2, T0_MS, "p", 2);
  T_EQ_INT(fx_drain(&fx), 0, "permanent: drain goes on (returns 0)");
  T_EQ_INT(srv_count(&fx.srv), 6, "permanent: no retry of the refused batch");
  check_put(&fx.srv, 2, GROUP, STREAM, "p", refused, 2, "permanent");
  check_put(&fx.srv, 5, GROUP2, STREAM2, "p", next, 1,
            "permanent: the next stream still sent");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_dropped, 2, "stats: 2 dropped");
  T_EQ_INT(st.events_sent, 1, "stats: 1 sent");
  T_EQ_INT(st.retries, 0, "stats: no retry");
  T_EQ_INT(fx.c.nsleeps, 0, "permanent: no sleep");
  T_EQ_INT(fx.c.err_logs, 1, "one error logged");
  if (!T_OK(strstr(fx.c.log, "must be in chronological order") != NULL &&
                strstr(fx.c.log, "InvalidParameterException") != NULL,
            "the log has the service's error type and message"))
    T_NOTE("log: %s", fx.c.log);
  T_EQ_INT(fx_qsize(&fx), 0, "permanent: queue empty");
  fx_done(&fx, "permanent");
}

static void test_rejected(void) {
  static const step_t steps[] = {
      OK_CREATE,
      OK_CREATE,
      {200,
       "{\"nextSequenceToken\":\"1\",\"rejectedLogEventsInfo\":{"
       "\"tooOldLogEventEndIndex\":2,\"tooNewLogEventStartIndex\":5}}",
       NULL},
      {200, "{\"rejectedLogEventsInfo\":{\"expiredLogEventEndIndex\":1}}",
       NULL},
      OK_PUT};
  fx_t fx;
  cw_logs_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 5, 100) == 0, "rejected: fixture"))
    return;
  for (size_t i = 0; i < 6; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "r", i);
  T_EQ_INT(fx_drain(&fx), 0, "rejected: drain returns 0");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_dropped, 3, "too old [0,2) and too new [5,6): 3 dropped");
  T_EQ_INT(st.events_sent, 3, "3 accepted");
  T_EQ_INT(fx.c.warn_logs, 1, "one warning");
  if (!T_OK(strstr(fx.c.log, "refused 3 of 6") != NULL,
            "the warning counts them"))
    T_NOTE("log: %s", fx.c.log);
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 6);
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 7);
  T_EQ_INT(fx_drain(&fx), 0, "expired: drain returns 0");
  st = fx_stats(&fx);
  T_EQ_INT(st.events_dropped, 4, "expired [0,1): 1 more dropped");
  T_EQ_INT(st.events_sent, 4, "1 more accepted");
  T_EQ_INT(fx.c.warn_logs, 1, "not logged again");
  fx_add(&fx, GROUP, STREAM, T0_MS, "r", 8);
  T_EQ_INT(fx_drain(&fx), 0, "all accepted: drain returns 0");
  T_EQ_INT(fx_stats(&fx).events_sent, 5, "5 accepted in all");
  T_OK(strstr(fx.c.log, "accepts every event again") != NULL,
       "a line when all are accepted again");
  fx_done(&fx, "rejected");
}

static void test_expired_token(void) {
  static const step_t steps[] = {
      {400,
       "{\"__type\":\"ExpiredTokenException\",\"message\":\"The security "
       "token included in the request is expired\"}",
       NULL},
      OK_CREATE,
      OK_CREATE,
      OK_PUT};
  static const size_t all[] = {0};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 4, 100) == 0, "expired token: fixture"))
    return;
  fx.c.rotate = 1;
  fx.c.with_token = 1;
  fx_add(&fx, GROUP, STREAM, T0_MS, "k", 0);
  T_EQ_INT(fx_drain(&fx), 0, "expired token: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 4, "expired token: 4 requests");
  check_signed(&fx, 0, K1, S1, TOK1, "expired token: first");
  check_signed(&fx, 1, K2, S2, TOK2, "expired token: fresh keys");
  check_signed(&fx, 3, K2, S2, TOK2, "expired token: Put with fresh keys");
  T_OK(same_body(&fx, 0, 1), "expired token: the same body again");
  check_put(&fx.srv, 3, GROUP, STREAM, "k", all, 1, "expired token");
  T_EQ_INT(fx.c.id_reads, 2, "the environment was read again once");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep before the retry with fresh keys");
  T_EQ_INT(fx_stats(&fx).events_sent, 1, "stats: sent");
  fx_done(&fx, "expired token");
}

static void test_persistent(void) {
  static const step_t steps[] = {OK_CREATE,       OK_CREATE,
                                 {503, "", NULL}, {503, "", NULL},
                                 {503, "", NULL}, OK_PUT};
  static const size_t all[] = {0, 1};
  fx_t fx;
  char err[1024];

  if (!T_OK(fx_init(&fx, steps, 6, 100) == 0, "persistent: fixture"))
    return;
  fx.cfg.max_attempts = 3;
  cw_logs_destroy(fx.l);
  fx.l = cw_logs_create(&fx.cfg, err, sizeof(err));
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 1);
  T_EQ_INT(fx_drain(&fx), -1, "always 503: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 5, "always 503: 3 attempts");
  T_EQ_INT(fx_qsize(&fx), 2, "always 503: events kept");
  cw_logs_last_error(fx.l, err, sizeof(err));
  if (!T_OK(strstr(err, "503") != NULL && strstr(err, "PutLogEvents") != NULL,
            "last error names PutLogEvents and HTTP 503"))
    T_NOTE("last error: %s", err);
  T_EQ_INT(fx_drain(&fx), 0, "server back: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 6, "server back: just the Put");
  check_put(&fx.srv, 5, GROUP, STREAM, "s", all, 2, "server back");
  T_EQ_INT(fx_stats(&fx).events_sent, 2, "stats: 2 sent");
  T_EQ_INT(fx_stats(&fx).events_dropped, 0, "stats: none dropped");
  fx_done(&fx, "persistent failure");
}

static void test_stop(void) {
  static const step_t steps[] = {{503, "", NULL}};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 1, 100) == 0, "stop: fixture"))
    return;
  fx.c.stop = 1;
  fx_add(&fx, GROUP, STREAM, T0_MS, "s", 0);
  T_EQ_INT(fx_drain(&fx), -1, "stop: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 1, "stop: nothing after the first failure");
  T_EQ_INT(fx_qsize(&fx), 1, "stop: event kept");
  T_EQ_INT(fx_stats(&fx).retries, 0, "stop: no retry counted");
  fx_done(&fx, "stop");
}

static void test_deadline(void) {
  fx_t fx;
  char err[256];

  if (!T_OK(fx_init(&fx, NULL, 0, 100) == 0, "deadline: fixture"))
    return;
  T_EQ_INT(cw_logs_drain(fx.l, fx.q, &fx.lock, T0 - 10), 0,
           "past deadline, empty queue: 0");
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 0);
  T_EQ_INT(cw_logs_drain(fx.l, fx.q, &fx.lock, T0), -1,
           "at the deadline: -1, no request started");
  T_EQ_INT(srv_count(&fx.srv), 0, "deadline: no request");
  T_EQ_INT(fx_qsize(&fx), 1, "deadline: event kept");
  cw_logs_last_error(fx.l, err, sizeof(err));
  T_OK(strstr(err, "deadline") != NULL, "last error: %s", err);
  fx_done(&fx, "deadline");
}

/* Events arrive while a batch is in flight (during the backoff sleep, as
 * collectd's threads would): the batch is sent unchanged, the queue bound
 * drops only what is not being sent, and the newcomers go next. */
static void add_in_flight(fx_t *fx, size_t nth) {
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
  static const step_t steps[] = {
      OK_CREATE, OK_CREATE, {503, "", NULL}, OK_PUT, OK_PUT};
  static const size_t batch[] = {0, 1, 2}, next[] = {4, 5};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 5, 5) == 0, "in flight: fixture"))
    return;
  fx.c.on_sleep = add_in_flight;
  for (size_t i = 0; i < 3; i++)
    fx_add(&fx, GROUP, STREAM, T0_MS + (int64_t)i, "f", i);
  T_EQ_INT(fx_drain(&fx), 0, "in flight: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 5, "in flight: 5 requests");
  check_put(&fx.srv, 2, GROUP, STREAM, "f", batch, 3, "in flight: first try");
  T_OK(same_body(&fx, 2, 3), "in flight: the retry is the same batch");
  check_put(&fx.srv, 4, GROUP, STREAM, "f", next, 2,
            "in flight: newcomers next, f-3 dropped for room");
  pthread_mutex_lock(&fx.lock);
  T_EQ_INT(cw_logs_queue_dropped(fx.q), 1, "in flight: 1 dropped for room");
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_stats(&fx).events_sent, 5, "in flight: 5 sent");
  fx_done(&fx, "in flight");
}

static void test_streams(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT,
                                 OK_CREATE, OK_CREATE, OK_PUT};
  static const size_t a[] = {1, 0, 3}, b[] = {2, 4};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 6, 100) == 0, "streams: fixture"))
    return;
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 2, "m", 0);
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 1, "m", 1);
  fx_add(&fx, GROUP, STREAM, T0_MS + 0, "m", 2);
  fx_add(&fx, GROUP2, STREAM2, T0_MS + 3, "m", 3);
  fx_add(&fx, GROUP, STREAM, T0_MS + 4, "m", 4);
  T_EQ_INT(fx_drain(&fx), 0, "streams: drain returns 0");
  check_create(&fx.srv, 0, GROUP2, NULL, "streams");
  check_create(&fx.srv, 1, GROUP2, STREAM2, "streams");
  check_put(&fx.srv, 2, GROUP2, STREAM2, "m", a, 3, "streams: oldest first");
  check_create(&fx.srv, 3, GROUP, NULL, "streams");
  check_create(&fx.srv, 4, GROUP, STREAM, "streams");
  check_put(&fx.srv, 5, GROUP, STREAM, "m", b, 2, "streams: then the other");
  fx_done(&fx, "streams");
}

static void test_big_batches(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT, OK_PUT};
  fx_t fx;
  body_t b1, b2;
  size_t n = CW_LOGS_MAX_EVENTS + 1;

  if (!T_OK(fx_init(&fx, steps, 4, 20000) == 0, "10,001: fixture"))
    return;
  pthread_mutex_lock(&fx.lock);
  for (size_t i = 0; i < n; i++) /* newest first: the send reverses them */
    add_ok(fx.q, GROUP, STREAM, T0_MS - (int64_t)i, "big", i);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_drain(&fx), 0, "10,001: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 4, "10,001: two PutLogEvents");
  if (body_parse(&fx.srv, 2, &b1) == 0 && body_parse(&fx.srv, 3, &b2) == 0) {
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
  T_EQ_INT(fx_stats(&fx).events_sent, n, "10,001 sent");
  fx_done(&fx, "10,001 events");
}

static void test_utf8_on_the_wire(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  fx_t fx;
  body_t b;

  if (!T_OK(fx_init(&fx, steps, 3, 100) == 0, "wire: fixture"))
    return;
  pthread_mutex_lock(&fx.lock);
  cw_logs_queue_add(fx.q, GROUP, STREAM, T0_MS,
                    "error: \"bad\xFFinput\"\n\tat \xF0\x9F\x98\x80", T0_MS);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_drain(&fx), 0, "wire: drain returns 0");
  if (T_OK(body_parse(&fx.srv, 2, &b) == 0 && body_num(&b) == 1,
           "wire: body parses"))
    T_EQ_STR(body_msg(&b, 0),
             "error: \"bad" FFFD "input\"\n\tat \xF0\x9F\x98\x80",
             "wire: quotes and controls escaped, invalid byte replaced");
  body_free(&b);
  fx_done(&fx, "wire");
}

/* A refused CreateLogGroup (a role allowed to put, not to create) does not
 * stop PutLogEvents. */
static void test_create_denied(void) {
  static const step_t steps[] = {
      {400,
       "{\"__type\":\"AccessDeniedException\",\"message\":\"User is not "
       "authorized to perform: logs:CreateLogGroup\"}",
       NULL},
      OK_CREATE,
      OK_PUT,
      OK_PUT};
  static const size_t one[] = {0}, two[] = {1};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 4, 100) == 0, "create denied: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 0);
  T_EQ_INT(fx_drain(&fx), 0, "create denied: drain returns 0");
  check_put(&fx.srv, 2, GROUP, STREAM, "d", one, 1, "create denied");
  T_EQ_INT(fx.c.warn_logs, 1, "create denied: one warning");
  T_OK(strstr(fx.c.log, "logs:CreateLogGroup") != NULL,
       "create denied: the service's message logged");
  fx_add(&fx, GROUP, STREAM, T0_MS, "d", 1);
  T_EQ_INT(fx_drain(&fx), 0, "create denied: next drain");
  check_put(&fx.srv, 3, GROUP, STREAM, "d", two, 1,
            "create denied: not asked again");
  fx_done(&fx, "create denied");
}

static void test_too_old_at_send(void) {
  static const step_t steps[] = {OK_CREATE, OK_CREATE, OK_PUT};
  static const size_t young[] = {1};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 3, 100) == 0, "too old at send: fixture"))
    return;
  fx_add(&fx, GROUP, STREAM, T0_MS - 13 * DAY_MS, "o", 0);
  fx_add(&fx, GROUP, STREAM, T0_MS - 1000, "o", 1);
  fx.c.now = T0 + 2 * 24 * 3600; /* two days without a drain */
  T_EQ_INT(fx_drain(&fx), 0, "too old at send: drain returns 0");
  check_put(&fx.srv, 2, GROUP, STREAM, "o", young, 1,
            "too old at send: left out");
  T_EQ_INT(fx_stats(&fx).events_dropped, 1, "too old at send: counted");
  T_EQ_INT(fx_stats(&fx).events_sent, 1, "too old at send: 1 sent");
  fx_done(&fx, "too old at send");
}

static void test_create_args(void) {
  cw_logs_config_t cfg = {.url = "ftp://example.com/",
                          .region = REGION,
                          .now = fake_now,
                          .random01 = fake_random,
                          .sleep_ms = fake_sleep};
  aws_creds_config_t cc = {.getenv_fn = fake_getenv, .clock_fn = fake_now};
  ctx_t c;
  char err[256];
  cw_logs_t *l;

  memset(&c, 0, sizeof(c));
  cc.getenv_ud = &c;
  cc.clock_ud = &c;
  cfg.creds = aws_creds_provider_create(&cc);
  l = cw_logs_create(&cfg, err, sizeof(err));
  T_OK(l == NULL && err[0] != 0, "ftp endpoint refused: %s", err);
  cfg.url = "http://127.0.0.1:1/";
  cfg.sleep_ms = NULL;
  l = cw_logs_create(&cfg, err, sizeof(err));
  T_OK(l == NULL && err[0] != 0, "no sleep function refused: %s", err);
  cfg.sleep_ms = fake_sleep;
  l = cw_logs_create(&cfg, err, sizeof(err));
  T_OK(l != NULL, "complete configuration accepted");
  cw_logs_destroy(l);
  aws_creds_provider_destroy(cfg.creds);
}

int main(void) {
  long t0 = now_ms();

  signal(SIGPIPE, SIG_IGN);
  /* The fake server is on 127.0.0.1: never through a proxy. */
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
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
  curl_global_cleanup();
  T_NOTE("%ld ms", now_ms() - t0);
  return t_done();
}
