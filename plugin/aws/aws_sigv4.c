/* SPDX-License-Identifier: MIT */
/*
 * aws_sigv4: AWS Signature Version 4 in the Authorization header (see
 * aws_sigv4.h). The steps and their names follow AWS's "Create a
 * signed AWS API request": canonical request, string to sign, signing key,
 * signature.
 */
#include "aws_sigv4.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sm_buf.h"

#define AWS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define AWS_SIGV4_TERMINATOR "aws4_request"
#define SHA256_LEN 32

/* --------------------------------------------------------------- buffers */

/* Several strings may share one buffer: a NUL is appended as content, and
 * the next string starts after it. */
static int buf_add_nul(sm_buf_t *b) { return sm_buf_add(b, "", 1); }

/* Hands the buffer's bytes over (NULL when nothing was added). */
static char *buf_take(sm_buf_t *b) {
  return b->p != NULL ? sm_buf_take(b) : NULL;
}

/* ------------------------------------------------------ character classes */

static bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 token characters: what a header name or method may contain. */
static bool is_tchar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
         c == '\f';
}

static bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int percent_encode_byte(sm_buf_t *b, unsigned char c) {
  static const char hex[] = "0123456789ABCDEF";
  char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
  return sm_buf_add(b, enc, sizeof(enc));
}

/* RFC 3986 encoding as SigV4 wants it: unreserved bytes (and "/" in a
 * path) as they are, every other byte as %XX with upper-case hex. */
static int uri_encode(sm_buf_t *b, const char *s, size_t n, bool keep_slash) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int rc = (is_unreserved(c) || (keep_slash && c == '/'))
                 ? sm_buf_addc(b, (char)c)
                 : percent_encode_byte(b, c);
    if (rc != 0)
      return -1;
  }
  return 0;
}

static void to_hex(const unsigned char *md, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ----------------------------------------------------------------- state */

typedef struct {
  const char *name; /* lower case, in sc.headers */
  const char *value;
  size_t order; /* position given, so equal names keep their order */
  size_t name_off, value_off;
} hdr_t;

typedef struct {
  const char *key; /* encoded, in sc.query */
  const char *value;
  size_t key_off, value_off;
} qparam_t;

typedef struct {
  const aws_sigv4_request_t *req;
  const aws_sigv4_credentials_t *creds;
  aws_sigv4_result_t *res;

  bool have_token;
  char date8[9]; /* YYYYMMDD, the credential scope's date */

  sm_buf_t hnames; /* lower-cased names and canonical values, NUL-separated */
  hdr_t *hdrs;
  size_t nhdrs;

  sm_buf_t qtext; /* encoded query keys and values, NUL-separated */
  qparam_t *params;
  size_t nparams;

  sm_buf_t signed_headers; /* "host;x-amz-date" */
  sm_buf_t scope;          /* "20150830/us-east-1/service/aws4_request" */
  sm_buf_t creq;           /* canonical request */
  sm_buf_t sts;            /* string to sign */
  sm_buf_t out;            /* the returned headers' strings */
} signer_t;

__attribute__((format(printf, 2, 3))) static int fail(signer_t *s,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->res->error, sizeof(s->res->error), fmt, ap);
  va_end(ap);
  return -1;
}

/* The reason a buffer refused more: its cap, or memory. */
static int fail_buf(signer_t *s, const sm_buf_t *b, const char *what) {
  if (b->over)
    return fail(s, "%s is longer than %zu bytes", what, b->max);
  return fail(s, "out of memory building the %s", what);
}

/* -------------------------------------------------------------- checking */

/* A required string: present, not empty, within AWS_SIGV4_MAX_FIELD. */
static int check_present(signer_t *s, const char *v, const char *what) {
  if (v == NULL || v[0] == '\0')
    return fail(s, "%s is missing", what);
  if (strnlen(v, AWS_SIGV4_MAX_FIELD + 1) > AWS_SIGV4_MAX_FIELD)
    return fail(s, "%s is longer than %d bytes", what, AWS_SIGV4_MAX_FIELD);
  return 0;
}

/* A scope component (region, service) or key id: these go into the
 * Credential= field, where "/", "," and spaces would change its meaning. */
