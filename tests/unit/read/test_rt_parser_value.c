/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_value: the word-at-a-time readings against plain byte-by-byte
 * ones, written here independently: every number text of up to 5 bytes
 * over the bytes a JSON number may hold, then random texts up to 20
 * bytes; the NUL check and the copy at every length and place. Each text
 * is read from a buffer that ends with it, so that a read past its end is
 * seen by valgrind and the sanitizers.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "every_text.h"
#include "rt_parser_value.h"
#include "tap.h"

/* The bytes of a JSON number. */
static const char NUMBER_BYTES[] = "0123456789-+.eE";
#define NUMBER_BYTE_COUNT (sizeof(NUMBER_BYTES) - 1)

/* What rt_parser_value_short must give: 1 to 16 digits, nothing else. */
static bool ref_short(const char *s, size_t len, uint64_t *out) {
  uint64_t v = 0;

  if (len == 0 || len > 16)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* What rt_parser_value_int must give, by strtoll's rules on a copy. */
static rt_parser_value_int_t ref_int(const char *s, size_t len, int64_t *out) {
  uint64_t v = 0;
  size_t i = len > 0 && s[0] == '-' ? 1 : 0;
  bool over = false;

  if (i == len)
    return RT_PARSER_VALUE_NOT_INT;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return RT_PARSER_VALUE_NOT_INT;
    if (v > (UINT64_C(9223372036854775807) - (uint64_t)(s[i] - '0')) / 10)
      over = true;
    else
      v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (over)
    return RT_PARSER_VALUE_OVERFLOW;
  *out = len > 0 && s[0] == '-' ? -(int64_t)v : (int64_t)v;
  return RT_PARSER_VALUE_INT;
}

/* A copy of len bytes at the very end of a heap block of its own. */
static char *at_end(const char *s, size_t len) {
  char *b = malloc(len > 0 ? len : 1);
  if (b == NULL)
    abort();
  memcpy(b, s, len);
  return b;
}

/* Both readings of len bytes agree with the references; returns false
 * and says which text when not. */
static bool same_reading(const char *text, size_t len) {
  char *b = at_end(text, len);
  uint64_t got = 0, want = 0;
  int64_t gi = 0, wi = 0;
  bool g = rt_parser_value_short(b, len, &got);
  bool w = ref_short(text, len, &want);
  rt_parser_value_int_t gr = rt_parser_value_int(b, len, &gi);
  rt_parser_value_int_t wr = ref_int(text, len, &wi);
  bool ok = g == w && (!g || got == want) && gr == wr &&
            (gr != RT_PARSER_VALUE_INT || gi == wi);

  if (!ok)
    T_NOTE("\"%.*s\": short %d/%" PRIu64 " (want %d/%" PRIu64
           "), int %d/%" PRId64 " (want %d/%" PRId64 ")",
           (int)len, text, g, got, w, want, gr, gi, wr, wi);
  free(b);
  return ok;
}

static void test_every_short_text(void) {
  size_t n,
      bad = every_text(NUMBER_BYTES, NUMBER_BYTE_COUNT, 5, same_reading, &n);

  T_OK(bad == 0,
       "every text of 1 to 5 number bytes: %zu read as the "
       "reference reads them (%zu differ)",
       n, bad);
}

static void test_random_texts(void) {
  unsigned seed = 1;
  size_t bad = 0, digits_only = 0;
  char t[24];

  for (int k = 0; k < 200000; k++) {
    size_t len;
    seed = seed * 1103515245u + 12345u;
    len = 1 + (seed >> 16) % 20;
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      /* mostly digits, so that long all-digit texts come up */
      t[i] = (seed >> 16) % 8 != 0 ? (char)('0' + (seed >> 20) % 10)
                                   : NUMBER_BYTES[(seed >> 20) % 15];
    }
    t[len] = '\0';
    digits_only += strspn(t, "0123456789") >= len;
    bad += !same_reading(t, len);
  }
  T_OK(bad == 0 && digits_only > 10000,
       "200,000 random texts of 1 to 20 bytes (%zu all digits): %zu differ",
       digits_only, bad);
  T_OK(same_reading("9999999999999999", 16) &&
           same_reading("10000000000000000", 17) &&
           same_reading("9223372036854775807", 19) &&
           same_reading("9223372036854775808", 19) &&
           same_reading("-9223372036854775807", 20) &&
           same_reading("1796651543046", 13),
       "the edges: 16 and 17 digits, INT64_MAX and one more, a time in ms");
}

static void test_nul_and_copy(void) {
  size_t bad = 0, n = 0;
  unsigned char s[80];
  char dst[82];

  for (size_t len = 1; len <= 72; len++) {
    for (size_t i = 0; i < len; i++)
      s[i] = (unsigned char)((i * 13 + len) % 255 + 1); /* 1 to 255 */
    {
      char *b = at_end((const char *)s, len);
      memset(dst, 'x', sizeof(dst));
      rt_parser_value_copy(dst, (const unsigned char *)b, len);
      bad +=
          memcmp(dst, s, len) != 0 || dst[len] != '\0' || dst[len + 1] != 'x';
      bad += rt_parser_value_has_nul((const unsigned char *)b, len);
      free(b);
      n += 2;
    }
    for (size_t at = 0; at < len; at++) {
      unsigned char keep = s[at];
      char *b;
      s[at] = 0;
      b = at_end((const char *)s, len);
      bad += !rt_parser_value_has_nul((const unsigned char *)b, len);
      free(b);
      s[at] = keep;
      n++;
    }
  }
  T_OK(bad == 0,
       "NUL found at every place of 1 to 72 bytes, none where "
       "there is none, copies exact and ended: %zu of %zu wrong",
       bad, n);
}

int main(void) {
  test_every_short_text();
  test_random_texts();
  test_nul_and_copy();
  return t_done();
}
