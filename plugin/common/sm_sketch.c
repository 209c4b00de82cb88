/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch: log-bucket distribution sketch (see sm_sketch.h).
 *
 * Buckets live in one dense array covering [base, base + cap) of bucket
 * indices; lo..hi is the range of non-empty ones. The array grows (at most
 * to max_buckets) when a sample falls outside it, and the lowest buckets
 * are folded together when the range would need more than max_buckets.
 * Entries outside lo..hi are always zero, so that a reset clears only
 * the range the samples used.
 *
 * The cubic mapping keeps the bound. With v = 2^e (1 + s), L(v) = e + P(s)
 * rises with v (P is continuous at s = 1, P(1) = 1). Two samples of one
 * bucket differ by at most 1/m in L, so by at most (1/m) / D in ln v,
 * where D is the least slope of L against ln v:
 *   dL/d(ln v) = P'(s) (1 + s) = 10/7 + (2s/35) (3s - 2)^2 >= 10/7,
 * with P(s) = (6s^3 - 21s^2 + 50s)/35. With m = 7 / (10 ln g) they differ
 * by at most ln g: a factor g. m is taken a billionth larger, so that
 * the rounding of L (far below that, for any double) cannot cross it.
 */
#include "sm_sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: integers below it are exact in a double. */
#define EXACT_LIMIT 9007199254740992.0

/* The cubic's coefficients: P(s) = ((A s + B) s + C) s. */
#define CUBIC_A (6.0 / 35.0)
#define CUBIC_B (-21.0 / 35.0)
#define CUBIC_C (50.0 / 35.0)
/* 1 / (least slope of L against ln v) = 7/10; and the margin. */
#define CUBIC_SLOPE_INV 0.7
#define CUBIC_MARGIN (1 + 1e-9)

/* The bits of a double. */
#define MANTISSA_BITS 52
#define MANTISSA_MASK ((UINT64_C(1) << MANTISSA_BITS) - 1)
#define EXPONENT_BIAS 1023
#define EXPONENT_MASK 0x7ff
#define ONE_BITS (UINT64_C(0x3ff) << MANTISSA_BITS) /* 1.0 */
#define SUBNORMAL_SCALE 18446744073709551616.0      /* 2^64 */
#define SUBNORMAL_SHIFT 64

/* A bucket: its count and sum side by side, so that a sample touches one
 * cache line, not two. */
typedef struct {
  uint64_t count;
  double sum;
} bucket_t;

struct sm_sketch_s {
  double accuracy;
  sm_sketch_mapping_t mapping;
  double multiplier; /* m (cubic), or 1 / ln g (log) */
  size_t max_buckets;

  bucket_t *b; /* cap entries, bucket base + i */
  size_t cap;
  int64_t base;
  int64_t lo, hi; /* non-empty range; lo > hi when none */

  uint64_t zero_count;
  sm_stat_t st; /* of every sample added, zeros included */
  bool integral;
  bool collapsed;
  bool broken;
};

/* The multiplier m of the cubic mapping. */
static double cubic_multiplier(double accuracy) {
  return CUBIC_MARGIN * CUBIC_SLOPE_INV / log1p(accuracy);
}

size_t sm_sketch_buckets_for(double accuracy) {
  /* L(1) = 0 and L(2^53) = 53: buckets 0 to ceil(53 m). */
  double n = ceil(53 * cubic_multiplier(accuracy)) + 1;
  if (!(n >= SM_SKETCH_MIN_MAX_BUCKETS))
    return SM_SKETCH_MIN_MAX_BUCKETS;
  if (n > SM_SKETCH_MAX_MAX_BUCKETS)
    return SM_SKETCH_MAX_MAX_BUCKETS;
  return (size_t)n;
}

sm_sketch_t *sm_sketch_create_mapped(double accuracy, size_t max_buckets,
                                     sm_sketch_mapping_t mapping) {
  sm_sketch_t *s;

  if (!(accuracy >= SM_SKETCH_MIN_ACCURACY &&
        accuracy <= SM_SKETCH_MAX_ACCURACY) ||
      max_buckets < SM_SKETCH_MIN_MAX_BUCKETS ||
      max_buckets > SM_SKETCH_MAX_MAX_BUCKETS ||
      (mapping != SM_SKETCH_LOG && mapping != SM_SKETCH_CUBIC))
    return NULL;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->accuracy = accuracy;
  s->mapping = mapping;
  s->multiplier = mapping == SM_SKETCH_CUBIC ? cubic_multiplier(accuracy)
                                             : 1.0 / log1p(accuracy);
  s->max_buckets = max_buckets;
  s->lo = 1;
  s->hi = 0;
  sm_sketch_reset(s);
  return s;
}

