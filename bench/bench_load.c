/* SPDX-License-Identifier: MIT */
/*
 * bench_load: a collectd read plugin that dispatches a fixed number of
 * gauge values per read, one per series, so that write plugins can be
 * compared under the same steady load. The series are plugin "bench",
 * type "gauge", type instances "s0" .. "s<Series-1>". After each read the
 * number of values dispatched so far is written to CountFile, so a
 * benchmark can count what went through in a window. Not installed.
 *
 *   <Plugin bench_load>
 *     Series 25000
 *     Interval 0.5
 *     CountFile "/tmp/bench/count"
 *   </Plugin>
 *
 * Values per second: Series / Interval.
 */
#include "sm_collectd.h"

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#define PLUGIN_NAME "bench_load"
#define SERIES_MAX 10000000

typedef struct {
  int series;
  cdtime_t interval;
  char *count_file;
  int count_fd;
  uint64_t dispatched;
  uint64_t reads;
} bench_load_t;

static void bench_load_free(void *arg) {
  bench_load_t *b = arg;
  if (b == NULL)
    return;
  if (b->count_fd >= 0)
    close(b->count_fd);
  sfree(b->count_file);
  sfree(b);
}

static int bench_load_read(user_data_t *ud) {
  bench_load_t *b = ud->data;
  value_list_t vl = VALUE_LIST_INIT;
  value_t v;
  char line[32];
  int len;

  vl.values = &v;
  vl.values_len = 1;
  vl.time = cdtime();
  vl.interval = b->interval;
  sstrncpy(vl.plugin, "bench", sizeof(vl.plugin));
  sstrncpy(vl.type, "gauge", sizeof(vl.type));
  for (int i = 0; i < b->series; i++) {
    /* Varies per read and series, never NaN. */
    v.gauge = (gauge_t)((b->reads + (uint64_t)i) % 1000);
    ssnprintf(vl.type_instance, sizeof(vl.type_instance), "s%d", i);
    if (plugin_dispatch_values(&vl) == 0)
      b->dispatched++;
  }
  b->reads++;

  if (b->count_fd >= 0) {
    len = ssnprintf(line, sizeof(line), "%20" PRIu64 "\n", b->dispatched);
    if (pwrite(b->count_fd, line, (size_t)len, 0) != len)
      WARNING(PLUGIN_NAME " plugin: writing %s: %s", b->count_file, STRERRNO);
  }
  return 0;
}

static int bench_load_config(oconfig_item_t *ci) {
  bench_load_t *b = calloc(1, sizeof(*b));
  int status = 0;

  if (b == NULL)
    return -1;
  b->count_fd = -1;
  b->series = 1000;
  b->interval = plugin_get_interval();

  for (int i = 0; i < ci->children_num && status == 0; i++) {
    oconfig_item_t *c = ci->children + i;
    if (strcasecmp("Series", c->key) == 0) {
      status = cf_util_get_int(c, &b->series);
      if (status == 0 && (b->series < 1 || b->series > SERIES_MAX)) {
        ERROR(PLUGIN_NAME " plugin: Series must be 1..%d", SERIES_MAX);
        status = -1;
      }
    } else if (strcasecmp("Interval", c->key) == 0)
      status = cf_util_get_cdtime(c, &b->interval);
    else if (strcasecmp("CountFile", c->key) == 0)
      status = cf_util_get_string(c, &b->count_file);
    else {
      ERROR(PLUGIN_NAME " plugin: unknown option %s", c->key);
      status = -1;
    }
  }
  if (status == 0 && b->count_file != NULL) {
    b->count_fd = open(b->count_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (b->count_fd < 0) {
      ERROR(PLUGIN_NAME " plugin: %s: %s", b->count_file, STRERRNO);
      status = -1;
    }
  }
  if (status != 0) {
    bench_load_free(b);
    return -1;
  }
  return plugin_register_complex_read(
      NULL, PLUGIN_NAME, bench_load_read, b->interval,
      &(user_data_t){.data = b, .free_func = bench_load_free});
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, bench_load_config);
}
