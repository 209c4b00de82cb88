/* SPDX-License-Identifier: MIT */
/*
 * wcw_options: the options of a <Plugin write_cloudwatch> block (see
 * wcw.h and the man page).
 */
#include "wcw.h"

static int cfg_fail(const oconfig_item_t *ci, const char *why) {
  char value[128];

  sm_collectd_config_value(ci, value, sizeof(value));
  ERROR(PLUGIN_NAME " plugin: %s %s: %s", ci->key, value, why);
  return -1;
}

/* glibc's regcomp copies the operand of every repetition, so stacked or
 * large bounded repetitions make it take gigabytes: refuse what no filter
 * on "plugin/type" names needs. Returns NULL, or why. */
static const char *regex_too_costly(const char *re) {
  int bounded = 0;
  bool prev_rep = false;

  if (strlen(re) > 512)
    return "longer than 512 characters";
  for (const char *p = re; *p != 0; p++) {
    bool rep = *p == '*' || *p == '+' || *p == '?' || *p == '{';
    if (*p == '\\' && p[1] != 0) {
      p++;
      prev_rep = false;
      continue;
    }
    if (rep && prev_rep)
      return "repetition of a repetition";
    if (*p == '{') {
      char *end;
      long lo = strtol(p + 1, &end, 10), hi = lo;
      if (*end == ',')
        hi = end[1] == '}' ? 0 : strtol(end + 1, &end, 10);
      if (lo > 255 || hi > 255)
        return "a bound above 255";
      if (++bounded > 2)
        return "more than two bounded repetitions";
      while (*p != 0 && *p != '}')
        p++;
      if (*p == 0)
        break;
    }
    prev_rep = rep;
  }
  return NULL;
}

static int cfg_regex(oconfig_item_t *ci, regex_t *list, size_t *num) {
  char *re = NULL;
  const char *costly;
  int status;
  if (*num >= MAX_FILTERS)
    return cfg_fail(ci, "too many filters");
  if (cf_util_get_string(ci, &re) != 0)
    return cfg_fail(ci, "expected one string (a regular expression)");
  costly = regex_too_costly(re);
  if (costly != NULL) {
    sfree(re);
    return cfg_fail(ci, costly);
  }
  status = regcomp(&list[*num], re, REG_EXTENDED | REG_NOSUB);
  sfree(re);
  if (status != 0) {
    char msg[128];
    regerror(status, NULL, msg, sizeof(msg));
    return cfg_fail(ci, msg);
  }
  (*num)++;
  return 0;
}

static int cfg_seconds(oconfig_item_t *ci, cdtime_t *out, double min,
                       double max) {
  double d;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return cfg_fail(ci, "expected a number of seconds");
  d = ci->values[0].value.number;
  if (!(d >= min && d <= max)) {
    char why[96];
    ssnprintf(why, sizeof(why), "must be between %g and %g seconds", min, max);
    return cfg_fail(ci, why);
  }
  *out = DOUBLE_TO_CDTIME_T(d);
  return 0;
}

