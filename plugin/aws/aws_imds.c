/* SPDX-License-Identifier: MIT */
/*
 * aws_imds: the IMDSv2 client (see aws_imds.h).
 */
#include "aws_imds.h"
#include "aws_http.h"
#include "aws_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for a URL built here. */
#define URL_MAX 2048
#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"

struct aws_imds_s {
  char *base;
  long timeout_ms;
  bool v1_fallback;
  aws_http_t *http;
  enum { TOKEN_NONE, TOKEN_V2, TOKEN_V1 } state;
  aws_text_buf_t token;
};

bool aws_imds_disabled(const aws_creds_config_t *cfg) {
  const char *v = aws_creds_getenv(cfg, "AWS_EC2_METADATA_DISABLED");
  return v != NULL && strcasecmp(v, "true") == 0;
}

void aws_imds_destroy(aws_imds_t *m) {
  if (m == NULL)
    return;
  aws_text_buf_free(&m->token);
  aws_http_destroy(m->http);
  free(m->base);
  free(m);
}

aws_imds_t *aws_imds_create(const aws_creds_config_t *cfg) {
  aws_creds_config_t c;
  aws_imds_t *m = calloc(1, sizeof(*m));

  if (m == NULL)
    return NULL;
  aws_creds_config_defaults(cfg, &c);
  aws_text_buf_init(&m->token);
  m->base = strdup(c.imds_url);
  m->http = aws_http_create();
  m->timeout_ms = c.timeout_ms;
  m->v1_fallback = c.imds_v1_fallback;
  if (m->base == NULL || m->http == NULL) {
    aws_imds_destroy(m);
    return NULL;
  }
  return m;
}

/* One request; header NULL or one "Name: value" line. 0, 1 (the sink
 * stopped it) or -1 with msg; *status the answer's. */
static int request(aws_imds_t *m, const char *method, const char *path,
                   const char *header, aws_imds_sink_t sink, void *ud,
                   long *status, char *msg, size_t size) {
  char url[URL_MAX];
  const char *headers[2] = {header, NULL};
  aws_http_request_t r = {.method = method,
                          .url = url,
                          .headers = headers,
                          .timeout_ms = m->timeout_ms,
                          .no_proxy = 1,
                          .sink = sink,
                          .sink_ud = ud,
                          .sink_max = AWS_IMDS_BODY_MAX};
  aws_http_result_t res;

  *status = 0;
  if (aws_text_join_url(url, sizeof(url), m->base, path) != 0) {
    snprintf(msg, size, "instance metadata: URL too long");
    return -1;
  }
  aws_http_request(m->http, &r, &res);
  *status = res.status;
  if (res.too_long) {
    snprintf(msg, size,
             "instance metadata: %s %s: the answer is longer than %u bytes",
             method, path, AWS_IMDS_BODY_MAX);
    return -1;
  }
  if (res.sink_stopped)
    return 1;
  if (res.transport_error) {
    snprintf(msg, size, "instance metadata: %s %s: %s", method, path,
             res.message);
    return -1;
  }
  if (res.status != 200) {
    snprintf(msg, size, "instance metadata: %s %s: HTTP %ld", method, path,
             res.status);
    return -1;
  }
  return 0;
}

/* The session token, once. 0 (v2 or, allowed, v1), -1 with msg. */
static int get_token(aws_imds_t *m, char *msg, size_t size) {
  char ttl[64];
  long status;
  int rc;
  const char *t;

  if (m->state != TOKEN_NONE)
    return 0;
  snprintf(ttl, sizeof(ttl), "%s: %d", TTL_HEADER, AWS_IMDS_TOKEN_TTL_S);
  aws_text_buf_reset(&m->token);
  rc = request(m, "PUT", AWS_IMDS_TOKEN_PATH, ttl, aws_text_buf_add, &m->token,
               &status, msg, size);
  if (rc == 1)
    snprintf(msg, size,
             "instance metadata: PUT %s: the answer is longer than %u bytes",
             AWS_IMDS_TOKEN_PATH, AWS_TEXT_BUF_MAX);
  if (rc != 0) {
    aws_text_buf_reset(&m->token);
    if (m->v1_fallback && status != 400) {
      m->state = TOKEN_V1;
      return 0;
    }
    return -1;
  }
  t = aws_text_buf_trimmed(&m->token);
  if (t[0] == '\0' || !aws_text_sendable(t)) {
    snprintf(msg, size, "instance metadata: PUT %s: the token is not valid",
             AWS_IMDS_TOKEN_PATH);
    aws_text_buf_reset(&m->token);
    return -1;
  }
  m->state = TOKEN_V2;
  return 0;
}

int aws_imds_fetch(aws_imds_t *m, const char *path, aws_imds_sink_t sink,
                   void *ud, char *msg, size_t size) {
  char *header = NULL;
  long status;
  int rc;

  if (get_token(m, msg, size) != 0)
    return -1;
  if (m->state == TOKEN_V2) {
    const char *t = aws_text_buf_trimmed(&m->token);
    size_t n = strlen(TOKEN_HEADER) + strlen(t) + 3;
    header = malloc(n);
    if (header == NULL) {
      snprintf(msg, size, "instance metadata: out of memory");
      return -1;
    }
    snprintf(header, n, "%s: %s", TOKEN_HEADER, t);
  }
  rc = request(m, "GET", path, header, sink, ud, &status, msg, size);
  aws_text_free_secret(header);
  return rc;
}

int aws_imds_get_text(aws_imds_t *m, const char *path, char *out,
                      size_t out_size, char *msg, size_t size) {
  aws_text_buf_t text, *buf = &text;
  int rc;

  if (out_size > 0)
    out[0] = '\0';
  aws_text_buf_init(buf);
  rc = aws_imds_fetch(m, path, aws_text_buf_add, buf, msg, size);
  if (rc == 1)
    snprintf(msg, size,
             "instance metadata: GET %s: the answer is longer than %u bytes",
             path, AWS_TEXT_BUF_MAX);
  if (rc == 0) {
    const char *v = aws_text_buf_trimmed(buf);
    if (v[0] == '\0' || !aws_text_sendable(v) || strlen(v) >= out_size) {
      snprintf(msg, size, "instance metadata: GET %s: unusable answer", path);
      rc = -1;
    } else {
      snprintf(out, out_size, "%s", v);
    }
  }
  aws_text_buf_free(buf);
  return rc == 0 ? 0 : -1;
}

int aws_imds_get(const aws_creds_config_t *cfg, const char *path, char *out,
                 size_t out_size, char *err, size_t err_size) {
  aws_imds_t *m;
  int rc;

  if (out_size > 0)
    out[0] = '\0';
  if (err_size > 0)
    err[0] = '\0';
  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL ||
      path == NULL || path[0] != '/' || out_size == 0) {
    snprintf(err, err_size, "instance metadata: bad arguments");
    return -1;
  }
  if (aws_imds_disabled(cfg)) {
    snprintf(err, err_size,
             "instance metadata is disabled by AWS_EC2_METADATA_DISABLED");
    return -1;
  }
  m = aws_imds_create(cfg);
  if (m == NULL) {
    snprintf(err, err_size, "instance metadata: out of memory");
    return -1;
  }
  rc = aws_imds_get_text(m, path, out, out_size, err, err_size);
  aws_imds_destroy(m);
  return rc;
}
