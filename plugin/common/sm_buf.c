/* SPDX-License-Identifier: MIT */
/*
 * sm_buf: a growable buffer with a maximum (see sm_buf.h).
 */
#include "sm_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sm_buf_init(sm_buf_t *b, size_t max) {
  memset(b, 0, sizeof(*b));
  b->max = max;
}

/* Room for extra more bytes and the NUL. */
static int reserve(sm_buf_t *b, size_t extra) {
  size_t want, cap;
  char *p;

  if (extra > b->max - b->len) {
    b->over = true;
    return -1;
  }
  want = b->len + extra + 1;
  if (want <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < want)
    cap *= 2;
  if (cap > b->max + 1)
    cap = b->max + 1;
  p = realloc(b->p, cap);
  if (p == NULL) {
    b->nomem = true;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

int sm_buf_add(sm_buf_t *b, const void *data, size_t n) {
  if (reserve(b, n) != 0)
    return -1;
  if (n > 0)
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
  return 0;
}

int sm_buf_adds(sm_buf_t *b, const char *s) {
  return sm_buf_add(b, s, strlen(s));
}

int sm_buf_addc(sm_buf_t *b, char c) { return sm_buf_add(b, &c, 1); }

int sm_buf_printf(sm_buf_t *b, const char *fmt, ...) {
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || reserve(b, (size_t)n) != 0) {
    if (n < 0)
      b->nomem = true;
    return -1;
  }
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

bool sm_buf_ok(const sm_buf_t *b) { return !b->over && !b->nomem; }

void sm_buf_reset(sm_buf_t *b) {
  b->len = 0;
  if (b->p != NULL)
    b->p[0] = 0;
  b->over = b->nomem = false;
}

void sm_buf_truncate(sm_buf_t *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->p[len] = 0;
  }
  b->over = b->nomem = false;
}

char *sm_buf_take(sm_buf_t *b) {
  char *p = b->p != NULL ? b->p : strdup("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void sm_buf_free(sm_buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void sm_buf_wipe(sm_buf_t *b) {
  if (b->p != NULL)
    explicit_bzero(b->p, b->cap);
  sm_buf_free(b);
}
