/* SPDX-License-Identifier: MIT */
/*
 * cw_host: SageMaker's instance metrics (CPUUtilization, MemoryUtilization,
 * DiskUtilization, all in percent) computed from what collectd's cpu,
 * memory and df plugins dispatch: their defaults (jiffies per core and
 * state, bytes) or their percentages (ValuesPercentage).
 *
 * SageMaker publishes these per endpoint instance in the namespace
 * /aws/sagemaker/Endpoints with the dimensions EndpointName and
 * VariantName (SageMaker Developer Guide, "Monitor Amazon SageMaker with
 * Amazon CloudWatch", endpoint instance metrics). The rules used here:
 *
 *   CPUUtilization     the sum over cores of each core's utilization
 *                      (0 to 100 times the number of cores), as SageMaker
 *                      defines it. A core's utilization is the share of
 *                      its time not idle: everything but idle is busy,
 *                      including iowait ("wait"), as in collectd's own
 *                      "active" state and the CloudWatch agent's
 *                      cpu_usage_active. From what the cpu plugin
 *                      reports:
 *                      - jiffies per core and state (type "cpu", its
 *                        default): 100 x (sum of the states' increases
 *                        but idle's) / (sum of all the states' increases)
 *                        since the previous read. Every state the plugin
 *                        reports counts, as in its own percentages (with
 *                        ReportGuestState and SubtractGuestState false,
 *                        guest time counts twice there and here). A
 *                        counter that went back (Linux's iowait may)
 *                        counts as no increase. A core seen for the
 *                        first time counts from its second read.
 *                      - percent per core (ValuesPercentage true): 100
 *                        minus idle, or "active" (ReportByState false).
 *                      - the mean percent over all cores (ReportByCpu
 *                        false, plugin instance ""), times the number of
 *                        cores the plugin reports in the same read
 *                        (type "count", ReportNumCpu true): the mean does
 *                        not say how many cores there are, and collectd
 *                        dispatches no jiffies in that mode, so without
 *                        the count there is nothing to multiply by (a
 *                        warning says so; see below).
 *   MemoryUtilization  memory the kernel cannot reclaim, in percent of
 *                      the total: the memory plugin's "used" plus
 *                      "slab_unrecl" (when reported), over the sum of all
 *                      its states (used, buffered, cached, free and
 *                      slab_recl and slab_unrecl, or slab: on Linux they
 *                      add up to MemTotal). The same number whether from
 *                      bytes (type "memory") or from percentages, which
 *                      the plugin computes over that same sum. Page
 *                      cache, buffers and reclaimable slab count as free,
 *                      which approximates the CloudWatch agent's
 *                      mem_used_percent, (total - MemAvailable) / total;
 *                      collectd 5.12 does not report MemAvailable.
 *   DiskUtilization    used / (used + free) of one file system, from the
 *                      df plugin's bytes (df_complex) or percentages
 *                      (percent_bytes): blocks reserved for root count as
 *                      neither, as in df(1)'s Use% and the CloudWatch
 *                      agent's disk used_percent.
 *
 * When a plugin reports both bytes and percentages, the two give the same
 * number: the first of them to make a complete read is used for that
 * host from then on, and the other is ignored, so nothing is published
 * twice.
 *
 * Jiffies are taken as the raw counters (the DERIVE value as collectd
 * dispatched it), not as collectd's per-second rates (uc_get_rate): a
 * core's utilization is a ratio of increases over one interval, which
 * needs neither time nor the clock tick rate; a rate read from
 * collectd's cache in the write callback may already be that of a later
 * value of the series (collectd writes on several threads, each updating
 * the cache before calling the writers), and each state's rate is
 * divided by its own dispatch stamps' difference;
 * the increases between two reads are what the values themselves say,
 * so a test can recompute the metric from what collectd dispatched. The
 * cost is one counter per core and state kept from the previous read.
 *
 * Values of one collectd read arrive as separate value lists (one per
 * core and state), each with its own time (collectd stamps every value
 * list as it is dispatched, microseconds apart), in any order across
 * collectd's write threads. So they are combined per host, source and
 * read: a value within half its interval of the read's first value
 * belongs to that read; a later one starts the next read, which closes
 * the previous one. A read is published as soon as it holds every key
 * the previous read held (each core, or core and state; memory: used,
 * slab_unrecl and, from bytes, every other state; disk: used and free),
 * so no write thread waits and nothing waits for the next read; the
 * first read of percentages or bytes (nothing known yet) is published
 * when the next one begins; jiffies give a first value at their second
 * read. A read closed without a key the previous one had (a core without
 * its idle value, a lost value list) is not published and is counted: a
 * sum over fewer cores would understate the metric; the jiffies read
 * after it has nothing complete to compare with and is not published
 * either. A value more than half an interval older than the open read is
 * late and counted; one more than CW_HOST_CLOCK_STEP_INTERVALS intervals
 * older means the clock went back, and starts a new read.
 *
 * Each sample is published under an endpoint and a variant name: the
 * configured ones, else the last ones that sagemaker_async's values of
 * the same host carried (cw_host_set_names). A read of a host whose names
 * are not known is not published and is counted.
 *
 * Inputs that never come: cw_host_check, given the time of every value
 * of a host, reports once per host and metric when,
 * CW_HOST_MISSING_INTERVALS (3) intervals after the host's first value (the
 * largest interval its values carry), no read of that metric's inputs was
 * complete, naming the plugin and the setting that would provide them; and once
 * more if they come after all. Hosts whose metrics could not be published (no
 * names) are not reported: the missing names are the reason there.
 *
 * collectd-free; not thread-safe (the caller locks). Time is passed in
 * with the values.
 */
