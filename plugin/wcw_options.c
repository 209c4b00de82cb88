/* SPDX-License-Identifier: MIT */
/*
 * wcw_options: the options of a <Plugin write_cloudwatch> block, as a
 * table (sm_collectd.h) that the parser and tests/check_docs.py both read:
 * name, type, default, limits, and a setter for those no type fits. The
 * man page says what each does.
 */
#include "wcw.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>

#define W_OFF(field) offsetof(wcw_t, field)

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

/* Region: a region name. */
static int set_region(const sm_collectd_option_t *opt, const oconfig_item_t *ci,
                      void *obj, const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  char *r;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      !aws_region_name_ok(ci->values[0].value.string))
    return sm_collectd_option_fail(where, opt, ci,
                                   "not a region name (lowercase letters, "
                                   "digits and hyphens, as us-east-1)");
  r = strdup(ci->values[0].value.string);
  if (r == NULL)
    return sm_collectd_option_fail(where, opt, ci, "out of memory");
  sfree(w->region_cfg);
  w->region_cfg = r;
  return 0;
}

/* Include, Exclude: a regular expression, compiled. */
static int set_filter(const sm_collectd_option_t *opt, const oconfig_item_t *ci,
                      void *obj, const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  bool include = strcasecmp(opt->name, "Include") == 0;
  regex_t *list = include ? w->include : w->exclude;
  size_t *num = include ? &w->include_num : &w->exclude_num;
  const char *re, *costly;
  int status;

  if (*num >= MAX_FILTERS)
    return sm_collectd_option_fail(where, opt, ci, "too many filters");
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return sm_collectd_option_fail(where, opt, ci,
                                   "expected one string (a regular "
                                   "expression)");
  re = ci->values[0].value.string;
  costly = regex_too_costly(re);
  if (costly != NULL)
    return sm_collectd_option_fail(where, opt, ci, costly);
  status = regcomp(&list[*num], re, REG_EXTENDED | REG_NOSUB);
  if (status != 0) {
    char msg[128];
    regerror(status, NULL, msg, sizeof(msg));
    return sm_collectd_option_fail(where, opt, ci, msg);
  }
  (*num)++;
  return 0;
}

/* Dimension "Name" "Value". */
static int set_dimension(const sm_collectd_option_t *opt,
                         const oconfig_item_t *ci, void *obj,
                         const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  static_dim_t *d;

  if (ci->values_num != 2 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[1].type != OCONFIG_TYPE_STRING)
    return sm_collectd_option_fail(where, opt, ci,
                                   "expected two strings: name and value");
  if (w->dims_num >= MAX_STATIC_DIMS)
    return sm_collectd_option_fail(where, opt, ci, "too many dimensions");
  d = &w->dims[w->dims_num];
  d->name = strdup(ci->values[0].value.string);
  d->value = strdup(ci->values[1].value.string);
  if (d->name == NULL || d->value == NULL) {
    sfree(d->name);
    sfree(d->value);
    return sm_collectd_option_fail(where, opt, ci, "out of memory");
  }
  w->dims_num++;
  return 0;
}

/* Namespace, HostMetricsNamespace: a namespace CloudWatch takes. */
static int set_namespace(const sm_collectd_option_t *opt,
                         const oconfig_item_t *ci, void *obj,
                         const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  char **dst = strcasecmp(opt->name, "Namespace") == 0 ? &w->ns : &w->host_ns;
  char msg[256];
  char *ns;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return sm_collectd_option_fail(where, opt, ci, "expected a string");
  if (cw_datum_namespace_validate(ci->values[0].value.string, msg,
                                  sizeof(msg)) != 0)
    return sm_collectd_option_fail(where, opt, ci, msg);
  ns = strdup(ci->values[0].value.string);
  if (ns == NULL)
    return sm_collectd_option_fail(where, opt, ci, "out of memory");
  sfree(*dst);
  *dst = ns;
  return 0;
}

/* StorageResolution: 1 or 60. */
static int set_resolution(const sm_collectd_option_t *opt,
                          const oconfig_item_t *ci, void *obj,
                          const sm_collectd_where_t *where) {
  wcw_t *w = obj;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
      (ci->values[0].value.number != CW_RESOLUTION_HIGH &&
       ci->values[0].value.number != CW_RESOLUTION_STANDARD))
    return sm_collectd_option_fail(where, opt, ci,
                                   "must be 1 (high resolution) or 60");
  w->storage_resolution = (int)ci->values[0].value.number;
  return 0;
}

/* SpoolDirectory: an absolute path. */
static int set_spool_dir(const sm_collectd_option_t *opt,
                         const oconfig_item_t *ci, void *obj,
                         const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  char *dir;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[0].value.string[0] == 0)
    return sm_collectd_option_fail(where, opt, ci, "expected a directory");
  if (ci->values[0].value.string[0] != '/')
    return sm_collectd_option_fail(where, opt, ci, "must be an absolute path");
  if (strlen(ci->values[0].value.string) > PATH_MAX - 64)
    return sm_collectd_option_fail(where, opt, ci, "too long a path");
  dir = strdup(ci->values[0].value.string);
  if (dir == NULL)
    return sm_collectd_option_fail(where, opt, ci, "out of memory");
  sfree(w->spool_dir);
  w->spool_dir = dir;
  return 0;
}

