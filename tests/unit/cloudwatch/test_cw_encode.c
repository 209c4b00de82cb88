/* SPDX-License-Identifier: MIT */
/*
 * cw_encode: PutMetricData bodies against golden files (the exact bytes,
 * the .json files of tests/data/cw_encode), numbers that read back as the
 * same double, the datum and byte limits at their exact boundaries, gzip
 * streams that zlib inflates back, and a throughput figure (reported, not
 * asserted).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "cw_encode.h"
#include "tap.h"

#define NS "SageMaker/Async"

static const cw_dimension_t ep_dims[] = {
    {"EndpointName", "my-endpoint"},
    {"VariantName", "AllTraffic"},
};

/* ------------------------------------------------------------ helpers */

static char *read_golden(const char *name, size_t *len) {
  const char *srcdir = getenv("SM_SRCDIR");
  char path[4096];
  char *buf = NULL;
  FILE *f;
  long size;

  snprintf(path, sizeof(path), "%s/tests/data/cw_encode/%s",
           srcdir ? srcdir : ".", name);
  f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
      free(buf);
      buf = NULL;
    }
    if (buf != NULL) {
      buf[size] = 0;
      *len = (size_t)size;
    }
  }
  fclose(f);
  return buf;
}

/* The body parses as JSON with a MetricData array of `want` datums. */
static void check_json(const char *body, const char *what, size_t want) {
  char err[256];
  const char *path[] = {"MetricData", NULL};
  yajl_val doc = yajl_tree_parse(body, err, sizeof(err));
  yajl_val md = doc ? yajl_tree_get(doc, path, yajl_t_array) : NULL;

  T_OK(md != NULL && YAJL_GET_ARRAY(md)->len == want,
       "%s: valid JSON with %zu datums", what, want);
  yajl_tree_free(doc);
}

/* The body is byte for byte the golden file. */
static void check_golden(const cw_encode_t *e, const char *name) {
  size_t len = 0, glen = 0, i;
  const char *body = cw_encode_body(e, &len);
  char *golden = read_golden(name, &glen);

  if (!T_OK(golden != NULL, "read golden %s", name))
    return;
  for (i = 0; i < len && i < glen && body[i] == golden[i]; i++)
    ;
  if (!T_OK(len == glen && i == len, "%s: body matches byte for byte", name)) {
    T_NOTE("lengths %zu (body) and %zu (golden), first difference at %zu", len,
           glen, i);
    T_NOTE("body:   %.*s", (int)len, body);
    T_NOTE("golden: %s", golden);
  }
  T_OK(body[len] == 0, "%s: body is NUL-terminated", name);
  free(golden);
}

static cw_encode_t *make(size_t max_datums, size_t max_bytes) {
  char err[256];
  cw_encode_t *e =
      cw_encode_create(NS, max_datums, max_bytes, err, sizeof(err));
  if (e == NULL)
    T_NOTE("cw_encode_create: %s", err);
  return e;
}

static size_t body_len(const cw_encode_t *e) {
  size_t len;
  cw_encode_body(e, &len);
  return len;
}

/* ------------------------------------------------------------- datums */

/* A datum of metric at ts, of kind; the rest left to the caller. */
static void datum(cw_datum_t *d, const char *metric, double ts,
                  cw_kind_t kind) {
  cw_datum_init(d);
  d->metric_name = metric;
  d->timestamp = ts;
  d->kind = kind;
}

static void single_value(cw_datum_t *d) {
  datum(d, "ApproximateBacklogSize", 1764187200.123, CW_KIND_VALUE);
  d->dims = ep_dims;
  d->num_dims = 1;
  d->unit = CW_UNIT_COUNT;
  d->value = 42;
}

static void latency_stats(cw_datum_t *d) {
  datum(d, "ModelLatency", 1764187260, CW_KIND_STATS);
  d->dims = ep_dims;
  d->num_dims = 2;
  d->unit = CW_UNIT_MICROSECONDS;
  d->stats = (cw_statset_t){.sample_count = 12,
                            .sum = 184467.5,
                            .minimum = 1021,
                            .maximum = 40960.25};
}

