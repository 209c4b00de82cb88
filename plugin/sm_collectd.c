/* SPDX-License-Identifier: MIT */
/*
 * sm_collectd: what the two plugins' collectd glue shares (see
 * include/sm_collectd.h).
 */
#include "sm_collectd.h"

void sm_collectd_config_value(const oconfig_item_t *ci, char *buf,
                              size_t size) {
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING)
    ssnprintf(buf, size, "\"%s\"", ci->values[0].value.string);
  else if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_NUMBER)
    ssnprintf(buf, size, "%g", ci->values[0].value.number);
  else if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_BOOLEAN)
    sstrncpy(buf, ci->values[0].value.boolean ? "true" : "false", size);
  else if (ci->values_num > 1)
    sstrncpy(buf, "(several values)", size);
  else
    sstrncpy(buf, "(none)", size);
}
