/* SPDX-License-Identifier: MIT */
/*
 * fake_http: the one scripted HTTP/1.1 server of the C unit tests. It
 * listens on 127.0.0.1 (an ephemeral port) or on a Unix socket path, in a
 * thread of its own, and answers each request with the next step of a
 * script, or with what a per-test callback picks from the request. Every
 * request is recorded (request line, headers, body, arrival time, the
 * connection it came on, whether a lock the test names was free) so a
 * test checks what was sent; requests beyond the script are counted (and
 * answered 400 UnscriptedRequest), so a test checks that every scripted
 * reply was used and nothing more was asked.
 *
 * What a step can answer: a status with headers and a body (sized, or
 * chunked in 1..7-byte chunks), after a delay; never (the connection is
 * read and discarded until the client hangs up); a close without an
 * answer; raw bytes, for malformed answers, after which the connection is
 * closed (the fake cannot know where raw bytes end).
 *
 * Limits: FAKE_HTTP_MAX_HEAD bytes of request line and headers,
 * FAKE_HTTP_MAX_BODY bytes of body (Content-Length framing only: a request
 * with Transfer-Encoding is answered 501), FAKE_HTTP_MAX_CONNS connections
 * at once (one more is closed at once), FAKE_HTTP_MAX_RECORDS requests
 * recorded (later ones are counted, not kept). A request over a limit,
 * or malformed, is answered 400, 413, 414, 431 or 501 and the connection
 * closed; it is counted in stats.refused, not recorded, not a request.
 *
 * Threads: the server's thread reads, records and answers; the test's
 * thread calls the functions below, which take the server's lock, so
 * whatever the server wrote before is ordered before what the test reads
 * after (ThreadSanitizer sees it). A record is never changed once it is
 * counted, so a pointer from fake_http_request() stays good until
 * fake_http_reset() or fake_http_free().
 *
 *   fake_http_step_t steps[] = {{.status = 200, .body = "{}"}};
 *   fake_http_config_t cfg = {.steps = steps, .nsteps = 1};
 *   fake_http_t *s = fake_http_start(&cfg, err, sizeof(err));
 *   ... a client POSTs to fake_http_url(s) ...
 *   fake_http_stop(s);
 *   T_EQ_INT(fake_http_stats(s).extra, 0, "nothing beyond the script");
 *   fake_http_free(s);
 */
#ifndef SM_TESTS_FAKE_HTTP_H
#define SM_TESTS_FAKE_HTTP_H 1

#include <pthread.h>
#include <stddef.h>

#define FAKE_HTTP_MAX_HEAD (64 * 1024)
#define FAKE_HTTP_MAX_BODY (8 * 1024 * 1024)
#define FAKE_HTTP_MAX_CONNS 16
#define FAKE_HTTP_MAX_RECORDS 256

typedef enum {
  FAKE_HTTP_ANSWER = 0, /* status, headers and body */
  FAKE_HTTP_SILENT,     /* never answer; discard until the client hangs up */
  FAKE_HTTP_CLOSE,      /* close the connection without answering */
  FAKE_HTTP_RAW,        /* send raw (raw_len bytes, 0: strlen), then close */
} fake_http_action_t;

typedef struct {
  fake_http_action_t action;
  int status;          /* FAKE_HTTP_ANSWER: the status code */
  const char *headers; /* extra "Name: value\r\n" lines, or NULL */
  const char *body;    /* NULL: empty */
  size_t body_len;     /* 0: strlen(body) */
  int chunked;         /* Transfer-Encoding: chunked, 1..7-byte chunks */
  int close_after;     /* "Connection: close", then close */
  int delay_ms;        /* wait this long before acting (never blocks) */
  const char *raw;     /* FAKE_HTTP_RAW: the bytes */
  size_t raw_len;
} fake_http_step_t;

typedef struct {
  char method[16];
  char target[2048];   /* as on the request line (a path, or a proxy's URL) */
  char *head;          /* request line and headers, up to the blank line */
  unsigned char *body; /* NUL-terminated for convenience; body_len bytes */
  size_t body_len;
  long at_ms;    /* fake_http_now_ms() when it had fully arrived */
  unsigned conn; /* 0 for the first connection accepted, then 1, ... */
  int lock_free; /* probe_lock was free when the request had arrived */
  int mark;      /* free for the pick callback */
} fake_http_request_t;

