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

#include "rt_parser.h"

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

/* Each byte of a 32-bit word. */
#define RT_PARSER_VALUE_BYTES4(b) (UINT32_C(0x01010101) * (b))

/* The value of the 1 to 4 bytes at s if they are all digits (most of a
 * record's timings and its status code): two 2-byte loads that overlap
 * (one byte alone), '0's before them, then digits paired and pairs
 * paired in a 32-bit word: two multiplications. */
static inline bool rt_parser_value_four(const unsigned char *s, size_t len,
                                        uint64_t *out) {
  uint32_t w;

  if (len >= 2) {
    uint16_t a, b;
    memcpy(&a, s, 2);
    memcpy(&b, s + len - 2, 2);
    w = (uint32_t)a | (uint32_t)b << (8 * (len - 2));
  } else {
    w = s[0];
  }
  w = w << (8 * (4 - len)) |
      (RT_PARSER_VALUE_BYTES4('0') >> (4 * len)) >> (4 * len);
  if ((w & RT_PARSER_VALUE_BYTES4(0xF0)) != RT_PARSER_VALUE_BYTES4(0x30))
    return false;
  w -= RT_PARSER_VALUE_BYTES4('0');
  w = (w * 10 + (w >> 8)) & UINT32_C(0x00FF00FF);
  *out = (w & 0xFFFF) * 100 + (w >> 16);
  return true;
}

/* The 1 to 8 bytes at s as the word of 8 digits they end: '0's before
 * them. Two loads that overlap (three bytes below 4), not a loop: a
 * page's numbers have every length from 1 to 13 digits, and a loop's exit
 * would be mispredicted at nearly every one. */
static inline uint64_t rt_parser_value_word(const unsigned char *s,
                                            size_t len) {
  uint64_t w;

  if (len >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, s, 4);
    memcpy(&hi, s + len - 4, 4);
    w = (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
  } else {
    w = (uint64_t)s[0] | (uint64_t)s[len / 2] << (8 * (len / 2)) |
        (uint64_t)s[len - 1] << (8 * (len - 1));
  }
  /* Two shifts by 4 len: one by 8 len would be undefined at len 8. */
  return w << (8 * (8 - len)) |
         (RT_PARSER_VALUE_BYTES('0') >> (4 * len)) >> (4 * len);
}
#endif

/* The most digits rt_parser_value_short() takes. */
#define RT_PARSER_VALUE_SHORT_MAX 16

/* The value of 1 to RT_PARSER_VALUE_SHORT_MAX digits without a sign: the
 * numbers of a page (timings, seqs, times in ms) take this short way, a
 * word of four digits, or one or two of eight. False for any other text
 * (a sign, more digits, a double's '.', 'e' or 'E'), which
 * rt_parser_value_int() then reads. */
static inline bool rt_parser_value_short(const char *text, size_t len,
                                         uint64_t *out) {
#ifdef RT_PARSER_VALUE_SWAR
  const unsigned char *s = (const unsigned char *)text;
  uint64_t hi, lo = 0;
  bool ok;

  if (len == 0 || len > RT_PARSER_VALUE_SHORT_MAX)
    return false;
  if (len <= 4)
    return rt_parser_value_four(s, len, out);
  /* The first len - 8 digits, then the last 8. */
  hi = rt_parser_value_word(s, len > 8 ? len - 8 : len);
  ok = rt_parser_value_eight_digits(hi);
  if (len > 8) {
    memcpy(&lo, s + len - 8, 8);
    ok = ok && rt_parser_value_eight_digits(lo);
  }
  if (!ok)
    return false;
  *out = len > 8
             ? rt_parser_value_eight(hi) * 100000000 + rt_parser_value_eight(lo)
             : rt_parser_value_eight(hi);
  return true;
#else
  (void)text;
  (void)len;
  (void)out;
  return false;
#endif
}

/* Whether len bytes at s hold a NUL (a \u0000 yajl decoded): a word at
 * a time for an ID's few dozen bytes, rather than a call to memchr. */
