/* SPDX-License-Identifier: MIT */
/*
 * aws_sigv4: AWS Signature Version 4 for one HTTP request, signed in the
 * Authorization header (the form CloudWatch PutMetricData and CloudWatch
 * Logs PutLogEvents take). The sender builds the request, asks this module
 * for the headers to add, and hands them to libcurl unchanged.
 *
 * Deterministic and self-contained: the clock and the credentials are
 * arguments, nothing is read from the environment, there is no static
 * state, so calls from several threads at once are safe. Hashes and HMACs
 * are OpenSSL libcrypto's.
 *
 * Canonicalisation follows the AWS SigV4 test suite (tests/data/sigv4):
 *  - header names are lowercased, values trimmed with inner runs of
 *    whitespace (including obs-fold line breaks) collapsed to one space,
 *    repeated headers joined with "," in the order given, then sorted;
 *  - the path is taken as it appears on the request line; by default dot
 *    segments and empty segments are removed (RFC 3986 5.2.4 plus the
 *    slash collapsing AWS services want) and every byte outside the
 *    unreserved set and "/" is percent-encoded, so a "%20" already on the
 *    wire becomes "%2520": the double encoding all services but S3 expect;
 *  - query parameters are percent-decoded, re-encoded with the unreserved
 *    set (a "+" is a literal plus: encode spaces as %20) and sorted by
 *    encoded name, then encoded value. A parameter without "=" has an
 *    empty value.
 *
 * Presigned URLs (the signature in the query string) are not implemented:
 * nothing in this project sends them.
 *
 * Ownership: every input is borrowed for the duration of aws_sigv4_sign()
 * only. Every output lives in the caller's aws_sigv4_result_t (fixed arrays,
 * or heap blocks it owns) and is released by aws_sigv4_result_free().
 *
 * Secrets: the secret key never appears in any output or error message,
 * and the signing keys derived from it are wiped before aws_sigv4_sign()
 * returns. The session token is a credential too: it is in the
 * X-Amz-Security-Token header and, when signed, in the canonical request;
 * do not log either.
 */
#ifndef SM_AWS_SIGV4_H
#define SM_AWS_SIGV4_H 1

#include <stddef.h>
#include <time.h>

/* Caps on what one request may carry. Real requests are far below them;
 * they keep a bad caller from making the signer allocate without bound. */
#define AWS_SIGV4_MAX_HEADERS 64       /* headers the caller asks to sign */
#define AWS_SIGV4_MAX_QUERY_PARAMS 256 /* parameters in the query string */
#define AWS_SIGV4_MAX_FIELD 16384      /* bytes in any one input string */
#define AWS_SIGV4_MAX_CANONICAL 65536  /* bytes in the canonical request */

/* 64 hex digits of a SHA-256 and a NUL. */
#define AWS_SIGV4_HEX_SIZE 65
/* "YYYYMMDDTHHMMSSZ" and a NUL. */
#define AWS_SIGV4_AMZ_DATE_SIZE 17
#define AWS_SIGV4_ERROR_SIZE 160
/* Host, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256,
 * Authorization. */
#define AWS_SIGV4_OUT_MAX 5

/* aws_sigv4_request_t.flags */
/* Keep "." and ".." segments and repeated slashes in the canonical path
 * (S3, and the suite's "-unnormalized" cases). */
#define AWS_SIGV4_NO_NORMALIZE_PATH (1u << 0)
/* Use the path verbatim instead of percent-encoding it once more (S3,
 * whose canonical path is the path as sent). */
#define AWS_SIGV4_NO_DOUBLE_ENCODE (1u << 1)
/* Also sign and return X-Amz-Content-Sha256 (S3 requires it; harmless
 * elsewhere). */
#define AWS_SIGV4_ADD_CONTENT_SHA256 (1u << 2)
/* Return a Host header too. libcurl makes its own from the URL, which is
 * the same value when the host given here matches the URL. */
#define AWS_SIGV4_ADD_HOST (1u << 3)
/* Send X-Amz-Security-Token without signing it, for the few endpoints
 * that want the token added after signing (the suite's
 * post-sts-header-after case). */
