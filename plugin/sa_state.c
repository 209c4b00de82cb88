/* SPDX-License-Identifier: MIT */
/*
 * sa_state: the glue of a runtime's state file (StateFile) over rt_state:
 * the cursor loaded before the first read, and saved around the dispatch
 * of every read that moved it (see sa_state_prepare()).
 */
#include "sa.h"

#include <limits.h>
#include <time.h>

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
void sa_state_load(sm_runtime_t *rt) {
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
         rt->name, rt->state_file, sa_esc(st.boot_id, boot, sizeof(boot)),
         st.seq, (wall_ms() - (double)st.saved_ms) / 1000.0);
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
          rt->name, rt->state_file, sa_esc(err, text, sizeof(text)));
    break;
  case RT_STATE_INVALID: {
    char aside_err[PATH_MAX + 128];
    int moved =
        rt_state_set_aside(rt->state_file, aside_err, sizeof(aside_err));
    ERROR(PLUGIN_NAME " plugin: runtime \"%s\": state file %s is unusable: "
                      "%s; %s%s%s; counting from the runtime's next_seq "
                      "(requests completed while collectd was stopped are "
                      "not counted)",
          rt->name, rt->state_file, sa_esc(err, text, sizeof(text)),
          moved == 0 ? "moved aside to " : "could not move it aside: ",
          moved == 0 ? rt->state_file : aside_err,
          moved == 0 ? ".corrupt" : "");
    break;
  }
  }
}

/* Says how a restored cursor met the runtime, once. */
void sa_state_note_restored(sm_runtime_t *rt, rt_collect_snap_t what,
                            const rt_snapshot_t *snap) {
  char boot[TEXT_MAX];

  if (!rt->state_restored)
    return;
  rt->state_restored = false;
  if (what == RT_COLLECT_SAME_BOOT)
    INFO(PLUGIN_NAME " plugin: runtime \"%s\": boot %s as saved; reading on "
                     "from seq %" PRId64 " (next_seq %" PRId64 ")",
         rt->name, sa_esc(snap->boot_id, boot, sizeof(boot)),
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
bool sa_state_prepare(sm_runtime_t *rt, rt_state_t *st) {
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

void sa_state_commit(sm_runtime_t *rt, const rt_state_t *st) {
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
