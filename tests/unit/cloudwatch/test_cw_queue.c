/* SPDX-License-Identifier: MIT */
/*
 * cw_queue: merging per series and period is exact, datums become ready in
 * arrival order, a claimed batch survives drops and is removed only when
 * done, and the bound drops the oldest and counts it. Periods with
 * sketches become Values/Counts datums that carry the exact statistics and
 * percentiles within the accuracy, or fall back to the statistic set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_queue.h"
#include "tap.h"

static cw_datum_t mk(const char *name, const char *ep, double ts, double n,
                     double sum, double mn, double mx) {
  static cw_dimension_t dims[8][1];
  static int k;
  cw_datum_t d;
  cw_dimension_t *dim = dims[k++ % 8];

  cw_datum_init(&d);
  dim[0].name = "EndpointName";
  dim[0].value = ep;
  d.metric_name = name;
  d.dims = dim;
  d.num_dims = 1;
  d.timestamp = ts;
  d.unit = CW_UNIT_MICROSECONDS;
  d.storage_resolution = 60;
  d.kind = CW_KIND_STATS;
  d.stats.sample_count = n;
  d.stats.sum = sum;
  d.stats.minimum = mn;
  d.stats.maximum = mx;
  return d;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A statistic set and a sketch of n lognormal integer samples, appended to
 * all[]. */
static void timing(unsigned *seed, size_t n, double *all, size_t *num,
                   cw_statset_t *st, sm_sketch_t *k) {
  cw_datum_statset_init(st);
  sm_sketch_reset(k);
  for (size_t i = 0; i < n; i++) {
    double u1, u2, v;
    *seed = *seed * 1103515245u + 12345u;
    u1 = ((*seed >> 8) + 0.5) / 16777216.0;
    *seed = *seed * 1103515245u + 12345u;
    u2 = ((*seed >> 8) + 0.5) / 16777216.0;
    v = round(exp(log(30000) + sqrt(-2 * log(u1)) * cos(6.283185307 * u2)));
    cw_datum_statset_add(st, v);
    sm_sketch_add(k, v);
    all[(*num)++] = v;
  }
}

/* A timing that falls back on its statistic set: sealed, q holds n
 * datums, the first the statistic set of count samples, and fallbacks
 * fallbacks were counted in all. */
static void check_fallback(cw_queue_t *q, size_t n, double count,
                           uint64_t fallbacks, const char *what) {
  const cw_datum_t *d;
  char m[128];

  snprintf(m, sizeof(m), "%s: %zu datum(s)", what, n);
  T_EQ_INT(cw_queue_seal(q), n, m);
  d = cw_queue_ready_get(q, 0);
  T_OK(d != NULL && d->kind == CW_KIND_STATS && d->stats.sample_count == count,
       "%s: the statistic set of all %g samples", what, count);
  snprintf(m, sizeof(m), "%s: counted as a fallback", what);
  T_EQ_INT(cw_queue_sketch_fallbacks(q), fallbacks, m);
}

