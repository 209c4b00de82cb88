/* SPDX-License-Identifier: MIT */
/*
 * aws_offline.h: an environment where the AWS code has nothing to ask, for
 * the programs that run the plugins whole (the glue's unit tests, the
 * config fuzzer): instance metadata disabled, and its endpoint where
 * nothing listens should anything try; no shared config or credentials
 * file, nor a HOME to find them in; no profile, default region, session
 * token, container or web identity credentials. The region and the keys
 * are the caller's to set (or unset).
 */
#ifndef SM_TESTS_AWS_OFFLINE_H
#define SM_TESTS_AWS_OFFLINE_H 1

#include <stdlib.h>

static inline void aws_offline(void) {
  static const char *const unset[] = {"AWS_DEFAULT_REGION",
                                      "AWS_PROFILE",
                                      "AWS_SESSION_TOKEN",
                                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                      "AWS_WEB_IDENTITY_TOKEN_FILE"};

  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/aws/config", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws/credentials", 1);
  setenv("HOME", "/nonexistent", 1);
  for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
    unsetenv(unset[i]);
}

#endif /* SM_TESTS_AWS_OFFLINE_H */
