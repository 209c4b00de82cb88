#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host metrics end to end: the real collectd with its cpu, memory and df
plugins, sagemaker_async reading the simulator, and write_cloudwatch
publishing to moto_server (signature checking on).

What collectd dispatched is captured; CPUUtilization, MemoryUtilization
and DiskUtilization are computed from it here, grouping the values by
read on collectd's interval grid (not by the plugin's rule), and compared
with what boto3 reads back from moto: every read published once, in
percent, with EndpointName and VariantName, and nothing else. Sanity:
CPU within 0..100 x cores, memory and disk within 0..100, disk close to
os.statvfs("/").

The runs:
1. ValuesPercentage (the percentages path), names learned from
   sagemaker_async.
2. The same with the endpoint named in the configuration, another
   namespace and file system, and the cpu plugin's "active" state
   (ReportByState false).
3. collectd's defaults (jiffies per core and state, bytes), with one core
   kept busy: besides the checks above, each published value is compared
   with the one this test computes independently from /proc/stat,
   /proc/meminfo and os.statvfs, sampled every few milliseconds, at the
   instants of collectd's reads (tolerances below).
4. The cpu plugin's mean over cores with their number (ReportByCpu false,
   ReportNumCpu true), the memory plugin's bytes and percentages at once
   (published once), and no df plugin: exactly one warning, naming
   DiskUtilization, the df plugin and LoadPlugin."""
import datetime
import json
import math
import os
import sys
import threading
import time
import urllib.request

from harness import (SRCDIR, Workdir, collectd_conf, plugin_block, read_jsonl,
                     read_text, runtime_block, start, start_collectd,
                     start_sim, stop)
import motoserver as motolib

tap = motolib.moto_tap()
for p in ("cpu", "memory", "df"):
    if not os.path.exists("/usr/lib/collectd/%s.so" % p):
        tap.skip_all("collectd's %s plugin is not installed" % p)

INTERVAL = 1.0
SECONDS = 7
METRICS = ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
HZ = os.sysconf("SC_CLK_TCK")
# The states of collectd 5.12's cpu plugin and, on Linux, of its memory
# plugin (their type instances).
CPU_STATES = ("user", "system", "wait", "nice", "swap", "interrupt",
              "softirq", "steal", "guest", "guest_nice", "idle")
MEM_STATES = ("used", "slab_unrecl", "buffered", "cached", "free", "slab",
              "slab_recl")


def system_plugins(by_state=True, mount="/"):
    return """PluginDir "/usr/lib/collectd"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
<Plugin cpu>
  ReportByCpu true
  ReportByState %s
  ValuesPercentage true
</Plugin>
<Plugin memory>
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>
<Plugin df>
  MountPoint "%s"
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>
""" % ("true" if by_state else "false", mount)


# As Debian installs them: no <Plugin> block at all.
DEFAULT_PLUGINS = """PluginDir "/usr/lib/collectd"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
"""

MEAN_NO_DF_PLUGINS = """PluginDir "/usr/lib/collectd"
LoadPlugin cpu
LoadPlugin memory
<Plugin cpu>
  ReportByCpu false
  ReportNumCpu true
</Plugin>
<Plugin memory>
  ValuesAbsolute true
  ValuesPercentage true
