/* SPDX-License-Identifier: MIT */
/*
 * aws_creds: AWS credentials and region for the plugins that call AWS,
 * found the way the AWS CLI and SDKs find them, cached and refreshed.
 *
 * The chain, first match wins:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, optional,
 *      AWS_SESSION_TOKEN;
 *   2. shared files: the profile (aws_creds_config_t.profile, else
 *      AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE (default
 *      ~/.aws/credentials), then in AWS_CONFIG_FILE (default ~/.aws/config);
 *      see aws_profile.h for the syntax;
 *   3. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (under the container
 *      base URL) or AWS_CONTAINER_CREDENTIALS_FULL_URI, sending
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's content (read on every
 *      fetch) or AWS_CONTAINER_AUTHORIZATION_TOKEN as Authorization;
 *   4. EC2 instance metadata, IMDSv2 (a session token first), unless
 *      AWS_EC2_METADATA_DISABLED is "true". IMDSv1 only when the config
 *      allows it, after the token PUT failed other than with HTTP 400.
 * A source that is configured but fails (a malformed file, half of a key
 * pair, a container endpoint that errs) ends the search with its error, as
 * the CLI does, rather than falling through to another identity. An
 * explicitly named profile (config or AWS_PROFILE) that is in neither file
 * is such an error; a missing "default" profile is not.
 *
 * Unlike botocore, the environment comes first even when a profile is named:
 * that is the order AWS documents for the chain, and environment variables
 * are what a service unit sets on purpose.
 *
 * Everything from outside is passed in: the environment (a getenv-like
 * function), the home directory, the endpoints, the clock. The only network
 * calls go to the IMDS base URL, the container base URL and a container
 * full URI, which must be https or name a loopback or container-agent
 * address (as the SDKs require), never through a proxy. Every call has a
 * connect and a total timeout; bodies, files and lines have caps.
 *
 * Messages name what failed and where ("~/.aws/credentials line 7: expected
 * key = value", "instance metadata: PUT /latest/api/token: HTTP 403"). No
 * message ever contains a secret key, a session token or an authorization
 * token: values read from files or answers are never quoted, except an
 * Expiration or Code member, a region or a URI's host, cut to 40 printable
 * characters, and profile and role names. A container's relative URI (the
 * task's key to its credentials) is not shown either, only its origin.
 *
 * collectd-free. curl_global_init() is the caller's, before the first call.
 */
#ifndef SM_AWS_CREDS_H
#define SM_AWS_CREDS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AWS_CREDS_DEFAULT_IMDS_URL "http://169.254.169.254"
#define AWS_CREDS_DEFAULT_CONTAINER_URL "http://169.254.170.2"
/* The SDKs' default metadata timeout. */
#define AWS_CREDS_DEFAULT_TIMEOUT_MS 1000L
/* Refresh when less than this remains (botocore's advisory refresh is 15
 * minutes, its mandatory refresh 10; metadata credentials live hours). */
#define AWS_CREDS_DEFAULT_REFRESH_WINDOW_S 300
/* After a refresh that failed, or that brought credentials already inside
 * the window, the next attempt waits this long while the cached credentials
 * are still valid, so that a dead endpoint is not asked on every call. An
 * invalidation does not wait. */
#define AWS_CREDS_RETRY_INTERVAL_S 10
/* IMDSv2 session token lifetime asked for (the maximum). */
#define AWS_CREDS_IMDS_TOKEN_TTL_S 21600

/* Caps. HTTP bodies: credentials documents are under 4 KB. */
#define AWS_CREDS_HTTP_BODY_MAX (64u * 1024u)
/* Member values of a credentials document (bytes). A longer AccessKeyId,
 * SecretAccessKey or Token is an error. */
