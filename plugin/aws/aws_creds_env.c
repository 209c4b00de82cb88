/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_env: credentials from the environment (see aws_creds_provider.h).
 */
#include "aws_creds_provider.h"
#include "aws_text.h"

#include <stdio.h>

aws_creds_source_t aws_creds_env_fetch(const aws_creds_config_t *c,
                                       aws_creds_t *out, char *msg,
                                       size_t size) {
  const char *id = aws_creds_getenv(c, "AWS_ACCESS_KEY_ID");
  const char *secret = aws_creds_getenv(c, "AWS_SECRET_ACCESS_KEY");
  const char *token = aws_creds_getenv(c, "AWS_SESSION_TOKEN");

  if (id == NULL && secret == NULL) {
    snprintf(msg, size, "environment: AWS_ACCESS_KEY_ID not set");
    return AWS_CREDS_ABSENT;
  }
  if (id == NULL || secret == NULL) {
    snprintf(msg, size, "environment: %s is set but %s is not",
             id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
             id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return AWS_CREDS_ERROR;
  }
  if (!aws_text_sendable(id) || !aws_text_sendable(secret) ||
      (token != NULL && !aws_text_sendable(token))) {
    snprintf(msg, size, "environment: %s holds a character that cannot be sent",
             !aws_text_sendable(id)       ? "AWS_ACCESS_KEY_ID"
             : !aws_text_sendable(secret) ? "AWS_SECRET_ACCESS_KEY"
                                          : "AWS_SESSION_TOKEN");
    return AWS_CREDS_ERROR;
  }
  if (aws_creds_set(out, id, secret, token, 0) != 0) {
    snprintf(msg, size, "environment: out of memory");
    return AWS_CREDS_ERROR;
  }
  snprintf(out->provider, sizeof(out->provider), "environment");
  return AWS_CREDS_FOUND;
}
