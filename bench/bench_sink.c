/* SPDX-License-Identifier: MIT */
/*
 * bench_sink: the benchmark's local HTTP server on 127.0.0.1. It answers
 * every POST the way CloudWatch (AWS JSON 1.0 and 1.1) answers a request
 * it accepts, so it stands in for CloudWatch, CloudWatch Logs and
 * write_http's server alike, and logs one line per request:
 *
 *   accepted_us target wire_bytes body_bytes raw_bytes items
 *
 * accepted_us: wall clock when the answer was sent; target: the
 * X-Amz-Target operation, or "-"; wire_bytes: request line, headers and
 * body as received; body_bytes: the body as sent (gzip-compressed or
 * not); raw_bytes: the body decompressed; items: datums of a
 * PutMetricData, events of a PutLogEvents, value lists of write_http's
 * JSON.
 *
 * With --bodies FILE, each PutMetricData body (decompressed, newlines
 * made spaces) is also written as a line "accepted_us body". SIGUSR1
 * toggles an outage, in which every request is answered 503
 * ServiceUnavailable (CloudWatch's retryable error). SIGTERM ends it.
 *
 * One thread, poll(2), zlib. Build: cc -O2 -o bench_sink bench_sink.c -lz
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SINK_CONN_MAX 64
#define SINK_HEADER_MAX 16384
#define SINK_BODY_MAX ((size_t)64 * 1024 * 1024) /* above any AWS limit */
#define SINK_READ_CHUNK 65536

static volatile sig_atomic_t stop;
static volatile sig_atomic_t outage;

typedef struct {
  int fd;
  char *buf;
  size_t len, cap;
  bool continued; /* 100 Continue sent for the request being read */
} conn_t;

typedef struct {
  FILE *log;
  FILE *bodies;
  unsigned char *raw; /* decompression buffer */
  size_t raw_cap;
} sink_t;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void on_usr1(int sig) {
  (void)sig;
  outage = !outage;
}

static uint64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int conn_room(conn_t *c, size_t extra) {
  if (c->cap - c->len >= extra)
    return 0;
  size_t cap = c->cap ? c->cap : SINK_READ_CHUNK;
  while (cap - c->len < extra)
    cap *= 2;
  char *p = realloc(c->buf, cap);
  if (p == NULL)
    return -1;
  c->buf = p;
  c->cap = cap;
  return 0;
}

/* The value of header name (without ": ") within hdr, copied to out; ""
 * when absent. */
static void header_get(const char *hdr, size_t hlen, const char *name,
                       char *out, size_t outlen) {
  size_t nlen = strlen(name);
  const char *p = memchr(hdr, '\n', hlen); /* skip the request line */

  out[0] = 0;
  while (p != NULL && (size_t)(p + 1 - hdr) < hlen) {
    const char *line = p + 1;
    const char *end = memchr(line, '\n', hlen - (size_t)(line - hdr));
    if (end == NULL)
      break;
    if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
        line[nlen] == ':') {
      const char *v = line + nlen + 1;
      while (v < end && (*v == ' ' || *v == '\t'))
        v++;
      size_t n = (size_t)(end - v);
      if (n > 0 && v[n - 1] == '\r')
        n--;
      if (n >= outlen)
        n = outlen - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return;
    }
    p = end;
  }
}

static size_t count_needle(const unsigned char *s, size_t len,
                           const char *needle) {
  size_t n = 0, nl = strlen(needle);
  const unsigned char *p = s, *end = s + len;
  while (p < end) {
    const unsigned char *q = memmem(p, (size_t)(end - p), needle, nl);
    if (q == NULL)
      break;
    n++;
    p = q + nl;
  }
  return n;
}

/* Inflates a gzip body into sk->raw. Returns the length, or -1. */
static long gunzip(sink_t *sk, const char *in, size_t len) {
  z_stream z;
  int rc;

  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return -1;
  z.next_in = (unsigned char *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  for (;;) {
    if (sk->raw_cap - z.total_out < SINK_READ_CHUNK) {
      size_t cap = sk->raw_cap ? sk->raw_cap * 2 : 1024 * 1024;
      unsigned char *p =
          cap <= 4 * SINK_BODY_MAX ? realloc(sk->raw, cap) : NULL;
      if (p == NULL) {
        inflateEnd(&z);
        return -1;
      }
      sk->raw = p;
      sk->raw_cap = cap;
    }
    z.next_out = sk->raw + z.total_out;
    z.avail_out = (uInt)(sk->raw_cap - z.total_out);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END)
      break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&z);
      return -1;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      inflateEnd(&z);
      return -1;
    }
  }
  long out = (long)z.total_out;
  inflateEnd(&z);
  return out;
}

static int send_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0)
      return -1;
    s += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Handles every complete request in c's buffer. Returns -1 to close. */