#define AWS_SIGV4_UNSIGNED_TOKEN (1u << 4)
/* Keep the canonical request and string to sign in the result, for tests
 * and diagnostics. */
#define AWS_SIGV4_KEEP_DEBUG (1u << 5)

typedef struct {
  const char *name;
  const char *value;
} aws_sigv4_header_t;

typedef struct {
  const char *access_key_id;     /* required */
  const char *secret_access_key; /* required */
  const char *session_token;     /* NULL or "" when there is none */
} aws_sigv4_credentials_t;

typedef struct {
  const char *method; /* "POST" */
  /* The Host header's value: the host name, with ":port" when the port is
   * not the scheme's default ("127.0.0.1:5000"). Required. */
  const char *host;
  /* The path as it will be on the request line, without the query.
   * NULL or "" means "/"; otherwise it must start with "/". */
  const char *path;
  /* What follows "?" on the request line, without the "?". NULL or "". */
  const char *query;
  /* Headers to sign, each of which the caller also sends with exactly this
   * value. Leave out headers a proxy may change (User-Agent, Expect,
   * Transfer-Encoding) and the ones the signer sets: Host, Authorization,
   * X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256 are refused. */
  const aws_sigv4_header_t *headers;
  size_t header_count;
  /* The exact bytes of the body as sent: the gzipped bytes when the body is
   * compressed. May be NULL when payload_len is 0. */
  const void *payload;
  size_t payload_len;
  const char *region;  /* "us-east-1" */
  const char *service; /* "monitoring", "logs" */
  time_t now;          /* signing time, seconds since the epoch (UTC) */
  unsigned flags;      /* AWS_SIGV4_* above; 0 for CloudWatch */
} aws_sigv4_request_t;

typedef struct {
  const char *name;  /* "Authorization" */
  const char *value; /* "AWS4-HMAC-SHA256 Credential=..." */
  const char *line;  /* "Authorization: AWS4-HMAC-SHA256 ...", for
                        curl_slist_append() */
} aws_sigv4_out_header_t;

typedef struct {
  /* The headers to add to the request, in this order: Host (with
   * AWS_SIGV4_ADD_HOST), X-Amz-Date, X-Amz-Security-Token (with a token),
   * X-Amz-Content-Sha256 (with AWS_SIGV4_ADD_CONTENT_SHA256), Authorization.
   * The strings belong to the result. */
  aws_sigv4_out_header_t headers[AWS_SIGV4_OUT_MAX];
  size_t header_count;

  char amz_date[AWS_SIGV4_AMZ_DATE_SIZE]; /* "20150830T123600Z" */
  char payload_hash[AWS_SIGV4_HEX_SIZE];  /* hex SHA-256 of the payload */
  char signature[AWS_SIGV4_HEX_SIZE];     /* hex HMAC-SHA256 */
  char *canonical_request;          /* with AWS_SIGV4_KEEP_DEBUG, else NULL */
  char *string_to_sign;             /* with AWS_SIGV4_KEEP_DEBUG, else NULL */
  char error[AWS_SIGV4_ERROR_SIZE]; /* why aws_sigv4_sign() failed, or "" */

  char *storage_; /* private: the block the header strings live in */
} aws_sigv4_result_t;

/* Signs req with creds. Returns 0 and fills res, or returns -1 with a
 * short reason in res->error (which names the field at fault, never a
 * credential) and no headers. Either way res is fully (re)initialised on
 * entry, so it must not hold the strings of an earlier call: free those
 * first. Release it with aws_sigv4_result_free(). A NULL req or creds is
 * refused like any bad input; with a NULL res, -1 is all one gets. */
int aws_sigv4_sign(const aws_sigv4_request_t *req,
                   const aws_sigv4_credentials_t *creds,
                   aws_sigv4_result_t *res);

/* Frees what aws_sigv4_sign() allocated in res and empties it. Safe on a
 * result from a failed call, and twice in a row. NULL is a no-op. */
void aws_sigv4_result_free(aws_sigv4_result_t *res);

/* The value of the returned header named name (ASCII case-insensitive),
 * or NULL. The string belongs to res. */
const char *aws_sigv4_result_header(const aws_sigv4_result_t *res,
                                    const char *name);

#endif /* SM_AWS_SIGV4_H */
