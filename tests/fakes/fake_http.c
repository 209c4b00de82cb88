/* SPDX-License-Identifier: MIT */
/*
 * fake_http: the scripted HTTP/1.1 server of the C unit tests (see
 * fake_http.h). One thread polls the listening socket, a stop pipe and
 * every connection; nothing in it blocks: a delayed answer is a deadline
 * in the poll timeout, a partial write waits for POLLOUT. The request
 * parser and the answer composer are shared with fake_http_serve_fd(),
 * which serves one request on a socket without a thread.
 */
#define _GNU_SOURCE /* accept4, memmem, strndup */
#include "fake_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The longest a connection that was told to close waits for the client to
 * hang up before the fake closes it (closing with unread bytes would reset
 * the connection and could lose the answer). */
#define DRAIN_MS 1000
/* The longest poll() waits when no deadline is nearer. */
#define IDLE_POLL_MS 1000
/* An answer's size: the largest body a test may script, plus its head. */
#define MAX_ANSWER (FAKE_HTTP_MAX_BODY + 64 * 1024)
/* What a connection buffers of requests: one of the largest. */
#define MAX_IN (FAKE_HTTP_MAX_HEAD + FAKE_HTTP_MAX_BODY)

long fake_http_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ================================================== bounded output buffer */

typedef struct {
  char *p;
  size_t len, cap;
  int failed;
} obuf_t;

static void ob_add(obuf_t *b, const void *data, size_t n) {
  if (b->failed || n == 0)
    return;
  if (n > MAX_ANSWER - b->len) {
    b->failed = 1;
    return;
  }
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 1024;
    char *q;
    while (cap - b->len < n)
      cap = cap > MAX_ANSWER / 2 ? MAX_ANSWER : cap * 2;
    q = realloc(b->p, cap);
    if (q == NULL) {
      b->failed = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

__attribute__((format(printf, 2, 3))) static void
ob_printf(obuf_t *b, const char *fmt, ...) {
  char line[256];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(line))
    b->failed = 1;
  else
    ob_add(b, line, (size_t)n);
}

static void ob_str(obuf_t *b, const char *s) {
  if (s != NULL)
    ob_add(b, s, strlen(s));
}

/* ================================================================ parsing */

/* The value of the first header called name in head (request line first,
 * headers up to the blank line), blanks trimmed; NULL when absent. */
static const char *find_header(const char *head, const char *name,
                               size_t *vlen) {
  size_t nl = strlen(name);
  const char *p = strstr(head, "\r\n");

  while (p != NULL && p[2] != '\r' && p[2] != '\0') {
    const char *line = p + 2, *eol = strstr(line, "\r\n");
    if (eol == NULL)
      return NULL;
    if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 &&
        line[nl] == ':') {
      const char *v = line + nl + 1;
      size_t n;
      while (*v == ' ' || *v == '\t')
        v++;
      n = (size_t)(eol - v);
      while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
      *vlen = n;
      return v;
    }
    p = eol;
  }
  return NULL;
}

const char *fake_http_header(const fake_http_request_t *r, const char *name,
                             char *buf, size_t size) {
  size_t n;
  const char *v;

  if (r == NULL || r->head == NULL || size == 0)
    return NULL;
  v = find_header(r->head, name, &n);
  if (v == NULL)
    return NULL;
  if (n >= size)
    n = size - 1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  return buf;
}

typedef struct {
  size_t head_len; /* through the blank line */
  size_t body_len;
  int refuse; /* a status to refuse the request with, or 0 */
  int expect_continue;
} framing_t;

/* Where the request at the start of buf ends. Returns 1 when complete,
 * 0 when more is needed (f->head_len is set once the head is complete),
 * -1 when it must be refused with f->refuse. */
