/* SPDX-License-Identifier: MIT */
/*
 * cw_host: the instance metrics from hand-computed reads: several cores,
 * states that do not count, reads completed early and closed by the next
 * one, partial reads, late values and a clock going back, cores coming
 * and going, names configured and learned, limits; from percentages and
 * from collectd's defaults (jiffies, bytes), one source per metric; the
 * warnings for inputs that never come, with injected time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_host.h"
#include "tap.h"

#define MAX_SAMPLES 64

typedef struct {
  cw_host_metric_t metric;
  char name[32];
  char host[32];
  char endpoint[32];
  char variant[32];
  double time;
  double value;
} rec_t;

static rec_t got[MAX_SAMPLES];
static size_t got_num;

static void record(const cw_host_sample_t *s, void *ud) {
  rec_t *r;
  (void)ud;
  if (got_num >= MAX_SAMPLES)
    return;
  r = &got[got_num++];
  r->metric = s->metric;
  snprintf(r->name, sizeof(r->name), "%s", s->metric_name);
  snprintf(r->host, sizeof(r->host), "%s", s->host);
  snprintf(r->endpoint, sizeof(r->endpoint), "%s", s->endpoint);
  snprintf(r->variant, sizeof(r->variant), "%s", s->variant);
  r->time = s->time;
  r->value = s->value;
}

/* The interval of the values add gives. */
static double add_interval = 10.0;

static cw_host_result_t add(cw_host_t *h, const char *host, const char *plugin,
                            const char *pi, const char *type, const char *ti,
                            double time, double value) {
  cw_host_value_t v = {host, plugin, pi, type, ti, time, add_interval, value};
  return cw_host_add(h, &v, record, NULL);
}

/* A value of one read: its type instance (a state) and the value. */
typedef struct {
  const char *ti;
  double value;
} sv_t;

/* One read at t of plugin's pi and type: each state of sv in turn. */
static void read_states(cw_host_t *h, const char *host, const char *plugin,
                        const char *pi, const char *type, double t,
                        const sv_t *sv, size_t n) {
  for (size_t i = 0; i < n; i++)
    add(h, host, plugin, pi, type, sv[i].ti, t, sv[i].value);
}
#define READ(h, host, plugin, pi, type, t, ...)                                \
  read_states((h), (host), (plugin), (pi), (type), (t),                        \
              (const sv_t[]){__VA_ARGS__},                                     \
              sizeof((const sv_t[]){__VA_ARGS__}) / sizeof(sv_t))

/* One read of the cpu plugin with ReportByState: every state of each
 * core, idle among them. */
static void cpu_read(cw_host_t *h, const char *host, double t, size_t ncpu,
                     const double *idle) {
  static const char *states[] = {"user",    "system", "wait", "nice",
                                 "softirq", "steal",  "idle", "interrupt"};
  char pi[16];
  for (size_t c = 0; c < ncpu; c++) {
    snprintf(pi, sizeof(pi), "%zu", c);
    for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++)
      add(h, host, "cpu", pi, "percent", states[s],
          t + (double)(c * 8 + s) * 1e-6,
          strcmp(states[s], "idle") == 0 ? idle[c] : 100.0 - idle[c]);
  }
}

/* n samples recorded, the last of value; what of each. */
static void published(size_t n, double value, const char *what_n,
                      const char *what_value) {
  T_EQ_INT(got_num, n, what_n);
  if (n > 0 && got_num >= n)
    T_EQ_DBL(got[n - 1].value, value, what_value);
  else
    T_OK(0, "%s", what_value);
}

/* A cw_host of the default configuration, nothing recorded yet, host "a"
 * named endpoint "ep" and the variant given. */
static cw_host_t *host_named(const char *variant) {
  cw_host_config_t cfg = {NULL, NULL, NULL, 0};
  cw_host_t *h = cw_host_create(&cfg);

  got_num = 0;
  cw_host_set_names(h, "a", "ep", variant);
  return h;
}

static cw_host_stats_t stats(const cw_host_t *h) {
  cw_host_stats_t s;
  cw_host_get_stats(h, &s);
  return s;
}

/* df's instance of a mount point or device, in a buffer of size bytes (0:
 * 16); want NULL: refused. */
static const struct {
  const char *path;
  size_t size;
  const char *want;
  const char *what;
} disks[] = {
    {"/", 0, "root", "df instance of / is root"},
    {"/var/lib/", 0, "var-lib", "of /var/lib/ is var-lib"},
    {"//", 0, "root", "of // is root"},
    {"xvda1", 0, "xvda1", "a device name is taken as is"},
    {"", 0, NULL, "empty refused"},
    {"/a/very/long/mount/point", 0, NULL, "too long for the buffer refused"},
    {"/", 4, NULL, "root needs 5 bytes"},
};

