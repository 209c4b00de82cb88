/* SPDX-License-Identifier: MIT */
/*
 * write_cloudwatch: collectd write plugin publishing to Amazon CloudWatch
 * with PutMetricData.
 *
 * The write callback maps a value list to CloudWatch datums, validates
 * them and merges them into a bounded queue: it never touches the network.
 * One sender thread per <Plugin write_cloudwatch> block seals the queue
 * every FlushInterval and sends it (cw_sender: batches, gzip, SigV4,
 * retries). Values of sagemaker_async become exactly the SageMaker
 * asynchronous-endpoint metrics (sm_metrics); any other value is published
 * only when GenericMetrics is on, by the naming rule in the README.
 *
 * This file is the collectd glue: configuration, mapping of value lists,
 * locking, the thread and the plugin's own metrics. The rest lives in
 * collectd-free modules (cw_datum, cw_queue, cw_sender, cw_dedup,
 * aws_creds, aws_sigv4, cw_encode, aws_http).
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
#include "cw_datalog.h"
#include "cw_datum.h"
#include "cw_dedup.h"
#include "cw_host.h"
#include "cw_logs.h"
#include "cw_queue.h"
#include "cw_sender.h"
#include "cw_spool.h"
#include "sm_collectd.h"
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

  /* runtime */
  pthread_mutex_t lock; /* queue, dedup, counters, thread state */
  pthread_cond_t cond;
  cw_queue_t *queue;
  cw_dedup_t *dedup;
  aws_creds_provider_t *creds;
  cw_sender_t *sender;
  cw_logs_queue_t *logq;
  cw_logs_t *logs;
  aws_creds_config_t creds_cfg; /* for instance metadata */
  char imds_instance_id[64];
  bool imds_tried;
  uint64_t log_events_invalid; /* no instance ID, or names Logs refuses */
  c_complain_t complaint_logs;
  pthread_t thread;
  bool thread_running;
  bool thread_failed;
  bool flush_now;
  bool stopping;
  uint64_t duplicates;
  uint64_t bad_sketches;
  cw_spool_t *spool;      /* opened by the sender thread */
  cw_spool_t *host_spool; /* SpoolDirectory/host */
  c_complain_t complaint_spool;
  c_complain_t complaint_sketch;
  uint64_t invalid[CW_DATUM_E_NUM];
  unsigned logged_reasons; /* bit per reason: logged once */
  c_complain_t complaint_send;
  uint64_t rng;    /* jitter state */
  cw_host_t *host; /* host metrics: their reads, queue and sender */
  cw_queue_t *host_queue;
  cw_sender_t *host_sender;
  c_complain_t complaint_host;
  c_complain_t complaint_host_send;
} wcw_t;

/* ------------------------------------------------------------ helpers */

static const char *env_getenv(void *ud, const char *name) {
  (void)ud;
  return getenv(name);
}

static time_t clock_now(void *ud) {
  (void)ud;
  return time(NULL);
}

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

/* Sleeps on the condition variable so that stopping wakes it. */
static int sleep_ms(uint64_t ms, void *ud) {
  wcw_t *w = ud;
  struct timespec until;
  int stop;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->lock);
  while (!w->stopping &&
         pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
    ;
  stop = w->stopping;
  pthread_mutex_unlock(&w->lock);
  return stop;
}

