/* SPDX-License-Identifier: MIT */
/*
 * cw_host: SageMaker's instance metrics from collectd's cpu, memory and
 * df plugins. See cw_host.h for the rules.
 */
#include "cw_host.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a metric's inputs come from: each has reads of its own, and a
 * host's metric uses the first that makes a complete read. */
typedef enum {
  SRC_CPU_PERCENT = 0, /* per core: idle or active percent */
  SRC_CPU_MEAN,        /* the mean percent over cores, and their number */
  SRC_CPU_JIFFIES,     /* per core and state */
  SRC_MEM_PERCENT,
  SRC_MEM_BYTES,
  SRC_DISK_PERCENT,
  SRC_DISK_BYTES,
  SRC_NUM
} source_t;

static const cw_host_metric_t src_metric[SRC_NUM] = {
    CW_HOST_CPU,    CW_HOST_CPU,  CW_HOST_CPU, CW_HOST_MEMORY,
    CW_HOST_MEMORY, CW_HOST_DISK, CW_HOST_DISK};

/* The cpu plugin's states (collectd 5.12's cpu.c); a core's jiffies are
 * keyed core * CPU_STATES + state. "active" is a percentage only. */
static const char *const cpu_states[] = {
    "user",    "system", "wait",  "nice",       "swap", "interrupt",
    "softirq", "steal",  "guest", "guest_nice", "idle"};
#define CPU_STATES (sizeof(cpu_states) / sizeof(cpu_states[0]))
#define CPU_IDLE (CPU_STATES - 1)

/* Keys of the memory reads: percentages use the first two; bytes all of
 * them, the sum being the total. Linux's states. */
static const char *const mem_states[] = {
    "used", "slab_unrecl", "buffered", "cached", "free", "slab", "slab_recl"};
enum { MEM_USED = 0, MEM_SLAB_UNRECL, MEM_PERCENT_KEYS };
#define MEM_KEYS (sizeof(mem_states) / sizeof(mem_states[0]))
enum { DISK_USED = 0, DISK_FREE, DISK_KEYS };
enum { MEAN_BUSY = 0, MEAN_COUNT, MEAN_KEYS };

/* What a host's values showed, for the checks. */
enum {
  SEEN_CPU = 1 << 0,       /* any value of the cpu plugin */
  SEEN_CPU_MEAN = 1 << 1,  /* its mean over cores */
  SEEN_CPU_COUNT = 1 << 2, /* its number of cores */
  SEEN_MEM = 1 << 3,
  SEEN_DF = 1 << 4,
  SEEN_DISK = 1 << 5 /* of the configured file system */
};

/* One read of one source: the values its keys got, and which keys (and
 * values) the previous read had: the expectation that says it is
 * complete, and for jiffies the counters to compare with. */
typedef struct {
  double start; /* earliest time of its values; 0: no read open */
  double interval;
  bool done;  /* computed (and published unless unnamed) */
  size_t cap; /* keys allocated */
  double *val;
  double *prev;
  unsigned char *have;
  unsigned char *expect;
  size_t num;           /* keys with a value */
  size_t expected_num;  /* keys the previous read had */
  size_t expected_seen; /* of which this read has */
  bool prev_complete;   /* the previous read had what its own one had */
} read_t;

typedef struct {
  char *name;
  char *endpoint;
  char *variant;
  read_t reads[SRC_NUM];
  source_t source[CW_HOST_METRIC_NUM]; /* chosen; SRC_NUM: not yet */
  /* checks */
  double first;    /* time of the first value checked; 0: none */
  double interval; /* the largest seen */
  unsigned seen;   /* SEEN_* */
  bool arrived[CW_HOST_METRIC_NUM];         /* a read was complete */
  unsigned char warned[CW_HOST_METRIC_NUM]; /* 1: warned; 2: and cleared */
} host_t;

struct cw_host_s {
  char *disk;
  char *endpoint;
  char *variant;
  size_t max_hosts;
  host_t **hosts;
  size_t hosts_num;
  cw_host_stats_t stats;
};

static const char *const metric_names[CW_HOST_METRIC_NUM] = {
    "CPUUtilization", "MemoryUtilization", "DiskUtilization"};

const char *cw_host_metric_name(cw_host_metric_t m) {
  return (unsigned)m < CW_HOST_METRIC_NUM ? metric_names[m] : NULL;
}

static char *dup_or_null(const char *s) { return s != NULL ? strdup(s) : NULL; }