static void test_names(void) {
  char buf[16];

  T_EQ_STR(cw_host_metric_name(CW_HOST_CPU), "CPUUtilization", "cpu name");
  T_EQ_STR(cw_host_metric_name(CW_HOST_MEMORY), "MemoryUtilization",
           "memory name");
  T_EQ_STR(cw_host_metric_name(CW_HOST_DISK), "DiskUtilization", "disk name");
  T_OK(cw_host_metric_name(CW_HOST_METRIC_NUM) == NULL, "no fourth metric");
  T_OK(cw_host_wants("cpu", "percent") && cw_host_wants("memory", "percent") &&
           cw_host_wants("df", "percent_bytes"),
       "wants the percent types of cpu, memory and df");
  T_OK(cw_host_wants("cpu", "cpu") && cw_host_wants("cpu", "count") &&
           cw_host_wants("memory", "memory") &&
           cw_host_wants("df", "df_complex"),
       "and the defaults: jiffies, the number of cores, bytes");
  T_OK(!cw_host_wants("df", "df_inodes") &&
           !cw_host_wants("df", "percent_inodes") &&
           !cw_host_wants("memory", "count") &&
           !cw_host_wants("load", "percent") && !cw_host_wants("cpu", "gauge"),
       "not inodes, nor other types or plugins");

  for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++) {
    int r = cw_host_disk_instance(disks[i].path, buf,
                                  disks[i].size ? disks[i].size : sizeof(buf));
    if (disks[i].want == NULL)
      T_EQ_INT(r, -1, disks[i].what);
    else
      T_OK(r == 0 && strcmp(buf, disks[i].want) == 0, "%s", disks[i].what);
  }
}

static void test_cpu(void) {
  cw_host_t *h = host_named("AllTraffic");
  double idle1[2] = {75, 40}, idle2[2] = {10, 0}, active[2] = {30, 50};
  double idle64[64], want64 = 0;

  cpu_read(h, "a", 100, 2, idle1);
  T_EQ_INT(got_num, 0, "first read: nothing known yet, so not published");
  /* The second read's first value closes the first. */
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "user", 110, 90), CW_HOST_IGNORED,
           "a state other than idle is not used");
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "idle", 110.000002, 10),
           CW_HOST_TAKEN, "idle of core 0 taken");
  T_EQ_INT(got_num, 1, "the first read is published when the next begins");
  T_EQ_STR(got[0].name, "CPUUtilization", "as CPUUtilization");
  T_EQ_DBL(got[0].value, 25.0 + 60.0, "sum of cores' 100 - idle: 25 + 60");
  T_EQ_DBL(got[0].time, 100 + 6e-6,
           "at the earliest time of the values used (core 0's idle)");
  T_EQ_STR(got[0].endpoint, "ep", "with the learned endpoint");
  T_EQ_STR(got[0].variant, "AllTraffic", "and variant");
  /* Core 1's idle arrives before an earlier-stamped value of core 0. */
  T_EQ_INT(add(h, "a", "cpu", "1", "percent", "idle", 110.000001, idle2[1]),
           CW_HOST_TAKEN, "idle of core 1 taken");
  published(2, 90.0 + 100.0,
            "published as soon as every core of the last read "
            "is in",
            "two busy cores: 90 + 100");
  T_EQ_DBL(got[1].time, 110.000001, "at the earliest time seen so far");
  T_EQ_INT(add(h, "a", "cpu", "1", "percent", "idle", 110.000001, 50),
           CW_HOST_IGNORED, "a repeat within a read is ignored");
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "steal", 110.00001, 0),
           CW_HOST_IGNORED, "and later states of the read too");

  /* A partial read: core 1's idle never comes. */
  add(h, "a", "cpu", "0", "percent", "idle", 120, 50);
  T_EQ_INT(got_num, 2, "a read without core 1 waits");
  add(h, "a", "cpu", "0", "percent", "idle", 130, 20);
  T_EQ_INT(stats(h).reads_incomplete, 1,
           "closed by the next read: counted incomplete");
  published(3, 80.0,
            "the next read expects core 0 only (it was all the "
            "last read had) and is published",
            "80: one core");

  /* A core coming online: published without it once, then with it. */
  add(h, "a", "cpu", "1", "percent", "idle", 130.1, 0);
  T_EQ_INT(got_num, 3,
           "a core after the publication does not publish "
           "again");
  add(h, "a", "cpu", "0", "percent", "idle", 140, 0);
  T_EQ_INT(got_num, 3, "the next read waits for both cores");
  add(h, "a", "cpu", "1", "percent", "idle", 140.00001, 50);
  published(4, 150.0, "and is published with both", "100 + 50");

  /* Late values and a clock going back. */
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "idle", 134.9, 0), CW_HOST_LATE,
           "a value more than half an interval older than the read is late");
  T_EQ_INT(stats(h).values_late, 1, "and counted");
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "idle", 30, 60), CW_HOST_TAKEN,
           "one more than 10 intervals older: the clock went back");
  T_EQ_INT(add(h, "a", "cpu", "1", "percent", "idle", 30.0001, 60),
           CW_HOST_TAKEN, "a new read begins there");
  published(5, 80.0, "and is published when complete", "40 + 40");
  T_EQ_DBL(got[4].time, 30.0, "at the new time");

  /* ReportByState false: "active" per core. */
  got_num = 0;
  for (int c = 0; c < 2; c++) {
    char pi[4];
    snprintf(pi, sizeof(pi), "%d", c);
    add(h, "b", "cpu", pi, "percent", "active", 200 + c * 1e-6, active[c]);
  }
  cw_host_set_names(h, "b", "ep-b", "v-b");
  cw_host_finish(h, record, NULL);
  published(1, 80.0,
            "finish publishes host b's open read (host a's "
            "went out already)",
            "active 30 + 50");
  T_EQ_STR(got[0].host, "b", "of host b");
  T_EQ_STR(got[0].endpoint, "ep-b", "with its own names");

  /* 64 cores. */
  got_num = 0;
  for (int c = 0; c < 64; c++) {
    idle64[c] = c * 1.5;
    want64 += 100 - c * 1.5;
  }
  cw_host_set_names(h, "c", "ep", "v");
  cpu_read(h, "c", 300, 64, idle64);
  cpu_read(h, "c", 310, 64, idle64);
  T_EQ_INT(got_num, 2, "64 cores: both reads published");
  T_EQ_DBL(got[0].value, want64, "sum over 64 cores (3488)");
  T_EQ_DBL(got[1].value, got[0].value, "the second read likewise");

  /* Rounding beyond 0..100 per core is clamped. */
  got_num = 0;
  cw_host_set_names(h, "d", "ep", "v");
  add(h, "d", "cpu", "0", "percent", "idle", 400, -1e-12);
  add(h, "d", "cpu", "1", "percent", "idle", 400, 100.0000000001);
  cw_host_finish(h, record, NULL);
  published(1, 100.0, "published", "each core within 0..100: 100 + 0");

  /* What is not used, or beyond the limits. */
  T_EQ_INT(add(h, "e", "cpu", "1x", "percent", "idle", 500, 50),
           CW_HOST_IGNORED, "an instance that is no core number");
  T_EQ_INT(add(h, "e", "cpu", "1024", "percent", "idle", 500, 50),
           CW_HOST_DROPPED, "core 1024 is beyond CW_HOST_MAX_CPUS");
  T_EQ_INT(
      add(h, "e", "cpu", "99999999999999999999", "percent", "idle", 500, 50),
      CW_HOST_DROPPED, "so is a number that overflows");
  T_EQ_INT(stats(h).values_dropped, 2, "both counted");
  T_EQ_INT(add(h, "e", "cpu", "0", "percent", "idle", 500, NAN),
           CW_HOST_IGNORED, "NaN is collectd's no value");
  T_EQ_INT(add(h, "e", "cpu", "0", "percent", "user", 500, 50), CW_HOST_IGNORED,
           "a percent state other than idle or active");
  cw_host_destroy(h);
}