/* d carrying n values, each counts[i] times (counts NULL: once). */
static void with_values(cw_datum_t *d, const double *values,
                        const double *counts, size_t n) {
  d->kind = CW_KIND_VALUES;
  d->values = values;
  d->counts = counts;
  d->num_values = n;
}

/* A datum of about `size` bytes encoded, through one long dimension value
 * of `fill` bytes. */
static char fill_buf[CW_DIM_VALUE_MAX * 40];
static cw_dimension_t fill_dims[CW_MAX_DIMENSIONS];

static void big_datum(cw_datum_t *d, size_t ndims, size_t fill) {
  for (size_t i = 0; i < ndims; i++) {
    fill_dims[i].name = "D";
    fill_dims[i].value = fill_buf + sizeof(fill_buf) - 1 - fill;
  }
  datum(d, "Big", 1764187200, CW_KIND_VALUE);
  d->dims = fill_dims;
  d->num_dims = ndims;
  d->value = 1;
}

/* ------------------------------------------------------------- goldens */

static void test_goldens(void) {
  cw_encode_t *e = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES);
  cw_datum_t d;
  static const double v1[] = {100, 250.5, 1000, 123456};
  static const double c1[] = {3, 1, 10, 2};
  static const double v2[] = {0.5, 1.5};
  static const double numbers[] = {0.0,
                                   -0.0,
                                   1e-5,
                                   123456789.125,
                                   9007199254740992.0, /* 2^53 */
                                   1e300,
                                   0.1,
                                   -2.5,
                                   1e16,
                                   1e15,
                                   1e-300, /* below 2^-359: 0 */
                                   0x1p359,
                                   1.0 / 3,
                                   5e-324, /* smallest subnormal: 0 */
                                   9007199254740994.0,
                                   123e-20,
                                   4.35,
                                   1e21,
                                   -123.456};
  static const cw_dimension_t esc_dims[] = {
      {"Quote", "say \"hi\""},
      {"Backslash", "C:\\dir\\file"},
      {"Control", "tab\there\nnl\x01\x1f\x7f"},
      {"Utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
      {"Slash", "a/b"},
  };
  char err[256];

  if (!T_OK(e != NULL, "create"))
    return;
  T_EQ_INT(cw_encode_count(e), 0, "a new encoder is empty");
  {
    size_t len;
    const char *b = cw_encode_body(e, &len);
    T_OK(len == strlen(b) &&
             strcmp(b, "{\"Namespace\":\"" NS "\",\"MetricData\":[]}") == 0,
         "the empty body: %s", b);
  }

  single_value(&d);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add a single value");
  check_golden(e, "single_value.json");
  check_golden(e, "single_value.json"); /* body() twice: same bytes */

  cw_encode_reset(e);
  latency_stats(&d);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add a statistic set");
  datum(&d, "TotalProcessingTime", 1764187260.5, CW_KIND_STATS);
  d.unit = CW_UNIT_MILLISECONDS;
  d.storage_resolution = CW_RESOLUTION_HIGH;
  d.stats = (cw_statset_t){1, 0.25, 0.25, 0.25};
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add one without dimensions");
  check_golden(e, "statistic_set.json");
  T_EQ_INT(cw_encode_count(e), 2, "two datums");

  cw_encode_reset(e);
  latency_stats(&d);
  d.metric_name = "TimeInBacklog";
  d.timestamp = 1764187320.001;
  with_values(&d, v1, c1, 4);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add values and counts");
  d.metric_name = "ApproximateAgeOfOldestRequest";
  d.num_dims = 1;
  d.timestamp = 1764187320.01;
  d.unit = CW_UNIT_SECONDS;
  with_values(&d, v2, NULL, 2);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add values without counts");
  check_golden(e, "values_counts.json");

  cw_encode_reset(e);
  datum(&d, "Numbers", 1764187200.999, CW_KIND_VALUES);
  d.values = numbers;
  d.num_values = sizeof(numbers) / sizeof(numbers[0]);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add the numbers");
  d.kind = CW_KIND_VALUE;
  d.value = 0.1 + 0.2;
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add 0.1 + 0.2");
  check_golden(e, "numbers.json");
  cw_encode_destroy(e);

  e = cw_encode_create("Test/Esc\"aped\\NS", 10, 4096, err, sizeof(err));
  if (!T_OK(e != NULL, "create with a namespace that needs escaping %s", err))
    return;
  datum(&d, "Name \"quoted\" \\ back/slash", 1764187200, CW_KIND_VALUE);
  d.dims = esc_dims;
  d.num_dims = sizeof(esc_dims) / sizeof(esc_dims[0]);
  d.value = 1;
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add a datum to escape");
  check_golden(e, "escaping.json");
  cw_encode_destroy(e);
}

