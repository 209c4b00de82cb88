/* SPDX-License-Identifier: MIT */
/*
 * rt_parser.c: the streaming parser for the async runtime's stats API
 * (see rt_parser.h and runtime-api.md).
 *
 * yajl's callback interface drives a small state machine. No DOM is built
 * and nothing is allocated per record: the record being read lives in the
 * parser and is reset field by field when the next one opens. Member names
 * are looked up in constant tables; a record's names, the hot path, through
 * a switch on the name's length.
 *
 * Choices the contract leaves open:
 *  - A known member given twice is an error ("duplicate member X"): "last
 *    one wins" would let a page hand its records over twice.
 *  - null is not accepted for a known member: the runtime leaves a member
 *    out when it has no value.
 *  - Numbers come through yajl_number, so that a double or an integer too
 *    big for int64_t is reported against the member it was given for. An
 *    unknown member's number is never converted: any JSON number is fine
 *    there.
 *  - A NUL byte (\u0000) in boot_id, inference_id, a name or instance_id is
 *    an error (those become identifiers); in an error text it is replaced
 *    with '?' so that the rest of the text survives.
 *  - Per-outcome members are not enforced beyond the seven every record
 *    carries: runtime-api.md says which members a stage that did not run
 *    leaves out, not which ones a stage that ran must give. Consumers go by
 *    the RT_HAVE_* bits.
 *  - A snapshot's in_flight and max_concurrency are -1 when absent.
 */
#include "rt_parser.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

/* The only version of the stats API this parser speaks (runtime-api.md). */
#define RT_PROTOCOL 1
/* HTTP status codes a model container can answer (RFC 9110, 15). */
#define RT_STATUS_CODE_MIN 100
#define RT_STATUS_CODE_MAX 599
/* Room for one error message; the longest is a record prefix plus a
 * quoted value of at most RT_QUOTE_MAX bytes, or yajl's short text. */
#define RT_MESSAGE_MAX 256
/* Bytes of an unknown enumeration value repeated in an error message. */
#define RT_QUOTE_MAX 32
/* Decimal digits that always fit an int64_t (INT64_MAX has 19). */
#define RT_SAFE_DIGITS 18
/* Longest UTF-8 sequence minus its lead byte: how far a cut backs off. */
#define RT_UTF8_MAX_CONT 3

typedef enum {
  MT_PROTOCOL, /* integer, must be RT_PROTOCOL */
  MT_INT,      /* int64_t within [min, max] */
  MT_INT_C,    /* int within [min, max] (status_code) */
  MT_BOOL,     /* bool */
  MT_ID,       /* non-empty string of at most cap bytes, no NUL */
  MT_NAME,     /* string cut to cap bytes, no NUL */
  MT_TEXT,     /* string cut to cap bytes, NUL replaced */
  MT_OUTCOME,  /* rt_outcome_t from its name */
  MT_NOTIFY,   /* rt_notify_t from its name */
  MT_REQUESTS, /* array of record objects */
} member_type_t;

typedef struct {
  const char *name;
  uint8_t len;  /* of name */
  uint8_t type; /* member_type_t */
  bool required;
  uint16_t offset; /* of the field in the target struct */
  uint16_t cap;    /* string members: bytes kept */
  unsigned have;   /* RT_HAVE_* set when present (records) */
  int64_t min;
  int64_t max;
} member_t;

/* The name, type and place of field f of struct st, named as on the wire. */
#define MEMBER(st, f, t, req)                                                  \
  .name = #f, .len = sizeof(#f) - 1, .type = t, .required = req,               \
  .offset = offsetof(st, f)
#define NON_NEGATIVE .min = 0, .max = INT64_MAX
#define POSITIVE .min = 1, .max = INT64_MAX

static const member_t snapshot_members[] = {
    {MEMBER(rt_snapshot_t, protocol, MT_PROTOCOL, true)},
    {MEMBER(rt_snapshot_t, boot_id, MT_ID, true), .cap = RT_BOOT_ID_MAX},
    {MEMBER(rt_snapshot_t, endpoint_name, MT_NAME, false), .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, variant_name, MT_NAME, false), .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, instance_id, MT_NAME, false), .cap = RT_NAME_MAX},
    {MEMBER(rt_snapshot_t, instance_count, MT_INT, true), POSITIVE},
    {MEMBER(rt_snapshot_t, time_ms, MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, backlog_size, MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, oldest_request_age_ms, MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, in_flight, MT_INT, false), NON_NEGATIVE},
    {MEMBER(rt_snapshot_t, max_concurrency, MT_INT, false), NON_NEGATIVE},
    /* seqs start at 1, so the next one is at least 1 */
    {MEMBER(rt_snapshot_t, next_seq, MT_INT, true), POSITIVE},
};

static const member_t page_members[] = {
    {MEMBER(rt_page_t, protocol, MT_PROTOCOL, true)},
    {MEMBER(rt_page_t, boot_id, MT_ID, true), .cap = RT_BOOT_ID_MAX},
    /* 0 is what a runtime that kept nothing yet may say */
    {MEMBER(rt_page_t, first_seq, MT_INT, true), NON_NEGATIVE},
    {MEMBER(rt_page_t, next_seq, MT_INT, true), POSITIVE},
    {.name = "requests", .len = 8, .type = MT_REQUESTS, .required = true},
};

