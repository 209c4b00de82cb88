/* SPDX-License-Identifier: MIT */
/*
 * cw_host: SageMaker's instance metrics from collectd's cpu, memory and
 * df plugins. See cw_host.h for the rules.
 */
#include "cw_host.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Keys of the memory and disk reads. */
enum { MEM_USED = 0, MEM_SLAB_UNRECL, MEM_KEYS };
enum { DISK_USED = 0, DISK_FREE, DISK_KEYS };

/* One read of one metric: the values its keys got, and which keys the
 * previous read had (the expectation that says it is complete). */
typedef struct {
  double start; /* earliest time of its values; 0: no read open */
  double interval;
  bool emitted;
  size_t cap; /* keys allocated */
  double *val;
  unsigned char *have;
  unsigned char *expect;
  size_t num;           /* keys with a value */
  size_t expected_num;  /* keys the previous read had */
  size_t expected_seen; /* of which this read has */
} read_t;

typedef struct {
  char *name;
  char *endpoint;
  char *variant;
  read_t reads[CW_HOST_METRIC_NUM];
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
  for (int m = 0; m < CW_HOST_METRIC_NUM; m++) {
    free(x->reads[m].val);
    free(x->reads[m].have);
    free(x->reads[m].expect);
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
  return ((strcmp(plugin, "cpu") == 0 || strcmp(plugin, "memory") == 0) &&
          strcmp(type, "percent") == 0) ||
         (strcmp(plugin, "df") == 0 && strcmp(type, "percent_bytes") == 0);
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
  double *val;
  unsigned char *have, *expect;

  if (cap <= r->cap)
    return 0;
  val = realloc(r->val, cap * sizeof(*val));
  if (val == NULL)
    return -1;
  r->val = val;
  have = realloc(r->have, cap);
  if (have == NULL)
    return -1;
  r->have = have;
  expect = realloc(r->expect, cap);
  if (expect == NULL)
    return -1;
  r->expect = expect;
  memset(r->val + r->cap, 0, (cap - r->cap) * sizeof(*val));
  memset(r->have + r->cap, 0, cap - r->cap);
  memset(r->expect + r->cap, 0, cap - r->cap);
  r->cap = cap;
  return 0;
}

static double clamp_percent(double v) { return v < 0 ? 0 : v > 100 ? 100 : v; }

/* The read's value: 0, or -1 when it lacks what its metric needs. */
static int read_value(cw_host_metric_t m, const read_t *r, double *out) {
  double sum = 0, used, free_;

  switch (m) {
  case CW_HOST_CPU:
    if (r->num == 0)
      return -1;
    for (size_t k = 0; k < r->cap; k++)
      if (r->have[k])
        sum += clamp_percent(r->val[k]);
    *out = sum;
    return 0;
  case CW_HOST_MEMORY:
    if (r->cap <= MEM_USED || !r->have[MEM_USED])
      return -1;
    sum = r->val[MEM_USED];
    if (r->cap > MEM_SLAB_UNRECL && r->have[MEM_SLAB_UNRECL])
      sum += r->val[MEM_SLAB_UNRECL];
    *out = clamp_percent(sum);
    return 0;
  case CW_HOST_DISK:
    if (r->cap < DISK_KEYS || !r->have[DISK_USED] || !r->have[DISK_FREE])
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

/* Publishes a read whose keys are all there: returns 0, or -1 when it
 * lacks what its metric needs. */
static int read_emit(cw_host_t *h, host_t *x, cw_host_metric_t m, read_t *r,
                     cw_host_emit_fn emit, void *ud) {
  cw_host_sample_t s;

  if (read_value(m, r, &s.value) != 0)
    return -1;
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

/* Ends the open read: publishes it unless it went out already or lacks a
 * key the previous read had; its keys become the next expectation. */
static void read_close(cw_host_t *h, host_t *x, cw_host_metric_t m, read_t *r,
                       cw_host_emit_fn emit, void *ud) {
  if (r->start == 0)
    return;
  if (!r->emitted && (r->expected_seen < r->expected_num ||
                      read_emit(h, x, m, r, emit, ud) != 0))
    h->stats.reads_incomplete++;
  for (size_t k = 0; k < r->cap; k++) {
    r->expect[k] = r->have[k];
    r->have[k] = 0;
  }
  r->expected_num = r->num;
  r->expected_seen = 0;
  r->num = 0;
  r->emitted = false;
  r->start = 0;
}

/* Which metric and key a value feeds, and the number it contributes.
 * Returns 0; -1 when it feeds none; -2 for a core beyond
 * CW_HOST_MAX_CPUS. */
static int classify(const cw_host_t *h, const cw_host_value_t *v,
                    cw_host_metric_t *m, size_t *key, double *x) {
  if (strcmp(v->plugin, "cpu") == 0 && strcmp(v->type, "percent") == 0) {
    const char *p = v->plugin_instance;
    size_t cpu = 0;

    if (strcmp(v->type_instance, "idle") == 0)
      *x = 100.0 - v->value;
    else if (strcmp(v->type_instance, "active") == 0)
      *x = v->value;
    else
      return -1;
    /* Per core only: the aggregate does not say how many cores. */
    if (p[0] == 0)
      return -1;
    for (; *p != 0; p++) {
      if (*p < '0' || *p > '9')
        return -1;
      if (cpu < CW_HOST_MAX_CPUS)
        cpu = cpu * 10 + (size_t)(*p - '0');
    }
    if (cpu >= CW_HOST_MAX_CPUS)
      return -2;
    *m = CW_HOST_CPU;
    *key = cpu;
    return 0;
  }
  if (strcmp(v->plugin, "memory") == 0 && strcmp(v->type, "percent") == 0) {
    *m = CW_HOST_MEMORY;
    if (strcmp(v->type_instance, "used") == 0)
      *key = MEM_USED;
    else if (strcmp(v->type_instance, "slab_unrecl") == 0)
      *key = MEM_SLAB_UNRECL;
    else
      return -1;
    *x = v->value;
    return 0;
  }
  if (strcmp(v->plugin, "df") == 0 && strcmp(v->type, "percent_bytes") == 0 &&
      strcmp(v->plugin_instance, h->disk) == 0) {
    *m = CW_HOST_DISK;
    if (strcmp(v->type_instance, "used") == 0)
      *key = DISK_USED;
    else if (strcmp(v->type_instance, "free") == 0)
      *key = DISK_FREE;
    else
      return -1;
    *x = v->value;
    return 0;
  }
  return -1;
}

cw_host_result_t cw_host_add(cw_host_t *h, const cw_host_value_t *v,
                             cw_host_emit_fn emit, void *ud) {
  cw_host_metric_t m;
  size_t key;
  double x, half;
  host_t *hx;
  read_t *r;

  switch (classify(h, v, &m, &key, &x)) {
  case 0:
    break;
  case -2:
    h->stats.values_dropped++;
    return CW_HOST_DROPPED;
  default:
    return CW_HOST_IGNORED;
  }
  if (!isfinite(x) || !isfinite(v->time) || v->time <= 0)
    return CW_HOST_IGNORED; /* collectd's "no value" */
  hx = host_get(h, v->host, true);
  if (hx == NULL) {
    h->stats.values_dropped++;
    return CW_HOST_DROPPED;
  }
  r = &hx->reads[m];
  if (read_grow(r, key) != 0) {
    h->stats.values_dropped++;
    return CW_HOST_DROPPED;
  }

  if (r->start != 0) {
    half = r->interval / 2;
    if (v->time >= r->start + half ||
        v->time < r->start - CW_HOST_CLOCK_STEP_INTERVALS * r->interval) {
      read_close(h, hx, m, r, emit, ud);
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
  if (!r->emitted && r->expected_num > 0 &&
      r->expected_seen == r->expected_num &&
      read_emit(h, hx, m, r, emit, ud) == 0)
    r->emitted = true;
  return CW_HOST_TAKEN;
}

void cw_host_finish(cw_host_t *h, cw_host_emit_fn emit, void *ud) {
  for (size_t i = 0; i < h->hosts_num; i++)
    for (int m = 0; m < CW_HOST_METRIC_NUM; m++)
      read_close(h, h->hosts[i], (cw_host_metric_t)m, &h->hosts[i]->reads[m],
                 emit, ud);
}

void cw_host_get_stats(const cw_host_t *h, cw_host_stats_t *out) {
  *out = h->stats;
}
