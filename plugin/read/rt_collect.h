/* SPDX-License-Identifier: MIT */
/*
 * rt_collect: what the read plugin knows about one runtime between reads,
 * without any I/O: the cursor (boot_id and last accepted seq), the page
 * being staged, the interval's aggregate and the failed records of the
 * last committed page.
 *
 * A requests page is staged record by record (rt_collect_record_cb is the
 * parser's record callback) and then committed whole or not at all: the
 * cursor never moves past a record that was not accepted, and a page that
 * failed half-way is asked for again on the next read.
 *
 * Cursor rules:
 *  - The first snapshot ever seen sets the cursor to its next_seq - 1:
 *    requests completed before the plugin started are not counted (they
 *    may have been counted by a previous run).
 *  - A snapshot or page with another boot_id means the runtime restarted:
 *    the cursor moves to seq 0 of the new boot, so the new boot is read
 *    from its first record. Records of the old boot that completed but were
 *    never read (known from the last next_seq seen) are counted as lost.
 *  - A page whose first_seq is above cursor + 1 (the ring overflowed) or
 *    that skips seqs counts the missing records as lost and goes on.
 */
#ifndef RT_COLLECT_H
#define RT_COLLECT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_agg.h"
#include "rt_parser.h"

typedef struct rt_collect_s rt_collect_t;

/* Results of rt_collect_snapshot(). */
typedef enum {
  RT_COLLECT_SAME_BOOT = 0,
  RT_COLLECT_FIRST_CONTACT, /* cursor set from the first snapshot */
  RT_COLLECT_NEW_BOOT,      /* the runtime restarted */
  RT_COLLECT_SEQ_WENT_BACK, /* same boot, but next_seq below the cursor */
} rt_collect_snap_t;

/* Results of rt_collect_page_commit(). */
typedef enum {
  RT_COLLECT_COMMITTED = 0, /* records accepted, cursor advanced */
  RT_COLLECT_BOOT_CHANGED,  /* page of another boot: nothing accepted */
  RT_COLLECT_REJECTED,      /* inconsistent page: nothing accepted */
} rt_collect_commit_t;

/* max_page_records bounds the records staged for one page (and so the
 * failed records kept): use the page limit asked of the runtime. */
rt_collect_t *rt_collect_create(size_t max_page_records);
void rt_collect_destroy(rt_collect_t *c);

/* Keeps a sketch per timing metric in the interval's aggregate (see
 * rt_agg_enable_sketches). Returns 0, or -1 (no sketches kept). */
int rt_collect_enable_sketches(rt_collect_t *c, double accuracy,
                               size_t max_buckets);

/* Starts an interval: clears the aggregate, the lost count and the seq
 * range; the cursor stays. */
void rt_collect_begin_interval(rt_collect_t *c);

/* Takes a snapshot into account (boot changes, first contact). */
rt_collect_snap_t rt_collect_snapshot(rt_collect_t *c,
                                      const rt_snapshot_t *snap);

/* The cursor: ask the runtime for records after this seq. -1 before the
 * first snapshot. */
int64_t rt_collect_cursor(const rt_collect_t *c);
const char *rt_collect_boot_id(const rt_collect_t *c);

/* Starts staging a page. */
void rt_collect_page_begin(rt_collect_t *c);

/* The parser's record callback (user_data: the rt_collect_t). Returns
 * non-zero, stopping the parse, when a record is out of order or there
 * are more records than max_page_records; rt_collect_page_error() says
 * which. */
int rt_collect_record_cb(const rt_record_t *rec, void *user_data);

/* Commits the staged page, whose header the parser read. On
 * RT_COLLECT_COMMITTED, *more tells whether the runtime holds more
 * records after the new cursor. On RT_COLLECT_REJECTED,
 * rt_collect_page_error() says why. */
rt_collect_commit_t rt_collect_page_commit(rt_collect_t *c,
                                           const rt_page_t *page, bool *more);

/* Drops the staged page (the fetch or the parse failed). */
void rt_collect_page_abort(rt_collect_t *c);

const char *rt_collect_page_error(const rt_collect_t *c);

/* The interval so far: records accepted since rt_collect_begin_interval(). */
const rt_agg_t *rt_collect_agg(const rt_collect_t *c);

/* Requests lost this interval (ring overflow, gaps, restart), and in all. */
uint64_t rt_collect_lost_interval(const rt_collect_t *c);
uint64_t rt_collect_lost_total(const rt_collect_t *c);

/* The seqs accepted this interval, all of one boot (a boot change ends the
 * paging of a read): *first > *last when none. */
void rt_collect_seq_range(const rt_collect_t *c, int64_t *first, int64_t *last);

/* The failed and expired records of the page committed last (and its
 * successful ones too after rt_collect_keep_successes()), in seq order;
 * valid until the next rt_collect_page_begin(). */
size_t rt_collect_failed_num(const rt_collect_t *c);
const rt_record_t *rt_collect_failed_get(const rt_collect_t *c, size_t i);

/* Also keep successful records for rt_collect_failed_get() (for a data
 * log with a line per request). */
void rt_collect_keep_successes(rt_collect_t *c, bool keep);

/* Restores a cursor (for a state file); boot_id must fit
 * RT_BOOT_ID_MAX. Returns 0, or -1 if it does not. */
int rt_collect_set_cursor(rt_collect_t *c, const char *boot_id, int64_t seq);

/* The same, with the highest next_seq that boot had announced (taken as
 * seq + 1 when lower): if the runtime turns out to have restarted, the
 * records from seq + 1 to known_next_seq - 1 are counted as lost, as they
 * would have been had the plugin run on. */
int rt_collect_restore(rt_collect_t *c, const char *boot_id, int64_t seq,
                       int64_t known_next_seq);

/* The highest next_seq seen for the cursor's boot (what a state file
 * keeps besides the cursor); 0 before the first snapshot. */
int64_t rt_collect_known_next_seq(const rt_collect_t *c);

#endif /* RT_COLLECT_H */
