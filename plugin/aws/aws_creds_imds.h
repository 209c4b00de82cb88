/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_imds: the chain's last provider, the instance profile's role
 * credentials from EC2 instance metadata (aws_imds.h): the role's name
 * from /latest/meta-data/iam/security-credentials/, then its credentials
 * document (aws_creds_json.h). Skipped when AWS_EC2_METADATA_DISABLED is
 * "true". collectd-free.
 */
#ifndef SM_AWS_CREDS_IMDS_H
#define SM_AWS_CREDS_IMDS_H 1

#include "aws_creds.h"

/* An aws_creds_fetch_fn. */
aws_creds_source_t aws_creds_imds_fetch(const aws_creds_config_t *c,
                                        aws_creds_t *out, char *msg,
                                        size_t size);

#endif /* SM_AWS_CREDS_IMDS_H */
