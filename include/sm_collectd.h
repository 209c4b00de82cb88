/* SPDX-License-Identifier: MIT */
/*
 * sm_collectd.h: the one way our glue files include collectd's headers.
 *
 * Debian's collectd-dev ships collectd's own build configuration as
 * collectd/core/config.h, which defines PACKAGE, PACKAGE_NAME, VERSION and
 * the other PACKAGE_* macros, exactly as our autoconf header does. Included
 * after ours they clash (a redefinition error under -Werror); included
 * before, ours are silently replaced. So collectd's come first, their
 * package macros are dropped, and then ours (sm_build.h) are read.
 *
 * Only the collectd glue (the files directly in plugin/, the test
 * plugins) includes this; the layers in plugin's folders are
 * collectd-free. plugin/sm_collectd.c holds what both plugins' glue shares.
 */
#ifndef SM_COLLECTD_H
#define SM_COLLECTD_H 1

#ifndef HAVE_CONFIG_H
#error "HAVE_CONFIG_H must be defined: collectd's common.h needs its config.h"
#endif

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"
#include "collectd/core/utils/metadata/meta_data.h"

#undef PACKAGE
#undef PACKAGE_NAME
#undef PACKAGE_VERSION
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_BUGREPORT
#undef PACKAGE_URL
#undef VERSION

#include "sm_build.h"

#include <stddef.h>

/* The value of a config item as written, for an error message: "text",
 * 12, true, "(none)" or "(several values)". */
void sm_collectd_config_value(const oconfig_item_t *ci, char *buf, size_t size);

#endif /* SM_COLLECTD_H */
