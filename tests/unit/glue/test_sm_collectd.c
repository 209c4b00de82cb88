/* SPDX-License-Identifier: MIT */
/*
 * The table-driven option parser of the glue (plugin/sm_collectd.c),
 * against collectd's configuration items built by hand and the stand-in
 * of the daemon's logging (tests/fakes/collectd_stubs.h): defaults, every type
 * with its limits, custom setters, repeatable options, an option given
 * twice, unknown options, and the exact wording of each error in both
 * styles.
 */
#include "collectd_stubs.h"

#include <math.h>

#include "tap.h"

/* The last line logged (the stand-in of the daemon keeps them). */
static const char *last_log(void) {
  size_t n = stub_log_count();
  return n > 0 ? stub_log_line(n - 1, NULL) : "";
}

/* ------------------------------------------------------------ table */

typedef struct {
  char *name;
  bool flag;
  int count;
  size_t bytes;
  double ratio;
  cdtime_t wait;
  int items;
} conf_t;

static int set_item(const sm_collectd_option_t *opt, const oconfig_item_t *ci,
                    void *obj, const sm_collectd_where_t *where) {
  conf_t *c = obj;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return sm_collectd_option_fail(where, opt, ci, "expected one string");
  c->items++;
  return 0;
}

/* An option of conf_t's field f, without a setter or flags. */
#define OPT(n, t, f, d, lo, hi)                                                \
  {                                                                            \
    .name = (n), .type = SM_COLLECTD_OPT_##t, .offset = offsetof(conf_t, f),   \
    .def = (d), .min = (lo), .max = (hi)                                       \
  }
static const sm_collectd_option_t opts[] = {
    OPT("Name", STRING, name, "dflt", 1, 8),
    OPT("Flag", BOOLEAN, flag, "true", 0, 0),
    OPT("Count", INT, count, "10", 1, 100),
    OPT("Bytes", SIZE, bytes, "4096", 4096, 1073741824),
    OPT("Ratio", DOUBLE, ratio, "0.5", 0, 1),
    OPT("Wait", SECONDS, wait, NULL, 0.001, 60),
    {.name = "Item",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .set = set_item,
     .flags = SM_COLLECTD_OPT_REPEATABLE},
};
#define N (sizeof(opts) / sizeof(opts[0]))

static const sm_collectd_where_t where = {
    .plugin = "p",
    .block = "<Block \"b\">",
    .style = SM_COLLECTD_MSG_INVALID_VALUE_FOR};

/* ---------------------------------------------------- items by hand */

static oconfig_value_t num(double d) {
  return (oconfig_value_t){.value.number = d, .type = OCONFIG_TYPE_NUMBER};
}
static oconfig_value_t str(const char *s) {
  return (oconfig_value_t){.value.string = (char *)s,
                           .type = OCONFIG_TYPE_STRING};
}
static oconfig_value_t boolean(bool b) {
  return (oconfig_value_t){.value.boolean = b, .type = OCONFIG_TYPE_BOOLEAN};
}

/* Reads a block of these n items into *c, fresh with its defaults, in
 * this wording; returns the parser's result (given as the parser's). */
static int read_items(conf_t *c, oconfig_item_t *ch, int n,
                      const sm_collectd_where_t *w, bool *given) {
  oconfig_item_t block = {.key = "Block", .children = ch, .children_num = n};
  memset(c, 0, sizeof(*c));
  sm_collectd_options_defaults(opts, N, c, w);
  stub_log_clear();
  return sm_collectd_options_read(opts, N, &block, c, w, given);
}

/* A block of one option (key, one value). */
static int read1(conf_t *c, const char *key, oconfig_value_t v) {
  oconfig_item_t child = {.key = (char *)key, .values = &v, .values_num = 1};
  return read_items(c, &child, 1, &where, NULL);
}

/* The block of these items is refused, and the last line logged is want. */
static void refused(oconfig_item_t *ch, int n, const sm_collectd_where_t *w,
                    const char *want, const char *what) {
  conf_t c;
  T_EQ_INT(read_items(&c, ch, n, w, NULL), -1, what);
  T_EQ_STR(last_log(), want, "  the message");
  free(c.name);
}

/* A block of one option refused with this message (the invalid value's
 * message after INVALID). */
#define INVALID "p plugin: <Block \"b\">: invalid value for "
static void refused1(const char *key, oconfig_value_t v, const char *want) {
  oconfig_item_t child = {.key = (char *)key, .values = &v, .values_num = 1};
  refused(&child, 1, &where, want, key);
}

