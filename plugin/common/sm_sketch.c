/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch: log-bucket distribution sketch (see sm_sketch.h).
 *
 * Buckets live in one dense array covering [base, base + cap) of bucket
 * indices; lo..hi is the range of non-empty ones. The array grows (at most
 * to max_buckets) when a sample falls outside it, and the lowest buckets
 * are folded together when the range would need more than max_buckets.
 */
#include "sm_sketch.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: integers below it are exact in a double. */
#define EXACT_LIMIT 9007199254740992.0

struct sm_sketch_s {
  double accuracy;
  double inv_log_gamma; /* 1 / ln(1 + accuracy) */
  size_t max_buckets;

  uint64_t *counts; /* cap entries, bucket base + i */
  double *sums;
  size_t cap;
  int64_t base;
  int64_t lo, hi; /* non-empty range; lo > hi when none */

  uint64_t zero_count;
  uint64_t count;
  double sum;
  double min, max;
  bool integral;
  bool collapsed;
  bool broken;
};

size_t sm_sketch_buckets_for(double accuracy) {
  double n = ceil(53 * log(2) / log1p(accuracy)) + 1;
  if (!(n >= SM_SKETCH_MIN_MAX_BUCKETS))
    return SM_SKETCH_MIN_MAX_BUCKETS;
  if (n > SM_SKETCH_MAX_MAX_BUCKETS)
    return SM_SKETCH_MAX_MAX_BUCKETS;
  return (size_t)n;
}

sm_sketch_t *sm_sketch_create(double accuracy, size_t max_buckets) {
  sm_sketch_t *s;

  if (!(accuracy >= SM_SKETCH_MIN_ACCURACY &&
        accuracy <= SM_SKETCH_MAX_ACCURACY) ||
      max_buckets < SM_SKETCH_MIN_MAX_BUCKETS ||
      max_buckets > SM_SKETCH_MAX_MAX_BUCKETS)
    return NULL;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->accuracy = accuracy;
  s->inv_log_gamma = 1.0 / log1p(accuracy);
  s->max_buckets = max_buckets;
  sm_sketch_reset(s);
  return s;
}

void sm_sketch_destroy(sm_sketch_t *s) {
  if (s == NULL)
    return;
  free(s->counts);
  free(s->sums);
  free(s);
}

void sm_sketch_reset(sm_sketch_t *s) {
  if (s->cap > 0) {
    memset(s->counts, 0, s->cap * sizeof(*s->counts));
    memset(s->sums, 0, s->cap * sizeof(*s->sums));
  }
  s->lo = 1;
  s->hi = 0;
  s->zero_count = 0;
  s->count = 0;
  s->sum = 0;
  s->min = NAN;
  s->max = NAN;
  s->integral = true;
  s->collapsed = false;
  s->broken = false;
}

/* The bucket of a positive finite sample: ceil(log_g(v)). Within
 * +-7.5e6 for any double and the smallest accuracy. */
static int64_t bucket_of(const sm_sketch_t *s, double v) {
  return (int64_t)ceil(log(v) * s->inv_log_gamma);
}

/* Lower and upper bound of bucket i: (g^(i-1), g^i]. */
static double bucket_upper(const sm_sketch_t *s, int64_t i) {
  return exp((double)i / s->inv_log_gamma);
}

static bool have_buckets(const sm_sketch_t *s) { return s->lo <= s->hi; }

/* After folding every bucket below lo into lo: the non-empty range. */
static void fold_range(sm_sketch_t *s, int64_t lo) {
  if (!have_buckets(s) || s->lo >= lo)
    return;
  s->lo = lo;
  if (s->hi < lo)
    s->hi = lo;
}

/* Makes bucket idx storable: grows the array, or folds the lowest
 * buckets when the range would exceed max_buckets (a sample below the
 * kept range then goes to its lowest bucket). Sets *at to the bucket to
 * add to. Returns 0, or -1 when out of memory. */
