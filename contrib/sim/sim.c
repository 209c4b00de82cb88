/* SPDX-License-Identifier: MIT */
/*
 * sagemaker-runtime-sim: a stand-in for the Amazon SageMaker async-inference
 * runtime's stats API, version 1 (shared/reference/runtime-api.md is the
 * contract).
 *
 * It serves GET /v1/snapshot and GET /v1/requests over HTTP/1.1 on a Unix
 * stream socket, generates a seeded synthetic workload that follows the wall
 * clock, and writes a JSON-lines ledger of everything it generated and served
 * so that tests can hold a client's output against ground truth. It is also
 * the benchmark load, so the hot path (generate, format, page) allocates
 * nothing per record.
 *
 * One process, one thread, non-blocking sockets driven by ppoll(2); libc,
 * libm and the project's byte buffer (plugin/common/sm_buf.c).
 *
 * Determinism: record contents (values, outcomes, inference IDs) come from a
 * PRNG stream of their own and a queue model that runs in virtual time (one
 * step per generated record), so the same seed and options give the same
 * records in the same order however the wall clock and the clients behave.
 * Boot IDs and response framing use separate streams for the same reason.
 *
 * Build (make does): gcc -std=gnu11 -O2 -Wall -Wextra -Werror \
 *   -I../plugin/common -o sagemaker-runtime-sim sagemaker-runtime-sim.c \
 *   ../plugin/common/sm_buf.c -lm
 */

#define _GNU_SOURCE

#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- Limits ------------------------------------------------------------ */

#define SIM_PROTOCOL "1"       /* runtime-api.md: version 1 */
#define SIM_LIMIT_DEFAULT 1000 /* runtime-api.md: default page size */
#define SIM_LIMIT_MAX 10000    /* runtime-api.md: N from 1 to 10000 */
#define SIM_HEADER_MAX 8192    /* request line + headers, CRLFCRLF included */
#define SIM_CONN_MAX 64        /* more clients wait in the listen backlog */
#define SIM_LISTEN_BACKLOG 128
/* Pipelined requests are not answered while this much is still unsent, so a
 * client that never reads cannot make us buffer without bound. */
#define SIM_OUT_HIGH_WATER ((size_t)256 * 1024)
#define SIM_OUT_MAX ((size_t)256 * 1024 * 1024)
#define SIM_OUT_KEEP ((size_t)1024 * 1024) /* free drained buffers above */
#define SIM_BODY_MAX ((size_t)64 * 1024 * 1024)
#define SIM_LEDGER_WRITE_AT ((size_t)1024 * 1024) /* write(2) in big pieces */
#define SIM_LEDGER_BUF_MAX ((size_t)16 * 1024 * 1024)
/* The ledger reaches the file at least this often. */
#define SIM_LEDGER_FLUSH_US 100000
#define SIM_POLL_BUSY_MS 10 /* while generating: completions spread in time */
#define SIM_POLL_IDLE_MS 100
#define SIM_IDLE_TIMEOUT_US ((uint64_t)300 * 1000000)
#define SIM_LINGER_US ((uint64_t)1000000) /* draining a closing client */
#define SIM_CHUNK_MAX 4096                /* largest chunk in chunked framing */
#define SIM_CATCHUP_MAX_S 1.0             /* most records owed after a stall */
#define SIM_TURN_MAX_S 0.05 /* most records generated in one loop turn */

/* ---- Small helpers ----------------------------------------------------- */

/* Process-wide by nature: signal handlers can reach nothing else. */
static volatile sig_atomic_t sig_stop;
static volatile sig_atomic_t sig_restart;

