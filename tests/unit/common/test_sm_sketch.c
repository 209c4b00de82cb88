/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch: property tests. For many seeded distributions, sizes and
 * accuracies, the Values/Counts a sketch publishes are compared with the
 * raw samples: every p50/p90/p99/p99.9 (nearest-rank and interpolated, as
 * a reader of the values would compute them) within the accuracy of the
 * exact percentile, and SampleCount, Sum, Minimum and Maximum exact. The
 * sketch is also built the ways the plugins build it: merged from parts
 * and carried through its text form.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_sketch.h"
#include "tap.h"

/* ------------------------------------------------------------ samples */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform01(void) { /* (0, 1) */
  return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void) {
  return sqrt(-2 * log(uniform01())) * cos(2 * M_PI * uniform01());
}

typedef enum {
  D_LOGNORMAL,  /* model latency around 20 ms, integer us */
  D_BIMODAL,    /* cache hits at 2 ms and misses at 800 ms */
  D_CONSTANT,   /* every request the same */
  D_HEAVY_TAIL, /* Pareto, shape 1.1 */
  D_SPAN,       /* log-uniform from 1 us to one hour */
  D_SMALL_INTS, /* 0..40 with zeros: milliseconds of a fast model */
  D_DOUBLES,    /* non-integer samples (the general case) */
  D_TWO_VALUES, /* exactly two distinct values */
  D_NUM
} dist_t;

static const char *const dist_names[D_NUM] = {
    "lognormal", "bimodal",    "constant", "heavy-tail",
    "1us-1h",    "small-ints", "doubles",  "two-values"};

static double sample(dist_t d) {
  switch (d) {
  case D_LOGNORMAL:
    return round(exp(log(20000) + 0.8 * normal()));
  case D_BIMODAL:
    return uniform01() < 0.7 ? round(exp(log(2000) + 0.2 * normal()))
                             : round(exp(log(800000) + 0.3 * normal()));
  case D_CONSTANT:
    return 4242;
  case D_HEAVY_TAIL: {
    double v = round(1000 * pow(uniform01(), -1 / 1.1));
    return v < 1e12 ? v : 1e12;
  }
  case D_SPAN:
    return round(exp(log(3.6e9) * uniform01()));
  case D_SMALL_INTS:
    return (double)(rng_next() % 41);
  case D_DOUBLES:
    return exp(log(12.5) + 1.2 * normal());
  case D_TWO_VALUES:
    return uniform01() < 0.5 ? 7 : 1000007;
  case D_NUM:
    break;
  }
  return 0;
}

/* -------------------------------------------------------- percentiles */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The r-th smallest (0-based) of Values/Counts. */
static double nth_value(const double *v, const double *c, size_t k,
                        uint64_t r) {
  uint64_t seen = 0;
  for (size_t i = 0; i < k; i++) {
    seen += (uint64_t)c[i];
    if (r < seen)
      return v[i];
  }
  return NAN;
}

static uint64_t nearest_rank(double p, uint64_t n) {
  double r = ceil(p * (double)n);
  return r < 1 ? 0 : (uint64_t)r - 1;
}

/* ----------------------------------------------------------- checking */

typedef struct {
  int failures; /* properties broken (each reported once per case) */
  double worst; /* largest relative percentile error seen */
  size_t max_values;
} summary_t;

