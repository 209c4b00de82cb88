/* SPDX-License-Identifier: MIT */
/*
 * sagemaker_async: collectd read plugin for the SageMaker asynchronous
 * inference runtime.
 *
 * Each <Runtime> block is one runtime behind one Unix socket, read on its
 * own interval. A read GETs /v1/snapshot and then every completed request
 * after the runtime's cursor, page by page, and dispatches the backlog
 * gauges, the interval's counts and statistic sets, and one notification
 * per failed or expired request.
 *
 * With StateFile, the cursor survives restarts of collectd: it is loaded
 * before the first read and saved after every read that moved it, around
 * the dispatch of the read's values (see save_prepare()).
 *
 * This file is the collectd glue only: configuration, registration,
 * logging and dispatch. The work is done by collectd-free modules:
 * rt_client (HTTP over the socket), rt_parser (streaming JSON),
 * rt_collect (cursor and page staging), rt_agg (aggregation) and rt_state
 * (the cursor on disk).
 */
#include "sm_collectd.h"
#include "sm_contract.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "rt_agg.h"
#include "rt_client.h"
#include "rt_collect.h"
#include "rt_parser.h"
#include "rt_state.h"
#include "sm_collectd.h"
#include "sm_durable.h"
#include "sm_metrics.h"
#include "sm_sketch.h"
#include "sm_text.h"

#define PLUGIN_NAME SM_PLUGIN_ASYNC
/* The timeout of a read when the interval is longer (the defaults of the
 * other options are in runtime_options[]). */
#define DEFAULT_TIMEOUT TIME_T_TO_CDTIME_T_STATIC(2)
#define MAX_PAGE_SIZE 10000 /* runtime-api.md: limit is 1..10000 */
/* Text from the runtime in a log line, escaped (sm_text.h), at most: */
#define TEXT_MAX 128    /* a name, an ID, a record's error */
#define MESSAGE_MAX 640 /* a client's message (512) with its escapes */

/* The running totals (Totals): the counts, LostRequests, and the 4XX/5XX
 * errors (the sums of their 1-or-0 samples). */
enum { TOTAL_LOST = SM_C_NUM, TOTAL_4XX, TOTAL_5XX, TOTAL_NUM };

typedef struct {
  /* configuration */
  char *name;
  char *socket;
  char *endpoint_name; /* NULL: from the snapshot */
  char *variant_name;  /* NULL: from the snapshot */
  cdtime_t interval;   /* 0: collectd's */
  cdtime_t timeout;
  long timeout_ms; /* the same, for the client */
  int page_size;
  size_t max_response_bytes;
  bool notifications;
  bool notify_success;
  bool percentiles;
  double percentile_accuracy;
  char *state_file;        /* NULL: the cursor lives in memory only */
  uid_t socket_owner;      /* besides root */
  char *socket_owner_name; /* as configured, for messages; may be NULL */
  bool totals;             /* dispatch the running totals too */

  /* state, touched by this runtime's read only */
  rt_client_t *client;
  rt_collect_t *collect;
  bool state_loaded;   /* the state file was looked at */
  bool state_restored; /* and its cursor is in use, not yet checked */
  rt_state_t saved;    /* what the state file holds (seq -1: nothing) */
  c_complain_t complaint_state;     /* the state file cannot be saved */
  c_complain_t complaint_owner;     /* the socket fails the owner check */
  c_complain_t complaint_down;      /* snapshot failures */
  c_complain_t complaint_pages;     /* page failures */
  c_complain_t complaint_late;      /* could not catch up within Timeout */
  c_complain_t complaint_names;     /* no endpoint/variant name */
  c_complain_t complaint_lost;      /* requests gone before they were read */
  uint64_t totals_value[TOTAL_NUM]; /* since collectd started */
} sm_runtime_t;

static void sm_runtime_free(void *arg) {
  sm_runtime_t *rt = arg;
  if (rt == NULL)
    return;
  rt_client_destroy(rt->client);
  rt_collect_destroy(rt->collect);
  sfree(rt->name);
  sfree(rt->socket);
  sfree(rt->endpoint_name);
  sfree(rt->variant_name);
  sfree(rt->state_file);
  sfree(rt->socket_owner_name);
  sfree(rt);
}