cw_host_t *cw_host_create(const cw_host_config_t *cfg) {
  cw_host_t *h = calloc(1, sizeof(*h));
  const char *disk = cfg->disk != NULL ? cfg->disk : CW_HOST_DEFAULT_DISK;

  if (h == NULL)
    return NULL;
  h->disk = strdup(disk);
  h->endpoint = dup_or_null(cfg->endpoint);
  h->variant = dup_or_null(cfg->variant);
  h->max_hosts =
      cfg->max_hosts > 0 ? cfg->max_hosts : CW_HOST_DEFAULT_MAX_HOSTS;
  if (h->disk == NULL || (cfg->endpoint != NULL && h->endpoint == NULL) ||
      (cfg->variant != NULL && h->variant == NULL)) {
    cw_host_destroy(h);
    return NULL;
  }
  return h;
}

static void host_free(host_t *x) {
  if (x == NULL)
    return;
  for (int i = 0; i < SRC_NUM; i++) {
    free(x->reads[i].val);
    free(x->reads[i].prev);
    free(x->reads[i].have);
    free(x->reads[i].expect);
  }
  free(x->name);
  free(x->endpoint);
  free(x->variant);
  free(x);
}

void cw_host_destroy(cw_host_t *h) {
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->hosts_num; i++)
    host_free(h->hosts[i]);
  free(h->hosts);
  free(h->disk);
  free(h->endpoint);
  free(h->variant);
  free(h);
}

int cw_host_wants(const char *plugin, const char *type) {
  if (strcmp(plugin, "cpu") == 0)
    return strcmp(type, "cpu") == 0 || strcmp(type, "percent") == 0 ||
           strcmp(type, "count") == 0;
  if (strcmp(plugin, "memory") == 0)
    return strcmp(type, "memory") == 0 || strcmp(type, "percent") == 0;
  if (strcmp(plugin, "df") == 0)
    return strcmp(type, "df_complex") == 0 ||
           strcmp(type, "percent_bytes") == 0;
  return 0;
}

int cw_host_disk_instance(const char *mount, char *buf, size_t size) {
  size_t len;

  if (mount == NULL || size == 0)
    return -1;
  if (mount[0] != '/') {
    len = strlen(mount);
    if (len == 0 || len >= size)
      return -1;
    memcpy(buf, mount, len + 1);
    return 0;
  }
  while (mount[0] == '/')
    mount++;
  len = strlen(mount);
  while (len > 0 && mount[len - 1] == '/')
    len--;
  if (len == 0) {
    if (size <= strlen(CW_HOST_DEFAULT_DISK))
      return -1;
    memcpy(buf, CW_HOST_DEFAULT_DISK, strlen(CW_HOST_DEFAULT_DISK) + 1);
    return 0;
  }
  if (len >= size)
    return -1;
  for (size_t i = 0; i < len; i++)
    buf[i] = mount[i] == '/' ? '-' : mount[i];
  buf[len] = 0;
  return 0;
}

/* The host's entry, created when create is set. NULL when absent, out of
 * memory or beyond max_hosts. */
static host_t *host_get(cw_host_t *h, const char *name, bool create) {
  host_t *x, **grown;

  for (size_t i = 0; i < h->hosts_num; i++)
    if (strcmp(h->hosts[i]->name, name) == 0)
      return h->hosts[i];
  if (!create || h->hosts_num >= h->max_hosts)
    return NULL;
  grown = realloc(h->hosts, (h->hosts_num + 1) * sizeof(*grown));
  if (grown == NULL)
    return NULL;
  h->hosts = grown;
  x = calloc(1, sizeof(*x));
  if (x == NULL || (x->name = strdup(name)) == NULL) {
    free(x);
    return NULL;
  }
  for (int m = 0; m < CW_HOST_METRIC_NUM; m++)
    x->source[m] = SRC_NUM;
  h->hosts[h->hosts_num++] = x;
  return x;
}

static int replace(char **dst, const char *src) {
  char *copy;

  if (src == NULL || (*dst != NULL && strcmp(*dst, src) == 0))
    return 0;
  copy = strdup(src);
  if (copy == NULL)
    return -1;
  free(*dst);
  *dst = copy;
  return 0;
}

int cw_host_set_names(cw_host_t *h, const char *host, const char *endpoint,
                      const char *variant) {
  host_t *x = host_get(h, host, true);

  if (x == NULL)
    return -1;
  if (replace(&x->endpoint, endpoint) != 0 ||
      replace(&x->variant, variant) != 0)
    return -1;
  return 0;
}

