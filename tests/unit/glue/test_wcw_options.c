/* SPDX-License-Identifier: MIT */
/*
 * write_cloudwatch's options (plugin/wcw_options.c), given to the config
 * callback as collectd gives them: every option of README's table with a
 * good value (and where it lands), its limits (accepted at the bounds,
 * refused just beyond), a value of the wrong type, given twice; the exact
 * error line (plugin, "block N", option, value as written, what was
 * expected); and the defaults a block without options gets, each equal
 * to README's default column.
 *
 * Independent sources: README's table (the options, their defaults and
 * ranges), the man page (the ranges README leaves out: MaxAttempts,
 * Region, Profile, the 64 filters), include/sm_collectd.h's wording of
 * what a typed option expects ("expected an integer from 1 to 10000").
 * The wording of a custom option's refusal is the code's own (no document
 * words it): those lines pin it.
 */
#include "wcw_fixture.h"

#include <math.h>
#include <stdlib.h>

#include "tap.h"

typedef enum {
  F_STR,   /* char * */
  F_BOOL,  /* bool */
  F_INT,   /* int */
  F_SIZE,  /* size_t */
  F_DBL,   /* double */
  F_SECS,  /* cdtime_t */
  F_U64,   /* uint64_t */
  F_COUNT, /* a repeatable option: checked by hand */
} field_t;

/* An option as the documents describe it. Values are written as in
 * collectd.conf; NULL where there is nothing of that kind to try. */
typedef struct {
  const char *name;
  field_t f;
  size_t off;
  const char *good, *stored;  /* a good value, what the field then holds */
  const char *low, *high;     /* the documented bounds: accepted */
  const char *below, *above;  /* just beyond them: refused */
  const char *wrong;          /* a value of another type: refused */
  const char *expected;       /* what a refusal says was expected */
  const char *wrong_expected; /* for the wrong type, when not the same */
} opt_t;

#define OFF(field) offsetof(wcw_t, field)
#define S32 "abcdefghij-abcdefghij-abcdefghij"
#define S33 S32 "k"

/* Strings at and beyond their bounds, in quotes (made by main). */
static char s128[140], s129[140], s255[260], s256[260];

static void quoted(char *buf, char c, size_t n) {
  buf[0] = '"';
  memset(buf + 1, c, n);
  buf[n + 1] = '"';
  buf[n + 2] = 0;
}

/* Ranges: README's table, else the man page (MaxAttempts, Region,
 * Profile); the limits of strings the documents do not bound are the
 * code's, and only their lower bound (not empty) is tried. */
