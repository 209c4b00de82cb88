/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for rt_parser.
 *
 * The first input byte picks the document kind (low 2 bits: snapshot,
 * requests, error body, or requests under small limits) and a chunk size
 * (high 6 bits: 1..64 bytes); the rest is the document. It is parsed whole
 * and in chunks, and both must agree on everything: results, message,
 * records handed over and the parsed values. A third parse stops half-way
 * and destroys the parser, for leaks. Whatever came out must also satisfy
 * the contract of rt_parser.h (valid values, strings within their caps
 * and ending on a UTF-8 boundary).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     plugin/read/rt_parser.c tests/fuzz/fuzz_rt_parser.c -lyajl
 */
#include "fuzz_common.h"
#include "rt_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Small limits for kind 3, so that the caps are reached often. */
#define FUZZ_SMALL_MAX_BYTES 2048
#define FUZZ_SMALL_MAX_DEPTH 6
#define FUZZ_SMALL_MAX_RECORDS 3
/* Inputs whose length is a multiple of this stop at record 2. */
#define FUZZ_STOP_EVERY 5
#define FUZZ_STOP_AT 2

typedef struct {
  uint64_t hash;
  size_t records;
  size_t stop_at;
  rt_parser_t *parser;
} digest_t;

typedef struct {
  int feed_rc;
  int finish_rc;
  char message[512];
  digest_t d;
  uint64_t result_hash; /* of the snapshot, page or error text */
} outcome_t;

/* s fits its cap and does not end inside a UTF-8 sequence. */
static void check_string(const char *s, size_t cap) {
  size_t len = strnlen(s, cap + 1);
  size_t lead = len;

  CHECK(len <= cap);
  if (len == 0)
    return;
  while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
    lead--;
  CHECK(lead > 0);
  unsigned char c = (unsigned char)s[lead - 1];
  size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  CHECK(len - (lead - 1) == want);
}

static int record_cb(const rt_record_t *r, void *ud) {
  digest_t *d = ud;
  uint64_t h = d->hash;
  const rt_page_t *page = rt_parser_page(d->parser);

  CHECK(page != NULL && page->records == d->records + 1);
  CHECK(r->seq >= 1);
  CHECK(r->inference_id[0] != '\0');
  check_string(r->inference_id, RT_INFERENCE_ID_MAX);
  check_string(r->error, RT_ERROR_MAX);
  CHECK(r->received_ms >= 0 && r->completed_ms >= 0 && r->backlog_us >= 0);
  CHECK(r->total_ms >= 0 && r->download_us >= 0 && r->model_us >= 0 &&
        r->upload_us >= 0);
  CHECK((unsigned)r->outcome < RT_OUTCOME_COUNT);
  CHECK((unsigned)r->notification <= RT_NOTIFY_FAILED);
  CHECK((r->have & RT_HAVE_STATUS_CODE)
            ? r->status_code >= 100 && r->status_code <= 599
            : r->status_code == 0);
  CHECK((r->have & RT_HAVE_ERROR) || r->error[0] == '\0');
  CHECK(rt_parser_outcome_name(r->outcome)[0] != '\0');
  (void)rt_parser_notify_name(r->notification);

  {
    const uint64_t nums[] = {
        (uint64_t)r->seq,          (uint64_t)r->received_ms,
        (uint64_t)r->completed_ms, (uint64_t)r->outcome,
        (uint64_t)r->backlog_us,   (uint64_t)r->download_us,
        (uint64_t)r->download_ok,  (uint64_t)r->model_us,
        (uint64_t)r->status_code,  (uint64_t)r->upload_us,
        (uint64_t)r->upload_ok,    (uint64_t)r->notification,
        (uint64_t)r->total_ms,     (uint64_t)r->have};
    h = fuzz_mix_nums(h, nums, sizeof(nums) / sizeof(nums[0]));
  }
  h = fuzz_mix_str(h, r->inference_id);
  h = fuzz_mix_str(h, r->error);
  d->hash = h;
  d->records++;
  return d->stop_at != 0 && d->records == d->stop_at;
}