/* ------------------------------------------------------------- numbers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) { /* xorshift64*: fixed seed, same run each time */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1du;
}

/* The shortest "%.{1..17}g" that reads back as v, exponent compacted as
 * the encoder does: a slow, obvious reference for non-integers. */
static void reference_number(double v, char *buf, size_t size) {
  char tmp[40];
  char *e;

  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  e = strchr(tmp, 'e');
  if (e == NULL) {
    snprintf(buf, size, "%s", tmp);
  } else {
    *e = 0;
    snprintf(buf, size, "%se%s%d", tmp, e[1] == '-' ? "-" : "",
             abs((int)strtol(e + 1, NULL, 10)));
  }
}

static void test_numbers(void) {
  static const struct {
    double v;
    const char *s;
  } cases[] = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-1, "-1"},
      {0.5, "0.5"},
      {1e-5, "1e-5"},
      {1.5e-7, "1.5e-7"},
      {0.0001, "0.0001"},
      {123456789.125, "123456789.125"},
      {9007199254740992.0, "9007199254740992"},
      {-9007199254740992.0, "-9007199254740992"},
      {9007199254740994.0, "9007199254740994"},
      {1e300, "1e300"},
      {-1e300, "-1e300"},
      {0x1p359, "1.1742712913869166e108"},
      {-0x1p359, "-1.1742712913869166e108"},
      {0x1p360, "2.3485425827738332e108"},
      {0x1p-359, "8.515919680016301e-109"},
      {-0x1p-359, "-8.515919680016301e-109"},
      {0x1.fffffffffffffp-360, "0"},
      {1e-300, "0"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3, "0.3333333333333333"},
      {2.0 / 3, "0.6666666666666666"},
      {1e21, "1e21"},
      {1.7976931348623157e308, "1.7976931348623157e308"},
      {1764187200.123, "1764187200.123"},
  };
  static const struct {
    double t;
    const char *s;
  } stamps[] = {
      {1764187200.123, "1764187200.123"},
      {1764187200, "1764187200"},
      {1764187200.5, "1764187200.5"},
      {1764187200.05, "1764187200.05"},
      {1764187200.001, "1764187200.001"},
      {1764187200.1234, "1764187200.123"},
      {1764187200.9996, "1764187201"},
      {0.0004, "0"},
      {-0.5, "-0.5"},
      {-1.25, "-1.25"},
  };
  char buf[CW_ENCODE_NUMBER_MAX];
  size_t bad = 0, longest = 0, not_shortest = 0;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t n = cw_encode_format_number(cases[i].v, buf, sizeof(buf));
    T_OK(n == strlen(cases[i].s) && strcmp(buf, cases[i].s) == 0,
         "number %.17g is %s (got %s)", cases[i].v, cases[i].s, buf);
  }
  T_EQ_INT(cw_encode_format_number(NAN, buf, sizeof(buf)), 0, "NaN: none");
  T_EQ_INT(cw_encode_format_number(-INFINITY, buf, sizeof(buf)), 0, "-inf");
  T_EQ_INT(cw_encode_format_number(1, buf, 8), 0, "too small a buffer");

  for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
    size_t n = cw_encode_format_timestamp(stamps[i].t, buf, sizeof(buf));
    T_OK(n == strlen(stamps[i].s) && strcmp(buf, stamps[i].s) == 0,
         "timestamp %.6f is %s (got %s)", stamps[i].t, stamps[i].s, buf);
  }
  T_EQ_INT(cw_encode_format_timestamp(NAN, buf, sizeof(buf)), 0, "NaN stamp");
  T_EQ_INT(cw_encode_format_timestamp(1e300, buf, sizeof(buf)), 0,
           "huge stamp");

  /* Any double, written and read back, is the same double (or 0 when below
   * 2^-359): a million random bit patterns and a million decimals. */
  for (int i = 0; i < 2000000; i++) {
    double v, back;
    size_t n;
    if (i % 2 == 0) {
      uint64_t bits = rng();
      memcpy(&v, &bits, sizeof(v));
    } else {
      int64_t mant = (int64_t)(rng() % 2000000001u) - 1000000000;
      int exp10 = (int)(rng() % 12);
      v = (double)mant / pow(10, exp10);
    }
    n = cw_encode_format_number(v, buf, sizeof(buf));
    if (!isfinite(v)) {
      bad += n != 0;
      continue;
    }
    back = strtod(buf, NULL);
    if (n == 0 || n != strlen(buf) ||
        !(back == v || (fabs(v) < 0x1p-359 && back == 0)) ||
        (back == 0 && signbit(back)))
      bad++;
    if (n > longest)
      longest = n;
    if (fabs(v) >= 0x1p-359 && v != trunc(v)) {
      char ref[128];
      reference_number(v, ref, sizeof(ref));
      if (strcmp(ref, buf) != 0 && not_shortest++ < 5)
        T_NOTE("%.17g: wrote %s, shortest is %s", v, buf, ref);
    }
  }
  T_EQ_INT(bad, 0, "2,000,000 numbers read back exactly");
  T_EQ_INT(not_shortest, 0, "and are written as the shortest %g would");
  T_OK(longest <= 24, "longest number written: %zu characters", longest);
}