/* Makes room for keys 0..key. */
static int read_grow(read_t *r, size_t key) {
  size_t cap = key + 1;
  double *val, *prev;
  unsigned char *have, *expect;

  if (cap <= r->cap)
    return 0;
  val = realloc(r->val, cap * sizeof(*val));
  if (val == NULL)
    return -1;
  r->val = val;
  prev = realloc(r->prev, cap * sizeof(*prev));
  if (prev == NULL)
    return -1;
  r->prev = prev;
  have = realloc(r->have, cap);
  if (have == NULL)
    return -1;
  r->have = have;
  expect = realloc(r->expect, cap);
  if (expect == NULL)
    return -1;
  r->expect = expect;
  memset(r->val + r->cap, 0, (cap - r->cap) * sizeof(*val));
  memset(r->prev + r->cap, 0, (cap - r->cap) * sizeof(*prev));
  memset(r->have + r->cap, 0, cap - r->cap);
  memset(r->expect + r->cap, 0, cap - r->cap);
  r->cap = cap;
  return 0;
}

static double clamp_percent(double v) { return v < 0 ? 0 : v > 100 ? 100 : v; }

static bool has(const read_t *r, size_t key) {
  return key < r->cap && r->have[key];
}

/* CPUUtilization from jiffies: each core's busy share of the increases
 * since the previous read, summed. See read_value for the returns. */
static int jiffies_value(const read_t *r, double *out) {
  double sum = 0;
  size_t cores = 0;

  if (!r->prev_complete)
    return -2;
  for (size_t base = 0; base < r->cap; base += CPU_STATES) {
    size_t end = base + CPU_STATES < r->cap ? base + CPU_STATES : r->cap;
    size_t idle_key = base + CPU_IDLE;
    bool now = false, before = false, changed = false;
    double total = 0, idle = 0;

    for (size_t k = base; k < end; k++) {
      now = now || r->have[k];
      before = before || r->expect[k];
      changed = changed || r->have[k] != r->expect[k];
    }
    if (!now || !before)
      continue; /* not in this read, or new: from its next read */
    if (changed || idle_key >= end || !r->have[idle_key])
      return -1;
    for (size_t k = base; k < end; k++) {
      double d;
      if (!r->have[k])
        continue;
      d = r->val[k] - r->prev[k];
      if (!(d > 0))
        d = 0; /* went back: Linux's iowait may */
      total += d;
      if (k == idle_key)
        idle = d;
    }
    if (!(total > 0))
      return -1;
    sum += 100.0 * (total - idle) / total;
    cores++;
  }
  if (cores == 0)
    return -2;
  *out = sum;
  return 0;
}

/* The read's value in percent: 0; -1 when it lacks what its metric needs
 * (counted as incomplete); -2 when there is nothing to compute from (the
 * first read of jiffies, the one after an incomplete read, the mean over
 * cores without their number or the number without the mean): not
 * counted. */
static int read_value(source_t src, const read_t *r, double *out) {
  double sum = 0, used, free_;

  switch (src) {
  case SRC_CPU_PERCENT:
    if (r->num == 0)
      return -1;
    for (size_t k = 0; k < r->cap; k++)
      if (r->have[k])
        sum += clamp_percent(r->val[k]);
    *out = sum;
    return 0;
  case SRC_CPU_MEAN:
    /* The plugin's first read has the count alone (its percentages need
     * two reads); without the count there is nothing to multiply. */
    if (!has(r, MEAN_BUSY) || !has(r, MEAN_COUNT))
      return -2;
    if (!(r->val[MEAN_COUNT] >= 1))
      return -1;
    *out = clamp_percent(r->val[MEAN_BUSY]) * r->val[MEAN_COUNT];
    return 0;
  case SRC_CPU_JIFFIES:
    return jiffies_value(r, out);
  case SRC_MEM_PERCENT:
    if (!has(r, MEM_USED))
      return -1;
    sum = r->val[MEM_USED];
    if (has(r, MEM_SLAB_UNRECL))
      sum += r->val[MEM_SLAB_UNRECL];
    *out = clamp_percent(sum);
    return 0;
  case SRC_MEM_BYTES:
    if (!has(r, MEM_USED))
      return -1;
    for (size_t k = 0; k < r->cap; k++)
      if (r->have[k] && r->val[k] > 0)
        sum += r->val[k];
    used = r->val[MEM_USED] > 0 ? r->val[MEM_USED] : 0;
    if (has(r, MEM_SLAB_UNRECL) && r->val[MEM_SLAB_UNRECL] > 0)
      used += r->val[MEM_SLAB_UNRECL];
    if (!(sum > 0))
      return -1;
    *out = clamp_percent(100.0 * used / sum);
    return 0;
  case SRC_DISK_PERCENT:
  case SRC_DISK_BYTES:
    if (!has(r, DISK_USED) || !has(r, DISK_FREE))
      return -1;
    used = r->val[DISK_USED] > 0 ? r->val[DISK_USED] : 0;
    free_ = r->val[DISK_FREE] > 0 ? r->val[DISK_FREE] : 0;
    if (!(used + free_ > 0))
      return -1;
    *out = clamp_percent(100.0 * used / (used + free_));
    return 0;
  default:
    return -1;
  }
}

