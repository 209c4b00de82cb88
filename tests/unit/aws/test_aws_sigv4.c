/* SPDX-License-Identifier: MIT */
/*
 * aws_sigv4: AWS's SigV4 test suite (tests/data/sigv4, read from
 * $SM_SRCDIR) with its fixed clock, then the canonicalisation corners the
 * suite leaves out, the returned headers, and every refused input.
 *
 * Every case of the suite is signed in the Authorization header and checked
 * at each step: canonical request, string to sign, signature, and the
 * headers of the signed request. The suite's query-* files (presigned URLs)
 * are not used: the signer does not make presigned URLs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_sigv4.h"
#include "tap.h"

#define MAX_REQ_HEADERS 16

/* Every case folder of the suite; all of them apply to header signing. */
static const char *const suite_cases[] = {
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-relative-relative-unnormalized",
    "get-relative-unnormalized",
    "get-slash-dot-slash-normalized",
    "get-slash-dot-slash-unnormalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slash-pointless-dot-unnormalized",
    "get-slash-unnormalized",
    "get-slashes-normalized",
    "get-slashes-unnormalized",
    "get-space-normalized",
    "get-space-unnormalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
};

/* ------------------------------------------------------------ file input */

static char *read_file(const char *dir, const char *name, size_t *len_out) {
  char path[1024];
  FILE *f = NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  bool ok = true;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "rb");
  ok = f != NULL;
  while (ok) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 8192;
      char *p = realloc(buf, cap);
      if (p == NULL) {
        ok = false;
        break;
      }
      buf = p;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0)
      break;
  }
  if (ok && ferror(f))
    ok = false;
  if (f != NULL)
    fclose(f);
  if (!ok) {
    free(buf);
    return NULL;
  }
  if (buf == NULL) { /* an empty file */
    buf = calloc(1, 1);
    if (buf == NULL)
      return NULL;
  }
  buf[len] = '\0';
  if (len_out != NULL)
    *len_out = len;
  return buf;
}

/* The expected files end without a newline, but tolerate one. */
static void chomp(char *s) {
  size_t n = strlen(s);
  if (n > 0 && s[n - 1] == '\n')
    s[--n] = '\0';
  if (n > 0 && s[n - 1] == '\r')
    s[--n] = '\0';
}

/* Where the value of "key" starts in the suite's small, flat JSON files,
 * or NULL. Good enough for these files, which have no escapes: not a JSON
 * parser. */
static const char *json_value(const char *json, const char *key) {
  char pat[64];
  const char *p;

  snprintf(pat, sizeof(pat), "\"%s\"", key);
  p = strstr(json, pat);
  if (p == NULL)
    return NULL;
  p += strlen(pat);
  while (*p == ' ' || *p == ':')
    p++;
  return p;
}

/* The string value of "key". */
static bool json_str(const char *json, const char *key, char *out,
                     size_t size) {
  const char *p = json_value(json, key), *end;

  if (p == NULL || *p != '"')
    return false;
  p++;
  end = strchr(p, '"');
  if (end == NULL || (size_t)(end - p) >= size)
    return false;
  memcpy(out, p, (size_t)(end - p));
  out[end - p] = '\0';
  return true;
}

static bool json_true(const char *json, const char *key) {
  const char *p = json_value(json, key);
  return p != NULL && strncmp(p, "true", 4) == 0;
}

/* ------------------------------------------------------- request parsing */

typedef struct {
  char *text; /* request.txt, cut in place */
  const char *method, *path, *query, *host;
  aws_sigv4_header_t headers[MAX_REQ_HEADERS];
  char *values[MAX_REQ_HEADERS]; /* owned: values with continuation lines */
  size_t nheaders;
  const char *body;
  size_t body_len;
} raw_request_t;

static void raw_request_free(raw_request_t *r) {
  for (size_t i = 0; i < r->nheaders; i++)
    free(r->values[i]);
  free(r->text);
  memset(r, 0, sizeof(*r));
}

/* Appends "\n" and line to *value (a header's continuation line, kept with
 * its leading whitespace as obs-fold would carry it). */
static bool append_line(char **value, const char *line) {
  size_t a = strlen(*value), b = strlen(line);
  char *p = realloc(*value, a + b + 2);
  if (p == NULL)
    return false;
  p[a] = '\n';
  memcpy(p + a + 1, line, b + 1);
  *value = p;
  return true;
}

