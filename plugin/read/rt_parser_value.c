/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_value: a member's value from yajl's text (see
 * rt_parser_value.h).
 */
#include "rt_parser_value.h"

#include "rt_parser.h"

/* Longest UTF-8 sequence minus its lead byte: how far a cut backs off. */
#define RT_UTF8_MAX_CONT 3

size_t rt_parser_value_utf8_cut(const unsigned char *s, size_t len,
                                size_t cap) {
  size_t n = cap;
  int back = 0;

  if (len <= cap)
    return len;
  /* s[n] is the first byte left out: while it continues a sequence, that
   * sequence's first bytes must go too. yajl has checked the encoding, so
   * at most RT_UTF8_MAX_CONT continuation bytes need to be given back. */
  while (n > 0 && back < RT_UTF8_MAX_CONT && (s[n] & 0xC0) == 0x80) {
    n--;
    back++;
  }
  return n;
}

void rt_parser_value_quote(char *dst, size_t size, const unsigned char *s,
                           size_t len) {
  size_t n = rt_parser_value_utf8_cut(s, len, size - 1);

  for (size_t i = 0; i < n; i++)
    dst[i] = (s[i] < 0x20 || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
                 ? '?'
                 : (char)s[i];
  dst[n] = '\0';
}

#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

/* Once a record: a switch, not a scan. */
int rt_parser_value_outcome(const unsigned char *s, size_t len) {
  if (len == 0)
    return -1;
  switch (s[0]) {
  case 's':
    return IS("success") ? RT_OUTCOME_SUCCESS : -1;
  case 'm':
    return IS("model_error") ? RT_OUTCOME_MODEL_ERROR : -1;
  case 'd':
    return IS("download_failed") ? RT_OUTCOME_DOWNLOAD_FAILED : -1;
  case 'u':
    return IS("upload_failed") ? RT_OUTCOME_UPLOAD_FAILED : -1;
  case 'e':
    return IS("expired") ? RT_OUTCOME_EXPIRED : -1;
  case 't':
    return IS("timeout") ? RT_OUTCOME_TIMEOUT : -1;
  case 'i':
    return IS("internal_error") ? RT_OUTCOME_INTERNAL_ERROR : -1;
  }
  return -1;
}

int rt_parser_value_notify(const unsigned char *s, size_t len) {
  if (IS("sent"))
    return RT_NOTIFY_SENT;
  if (IS("none"))
    return RT_NOTIFY_NONE;
  if (IS("failed"))
    return RT_NOTIFY_FAILED;
  return -1;
}
#undef IS
