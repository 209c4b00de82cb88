/* SPDX-License-Identifier: MIT */
/*
 * aws_post: a signed POST (see aws_post.h).
 */
#include "aws_post.h"

#include <stdio.h>
#include <string.h>

aws_http_class_t aws_post(aws_http_t *http, const aws_post_t *p,
                          aws_creds_provider_t *creds, aws_creds_t *used,
                          aws_http_result_t *res, char *warn,
                          size_t warn_size) {
  char own[AWS_POST_MAX_HEADERS][512];
  const char *lines[AWS_POST_MAX_HEADERS + AWS_SIGV4_OUT_MAX + 1];
  size_t nl = 0;
  aws_sigv4_request_t req;
  aws_sigv4_credentials_t sc;
  aws_sigv4_result_t sig;
  char errbuf[512];
  aws_creds_status_t cs;
  aws_http_class_t cls;

  memset(res, 0, sizeof(*res));
  memset(&sig, 0, sizeof(sig));
  warn[0] = 0;
  if (p->header_count > AWS_POST_MAX_HEADERS) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "too many headers");
    return AWS_HTTP_PERMANENT;
  }
  cs = aws_creds_get(creds, used, errbuf, sizeof(errbuf));
  if (cs == AWS_CREDS_FAILED) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "no credentials: %.480s",
             errbuf);
    return AWS_HTTP_RETRY;
  }
  /* Said once per streak of failed refreshes, and once when they work
   * again (aws_creds_get reports each only once). */
  if (cs == AWS_CREDS_KEPT && errbuf[0] != 0)
    snprintf(warn, warn_size,
             "refreshing credentials failed, using the "
             "cached ones from %s: %s",
             used->provider, errbuf);
  else if (cs == AWS_CREDS_RECOVERED)
    snprintf(warn, warn_size, "%s", errbuf);

  sc = (aws_sigv4_credentials_t){used->access_key_id, used->secret_access_key,
                                 used->session_token};
  req = (aws_sigv4_request_t){.method = "POST",
                              .host = p->host,
                              .path = p->path,
                              .headers = p->headers,
                              .header_count = p->header_count,
                              .payload = p->payload,
                              .payload_len = p->payload_len,
                              .region = p->region,
                              .service = p->service,
                              .now = p->now};
  if (aws_sigv4_sign(&req, &sc, &sig) != 0) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "signing failed: %s",
             sig.error);
    cls = AWS_HTTP_PERMANENT;
    goto out;
  }
  for (size_t i = 0; i < p->header_count; i++) {
    snprintf(own[i], sizeof(own[i]), "%s: %s", p->headers[i].name,
             p->headers[i].value);
    lines[nl++] = own[i];
  }
  for (size_t i = 0; i < sig.header_count; i++)
    lines[nl++] = sig.headers[i].line;
  lines[nl] = NULL;
  aws_http_post(http, p->url, lines, p->payload, p->payload_len, p->timeout_ms,
                res);
  cls = aws_http_classify(res);
out:
  aws_sigv4_result_free(&sig);
  return cls;
}