static const opt_t opts[] = {
    {"Region", F_STR, OFF(region_cfg), "\"us-west-2\"", "us-west-2", "\"a\"",
     "\"" S32 "\"", "\"\"", "\"" S33 "\"", "5",
     "not a region name (lowercase letters, digits and hyphens, as "
     "us-east-1)",
     NULL},
    {"Endpoint", F_STR, OFF(endpoint), "\"http://127.0.0.1:9/cw\"",
     "http://127.0.0.1:9/cw", NULL, NULL, "\"\"", NULL, "true",
     "expected a string of 1 to 1024 bytes", NULL},
    {"Namespace", F_STR, OFF(ns), "\"Test/NS\"", "Test/NS", "\"N\"", s255, NULL,
     s256, "5", "namespace too long, at most 255 characters",
     "expected a string"},
    {"Profile", F_STR, OFF(profile), "\"testing\"", "testing", "\"p\"", s128,
     "\"\"", s129, "1", "expected a string of 1 to 128 bytes", NULL},
    {"FlushInterval", F_SECS, OFF(flush_interval), "30", "30", "1", "3600",
     "0.5", "3601", "true", "expected a number of seconds from 1 to 3600",
     NULL},
    {"StorageResolution", F_INT, OFF(storage_resolution), "1", "1", "1", "60",
     "0", "61", "\"1\"", "must be 1 (high resolution) or 60", NULL},
    {"MaxQueuedDatums", F_SIZE, OFF(max_queued), "5000", "5000", "1000",
     "10000000", "999", "10000001", "1500.5",
     "expected a whole number from 1000 to 10000000", NULL},
    {"MaxAttempts", F_INT, OFF(max_attempts), "3", "3", "1", "100", "0", "101",
     "\"3\"", "expected an integer from 1 to 100", NULL},
    {"Compress", F_BOOL, OFF(compress), "false", "false", NULL, NULL, NULL,
     NULL, "1", "expected true or false", NULL},
    {"Timeout", F_SECS, OFF(timeout), "2.5", "2.5", "0.1", "300", "0.09",
     "300.5", "\"2\"", "expected a number of seconds from 0.1 to 300", NULL},
    {"ShutdownTimeout", F_SECS, OFF(shutdown_timeout), "7", "7", "0", "600",
     "-1", "601", "false", "expected a number of seconds from 0 to 600", NULL},
    {"Percentiles", F_BOOL, OFF(percentiles), "false", "false", NULL, NULL,
     NULL, NULL, "\"maybe\"", "expected true or false", NULL},
    {"GenericMetrics", F_BOOL, OFF(generic), "true", "true", NULL, NULL, NULL,
     NULL, "2", "expected true or false", NULL},
    {"HostMetrics", F_BOOL, OFF(host_metrics), "true", "true", NULL, NULL, NULL,
     NULL, "0", "expected true or false", NULL},
    {"HostMetricsNamespace", F_STR, OFF(host_ns), "\"Test/Host\"", "Test/Host",
     "\"H\"", s255, NULL, s256, "false",
     "namespace too long, at most 255 characters", "expected a string"},
    {"HostMetricsEndpointName", F_STR, OFF(host_endpoint_cfg), "\"ep-x\"",
     "ep-x", "\"e\"", NULL, "\"\"", NULL, "7",
     "expected a string of 1 to 255 bytes", NULL},
    {"HostMetricsVariantName", F_STR, OFF(host_variant_cfg), "\"v-x\"", "v-x",
     "\"v\"", NULL, "\"\"", NULL, "7", "expected a string of 1 to 255 bytes",
     NULL},
    /* The df plugin's name of the mount point (the man page). */
    {"HostMetricsFileSystem", F_STR, OFF(host_disk), "\"/var/lib\"", "var-lib",
     NULL, NULL, "\"\"", NULL, "1",
     "expected a mount point or a df plugin instance", NULL},
    {"Include", F_COUNT, OFF(include_num), "\"^cpu\"", NULL, NULL, NULL, NULL,
     NULL, "1", "expected one string (a regular expression)", NULL},
    {"Exclude", F_COUNT, OFF(exclude_num), "\"^cpu-1\"", NULL, NULL, NULL, NULL,
     NULL, "true", "expected one string (a regular expression)", NULL},
    {"Dimension", F_COUNT, OFF(dims_num), "\"Cluster\" \"c1\"", NULL, NULL,
     NULL, NULL, NULL, "\"Cluster\"", "expected two strings: name and value",
     NULL},
    {"IMDSv1Fallback", F_BOOL, OFF(imds_v1), "true", "true", NULL, NULL, NULL,
     NULL, "\"sometimes\"", "expected true or false", NULL},
    {"DataLog", F_BOOL, OFF(datalog), "false", "false", NULL, NULL, NULL, NULL,
     "1", "expected true or false", NULL},
    {"LogsEndpoint", F_STR, OFF(logs_endpoint), "\"http://127.0.0.1:9/logs\"",
     "http://127.0.0.1:9/logs", NULL, NULL, "\"\"", NULL, "2",
     "expected a string of 1 to 1024 bytes", NULL},
    {"InstanceId", F_STR, OFF(instance_id_cfg), "\"i-0abc\"", "i-0abc", "\"i\"",
     NULL, "\"\"", NULL, "3", "expected a string of 1 to 63 bytes", NULL},
    {"MaxQueuedLogEvents", F_SIZE, OFF(max_log_events), "2000", "2000", "1000",
     "10000000", "999", "10000001", "\"2000\"",
     "expected a whole number from 1000 to 10000000", NULL},
    {"SpoolDirectory", F_STR, OFF(spool_dir), "\"/tmp/sm-spool-test\"",
     "/tmp/sm-spool-test", NULL, NULL, "\"\"", NULL, "1",
     "expected a directory", NULL},
    {"SpoolMaxBytes", F_U64, OFF(spool_max_bytes), "2097152", "2097152",
     "1048576", "1099511627776", "1048575", "1099511627777", "\"2097152\"",
     "expected a whole number of bytes from 1048576 (1 MiB) to "
     "1099511627776 (1 TiB)",
     "expected a number of bytes"},
    {"MaxRequestsPerSecond", F_DBL, OFF(max_rps), "5.5", "5.5", "0.1", "1000",
     "0.09", "1000.5", "\"fast\"", "expected a number from 0.1 to 1000", NULL},
};
#define OPTS_NUM (sizeof(opts) / sizeof(opts[0]))

