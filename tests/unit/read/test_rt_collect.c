/* SPDX-License-Identifier: MIT */
/*
 * rt_collect: the cursor rules (first contact, restarts, ring overflow,
 * gaps), page staging that commits whole or not at all, and the interval
 * aggregate. Pages are built as the parser would hand them over.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_collect.h"
#include "rt_test_util.h"
#include "tap.h"

/* Stages the records [from, to] (skipping those in skip, if any) as one
 * page of boot, and commits it. */
static rt_collect_commit_t page(rt_collect_t *c, const char *boot,
                                int64_t first_seq, int64_t next_seq,
                                int64_t from, int64_t to, int64_t skip,
                                bool *more) {
  rt_page_t pg;
  memset(&pg, 0, sizeof(pg));
  pg.protocol = 1;
  snprintf(pg.boot_id, sizeof(pg.boot_id), "%s", boot);
  pg.first_seq = first_seq;
  pg.next_seq = next_seq;
  rt_collect_page_begin(c);
  for (int64_t s = from; s <= to; s++) {
    rt_record_t r;
    if (s == skip)
      continue;
    r = rec(s, s % 10 == 0 ? RT_OUTCOME_EXPIRED : RT_OUTCOME_SUCCESS);
    if (rt_collect_record_cb(&r, c) != 0) {
      rt_collect_page_abort(c);
      return RT_COLLECT_REJECTED;
    }
    pg.records++;
  }
  return rt_collect_page_commit(c, &pg, more);
}

/* A collector of pages of at most max records that made first contact
 * with boot at next_seq, in an interval begun. */
static rt_collect_t *contacted(size_t max, const char *boot, int64_t next_seq) {
  rt_collect_t *c = rt_collect_create(max);
  rt_snapshot_t s = snap(boot, next_seq);
  rt_collect_snapshot(c, &s);
  rt_collect_begin_interval(c);
  return c;
}

static void test_first_contact_and_paging(void) {
  rt_collect_t *c = rt_collect_create(100);
  rt_snapshot_t s = snap("boot-a", 51);
  bool more;
  int64_t first, last;

  T_EQ_INT(rt_collect_cursor(c), -1, "no cursor before the first snapshot");
  rt_collect_begin_interval(c);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_FIRST_CONTACT,
           "first snapshot");
  T_EQ_INT(rt_collect_cursor(c), 50, "first contact starts at next_seq - 1");
  T_EQ_INT(page(c, "boot-a", 1, 251, 51, 150, 0, &more), RT_COLLECT_COMMITTED,
           "page 51..150 committed");
  T_OK(more, "more after a full page");
  T_EQ_INT(rt_collect_cursor(c), 150, "cursor at the last record");
  T_EQ_INT(page(c, "boot-a", 1, 251, 151, 250, 0, &more), RT_COLLECT_COMMITTED,
           "page 151..250 committed");
  T_OK(!more, "caught up at next_seq - 1");
  T_EQ_INT(rt_collect_agg(c)->records, 200, "200 records this interval");
  T_EQ_INT(rt_collect_agg(c)->counts[SM_C_EXPIRED_REQUESTS], 20,
           "every tenth expired");
  T_EQ_INT(rt_collect_failed_num(c), 10, "failed records of the last page");
  T_EQ_INT(rt_collect_failed_get(c, 0)->seq, 160, "first failed of the page");
  T_OK(rt_collect_failed_get(c, 10) == NULL, "out of range");
  rt_collect_seq_range(c, &first, &last);
  T_EQ_INT(first, 51, "range first");
  T_EQ_INT(last, 250, "range last");
  T_EQ_INT(rt_collect_lost_interval(c), 0, "nothing lost");

  /* An idle interval: empty page, nothing more. */
  rt_collect_begin_interval(c);
  s = snap("boot-a", 251);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_SAME_BOOT, "same boot");
  T_EQ_INT(page(c, "boot-a", 1, 251, 1, 0, 0, &more), RT_COLLECT_COMMITTED,
           "empty page committed");
  T_OK(!more, "nothing more");
  T_EQ_INT(rt_collect_agg(c)->records, 0, "idle interval: zero records");
  rt_collect_seq_range(c, &first, &last);
  T_OK(first > last, "idle interval: empty range");
  rt_collect_destroy(c);
}