static int parse_request(const char *buf, size_t len, framing_t *f) {
  const char *end, *sp1, *sp2, *eol, *v;
  size_t vlen, cl = 0;
  char *head;

  memset(f, 0, sizeof(*f));
  end = memmem(buf, len < FAKE_HTTP_MAX_HEAD ? len : FAKE_HTTP_MAX_HEAD,
               "\r\n\r\n", 4);
  if (end == NULL) {
    if (len < FAKE_HTTP_MAX_HEAD)
      return 0;
    f->refuse = 431;
    return -1;
  }
  f->head_len = (size_t)(end + 4 - buf);
  if (memchr(buf, '\0', f->head_len) != NULL) {
    f->refuse = 400;
    return -1;
  }
  /* METHOD SP TARGET SP HTTP/1.x */
  eol = memmem(buf, f->head_len, "\r\n", 2);
  sp1 = memchr(buf, ' ', (size_t)(eol - buf));
  sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (sp1 == NULL || sp2 == NULL || sp1 == buf || sp2 == sp1 + 1 ||
      (size_t)(sp1 - buf) >= sizeof(((fake_http_request_t *)0)->method) ||
      eol - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
    f->refuse = 400;
    return -1;
  }
  if ((size_t)(sp2 - sp1 - 1) >= sizeof(((fake_http_request_t *)0)->target)) {
    f->refuse = 414;
    return -1;
  }
  head = strndup(buf, f->head_len);
  if (head == NULL) {
    f->refuse = 500;
    return -1;
  }
  if (find_header(head, "Transfer-Encoding", &vlen) != NULL)
    f->refuse = 501;
  v = find_header(head, "Content-Length", &vlen);
  if (v != NULL && f->refuse == 0) {
    size_t i;
    for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
      if (cl > FAKE_HTTP_MAX_BODY) /* before it could overflow */
        break;
      cl = cl * 10 + (size_t)(v[i] - '0');
    }
    if (vlen == 0 || i < vlen)
      f->refuse = cl > FAKE_HTTP_MAX_BODY ? 413 : 400;
    else if (cl > FAKE_HTTP_MAX_BODY)
      f->refuse = 413;
  }
  v = find_header(head, "Expect", &vlen);
  f->expect_continue =
      v != NULL && vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
  free(head);
  if (f->refuse != 0)
    return -1;
  f->body_len = cl;
  return len - f->head_len >= cl ? 1 : 0;
}

/* A record of the complete request at the start of buf. */
static fake_http_request_t *record(const char *buf, const framing_t *f,
                                   unsigned conn) {
  fake_http_request_t *r = calloc(1, sizeof(*r));
  const char *sp1, *sp2;

  if (r == NULL)
    return NULL;
  r->head = strndup(buf, f->head_len);
  r->body = malloc(f->body_len + 1);
  if (r->head == NULL || r->body == NULL) {
    fake_http_request_clear(r);
    free(r);
    return NULL;
  }
  memcpy(r->body, buf + f->head_len, f->body_len);
  r->body[f->body_len] = 0;
  r->body_len = f->body_len;
  /* parse_request checked both fit */
  sp1 = strchr(r->head, ' ');
  sp2 = strchr(sp1 + 1, ' ');
  memcpy(r->method, r->head, (size_t)(sp1 - r->head));
  memcpy(r->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
  r->at_ms = fake_http_now_ms();
  r->conn = conn;
  return r;
}

void fake_http_request_clear(fake_http_request_t *r) {
  if (r == NULL)
    return;
  free(r->head);
  free(r->body);
  r->head = NULL;
  r->body = NULL;
  r->body_len = 0;
}

/* ============================================================= answering */

/* The reason phrase: clients ignore it, people reading a capture do not. */
static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  }
  return "Scripted";
}

typedef struct {
  obuf_t out;
  int close_after;
  int silent;
} answer_t;

