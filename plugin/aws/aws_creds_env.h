/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_env: the chain's first provider, the environment:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, optional,
 * AWS_SESSION_TOKEN. Half a pair is an error. collectd-free.
 */
#ifndef SM_AWS_CREDS_ENV_H
#define SM_AWS_CREDS_ENV_H 1

#include "aws_creds.h"

/* An aws_creds_fetch_fn. */
aws_creds_source_t aws_creds_env_fetch(const aws_creds_config_t *c,
                                       aws_creds_t *out, char *msg,
                                       size_t size);

#endif /* SM_AWS_CREDS_ENV_H */