/* request.txt: "METHOD target HTTP/1.1", header lines (a line starting
 * with a space continues the previous value), a blank line, the body. The
 * target may contain spaces ("/example space/"), so it runs up to the
 * last space of the line. */
static bool parse_request(const char *dir, raw_request_t *r) {
  memset(r, 0, sizeof(*r));
  size_t len = 0;
  r->text = read_file(dir, "request.txt", &len);
  if (r->text == NULL)
    return false;

  char *p = r->text, *end = r->text + len;
  char *eol = strchr(p, '\n');
  if (eol == NULL)
    eol = end;
  *eol = '\0';
  if (eol > p && eol[-1] == '\r')
    eol[-1] = '\0';
  char *sp1 = strchr(p, ' '), *sp2 = strrchr(p, ' ');
  if (sp1 == NULL || sp2 == sp1)
    return false;
  *sp1 = '\0';
  *sp2 = '\0';
  r->method = p;
  r->path = sp1 + 1;
  char *q = strchr(sp1 + 1, '?');
  if (q != NULL) {
    *q = '\0';
    r->query = q + 1;
  }
  p = eol < end ? eol + 1 : end;

  while (p < end) {
    eol = strchr(p, '\n');
    if (eol == NULL)
      eol = end;
    *eol = '\0';
    if (eol > p && eol[-1] == '\r')
      eol[-1] = '\0';
    char *line = p;
    p = eol < end ? eol + 1 : end;
    if (line[0] == '\0')
      break; /* the body follows */
    if (line[0] == ' ' || line[0] == '\t') {
      if (r->nheaders == 0 || !append_line(&r->values[r->nheaders - 1], line))
        return false;
      r->headers[r->nheaders - 1].value = r->values[r->nheaders - 1];
      continue;
    }
    char *colon = strchr(line, ':');
    if (colon == NULL)
      return false;
    *colon = '\0';
    if (strcasecmp(line, "Host") == 0) {
      r->host = colon + 1;
      continue;
    }
    if (r->nheaders == MAX_REQ_HEADERS)
      return false;
    r->values[r->nheaders] = strdup(colon + 1);
    if (r->values[r->nheaders] == NULL)
      return false;
    r->headers[r->nheaders].name = line;
    r->headers[r->nheaders].value = r->values[r->nheaders];
    r->nheaders++;
  }
  r->body = p;
  r->body_len = (size_t)(end - p);
  return true;
}

static time_t parse_iso8601(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return (time_t)-1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

/* The value of "Name:" in the signed request (any case), copied to buf,
 * or NULL when there is no such line. */
static const char *signed_header(const char *text, const char *name, char *buf,
                                 size_t size) {
  size_t n = strlen(name);
  for (const char *line = text; line != NULL && *line;) {
    size_t len = strcspn(line, "\r\n");
    if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
      snprintf(buf, size, "%.*s", (int)(len - n - 1), line + n + 1);
      return buf;
    }
    line = strchr(line, '\n');
    if (line != NULL)
      line++;
  }
  return NULL;
}

/* ----------------------------------------------------------- suite cases */