void sim_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(SIM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Simulator state --------------------------------------------------- */

struct ring {
  struct sim_record *recs;
  uint64_t cap;
  uint64_t head; /* slot of first_seq */
  uint64_t count;
  /* The oldest seq held; next_seq while the ring is empty, which reads as
   * "nothing held": a client at after = next_seq - 1 has lost nothing, and
   * first_seq - 1 never exceeds what was handed out. */
  uint64_t first_seq;
  uint64_t next_seq;
};

struct conn {
  int fd;
  size_t in_len;
  sm_buf_t out;
  size_t out_off;   /* sent part of out */
  bool http10;      /* no chunked framing for HTTP/1.0 clients */
  bool close_after; /* answer nothing more; close once out is sent */
  bool peer_eof;
  uint64_t linger_until_us; /* nonzero: all sent, draining input to close */
  bool broken;              /* close now, unsent data lost */
  uint64_t last_active_us;
  char in[SIM_HEADER_MAX];
};

struct queue_view {
  uint64_t backlog_size;
  uint64_t oldest_age_ms;
  uint64_t in_flight;
};

struct sim {
  const struct sim_opts *o;
  struct sim_rng rec_rng;
  struct sim_rng boot_rng;
  struct sim_rng frame_rng;
  char boot_id[SIM_UUID_LEN + 1];
  bool booted;
  uint64_t boot_us;
  struct ring ring;

  /* Pacing: records due = floor(rate * active time) - forgiven. */
  uint64_t last_turn_us;
  uint64_t active_us; /* generating time: start delays excluded */
  uint64_t gen_count;
  uint64_t forgiven; /* skipped after stalls longer than the catch-up cap */
  bool gen_stopped;

  /* Queue model: the endpoint's waiting requests, in virtual time. */
  double queue;
  double burst_left_s;
  double burst_level;
  uint64_t stop_us;
  double stop_backlog;
  double drain_rate;

  bool evict_pending;
  uint64_t evict_from;
  uint64_t evict_to;

  int ledger_fd; /* -1: no ledger */
  uint64_t ledger_flush_us;
  sm_buf_t ledger_buf; /* whole lines not yet written */

  int listen_fd;
  bool sock_owned;
  dev_t sock_dev;
  ino_t sock_ino;
  bool pid_written;
  struct conn *conns[SIM_CONN_MAX];
  size_t nconns;
  sm_buf_t body;

  bool fatal;
  uint64_t n_pages;
  uint64_t n_snapshots;
  uint64_t n_errors;
};

static void sim_log(const struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sim_log(const struct sim *s, const char *fmt, ...) {
  va_list ap;
  if (s->o->quiet)
    return;
  va_start(ap, fmt);
  fputs(SIM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static bool in_start_delay(const struct sim *s, uint64_t now_us) {
  return now_us - s->boot_us < s->o->start_delay_ms * 1000;
}

/* ---- Ledger ------------------------------------------------------------ */

/* Lines collect in s->ledger_buf and reach the file whole, so a reader
 * tailing the ledger while the simulator runs never sees half a line. The
 * write blocks on purpose: the ledger is ground truth and may not skip. */
static void ledger_write(struct sim *s) {
  sm_buf_t *l = &s->ledger_buf;
  size_t off = 0;

  while (off < l->len) {
    ssize_t n = write(s->ledger_fd, l->p + off, l->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      sim_err("ledger: write failed: %s", strerror(errno));
      s->fatal = true;
      break;
    }
    off += (size_t)n;
  }
  sm_buf_reset(l);
}

/* Returns false when there is no ledger to write. */
static bool ledger_begin(struct sim *s, const char *event, bool with_boot) {
  if (s->ledger_fd < 0)
    return false;
  SIM_TEXT_LIT(&s->ledger_buf, "{\"event\":\"");
  sm_buf_adds(&s->ledger_buf, event);
  sm_buf_addc(&s->ledger_buf, '"');
  if (with_boot) {
    SIM_TEXT_LIT(&s->ledger_buf, ",\"boot_id\":\"");
    sm_buf_adds(&s->ledger_buf, s->boot_id);
    sm_buf_addc(&s->ledger_buf, '"');
  }
  return true;
}

static void ledger_end(struct sim *s) {
  sm_buf_t *l = &s->ledger_buf;
  SIM_TEXT_LIT(l, "}\n");
  if (!sm_buf_ok(l)) {
    sim_err("ledger: buffer over %zu bytes", l->max);
    s->fatal = true;
    sm_buf_reset(l);
  } else if (l->len >= SIM_LEDGER_WRITE_AT) {
    ledger_write(s);
  }
}

static void ledger_flush(struct sim *s, uint64_t now_us) {
  s->ledger_flush_us = now_us;
  if (s->ledger_fd >= 0 && s->ledger_buf.len > 0)
    ledger_write(s);
}

static void ledger_kv(struct sim *s, const char *key, uint64_t v) {
  sm_buf_addc(&s->ledger_buf, ',');
  sim_text_jstr(&s->ledger_buf, key);
  sm_buf_addc(&s->ledger_buf, ':');
  sim_text_u64(&s->ledger_buf, v);
}

static void ledger_boot(struct sim *s) {
  if (!ledger_begin(s, "boot", true))
    return;
  SIM_TEXT_LIT(&s->ledger_buf, ",\"time_ms\":");
  sim_text_i64(&s->ledger_buf, wall_ms());
  ledger_kv(s, "seed", s->o->seed);
  ledger_end(s);
}

static void ledger_request(struct sim *s, const struct sim_record *r) {
  if (!ledger_begin(s, "request", true))
    return;
  sm_buf_addc(&s->ledger_buf, ',');
  sim_record_put(&s->ledger_buf, r);
  ledger_end(s);
}

/* Records leave the ring one by one; the ledger gets one line per range. */
static void evict_note(struct sim *s, uint64_t from, uint64_t to) {
  if (!s->evict_pending) {
    s->evict_pending = true;
    s->evict_from = from;
  }
  s->evict_to = to;
}

static void evict_flush(struct sim *s) {
  if (!s->evict_pending)
    return;
  s->evict_pending = false;
  if (!ledger_begin(s, "evict", true))
    return;
  ledger_kv(s, "from", s->evict_from);
  ledger_kv(s, "to", s->evict_to);
  ledger_end(s);
}

/* A served body's members after the event name: the ledger holds exactly
 * the bytes that went out. */
static void ledger_served(struct sim *s, const char *event) {
  if (!ledger_begin(s, event, false))
    return;
  sm_buf_addc(&s->ledger_buf, ',');
  /* The body is an object: drop its braces, keep its members. */
  sm_buf_add(&s->ledger_buf, s->body.p + 1, s->body.len - 2);
  ledger_end(s);
}

static void ledger_page(struct sim *s, uint64_t after, uint64_t limit,
                        uint64_t from, uint64_t to, uint64_t count) {
  if (!ledger_begin(s, "page", true))
    return;
  ledger_kv(s, "after", after);
  ledger_kv(s, "limit", limit);
  ledger_kv(s, "first_seq", s->ring.first_seq);
  ledger_kv(s, "next_seq", s->ring.next_seq);
  ledger_kv(s, "from", from);
  ledger_kv(s, "to", to);
  ledger_kv(s, "count", count);
  ledger_end(s);
}

/* ---- Ring -------------------------------------------------------------- */

static struct sim_record *ring_push(struct sim *s) {
  struct ring *r = &s->ring;
  struct sim_record *rec;

  if (r->count == r->cap) {
    evict_note(s, r->first_seq, r->first_seq);
    r->head = (r->head + 1) % r->cap;
    r->count--;
    r->first_seq++;
  }
  rec = &r->recs[(r->head + r->count) % r->cap];
  memset(rec, 0, sizeof(*rec));
  rec->seq = r->next_seq++;
  r->count++;
  return rec;
}

static const struct sim_record *ring_at(const struct ring *r, uint64_t seq) {
  return &r->recs[(r->head + (seq - r->first_seq)) % r->cap];
}

/* ---- Workload ---------------------------------------------------------- */

/* Arrivals per completion under --burst at virtual time vt. */
static double wl_pattern(const struct sim_opts *o, double vt) {
  double t = vt - o->burst_at_s;

  if (t >= 0.0 && o->burst_every_s > 0.0)
    t = fmod(t, o->burst_every_s);
  return t >= 0.0 && t < o->burst_len_s ? o->burst_load : WL_PATTERN_REST;
}

/* One step of the endpoint's queue per completion, in virtual time, so that
 * the backlog a record saw depends on the seed alone. Returns the time the
 * completing request waited. */
static double wl_queue_step(struct sim *s) {
  const double rate = s->o->rate;
  const double ic = (double)s->o->instance_count;
  const double vt = (double)s->gen_count / rate;
  double m =
      WL_ARRIVAL_BASE + WL_ARRIVAL_WAVE * sin(WL_TAU * vt / WL_WAVE_PERIOD_S);
  double wait_s = s->queue / (rate * ic);

  if (s->o->burst) {
    /* The pattern alone: no wave, no random bursts. */
    m = wl_pattern(s->o, vt);
  } else if (s->burst_left_s > 0.0) {
    m += s->burst_level;
    s->burst_left_s -= 1.0 / rate;
  } else if (sim_rng_unit(&s->rec_rng) * rate * WL_BURST_GAP_S < 1.0) {
    s->burst_left_s = WL_BURST_MIN_S + (WL_BURST_MAX_S - WL_BURST_MIN_S) *
                                           sim_rng_unit(&s->rec_rng);
    s->burst_level =
        WL_BURST_LEVEL_MIN +
        (WL_BURST_LEVEL_MAX - WL_BURST_LEVEL_MIN) * sim_rng_unit(&s->rec_rng);
  }
  /* Every instance completes at --rate; arrivals are endpoint-wide. */
  s->queue += (m - 1.0) * ic;
  if (s->queue < 0.0)
    s->queue = 0.0;
  if (s->queue > rate * ic * WL_QUEUE_MAX_S)
    s->queue = rate * ic * WL_QUEUE_MAX_S;
  return wait_s;
}

static void wl_generate_one(struct sim *s, int64_t now_ms) {
  double wait_s = wl_queue_step(s);
  struct sim_record *r = ring_push(s);

  sim_record_fill(r, s->o, &s->rec_rng, wait_s, now_ms);
  s->gen_count++;
  ledger_request(s, r);
}

static void queue_view(const struct sim *s, uint64_t now_us,
                       struct queue_view *v) {
  const double rate = s->o->rate;
  const uint64_t maxc = s->o->max_concurrency;
  double waiting, out_rate;

  memset(v, 0, sizeof(*v));
  if (!(rate > 0.0))
    return;
  if (!s->gen_stopped) {
    uint64_t base = (uint64_t)llround(rate * WL_SERVICE_S);
    /* With requests waiting, every slot is busy. */
    v->in_flight = s->queue >= 1.0 ? maxc : (base < maxc ? base : maxc);
    waiting = floor(s->queue);
    out_rate = rate * (double)s->o->instance_count;
  } else {
    double left =
        s->stop_backlog - s->drain_rate * (double)(now_us - s->stop_us) / 1e6;
    if (!(left > 0.0))
      return;
    double remaining = ceil(left);
    v->in_flight = remaining < (double)maxc ? (uint64_t)remaining : maxc;
    waiting = remaining - (double)v->in_flight;
    out_rate = s->drain_rate;
  }
  v->backlog_size = (uint64_t)waiting + v->in_flight;
  if (v->backlog_size > 0)
    v->oldest_age_ms = (uint64_t)llround(1000.0 * waiting / out_rate) +
                       (uint64_t)llround(WL_SERVICE_S * 1000.0);
}

/* No more arrivals: what is queued drains over at most WL_DRAIN_MAX_S. */
static void wl_stop(struct sim *s, uint64_t now_us) {
  struct queue_view v;
  double rate = s->o->rate * (double)s->o->instance_count;

  queue_view(s, now_us, &v);
  s->gen_stopped = true;
  s->stop_us = now_us;
  s->stop_backlog = (double)v.backlog_size;
  s->drain_rate = s->stop_backlog / WL_DRAIN_MAX_S;
  if (s->drain_rate < rate)
    s->drain_rate = rate;
  sim_log(s, "generation stopped after %" PRIu64 " requests", s->gen_count);
}

/* Called once per loop turn. Generation follows the wall clock but pauses
 * during start delays (the runtime is not processing then). */
static void wl_generate(struct sim *s, uint64_t now_us) {
  const struct sim_opts *o = s->o;
  uint64_t dt = now_us - s->last_turn_us;
  uint64_t want, due, cap, turn_cap;
  double duration_us = o->duration_s * 1e6;

  s->last_turn_us = now_us;
  if (s->gen_stopped || in_start_delay(s, now_us))
    return;
  s->active_us += dt;
  if (o->duration_s > 0.0 && (double)s->active_us > duration_us)
    s->active_us = (uint64_t)duration_us;

  /* The epsilon keeps rate * duration from landing a hair under an integer. */
  want = (uint64_t)floor(o->rate * (double)s->active_us / 1e6 + 1e-7);
  want = want > s->forgiven ? want - s->forgiven : 0;
  if (o->total > 0 && want > o->total)
    want = o->total;
  due = want > s->gen_count ? want - s->gen_count : 0;
  /* After a stall, catch up at most this much and forgive the rest, so a
   * stopped process does not produce millions of records at once. */
  cap = (uint64_t)ceil(o->rate * SIM_CATCHUP_MAX_S);
  if (due > cap) {
    s->forgiven += due - cap;
    due = cap;
  }
  /* What is due beyond one turn's share waits for the next turns, so that
   * clients are still served when generation cannot keep up. */
  turn_cap = (uint64_t)ceil(o->rate * SIM_TURN_MAX_S);
  if (due > turn_cap)
    due = turn_cap;
  if (due > 0) {
    int64_t now_ms = wall_ms();
    for (uint64_t i = 0; i < due && !s->fatal; i++)
      wl_generate_one(s, now_ms);
  }
  if ((o->duration_s > 0.0 && (double)s->active_us >= duration_us &&
       s->gen_count >= want) ||
      (o->total > 0 && s->gen_count >= o->total))
    wl_stop(s, now_us);
}

/* ---- HTTP responses ---------------------------------------------------- */

static const char *http_reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 503:
    return "Service Unavailable";
  default:
    return "Internal Server Error";
  }
}

/* Chunk sizes from 1 byte to SIM_CHUNK_MAX, biased so that tiny chunks and
 * splits inside tokens and UTF-8 sequences are common. */
static size_t frame_chunk_size(struct sim_rng *g) {
  uint64_t k = sim_rng_below(g, 8);
  if (k == 0)
    return 1;
  if (k == 1)
    return 2 + (size_t)sim_rng_below(g, 63);
  return 65 + (size_t)sim_rng_below(g, SIM_CHUNK_MAX - 64);
}

/* Frames s->body as a response on c. Returns true when the response is
 * queued; false when it could not be (the connection is then dropped). */
static bool http_respond(struct sim *s, struct conn *c, int status,
                         const char *extra_headers) {
  sm_buf_t *out = &c->out;
  const sm_buf_t *body = &s->body;
  size_t mark = out->len;
  bool chunked = false;

  if (!sm_buf_ok(body)) {
    sim_err("response body over %zu bytes", body->max);
    c->broken = true;
    return false;
  }
  if (!c->http10 && s->o->chunked != SIM_CHUNKED_NEVER)
    chunked = s->o->chunked == SIM_CHUNKED_ALWAYS ||
              (sim_rng_next(&s->frame_rng) & 1);

  SIM_TEXT_LIT(out, "HTTP/1.1 ");
  sim_text_u64(out, (uint64_t)status);
  sm_buf_addc(out, ' ');
  sm_buf_adds(out, http_reason(status));
  SIM_TEXT_LIT(out, "\r\nContent-Type: application/json\r\n");
  if (chunked) {
    SIM_TEXT_LIT(out, "Transfer-Encoding: chunked\r\n");
  } else {
    SIM_TEXT_LIT(out, "Content-Length: ");
    sim_text_u64(out, body->len);
    SIM_TEXT_LIT(out, "\r\n");
  }
  if (c->close_after)
    SIM_TEXT_LIT(out, "Connection: close\r\n");
  else if (c->http10)
    SIM_TEXT_LIT(out, "Connection: keep-alive\r\n");
  if (extra_headers != NULL)
    sm_buf_adds(out, extra_headers);
  SIM_TEXT_LIT(out, "\r\n");
  if (!chunked) {
    sm_buf_add(out, body->p, body->len);
  } else {
    for (size_t off = 0; off < body->len;) {
      size_t n = frame_chunk_size(&s->frame_rng);
      if (n > body->len - off)
        n = body->len - off;
      sim_text_hex(out, n);
      SIM_TEXT_LIT(out, "\r\n");
      sm_buf_add(out, body->p + off, n);
      SIM_TEXT_LIT(out, "\r\n");
      off += n;
    }
    SIM_TEXT_LIT(out, "0\r\n\r\n");
  }
  if (!sm_buf_ok(out)) {
    sim_err("output buffer over %zu bytes; dropping the client", out->max);
    sm_buf_truncate(out, mark);
    c->broken = true;
    return false;
  }
  if (status != 200)
    s->n_errors++;
  return true;
}

static void http_error(struct sim *s, struct conn *c, int status,
                       const char *msg, const char *extra_headers) {
  sm_buf_reset(&s->body);
  SIM_TEXT_LIT(&s->body, "{\"error\":");
  sim_text_jstr(&s->body, msg);
  sm_buf_addc(&s->body, '}');
  http_respond(s, c, status, extra_headers);
}

/* ---- The API ----------------------------------------------------------- */

static void body_str(sm_buf_t *b, const char *key, const char *v) {
  sm_buf_addc(b, ',');
  sim_text_jstr(b, key);
  sm_buf_addc(b, ':');
  sim_text_jstr(b, v);
}

static void body_u64(sm_buf_t *b, const char *key, uint64_t v) {
  sm_buf_addc(b, ',');
  sim_text_jstr(b, key);
  sm_buf_addc(b, ':');
  sim_text_u64(b, v);
}

static void api_snapshot(struct sim *s, struct conn *c) {
  const struct sim_opts *o = s->o;
  sm_buf_t *b = &s->body;
  struct queue_view v;

  queue_view(s, mono_us(), &v);
  sm_buf_reset(b);
  SIM_TEXT_LIT(b, "{\"protocol\":" SIM_PROTOCOL);
  body_str(b, "boot_id", s->boot_id);
  body_str(b, "endpoint_name", o->endpoint);
  body_str(b, "variant_name", o->variant);
  if (o->instance_id[0] != '\0')
    body_str(b, "instance_id", o->instance_id);
  body_u64(b, "instance_count", o->instance_count);
  SIM_TEXT_LIT(b, ",\"time_ms\":");
  sim_text_i64(b, wall_ms());
  body_u64(b, "backlog_size", v.backlog_size);
  body_u64(b, "oldest_request_age_ms", v.oldest_age_ms);
  body_u64(b, "in_flight", v.in_flight);
  body_u64(b, "max_concurrency", o->max_concurrency);
  body_u64(b, "next_seq", s->ring.next_seq);
  sm_buf_addc(b, '}');
  if (http_respond(s, c, 200, NULL)) {
    s->n_snapshots++;
    ledger_served(s, "snapshot");
  }
}

/* Unknown parameters are ignored; a repeated one takes its last value. */
static const char *parse_query(const char *q, size_t len, uint64_t *after,
                               uint64_t *limit) {
  const char *p = q, *end = q + len;

  *after = 0;
  *limit = SIM_LIMIT_DEFAULT;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if (amp == NULL)
      amp = end;
    const char *eq = memchr(p, '=', (size_t)(amp - p));
    const char *key_end = eq != NULL ? eq : amp;
    const char *val = eq != NULL ? eq + 1 : amp;
    size_t klen = (size_t)(key_end - p), vlen = (size_t)(amp - val);

    if (sim_text_is(p, klen, "after")) {
      if (!sim_text_digits(val, vlen, after))
        return "after must be a non-negative integer";
    } else if (sim_text_is(p, klen, "limit")) {
      if (!sim_text_digits(val, vlen, limit) || *limit < 1 ||
          *limit > SIM_LIMIT_MAX)
        return "limit must be an integer from 1 to 10000";
    }
    p = amp < end ? amp + 1 : end;
  }
  return NULL;
}

static void api_requests(struct sim *s, struct conn *c, const char *query,
                         size_t query_len) {
  const struct ring *r = &s->ring;
  sm_buf_t *b = &s->body;
  uint64_t after, limit, from = 0, to = 0, count = 0;
  const char *why = parse_query(query, query_len, &after, &limit);

  if (why != NULL) {
    http_error(s, c, 400, why, NULL);
    return;
  }
  if (r->count > 0 && after < r->next_seq - 1) {
    from = after + 1 > r->first_seq ? after + 1 : r->first_seq;
    to = r->next_seq - 1;
    if (to - from >= limit)
      to = from + limit - 1;
    count = to - from + 1;
  }
  sm_buf_reset(b);
  SIM_TEXT_LIT(b, "{\"protocol\":" SIM_PROTOCOL);
  body_str(b, "boot_id", s->boot_id);
  body_u64(b, "first_seq", r->first_seq);
  body_u64(b, "next_seq", r->next_seq);
  SIM_TEXT_LIT(b, ",\"requests\":[");
  for (uint64_t i = 0; i < count; i++) {
    if (i > 0)
      sm_buf_addc(b, ',');
    sm_buf_addc(b, '{');
    sim_record_put(b, ring_at(r, from + i));
    sm_buf_addc(b, '}');
  }
  SIM_TEXT_LIT(b, "]}");
  if (http_respond(s, c, 200, NULL)) {
    s->n_pages++;
    ledger_page(s, after, limit, from, to, count);
  }
}

/* ---- HTTP requests ----------------------------------------------------- */

struct http_req {
  const char *method;
  size_t method_len;
  const char *path;
  size_t path_len;
  const char *query; /* after '?', empty when there is none */
  size_t query_len;
  bool http10;
  bool close;
};

static bool header_is(const char *p, size_t len, const char *name) {
  return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

static void header_connection(const char *v, size_t len, bool *close,
                              bool *keep_alive) {
  const char *end = v + len;
  while (v < end) {
    const char *comma = memchr(v, ',', (size_t)(end - v));
    const char *tok_end = comma != NULL ? comma : end;
    while (v < tok_end && (*v == ' ' || *v == '\t'))
      v++;
    const char *t = tok_end;
    while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if (header_is(v, (size_t)(t - v), "close"))
      *close = true;
    else if (header_is(v, (size_t)(t - v), "keep-alive"))
      *keep_alive = true;
    v = comma != NULL ? comma + 1 : end;
  }
}

/* Parses a request head: p[0..len) ends with the CRLF of its last line.
 * Returns NULL, or why it is malformed. */
static const char *http_parse(const char *p, size_t len, struct http_req *q) {
  const char *end = p + len;
  const char *eol = memmem(p, len, "\r\n", 2);
  const char *sp1, *sp2, *line;
  bool close = false, keep_alive = false;

  memset(q, 0, sizeof(*q));
  sp1 = memchr(p, ' ', (size_t)(eol - p));
  if (sp1 == NULL || sp1 == p)
    return "malformed request line";
  for (const char *m = p; m < sp1; m++)
    if (*m < 'A' || *m > 'Z')
      return "malformed method";
  sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
  if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
    return "malformed request target";
  for (const char *t = sp1 + 1; t < sp2; t++)
    if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
      return "malformed request target";
  if (sim_text_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.0"))
    q->http10 = true;
  else if (!sim_text_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.1"))
    return "unsupported HTTP version";
  q->method = p;
  q->method_len = (size_t)(sp1 - p);
  q->path = sp1 + 1;
  q->path_len = (size_t)(sp2 - q->path);
  q->query = sp2;
  const char *qm = memchr(q->path, '?', q->path_len);
  if (qm != NULL) {
    q->query = qm + 1;
    q->query_len = (size_t)(sp2 - q->query);
    q->path_len = (size_t)(qm - q->path);
  }

  for (line = eol + 2; line < end;) {
    const char *nl = memmem(line, (size_t)(end - line), "\r\n", 2);
    const char *colon = memchr(line, ':', (size_t)(nl - line));
    const char *v, *ve;

    if (colon == NULL || colon == line || *line == ' ' || *line == '\t' ||
        colon[-1] == ' ' || colon[-1] == '\t')
      return "malformed header line";
    for (v = colon + 1; v < nl && (*v == ' ' || *v == '\t'); v++)
      ;
    for (ve = nl; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
      ;
    size_t nlen = (size_t)(colon - line), vlen = (size_t)(ve - v);
    if (header_is(line, nlen, "connection")) {
      header_connection(v, vlen, &close, &keep_alive);
    } else if (header_is(line, nlen, "content-length")) {
      uint64_t n;
      if (!sim_text_digits(v, vlen, &n))
        return "malformed Content-Length";
      if (n != 0)
        return "request bodies are not supported";
    } else if (header_is(line, nlen, "transfer-encoding")) {
      return "request bodies are not supported";
    }
    line = nl + 2;
  }
  q->close = close || (q->http10 && !keep_alive);
  return NULL;
}

static void http_request(struct sim *s, struct conn *c, const char *req,
                         size_t len) {
  struct http_req q;
  const char *why = http_parse(req, len, &q);

  if (why != NULL) {
    /* The stream cannot be trusted past a malformed head. */
    c->close_after = true;
    http_error(s, c, 400, why, NULL);
    return;
  }
  c->http10 = q.http10;
  if (q.close)
    c->close_after = true;
  if (in_start_delay(s, mono_us()))
    http_error(s, c, 503, "runtime starting", NULL);
  else if (!sim_text_is(q.method, q.method_len, "GET")) {
    /* A HEAD client expects no body; closing keeps the framing unambiguous. */
    if (sim_text_is(q.method, q.method_len, "HEAD"))
      c->close_after = true;
    http_error(s, c, 405, "only GET is supported", "Allow: GET\r\n");
  } else if (sim_text_is(q.path, q.path_len, "/v1/snapshot"))
    api_snapshot(s, c);
  else if (sim_text_is(q.path, q.path_len, "/v1/requests"))
    api_requests(s, c, q.query, q.query_len);
  else
    http_error(s, c, 404, "unknown path", NULL);
}

/* ---- Connections ------------------------------------------------------- */

static size_t conn_unsent(const struct conn *c) {
  return c->out.len - c->out_off;
}

/* Answers the complete requests in c->in, in order, while the unsent output
 * stays below the high-water mark. */
static void conn_serve(struct sim *s, struct conn *c) {
  while (!c->close_after && !c->broken && conn_unsent(c) < SIM_OUT_HIGH_WATER) {
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
      if (c->in_len == sizeof(c->in)) {
        c->close_after = true;
        http_error(s, c, 400, "request header too large", NULL);
      }
      return;
    }
    size_t used = (size_t)(end - c->in) + 4;
    http_request(s, c, c->in, used - 2);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

static void conn_read(struct conn *c, uint64_t now_us) {
  while (!c->peer_eof && c->in_len < sizeof(c->in)) {
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n > 0) {
      c->in_len += (size_t)n;
      c->last_active_us = now_us;
      if (c->linger_until_us != 0)
        c->in_len = 0; /* nothing more will be answered */
    } else if (n == 0) {
      c->peer_eof = true;
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->broken = true;
      return;
    }
  }
}

static void conn_write(struct conn *c, uint64_t now_us) {
  while (!c->broken && conn_unsent(c) > 0) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, conn_unsent(c),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      c->out_off += (size_t)n;
      c->last_active_us = now_us;
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->broken = true;
      return;
    }
  }
  if (conn_unsent(c) == 0) {
    sm_buf_reset(&c->out);
    c->out_off = 0;
    /* One huge page should not pin its memory for the connection's life. */
    if (c->out.cap > SIM_OUT_KEEP)
      sm_buf_free(&c->out);
  }
}

/* Whether to close c now. A connection we end is first shut down for
 * writing and drained for a while: closing a Unix socket with unread input
 * resets it, and the peer would lose the answer it has not read yet. */
static bool conn_done(struct conn *c, uint64_t now_us) {
  if (c->broken)
    return true;
  if (conn_unsent(c) > 0)
    return false;
  if (c->linger_until_us != 0)
    return c->peer_eof || now_us >= c->linger_until_us;
  if (c->peer_eof)
    return true;
  if (c->close_after) {
    shutdown(c->fd, SHUT_WR);
    c->linger_until_us = now_us + SIM_LINGER_US;
    return false;
  }
  return now_us - c->last_active_us > SIM_IDLE_TIMEOUT_US;
}

static void conn_close(struct sim *s, size_t slot) {
  struct conn *c = s->conns[slot];
  close(c->fd);
  sm_buf_free(&c->out);
  free(c);
  s->conns[slot] = NULL;
  s->nconns--;
}

static void conn_accept(struct sim *s, uint64_t now_us) {
  while (s->nconns < SIM_CONN_MAX) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t slot = 0;
    struct conn *c;

    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        sim_err("accept: %s", strerror(errno));
      return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
      sim_err("out of memory for a connection");
      close(fd);
      return;
    }
    while (s->conns[slot] != NULL)
      slot++;
    c->fd = fd;
    sm_buf_init(&c->out, SIM_OUT_MAX);
    c->last_active_us = now_us;
    s->conns[slot] = c;
    s->nconns++;
  }
}

/* ---- Boot, socket, pidfile --------------------------------------------- */

static void sim_boot(struct sim *s, uint64_t now_us) {
  struct ring *r = &s->ring;
  uint8_t id[16];

  if (s->booted) {
    if (r->count > 0)
      evict_note(s, r->first_seq, r->next_seq - 1);
    evict_flush(s); /* under the old boot_id */
    /* A real restart drops its clients; drop the idle ones, so that nothing
     * already answered (and in the ledger) is lost. */
    for (size_t i = 0; i < SIM_CONN_MAX; i++)
      if (s->conns[i] != NULL && conn_unsent(s->conns[i]) == 0 &&
          s->conns[i]->in_len == 0)
        s->conns[i]->close_after = true;
  }
  r->head = 0;
  r->count = 0;
  r->first_seq = 1;
  r->next_seq = 1;
  sim_rng_uuid(&s->boot_rng, id);
  sim_text_uuid(id, s->boot_id);
  s->boot_us = now_us;
  ledger_boot(s);
  sim_log(s, "%s boot_id %s", s->booted ? "restart:" : "boot:", s->boot_id);
  s->booted = true;
}

static int sim_listen(struct sim *s) {
  const char *path = s->o->socket_path;
  struct sockaddr_un addr;
  char tmp[sizeof(addr.sun_path)];
  const char *bind_path = path;
  struct stat st;
  int fd = -1;

  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path)) {
    sim_err("--socket: path longer than %zu bytes", sizeof(addr.sun_path) - 1);
    return -1;
  }
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      sim_err("%s exists and is not a socket; refusing to replace it", path);
      return -1;
    }
    if (unlink(path) != 0) {
      sim_err("unlink %s: %s", path, strerror(errno));
      return -1;
    }
  } else if (errno != ENOENT) {
    sim_err("stat %s: %s", path, strerror(errno));
    return -1;
  }
  /* Bind under a temporary name and rename once listening, so that the
   * socket file appears only when it accepts connections. Paths too long
   * for the temporary name bind directly. */
  int n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
  if (n > 0 && (size_t)n < sizeof(tmp)) {
    bind_path = tmp;
    unlink(tmp);
  }
  memcpy(addr.sun_path, bind_path, strlen(bind_path) + 1);

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    sim_err("socket: %s", strerror(errno));
    return -1;
  }
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      listen(fd, SIM_LISTEN_BACKLOG) != 0 ||
      (bind_path != path && rename(bind_path, path) != 0) ||
      stat(path, &st) != 0) {
    sim_err("listening on %s: %s", path, strerror(errno));
    if (bind_path != path)
      unlink(bind_path);
    close(fd);
    return -1;
  }
  s->listen_fd = fd;
  s->sock_owned = true;
  s->sock_dev = st.st_dev;
  s->sock_ino = st.st_ino;
  return 0;
}