#ifndef CW_HOST_H
#define CW_HOST_H 1

#include <stddef.h>
#include <stdint.h>

/* Where SageMaker publishes its endpoint instance metrics. */
#define CW_HOST_DEFAULT_NAMESPACE "/aws/sagemaker/Endpoints"
/* The df plugin's instance for the file system "/". */
#define CW_HOST_DEFAULT_DISK "root"
/* Cores per host at most (the largest instances have a few hundred). */
#define CW_HOST_MAX_CPUS 1024
/* Hosts remembered at most when the config says nothing. */
#define CW_HOST_DEFAULT_MAX_HOSTS 64
/* A value this many intervals older than the open read means the clock
 * went back (a read lags by a fraction of an interval). */
#define CW_HOST_CLOCK_STEP_INTERVALS 10
/* Inputs of a metric missing this many intervals after a host's first
 * value are reported (cw_host_check). */
#define CW_HOST_MISSING_INTERVALS 3
/* The interval assumed for a value that carries none, in seconds. */
#define CW_HOST_DEFAULT_INTERVAL 10.0

typedef enum {
  CW_HOST_CPU = 0,
  CW_HOST_MEMORY,
  CW_HOST_DISK,
  CW_HOST_METRIC_NUM
} cw_host_metric_t;

/* "CPUUtilization", "MemoryUtilization", "DiskUtilization"; NULL out of
 * range. Their unit is Percent. */
const char *cw_host_metric_name(cw_host_metric_t m);

/* A value list of one data source, as the caller got it from collectd.
 * Strings are not kept. */
typedef struct {
  const char *host;
  const char *plugin;
  const char *plugin_instance;
  const char *type;
  const char *type_instance;
  double time;     /* seconds since the epoch */
  double interval; /* seconds; <= 0: CW_HOST_DEFAULT_INTERVAL */
  double value;    /* a GAUGE as is; a DERIVE or COUNTER: the counter as
                      dispatched, not a rate (exact up to 2^53) */
} cw_host_value_t;

/* One sample to publish. The strings live until the callback returns. */
typedef struct {
  cw_host_metric_t metric;
  const char *metric_name;
  const char *host;
  const char *endpoint;
  const char *variant;
  double time;  /* the earliest time of the read's values */
  double value; /* percent */
} cw_host_sample_t;