static int make_room(sm_sketch_t *s, int64_t idx, int64_t *at) {
  int64_t lo = idx, hi = idx;
  size_t need, cap;
  int64_t base;
  uint64_t *counts;
  double *sums;

  if (s->cap > 0 && idx >= s->base && idx < s->base + (int64_t)s->cap) {
    *at = idx;
    return 0;
  }
  if (have_buckets(s)) {
    lo = s->lo < idx ? s->lo : idx;
    hi = s->hi > idx ? s->hi : idx;
  }
  if ((uint64_t)(hi - lo) + 1 > s->max_buckets) {
    lo = hi - (int64_t)s->max_buckets + 1;
    s->collapsed = true;
  }
  *at = idx < lo ? lo : idx;

  need = (size_t)(hi - lo) + 1;
  if (s->cap > 0 && lo >= s->base && hi < s->base + (int64_t)s->cap) {
    /* Only folding: in place. */
    for (int64_t i = s->lo; i < lo; i++) {
      s->counts[lo - s->base] += s->counts[i - s->base];
      s->sums[lo - s->base] += s->sums[i - s->base];
      s->counts[i - s->base] = 0;
      s->sums[i - s->base] = 0;
    }
    fold_range(s, lo);
    return 0;
  }

  /* Half the range again as spare room, on both sides: the range of a
   * timing settles after a few intervals, and memory follows it rather
   * than doubling towards max_buckets. */
  cap = need + need / 2;
  if (cap < 64)
    cap = 64;
  if (cap > s->max_buckets)
    cap = s->max_buckets;
  base = lo - (int64_t)(cap - need) / 2;
  counts = calloc(cap, sizeof(*counts));
  sums = calloc(cap, sizeof(*sums));
  if (counts == NULL || sums == NULL) {
    free(counts);
    free(sums);
    return -1;
  }
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++) {
      int64_t j = i < lo ? lo : i;
      counts[j - base] += s->counts[i - s->base];
      sums[j - base] += s->sums[i - s->base];
    }
  free(s->counts);
  free(s->sums);
  s->counts = counts;
  s->sums = sums;
  s->cap = cap;
  s->base = base;
  fold_range(s, lo);
  return 0;
}

/* Adds c samples summing to sum to bucket idx. */
static int bucket_add(sm_sketch_t *s, int64_t idx, uint64_t c, double sum) {
  int64_t at;

  if (make_room(s, idx, &at) != 0) {
    s->broken = true;
    return -1;
  }
  s->counts[at - s->base] += c;
  s->sums[at - s->base] += sum;
  if (!have_buckets(s)) {
    s->lo = at;
    s->hi = at;
  } else {
    if (at < s->lo)
      s->lo = at;
    if (at > s->hi)
      s->hi = at;
  }
  return 0;
}

int sm_sketch_add(sm_sketch_t *s, double v) {
  if (!(v >= 0) || isinf(v))
    return -1;
  if (s->count == 0 || v < s->min)
    s->min = v;
  if (s->count == 0 || v > s->max)
    s->max = v;
  s->count++;
  s->sum += v;
  if (s->integral && !(v == floor(v) && v < EXACT_LIMIT))
    s->integral = false;
  if (v == 0) {
    s->zero_count++;
    return 0;
  }
  return bucket_add(s, bucket_of(s, v), 1, v);
}

int sm_sketch_merge(sm_sketch_t *dst, const sm_sketch_t *src) {
  if (src->accuracy != dst->accuracy) {
    dst->broken = true;
    return -1;
  }
  if (src->count == 0)
    return 0;
  if (dst->count == 0 || src->min < dst->min)
    dst->min = src->min;
  if (dst->count == 0 || src->max > dst->max)
    dst->max = src->max;
  dst->count += src->count;
  dst->sum += src->sum;
  dst->zero_count += src->zero_count;
  dst->integral = dst->integral && src->integral;
  dst->collapsed = dst->collapsed || src->collapsed;
  dst->broken = dst->broken || src->broken;
  if (have_buckets(src)) {
    /* The highest bucket first: when dst must fold, it folds once. */
    for (int64_t i = src->hi; i >= src->lo; i--) {
      uint64_t c = src->counts[i - src->base];
      if (c > 0 && bucket_add(dst, i, c, src->sums[i - src->base]) != 0)
        return -1;
    }
  }
  return dst->broken ? -1 : 0;
}

