/* SPDX-License-Identifier: MIT */
/*
 * sm_json: yajl's streaming parser behind four events, for the parsers
 * that read one JSON document as it comes (credentials, AWS error bodies,
 * PutLogEvents answers, spooled bodies).
 *
 * Each event gets its depth, the number of arrays and objects around it:
 * 0 for the top-level value, 1 for a member of the top-level object (its
 * key and its value) or an element of the top-level array, and so on. An
 * array or object opens and closes at the depth of the value it is; what
 * it holds is one deeper. An event returns 0 to go on, non-zero to stop
 * the parse (the event's owner knows why). A NULL event is skipped.
 *
 * yajl's defaults hold: strings are checked to be UTF-8, one value per
 * document, nothing after it but white space. Numbers are handed over as
 * written; sm_json_integer() reads one as an integer. A syntax error is
 * yajl's reason, one line, without the text around it (a credentials
 * document's text is secret).
 *
 * collectd-free; a handle is used by one thread at a time.
 */
#ifndef SM_JSON_H
#define SM_JSON_H 1

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  SM_JSON_NULL,   /* text "null" */
  SM_JSON_BOOL,   /* text "true" or "false" */
  SM_JSON_NUMBER, /* text as written: "-1", "1.5e300" */
  SM_JSON_STRING, /* text unescaped UTF-8, not NUL-terminated; may hold
                     NUL bytes (\u0000) */
} sm_json_type_t;

typedef struct {
  /* A value that is not an array or object. */
  int (*scalar)(void *ud, unsigned depth, sm_json_type_t type, const char *text,
                size_t len);
  /* An object's member name (unescaped, as a string's text). */
  int (*key)(void *ud, unsigned depth, const char *text, size_t len);
  int (*open)(void *ud, unsigned depth, bool is_array);
  int (*close)(void *ud, unsigned depth, bool is_array);
} sm_json_events_t;

typedef struct sm_json_s sm_json_t;

/* ev must outlive the handle. NULL: out of memory. */
sm_json_t *sm_json_create(const sm_json_events_t *ev, void *ud);
void sm_json_destroy(sm_json_t *j);

/* The next len bytes of the document, in any split. 0, or -1 once the
 * document is refused (then -1 at once): not JSON, or an event stopped. */
int sm_json_feed(sm_json_t *j, const char *data, size_t len);
/* The end of the document: 0 when it was one whole value, else -1. After
 * it, sm_json_feed refuses more data. */
int sm_json_finish(sm_json_t *j);
/* "" while all is well; after a -1, why: yajl's reason ("parse error:
 * premature EOF"), "stopped" when an event stopped the parse, "data after
 * the end of the document" or "out of memory". */
const char *sm_json_error(const sm_json_t *j);

/* A whole document: create, feed, finish, destroy. 0, or -1 with the
 * reason in err (as sm_json_error; err may be NULL). */
int sm_json_parse(const sm_json_events_t *ev, void *ud, const char *data,
                  size_t len, char *err, size_t err_size);

/* A number's text (from a SM_JSON_NUMBER event) as an integer: 0 and *out
 * set, or -1 when it has a fraction or an exponent or is out of range. */
int sm_json_integer(const char *text, size_t len, long long *out);

#endif /* SM_JSON_H */
