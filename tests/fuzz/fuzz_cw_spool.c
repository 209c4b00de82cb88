/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the spool file reader. Any bytes are a spool file
 * (header, length, CRC, gzip) and, when that holds, their body is parsed
 * back into datums; bytes that look like JSON are also parsed as a body
 * directly (a fuzzer cannot forge a CRC and a gzip stream often). A
 * refusal always says why; an accepted datum carries what a datum needs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cw_spool.h"

static void check(const cw_datum_t *d, void *ud) {
  (void)ud;
  if (d->metric_name == NULL || d->num_dims > CW_MAX_DIMENSIONS ||
      (d->num_dims > 0 && d->dims == NULL) ||
      (d->kind == CW_KIND_VALUES && (d->values == NULL || d->num_values == 0 ||
                                     d->num_values > CW_MAX_VALUES)))
    abort();
  for (size_t i = 0; i < d->num_dims; i++)
    if (d->dims[i].name == NULL || d->dims[i].value == NULL)
      abort();
}

static void body(const char *b, size_t len) {
  char err[256];
  err[0] = 0;
  if (cw_spool_parse_body(b, len, check, NULL, err, sizeof(err)) < 0 &&
      err[0] == 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256], ns[300], *b = NULL, *text;
  size_t len = 0, datums = 0;

  err[0] = 0;
  if (cw_spool_decode_file(data, size, &b, &len, &datums, ns, sizeof(ns), err,
                           sizeof(err)) == 0) {
    body(b, len);
    free(b);
  } else if (err[0] == 0) {
    abort();
  }
  text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  body(text, size);
  free(text);
  return 0;
}