sm_sketch_t *sm_sketch_clone(const sm_sketch_t *s) {
  sm_sketch_t *c = sm_sketch_create(s->accuracy, s->max_buckets);
  if (c == NULL)
    return NULL;
  if (sm_sketch_merge(c, s) != 0 && !s->broken) {
    sm_sketch_destroy(c);
    return NULL;
  }
  return c;
}

double sm_sketch_accuracy(const sm_sketch_t *s) { return s->accuracy; }
uint64_t sm_sketch_count(const sm_sketch_t *s) { return s->count; }
double sm_sketch_sum(const sm_sketch_t *s) { return s->sum; }
double sm_sketch_min(const sm_sketch_t *s) { return s->min; }
double sm_sketch_max(const sm_sketch_t *s) { return s->max; }
bool sm_sketch_integral(const sm_sketch_t *s) { return s->integral; }
bool sm_sketch_collapsed(const sm_sketch_t *s) { return s->collapsed; }
bool sm_sketch_ok(const sm_sketch_t *s) { return !s->broken; }

size_t sm_sketch_buckets(const sm_sketch_t *s) {
  size_t n = s->zero_count > 0;
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++)
      n += s->counts[i - s->base] > 0;
  return n;
}

size_t sm_sketch_memory(const sm_sketch_t *s) {
  return s->cap * (sizeof(*s->counts) + sizeof(*s->sums));
}

size_t sm_sketch_values_max(const sm_sketch_t *s) {
  /* Every bucket, the minimum and maximum, and one split bucket. */
  return sm_sketch_buckets(s) + 3;
}

/* ------------------------------------------------------------ values */