/* Checks the published values of s against the sorted samples x[0..n). */
static void check_values(const sm_sketch_t *s, const double *x, size_t n,
                         double accuracy, const char *what, summary_t *sum) {
  size_t cap = sm_sketch_values_max(s);
  double *v = malloc(cap * sizeof(*v)), *c = malloc(cap * sizeof(*c));
  size_t k = sm_sketch_values(s, v, c, cap);
  static const double ps[] = {0.5, 0.9, 0.99, 0.999};
  uint64_t total = 0;
  long double vsum = 0, xsum = 0;
  int bad = 0;

  if (k == 0 || k > cap) {
    T_OK(0, "%s: %zu values", what, k);
    sum->failures++;
    goto out;
  }
  if (k > sum->max_values)
    sum->max_values = k;
  for (size_t i = 0; i < k; i++) {
    if (!(c[i] >= 1) || c[i] != floor(c[i]) || (i > 0 && !(v[i] > v[i - 1])))
      bad = 1;
    total += (uint64_t)c[i];
    vsum += (long double)v[i] * (long double)c[i];
  }
  for (size_t i = 0; i < n; i++)
    xsum += x[i];
  if (bad) {
    T_OK(0, "%s: values ascending and distinct, counts positive integers",
         what);
    sum->failures++;
  }
  if (total != n || sm_sketch_stat(s)->count != n) {
    T_OK(0, "%s: SampleCount %" PRIu64 " == %zu", what, total, n);
    sum->failures++;
  }
  if (v[0] != x[0] || v[k - 1] != x[n - 1]) {
    T_OK(0, "%s: Minimum %.17g == %.17g, Maximum %.17g == %.17g", what, v[0],
         x[0], v[k - 1], x[n - 1]);
    sum->failures++;
  }
  if (sm_sketch_integral(s) ? vsum != xsum
                            : fabsl(vsum - xsum) > 1e-12L * fabsl(xsum)) {
    T_OK(0, "%s: Sum %.17Lg == %.17Lg", what, vsum, xsum);
    sum->failures++;
  }
  for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
    /* nearest rank */
    uint64_t r = nearest_rank(ps[i], n);
    double want = x[r], got = nth_value(v, c, k, r);
    double err = want == 0 ? fabs(got) : fabs(got - want) / want;
    /* interpolated between the two ranks around (n - 1) p */
    double h = (double)(n - 1) * ps[i];
    uint64_t lo = (uint64_t)floor(h);
    uint64_t hi = lo + 1 < n ? lo + 1 : lo;
    double f = h - (double)lo;
    double want_i = x[lo] + f * (x[hi] - x[lo]);
    double got_i = nth_value(v, c, k, lo) +
                   f * (nth_value(v, c, k, hi) - nth_value(v, c, k, lo));
    double err_i = want_i == 0 ? fabs(got_i) : fabs(got_i - want_i) / want_i;

    if (err > sum->worst)
      sum->worst = err;
    if (err_i > sum->worst)
      sum->worst = err_i;
    if (!(err <= accuracy * (1 + 1e-9)) || !(err_i <= accuracy * (1 + 1e-9))) {
      T_OK(0,
           "%s: p%g nearest-rank %.17g vs exact %.17g (error %g), "
           "interpolated %.17g vs %.17g (error %g), bound %g",
           what, ps[i] * 100, got, want, err, got_i, want_i, err_i, accuracy);
      sum->failures++;
    }
  }
out:
  free(v);
  free(c);
}

/* One case: n samples of d; the sketch built three ways. */
static void run_case(dist_t d, size_t n, uint64_t seed, double accuracy,
                     summary_t *sum) {
  double *x = malloc(n * sizeof(*x));
  size_t maxb = sm_sketch_buckets_for(accuracy);
  sm_sketch_t *whole = sm_sketch_create(accuracy, maxb);
  sm_sketch_t *merged = sm_sketch_create(accuracy, maxb);
  sm_sketch_t *part = sm_sketch_create(accuracy, maxb);
  sm_sketch_t *decoded;
  char what[160], err[160];
  char *text;

  rng_state = seed;
  for (size_t i = 0; i < n; i++) {
    x[i] = sample(d);
    sm_sketch_add(whole, x[i]);
    /* parts of varying length, merged as pages into an interval */
    sm_sketch_add(part, x[i]);
    if (i % 97 == 96 || i + 1 == n) {
      sm_sketch_merge(merged, part);
      sm_sketch_reset(part);
    }
  }
  qsort(x, n, sizeof(*x), cmp_double);
  snprintf(what, sizeof(what), "%s n=%zu seed=%" PRIu64 " a=%g", dist_names[d],
           n, seed, accuracy);
  if (sm_sketch_collapsed(whole)) {
    T_OK(0, "%s: no bucket folded", what);
    sum->failures++;
  }
  check_values(whole, x, n, accuracy, what, sum);
  strncat(what, " merged", sizeof(what) - strlen(what) - 1);
  check_values(merged, x, n, accuracy, what, sum);

  text = sm_sketch_text_encode(merged);
  decoded = sm_sketch_text_decode(text, maxb, err, sizeof(err));
  if (decoded == NULL) {
    T_OK(0, "%s: decodes its own text: %s", what, err);
    sum->failures++;
  } else {
    strncat(what, "+text", sizeof(what) - strlen(what) - 1);
    check_values(decoded, x, n, accuracy, what, sum);
  }
  free(text);
  sm_sketch_destroy(decoded);
  sm_sketch_destroy(whole);
  sm_sketch_destroy(merged);
  sm_sketch_destroy(part);
  free(x);
}