/* The error body's text goes to offset 0 of the parser's error_text. */
static const member_t error_members[] = {
    {.name = "error",
     .len = 5,
     .type = MT_TEXT,
     .required = true,
     .cap = RT_ERROR_MAX},
};

/* Indexes into record_members, returned by record_lookup(). */
enum {
  R_SEQ,
  R_INFERENCE_ID,
  R_RECEIVED_MS,
  R_COMPLETED_MS,
  R_OUTCOME,
  R_BACKLOG_US,
  R_DOWNLOAD_US,
  R_DOWNLOAD_OK,
  R_MODEL_US,
  R_STATUS_CODE,
  R_UPLOAD_US,
  R_UPLOAD_OK,
  R_NOTIFICATION,
  R_TOTAL_MS,
  R_ERROR,
  R_COUNT
};

/* rec_seen has a bit for each. */
_Static_assert(R_COUNT <= 32, "record members must fit a uint32_t");

#define RECORD(f, t, req) MEMBER(rt_record_t, f, t, req)

static const member_t record_members[R_COUNT] = {
    [R_SEQ] = {RECORD(seq, MT_INT, true), POSITIVE},
    [R_INFERENCE_ID] = {RECORD(inference_id, MT_ID, true),
                        .cap = RT_INFERENCE_ID_MAX},
    [R_RECEIVED_MS] = {RECORD(received_ms, MT_INT, true), NON_NEGATIVE},
    [R_COMPLETED_MS] = {RECORD(completed_ms, MT_INT, true), NON_NEGATIVE},
    [R_OUTCOME] = {RECORD(outcome, MT_OUTCOME, true)},
    [R_BACKLOG_US] = {RECORD(backlog_us, MT_INT, true), NON_NEGATIVE},
    [R_DOWNLOAD_US] = {RECORD(download_us, MT_INT, false), NON_NEGATIVE,
                       .have = RT_HAVE_DOWNLOAD_US},
    [R_DOWNLOAD_OK] = {RECORD(download_ok, MT_BOOL, false),
                       .have = RT_HAVE_DOWNLOAD_OK},
    [R_MODEL_US] = {RECORD(model_us, MT_INT, false), NON_NEGATIVE,
                    .have = RT_HAVE_MODEL_US},
    [R_STATUS_CODE] = {RECORD(status_code, MT_INT_C, false),
                       .min = RT_STATUS_CODE_MIN, .max = RT_STATUS_CODE_MAX,
                       .have = RT_HAVE_STATUS_CODE},
    [R_UPLOAD_US] = {RECORD(upload_us, MT_INT, false), NON_NEGATIVE,
                     .have = RT_HAVE_UPLOAD_US},
    [R_UPLOAD_OK] = {RECORD(upload_ok, MT_BOOL, false),
                     .have = RT_HAVE_UPLOAD_OK},
    /* absent: RT_NOTIFY_ABSENT, no bit needed */
    [R_NOTIFICATION] = {RECORD(notification, MT_NOTIFY, false)},
    [R_TOTAL_MS] = {RECORD(total_ms, MT_INT, true), NON_NEGATIVE},
    [R_ERROR] = {RECORD(error, MT_TEXT, false), .cap = RT_ERROR_MAX,
                 .have = RT_HAVE_ERROR},
};

static const char *const outcome_names[RT_OUTCOME_COUNT] = {
    [RT_OUTCOME_SUCCESS] = "success",
    [RT_OUTCOME_MODEL_ERROR] = "model_error",
    [RT_OUTCOME_DOWNLOAD_FAILED] = "download_failed",
    [RT_OUTCOME_UPLOAD_FAILED] = "upload_failed",
    [RT_OUTCOME_EXPIRED] = "expired",
    [RT_OUTCOME_TIMEOUT] = "timeout",
    [RT_OUTCOME_INTERNAL_ERROR] = "internal_error",
};

static const char *const notify_names[] = {
    [RT_NOTIFY_ABSENT] = "", /* no name on the wire */
    [RT_NOTIFY_NONE] = "none",
    [RT_NOTIFY_SENT] = "sent",
    [RT_NOTIFY_FAILED] = "failed",
};
#define NOTIFY_COUNT (sizeof(notify_names) / sizeof(notify_names[0]))

static const char *const kind_names[] = {
    [RT_DOC_SNAPSHOT] = "snapshot",
    [RT_DOC_REQUESTS] = "page",
    [RT_DOC_ERROR] = "error body",
};

typedef enum {
  ST_START,     /* before the top-level value */
  ST_TOP,       /* in the top-level object, before a key or its end */
  ST_TOP_VALUE, /* after a top-level key */
  ST_ARRAY,     /* in the requests array, before a record or its end */
  ST_REC,       /* in a record, before a key or its end */
  ST_REC_VALUE, /* after a record key */
  ST_SKIP,      /* inside an unknown member's object or array */
  ST_DONE,      /* after the top-level object */
} state_t;

typedef enum { RES_RUNNING, RES_DONE, RES_FAILED } result_t;

