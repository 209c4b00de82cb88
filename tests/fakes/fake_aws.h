/* SPDX-License-Identifier: MIT */
/*
 * fake_aws.h: a scripted fake AWS JSON endpoint for the sender tests
 * (CloudWatch and CloudWatch Logs): an HTTP/1.1 server on an ephemeral
 * port of 127.0.0.1, in a thread, answering each request with the next
 * scripted step and recording its headers and body, so a test can check
 * what was sent and that every scripted reply was used (srv_stop).
 *
 * Included by one test file each; needs tap.h, <pthread.h>, <poll.h>,
 * <sys/socket.h>, <netinet/in.h>, <arpa/inet.h>, <string.h>, <strings.h>,
 * <time.h> and <unistd.h> before it.
 */
#ifndef SM_TESTS_FAKE_AWS_H
#define SM_TESTS_FAKE_AWS_H 1

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ======================================================= fake AWS server */

typedef struct {
  int status;          /* 0: read the request, never answer */
  const char *body;    /* reply body; NULL: "" */
  const char *headers; /* extra "Name: value\r\n" lines, or NULL */
} step_t;

#define MAX_REQS 32
#define MAX_CONNS 8

typedef struct {
  char *head; /* request line and headers, NUL-terminated */
  unsigned char *body;
  size_t body_len;
  long at_ms;    /* when it had fully arrived (now_ms) */
  int lock_free; /* the queue lock was free while it was in flight */
} req_t;

typedef struct {
  int fd;
  char *buf;
  size_t len, cap;
  int silent; /* a silent step: discard everything until the peer closes */
} conn_t;

typedef struct {
  int lfd, stop_r, stop_w, port;
  pthread_t th;
  const step_t *steps;
  size_t nsteps;
  pthread_mutex_t mu;
  req_t reqs[MAX_REQS];
  size_t nreqs;           /* requests seen, recorded or not */
  size_t extra;           /* requests beyond the script */
  pthread_mutex_t *qlock; /* probed with trylock on each request */
} srv_t;

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  }
  return "Whatever";
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

static void reply(conn_t *c, const step_t *st) {
  static const step_t unscripted = {
      400,
      "{\"__type\":\"UnscriptedRequest\",\"message\":\"no reply was "
      "scripted for this request\"}",
      NULL};
  const char *body;
  char *msg;
  size_t size;
  int n;

  if (st == NULL)
    st = &unscripted;
  body = st->body ? st->body : "";
  size = strlen(body) + (st->headers ? strlen(st->headers) : 0) + 512;
  msg = malloc(size);
  if (msg == NULL)
    return;
  n = snprintf(msg, size,
               "HTTP/1.1 %d %s\r\n"
               "x-amzn-RequestId: 00000000-1111-2222-3333-444444444444\r\n"
               "Content-Type: " CTYPE "\r\n"
               "Content-Length: %zu\r\n"
               "%s\r\n%s",
               st->status, reason(st->status), strlen(body),
               st->headers ? st->headers : "", body);
  send_all(c->fd, msg, (size_t)n);
  free(msg);
}

/* One complete request: record it, then answer per the script. */
static void handle(srv_t *s, conn_t *c, char *head, const char *body,
                   size_t len) {
  const step_t *st = NULL;
  size_t idx;

  pthread_mutex_lock(&s->mu);
  idx = s->nreqs++;
  if (idx < s->nsteps)
    st = &s->steps[idx];
  else
    s->extra++;
  if (idx < MAX_REQS) {
    req_t *r = &s->reqs[idx];
    r->head = head;
    head = NULL;
    r->body = malloc(len + 1);
    if (r->body != NULL) {
      memcpy(r->body, body, len);
      r->body[len] = 0;
      r->body_len = len;
    }
    r->at_ms = now_ms();
    if (s->qlock != NULL && pthread_mutex_trylock(s->qlock) == 0) {
      r->lock_free = 1;
      pthread_mutex_unlock(s->qlock);
    }
  }
  pthread_mutex_unlock(&s->mu);
  free(head);
  if (st != NULL && st->status == 0)
    c->silent = 1;
  else
    reply(c, st);
}

static void conn_close(conn_t *c) {
  close(c->fd);
  c->fd = -1;
  c->len = 0;
  c->silent = 0;
}

