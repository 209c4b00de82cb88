/* SPDX-License-Identifier: MIT */
/*
 * cw_datum against CloudWatch's rules: every published metric of the
 * reference table (tests/data/metrics.tsv) passes; each rule is tried at
 * its boundary, on both sides; messages name the metric and the field;
 * copies own their memory; statistic sets merge exactly.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_datum.h"
#include "tap.h"

/* 2025-11-26T20:00:00Z, the clock of every test. */
#define NOW 1764187200.0

static const cw_dimension_t two_dims[] = {
    {"EndpointName", "my-endpoint"},
    {"VariantName", "AllTraffic"},
};

/* A valid single-value datum; tests break one thing at a time. */
static void good_value(cw_datum_t *d) {
  cw_datum_init(d);
  d->metric_name = "ModelLatency";
  d->dims = two_dims;
  d->num_dims = 2;
  d->timestamp = NOW - 60;
  d->unit = CW_UNIT_MICROSECONDS;
  d->kind = CW_KIND_VALUE;
  d->value = 1234;
}

static void good_stats(cw_datum_t *d) {
  good_value(d);
  d->kind = CW_KIND_STATS;
  d->stats.sample_count = 3;
  d->stats.sum = 6;
  d->stats.minimum = 1;
  d->stats.maximum = 3;
}

static const double vals3[] = {1, 2, 3};
static const double counts3[] = {5, 1, 2};

static void good_values(cw_datum_t *d) {
  good_value(d);
  d->kind = CW_KIND_VALUES;
  d->values = vals3;
  d->counts = counts3;
  d->num_values = 3;
}

/* A string of n copies of c, in a static buffer (one in use at a time
 * per slot). */
static const char *rep(int slot, char c, size_t n) {
  static char buf[4][2048];
  memset(buf[slot], c, n);
  buf[slot][n] = 0;
  return buf[slot];
}

static cw_datum_reason_t check(const cw_datum_t *d, char *msg) {
  return cw_datum_validate(d, NOW, msg, 256);
}

/* One field set to a text or a number: what validation must give, and
 * what its message must hold (NULL: anything). */
typedef struct {
  const char *text;
  cw_datum_reason_t want;
  const char *part;
  const char *what;
} text_case_t;

typedef struct {
  double number;
  cw_datum_reason_t want;
  const char *part;
  const char *what;
} number_case_t;

/* Validation gives `want`, and the message contains `part` (if not NULL). */
static void expect(const cw_datum_t *d, cw_datum_reason_t want,
                   const char *part, const char *what) {
  char msg[256];
  cw_datum_reason_t got = check(d, msg);
  if (!T_OK(got == want, "%s: %s", what, cw_datum_reason_name(want)))
    T_NOTE("got %s: %s", cw_datum_reason_name(got), msg);
  if (want == CW_DATUM_OK)
    T_EQ_STR(msg, "", "no message when valid");
  else if (part != NULL && !T_OK(strstr(msg, part) != NULL,
                                 "%s: message has \"%s\"", what, part))
    T_NOTE("message: %s", msg);
}

/* A count of d (*n) at its cap passes; one more gives over, with part in
 * the message. */
static void expect_cap(cw_datum_t *d, size_t *n, size_t cap,
                       cw_datum_reason_t over, const char *part,
                       const char *what) {
  char m[64];

  *n = cap;
  snprintf(m, sizeof(m), "%zu %s", cap, what);
  expect(d, CW_DATUM_OK, NULL, m);
  *n = cap + 1;
  snprintf(m, sizeof(m), "%zu %s", cap + 1, what);
  expect(d, over, part, m);
}

