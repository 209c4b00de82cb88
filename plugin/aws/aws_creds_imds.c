/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_imds: credentials from instance metadata (see
 * aws_creds_provider.h).
 */
#include "aws_creds_json.h"
#include "aws_creds_provider.h"
#include "aws_imds.h"
#include "aws_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDS_PATH "/latest/meta-data/iam/security-credentials/"
/* IAM role names are at most 64 characters; instance profiles 128. */
#define ROLE_NAME_MAX 128u

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

static int feed(void *ud, const char *data, size_t len) {
  return aws_creds_json_feed(ud, data, len);
}

aws_creds_source_t aws_creds_imds_fetch(const aws_creds_config_t *c,
                                        aws_creds_t *out, char *msg,
                                        size_t size) {
  const char *what = "instance metadata";
  aws_imds_t *m = NULL;
  aws_text_buf_t text;
  aws_creds_json_t *json = NULL;
  char role[ROLE_NAME_MAX + 1] = "", path[sizeof(CREDS_PATH) + ROLE_NAME_MAX];
  aws_creds_source_t rc = AWS_CREDS_ERROR;
  bool ok;

  if (aws_imds_disabled(c)) {
    snprintf(msg, size,
             "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
    return AWS_CREDS_ABSENT;
  }
  m = aws_imds_create(c);
  json = aws_creds_json_create();
  aws_text_buf_init(&text);
  ok = m != NULL && json != NULL;
  if (!ok)
    snprintf(msg, size, "%s: out of memory", what);
  if (ok) {
    int frc = aws_imds_fetch(m, CREDS_PATH, aws_text_buf_add, &text, msg, size);
    if (frc == 1)
      snprintf(msg, size, "%s: GET %s: the answer is longer than %u bytes",
               what, CREDS_PATH, AWS_TEXT_BUF_MAX);
    ok = frc == 0;
  }
  if (ok) {
    /* One role name a line; an instance has at most one. */
    char *first = aws_text_buf_trimmed(&text);
    first[strcspn(first, "\r\n")] = '\0';
    ok = role_name_ok(first);
    if (ok)
      snprintf(role, sizeof(role), "%s", first);
    else if (first[0] == '\0')
      snprintf(msg, size, "%s: GET %s: no IAM role is attached to the instance",
               what, CREDS_PATH);
    else
      snprintf(msg, size, "%s: GET %s: the role name is not valid", what,
               CREDS_PATH);
  }
  if (ok) {
    snprintf(path, sizeof(path), "%s%s", CREDS_PATH, role);
    /* 1: the parser refused the document, which finish explains. */
    ok = aws_imds_fetch(m, path, feed, json, msg, size) >= 0;
  }
  if (ok) {
    if (aws_creds_json_finish(json) != 0)
      snprintf(msg, size,
               "%s: GET %s: the answer is not a credentials document: %s", what,
               path, aws_creds_json_error(json));
    else if ((rc = aws_creds_json_creds(json, c->clock_fn(c->clock_ud), what,
                                        out, msg, size)) == AWS_CREDS_FOUND)
      snprintf(out->provider, sizeof(out->provider),
               "instance metadata (role %s)", role);
  }
  aws_imds_destroy(m);
  aws_text_buf_free(&text);
  aws_creds_json_destroy(json);
  return rc;
}