static void run_case(const char *root, const char *name) {
  char dir[1024];
  raw_request_t raw;
  aws_sigv4_result_t res;
  char *ctx = NULL, *want_creq = NULL, *want_sts = NULL, *want_sig = NULL,
       *signed_req = NULL;
  char akid[128], secret[128], token[1024], region[64], service[64], ts[64];
  char what[256], buf[2048];

  memset(&res, 0, sizeof(res));
  snprintf(dir, sizeof(dir), "%s/%s", root, name);
  bool parsed = parse_request(dir, &raw);
  ctx = read_file(dir, "context.json", NULL);
  want_creq = read_file(dir, "header-canonical-request.txt", NULL);
  want_sts = read_file(dir, "header-string-to-sign.txt", NULL);
  want_sig = read_file(dir, "header-signature.txt", NULL);
  signed_req = read_file(dir, "header-signed-request.txt", NULL);
  bool have = parsed && ctx && want_creq && want_sts && want_sig && signed_req;
  if (have)
    have = json_str(ctx, "access_key_id", akid, sizeof(akid)) &&
           json_str(ctx, "secret_access_key", secret, sizeof(secret)) &&
           json_str(ctx, "region", region, sizeof(region)) &&
           json_str(ctx, "service", service, sizeof(service)) &&
           json_str(ctx, "timestamp", ts, sizeof(ts));
  if (!T_OK(have, "%s: case files read", name))
    goto out;
  if (!json_str(ctx, "token", token, sizeof(token)))
    token[0] = '\0';
  chomp(want_creq);
  chomp(want_sts);
  chomp(want_sig);

  aws_sigv4_credentials_t creds = {akid, secret, token};
  aws_sigv4_request_t req = {
      .method = raw.method,
      .host = raw.host,
      .path = raw.path,
      .query = raw.query,
      .headers = raw.headers,
      .header_count = raw.nheaders,
      .payload = raw.body,
      .payload_len = raw.body_len,
      .region = region,
      .service = service,
      .now = parse_iso8601(ts),
      .flags = AWS_SIGV4_KEEP_DEBUG,
  };
  if (!json_true(ctx, "normalize"))
    req.flags |= AWS_SIGV4_NO_NORMALIZE_PATH;
  if (json_true(ctx, "sign_body"))
    req.flags |= AWS_SIGV4_ADD_CONTENT_SHA256;
  if (json_true(ctx, "omit_session_token"))
    req.flags |= AWS_SIGV4_UNSIGNED_TOKEN;

  int rc = aws_sigv4_sign(&req, &creds, &res);
  if (!T_OK(rc == 0, "%s: signs", name)) {
    T_NOTE("error: %s", res.error);
    goto out;
  }
  snprintf(what, sizeof(what), "%s: canonical request", name);
  T_EQ_STR(res.canonical_request, want_creq, what);
  snprintf(what, sizeof(what), "%s: string to sign", name);
  T_EQ_STR(res.string_to_sign, want_sts, what);
  snprintf(what, sizeof(what), "%s: signature", name);
  T_EQ_STR(res.signature, want_sig, what);

  /* The signed request: every header the signer returns is there with the
   * same value, and the suite's X-Amz-* headers are all returned. */
  char want_auth[1024];
  if (signed_header(signed_req, "Authorization", want_auth,
                    sizeof(want_auth)) == NULL)
    want_auth[0] = '\0';
  snprintf(what, sizeof(what), "%s: Authorization header", name);
  T_EQ_STR(aws_sigv4_result_header(&res, "Authorization"), want_auth, what);
  snprintf(what, sizeof(what), "%s: X-Amz-Date header", name);
  T_EQ_STR(aws_sigv4_result_header(&res, "X-Amz-Date"),
           signed_header(signed_req, "X-Amz-Date", buf, sizeof(buf)), what);
  if (token[0] != '\0') {
    snprintf(what, sizeof(what), "%s: X-Amz-Security-Token header", name);
    T_EQ_STR(
        aws_sigv4_result_header(&res, "X-Amz-Security-Token"),
        signed_header(signed_req, "X-Amz-Security-Token", buf, sizeof(buf)),
        what);
  } else {
    T_OK(aws_sigv4_result_header(&res, "X-Amz-Security-Token") == NULL,
         "%s: no X-Amz-Security-Token header without a token", name);
  }
  if (req.flags & AWS_SIGV4_ADD_CONTENT_SHA256) {
    snprintf(what, sizeof(what), "%s: X-Amz-Content-Sha256 header", name);
    T_EQ_STR(
        aws_sigv4_result_header(&res, "X-Amz-Content-Sha256"),
        signed_header(signed_req, "X-Amz-Content-Sha256", buf, sizeof(buf)),
        what);
  }

out:
  aws_sigv4_result_free(&res);
  raw_request_free(&raw);
  free(ctx);
  free(want_creq);
  free(want_sts);
  free(want_sig);
  free(signed_req);
}

static void test_suite(void) {
  const char *srcdir = getenv("SM_SRCDIR");
  char root[900];
  snprintf(root, sizeof(root), "%s/tests/data/sigv4",
           srcdir && *srcdir ? srcdir : ".");
  T_NOTE("AWS SigV4 test suite in %s (header signing; the query-* "
         "presigned-URL files are not used)",
         root);
  for (size_t i = 0; i < sizeof(suite_cases) / sizeof(suite_cases[0]); i++)
    run_case(root, suite_cases[i]);
}

/* ------------------------------------------------ beyond the suite cases */

static const aws_sigv4_credentials_t test_creds = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
/* 2015-08-30T12:36:00Z, the suite's time. */
static const time_t test_now = 1440938160;