sm_sketch_t *sm_sketch_create(double accuracy, size_t max_buckets) {
  return sm_sketch_create_mapped(accuracy, max_buckets, SM_SKETCH_CUBIC);
}

void sm_sketch_destroy(sm_sketch_t *s) {
  if (s == NULL)
    return;
  free(s->b);
  free(s);
}

void sm_sketch_reset(sm_sketch_t *s) {
  if (s->lo <= s->hi) {
    size_t from = (size_t)(s->lo - s->base), n = (size_t)(s->hi - s->lo) + 1;
    memset(s->b + from, 0, n * sizeof(*s->b));
  }
  s->lo = 1;
  s->hi = 0;
  s->zero_count = 0;
  sm_stat_reset(&s->st);
  s->integral = true;
  s->collapsed = false;
  s->broken = false;
}

/* ceil(x) for |x| well below 2^63, without a call into libm. */
static inline int64_t ceil_i64(double x) {
  int64_t i = (int64_t)x; /* towards zero: the ceiling when x <= 0 */
  return i + ((double)i < x);
}

/* The cubic mapping's bucket of a positive finite sample. */
static inline int64_t cubic_index(const sm_sketch_t *s, double v) {
  uint64_t bits, mbits;
  int e;
  double m1, f;

  memcpy(&bits, &v, sizeof(bits));
  e = (int)((bits >> MANTISSA_BITS) & EXPONENT_MASK);
  if (e == 0) { /* subnormal: scaled into the normal range */
    v *= SUBNORMAL_SCALE;
    memcpy(&bits, &v, sizeof(bits));
    e = (int)((bits >> MANTISSA_BITS) & EXPONENT_MASK) - SUBNORMAL_SHIFT;
  }
  mbits = (bits & MANTISSA_MASK) | ONE_BITS;
  memcpy(&m1, &mbits, sizeof(m1));
  f = m1 - 1; /* s, exactly */
  return ceil_i64(s->multiplier *
                  ((double)(e - EXPONENT_BIAS) +
                   ((CUBIC_A * f + CUBIC_B) * f + CUBIC_C) * f));
}

/* The bucket of a positive finite sample. Within +-7.6e5 for any double
 * and the smallest accuracy. */
static inline int64_t bucket_of(const sm_sketch_t *s, double v) {
  if (s->mapping == SM_SKETCH_CUBIC)
    return cubic_index(s, v);
  return (int64_t)ceil(log(v) * s->multiplier);
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
  bucket_t *b;

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
      s->b[lo - s->base].count += s->b[i - s->base].count;
      s->b[lo - s->base].sum += s->b[i - s->base].sum;
      s->b[i - s->base] = (bucket_t){0, 0};
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
  b = calloc(cap, sizeof(*b));
  if (b == NULL)
    return -1;
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++) {
      int64_t j = i < lo ? lo : i;
      b[j - base].count += s->b[i - s->base].count;
      b[j - base].sum += s->b[i - s->base].sum;
    }
  free(s->b);
  s->b = b;
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
  s->b[at - s->base].count += c;
  s->b[at - s->base].sum += sum;
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
  int64_t idx;

  if (!(v >= 0 && v < INFINITY))
    return -1;
  sm_stat_add(&s->st, v);
  /* An integer below 2^53, without a call to floor(). */
  if (s->integral && !(v < EXACT_LIMIT && (double)(int64_t)v == v))
    s->integral = false;
  if (v == 0) {
    s->zero_count++;
    return 0;
  }
  idx = bucket_of(s, v);
  /* The common case: a bucket the array already has. */
  if (idx >= s->base && idx < s->base + (int64_t)s->cap && s->lo <= s->hi) {
    s->b[idx - s->base].count++;
    s->b[idx - s->base].sum += v;
    if (idx < s->lo)
      s->lo = idx;
    else if (idx > s->hi)
      s->hi = idx;
    return 0;
  }
  return bucket_add(s, idx, 1, v);
}