/* SpoolMaxBytes: a whole number of bytes, 1 MiB to 1 TiB. */
static int set_spool_max(const sm_collectd_option_t *opt,
                         const oconfig_item_t *ci, void *obj,
                         const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  double d;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return sm_collectd_option_fail(where, opt, ci,
                                   "expected a number of "
                                   "bytes");
  d = ci->values[0].value.number;
  if (!(d >= opt->min && d <= opt->max) || d != floor(d))
    return sm_collectd_option_fail(where, opt, ci,
                                   "expected a whole number of bytes from "
                                   "1048576 (1 MiB) to 1099511627776 (1 TiB)");
  w->spool_max_bytes = (uint64_t)d;
  return 0;
}

/* HostMetricsFileSystem: a mount point, or the df plugin's instance. */
static int set_disk(const sm_collectd_option_t *opt, const oconfig_item_t *ci,
                    void *obj, const sm_collectd_where_t *where) {
  wcw_t *w = obj;
  char inst[DATA_MAX_NAME_LEN];
  char *disk;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      cw_host_disk_instance(ci->values[0].value.string, inst, sizeof(inst)) !=
          0)
    return sm_collectd_option_fail(where, opt, ci,
                                   "expected a mount point or a df plugin "
                                   "instance");
  disk = strdup(inst);
  if (disk == NULL)
    return sm_collectd_option_fail(where, opt, ci, "out of memory");
  sfree(w->host_disk);
  w->host_disk = disk;
  return 0;
}

/* The options, in the man page's order. A NULL .def is computed (Region,
 * the endpoints, Profile: as the AWS SDKs do) or is "none". */
static const sm_collectd_option_t options[] = {
    {.name = "Region", .type = SM_COLLECTD_OPT_CUSTOM, .set = set_region},
    {.name = "Endpoint",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(endpoint),
     .min = 1,
     .max = 1024},
    {.name = "Namespace",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "SageMaker/AsyncInference",
     .set = set_namespace},
    {.name = "Profile",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(profile),
     .min = 1,
     .max = 128},
    {.name = "FlushInterval",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = W_OFF(flush_interval),
     .def = "10",
     .min = 1,
     .max = 3600},
    {.name = "StorageResolution",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "60",
     .set = set_resolution},
    {.name = "MaxQueuedDatums",
     .type = SM_COLLECTD_OPT_SIZE,
     .offset = W_OFF(max_queued),
     .def = "100000",
     .min = 1000,
     .max = 10000000},
    {.name = "MaxAttempts",
     .type = SM_COLLECTD_OPT_INT,
     .offset = W_OFF(max_attempts),
     .def = "5",
     .min = 1,
     .max = 100},
    {.name = "Compress",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(compress),
     .def = "true"},
    {.name = "Timeout",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = W_OFF(timeout),
     .def = "5",
     .min = 0.1,
     .max = 300},
    {.name = "ShutdownTimeout",
     .type = SM_COLLECTD_OPT_SECONDS,
     .offset = W_OFF(shutdown_timeout),
     .def = "5",
     .min = 0,
     .max = 600},
    {.name = "Percentiles",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(percentiles),
     .def = "true"},
    {.name = "GenericMetrics",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(generic),
     .def = "false"},
    {.name = "HostMetrics",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(host_metrics),
     .def = "false"},
    {.name = "HostMetricsNamespace",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "/aws/sagemaker/Endpoints",
     .set = set_namespace},
    /* From sagemaker_async's values when not given. */
    {.name = "HostMetricsEndpointName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(host_endpoint_cfg),
     .min = 1,
     .max = 255},
    {.name = "HostMetricsVariantName",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(host_variant_cfg),
     .min = 1,
     .max = 255},
    /* The root file system when not given. */
    {.name = "HostMetricsFileSystem",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .set = set_disk},
    {.name = "Include",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .flags = SM_COLLECTD_OPT_REPEATABLE,
     .set = set_filter},
    {.name = "Exclude",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .flags = SM_COLLECTD_OPT_REPEATABLE,
     .set = set_filter},
    {.name = "Dimension",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .flags = SM_COLLECTD_OPT_REPEATABLE,
     .set = set_dimension},
    {.name = "IMDSv1Fallback",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(imds_v1),
     .def = "false"},
    {.name = "DataLog",
     .type = SM_COLLECTD_OPT_BOOLEAN,
     .offset = W_OFF(datalog),
     .def = "true"},
    {.name = "LogsEndpoint",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(logs_endpoint),
     .min = 1,
     .max = 1024},
    {.name = "InstanceId",
     .type = SM_COLLECTD_OPT_STRING,
     .offset = W_OFF(instance_id_cfg),
     .min = 1,
     .max = 63},
    {.name = "MaxQueuedLogEvents",
     .type = SM_COLLECTD_OPT_SIZE,
     .offset = W_OFF(max_log_events),
     .def = "100000",
     .min = 1000,
     .max = 10000000},
    {.name = "SpoolDirectory",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .set = set_spool_dir},
    {.name = "SpoolMaxBytes",
     .type = SM_COLLECTD_OPT_CUSTOM,
     .def = "67108864",
     .min = 1048576,
     .max = 1099511627776.0,
     .set = set_spool_max},
    {.name = "MaxRequestsPerSecond",
     .type = SM_COLLECTD_OPT_DOUBLE,
     .offset = W_OFF(max_rps),
     .def = "20",
     .min = 0.1,
     .max = 1000},
};
#define OPTIONS_NUM (sizeof(options) / sizeof(options[0]))

int wcw_options_read(wcw_t *w, const oconfig_item_t *ci,
                     const sm_collectd_where_t *where) {
  if (sm_collectd_options_defaults(options, OPTIONS_NUM, w, where) != 0 ||
      sm_collectd_options_read(options, OPTIONS_NUM, ci, w, where, NULL) != 0)
    return -1;
  w->timeout_ms = (long)CDTIME_T_TO_MS(w->timeout);
  return 0;
}
