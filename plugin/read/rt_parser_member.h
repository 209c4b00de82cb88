/* SPDX-License-Identifier: MIT */
/*
 * rt_parser_member: the members of the runtime's documents as rt_parser
 * reads them (runtime-api.md): for the snapshot, a requests page, its
 * records and an error body, each member's name, JSON type, bounds and the
 * field of the public struct it fills; and finding a key among them.
 *
 * A record's keys are the parser's hot path: they hash perfectly on their
 * length, first and last bytes, and the look-up is inlined here.
 *
 * Internal to rt_parser; collectd-free.
 */
#ifndef RT_PARSER_MEMBER_H
#define RT_PARSER_MEMBER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rt_parser.h"

/* The only version of the stats API this parser speaks (runtime-api.md). */
#define RT_PARSER_PROTOCOL 1

/* What a member's value must be. */
typedef enum {
  RT_MT_PROTOCOL, /* integer, must be RT_PARSER_PROTOCOL */
  RT_MT_INT,      /* int64_t within [min, max] */
  RT_MT_INT_C,    /* int within [min, max] (status_code) */
  RT_MT_BOOL,     /* bool */
  RT_MT_ID,       /* non-empty string of at most cap bytes, no NUL */
  RT_MT_NAME,     /* string cut to cap bytes, no NUL */
  RT_MT_TEXT,     /* string cut to cap bytes, NUL replaced */
  RT_MT_OUTCOME,  /* rt_outcome_t from its name */
  RT_MT_NOTIFY,   /* rt_notify_t from its name */
  RT_MT_REQUESTS, /* array of record objects */
} rt_parser_mtype_t;

/* Room for the longest member name ("oldest_request_age_ms"), padded with
 * NULs: a name is compared a word at a time from the entry itself. */
#define RT_PARSER_MEMBER_NAME_SIZE 24

/* One member: 64 bytes, a cache line, so that a record key's check and
 * its value's conversion each touch one line of the table. */
typedef struct {
  _Alignas(64) char name[RT_PARSER_MEMBER_NAME_SIZE];
  uint8_t len;  /* of name */
  uint8_t type; /* rt_parser_mtype_t */
  bool required;
  uint16_t offset; /* of the field in the target struct */
  uint16_t cap;    /* string members: bytes kept */
  unsigned have;   /* RT_HAVE_* set when present (records) */
  int64_t min;
  int64_t max;
} rt_parser_member_t;

/* Indexes into rt_parser_member_record, one per record member. */
enum {
  RT_REC_SEQ,
  RT_REC_INFERENCE_ID,
  RT_REC_RECEIVED_MS,
  RT_REC_COMPLETED_MS,
  RT_REC_OUTCOME,
  RT_REC_BACKLOG_US,
  RT_REC_DOWNLOAD_US,
  RT_REC_DOWNLOAD_OK,
  RT_REC_MODEL_US,
  RT_REC_STATUS_CODE,
  RT_REC_UPLOAD_US,
  RT_REC_UPLOAD_OK,
  RT_REC_NOTIFICATION,
  RT_REC_TOTAL_MS,
  RT_REC_ERROR,
  RT_REC_COUNT
};

/* A set of members seen is a bit each in a uint32_t. */
_Static_assert(RT_REC_COUNT <= 32, "record members must fit a uint32_t");

extern const rt_parser_member_t rt_parser_member_record[RT_REC_COUNT];

/* The members of the top-level object of a document of kind (its count in
 * *count); NULL for an unknown kind. */
const rt_parser_member_t *rt_parser_member_top(rt_doc_t kind, size_t *count);

/* The index of the member named by len bytes at key in table, or -1: a
 * plain scan, for the top-level names (a few a document). */
int rt_parser_member_top_lookup(const rt_parser_member_t *table, size_t count,
                                const unsigned char *key, size_t len);

/* The bits of the required members of table. */
uint32_t rt_parser_member_required(const rt_parser_member_t *table,
                                   size_t count);

/* The first required member of table missing from seen, or NULL. */
const rt_parser_member_t *
rt_parser_member_first_missing(const rt_parser_member_t *table, size_t count,
                               uint32_t required, uint32_t seen);

/* The field of member m in the struct at base: offsetof() gave its
 * alignment, which a char pointer cast would hide. */
static inline void *rt_parser_member_field(char *base,
                                           const rt_parser_member_t *m) {
  return base + m->offset;
}

/* The perfect hash of a record's member names: length, first and last
 * bytes into RT_PARSER_MEMBER_SLOTS slots (the constants were searched for
 * that). */
#define RT_PARSER_MEMBER_SLOTS 32
#define RT_PARSER_MEMBER_HASH(len, first, last)                                \
  (((len) + 5u * (first) + 17u * (last)) & (RT_PARSER_MEMBER_SLOTS - 1))
/* Shortest and longest record member names. */
#define RT_PARSER_MEMBER_NAME_MIN 3
#define RT_PARSER_MEMBER_NAME_MAX 12

/* Slot -> index into rt_parser_member_record + 1; 0: no member hashes
 * there. */
extern const uint8_t rt_parser_member_slots[RT_PARSER_MEMBER_SLOTS];

/* Whether len bytes at key spell m's name (len from 2 to 16, and m's
 * length): two overlapping words each side rather than a call to
 * memcmp. */
static inline bool rt_parser_member_name_equal(const unsigned char *key,
                                               const rt_parser_member_t *m,
                                               size_t len) {
  uint64_t a, b, c, d;
  uint32_t e, f, g, h;
  uint16_t i, j, k, l;

  if (len >= 8) {
    memcpy(&a, key, 8);
    memcpy(&b, m->name, 8);
    memcpy(&c, key + len - 8, 8);
    memcpy(&d, m->name + len - 8, 8);
    return ((a ^ b) | (c ^ d)) == 0;
  }
  if (len >= 4) {
    memcpy(&e, key, 4);
    memcpy(&f, m->name, 4);
    memcpy(&g, key + len - 4, 4);
    memcpy(&h, m->name + len - 4, 4);
    return ((e ^ f) | (g ^ h)) == 0;
  }
  memcpy(&i, key, 2);
  memcpy(&j, m->name, 2);
  memcpy(&k, key + len - 2, 2);
  memcpy(&l, m->name + len - 2, 2);
  return ((i ^ j) | (k ^ l)) == 0;
}

/* The index into rt_parser_member_record of a key, or -1: one slot, one
 * compare. */
static inline int rt_parser_member_record_lookup(const unsigned char *key,
                                                 size_t len) {
  const rt_parser_member_t *m;
  unsigned slot;

  if (len < RT_PARSER_MEMBER_NAME_MIN || len > RT_PARSER_MEMBER_NAME_MAX)
    return -1;
  slot = rt_parser_member_slots[RT_PARSER_MEMBER_HASH((unsigned)len, key[0],
                                                      key[len - 1])];
  if (slot == 0)
    return -1;
  m = &rt_parser_member_record[slot - 1];
  return m->len == len && rt_parser_member_name_equal(key, m, len)
             ? (int)slot - 1
             : -1;
}

#endif /* RT_PARSER_MEMBER_H */
