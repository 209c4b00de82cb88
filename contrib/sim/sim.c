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
#define SIM_LISTEN_BACKLOG 128
/* Pipelined requests are not answered while this much is still unsent, so a
 * client that never reads cannot make us buffer without bound. */
#define SIM_OUT_HIGH_WATER ((size_t)256 * 1024)
#define SIM_OUT_MAX ((size_t)256 * 1024 * 1024)
#define SIM_OUT_KEEP ((size_t)1024 * 1024) /* free drained buffers above */
#define SIM_BODY_MAX ((size_t)64 * 1024 * 1024)
#define SIM_POLL_BUSY_MS 10 /* while generating: completions spread in time */
#define SIM_POLL_IDLE_MS 100
#define SIM_IDLE_TIMEOUT_US ((uint64_t)300 * 1000000)
#define SIM_LINGER_US ((uint64_t)1000000) /* draining a closing client */
#define SIM_CHUNK_MAX 4096                /* largest chunk in chunked framing */

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

uint64_t sim_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t sim_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_log(const struct sim *s, const char *fmt, ...) {
  va_list ap;
  if (s->o->quiet)
    return;
  va_start(ap, fmt);
  fputs(SIM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

bool sim_in_start_delay(const struct sim *s, uint64_t now_us) {
  return now_us - s->boot_us < s->o->start_delay_ms * 1000;
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
static bool http_respond(struct sim *s, struct sim_conn *c, int status,
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

static void http_error(struct sim *s, struct sim_conn *c, int status,
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

static void api_snapshot(struct sim *s, struct sim_conn *c) {
  const struct sim_opts *o = s->o;
  sm_buf_t *b = &s->body;
  struct sim_workload_view v;

  sim_workload_view(s, sim_mono_us(), &v);
  sm_buf_reset(b);
  SIM_TEXT_LIT(b, "{\"protocol\":" SIM_PROTOCOL);
  body_str(b, "boot_id", s->boot_id);
  body_str(b, "endpoint_name", o->endpoint);
  body_str(b, "variant_name", o->variant);
  if (o->instance_id[0] != '\0')
    body_str(b, "instance_id", o->instance_id);
  body_u64(b, "instance_count", o->instance_count);
  SIM_TEXT_LIT(b, ",\"time_ms\":");
  sim_text_i64(b, sim_wall_ms());
  body_u64(b, "backlog_size", v.backlog_size);
  body_u64(b, "oldest_request_age_ms", v.oldest_age_ms);
  body_u64(b, "in_flight", v.in_flight);
  body_u64(b, "max_concurrency", o->max_concurrency);
  body_u64(b, "next_seq", s->ring.next_seq);
  sm_buf_addc(b, '}');
  if (http_respond(s, c, 200, NULL)) {
    s->n_snapshots++;
    sim_ledger_served(s, "snapshot");
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

static void api_requests(struct sim *s, struct sim_conn *c, const char *query,
                         size_t query_len) {
  const struct sim_ring *r = &s->ring;
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
    sim_record_put(b, sim_ring_at(r, from + i));
    sm_buf_addc(b, '}');
  }
  SIM_TEXT_LIT(b, "]}");
  if (http_respond(s, c, 200, NULL)) {
    s->n_pages++;
    sim_ledger_page(s, after, limit, from, to, count);
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

static void http_request(struct sim *s, struct sim_conn *c, const char *req,
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
  if (sim_in_start_delay(s, sim_mono_us()))
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

static size_t conn_unsent(const struct sim_conn *c) {
  return c->out.len - c->out_off;
}

/* Answers the complete requests in c->in, in order, while the unsent output
 * stays below the high-water mark. */
static void conn_serve(struct sim *s, struct sim_conn *c) {
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

static void conn_read(struct sim_conn *c, uint64_t now_us) {
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

static void conn_write(struct sim_conn *c, uint64_t now_us) {
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
static bool conn_done(struct sim_conn *c, uint64_t now_us) {
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
  struct sim_conn *c = s->srv.conns[slot];
  close(c->fd);
  sm_buf_free(&c->out);
  free(c);
  s->srv.conns[slot] = NULL;
  s->srv.nconns--;
}

static void conn_accept(struct sim *s, uint64_t now_us) {
  while (s->srv.nconns < SIM_CONN_MAX) {
    int fd =
        accept4(s->srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t slot = 0;
    struct sim_conn *c;

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
    while (s->srv.conns[slot] != NULL)
      slot++;
    c->fd = fd;
    sm_buf_init(&c->out, SIM_OUT_MAX);
    c->last_active_us = now_us;
    s->srv.conns[slot] = c;
    s->srv.nconns++;
  }
}

/* ---- Boot, socket, pidfile --------------------------------------------- */

static void sim_boot(struct sim *s, uint64_t now_us) {
  struct sim_ring *r = &s->ring;
  uint8_t id[16];

  if (s->booted) {
    if (r->count > 0)
      sim_ledger_evict(s, r->first_seq, r->next_seq - 1);
    sim_ledger_evict_flush(s); /* under the old boot_id */
    /* A real restart drops its clients; drop the idle ones, so that nothing
     * already answered (and in the ledger) is lost. */
    for (size_t i = 0; i < SIM_CONN_MAX; i++)
      if (s->srv.conns[i] != NULL && conn_unsent(s->srv.conns[i]) == 0 &&
          s->srv.conns[i]->in_len == 0)
        s->srv.conns[i]->close_after = true;
  }
  sim_ring_reset(r);
  sim_rng_uuid(&s->boot_rng, id);
  sim_text_uuid(id, s->boot_id);
  s->boot_us = now_us;
  sim_ledger_boot(s);
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
  s->srv.listen_fd = fd;
  s->srv.sock_owned = true;
  s->srv.sock_dev = st.st_dev;
  s->srv.sock_ino = st.st_ino;
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
  uint64_t now = sim_mono_us();

  sm_buf_init(&s->body, SIM_BODY_MAX);
  sim_rng_seed(&s->rec_rng, o->seed, SIM_RNG_RECORDS);
  sim_rng_seed(&s->boot_rng, o->seed, SIM_RNG_BOOT);
  sim_rng_seed(&s->frame_rng, o->seed, SIM_RNG_FRAMING);
  if (sim_ring_init(&s->ring, o->ring) != 0 || sim_ledger_open(s, now) != 0)
    return -1;
  if (sim_listen(s) != 0 || (o->pidfile != NULL && sim_pidfile(s) != 0))
    return -1;
  sim_workload_start(s, now);
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
    if (s->srv.conns[i] != NULL)
      conn_close(s, i);
  if (s->srv.listen_fd >= 0)
    close(s->srv.listen_fd);
  /* Only our own socket file: another simulator may have replaced it. */
  if (s->srv.sock_owned && stat(s->o->socket_path, &st) == 0 &&
      st.st_dev == s->srv.sock_dev && st.st_ino == s->srv.sock_ino)
    unlink(s->o->socket_path);
  if (s->pid_written)
    sim_pidfile_remove(s);
  sim_ledger_close(s, clean);
  if (s->booted)
    sim_log(s,
            "exit: %" PRIu64 " requests generated, %" PRIu64 " pages, %" PRIu64
            " snapshots, %" PRIu64 " error responses",
            s->wl.gen_count, s->n_pages, s->n_snapshots, s->n_errors);
  sim_ring_free(&s->ring);
  sm_buf_free(&s->body);
}

static int sim_poll_timeout(const struct sim *s, uint64_t now_us) {
  return sim_ledger_timeout_ms(
      s, now_us, s->wl.stopped ? SIM_POLL_IDLE_MS : SIM_POLL_BUSY_MS);
}

static void sim_loop(struct sim *s, const sigset_t *waitmask) {
  struct pollfd pfd[1 + SIM_CONN_MAX];
  size_t slot_of[1 + SIM_CONN_MAX];
  const uint64_t restart_us = (uint64_t)(s->o->restart_every_s * 1e6);

  while (!s->fatal && !sig_stop) {
    nfds_t n = 0;
    uint64_t now = sim_mono_us();
    int ms = sim_poll_timeout(s, now);
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};

    if (s->srv.nconns < SIM_CONN_MAX) {
      pfd[n] = (struct pollfd){.fd = s->srv.listen_fd, .events = POLLIN};
      slot_of[n++] = SIM_CONN_MAX;
    }
    for (size_t i = 0; i < SIM_CONN_MAX; i++) {
      struct sim_conn *c = s->srv.conns[i];
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
    now = sim_mono_us();
    if (sig_restart || (restart_us > 0 && now - s->boot_us >= restart_us)) {
      sig_restart = 0;
      sim_boot(s, now);
    }
    /* Due records first, so that every answer this turn is current; their
     * evictions then get one ledger line, ahead of the pages. */
    sim_workload_turn(s, now);
    sim_ledger_evict_flush(s);

    for (nfds_t k = 0; rc > 0 && k < n; k++) {
      short re = pfd[k].revents;
      if (re == 0)
        continue;
      if (slot_of[k] == SIM_CONN_MAX) {
        conn_accept(s, now);
        continue;
      }
      struct sim_conn *c = s->srv.conns[slot_of[k]];
      if (re & (POLLERR | POLLNVAL))
        c->broken = true;
      else if (re & (POLLIN | POLLHUP))
        conn_read(c, now);
    }
    for (size_t i = 0; i < SIM_CONN_MAX; i++) {
      struct sim_conn *c = s->srv.conns[i];
      if (c == NULL)
        continue;
      conn_serve(s, c);
      conn_write(c, now);
      if (conn_done(c, now))
        conn_close(s, i);
    }
    sim_ledger_tick(s, now);
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
  s->srv.listen_fd = -1;
  s->ledger.fd = -1;
  if (sim_signals(&waitmask) == 0 && sim_init(s) == 0) {
    sim_loop(s, &waitmask);
    if (!s->fatal)
      rc = 0;
  }
  sim_fini(s, rc == 0);
  free(s);
  return rc;
}
