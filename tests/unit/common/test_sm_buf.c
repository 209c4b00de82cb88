/* SPDX-License-Identifier: MIT */
/*
 * sm_buf: appends keep the bytes and the NUL; the maximum holds exactly
 * (an append past it adds nothing and is remembered); printf of any
 * length; reset keeps the memory and clears the failure; take hands the
 * bytes over.
 */
#include <stdlib.h>
#include <string.h>

#include "sm_buf.h"
#include "tap.h"

int main(void) {
  sm_buf_t b;
  char big[1000];
  char *s;

  sm_buf_init(&b, 10);
  T_OK(b.p == NULL && b.len == 0 && sm_buf_ok(&b), "empty, nothing allocated");
  T_EQ_INT(sm_buf_adds(&b, "abc"), 0, "append");
  T_EQ_INT(sm_buf_addc(&b, 'd'), 0, "append a char");
  T_EQ_INT(sm_buf_add(&b, "e\0f", 3), 0, "append bytes with a NUL");
  T_OK(b.len == 7 && memcmp(b.p, "abcde\0f", 8) == 0,
       "the bytes, and a NUL after them");
  T_EQ_INT(sm_buf_adds(&b, "ghi"), 0, "exactly to the maximum");
  T_EQ_INT(b.len, 10, "10 bytes");
  T_EQ_INT(sm_buf_addc(&b, 'x'), -1, "one more: refused");
  T_OK(b.len == 10 && b.over && !sm_buf_ok(&b), "nothing added, remembered");
  T_OK(b.cap <= 11, "never more than the maximum and the NUL allocated");
  sm_buf_truncate(&b, 4);
  T_OK(b.len == 4 && strcmp(b.p, "abcd") == 0 && sm_buf_ok(&b),
       "truncate: back to the mark, terminated, failure cleared");
  sm_buf_truncate(&b, 9);
  T_OK(b.len == 4 && strcmp(b.p, "abcd") == 0, "truncate past the end: no-op");
  sm_buf_reset(&b);
  T_OK(b.len == 0 && b.p != NULL && b.p[0] == 0 && sm_buf_ok(&b),
       "reset: empty, memory kept, failure cleared");
  sm_buf_free(&b);

  sm_buf_init(&b, 100000);
  memset(big, 'z', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  for (int i = 0; i < 50; i++)
    sm_buf_printf(&b, "%d:%s;", i, i == 7 ? big : "x");
  T_OK(sm_buf_ok(&b) && strstr(b.p, "7:zzz") != NULL &&
           strstr(b.p, "49:x;") != NULL && b.len == strlen(b.p),
       "printf of long and short pieces (%zu bytes)", b.len);
  T_EQ_INT(sm_buf_printf(&b, "%*s", 200000, ""), -1,
           "printf past the maximum: refused");
  T_OK(b.over, "and remembered");
  s = sm_buf_take(&b);
  T_OK(s != NULL && strncmp(s, "0:x;1:x;", 8) == 0 && b.p == NULL && b.len == 0,
       "take hands the bytes over, the buffer is empty");
  free(s);
  s = sm_buf_take(&b);
  T_OK(s != NULL && s[0] == 0, "take of an empty buffer: \"\"");
  free(s);
  sm_buf_init(&b, 64);
  sm_buf_adds(&b, "secret");
  sm_buf_wipe(&b);
  T_OK(b.p == NULL, "wipe frees");
  return t_done();
}