static const opt_t *opt_find(const char *name) {
  for (size_t i = 0; i < OPTS_NUM; i++)
    if (strcmp(opts[i].name, name) == 0)
      return &opts[i];
  return NULL;
}

/* The field as text: strings as they are, "(null)", numbers with %.17g. */
static void field_text(const wcw_t *w, const opt_t *o, char *buf, size_t size) {
  const char *p = (const char *)w + o->off;

  switch (o->f) {
  case F_STR:
    snprintf(buf, size, "%s",
             *(char *const *)p != NULL ? *(char *const *)p : "(null)");
    break;
  case F_BOOL:
    snprintf(buf, size, "%s", *(const bool *)p ? "true" : "false");
    break;
  case F_INT:
    snprintf(buf, size, "%d", *(const int *)p);
    break;
  case F_SIZE:
  case F_COUNT:
    snprintf(buf, size, "%zu", *(const size_t *)p);
    break;
  case F_DBL:
    snprintf(buf, size, "%.17g", *(const double *)p);
    break;
  case F_SECS:
    snprintf(buf, size, "%.17g", CDTIME_T_TO_DOUBLE(*(const cdtime_t *)p));
    break;
  case F_U64:
    snprintf(buf, size, "%" PRIu64, *(const uint64_t *)p);
    break;
  }
}

/* Whether the field holds want (text; numbers compared as numbers, to
 * cdtime_t's 2^-30 s for seconds). */
static bool field_is(const wcw_t *w, const opt_t *o, const char *want) {
  char got[2048];
  char *end;
  double g, x;

  field_text(w, o, got, sizeof(got));
  if (o->f == F_STR || o->f == F_BOOL)
    return strcmp(got, want) == 0;
  g = strtod(got, NULL);
  x = strtod(want, &end);
  if (*end != 0)
    return false;
  return o->f == F_SECS ? fabs(g - x) < 1e-6 : g == x;
}

/* The value a string option was given (without its quotes). */
static const char *unquoted(const char *v, char *buf, size_t size) {
  size_t len = strlen(v);
  if (len >= 2 && v[0] == '"')
    snprintf(buf, size, "%.*s", (int)(len - 2), v + 1);
  else
    snprintf(buf, size, "%s", v);
  return buf;
}

/* Values longer than this are cut in messages (sm_collectd.c keeps 127
 * bytes of them): such a line is matched up to the cut and from the
 * last ": ". */
#define VALUE_SHOWN 100

/* The error line logged that starts with head and ends with tail. */
static bool logged_as(const char *head, const char *tail) {
  int level;
  const char *l;
  for (size_t i = 0; (l = stub_log_line(i, &level)) != NULL; i++)
    if (level == LOG_ERR && strncmp(l, head, strlen(head)) == 0 &&
        strlen(l) >= strlen(head) + strlen(tail) &&
        strcmp(l + strlen(l) - strlen(tail), tail) == 0)
      return true;
  return false;
}

/* Configures options; the block must be refused with the line
 * "write_cloudwatch plugin: block N: " + rest, and register nothing. */
static void refused(const char *options, const char *rest, const char *what) {
  char head[4096];
  const char *tail = "";
  int status = 0;
  size_t before = stub_registered("write");
  wcw_t *w;

  stub_log_clear();
  w = fx_block(options, &status);
  snprintf(head, sizeof(head), "write_cloudwatch plugin: block %d: %s",
           fx_block_number(), rest);
  if (strlen(rest) > VALUE_SHOWN + 40) {
    tail = strrchr(rest, ':');
    head[strlen(head) - strlen(rest) + VALUE_SHOWN] = 0;
  }
  T_OK(w == NULL && status != 0, "%s: refused", what);
  if (!T_OK(logged_as(head, tail), "  the line: %.160s%s%s", head,
            tail[0] != 0 ? "..." : "", tail))
    for (size_t i = 0; i < stub_log_count(); i++)
      T_NOTE("logged: %s", stub_log_line(i, NULL));
  T_EQ_INT(stub_registered("write"), before, "  nothing registered");
}