static void test_properties(void) {
  static const size_t sizes[] = {1, 2, 3, 17, 1000, 20000};
  static const double accuracies[] = {0.01, 0.001, 0.05};

  for (size_t a = 0; a < sizeof(accuracies) / sizeof(accuracies[0]); a++)
    for (int d = 0; d < D_NUM; d++) {
      summary_t sum = {0};
      int cases = 0;
      for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
          run_case((dist_t)d, sizes[z], seed * 1000 + (uint64_t)d,
                   accuracies[a], &sum);
          cases++;
        }
      T_OK(sum.failures == 0,
           "%s, accuracy %g: %d cases x 3 constructions: p50/p90/p99/p99.9 "
           "within the bound (worst %.3g%%), count/sum/min/max exact, at most "
           "%zu values",
           dist_names[d], accuracies[a], cases, sum.worst * 100,
           sum.max_values);
    }
}

/* The cubic mapping's bucket of v, computed apart from the sketch (frexp
 * and the polynomial as written in sm_sketch.h). */
static double cubic_position(double v, double accuracy) {
  int e;
  double s = 2 * frexp(v, &e) - 1;
  return 0.7 / log1p(accuracy) *
         ((e - 1) + (6 * s * s * s - 21 * s * s + 50 * s) / 35);
}

/* The range from 1 us to an hour needs ceil(m L(3.6e9)) + 1 buckets with
 * the cubic mapping (1% more than log(3.6e9)/log(1.01)). */
static void test_bucket_bounds(void) {
  sm_sketch_t *s = sm_sketch_create(0.01, 4096);
  size_t want = (size_t)ceil(cubic_position(3.6e9, 0.01)) + 1;

  for (double v = 1; v <= 3.6e9; v *= 1.003)
    sm_sketch_add(s, round(v));
  T_OK(sm_sketch_buckets(s) <= want,
       "1 us to 1 h at 1%%: %zu buckets (at most %zu)", sm_sketch_buckets(s),
       want);
  T_OK(!sm_sketch_collapsed(s), "... without folding");
  T_OK(sm_sketch_memory(s) <= 4096 * 16, "... in %zu bytes",
       sm_sketch_memory(s));
  sm_sketch_destroy(s);

  /* Every integer up to 2^53 fits the default buckets. */
  for (double a = 0.001; a <= 0.1; a *= 10) {
    s = sm_sketch_create(a, sm_sketch_buckets_for(a));
    sm_sketch_add(s, 1);
    sm_sketch_add(s, 9007199254740991.0);
    T_OK(!sm_sketch_collapsed(s),
         "accuracy %g: 1 and 2^53-1 fit %zu buckets without folding", a,
         sm_sketch_buckets_for(a));
    sm_sketch_destroy(s);
  }
  T_EQ_INT(sm_sketch_buckets_for(0.01), 3730, "3730 buckets at 1%");
}

/* The bound itself, sample by sample: two samples more than a factor g
 * apart never share a bucket, and the buckets rise with the samples. The
 * tightest places are where the cubic's slope is least (mantissas near 1
 * and 4/3), and the powers of two where one exponent ends. */
static void test_mapping_bound(void) {
  static const double accuracies[] = {0.001, 0.01, 0.05, 0.1};
  static const double mantissas[] = {1, 1 + 1e-12, 4.0 / 3, 2 - 1e-12};
  int apart = 1, rising = 1, position = 1;
  long checked = 0;

  for (size_t a = 0; a < sizeof(accuracies) / sizeof(accuracies[0]); a++) {
    double acc = accuracies[a], g = 1 + acc;
    sm_sketch_t *s = sm_sketch_create(acc, 4096);
    rng_state = 99 + a;
    for (int i = 0; i < 400000; i++) {
      /* a random double from 1e-310 (subnormal) to 1e300 */
      double v = exp(log(1e-310) + (log(1e300) - log(1e-310)) * uniform01());
      double w = v * g * (1 + 1e-12); /* just over a factor g above */
      double u = nextafter(v, INFINITY);
      int64_t iv = sm_sketch_index(s, v);
      if (i < 64) { /* the slowest places of the mapping */
        int e = (i % 64) - 32;
        v = ldexp(mantissas[i % 4], e * 31);
        w = v * g * (1 + 1e-12);
        u = nextafter(v, INFINITY);
        iv = sm_sketch_index(s, v);
      }
      if (!(sm_sketch_index(s, w) > iv))
        apart = 0;
      if (sm_sketch_index(s, u) < iv)
        rising = 0;
      if (v >= 1e-300 && fabs((double)iv - ceil(cubic_position(v, acc))) > 1)
        position = 0;
      checked++;
    }
    sm_sketch_destroy(s);
  }
  T_OK(apart, "%ld samples: v and v g (1 + 1e-12) in different buckets",
       checked);
  T_OK(rising, "... the next double never in a lower bucket");
  T_OK(position, "... each in the bucket the polynomial gives (within one)");
}

