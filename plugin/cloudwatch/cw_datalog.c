/* SPDX-License-Identifier: MIT */
/*
 * cw_datalog: data-log names and lines (see cw_datalog.h).
 */
#include "cw_datalog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>

/* "2026-11-26T21:53:00.123Z" */
static void iso_ms(int64_t ms, char *buf, size_t size) {
  time_t s = (time_t)(ms / 1000);
  int frac = (int)(ms % 1000);
  struct tm tm;

  if (frac < 0) {
    frac += 1000;
    s--;
  }
  gmtime_r(&s, &tm);
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void put_str(yajl_gen g, const char *key, const char *value) {
  if (value == NULL)
    return;
  yajl_gen_string(g, (const unsigned char *)key, strlen(key));
  yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

static void put_int(yajl_gen g, const char *key, long long value) {
  yajl_gen_string(g, (const unsigned char *)key, strlen(key));
  yajl_gen_integer(g, value);
}

/* The line; with mark, the instance_id member is left out and
 * CW_DATALOG_INSTANCE_MARK stands where it goes. */
static char *line_of(const cw_datalog_entry_t *e, bool mark) {
  yajl_gen g;
  const unsigned char *buf;
  size_t len, at = 0;
  char when[96];
  char *line = NULL;

  if (e->inference_id == NULL || e->outcome == NULL)
    return NULL;
  g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return NULL;
  yajl_gen_map_open(g);
  iso_ms(e->time_ms, when, sizeof(when));
  put_str(g, "time", when);
  put_str(g, "inference_id", e->inference_id);
  put_str(g, "outcome", e->outcome);
  put_str(g, "stage", e->stage);
  if (e->status_code != 0)
    put_int(g, "status_code", e->status_code);
  put_str(g, "error", e->error);
  put_str(g, "endpoint_name", e->endpoint_name);
  put_str(g, "variant_name", e->variant_name);
  if (mark && yajl_gen_get_buf(g, &buf, &at) != yajl_gen_status_ok)
    at = 0;
  if (!mark)
    put_str(g, "instance_id", e->instance_id);
  put_str(g, "boot_id", e->boot_id);
  if (e->seq != 0)
    put_int(g, "seq", e->seq);
  if (e->received_ms >= 0) {
    iso_ms(e->received_ms, when, sizeof(when));
    put_str(g, "received", when);
  }
  yajl_gen_map_close(g);
  if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok &&
      (!mark || at > 0)) {
    line = malloc(len + 2);
    if (line != NULL && !mark) {
      memcpy(line, buf, len);
      line[len] = 0;
    } else if (line != NULL) {
      memcpy(line, buf, at);
      line[at] = CW_DATALOG_INSTANCE_MARK;
      memcpy(line + at + 1, buf + at, len - at);
      line[len + 1] = 0;
    }
  }
  yajl_gen_free(g);
  return line;
}

char *cw_datalog_line(const cw_datalog_entry_t *e) { return line_of(e, false); }

char *cw_datalog_line_pending(const cw_datalog_entry_t *e) {
  return line_of(e, true);
}

char *cw_datalog_line_resolve(const char *line, size_t len,
                              const char *instance_id) {
  const char *at = memchr(line, CW_DATALOG_INSTANCE_MARK, len);
  yajl_gen g;
  const unsigned char *member;
  size_t mlen;
  char *out = NULL;

  if (at == NULL || instance_id == NULL)
    return NULL;
  g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return NULL;
  /* ,"instance_id":"..." written by yajl, for its escaping: a map of one
   * member, without its braces. */
  yajl_gen_map_open(g);
  put_str(g, "instance_id", instance_id);
  yajl_gen_map_close(g);
  if (yajl_gen_get_buf(g, &member, &mlen) == yajl_gen_status_ok && mlen > 2) {
    size_t head = (size_t)(at - line), tail = len - head - 1;
    mlen -= 2; /* the braces */
    out = malloc(head + 1 + mlen + tail + 1);
    if (out != NULL) {
      memcpy(out, line, head);
      out[head] = ',';
      memcpy(out + head + 1, member + 1, mlen);
      memcpy(out + head + 1 + mlen, at + 1, tail);
      out[head + 1 + mlen + tail] = 0;
    }
  }
  yajl_gen_free(g);
  return out;
}

int cw_datalog_group(const char *endpoint, char *buf, size_t size) {
  if (endpoint == NULL || endpoint[0] == 0)
    return -1;
  return (size_t)snprintf(buf, size, "/aws/sagemaker/Endpoints/%s", endpoint) <
                 size
             ? 0
             : -1;
}

int cw_datalog_stream(const char *variant, const char *instance_id, char *buf,
                      size_t size) {
  if (variant == NULL || variant[0] == 0 || instance_id == NULL ||
      instance_id[0] == 0)
    return -1;
  return (size_t)snprintf(buf, size, "%s/%s/data-log", variant, instance_id) <
                 size
             ? 0
             : -1;
}