static uint64_t result_hash(const rt_parser_t *p, rt_doc_t kind,
                            int finish_rc) {
  const rt_snapshot_t *s = rt_parser_snapshot(p);
  const rt_page_t *pg = rt_parser_page(p);
  const char *text = rt_parser_error_text(p);
  uint64_t h = FUZZ_HASH_INIT;

  CHECK((s != NULL) == (kind == RT_DOC_SNAPSHOT && finish_rc == 0));
  CHECK((text != NULL) == (kind == RT_DOC_ERROR && finish_rc == 0));
  CHECK((pg != NULL) == (kind == RT_DOC_REQUESTS));
  if (s != NULL) {
    CHECK(s->protocol == 1 && s->boot_id[0] != '\0');
    check_string(s->boot_id, RT_BOOT_ID_MAX);
    check_string(s->endpoint_name, RT_NAME_MAX);
    check_string(s->variant_name, RT_NAME_MAX);
    check_string(s->instance_id, RT_NAME_MAX);
    CHECK(s->instance_count >= 1 && s->next_seq >= 1 && s->time_ms >= 0);
    CHECK(s->backlog_size >= 0 && s->oldest_request_age_ms >= 0);
    CHECK(s->in_flight >= -1 && s->max_concurrency >= -1);
    const uint64_t nums[] = {(uint64_t)s->protocol,
                             (uint64_t)s->instance_count,
                             (uint64_t)s->time_ms,
                             (uint64_t)s->backlog_size,
                             (uint64_t)s->oldest_request_age_ms,
                             (uint64_t)s->in_flight,
                             (uint64_t)s->max_concurrency,
                             (uint64_t)s->next_seq};
    h = fuzz_mix_nums(h, nums, sizeof(nums) / sizeof(nums[0]));
    h = fuzz_mix_str(h, s->boot_id);
    h = fuzz_mix_str(h, s->endpoint_name);
    h = fuzz_mix_str(h, s->variant_name);
    h = fuzz_mix_str(h, s->instance_id);
  }
  if (pg != NULL) {
    check_string(pg->boot_id, RT_BOOT_ID_MAX);
    if (finish_rc == 0)
      CHECK(pg->protocol == 1 && pg->boot_id[0] != '\0' && pg->first_seq >= 0 &&
            pg->next_seq >= 1);
    h = fuzz_mix(h, (uint64_t)pg->protocol);
    h = fuzz_mix_str(h, pg->boot_id);
    h = fuzz_mix(h, (uint64_t)pg->first_seq);
    h = fuzz_mix(h, (uint64_t)pg->next_seq);
    h = fuzz_mix(h, pg->records);
  }
  if (text != NULL) {
    check_string(text, RT_ERROR_MAX);
    h = fuzz_mix_str(h, text);
  }
  return h;
}

static void parse(outcome_t *o, rt_doc_t kind, const rt_limits_t *lim,
                  const char *doc, size_t len, size_t chunk, size_t stop_at) {
  rt_parser_t *p;

  memset(o, 0, sizeof(*o));
  o->d.stop_at = stop_at;
  p = rt_parser_create(kind, record_cb, &o->d, lim);
  CHECK(p != NULL);
  o->d.parser = p;
  FEED_AND_FINISH(o, message, rt_parser, p, doc, len, chunk);
  o->result_hash = result_hash(p, kind, o->finish_rc);
  if (kind == RT_DOC_REQUESTS)
    CHECK(rt_parser_page(p)->records == o->d.records);
  rt_parser_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static outcome_t whole, chunked;
  rt_limits_t small = {FUZZ_SMALL_MAX_BYTES, FUZZ_SMALL_MAX_DEPTH,
                       FUZZ_SMALL_MAX_RECORDS};
  const rt_limits_t *lim = NULL;
  rt_doc_t kind;
  const char *doc;
  size_t len, chunk, stop_at;

  if (size < 1)
    return 0;
  switch (data[0] & 3) {
  case 0:
    kind = RT_DOC_SNAPSHOT;
    break;
  case 1:
    kind = RT_DOC_REQUESTS;
    break;
  case 2:
    kind = RT_DOC_ERROR;
    break;
  default:
    kind = RT_DOC_REQUESTS;
    lim = &small;
    break;
  }
  chunk = 1 + (size_t)(data[0] >> 2);
  doc = (const char *)data + 1;
  len = size - 1;
  stop_at = len % FUZZ_STOP_EVERY == 0 ? FUZZ_STOP_AT : 0;

  parse(&whole, kind, lim, doc, len, len > 0 ? len : 1, stop_at);
  parse(&chunked, kind, lim, doc, len, chunk, stop_at);
  if (whole.feed_rc != chunked.feed_rc ||
      whole.finish_rc != chunked.finish_rc ||
      strcmp(whole.message, chunked.message) != 0 ||
      whole.d.records != chunked.d.records || whole.d.hash != chunked.d.hash ||
      whole.result_hash != chunked.result_hash) {
    fprintf(stderr, "whole: %d/%d \"%s\" %zu records\n", whole.feed_rc,
            whole.finish_rc, whole.message, whole.d.records);
    fprintf(stderr, "chunks of %zu: %d/%d \"%s\" %zu records\n", chunk,
            chunked.feed_rc, chunked.finish_rc, chunked.message,
            chunked.d.records);
    __builtin_trap();
  }

  /* Abandoned half-way: destroy without finish. */
  {
    digest_t d = {0};
    rt_parser_t *p = rt_parser_create(kind, record_cb, &d, lim);
    CHECK(p != NULL);
    d.parser = p;
    (void)rt_parser_feed(p, doc, len / 2);
    rt_parser_destroy(p);
  }
  return 0;
}
