#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""write_cloudwatch end to end: the real collectd with sagemaker_async and
write_cloudwatch, the runtime simulator, and moto_server as CloudWatch with
signature checking on. Read back with boto3 (get_metric_statistics), the
SageMaker metrics must be there with exactly the names, units and
dimension sets of metrics.tsv, and their SampleCount, Sum, Minimum and
Maximum over the run must equal what the simulator's ledger says about the
requests the read plugin covered. Timings go out as Values/Counts: moto
must hold each request's timing once (read from moto's state dump), with
p50/p90/p99/p99.9 within 1% of the ledger's; with Percentiles false, as
statistic sets only."""
import datetime
import os
import time

from harness import (SRCDIR, Workdir, collectd_conf, plugin_block, read_jsonl,
                     read_text, reads_idle, runtime_block, sanitizer_reports,
                     start_collectd, start_sim, stop, wait_for)
from ledger import TIMINGS, Ledger, expected, percentile, timing_samples
import motoserver as motolib

tap = motolib.moto_tap()

NS = "SageMaker/AsyncInference"


def metrics_table():
    rows = {}
    with open(os.path.join(SRCDIR, "tests", "data", "metrics.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, unit, dims, stats, _ = line.rstrip("\n").split("\t")
            rows[name] = (unit, dims.split(","))
    return rows


def covered_records(captured, led):
    """The ledger records the read plugin counted, from the seq ranges it
    put on its values."""
    seen = set()
    out = []
    for v in captured:
        if v["kind"] != "value" or v["plugin"] != "sagemaker_async" or \
                v["type_instance"] != "InvocationsProcesssed":
            continue
        m = v["meta"]
        boot, a, b = m["sagemaker:boot_id"], m["sagemaker:seq_first"], \
            m["sagemaker:seq_last"]
        gone = led.skipped(boot)
        for s in range(a, b + 1):
            if (boot, s) not in seen and s not in gone and \
                    s in led.requests.get(boot, {}):
                seen.add((boot, s))
                out.append(led.requests[boot][s])
    return out


def wcw_block(moto, extra=""):
    return """<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "%s/"
  LogsEndpoint "%s/"
  Namespace "%s"
  FlushInterval 2
  Compress false
  Timeout 5
