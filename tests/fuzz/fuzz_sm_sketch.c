/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: sm_sketch_text_decode (the text a sketch travels in between
 * the plugins). Whatever it accepts must be a sketch whose Values/Counts
 * keep its invariants: ascending distinct values, counts adding up to the
 * sample count, the minimum and maximum as the extremes; and it must
 * survive a merge and a round trip through its own text.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sm_sketch_text.h"

/* lenient: a sketch of non-integers read with tolerances may have no
 * Values (sm_sketch_values refuses what it cannot promise), but never
 * wrong ones. */
static void check(const sm_sketch_t *s, int lenient) {
  size_t cap = sm_sketch_values_max(s), k;
  double *v = malloc(cap * sizeof(*v)), *c = malloc(cap * sizeof(*c));
  double total = 0;

  if (v == NULL || c == NULL)
    abort();
  k = sm_sketch_values(s, v, c, cap);
  if (k == 0 && lenient) {
    free(v);
    free(c);
    return;
  }
  if (k == 0 || v[0] != sm_sketch_stat(s)->min ||
      v[k - 1] != sm_sketch_stat(s)->max)
    abort();
  for (size_t i = 0; i < k; i++) {
    if (!(c[i] >= 1) || (i > 0 && !(v[i] > v[i - 1])))
      abort();
    total += c[i];
  }
  if (total != (double)sm_sketch_stat(s)->count)
    abort();
  free(v);
  free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  char err[256];
  sm_sketch_t *s, *t;
  char *again;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  s = sm_sketch_text_decode(text, 4096, err, sizeof(err));
  free(text);
  if (s == NULL) {
    if (err[0] == 0)
      abort(); /* a refusal always says why */
    return 0;
  }
  check(s, 0);
  again = sm_sketch_text_encode(s);
  if (again == NULL)
    abort();
  t = sm_sketch_text_decode(again, 4096, err, sizeof(err));
  if (t == NULL || sm_sketch_stat(t)->count != sm_sketch_stat(s)->count ||
      sm_sketch_stat(t)->min != sm_sketch_stat(s)->min ||
      sm_sketch_stat(t)->max != sm_sketch_stat(s)->max)
    abort();
  if (sm_sketch_merge(t, s) != 0 ||
      sm_sketch_stat(t)->count != 2 * sm_sketch_stat(s)->count)
    abort();
  /* Beyond 2^53 samples a sketch has no exact Values (by design). */
  if ((double)sm_sketch_stat(t)->count < 9007199254740992.0)
    check(t, !sm_sketch_integral(t));
  free(again);
  sm_sketch_destroy(t);
  sm_sketch_destroy(s);
  return 0;
}
