/* SPDX-License-Identifier: MIT */
/*
 * write_cloudwatch's mapping (plugin/wcw_map.c), run as collectd runs it:
 * a block configured through the config callback, value lists handed to
 * the write callback, notifications to the notification callback; what
 * was queued read back as the sender reads it (sealed).
 *
 * Expected, from the documents, not the code:
 *   - every row of tests/data/metrics.tsv (the SageMaker reference list):
 *     its name, unit, dimension set; the collectd type of each metric from
 *     README's "What it dispatches" table; one datum per value list with
 *     the value list's statistic set;
 *   - percentiles: Values/Counts that hold exactly the samples' count,
 *     sum, minimum and maximum and percentiles within the sketch's 1%
 *     (README "Percentiles"), computed here from the samples themselves;
 *   - the generic rule of README's table (name, dimensions, rates, unit),
 *     with README's own examples (load.load.shortterm, memory.memory.used);
 *   - the data log's group, stream and line (README "The data log").
 */
#include "wcw_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "cw_datalog.h"
#include "cw_logs.h"
#include "tap.h"

#define MAX_DATUMS 256
#define HOST "h1"

/* Types of collectd's types.db that the generic tests use (facts about
 * collectd 5.12's types.db). */
static const char extra_types[] =
    "load shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, "
    "longterm:GAUGE:0:5000\n"
    "memory value:GAUGE:0:281474976710656\n"
    "percent value:GAUGE:0:100.1\n"
    "if_octets rx:DERIVE:0:U, tx:DERIVE:0:U\n"
    "if_packets rx:COUNTER:0:U, tx:COUNTER:0:U\n";

static cdtime_t t0; /* a minute's start: the period of the first values */

/* ------------------------------------------------------------ values */

static int write_vl(const char *plugin, const char *pi, const char *type,
                    const char *ti, const double *v, size_t n, cdtime_t t,
                    meta_data_t *md) {
  return fx_write(HOST, plugin, pi, type, ti, v, n, t, md);
}

static int write_sm(const char *type, const char *metric, const double *v,
                    size_t n, cdtime_t t, meta_data_t *md) {
  return write_vl(SM_PLUGIN_ASYNC, "main", type, metric, v, n, t, md);
}

/* One of write_cloudwatch's own values (README's names: the type instance
 * of a derive, "queue_length-" and the type instance of a queue length). */
static uint64_t own(wcw_t *w, const char *name) {
  wcw_own_value_t vals[WCW_OWN_MAX];
  size_t n = wcw_own_values(w, vals);

  for (size_t i = 0; i < n; i++) {
    char full[128];
    if (strcmp(vals[i].type, "derive") == 0)
      snprintf(full, sizeof(full), "%s", vals[i].ti);
    else
      snprintf(full, sizeof(full), "%s-%s", vals[i].type, vals[i].ti);
    if (strcmp(full, name) == 0)
      return vals[i].v;
  }
  T_NOTE("no own value %s", name);
  return UINT64_MAX;
}

static bool stats_are(const cw_datum_t *d, double count, double sum, double min,
                      double max) {
  return d->kind == CW_KIND_STATS && d->stats.sample_count == count &&
         d->stats.sum == sum && d->stats.minimum == min &&
         d->stats.maximum == max;
}

/* The names of d's dimensions, joined by commas. */
static const char *dim_names(const cw_datum_t *d, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = 0;
  for (size_t i = 0; i < d->num_dims && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i > 0 ? "," : "",
                            d->dims[i].name);
  return buf;
}

/* ------------------------------------------------- README's contract */

typedef struct {
  char name[64];
  char type[32];
} dispatched_t;

/* README's "What it dispatches": the collectd type of each type instance
 * of the rows for sagemaker_gauge, sagemaker_count and sagemaker_stats
 * ("ApproximateAgeOfOldestRequest (seconds)": the name before the
 * blank). */