static int check_scope_part(signer_t *s, const char *v, const char *what) {
  if (check_present(s, v, what) != 0)
    return -1;
  for (const char *p = v; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (is_ctl(c) || c == ' ' || c == '/' || c == ',' || c >= 0x80)
      return fail(s,
                  "%s contains a character not allowed in a "
                  "credential scope",
                  what);
  }
  return 0;
}

/* A header value: no control characters but tabs and obs-fold line breaks
 * (CRLF or LF followed by a space or tab), which canonicalisation turns
 * into one space. A bare line break would split the header when sent. */
static bool value_ok(const char *v) {
  for (const char *p = v; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\r') {
      if (p[1] != '\n')
        return false;
      continue;
    }
    if (c == '\n') {
      if (p[1] != ' ' && p[1] != '\t')
        return false;
      continue;
    }
    if (is_ctl(c) && c != '\t')
      return false;
  }
  return true;
}

static bool is_reserved_header(const char *name) {
  static const char *const reserved[] = {"host", "authorization", "x-amz-date",
                                         "x-amz-security-token",
                                         "x-amz-content-sha256"};
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
    if (strcasecmp(name, reserved[i]) == 0)
      return true;
  return false;
}

static int check_inputs(signer_t *s) {
  const aws_sigv4_request_t *r = s->req;
  const aws_sigv4_credentials_t *c = s->creds;

  if (check_scope_part(s, c->access_key_id, "access key id") != 0 ||
      check_present(s, c->secret_access_key, "secret access key") != 0 ||
      check_scope_part(s, r->region, "region") != 0 ||
      check_scope_part(s, r->service, "service") != 0 ||
      check_present(s, r->method, "method") != 0 ||
      check_present(s, r->host, "host") != 0)
    return -1;

  s->have_token = c->session_token != NULL && c->session_token[0] != '\0';
  if (s->have_token) {
    if (check_present(s, c->session_token, "session token") != 0)
      return -1;
    for (const char *p = c->session_token; *p; p++)
      if (is_ctl((unsigned char)*p) || *p == ' ')
        return fail(s, "session token contains a space or control "
                       "character");
  }

  for (const char *p = r->method; *p; p++)
    if (!is_tchar((unsigned char)*p))
      return fail(s, "method is not an HTTP token");
  for (const char *p = r->host; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (is_ctl(ch) || ch == ' ' || strchr("/?#@\\", ch) != NULL)
      return fail(s, "host must be a host name with an optional port");
  }

  if (r->path != NULL && r->path[0] != '\0') {
    if (check_present(s, r->path, "path") != 0)
      return -1;
    if (r->path[0] != '/')
      return fail(s, "path must start with \"/\"");
    for (const char *p = r->path; *p; p++) {
      if (is_ctl((unsigned char)*p))
        return fail(s, "path contains a control character");
      if (*p == '?' || *p == '#')
        return fail(s, "path contains \"%c\": pass the query separately", *p);
    }
  }
  if (r->query != NULL && r->query[0] != '\0') {
    if (check_present(s, r->query, "query") != 0)
      return -1;
    for (const char *p = r->query; *p; p++)
      if (is_ctl((unsigned char)*p) || *p == '#')
        return fail(s, "query contains a control character or \"#\"");
  }

  if (r->header_count > 0 && r->headers == NULL)
    return fail(s, "header_count is %zu but headers is NULL", r->header_count);
  if (r->header_count > AWS_SIGV4_MAX_HEADERS)
    return fail(s, "more than %d headers to sign", AWS_SIGV4_MAX_HEADERS);
  for (size_t i = 0; i < r->header_count; i++) {
    const aws_sigv4_header_t *h = &r->headers[i];
    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL)
      return fail(s, "header %zu has no name or no value", i);
    if (strnlen(h->name, AWS_SIGV4_MAX_FIELD + 1) > AWS_SIGV4_MAX_FIELD ||
        strnlen(h->value, AWS_SIGV4_MAX_FIELD + 1) > AWS_SIGV4_MAX_FIELD)
      return fail(s, "header %zu is longer than %d bytes", i,
                  AWS_SIGV4_MAX_FIELD);
    for (const char *p = h->name; *p; p++)
      if (!is_tchar((unsigned char)*p))
        return fail(s, "header %zu: name is not an HTTP token", i);
    if (is_reserved_header(h->name))
      return fail(s, "header \"%.40s\" is set by the signer", h->name);
    if (!value_ok(h->value))
      return fail(s,
                  "header \"%.40s\": value contains a control character "
                  "or a line break not followed by a space",
                  h->name);
  }

  if (r->payload == NULL && r->payload_len > 0)
    return fail(s, "payload is NULL but payload_len is %zu", r->payload_len);
  return 0;
}