/* Computes a read whose keys are all there and publishes it, unless its
 * metric uses another source or the host has no names. Returns
 * read_value's result. */
static int read_emit(cw_host_t *h, host_t *x, source_t src, read_t *r,
                     cw_host_emit_fn emit, void *ud) {
  cw_host_metric_t m = src_metric[src];
  cw_host_sample_t s;
  int rc = read_value(src, r, &s.value);

  if (rc != 0)
    return rc;
  x->arrived[m] = true;
  if (x->source[m] == SRC_NUM)
    x->source[m] = src;
  else if (x->source[m] != src)
    return 0; /* the other source of the same number went out */
  s.metric = m;
  s.metric_name = metric_names[m];
  s.host = x->name;
  s.endpoint = h->endpoint != NULL ? h->endpoint : x->endpoint;
  s.variant = h->variant != NULL ? h->variant : x->variant;
  s.time = r->start;
  if (s.endpoint == NULL || s.variant == NULL) {
    h->stats.reads_unnamed++;
    return 0;
  }
  h->stats.samples++;
  emit(&s, ud);
  return 0;
}

/* read_emit, once per read: a read that lacks something may get it from
 * a later value (the mean's percentages after the count), so it is tried
 * again, and counted at its close if it still lacks it. */
static int read_publish(cw_host_t *h, host_t *x, source_t src, read_t *r,
                        cw_host_emit_fn emit, void *ud) {
  int rc = read_emit(h, x, src, r, emit, ud);

  if (rc == 0)
    r->done = true;
  return rc;
}

/* Ends the open read: publishes it unless it went out already or lacks a
 * key the previous read had; its keys and values become what the next
 * read expects and compares with. */
static void read_close(cw_host_t *h, host_t *x, source_t src, read_t *r,
                       cw_host_emit_fn emit, void *ud) {
  bool complete;

  if (r->start == 0)
    return;
  complete = r->expected_seen >= r->expected_num;
  if (!r->done && (!complete || read_publish(h, x, src, r, emit, ud) == -1))
    h->stats.reads_incomplete++;
  for (size_t k = 0; k < r->cap; k++) {
    r->expect[k] = r->have[k];
    r->prev[k] = r->val[k];
    r->have[k] = 0;
  }
  r->prev_complete = complete;
  r->expected_num = r->num;
  r->expected_seen = 0;
  r->num = 0;
  r->done = false;
  r->start = 0;
}

/* A core number: 0; -1 when it is none; -2 beyond CW_HOST_MAX_CPUS. */
static int parse_core(const char *p, size_t *core) {
  size_t n = 0;

  if (p[0] == 0)
    return -1;
  for (; *p != 0; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    if (n < CW_HOST_MAX_CPUS)
      n = n * 10 + (size_t)(*p - '0');
  }
  if (n >= CW_HOST_MAX_CPUS)
    return -2;
  *core = n;
  return 0;
}

static int find(const char *const *names, size_t num, const char *name,
                size_t *index) {
  for (size_t i = 0; i < num; i++)
    if (strcmp(names[i], name) == 0) {
      *index = i;
      return 0;
    }
  return -1;
}