static size_t readme_types(const char *readme, dispatched_t *out, size_t max) {
  size_t len, n = 0;
  const char *sec = fx_section(readme, "## What it dispatches", &len);

  for (const char *p = sec; p != NULL && p < sec + len;) {
    const char *nl = memchr(p, '\n', (size_t)(sec + len - p));
    size_t ll = nl != NULL ? (size_t)(nl - p) : (size_t)(sec + len - p);
    char cells[4][256];

    if (fx_row(p, ll, cells, 4) >= 2 &&
        strncmp(cells[0], "`sagemaker_", 11) == 0 &&
        strchr(cells[0], '(') == NULL) {
      const char *q = cells[1];
      cells[0][strlen(cells[0]) - 1] = 0; /* the closing backquote */
      while (*q != 0 && n < max) {
        size_t w = strcspn(q, ",( ");
        snprintf(out[n].name, sizeof(out[n].name), "%.*s", (int)w, q);
        snprintf(out[n].type, sizeof(out[n].type), "%.31s", cells[0] + 1);
        n++;
        q += strcspn(q, ",");
        q += strspn(q, ", ");
      }
    }
    p = nl != NULL ? nl + 1 : NULL;
  }
  return n;
}

static const char *type_of(const dispatched_t *d, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(d[i].name, name) == 0)
      return d[i].type;
  return NULL;
}

/* ------------------------------------------------------------- tests */

/* Every row of metrics.tsv: one value list of its README type becomes
 * exactly one datum with the row's name, unit and dimensions. */
