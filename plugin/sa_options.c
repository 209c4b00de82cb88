/* SPDX-License-Identifier: MIT */
/*
 * sa_options: the options of a <Runtime> block, as a table (sm_collectd.h)
 * that the parser and tests/check_docs.py both read: name, type, default,
 * limits, and a setter for those no type fits; then the rules across
 * them. The man page says what each does.
 */
#include "sa.h"

#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>

#include "sm_durable.h"
#include "sm_sketch.h"

/* The timeout of a read when the interval is longer (the defaults of the
 * other options are in runtime_options[]). */
#define DEFAULT_TIMEOUT TIME_T_TO_CDTIME_T_STATIC(2)
#define MAX_PAGE_SIZE 10000 /* runtime-api.md: limit is 1..10000 */

/* PercentileAccuracy: a double whose error keeps its own wording. */
static int set_accuracy(const sm_collectd_option_t *opt,
                        const oconfig_item_t *ci, void *obj,
                        const sm_collectd_where_t *where) {
  sm_runtime_t *rt = obj;
  char value[64];

  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_NUMBER &&
      ci->values[0].value.number >= opt->min &&
      ci->values[0].value.number <= opt->max) {
    rt->percentile_accuracy = ci->values[0].value.number;
    return 0;
  }
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return sm_collectd_option_fail(where, opt, ci, "expected a fraction");
  sm_collectd_config_value(ci, value, sizeof(value));
  ERROR(PLUGIN_NAME " plugin: %s: PercentileAccuracy %s is out of range: "
                    "expected a fraction from %g to %g",
        where->block, value, opt->min, opt->max);
  return -1;
}

/* SocketOwner: a user name or a numeric uid. */
static int set_socket_owner(const sm_collectd_option_t *opt,
                            const oconfig_item_t *ci, void *obj,
                            const sm_collectd_where_t *where) {
  sm_runtime_t *rt = obj;
  const oconfig_value_t *v = ci->values;
  const char *name = NULL;
  double num = -1;
  struct passwd pw, *found = NULL;
  char buf[4096];
  int err;

  if (ci->values_num == 1 && v->type == OCONFIG_TYPE_NUMBER)
    num = v->value.number;
  else if (ci->values_num == 1 && v->type == OCONFIG_TYPE_STRING &&
           v->value.string[0] != 0 &&
           strspn(v->value.string, "0123456789") == strlen(v->value.string))
    num = strtod(v->value.string, NULL);
  else if (ci->values_num == 1 && v->type == OCONFIG_TYPE_STRING)
    name = v->value.string;
  if (name == NULL) {
    if (!(num >= 0 && num < (double)UINT32_MAX) || num != floor(num))
      return sm_collectd_option_fail(where, opt, ci,
                                     "expected a user name or uid");
    rt->socket_owner = (uid_t)num;
    sfree(rt->socket_owner_name);
    return 0;
  }
  err = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
  if (err != 0 || found == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s: SocketOwner \"%s\": %s", where->block, name,
          err != 0 ? STRERROR(err) : "no such user");
    return -1;
  }
  rt->socket_owner = found->pw_uid;
  sfree(rt->socket_owner_name);
  rt->socket_owner_name = strdup(name);
  return 0;
}

#define RT_OFF(field) offsetof(sm_runtime_t, field)

/* The options of a <Runtime> block, read by the parser and by
 * tests/check_docs.py (which compares each .def with README and the man
 * page). A NULL .def is computed in config_check() or is "none". */
