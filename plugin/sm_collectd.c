/* SPDX-License-Identifier: MIT */
/*
 * sm_collectd: what the two plugins' collectd glue shares (see
 * include/sm_collectd.h).
 */
#include "sm_collectd.h"

#include <limits.h>
#include <math.h>

void sm_collectd_config_value(const oconfig_item_t *ci, char *buf,
                              size_t size) {
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING)
    ssnprintf(buf, size, "\"%s\"", ci->values[0].value.string);
  else if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_NUMBER)
    ssnprintf(buf, size, "%.15g", ci->values[0].value.number);
  else if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_BOOLEAN)
    sstrncpy(buf, ci->values[0].value.boolean ? "true" : "false", size);
  else if (ci->values_num > 1)
    sstrncpy(buf, "(several values)", size);
  else
    sstrncpy(buf, "(none)", size);
}

/* ------------------------------------------------------ table of options */

const sm_collectd_option_t *
sm_collectd_option_find(const sm_collectd_option_t *opts, size_t n,
                        const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(opts[i].name, name) == 0)
      return &opts[i];
  return NULL;
}

static bool has_limits(const sm_collectd_option_t *opt) {
  return opt->max > opt->min;
}

/* The type's wording of what is expected: "an integer from 1 to 10000". */
static void expected_text(const sm_collectd_option_t *opt, char *buf,
                          size_t size) {
  static const char *const nouns[] = {
      [SM_COLLECTD_OPT_STRING] = "a string",
      [SM_COLLECTD_OPT_BOOLEAN] = "true or false",
      [SM_COLLECTD_OPT_INT] = "an integer",
      [SM_COLLECTD_OPT_SIZE] = "a whole number",
      [SM_COLLECTD_OPT_DOUBLE] = "a number",
      [SM_COLLECTD_OPT_SECONDS] = "a number of seconds",
      [SM_COLLECTD_OPT_CUSTOM] = "another value",
  };
  const char *noun = nouns[opt->type];

  if (!has_limits(opt) || opt->type == SM_COLLECTD_OPT_BOOLEAN ||
      opt->type == SM_COLLECTD_OPT_CUSTOM)
    ssnprintf(buf, size, "expected %s", noun);
  else if (opt->type == SM_COLLECTD_OPT_STRING)
    ssnprintf(buf, size, "expected a string of %.0f to %.0f bytes", opt->min,
              opt->max);
  else if (isinf(opt->max))
    ssnprintf(buf, size, "expected %s of at least %.15g", noun, opt->min);
  else
    ssnprintf(buf, size, "expected %s from %.15g to %.15g", noun, opt->min,
              opt->max);
}

int sm_collectd_option_fail(const sm_collectd_where_t *where,
                            const sm_collectd_option_t *opt,
                            const oconfig_item_t *ci, const char *what) {
  char value[128];
  char expected[160];
  const char *sep = where->block != NULL ? ": " : "";
  const char *block = where->block != NULL ? where->block : "";

  sm_collectd_config_value(ci, value, sizeof(value));
  if (what == NULL && opt != NULL)
    expected_text(opt, expected, sizeof(expected));
  else
    sstrncpy(expected, what != NULL ? what : "invalid", sizeof(expected));
  if (where->style == SM_COLLECTD_MSG_KEY_VALUE)
    ERROR("%s plugin: %s%s%s %s: %s", where->plugin, block, sep, ci->key, value,
          expected);
  else
    ERROR("%s plugin: %s%sinvalid value for %s: %s (%s)", where->plugin, block,
          sep, ci->key, value, expected);
  return -1;
}