/* Runtime text as it may appear in a log line: escaped, cut to size. */
static const char *esc(const char *in, char *out, size_t size) {
  sm_text_escape_str(in, out, size);
  return out;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------ dispatch */

typedef struct {
  const char *endpoint;
  const char *variant;
  const char *instance_id;
  cdtime_t time;
  cdtime_t interval;
} sm_dispatch_ctx_t;

static meta_data_t *names_meta(const sm_runtime_t *rt,
                               const sm_dispatch_ctx_t *ctx, bool with_range,
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

static void dispatch_one(const sm_runtime_t *rt, const sm_dispatch_ctx_t *ctx,
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

static void dispatch_snapshot(const sm_runtime_t *rt,
                              const sm_dispatch_ctx_t *ctx,
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

static void dispatch_interval(const sm_runtime_t *rt,
                              const sm_dispatch_ctx_t *ctx) {
  const rt_agg_t *agg = rt_collect_agg(rt->collect);

  for (int i = 0; i < SM_C_NUM; i++) {
    value_t v = {.gauge = (gauge_t)agg->counts[i]};
    dispatch_one(rt, ctx, SM_TYPE_COUNT,
                 sm_metrics_by_index(SM_KIND_COUNT, i)->name, &v, 1, true,
                 NULL);
  }
  for (int i = 0; i < SM_S_NUM; i++) {
    const rt_agg_stat_t *s = &agg->stats[i];
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
 * of what dispatch_interval() sends, so they count each request once, and
 * start from 0 when collectd does. */
static void dispatch_totals(sm_runtime_t *rt, const sm_dispatch_ctx_t *ctx) {
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

static void dispatch_failed(const sm_runtime_t *rt,
                            const sm_dispatch_ctx_t *ctx) {
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
    ssnprintf(notif.message, sizeof(notif.message),
              "inference %s on %s/%s: %s%s%s%s%s%s",
              esc(r->inference_id, id, sizeof(id)),
              esc(ctx->endpoint, ep, sizeof(ep)),
              esc(ctx->variant, var, sizeof(var)), outcome, stage ? " in " : "",
              stage ? stage : "", status, (r->have & RT_HAVE_ERROR) ? ": " : "",
              (r->have & RT_HAVE_ERROR) ? esc(r->error, err, sizeof(err)) : "");

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

/* ---------------------------------------------------------------- read */

static const char *or_default(const char *configured, const char *fallback) {
  return configured != NULL ? configured : fallback;
}

/* Reads the snapshot into *snap. Returns 0, or -1 after complaining. */
static int read_snapshot(sm_runtime_t *rt, long deadline, rt_snapshot_t *snap) {
  rt_limits_t lim = {.max_bytes = rt->max_response_bytes};
  rt_parser_t *p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, &lim);
  rt_client_get_result_t res;
  char msg[MESSAGE_MAX];

  if (p == NULL) {
    ERROR(PLUGIN_NAME " plugin: runtime \"%s\": out of memory", rt->name);
    return -1;
  }
  rt_client_get(rt->client, "/v1/snapshot", p, deadline - now_ms(), &res);
  if (res.status == RT_CLIENT_GET_OK)
    *snap = *rt_parser_snapshot(p);
  rt_parser_destroy(p);
  esc(res.message, msg, sizeof(msg));
  if (res.status == RT_CLIENT_GET_REFUSED) {
    c_complain(LOG_ERR, &rt->complaint_owner,
               PLUGIN_NAME " plugin: runtime \"%s\": %s", rt->name, msg);
    return -1;
  }
  if (res.status != RT_CLIENT_GET_OK) {
    c_complain(LOG_ERR, &rt->complaint_down,
               PLUGIN_NAME " plugin: runtime \"%s\" (socket %s): %s", rt->name,
               rt->socket, msg);
    return -1;
  }
  /* Both the socket file and the process behind it passed. */
  c_release(LOG_INFO, &rt->complaint_owner,
            PLUGIN_NAME " plugin: runtime \"%s\": socket %s passes the "
                        "owner check again",
            rt->name, rt->socket);
  c_release(LOG_INFO, &rt->complaint_down,
            PLUGIN_NAME " plugin: runtime \"%s\" (socket %s) answers again",
            rt->name, rt->socket);
  return 0;
}

static void note_snapshot(sm_runtime_t *rt, rt_collect_snap_t what,
                          const char *old_boot, const rt_snapshot_t *snap) {
  char boot[TEXT_MAX], was[TEXT_MAX];

  esc(snap->boot_id, boot, sizeof(boot));
  esc(old_boot, was, sizeof(was));
  switch (what) {
  case RT_COLLECT_SAME_BOOT:
    break;
  case RT_COLLECT_FIRST_CONTACT:
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": boot %s, counting requests "
                     "from seq %" PRId64,
         rt->name, boot, snap->next_seq);
    break;
  case RT_COLLECT_NEW_BOOT:
    NOTICE(PLUGIN_NAME " plugin: runtime \"%s\" restarted (boot %s, was %s); "
                       "reading the new boot from its first request",
           rt->name, boot, was);
    break;
  case RT_COLLECT_SEQ_WENT_BACK:
    WARNING(PLUGIN_NAME " plugin: runtime \"%s\": next_seq %" PRId64
                        " of boot %s is below what was already read; "
                        "following the runtime",
            rt->name, snap->next_seq, boot);
    break;
  }
}

/* --------------------------------------------------------------- state */

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The runtime's name as the state file holds it (names longer than the
 * file keeps are cut alike when saving and loading). */
typedef char st_name_t[RT_STATE_NAME_MAX + 1];

/* Loads the state file once, before the first snapshot. Whatever is
 * wrong with the file, the runtime is then read as on first contact. */
static void load_state(sm_runtime_t *rt) {
  char err[256], text[MESSAGE_MAX], boot[TEXT_MAX];
  char name[sizeof(st_name_t)];
  rt_state_t st;

  rt->state_loaded = true;
  rt->saved.seq = -1;
  sstrncpy(name, rt->name, sizeof(name));
  switch (rt_state_load(rt->state_file, name, &st, err, sizeof(err))) {
  case RT_STATE_LOADED:
    if (rt_collect_restore(rt->collect, st.boot_id, st.seq, st.next_seq) != 0) {
      ERROR(PLUGIN_NAME " plugin: runtime \"%s\": state file %s: cannot "
                        "restore its cursor; counting from the runtime's "
                        "next_seq",
            rt->name, rt->state_file);
      return;
    }
    rt->saved = st;
    rt->state_restored = true;
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": state file %s: boot %s, "
                     "cursor at seq %" PRId64 ", saved %.0f s ago",
         rt->name, rt->state_file, esc(st.boot_id, boot, sizeof(boot)), st.seq,
         (wall_ms() - (double)st.saved_ms) / 1000.0);
    break;
  case RT_STATE_MISSING:
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": no state file %s yet; "
                     "counting from the runtime's next_seq",
         rt->name, rt->state_file);
    break;
  case RT_STATE_UNREADABLE:
    ERROR(PLUGIN_NAME " plugin: runtime \"%s\": state file %s %s; counting "
                      "from the runtime's next_seq (requests completed while "
                      "collectd was stopped are not counted)",
          rt->name, rt->state_file, esc(err, text, sizeof(text)));
    break;
  case RT_STATE_INVALID: {
    char aside_err[PATH_MAX + 128];
    int moved =
        rt_state_set_aside(rt->state_file, aside_err, sizeof(aside_err));
    ERROR(PLUGIN_NAME " plugin: runtime \"%s\": state file %s is unusable: "
                      "%s; %s%s%s; counting from the runtime's next_seq "
                      "(requests completed while collectd was stopped are "
                      "not counted)",
          rt->name, rt->state_file, esc(err, text, sizeof(text)),
          moved == 0 ? "moved aside to " : "could not move it aside: ",
          moved == 0 ? rt->state_file : aside_err,
          moved == 0 ? ".corrupt" : "");
    break;
  }
  }
}

/* Says how a restored cursor met the runtime, once. */
static void note_restored(sm_runtime_t *rt, rt_collect_snap_t what,
                          const rt_snapshot_t *snap) {
  char boot[TEXT_MAX];

  if (!rt->state_restored)
    return;
  rt->state_restored = false;
  if (what == RT_COLLECT_SAME_BOOT)
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": boot %s as saved; reading on "
                     "from seq %" PRId64 " (next_seq %" PRId64 ")",
         rt->name, esc(snap->boot_id, boot, sizeof(boot)),
         rt_collect_cursor(rt->collect), snap->next_seq);
}

/* True when the cursor differs from what the state file holds. */
static bool state_moved(const sm_runtime_t *rt) {
  return rt_collect_cursor(rt->collect) >= 0 &&
         (rt->saved.seq != rt_collect_cursor(rt->collect) ||
          rt->saved.next_seq != rt_collect_known_next_seq(rt->collect) ||
          strcmp(rt->saved.boot_id, rt_collect_boot_id(rt->collect)) != 0);
}

/* Saving is split around the dispatch of a read's values. The new
 * cursor is written and synced to a temporary file before the values are
 * dispatched, and renamed into place right after: a crash before the
 * rename leaves the old cursor, and the next start reads those records
 * again (counted twice only if the values had been dispatched, which the
 * rename follows within microseconds); a crash after it finds the values
 * dispatched. Notifications go out page by page while the read pages, so
 * a crash in the middle of a read may repeat the notifications of the
 * pages it had committed. Nothing is ever skipped. */
static bool save_prepare(sm_runtime_t *rt, rt_state_t *st) {
  char err[PATH_MAX + 256];

  if (rt->state_file == NULL || !state_moved(rt))
    return false;
  memset(st, 0, sizeof(*st));
  sstrncpy(st->runtime, rt->name, sizeof(st->runtime));
  sstrncpy(st->boot_id, rt_collect_boot_id(rt->collect), sizeof(st->boot_id));
  st->seq = rt_collect_cursor(rt->collect);
  st->next_seq = rt_collect_known_next_seq(rt->collect);
  if (st->next_seq <= st->seq)
    st->next_seq = st->seq + 1;
  st->saved_ms = (int64_t)wall_ms();
  if (rt_state_prepare(rt->state_file, st, err, sizeof(err)) != 0) {
    c_complain(LOG_ERR, &rt->complaint_state,
               PLUGIN_NAME " plugin: runtime \"%s\": state file %s not "
                           "saved: %s",
               rt->name, rt->state_file, err);
    return false;
  }
  return true;
}

static void save_commit(sm_runtime_t *rt, const rt_state_t *st) {
  char err[PATH_MAX * 2 + 256];

  if (rt_state_commit(rt->state_file, err, sizeof(err)) != 0) {
    c_complain(LOG_ERR, &rt->complaint_state,
               PLUGIN_NAME " plugin: runtime \"%s\": state file %s not "
                           "saved: %s",
               rt->name, rt->state_file, err);
    return;
  }
  rt->saved = *st;
  c_release(LOG_INFO, &rt->complaint_state,
            PLUGIN_NAME " plugin: runtime \"%s\": state file %s saved again",
            rt->name, rt->state_file);
}

/* Refuses a socket that is a link, not a socket, or of an unexpected
 * owner. Returns 0 when the read may go on. */
static int check_socket(sm_runtime_t *rt) {
  char msg[PATH_MAX + 256];

  switch (rt_client_socket_check(rt->socket, rt->socket_owner,
                                 rt->socket_owner_name, msg, sizeof(msg))) {
  case RT_CLIENT_SOCKET_REFUSED:
    c_complain(LOG_ERR, &rt->complaint_owner,
               PLUGIN_NAME " plugin: runtime \"%s\": %s", rt->name, msg);
    return -1;
  case RT_CLIENT_SOCKET_OK: /* released once the peer passes too */
  case RT_CLIENT_SOCKET_ABSENT:
    break; /* the connect will say so, as for a runtime that is down */
  }
  return 0;
}

/* Accepts the page p just read (GET path) and sends its notifications.
 * *more says whether to read on. Returns 0, or -1 when the page was
 * rejected (complained about). */
static int commit_page(sm_runtime_t *rt, rt_parser_t *p, const char *path,
                       const sm_dispatch_ctx_t *ctx, bool *more) {
  char text[MESSAGE_MAX];

  switch (rt_collect_page_commit(rt->collect, rt_parser_page(p), more)) {
  case RT_COLLECT_COMMITTED:
    if (rt->notifications)
      dispatch_failed(rt, ctx);
    return 0;
  case RT_COLLECT_BOOT_CHANGED:
    /* The runtime restarted between the snapshot and this page: the next
     * read's snapshot moves the cursor to the new boot. */
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": boot changed to %s while "
                     "paging; reading it next interval",
         rt->name, esc(rt_parser_page(p)->boot_id, text, TEXT_MAX));
    *more = false;
    return 0;
  case RT_COLLECT_REJECTED:
    break;
  }
  c_complain(LOG_ERR, &rt->complaint_pages,
             PLUGIN_NAME " plugin: runtime \"%s\" (socket %s): GET %s: %s; "
                         "records after seq %" PRId64 " not accepted",
             rt->name, rt->socket, path,
             esc(rt_collect_page_error(rt->collect), text, sizeof(text)),
             rt_collect_cursor(rt->collect));
  *more = false;
  return -1;
}

/* Reads pages until caught up, the deadline, or an error. */
static void read_pages(sm_runtime_t *rt, long deadline,
                       const sm_dispatch_ctx_t *ctx) {
  rt_limits_t lim = {.max_bytes = rt->max_response_bytes,
                     .max_records = (size_t)rt->page_size};
  bool more = true;
  bool failed = false;

  while (more) {
    char path[96];
    rt_client_get_result_t res;
    rt_parser_t *p;
    long left = deadline - now_ms();

    if (left <= 0) {
      c_complain(LOG_WARNING, &rt->complaint_late,
                 PLUGIN_NAME " plugin: runtime \"%s\": not caught up within "
                             "Timeout; reading on from seq %" PRId64
                             " next interval",
                 rt->name, rt_collect_cursor(rt->collect));
      return;
    }
    p = rt_parser_create(RT_DOC_REQUESTS, rt_collect_record_cb, rt->collect,
                         &lim);
    if (p == NULL) {
      ERROR(PLUGIN_NAME " plugin: runtime \"%s\": out of memory", rt->name);
      return;
    }
    ssnprintf(path, sizeof(path), "/v1/requests?after=%" PRId64 "&limit=%d",
              rt_collect_cursor(rt->collect), rt->page_size);
    rt_collect_page_begin(rt->collect);
    rt_client_get(rt->client, path, p, left, &res);

    if (res.status != RT_CLIENT_GET_OK) {
      char msg[MESSAGE_MAX], why[MESSAGE_MAX];
      esc(rt_collect_page_error(rt->collect), why, sizeof(why));
      rt_collect_page_abort(rt->collect);
      c_complain(LOG_ERR, &rt->complaint_pages,
                 PLUGIN_NAME " plugin: runtime \"%s\" (socket %s): %s%s%s; "
                             "records after seq %" PRId64 " not accepted",
                 rt->name, rt->socket, esc(res.message, msg, sizeof(msg)),
                 why[0] ? ": " : "", why, rt_collect_cursor(rt->collect));
      failed = true;
      more = false;
    } else if (commit_page(rt, p, path, ctx, &more) != 0) {
      failed = true;
    }
    rt_parser_destroy(p);
  }
  if (!failed)
    c_release(LOG_INFO, &rt->complaint_pages,
              PLUGIN_NAME " plugin: runtime \"%s\": pages are read again",
              rt->name);
  c_release(LOG_INFO, &rt->complaint_late,
            PLUGIN_NAME " plugin: runtime \"%s\": caught up", rt->name);
}

static int sm_async_read(user_data_t *ud) {
  sm_runtime_t *rt = ud->data;
  long deadline = now_ms() + rt->timeout_ms;
  char old_boot[RT_BOOT_ID_MAX + 1];
  rt_snapshot_t snap;
  sm_dispatch_ctx_t ctx;
  rt_collect_snap_t what;
  uint64_t lost;
  rt_state_t st;
  bool prepared;

  if (rt->state_file != NULL && !rt->state_loaded)
    load_state(rt);
  rt_collect_begin_interval(rt->collect);
  ctx.time = cdtime();
  ctx.interval = rt->interval;

  if (check_socket(rt) != 0)
    return 0;

  /* A runtime that is down is not a failed read for collectd: a failing
   * read is suspended with a back-off of up to a day, and we want to see
   * the runtime again at the next interval. The complaint says it. */
  if (read_snapshot(rt, deadline, &snap) != 0)
    return 0;

  sstrncpy(old_boot, rt_collect_boot_id(rt->collect), sizeof(old_boot));
  what = rt_collect_snapshot(rt->collect, &snap);
  note_snapshot(rt, what, old_boot, &snap);
  note_restored(rt, what, &snap);

  ctx.endpoint = or_default(rt->endpoint_name, snap.endpoint_name);
  ctx.variant = or_default(rt->variant_name, snap.variant_name);
  ctx.instance_id = snap.instance_id;
  if (ctx.endpoint[0] == 0 || ctx.variant[0] == 0) {
    c_complain(LOG_ERR, &rt->complaint_names,
               PLUGIN_NAME " plugin: runtime \"%s\": the snapshot names no %s; "
                           "set %s in the <Runtime \"%s\"> block",
               rt->name, ctx.endpoint[0] == 0 ? "endpoint" : "variant",
               ctx.endpoint[0] == 0 ? "EndpointName" : "VariantName", rt->name);
    return 0;
  }
  c_release(LOG_INFO, &rt->complaint_names,
            PLUGIN_NAME " plugin: runtime \"%s\": names known again", rt->name);

  read_pages(rt, deadline, &ctx);

  lost = rt_collect_lost_interval(rt->collect);
  /* A runtime that outruns every read would say so every interval. */
  if (lost > 0)
    c_complain(LOG_WARNING, &rt->complaint_lost,
               PLUGIN_NAME " plugin: runtime \"%s\": %" PRIu64
                           " completed requests were gone before they could "
                           "be read (the runtime's ring overflowed or it "
                           "restarted); counted as LostRequests",
               rt->name, lost);
  else
    c_release(LOG_INFO, &rt->complaint_lost,
              PLUGIN_NAME " plugin: runtime \"%s\": no completed request "
                          "lost again",
              rt->name);

  prepared = save_prepare(rt, &st);
  dispatch_snapshot(rt, &ctx, &snap);
  dispatch_interval(rt, &ctx);
  if (rt->totals)
    dispatch_totals(rt, &ctx);
  if (prepared)
    save_commit(rt, &st);
  return 0;
}

/* -------------------------------------------------------------- config */

/* PercentileAccuracy: a double whose error keeps its own wording. */
static int set_accuracy(const sm_collectd_option_t *opt,
                        const oconfig_item_t *ci, void *obj,
                        const sm_collectd_where_t *where) {
  sm_runtime_t *rt = obj;
  char value[64];

  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_NUMBER &&
      ci->values[0].value.number >= opt->min &&
      ci->values[0].value.number <= opt->max) {
    rt->percentile_accuracy = ci->values[0].value.number;
    return 0;
  }
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return sm_collectd_option_fail(where, opt, ci, "expected a fraction");
  sm_collectd_config_value(ci, value, sizeof(value));
  ERROR(PLUGIN_NAME " plugin: %s: PercentileAccuracy %s is out of range: "
                    "expected a fraction from %g to %g",
        where->block, value, opt->min, opt->max);
  return -1;
}

