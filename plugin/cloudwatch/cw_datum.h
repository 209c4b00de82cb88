/* SPDX-License-Identifier: MIT */
/*
 * cw_datum: one CloudWatch MetricDatum as write_cloudwatch holds it, and
 * its validation against CloudWatch's rules, so that a value CloudWatch
 * would refuse is dropped (and counted by reason) before it can poison a
 * PutMetricData request carrying 999 good ones: CloudWatch rejects the
 * whole request for one bad datum.
 *
 * Sources, all from the Amazon CloudWatch API Reference (API version
 * 2010-08-01): "PutMetricData" (request limits, value range, timestamp
 * window, namespace), "MetricDatum" (name, units, storage resolution,
 * Values/Counts), "Dimension" (names and values), "StatisticSet".
 * Where the reference is vague, the rule here is the stricter reading;
 * each choice is written next to its constant.
 *
 * A datum does not own its strings and arrays: it points at the caller's.
 * cw_datum_dup makes a self-contained copy in one allocation, for queues.
 *
 * collectd-free: unit tests drive it directly.
 */
#ifndef CW_DATUM_H
#define CW_DATUM_H 1

#include <stddef.h>

/* ---------------------------------------------------------------- limits */

/* MetricDatum.MetricName: "Minimum length of 1. Maximum length of 255." */
#define CW_METRIC_NAME_MAX 255
/* PutMetricData.Namespace: "Minimum length of 1. Maximum length of 255." */
#define CW_NAMESPACE_MAX 255
/* PutMetricData.Namespace: "you should not specify a namespace that begins
 * with AWS/" (reserved for Amazon Web Services' own metrics). */
#define CW_NAMESPACE_RESERVED_PREFIX "AWS/"
/* Dimension.Name: "Minimum length of 1. Maximum length of 255." */
#define CW_DIM_NAME_MAX 255
/* Dimension.Value: "Minimum length of 1. Maximum length of 1024." */
#define CW_DIM_VALUE_MAX 1024
/* MetricDatum.Dimensions: "Array Members: Maximum number of 30 items."
 * (PutMetricData: "You can use up to 30 dimensions per metric".) */
#define CW_MAX_DIMENSIONS 30
/* MetricDatum.Values: "You can include up to 150 unique values in each
 * PutMetricData action that specifies a Values array." */
#define CW_MAX_VALUES 150
/* PutMetricData and MetricDatum.Value: "Values must be in the range of
 * -2^360 to 2^360. In addition, special values (for example, NaN,
 * +Infinity, -Infinity) are not supported." Older editions of the same
 * reference gave the range as "8.515920e-109 to 1.174271e+108 (Base 10) or
 * 2e-360 to 2e360 (Base 2)"; the base-10 figures are 2^-359 and 2^359. We
 * keep to what both editions allow: |v| <= 2^359. Applies to every number
 * a datum carries: Value, Values, Counts and the four statistics. */
#define CW_VALUE_MAX_EXP 359 /* |v| <= 2^359 */
/* The older range is one of magnitudes: a non-zero magnitude below 2^-359
 * may be refused. Such a value is indistinguishable from 0 for any metric,
 * so it is no reason to drop a datum: validation accepts it and cw_encode
 * writes it as 0. */
#define CW_VALUE_MIN_EXP (-359) /* 0 < |v| < 2^-359 is written as 0 */
/* PutMetricData: "You can specify time stamps that are as much as two weeks
 * before the current date, and as much as 2 hours after the current day and
 * time." Both bounds inclusive. */
#define CW_TIMESTAMP_MAX_AGE (14.0 * 24 * 3600)
#define CW_TIMESTAMP_MAX_AHEAD (2.0 * 3600)
/* MetricDatum.StorageResolution: "Valid values are 1 and 60." */
#define CW_RESOLUTION_HIGH 1
#define CW_RESOLUTION_STANDARD 60

/* ----------------------------------------------------------------- units */

/* MetricDatum.Unit, the StandardUnit values. CW_UNIT_NONE is 0 so that a
 * zeroed datum is unitless. */
