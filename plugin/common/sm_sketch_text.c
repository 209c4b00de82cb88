/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch_text: a sketch as one line of text (see sm_sketch_text.h).
 *
 * One line, fields separated by single spaces:
 *   <version> <accuracy> <flags> <sum> <min> <max> <zero_count> [<bucket> ...]
 * version: 2 (cubic mapping) or 1 (logarithmic mapping). flags: "i"
 * integral, "c" collapsed, both, or "-". Each bucket is
 * <index>:<count>:<sum>, the first index absolute, the others as the
 * (positive) distance from the previous one; only non-empty buckets.
 * Doubles are written with 17 significant digits (exact round trip).
 */
#include "sm_sketch_text.h"
#include "sm_buf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: integers below it are exact in a double. */
#define EXACT_LIMIT 9007199254740992.0
/* Relative slack for a bucket's mean read back from text. */
#define MEAN_SLACK 1e-9

char *sm_sketch_text_encode(const sm_sketch_t *s) {
  sm_buf_t sb;
  int64_t prev = 0, idx = INT64_MIN;
  uint64_t c;
  double bsum;
  bool first = true;
  bool integral = sm_sketch_integral(s), collapsed = sm_sketch_collapsed(s);

  if (sm_sketch_count(s) == 0 || !sm_sketch_ok(s))
    return NULL;
  sm_buf_init(&sb, SM_SKETCH_TEXT_MAX);
  /* The version is the mapping: 1 and 2 as in sm_sketch_mapping_t. */
  sm_buf_printf(&sb, "%d %.17g %s%s%s %.17g %.17g %.17g %" PRIu64,
                (int)sm_sketch_mapping(s), sm_sketch_accuracy(s),
                integral ? "i" : "", collapsed ? "c" : "",
                (integral || collapsed) ? "" : "-", sm_sketch_sum(s),
                sm_sketch_min(s), sm_sketch_max(s), sm_sketch_zero_count(s));
  while (sm_sketch_bucket_next(s, idx, &idx, &c, &bsum)) {
    sm_buf_printf(&sb, " %" PRId64 ":%" PRIu64 ":%.17g",
                  first ? idx : idx - prev, c, bsum);
    prev = idx;
    first = false;
  }
  if (!sm_buf_ok(&sb)) {
    sm_buf_free(&sb);
    return NULL;
  }
  return sm_buf_take(&sb);
}

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || err_size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
}

/* Parses a finite double ending at one of the bytes in ends (or at the
 * end of the text when ends contains '\0'). */
static bool parse_double(const char **p, const char *ends, double *out) {
  char *end;
  /* strtod also takes "nan", "inf", hex and leading blanks: refuse them. */
  if (!((**p >= '0' && **p <= '9') || **p == '-' || **p == '.'))
    return false;
  for (const char *q = *p; *q != 0 && *q != ' ' && *q != ':'; q++)
    if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'i' ||
        *q == 'I')
      return false;
  errno = 0;
  *out = strtod(*p, &end);
  if (end == *p || errno == ERANGE || !isfinite(*out) ||
      strchr(ends, *end) == NULL)
    return false;
  *p = end;
  return true;
}

static bool parse_u64(const char **p, const char *ends, uint64_t *out) {
  char *end;
  if (!(**p >= '0' && **p <= '9'))
    return false;
  errno = 0;
  *out = strtoull(*p, &end, 10);
  if (errno == ERANGE || strchr(ends, *end) == NULL)
    return false;
  *p = end;
  return true;
}

static bool parse_i64(const char **p, const char *ends, int64_t *out) {
  char *end;
  if (!((**p >= '0' && **p <= '9') || **p == '-'))
    return false;
  errno = 0;
  long long v = strtoll(*p, &end, 10);
  if (errno == ERANGE || end == *p || strchr(ends, *end) == NULL)
    return false;
  *out = v;
  *p = end;
  return true;
}

