/* SPDX-License-Identifier: MIT */
/*
 * sm_json against hand-written event logs: every kind of value with its
 * depth, in order; the same log when the document comes in two pieces
 * split at every byte and one byte at a time; syntax errors, trailing
 * data and cut documents refused with yajl's reason on one line that
 * quotes none of the input; an event that stops the parse; the one-shot
 * helper; integers read from a number's text.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_json.h"
#include "tap.h"

/* The events as text: "{0" an object opening at depth 0, "k1:a" a key,
 * "n1:-1.5" a number (z null, b boolean, s string), "]2" an array
 * closing; one space between. A NUL in a text is written "\0". */
typedef struct {
  char log[2048];
  size_t len;
  int stop_at; /* the event (1-based) that returns non-zero; 0: none */
  int events;
} rec_t;

static void put(rec_t *r, const char *s, size_t n) {
  for (size_t i = 0; i < n && r->len + 3 < sizeof(r->log); i++) {
    if (s[i] == '\0') {
      r->log[r->len++] = '\\';
      r->log[r->len++] = '0';
    } else {
      r->log[r->len++] = s[i];
    }
  }
  r->log[r->len] = '\0';
}

static int event(rec_t *r, char tag, unsigned depth, const char *text,
                 size_t len) {
  char head[16];
  int n = snprintf(head, sizeof(head), "%s%c%u%s", r->len > 0 ? " " : "", tag,
                   depth, text != NULL ? ":" : "");
  put(r, head, (size_t)n);
  if (text != NULL)
    put(r, text, len);
  return ++r->events == r->stop_at;
}

static int on_scalar(void *ud, unsigned depth, sm_json_type_t type,
                     const char *text, size_t len) {
  static const char tags[] = {[SM_JSON_NULL] = 'z',
                              [SM_JSON_BOOL] = 'b',
                              [SM_JSON_NUMBER] = 'n',
                              [SM_JSON_STRING] = 's'};
  return event(ud, tags[type], depth, text, len);
}
static int on_key(void *ud, unsigned depth, const char *text, size_t len) {
  return event(ud, 'k', depth, text, len);
}
static int on_open(void *ud, unsigned depth, bool is_array) {
  return event(ud, is_array ? '[' : '{', depth, NULL, 0);
}
static int on_close(void *ud, unsigned depth, bool is_array) {
  return event(ud, is_array ? ']' : '}', depth, NULL, 0);
}

static const sm_json_events_t events = {on_scalar, on_key, on_open, on_close};

/* Every kind of value, nested, with escapes and white space. */
static const char DOC[] =
    " {\"a\": null, \"b\": true, \"c\": false, \"d\": -1.5e300, \"e\": 0,\n"
    "  \"f\\u00e9\": \"x\\\"\\n\\u0000\\u00e9\",\n"
    "  \"g\": [1, [], {}, [\"h\", {\"i\": [2.25]}]], \"\": \"\"} ";
static const char DOC_LOG[] =
    "{0 k1:a z1:null k1:b b1:true k1:c b1:false k1:d n1:-1.5e300 k1:e n1:0 "
    "k1:f\xC3\xA9 s1:x\"\n\\0\xC3\xA9 "
    "k1:g [1 n2:1 [2 ]2 {2 }2 [2 s3:h {3 k4:i [4 n5:2.25 ]4 }3 ]2 ]1 "
    "k1: s1: }0";

/* Feeds doc in pieces (cut at each offset of cuts, then the rest). */
static int run(rec_t *r, const char *doc, size_t len, const size_t *cuts,
               size_t ncuts, char *err, size_t err_size) {
  sm_json_t *j = sm_json_create(&events, r);
  size_t at = 0;
  int rc = 0;

  if (j == NULL)
    return -2;
  for (size_t i = 0; i <= ncuts && rc == 0; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    rc = sm_json_feed(j, doc + at, end - at);
    at = end;
  }
  if (rc == 0)
    rc = sm_json_finish(j);
  snprintf(err, err_size, "%s", sm_json_error(j));
  sm_json_destroy(j);
  return rc;
}

