/* SPDX-License-Identifier: MIT */
/*
 * sm_buf: the project's one growable byte buffer, with a hard maximum:
 * request texts for the signer, a sketch's text, credentials answers, the
 * simulator's documents. Content is always NUL-terminated (the NUL not
 * counted) once anything was added, so it can be used as a string.
 *
 * An append that would take the buffer past its maximum, or that runs out
 * of memory, adds nothing, returns -1 and sets `over` or `nomem`, which
 * stay set until sm_buf_reset: a caller may append many pieces and check
 * once at the end.
 *
 * collectd-free; no global state.
 */
#ifndef SM_BUF_H
#define SM_BUF_H 1

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  char *p;    /* the bytes, NUL-terminated; NULL until the first append */
  size_t len; /* bytes held, without the NUL */
  size_t cap; /* bytes allocated */
  size_t max; /* len never exceeds it */
  bool over;  /* an append did not fit max */
  bool nomem; /* an append found no memory */
} sm_buf_t;

/* An empty buffer of at most max bytes (no allocation yet). */
void sm_buf_init(sm_buf_t *b, size_t max);

/* Appends; 0, or -1 (see above). */
int sm_buf_add(sm_buf_t *b, const void *data, size_t n);
int sm_buf_adds(sm_buf_t *b, const char *s);
int sm_buf_addc(sm_buf_t *b, char c);
int sm_buf_printf(sm_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether every append so far succeeded. */
bool sm_buf_ok(const sm_buf_t *b);

/* Empties the buffer, keeping its memory, and clears over and nomem. */
void sm_buf_reset(sm_buf_t *b);

/* Cuts the buffer back to len bytes (a mark taken from b->len before
 * appending a unit that may fail), and clears over and nomem. */
void sm_buf_truncate(sm_buf_t *b, size_t len);

/* Hands the bytes to the caller (who frees them; "" when empty, NULL when
 * out of memory), leaving the buffer empty. */
char *sm_buf_take(sm_buf_t *b);

/* Frees the bytes; sm_buf_wipe overwrites them first (secrets). */
void sm_buf_free(sm_buf_t *b);
void sm_buf_wipe(sm_buf_t *b);

#endif /* SM_BUF_H */
