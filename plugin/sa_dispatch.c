/* SPDX-License-Identifier: MIT */
/*
 * sa_dispatch: a read's values as collectd value lists (the backlog
 * gauges, the interval's counts and statistic sets, the running totals)
 * and its failed requests as notifications, each with the endpoint's
 * names in its meta data (see sa.h).
 */
#include "sa.h"

#include "rt_agg.h"
#include "rt_parser.h"
#include "sm_sketch.h"

static meta_data_t *names_meta(const sm_runtime_t *rt,
                               const sa_dispatch_ctx_t *ctx, bool with_range,
                               const char *sketch) {
  meta_data_t *md = meta_data_create();
  if (md == NULL)
    return NULL;
  meta_data_add_string(md, SM_META_ENDPOINT_NAME, ctx->endpoint);
  meta_data_add_string(md, SM_META_VARIANT_NAME, ctx->variant);
  if (ctx->instance_id[0] != 0)
    meta_data_add_string(md, SM_META_INSTANCE_ID, ctx->instance_id);
  if (with_range) {
    int64_t first, last;
    rt_collect_seq_range(rt->collect, &first, &last);
    meta_data_add_string(md, SM_META_BOOT_ID, rt_collect_boot_id(rt->collect));
    meta_data_add_signed_int(md, SM_META_SEQ_FIRST, first);
    meta_data_add_signed_int(md, SM_META_SEQ_LAST, last);
  }
  if (sketch != NULL)
    meta_data_add_string(md, SM_META_SKETCH, sketch);
  return md;
}

static void dispatch_one(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx,
                         const char *type, const char *type_instance,
                         value_t *values, size_t n, bool with_range,
                         const char *sketch) {
  value_list_t vl = VALUE_LIST_INIT;

  vl.values = values;
  vl.values_len = n;
  vl.time = ctx->time;
  vl.interval = ctx->interval;
  sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, rt->name, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
  vl.meta = names_meta(rt, ctx, with_range, sketch);
  plugin_dispatch_values(&vl);
  meta_data_destroy(vl.meta);
}

void sa_dispatch_snapshot(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx,
                          const rt_snapshot_t *snap) {
  double g[SM_G_NUM];

  g[SM_G_BACKLOG_SIZE] = (double)snap->backlog_size;
  g[SM_G_BACKLOG_PER_INSTANCE] =
      (double)snap->backlog_size / (double)snap->instance_count;
  g[SM_G_OLDEST_REQUEST_AGE] = (double)snap->oldest_request_age_ms / 1000.0;
  for (int i = 0; i < SM_G_NUM; i++) {
    value_t v = {.gauge = g[i]};
    dispatch_one(rt, ctx, SM_TYPE_GAUGE,
                 sm_metrics_by_index(SM_KIND_GAUGE, i)->name, &v, 1, false,
                 NULL);
  }
}

void sa_dispatch_interval(const sm_runtime_t *rt,
                          const sa_dispatch_ctx_t *ctx) {
  const rt_agg_t *agg = rt_collect_agg(rt->collect);

  for (int i = 0; i < SM_C_NUM; i++) {
    value_t v = {.gauge = (gauge_t)agg->counts[i]};
    dispatch_one(rt, ctx, SM_TYPE_COUNT,
                 sm_metrics_by_index(SM_KIND_COUNT, i)->name, &v, 1, true,
                 NULL);
  }
  for (int i = 0; i < SM_S_NUM; i++) {
    const sm_stat_t *s = &agg->stats[i];
    value_t v[4] = {{.gauge = (gauge_t)s->count},
                    {.gauge = s->sum},
                    {.gauge = s->min},
                    {.gauge = s->max}};
    /* The timing's distribution rides along for write_cloudwatch's
     * Values/Counts; without it (none kept, or out of memory) the
     * statistic set alone is published. */
    char *sketch = NULL;
    if (agg->sketch[i] != NULL && s->count > 0)
      sketch = sm_sketch_text_encode(agg->sketch[i]);
    dispatch_one(rt, ctx, SM_TYPE_STATS,
                 sm_metrics_by_index(SM_KIND_STATS, i)->name, v, 4, true,
                 sketch);
    free(sketch);
  }
  /* Not a SageMaker metric: the plugin's own account of what it could
   * not read. */
  value_t lost = {.gauge = (gauge_t)rt_collect_lost_interval(rt->collect)};
  dispatch_one(rt, ctx, SM_TYPE_COUNT, "LostRequests", &lost, 1, true, NULL);
}

/* Totals: every count of every read since collectd started, as DERIVE
 * counters, for writers that compute rates themselves (Prometheus's
 * rate() and increase(), rrdtool, Graphite's derivatives). They are sums
 * of what sa_dispatch_interval() sends, so they count each request once, and
 * start from 0 when collectd does. */