int sm_sketch_add_many(sm_sketch_t *s, const double *v, size_t n) {
  /* sm_sketch_add's steps, with the statistics and the array's bounds in
   * locals: a bucket's store cannot change them, except through
   * bucket_add(), around which they are written back and read again. */
  uint64_t zero_count = s->zero_count;
  sm_stat_t st = s->st;
  bool integral = s->integral;
  bucket_t *b = s->b;
  int64_t base = s->base, end = s->base + (int64_t)s->cap;
  int64_t lo = s->lo, hi = s->hi;
  int rc = 0;

  for (size_t i = 0; i < n; i++) {
    double x = v[i];
    int64_t idx;

    if (!(x >= 0 && x < INFINITY)) {
      rc = -1;
      continue;
    }
    sm_stat_add(&st, x);
    if (integral && !(x < EXACT_LIMIT && (double)(int64_t)x == x))
      integral = false;
    if (x == 0) {
      zero_count++;
      continue;
    }
    idx = bucket_of(s, x);
    if (idx >= base && idx < end && lo <= hi) {
      b[idx - base].count++;
      b[idx - base].sum += x;
      if (idx < lo)
        lo = idx;
      else if (idx > hi)
        hi = idx;
      continue;
    }
    s->lo = lo;
    s->hi = hi;
    if (bucket_add(s, idx, 1, x) != 0)
      rc = -1;
    b = s->b;
    base = s->base;
    end = s->base + (int64_t)s->cap;
    lo = s->lo;
    hi = s->hi;
  }
  s->lo = lo;
  s->hi = hi;
  s->st = st;
  s->zero_count = zero_count;
  s->integral = integral;
  return rc;
}

int sm_sketch_merge(sm_sketch_t *dst, const sm_sketch_t *src) {
  if (src->accuracy != dst->accuracy || src->mapping != dst->mapping) {
    dst->broken = true;
    return -1;
  }
  if (src->st.count == 0)
    return 0;
  sm_stat_merge(&dst->st, &src->st);
  dst->zero_count += src->zero_count;
  dst->integral = dst->integral && src->integral;
  dst->collapsed = dst->collapsed || src->collapsed;
  dst->broken = dst->broken || src->broken;
  if (have_buckets(src) && dst->cap > 0 && src->lo >= dst->base &&
      src->hi < dst->base + (int64_t)dst->cap) {
    /* The common case (a page into its interval): dst's array already
     * spans src's buckets, and its entries outside lo..hi are zero. */
    bucket_t *to = dst->b + (src->lo - dst->base);
    const bucket_t *from = src->b + (src->lo - src->base);
    for (int64_t i = 0; i <= src->hi - src->lo; i++) {
      to[i].count += from[i].count;
      to[i].sum += from[i].sum;
    }
    if (!have_buckets(dst) || src->lo < dst->lo)
      dst->lo = src->lo;
    if (src->hi > dst->hi)
      dst->hi = src->hi;
  } else if (have_buckets(src)) {
    /* The highest bucket first: when dst must fold, it folds once. */
    for (int64_t i = src->hi; i >= src->lo; i--) {
      uint64_t c = src->b[i - src->base].count;
      if (c > 0 && bucket_add(dst, i, c, src->b[i - src->base].sum) != 0)
        return -1;
    }
  }
  return dst->broken ? -1 : 0;
}

sm_sketch_t *sm_sketch_clone(const sm_sketch_t *s) {
  sm_sketch_t *c =
      sm_sketch_create_mapped(s->accuracy, s->max_buckets, s->mapping);
  if (c == NULL)
    return NULL;
  if (sm_sketch_merge(c, s) != 0 && !s->broken) {
    sm_sketch_destroy(c);
    return NULL;
  }
  return c;
}

double sm_sketch_accuracy(const sm_sketch_t *s) { return s->accuracy; }
sm_sketch_mapping_t sm_sketch_mapping(const sm_sketch_t *s) {
  return s->mapping;
}
uint64_t sm_sketch_zero_count(const sm_sketch_t *s) { return s->zero_count; }
const sm_stat_t *sm_sketch_stat(const sm_sketch_t *s) { return &s->st; }
bool sm_sketch_integral(const sm_sketch_t *s) { return s->integral; }
bool sm_sketch_collapsed(const sm_sketch_t *s) { return s->collapsed; }
bool sm_sketch_ok(const sm_sketch_t *s) { return !s->broken; }