%s
</Plugin>""" % (moto.url, moto.url, NS, extra)


def run(percentiles=True):
    tap.note("Percentiles %s" % ("true (the default)" if percentiles
                                 else "false: statistic sets only"))
    work = Workdir("wcw" if percentiles else "wcw-statsets")
    moto = motolib.Moto(work)
    sim, sock, ledger = start_sim(work, ["--seed", "11", "--rate", "150",
                                         "--duration", "6"])
    conf, out, log = collectd_conf(
        work, plugin_block(runtime_block("main", sock, Interval=1,
                                         Timeout=0.8)) + "\n" +
        'PluginDir "%s"\nLoadPlugin write_cloudwatch\n' %
        os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs") +
        wcw_block(moto, "" if percentiles else "  Percentiles false"))
    moto.use_credentials()
    t0 = datetime.datetime.now(datetime.timezone.utc)
    cd = start_collectd(work, conf)
    time.sleep(8)

    tap.ok(wait_for(lambda: reads_idle(out), 20, step=0.3),
           "the read plugin drained the runtime")
    code, took = stop(cd, timeout=15)
    tap.eq(code, 0, "collectd exits 0")
    tap.ok(took < 6, "shutdown flush within ShutdownTimeout (%.1f s)" % took)
    stop(sim)
    t1 = datetime.datetime.now(datetime.timezone.utc)

    text = read_text(log)
    errors = [l for l in text.splitlines() if "[error]" in l or
              "write_cloudwatch" in l and "warning" in l]
    tap.ok(not errors, "no errors or warnings from the plugins", errors[:5])

    led = Ledger(ledger)
    captured = read_jsonl(out)
    recs = covered_records(captured, led)
    tap.ok(len(recs) > 300, "%d requests covered by the read plugin" % len(recs))
    counts, stats = expected(recs)

    table = metrics_table()
    cw = moto.cw
    listed = moto.list_metrics(NS)
    names = {m["MetricName"] for m in listed}
    tap.eq(names, set(table), "exactly the metrics of metrics.tsv are "
           "published (and never OverheadLatency, Invocations, "
           "InvocationsPerInstance)")
    dimsets = {}
    for m in listed:
        dimsets.setdefault(m["MetricName"], set()).add(
            tuple(sorted(d["Name"] for d in m["Dimensions"])))
    tap.ok(all(dimsets.get(n) == {tuple(sorted(d))} for n, (u, d) in table.items()),
           "each with its dimension set", dimsets)
    snap0 = led.snapshots[0]

    def read_back(name):
        unit, dnames = table[name]
        dims = [{"Name": "EndpointName", "Value": snap0["endpoint_name"]}]
        if "VariantName" in dnames:
            dims.append({"Name": "VariantName", "Value": snap0["variant_name"]})
        r = cw.get_metric_statistics(
            Namespace=NS, MetricName=name, Dimensions=dims,
            StartTime=t0 - datetime.timedelta(minutes=2),
            EndTime=t1 + datetime.timedelta(minutes=2), Period=60,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])
        return r["Datapoints"], unit

    for name in ["ModelLatency", "RequestDownloadLatency",
                 "ResponseUploadLatency", "TimeInBacklog",
                 "TotalProcessingTime", "Invocation4XXErrors",
                 "Invocation5XXErrors"]:
        dps, unit = read_back(name)
        want = stats[name]
        got = {"count": int(sum(d["SampleCount"] for d in dps)),
               "sum": sum(d["Sum"] for d in dps),
               "min": min((d["Minimum"] for d in dps), default=None),
               "max": max((d["Maximum"] for d in dps), default=None)}
        tap.eq(got, want, "%s: SampleCount, Sum, Minimum, Maximum read back "
               "equal the ledger" % name)
        tap.ok(dps and all(d.get("Unit") == unit for d in dps),
               "%s: unit %s" % (name, unit))
    # How the timings were published: every sample as a Value (moto keeps
    # them one by one), percentiles within 1% of the exact ones; or only
    # statistic sets.
    stored = moto.stored(NS)
    samples = timing_samples(recs)
    for name in TIMINGS:
        st = stored.get(name, {"values": [], "statsets": 0})
        if not percentiles:
            tap.ok(not st["values"] and st["statsets"] > 0,
                   "%s: statistic sets only (%d)" % (name, st["statsets"]))
            continue
        tap.ok(st["statsets"] == 0 and
               len(st["values"]) == len(samples[name]),
               "%s: published as Values/Counts, one value per request (%d)"
               % (name, len(st["values"])))
        errs = []
        for p in (50, 90, 99, 99.9):
            want = percentile(samples[name], p)
            got = percentile(st["values"], p) if st["values"] else None
            if got is None or abs(got - want) > 0.01 * want:
                errs.append((p, got, want))
        tap.ok(not errs, "%s: p50, p90, p99, p99.9 of what moto holds within "
               "1%% of the ledger's" % name, errs)
    for name in ["InvocationsProcesssed", "ExpiredRequests",
                 "InvocationFailures", "RequestDownloadFailures",
                 "ResponseUploadFailures", "NotificationFailures"]:
        dps, unit = read_back(name)
        tap.eq(sum(d["Sum"] for d in dps), counts[name],
               "%s: Sum read back equals the ledger (%d)" % (name, counts[name]))
        tap.ok(dps and all(d.get("Unit") == unit for d in dps),
               "%s: unit %s" % (name, unit))
    # Gauges: every value the read plugin dispatched, as min/max/count.
    for name in ["ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
                 "ApproximateAgeOfOldestRequest"]:
        dispatched = [v["values"][0] for v in captured if v["kind"] == "value"
                      and v["type_instance"] == name]
        dps, unit = read_back(name)
        got = (int(sum(d["SampleCount"] for d in dps)),
               min((d["Minimum"] for d in dps), default=None),
               max((d["Maximum"] for d in dps), default=None))
        tap.eq(got, (len(dispatched), min(dispatched), max(dispatched)),
               "%s: every sample published, min and max exact" % name)
        tap.ok(abs(sum(d["Sum"] for d in dps) - sum(dispatched)) < 1e-6,
               "%s: sum exact" % name)
    # The plugin's own counters, as collectd values.
    own = {}
    for v in captured:
        if v["kind"] == "value" and v["plugin"] == "write_cloudwatch":
            own[v["type"] + "-" + v["type_instance"]] = v["values"][0]
    tap.ok(own.get("derive-datums_sent", 0) > 0 and
           own.get("derive-requests", 0) > 0,
           "own counters: datums_sent %s in %s requests"
           % (own.get("derive-datums_sent"), own.get("derive-requests")))
    tap.ok(all(own.get("derive-datums_dropped-" + r, -1) == 0
               for r in ("queue_full", "invalid", "refused")) and
           all(own.get("derive-percentiles_dropped-" + r, -1) == 0
               for r in ("fallback", "unreadable")),
           "own counters: nothing dropped, no timing without percentiles", own)
    tap.ok(not sanitizer_reports(work), "no sanitizer reports",
           sanitizer_reports(work)[:10])
    moto.stop()


def run_generic():
    """GenericMetrics: collectd's own load and memory plugins through the
    naming rule, the filters and a static dimension; what moto holds equals
    what collectd dispatched."""
    work = Workdir("wcw-generic")
    moto = motolib.Moto(work, auth=False)
    conf, out, log = collectd_conf(work, """