size_t sm_sketch_values(const sm_sketch_t *s, double *values, double *counts,
                        size_t max) {
  size_t k = 0, first_bucket, nb;
  bool exact_int;
  int64_t i;
  typedef struct {
    uint64_t c;
    double sum;
  } cs_t;
  cs_t *b;
  size_t bn = 0;

  /* Counts beyond 2^53 are not exact in a double: no Values then. */
  if (s->count == 0 || s->broken || max < sm_sketch_values_max(s) ||
      (double)s->count >= EXACT_LIMIT)
    return 0;

  /* The buckets, zero first, with min and max taken out. */
  nb = sm_sketch_buckets(s);
  b = malloc(nb * sizeof(*b));
  if (b == NULL)
    return 0;
  if (s->zero_count > 0)
    b[bn++] = (cs_t){s->zero_count, 0};
  if (have_buckets(s))
    for (i = s->lo; i <= s->hi; i++)
      if (s->counts[i - s->base] > 0)
        b[bn++] = (cs_t){s->counts[i - s->base], s->sums[i - s->base]};
  b[0].c--;
  b[0].sum -= s->min;
  if (s->count >= 2) {
    b[bn - 1].c--;
    b[bn - 1].sum -= s->max;
  }

  values[k] = s->min;
  counts[k] = 1;
  k++;
  first_bucket = k;

  exact_int = s->integral && s->sum < EXACT_LIMIT;
  if (exact_int) {
    /* Integer representatives: floor(mean) for every bucket, then the
     * remainder D = sum of (sum mod count) is given back by raising whole
     * buckets with a remainder to floor(mean) + 1 while D allows, and by
     * splitting one more bucket between the two. A bucket with a remainder
     * has samples on both sides of its mean, so both integers lie within
     * its samples; the result adds up to the exact sum. */
    uint64_t d = 0;
    for (size_t j = 0; j < bn; j++) {
      uint64_t bs, q;
      if (b[j].c == 0)
        continue;
      if (!(b[j].sum >= 0)) { /* damaged: min and max not in their buckets */
        free(b);
        return 0;
      }
      bs = (uint64_t)b[j].sum;
      q = bs / b[j].c;
      d += bs - q * b[j].c;
      values[k] = (double)q;
      counts[k] = (double)b[j].c;
      k++;
    }
    if (d > 0) {
      size_t at = first_bucket, split = 0;
      bool have_split = false;
      for (size_t j = 0; j < bn; j++) {
        uint64_t bs, r;
        if (b[j].c == 0)
          continue;
        bs = (uint64_t)b[j].sum;
        r = bs % b[j].c;
        if (r > 0) {
          if (d >= b[j].c) {
            values[at] += 1;
            d -= b[j].c;
          } else if (!have_split) {
            split = at;
            have_split = true;
          }
        }
        at++;
      }
      if (d > 0 && have_split) {
        /* b[split] was skipped when D was below its count; D only went
         * down since: it still fits. */
        memmove(&values[split + 2], &values[split + 1],
                (k - split - 1) * sizeof(*values));
        memmove(&counts[split + 2], &counts[split + 1],
                (k - split - 1) * sizeof(*counts));
        values[split + 1] = values[split] + 1;
        counts[split + 1] = (double)d;
        counts[split] -= (double)d;
        k++;
        d = 0;
      }
      if (d > 0) { /* cannot happen: see the comment above */
        free(b);
        return 0;
      }
    }
  } else {
    for (size_t j = 0; j < bn; j++) {
      double m;
      if (b[j].c == 0)
        continue;
      m = b[j].sum / (double)b[j].c;
      /* Rounding must not push a value past the exact extremes. */
      if (m < s->min)
        m = s->min;
      if (m > s->max)
        m = s->max;
      values[k] = m;
      counts[k] = (double)b[j].c;
      k++;
    }
  }
  free(b);

  if (s->count >= 2) {
    values[k] = s->max;
    counts[k] = 1;
    k++;
  }

  /* Equal neighbours (the minimum and its bucket's value, say) become one
   * value: CloudWatch wants each value once. */
  {
    size_t out = 0;
    for (size_t j = 0; j < k; j++) {
      if (out > 0 && values[j] == values[out - 1]) {
        counts[out - 1] += counts[j];
        continue;
      }
      values[out] = values[j];
      counts[out] = counts[j];
      out++;
    }
    k = out;
  }
  /* What the promises above rest on, checked: values ascending from the
   * minimum to the maximum, counts adding up. A sketch of real samples
   * always passes; one read from damaged text may not, and then has no
   * values. */
  {
    double total = 0;
    for (size_t j = 0; j < k; j++) {
      if (j > 0 && !(values[j] > values[j - 1]))
        return 0;
      total += counts[j];
    }
    if (values[0] != s->min || values[k - 1] != s->max ||
        total != (double)s->count)
      return 0;
  }
  return k;
}

/* ------------------------------------------------------------ text form */

/*
 * One line, fields separated by single spaces:
 *   1 <accuracy> <flags> <sum> <min> <max> <zero_count> [<bucket> ...]
 * flags: "i" integral, "c" collapsed, both, or "-". Each bucket is
 * <index>:<count>:<sum>, the first index absolute, the others as the
 * (positive) distance from the previous one; only non-empty buckets.
 * Doubles are written with 17 significant digits (exact round trip).
 */
typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} strbuf_t;

__attribute__((format(printf, 2, 3))) static void
sb_printf(strbuf_t *sb, const char *fmt, ...) {
  va_list ap;
  int n;

  if (sb->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      sb->failed = true;
      return;
    }
    if ((size_t)n < sb->cap - sb->len) {
      sb->len += (size_t)n;
      return;
    }
    size_t cap = sb->cap * 2 + (size_t)n + 1;
    char *p = realloc(sb->buf, cap);
    if (p == NULL) {
      sb->failed = true;
      return;
    }
    sb->buf = p;
    sb->cap = cap;
  }
}