size_t sm_sketch_buckets(const sm_sketch_t *s) {
  size_t n = s->zero_count > 0;
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++)
      n += s->b[i - s->base].count > 0;
  return n;
}

size_t sm_sketch_memory(const sm_sketch_t *s) { return s->cap * sizeof(*s->b); }

size_t sm_sketch_values_max(const sm_sketch_t *s) {
  /* Every bucket, the minimum and maximum, and one split bucket. */
  return sm_sketch_buckets(s) + 3;
}

/* ------------------------------------------------------------ values */

/* What a bucket's samples leave to represent once the minimum and the
 * maximum are values of their own. */
typedef struct {
  uint64_t c;
  double sum;
} rest_t;

/* The non-empty buckets in order, zero first, with the minimum taken out
 * of the first and the maximum out of the last (when there are two
 * samples or more). Returns them malloc'ed (the caller frees) with their
 * number in *n; NULL when out of memory, or when no bucket holds a sample
 * (statistics loaded without their buckets). */
static rest_t *bucket_rests(const sm_sketch_t *s, size_t *n) {
  size_t nb = sm_sketch_buckets(s), bn = 0;
  rest_t *b = malloc(nb * sizeof(*b));

  if (b == NULL)
    return NULL;
  if (s->zero_count > 0)
    b[bn++] = (rest_t){s->zero_count, 0};
  if (have_buckets(s))
    for (int64_t i = s->lo; i <= s->hi; i++)
      if (s->b[i - s->base].count > 0)
        b[bn++] = (rest_t){s->b[i - s->base].count, s->b[i - s->base].sum};
  if (bn == 0) {
    /* Statistics loaded without a bucket to hold them: nothing to say. */
    free(b);
    return NULL;
  }
  b[0].c--;
  b[0].sum -= s->st.min;
  if (s->st.count >= 2) {
    b[bn - 1].c--;
    b[bn - 1].sum -= s->st.max;
  }
  *n = bn;
  return b;
}

/* Integer representatives, first step: floor(mean) for every non-empty
 * rest, appended at values[*k] and counts[*k] (*k moves on), and in *d
 * the remainder D = the sum of (sum mod count), for integer_remainder to
 * give back. Returns false for a damaged sketch (a negative rest: the
 * minimum and the maximum were not in their buckets). */
static bool integer_floors(const rest_t *b, size_t bn, double *values,
                           double *counts, size_t *k, uint64_t *d) {
  *d = 0;
  for (size_t j = 0; j < bn; j++) {
    uint64_t bs, q;
    if (b[j].c == 0)
      continue;
    if (!(b[j].sum >= 0)) /* damaged: min and max not in their buckets */
      return false;
    bs = (uint64_t)b[j].sum;
    q = bs / b[j].c;
    *d += bs - q * b[j].c;
    values[*k] = (double)q;
    counts[*k] = (double)b[j].c;
    (*k)++;
  }
  return true;
}

/* Integer representatives, second step: gives the remainder d > 0 back by
 * raising whole rests with a remainder to floor(mean) + 1 while d allows,
 * and by splitting one more rest between the two (one more entry: *k
 * moves on). A rest with a remainder has samples on both sides of its
 * mean, so both integers lie within its samples; the result adds up to
 * the exact sum. Their values start at values[first], in the order of b.
 * Returns false if d could not all be given back (cannot happen). */
static bool integer_remainder(const rest_t *b, size_t bn, double *values,
                              double *counts, size_t first, size_t *k,
                              uint64_t d) {
  size_t at = first, split = 0;
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
            (*k - split - 1) * sizeof(*values));
    memmove(&counts[split + 2], &counts[split + 1],
            (*k - split - 1) * sizeof(*counts));
    values[split + 1] = values[split] + 1;
    counts[split + 1] = (double)d;
    counts[split] -= (double)d;
    (*k)++;
    d = 0;
  }
  return d == 0; /* d > 0 cannot happen: see the comment above */
}

