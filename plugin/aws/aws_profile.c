/* SPDX-License-Identifier: MIT */
/*
 * aws_profile: the shared credentials and config file parser (see
 * aws_profile.h).
 */
#include "aws_profile.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AWS_PROFILE_ERROR_MAX 128
/* A sub-section's key (a service's ID, "cloudwatch_logs"). */
#define SUB_KEY_MAX 64u

/* One "endpoint_url" of a services section's sub-section. */
typedef struct {
  char *section; /* NAME of "[services NAME]" */
  char *service; /* the sub-section's key, lowercased */
  aws_profile_value_t url;
} service_url_t;

struct aws_profile_parser_s {
  aws_profile_kind_t kind;
  char want[AWS_PROFILE_NAME_MAX + 1];
  char line[AWS_PROFILE_LINE_MAX + 1];
  size_t line_len;
  size_t total;     /* bytes fed so far */
  unsigned line_no; /* lines completed so far */
  bool in_section;  /* a section header has been seen */
  bool in_wanted;   /* ... and it is the profile wanted */
  bool after_key;   /* the last line that counted was "key = value" */
  char *services; /* NAME when in "[services NAME]" (config file), else NULL */
  char sub_key[SUB_KEY_MAX + 1]; /* in a services section: the sub-section
                                    the indented lines belong to, or "" */
  service_url_t urls[AWS_PROFILE_SERVICE_URLS_MAX];
  size_t url_count;
  bool failed;
  bool finished;
  char error[AWS_PROFILE_ERROR_MAX];
  aws_profile_t result;
};

/* Keys naming credential sources this module does not implement. */
static const char *const unsupported_keys[] = {
    "role_arn",
    "credential_process",
    "credential_source",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "web_identity_token_file",
};

/* The profile's endpoint settings. */
static const struct {
  const char *key;
  size_t offset;
} endpoint_keys[] = {
    {"endpoint_url", offsetof(aws_profile_t, endpoint_url)},
    {"services", offsetof(aws_profile_t, services)},
    {"ignore_configured_endpoint_urls",
     offsetof(aws_profile_t, ignore_configured_endpoint_urls)},
    {"use_fips_endpoint", offsetof(aws_profile_t, use_fips_endpoint)},
    {"use_dualstack_endpoint", offsetof(aws_profile_t, use_dualstack_endpoint)},
};

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

static char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Compares s[0..len) with the lower-case word, ignoring the case of s. */
static bool key_is(const char *s, size_t len, const char *word) {
  size_t i;
  for (i = 0; i < len; i++)
    if (word[i] == '\0' || ascii_lower(s[i]) != word[i])
      return false;
  return word[i] == '\0';
}

__attribute__((format(printf, 2, 3))) static int fail(aws_profile_parser_t *p,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->error, sizeof(p->error), fmt, ap);
  va_end(ap);
  p->failed = true;
  return -1;
}

/* Trims blanks from both ends of [*b, *e). */
static void trim(const char **b, const char **e) {
  while (*b < *e && is_blank(**b))
    (*b)++;
  while (*e > *b && is_blank((*e)[-1]))
    (*e)--;
}

/* The value after the '=' (or ':') at eq, up to *ve (the line's end on
 * entry): a comment, from a '#' or ';' after a blank, is cut, and blanks
 * around it are trimmed. */
static void value_span(const char *eq, const char **vb, const char **ve) {
  *vb = eq + 1;
  for (const char *c = *vb; c < *ve; c++)
    if ((*c == '#' || *c == ';') && c > *vb && is_blank(c[-1])) {
      *ve = c;
      break;
    }
  trim(vb, ve);
}

/* Replaces *slot with a copy of [b, e), or NULL when empty. The old value is
 * wiped: it may be a secret. */
static int set_value(aws_profile_parser_t *p, char **slot, const char *b,
                     const char *e) {
  char *v = NULL;
  size_t n = (size_t)(e - b);

  if (n > 0) {
    v = malloc(n + 1);
    if (v == NULL)
      return fail(p, "line %u: out of memory", p->line_no);
    memcpy(v, b, n);
    v[n] = '\0';
  }
  if (*slot != NULL) {
    explicit_bzero(*slot, strlen(*slot));
    free(*slot);
  }
  *slot = v;
  return 0;
}

static bool section_matches(const aws_profile_parser_t *p, const char *b,
                            const char *e) {
  size_t n;

  if (p->kind == AWS_PROFILE_CONFIG_FILE) {
    if ((size_t)(e - b) > 7 && memcmp(b, "profile", 7) == 0 && is_blank(b[7])) {
      b += 8;
      trim(&b, &e);
    } else if (strcmp(p->want, "default") != 0) {
      return false; /* only "default" goes without "profile " */
    }
  }
  n = (size_t)(e - b);
  return n == strlen(p->want) && memcmp(b, p->want, n) == 0;
}

