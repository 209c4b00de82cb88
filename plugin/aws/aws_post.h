/* SPDX-License-Identifier: MIT */
/*
 * aws_post: one SigV4-signed POST to an AWS JSON endpoint, shared by the
 * metrics and logs senders: credentials from the chain, signature over the
 * exact bytes sent, the POST through aws_http, and the answer's class.
 *
 * collectd-free; the caller owns http and uses it from one thread.
 */
#ifndef SM_AWS_POST_H
#define SM_AWS_POST_H 1

#include <stddef.h>
#include <time.h>

#include "aws_creds.h"
#include "aws_http.h"
#include "aws_sigv4.h"

/* Headers signed and sent, besides the signer's own. */
#define AWS_POST_MAX_HEADERS 8

typedef struct {
  const char *url;  /* where to POST */
  const char *host; /* Host header value, as aws_http_split_url gives */
  const char *path; /* request path */
  const char *region;
  const char *service;               /* "monitoring", "logs" */
  const aws_sigv4_header_t *headers; /* at most AWS_POST_MAX_HEADERS */
  size_t header_count;
  const void *payload; /* the exact bytes sent (gzipped if so) */
  size_t payload_len;
  time_t now; /* signing time */
  long timeout_ms;
} aws_post_t;

/* Gets credentials into *used (the caller clears them with
 * aws_creds_clear, and passes them to aws_creds_invalidate after a
 * AWS_HTTP_CREDENTIALS answer), signs, POSTs and classifies. Without
 * credentials nothing is sent and the answer is AWS_HTTP_RETRY with the
 * reason in res->message; a request that cannot be signed is
 * AWS_HTTP_PERMANENT; res->bytes_sent is 0 exactly when nothing was sent
 * (the payload is never empty). warn is set to why a refresh failed when
 * cached credentials were used anyway (once per streak of failures), or to
 * the news that refreshing works again, else "". */
aws_http_class_t aws_post(aws_http_t *http, const aws_post_t *p,
                          aws_creds_provider_t *creds, aws_creds_t *used,
                          aws_http_result_t *res, char *warn, size_t warn_size);

#endif /* SM_AWS_POST_H */
