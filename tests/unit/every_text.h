/* SPDX-License-Identifier: MIT */
/*
 * every_text.h: exhaustive tests of code that reads or writes short texts
 * (test_sm_text.c, test_rt_parser_value.c): every text up to a length
 * over an alphabet, each handed to a check.
 */
#ifndef SM_TESTS_EVERY_TEXT_H
#define SM_TESTS_EVERY_TEXT_H 1

#include <stdbool.h>
#include <stddef.h>

#define EVERY_TEXT_MAX_LEN 8

/* Hands check every text of 1..max_len (at most EVERY_TEXT_MAX_LEN) bytes
 * over the n bytes of alphabet, n + n^2 + ... + n^max_len texts, and
 * returns how many it refused; *total gets how many there were. */
static inline size_t every_text(const void *alphabet, size_t n, size_t max_len,
                                bool (*check)(const char *text, size_t len),
                                size_t *total) {
  size_t bad = 0;

  *total = 0;
  for (size_t len = 1; len <= max_len && len <= EVERY_TEXT_MAX_LEN; len++) {
    size_t texts = 1;
    for (size_t i = 0; i < len; i++)
      texts *= n;
    for (size_t k = 0; k < texts; k++) {
      char t[EVERY_TEXT_MAX_LEN];
      size_t x = k;
      for (size_t i = 0; i < len; i++, x /= n)
        t[i] = (char)((const unsigned char *)alphabet)[x % n];
      bad += !check(t, len);
      (*total)++;
    }
  }
  return bad;
}

#endif /* SM_TESTS_EVERY_TEXT_H */
