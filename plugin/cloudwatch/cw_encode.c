/* SPDX-License-Identifier: MIT */
/*
 * cw_encode.c: PutMetricData JSON bodies and gzip (see cw_encode.h).
 *
 * How the size is tracked: yajl_gen writes through a print callback
 * straight into the body buffer, after the last complete datum. Bytes that
 * would take the body (with its closing "]}") past max_bytes are counted
 * but not written. Once the datum is generated, the count says whether it
 * fits; if not, the body's length is left where it was, which undoes the
 * datum. Nothing is serialised twice and nothing is copied.
 *
 * The closing "]}" (and a NUL) always follows the datums in the buffer,
 * so cw_encode_body costs nothing and leaves the encoder usable.
 */
#include "cw_encode.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <zlib.h>

/* What closes a body, and the room it takes in the buffer with the NUL. */
#define SUFFIX "]}"
#define SUFFIX_LEN (sizeof(SUFFIX) - 1)
#define SUFFIX_ROOM (SUFFIX_LEN + 1)

/* First buffer size: a few datums' worth; it doubles up to max_bytes. */
#define INITIAL_CAP 16384

/* Integers are written as plain digits up to 2^53, beyond which a double
 * no longer holds every integer (and digits would claim false precision). */
#define EXACT_INT_MAX 0x1p53
/* Magnitudes below 2^-359 are written as 0 (cw_datum.h, CW_VALUE_MIN_EXP). */
#define SMALLEST_MAGNITUDE 0x1p-359

struct cw_encode_s {
  yajl_gen gen;
  char *buf;
  size_t cap;        /* bytes allocated, at most max_bytes + 1 */
  size_t len;        /* prefix and complete datums, without the suffix */
  size_t prefix_len; /* {"Namespace":"...","MetricData":[ */
  size_t count;
  char ns[CW_NAMESPACE_MAX + 1];
  size_t max_datums;
  size_t max_bytes;
  /* During one generation: */
  size_t pos;   /* where the next byte goes */
  size_t need;  /* bytes generated, written or not */
  int overflow; /* stopped writing: past max_bytes */
  int nomem;    /* stopped writing: could not grow */
};

const char *cw_encode_result_name(cw_encode_result_t r) {
  switch (r) {
  case CW_ENCODE_ADDED:
    return "added";
  case CW_ENCODE_FULL:
    return "full";
  case CW_ENCODE_TOO_LARGE:
    return "too_large";
  case CW_ENCODE_INVALID:
    return "invalid";
  case CW_ENCODE_NOMEM:
    return "nomem";
  }
  return "unknown";
}

/* ------------------------------------------------------------- numbers */

/* Digits of an integer, with a '-' when negative. */
static size_t format_int(char *buf, int64_t v) {
  char tmp[24];
  size_t n = 0, len = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0)
    buf[len++] = '-';
  while (n > 0)
    buf[len++] = tmp[--n];
  buf[len] = 0;
  return len;
}

/* Fast path for the common value with a few decimals (12.25, 0.001):
 * when v == m / 10^k for an integer m below 10^15 and k <= 6, the digits
 * of m with a point k from the right read back as v (the division and
 * strtod both round the same exact quotient to nearest), and they are what
 * "%.15g" would write, since no shorter decimal reads back as v and
 * 1e-4 <= |v| < 1e15 keeps "%g" from using an exponent. 0 when it does not
 * apply. */
static size_t format_short_decimal(double v, char *buf) {
  static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  double a = fabs(v), m = 0;
  int k;
  char digits[24];
  size_t nd, len = 0;

  if (a < 1e-4 || a >= 1e9)
    return 0;
  for (k = 1; k <= 6; k++) {
    m = round(a * p10[k]);
    if (m < 1e15 && m / p10[k] == a)
      break;
  }
  if (k > 6)
    return 0;
  /* m is not a multiple of 10, or k - 1 digits would have done. */
  nd = format_int(digits, (int64_t)m);
  if (v < 0)
    buf[len++] = '-';
  if (nd <= (size_t)k) {
    buf[len++] = '0';
    buf[len++] = '.';
    for (size_t z = nd; z < (size_t)k; z++)
      buf[len++] = '0';
    memcpy(buf + len, digits, nd);
    len += nd;
  } else {
    memcpy(buf + len, digits, nd - (size_t)k);
    len += nd - (size_t)k;
    buf[len++] = '.';
    memcpy(buf + len, digits + nd - (size_t)k, (size_t)k);
    len += (size_t)k;
  }
  buf[len] = 0;
  return len;
}