typedef enum {
  FAKE_HTTP_NEXT_STEP,  /* answer with the script's next step */
  FAKE_HTTP_PICKED,     /* answer with what the callback wrote */
  FAKE_HTTP_UNSCRIPTED, /* count as beyond the script, answer unscripted */
} fake_http_pick_t;

/* Called in the server's thread, with its lock held (so it must not call
 * fake_http_* functions), for each complete request in arrival order:
 * nth counts requests from 0. It may set req->mark, and write *answer
 * (zeroed before the call; its pointers must stay valid until the answer
 * is composed, which happens before the lock is released). */
typedef fake_http_pick_t (*fake_http_pick_fn)(void *ud,
                                              fake_http_request_t *req,
                                              size_t nth,
                                              fake_http_step_t *answer);

typedef struct {
  const char *unix_path; /* NULL: TCP on 127.0.0.1 with an ephemeral port */
  /* The script: used in order, one step a request; kept by reference. */
  const fake_http_step_t *steps;
  size_t nsteps;
  fake_http_pick_fn pick; /* NULL: the script alone */
  void *pick_ud;
  const char *headers; /* added to every composed answer */
  /* NULL: 400, {"__type":"UnscriptedRequest","message":...} */
  const fake_http_step_t *unscripted;
  /* Tried (never waited for) when each request has arrived, so a test can
   * check the code under test does not hold it while a request is in
   * flight; NULL: none. */
  pthread_mutex_t *probe_lock;
} fake_http_config_t;

typedef struct {
  size_t requests;    /* complete requests, recorded or not */
  size_t used;        /* script steps used */
  size_t extra;       /* requests answered as unscripted */
  size_t connections; /* accepted */
  size_t refused;     /* requests over a limit, connections over the max */
} fake_http_stats_t;

typedef struct fake_http fake_http_t;

/* Listens and starts the thread; NULL with a message on failure. A Unix
 * socket path where a socket already is gets it replaced; any other file
 * there is an error. */
fake_http_t *fake_http_start(const fake_http_config_t *cfg, char *err,
                             size_t errlen);

/* Stops the thread (joined) and closes every socket; the Unix socket file
 * is removed. Idempotent; records and stats stay readable. */
void fake_http_stop(fake_http_t *s);

/* Stops if needed and frees everything. NULL is fine. */
void fake_http_free(fake_http_t *s);

int fake_http_port(const fake_http_t *s);        /* TCP: the port, else 0 */
const char *fake_http_url(const fake_http_t *s); /* "http://127.0.0.1:PORT" */

fake_http_stats_t fake_http_stats(fake_http_t *s);

/* Request nth (from 0), or NULL when there is none (yet) or it was not
 * recorded. */
const fake_http_request_t *fake_http_request(fake_http_t *s, size_t nth);

/* A new script: records dropped, stats of requests set to zero
 * (connections kept). Connections stay open. */
void fake_http_reset(fake_http_t *s, const fake_http_step_t *steps,
                     size_t nsteps);

/* A header's value (the first of that name, blanks trimmed) into buf
 * (cut to size - 1 bytes), or NULL when the request has no such header. */
const char *fake_http_header(const fake_http_request_t *r, const char *name,
                             char *buf, size_t size);

/* Serves one request on a connected socket, without a thread: reads it
 * (for at most timeout_ms), records it into *out when out is not NULL
 * (free with fake_http_request_clear), and answers it with step as the
 * server would. Returns the bytes received, 0 when the peer hung up
 * without sending a byte, -1 on error or timeout. */
long fake_http_serve_fd(int fd, const fake_http_step_t *step, int timeout_ms,
                        fake_http_request_t *out);
void fake_http_request_clear(fake_http_request_t *r);

/* CLOCK_MONOTONIC in milliseconds, the clock of fake_http_request_t.at_ms. */
long fake_http_now_ms(void);

#endif /* SM_TESTS_FAKE_HTTP_H */
