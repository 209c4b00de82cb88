/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_file: the chain's second provider, the shared files: the
 * profile's aws_access_key_id, aws_secret_access_key and
 * aws_session_token in the shared credentials file, then in the shared
 * config file (aws_profile_file.h says which profile and files). A
 * malformed file, half a pair, an explicitly named profile that is in
 * neither file, or a profile that only names an unsupported source
 * (role_arn, sso_*, ...) is an error. collectd-free.
 */
#ifndef SM_AWS_CREDS_FILE_H
#define SM_AWS_CREDS_FILE_H 1

#include "aws_creds.h"

/* An aws_creds_fetch_fn. */
aws_creds_source_t aws_creds_file_fetch(const aws_creds_config_t *c,
                                        aws_creds_t *out, char *msg,
                                        size_t size);

#endif /* SM_AWS_CREDS_FILE_H */
