/* SPDX-License-Identifier: MIT */
/*
 * aws_text: text helpers shared by the credential modules (see
 * aws_text.h).
 */
#include "aws_text.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aws_text_buf_init(aws_text_buf_t *b) { sm_buf_init(b, AWS_TEXT_BUF_MAX); }

void aws_text_buf_reset(aws_text_buf_t *b) {
  if (b->p != NULL)
    explicit_bzero(b->p, b->len);
  sm_buf_reset(b);
}

void aws_text_buf_free(aws_text_buf_t *b) { sm_buf_wipe(b); }

int aws_text_buf_add(void *ud, const char *data, size_t len) {
  return sm_buf_add(ud, data, len);
}

static bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *aws_text_buf_trimmed(aws_text_buf_t *b) {
  char *s;
  size_t n;

  if (b->p == NULL && sm_buf_add(b, "", 0) != 0) {
    static char empty[1];
    return empty;
  }
  s = b->p;
  n = b->len;
  while (n > 0 && space(s[n - 1]))
    n--;
  s[n] = '\0';
  while (space(*s))
    s++;
  return s;
}

const char *aws_text_quote(const char *s, char *buf, size_t size) {
  size_t i, o = 0;
  if (size == 0)
    return buf;
  for (i = 0; s[i] != '\0' && i < AWS_TEXT_QUOTE_MAX && o + 1 < size; i++)
    buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
  buf[o] = '\0';
  if (s[i] != '\0' && o + 4 < size)
    memcpy(buf + o, "...", 4);
  return buf;
}

bool aws_text_sendable(const char *s) {
  for (; *s != '\0'; s++)
    if (*s < 0x21 || *s > 0x7e)
      return false;
  return true;
}

void aws_text_free_secret(char *s) {
  if (s == NULL)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

void aws_text_time(time_t t, char *buf, size_t size) {
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL ||
      strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, size, "%lld", (long long)t);
}

int aws_text_join_url(char *buf, size_t size, const char *base,
                      const char *path) {
  size_t n = strlen(base);
  while (n > 0 && base[n - 1] == '/')
    n--;
  if (n > INT_MAX)
    return -1;
  return (size_t)snprintf(buf, size, "%.*s%s", (int)n, base, path) < size ? 0
                                                                          : -1;
}