/* What step says to send, into a (which the caller zeroed). */
static void compose(const fake_http_step_t *st, const char *common,
                    answer_t *a) {
  const char *body = st->body ? st->body : "";
  size_t blen = st->body ? (st->body_len ? st->body_len : strlen(body)) : 0;

  switch (st->action) {
  case FAKE_HTTP_SILENT:
    a->silent = 1;
    return;
  case FAKE_HTTP_CLOSE:
    a->close_after = 1;
    return;
  case FAKE_HTTP_RAW:
    if (st->raw != NULL)
      ob_add(&a->out, st->raw, st->raw_len ? st->raw_len : strlen(st->raw));
    a->close_after = 1;
    return;
  case FAKE_HTTP_ANSWER:
    break;
  }
  ob_printf(&a->out, "HTTP/1.1 %d %s\r\n", st->status, reason(st->status));
  ob_str(&a->out, common);
  ob_str(&a->out, st->headers);
  if (st->chunked)
    ob_str(&a->out, "Transfer-Encoding: chunked\r\n");
  else
    ob_printf(&a->out, "Content-Length: %zu\r\n", blen);
  if (st->close_after)
    ob_str(&a->out, "Connection: close\r\n");
  ob_str(&a->out, "\r\n");
  if (!st->chunked) {
    ob_add(&a->out, body, blen);
  } else {
    /* Chunks of 1, 2, ... 7 bytes, again and again: a client's chunk
     * parser sees sizes and data split everywhere. */
    for (size_t off = 0, n = 1; off < blen; off += n, n = n % 7 + 1) {
      if (n > blen - off)
        n = blen - off;
      ob_printf(&a->out, "%zx\r\n", n);
      ob_add(&a->out, body + off, n);
      ob_str(&a->out, "\r\n");
    }
    ob_str(&a->out, "0\r\n\r\n");
  }
  a->close_after = st->close_after;
}

static void compose_refusal(int status, answer_t *a) {
  const fake_http_step_t st = {.status = status, .close_after = 1};
  compose(&st, NULL, a);
}

/* A client error: the client asked what the test did not expect. JSON,
 * so that a client of a JSON service reads a reason from it. */
static const fake_http_step_t default_unscripted = {
    .status = 400,
    .body = "{\"__type\":\"UnscriptedRequest\",\"message\":\"no answer was "
            "scripted for this request\"}"};

/* ================================================================ server */

typedef struct {
  int fd; /* -1: free slot */
  unsigned serial;
  char *in;
  size_t in_len, in_cap;
  int continued; /* 100 Continue sent for the request at the start of in */
  answer_t ans;  /* pending while pending != 0 */
  size_t out_off;
  int pending;
  long due_ms;         /* when the pending answer goes out */
  int discard;         /* silent, or closing: read and drop */
  long drain_until_ms; /* closing: give up waiting for the client then */
} conn_t;

struct fake_http {
  int lfd, stop_r, stop_w;
  int port;
  char url[64];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  pthread_t thread;
  int running;

  /* Under mu: */
  pthread_mutex_t mu;
  fake_http_config_t cfg;
  size_t next; /* next script step */
  fake_http_stats_t st;
  fake_http_request_t *rec[FAKE_HTTP_MAX_RECORDS];

  /* The thread's alone: */
  conn_t conns[FAKE_HTTP_MAX_CONNS];
  unsigned serials;
};

static void conn_close(conn_t *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c->in);
  free(c->ans.out.p);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

/* Done sending: either ready for the next request, or closing. */
static void conn_answered(conn_t *c, long now) {
  int close_after = c->ans.close_after;

  free(c->ans.out.p);
  memset(&c->ans, 0, sizeof(c->ans));
  c->out_off = 0;
  c->pending = 0;
  if (close_after) {
    /* Hang up our side; wait (bounded) for the client to hang up. */
    shutdown(c->fd, SHUT_WR);
    c->discard = 1;
    c->in_len = 0;
    c->drain_until_ms = now + DRAIN_MS;
  }
}

