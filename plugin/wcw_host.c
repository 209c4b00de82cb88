/* SPDX-License-Identifier: MIT */
/*
 * wcw_host: write_cloudwatch's host metrics (see wcw.h, cw_host.h).
 */
#include "wcw.h"

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
  d.kind = CW_KIND_STATS;
  d.stats = st;
  wcw_map_enqueue(w, w->host_queue, &d, CDTIME_T_TO_DOUBLE(cdtime()), NULL);
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
void wcw_host_feed(wcw_t *w, const data_set_t *ds, const value_list_t *vl) {
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

void wcw_host_finish(wcw_t *w) {
  if (w->host == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  cw_host_finish(w->host, host_emit, w);
  pthread_mutex_unlock(&w->lock);
}
