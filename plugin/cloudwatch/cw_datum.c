/* SPDX-License-Identifier: MIT */
/*
 * cw_datum.c: CloudWatch datum validation (see cw_datum.h for the
 * rules and where they come from).
 *
 * Choices the reference leaves open:
 *  - Strings are checked byte by byte as printable ASCII (32..126). The
 *    Dimension page says "only ASCII characters" and "ASCII control
 *    characters are not supported"; DEL (127) is a control character. The
 *    MetricDatum page gives only lengths for MetricName; applying the
 *    dimension rules (and the namespace pattern's "no leading colon") to it
 *    costs nothing for the names we publish and keeps odd collectd names
 *    out of a request that would otherwise fail whole.
 *  - "At least one non-whitespace character": whitespace is space, which is
 *    the only whitespace left once control characters are refused.
 *  - Values must be unique ("Each unique value is listed just once"); a
 *    duplicate is refused rather than merged, because it means the producer
 *    of the array has a bug worth seeing.
 *  - SampleCount needs only be > 0 (the reference types it Double); Sum is
 *    not checked against SampleCount * [Minimum, Maximum], which rounding
 *    may break by an ulp for honest sets.
 */
#include "cw_datum.h"

#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CloudWatch's names, indexed by cw_unit_t. */
static const char *const unit_names[CW_UNIT_NUM] = {
    [CW_UNIT_NONE] = "None",
    [CW_UNIT_SECONDS] = "Seconds",
    [CW_UNIT_MICROSECONDS] = "Microseconds",
    [CW_UNIT_MILLISECONDS] = "Milliseconds",
    [CW_UNIT_BYTES] = "Bytes",
    [CW_UNIT_KILOBYTES] = "Kilobytes",
    [CW_UNIT_MEGABYTES] = "Megabytes",
    [CW_UNIT_GIGABYTES] = "Gigabytes",
    [CW_UNIT_TERABYTES] = "Terabytes",
    [CW_UNIT_BITS] = "Bits",
    [CW_UNIT_KILOBITS] = "Kilobits",
    [CW_UNIT_MEGABITS] = "Megabits",
    [CW_UNIT_GIGABITS] = "Gigabits",
    [CW_UNIT_TERABITS] = "Terabits",
    [CW_UNIT_PERCENT] = "Percent",
    [CW_UNIT_COUNT] = "Count",
    [CW_UNIT_BYTES_PER_SECOND] = "Bytes/Second",
    [CW_UNIT_KILOBYTES_PER_SECOND] = "Kilobytes/Second",
    [CW_UNIT_MEGABYTES_PER_SECOND] = "Megabytes/Second",
    [CW_UNIT_GIGABYTES_PER_SECOND] = "Gigabytes/Second",
    [CW_UNIT_TERABYTES_PER_SECOND] = "Terabytes/Second",
    [CW_UNIT_BITS_PER_SECOND] = "Bits/Second",
    [CW_UNIT_KILOBITS_PER_SECOND] = "Kilobits/Second",
    [CW_UNIT_MEGABITS_PER_SECOND] = "Megabits/Second",
    [CW_UNIT_GIGABITS_PER_SECOND] = "Gigabits/Second",
    [CW_UNIT_TERABITS_PER_SECOND] = "Terabits/Second",
    [CW_UNIT_COUNT_PER_SECOND] = "Count/Second",
};

static const char *const reason_names[CW_DATUM_E_NUM] = {
    [CW_DATUM_OK] = "ok",
    [CW_DATUM_E_NAME] = "bad_name",
    [CW_DATUM_E_DIMENSION] = "bad_dimension",
    [CW_DATUM_E_TOO_MANY_DIMS] = "too_many_dimensions",
    [CW_DATUM_E_NOT_FINITE] = "not_finite",
    [CW_DATUM_E_OUT_OF_RANGE] = "out_of_range",
    [CW_DATUM_E_TIMESTAMP] = "bad_timestamp",
    [CW_DATUM_E_UNIT] = "bad_unit",
    [CW_DATUM_E_RESOLUTION] = "bad_resolution",
    [CW_DATUM_E_STATISTIC_SET] = "bad_statistic_set",
    [CW_DATUM_E_VALUES] = "bad_values",
    [CW_DATUM_E_TOO_MANY_VALUES] = "too_many_values",
    [CW_DATUM_E_KIND] = "bad_kind",
};

