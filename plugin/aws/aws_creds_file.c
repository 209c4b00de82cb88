/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_file: credentials from the shared files (see
 * aws_creds_provider.h).
 */
#include "aws_creds_provider.h"
#include "aws_profile_file.h"
#include "aws_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The keys of a parsed profile: AWS_CREDS_FOUND, AWS_CREDS_ABSENT when it has
 * none, AWS_CREDS_ERROR when half a pair or unsendable. */
static aws_creds_source_t keys_from_profile(const aws_profile_t *r,
                                            const char *shown,
                                            const char *profile,
                                            const char *kind, aws_creds_t *out,
                                            char *msg, size_t size) {
  if (r->access_key_id == NULL && r->secret_access_key == NULL)
    return AWS_CREDS_ABSENT;
  if (r->access_key_id == NULL || r->secret_access_key == NULL) {
    snprintf(msg, size, "%s: profile \"%s\" has %s but no %s", shown, profile,
             r->access_key_id != NULL ? "aws_access_key_id"
                                      : "aws_secret_access_key",
             r->access_key_id != NULL ? "aws_secret_access_key"
                                      : "aws_access_key_id");
    return AWS_CREDS_ERROR;
  }
  if (!aws_text_sendable(r->access_key_id) ||
      !aws_text_sendable(r->secret_access_key) ||
      (r->session_token != NULL && !aws_text_sendable(r->session_token))) {
    snprintf(
        msg, size,
        "%s: profile \"%s\": a key or token holds a character that cannot be "
        "sent",
        shown, profile);
    return AWS_CREDS_ERROR;
  }
  if (aws_creds_set(out, r->access_key_id, r->secret_access_key,
                    r->session_token, 0) != 0) {
    snprintf(msg, size, "%s: out of memory", shown);
    return AWS_CREDS_ERROR;
  }
  snprintf(out->provider, sizeof(out->provider), "shared %s file (profile %s)",
           kind, profile);
  return AWS_CREDS_FOUND;
}

aws_creds_source_t aws_creds_file_fetch(const aws_creds_config_t *c,
                                        aws_creds_t *out, char *msg,
                                        size_t size) {
  const char *origin;
  const char *profile = aws_profile_file_name(c, &origin);
  /* The two files, in the order the keys are looked for. */
  static const struct {
    aws_profile_kind_t kind;
    const char *label, *usual;
  } files[2] = {
      {AWS_PROFILE_CREDENTIALS_FILE, "credentials", "~/.aws/credentials"},
      {AWS_PROFILE_CONFIG_FILE, "config", "~/.aws/config"},
  };
  aws_profile_parser_t *parser[2] = {NULL, NULL};
  char *shown[2];
  aws_creds_source_t rc = AWS_CREDS_ABSENT;
  char unsupported[32] = "";
  bool found = false;

  if (strlen(profile) > AWS_PROFILE_NAME_MAX) {
    snprintf(msg, size,
             "shared files: the profile name from %s is longer than %u "
             "bytes",
             origin, AWS_PROFILE_NAME_MAX);
    return AWS_CREDS_ERROR;
  }
  shown[0] = malloc(AWS_PROFILE_FILE_PATH_MAX);
  shown[1] = malloc(AWS_PROFILE_FILE_PATH_MAX);
  if (shown[0] == NULL || shown[1] == NULL) {
    snprintf(msg, size, "shared files: out of memory");
    rc = AWS_CREDS_ERROR;
  }
  for (int i = 0; i < 2 && rc == AWS_CREDS_ABSENT; i++) {
    const aws_profile_t *r;
    if (aws_profile_file_load(c, files[i].kind, profile, &parser[i], shown[i],
                              msg, size) == AWS_FILE_ERROR) {
      rc = AWS_CREDS_ERROR;
      break;
    }
    if (parser[i] == NULL)
      continue;
    r = aws_profile_parser_result(parser[i]);
    found = found || r->found;
    if (unsupported[0] == '\0')
      snprintf(unsupported, sizeof(unsupported), "%s", r->unsupported);
    rc =
        keys_from_profile(r, shown[i], profile, files[i].label, out, msg, size);
  }
  if (rc == AWS_CREDS_ABSENT) {
    const char *a = shown[0][0] != '\0' ? shown[0] : files[0].usual;
    const char *b = shown[1][0] != '\0' ? shown[1] : files[1].usual;
    if (!found && origin[0] != '\0') {
      snprintf(msg, size,
               "shared files: profile \"%s\" (from %s) is in neither %s nor %s",
               profile, origin, a, b);
      rc = AWS_CREDS_ERROR;
    } else if (unsupported[0] != '\0') {
      snprintf(
          msg, size,
          "shared files: profile \"%s\" uses %s, which is not supported here; "
          "give it aws_access_key_id and aws_secret_access_key",
          profile, unsupported);
      rc = AWS_CREDS_ERROR;
    } else {
      snprintf(msg, size,
               "shared files: no keys for profile \"%s\" in %s or %s", profile,
               a, b);
    }
  }
  for (int i = 0; i < 2; i++) {
    aws_profile_parser_destroy(parser[i]);
    free(shown[i]);
  }
  return rc;
}
