/* SPDX-License-Identifier: MIT */
/*
 * wcw.h: what the files of write_cloudwatch's collectd glue share: a
 * <Plugin write_cloudwatch> block's configuration and state (wcw_t), and
 * the functions each file gives the others.
 *
 *   write_cloudwatch.c  registration, a block's life (configure, set up,
 *                       shut down), the callbacks collectd calls
 *   wcw_options.c       the options of a block
 *   wcw_map.c           values and notifications to datums and events
 *   wcw_host.c          collectd's cpu, memory and df values to SageMaker's
 *                       instance metrics
 *   wcw_sender.c        the delivery pipeline of a block and the hooks its
 *                       sender thread runs
 *   wcw_own.c           the plugin's own counters
 */
#ifndef WCW_H
#define WCW_H 1

#include "sm_collectd.h"
#include "sm_contract.h"

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "aws_creds.h"
#include "aws_region.h"
#include "cw_datum.h"
#include "cw_dedup.h"
#include "cw_host.h"
#include "cw_logs.h"
#include "cw_pipeline.h"
#include "cw_queue.h"
#include "cw_spool.h"
#include "cw_stream_logs.h"
#include "cw_stream_metrics.h"
#include "sm_sketch.h"

#define PLUGIN_NAME SM_PLUGIN_WRITE
#define IMDS_INSTANCE_ID_PATH "/latest/meta-data/instance-id"
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
  char instance[16]; /* "0", "1", ...: one per <Plugin> block */
  char block[32];    /* "block 1": names it in configuration errors */
  char *region_cfg;
  char *endpoint;
  char *ns;
  char *profile;
  cdtime_t flush_interval;
  int storage_resolution;
  size_t max_queued;
  bool compress;
  cdtime_t timeout;
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
  bool stopped; /* its pipeline stopped (collectd's shutdown) */

  /* The instance ID for the data log's streams, when the runtime does not
   * name it: resolved on the sender thread. */
  char instance_id[64];
  bool instance_known;
  time_t imds_next;
  int imds_wait_s;
  uint64_t log_events_invalid; /* no usable stream name */

  uint64_t duplicates;
  uint64_t datums_no_memory;     /* counted as datums_dropped-queue_full */
  uint64_t log_events_no_memory; /* as log_events_dropped-queue */
  uint64_t bad_sketches;
  uint64_t invalid[CW_DATUM_E_NUM];
  unsigned logged_reasons; /* bit per reason: logged once */
  uint64_t rng;            /* jitter state (the sender's only) */
  c_complain_t complaint_sketch;
  c_complain_t complaint_host;
  c_complain_t complaint_spool;
  c_complain_t complaint_imds;
  c_complain_t complaint_memory;
} wcw_t;

/* wcw_options.c: the defaults, then the options of a <Plugin> block
 * into w; 0, or -1 (logged, naming where). */
int wcw_options_read(wcw_t *w, const oconfig_item_t *ci,
                     const sm_collectd_where_t *where);

/* wcw_map.c. A value list on its way into a block's queues: what can
 * be done before the lock is taken (the write threads contend for it) is
 * done in wcw_map_prepare, the rest under it in wcw_map_take. */
#define WCW_MAP_MAX_DS 16
typedef struct {
  cw_dimension_t dims[2 + MAX_STATIC_DIMS];
  size_t num;
  struct {
    cw_datum_t d;
    uint64_t hash;
    cw_datum_reason_t why;
    char name[4 * DATA_MAX_NAME_LEN];
  } item[WCW_MAP_MAX_DS];
} wcw_generic_t;
typedef struct {
  char id[6 * DATA_MAX_NAME_LEN]; /* host/plugin[-inst]/type[-inst] */
  uint64_t id_hash;
  cdtime_t now_cd; /* read once a value */
  double now;
  bool sagemaker; /* sagemaker_async's: SageMaker's metrics */
  bool generic;   /* a generic metric (GenericMetrics, passes the filters) */
  size_t next;    /* the next data source to prepare */
  wcw_generic_t g;
} wcw_map_t;
/* Outside the lock: the identifier, its hash, the filters, the generic
 * datums named, validated and hashed. false when the block takes nothing
 * of vl. */
bool wcw_map_prepare(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                     wcw_map_t *m);
/* Under the lock: the repeat check (false: a repeat, counted), then
 * sagemaker_async's values as SageMaker's metrics and the generic datums
 * queued. */
bool wcw_map_take(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                  const wcw_map_t *m);
/* After take, without the lock: the data sources beyond the first
 * WCW_MAP_MAX_DS (no type of types.db has that many). */
void wcw_map_rest(wcw_t *w, const data_set_t *ds, const value_list_t *vl,
                  wcw_map_t *m);
/* sagemaker_async's notification of a request as a data-log event. */
int wcw_map_notification(wcw_t *w, const notification_t *n);
/* Validates d and queues it into q (with the sketch of its samples, if
 * any); counts and logs (once per reason) what is refused. Called with
 * the lock held. */
void wcw_map_enqueue(wcw_t *w, cw_queue_t *q, const cw_datum_t *d, double now,
                     const sm_sketch_t *sketch);

/* wcw_host.c. Feeds a value of sagemaker_async (its names) or of the
 * host plugins to cw_host. Called with the lock held. */
void wcw_host_feed(wcw_t *w, const data_set_t *ds, const value_list_t *vl);
/* At shutdown: the reads still open are published if complete. */
void wcw_host_finish(wcw_t *w);

/* wcw_sender.c. The pipeline and its streams, after the configuration
 * was read; 0, or -1 with err. */
int wcw_sender_setup(wcw_t *w, char *err, size_t err_size);
/* Starts the sender thread if it does not run (init starts it: collectd
 * forks after reading the configuration, and threads do not survive a
 * fork). Called with the lock held. */
void wcw_sender_ensure(wcw_t *w);

/* wcw_own.c. The plugin's own counters, dispatched after each flush. */
#define WCW_OWN_MAX 48
typedef struct {
  const char *type;
  const char *ti;
  uint64_t v;
} wcw_own_value_t;
/* The values (at most WCW_OWN_MAX) into vals; returns how many. */
size_t wcw_own_values(wcw_t *w, wcw_own_value_t *vals);
void wcw_own_dispatch(wcw_t *w);

#endif /* WCW_H */
