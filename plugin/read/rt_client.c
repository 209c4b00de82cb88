/* SPDX-License-Identifier: MIT */
/*
 * rt_client: HTTP over the runtime's Unix socket (see
 * rt_client.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct ucred */
#endif
#include "rt_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sm_curl.h"

/* An error body is short; more than this is not worth reading. */
#define RT_ERROR_BODY_MAX 4096
/* A message naming a socket path (at most 107 bytes) and two owners. */
#define PATH_MAX_MSG 512
/* Sockets a handle holds at once: the kept connection and a new one. */
#define RT_CLIENT_SOCKETS 4

#if LIBCURL_VERSION_NUM < 0x075000
#error "libcurl 7.80 or later is needed (CURLOPT_PREREQFUNCTION)"
#endif

struct rt_client_s {
  CURL *curl;
  char *socket_path;
  uid_t owner;      /* besides root, who may serve the socket */
  char *owner_name; /* for messages; may be NULL */
  char curl_error[CURL_ERROR_SIZE];
  curl_socket_t sockets[RT_CLIENT_SOCKETS]; /* open, CURL_SOCKET_BAD: free */
  char peer_error[PATH_MAX_MSG]; /* the current GET's peer was refused */
};

/* State of one GET, seen by the write callback. */
typedef struct {
  CURL *curl;
  rt_parser_t *body;      /* the caller's parser, for a 200 */
  rt_parser_t *error_doc; /* ours, for any other status */
  long http_code;
  size_t error_bytes; /* of a non-200 body */
  bool parse_failed;
} rt_client_get_t;

size_t rt_client_max_path(void) {
  struct sockaddr_un sa;
  return sizeof(sa.sun_path) - 1;
}

/* The sockets libcurl opened through open_cb() and has not closed: at
 * most RT_CLIENT_SOCKETS (CURLOPT_MAXCONNECTS is 1: one kept, one new). */
static int track(rt_client_t *cl, curl_socket_t fd) {
  for (size_t i = 0; i < RT_CLIENT_SOCKETS; i++)
    if (cl->sockets[i] == CURL_SOCKET_BAD) {
      cl->sockets[i] = fd;
      return 0;
    }
  return -1;
}

static curl_socket_t open_cb(void *ud, curlsocktype purpose,
                             struct curl_sockaddr *addr) {
  rt_client_t *cl = ud;
  curl_socket_t fd;

  if (purpose != CURLSOCKTYPE_IPCXN)
    return CURL_SOCKET_BAD;
  fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd != CURL_SOCKET_BAD && track(cl, fd) != 0) {
    close(fd);
    errno = EMFILE;
    return CURL_SOCKET_BAD;
  }
  return fd;
}

static int close_cb(void *ud, curl_socket_t fd) {
  rt_client_t *cl = ud;
  for (size_t i = 0; i < RT_CLIENT_SOCKETS; i++)
    if (cl->sockets[i] == fd)
      cl->sockets[i] = CURL_SOCKET_BAD;
  return close(fd);
}