static void test_table(wcw_t *w, const char *readme) {
  dispatched_t types[64];
  size_t ntypes = readme_types(readme, types, 64);
  char *tsv = fx_source("tests/data/metrics.tsv");
  size_t rows = 0;

  T_OK(ntypes >= 16, "README names the type of %zu value lists", ntypes);
  for (char *line = tsv; line != NULL && *line != 0;) {
    char *nl = strchr(line, '\n');
    char *f[5];
    int nf = 0;
    const char *type;
    cw_datum_t *d[MAX_DATUMS];
    size_t n;
    double v[4];
    char got[128];

    if (nl != NULL)
      *nl = 0;
    for (char *c = line; nf < 5 && c != NULL; nf++) {
      f[nf] = c;
      c = strchr(c, '\t');
      if (c != NULL)
        *c++ = 0;
    }
    line = nl != NULL ? nl + 1 : NULL;
    if (f[0][0] == '#' || f[0][0] == 0 || nf < 4)
      continue;
    rows++;
    type = type_of(types, ntypes, f[0]);
    if (!T_OK(type != NULL, "README says how %s is dispatched", f[0]))
      continue;
    if (strcmp(type, SM_TYPE_STATS) == 0) {
      v[0] = 4, v[1] = 100, v[2] = 10, v[3] = 40;
      write_sm(type, f[0], v, 4, t0 + TIME_T_TO_CDTIME_T(5),
               fx_sm_meta(EP, VARIANT, NULL));
    } else {
      v[0] = 7.5;
      write_sm(type, f[0], v, 1, t0 + TIME_T_TO_CDTIME_T(5),
               fx_sm_meta(EP, VARIANT, NULL));
    }
    n = fx_take(w, w->queue, d, MAX_DATUMS);
    if (!T_OK(n == 1, "%s (%s): one datum", f[0], type))
      T_NOTE("%zu datums", n);
    if (n == 1) {
      T_EQ_STR(d[0]->metric_name, f[0], "  its name");
      T_EQ_STR(cw_datum_unit_name(d[0]->unit), f[1], "  its unit");
      T_EQ_STR(dim_names(d[0], got, sizeof(got)), f[2], "  its dimensions");
      T_EQ_STR(fx_dim(d[0], "EndpointName"), EP, "  EndpointName");
      if (strchr(f[2], ',') != NULL)
        T_EQ_STR(fx_dim(d[0], "VariantName"), VARIANT, "  VariantName");
      T_EQ_DBL(d[0]->timestamp, CDTIME_T_TO_DOUBLE(t0), "  the period's start");
      T_EQ_INT(d[0]->storage_resolution, 60, "  standard resolution");
      if (strcmp(type, SM_TYPE_STATS) == 0)
        T_OK(stats_are(d[0], 4, 100, 10, 40), "  the statistic set");
      else
        T_OK(stats_are(d[0], 1, 7.5, 7.5, 7.5), "  one sample");
    }
    fx_free_datums(d, n);
  }
  T_EQ_INT(rows, 16, "metrics.tsv has the 16 asynchronous metrics");
  free(tsv);

  /* README: "an interval without samples of a timing publishes nothing". */
  {
    double v[4] = {0, 0, NAN, NAN};
    cw_datum_t *d[4];
    write_sm(SM_TYPE_STATS, "ModelLatency", v, 4, t0 + TIME_T_TO_CDTIME_T(6),
             fx_sm_meta(EP, VARIANT, NULL));
    T_EQ_INT(fx_take(w, w->queue, d, 4), 0,
             "a timing without samples: no datum");
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double v, c;
} vc_t;

static int cmp_vc(const void *a, const void *b) {
  return cmp_double(&((const vc_t *)a)->v, &((const vc_t *)b)->v);
}

/* Nearest rank: the smallest value whose cumulative count reaches
 * ceil(q * N). */
static double rank_of(const vc_t *vc, size_t n, double total, double q) {
  double rank = ceil(q * total), cum = 0;
  for (size_t i = 0; i < n; i++) {
    cum += vc[i].c;
    if (cum >= rank)
      return vc[i].v;
  }
  return NAN;
}

/* A timing with the sketch of its samples keeps its percentiles; an
 * unreadable sketch falls back to the statistic set and is counted. */
static void test_sketch(wcw_t *w) {
  enum { N = 2000 };
  static double samples[N];
  static vc_t vc[N];
  sm_sketch_t *s = sm_sketch_create(0.01, sm_sketch_buckets_for(0.01));
  double sum = 0, v[4], total = 0, wsum = 0;
  cw_datum_t *d[MAX_DATUMS];
  size_t n, nvc = 0;
  char *text;
  bool all_values = true;
  static const double qs[] = {0.5, 0.9, 0.99};

  /* A skewed latency in µs, deterministic: 150 µs to about 50 ms. */
  for (int i = 0; i < N; i++) {
    double u = (double)((i * 7919) % N + 1) / (N + 1);
    samples[i] = floor(150.0 * exp(5.8 * u * u * u));
    sum += samples[i];
    sm_sketch_add(s, samples[i]);
  }
  text = sm_sketch_text_encode(s);
  sm_sketch_destroy(s);
  qsort(samples, N, sizeof(samples[0]), cmp_double);
  v[0] = N, v[1] = sum, v[2] = samples[0], v[3] = samples[N - 1];
  write_sm(SM_TYPE_STATS, "ModelLatency", v, 4, t0 + TIME_T_TO_CDTIME_T(7),
           fx_sm_meta(EP, VARIANT, text));

  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_OK(n >= 1, "a timing with a sketch: %zu datums", n);
  for (size_t i = 0; i < n; i++) {
    all_values = all_values && d[i]->kind == CW_KIND_VALUES &&
                 strcmp(d[i]->metric_name, "ModelLatency") == 0 &&
                 d[i]->unit == CW_UNIT_MICROSECONDS && d[i]->num_dims == 2;
    for (size_t j = 0;
         d[i]->kind == CW_KIND_VALUES && j < d[i]->num_values && nvc < N; j++) {
      double c = d[i]->counts != NULL ? d[i]->counts[j] : 1;
      vc[nvc++] = (vc_t){d[i]->values[j], c};
      total += c;
      wsum += d[i]->values[j] * c;
    }
  }
  T_OK(all_values, "  each is ModelLatency's Values/Counts, in µs, with "
                   "EndpointName and VariantName");
  qsort(vc, nvc, sizeof(vc[0]), cmp_vc);
  T_EQ_DBL(total, N, "  the counts add up to the samples");
  T_OK(fabs(wsum - sum) <= 1e-9 * sum, "  values times counts: the sum");
  if (nvc > 0) {
    T_EQ_DBL(vc[0].v, samples[0], "  the minimum is a value");
    T_EQ_DBL(vc[nvc - 1].v, samples[N - 1], "  the maximum is a value");
  }
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    double exact = samples[(size_t)ceil(qs[i] * N) - 1];
    double got = rank_of(vc, nvc, total, qs[i]);
    if (!T_OK(fabs(got - exact) <= 0.01 * exact,
              "  p%g within 1%% of the samples'", qs[i] * 100))
      T_NOTE("got %g, want %g", got, exact);
  }
  T_EQ_INT(own(w, "percentiles_dropped-fallback"), 0, "  no fallback");
  fx_free_datums(d, n);

  /* Unreadable: the statistic set alone, counted, logged once. */
  stub_log_clear();
  for (int i = 0; i < 2; i++) {
    write_sm(SM_TYPE_STATS, "ModelLatency", v, 4,
             t0 + TIME_T_TO_CDTIME_T(8 + i),
             fx_sm_meta(EP, VARIANT, "sketch 9 not a sketch"));
    n = fx_take(w, w->queue, d, MAX_DATUMS);
    T_EQ_INT(n, 1, "an unreadable sketch: one datum");
    if (n == 1)
      T_OK(stats_are(d[0], N, sum, samples[0], samples[N - 1]),
           "  the statistic set");
    fx_free_datums(d, n);
    T_EQ_INT(own(w, "percentiles_dropped-unreadable"), i + 1,
             "  counted in percentiles_dropped-unreadable");
  }
  T_EQ_INT(stub_log_matches(LOG_WARNING, "unreadable sketch"), 1,
           "  logged once for two (collectd's c_complain)");
  /* Readable again: one line says so. */
  write_sm(SM_TYPE_STATS, "ModelLatency", v, 4, t0 + TIME_T_TO_CDTIME_T(10),
           fx_sm_meta(EP, VARIANT, text));
  write_sm(SM_TYPE_STATS, "ModelLatency", v, 4, t0 + TIME_T_TO_CDTIME_T(11),
           fx_sm_meta(EP, VARIANT, text));
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  fx_free_datums(d, n);
  T_EQ_INT(stub_log_matches(LOG_INFO, "sketches readable again"), 1,
           "a readable sketch after them: one line says so");
  free(text);
}

