/* SPDX-License-Identifier: MIT */
/*
 * wcw_map: write_cloudwatch's mapping of collectd's values and
 * notifications (see wcw.h): sagemaker_async's values become exactly the
 * SageMaker asynchronous-endpoint metrics (sm_metrics), any other value a
 * generic metric when GenericMetrics is on, and sagemaker_async's request
 * notifications data-log events. Nothing here touches the network.
 */
#include "wcw.h"

#include "collectd/core/daemon/utils_cache.h"

#include <stdarg.h>

#include "cw_datalog.h"
#include "sm_metrics.h"
#include "sm_sketch_text.h"

/* Validates d and queues it (with the sketch of its samples, if any);
 * counts and logs (once per reason) what is refused. Called with the lock
 * held. */
/* A datum (name) or a data-log event (NULL) the queue had no memory for:
 * counted with what a full queue drops, and logged at growing intervals.
 * Called with the lock held. */
static void no_memory(wcw_t *w, const char *name) {
  if (name != NULL)
    w->datums_no_memory++;
  else
    w->log_events_no_memory++;
  c_complain(LOG_ERR, &w->complaint_memory,
             PLUGIN_NAME " plugin (%s): out of memory queueing %s%s; dropped "
                         "and counted",
             w->ns, name != NULL ? "datum " : "a data-log event",
             name != NULL ? name : "");
}

void wcw_map_enqueue(wcw_t *w, cw_queue_t *q, const cw_datum_t *d, double now,
                     const sm_sketch_t *sketch) {
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
    no_memory(w, d->metric_name);
}

static void enqueue_sketch(wcw_t *w, const cw_datum_t *d, double now,
                           const sm_sketch_t *sketch) {
  wcw_map_enqueue(w, w->queue, d, now, sketch);
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

/* Prepares the datums of ds's data sources from first on (at most
 * WCW_MAP_MAX_DS); returns the next data source to prepare, ds->ds_num
 * when done. g->num is 0 when the value list is filtered out or its rates
 * are not known yet. */
static size_t generic_prepare(const wcw_t *w, const data_set_t *ds,
                              const value_list_t *vl, double now, size_t first,
                              wcw_generic_t *g) {
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

    if (g->num == WCW_MAP_MAX_DS) {
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
static void generic_enqueue(wcw_t *w, const wcw_generic_t *g, double now) {
  for (size_t i = 0; i < g->num; i++) {
    const cw_datum_t *d = &g->item[i].d;
    if (g->item[i].why != CW_DATUM_OK)
      enqueue(w, d, now); /* counts it, and logs the first of its reason */
    else if (cw_queue_add_hashed(w->queue, d, g->item[i].hash, NULL) ==
             CW_QUEUE_NOMEM)
      no_memory(w, d->metric_name);
  }
}

bool wcw_map_prepare(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                     wcw_map_t *m) {
  m->now_cd = cdtime();
  m->now = CDTIME_T_TO_DOUBLE(m->now_cd);
  m->sagemaker = strcmp(vl->plugin, SM_PLUGIN_ASYNC) == 0;
  /* sagemaker_async's values are SageMaker's metrics or nothing: its
   * running totals and loss count are for other writers. */
  m->generic = w->generic && !m->sagemaker;
  m->next = 0;

  /* Our own counters would feed back into the queue they describe. */
  if (strcmp(vl->plugin, PLUGIN_NAME) == 0 && !w->generic)
    return false;
  if (!m->sagemaker && !w->generic &&
      !(w->host != NULL && cw_host_wants(vl->plugin, vl->type)))
    return false;

  /* The series' identifier, as collectd's FORMAT_VL writes it. */
  concat(m->id, sizeof(m->id), vl->host, "/", vl->plugin,
         vl->plugin_instance[0] ? "-" : "", vl->plugin_instance, "/", vl->type,
         vl->type_instance[0] ? "-" : "", vl->type_instance,
         (const char *)NULL);
  m->id_hash = cw_dedup_hash(m->id);
  if (m->generic && !filters_pass(w, m->id + strlen(vl->host) + 1))
    m->generic = false;
  if (m->generic)
    m->next = generic_prepare(w, ds, vl, m->now, 0, &m->g);
  return true;
}

bool wcw_map_take(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                  const wcw_map_t *m) {
  if (cw_dedup_check_hashed(w->dedup, m->id, m->id_hash, vl->time, m->now_cd) ==
      0) {
    w->duplicates++;
    return false;
  }
  if (m->sagemaker)
    map_sagemaker(w, ds, vl, m->now);
  if (m->generic)
    generic_enqueue(w, &m->g, m->now);
  return true;
}

void wcw_map_rest(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                  wcw_map_t *m) {
  while (m->generic && m->next < ds->ds_num) {
    m->next = generic_prepare(w, ds, vl, m->now, m->next, &m->g);
    pthread_mutex_lock(&w->lock);
    generic_enqueue(w, &m->g, m->now);
    pthread_mutex_unlock(&w->lock);
  }
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
int wcw_map_notification(wcw_t *w, const notification_t *n) {
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
  wcw_sender_ensure(w);
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
      no_memory(w, NULL);
    else if (r == CW_LOGS_INVALID)
      w->log_events_invalid++;
  }
  pthread_mutex_unlock(&w->lock);
  free(line);
  return 0;
}