size_t cw_encode_format_number(double v, char *buf, size_t size) {
  size_t len = 0, out = 0;
  int n = 0;

  if (buf == NULL || size < CW_ENCODE_NUMBER_MAX || !isfinite(v))
    return 0;
  if (fabs(v) < SMALLEST_MAGNITUDE) { /* 0, -0 and the too small */
    buf[0] = '0';
    buf[1] = 0;
    return 1;
  }
  if (fabs(v) <= EXACT_INT_MAX && v == trunc(v))
    return format_int(buf, (int64_t)v);
  len = format_short_decimal(v, buf);
  if (len > 0)
    return len;

  /* Shortest of 15, 16, 17 significant digits that reads back as v: any
   * decimal of up to 15 digits survives a trip through a double, so "%.15g"
   * gives the shortest form whenever one of 15 digits or fewer exists. */
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, size, "%.*g", prec, v);
    if (n <= 0 || (size_t)n >= size)
      return 0;
    if (prec == 17 || strtod(buf, NULL) == v)
      break;
  }
  /* Compact the exponent ("e+300" -> "e300", "e-05" -> "e-5") and make the
   * decimal point a '.' whatever the locale says. */
  for (len = 0; len < (size_t)n; len++) {
    char c = buf[len];
    if (c == ',')
      c = '.';
    buf[out++] = c;
    if (c == 'e') {
      len++;
      if (buf[len] == '-')
        buf[out++] = '-';
      else if (buf[len] != '+')
        len--;
      while (len + 2 < (size_t)n && buf[len + 1] == '0')
        len++;
    }
  }
  buf[out] = 0;
  return out;
}

size_t cw_encode_format_timestamp(double t, char *buf, size_t size) {
  double ms;
  int64_t m;
  uint64_t u, frac;
  size_t len;

  if (buf == NULL || size < CW_ENCODE_NUMBER_MAX || !isfinite(t))
    return 0;
  ms = round(t * 1000.0);
  if (fabs(ms) > EXACT_INT_MAX)
    return 0;
  m = (int64_t)ms;
  u = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
  frac = u % 1000;
  len = format_int(buf, m < 0 ? -(int64_t)(u / 1000) : (int64_t)(u / 1000));
  if (m < 0 && u < 1000) { /* -0.5 s: format_int dropped the sign of -0 */
    memmove(buf + 1, buf, len + 1);
    buf[0] = '-';
    len++;
  }
  if (frac != 0) {
    buf[len++] = '.';
    buf[len++] = (char)('0' + frac / 100);
    if (frac % 100 != 0) {
      buf[len++] = (char)('0' + frac / 10 % 10);
      if (frac % 10 != 0)
        buf[len++] = (char)('0' + frac % 10);
    }
    buf[len] = 0;
  }
  return len;
}

/* -------------------------------------------------------------- buffer */

/* yajl's print callback: append within max_bytes (leaving room for the
 * suffix), growing the buffer as needed; count everything. */
static void enc_print(void *ctx, const char *str, size_t n) {
  cw_encode_t *e = ctx;

  e->need += n;
  if (e->overflow || e->nomem)
    return;
  if (e->pos + n + SUFFIX_LEN > e->max_bytes) {
    e->overflow = 1;
    return;
  }
  if (e->pos + n + SUFFIX_ROOM > e->cap) {
    size_t want = e->pos + n + SUFFIX_ROOM;
    size_t cap = e->cap * 2;
    char *nb;
    if (cap < want)
      cap = want;
    if (cap > e->max_bytes + 1)
      cap = e->max_bytes + 1;
    nb = realloc(e->buf, cap);
    if (nb == NULL) {
      e->nomem = 1;
      return;
    }
    e->buf = nb;
    e->cap = cap;
  }
  memcpy(e->buf + e->pos, str, n);
  e->pos += n;
}

/* Puts the closing brackets and the NUL after the complete datums. The
 * buffer always has room for them past len. */
static void write_suffix(cw_encode_t *e) {
  memcpy(e->buf + e->len, SUFFIX, SUFFIX_ROOM);
}

