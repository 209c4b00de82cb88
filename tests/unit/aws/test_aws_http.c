/* SPDX-License-Identifier: MIT */
/*
 * aws_http: error bodies, classification of every kind of answer, backoff
 * and the retry budget; and real requests to the scripted local server
 * (tests/fakes/fake_http.h): the bytes and headers arrive as given, errors
 * are read from body or header, a silent server costs at most the timeout,
 * every scripted reply is used.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aws_http.h"
#include "fake_http.h"
#include "tap.h"

static void test_error_body(void) {
  aws_http_result_t r;

  memset(&r, 0, sizeof(r));
  T_EQ_INT(aws_http_parse_error_body(
               "{\"__type\":\"com.amazonaws.cloudwatch#ThrottlingException\","
               "\"message\":\"Rate exceeded\"}",
               88, &r),
           0, "JSON 1.0 error body");
  T_EQ_STR(r.error_type, "ThrottlingException", "type after '#'");
  T_EQ_STR(r.message, "Rate exceeded", "message");
  memset(&r, 0, sizeof(r));
  {
    const char b[] = "{\"Message\":\"x\",\"nested\":{\"__type\":\"No\"},"
                     "\"__type\":\"InvalidParameterValue\"}";
    T_EQ_INT(aws_http_parse_error_body(b, sizeof(b) - 1, &r), 0,
             "Message and nested members");
    T_EQ_STR(r.error_type, "InvalidParameterValue", "top-level type only");
    T_EQ_STR(r.message, "x", "Message with a capital M");
  }
  memset(&r, 0, sizeof(r));
  T_EQ_INT(aws_http_parse_error_body("<html>", 6, &r), -1, "not JSON");
  T_EQ_INT(aws_http_parse_error_body("{\"a\":1}", 7, &r), -1, "no members");
  {
    char deep[100];
    memset(deep, '[', sizeof(deep));
    T_EQ_INT(aws_http_parse_error_body(deep, sizeof(deep), &r), -1,
             "deep nesting refused");
  }
  {
    char longmsg[2000] = "{\"message\":\"";
    size_t n = strlen(longmsg);
    memset(longmsg + n, 'm', 1500);
    memcpy(longmsg + n + 1500, "\"}", 3);
    memset(&r, 0, sizeof(r));
    aws_http_parse_error_body(longmsg, strlen(longmsg), &r);
    T_EQ_INT(strlen(r.message), sizeof(r.message) - 1, "message capped");
  }
}

static aws_http_class_t cls(long status, const char *type, int transport) {
  aws_http_result_t r;
  memset(&r, 0, sizeof(r));
  r.status = status;
  r.transport_error = transport;
  snprintf(r.error_type, sizeof(r.error_type), "%s", type);
  return aws_http_classify(&r);
}

static void test_classify(void) {
  /* Each named "status type: class" (what it must be). */
  static const struct {
    long status;
    const char *type;
    int transport;
    aws_http_class_t want;
  } rows[] = {
      {200, "", 0, AWS_HTTP_OK},
      {0, "", 1, AWS_HTTP_RETRY},
      {400, "Throttling", 0, AWS_HTTP_RETRY},
      {400, "ThrottlingException", 0, AWS_HTTP_RETRY},
      {429, "", 0, AWS_HTTP_RETRY},
      {500, "InternalServiceError", 0, AWS_HTTP_RETRY},
      {503, "", 0, AWS_HTTP_RETRY},
      {403, "ExpiredToken", 0, AWS_HTTP_CREDENTIALS},
      {400, "ExpiredTokenException", 0, AWS_HTTP_CREDENTIALS},
      {403, "InvalidClientTokenId", 0, AWS_HTTP_CREDENTIALS},
      {400, "InvalidParameterValue", 0, AWS_HTTP_PERMANENT},
      {403, "AccessDenied", 0, AWS_HTTP_DENIED}, /* kept for later */
      {400, "AccessDeniedException", 0, AWS_HTTP_DENIED},
      {403, "UnauthorizedOperation", 0, AWS_HTTP_DENIED},
      {413, "", 0, AWS_HTTP_PERMANENT},
  };
  /* Clock skew: the code alone is not enough, the Date must be 5 minutes
   * or more away from the clock the request was signed with (and no
   * offset applied to that clock yet). */
  static const struct {
    const char *type;
    int64_t date, now, offset;
    aws_http_class_t want;
    const char *what;
  } at[] = {
      {"InvalidSignatureException", 1000000, 1000000 - 301, 0,
       AWS_HTTP_CLOCK_SKEW, "signature error, Date 301 s ahead: clock skew"},
      {"InvalidSignatureException", 1000000, 1000000 + 300, 0,
       AWS_HTTP_CLOCK_SKEW, "signature error, Date 300 s behind: clock skew"},
      {"InvalidSignatureException", 1000000, 1000000 - 299, 0,
       AWS_HTTP_PERMANENT,
       "signature error, Date 299 s ahead: a bad signature"},
      {"InvalidSignatureException", 1000000, 1000000 - 400, 400,
       AWS_HTTP_PERMANENT, "an offset already applied: not skewed any more"},
      {"InvalidSignatureException", 0, 1000000 - 900, 0, AWS_HTTP_PERMANENT,
       "no Date header: not skew"},
      {"RequestExpired", 1000000, 1000000 - 900, 0, AWS_HTTP_CLOCK_SKEW,
       "RequestExpired with a skewed Date: clock skew"},
      {"RequestExpired", 1000000, 1000000, 0, AWS_HTTP_CREDENTIALS,
       "RequestExpired with a good clock: credentials"},
      {"ThrottlingException", 1000000, 1000000 - 900, 0, AWS_HTTP_RETRY,
       "throttling with a skewed Date: still throttling"},
  };

  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char what[128];
    snprintf(what, sizeof(what), "%ld%s%s%s: %s", rows[i].status,
             rows[i].type[0] != 0 ? " " : "", rows[i].type,
             rows[i].transport ? " network error" : "",
             aws_http_class_name(rows[i].want));
    T_EQ_INT(cls(rows[i].status, rows[i].type, rows[i].transport), rows[i].want,
             what);
  }
  for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
    aws_http_result_t r = {.status = 400, .date = at[i].date};
    snprintf(r.error_type, sizeof(r.error_type), "%s", at[i].type);
    T_EQ_INT(aws_http_classify_at(&r, at[i].now, at[i].offset), at[i].want,
             at[i].what);
  }
  {
    aws_http_result_t r = {.status = 400, .date = 1000000};
    snprintf(r.error_type, sizeof(r.error_type), "InvalidSignatureException");
    T_EQ_INT(aws_http_classify(&r), AWS_HTTP_PERMANENT,
             "no clock given: never skew");
  }
  T_EQ_STR(aws_http_class_name(AWS_HTTP_RETRY), "retry", "class name");
  T_EQ_STR(aws_http_class_name(AWS_HTTP_CLOCK_SKEW), "clock skew",
           "class name: clock skew");
}

