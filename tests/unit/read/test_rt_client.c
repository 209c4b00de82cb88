/* SPDX-License-Identifier: MIT */
/*
 * rt_client against a scripted server on a Unix socket: what a
 * runtime can do wrong (error status, early close, silence, garbage, a
 * body too large, no socket at all) and what it does right (chunked and
 * sized bodies, kept connections). Each answer checks the status, the
 * message and, for silence, that the deadline held. Then the check of
 * the socket file before connecting: owner, type, symbolic links. Last,
 * the check of the process behind a connected socket (SO_PEERCRED): a
 * socket file of the right owner served by a process of another uid, as
 * after a swap between the file check and the connect, is refused before
 * a byte is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rt_client.h"
#include "tap.h"

typedef enum {
  R_SIZED,     /* 200 with Content-Length */
  R_CHUNKED,   /* 200, chunked, in small pieces */
  R_STATUS503, /* 503 {"error":"runtime starting"} */
  R_CLOSE_MID, /* Content-Length promises more than is sent */
  R_SILENT,    /* reads the request, never answers */
  R_RAW,       /* body as given, 200 */
} reply_kind_t;

typedef struct {
  reply_kind_t kind;
  const char *body;
  bool close_after;
} reply_t;

typedef struct {
  int listen_fd;
  const reply_t *replies;
  size_t n;
  int connections;
  int served;
} server_t;

static const char SNAPSHOT[] =
    "{\"protocol\":1,\"boot_id\":\"b-1\",\"endpoint_name\":\"ep\","
    "\"variant_name\":\"AllTraffic\",\"instance_id\":\"i-1\","
    "\"instance_count\":3,\"time_ms\":1764187200123,\"backlog_size\":42,"
    "\"oldest_request_age_ms\":5300,\"in_flight\":4,\"max_concurrency\":4,"
    "\"next_seq\":1043}";

static const char PAGE[] =
    "{\"protocol\":1,\"boot_id\":\"b-1\",\"first_seq\":1000,\"next_seq\":1003,"
    "\"requests\":[{\"seq\":1001,\"inference_id\":\"a\",\"received_ms\":1,"
    "\"completed_ms\":2,\"outcome\":\"success\",\"backlog_us\":3,"
    "\"total_ms\":4},{\"seq\":1002,\"inference_id\":\"b\",\"received_ms\":1,"
    "\"completed_ms\":2,\"outcome\":\"expired\",\"backlog_us\":3,"
    "\"total_ms\":4}]}";

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w <= 0)
      return;
    buf += w;
    len -= (size_t)w;
  }
}

static int read_request(int fd) {
  char buf[4096];
  size_t have = 0;
  while (have < sizeof(buf) - 1) {
    ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
    if (r <= 0)
      return -1;
    have += (size_t)r;
    buf[have] = 0;
    if (strstr(buf, "\r\n\r\n") != NULL)
      return 0;
  }
  return -1;
}

static void answer(int fd, const reply_t *r) {
  char head[256];
  const char *body = r->body ? r->body : "";
  size_t len = strlen(body);
  const char *conn = r->close_after ? "Connection: close\r\n" : "";

  switch (r->kind) {
  case R_SIZED:
  case R_RAW:
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "%sContent-Length: %zu\r\n\r\n",
             conn, len);
    write_all(fd, head, strlen(head));
    write_all(fd, body, len);
    break;
  case R_CHUNKED:
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "%sTransfer-Encoding: chunked\r\n\r\n",
             conn);
    write_all(fd, head, strlen(head));
    for (size_t off = 0, step = 1; off < len;
         off += step, step = step % 7 + 1) {
      char size[32];
      if (step > len - off)
        step = len - off;
      snprintf(size, sizeof(size), "%zx\r\n", step);
      write_all(fd, size, strlen(size));
      write_all(fd, body + off, step);
      write_all(fd, "\r\n", 2);
    }
    write_all(fd, "0\r\n\r\n", 5);
    break;
  case R_STATUS503:
    body = "{\"error\":\"runtime starting\"}";
    snprintf(head, sizeof(head),
             "HTTP/1.1 503 Service Unavailable\r\n"
             "%sContent-Length: %zu\r\n\r\n",
             conn, strlen(body));
    write_all(fd, head, strlen(head));
    write_all(fd, body, strlen(body));
    break;
  case R_CLOSE_MID:
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len + 100);
    write_all(fd, head, strlen(head));
    write_all(fd, body, len);
    break;
  case R_SILENT:
    break;
  }
}