static int classify_cpu(const cw_host_value_t *v, source_t *src, size_t *key,
                        double *x, unsigned *seen) {
  bool mean = v->plugin_instance[0] == 0;
  size_t core = 0, state;
  int rc;

  *seen = SEEN_CPU;
  if (strcmp(v->type, "count") == 0) {
    if (!mean)
      return -1;
    *seen |= SEEN_CPU_COUNT;
    *src = SRC_CPU_MEAN;
    *key = MEAN_COUNT;
    *x = v->value;
    return 0;
  }
  if (strcmp(v->type, "percent") == 0) {
    if (mean)
      *seen |= SEEN_CPU_MEAN;
    if (strcmp(v->type_instance, "idle") == 0)
      *x = 100.0 - v->value;
    else if (strcmp(v->type_instance, "active") == 0)
      *x = v->value;
    else
      return -1;
    if (mean) {
      *src = SRC_CPU_MEAN;
      *key = MEAN_BUSY;
      return 0;
    }
    if ((rc = parse_core(v->plugin_instance, &core)) != 0)
      return rc;
    *src = SRC_CPU_PERCENT;
    *key = core;
    return 0;
  }
  if (strcmp(v->type, "cpu") == 0) {
    if (find(cpu_states, CPU_STATES, v->type_instance, &state) != 0)
      return -1;
    if ((rc = parse_core(v->plugin_instance, &core)) != 0)
      return rc;
    *src = SRC_CPU_JIFFIES;
    *key = core * CPU_STATES + state;
    *x = v->value;
    return 0;
  }
  return -1;
}

/* Which source and key a value feeds, the number it contributes, and
 * what it shows about the host's plugins (seen, 0 for other plugins).
 * Returns 0; -1 when it feeds none; -2 for a core beyond
 * CW_HOST_MAX_CPUS. */
static int classify(const cw_host_t *h, const cw_host_value_t *v, source_t *src,
                    size_t *key, double *x, unsigned *seen) {
  *seen = 0;
  if (strcmp(v->plugin, "cpu") == 0)
    return classify_cpu(v, src, key, x, seen);
  if (strcmp(v->plugin, "memory") == 0) {
    *seen = SEEN_MEM;
    *x = v->value;
    if (strcmp(v->type, "percent") == 0) {
      *src = SRC_MEM_PERCENT;
      return find(mem_states, MEM_PERCENT_KEYS, v->type_instance, key);
    }
    if (strcmp(v->type, "memory") == 0) {
      *src = SRC_MEM_BYTES;
      return find(mem_states, MEM_KEYS, v->type_instance, key);
    }
    return -1;
  }
  if (strcmp(v->plugin, "df") == 0) {
    bool pct = strcmp(v->type, "percent_bytes") == 0;
    *seen = SEEN_DF;
    if (strcmp(v->plugin_instance, h->disk) != 0 ||
        (!pct && strcmp(v->type, "df_complex") != 0))
      return -1;
    *seen |= SEEN_DISK;
    *src = pct ? SRC_DISK_PERCENT : SRC_DISK_BYTES;
    *x = v->value;
    if (strcmp(v->type_instance, "used") == 0)
      *key = DISK_USED;
    else if (strcmp(v->type_instance, "free") == 0)
      *key = DISK_FREE;
    else
      return -1;
    return 0;
  }
  return -1;
}

cw_host_result_t cw_host_add(cw_host_t *h, const cw_host_value_t *v,
                             cw_host_emit_fn emit, void *ud) {
  source_t src = SRC_NUM;
  size_t key = 0;
  double x = 0, half;
  unsigned seen;
  host_t *hx;
  read_t *r;
  cw_host_metric_t m;
  int rc = classify(h, v, &src, &key, &x, &seen);

  if (seen == 0)
    return CW_HOST_IGNORED;
  hx = host_get(h, v->host, true);
  if (hx != NULL)
    hx->seen |= seen;
  if (rc == -1)
    return CW_HOST_IGNORED;
  if (rc == -2 || hx == NULL) {
    h->stats.values_dropped++;
    return CW_HOST_DROPPED;
  }
  if (!isfinite(x) || !isfinite(v->time) || v->time <= 0)
    return CW_HOST_IGNORED; /* collectd's "no value" */
  m = src_metric[src];
  if (hx->source[m] != SRC_NUM && hx->source[m] != src)
    return CW_HOST_IGNORED; /* the metric comes from the other source */
  r = &hx->reads[src];
  if (read_grow(r, key) != 0) {
    h->stats.values_dropped++;
    return CW_HOST_DROPPED;
  }

  if (r->start != 0) {
    half = r->interval / 2;
    if (v->time >= r->start + half ||
        v->time < r->start - CW_HOST_CLOCK_STEP_INTERVALS * r->interval) {
      read_close(h, hx, src, r, emit, ud);
    } else if (v->time <= r->start - half) {
      h->stats.values_late++;
      return CW_HOST_LATE;
    }
  }
  if (r->start == 0) {
    r->start = v->time;
    r->interval = v->interval > 0 && isfinite(v->interval)
                      ? v->interval
                      : CW_HOST_DEFAULT_INTERVAL;
  }
  if (r->have[key])
    return CW_HOST_IGNORED; /* a repeat, or both idle and active */
  r->have[key] = 1;
  r->val[key] = x;
  r->num++;
  if (r->expect[key])
    r->expected_seen++;
  if (v->time < r->start)
    r->start = v->time;
  /* Complete: every key the previous read had is here. A key that comes
   * after (a core brought online) is kept for the next expectation. */
  if (!r->done && r->expected_num > 0 && r->expected_seen == r->expected_num)
    read_publish(h, hx, src, r, emit, ud);
  return CW_HOST_TAKEN;
}