void sa_dispatch_totals(sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx) {
  const rt_agg_t *agg = rt_collect_agg(rt->collect);

  for (int i = 0; i < SM_C_NUM; i++)
    rt->totals_value[i] += agg->counts[i];
  rt->totals_value[TOTAL_LOST] += rt_collect_lost_interval(rt->collect);
  /* Sums of 1-or-0 samples: whole numbers, exact in a double to 2^53. */
  rt->totals_value[TOTAL_4XX] += (uint64_t)agg->stats[SM_S_4XX_ERRORS].sum;
  rt->totals_value[TOTAL_5XX] += (uint64_t)agg->stats[SM_S_5XX_ERRORS].sum;
  for (int i = 0; i < TOTAL_NUM; i++) {
    const char *name =
        i < SM_C_NUM      ? sm_metrics_by_index(SM_KIND_COUNT, i)->name
        : i == TOTAL_LOST ? "LostRequests"
        : i == TOTAL_4XX
            ? sm_metrics_by_index(SM_KIND_STATS, SM_S_4XX_ERRORS)->name
            : sm_metrics_by_index(SM_KIND_STATS, SM_S_5XX_ERRORS)->name;
    value_t v = {.derive = (derive_t)rt->totals_value[i]};
    dispatch_one(rt, ctx, SM_TYPE_COUNTER, name, &v, 1, false, NULL);
  }
}

void sa_dispatch_failed(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx) {
  size_t n = rt_collect_failed_num(rt->collect);

  for (size_t i = 0; i < n; i++) {
    const rt_record_t *r = rt_collect_failed_get(rt->collect, i);
    const char *outcome = rt_parser_outcome_name(r->outcome);
    const char *stage = rt_agg_failed_stage(r);
    notification_t notif = {
        .severity = r->outcome == RT_OUTCOME_SUCCESS   ? NOTIF_OKAY
                    : r->outcome == RT_OUTCOME_EXPIRED ? NOTIF_WARNING
                                                       : NOTIF_FAILURE,
        .time = MS_TO_CDTIME_T((uint64_t)r->completed_ms),
    };
    char status[32] = "";
    char id[TEXT_MAX], ep[TEXT_MAX / 2], var[TEXT_MAX / 2], err[TEXT_MAX];

    sstrncpy(notif.host, hostname_g, sizeof(notif.host));
    sstrncpy(notif.plugin, PLUGIN_NAME, sizeof(notif.plugin));
    sstrncpy(notif.plugin_instance, rt->name, sizeof(notif.plugin_instance));
    sstrncpy(notif.type, SM_TYPE_REQUEST, sizeof(notif.type));
    sstrncpy(notif.type_instance, outcome, sizeof(notif.type_instance));
    if (r->have & RT_HAVE_STATUS_CODE)
      ssnprintf(status, sizeof(status), " (status %d)", r->status_code);
    /* The message is one log line, escaped; the meta data keeps the
     * runtime's text as is. */
    ssnprintf(
        notif.message, sizeof(notif.message),
        "inference %s on %s/%s: %s%s%s%s%s%s",
        sa_esc(r->inference_id, id, sizeof(id)),
        sa_esc(ctx->endpoint, ep, sizeof(ep)),
        sa_esc(ctx->variant, var, sizeof(var)), outcome, stage ? " in " : "",
        stage ? stage : "", status, (r->have & RT_HAVE_ERROR) ? ": " : "",
        (r->have & RT_HAVE_ERROR) ? sa_esc(r->error, err, sizeof(err)) : "");

    plugin_notification_meta_add_string(&notif, SM_META_INFERENCE_ID,
                                        r->inference_id);
    plugin_notification_meta_add_string(&notif, SM_META_ENDPOINT_NAME,
                                        ctx->endpoint);
    plugin_notification_meta_add_string(&notif, SM_META_VARIANT_NAME,
                                        ctx->variant);
    if (ctx->instance_id[0] != 0)
      plugin_notification_meta_add_string(&notif, SM_META_INSTANCE_ID,
                                          ctx->instance_id);
    plugin_notification_meta_add_string(&notif, SM_META_OUTCOME, outcome);
    if (stage != NULL)
      plugin_notification_meta_add_string(&notif, SM_META_STAGE, stage);
    if (r->have & RT_HAVE_STATUS_CODE)
      plugin_notification_meta_add_signed_int(&notif, SM_META_STATUS_CODE,
                                              r->status_code);
    if (r->have & RT_HAVE_ERROR)
      plugin_notification_meta_add_string(&notif, SM_META_ERROR, r->error);
    plugin_notification_meta_add_string(&notif, SM_META_BOOT_ID,
                                        rt_collect_boot_id(rt->collect));
    plugin_notification_meta_add_signed_int(&notif, SM_META_SEQ, r->seq);
    plugin_notification_meta_add_signed_int(&notif, SM_META_RECEIVED_MS,
                                            r->received_ms);
    plugin_notification_meta_add_signed_int(&notif, SM_META_COMPLETED_MS,
                                            r->completed_ms);
    plugin_dispatch_notification(&notif);
    plugin_notification_meta_free(notif.meta);
  }
}