static int sim_pidfile(struct sim *s) {
  int fd = open(s->o->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0) {
    sim_err("pidfile %s: %s", s->o->pidfile, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  s->pid_written = true;
  return close(fd);
}

/* Only while it still names this process: a successor may own it now. */
static void sim_pidfile_remove(const struct sim *s) {
  char want[32], got[32];
  int n = snprintf(want, sizeof(want), "%ld\n", (long)getpid());
  int fd = open(s->o->pidfile, O_RDONLY | O_CLOEXEC);
  ssize_t len;

  if (fd < 0)
    return;
  len = read(fd, got, sizeof(got));
  close(fd);
  if (len == n && memcmp(got, want, (size_t)n) == 0)
    unlink(s->o->pidfile);
}

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    sig_restart = 1;
  else
    sig_stop = 1;
}

/* The signals stay blocked except inside ppoll, so a flag set by a handler
 * is always seen before the next wait. */
static int sim_signals(sigset_t *waitmask) {
  struct sigaction sa;
  sigset_t block;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0 ||
      sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
      sigaction(SIGUSR1, &sa, NULL) != 0) {
    sim_err("signals: %s", strerror(errno));
    return -1;
  }
  signal(SIGPIPE, SIG_IGN);
  sigdelset(waitmask, SIGTERM);
  sigdelset(waitmask, SIGINT);
  sigdelset(waitmask, SIGUSR1);
  return 0;
}