static void begin(cw_encode_t *e) {
  e->pos = e->len;
  e->need = 0;
  e->overflow = 0;
  e->nomem = 0;
}

/* --------------------------------------------------------------- JSON */

#define GEN_KEY(g, lit)                                                        \
  (yajl_gen_string((g), (const unsigned char *)(lit), sizeof(lit) - 1) ==      \
   yajl_gen_status_ok)

static int gen_str(yajl_gen g, const char *s) {
  return s != NULL && yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
                          yajl_gen_status_ok;
}

static int gen_num(yajl_gen g, double v) {
  char b[CW_ENCODE_NUMBER_MAX];
  size_t n = cw_encode_format_number(v, b, sizeof(b));
  return n > 0 && yajl_gen_number(g, b, n) == yajl_gen_status_ok;
}

static int gen_key_num(yajl_gen g, const char *key, size_t key_len, double v) {
  return yajl_gen_string(g, (const unsigned char *)key, key_len) ==
             yajl_gen_status_ok &&
         gen_num(g, v);
}
#define GEN_KEY_NUM(g, lit, v) gen_key_num((g), (lit), sizeof(lit) - 1, (v))

static int gen_array(yajl_gen g, const double *v, size_t n) {
  if (n > 0 && v == NULL)
    return 0;
  if (yajl_gen_array_open(g) != yajl_gen_status_ok)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!gen_num(g, v[i]))
      return 0;
  return yajl_gen_array_close(g) == yajl_gen_status_ok;
}

/* One MetricDatum object; 0 when it cannot be written. */
static int gen_datum(yajl_gen g, const cw_datum_t *d) {
  const char *unit = cw_datum_unit_name(d->unit);
  char ts[CW_ENCODE_NUMBER_MAX];
  size_t ts_len = cw_encode_format_timestamp(d->timestamp, ts, sizeof(ts));

  if (unit == NULL || ts_len == 0)
    return 0;
  if (yajl_gen_map_open(g) != yajl_gen_status_ok || !GEN_KEY(g, "MetricName") ||
      !gen_str(g, d->metric_name))
    return 0;

  if (d->num_dims > 0) {
    if (d->dims == NULL || !GEN_KEY(g, "Dimensions") ||
        yajl_gen_array_open(g) != yajl_gen_status_ok)
      return 0;
    for (size_t i = 0; i < d->num_dims; i++) {
      if (yajl_gen_map_open(g) != yajl_gen_status_ok || !GEN_KEY(g, "Name") ||
          !gen_str(g, d->dims[i].name) || !GEN_KEY(g, "Value") ||
          !gen_str(g, d->dims[i].value) ||
          yajl_gen_map_close(g) != yajl_gen_status_ok)
        return 0;
    }
    if (yajl_gen_array_close(g) != yajl_gen_status_ok)
      return 0;
  }

  if (!GEN_KEY(g, "Timestamp") ||
      yajl_gen_number(g, ts, ts_len) != yajl_gen_status_ok)
    return 0;

  switch (d->kind) {
  case CW_KIND_VALUE:
    if (!GEN_KEY_NUM(g, "Value", d->value))
      return 0;
    break;
  case CW_KIND_STATS:
    if (!GEN_KEY(g, "StatisticValues") ||
        yajl_gen_map_open(g) != yajl_gen_status_ok ||
        !GEN_KEY_NUM(g, "SampleCount", d->stats.sample_count) ||
        !GEN_KEY_NUM(g, "Sum", d->stats.sum) ||
        !GEN_KEY_NUM(g, "Minimum", d->stats.minimum) ||
        !GEN_KEY_NUM(g, "Maximum", d->stats.maximum) ||
        yajl_gen_map_close(g) != yajl_gen_status_ok)
      return 0;
    break;
  case CW_KIND_VALUES:
    if (!GEN_KEY(g, "Values") || !gen_array(g, d->values, d->num_values))
      return 0;
    if (d->counts != NULL &&
        (!GEN_KEY(g, "Counts") || !gen_array(g, d->counts, d->num_values)))
      return 0;
    break;
  default:
    return 0;
  }

  return GEN_KEY(g, "Unit") && gen_str(g, unit) &&
         GEN_KEY(g, "StorageResolution") &&
         yajl_gen_integer(g, d->storage_resolution) == yajl_gen_status_ok &&
         yajl_gen_map_close(g) == yajl_gen_status_ok;
}