const char *cw_datum_unit_name(cw_unit_t unit) {
  if ((int)unit < 0 || unit >= CW_UNIT_NUM)
    return NULL;
  return unit_names[unit];
}

int cw_datum_unit_from_name(const char *name, cw_unit_t *unit) {
  if (name == NULL)
    return -1;
  for (int i = 0; i < CW_UNIT_NUM; i++) {
    if (strcmp(name, unit_names[i]) == 0) {
      *unit = (cw_unit_t)i;
      return 0;
    }
  }
  return -1;
}

const char *cw_datum_reason_name(cw_datum_reason_t reason) {
  if ((int)reason < 0 || reason >= CW_DATUM_E_NUM)
    return "unknown";
  return reason_names[reason];
}

void cw_datum_init(cw_datum_t *d) {
  memset(d, 0, sizeof(*d));
  d->unit = CW_UNIT_NONE;
  d->storage_resolution = CW_RESOLUTION_STANDARD;
  d->kind = CW_KIND_UNSET;
}

/* ------------------------------------------------------------ messages */

/* Longest part of a metric name quoted in a message: enough to recognise
 * it, short enough that the field after it survives a small buffer. */
#define MSG_NAME_MAX 64

/* Writes "<metric>: <what>" into msg, the metric name cut to MSG_NAME_MAX
 * and anything not printable ASCII shown as '?' (the name may be the very
 * thing being refused, and the line goes to a log). */