int wcw_options_item(wcw_t *w, oconfig_item_t *c) {
  if (strcasecmp("Region", c->key) == 0)
    return cf_util_get_string(c, &w->region_cfg)
               ? cfg_fail(c, "expected a string")
               : 0;
  if (strcasecmp("Endpoint", c->key) == 0)
    return cf_util_get_string(c, &w->endpoint) ? cfg_fail(c, "expected a URL")
                                               : 0;
  if (strcasecmp("Namespace", c->key) == 0) {
    char msg[256];
    sfree(w->ns);
    if (cf_util_get_string(c, &w->ns) != 0)
      return cfg_fail(c, "expected a string");
    if (cw_datum_namespace_validate(w->ns, msg, sizeof(msg)) != 0)
      return cfg_fail(c, msg);
    return 0;
  }
  if (strcasecmp("Profile", c->key) == 0)
    return cf_util_get_string(c, &w->profile) ? cfg_fail(c, "expected a string")
                                              : 0;
  if (strcasecmp("FlushInterval", c->key) == 0)
    return cfg_seconds(c, &w->flush_interval, 1, 3600);
  if (strcasecmp("ShutdownTimeout", c->key) == 0)
    return cfg_seconds(c, &w->shutdown_timeout, 0, 600);
  if (strcasecmp("Timeout", c->key) == 0) {
    cdtime_t t;
    if (cfg_seconds(c, &t, 0.1, 300) != 0)
      return -1;
    w->timeout_ms = (long)CDTIME_T_TO_MS(t);
    return 0;
  }
  if (strcasecmp("StorageResolution", c->key) == 0) {
    int r;
    if (cf_util_get_int(c, &r) != 0 ||
        (r != CW_RESOLUTION_HIGH && r != CW_RESOLUTION_STANDARD))
      return cfg_fail(c, "must be 1 (high resolution) or 60");
    w->storage_resolution = r;
    return 0;
  }
  if (strcasecmp("MaxQueuedDatums", c->key) == 0) {
    int n;
    if (cf_util_get_int(c, &n) != 0 || n < 1000 || n > 10000000)
      return cfg_fail(c, "must be between 1000 and 10000000");
    w->max_queued = (size_t)n;
    return 0;
  }
  if (strcasecmp("MaxAttempts", c->key) == 0) {
    if (cf_util_get_int(c, &w->max_attempts) != 0 || w->max_attempts < 1 ||
        w->max_attempts > 100)
      return cfg_fail(c, "must be between 1 and 100");
    return 0;
  }
  if (strcasecmp("Compress", c->key) == 0)
    return cf_util_get_boolean(c, &w->compress)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("SpoolDirectory", c->key) == 0) {
    sfree(w->spool_dir);
    if (cf_util_get_string(c, &w->spool_dir) != 0)
      return cfg_fail(c, "expected a directory");
    if (w->spool_dir[0] != '/')
      return cfg_fail(c, "must be an absolute path");
    return 0;
  }
  if (strcasecmp("SpoolMaxBytes", c->key) == 0) {
    double d;
    if (cf_util_get_double(c, &d) != 0 || !(d >= CW_SPOOL_MIN_MAX_BYTES) ||
        d > 1099511627776.0)
      return cfg_fail(c, "must be between 1048576 (1 MiB) and 1 TiB");
    w->spool_max_bytes = (uint64_t)d;
    return 0;
  }
  if (strcasecmp("MaxRequestsPerSecond", c->key) == 0) {
    if (cf_util_get_double(c, &w->max_rps) != 0 || !(w->max_rps >= 0.1) ||
        w->max_rps > 1000)
      return cfg_fail(c, "must be between 0.1 and 1000");
    return 0;
  }
  if (strcasecmp("Percentiles", c->key) == 0)
    return cf_util_get_boolean(c, &w->percentiles)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("GenericMetrics", c->key) == 0)
    return cf_util_get_boolean(c, &w->generic)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("HostMetrics", c->key) == 0)
    return cf_util_get_boolean(c, &w->host_metrics)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("HostMetricsNamespace", c->key) == 0) {
    char msg[256];
    sfree(w->host_ns);
    if (cf_util_get_string(c, &w->host_ns) != 0)
      return cfg_fail(c, "expected a string");
    return cw_datum_namespace_validate(w->host_ns, msg, sizeof(msg))
               ? cfg_fail(c, msg)
               : 0;
  }
  if (strcasecmp("HostMetricsEndpointName", c->key) == 0 ||
      strcasecmp("HostMetricsVariantName", c->key) == 0) {
    char **dst = strcasecmp("HostMetricsVariantName", c->key) == 0
                     ? &w->host_variant_cfg
                     : &w->host_endpoint_cfg;
    sfree(*dst);
    if (cf_util_get_string(c, dst) != 0 || (*dst)[0] == 0)
      return cfg_fail(c, "expected a non-empty string");
    return 0;
  }
  if (strcasecmp("HostMetricsFileSystem", c->key) == 0) {
    char mount[DATA_MAX_NAME_LEN], inst[DATA_MAX_NAME_LEN];
    if (cf_util_get_string_buffer(c, mount, sizeof(mount)) != 0 ||
        cw_host_disk_instance(mount, inst, sizeof(inst)) != 0)
      return cfg_fail(c, "expected a mount point or a df plugin instance");
    sfree(w->host_disk);
    w->host_disk = strdup(inst);
    return 0;
  }
  if (strcasecmp("IMDSv1Fallback", c->key) == 0)
    return cf_util_get_boolean(c, &w->imds_v1)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("DataLog", c->key) == 0)
    return cf_util_get_boolean(c, &w->datalog)
               ? cfg_fail(c, "expected true or false")
               : 0;
  if (strcasecmp("LogsEndpoint", c->key) == 0)
    return cf_util_get_string(c, &w->logs_endpoint)
               ? cfg_fail(c, "expected a URL")
               : 0;
  if (strcasecmp("InstanceId", c->key) == 0)
    return cf_util_get_string(c, &w->instance_id_cfg)
               ? cfg_fail(c, "expected a string")
               : 0;
  if (strcasecmp("MaxQueuedLogEvents", c->key) == 0) {
    int n;
    if (cf_util_get_int(c, &n) != 0 || n < 1000 || n > 10000000)
      return cfg_fail(c, "must be between 1000 and 10000000");
    w->max_log_events = (size_t)n;
    return 0;
  }
  if (strcasecmp("Include", c->key) == 0)
    return cfg_regex(c, w->include, &w->include_num);
  if (strcasecmp("Exclude", c->key) == 0)
    return cfg_regex(c, w->exclude, &w->exclude_num);
  if (strcasecmp("Dimension", c->key) == 0) {
    if (c->values_num != 2 || c->values[0].type != OCONFIG_TYPE_STRING ||
        c->values[1].type != OCONFIG_TYPE_STRING)
      return cfg_fail(c, "expected two strings: name and value");
    if (w->dims_num >= MAX_STATIC_DIMS)
      return cfg_fail(c, "too many dimensions");
    w->dims[w->dims_num].name = strdup(c->values[0].value.string);
    w->dims[w->dims_num].value = strdup(c->values[1].value.string);
    w->dims_num++;
    return 0;
  }
  ERROR(PLUGIN_NAME " plugin: unknown option \"%s\"", c->key);
  return -1;
}
