/* SPDX-License-Identifier: MIT */
/*
 * cw_encode: PutMetricData request bodies in the AWS JSON 1.0 protocol,
 * built one datum at a time within CloudWatch's request limits, and gzip
 * for sending them compressed.
 *
 * A body is
 *   {"Namespace":"ns","MetricData":[{"MetricName":"m","Dimensions":[
 *   {"Name":"n","Value":"v"}],"Timestamp":1764187200.123,"Value":1,
 *   "Unit":"Count","StorageResolution":60},...]}
 * with member names as in the CloudWatch API Reference, Dimensions left
 * out when there are none, one of "Value", "StatisticValues" (SampleCount,
 * Sum, Minimum, Maximum) or "Values" (with "Counts" unless the datum has
 * none), and the Timestamp as epoch seconds, the JSON 1.0 protocol's
 * default timestamp format, to the millisecond.
 *
 * Numbers are written exactly and compactly, not with yajl_gen_double's
 * "%.20g" (0.1 would become 0.10000000000000000555): integers up to 2^53
 * as plain digits, anything else as the shortest "%.15g".."%.17g" that
 * reads back as the same double, with the exponent written "e-5", "e300".
 * -0 is written 0, and so is a magnitude below 2^-359 (see
 * CW_VALUE_MIN_EXP in cw_datum.h). Strings are escaped by yajl_gen.
 *
 * The encoder does not apply CloudWatch's rules (cw_datum_validate does):
 * it refuses only what it cannot write as valid JSON. It appends each datum
 * to the body as it is added and tracks the size, so a body costs time in
 * proportion to its bytes, and it never holds a body over max_bytes or
 * with more than max_datums datums.
 *
 * Not thread-safe: one encoder per sender thread. collectd-free.
 */
#ifndef CW_ENCODE_H
#define CW_ENCODE_H 1

#include <stddef.h>

#include "cw_datum.h"

/* PutMetricData: "Each request is also limited to no more than 1000
 * different metrics." */
#define CW_ENCODE_MAX_DATUMS 1000
/* PutMetricData: "Each PutMetricData request is limited to 1 MB in size for
 * HTTP POST requests." Read as 1 MiB, the largest max_bytes accepted. */
#define CW_ENCODE_MAX_BYTES 1048576
/* The same "1 MB" read as 10^6 bytes, less room for anything the service
 * might count besides the body: the safe default for max_bytes. */
#define CW_ENCODE_DEFAULT_MAX_BYTES 1000000

typedef struct cw_encode_s cw_encode_t;

/* What cw_encode_add did with a datum. */
typedef enum {
  /* Added: it is in the body. */
  CW_ENCODE_ADDED = 0,
  /* The body is full (max_datums datums, or the datum would take it past
   * max_bytes): send the body, cw_encode_reset, then add this datum again.
   * The datum was NOT added; the body is unchanged. */
  CW_ENCODE_FULL,
  /* The datum alone cannot fit an empty body of max_bytes: it can never be
   * sent with these limits; drop it and count it. Not added. */
  CW_ENCODE_TOO_LARGE,
  /* The datum cannot be written: a NULL name, string or array, a string
   * that is not UTF-8, a NaN or infinity, an unknown unit or kind. Datums
   * that passed cw_datum_validate never get this. Not added. */
  CW_ENCODE_INVALID,
  /* Out of memory growing the body. Not added; the body is unchanged and
   * the datum may be added again later. */
  CW_ENCODE_NOMEM,
} cw_encode_result_t;

/* "added", "full", "too_large", "invalid", "nomem"; "unknown" else. */
const char *cw_encode_result_name(cw_encode_result_t r);

/* An encoder for bodies of one namespace, holding at most max_datums
 * datums (1..CW_ENCODE_MAX_DATUMS) and max_bytes bytes (up to
 * CW_ENCODE_MAX_BYTES, and at least enough for an empty body). NULL on a bad
 * namespace (cw_datum_namespace_validate), bad limits or no memory, with a line
 * saying which in err (unless NULL; emptied on success). Free with
 * cw_encode_destroy. */
cw_encode_t *cw_encode_create(const char *ns, size_t max_datums,
                              size_t max_bytes, char *err, size_t err_size);

/* Appends a datum (not kept: its strings may go once this returns). */
cw_encode_result_t cw_encode_add(cw_encode_t *e, const cw_datum_t *d);