static inline bool rt_parser_value_has_nul(const unsigned char *s, size_t len) {
#ifdef RT_PARSER_VALUE_SWAR
  uint64_t w, acc = 0;
  size_t i;

  if (len < 8)
    return memchr(s, '\0', len) != NULL;
  /* A byte of w is zero when it, less one, borrows: its top bit is then
   * set while w's is not. */
  for (i = 0; i + 8 < len; i += 8) {
    memcpy(&w, s + i, 8);
    acc |= (w - RT_PARSER_VALUE_BYTES(1)) & ~w;
  }
  memcpy(&w, s + len - 8, 8);
  acc |= (w - RT_PARSER_VALUE_BYTES(1)) & ~w;
  return (acc & RT_PARSER_VALUE_BYTES(0x80)) != 0;
#else
  return memchr(s, '\0', len) != NULL;
#endif
}

/* Copies len bytes from s to dst and ends them with a NUL (dst has room
 * for len + 1 bytes). An ID (36 bytes, one a record) is copied a word at
 * a time, inline, rather than through a call to memcpy. */
static inline void rt_parser_value_copy(char *dst, const unsigned char *s,
                                        size_t len) {
  if (len >= 8 && len <= 64) {
    for (size_t i = 0; i + 8 < len; i += 8)
      memcpy(dst + i, s + i, 8);
    memcpy(dst + len - 8, s + len - 8, 8);
  } else
    memcpy(dst, s, len);
  dst[len] = '\0';
}

/* Converts yajl's number text, which the lexer has checked to be a JSON
 * number: a '.', 'e' or 'E' makes it a double, whatever its value. */
rt_parser_value_int_t rt_parser_value_int(const char *text, size_t len,
                                          int64_t *out);

/* Length of the longest prefix of s[0..len) of at most cap bytes that does
 * not end inside a UTF-8 sequence (yajl has checked the encoding). */
size_t rt_parser_value_utf8_cut(const unsigned char *s, size_t len, size_t cap);

/* Copies a value for an error message into dst (size bytes with the NUL):
 * cut short, quotes, backslashes and control characters replaced, so that
 * the message stays one plain line. */
void rt_parser_value_quote(char *dst, size_t size, const unsigned char *s,
                           size_t len);

#define RT_PARSER_VALUE_IS(lit)                                                \
  (len == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

/* The rt_outcome_t named by len bytes at s, or -1. Once a record: a
 * switch, not a scan. */
static inline int rt_parser_value_outcome(const unsigned char *s, size_t len) {
  if (len == 0)
    return -1;
  switch (s[0]) {
  case 's':
    return RT_PARSER_VALUE_IS("success") ? RT_OUTCOME_SUCCESS : -1;
  case 'm':
    return RT_PARSER_VALUE_IS("model_error") ? RT_OUTCOME_MODEL_ERROR : -1;
  case 'd':
    return RT_PARSER_VALUE_IS("download_failed") ? RT_OUTCOME_DOWNLOAD_FAILED
                                                 : -1;
  case 'u':
    return RT_PARSER_VALUE_IS("upload_failed") ? RT_OUTCOME_UPLOAD_FAILED : -1;
  case 'e':
    return RT_PARSER_VALUE_IS("expired") ? RT_OUTCOME_EXPIRED : -1;
  case 't':
    return RT_PARSER_VALUE_IS("timeout") ? RT_OUTCOME_TIMEOUT : -1;
  case 'i':
    return RT_PARSER_VALUE_IS("internal_error") ? RT_OUTCOME_INTERNAL_ERROR
                                                : -1;
  }
  return -1;
}

/* The rt_notify_t named by len bytes at s (never RT_NOTIFY_ABSENT), or
 * -1. */
static inline int rt_parser_value_notify(const unsigned char *s, size_t len) {
  if (RT_PARSER_VALUE_IS("sent"))
    return RT_NOTIFY_SENT;
  if (RT_PARSER_VALUE_IS("none"))
    return RT_NOTIFY_NONE;
  if (RT_PARSER_VALUE_IS("failed"))
    return RT_NOTIFY_FAILED;
  return -1;
}
#undef RT_PARSER_VALUE_IS

#endif /* RT_PARSER_VALUE_H */
