/* SPDX-License-Identifier: MIT */
/*
 * rt_collect: cursor, page staging and interval aggregate of one runtime
 * (see rt_collect.h).
 */
#include "rt_collect.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_collect_s {
  /* cursor */
  bool have_cursor;
  char boot_id[RT_BOOT_ID_MAX + 1];
  int64_t seq;            /* last accepted (or skipped as lost) seq */
  int64_t known_next_seq; /* highest next_seq seen for this boot */

  /* interval */
  rt_agg_t agg;
  uint64_t lost_interval;
  uint64_t lost_total;
  int64_t range_first;
  int64_t range_last;

  /* page being staged */
  rt_agg_t page_agg;
  int64_t page_first; /* seq of the first staged record, 0 if none */
  int64_t page_last;  /* seq of the last staged record */
  uint64_t page_gaps; /* seqs skipped between staged records */
  bool page_failed;   /* the record callback refused a record */
  size_t page_records;
  size_t max_page_records;
  rt_record_t *failed; /* failed records of the page: max_page_records */
  size_t failed_num;
  bool keep_successes;
  char error[256];
};

rt_collect_t *rt_collect_create(size_t max_page_records) {
  rt_collect_t *c;

  if (max_page_records == 0)
    return NULL;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->failed = calloc(max_page_records, sizeof(*c->failed));
  if (c->failed == NULL) {
    free(c);
    return NULL;
  }
  c->max_page_records = max_page_records;
  c->seq = -1;
  rt_agg_reset(&c->page_agg);
  rt_collect_begin_interval(c);
  return c;
}

int rt_collect_enable_sketches(rt_collect_t *c, double accuracy,
                               size_t max_buckets) {
  /* The page keeps its samples, which its commit puts into the
   * interval's sketches in one pass per timing. */
  if (rt_agg_enable_sketches(&c->agg, accuracy, max_buckets) != 0 ||
      rt_agg_keep_samples(&c->page_agg, c->max_page_records) != 0) {
    rt_agg_free_sketches(&c->agg);
    rt_agg_free_samples(&c->page_agg);
    return -1;
  }
  return 0;
}

void rt_collect_destroy(rt_collect_t *c) {
  if (c == NULL)
    return;
  rt_agg_free_sketches(&c->agg);
  rt_agg_free_samples(&c->page_agg);
  free(c->failed);
  free(c);
}

void rt_collect_begin_interval(rt_collect_t *c) {
  rt_agg_reset(&c->agg);
  c->lost_interval = 0;
  c->range_first = 1;
  c->range_last = 0;
}

static void add_lost(rt_collect_t *c, uint64_t n) {
  c->lost_interval += n;
  c->lost_total += n;
}

/* Moves the cursor to seq 0 of a new boot, counting what the old boot
 * completed and we never read. */
static void switch_boot(rt_collect_t *c, const char *boot_id) {
  if (c->have_cursor && c->known_next_seq - 1 > c->seq)
    add_lost(c, (uint64_t)(c->known_next_seq - 1 - c->seq));
  snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id);
  c->seq = 0;
  c->known_next_seq = 1;
  c->have_cursor = true;
  /* A seq range never spans two boots. */
  c->range_first = 1;
  c->range_last = 0;
}

rt_collect_snap_t rt_collect_snapshot(rt_collect_t *c,
                                      const rt_snapshot_t *snap) {
  if (!c->have_cursor) {
    snprintf(c->boot_id, sizeof(c->boot_id), "%s", snap->boot_id);
    c->seq = snap->next_seq > 0 ? snap->next_seq - 1 : 0;
    c->known_next_seq = snap->next_seq;
    c->have_cursor = true;
    return RT_COLLECT_FIRST_CONTACT;
  }
  if (strcmp(c->boot_id, snap->boot_id) != 0) {
    switch_boot(c, snap->boot_id);
    if (snap->next_seq > c->known_next_seq)
      c->known_next_seq = snap->next_seq;
    return RT_COLLECT_NEW_BOOT;
  }
  if (snap->next_seq - 1 < c->seq) {
    /* The runtime broke its contract (seqs of one boot never go back).
     * Follow it rather than stall until it catches up with our cursor. */
    c->seq = snap->next_seq > 0 ? snap->next_seq - 1 : 0;
    c->known_next_seq = snap->next_seq;
    return RT_COLLECT_SEQ_WENT_BACK;
  }
  if (snap->next_seq > c->known_next_seq)
    c->known_next_seq = snap->next_seq;
  return RT_COLLECT_SAME_BOOT;
}

int64_t rt_collect_cursor(const rt_collect_t *c) {
  return c->have_cursor ? c->seq : -1;
}

const char *rt_collect_boot_id(const rt_collect_t *c) { return c->boot_id; }

void rt_collect_page_begin(rt_collect_t *c) {
  rt_agg_reset(&c->page_agg);
  c->page_first = 0;
  c->page_last = 0;
  c->page_gaps = 0;
  c->page_failed = false;
  c->page_records = 0;
  c->failed_num = 0;
  c->error[0] = 0;
}

/* The strings come last in a record, one after the other. */
_Static_assert(offsetof(rt_record_t, error) ==
                       offsetof(rt_record_t, inference_id) +
                           RT_INFERENCE_ID_MAX + 1 &&
                   sizeof(rt_record_t) - offsetof(rt_record_t, error) <
                       RT_ERROR_MAX + 1 + sizeof(int64_t),
               "rt_record_t: the strings must be its last fields");

/* A record's fields and its strings up to their ends, not the 770 bytes
 * of the strings' room: a page's failed records are copied as they come,
 * and a whole copy would sweep the cache at every one. */
