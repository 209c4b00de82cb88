/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_container: the chain's third provider, the container
 * credentials endpoint (ECS, EKS Pod Identity):
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under the container base URL, or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, which must be https or name a
 * loopback or container-agent address (the SDKs' rule: the authorization
 * token must not leave the host). AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's
 * content (read on every fetch) or AWS_CONTAINER_AUTHORIZATION_TOKEN is
 * sent as Authorization. The answer is a credentials document
 * (aws_creds_json.h). collectd-free.
 */
#ifndef SM_AWS_CREDS_CONTAINER_H
#define SM_AWS_CREDS_CONTAINER_H 1

#include "aws_creds.h"

/* An aws_creds_fetch_fn. */
aws_creds_source_t aws_creds_container_fetch(const aws_creds_config_t *c,
                                             aws_creds_t *out, char *msg,
                                             size_t size);

#endif /* SM_AWS_CREDS_CONTAINER_H */