/* ------------------------------------------------------------------ time */

static int format_date(signer_t *s) {
  struct tm tm;
  if (gmtime_r(&s->req->now, &tm) == NULL || tm.tm_year + 1900 < 1 ||
      tm.tm_year + 1900 > 9999)
    return fail(s, "time %lld is outside years 1 to 9999",
                (long long)s->req->now);
  if (strftime(s->res->amz_date, sizeof(s->res->amz_date), "%Y%m%dT%H%M%SZ",
               &tm) != AWS_SIGV4_AMZ_DATE_SIZE - 1)
    return fail(s, "could not format the time");
  memcpy(s->date8, s->res->amz_date, 8);
  s->date8[8] = '\0';
  return 0;
}

/* -------------------------------------------------------------- hashing */

static int sha256_hex(const void *data, size_t n,
                      char out[AWS_SIGV4_HEX_SIZE]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  /* EVP_Digest wants a non-NULL pointer even for no bytes. */
  if (EVP_Digest(n > 0 ? data : "", n, md, &len, EVP_sha256(), NULL) != 1 ||
      len != SHA256_LEN)
    return -1;
  to_hex(md, len, out);
  return 0;
}

static int hash_payload(signer_t *s) {
  if (sha256_hex(s->req->payload, s->req->payload_len, s->res->payload_hash) !=
      0)
    return fail(s, "libcrypto could not hash the payload");
  return 0;
}

/* --------------------------------------------------------------- headers */

/* Lower-cased name and canonical value of one header, appended to
 * s->hnames; offsets recorded in s->hdrs[s->nhdrs++]. The value is
 * trimmed and each inner run of whitespace becomes one space. */
static int add_header(signer_t *s, const char *name, const char *value) {
  hdr_t *h = &s->hdrs[s->nhdrs];
  sm_buf_t *b = &s->hnames;

  h->order = s->nhdrs;
  h->name_off = b->len;
  for (const char *p = name; *p; p++)
    if (sm_buf_addc(b, ascii_lower(*p)) != 0)
      return -1;
  if (buf_add_nul(b) != 0)
    return -1;

  h->value_off = b->len;
  bool pending_space = false;
  for (const char *p = value; *p; p++) {
    if (is_space((unsigned char)*p)) {
      pending_space = b->len > h->value_off;
      continue;
    }
    if (pending_space && sm_buf_addc(b, ' ') != 0)
      return -1;
    pending_space = false;
    if (sm_buf_addc(b, *p) != 0)
      return -1;
  }
  if (buf_add_nul(b) != 0)
    return -1;
  s->nhdrs++;
  return 0;
}