static void test_sketches(void) {
  cw_queue_t *q = cw_queue_create(100);
  sm_sketch_t *k = sm_sketch_create(0.01, 4096);
  double *all = malloc(20000 * sizeof(*all));
  size_t num = 0, datums, values = 0;
  double count = 0, sum = 0, mn = INFINITY, mx = -INFINITY, exact_sum = 0;
  unsigned seed = 11;
  cw_statset_t st;
  cw_datum_t d;
  int same = 1, valid = 1, within = 1;

  /* Three intervals of one minute, each with its sketch. */
  for (int i = 0; i < 3; i++) {
    timing(&seed, 5000, all, &num, &st, k);
    d = mk("ModelLatency", "e1", 600 + 10 * i, 0, 0, 0, 0);
    d.stats = st;
    cw_queue_add_sketch(q, &d, k);
  }
  T_EQ_INT(cw_queue_size(q), 1, "three intervals of a minute: one datum");
  datums = cw_queue_seal(q);
  T_OK(datums > 1, "sealed into %zu Values/Counts datums", datums);
  for (size_t i = 0; i < datums; i++) {
    const cw_datum_t *r = cw_queue_ready_get(q, i);
    char msg[200];
    if (r->kind != CW_KIND_VALUES || r->timestamp != 600 ||
        strcmp(r->metric_name, "ModelLatency") != 0 ||
        strcmp(r->dims[0].value, "e1") != 0 || r->num_values > CW_MAX_VALUES)
      same = 0;
    if (cw_datum_validate(r, 700, msg, sizeof(msg)) != CW_DATUM_OK) {
      T_NOTE("%s", msg);
      valid = 0;
    }
    for (size_t j = 0; j < r->num_values; j++) {
      count += r->counts[j];
      sum += r->values[j] * r->counts[j];
      mn = fmin(mn, r->values[j]);
      mx = fmax(mx, r->values[j]);
    }
    values += r->num_values;
  }
  T_OK(same,
       "each: the metric, dimensions and period start, at most %d "
       "values",
       CW_MAX_VALUES);
  T_OK(valid, "each passes CloudWatch's rules");
  qsort(all, num, sizeof(*all), cmp_double);
  for (size_t i = 0; i < num; i++)
    exact_sum += all[i];
  T_OK(count == (double)num && sum == exact_sum && mn == all[0] &&
           mx == all[num - 1],
       "together: SampleCount %g, Sum %.17g, Minimum %g, Maximum %g exact",
       count, sum, mn, mx);
  {
    /* p50..p99.9 of the union of the datums, as CloudWatch takes them */
    static const double ps[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t p = 0; p < 4; p++) {
      size_t rank = (size_t)ceil(ps[p] * (double)num) - 1;
      double seen = 0, got = NAN;
      for (size_t i = 0; i < datums && isnan(got); i++) {
        const cw_datum_t *r = cw_queue_ready_get(q, i);
        for (size_t j = 0; j < r->num_values; j++) {
          seen += r->counts[j];
          if ((double)rank < seen) {
            got = r->values[j];
            break;
          }
        }
      }
      if (!(fabs(got - all[rank]) <= 0.01 * all[rank]))
        within = 0;
    }
  }
  T_OK(within, "p50, p90, p99, p99.9 of the datums within 1%% (%zu values)",
       values);
  T_EQ_INT(cw_queue_sketch_fallbacks(q), 0, "no fallback");
  cw_queue_claim(q, datums);
  cw_queue_release(q, 1);

  /* A value of the period without a sketch: the statistic set. */
  num = 0;
  timing(&seed, 100, all, &num, &st, k);
  d = mk("ModelLatency", "e1", 660, 0, 0, 0, 0);
  d.stats = st;
  cw_queue_add_sketch(q, &d, k);
  d.stats = (cw_statset_t){1, 5, 5, 5};
  cw_queue_add(q, &d);
  check_fallback(q, 1, 101, 1, "a value without a sketch");
  cw_queue_claim(q, 1);
  cw_queue_release(q, 1);

  /* A sketch that disagrees with its statistic set: the statistic set. */
  timing(&seed, 100, all, &num, &st, k);
  d.stats = st;
  d.stats.sum += 1;
  cw_queue_add_sketch(q, &d, k);
  check_fallback(q, 1, 100, 2, "a sketch that disagrees");
  cw_queue_claim(q, 1);
  cw_queue_release(q, 1);
  cw_queue_destroy(q);

  /* No room for the Values datums: the statistic set, nothing dropped. */
  q = cw_queue_create(2);
  num = 0;
  timing(&seed, 5000, all, &num, &st, k);
  d.stats = st;
  cw_queue_add_sketch(q, &d, k);
  d = mk("TimeInBacklog", "e1", 660, 1, 3, 3, 3);
  cw_queue_add(q, &d);
  check_fallback(q, 2, 5000, 1, "no room for Values");
  T_EQ_INT(cw_queue_dropped(q), 0, "... nothing dropped");
  cw_queue_destroy(q);

  sm_sketch_destroy(k);
  free(all);
}