/* Skips the single space between fields. */
static bool expect_space(const char **p) {
  if (**p != ' ')
    return false;
  (*p)++;
  return true;
}

/* A relative tolerance for comparing sums of the same doubles added in
 * another order. */
static bool close_enough(double a, double b) {
  return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Whether the mean of a bucket's samples lies within bucket idx (the
 * lowest bucket of a collapsed sketch holds everything below it too). */
static bool mean_in_bucket(const sm_sketch_t *s, int64_t idx, double mean,
                           bool open_below) {
  if (!(mean > 0))
    return false;
  if (sm_sketch_index(s, mean / (1 + MEAN_SLACK)) > idx)
    return false;
  return open_below || sm_sketch_index(s, mean / (1 - MEAN_SLACK)) >= idx;
}

sm_sketch_t *sm_sketch_text_decode(const char *text, size_t max_buckets,
                                   char *err, size_t err_size) {
  const char *p = text;
  double accuracy, sum, min, max;
  uint64_t zero, total;
  bool integral = false, collapsed = false;
  double bucket_sums = 0;
  int64_t idx = 0, first_idx = 0, at;
  size_t nb = 0;
  sm_sketch_mapping_t mapping;
  sm_sketch_t *s;

  if (text == NULL) {
    set_err(err, err_size, "no sketch");
    return NULL;
  }
  if (strncmp(p, "2 ", 2) == 0)
    mapping = SM_SKETCH_CUBIC;
  else if (strncmp(p, "1 ", 2) == 0)
    mapping = SM_SKETCH_LOG;
  else {
    set_err(err, err_size, "not a version 1 or 2 sketch");
    return NULL;
  }
  p += 2;
  if (!parse_double(&p, " ", &accuracy) || !expect_space(&p)) {
    set_err(err, err_size, "bad accuracy at offset %zu", (size_t)(p - text));
    return NULL;
  }
  if (*p == '-')
    p++;
  else {
    if (*p == 'i') {
      integral = true;
      p++;
    }
    if (*p == 'c') {
      collapsed = true;
      p++;
    }
    if (!integral && !collapsed) {
      set_err(err, err_size, "bad flags at offset %zu", (size_t)(p - text));
      return NULL;
    }
  }
  if (!expect_space(&p) || !parse_double(&p, " ", &sum) || !expect_space(&p) ||
      !parse_double(&p, " ", &min) || !expect_space(&p) ||
      !parse_double(&p, " ", &max) || !expect_space(&p) ||
      !parse_u64(&p, " ", &zero)) {
    set_err(err, err_size, "bad statistics at offset %zu", (size_t)(p - text));
    return NULL;
  }
  if (max_buckets > SM_SKETCH_MAX_MAX_BUCKETS)
    max_buckets = SM_SKETCH_MAX_MAX_BUCKETS;
  s = sm_sketch_create_mapped(accuracy, max_buckets, mapping);
  if (s == NULL) {
    set_err(err, err_size, "accuracy %g out of range or out of memory",
            accuracy);
    return NULL;
  }
  if (!(min >= 0) || !(min <= max) || sum < 0) {
    set_err(err, err_size, "minimum, maximum or sum out of order");
    goto fail;
  }
  if (zero > (uint64_t)EXACT_LIMIT) {
    set_err(err, err_size, "bad zero count");
    goto fail;
  }
  total = zero;
  while (*p != 0) {
    int64_t d;
    uint64_t c;
    double bsum;

    if (!expect_space(&p) || !parse_i64(&p, ":", &d) || *p++ != ':' ||
        !parse_u64(&p, ":", &c) || *p++ != ':' ||
        !parse_double(&p, " ", &bsum)) {
      set_err(err, err_size, "bad bucket at offset %zu", (size_t)(p - text));
      goto fail;
    }
    if (nb > 0 && d <= 0) {
      set_err(err, err_size, "bucket %zu: not after the previous one", nb);
      goto fail;
    }
    if (d < -INT64_C(100000000) || d > INT64_C(100000000)) {
      set_err(err, err_size, "bucket %zu: index out of range", nb);
      goto fail;
    }
    idx = nb == 0 ? d : idx + d;
    if (nb == 0)
      first_idx = idx;
    if ((uint64_t)(idx - first_idx) + 1 > max_buckets) {
      set_err(err, err_size, "more than %zu buckets", max_buckets);
      goto fail;
    }
    if (c == 0 || c > (uint64_t)EXACT_LIMIT || total + c < total ||
        total + c > (uint64_t)EXACT_LIMIT) {
      set_err(err, err_size, "bucket %zu: bad count", nb);
      goto fail;
    }
    if (!(bsum > 0) ||
        !mean_in_bucket(s, idx, bsum / (double)c, collapsed && nb == 0) ||
        (integral && bsum != floor(bsum))) {
      set_err(err, err_size, "bucket %zu: sum %.17g outside the bucket", nb,
              bsum);
      goto fail;
    }
    if (sm_sketch_load_bucket(s, idx, c, bsum) != 0) {
      set_err(err, err_size, "out of memory");
      goto fail;
    }
    total += c;
    bucket_sums += bsum;
    nb++;
  }
  if (total == 0) {
    set_err(err, err_size, "no samples");
    goto fail;
  }
  /* min in the first non-empty bucket, max in the last (an index only for
   * positive values: zero > 0 when min is 0, nb > 0 when max is not). */
  if ((zero > 0) != (min == 0) || (nb == 0) != (max == 0) ||
      (zero == 0 && !collapsed && sm_sketch_index(s, min) != first_idx) ||
      (zero == 0 && collapsed && sm_sketch_index(s, min) > first_idx) ||
      (nb > 0 && sm_sketch_index(s, max) != idx)) {
    set_err(err, err_size, "minimum or maximum outside its bucket");
    goto fail;
  }
  if (total == 1 && min != max) {
    set_err(err, err_size, "one sample but minimum and maximum differ");
    goto fail;
  }
  /* Each bucket's samples lie between min and max, min in the first
   * bucket and max in the last: what is left of a bucket without them
   * must still lie between the two. */
  at = INT64_MIN;
  for (size_t j = 0; j < nb; j++) {
    uint64_t c;
    double bs;
    /* Integers are exact; other sums were added in another order. */
    double slack = integral ? 0 : 1e-9 * max;
    double rel = integral ? 0 : 1e-12;

    if (!sm_sketch_bucket_next(s, at, &at, &c, &bs))
      break; /* cannot happen: nb buckets were loaded */
    if (j == 0 && zero == 0) {
      c--;
      bs -= min;
    }
    if (j == nb - 1 && total >= 2 && c > 0) {
      c--;
      bs -= max;
    }
    if (bs < (double)c * min * (1 - rel) - slack ||
        bs > (double)c * max * (1 + rel) + slack ||
        (c == 0 && fabs(bs) > slack)) {
      set_err(err, err_size,
              "bucket %" PRId64 ": sum %.17g does not fit between the "
              "minimum and the maximum",
              at, bs);
      goto fail;
    }
  }
  if (integral ? (sum != bucket_sums || min != floor(min) ||
                  max != floor(max) || sum >= EXACT_LIMIT)
               : !close_enough(sum, bucket_sums)) {
    set_err(err, err_size, "sum %.17g does not match the buckets' %.17g", sum,
            bucket_sums);
    goto fail;
  }
  sm_sketch_load_stats(s, total, zero, sum, min, max, integral, collapsed);
  {
    size_t cap = sm_sketch_values_max(s);
    double *v = malloc(cap * sizeof(*v)), *c = malloc(cap * sizeof(*c));
    size_t k = v != NULL && c != NULL ? sm_sketch_values(s, v, c, cap) : 0;
    free(v);
    free(c);
    if (k == 0) {
      set_err(err, err_size, "buckets out of order for their values");
      goto fail;
    }
  }
  return s;

fail:
  sm_sketch_destroy(s);
  return NULL;
}