PluginDir "/usr/lib/collectd"
LoadPlugin load
LoadPlugin memory
PluginDir "%s"
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "%s/"
  DataLog false
  Namespace "Hosts/Test"
  FlushInterval 1
  StorageResolution 1
  Compress false
  GenericMetrics true
  Include "^(load|memory)/"
  Exclude "^memory/memory-(free|slab)"
  Dimension "InstanceId" "i-0123456789abcdef0"
</Plugin>""" % (os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs"),
                moto.url))
    os.environ["AWS_ACCESS_KEY_ID"] = "AKIDGENERIC"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "generic-secret"
    cd = start_collectd(work, conf)
    time.sleep(4.5)
    stop(cd, timeout=15)
    captured = [v for v in read_jsonl(out) if v["kind"] == "value"]
    ns = "Hosts/Test"
    names = {m["MetricName"] for m in moto.list_metrics(ns)}
    tap.ok({"load.load.shortterm", "load.load.midterm", "load.load.longterm",
            "memory.memory.used"} <= names,
           "generic names: plugin.type[.type_instance][.ds]", sorted(names))
    tap.ok(not any(n.startswith("memory.memory.free") or
                   n.startswith("memory.memory.slab") or
                   n.startswith("write_cloudwatch") for n in names),
           "Exclude and the default exclusion of the plugin's own values hold",
           sorted(names))
    dims = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in moto.list_metrics(ns)}
    tap.eq(dims, {(("Host", "sm-test"), ("InstanceId", "i-0123456789abcdef0"))},
           "dimensions: Host and the static InstanceId")
    now = datetime.datetime.now(datetime.timezone.utc)
    dps = moto.cw.get_metric_statistics(
        Namespace=ns, MetricName="load.load.shortterm",
        Dimensions=[{"Name": "Host", "Value": "sm-test"},
                    {"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
        StartTime=now - datetime.timedelta(minutes=5),
        EndTime=now + datetime.timedelta(minutes=1), Period=1,
        Statistics=["SampleCount", "Sum", "Maximum"])["Datapoints"]
    shortterm = [v["values"][0] for v in captured if v["plugin"] == "load"]
    tap.eq(int(sum(d["SampleCount"] for d in dps)), len(shortterm),
           "every load sample published once (%d)" % len(shortterm))
    tap.ok(shortterm and abs(sum(d["Sum"] for d in dps) - sum(shortterm)) < 1e-9,
           "their sum equals what collectd dispatched")
    moto.stop()


def run_bad_secret():
    """The same plugin with a wrong secret: moto refuses the signature, the
    plugin says so, and nothing is published."""
    work = Workdir("wcw-bad")
    moto = motolib.Moto(work)
    sim, sock, ledger = start_sim(work, ["--seed", "12", "--rate", "50"])
    conf, out, log = collectd_conf(
        work, plugin_block(runtime_block("main", sock, Interval=1,
                                         Timeout=0.8)) + "\n" +
        'PluginDir "%s"\nLoadPlugin write_cloudwatch\n' %
        os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs") +
        wcw_block(moto, "  MaxAttempts 1\n  ShutdownTimeout 1"))
    os.environ["AWS_ACCESS_KEY_ID"] = moto.key_id
    os.environ["AWS_SECRET_ACCESS_KEY"] = moto.secret[:-1] + "X"
    # The oracle first: this moto refuses the same wrong key from boto3.
    import boto3
    import botocore.exceptions
    try:
        boto3.client("cloudwatch", endpoint_url=moto.url,
                     region_name="us-east-1", aws_access_key_id=moto.key_id,
                     aws_secret_access_key=moto.secret[:-1] + "X").list_metrics()
        refused = False
    except botocore.exceptions.ClientError:
        refused = True
    tap.ok(refused, "moto_server refuses boto3's request signed with it")
    cd = start_collectd(work, conf)
    tap.ok(wait_for(lambda: "PutMetricData" in read_text(log), 15),
           "bad signature: the plugin logs the refusal")
    stop(cd, timeout=15)
    stop(sim)
    text = read_text(log)
    tap.ok("SignatureDoesNotMatch" in text or "signature" in text.lower(),
           "and quotes CloudWatch's reason",
           [l for l in text.splitlines() if "write_cloudwatch" in l][:5])
    tap.eq(moto.list_metrics(NS), [],
           "nothing was published")
    tap.ok(moto.secret[:-1] + "X" not in text and moto.secret not in text,
           "the secret never appears in the log")
    moto.stop()


run()
run(percentiles=False)
run_generic()
run_bad_secret()
tap.done()
