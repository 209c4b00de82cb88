/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_member: the members of the runtime's documents (see
 * rt_parser_member.h and runtime-api.md).
 */
#include "rt_parser_member.h"

/* HTTP status codes a model container can answer (RFC 9110, 15). */
#define RT_STATUS_CODE_MIN 100
#define RT_STATUS_CODE_MAX 599

/* The name, type and place of field f of struct st, named as on the wire. */
#define MEMBER(st, f, t, req)                                                  \
  .name = #f, .len = sizeof(#f) - 1, .type = t, .required = req,               \
  .offset = offsetof(st, f)
#define NON_NEGATIVE .min = 0, .max = INT64_MAX
#define POSITIVE .min = 1, .max = INT64_MAX

static const rt_parser_member_t snapshot_members[] = {
    {MEMBER(rt_snapshot_t, protocol, RT_MT_PROTOCOL, true)},
    {MEMBER(rt_snapshot_t, boot_id, RT_MT_ID, true), .cap = RT_BOOT_ID_MAX},
    {MEMBER(rt_snapshot_t, endpoint_name, RT_MT_NAME, false),
     .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, variant_name, RT_MT_NAME, false),
     .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, instance_id, RT_MT_NAME, false), .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, instance_count, RT_MT_INT, true), POSITIVE},
    {MEMBER(rt_snapshot_t, time_ms, RT_MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, backlog_size, RT_MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, oldest_request_age_ms, RT_MT_INT, true),
     NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, in_flight, RT_MT_INT, false), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, max_concurrency, RT_MT_INT, false), NON_NEGATIVE},
    /* seqs start at 1, so the next one is at least 1 */
    {MEMBER(rt_snapshot_t, next_seq, RT_MT_INT, true), POSITIVE},
};

static const rt_parser_member_t page_members[] = {
    {MEMBER(rt_page_t, protocol, RT_MT_PROTOCOL, true)},
    {MEMBER(rt_page_t, boot_id, RT_MT_ID, true), .cap = RT_BOOT_ID_MAX},
    /* 0 is what a runtime that kept nothing yet may say */
    {MEMBER(rt_page_t, first_seq, RT_MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_page_t, next_seq, RT_MT_INT, true), POSITIVE},
    {.name = "requests", .len = 8, .type = RT_MT_REQUESTS, .required = true},
};

/* The error body's text goes to offset 0 of the parser's error_text. */
static const rt_parser_member_t error_members[] = {
    {.name = "error",
     .len = 5,
     .type = RT_MT_TEXT,
     .required = true,
     .cap = RT_ERROR_MAX},
};

#define RECORD(f, t, req) MEMBER(rt_record_t, f, t, req)

const rt_parser_member_t rt_parser_member_record[RT_REC_COUNT] = {
    [RT_REC_SEQ] = {RECORD(seq, RT_MT_INT, true), POSITIVE},
    [RT_REC_INFERENCE_ID] = {RECORD(inference_id, RT_MT_ID, true),
                             .cap = RT_INFERENCE_ID_MAX},
    [RT_REC_RECEIVED_MS] = {RECORD(received_ms, RT_MT_INT, true), NON_NEGATIVE},
    [RT_REC_COMPLETED_MS] = {RECORD(completed_ms, RT_MT_INT, true),
                             NON_NEGATIVE},
    [RT_REC_OUTCOME] = {RECORD(outcome, RT_MT_OUTCOME, true)},
    [RT_REC_BACKLOG_US] = {RECORD(backlog_us, RT_MT_INT, true), NON_NEGATIVE},
    [RT_REC_DOWNLOAD_US] = {RECORD(download_us, RT_MT_INT, false), NON_NEGATIVE,
                            .have = RT_HAVE_DOWNLOAD_US},
    [RT_REC_DOWNLOAD_OK] = {RECORD(download_ok, RT_MT_BOOL, false),
                            .have = RT_HAVE_DOWNLOAD_OK},
    [RT_REC_MODEL_US] = {RECORD(model_us, RT_MT_INT, false), NON_NEGATIVE,
                         .have = RT_HAVE_MODEL_US},
    [RT_REC_STATUS_CODE] = {RECORD(status_code, RT_MT_INT_C, false),
                            .min = RT_STATUS_CODE_MIN,
                            .max = RT_STATUS_CODE_MAX,
                            .have = RT_HAVE_STATUS_CODE},
    [RT_REC_UPLOAD_US] = {RECORD(upload_us, RT_MT_INT, false), NON_NEGATIVE,
                          .have = RT_HAVE_UPLOAD_US},
    [RT_REC_UPLOAD_OK] = {RECORD(upload_ok, RT_MT_BOOL, false),
                          .have = RT_HAVE_UPLOAD_OK},
    /* absent: RT_NOTIFY_ABSENT, no bit needed */
    [RT_REC_NOTIFICATION] = {RECORD(notification, RT_MT_NOTIFY, false)},
    [RT_REC_TOTAL_MS] = {RECORD(total_ms, RT_MT_INT, true), NON_NEGATIVE},
    [RT_REC_ERROR] = {RECORD(error, RT_MT_TEXT, false), .cap = RT_ERROR_MAX,
                      .have = RT_HAVE_ERROR},
};