static int section_line(aws_profile_parser_t *p, const char *b, const char *e) {
  const char *close = memchr(b, ']', (size_t)(e - b));
  const char *nb = b + 1, *ne = close, *rest;

  if (close == NULL)
    return fail(p, "line %u: expected ']' to close the section name",
                p->line_no);
  rest = close + 1;
  while (rest < e && is_blank(*rest))
    rest++;
  if (rest < e && *rest != '#' && *rest != ';')
    return fail(p, "line %u: unexpected text after ']'", p->line_no);
  trim(&nb, &ne);
  if (nb == ne)
    return fail(p, "line %u: empty section name", p->line_no);
  p->in_section = true;
  p->in_wanted = section_matches(p, nb, ne);
  if (p->in_wanted)
    p->result.found = true;
  p->after_key = false;
  p->sub_key[0] = '\0';
  free(p->services);
  p->services = NULL;
  if (p->kind == AWS_PROFILE_CONFIG_FILE && (size_t)(ne - nb) > 8 &&
      memcmp(nb, "services", 8) == 0 && is_blank(nb[8])) {
    const char *sb = nb + 9, *se = ne;
    trim(&sb, &se);
    p->services = strndup(sb, (size_t)(se - sb));
    if (p->services == NULL)
      return fail(p, "line %u: out of memory", p->line_no);
  }
  return 0;
}

/* "key = value" on an indented line under sub-section p->sub_key of a
 * services section: keeps an endpoint_url. */
static int sub_line(aws_profile_parser_t *p, const char *b, const char *e) {
  const char *eq = memchr(b, '=', (size_t)(e - b));
  const char *kb = b, *ke, *vb, *ve = e;
  service_url_t *u;

  if (eq == NULL)
    return fail(p, "line %u: expected key = value under \"%s =\"", p->line_no,
                p->sub_key);
  ke = eq;
  trim(&kb, &ke);
  if (kb == ke)
    return fail(p, "line %u: expected key = value (the key is missing)",
                p->line_no);
  if (!key_is(kb, (size_t)(ke - kb), "endpoint_url"))
    return 0;
  value_span(eq, &vb, &ve);
  if (p->url_count == AWS_PROFILE_SERVICE_URLS_MAX)
    return fail(p, "line %u: more than %u service endpoint URLs", p->line_no,
                AWS_PROFILE_SERVICE_URLS_MAX);
  u = &p->urls[p->url_count];
  u->section = strdup(p->services);
  u->service = strdup(p->sub_key);
  u->url.line = p->line_no;
  if (u->section == NULL || u->service == NULL ||
      set_value(p, &u->url.value, vb, ve) != 0) {
    free(u->section);
    free(u->service);
    memset(u, 0, sizeof(*u));
    return fail(p, "line %u: out of memory", p->line_no);
  }
  p->url_count++;
  return 0;
}

static int key_line(aws_profile_parser_t *p, const char *b, const char *e) {
  const char *eq = memchr(b, '=', (size_t)(e - b));
  const char *colon = memchr(b, ':', (size_t)(e - b));
  const char *kb = b, *ke, *vb, *ve = e;
  aws_profile_t *r = &p->result;

  if (eq == NULL || (colon != NULL && colon < eq))
    eq = colon;
  if (eq == NULL)
    return fail(p, "line %u: expected key = value", p->line_no);
  ke = eq;
  trim(&kb, &ke);
  if (kb == ke)
    return fail(p, "line %u: expected key = value (the key is missing)",
                p->line_no);
  if (!p->in_section)
    return fail(p, "line %u: key = value before any [section]", p->line_no);
  p->after_key = true;
  p->sub_key[0] = '\0';

  value_span(eq, &vb, &ve);

  size_t kn = (size_t)(ke - kb);
  if (p->services != NULL) {
    /* "service =" with no value opens its sub-section. */
    if (vb == ve && kn <= SUB_KEY_MAX) {
      for (size_t i = 0; i < kn; i++)
        p->sub_key[i] = ascii_lower(kb[i]);
      p->sub_key[kn] = '\0';
    }
    return 0;
  }
  if (!p->in_wanted)
    return 0;
  for (size_t i = 0; i < sizeof(endpoint_keys) / sizeof(*endpoint_keys); i++)
    if (key_is(kb, kn, endpoint_keys[i].key)) {
      aws_profile_value_t *v =
          (aws_profile_value_t *)((char *)r + endpoint_keys[i].offset);
      v->line = p->line_no;
      return set_value(p, &v->value, vb, ve);
    }
  if (key_is(kb, kn, "aws_access_key_id"))
    return set_value(p, &r->access_key_id, vb, ve);
  if (key_is(kb, kn, "aws_secret_access_key"))
    return set_value(p, &r->secret_access_key, vb, ve);
  if (key_is(kb, kn, "aws_session_token"))
    return set_value(p, &r->session_token, vb, ve);
  if (key_is(kb, kn, "region"))
    return set_value(p, &r->region, vb, ve);
  if (r->unsupported[0] == '\0')
    for (size_t i = 0; i < sizeof(unsupported_keys) / sizeof(*unsupported_keys);
         i++)
      if (key_is(kb, kn, unsupported_keys[i])) {
        snprintf(r->unsupported, sizeof(r->unsupported), "%s",
                 unsupported_keys[i]);
        break;
      }
  return 0;
}