static void conn_write(conn_t *c, long now) {
  while (c->out_off < c->ans.out.len) {
    ssize_t w = send(c->fd, c->ans.out.p + c->out_off,
                     c->ans.out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return; /* POLLOUT */
    if (w <= 0) {
      conn_close(c);
      return;
    }
    c->out_off += (size_t)w;
  }
  conn_answered(c, now);
}

/* One complete request at the start of c->in: record it, pick the
 * answer, compose it. */
static void handle(fake_http_t *s, conn_t *c, const framing_t *f, long now) {
  fake_http_request_t *r = record(c->in, f, c->serial);
  fake_http_step_t pick;
  const fake_http_step_t *st = NULL;
  fake_http_pick_t how = FAKE_HTTP_NEXT_STEP;
  fake_http_request_t scratch;
  size_t nth;
  int delay;

  memset(&pick, 0, sizeof(pick));
  if (r == NULL) { /* out of memory: still count and answer */
    memset(&scratch, 0, sizeof(scratch));
    r = &scratch;
  }
  pthread_mutex_lock(&s->mu);
  nth = s->st.requests++;
  if (nth < FAKE_HTTP_MAX_RECORDS && r != &scratch)
    s->rec[nth] = r;
  if (s->cfg.probe_lock != NULL &&
      pthread_mutex_trylock(s->cfg.probe_lock) == 0) {
    r->lock_free = 1;
    pthread_mutex_unlock(s->cfg.probe_lock);
  }
  if (s->cfg.pick != NULL)
    how = s->cfg.pick(s->cfg.pick_ud, r, nth, &pick);
  if (how == FAKE_HTTP_PICKED) {
    st = &pick;
  } else if (how == FAKE_HTTP_NEXT_STEP && s->next < s->cfg.nsteps) {
    st = &s->cfg.steps[s->next++];
    s->st.used++;
  } else {
    s->st.extra++;
    st = s->cfg.unscripted ? s->cfg.unscripted : &default_unscripted;
  }
  memset(&c->ans, 0, sizeof(c->ans));
  compose(st, s->cfg.headers, &c->ans);
  delay = st->delay_ms;
  pthread_mutex_unlock(&s->mu);
  if (nth >= FAKE_HTTP_MAX_RECORDS && r != &scratch) {
    fake_http_request_clear(r);
    free(r);
  }

  memmove(c->in, c->in + f->head_len + f->body_len,
          c->in_len - f->head_len - f->body_len);
  c->in_len -= f->head_len + f->body_len;
  c->continued = 0;
  if (c->ans.out.failed) { /* an answer over MAX_ANSWER: a test's mistake */
    free(c->ans.out.p);
    memset(&c->ans, 0, sizeof(c->ans));
    compose_refusal(500, &c->ans);
  }
  if (c->ans.silent) {
    c->discard = 1;
    c->in_len = 0;
    return;
  }
  c->pending = 1;
  c->out_off = 0;
  c->due_ms = now + (delay > 0 ? delay : 0);
}

/* The next request in c->in, if complete and nothing is pending. */
static void conn_parse(fake_http_t *s, conn_t *c, long now) {
  framing_t f;
  int rc;

  if (c->fd < 0 || c->pending || c->discard)
    return;
  rc = parse_request(c->in, c->in_len, &f);
  if (rc == 1) {
    handle(s, c, &f, now);
  } else if (rc < 0) {
    pthread_mutex_lock(&s->mu);
    s->st.refused++;
    pthread_mutex_unlock(&s->mu);
    compose_refusal(f.refuse, &c->ans);
    c->in_len = 0;
    c->pending = 1;
    c->due_ms = now;
  } else if (f.head_len > 0 && f.expect_continue && !c->continued) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    /* A fresh connection's send buffer holds these few bytes. */
    if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
        (ssize_t)(sizeof(cont) - 1))
      conn_close(c);
    else
      c->continued = 1;
  }
}