static int cmp_hdr(const void *a, const void *b) {
  const hdr_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* The headers that get signed, sorted by name, equal names in the order
 * given: the caller's, then the signer's own. */
static int collect_headers(signer_t *s) {
  const aws_sigv4_request_t *r = s->req;
  unsigned flags = r->flags;

  s->hdrs = calloc(r->header_count + 4, sizeof(*s->hdrs));
  if (s->hdrs == NULL)
    return fail(s, "out of memory collecting headers");

  int rc = add_header(s, "host", r->host);
  for (size_t i = 0; rc == 0 && i < r->header_count; i++)
    rc = add_header(s, r->headers[i].name, r->headers[i].value);
  if (rc == 0)
    rc = add_header(s, "x-amz-date", s->res->amz_date);
  if (rc == 0 && s->have_token && !(flags & AWS_SIGV4_UNSIGNED_TOKEN))
    rc = add_header(s, "x-amz-security-token", s->creds->session_token);
  if (rc == 0 && (flags & AWS_SIGV4_ADD_CONTENT_SHA256))
    rc = add_header(s, "x-amz-content-sha256", s->res->payload_hash);
  if (rc != 0)
    return fail_buf(s, &s->hnames, "headers");

  /* hnames no longer grows: offsets can become pointers. */
  for (size_t i = 0; i < s->nhdrs; i++) {
    s->hdrs[i].name = s->hnames.p + s->hdrs[i].name_off;
    s->hdrs[i].value = s->hnames.p + s->hdrs[i].value_off;
  }
  qsort(s->hdrs, s->nhdrs, sizeof(*s->hdrs), cmp_hdr);

  for (size_t i = 0; rc == 0 && i < s->nhdrs; i++) {
    if (i > 0 && strcmp(s->hdrs[i].name, s->hdrs[i - 1].name) == 0)
      continue;
    if (i > 0)
      rc = sm_buf_addc(&s->signed_headers, ';');
    if (rc == 0)
      rc = sm_buf_adds(&s->signed_headers, s->hdrs[i].name);
  }
  if (rc != 0)
    return fail_buf(s, &s->signed_headers, "signed header list");
  return 0;
}

/* "name:value\n" per distinct name, the values of a repeated name joined
 * with "," in order. */
static int add_canonical_headers(sm_buf_t *b, const hdr_t *hdrs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool first = i == 0 || strcmp(hdrs[i].name, hdrs[i - 1].name) != 0;
    bool last = i + 1 == n || strcmp(hdrs[i].name, hdrs[i + 1].name) != 0;
    if (first &&
        (sm_buf_adds(b, hdrs[i].name) != 0 || sm_buf_addc(b, ':') != 0))
      return -1;
    if (!first && sm_buf_addc(b, ',') != 0)
      return -1;
    if (sm_buf_adds(b, hdrs[i].value) != 0)
      return -1;
    if (last && sm_buf_addc(b, '\n') != 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ path */

typedef struct {
  size_t off, len; /* a segment of the path, without its slashes */
} path_seg_t;

/* The canonical URI. Normalising keeps RFC 3986's dot-segment removal
 * plus the removal of empty segments ("//") that AWS services apply; a
 * trailing "/" stays when something is left before it. */
static int add_canonical_path(signer_t *s, sm_buf_t *b) {
  const char *path = s->req->path;
  unsigned flags = s->req->flags;
  bool encode = !(flags & AWS_SIGV4_NO_DOUBLE_ENCODE);

  if (path == NULL || path[0] == '\0')
    path = "/";
  size_t n = strlen(path);

  if (flags & AWS_SIGV4_NO_NORMALIZE_PATH)
    return encode ? uri_encode(b, path, n, true) : sm_buf_add(b, path, n);

  /* Segments kept so far. A path of n bytes has at most n / 2 + 1
   * non-empty segments. */
  size_t cap = n / 2 + 1, kept = 0;
  path_seg_t *segs = calloc(cap, sizeof(*segs));
  if (segs == NULL)
    return -1;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && path[j] != '/')
      j++;
    size_t len = j - i;
    if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
      if (kept > 0)
        kept--;
    } else if (len > 0 && !(len == 1 && path[i] == '.') && kept < cap) {
      segs[kept].off = i;
      segs[kept].len = len;
      kept++;
    }
    i = j + 1;
  }

  int rc = sm_buf_addc(b, '/');
  for (size_t k = 0; rc == 0 && k < kept; k++) {
    if (k > 0)
      rc = sm_buf_addc(b, '/');
    if (rc == 0)
      rc = encode ? uri_encode(b, path + segs[k].off, segs[k].len, false)
                  : sm_buf_add(b, path + segs[k].off, segs[k].len);
  }
  if (rc == 0 && kept > 0 && path[n - 1] == '/')
    rc = sm_buf_addc(b, '/');
  free(segs);
  return rc;
}

/* ----------------------------------------------------------------- query */

/* Decodes the %XX escapes of s[0..n) and appends it re-encoded with the
 * unreserved set, so a parameter has one canonical form however the caller
 * escaped it: "%7e" and "~" alike, "%c3" as "%C3", a raw space as "%20".
 * Returns 1 on a "%" without two hex digits, -1 when b refuses. */
