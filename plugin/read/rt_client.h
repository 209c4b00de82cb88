/* SPDX-License-Identifier: MIT */
/*
 * rt_client: GETs against the async runtime's stats API, HTTP/1.1
 * over its Unix socket through libcurl (CURLOPT_UNIX_SOCKET_PATH).
 *
 * The body is streamed into a rt_parser parser as it arrives, so no
 * page is ever held whole. Every connection is checked before a byte is
 * sent on it: the process that listens on the socket must run as root or
 * as the expected owner (SO_PEERCRED), whatever the socket file looks
 * like. Every GET has one deadline covering connect,
 * send and receive: a runtime that hangs costs at most that long. The
 * connection is kept between GETs when the runtime allows it.
 *
 * collectd-free; not thread-safe (one client per runtime, used by one read
 * at a time). curl_global_init() is the caller's.
 */
#ifndef SM_RUNTIME_CLIENT_H
#define SM_RUNTIME_CLIENT_H 1

#include <stddef.h>
#include <sys/types.h>

#include "rt_parser.h"

typedef enum {
  RT_CLIENT_GET_OK = 0,       /* 200 and a complete, valid document */
  RT_CLIENT_GET_TRANSPORT,    /* connect, timeout, connection closed early */
  RT_CLIENT_GET_HTTP_STATUS,  /* an answer other than 200 */
  RT_CLIENT_GET_BAD_DOCUMENT, /* 200, but the body was not a valid document */
  RT_CLIENT_GET_REFUSED,      /* the peer is not root nor the owner: nothing
                                 was sent (see rt_client_set_owner) */
} rt_client_get_status_t;

typedef struct {
  rt_client_get_status_t status;
  long http_code;    /* 0 when no answer came */
  char message[512]; /* what went wrong, "" on success */
} rt_client_get_result_t;

typedef struct rt_client_s rt_client_t;

/* The longest socket path a sockaddr_un holds. Longer paths are refused
 * rather than truncated. */
size_t rt_client_max_path(void);

/* Returns NULL if the path is too long (see above) or memory runs out.
 * The expected owner is the effective uid of the caller until
 * rt_client_set_owner() says otherwise. */
rt_client_t *rt_client_create(const char *socket_path);
void rt_client_destroy(rt_client_t *cl);

/* Who may serve the socket besides root: owner, named owner_name in
 * messages when not NULL (the string is copied). Each new connection is
 * connected by the client itself and refused (RT_CLIENT_GET_REFUSED, the
 * message naming the socket, the peer's uid and pid and what was
 * expected) unless the peer's credentials say root or owner. */
void rt_client_set_owner(rt_client_t *cl, uid_t owner, const char *owner_name);

/* GETs path (for example "/v1/requests?after=5&limit=1000"), feeding a 200
 * body to parser, within timeout_ms (at least 1). parser must be fresh;
 * on RT_CLIENT_GET_OK it has been finished successfully. Non-200 bodies are
 * read as {"error": "text"} and the text is quoted in res->message. */
void rt_client_get(rt_client_t *cl, const char *path, rt_parser_t *parser,
                   long timeout_ms, rt_client_get_result_t *res);

/* Results of rt_client_socket_check(). */
typedef enum {
  RT_CLIENT_SOCKET_OK = 0,
  RT_CLIENT_SOCKET_ABSENT,  /* nothing at the path: a connect says so */
  RT_CLIENT_SOCKET_REFUSED, /* a symbolic link, not a socket, another owner, or
                           it cannot be examined: see msg */
} rt_client_socket_check_t;

/* Looks at path without following a symbolic link before anything is
 * sent to it: only a socket owned by root or by owner is OK. owner_name,
 * if not NULL, is how the configuration named owner, for msg. msg says
 * what was found and what was expected, naming the path. This checks the
 * file, which gives the clearest message for a wrong path or owner; the
 * guarantee is the check of the connected peer in rt_client_get(), which
 * a socket swapped in between cannot pass. */
rt_client_socket_check_t rt_client_socket_check(const char *path, uid_t owner,
                                                const char *owner_name,
                                                char *msg, size_t msg_size);

#endif /* SM_RUNTIME_CLIENT_H */