/* --------------------------------------------------------------- limits */

static void test_max_datums(void) {
  cw_encode_t *e = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES);
  cw_datum_t d;
  size_t added = 0, len_full;
  char *copy;
  const char *body;

  if (!T_OK(e != NULL, "create for 1000 datums"))
    return;
  latency_stats(&d);
  for (int i = 0; i < CW_ENCODE_MAX_DATUMS; i++) {
    d.stats.sum = i;
    added += cw_encode_add(e, &d) == CW_ENCODE_ADDED;
  }
  T_EQ_INT(added, 1000, "1000 datums added");
  T_EQ_INT(cw_encode_count(e), 1000, "count is 1000");
  body = cw_encode_body(e, &len_full);
  copy = malloc(len_full + 1);
  memcpy(copy, body, len_full + 1);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_FULL, "datum 1001: full");
  T_EQ_INT(cw_encode_count(e), 1000, "still 1000");
  body = cw_encode_body(e, &len_full);
  T_OK(memcmp(copy, body, len_full + 1) == 0, "the body is unchanged");
  T_OK(len_full < CW_ENCODE_MAX_BYTES, "1000 datums take %zu bytes", len_full);
  check_json(body, "1000 datums", 1000);
  free(copy);

  cw_encode_reset(e);
  T_EQ_INT(cw_encode_count(e), 0, "reset empties");
  single_value(&d);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add after reset");
  check_golden(e, "single_value.json");
  cw_encode_destroy(e);

  e = make(3, CW_ENCODE_MAX_BYTES);
  if (!T_OK(e != NULL, "create for 3 datums"))
    return;
  for (int i = 0; i < 3; i++)
    cw_encode_add(e, &d);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_FULL, "a smaller max_datums holds");
  cw_encode_destroy(e);
}

