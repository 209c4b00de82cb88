/* SPDX-License-Identifier: MIT */
/*
 * sa.h: what the files of sagemaker_async's collectd glue share: a
 * <Runtime> block's configuration and state (sm_runtime_t), and the
 * functions each file gives the others.
 *
 *   sagemaker_async.c  registration, a runtime's life (configure, set up,
 *                      free), the read callback, init
 *   sa_options.c       the options of a <Runtime> block
 *   sa_dispatch.c      a read's value lists and notifications
 *   sa_state.c         the state file: the cursor loaded and saved
 *
 * sagemaker_async.c calls the other three; they call none of each other.
 */
#ifndef SA_H
#define SA_H 1

#include "sm_collectd.h"
#include "sm_contract.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rt_client.h"
#include "rt_collect.h"
#include "rt_state.h"
#include "sm_metrics.h"
#include "sm_text.h"

#define PLUGIN_NAME SM_PLUGIN_ASYNC
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

/* Runtime text as it may appear in a log line: escaped, cut to size. */
static inline const char *sa_esc(const char *in, char *out, size_t size) {
  sm_text_escape_str(in, out, size);
  return out;
}

/* sa_dispatch.c. The names a read's values carry, and their time. */
typedef struct {
  const char *endpoint;
  const char *variant;
  const char *instance_id;
  cdtime_t time;
  cdtime_t interval;
} sa_dispatch_ctx_t;
/* The backlog gauges of the snapshot. */
void sa_dispatch_snapshot(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx,
                          const rt_snapshot_t *snap);
/* The interval's counts and statistic sets (with their sketches), and
 * LostRequests. */
void sa_dispatch_interval(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx);
/* The running totals (Totals), the interval's counts added to them. */
void sa_dispatch_totals(sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx);
/* A notification per request of the page just committed that the
 * collector kept (failed or expired; succeeded with NotifySuccess). */
void sa_dispatch_failed(const sm_runtime_t *rt, const sa_dispatch_ctx_t *ctx);

/* sa_state.c. Loads the state file once, before the first snapshot. */
void sa_state_load(sm_runtime_t *rt);
/* Says how a restored cursor met the runtime, once. */
void sa_state_note_restored(sm_runtime_t *rt, rt_collect_snap_t what,
                            const rt_snapshot_t *snap);
/* Around the dispatch of a read's values: prepare writes the cursor to a
 * temporary file (false: nothing to save, or not saved, complained
 * about), commit renames it into place. */
bool sa_state_prepare(sm_runtime_t *rt, rt_state_t *st);
void sa_state_commit(sm_runtime_t *rt, const rt_state_t *st);

/* sa_options.c: the defaults, then the options of a <Runtime> block into
 * rt, then the rules across them; 0, or -1 (logged, naming where). */
int sa_options_read(sm_runtime_t *rt, const oconfig_item_t *ci,
                    const sm_collectd_where_t *where);
/* Two runtimes saving their cursors to one file would overwrite each
 * other: 0 when every StateFile of the <Plugin> block ci is distinct. */
int sa_options_check_state_files(const oconfig_item_t *ci);

#endif /* SA_H */