struct rt_parser_s {
  yajl_handle yajl;
  rt_doc_t kind;
  rt_record_cb cb;
  void *user_data;
  size_t max_bytes;
  size_t max_records;
  unsigned max_depth;

  result_t result;
  size_t fed;         /* bytes given to yajl so far */
  unsigned depth;     /* open objects and arrays */
  unsigned skip_base; /* depth at which the skipped value ends */
  state_t state;
  state_t skip_return; /* state once the skipped value ends */
  bool in_record;

  const member_t *top; /* the top-level object's member table */
  size_t top_count;
  char *top_base; /* its target struct */
  uint32_t top_required;
  uint32_t top_seen;
  uint32_t rec_required;
  uint32_t rec_seen;
  /* The member that followed each member (R_COUNT: the record's start) in
   * the records before: the runtime writes its members in one order, so
   * the next key is nearly always the one guessed, checked with one
   * compare that does not wait for a table look-up. */
  uint8_t next_guess[R_COUNT + 1];
  uint8_t prev_key;       /* the last known member of this record, or R_COUNT */
  const member_t *member; /* whose value comes next; NULL: unknown member */

  rt_record_t rec;
  rt_snapshot_t snap;
  rt_page_t page;
  char error_text[RT_ERROR_MAX + 1];
  char message[RT_MESSAGE_MAX];
};

/* Records the first error; returns 0 so that a callback can return it and
 * make yajl stop. with_where prefixes the place: the document kind, or the
 * record with its seq once known. */
__attribute__((format(printf, 3, 0))) static int
vfail(rt_parser_t *p, bool with_where, const char *fmt, va_list ap) {
  size_t used = 0;

  if (p->result == RES_FAILED)
    return 0;
  p->result = RES_FAILED;

  if (with_where) {
    int n;
    if (p->in_record && p->rec.seq > 0)
      n = snprintf(p->message, sizeof(p->message),
                   "record %zu (seq %" PRId64 "): ", p->page.records + 1,
                   p->rec.seq);
    else if (p->in_record)
      n = snprintf(p->message, sizeof(p->message),
                   "record %zu: ", p->page.records + 1);
    else
      n = snprintf(p->message, sizeof(p->message), "%s: ", kind_names[p->kind]);
    if (n > 0 && (size_t)n < sizeof(p->message))
      used = (size_t)n;
  }
  vsnprintf(p->message + used, sizeof(p->message) - used, fmt, ap);
  return 0;
}

__attribute__((format(printf, 2, 3))) static int fail(rt_parser_t *p,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(p, false, fmt, ap);
  va_end(ap);
  return 0;
}

__attribute__((format(printf, 2, 3))) static int
fail_where(rt_parser_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(p, true, fmt, ap);
  va_end(ap);
  return 0;
}

/* yajl moves the offset of this one error back to the start of the token
 * it did not expect, but only when that token lies wholly in the last
 * chunk: for a token split across two feeds it says 0, so the offset would
 * depend on how the bytes came. Knowing where the value before it ended
 * would cost a call into yajl for every value of a page (4% of the parse),
 * so this error names the member it came after instead. */
#define YAJL_MSG_AFTER_VALUE "after key and value, inside map"

/* yajl's short message ("parse error: ..."), without its newline. The
 * verbose form is never asked for: it quotes the input. */
static void fail_yajl(rt_parser_t *p, size_t offset) {
  unsigned char *text = yajl_get_error(p->yajl, 0, NULL, 0);
  const char *msg = text != NULL ? (const char *)text : "unknown error";
  size_t len = strlen(msg);

  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
    len--;
  if (strstr(msg, YAJL_MSG_AFTER_VALUE) == NULL)
    fail(p, "malformed JSON at byte %zu: %.*s", offset, (int)len, msg);
  else if (p->state == ST_SKIP)
    fail_where(p, "malformed JSON inside an unknown member: %.*s", (int)len,
               msg);
  else if (p->member == NULL)
    fail_where(p, "malformed JSON after an unknown member: %.*s", (int)len,
               msg);
  else
    fail_where(p, "malformed JSON after member %s: %.*s", p->member->name,
               (int)len, msg);
  if (text != NULL)
    yajl_free_error(p->yajl, text);
}

static int type_error(rt_parser_t *p) {
  const member_t *m = p->member;
  const char *want;

  switch ((member_type_t)m->type) {
  case MT_PROTOCOL:
  case MT_INT:
  case MT_INT_C:
    want = "an integer";
    break;
  case MT_BOOL:
    want = "true or false";
    break;
  case MT_REQUESTS:
    want = "an array";
    break;
  default:
    want = "a string";
    break;
  }
  return fail_where(p, "member %s must be %s", m->name, want);
}

/* Length of the longest prefix of s[0..len) of at most cap bytes that does
 * not end inside a UTF-8 sequence. yajl has checked the encoding, so at most
 * RT_UTF8_MAX_CONT continuation bytes need to be given back. */
static size_t utf8_cut(const unsigned char *s, size_t len, size_t cap) {
  size_t n = cap;
  int back = 0;

  if (len <= cap)
    return len;
  /* s[n] is the first byte left out: while it continues a sequence, that
   * sequence's first bytes must go too. */
  while (n > 0 && back < RT_UTF8_MAX_CONT && (s[n] & 0xC0) == 0x80) {
    n--;
    back++;
  }
  return n;
}

