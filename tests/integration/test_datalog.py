#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The endpoint data log end to end: sagemaker_async's notifications become
CloudWatch Logs events through write_cloudwatch, in moto_server (signature
checking on). Read back with boto3 get_log_events: every failed or expired
request the read plugin covered appears exactly once, in order, with its
inference ID, outcome, status and error text, in the group
/aws/sagemaker/Endpoints/<EndpointName> and the stream
<VariantName>/<instance-id>/data-log. A second run logs every request
(NotifySuccess) and takes the instance ID from the configuration. Two
more reach moto_server without Endpoint or LogsEndpoint: through
AWS_ENDPOINT_URL_CLOUDWATCH and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, and
through the shared config file's services section (AWS_CONFIG_FILE), as
the AWS SDKs resolve endpoints; the log names where each endpoint came
from."""
import json
import os
import time

from harness import (SRCDIR, Workdir, collectd_conf, plugin_block, read_jsonl,
                     read_text, reads_idle, runtime_block, sanitizer_reports,
                     start_collectd, start_sim, stop, wait_for)
from ledger import Ledger, failed, read_ranges
import motoserver as motolib

tap = motolib.moto_tap()

LIBS = os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs")


def covered(captured, led, instance):
    """Ledger records the read plugin covered, in seq order."""
    out = []
    for v in captured:
        if v["kind"] == "value" and v["plugin"] == "sagemaker_async" and \
                v["plugin_instance"] == instance and \
                v["type_instance"] == "InvocationsProcesssed":
            (boot, a, b), = read_ranges({"x": v})
            gone = led.skipped(boot)
            out += [led.requests[boot][s] for s in range(a, b + 1)
                    if s not in gone and s in led.requests.get(boot, {})]
    return out


def events(logs, group, stream):
    out, token = [], None
    while True:
        kw = dict(logGroupName=group, logStreamName=stream,
                  startFromHead=True)
        if token:
            kw["nextToken"] = token
        r = logs.get_log_events(**kw)
        out += r["events"]
        if not r["events"] or r.get("nextForwardToken") == token:
            return out
        token = r.get("nextForwardToken")


ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH",
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_CONFIG_FILE",
            "AWS_PROFILE")


def run(label, notify_success, runtime_instance, config_instance,
        endpoints="options"):
    work = Workdir("datalog")
    moto = motolib.Moto(work)
    for k in ENV_KEYS:
        os.environ.pop(k, None)
    options = 'Endpoint "%s/"\n  LogsEndpoint "%s/"' % (moto.url, moto.url)
    if endpoints == "env":
        options = ""
        os.environ["AWS_ENDPOINT_URL_CLOUDWATCH"] = moto.url
        os.environ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = moto.url
        # Named, and overridden by the two above: must not be used.
        os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9/"
    elif endpoints == "config":
        options = 'Profile "local"'
        cfg = work.file("aws-config")
        with open(cfg, "w") as f:
            f.write("[profile local]\nservices = local-moto\n\n"
                    "[services local-moto]\ncloudwatch =\n"
                    "  endpoint_url = %s\ncloudwatch_logs =\n"
                    "  endpoint_url = %s\n" % (moto.url, moto.url))
        os.environ["AWS_CONFIG_FILE"] = cfg
    args = ["--seed", "21", "--rate", "120", "--duration", "5"]
    if runtime_instance is None:
        args += ["--instance-id", ""]
    sim, sock, ledger = start_sim(work, args)
    extra = 'InstanceId "%s"' % config_instance if config_instance else ""
    conf, out, log = collectd_conf(
        work, plugin_block(runtime_block("main", sock, Interval=1, Timeout=0.8,
                                         NotifySuccess=notify_success)) +
        """
PluginDir "%s"
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  %s
  FlushInterval 1
  Compress false
  %s
