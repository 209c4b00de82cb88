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
#include "sm_text.h"

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
  const sm_stat_t *st = sm_sketch_stat(s);

  if (st->count == 0 || !sm_sketch_ok(s))
    return NULL;
  sm_buf_init(&sb, SM_SKETCH_TEXT_MAX);
  /* The version is the mapping: 1 and 2 as in sm_sketch_mapping_t. */
  sm_buf_printf(&sb, "%d %.17g %s%s%s %.17g %.17g %.17g %" PRIu64,
                (int)sm_sketch_mapping(s), sm_sketch_accuracy(s),
                integral ? "i" : "", collapsed ? "c" : "",
                (integral || collapsed) ? "" : "-", st->sum, st->min, st->max,
                sm_sketch_zero_count(s));
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

/* The fields before the buckets. */
typedef struct {
  sm_sketch_mapping_t mapping;
  double accuracy, sum, min, max;
  uint64_t zero;
  bool integral, collapsed;
} header_t;

/* The buckets read so far. */
typedef struct {
  uint64_t total;      /* samples: the zero count and the buckets' counts */
  double sums;         /* the buckets' sums, added in the text's order */
  int64_t first, last; /* the first and the last bucket's index */
  size_t n;            /* buckets */
} tally_t;

/* Reads the flags ("i", "c", "ic" or "-") at *p into h and moves *p past
 * them. Returns false (with the message in err) when there are none. */
static bool parse_flags(const char *text, const char **p, header_t *h,
                        char *err, size_t err_size) {
  h->integral = false;
  h->collapsed = false;
  if (**p == '-') {
    (*p)++;
    return true;
  }
  if (**p == 'i') {
    h->integral = true;
    (*p)++;
  }
  if (**p == 'c') {
    h->collapsed = true;
    (*p)++;
  }
  if (!h->integral && !h->collapsed) {
    sm_text_printf(err, err_size, "bad flags at offset %zu",
                   (size_t)(*p - text));
    return false;
  }
  return true;
}

/* Reads the fields before the buckets (version, accuracy, flags, sum,
 * minimum, maximum, zero count) into h, leaving *p where the buckets
 * start. Returns false (with the message in err) at the first bad one:
 * their syntax only, their values are checked once the sketch exists. */
static bool parse_header(const char *text, const char **p, header_t *h,
                         char *err, size_t err_size) {
  if (strncmp(*p, "2 ", 2) == 0)
    h->mapping = SM_SKETCH_CUBIC;
  else if (strncmp(*p, "1 ", 2) == 0)
    h->mapping = SM_SKETCH_LOG;
  else {
    sm_text_printf(err, err_size, "not a version 1 or 2 sketch");
    return false;
  }
  *p += 2;
  if (!parse_double(p, " ", &h->accuracy) || !expect_space(p)) {
    sm_text_printf(err, err_size, "bad accuracy at offset %zu",
                   (size_t)(*p - text));
    return false;
  }
  if (!parse_flags(text, p, h, err, err_size))
    return false;
  if (!expect_space(p) || !parse_double(p, " ", &h->sum) || !expect_space(p) ||
      !parse_double(p, " ", &h->min) || !expect_space(p) ||
      !parse_double(p, " ", &h->max) || !expect_space(p) ||
      !parse_u64(p, " ", &h->zero)) {
    sm_text_printf(err, err_size, "bad statistics at offset %zu",
                   (size_t)(*p - text));
    return false;
  }
  return true;
}

/* An empty sketch of the header's accuracy and mapping, once the header's
 * statistics are in order; NULL (with the message in err) otherwise or
 * when out of memory. */
static sm_sketch_t *header_sketch(const header_t *h, size_t max_buckets,
                                  char *err, size_t err_size) {
  sm_sketch_t *s =
      sm_sketch_create_mapped(h->accuracy, max_buckets, h->mapping);
  if (s == NULL) {
    sm_text_printf(err, err_size, "accuracy %g out of range or out of memory",
                   h->accuracy);
    return NULL;
  }
  if (!(h->min >= 0) || !(h->min <= h->max) || h->sum < 0) {
    sm_text_printf(err, err_size, "minimum, maximum or sum out of order");
    sm_sketch_destroy(s);
    return NULL;
  }
  if (h->zero > (uint64_t)EXACT_LIMIT) {
    sm_text_printf(err, err_size, "bad zero count");
    sm_sketch_destroy(s);
    return NULL;
  }
  return s;
}

