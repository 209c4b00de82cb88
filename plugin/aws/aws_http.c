/* SPDX-License-Identifier: MIT */
/*
 * aws_http: requests through libcurl and what an answer means (see
 * aws_http.h).
 */
#include "aws_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "sm_curl.h"
#include "sm_json.h"

struct aws_http_s {
  CURL *curl;
  char curl_error[CURL_ERROR_SIZE];
  char body[AWS_HTTP_BODY_MAX];
  size_t body_len;
  size_t sunk;                   /* bytes given to the request's sink */
  bool too_long, sink_stopped;   /* why the sink aborted the transfer */
  char header_type[128];         /* from x-amzn-errortype */
  int64_t date;                  /* from Date */
  int64_t retry_after_ms;        /* from Retry-After; -1: none */
  const aws_http_request_t *req; /* the request under way */
};

void aws_http_destroy(aws_http_t *h) {
  if (h == NULL)
    return;
  curl_easy_cleanup(h->curl);
  free(h);
}

aws_http_t *aws_http_create(void) {
  aws_http_t *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->curl = curl_easy_init();
  if (h->curl == NULL) {
    free(h);
    return NULL;
  }
  return h;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *ud) {
  aws_http_t *h = ud;
  const aws_http_request_t *r = h->req;
  size_t len = size * nmemb;
  size_t room = sizeof(h->body) - 1 - h->body_len;
  size_t take = len < room ? len : room;
  long status = 0;

  if (r->sink != NULL)
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) {
    h->too_long = r->sink_max > 0 && len > r->sink_max - h->sunk;
    if (h->too_long)
      return 0;
    h->sunk += len;
    h->sink_stopped = r->sink(r->sink_ud, data, len) != 0;
    return h->sink_stopped ? 0 : len;
  }
  memcpy(h->body + h->body_len, data, take);
  h->body_len += take;
  h->body[h->body_len] = 0;
  return len; /* the rest is dropped, not an error */
}

/* Copies the type out of "Name:http://..." or "prefix#Name": what comes
 * before the first ':' (or blank), after the last '#' there. */
static void set_type(char *dst, size_t dstlen, const char *src, size_t len) {
  size_t end = 0, start = 0, n;

  while (end < len && src[end] != ':' && src[end] != '\r' && src[end] != '\n' &&
         src[end] != ' ')
    end++;
  for (size_t i = 0; i < end; i++)
    if (src[i] == '#')
      start = i + 1;
  n = end - start;
  if (n >= dstlen)
    n = dstlen - 1;
  memcpy(dst, src + start, n);
  dst[n] = 0;
}

/* The value of header line data[0..len) when it is named name (with its
 * colon), blanks and the line end trimmed, NUL-terminated in buf; NULL
 * when it is another header. */
static const char *header_value(const char *data, size_t len, const char *name,
                                char *buf, size_t size) {
  size_t nl = strlen(name), vl;
  const char *v;

  if (len <= nl || strncasecmp(data, name, nl) != 0)
    return NULL;
  v = data + nl;
  vl = len - nl;
  while (vl > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    vl--;
  }
  while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
                    v[vl - 1] == ' ' || v[vl - 1] == '\t'))
    vl--;
  if (vl >= size)
    vl = size - 1;
  memcpy(buf, v, vl);
  buf[vl] = 0;
  return buf;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud) {
  aws_http_t *h = ud;
  size_t len = size * nmemb;
  char v[128];

  if (header_value(data, len, "x-amzn-errortype:", v, sizeof(v)) != NULL) {
    set_type(h->header_type, sizeof(h->header_type), v, strlen(v));
  } else if (header_value(data, len, "date:", v, sizeof(v)) != NULL) {
    time_t t = curl_getdate(v, NULL);
    h->date = t > 0 ? (int64_t)t : 0;
  } else if (header_value(data, len, "retry-after:", v, sizeof(v)) != NULL) {
    /* RFC 9110: delay-seconds or an HTTP-date. */
    char *end;
    long long secs = strtoll(v, &end, 10);
    if (end != v && *end == 0 && secs >= 0 && secs < 86400) {
      h->retry_after_ms = (int64_t)secs * 1000;
    } else {
      time_t t = curl_getdate(v, NULL), now = time(NULL);
      if (t > 0)
        h->retry_after_ms = t > now ? (int64_t)(t - now) * 1000 : 0;
    }
  }
  return len;
}