static void conn_read(srv_t *s, conn_t *c) {
  ssize_t r;

  if (c->cap - c->len < 65536) {
    size_t cap = c->cap * 2 + 65536;
    char *b = realloc(c->buf, cap);
    if (b == NULL) {
      conn_close(c);
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
  if (r < 0 && errno == EINTR)
    return;
  if (r <= 0) {
    conn_close(c);
    return;
  }
  c->len += (size_t)r;
  while (!c->silent) {
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t hlen, cl = 0;
    char *head, *p;

    if (end == NULL)
      return;
    hlen = (size_t)(end + 4 - c->buf);
    head = strndup(c->buf, hlen);
    if (head == NULL)
      return;
    p = strcasestr(head, "\r\nContent-Length:");
    if (p != NULL)
      cl = strtoul(p + 17, NULL, 10);
    if (c->len < hlen + cl) {
      free(head);
      return;
    }
    handle(s, c, head, c->buf + hlen, cl);
    memmove(c->buf, c->buf + hlen + cl, c->len - hlen - cl);
    c->len -= hlen + cl;
  }
  c->len = 0;
}

static void *serve(void *arg) {
  srv_t *s = arg;
  conn_t conns[MAX_CONNS];

  memset(conns, 0, sizeof(conns));
  for (size_t i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  for (;;) {
    struct pollfd p[2 + MAX_CONNS];
    p[0] = (struct pollfd){.fd = s->stop_r, .events = POLLIN};
    p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    for (size_t i = 0; i < MAX_CONNS; i++)
      p[2 + i] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
    if (poll(p, 2 + MAX_CONNS, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents != 0)
      break;
    if (p[1].revents & POLLIN) {
      int fd = accept(s->lfd, NULL, NULL);
      size_t i;
      for (i = 0; fd >= 0 && i < MAX_CONNS; i++)
        if (conns[i].fd < 0) {
          conns[i].fd = fd;
          break;
        }
      if (fd >= 0 && i == MAX_CONNS)
        close(fd);
    }
    for (size_t i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0 && p[2 + i].fd == conns[i].fd &&
          p[2 + i].revents != 0)
        conn_read(s, &conns[i]);
  }
  for (size_t i = 0; i < MAX_CONNS; i++) {
    if (conns[i].fd >= 0)
      close(conns[i].fd);
    free(conns[i].buf);
  }
  return NULL;
}

static int srv_start(srv_t *s, const step_t *steps, size_t n,
                     pthread_mutex_t *qlock) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t salen = sizeof(sa);
  int pfd[2];

  memset(s, 0, sizeof(*s));
  s->steps = steps;
  s->nsteps = n;
  s->qlock = qlock;
  pthread_mutex_init(&s->mu, NULL);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(s->lfd, 16) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&sa, &salen) != 0 ||
      pipe(pfd) != 0)
    return -1;
  s->stop_r = pfd[0];
  s->stop_w = pfd[1];
  s->port = ntohs(sa.sin_port);
  return pthread_create(&s->th, NULL, serve, s) == 0 ? 0 : -1;
}

static size_t srv_count(srv_t *s) {
  size_t n;
  pthread_mutex_lock(&s->mu);
  n = s->nreqs;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* Stops the thread and checks the script was used up exactly. */
static void srv_stop(srv_t *s, const char *what) {
  if (write(s->stop_w, "x", 1) != 1)
    T_NOTE("could not wake the server");
  pthread_join(s->th, NULL);
  close(s->lfd);
  close(s->stop_r);
  close(s->stop_w);
  T_EQ_INT(s->nreqs - s->extra, s->nsteps, what);
  if (!T_OK(s->extra == 0, "%s: no request beyond the script", what))
    T_NOTE("%zu unscripted requests", s->extra);
  for (size_t i = 0; i < MAX_REQS; i++) {
    free(s->reqs[i].head);
    free(s->reqs[i].body);
  }
  pthread_mutex_destroy(&s->mu);
}

/* A header's value (first occurrence, trimmed) into buf, or NULL. */
static const char *hdr(const req_t *r, const char *name, char *buf,
                       size_t size) {
  const char *p = r->head ? strstr(r->head, "\r\n") : NULL;
  size_t nl = strlen(name);

  while (p != NULL && p[2] != '\r' && p[2] != 0) {
    const char *line = p + 2, *eol = strstr(line, "\r\n");
    if (eol == NULL)
      break;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1;
      size_t n;
      while (*v == ' ' || *v == '\t')
        v++;
      n = (size_t)(eol - v);
      while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
      if (n >= size)
        n = size - 1;
      memcpy(buf, v, n);
      buf[n] = 0;
      return buf;
    }
    p = eol;
  }
  return NULL;
}

#endif /* SM_TESTS_FAKE_AWS_H */
