/* SPDX-License-Identifier: MIT */
/*
 * rt_parser.c: the streaming parser for the async runtime's stats API
 * (see rt_parser.h and runtime-api.md): the state machine yajl's callbacks
 * drive, and the API. What each document's members are, and how a key is
 * found among them, is rt_parser_member's; how a value's text becomes a
 * field, rt_parser_value's.
 *
 * No DOM is built and nothing is allocated per record: the record being
 * read lives in the parser and is reset field by field when the next one
 * opens.
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

#include "rt_parser_member.h"
#include "rt_parser_value.h"

/* Room for one error message; the longest is a record prefix plus a
 * quoted value of at most RT_PARSER_VALUE_QUOTE_MAX bytes, or yajl's short
 * text. */
#define RT_MESSAGE_MAX 256

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

  const rt_parser_member_t *top; /* the top-level object's member table */
  size_t top_count;
  char *top_base; /* its target struct */
  uint32_t top_required;
  uint32_t top_seen;
  uint32_t rec_required;
  uint32_t rec_seen;
  /* The member that followed each member (RT_REC_COUNT: the record's
   * start) in the records before: the runtime writes its members in one
   * order, so the next key is nearly always the one guessed. The guess is
   * taken as each key is accepted, so that the next key's check waits for
   * no look-up: a compare with the guessed member's name. */
  uint8_t next_guess[RT_REC_COUNT + 1];
  uint8_t prev_key; /* the last known member of this record, or RT_REC_COUNT */
  const rt_parser_member_t *guess; /* for the record's next key */
  /* The member is a record's integer: its number can take the short way
   * without waiting for the member's type to be loaded. */
  bool rec_int;
  const rt_parser_member_t
      *member; /* whose value comes next; NULL: unknown member */

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
  const rt_parser_member_t *m = p->member;
  const char *want;

  switch ((rt_parser_mtype_t)m->type) {
  case RT_MT_PROTOCOL:
  case RT_MT_INT:
  case RT_MT_INT_C:
    want = "an integer";
    break;
  case RT_MT_BOOL:
    want = "true or false";
    break;
  case RT_MT_REQUESTS:
    want = "an array";
    break;
  default:
    want = "a string";
    break;
  }
  return fail_where(p, "member %s must be %s", m->name, want);
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

static int record_start(rt_parser_t *p) {
  if (p->page.records >= p->max_records)
    return fail_where(p, "more than %zu records", p->max_records);
  record_reset(&p->rec);
  p->rec_seen = 0;
  p->prev_key = RT_REC_COUNT;
  p->guess = &rt_parser_member_record[p->next_guess[RT_REC_COUNT]];
  p->in_record = true;
  p->state = ST_REC;
  return 1;
}

static int record_end(rt_parser_t *p) {
  if ((p->rec_required & ~p->rec_seen) != 0)
    return fail_where(
        p, "missing member %s",
        rt_parser_member_first_missing(rt_parser_member_record, RT_REC_COUNT,
                                       p->rec_required, p->rec_seen)
            ->name);
  p->in_record = false;
  p->state = ST_ARRAY;
  p->page.records++;
  if (p->cb != NULL && p->cb(&p->rec, p->user_data) != 0)
    return fail(p, "stopped by the record callback");
  return 1;
}

/* Takes record member idx, not seen yet in this record, as the key. */
static inline void record_key(rt_parser_t *p, unsigned idx) {
  p->rec_seen |= UINT32_C(1) << idx;
  p->prev_key = (uint8_t)idx;
  p->guess = &rt_parser_member_record[p->next_guess[idx]];
  p->member = &rt_parser_member_record[idx];
  p->rec_int = p->member->type == RT_MT_INT || p->member->type == RT_MT_INT_C;
  p->state = ST_REC_VALUE;
}

/* Any key but a record's guessed one: a record's other keys through the
 * perfect hash (learning the order), unknown keys, duplicates, the
 * top-level keys. */