/* ------------------------------------------------------ error body */

typedef struct {
  aws_http_result_t *res;
  enum { K_NONE, K_TYPE, K_MESSAGE } key;
  bool found;
} err_parse_t;

static int ep_key(void *ctx, unsigned depth, const char *k, size_t len) {
  err_parse_t *ep = ctx;
  ep->key = K_NONE;
  if (depth != 1)
    return 0;
  if (len == 6 && memcmp(k, "__type", 6) == 0)
    ep->key = K_TYPE;
  else if (len == 7 &&
           (memcmp(k, "message", 7) == 0 || memcmp(k, "Message", 7) == 0))
    ep->key = K_MESSAGE;
  return 0;
}

static int ep_scalar(void *ctx, unsigned depth, sm_json_type_t type,
                     const char *s, size_t len) {
  err_parse_t *ep = ctx;
  if (type == SM_JSON_STRING && depth == 1 && ep->key == K_TYPE) {
    set_type(ep->res->error_type, sizeof(ep->res->error_type), s, len);
    ep->found = true;
  } else if (type == SM_JSON_STRING && depth == 1 && ep->key == K_MESSAGE) {
    size_t n =
        len < sizeof(ep->res->message) - 1 ? len : sizeof(ep->res->message) - 1;
    memcpy(ep->res->message, s, n);
    ep->res->message[n] = 0;
    ep->found = true;
  }
  ep->key = K_NONE;
  return 0;
}

static int ep_open(void *ctx, unsigned depth, bool is_array) {
  err_parse_t *ep = ctx;
  (void)is_array;
  ep->key = K_NONE;
  /* Nothing we want is nested: refuse deep documents outright. */
  return depth >= 16;
}

int aws_http_parse_error_body(const char *body, size_t len,
                              aws_http_result_t *res) {
  static const sm_json_events_t events = {ep_scalar, ep_key, ep_open, NULL};
  err_parse_t ep = {.res = res};

  /* Members already read count even if the body is cut short. */
  sm_json_parse(&events, &ep, body, len, NULL, 0);
  return ep.found ? 0 : -1;
}

/* Some front ends answer AWS JSON requests with the Query protocol's XML
 * error document; take its <Code> and <Message> so the log says why. */
static void xml_member(const char *body, const char *tag, char *dst,
                       size_t dstlen) {
  char open[32], close[32];
  const char *a, *b;
  size_t n;

  snprintf(open, sizeof(open), "<%s>", tag);
  snprintf(close, sizeof(close), "</%s>", tag);
  a = strstr(body, open);
  if (a == NULL)
    return;
  a += strlen(open);
  b = strstr(a, close);
  if (b == NULL)
    return;
  n = (size_t)(b - a) < dstlen - 1 ? (size_t)(b - a) : dstlen - 1;
  memcpy(dst, a, n);
  dst[n] = 0;
}

/* ------------------------------------------------------------ POST */

void aws_http_post(aws_http_t *h, const char *url, const char *const *headers,
                   const void *body, size_t body_len, long timeout_ms,
                   aws_http_result_t *res) {
  aws_http_request_t r = {.method = "POST",
                          .url = url,
                          .headers = headers,
                          .body = body,
                          .body_len = body_len,
                          .timeout_ms = timeout_ms};
  aws_http_request(h, &r, res);
}

/* Empties res and h's per-request state before request r. */
static void request_begin(aws_http_t *h, const aws_http_request_t *r,
                          aws_http_result_t *res) {
  memset(res, 0, sizeof(*res));
  res->retry_after_ms = -1;
  h->body_len = 0;
  h->body[0] = 0;
  h->sunk = 0;
  h->too_long = false;
  h->sink_stopped = false;
  h->header_type[0] = 0;
  h->curl_error[0] = 0;
  h->date = 0;
  h->retry_after_ms = -1;
  h->req = r;
}

/* Frees a header list, its lines wiped first: they may carry a security
 * token. */