static void test_events(void) {
  rec_t r = {0};
  char err[256];

  T_EQ_INT(run(&r, DOC, strlen(DOC), NULL, 0, err, sizeof(err)), 0,
           "a document of every kind of value");
  T_EQ_STR(r.log, DOC_LOG, "its events in order, each at its depth");
  T_EQ_STR(err, "", "no error");

  static const struct {
    const char *doc, *log;
  } tops[] = {
      {"42", "n0:42"},
      {" \"s\" ", "s0:s"},
      {"null", "z0:null"},
      {"[]", "[0 ]0"},
      {"[[[{\"a\":[]}]]]", "[0 [1 [2 {3 k4:a [4 ]4 }3 ]2 ]1 ]0"},
  };
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    rec_t t = {0};
    int rc =
        run(&t, tops[i].doc, strlen(tops[i].doc), NULL, 0, err, sizeof(err));
    T_OK(rc == 0 && strcmp(t.log, tops[i].log) == 0, "top-level %s: %s",
         tops[i].doc, t.log);
  }
}

static void test_pieces(void) {
  size_t len = strlen(DOC);
  char err[256];
  size_t bad = 0;
  size_t *each = malloc(len * sizeof(*each));

  for (size_t cut = 0; cut <= len; cut++) {
    rec_t r = {0};
    if (run(&r, DOC, len, &cut, 1, err, sizeof(err)) != 0 ||
        strcmp(r.log, DOC_LOG) != 0) {
      if (bad++ == 0)
        T_NOTE("cut at %zu: %s (%s)", cut, r.log, err);
    }
  }
  T_EQ_INT(bad, 0, "two pieces, cut at every byte: the same events");

  for (size_t i = 0; i < len; i++)
    each[i] = i;
  {
    rec_t r = {0};
    T_OK(run(&r, DOC, len, each, len, err, sizeof(err)) == 0 &&
             strcmp(r.log, DOC_LOG) == 0,
         "one byte at a time: the same events");
  }
  free(each);
}

/* A refused document: -1, the reason on one line, none of the input. */
static void refused(const char *doc, const char *want, const char *secret,
                    const char *what) {
  rec_t r = {0};
  char err[256];
  int rc = run(&r, doc, strlen(doc), NULL, 0, err, sizeof(err));

  T_OK(rc == -1 && strcmp(err, want) == 0, "%s: \"%s\"", what, err);
  if (secret != NULL)
    T_OK(strstr(err, secret) == NULL && strchr(err, '\n') == NULL,
         "%s: the input is not quoted", what);
}

static void test_errors(void) {
  refused("{\"AccessKeyId\":\"AKIDSECRET\" \"SECRETTOKEN\"}",
          "parse error: after key and value, inside map, I expect ',' or '}'",
          "SECRET", "a syntax error");
  refused("{\"a\":\"SECRET\x01\"}",
          "lexical error: invalid character inside string.", "SECRET",
          "a control character in a string");
  refused("[\"SECRET\xff\"]", "lexical error: invalid bytes in UTF8 string.",
          "SECRET", "invalid UTF-8 in a string");
  refused("{\"a\":1} SECRET", "parse error: trailing garbage", "SECRET",
          "trailing garbage");
  refused("{} {}", "parse error: trailing garbage", NULL, "a second document");
  refused("{\"a\":[1,", "parse error: premature EOF", NULL, "cut short");
  refused("", "parse error: premature EOF", NULL, "empty");
  refused("  ", "parse error: premature EOF", NULL, "white space only");
  refused("[1]]", "parse error: trailing garbage", NULL, "unbalanced");

  {
    sm_json_t *j = sm_json_create(&events, &(rec_t){0});
    T_OK(sm_json_feed(j, "[1", 2) == 0 && sm_json_feed(j, "x", 1) == -1 &&
             sm_json_feed(j, "]", 1) == -1 && sm_json_finish(j) == -1,
         "once refused, refused at once");
    sm_json_destroy(j);
  }
  {
    sm_json_t *j = sm_json_create(&events, &(rec_t){0});
    T_OK(sm_json_feed(j, "[1]", 3) == 0 && sm_json_finish(j) == 0 &&
             sm_json_feed(j, "", 0) == -1,
         "data after finish refused");
    T_EQ_STR(sm_json_error(j), "data after the end of the document",
             "with its reason");
    sm_json_destroy(j);
  }
}

