/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the parsers under the credential chain: the
 * credentials document parser (aws_creds_json, with its ISO 8601 parser on
 * the Expiration) and the shared credentials / config file parser
 * (aws_profile, with its endpoint settings and services sections).
 *
 * The first input byte selects: bit 0 clear, a credentials document, fed
 * in chunks of 1 + (byte >> 1) bytes; bit 0 set, a profile file, of the
 * kind in bit 1 (credentials, config), for the profile in bit 2 ("default",
 * "dev"), in chunks of 1 + (byte >> 3) bytes. The rest is the input. It is
 * parsed whole and in chunks, and both must agree on everything; what came
 * out must satisfy the headers' contracts (values within their caps and
 * sendable, a message exactly when the parse failed). A third parse stops
 * half-way and destroys the parser, for leaks.
 *
 * Built by run-fuzzers.sh with clang, -fsanitize=fuzzer,address,undefined,
 * over every source file of plugin/aws and this one.
 */
#include "aws_creds_json.h"
#include "aws_profile.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int feed_rc;
  int finish_rc;
  char error[256];
  uint64_t hash;
} outcome_t;

/* ---- credentials documents ---- */

static const size_t json_caps[AWS_CREDS_JSON_FIELD_COUNT] = {
    AWS_CREDS_JSON_KEY_ID_MAX, AWS_CREDS_JSON_SECRET_MAX,
    AWS_CREDS_JSON_TOKEN_MAX, AWS_CREDS_JSON_SHORT_MAX,
    AWS_CREDS_JSON_SHORT_MAX};

static void json_run(outcome_t *o, const char *doc, size_t len, size_t chunk) {
  aws_creds_json_t *j = aws_creds_json_create();
  uint64_t h = FUZZ_HASH_INIT;

  CHECK(j != NULL);
  memset(o, 0, sizeof(*o));
  FEED_AND_FINISH(o, error, aws_creds_json, j, doc, len, chunk);
  for (int f = 0; f < AWS_CREDS_JSON_FIELD_COUNT; f++) {
    const char *v = aws_creds_json_get(j, (aws_creds_json_field_t)f);
    if (o->finish_rc != 0)
      CHECK(v == NULL);
    if (v != NULL) {
      CHECK(strlen(v) <= json_caps[f]);
      for (const char *c = v; *c != '\0'; c++)
        CHECK(*c >= 0x20 && *c <= 0x7e);
    }
    h = fuzz_mix_str(h, v);
  }
  {
    const char *exp = aws_creds_json_get(j, AWS_CREDS_JSON_EXPIRATION);
    time_t t = 0;
    if (exp != NULL && aws_creds_json_time(exp, &t) == 0) {
      CHECK(t >= 0);
      h = fuzz_mix_str(h, "valid time");
      h = fuzz_mix(h, (uint64_t)t);
    }
  }
  o->hash = h;
  aws_creds_json_destroy(j);
}

/* ---- profile files ---- */

static void check_value(const char *v) {
  size_t n;
  if (v == NULL)
    return;
  n = strlen(v);
  CHECK(n > 0 && n <= AWS_PROFILE_LINE_MAX);
  CHECK(strchr(v, '\n') == NULL);
  CHECK(v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t');
}

static void profile_run(outcome_t *o, aws_profile_kind_t kind, const char *name,
                        const char *doc, size_t len, size_t chunk) {
  aws_profile_parser_t *p = aws_profile_parser_create(kind, name);
  const aws_profile_t *r;
  uint64_t h = FUZZ_HASH_INIT;

  CHECK(p != NULL);
  memset(o, 0, sizeof(*o));
  FEED_AND_FINISH(o, error, aws_profile_parser, p, doc, len, chunk);
  r = aws_profile_parser_result(p);
  CHECK(r != NULL);
  if (o->finish_rc == 0) {
    check_value(r->access_key_id);
    check_value(r->secret_access_key);
    check_value(r->session_token);
    check_value(r->region);
    CHECK(strlen(r->unsupported) < sizeof(r->unsupported));
    h = fuzz_mix_str(h, r->found ? "found" : "absent");
    h = fuzz_mix_str(h, r->access_key_id);
    h = fuzz_mix_str(h, r->secret_access_key);
    h = fuzz_mix_str(h, r->session_token);
    h = fuzz_mix_str(h, r->region);
    h = fuzz_mix_str(h, r->unsupported);
    {
      const aws_profile_value_t *vs[] = {
          &r->endpoint_url,
          &r->services,
          &r->ignore_configured_endpoint_urls,
          &r->use_fips_endpoint,
          &r->use_dualstack_endpoint,
          aws_profile_parser_service_url(p, "cloudwatch"),
          aws_profile_parser_service_url(p, "cloudwatch_logs"),
          aws_profile_parser_service_url(p, "s3")};
      for (size_t i = 0; i < sizeof(vs) / sizeof(*vs); i++) {
        if (vs[i] == NULL) {
          h = fuzz_mix_str(h, NULL);
          continue;
        }
        check_value(vs[i]->value);
        CHECK(vs[i]->value == NULL || vs[i]->line >= 1);
        h = fuzz_mix_str(h, vs[i]->value);
        h = fuzz_mix(h, vs[i]->line);
      }
    }
  } else {
    CHECK(aws_profile_parser_service_url(p, "cloudwatch") == NULL);
  }
  o->hash = h;
  aws_profile_parser_destroy(p);
}

static void compare(const outcome_t *a, const outcome_t *b, size_t chunk) {
  if (a->feed_rc != b->feed_rc || a->finish_rc != b->finish_rc ||
      strcmp(a->error, b->error) != 0 || a->hash != b->hash) {
    fprintf(stderr, "whole: %d/%d \"%s\"\n", a->feed_rc, a->finish_rc,
            a->error);
    fprintf(stderr, "chunks of %zu: %d/%d \"%s\"\n", chunk, b->feed_rc,
            b->finish_rc, b->error);
    __builtin_trap();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static outcome_t whole, chunked;
  const char *doc;
  size_t len, chunk;

  if (size < 1)
    return 0;
  doc = (const char *)data + 1;
  len = size - 1;

  if ((data[0] & 1) == 0) {
    chunk = 1 + (size_t)(data[0] >> 1);
    json_run(&whole, doc, len, len > 0 ? len : 1);
    json_run(&chunked, doc, len, chunk);
    compare(&whole, &chunked, chunk);
    {
      aws_creds_json_t *j = aws_creds_json_create();
      CHECK(j != NULL);
      (void)aws_creds_json_feed(j, doc, len / 2);
      aws_creds_json_destroy(j);
    }
    /* The time parser on its own, on short inputs. */
    if (len < 64) {
      char s[64];
      time_t t;
      memcpy(s, doc, len);
      s[len] = '\0';
      if (aws_creds_json_time(s, &t) == 0)
        CHECK(t >= 0);
    }
  } else {
    aws_profile_kind_t kind =
        (data[0] & 2) ? AWS_PROFILE_CONFIG_FILE : AWS_PROFILE_CREDENTIALS_FILE;
    const char *name = (data[0] & 4) ? "dev" : "default";
    chunk = 1 + (size_t)(data[0] >> 3);
    profile_run(&whole, kind, name, doc, len, len > 0 ? len : 1);
    profile_run(&chunked, kind, name, doc, len, chunk);
    compare(&whole, &chunked, chunk);
    {
      aws_profile_parser_t *p = aws_profile_parser_create(kind, name);
      CHECK(p != NULL);
      (void)aws_profile_parser_feed(p, doc, len / 2);
      aws_profile_parser_destroy(p);
    }
  }
  return 0;
}