static void test_memory_disk(void) {
  cw_host_t *h = host_named("v");
  /* What Debian's collectd 5.12 dispatched in one read. */
  double used = 2.5299690942702537, slab_unrecl = 0.12198947856952103;
  double dused = 6.710553169250488, dfree = 31.26544952392578;

  READ(h, "a", "memory", "", "percent", 100, {"used", used}, {"buffered", 0.05},
       {"free", 93.52}, {"slab_unrecl", slab_unrecl}, {"slab_recl", 0.77},
       {"cached", 3.0});
  add(h, "a", "df", "boot", "percent_bytes", "used", 100.0001, 90);
  add(h, "a", "df", "root", "percent_bytes", "free", 100.0002, dfree);
  add(h, "a", "df", "root", "percent_bytes", "reserved", 100.0003, 62.02);
  add(h, "a", "df", "root", "percent_bytes", "used", 100.0004, dused);
  T_EQ_INT(got_num, 0, "first reads wait for the next");
  add(h, "a", "memory", "", "percent", "used", 110, 30);
  add(h, "a", "df", "root", "percent_bytes", "used", 110, 50);
  T_EQ_INT(got_num, 2, "published when the next reads begin");
  T_EQ_STR(got[0].name, "MemoryUtilization", "MemoryUtilization");
  T_EQ_DBL(got[0].value, used + slab_unrecl, "used + slab_unrecl");
  T_EQ_STR(got[1].name, "DiskUtilization", "DiskUtilization");
  T_EQ_DBL(got[1].value, 100.0 * dused / (dused + dfree),
           "root only: used / (used + free), reserved left out (17.67)");
  T_EQ_DBL(got[1].time, 100.0002, "at the earliest time of root's values");
  T_EQ_INT(got_num, 2, "memory waits for slab_unrecl, which it had before");
  add(h, "a", "memory", "", "percent", "slab_unrecl", 110, 2);
  published(3, 32.0, "then is published", "30 + 2");
  add(h, "a", "df", "root", "percent_bytes", "free", 110, 0);
  published(4, 100.0, "disk with used and free", "50 used, 0 free: 100");

  /* A platform without slab_unrecl; a file system with nothing free
   * and nothing used. */
  got_num = 0;
  cw_host_set_names(h, "b", "ep", "v");
  add(h, "b", "memory", "", "percent", "used", 100, 101);
  add(h, "b", "memory", "", "percent", "used", 110, 40);
  T_EQ_INT(got_num, 2, "without slab_unrecl the second read goes at once");
  T_EQ_DBL(got[0].value, 100.0, "above 100 is clamped");
  T_EQ_DBL(got[1].value, 40.0, "used alone");
  add(h, "b", "df", "root", "percent_bytes", "used", 100, 0);
  add(h, "b", "df", "root", "percent_bytes", "free", 100, 0);
  add(h, "b", "df", "root", "percent_bytes", "used", 110, 10);
  T_EQ_INT(got_num, 2, "0 of 0 is no utilization");
  T_EQ_INT(stats(h).reads_incomplete, 1, "and counted as incomplete");
  cw_host_destroy(h);

  /* Another disk, by its mount point. */
  {
    char inst[64];
    cw_host_config_t c2 = {inst, NULL, NULL, 0};
    cw_host_disk_instance("/var/lib/docker", inst, sizeof(inst));
    h = cw_host_create(&c2);
    got_num = 0;
    cw_host_set_names(h, "a", "ep", "v");
    add(h, "a", "df", "root", "percent_bytes", "used", 100, 10);
    add(h, "a", "df", "root", "percent_bytes", "free", 100, 90);
    add(h, "a", "df", "var-lib-docker", "percent_bytes", "used", 100, 30);
    add(h, "a", "df", "var-lib-docker", "percent_bytes", "free", 100, 10);
    cw_host_finish(h, record, NULL);
    published(1, 75.0, "only the configured file system",
              "var-lib-docker: 30 / 40");
    cw_host_destroy(h);
  }
}