static void free_header_list(struct curl_slist *list) {
  for (struct curl_slist *i = list; i != NULL; i = i->next)
    explicit_bzero(i->data, strlen(i->data));
  curl_slist_free_all(list);
}

/* The request's header lines as a list for libcurl, with what stops
 * libcurl adding headers of its own. Returns the list (the caller frees
 * it with free_header_list), or NULL when out of memory. */
static struct curl_slist *header_list(const aws_http_request_t *r) {
  struct curl_slist *list = NULL, *next;

  for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++) {
    next = curl_slist_append(list, r->headers[i]);
    if (next == NULL) {
      free_header_list(list);
      return NULL;
    }
    list = next;
  }
  /* libcurl would add these on its own; AWS does not want them signed or
   * sent. */
  next = curl_slist_append(list, "Expect:");
  if (next == NULL) {
    free_header_list(list);
    return NULL;
  }
  return next;
}

/* Sets h's handle up for request r with the header lines in list: the
 * method and body, the timeout (at least 1 ms), no protocol but http and
 * https, verified TLS, no redirects, and h's callbacks and buffers. */
static void request_options(aws_http_t *h, const aws_http_request_t *r,
                            struct curl_slist *list) {
  CURL *c = h->curl;
  bool post = strcmp(r->method, "POST") == 0;

  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, r->url);
  if (post || strcmp(r->method, "PUT") == 0) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    if (!post)
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (r->no_proxy)
    curl_easy_setopt(c, CURLOPT_PROXY, "");
  sm_curl_limits(c, "http,https", r->timeout_ms, h->curl_error);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
}

/* Fills res with what the exchange that ended with rc brought: the
 * status, Date and Retry-After; curl's message for a transport error;
 * for an answer other than 2xx, the service's error type and message
 * (from a JSON body, else an XML one, else the body's start; the type
 * from x-amzn-errortype when the body has none). */
static void request_result(aws_http_t *h, const aws_http_request_t *r,
                           CURLcode rc, aws_http_result_t *res) {
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
  res->bytes_sent = r->body_len;
  res->date = h->date;
  res->retry_after_ms = h->retry_after_ms;
  res->too_long = h->too_long;
  res->sink_stopped = h->sink_stopped;
  if (h->too_long) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message),
             "the answer is longer than %zu bytes", r->sink_max);
  } else if (rc != CURLE_OK) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "%s",
             h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc));
  } else if (res->status < 200 || res->status >= 300) {
    if (aws_http_parse_error_body(h->body, h->body_len, res) != 0 &&
        h->body_len > 0) {
      xml_member(h->body, "Code", res->error_type, sizeof(res->error_type));
      xml_member(h->body, "Message", res->message, sizeof(res->message));
      if (res->message[0] == 0)
        snprintf(res->message, sizeof(res->message), "%.200s", h->body);
    }
    if (res->error_type[0] == 0 && h->header_type[0] != 0)
      snprintf(res->error_type, sizeof(res->error_type), "%s", h->header_type);
  }
}

void aws_http_request(aws_http_t *h, const aws_http_request_t *r,
                      aws_http_result_t *res) {
  struct curl_slist *list;
  CURLcode rc;

  request_begin(h, r, res);
  list = header_list(r);
  if (list == NULL) {
    res->transport_error = 1;
    snprintf(res->message, sizeof(res->message), "out of memory");
    return;
  }
  request_options(h, r, list);
  rc = curl_easy_perform(h->curl);
  free_header_list(list);
  request_result(h, r, rc, res);
  /* Our buffers and list die with this call. */
  curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
  h->req = NULL;
}

/* ------------------------------------------------------ classify */

const char *aws_http_response_body(const aws_http_t *h, size_t *len) {
  if (len != NULL)
    *len = h->body_len;
  return h->body;
}