static void test_max_bytes(void) {
  cw_encode_t *ref = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES), *e;
  cw_datum_t d;
  size_t len4, len5, empty;
  char *body4;

  if (!T_OK(ref != NULL, "create the reference encoder"))
    return;
  empty = body_len(ref);
  latency_stats(&d);
  for (int i = 0; i < 4; i++)
    cw_encode_add(ref, &d);
  len4 = body_len(ref);
  body4 = malloc(len4 + 1);
  memcpy(body4, cw_encode_body(ref, &len4), len4 + 1);
  cw_encode_add(ref, &d);
  len5 = body_len(ref);

  /* Exactly the size of five: five fit, the sixth does not. */
  e = make(CW_ENCODE_MAX_DATUMS, len5);
  for (int i = 0; i < 5; i++)
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "up to the byte");
  T_EQ_INT(body_len(e), len5, "the body is exactly max_bytes");
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_FULL, "one more: full");
  cw_encode_destroy(e);

  /* One byte less: the fifth would cross max_bytes by one byte. */
  e = make(CW_ENCODE_MAX_DATUMS, len5 - 1);
  for (int i = 0; i < 4; i++)
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "four fit");
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_FULL,
           "the fifth, one byte over: full");
  {
    size_t len;
    const char *b = cw_encode_body(e, &len);
    T_OK(len == len4 && memcmp(b, body4, len4 + 1) == 0,
         "the four-datum body is intact");
  }
  cw_encode_reset(e);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "after reset the fifth goes");
  cw_encode_destroy(e);

  /* TOO_LARGE: a datum that cannot fit even an empty body. */
  {
    size_t one = (len5 - len4 - 1) + empty; /* body with one datum */
    e = make(CW_ENCODE_MAX_DATUMS, one);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED,
             "a body of exactly one datum");
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_FULL, "then full");
    cw_encode_destroy(e);
    e = make(CW_ENCODE_MAX_DATUMS, one - 1);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_TOO_LARGE,
             "one byte short: too large");
    T_EQ_INT(cw_encode_count(e), 0, "nothing added");
    T_EQ_INT(body_len(e), empty, "the body is still empty");
    single_value(&d);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED,
             "a smaller datum still goes");
    latency_stats(&d);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_TOO_LARGE,
             "too large even with datums in the body (not full)");
    cw_encode_destroy(e);
  }

  /* At the real limit, with the largest datums CloudWatch allows. */
  e = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES);
  big_datum(&d, CW_MAX_DIMENSIONS, CW_DIM_VALUE_MAX);
  {
    cw_encode_result_t r;
    size_t n = 0, before = 0;
    while ((r = cw_encode_add(e, &d)) == CW_ENCODE_ADDED) {
      n++;
      before = body_len(e);
    }
    cw_encode_reset(ref);
    cw_encode_add(ref, &d);
    T_EQ_INT(r, CW_ENCODE_FULL, "the largest datums fill a 1 MiB body");
    T_OK(before <= CW_ENCODE_MAX_BYTES &&
             before + 1 + (body_len(ref) - empty) > CW_ENCODE_MAX_BYTES,
         "%zu datums of %zu bytes: %zu bytes, the next would pass 1 MiB", n,
         body_len(ref) - empty, before);
    check_json(cw_encode_body(e, &before), "a 1 MiB body", n);
  }
  cw_encode_destroy(e);
  free(body4);

  /* The defining property, on random datums and limits: added exactly when
   * the body with the datum fits. */
  {
    size_t bad = 0, adds = 0;
    for (int round = 0; round < 200; round++) {
      size_t maxd = 1 + rng() % 50;
      size_t maxb = 300 + rng() % 60000;
      e = make(maxd, maxb);
      if (e == NULL) {
        bad++;
        continue;
      }
      for (int i = 0; i < 100; i++) {
        size_t before = body_len(e), count = cw_encode_count(e), dl, fits;
        cw_encode_result_t r;
        size_t ndims = rng() % 4, fill = rng() % 3000;
        big_datum(&d, ndims, fill);
        cw_encode_reset(ref);
        cw_encode_add(ref, &d);
        dl = body_len(ref) - empty;
        r = cw_encode_add(e, &d);
        fits = before + (count > 0) + dl <= maxb;
        adds += r == CW_ENCODE_ADDED;
        if (r == CW_ENCODE_ADDED)
          bad += !(fits && count < maxd &&
                   body_len(e) == before + (count > 0) + dl);
        else if (r == CW_ENCODE_FULL)
          bad += !(count == maxd || (!fits && empty + dl <= maxb)) ||
                 body_len(e) != before;
        else if (r == CW_ENCODE_TOO_LARGE)
          bad += !(empty + dl > maxb) || body_len(e) != before;
        else
          bad++;
        if (r == CW_ENCODE_FULL)
          cw_encode_reset(e);
        bad += body_len(e) > maxb || cw_encode_count(e) > maxd;
      }
      cw_encode_destroy(e);
    }
    T_EQ_INT(bad, 0, "20,000 random adds keep the limits exactly");
    T_NOTE("%zu of 20000 random adds were added", adds);
  }
  cw_encode_destroy(ref);
}

