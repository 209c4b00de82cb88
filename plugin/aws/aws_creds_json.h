/* SPDX-License-Identifier: MIT */
/*
 * aws_creds_json: the credentials document the container endpoint and
 * instance metadata serve, parsed as it streams in (yajl), with the ISO
 * 8601 times it holds:
 *   {"Code": "Success", "AccessKeyId": ..., "SecretAccessKey": ...,
 *    "Token": ..., "Expiration": "2026-11-26T22:00:00Z", ...}
 * Other members are skipped whatever their value (down to the depth cap);
 * the members named must be strings. Fed in any split, capped at
 * AWS_CREDS_JSON_BODY_MAX bytes. No I/O; the unit test and the fuzz target
 * drive it directly.
 *
 * collectd-free.
 */
#ifndef SM_AWS_CREDS_JSON_H
#define SM_AWS_CREDS_JSON_H 1

#include <stddef.h>
#include <time.h>

#include "aws_creds.h"

/* A document: credentials documents are under 4 KB. */
#define AWS_CREDS_JSON_BODY_MAX (64u * 1024u)
/* Member values (bytes). A longer AccessKeyId, SecretAccessKey or Token is
 * an error. */
#define AWS_CREDS_JSON_KEY_ID_MAX 128u
#define AWS_CREDS_JSON_SECRET_MAX 256u
#define AWS_CREDS_JSON_TOKEN_MAX 8192u
/* Expiration and Code. */
#define AWS_CREDS_JSON_SHORT_MAX 64u
/* Nesting of arrays and objects. */
#define AWS_CREDS_JSON_DEPTH_MAX 16u

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

/* The credentials of a finished document: Code "Success" when present,
 * both keys, every value sendable, an Expiration that parses and is after
 * now. AWS_CREDS_FOUND with out filled, or AWS_CREDS_ERROR with msg
 * starting with what ("container credentials", "instance metadata"); no
 * secret is quoted. */
aws_creds_source_t aws_creds_json_creds(const aws_creds_json_t *j, time_t now,
                                        const char *what, aws_creds_t *out,
                                        char *msg, size_t size);

/* Parses an ISO 8601 / RFC 3339 UTC time as AWS writes it:
 * YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or an offset (+HH:MM,
 * +HHMM). Years 1970..9999. 0 and *out set, or -1. */
int aws_creds_json_time(const char *s, time_t *out);

#endif /* SM_AWS_CREDS_JSON_H */