/* Copies a value for an error message: cut short, quotes, backslashes and
 * control characters replaced, so that the message stays one plain line. */
static void quote_value(char *dst, size_t size, const unsigned char *s,
                        size_t len) {
  size_t n = utf8_cut(s, len, size - 1);

  for (size_t i = 0; i < n; i++)
    dst[i] = (s[i] < 0x20 || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
                 ? '?'
                 : (char)s[i];
  dst[n] = '\0';
}

enum { INT_OK, INT_NOT_INTEGER, INT_OVERFLOW };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RT_SWAR 1
/* Each byte of a word. */
#define BYTES(b) (UINT64_C(0x0101010101010101) * (b))

/* Whether the 8 bytes of w (read in text order, the first in the lowest
 * byte) are all digits. The lexer has checked the text to be a JSON
 * number, whose other bytes ('-', '+', '.', 'e', 'E') all lie outside
 * 0x30..0x3F: a high nibble of 3 is enough. */
static inline bool eight_digits(uint64_t w) {
  return (w & BYTES(0xF0)) == BYTES(0x30);
}

/* The value of 8 ASCII digits, the first the most significant: digits
 * paired (d0 * 10 + d1 in each 16-bit lane), pairs paired (4 digits in each
 * 32-bit lane), then the two halves: three multiplications, not eight. */
static inline uint64_t eight_value(uint64_t w) {
  w -= BYTES('0');
  w = (w * 10 + (w >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
  w = (w * 100 + (w >> 16)) & UINT64_C(0x0000FFFF0000FFFF);
  return (w & UINT64_C(0xFFFFFFFF)) * 10000 + (w >> 32);
}
#endif

/* Converts yajl's number text, which the lexer has checked to be a JSON
 * number: a '.', 'e' or 'E' makes it a double, whatever its value. Every
 * number of a page goes through here, so the common case (no more digits
 * than can never overflow) skips the overflow check of each digit, and
 * takes eight digits at a time where it can (the 13 of a time in ms). */
static inline int parse_int(const char *text, size_t len, int64_t *out) {
  const unsigned char *s = (const unsigned char *)text;
  uint64_t v = 0;
  bool neg = len > 0 && s[0] == '-';
  bool overflow = false;
  size_t i = neg ? 1 : 0;

  if (i == len)
    return INT_NOT_INTEGER;
  if (len - i <= RT_SAFE_DIGITS) {
#ifdef RT_SWAR
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!eight_digits(w))
        return INT_NOT_INTEGER;
      v = v * 100000000 + eight_value(w);
      i += 8;
    }
#endif
    for (; i < len; i++) {
      unsigned d = (unsigned)s[i] - '0';
      if (d > 9)
        return INT_NOT_INTEGER;
      v = v * 10 + d;
    }
  } else {
    for (; i < len; i++) {
      unsigned d = (unsigned)s[i] - '0';
      if (d > 9)
        return INT_NOT_INTEGER;
      if (v > ((uint64_t)INT64_MAX - d) / 10)
        overflow = true; /* go on: a later '.' or 'e' makes it a double */
      else
        v = v * 10 + d;
    }
  }
  if (overflow)
    return INT_OVERFLOW;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return INT_OK;
}

/* Where a scalar goes. Returns 2 with *base set when p->member takes it,
 * 1 when it is to be ignored, 0 after an error. */
static inline int scalar_target(rt_parser_t *p, char **base) {
  switch (p->state) {
  case ST_SKIP:
    return 1;
  case ST_TOP_VALUE:
    p->state = ST_TOP;
    if (p->member == NULL)
      return 1;
    *base = p->top_base;
    return 2;
  case ST_REC_VALUE:
    p->state = ST_REC;
    if (p->member == NULL)
      return 1;
    *base = (char *)&p->rec;
    return 2;
  case ST_ARRAY:
    return fail(p, "record %zu: not a JSON object", p->page.records + 1);
  case ST_START:
    return fail_where(p, "the document is not a JSON object");
  default:
    /* yajl gives no value where a key or the end is due. */
    return fail_where(p, "unexpected value");
  }
}

/* The field of member m in the struct at base: offsetof() gave its
 * alignment, which a char pointer cast would hide. */
static inline void *field(char *base, const member_t *m) {
  return base + m->offset;
}

static void record_reset(rt_record_t *r) {
  /* Field by field: clearing the whole struct would cost its 800 bytes of
   * string buffers for every record. */
  r->seq = 0;
  r->inference_id[0] = '\0';
  r->received_ms = 0;
  r->completed_ms = 0;
  r->outcome = RT_OUTCOME_SUCCESS;
  r->backlog_us = 0;
  r->download_us = 0;
  r->download_ok = false;
  r->model_us = 0;
  r->status_code = 0;
  r->upload_us = 0;
  r->upload_ok = false;
  r->notification = RT_NOTIFY_ABSENT;
  r->total_ms = 0;
  r->error[0] = '\0';
  r->have = 0;
}

/* The first required member of table missing from seen, or NULL. */
static const member_t *first_missing(const member_t *table, size_t count,
                                     uint32_t required, uint32_t seen) {
  uint32_t missing = required & ~seen;

  for (size_t i = 0; i < count && missing != 0; i++)
    if (missing & (UINT32_C(1) << i))
      return &table[i];
  return NULL;
}

static int record_start(rt_parser_t *p) {
  if (p->page.records >= p->max_records)
    return fail_where(p, "more than %zu records", p->max_records);
  record_reset(&p->rec);
  p->rec_seen = 0;
  p->prev_key = R_COUNT;
  p->in_record = true;
  p->state = ST_REC;
  return 1;
}

static int record_end(rt_parser_t *p) {
  const member_t *m =
      first_missing(record_members, R_COUNT, p->rec_required, p->rec_seen);

  if (m != NULL)
    return fail_where(p, "missing member %s", m->name);
  p->in_record = false;
  p->state = ST_ARRAY;
  p->page.records++;
  if (p->cb != NULL && p->cb(&p->rec, p->user_data) != 0)
    return fail(p, "stopped by the record callback");
  return 1;
}

/* A record's member names hash perfectly on their length, first and last
 * bytes into RECORD_SLOTS slots (the constants were searched for that).
 * The table is built by designated initializers: should two names ever
 * share a slot, the compiler says so (-Woverride-init, in -Wextra; clang's
 * -Winitializer-overrides). */
#define RECORD_SLOTS 32
#define RECORD_HASH(len, first, last)                                          \
  (((len) + 5u * (first) + 17u * (last)) & (RECORD_SLOTS - 1))
/* Shortest and longest record member names. */
#define RECORD_NAME_MIN 3
#define RECORD_NAME_MAX 12

/* Slot -> index into record_members + 1; 0: no member hashes there. */
static const uint8_t record_slots[RECORD_SLOTS] = {
    [RECORD_HASH(3, 's', 'q')] = R_SEQ + 1,
    [RECORD_HASH(5, 'e', 'r')] = R_ERROR + 1,
    [RECORD_HASH(7, 'o', 'e')] = R_OUTCOME + 1,
    [RECORD_HASH(8, 'm', 's')] = R_MODEL_US + 1,
    [RECORD_HASH(8, 't', 's')] = R_TOTAL_MS + 1,
    [RECORD_HASH(9, 'u', 's')] = R_UPLOAD_US + 1,
    [RECORD_HASH(9, 'u', 'k')] = R_UPLOAD_OK + 1,
    [RECORD_HASH(10, 'b', 's')] = R_BACKLOG_US + 1,
    [RECORD_HASH(11, 'r', 's')] = R_RECEIVED_MS + 1,
    [RECORD_HASH(11, 's', 'e')] = R_STATUS_CODE + 1,
    [RECORD_HASH(11, 'd', 's')] = R_DOWNLOAD_US + 1,
    [RECORD_HASH(11, 'd', 'k')] = R_DOWNLOAD_OK + 1,
    [RECORD_HASH(12, 'i', 'd')] = R_INFERENCE_ID + 1,
    [RECORD_HASH(12, 'c', 's')] = R_COMPLETED_MS + 1,
    [RECORD_HASH(12, 'n', 'n')] = R_NOTIFICATION + 1,
};

/* Whether len bytes at key spell name (len from 3 to 16): two
 * overlapping words each side rather than a call to memcmp. */
static inline bool name_equal(const unsigned char *key, const char *name,
                              size_t len) {
  uint64_t a, b, c, d;
  uint32_t e, f, g, h;

  if (len >= 8) {
    memcpy(&a, key, 8);
    memcpy(&b, name, 8);
    memcpy(&c, key + len - 8, 8);
    memcpy(&d, name + len - 8, 8);
    return ((a ^ b) | (c ^ d)) == 0;
  }
  if (len >= 4) {
    memcpy(&e, key, 4);
    memcpy(&f, name, 4);
    memcpy(&g, key + len - 4, 4);
    memcpy(&h, name + len - 4, 4);
    return ((e ^ f) | (g ^ h)) == 0;
  }
  return memcmp(key, name, len) == 0;
}

/* The index into record_members of a key, or -1: one slot, one compare. */
static inline int record_lookup(const unsigned char *key, size_t len) {
  const member_t *m;
  unsigned slot;

  if (len < RECORD_NAME_MIN || len > RECORD_NAME_MAX)
    return -1;
  slot = record_slots[RECORD_HASH((unsigned)len, key[0], key[len - 1])];
  if (slot == 0)
    return -1;
  m = &record_members[slot - 1];
  return m->len == len && name_equal(key, m->name, len) ? (int)slot - 1 : -1;
}

/* Top-level names are looked up once a document: a plain scan will do. */
static int top_lookup(const rt_parser_t *p, const unsigned char *key,
                      size_t len) {
  for (size_t i = 0; i < p->top_count; i++)
    if (p->top[i].len == len && memcmp(p->top[i].name, key, len) == 0)
      return (int)i;
  return -1;
}

/* Any key; duplicates and unknown record keys included. */
__attribute__((noinline)) static int
map_key(rt_parser_t *p, const unsigned char *key, size_t len) {
  const member_t *table;
  uint32_t *seen;
  int idx;

  switch (p->state) {
  case ST_SKIP:
    return 1;
  case ST_REC:
    idx = record_lookup(key, len);
    table = record_members;
    seen = &p->rec_seen;
    p->state = ST_REC_VALUE;
    break;
  case ST_TOP:
    idx = top_lookup(p, key, len);
    table = p->top;
    seen = &p->top_seen;
    p->state = ST_TOP_VALUE;
    break;
  default:
    return fail_where(p, "unexpected key");
  }

  if (idx < 0) {
    p->member = NULL;
    return 1;
  }
  if (*seen & (UINT32_C(1) << idx))
    return fail_where(p, "duplicate member %s", table[idx].name);
  *seen |= UINT32_C(1) << idx;
  p->member = &table[idx];
  return 1;
}

/* A record's known keys take the short way: the member guessed from the
 * records before, else the perfect hash. */
static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
  rt_parser_t *p = ctx;

  if (p->state == ST_REC) {
    unsigned guess = p->next_guess[p->prev_key];
    const member_t *g = &record_members[guess];
    int idx;

    if (g->len == len && name_equal(key, g->name, len))
      idx = (int)guess;
    else {
      idx = record_lookup(key, len);
      if (idx >= 0)
        p->next_guess[p->prev_key] = (uint8_t)idx;
    }
    if (idx >= 0 && !(p->rec_seen & (UINT32_C(1) << idx))) {
      p->rec_seen |= UINT32_C(1) << idx;
      p->prev_key = (uint8_t)idx;
      p->member = &record_members[idx];
      p->state = ST_REC_VALUE;
      return 1;
    }
  }
  return map_key(p, key, len);
}

