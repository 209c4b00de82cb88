/* SPDX-License-Identifier: MIT */
/*
 * cw_decode: PutMetricData bodies read back (see cw_decode.h).
 *
 * The parser knows where it is by the depth (sm_json's: the arrays and
 * objects around) and the key it is in:
 *   1  the body object: Namespace, MetricData
 *   2  the MetricData array
 *   3  a datum object: MetricName, Dimensions, Timestamp, Value,
 *      StatisticValues, Values, Counts, Unit, StorageResolution
 *   4  the Dimensions, Values or Counts array, the StatisticValues object
 *   5  a dimension object: Name, Value
 */
#include "cw_decode.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_encode.h"
#include "sm_json.h"

typedef enum {
  K_NONE,
  K_NAMESPACE,
  K_METRIC_DATA,
  K_NAME,
  K_DIMENSIONS,
  K_TIMESTAMP,
  K_VALUE,
  K_STATS,
  K_VALUES,
  K_COUNTS,
  K_UNIT,
  K_RESOLUTION,
  K_SAMPLE_COUNT,
  K_SUM,
  K_MINIMUM,
  K_MAXIMUM,
  K_DIM_NAME,
  K_DIM_VALUE,
} key_t_;

typedef struct {
  cw_decode_datum_cb cb;
  void *ud;
  char *ns;
  size_t ns_size;
  key_t_ key;   /* the key at the current depth */
  key_t_ array; /* the datum's array or object open at depth 4 */
  bool have_ns, have_md;
  long count;
  char err[200];

  /* the datum being read */
  bool in_datum;
  cw_datum_t d;
  bool have_name, have_ts, have_unit, have_res, have_counts;
  int forms;
  unsigned stats_seen; /* bit per statistic */
  size_t ndims, nvalues, ncounts;
  bool dim_name, dim_value;
  char name[CW_METRIC_NAME_MAX + 1];
  char dim_names[CW_MAX_DIMENSIONS][CW_DIM_NAME_MAX + 1];
  char dim_values[CW_MAX_DIMENSIONS][CW_DIM_VALUE_MAX + 1];
  cw_dimension_t dims[CW_MAX_DIMENSIONS];
  double values[CW_MAX_VALUES];
  double counts[CW_MAX_VALUES];
} dec_t;

