/* SPDX-License-Identifier: MIT */
/*
 * cw_dedup: repeats are refused, new and out-of-order times taken, the
 * window and expiry hold, and many series survive the table growing.
 */
#include <stdio.h>

#include "cw_dedup.h"
#include "tap.h"

int main(void) {
  cw_dedup_t *d = cw_dedup_create();
  char id[64];
  int fresh = 0, repeats = 0;

  T_EQ_INT(cw_dedup_check(d, "h/p/t", 100, 1), 1, "first time: new");
  T_EQ_INT(cw_dedup_check(d, "h/p/t", 100, 1), 0, "same time again: repeat");
  T_EQ_INT(cw_dedup_check(d, "h/p/t2", 100, 1), 1,
           "same time, other series: new");
  T_EQ_INT(cw_dedup_check(d, "h/p/t", 90, 1), 1, "out of order: new");
  T_EQ_INT(cw_dedup_check(d, "h/p/t", 90, 1), 0, "out-of-order repeat");

  /* The window: a repeat of something 16 values back is still caught;
   * 17 back has been forgotten. */
  for (uint64_t t = 1000; t < 1016; t++)
    cw_dedup_check(d, "w", t, 1);
  T_EQ_INT(cw_dedup_check(d, "w", 1000, 1), 0, "16 back: still a repeat");
  cw_dedup_check(d, "w", 1016, 1);
  T_EQ_INT(cw_dedup_check(d, "w", 1000, 1), 1, "17 back: forgotten");

  /* Many series: the table grows and keeps every one. */
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof(id), "host/plugin-%d/type", i);
    fresh += cw_dedup_check(d, id, 5, 2);
  }
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof(id), "host/plugin-%d/type", i);
    repeats += cw_dedup_check(d, id, 5, 2) == 0;
  }
  T_EQ_INT(fresh, 5000, "5000 series taken");
  T_EQ_INT(repeats, 5000, "and each repeat refused after growing");
  T_EQ_INT(cw_dedup_series(d), 5003, "series held");

  /* Expiry: series last seen at 1 go, those seen at 2 stay. */
  cw_dedup_expire(d, 100, 50);
  T_EQ_INT(cw_dedup_series(d), 0, "all older than max age forgotten");
  cw_dedup_check(d, "a", 1, 200);
  cw_dedup_check(d, "b", 1, 100);
  cw_dedup_expire(d, 210, 50);
  T_EQ_INT(cw_dedup_series(d), 1, "only the stale one forgotten");
  T_EQ_INT(cw_dedup_check(d, "a", 1, 210), 0, "the kept one remembers");
  T_EQ_INT(cw_dedup_check(d, "b", 1, 210), 1, "the forgotten one does not");

  /* The hash computed outside the caller's lock: the same table. */
  snprintf(id, sizeof(id), "a");
  T_OK(cw_dedup_hash(id) == cw_dedup_hash("a") &&
           cw_dedup_hash("a") != cw_dedup_hash("b"),
       "hash: of the text, not of the pointer");
  T_EQ_INT(cw_dedup_check_hashed(d, id, cw_dedup_hash(id), 1, 210), 0,
           "hashed: a repeat of what check took");
  T_EQ_INT(cw_dedup_check_hashed(d, "c", cw_dedup_hash("c"), 7, 210), 1,
           "hashed: a new series");
  T_EQ_INT(cw_dedup_check(d, "c", 7, 210), 0, "check sees what hashed took");
  cw_dedup_destroy(d);
  return t_done();
}