static const sm_collectd_option_t runtime_options[] = {
    {.name = "Socket",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(socket),
     .def = "/run/sagemaker/async-runtime.sock"},
    {.name = "EndpointName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(endpoint_name)},
    {.name = "VariantName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(variant_name)},
    /* collectd's Interval when not given. */
    {.name = "Interval",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = RT_OFF(interval),
     .min = 0.001,
     .max = 86400},
    /* The smaller of 2 s and the interval when not given. */
    {.name = "Timeout",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = RT_OFF(timeout),
     .min = 0.001,
     .max = 86400},
    {.name = "PageSize",
     .type = SM_COLLECTD_OPT_INT,
     .offset = RT_OFF(page_size),
     .def = "1000",
     .min = 1,
     .max = MAX_PAGE_SIZE},
    {.name = "MaxResponseBytes",
     .type = SM_COLLECTD_OPT_SIZE,
     .offset = RT_OFF(max_response_bytes),
     .def = "16777216",
     .min = 4096,
     .max = 1073741824},
    {.name = "Notifications",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(notifications),
     .def = "true"},
    {.name = "NotifySuccess",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(notify_success),
     .def = "false"},
    {.name = "Percentiles",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(percentiles),
     .def = "true"},
    {.name = "PercentileAccuracy",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "0.01",
     .min = SM_SKETCH_MIN_ACCURACY,
     .max = SM_SKETCH_MAX_ACCURACY,
     .set = set_accuracy},
    /* Room for the ".corrupt" a bad file is renamed to. */
    {.name = "StateFile",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = RT_OFF(state_file),
     .min = 1,
     .max = PATH_MAX - 16},
    /* The user collectd runs as when not given. */
    {.name = "SocketOwner",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .set = set_socket_owner},
    {.name = "Totals",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = RT_OFF(totals),
     .def = "false"},
};
#define RUNTIME_OPTIONS_NUM                                                    \
  (sizeof(runtime_options) / sizeof(runtime_options[0]))

/* Rules across options, and the defaults computed from others. Returns
 * 0 or -1 (logged). */
static int config_check(sm_runtime_t *rt, const sm_collectd_where_t *where,
                        const bool *given) {
  const sm_collectd_option_t *timeout =
      sm_collectd_option_find(runtime_options, RUNTIME_OPTIONS_NUM, "Timeout");
  cdtime_t interval = rt->interval ? rt->interval : plugin_get_interval();

  if (rt->socket[0] == 0) {
    ERROR(PLUGIN_NAME " plugin: %s: Socket must not be empty", where->block);
    return -1;
  }
  if (strlen(rt->socket) > rt_client_max_path()) {
    ERROR(PLUGIN_NAME " plugin: %s: Socket \"%s\" is longer than the %zu "
                      "bytes a Unix socket path can have",
          where->block, rt->socket, rt_client_max_path());
    return -1;
  }
  if (rt->state_file != NULL) {
    const char *base = strrchr(rt->state_file, '/');
    base = base != NULL ? base + 1 : rt->state_file;
    if (base[0] == 0 || strlen(base) > SM_DURABLE_NAME_MAX) {
      ERROR(PLUGIN_NAME " plugin: %s: StateFile \"%s\": the file's name "
                        "must be 1 to %d bytes",
            where->block, rt->state_file, SM_DURABLE_NAME_MAX);
      return -1;
    }
  }
  /* A read must end before the next begins: the default timeout fits
   * any interval, a timeout given that does not is refused. */
  if (!given[timeout - runtime_options])
    rt->timeout = interval < DEFAULT_TIMEOUT ? interval : DEFAULT_TIMEOUT;
  else if (rt->timeout > interval) {
    ERROR(PLUGIN_NAME " plugin: %s: Timeout (%.3f s) must not exceed the "
                      "interval (%.3f s)",
          where->block, CDTIME_T_TO_DOUBLE(rt->timeout),
          CDTIME_T_TO_DOUBLE(interval));
    return -1;
  }
  rt->timeout_ms = (long)CDTIME_T_TO_MS(rt->timeout);
  if (rt->timeout_ms < 1)
    rt->timeout_ms = 1;
  return 0;
}

/* Two runtimes saving their cursors to one file would overwrite each
 * other. Returns 0 when every StateFile of the block is distinct. */
int sa_options_check_state_files(const oconfig_item_t *ci) {
  int status = 0;

  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *a = ci->children + i;
    if (strcasecmp("Runtime", a->key) != 0)
      continue;
    for (int j = 0; j < a->children_num; j++) {
      const oconfig_item_t *fa = a->children + j;
      if (strcasecmp("StateFile", fa->key) != 0 || fa->values_num != 1 ||
          fa->values[0].type != OCONFIG_TYPE_STRING)
        continue;
      for (int k = i + 1; k < ci->children_num; k++) {
        const oconfig_item_t *b = ci->children + k;
        if (strcasecmp("Runtime", b->key) != 0)
          continue;
        for (int l = 0; l < b->children_num; l++) {
          const oconfig_item_t *fb = b->children + l;
          if (strcasecmp("StateFile", fb->key) == 0 && fb->values_num == 1 &&
              fb->values[0].type == OCONFIG_TYPE_STRING &&
              strcmp(fa->values[0].value.string, fb->values[0].value.string) ==
                  0) {
            ERROR(PLUGIN_NAME " plugin: StateFile \"%s\" is given to two "
                              "<Runtime> blocks; each needs its own",
                  fa->values[0].value.string);
            status = -1;
          }
        }
      }
    }
  }
  return status;
}

int sa_options_read(sm_runtime_t *rt, const oconfig_item_t *ci,
                    const sm_collectd_where_t *where) {
  bool given[RUNTIME_OPTIONS_NUM];

  if (sm_collectd_options_defaults(runtime_options, RUNTIME_OPTIONS_NUM, rt,
                                   where) != 0 ||
      sm_collectd_options_read(runtime_options, RUNTIME_OPTIONS_NUM, ci, rt,
                               where, given) != 0 ||
      config_check(rt, where, given) != 0)
    return -1;
  return 0;
}