/* Why a metric's inputs are missing, and what would provide them. */
static void missing_why(const cw_host_t *h, const host_t *x, cw_host_metric_t m,
                        char *buf, size_t size) {
  static const char *const plugins[CW_HOST_METRIC_NUM] = {"cpu", "memory",
                                                          "df"};
  static const char *const either =
      "ValuesAbsolute true, its default, or ValuesPercentage true";

  if (m == CW_HOST_CPU && !(x->seen & SEEN_CPU)) {
    snprintf(buf, size,
             "collectd's cpu plugin sends no values (LoadPlugin cpu)");
    return;
  }
  if (m == CW_HOST_CPU && (x->seen & SEEN_CPU_MEAN) &&
      !(x->seen & SEEN_CPU_COUNT)) {
    snprintf(buf, size,
             "the cpu plugin reports the mean over all cores, which does not "
             "say how many there are (ReportByCpu true, its default, or "
             "ReportNumCpu true)");
    return;
  }
  if (m == CW_HOST_MEMORY && !(x->seen & SEEN_MEM)) {
    snprintf(buf, size,
             "collectd's memory plugin sends no values (LoadPlugin memory; "
             "%s)",
             either);
    return;
  }
  if (m == CW_HOST_DISK && !(x->seen & SEEN_DF)) {
    snprintf(buf, size,
             "collectd's df plugin sends no values (LoadPlugin df; %s)",
             either);
    return;
  }
  if (m == CW_HOST_DISK && !(x->seen & SEEN_DISK)) {
    snprintf(buf, size,
             "the df plugin reports no file system \"%s\" (its MountPoint, "
             "or HostMetricsFileSystem)",
             h->disk);
    return;
  }
  snprintf(buf, size,
           "values of the %s plugin arrive, but none made a complete read "
           "(counted as incomplete reads)",
           plugins[m]);
}

void cw_host_check(cw_host_t *h, const char *host, double time, double interval,
                   cw_host_warn_fn warn, void *ud) {
  char why[256];
  host_t *x;

  if (!isfinite(time) || time <= 0)
    return;
  x = host_get(h, host, true);
  if (x == NULL)
    return;
  if (!(interval > 0) || !isfinite(interval))
    interval = CW_HOST_DEFAULT_INTERVAL;
  /* The earliest: a clock that went back counts from there. */
  if (x->first == 0 || time < x->first)
    x->first = time;
  if (interval > x->interval)
    x->interval = interval;
  /* Unnamed, nothing would be published anyway: the names are missing. */
  if ((h->endpoint == NULL && x->endpoint == NULL) ||
      (h->variant == NULL && x->variant == NULL))
    return;
  for (int i = 0; i < CW_HOST_METRIC_NUM; i++) {
    cw_host_metric_t m = (cw_host_metric_t)i;
    if (x->warned[m] == 1 && x->arrived[m]) {
      x->warned[m] = 2;
      warn(x->name, m, NULL, ud);
    } else if (x->warned[m] == 0 && !x->arrived[m] &&
               time >= x->first + CW_HOST_MISSING_INTERVALS * x->interval) {
      x->warned[m] = 1;
      missing_why(h, x, m, why, sizeof(why));
      warn(x->name, m, why, ud);
    }
  }
}

void cw_host_finish(cw_host_t *h, cw_host_emit_fn emit, void *ud) {
  for (size_t i = 0; i < h->hosts_num; i++)
    for (int s = 0; s < SRC_NUM; s++)
      read_close(h, h->hosts[i], (source_t)s, &h->hosts[i]->reads[s], emit, ud);
}

void cw_host_get_stats(const cw_host_t *h, cw_host_stats_t *out) {
  *out = h->stats;
}