/* SocketOwner: a user name or a numeric uid. */
static int set_socket_owner(const sm_collectd_option_t *opt,
                            const oconfig_item_t *ci, void *obj,
                            const sm_collectd_where_t *where) {
  sm_runtime_t *rt = obj;
  const oconfig_value_t *v = ci->values;
  const char *name = NULL;
  double num = -1;
  struct passwd pw, *found = NULL;
  char buf[4096];
  int err;

  if (ci->values_num == 1 && v->type == OCONFIG_TYPE_NUMBER)
    num = v->value.number;
  else if (ci->values_num == 1 && v->type == OCONFIG_TYPE_STRING &&
           v->value.string[0] != 0 &&
           strspn(v->value.string, "0123456789") == strlen(v->value.string))
    num = strtod(v->value.string, NULL);
  else if (ci->values_num == 1 && v->type == OCONFIG_TYPE_STRING)
    name = v->value.string;
  if (name == NULL) {
    if (!(num >= 0 && num < (double)UINT32_MAX) || num != floor(num))
      return sm_collectd_option_fail(where, opt, ci,
                                     "expected a user name or uid");
    rt->socket_owner = (uid_t)num;
    sfree(rt->socket_owner_name);
    return 0;
  }
  err = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
  if (err != 0 || found == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s: SocketOwner \"%s\": %s", where->block, name,
          err != 0 ? STRERROR(err) : "no such user");
    return -1;
  }
  rt->socket_owner = found->pw_uid;
  sfree(rt->socket_owner_name);
  rt->socket_owner_name = strdup(name);
  return 0;
}

