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
 * This file and the wcw_*.c beside it are the collectd glue (wcw.h says
 * which file does what); everything else is in plugin/cloudwatch and
 * plugin/aws, collectd-free.
 */
#include "wcw.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "aws_endpoint.h"

/* --------------------------------------------------- collectd callbacks */

/* A value: mapped into the block's queues, and fed to its host
 * metrics; nothing here touches the network. */
static int wcw_write(const data_set_t *ds, const value_list_t *vl,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  wcw_map_t m;

  if (!wcw_map_prepare(w, ds, vl, &m))
    return 0;
  pthread_mutex_lock(&w->lock);
  wcw_sender_ensure(w);
  if (wcw_map_take(w, ds, vl, &m) && w->host != NULL)
    wcw_host_feed(w, ds, vl);
  pthread_mutex_unlock(&w->lock);
  wcw_map_rest(w, ds, vl, &m);
  return 0;
}

static int wcw_flush(cdtime_t timeout, const char *identifier,
                     user_data_t *ud) {
  wcw_t *w = ud->data;
  (void)timeout;
  (void)identifier;
  pthread_mutex_lock(&w->lock);
  wcw_sender_ensure(w);
  cw_pipeline_flush(w->pipe);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

static int wcw_notify(const notification_t *n, user_data_t *ud) {
  return wcw_map_notification(ud->data, n);
}

/* The blocks configured, for init and shutdown, which act on all of
 * them (collectd's main thread only). */
#define MAX_BLOCKS 64
static wcw_t *blocks[MAX_BLOCKS];
static size_t blocks_num;

/* A block's pipeline sends what is left within ShutdownTimeout (counted
 * from now, the request in flight included) and spools or counts the
 * rest. */
static void *block_stop(void *arg) {
  wcw_t *w = arg;
  time_t deadline =
      time(NULL) + (time_t)CDTIME_T_TO_TIME_T(w->shutdown_timeout);

  if (w->pipe == NULL || w->stopped)
    return NULL;
  wcw_host_finish(w);
  cw_pipeline_stop(w->pipe, deadline);
  w->stopped = true;
  return NULL;
}

/* collectd's shutdown: every block stops at the same time, so that
 * collectd exits within the largest ShutdownTimeout (and Timeout), not
 * their sum. */
static int wcw_shutdown(void) {
  pthread_t threads[MAX_BLOCKS];
  bool started[MAX_BLOCKS] = {false};

  for (size_t i = 0; i < blocks_num; i++)
    if (blocks[i] != NULL && blocks_num > 1)
      started[i] =
          pthread_create(&threads[i], NULL, block_stop, blocks[i]) == 0;
  for (size_t i = 0; i < blocks_num; i++) {
    if (started[i])
      pthread_join(threads[i], NULL);
    else if (blocks[i] != NULL)
      block_stop(blocks[i]);
  }
  return 0;
}

/* Frees a block (stopping it first if collectd's shutdown did not). */
static void wcw_free(void *arg) {
  wcw_t *w = arg;

  if (w == NULL)
    return;
  for (size_t i = 0; i < blocks_num; i++)
    if (blocks[i] == w)
      blocks[i] = NULL;
  while (blocks_num > 0 && blocks[blocks_num - 1] == NULL)
    blocks_num--;
  if (w->pipe != NULL) {
    block_stop(w);
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

/* The endpoint of a service, as the AWS SDKs resolve it (aws_endpoint.h):
 * the option, the AWS_ENDPOINT_URL* variables, the shared config file,
 * then the region's default. Replaces *url; logged with its source. */
static int resolve_endpoint(wcw_t *w, const char *service_id,
                            const char *prefix, const char *option,
                            char **url) {
  static const char configured[] = "configuration: ";
  aws_endpoint_t ep;
  char err[512];

  if (aws_endpoint_resolve(&w->creds_cfg, service_id, prefix, *url, w->region,
                           &ep, err, sizeof(err)) != 0) {
    /* A bad option is named as the other options are. */
    if (strncmp(err, configured, sizeof(configured) - 1) == 0)
      ERROR(PLUGIN_NAME " plugin: %s: %s %s", w->block, option,
            err + sizeof(configured) - 1);
    else
      ERROR(PLUGIN_NAME " plugin: %s: %s endpoint: %s", w->block, service_id,
            err);
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

/* A block with nothing configured yet; NULL when out of memory. */
static wcw_t *block_create(int number) {
  wcw_t *w = calloc(1, sizeof(*w));
  pthread_mutexattr_t a;

  if (w == NULL)
    return NULL;
  /* Held for a short while by every write thread: spin a little before
   * sleeping in the kernel. */
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&w->lock, &a);
  pthread_mutexattr_destroy(&a);
  w->rng = (uint64_t)cdtime() ^ ((uint64_t)getpid() << 32);
  w->imds_wait_s = IMDS_RETRY_FIRST_S;
  C_COMPLAIN_INIT(&w->complaint_spool);
  C_COMPLAIN_INIT(&w->complaint_sketch);
  C_COMPLAIN_INIT(&w->complaint_host);
  C_COMPLAIN_INIT(&w->complaint_imds);
  C_COMPLAIN_INIT(&w->complaint_memory);
  ssnprintf(w->instance, sizeof(w->instance), "%d", number);
  ssnprintf(w->block, sizeof(w->block), "block %d", number + 1);
  return w;
}

/* Where AWS is: credentials, region and endpoints, as the AWS SDKs find
 * them. 0, or -1 (logged). */
static int block_aws(wcw_t *w) {
  aws_creds_config_t *cc = &w->creds_cfg;
  aws_region_t region;
  char err[512];

  memset(cc, 0, sizeof(*cc));
  cc->getenv_fn = aws_creds_process_getenv;
  cc->clock_fn = aws_creds_system_clock;
  cc->home_dir = getenv("HOME");
  cc->profile = w->profile;
  cc->imds_url = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  cc->timeout_ms = w->timeout_ms < 2000 ? w->timeout_ms : 2000;
  cc->imds_v1_fallback = w->imds_v1;
  if (aws_region_resolve(cc, w->region_cfg, &region, err, sizeof(err)) ==
      AWS_CREDS_FAILED) {
    ERROR(PLUGIN_NAME " plugin: %s: no region: %s; set Region", w->block, err);
    return -1;
  }
  sstrncpy(w->region, region.name, sizeof(w->region));
  if (resolve_endpoint(w, "CloudWatch", "monitoring", "Endpoint",
                       &w->endpoint) != 0 ||
      (w->datalog && resolve_endpoint(w, "CloudWatch Logs", "logs",
                                      "LogsEndpoint", &w->logs_endpoint) != 0))
    return -1;
  w->creds = aws_creds_provider_create(cc);
  if (w->creds == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s: out of memory", w->block);
    return -1;
  }
  INFO(PLUGIN_NAME " plugin: namespace %s, region %s (from %s)", w->ns,
       region.name, region.source);
  return 0;
}

/* A <Plugin write_cloudwatch> block: one pipeline each. */
static int wcw_config(oconfig_item_t *ci) {
  static int instances;
  sm_collectd_where_t where = {.plugin = PLUGIN_NAME,
                               .style = SM_COLLECTD_MSG_KEY_VALUE};
  char err[512];
  char name[64];
  wcw_t *w;

  if (blocks_num == MAX_BLOCKS) {
    ERROR(PLUGIN_NAME " plugin: more than %d <Plugin write_cloudwatch> "
                      "blocks",
          MAX_BLOCKS);
    return -1;
  }
  /* Region discovery and the pipeline's handles use libcurl before init. */
  if (instances == 0)
    curl_global_init(CURL_GLOBAL_DEFAULT);
  w = block_create(instances++);
  if (w == NULL)
    return ENOMEM;
  where.block = w->block;
  if (wcw_options_read(w, ci, &where) != 0 || block_aws(w) != 0) {
    wcw_free(w);
    return -1;
  }
  if (wcw_sender_setup(w, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s: %s", w->block, err);
    wcw_free(w);
    return -1;
  }
  blocks[blocks_num++] = w;
  ssnprintf(name, sizeof(name), PLUGIN_NAME "/%s", w->instance);
  /* Only the write callback frees the block. */
  plugin_register_write(name, wcw_write,
                        &(user_data_t){.data = w, .free_func = wcw_free});
  plugin_register_flush(name, wcw_flush, &(user_data_t){.data = w});
  if (w->datalog)
    plugin_register_notification(name, wcw_notify, &(user_data_t){.data = w});
  return 0;
}

/* After collectd forked: each block's sender thread starts, so that what
 * the spool holds goes before any value arrives. */
static int wcw_init(void) {
  static bool done;
  if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ERROR(PLUGIN_NAME " plugin: curl_global_init failed");
    return -1;
  }
  done = true;
  for (size_t i = 0; i < blocks_num; i++) {
    if (blocks[i] == NULL)
      continue;
    pthread_mutex_lock(&blocks[i]->lock);
    wcw_sender_ensure(blocks[i]);
    pthread_mutex_unlock(&blocks[i]->lock);
  }
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, wcw_config);
  plugin_register_init(PLUGIN_NAME, wcw_init);
  plugin_register_shutdown(PLUGIN_NAME, wcw_shutdown);
}
