/* SPDX-License-Identifier: MIT */
/*
 * aws_profile_file: the shared files located and parsed (see
 * aws_profile_file.h).
 */
#include "aws_profile_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *aws_profile_file_name(const aws_creds_config_t *c,
                                  const char **origin) {
  const char *v;
  if (c->profile != NULL && c->profile[0] != '\0') {
    *origin = "the Profile option";
    return c->profile;
  }
  if ((v = aws_creds_getenv(c, "AWS_PROFILE")) != NULL) {
    *origin = "AWS_PROFILE";
    return v;
  }
  *origin = "";
  return "default";
}

/* path and its form for messages: the variable's value ("~/" expanded),
 * or home + default shown as "~/" + default. 1 when there is no file to
 * read (no home for a default path), -1 when too long. */
static int file_path(const aws_creds_config_t *c, const char *var,
                     const char *dflt, char *path, char *shown) {
  const char *v = aws_creds_getenv(c, var);
  const char *home =
      c->home_dir != NULL && c->home_dir[0] != '\0' ? c->home_dir : NULL;
  int n;

  if (v != NULL) {
    snprintf(shown, AWS_PROFILE_FILE_PATH_MAX, "%s", v);
    if (strncmp(v, "~/", 2) == 0) {
      if (home == NULL)
        return 1;
      n = snprintf(path, AWS_PROFILE_FILE_PATH_MAX, "%s/%s", home, v + 2);
    } else {
      n = snprintf(path, AWS_PROFILE_FILE_PATH_MAX, "%s", v);
    }
  } else {
    if (home == NULL)
      return 1;
    snprintf(shown, AWS_PROFILE_FILE_PATH_MAX, "~/%s", dflt);
    n = snprintf(path, AWS_PROFILE_FILE_PATH_MAX, "%s/%s", home, dflt);
  }
  return (n < 0 || (size_t)n >= AWS_PROFILE_FILE_PATH_MAX) ? -1 : 0;
}

static int feed(void *ud, const char *data, size_t len) {
  return aws_profile_parser_feed(ud, data, len);
}

aws_file_rc_t aws_profile_file_load(const aws_creds_config_t *c,
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
  aws_file_rc_t rc = AWS_FILE_READ;
  int prc;

  *parser = NULL;
  shown[0] = '\0';
  path = malloc(AWS_PROFILE_FILE_PATH_MAX);
  if (path == NULL) {
    snprintf(msg, size, "out of memory");
    return AWS_FILE_ERROR;
  }
  prc = file_path(c, var, dflt, path, shown);
  if (prc > 0) {
    rc = AWS_FILE_ABSENT;
  } else if (prc < 0) {
    snprintf(msg, size, "%s: path too long", var);
    rc = AWS_FILE_ERROR;
  }
  if (rc == AWS_FILE_READ) {
    *parser = aws_profile_parser_create(kind, profile);
    if (*parser == NULL) {
      snprintf(msg, size, "out of memory");
      rc = AWS_FILE_ERROR;
    }
  }
  if (rc == AWS_FILE_READ)
    rc = aws_file_read(path, shown, AWS_PROFILE_FILE_MAX, feed, *parser, msg,
                       size);
  if (rc == AWS_FILE_READ && aws_profile_parser_finish(*parser) != 0)
    rc = AWS_FILE_REFUSED;
  if (rc == AWS_FILE_REFUSED) {
    const char *e = aws_profile_parser_error(*parser);
    snprintf(msg, size, "%s%s%s", shown,
             strncmp(e, "line ", 5) == 0 ? " " : ": ", e);
    rc = AWS_FILE_ERROR;
  }
  if (rc != AWS_FILE_READ) {
    aws_profile_parser_destroy(*parser);
    *parser = NULL;
  }
  free(path);
  return rc;
}