/* A boolean as cf_util_get_boolean() takes it. Returns 0 or -1. */
static int read_boolean(const oconfig_value_t *v, bool *out) {
  static const char *const yes[] = {"true", "yes", "on"};
  static const char *const no[] = {"false", "no", "off"};

  if (v->type == OCONFIG_TYPE_BOOLEAN) {
    *out = v->value.boolean != 0;
    return 0;
  }
  if (v->type != OCONFIG_TYPE_STRING)
    return -1;
  for (size_t i = 0; i < 3; i++) {
    if (strcasecmp(v->value.string, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(v->value.string, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

/* A number within the option's limits (whole when the type says so). */
static int read_number(const sm_collectd_option_t *opt,
                       const oconfig_value_t *v, double *out) {
  double d;

  if (v->type != OCONFIG_TYPE_NUMBER)
    return -1;
  d = v->value.number;
  if (isnan(d) || (has_limits(opt) && !(d >= opt->min && d <= opt->max)))
    return -1;
  if ((opt->type == SM_COLLECTD_OPT_INT || opt->type == SM_COLLECTD_OPT_SIZE) &&
      d != floor(d))
    return -1;
  *out = d;
  return 0;
}

/* Stores the single value v of a typed option into obj. The limits of a
 * table must keep INT within int and SIZE within size_t. */
static int store(const sm_collectd_option_t *opt, const oconfig_value_t *v,
                 void *obj) {
  char *field = (char *)obj + opt->offset;
  double d = 0;

  switch (opt->type) {
  case SM_COLLECTD_OPT_STRING: {
    size_t len;
    char *copy;
    if (v->type != OCONFIG_TYPE_STRING)
      return -1;
    len = strlen(v->value.string);
    if (has_limits(opt) &&
        !((double)len >= opt->min && (double)len <= opt->max))
      return -1;
    copy = strdup(v->value.string);
    if (copy == NULL)
      return -1;
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
  }
  case SM_COLLECTD_OPT_BOOLEAN:
    return read_boolean(v, (bool *)field);
  case SM_COLLECTD_OPT_INT:
    if (read_number(opt, v, &d) != 0 || !(d >= INT_MIN && d <= INT_MAX))
      return -1;
    *(int *)field = (int)d;
    return 0;
  case SM_COLLECTD_OPT_SIZE:
    if (read_number(opt, v, &d) != 0 || !(d >= 0 && d < 0x1p63))
      return -1;
    *(size_t *)field = (size_t)d;
    return 0;
  case SM_COLLECTD_OPT_DOUBLE:
    if (read_number(opt, v, &d) != 0)
      return -1;
    *(double *)field = d;
    return 0;
  case SM_COLLECTD_OPT_SECONDS:
    /* Beyond a year, cdtime_t's 2^-30 s units still hold it, but no
     * interval or timeout of ours means it. */
    if (read_number(opt, v, &d) != 0 || !(d >= 0 && d <= 366.0 * 86400))
      return -1;
    *(cdtime_t *)field = DOUBLE_TO_CDTIME_T(d);
    return 0;
  case SM_COLLECTD_OPT_CUSTOM:
    break;
  }
  return -1;
}

/* One option given in the block. */
static int read_one(const sm_collectd_option_t *opt, const oconfig_item_t *ci,
                    void *obj, const sm_collectd_where_t *where) {
  if (opt->type == SM_COLLECTD_OPT_CUSTOM)
    return opt->set(opt, ci, obj, where);
  if (ci->values_num != 1 || ci->children_num != 0 ||
      store(opt, &ci->values[0], obj) != 0)
    return sm_collectd_option_fail(where, opt, ci, opt->what);
  return 0;
}

int sm_collectd_options_defaults(const sm_collectd_option_t *opts, size_t n,
                                 void *obj, const sm_collectd_where_t *where) {
  for (size_t i = 0; i < n; i++) {
    const sm_collectd_option_t *opt = &opts[i];
    oconfig_value_t v = {.type = OCONFIG_TYPE_STRING};
    oconfig_item_t ci = {
        .key = (char *)opt->name, .values = &v, .values_num = 1};
    char *end = NULL;
    double d;

    if (opt->def == NULL)
      continue;
    /* As the configuration would give it: a number when it reads as one
     * (strings and booleans take the text). */
    v.value.string = (char *)opt->def;
    d = strtod(opt->def, &end);
    if (end != opt->def && *end == 0 && opt->type != SM_COLLECTD_OPT_STRING &&
        opt->type != SM_COLLECTD_OPT_BOOLEAN) {
      v.type = OCONFIG_TYPE_NUMBER;
      v.value.number = d;
    }
    if (read_one(opt, &ci, obj, where) != 0) {
      ERROR("%s plugin: the default \"%s\" of %s is refused by its own "
            "limits",
            where->plugin, opt->def, opt->name);
      return -1;
    }
  }
  return 0;
}

int sm_collectd_options_read(const sm_collectd_option_t *opts, size_t n,
                             const oconfig_item_t *block, void *obj,
                             const sm_collectd_where_t *where, bool *given) {
  const char *sep = where->block != NULL ? ": " : "";
  const char *name = where->block != NULL ? where->block : "";
  bool *seen = calloc(n > 0 ? n : 1, sizeof(*seen));
  int status = 0;

  if (seen == NULL) {
    ERROR("%s plugin: %s%sout of memory", where->plugin, name, sep);
    return -1;
  }
  for (int i = 0; i < block->children_num && status == 0; i++) {
    const oconfig_item_t *ci = block->children + i;
    const sm_collectd_option_t *opt = sm_collectd_option_find(opts, n, ci->key);

    if (opt == NULL) {
      ERROR("%s plugin: %s%sunknown option \"%s\"", where->plugin, name, sep,
            ci->key);
      status = -1;
    } else if (seen[opt - opts] && !(opt->flags & SM_COLLECTD_OPT_REPEATABLE)) {
      ERROR("%s plugin: %s%s%s is given twice; give it once", where->plugin,
            name, sep, ci->key);
      status = -1;
    } else {
      status = read_one(opt, ci, obj, where);
      seen[opt - opts] = true;
    }
  }
  if (given != NULL)
    memcpy(given, seen, n * sizeof(*seen));
  free(seen);
  return status;
}
