/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of aws_profile, the shared credentials and config file
 * parser: every file is parsed whole and re-fed in every chunk size from 1
 * to 31 bytes, and the outcomes must agree. Credentials, regions, the
 * endpoint settings and the services sections' endpoint URLs, with their
 * lines; malformed files name the line and never quote it.
 */
#include "aws_profile.h"
#include "aws_test_util.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int feed_rc, finish_rc;
  char error[160];
  bool found;
  char id[64], secret[64], token[96], region[32], unsupported[32];
  /* endpoint settings: "value@line" or "-" */
  char endpoint_url[96], services[64], ignore[32], fips[32], dual[32];
  char cw_url[96], logs_url[96]; /* the services section's, "-" if none */
} prof_run_t;

static void value_at(char *buf, size_t size, const aws_profile_value_t *v) {
  if (v == NULL || v->value == NULL)
    snprintf(buf, size, "-");
  else
    snprintf(buf, size, "%s@%u", v->value, v->line);
}

static void prof_parse(prof_run_t *r, aws_profile_kind_t kind,
                       const char *profile, const char *text, size_t len,
                       size_t chunk) {
  aws_profile_parser_t *p = aws_profile_parser_create(kind, profile);
  const aws_profile_t *res;

  memset(r, 0, sizeof(*r));
  if (p == NULL)
    abort();
  FEED_IN_CHUNKS(r, aws_profile_parser, p, text, len, chunk);
  res = aws_profile_parser_result(p);
  r->found = res->found;
  snprintf(r->id, sizeof(r->id), "%s",
           res->access_key_id ? res->access_key_id : "-");
  snprintf(r->secret, sizeof(r->secret), "%s",
           res->secret_access_key ? res->secret_access_key : "-");
  snprintf(r->token, sizeof(r->token), "%s",
           res->session_token ? res->session_token : "-");
  snprintf(r->region, sizeof(r->region), "%s", res->region ? res->region : "-");
  snprintf(r->unsupported, sizeof(r->unsupported), "%s", res->unsupported);
  value_at(r->endpoint_url, sizeof(r->endpoint_url), &res->endpoint_url);
  value_at(r->services, sizeof(r->services), &res->services);
  value_at(r->ignore, sizeof(r->ignore), &res->ignore_configured_endpoint_urls);
  value_at(r->fips, sizeof(r->fips), &res->use_fips_endpoint);
  value_at(r->dual, sizeof(r->dual), &res->use_dualstack_endpoint);
  value_at(r->cw_url, sizeof(r->cw_url),
           aws_profile_parser_service_url(p, "cloudwatch"));
  value_at(r->logs_url, sizeof(r->logs_url),
           aws_profile_parser_service_url(p, "CloudWatch_Logs"));
  aws_profile_parser_destroy(p);
}

/* Parses whole, then in chunks of 1..MAX_CHUNK; the outcome must not
 * depend on the split. Returns the whole parse in *r. */
static void prof_check(prof_run_t *r, aws_profile_kind_t kind,
                       const char *profile, const char *text,
                       const char *what) {
  CHECK_EVERY_CHUNK(prof_run_t, r, what, prof_parse, kind, profile, text,
                    strlen(text));
}

/* Files of this kind that the parser must refuse (as profile "default")
 * with this message, which names the line and never quotes it; numbered
 * from 1 after name. */
typedef struct {
  const char *text;
  size_t len; /* 0: strlen(text) */
  const char *want;
} refused_t;

static void check_refused(aws_profile_kind_t kind, const char *name,
                          const refused_t *bad, size_t n) {
  for (size_t i = 0; i < n; i++) {
    prof_run_t r;
    char what[64];
    size_t len = bad[i].len > 0 ? bad[i].len : strlen(bad[i].text);
    snprintf(what, sizeof(what), "%s %zu", name, i + 1);
    CHECK_EVERY_CHUNK(prof_run_t, &r, what, prof_parse, kind, "default",
                      bad[i].text, len);
    T_OK(r.finish_rc == -1, "%s: refused", what);
    T_EQ_STR(r.error, bad[i].want, what);
  }
}

