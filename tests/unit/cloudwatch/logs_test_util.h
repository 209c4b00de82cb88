/* SPDX-License-Identifier: MIT */
/*
 * logs_test_util.h: what the data log's unit tests (test_cw_logs.c on the
 * queue, test_cw_stream_logs.c on the pipeline) share: the time they
 * start at, two destinations as SageMaker names them, and the adding of
 * numbered messages.
 */
#ifndef SM_TESTS_LOGS_TEST_UTIL_H
#define SM_TESTS_LOGS_TEST_UTIL_H 1

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cw_logs.h"
#include "tap.h"

/* 2025-11-26T20:00:30Z, in ms */
#define T0_MS ((int64_t)1764187230 * 1000)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

#define GROUP "/aws/sagemaker/Endpoints/ep-one"
#define STREAM "AllTraffic/i-0123456789abcdef0/data-log"
#define GROUP2 "/aws/sagemaker/Endpoints/ep-two"
#define STREAM2 "variant-b/i-0fedcba9876543210/data-log"

/* Adds message "<tag>-<i>" (i in 5 digits) at ts, received at T0_MS, to
 * stream s of group g, or (pending) to the events waiting under key s for
 * their stream's name; a result other than added fails a check. */
static inline void add_msg(cw_logs_queue_t *q, const char *g, const char *s,
                           bool pending, int64_t ts, const char *tag,
                           size_t i) {
  char msg[64];
  cw_logs_add_t r;
  snprintf(msg, sizeof(msg), "%s-%05zu", tag, i);
  r = pending ? cw_logs_queue_add_pending(q, g, s, ts, msg, T0_MS)
              : cw_logs_queue_add(q, g, s, ts, msg, T0_MS);
  if (r != CW_LOGS_ADDED)
    T_OK(0, "add%s %s: result %d", pending ? " pending" : "", msg, (int)r);
}

/* Adds message "<tag>-<i>" to stream s of group g. */
static inline void add_ok(cw_logs_queue_t *q, const char *g, const char *s,
                          int64_t ts, const char *tag, size_t i) {
  add_msg(q, g, s, false, ts, tag, i);
}

#endif /* SM_TESTS_LOGS_TEST_UTIL_H */