/* Percentiles false: timings as statistic sets, sketch or not (README). */
static void test_no_percentiles(void) {
  wcw_t *w = fx_block(FX_LOCAL "Percentiles false", NULL);
  sm_sketch_t *s = sm_sketch_create(0.01, sm_sketch_buckets_for(0.01));
  double v[4] = {2, 300, 100, 200};
  cw_datum_t *d[8];
  size_t n;
  char *text;

  if (!T_OK(w != NULL, "a block with Percentiles false"))
    return;
  sm_sketch_add(s, 100);
  sm_sketch_add(s, 200);
  text = sm_sketch_text_encode(s);
  sm_sketch_destroy(s);
  write_sm(SM_TYPE_STATS, "TimeInBacklog", v, 4, t0 + TIME_T_TO_CDTIME_T(1),
           fx_sm_meta(EP, VARIANT, text));
  n = fx_take(w, w->queue, d, 8);
  T_EQ_INT(n, 1, "Percentiles false: one datum");
  if (n == 1)
    T_OK(stats_are(d[0], 2, 300, 100, 200), "  the statistic set");
  T_EQ_INT(own(w, "percentiles_dropped-fallback"), 0,
           "  not a fallback: percentiles were not asked for");
  fx_free_datums(d, n);
  free(text);
}

/* Without the names CloudWatch needs: dropped and counted. */
static void test_names_missing(wcw_t *w) {
  double v = 3;
  cw_datum_t *d[4];
  uint64_t before = own(w, "datums_dropped-invalid");
  size_t n;

  write_sm(SM_TYPE_COUNT, "InvocationFailures", &v, 1,
           t0 + TIME_T_TO_CDTIME_T(12), fx_sm_meta(NULL, VARIANT, NULL));
  T_EQ_INT(fx_take(w, w->queue, d, 4), 0, "no endpoint name: no datum");
  T_EQ_INT(own(w, "datums_dropped-invalid"), before + 1,
           "  counted in datums_dropped-invalid");
  write_sm(SM_TYPE_COUNT, "InvocationFailures", &v, 1,
           t0 + TIME_T_TO_CDTIME_T(13), fx_sm_meta(EP, NULL, NULL));
  T_EQ_INT(fx_take(w, w->queue, d, 4), 0,
           "no variant name where VariantName is a dimension: no datum");
  T_EQ_INT(own(w, "datums_dropped-invalid"), before + 2, "  counted too");
  write_sm(SM_TYPE_GAUGE, "ApproximateBacklogSize", &v, 1,
           t0 + TIME_T_TO_CDTIME_T(14), fx_sm_meta(EP, NULL, NULL));
  n = fx_take(w, w->queue, d, 4);
  T_EQ_INT(n, 1,
           "no variant name for a metric of EndpointName alone: "
           "published");
  if (n == 1)
    T_EQ_INT(d[0]->num_dims, 1, "  with one dimension");
  fx_free_datums(d, n);
}

