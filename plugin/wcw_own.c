/* SPDX-License-Identifier: MIT */
/*
 * wcw_own: write_cloudwatch's own counters (see wcw.h): what was sent,
 * dropped, spooled and queued, dispatched as values of the plugin after
 * each flush.
 */
#include "wcw.h"

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

#define V(t, ti, v)                                                            \
  vals[n++] = (wcw_own_value_t) { (t), (ti), (uint64_t)(v) }

/* The data log's values after the n in vals; returns the new n. Called
 * with the lock held. */
static size_t log_values(wcw_t *w, const cw_pipeline_stats_t *ls,
                         const cw_spool_stats_t *sp, wcw_own_value_t *vals,
                         size_t n) {
  V("derive", "log_events_sent", ls->items_sent);
  V("derive", "log_events_dropped-queue",
    cw_logs_queue_dropped(w->logq) + w->log_events_no_memory);
  V("derive", "log_events_dropped-refused",
    ls->items_refused + ls->items_expired + ls->items_invalid);
  V("derive", "log_events_dropped-invalid", w->log_events_invalid);
  V("derive", "log_requests", ls->requests);
  V("derive", "log_retries", ls->retries);
  V("queue_length", "log_events", cw_logs_queue_size(w->logq));
  V("queue_length", "log_events_unnamed", cw_logs_queue_pending(w->logq));
  if (w->spool_dir != NULL) {
    V("derive", "log_events_spooled", ls->items_spooled);
    V("derive", "log_events_dropped-spool_full",
      sp->items_dropped_full[CW_SPOOL_LOGS]);
    V("queue_length", "spool_log_events", sp->items[CW_SPOOL_LOGS]);
  }
  return n;
}

size_t wcw_own_values(wcw_t *w, wcw_own_value_t *vals) {
  cw_pipeline_stats_t st, hst, ls;
  cw_spool_stats_t sp;
  cw_host_stats_t hs;
  uint64_t invalid = 0, dropped_full;
  size_t n = 0, queued;

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
  dropped_full = cw_queue_dropped(w->queue) + w->datums_no_memory;
  queued = cw_queue_size(w->queue);
  if (w->host_queue != NULL) {
    dropped_full += cw_queue_dropped(w->host_queue);
    queued += cw_queue_size(w->host_queue);
  }
  if (w->host != NULL)
    cw_host_get_stats(w->host, &hs);
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
  if (w->logq != NULL)
    n = log_values(w, &ls, &sp, vals, n);
#undef V
  pthread_mutex_unlock(&w->lock);
  return n;
}

void wcw_own_dispatch(wcw_t *w) {
  wcw_own_value_t vals[WCW_OWN_MAX];
  size_t n = wcw_own_values(w, vals);

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
