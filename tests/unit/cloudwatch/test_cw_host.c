/* SPDX-License-Identifier: MIT */
/*
 * cw_host: the instance metrics from hand-computed reads: several cores,
 * states that do not count, reads completed early and closed by the next
 * one, partial reads, late values and a clock going back, cores coming
 * and going, names configured and learned, limits.
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

static cw_host_result_t add(cw_host_t *h, const char *host, const char *plugin,
                            const char *pi, const char *type, const char *ti,
                            double time, double value) {
  cw_host_value_t v = {host, plugin, pi, type, ti, time, 10.0, value};
  return cw_host_add(h, &v, record, NULL);
}

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

static cw_host_stats_t stats(const cw_host_t *h) {
  cw_host_stats_t s;
  cw_host_get_stats(h, &s);
  return s;
}

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
  T_OK(!cw_host_wants("cpu", "cpu") && !cw_host_wants("memory", "memory") &&
           !cw_host_wants("df", "df_complex") &&
           !cw_host_wants("load", "percent"),
       "not the absolute types, nor other plugins");

  T_OK(cw_host_disk_instance("/", buf, sizeof(buf)) == 0 &&
           strcmp(buf, "root") == 0,
       "df instance of / is root");
  T_OK(cw_host_disk_instance("/var/lib/", buf, sizeof(buf)) == 0 &&
           strcmp(buf, "var-lib") == 0,
       "of /var/lib/ is var-lib");
  T_OK(cw_host_disk_instance("//", buf, sizeof(buf)) == 0 &&
           strcmp(buf, "root") == 0,
       "of // is root");
  T_OK(cw_host_disk_instance("xvda1", buf, sizeof(buf)) == 0 &&
           strcmp(buf, "xvda1") == 0,
       "a device name is taken as is");
  T_EQ_INT(cw_host_disk_instance("", buf, sizeof(buf)), -1, "empty refused");
  T_EQ_INT(cw_host_disk_instance("/a/very/long/mount/point", buf, sizeof(buf)),
           -1, "too long for the buffer refused");
  T_EQ_INT(cw_host_disk_instance("/", buf, 4), -1, "root needs 5 bytes");
}

static void test_cpu(void) {
  cw_host_config_t cfg = {NULL, NULL, NULL, 0};
  cw_host_t *h = cw_host_create(&cfg);
  double idle1[2] = {75, 40}, idle2[2] = {10, 0}, active[2] = {30, 50};
  double idle64[64], want64 = 0;

  got_num = 0;
  cw_host_set_names(h, "a", "ep", "AllTraffic");
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
  T_EQ_INT(got_num, 2,
           "published as soon as every core of the last read "
           "is in");
  T_EQ_DBL(got[1].value, 90.0 + 100.0, "two busy cores: 90 + 100");
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
  T_EQ_INT(got_num, 3,
           "the next read expects core 0 only (it was all the "
           "last read had) and is published");
  T_EQ_DBL(got[2].value, 80.0, "80: one core");

  /* A core coming online: published without it once, then with it. */
  add(h, "a", "cpu", "1", "percent", "idle", 130.1, 0);
  T_EQ_INT(got_num, 3,
           "a core after the publication does not publish "
           "again");
  add(h, "a", "cpu", "0", "percent", "idle", 140, 0);
  T_EQ_INT(got_num, 3, "the next read waits for both cores");
  add(h, "a", "cpu", "1", "percent", "idle", 140.00001, 50);
  T_EQ_INT(got_num, 4, "and is published with both");
  T_EQ_DBL(got[3].value, 150.0, "100 + 50");

  /* Late values and a clock going back. */
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "idle", 134.9, 0), CW_HOST_LATE,
           "a value more than half an interval older than the read is late");
  T_EQ_INT(stats(h).values_late, 1, "and counted");
  T_EQ_INT(add(h, "a", "cpu", "0", "percent", "idle", 30, 60), CW_HOST_TAKEN,
           "one more than 10 intervals older: the clock went back");
  T_EQ_INT(add(h, "a", "cpu", "1", "percent", "idle", 30.0001, 60),
           CW_HOST_TAKEN, "a new read begins there");
  T_EQ_INT(got_num, 5, "and is published when complete");
  T_EQ_DBL(got[4].value, 80.0, "40 + 40");
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
  T_EQ_INT(got_num, 1,
           "finish publishes host b's open read (host a's "
           "went out already)");
  T_EQ_DBL(got[0].value, 80.0, "active 30 + 50");
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
  T_EQ_INT(got_num, 1, "published");
  T_EQ_DBL(got[0].value, 100.0, "each core within 0..100: 100 + 0");

  /* What is not used, or beyond the limits. */
  T_EQ_INT(add(h, "e", "cpu", "", "percent", "idle", 500, 50), CW_HOST_IGNORED,
           "the aggregate over cores (ReportByCpu false) is not used");
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
  T_EQ_INT(add(h, "e", "cpu", "0", "cpu", "idle", 500, 50), CW_HOST_IGNORED,
           "jiffies (type cpu) are not used");
  cw_host_destroy(h);
}

static void test_memory_disk(void) {
  cw_host_config_t cfg = {NULL, NULL, NULL, 0};
  cw_host_t *h = cw_host_create(&cfg);
  /* What Debian's collectd 5.12 dispatched in one read. */
  double used = 2.5299690942702537, slab_unrecl = 0.12198947856952103;
  double dused = 6.710553169250488, dfree = 31.26544952392578;

  got_num = 0;
  cw_host_set_names(h, "a", "ep", "v");
  add(h, "a", "memory", "", "percent", "used", 100, used);
  add(h, "a", "memory", "", "percent", "buffered", 100, 0.05);
  add(h, "a", "memory", "", "percent", "free", 100, 93.52);
  add(h, "a", "memory", "", "percent", "slab_unrecl", 100, slab_unrecl);
  add(h, "a", "memory", "", "percent", "slab_recl", 100, 0.77);
  add(h, "a", "memory", "", "percent", "cached", 100, 3.0);
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
  T_EQ_INT(got_num, 3, "then is published");
  T_EQ_DBL(got[2].value, 32.0, "30 + 2");
  add(h, "a", "df", "root", "percent_bytes", "free", 110, 0);
  T_EQ_INT(got_num, 4, "disk with used and free");
  T_EQ_DBL(got[3].value, 100.0, "50 used, 0 free: 100");

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
    T_EQ_INT(got_num, 1, "only the configured file system");
    T_EQ_DBL(got[0].value, 75.0, "var-lib-docker: 30 / 40");
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

int main(void) {
  test_names();
  test_cpu();
  test_memory_disk();
  test_names_and_limits();
  return t_done();
}