static int container_start(rt_parser_t *p, bool is_array) {
  if (++p->depth > p->max_depth)
    return fail_where(p, "nesting deeper than %u levels", p->max_depth);

  switch (p->state) {
  case ST_SKIP:
    return 1;
  case ST_START:
    if (is_array)
      return fail_where(p, "the document is not a JSON object");
    p->state = ST_TOP;
    return 1;
  case ST_TOP_VALUE:
  case ST_REC_VALUE:
    if (p->member == NULL) {
      p->skip_return = p->state == ST_TOP_VALUE ? ST_TOP : ST_REC;
      p->skip_base = p->depth - 1;
      p->state = ST_SKIP;
      return 1;
    }
    if (is_array && p->member->type == MT_REQUESTS) {
      p->state = ST_ARRAY;
      return 1;
    }
    return type_error(p);
  case ST_ARRAY:
    if (is_array)
      return fail(p, "record %zu: not a JSON object", p->page.records + 1);
    return record_start(p);
  default:
    return fail_where(p, "unexpected value");
  }
}

/* yajl pairs every end with its start, so the state says which one it is. */
static int container_end(rt_parser_t *p) {
  p->depth--;
  switch (p->state) {
  case ST_SKIP:
    if (p->depth == p->skip_base)
      p->state = p->skip_return;
    return 1;
  case ST_TOP:
    p->state = ST_DONE;
    return 1;
  case ST_ARRAY:
    p->state = ST_TOP;
    return 1;
  case ST_REC:
    return record_end(p);
  default:
    return fail_where(p, "unexpected end of a value");
  }
}