/* sagemaker_async's values that are not SageMaker's metrics. */
static void test_not_sagemaker(wcw_t *w, const char *what) {
  double v = 5;
  double stats[4] = {1, 5, 5, 5};
  cw_datum_t *d[4];
  size_t n;

  write_sm(SM_TYPE_COUNT, "LostRequests", &v, 1, t0 + TIME_T_TO_CDTIME_T(15),
           fx_sm_meta(EP, VARIANT, NULL));
  write_sm(SM_TYPE_COUNTER, "InvocationFailures", &v, 1,
           t0 + TIME_T_TO_CDTIME_T(15), fx_sm_meta(EP, VARIANT, NULL));
  write_sm(SM_TYPE_COUNTER, "LostRequests", &v, 1, t0 + TIME_T_TO_CDTIME_T(15),
           fx_sm_meta(EP, VARIANT, NULL));
  /* A metric's name under another type than README's. */
  write_sm(SM_TYPE_GAUGE, "ModelLatency", &v, 1, t0 + TIME_T_TO_CDTIME_T(15),
           fx_sm_meta(EP, VARIANT, NULL));
  write_sm(SM_TYPE_STATS, "ApproximateBacklogSize", stats, 4,
           t0 + TIME_T_TO_CDTIME_T(15), fx_sm_meta(EP, VARIANT, NULL));
  n = fx_take(w, w->queue, d, 4);
  if (!T_OK(n == 0,
            "with %s: LostRequests, sagemaker_counter, a name under another "
            "type: nothing published",
            what))
    T_NOTE("first: %s", d[0]->metric_name);
  fx_free_datums(d, n);
}