static void conn_read(conn_t *c) {
  const size_t max = MAX_IN;
  ssize_t r;

  if (c->discard) {
    char sink[4096];
    r = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
  } else {
    if (c->in_cap - c->in_len < 16384 && c->in_cap < max) {
      size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
      char *p;
      if (cap > max)
        cap = max;
      p = realloc(c->in, cap);
      if (p == NULL) {
        conn_close(c);
        return;
      }
      c->in = p;
      c->in_cap = cap;
    }
    if (c->in_len == c->in_cap)
      return; /* full: conn_parse refuses it */
    r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
  }
  if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (r <= 0) {
    conn_close(c);
    return;
  }
  if (!c->discard)
    c->in_len += (size_t)r;
}

static void accept_all(fake_http_t *s) {
  for (;;) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t i;
    if (fd < 0)
      return;
    for (i = 0; i < FAKE_HTTP_MAX_CONNS && s->conns[i].fd >= 0; i++)
      ;
    pthread_mutex_lock(&s->mu);
    if (i == FAKE_HTTP_MAX_CONNS)
      s->st.refused++;
    else
      s->st.connections++;
    pthread_mutex_unlock(&s->mu);
    if (i == FAKE_HTTP_MAX_CONNS) {
      close(fd);
      continue;
    }
    s->conns[i].fd = fd;
    s->conns[i].serial = s->serials++;
  }
}

static void *serve(void *arg) {
  fake_http_t *s = arg;
  struct pollfd p[2 + FAKE_HTTP_MAX_CONNS];

  for (;;) {
    long now = fake_http_now_ms(), wait = IDLE_POLL_MS;
    int n;

    p[0] = (struct pollfd){.fd = s->stop_r, .events = POLLIN};
    p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    for (size_t i = 0; i < FAKE_HTTP_MAX_CONNS; i++) {
      conn_t *c = &s->conns[i];
      long due = -1;
      p[2 + i] = (struct pollfd){.fd = c->fd};
      if (c->fd < 0)
        continue;
      if (c->discard || c->in_cap < MAX_IN || c->in_len < c->in_cap)
        p[2 + i].events |= POLLIN;
      if (c->pending && now >= c->due_ms)
        p[2 + i].events |= POLLOUT; /* due: written as the socket takes it */
      else if (c->pending)
        due = c->due_ms;
      else if (c->drain_until_ms > 0)
        due = c->drain_until_ms;
      if (due >= 0 && due - now < wait)
        wait = due > now ? due - now : 0;
    }
    n = poll(p, 2 + FAKE_HTTP_MAX_CONNS, (int)wait);
    if (n < 0 && errno != EINTR)
      break;
    if (n > 0 && p[0].revents != 0)
      break;
    if (n > 0 && (p[1].revents & POLLIN))
      accept_all(s);
    now = fake_http_now_ms();
    for (size_t i = 0; i < FAKE_HTTP_MAX_CONNS; i++) {
      conn_t *c = &s->conns[i];
      if (c->fd < 0 || p[2 + i].fd != c->fd)
        continue; /* a new connection: polled next round */
      if (n > 0 && (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
        conn_read(c);
      if (c->fd >= 0 && c->pending && now >= c->due_ms)
        conn_write(c, now);
      if (c->fd >= 0 && c->drain_until_ms > 0 && now >= c->drain_until_ms)
        conn_close(c);
      /* Requests that came together are answered one after another. */
      while (c->fd >= 0 && !c->pending && !c->discard && c->in_len > 0) {
        size_t before = c->in_len;
        conn_parse(s, c, now);
        if (c->fd >= 0 && c->pending && now >= c->due_ms)
          conn_write(c, now);
        if (c->fd < 0 || c->in_len == before)
          break;
      }
    }
  }
  return NULL;
}

static int fail(char *err, size_t errlen, const char *what, const char *arg) {
  if (err != NULL && errlen > 0)
    snprintf(err, errlen, "fake_http: %s%s: %s", what, arg ? arg : "",
             strerror(errno));
  return -1;
}

static int listen_unix(fake_http_t *s, const char *path, char *err,
                       size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  struct stat sb;

  if (strlen(path) >= sizeof(sa.sun_path)) {
    errno = ENAMETOOLONG;
    return fail(err, errlen, "socket path ", path);
  }
  if (lstat(path, &sb) == 0) {
    if (!S_ISSOCK(sb.st_mode)) {
      errno = EEXIST;
      return fail(err, errlen, "not a socket, left alone: ", path);
    }
    unlink(path);
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->lfd < 0)
    return fail(err, errlen, "socket", NULL);
  if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    return fail(err, errlen, "bind ", path);
  memcpy(s->path, path, strlen(path) + 1);
  if (listen(s->lfd, 16) != 0)
    return fail(err, errlen, "listen ", path);
  snprintf(s->url, sizeof(s->url), "http://localhost");
  return 0;
}

static int listen_tcp(fake_http_t *s, char *err, size_t errlen) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t salen = sizeof(sa);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->lfd < 0)
    return fail(err, errlen, "socket", NULL);
  if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(s->lfd, 16) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&sa, &salen) != 0)
    return fail(err, errlen, "listen on 127.0.0.1", NULL);
  s->port = ntohs(sa.sin_port);
  snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
  return 0;
}