static int add_requoted(sm_buf_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      int hi = n - i >= 3 ? hex_value((unsigned char)s[i + 1]) : -1;
      int lo = n - i >= 3 ? hex_value((unsigned char)s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return 1;
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
    }
    int rc =
        is_unreserved(c) ? sm_buf_addc(b, (char)c) : percent_encode_byte(b, c);
    if (rc != 0)
      return -1;
  }
  return 0;
}

static int cmp_qparam(const void *a, const void *b) {
  const qparam_t *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c != 0 ? c : strcmp(x->value, y->value);
}

static int collect_query(signer_t *s) {
  const char *q = s->req->query;
  if (q == NULL || q[0] == '\0')
    return 0;

  size_t count = 1;
  for (const char *p = q; *p; p++)
    count += *p == '&';
  if (count > AWS_SIGV4_MAX_QUERY_PARAMS)
    return fail(s, "more than %d query parameters", AWS_SIGV4_MAX_QUERY_PARAMS);
  s->params = calloc(count, sizeof(*s->params));
  if (s->params == NULL)
    return fail(s, "out of memory parsing the query");

  const char *p = q;
  int rc = 0;
  while (rc == 0 && *p) {
    size_t len = strcspn(p, "&");
    if (len > 0) { /* "a=1&&b=2": nothing between the "&"s is no parameter */
      const char *eq = memchr(p, '=', len);
      size_t klen = eq ? (size_t)(eq - p) : len;
      qparam_t *qp = &s->params[s->nparams++];
      qp->key_off = s->qtext.len;
      rc = add_requoted(&s->qtext, p, klen);
      if (rc == 0)
        rc = buf_add_nul(&s->qtext);
      qp->value_off = s->qtext.len;
      if (rc == 0 && eq != NULL)
        rc = add_requoted(&s->qtext, eq + 1, len - klen - 1);
      if (rc == 0)
        rc = buf_add_nul(&s->qtext);
    }
    p += len;
    if (*p == '&')
      p++;
  }
  if (rc > 0)
    return fail(s, "query contains a \"%%\" not followed by two hex digits");
  if (rc < 0)
    return fail_buf(s, &s->qtext, "query");

  for (size_t i = 0; i < s->nparams; i++) {
    s->params[i].key = s->qtext.p + s->params[i].key_off;
    s->params[i].value = s->qtext.p + s->params[i].value_off;
  }
  qsort(s->params, s->nparams, sizeof(*s->params), cmp_qparam);
  return 0;
}

static int add_canonical_query(sm_buf_t *b, const qparam_t *params, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && sm_buf_addc(b, '&') != 0) ||
        sm_buf_adds(b, params[i].key) != 0 || sm_buf_addc(b, '=') != 0 ||
        sm_buf_adds(b, params[i].value) != 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------- the steps */

/* Method, path, query, headers, the signed headers' names and the
 * payload's hash, one line each. */
static int build_canonical_request(signer_t *s) {
  sm_buf_t *b = &s->creq;
  if (sm_buf_printf(b, "%s\n", s->req->method) != 0 ||
      add_canonical_path(s, b) != 0 || sm_buf_addc(b, '\n') != 0 ||
      add_canonical_query(b, s->params, s->nparams) != 0 ||
      sm_buf_addc(b, '\n') != 0 ||
      add_canonical_headers(b, s->hdrs, s->nhdrs) != 0 ||
      sm_buf_addc(b, '\n') != 0 ||
      sm_buf_add(b, s->signed_headers.p, s->signed_headers.len) != 0 ||
      sm_buf_printf(b, "\n%s", s->res->payload_hash) != 0)
    return fail_buf(s, b, "canonical request");
  return 0;
}

/* The credential scope (date/region/service/aws4_request), then the
 * algorithm, the time, the scope and the canonical request's hash. */
static int build_string_to_sign(signer_t *s) {
  char creq_hash[AWS_SIGV4_HEX_SIZE];
  sm_buf_t *sc = &s->scope, *b = &s->sts;

  if (sha256_hex(s->creq.p, s->creq.len, creq_hash) != 0)
    return fail(s, "libcrypto could not hash the canonical request");
  if (sm_buf_printf(sc, "%s/%s/%s/" AWS_SIGV4_TERMINATOR, s->date8,
                    s->req->region, s->req->service) != 0)
    return fail_buf(s, sc, "credential scope");
  if (sm_buf_printf(b, AWS_SIGV4_ALGORITHM "\n%s\n%s\n%s", s->res->amz_date,
                    sc->p, creq_hash) != 0)
    return fail_buf(s, b, "string to sign");
  return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *msg,
                       size_t msg_len, unsigned char out[EVP_MAX_MD_SIZE],
                       unsigned int *out_len) {
  if (key_len > INT_MAX)
    return -1;
  if (HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, out_len) ==
          NULL ||
      *out_len != SHA256_LEN)
    return -1;
  return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"); signature = hex(HMAC(kSigning, string to sign)). Every
 * buffer that held key material is wiped. */
