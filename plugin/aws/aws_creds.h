/* SPDX-License-Identifier: MIT */
/*
 * aws_creds: AWS credentials for the plugins that call AWS, found the way
 * the AWS CLI and SDKs find them, cached and refreshed. This file is the
 * chain and its cache; each provider has its own file (aws_creds_env.c,
 * aws_creds_file.c, aws_creds_container.c, aws_creds_imds.c), the
 * credentials document their own (aws_creds_json.c).
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
 * address (as the SDKs require), never through a proxy, all through
 * aws_http_request(). Every call has a connect and a total timeout;
 * bodies, files and lines have caps.
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
/* Provider and source names in aws_creds_t and aws_region_t. */
#define AWS_CREDS_SOURCE_MAX 256u

/* Returns the value of an environment variable, or NULL when unset. */
typedef const char *(*aws_getenv_fn)(void *ud, const char *name);
/* Returns the current time (seconds since the epoch). */
typedef time_t (*aws_clock_fn)(void *ud);

/* What production passes: getenv(3) and time(2). ud is unused. */
const char *aws_creds_process_getenv(void *ud, const char *name);
time_t aws_creds_system_clock(void *ud);

/* Where the credentials, the region (aws_region.h), instance metadata
 * (aws_imds.h) and the endpoints (aws_endpoint.h) are looked for. */
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
   * until out->expiration (0: static ones): use them. err says why the
   * refresh failed, once per streak of failed refreshes: on the first
   * aws_creds_get() after the first failure; "" on the later calls while
   * the refreshes keep failing. Log err when it is not "". */
  AWS_CREDS_KEPT,
  /* No valid credentials; out is zeroed and err says why: the error of the
   * source that failed, or what each source said when none had any.
   * Credentials past their expiration are never handed out. Said on every
   * call. */
  AWS_CREDS_FAILED,
  /* Fresh credentials from the first successful refresh after a streak of
   * failed ones (KEPT or FAILED): use them as with AWS_CREDS_OK, and log
   * err, which says they work again and after how many failed refreshes.
   * Returned once per streak. */
  AWS_CREDS_RECOVERED,
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

/*
 * The providers' side: what the chain asks of each provider, and the
 * helpers they share.
 */

typedef enum {
  AWS_CREDS_FOUND,  /* out filled */
  AWS_CREDS_ABSENT, /* not configured there: msg says so; try the next */
  AWS_CREDS_ERROR,  /* configured but failed: msg says why; the chain ends */
} aws_creds_source_t;

/* A provider (a function of this type): c has its defaults filled in
 * (aws_creds_config_defaults). */
typedef aws_creds_source_t aws_creds_fetch_fn(const aws_creds_config_t *c,
                                              aws_creds_t *out, char *msg,
                                              size_t size);

/* in with the defaults filled in; the strings still point into in. */
void aws_creds_config_defaults(const aws_creds_config_t *in,
                               aws_creds_config_t *out);
/* An environment variable, NULL when unset or empty. */
const char *aws_creds_getenv(const aws_creds_config_t *c, const char *name);
/* Fills out with copies (token NULL or "": none). 0, or -1 when memory
 * runs out (out is then cleared). */
int aws_creds_set(aws_creds_t *out, const char *id, const char *secret,
                  const char *token, time_t expiration);

#endif /* SM_AWS_CREDS_H */