static void test_names_and_limits(void) {
  cw_host_config_t cfg = {NULL, NULL, NULL, 2};
  cw_host_t *h = cw_host_create(&cfg);
  cw_host_config_t fixed = {NULL, "cfg-endpoint", NULL, 0};

  got_num = 0;
  add(h, "a", "memory", "", "percent", "used", 100, 10);
  add(h, "a", "memory", "", "percent", "used", 110, 20);
  T_EQ_INT(got_num, 0, "no names known: nothing published");
  T_EQ_INT(stats(h).reads_unnamed, 2,
           "both complete reads counted unnamed (the second at once)");
  T_EQ_INT(stats(h).reads_incomplete, 0, "not as incomplete");
  cw_host_set_names(h, "a", "ep", NULL);
  add(h, "a", "memory", "", "percent", "used", 120, 30);
  T_EQ_INT(got_num, 0, "an endpoint without a variant is not enough");
  cw_host_set_names(h, "a", NULL, "v1");
  add(h, "a", "memory", "", "percent", "used", 130, 40);
  T_EQ_INT(got_num, 1, "with both, published");
  T_EQ_STR(got[0].endpoint, "ep", "endpoint learned earlier kept");
  T_EQ_STR(got[0].variant, "v1", "variant");
  cw_host_set_names(h, "a", "ep", "v2");
  add(h, "a", "memory", "", "percent", "used", 140, 50);
  T_EQ_STR(got[1].variant, "v2", "the last names seen are used");
  T_EQ_INT(add(h, "b", "memory", "", "percent", "used", 100, 10), CW_HOST_TAKEN,
           "a second host");
  T_EQ_INT(add(h, "c", "memory", "", "percent", "used", 100, 10),
           CW_HOST_DROPPED, "a third is beyond max_hosts 2");
  T_EQ_INT(cw_host_set_names(h, "c", "ep", "v"), -1,
           "and cannot be named either");
  T_EQ_INT(stats(h).values_dropped, 1, "counted");
  T_EQ_INT(stats(h).samples, 2, "samples counted");
  cw_host_destroy(h);

  h = cw_host_create(&fixed);
  got_num = 0;
  cw_host_set_names(h, "a", "learned-endpoint", "learned-variant");
  add(h, "a", "memory", "", "percent", "used", 100, 10);
  cw_host_finish(h, record, NULL);
  T_EQ_INT(got_num, 1, "published");
  T_EQ_STR(got[0].endpoint, "cfg-endpoint", "a configured endpoint wins");
  T_EQ_STR(got[0].variant, "learned-variant", "the variant is still learned");
  cw_host_finish(h, record, NULL);
  T_EQ_INT(got_num, 1, "a second finish has nothing left");
  cw_host_destroy(h);
}

/* The states of the cpu plugin's defaults, in the order jcore takes
 * them; each core's read gives a counter per state. */
static const char *const jstates[] = {"user",      "system",  "wait",  "nice",
                                      "interrupt", "softirq", "steal", "idle"};
#define JS 8

/* One core's jiffies in one read, stamped a microsecond apart from
 * t + core * 10 us. */
static void jcore(cw_host_t *h, const char *host, double t, int core,
                  const double c[JS]) {
  char pi[16];
  snprintf(pi, sizeof(pi), "%d", core);
  for (int s = 0; s < JS; s++)
    add(h, host, "cpu", pi, "cpu", jstates[s], t + core * 1e-5 + s * 1e-6,
        c[s]);
}

