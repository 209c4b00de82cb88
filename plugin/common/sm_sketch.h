/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch: a mergeable distribution sketch with a relative-error bound,
 * from which write_cloudwatch publishes a timing metric as Values/Counts
 * so that the percentiles CloudWatch computes are within the bound while
 * SampleCount, Sum, Minimum and Maximum stay exact.
 *
 * Samples (>= 0) fall into buckets of a relative width: with accuracy a
 * and g = 1 + a, any two samples of one bucket are within a factor g of
 * each other; zero has a bucket of its own. A bucket keeps the count and
 * the sum of its samples, so sketches merge exactly (bucket by bucket) and
 * a bucket's mean is a value inside the bucket. The sketch also keeps the
 * exact minimum and maximum.
 *
 * The bucket of a sample v comes from a mapping (sm_sketch_mapping_t):
 *  - SM_SKETCH_CUBIC (what sm_sketch_create uses): with v = 2^e (1 + s),
 *    0 <= s < 1, read from the bits of the double, L(v) = e + P(s) where
 *    P(s) = (6s^3 - 21s^2 + 50s) / 35 is a cubic through P(0) = 0 and
 *    P(1) = 1 close to log2(1 + s); bucket i holds the samples with
 *    i - 1 < m L(v) <= i, m = 7 / (10 ln g). No log() per sample, for 1%
 *    more buckets than the logarithmic mapping.
 *  - SM_SKETCH_LOG: bucket i holds (g^(i-1), g^i], i = ceil(ln v / ln g).
 *    What sketches used before; still read from text (see
 *    sm_sketch_text.h) so that a newer write_cloudwatch reads an older
 *    sagemaker_async.
 *
 * sm_sketch_values() turns a sketch into Values/Counts:
 *  - the minimum and the maximum are values of their own (count 1 each);
 *  - every other sample is represented by a value inside the range of the
 *    samples of its bucket: the bucket's mean, or, when every sample is an
 *    integer (timings in microseconds or milliseconds), the integer just
 *    below or above the mean, chosen so that the values times their
 *    counts add up to the exact sum in integer arithmetic.
 * Every published value is thus within the samples of one bucket, in
 * bucket order; the k-th smallest published value and the k-th smallest
 * sample lie in the same bucket, and any percentile (nearest-rank or
 * interpolated) of the published values is within a factor of g of the
 * same percentile of the samples: a relative error of at most a.
 *
 * Memory is bounded: at most max_buckets buckets (16 bytes each) whatever
 * the rate and the range of the samples. sm_sketch_buckets_for(accuracy)
 * buckets hold every integer from 1 to 2^53 without folding (microseconds
 * from 1 us to 285 years): 3,730 buckets (58 KiB) at 1%, 37,120 at 0.1%;
 * a sketch only allocates the range its samples span (1 us to one hour
 * spans 2,234 buckets at 1%). A sketch that would need more than
 * max_buckets folds its lowest buckets into one (and says so with
 * sm_sketch_collapsed): the low percentiles lose the bound, the high ones
 * and the exact statistics keep theirs.
 *
 * Sketches travel from the read plugin to the write plugin as a line of
 * text in a value list's meta data (sm_sketch_text.h).
 *
 * collectd-free; not thread-safe.
 */
#ifndef SM_SKETCH_H
#define SM_SKETCH_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sm_stat.h"

/* The relative-error bound: default and limits. */
#define SM_SKETCH_DEFAULT_ACCURACY 0.01
#define SM_SKETCH_MIN_ACCURACY 0.001
#define SM_SKETCH_MAX_ACCURACY 0.1
/* Buckets per sketch: limits (the default is sm_sketch_buckets_for). */
#define SM_SKETCH_MIN_MAX_BUCKETS 16
#define SM_SKETCH_MAX_MAX_BUCKETS 65536

typedef struct sm_sketch_s sm_sketch_t;

/* How a sample's bucket is found (see above). */
typedef enum {
  SM_SKETCH_LOG = 1,   /* ceil(ln v / ln g) */
  SM_SKETCH_CUBIC = 2, /* from the double's exponent and mantissa */
} sm_sketch_mapping_t;

/* The buckets that hold every integer from 1 to 2^53 at an accuracy
 * (within the limits above): the default max_buckets. */
size_t sm_sketch_buckets_for(double accuracy);

/* A sketch with a relative-error bound of accuracy and at most max_buckets
 * buckets (both within the limits above); NULL when out of range or out of
 * memory. */
