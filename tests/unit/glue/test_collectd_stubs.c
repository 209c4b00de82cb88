/* SPDX-License-Identifier: MIT */
/*
 * The stand-in of the collectd daemon (tests/fakes/collectd_stubs.c)
 * against what collectd 5.12 does, since the glue's tests trust it: meta
 * data (copies, replacement, a type mismatch), c_complain's rate limit
 * and c_release, dispatch (what collectd fills in, deep copies), the
 * value cache's answers, format_name, the config reader, types.db lines,
 * and strict mode's abort.
 */
#include "collectd_stubs.h"

#include "collectd/core/daemon/utils_cache.h"

#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define T0 TIME_T_TO_CDTIME_T(1700000000)

static void test_meta_data(void) {
  meta_data_t *md = meta_data_create(), *copy;
  char *s = NULL;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;

  T_EQ_INT(meta_data_add_string(md, "k", "v1"), 0, "add a string");
  T_EQ_INT(meta_data_get_string(md, "k", &s), 0, "get it");
  T_EQ_STR(s, "v1", "  its value");
  free(s);
  T_EQ_INT(meta_data_add_string(md, "k", "v2"), 0, "add the key again");
  meta_data_get_string(md, "k", &s);
  T_EQ_STR(s, "v2", "  replaces the value");
  T_EQ_INT(meta_data_add_string(md, "k", s), 0,
           "  with a copy of its own value");
  free(s);
  meta_data_get_string(md, "k", &s);
  T_EQ_STR(s, "v2", "  still the value");
  free(s);
  s = NULL;
  T_EQ_INT(meta_data_get_string(md, "absent", &s), -ENOENT,
           "an absent key: -ENOENT");
  T_OK(s == NULL, "  nothing returned");
  T_EQ_INT(meta_data_get_string(NULL, "k", &s), -EINVAL, "no meta: -EINVAL");
  meta_data_add_signed_int(md, "i", -5);
  meta_data_add_unsigned_int(md, "u", 7);
  meta_data_add_double(md, "d", 0.5);
  meta_data_add_boolean(md, "b", true);
  stub_log_clear();
  T_EQ_INT(meta_data_get_string(md, "i", &s), -ENOENT,
           "a key of another type: -ENOENT");
  T_OK(stub_log_find(LOG_ERR, "Type mismatch for key `i'") != NULL,
       "  logged, as collectd does");
  T_OK(meta_data_exists(md, "u") && !meta_data_exists(md, "x"), "exists");
  copy = meta_data_clone(md);
  meta_data_destroy(md);
  T_OK(meta_data_get_signed_int(copy, "i", &i) == 0 && i == -5,
       "a clone outlives its original: signed");
  T_OK(meta_data_get_unsigned_int(copy, "u", &u) == 0 && u == 7, "  unsigned");
  T_OK(meta_data_get_double(copy, "d", &d) == 0 && d == 0.5, "  double");
  T_OK(meta_data_get_boolean(copy, "b", &b) == 0 && b, "  boolean");
  T_OK(meta_data_get_string(copy, "k", &s) == 0 && strcmp(s, "v2") == 0,
       "  string");
  free(s);
  T_EQ_INT(meta_data_delete(copy, "k"), 0, "delete");
  T_OK(!meta_data_exists(copy, "k"), "  gone");
  meta_data_destroy(copy);
  T_OK(meta_data_clone(NULL) == NULL, "the clone of none is none");
  meta_data_destroy(NULL);
}

static void test_log(void) {
  int level = 0;

  stub_log_clear();
  ERROR("an %s", "error");
  INFO("some info");
  T_EQ_INT(stub_log_count(), 2, "two lines logged");
  T_EQ_STR(stub_log_line(0, &level), "an error", "  formatted");
  T_EQ_INT(level, LOG_ERR, "  with their level");
  T_OK(stub_log_find(LOG_INFO, "info") != NULL, "found at its level");
  T_OK(stub_log_find(LOG_ERR, "info") == NULL, "  not at another");
  T_EQ_INT(stub_log_matches(-1, "n"), 2, "matches at any level");
  for (int i = 0; i < STUB_LOG_MAX + 3; i++)
    INFO("line %d", i);
  T_EQ_INT(stub_log_count(), STUB_LOG_MAX, "at most STUB_LOG_MAX lines");
  T_EQ_INT(stub_log_dropped(), 5, "  the rest counted");
  stub_log_clear();
  T_EQ_INT(stub_log_count() + stub_log_dropped(), 0, "cleared");
}

