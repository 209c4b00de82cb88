/* SPDX-License-Identifier: MIT */
/*
 * cw_http: one signed POST to an AWS JSON-protocol endpoint through
 * libcurl, and what to make of the answer.
 *
 * cw_http_post() sends exactly the bytes it is given with the headers it
 * is given (the caller signs them), within one timeout, and keeps the
 * status, the service's error type and message (from the x-amzn-errortype
 * header or the body's "__type" and "message"), capped in size.
 * cw_http_classify() turns that into what the sender should do. The
 * backoff helpers are pure: randomness is passed in.
 *
 * collectd-free. A cw_http_t is used by one thread at a time.
 */
#ifndef CW_HTTP_H
#define CW_HTTP_H 1

#include <stddef.h>
#include <stdint.h>

/* A response body longer than this is cut: error bodies are short. */
#define CW_HTTP_BODY_MAX 8192

typedef struct {
  long status;         /* HTTP status; 0 when no answer came */
  int transport_error; /* non-zero: the request did not complete */
  char error_type[128]; /* e.g. "ThrottlingException"; "" if none */
  char message[512];    /* the service's message, or curl's */
  size_t bytes_sent;
} cw_http_result_t;

typedef enum {
  CW_HTTP_OK = 0,      /* accepted */
  CW_HTTP_RETRY,       /* throttling, 5xx, network: back off and retry */
  CW_HTTP_CREDENTIALS, /* expired or rejected credentials: refresh, retry */
  CW_HTTP_PERMANENT,   /* the request itself is wrong: drop it */
} cw_http_class_t;

typedef struct cw_http_s cw_http_t;

/* Returns NULL when out of memory. */
cw_http_t *cw_http_create(void);
void cw_http_destroy(cw_http_t *h);

/* POSTs body to url with the given "Name: value" header lines (a NULL-
 * terminated array), within timeout_ms for the whole exchange. TLS peers
 * are always verified; proxies come from the usual environment
 * variables. */
void cw_http_post(cw_http_t *h, const char *url, const char *const *headers,
                  const void *body, size_t body_len, long timeout_ms,
                  cw_http_result_t *res);

/* The body of the last answer (2xx included; PutLogEvents reports
 * refused events in a 200), capped at CW_HTTP_BODY_MAX - 1 bytes and
 * NUL-terminated; valid until the next cw_http_post(). */
const char *cw_http_response_body(const cw_http_t *h, size_t *len);

/* Splits an endpoint URL with libcurl's parser into what SigV4 signs: the
 * Host header's value (host, and ":port" unless it is the scheme's
 * default, as libcurl sends it) and the path ("/" when empty). *host and
 * *path are malloc'ed (the caller frees). 0, or -1 with a message for a
 * URL that is not http or https. */
int cw_http_split_url(const char *url, char **host, char **path, char *err,
                      size_t err_size);

/* Reads an AWS JSON error body ({"__type": "...#Name", "message": "..."};
 * "Message" also accepted) into the result's error_type (the part after
 * '#', or after the last ':' prefix) and message. Returns 0 if the body
 * had either member, -1 otherwise. Exposed for tests and fuzzing. */
int cw_http_parse_error_body(const char *body, size_t len,
                             cw_http_result_t *res);

cw_http_class_t cw_http_classify(const cw_http_result_t *res);
const char *cw_http_class_name(cw_http_class_t c);

/* Full-jitter exponential backoff: a delay in [0, min(cap, base * 2^n)),
 * with random01 in [0, 1). */
uint64_t cw_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                       double random01);

/* A retry budget shared by all of a sender's requests, so that a long
 * outage does not turn into a retry storm: each retry takes cost tokens,
 * each success gives one back, up to capacity. */
typedef struct {
  unsigned tokens;
  unsigned capacity;
  unsigned retry_cost;
} cw_retry_budget_t;

void cw_retry_budget_init(cw_retry_budget_t *b, unsigned capacity,
                          unsigned retry_cost);
/* Takes the tokens for one retry: 0 if there were enough, -1 if not (do
 * not retry now). */
int cw_retry_budget_take(cw_retry_budget_t *b);
void cw_retry_budget_success(cw_retry_budget_t *b);

#endif /* CW_HTTP_H */