fake_http_t *fake_http_start(const fake_http_config_t *cfg, char *err,
                             size_t errlen) {
  fake_http_t *s = calloc(1, sizeof(*s));
  int pfd[2] = {-1, -1};

  if (s == NULL) {
    fail(err, errlen, "out of memory", NULL);
    return NULL;
  }
  s->lfd = s->stop_r = s->stop_w = -1;
  for (size_t i = 0; i < FAKE_HTTP_MAX_CONNS; i++)
    s->conns[i].fd = -1;
  pthread_mutex_init(&s->mu, NULL);
  if (cfg != NULL)
    s->cfg = *cfg;
  if ((s->cfg.unix_path != NULL ? listen_unix(s, s->cfg.unix_path, err, errlen)
                                : listen_tcp(s, err, errlen)) != 0) {
    fake_http_free(s);
    return NULL;
  }
  if (pipe2(pfd, O_CLOEXEC) != 0) {
    fail(err, errlen, "pipe", NULL);
    fake_http_free(s);
    return NULL;
  }
  s->cfg.unix_path = NULL; /* the caller's; s->path is ours */
  s->stop_r = pfd[0];
  s->stop_w = pfd[1];
  errno = pthread_create(&s->thread, NULL, serve, s);
  if (errno != 0) {
    fail(err, errlen, "pthread_create", NULL);
    fake_http_free(s);
    return NULL;
  }
  s->running = 1;
  return s;
}

