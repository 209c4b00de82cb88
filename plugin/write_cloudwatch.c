/* SPDX-License-Identifier: MIT */
/*
 * write_cloudwatch: collectd write plugin publishing to Amazon CloudWatch
 * with PutMetricData, and the endpoint data log to CloudWatch Logs with
 * PutLogEvents.
 *
 * The write callback maps a value list to CloudWatch datums, validates
 * them and merges them into a bounded queue; the notification callback
 * turns sagemaker_async's request notifications into data-log events.
 * Neither touches the network. One delivery pipeline per <Plugin
 * write_cloudwatch> block (cw_pipeline: its sender thread, batches, gzip,
 * SigV4, retries, the spool, shutdown) sends the streams: the block's
 * metrics, the host metrics (another namespace) and the data log. Values
 * of sagemaker_async become exactly the SageMaker asynchronous-endpoint
 * metrics (sm_metrics); any other value is published only when
 * GenericMetrics is on, by the naming rule in the README.
 *
 * This file is the collectd glue: configuration, mapping, registration,
 * the plugin's own metrics. Everything else is in plugin/cloudwatch and
 * plugin/aws, collectd-free.
 */
#include "sm_collectd.h"
#include "sm_contract.h"

#include "collectd/core/daemon/utils_cache.h"

#include <curl/curl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "aws_creds.h"
#include "aws_endpoint.h"
#include "aws_imds.h"
#include "aws_region.h"
#include "cw_datalog.h"
#include "cw_datum.h"
#include "cw_dedup.h"
#include "cw_encode.h"
#include "cw_host.h"
#include "cw_logs.h"
#include "cw_pipeline.h"
#include "cw_queue.h"
#include "cw_spool.h"
#include "cw_stream_logs.h"
#include "cw_stream_metrics.h"
#include "sm_metrics.h"
#include "sm_sketch.h"

#define PLUGIN_NAME SM_PLUGIN_WRITE
#define DEFAULT_NAMESPACE "SageMaker/AsyncInference"
#define DEFAULT_FLUSH_INTERVAL 10
#define DEFAULT_MAX_QUEUED 100000
#define DEFAULT_MAX_QUEUED_LOG_EVENTS 100000
#define IMDS_INSTANCE_ID_PATH "/latest/meta-data/instance-id"
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_SHUTDOWN_TIMEOUT 5
#define DEFAULT_MAX_REQUESTS_PER_SECOND 20.0
#define MAX_FILTERS 64
#define MAX_STATIC_DIMS 10
/* Series not written for this long are forgotten by the repeat check. */
#define DEDUP_MAX_AGE TIME_T_TO_CDTIME_T(3600)
/* Instance metadata, while the data log waits for the instance ID: asked
 * again after 1 s, doubling up to 5 minutes. */
#define IMDS_RETRY_FIRST_S 1
#define IMDS_RETRY_MAX_S 300

typedef struct {
  char *name;
  char *value;
} static_dim_t;

typedef struct {
  /* configuration */
  char *instance; /* "0", "1", ...: one per <Plugin> block */
  char *region_cfg;
  char *endpoint;
  char *ns;
  char *profile;
  cdtime_t flush_interval;
  int storage_resolution;
  size_t max_queued;
  bool compress;
  long timeout_ms;
  int max_attempts;
  cdtime_t shutdown_timeout;
  bool imds_v1;
  bool generic;
  char *spool_dir;
  uint64_t spool_max_bytes;
  double max_rps;
  bool percentiles;
  regex_t include[MAX_FILTERS];
  size_t include_num;
  regex_t exclude[MAX_FILTERS];
  size_t exclude_num;
  static_dim_t dims[MAX_STATIC_DIMS];
  size_t dims_num;
  bool datalog;
  char *logs_endpoint;
  size_t max_log_events;
  char *instance_id_cfg;
  bool host_metrics;
  char *host_ns;
  char *host_endpoint_cfg;
  char *host_variant_cfg;
  char *host_disk; /* the df plugin's instance */
  char region[AWS_REGION_MAX + 1];

  /* runtime; the lock guards the queues, the repeat check, the counters
   * below and the instance ID */
  pthread_mutex_t lock;
  aws_creds_provider_t *creds;
  aws_creds_config_t creds_cfg; /* for instance metadata */
  cw_pipeline_t *pipe;
  cw_queue_t *queue;
  cw_stream_metrics_t *metrics;
  int st_metrics;
  cw_dedup_t *dedup;
  cw_host_t *host; /* host metrics: their reads and queue */
  cw_queue_t *host_queue;
  cw_stream_metrics_t *host_metrics_stream;
  int st_host;
  cw_logs_queue_t *logq;
  cw_stream_logs_t *logs;
  int st_logs;
  cw_spool_t *spool; /* opened on the sender thread */
  bool thread_failed;

  /* The instance ID for the data log's streams, when the runtime does not
   * name it: resolved on the sender thread. */
  char instance_id[64];
  bool instance_known;
  time_t imds_next;
  int imds_wait_s;
  uint64_t log_events_invalid; /* no usable stream name */

  uint64_t duplicates;
  uint64_t bad_sketches;
  uint64_t invalid[CW_DATUM_E_NUM];
  unsigned logged_reasons; /* bit per reason: logged once */
  uint64_t rng;            /* jitter state (the sender's only) */
  c_complain_t complaint_sketch;
  c_complain_t complaint_host;
  c_complain_t complaint_spool;
  c_complain_t complaint_imds;
} wcw_t;

/* ------------------------------------------------------------ helpers */

/* splitmix64: the sender thread is the only user of an instance's state,
 * and backoff jitter needs no more than this. */