typedef enum {
  CW_UNIT_NONE = 0,
  CW_UNIT_SECONDS,
  CW_UNIT_MICROSECONDS,
  CW_UNIT_MILLISECONDS,
  CW_UNIT_BYTES,
  CW_UNIT_KILOBYTES,
  CW_UNIT_MEGABYTES,
  CW_UNIT_GIGABYTES,
  CW_UNIT_TERABYTES,
  CW_UNIT_BITS,
  CW_UNIT_KILOBITS,
  CW_UNIT_MEGABITS,
  CW_UNIT_GIGABITS,
  CW_UNIT_TERABITS,
  CW_UNIT_PERCENT,
  CW_UNIT_COUNT,
  CW_UNIT_BYTES_PER_SECOND,
  CW_UNIT_KILOBYTES_PER_SECOND,
  CW_UNIT_MEGABYTES_PER_SECOND,
  CW_UNIT_GIGABYTES_PER_SECOND,
  CW_UNIT_TERABYTES_PER_SECOND,
  CW_UNIT_BITS_PER_SECOND,
  CW_UNIT_KILOBITS_PER_SECOND,
  CW_UNIT_MEGABITS_PER_SECOND,
  CW_UNIT_GIGABITS_PER_SECOND,
  CW_UNIT_TERABITS_PER_SECOND,
  CW_UNIT_COUNT_PER_SECOND,
  CW_UNIT_NUM
} cw_unit_t;

/* CloudWatch's name of a unit ("Count/Second"), or NULL out of range. */
const char *cw_datum_unit_name(cw_unit_t unit);

/* The unit of a CloudWatch name, exact and case-sensitive as CloudWatch is:
 * 0 with *unit set, or -1 when the name is not a StandardUnit. */
int cw_datum_unit_from_name(const char *name, cw_unit_t *unit);

/* ----------------------------------------------------------------- datum */

typedef struct {
  const char *name;
  const char *value;
} cw_dimension_t;

/* StatisticSet. sample_count 0 is the empty set (sum 0, minimum and
 * maximum meaningless): a state for building, never a datum to send. */
typedef struct {
  double sample_count;
  double sum;
  double minimum;
  double maximum;
} cw_statset_t;

/* Which of MetricDatum's mutually exclusive value forms a datum carries. */
typedef enum {
  CW_KIND_UNSET = 0, /* invalid: a zeroed datum carries nothing */
  CW_KIND_VALUE,     /* Value */
  CW_KIND_STATS,     /* StatisticValues */
  CW_KIND_VALUES,    /* Values and, if counts is not NULL, Counts */
} cw_kind_t;

typedef struct {
  const char *metric_name;
  const cw_dimension_t *dims; /* num_dims entries; NULL when none */
  size_t num_dims;
  double timestamp; /* seconds since the epoch; sent to the ms */
  cw_unit_t unit;
  int storage_resolution; /* CW_RESOLUTION_HIGH or CW_RESOLUTION_STANDARD */
  cw_kind_t kind;
  double value;         /* CW_KIND_VALUE */
  cw_statset_t stats;   /* CW_KIND_STATS */
  const double *values; /* CW_KIND_VALUES: num_values entries */
  const double *counts; /* CW_KIND_VALUES: num_values entries, or NULL
                           for "each value once" (CloudWatch's default) */
  size_t num_values;
} cw_datum_t;

/* A datum with no name, no dimensions, kind unset, unit None, standard
 * resolution and timestamp 0: the caller sets the rest. */
void cw_datum_init(cw_datum_t *d);

/* Why a datum is refused. Values are stable so callers can index drop
 * counters with them; the first rule broken is reported, in the order:
 * name, unit, resolution, timestamp, dimensions, value form. */
