/* SPDX-License-Identifier: MIT */
/*
 * rt_test_util.h: what the read layer's unit tests build their input
 * from, as the parser would hand it over: a snapshot of a boot, and the
 * record of a request of any outcome, every field the outcome has set
 * (runtime-api.md), its values made from its seq.
 */
#ifndef SM_TESTS_RT_TEST_UTIL_H
#define SM_TESTS_RT_TEST_UTIL_H 1

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rt_parser.h"

/* A snapshot of boot (protocol 1, one instance) announcing next_seq. */
static inline rt_snapshot_t snap(const char *boot, int64_t next_seq) {
  rt_snapshot_t s;
  memset(&s, 0, sizeof(s));
  s.protocol = 1;
  snprintf(s.boot_id, sizeof(s.boot_id), "%s", boot);
  s.instance_count = 1;
  s.next_seq = next_seq;
  return s;
}

/* The record of request seq with outcome o: inference ID "id-<seq>",
 * backlog 1000 * seq us, 10 * seq ms in all; unless expired, a download
 * of 100 + seq us (failed or not) and a notification sent; past the
 * download, a model time of 5000 + seq us; past the model (not a timeout
 * or an internal error), a status (400 or 500 for a model error, else
 * 200) and an upload of 300 + seq us. */
static inline rt_record_t rec(int64_t seq, rt_outcome_t o) {
  rt_record_t r;
  memset(&r, 0, sizeof(r));
  r.seq = seq;
  snprintf(r.inference_id, sizeof(r.inference_id), "id-%lld", (long long)seq);
  r.outcome = o;
  r.backlog_us = 1000 * seq;
  r.total_ms = 10 * seq;
  r.received_ms = 1764187200000;
  r.completed_ms = r.received_ms + r.total_ms;
  if (o == RT_OUTCOME_EXPIRED)
    return r;
  r.have |= RT_HAVE_DOWNLOAD_US | RT_HAVE_DOWNLOAD_OK;
  r.download_us = 100 + seq;
  r.download_ok = o != RT_OUTCOME_DOWNLOAD_FAILED;
  r.notification = RT_NOTIFY_SENT;
  if (o == RT_OUTCOME_DOWNLOAD_FAILED)
    return r;
  r.have |= RT_HAVE_MODEL_US;
  r.model_us = 5000 + seq;
  if (o == RT_OUTCOME_TIMEOUT || o == RT_OUTCOME_INTERNAL_ERROR)
    return r;
  r.have |= RT_HAVE_STATUS_CODE | RT_HAVE_UPLOAD_US | RT_HAVE_UPLOAD_OK;
  r.status_code =
      o == RT_OUTCOME_MODEL_ERROR ? 400 + (int)(seq % 2) * 100 : 200;
  r.upload_us = 300 + seq;
  r.upload_ok = o != RT_OUTCOME_UPLOAD_FAILED;
  return r;
}

#endif /* SM_TESTS_RT_TEST_UTIL_H */