/* A refusal of option o given value v: "NAME VALUE: expected". Values are
 * named as written; a string in its quotes. */
static void refused_value(const opt_t *o, const char *v, const char *expected,
                          const char *why) {
  char options[2048], rest[2048];

  snprintf(options, sizeof(options), "%s %s", o->name, v);
  snprintf(rest, sizeof(rest), "%s %s: %s", o->name, v, expected);
  refused(options, rest, why);
}

/* A block refused with an error line that names the option and its value
 * as written, and holds what (the rule broken). */
static void refused_naming(const char *option, const char *value,
                           const char *what, const char *why) {
  char options[1024], named[1024];
  const char *l;
  bool found = false;
  int status = 0;

  snprintf(options, sizeof(options), "%s %s", option, value);
  snprintf(named, sizeof(named), "%s %s", option, value);
  stub_log_clear();
  T_OK(fx_block(options, &status) == NULL && status != 0, "%s: refused", why);
  for (size_t i = 0; (l = stub_log_line(i, NULL)) != NULL && !found; i++)
    found = strstr(l, named) != NULL && strstr(l, what) != NULL;
  if (!T_OK(found, "  a line names %s and says \"%s\"", named, what))
    for (size_t i = 0; i < stub_log_count(); i++)
      T_NOTE("logged: %s", stub_log_line(i, NULL));
}

/* ------------------------------------------------------------- tests */

/* Every option of README's table has a case here, and every case is in
 * README's table. */
static size_t readme_options(const char *readme, char names[][64],
                             char defaults[][256], size_t max) {
  size_t len, n = 0;
  const char *sec = fx_section(readme, "## Configuring write_cloudwatch", &len);
  bool in_table = false;

  for (const char *p = sec; p != NULL && p < sec + len;) {
    const char *nl = memchr(p, '\n', (size_t)(sec + len - p));
    size_t ll = nl != NULL ? (size_t)(nl - p) : (size_t)(sec + len - p);
    char cells[4][256];
    size_t nc = fx_row(p, ll, cells, 4);

    if (nc == 3 && strcmp(cells[0], "option") == 0)
      in_table = true;
    else if (nc == 0 && in_table)
      break; /* the first table only */
    else if (in_table && nc == 3 && cells[0][0] == '`') {
      /* "`Include` / `Exclude`": each name between backquotes. */
      for (const char *q = cells[0]; (q = strchr(q, '`')) != NULL && n < max;) {
        const char *e = strchr(q + 1, '`');
        if (e == NULL)
          break;
        snprintf(names[n], 64, "%.*s", (int)(e - q - 1), q + 1);
        snprintf(defaults[n], 256, "%s", cells[1]);
        n++;
        q = e + 1;
      }
    }
    p = nl != NULL ? nl + 1 : NULL;
  }
  return n;
}

