/* SPDX-License-Identifier: MIT */
/*
 * wcw_sender: a write_cloudwatch block's delivery pipeline (cw_pipeline):
 * its streams, and the hooks its sender thread runs around each flush
 * (the spool, the data log's instance ID, the own counters).
 */
#include "wcw.h"

#include <unistd.h>

#include "aws_imds.h"
#include "cw_datalog.h"
#include "cw_encode.h"

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

static void after_flush(void *ud) { wcw_own_dispatch(ud); }

/* A stop before the sender thread's first flush: the spool is opened
 * here, for the last flush to spool what it cannot send (when there is
 * something to send). */
static void before_stop(void *ud) {
  wcw_t *w = ud;
  size_t held;

  pthread_mutex_lock(&w->lock);
  held = cw_queue_size(w->queue) +
         (w->host_queue != NULL ? cw_queue_size(w->host_queue) : 0) +
         (w->logq != NULL ? cw_logs_queue_size(w->logq) : 0);
  pthread_mutex_unlock(&w->lock);
  if (held > 0)
    spool_open(w);
}

void wcw_sender_ensure(wcw_t *w) {
  /* No pipeline: a block not set up (the glue's unit tests map values
   * into its queues without one). */
  if (w->pipe == NULL || w->thread_failed || cw_pipeline_start(w->pipe) == 0)
    return;
  w->thread_failed = true;
  ERROR(PLUGIN_NAME " plugin (%s): cannot start the sender thread: %s; "
                    "nothing is sent before collectd stops",
        w->ns, STRERRNO);
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

int wcw_sender_setup(wcw_t *w, char *err, size_t err_size) {
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
      .before_stop = before_stop,
      .spool_configured = w->spool_dir != NULL,
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