</Plugin>""" % (LIBS, options, extra))
    moto.use_credentials()
    cd = start_collectd(work, conf)
    time.sleep(6)

    tap.ok(wait_for(lambda: reads_idle(out), 20, step=0.3),
           "%s: the runtime was drained" % label)
    time.sleep(1.5)  # one more flush
    code, _ = stop(cd, timeout=15)
    tap.eq(code, 0, "%s: collectd exits 0" % label)
    stop(sim)
    led = Ledger(ledger)
    captured = read_jsonl(out)
    recs = covered(captured, led, "main")
    want = [r for r in recs if notify_success or failed(r)]
    tap.ok(len(want) > 20, "%s: %d requests to log" % (label, len(want)))

    snap = led.snapshots[0]
    instance = snap.get("instance_id") or config_instance
    group = "/aws/sagemaker/Endpoints/%s" % snap["endpoint_name"]
    stream = "%s/%s/data-log" % (snap["variant_name"], instance)
    logs = moto.logs()
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    tap.eq(groups, [group], "%s: log group %s" % (label, group))
    streams = [s["logStreamName"] for s in
               logs.describe_log_streams(logGroupName=group)["logStreams"]]
    tap.eq(streams, [stream], "%s: log stream %s" % (label, stream))
    evs = events(logs, group, stream)
    lines = [json.loads(e["message"]) for e in evs]
    got_ids = [l["inference_id"] for l in lines]
    tap.eq(len(got_ids), len(set(got_ids)), "%s: no event twice" % label)
    # Order: chronological; for equal times, as the runtime numbered them.
    want_sorted = sorted(want, key=lambda r: (r["completed_ms"], r["seq"]))
    tap.eq(got_ids, [r["inference_id"] for r in want_sorted],
           "%s: every logged request exactly once, in order (%d)"
           % (label, len(want)))
    tap.ok(all(e["timestamp"] == r["completed_ms"]
               for e, r in zip(evs, want_sorted)),
           "%s: event timestamps are the completion times" % label)
    bad = []
    for l, r in zip(lines, want_sorted):
        exp = {"outcome": r["outcome"], "endpoint_name": snap["endpoint_name"],
               "variant_name": snap["variant_name"], "instance_id": instance,
               "seq": r["seq"], "boot_id": r["boot_id"]}
        if "status_code" in r:
            exp["status_code"] = r["status_code"]
        if "error" in r:
            exp["error"] = r["error"]
        diff = {k: (l.get(k), v) for k, v in exp.items() if l.get(k) != v}
        if ("status_code" in l) != ("status_code" in r) or \
                ("error" in l) != ("error" in r):
            diff["presence"] = sorted(l)
        if diff:
            bad.append((r["seq"], diff))
    tap.ok(not bad, "%s: each line carries outcome, status, error text, "
           "names, boot and seq as the ledger has them" % label, bad[:5])
    text = read_text(log)
    if endpoints != "options":
        source = {"env": ("AWS_ENDPOINT_URL_CLOUDWATCH",
                          "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
                  "config": ("[services local-moto] cloudwatch)",
                             "[services local-moto] cloudwatch_logs)")}
        said = {svc: [l for l in text.splitlines()
                      if "] write_cloudwatch plugin: %s endpoint %s (from "
                      % (svc, moto.url) in l]
                for svc in ("CloudWatch", "CloudWatch Logs")}
        want_lines = [
            said["CloudWatch"] and source[endpoints][0] in said["CloudWatch"][0],
            said["CloudWatch Logs"] and
            source[endpoints][1] in said["CloudWatch Logs"][0]]
        tap.ok(all(want_lines),
               "%s: the log says where each endpoint came from" % label,
               [l for l in text.splitlines() if "endpoint" in l][:4])
    errors = [l for l in text.splitlines() if "[error]" in l]
    tap.ok(not errors, "%s: no errors logged" % label, errors[:5])
    tap.ok(not sanitizer_reports(work), "%s: no sanitizer reports" % label,
           sanitizer_reports(work)[:10])
    moto.stop()
    for k in ENV_KEYS:
        os.environ.pop(k, None)


run("failed requests", False, "from runtime", None)
run("every request, InstanceId from the configuration", True, None,
    "i-0config000000001")
run("endpoints from AWS_ENDPOINT_URL_CLOUDWATCH(_LOGS)", False,
    "from runtime", None, endpoints="env")
run("endpoints from the shared config file's services section", False,
    "from runtime", None, endpoints="config")
tap.done()