char *sm_sketch_encode(const sm_sketch_t *s) {
  strbuf_t sb = {.cap = 256};
  int64_t prev = 0;
  bool first = true;

  if (s->count == 0 || s->broken)
    return NULL;
  sb.buf = malloc(sb.cap);
  if (sb.buf == NULL)
    return NULL;
  sb_printf(&sb, "1 %.17g %s%s%s %.17g %.17g %.17g %" PRIu64, s->accuracy,
            s->integral ? "i" : "", s->collapsed ? "c" : "",
            (s->integral || s->collapsed) ? "" : "-", s->sum, s->min, s->max,
            s->zero_count);
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++) {
      uint64_t c = s->counts[i - s->base];
      if (c == 0)
        continue;
      sb_printf(&sb, " %" PRId64 ":%" PRIu64 ":%.17g", first ? i : i - prev, c,
                s->sums[i - s->base]);
      prev = i;
      first = false;
    }
  if (sb.failed) {
    free(sb.buf);
    return NULL;
  }
  return sb.buf;
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

sm_sketch_t *sm_sketch_decode(const char *text, size_t max_buckets, char *err,
                              size_t err_size) {
  const char *p = text;
  double accuracy, sum, min, max;
  uint64_t zero, total;
  bool integral = false, collapsed = false;
  double bucket_sums = 0;
  int64_t idx = 0, first_idx = 0;
  size_t nb = 0;
  sm_sketch_t *s;

  if (text == NULL) {
    set_err(err, err_size, "no sketch");
    return NULL;
  }
  if (strncmp(p, "1 ", 2) != 0) {
    set_err(err, err_size, "not a version 1 sketch");
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
  s = sm_sketch_create(accuracy, max_buckets);
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
    double bsum, lo, hi;

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
    /* The mean must lie within the bucket (the lowest bucket of a
     * collapsed sketch holds everything below it too). */
    lo = bucket_upper(s, idx - 1) * (1 - 1e-9);
    hi = bucket_upper(s, idx) * (1 + 1e-9);
    if (!(bsum <= hi * (double)c) ||
        (!(collapsed && nb == 0) && !(bsum >= lo * (double)c)) || !(bsum > 0) ||
        (integral && bsum != floor(bsum))) {
      set_err(err, err_size, "bucket %zu: sum %.17g outside the bucket", nb,
              bsum);
      goto fail;
    }
    if (bucket_add(s, idx, c, bsum) != 0) {
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
  /* min in the first non-empty bucket, max in the last. */
  /* (bucket_of only for positive values) */
  if ((zero > 0) != (min == 0) || (nb == 0) != (max == 0) ||
      (zero == 0 && !collapsed && bucket_of(s, min) != first_idx) ||
      (zero == 0 && collapsed && bucket_of(s, min) > first_idx) ||
      (nb > 0 && bucket_of(s, max) != idx)) {
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
  for (int64_t i = s->lo; i <= s->hi; i++) {
    uint64_t c = s->counts[i - s->base];
    double bs = s->sums[i - s->base];
    /* Integers are exact; other sums were added in another order. */
    double slack = integral ? 0 : 1e-9 * max;
    double rel = integral ? 0 : 1e-12;
    if (c == 0)
      continue;
    if (i == s->lo && zero == 0) {
      c--;
      bs -= min;
    }
    if (i == s->hi && total >= 2 && c > 0) {
      c--;
      bs -= max;
    }
    if (bs < (double)c * min * (1 - rel) - slack ||
        bs > (double)c * max * (1 + rel) + slack ||
        (c == 0 && fabs(bs) > slack)) {
      set_err(err, err_size,
              "bucket %" PRId64 ": sum %.17g does not fit between the "
              "minimum and the maximum",
              i, bs);
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
  s->count = total;
  s->zero_count = zero;
  s->sum = sum;
  s->min = min;
  s->max = max;
  s->integral = integral;
  s->collapsed = collapsed;
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
