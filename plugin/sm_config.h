/* SPDX-License-Identifier: MIT */
/*
 * sm_config: what the plugins' configuration errors quote. Shared by the
 * collectd glue of both plugins.
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H 1

#include <stddef.h>

#include "sm_collectd.h"

/* The value of a config item as written: "text", 12, true, "(none)" or
 * "(several values)". */
void sm_config_value(const oconfig_item_t *ci, char *buf, size_t size);

#endif /* SM_CONFIG_H */
