/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_container: credentials from the container endpoint (see
 * aws_creds_provider.h).
 */
#include "aws_creds_json.h"
#include "aws_creds_provider.h"
#include "aws_file.h"
#include "aws_http.h"
#include "aws_text.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* Room for a URL built here, and for a message copied. */
#define URL_MAX 2048
#define MSG_MAX 1024

/* May a container full URI be fetched? https anywhere; http only to a
 * loopback address, the ECS and EKS agents, or the configured base's host
 * (the rule of the SDKs: the Authorization token must not leave the
 * host). Fills origin ("scheme://host[:port]", no user or path). */
static int check_full_uri(const aws_creds_config_t *c, const char *uri,
                          char *origin, size_t osize, char *msg, size_t size) {
  CURLU *u = curl_url(), *b = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *bhost = NULL;
  int ret = -1;

  if (u == NULL || b == NULL) {
    snprintf(msg, size, "container credentials: out of memory");
  } else if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    snprintf(
        msg, size,
        "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a "
        "URL");
  } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    snprintf(
        msg, size,
        "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be "
        "http or https");
  } else {
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
    snprintf(origin, osize, "%s://%s%s%s", scheme, host, port ? ":" : "",
             port ? port : "");
    ret = 0;
  }
  if (ret == 0 && strcmp(scheme, "http") == 0) {
    unsigned char a[16];
    char h[64];
    size_t n = strlen(host);
    bool ok = false;

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
      memcpy(h, host + 1, n - 2);
      h[n - 2] = '\0';
      ok = inet_pton(AF_INET6, h, a) == 1 &&
           (strcmp(h, "::1") == 0 || strcasecmp(h, "fd00:ec2::23") == 0);
    } else if (inet_pton(AF_INET, host, a) == 1) {
      ok = a[0] == 127 || strcmp(host, "169.254.170.2") == 0 ||
           strcmp(host, "169.254.170.23") == 0;
    }
    if (!ok &&
        curl_url_set(b, CURLUPART_URL, c->container_url, 0) == CURLUE_OK &&
        curl_url_get(b, CURLUPART_HOST, &bhost, 0) == CURLUE_OK)
      ok = strcasecmp(bhost, host) == 0;
    if (!ok) {
      char q[AWS_TEXT_QUOTE_SIZE];
      snprintf(
          msg, size,
          "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: host "
          "\"%s\" is not a loopback or container agent address (required "
          "for http)",
          aws_text_quote(host, q, sizeof(q)));
      ret = -1;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(bhost);
  curl_url_cleanup(u);
  curl_url_cleanup(b);
  return ret;
}

/* The Authorization token: the token file (read now) or the variable.
 * 0 with *token set (pointing into buf or the environment), 1 when none,
 * -1 with msg. */
