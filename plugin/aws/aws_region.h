/* SPDX-License-Identifier: MIT */
/*
 * aws_region: the region the plugins call, found as the AWS CLI finds it:
 * configured (the plugin's Region option) > AWS_REGION >
 * AWS_DEFAULT_REGION > "region" of the profile in the shared config file
 * (see aws_profile_file.h) > instance metadata,
 * /latest/meta-data/placement/region over IMDSv2 (unless
 * AWS_EC2_METADATA_DISABLED).
 *
 * collectd-free.
 */
#ifndef SM_AWS_REGION_H
#define SM_AWS_REGION_H 1

#include <stdbool.h>
#include <stddef.h>

#include "aws_creds.h"

/* Region names ("us-east-1", "ap-southeast-2", ...). */
#define AWS_REGION_MAX 32u

typedef struct {
  char name[AWS_REGION_MAX + 1];
  /* "configuration", "AWS_REGION", "AWS_DEFAULT_REGION", "shared config file
   * ~/.aws/config (profile X)", "instance metadata". */
  char source[AWS_CREDS_SOURCE_MAX];
} aws_region_t;

/* configured: NULL or "" when not set. AWS_CREDS_OK with out filled, or
 * AWS_CREDS_FAILED with out zeroed and err saying why (a malformed value
 * names where it came from). Not cached; may block for the metadata
 * calls. */
/* Whether s has the form of a region name: a lowercase letter, then
 * lowercase letters, digits and hyphens, at most AWS_REGION_MAX bytes. */
bool aws_region_name_ok(const char *s);

aws_creds_status_t aws_region_resolve(const aws_creds_config_t *cfg,
                                      const char *configured, aws_region_t *out,
                                      char *err, size_t err_size);

#endif /* SM_AWS_REGION_H */