#define AWS_CREDS_KEY_ID_MAX 128u
#define AWS_CREDS_SECRET_MAX 256u
#define AWS_CREDS_TOKEN_MAX 8192u
/* Nesting of JSON arrays and objects in a credentials document. */
#define AWS_CREDS_JSON_DEPTH_MAX 16u
/* Authorization token file, IMDS token, role name list, region answer. */
#define AWS_CREDS_SMALL_MAX 16384u
/* Region names ("us-east-1", "ap-southeast-2", ...). */
#define AWS_REGION_MAX 32u
/* Provider and source names in aws_creds_t and aws_region_t. */
#define AWS_CREDS_SOURCE_MAX 256u

/* Returns the value of an environment variable, or NULL when unset. */
typedef const char *(*aws_getenv_fn)(void *ud, const char *name);
/* Returns the current time (seconds since the epoch). */
typedef time_t (*aws_clock_fn)(void *ud);

/* What production passes: getenv(3) and time(2). ud is unused. */
const char *aws_creds_process_getenv(void *ud, const char *name);
time_t aws_creds_system_clock(void *ud);

typedef struct {
  aws_getenv_fn getenv_fn; /* required */
  void *getenv_ud;
  aws_clock_fn clock_fn; /* required */
  void *clock_ud;
  /* Base URLs without a trailing path: NULL for the defaults above. */
  const char *imds_url;
  const char *container_url;
  /* For the default file paths and "~/" in AWS_*_FILE; NULL: no home, the
   * default files are not looked at. */
  const char *home_dir;
  /* The plugin's Profile option; NULL or "" for AWS_PROFILE or "default". */
  const char *profile;
  long timeout_ms;       /* per HTTP request, connect and total; 0: default */
  long refresh_window_s; /* 0: default; negative: refresh only when expired */
  bool imds_v1_fallback; /* allow IMDSv1 when the token PUT fails */
} aws_creds_config_t;

/* Credentials handed to a caller: its own copy. */
typedef struct {
  char *access_key_id;     /* NUL-terminated */
  char *secret_access_key; /* NUL-terminated */
  char *session_token;     /* NULL when there is none */
  time_t expiration;       /* 0 when they do not expire */
  /* Who supplied them, for logs: "environment", "shared credentials file
   * (profile X)", "shared config file (profile X)", "container", "instance
   * metadata (role R)". */
  char provider[AWS_CREDS_SOURCE_MAX];
  /* Changes whenever the cached credentials are replaced; see
   * aws_creds_invalidate(). */
  uint64_t generation;
} aws_creds_t;

/* Frees what c holds (wiping the secrets) and zeroes it; c itself is the
 * caller's. Harmless on a zeroed or already cleared struct. */
void aws_creds_clear(aws_creds_t *c);

typedef enum {
  /* Credentials fresh from a provider or from the cache; err is "". */
  AWS_CREDS_OK = 0,
  /* A refresh failed and these are the cached credentials, still valid
   * until out->expiration (0: static ones): use them, and log err, which
   * says why the refresh failed. */
  AWS_CREDS_KEPT,
  /* No valid credentials; out is zeroed and err says why: the error of the
   * source that failed, or what each source said when none had any.
   * Credentials past their expiration are never handed out. */
  AWS_CREDS_FAILED,
} aws_creds_status_t;

typedef struct aws_creds_provider_s aws_creds_provider_t;

/* Copies what it needs from cfg. NULL when getenv_fn or clock_fn is missing
 * or memory runs out. No I/O until the first aws_creds_get(). */
aws_creds_provider_t *aws_creds_provider_create(const aws_creds_config_t *cfg);
/* No aws_creds_get() may be running. */
void aws_creds_provider_destroy(aws_creds_provider_t *p);

/* Fills out, which the caller then owns (see aws_creds_clear(); what out
 * held before is overwritten, not freed), with the cached credentials,
 * refreshing them first through the chain when there are none, when they
 * are inside the refresh window or expired, or after
 * aws_creds_invalidate(). Thread-safe: one caller refreshes at a time; the
 * others get the cached credentials while they are valid, or wait for the
 * refresh and share its outcome. err (may be NULL) receives a message,
 * "" on AWS_CREDS_OK. May block for the HTTP calls of a refresh. */
