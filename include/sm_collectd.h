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

#include <stdbool.h>
#include <stddef.h>

/* The value of a config item as written, for an error message: "text",
 * 12, true, "(none)" or "(several values)". */
void sm_collectd_config_value(const oconfig_item_t *ci, char *buf, size_t size);

/* ------------------------------------------------------ table of options
 *
 * A block's options as a table that the parser and the documentation
 * check (tests/check_docs.py) both read: name, type, where the value goes,
 * the default, the limits, and for the options no type fits, a setter.
 * Write one option per entry with designated initializers, .name first,
 * and .def as a string literal: check_docs reads them from the source.
 *
 *   static const sm_collectd_option_t opts[] = {
 *       {.name = "PageSize", .type = SM_COLLECTD_OPT_INT,
 *        .offset = offsetof(conf_t, page_size), .def = "1000",
 *        .min = 1, .max = 10000},
 *       ...
 *   };
 *   sm_collectd_options_defaults(opts, n, conf, &where);
 *   sm_collectd_options_read(opts, n, block, conf, &where, given);
 *
 * Errors name the plugin, the block, the option and the value as written,
 * and say what was expected; a bad option fails its block.
 */

typedef enum {
  SM_COLLECTD_OPT_STRING,  /* char *, allocated (the old one is freed);
                              limits: its length in bytes */
  SM_COLLECTD_OPT_BOOLEAN, /* bool: true/false, or the strings true, yes,
                              on, false, no, off (as cf_util_get_boolean) */
  SM_COLLECTD_OPT_INT,     /* int: a whole number within the limits */
  SM_COLLECTD_OPT_SIZE,    /* size_t: a whole number within the limits */
  SM_COLLECTD_OPT_DOUBLE,  /* double: a number within the limits */
  SM_COLLECTD_OPT_SECONDS, /* cdtime_t: a number of seconds within the
                              limits */
  SM_COLLECTD_OPT_CUSTOM,  /* the entry's set() */
} sm_collectd_opt_type_t;

/* The option may be given more than once (each is set() or, for a
 * string, replaces the one before); any other option given twice is an
 * error. */
#define SM_COLLECTD_OPT_REPEATABLE 0x1u

/* How errors are worded. */
typedef enum {
  /* "invalid value for KEY: VALUE (expected WHAT)" (sagemaker_async) */
  SM_COLLECTD_MSG_INVALID_VALUE_FOR,
  /* "KEY VALUE: WHAT" (write_cloudwatch) */
  SM_COLLECTD_MSG_KEY_VALUE,
} sm_collectd_msg_style_t;

/* Where options are read, for messages. */
typedef struct {
  const char *plugin; /* "sagemaker_async" */
  const char *block;  /* "<Runtime \"main\">"; NULL: the <Plugin> block */
  sm_collectd_msg_style_t style;
} sm_collectd_where_t;

typedef struct sm_collectd_option_s sm_collectd_option_t;

/* A custom option's setter: reads ci into obj. On an error it logs (with
 * sm_collectd_option_fail or a message of its own naming where, the key
 * and the value) and returns -1; else 0. */
typedef int (*sm_collectd_setter_t)(const sm_collectd_option_t *opt,
                                    const oconfig_item_t *ci, void *obj,
                                    const sm_collectd_where_t *where);

struct sm_collectd_option_s {
  const char *name;
  sm_collectd_opt_type_t type;
  size_t offset; /* of the field in the object (not for CUSTOM) */
  /* The default as it would be written in the configuration ("2",
   * "true", "/run/x.sock"), set by sm_collectd_options_defaults(); NULL
   * when there is none or the glue computes it (say which in the docs). */
  const char *def;
  double min, max; /* limits, when max > min (STRING: length in bytes) */
  unsigned flags;  /* SM_COLLECTD_OPT_* */
  sm_collectd_setter_t set; /* CUSTOM */
  /* What the error says: NULL for the type's wording ("expected an integer
   * from 1 to 10000"), else this text as is. */
  const char *what;
};

/* Sets every option that has a default. Returns 0, or -1 (logged) for a
 * default its own type refuses: a mistake in the table. */
int sm_collectd_options_defaults(const sm_collectd_option_t *opts, size_t n,
                                 void *obj, const sm_collectd_where_t *where);

/* Reads the children of block (the <Runtime> or <Plugin> item) into obj,
 * stopping at the first error (logged: unknown option, wrong type, out of
 * limits, given twice). given, if not NULL, has n entries and says which
 * options were given. Returns 0 or -1. */
int sm_collectd_options_read(const sm_collectd_option_t *opts, size_t n,
                             const oconfig_item_t *block, void *obj,
                             const sm_collectd_where_t *where, bool *given);

/* The option of that name, or NULL (names compare without case). */
const sm_collectd_option_t *
sm_collectd_option_find(const sm_collectd_option_t *opts, size_t n,
                        const char *name);

/* Logs the error for ci in where's wording, what being what was expected
 * (or the type's wording when NULL), and returns -1. */
int sm_collectd_option_fail(const sm_collectd_where_t *where,
                            const sm_collectd_option_t *opt,
                            const oconfig_item_t *ci, const char *what);

#endif /* SM_COLLECTD_H */