/* ------------------------------------------------------------- errors */

static void test_create_errors(void) {
  static const struct {
    const char *ns;
    size_t max_datums, max_bytes;
    const char *needle; /* what the message names */
    const char *what;
  } bad[] = {
      {"AWS/SageMaker", 10, 4096, "AWS/", "AWS/ namespace"},
      {"", 10, 4096, "empty", "empty namespace"},
      {NS, 0, 4096, "max_datums", "0 datums"},
      {NS, 1001, 4096, "max_datums", "1001 datums"},
      {NS, 10, CW_ENCODE_MAX_BYTES + 1, "max_bytes", "1 MiB + 1"},
      {NS, 10, 20, "too small", "20 bytes"},
  };
  char err[256];
  cw_encode_t *e;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    e = cw_encode_create(bad[i].ns, bad[i].max_datums, bad[i].max_bytes, err,
                         sizeof(err));
    T_OK(e == NULL && strstr(err, bad[i].needle) != NULL, "%s: %s", bad[i].what,
         err);
  }
  e = cw_encode_create(NS, 10, 20, NULL, 0);
  T_OK(e == NULL, "no error buffer");

  /* Room for exactly the empty body. */
  e = cw_encode_create(NS, 10,
                       strlen("{\"Namespace\":\"" NS "\",\"MetricData\":[]}"),
                       err, sizeof(err));
  if (T_OK(e != NULL, "max_bytes of the empty body")) {
    cw_datum_t d;
    single_value(&d);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_TOO_LARGE, "nothing fits it");
    cw_encode_destroy(e);
  }
  cw_encode_destroy(NULL);
}

/* single_value() spoilt in one way each: cw_encode_add refuses them all. */
static const cw_dimension_t bad_utf8[] = {{"EndpointName", "caf\xc3"}};
static void spoil_utf8(cw_datum_t *d) { d->dims = bad_utf8; }
static void spoil_value(cw_datum_t *d) { d->value = NAN; }
static void spoil_maximum(cw_datum_t *d) {
  d->kind = CW_KIND_STATS;
  d->stats = (cw_statset_t){
      .sample_count = 1, .sum = 1, .minimum = 1, .maximum = INFINITY};
}
static void spoil_name(cw_datum_t *d) { d->metric_name = NULL; }
static void spoil_dims(cw_datum_t *d) { d->dims = NULL; }
static void spoil_unit(cw_datum_t *d) { d->unit = CW_UNIT_NUM; }
static void spoil_kind(cw_datum_t *d) { d->kind = CW_KIND_UNSET; }
static void spoil_timestamp(cw_datum_t *d) { d->timestamp = NAN; }
static void spoil_values(cw_datum_t *d) {
  d->kind = CW_KIND_VALUES;
  d->num_values = 2;
  d->values = NULL;
}
static const struct {
  const char *what;
  void (*spoil)(cw_datum_t *d);
} invalid[] = {
    {"invalid UTF-8", spoil_utf8},       {"NaN value", spoil_value},
    {"infinite maximum", spoil_maximum}, {"NULL name", spoil_name},
    {"NULL dims", spoil_dims},           {"bad unit", spoil_unit},
    {"kind unset", spoil_kind},          {"NaN timestamp", spoil_timestamp},
    {"NULL values", spoil_values},
};

