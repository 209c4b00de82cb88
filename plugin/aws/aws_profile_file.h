/* SPDX-License-Identifier: MIT */
/*
 * aws_profile_file: which profile, which shared file, and that file read
 * through the aws_profile parser: what the credential chain, the region
 * and the endpoint lookups share.
 *
 * The profile is the configured one (aws_creds_config_t.profile), else
 * AWS_PROFILE, else "default". The files are AWS_SHARED_CREDENTIALS_FILE
 * (default ~/.aws/credentials) and AWS_CONFIG_FILE (default
 * ~/.aws/config); "~/" in a variable is the home directory. Messages name
 * a file as the user wrote it, or "~/.aws/config" for a default.
 *
 * collectd-free.
 */
#ifndef SM_AWS_PROFILE_FILE_H
#define SM_AWS_PROFILE_FILE_H 1

#include <stddef.h>

#include "aws_creds.h"
#include "aws_file.h"
#include "aws_profile.h"

/* Room for a file path and for its shown form. */
#define AWS_PROFILE_FILE_PATH_MAX 4096u

/* The profile to use. *origin says where its name came from: "the Profile
 * option", "AWS_PROFILE", or "" for the default. */
const char *aws_profile_file_name(const aws_creds_config_t *c,
                                  const char **origin);

/* Reads the file of that kind for profile into *parser (created here; the
 * caller destroys it). shown (AWS_PROFILE_FILE_PATH_MAX bytes) receives
 * the file's name for messages. AWS_FILE_READ: the parse is finished and
 * its result ready; AWS_FILE_ABSENT: no such file, or no home for a
 * default path (*parser NULL); AWS_FILE_ERROR: msg says what, with the
 * file and line (*parser NULL). */
aws_file_rc_t aws_profile_file_load(const aws_creds_config_t *c,
                                    aws_profile_kind_t kind,
                                    const char *profile,
                                    aws_profile_parser_t **parser, char *shown,
                                    char *msg, size_t size);

#endif /* SM_AWS_PROFILE_FILE_H */