static void test_units(void) {
  int n = 0;
  cw_unit_t u;

  for (int i = 0; i < CW_UNIT_NUM; i++) {
    const char *name = cw_datum_unit_name((cw_unit_t)i);
    if (name == NULL)
      continue;
    n++;
    u = CW_UNIT_NUM;
    T_OK(cw_datum_unit_from_name(name, &u) == 0 && u == (cw_unit_t)i,
         "unit %s round-trips", name);
  }
  T_EQ_INT(n, 27, "27 StandardUnit names");
  T_EQ_STR(cw_datum_unit_name(CW_UNIT_COUNT_PER_SECOND), "Count/Second",
           "name");
  T_EQ_STR(cw_datum_unit_name(CW_UNIT_NONE), "None", "None is unit 0");
  T_OK(cw_datum_unit_from_name("Terabits/Second", &u) == 0 &&
           u == CW_UNIT_TERABITS_PER_SECOND,
       "Terabits/Second");
  T_OK(cw_datum_unit_from_name("count", &u) == -1, "units are case-sensitive");
  T_OK(cw_datum_unit_from_name("Nanoseconds", &u) == -1, "no Nanoseconds");
  T_OK(cw_datum_unit_from_name("", &u) == -1, "empty unit");
  T_OK(cw_datum_unit_from_name(NULL, &u) == -1, "NULL unit");
  T_OK(cw_datum_unit_name(CW_UNIT_NUM) == NULL, "unit out of range");
  T_OK(cw_datum_unit_name((cw_unit_t)-1) == NULL, "negative unit");
}

static void test_reason_names(void) {
  for (int i = 0; i < CW_DATUM_E_NUM; i++) {
    const char *a = cw_datum_reason_name((cw_datum_reason_t)i);
    int dup = 0;
    for (int j = 0; j < i; j++)
      dup |= strcmp(a, cw_datum_reason_name((cw_datum_reason_t)j)) == 0;
    T_OK(strcmp(a, "unknown") != 0 && !dup, "reason %d is \"%s\"", i, a);
  }
  T_EQ_STR(cw_datum_reason_name(CW_DATUM_E_NUM), "unknown", "out of range");
  T_EQ_STR(cw_datum_reason_name(CW_DATUM_E_OUT_OF_RANGE), "out_of_range",
           "a name for counters");
}

/* Every metric we publish, as the reference table gives it, is valid in
 * each of the forms write_cloudwatch sends. */
static void test_reference_metrics(void) {
  const char *srcdir = getenv("SM_SRCDIR");
  char path[4096];
  char line[1024];
  FILE *f;
  int rows = 0;

  snprintf(path, sizeof(path), "%s/tests/data/metrics.tsv",
           srcdir ? srcdir : ".");
  f = fopen(path, "r");
  if (!T_OK(f != NULL, "open %s", path))
    return;
  while (fgets(line, sizeof(line), f) != NULL) {
    char *name = line, *unit, *dims, *end;
    cw_dimension_t dv[2];
    cw_datum_t d;
    cw_unit_t u;
    char msg[256];

    if (line[0] == '#' || line[0] == '\n')
      continue;
    unit = strchr(name, '\t');
    if (!T_OK(unit != NULL, "row has a unit"))
      break;
    *unit++ = 0;
    dims = strchr(unit, '\t');
    if (!T_OK(dims != NULL, "row has dimensions"))
      break;
    *dims++ = 0;
    end = strchr(dims, '\t');
    if (end != NULL)
      *end = 0;
    rows++;

    T_OK(cw_datum_unit_from_name(unit, &u) == 0,
         "%s: unit %s is a StandardUnit", name, unit);
    good_stats(&d);
    d.metric_name = name;
    d.unit = u;
    dv[0] = two_dims[0];
    dv[1] = two_dims[1];
    d.dims = dv;
    d.num_dims = strchr(dims, ',') != NULL ? 2 : 1;
    T_OK(cw_datum_validate(&d, NOW, msg, sizeof(msg)) == CW_DATUM_OK,
         "%s as a statistic set %s", name, msg);
    d.kind = CW_KIND_VALUE;
    d.value = 0;
    T_OK(cw_datum_validate(&d, NOW, msg, sizeof(msg)) == CW_DATUM_OK,
         "%s as a value %s", name, msg);
    d.kind = CW_KIND_VALUES;
    d.values = vals3;
    d.counts = counts3;
    d.num_values = 3;
    d.storage_resolution = CW_RESOLUTION_HIGH;
    T_OK(cw_datum_validate(&d, NOW, msg, sizeof(msg)) == CW_DATUM_OK,
         "%s as values and counts, high resolution %s", name, msg);
  }
  fclose(f);
  T_EQ_INT(rows, 16, "16 metrics in the reference table");
}