int aws_http_split_url(const char *url, char **host_out, char **path_out,
                       char *err, size_t err_size) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL, *scheme = NULL;
  int rc = -1;

  *host_out = NULL;
  *path_out = NULL;
  if (u == NULL) {
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    snprintf(err, err_size, "\"%s\" is not a URL", url);
    goto out;
  }
  if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
    snprintf(err, err_size, "\"%s\": the scheme must be https or http", url);
    goto out;
  }
  /* libcurl leaves a scheme's default port out of the Host header, so the
   * signed host must too. */
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
  curl_url_get(u, CURLUPART_PATH, &path, 0);
  {
    size_t len = strlen(host) + (port != NULL ? strlen(port) + 2 : 1);
    *host_out = malloc(len);
    if (*host_out != NULL)
      snprintf(*host_out, len, "%s%s%s", host, port != NULL ? ":" : "",
               port != NULL ? port : "");
  }
  *path_out = strdup(path != NULL && path[0] != '\0' ? path : "/");
  if (*host_out == NULL || *path_out == NULL) {
    free(*host_out);
    free(*path_out);
    *host_out = NULL;
    *path_out = NULL;
    snprintf(err, err_size, "out of memory");
    goto out;
  }
  rc = 0;
out:
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(scheme);
  curl_url_cleanup(u);
  return rc;
}

static bool type_in(const char *type, const char *const *list) {
  for (size_t i = 0; list[i] != NULL; i++)
    if (strcasecmp(type, list[i]) == 0)
      return true;
  return false;
}

aws_http_class_t aws_http_classify_at(const aws_http_result_t *res,
                                      int64_t local_now, int64_t offset) {
  /* The AWS SDKs' lists (the JavaScript SDK v3's
   * service-error-classification, and botocore's for the rest). */
  static const char *const throttling[] = {"Throttling",
                                           "ThrottlingException",
                                           "ThrottledException",
                                           "RequestThrottledException",
                                           "TooManyRequestsException",
                                           "RequestLimitExceeded",
                                           "SlowDown",
                                           "PriorRequestNotComplete",
                                           "TransactionInProgressException",
                                           "ServiceUnavailable",
                                           "InternalFailure",
                                           "InternalServiceError",
                                           "RequestTimeout",
                                           "RequestTimeoutException",
                                           NULL};
  static const char *const credentials[] = {"ExpiredToken",
                                            "ExpiredTokenException",
                                            "RequestExpired",
                                            "InvalidClientTokenId",
                                            "UnrecognizedClientException",
                                            "InvalidToken",
                                            "TokenRefreshRequired",
                                            NULL};
  static const char *const skew[] = {"AuthFailure",
                                     "InvalidSignatureException",
                                     "RequestExpired",
                                     "RequestInTheFuture",
                                     "RequestTimeTooSkewed",
                                     "SignatureDoesNotMatch",
                                     NULL};
  static const char *const denied[] = {"AccessDenied", "AccessDeniedException",
                                       "UnauthorizedOperation", NULL};

  if (res->transport_error)
    return AWS_HTTP_RETRY;
  if (res->status >= 200 && res->status < 300)
    return AWS_HTTP_OK;
  if (local_now != 0 && res->date != 0 && type_in(res->error_type, skew)) {
    int64_t off = res->date - (local_now + offset);
    if (off >= AWS_HTTP_SKEW_MIN_S || off <= -AWS_HTTP_SKEW_MIN_S)
      return AWS_HTTP_CLOCK_SKEW;
  }
  if (type_in(res->error_type, credentials))
    return AWS_HTTP_CREDENTIALS;
  if (type_in(res->error_type, denied))
    return AWS_HTTP_DENIED;
  if (res->status == 429 || res->status >= 500 ||
      type_in(res->error_type, throttling))
    return AWS_HTTP_RETRY;
  return AWS_HTTP_PERMANENT;
}

aws_http_class_t aws_http_classify(const aws_http_result_t *res) {
  return aws_http_classify_at(res, 0, 0);
}

const char *aws_http_class_name(aws_http_class_t c) {
  switch (c) {
  case AWS_HTTP_OK:
    return "ok";
  case AWS_HTTP_RETRY:
    return "retry";
  case AWS_HTTP_CREDENTIALS:
    return "credentials";
  case AWS_HTTP_PERMANENT:
    return "permanent";
  case AWS_HTTP_DENIED:
    return "denied";
  case AWS_HTTP_CLOCK_SKEW:
    return "clock skew";
  }
  return "?";
}
