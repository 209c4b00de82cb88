/* SPDX-License-Identifier: MIT */
/*
 * aws_http: error bodies, classification of every kind of answer, backoff
 * and the retry budget; and real requests to the scripted local server
 * (tests/fakes/fake_http.h): the bytes and headers arrive as given, errors
 * are read from body or header, a silent server costs at most the timeout,
 * every scripted reply is used.
 */
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
  T_EQ_INT(cls(200, "", 0), AWS_HTTP_OK, "200 ok");
  T_EQ_INT(cls(0, "", 1), AWS_HTTP_RETRY, "network error: retry");
  T_EQ_INT(cls(400, "Throttling", 0), AWS_HTTP_RETRY, "400 Throttling: retry");
  T_EQ_INT(cls(400, "ThrottlingException", 0), AWS_HTTP_RETRY,
           "ThrottlingException: retry");
  T_EQ_INT(cls(429, "", 0), AWS_HTTP_RETRY, "429: retry");
  T_EQ_INT(cls(500, "InternalServiceError", 0), AWS_HTTP_RETRY, "500: retry");
  T_EQ_INT(cls(503, "", 0), AWS_HTTP_RETRY, "503: retry");
  T_EQ_INT(cls(403, "ExpiredToken", 0), AWS_HTTP_CREDENTIALS,
           "ExpiredToken: credentials");
  T_EQ_INT(cls(400, "ExpiredTokenException", 0), AWS_HTTP_CREDENTIALS,
           "ExpiredTokenException: credentials");
  T_EQ_INT(cls(403, "InvalidClientTokenId", 0), AWS_HTTP_CREDENTIALS,
           "InvalidClientTokenId: credentials");
  T_EQ_INT(cls(400, "InvalidParameterValue", 0), AWS_HTTP_PERMANENT,
           "InvalidParameterValue: permanent");
  T_EQ_INT(cls(403, "AccessDenied", 0), AWS_HTTP_DENIED,
           "AccessDenied: denied, kept for later");
  T_EQ_INT(cls(400, "AccessDeniedException", 0), AWS_HTTP_DENIED,
           "AccessDeniedException: denied");
  T_EQ_INT(cls(403, "UnauthorizedOperation", 0), AWS_HTTP_DENIED,
           "UnauthorizedOperation: denied");
  {
    /* Clock skew: the code alone is not enough, the Date must be 5 minutes
     * or more away from the clock the request was signed with. */
    aws_http_result_t r = {.status = 400, .date = 1000000};
    snprintf(r.error_type, sizeof(r.error_type), "InvalidSignatureException");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 301, 0), AWS_HTTP_CLOCK_SKEW,
             "signature error, Date 301 s ahead: clock skew");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 + 300, 0), AWS_HTTP_CLOCK_SKEW,
             "signature error, Date 300 s behind: clock skew");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 299, 0), AWS_HTTP_PERMANENT,
             "signature error, Date 299 s ahead: a bad signature");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 400, 400), AWS_HTTP_PERMANENT,
             "an offset already applied: not skewed any more");
    T_EQ_INT(aws_http_classify(&r), AWS_HTTP_PERMANENT,
             "no clock given: never skew");
    r.date = 0;
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 900, 0), AWS_HTTP_PERMANENT,
             "no Date header: not skew");
    r.date = 1000000;
    snprintf(r.error_type, sizeof(r.error_type), "RequestExpired");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 900, 0), AWS_HTTP_CLOCK_SKEW,
             "RequestExpired with a skewed Date: clock skew");
    T_EQ_INT(aws_http_classify_at(&r, 1000000, 0), AWS_HTTP_CREDENTIALS,
             "RequestExpired with a good clock: credentials");
    snprintf(r.error_type, sizeof(r.error_type), "ThrottlingException");
    T_EQ_INT(aws_http_classify_at(&r, 1000000 - 900, 0), AWS_HTTP_RETRY,
             "throttling with a skewed Date: still throttling");
  }
  T_EQ_INT(cls(413, "", 0), AWS_HTTP_PERMANENT, "413: permanent");
  T_EQ_STR(aws_http_class_name(AWS_HTTP_RETRY), "retry", "class name");
  T_EQ_STR(aws_http_class_name(AWS_HTTP_CLOCK_SKEW), "clock skew",
           "class name: clock skew");
}

/* ---------------------------------------------------- local server */

static long ms_since(long t0) { return fake_http_now_ms() - t0; }

/* The scripted server, or NULL (said) when it cannot listen. */
static fake_http_t *serve(const fake_http_step_t *steps, size_t n) {
  fake_http_config_t cfg = {.steps = steps, .nsteps = n};
  char err[256] = "";
  fake_http_t *s = fake_http_start(&cfg, err, sizeof(err));
  if (!T_OK(s != NULL, "listen on 127.0.0.1"))
    T_NOTE("%s", err);
  return s;
}