rt_client_t *rt_client_create(const char *socket_path) {
  rt_client_t *cl = NULL;

  if (socket_path == NULL || socket_path[0] == 0 ||
      strlen(socket_path) > rt_client_max_path())
    return NULL;
  cl = calloc(1, sizeof(*cl));
  if (cl == NULL)
    return NULL;
  cl->socket_path = strdup(socket_path);
  cl->owner = geteuid();
  for (size_t i = 0; i < RT_CLIENT_SOCKETS; i++)
    cl->sockets[i] = CURL_SOCKET_BAD;
  cl->curl = curl_easy_init();
  if (cl->socket_path == NULL || cl->curl == NULL) {
    rt_client_destroy(cl);
    return NULL;
  }
  /* Set once: the sockets must be closed through close_cb() until the
   * handle is cleaned up. */
  curl_easy_setopt(cl->curl, CURLOPT_OPENSOCKETFUNCTION, open_cb);
  curl_easy_setopt(cl->curl, CURLOPT_OPENSOCKETDATA, cl);
  curl_easy_setopt(cl->curl, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
  curl_easy_setopt(cl->curl, CURLOPT_CLOSESOCKETDATA, cl);
  curl_easy_setopt(cl->curl, CURLOPT_MAXCONNECTS, 1L);
  return cl;
}

void rt_client_destroy(rt_client_t *cl) {
  if (cl == NULL)
    return;
  curl_easy_cleanup(cl->curl); /* does nothing with NULL */
  free(cl->socket_path);
  free(cl->owner_name);
  free(cl);
}

void rt_client_set_owner(rt_client_t *cl, uid_t owner, const char *owner_name) {
  free(cl->owner_name);
  cl->owner = owner;
  cl->owner_name = owner_name != NULL ? strdup(owner_name) : NULL;
}

/* "root (uid 0)", "root or uid 1000 (name)", "root or uid 1000". */
static void expected_owner(uid_t owner, const char *owner_name, char *buf,
                           size_t size) {
  if (owner == 0)
    snprintf(buf, size, "root (uid 0)");
  else if (owner_name != NULL)
    snprintf(buf, size, "root or uid %lu (%.64s)", (unsigned long)owner,
             owner_name);
  else
    snprintf(buf, size, "root or uid %lu", (unsigned long)owner);
}

/* Root or the owner listens on fd? Else says why in cl->peer_error. */
static bool peer_ok(rt_client_t *cl, curl_socket_t fd) {
  struct ucred peer;
  socklen_t len = sizeof(peer);
  char expected[160];

  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    snprintf(cl->peer_error, sizeof(cl->peer_error),
             "socket %s: cannot learn who serves it: %s; refusing to send "
             "to it",
             cl->socket_path, strerror(errno));
    return false;
  }
  if (peer.uid == 0 || peer.uid == cl->owner)
    return true;
  expected_owner(cl->owner, cl->owner_name, expected, sizeof(expected));
  snprintf(cl->peer_error, sizeof(cl->peer_error),
           "socket %s is served by pid %ld running as uid %lu, expected %s; "
           "refusing to send to it",
           cl->socket_path, (long)peer.pid, (unsigned long)peer.uid, expected);
  return false;
}

/* libcurl calls this once the connection for a request is made (new or
 * kept) and before it sends a byte of the request. The check is of the
 * connected sockets, not of the path: a socket file swapped after the file
 * check cannot pass it. Every socket the handle holds is checked, the one
 * in use among them; the kernel keeps a Unix socket's peer credentials
 * from its connect, so a kept connection is as good as when it was made. */
static int prereq_cb(void *ud, char *primary_ip, char *local_ip,
                     int primary_port, int local_port) {
  rt_client_t *cl = ud;
  (void)primary_ip;
  (void)local_ip;
  (void)primary_port;
  (void)local_port;
  for (size_t i = 0; i < RT_CLIENT_SOCKETS; i++)
    if (cl->sockets[i] != CURL_SOCKET_BAD && !peer_ok(cl, cl->sockets[i]))
      return CURL_PREREQFUNC_ABORT;
  return CURL_PREREQFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud) {
  rt_client_get_t *g = ud;
  size_t len = size * nmemb;

  if (g->http_code == 0) {
    curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &g->http_code);
    if (g->http_code != 200) {
      rt_limits_t lim = {.max_bytes = RT_ERROR_BODY_MAX};
      g->error_doc = rt_parser_create(RT_DOC_ERROR, NULL, NULL, &lim);
    }
  }
  if (g->http_code == 200) {
    if (rt_parser_feed(g->body, data, len) != 0) {
      g->parse_failed = true;
      return 0; /* aborts the transfer: no point reading the rest */
    }
    return len;
  }
  /* An unreadable error body only loses its text; the status stands. */
  if (g->error_doc != NULL && rt_parser_feed(g->error_doc, data, len) != 0) {
    rt_parser_destroy(g->error_doc);
    g->error_doc = NULL;
  }
  g->error_bytes += len;
  /* Stop reading an error body that will not end. */
  return g->error_bytes > RT_ERROR_BODY_MAX ? 0 : len;
}

static void set_options(rt_client_t *cl, rt_client_get_t *g, const char *url,
                        long timeout_ms) {
  CURL *c = cl->curl;

  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cl->socket_path);
  /* Never through a proxy, whatever the environment says. */
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  sm_curl_limits(c, "http", timeout_ms, cl->curl_error);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
  curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, prereq_cb);
  curl_easy_setopt(c, CURLOPT_PREREQDATA, cl);
  cl->peer_error[0] = 0;
}