/* README's default, checked against the block's field. */
static void check_default(const wcw_t *w, const char *name, const char *dflt) {
  const opt_t *o = opt_find(name);
  char plain[256], got[2048];
  char *end;
  size_t len = strlen(dflt);

  if (o == NULL)
    return;
  /* A single `literal`: the literal. */
  if (len >= 2 && dflt[0] == '`' && strchr(dflt + 1, '`') == dflt + len - 1)
    snprintf(plain, sizeof(plain), "%.*s", (int)(len - 2), dflt + 1);
  else
    snprintf(plain, sizeof(plain), "%s", dflt);
  field_text(w, o, got, sizeof(got));

  if (strcmp(name, "Region") == 0) /* "`AWS_REGION`, ..." */
    T_OK(strcmp(w->region, getenv("AWS_REGION")) == 0 && w->region_cfg == NULL,
         "Region: default %s: AWS_REGION's, %s", dflt, w->region);
  else if (strcmp(name, "Endpoint") == 0 || strcmp(name, "LogsEndpoint") == 0) {
    /* README's Endpoints, step 6: https://monitoring.REGION.SUFFIX */
    char want[128];
    snprintf(want, sizeof(want), "https://%s.%s.amazonaws.com",
             name[0] == 'E' ? "monitoring" : "logs", getenv("AWS_REGION"));
    if (!T_OK(strncmp(got, want, strlen(want)) == 0 &&
                  (got[strlen(want)] == 0 ||
                   strcmp(got + strlen(want), "/") == 0),
              "%s: default as the SDKs resolve it: the region's, %s", name,
              want))
      T_NOTE("got %s", got);
  } else if (strcmp(name, "Profile") == 0) /* "`AWS_PROFILE`, then..." */
    T_OK(w->profile == NULL,
         "Profile: default %s: none set, the credential chain's", dflt);
  else if (strncmp(dflt, "from sagemaker_async", 20) == 0)
    T_OK(strcmp(got, "(null)") == 0, "%s: default %s: none set", name, dflt);
  else if (strcmp(name, "HostMetricsFileSystem") == 0)
    /* "/": no instance set, cw_host's default, the df plugin's "root" */
    T_OK(strcmp(plain, "/") == 0 && w->host_disk == NULL &&
             strcmp(CW_HOST_DEFAULT_DISK, "root") == 0,
         "%s: default %s: cw_host's, root", name, dflt);
  else if (strncmp(dflt, "none", 4) == 0)
    T_OK(strcmp(got, "(null)") == 0 || strcmp(got, "0") == 0,
         "%s: default %s: %s", name, dflt, got);
  else if (strcmp(plain, "true") == 0 || strcmp(plain, "false") == 0 ||
           o->f == F_STR || (strtod(plain, &end), *end == 0))
    T_OK(field_is(w, o, plain), "%s: default %s (got %s)", name, dflt, got);
  else
    T_OK(0, "%s: README's default \"%s\" is one this test can check", name,
         dflt);
}

static void test_readme(const char *readme) {
  char names[64][64], defaults[64][256];
  size_t n = readme_options(readme, names, defaults, 64);
  bool found[OPTS_NUM] = {false};
  wcw_t *w;

  T_EQ_INT(n, OPTS_NUM, "README's table has as many options as this test");
  for (size_t i = 0; i < n; i++) {
    const opt_t *o = opt_find(names[i]);
    if (T_OK(o != NULL, "README's %s has a case here", names[i]))
      found[o - opts] = true;
  }
  for (size_t i = 0; i < OPTS_NUM; i++)
    T_OK(found[i], "%s is in README's table", opts[i].name);

  w = fx_block("", NULL);
  if (!T_OK(w != NULL, "a block without options"))
    return;
  for (size_t i = 0; i < n; i++)
    check_default(w, names[i], defaults[i]);
  T_EQ_INT(w->timeout_ms, 5000, "the default Timeout, in ms");
  T_OK(stub_user_data("notification", "write_cloudwatch/0") == w,
       "DataLog true: the notification callback is registered");
  fx_free_blocks();
}