static void test_profile_parser(void) {
  prof_run_t r;
  char big[AWS_PROFILE_LINE_MAX + 64];

  prof_check(&r, AWS_PROFILE_CREDENTIALS_FILE, "default", CREDS_FILE,
             "credentials file, default");
  T_OK(r.finish_rc == 0 && r.found, "default: found (%s)", r.error);
  T_EQ_STR(r.id, FILE_ID, "default: key id (whitespace, CRLF)");
  T_EQ_STR(r.secret, FILE_SECRET, "default: secret (key case ignored)");
  T_EQ_STR(r.token, FILE_TOKEN, "default: token (':' and inline comment)");
  T_EQ_STR(r.region, "eu-west-1",
           "default: a second [default] merges, "
           "last line without newline");

  prof_check(&r, AWS_PROFILE_CREDENTIALS_FILE, "dev", CREDS_FILE,
             "credentials file, dev");
  T_EQ_STR(r.id, DEV_ID,
           "dev: nested s3 settings skipped, [profile dev] "
           "is another section in the credentials file");
  T_EQ_STR(r.secret, DEV_SECRET, "dev: secret");
  T_EQ_STR(r.token, "-", "dev: no token");

  prof_check(&r, AWS_PROFILE_CREDENTIALS_FILE, "spaced", CREDS_FILE,
             "credentials file, spaced");
  T_EQ_STR(r.id, "S", "[ spaced ]: whitespace in brackets ignored");

  prof_check(&r, AWS_PROFILE_CREDENTIALS_FILE, "nope", CREDS_FILE,
             "credentials file, absent profile");
  T_OK(r.finish_rc == 0 && !r.found && strcmp(r.id, "-") == 0,
       "absent profile: not found, no keys");

  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "dev", CONFIG_FILE, "config, dev");
  T_EQ_STR(r.region, "eu-central-1", "config: [profile dev], not [dev]");
  T_EQ_STR(r.id, CONF_ID, "config: keys in [profile dev]");
  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "default", CONFIG_FILE,
             "config, default");
  T_EQ_STR(r.region, "us-west-2", "config: [default] and [profile default]");
  T_OK(r.found && strcmp(r.id, "-") == 0, "config default: found, no keys");
  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "assume", CONFIG_FILE,
             "config, assume");
  T_EQ_STR(r.unsupported, "role_arn", "config: role_arn noted as unsupported");

  /* Malformed files. */
#define NUL_TEXT "[default]\nk=v\0x\n" /* strlen stops at the NUL */
  static const refused_t bad[] = {
      {"[default]\naws_access_key_id = A\n# c\n\n[x]\nk = v\n"
       "aws_secret_access_key " FILE_SECRET "\n",
       0, "line 7: expected key = value"},
      {"aws_access_key_id = " FILE_ID "\n[default]\n", 0,
       "line 1: key = value before any [section]"},
      {"[default\nk=v\n", 0, "line 1: expected ']' to close the section name"},
      {"[default]\n[  ]\n", 0, "line 2: empty section name"},
      {"[default] x\n", 0, "line 1: unexpected text after ']'"},
      {"[default]\n = " FILE_SECRET "\n", 0,
       "line 2: expected key = value (the key is missing)"},
      {NUL_TEXT, sizeof(NUL_TEXT) - 1, "line 2: contains a NUL byte"},
  };
  check_refused(AWS_PROFILE_CREDENTIALS_FILE, "malformed file", bad,
                sizeof(bad) / sizeof(*bad));

  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "[default]\nk=", 12);
  prof_parse(&r, AWS_PROFILE_CREDENTIALS_FILE, "default", big, strlen(big), 0);
  T_EQ_STR(r.error, "line 2: longer than 8192 bytes", "line cap");

  {
    aws_profile_parser_t *p =
        aws_profile_parser_create(AWS_PROFILE_CONFIG_FILE, "default");
    int rc = 0;
    static char chunk[65536];
    memset(chunk, '#', sizeof(chunk));
    for (size_t i = 0; i < sizeof(chunk); i += 64)
      chunk[i] = '\n';
    for (int i = 0; i < 17 && rc == 0; i++)
      rc = aws_profile_parser_feed(p, chunk, sizeof(chunk));
    T_OK(rc == -1 && aws_profile_parser_finish(p) == -1,
         "a file over 1 MiB is refused");
    T_EQ_STR(aws_profile_parser_error(p), "larger than 1048576 bytes",
             "file cap message");
    T_OK(aws_profile_parser_feed(p, "x", 1) == -1,
         "feeding a failed parser fails at once");
    aws_profile_parser_destroy(p);
  }
  {
    char name[AWS_PROFILE_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    T_OK(aws_profile_parser_create(AWS_PROFILE_CONFIG_FILE, name) == NULL &&
             aws_profile_parser_create(AWS_PROFILE_CONFIG_FILE, "") == NULL,
         "profile names too long or empty are refused");
  }
}