/* ---- Life cycle -------------------------------------------------------- */

static int sim_init(struct sim *s) {
  const struct sim_opts *o = s->o;
  uint64_t now = mono_us();

  sm_buf_init(&s->ledger_buf, SIM_LEDGER_BUF_MAX);
  sm_buf_init(&s->body, SIM_BODY_MAX);
  sim_rng_seed(&s->rec_rng, o->seed, SIM_RNG_RECORDS);
  sim_rng_seed(&s->boot_rng, o->seed, SIM_RNG_BOOT);
  sim_rng_seed(&s->frame_rng, o->seed, SIM_RNG_FRAMING);
  s->ring.cap = o->ring;
  s->ring.recs = calloc(o->ring, sizeof(*s->ring.recs));
  if (s->ring.recs == NULL) {
    sim_err("out of memory for a ring of %" PRIu64 " records", o->ring);
    return -1;
  }
  if (o->ledger_path != NULL) {
    if (strcmp(o->ledger_path, "-") == 0)
      s->ledger_fd = STDOUT_FILENO;
    else
      s->ledger_fd =
          open(o->ledger_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->ledger_fd < 0) {
      sim_err("ledger %s: %s", o->ledger_path, strerror(errno));
      return -1;
    }
  }
  if (sim_listen(s) != 0 || (o->pidfile != NULL && sim_pidfile(s) != 0))
    return -1;
  s->gen_stopped = !(o->rate > 0.0);
  s->last_turn_us = now;
  s->ledger_flush_us = now;
  sim_boot(s, now);
  sim_log(s, "listening on %s (rate %g/s, seed %" PRIu64 ")", o->socket_path,
          o->rate, o->seed);
  if (o->burst)
    sim_log(s, "burst: arrivals %g times capacity from %gs for %gs%s",
            o->burst_load, o->burst_at_s, o->burst_len_s,
            o->burst_every_s > 0.0 ? ", repeating" : "");
  return s->fatal ? -1 : 0;
}

