/* SPDX-License-Identifier: MIT */
/*
 * aws_region: the region lookup (see aws_region.h).
 */
#include "aws_region.h"
#include "aws_imds.h"
#include "aws_profile_file.h"
#include "aws_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMDS_REGION_PATH "/latest/meta-data/placement/region"
#define MSG_MAX 1024

bool aws_region_name_ok(const char *s) {
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
static int take(aws_region_t *out, const char *value, const char *source,
                char *msg, size_t size) {
  char q[AWS_TEXT_QUOTE_SIZE];
  if (!aws_region_name_ok(value)) {
    snprintf(msg, size, "%s: \"%s\" is not a region name", source,
             aws_text_quote(value, q, sizeof(q)));
    return -1;
  }
  snprintf(out->name, sizeof(out->name), "%s", value);
  snprintf(out->source, sizeof(out->source), "%s", source);
  return 0;
}

/* From the profile: 0 found, 1 none there, -1 failed. */
static int from_profile(const aws_creds_config_t *c, aws_region_t *out,
                        char *msg, size_t size) {
  const char *origin, *v;
  const char *profile = aws_profile_file_name(c, &origin);
  aws_profile_parser_t *conf = NULL;
  char *shown = NULL, source[AWS_CREDS_SOURCE_MAX];
  int rc = 1;

  if (strlen(profile) > AWS_PROFILE_NAME_MAX)
    return 1; /* the credential chain says why */
  shown = malloc(AWS_PROFILE_FILE_PATH_MAX);
  if (shown == NULL) {
    snprintf(msg, size, "out of memory");
    return -1;
  }
  if (aws_profile_file_load(c, AWS_PROFILE_CONFIG_FILE, profile, &conf, shown,
                            msg, size) == AWS_FILE_ERROR) {
    rc = -1;
  } else if (conf != NULL &&
             (v = aws_profile_parser_result(conf)->region) != NULL) {
    snprintf(source, sizeof(source), "shared config file %s (profile %s)",
             shown, profile);
    rc = take(out, v, source, msg, size);
  }
  aws_profile_parser_destroy(conf);
  free(shown);
  return rc;
}

aws_creds_status_t aws_region_resolve(const aws_creds_config_t *cfg,
                                      const char *configured, aws_region_t *out,
                                      char *err, size_t err_size) {
  aws_creds_config_t c;
  char msg[MSG_MAX] = "", answer[AWS_REGION_MAX + 8];
  const char *v;
  int rc = 1; /* 0 found, 1 not yet, -1 failed */

  memset(out, 0, sizeof(*out));
  if (err_size > 0)
    err[0] = '\0';
  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL) {
    snprintf(err, err_size, "region: incomplete configuration");
    return AWS_CREDS_FAILED;
  }
  aws_creds_config_defaults(cfg, &c);
  if (configured != NULL && configured[0] != '\0')
    rc = take(out, configured, "configuration", msg, sizeof(msg));
  if (rc > 0 && (v = aws_creds_getenv(&c, "AWS_REGION")) != NULL)
    rc = take(out, v, "AWS_REGION", msg, sizeof(msg));
  if (rc > 0 && (v = aws_creds_getenv(&c, "AWS_DEFAULT_REGION")) != NULL)
    rc = take(out, v, "AWS_DEFAULT_REGION", msg, sizeof(msg));
  if (rc > 0)
    rc = from_profile(&c, out, msg, sizeof(msg));
  if (rc > 0 && aws_imds_disabled(&c)) {
    snprintf(msg, sizeof(msg),
             "no region: set Region, AWS_REGION or a profile's region "
             "(instance metadata is disabled by AWS_EC2_METADATA_DISABLED)");
    rc = -1;
  }
  if (rc > 0) {
    aws_imds_t *m = aws_imds_create(&c);
    if (m == NULL) {
      snprintf(msg, sizeof(msg), "out of memory");
      rc = -1;
    } else if (aws_imds_get_text(m, IMDS_REGION_PATH, answer, sizeof(answer),
                                 msg, sizeof(msg)) != 0) {
      rc = -1;
    } else {
      rc = take(out, answer, "instance metadata", msg, sizeof(msg));
    }
    aws_imds_destroy(m);
  }
  if (rc != 0) {
    memset(out, 0, sizeof(*out));
    snprintf(err, err_size, "%s", msg);
  }
  return rc == 0 ? AWS_CREDS_OK : AWS_CREDS_FAILED;
}