/* Whatever the range, memory stays within max_buckets; the statistics stay
 * exact and the percentiles above the folded bucket keep the bound. */
static void test_memory_bounded(void) {
  const size_t n = 200000, maxb = 256;
  sm_sketch_t *s = sm_sketch_create(0.01, maxb);
  double *x = malloc(n * sizeof(*x));
  size_t cap, k;
  double *v, *c;
  uint64_t folded = 0, r;
  int ok = 1;

  rng_state = 77;
  for (size_t i = 0; i < n; i++) {
    x[i] = exp(log(1e-300) + (log(1e300) - log(1e-300)) * uniform01());
    sm_sketch_add(s, x[i]);
  }
  qsort(x, n, sizeof(*x), cmp_double);
  T_OK(sm_sketch_collapsed(s), "1e-300..1e300 in %zu buckets: folded", maxb);
  T_OK(sm_sketch_memory(s) <= maxb * 16, "memory %zu <= %zu bytes",
       sm_sketch_memory(s), maxb * 16);
  cap = sm_sketch_values_max(s);
  v = malloc(cap * sizeof(*v));
  c = malloc(cap * sizeof(*c));
  k = sm_sketch_values(s, v, c, cap);
  T_OK(k > 0 && k <= maxb + 3, "%zu values", k);
  T_OK(v[0] == x[0] && v[k - 1] == x[n - 1], "minimum and maximum exact");
  /* the folded bucket is the first after the minimum */
  folded = k > 1 ? (uint64_t)c[1] + 1 : 0;
  for (r = folded; r < n; r += 997) {
    double got = nth_value(v, c, k, r);
    if (!(fabs(got - x[r]) <= 0.01 * x[r] * (1 + 1e-9)))
      ok = 0;
  }
  T_OK(ok, "ranks above the folded %" PRIu64 " samples within 1%%", folded);
  free(v);
  free(c);
  free(x);
  sm_sketch_destroy(s);
}

static void test_edges(void) {
  sm_sketch_t *s = sm_sketch_create(0.01, 4096);
  sm_sketch_t *o = sm_sketch_create(0.02, 4096);
  double v[8], c[8];

  T_OK(sm_sketch_create(0.0005, 4096) == NULL, "accuracy below the limit");
  T_OK(sm_sketch_create(0.5, 4096) == NULL, "accuracy above the limit");
  T_OK(sm_sketch_create(0.01, 8) == NULL, "too few buckets");
  T_OK(sm_sketch_add(s, -1) == -1 && sm_sketch_add(s, NAN) == -1 &&
           sm_sketch_add(s, INFINITY) == -1,
       "negative, NaN and infinite samples refused");
  T_EQ_INT(sm_sketch_stat(s)->count, 0, "... and not counted");
  T_EQ_INT(sm_sketch_values(s, v, c, 8), 0, "an empty sketch has no values");
  T_OK(sm_sketch_text_encode(s) == NULL, "nor a text form");

  sm_sketch_add(s, 0);
  T_EQ_INT(sm_sketch_values(s, v, c, 8), 1, "one zero: one value");
  T_OK(v[0] == 0 && c[0] == 1, "... 0 once");
  sm_sketch_add(s, 0);
  sm_sketch_add(s, 5);
  T_EQ_INT(sm_sketch_values(s, v, c, 8), 2, "0, 0, 5: two values");
  T_OK(v[0] == 0 && c[0] == 2 && v[1] == 5 && c[1] == 1, "... 0 twice, 5 once");
  T_EQ_INT(sm_sketch_values(s, v, c, 2), 0, "too little room: nothing");

  sm_sketch_add(o, 1);
  T_OK(sm_sketch_merge(s, o) == -1,
       "sketches of other accuracies do not merge");
  T_OK(!sm_sketch_ok(s), "... and the result is marked broken");
  T_EQ_INT(sm_sketch_values(s, v, c, 8), 0, "a broken sketch has no values");
  T_OK(sm_sketch_text_encode(s) == NULL, "nor a text form");
  sm_sketch_reset(s);
  T_OK(sm_sketch_ok(s) && sm_sketch_stat(s)->count == 0, "reset clears it");

  /* Integer representatives (100 and 101 share a bucket at 10%). */
  sm_sketch_destroy(o);
  o = sm_sketch_create(0.1, 4096);
  for (int i = 0; i < 3; i++)
    sm_sketch_add(o, 100);
  sm_sketch_add(o, 101);
  sm_sketch_add(o, 1);    /* min */
  sm_sketch_add(o, 1000); /* max */
  /* bucket of 100..101 holds 100,100,100,101: mean 100.25 -> 100 x3, 101 x1 */
  size_t k = sm_sketch_values(o, v, c, 8);
  T_EQ_INT(k, 4, "1, 100 x3, 101, 1000: four values");
  T_OK(k == 4 && v[0] == 1 && v[1] == 100 && c[1] == 3 && v[2] == 101 &&
           c[2] == 1 && v[3] == 1000,
       "... the bucket split between 100 and 101 to keep the sum exact");
  sm_sketch_destroy(o);
  sm_sketch_destroy(s);
}