int main(void) {
  conf_t c;
  bool given[N];

  memset(&c, 0, sizeof(c));
  T_EQ_INT(sm_collectd_options_defaults(opts, N, &c, &where), 0, "defaults");
  T_EQ_STR(c.name, "dflt", "string default");
  T_OK(c.flag && c.count == 10 && c.bytes == 4096 && c.ratio == 0.5 &&
           c.wait == 0 && c.items == 0,
       "every other default, and none where none is given");
  free(c.name);

  /* A block of every option, Item twice. */
  {
    oconfig_value_t v[] = {str("abc"), str("off"), num(100), num(1 << 20),
                           num(0.25),  num(1.5),   str("x"), str("y")};
    oconfig_item_t ch[] = {
        {.key = "name", .values = &v[0], .values_num = 1},
        {.key = "FLAG", .values = &v[1], .values_num = 1},
        {.key = "Count", .values = &v[2], .values_num = 1},
        {.key = "Bytes", .values = &v[3], .values_num = 1},
        {.key = "Ratio", .values = &v[4], .values_num = 1},
        {.key = "Wait", .values = &v[5], .values_num = 1},
        {.key = "Item", .values = &v[6], .values_num = 1},
        {.key = "Item", .values = &v[7], .values_num = 1},
    };
    T_EQ_INT(read_items(&c, ch, 8, &where, given), 0,
             "a block of every option, names in any case");
    T_EQ_STR(c.name, "abc", "string replaced (the default is freed)");
    T_OK(!c.flag, "boolean from the string \"off\"");
    T_EQ_INT(c.count, 100, "int at its maximum");
    T_EQ_INT(c.bytes, 1 << 20, "size");
    T_EQ_DBL(c.ratio, 0.25, "double");
    T_EQ_INT(c.wait, DOUBLE_TO_CDTIME_T(1.5), "seconds as cdtime_t");
    T_EQ_INT(c.items, 2, "a repeatable custom option, set twice");
    T_OK(given[0] && given[5] && given[6], "given says what was given");
    free(c.name);
  }

  T_EQ_INT(read1(&c, "Flag", boolean(false)), 0, "a boolean");
  T_OK(!c.flag, "  false");
  free(c.name);
  T_EQ_INT(read1(&c, "Flag", str("Yes")), 0, "the string Yes");
  T_OK(c.flag, "  true");
  free(c.name);

  refused1("Count", num(0),
           INVALID "Count: 0 (expected an integer from 1 to 100)");
  refused1("Count", num(2.5),
           INVALID "Count: 2.5 (expected an integer from 1 to 100)");
  refused1("Count", num(NAN),
           INVALID "Count: nan (expected an integer from 1 to 100)");
  refused1("Count", str("5"),
           INVALID "Count: \"5\" (expected an integer from 1 to 100)");
  refused1("Bytes", num(-1),
           INVALID "Bytes: -1 (expected a whole number from 4096 to "
                   "1073741824)");
  refused1("Ratio", num(1.5),
           INVALID "Ratio: 1.5 (expected a number from 0 to 1)");
  refused1("Wait", num(0),
           INVALID "Wait: 0 (expected a number of seconds from 0.001 to 60)");
  refused1("Name", str("toolongname"),
           INVALID "Name: \"toolongname\" (expected a string of 1 to 8 "
                   "bytes)");
  refused1("Name", num(3),
           INVALID "Name: 3 (expected a string of 1 to 8 bytes)");
  refused1("Flag", str("maybe"),
           INVALID "Flag: \"maybe\" (expected true or false)");
  refused1("Item", num(1), INVALID "Item: 1 (expected one string)");
  refused1("Nmae", str("x"),
           "p plugin: <Block \"b\">: unknown option \"Nmae\"");

  /* Two values, and a non-repeatable option given twice. */
  {
    oconfig_value_t v[] = {num(1), num(2)};
    oconfig_item_t two[] = {{.key = "Count", .values = v, .values_num = 2}};
    oconfig_item_t twice[] = {
        {.key = "Count", .values = &v[0], .values_num = 1},
        {.key = "count", .values = &v[1], .values_num = 1}};
    refused(two, 1, &where,
            INVALID "Count: (several values) (expected an integer from 1 to "
                    "100)",
            "two values are refused");
    refused(twice, 2, &where,
            "p plugin: <Block \"b\">: count is given twice; give it once",
            "an option given twice is refused");
  }

  /* write_cloudwatch's wording, for the plugin's own block. */
  {
    sm_collectd_where_t w2 = {.plugin = "q",
                              .style = SM_COLLECTD_MSG_KEY_VALUE};
    oconfig_value_t v = num(0);
    oconfig_item_t ch = {.key = "Count", .values = &v, .values_num = 1};
    refused(&ch, 1, &w2, "q plugin: Count 0: expected an integer from 1 to 100",
            "KEY VALUE wording");
  }

  /* A default its own limits refuse is a mistake of the table. */
  {
    static const sm_collectd_option_t bad[] = {
        OPT("Count", INT, count, "1000", 1, 100)};
    T_EQ_INT(sm_collectd_options_defaults(bad, 1, &c, &where), -1,
             "a default out of its limits is refused");
    T_OK(strstr(last_log(), "\"1000\" of Count") != NULL, "  and said: %s",
         last_log());
  }
  T_OK(sm_collectd_option_find(opts, N, "WAIT") == &opts[5] &&
           sm_collectd_option_find(opts, N, "Nope") == NULL,
       "find, without case");
  return t_done();
}