/* README's generic rule. */
static void test_generic(void) {
  wcw_t *w = fx_block(FX_LOCAL "GenericMetrics true\n"
                               "Dimension \"Cluster\" \"c1\"\n"
                               "Dimension \"Role\" \"web\"",
                      NULL);
  cw_datum_t *d[MAX_DATUMS];
  size_t n;
  cdtime_t t = t0 + TIME_T_TO_CDTIME_T(20);
  static const double load[3] = {0.5, 0.25, 0.125};
  static const gauge_t rates[2] = {100, 200}, nan2[2] = {NAN, NAN};
  double x;
  char got[128];

  if (!T_OK(w != NULL, "a block with GenericMetrics and two Dimensions"))
    return;
  test_not_sagemaker(w, "GenericMetrics true");

  write_vl("load", "", "load", "", load, 3, t, NULL);
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_EQ_INT(n, 3, "load: a datum per data source");
  for (size_t i = 0; i < n && i < 3; i++) {
    static const char *const names[] = {
        "load.load.shortterm", "load.load.midterm", "load.load.longterm"};
    const cw_datum_t *m = NULL;
    for (size_t j = 0; j < n; j++)
      if (strcmp(d[j]->metric_name, names[i]) == 0)
        m = d[j];
    if (!T_OK(m != NULL, "  %s", names[i]))
      continue;
    T_OK(stats_are(m, 1, load[i], load[i], load[i]), "  its gauge as is");
    T_EQ_STR(dim_names(m, got, sizeof(got)), "Host,Cluster,Role",
             "  Host, then the static dimensions");
    T_EQ_STR(fx_dim(m, "Host"), HOST, "  Host: collectd's host name");
    T_EQ_STR(fx_dim(m, "Role"), "web", "  a static dimension's value");
    T_OK(m->unit == CW_UNIT_NONE, "  unit None");
  }
  fx_free_datums(d, n);

  x = 1024;
  write_vl("memory", "", "memory", "used", &x, 1, t, NULL);
  x = 99;
  write_vl("cpu", "0", "percent", "user", &x, 1, t, NULL);
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_EQ_INT(n, 2, "memory and cpu: a datum each");
  for (size_t i = 0; i < n; i++) {
    if (strcmp(d[i]->metric_name, "memory.memory.used") == 0) {
      T_OK(stats_are(d[i], 1, 1024, 1024, 1024), "memory.memory.used");
      T_EQ_STR(dim_names(d[i], got, sizeof(got)), "Host,Cluster,Role",
               "  no PluginInstance where there is none");
    } else {
      T_EQ_STR(d[i]->metric_name, "cpu.percent.user",
               "cpu.percent.user: type instance, no data source name");
      T_EQ_STR(dim_names(d[i], got, sizeof(got)),
               "Host,PluginInstance,Cluster,Role",
               "  PluginInstance after Host");
      T_EQ_STR(fx_dim(d[i], "PluginInstance"), "0", "  its value");
    }
  }
  fx_free_datums(d, n);

  /* Derives and counters: their rates, as collectd's cache has them. */
  stub_set_rate(HOST "/interface-eth0/if_octets", rates, 2);
  stub_set_rate(HOST "/interface-eth0/if_packets", rates, 2);
  {
    double raw[2] = {123456, 654321};
    write_vl("interface", "eth0", "if_octets", "", raw, 2, t, NULL);
    write_vl("interface", "eth0", "if_packets", "", raw, 2, t, NULL);
  }
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_EQ_INT(n, 4, "if_octets and if_packets: a datum per data source");
  for (size_t i = 0; i < n; i++) {
    bool rx = strstr(d[i]->metric_name, ".rx") != NULL;
    T_OK(strncmp(d[i]->metric_name, "interface.if_", 13) == 0 &&
             (rx || strstr(d[i]->metric_name, ".tx") != NULL),
         "%s: plugin.type.dsname", d[i]->metric_name);
    T_OK(stats_are(d[i], 1, rates[!rx], rates[!rx], rates[!rx]),
         "  the rate, not the raw value");
  }
  fx_free_datums(d, n);

  /* No rate yet: collectd's cache holds NaN after a first value, and has
   * no entry at all for a value it never saw. */
  stub_set_rate(HOST "/interface-eth1/if_octets", nan2, 2);
  {
    double raw[2] = {1, 2};
    write_vl("interface", "eth1", "if_octets", "", raw, 2, t, NULL);
    write_vl("interface", "eth2", "if_octets", "", raw, 2, t, NULL);
  }
  x = NAN;
  write_vl("memory", "", "memory", "free", &x, 1, t, NULL);
  {
    double l[3] = {1, NAN, 3};
    write_vl("load", "", "load", "", l, 3, t + TIME_T_TO_CDTIME_T(1), NULL);
  }
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_EQ_INT(n, 2,
           "a first value, an unknown rate, a NaN: skipped; load's "
           "other two kept");
  fx_free_datums(d, n);

  /* The repeat check: the same identifier and time again is one value. */
  x = 10;
  write_vl("memory", "", "memory", "cached", &x, 1, t, NULL);
  write_vl("memory", "", "memory", "cached", &x, 1, t, NULL);
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_EQ_INT(n, 1, "a value handed over twice: one datum");
  if (n == 1)
    T_EQ_DBL(d[0]->stats.sample_count, 1, "  of one sample");
  T_EQ_INT(own(w, "values_repeated"), 1, "  counted in values_repeated");
  fx_free_datums(d, n);
  write_vl("memory", "", "memory", "cached", &x, 1, t + TIME_T_TO_CDTIME_T(1),
           NULL);
  write_vl("memory", "", "memory", "cached", &x, 1, t + TIME_T_TO_CDTIME_T(2),
           NULL);
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  T_OK(n == 1 && d[0]->stats.sample_count == 2,
       "the same series at other times: both samples (merged)");
  T_EQ_INT(own(w, "values_repeated"), 1, "  not repeats");
  fx_free_datums(d, n);
  stub_rates_clear();
}