/* collectd 5.12: the first complaint at once, then at most once per
 * interval, the interval starting at the global one and doubling; a
 * release line only after a complaint. */
static void test_complain(void) {
  c_complain_t c;
  static const struct {
    int at_s;
    bool logged;
  } steps[] = {{0, true},  {0, false},  {9, false}, {10, true},   {29, false},
               {30, true}, {69, false}, {70, true}, {149, false}, {150, true}};

  C_COMPLAIN_INIT(&c);
  stub_set_interval(TIME_T_TO_CDTIME_T(10));
  stub_log_clear();
  c_release(LOG_INFO, &c, "released");
  T_EQ_INT(stub_log_count(), 0, "no release line without a complaint");
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    size_t before = stub_log_count();
    stub_set_time(T0 + TIME_T_TO_CDTIME_T(steps[i].at_s));
    c_complain(LOG_WARNING, &c, "failing %d", steps[i].at_s);
    T_EQ_INT(stub_log_count() - before, steps[i].logged,
             steps[i].logged ? "complaint logged" : "complaint held back");
  }
  T_EQ_STR(stub_log_line(0, NULL), "failing 0", "  its text");
  stub_log_clear();
  c_release(LOG_INFO, &c, "released %d", 1);
  c_release(LOG_INFO, &c, "released %d", 2);
  T_EQ_INT(stub_log_count(), 1, "one release line");
  T_EQ_STR(stub_log_line(0, NULL), "released 1", "  the first");
  c_complain(LOG_WARNING, &c, "again");
  T_EQ_INT(stub_log_count(), 2, "after a release, a complaint at once");

  C_COMPLAIN_INIT(&c);
  stub_log_clear();
  c_complain_once(LOG_WARNING, &c, "once");
  stub_set_time(T0 + TIME_T_TO_CDTIME_T(1000));
  c_complain_once(LOG_WARNING, &c, "once");
  T_EQ_INT(stub_log_count(), 1, "c_complain_once: once, whatever the time");
  stub_set_time(0);
}

static void *dispatch_later(void *arg) {
  value_list_t *vl = arg;
  usleep(50 * 1000);
  plugin_dispatch_values(vl);
  return NULL;
}