/* Called from cw_host_add and cw_host_finish for each sample. */
typedef void (*cw_host_emit_fn)(const cw_host_sample_t *s, void *ud);

/* Called from cw_host_check: why is what is missing and which plugin
 * and setting would provide it (a sentence without the metric's name);
 * NULL when the inputs of a metric reported missing came after all. */
typedef void (*cw_host_warn_fn)(const char *host, cw_host_metric_t m,
                                const char *why, void *ud);

typedef struct {
  const char *disk;     /* df plugin instance; NULL: CW_HOST_DEFAULT_DISK */
  const char *endpoint; /* EndpointName of every sample; NULL: learned */
  const char *variant;  /* VariantName of every sample; NULL: learned */
  size_t max_hosts;     /* 0: CW_HOST_DEFAULT_MAX_HOSTS */
} cw_host_config_t;

typedef struct {
  uint64_t samples;          /* emitted */
  uint64_t reads_incomplete; /* closed without a key the last one had */
  uint64_t reads_unnamed;    /* complete, but no endpoint or variant name */
  uint64_t values_late;      /* of a read already closed */
  uint64_t values_dropped;   /* beyond CW_HOST_MAX_CPUS or max_hosts, or
                                out of memory */
} cw_host_stats_t;

typedef enum {
  CW_HOST_TAKEN = 0, /* part of a read */
  CW_HOST_IGNORED,   /* not used by any metric (another plugin, type or
                        state, a NaN, a repeat within a read, or the
                        source not chosen for its metric) */
  CW_HOST_LATE,      /* of a read already closed: counted */
  CW_HOST_DROPPED,   /* a limit or memory: counted */
} cw_host_result_t;

typedef struct cw_host_s cw_host_t;

/* NULL when out of memory. Copies the strings of cfg. */
cw_host_t *cw_host_create(const cw_host_config_t *cfg);
void cw_host_destroy(cw_host_t *h);

/* 1 when values of this plugin and type may feed a metric (cpu: cpu,
 * percent, count; memory: memory, percent; df: df_complex,
 * percent_bytes): the caller can skip the others cheaply. */
int cw_host_wants(const char *plugin, const char *type);

/* The df plugin's instance for a mount point, as df names it without
 * ReportByDevice: "/" is "root", "/var/lib" is "var-lib" (trailing
 * slashes dropped). A name not starting with '/' is taken as an instance
 * already (a device with ReportByDevice). Returns 0, or -1 when the
 * result is empty or does not fit in size. */
int cw_host_disk_instance(const char *mount, char *buf, size_t size);

/* Remembers the endpoint and variant names a host's SageMaker values
 * carry (either may be NULL: unchanged). Returns 0, -1 when out of memory
 * or beyond max_hosts. */
int cw_host_set_names(cw_host_t *h, const char *host, const char *endpoint,
                      const char *variant);

/* Takes one value; emits the samples of any read it completes or
 * closes. */
cw_host_result_t cw_host_add(cw_host_t *h, const cw_host_value_t *v,
                             cw_host_emit_fn emit, void *ud);

/* The clock of the checks: to be called with the time and interval of
 * every value of a host the caller sees (sagemaker_async's and the host
 * plugins'), before or after passing it on. Calls warn, at most once per
 * host and metric, when CW_HOST_MISSING_INTERVALS intervals (the largest
 * seen for the host) after the host's first value no read of the
 * metric's inputs was complete; and once more, with why NULL, when they
 * come after that. A host without names is not checked. */
void cw_host_check(cw_host_t *h, const char *host, double time, double interval,
                   cw_host_warn_fn warn, void *ud);

/* Closes every open read as if the next one had begun (at shutdown). */
void cw_host_finish(cw_host_t *h, cw_host_emit_fn emit, void *ud);

void cw_host_get_stats(const cw_host_t *h, cw_host_stats_t *out);

#endif /* CW_HOST_H */