/* Reads the bucket at *p (" <index>:<count>:<sum>"), checks that it comes
 * after the previous one, within max_buckets of the first, with a count
 * that keeps the total exact and a mean inside the bucket, and loads it
 * into s; t counts it. Returns false (with the message in err) when it
 * is bad or memory ran out. */
static bool read_bucket(const char *text, const char **p, const header_t *h,
                        size_t max_buckets, sm_sketch_t *s, tally_t *t,
                        char *err, size_t err_size) {
  int64_t d;
  uint64_t c;
  double bsum;

  if (!expect_space(p) || !parse_i64(p, ":", &d) || *(*p)++ != ':' ||
      !parse_u64(p, ":", &c) || *(*p)++ != ':' ||
      !parse_double(p, " ", &bsum)) {
    sm_text_printf(err, err_size, "bad bucket at offset %zu",
                   (size_t)(*p - text));
    return false;
  }
  if (t->n > 0 && d <= 0) {
    sm_text_printf(err, err_size, "bucket %zu: not after the previous one",
                   t->n);
    return false;
  }
  if (d < -INT64_C(100000000) || d > INT64_C(100000000)) {
    sm_text_printf(err, err_size, "bucket %zu: index out of range", t->n);
    return false;
  }
  t->last = t->n == 0 ? d : t->last + d;
  if (t->n == 0)
    t->first = t->last;
  if ((uint64_t)(t->last - t->first) + 1 > max_buckets) {
    sm_text_printf(err, err_size, "more than %zu buckets", max_buckets);
    return false;
  }
  if (c == 0 || c > (uint64_t)EXACT_LIMIT || t->total + c < t->total ||
      t->total + c > (uint64_t)EXACT_LIMIT) {
    sm_text_printf(err, err_size, "bucket %zu: bad count", t->n);
    return false;
  }
  if (!(bsum > 0) ||
      !mean_in_bucket(s, t->last, bsum / (double)c,
                      h->collapsed && t->n == 0) ||
      (h->integral && bsum != floor(bsum))) {
    sm_text_printf(err, err_size, "bucket %zu: sum %.17g outside the bucket",
                   t->n, bsum);
    return false;
  }
  if (sm_sketch_load_bucket(s, t->last, c, bsum) != 0) {
    sm_text_printf(err, err_size, "out of memory");
    return false;
  }
  t->total += c;
  t->sums += bsum;
  t->n++;
  return true;
}

/* Whether there are samples, the minimum lies in the first non-empty
 * bucket and the maximum in the last, and one sample is its own minimum
 * and maximum. Returns false (with the message in err) otherwise. */
static bool check_extremes(const sm_sketch_t *s, const header_t *h,
                           const tally_t *t, char *err, size_t err_size) {
  if (t->total == 0) {
    sm_text_printf(err, err_size, "no samples");
    return false;
  }
  /* min in the first non-empty bucket, max in the last (an index only for
   * positive values: zero > 0 when min is 0, a bucket when max is not). */
  if ((h->zero > 0) != (h->min == 0) || (t->n == 0) != (h->max == 0) ||
      (h->zero == 0 && !h->collapsed &&
       sm_sketch_index(s, h->min) != t->first) ||
      (h->zero == 0 && h->collapsed && sm_sketch_index(s, h->min) > t->first) ||
      (t->n > 0 && sm_sketch_index(s, h->max) != t->last)) {
    sm_text_printf(err, err_size, "minimum or maximum outside its bucket");
    return false;
  }
  if (t->total == 1 && h->min != h->max) {
    sm_text_printf(err, err_size, "one sample but minimum and maximum differ");
    return false;
  }
  return true;
}

/* Whether every bucket loaded into s fits between the minimum and the
 * maximum. Returns false (with the message in err) for the first that
 * does not. */
