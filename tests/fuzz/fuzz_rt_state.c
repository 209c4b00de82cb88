/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: rt_state_parse, the reader of the cursor file that
 * sagemaker_async loads at start. Each input is parsed as it is, and
 * again with a correct crc32 line appended, so that the fuzzer also gets
 * past the checksum to the fields. Whatever is accepted must satisfy the
 * format's rules and be written back byte for byte by rt_state_format;
 * every refusal must say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_state.h"

static void one(const char *text, size_t len) {
  char err[256];
  char again[RT_STATE_FILE_MAX + 1];
  rt_state_t st;
  int n;

  err[0] = 0;
  if (rt_state_parse(text, len, &st, err, sizeof(err)) != 0) {
    if (err[0] == 0)
      abort();
    return;
  }
  if (st.runtime[0] == 0 || st.boot_id[0] == 0 || st.seq < 0 ||
      st.next_seq <= st.seq || st.saved_ms < 0)
    abort();
  n = rt_state_format(&st, again, sizeof(again));
  if (n < 0 || (size_t)n != len || memcmp(again, text, len) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *signed_text;

  one((const char *)data, size);
  if (size > RT_STATE_FILE_MAX)
    return 0;
  signed_text = malloc(size + 16);
  if (signed_text == NULL)
    return 0;
  memcpy(signed_text, data, size);
  snprintf(signed_text + size, 16, "crc32 %08x\n",
           (unsigned)rt_state_checksum((const char *)data, size));
  one(signed_text, size + 15);
  free(signed_text);
  return 0;
}