static void *serve(void *arg) {
  server_t *s = arg;
  int fd = -1;

  for (size_t i = 0; i < s->n; i++) {
    const reply_t *r = &s->replies[i];
    if (fd < 0) {
      fd = accept(s->listen_fd, NULL, NULL);
      if (fd < 0)
        return NULL;
      s->connections++;
    }
    if (read_request(fd) != 0) {
      close(fd);
      fd = -1;
      i--; /* the client reconnects for the same reply */
      continue;
    }
    answer(fd, r);
    s->served++;
    if (r->kind == R_SILENT) {
      /* Wait for the client to give up, then hang up. */
      char c;
      while (read(fd, &c, 1) > 0)
        ;
    }
    if (r->close_after || r->kind == R_CLOSE_MID || r->kind == R_SILENT) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0)
    close(fd);
  return NULL;
}

static int listen_on(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  unlink(path);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(fd, 4) != 0)
    return -1;
  return fd;
}

static long elapsed_ms(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int count_cb(const rt_record_t *rec, void *ud) {
  (void)rec;
  (*(int *)ud)++;
  return 0;
}

static void test_socket_check(void) {
  char dir[] = "/tmp/sm-owner-test-XXXXXX";
  char sock[64], link_path[64], plain[64], msg[512];
  uid_t me = geteuid();
  int fd;

  if (mkdtemp(dir) == NULL) {
    T_OK(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  snprintf(sock, sizeof(sock), "%s/rt.sock", dir);
  snprintf(link_path, sizeof(link_path), "%s/link.sock", dir);
  snprintf(plain, sizeof(plain), "%s/plain", dir);

  T_EQ_INT(rt_client_socket_check(sock, me, NULL, msg, sizeof(msg)),
           RT_CLIENT_SOCKET_ABSENT, "owner check: nothing at the path");
  fd = listen_on(sock);
  T_EQ_INT(rt_client_socket_check(sock, me, NULL, msg, sizeof(msg)),
           RT_CLIENT_SOCKET_OK, "owner check: a socket of ours passes");
  if (me != 0) {
    /* Not root: a socket of ours is of an unexpected owner when another
     * uid is expected. */
    char want[64];
    T_EQ_INT(rt_client_socket_check(sock, me + 1, "someone", msg, sizeof(msg)),
             RT_CLIENT_SOCKET_REFUSED, "owner check: another owner is refused");
    snprintf(want, sizeof(want), "owned by uid %lu", (unsigned long)me);
    T_OK(strstr(msg, sock) && strstr(msg, want) && strstr(msg, "(someone)") &&
             strstr(msg, "root"),
         "  naming the path, the owner and what was expected: %s", msg);
  } else {
    T_EQ_INT(chown(sock, 65534, 65534), 0, "chown the socket to uid 65534");
    T_EQ_INT(rt_client_socket_check(sock, 0, NULL, msg, sizeof(msg)),
             RT_CLIENT_SOCKET_REFUSED, "owner check: uid 65534 is refused");
    T_OK(strstr(msg, sock) && strstr(msg, "owned by uid 65534") &&
             strstr(msg, "expected root (uid 0)"),
         "  naming the path, the owner and what was expected: %s", msg);
    T_EQ_INT(rt_client_socket_check(sock, 65534, "nobody", msg, sizeof(msg)),
             RT_CLIENT_SOCKET_OK,
             "owner check: uid 65534 passes when expected");
  }
  T_EQ_INT(symlink(sock, link_path), 0, "a symbolic link to the socket");
  T_EQ_INT(rt_client_socket_check(link_path, me, NULL, msg, sizeof(msg)),
           RT_CLIENT_SOCKET_REFUSED, "owner check: a symbolic link is refused");
  T_OK(strstr(msg, "symbolic link") && strstr(msg, link_path),
       "  and says so: %s", msg);
  close(open(plain, O_WRONLY | O_CREAT, 0600));
  T_EQ_INT(rt_client_socket_check(plain, me, NULL, msg, sizeof(msg)),
           RT_CLIENT_SOCKET_REFUSED, "owner check: a regular file is refused");
  T_OK(strstr(msg, "not a socket") && strstr(msg, plain), "  and says so: %s",
       msg);
  close(fd);
  unlink(sock);
  unlink(link_path);
  unlink(plain);
  rmdir(dir);
}

/* A runtime behind a socket file owned by root whose process runs as
 * uid 65534: it binds as root, drops its privileges, then listens (the
 * peer credentials of a Unix socket are those at listen()). It reports
 * through a pipe how many bytes the client sent before hanging up. */
static void test_peer_check(void) {
  char dir[] = "/tmp/sm-peer-test-XXXXXX";
  char sock[64];
  int ready[2], report[2];
  pid_t child;
  rt_client_t *cl;
  rt_client_get_result_t res;
  rt_parser_t *p;
  char want[64], c;
  long got = -1;

  if (geteuid() != 0) {
    T_OK(1, "# SKIP the peer check needs root to serve as another uid");
    return;
  }
  if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0 || pipe(ready) != 0 ||
      pipe(report) != 0) {
    T_OK(0, "set up: %s", strerror(errno));
    return;
  }
  snprintf(sock, sizeof(sock), "%s/rt.sock", dir);
  child = fork();
  if (child == 0) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), conn;
    long n = 0;
    char buf[512];
    ssize_t r;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(sock, 0777) != 0 || setgid(65534) != 0 || setuid(65534) != 0 ||
        listen(fd, 4) != 0)
      _exit(2);
    if (write(ready[1], "r", 1) != 1)
      _exit(2);
    /* Two connections: the client that refuses it, then one that
     * expects uid 65534 and gets a snapshot. */
    for (int k = 0; k < 2; k++) {
      const reply_t snap = {R_SIZED, SNAPSHOT, true};
      conn = accept(fd, NULL, NULL);
      n = 0;
      while (conn >= 0 &&
             (r = read(conn, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0) {
        n += r;
        buf[n] = 0;
        if (strstr(buf, "\r\n\r\n") != NULL) {
          answer(conn, &snap);
          break;
        }
      }
      if (write(report[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
        _exit(2);
      close(conn);
    }
    _exit(0);
  }
  close(ready[1]);
  close(report[1]);
  T_EQ_INT(read(ready[0], &c, 1), 1,
           "peer check: the runtime of uid 65534 "
           "listens");
  {
    char msg[512];
    T_EQ_INT(rt_client_socket_check(sock, 0, NULL, msg, sizeof(msg)),
             RT_CLIENT_SOCKET_OK,
             "peer check: its socket file passes the "
             "owner check (root's)");
  }
  cl = rt_client_create(sock);
  rt_client_set_owner(cl, 0, NULL);
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_REFUSED, "peer check: refused");
  snprintf(want, sizeof(want), "pid %ld", (long)child);
  T_OK(strstr(res.message, sock) && strstr(res.message, "uid 65534") &&
           strstr(res.message, want) &&
           strstr(res.message, "expected root (uid 0)"),
       "  naming the socket, the uid found, its pid and what was expected: "
       "%s",
       res.message);
  rt_parser_destroy(p);
  rt_client_destroy(cl);
  T_EQ_INT(read(report[0], &got, sizeof(got)), (long)sizeof(got),
           "peer check: the runtime reports");
  T_EQ_INT(got, 0, "peer check: not a byte was sent to it");

  /* The same runtime, when uid 65534 is the expected owner, is read. */
  cl = rt_client_create(sock);
  rt_client_set_owner(cl, 65534, "nobody");
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_OK,
           "peer check: uid 65534 passes when expected");
  rt_parser_destroy(p);
  rt_client_destroy(cl);
  T_EQ_INT(read(report[0], &got, sizeof(got)), (long)sizeof(got),
           "peer check: the runtime reports again");
  T_OK(got > 0, "peer check: and got the request (%ld bytes)", got);
  waitpid(child, NULL, 0);
  close(ready[0]);
  close(report[0]);
  unlink(sock);
  rmdir(dir);
}

int main(void) {
  char path[108];
  const reply_t script[] = {
      {R_SIZED, SNAPSHOT, false},         /* 0: snapshot */
      {R_CHUNKED, PAGE, false},           /* 1: page, same connection */
      {R_STATUS503, NULL, false},         /* 2 */
      {R_CLOSE_MID, PAGE, false},         /* 3 */
      {R_SILENT, NULL, false},            /* 4 */
      {R_RAW, "{\"protocol\":1,", false}, /* 5: truncated document */
      {R_RAW, "[1,2]", false},            /* 6: not an object */
      {R_SIZED, SNAPSHOT, true},          /* 7: then closes */
      {R_SIZED, SNAPSHOT, false},         /* 8: needs a new connection */
  };
  server_t srv = {.replies = script, .n = sizeof(script) / sizeof(script[0])};
  pthread_t th;
  rt_client_t *cl;
  rt_client_get_result_t res;
  rt_parser_t *p;
  struct timespec t0;
  int records = 0;
  char longpath[200];

  snprintf(path, sizeof(path), "/tmp/sm-client-test-%d.sock", (int)getpid());
  srv.listen_fd = listen_on(path);
  if (!T_OK(srv.listen_fd >= 0, "listen on %s", path))
    return t_done();
  pthread_create(&th, NULL, serve, &srv);
  cl = rt_client_create(path);
  T_OK(cl != NULL, "client created");

  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_OK, "snapshot: ok");
  T_EQ_INT(res.http_code, 200, "snapshot: 200");
  T_OK(res.status == RT_CLIENT_GET_OK &&
           rt_parser_snapshot(p)->next_seq == 1043 &&
           rt_parser_snapshot(p)->instance_count == 3,
       "snapshot: values read");
  rt_parser_destroy(p);

  p = rt_parser_create(RT_DOC_REQUESTS, count_cb, &records, NULL);
  rt_client_get(cl, "/v1/requests?after=1000&limit=10", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_OK,
           "chunked page in 1..7-byte chunks: ok");
  T_EQ_INT(records, 2, "both records delivered");
  T_EQ_INT(srv.connections, 1, "the connection was kept");
  rt_parser_destroy(p);

  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_HTTP_STATUS, "503: status error");
  T_EQ_INT(res.http_code, 503, "503: code");
  T_OK(strstr(res.message, "503") && strstr(res.message, "runtime starting"),
       "503: message quotes the runtime: %s", res.message);
  rt_parser_destroy(p);

  records = 0;
  p = rt_parser_create(RT_DOC_REQUESTS, count_cb, &records, NULL);
  rt_client_get(cl, "/v1/requests?after=1000&limit=10", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_TRANSPORT,
           "closed mid-body: transport error");
  T_OK(res.message[0] != 0, "closed mid-body: says so: %s", res.message);
  rt_parser_destroy(p);

  clock_gettime(CLOCK_MONOTONIC, &t0);
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 300, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_TRANSPORT,
           "silent runtime: transport error");
  T_OK(elapsed_ms(&t0) >= 250 && elapsed_ms(&t0) < 1000,
       "silent runtime: gave up at the deadline (%ld ms for 300)",
       elapsed_ms(&t0));
  T_OK(strstr(res.message, "imeout") || strstr(res.message, "imed out"),
       "silent runtime: says timeout: %s", res.message);
  rt_parser_destroy(p);

  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_BAD_DOCUMENT,
           "truncated JSON: bad document");
  rt_parser_destroy(p);

  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_BAD_DOCUMENT, "array: bad document");
  T_OK(strstr(res.message, "/v1/snapshot") != NULL,
       "bad document: names the path: %s", res.message);
  rt_parser_destroy(p);

  for (int i = 0; i < 2; i++) {
    p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
    rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
    T_EQ_INT(res.status, RT_CLIENT_GET_OK, "after Connection: close, ok again");
    rt_parser_destroy(p);
  }

  pthread_join(th, NULL);
  T_EQ_INT(srv.served, (int)srv.n, "every scripted reply was used");
  close(srv.listen_fd);

  /* Nobody listening any more. */
  unlink(path);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, 2000, &res);
  T_EQ_INT(res.status, RT_CLIENT_GET_TRANSPORT, "no socket: transport error");
  T_OK(elapsed_ms(&t0) < 500, "no socket: fails at once");
  T_OK(strstr(res.message, "cannot connect to the socket: No such file") !=
           NULL,
       "no socket: says why it could not connect: %s", res.message);
  rt_parser_destroy(p);
  rt_client_destroy(cl);

  /* A page larger than the parser's byte cap. */
  {
    rt_limits_t lim = {.max_bytes = 64};
    const reply_t big[] = {{R_SIZED, PAGE, false}};
    server_t s2 = {.replies = big, .n = 1};
    s2.listen_fd = listen_on(path);
    pthread_create(&th, NULL, serve, &s2);
    cl = rt_client_create(path);
    p = rt_parser_create(RT_DOC_REQUESTS, NULL, NULL, &lim);
    rt_client_get(cl, "/v1/requests", p, 2000, &res);
    T_EQ_INT(res.status, RT_CLIENT_GET_BAD_DOCUMENT,
             "over the byte cap: refused");
    T_OK(strstr(res.message, "64") != NULL, "names the cap: %s", res.message);
    rt_parser_destroy(p);
    rt_client_destroy(cl);
    pthread_join(th, NULL);
    close(s2.listen_fd);
    unlink(path);
  }

  memset(longpath, 'x', sizeof(longpath) - 1);
  longpath[0] = '/';
  longpath[sizeof(longpath) - 1] = 0;
  T_OK(rt_client_create(longpath) == NULL,
       "a socket path longer than %zu bytes is refused, not truncated",
       rt_client_max_path());
  test_socket_check();
  test_peer_check();
  return t_done();
}