static int on_start_map(void *ctx) { return container_start(ctx, false); }
static int on_start_array(void *ctx) { return container_start(ctx, true); }
static int on_end_map(void *ctx) { return container_end(ctx); }
static int on_end_array(void *ctx) { return container_end(ctx); }

static int on_null(void *ctx) {
  rt_parser_t *p = ctx;
  char *base = NULL;
  int rc = scalar_target(p, &base);

  return rc == 2 ? type_error(p) : rc;
}

static int on_boolean(void *ctx, int value) {
  rt_parser_t *p = ctx;
  char *base = NULL;
  int rc = scalar_target(p, &base);

  if (rc != 2)
    return rc;
  if (p->member->type != MT_BOOL)
    return type_error(p);
  *(bool *)field(base, p->member) = value != 0;
  p->rec.have |= p->member->have;
  return 1;
}

/* Any number, wherever it is; errors included. Kept out of on_number so
 * that the short way stays short. */
__attribute__((noinline)) static int
number_value(rt_parser_t *p, const char *text, size_t len) {
  const member_t *m;
  char *base = NULL;
  int64_t v = 0;
  int rc = scalar_target(p, &base);

  if (rc != 2)
    return rc;
  m = p->member;
  if (m->type != MT_INT && m->type != MT_INT_C && m->type != MT_PROTOCOL)
    return type_error(p);

  rc = parse_int(text, len, &v);
  if (rc == INT_NOT_INTEGER)
    return type_error(p);
  if (rc == INT_OVERFLOW)
    return fail_where(p, "member %s is out of range (integer overflow)",
                      m->name);

  if (m->type == MT_PROTOCOL) {
    /* Checked here already: nothing else of another version means
     * anything. */
    if (v != RT_PROTOCOL)
      return fail_where(p,
                        "protocol %" PRId64 " is not supported (version %d "
                        "expected)",
                        v, RT_PROTOCOL);
  } else if (v < m->min || v > m->max) {
    if (m->max != INT64_MAX)
      return fail_where(p,
                        "member %s must be between %" PRId64 " and %" PRId64
                        ", not %" PRId64,
                        m->name, m->min, m->max, v);
    if (m->min == 0)
      return fail_where(p, "member %s must not be negative", m->name);
    return fail_where(p, "member %s must be at least %" PRId64, m->name,
                      m->min);
  }

  if (m->type == MT_INT_C)
    *(int *)field(base, m) = (int)v;
  else
    *(int64_t *)field(base, m) = v;
  p->rec.have |= m->have;
  return 1;
}

