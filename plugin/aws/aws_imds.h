/* SPDX-License-Identifier: MIT */
/*
 * aws_imds: a client of the EC2 instance metadata service, IMDSv2: a
 * session token first (PUT /latest/api/token with the TTL header), then
 * GETs that carry it. IMDSv1 (GETs without a token) only when the
 * configuration allows it and the token PUT failed other than with HTTP
 * 400, as the SDKs do.
 *
 * The base URL, the timeout and the fallback come from an
 * aws_creds_config_t (imds_url, timeout_ms, imds_v1_fallback); requests
 * go through aws_http_request(), never through a proxy. Answers are
 * capped. Messages start with "instance metadata: " and name the request
 * ("PUT /latest/api/token: HTTP 403"); the token is never shown.
 *
 * collectd-free. An aws_imds_t is used by one thread at a time.
 */
#ifndef SM_AWS_IMDS_H
#define SM_AWS_IMDS_H 1

#include <stdbool.h>
#include <stddef.h>

#include "aws_creds.h"

#define AWS_IMDS_TOKEN_PATH "/latest/api/token"
/* The session token lifetime asked for (the maximum). */
#define AWS_IMDS_TOKEN_TTL_S 21600
/* Any answer's body. */
#define AWS_IMDS_BODY_MAX (64u * 1024u)

/* AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool aws_imds_disabled(const aws_creds_config_t *cfg);

typedef struct aws_imds_s aws_imds_t;

/* Copies what it needs from cfg (defaults filled in). NULL when memory
 * runs out. No I/O: the token is fetched by the first GET. */
aws_imds_t *aws_imds_create(const aws_creds_config_t *cfg);
/* Wipes the token. */
void aws_imds_destroy(aws_imds_t *m);

/* Takes the next piece of a 200 answer's body; 0 to go on, non-zero to
 * stop the transfer. */
typedef int (*aws_imds_sink_t)(void *ud, const char *data, size_t len);

/* GET path (starting with '/'), the token fetched first if not yet. 0 when
 * a 200 answer came whole into sink; 1 when the sink stopped it (its own
 * state says why); -1 with msg (no token, no answer, another status, an
 * answer over AWS_IMDS_BODY_MAX). */
int aws_imds_fetch(aws_imds_t *m, const char *path, aws_imds_sink_t sink,
                   void *ud, char *msg, size_t size);

/* GET path into out, without surrounding blanks: 0, or -1 with msg (as
 * aws_imds_fetch, or an answer that is empty, not sendable or longer than
 * out_size - 1 bytes). */
int aws_imds_get_text(aws_imds_t *m, const char *path, char *out,
                      size_t out_size, char *msg, size_t size);

/* One value in one call: aws_imds_create, aws_imds_get_text, destroy. Says
 * so when AWS_EC2_METADATA_DISABLED is true. 0, or -1 with err. */
int aws_imds_get(const aws_creds_config_t *cfg, const char *path, char *out,
                 size_t out_size, char *err, size_t err_size);

#endif /* SM_AWS_IMDS_H */