__attribute__((format(printf, 4, 5))) static void
set_msg(char *msg, size_t msg_size, const char *metric, const char *fmt, ...) {
  char name[MSG_NAME_MAX + 4];
  size_t n = 0;
  va_list ap;
  int len;

  if (msg == NULL || msg_size == 0)
    return;
  if (metric == NULL) {
    memcpy(name, "(null)", sizeof("(null)"));
  } else {
    for (; metric[n] != 0 && n < MSG_NAME_MAX; n++) {
      unsigned char c = (unsigned char)metric[n];
      name[n] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    if (metric[n] != 0) {
      memcpy(name + n, "...", 3);
      n += 3;
    }
    name[n] = 0;
  }
  len = snprintf(msg, msg_size, "%s: ", name);
  if (len < 0 || (size_t)len >= msg_size)
    return;
  va_start(ap, fmt);
  vsnprintf(msg + len, msg_size - (size_t)len, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------- strings */

typedef enum {
  STR_OK = 0,
  STR_NULL,
  STR_EMPTY,
  STR_TOO_LONG,
  STR_NOT_ASCII,
  STR_CONTROL,
  STR_BLANK,
  STR_COLON,
} str_check_t;

static const char *str_check_text(str_check_t c) {
  switch (c) {
  case STR_OK:
    return "ok";
  case STR_NULL:
    return "missing";
  case STR_EMPTY:
    return "empty";
  case STR_TOO_LONG:
    return "too long";
  case STR_NOT_ASCII:
    return "not ASCII";
  case STR_CONTROL:
    return "has a control character";
  case STR_BLANK:
    return "has no non-whitespace character";
  case STR_COLON:
    return "starts with ':'";
  }
  return "invalid";
}

/* The CloudWatch rules for a name or value: 1..max bytes of printable
 * ASCII with at least one non-space; with no_colon, not starting with ':'.
 * Stops at max + 1 bytes, so an absurdly long string costs nothing. */
static str_check_t check_str(const char *s, size_t max, int no_colon) {
  int blank = 1;
  size_t n;

  if (s == NULL)
    return STR_NULL;
  for (n = 0; s[n] != 0; n++) {
    unsigned char c = (unsigned char)s[n];
    if (n == max)
      return STR_TOO_LONG;
    if (c >= 128)
      return STR_NOT_ASCII;
    if (c < 32 || c == 127)
      return STR_CONTROL;
    if (c != ' ')
      blank = 0;
  }
  if (n == 0)
    return STR_EMPTY;
  if (blank)
    return STR_BLANK;
  if (no_colon && s[0] == ':')
    return STR_COLON;
  return STR_OK;
}

/* ------------------------------------------------------------- numbers */

/* Not finite, beyond +-2^359, or fine. */
static cw_datum_reason_t check_number(double v) {
  if (!isfinite(v))
    return CW_DATUM_E_NOT_FINITE;
  if (fabs(v) > ldexp(1.0, CW_VALUE_MAX_EXP))
    return CW_DATUM_E_OUT_OF_RANGE;
  return CW_DATUM_OK;
}

static const char *number_text(cw_datum_reason_t r) {
  return r == CW_DATUM_E_NOT_FINITE ? "not a finite number"
                                    : "beyond +-2^359 (CloudWatch's range)";
}

static cw_datum_reason_t check_dims(const cw_datum_t *d, char *msg,
                                    size_t msg_size) {
  const char *metric = d->metric_name;

  if (d->num_dims > CW_MAX_DIMENSIONS) {
    set_msg(msg, msg_size, metric, "Dimensions: %zu, at most %d", d->num_dims,
            CW_MAX_DIMENSIONS);
    return CW_DATUM_E_TOO_MANY_DIMS;
  }
  if (d->num_dims > 0 && d->dims == NULL) {
    set_msg(msg, msg_size, metric, "Dimensions: missing array");
    return CW_DATUM_E_DIMENSION;
  }
  for (size_t i = 0; i < d->num_dims; i++) {
    /* The name, then the value: what is checked and how it is named. */
    const struct {
      const char *s, *field;
      size_t max;
      int no_colon;
    } part[2] = {{d->dims[i].name, "Name", CW_DIM_NAME_MAX, 1},
                 {d->dims[i].value, "Value", CW_DIM_VALUE_MAX, 0}};
    for (int k = 0; k < 2; k++) {
      str_check_t c = check_str(part[k].s, part[k].max, part[k].no_colon);
      if (c == STR_TOO_LONG)
        set_msg(msg, msg_size, metric,
                "Dimensions[%zu].%s: too long, at most %zu", i, part[k].field,
                part[k].max);
      else if (c != STR_OK)
        set_msg(msg, msg_size, metric, "Dimensions[%zu].%s: %s", i,
                part[k].field, str_check_text(c));
      if (c != STR_OK)
        return CW_DATUM_E_DIMENSION;
    }
    /* At most 30 names: quadratic is cheaper than anything clever. */
    for (size_t j = 0; j < i; j++) {
      if (strcmp(d->dims[i].name, d->dims[j].name) == 0) {
        set_msg(msg, msg_size, metric,
                "Dimensions[%zu].Name: \"%s\" given twice", i, d->dims[i].name);
        return CW_DATUM_E_DIMENSION;
      }
    }
  }
  return CW_DATUM_OK;
}

static cw_datum_reason_t check_stats(const cw_datum_t *d, char *msg,
                                     size_t msg_size) {
  const cw_statset_t *s = &d->stats;
  const struct {
    const char *name;
    double v;
  } f[] = {{"SampleCount", s->sample_count},
           {"Sum", s->sum},
           {"Minimum", s->minimum},
           {"Maximum", s->maximum}};

  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
    cw_datum_reason_t r = check_number(f[i].v);
    if (r != CW_DATUM_OK) {
      set_msg(msg, msg_size, d->metric_name, "StatisticValues.%s: %s",
              f[i].name, number_text(r));
      return r;
    }
  }
  if (!(s->sample_count > 0)) {
    set_msg(msg, msg_size, d->metric_name,
            "StatisticValues.SampleCount: %.17g, must be > 0", s->sample_count);
    return CW_DATUM_E_STATISTIC_SET;
  }
  if (s->minimum > s->maximum) {
    set_msg(msg, msg_size, d->metric_name,
            "StatisticValues: Minimum %.17g > Maximum %.17g", s->minimum,
            s->maximum);
    return CW_DATUM_E_STATISTIC_SET;
  }
  return CW_DATUM_OK;
}

static cw_datum_reason_t check_values(const cw_datum_t *d, char *msg,
                                      size_t msg_size) {
  const char *metric = d->metric_name;

  if (d->num_values == 0) {
    set_msg(msg, msg_size, metric, "Values: empty");
    return CW_DATUM_E_VALUES;
  }
  if (d->num_values > CW_MAX_VALUES) {
    set_msg(msg, msg_size, metric, "Values: %zu, at most %d", d->num_values,
            CW_MAX_VALUES);
    return CW_DATUM_E_TOO_MANY_VALUES;
  }
  if (d->values == NULL) {
    set_msg(msg, msg_size, metric, "Values: missing array");
    return CW_DATUM_E_VALUES;
  }
  for (size_t i = 0; i < d->num_values; i++) {
    cw_datum_reason_t r = check_number(d->values[i]);
    if (r != CW_DATUM_OK) {
      set_msg(msg, msg_size, metric, "Values[%zu]: %s", i, number_text(r));
      return r;
    }
    if (d->counts == NULL)
      continue;
    r = check_number(d->counts[i]);
    if (r != CW_DATUM_OK) {
      set_msg(msg, msg_size, metric, "Counts[%zu]: %s", i, number_text(r));
      return r;
    }
    if (!(d->counts[i] > 0)) {
      set_msg(msg, msg_size, metric, "Counts[%zu]: %.17g, must be > 0", i,
              d->counts[i]);
      return CW_DATUM_E_VALUES;
    }
  }
  /* At most 150 values: about 11,000 comparisons at worst, no allocation.
   * 0 and -0 are the same value here, as they are once encoded. */
  for (size_t i = 1; i < d->num_values; i++) {
    for (size_t j = 0; j < i; j++) {
      if (d->values[i] == d->values[j]) {
        set_msg(msg, msg_size, metric, "Values[%zu]: %.17g given twice", i,
                d->values[i]);
        return CW_DATUM_E_VALUES;
      }
    }
  }
  return CW_DATUM_OK;
}

cw_datum_reason_t cw_datum_validate(const cw_datum_t *d, double now, char *msg,
                                    size_t msg_size) {
  const char *metric = d->metric_name;
  cw_datum_reason_t r = CW_DATUM_OK;
  str_check_t c;

  if (msg != NULL && msg_size > 0)
    msg[0] = 0;

  c = check_str(metric, CW_METRIC_NAME_MAX, 1);
  if (c == STR_TOO_LONG) {
    set_msg(msg, msg_size, metric, "MetricName: too long, at most %d",
            CW_METRIC_NAME_MAX);
    return CW_DATUM_E_NAME;
  }
  if (c != STR_OK) {
    set_msg(msg, msg_size, metric, "MetricName: %s", str_check_text(c));
    return CW_DATUM_E_NAME;
  }

  if (cw_datum_unit_name(d->unit) == NULL) {
    set_msg(msg, msg_size, metric, "Unit: %d is not a StandardUnit",
            (int)d->unit);
    return CW_DATUM_E_UNIT;
  }

  if (d->storage_resolution != CW_RESOLUTION_HIGH &&
      d->storage_resolution != CW_RESOLUTION_STANDARD) {
    set_msg(msg, msg_size, metric, "StorageResolution: %d, must be %d or %d",
            d->storage_resolution, CW_RESOLUTION_HIGH, CW_RESOLUTION_STANDARD);
    return CW_DATUM_E_RESOLUTION;
  }

  if (!isfinite(d->timestamp) || !isfinite(now) ||
      d->timestamp < now - CW_TIMESTAMP_MAX_AGE ||
      d->timestamp > now + CW_TIMESTAMP_MAX_AHEAD || d->timestamp <= 0) {
    set_msg(msg, msg_size, metric,
            "Timestamp: %.3f is outside [now - 2 weeks, now + 2 hours] "
            "(now %.3f)",
            d->timestamp, now);
    return CW_DATUM_E_TIMESTAMP;
  }

  r = check_dims(d, msg, msg_size);
  if (r != CW_DATUM_OK)
    return r;

  switch (d->kind) {
  case CW_KIND_VALUE:
    r = check_number(d->value);
    if (r != CW_DATUM_OK)
      set_msg(msg, msg_size, metric, "Value: %s", number_text(r));
    return r;
  case CW_KIND_STATS:
    return check_stats(d, msg, msg_size);
  case CW_KIND_VALUES:
    return check_values(d, msg, msg_size);
  case CW_KIND_UNSET:
    break;
  }
  set_msg(msg, msg_size, metric,
          "no Value, StatisticValues or Values (kind %d)", (int)d->kind);
  return CW_DATUM_E_KIND;
}

int cw_datum_namespace_validate(const char *ns, char *msg, size_t msg_size) {
  str_check_t c = check_str(ns, CW_NAMESPACE_MAX, 1);
  size_t plen = sizeof(CW_NAMESPACE_RESERVED_PREFIX) - 1;

  if (msg != NULL && msg_size > 0)
    msg[0] = 0;
  if (c == STR_TOO_LONG) {
    if (msg != NULL)
      snprintf(msg, msg_size, "namespace too long, at most %d characters",
               CW_NAMESPACE_MAX);
    return -1;
  }
  if (c != STR_OK) {
    if (msg != NULL)
      snprintf(msg, msg_size, "namespace %s", str_check_text(c));
    return -1;
  }
  if (strncmp(ns, CW_NAMESPACE_RESERVED_PREFIX, plen) == 0) {
    if (msg != NULL)
      snprintf(msg, msg_size,
               "namespace \"%s\" starts with \"%s\", which is reserved for "
               "AWS services",
               ns, CW_NAMESPACE_RESERVED_PREFIX);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- copies */

/* Adds n to *total, rounded up to max_align_t, unless that overflows. */
static int grow(size_t *total, size_t n) {
  const size_t a = alignof(max_align_t);

  if (n > SIZE_MAX - a)
    return -1;
  n = (n + a - 1) / a * a;
  if (*total > SIZE_MAX - n)
    return -1;
  *total += n;
  return 0;
}

static int grow_str(size_t *total, const char *s) {
  return s == NULL ? 0 : grow(total, strlen(s) + 1);
}

size_t cw_datum_dup_size(const cw_datum_t *d) {
  size_t total = 0;
  size_t nv = d->kind == CW_KIND_VALUES ? d->num_values : 0;

  if ((d->num_dims > 0 && d->dims == NULL) || (nv > 0 && d->values == NULL))
    return 0;
  if (grow(&total, sizeof(cw_datum_t)) != 0)
    return 0;
  if (d->num_dims > SIZE_MAX / sizeof(cw_dimension_t) ||
      grow(&total, d->num_dims * sizeof(cw_dimension_t)) != 0)
    return 0;
  if (nv > SIZE_MAX / sizeof(double) / 2 ||
      grow(&total, nv * sizeof(double) * (d->counts != NULL ? 2 : 1)) != 0)
    return 0;
  if (grow_str(&total, d->metric_name) != 0)
    return 0;
  for (size_t i = 0; i < d->num_dims; i++)
    if (grow_str(&total, d->dims[i].name) != 0 ||
        grow_str(&total, d->dims[i].value) != 0)
      return 0;
  return total;
}

/* Copies s to *p and moves *p past it (aligned as grow_str counted). */
static const char *place_str(char **p, const char *s) {
  const size_t a = alignof(max_align_t);
  size_t n;
  char *dst = *p;

  if (s == NULL)
    return NULL;
  n = strlen(s) + 1;
  memcpy(dst, s, n);
  *p += (n + a - 1) / a * a;
  return dst;
}

cw_datum_t *cw_datum_dup(const cw_datum_t *d) {
  const size_t a = alignof(max_align_t);
  size_t size = cw_datum_dup_size(d);
  size_t nv = d->kind == CW_KIND_VALUES ? d->num_values : 0;
  cw_datum_t *copy = NULL;
  cw_dimension_t *dims = NULL;
  char *p;

  if (size == 0)
    return NULL;
  copy = malloc(size);
  if (copy == NULL)
    return NULL;
  *copy = *d;
  p = (char *)copy + (sizeof(cw_datum_t) + a - 1) / a * a;

  if (d->num_dims > 0) {
    dims = (cw_dimension_t *)(void *)p;
    p += (d->num_dims * sizeof(cw_dimension_t) + a - 1) / a * a;
  }
  copy->dims = dims;
  copy->values = NULL;
  copy->counts = NULL;
  if (nv > 0) {
    double *vals = (double *)(void *)p;
    memcpy(vals, d->values, nv * sizeof(double));
    copy->values = vals;
    if (d->counts != NULL) {
      memcpy(vals + nv, d->counts, nv * sizeof(double));
      copy->counts = vals + nv;
    }
    p += (nv * sizeof(double) * (d->counts != NULL ? 2 : 1) + a - 1) / a * a;
  }
  copy->metric_name = place_str(&p, d->metric_name);
  for (size_t i = 0; i < d->num_dims; i++) {
    dims[i].name = place_str(&p, d->dims[i].name);
    dims[i].value = place_str(&p, d->dims[i].value);
  }
  return copy;
}

void cw_datum_free(cw_datum_t *d) { free(d); }

/* -------------------------------------------------------- statistic sets */

void cw_datum_statset_init(cw_statset_t *s) {
  s->sample_count = 0;
  s->sum = 0;
  s->minimum = 0;
  s->maximum = 0;
}

int cw_datum_statset_add(cw_statset_t *s, double v) {
  if (!isfinite(v))
    return -1;
  if (s->sample_count == 0 || v < s->minimum)
    s->minimum = v;
  if (s->sample_count == 0 || v > s->maximum)
    s->maximum = v;
  s->sample_count += 1;
  s->sum += v;
  return 0;
}

void cw_datum_statset_merge(cw_statset_t *dst, const cw_statset_t *src) {
  if (!(src->sample_count > 0))
    return;
  if (!(dst->sample_count > 0)) {
    *dst = *src;
    return;
  }
  if (src->minimum < dst->minimum)
    dst->minimum = src->minimum;
  if (src->maximum > dst->maximum)
    dst->maximum = src->maximum;
  dst->sample_count += src->sample_count;
  dst->sum += src->sum;
}

size_t cw_datum_statset_from_samples(cw_statset_t *out, const double *samples,
                                     size_t n) {
  double sum = 0, comp = 0;
  size_t used = 0;

  cw_datum_statset_init(out);
  for (size_t i = 0; i < n; i++) {
    double v = samples[i], t;
    if (!isfinite(v))
      continue;
    if (used == 0 || v < out->minimum)
      out->minimum = v;
    if (used == 0 || v > out->maximum)
      out->maximum = v;
    used++;
    /* Neumaier: keep the low-order bits each addition drops. */
    t = sum + v;
    if (fabs(sum) >= fabs(v))
      comp += (sum - t) + v;
    else
      comp += (v - t) + sum;
    sum = t;
  }
  if (used == 0)
    return 0;
  out->sample_count = (double)used;
  out->sum = sum + comp;
  return used;
}