static void test_names(void) {
  static const text_case_t names[] = {
      {"", CW_DATUM_E_NAME, "MetricName: empty", "empty name"},
      {NULL, CW_DATUM_E_NAME, "(null): MetricName: missing", "NULL name"},
      {"   ", CW_DATUM_E_NAME, "non-whitespace", "blank name"},
      {" x ", CW_DATUM_OK, NULL, "name with spaces around"},
      {":x", CW_DATUM_E_NAME, "starts with ':'", "name with a leading colon"},
      {"a:b", CW_DATUM_OK, NULL, "name with a colon inside"},
      {"a\tb", CW_DATUM_E_NAME, "control", "name with a tab"},
      {"a\x7f", CW_DATUM_E_NAME, "control", "name with DEL"},
      {"caf\xc3\xa9", CW_DATUM_E_NAME, "not ASCII", "name in UTF-8"},
      {"Name \"quoted\" \\ back/slash!~", CW_DATUM_OK, NULL,
       "printable punctuation is fine"},
  };
  cw_datum_t d;
  char longname[300];

  good_value(&d);
  expect(&d, CW_DATUM_OK, NULL, "a good datum");
  d.metric_name = rep(0, 'm', CW_METRIC_NAME_MAX);
  expect(&d, CW_DATUM_OK, NULL, "name of 255");
  d.metric_name = rep(0, 'm', CW_METRIC_NAME_MAX + 1);
  expect(&d, CW_DATUM_E_NAME, "MetricName: too long", "name of 256");
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    d.metric_name = names[i].text;
    expect(&d, names[i].want, names[i].part, names[i].what);
  }

  /* The message quotes a bad name safely and briefly. */
  memset(longname, 'n', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = 0;
  longname[3] = '\n';
  d.metric_name = longname;
  {
    char msg[256];
    check(&d, msg);
    T_OK(strncmp(msg, "nnn?nnn", 7) == 0 && strstr(msg, "...: ") != NULL &&
             strlen(msg) < 120,
         "message cuts the name and masks control characters: %s", msg);
  }
}