sm_sketch_t *sm_sketch_create(double accuracy, size_t max_buckets);
/* The same with another mapping (NULL for an unknown one). */
sm_sketch_t *sm_sketch_create_mapped(double accuracy, size_t max_buckets,
                                     sm_sketch_mapping_t mapping);
void sm_sketch_destroy(sm_sketch_t *s);

/* Empties a sketch (keeping its memory for the next interval). */
void sm_sketch_reset(sm_sketch_t *s);

/* Adds a sample. Returns 0, or -1 when the sample is negative, NaN or
 * infinite (not added) or when memory ran out (the sample is counted in
 * the statistics but the sketch is marked broken: see sm_sketch_ok). */
int sm_sketch_add(sm_sketch_t *s, double v);

/* Adds the n samples at v, in order: the same sketch, bit for bit, as n
 * calls of sm_sketch_add, in one pass that keeps the statistics out of
 * memory (a page's samples into an interval's sketch). Returns 0, or -1
 * when a sample was refused or memory ran out (as sm_sketch_add; the
 * other samples are added). */
int sm_sketch_add_many(sm_sketch_t *s, const double *v, size_t n);

/* dst becomes the sketch of dst's and src's samples. Returns 0, or -1
 * when the accuracies or the mappings differ or memory ran out (dst is
 * then marked broken). */
int sm_sketch_merge(sm_sketch_t *dst, const sm_sketch_t *src);

/* A copy of s; NULL when out of memory. */
sm_sketch_t *sm_sketch_clone(const sm_sketch_t *s);

double sm_sketch_accuracy(const sm_sketch_t *s);
sm_sketch_mapping_t sm_sketch_mapping(const sm_sketch_t *s);
/* The samples' count, sum (exact for integers while below 2^53), and
 * exact minimum and maximum (NaN when empty). */
const sm_stat_t *sm_sketch_stat(const sm_sketch_t *s);
/* Whether every sample was an integer below 2^53 (and so Values/Counts
 * reproduce the sum exactly). */
bool sm_sketch_integral(const sm_sketch_t *s);
/* Whether buckets were folded to stay within max_buckets. */
bool sm_sketch_collapsed(const sm_sketch_t *s);
/* False once memory ran out: the buckets no longer hold every sample. */
bool sm_sketch_ok(const sm_sketch_t *s);
/* Non-empty buckets, counting the zero bucket. */
size_t sm_sketch_buckets(const sm_sketch_t *s);
/* Bytes allocated for buckets. */
size_t sm_sketch_memory(const sm_sketch_t *s);

/* The most values sm_sketch_values can produce for s. */
size_t sm_sketch_values_max(const sm_sketch_t *s);

/* Writes the sketch's Values and Counts, ascending and distinct, into
 * values[] and counts[] (room for max entries each; sm_sketch_values_max
 * is always enough). Returns the number of entries; 0 for an empty or
 * broken sketch, one of 2^53 samples or more, or when max is too small. */
size_t sm_sketch_values(const sm_sketch_t *s, double *values, double *counts,
                        size_t max);

/* ------------------------------------------------------- for codecs
 * What a text or binary form needs to write a sketch and to read it back
 * (sm_sketch_text.c). A sketch read back is checked by its reader: these
 * calls take what they are given. */

/* Zero samples. */
uint64_t sm_sketch_zero_count(const sm_sketch_t *s);

/* The bucket of a sample v > 0 (INT64_MAX for an infinite one). */
int64_t sm_sketch_index(const sm_sketch_t *s, double v);

/* The first non-empty bucket above index after (INT64_MIN for the
 * lowest): true with its index, count and sum, false when none is left. */
bool sm_sketch_bucket_next(const sm_sketch_t *s, int64_t after, int64_t *idx,
                           uint64_t *count, double *sum);

/* Adds count samples summing to sum to bucket idx (folding as an add
 * would), without touching the statistics. Returns 0, or -1 when out of
 * memory (the sketch is then marked broken). */
int sm_sketch_load_bucket(sm_sketch_t *s, int64_t idx, uint64_t count,
                          double sum);

/* Sets the statistics of a sketch whose buckets were loaded. */
void sm_sketch_load_stats(sm_sketch_t *s, uint64_t count, uint64_t zero_count,
                          double sum, double min, double max, bool integral,
                          bool collapsed);

/* The text form, for those that carry sketches between the plugins. */
#include "sm_sketch_text.h"

#endif /* SM_SKETCH_H */
