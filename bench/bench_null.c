/* SPDX-License-Identifier: MIT */
/*
 * bench_null: a collectd write plugin that does nothing with what it is
 * handed. Loaded alone, it gives the benchmark's floor: the CPU collectd
 * spends dispatching values to a writer, whatever that writer does.
 * (With no write plugin at all, collectd 5.12 logs a line per value at
 * info level, which is no floor.) Not installed.
 *
 *   LoadPlugin bench_null
 */
#include "sm_collectd.h"

static int bench_null_write(const data_set_t *ds, const value_list_t *vl,
                            user_data_t *ud) {
  (void)ds;
  (void)vl;
  (void)ud;
  return 0;
}

void module_register(void) {
  plugin_register_write("bench_null", bench_null_write, NULL);
}
