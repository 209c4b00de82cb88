/* SPDX-License-Identifier: MIT */
/*
 * sm_json: yajl's streaming parser behind four events (see sm_json.h).
 */
#include "sm_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "sm_text.h"

struct sm_json_s {
  yajl_handle yajl;
  const sm_json_events_t *ev;
  void *ud;
  unsigned depth; /* arrays and objects open */
  bool failed, finished;
  char error[128];
};

/* yajl's callbacks: 1 goes on, 0 stops. */
static int go_on(sm_json_t *j, int rc) {
  if (rc != 0) {
    j->failed = true;
    sm_text_printf(j->error, sizeof(j->error), "stopped");
  }
  return rc == 0;
}

static int scalar(sm_json_t *j, sm_json_type_t type, const char *text,
                  size_t len) {
  if (j->ev->scalar == NULL)
    return 1;
  return go_on(j, j->ev->scalar(j->ud, j->depth, type, text, len));
}

static int y_null(void *ud) { return scalar(ud, SM_JSON_NULL, "null", 4); }

static int y_boolean(void *ud, int b) {
  return scalar(ud, SM_JSON_BOOL, b ? "true" : "false", b ? 4 : 5);
}

static int y_number(void *ud, const char *s, size_t len) {
  return scalar(ud, SM_JSON_NUMBER, s, len);
}

static int y_string(void *ud, const unsigned char *s, size_t len) {
  return scalar(ud, SM_JSON_STRING, (const char *)s, len);
}

static int y_key(void *ud, const unsigned char *s, size_t len) {
  sm_json_t *j = ud;
  if (j->ev->key == NULL)
    return 1;
  return go_on(j, j->ev->key(j->ud, j->depth, (const char *)s, len));
}

static int open_(sm_json_t *j, bool is_array) {
  if (j->ev->open != NULL && !go_on(j, j->ev->open(j->ud, j->depth, is_array)))
    return 0;
  j->depth++;
  return 1;
}

static int close_(sm_json_t *j, bool is_array) {
  j->depth--;
  if (j->ev->close == NULL)
    return 1;
  return go_on(j, j->ev->close(j->ud, j->depth, is_array));
}

static int y_start_map(void *ud) { return open_(ud, false); }
static int y_end_map(void *ud) { return close_(ud, false); }
static int y_start_array(void *ud) { return open_(ud, true); }
static int y_end_array(void *ud) { return close_(ud, true); }

/* In yajl_callbacks' order; numbers come as text (yajl_number), so the
 * integer and double callbacks are NULL. */
static const yajl_callbacks callbacks = {
    y_null,      y_boolean, NULL,      NULL,          y_number,   y_string,
    y_start_map, y_key,     y_end_map, y_start_array, y_end_array};

void sm_json_destroy(sm_json_t *j) {
  if (j == NULL)
    return;
  yajl_free(j->yajl);
  free(j);
}

sm_json_t *sm_json_create(const sm_json_events_t *ev, void *ud) {
  sm_json_t *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  j->ev = ev;
  j->ud = ud;
  j->yajl = yajl_alloc(&callbacks, NULL, j);
  if (j->yajl == NULL) {
    free(j);
    return NULL;
  }
  return j;
}

/* After yajl's refusal: -1, with its reason unless an event stopped it.
 * Not verbose: verbose mode quotes the bytes around the error. */
static int refused(sm_json_t *j) {
  unsigned char *e;

  if (j->failed)
    return -1;
  j->failed = true;
  e = yajl_get_error(j->yajl, 0, NULL, 0);
  if (e == NULL) {
    sm_text_printf(j->error, sizeof(j->error), "out of memory");
    return -1;
  }
  sm_text_printf(j->error, sizeof(j->error), "%.*s",
                 (int)strcspn((const char *)e, "\r\n"), (const char *)e);
  yajl_free_error(j->yajl, e);
  return -1;
}

int sm_json_feed(sm_json_t *j, const char *data, size_t len) {
  if (j->failed)
    return -1;
  if (j->finished) {
    j->failed = true;
    sm_text_printf(j->error, sizeof(j->error),
                   "data after the end of the document");
    return -1;
  }
  if (len == 0)
    return 0;
  if (yajl_parse(j->yajl, (const unsigned char *)data, len) != yajl_status_ok)
    return refused(j);
  return 0;
}

int sm_json_finish(sm_json_t *j) {
  if (j->failed)
    return -1;
  if (!j->finished) {
    j->finished = true;
    if (yajl_complete_parse(j->yajl) != yajl_status_ok)
      return refused(j);
  }
  return 0;
}

const char *sm_json_error(const sm_json_t *j) { return j->error; }

int sm_json_parse(const sm_json_events_t *ev, void *ud, const char *data,
                  size_t len, char *err, size_t err_size) {
  sm_json_t *j = sm_json_create(ev, ud);
  int rc;

  if (j == NULL) {
    sm_text_printf(err, err_size, "out of memory");
    return -1;
  }
  rc = sm_json_feed(j, data, len);
  if (rc == 0)
    rc = sm_json_finish(j);
  sm_text_printf(err, err_size, "%s", j->error);
  sm_json_destroy(j);
  return rc;
}

int sm_json_integer(const char *text, size_t len, long long *out) {
  char buf[32];
  char *end;
  long long v;

  /* yajl checked the syntax: an integer is a sign and digits, without
   * leading zeros (so one of 32 bytes or more is out of range). */
  if (len == 0 || len >= sizeof(buf) || text[len - 1] < '0' ||
      text[len - 1] > '9' || memchr(text, '.', len) != NULL ||
      memchr(text, 'e', len) != NULL || memchr(text, 'E', len) != NULL)
    return -1;
  memcpy(buf, text, len);
  buf[len] = '\0';
  errno = 0;
  v = strtoll(buf, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *out = v;
  return 0;
}
