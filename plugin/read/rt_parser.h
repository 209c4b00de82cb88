/* SPDX-License-Identifier: MIT */
/*
 * rt_parser: a streaming parser for the async runtime's stats API
 * (GET /v1/snapshot, GET /v1/requests, and the {"error": ...} body of a
 * non-200 answer), built on yajl's callback interface.
 *
 * The parser is fed bytes as they arrive (any split, down to one byte a
 * call) and never does I/O. Request records are handed to a callback one
 * by one as each closes, so memory stays bounded whatever the page size:
 * the parser holds one record, the page header and yajl's token buffer,
 * which the byte cap bounds.
 *
 * Members the parser does not know are skipped, whatever their value, down
 * to a nesting cap. Known members must have the documented JSON type;
 * records must carry the members their outcome requires.
 *
 * collectd-free: unit tests and the fuzz target drive it directly.
 */
#ifndef SM_RUNTIME_PARSE_H
#define SM_RUNTIME_PARSE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* String caps (bytes, without the terminating NUL). A boot_id or
 * inference_id longer than this is an error; error texts, names and
 * instance IDs are truncated on a UTF-8 boundary. */
#define RT_BOOT_ID_MAX 128
#define RT_INFERENCE_ID_MAX 256
#define RT_NAME_MAX 256
#define RT_ERROR_MAX 512

/* Default caps; a caller may lower or raise them through rt_limits_t. */
#define RT_DEFAULT_MAX_BYTES (16u * 1024u * 1024u)
#define RT_DEFAULT_MAX_DEPTH 32u
#define RT_DEFAULT_MAX_RECORDS 10000u /* runtime-api.md: limit <= 10000 */

typedef enum {
  RT_DOC_SNAPSHOT, /* GET /v1/snapshot */
  RT_DOC_REQUESTS, /* GET /v1/requests */
  RT_DOC_ERROR,    /* body of a non-200 answer: {"error": "text"} */
} rt_doc_t;

typedef enum {
  RT_OUTCOME_SUCCESS = 0,
  RT_OUTCOME_MODEL_ERROR,
  RT_OUTCOME_DOWNLOAD_FAILED,
  RT_OUTCOME_UPLOAD_FAILED,
  RT_OUTCOME_EXPIRED,
  RT_OUTCOME_TIMEOUT,
  RT_OUTCOME_INTERNAL_ERROR,
  RT_OUTCOME_COUNT
} rt_outcome_t;

typedef enum {
  RT_NOTIFY_ABSENT = 0, /* member left out (expired requests) */
  RT_NOTIFY_NONE,
  RT_NOTIFY_SENT,
  RT_NOTIFY_FAILED,
} rt_notify_t;

/* Bits of rt_record_t.have: which optional members were present. */
#define RT_HAVE_DOWNLOAD_US (1u << 0)
#define RT_HAVE_DOWNLOAD_OK (1u << 1)
#define RT_HAVE_MODEL_US (1u << 2)
#define RT_HAVE_STATUS_CODE (1u << 3)
#define RT_HAVE_UPLOAD_US (1u << 4)
#define RT_HAVE_UPLOAD_OK (1u << 5)
#define RT_HAVE_ERROR (1u << 6)

/* The fixed-size fields first, the two strings last: a record's numbers
 * share two cache lines, and a copy may stop at each string's end (see
 * rt_collect). */
typedef struct {
  int64_t seq;
  int64_t received_ms;
  int64_t completed_ms;
  rt_outcome_t outcome;
  int64_t backlog_us;
  int64_t download_us;
  bool download_ok;
  int64_t model_us;
  int status_code;
  int64_t upload_us;
  bool upload_ok;
  rt_notify_t notification;
  int64_t total_ms;
  unsigned have; /* RT_HAVE_* */
  char inference_id[RT_INFERENCE_ID_MAX + 1];
  char error[RT_ERROR_MAX + 1];
} rt_record_t;

typedef struct {
  int64_t protocol;
  char boot_id[RT_BOOT_ID_MAX + 1];
  char endpoint_name[RT_NAME_MAX + 1]; /* "" when absent */
  char variant_name[RT_NAME_MAX + 1];  /* "" when absent */
  char instance_id[RT_NAME_MAX + 1];   /* "" when absent */
  int64_t instance_count;
  int64_t time_ms;
  int64_t backlog_size;
  int64_t oldest_request_age_ms;
  int64_t in_flight;       /* -1 when absent */
  int64_t max_concurrency; /* -1 when absent */
  int64_t next_seq;
} rt_snapshot_t;

typedef struct {
  int64_t protocol;
  char boot_id[RT_BOOT_ID_MAX + 1];
  int64_t first_seq;
  int64_t next_seq;
  size_t records; /* records handed to the callback */
} rt_page_t;

typedef struct {
  size_t max_bytes;   /* whole document; 0: RT_DEFAULT_MAX_BYTES */
  unsigned max_depth; /* JSON nesting; 0: RT_DEFAULT_MAX_DEPTH */
  size_t max_records; /* records in one page; 0: RT_DEFAULT_MAX_RECORDS */
} rt_limits_t;

/* Called once for each complete, valid record of a requests page, in
 * document order. Return 0 to go on; any other value stops the parse,
 * which then fails with the message "stopped by the record callback". The
 * record is only valid during the call. */
typedef int (*rt_record_cb)(const rt_record_t *rec, void *user_data);

typedef struct rt_parser_s rt_parser_t;

/* Creates a parser for one document of the given kind. cb may be NULL
 * (records are then validated and counted only); limits may be NULL.
 * Returns NULL when out of memory. */
rt_parser_t *rt_parser_create(rt_doc_t kind, rt_record_cb cb, void *user_data,
                              const rt_limits_t *limits);

/* Feeds the next len bytes. Returns 0 when the bytes were accepted, -1 on
 * error; after an error every further call returns -1 and
 * rt_parser_error() says what was wrong and at which byte offset. */
int rt_parser_feed(rt_parser_t *p, const char *buf, size_t len);

/* Ends the document. Returns 0 when it was complete and valid (for a
 * snapshot or page: every required member present, protocol 1), -1
 * otherwise, with the reason in rt_parser_error(). */
int rt_parser_finish(rt_parser_t *p);

/* The last error as a short sentence ("malformed JSON at byte 17: ...",
 * "record 3 (seq 1004): member model_us must be an integer", ...), or ""
 * when there was none. Owned by the parser. */
const char *rt_parser_error(const rt_parser_t *p);

/* The parsed snapshot, page header or error text. Valid after a
 * successful rt_parser_finish() on a document of that kind (the page
 * header also during the parse, as far as it has been read), NULL for a
 * document of another kind. Owned by the parser. */
const rt_snapshot_t *rt_parser_snapshot(const rt_parser_t *p);
const rt_page_t *rt_parser_page(const rt_parser_t *p);
const char *rt_parser_error_text(const rt_parser_t *p);

void rt_parser_destroy(rt_parser_t *p);

/* "success", "model_error", ... as in runtime-api.md. */
const char *rt_parser_outcome_name(rt_outcome_t o);
/* "none", "sent", "failed", or "" for RT_NOTIFY_ABSENT. */
const char *rt_parser_notify_name(rt_notify_t n);

#endif /* SM_RUNTIME_PARSE_H */