/* Handles p->line (p->line_len bytes, NUL-terminated, no newline). */
static int process_line(aws_profile_parser_t *p) {
  const char *b = p->line, *e = p->line + p->line_len;
  bool indented;

  if (e > b && e[-1] == '\r')
    e--;
  if (p->line_no == 1 && e - b >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
    b += 3; /* a UTF-8 byte order mark, as some editors write */
  indented = b < e && is_blank(*b);
  trim(&b, &e);
  if (b == e || *b == '#' || *b == ';')
    return 0;
  if (indented && p->services != NULL && p->sub_key[0] != '\0')
    return sub_line(p, b, e);
  if (indented && p->after_key)
    return 0; /* continues the previous value: a nested setting */
  if (*b == '[')
    return section_line(p, b, e);
  return key_line(p, b, e);
}

aws_profile_parser_t *aws_profile_parser_create(aws_profile_kind_t kind,
                                                const char *profile) {
  aws_profile_parser_t *p;
  size_t n;

  if (profile == NULL)
    return NULL;
  n = strlen(profile);
  if (n == 0 || n > AWS_PROFILE_NAME_MAX)
    return NULL;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->kind = kind;
  memcpy(p->want, profile, n + 1);
  return p;
}

static void free_value(char *v) {
  if (v != NULL) {
    explicit_bzero(v, strlen(v));
    free(v);
  }
}

void aws_profile_parser_destroy(aws_profile_parser_t *p) {
  aws_profile_t *r;

  if (p == NULL)
    return;
  r = &p->result;
  free_value(r->access_key_id);
  free_value(r->secret_access_key);
  free_value(r->session_token);
  free_value(r->region);
  for (size_t i = 0; i < sizeof(endpoint_keys) / sizeof(*endpoint_keys); i++)
    free_value(
        ((aws_profile_value_t *)((char *)r + endpoint_keys[i].offset))->value);
  for (size_t i = 0; i < p->url_count; i++) {
    free(p->urls[i].section);
    free(p->urls[i].service);
    free_value(p->urls[i].url.value);
  }
  free(p->services);
  /* The line buffer may hold a secret too. */
  explicit_bzero(p, sizeof(*p));
  free(p);
}

int aws_profile_parser_feed(aws_profile_parser_t *p, const char *data,
                            size_t len) {
  if (p->failed)
    return -1;
  if (p->finished)
    return fail(p, "data after the end of the file");
  if (len > AWS_PROFILE_FILE_MAX - p->total)
    return fail(p, "larger than %u bytes", AWS_PROFILE_FILE_MAX);
  p->total += len;
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t seg = nl != NULL ? (size_t)(nl - data) : len;

    if (memchr(data, '\0', seg) != NULL)
      return fail(p, "line %u: contains a NUL byte", p->line_no + 1);
    if (seg > AWS_PROFILE_LINE_MAX - p->line_len)
      return fail(p, "line %u: longer than %u bytes", p->line_no + 1,
                  AWS_PROFILE_LINE_MAX);
    memcpy(p->line + p->line_len, data, seg);
    p->line_len += seg;
    if (nl == NULL)
      break;
    p->line[p->line_len] = '\0';
    p->line_no++;
    if (process_line(p) != 0)
      return -1;
    p->line_len = 0;
    data += seg + 1;
    len -= seg + 1;
  }
  return 0;
}

int aws_profile_parser_finish(aws_profile_parser_t *p) {
  if (!p->failed && !p->finished && p->line_len > 0) {
    p->line[p->line_len] = '\0';
    p->line_no++;
    (void)process_line(p);
    p->line_len = 0;
  }
  p->finished = true;
  return p->failed ? -1 : 0;
}

const char *aws_profile_parser_error(const aws_profile_parser_t *p) {
  return p->error;
}

const aws_profile_t *aws_profile_parser_result(const aws_profile_parser_t *p) {
  return &p->result;
}

const aws_profile_value_t *
aws_profile_parser_service_url(const aws_profile_parser_t *p,
                               const char *service) {
  const char *name = p->result.services.value;
  size_t n = strlen(service);

  if (name == NULL || !p->finished || p->failed)
    return NULL;
  for (size_t i = p->url_count; i > 0; i--) {
    const service_url_t *u = &p->urls[i - 1];
    if (strcmp(u->section, name) == 0 && key_is(service, n, u->service))
      return u->url.value != NULL ? &u->url : NULL;
  }
  return NULL;
}