#define RT_OFF(field) offsetof(sm_runtime_t, field)

/* The options of a <Runtime> block, read by the parser and by
 * tests/check_docs.py (which compares each .def with README and the man
 * page). A NULL .def is computed in config_check() or is "none". */
static const sm_collectd_option_t runtime_options[] = {
    {.name = "Socket",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(socket),
     .def = "/run/sagemaker/async-runtime.sock"},
    {.name = "EndpointName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(endpoint_name)},
    {.name = "VariantName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(variant_name)},
    /* collectd's Interval when not given. */
    {.name = "Interval",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = RT_OFF(interval),
     .min = 0.001,
     .max = 86400},
    /* The smaller of 2 s and the interval when not given. */
    {.name = "Timeout",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = RT_OFF(timeout),
     .min = 0.001,
     .max = 86400},
    {.name = "PageSize",
     .type = SM_COLLECTD_OPT_INT,
     .offset = RT_OFF(page_size),
     .def = "1000",
     .min = 1,
     .max = MAX_PAGE_SIZE},
    {.name = "MaxResponseBytes",
     .type = SM_COLLECTD_OPT_SIZE,
     .offset = RT_OFF(max_response_bytes),
     .def = "16777216",
     .min = 4096,
     .max = 1073741824},
    {.name = "Notifications",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(notifications),
     .def = "true"},
    {.name = "NotifySuccess",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(notify_success),
     .def = "false"},
    {.name = "Percentiles",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(percentiles),
     .def = "true"},
    {.name = "PercentileAccuracy",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "0.01",
     .min = SM_SKETCH_MIN_ACCURACY,
     .max = SM_SKETCH_MAX_ACCURACY,
     .set = set_accuracy},
    /* Room for the ".corrupt" a bad file is renamed to. */
    {.name = "StateFile",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(state_file),
     .min = 1,
     .max = PATH_MAX - 16},
    /* The user collectd runs as when not given. */
    {.name = "SocketOwner",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .set = set_socket_owner},
    {.name = "Totals",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(totals),
     .def = "false"},
};
#define RUNTIME_OPTIONS_NUM                                                    \
  (sizeof(runtime_options) / sizeof(runtime_options[0]))

/* Rules across options, and the defaults computed from others. Returns
 * 0 or -1 (logged). */
static int config_check(sm_runtime_t *rt, const sm_collectd_where_t *where,
                        const bool *given) {
  const sm_collectd_option_t *timeout =
      sm_collectd_option_find(runtime_options, RUNTIME_OPTIONS_NUM, "Timeout");
  cdtime_t interval = rt->interval ? rt->interval : plugin_get_interval();

  if (rt->socket[0] == 0) {
    ERROR(PLUGIN_NAME " plugin: %s: Socket must not be empty", where->block);
    return -1;
  }
  if (strlen(rt->socket) > rt_client_max_path()) {
    ERROR(PLUGIN_NAME " plugin: %s: Socket \"%s\" is longer than the %zu "
                      "bytes a Unix socket path can have",
          where->block, rt->socket, rt_client_max_path());
    return -1;
  }
  if (rt->state_file != NULL) {
    const char *base = strrchr(rt->state_file, '/');
    base = base != NULL ? base + 1 : rt->state_file;
    if (base[0] == 0 || strlen(base) > SM_DURABLE_NAME_MAX) {
      ERROR(PLUGIN_NAME " plugin: %s: StateFile \"%s\": the file's name "
                        "must be 1 to %d bytes",
            where->block, rt->state_file, SM_DURABLE_NAME_MAX);
      return -1;
    }
  }
  /* A read must end before the next begins: the default timeout fits
   * any interval, a timeout given that does not is refused. */
  if (!given[timeout - runtime_options])
    rt->timeout = interval < DEFAULT_TIMEOUT ? interval : DEFAULT_TIMEOUT;
  else if (rt->timeout > interval) {
    ERROR(PLUGIN_NAME " plugin: %s: Timeout (%.3f s) must not exceed the "
                      "interval (%.3f s)",
          where->block, CDTIME_T_TO_DOUBLE(rt->timeout),
          CDTIME_T_TO_DOUBLE(interval));
    return -1;
  }
  rt->timeout_ms = (long)CDTIME_T_TO_MS(rt->timeout);
  if (rt->timeout_ms < 1)
    rt->timeout_ms = 1;
  return 0;
}

/* The runtime's client and collector. Returns 0 or -1 (logged). */
static int config_start(sm_runtime_t *rt, const sm_collectd_where_t *where) {
  rt->client = rt_client_create(rt->socket);
  rt->collect = rt_collect_create((size_t)rt->page_size);
  if (rt->client == NULL || rt->collect == NULL ||
      (rt->percentiles &&
       rt_collect_enable_sketches(
           rt->collect, rt->percentile_accuracy,
           sm_sketch_buckets_for(rt->percentile_accuracy)) != 0)) {
    ERROR(PLUGIN_NAME " plugin: %s: out of memory", where->block);
    return -1;
  }
  rt_client_set_owner(rt->client, rt->socket_owner, rt->socket_owner_name);
  rt_collect_keep_successes(rt->collect, rt->notify_success);
  return 0;
}

static sm_runtime_t *runtime_new(void) {
  sm_runtime_t *rt = calloc(1, sizeof(*rt));

  if (rt == NULL)
    return NULL;
  rt->socket_owner = geteuid();
  C_COMPLAIN_INIT(&rt->complaint_state);
  C_COMPLAIN_INIT(&rt->complaint_owner);
  C_COMPLAIN_INIT(&rt->complaint_down);
  C_COMPLAIN_INIT(&rt->complaint_pages);
  C_COMPLAIN_INIT(&rt->complaint_late);
  C_COMPLAIN_INIT(&rt->complaint_names);
  C_COMPLAIN_INIT(&rt->complaint_lost);
  return rt;
}

/* Hands rt to collectd as the read of "sagemaker_async/NAME". */
static int config_register(sm_runtime_t *rt, const sm_collectd_where_t *where) {
  char group_name[DATA_MAX_NAME_LEN * 2];
  char block[DATA_MAX_NAME_LEN + 16];

  ssnprintf(group_name, sizeof(group_name), PLUGIN_NAME "/%s", rt->name);
  /* On an error (a second <Runtime> of the same name) collectd 5.12 frees
   * the user data itself (plugin.h's comment says otherwise): say which
   * block, and touch rt no more. */
  sstrncpy(block, where->block, sizeof(block));
  if (plugin_register_complex_read(
          PLUGIN_NAME, group_name, sm_async_read, rt->interval,
          &(user_data_t){.data = rt, .free_func = sm_runtime_free}) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s: cannot be registered (is the name given "
                      "twice?)",
          block);
    return -1;
  }
  return 0;
}

static int config_runtime(oconfig_item_t *ci) {
  sm_runtime_t *rt = runtime_new();
  bool given[RUNTIME_OPTIONS_NUM];
  char block[DATA_MAX_NAME_LEN + 16];
  sm_collectd_where_t where = {.plugin = PLUGIN_NAME, .block = block};

  if (rt == NULL)
    return ENOMEM;
  if (cf_util_get_string(ci, &rt->name) != 0 || rt->name[0] == 0) {
    ERROR(PLUGIN_NAME " plugin: <Runtime> needs one non-empty name, as in "
                      "<Runtime \"main\">");
    sm_runtime_free(rt);
    return -1;
  }
  ssnprintf(block, sizeof(block), "<Runtime \"%s\">", rt->name);
  if (sm_collectd_options_defaults(runtime_options, RUNTIME_OPTIONS_NUM, rt,
                                   &where) != 0 ||
      sm_collectd_options_read(runtime_options, RUNTIME_OPTIONS_NUM, ci, rt,
                               &where, given) != 0 ||
      config_check(rt, &where, given) != 0 || config_start(rt, &where) != 0) {
    sm_runtime_free(rt);
    return -1;
  }
  return config_register(rt, &where);
}

/* Two runtimes saving their cursors to one file would overwrite each
 * other. Returns 0 when every StateFile of the block is distinct. */
static int config_check_state_files(const oconfig_item_t *ci) {
  int status = 0;

  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *a = ci->children + i;
    if (strcasecmp("Runtime", a->key) != 0)
      continue;
    for (int j = 0; j < a->children_num; j++) {
      const oconfig_item_t *fa = a->children + j;
      if (strcasecmp("StateFile", fa->key) != 0 || fa->values_num != 1 ||
          fa->values[0].type != OCONFIG_TYPE_STRING)
        continue;
      for (int k = i + 1; k < ci->children_num; k++) {
        const oconfig_item_t *b = ci->children + k;
        if (strcasecmp("Runtime", b->key) != 0)
          continue;
        for (int l = 0; l < b->children_num; l++) {
          const oconfig_item_t *fb = b->children + l;
          if (strcasecmp("StateFile", fb->key) == 0 && fb->values_num == 1 &&
              fb->values[0].type == OCONFIG_TYPE_STRING &&
              strcmp(fa->values[0].value.string, fb->values[0].value.string) ==
                  0) {
            ERROR(PLUGIN_NAME " plugin: StateFile \"%s\" is given to two "
                              "<Runtime> blocks; each needs its own",
                  fa->values[0].value.string);
            status = -1;
          }
        }
      }
    }
  }
  return status;
}

static int sm_async_config(oconfig_item_t *ci) {
  int status = 0;

  if (config_check_state_files(ci) != 0)
    return -1;

  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *child = ci->children + i;
    if (strcasecmp("Runtime", child->key) == 0) {
      if (config_runtime(child) != 0)
        status = -1;
    } else {
      ERROR(PLUGIN_NAME " plugin: unknown option \"%s\"; expected <Runtime>",
            child->key);
      status = -1;
    }
  }
  return status;
}