static void test_failed_page_is_not_accepted(void) {
  rt_collect_t *c = contacted(100, "b", 1);
  bool more;

  /* The transfer breaks after 5 records: abort, nothing counted. */
  rt_collect_page_begin(c);
  for (int64_t i = 1; i <= 5; i++) {
    rt_record_t r = rec(i, RT_OUTCOME_MODEL_ERROR);
    rt_collect_record_cb(&r, c);
  }
  rt_collect_page_abort(c);
  T_EQ_INT(rt_collect_cursor(c), 0, "aborted page: cursor stays");
  T_EQ_INT(rt_collect_agg(c)->records, 0, "aborted page: nothing counted");
  T_EQ_INT(rt_collect_failed_num(c), 0, "aborted page: no notifications");
  /* The same page again, whole. */
  T_EQ_INT(page(c, "b", 1, 11, 1, 10, 0, &more), RT_COLLECT_COMMITTED,
           "retried page committed");
  T_EQ_INT(rt_collect_agg(c)->records, 10, "each record counted once");

  /* Out-of-order and already-read records reject the page. */
  T_EQ_INT(page(c, "b", 1, 21, 5, 12, 0, &more), RT_COLLECT_REJECTED,
           "records at or below the cursor: rejected");
  T_OK(strstr(rt_collect_page_error(c), "not after the cursor") != NULL,
       "error says why: %s", rt_collect_page_error(c));
  T_EQ_INT(rt_collect_cursor(c), 10, "rejected page: cursor stays");
  T_EQ_INT(rt_collect_agg(c)->records, 10, "rejected page: nothing counted");
  rt_collect_page_begin(c);
  {
    rt_record_t r1 = rec(12, RT_OUTCOME_SUCCESS);
    rt_record_t r2 = rec(11, RT_OUTCOME_SUCCESS);
    T_OK(rt_collect_record_cb(&r1, c) == 0, "seq 12 staged");
    T_OK(rt_collect_record_cb(&r2, c) != 0, "seq 11 after 12 refused");
    T_OK(strstr(rt_collect_page_error(c), "ascending") != NULL,
         "error says ascending: %s", rt_collect_page_error(c));
  }
  rt_collect_page_abort(c);
  /* A record at or above next_seq contradicts the page header. */
  T_EQ_INT(page(c, "b", 1, 12, 11, 13, 0, &more), RT_COLLECT_REJECTED,
           "record beyond next_seq: rejected");
  /* An empty page that claims more exists. */
  T_EQ_INT(page(c, "b", 1, 30, 1, 0, 0, &more), RT_COLLECT_REJECTED,
           "empty page with records pending: rejected");
  T_EQ_INT(rt_collect_cursor(c), 10, "cursor still 10");
  /* More records than asked for. */
  {
    rt_collect_t *small = rt_collect_create(3);
    rt_snapshot_t s0 = snap("b", 1);
    rt_collect_snapshot(small, &s0);
    T_EQ_INT(page(small, "b", 1, 5, 1, 4, 0, &more), RT_COLLECT_REJECTED,
             "4 records when 3 were asked for: rejected");
    T_OK(strstr(rt_collect_page_error(small), "more than the 3") != NULL,
         "error names the limit: %s", rt_collect_page_error(small));
    rt_collect_destroy(small);
  }
  rt_collect_destroy(c);
}