</Plugin>
"""


def df_instance(mount):
    return "root" if mount == "/" else mount.strip("/").replace("/", "-")


def clamp(x):
    return min(100.0, max(0.0, x))


def expected(captured, disk):
    """({metric: {read number: (time, value, previous read's time)}},
    number of cores) from the captured values: reads are numbered by
    their place on the interval grid, counted from the first value of the
    run."""
    vals = [v for v in captured if v["kind"] == "value" and
            v["plugin"] in ("cpu", "memory", "df")]
    if not vals:
        return {}, 0
    t0 = min(v["time"] for v in vals)
    src = {s: {} for s in ("cpu_percent", "cpu_mean", "cpu_jiffies",
                           "mem_percent", "mem_bytes", "disk_percent",
                           "disk_bytes")}
    for v in vals:
        k = int(round((v["time"] - t0) / INTERVAL))
        x = v["values"][0]
        p, pi, ty, ti = (v["plugin"], v["plugin_instance"], v["type"],
                         v["type_instance"])
        if p == "cpu" and ty == "percent" and ti in ("idle", "active"):
            busy = 100.0 - x if ti == "idle" else x
            s, key, x = ("cpu_mean", "busy", busy) if pi == "" else \
                ("cpu_percent", pi, clamp(busy))
        elif p == "cpu" and ty == "count" and pi == "":
            s, key = "cpu_mean", "count"
        elif p == "cpu" and ty == "cpu" and ti in CPU_STATES:
            s, key = "cpu_jiffies", (int(pi), ti)
        elif p == "memory" and ty == "percent":
            s, key = "mem_percent", ti
        elif p == "memory" and ty == "memory" and ti in MEM_STATES:
            s, key = "mem_bytes", ti
        elif p == "df" and pi == disk and ty in ("percent_bytes",
                                                 "df_complex"):
            s = "disk_percent" if ty == "percent_bytes" else "disk_bytes"
            key = ti
        else:
            continue
        r = src[s].setdefault(k, {"t": v["time"], "v": {}})
        r["v"][key] = x
        r["t"] = min(r["t"], v["time"])

    out = {m: {} for m in METRICS}
    ncpu = 0
    # Per core percentages: every core of the run in the read.
    cores = max((len(r["v"]) for r in src["cpu_percent"].values()),
                default=0)
    ncpu = max(ncpu, cores)
    for k, r in src["cpu_percent"].items():
        if len(r["v"]) == cores:
            out["CPUUtilization"][k] = (r["t"], sum(r["v"].values()), None)
    # The mean over cores, times their number.
    for k, r in src["cpu_mean"].items():
        if "busy" in r["v"] and "count" in r["v"]:
            ncpu = max(ncpu, int(r["v"]["count"]))
            out["CPUUtilization"][k] = (
                r["t"], clamp(r["v"]["busy"]) * r["v"]["count"], None)
    # Jiffies: each core's busy share of the increases since the previous
    # read, both holding every core and state of the run.
    full = max((set(r["v"]) for r in src["cpu_jiffies"].values()),
               key=len, default=set())
    for k, r in src["cpu_jiffies"].items():
        p = src["cpu_jiffies"].get(k - 1)
        if p is None or set(r["v"]) != full or set(p["v"]) != full:
            continue
        total_util = 0.0
        cores = sorted({c for c, _ in full})
        ncpu = max(ncpu, len(cores))
        for c in cores:
            inc = {s: max(0, r["v"][(c, s)] - p["v"][(c, s)])
                   for s in CPU_STATES if (c, s) in full}
            total = sum(inc.values())
            total_util += 100.0 * (total - inc["idle"]) / total
        out["CPUUtilization"][k] = (r["t"], total_util, p["t"])
    for k, r in src["mem_percent"].items():
        if "used" in r["v"]:
            out["MemoryUtilization"][k] = (
                r["t"], clamp(r["v"]["used"] + r["v"].get("slab_unrecl", 0.0)),
                None)
    # Bytes: (used + slab_unrecl) over the sum of the states; when the
    # percentages came too, the two are the same number (to 1e-15).
    for k, r in src["mem_bytes"].items():
        if "used" in r["v"]:
            used = r["v"]["used"] + r["v"].get("slab_unrecl", 0.0)
            out["MemoryUtilization"][k] = (
                r["t"], clamp(100.0 * used / sum(r["v"].values())), None)
    for s in ("disk_percent", "disk_bytes"):
        for k, r in src[s].items():
            u, f = r["v"].get("used"), r["v"].get("free")
            if u is not None and f is not None and u + f > 0:
                out["DiskUtilization"][k] = (r["t"], 100.0 * u / (u + f),
                                             None)
    return out, ncpu


class ProcSampler(threading.Thread):
    """/proc/stat, /proc/meminfo and os.statvfs(mount), read every few
    milliseconds, each sample stamped with the middle of its reading."""

    def __init__(self, mount, step=0.003):
        super().__init__(daemon=True)
        self.mount, self.step = mount, step
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            a = time.time()
            with open("/proc/stat") as f:
                stat = f.read()
            with open("/proc/meminfo") as f:
                mem = f.read()
            sv = os.statvfs(self.mount)
            b = time.time()
            self.samples.append(((a + b) / 2, (b - a) / 2, stat, mem, sv))
            self.halt.wait(self.step)

    def stop(self):
        self.halt.set()
        self.join()

    def around(self, t):
        """The samples just before and just after t, and the nearest."""
        before = [s for s in self.samples if s[0] <= t]
        after = [s for s in self.samples if s[0] >= t]
        return ([before[-1]] if before else []) + \
            ([after[0]] if after else []) + [self.nearest(t)[1]]

    def nearest(self, t):
        """(distance in seconds from t, including half the sample's own
        duration, sample)."""
        s = min(self.samples, key=lambda s: abs(s[0] - t))
        return abs(s[0] - t) + s[1], s


def proc_cores(stat):
    """{core: (busy ticks, all ticks)} from /proc/stat: user nice system
    idle iowait irq softirq steal (guest is in user already)."""
    out = {}
    for line in stat.splitlines():
        f = line.split()
        if f[0].startswith("cpu") and f[0] != "cpu":
            t = [int(x) for x in f[1:9]]
            out[int(f[0][3:])] = (sum(t) - t[3], sum(t))
    return out


def proc_memory(mem):
    """(MemTotal - MemFree - Buffers - Cached - SReclaimable) / MemTotal:
    what cannot be reclaimed, in percent."""
    m = {l.split(":")[0]: int(l.split()[1]) for l in mem.splitlines()}
    return 100.0 * (m["MemTotal"] - m["MemFree"] - m["Buffers"] -
                    m["Cached"] - m["SReclaimable"]) / m["MemTotal"]


def statvfs_used(path_or_sv):
    s = os.statvfs(path_or_sv) if isinstance(path_or_sv, str) else path_or_sv
    used = s.f_blocks - s.f_bfree
    return 100.0 * used / (used + s.f_bavail)


def compare_with_proc(sampler, want, got_by_second):
    """Compares every published read with /proc at the same instants.

    The test's samples are not taken at the instants collectd read: a
    sample is at most `gap` seconds (its distance plus half its own
    duration, plus 2 ms for collectd's read before its stamp) from
    collectd's read. CPU: in a gap a core accrues at most e = HZ x gap + 1
    ticks, at each end of the interval, to busy and to the total alike;
    so one core's share can differ by at most 100 x 2e / (ticks - 2e), and
    the tolerance of a read is the sum of that over the cores (when no
    tick falls in the gaps, both see the same counters and agree
    exactly). Memory and disk change continuously: the tolerance is how
    much the value moved between the samples just before and just after
    collectd's instant, plus 0.01 points (2.5 MB of memory here) for what
    moved faster than sampled."""
    slack = 0.002
    report = {}
    for m in METRICS:
        diffs, bad = [], []
        for k, (t, value, t_prev) in sorted(want[m].items()):
            if int(math.floor(t)) not in got_by_second[m]:
                continue  # not published (first or last read)
            g, s = sampler.nearest(t)
            g += slack
            if m == "CPUUtilization":
                gp, sp = sampler.nearest(t_prev)
                gp += slack
                a, b = proc_cores(sp[2]), proc_cores(s[2])
                util, tol = 0.0, 0.0
                for c in sorted(b):
                    busy = b[c][0] - a[c][0]
                    total = b[c][1] - a[c][1]
                    e = HZ * g + 1 + HZ * gp + 1
                    util += 100.0 * busy / total
                    tol += 100.0 * 2 * e / max(1.0, total - 2 * e)
                ref = util
            else:
                f = proc_memory if m == "MemoryUtilization" else \
                    (lambda sv: statvfs_used(sv))
                idx = 3 if m == "MemoryUtilization" else 4
                near = [f(x[idx]) for x in sampler.around(t)]
                ref = f(s[idx])
                tol = max(near) - min(near) + 0.01
            d = value - ref
            diffs.append(abs(d))
            if abs(d) > tol:
                bad.append("read at %.3f: published %.4f, /proc %.4f, "
                           "tolerance %.4f (gap %.1f ms)"
                           % (t, value, ref, tol, 1000 * g))
            report.setdefault(m, []).append((d, tol))
        tap.note("%s minus /proc (tolerance) per read: %s" % (
            m, ", ".join("%+.4f (%.4f)" % x for x in report.get(m, []))))
        tap.ok(diffs and not bad,
               "%s agrees with /proc over %d reads: largest difference "
               "%.4f, mean %.4f points" % (m, len(diffs), max(diffs or [0]),
                                           sum(diffs) / max(1, len(diffs))),
               "\n".join(bad))
    return report


def published(moto, ns, metric, dims, t_start, t_end):
    """{period start (epoch seconds): (SampleCount, Sum, Min, Max)} read
    back with boto3, and the units moto stored for the metric."""
    dps = moto.cw.get_metric_statistics(
        Namespace=ns, MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=t_start, EndTime=t_end, Period=1,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])["Datapoints"]
    return {int(d["Timestamp"].timestamp()): (d["SampleCount"], d["Sum"],
                                               d["Minimum"], d["Maximum"])
            for d in dps}


def stored_units(moto, ns):
    with urllib.request.urlopen(moto.url + "/moto-api/data.json",
                                timeout=30) as r:
        cw = json.load(r)["cloudwatch"]
    units = {}
    for d in cw.get("MetricAggregatedDatum", []) + cw.get("MetricDatum", []):
        if d.get("namespace") == ns:
            units.setdefault(d["name"], set()).add(d.get("unit"))
    return units


def run(title, ns, dims, wcw_extra, with_runtime, plugins, mount="/",
        metrics=METRICS, warnings=(), proc=False, load=False):
    """One collectd run. warnings: (metric, [words]) for each warning the
    log must have, and no other; proc: compare with /proc; load: keep a
    core busy meanwhile."""
    tap.note(title)
    work = Workdir("host")
    moto = motolib.Moto(work)
    blocks = plugins
    if with_runtime:
        sim, sock, _ = start_sim(work, ["--seed", "5", "--rate", "20",
                                        "--endpoint", dims["EndpointName"],
                                        "--variant", dims["VariantName"]])
        blocks += plugin_block(runtime_block("main", sock, Interval=1,
                                             Timeout=0.8)) + "\n"
    blocks += 'PluginDir "%s"\nLoadPlugin write_cloudwatch\n' % os.path.join(
        os.environ.get("SM_BUILDDIR", SRCDIR), ".libs")
    blocks += """<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "%s/"
  Namespace "SageMaker/AsyncInference"
  DataLog false
  FlushInterval 1
  StorageResolution 1
  Compress false
  HostMetrics true
%s
</Plugin>""" % (moto.url, wcw_extra)
    conf, out, log = collectd_conf(work, blocks, interval=INTERVAL)
    moto.use_credentials()
    t_start = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(minutes=1)
    busy = None
    if load:
        # Ends by itself should the test die before stopping it.
        busy = start([sys.executable, "-c",
                      "import time\nend = time.time() + 60\n"
                      "while time.time() < end: pass"],
                     work.file("busy.log"))
    sampler = ProcSampler(mount) if proc else None
    if sampler:
        sampler.start()
    cd = start_collectd(work, conf)
    time.sleep(SECONDS)
    code, _ = stop(cd, timeout=15)
    if sampler:
        sampler.stop()
    if busy:
        stop(busy)
    disk_now = statvfs_used(mount)
    if with_runtime:
        stop(sim)
    t_end = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(minutes=1)
    tap.eq(code, 0, "collectd exits 0")
    text = read_text(log)
    bad = [l for l in text.splitlines() if "[error]" in l or
           ("write_cloudwatch" in l and "[warning]" in l and
            "host metrics of" not in l)]
    tap.ok(not bad, "no errors, no warnings but those of host metrics",
           bad[:5])
    said = [l for l in text.splitlines() if "[warning]" in l and
            "write_cloudwatch" in l and "host metrics of" in l]
    for metric, words in warnings:
        mine = [l for l in said if "no %s:" % metric in l]
        tap.ok(len(mine) == 1 and all(w in mine[0] for w in words),
               "one warning for %s, naming %s" % (metric, ", ".join(words)),
               "\n".join(mine or said or ["(none)"]))
    tap.eq(len(said), len(warnings), "%d warnings of host metrics in all"
           % len(warnings))

    captured = read_jsonl(out)
    want, ncpu = expected(captured, df_instance(mount))
    tap.ok(ncpu >= 1, "collectd dispatched the values of %d cores" % ncpu)
    listed = moto.list_metrics(ns)
    tap.eq(sorted({m["MetricName"] for m in listed}), sorted(metrics),
           "exactly the host metrics %s in %s" % (", ".join(metrics), ns))
    tap.eq({tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in listed}, {tuple(sorted(dims.items()))},
           "each with EndpointName and VariantName %s/%s"
           % (dims["EndpointName"], dims["VariantName"]))
    units = stored_units(moto, ns)
    tap.eq(units, {m: {"Percent"} for m in metrics}, "unit Percent")

    got_by_second = {}
    for m in metrics:
        got = published(moto, ns, m, dims, t_start, t_end)
        got_by_second[m] = got
        exp = want.get(m, {})
        by_second = {}
        for k, (t, v, _) in exp.items():
            by_second.setdefault(int(math.floor(t)), []).append(v)
        # Every datapoint is one read collectd dispatched, with its value.
        wrong = []
        for sec, (count, total, lo, hi) in sorted(got.items()):
            vals = by_second.get(sec)
            if vals is None or count != len(vals) or \
                    abs(total - sum(vals)) > 1e-9 * max(1.0, abs(total)):
                wrong.append("%d: published n=%s sum=%r; computed %r"
                             % (sec, count, total, vals))
        tap.ok(got and not wrong, "%s: %d reads published, each equal to the "
               "value computed from what collectd dispatched" % (m, len(got)),
               "\n".join(wrong[:10]))
        # And every read was published, but for the first or last one
        # (collectd drops its write queue at shutdown; names are learned
        # at the first read of the runtime; jiffies give a value from the
        # second read).
        ks = sorted(exp)
        missed = [k for k in ks[1:-1]
                  if int(math.floor(exp[k][0])) not in got]
        tap.ok(len(ks) >= SECONDS - 3 and not missed,
               "%s: all %d reads published (the first and last may be "
               "missing)" % (m, len(ks)), "missed reads %r" % missed)
        values = [v for (_, v, _) in exp.values()]
        hi = 100.0 * ncpu if m == "CPUUtilization" else 100.0
        tap.ok(values and all(0 <= v <= hi for v in values),
               "%s within 0..%g (%.2f..%.2f)" % (m, hi, min(values or [0]),
                                                 max(values or [0])))
        if m == "DiskUtilization" and values:
            last = exp[max(exp)][1]
            tap.ok(abs(last - disk_now) < 1.0,
                   "DiskUtilization %.3f is os.statvfs(%r)'s used / "
                   "(used + available) %.3f" % (last, mount, disk_now))
    if load:
        vals = [v for (_, v, _) in want["CPUUtilization"].values()]
        tap.ok(vals and min(vals) > 80.0,
               "with a core kept busy, CPUUtilization is above 80 in every "
               "read (a sum over cores; %.1f..%.1f)"
               % (min(vals or [0]), max(vals or [0])))
    if sampler:
        compare_with_proc(sampler, want, got_by_second)
    own = [v for v in captured if v["kind"] == "value" and
           v["plugin"] == "write_cloudwatch" and
           v["type_instance"].startswith("host_")]
    last = {}
    for v in own:
        last[v["type_instance"]] = v["values"][0]
    tap.eq(last.get("host_reads_dropped-incomplete"), 0,
           "no read dropped as incomplete (own counter)")
    moto.stop()


run("names learned from sagemaker_async, the default namespace and /",
    "/aws/sagemaker/Endpoints",
    {"EndpointName": "host-endpoint", "VariantName": "Variant-1"},
    "", with_runtime=True, plugins=system_plugins(True, "/"))
mount = "/tmp" if os.path.ismount("/tmp") else "/"
run("configured names, another namespace, ReportByState false, %s" % mount,
    "Test/Hosts", {"EndpointName": "cfg-endpoint", "VariantName": "cfg-variant"},
    '  HostMetricsNamespace "Test/Hosts"\n'
    '  HostMetricsEndpointName "cfg-endpoint"\n'
    '  HostMetricsVariantName "cfg-variant"\n'
    '  HostMetricsFileSystem "%s"' % mount,
    with_runtime=False, plugins=system_plugins(False, mount), mount=mount)
run("collectd's defaults (jiffies, bytes), a core kept busy, against /proc",
    "/aws/sagemaker/Endpoints",
    {"EndpointName": "defaults-endpoint", "VariantName": "AllTraffic"},
    "", with_runtime=True, plugins=DEFAULT_PLUGINS, proc=True, load=True)
run("the mean over cores with their number, memory in bytes and percent, "
    "no df plugin",
    "/aws/sagemaker/Endpoints",
    {"EndpointName": "mean-endpoint", "VariantName": "AllTraffic"},
    "", with_runtime=True, plugins=MEAN_NO_DF_PLUGINS,
    metrics=("CPUUtilization", "MemoryUtilization"),
    warnings=[("DiskUtilization", ["df plugin", "LoadPlugin df"])])
tap.done()