/* One block with a good value of every option: each lands. */
static void test_good(void) {
  char options[8192];
  size_t len = 0;
  wcw_t *w;

  for (size_t i = 0; i < OPTS_NUM; i++)
    if (strcmp(opts[i].name, "DataLog") != 0) /* tried alone, below */
      len += (size_t)snprintf(options + len, sizeof(options) - len, "%s %s\n",
                              opts[i].name, opts[i].good);
  stub_log_clear();
  w = fx_block(options, NULL);
  if (!T_OK(w != NULL, "a good value of every option")) {
    for (size_t i = 0; i < stub_log_count(); i++)
      T_NOTE("logged: %s", stub_log_line(i, NULL));
    return;
  }
  for (size_t i = 0; i < OPTS_NUM; i++) {
    char got[2048];
    if (opts[i].f == F_COUNT || opts[i].stored == NULL ||
        strcmp(opts[i].name, "DataLog") == 0)
      continue;
    field_text(w, &opts[i], got, sizeof(got));
    T_OK(field_is(w, &opts[i], opts[i].stored), "%s %s: %s", opts[i].name,
         opts[i].good, got);
  }
  T_EQ_INT(w->timeout_ms, 2500, "Timeout 2.5: 2500 ms");
  T_OK(w->include_num == 1 && w->exclude_num == 1 && w->dims_num == 1 &&
           strcmp(w->dims[0].name, "Cluster") == 0 &&
           strcmp(w->dims[0].value, "c1") == 0,
       "an Include, an Exclude, a Dimension");
  T_OK(regexec(&w->include[0], "cpu-0/percent", 0, NULL, 0) == 0 &&
           regexec(&w->include[0], "memory/memory", 0, NULL, 0) != 0,
       "  the Include compiled, as an extended regular expression");
  fx_free_blocks();

  w = fx_block("DataLog false", NULL);
  T_OK(w != NULL && !w->datalog && w->logq == NULL,
       "DataLog false: no data log");
  T_EQ_INT(stub_registered("notification"), 0,
           "  no notification callback (the man page)");
  fx_free_blocks();

  w = fx_block("HostMetricsFileSystem \"/\"\n", NULL);
  T_OK(w != NULL && w->host_disk != NULL && strcmp(w->host_disk, "root") == 0,
       "HostMetricsFileSystem \"/\": the df plugin's root");
  fx_free_blocks();
  w = fx_block("HostMetricsFileSystem \"sda1\"\n", NULL);
  T_OK(w != NULL && w->host_disk != NULL && strcmp(w->host_disk, "sda1") == 0,
       "HostMetricsFileSystem \"sda1\": an instance as is");
  fx_free_blocks();
}

/* The bounds: one block at every lower bound, one at every upper one. */
static void test_bounds(void) {
  for (int high = 0; high < 2; high++) {
    char options[8192];
    size_t len = 0;
    wcw_t *w;

    for (size_t i = 0; i < OPTS_NUM; i++) {
      const char *v = high ? opts[i].high : opts[i].low;
      if (v != NULL)
        len += (size_t)snprintf(options + len, sizeof(options) - len, "%s %s\n",
                                opts[i].name, v);
    }
    stub_log_clear();
    w = fx_block(options, NULL);
    if (!T_OK(w != NULL, "every option at its %s bound",
              high ? "upper" : "lower")) {
      for (size_t i = 0; i < stub_log_count(); i++)
        T_NOTE("logged: %s", stub_log_line(i, NULL));
      continue;
    }
    for (size_t i = 0; i < OPTS_NUM; i++) {
      const char *v = high ? opts[i].high : opts[i].low;
      char want[512], got[512];
      if (v == NULL)
        continue;
      unquoted(v, want, sizeof(want));
      field_text(w, &opts[i], got, sizeof(got));
      T_OK(field_is(w, &opts[i], want), "  %s %.40s: %.40s", opts[i].name, v,
           got);
    }
    fx_free_blocks();
  }
}

/* Beyond the bounds, the wrong type, several values, given twice. */
static void test_refused(void) {
  for (size_t i = 0; i < OPTS_NUM; i++) {
    const opt_t *o = &opts[i];
    char options[2048], rest[2048];

    if (o->below != NULL)
      refused_value(o, o->below, o->expected, o->name);
    if (o->above != NULL)
      refused_value(o, o->above, o->expected, o->name);
    refused_value(o, o->wrong,
                  o->wrong_expected != NULL ? o->wrong_expected : o->expected,
                  o->name);
    if (o->f == F_COUNT)
      continue;
    snprintf(options, sizeof(options), "%s %s\n%s %s", o->name, o->good,
             o->name, o->good);
    snprintf(rest, sizeof(rest), "%s is given twice; give it once", o->name);
    refused(options, rest, o->name);
  }
  refused("FlushInterval 1 2",
          "FlushInterval (several values): expected a number of seconds from "
          "1 to 3600",
          "two values");
  refused("Foo 1", "unknown option \"Foo\"", "an unknown option");
  refused("Compress true\nfoo 1", "unknown option \"foo\"",
          "an unknown option after a good one");
}

