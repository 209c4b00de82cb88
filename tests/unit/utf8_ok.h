/* SPDX-License-Identifier: MIT */
/*
 * utf8_ok.h: an independent UTF-8 check for the tests and fuzzers of code
 * that repairs, cuts or escapes text. It decodes code points and refuses
 * what Unicode's table 3-7 does not list (overlong forms, surrogates,
 * code points past U+10FFFF, stray and cut sequences).
 */
#ifndef SM_TESTS_UTF8_OK_H
#define SM_TESTS_UTF8_OK_H 1

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at p are valid UTF-8. */
static inline bool utf8_ok(const void *p, size_t len) {
  const unsigned char *s = p;
  size_t i = 0;

  while (i < len) {
    unsigned c = s[i], need, cp, min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      need = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      need = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      need = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + need >= len)
      return false;
    for (unsigned k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += need + 1;
  }
  return true;
}

#endif /* SM_TESTS_UTF8_OK_H */