static void test_filters(void) {
  wcw_t *w =
      fx_block(FX_LOCAL "GenericMetrics true\n"
                        "Include \"^memory/\"\nInclude \"^cpu-\"\n"
                        "Exclude \"^cpu-1/\"\nExclude \"^sagemaker_async\"",
               NULL);
  cw_datum_t *d[MAX_DATUMS];
  size_t n;
  cdtime_t t = t0 + TIME_T_TO_CDTIME_T(30);
  double x = 1, l[3] = {1, 2, 3}, c = 4;
  bool mem = false, cpu0 = false, sm = false;

  if (!T_OK(w != NULL, "a block with Include and Exclude"))
    return;
  write_vl("memory", "", "memory", "used", &x, 1, t, NULL);
  write_vl("cpu", "0", "percent", "user", &x, 1, t, NULL);
  write_vl("cpu", "1", "percent", "user", &x, 1, t, NULL);
  write_vl("load", "", "load", "", l, 3, t, NULL);
  write_sm(SM_TYPE_COUNT, "InvocationFailures", &c, 1, t,
           fx_sm_meta(EP, VARIANT, NULL));
  n = fx_take(w, w->queue, d, MAX_DATUMS);
  for (size_t i = 0; i < n; i++) {
    mem = mem || strcmp(d[i]->metric_name, "memory.memory.used") == 0;
    cpu0 = cpu0 || (strcmp(d[i]->metric_name, "cpu.percent.user") == 0 &&
                    strcmp(fx_dim(d[i], "PluginInstance"), "0") == 0);
    sm = sm || strcmp(d[i]->metric_name, "InvocationFailures") == 0;
  }
  T_EQ_INT(n, 3, "filters: memory, cpu-0 and the SageMaker metric");
  T_OK(mem, "  memory/memory-used: included");
  T_OK(cpu0, "  cpu-0/percent-user: included, not excluded");
  T_OK(sm, "  InvocationFailures: filters are for generic metrics");
  fx_free_datums(d, n);
}

/* ------------------------------------------------------ the data log */

/* ISO 8601 in UTC to the millisecond, as README's example line. */
static void iso(int64_t ms, char *buf, size_t size) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  char day[32];

  gmtime_r(&s, &tm);
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, size, "%.19s.%03uZ", day, (unsigned)(ms % 1000));
}

/* README's line for request(), with the instance ID given. */
static void expected_line(int64_t ms, const char *instance, char *buf,
                          size_t size) {
  char done[64], received[64];
  iso(ms, done, sizeof(done));
  iso(ms - 2000, received, sizeof(received));
  snprintf(buf, size,
           "{\"time\":\"%s\",\"inference_id\":\"req-1\","
           "\"outcome\":\"model_error\",\"stage\":\"model\","
           "\"status_code\":500,\"error\":\"container replied 500\","
           "\"endpoint_name\":\"" EP "\",\"variant_name\":\"" VARIANT "\","
           "\"instance_id\":\"%s\",\"boot_id\":\"boot-1\",\"seq\":1043,"
           "\"received\":\"%s\"}",
           done, instance, received);
}

/* The one event the block's data log holds, checked against README. */
static void check_event(wcw_t *w, int64_t ms, const char *instance,
                        const char *what) {
  cw_logs_batch_t b;
  const cw_logs_event_t *e;
  char want[1024], stream[256];

  pthread_mutex_lock(&w->lock);
  T_EQ_INT(cw_logs_queue_claim(w->logq, ms, &b), 1, what);
  e = cw_logs_queue_claimed(w->logq, 0);
  snprintf(stream, sizeof(stream), VARIANT "/%s/data-log", instance);
  expected_line(ms, instance, want, sizeof(want));
  if (e != NULL) {
    T_EQ_STR(b.group, "/aws/sagemaker/Endpoints/" EP, "  the log group");
    T_EQ_STR(b.stream, stream, "  the log stream");
    T_EQ_INT(e->timestamp_ms, ms, "  timed at the request's completion");
    T_EQ_STR(e->message, want, "  README's line");
  }
  cw_logs_queue_release(w->logq, 1);
  pthread_mutex_unlock(&w->lock);
}

/* The events the block's data log holds: all, or only those waiting for
 * their stream's name. */
static size_t log_events(wcw_t *w, bool waiting) {
  size_t n;
  pthread_mutex_lock(&w->lock);
  n = waiting ? cw_logs_queue_pending(w->logq) : cw_logs_queue_size(w->logq);
  pthread_mutex_unlock(&w->lock);
  return n;
}

