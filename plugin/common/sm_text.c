/* SPDX-License-Identifier: MIT */
/*
 * sm_text: escaping of outside text for log lines (see sm_text.h).
 */
#include "sm_text.h"

#include <stdarg.h>
#include <stdio.h>

#include <string.h>

/* The length of the valid UTF-8 sequence at p (at most n bytes there),
 * 0 when the bytes there are not one (Unicode 15, table 3-7). */
static size_t utf8_length(const unsigned char *p, size_t n) {
  unsigned char lo = 0x80, hi = 0xbf;
  size_t len;

  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    len = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    len = 3;
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    len = 4;
  else
    return 0;
  if (p[0] == 0xe0)
    lo = 0xa0; /* overlong */
  else if (p[0] == 0xed)
    hi = 0x9f; /* surrogates */
  else if (p[0] == 0xf0)
    lo = 0x90; /* overlong */
  else if (p[0] == 0xf4)
    hi = 0x8f; /* past U+10FFFF */
  if (n < len || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return len;
}

/* The escaped form of the character at p: into piece (which holds 5
 * bytes), returning its length and setting *used to the input bytes it
 * stands for. */
static size_t escape_one(const unsigned char *p, size_t n, char *piece,
                         size_t *used) {
  static const char hex[] = "0123456789abcdef";
  /* from[i] is written as a backslash and to[i]. */
  static const char from[] = "\n\r\t\\", to[] = "nrt\\";
  const char *c = p[0] != 0 ? strchr(from, p[0]) : NULL;
  size_t len;

  *used = 1;
  if (c != NULL) {
    piece[0] = '\\';
    piece[1] = to[c - from];
    return 2;
  }
  if (p[0] >= 0x20 && p[0] < 0x7f) {
    piece[0] = (char)p[0];
    return 1;
  }
  len = p[0] >= 0x80 ? utf8_length(p, n) : 0;
  /* C1 controls (U+0080..U+009F: C2 80..C2 9F) act on some terminals. */
  if (len > 0 && !(p[0] == 0xc2 && p[1] < 0xa0)) {
    memcpy(piece, p, len);
    *used = len;
    return len;
  }
  piece[0] = '\\';
  piece[1] = 'x';
  piece[2] = hex[p[0] >> 4];
  piece[3] = hex[p[0] & 0xf];
  return 4;
}

size_t sm_text_escape(const char *in, size_t len, char *out, size_t size) {
  const unsigned char *p = (const unsigned char *)in;
  size_t cap, pos = 0, safe = 0, i = 0;

  if (out == NULL || size == 0)
    return 0;
  cap = size - 1;
  while (i < len) {
    char piece[5];
    size_t used;
    size_t k = escape_one(p + i, len - i, piece, &used);
    if (pos + k > cap) {
      /* Cut at the last whole piece that leaves room for "...". */
      size_t dots = cap - safe < 3 ? cap - safe : 3;
      memcpy(out + safe, "...", dots);
      pos = safe + dots;
      break;
    }
    memcpy(out + pos, piece, k);
    pos += k;
    i += used;
    if (pos + 3 <= cap)
      safe = pos;
  }
  out[pos] = 0;
  return pos;
}

size_t sm_text_escape_str(const char *in, char *out, size_t size) {
  return sm_text_escape(in, in != NULL ? strlen(in) : 0, out, size);
}

void sm_text_printf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;

  if (buf == NULL || size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}
