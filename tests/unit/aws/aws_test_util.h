/* SPDX-License-Identifier: MIT */
/*
 * aws_test_util.h: what the aws layer's unit tests share. The secrets
 * their credentials are made of, and clean(), which looks for them in a
 * message (none may ever appear in one); the CLI's credentials and config
 * files that test_aws_profile.c parses and test_aws_creds.c reads through
 * the file provider; an injected environment; utc().
 */
#ifndef SM_TESTS_AWS_TEST_UTIL_H
#define SM_TESTS_AWS_TEST_UTIL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tap.h"

/* ---- secrets: none may ever appear in a message ---- */

#define ENV_ID "AKIAENVEXAMPLE7Q2XZA"
#define ENV_SECRET "envSECRETwJalrXUtnFEMI/K7MDENG/bPxRfiCY"
#define ENV_TOKEN "envTOKENIQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"
#define FILE_ID "AKIAFILEEXAMPLE4R7TQ"
#define FILE_SECRET "fileSECRETnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"
#define FILE_TOKEN "fileTOKENFwoGZXIvYXdzEBYaDHpvdWQzbm5pcXRpbGVyCzqKIEXAMPLE"
#define DEV_ID "AKIADEVEXAMPLE000DEV"
#define DEV_SECRET "devSECRETwJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define CONF_ID "AKIACONFEXAMPLE00CNF"
#define CONF_SECRET "confSECRETalrXUtnFEMI/K7MDENG/bPxRfiCYx"
#define CT_ID "ASIACONTAINEREXAMPLE"
#define CT_SECRET "ctSECRETXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE1"
#define CT_TOKEN "ctTOKENIQoJb3JpZ2luX2VjENr//////////wEaCXVzLWVhc3QtMiJG"
#define CT_AUTH "ctAUTHtokenZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklq"
#define CT_AUTH2 "ctAUTH2tokenSTVXpJMU5pSXNJbXRwWkNJNklqRXhNakl6"
#define IMDS_ID "ASIAIMDSEXAMPLE00001"
#define IMDS_SECRET "imdsSECRETtnFEMI/K7MDENG/bPxRfiCYEXAMPLE"
#define IMDS_TOKEN "imdsTOKENIQoJb3JpZ2luX2VjEPv//////////wEaCXVzLWVhc3QtMSJI"
#define IMDS2_ID "ASIAIMDSEXAMPLE00002"
#define IMDS2_SECRET "imds2SECRETnFEMI/K7MDENG/bPxRfiCYEXAMPLE"
#define IMDS2_TOKEN "imds2TOKENIQoJb3JpZ2luX2VjEPv//////////wEaCXVzLWVhc3Qt"
#define SESSION "AQAEAFdpbmRvd3NfSU1EU3YyX3Rva2VuX2V4YW1wbGU="

/* How many messages clean() looked at, and how many held a secret. */
static int clean_checked;
static int clean_leaking;

/* True when msg holds none of the secrets (nor a 12-byte piece of one). */
static inline bool clean(const char *msg) {
  static const char *const secrets[] = {
      ENV_ID,   ENV_SECRET,   ENV_TOKEN,   FILE_ID,     FILE_SECRET, FILE_TOKEN,
      DEV_ID,   DEV_SECRET,   CONF_ID,     CONF_SECRET, CT_ID,       CT_SECRET,
      CT_TOKEN, CT_AUTH,      CT_AUTH2,    IMDS_ID,     IMDS_SECRET, IMDS_TOKEN,
      IMDS2_ID, IMDS2_SECRET, IMDS2_TOKEN, SESSION,
  };
  clean_checked++;
  for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
    const char *s = secrets[i];
    size_t n = strlen(s);
    for (size_t off = 0; off + 12 <= n; off++) {
      char piece[13];
      memcpy(piece, s + off, 12);
      piece[12] = '\0';
      if (strstr(msg, piece) != NULL) {
        clean_leaking++;
        return false;
      }
    }
  }
  return true;
}

/* ---- the CLI's files ---- */

/* Comments, CRLF line ends, odd spacing and key case, a nested s3
 * section, "[profile dev]" (another section than [dev] in this file), a
 * second [default] and no final newline. */
static const char CREDS_FILE[] =
    "# the CLI's credentials file\r\n"
    "[default]\r\n"
    "aws_access_key_id = " FILE_ID "\r\n"
    "AWS_Secret_Access_Key=" FILE_SECRET "   \r\n"
    "aws_session_token   :   " FILE_TOKEN " # inline comment\r\n"
    "\r\n"
    "; another comment\n"
    "[dev]   ; comment after the header\n"
    "aws_access_key_id=" DEV_ID "\n"
    "aws_secret_access_key=" DEV_SECRET "\n"
    "s3 =\n"
    "    max_concurrent_requests = 10\n"
    "    aws_access_key_id = NOT-A-KEY\n"
    "[ spaced ]\n"
    "aws_access_key_id = S\n"
    "aws_secret_access_key = T\n"
    "[profile dev]\n"
    "aws_access_key_id = WRONG\n"
    "[default]\n"
    "region = eu-west-1"; /* no final newline */

