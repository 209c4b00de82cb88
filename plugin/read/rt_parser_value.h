/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_value: a member's value from the text yajl hands over:
 * integers from a number's text (inlined here: every number of a page
 * goes through it), strings cut on a UTF-8 boundary, a value quoted for
 * an error message, the outcome and notification enumerations.
 *
 * Internal to rt_parser; collectd-free.
 */
#ifndef RT_PARSER_VALUE_H
#define RT_PARSER_VALUE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes of an unknown enumeration value repeated in an error message. */
#define RT_PARSER_VALUE_QUOTE_MAX 32
/* Decimal digits that always fit an int64_t (INT64_MAX has 19). */
#define RT_PARSER_VALUE_SAFE_DIGITS 18

/* Results of rt_parser_value_int(). */
typedef enum {
  RT_PARSER_VALUE_INT,      /* an integer, in range */
  RT_PARSER_VALUE_NOT_INT,  /* a '.', 'e' or 'E': a double */
  RT_PARSER_VALUE_OVERFLOW, /* an integer out of int64_t's range */
} rt_parser_value_int_t;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RT_PARSER_VALUE_SWAR 1
/* Each byte of a word. */
#define RT_PARSER_VALUE_BYTES(b) (UINT64_C(0x0101010101010101) * (b))

/* Whether the 8 bytes of w (read in text order, the first in the lowest
 * byte) are all digits. The lexer has checked the text to be a JSON
 * number, whose other bytes ('-', '+', '.', 'e', 'E') all lie outside
 * 0x30..0x3F: a high nibble of 3 is enough. */
static inline bool rt_parser_value_eight_digits(uint64_t w) {
  return (w & RT_PARSER_VALUE_BYTES(0xF0)) == RT_PARSER_VALUE_BYTES(0x30);
}

/* The value of 8 ASCII digits, the first the most significant: digits
 * paired (d0 * 10 + d1 in each 16-bit lane), pairs paired (4 digits in each
 * 32-bit lane), then the two halves: three multiplications, not eight. */
static inline uint64_t rt_parser_value_eight(uint64_t w) {
  w -= RT_PARSER_VALUE_BYTES('0');
  w = (w * 10 + (w >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
  w = (w * 100 + (w >> 16)) & UINT64_C(0x0000FFFF0000FFFF);
  return (w & UINT64_C(0xFFFFFFFF)) * 10000 + (w >> 32);
}
#endif

/* Converts yajl's number text, which the lexer has checked to be a JSON
 * number: a '.', 'e' or 'E' makes it a double, whatever its value. Every
 * number of a page goes through here, so the common case (no more digits
 * than can never overflow) skips the overflow check of each digit, and
 * takes eight digits at a time where it can (the 13 of a time in ms). */
static inline rt_parser_value_int_t
rt_parser_value_int(const char *text, size_t len, int64_t *out) {
  const unsigned char *s = (const unsigned char *)text;
  uint64_t v = 0;
  bool neg = len > 0 && s[0] == '-';
  bool overflow = false;
  size_t i = neg ? 1 : 0;

  if (i == len)
    return RT_PARSER_VALUE_NOT_INT;
  if (len - i <= RT_PARSER_VALUE_SAFE_DIGITS) {
#ifdef RT_PARSER_VALUE_SWAR
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!rt_parser_value_eight_digits(w))
        return RT_PARSER_VALUE_NOT_INT;
      v = v * 100000000 + rt_parser_value_eight(w);
      i += 8;
    }
#endif
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

/* Length of the longest prefix of s[0..len) of at most cap bytes that does
 * not end inside a UTF-8 sequence (yajl has checked the encoding). */
size_t rt_parser_value_utf8_cut(const unsigned char *s, size_t len, size_t cap);

/* Copies a value for an error message into dst (size bytes with the NUL):
 * cut short, quotes, backslashes and control characters replaced, so that
 * the message stays one plain line. */
void rt_parser_value_quote(char *dst, size_t size, const unsigned char *s,
                           size_t len);

/* The rt_outcome_t named by len bytes at s, or -1. */
int rt_parser_value_outcome(const unsigned char *s, size_t len);

/* The rt_notify_t named by len bytes at s (never RT_NOTIFY_ABSENT), or
 * -1. */
int rt_parser_value_notify(const unsigned char *s, size_t len);

#endif /* RT_PARSER_VALUE_H */