static int serve(sink_t *sk, conn_t *c) {
  for (;;) {
    char *hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
    char val[256], target[128];
    size_t hlen, blen, raw_len;
    const char *body, *op;
    const unsigned char *raw;
    char answer[512];
    int alen;

    if (hend == NULL)
      return c->len > SINK_HEADER_MAX ? -1 : 0;
    hlen = (size_t)(hend + 4 - c->buf);
    header_get(c->buf, hlen, "Content-Length", val, sizeof(val));
    blen = (size_t)strtoull(val, NULL, 10);
    if (blen > SINK_BODY_MAX)
      return -1;
    header_get(c->buf, hlen, "Expect", val, sizeof(val));
    if (strcasecmp(val, "100-continue") == 0 && !c->continued) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      if (send_all(c->fd, cont, sizeof(cont) - 1) != 0)
        return -1;
      c->continued = true;
    }
    if (c->len < hlen + blen)
      return 0;

    body = c->buf + hlen;
    header_get(c->buf, hlen, "X-Amz-Target", target, sizeof(target));
    op = strrchr(target, '.');
    op = op != NULL ? op + 1 : target[0] ? target : "-";
    header_get(c->buf, hlen, "Content-Encoding", val, sizeof(val));
    raw = (const unsigned char *)body;
    raw_len = blen;
    if (strcasecmp(val, "gzip") == 0) {
      long n = gunzip(sk, body, blen);
      if (n < 0) {
        fprintf(stderr, "bench_sink: a gzip body that does not inflate\n");
        return -1;
      }
      raw = sk->raw;
      raw_len = (size_t)n;
    }

    if (outage) {
      static const char err[] =
          "{\"__type\":\"ServiceUnavailable\",\"message\":\"outage\"}";
      alen = snprintf(answer, sizeof(answer),
                      "HTTP/1.1 503 Service Unavailable\r\n"
                      "Content-Type: application/x-amz-json-1.0\r\n"
                      "Content-Length: %zu\r\n\r\n%s",
                      sizeof(err) - 1, err);
    } else {
      alen =
          snprintf(answer, sizeof(answer),
                   "HTTP/1.1 200 OK\r\n"
                   "Content-Type: application/x-amz-json-1.0\r\n"
                   "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n"
                   "Content-Length: 2\r\n\r\n{}");
    }
    if (send_all(c->fd, answer, (size_t)alen) != 0)
      return -1;

    if (!outage) {
      uint64_t now = wall_us();
      size_t items;
      if (strcmp(op, "PutMetricData") == 0)
        items = count_needle(raw, raw_len, "\"MetricName\"");
      else if (strcmp(op, "PutLogEvents") == 0)
        items = count_needle(raw, raw_len, "\"message\"");
      else
        items = count_needle(raw, raw_len, "\"values\"");
      fprintf(sk->log, "%" PRIu64 " %s %zu %zu %zu %zu\n", now, op, hlen + blen,
              blen, raw_len, items);
      if (sk->bodies != NULL && strcmp(op, "PutMetricData") == 0) {
        fprintf(sk->bodies, "%" PRIu64 " ", now);
        for (size_t i = 0; i < raw_len; i++)
          fputc(raw[i] == '\n' || raw[i] == '\r' ? ' ' : raw[i], sk->bodies);
        fputc('\n', sk->bodies);
      }
    }
    c->continued = false;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
  }
}

static void usage(void) {
  fputs("Usage: bench_sink --port-file FILE --log FILE [--bodies FILE] "
        "[--port N]\n",
        stderr);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"port", required_argument, NULL, 'p'},
      {"port-file", required_argument, NULL, 'f'},
      {"log", required_argument, NULL, 'l'},
      {"bodies", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *port_file = NULL, *log_path = NULL, *bodies_path = NULL;
  int port = 0, opt, lfd;
  struct sockaddr_in sa;
  socklen_t salen = sizeof(sa);
  conn_t conns[SINK_CONN_MAX];
  size_t nconn = 0;
  sink_t sk;
  struct sigaction act;
  FILE *pf;

  memset(&sk, 0, sizeof(sk));
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'p':
      port = atoi(optarg);
      break;
    case 'f':
      port_file = optarg;
      break;
    case 'l':
      log_path = optarg;
      break;
    case 'b':
      bodies_path = optarg;
      break;
    default:
      usage();
      return opt == 'h' ? 0 : 2;
    }
  }
  if (port_file == NULL || log_path == NULL) {
    usage();
    return 2;
  }
  sk.log = fopen(log_path, "w");
  if (sk.log == NULL ||
      (bodies_path != NULL && (sk.bodies = fopen(bodies_path, "w")) == NULL)) {
    perror("bench_sink: opening the log");
    return 1;
  }

  memset(&act, 0, sizeof(act));
  act.sa_handler = on_term;
  sigaction(SIGTERM, &act, NULL);
  sigaction(SIGINT, &act, NULL);
  act.sa_handler = on_usr1;
  sigaction(SIGUSR1, &act, NULL);

  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  opt = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(lfd, 128) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
    perror("bench_sink: listening on 127.0.0.1");
    return 1;
  }
  pf = fopen(port_file, "w");
  if (pf == NULL || fprintf(pf, "%d\n", ntohs(sa.sin_port)) < 0 ||
      fclose(pf) != 0) {
    perror("bench_sink: writing the port file");
    return 1;
  }

  while (!stop) {
    struct pollfd pfd[SINK_CONN_MAX + 1];
    pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    for (size_t i = 0; i < nconn; i++)
      pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
    if (poll(pfd, nconn + 1, 200) < 0)
      continue; /* EINTR: a signal */
    if ((pfd[0].revents & POLLIN) && nconn < SINK_CONN_MAX) {
      int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0)
        conns[nconn++] = (conn_t){.fd = fd};
    }
    for (size_t i = nconn; i-- > 0;) {
      conn_t *c = &conns[i];
      bool closed = false;
      if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      for (;;) {
        ssize_t n;
        if (c->len > SINK_HEADER_MAX + SINK_BODY_MAX ||
            conn_room(c, SINK_READ_CHUNK) != 0) {
          closed = true;
          break;
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
          c->len += (size_t)n;
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
          break;
        closed = true; /* EOF or error */
        break;
      }
      if (serve(&sk, c) != 0)
        closed = true;
      if (closed) {
        close(c->fd);
        free(c->buf);
        conns[i] = conns[--nconn];
      }
    }
  }
  fflush(sk.log);
  if (sk.bodies != NULL)
    fflush(sk.bodies);
  return 0;
}
