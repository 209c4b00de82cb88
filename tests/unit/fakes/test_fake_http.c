/* SPDX-License-Identifier: MIT */
/*
 * fake_http, the scripted server the other tests trust, against a client
 * written here with bare sockets, so that every byte it answers is seen
 * as sent: the script in order on a kept connection, headers, sized and
 * chunked bodies (the chunks decoded here), unscripted requests, delays
 * that hold up one connection and not the others, silence, closing, raw
 * bytes, "Connection: close", routing by a callback, the probed lock, a
 * Unix socket, the limits (head, body, connections, records),
 * 100-continue, pipelined requests, reset, stop with connections open (no
 * descriptor left), and fake_http_serve_fd.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_http.h"
#include "tap.h"

/* ================================================================ client */

static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

static int connect_tcp(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((unsigned short)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int connect_unix(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (strlen(path) >= sizeof(sa.sun_path))
    return -1;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_str(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

typedef struct {
  char buf[8192];
  size_t len;
  int eof; /* the server hung up */
} reply_t;

/* Is buf one complete answer (sized, or chunked to its last chunk)? */
static int complete(const char *buf, size_t len) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
  size_t hl;
  if (end == NULL)
    return 0;
  hl = (size_t)(end + 4 - buf);
  if (strncmp(buf, "HTTP/1.1 1", 10) == 0) /* 1xx: a head alone */
    return 1;
  if (memmem(buf, hl, "Transfer-Encoding: chunked", 26) != NULL)
    return len >= hl + 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0;
  cl = memmem(buf, hl, "Content-Length: ", 16);
  return cl != NULL && len >= hl + strtoul(cl + 16, NULL, 10);
}

/* Reads for at most ms: until the server hangs up, or, with one_answer,
 * until one whole answer is in. */
static void read_until(int fd, reply_t *r, int ms, int one_answer) {
  long t0 = fake_http_now_ms();
  memset(r, 0, sizeof(*r));
  while (r->len < sizeof(r->buf) - 1) {
    long left = ms - (fake_http_now_ms() - t0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t n;
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      break;
    n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
    if (n <= 0) {
      r->eof = 1;
      break;
    }
    r->len += (size_t)n;
    r->buf[r->len] = 0;
    if (one_answer && complete(r->buf, r->len))
      break;
  }
}

static void read_reply(int fd, reply_t *r, int ms) { read_until(fd, r, ms, 1); }

/* Decodes a chunked body in place, checking each chunk's size against
 * 1, 2, ..., 7, 1, ...; returns its length or -1. */
static long dechunk(const char *in, char *out, size_t cap) {
  size_t len = 0, want = 1;
  for (;;) {
    char *end;
    unsigned long n = strtoul(in, &end, 16);
    if (end == in || strncmp(end, "\r\n", 2) != 0)
      return -1;
    if (n == 0)
      return strcmp(end, "\r\n\r\n") == 0 ? (long)len : -1;
    if (n != want && strncmp(end + 2 + n, "\r\n0\r\n", 5) != 0)
      return -1; /* only the last chunk may be short */
    if (len + n >= cap || strncmp(end + 2 + n, "\r\n", 2) != 0)
      return -1;
    memcpy(out + len, end + 2, n);
    len += n;
    out[len] = 0;
    in = end + 2 + n + 2;
    want = want % 7 + 1;
  }
}

static const char *body_of(const reply_t *r) {
  const char *p = strstr(r->buf, "\r\n\r\n");
  return p ? p + 4 : "";
}

static void wait_requests(fake_http_t *s, size_t n) {
  long t0 = fake_http_now_ms();
  while (fake_http_stats(s).requests < n && fake_http_now_ms() - t0 < 2000)
    usleep(2000);
}

static void wait_connections(fake_http_t *s, size_t n) {
  long t0 = fake_http_now_ms();
  while (fake_http_stats(s).connections < n && fake_http_now_ms() - t0 < 2000)
    usleep(2000);
}

/* A server for the case; none at all ends the run (nothing else could be
 * checked). */
static fake_http_t *start(const fake_http_config_t *cfg, const char *what) {
  char err[256] = "";
  fake_http_t *s = fake_http_start(cfg, err, sizeof(err));
  if (!T_OK(s != NULL, "%s: starts", what)) {
    printf("Bail out! %s\n", err);
    exit(1);
  }
  return s;
}

/* req on a new connection to s, and what comes back within ms (one whole
 * answer, or up to the hang-up); returns the connection, left open. */
static int ask(fake_http_t *s, const char *req, reply_t *a, int ms) {
  int fd = connect_tcp(fake_http_port(s));
  send_str(fd, req);
  read_reply(fd, a, ms);
  return fd;
}

/* ================================================================= cases */

static void test_script(void) {
  static const fake_http_step_t steps[] = {
      {.status = 200, .headers = "X-A:  one \r\n", .body = "hello"},
      {.status = 404, .chunked = 1, .body = "abcdefghijklmnopqrstuvwxyz"},
  };
  fake_http_config_t cfg = {
      .steps = steps, .nsteps = 2, .headers = "Server: fake\r\n"};
  char v[64], dec[64];
  fake_http_t *s = start(&cfg, "script");
  const fake_http_request_t *r;
  fake_http_stats_t st;
  reply_t a;
  long t0 = fake_http_now_ms();
  int fd;

  T_OK(fake_http_port(s) > 0, "script: an ephemeral port");
  snprintf(v, sizeof(v), "http://127.0.0.1:%d", fake_http_port(s));
  T_EQ_STR(fake_http_url(s), v, "script: the URL names it");
  fd = ask(s,
           "POST /p?q=1 HTTP/1.1\r\nHost: x\r\ncontent-length: 7\r\n"
           "X-Token:\t  tok  \r\n\r\n{\"a\":1}",
           &a, 2000);
  T_EQ_STR(a.buf,
           "HTTP/1.1 200 OK\r\nServer: fake\r\nX-A:  one \r\n"
           "Content-Length: 5\r\n\r\nhello",
           "script: step 1, byte for byte");
  r = fake_http_request(s, 0);
  if (T_OK(r != NULL, "script: request 1 recorded")) {
    T_EQ_STR(r->method, "POST", "script: method");
    T_EQ_STR(r->target, "/p?q=1", "script: target");
    T_OK(r->body_len == 7 && memcmp(r->body, "{\"a\":1}", 8) == 0,
         "script: body, NUL-terminated");
    T_EQ_STR(fake_http_header(r, "x-token", v, sizeof(v)), "tok",
             "script: a header, any case, blanks trimmed");
    T_EQ_STR(fake_http_header(r, "Content-Length", v, 2), "7",
             "script: a header cut to the buffer");
    T_OK(fake_http_header(r, "X-Tok", v, sizeof(v)) == NULL,
         "script: a prefix of a name is not the name");
    T_OK(strncmp(r->head, "POST /p?q=1 HTTP/1.1\r\n", 22) == 0 &&
             strcmp(r->head + strlen(r->head) - 4, "\r\n\r\n") == 0,
         "script: head from the request line to the blank line");
    T_OK(r->at_ms >= t0 && r->at_ms <= fake_http_now_ms(),
         "script: arrival time");
    T_EQ_INT(r->conn, 0, "script: first connection");
  }
  send_str(fd, "GET /c HTTP/1.1\r\n\r\n");
  read_reply(fd, &a, 2000);
  T_OK(strncmp(a.buf,
               "HTTP/1.1 404 Not Found\r\nServer: fake\r\n"
               "Transfer-Encoding: chunked\r\n\r\n",
               67) == 0,
       "script: step 2 chunked, on the kept connection");
  T_EQ_INT(dechunk(body_of(&a), dec, sizeof(dec)), 26,
           "script: chunks of 1..7 bytes");
  T_EQ_STR(dec, "abcdefghijklmnopqrstuvwxyz", "script: the body, whole");
  send_str(fd, "GET /more HTTP/1.1\r\n\r\n");
  read_reply(fd, &a, 2000);
  T_OK(strncmp(a.buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0 &&
           strstr(body_of(&a), "\"__type\":\"UnscriptedRequest\"") != NULL,
       "script: beyond it, 400 UnscriptedRequest");
  st = fake_http_stats(s);
  T_EQ_INT(st.requests, 3, "stats: 3 requests");
  T_EQ_INT(st.used, 2, "stats: 2 steps used");
  T_EQ_INT(st.extra, 1, "stats: 1 beyond the script");
  T_EQ_INT(st.connections, 1, "stats: 1 connection");
  T_OK(fake_http_request(s, 2) != NULL && fake_http_request(s, 3) == NULL,
       "records: the third, no fourth");
  close(fd);

  /* A new script on the same server. */
  {
    static const fake_http_step_t again[] = {{.status = 204}, {.status = 200}};
    fake_http_reset(s, again, 2);
    st = fake_http_stats(s);
    T_OK(st.requests == 0 && st.used == 0 && st.extra == 0 &&
             fake_http_request(s, 0) == NULL,
         "reset: counts and records cleared");
    fd = ask(s, "DELETE /x HTTP/1.1\r\n\r\n", &a, 2000);
    T_OK(strncmp(a.buf, "HTTP/1.1 204 No Content\r\n", 25) == 0,
         "reset: the new script answers");
    r = fake_http_request(s, 0);
    T_OK(r != NULL && r->conn == 1, "reset: the second connection is 1");
    close(fd);
  }

  /* A client that waits for 100 Continue before the body. */
  fd = ask(
      s, "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
      &a, 2000);
  T_EQ_STR(a.buf, "HTTP/1.1 100 Continue\r\n\r\n",
           "100-continue: before the body");
  send_str(fd, "abc");
  read_reply(fd, &a, 2000);
  T_OK(strncmp(a.buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "then the answer");
  T_OK(fake_http_request(s, 1) != NULL &&
           strcmp((char *)fake_http_request(s, 1)->body, "abc") == 0,
       "100-continue: the body recorded");
  close(fd);
  fake_http_free(s);
}

/* A delay holds up its own connection only. */
static void test_delay(void) {
  static const fake_http_step_t steps[] = {
      {.status = 200, .body = "late", .delay_ms = 300},
      {.status = 200, .body = "soon"},
  };
  fake_http_config_t cfg = {.steps = steps, .nsteps = 2};
  fake_http_t *s = start(&cfg, "delay");
  reply_t a, b;
  int fa, fb;
  long t0;

  fa = connect_tcp(fake_http_port(s));
  fb = connect_tcp(fake_http_port(s));
  t0 = fake_http_now_ms();
  send_str(fa, "GET /a HTTP/1.1\r\n\r\n");
  wait_requests(s, 1);
  send_str(fb, "GET /b HTTP/1.1\r\n\r\n");
  read_reply(fb, &b, 2000);
  T_OK(strcmp(body_of(&b), "soon") == 0 && fake_http_now_ms() - t0 < 250,
       "delay: another connection answered meanwhile (%ld ms)",
       fake_http_now_ms() - t0);
  read_reply(fa, &a, 2000);
  T_OK(strcmp(body_of(&a), "late") == 0, "delay: the delayed answer");
  T_OK(fake_http_now_ms() - t0 >= 290,
       "delay: not before its time (%ld ms for 300)", fake_http_now_ms() - t0);
  close(fa);
  close(fb);
  fake_http_free(s);
}

/* Silence, a close, raw bytes, Connection: close, pipelined requests. */
static void test_actions(void) {
  static const fake_http_step_t steps[] = {
      {.action = FAKE_HTTP_SILENT},
      {.action = FAKE_HTTP_CLOSE},
      {.action = FAKE_HTTP_RAW, .raw = "HTTP/1.1 200 OK\r\nContent-Length: 9"},
      {.status = 503, .body = "x", .close_after = 1},
      {.status = 200, .headers = "X-Order: 1\r\n"},
      {.status = 200, .headers = "X-Order: 2\r\n"},
  };
  fake_http_config_t cfg = {.steps = steps, .nsteps = 6};
  fake_http_t *s = start(&cfg, "actions");
  reply_t a;
  int fd = ask(s, "GET /silent HTTP/1.1\r\n\r\n", &a, 300);
  T_OK(a.len == 0 && !a.eof, "silent: no answer, connection open");
  send_str(fd, "GET /ignored HTTP/1.1\r\n\r\n");
  read_reply(fd, &a, 100);
  T_OK(a.len == 0 && !a.eof, "silent: what follows is discarded");
  T_EQ_INT(fake_http_stats(s).requests, 1,
           "silent: what follows is no request");
  close(fd);

  close(ask(s, "GET /close HTTP/1.1\r\n\r\n", &a, 2000));
  T_OK(a.len == 0 && a.eof, "close: hung up without a byte");

  close(ask(s, "GET /raw HTTP/1.1\r\n\r\n", &a, 2000));
  T_OK(a.eof && strcmp(a.buf, "HTTP/1.1 200 OK\r\nContent-Length: 9") == 0,
       "raw: the bytes as given, then hung up");

  fd = ask(s, "GET /bye HTTP/1.1\r\n\r\n", &a, 2000);
  T_EQ_STR(a.buf,
           "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1\r\n"
           "Connection: close\r\n\r\nx",
           "Connection: close: said in the answer");
  if (!a.eof)
    read_reply(fd, &a, 2000); /* the hang-up after the answer */
  T_OK(a.eof, "Connection: close: hung up after the answer");
  close(fd);

  /* Two requests in one write: two answers, in order. */
  fd = connect_tcp(fake_http_port(s));
  send_str(fd, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  wait_requests(s, 6);
  read_until(fd, &a, 200, 0);
  T_OK(strstr(a.buf, "X-Order: 1") != NULL &&
           strstr(a.buf, "X-Order: 1") < strstr(a.buf, "X-Order: 2"),
       "pipelined: two answers, in order");
  T_OK(fake_http_stats(s).requests == 6 &&
           strcmp(fake_http_request(s, 4)->target, "/1") == 0 &&
           strcmp(fake_http_request(s, 5)->target, "/2") == 0,
       "pipelined: both requests recorded, in order");
  close(fd);
  fake_http_free(s);
}

/* Routing by method, path and a header, as instance metadata does. */
static fake_http_pick_t route(void *ud, fake_http_request_t *req, size_t nth,
                              fake_http_step_t *ans) {
  char tok[64];
  int *calls = ud;
  (*calls)++;
  req->mark = (int)nth + 100;
  if (strcmp(req->method, "PUT") == 0 && strcmp(req->target, "/token") == 0) {
    ans->status = 200;
    ans->body = "TOKEN";
    return FAKE_HTTP_PICKED;
  }
  if (strcmp(req->target, "/scripted") == 0)
    return FAKE_HTTP_NEXT_STEP;
  if (strcmp(req->method, "GET") != 0 || strcmp(req->target, "/data") != 0)
    return FAKE_HTTP_UNSCRIPTED;
  if (fake_http_header(req, "X-Token", tok, sizeof(tok)) == NULL ||
      strcmp(tok, "TOKEN") != 0) {
    ans->status = 401;
    return FAKE_HTTP_PICKED;
  }
  ans->status = 200;
  ans->body = "data";
  return FAKE_HTTP_PICKED;
}

static void test_pick(void) {
  static const fake_http_step_t steps[] = {{.status = 202, .body = "s"}};
  static const fake_http_step_t unscripted = {.status = 400, .body = "?"};
  int calls = 0;
  fake_http_config_t cfg = {.steps = steps,
                            .nsteps = 1,
                            .pick = route,
                            .pick_ud = &calls,
                            .unscripted = &unscripted};
  fake_http_t *s = start(&cfg, "pick");
  /* What is asked, what must come back, and why. */
  static const struct {
    const char *req, *want, *why;
  } cases[] = {
      {"GET /data HTTP/1.1\r\n\r\n", "HTTP/1.1 401 ", "no token: 401"},
      {"PUT /token HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5",
       "the token"},
      {"GET /data HTTP/1.1\r\nX-Token: TOKEN\r\n\r\n", "HTTP/1.1 200 ",
       "with the token: 200"},
      {"GET /scripted HTTP/1.1\r\n\r\n", "HTTP/1.1 202 ", "left to the script"},
      {"GET /scripted HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ",
       "left to the script, which is used up"},
      {"POST /data HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ",
       "told unscripted: the configured answer"},
  };
  fake_http_stats_t st;
  int fd = connect_tcp(fake_http_port(s));

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    reply_t a;
    send_str(fd, cases[i].req);
    read_reply(fd, &a, 2000);
    T_OK(strncmp(a.buf, cases[i].want, strlen(cases[i].want)) == 0,
         "pick: %s (%.*s)", cases[i].why, (int)strcspn(cases[i].req, "\r"),
         cases[i].req);
  }
  close(fd);
  st = fake_http_stats(s);
  T_EQ_INT(calls, 6, "pick: called once a request");
  T_OK(st.used == 1 && st.extra == 2,
       "pick: the script when asked, beyond it twice (used %zu, extra %zu)",
       st.used, st.extra);
  T_EQ_INT(fake_http_request(s, 4)->mark, 104, "pick: its mark recorded");
  fake_http_free(s);
}

/* The probed lock: free, then held by this thread while a request is in
 * flight. */
static void test_probe(void) {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static const fake_http_step_t steps[] = {{.status = 200}, {.status = 200}};
  fake_http_config_t cfg = {.steps = steps, .nsteps = 2, .probe_lock = &lock};
  fake_http_t *s = start(&cfg, "probe");
  reply_t a;
  int fd = ask(s, "GET /free HTTP/1.1\r\n\r\n", &a, 2000);

  pthread_mutex_lock(&lock);
  send_str(fd, "GET /held HTTP/1.1\r\n\r\n");
  read_reply(fd, &a, 2000);
  pthread_mutex_unlock(&lock);
  close(fd);
  T_OK(fake_http_request(s, 0) != NULL && fake_http_request(s, 0)->lock_free,
       "probe: free while the first request was in flight");
  T_OK(fake_http_request(s, 1) != NULL && !fake_http_request(s, 1)->lock_free,
       "probe: held while the second was");
  fake_http_free(s);
  pthread_mutex_destroy(&lock);
}

static void test_unix(void) {
  char dir[] = "/tmp/fake-http-test-XXXXXX", path[64], err[256];
  static const fake_http_step_t steps[] = {{.status = 200, .body = "u"}};
  fake_http_config_t cfg = {.steps = steps, .nsteps = 1};
  fake_http_t *s;
  struct stat sb;
  reply_t a;
  int fd;

  if (!T_OK(mkdtemp(dir) != NULL, "unix: a directory"))
    return;
  snprintf(path, sizeof(path), "%s/rt.sock", dir);
  cfg.unix_path = path;
  s = start(&cfg, "unix");
  T_EQ_INT(fake_http_port(s), 0, "unix: no port");
  fd = connect_unix(path);
  send_str(fd, "GET /v1/snapshot HTTP/1.1\r\nHost: localhost\r\n\r\n");
  read_reply(fd, &a, 2000);
  T_EQ_STR(a.buf, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nu",
           "unix: answered");
  close(fd);
  fake_http_free(s);
  T_OK(lstat(path, &sb) != 0 && errno == ENOENT,
       "unix: the socket file removed on stop");

  /* A socket file left behind is replaced; a regular file is not. */
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  }
  close(fd);
  s = fake_http_start(&cfg, err, sizeof(err));
  T_OK(s != NULL, "unix: a stale socket file is replaced");
  fake_http_free(s);
  close(creat(path, 0600));
  s = fake_http_start(&cfg, err, sizeof(err));
  T_OK(s == NULL && strstr(err, "not a socket") && strstr(err, path),
       "unix: a regular file is left alone: %s", err);
  unlink(path);
  rmdir(dir);
}

static void test_limits(void) {
  fake_http_config_t cfg = {0};
  fake_http_t *s = start(&cfg, "limits");
  static const struct {
    const char *what, *req, *want;
  } bad[] = {
      {"a length past 64 bits",
       "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
       "HTTP/1.1 413 "},
      {"a body over the maximum",
       "GET / HTTP/1.1\r\nContent-Length: 8388609\r\n\r\n", "HTTP/1.1 413 "},
      {"a length not a number", "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
       "HTTP/1.1 400 "},
      {"a chunked request",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 501 "},
      {"no version", "GET /\r\n\r\n", "HTTP/1.1 400 "},
      {"not HTTP/1.x", "GET / SPDY/3\r\n\r\n", "HTTP/1.1 400 "},
      {"a method too long", "AVERYVERYLONGMETHOD / HTTP/1.1\r\n\r\n",
       "HTTP/1.1 400 "},
  };
  char *big;
  reply_t a;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    close(ask(s, bad[i].req, &a, 2000));
    T_OK(strncmp(a.buf, bad[i].want, 13) == 0, "refused: %s -> %.12s",
         bad[i].what, bad[i].want);
  }
  /* A head that never ends. */
  big = malloc(FAKE_HTTP_MAX_HEAD + 2);
  memset(big, 'a', FAKE_HTTP_MAX_HEAD + 1);
  memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
  big[FAKE_HTTP_MAX_HEAD + 1] = 0;
  close(ask(s, big, &a, 2000));
  T_OK(strncmp(a.buf, "HTTP/1.1 431 ", 13) == 0,
       "refused: a head over %d bytes -> 431", FAKE_HTTP_MAX_HEAD);
  free(big);
  T_EQ_INT(fake_http_stats(s).refused, 8, "limits: 8 refused");
  T_EQ_INT(fake_http_stats(s).requests, 0, "limits: none of them a request");

  fake_http_free(s);
}

/* One connection over the maximum is hung up on. */
static void test_connections(void) {
  fake_http_config_t cfg = {0};
  fake_http_t *s = start(&cfg, "connections");
  int fds[FAKE_HTTP_MAX_CONNS + 1];
  reply_t a;

  for (int i = 0; i < FAKE_HTTP_MAX_CONNS; i++)
    fds[i] = connect_tcp(fake_http_port(s));
  wait_connections(s, FAKE_HTTP_MAX_CONNS);
  fds[FAKE_HTTP_MAX_CONNS] = connect_tcp(fake_http_port(s));
  read_reply(fds[FAKE_HTTP_MAX_CONNS], &a, 2000);
  T_OK(a.eof && a.len == 0, "connection %d: hung up on",
       FAKE_HTTP_MAX_CONNS + 1);
  T_EQ_INT(fake_http_stats(s).refused, 1, "connections: counted as refused");
  T_EQ_INT(fake_http_stats(s).connections, FAKE_HTTP_MAX_CONNS,
           "connections: the others accepted");
  for (int i = 0; i <= FAKE_HTTP_MAX_CONNS; i++)
    close(fds[i]);
  fake_http_free(s);
}

/* Records beyond the maximum are counted, not kept. */
static void test_records(void) {
  fake_http_config_t cfg = {0};
  fake_http_t *s = start(&cfg, "records");
  reply_t a;
  int fd = connect_tcp(fake_http_port(s)), answered = 0;

  for (int i = 0; i < FAKE_HTTP_MAX_RECORDS + 2; i++) {
    send_str(fd, "GET / HTTP/1.1\r\n\r\n");
    read_reply(fd, &a, 2000);
    answered += strncmp(a.buf, "HTTP/1.1 400 ", 13) == 0;
  }
  close(fd);
  T_EQ_INT(answered, FAKE_HTTP_MAX_RECORDS + 2, "records: all answered");
  T_EQ_INT(fake_http_stats(s).requests, FAKE_HTTP_MAX_RECORDS + 2,
           "records: all counted");
  T_OK(fake_http_request(s, FAKE_HTTP_MAX_RECORDS - 1) != NULL &&
           fake_http_request(s, FAKE_HTTP_MAX_RECORDS) == NULL,
       "records: the first %d kept", FAKE_HTTP_MAX_RECORDS);
  fake_http_free(s);
}

/* Stop with a silent connection, a delayed answer and an idle connection
 * open: prompt, and every descriptor closed. */
static void test_stop(void) {
  static const fake_http_step_t steps[] = {
      {.action = FAKE_HTTP_SILENT},
      {.status = 200, .delay_ms = 5000},
  };
  fake_http_config_t cfg = {.steps = steps, .nsteps = 2};
  int before = open_fds();
  fake_http_t *s = start(&cfg, "stop");
  int fa, fb, fc;
  reply_t a;
  long t0;

  fa = connect_tcp(fake_http_port(s));
  fb = connect_tcp(fake_http_port(s));
  fc = connect_tcp(fake_http_port(s));
  send_str(fa, "GET /a HTTP/1.1\r\n\r\n");
  wait_requests(s, 1);
  send_str(fb, "GET /b HTTP/1.1\r\n\r\n");
  wait_requests(s, 2);
  wait_connections(s, 3);
  t0 = fake_http_now_ms();
  fake_http_stop(s);
  T_OK(fake_http_now_ms() - t0 < 500, "stop: prompt (%ld ms)",
       fake_http_now_ms() - t0);
  read_reply(fa, &a, 1000);
  T_OK(a.eof && a.len == 0, "stop: the silent connection closed");
  read_reply(fb, &a, 1000);
  T_OK(a.eof && a.len == 0, "stop: the delayed answer never sent");
  read_reply(fc, &a, 1000);
  T_OK(a.eof, "stop: the idle connection closed");
  T_EQ_INT(fake_http_stats(s).requests, 2, "stop: stats still readable");
  fake_http_stop(s);
  fake_http_free(s);
  close(fa);
  close(fb);
  close(fc);
  T_EQ_INT(open_fds(), before, "stop: no descriptor left open");
}

static void test_serve_fd(void) {
  static const fake_http_step_t st = {.status = 200, .body = "one"};
  fake_http_request_t r;
  reply_t a;
  int sv[2];
  long n, t0;

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  send_str(sv[0], "GET /v1/x HTTP/1.1\r\nHost: h\r\n\r\n");
  n = fake_http_serve_fd(sv[1], &st, 1000, &r);
  T_EQ_INT(n, 31, "serve_fd: the bytes received");
  T_OK(strcmp(r.method, "GET") == 0 && strcmp(r.target, "/v1/x") == 0,
       "serve_fd: the request recorded");
  fake_http_request_clear(&r);
  read_reply(sv[0], &a, 1000);
  T_EQ_STR(a.buf, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
           "serve_fd: the answer");
  t0 = fake_http_now_ms();
  n = fake_http_serve_fd(sv[1], &st, 200, NULL);
  T_OK(n == -1 && fake_http_now_ms() - t0 >= 190 &&
           fake_http_now_ms() - t0 < 1000,
       "serve_fd: nothing sent: -1 at the timeout (%ld ms for 200)",
       fake_http_now_ms() - t0);
  close(sv[0]);
  T_EQ_INT(fake_http_serve_fd(sv[1], &st, 1000, NULL), 0,
           "serve_fd: a hang-up before a byte: 0");
  close(sv[1]);
}

int main(void) {
  test_script();
  test_delay();
  test_actions();
  test_pick();
  test_probe();
  test_unix();
  test_limits();
  test_connections();
  test_records();
  test_stop();
  test_serve_fd();
  return t_done();
}