/* One read of host b's core 0 with ReportGuestState: user, guest and idle
 * jiffies only. */
static void guest_read(cw_host_t *h, double t, double user, double guest,
                       double idle) {
  READ(h, "b", "cpu", "0", "cpu", t, {"user", user}, {"guest", guest},
       {"idle", idle});
}

static void test_jiffies(void) {
  cw_host_t *h = host_named("v");
  /* user system wait nice interrupt softirq steal idle */
  static const double a0[JS] = {100, 50, 10, 0, 5, 5, 0, 1000},
                      a1[JS] = {200, 20, 0, 0, 0, 0, 0, 500},
                      b0[JS] = {130, 60, 15, 0, 5, 5, 0, 1055},
                      b1[JS] = {290, 20, 0, 0, 0, 0, 0, 510},
                      c0[JS] = {130, 60, 13, 0, 5, 5, 0, 1155},
                      c1[JS] = {340, 70, 0, 0, 0, 0, 0, 510},
                      d0[JS] = {140, 70, 13, 0, 5, 5, 0, 1235},
                      e0[JS] = {150, 80, 13, 0, 5, 5, 0, 1315},
                      e1[JS] = {400, 80, 0, 0, 0, 0, 0, 520},
                      f0[JS] = {160, 90, 13, 0, 5, 5, 0, 1395},
                      f1[JS] = {410, 90, 0, 0, 0, 0, 0, 600},
                      g0[JS] = {170, 100, 13, 0, 5, 5, 0, 1475},
                      g1[JS] = {420, 100, 0, 0, 0, 0, 0, 680},
                      g2[JS] = {5, 5, 0, 0, 0, 0, 0, 90},
                      h0[JS] = {180, 110, 13, 0, 5, 5, 0, 1555},
                      h1[JS] = {430, 110, 0, 0, 0, 0, 0, 760},
                      h2[JS] = {15, 15, 0, 0, 0, 0, 0, 170};

  jcore(h, "a", 100, 0, a0);
  jcore(h, "a", 100, 1, a1);
  T_EQ_INT(got_num, 0, "jiffies: the first read has nothing to compare with");
  jcore(h, "a", 110, 0, b0);
  for (int s = 0; s < JS - 1; s++)
    add(h, "a", "cpu", "1", "cpu", jstates[s], 110.00002, b1[s]);
  T_EQ_INT(got_num, 0, "the second read waits for core 1's idle");
  T_EQ_INT(stats(h).reads_incomplete, 0,
           "the first read, closed, is not counted incomplete");
  T_EQ_INT(add(h, "a", "cpu", "1", "cpu", "idle", 110.00003, b1[7]),
           CW_HOST_TAKEN, "core 1's idle taken");
  T_EQ_INT(got_num, 1, "published when every state of every core is in");
  T_EQ_STR(got[0].name, "CPUUtilization", "as CPUUtilization");
  T_EQ_DBL(got[0].value, 45.0 + 90.0,
           "core 0: 45 busy of 100 jiffies (wait is busy); core 1: 90 of "
           "100");
  T_EQ_DBL(got[0].time, 110.0, "at the read's earliest time");

  jcore(h, "a", 120, 0, c0);
  jcore(h, "a", 120, 1, c1);
  published(2, 0.0 + 100.0, "the third read",
            "wait going back 2 jiffies counts as none: core 0 idle, core 1 "
            "busy");

  /* Core 1 lost in one read: it and the next are not published. */
  jcore(h, "a", 130, 0, d0);
  jcore(h, "a", 140, 0, e0);
  T_EQ_INT(stats(h).reads_incomplete, 1, "a read without core 1 is counted");
  jcore(h, "a", 140, 1, e1);
  T_EQ_INT(got_num, 2, "the next has nothing complete to compare with");
  jcore(h, "a", 150, 0, f0);
  jcore(h, "a", 150, 1, f1);
  published(3, 20.0 + 20.0, "the one after is published", "20 + 20");
  T_EQ_INT(stats(h).reads_incomplete, 1, "only the lossy read counted");

  /* A core brought online counts from its second read. */
  jcore(h, "a", 160, 2, g2);
  jcore(h, "a", 160, 0, g0);
  jcore(h, "a", 160, 1, g1);
  published(4, 40.0, "a read with a new core",
            "is the sum over the cores known before");
  jcore(h, "a", 170, 0, h0);
  jcore(h, "a", 170, 1, h1);
  T_EQ_INT(got_num, 4, "the next waits for the new core too");
  jcore(h, "a", 170, 2, h2);
  published(5, 60.0, "and has it", "20 + 20 + 20");

  got_num = 0;
  cw_host_set_names(h, "b", "ep", "v");
  guest_read(h, 100, 1000, 1000, 1000);
  T_EQ_INT(add(h, "b", "cpu", "0", "cpu", "foo", 100, 0), CW_HOST_IGNORED,
           "a state collectd does not have is ignored");
  T_EQ_INT(add(h, "b", "cpu", "0", "cpu", "active", 100, 0), CW_HOST_IGNORED,
           "so is active, which only percentages have");
  guest_read(h, 110, 1010, 1030, 1060);
  published(1, 40.0, "published",
            "guest (ReportGuestState) is busy: 40 of 100");
  /* Nothing moved: no time to share out. */
  guest_read(h, 120, 1010, 1030, 1060);
  T_EQ_INT(add(h, "b", "cpu", "1024", "cpu", "idle", 120, 1), CW_HOST_DROPPED,
           "core 1024 is beyond CW_HOST_MAX_CPUS");
  T_EQ_INT(add(h, "b", "cpu", "", "cpu", "idle", 120, 1), CW_HOST_IGNORED,
           "jiffies without a core are not collectd's");
  cw_host_finish(h, record, NULL);
  T_EQ_INT(got_num, 1, "counters that did not move give no value");
  T_EQ_INT(stats(h).reads_incomplete, 2, "and are counted");
  cw_host_destroy(h);
}