/* A page is mostly a record's integers: those take the short way, the rest
 * (and every error) the general one. */
static int on_number(void *ctx, const char *text, size_t len) {
  rt_parser_t *p = ctx;
  const member_t *m = p->member;
  int64_t v;

  if (p->state == ST_REC_VALUE && m != NULL &&
      (m->type == MT_INT || m->type == MT_INT_C) &&
      parse_int(text, len, &v) == INT_OK && v >= m->min && v <= m->max) {
    p->state = ST_REC;
    if (m->type == MT_INT)
      *(int64_t *)field((char *)&p->rec, m) = v;
    else
      *(int *)field((char *)&p->rec, m) = (int)v;
    p->rec.have |= m->have;
    return 1;
  }
  return number_value(p, text, len);
}

#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

/* The outcome named s, or -1. Once a record: a switch, not a scan. */
static int outcome_lookup(const unsigned char *s, size_t len) {
  if (len == 0)
    return -1;
  switch (s[0]) {
  case 's':
    return IS("success") ? RT_OUTCOME_SUCCESS : -1;
  case 'm':
    return IS("model_error") ? RT_OUTCOME_MODEL_ERROR : -1;
  case 'd':
    return IS("download_failed") ? RT_OUTCOME_DOWNLOAD_FAILED : -1;
  case 'u':
    return IS("upload_failed") ? RT_OUTCOME_UPLOAD_FAILED : -1;
  case 'e':
    return IS("expired") ? RT_OUTCOME_EXPIRED : -1;
  case 't':
    return IS("timeout") ? RT_OUTCOME_TIMEOUT : -1;
  case 'i':
    return IS("internal_error") ? RT_OUTCOME_INTERNAL_ERROR : -1;
  }
  return -1;
}

static int notify_lookup(const unsigned char *s, size_t len) {
  if (IS("sent"))
    return RT_NOTIFY_SENT;
  if (IS("none"))
    return RT_NOTIFY_NONE;
  if (IS("failed"))
    return RT_NOTIFY_FAILED;
  return -1;
}
#undef IS

