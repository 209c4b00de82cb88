/* SPDX-License-Identifier: MIT */
/*
 * sm_config: quoting config values in error messages (see
 * include/sm_config.h).
 */
#include "sm_config.h"

void sm_config_value(const oconfig_item_t *ci, char *buf, size_t size) {
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