static void test_mean(void) {
  cw_host_t *h = host_named("v");

  /* The plugin's first read: the count, no percentages yet (they need
   * two reads of /proc/stat). */
  add(h, "a", "cpu", "", "count", "", 90, 4);
  T_EQ_INT(add(h, "a", "cpu", "", "count", "", 100, 4), CW_HOST_TAKEN,
           "the number of cores (ReportNumCpu) taken");
  T_EQ_INT(stats(h).reads_incomplete, 0,
           "a first read with the count alone is not counted incomplete");
  T_EQ_INT(add(h, "a", "cpu", "", "percent", "user", 100.000001, 20),
           CW_HOST_IGNORED, "the mean's user state is not used");
  T_EQ_INT(add(h, "a", "cpu", "", "percent", "idle", 100.000002, 75),
           CW_HOST_TAKEN, "the mean's idle taken (ReportByCpu false)");
  add(h, "a", "cpu", "", "count", "", 110, 4);
  published(1, 100.0, "the first read published when the next begins",
            "(100 - 75) x 4 cores");
  add(h, "a", "cpu", "", "percent", "idle", 110.000002, 60);
  published(2, 160.0, "the second as soon as it has both", "40 x 4");

  cw_host_set_names(h, "b", "ep", "v");
  add(h, "b", "cpu", "", "count", "", 100, 2);
  add(h, "b", "cpu", "", "percent", "active", 100, 30);
  cw_host_finish(h, record, NULL);
  published(3, 60.0, "ReportByState false", "active 30 x 2 cores");

  cw_host_set_names(h, "c", "ep", "v");
  for (int i = 0; i < 3; i++)
    add(h, "c", "cpu", "", "percent", "idle", 100 + 10 * i, 50);
  cw_host_finish(h, record, NULL);
  T_EQ_INT(got_num, 3, "the mean without the number of cores: nothing");
  T_EQ_INT(stats(h).reads_incomplete, 0,
           "and nothing counted: nothing was lost (a warning says why)");
  cw_host_destroy(h);
}

static void test_memory_disk_bytes(void) {
  cw_host_t *h = host_named("v");

  READ(h, "a", "memory", "", "memory", 100, {"used", 2000}, {"buffered", 100},
       {"cached", 3000}, {"free", 4000}, {"slab_recl", 500},
       {"slab_unrecl", 400});
  add(h, "a", "df", "boot", "df_complex", "used", 100, 900);
  READ(h, "a", "df", "root", "df_complex", 100, {"used", 300},
       {"reserved", 100}, {"free", 600});
  T_EQ_INT(got_num, 0, "first reads wait for the next");
  add(h, "a", "memory", "", "memory", "used", 110, 5000);
  T_EQ_INT(got_num, 1, "memory published when its next read begins");
  T_EQ_STR(got[0].name, "MemoryUtilization", "MemoryUtilization");
  T_EQ_DBL(got[0].value, 24.0,
           "(used 2000 + slab_unrecl 400) / the states' sum 10000");
  READ(h, "a", "memory", "", "memory", 110, {"buffered", 100}, {"cached", 1000},
       {"free", 3500}, {"slab_recl", 0});
  T_EQ_INT(got_num, 1, "the next waits for every state the last one had");
  add(h, "a", "memory", "", "memory", "slab_unrecl", 110, 400);
  published(2, 54.0, "then is published", "5400 of 10000");
  add(h, "a", "df", "root", "df_complex", "free", 110, 0);
  T_EQ_INT(got_num, 3, "disk published when its next read begins");
  T_EQ_STR(got[2].name, "DiskUtilization", "DiskUtilization");
  T_EQ_DBL(got[2].value, 100.0 * 300 / 900,
           "root: used / (used + free), reserved left out (33.3)");
  add(h, "a", "df", "root", "df_complex", "used", 110, 900);
  published(4, 100.0, "the next when it has used and free",
            "900 used, 0 free: 100");

  /* Without detailed slab: slab is in the total, not in use. */
  cw_host_set_names(h, "b", "ep", "v");
  READ(h, "b", "memory", "", "memory", 100, {"used", 1000}, {"cached", 1000},
       {"free", 7000}, {"slab", 1000});
  /* Without used: nothing to publish. */
  cw_host_set_names(h, "c", "ep", "v");
  add(h, "c", "memory", "", "memory", "free", 100, 7000);
  add(h, "c", "memory", "", "memory", "cached", 100, 1000);
  T_EQ_INT(add(h, "c", "memory", "", "memory", "swap", 100, 1), CW_HOST_IGNORED,
           "a state Linux's memory plugin does not have is ignored");
  cw_host_finish(h, record, NULL);
  published(5, 10.0, "b published at finish, c not", "1000 of 10000");
  T_EQ_INT(stats(h).reads_incomplete, 1, "c's read without used counted");
  cw_host_destroy(h);
}

