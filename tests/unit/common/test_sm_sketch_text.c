/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch_text: the text form in both its versions. Version 2 (cubic
 * mapping) is what a sketch is written as now; version 1 (logarithmic
 * mapping) is what an older sagemaker_async writes, and must still be read
 * during an upgrade. The expected texts were computed apart from this code
 * (Python's math module: ceil(ln v / ln 1.01) for version 1; v = 2^e (1+s),
 * ceil(0.7 (1 + 1e-9) / ln 1.01 * (e + (6s^3 - 21s^2 + 50s) / 35)) for
 * version 2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_sketch.h"
#include "sm_sketch_text.h"
#include "tap.h"

/* 1, 10, 11, 100, 1000, 1000, 12345 at 1%, in both versions. */
static const double samples[] = {1, 10, 11, 100, 1000, 1000, 12345};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))
static const char v1_text[] = "1 0.01 i 14467 1 12345 0 0:1:1 232:1:10 9:1:11 "
                              "222:1:100 232:2:2000 252:1:12345";
static const char v2_text[] = "2 0.01 i 14467 1 12345 0 0:1:1 234:1:10 "
                              "10:1:11 224:1:100 234:2:2000 255:1:12345";

/* The Values/Counts of s as "v*c v*c ...". */
static void values_of(const sm_sketch_t *s, char *out, size_t size) {
  double v[16], c[16];
  size_t k = sm_sketch_values(s, v, c, 16), used = 0;

  out[0] = 0;
  for (size_t i = 0; i < k && used < size; i++) {
    int n =
        snprintf(out + used, size - used, "%s%g*%g", i ? " " : "", v[i], c[i]);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}

static void test_writes_version_2(void) {
  sm_sketch_t *s = sm_sketch_create(0.01, 4096);
  char *text;

  for (size_t i = 0; i < NSAMPLES; i++)
    sm_sketch_add(s, samples[i]);
  T_EQ_INT(sm_sketch_mapping(s), SM_SKETCH_CUBIC, "a new sketch is cubic");
  text = sm_sketch_text_encode(s);
  T_OK(text != NULL && strcmp(text, v2_text) == 0,
       "written as version 2 with the cubic buckets: %s", text ? text : "");
  free(text);
  sm_sketch_destroy(s);
}

/* Each version reads back into a sketch of its mapping, with the same
 * values, and writes the same text again. */
static void test_reads_both(void) {
  static const struct {
    const char *text;
    sm_sketch_mapping_t mapping;
  } cases[] = {{v1_text, SM_SKETCH_LOG}, {v2_text, SM_SKETCH_CUBIC}};
  char err[160], got[256];

  for (size_t i = 0; i < 2; i++) {
    sm_sketch_t *s = sm_sketch_text_decode(cases[i].text, 4096, err, 160);
    char *again;

    T_OK(s != NULL, "version %d reads (%s)", (int)cases[i].mapping,
         s ? "ok" : err);
    if (s == NULL)
      continue;
    T_EQ_INT(sm_sketch_mapping(s), cases[i].mapping, "... with its mapping");
    T_OK(sm_sketch_stat(s)->count == NSAMPLES &&
             sm_sketch_stat(s)->sum == 14467 && sm_sketch_stat(s)->min == 1 &&
             sm_sketch_stat(s)->max == 12345,
         "... count, sum, minimum and maximum");
    values_of(s, got, sizeof(got));
    T_OK(strcmp(got, "1*1 10*1 11*1 100*1 1000*2 12345*1") == 0,
         "... every sample its own value: %s", got);
    again = sm_sketch_text_encode(s);
    T_OK(again != NULL && strcmp(again, cases[i].text) == 0,
         "... and writes the same text again");
    free(again);
    /* A sample added to a sketch read back goes to that mapping's
     * bucket: 10 next to the 10 already there. */
    sm_sketch_add(s, 10);
    again = sm_sketch_text_encode(s);
    T_OK(again != NULL && strstr(again, i == 0 ? " 232:2:20 " : " 234:2:20 "),
         "... and adds to its own buckets: %s", again ? again : "");
    free(again);
    sm_sketch_destroy(s);
  }
}

static void test_versions_kept_apart(void) {
  char err[160] = "";
  sm_sketch_t *v1 = sm_sketch_text_decode(v1_text, 4096, err, sizeof(err));
  sm_sketch_t *v2 = sm_sketch_text_decode(v2_text, 4096, err, sizeof(err));
  sm_sketch_t *s;

  T_OK(v1 != NULL && v2 != NULL, "both versions read");
  T_OK(v1 != NULL && v2 != NULL && sm_sketch_merge(v2, v1) == -1 &&
           !sm_sketch_ok(v2),
       "sketches of two mappings do not merge (the result is broken)");
  sm_sketch_destroy(v1);
  sm_sketch_destroy(v2);

  /* 10's bucket is 232 in the one and 234 in the other. */
  s = sm_sketch_text_decode("1 0.01 i 10 10 10 0 234:1:10", 4096, err,
                            sizeof(err));
  T_OK(s == NULL && err[0] != 0, "version 1 with a cubic bucket refused: %s",
       err);
  sm_sketch_destroy(s);
  err[0] = 0;
  s = sm_sketch_text_decode("2 0.01 i 10 10 10 0 232:1:10", 4096, err,
                            sizeof(err));
  T_OK(s == NULL && err[0] != 0,
       "version 2 with a logarithmic bucket refused: %s", err);
  sm_sketch_destroy(s);
  err[0] = 0;
  s = sm_sketch_text_decode("2 0.01 i 10 10 10 0 234:1:10", 4096, err,
                            sizeof(err));
  T_OK(s != NULL && sm_sketch_stat(s)->count == 1, "... and with its own read");
  sm_sketch_destroy(s);
  err[0] = 0;
  s = sm_sketch_text_decode("3 0.01 i 10 10 10 0 234:1:10", 4096, err,
                            sizeof(err));
  T_OK(s == NULL && strstr(err, "version") != NULL,
       "an unknown version refused: %s", err);
  sm_sketch_destroy(s);
}

/* A larger sketch of either mapping through its text: the values are
 * those of the sketch itself. */
static void test_round_trip(void) {
  for (int m = SM_SKETCH_LOG; m <= SM_SKETCH_CUBIC; m++) {
    sm_sketch_t *s =
        sm_sketch_create_mapped(0.001, 65536, (sm_sketch_mapping_t)m);
    sm_sketch_t *t;
    char *text;
    char err[160];
    double v1[4096], c1[4096], v2[4096], c2[4096];
    size_t k1, k2;
    double x = 1;

    for (int i = 0; i < 3000; i++) {
      x = fmod(x * 1.37 + 17, 1e7);
      sm_sketch_add(s, floor(x));
    }
    text = sm_sketch_text_encode(s);
    t = sm_sketch_text_decode(text, 65536, err, sizeof(err));
    T_OK(t != NULL, "mapping %d: 3000 samples read back (%s)", m,
         t ? "ok" : err);
    k1 = sm_sketch_values(s, v1, c1, 4096);
    k2 = t ? sm_sketch_values(t, v2, c2, 4096) : 0;
    T_OK(k1 > 0 && k1 == k2 && memcmp(v1, v2, k1 * sizeof(*v1)) == 0 &&
             memcmp(c1, c2, k1 * sizeof(*c1)) == 0,
         "... with the same %zu values", k1);
    free(text);
    sm_sketch_destroy(s);
    sm_sketch_destroy(t);
  }
}

int main(void) {
  test_writes_version_2();
  test_reads_both();
  test_versions_kept_apart();
  test_round_trip();
  return t_done();
}