/* ---------------------------------------------------- local server */

static long ms_since(long t0) { return fake_http_now_ms() - t0; }

/* A scripted server (tests/fakes/fake_http.h) and a client to ask it at
 * url (its address and path). */
typedef struct {
  fake_http_t *srv;
  aws_http_t *h;
  char url[64];
} client_t;

/* False (said) when the server cannot listen or the client be made. */
static bool client_start(client_t *c, const fake_http_step_t *steps, size_t n,
                         const char *path) {
  fake_http_config_t cfg = {.steps = steps, .nsteps = n};
  char err[256] = "";

  c->srv = fake_http_start(&cfg, err, sizeof(err));
  c->h = aws_http_create();
  if (!T_OK(c->srv != NULL && c->h != NULL, "listen on 127.0.0.1")) {
    T_NOTE("%s", err);
    fake_http_free(c->srv);
    aws_http_destroy(c->h);
    return false;
  }
  snprintf(c->url, sizeof(c->url), "%s%s", fake_http_url(c->srv), path);
  return true;
}

/* Stops the server: every step used, nothing asked beyond them. */
static void client_stop_server(client_t *c, const char *what) {
  fake_http_stats_t st = fake_http_stats(c->srv);
  T_OK(st.used == st.requests - st.extra && st.extra == 0,
       "%s: every scripted reply used, nothing more asked (%zu requests, "
       "%zu unscripted)",
       what, st.requests, st.extra);
  fake_http_free(c->srv);
  c->srv = NULL;
}