__attribute__((noinline)) static int
map_key(rt_parser_t *p, const unsigned char *key, size_t len) {
  const rt_parser_member_t *table;
  uint32_t *seen;
  int idx;

  switch (p->state) {
  case ST_SKIP:
    return 1;
  case ST_REC:
    idx = rt_parser_member_record_lookup(key, len);
    if (idx >= 0 && !(p->rec_seen & (UINT32_C(1) << idx))) {
      p->next_guess[p->prev_key] = (uint8_t)idx;
      record_key(p, (unsigned)idx);
      return 1;
    }
    table = rt_parser_member_record;
    seen = &p->rec_seen;
    p->state = ST_REC_VALUE;
    break;
  case ST_TOP:
    idx = rt_parser_member_top_lookup(p->top, p->top_count, key, len);
    table = p->top;
    seen = &p->top_seen;
    p->state = ST_TOP_VALUE;
    break;
  default:
    return fail_where(p, "unexpected key");
  }

  p->rec_int = false;
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

/* Most keys are a record's, the one guessed: that takes the short way. */
static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
  rt_parser_t *p = ctx;
  const rt_parser_member_t *g = p->guess;

  if (p->state == ST_REC && g->len == len &&
      rt_parser_member_name_equal(key, g, len)) {
    unsigned idx = (unsigned)(g - rt_parser_member_record);
    if (!(p->rec_seen & (UINT32_C(1) << idx))) {
      record_key(p, idx);
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
    if (is_array && p->member->type == RT_MT_REQUESTS) {
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
  if (p->member->type != RT_MT_BOOL)
    return type_error(p);
  *(bool *)rt_parser_member_field(base, p->member) = value != 0;
  p->rec.have |= p->member->have;
  return 1;
}

/* Any number, wherever it is; errors included. Kept out of on_number so
 * that the short way stays short. */
__attribute__((noinline)) static int
number_value(rt_parser_t *p, const char *text, size_t len) {
  const rt_parser_member_t *m;
  char *base = NULL;
  int64_t v = 0;
  int rc = scalar_target(p, &base);

  if (rc != 2)
    return rc;
  m = p->member;
  if (m->type != RT_MT_INT && m->type != RT_MT_INT_C &&
      m->type != RT_MT_PROTOCOL)
    return type_error(p);

  rc = rt_parser_value_int(text, len, &v);
  if (rc == RT_PARSER_VALUE_NOT_INT)
    return type_error(p);
  if (rc == RT_PARSER_VALUE_OVERFLOW)
    return fail_where(p, "member %s is out of range (integer overflow)",
                      m->name);

  if (m->type == RT_MT_PROTOCOL) {
    /* Checked here already: nothing else of another version means
     * anything. */
    if (v != RT_PARSER_PROTOCOL)
      return fail_where(p,
                        "protocol %" PRId64 " is not supported (version %d "
                        "expected)",
                        v, RT_PARSER_PROTOCOL);
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

  if (m->type == RT_MT_INT_C)
    *(int *)rt_parser_member_field(base, m) = (int)v;
  else
    *(int64_t *)rt_parser_member_field(base, m) = v;
  p->rec.have |= m->have;
  return 1;
}

/* A page is mostly a record's integers: those take the short way, the rest
 * (and every error) the general one. */
static int on_number(void *ctx, const char *text, size_t len) {
  rt_parser_t *p = ctx;
  const rt_parser_member_t *m = p->member;
  uint64_t u;
  int64_t v;

  if (p->state == ST_REC_VALUE && p->rec_int &&
      rt_parser_value_short(text, len, &u) && (v = (int64_t)u) >= m->min &&
      v <= m->max) {
    p->state = ST_REC;
    if (m->type == RT_MT_INT)
      *(int64_t *)rt_parser_member_field((char *)&p->rec, m) = v;
    else
      *(int *)rt_parser_member_field((char *)&p->rec, m) = (int)v;
    p->rec.have |= m->have;
    return 1;
  }
  return number_value(p, text, len);
}

/* A string that its member refuses: says why. */
__attribute__((noinline)) static int
string_error(rt_parser_t *p, const unsigned char *s, size_t len) {
  const rt_parser_member_t *m = p->member;
  char quoted[RT_PARSER_VALUE_QUOTE_MAX + 1];

  switch ((rt_parser_mtype_t)m->type) {
  case RT_MT_ID:
  case RT_MT_NAME:
    if (m->type == RT_MT_ID && len == 0)
      return fail_where(p, "member %s must not be empty", m->name);
    if (m->type == RT_MT_ID && len > m->cap)
      return fail_where(p, "member %s is longer than %u bytes", m->name,
                        (unsigned)m->cap);
    return fail_where(p, "member %s contains a NUL character", m->name);
  case RT_MT_OUTCOME:
    rt_parser_value_quote(quoted, sizeof(quoted), s, len);
    return fail_where(p, "unknown outcome \"%s\"", quoted);
  case RT_MT_NOTIFY:
    rt_parser_value_quote(quoted, sizeof(quoted), s, len);
    return fail_where(p, "unknown notification \"%s\"", quoted);
  default:
    return type_error(p);
  }
}

/* A name or a text: cut on a UTF-8 boundary to the member's cap. */
__attribute__((noinline)) static int
text_value(rt_parser_t *p, char *dst, const unsigned char *s, size_t len) {
  const rt_parser_member_t *m = p->member;
  size_t n;

  if (m->type == RT_MT_NAME && memchr(s, '\0', len) != NULL)
    return string_error(p, s, len);
  n = rt_parser_value_utf8_cut(s, len, m->cap);
  memcpy(dst, s, n);
  dst[n] = '\0';
  /* A text keeps what follows a NUL (\u0000): the NUL becomes '?'. */
  for (char *nul = m->type == RT_MT_TEXT ? memchr(dst, '\0', n) : NULL;
       nul != NULL; nul = memchr(nul, '\0', n - (size_t)(nul - dst)))
    *nul = '?';
  p->rec.have |= m->have;
  return 1;
}

/* A record's three strings (its inference_id, outcome and notification)
 * take the short way; names, texts and errors their own. */
static int on_string(void *ctx, const unsigned char *s, size_t len) {
  rt_parser_t *p = ctx;
  const rt_parser_member_t *m;
  char *base = NULL;
  char *dst;
  int idx;
  int rc = scalar_target(p, &base);

  if (rc != 2)
    return rc;
  m = p->member;
  dst = rt_parser_member_field(base, m);
  switch ((rt_parser_mtype_t)m->type) {
  case RT_MT_ID:
    if (len == 0 || len > m->cap || rt_parser_value_has_nul(s, len))
      return string_error(p, s, len);
    rt_parser_value_copy(dst, s, len);
    break;
  case RT_MT_OUTCOME:
    idx = rt_parser_value_outcome(s, len);
    if (idx < 0)
      return string_error(p, s, len);
    *(rt_outcome_t *)rt_parser_member_field(base, m) = (rt_outcome_t)idx;
    break;
  case RT_MT_NOTIFY:
    idx = rt_parser_value_notify(s, len);
    if (idx < 0)
      return string_error(p, s, len);
    *(rt_notify_t *)rt_parser_member_field(base, m) = (rt_notify_t)idx;
    break;
  case RT_MT_NAME:
  case RT_MT_TEXT:
    return text_value(p, dst, s, len);
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

    p->top = rt_parser_member_top(kind, &p->top_count);
    switch (kind) {
    case RT_DOC_SNAPSHOT:
      p->top_base = (char *)&p->snap;
      break;
    case RT_DOC_REQUESTS:
      p->top_base = (char *)&p->page;
      break;
    case RT_DOC_ERROR:
      p->top_base = p->error_text;
      break;
    }
    p->top_required = rt_parser_member_required(p->top, p->top_count);
    p->rec_required =
        rt_parser_member_required(rt_parser_member_record, RT_REC_COUNT);
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
  const rt_parser_member_t *m;
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
  m = rt_parser_member_first_missing(p->top, p->top_count, p->top_required,
                                     p->top_seen);
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