static double random01(void *ud) {
  wcw_t *w = ud;
  uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

static time_t clock_now(void *ud) { return aws_creds_system_clock(ud); }

static void pipe_log(cw_log_level_t level, const char *msg, void *ud) {
  wcw_t *w = ud;
  int l = level == CW_LOG_ERR       ? LOG_ERR
          : level == CW_LOG_WARNING ? LOG_WARNING
                                    : LOG_INFO;
  plugin_log(l, PLUGIN_NAME " plugin (%s): %s", w->ns, msg);
}

static int thread_create(pthread_t *t, void *(*fn)(void *), void *arg,
                         void *ud) {
  wcw_t *w = ud;
  char name[16];
  ssnprintf(name, sizeof(name), "wcw#%s", w->instance);
  return plugin_thread_create(t, fn, arg, name);
}

/* ------------------------------------------------------------ mapping */

/* Validates d and queues it (with the sketch of its samples, if any);
 * counts and logs (once per reason) what is refused. Called with the lock
 * held. */
static void enqueue_into(wcw_t *w, cw_queue_t *q, const cw_datum_t *d,
                         double now, const sm_sketch_t *sketch) {
  char msg[512];
  cw_datum_reason_t why = cw_datum_validate(d, now, msg, sizeof(msg));

  if (why != CW_DATUM_OK) {
    w->invalid[why]++;
    if (!(w->logged_reasons & (1u << why))) {
      w->logged_reasons |= 1u << why;
      WARNING(PLUGIN_NAME " plugin (%s): dropping a datum CloudWatch would "
                          "refuse (%s): %s; further datums dropped for this "
                          "reason are only counted",
              w->ns, cw_datum_reason_name(why), msg);
    }
    return;
  }
  if (cw_queue_add_sketch(q, d, sketch) == CW_QUEUE_NOMEM)
    ERROR(PLUGIN_NAME " plugin (%s): out of memory queueing %s", w->ns,
          d->metric_name);
}

static void enqueue_sketch(wcw_t *w, const cw_datum_t *d, double now,
                           const sm_sketch_t *sketch) {
  enqueue_into(w, w->queue, d, now, sketch);
}

static void enqueue(wcw_t *w, const cw_datum_t *d, double now) {
  enqueue_sketch(w, d, now, NULL);
}

/* The sketch sagemaker_async sent with a timing, or NULL (none, not
 * wanted, or unreadable: then the statistic set alone is published). */
static sm_sketch_t *timing_sketch(wcw_t *w, const value_list_t *vl) {
  char *text = NULL;
  char err[256];
  sm_sketch_t *s;

  if (!w->percentiles ||
      meta_data_get_string(vl->meta, SM_META_SKETCH, &text) != 0)
    return NULL;
  s = sm_sketch_text_decode(text, SM_SKETCH_MAX_MAX_BUCKETS, err, sizeof(err));
  if (s == NULL) {
    w->bad_sketches++;
    c_complain(LOG_WARNING, &w->complaint_sketch,
               PLUGIN_NAME " plugin (%s): %s/%s: unreadable sketch (%s); "
                           "publishing the statistic set without percentiles",
               w->ns, vl->plugin_instance, vl->type_instance, err);
  } else {
    c_release(LOG_INFO, &w->complaint_sketch,
              PLUGIN_NAME " plugin (%s): sketches readable again", w->ns);
  }
  sfree(text);
  return s;
}

static void statset_datum(cw_datum_t *d, const cw_statset_t *s) {
  d->kind = CW_KIND_STATS;
  d->stats = *s;
}

/* sagemaker_async's values: exactly the metric table's names, units and
 * dimension sets. Returns 1 if the value list was one of them (handled),
 * 0 if not. Called with the lock held. */
static int map_sagemaker(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                         double now) {
  const sm_metric_t *m;
  char *endpoint = NULL, *variant = NULL;
  cw_dimension_t dims[2];
  cw_datum_t d;
  cw_statset_t s;
  cw_unit_t unit;

  if (strcmp(vl->plugin, SM_PLUGIN_ASYNC) != 0)
    return 0;
  m = sm_metrics_find(vl->type_instance);
  if (m == NULL)
    return 0;
  if ((m->kind == SM_KIND_STATS &&
       (strcmp(vl->type, SM_TYPE_STATS) != 0 || ds->ds_num != 4)) ||
      (m->kind == SM_KIND_GAUGE && strcmp(vl->type, SM_TYPE_GAUGE) != 0) ||
      (m->kind == SM_KIND_COUNT && strcmp(vl->type, SM_TYPE_COUNT) != 0))
    return 0;
  if (meta_data_get_string(vl->meta, SM_META_ENDPOINT_NAME, &endpoint) != 0 ||
      (m->dims == SM_DIMS_ENDPOINT_VARIANT &&
       meta_data_get_string(vl->meta, SM_META_VARIANT_NAME, &variant) != 0)) {
    w->invalid[CW_DATUM_E_DIMENSION]++;
    sfree(endpoint);
    sfree(variant);
    return 1;
  }

  cw_datum_init(&d);
  d.metric_name = m->name;
  dims[0] = (cw_dimension_t){"EndpointName", endpoint};
  dims[1] = (cw_dimension_t){"VariantName", variant};
  d.dims = dims;
  d.num_dims = m->dims == SM_DIMS_ENDPOINT_VARIANT ? 2 : 1;
  d.timestamp = CDTIME_T_TO_DOUBLE(vl->time);
  d.storage_resolution = w->storage_resolution;
  if (cw_datum_unit_from_name(m->unit, &unit) == 0)
    d.unit = unit;
  cw_datum_statset_init(&s);
  if (m->kind == SM_KIND_STATS) {
    /* count, sum, min, max; an interval without samples has nothing to
     * publish (a statistic set needs SampleCount > 0). */
    if (vl->values[0].gauge > 0) {
      s.sample_count = vl->values[0].gauge;
      s.sum = vl->values[1].gauge;
      s.minimum = vl->values[2].gauge;
      s.maximum = vl->values[3].gauge;
      statset_datum(&d, &s);
      sm_sketch_t *sketch =
          sm_metrics_is_timing(m) ? timing_sketch(w, vl) : NULL;
      enqueue_sketch(w, &d, now, sketch);
      sm_sketch_destroy(sketch);
    }
  } else if (cw_datum_statset_add(&s, vl->values[0].gauge) == 0) {
    statset_datum(&d, &s);
    enqueue(w, &d, now);
  }
  sfree(endpoint);
  sfree(variant);
  return 1;
}

static bool filters_pass(const wcw_t *w, const char *id) {
  bool in = w->include_num == 0;
  for (size_t i = 0; i < w->include_num && !in; i++)
    in = regexec(&w->include[i], id, 0, NULL, 0) == 0;
  for (size_t i = 0; i < w->exclude_num && in; i++)
    in = regexec(&w->exclude[i], id, 0, NULL, 0) != 0;
  return in;
}

/* Any other value, by the generic naming rule:
 *   MetricName  plugin.type[.type_instance][.ds_name when several]
 *   Dimensions  Host, PluginInstance (when set), then the static ones
 *   Value       the gauge, or the rate per second of a counter/derive
 * Called with the lock held. */
/* Concatenates the NULL-terminated list of strings into buf (truncating
 * at size - 1). The write path runs this for every value: plain copies,
 * not printf. */
static void concat(char *buf, size_t size, ...) {
  va_list ap;
  const char *s;
  size_t len = 0;

  va_start(ap, size);
  while ((s = va_arg(ap, const char *)) != NULL) {
    size_t n = strlen(s);
    if (n > size - 1 - len)
      n = size - 1 - len;
    memcpy(buf + len, s, n);
    len += n;
  }
  va_end(ap);
  buf[len] = 0;
}

/* A generic value list's datums, named, hashed and validated before the
 * lock is taken: the write threads contend for it, so only the queue's
 * own work is done under it. */
#define GENERIC_MAX_DS 16
typedef struct {
  cw_dimension_t dims[2 + MAX_STATIC_DIMS];
  size_t num;
  struct {
    cw_datum_t d;
    uint64_t hash;
    cw_datum_reason_t why;
    char name[4 * DATA_MAX_NAME_LEN];
  } item[GENERIC_MAX_DS];
} generic_t;

/* Prepares the datums of ds's data sources from first on (at most
 * GENERIC_MAX_DS); returns the next data source to prepare, ds->ds_num
 * when done. g->num is 0 when the value list is filtered out or its rates
 * are not known yet. */
static size_t generic_prepare(const wcw_t *w, const data_set_t *ds,
                              const value_list_t *vl, double now, size_t first,
                              generic_t *g) {
  size_t nd = 0;
  gauge_t *rates = NULL;

  g->num = 0;
  g->dims[nd++] = (cw_dimension_t){"Host", vl->host};
  if (vl->plugin_instance[0])
    g->dims[nd++] = (cw_dimension_t){"PluginInstance", vl->plugin_instance};
  for (size_t i = 0; i < w->dims_num; i++)
    g->dims[nd++] = (cw_dimension_t){w->dims[i].name, w->dims[i].value};

  for (size_t i = first; i < ds->ds_num; i++) {
    cw_datum_t *d;
    cw_statset_t s;
    double v;

    if (g->num == GENERIC_MAX_DS) {
      sfree(rates);
      return i;
    }
    if (ds->ds[i].type == DS_TYPE_GAUGE)
      v = vl->values[i].gauge;
    else {
      if (rates == NULL)
        rates = uc_get_rate(ds, vl);
      if (rates == NULL)
        break;
      v = rates[i];
    }
    cw_datum_statset_init(&s);
    if (cw_datum_statset_add(&s, v) != 0)
      continue; /* NaN: collectd's "no value" */
    d = &g->item[g->num].d;
    concat(g->item[g->num].name, sizeof(g->item[g->num].name), vl->plugin, ".",
           vl->type, vl->type_instance[0] ? "." : "", vl->type_instance,
           ds->ds_num > 1 ? "." : "", ds->ds_num > 1 ? ds->ds[i].name : "",
           (const char *)NULL);
    cw_datum_init(d);
    d->metric_name = g->item[g->num].name;
    d->dims = g->dims;
    d->num_dims = nd;
    d->timestamp = CDTIME_T_TO_DOUBLE(vl->time);
    d->storage_resolution = w->storage_resolution;
    d->unit = CW_UNIT_NONE;
    statset_datum(d, &s);
    g->item[g->num].why = cw_datum_validate(d, now, NULL, 0);
    if (g->item[g->num].why == CW_DATUM_OK)
      g->item[g->num].hash = cw_queue_series_hash(d);
    g->num++;
  }
  sfree(rates);
  return ds->ds_num;
}

/* Queues what generic_prepare made. Called with the lock held. */
static void generic_enqueue(wcw_t *w, const generic_t *g, double now) {
  for (size_t i = 0; i < g->num; i++) {
    const cw_datum_t *d = &g->item[i].d;
    if (g->item[i].why != CW_DATUM_OK)
      enqueue(w, d, now); /* counts it, and logs the first of its reason */
    else if (cw_queue_add_hashed(w->queue, d, g->item[i].hash, NULL) ==
             CW_QUEUE_NOMEM)
      ERROR(PLUGIN_NAME " plugin (%s): out of memory queueing %s", w->ns,
            d->metric_name);
  }
}

/* ------------------------------------------------------ host metrics */

/* SageMaker's instance metrics (cw_host.h says how they are computed).
 * They belong to another namespace than the block's, and a PutMetricData
 * request names one namespace for all its datums: so they are a stream of
 * their own on the block's pipeline, with the same credentials, limits,
 * merging and retries. */

/* A sample becomes a gauge sample in percent. Called with the lock
 * held. */
static void host_emit(const cw_host_sample_t *s, void *ud) {
  wcw_t *w = ud;
  cw_dimension_t dims[2] = {{"EndpointName", s->endpoint},
                            {"VariantName", s->variant}};
  cw_datum_t d;
  cw_statset_t st;

  cw_datum_statset_init(&st);
  if (cw_datum_statset_add(&st, s->value) != 0)
    return;
  cw_datum_init(&d);
  d.metric_name = s->metric_name;
  d.dims = dims;
  d.num_dims = 2;
  d.timestamp = s->time;
  d.storage_resolution = w->storage_resolution;
  d.unit = CW_UNIT_PERCENT;
  statset_datum(&d, &st);
  enqueue_into(w, w->host_queue, &d, CDTIME_T_TO_DOUBLE(cdtime()), NULL);
}

/* A metric's inputs missing three intervals after the host's first value,
 * or coming after that: cw_host says each once. Called with the lock
 * held. */
static void host_warn(const char *host, cw_host_metric_t m, const char *why,
                      void *ud) {
  wcw_t *w = ud;

  if (why != NULL)
    WARNING(PLUGIN_NAME " plugin (%s): host metrics of %s: no %s: %s",
            w->host_ns, host, cw_host_metric_name(m), why);
  else
    INFO(PLUGIN_NAME " plugin (%s): host metrics of %s: %s is computed now",
         w->host_ns, host, cw_host_metric_name(m));
}

/* Feeds cw_host: the names sagemaker_async's values carry, and the cpu,
 * memory and df values (gauges as they are, jiffies as the counters
 * collectd dispatched: cw_host.h says why). Every value is the clock of
 * the checks for missing inputs. Called with the lock held. */
static void map_host(wcw_t *w, const data_set_t *ds, const value_list_t *vl) {
  cw_host_stats_t before, after;
  cw_host_value_t v;
  double x;

  cw_host_check(w->host, vl->host, CDTIME_T_TO_DOUBLE(vl->time),
                CDTIME_T_TO_DOUBLE(vl->interval), host_warn, w);
  if (strcmp(vl->plugin, SM_PLUGIN_ASYNC) == 0) {
    char *endpoint = NULL, *variant = NULL;
    if (w->host_endpoint_cfg == NULL)
      meta_data_get_string(vl->meta, SM_META_ENDPOINT_NAME, &endpoint);
    if (w->host_variant_cfg == NULL)
      meta_data_get_string(vl->meta, SM_META_VARIANT_NAME, &variant);
    if ((endpoint != NULL || variant != NULL) &&
        cw_host_set_names(w->host, vl->host, endpoint, variant) != 0)
      c_complain(LOG_WARNING, &w->complaint_host,
                 PLUGIN_NAME " plugin (%s): host metrics: cannot remember "
                             "the names of host %s (too many hosts?)",
                 w->host_ns, vl->host);
    sfree(endpoint);
    sfree(variant);
    return;
  }
  if (ds->ds_num != 1)
    return;
  switch (ds->ds[0].type) {
  case DS_TYPE_GAUGE:
    x = vl->values[0].gauge;
    break;
  case DS_TYPE_DERIVE:
    x = (double)vl->values[0].derive;
    break;
  case DS_TYPE_COUNTER:
    x = (double)vl->values[0].counter;
    break;
  default:
    return; /* none of the host plugins' types */
  }
  v = (cw_host_value_t){vl->host,
                        vl->plugin,
                        vl->plugin_instance,
                        vl->type,
                        vl->type_instance,
                        CDTIME_T_TO_DOUBLE(vl->time),
                        CDTIME_T_TO_DOUBLE(vl->interval),
                        x};
  cw_host_get_stats(w->host, &before);
  cw_host_add(w->host, &v, host_emit, w);
  cw_host_get_stats(w->host, &after);
  /* Usual for a read or so at start-up, before sagemaker_async's first. */
  if (after.reads_unnamed > before.reads_unnamed)
    c_complain(LOG_NOTICE, &w->complaint_host,
               PLUGIN_NAME " plugin (%s): host metrics of %s wait for an "
                           "endpoint and a variant name (from "
                           "sagemaker_async, or HostMetricsEndpointName and "
                           "HostMetricsVariantName)",
               w->host_ns, vl->host);
  else if (after.samples > before.samples)
    c_release(LOG_INFO, &w->complaint_host,
              PLUGIN_NAME " plugin (%s): host metrics of %s are named",
              w->host_ns, vl->host);
}

/* At shutdown: the reads still open are published if complete. */
static void host_finish(wcw_t *w) {
  if (w->host == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  cw_host_finish(w->host, host_emit, w);
  pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------- own metrics */

typedef struct {
  const char *type;
  const char *ti;
  uint64_t v;
} own_value_t;

static void stats_add(cw_pipeline_stats_t *a, const cw_pipeline_stats_t *b) {
  a->requests += b->requests;
  a->requests_failed += b->requests_failed;
  a->requests_unanswered += b->requests_unanswered;
  a->items_sent += b->items_sent;
  a->items_refused += b->items_refused;
  a->items_expired += b->items_expired;
  a->items_invalid += b->items_invalid;
  a->items_spooled += b->items_spooled;
  a->retries += b->retries;
  a->bytes_sent += b->bytes_sent;
  a->bytes_raw += b->bytes_raw;
  a->spool_errors += b->spool_errors;
}

/* The values to dispatch into vals (at least 40); returns how many. */
static size_t own_values(wcw_t *w, own_value_t *vals) {
  cw_pipeline_stats_t st, hst, ls;
  cw_spool_stats_t sp;
  cw_host_stats_t hs;
  uint64_t invalid = 0, dropped_full, log_dropped_full = 0;
  size_t n = 0, queued, log_queued = 0, log_pending = 0;

  memset(&sp, 0, sizeof(sp));
  memset(&hs, 0, sizeof(hs));
  cw_pipeline_get_stats(w->pipe, w->st_metrics, &st);
  cw_pipeline_get_stats(w->pipe, w->st_host, &hst);
  cw_pipeline_get_stats(w->pipe, w->st_logs, &ls);
  stats_add(&st, &hst);
  if (w->spool != NULL) /* the sender thread's, as this is */
    cw_spool_get_stats(w->spool, &sp);
  pthread_mutex_lock(&w->lock);
  for (int i = 0; i < CW_DATUM_E_NUM; i++)
    invalid += w->invalid[i];
  dropped_full = cw_queue_dropped(w->queue);
  queued = cw_queue_size(w->queue);
  if (w->host_queue != NULL) {
    dropped_full += cw_queue_dropped(w->host_queue);
    queued += cw_queue_size(w->host_queue);
  }
  if (w->host != NULL)
    cw_host_get_stats(w->host, &hs);
  if (w->logq != NULL) {
    log_dropped_full = cw_logs_queue_dropped(w->logq);
    log_queued = cw_logs_queue_size(w->logq);
    log_pending = cw_logs_queue_pending(w->logq);
  }
#define V(t, ti, v) vals[n++] = (own_value_t){(t), (ti), (uint64_t)(v)}
  V("derive", "datums_sent", st.items_sent);
  V("derive", "datums_dropped-queue_full", dropped_full);
  V("derive", "datums_dropped-invalid", invalid + st.items_invalid);
  V("derive", "datums_dropped-refused", st.items_refused);
  V("derive", "datums_dropped-expired", st.items_expired);
  V("derive", "values_repeated", w->duplicates);
  /* Timing periods published without percentiles (see cw_queue.h), and
   * sketches that could not be read. */
  V("derive", "percentiles_dropped-fallback",
    cw_queue_sketch_fallbacks(w->queue));
  V("derive", "percentiles_dropped-unreadable", w->bad_sketches);
  V("derive", "requests", st.requests);
  V("derive", "requests_failed", st.requests_failed);
  V("derive", "requests_unanswered", st.requests_unanswered);
  V("derive", "retries", st.retries);
  V("derive", "bytes_sent", st.bytes_sent);
  V("derive", "bytes_uncompressed", st.bytes_raw);
  V("queue_length", "datums", queued);
  if (w->spool_dir != NULL) {
    V("derive", "datums_spooled", st.items_spooled);
    V("derive", "datums_dropped-spool_full",
      sp.items_dropped_full[CW_SPOOL_METRICS]);
    V("derive", "spool_errors",
      st.spool_errors + ls.spool_errors + sp.files_corrupt);
    V("queue_length", "spool_datums", sp.items[CW_SPOOL_METRICS]);
  }
  if (w->host != NULL) {
    V("derive", "host_reads_dropped-incomplete", hs.reads_incomplete);
    V("derive", "host_reads_dropped-unnamed", hs.reads_unnamed);
    V("derive", "host_values_dropped-late", hs.values_late);
    V("derive", "host_values_dropped-limit", hs.values_dropped);
  }
  if (w->logq != NULL) {
    V("derive", "log_events_sent", ls.items_sent);
    V("derive", "log_events_dropped-queue", log_dropped_full);
    V("derive", "log_events_dropped-refused",
      ls.items_refused + ls.items_expired + ls.items_invalid);
    V("derive", "log_events_dropped-invalid", w->log_events_invalid);
    V("derive", "log_requests", ls.requests);
    V("derive", "log_retries", ls.retries);
    V("queue_length", "log_events", log_queued);
    V("queue_length", "log_events_unnamed", log_pending);
    if (w->spool_dir != NULL) {
      V("derive", "log_events_spooled", ls.items_spooled);
      V("derive", "log_events_dropped-spool_full",
        sp.items_dropped_full[CW_SPOOL_LOGS]);
      V("queue_length", "spool_log_events", sp.items[CW_SPOOL_LOGS]);
    }
  }
#undef V
  pthread_mutex_unlock(&w->lock);
  return n;
}

static void dispatch_own(wcw_t *w) {
  own_value_t vals[48];
  size_t n = own_values(w, vals);

  for (size_t i = 0; i < n; i++) {
    value_list_t vl = VALUE_LIST_INIT;
    value_t v;
    if (strcmp(vals[i].type, "derive") == 0)
      v.derive = (derive_t)vals[i].v;
    else
      v.gauge = (gauge_t)vals[i].v;
    vl.values = &v;
    vl.values_len = 1;
    vl.time = cdtime();
    /* Not a collectd thread: say the interval. */
    vl.interval = w->flush_interval;
    sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
    sstrncpy(vl.plugin_instance, w->instance, sizeof(vl.plugin_instance));
    sstrncpy(vl.type, vals[i].type, sizeof(vl.type));
    sstrncpy(vl.type_instance, vals[i].ti, sizeof(vl.type_instance));
    plugin_dispatch_values(&vl);
  }
}

/* ------------------------------------------------- the sender's hooks */

/* Opens the spool on the sender thread (not at configuration: collectd -T
 * must not take the running daemon's spool), and again at every flush
 * until that works. */
static void spool_open(wcw_t *w) {
  char err[1024];
  char *notes = NULL;

  if (w->spool_dir == NULL || w->spool != NULL)
    return;
  w->spool =
      cw_spool_open(w->spool_dir, w->spool_max_bytes, &notes, err, sizeof(err));
  if (notes != NULL) {
    NOTICE(PLUGIN_NAME " plugin (%s): spool %s: %s", w->ns, w->spool_dir,
           notes);
    free(notes);
  }
  if (w->spool == NULL) {
    c_complain(LOG_ERR, &w->complaint_spool,
               PLUGIN_NAME " plugin (%s): SpoolDirectory: %s; sending "
                           "without a spool until it can be opened",
               w->ns, err);
    return;
  }
  c_release(LOG_INFO, &w->complaint_spool,
            PLUGIN_NAME " plugin (%s): spool %s open", w->ns, w->spool_dir);
  cw_pipeline_set_spool(w->pipe, w->spool);
  {
    cw_spool_stats_t st;
    cw_spool_get_stats(w->spool, &st);
    if (st.files > 0)
      INFO(PLUGIN_NAME " plugin (%s): spool %s holds %" PRIu64
                       " datums and %" PRIu64 " data-log events in %" PRIu64
                       " batches; sending them first",
           w->ns, w->spool_dir, st.items[CW_SPOOL_METRICS],
           st.items[CW_SPOOL_LOGS], st.files);
  }
}

static int stream_namer(const char *group, const char *variant, void *ud,
                        char *out, size_t size) {
  wcw_t *w = ud;
  (void)group;
  return cw_datalog_stream(variant, w->instance_id, out, size);
}

static char *line_rewriter(const char *line, size_t len, void *ud) {
  wcw_t *w = ud;
  return cw_datalog_line_resolve(line, len, w->instance_id);
}

/* The data log's instance ID, when events wait for it: instance metadata
 * (asked again with a growing delay while it fails), else InstanceId.
 * On the sender thread: the network is never asked on collectd's. */
static void resolve_instance(wcw_t *w) {
  char id[64], err[512];
  size_t waiting, dropped, nomem;
  time_t now = time(NULL);

  if (w->logq == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  waiting = cw_logs_queue_pending(w->logq);
  pthread_mutex_unlock(&w->lock);
  if (waiting == 0 || w->instance_known || now < w->imds_next)
    return;
  if (aws_imds_get(&w->creds_cfg, IMDS_INSTANCE_ID_PATH, id, sizeof(id), err,
                   sizeof(err)) != 0) {
    if (w->instance_id_cfg == NULL) {
      w->imds_next = now + w->imds_wait_s;
      if (w->imds_wait_s < IMDS_RETRY_MAX_S)
        w->imds_wait_s *= 2;
      c_complain(LOG_WARNING, &w->complaint_imds,
                 PLUGIN_NAME " plugin (%s): %zu data-log events wait for the "
                             "instance ID: the runtime names none and instance "
                             "metadata failed (%s); asking again, or set "
                             "InstanceId",
                 w->ns, waiting, err);
      return;
    }
    sstrncpy(id, w->instance_id_cfg, sizeof(id));
  }
  c_release(LOG_INFO, &w->complaint_imds,
            PLUGIN_NAME " plugin (%s): data log: instance ID %s", w->ns, id);
  pthread_mutex_lock(&w->lock);
  sstrncpy(w->instance_id, id, sizeof(w->instance_id));
  w->instance_known = true;
  dropped =
      cw_logs_queue_resolve(w->logq, stream_namer, line_rewriter, w, &nomem);
  w->log_events_invalid += dropped;
  pthread_mutex_unlock(&w->lock);
  if (dropped > 0)
    ERROR(PLUGIN_NAME " plugin (%s): %zu data-log events dropped: instance ID "
                      "%s makes a log stream name CloudWatch Logs refuses",
          w->ns, dropped, id);
}

static void before_flush(void *ud) {
  wcw_t *w = ud;

  spool_open(w);
  resolve_instance(w);
  pthread_mutex_lock(&w->lock);
  cw_dedup_expire(w->dedup, cdtime(), DEDUP_MAX_AGE);
  pthread_mutex_unlock(&w->lock);
}

static void after_flush(void *ud) { dispatch_own(ud); }

/* Starts the sender thread on first use (collectd may fork after reading
 * the configuration, and threads do not survive a fork). Called with the
 * lock held. */
static void ensure_thread(wcw_t *w) {
  if (w->thread_failed || cw_pipeline_start(w->pipe) == 0)
    return;
  w->thread_failed = true;
  ERROR(PLUGIN_NAME " plugin (%s): cannot start the sender thread: %s; "
                    "nothing is sent before collectd stops",
        w->ns, STRERRNO);
}

/* --------------------------------------------------- collectd callbacks */

static int wcw_write(const data_set_t *ds, const value_list_t *vl,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  char id[6 * DATA_MAX_NAME_LEN];
  double now = CDTIME_T_TO_DOUBLE(cdtime());
  bool sagemaker = strcmp(vl->plugin, SM_PLUGIN_ASYNC) == 0;
  bool generic = w->generic && !sagemaker;
  generic_t g;
  uint64_t id_hash;
  size_t next = 0;

  /* Our own counters would feed back into the queue they describe. */
  if (strcmp(vl->plugin, PLUGIN_NAME) == 0 && !w->generic)
    return 0;
  if (!sagemaker && !w->generic &&
      !(w->host != NULL && cw_host_wants(vl->plugin, vl->type)))
    return 0;

  /* The series' identifier, as collectd's FORMAT_VL writes it. */
  concat(id, sizeof(id), vl->host, "/", vl->plugin,
         vl->plugin_instance[0] ? "-" : "", vl->plugin_instance, "/", vl->type,
         vl->type_instance[0] ? "-" : "", vl->type_instance,
         (const char *)NULL);
  id_hash = cw_dedup_hash(id);
  /* sagemaker_async's values are SageMaker's metrics or nothing: its
   * running totals and loss count are for other writers. */
  if (generic && !filters_pass(w, id + strlen(vl->host) + 1))
    generic = false;
  if (generic)
    next = generic_prepare(w, ds, vl, now, 0, &g);

  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  if (cw_dedup_check_hashed(w->dedup, id, id_hash, vl->time, cdtime()) == 0) {
    w->duplicates++;
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  if (w->host != NULL)
    map_host(w, ds, vl);
  if (sagemaker)
    map_sagemaker(w, ds, vl, now);
  if (generic)
    generic_enqueue(w, &g, now);
  pthread_mutex_unlock(&w->lock);

  /* Types with more data sources than a batch holds (none in types.db). */
  while (generic && next < ds->ds_num) {
    next = generic_prepare(w, ds, vl, now, next, &g);
    pthread_mutex_lock(&w->lock);
    generic_enqueue(w, &g, now);
    pthread_mutex_unlock(&w->lock);
  }
  return 0;
}

static int wcw_flush(cdtime_t timeout, const char *identifier,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  (void)timeout;
  (void)identifier;
  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  cw_pipeline_flush(w->pipe);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

static const char *nmeta_string(const notification_t *n, const char *name) {
  for (notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (m->type == NM_TYPE_STRING && strcmp(m->name, name) == 0)
      return m->nm_value.nm_string;
  return NULL;
}

static int64_t nmeta_int(const notification_t *n, const char *name,
                         int64_t dflt) {
  for (notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (m->type == NM_TYPE_SIGNED_INT && strcmp(m->name, name) == 0)
      return m->nm_value.nm_signed_int;
  return dflt;
}

/* sagemaker_async's notification of a request becomes a data-log event.
 * Its stream names the instance: the runtime's (in the notification),
 * else the one resolved on the sender thread; until that is known the
 * event waits in the queue under its variant. */
static int wcw_notify(const notification_t *n, user_data_t *ud) {
  wcw_t *w = ud->data;
  cw_datalog_entry_t e;
  char group[512], stream[512];
  const char *from_runtime;
  char *line;
  cw_logs_add_t r;
  bool named;

  if (strcmp(n->plugin, SM_PLUGIN_ASYNC) != 0 ||
      strcmp(n->type, SM_TYPE_REQUEST) != 0)
    return 0;
  memset(&e, 0, sizeof(e));
  e.inference_id = nmeta_string(n, SM_META_INFERENCE_ID);
  e.outcome = nmeta_string(n, SM_META_OUTCOME);
  e.stage = nmeta_string(n, SM_META_STAGE);
  e.status_code = (int)nmeta_int(n, SM_META_STATUS_CODE, 0);
  e.error = nmeta_string(n, SM_META_ERROR);
  e.endpoint_name = nmeta_string(n, SM_META_ENDPOINT_NAME);
  e.variant_name = nmeta_string(n, SM_META_VARIANT_NAME);
  e.boot_id = nmeta_string(n, SM_META_BOOT_ID);
  e.seq = nmeta_int(n, SM_META_SEQ, 0);
  e.received_ms = nmeta_int(n, SM_META_RECEIVED_MS, -1);
  e.time_ms =
      nmeta_int(n, SM_META_COMPLETED_MS, (int64_t)CDTIME_T_TO_MS(n->time));
  from_runtime = nmeta_string(n, SM_META_INSTANCE_ID);

  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  if (from_runtime != NULL && from_runtime[0] != 0)
    e.instance_id = from_runtime;
  else if (w->instance_known)
    e.instance_id = w->instance_id;
  named = e.instance_id != NULL;
  if (cw_datalog_group(e.endpoint_name, group, sizeof(group)) != 0 ||
      (named && cw_datalog_stream(e.variant_name, e.instance_id, stream,
                                  sizeof(stream)) != 0) ||
      (!named && e.variant_name == NULL)) {
    w->log_events_invalid++;
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  line = named ? cw_datalog_line(&e) : cw_datalog_line_pending(&e);
  if (line != NULL) {
    int64_t now_ms = (int64_t)CDTIME_T_TO_MS(cdtime());
    r = named
            ? cw_logs_queue_add(w->logq, group, stream, e.time_ms, line, now_ms)
            : cw_logs_queue_add_pending(w->logq, group, e.variant_name,
                                        e.time_ms, line, now_ms);
    if (r == CW_LOGS_NOMEM)
      ERROR(PLUGIN_NAME " plugin (%s): out of memory queueing a data-log "
                        "event",
            w->ns);
    else if (r == CW_LOGS_INVALID)
      w->log_events_invalid++;
  }
  pthread_mutex_unlock(&w->lock);
  free(line);
  return 0;
}

/* Frees an instance at shutdown: the pipeline sends what is left within
 * ShutdownTimeout (counted from now, the request in flight included) and
 * spools or counts the rest. */
static void wcw_free(void *arg) {
  wcw_t *w = arg;

  if (w == NULL)
    return;
  if (w->pipe != NULL) {
    time_t deadline =
        time(NULL) + (time_t)CDTIME_T_TO_TIME_T(w->shutdown_timeout);
    host_finish(w);
    cw_pipeline_stop(w->pipe, deadline);
    cw_pipeline_destroy(w->pipe);
  }
  cw_spool_close(w->spool);
  cw_stream_metrics_destroy(w->metrics);
  cw_stream_metrics_destroy(w->host_metrics_stream);
  cw_stream_logs_destroy(w->logs);
  cw_logs_queue_destroy(w->logq);
  cw_queue_destroy(w->queue);
  cw_queue_destroy(w->host_queue);
  cw_host_destroy(w->host);
  aws_creds_provider_destroy(w->creds);
  cw_dedup_destroy(w->dedup);
  for (size_t i = 0; i < w->include_num; i++)
    regfree(&w->include[i]);
  for (size_t i = 0; i < w->exclude_num; i++)
    regfree(&w->exclude[i]);
  for (size_t i = 0; i < w->dims_num; i++) {
    sfree(w->dims[i].name);
    sfree(w->dims[i].value);
  }
  pthread_mutex_destroy(&w->lock);
  sfree(w->instance);
  sfree(w->region_cfg);
  sfree(w->endpoint);
  sfree(w->ns);
  sfree(w->profile);
  sfree(w->spool_dir);
  sfree(w->logs_endpoint);
  sfree(w->instance_id_cfg);
  sfree(w->host_ns);
  sfree(w->host_endpoint_cfg);
  sfree(w->host_variant_cfg);
  sfree(w->host_disk);
  sfree(w);
}

/* -------------------------------------------------------------- config */

static int cfg_fail(const oconfig_item_t *ci, const char *why) {
  char value[128];

  sm_collectd_config_value(ci, value, sizeof(value));
  ERROR(PLUGIN_NAME " plugin: %s %s: %s", ci->key, value, why);
  return -1;
}

/* glibc's regcomp copies the operand of every repetition, so stacked or
 * large bounded repetitions make it take gigabytes: refuse what no filter
 * on "plugin/type" names needs. Returns NULL, or why. */
static const char *regex_too_costly(const char *re) {
  int bounded = 0;
  bool prev_rep = false;

  if (strlen(re) > 512)
    return "longer than 512 characters";
  for (const char *p = re; *p != 0; p++) {
    bool rep = *p == '*' || *p == '+' || *p == '?' || *p == '{';
    if (*p == '\\' && p[1] != 0) {
      p++;
      prev_rep = false;
      continue;
    }
    if (rep && prev_rep)
      return "repetition of a repetition";
    if (*p == '{') {
      char *end;
      long lo = strtol(p + 1, &end, 10), hi = lo;
      if (*end == ',')
        hi = end[1] == '}' ? 0 : strtol(end + 1, &end, 10);
      if (lo > 255 || hi > 255)
        return "a bound above 255";
      if (++bounded > 2)
        return "more than two bounded repetitions";
      while (*p != 0 && *p != '}')
        p++;
      if (*p == 0)
        break;
    }
    prev_rep = rep;
  }
  return NULL;
}

static int cfg_regex(oconfig_item_t *ci, regex_t *list, size_t *num) {
  char *re = NULL;
  const char *costly;
  int status;
  if (*num >= MAX_FILTERS)
    return cfg_fail(ci, "too many filters");
  if (cf_util_get_string(ci, &re) != 0)
    return cfg_fail(ci, "expected one string (a regular expression)");
  costly = regex_too_costly(re);
  if (costly != NULL) {
    sfree(re);
    return cfg_fail(ci, costly);
  }
  status = regcomp(&list[*num], re, REG_EXTENDED | REG_NOSUB);
  sfree(re);
  if (status != 0) {
    char msg[128];
    regerror(status, NULL, msg, sizeof(msg));
    return cfg_fail(ci, msg);
  }
  (*num)++;
  return 0;
}

static int cfg_seconds(oconfig_item_t *ci, cdtime_t *out, double min,
                       double max) {
  double d;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return cfg_fail(ci, "expected a number of seconds");
  d = ci->values[0].value.number;
  if (!(d >= min && d <= max)) {
    char why[96];
    ssnprintf(why, sizeof(why), "must be between %g and %g seconds", min, max);
    return cfg_fail(ci, why);
  }
  *out = DOUBLE_TO_CDTIME_T(d);
  return 0;
}

static int wcw_config_item(wcw_t *w, oconfig_item_t *c) {
  if (strcasecmp("Region", c->key) == 0)
    return cf_util_get_string(c, &w->region_cfg)
               ? cfg_fail(c, "expected a string")
               : 0;
  if (strcasecmp("Endpoint", c->key) == 0)
    return cf_util_get_string(c, &w->endpoint) ? cfg_fail(c, "expected a URL")
                                               : 0;
  if (strcasecmp("Namespace", c->key) == 0) {
    char msg[256];
    sfree(w->ns);
    if (cf_util_get_string(c, &w->ns) != 0)
      return cfg_fail(c, "expected a string");
    if (cw_datum_namespace_validate(w->ns, msg, sizeof(msg)) != 0)
      return cfg_fail(c, msg);
    return 0;
  }
  if (strcasecmp("Profile", c->key) == 0)
    return cf_util_get_string(c, &w->profile) ? cfg_fail(c, "expected a string")
                                              : 0;
  if (strcasecmp("FlushInterval", c->key) == 0)
    return cfg_seconds(c, &w->flush_interval, 1, 3600);
  if (strcasecmp("ShutdownTimeout", c->key) == 0)
    return cfg_seconds(c, &w->shutdown_timeout, 0, 600);
  if (strcasecmp("Timeout", c->key) == 0) {
    cdtime_t t;
    if (cfg_seconds(c, &t, 0.1, 300) != 0)
      return -1;
    w->timeout_ms = (long)CDTIME_T_TO_MS(t);
    return 0;
  }
  if (strcasecmp("StorageResolution", c->key) == 0) {
    int r;
    if (cf_util_get_int(c, &r) != 0 ||
        (r != CW_RESOLUTION_HIGH && r != CW_RESOLUTION_STANDARD))
      return cfg_fail(c, "must be 1 (high resolution) or 60");
    w->storage_resolution = r;
    return 0;
  }
  if (strcasecmp("MaxQueuedDatums", c->key) == 0) {
    int n;
    if (cf_util_get_int(c, &n) != 0 || n < 1000 || n > 10000000)
      return cfg_fail(c, "must be between 1000 and 10000000");
    w->max_queued = (size_t)n;
    return 0;
  }
  if (strcasecmp("MaxAttempts", c->key) == 0) {
    if (cf_util_get_int(c, &w->max_attempts) != 0 || w->max_attempts < 1 ||
        w->max_attempts > 100)
      return cfg_fail(c, "must be between 1 and 100");
    return 0;
  }
  if (strcasecmp("Compress", c->key) == 0)
    return cf_util_get_boolean(c, &w->compress)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("SpoolDirectory", c->key) == 0) {
    sfree(w->spool_dir);
    if (cf_util_get_string(c, &w->spool_dir) != 0)
      return cfg_fail(c, "expected a directory");
    if (w->spool_dir[0] != '/')
      return cfg_fail(c, "must be an absolute path");
    return 0;
  }
  if (strcasecmp("SpoolMaxBytes", c->key) == 0) {
    double d;
    if (cf_util_get_double(c, &d) != 0 || !(d >= CW_SPOOL_MIN_MAX_BYTES) ||
        d > 1099511627776.0)
      return cfg_fail(c, "must be between 1048576 (1 MiB) and 1 TiB");
    w->spool_max_bytes = (uint64_t)d;
    return 0;
  }
  if (strcasecmp("MaxRequestsPerSecond", c->key) == 0) {
    if (cf_util_get_double(c, &w->max_rps) != 0 || !(w->max_rps >= 0.1) ||
        w->max_rps > 1000)
      return cfg_fail(c, "must be between 0.1 and 1000");
    return 0;
  }
  if (strcasecmp("Percentiles", c->key) == 0)
    return cf_util_get_boolean(c, &w->percentiles)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("GenericMetrics", c->key) == 0)
    return cf_util_get_boolean(c, &w->generic)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("HostMetrics", c->key) == 0)
    return cf_util_get_boolean(c, &w->host_metrics)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("HostMetricsNamespace", c->key) == 0) {
    char msg[256];
    sfree(w->host_ns);
    if (cf_util_get_string(c, &w->host_ns) != 0)
      return cfg_fail(c, "expected a string");
    return cw_datum_namespace_validate(w->host_ns, msg, sizeof(msg))
               ? cfg_fail(c, msg)
               : 0;
  }
  if (strcasecmp("HostMetricsEndpointName", c->key) == 0 ||
      strcasecmp("HostMetricsVariantName", c->key) == 0) {
    char **dst = strcasecmp("HostMetricsVariantName", c->key) == 0
                     ? &w->host_variant_cfg
                     : &w->host_endpoint_cfg;
    sfree(*dst);
    if (cf_util_get_string(c, dst) != 0 || (*dst)[0] == 0)
      return cfg_fail(c, "expected a non-empty string");
    return 0;
  }
  if (strcasecmp("HostMetricsFileSystem", c->key) == 0) {
    char mount[DATA_MAX_NAME_LEN], inst[DATA_MAX_NAME_LEN];
    if (cf_util_get_string_buffer(c, mount, sizeof(mount)) != 0 ||
        cw_host_disk_instance(mount, inst, sizeof(inst)) != 0)
      return cfg_fail(c, "expected a mount point or a df plugin instance");
    sfree(w->host_disk);
    w->host_disk = strdup(inst);
    return 0;
  }
  if (strcasecmp("IMDSv1Fallback", c->key) == 0)
    return cf_util_get_boolean(c, &w->imds_v1)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("DataLog", c->key) == 0)
    return cf_util_get_boolean(c, &w->datalog)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("LogsEndpoint", c->key) == 0)
    return cf_util_get_string(c, &w->logs_endpoint)
               ? cfg_fail(c, "expected a URL")
               : 0;
  if (strcasecmp("InstanceId", c->key) == 0)
    return cf_util_get_string(c, &w->instance_id_cfg)
               ? cfg_fail(c, "expected a string")
               : 0;
  if (strcasecmp("MaxQueuedLogEvents", c->key) == 0) {
    int n;
    if (cf_util_get_int(c, &n) != 0 || n < 1000 || n > 10000000)
      return cfg_fail(c, "must be between 1000 and 10000000");
    w->max_log_events = (size_t)n;
    return 0;
  }
  if (strcasecmp("Include", c->key) == 0)
    return cfg_regex(c, w->include, &w->include_num);
  if (strcasecmp("Exclude", c->key) == 0)
    return cfg_regex(c, w->exclude, &w->exclude_num);
  if (strcasecmp("Dimension", c->key) == 0) {
    if (c->values_num != 2 || c->values[0].type != OCONFIG_TYPE_STRING ||
        c->values[1].type != OCONFIG_TYPE_STRING)
      return cfg_fail(c, "expected two strings: name and value");
    if (w->dims_num >= MAX_STATIC_DIMS)
      return cfg_fail(c, "too many dimensions");
    w->dims[w->dims_num].name = strdup(c->values[0].value.string);
    w->dims[w->dims_num].value = strdup(c->values[1].value.string);
    w->dims_num++;
    return 0;
  }
  ERROR(PLUGIN_NAME " plugin: unknown option \"%s\"", c->key);
  return -1;
}

/* Adds a PutMetricData stream for queue q in namespace ns. */
static int add_metrics_stream(wcw_t *w, cw_queue_t *q, const char *ns,
                              const char *name, cw_stream_metrics_t **out,
                              char *err, size_t err_size) {
  cw_pipeline_stream_t s;

  memset(&s, 0, sizeof(s));
  *out = cw_stream_metrics_create(q, ns, 0, err, err_size);
  if (*out == NULL)
    return -1;
  cw_stream_metrics_describe(*out, &s);
  s.name = name;
  s.url = w->endpoint;
  s.region = w->region;
  s.compress_threshold = w->compress ? CW_ENCODE_GZIP_DEFAULT_THRESHOLD : 0;
  s.max_requests_per_second = w->max_rps;
  return cw_pipeline_add_stream(w->pipe, &s, err, err_size);
}

/* The pipeline and its streams, after the configuration was read. */
static int wcw_setup(wcw_t *w, char *err, size_t err_size) {
  cw_pipeline_config_t pc = {
      .creds = w->creds,
      .timeout_ms = w->timeout_ms,
      .max_attempts = (unsigned)w->max_attempts,
      .lock = &w->lock,
      .flush_interval_ms = CDTIME_T_TO_MS(w->flush_interval),
      .now = clock_now,
      .random01 = random01,
      .log = pipe_log,
      .thread_create = thread_create,
      .before_flush = before_flush,
      .after_flush = after_flush,
      .ud = w,
  };

  w->st_host = w->st_logs = -1;
  w->queue = cw_queue_create(w->max_queued);
  w->dedup = cw_dedup_create();
  w->pipe = cw_pipeline_create(&pc, err, err_size);
  if (w->queue == NULL || w->dedup == NULL || w->pipe == NULL) {
    if (w->pipe != NULL)
      ssnprintf(err, err_size, "out of memory");
    return -1;
  }
  w->st_metrics = add_metrics_stream(w, w->queue, w->ns, "metrics", &w->metrics,
                                     err, err_size);
  if (w->st_metrics < 0)
    return -1;
  if (w->host_metrics) {
    cw_host_config_t hc = {.disk = w->host_disk,
                           .endpoint = w->host_endpoint_cfg,
                           .variant = w->host_variant_cfg};
    if (w->host_ns == NULL)
      w->host_ns = strdup(CW_HOST_DEFAULT_NAMESPACE);
    w->host = cw_host_create(&hc);
    w->host_queue = cw_queue_create(w->max_queued);
    if (w->host_ns == NULL || w->host == NULL || w->host_queue == NULL) {
      ssnprintf(err, err_size, "host metrics: out of memory");
      return -1;
    }
    w->st_host =
        add_metrics_stream(w, w->host_queue, w->host_ns, "host metrics",
                           &w->host_metrics_stream, err, err_size);
    if (w->st_host < 0)
      return -1;
    INFO(PLUGIN_NAME " plugin: host metrics in namespace %s, file system %s",
         w->host_ns,
         w->host_disk != NULL ? w->host_disk : CW_HOST_DEFAULT_DISK);
  }
  if (w->datalog) {
    cw_pipeline_stream_t s;
    w->logq = cw_logs_queue_create(w->max_log_events);
    w->logs = w->logq != NULL ? cw_stream_logs_create(w->logq) : NULL;
    if (w->logs_endpoint == NULL || w->logs == NULL) {
      ssnprintf(err, err_size, "data log: out of memory");
      return -1;
    }
    memset(&s, 0, sizeof(s));
    cw_stream_logs_describe(w->logs, &s);
    s.url = w->logs_endpoint;
    s.region = w->region;
    w->st_logs = cw_pipeline_add_stream(w->pipe, &s, err, err_size);
    if (w->st_logs < 0)
      return -1;
  }
  return 0;
}

/* The endpoint of a service, as the AWS SDKs resolve it (aws_endpoint.h):
 * the option, the AWS_ENDPOINT_URL* variables, the shared config file,
 * then the region's default. Replaces *url; logged with its source. */
static int resolve_endpoint(wcw_t *w, const aws_creds_config_t *cc,
                            const char *service_id, const char *prefix,
                            const char *option, char **url) {
  static const char configured[] = "configuration: ";
  aws_endpoint_t ep;
  char err[512];

  if (aws_endpoint_resolve(cc, service_id, prefix, *url, w->region, &ep, err,
                           sizeof(err)) != 0) {
    /* A bad option is named as the other options are. */
    if (strncmp(err, configured, sizeof(configured) - 1) == 0)
      ERROR(PLUGIN_NAME " plugin: %s %s", option, err + sizeof(configured) - 1);
    else
      ERROR(PLUGIN_NAME " plugin: %s endpoint: %s", service_id, err);
    return -1;
  }
  INFO(PLUGIN_NAME " plugin: %s endpoint %s (from %s)", service_id, ep.url,
       ep.source);
  if (ep.note[0] != 0)
    NOTICE(PLUGIN_NAME " plugin: %s endpoint: %s", service_id, ep.note);
  sfree(*url);
  *url = strdup(ep.url);
  return *url != NULL ? 0 : -1;
}

static int wcw_config(oconfig_item_t *ci) {
  static int instances; /* names the blocks: one pipeline each */
  wcw_t *w = calloc(1, sizeof(*w));
  char err[512];
  char inst[16];
  aws_region_t region;
  aws_creds_config_t cc;
  int status = 0;

  if (w == NULL)
    return ENOMEM;
  /* Region discovery and the pipeline's handles use libcurl before init. */
  if (instances == 0)
    curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    /* Held for a short while by every write thread: spin a little before
     * sleeping in the kernel. */
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&w->lock, &a);
    pthread_mutexattr_destroy(&a);
  }
  w->rng = (uint64_t)cdtime() ^ ((uint64_t)getpid() << 32);
  w->ns = strdup(DEFAULT_NAMESPACE);
  w->flush_interval = TIME_T_TO_CDTIME_T(DEFAULT_FLUSH_INTERVAL);
  w->shutdown_timeout = TIME_T_TO_CDTIME_T(DEFAULT_SHUTDOWN_TIMEOUT);
  w->storage_resolution = CW_RESOLUTION_STANDARD;
  w->max_queued = DEFAULT_MAX_QUEUED;
  w->compress = true;
  w->timeout_ms = DEFAULT_TIMEOUT_MS;
  w->max_attempts = CW_PIPELINE_DEFAULT_MAX_ATTEMPTS;
  w->datalog = true;
  w->percentiles = true;
  w->spool_max_bytes = CW_SPOOL_DEFAULT_MAX_BYTES;
  w->max_rps = DEFAULT_MAX_REQUESTS_PER_SECOND;
  w->max_log_events = DEFAULT_MAX_QUEUED_LOG_EVENTS;
  w->imds_wait_s = IMDS_RETRY_FIRST_S;
  C_COMPLAIN_INIT(&w->complaint_spool);
  C_COMPLAIN_INIT(&w->complaint_sketch);
  C_COMPLAIN_INIT(&w->complaint_host);
  C_COMPLAIN_INIT(&w->complaint_imds);
  ssnprintf(inst, sizeof(inst), "%d", instances++);
  w->instance = strdup(inst);

  for (int i = 0; i < ci->children_num && status == 0; i++)
    status = wcw_config_item(w, ci->children + i);
  if (status != 0) {
    wcw_free(w);
    return -1;
  }

  memset(&cc, 0, sizeof(cc));
  cc.getenv_fn = aws_creds_process_getenv;
  cc.clock_fn = aws_creds_system_clock;
  cc.home_dir = getenv("HOME");
  cc.profile = w->profile;
  cc.imds_url = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  cc.timeout_ms = w->timeout_ms < 2000 ? w->timeout_ms : 2000;
  cc.imds_v1_fallback = w->imds_v1;
  w->creds_cfg = cc;

  if (aws_region_resolve(&cc, w->region_cfg, &region, err, sizeof(err)) ==
      AWS_CREDS_FAILED) {
    ERROR(PLUGIN_NAME " plugin: no region: %s; set Region", err);
    wcw_free(w);
    return -1;
  }
  sstrncpy(w->region, region.name, sizeof(w->region));
  if (resolve_endpoint(w, &cc, "CloudWatch", "monitoring", "Endpoint",
                       &w->endpoint) != 0 ||
      (w->datalog &&
       resolve_endpoint(w, &cc, "CloudWatch Logs", "logs", "LogsEndpoint",
                        &w->logs_endpoint) != 0)) {
    wcw_free(w);
    return -1;
  }
  w->creds = aws_creds_provider_create(&cc);
  if (w->endpoint == NULL || w->creds == NULL) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    wcw_free(w);
    return -1;
  }
  if (wcw_setup(w, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    wcw_free(w);
    return -1;
  }
  INFO(PLUGIN_NAME " plugin: namespace %s, region %s (from %s)", w->ns,
       region.name, region.source);

  {
    char name[64];
    ssnprintf(name, sizeof(name), PLUGIN_NAME "/%s", w->instance);
    /* Only the write callback frees the instance. */
    plugin_register_write(name, wcw_write,
                          &(user_data_t){.data = w, .free_func = wcw_free});
    plugin_register_flush(name, wcw_flush, &(user_data_t){.data = w});
    if (w->datalog)
      plugin_register_notification(name, wcw_notify, &(user_data_t){.data = w});
  }
  return 0;
}

static int wcw_init(void) {
  static bool done;
  if (done)
    return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ERROR(PLUGIN_NAME " plugin: curl_global_init failed");
    return -1;
  }
  done = true;
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, wcw_config);
  plugin_register_init(PLUGIN_NAME, wcw_init);
}