/* Built by designated initializers: should two names ever share a slot,
 * the compiler says so (-Woverride-init, in -Wextra; clang's
 * -Winitializer-overrides). */
#define SLOT(len, first, last, idx)                                            \
  [RT_PARSER_MEMBER_HASH(len, first, last)] = (idx) + 1
const uint8_t rt_parser_member_slots[RT_PARSER_MEMBER_SLOTS] = {
    SLOT(3, 's', 'q', RT_REC_SEQ),
    SLOT(5, 'e', 'r', RT_REC_ERROR),
    SLOT(7, 'o', 'e', RT_REC_OUTCOME),
    SLOT(8, 'm', 's', RT_REC_MODEL_US),
    SLOT(8, 't', 's', RT_REC_TOTAL_MS),
    SLOT(9, 'u', 's', RT_REC_UPLOAD_US),
    SLOT(9, 'u', 'k', RT_REC_UPLOAD_OK),
    SLOT(10, 'b', 's', RT_REC_BACKLOG_US),
    SLOT(11, 'r', 's', RT_REC_RECEIVED_MS),
    SLOT(11, 's', 'e', RT_REC_STATUS_CODE),
    SLOT(11, 'd', 's', RT_REC_DOWNLOAD_US),
    SLOT(11, 'd', 'k', RT_REC_DOWNLOAD_OK),
    SLOT(12, 'i', 'd', RT_REC_INFERENCE_ID),
    SLOT(12, 'c', 's', RT_REC_COMPLETED_MS),
    SLOT(12, 'n', 'n', RT_REC_NOTIFICATION),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const rt_parser_member_t *rt_parser_member_top(rt_doc_t kind, size_t *count) {
  switch (kind) {
  case RT_DOC_SNAPSHOT:
    *count = COUNT(snapshot_members);
    return snapshot_members;
  case RT_DOC_REQUESTS:
    *count = COUNT(page_members);
    return page_members;
  case RT_DOC_ERROR:
    *count = COUNT(error_members);
    return error_members;
  }
  *count = 0;
  return NULL;
}

int rt_parser_member_top_lookup(const rt_parser_member_t *table, size_t count,
                                const unsigned char *key, size_t len) {
  for (size_t i = 0; i < count; i++)
    if (table[i].len == len && memcmp(table[i].name, key, len) == 0)
      return (int)i;
  return -1;
}

uint32_t rt_parser_member_required(const rt_parser_member_t *table,
                                   size_t count) {
  uint32_t mask = 0;

  for (size_t i = 0; i < count; i++)
    if (table[i].required)
      mask |= UINT32_C(1) << i;
  return mask;
}

const rt_parser_member_t *
rt_parser_member_first_missing(const rt_parser_member_t *table, size_t count,
                               uint32_t required, uint32_t seen) {
  uint32_t missing = required & ~seen;

  for (size_t i = 0; i < count && missing != 0; i++)
    if (missing & (UINT32_C(1) << i))
      return &table[i];
  return NULL;
}
