/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_provider: the providers the chain (aws_creds.h) runs, in its
 * order, one file each. Each is an aws_creds_fetch_fn: it fills out, or
 * says in msg why not (AWS_CREDS_ABSENT when it has nothing to offer).
 * collectd-free.
 */
#ifndef SM_AWS_CREDS_PROVIDER_H
#define SM_AWS_CREDS_PROVIDER_H 1

#include "aws_creds.h"

/* aws_creds_env.c: the environment: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and, optional, AWS_SESSION_TOKEN. Half a pair is
 * an error. */
aws_creds_fetch_fn aws_creds_env_fetch;

/* aws_creds_file.c: the shared files: the profile's aws_access_key_id,
 * aws_secret_access_key and aws_session_token in the shared credentials
 * file, then in the shared config file (aws_profile_file.h says which
 * profile and files). A malformed file, half a pair, an explicitly named
 * profile that is in neither file, or a profile that only names an
 * unsupported source (role_arn, sso_*, ...) is an error. */
aws_creds_fetch_fn aws_creds_file_fetch;

/* aws_creds_container.c: the container credentials endpoint (ECS, EKS Pod
 * Identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under the container
 * base URL, or AWS_CONTAINER_CREDENTIALS_FULL_URI, which must be https or
 * name a loopback or container-agent address (the SDKs' rule: the
 * authorization token must not leave the host).
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's content (read on every fetch) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN is sent as Authorization. The answer is
 * a credentials document (aws_creds_json.h). */
aws_creds_fetch_fn aws_creds_container_fetch;

/* aws_creds_imds.c: the instance profile's role credentials from EC2
 * instance metadata (aws_imds.h): the role's name from
 * /latest/meta-data/iam/security-credentials/, then its credentials
 * document (aws_creds_json.h). Skipped when AWS_EC2_METADATA_DISABLED is
 * "true". */
aws_creds_fetch_fn aws_creds_imds_fetch;

#endif /* SM_AWS_CREDS_PROVIDER_H */