/* ---------------------------------------------------------------- init */

static int register_type(const char *type, int ds_type,
                         const char *const *names, size_t n, double first_min) {
  data_source_t ds[4];
  data_set_t set = {.ds_num = n, .ds = ds};

  if (plugin_get_ds(type) != NULL)
    return 0; /* from types.db: that definition wins */
  sstrncpy(set.type, type, sizeof(set.type));
  for (size_t i = 0; i < n; i++) {
    sstrncpy(ds[i].name, names[i], sizeof(ds[i].name));
    ds[i].type = ds_type;
    ds[i].min = NAN;
    ds[i].max = NAN;
  }
  ds[0].min = first_min;
  return plugin_register_data_set(&set);
}

static int sm_async_init(void) {
  static const char *const value[] = {"value"};
  static const char *const stats[] = {"count", "sum", "min", "max"};
  /* curl_global_cleanup() is left to process exit: collectd frees the
   * read callbacks' curl handles after the shutdown callbacks ran. */
  static bool done;

  if (done)
    return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ERROR(PLUGIN_NAME " plugin: curl_global_init failed");
    plugin_unregister_read_group(PLUGIN_NAME);
    return -1;
  }
  /* The types are also in the project's types.db; registering them here
   * means a collectd.conf need not list that file. */
  if (register_type(SM_TYPE_GAUGE, DS_TYPE_GAUGE, value, 1, NAN) != 0 ||
      register_type(SM_TYPE_COUNT, DS_TYPE_GAUGE, value, 1, 0) != 0 ||
      register_type(SM_TYPE_STATS, DS_TYPE_GAUGE, stats, 4, 0) != 0 ||
      register_type(SM_TYPE_COUNTER, DS_TYPE_DERIVE, value, 1, 0) != 0) {
    ERROR(PLUGIN_NAME " plugin: could not register the sagemaker_* types");
    plugin_unregister_read_group(PLUGIN_NAME);
    return -1;
  }
  done = true;
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, sm_async_config);
  plugin_register_init(PLUGIN_NAME, sm_async_init);
}