int main(void) {
  cw_queue_t *q = cw_queue_create(4);
  cw_datum_t d;
  const cw_datum_t *r;

  d = mk("ModelLatency", "e1", 1200.5, 3, 30, 5, 15);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "first value: new datum");
  {
    /* The series hash depends on the series' text only: a copy of the
     * name in another buffer, added with its hash computed beforehand,
     * merges into the same datum. */
    char name[] = "ModelLatency";
    cw_datum_t e = mk(name, "e1", 1259.9, 2, 70, 20, 50);
    cw_datum_t f = mk("ModelLatency", "e1", 1259.9, 2, 70, 20, 50);
    uint64_t h = cw_queue_series_hash(&e);
    f.unit = CW_UNIT_SECONDS;
    T_OK(h == cw_queue_series_hash(&d) && h != cw_queue_series_hash(&f),
         "series hash: of the name, unit and dimensions");
    f = mk("ModelLatency", "e2", 1259.9, 2, 70, 20, 50);
    T_OK(h != cw_queue_series_hash(&f), "series hash: of the dimension value");
    T_EQ_INT(cw_queue_add_hashed(q, &e, h, NULL), CW_QUEUE_MERGED,
             "same minute, hashed beforehand: merged");
  }
  d = mk("ModelLatency", "e1", 1260, 1, 7, 7, 7);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "next minute: new datum");
  d = mk("ModelLatency", "e2", 1200, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "other dimension: new datum");
  d = mk("TimeInBacklog", "e1", 1200, 1, 1, 1, 1);
  d.stats.sample_count = 0;
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_INVALID, "empty set refused");
  T_EQ_INT(cw_queue_size(q), 3, "three datums held");

  T_EQ_INT(cw_queue_seal(q), 3, "three sealed");
  r = cw_queue_ready_get(q, 0);
  T_OK(r && r->timestamp == 1200 && r->stats.sample_count == 5 &&
           r->stats.sum == 100 && r->stats.minimum == 5 &&
           r->stats.maximum == 50,
       "merged datum: period start, exact statistics");
  T_EQ_STR(r->dims[0].value, "e1", "its dimension is a copy");
  r = cw_queue_ready_get(q, 1);
  T_OK(r && r->timestamp == 1260 && r->stats.sample_count == 1,
       "second in arrival order");
  T_OK(cw_queue_ready_get(q, 3) == NULL, "out of range");

  /* A value of a sealed period starts a new datum of that period. */
  d = mk("ModelLatency", "e1", 1230, 1, 9, 9, 9);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "late value: new datum");
  T_EQ_INT(cw_queue_size(q), 4, "full: 4 of 4");

  /* Claim the two oldest, then overflow: the claimed ones survive. */
  T_EQ_INT(cw_queue_claim(q, 2), 2, "claimed 2");
  d = mk("X", "e9", 1300, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "added past the bound");
  T_EQ_INT(cw_queue_dropped(q), 1, "one dropped");
  T_OK(cw_queue_ready_get(q, 0)->timestamp == 1200 &&
           cw_queue_ready_get(q, 1)->timestamp == 1260,
       "the claimed datums are still at the front");
  T_EQ_INT(cw_queue_ready_num(q), 2, "the unclaimed ready one was dropped");
  cw_queue_release(q, 0);
  T_EQ_INT(cw_queue_ready_num(q), 2, "failed send: datums stay");
  T_EQ_INT(cw_queue_claim(q, 10), 2, "claim is capped at what is ready");
  cw_queue_release(q, 1);
  T_EQ_INT(cw_queue_ready_num(q), 0, "sent: removed");
  T_EQ_INT(cw_queue_size(q), 2, "two merging remain");

  /* Everything claimed: a new datum cannot push a claimed one out. */
  cw_queue_seal(q);
  d = mk("Y", "e9", 1300, 1, 1, 1, 1);
  cw_queue_add(q, &d);
  d = mk("Z", "e9", 1300, 1, 1, 1, 1);
  cw_queue_add(q, &d);
  cw_queue_seal(q);
  T_EQ_INT(cw_queue_claim(q, 4), 4, "all four claimed");
  d = mk("W", "e9", 1300, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_FULL, "all claimed: refused");
  T_EQ_INT(cw_queue_dropped(q), 2, "and counted");
  cw_queue_release(q, 1);
  cw_queue_destroy(q);

  /* Many series: the table grows; merging stays exact. */
  q = cw_queue_create(100000);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 20000; i++) {
      char ep[32];
      snprintf(ep, sizeof(ep), "ep-%d", i);
      d = mk("ModelLatency", ep, 600, 1, i, i, i);
      cw_queue_add(q, &d);
    }
  T_EQ_INT(cw_queue_merging_num(q), 20000, "20000 series merging");
  cw_queue_seal(q);
  {
    int ok = 1;
    for (size_t i = 0; i < 20000; i++) {
      r = cw_queue_ready_get(q, i);
      if (r->stats.sample_count != 3 || r->stats.sum != 3 * r->stats.minimum)
        ok = 0;
    }
    T_OK(ok, "each series merged its three values");
  }
  cw_queue_destroy(q);
  T_OK(cw_queue_create(0) == NULL, "a queue of 0 is refused");
  test_sketches();
  return t_done();
}