aws_creds_status_t aws_creds_get(aws_creds_provider_t *p, aws_creds_t *out,
                                 char *err, size_t err_size);

/* Says AWS refused these credentials (an expired or invalid token): the
 * next aws_creds_get() refreshes, without waiting for the retry interval.
 * When rejected is not NULL and the cache has been replaced since it was
 * handed out (another thread already refreshed), nothing happens, so that
 * several senders rejecting the same credentials cause one refresh. */
void aws_creds_invalidate(aws_creds_provider_t *p, const aws_creds_t *rejected);

/* The region: configured (the plugin's Region option; NULL or "" when not
 * set) > AWS_REGION > AWS_DEFAULT_REGION > "region" of the profile in the
 * config file > IMDSv2 /latest/meta-data/placement/region (unless
 * AWS_EC2_METADATA_DISABLED). */
typedef struct {
  char name[AWS_REGION_MAX + 1];
  /* "configuration", "AWS_REGION", "AWS_DEFAULT_REGION", "shared config file
   * ~/.aws/config (profile X)", "instance metadata". */
  char source[AWS_CREDS_SOURCE_MAX];
} aws_region_t;

/* AWS_CREDS_OK with out filled, or AWS_CREDS_FAILED with out zeroed and err
 * saying why (a malformed value names where it came from). Not cached. */
aws_creds_status_t aws_region_resolve(const aws_creds_config_t *cfg,
                                      const char *configured, aws_region_t *out,
                                      char *err, size_t err_size);

/*
 * The parsers under the providers, exported for the unit test and the fuzz
 * target. They never do I/O.
 */

/* A credentials document, as the container endpoint and IMDS serve it:
 * {"Code": "Success", "AccessKeyId": ..., "SecretAccessKey": ...,
 *  "Token": ..., "Expiration": "2026-11-26T22:00:00Z", ...}. Other members
 * are skipped whatever their value (down to the depth cap); the members
 * named must be strings. Fed in any split, capped at AWS_CREDS_HTTP_BODY_MAX
 * bytes. */
/* One instance-metadata value (IMDSv2: token, then GET path, e.g.
 * "/latest/meta-data/instance-id"), trimmed, into out. 0, or -1 with a
 * message (IMDS disabled, unreachable, an answer that does not fit). */
int aws_imds_get(const aws_creds_config_t *cfg, const char *path, char *out,
                 size_t out_size, char *err, size_t err_size);

typedef enum {
  AWS_CREDS_JSON_ACCESS_KEY_ID,
  AWS_CREDS_JSON_SECRET_ACCESS_KEY,
  AWS_CREDS_JSON_TOKEN,
  AWS_CREDS_JSON_EXPIRATION,
  AWS_CREDS_JSON_CODE,
  AWS_CREDS_JSON_FIELD_COUNT
} aws_creds_json_field_t;

typedef struct aws_creds_json_s aws_creds_json_t;

aws_creds_json_t *aws_creds_json_create(void); /* NULL: out of memory */
void aws_creds_json_destroy(aws_creds_json_t *j);
/* 0, or -1 once the document is known to be bad (then -1 at once). */
int aws_creds_json_feed(aws_creds_json_t *j, const char *data, size_t len);
/* 0 when the whole document was a well-formed object within the caps. */
int aws_creds_json_finish(aws_creds_json_t *j);
/* "" or what was wrong ("not valid JSON", "\"Token\" is not a string"). */
const char *aws_creds_json_error(const aws_creds_json_t *j);
/* A member's value after a successful finish; NULL when absent. Owned by
 * the parser. */
const char *aws_creds_json_get(const aws_creds_json_t *j,
                               aws_creds_json_field_t f);

/* Parses an ISO 8601 / RFC 3339 UTC time as AWS writes it:
 * YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or an offset (+HH:MM,
 * +HHMM). Years 1970..9999. 0 and *out set, or -1. */
int aws_iso8601_parse(const char *s, time_t *out);

#endif /* SM_AWS_CREDS_H */