/* In the config file the profile dev is "[profile dev]", not "[dev]";
 * "[profile default]" and "[default]" are the same profile. */
static const char CONFIG_FILE[] = "[default]\n"
                                  "region = us-west-2\n"
                                  "output = json\n"
                                  "[dev]\n"
                                  "region = wrong-1\n"
                                  "[profile dev]\n"
                                  "region=eu-central-1\n"
                                  "aws_access_key_id = " CONF_ID "\n"
                                  "aws_secret_access_key = " CONF_SECRET "\n"
                                  "[profile   assume]\n"
                                  "role_arn = arn:aws:iam::1:role/x\n"
                                  "source_profile = default\n"
                                  "[profile default]\n"
                                  "output = text\n";

/* ---- parsers fed in chunks ---- */

/* Feeds the len bytes of text to p, a parser of api (api##_feed,
 * api##_finish, api##_error), in pieces of chunk bytes (0: all at once)
 * for as long as feeding returns 0, then finishes it: r->feed_rc,
 * r->finish_rc and r->error are what they returned. */
#define FEED_IN_CHUNKS(r, api, p, text, len, chunk)                            \
  do {                                                                         \
    size_t step_ = (chunk) > 0 ? (chunk) : (len) > 0 ? (len) : 1;              \
    for (size_t off_ = 0; off_ < (len) && (r)->feed_rc == 0; off_ += step_)    \
      (r)->feed_rc = api##_feed((p), (text) + off_,                            \
                                (len)-off_ < step_ ? (len)-off_ : step_);      \
    (r)->finish_rc = api##_finish(p);                                          \
    snprintf((r)->error, sizeof((r)->error), "%s", api##_error(p));            \
  } while (0)

/* The chunk sizes the parsers' outcomes are compared over: 1..MAX_CHUNK. */
#define MAX_CHUNK 31

/* After a parse whole and one in every chunk size of 1..MAX_CHUNK, differ
 * of which gave another outcome: none may, and the message (error) holds
 * no secret. */
static inline void check_chunked(int differ, const char *error,
                                 const char *what) {
  T_OK(differ == 0, "%s: same outcome in chunks of 1..%d bytes", what,
       MAX_CHUNK);
  T_OK(clean(error), "%s: no secret in the message", what);
}

/* parse(r, ..., 0), the parse whole into *r (a type with an error
 * member), then parse(&x, ..., c) in every chunk size c of 1..MAX_CHUNK,
 * which must all give the same *r (check_chunked). */
#define CHECK_EVERY_CHUNK(type, r, what, parse, ...)                           \
  do {                                                                         \
    int differ_ = 0;                                                           \
    (parse)((r), __VA_ARGS__, 0);                                              \
    for (size_t c_ = 1; c_ <= MAX_CHUNK; c_++) {                               \
      type x_;                                                                 \
      (parse)(&x_, __VA_ARGS__, c_);                                           \
      differ_ += memcmp(&x_, (r), sizeof(x_)) != 0;                            \
    }                                                                          \
    check_chunked(differ_, (r)->error, (what));                                \
  } while (0)

/* A credentials document as instance metadata and the container endpoint
 * serve it; code NULL: no Code member. In one of 8 static buffers taken in
 * turn: a fake server may still be reading one during the next calls. */
static inline const char *creds_doc(const char *code, const char *id,
                                    const char *secret, const char *token,
                                    const char *exp) {
  static char buf[8][1024];
  static unsigned next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof(buf[0]),
           "{%s%s%s\"LastUpdated\":\"2026-11-26T11:00:00Z\","
           "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
           "\"SecretAccessKey\":\"%s\",\"Token\":\"%s\","
           "\"Expiration\":\"%s\"}",
           code ? "\"Code\":\"" : "", code ? code : "", code ? "\"," : "", id,
           secret, token, exp);
  return b;
}

/* ---- injected environment, time ---- */

/* An environment for aws_creds_config_t.getenv_fn: ud is a
 * NULL-terminated list of name, value, name, value, ... */
static inline const char *fenv_get(void *ud, const char *name) {
  const char *const *kv = ud;
  for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
    if (strcmp(kv[i], name) == 0)
      return kv[i + 1];
  return NULL;
}

/* The time_t of a UTC date and time. */
static inline time_t utc(int y, int mo, int d, int h, int mi, int s) {
  struct tm tm = {.tm_year = y - 1900,
                  .tm_mon = mo - 1,
                  .tm_mday = d,
                  .tm_hour = h,
                  .tm_min = mi,
                  .tm_sec = s};
  return timegm(&tm);
}

#endif /* SM_TESTS_AWS_TEST_UTIL_H */