static void test_invalid(void) {
  cw_encode_t *e = make(10, 4096);
  cw_datum_t d;
  size_t len;

  if (!T_OK(e != NULL, "create"))
    return;
  single_value(&d);
  cw_encode_add(e, &d);
  len = body_len(e);

  for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    single_value(&d);
    invalid[i].spoil(&d);
    T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_INVALID, invalid[i].what);
    T_OK(body_len(e) == len && cw_encode_count(e) == 1, "%s: body unchanged",
         invalid[i].what);
  }
  single_value(&d);

  /* A failure mid-datum leaves the generator usable. */
  cw_encode_reset(e);
  T_EQ_INT(cw_encode_add(e, &d), CW_ENCODE_ADDED, "add after failures");
  check_golden(e, "single_value.json");
  T_EQ_STR(cw_encode_result_name(CW_ENCODE_FULL), "full", "result name");
  T_EQ_STR(cw_encode_result_name((cw_encode_result_t)99), "unknown",
           "unknown result");
  cw_encode_destroy(e);
}

/* ---------------------------------------------------------------- gzip */

/* Inflates a gzip stream; returns the bytes (caller frees) or NULL. */
static unsigned char *gunzip(const unsigned char *in, size_t len,
                             size_t *out_len) {
  z_stream zs;
  size_t cap = len * 4 + 64, got = 0;
  unsigned char *out = malloc(cap);
  int rc = Z_OK;

  memset(&zs, 0, sizeof(zs));
  if (out == NULL || inflateInit2(&zs, 15 + 16) != Z_OK) {
    free(out);
    return NULL;
  }
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  while (rc == Z_OK) {
    if (got == cap) {
      unsigned char *n = realloc(out, cap * 2);
      if (n == NULL)
        break;
      out = n;
      cap *= 2;
    }
    zs.next_out = out + got;
    zs.avail_out = (uInt)(cap - got);
    rc = inflate(&zs, Z_NO_FLUSH);
    got = cap - zs.avail_out;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  *out_len = got;
  return out;
}

static void test_gzip(void) {
  cw_encode_t *e = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES);
  cw_datum_t d;
  const char *body;
  size_t len;
  int levels[] = {-1, 0, 1, 6, 9};

  if (!T_OK(e != NULL, "create"))
    return;
  latency_stats(&d);
  for (int i = 0; i < 1000; i++) {
    d.stats.sum = 1000.5 * i;
    cw_encode_add(e, &d);
  }
  body = cw_encode_body(e, &len);
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
    unsigned char *z = NULL, *back;
    size_t zlen = 0, blen = 0;
    T_EQ_INT(cw_encode_gzip(body, len, levels[i], &z, &zlen), CW_ENCODE_GZIP_OK,
             "gzip at a level");
    if (z == NULL)
      continue;
    T_OK(zlen > 18 && z[0] == 0x1f && z[1] == 0x8b && z[2] == 8,
         "level %d: a gzip header (deflate)", levels[i]);
    back = gunzip(z, zlen, &blen);
    T_OK(back != NULL && blen == len && memcmp(back, body, len) == 0,
         "level %d: %zu bytes to %zu, inflated back the same", levels[i], len,
         zlen);
    free(back);
    free(z);
  }
  {
    unsigned char *z = NULL, *back;
    size_t zlen = 0, blen = 1;
    T_EQ_INT(cw_encode_gzip("", 0, -1, &z, &zlen), CW_ENCODE_GZIP_OK,
             "gzip nothing");
    back = z ? gunzip(z, zlen, &blen) : NULL;
    T_OK(back != NULL && blen == 0, "an empty stream inflates to nothing");
    free(back);
    free(z);
    T_EQ_INT(cw_encode_gzip(body, len, 10, &z, &zlen), CW_ENCODE_GZIP_ERROR,
             "level 10");
    T_OK(z == NULL && zlen == 0, "no output on error");
    T_EQ_INT(cw_encode_gzip(body, len, -2, &z, &zlen), CW_ENCODE_GZIP_ERROR,
             "level -2");
    T_EQ_INT(cw_encode_gzip(NULL, 5, -1, &z, &zlen), CW_ENCODE_GZIP_ERROR,
             "NULL input");
    T_EQ_INT(cw_encode_gzip(body, (size_t)CW_ENCODE_GZIP_MAX_INPUT + 1, -1, &z,
                            &zlen),
             CW_ENCODE_GZIP_ERROR, "input over the cap");
  }
  T_EQ_INT(cw_encode_gzip_wanted(5000, CW_ENCODE_GZIP_DEFAULT_THRESHOLD), 1,
           "5000 bytes");
  T_EQ_INT(cw_encode_gzip_wanted(1024, 1024), 1, "at the threshold");
  T_EQ_INT(cw_encode_gzip_wanted(1023, 1024), 0, "below the threshold");
  T_EQ_INT(cw_encode_gzip_wanted(CW_ENCODE_MAX_BYTES, 0), 0,
           "threshold 0: never");
  cw_encode_destroy(e);
}