/* What the sender thread does with waiting events (wcw_sender.c) once it
 * knows the instance ID: their stream and line name it. */
static int name_stream(const char *group, const char *variant, void *ud,
                       char *out, size_t size) {
  wcw_t *w = ud;
  (void)group;
  return cw_datalog_stream(variant, w->instance_id, out, size);
}

static char *name_line(const char *line, size_t len, void *ud) {
  wcw_t *w = ud;
  return cw_datalog_line_resolve(line, len, w->instance_id);
}

static void test_datalog(void) {
  wcw_t *w = fx_block(FX_LOCAL, NULL);
  int64_t ms = (int64_t)CDTIME_T_TO_MS(t0) + 123;

  if (!T_OK(w != NULL && w->logq != NULL, "a block with the data log"))
    return;
  fx_notify_request(SM_PLUGIN_ASYNC, SM_TYPE_REQUEST, VARIANT,
                    "i-0123456789abcdef0", ms);
  check_event(w, ms, "i-0123456789abcdef0",
              "a request's notification: one event");

  /* No instance ID from the runtime, none known yet: it waits. */
  fx_notify_request(SM_PLUGIN_ASYNC, SM_TYPE_REQUEST, VARIANT, NULL, ms);
  T_EQ_INT(log_events(w, true), 1,
           "no instance ID known: the event waits for it");
  T_EQ_INT(own(w, "queue_length-log_events_unnamed"), 1,
           "  counted in queue_length-log_events_unnamed");

  /* The sender thread names it once it knows the instance (from
   * instance metadata or InstanceId): then it is README's line too. */
  pthread_mutex_lock(&w->lock);
  sstrncpy(w->instance_id, "i-0fedcba9876543210", sizeof(w->instance_id));
  w->instance_known = true;
  T_EQ_INT(cw_logs_queue_resolve(w->logq, name_stream, name_line, w, NULL), 0,
           "  named when the instance is known");
  pthread_mutex_unlock(&w->lock);
  check_event(w, ms, "i-0fedcba9876543210",
              "  then it is one event with that instance ID");
  fx_notify_request(SM_PLUGIN_ASYNC, SM_TYPE_REQUEST, VARIANT, NULL, ms + 1);
  check_event(w, ms + 1, "i-0fedcba9876543210",
              "the instance ID known: the event carries it");

  /* Other notifications: nothing. */
  fx_notify_request("other_plugin", SM_TYPE_REQUEST, VARIANT, "i-1", ms);
  fx_notify_request(SM_PLUGIN_ASYNC, "other_type", VARIANT, "i-1", ms);
  T_EQ_INT(log_events(w, false), 0,
           "another plugin's or type's notification: no event");

  /* No variant and no instance: no stream can be named. */
  pthread_mutex_lock(&w->lock);
  w->instance_known = false;
  pthread_mutex_unlock(&w->lock);
  fx_notify_request(SM_PLUGIN_ASYNC, SM_TYPE_REQUEST, NULL, NULL, ms);
  T_EQ_INT(log_events(w, false), 0, "no variant, no instance ID: no event");
  T_EQ_INT(own(w, "log_events_dropped-invalid"), 1,
           "  counted in log_events_dropped-invalid");
}

int main(void) {
  char *readme = fx_source("README.md");
  wcw_t *w;

  t0 = TIME_T_TO_CDTIME_T(time(NULL) / 60 * 60);
  stub_set_time(t0 + TIME_T_TO_CDTIME_T(30));
  if (readme == NULL || fx_init(extra_types) != 0) {
    T_OK(0, "README.md and contrib/types.db read");
    free(readme);
    return t_done();
  }
  /* One block at a time: collectd hands every value to every block. */
  w = fx_block(FX_LOCAL, NULL);
  if (T_OK(w != NULL, "a block (defaults, but local endpoints)")) {
    test_table(w, readme);
    test_sketch(w);
    test_names_missing(w);
    test_not_sagemaker(w, "the defaults");
  }
  fx_free_blocks();
  test_no_percentiles();
  fx_free_blocks();
  test_generic();
  fx_free_blocks();
  test_filters();
  fx_free_blocks();
  test_datalog();
  fx_free_blocks();
  free(readme);
  return t_done();
}