static void test_dispatch(void) {
  value_t v[2] = {{.gauge = 1.5}, {.gauge = 2.5}};
  value_list_t vl = {.values = v, .values_len = 2};
  const value_list_t *got;
  notification_t n = {.severity = NOTIF_FAILURE, .time = T0};
  const notification_t *gn;
  char *s = NULL;
  pthread_t t;

  stub_values_clear();
  stub_set_interval(TIME_T_TO_CDTIME_T(7));
  stub_set_time(T0);
  sstrncpy(vl.plugin, "p", sizeof(vl.plugin));
  sstrncpy(vl.type, "t", sizeof(vl.type));
  vl.meta = meta_data_create();
  meta_data_add_string(vl.meta, "k", "v");
  T_EQ_INT(plugin_dispatch_values(&vl), 0, "dispatch a value list");
  meta_data_destroy(vl.meta);
  v[0].gauge = 99;
  got = stub_value(0);
  if (T_OK(got != NULL && stub_values_count() == 1, "  kept")) {
    T_EQ_INT(got->time, T0, "  time 0 is now");
    T_EQ_INT(got->interval, TIME_T_TO_CDTIME_T(7),
             "  interval 0 is the global interval");
    T_EQ_STR(got->host, hostname_g, "  no host is hostname_g");
    T_OK(got->values_len == 2 && got->values[0].gauge == 1.5 &&
             got->values[1].gauge == 2.5,
         "  its values, copied");
    T_OK(meta_data_get_string(got->meta, "k", &s) == 0 && strcmp(s, "v") == 0,
         "  its meta data, copied");
    free(s);
  }
  T_OK(stub_value_find("p", NULL, "t", "") == got, "found by its names");
  T_OK(stub_value_find("q", NULL, NULL, NULL) == NULL, "  not by others");
  vl.meta = NULL;
  vl.values_len = 0;
  T_OK(plugin_dispatch_values(&vl) != 0, "no values: refused");
  vl.values_len = 2;
  T_OK(!stub_values_wait(2, 20), "a wait for what does not come ends");
  pthread_create(&t, NULL, dispatch_later, &vl);
  T_OK(stub_values_wait(2, 5000), "a wait for another thread's dispatch");
  pthread_join(t, NULL);
  stub_values_clear();
  T_EQ_INT(stub_values_count(), 0, "cleared");

  stub_notifications_clear();
  sstrncpy(n.plugin, "p", sizeof(n.plugin));
  plugin_notification_meta_add_string(&n, "a", "x");
  plugin_notification_meta_add_signed_int(&n, "b", 42);
  T_EQ_INT(plugin_dispatch_notification(&n), 0, "dispatch a notification");
  plugin_notification_meta_free(n.meta);
  gn = stub_notification(0);
  if (T_OK(gn != NULL, "  kept")) {
    const notification_meta_t *m = gn->meta;
    T_OK(m != NULL && strcmp(m->name, "a") == 0 && m->type == NM_TYPE_STRING &&
             strcmp(m->nm_value.nm_string, "x") == 0,
         "  its first meta data, copied");
    m = m != NULL ? m->next : NULL;
    T_OK(m != NULL && strcmp(m->name, "b") == 0 &&
             m->nm_value.nm_signed_int == 42 && m->next == NULL,
         "  then the second");
  }
  stub_notifications_clear();
  stub_set_time(0);
}

static void test_cache(void) {
  data_source_t dsrc[2] = {{"rx", DS_TYPE_DERIVE, 0, NAN},
                           {"tx", DS_TYPE_DERIVE, 0, NAN}};
  data_set_t ds = {"if_octets", 2, dsrc};
  value_list_t vl = VALUE_LIST_INIT;
  gauge_t r[2] = {1.5, 2.5}, *got;
  char id[256];

  sstrncpy(vl.host, "h", sizeof(vl.host));
  sstrncpy(vl.plugin, "interface", sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, "eth0", sizeof(vl.plugin_instance));
  sstrncpy(vl.type, "if_octets", sizeof(vl.type));
  T_EQ_INT(FORMAT_VL(id, sizeof(id), &vl), 0, "format_name");
  T_EQ_STR(id, "h/interface-eth0/if_octets", "  host/plugin-pi/type");
  sstrncpy(vl.type_instance, "x", sizeof(vl.type_instance));
  FORMAT_VL(id, sizeof(id), &vl);
  T_EQ_STR(id, "h/interface-eth0/if_octets-x", "  with a type instance");
  T_EQ_INT(format_name(id, 8, "h", "p", "", "t", ""), 0, "  h/p/t fits 8");
  T_EQ_INT(format_name(id, 5, "h", "p", "", "t", ""), ENOBUFS,
           "  not 5: ENOBUFS");
  vl.type_instance[0] = 0;

  T_OK(uc_get_rate(&ds, &vl) == NULL, "an identifier not cached: NULL");
  stub_set_rate("h/interface-eth0/if_octets", r, 2);
  got = uc_get_rate(&ds, &vl);
  T_OK(got != NULL && got[0] == 1.5 && got[1] == 2.5, "the rates set");
  free(got);
  stub_set_rate("h/interface-eth0/if_octets", r, 1);
  stub_log_clear();
  T_OK(uc_get_rate(&ds, &vl) == NULL, "as many rates as data sources, or "
                                      "NULL");
  T_EQ_INT(stub_log_matches(LOG_ERR, "uc_get_rate"), 1, "  logged");
  stub_rates_clear();
  T_OK(uc_get_rate(&ds, &vl) == NULL, "cleared: NULL");
}