/* A PutMetricData request, as the client sends one. */
static const char *const post_headers[] = {
    "Content-Type: application/x-amz-json-1.0",
    "X-Amz-Target: GraniteServiceVersion20100801."
    "PutMetricData",
    NULL};
static const char post_body[] = "{\"Namespace\":\"x\"}";

static void post(client_t *c, long timeout_ms, aws_http_result_t *r) {
  aws_http_post(c->h, c->url, post_headers, post_body, sizeof(post_body) - 1,
                timeout_ms, r);
}

static void test_post(void) {
  static const fake_http_step_t steps[] = {
      {.status = 200, .body = "{}", .close_after = 1},
      {.status = 400,
       .headers = "Content-Type: application/x-amz-json-1.0\r\n",
       .body = "{\"__type\":\"com.amazon.coral.availability#ThrottlingException"
               "\",\"message\":\"Rate exceeded\"}",
       .close_after = 1},
      {.status = 403,
       .headers =
           "x-amzn-ErrorType: ExpiredTokenException:http://internal/\r\n",
       .close_after = 1},
      {.action = FAKE_HTTP_SILENT},
  };
  client_t c;
  const fake_http_request_t *q;
  aws_http_result_t r;
  long t0;

  if (!client_start(&c, steps, 4, "/"))
    return;
  post(&c, 2000, &r);
  T_EQ_INT(r.status, 200, "POST: 200");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_OK, "POST: ok");
  q = fake_http_request(c.srv, 0);
  T_OK(q != NULL && strstr(q->head, "POST / HTTP/1.1\r\n") == q->head,
       "request line");
  T_OK(q != NULL &&
           strstr(q->head, "X-Amz-Target: GraniteServiceVersion20100801."
                           "PutMetricData\r\n") != NULL,
       "target header sent as given");
  T_OK(q != NULL && strstr(q->head, "Expect:") == NULL, "no Expect header");
  T_OK(q != NULL && q->body_len == sizeof(post_body) - 1 &&
           memcmp(q->body, post_body, sizeof(post_body) - 1) == 0,
       "body sent byte for byte");

  post(&c, 2000, &r);
  T_EQ_INT(r.status, 400, "throttled: 400");
  T_EQ_STR(r.error_type, "ThrottlingException", "throttled: type from body");
  T_EQ_STR(r.message, "Rate exceeded", "throttled: message from body");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_RETRY, "throttled: retry");

  post(&c, 2000, &r);
  T_EQ_STR(r.error_type, "ExpiredTokenException", "type from header");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_CREDENTIALS,
           "expired token: credentials");

  t0 = fake_http_now_ms();
  post(&c, 300, &r);
  T_OK(r.transport_error, "silent server: transport error");
  T_OK(ms_since(t0) < 1500, "silent server: gave up at the timeout (%ld ms)",
       ms_since(t0));
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_RETRY, "silent server: retry");
  client_stop_server(&c, "POST");

  /* Nothing listens there any more. */
  post(&c, 2000, &r);
  T_OK(r.transport_error && r.message[0] != 0,
       "connection refused: transport error: %s", r.message);
  aws_http_destroy(c.h);
}

typedef struct {
  char got[256];
  size_t len;
  int calls;
  int stop; /* returned to aws_http */
} sink_t;

static int sink(void *ud, const char *data, size_t len) {
  sink_t *k = ud;
  size_t n = len < sizeof(k->got) - 1 - k->len ? len : 0;
  k->calls++;
  memcpy(k->got + k->len, data, n);
  k->len += n;
  k->got[k->len] = 0;
  return n == len ? k->stop : -1;
}

/* Methods other than POST, a sink for the body, and the headers that
 * retries and clock-skew correction read. */