void rt_client_get(rt_client_t *cl, const char *path, rt_parser_t *parser,
                   long timeout_ms, rt_client_get_result_t *res) {
  rt_client_get_t g = {.curl = cl->curl, .body = parser};
  char url[1024];
  CURLcode rc;

  memset(res, 0, sizeof(*res));
  if (timeout_ms < 1)
    timeout_ms = 1;
  if ((size_t)snprintf(url, sizeof(url), "http://localhost%s", path) >=
      sizeof(url)) {
    res->status = RT_CLIENT_GET_TRANSPORT;
    snprintf(res->message, sizeof(res->message), "path too long: %.64s...",
             path);
    return;
  }
  cl->curl_error[0] = 0;
  set_options(cl, &g, url, timeout_ms);
  rc = curl_easy_perform(cl->curl);
  res->http_code = g.http_code;
  if (g.http_code == 0 && rc == CURLE_OK)
    curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &res->http_code);

  if (cl->peer_error[0] != 0) {
    res->status = RT_CLIENT_GET_REFUSED;
    snprintf(res->message, sizeof(res->message), "%s", cl->peer_error);
  } else if (g.parse_failed) {
    res->status = RT_CLIENT_GET_BAD_DOCUMENT;
    snprintf(res->message, sizeof(res->message), "GET %s: %s", path,
             rt_parser_error(parser));
  } else if (rc == CURLE_COULDNT_CONNECT) {
    long os_errno = 0;
    /* curl names "localhost port 80" here, which says nothing about a
     * Unix socket; the system's reason does. */
    curl_easy_getinfo(cl->curl, CURLINFO_OS_ERRNO, &os_errno);
    res->status = RT_CLIENT_GET_TRANSPORT;
    snprintf(res->message, sizeof(res->message),
             "GET %s: cannot connect to the socket: %s", path,
             os_errno ? strerror((int)os_errno) : "connection refused");
  } else if (rc != CURLE_OK && (g.http_code == 0 || g.http_code == 200)) {
    res->status = RT_CLIENT_GET_TRANSPORT;
    snprintf(res->message, sizeof(res->message), "GET %s: %s", path,
             cl->curl_error[0] ? cl->curl_error : curl_easy_strerror(rc));
  } else if (res->http_code != 200) {
    const char *text = NULL;
    if (rc == CURLE_OK && g.error_doc != NULL &&
        rt_parser_finish(g.error_doc) == 0)
      text = rt_parser_error_text(g.error_doc);
    res->status = RT_CLIENT_GET_HTTP_STATUS;
    snprintf(res->message, sizeof(res->message), "GET %s: HTTP status %ld%s%s",
             path, res->http_code, text ? ": " : " (no error text)",
             text ? text : "");
  } else if (rt_parser_finish(parser) != 0) {
    res->status = RT_CLIENT_GET_BAD_DOCUMENT;
    snprintf(res->message, sizeof(res->message), "GET %s: %s", path,
             rt_parser_error(parser));
  } else {
    res->status = RT_CLIENT_GET_OK;
  }
  rt_parser_destroy(g.error_doc);
  /* Drop our pointers from the handle: they die with this call. */
  curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, NULL);
  curl_easy_setopt(cl->curl, CURLOPT_ERRORBUFFER, NULL);
}

rt_client_socket_check_t rt_client_socket_check(const char *path, uid_t owner,
                                                const char *owner_name,
                                                char *msg, size_t msg_size) {
  struct stat st;
  char expected[160];

  msg[0] = 0;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT)
      return RT_CLIENT_SOCKET_ABSENT;
    snprintf(msg, msg_size, "socket %s cannot be examined: %s", path,
             strerror(errno));
    return RT_CLIENT_SOCKET_REFUSED;
  }
  if (S_ISLNK(st.st_mode)) {
    snprintf(msg, msg_size,
             "socket %s is a symbolic link; refusing to follow it", path);
    return RT_CLIENT_SOCKET_REFUSED;
  }
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(msg, msg_size, "%s is not a socket; refusing to connect", path);
    return RT_CLIENT_SOCKET_REFUSED;
  }
  if (st.st_uid == 0 || st.st_uid == owner)
    return RT_CLIENT_SOCKET_OK;
  expected_owner(owner, owner_name, expected, sizeof(expected));
  snprintf(msg, msg_size,
           "socket %s is owned by uid %lu, expected %s; refusing to "
           "connect",
           path, (unsigned long)st.st_uid, expected);
  return RT_CLIENT_SOCKET_REFUSED;
}
