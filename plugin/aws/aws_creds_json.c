/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_json: the credentials document parser and its times (see
 * aws_creds_json.h).
 */
#include "aws_creds_json.h"
#include "aws_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

static const char *const json_names[AWS_CREDS_JSON_FIELD_COUNT] = {
    "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "Code"};
static const size_t json_caps[AWS_CREDS_JSON_FIELD_COUNT] = {
    AWS_CREDS_JSON_KEY_ID_MAX, AWS_CREDS_JSON_SECRET_MAX,
    AWS_CREDS_JSON_TOKEN_MAX, AWS_CREDS_JSON_SHORT_MAX,
    AWS_CREDS_JSON_SHORT_MAX};

struct aws_creds_json_s {
  yajl_handle yajl;
  unsigned depth;   /* 1 inside the top-level object */
  int field;        /* member whose value comes next at depth 1; -1 other */
  bool seen_object; /* the top-level value was an object */
  size_t bytes;
  bool failed;
  bool finished;
  char *values[AWS_CREDS_JSON_FIELD_COUNT];
  char error[128];
};

/* Ends the parse from a callback with a message. */
__attribute__((format(printf, 2, 3))) static int
json_fail(aws_creds_json_t *j, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->error, sizeof(j->error), fmt, ap);
  va_end(ap);
  j->failed = true;
  return 0;
}

/* Any value but a string: fine unless it is a known member's. */
static int json_other(aws_creds_json_t *j) {
  if (j->depth == 0)
    return json_fail(j, "not a JSON object");
  if (j->depth == 1 && j->field >= 0)
    return json_fail(j, "\"%s\" is not a string", json_names[j->field]);
  return 1;
}

static int json_null(void *ud) { return json_other(ud); }
static int json_bool(void *ud, int b) {
  (void)b;
  return json_other(ud);
}
static int json_number(void *ud, const char *s, size_t len) {
  (void)s;
  (void)len;
  return json_other(ud);
}

static int json_string(void *ud, const unsigned char *s, size_t len) {
  aws_creds_json_t *j = ud;
  char *v;

  if (j->depth != 1 || j->field < 0)
    return json_other(j);
  if (len > json_caps[j->field])
    return json_fail(j, "\"%s\" is longer than %zu bytes", json_names[j->field],
                     json_caps[j->field]);
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7e)
      return json_fail(j, "\"%s\" holds a character that cannot be sent",
                       json_names[j->field]);
  v = malloc(len + 1);
  if (v == NULL)
    return json_fail(j, "out of memory");
  memcpy(v, s, len);
  v[len] = '\0';
  aws_text_free_secret(
      j->values[j->field]); /* a repeated member: the last wins */
  j->values[j->field] = v;
  return 1;
}

static int json_open(aws_creds_json_t *j, bool object) {
  if (j->depth == 0) {
    if (!object)
      return json_fail(j, "not a JSON object");
    j->seen_object = true;
  } else if (j->depth == 1 && j->field >= 0) {
    return json_fail(j, "\"%s\" is not a string", json_names[j->field]);
  }
  if (j->depth >= AWS_CREDS_JSON_DEPTH_MAX)
    return json_fail(j, "nested deeper than %u levels",
                     AWS_CREDS_JSON_DEPTH_MAX);
  j->depth++;
  j->field = -1;
  return 1;
}

static int json_start_map(void *ud) { return json_open(ud, true); }
static int json_start_array(void *ud) { return json_open(ud, false); }

static int json_close(void *ud) {
  aws_creds_json_t *j = ud;
  j->depth--;
  j->field = -1;
  return 1;
}

static int json_key(void *ud, const unsigned char *s, size_t len) {
  aws_creds_json_t *j = ud;
  j->field = -1;
  if (j->depth != 1)
    return 1;
  for (int i = 0; i < AWS_CREDS_JSON_FIELD_COUNT; i++)
    if (strlen(json_names[i]) == len && memcmp(json_names[i], s, len) == 0)
      j->field = i;
  return 1;
}

static const yajl_callbacks json_callbacks = {
    .yajl_null = json_null,
    .yajl_boolean = json_bool,
    .yajl_number = json_number,
    .yajl_string = json_string,
    .yajl_start_map = json_start_map,
    .yajl_map_key = json_key,
    .yajl_end_map = json_close,
    .yajl_start_array = json_start_array,
    .yajl_end_array = json_close,
};

void aws_creds_json_destroy(aws_creds_json_t *j) {
  if (j == NULL)
    return;
  yajl_free(j->yajl);
  for (int i = 0; i < AWS_CREDS_JSON_FIELD_COUNT; i++)
    aws_text_free_secret(j->values[i]);
  free(j);
}

aws_creds_json_t *aws_creds_json_create(void) {
  aws_creds_json_t *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  j->field = -1;
  j->yajl = yajl_alloc(&json_callbacks, NULL, j);
  if (j->yajl == NULL) {
    free(j);
    return NULL;
  }
  return j;
}

/* After yajl refused the text: its message without the text quoted
 * (verbose mode would show the bytes around the error, maybe a secret). */
static void json_syntax_error(aws_creds_json_t *j) {
  unsigned char *e = yajl_get_error(j->yajl, 0, NULL, 0);
  size_t n;

  j->failed = true;
  if (e == NULL) {
    snprintf(j->error, sizeof(j->error), "not valid JSON");
    return;
  }
  n = strcspn((const char *)e, "\r\n");
  snprintf(j->error, sizeof(j->error), "not valid JSON (%.*s)", (int)n,
           (const char *)e);
  yajl_free_error(j->yajl, e);
}

