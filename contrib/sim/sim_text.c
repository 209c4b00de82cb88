/* SPDX-License-Identifier: MIT */
/*
 * sim_text: the simulator's text, written and read without printf or
 * strto*: decimal and hexadecimal numbers, JSON strings and UUIDs appended
 * to an sm_buf_t, and the decimal integers and tokens of a request head.
 * Every document and ledger line is built from these, on the hot path, so
 * nothing here allocates but the buffer itself.
 */
#include "sim.h"

#include <string.h>

void sim_text_u64(sm_buf_t *b, uint64_t v) {
  char tmp[20];
  size_t i = sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  sm_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void sim_text_i64(sm_buf_t *b, int64_t v) {
  if (v < 0) {
    sm_buf_addc(b, '-');
    sim_text_u64(b, (uint64_t)0 - (uint64_t)v);
    return;
  }
  sim_text_u64(b, (uint64_t)v);
}

void sim_text_hex(sm_buf_t *b, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  char tmp[16];
  size_t i = sizeof(tmp);
  do {
    tmp[--i] = digits[v & 15];
    v >>= 4;
  } while (v != 0);
  sm_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void sim_text_escaped(sm_buf_t *b, const char *s) {
  static const char digits[] = "0123456789abcdef";
  const char *run = s;
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};
    size_t n = 2;
    if (ch >= 0x20 && ch != '"' && ch != '\\')
      continue;
    sm_buf_add(b, run, (size_t)(s - run));
    run = s + 1;
    switch (ch) {
    case '"':
    case '\\':
      esc[1] = (char)ch;
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
    default:
      esc[4] = digits[ch >> 4];
      esc[5] = digits[ch & 15];
      n = 6;
      break;
    }
    sm_buf_add(b, esc, n);
  }
  sm_buf_add(b, run, (size_t)(s - run));
}

void sim_text_jstr(sm_buf_t *b, const char *s) {
  sm_buf_addc(b, '"');
  sim_text_escaped(b, s);
  sm_buf_addc(b, '"');
}

void sim_text_uuid(const uint8_t id[16], char out[SIM_UUID_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = digits[id[i] >> 4];
    out[o++] = digits[id[i] & 15];
  }
  out[o] = '\0';
}

bool sim_text_digits(const char *p, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned d = (unsigned)(p[i] - '0');
    if (d > 9 || v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool sim_text_is(const char *p, size_t len, const char *word) {
  return strlen(word) == len && memcmp(p, word, len) == 0;
}