/* Bytes and percentages of one plugin: one source per metric. */
static void test_one_source(void) {
  cw_host_t *h = host_named("v");

  for (int i = 0; i < 3; i++) {
    double t = 100 + 10 * i;
    READ(h, "a", "memory", "", "memory", t, {"used", 2000 + i * 1000},
         {"free", 7600 - i * 1000}, {"slab_unrecl", 400});
    T_EQ_INT(add(h, "a", "memory", "", "percent", "used", t, 20 + i * 10),
             i == 0 ? CW_HOST_TAKEN : CW_HOST_IGNORED,
             i == 0 ? "percentages taken while no source is chosen"
                    : "percentages ignored once bytes made a read");
    add(h, "a", "memory", "", "percent", "slab_unrecl", t, 4);
  }
  cw_host_finish(h, record, NULL);
  T_EQ_INT(got_num, 3, "three reads, each published once");
  T_EQ_DBL(got[0].value, 24.0, "24");
  T_EQ_DBL(got[1].value, 34.0, "34");
  T_EQ_DBL(got[2].value, 44.0, "44");
  T_EQ_DBL(got[1].time, 110.0, "at their times");
  T_EQ_INT(stats(h).reads_incomplete, 0, "nothing counted incomplete");
  cw_host_destroy(h);
}

/* Warnings recorded by warn_rec. */
typedef struct {
  char host[16];
  cw_host_metric_t metric;
  char why[256]; /* "" when cleared */
} warn_t;
static warn_t warns[32];
static size_t warns_num;

static void warn_rec(const char *host, cw_host_metric_t m, const char *why,
                     void *ud) {
  warn_t *w;
  (void)ud;
  if (warns_num >= sizeof(warns) / sizeof(warns[0]))
    return;
  w = &warns[warns_num++];
  snprintf(w->host, sizeof(w->host), "%s", host);
  w->metric = m;
  snprintf(w->why, sizeof(w->why), "%s", why != NULL ? why : "");
}

static void check(cw_host_t *h, const char *host, double t, double interval) {
  cw_host_check(h, host, t, interval, warn_rec, NULL);
}

/* The warning of host and metric recorded since from; NULL if none, "+"
 * if more than one. */
static const char *warned(size_t from, const char *host, cw_host_metric_t m) {
  const char *found = NULL;
  for (size_t i = from; i < warns_num; i++)
    if (strcmp(warns[i].host, host) == 0 && warns[i].metric == m) {
      if (found != NULL)
        return "+";
      found = warns[i].why;
    }
  return found;
}

/* Host named, then four reads a second apart from t, each of one value
 * (50, of plugin's type and type instance ti) and a check: the warning
 * about m they give (warned). */
static const char *warned_after_four(cw_host_t *h, const char *host,
                                     const char *plugin, const char *type,
                                     const char *ti, double t,
                                     cw_host_metric_t m) {
  size_t n = warns_num;
  cw_host_set_names(h, host, "ep", "v");
  for (int i = 0; i < 4; i++) {
    add(h, host, plugin, "", type, ti, t + i, 50);
    check(h, host, t + i, 1);
  }
  return warned(n, host, m);
}

