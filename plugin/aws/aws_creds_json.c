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

#include "sm_json.h"

static const char *const json_names[AWS_CREDS_JSON_FIELD_COUNT] = {
    "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "Code"};
static const size_t json_caps[AWS_CREDS_JSON_FIELD_COUNT] = {
    AWS_CREDS_JSON_KEY_ID_MAX, AWS_CREDS_JSON_SECRET_MAX,
    AWS_CREDS_JSON_TOKEN_MAX, AWS_CREDS_JSON_SHORT_MAX,
    AWS_CREDS_JSON_SHORT_MAX};

struct aws_creds_json_s {
  sm_json_t *json;
  int field;        /* member whose value comes next at depth 1; -1 other */
  bool seen_object; /* the top-level value was an object */
  size_t bytes;
  bool finished;
  char *values[AWS_CREDS_JSON_FIELD_COUNT];
  char error[128]; /* set once the document is refused */
};

static bool json_failed(const aws_creds_json_t *j) {
  return j->error[0] != '\0';
}

/* Ends the parse with a message (from an event: stops sm_json). */
__attribute__((format(printf, 2, 3))) static int
json_fail(aws_creds_json_t *j, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->error, sizeof(j->error), fmt, ap);
  va_end(ap);
  return -1;
}

/* A value that is not a known member's string: fine unless it is the
 * top-level value or a known member's. */
static int json_other(aws_creds_json_t *j, unsigned depth) {
  if (depth == 0)
    return json_fail(j, "not a JSON object");
  if (depth == 1 && j->field >= 0)
    return json_fail(j, "\"%s\" is not a string", json_names[j->field]);
  return 0;
}

static int json_scalar(void *ud, unsigned depth, sm_json_type_t type,
                       const char *s, size_t len) {
  aws_creds_json_t *j = ud;
  char *v;

  if (type != SM_JSON_STRING || depth != 1 || j->field < 0)
    return json_other(j, depth);
  if (len > json_caps[j->field])
    return json_fail(j, "\"%s\" is longer than %zu bytes", json_names[j->field],
                     json_caps[j->field]);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
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
  return 0;
}

static int json_open(void *ud, unsigned depth, bool is_array) {
  aws_creds_json_t *j = ud;

  /* The top-level value must be an object, a known member's a string. */
  if ((depth > 0 || is_array) && json_other(j, depth) != 0)
    return -1;
  if (depth >= AWS_CREDS_JSON_DEPTH_MAX)
    return json_fail(j, "nested deeper than %u levels",
                     AWS_CREDS_JSON_DEPTH_MAX);
  if (depth == 0)
    j->seen_object = true;
  j->field = -1;
  return 0;
}

static int json_close(void *ud, unsigned depth, bool is_array) {
  aws_creds_json_t *j = ud;
  (void)depth;
  (void)is_array;
  j->field = -1;
  return 0;
}

static int json_key(void *ud, unsigned depth, const char *s, size_t len) {
  aws_creds_json_t *j = ud;
  j->field = -1;
  if (depth != 1)
    return 0;
  for (int i = 0; i < AWS_CREDS_JSON_FIELD_COUNT; i++)
    if (strlen(json_names[i]) == len && memcmp(json_names[i], s, len) == 0)
      j->field = i;
  return 0;
}

static const sm_json_events_t json_events = {json_scalar, json_key, json_open,
                                             json_close};

void aws_creds_json_destroy(aws_creds_json_t *j) {
  if (j == NULL)
    return;
  sm_json_destroy(j->json);
  for (int i = 0; i < AWS_CREDS_JSON_FIELD_COUNT; i++)
    aws_text_free_secret(j->values[i]);
  free(j);
}

aws_creds_json_t *aws_creds_json_create(void) {
  aws_creds_json_t *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  j->field = -1;
  j->json = sm_json_create(&json_events, j);
  if (j->json == NULL) {
    free(j);
    return NULL;
  }
  return j;
}

/* After sm_json refused the text: its reason, unless ours came first. It
 * never quotes the text (a secret may be in it). */
static void json_refused(aws_creds_json_t *j) {
  if (!json_failed(j))
    json_fail(j, "not valid JSON (%s)", sm_json_error(j->json));
}

int aws_creds_json_feed(aws_creds_json_t *j, const char *data, size_t len) {
  if (json_failed(j))
    return -1;
  if (j->finished)
    json_fail(j, "data after the end of the document");
  else if (len > AWS_CREDS_JSON_BODY_MAX - j->bytes)
    json_fail(j, "longer than %u bytes", AWS_CREDS_JSON_BODY_MAX);
  else if (sm_json_feed(j->json, data, len) != 0)
    json_refused(j);
  else
    j->bytes += len;
  return json_failed(j) ? -1 : 0;
}

int aws_creds_json_finish(aws_creds_json_t *j) {
  if (!json_failed(j) && !j->finished) {
    if (j->bytes == 0)
      json_fail(j, "empty document");
    else if (sm_json_finish(j->json) != 0)
      json_refused(j);
    else if (!j->seen_object)
      json_fail(j, "empty document");
  }
  j->finished = true;
  return json_failed(j) ? -1 : 0;
}

const char *aws_creds_json_error(const aws_creds_json_t *j) { return j->error; }

const char *aws_creds_json_get(const aws_creds_json_t *j,
                               aws_creds_json_field_t f) {
  if (!j->finished || json_failed(j) ||
      (unsigned)f >= AWS_CREDS_JSON_FIELD_COUNT)
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