/* ------------------------------------------------------------- encoder */

/* Writes {"Namespace":ns,"MetricData":[ and empties the body; why says
 * what went wrong (left alone when all went well). */
static void write_prefix(cw_encode_t *e, const char *ns, char *why,
                         size_t why_size) {
  e->len = 0;
  e->count = 0;
  begin(e);
  yajl_gen_reset(e->gen, NULL);
  yajl_gen_clear(e->gen);
  if (yajl_gen_map_open(e->gen) != yajl_gen_status_ok ||
      !GEN_KEY(e->gen, "Namespace") || !gen_str(e->gen, ns) ||
      !GEN_KEY(e->gen, "MetricData") ||
      yajl_gen_array_open(e->gen) != yajl_gen_status_ok)
    snprintf(why, why_size, "cannot write the namespace");
  else if (e->overflow)
    snprintf(why, why_size,
             "max_bytes %zu is too small for an empty body (%zu bytes)",
             e->max_bytes, e->need + SUFFIX_LEN);
  else if (e->nomem)
    snprintf(why, why_size, "out of memory");
  else {
    e->len = e->prefix_len = e->pos;
    snprintf(e->ns, sizeof(e->ns), "%s", ns);
    write_suffix(e);
  }
}

int cw_encode_set_namespace(cw_encode_t *e, const char *ns, char *err,
                            size_t err_size) {
  char why[256] = "";

  if (strcmp(e->ns, ns) == 0) {
    cw_encode_reset(e);
    return 0;
  }
  if (cw_datum_namespace_validate(ns, why, sizeof(why)) == 0)
    write_prefix(e, ns, why, sizeof(why));
  if (why[0] != 0) {
    /* Back to the namespace it had: the encoder stays usable. */
    char keep[CW_NAMESPACE_MAX + 1], ignored[64];
    snprintf(keep, sizeof(keep), "%s", e->ns);
    write_prefix(e, keep, ignored, sizeof(ignored));
    if (err != NULL && err_size > 0)
      snprintf(err, err_size, "%s", why);
    return -1;
  }
  return 0;
}

const char *cw_encode_namespace(const cw_encode_t *e) { return e->ns; }

cw_encode_mark_t cw_encode_mark(const cw_encode_t *e) {
  return (cw_encode_mark_t){e->len, e->count};
}

void cw_encode_rollback(cw_encode_t *e, cw_encode_mark_t m) {
  if (m.count > e->count || m.len > e->len || m.len < e->prefix_len)
    return;
  e->len = m.len;
  e->count = m.count;
  write_suffix(e);
}

cw_encode_t *cw_encode_create(const char *ns, size_t max_datums,
                              size_t max_bytes, char *err, size_t err_size) {
  cw_encode_t *e = NULL;
  char why[256] = "";

  if (err != NULL && err_size > 0)
    err[0] = 0;
  if (cw_datum_namespace_validate(ns, why, sizeof(why)) != 0) {
    /* why says what is wrong with the namespace */
  } else if (max_datums < 1 || max_datums > CW_ENCODE_MAX_DATUMS) {
    snprintf(why, sizeof(why), "max_datums %zu is not in 1..%d", max_datums,
             CW_ENCODE_MAX_DATUMS);
  } else if (max_bytes > CW_ENCODE_MAX_BYTES) {
    snprintf(why, sizeof(why), "max_bytes %zu is over %d", max_bytes,
             CW_ENCODE_MAX_BYTES);
  } else {
    e = calloc(1, sizeof(*e));
    if (e != NULL) {
      e->max_datums = max_datums;
      e->max_bytes = max_bytes;
      e->cap = max_bytes + 1 < INITIAL_CAP ? max_bytes + 1 : INITIAL_CAP;
      e->buf = malloc(e->cap);
      e->gen = yajl_gen_alloc(NULL);
    }
    if (e == NULL || e->buf == NULL || e->gen == NULL ||
        !yajl_gen_config(e->gen, yajl_gen_print_callback, enc_print, e) ||
        !yajl_gen_config(e->gen, yajl_gen_validate_utf8, 1))
      snprintf(why, sizeof(why), "out of memory");
  }

  if (why[0] == 0)
    write_prefix(e, ns, why, sizeof(why));
  if (why[0] != 0) {
    if (err != NULL && err_size > 0)
      snprintf(err, err_size, "%s", why);
    cw_encode_destroy(e);
    e = NULL;
  }
  return e;
}