static void record_copy(rt_record_t *dst, const rt_record_t *src) {
  memcpy(dst, src, offsetof(rt_record_t, inference_id));
  memcpy(dst->inference_id, src->inference_id, strlen(src->inference_id) + 1);
  memcpy(dst->error, src->error, strlen(src->error) + 1);
}

int rt_collect_record_cb(const rt_record_t *rec, void *user_data) {
  rt_collect_t *c = user_data;

  if (c->page_records >= c->max_page_records) {
    snprintf(c->error, sizeof(c->error),
             "page holds more than the %zu records asked for",
             c->max_page_records);
    c->page_failed = true;
    return -1;
  }
  if (rec->seq <= c->seq) {
    snprintf(c->error, sizeof(c->error),
             "record seq %" PRId64 " is not after the cursor %" PRId64,
             rec->seq, c->seq);
    c->page_failed = true;
    return -1;
  }
  if (c->page_records > 0 && rec->seq <= c->page_last) {
    snprintf(c->error, sizeof(c->error),
             "record seq %" PRId64 " follows seq %" PRId64
             " (records must be in ascending order)",
             rec->seq, c->page_last);
    c->page_failed = true;
    return -1;
  }
  if (c->page_records == 0)
    c->page_first = rec->seq;
  else
    c->page_gaps += (uint64_t)(rec->seq - c->page_last - 1);
  c->page_last = rec->seq;
  c->page_records++;
  /* Cannot be refused: the page's samples have room for max_page_records
   * records. */
  rt_agg_add_record(&c->page_agg, rec);
  if (c->keep_successes || rt_agg_record_failed(rec))
    record_copy(&c->failed[c->failed_num++], rec);
  return 0;
}

rt_collect_commit_t rt_collect_page_commit(rt_collect_t *c,
                                           const rt_page_t *page, bool *more) {
  uint64_t lost = 0;
  int64_t new_seq;

  *more = false;
  if (c->page_failed)
    return RT_COLLECT_REJECTED;
  if (!c->have_cursor || strcmp(c->boot_id, page->boot_id) != 0) {
    c->failed_num = 0;
    return RT_COLLECT_BOOT_CHANGED;
  }
  if (c->page_records > 0 && c->page_last >= page->next_seq) {
    snprintf(c->error, sizeof(c->error),
             "record seq %" PRId64 " is not below next_seq %" PRId64,
             c->page_last, page->next_seq);
    c->failed_num = 0;
    return RT_COLLECT_REJECTED;
  }

  if (c->page_records > 0) {
    lost = (uint64_t)(c->page_first - c->seq - 1) + c->page_gaps;
    new_seq = c->page_last;
  } else if (page->first_seq > c->seq + 1) {
    /* Nothing returned, and everything up to first_seq - 1 is gone. */
    new_seq = page->first_seq - 1;
    if (new_seq > page->next_seq - 1)
      new_seq = page->next_seq - 1;
    lost = new_seq > c->seq ? (uint64_t)(new_seq - c->seq) : 0;
  } else if (page->next_seq - 1 > c->seq) {
    snprintf(c->error, sizeof(c->error),
             "page is empty but next_seq %" PRId64
             " says records after %" PRId64 " exist",
             page->next_seq, c->seq);
    return RT_COLLECT_REJECTED;
  } else {
    new_seq = c->seq;
  }

  add_lost(c, lost);
  if (c->page_records > 0) {
    if (c->range_first > c->range_last)
      c->range_first = c->page_first;
    c->range_last = c->page_last;
  }
  c->seq = new_seq;
  if (page->next_seq > c->known_next_seq)
    c->known_next_seq = page->next_seq;
  rt_agg_merge(&c->agg, &c->page_agg);
  *more = c->page_records > 0 && c->seq < page->next_seq - 1;
  return RT_COLLECT_COMMITTED;
}

void rt_collect_page_abort(rt_collect_t *c) {
  c->failed_num = 0;
  c->page_records = 0;
}

const char *rt_collect_page_error(const rt_collect_t *c) { return c->error; }

const rt_agg_t *rt_collect_agg(const rt_collect_t *c) { return &c->agg; }

uint64_t rt_collect_lost_interval(const rt_collect_t *c) {
  return c->lost_interval;
}

uint64_t rt_collect_lost_total(const rt_collect_t *c) { return c->lost_total; }

void rt_collect_seq_range(const rt_collect_t *c, int64_t *first,
                          int64_t *last) {
  *first = c->range_first;
  *last = c->range_last;
}

size_t rt_collect_failed_num(const rt_collect_t *c) { return c->failed_num; }

const rt_record_t *rt_collect_failed_get(const rt_collect_t *c, size_t i) {
  return i < c->failed_num ? &c->failed[i] : NULL;
}

void rt_collect_keep_successes(rt_collect_t *c, bool keep) {
  c->keep_successes = keep;
}

int rt_collect_set_cursor(rt_collect_t *c, const char *boot_id, int64_t seq) {
  return rt_collect_restore(c, boot_id, seq, 0);
}

int rt_collect_restore(rt_collect_t *c, const char *boot_id, int64_t seq,
                       int64_t known_next_seq) {
  if (boot_id == NULL || strlen(boot_id) > RT_BOOT_ID_MAX || seq < 0 ||
      seq == INT64_MAX)
    return -1;
  snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id);
  c->seq = seq;
  c->known_next_seq = known_next_seq > seq ? known_next_seq : seq + 1;
  c->have_cursor = true;
  return 0;
}

int64_t rt_collect_known_next_seq(const rt_collect_t *c) {
  return c->have_cursor ? c->known_next_seq : 0;
}