static void test_stop(void) {
  rec_t r = {.stop_at = 3};
  char err[256];

  T_EQ_INT(run(&r, "[1,2,3]", 7, NULL, 0, err, sizeof(err)), -1,
           "an event that returns non-zero stops the parse");
  T_EQ_STR(r.log, "[0 n1:1 n1:2", "no event after it");
  T_EQ_STR(err, "stopped", "the reason");

  {
    rec_t s = {.stop_at = 2};
    sm_json_t *j = sm_json_create(&events, &s);
    T_OK(sm_json_feed(j, "{\"a\"", 4) == -1 && sm_json_feed(j, ":1}", 3) == -1,
         "stopped on a key, then refused at once");
    T_EQ_STR(s.log, "{0 k1:a", "the events up to the stop");
    sm_json_destroy(j);
  }
  {
    static const sm_json_events_t none = {0};
    T_EQ_INT(sm_json_parse(&none, NULL, DOC, strlen(DOC), NULL, 0), 0,
             "NULL events are skipped");
  }
}

static void test_parse(void) {
  rec_t r = {0};
  char err[64] = "x";

  T_EQ_INT(sm_json_parse(&events, &r, DOC, strlen(DOC), err, sizeof(err)), 0,
           "sm_json_parse: a whole document");
  T_EQ_STR(r.log, DOC_LOG, "sm_json_parse: the same events");
  T_EQ_STR(err, "", "sm_json_parse: no error");
  T_EQ_INT(sm_json_parse(&events, &(rec_t){0}, "[1,", 3, err, sizeof(err)), -1,
           "sm_json_parse: a cut document");
  T_EQ_STR(err, "parse error: premature EOF", "sm_json_parse: the reason");
  T_EQ_INT(sm_json_parse(&events, &(rec_t){0}, "[1 2]", 5, err, 8), -1,
           "sm_json_parse: a bad document");
  T_EQ_STR(err, "parse e", "sm_json_parse: the reason cut to fit");
  T_EQ_INT(sm_json_parse(&events, &(rec_t){0}, "{", 1, NULL, 0), -1,
           "sm_json_parse: no error buffer");
}

static void test_integer(void) {
  static const struct {
    const char *text;
    int rc;
    long long want;
  } cases[] = {
      {"0", 0, 0},
      {"-0", 0, 0},
      {"42", 0, 42},
      {"-17", 0, -17},
      {"9223372036854775807", 0, 9223372036854775807LL},
      {"-9223372036854775808", 0, -9223372036854775807LL - 1},
      {"9223372036854775808", -1, 0},
      {"-9223372036854775809", -1, 0},
      {"100000000000000000000000", -1, 0},
      {"1.0", -1, 0},
      {"1e3", -1, 0},
      {"1E3", -1, 0},
      {"", -1, 0},
      {"-", -1, 0},
  };
  int all = 1;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    long long v = 12345;
    int rc = sm_json_integer(cases[i].text, strlen(cases[i].text), &v);
    if (rc != cases[i].rc || (rc == 0 && v != cases[i].want)) {
      T_NOTE("\"%s\": rc %d, %lld", cases[i].text, rc, v);
      all = 0;
    }
  }
  T_OK(all, "sm_json_integer: %zu texts", sizeof(cases) / sizeof(cases[0]));
  {
    long long v = 0;
    T_OK(sm_json_integer("12}", 2, &v) == 0 && v == 12,
         "sm_json_integer: reads len bytes only");
  }
}

int main(void) {
  test_events();
  test_pieces();
  test_errors();
  test_stop();
  test_parse();
  test_integer();
  return t_done();
}