void fake_http_stop(fake_http_t *s) {
  if (s == NULL)
    return;
  if (s->running) {
    ssize_t w;
    do
      w = write(s->stop_w, "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    s->running = 0;
  }
  for (size_t i = 0; i < FAKE_HTTP_MAX_CONNS; i++)
    if (s->conns[i].fd >= 0 || s->conns[i].in != NULL)
      conn_close(&s->conns[i]);
  if (s->lfd >= 0)
    close(s->lfd);
  if (s->stop_r >= 0)
    close(s->stop_r);
  if (s->stop_w >= 0)
    close(s->stop_w);
  s->lfd = s->stop_r = s->stop_w = -1;
  if (s->path[0] != '\0') {
    unlink(s->path);
    s->path[0] = '\0';
  }
}

static void drop_records(fake_http_t *s) {
  for (size_t i = 0; i < FAKE_HTTP_MAX_RECORDS; i++) {
    if (s->rec[i] != NULL) {
      fake_http_request_clear(s->rec[i]);
      free(s->rec[i]);
      s->rec[i] = NULL;
    }
  }
}

void fake_http_free(fake_http_t *s) {
  if (s == NULL)
    return;
  fake_http_stop(s);
  drop_records(s);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int fake_http_port(const fake_http_t *s) { return s->port; }

const char *fake_http_url(const fake_http_t *s) { return s->url; }

fake_http_stats_t fake_http_stats(fake_http_t *s) {
  fake_http_stats_t st;
  pthread_mutex_lock(&s->mu);
  st = s->st;
  pthread_mutex_unlock(&s->mu);
  return st;
}

const fake_http_request_t *fake_http_request(fake_http_t *s, size_t nth) {
  const fake_http_request_t *r = NULL;
  pthread_mutex_lock(&s->mu);
  if (nth < FAKE_HTTP_MAX_RECORDS && nth < s->st.requests)
    r = s->rec[nth];
  pthread_mutex_unlock(&s->mu);
  return r;
}

void fake_http_reset(fake_http_t *s, const fake_http_step_t *steps,
                     size_t nsteps) {
  pthread_mutex_lock(&s->mu);
  drop_records(s);
  s->cfg.steps = steps;
  s->cfg.nsteps = nsteps;
  s->next = 0;
  s->st.requests = s->st.used = s->st.extra = s->st.refused = 0;
  pthread_mutex_unlock(&s->mu);
}

/* ===================================================== without a thread */

/* Waits for events on fd until deadline; 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long deadline) {
  for (;;) {
    long left = deadline - fake_http_now_ms();
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    if (left <= 0)
      return 0;
    n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 ? -1 : n > 0;
  }
}

static int send_all(int fd, const char *p, size_t n, long deadline) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd, POLLOUT, deadline) != 1)
        return -1;
      continue;
    }
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

long fake_http_serve_fd(int fd, const fake_http_step_t *step, int timeout_ms,
                        fake_http_request_t *out) {
  const size_t max = MAX_IN;
  long deadline = fake_http_now_ms() + timeout_ms;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  framing_t f;
  answer_t a;
  long got = -1;
  int rc = 0, continued = 0;

  if (out != NULL)
    memset(out, 0, sizeof(*out));
  memset(&a, 0, sizeof(a));
  while (rc == 0) {
    ssize_t r;
    if (cap - len < 4096 && cap < max) {
      size_t ncap = cap ? (cap * 2 < max ? cap * 2 : max) : 16384;
      char *p = realloc(buf, ncap);
      if (p == NULL)
        goto done;
      buf = p;
      cap = ncap;
    }
    if (len == cap || wait_fd(fd, POLLIN, deadline) != 1)
      goto done;
    r = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r < 0)
      goto done;
    if (r == 0) {
      got = len == 0 ? 0 : -1; /* hung up: before a byte, or midway */
      goto done;
    }
    len += (size_t)r;
    rc = parse_request(buf, len, &f);
    if (rc == 0 && f.head_len > 0 && f.expect_continue && !continued) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      if (send_all(fd, cont, sizeof(cont) - 1, deadline) != 0)
        goto done;
      continued = 1;
    }
  }
  if (rc < 0) {
    compose_refusal(f.refuse, &a);
  } else {
    if (out != NULL) {
      fake_http_request_t *r = record(buf, &f, 0);
      if (r == NULL)
        goto done;
      *out = *r;
      free(r);
    }
    compose(step, NULL, &a);
    if (step->delay_ms > 0) {
      struct timespec ts = {.tv_sec = step->delay_ms / 1000,
                            .tv_nsec = (step->delay_ms % 1000) * 1000000L};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    }
  }
  got = (long)len;
  if (a.silent) {
    char sink[4096];
    while (wait_fd(fd, POLLIN, deadline) == 1 &&
           recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
      ;
  } else if (a.out.failed || send_all(fd, a.out.p, a.out.len, deadline) != 0) {
    got = -1;
  }
done:
  free(a.out.p);
  free(buf);
  return got;
}
