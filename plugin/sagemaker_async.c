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
 * the dispatch of the read's values (see sa_state_prepare()).
 *
 * This file and the sa_*.c beside it are the collectd glue only (sa.h
 * says which file does what): configuration, registration, logging and
 * dispatch. The work is done by collectd-free modules:
 * rt_client (HTTP over the socket), rt_parser (streaming JSON),
 * rt_collect (cursor and page staging), rt_agg (aggregation) and rt_state
 * (the cursor on disk).
 */
#include "sa.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "rt_parser.h"
#include "sm_sketch.h"

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

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
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
  sa_esc(res.message, msg, sizeof(msg));
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

  sa_esc(snap->boot_id, boot, sizeof(boot));
  sa_esc(old_boot, was, sizeof(was));
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
                       const sa_dispatch_ctx_t *ctx, bool *more) {
  char text[MESSAGE_MAX];

  switch (rt_collect_page_commit(rt->collect, rt_parser_page(p), more)) {
  case RT_COLLECT_COMMITTED:
    if (rt->notifications)
      sa_dispatch_failed(rt, ctx);
    return 0;
  case RT_COLLECT_BOOT_CHANGED:
    /* The runtime restarted between the snapshot and this page: the next
     * read's snapshot moves the cursor to the new boot. */
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": boot changed to %s while "
                     "paging; reading it next interval",
         rt->name, sa_esc(rt_parser_page(p)->boot_id, text, TEXT_MAX));
    *more = false;
    return 0;
  case RT_COLLECT_REJECTED:
    break;
  }
  c_complain(LOG_ERR, &rt->complaint_pages,
             PLUGIN_NAME " plugin: runtime \"%s\" (socket %s): GET %s: %s; "
                         "records after seq %" PRId64 " not accepted",
             rt->name, rt->socket, path,
             sa_esc(rt_collect_page_error(rt->collect), text, sizeof(text)),
             rt_collect_cursor(rt->collect));
  *more = false;
  return -1;
}

/* Reads pages until caught up, the deadline, or an error. */
static void read_pages(sm_runtime_t *rt, long deadline,
                       const sa_dispatch_ctx_t *ctx) {
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
      sa_esc(rt_collect_page_error(rt->collect), why, sizeof(why));
      rt_collect_page_abort(rt->collect);
      c_complain(LOG_ERR, &rt->complaint_pages,
                 PLUGIN_NAME " plugin: runtime \"%s\" (socket %s): %s%s%s; "
                             "records after seq %" PRId64 " not accepted",
                 rt->name, rt->socket, sa_esc(res.message, msg, sizeof(msg)),
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
  sa_dispatch_ctx_t ctx;
  rt_collect_snap_t what;
  uint64_t lost;
  rt_state_t st;
  bool prepared;

  if (rt->state_file != NULL && !rt->state_loaded)
    sa_state_load(rt);
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
  sa_state_note_restored(rt, what, &snap);

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

  prepared = sa_state_prepare(rt, &st);
  sa_dispatch_snapshot(rt, &ctx, &snap);
  sa_dispatch_interval(rt, &ctx);
  if (rt->totals)
    sa_dispatch_totals(rt, &ctx);
  if (prepared)
    sa_state_commit(rt, &st);
  return 0;
}

/* -------------------------------------------------------------- config */

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
  if (sa_options_read(rt, ci, &where) != 0 || config_start(rt, &where) != 0) {
    sm_runtime_free(rt);
    return -1;
  }
  return config_register(rt, &where);
}

/* The <Plugin sagemaker_async> block: a read per <Runtime>. */
static int sm_async_config(oconfig_item_t *ci) {
  int status = 0;

  if (sa_options_check_state_files(ci) != 0)
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