static int compute_signature(signer_t *s) {
  const char *secret = s->creds->secret_access_key;
  size_t secret_len = strlen(secret);
  const char *parts[] = {s->date8, s->req->region, s->req->service,
                         AWS_SIGV4_TERMINATOR};
  unsigned char ka[EVP_MAX_MD_SIZE], kb[EVP_MAX_MD_SIZE];
  unsigned int ka_len = 0, kb_len = 0;
  int rc = 0;

  char *k0 = malloc(secret_len + 4);
  if (k0 == NULL)
    return fail(s, "out of memory deriving the signing key");
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, secret, secret_len);

  rc = hmac_sha256(k0, secret_len + 4, parts[0], strlen(parts[0]), ka, &ka_len);
  for (size_t i = 1; rc == 0 && i < sizeof(parts) / sizeof(parts[0]); i++) {
    rc = hmac_sha256(ka, ka_len, parts[i], strlen(parts[i]), kb, &kb_len);
    memcpy(ka, kb, sizeof(ka));
    ka_len = kb_len;
  }
  if (rc == 0)
    rc = hmac_sha256(ka, ka_len, s->sts.p, s->sts.len, kb, &kb_len);
  if (rc == 0)
    to_hex(kb, kb_len, s->res->signature);

  OPENSSL_cleanse(k0, secret_len + 4);
  OPENSSL_cleanse(ka, sizeof(ka));
  OPENSSL_cleanse(kb, sizeof(kb));
  free(k0);
  if (rc != 0)
    return fail(s, "libcrypto could not compute an HMAC");
  return 0;
}

/* Appends "name\0value\0name: value\0" to s->out and records the offsets
 * of the three strings in offs. */
static int add_out(signer_t *s, size_t offs[3], const char *name,
                   const char *value) {
  sm_buf_t *b = &s->out;
  int rc = 0;

  offs[0] = b->len;
  rc = sm_buf_adds(b, name);
  if (rc == 0)
    rc = buf_add_nul(b);
  offs[1] = b->len;
  if (rc == 0)
    rc = sm_buf_adds(b, value);
  if (rc == 0)
    rc = buf_add_nul(b);
  offs[2] = b->len;
  if (rc == 0)
    rc = sm_buf_adds(b, name);
  if (rc == 0)
    rc = sm_buf_adds(b, ": ");
  if (rc == 0)
    rc = sm_buf_adds(b, value);
  if (rc == 0)
    rc = buf_add_nul(b);
  return rc;
}