/* The rules of the custom options, each refusal's line. */
static void test_custom(void) {
  char options[40000];
  size_t len = 0;
  wcw_t *w;

  refused("Namespace \"AWS/EC2\"",
          "Namespace \"AWS/EC2\": namespace \"AWS/EC2\" starts with \"AWS/\", "
          "which is reserved for AWS services",
          "Namespace AWS/... (README: reserved)");
  refused_naming("Namespace", "\":x\"", "':'",
                 "Namespace starting with ':' (the man page)");
  refused("Namespace \"   \"",
          "Namespace \"   \": namespace has no non-whitespace character",
          "Namespace of spaces only (the man page)");
  refused("Namespace \"\"", "Namespace \"\": namespace empty",
          "an empty Namespace");
  refused("SpoolDirectory \"spool\"",
          "SpoolDirectory \"spool\": must be an absolute path",
          "a relative SpoolDirectory (README: absolute)");
  refused("SpoolMaxBytes 2097152.5",
          "SpoolMaxBytes 2097152.5: expected a whole number of bytes from "
          "1048576 (1 MiB) to 1099511627776 (1 TiB)",
          "a fractional SpoolMaxBytes");
  refused("Include \"a**\"", "Include \"a**\": repetition of a repetition",
          "an Include glibc would take gigabytes for");
  refused("Exclude \"a{256}\"", "Exclude \"a{256}\": a bound above 255",
          "an Exclude with a large bound");
  refused_naming("Include", "\"(\"", "Unmatched",
                 "an Include that does not compile (the man page); glibc's "
                 "words");
  /* Found wrong once the region and endpoints are resolved: the line
   * still names the option and its value. */
  refused_naming("Endpoint", "\"ftp://example.com/\"", "http or https",
                 "an Endpoint that is not http or https (the man page)");
  refused_naming("LogsEndpoint", "\"example.com\"", "http or https",
                 "a LogsEndpoint without its scheme");
  refused_naming("Region", "\"US_EAST\"", "not a region name",
                 "a Region that is no region name (the man page's rule)");

  /* Include and Exclude: 64 each (the man page), Dimension: 10. */
  for (int i = 0; i < 64; i++)
    len += (size_t)snprintf(options + len, sizeof(options) - len,
                            "Include \"^a%d\"\nExclude \"^b%d\"\n", i, i);
  for (int i = 0; i < 10; i++)
    len += (size_t)snprintf(options + len, sizeof(options) - len,
                            "Dimension \"D%d\" \"v\"\n", i);
  w = fx_block(options, NULL);
  T_OK(w != NULL && w->include_num == 64 && w->exclude_num == 64 &&
           w->dims_num == 10,
       "64 Include, 64 Exclude, 10 Dimension: taken");
  fx_free_blocks();
  snprintf(options + len, sizeof(options) - len, "Include \"^c\"\n");
  refused(options, "Include \"^c\": too many filters", "a 65th Include");
  snprintf(options + len, sizeof(options) - len, "Dimension \"E\" \"v\"\n");
  refused(options, "Dimension (several values): too many dimensions",
          "an 11th Dimension");
}

/* Configuration errors name their block: the Nth configured, counting
 * the refused ones (README: "block 1", "block 2", ...). */
static void test_block_numbers(void) {
  char want[32];
  wcw_t *w;

  refused("MaxAttempts 0", "MaxAttempts 0: expected an integer from 1 to 100",
          "a bad block");
  w = fx_block("", NULL);
  snprintf(want, sizeof(want), "block %d", fx_block_number());
  T_OK(w != NULL && strcmp(w->block, want) == 0, "a good block after it is %s",
       want);
  refused("MaxAttempts 0", "MaxAttempts 0: expected an integer from 1 to 100",
          "a bad block after that: its own number");
  fx_free_blocks();
}

int main(void) {
  char *readme = fx_source("README.md");

  quoted(s128, 'p', 128);
  quoted(s129, 'p', 129);
  quoted(s255, 'N', 255);
  quoted(s256, 'N', 256);
  if (readme == NULL || fx_init(NULL) != 0) {
    T_OK(0, "README.md and contrib/types.db read");
    free(readme);
    return t_done();
  }
  test_readme(readme);
  test_good();
  test_bounds();
  test_refused();
  test_custom();
  test_block_numbers();
  free(readme);
  return t_done();
}