static void test_dimensions(void) {
  /* A second dimension's value, then its name (the first is named D0). */
  static const text_case_t dim_values[] = {
      {"", CW_DATUM_E_DIMENSION, "ModelLatency: Dimensions[1].Value: empty",
       "empty dimension value"},
      {" ", CW_DATUM_E_DIMENSION, "Dimensions[1].Value: has no non-white",
       "blank dimension value"},
      {NULL, CW_DATUM_E_DIMENSION, "Dimensions[1].Value: missing",
       "NULL dimension value"},
      {":ok", CW_DATUM_OK, NULL, "a value may start with ':'"},
      {"say \"hi\" \\ C:\\dir", CW_DATUM_OK, NULL,
       "quotes and backslashes are ASCII"},
      {"caf\xc3\xa9", CW_DATUM_E_DIMENSION, "Dimensions[1].Value: not ASCII",
       "UTF-8 dimension value"},
      {"line\nbreak", CW_DATUM_E_DIMENSION,
       "Dimensions[1].Value: has a control", "control character in a value"},
  };
  static const text_case_t dim_names[] = {
      {":N", CW_DATUM_E_DIMENSION, "Dimensions[1].Name: starts with ':'",
       "dimension name with a leading colon"},
      {"", CW_DATUM_E_DIMENSION, "Dimensions[1].Name: empty",
       "empty dimension name"},
      {NULL, CW_DATUM_E_DIMENSION, "Dimensions[1].Name: missing",
       "NULL dimension name"},
      {"\x01", CW_DATUM_E_DIMENSION, "control", "control dimension name"},
      {"D0", CW_DATUM_E_DIMENSION, "Dimensions[1].Name: \"D0\" given twice",
       "duplicate dimension name"},
      {"d0", CW_DATUM_OK, NULL, "dimension names are case-sensitive"},
  };
  cw_datum_t d;
  cw_dimension_t dims[CW_MAX_DIMENSIONS + 1];
  char names[CW_MAX_DIMENSIONS + 1][16];

  for (int i = 0; i <= CW_MAX_DIMENSIONS; i++) {
    snprintf(names[i], sizeof(names[i]), "D%d", i);
    dims[i].name = names[i];
    dims[i].value = "v";
  }
  good_value(&d);
  d.dims = dims;
  expect_cap(&d, &d.num_dims, CW_MAX_DIMENSIONS, CW_DATUM_E_TOO_MANY_DIMS,
             "Dimensions: 31, at most 30", "dimensions");
  d.num_dims = 0;
  d.dims = NULL;
  expect(&d, CW_DATUM_OK, NULL, "no dimensions");
  d.num_dims = 1;
  expect(&d, CW_DATUM_E_DIMENSION, "missing array", "NULL dims array");

  d.dims = dims;
  d.num_dims = 2;
  dims[1].name = rep(0, 'n', CW_DIM_NAME_MAX);
  dims[1].value = rep(1, 'v', CW_DIM_VALUE_MAX);
  expect(&d, CW_DATUM_OK, NULL, "name of 255, value of 1024");
  dims[1].name = rep(0, 'n', CW_DIM_NAME_MAX + 1);
  expect(&d, CW_DATUM_E_DIMENSION, "Dimensions[1].Name: too long",
         "dimension name of 256");
  dims[1].name = "N";
  dims[1].value = rep(1, 'v', CW_DIM_VALUE_MAX + 1);
  expect(&d, CW_DATUM_E_DIMENSION, "Dimensions[1].Value: too long",
         "dimension value of 1025");

  for (size_t i = 0; i < sizeof(dim_values) / sizeof(dim_values[0]); i++) {
    dims[1].value = dim_values[i].text;
    expect(&d, dim_values[i].want, dim_values[i].part, dim_values[i].what);
  }
  dims[1].value = "v";
  for (size_t i = 0; i < sizeof(dim_names) / sizeof(dim_names[0]); i++) {
    dims[1].name = dim_names[i].text;
    expect(&d, dim_names[i].want, dim_names[i].part, dim_names[i].what);
  }
}

static void test_numbers(void) {
  const double big = ldexp(1.0, CW_VALUE_MAX_EXP);
  const number_case_t values[] = {
      {NAN, CW_DATUM_E_NOT_FINITE, "Value: not a finite number", "NaN"},
      {INFINITY, CW_DATUM_E_NOT_FINITE, "Value", "+Inf"},
      {-INFINITY, CW_DATUM_E_NOT_FINITE, "Value", "-Inf"},
      {big, CW_DATUM_OK, NULL, "2^359"},
      {-big, CW_DATUM_OK, NULL, "-2^359"},
      {1.174271e+108, CW_DATUM_OK, NULL,
       "1.174271e+108, the older reference's bound"},
      {nextafter(big, INFINITY), CW_DATUM_E_OUT_OF_RANGE,
       "Value: beyond +-2^359", "just over 2^359"},
      {-nextafter(big, INFINITY), CW_DATUM_E_OUT_OF_RANGE, "Value",
       "just under -2^359"},
      {ldexp(1.0, 360), CW_DATUM_E_OUT_OF_RANGE, "Value",
       "2^360 (the newer bound)"},
      {DBL_MAX, CW_DATUM_E_OUT_OF_RANGE, "Value", "DBL_MAX"},
      {1e-300, CW_DATUM_OK, NULL, "tiny values pass (encoded as 0)"},
      {-0.0, CW_DATUM_OK, NULL, "-0"},
      {DBL_TRUE_MIN, CW_DATUM_OK, NULL, "smallest subnormal"},
  };
  cw_datum_t d;

  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    good_value(&d);
    d.value = values[i].number;
    expect(&d, values[i].want, values[i].part, values[i].what);
  }
}

