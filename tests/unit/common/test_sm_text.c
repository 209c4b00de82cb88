/* SPDX-License-Identifier: MIT */
/*
 * sm_text_escape against hand-written expectations: what a log line may
 * carry as is (printable ASCII, valid UTF-8), what is escaped (C0
 * controls, DEL, C1 controls, the backslash, every byte of invalid
 * UTF-8: overlong forms, surrogates, code points past U+10FFFF, stray
 * and cut sequences), and the cap: the output always fits, ends in
 * "..." when the text was cut, and is never cut inside an escape or a
 * character. Then every input of up to 3 bytes over a small alphabet:
 * the output is printable ASCII or valid UTF-8, has no control byte, and
 * unescapes back to the input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "every_text.h"
#include "sm_text.h"
#include "tap.h"

/* in escapes to want in an output buffer of size bytes (at most 256). */
static void check(const char *in, size_t len, size_t size, const char *want,
                  const char *what) {
  char out[256];
  size_t n = sm_text_escape(in, len, out, size);
  T_EQ_STR(out, want, what);
  T_EQ_INT(n, strlen(want), "returns the length");
}

/* The escapes of one letter, each followed by the byte it stands for. */
static const char LETTER_ESCAPES[] = "n\nr\rt\t\\\\";

/* Reverses the escaping; returns the length, or -1 on a bad escape. */
static int unescape(const char *s, char *out, size_t size) {
  size_t n = 0;
  while (*s != 0 && n < size) {
    const char *e = LETTER_ESCAPES;
    unsigned v;
    if (*s != '\\') {
      out[n++] = *s++;
      continue;
    }
    s++;
    if (*s == 'x') {
      if (sscanf(s + 1, "%2x", &v) != 1 || strlen(s) < 3)
        return -1;
      out[n++] = (char)v;
      s += 3;
      continue;
    }
    while (*e != 0 && *e != *s)
      e += 2;
    if (*e == 0)
      return -1;
    out[n++] = e[1];
    s++;
  }
  return (int)n;
}

/* Printable ASCII, or valid UTF-8 of code points U+00A0 and up. */
static bool clean(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p != 0) {
    if (*p < 0x80) {
      if (*p < 0x20 || *p == 0x7f)
        return false;
      p++;
    } else {
      /* The escaper keeps only valid sequences; recheck the lead byte. */
      int k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc2 ? 1 : -1;
      if (k < 0 || (*p == 0xc2 && p[1] < 0xa0))
        return false;
      for (int i = 1; i <= k; i++)
        if ((p[i] & 0xc0) != 0x80)
          return false;
      p += k + 1;
    }
  }
  return true;
}

/* in escapes to a clean text that unescapes back to in. */
static bool escapes_back(const char *in, size_t len) {
  char out[64], back[64];
  int n;

  sm_text_escape(in, len, out, sizeof(out));
  n = unescape(out, back, sizeof(back));
  return clean(out) && n == (int)len && memcmp(back, in, len) == 0;
}

static void test_exhaustive(void) {
  static const unsigned char alphabet[] = {'a',  '\\', '\n', '\r', 0x1b, 0x7f,
                                           0x80, 0x9b, 0xbf, 0xc2, 0xc3, 0xe2,
                                           0xed, 0xf0, 0xf4, 0xff, 0x00};
  size_t total;
  size_t bad = every_text(alphabet, sizeof(alphabet), 3, escapes_back, &total);

  T_EQ_INT(bad, 0,
           "every input of 1..3 bytes: clean output that unescapes "
           "to the input");
  T_OK(total > 5000, "%zu inputs tried", total);
}

static void test_cap(void) {
  char as[64];
  /* Three "é" of 2 bytes after 11 a do not fit in 15; the first would,
   * but not with the "..." after it. */
  const char *e3 = "aaaaaaaaaaa\xc3\xa9\xc3\xa9\xc3\xa9";
  const struct {
    const char *in;
    size_t len, size;
    const char *want, *what;
  } cut[] = {
      {as, sizeof(as), 16, "aaaaaaaaaaaa...", "cut at the cap with \"...\""},
      {"aaaaaaaaaaaaaaa", 15, 16, "aaaaaaaaaaaaaaa",
       "exactly the room: not cut"},
      {"aaaaaaaaaaa\n\n\n", 14, 16, "aaaaaaaaaaa...",
       "an escape is not cut in half"},
      {e3, 17, 16, "aaaaaaaaaaa...", "a character is not cut in half"},
      {"abcdef", 6, 4, "...", "a buffer of 4 holds only \"...\""},
      {"abcdef", 6, 2, ".", "a tiny buffer still ends in a NUL"},
      {NULL, 0, 16, "", "no input: empty output"},
  };

  memset(as, 'a', sizeof(as));
  for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
    check(cut[i].in, cut[i].len, cut[i].size, cut[i].want, cut[i].what);
  T_EQ_INT(sm_text_escape("abcdef", 6, NULL, 0), 0,
           "no buffer: nothing written");
}

/* Each input (a string literal, all its bytes), the output wanted (NULL:
 * the input as is). */
#define IN(s) (s), sizeof(s) - 1
static const struct {
  const char *in;
  size_t len;
  const char *want, *what;
} cases[] = {
    {IN("runtime starting"), NULL, "plain text as is"},
    {IN("a\nb"), "a\\nb", "newline"},
    {IN("a\r\nb"), "a\\r\\nb", "CR LF"},
    {IN("a\tb"), "a\\tb", "tab"},
    {IN("\x1b[31mred"), "\\x1b[31mred", "ESC of a terminal sequence"},
    {IN("\x01\x7f"), "\\x01\\x7f", "other C0 and DEL"},
    {IN("a\\nb"), "a\\\\nb", "a backslash is doubled: no forged escape"},
    {IN("a\0b"), "a\\x00b", "a NUL within the length"},
    {IN("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), NULL,
     "valid UTF-8 of 2, 3 and 4 bytes as is"},
    {IN("\xc2\x9b"
        "31m"),
     "\\xc2\\x9b31m", "a C1 control (CSI) is escaped"},
    {IN("\xc2\xa0"), NULL, "U+00A0 is kept"},
    {IN("\xff\xfe"), "\\xff\\xfe", "bytes that are never UTF-8"},
    {IN("\xc0\xaf"), "\\xc0\\xaf", "an overlong '/'"},
    {IN("\xe0\x80\xaf"), "\\xe0\\x80\\xaf", "an overlong 3-byte form"},
    {IN("\xed\xa0\x80"), "\\xed\\xa0\\x80", "a UTF-16 surrogate"},
    {IN("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80", "past U+10FFFF"},
    {IN("\xe2\x82"), "\\xe2\\x82", "a sequence cut short at the end"},
    {IN("\xe2\x82z"), "\\xe2\\x82z", "a sequence cut short by ASCII"},
    {IN("\x80z"), "\\x80z", "a stray continuation byte"},
    {IN("\n[error] forged line"), "\\n[error] forged line",
     "a forged log line stays on the line"},
};

int main(void) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check(cases[i].in, cases[i].len, 256,
          cases[i].want != NULL ? cases[i].want : cases[i].in, cases[i].what);
  test_cap();
  test_exhaustive();
  return t_done();
}
