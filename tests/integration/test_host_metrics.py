#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host metrics end to end: the real collectd with its cpu, memory and df
plugins (ValuesPercentage), sagemaker_async reading the simulator, and
write_cloudwatch publishing to moto_server (signature checking on).

What collectd dispatched is captured; CPUUtilization, MemoryUtilization
and DiskUtilization are computed from it here, grouping the values by
read on collectd's interval grid (not by the plugin's rule), and compared
with what boto3 reads back from moto: every read published once, in
percent, with EndpointName and VariantName, and nothing else. Sanity:
CPU within 0..100 x cores, memory and disk within 0..100, disk close to
os.statvfs("/"). A second run names the endpoint in the configuration,
uses another namespace and file system, and the cpu plugin's "active"
state (ReportByState false)."""
import datetime
import json
import math
import os
import time
import urllib.request

from harness import (SRCDIR, Tap, Workdir, collectd_conf, plugin_block,
                     read_jsonl, read_text, require_collectd, runtime_block,
                     start_collectd, start_sim, stop)
import motoserver as motolib

tap = Tap()
require_collectd(tap)
if not motolib.available():
    tap.skip_all("moto_server and boto3 are not installed")
for p in ("cpu", "memory", "df"):
    if not os.path.exists("/usr/lib/collectd/%s.so" % p):
        tap.skip_all("collectd's %s plugin is not installed" % p)

INTERVAL = 1.0
SECONDS = 7
METRICS = ("CPUUtilization", "MemoryUtilization", "DiskUtilization")


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


def df_instance(mount):
    return "root" if mount == "/" else mount.strip("/").replace("/", "-")


def expected(captured, disk):
    """{metric: {read number: (time, value)}} from the captured values:
    reads are numbered by their place on the interval grid, counted from
    the first value of the run."""
    vals = [v for v in captured if v["kind"] == "value" and
            v["plugin"] in ("cpu", "memory", "df")]
    if not vals:
        return {}
    t0 = min(v["time"] for v in vals)
    reads = {m: {} for m in METRICS}
    for v in vals:
        k = int(round((v["time"] - t0) / INTERVAL))
        x = v["values"][0]
        if v["plugin"] == "cpu" and v["type"] == "percent" and \
                v["type_instance"] in ("idle", "active"):
            busy = 100.0 - x if v["type_instance"] == "idle" else x
            r = reads["CPUUtilization"].setdefault(k, {"t": v["time"], "cpus": {}})
            r["cpus"][v["plugin_instance"]] = min(100.0, max(0.0, busy))
        elif v["plugin"] == "memory" and v["type"] == "percent":
            r = reads["MemoryUtilization"].setdefault(k, {"t": v["time"]})
            r[v["type_instance"]] = x
        elif v["plugin"] == "df" and v["plugin_instance"] == disk and \
                v["type"] == "percent_bytes":
            r = reads["DiskUtilization"].setdefault(k, {"t": v["time"]})
            r[v["type_instance"]] = x
        else:
            continue
        r["t"] = min(r["t"], v["time"])
    out = {m: {} for m in METRICS}
    ncpu = max((len(r["cpus"]) for r in reads["CPUUtilization"].values()),
               default=0)
    for k, r in reads["CPUUtilization"].items():
        if len(r["cpus"]) == ncpu:
            out["CPUUtilization"][k] = (r["t"], sum(r["cpus"].values()))
    for k, r in reads["MemoryUtilization"].items():
        if "used" in r:
            out["MemoryUtilization"][k] = (
                r["t"], min(100.0, r["used"] + r.get("slab_unrecl", 0.0)))
    for k, r in reads["DiskUtilization"].items():
        if "used" in r and "free" in r and r["used"] + r["free"] > 0:
            out["DiskUtilization"][k] = (
                r["t"], 100.0 * r["used"] / (r["used"] + r["free"]))
    return out, ncpu


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


def statvfs_used(path):
    s = os.statvfs(path)
    used = s.f_blocks - s.f_bfree
    return 100.0 * used / (used + s.f_bavail)


def run(title, ns, dims, wcw_extra, with_runtime, by_state, mount):
    tap.note(title)
    work = Workdir("host")
    moto = motolib.Moto(work)
    blocks = system_plugins(by_state, mount)
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
    os.environ["AWS_ACCESS_KEY_ID"] = moto.key_id
    os.environ["AWS_SECRET_ACCESS_KEY"] = moto.secret
    os.environ.pop("AWS_SESSION_TOKEN", None)
    t_start = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(minutes=1)
    cd = start_collectd(work, conf)
    time.sleep(SECONDS)
    code, _ = stop(cd, timeout=15)
    disk_now = statvfs_used(mount)
    if with_runtime:
        stop(sim)
    t_end = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(minutes=1)
    tap.eq(code, 0, "collectd exits 0")
    text = read_text(log)
    bad = [l for l in text.splitlines() if "[error]" in l or
           ("write_cloudwatch" in l and "[warning]" in l)]
    tap.ok(not bad, "no errors or warnings", bad[:5])

    captured = read_jsonl(out)
    want, ncpu = expected(captured, df_instance(mount))
    tap.ok(ncpu >= 1, "collectd dispatched percentages of %d cores" % ncpu)
    listed = moto.list_metrics(ns)
    tap.eq(sorted({m["MetricName"] for m in listed}), sorted(METRICS),
           "exactly the three host metrics in %s" % ns)
    tap.eq({tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in listed}, {tuple(sorted(dims.items()))},
           "each with EndpointName and VariantName %s/%s"
           % (dims["EndpointName"], dims["VariantName"]))
    units = stored_units(moto, ns)
    tap.eq(units, {m: {"Percent"} for m in METRICS}, "unit Percent")

    for m in METRICS:
        got = published(moto, ns, m, dims, t_start, t_end)
        exp = want.get(m, {})
        by_second = {}
        for k, (t, v) in exp.items():
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
        # at the first read of the runtime).
        ks = sorted(exp)
        missed = [k for k in ks[1:-1]
                  if int(math.floor(exp[k][0])) not in got]
        tap.ok(len(ks) >= SECONDS - 3 and not missed,
               "%s: all %d reads published (the first and last may be "
               "missing)" % (m, len(ks)), "missed reads %r" % missed)
        values = [v for (_, v) in exp.values()]
        hi = 100.0 * ncpu if m == "CPUUtilization" else 100.0
        tap.ok(values and all(0 <= v <= hi for v in values),
               "%s within 0..%g (%.2f..%.2f)" % (m, hi, min(values or [0]),
                                                 max(values or [0])))
        if m == "DiskUtilization" and values:
            last = exp[max(exp)][1]
            tap.ok(abs(last - disk_now) < 1.0,
                   "DiskUtilization %.3f is os.statvfs(%r)'s used / "
                   "(used + available) %.3f" % (last, mount, disk_now))
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
    "", with_runtime=True, by_state=True, mount="/")
mount = "/tmp" if os.path.ismount("/tmp") else "/"
run("configured names, another namespace, ReportByState false, %s" % mount,
    "Test/Hosts", {"EndpointName": "cfg-endpoint", "VariantName": "cfg-variant"},
    '  HostMetricsNamespace "Test/Hosts"\n'
    '  HostMetricsEndpointName "cfg-endpoint"\n'
    '  HostMetricsVariantName "cfg-variant"\n'
    '  HostMetricsFileSystem "%s"' % mount,
    with_runtime=False, by_state=False, mount=mount)
tap.done()