cw_encode_result_t cw_encode_add(cw_encode_t *e, const cw_datum_t *d) {
  size_t sep, datum_len;
  int written;

  if (e->count >= e->max_datums)
    return CW_ENCODE_FULL;

  begin(e);
  if (e->count > 0)
    enc_print(e, ",", 1);
  sep = e->need;
  yajl_gen_reset(e->gen, NULL);
  written = gen_datum(e->gen, d);
  datum_len = e->need - sep;

  if (!written || e->pos < e->len + e->need) {
    /* Not added: whatever was written past len is dropped, and the bytes
     * it overwrote are put back. */
    write_suffix(e);
    if (!written)
      return CW_ENCODE_INVALID;
    if (e->prefix_len + datum_len + SUFFIX_LEN > e->max_bytes)
      return CW_ENCODE_TOO_LARGE;
    if (e->len + e->need + SUFFIX_LEN > e->max_bytes)
      return CW_ENCODE_FULL;
    return CW_ENCODE_NOMEM;
  }
  e->len = e->pos;
  e->count++;
  write_suffix(e);
  return CW_ENCODE_ADDED;
}

const char *cw_encode_body(const cw_encode_t *e, size_t *len) {
  *len = e->len + SUFFIX_LEN;
  return e->buf;
}

size_t cw_encode_count(const cw_encode_t *e) { return e->count; }

void cw_encode_reset(cw_encode_t *e) {
  e->len = e->prefix_len;
  e->count = 0;
  write_suffix(e);
}

void cw_encode_destroy(cw_encode_t *e) {
  if (e == NULL)
    return;
  if (e->gen != NULL)
    yajl_gen_free(e->gen);
  free(e->buf);
  free(e);
}

/* ---------------------------------------------------------------- gzip */

cw_encode_gzip_result_t cw_encode_gzip_into(const void *in, size_t len,
                                            int level, unsigned char **buf,
                                            size_t *cap, size_t *out_len) {
  z_stream zs;
  cw_encode_gzip_result_t r = CW_ENCODE_GZIP_OK;
  int inited = 0;
  uLong bound = 0;

  *out_len = 0;
  memset(&zs, 0, sizeof(zs));
  if (len > CW_ENCODE_GZIP_MAX_INPUT || (in == NULL && len > 0) || level < -1 ||
      level > 9)
    r = CW_ENCODE_GZIP_ERROR;

  if (r == CW_ENCODE_GZIP_OK) {
    /* windowBits 15 + 16: a gzip header and trailer, not a zlib one. */
    int rc =
        deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc == Z_OK)
      inited = 1;
    else
      r = rc == Z_MEM_ERROR ? CW_ENCODE_GZIP_NOMEM : CW_ENCODE_GZIP_ERROR;
  }

  if (r == CW_ENCODE_GZIP_OK) {
    /* deflateBound counts the gzip wrapper: with that much room one
     * deflate(Z_FINISH) call finishes the stream. */
    bound = deflateBound(&zs, (uLong)len);
    if (*buf == NULL || *cap < bound) {
      unsigned char *nb = realloc(*buf, bound);
      if (nb == NULL) {
        r = CW_ENCODE_GZIP_NOMEM;
      } else {
        *buf = nb;
        *cap = bound;
      }
    }
  }

  if (r == CW_ENCODE_GZIP_OK) {
    zs.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write to it */
    zs.avail_in = (uInt)len;
    zs.next_out = *buf;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
      r = CW_ENCODE_GZIP_ERROR;
    else
      *out_len = (size_t)zs.total_out;
  }
  if (inited)
    deflateEnd(&zs);
  return r;
}

cw_encode_gzip_result_t cw_encode_gzip(const void *in, size_t len, int level,
                                       unsigned char **out, size_t *out_len) {
  size_t cap = 0;
  cw_encode_gzip_result_t r;

  *out = NULL;
  r = cw_encode_gzip_into(in, len, level, out, &cap, out_len);
  if (r != CW_ENCODE_GZIP_OK) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return r;
}

int cw_encode_gzip_wanted(size_t len, size_t threshold) {
  return threshold > 0 && len >= threshold;
}