typedef enum {
  CW_DATUM_OK = 0,
  CW_DATUM_E_NAME,            /* MetricName empty, too long, not printable
                                 ASCII, blank, or starting with ':' */
  CW_DATUM_E_DIMENSION,       /* a dimension name or value breaks its rules,
                                 or a dimension name is given twice */
  CW_DATUM_E_TOO_MANY_DIMS,   /* more than CW_MAX_DIMENSIONS */
  CW_DATUM_E_NOT_FINITE,      /* a NaN or an infinity anywhere */
  CW_DATUM_E_OUT_OF_RANGE,    /* a number beyond +-2^359 */
  CW_DATUM_E_TIMESTAMP,       /* outside [now - 2 weeks, now + 2 hours] */
  CW_DATUM_E_UNIT,            /* not a cw_unit_t */
  CW_DATUM_E_RESOLUTION,      /* storage resolution neither 1 nor 60 */
  CW_DATUM_E_STATISTIC_SET,   /* SampleCount <= 0 or Minimum > Maximum */
  CW_DATUM_E_VALUES,          /* Values empty, a count <= 0, a value given
                                 twice, or an array pointer missing */
  CW_DATUM_E_TOO_MANY_VALUES, /* more than CW_MAX_VALUES */
  CW_DATUM_E_KIND,            /* kind unset or unknown */
  CW_DATUM_E_NUM
} cw_datum_reason_t;

/* A short stable name for a reason, for counters and logs ("bad_name",
 * "out_of_range", ...); "unknown" out of range. */
const char *cw_datum_reason_name(cw_datum_reason_t reason);

/* Checks a datum against CloudWatch's rules, with the timestamp window
 * taken around now (seconds since the epoch; passed in so tests choose
 * it). Returns CW_DATUM_OK, or the reason the datum would be refused; then
 * msg (unless NULL) holds a NUL-terminated line naming the metric and the
 * field, e.g. "ModelLatency: Dimensions[1].Value: empty", truncated to
 * msg_size. Names are ASCII-checked (the Dimension reference: "must contain
 * only ASCII characters ... ASCII control characters are not supported");
 * the same conservative rule is applied to metric names. */
cw_datum_reason_t cw_datum_validate(const cw_datum_t *d, double now, char *msg,
                                    size_t msg_size);

/* Checks a namespace: 1..CW_NAMESPACE_MAX printable ASCII characters, not
 * blank, not starting with ':' (the reference's pattern "[^:].*") nor with
 * "AWS/". Returns 0, or -1 with a line in msg (unless NULL). */
int cw_datum_namespace_validate(const char *ns, char *msg, size_t msg_size);

/* A copy of d that owns its strings and arrays, in one allocation: release
 * it with cw_datum_free (or free). NULL when out of memory or when d has a
 * NULL array with a non-zero count. Not validated: copy what you validated. */
cw_datum_t *cw_datum_dup(const cw_datum_t *d);
void cw_datum_free(cw_datum_t *d);

/* The bytes cw_datum_dup(d) allocates (0 when it would fail on size), for
 * queues that cap their memory. */
size_t cw_datum_dup_size(const cw_datum_t *d);

/* ------------------------------------------------------- statistic sets */

/* The empty set. */
void cw_datum_statset_init(cw_statset_t *s);

/* Adds one sample. A NaN or infinite sample is not added: returns -1;
 * else 0. */
int cw_datum_statset_add(cw_statset_t *s, double v);

/* dst becomes the set of dst's and src's samples: sample counts and sums
 * add, minimum and maximum are the extremes. Exact while counts and sums
 * are integers below 2^53 (the microsecond timings we publish); otherwise
 * one rounding of the sum. Merging the empty set changes nothing. */
void cw_datum_statset_merge(cw_statset_t *dst, const cw_statset_t *src);

/* The statistic set of a gauge's samples in an interval, NaN and infinite
 * samples (collectd's "no value") skipped. The sum is compensated
 * (Neumaier), so it is the correctly rounded sum for all but pathological
 * inputs. Returns the number of samples used; 0 leaves the empty set,
 * which must not be published. */
size_t cw_datum_statset_from_samples(cw_statset_t *out, const double *samples,
                                     size_t n);

#endif /* CW_DATUM_H */