static void sender_log(cw_log_level_t level, const char *msg, void *ud) {
  wcw_t *w = ud;
  int l = level == CW_LOG_ERR       ? LOG_ERR
          : level == CW_LOG_WARNING ? LOG_WARNING
                                    : LOG_INFO;
  plugin_log(l, PLUGIN_NAME " plugin (%s): %s", w->ns, msg);
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

static void map_generic(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                        double now) {
  cw_dimension_t dims[2 + MAX_STATIC_DIMS];
  size_t nd = 0;
  char id[6 * DATA_MAX_NAME_LEN];
  gauge_t *rates = NULL;

  concat(id, sizeof(id), vl->plugin, vl->plugin_instance[0] ? "-" : "",
         vl->plugin_instance, "/", vl->type, vl->type_instance[0] ? "-" : "",
         vl->type_instance, (const char *)NULL);
  if (!filters_pass(w, id))
    return;

  dims[nd++] = (cw_dimension_t){"Host", vl->host};
  if (vl->plugin_instance[0])
    dims[nd++] = (cw_dimension_t){"PluginInstance", vl->plugin_instance};
  for (size_t i = 0; i < w->dims_num; i++)
    dims[nd++] = (cw_dimension_t){w->dims[i].name, w->dims[i].value};

  for (size_t i = 0; i < ds->ds_num; i++) {
    char name[4 * DATA_MAX_NAME_LEN];
    cw_datum_t d;
    cw_statset_t s;
    double v;

    if (ds->ds[i].type == DS_TYPE_GAUGE)
      v = vl->values[i].gauge;
    else {
      if (rates == NULL)
        rates = uc_get_rate(ds, vl);
      if (rates == NULL)
        return;
      v = rates[i];
    }
    concat(name, sizeof(name), vl->plugin, ".", vl->type,
           vl->type_instance[0] ? "." : "", vl->type_instance,
           ds->ds_num > 1 ? "." : "", ds->ds_num > 1 ? ds->ds[i].name : "",
           (const char *)NULL);
    cw_datum_statset_init(&s);
    if (cw_datum_statset_add(&s, v) != 0)
      continue; /* NaN: collectd's "no value" */
    cw_datum_init(&d);
    d.metric_name = name;
    d.dims = dims;
    d.num_dims = nd;
    d.timestamp = CDTIME_T_TO_DOUBLE(vl->time);
    d.storage_resolution = w->storage_resolution;
    d.unit = CW_UNIT_NONE;
    statset_datum(&d, &s);
    enqueue(w, &d, now);
  }
  sfree(rates);
}

/* ------------------------------------------------------ host metrics */

/* SageMaker's instance metrics (cw_host.h says how they are computed).
 * They belong to another namespace than the block's, and a PutMetricData
 * request names one namespace for all its datums: so they have a queue
 * and a sender of their own, driven by the block's sender thread, with
 * the same credentials, limits, merging and retries. */

/* A failed send is reported rate-limited with c_complain, and its recovery
 * with c_release, on the sender thread; at shutdown (a deadline) there is
 * no plugin context for c_complain's interval, and a failure is reported
 * once, plainly. */
static void send_failed(c_complain_t *c, time_t deadline, const char *ns,
                        const char *err) {
  if (deadline != 0)
    ERROR(PLUGIN_NAME " plugin (%s): %s", ns, err);
  else
    c_complain(LOG_ERR, c, PLUGIN_NAME " plugin (%s): %s", ns, err);
}

static void send_succeeded(c_complain_t *c, time_t deadline, const char *ns,
                           const char *what) {
  if (deadline == 0)
    c_release(LOG_INFO, c, PLUGIN_NAME " plugin (%s): %s succeeds again", ns,
              what);
}

static void host_sender_log(cw_log_level_t level, const char *msg, void *ud) {
  wcw_t *w = ud;
  int l = level == CW_LOG_ERR       ? LOG_ERR
          : level == CW_LOG_WARNING ? LOG_WARNING
                                    : LOG_INFO;
  plugin_log(l, PLUGIN_NAME " plugin (%s): %s", w->host_ns, msg);
}

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

/* Feeds cw_host: the names sagemaker_async's values carry, and the cpu,
 * memory and df percentages. Called with the lock held. */
static void map_host(wcw_t *w, const data_set_t *ds, const value_list_t *vl) {
  cw_host_stats_t before, after;
  cw_host_value_t v;

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
  if (ds->ds_num != 1 || ds->ds[0].type != DS_TYPE_GAUGE)
    return;
  v = (cw_host_value_t){vl->host,
                        vl->plugin,
                        vl->plugin_instance,
                        vl->type,
                        vl->type_instance,
                        CDTIME_T_TO_DOUBLE(vl->time),
                        CDTIME_T_TO_DOUBLE(vl->interval),
                        vl->values[0].gauge};
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

static int host_setup(wcw_t *w, const cw_sender_config_t *main_sc, char *err,
                      size_t err_size) {
  cw_host_config_t hc;
  cw_sender_config_t sc = *main_sc;

  C_COMPLAIN_INIT(&w->complaint_host);
  C_COMPLAIN_INIT(&w->complaint_host_send);
  if (w->host_ns == NULL)
    w->host_ns = strdup(CW_HOST_DEFAULT_NAMESPACE);
  memset(&hc, 0, sizeof(hc));
  hc.disk = w->host_disk;
  hc.endpoint = w->host_endpoint_cfg;
  hc.variant = w->host_variant_cfg;
  w->host = cw_host_create(&hc);
  w->host_queue = cw_queue_create(w->max_queued);
  if (w->host_ns == NULL || w->host == NULL || w->host_queue == NULL) {
    ssnprintf(err, err_size, "host metrics: out of memory");
    return -1;
  }
  sc.ns = w->host_ns;
  sc.log = host_sender_log;
  w->host_sender = cw_sender_create(&sc, err, err_size);
  if (w->host_sender == NULL)
    return -1;
  INFO(PLUGIN_NAME " plugin: host metrics in namespace %s, file system %s",
       w->host_ns, w->host_disk != NULL ? w->host_disk : CW_HOST_DEFAULT_DISK);
  return 0;
}

/* Sends the host metrics' queue: on the sender thread, after the block's
 * own. */
static void host_send(wcw_t *w, time_t deadline) {
  char err[1024];

  if (w->host_sender == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  cw_queue_seal(w->host_queue);
  pthread_mutex_unlock(&w->lock);
  if (cw_sender_drain(w->host_sender, w->host_queue, &w->lock, deadline) == 0) {
    send_succeeded(&w->complaint_host_send, deadline, w->host_ns,
                   "PutMetricData");
  } else {
    cw_sender_last_error(w->host_sender, err, sizeof(err));
    send_failed(&w->complaint_host_send, deadline, w->host_ns, err);
  }
}

/* Adds the host sender's and queue's counts to the block's. Called with
 * the lock held. */
static void host_add_stats(wcw_t *w, cw_sender_stats_t *st, size_t *queued,
                           uint64_t *dropped_full) {
  cw_sender_stats_t h;

  if (w->host_sender == NULL)
    return;
  cw_sender_get_stats(w->host_sender, &h);
  st->requests += h.requests;
  st->requests_failed += h.requests_failed;
  st->datums_sent += h.datums_sent;
  st->datums_dropped += h.datums_dropped;
  st->retries += h.retries;
  st->bytes_sent += h.bytes_sent;
  st->bytes_raw += h.bytes_raw;
  st->datums_spooled += h.datums_spooled;
  st->datums_expired += h.datums_expired;
  st->spool_errors += h.spool_errors;
  *queued += cw_queue_size(w->host_queue);
  *dropped_full += cw_queue_dropped(w->host_queue);
}

/* At shutdown: the reads still open are published if complete. */
static void host_finish(wcw_t *w) {
  if (w->host == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  cw_host_finish(w->host, host_emit, w);
  pthread_mutex_unlock(&w->lock);
}

static void host_destroy(wcw_t *w) {
  cw_sender_destroy(w->host_sender);
  cw_queue_destroy(w->host_queue);
  cw_host_destroy(w->host);
  sfree(w->host_ns);
  sfree(w->host_endpoint_cfg);
  sfree(w->host_variant_cfg);
  sfree(w->host_disk);
}

/* ------------------------------------------------------- own metrics */

typedef struct {
  const char *type;
  const char *ti;
  uint64_t v;
} own_value_t;

static void dispatch_own(wcw_t *w) {
  cw_sender_stats_t st;
  uint64_t invalid = 0, dup, dropped_full, fallbacks, bad_sketches;
  size_t queued;
  own_value_t vals[32];
  cw_host_stats_t hs;
  size_t n = 0;
  cw_logs_stats_t ls;
  uint64_t log_dropped_full = 0, log_invalid;
  size_t log_queued = 0;

  memset(&ls, 0, sizeof(ls));
  cw_sender_get_stats(w->sender, &st);
  if (w->logs != NULL)
    cw_logs_get_stats(w->logs, &ls);
  pthread_mutex_lock(&w->lock);
  if (w->logq != NULL) {
    log_dropped_full = cw_logs_queue_dropped(w->logq);
    log_queued = cw_logs_queue_size(w->logq);
  }
  log_invalid = w->log_events_invalid;
  for (int i = 0; i < CW_DATUM_E_NUM; i++)
    invalid += w->invalid[i];
  dup = w->duplicates;
  fallbacks = cw_queue_sketch_fallbacks(w->queue);
  bad_sketches = w->bad_sketches;
  dropped_full = cw_queue_dropped(w->queue);
  queued = cw_queue_size(w->queue);
  host_add_stats(w, &st, &queued, &dropped_full);
  memset(&hs, 0, sizeof(hs));
  if (w->host != NULL)
    cw_host_get_stats(w->host, &hs);
  pthread_mutex_unlock(&w->lock);

  vals[n++] = (own_value_t){"derive", "datums_sent", st.datums_sent};
  vals[n++] =
      (own_value_t){"derive", "datums_dropped-queue_full", dropped_full};
  vals[n++] = (own_value_t){"derive", "datums_dropped-invalid", invalid};
  vals[n++] =
      (own_value_t){"derive", "datums_dropped-refused", st.datums_dropped};
  vals[n++] = (own_value_t){"derive", "values_repeated", dup};
  /* Timing periods published without percentiles (see cw_queue.h), and
   * sketches that could not be read. */
  vals[n++] =
      (own_value_t){"derive", "percentiles_dropped-fallback", fallbacks};
  vals[n++] =
      (own_value_t){"derive", "percentiles_dropped-unreadable", bad_sketches};
  vals[n++] = (own_value_t){"derive", "requests", st.requests};
  vals[n++] = (own_value_t){"derive", "requests_failed", st.requests_failed};
  vals[n++] = (own_value_t){"derive", "retries", st.retries};
  vals[n++] = (own_value_t){"derive", "bytes_sent", st.bytes_sent};
  vals[n++] = (own_value_t){"derive", "bytes_uncompressed", st.bytes_raw};
  vals[n++] = (own_value_t){"queue_length", "datums", queued};
  if (w->spool_dir != NULL) {
    cw_spool_stats_t sp = {0}, hsp = {0};
    if (w->spool != NULL)
      cw_spool_get_stats(w->spool, &sp);
    if (w->host_spool != NULL)
      cw_spool_get_stats(w->host_spool, &hsp);
    vals[n++] = (own_value_t){"derive", "datums_spooled", st.datums_spooled};
    vals[n++] =
        (own_value_t){"derive", "datums_dropped-expired", st.datums_expired};
    vals[n++] = (own_value_t){"derive", "datums_dropped-spool_full",
                              sp.datums_dropped_full + hsp.datums_dropped_full};
    vals[n++] = (own_value_t){"derive", "spool_errors", st.spool_errors};
    vals[n++] =
        (own_value_t){"queue_length", "spool_datums", sp.datums + hsp.datums};
  }
  if (w->host != NULL) {
    vals[n++] = (own_value_t){"derive", "host_reads_dropped-incomplete",
                              hs.reads_incomplete};
    vals[n++] =
        (own_value_t){"derive", "host_reads_dropped-unnamed", hs.reads_unnamed};
    vals[n++] =
        (own_value_t){"derive", "host_values_dropped-late", hs.values_late};
    vals[n++] =
        (own_value_t){"derive", "host_values_dropped-limit", hs.values_dropped};
  }
  if (w->logs != NULL) {
    vals[n++] = (own_value_t){"derive", "log_events_sent", ls.events_sent};
    vals[n++] =
        (own_value_t){"derive", "log_events_dropped-queue", log_dropped_full};
    vals[n++] = (own_value_t){"derive", "log_events_dropped-refused",
                              ls.events_dropped};
    vals[n++] =
        (own_value_t){"derive", "log_events_dropped-invalid", log_invalid};
    vals[n++] = (own_value_t){"derive", "log_requests", ls.requests};
    vals[n++] = (own_value_t){"derive", "log_retries", ls.retries};
    vals[n++] = (own_value_t){"queue_length", "log_events", log_queued};
  }

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

/* ------------------------------------------------------------- sender */

/* Opens the spools on the sender thread (not at configuration: collectd -T
 * must not take the running daemon's spool), and again at every send
 * until that works. */
static void spool_open(wcw_t *w, time_t deadline) {
  char err[1024], dir[PATH_MAX];
  char *notes = NULL;

  if (w->spool_dir == NULL ||
      (w->spool != NULL && (w->host_sender == NULL || w->host_spool != NULL)))
    return;
  if (w->spool == NULL) {
    w->spool = cw_spool_open(w->spool_dir, w->spool_max_bytes, &notes, err,
                             sizeof(err));
    if (notes != NULL) {
      ERROR(PLUGIN_NAME " plugin (%s): spool %s: %s", w->ns, w->spool_dir,
            notes);
      free(notes);
    }
    if (w->spool == NULL) {
      char why[1200];
      ssnprintf(why, sizeof(why),
                "SpoolDirectory: %s; sending without a spool until it can be "
                "opened",
                err);
      send_failed(&w->complaint_spool, deadline, w->ns, why);
      return;
    }
    cw_sender_set_spool(w->sender, w->spool);
    {
      cw_spool_stats_t st;
      cw_spool_get_stats(w->spool, &st);
      if (st.files > 0)
        INFO(PLUGIN_NAME " plugin (%s): spool %s holds %" PRIu64
                         " datums in %" PRIu64 " batches; sending them first",
             w->ns, w->spool_dir, st.datums, st.files);
    }
  }
  if (w->host_sender != NULL && w->host_spool == NULL) {
    ssnprintf(dir, sizeof(dir), "%s/host", w->spool_dir);
    w->host_spool =
        cw_spool_open(dir, w->spool_max_bytes, &notes, err, sizeof(err));
    if (notes != NULL) {
      ERROR(PLUGIN_NAME " plugin (%s): spool %s: %s", w->host_ns, dir, notes);
      free(notes);
    }
    if (w->host_spool == NULL) {
      char why[1100];
      ssnprintf(why, sizeof(why), "SpoolDirectory: %s", err);
      send_failed(&w->complaint_spool, deadline, w->host_ns, why);
      return;
    }
    cw_sender_set_spool(w->host_sender, w->host_spool);
  }
  if (deadline == 0)
    c_release(LOG_INFO, &w->complaint_spool,
              PLUGIN_NAME " plugin (%s): spool %s open", w->ns, w->spool_dir);
}

static void send_once(wcw_t *w, time_t deadline) {
  char err[1024];

  spool_open(w, deadline);
  pthread_mutex_lock(&w->lock);
  cw_queue_seal(w->queue);
  cw_dedup_expire(w->dedup, cdtime(), DEDUP_MAX_AGE);
  pthread_mutex_unlock(&w->lock);
  if (cw_sender_drain(w->sender, w->queue, &w->lock, deadline) == 0) {
    send_succeeded(&w->complaint_send, deadline, w->ns, "PutMetricData");
  } else {
    cw_sender_last_error(w->sender, err, sizeof(err));
    send_failed(&w->complaint_send, deadline, w->ns, err);
  }
  host_send(w, deadline);
  if (w->logs == NULL)
    return;
  if (cw_logs_drain(w->logs, w->logq, &w->lock, deadline) == 0) {
    send_succeeded(&w->complaint_logs, deadline, w->ns, "PutLogEvents");
  } else {
    cw_logs_last_error(w->logs, err, sizeof(err));
    send_failed(&w->complaint_logs, deadline, w->ns, err);
  }
}

static void *sender_main(void *arg) {
  wcw_t *w = arg;

  for (;;) {
    struct timespec until = CDTIME_T_TO_TIMESPEC(cdtime() + w->flush_interval);
    bool stop;

    pthread_mutex_lock(&w->lock);
    while (!w->stopping && !w->flush_now) {
      /* cdtime is the wall clock, as CLOCK_REALTIME is. */
      if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0)
        break;
    }
    w->flush_now = false;
    stop = w->stopping;
    pthread_mutex_unlock(&w->lock);
    if (stop)
      break;
    send_once(w, 0);
    dispatch_own(w);
  }
  return NULL;
}

/* Starts the sender thread on first use: collectd may fork after reading
 * the configuration, and threads do not survive a fork. Called with the
 * lock held. */
static void ensure_thread(wcw_t *w) {
  char name[16];
  if (w->thread_running || w->thread_failed || w->stopping)
    return;
  ssnprintf(name, sizeof(name), "wcw#%s", w->instance);
  if (plugin_thread_create(&w->thread, sender_main, w, name) != 0) {
    ERROR(PLUGIN_NAME " plugin (%s): cannot start the sender thread: %s", w->ns,
          STRERRNO);
    w->thread_failed = true;
    return;
  }
  w->thread_running = true;
}

/* --------------------------------------------------- collectd callbacks */

static int wcw_write(const data_set_t *ds, const value_list_t *vl,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  char id[6 * DATA_MAX_NAME_LEN];
  double now = CDTIME_T_TO_DOUBLE(cdtime());

  /* Our own counters would feed back into the queue they describe. */
  if (strcmp(vl->plugin, PLUGIN_NAME) == 0 && !w->generic)
    return 0;
  if (strcmp(vl->plugin, SM_PLUGIN_ASYNC) != 0 && !w->generic &&
      !(w->host != NULL && cw_host_wants(vl->plugin, vl->type)))
    return 0;

  /* The series' identifier, as collectd's FORMAT_VL writes it. */
  concat(id, sizeof(id), vl->host, "/", vl->plugin,
         vl->plugin_instance[0] ? "-" : "", vl->plugin_instance, "/", vl->type,
         vl->type_instance[0] ? "-" : "", vl->type_instance,
         (const char *)NULL);
  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  if (cw_dedup_check(w->dedup, id, vl->time, cdtime()) == 0) {
    w->duplicates++;
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  if (w->host != NULL)
    map_host(w, ds, vl);
  if (!map_sagemaker(w, ds, vl, now) && w->generic)
    map_generic(w, ds, vl, now);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

static int wcw_flush(cdtime_t timeout, const char *identifier,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  (void)timeout;
  (void)identifier;
  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  w->flush_now = true;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

/* The instance ID for a data-log stream: the runtime's (in the
 * notification), else instance metadata (asked once), else InstanceId.
 * Called with the lock held. */
static const char *instance_id_for(wcw_t *w, const char *from_runtime) {
  if (from_runtime != NULL && from_runtime[0] != 0)
    return from_runtime;
  if (!w->imds_tried) {
    char err[512];
    w->imds_tried = true;
    /* Once per process and bounded by the metadata timeout. */
    if (aws_imds_get(&w->creds_cfg, IMDS_INSTANCE_ID_PATH, w->imds_instance_id,
                     sizeof(w->imds_instance_id), err, sizeof(err)) != 0) {
      w->imds_instance_id[0] = 0;
      if (w->instance_id_cfg == NULL)
        WARNING(PLUGIN_NAME " plugin (%s): the runtime names no instance and "
                            "instance metadata failed (%s); set InstanceId for "
                            "the data log",
                w->ns, err);
    }
  }
  if (w->imds_instance_id[0] != 0)
    return w->imds_instance_id;
  return w->instance_id_cfg;
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

/* sagemaker_async's notification of a request becomes a data-log event. */
static int wcw_notify(const notification_t *n, user_data_t *ud) {
  wcw_t *w = ud->data;
  cw_datalog_entry_t e;
  char group[512], stream[512];
  char *line;
  cw_logs_add_t r;

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

  pthread_mutex_lock(&w->lock);
  ensure_thread(w);
  e.instance_id = instance_id_for(w, nmeta_string(n, SM_META_INSTANCE_ID));
  if (cw_datalog_group(e.endpoint_name, group, sizeof(group)) != 0 ||
      cw_datalog_stream(e.variant_name, e.instance_id, stream,
                        sizeof(stream)) != 0) {
    w->log_events_invalid++;
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  line = cw_datalog_line(&e);
  if (line != NULL) {
    r = cw_logs_queue_add(w->logq, group, stream, e.time_ms, line,
                          (int64_t)CDTIME_T_TO_MS(cdtime()));
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

/* Frees an instance at shutdown: stops the thread, then sends what is
 * left within ShutdownTimeout. */
static void wcw_free(void *arg) {
  wcw_t *w = arg;
  bool joined;

  time_t deadline;

  if (w == NULL)
    return;
  /* ShutdownTimeout counts from now, the request in flight included. */
  deadline = time(NULL) + (time_t)CDTIME_T_TO_TIME_T(w->shutdown_timeout);
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  joined = w->thread_running;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
  if (joined)
    pthread_join(w->thread, NULL);
  if (w->sender != NULL && w->queue != NULL && w->thread_running) {
    size_t left;
    /* Stopping is set: sleeps return at once, so a failing endpoint gets
     * one attempt; a slow one is bounded by the deadline and Timeout. */
    host_finish(w);
    send_once(w, deadline);
    /* What could not be sent in time waits on disk for the next start. */
    if (w->spool != NULL) {
      size_t spooled;
      pthread_mutex_lock(&w->lock);
      cw_queue_seal(w->queue);
      if (w->host_queue != NULL)
        cw_queue_seal(w->host_queue);
      pthread_mutex_unlock(&w->lock);
      spooled = cw_sender_spill(w->sender, w->queue, &w->lock);
      if (w->host_spool != NULL)
        spooled += cw_sender_spill(w->host_sender, w->host_queue, &w->lock);
      if (spooled > 0)
        INFO(PLUGIN_NAME " plugin (%s): %zu datums spooled to %s for the "
                         "next start",
             w->ns, spooled, w->spool_dir);
    }
    pthread_mutex_lock(&w->lock);
    left = cw_queue_size(w->queue) +
           (w->host_queue != NULL ? cw_queue_size(w->host_queue) : 0);
    if (w->logq != NULL && cw_logs_queue_size(w->logq) > 0)
      WARNING(PLUGIN_NAME " plugin (%s): shutting down with %zu data-log "
                          "events not sent",
              w->ns, cw_logs_queue_size(w->logq));
    pthread_mutex_unlock(&w->lock);
    if (left > 0)
      WARNING(PLUGIN_NAME " plugin (%s): shutting down with %zu datums not "
                          "sent",
              w->ns, left);
  }
  host_destroy(w);
  cw_spool_close(w->spool);
  cw_spool_close(w->host_spool);
  sfree(w->spool_dir);
  cw_logs_destroy(w->logs);
  cw_logs_queue_destroy(w->logq);
  cw_sender_destroy(w->sender);
  aws_creds_provider_destroy(w->creds);
  cw_queue_destroy(w->queue);
  cw_dedup_destroy(w->dedup);
  for (size_t i = 0; i < w->include_num; i++)
    regfree(&w->include[i]);
  for (size_t i = 0; i < w->exclude_num; i++)
    regfree(&w->exclude[i]);
  for (size_t i = 0; i < w->dims_num; i++) {
    sfree(w->dims[i].name);
    sfree(w->dims[i].value);
  }
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
  sfree(w->instance);
  sfree(w->region_cfg);
  sfree(w->endpoint);
  sfree(w->ns);
  sfree(w->profile);
  sfree(w->logs_endpoint);
  sfree(w->instance_id_cfg);
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

static int wcw_config(oconfig_item_t *ci) {
  static int instances; /* names the blocks: one sender each */
  wcw_t *w = calloc(1, sizeof(*w));
  char err[512];
  char url[512];
  char inst[16];
  aws_region_t region;
  aws_creds_config_t cc;
  cw_sender_config_t sc;
  int status = 0;

  if (w == NULL)
    return ENOMEM;
  /* Region discovery and the sender's handles use libcurl before init. */
  if (instances == 0)
    curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  C_COMPLAIN_INIT(&w->complaint_send);
  w->rng = (uint64_t)cdtime() ^ ((uint64_t)getpid() << 32);
  w->ns = strdup(DEFAULT_NAMESPACE);
  w->flush_interval = TIME_T_TO_CDTIME_T(DEFAULT_FLUSH_INTERVAL);
  w->shutdown_timeout = TIME_T_TO_CDTIME_T(DEFAULT_SHUTDOWN_TIMEOUT);
  w->storage_resolution = CW_RESOLUTION_STANDARD;
  w->max_queued = DEFAULT_MAX_QUEUED;
  w->compress = true;
  w->timeout_ms = DEFAULT_TIMEOUT_MS;
  w->max_attempts = CW_SENDER_DEFAULT_MAX_ATTEMPTS;
  w->datalog = true;
  w->percentiles = true;
  w->spool_max_bytes = CW_SPOOL_DEFAULT_MAX_BYTES;
  w->max_rps = DEFAULT_MAX_REQUESTS_PER_SECOND;
  C_COMPLAIN_INIT(&w->complaint_spool);
  w->max_log_events = DEFAULT_MAX_QUEUED_LOG_EVENTS;
  C_COMPLAIN_INIT(&w->complaint_logs);
  C_COMPLAIN_INIT(&w->complaint_sketch);
  ssnprintf(inst, sizeof(inst), "%d", instances++);
  w->instance = strdup(inst);

  for (int i = 0; i < ci->children_num && status == 0; i++)
    status = wcw_config_item(w, ci->children + i);
  if (status != 0) {
    wcw_free(w);
    return -1;
  }

  memset(&cc, 0, sizeof(cc));
  cc.getenv_fn = env_getenv;
  cc.clock_fn = clock_now;
  cc.home_dir = getenv("HOME");
  cc.profile = w->profile;
  cc.imds_url = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  cc.timeout_ms = w->timeout_ms < 2000 ? w->timeout_ms : 2000;
  cc.imds_v1_fallback = w->imds_v1;

  if (aws_region_resolve(&cc, w->region_cfg, &region, err, sizeof(err)) ==
      AWS_CREDS_FAILED) {
    ERROR(PLUGIN_NAME " plugin: no region: %s; set Region", err);
    wcw_free(w);
    return -1;
  }
  if (w->endpoint == NULL) {
    ssnprintf(url, sizeof(url), "https://monitoring.%s.amazonaws.com/",
              region.name);
    w->endpoint = strdup(url);
  }

  w->queue = cw_queue_create(w->max_queued);
  w->dedup = cw_dedup_create();
  w->creds = aws_creds_provider_create(&cc);
  memset(&sc, 0, sizeof(sc));
  sc.url = w->endpoint;
  sc.region = region.name;
  sc.ns = w->ns;
  sc.compress = w->compress;
  sc.compress_threshold = CW_SENDER_DEFAULT_COMPRESS_THRESHOLD;
  sc.timeout_ms = w->timeout_ms;
  sc.max_attempts = (unsigned)w->max_attempts;
  sc.max_requests_per_second = w->max_rps;
  sc.creds = w->creds;
  sc.now = clock_now;
  sc.random01 = random01;
  sc.sleep_ms = sleep_ms;
  sc.log = sender_log;
  sc.ud = w;
  if (w->queue == NULL || w->dedup == NULL || w->creds == NULL) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    wcw_free(w);
    return -1;
  }
  w->sender = cw_sender_create(&sc, err, sizeof(err));
  if (w->sender == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    wcw_free(w);
    return -1;
  }
  w->creds_cfg = cc;
  if (w->host_metrics && host_setup(w, &sc, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    wcw_free(w);
    return -1;
  }

  if (w->datalog) {
    cw_logs_config_t lc;
    if (w->logs_endpoint == NULL) {
      ssnprintf(url, sizeof(url), "https://logs.%s.amazonaws.com/",
                region.name);
      w->logs_endpoint = strdup(url);
    }
    memset(&lc, 0, sizeof(lc));
    lc.url = w->logs_endpoint;
    lc.region = region.name;
    lc.timeout_ms = w->timeout_ms;
    lc.max_attempts = (unsigned)w->max_attempts;
    lc.creds = w->creds;
    lc.now = clock_now;
    lc.random01 = random01;
    lc.sleep_ms = sleep_ms;
    lc.log = sender_log;
    lc.ud = w;
    w->logq = cw_logs_queue_create(w->max_log_events);
    w->logs = w->logq ? cw_logs_create(&lc, err, sizeof(err)) : NULL;
    if (w->logs == NULL) {
      ERROR(PLUGIN_NAME " plugin: data log: %s",
            w->logq ? err : "out of memory");
      wcw_free(w);
      return -1;
    }
  }
  INFO(PLUGIN_NAME " plugin: namespace %s, region %s (from %s), endpoint %s",
       w->ns, region.name, region.source, w->endpoint);

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