static bool check_bucket_sums(const sm_sketch_t *s, const header_t *h,
                              const tally_t *t, char *err, size_t err_size) {
  int64_t at = INT64_MIN;

  /* Each bucket's samples lie between min and max, min in the first
   * bucket and max in the last: what is left of a bucket without them
   * must still lie between the two. */
  for (size_t j = 0; j < t->n; j++) {
    uint64_t c;
    double bs;
    /* Integers are exact; other sums were added in another order. */
    double slack = h->integral ? 0 : 1e-9 * h->max;
    double rel = h->integral ? 0 : 1e-12;

    if (!sm_sketch_bucket_next(s, at, &at, &c, &bs))
      break; /* cannot happen: t->n buckets were loaded */
    if (j == 0 && h->zero == 0) {
      c--;
      bs -= h->min;
    }
    if (j == t->n - 1 && t->total >= 2 && c > 0) {
      c--;
      bs -= h->max;
    }
    if (bs < (double)c * h->min * (1 - rel) - slack ||
        bs > (double)c * h->max * (1 + rel) + slack ||
        (c == 0 && fabs(bs) > slack)) {
      sm_text_printf(err, err_size,
                     "bucket %" PRId64 ": sum %.17g does not fit between the "
                     "minimum and the maximum",
                     at, bs);
      return false;
    }
  }
  return true;
}

/* Whether the header's sum is the buckets' (exactly for integers, which
 * must also stay below 2^53, with their minimum and maximum; within
 * rounding otherwise). Returns false (with the message in err) if not. */
static bool check_sum(const header_t *h, const tally_t *t, char *err,
                      size_t err_size) {
  if (h->integral ? (h->sum != t->sums || h->min != floor(h->min) ||
                     h->max != floor(h->max) || h->sum >= EXACT_LIMIT)
                  : !close_enough(h->sum, t->sums)) {
    sm_text_printf(err, err_size, "sum %.17g does not match the buckets' %.17g",
                   h->sum, t->sums);
    return false;
  }
  return true;
}

/* Whether the complete sketch s has Values/Counts (sm_sketch_values checks
 * what its promises rest on). Returns false (with the message in err)
 * when it has none or memory ran out. */
static bool check_values(const sm_sketch_t *s, char *err, size_t err_size) {
  size_t cap = sm_sketch_values_max(s);
  double *v = malloc(cap * sizeof(*v)), *c = malloc(cap * sizeof(*c));
  size_t k = v != NULL && c != NULL ? sm_sketch_values(s, v, c, cap) : 0;

  free(v);
  free(c);
  if (k == 0) {
    sm_text_printf(err, err_size, "buckets out of order for their values");
    return false;
  }
  return true;
}

sm_sketch_t *sm_sketch_text_decode(const char *text, size_t max_buckets,
                                   char *err, size_t err_size) {
  const char *p = text;
  header_t h;
  tally_t t = {0};
  sm_sketch_t *s;

  if (text == NULL) {
    sm_text_printf(err, err_size, "no sketch");
    return NULL;
  }
  if (!parse_header(text, &p, &h, err, err_size))
    return NULL;
  if (max_buckets > SM_SKETCH_MAX_MAX_BUCKETS)
    max_buckets = SM_SKETCH_MAX_MAX_BUCKETS;
  s = header_sketch(&h, max_buckets, err, err_size);
  if (s == NULL)
    return NULL;
  t.total = h.zero;
  while (*p != 0)
    if (!read_bucket(text, &p, &h, max_buckets, s, &t, err, err_size))
      goto fail;
  if (!check_extremes(s, &h, &t, err, err_size) ||
      !check_bucket_sums(s, &h, &t, err, err_size) ||
      !check_sum(&h, &t, err, err_size))
    goto fail;
  sm_sketch_load_stats(s, t.total, h.zero, h.sum, h.min, h.max, h.integral,
                       h.collapsed);
  if (!check_values(s, err, err_size))
    goto fail;
  return s;

fail:
  sm_sketch_destroy(s);
  return NULL;
}