/* Safe on a partly initialised sim. */
static void sim_fini(struct sim *s, bool clean) {
  struct stat st;

  for (size_t i = 0; i < SIM_CONN_MAX; i++)
    if (s->conns[i] != NULL)
      conn_close(s, i);
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  /* Only our own socket file: another simulator may have replaced it. */
  if (s->sock_owned && stat(s->o->socket_path, &st) == 0 &&
      st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
    unlink(s->o->socket_path);
  if (s->pid_written)
    sim_pidfile_remove(s);
  if (s->ledger_fd >= 0) {
    evict_flush(s);
    if (clean && ledger_begin(s, "exit", false)) {
      SIM_TEXT_LIT(&s->ledger_buf, ",\"time_ms\":");
      sim_text_i64(&s->ledger_buf, wall_ms());
      ledger_end(s);
    }
    ledger_write(s);
    if (s->ledger_fd != STDOUT_FILENO)
      close(s->ledger_fd);
  }
  if (s->booted)
    sim_log(s,
            "exit: %" PRIu64 " requests generated, %" PRIu64 " pages, %" PRIu64
            " snapshots, %" PRIu64 " error responses",
            s->gen_count, s->n_pages, s->n_snapshots, s->n_errors);
  free(s->ring.recs);
  sm_buf_free(&s->ledger_buf);
  sm_buf_free(&s->body);
}

static int sim_poll_timeout(const struct sim *s, uint64_t now_us) {
  int ms = s->gen_stopped ? SIM_POLL_IDLE_MS : SIM_POLL_BUSY_MS;
  if (s->ledger_buf.len > 0) {
    uint64_t due = s->ledger_flush_us + SIM_LEDGER_FLUSH_US;
    int left = due > now_us ? (int)((due - now_us + 999) / 1000) : 0;
    if (left < ms)
      ms = left;
  }
  return ms;
}

static void sim_loop(struct sim *s, const sigset_t *waitmask) {
  struct pollfd pfd[1 + SIM_CONN_MAX];
  size_t slot_of[1 + SIM_CONN_MAX];
  const uint64_t restart_us = (uint64_t)(s->o->restart_every_s * 1e6);

  while (!s->fatal && !sig_stop) {
    nfds_t n = 0;
    uint64_t now = mono_us();
    int ms = sim_poll_timeout(s, now);
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};

    if (s->nconns < SIM_CONN_MAX) {
      pfd[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
      slot_of[n++] = SIM_CONN_MAX;
    }
    for (size_t i = 0; i < SIM_CONN_MAX; i++) {
      struct conn *c = s->conns[i];
      short ev = 0;
      if (c == NULL)
        continue;
      if (!c->peer_eof && (c->linger_until_us != 0 ||
                           (!c->close_after && c->in_len < sizeof(c->in))))
        ev |= POLLIN;
      if (conn_unsent(c) > 0)
        ev |= POLLOUT;
      pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
      slot_of[n++] = i;
    }
    int rc = ppoll(pfd, n, &ts, waitmask);
    if (rc < 0 && errno != EINTR) {
      sim_err("ppoll: %s", strerror(errno));
      s->fatal = true;
      break;
    }
    if (sig_stop)
      break;
    now = mono_us();
    if (sig_restart || (restart_us > 0 && now - s->boot_us >= restart_us)) {
      sig_restart = 0;
      sim_boot(s, now);
    }
    /* Due records first, so that every answer this turn is current; their
     * evictions then get one ledger line, ahead of the pages. */
    wl_generate(s, now);
    evict_flush(s);

    for (nfds_t k = 0; rc > 0 && k < n; k++) {
      short re = pfd[k].revents;
      if (re == 0)
        continue;
      if (slot_of[k] == SIM_CONN_MAX) {
        conn_accept(s, now);
        continue;
      }
      struct conn *c = s->conns[slot_of[k]];
      if (re & (POLLERR | POLLNVAL))
        c->broken = true;
      else if (re & (POLLIN | POLLHUP))
        conn_read(c, now);
    }
    for (size_t i = 0; i < SIM_CONN_MAX; i++) {
      struct conn *c = s->conns[i];
      if (c == NULL)
        continue;
      conn_serve(s, c);
      conn_write(c, now);
      if (conn_done(c, now))
        conn_close(s, i);
    }
    if (now - s->ledger_flush_us >= SIM_LEDGER_FLUSH_US)
      ledger_flush(s, now);
  }
}

int main(int argc, char **argv) {
  struct sim_opts o;
  struct sim *s = NULL;
  sigset_t waitmask;
  int rc = sim_opts_parse(argc, argv, &o);

  if (rc >= 0)
    return rc;
  rc = 1;
  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    sim_err("out of memory");
    return rc;
  }
  s->o = &o;
  s->listen_fd = -1;
  s->ledger_fd = -1;
  if (sim_signals(&waitmask) == 0 && sim_init(s) == 0) {
    sim_loop(s, &waitmask);
    if (!s->fatal)
      rc = 0;
  }
  sim_fini(s, rc == 0);
  free(s);
  return rc;
}