static void test_decode_rejects(void) {
  static const char *const bad[] = {
      "",
      "2 0.01 i 10 10 10 0 1:1:10",
      "1 0.01 i 10 10 10 0", /* no samples */
      "1 nan i 10 10 10 0 232:1:10",
      "1 0.01 x 10 10 10 0 232:1:10",  /* flags */
      "1 0.01 i 10 10 10 0 232:0:10",  /* empty bucket listed */
      "1 0.01 i 10 10 10 0 231:1:10",  /* sum outside the bucket */
      "1 0.01 i 11 10 10 0 232:1:10",  /* sum mismatch */
      "1 0.01 i 10 9 10 0 232:1:10",   /* min outside */
      "1 0.01 i 10 10 10 0 232:1:10 ", /* trailing space */
      "1 0.01 i 10 10 10 0  232:1:10", /* double space */
      "1 0.01 i 10 10 10 0 232:1:inf",
      "1 0.01 i 10 10 10 0 232:-1:10",
      "1 0.01 i 20 10 10 0 232:1:10 0:1:10",  /* not ascending */
      "1 0.01 i 10.5 10.5 10.5 0 237:1:10.5", /* integral with a fraction */
      "1 0.01 - 10 10 10 1 232:1:10",         /* zeros but minimum not 0 */
      "1 0.01 i 1e400 10 10 0 232:1:10",
      "1 0.01 i 10 10 10 0 232:1:0x1p3",
      "1 0.01 i 10 10 10 0 232:18446744073709551616:10",
      "1 0.01 i 10 10 10 0 232:1:10 5000:1:1e30", /* too many buckets */
  };
  char err[160];
  int all = 1;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sm_sketch_t *s = sm_sketch_text_decode(bad[i], 4096, err, sizeof(err));
    if (s != NULL) {
      T_OK(0, "refuses \"%s\"", bad[i]);
      all = 0;
      sm_sketch_destroy(s);
    } else if (err[0] == 0) {
      T_OK(0, "says why it refuses \"%s\"", bad[i]);
      all = 0;
    }
    err[0] = 0;
  }
  T_OK(all, "%zu malformed texts refused with a reason",
       sizeof(bad) / sizeof(bad[0]));
  sm_sketch_t *s = sm_sketch_text_decode("1 0.01 i 10 10 10 0 232:1:10", 4096,
                                         err, sizeof(err));
  T_OK(s != NULL && sm_sketch_stat(s)->count == 1 &&
           sm_sketch_stat(s)->sum == 10,
       "a well-formed text decodes (%s)", s ? "ok" : err);
  sm_sketch_destroy(s);
}

/* Statistics loaded without the buckets that hold them: no Values, and
 * no write outside the (empty) list of buckets. */
static void test_stats_without_buckets(void) {
  sm_sketch_t *s = sm_sketch_create(0.01, 4096);
  double values[8], counts[8];

  if (!T_OK(s != NULL, "loaded stats: a sketch"))
    return;
  sm_sketch_load_stats(s, 3, 0, 6, 1, 3, true, false);
  T_EQ_INT(sm_sketch_values(s, values, counts, 8), 0,
           "loaded stats without buckets: no Values");
  sm_sketch_destroy(s);
}

int main(void) {
  test_stats_without_buckets();
  test_edges();
  test_decode_rejects();
  test_bucket_bounds();
  test_mapping_bound();
  test_memory_bounded();
  test_properties();
  return t_done();
}