static aws_sigv4_request_t base_request(void) {
  aws_sigv4_request_t r = {
      .method = "GET",
      .host = "example.amazonaws.com",
      .path = "/",
      .region = "us-east-1",
      .service = "service",
      .now = test_now,
      .flags = AWS_SIGV4_KEEP_DEBUG,
  };
  return r;
}

/* Line n (0-based) of the canonical request of r, in buf. */
static const char *creq_line(aws_sigv4_request_t r, int n, char *buf,
                             size_t size) {
  aws_sigv4_result_t res;
  buf[0] = '\0';
  if (aws_sigv4_sign(&r, &test_creds, &res) != 0) {
    snprintf(buf, size, "ERROR: %s", res.error);
    return buf;
  }
  const char *p = res.canonical_request;
  for (int i = 0; i < n && p != NULL; i++) {
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  if (p != NULL) {
    size_t len = strcspn(p, "\n");
    snprintf(buf, size, "%.*s", (int)len, p);
  }
  aws_sigv4_result_free(&res);
  return buf;
}

static void check_path(const char *path, unsigned flags, const char *want) {
  char buf[512], what[256];
  aws_sigv4_request_t r = base_request();
  r.path = path;
  r.flags |= flags;
  snprintf(what, sizeof(what), "path \"%s\" (flags %u) -> %s",
           path ? path : "(null)", flags, want);
  T_EQ_STR(creq_line(r, 1, buf, sizeof(buf)), want, what);
}

static void check_query(const char *query, const char *want) {
  char buf[512], what[256];
  aws_sigv4_request_t r = base_request();
  r.query = query;
  snprintf(what, sizeof(what), "query \"%s\" -> \"%s\"",
           query ? query : "(null)", want);
  T_EQ_STR(creq_line(r, 2, buf, sizeof(buf)), want, what);
}

static void check_header_value(const char *value, const char *want) {
  char buf[512], what[256];
  aws_sigv4_header_t h = {"X-Test", value};
  aws_sigv4_request_t r = base_request();
  r.headers = &h;
  r.header_count = 1;
  snprintf(what, sizeof(what), "header value canonical form \"%s\"", want);
  /* Lines: method, path, query, host, x-amz-date, x-test. */
  T_EQ_STR(creq_line(r, 5, buf, sizeof(buf)), want, what);
}

static void test_canonical_forms(void) {
  check_path(NULL, 0, "/");
  check_path("", 0, "/");
  check_path("/a/b/../c/./d//", 0, "/a/c/d/");
  check_path("/..", 0, "/");
  check_path("/../../a", 0, "/a");
  check_path("/a/..b/.c", 0, "/a/..b/.c");
  check_path("/%20", 0, "/%2520");
  check_path("/%20", AWS_SIGV4_NO_DOUBLE_ENCODE, "/%20");
  check_path("/a b//c",
             AWS_SIGV4_NO_NORMALIZE_PATH | AWS_SIGV4_NO_DOUBLE_ENCODE,
             "/a b//c");
  check_path("/a+b:c@d=e", 0, "/a%2Bb%3Ac%40d%3De");

  check_query(NULL, "");
  check_query("", "");
  check_query("b=2&a=1&a=0&c", "a=0&a=1&b=2&c=");
  check_query("&&a=1&", "a=1");
  check_query("a=b=c", "a=b%3Dc");
  check_query("a+b=1 2", "a%2Bb=1%202");
  check_query("k=%c3%a9", "k=%C3%A9");
  check_query("k=%7e%41", "k=~A");
  check_query("Action=ListMetrics&Version=2010-08-01",
              "Action=ListMetrics&Version=2010-08-01");
  check_query("x=%2525", "x=%2525");

  check_header_value("  a \t b  ", "x-test:a b");
  check_header_value("", "x-test:");
  check_header_value("   ", "x-test:");
  check_header_value("a\r\n  b", "x-test:a b");
}

static void test_output(void) {
  aws_sigv4_result_t res;
  aws_sigv4_header_t h[] = {{"Content-Type", "application/x-amz-json-1.0"}};
  aws_sigv4_credentials_t creds = test_creds;
  creds.session_token = "TOKEN/+=";
  aws_sigv4_request_t r = base_request();
  r.method = "POST";
  r.host = "127.0.0.1:5000";
  r.headers = h;
  r.header_count = 1;
  r.payload = "abc";
  r.payload_len = 3;
  r.flags = AWS_SIGV4_ADD_HOST | AWS_SIGV4_ADD_CONTENT_SHA256;

  int rc = aws_sigv4_sign(&r, &creds, &res);
  T_EQ_INT(rc, 0, "signs with every optional header");
  T_EQ_INT(res.header_count, 5, "five headers to add");
  static const char *const names[] = {"Host", "X-Amz-Date",
                                      "X-Amz-Security-Token",
                                      "X-Amz-Content-Sha256", "Authorization"};
  for (size_t i = 0; i < 5 && i < res.header_count; i++) {
    char line[1024];
    T_EQ_STR(res.headers[i].name, names[i], "header order");
    snprintf(line, sizeof(line), "%s: %s", res.headers[i].name,
             res.headers[i].value);
    T_EQ_STR(res.headers[i].line, line, "line is \"Name: value\"");
  }
  T_EQ_STR(aws_sigv4_result_header(&res, "host"), "127.0.0.1:5000",
           "Host keeps the port");
  T_EQ_STR(res.payload_hash,
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "payload hash is SHA-256 of the bytes given");
  T_EQ_STR(aws_sigv4_result_header(&res, "X-AMZ-CONTENT-SHA256"),
           res.payload_hash, "lookup is case-insensitive");
  T_OK(res.canonical_request == NULL && res.string_to_sign == NULL,
       "no debug strings unless asked");
  const char *auth = aws_sigv4_result_header(&res, "Authorization");
  T_OK(auth != NULL && strstr(auth, "SignedHeaders=content-type;host;"
                                    "x-amz-content-sha256;x-amz-date;"
                                    "x-amz-security-token,") != NULL,
       "every returned header but Authorization is signed");
  T_OK(auth != NULL && strstr(auth, creds.secret_access_key) == NULL,
       "the secret is not in the Authorization header");
  char first_sig[AWS_SIGV4_HEX_SIZE];
  memcpy(first_sig, res.signature, sizeof(first_sig));
  aws_sigv4_result_free(&res);
  aws_sigv4_result_free(&res);
  T_OK(res.header_count == 0 && res.storage_ == NULL, "free empties");

  rc = aws_sigv4_sign(&r, &creds, &res);
  T_OK(rc == 0 && strcmp(res.signature, first_sig) == 0,
       "same input, same signature");
  aws_sigv4_result_free(&res);
  r.now += 1;
  rc = aws_sigv4_sign(&r, &creds, &res);
  T_OK(rc == 0 && strcmp(res.signature, first_sig) != 0,
       "one second later, another signature");
  aws_sigv4_result_free(&res);

  r = base_request();
  r.payload = NULL;
  r.payload_len = 0;
  rc = aws_sigv4_sign(&r, &test_creds, &res);
  T_EQ_STR(rc == 0 ? res.payload_hash : res.error,
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "no payload hashes as the empty string");
  aws_sigv4_result_free(&res);
  aws_sigv4_result_free(NULL);
  T_OK(aws_sigv4_result_header(NULL, "Host") == NULL, "lookup in NULL");
}

/* A PutMetricData request as write_cloudwatch sends it, against the value
 * botocore 1.43 computes for the same request (SigV4Auth with the time
 * fixed); tests/integration/test_sigv4_botocore.py checks many more. */
static void test_cloudwatch_known_answer(void) {
  static const char body[] =
      "{\"Namespace\":\"aws/sagemaker/Endpoints\",\"MetricData\":[{"
      "\"MetricName\":\"ApproximateBacklogSize\",\"Value\":3}]}";
  aws_sigv4_header_t h[] = {
      {"Content-Type", "application/x-amz-json-1.0"},
      {"X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData"},
  };
  aws_sigv4_credentials_t creds = {"AKIDEXAMPLE",
                                   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   "session-token-example"};
  aws_sigv4_request_t r = {
      .method = "POST",
      .host = "monitoring.us-east-1.amazonaws.com",
      .path = "/",
      .headers = h,
      .header_count = 2,
      .payload = body,
      .payload_len = sizeof(body) - 1,
      .region = "us-east-1",
      .service = "monitoring",
      .now = 1764187200, /* 2025-11-26T20:00:00Z */
  };
  aws_sigv4_result_t res;
  int rc = aws_sigv4_sign(&r, &creds, &res);
  T_EQ_INT(rc, 0, "PutMetricData request signs");
  T_EQ_STR(aws_sigv4_result_header(&res, "X-Amz-Date"), "20251126T200000Z",
           "PutMetricData: X-Amz-Date");
  T_EQ_STR(aws_sigv4_result_header(&res, "Authorization"),
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251126/us-east-1/"
           "monitoring/aws4_request, SignedHeaders=content-type;host;"
           "x-amz-date;x-amz-security-token;x-amz-target, "
           "Signature="
           "2238f8aef735038f7385dff17409fa14acccad252f5aaaa647c5d0d79103748e",
           "PutMetricData: Authorization as botocore computes it");
  aws_sigv4_result_free(&res);
}

/* ------------------------------------------------------------ bad input */

static const char *const secret_marker = "SeCrEtKeY/do-not-print";

static void expect_error(aws_sigv4_request_t r, aws_sigv4_credentials_t c,
                         const char *what, const char *needle) {
  aws_sigv4_result_t res;
  int rc = aws_sigv4_sign(&r, &c, &res);
  T_OK(rc == -1 && res.error[0] != '\0' && res.header_count == 0 &&
           res.storage_ == NULL && res.canonical_request == NULL,
       "refused: %s", what);
  if (needle != NULL && !T_OK(strstr(res.error, needle) != NULL,
                              "  message names \"%s\"", needle))
    T_NOTE("message: %s", res.error);
  T_OK(strstr(res.error, secret_marker) == NULL &&
           (c.session_token == NULL ||
            strstr(res.error, c.session_token) == NULL),
       "  message holds no credential");
  aws_sigv4_result_free(&res);
}

static void test_errors(void) {
  aws_sigv4_credentials_t c = {"AKIDEXAMPLE", secret_marker, NULL};
  aws_sigv4_credentials_t bad;
  aws_sigv4_request_t r;
  aws_sigv4_result_t res;
  aws_sigv4_header_t h[2];
  char *big = NULL;

  T_EQ_INT(aws_sigv4_sign(NULL, &c, &res), -1, "NULL request refused");
  T_OK(res.error[0] != '\0' && res.header_count == 0, "  with a message");
  aws_sigv4_result_free(&res);
  r = base_request();
  T_EQ_INT(aws_sigv4_sign(&r, NULL, &res), -1, "NULL credentials refused");
  aws_sigv4_result_free(&res);
  T_EQ_INT(aws_sigv4_sign(&r, &c, NULL), -1, "NULL result refused");

  /* One field of the credentials or the request set to a bad value each,
   * the others good. */
  {
    const struct {
      const char **field;
      const char *value;
      const char *what;
      const char *needle; /* what the message names */
    } fields[] = {
        {&bad.access_key_id, "", "empty access key id", "access key id"},
        {&bad.access_key_id, NULL, "no access key id", "access key id"},
        {&bad.access_key_id, "AKID/x", "access key id with a slash",
         "access key id"},
        {&bad.secret_access_key, "", "empty secret key", "secret access key"},
        {&bad.secret_access_key, NULL, "no secret key", "secret access key"},
        {&bad.session_token, "tok\r\nX-Evil: 1", "token with a line break",
         "session token"},
        {&r.host, NULL, "no host", "host"},
        {&r.host, "", "empty host", "host"},
        {&r.host, "example.com/path", "host with a path", "host"},
        {&r.region, "", "empty region", "region"},
        {&r.service, "a/b", "service with a slash", "service"},
        {&r.method, NULL, "no method", "method"},
        {&r.method, "GE T", "method with a space", "method"},
        {&r.path, "relative", "path without a leading slash", "path"},
        {&r.path, "/a?b=c", "query inside the path", "path"},
        {&r.path, "/a\nb", "control character in the path", "path"},
        {&r.query, "a=%zz", "bad percent escape in the query", "query"},
        {&r.query, "a=%4", "truncated percent escape in the query", "query"},
        {&r.query, "a=1\r\n", "control character in the query", "query"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
      bad = c;
      r = base_request();
      *fields[i].field = fields[i].value;
      expect_error(r, bad, fields[i].what, fields[i].needle);
    }
  }

  /* One header, bad. */
  {
    static const struct {
      aws_sigv4_header_t h;
      const char *what;
      const char *needle;
    } headers[] = {
        {{"", "v"}, "header without a name", "header 0"},
        {{"X-A", NULL}, "header without a value", "header 0"},
        {{"X A", "v"}, "header name with a space", "header 0"},
        {{"X-A:", "v"}, "header name with a colon", "header 0"},
        {{"Host", "v"}, "Host", "set by the signer"},
        {{"authorization", "v"}, "authorization", "set by the signer"},
        {{"X-Amz-Date", "v"}, "X-Amz-Date", "set by the signer"},
        {{"x-amz-security-token", "v"},
         "x-amz-security-token",
         "set by the signer"},
        {{"X-Amz-Content-SHA256", "v"},
         "X-Amz-Content-SHA256",
         "set by the signer"},
        {{"X-A", "v\r\nX-Injected: 1"},
         "header value that would split the header",
         "X-A"},
        {{"X-A", "v\nX-Injected: 1"}, "header value with a bare LF", "X-A"},
        {{"X-A", "v\x01"}, "header value with a control character", "X-A"},
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
      r = base_request();
      r.headers = &headers[i].h;
      r.header_count = 1;
      expect_error(r, c, headers[i].what, headers[i].needle);
    }
  }
  r = base_request();
  r.headers = NULL;
  r.header_count = 1;
  expect_error(r, c, "header_count without headers", "headers");

  r = base_request();
  r.payload = NULL;
  r.payload_len = 10;
  expect_error(r, c, "payload_len without a payload", "payload");

  r = base_request();
  r.now = (time_t)INT64_MAX;
  expect_error(r, c, "time beyond year 9999", "time");
  r.now = (time_t)253402300800; /* 10000-01-01T00:00:00Z */
  expect_error(r, c, "time at year 10000", "time");

  /* Caps. */
  aws_sigv4_header_t many[AWS_SIGV4_MAX_HEADERS + 1];
  for (size_t i = 0; i < AWS_SIGV4_MAX_HEADERS + 1; i++)
    many[i] = (aws_sigv4_header_t){"X-Many", "v"};
  r = base_request();
  r.headers = many;
  r.header_count = AWS_SIGV4_MAX_HEADERS + 1;
  expect_error(r, c, "too many headers", "headers");
  r.header_count = AWS_SIGV4_MAX_HEADERS;
  T_EQ_INT(aws_sigv4_sign(&r, &c, &res), 0, "as many headers as allowed sign");
  aws_sigv4_result_free(&res);

  big = malloc(AWS_SIGV4_MAX_FIELD + 2);
  if (T_OK(big != NULL, "allocate a long string")) {
    memset(big, 'a', AWS_SIGV4_MAX_FIELD + 1);
    big[AWS_SIGV4_MAX_FIELD + 1] = '\0';
    r = base_request();
    r.headers = h;
    r.header_count = 1;
    h[0] = (aws_sigv4_header_t){"X-Long", big};
    expect_error(r, c, "header value over the field cap", "header 0");
    big[AWS_SIGV4_MAX_FIELD] = '\0';
    /* Five values at the field cap: over the canonical request cap. */
    for (size_t i = 0; i < 5; i++)
      many[i] = (aws_sigv4_header_t){"X-Long", big};
    r.headers = many;
    r.header_count = 5;
    expect_error(r, c, "headers adding up over the canonical cap", "longer");
    r = base_request();
    big[0] = '/';
    r.path = big;
    T_EQ_INT(aws_sigv4_sign(&r, &c, &res), 0, "a path at the field cap signs");
    aws_sigv4_result_free(&res);
    /* Spaces take three bytes each once encoded: with one long header
     * that is over the canonical request cap. */
    char *big2 = strdup(big);
    if (T_OK(big2 != NULL, "allocate another long string")) {
      memset(big + 1, ' ', AWS_SIGV4_MAX_FIELD - 1);
      h[0] = (aws_sigv4_header_t){"X-Long", big2};
      r.headers = h;
      r.header_count = 1;
      expect_error(r, c, "encoded path and a header over the cap", "longer");
    }
    free(big2);
    r = base_request();
    memset(big, '&', AWS_SIGV4_MAX_FIELD);
    r.query = big;
    expect_error(r, c, "too many query parameters", "query parameters");
  }
  free(big);
}

int main(void) {
  test_suite();
  test_canonical_forms();
  test_output();
  test_cloudwatch_known_answer();
  test_errors();
  return t_done();
}