static void test_timestamps(void) {
  static const number_case_t times[] = {
      {NOW - CW_TIMESTAMP_MAX_AGE, CW_DATUM_OK, NULL, "exactly two weeks old"},
      {NOW - CW_TIMESTAMP_MAX_AGE - 0.001, CW_DATUM_E_TIMESTAMP, "Timestamp",
       "two weeks and 1 ms old"},
      {NOW + CW_TIMESTAMP_MAX_AHEAD, CW_DATUM_OK, NULL,
       "exactly two hours ahead"},
      {NOW + CW_TIMESTAMP_MAX_AHEAD + 0.001, CW_DATUM_E_TIMESTAMP, "Timestamp",
       "two hours and 1 ms ahead"},
      {NOW, CW_DATUM_OK, NULL, "now"},
      {NAN, CW_DATUM_E_TIMESTAMP, "Timestamp", "NaN timestamp"},
      {0, CW_DATUM_E_TIMESTAMP, "Timestamp", "timestamp 0 (unset)"},
  };
  cw_datum_t d;

  for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
    good_value(&d);
    d.timestamp = times[i].number;
    expect(&d, times[i].want, times[i].part, times[i].what);
  }
  d.timestamp = NOW;
  T_EQ_INT(cw_datum_validate(&d, NAN, NULL, 0), CW_DATUM_E_TIMESTAMP,
           "a NaN clock refuses everything");
  T_EQ_INT(cw_datum_validate(&d, 0, NULL, 0), CW_DATUM_E_TIMESTAMP,
           "against a clock at 1970 now is in the future");
}

static void test_unit_resolution_kind(void) {
  cw_datum_t d;

  good_value(&d);
  d.unit = CW_UNIT_NUM;
  expect(&d, CW_DATUM_E_UNIT, "Unit: 27 is not a StandardUnit", "bad unit");
  d.unit = (cw_unit_t)-1;
  expect(&d, CW_DATUM_E_UNIT, "Unit", "negative unit");
  d.unit = CW_UNIT_PERCENT;
  d.storage_resolution = CW_RESOLUTION_HIGH;
  expect(&d, CW_DATUM_OK, NULL, "resolution 1");
  d.storage_resolution = 0;
  expect(&d, CW_DATUM_E_RESOLUTION, "StorageResolution: 0", "resolution 0");
  d.storage_resolution = 5;
  expect(&d, CW_DATUM_E_RESOLUTION, "must be 1 or 60", "resolution 5");
  d.storage_resolution = CW_RESOLUTION_STANDARD;
  d.kind = CW_KIND_UNSET;
  expect(&d, CW_DATUM_E_KIND, "no Value", "kind unset");
  d.kind = (cw_kind_t)99;
  expect(&d, CW_DATUM_E_KIND, "kind 99", "unknown kind");

  /* The first rule broken is the one reported. */
  good_value(&d);
  d.metric_name = "";
  d.unit = CW_UNIT_NUM;
  d.value = NAN;
  expect(&d, CW_DATUM_E_NAME, NULL, "name before unit before value");
  d.metric_name = "m";
  expect(&d, CW_DATUM_E_UNIT, NULL, "unit before value");
}

