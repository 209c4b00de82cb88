/* SPDX-License-Identifier: MIT */
/*
 * aws_text: the few text helpers the credential, region and endpoint
 * modules share: a bounded buffer for small answers and token files,
 * quoting untrusted text for a message, the bytes a key may hold, wiping
 * secrets, and an ISO 8601 time for messages.
 *
 * collectd-free, no I/O.
 */
#ifndef SM_AWS_TEXT_H
#define SM_AWS_TEXT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sm_buf.h"
#include "sm_text.h"

/* The most a bounded buffer holds: an IMDS token, a role list, a region
 * answer, an authorization token file. */
#define AWS_TEXT_BUF_MAX 16384u
/* Untrusted text in a message is cut to this many characters. */
#define AWS_TEXT_QUOTE_MAX 40u
/* Room aws_text_quote() needs: the cut text, "..." and the NUL. */
#define AWS_TEXT_QUOTE_SIZE (AWS_TEXT_QUOTE_MAX + 8u)

/* A text of at most AWS_TEXT_BUF_MAX bytes: the project's buffer
 * (sm_buf.h), wiped when emptied or freed (it may hold a token). */
typedef sm_buf_t aws_text_buf_t;

/* An empty buffer (no allocation yet); aws_text_buf_free when done. */
void aws_text_buf_init(aws_text_buf_t *b);
/* Empties b, wiping what it held. */
void aws_text_buf_reset(aws_text_buf_t *b);
/* Wipes and frees what b holds. */
void aws_text_buf_free(aws_text_buf_t *b);
/* Appends len bytes (ud is an aws_text_buf_t): 0, or -1 when they do not
 * fit (b->over is then set and nothing is appended). Its signature is
 * that of a file or body sink. */
int aws_text_buf_add(void *ud, const char *data, size_t len);
/* The text without leading and trailing blanks and line ends, in place. */
char *aws_text_buf_trimmed(aws_text_buf_t *b);

/* Copies untrusted text for a message: printable ASCII only ('"' and
 * others become '?'), cut to AWS_TEXT_QUOTE_MAX characters and marked
 * "..." when cut. Returns buf. */
const char *aws_text_quote(const char *s, char *buf, size_t size);

/* True when s holds only the bytes a key, a secret, a token or a URL may
 * hold here: printable ASCII without blanks (they go into HTTP headers
 * and the SigV4 string to sign). */
bool aws_text_sendable(const char *s);

/* Wipes and frees a NUL-terminated secret; NULL is fine. */
void aws_text_free_secret(char *s);

/* t as "2026-11-26T22:00:00Z" into buf (at least 21 bytes). */
void aws_text_time(time_t t, char *buf, size_t size);

/* base (without its trailing slashes) followed by path into buf: 0, or
 * -1 when it does not fit. */
int aws_text_join_url(char *buf, size_t size, const char *base,
                      const char *path);

#endif /* SM_AWS_TEXT_H */