/* ----------------------------------------------------------- throughput */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 statistic-set datums as the plugin sends them, in bodies of up
 * to 1000: the time is reported for the record, never asserted. */
static void test_throughput(void) {
  const size_t n = 100000;
  cw_encode_t *e = make(CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES);
  cw_datum_t d;
  size_t done = 0, bodies = 0, bytes = 0, zbytes = 0;
  double t0, t1, tz = 0;

  if (!T_OK(e != NULL, "create"))
    return;
  latency_stats(&d);
  t0 = now_s();
  for (size_t i = 0; i < n; i++) {
    cw_encode_result_t r;
    d.timestamp = 1764187200 + (double)(i / 16);
    d.stats.sample_count = (double)(1 + i % 97);
    d.stats.sum = (double)(i * 1237 % 1000003) + 0.25;
    d.stats.minimum = (double)(i % 1000);
    d.stats.maximum = (double)(i % 1000) + 40960.5;
    r = cw_encode_add(e, &d);
    if (r == CW_ENCODE_FULL) {
      bytes += body_len(e);
      bodies++;
      cw_encode_reset(e);
      r = cw_encode_add(e, &d);
    }
    done += r == CW_ENCODE_ADDED;
  }
  bytes += body_len(e);
  bodies++;
  t1 = now_s();
  T_EQ_INT(done, n, "100,000 datums encoded");
  T_EQ_INT(bodies, n / CW_ENCODE_MAX_DATUMS, "in bodies of 1000");
  check_json(cw_encode_body(e, &(size_t){0}), "the last body", 1000);
  T_NOTE("encode: %zu datums, %zu bodies, %.1f MB in %.3f s: "
         "%.0f datums/s, %.0f MB/s",
         n, bodies, bytes / 1e6, t1 - t0, n / (t1 - t0),
         bytes / 1e6 / (t1 - t0));

  /* And gzip for the last body, for scale. */
  {
    unsigned char *z = NULL;
    size_t zlen = 0, len;
    const char *body = cw_encode_body(e, &len);
    double g0 = now_s();
    if (cw_encode_gzip(body, len, -1, &z, &zlen) == CW_ENCODE_GZIP_OK)
      zbytes = zlen;
    tz = now_s() - g0;
    free(z);
    T_NOTE("gzip (default level) of one %zu-byte body: %zu bytes in %.2f ms",
           len, zbytes, tz * 1e3);
  }
  cw_encode_destroy(e);
}

int main(void) {
  memset(fill_buf, 'x', sizeof(fill_buf) - 1);
  test_goldens();
  test_numbers();
  test_max_datums();
  test_max_bytes();
  test_create_errors();
  test_invalid();
  test_gzip();
  test_throughput();
  return t_done();
}