/* Representatives of other samples: every non-empty rest's mean (held
 * within the exact minimum and maximum), appended at values[k] and
 * counts[k]. Returns the new number of entries. */
static size_t mean_values(const sm_sketch_t *s, const rest_t *b, size_t bn,
                          double *values, double *counts, size_t k) {
  for (size_t j = 0; j < bn; j++) {
    double m;
    if (b[j].c == 0)
      continue;
    m = b[j].sum / (double)b[j].c;
    /* Rounding must not push a value past the exact extremes. */
    if (m < s->st.min)
      m = s->st.min;
    if (m > s->st.max)
      m = s->st.max;
    values[k] = m;
    counts[k] = (double)b[j].c;
    k++;
  }
  return k;
}

/* Makes equal neighbours among the k entries (the minimum and its
 * bucket's value, say) one value with their counts added: CloudWatch
 * wants each value once. Returns the new number of entries. */
static size_t merge_equal(double *values, double *counts, size_t k) {
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
  return out;
}

/* Whether the k entries keep the promises sm_sketch_values makes: values
 * ascending from the minimum to the maximum, counts adding up to the
 * sample count. A sketch of real samples always does; one read from
 * damaged text may not. */
static bool values_hold(const sm_sketch_t *s, const double *values,
                        const double *counts, size_t k) {
  double total = 0;

  for (size_t j = 0; j < k; j++) {
    if (j > 0 && !(values[j] > values[j - 1]))
      return false;
    total += counts[j];
  }
  return values[0] == s->st.min && values[k - 1] == s->st.max &&
         total == (double)s->st.count;
}

size_t sm_sketch_values(const sm_sketch_t *s, double *values, double *counts,
                        size_t max) {
  size_t k = 0, first_bucket, bn;
  rest_t *b;
  bool ok = true;

  /* Counts beyond 2^53 are not exact in a double: no Values then. */
  if (s->st.count == 0 || s->broken || max < sm_sketch_values_max(s) ||
      (double)s->st.count >= EXACT_LIMIT)
    return 0;
  b = bucket_rests(s, &bn);
  if (b == NULL)
    return 0;

  values[k] = s->st.min;
  counts[k] = 1;
  k++;
  first_bucket = k;
  if (s->integral && s->st.sum < EXACT_LIMIT) {
    uint64_t d;
    ok = integer_floors(b, bn, values, counts, &k, &d) &&
         (d == 0 ||
          integer_remainder(b, bn, values, counts, first_bucket, &k, d));
  } else
    k = mean_values(s, b, bn, values, counts, k);
  free(b);
  if (!ok)
    return 0;
  if (s->st.count >= 2) {
    values[k] = s->st.max;
    counts[k] = 1;
    k++;
  }

  k = merge_equal(values, counts, k);
  /* What sm_sketch.h promises, checked: a sketch read from damaged text
   * may fail, and then has no values. */
  return values_hold(s, values, counts, k) ? k : 0;
}

/* ------------------------------------------------------------ codecs */

int64_t sm_sketch_index(const sm_sketch_t *s, double v) {
  return v < INFINITY ? bucket_of(s, v) : INT64_MAX;
}

bool sm_sketch_bucket_next(const sm_sketch_t *s, int64_t after, int64_t *idx,
                           uint64_t *count, double *sum) {
  int64_t i;

  if (!have_buckets(s) || after >= s->hi)
    return false;
  for (i = after < s->lo ? s->lo : after + 1; i <= s->hi; i++)
    if (s->b[i - s->base].count > 0) {
      *idx = i;
      *count = s->b[i - s->base].count;
      *sum = s->b[i - s->base].sum;
      return true;
    }
  return false;
}

int sm_sketch_load_bucket(sm_sketch_t *s, int64_t idx, uint64_t count,
                          double sum) {
  return bucket_add(s, idx, count, sum);
}

void sm_sketch_load_stats(sm_sketch_t *s, uint64_t count, uint64_t zero_count,
                          double sum, double min, double max, bool integral,
                          bool collapsed) {
  s->st = (sm_stat_t){.count = count, .sum = sum, .min = min, .max = max};
  s->zero_count = zero_count;
  s->integral = integral;
  s->collapsed = s->collapsed || collapsed;
}