static void test_config(void) {
  oconfig_item_t *root = stub_config_read(
      "Interval 10\n"
      "<Plugin \"x\">\n"
      "  Name \"a \\\"b\\\"\" 0x10 -1.5e+1 true off bare # comment\n"
      "</Plugin>\n");
  const oconfig_item_t *p, *c;

  if (!T_OK(root != NULL && root->children_num == 2, "a config read"))
    return;
  p = &root->children[1];
  T_OK(strcmp(p->key, "Plugin") == 0 && p->values_num == 1 &&
           strcmp(p->values[0].value.string, "x") == 0 &&
           p->children_num == 1 && p->children[0].parent == p,
       "  a block, its value and child");
  c = &p->children[0];
  T_OK(c->values_num == 6 && c->values[0].type == OCONFIG_TYPE_STRING &&
           strcmp(c->values[0].value.string, "a \"b\"") == 0,
       "  a quoted string");
  T_OK(c->values[1].type == OCONFIG_TYPE_NUMBER &&
           c->values[1].value.number == 16 && c->values[2].value.number == -15,
       "  numbers");
  T_OK(c->values[3].type == OCONFIG_TYPE_BOOLEAN &&
           c->values[3].value.boolean && !c->values[4].value.boolean,
       "  booleans");
  T_OK(c->values[5].type == OCONFIG_TYPE_STRING, "  a bare word");
  stub_config_free(root);
  T_OK(stub_config_read("<Plugin x>\n") == NULL, "an unclosed block: NULL");
  T_OK(stub_config_read("<A>\n<B>\n<C>\n<D>\n</D>\n</C>\n</B>\n</A>\n") == NULL,
       "deeper than STUB_CONFIG_MAX_DEPTH: NULL");
}

static void test_types(void) {
  const data_set_t *ds;

  T_EQ_INT(stub_types_read("# comment\n\n"
                           "stats count:GAUGE:0:U, sum:DERIVE:U:10\n"),
           1, "a types.db line");
  ds = plugin_get_ds("stats");
  if (T_OK(ds != NULL && ds->ds_num == 2, "  its data sources")) {
    T_OK(strcmp(ds->ds[0].name, "count") == 0 &&
             ds->ds[0].type == DS_TYPE_GAUGE && ds->ds[0].min == 0 &&
             isnan(ds->ds[0].max),
         "  the first: name, type, min, U");
    T_OK(strcmp(ds->ds[1].name, "sum") == 0 &&
             ds->ds[1].type == DS_TYPE_DERIVE && isnan(ds->ds[1].min) &&
             ds->ds[1].max == 10,
         "  the second");
  }
  T_EQ_INT(stub_types_read("bad value:NOTATYPE:U:U\n"), -1,
           "an unknown data source type: -1");
  T_OK(plugin_get_ds("other") == NULL, "an unknown type: NULL");
  stub_types_clear();
  T_OK(plugin_get_ds("stats") == NULL, "cleared");
}

/* Strict mode: the configuration path must not reach a dispatch. */
static void test_strict(void) {
  pid_t pid = fork();
  int status = 0;

  if (pid == 0) {
    value_t v = {.gauge = 1};
    value_list_t vl = {.values = &v, .values_len = 1};
    sstrncpy(vl.type, "t", sizeof(vl.type));
    stub_strict(true);
    if (freopen("/dev/null", "w", stderr) == NULL)
      _exit(3);
    plugin_dispatch_values(&vl);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  T_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
       "strict mode: a dispatch aborts");
}

int main(void) {
  test_strict(); /* first: its child inherits no thread of the others */
  test_meta_data();
  test_log();
  test_complain();
  test_dispatch();
  test_cache();
  test_config();
  test_types();
  return t_done();
}