static void test_stats(void) {
  cw_datum_t d;

  good_stats(&d);
  expect(&d, CW_DATUM_OK, NULL, "a statistic set");
  d.stats.minimum = d.stats.maximum = 2;
  expect(&d, CW_DATUM_OK, NULL, "Minimum == Maximum");
  d.stats.minimum = 3.5;
  expect(&d, CW_DATUM_E_STATISTIC_SET, "StatisticValues: Minimum 3.5 > Max",
         "Minimum > Maximum");
  good_stats(&d);
  d.stats.sample_count = 0;
  expect(&d, CW_DATUM_E_STATISTIC_SET, "SampleCount: 0, must be > 0",
         "SampleCount 0");
  d.stats.sample_count = -1;
  expect(&d, CW_DATUM_E_STATISTIC_SET, "SampleCount", "SampleCount -1");
  d.stats.sample_count = NAN;
  expect(&d, CW_DATUM_E_NOT_FINITE, "StatisticValues.SampleCount",
         "SampleCount NaN");
  good_stats(&d);
  d.stats.sum = NAN;
  expect(&d, CW_DATUM_E_NOT_FINITE, "StatisticValues.Sum: not a finite",
         "Sum NaN");
  d.stats.sum = ldexp(1.0, 361);
  expect(&d, CW_DATUM_E_OUT_OF_RANGE, "StatisticValues.Sum: beyond",
         "Sum 2^361");
  good_stats(&d);
  d.stats.maximum = INFINITY;
  expect(&d, CW_DATUM_E_NOT_FINITE, "StatisticValues.Maximum", "Maximum inf");
  good_stats(&d);
  d.stats.minimum = -INFINITY;
  expect(&d, CW_DATUM_E_NOT_FINITE, "StatisticValues.Minimum", "Minimum -inf");
  good_stats(&d);
  d.stats.minimum = -ldexp(1.0, 361);
  expect(&d, CW_DATUM_E_OUT_OF_RANGE, "StatisticValues.Minimum",
         "Minimum -2^361");
}

static void test_values(void) {
  cw_datum_t d;
  double v[CW_MAX_VALUES + 1], c[CW_MAX_VALUES + 1];

  for (int i = 0; i <= CW_MAX_VALUES; i++) {
    v[i] = i * 0.5;
    c[i] = i + 1;
  }
  good_values(&d);
  expect(&d, CW_DATUM_OK, NULL, "values and counts");
  d.counts = NULL;
  expect(&d, CW_DATUM_OK, NULL, "values without counts");
  d.values = v;
  d.counts = c;
  expect_cap(&d, &d.num_values, CW_MAX_VALUES, CW_DATUM_E_TOO_MANY_VALUES,
             "Values: 151, at most 150", "values");
  d.num_values = 0;
  expect(&d, CW_DATUM_E_VALUES, "Values: empty", "no values");
  d.num_values = 3;
  d.values = NULL;
  expect(&d, CW_DATUM_E_VALUES, "Values: missing", "NULL values");
  d.values = v;
  c[1] = 0;
  expect(&d, CW_DATUM_E_VALUES, "Counts[1]: 0, must be > 0", "count 0");
  c[1] = -2;
  expect(&d, CW_DATUM_E_VALUES, "Counts[1]", "negative count");
  c[1] = INFINITY;
  expect(&d, CW_DATUM_E_NOT_FINITE, "Counts[1]: not a finite", "count inf");
  c[1] = 0.5;
  expect(&d, CW_DATUM_OK, NULL, "a fractional count");
  v[2] = NAN;
  expect(&d, CW_DATUM_E_NOT_FINITE, "Values[2]: not a finite", "value NaN");
  v[2] = ldexp(1.0, 400);
  expect(&d, CW_DATUM_E_OUT_OF_RANGE, "Values[2]: beyond", "value 2^400");
  v[2] = v[0];
  expect(&d, CW_DATUM_E_VALUES, "Values[2]: 0 given twice", "duplicate");
  v[0] = -0.0;
  v[2] = 0.0;
  expect(&d, CW_DATUM_E_VALUES, "given twice", "0 and -0 are one value");
  v[2] = 1.0;
}

static void test_messages(void) {
  cw_datum_t d;
  char small[8];
  cw_dimension_t dims[] = {{"EndpointName", ""}};

  good_value(&d);
  d.dims = dims;
  d.num_dims = 1;
  memset(small, 'x', sizeof(small));
  T_EQ_INT(cw_datum_validate(&d, NOW, small, sizeof(small)),
           CW_DATUM_E_DIMENSION, "a small message buffer");
  T_EQ_STR(small, "ModelLa", "the message is cut and terminated");
  T_EQ_INT(cw_datum_validate(&d, NOW, NULL, 0), CW_DATUM_E_DIMENSION,
           "no message buffer");
  T_EQ_INT(cw_datum_validate(&d, NOW, small, 0), CW_DATUM_E_DIMENSION,
           "a message buffer of size 0");
}