static int build_output(signer_t *s) {
  aws_sigv4_result_t *res = s->res;
  const aws_sigv4_request_t *r = s->req;
  size_t offs[AWS_SIGV4_OUT_MAX][3];
  size_t n = 0;
  int rc = 0;

  sm_buf_t auth;
  sm_buf_init(&auth, AWS_SIGV4_MAX_CANONICAL);
  rc = sm_buf_adds(&auth, AWS_SIGV4_ALGORITHM " Credential=");
  if (rc == 0)
    rc = sm_buf_adds(&auth, s->creds->access_key_id);
  if (rc == 0)
    rc = sm_buf_addc(&auth, '/');
  if (rc == 0)
    rc = sm_buf_add(&auth, s->scope.p, s->scope.len);
  if (rc == 0)
    rc = sm_buf_adds(&auth, ", SignedHeaders=");
  if (rc == 0)
    rc = sm_buf_add(&auth, s->signed_headers.p, s->signed_headers.len);
  if (rc == 0)
    rc = sm_buf_adds(&auth, ", Signature=");
  if (rc == 0)
    rc = sm_buf_adds(&auth, res->signature);

  if (rc == 0 && (r->flags & AWS_SIGV4_ADD_HOST))
    rc = add_out(s, offs[n++], "Host", r->host);
  if (rc == 0)
    rc = add_out(s, offs[n++], "X-Amz-Date", res->amz_date);
  if (rc == 0 && s->have_token)
    rc = add_out(s, offs[n++], "X-Amz-Security-Token", s->creds->session_token);
  if (rc == 0 && (r->flags & AWS_SIGV4_ADD_CONTENT_SHA256))
    rc = add_out(s, offs[n++], "X-Amz-Content-Sha256", res->payload_hash);
  if (rc == 0)
    rc = add_out(s, offs[n++], "Authorization", auth.p);
  if (rc != 0)
    rc = fail_buf(s, auth.over ? &auth : &s->out, "Authorization header");
  sm_buf_free(&auth);
  if (rc != 0)
    return rc;

  /* s->out is complete: hand it to the result and point into it. */
  res->storage_ = buf_take(&s->out);
  for (size_t i = 0; i < n; i++) {
    res->headers[i].name = res->storage_ + offs[i][0];
    res->headers[i].value = res->storage_ + offs[i][1];
    res->headers[i].line = res->storage_ + offs[i][2];
  }
  res->header_count = n;
  return 0;
}

/* ---------------------------------------------------------------- public */

int aws_sigv4_sign(const aws_sigv4_request_t *req,
                   const aws_sigv4_credentials_t *creds,
                   aws_sigv4_result_t *res) {
  if (res == NULL)
    return -1;
  memset(res, 0, sizeof(*res));

  signer_t s;
  memset(&s, 0, sizeof(s));
  s.req = req;
  s.creds = creds;
  s.res = res;
  /* The name and value strings are each capped at AWS_SIGV4_MAX_FIELD; the
   * caps below bound what they add up to. */
  sm_buf_init(&s.hnames, AWS_SIGV4_MAX_CANONICAL);
  sm_buf_init(&s.qtext, AWS_SIGV4_MAX_CANONICAL);
  sm_buf_init(&s.signed_headers, AWS_SIGV4_MAX_CANONICAL);
  sm_buf_init(&s.scope, 1024);
  sm_buf_init(&s.creq, AWS_SIGV4_MAX_CANONICAL);
  sm_buf_init(&s.sts, 1024);
  sm_buf_init(&s.out, 2 * AWS_SIGV4_MAX_CANONICAL);

  /* The steps of the signature, in order; each fails with a message. */
  static int (*const steps[])(signer_t *) = {
      check_inputs,         format_date,       hash_payload,
      collect_headers,      collect_query,     build_canonical_request,
      build_string_to_sign, compute_signature, build_output,
  };
  int rc = 0;
  if (req == NULL || creds == NULL)
    rc = fail(&s, "no request or no credentials");
  for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
    rc = steps[i](&s);
  if (rc == 0 && (req->flags & AWS_SIGV4_KEEP_DEBUG)) {
    res->canonical_request = buf_take(&s.creq);
    res->string_to_sign = buf_take(&s.sts);
  }

  if (rc != 0) {
    /* Keep the message, drop anything half-made. */
    char error[AWS_SIGV4_ERROR_SIZE];
    memcpy(error, res->error, sizeof(error));
    aws_sigv4_result_free(res);
    memcpy(res->error, error, sizeof(error));
  }
  free(s.hdrs);
  free(s.params);
  sm_buf_free(&s.hnames);
  sm_buf_free(&s.qtext);
  sm_buf_free(&s.signed_headers);
  sm_buf_free(&s.scope);
  sm_buf_free(&s.creq);
  sm_buf_free(&s.sts);
  sm_buf_free(&s.out);
  return rc;
}

void aws_sigv4_result_free(aws_sigv4_result_t *res) {
  if (res == NULL)
    return;
  free(res->storage_);
  free(res->canonical_request);
  free(res->string_to_sign);
  memset(res, 0, sizeof(*res));
}

const char *aws_sigv4_result_header(const aws_sigv4_result_t *res,
                                    const char *name) {
  if (res == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < res->header_count && i < AWS_SIGV4_OUT_MAX; i++)
    if (strcasecmp(res->headers[i].name, name) == 0)
      return res->headers[i].value;
  return NULL;
}