static int container_token(const aws_creds_config_t *c, aws_text_buf_t *buf,
                           const char **token, char *msg, size_t size) {
  const char *file =
      aws_creds_getenv(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
  aws_file_rc_t rc;

  *token = NULL;
  if (file != NULL) {
    rc = aws_file_read(file, file, AWS_TEXT_BUF_MAX, aws_text_buf_add, buf, msg,
                       size);
    if (rc == AWS_FILE_ABSENT) {
      snprintf(msg, size, "container credentials: %s: no such file", file);
      return -1;
    }
    if (rc == AWS_FILE_REFUSED) {
      snprintf(msg, size, "container credentials: %s: larger than %u bytes",
               file, AWS_TEXT_BUF_MAX);
      return -1;
    }
    if (rc != AWS_FILE_READ) {
      char e[MSG_MAX];
      snprintf(e, sizeof(e), "%s", msg);
      snprintf(msg, size, "container credentials: %s", e);
      return -1;
    }
    *token = aws_text_buf_trimmed(buf);
    from = file;
    if ((*token)[0] == '\0') {
      snprintf(msg, size, "container credentials: %s is empty", file);
      return -1;
    }
  } else {
    *token = aws_creds_getenv(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (*token == NULL)
      return 1;
  }
  for (const char *s = *token; *s != '\0'; s++)
    if (*s < 0x20 || *s > 0x7e) {
      snprintf(msg, size,
               "container credentials: the token in %s holds a character that "
               "cannot be sent",
               from);
      return -1;
    }
  return 0;
}

/* A 200's body goes to the parser; when it refuses, aws_creds_json_finish
 * says why. */
static int feed(void *ud, const char *data, size_t len) {
  return aws_creds_json_feed(ud, data, len);
}

/* GETs url with the Authorization header (when token is not NULL), a 200's
 * body into json. 0 when the answer came whole or the parser refused it,
 * -1 with msg. */
static int get(const aws_creds_config_t *c, const char *url, const char *shown,
               const char *token, aws_creds_json_t *json, long *status,
               char *msg, size_t size) {
  const char *what = "container credentials";
  char *line = NULL;
  const char *headers[2] = {NULL, NULL};
  aws_http_t *http = aws_http_create();
  aws_http_result_t res;
  aws_http_request_t r = {.method = "GET",
                          .url = url,
                          .headers = headers,
                          .timeout_ms = c->timeout_ms,
                          .no_proxy = 1,
                          .sink = feed,
                          .sink_ud = json,
                          .sink_max = AWS_CREDS_JSON_BODY_MAX};
  int rc = -1;

  if (token != NULL) {
    size_t n = strlen(token) + sizeof("Authorization: ");
    line = malloc(n);
    if (line != NULL)
      snprintf(line, n, "Authorization: %s", token);
    headers[0] = line;
  }
  if (http == NULL || (token != NULL && line == NULL)) {
    snprintf(msg, size, "%s: out of memory", what);
  } else {
    aws_http_request(http, &r, &res);
    *status = res.status;
    if (res.too_long)
      snprintf(msg, size, "%s: %s: the answer is longer than %u bytes", what,
               shown, AWS_CREDS_JSON_BODY_MAX);
    else if (res.transport_error && !res.sink_stopped)
      snprintf(msg, size, "%s: %s: %s", what, shown, res.message);
    else
      rc = 0;
  }
  aws_text_free_secret(line);
  aws_http_destroy(http);
  return rc;
}

aws_creds_source_t aws_creds_container_fetch(const aws_creds_config_t *c,
                                             aws_creds_t *out, char *msg,
                                             size_t size) {
  const char *rel =
      aws_creds_getenv(c, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = aws_creds_getenv(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const char *what = "container credentials";
  char url[URL_MAX], origin[URL_MAX / 2], shown[URL_MAX / 2 + 8];
  aws_text_buf_t tokbuf;
  const char *token = NULL;
  aws_creds_json_t *json = NULL;
  aws_creds_source_t rc = AWS_CREDS_ERROR;
  long status = 0;
  int ok = 0;

  if (rel == NULL && full == NULL) {
    snprintf(msg, size, "container: not configured");
    return AWS_CREDS_ABSENT;
  }
  if (rel != NULL) {
    /* The relative URI is the task's key to its credentials: not shown. */
    ok = rel[0] == '/' && aws_text_sendable(rel) &&
         aws_text_join_url(url, sizeof(url), c->container_url, rel) == 0 &&
         aws_text_join_url(origin, sizeof(origin), c->container_url, "") == 0;
    if (!ok)
      snprintf(msg, size,
               "%s: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path",
               what);
  } else {
    ok = strlen(full) < sizeof(url) && aws_text_sendable(full) &&
         check_full_uri(c, full, origin, sizeof(origin), msg, size) == 0;
    if (ok)
      snprintf(url, sizeof(url), "%s", full);
    else if (strlen(full) >= sizeof(url) || !aws_text_sendable(full))
      snprintf(msg, size, "%s: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL",
               what);
  }
  if (ok) {
    snprintf(shown, sizeof(shown), "GET %s", origin);
    json = aws_creds_json_create();
    ok = json != NULL;
    if (!ok)
      snprintf(msg, size, "%s: out of memory", what);
  }
  aws_text_buf_init(&tokbuf);
  if (ok)
    ok = container_token(c, &tokbuf, &token, msg, size) >= 0;
  if (ok && get(c, url, shown, token, json, &status, msg, size) == 0) {
    if (status != 200)
      snprintf(msg, size, "%s: %s: HTTP %ld", what, shown, status);
    else if (aws_creds_json_finish(json) != 0)
      snprintf(msg, size,
               "%s: %s: the answer is not a credentials document: %s", what,
               shown, aws_creds_json_error(json));
    else if ((rc = aws_creds_json_creds(json, c->clock_fn(c->clock_ud), what,
                                        out, msg, size)) == AWS_CREDS_FOUND)
      snprintf(out->provider, sizeof(out->provider), "container");
  }
  aws_creds_json_destroy(json);
  aws_text_buf_free(&tokbuf);
  return rc;
}
