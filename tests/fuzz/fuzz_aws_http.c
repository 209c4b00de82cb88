/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for aws_http's reading of AWS error bodies and the
 * classification that follows. The first two input bytes choose an HTTP
 * status (100..599) and whether the transport failed; the rest is the body.
 *
 * Checked: never a crash, leak or UB; the type and message are always
 * NUL-terminated within their buffers; the type never holds '#' or ':'
 * (the prefix and suffix AWS puts around the name are cut); a success
 * status without a transport error is always OK, a transport error always
 * a retry.
 */
#include "aws_http.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  aws_http_result_t r;
  aws_http_class_t c;

  if (size < 2)
    return 0;
  memset(&r, 0, sizeof(r));
  r.status = 100 + (long)(data[0] % 500);
  r.transport_error = data[1] & 1;
  aws_http_parse_error_body((const char *)data + 2, size - 2, &r);
  CHECK(memchr(r.error_type, 0, sizeof(r.error_type)) != NULL);
  CHECK(memchr(r.message, 0, sizeof(r.message)) != NULL);
  CHECK(strchr(r.error_type, '#') == NULL);
  CHECK(strchr(r.error_type, ':') == NULL);
  c = aws_http_classify(&r);
  if (r.transport_error)
    CHECK(c == AWS_HTTP_RETRY);
  else if (r.status >= 200 && r.status < 300)
    CHECK(c == AWS_HTTP_OK);
  CHECK(aws_http_class_name(c)[0] != '?');
  return 0;
}