static int fail(dec_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(dec_t *p, const char *fmt, ...) {
  va_list ap;
  char what[160];
  if (p->err[0] != 0)
    return -1;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (p->in_datum)
    snprintf(p->err, sizeof(p->err), "MetricData[%ld]: %s", p->count, what);
  else
    snprintf(p->err, sizeof(p->err), "%s", what);
  return -1; /* stops sm_json */
}

static bool copy(char *dst, size_t size, const char *s, size_t len) {
  if (len >= size || memchr(s, 0, len) != NULL)
    return false;
  memcpy(dst, s, len);
  dst[len] = 0;
  return true;
}

static void datum_begin(dec_t *p) {
  p->in_datum = true;
  memset(&p->d, 0, sizeof(p->d));
  cw_datum_init(&p->d);
  p->have_name = p->have_ts = p->have_unit = p->have_res = false;
  p->have_counts = false;
  p->forms = 0;
  p->stats_seen = 0;
  p->ndims = p->nvalues = p->ncounts = 0;
}

static int datum_end(dec_t *p) {
  if (!p->have_name || !p->have_ts || p->forms != 1)
    return fail(p, "needs MetricName, Timestamp and one value form");
  if (p->d.kind == CW_KIND_STATS && p->stats_seen != 0xf)
    return fail(p, "StatisticValues needs SampleCount, Sum, Minimum and "
                   "Maximum");
  if (p->have_counts &&
      (p->d.kind != CW_KIND_VALUES || p->ncounts != p->nvalues))
    return fail(p, "Counts does not match Values");
  if (p->d.kind == CW_KIND_VALUES && p->nvalues == 0)
    return fail(p, "Values is empty");
  for (size_t i = 0; i < p->ndims; i++)
    p->dims[i] = (cw_dimension_t){p->dim_names[i], p->dim_values[i]};
  p->d.metric_name = p->name;
  p->d.dims = p->ndims > 0 ? p->dims : NULL;
  p->d.num_dims = p->ndims;
  if (p->d.kind == CW_KIND_VALUES) {
    p->d.values = p->values;
    p->d.num_values = p->nvalues;
    p->d.counts = p->have_counts ? p->counts : NULL;
  }
  if (p->count >= CW_ENCODE_MAX_DATUMS)
    return fail(p, "more than %d datums", CW_ENCODE_MAX_DATUMS);
  if (p->cb != NULL && p->cb(&p->d, p->ud) != 0)
    return fail(p, "stopped");
  p->count++;
  return 0;
}

/* ------------------------------------------------------------ numbers */

static int on_number(dec_t *p, unsigned depth, const char *s, size_t len) {
  char buf[64];
  char *end;
  double v;

  if (len >= sizeof(buf))
    return fail(p, "a number too long");
  memcpy(buf, s, len);
  buf[len] = 0;
  v = strtod(buf, &end);
  if (*end != 0 || !isfinite(v))
    return fail(p, "not a finite number: %s", buf);
  if (depth == 3) {
    switch (p->key) {
    case K_TIMESTAMP:
      p->d.timestamp = v;
      p->have_ts = true;
      break;
    case K_VALUE:
      p->d.kind = CW_KIND_VALUE;
      p->d.value = v;
      p->forms++;
      break;
    case K_RESOLUTION:
      if (v != CW_RESOLUTION_HIGH && v != CW_RESOLUTION_STANDARD)
        return fail(p, "StorageResolution %s", buf);
      p->d.storage_resolution = (int)v;
      p->have_res = true;
      break;
    default:
      return fail(p, "an unexpected number");
    }
    p->key = K_NONE;
    return 0;
  }
  if (depth == 4 && p->array == K_STATS) {
    static const key_t_ order[] = {K_SAMPLE_COUNT, K_SUM, K_MINIMUM, K_MAXIMUM};
    for (unsigned i = 0; i < 4; i++)
      if (p->key == order[i]) {
        double *dst[] = {&p->d.stats.sample_count, &p->d.stats.sum,
                         &p->d.stats.minimum, &p->d.stats.maximum};
        *dst[i] = v;
        p->stats_seen |= 1u << i;
        p->key = K_NONE;
        return 0;
      }
    return fail(p, "an unexpected number in StatisticValues");
  }
  if (depth == 4 && p->array == K_VALUES) {
    if (p->nvalues >= CW_MAX_VALUES)
      return fail(p, "more than %d Values", CW_MAX_VALUES);
    p->values[p->nvalues++] = v;
    return 0;
  }
  if (depth == 4 && p->array == K_COUNTS) {
    if (p->ncounts >= CW_MAX_VALUES)
      return fail(p, "more than %d Counts", CW_MAX_VALUES);
    p->counts[p->ncounts++] = v;
    return 0;
  }
  return fail(p, "an unexpected number");
}

/* ------------------------------------------------------------ strings */

static int on_string(dec_t *p, unsigned depth, const char *s, size_t len) {
  if (depth == 1 && p->key == K_NAMESPACE) {
    char tmp[CW_NAMESPACE_MAX + 1];
    if (!copy(tmp, sizeof(tmp), s, len))
      return fail(p, "a bad Namespace");
    if (p->ns != NULL)
      snprintf(p->ns, p->ns_size, "%s", tmp);
    p->have_ns = true;
  } else if (depth == 3 && p->key == K_NAME) {
    if (!copy(p->name, sizeof(p->name), s, len) || len == 0)
      return fail(p, "a bad MetricName");
    p->have_name = true;
  } else if (depth == 3 && p->key == K_UNIT) {
    char unit[64];
    if (!copy(unit, sizeof(unit), s, len) ||
        cw_datum_unit_from_name(unit, &p->d.unit) != 0)
      return fail(p, "an unknown Unit");
    p->have_unit = true;
  } else if (depth == 5 && p->key == K_DIM_NAME) {
    if (!copy(p->dim_names[p->ndims - 1], CW_DIM_NAME_MAX + 1, s, len))
      return fail(p, "a bad dimension Name");
    p->dim_name = true;
  } else if (depth == 5 && p->key == K_DIM_VALUE) {
    if (!copy(p->dim_values[p->ndims - 1], CW_DIM_VALUE_MAX + 1, s, len))
      return fail(p, "a bad dimension Value");
    p->dim_value = true;
  } else {
    return fail(p, "an unexpected string");
  }
  p->key = K_NONE;
  return 0;
}

static int on_scalar(void *ctx, unsigned depth, sm_json_type_t type,
                     const char *s, size_t len) {
  if (type == SM_JSON_NUMBER)
    return on_number(ctx, depth, s, len);
  if (type == SM_JSON_STRING)
    return on_string(ctx, depth, s, len);
  return fail(ctx, "an unexpected null, boolean or integer form");
}

/* ----------------------------------------------------- keys and nesting */

static int on_key(void *ctx, unsigned depth, const char *k, size_t len) {
  static const struct {
    unsigned depth;
    const char *name;
    key_t_ key;
  } keys[] = {
      {1, "Namespace", K_NAMESPACE},
      {1, "MetricData", K_METRIC_DATA},
      {3, "MetricName", K_NAME},
      {3, "Dimensions", K_DIMENSIONS},
      {3, "Timestamp", K_TIMESTAMP},
      {3, "Value", K_VALUE},
      {3, "StatisticValues", K_STATS},
      {3, "Values", K_VALUES},
      {3, "Counts", K_COUNTS},
      {3, "Unit", K_UNIT},
      {3, "StorageResolution", K_RESOLUTION},
      {4, "SampleCount", K_SAMPLE_COUNT},
      {4, "Sum", K_SUM},
      {4, "Minimum", K_MINIMUM},
      {4, "Maximum", K_MAXIMUM},
      {5, "Name", K_DIM_NAME},
      {5, "Value", K_DIM_VALUE},
  };
  dec_t *p = ctx;

  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (keys[i].depth == depth && strlen(keys[i].name) == len &&
        memcmp(keys[i].name, k, len) == 0) {
      p->key = keys[i].key;
      return 0;
    }
  return fail(p, "unexpected member \"%.*s\"", (int)(len < 40 ? len : 40), k);
}

/* An array or object opens: only where cw_encode writes one. */
static int on_open(void *ctx, unsigned depth, bool is_array) {
  dec_t *p = ctx;

  if (depth == 0 && !is_array)
    return 0;
  if (depth == 1 && is_array && p->key == K_METRIC_DATA && !p->have_md) {
    p->have_md = true;
    return 0;
  }
  if (depth == 2 && !is_array) {
    datum_begin(p);
    return 0;
  }
  if (depth == 3 && !is_array && p->key == K_STATS) {
    if (p->forms++ > 0 || p->stats_seen != 0)
      return fail(p, "a second value form");
    p->d.kind = CW_KIND_STATS;
    p->array = K_STATS;
    return 0;
  }
  if (depth == 3 && is_array &&
      (p->key == K_DIMENSIONS || p->key == K_VALUES || p->key == K_COUNTS)) {
    if (p->key == K_VALUES) {
      if (p->forms++ > 0)
        return fail(p, "a second value form");
      p->d.kind = CW_KIND_VALUES;
    }
    if (p->key == K_COUNTS)
      p->have_counts = true;
    p->array = p->key;
    return 0;
  }
  if (depth == 4 && !is_array && p->array == K_DIMENSIONS) {
    if (p->ndims >= CW_MAX_DIMENSIONS)
      return fail(p, "more than %d dimensions", CW_MAX_DIMENSIONS);
    p->ndims++;
    p->dim_name = p->dim_value = false;
    return 0;
  }
  return fail(p, is_array ? "an unexpected array" : "an unexpected object");
}

/* An array or object closes (only those on_open let through). */
static int on_close(void *ctx, unsigned depth, bool is_array) {
  dec_t *p = ctx;
  int rc;

  (void)is_array;
  switch (depth) {
  case 4: /* a dimension */
    if (!p->dim_name || !p->dim_value)
      return fail(p, "a dimension needs a Name and a Value");
    break;
  case 3: /* Dimensions, StatisticValues, Values or Counts */
    p->array = K_NONE;
    break;
  case 2: /* a datum: checked while in it, so that its errors name it */
    rc = datum_end(p);
    p->in_datum = false;
    return rc;
  }
  p->key = K_NONE;
  return 0;
}

long cw_decode_metrics(const char *body, size_t len, char *ns, size_t ns_size,
                       cw_decode_datum_cb cb, void *ud, char *err,
                       size_t err_size) {
  static const sm_json_events_t events = {on_scalar, on_key, on_open, on_close};
  dec_t *p = calloc(1, sizeof(*p));
  char why[128];
  int st;
  long rc = -1;

  if (p == NULL) {
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  p->cb = cb;
  p->ud = ud;
  p->ns = ns;
  p->ns_size = ns_size;
  st = sm_json_parse(&events, p, body, len, why, sizeof(why));
  if (p->err[0] != 0)
    snprintf(err, err_size, "%s", p->err);
  else if (st != 0)
    snprintf(err, err_size, "not JSON: %s", why);
  else if (!p->have_ns || !p->have_md || p->count == 0)
    snprintf(err, err_size, "not a PutMetricData body with datums");
  else
    rc = p->count;
  free(p);
  return rc;
}