static void test_check(void) {
  cw_host_config_t cfg = {NULL, NULL, NULL, 0};
  cw_host_t *h = cw_host_create(&cfg);
  static const double j1[JS] = {10, 10, 0, 0, 0, 0, 0, 80},
                      j2[JS] = {20, 20, 0, 0, 0, 0, 0, 160};
  size_t n;

  /* Only sagemaker_async's values: nothing to compute from. */
  add_interval = 1;
  warns_num = 0;
  cw_host_set_names(h, "a", "ep", "v");
  check(h, "a", 100, 1);
  check(h, "a", 101, 1);
  check(h, "a", 102.999, 1);
  T_EQ_INT(warns_num, 0, "nothing within three intervals of the first value");
  check(h, "a", 103, 1);
  T_EQ_INT(warns_num, 3, "then one warning per metric");
  T_EQ_STR(warned(0, "a", CW_HOST_CPU),
           "collectd's cpu plugin sends no values (LoadPlugin cpu)",
           "CPUUtilization: names the cpu plugin and LoadPlugin");
  T_EQ_STR(warned(0, "a", CW_HOST_MEMORY),
           "collectd's memory plugin sends no values (LoadPlugin memory; "
           "ValuesAbsolute true, its default, or ValuesPercentage true)",
           "MemoryUtilization: the memory plugin");
  T_EQ_STR(warned(0, "a", CW_HOST_DISK),
           "collectd's df plugin sends no values (LoadPlugin df; "
           "ValuesAbsolute true, its default, or ValuesPercentage true)",
           "DiskUtilization: the df plugin");
  check(h, "a", 104, 1);
  check(h, "a", 200, 1);
  T_EQ_INT(warns_num, 3, "each once");
  add(h, "a", "memory", "", "memory", "used", 201, 10);
  add(h, "a", "memory", "", "memory", "free", 201, 90);
  check(h, "a", 201, 1);
  T_EQ_INT(warns_num, 3, "a first read is not complete before the next");
  add(h, "a", "memory", "", "memory", "used", 202, 10);
  check(h, "a", 202, 1);
  T_EQ_INT(warns_num, 4, "once memory comes after all");
  T_OK(warned(3, "a", CW_HOST_MEMORY) != NULL &&
           strcmp(warned(3, "a", CW_HOST_MEMORY), "") == 0,
       "it is said, once (why NULL)");
  add(h, "a", "memory", "", "memory", "free", 202, 90);
  add(h, "a", "memory", "", "memory", "used", 203, 10);
  check(h, "a", 203, 1);
  T_EQ_INT(warns_num, 4, "and not again");

  /* cpu and memory by default; df without the file system. */
  n = warns_num;
  cw_host_set_names(h, "b", "ep", "v");
  for (int i = 0; i < 4; i++) {
    double t = 300 + i;
    jcore(h, "b", t, 0, i % 2 ? j2 : j1);
    add(h, "b", "memory", "", "memory", "used", t, 10);
    add(h, "b", "df", "boot", "df_complex", "used", t, 10);
    add(h, "b", "df", "boot", "df_complex", "free", t, 10);
    check(h, "b", t, 1);
  }
  T_EQ_INT(warns_num, n + 1, "cpu and memory by default: one warning");
  T_EQ_STR(warned(n, "b", CW_HOST_DISK),
           "the df plugin reports no file system \"root\" (its MountPoint, "
           "or HostMetricsFileSystem)",
           "DiskUtilization: the file system is named");

  /* The mean over cores without their number. */
  T_EQ_STR(
      warned_after_four(h, "c", "cpu", "percent", "idle", 400, CW_HOST_CPU),
      "the cpu plugin reports the mean over all cores, which does not "
      "say how many there are (ReportByCpu true, its default, or "
      "ReportNumCpu true)",
      "CPUUtilization: ReportByCpu or ReportNumCpu");

  /* Values that never make a complete read. */
  T_EQ_STR(warned_after_four(h, "f", "memory", "memory", "free", 500,
                             CW_HOST_MEMORY),
           "values of the memory plugin arrive, but none made a complete "
           "read (counted as incomplete reads)",
           "MemoryUtilization: no read complete");

  /* Not named: its missing names are said elsewhere. */
  n = warns_num;
  check(h, "d", 600, 1);
  check(h, "d", 700, 1);
  T_EQ_INT(warns_num, n, "an unnamed host is not warned about");
  cw_host_set_names(h, "d", "ep", "v");
  check(h, "d", 701, 1);
  T_EQ_INT(warns_num, n + 3, "but is once named");

  /* The largest interval of the host's values; the clock going back. */
  n = warns_num;
  cw_host_set_names(h, "e", "ep", "v");
  check(h, "e", 1000, 1);
  check(h, "e", 1000.5, 10);
  check(h, "e", 1003, 1);
  check(h, "e", 1029.9, 1);
  T_EQ_INT(warns_num, n, "three intervals of 10 s");
  cw_host_set_names(h, "g", "ep", "v");
  check(h, "g", 2000, 1);
  check(h, "g", 1000, 1);
  check(h, "g", 1002.9, 1);
  T_EQ_INT(warns_num, n, "the clock went back: counted from there");
  check(h, "g", 1003, 1);
  T_EQ_INT(warns_num, n + 3, "and warned three intervals later");
  check(h, "e", 1030, 1);
  T_EQ_INT(warns_num, n + 6, "e too, 30 s after its first value");
  cw_host_destroy(h);

  /* A configured name counts as named; beyond max_hosts nothing. */
  {
    cw_host_config_t c2 = {NULL, "ep", "v", 1};
    h = cw_host_create(&c2);
    warns_num = 0;
    check(h, "a", 100, 1);
    check(h, "b", 100, 1);
    check(h, "a", 103, 1);
    check(h, "b", 103, 1);
    T_EQ_INT(warns_num, 3, "configured names: warned; b beyond max_hosts 1");
    cw_host_destroy(h);
  }
  add_interval = 10;
}

int main(void) {
  test_names();
  test_cpu();
  test_memory_disk();
  test_names_and_limits();
  test_jiffies();
  test_mean();
  test_memory_disk_bytes();
  test_one_source();
  test_check();
  return t_done();
}
