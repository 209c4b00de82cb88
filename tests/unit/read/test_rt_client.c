/* SPDX-License-Identifier: MIT */
/*
 * rt_client against the scripted server (tests/fakes/fake_http.h) on a
 * Unix socket: what a runtime can do wrong (error status, early close,
 * silence, garbage, a body too large, no socket at all) and what it does
 * right (chunked and sized bodies, kept connections). Each answer checks
 * the status, the message and, for silence, that the deadline held; the
 * script is used up, and the paths asked for are the ones expected. Then the
 * check of the socket file before connecting: owner, type, symbolic links.
 * Last, the check of the process behind a connected socket (SO_PEERCRED): a
 * socket file of the right owner served by a process of another uid, as
 * after a swap between the file check and the connect, is refused before
 * a byte is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_http.h"
#include "rt_client.h"
#include "tap.h"

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

/* Every answer of the runtime is JSON. */
#define JSON_HEADERS "Content-Type: application/json\r\n"

/* The scripted runtime on a Unix socket at path, or NULL (said). */
static fake_http_t *serve(const char *path, const fake_http_step_t *steps,
                          size_t n) {
  fake_http_config_t cfg = {
      .unix_path = path, .steps = steps, .nsteps = n, .headers = JSON_HEADERS};
  char err[256] = "";
  fake_http_t *s = fake_http_start(&cfg, err, sizeof(err));
  if (!T_OK(s != NULL, "listen on %s", path))
    T_NOTE("%s", err);
  return s;
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
  fake_http_t *srv;

  if (mkdtemp(dir) == NULL) {
    T_OK(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  snprintf(sock, sizeof(sock), "%s/rt.sock", dir);
  snprintf(link_path, sizeof(link_path), "%s/link.sock", dir);
  snprintf(plain, sizeof(plain), "%s/plain", dir);

  T_EQ_INT(rt_client_socket_check(sock, me, NULL, msg, sizeof(msg)),
           RT_CLIENT_SOCKET_ABSENT, "owner check: nothing at the path");
  srv = serve(sock, NULL, 0);
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
  fake_http_free(srv); /* removes the socket file */
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
      const fake_http_step_t snap = {.status = 200,
                                     .headers = JSON_HEADERS,
                                     .body = SNAPSHOT,
                                     .close_after = 1};
      conn = accept(fd, NULL, NULL);
      n = conn >= 0 ? fake_http_serve_fd(conn, &snap, 10000, NULL) : -1;
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
  char short_page[1024]; /* promises 100 bytes more than it holds */
  const fake_http_step_t script[] = {
      {.status = 200, .body = SNAPSHOT},           /* 0: snapshot */
      {.status = 200, .body = PAGE, .chunked = 1}, /* 1: same connection */
      {.status = 503, .body = "{\"error\":\"runtime starting\"}"}, /* 2 */
      {.action = FAKE_HTTP_RAW, .raw = short_page}, /* 3: closes mid-body */
      {.action = FAKE_HTTP_SILENT},                 /* 4 */
      {.status = 200, .body = "{\"protocol\":1,"},  /* 5: truncated */
      {.status = 200, .body = "[1,2]"},             /* 6: not an object */
      {.status = 200, .body = SNAPSHOT, .close_after = 1}, /* 7: then closes */
      {.status = 200, .body = SNAPSHOT}, /* 8: needs a new connection */
  };
  const size_t nscript = sizeof(script) / sizeof(script[0]);
  fake_http_t *srv;
  fake_http_stats_t st;
  rt_client_t *cl;
  rt_client_get_result_t res;
  rt_parser_t *p;
  struct timespec t0;
  int records = 0;
  char longpath[200];

  snprintf(short_page, sizeof(short_page),
           "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
           strlen(PAGE) + 100, PAGE);
  snprintf(path, sizeof(path), "/tmp/sm-client-test-%d.sock", (int)getpid());
  srv = serve(path, script, nscript);
  if (srv == NULL)
    return t_done();
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
  T_EQ_INT(fake_http_stats(srv).connections, 1, "the connection was kept");
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

  st = fake_http_stats(srv);
  T_EQ_INT(st.used, nscript, "every scripted reply was used");
  T_EQ_INT(st.extra, 0, "nothing asked beyond the script");
  T_OK(fake_http_request(srv, 0) != NULL &&
           strcmp(fake_http_request(srv, 0)->target, "/v1/snapshot") == 0 &&
           fake_http_request(srv, 1) != NULL &&
           strcmp(fake_http_request(srv, 1)->target,
                  "/v1/requests?after=1000&limit=10") == 0,
       "the paths asked for");
  T_OK(fake_http_request(srv, 8) != NULL &&
           fake_http_request(srv, 8)->conn > fake_http_request(srv, 7)->conn,
       "after Connection: close, a new connection");
  fake_http_free(srv); /* removes the socket file */

  /* Nobody listening any more. */
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
    const fake_http_step_t big[] = {{.status = 200, .body = PAGE}};
    fake_http_t *s2 = serve(path, big, 1);
    cl = rt_client_create(path);
    p = rt_parser_create(RT_DOC_REQUESTS, NULL, NULL, &lim);
    rt_client_get(cl, "/v1/requests", p, 2000, &res);
    T_EQ_INT(res.status, RT_CLIENT_GET_BAD_DOCUMENT,
             "over the byte cap: refused");
    T_OK(strstr(res.message, "64") != NULL, "names the cap: %s", res.message);
    rt_parser_destroy(p);
    rt_client_destroy(cl);
    fake_http_free(s2);
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
