/* SPDX-License-Identifier: MIT */
/*
 * aws_creds: the credential chain, its cache and the region lookup (see
 * aws_creds.h). Sections: messages and small helpers; the
 * credentials document parser; ISO 8601 times; files; HTTP; the four
 * providers; the chain and its cache; the region.
 */
#include "aws_creds.h"
#include "aws_profile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_parse.h>

/* Room for any message this module writes. */
#define MSG_MAX 1024
/* Room for a URL or a file path built here. */
#define URL_MAX 2048
#define PATH_BUF 4096
/* Untrusted text (an Expiration or Code value) is quoted cut to this. */
#define QUOTE_MAX 40
/* Expiration and Code members of a credentials document. */
#define SHORT_VALUE_MAX 64u
/* IAM role names are at most 64 characters; instance profiles 128. */
#define ROLE_NAME_MAX 128u

#define IMDS_TOKEN_PATH "/latest/api/token"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define IMDS_REGION_PATH "/latest/meta-data/placement/region"

/*
 * Messages and small helpers
 */

__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t size,
                                                      const char *fmt, ...) {
  va_list ap;
  if (buf == NULL || size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

/* Copies untrusted text for a message: printable ASCII only, cut to
 * QUOTE_MAX characters. */
static const char *quote(const char *s, char *buf, size_t size) {
  size_t i, o = 0;
  for (i = 0; s[i] != '\0' && i < QUOTE_MAX && o + 1 < size; i++)
    buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
  buf[o] = '\0';
  if (s[i] != '\0' && o + 4 < size)
    memcpy(buf + o, "...", 4);
  return buf;
}

static void format_time(time_t t, char *buf, size_t size) {
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL ||
      strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    say(buf, size, "%lld", (long long)t);
}

/* Bytes a key, a secret or a token may hold: they go into HTTP headers and
 * the SigV4 string to sign. */
static bool sendable(const char *s) {
  for (; *s != '\0'; s++)
    if (*s < 0x21 || *s > 0x7e)
      return false;
  return true;
}

static void free_secret(char *s) {
  if (s == NULL)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

void aws_creds_clear(aws_creds_t *c) {
  if (c == NULL)
    return;
  free_secret(c->access_key_id);
  free_secret(c->secret_access_key);
  free_secret(c->session_token);
  memset(c, 0, sizeof(*c));
}

/* 0, or -1 when memory runs out (out is then cleared). */
static int creds_fill(aws_creds_t *out, const char *id, const char *secret,
                      const char *token, time_t expiration) {
  aws_creds_clear(out);
  out->access_key_id = strdup(id);
  out->secret_access_key = strdup(secret);
  if (token != NULL && token[0] != '\0')
    out->session_token = strdup(token);
  out->expiration = expiration;
  if (out->access_key_id == NULL || out->secret_access_key == NULL ||
      (token != NULL && token[0] != '\0' && out->session_token == NULL)) {
    aws_creds_clear(out);
    return -1;
  }
  return 0;
}

static int creds_copy(aws_creds_t *dst, const aws_creds_t *src) {
  if (creds_fill(dst, src->access_key_id, src->secret_access_key,
                 src->session_token, src->expiration) != 0)
    return -1;
  memcpy(dst->provider, src->provider, sizeof(dst->provider));
  dst->generation = src->generation;
  return 0;
}

const char *aws_creds_process_getenv(void *ud, const char *name) {
  (void)ud;
  return getenv(name);
}

time_t aws_creds_system_clock(void *ud) {
  (void)ud;
  return time(NULL);
}

/* An environment variable, NULL when unset or empty. */
static const char *env(const aws_creds_config_t *c, const char *name) {
  const char *v = c->getenv_fn(c->getenv_ud, name);
  return (v != NULL && v[0] != '\0') ? v : NULL;
}

static bool imds_disabled(const aws_creds_config_t *c) {
  const char *v = env(c, "AWS_EC2_METADATA_DISABLED");
  return v != NULL && strcasecmp(v, "true") == 0;
}

/* cfg with the defaults filled in; strings still point into cfg. */
static void normalize(const aws_creds_config_t *in, aws_creds_config_t *out) {
  *out = *in;
  if (out->imds_url == NULL || out->imds_url[0] == '\0')
    out->imds_url = AWS_CREDS_DEFAULT_IMDS_URL;
  if (out->container_url == NULL || out->container_url[0] == '\0')
    out->container_url = AWS_CREDS_DEFAULT_CONTAINER_URL;
  if (out->home_dir != NULL && out->home_dir[0] == '\0')
    out->home_dir = NULL;
  if (out->profile != NULL && out->profile[0] == '\0')
    out->profile = NULL;
  if (out->timeout_ms <= 0)
    out->timeout_ms = AWS_CREDS_DEFAULT_TIMEOUT_MS;
  if (out->refresh_window_s == 0)
    out->refresh_window_s = AWS_CREDS_DEFAULT_REFRESH_WINDOW_S;
  else if (out->refresh_window_s < 0)
    out->refresh_window_s = 0;
}

/* base (without its trailing slashes) followed by path. -1 if too long. */
static int join_url(char *buf, size_t size, const char *base,
                    const char *path) {
  size_t n = strlen(base);
  while (n > 0 && base[n - 1] == '/')
    n--;
  if (n > INT_MAX)
    return -1;
  return (size_t)snprintf(buf, size, "%.*s%s", (int)n, base, path) < size ? 0
                                                                          : -1;
}

/*
 * The credentials document parser
 */

static const char *const json_names[AWS_CREDS_JSON_FIELD_COUNT] = {
    "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "Code"};
static const size_t json_caps[AWS_CREDS_JSON_FIELD_COUNT] = {
    AWS_CREDS_KEY_ID_MAX, AWS_CREDS_SECRET_MAX, AWS_CREDS_TOKEN_MAX,
    SHORT_VALUE_MAX, SHORT_VALUE_MAX};

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
  free_secret(j->values[j->field]); /* a repeated member: the last wins */
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

void aws_creds_json_destroy(aws_creds_json_t *j) {
  if (j == NULL)
    return;
  yajl_free(j->yajl);
  for (int i = 0; i < AWS_CREDS_JSON_FIELD_COUNT; i++)
    free_secret(j->values[i]);
  free(j);
}

/* After yajl refused the text: its message without the text quoted
 * (verbose mode would show the bytes around the error, maybe a secret). */
static void json_syntax_error(aws_creds_json_t *j) {
  unsigned char *e = yajl_get_error(j->yajl, 0, NULL, 0);
  size_t n;

  j->failed = true;
  if (e == NULL) {
    say(j->error, sizeof(j->error), "not valid JSON");
    return;
  }
  n = strcspn((const char *)e, "\r\n");
  say(j->error, sizeof(j->error), "not valid JSON (%.*s)", (int)n,
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
  if (len > AWS_CREDS_HTTP_BODY_MAX - j->bytes) {
    json_fail(j, "longer than %u bytes", AWS_CREDS_HTTP_BODY_MAX);
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

int aws_iso8601_parse(const char *s, time_t *out) {
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
 * Files
 */

typedef int (*sink_fn)(void *ud, const char *data, size_t len);

typedef enum { FILE_READ, FILE_ABSENT, FILE_ERROR, FILE_REFUSED } file_rc_t;

/* Feeds the file at path to sink, at most max bytes. FILE_ABSENT when it
 * does not exist, FILE_ERROR with msg naming shown, FILE_REFUSED when the
 * sink returned non-zero (its own message tells why). */
static file_rc_t read_file(const char *path, const char *shown, size_t max,
                           sink_fn sink, void *ud, char *msg, size_t size) {
  char buf[4096];
  struct stat st;
  size_t total = 0;
  file_rc_t rc = FILE_READ;
  /* O_NONBLOCK: opening a FIFO must not hang the caller. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return FILE_ABSENT;
    say(msg, size, "%s: %s", shown, strerror(errno));
    return FILE_ERROR;
  }
  if (fstat(fd, &st) != 0) {
    say(msg, size, "%s: %s", shown, strerror(errno));
    rc = FILE_ERROR;
  } else if (!S_ISREG(st.st_mode)) {
    say(msg, size, "%s: not a regular file", shown);
    rc = FILE_ERROR;
  } else if ((uintmax_t)st.st_size > max) {
    say(msg, size, "%s: larger than %zu bytes", shown, max);
    rc = FILE_ERROR;
  }
  while (rc == FILE_READ) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      say(msg, size, "%s: %s", shown, strerror(errno));
      rc = FILE_ERROR;
    } else if (n == 0) {
      break;
    } else if ((size_t)n > max - total) {
      say(msg, size, "%s: larger than %zu bytes", shown, max);
      rc = FILE_ERROR;
    } else {
      total += (size_t)n;
      if (sink(ud, buf, (size_t)n) != 0)
        rc = FILE_REFUSED;
    }
  }
  explicit_bzero(buf, sizeof(buf));
  close(fd);
  return rc;
}

/* A growing string with a cap, for small answers and token files. */
typedef struct {
  char data[AWS_CREDS_SMALL_MAX + 1];
  size_t len;
  bool over;
} small_t;

static int small_add(void *ud, const char *data, size_t len) {
  small_t *b = ud;
  if (len > AWS_CREDS_SMALL_MAX - b->len) {
    b->over = true;
    return -1;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

/* The text without surrounding whitespace, in place. */
static char *small_trimmed(small_t *b) {
  char *s = b->data;
  size_t n = b->len;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                   s[n - 1] == '\n'))
    n--;
  s[n] = '\0';
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  return s;
}

static void small_wipe(small_t *b) {
  explicit_bzero(b->data, b->len);
  b->len = 0;
}

/* path and its form for messages: AWS_*_FILE as given ("~/" expanded), or
 * home + default shown as "~/" + default. 1 when there is no file to read
 * (no home for a default path), -1 when too long. */
static int file_path(const aws_creds_config_t *c, const char *var,
                     const char *dflt, char *path, char *shown) {
  const char *v = env(c, var);
  int n;

  if (v != NULL) {
    snprintf(shown, PATH_BUF, "%s", v);
    if (strncmp(v, "~/", 2) == 0) {
      if (c->home_dir == NULL)
        return 1;
      n = snprintf(path, PATH_BUF, "%s/%s", c->home_dir, v + 2);
    } else {
      n = snprintf(path, PATH_BUF, "%s", v);
    }
  } else {
    if (c->home_dir == NULL)
      return 1;
    snprintf(shown, PATH_BUF, "~/%s", dflt);
    n = snprintf(path, PATH_BUF, "%s/%s", c->home_dir, dflt);
  }
  return (n < 0 || n >= PATH_BUF) ? -1 : 0;
}

static int profile_sink(void *ud, const char *data, size_t len) {
  return aws_profile_parser_feed(ud, data, len);
}

/* Parses the file into *parser (created here). FILE_READ: the result is
 * ready; FILE_ABSENT: no such file (or no home); FILE_ERROR: msg says. */
static file_rc_t parse_profile_file(const aws_creds_config_t *c,
                                    aws_profile_kind_t kind,
                                    const char *profile,
                                    aws_profile_parser_t **parser, char *shown,
                                    char *msg, size_t size) {
  const char *var = kind == AWS_PROFILE_CONFIG_FILE
                        ? "AWS_CONFIG_FILE"
                        : "AWS_SHARED_CREDENTIALS_FILE";
  const char *dflt =
      kind == AWS_PROFILE_CONFIG_FILE ? ".aws/config" : ".aws/credentials";
  char *path = NULL;
  file_rc_t rc = FILE_READ;
  int prc;

  *parser = NULL;
  shown[0] = '\0';
  path = malloc(PATH_BUF);
  if (path == NULL) {
    say(msg, size, "out of memory");
    return FILE_ERROR;
  }
  prc = file_path(c, var, dflt, path, shown);
  if (prc > 0) {
    rc = FILE_ABSENT;
  } else if (prc < 0) {
    say(msg, size, "%s: path too long", var);
    rc = FILE_ERROR;
  }
  if (rc == FILE_READ) {
    *parser = aws_profile_parser_create(kind, profile);
    if (*parser == NULL) {
      say(msg, size, "out of memory");
      rc = FILE_ERROR;
    }
  }
  if (rc == FILE_READ)
    rc = read_file(path, shown, AWS_PROFILE_FILE_MAX, profile_sink, *parser,
                   msg, size);
  if (rc == FILE_READ && aws_profile_parser_finish(*parser) != 0)
    rc = FILE_REFUSED;
  if (rc == FILE_REFUSED) {
    const char *e = aws_profile_parser_error(*parser);
    say(msg, size, "%s%s%s", shown, strncmp(e, "line ", 5) == 0 ? " " : ": ",
        e);
    rc = FILE_ERROR;
  }
  if (rc != FILE_READ) {
    aws_profile_parser_destroy(*parser);
    *parser = NULL;
  }
  free(path);
  return rc;
}

/*
 * HTTP
 */

typedef struct {
  CURL *curl;
  const char *method; /* "GET" or "PUT" */
  const char *url;
  const char *shown; /* for messages: "PUT /latest/api/token" */
  struct curl_slist *headers;
  long timeout_ms;
  aws_creds_json_t *json; /* a 200 body goes here when set, */
  small_t *text;          /* else here when set */
  long status;
  size_t body_bytes;
  bool over;    /* the body was over its cap */
  bool refused; /* the JSON parser refused the body */
} http_t;

static size_t http_body(char *data, size_t size, size_t nmemb, void *ud) {
  http_t *h = ud;
  size_t len = size * nmemb;

  if (h->status == 0)
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
  if (len > AWS_CREDS_HTTP_BODY_MAX - h->body_bytes) {
    h->over = true;
    return 0;
  }
  h->body_bytes += len;
  if (h->status != 200)
    return len; /* not read: its text is not worth a message */
  if (h->json != NULL && aws_creds_json_feed(h->json, data, len) != 0) {
    h->refused = true;
    return 0;
  }
  if (h->json == NULL && h->text != NULL &&
      small_add(h->text, data, len) != 0) {
    h->over = true;
    return 0;
  }
  return len;
}

/* One request. 0 when an answer came whole (any status: h->status); -1 with
 * msg, "what: shown: problem", when none did. A body the JSON parser
 * refused also returns 0: the caller's aws_creds_json_finish() says why. */
static int http_do(http_t *h, const char *what, char *msg, size_t size) {
  char curl_error[CURL_ERROR_SIZE] = "";
  CURLcode rc;
  int ret = 0;

  h->curl = curl_easy_init();
  if (h->curl == NULL) {
    say(msg, size, "%s: %s: cannot create a curl handle", what, h->shown);
    return -1;
  }
  curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
  /* Never through a proxy: these addresses are link-local or loopback. */
  curl_easy_setopt(h->curl, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_body);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "collectd-sagemaker");
  if (strcmp(h->method, "PUT") == 0) {
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, "PUT");
  }
  if (h->headers != NULL)
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);

  rc = curl_easy_perform(h->curl);
  if (h->status == 0)
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
  if (h->over) {
    say(msg, size, "%s: %s: the answer is longer than %u bytes", what, h->shown,
        h->text != NULL && h->status == 200 ? AWS_CREDS_SMALL_MAX
                                            : AWS_CREDS_HTTP_BODY_MAX);
    ret = -1;
  } else if (rc != CURLE_OK && !h->refused) {
    say(msg, size, "%s: %s: %s", what, h->shown,
        curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc));
    ret = -1;
  }
  curl_easy_cleanup(h->curl);
  h->curl = NULL;
  return ret;
}

/* Frees a header list after wiping it: it may carry a token. */
static void headers_free(struct curl_slist *l) {
  for (struct curl_slist *i = l; i != NULL; i = i->next)
    if (i->data != NULL)
      explicit_bzero(i->data, strlen(i->data));
  curl_slist_free_all(l);
}

/* Appends "name: value" to *l; -1 when memory runs out. */
static int header_add(struct curl_slist **l, const char *name,
                      const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  struct curl_slist *nl;

  if (line == NULL)
    return -1;
  snprintf(line, n, "%s: %s", name, value);
  nl = curl_slist_append(*l, line);
  explicit_bzero(line, n);
  free(line);
  if (nl == NULL)
    return -1;
  *l = nl;
  return 0;
}

/*
 * Providers
 */

typedef enum {
  PROV_FOUND,  /* out filled */
  PROV_ABSENT, /* not configured here: msg says so; try the next */
  PROV_ERROR,  /* configured but failed: msg says why; the chain ends */
} prov_rc_t;

/* Credentials from a parsed credentials document: Code, keys, Expiration.
 * what: "container credentials", "instance metadata". */
static prov_rc_t creds_from_json(const aws_creds_config_t *c,
                                 const aws_creds_json_t *j, const char *what,
                                 aws_creds_t *out, char *msg, size_t size) {
  const char *code = aws_creds_json_get(j, AWS_CREDS_JSON_CODE);
  const char *id = aws_creds_json_get(j, AWS_CREDS_JSON_ACCESS_KEY_ID);
  const char *secret = aws_creds_json_get(j, AWS_CREDS_JSON_SECRET_ACCESS_KEY);
  const char *token = aws_creds_json_get(j, AWS_CREDS_JSON_TOKEN);
  const char *exp = aws_creds_json_get(j, AWS_CREDS_JSON_EXPIRATION);
  char q[QUOTE_MAX + 8], when[32];
  time_t expiration;

  if (code != NULL && strcmp(code, "Success") != 0) {
    say(msg, size, "%s: Code \"%s\" instead of \"Success\"", what,
        quote(code, q, sizeof(q)));
    return PROV_ERROR;
  }
  if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0') {
    say(msg, size, "%s: no %s in the answer", what,
        id == NULL || id[0] == '\0' ? "AccessKeyId" : "SecretAccessKey");
    return PROV_ERROR;
  }
  if (!sendable(id) || !sendable(secret) ||
      (token != NULL && !sendable(token))) {
    say(msg, size, "%s: a key or token holds a character that cannot be sent",
        what);
    return PROV_ERROR;
  }
  if (exp == NULL) {
    say(msg, size, "%s: no Expiration in the answer", what);
    return PROV_ERROR;
  }
  if (aws_iso8601_parse(exp, &expiration) != 0) {
    say(msg, size, "%s: Expiration \"%s\" is not an ISO 8601 time", what,
        quote(exp, q, sizeof(q)));
    return PROV_ERROR;
  }
  if (expiration <= c->clock_fn(c->clock_ud)) {
    format_time(expiration, when, sizeof(when));
    say(msg, size, "%s: the credentials expired at %s", what, when);
    return PROV_ERROR;
  }
  if (creds_fill(out, id, secret, token, expiration) != 0) {
    say(msg, size, "%s: out of memory", what);
    return PROV_ERROR;
  }
  return PROV_FOUND;
}

static prov_rc_t from_environment(const aws_creds_config_t *c, aws_creds_t *out,
                                  char *msg, size_t size) {
  const char *id = env(c, "AWS_ACCESS_KEY_ID");
  const char *secret = env(c, "AWS_SECRET_ACCESS_KEY");
  const char *token = env(c, "AWS_SESSION_TOKEN");

  if (id == NULL && secret == NULL) {
    say(msg, size, "environment: AWS_ACCESS_KEY_ID not set");
    return PROV_ABSENT;
  }
  if (id == NULL || secret == NULL) {
    say(msg, size, "environment: %s is set but %s is not",
        id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
        id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return PROV_ERROR;
  }
  if (!sendable(id) || !sendable(secret) ||
      (token != NULL && !sendable(token))) {
    say(msg, size, "environment: %s holds a character that cannot be sent",
        !sendable(id)       ? "AWS_ACCESS_KEY_ID"
        : !sendable(secret) ? "AWS_SECRET_ACCESS_KEY"
                            : "AWS_SESSION_TOKEN");
    return PROV_ERROR;
  }
  if (creds_fill(out, id, secret, token, 0) != 0) {
    say(msg, size, "environment: out of memory");
    return PROV_ERROR;
  }
  snprintf(out->provider, sizeof(out->provider), "environment");
  return PROV_FOUND;
}

/* The profile to use and where its name came from ("" for the default). */
static const char *profile_name(const aws_creds_config_t *c,
                                const char **origin) {
  const char *v;
  if (c->profile != NULL) {
    *origin = "the Profile option";
    return c->profile;
  }
  if ((v = env(c, "AWS_PROFILE")) != NULL) {
    *origin = "AWS_PROFILE";
    return v;
  }
  *origin = "";
  return "default";
}

/* The keys of a parsed profile: PROV_FOUND, PROV_ABSENT when it has none,
 * PROV_ERROR when half a pair or unsendable. */
static prov_rc_t keys_from_profile(const aws_profile_t *r, const char *shown,
                                   const char *profile, const char *kind,
                                   aws_creds_t *out, char *msg, size_t size) {
  if (r->access_key_id == NULL && r->secret_access_key == NULL)
    return PROV_ABSENT;
  if (r->access_key_id == NULL || r->secret_access_key == NULL) {
    say(msg, size, "%s: profile \"%s\" has %s but no %s", shown, profile,
        r->access_key_id != NULL ? "aws_access_key_id"
                                 : "aws_secret_access_key",
        r->access_key_id != NULL ? "aws_secret_access_key"
                                 : "aws_access_key_id");
    return PROV_ERROR;
  }
  if (!sendable(r->access_key_id) || !sendable(r->secret_access_key) ||
      (r->session_token != NULL && !sendable(r->session_token))) {
    say(msg, size,
        "%s: profile \"%s\": a key or token holds a character that cannot be "
        "sent",
        shown, profile);
    return PROV_ERROR;
  }
  if (creds_fill(out, r->access_key_id, r->secret_access_key, r->session_token,
                 0) != 0) {
    say(msg, size, "%s: out of memory", shown);
    return PROV_ERROR;
  }
  snprintf(out->provider, sizeof(out->provider), "shared %s file (profile %s)",
           kind, profile);
  return PROV_FOUND;
}

static prov_rc_t from_files(const aws_creds_config_t *c, aws_creds_t *out,
                            char *msg, size_t size) {
  const char *origin;
  const char *profile = profile_name(c, &origin);
  aws_profile_parser_t *cred = NULL, *conf = NULL;
  char *shown_cred = NULL, *shown_conf = NULL;
  file_rc_t frc = FILE_READ;
  prov_rc_t rc = PROV_ABSENT;
  char unsupported[32] = "";
  bool found = false;

  if (strlen(profile) > AWS_PROFILE_NAME_MAX) {
    say(msg, size,
        "shared files: the profile name from %s is longer than %u "
        "bytes",
        origin, AWS_PROFILE_NAME_MAX);
    return PROV_ERROR;
  }
  shown_cred = malloc(PATH_BUF);
  shown_conf = malloc(PATH_BUF);
  if (shown_cred == NULL || shown_conf == NULL) {
    say(msg, size, "shared files: out of memory");
    rc = PROV_ERROR;
  }

  if (rc == PROV_ABSENT) {
    frc = parse_profile_file(c, AWS_PROFILE_CREDENTIALS_FILE, profile, &cred,
                             shown_cred, msg, size);
    if (frc == FILE_ERROR)
      rc = PROV_ERROR;
  }
  if (rc == PROV_ABSENT && cred != NULL) {
    const aws_profile_t *r = aws_profile_parser_result(cred);
    found = r->found;
    snprintf(unsupported, sizeof(unsupported), "%s", r->unsupported);
    rc = keys_from_profile(r, shown_cred, profile, "credentials", out, msg,
                           size);
  }
  if (rc == PROV_ABSENT) {
    frc = parse_profile_file(c, AWS_PROFILE_CONFIG_FILE, profile, &conf,
                             shown_conf, msg, size);
    if (frc == FILE_ERROR)
      rc = PROV_ERROR;
  }
  if (rc == PROV_ABSENT && conf != NULL) {
    const aws_profile_t *r = aws_profile_parser_result(conf);
    found = found || r->found;
    if (unsupported[0] == '\0')
      snprintf(unsupported, sizeof(unsupported), "%s", r->unsupported);
    rc = keys_from_profile(r, shown_conf, profile, "config", out, msg, size);
  }
  if (rc == PROV_ABSENT) {
    const char *a = shown_cred[0] != '\0' ? shown_cred : "~/.aws/credentials";
    const char *b = shown_conf[0] != '\0' ? shown_conf : "~/.aws/config";
    if (!found && origin[0] != '\0') {
      say(msg, size,
          "shared files: profile \"%s\" (from %s) is in neither %s nor %s",
          profile, origin, a, b);
      rc = PROV_ERROR;
    } else if (unsupported[0] != '\0') {
      say(msg, size,
          "shared files: profile \"%s\" uses %s, which is not supported here; "
          "give it aws_access_key_id and aws_secret_access_key",
          profile, unsupported);
      rc = PROV_ERROR;
    } else {
      say(msg, size, "shared files: no keys for profile \"%s\" in %s or %s",
          profile, a, b);
    }
  }
  aws_profile_parser_destroy(cred);
  aws_profile_parser_destroy(conf);
  free(shown_cred);
  free(shown_conf);
  return rc;
}

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
    say(msg, size, "container credentials: out of memory");
  } else if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    say(msg, size,
        "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a "
        "URL");
  } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    say(msg, size,
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
      char q[QUOTE_MAX + 8];
      say(msg, size,
          "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: host "
          "\"%s\" is not a loopback or container agent address (required "
          "for http)",
          quote(host, q, sizeof(q)));
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
static int container_token(const aws_creds_config_t *c, small_t *buf,
                           const char **token, char *msg, size_t size) {
  const char *file = env(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
  file_rc_t rc;

  *token = NULL;
  if (file != NULL) {
    rc = read_file(file, file, AWS_CREDS_SMALL_MAX, small_add, buf, msg, size);
    if (rc == FILE_ABSENT) {
      say(msg, size, "container credentials: %s: no such file", file);
      return -1;
    }
    if (rc == FILE_REFUSED) {
      say(msg, size, "container credentials: %s: larger than %u bytes", file,
          AWS_CREDS_SMALL_MAX);
      return -1;
    }
    if (rc != FILE_READ) {
      char e[MSG_MAX];
      snprintf(e, sizeof(e), "%s", msg);
      say(msg, size, "container credentials: %s", e);
      return -1;
    }
    *token = small_trimmed(buf);
    from = file;
    if ((*token)[0] == '\0') {
      say(msg, size, "container credentials: %s is empty", file);
      return -1;
    }
  } else {
    *token = env(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (*token == NULL)
      return 1;
  }
  for (const char *s = *token; *s != '\0'; s++)
    if (*s < 0x20 || *s > 0x7e) {
      say(msg, size,
          "container credentials: the token in %s holds a character that "
          "cannot be sent",
          from);
      return -1;
    }
  return 0;
}

static prov_rc_t from_container(const aws_creds_config_t *c, aws_creds_t *out,
                                char *msg, size_t size) {
  const char *rel = env(c, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const char *what = "container credentials";
  char url[URL_MAX], origin[URL_MAX / 2], shown[URL_MAX / 2 + 8];
  small_t *tokbuf = NULL;
  const char *token = NULL;
  http_t h = {
      .method = "GET", .url = url, .shown = shown, .timeout_ms = c->timeout_ms};
  prov_rc_t rc = PROV_ERROR;
  int ok = 0;

  if (rel == NULL && full == NULL) {
    say(msg, size, "container: not configured");
    return PROV_ABSENT;
  }
  if (rel != NULL) {
    /* The relative URI is the task's key to its credentials: not shown. */
    ok = rel[0] == '/' && sendable(rel) &&
         join_url(url, sizeof(url), c->container_url, rel) == 0 &&
         join_url(origin, sizeof(origin), c->container_url, "") == 0;
    if (!ok)
      say(msg, size,
          "%s: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a "
          "path",
          what);
  } else {
    ok = strlen(full) < sizeof(url) && sendable(full) &&
         check_full_uri(c, full, origin, sizeof(origin), msg, size) == 0;
    if (ok)
      snprintf(url, sizeof(url), "%s", full);
    else if (strlen(full) >= sizeof(url) || !sendable(full))
      say(msg, size, "%s: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL",
          what);
  }
  if (ok) {
    snprintf(shown, sizeof(shown), "GET %s", origin);
    tokbuf = malloc(sizeof(*tokbuf));
    h.json = aws_creds_json_create();
    ok = tokbuf != NULL && h.json != NULL;
    if (!ok)
      say(msg, size, "%s: out of memory", what);
  }
  if (ok) {
    tokbuf->len = 0;
    tokbuf->over = false;
    int trc = container_token(c, tokbuf, &token, msg, size);
    ok = trc >= 0;
    if (trc == 0 && header_add(&h.headers, "Authorization", token) != 0) {
      say(msg, size, "%s: out of memory", what);
      ok = 0;
    }
  }
  if (ok && http_do(&h, what, msg, size) == 0) {
    if (h.status != 200)
      say(msg, size, "%s: %s: HTTP %ld", what, shown, h.status);
    else if (aws_creds_json_finish(h.json) != 0)
      say(msg, size, "%s: %s: the answer is not a credentials document: %s",
          what, shown, aws_creds_json_error(h.json));
    else if ((rc = creds_from_json(c, h.json, what, out, msg, size)) ==
             PROV_FOUND)
      snprintf(out->provider, sizeof(out->provider), "container");
  }
  headers_free(h.headers);
  aws_creds_json_destroy(h.json);
  if (tokbuf != NULL) {
    small_wipe(tokbuf);
    free(tokbuf);
  }
  return rc;
}

/* One IMDS request. token NULL: IMDSv1. 0 when the answer was a 200 (the
 * body in h's sink), -1 with msg. */
static int imds_request(const aws_creds_config_t *c, const char *method,
                        const char *path, const char *token, small_t *text,
                        aws_creds_json_t *json, long *status, char *msg,
                        size_t size) {
  char url[URL_MAX], shown[URL_MAX];
  http_t h = {.method = method,
              .url = url,
              .shown = shown,
              .timeout_ms = c->timeout_ms,
              .text = text,
              .json = json};
  int ret = -1;

  snprintf(shown, sizeof(shown), "%s %s", method, path);
  if (join_url(url, sizeof(url), c->imds_url, path) != 0) {
    say(msg, size, "instance metadata: URL too long");
    return -1;
  }
  if (strcmp(method, "PUT") == 0) {
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", AWS_CREDS_IMDS_TOKEN_TTL_S);
    if (header_add(&h.headers, "X-aws-ec2-metadata-token-ttl-seconds", ttl))
      say(msg, size, "instance metadata: out of memory");
    else
      ret = 0;
  } else if (token != NULL) {
    if (header_add(&h.headers, "X-aws-ec2-metadata-token", token))
      say(msg, size, "instance metadata: out of memory");
    else
      ret = 0;
  } else {
    ret = 0;
  }
  if (ret == 0)
    ret = http_do(&h, "instance metadata", msg, size);
  *status = h.status;
  if (ret == 0 && h.status != 200) {
    say(msg, size, "instance metadata: %s: HTTP %ld", shown, h.status);
    ret = -1;
  }
  headers_free(h.headers);
  return ret;
}

/* The IMDSv2 session token into buf. 0: *token set; 1: none, go on with
 * IMDSv1 (allowed and the PUT failed other than with HTTP 400); -1: msg. */
static int imds_token(const aws_creds_config_t *c, small_t *buf,
                      const char **token, char *msg, size_t size) {
  long status = 0;

  buf->len = 0;
  buf->over = false;
  buf->data[0] = '\0';
  *token = NULL;
  if (imds_request(c, "PUT", IMDS_TOKEN_PATH, NULL, buf, NULL, &status, msg,
                   size) != 0)
    return c->imds_v1_fallback && status != 400 ? 1 : -1;
  *token = small_trimmed(buf);
  if ((*token)[0] == '\0' || !sendable(*token)) {
    say(msg, size, "instance metadata: PUT %s: the token is not valid",
        IMDS_TOKEN_PATH);
    return -1;
  }
  return 0;
}

static bool role_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > ROLE_NAME_MAX)
    return false;
  for (; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || strchr("+=,.@_-", *s) != NULL))
      return false;
  return true;
}

static prov_rc_t from_imds(const aws_creds_config_t *c, aws_creds_t *out,
                           char *msg, size_t size) {
  const char *what = "instance metadata";
  small_t *tok = NULL, *text = NULL;
  aws_creds_json_t *json = NULL;
  const char *token = NULL;
  char role[ROLE_NAME_MAX + 1] = "", path[URL_MAX];
  prov_rc_t rc = PROV_ERROR;
  long status;
  int ok;

  if (imds_disabled(c)) {
    say(msg, size, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
    return PROV_ABSENT;
  }
  tok = malloc(sizeof(*tok));
  text = malloc(sizeof(*text));
  json = aws_creds_json_create();
  ok = tok != NULL && text != NULL && json != NULL;
  if (!ok)
    say(msg, size, "%s: out of memory", what);
  if (ok)
    ok = imds_token(c, tok, &token, msg, size) >= 0;
  if (ok) {
    text->len = 0;
    text->over = false;
    text->data[0] = '\0';
    ok = imds_request(c, "GET", IMDS_CREDS_PATH, token, text, NULL, &status,
                      msg, size) == 0;
  }
  if (ok) {
    /* One role name a line; an instance has at most one. */
    char *first = small_trimmed(text);
    first[strcspn(first, "\r\n")] = '\0';
    ok = role_name_ok(first);
    if (ok)
      snprintf(role, sizeof(role), "%s", first);
    else if (first[0] == '\0')
      say(msg, size, "%s: GET %s: no IAM role is attached to the instance",
          what, IMDS_CREDS_PATH);
    else
      say(msg, size, "%s: GET %s: the role name is not valid", what,
          IMDS_CREDS_PATH);
  }
  if (ok) {
    snprintf(path, sizeof(path), "%s%s", IMDS_CREDS_PATH, role);
    ok = imds_request(c, "GET", path, token, NULL, json, &status, msg, size) ==
         0;
  }
  if (ok) {
    if (aws_creds_json_finish(json) != 0)
      say(msg, size,
          "%s: GET %s: the answer is not a credentials document: "
          "%s",
          what, path, aws_creds_json_error(json));
    else if ((rc = creds_from_json(c, json, what, out, msg, size)) ==
             PROV_FOUND)
      snprintf(out->provider, sizeof(out->provider),
               "instance metadata (role %s)", role);
  }
  if (tok != NULL) {
    small_wipe(tok);
    free(tok);
  }
  free(text);
  aws_creds_json_destroy(json);
  return rc;
}

/*
 * The chain and its cache
 */

typedef prov_rc_t (*provider_fn)(const aws_creds_config_t *c, aws_creds_t *out,
                                 char *msg, size_t size);

/* Runs the chain once. AWS_CREDS_OK with out filled, or AWS_CREDS_FAILED
 * with msg. */
static aws_creds_status_t run_chain(const aws_creds_config_t *c,
                                    aws_creds_t *out, char *msg, size_t size) {
  static const provider_fn chain[] = {from_environment, from_files,
                                      from_container, from_imds};
  char notes[MSG_MAX] = "", one[MSG_MAX];
  size_t used = 0;

  for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
    prov_rc_t rc;
    one[0] = '\0';
    rc = chain[i](c, out, one, sizeof(one));
    if (rc == PROV_FOUND) {
      say(msg, size, "%s", "");
      return AWS_CREDS_OK;
    }
    aws_creds_clear(out);
    if (rc == PROV_ERROR && i + 1 < sizeof(chain) / sizeof(chain[0])) {
      say(msg, size, "%s", one);
      return AWS_CREDS_FAILED;
    }
    if (used < sizeof(notes)) {
      int n = snprintf(notes + used, sizeof(notes) - used, "%s%s",
                       used > 0 ? "; " : "", one);
      used += n > 0 ? (size_t)n : 0;
    }
  }
  say(msg, size, "no credentials found: %s", notes);
  return AWS_CREDS_FAILED;
}

struct aws_creds_provider_s {
  aws_creds_config_t cfg; /* normalized; strings point to the copies below */
  char *imds_url;
  char *container_url;
  char *home_dir;
  char *profile;
  pthread_mutex_t lock;
  pthread_cond_t refreshed;
  bool refreshing;
  uint64_t refreshes;  /* completed refreshes */
  uint64_t generation; /* of the last credentials cached */
  aws_creds_t cached;  /* access_key_id NULL when none */
  bool forced;         /* aws_creds_invalidate() asked for a refresh */
  bool attempted;
  time_t last_attempt;
  char last_error[MSG_MAX]; /* of the last refresh; "" when it worked */
};

static int dup_opt(const char *s, char **copy) {
  *copy = NULL;
  if (s == NULL)
    return 0;
  *copy = strdup(s);
  return *copy != NULL ? 0 : -1;
}

aws_creds_provider_t *aws_creds_provider_create(const aws_creds_config_t *cfg) {
  aws_creds_provider_t *p = NULL;
  aws_creds_config_t n;
  bool ok, have_lock = false, have_cond = false;

  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL)
    return NULL;
  normalize(cfg, &n);
  p = calloc(1, sizeof(*p));
  ok = p != NULL && dup_opt(n.imds_url, &p->imds_url) == 0 &&
       dup_opt(n.container_url, &p->container_url) == 0 &&
       dup_opt(n.home_dir, &p->home_dir) == 0 &&
       dup_opt(n.profile, &p->profile) == 0;
  if (ok)
    ok = have_lock = pthread_mutex_init(&p->lock, NULL) == 0;
  if (ok)
    ok = have_cond = pthread_cond_init(&p->refreshed, NULL) == 0;
  if (ok) {
    p->cfg = n;
    p->cfg.imds_url = p->imds_url;
    p->cfg.container_url = p->container_url;
    p->cfg.home_dir = p->home_dir;
    p->cfg.profile = p->profile;
  } else if (p != NULL) {
    if (have_cond)
      pthread_cond_destroy(&p->refreshed);
    if (have_lock)
      pthread_mutex_destroy(&p->lock);
    free(p->imds_url);
    free(p->container_url);
    free(p->home_dir);
    free(p->profile);
    free(p);
    p = NULL;
  }
  return p;
}

void aws_creds_provider_destroy(aws_creds_provider_t *p) {
  if (p == NULL)
    return;
  aws_creds_clear(&p->cached);
  pthread_cond_destroy(&p->refreshed);
  pthread_mutex_destroy(&p->lock);
  free(p->imds_url);
  free(p->container_url);
  free(p->home_dir);
  free(p->profile);
  free(p);
}

/* Under the lock: are the cached credentials usable at now? Drops expired
 * ones. */
static bool cache_valid(aws_creds_provider_t *p, time_t now) {
  if (p->cached.access_key_id == NULL)
    return false;
  if (p->cached.expiration != 0 && now >= p->cached.expiration) {
    aws_creds_clear(&p->cached);
    return false;
  }
  return true;
}

/* Under the lock: hands out a copy of the cache, or says why there is
 * none. */
static aws_creds_status_t hand_out(aws_creds_provider_t *p, aws_creds_t *out,
                                   char *err, size_t size) {
  if (!cache_valid(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
    say(err, size, "%s",
        p->last_error[0] != '\0' ? p->last_error
                                 : "no valid credentials (they expired)");
    return AWS_CREDS_FAILED;
  }
  if (creds_copy(out, &p->cached) != 0) {
    say(err, size, "out of memory");
    return AWS_CREDS_FAILED;
  }
  say(err, size, "%s", p->last_error);
  return p->last_error[0] != '\0' ? AWS_CREDS_KEPT : AWS_CREDS_OK;
}

/* Under the lock: does the cache need a refresh now? */
static bool refresh_due(aws_creds_provider_t *p, time_t now) {
  bool valid = cache_valid(p, now);
  bool in_window;

  if (!valid || p->forced)
    return true;
  /* The last refresh failed: try again now and then, window or not. */
  if (p->last_error[0] != '\0' &&
      now - p->last_attempt >= AWS_CREDS_RETRY_INTERVAL_S)
    return true;
  in_window = p->cached.expiration != 0 &&
              now >= p->cached.expiration - (time_t)p->cfg.refresh_window_s;
  if (!in_window)
    return false;
  /* Valid but inside the window: not again right after an attempt. */
  return !p->attempted || now - p->last_attempt >= AWS_CREDS_RETRY_INTERVAL_S;
}

/* Under the lock, which it drops during the chain's I/O. */
static void refresh(aws_creds_provider_t *p) {
  aws_creds_t fresh = {0};
  char msg[MSG_MAX];
  aws_creds_status_t st;
  time_t now;

  p->refreshing = true;
  p->forced = false;
  pthread_mutex_unlock(&p->lock);
  st = run_chain(&p->cfg, &fresh, msg, sizeof(msg));
  pthread_mutex_lock(&p->lock);

  now = p->cfg.clock_fn(p->cfg.clock_ud);
  p->refreshing = false;
  p->refreshes++;
  p->attempted = true;
  p->last_attempt = now;
  if (st == AWS_CREDS_OK) {
    aws_creds_clear(&p->cached);
    p->cached = fresh; /* takes the strings */
    p->cached.generation = ++p->generation;
    p->last_error[0] = '\0';
  } else if (cache_valid(p, now)) {
    char until[32] = "never";
    if (p->cached.expiration != 0)
      format_time(p->cached.expiration, until, sizeof(until));
    say(p->last_error, sizeof(p->last_error),
        "refresh failed, still using the credentials from %s (expire: %s): "
        "%s",
        p->cached.provider, until, msg);
  } else {
    say(p->last_error, sizeof(p->last_error), "%s", msg);
  }
  pthread_cond_broadcast(&p->refreshed);
}

aws_creds_status_t aws_creds_get(aws_creds_provider_t *p, aws_creds_t *out,
                                 char *err, size_t err_size) {
  aws_creds_status_t st;

  memset(out, 0, sizeof(*out));
  say(err, err_size, "%s", "");
  pthread_mutex_lock(&p->lock);
  if (refresh_due(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
    if (!p->refreshing) {
      refresh(p);
    } else if (!cache_valid(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
      /* Someone else is refreshing and there is nothing to use meanwhile:
       * wait for that refresh and share its outcome. */
      uint64_t seen = p->refreshes;
      while (p->refreshing && p->refreshes == seen)
        pthread_cond_wait(&p->refreshed, &p->lock);
    }
  }
  st = hand_out(p, out, err, err_size);
  pthread_mutex_unlock(&p->lock);
  return st;
}

void aws_creds_invalidate(aws_creds_provider_t *p,
                          const aws_creds_t *rejected) {
  pthread_mutex_lock(&p->lock);
  if (p->cached.access_key_id != NULL && !p->refreshing &&
      (rejected == NULL || rejected->generation == p->cached.generation))
    p->forced = true;
  pthread_mutex_unlock(&p->lock);
}

/*
 * The region
 */

static bool region_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > AWS_REGION_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
    return false;
  for (; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
      return false;
  return true;
}

/* Sets out from value when it is a region name; -1 with msg naming where
 * it came from otherwise. */
static int region_take(aws_region_t *out, const char *value, const char *source,
                       char *msg, size_t size) {
  char q[QUOTE_MAX + 8];
  if (!region_ok(value)) {
    say(msg, size, "%s: \"%s\" is not a region name", source,
        quote(value, q, sizeof(q)));
    return -1;
  }
  snprintf(out->name, sizeof(out->name), "%s", value);
  snprintf(out->source, sizeof(out->source), "%s", source);
  return 0;
}

aws_creds_status_t aws_region_resolve(const aws_creds_config_t *cfg,
                                      const char *configured, aws_region_t *out,
                                      char *err, size_t err_size) {
  aws_creds_config_t c;
  aws_profile_parser_t *conf = NULL;
  small_t *buf = NULL;
  char *shown = NULL;
  char msg[MSG_MAX] = "", source[AWS_CREDS_SOURCE_MAX];
  const char *v, *origin, *profile, *token;
  int rc = 1; /* 0 found, 1 not yet, -1 failed */
  long status;

  memset(out, 0, sizeof(*out));
  say(err, err_size, "%s", "");
  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL) {
    say(err, err_size, "region: incomplete configuration");
    return AWS_CREDS_FAILED;
  }
  normalize(cfg, &c);
  if (configured != NULL && configured[0] != '\0')
    rc = region_take(out, configured, "configuration", msg, sizeof(msg));
  if (rc > 0 && (v = env(&c, "AWS_REGION")) != NULL)
    rc = region_take(out, v, "AWS_REGION", msg, sizeof(msg));
  if (rc > 0 && (v = env(&c, "AWS_DEFAULT_REGION")) != NULL)
    rc = region_take(out, v, "AWS_DEFAULT_REGION", msg, sizeof(msg));
  if (rc > 0) {
    profile = profile_name(&c, &origin);
    shown = malloc(PATH_BUF);
    if (shown == NULL) {
      say(msg, sizeof(msg), "out of memory");
      rc = -1;
    } else if (strlen(profile) <= AWS_PROFILE_NAME_MAX &&
               parse_profile_file(&c, AWS_PROFILE_CONFIG_FILE, profile, &conf,
                                  shown, msg, sizeof(msg)) == FILE_ERROR) {
      rc = -1;
    } else if (conf != NULL &&
               (v = aws_profile_parser_result(conf)->region) != NULL) {
      snprintf(source, sizeof(source), "shared config file %s (profile %s)",
               shown, profile);
      rc = region_take(out, v, source, msg, sizeof(msg));
    }
  }
  if (rc > 0 && imds_disabled(&c)) {
    say(msg, sizeof(msg),
        "no region: set Region, AWS_REGION or a profile's region (instance "
        "metadata is disabled by AWS_EC2_METADATA_DISABLED)");
    rc = -1;
  }
  if (rc > 0) {
    buf = malloc(sizeof(*buf));
    if (buf == NULL) {
      say(msg, sizeof(msg), "out of memory");
      rc = -1;
    } else if (imds_token(&c, buf, &token, msg, sizeof(msg)) < 0) {
      rc = -1;
    } else {
      /* The token is copied into the request's header; buf is reused. */
      char *t = token != NULL ? strdup(token) : NULL;
      if (token != NULL && t == NULL) {
        say(msg, sizeof(msg), "out of memory");
        rc = -1;
      } else {
        small_wipe(buf);
        buf->over = false;
        buf->data[0] = '\0';
        if (imds_request(&c, "GET", IMDS_REGION_PATH, t, buf, NULL, &status,
                         msg, sizeof(msg)) != 0)
          rc = -1;
        else
          rc = region_take(out, small_trimmed(buf), "instance metadata", msg,
                           sizeof(msg));
      }
      free_secret(t);
    }
  }
  if (rc != 0) {
    memset(out, 0, sizeof(*out));
    say(err, err_size, "%s", msg);
  }
  aws_profile_parser_destroy(conf);
  free(shown);
  if (buf != NULL) {
    small_wipe(buf);
    free(buf);
  }
  return rc == 0 ? AWS_CREDS_OK : AWS_CREDS_FAILED;
}

int aws_imds_get(const aws_creds_config_t *cfg, const char *path, char *out,
                 size_t out_size, char *err, size_t err_size) {
  aws_creds_config_t c;
  small_t *buf = NULL;
  char msg[MSG_MAX] = "";
  const char *token;
  char *t = NULL;
  long status;
  int rc = -1;

  if (out_size > 0)
    out[0] = '\0';
  say(err, err_size, "%s", "");
  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL ||
      path == NULL || path[0] != '/' || out_size == 0) {
    say(err, err_size, "instance metadata: bad arguments");
    return -1;
  }
  normalize(cfg, &c);
  if (imds_disabled(&c)) {
    say(err, err_size,
        "instance metadata is disabled by "
        "AWS_EC2_METADATA_DISABLED");
    return -1;
  }
  buf = malloc(sizeof(*buf));
  if (buf == NULL) {
    say(msg, sizeof(msg), "out of memory");
    goto out;
  }
  if (imds_token(&c, buf, &token, msg, sizeof(msg)) < 0)
    goto out;
  t = token != NULL ? strdup(token) : NULL;
  if (token != NULL && t == NULL) {
    say(msg, sizeof(msg), "out of memory");
    goto out;
  }
  small_wipe(buf);
  buf->over = false;
  buf->data[0] = '\0';
  if (imds_request(&c, "GET", path, t, buf, NULL, &status, msg, sizeof(msg)) !=
      0)
    goto out;
  {
    const char *v = small_trimmed(buf);
    if (v[0] == '\0' || !sendable(v) || strlen(v) >= out_size) {
      say(msg, sizeof(msg), "instance metadata: GET %s: unusable answer", path);
      goto out;
    }
    snprintf(out, out_size, "%s", v);
  }
  rc = 0;
out:
  if (rc != 0)
    say(err, err_size, "%s", msg);
  free_secret(t);
  if (buf != NULL) {
    small_wipe(buf);
    free(buf);
  }
  return rc;
}
