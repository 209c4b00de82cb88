/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of aws_creds_json: the credentials document parser, every
 * document re-fed in every chunk size from 1 to 31 bytes with the same
 * outcome, its caps and messages (never a secret), and the ISO 8601 times
 * against timegm(3).
 */
#include "aws_creds_json.h"
#include "aws_test_util.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int feed_rc, finish_rc;
  char error[160];
  char v[AWS_CREDS_JSON_FIELD_COUNT][128];
} json_run_t;

static void json_parse(json_run_t *r, const char *doc, size_t len,
                       size_t chunk) {
  aws_creds_json_t *j = aws_creds_json_create();
  memset(r, 0, sizeof(*r));
  if (j == NULL)
    abort();
  FEED_IN_CHUNKS(r, aws_creds_json, j, doc, len, chunk);
  for (int f = 0; f < AWS_CREDS_JSON_FIELD_COUNT; f++) {
    const char *v = aws_creds_json_get(j, (aws_creds_json_field_t)f);
    snprintf(r->v[f], sizeof(r->v[f]), "%s", v ? v : "-");
  }
  aws_creds_json_destroy(j);
}

static void json_check(json_run_t *r, const char *doc, size_t len,
                       const char *what) {
  CHECK_EVERY_CHUNK(json_run_t, r, what, json_parse, doc, len);
}

static void test_json_parser(void) {
  json_run_t r;
  const char *doc = creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                              "2026-11-26T18:00:00Z");
  static char big[AWS_CREDS_JSON_BODY_MAX + 64];

  json_check(&r, doc, strlen(doc), "IMDS document");
  T_OK(r.finish_rc == 0, "IMDS document parsed (%s)", r.error);
  T_EQ_STR(r.v[AWS_CREDS_JSON_ACCESS_KEY_ID], IMDS_ID, "AccessKeyId");
  T_EQ_STR(r.v[AWS_CREDS_JSON_SECRET_ACCESS_KEY], IMDS_SECRET,
           "SecretAccessKey");
  T_EQ_STR(r.v[AWS_CREDS_JSON_TOKEN], IMDS_TOKEN, "Token");
  T_EQ_STR(r.v[AWS_CREDS_JSON_EXPIRATION], "2026-11-26T18:00:00Z",
           "Expiration");
  T_EQ_STR(r.v[AWS_CREDS_JSON_CODE], "Success", "Code");

  doc = "{\"RoleArn\":{\"AccessKeyId\":[1,{\"Token\":null}]},"
        "\"AccessKeyId\":\"A\",\"Extra\":[true,false,1.5e300,-1],"
        "\"SecretAccessKey\":\"S\",\"AccessKeyId\":\"B\"}";
  json_check(&r, doc, strlen(doc), "unknown members");
  T_OK(r.finish_rc == 0 &&
           strcmp(r.v[AWS_CREDS_JSON_ACCESS_KEY_ID], "B") == 0 &&
           strcmp(r.v[AWS_CREDS_JSON_TOKEN], "-") == 0,
       "nested names ignored, a repeated member's last value wins");

  static const struct {
    const char *doc, *want;
  } bad[] = {
      {"", "empty document"},
      {"[1]", "not a JSON object"},
      {"\"AccessKeyId\"", "not a JSON object"},
      {"{\"Token\": 5}", "\"Token\" is not a string"},
      {"{\"Expiration\": {}}", "\"Expiration\" is not a string"},
      {"{\"Code\": null}", "\"Code\" is not a string"},
      {"{\"SecretAccessKey\":\"" IMDS_SECRET "\",\"Token\":\"" IMDS_TOKEN
       "\" x}",
       "not valid JSON"},
      {"{\"AccessKeyId\":\"" IMDS_ID "\"} {}", "not valid JSON"},
      {"{\"Token\":\"a\\nb\"}", "\"Token\" holds a character that cannot be "
                                "sent"},
      {"{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",
       "nested deeper than 16 levels"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    char what[64];
    snprintf(what, sizeof(what), "bad document %zu", i + 1);
    json_check(&r, bad[i].doc, strlen(bad[i].doc), what);
    T_OK(r.finish_rc == -1 &&
             strncmp(r.error, bad[i].want, strlen(bad[i].want)) == 0,
         "%s: \"%s\" (want \"%s\")", what, r.error, bad[i].want);
  }

  memset(big, ' ', sizeof(big) - 1);
  big[0] = '{';
  big[sizeof(big) - 2] = '}';
  big[sizeof(big) - 1] = '\0';
  json_parse(&r, big, strlen(big), 0);
  T_EQ_STR(r.error, "longer than 65536 bytes", "body cap");

  {
    char key[AWS_CREDS_JSON_KEY_ID_MAX + 40];
    char longid[AWS_CREDS_JSON_KEY_ID_MAX + 2];
    memset(longid, 'A', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    snprintf(key, sizeof(key), "{\"AccessKeyId\":\"%s\"}", longid);
    json_parse(&r, key, strlen(key), 0);
    T_EQ_STR(r.error, "\"AccessKeyId\" is longer than 128 bytes", "member cap");
  }
}

static void test_iso8601(void) {
  time_t t = 0;
  time_t want = utc(2026, 11, 26, 22, 0, 0);
  static const char *const badtimes[] = {
      "",
      "x",
      "2026-11-26",
      "2026-11-26T22:00:00",
      "2026-11-26T22:00:00Zjunk",
      "2026-13-01T00:00:00Z",
      "2026-02-29T00:00:00Z",
      "2026-11-31T00:00:00Z",
      "2026-11-26T24:00:00Z",
      "2026-11-26T22:60:00Z",
      "2026-11-26T22:00:00.Z",
      "2026-11-26T22:00:00+2400",
      "1969-12-31T23:59:59Z",
      "1970-01-01T00:30:00+01:00",
      "+2026-11-26T22:00:00Z",
      "2026-1-26T22:00:00Z",
  };

  T_OK(aws_creds_json_time("2026-11-26T22:00:00Z", &t) == 0 && t == want,
       "time: 2026-11-26T22:00:00Z");
  T_OK(aws_creds_json_time("2026-11-26T22:00:00.123456Z", &t) == 0 && t == want,
       "time: fraction");
  T_OK(aws_creds_json_time("2026-11-26T23:30:00+01:30", &t) == 0 && t == want,
       "time: +01:30");
  T_OK(aws_creds_json_time("2026-11-26T20:00:00-0200", &t) == 0 && t == want,
       "time: -0200");
  T_OK(aws_creds_json_time("2024-02-29T00:00:00Z", &t) == 0 &&
           t == utc(2024, 2, 29, 0, 0, 0),
       "time: a leap day");
  T_OK(aws_creds_json_time("1970-01-01T00:00:00Z", &t) == 0 && t == 0,
       "time: the epoch");
  for (size_t i = 0; i < sizeof(badtimes) / sizeof(*badtimes); i++)
    T_OK(aws_creds_json_time(badtimes[i], &t) == -1, "time: refuses \"%s\"",
         badtimes[i]);
}

int main(void) {
  test_json_parser();
  test_iso8601();
  return t_done();
}
