/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_value: a member's value from yajl's text (see
 * rt_parser_value.h).
 */
#include "rt_parser_value.h"

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

rt_parser_value_int_t rt_parser_value_int(const char *text, size_t len,
                                          int64_t *out) {
  const unsigned char *s = (const unsigned char *)text;
  uint64_t v = 0;
  bool neg = len > 0 && s[0] == '-';
  bool overflow = false;
  size_t i = neg ? 1 : 0;

  if (i == len)
    return RT_PARSER_VALUE_NOT_INT;
  if (rt_parser_value_short(text + i, len - i, &v)) {
    /* at most 16 digits: no overflow */
  } else if (len - i <= RT_PARSER_VALUE_SAFE_DIGITS) {
    for (; i < len; i++) {
      unsigned d = (unsigned)s[i] - '0';
      if (d > 9)
        return RT_PARSER_VALUE_NOT_INT;
      v = v * 10 + d;
    }
  } else {
    for (; i < len; i++) {
      unsigned d = (unsigned)s[i] - '0';
      if (d > 9)
        return RT_PARSER_VALUE_NOT_INT;
      if (v > ((uint64_t)INT64_MAX - d) / 10)
        overflow = true; /* go on: a later '.' or 'e' makes it a double */
      else
        v = v * 10 + d;
    }
  }
  if (overflow)
    return RT_PARSER_VALUE_OVERFLOW;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return RT_PARSER_VALUE_INT;
}