/* The finished body (closing brackets included, NUL-terminated for
 * convenience, the NUL not counted in *len): valid until the next add,
 * reset or destroy; owned by the encoder. With no datums it is an empty
 * MetricData array, which is not worth sending. */
const char *cw_encode_body(const cw_encode_t *e, size_t *len);

/* Datums in the body. */
size_t cw_encode_count(const cw_encode_t *e);

/* Empties the body for the next request, keeping its memory. */
void cw_encode_reset(cw_encode_t *e);

/* Empties the body and makes it one of namespace ns (the spool's replay
 * sends each batch to its own namespace). 0, or -1 with a line in err
 * when ns is refused (the encoder keeps its namespace, emptied). */
int cw_encode_set_namespace(cw_encode_t *e, const char *ns, char *err,
                            size_t err_size);
const char *cw_encode_namespace(const cw_encode_t *e);

/* A point to come back to: the datums added after a mark can be taken out
 * again, all together (a spooled batch merged into a request whole, or not
 * at all). */
typedef struct {
  size_t len, count;
} cw_encode_mark_t;
cw_encode_mark_t cw_encode_mark(const cw_encode_t *e);
void cw_encode_rollback(cw_encode_t *e, cw_encode_mark_t m);

void cw_encode_destroy(cw_encode_t *e);

/* Writes v as the encoder does (see above) into buf, NUL-terminated.
 * Returns the length, or 0 when v is not finite or buf is smaller than
 * CW_ENCODE_NUMBER_MAX. */
#define CW_ENCODE_NUMBER_MAX 32
size_t cw_encode_format_number(double v, char *buf, size_t size);

/* Writes a timestamp (epoch seconds) rounded to the millisecond, trailing
 * zeros dropped: 1764187200.123, 1764187200.5, 1764187200. Returns the
 * length, or 0 when t is not finite, beyond +-2^53 ms, or buf is smaller
 * than CW_ENCODE_NUMBER_MAX. */
size_t cw_encode_format_timestamp(double t, char *buf, size_t size);

/* ------------------------------------------------------------------ gzip */

typedef enum {
  CW_ENCODE_GZIP_OK = 0,
  CW_ENCODE_GZIP_NOMEM, /* out of memory */
  CW_ENCODE_GZIP_ERROR, /* bad level, input over CW_ENCODE_GZIP_MAX_INPUT, zlib
                           error */
} cw_encode_gzip_result_t;

/* Largest input cw_encode_gzip takes: far above any body (CW_ENCODE_MAX_BYTES),
 * low enough for zlib's 32-bit buffer counts in one call. */
#define CW_ENCODE_GZIP_MAX_INPUT (64u * 1024u * 1024u)

/* Bodies shorter than this are not worth compressing by default: the gzip
 * header and trailer alone are 18 bytes, and small bodies gain little. */
#define CW_ENCODE_GZIP_DEFAULT_THRESHOLD 1024

/* Compresses in[0..len) into a gzip stream (RFC 1952, as sent with
 * "Content-Encoding: gzip") at level 0..9 or -1 for zlib's default. On
 * CW_ENCODE_GZIP_OK, *out is a malloc'ed buffer of *out_len bytes that the
 * caller frees; otherwise *out is NULL. */
cw_encode_gzip_result_t cw_encode_gzip(const void *in, size_t len, int level,
                                       unsigned char **out, size_t *out_len);

/* cw_encode_gzip into a buffer kept from one call to the next: *buf, of
 * *cap bytes (NULL and 0 the first time), grows with realloc when a body
 * may need more and is never made smaller; it is the caller's to free,
 * whatever the result. A sender that compresses every request keeps one
 * buffer instead of allocating and freeing one per request: with glibc,
 * freeing a block it had mapped on its own (128 KiB and more) raises its
 * mmap threshold for the whole process, and the arenas then keep what
 * larger blocks leave behind. Only the pages written (the compressed
 * stream) are ever touched. */
cw_encode_gzip_result_t cw_encode_gzip_into(const void *in, size_t len,
                                            int level, unsigned char **buf,
                                            size_t *cap, size_t *out_len);

/* Whether a body of len bytes should be compressed given a threshold: 1
 * when threshold > 0 and len >= threshold; 0 otherwise (threshold 0 means
 * never, for peers that cannot take gzip, moto_server among them). */
int cw_encode_gzip_wanted(size_t len, size_t threshold);

#endif /* CW_ENCODE_H */