/* Strings are few (three a record): no short way needed. */
static int on_string(void *ctx, const unsigned char *s, size_t len) {
  rt_parser_t *p = ctx;
  const member_t *m;
  char *base = NULL;
  char *dst;
  char quoted[RT_QUOTE_MAX + 1];
  size_t n;
  int idx;
  int rc = scalar_target(p, &base);

  if (rc != 2)
    return rc;
  m = p->member;
  dst = field(base, m);

  switch ((member_type_t)m->type) {
  case MT_ID:
    if (len == 0)
      return fail_where(p, "member %s must not be empty", m->name);
    if (len > m->cap)
      return fail_where(p, "member %s is longer than %u bytes", m->name,
                        (unsigned)m->cap);
    if (memchr(s, '\0', len) != NULL)
      return fail_where(p, "member %s contains a NUL character", m->name);
    memcpy(dst, s, len);
    dst[len] = '\0';
    break;
  case MT_NAME:
    if (memchr(s, '\0', len) != NULL)
      return fail_where(p, "member %s contains a NUL character", m->name);
    n = utf8_cut(s, len, m->cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
    break;
  case MT_TEXT:
    n = utf8_cut(s, len, m->cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
    for (char *nul = memchr(dst, '\0', n); nul != NULL;
         nul = memchr(nul, '\0', n - (size_t)(nul - dst)))
      *nul = '?';
    break;
  case MT_OUTCOME:
    idx = outcome_lookup(s, len);
    if (idx < 0) {
      quote_value(quoted, sizeof(quoted), s, len);
      return fail_where(p, "unknown outcome \"%s\"", quoted);
    }
    *(rt_outcome_t *)field(base, m) = (rt_outcome_t)idx;
    break;
  case MT_NOTIFY:
    idx = notify_lookup(s, len);
    if (idx < 0) {
      quote_value(quoted, sizeof(quoted), s, len);
      return fail_where(p, "unknown notification \"%s\"", quoted);
    }
    *(rt_notify_t *)field(base, m) = (rt_notify_t)idx;
    break;
  default:
    return type_error(p);
  }
  p->rec.have |= m->have;
  return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number, /* yajl_integer and yajl_double unused */
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

static uint32_t required_mask(const member_t *table, size_t count) {
  uint32_t mask = 0;

  for (size_t i = 0; i < count; i++)
    if (table[i].required)
      mask |= UINT32_C(1) << i;
  return mask;
}

rt_parser_t *rt_parser_create(rt_doc_t kind, rt_record_cb cb, void *user_data,
                              const rt_limits_t *limits) {
  rt_parser_t *p = NULL;

  if (kind != RT_DOC_SNAPSHOT && kind != RT_DOC_REQUESTS &&
      kind != RT_DOC_ERROR)
    return NULL;

  p = calloc(1, sizeof(*p));
  if (p != NULL) {
    p->kind = kind;
    p->cb = cb;
    p->user_data = user_data;
    p->max_bytes = RT_DEFAULT_MAX_BYTES;
    p->max_depth = RT_DEFAULT_MAX_DEPTH;
    p->max_records = RT_DEFAULT_MAX_RECORDS;
    if (limits != NULL && limits->max_bytes != 0)
      p->max_bytes = limits->max_bytes;
    if (limits != NULL && limits->max_depth != 0)
      p->max_depth = limits->max_depth;
    if (limits != NULL && limits->max_records != 0)
      p->max_records = limits->max_records;

    switch (kind) {
    case RT_DOC_SNAPSHOT:
      p->top = snapshot_members;
      p->top_count = sizeof(snapshot_members) / sizeof(snapshot_members[0]);
      p->top_base = (char *)&p->snap;
      break;
    case RT_DOC_REQUESTS:
      p->top = page_members;
      p->top_count = sizeof(page_members) / sizeof(page_members[0]);
      p->top_base = (char *)&p->page;
      break;
    case RT_DOC_ERROR:
      p->top = error_members;
      p->top_count = sizeof(error_members) / sizeof(error_members[0]);
      p->top_base = p->error_text;
      break;
    }
    p->top_required = required_mask(p->top, p->top_count);
    p->rec_required = required_mask(record_members, R_COUNT);
    p->snap.in_flight = -1;
    p->snap.max_concurrency = -1;
    p->state = ST_START;
    p->result = RES_RUNNING;

    p->yajl = yajl_alloc(&callbacks, NULL, p);
  }

  if (p != NULL && p->yajl == NULL) {
    free(p);
    p = NULL;
  }
  return p;
}

int rt_parser_feed(rt_parser_t *p, const char *buf, size_t len) {
  size_t room, n;
  yajl_status st;

  if (p == NULL)
    return -1;
  if (p->result == RES_DONE)
    fail(p, "%s: data after the end of the document", kind_names[p->kind]);
  if (p->result == RES_FAILED)
    return -1;
  if (len == 0)
    return 0;
  if (buf == NULL) {
    fail(p, "%s: no data to feed", kind_names[p->kind]);
    return -1;
  }

  /* Parse what fits under the cap before failing on the rest, so that an
   * error within the first max_bytes is found however the bytes came. */
  room = p->max_bytes - p->fed;
  n = len < room ? len : room;
  if (n > 0) {
    st = yajl_parse(p->yajl, (const unsigned char *)buf, n);
    if (st == yajl_status_error)
      fail_yajl(p, p->fed + yajl_get_bytes_consumed(p->yajl));
    /* yajl_status_client_canceled: a callback has set the message. */
    p->fed += n;
    if (st != yajl_status_ok)
      return -1;
  }
  if (n < len) {
    fail(p, "%s: document larger than %zu bytes", kind_names[p->kind],
         p->max_bytes);
    return -1;
  }
  return 0;
}

int rt_parser_finish(rt_parser_t *p) {
  const member_t *m;
  yajl_status st;

  if (p == NULL)
    return -1;
  if (p->result != RES_RUNNING)
    return p->result == RES_DONE ? 0 : -1;
  if (p->fed == 0) {
    fail_where(p, "empty document");
    return -1;
  }

  st = yajl_complete_parse(p->yajl);
  if (st == yajl_status_error)
    fail_yajl(p, p->fed);
  if (st != yajl_status_ok)
    return -1;
  if (p->state != ST_DONE) { /* yajl said complete: cannot happen */
    fail_where(p, "incomplete document");
    return -1;
  }
  m = first_missing(p->top, p->top_count, p->top_required, p->top_seen);
  if (m != NULL) {
    fail_where(p, "missing member %s", m->name);
    return -1;
  }
  p->result = RES_DONE;
  return 0;
}

const char *rt_parser_error(const rt_parser_t *p) {
  return p != NULL ? p->message : "";
}

const rt_snapshot_t *rt_parser_snapshot(const rt_parser_t *p) {
  if (p == NULL || p->kind != RT_DOC_SNAPSHOT || p->result != RES_DONE)
    return NULL;
  return &p->snap;
}

const rt_page_t *rt_parser_page(const rt_parser_t *p) {
  if (p == NULL || p->kind != RT_DOC_REQUESTS)
    return NULL;
  return &p->page;
}

const char *rt_parser_error_text(const rt_parser_t *p) {
  if (p == NULL || p->kind != RT_DOC_ERROR || p->result != RES_DONE)
    return NULL;
  return p->error_text;
}

void rt_parser_destroy(rt_parser_t *p) {
  if (p == NULL)
    return;
  yajl_free(p->yajl);
  free(p);
}

const char *rt_parser_outcome_name(rt_outcome_t o) {
  if ((unsigned)o >= RT_OUTCOME_COUNT)
    return "unknown";
  return outcome_names[o];
}

const char *rt_parser_notify_name(rt_notify_t n) {
  if ((unsigned)n >= NOTIFY_COUNT)
    return "unknown";
  return notify_names[n];
}