int aws_creds_json_feed(aws_creds_json_t *j, const char *data, size_t len) {
  if (j->failed)
    return -1;
  if (j->finished) {
    json_fail(j, "data after the end of the document");
    return -1;
  }
  if (len > AWS_CREDS_JSON_BODY_MAX - j->bytes) {
    json_fail(j, "longer than %u bytes", AWS_CREDS_JSON_BODY_MAX);
    return -1;
  }
  j->bytes += len;
  if (len == 0)
    return 0;
  yajl_status st = yajl_parse(j->yajl, (const unsigned char *)data, len);
  if (st == yajl_status_ok)
    return 0;
  if (!j->failed)
    json_syntax_error(j);
  return -1;
}

int aws_creds_json_finish(aws_creds_json_t *j) {
  if (!j->failed && !j->finished && j->bytes == 0) {
    json_fail(j, "empty document");
  } else if (!j->failed && !j->finished) {
    yajl_status st = yajl_complete_parse(j->yajl);
    if (st != yajl_status_ok && !j->failed)
      json_syntax_error(j);
    else if (!j->failed && !j->seen_object)
      json_fail(j, "empty document");
  }
  j->finished = true;
  return j->failed ? -1 : 0;
}

const char *aws_creds_json_error(const aws_creds_json_t *j) { return j->error; }

const char *aws_creds_json_get(const aws_creds_json_t *j,
                               aws_creds_json_field_t f) {
  if (!j->finished || j->failed || (unsigned)f >= AWS_CREDS_JSON_FIELD_COUNT)
    return NULL;
  return j->values[f];
}

/*
 * ISO 8601 times
 */

/* n digits at *s, advancing it. -1 when not n digits. */
static int digits(const char **s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*s)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *s += n;
  return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

int aws_creds_json_time(const char *s, time_t *out) {
  int y, mo, d, h, mi, se, off = 0;
  int64_t t;

  if (s == NULL)
    return -1;
  if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 0 ||
      *s++ != '-' || (d = digits(&s, 2)) < 0)
    return -1;
  if (*s != 'T' && *s != 't' && *s != ' ')
    return -1;
  s++;
  if ((h = digits(&s, 2)) < 0 || *s++ != ':' || (mi = digits(&s, 2)) < 0 ||
      *s++ != ':' || (se = digits(&s, 2)) < 0)
    return -1;
  if (*s == '.' || *s == ',') {
    s++;
    if (*s < '0' || *s > '9')
      return -1;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s++ == '-' ? -1 : 1, oh, om;
    if ((oh = digits(&s, 2)) < 0)
      return -1;
    if (*s == ':')
      s++;
    if ((om = digits(&s, 2)) < 0 || oh > 23 || om > 59)
      return -1;
    off = sign * (oh * 3600 + om * 60);
  } else {
    return -1;
  }
  if (*s != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
      d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
    return -1;
  t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
  if (t < 0 || (sizeof(time_t) < 8 && t > INT32_MAX))
    return -1;
  *out = (time_t)t;
  return 0;
}

/*
 * The credentials in a document
 */

aws_creds_source_t aws_creds_json_creds(const aws_creds_json_t *j, time_t now,
                                        const char *what, aws_creds_t *out,
                                        char *msg, size_t size) {
  const char *code = aws_creds_json_get(j, AWS_CREDS_JSON_CODE);
  const char *id = aws_creds_json_get(j, AWS_CREDS_JSON_ACCESS_KEY_ID);
  const char *secret = aws_creds_json_get(j, AWS_CREDS_JSON_SECRET_ACCESS_KEY);
  const char *token = aws_creds_json_get(j, AWS_CREDS_JSON_TOKEN);
  const char *exp = aws_creds_json_get(j, AWS_CREDS_JSON_EXPIRATION);
  char q[AWS_TEXT_QUOTE_SIZE], when[32];
  time_t expiration;

  if (code != NULL && strcmp(code, "Success") != 0) {
    snprintf(msg, size, "%s: Code \"%s\" instead of \"Success\"", what,
             aws_text_quote(code, q, sizeof(q)));
    return AWS_CREDS_ERROR;
  }
  if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0') {
    snprintf(msg, size, "%s: no %s in the answer", what,
             id == NULL || id[0] == '\0' ? "AccessKeyId" : "SecretAccessKey");
    return AWS_CREDS_ERROR;
  }
  if (!aws_text_sendable(id) || !aws_text_sendable(secret) ||
      (token != NULL && !aws_text_sendable(token))) {
    snprintf(msg, size,
             "%s: a key or token holds a character that cannot be sent", what);
    return AWS_CREDS_ERROR;
  }
  if (exp == NULL) {
    snprintf(msg, size, "%s: no Expiration in the answer", what);
    return AWS_CREDS_ERROR;
  }
  if (aws_creds_json_time(exp, &expiration) != 0) {
    snprintf(msg, size, "%s: Expiration \"%s\" is not an ISO 8601 time", what,
             aws_text_quote(exp, q, sizeof(q)));
    return AWS_CREDS_ERROR;
  }
  if (expiration <= now) {
    aws_text_time(expiration, when, sizeof(when));
    snprintf(msg, size, "%s: the credentials expired at %s", what, when);
    return AWS_CREDS_ERROR;
  }
  if (aws_creds_set(out, id, secret, token, expiration) != 0) {
    snprintf(msg, size, "%s: out of memory", what);
    return AWS_CREDS_ERROR;
  }
  return AWS_CREDS_FOUND;
}
