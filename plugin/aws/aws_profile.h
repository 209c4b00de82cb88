/* SPDX-License-Identifier: MIT */
/*
 * aws_profile: a streaming parser for the AWS shared credentials file
 * (~/.aws/credentials) and the shared config file (~/.aws/config), which
 * picks out one profile's credentials, region and endpoint settings, and
 * the endpoint URLs of the config file's "[services NAME]" sections.
 *
 * The syntax is the INI dialect the AWS CLI reads (Python's configparser):
 *   - "[name]" opens a section; in the config file a profile is
 *     "[profile name]", except "[default]" ("[profile default]" works too);
 *     in the credentials file the section name is the profile name.
 *     Whitespace inside the brackets is ignored; names are case-sensitive.
 *   - "key = value" or "key: value"; keys are case-insensitive; whitespace
 *     around keys and values is dropped; an empty value counts as absent.
 *   - Lines starting with '#' or ';' are comments. A '#' or ';' preceded by
 *     whitespace starts a comment inside a value or after "]" (the CLI keeps
 *     such text in a value, but no key or token contains it).
 *   - An indented line after a "key =" line continues that key's value (the
 *     CLI's nested settings, "s3 =\n  max_concurrent_requests = 10"); it is
 *     skipped, except in a services section (config file only):
 *         [profile dev]
 *         services = local
 *         [services local]
 *         cloudwatch =
 *           endpoint_url = http://localhost:5000
 *     where a key with an empty value opens a service's sub-section (the
 *     key is the service's SDK ID lowercased, spaces as underscores) and
 *     each indented line under it must be "key = value" (the SDKs and Tools
 *     reference guide, "Service-specific endpoints"; the AWS CLI's
 *     configured-endpoint tests use the same layout).
 * A line the CLI would refuse is an error anywhere in the file, naming the
 * line: the CLI refuses the whole file too. A later value of a key in the
 * same profile replaces an earlier one.
 *
 * Bytes are fed as they come (any split), the parser never does I/O, and
 * neither error messages nor anything else it reports quote a line's
 * content, so a secret on a malformed line stays out of the logs.
 *
 * collectd-free; the unit test and the fuzz target drive it directly.
 */
#ifndef SM_AWS_PROFILE_H
#define SM_AWS_PROFILE_H 1

#include <stdbool.h>
#include <stddef.h>

/* Limits. The CLI has none; these are far above any real file. A file over
 * the byte cap, or a line over the line cap, is an error. */
#define AWS_PROFILE_FILE_MAX (1024u * 1024u)
#define AWS_PROFILE_LINE_MAX 8192u
/* The longest profile name asked for. */
#define AWS_PROFILE_NAME_MAX 128u
/* Service sub-sections kept from all services sections of a file. */
#define AWS_PROFILE_SERVICE_URLS_MAX 256u

typedef enum {
  AWS_PROFILE_CREDENTIALS_FILE, /* sections are "[name]" */
  AWS_PROFILE_CONFIG_FILE,      /* sections are "[profile name]", "[default]" */
} aws_profile_kind_t;

/* A setting and the line it was on (for messages); value NULL when absent
 * or empty. */
typedef struct {
  char *value;
  unsigned line;
} aws_profile_value_t;

/* What the parser found for the profile asked for. Strings are NUL-
 * terminated, owned by the parser and NULL when absent or empty. */
typedef struct {
  bool found; /* the profile's section is in the file */
  char *access_key_id;
  char *secret_access_key;
  char *session_token;
  char *region;
  /* The first key of the profile that names a way of getting credentials
   * this module does not implement (role_arn, credential_process, sso_*,
   * web_identity_token_file); "" when none. Used to explain a profile
   * without keys. */
  char unsupported[32];
  /* Endpoint settings (config file; see aws_endpoint.h), as written. */
  aws_profile_value_t endpoint_url;
  aws_profile_value_t services; /* the name of a [services NAME] section */
  aws_profile_value_t ignore_configured_endpoint_urls;
  aws_profile_value_t use_fips_endpoint;
  aws_profile_value_t use_dualstack_endpoint;
} aws_profile_t;

typedef struct aws_profile_parser_s aws_profile_parser_t;

/* profile: the name wanted (1..AWS_PROFILE_NAME_MAX bytes, no NUL). Returns
 * NULL when the name is out of bounds or memory runs out. */
aws_profile_parser_t *aws_profile_parser_create(aws_profile_kind_t kind,
                                                const char *profile);
void aws_profile_parser_destroy(aws_profile_parser_t *p);

/* Feeds the next len bytes of the file. 0 on success, -1 once the file is
 * known to be malformed (see aws_profile_parser_error); later calls then
 * return -1 at once. */
int aws_profile_parser_feed(aws_profile_parser_t *p, const char *data,
                            size_t len);

/* Ends the file (a last line needs no newline). 0 when the whole file was
 * well-formed, -1 otherwise. Calling it again returns the same. */
int aws_profile_parser_finish(aws_profile_parser_t *p);

/* "" while all is well, else what failed and on which line, for example
 * "line 7: expected key = value". Owned by the parser. */
const char *aws_profile_parser_error(const aws_profile_parser_t *p);

/* The profile found; meaningful after aws_profile_parser_finish() returned
 * 0. Owned by the parser, valid until it is destroyed. */
const aws_profile_t *aws_profile_parser_result(const aws_profile_parser_t *p);

/* The endpoint_url of sub-section service (e.g. "cloudwatch_logs", case
 * ignored) in the services section the profile names with "services =",
 * the last one when repeated; NULL when the profile names none or that
 * section has no such URL. Meaningful after a successful finish; owned by
 * the parser. */
const aws_profile_value_t *
aws_profile_parser_service_url(const aws_profile_parser_t *p,
                               const char *service);

#endif /* SM_AWS_PROFILE_H */