/* The endpoint settings and the services sections. */
static const char ENDPOINTS_FILE[] =
    "[services local]\n"                                    /* 1 */
    "cloudwatch =\n"                                        /* 2 */
    "  endpoint_url = http://localhost:5000\n"              /* 3 */
    "  other = x\n"                                         /* 4 */
    "CloudWatch_Logs =\n"                                   /* 5 */
    "\tendpoint_url = http://localhost:5001/logs\n"         /* 6 */
    "s3 = not-a-sub-section\n"                              /* 7 */
    "  endpoint_url = http://wrong\n"                       /* 8 */
    "[profile dev]\n"                                       /* 9 */
    "services = local\n"                                    /* 10 */
    "endpoint_url = https://global.example\n"               /* 11 */
    "use_fips_endpoint = true\n"                            /* 12 */
    "use_dualstack_endpoint = false\n"                      /* 13 */
    "ignore_configured_endpoint_urls = TRUE\n"              /* 14 */
    "s3 =\n"                                                /* 15 */
    "  endpoint_url = http://not-for-the-profile\n"         /* 16 */
    "[services other]\n"                                    /* 17 */
    "cloudwatch =\n"                                        /* 18 */
    "  endpoint_url = http://other:1\n"                     /* 19 */
    "[services local]\n"                                    /* 20 */
    "cloudwatch =\n"                                        /* 21 */
    "  endpoint_url = http://localhost:5002 ; later wins\n" /* 22 */
    "[profile bare]\n"                                      /* 23 */
    "services = missing\n";                                 /* 24 */

static void test_endpoint_settings(void) {
  prof_run_t r;

  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "dev", ENDPOINTS_FILE,
             "endpoints, dev");
  T_OK(r.finish_rc == 0 && r.found, "endpoints: parsed (%s)", r.error);
  T_EQ_STR(r.endpoint_url, "https://global.example@11",
           "endpoints: the profile's endpoint_url and its line");
  T_EQ_STR(r.services, "local@10", "endpoints: services = local");
  T_EQ_STR(r.fips, "true@12", "endpoints: use_fips_endpoint");
  T_EQ_STR(r.dual, "false@13", "endpoints: use_dualstack_endpoint");
  T_EQ_STR(r.ignore, "TRUE@14",
           "endpoints: ignore_configured_endpoint_urls, as written");
  T_EQ_STR(r.cw_url, "http://localhost:5002@22",
           "endpoints: [services local] cloudwatch, the later section's "
           "value wins, comment dropped");
  T_EQ_STR(r.logs_url, "http://localhost:5001/logs@6",
           "endpoints: cloudwatch_logs (key case ignored, tab indent)");

  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "bare", ENDPOINTS_FILE,
             "endpoints, bare");
  T_EQ_STR(r.cw_url, "-", "endpoints: a services name with no section");
  T_EQ_STR(r.endpoint_url, "-", "endpoints: no endpoint_url");
  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "default", ENDPOINTS_FILE,
             "endpoints, default");
  T_OK(!r.found && strcmp(r.cw_url, "-") == 0,
       "endpoints: a profile without services = has no service URL");

  /* In the credentials file "[services local]" is a profile's name. */
  prof_check(&r, AWS_PROFILE_CREDENTIALS_FILE, "services local", ENDPOINTS_FILE,
             "endpoints, credentials file");
  T_OK(r.finish_rc == 0 && r.found,
       "credentials file: [services local] is the profile \"services "
       "local\"");

  static const refused_t bad[] = {
      {"[services s]\ncloudwatch =\n  endpoint_url http://x\n", 0,
       "line 3: expected key = value under \"cloudwatch =\""},
      {"[services s]\ncloudwatch =\n  = http://x\n", 0,
       "line 3: expected key = value (the key is missing)"},
  };
  check_refused(AWS_PROFILE_CONFIG_FILE, "malformed services section", bad,
                sizeof(bad) / sizeof(*bad));
  /* Outside a services section indented lines stay skipped. */
  prof_check(&r, AWS_PROFILE_CONFIG_FILE, "default",
             "[default]\ns3 =\n  this line is no key value\n",
             "nested line in a profile");
  T_OK(r.finish_rc == 0, "a profile's nested lines are not parsed (%s)",
       r.error);

  {
    /* The cap on kept service URLs. */
    size_t cap = 64 + 40 * (AWS_PROFILE_SERVICE_URLS_MAX + 1);
    char *big = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(big + n, cap - n, "[services s]\n");
    for (unsigned i = 0; i <= AWS_PROFILE_SERVICE_URLS_MAX; i++)
      n += (size_t)snprintf(big + n, cap - n, "k%u =\n endpoint_url = u\n", i);
    prof_parse(&r, AWS_PROFILE_CONFIG_FILE, "default", big, n, 0);
    T_EQ_STR(r.error, "line 515: more than 256 service endpoint URLs",
             "the cap on service URLs, named with its line");
    free(big);
  }
}

int main(void) {
  test_profile_parser();
  test_endpoint_settings();
  return t_done();
}