static void test_namespace(void) {
  char msg[256];

  T_OK(cw_datum_namespace_validate("SageMaker/Async", msg, sizeof(msg)) == 0 &&
           msg[0] == 0,
       "SageMaker/Async");
  T_OK(cw_datum_namespace_validate("AWS/SageMaker", msg, sizeof(msg)) == -1 &&
           strstr(msg, "reserved") != NULL,
       "AWS/ is reserved: %s", msg);
  T_OK(cw_datum_namespace_validate("aws/x", msg, sizeof(msg)) == 0,
       "aws/ in lower case is not the reserved prefix");
  T_OK(cw_datum_namespace_validate("AWS", msg, sizeof(msg)) == 0, "AWS alone");
  T_OK(cw_datum_namespace_validate("", msg, sizeof(msg)) == -1 &&
           strstr(msg, "empty") != NULL,
       "empty namespace: %s", msg);
  T_OK(cw_datum_namespace_validate(NULL, msg, sizeof(msg)) == -1,
       "NULL namespace");
  T_OK(cw_datum_namespace_validate(":ns", msg, sizeof(msg)) == -1,
       "namespace with a leading colon: %s", msg);
  T_OK(cw_datum_namespace_validate("  ", msg, sizeof(msg)) == -1,
       "blank namespace");
  T_OK(cw_datum_namespace_validate("n\xc3\xa9", msg, sizeof(msg)) == -1,
       "non-ASCII namespace");
  T_OK(cw_datum_namespace_validate(rep(0, 'n', 255), msg, sizeof(msg)) == 0,
       "namespace of 255");
  T_OK(cw_datum_namespace_validate(rep(0, 'n', 256), msg, sizeof(msg)) == -1 &&
           strstr(msg, "too long") != NULL,
       "namespace of 256: %s", msg);
  T_OK(cw_datum_namespace_validate("AWS/", NULL, 0) == -1, "no message buffer");
}

static void test_dup(void) {
  cw_datum_t d, *c;
  char name[] = "ModelLatency";
  char dn[] = "EndpointName", dv[] = "ep";
  cw_dimension_t dims[] = {{dn, dv}, {"VariantName", "AllTraffic"}};
  double v[] = {1, 2.5}, n[] = {3, 4};

  good_values(&d);
  d.metric_name = name;
  d.dims = dims;
  d.values = v;
  d.counts = n;
  d.num_values = 2;
  T_OK(cw_datum_dup_size(&d) > sizeof(cw_datum_t), "dup size %zu",
       cw_datum_dup_size(&d));
  c = cw_datum_dup(&d);
  if (!T_OK(c != NULL, "dup"))
    return;
  /* Scribble over the originals: the copy must not notice. */
  memset(name, 'X', sizeof(name) - 1);
  memset(dv, 'Y', sizeof(dv) - 1);
  v[1] = 99;
  n[0] = 98;
  dims[1].value = "changed";
  T_EQ_STR(c->metric_name, "ModelLatency", "copied name");
  T_EQ_INT(c->num_dims, 2, "copied dimension count");
  T_EQ_STR(c->dims[0].name, "EndpointName", "copied dimension name");
  T_EQ_STR(c->dims[0].value, "ep", "copied dimension value");
  T_EQ_STR(c->dims[1].value, "AllTraffic", "copied dimension array");
  T_EQ_INT(c->num_values, 2, "copied value count");
  T_EQ_DBL(c->values[1], 2.5, "copied values");
  T_EQ_DBL(c->counts[0], 3, "copied counts");
  T_EQ_DBL(c->timestamp, NOW - 60, "copied timestamp");
  T_EQ_INT(c->kind, CW_KIND_VALUES, "copied kind");
  T_EQ_INT(cw_datum_validate(c, NOW, NULL, 0), CW_DATUM_OK, "copy is valid");
  cw_datum_free(c);

  good_value(&d);
  d.dims = NULL;
  d.num_dims = 0;
  c = cw_datum_dup(&d);
  T_OK(c != NULL && c->dims == NULL && c->values == NULL && c->counts == NULL &&
           strcmp(c->metric_name, "ModelLatency") == 0,
       "dup of a bare value datum");
  cw_datum_free(c);

  good_values(&d);
  d.counts = NULL;
  c = cw_datum_dup(&d);
  T_OK(c != NULL && c->counts == NULL && c->values != vals3 &&
           c->values[2] == 3,
       "dup of values without counts");
  cw_datum_free(c);

  good_value(&d);
  d.dims = NULL;
  T_OK(cw_datum_dup(&d) == NULL && cw_datum_dup_size(&d) == 0,
       "no dup with a NULL dims array and 2 dims");
  cw_datum_free(NULL);
}

