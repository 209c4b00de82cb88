/* SPDX-License-Identifier: MIT */
/*
 * aws_http: the project's one libcurl wrapper for AWS calls, and what to
 * make of an answer.
 *
 * aws_http_request() sends exactly the bytes and headers it is given (the
 * caller signs them), within one timeout, and keeps the status, the
 * service's error type and message (from the x-amzn-errortype header or
 * the body's "__type" and "message"), the answer's Date (for clock-skew
 * correction) and Retry-After, capped in size. aws_http_classify() turns
 * that into what the caller should do.
 *
 * collectd-free. An aws_http_t is used by one thread at a time.
 */
#ifndef AWS_HTTP_H
#define AWS_HTTP_H 1

#include <stddef.h>
#include <stdint.h>

/* A response body longer than this is cut: error bodies are short. */
#define AWS_HTTP_BODY_MAX 8192

typedef struct {
  long status;            /* HTTP status; 0 when no answer came */
  int transport_error;    /* non-zero: the request did not complete */
  char error_type[128];   /* e.g. "ThrottlingException"; "" if none */
  char message[512];      /* the service's message, or curl's */
  size_t bytes_sent;      /* the body's bytes, when the request went out */
  int64_t date;           /* the answer's Date header (Unix time); 0: none */
  int64_t retry_after_ms; /* its Retry-After; -1: none */
  int too_long;           /* a 200's body passed the request's sink_max */
  int sink_stopped;       /* the request's sink returned non-zero */
} aws_http_result_t;

typedef enum {
  AWS_HTTP_OK = 0,      /* accepted */
  AWS_HTTP_RETRY,       /* throttling, 5xx, network: back off and retry */
  AWS_HTTP_CREDENTIALS, /* expired or rejected credentials: refresh, retry */
  AWS_HTTP_PERMANENT,   /* the request itself is wrong: drop it */
  AWS_HTTP_DENIED,      /* the identity may not do this (yet: a policy may
                           still be propagating): keep it, try later */
  AWS_HTTP_CLOCK_SKEW,  /* the signature's time is too far from the
                           service's: correct the clock, sign again */
} aws_http_class_t;

typedef struct aws_http_s aws_http_t;

/* Returns NULL when out of memory. */
aws_http_t *aws_http_create(void);
void aws_http_destroy(aws_http_t *h);

/* Where the body of a 200 answer goes instead of being kept: called with
 * each piece; returns 0 to go on, non-zero to abort the transfer (the
 * result says sink_stopped). Other answers' bodies are kept as without a
 * sink, for their error type and message. */
typedef int (*aws_http_sink_t)(void *ud, const char *data, size_t len);

typedef struct {
  const char *method;         /* "GET", "PUT" or "POST" */
  const char *url;            /* http or https */
  const char *const *headers; /* "Name: value" lines, NULL-terminated */
  const void *body;           /* sent as is (PUT, POST); may be empty */
  size_t body_len;
  long timeout_ms;      /* for the whole exchange, connecting included */
  int no_proxy;         /* never through a proxy (link-local, loopback) */
  aws_http_sink_t sink; /* NULL: the body is kept (aws_http_response_body) */
  void *sink_ud;
  size_t sink_max; /* with a sink: a longer body aborts (too_long); 0: none */
} aws_http_request_t;

/* One request, within r->timeout_ms. TLS peers are always verified;
 * proxies come from the usual environment variables unless no_proxy. */
void aws_http_request(aws_http_t *h, const aws_http_request_t *r,
                      aws_http_result_t *res);

/* A POST of body to url with the given header lines. */
void aws_http_post(aws_http_t *h, const char *url, const char *const *headers,
                   const void *body, size_t body_len, long timeout_ms,
                   aws_http_result_t *res);

/* The body of the last answer (2xx included; PutLogEvents reports
 * refused events in a 200), capped at AWS_HTTP_BODY_MAX - 1 bytes and
 * NUL-terminated; valid until the next request. Empty when the request
 * had a sink. */
const char *aws_http_response_body(const aws_http_t *h, size_t *len);

/* Splits an endpoint URL with libcurl's parser into what SigV4 signs: the
 * Host header's value (host, and ":port" unless it is the scheme's
 * default, as libcurl sends it) and the path ("/" when empty). *host and
 * *path are malloc'ed (the caller frees). 0, or -1 with a message for a
 * URL that is not http or https. */
int aws_http_split_url(const char *url, char **host, char **path, char *err,
                       size_t err_size);

/* Reads an AWS JSON error body ({"__type": "...#Name", "message": "..."};
 * "Message" also accepted) into the result's error_type (the part after
 * '#', or after the last ':' prefix) and message. Returns 0 if the body
 * had either member, -1 otherwise. Exposed for tests and fuzzing. */
int aws_http_parse_error_body(const char *body, size_t len,
                              aws_http_result_t *res);

/* What an answer means. The lists are the AWS SDKs' (the JavaScript SDK
 * v3's service-error-classification): clock-skew codes (AuthFailure,
 * InvalidSignatureException, RequestExpired, RequestInTheFuture,
 * RequestTimeTooSkewed, SignatureDoesNotMatch) are AWS_HTTP_CLOCK_SKEW only
 * when the answer's Date is at least AWS_HTTP_SKEW_MIN_S away from
 * local_now + offset (the clock the request was signed with), else they
 * fall to their usual class; throttling codes, 429 and 5xx retry; expired
 * and invalid tokens ask for fresh credentials; AccessDenied and
 * UnauthorizedOperation are AWS_HTTP_DENIED. */
#define AWS_HTTP_SKEW_MIN_S 300
aws_http_class_t aws_http_classify_at(const aws_http_result_t *res,
                                      int64_t local_now, int64_t offset);
/* The same without a clock: a clock-skew code is never AWS_HTTP_CLOCK_SKEW. */
aws_http_class_t aws_http_classify(const aws_http_result_t *res);
const char *aws_http_class_name(aws_http_class_t c);

#endif /* AWS_HTTP_H */