static void test_request(void) {
  static const fake_http_step_t steps[] = {
      {.status = 503,
       .headers = "Date: Tue, 08 Dec 2026 10:11:12 GMT\r\nRetry-After: 7\r\n",
       .close_after = 1},
      {.status = 429,
       .headers = "Retry-After: Thu, 01 Jan 1970 00:00:01 GMT\r\n",
       .close_after = 1},
      {.status = 200, .body = "i-0abc12345", .close_after = 1},
      {.status = 404,
       .body = "{\"__type\":\"NotFound\",\"message\":\"no such path\"}",
       .close_after = 1},
      {.status = 200, .body = "0123456789", .close_after = 1},
      {.status = 200, .body = "0123456789", .close_after = 1},
  };
  client_t c;
  const fake_http_request_t *q;
  aws_http_result_t r;
  const char *put_headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: 60",
                               NULL};
  sink_t k = {.len = 0};
  aws_http_request_t req = {.method = "GET", .timeout_ms = 2000};

  if (!client_start(&c, steps, sizeof(steps) / sizeof(steps[0]), "/x"))
    return;
  req.url = c.url;

  aws_http_request(c.h, &req, &r);
  T_EQ_INT(r.status, 503, "GET: 503");
  q = fake_http_request(c.srv, 0);
  T_OK(q != NULL && strncmp(q->head, "GET /x HTTP/1.1\r\n", 17) == 0,
       "GET: request line");
  /* 2026-12-08T10:11:12Z */
  T_EQ_INT(r.date, 1796724672, "Date header read as Unix time");
  T_EQ_INT(r.retry_after_ms, 7000, "Retry-After in seconds");

  req.method = "PUT";
  req.headers = put_headers;
  aws_http_request(c.h, &req, &r);
  T_EQ_INT(r.status, 429, "PUT: 429");
  q = fake_http_request(c.srv, 1);
  T_OK(q != NULL && strncmp(q->head, "PUT /x HTTP/1.1\r\n", 17) == 0,
       "PUT: request line");
  T_OK(q != NULL && strstr(q->head, "Content-Length: 0\r\n") != NULL &&
           q->body_len == 0,
       "PUT: an empty body");
  T_OK(q != NULL &&
           strstr(q->head, "X-aws-ec2-metadata-token-ttl-seconds: 60") != NULL,
       "PUT: headers as given");
  T_EQ_INT(r.retry_after_ms, 0, "Retry-After as a date in the past: 0");
  T_EQ_INT(r.date, 0, "no Date header: 0");

  req.method = "GET";
  req.headers = NULL;
  req.no_proxy = 1;
  req.sink = sink;
  req.sink_ud = &k;
  aws_http_request(c.h, &req, &r);
  T_EQ_INT(r.status, 200, "sink: 200");
  T_EQ_STR(k.got, "i-0abc12345", "sink: the body, whole");
  T_OK(!r.transport_error && !r.too_long && !r.sink_stopped,
       "sink: a 200 taken whole is no error");
  T_EQ_INT(r.retry_after_ms, -1, "no Retry-After: -1");

  k = (sink_t){.len = 0};
  aws_http_request(c.h, &req, &r);
  T_EQ_INT(r.status, 404, "sink: 404");
  T_EQ_INT(k.calls, 0, "sink: not given a 404's body");
  T_EQ_STR(r.error_type, "NotFound", "sink: a 404's error type still read");
  T_EQ_STR(r.message, "no such path", "sink: ... and its message");

  req.sink_max = 9;
  aws_http_request(c.h, &req, &r);
  T_OK(r.too_long && r.transport_error,
       "sink_max 9: a 10-byte body aborts the transfer");
  T_OK(k.len <= 9, "sink_max 9: the sink got at most 9 bytes (%zu)", k.len);
  T_EQ_STR(r.message, "the answer is longer than 9 bytes",
           "sink_max: the message says why");

  k = (sink_t){.len = 0, .stop = 1};
  req.sink_max = 10;
  aws_http_request(c.h, &req, &r);
  T_OK(r.sink_stopped && r.transport_error && !r.too_long,
       "a sink that says stop: sink_stopped");
  T_EQ_INT(k.calls, 1, "... after one piece");
  client_stop_server(&c, "GET and PUT");
  aws_http_destroy(c.h);
}

int main(void) {
  test_error_body();
  test_classify();
  test_post();
  test_request();
  return t_done();
}