/* Every step used, nothing asked beyond them. */
static void serve_done(fake_http_t *s, const char *what) {
  fake_http_stats_t st = fake_http_stats(s);
  T_OK(st.used == st.requests - st.extra && st.extra == 0,
       "%s: every scripted reply used, nothing more asked (%zu requests, "
       "%zu unscripted)",
       what, st.requests, st.extra);
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
  fake_http_t *srv = serve(steps, 4);
  const fake_http_request_t *q;
  aws_http_t *h = aws_http_create();
  aws_http_result_t r;
  char url[64];
  const char *headers[] = {"Content-Type: application/x-amz-json-1.0",
                           "X-Amz-Target: GraniteServiceVersion20100801."
                           "PutMetricData",
                           NULL};
  const char body[] = "{\"Namespace\":\"x\"}";
  long t0;

  if (srv == NULL) {
    aws_http_destroy(h);
    return;
  }
  snprintf(url, sizeof(url), "%s/", fake_http_url(srv));

  aws_http_post(h, url, headers, body, sizeof(body) - 1, 2000, &r);
  T_EQ_INT(r.status, 200, "POST: 200");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_OK, "POST: ok");
  q = fake_http_request(srv, 0);
  T_OK(q != NULL && strstr(q->head, "POST / HTTP/1.1\r\n") == q->head,
       "request line");
  T_OK(q != NULL &&
           strstr(q->head, "X-Amz-Target: GraniteServiceVersion20100801."
                           "PutMetricData\r\n") != NULL,
       "target header sent as given");
  T_OK(q != NULL && strstr(q->head, "Expect:") == NULL, "no Expect header");
  T_OK(q != NULL && q->body_len == sizeof(body) - 1 &&
           memcmp(q->body, body, sizeof(body) - 1) == 0,
       "body sent byte for byte");

  aws_http_post(h, url, headers, body, sizeof(body) - 1, 2000, &r);
  T_EQ_INT(r.status, 400, "throttled: 400");
  T_EQ_STR(r.error_type, "ThrottlingException", "throttled: type from body");
  T_EQ_STR(r.message, "Rate exceeded", "throttled: message from body");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_RETRY, "throttled: retry");

  aws_http_post(h, url, headers, body, sizeof(body) - 1, 2000, &r);
  T_EQ_STR(r.error_type, "ExpiredTokenException", "type from header");
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_CREDENTIALS,
           "expired token: credentials");

  t0 = fake_http_now_ms();
  aws_http_post(h, url, headers, body, sizeof(body) - 1, 300, &r);
  T_OK(r.transport_error, "silent server: transport error");
  T_OK(ms_since(t0) < 1500, "silent server: gave up at the timeout (%ld ms)",
       ms_since(t0));
  T_EQ_INT(aws_http_classify(&r), AWS_HTTP_RETRY, "silent server: retry");
  serve_done(srv, "POST");
  fake_http_free(srv);

  /* Nothing listens there any more. */
  aws_http_post(h, url, headers, body, sizeof(body) - 1, 2000, &r);
  T_OK(r.transport_error && r.message[0] != 0,
       "connection refused: transport error: %s", r.message);
  aws_http_destroy(h);
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
  fake_http_t *srv = serve(steps, 6);
  const fake_http_request_t *q;
  aws_http_t *h = aws_http_create();
  aws_http_result_t r;
  char url[64];
  const char *put_headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: 60",
                               NULL};
  sink_t k = {.len = 0};
  aws_http_request_t req = {.method = "GET", .timeout_ms = 2000};

  if (srv == NULL) {
    aws_http_destroy(h);
    return;
  }
  snprintf(url, sizeof(url), "%s/x", fake_http_url(srv));
  req.url = url;

  aws_http_request(h, &req, &r);
  T_EQ_INT(r.status, 503, "GET: 503");
  q = fake_http_request(srv, 0);
  T_OK(q != NULL && strncmp(q->head, "GET /x HTTP/1.1\r\n", 17) == 0,
       "GET: request line");
  /* 2026-12-08T10:11:12Z */
  T_EQ_INT(r.date, 1796724672, "Date header read as Unix time");
  T_EQ_INT(r.retry_after_ms, 7000, "Retry-After in seconds");

  req.method = "PUT";
  req.headers = put_headers;
  aws_http_request(h, &req, &r);
  T_EQ_INT(r.status, 429, "PUT: 429");
  q = fake_http_request(srv, 1);
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
  aws_http_request(h, &req, &r);
  T_EQ_INT(r.status, 200, "sink: 200");
  T_EQ_STR(k.got, "i-0abc12345", "sink: the body, whole");
  T_OK(!r.transport_error && !r.too_long && !r.sink_stopped,
       "sink: a 200 taken whole is no error");
  T_EQ_INT(r.retry_after_ms, -1, "no Retry-After: -1");

  k = (sink_t){.len = 0};
  aws_http_request(h, &req, &r);
  T_EQ_INT(r.status, 404, "sink: 404");
  T_EQ_INT(k.calls, 0, "sink: not given a 404's body");
  T_EQ_STR(r.error_type, "NotFound", "sink: a 404's error type still read");
  T_EQ_STR(r.message, "no such path", "sink: ... and its message");

  req.sink_max = 9;
  aws_http_request(h, &req, &r);
  T_OK(r.too_long && r.transport_error,
       "sink_max 9: a 10-byte body aborts the transfer");
  T_OK(k.len <= 9, "sink_max 9: the sink got at most 9 bytes (%zu)", k.len);
  T_EQ_STR(r.message, "the answer is longer than 9 bytes",
           "sink_max: the message says why");

  k = (sink_t){.len = 0, .stop = 1};
  req.sink_max = 10;
  aws_http_request(h, &req, &r);
  T_OK(r.sink_stopped && r.transport_error && !r.too_long,
       "a sink that says stop: sink_stopped");
  T_EQ_INT(k.calls, 1, "... after one piece");
  serve_done(srv, "GET and PUT");
  fake_http_free(srv);
  aws_http_destroy(h);
}

int main(void) {
  test_error_body();
  test_classify();
  test_post();
  test_request();
  return t_done();
}