static void test_ring_overflow_and_gaps(void) {
  rt_collect_t *c = contacted(1000, "b", 1);
  bool more;

  T_EQ_INT(page(c, "b", 1, 101, 1, 100, 0, &more), RT_COLLECT_COMMITTED,
           "1..100");
  /* The ring moved on: 101..300 are gone, first_seq is 301. */
  T_EQ_INT(page(c, "b", 301, 401, 301, 400, 0, &more), RT_COLLECT_COMMITTED,
           "after an overflow: 301..400 committed");
  T_EQ_INT(rt_collect_lost_interval(c), 200, "200 lost to the overflow");
  T_EQ_INT(rt_collect_agg(c)->records, 200, "200 counted");
  /* A gap inside a page (seq 450 missing). */
  T_EQ_INT(page(c, "b", 301, 501, 401, 500, 450, &more), RT_COLLECT_COMMITTED,
           "page with a gap");
  T_EQ_INT(rt_collect_lost_interval(c), 201, "the gap is lost too");
  T_EQ_INT(rt_collect_agg(c)->records, 299, "99 more counted");
  /* Empty page whose first_seq passed the cursor: all gone. */
  T_EQ_INT(page(c, "b", 601, 601, 1, 0, 0, &more), RT_COLLECT_COMMITTED,
           "empty page after an overflow");
  T_EQ_INT(rt_collect_cursor(c), 600, "cursor jumps to first_seq - 1");
  T_EQ_INT(rt_collect_lost_interval(c), 301, "100 more lost");
  T_EQ_INT(rt_collect_lost_total(c), 301, "lost in all");
  rt_collect_begin_interval(c);
  T_EQ_INT(rt_collect_lost_interval(c), 0, "interval count restarts");
  T_EQ_INT(rt_collect_lost_total(c), 301, "total stays");
  rt_collect_destroy(c);
}

static void test_restarts(void) {
  rt_collect_t *c = contacted(1000, "old", 11);
  rt_snapshot_t s;
  bool more;
  int64_t first, last;

  T_EQ_INT(page(c, "old", 1, 21, 11, 20, 0, &more), RT_COLLECT_COMMITTED,
           "old boot 11..20");
  /* The old boot completed up to 25 (a later snapshot said so) before it
   * restarted: 21..25 can never be read. */
  rt_collect_begin_interval(c);
  s = snap("old", 26);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_SAME_BOOT,
           "old boot goes on");
  T_EQ_INT(rt_collect_lost_interval(c), 0, "nothing lost yet");
  s = snap("new", 4);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_NEW_BOOT, "restart seen");
  T_EQ_INT(rt_collect_cursor(c), 0, "new boot read from its first record");
  T_EQ_STR(rt_collect_boot_id(c), "new", "cursor boot");
  T_EQ_INT(rt_collect_lost_interval(c), 5, "old boot's unread 21..25 lost");
  /* A page of the old boot arriving late is not accepted. */
  T_EQ_INT(page(c, "old", 1, 30, 21, 25, 0, &more), RT_COLLECT_BOOT_CHANGED,
           "page of another boot");
  T_EQ_INT(page(c, "new", 1, 4, 1, 3, 0, &more), RT_COLLECT_COMMITTED,
           "new boot 1..3");
  T_EQ_INT(rt_collect_agg(c)->records, 3, "3 records of the new boot");
  rt_collect_seq_range(c, &first, &last);
  T_EQ_INT(first, 1, "range starts at the new boot's first record");
  T_EQ_INT(last, 3, "range last");

  /* A runtime whose seqs go back without a new boot: follow it. */
  s = snap("new", 2);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_SEQ_WENT_BACK,
           "next_seq below the cursor");
  T_EQ_INT(rt_collect_cursor(c), 1, "cursor follows the runtime");

  T_EQ_INT(rt_collect_set_cursor(c, "restored", 77), 0, "set cursor");
  s = snap("restored", 80);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_SAME_BOOT,
           "restored cursor, same boot");
  T_EQ_INT(rt_collect_cursor(c), 77, "restored seq kept");
  T_EQ_INT(rt_collect_set_cursor(c, "x", -1), -1, "negative seq refused");
  rt_collect_destroy(c);
}

int main(void) {
  T_OK(rt_collect_create(0) == NULL, "a page of 0 records is refused");
  test_first_contact_and_paging();
  test_failed_page_is_not_accepted();
  test_ring_overflow_and_gaps();
  test_restarts();
  return t_done();
}
