/* SPDX-License-Identifier: MIT */
/*
 * gauges: a collectd read plugin for the integration tests that dispatches
 * a known set of gauge series a known number of times, so that a test can
 * hold what a write plugin delivered against what was dispatched. The
 * series are plugin "gauges", type "gauge", type instances "s0" ..
 * "s<Series-1>"; series i has the value i + read / 1000 in read number
 * read (0, 1, ...), so that every value says which series and read it is.
 * The first Reads reads dispatch every series; later reads dispatch
 * nothing. After each dispatching read, the number of values dispatched
 * so far (plugin_dispatch_values returned 0) replaces the content of
 * CountFile (written to CountFile.tmp, then renamed). Not installed.
 *
 *   <Plugin gauges>
 *     Series 5000
 *     Reads 1
 *     CountFile "/tmp/test/dispatched"
 *   </Plugin>
 */
#include "sm_collectd.h"

#include <inttypes.h>
#include <stdio.h>

#define PLUGIN_NAME "gauges"
#define SERIES_MAX 1000000
#define READS_MAX 1000000

typedef struct {
  int series;
  int reads;
  char *count_file;
  int done;
  uint64_t dispatched;
} gauges_t;

static void gauges_free(void *arg) {
  gauges_t *g = arg;
  if (g == NULL)
    return;
  sfree(g->count_file);
  sfree(g);
}

static int write_count(const gauges_t *g) {
  char tmp[PATH_MAX];
  FILE *f;
  int status = 0;

  if (g->count_file == NULL)
    return 0;
  if ((size_t)ssnprintf(tmp, sizeof(tmp), "%s.tmp", g->count_file) >=
      sizeof(tmp)) {
    ERROR(PLUGIN_NAME " plugin: CountFile %s: path too long", g->count_file);
    return -1;
  }
  f = fopen(tmp, "w");
  if (f == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s: %s", tmp, STRERRNO);
    return -1;
  }
  if (fprintf(f, "%" PRIu64 "\n", g->dispatched) < 0)
    status = -1;
  if (fclose(f) != 0)
    status = -1;
  if (status == 0 && rename(tmp, g->count_file) != 0)
    status = -1;
  if (status != 0)
    ERROR(PLUGIN_NAME " plugin: writing %s: %s", g->count_file, STRERRNO);
  return status;
}

static int gauges_read(user_data_t *ud) {
  gauges_t *g = ud->data;
  value_list_t vl = VALUE_LIST_INIT;
  value_t v;

  if (g->done >= g->reads)
    return 0;
  vl.values = &v;
  vl.values_len = 1;
  vl.time = cdtime();
  sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.type, "gauge", sizeof(vl.type));
  for (int i = 0; i < g->series; i++) {
    v.gauge = (gauge_t)i + (gauge_t)g->done / 1000.0;
    ssnprintf(vl.type_instance, sizeof(vl.type_instance), "s%d", i);
    if (plugin_dispatch_values(&vl) == 0)
      g->dispatched++;
  }
  g->done++;
  return write_count(g);
}

static int gauges_config(oconfig_item_t *ci) {
  gauges_t *g = calloc(1, sizeof(*g));
  int status = 0;

  if (g == NULL)
    return -1;
  g->series = 1000;
  g->reads = 1;
  for (int i = 0; i < ci->children_num && status == 0; i++) {
    oconfig_item_t *c = ci->children + i;
    if (strcasecmp("Series", c->key) == 0) {
      status = cf_util_get_int(c, &g->series);
      if (status == 0 && (g->series < 1 || g->series > SERIES_MAX)) {
        ERROR(PLUGIN_NAME " plugin: Series must be 1..%d", SERIES_MAX);
        status = -1;
      }
    } else if (strcasecmp("Reads", c->key) == 0) {
      status = cf_util_get_int(c, &g->reads);
      if (status == 0 && (g->reads < 1 || g->reads > READS_MAX)) {
        ERROR(PLUGIN_NAME " plugin: Reads must be 1..%d", READS_MAX);
        status = -1;
      }
    } else if (strcasecmp("CountFile", c->key) == 0) {
      status = cf_util_get_string(c, &g->count_file);
    } else {
      ERROR(PLUGIN_NAME " plugin: unknown option \"%s\"", c->key);
      status = -1;
    }
  }
  if (status != 0) {
    gauges_free(g);
    return -1;
  }
  return plugin_register_complex_read(
      NULL, PLUGIN_NAME, gauges_read, 0,
      &(user_data_t){.data = g, .free_func = gauges_free});
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, gauges_config);
}