static void test_statsets(void) {
  cw_statset_t a, b, e;
  const double samples[] = {5, NAN, 3, INFINITY, 9, 1};
  const double cancel[] = {1.0, 1e100, 1.0, -1e100};
  const double nans[] = {NAN, NAN};

  cw_datum_statset_init(&a);
  T_EQ_DBL(a.sample_count, 0, "init is empty");
  T_EQ_INT(cw_datum_statset_add(&a, 4), 0, "add 4");
  T_EQ_INT(cw_datum_statset_add(&a, NAN), -1, "NaN is not added");
  T_EQ_INT(cw_datum_statset_add(&a, -2), 0, "add -2");
  T_OK(a.sample_count == 2 && a.sum == 2 && a.minimum == -2 && a.maximum == 4,
       "count 2, sum 2, min -2, max 4");

  T_EQ_INT(cw_datum_statset_from_samples(&b, samples, 6), 4,
           "4 finite samples of 6");
  T_OK(b.sample_count == 4 && b.sum == 18 && b.minimum == 1 && b.maximum == 9,
       "gauge samples: count 4, sum 18, min 1, max 9");
  T_EQ_INT(cw_datum_statset_from_samples(&e, nans, 2), 0, "only NaN: nothing");
  T_EQ_DBL(e.sample_count, 0, "only NaN: the empty set");
  T_EQ_INT(cw_datum_statset_from_samples(&e, NULL, 0), 0, "no samples");
  cw_datum_statset_from_samples(&e, cancel, 4);
  T_EQ_DBL(e.sum, 2.0, "the sum is compensated (1 + 1e100 + 1 - 1e100)");

  /* Merging is the statistic set of the union. */
  cw_datum_statset_merge(&a, &b);
  T_OK(a.sample_count == 6 && a.sum == 20 && a.minimum == -2 && a.maximum == 9,
       "merged: count 6, sum 20, min -2, max 9");
  cw_datum_statset_init(&e);
  cw_datum_statset_merge(&a, &e);
  T_OK(a.sample_count == 6 && a.sum == 20, "merging the empty set: nothing");
  cw_datum_statset_merge(&e, &b);
  T_OK(e.sample_count == 4 && e.sum == 18 && e.minimum == 1 && e.maximum == 9,
       "merging into the empty set copies");

  /* Exact for integer microseconds, in any grouping. */
  {
    cw_statset_t x, y, z, all;
    double big = 9007199254740000.0; /* near 2^53 */
    cw_datum_statset_init(&x);
    cw_datum_statset_init(&y);
    cw_datum_statset_init(&z);
    cw_datum_statset_init(&all);
    cw_datum_statset_add(&x, 1);
    cw_datum_statset_add(&y, 990);
    cw_datum_statset_add(&z, big);
    cw_datum_statset_add(&all, 1);
    cw_datum_statset_add(&all, 990);
    cw_datum_statset_add(&all, big);
    cw_datum_statset_merge(&x, &y);
    cw_datum_statset_merge(&x, &z);
    T_OK(x.sum == all.sum && x.sum == big + 991 && x.sample_count == 3 &&
             x.minimum == 1 && x.maximum == big,
         "merge is exact below 2^53");
  }
}

int main(void) {
  test_units();
  test_reason_names();
  test_reference_metrics();
  test_names();
  test_dimensions();
  test_numbers();
  test_timestamps();
  test_unit_resolution_kind();
  test_stats();
  test_values();
  test_messages();
  test_namespace();
  test_dup();
  test_statsets();
  return t_done();
}
