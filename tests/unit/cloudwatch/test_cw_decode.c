/* SPDX-License-Identifier: MIT */
/*
 * cw_decode: every body cw_encode writes reads back into the same datums
 * (each value form, dimensions, units, resolutions; bodies of 1 and 1000
 * datums; fed whole); bodies that are not ours are refused with a reason
 * naming the datum, and nothing is passed on before the datum at fault.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_decode.h"
#include "cw_encode.h"
#include "tap.h"

#define NS "SageMaker/DecodeTest"

static const cw_dimension_t DIMS[] = {{"EndpointName", "ep \"one\""},
                                      {"VariantName", "AllTraffic"}};
static const double VALUES[] = {3, 17, 250.5, 1e-100};
static const double COUNTS[] = {1, 40, 2, 7};

static void make(size_t i, char *name, size_t size, cw_datum_t *d) {
  cw_datum_init(d);
  snprintf(name, size, "Metric-%zu/é", i);
  d->metric_name = name;
  d->dims = i % 4 == 3 ? NULL : DIMS;
  d->num_dims = i % 4 == 3 ? 0 : 2;
  d->timestamp = 1764187200.125 + (double)i;
  d->unit = i % 2 ? CW_UNIT_MICROSECONDS : CW_UNIT_COUNT;
  d->storage_resolution = i % 5 == 0 ? CW_RESOLUTION_HIGH : 60;
  switch (i % 4) {
  case 0:
    d->kind = CW_KIND_VALUE;
    d->value = -(double)i / 7;
    break;
  case 1:
    d->kind = CW_KIND_STATS;
    d->stats = (cw_statset_t){4, 100.5, -1, 60};
    break;
  default:
    d->kind = CW_KIND_VALUES;
    d->values = VALUES;
    d->counts = i % 4 == 2 ? COUNTS : NULL;
    d->num_values = 4;
  }
}

typedef struct {
  size_t n;
  size_t mismatches;
} seen_t;

static int same(const cw_datum_t *a, const cw_datum_t *b) {
  if (strcmp(a->metric_name, b->metric_name) != 0 ||
      a->num_dims != b->num_dims || a->timestamp != b->timestamp ||
      a->unit != b->unit || a->storage_resolution != b->storage_resolution ||
      a->kind != b->kind)
    return 0;
  for (size_t i = 0; i < a->num_dims; i++)
    if (strcmp(a->dims[i].name, b->dims[i].name) != 0 ||
        strcmp(a->dims[i].value, b->dims[i].value) != 0)
      return 0;
  switch (a->kind) {
  case CW_KIND_VALUE:
    return a->value == b->value;
  case CW_KIND_STATS:
    return memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0;
  case CW_KIND_VALUES:
    if (a->num_values != b->num_values ||
        (a->counts == NULL) != (b->counts == NULL))
      return 0;
    for (size_t i = 0; i < a->num_values; i++)
      if (a->values[i] != b->values[i] ||
          (a->counts != NULL && a->counts[i] != b->counts[i]))
        return 0;
    return 1;
  default:
    return 0;
  }
}

static int check(const cw_datum_t *d, void *ud) {
  seen_t *s = ud;
  char name[64];
  cw_datum_t want;
  make(s->n, name, sizeof(name), &want);
  if (!same(d, &want))
    s->mismatches++;
  s->n++;
  return 0;
}

static void round_trip(size_t n) {
  char err[256], ns[300];
  cw_encode_t *e = cw_encode_create(NS, 1000, 1000000, err, sizeof(err));
  const char *body;
  size_t len;
  seen_t seen = {0, 0};
  long got;

  for (size_t i = 0; i < n; i++) {
    char name[64];
    cw_datum_t d;
    make(i, name, sizeof(name), &d);
    if (cw_encode_add(e, &d) != CW_ENCODE_ADDED)
      T_OK(0, "encode %zu", i);
  }
  body = cw_encode_body(e, &len);
  got = cw_decode_metrics(body, len, ns, sizeof(ns), check, &seen, err,
                          sizeof(err));
  if (!T_OK(got == (long)n, "a body of %zu datums decodes into %ld", n, got))
    T_NOTE("%s", err);
  T_EQ_INT(seen.mismatches, 0, "each datum as it was encoded");
  T_EQ_STR(ns, NS, "the namespace");
  cw_encode_destroy(e);
}

static int stop_after_one(const cw_datum_t *d, void *ud) {
  (void)d;
  return ++*(int *)ud >= 1;
}

static void test_refusals(void) {
  static const struct {
    const char *body;
    const char *why;
  } bad[] = {
      {"", "not JSON"},
      {"[]", "an unexpected array"},
      {"{\"Namespace\":\"x\",\"MetricData\":[]}", "with datums"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\"}]}",
       "MetricData[0]: needs"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Value\":1,\"Values\":[1]}]}",
       "a second value form"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Value\":1,\"Unit\":\"Parsecs\"}]}",
       "an unknown Unit"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Values\":[1,2],\"Counts\":[1]}]}",
       "Counts does not match"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Value\":1,\"Extra\":true}]}",
       "unexpected member \"Extra\""},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1e999,\"Value\":1}]}",
       "not a finite number"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"StatisticValues\":{\"Sum\":1}}]}",
       "StatisticValues needs"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Value\":1,\"StorageResolution\":5}]}",
       "StorageResolution 5"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Timestamp\":1,\"Value\":1},{\"MetricName\":\"n\","
       "\"Timestamp\":1,\"Value\":true}]}",
       "MetricData[1]: an unexpected null, boolean"},
      {"{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":\"m\","
       "\"Dimensions\":[{\"Name\":\"a\"}],\"Timestamp\":1,\"Value\":1}]}",
       "a dimension needs a Name and a Value"},
  };
  int all = 1;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char err[256] = "";
    seen_t seen = {0, 0};
    long rc = cw_decode_metrics(bad[i].body, strlen(bad[i].body), NULL, 0, NULL,
                                &seen, err, sizeof(err));
    if (rc != -1 || strstr(err, bad[i].why) == NULL) {
      T_NOTE("body %zu: rc %ld, \"%s\", want \"%s\"", i, rc, err, bad[i].why);
      all = 0;
    }
  }
  T_OK(all, "%zu bodies that are not ours refused, each with its reason",
       sizeof(bad) / sizeof(bad[0]));
  {
    const char *two = "{\"Namespace\":\"x\",\"MetricData\":[{\"MetricName\":"
                      "\"m\",\"Timestamp\":1,\"Value\":1},{\"MetricName\":"
                      "\"n\",\"Timestamp\":2,\"Value\":2}]}";
    char err[256];
    int calls = 0;
    T_OK(cw_decode_metrics(two, strlen(two), NULL, 0, stop_after_one, &calls,
                           err, sizeof(err)) == -1 &&
             calls == 1 && strstr(err, "stopped") != NULL,
         "a callback that says stop ends the decode: %s", err);
  }
}

int main(void) {
  round_trip(1);
  round_trip(17);
  round_trip(1000);
  test_refusals();
  return t_done();
}
