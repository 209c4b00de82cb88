#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sagemaker_async with another writer: Debian's write_prometheus.

The real collectd with sagemaker_async (Totals true), the simulator and
write_prometheus on 127.0.0.1; write_cloudwatch too, against the scripted
fake CloudWatch (tests/integration/fake_cloudwatch.py). The simulator
generates requests for a few seconds and stops; once collectd's reads have
covered the last one, the Prometheus page is scraped over HTTP and each
running total (collectd_sagemaker_async_sagemaker_counter_total, a
counter, so that rate() and increase() work) must equal exactly what the
simulator's ledger says of the requests the reads covered: the six counts,
the 4XX and 5XX errors, and LostRequests (none). write_cloudwatch must
publish nothing of the totals, even with GenericMetrics true: only
SageMaker's metric names (and its own counters) reach the fake.
"""
import os
import re
import time
import urllib.request

from fake_cloudwatch import FakeCloudWatch
from harness import (PLUGIN_DIR, SYSTEM_PLUGIN_DIR, Tap, Workdir,
                     collectd_conf, free_port, listens, plugin_block,
                     read_jsonl, read_text, require_collectd, runtime_block,
                     sanitizer_reports, start_collectd, start_sim, stop,
                     wait_for)
from ledger import COUNTS, Ledger, expected, read_ranges, reads_of

tap = Tap()
require_collectd(tap)
if not os.path.exists(os.path.join(SYSTEM_PLUGIN_DIR, "write_prometheus.so")):
    tap.skip_all("no write_prometheus plugin (collectd-core)")

NAME = "prom"
TOTALS = COUNTS + ["Invocation4XXErrors", "Invocation5XXErrors",
                   "LostRequests"]
METRIC = "collectd_sagemaker_async_sagemaker_counter_total"


def scrape(port):
    """The page's samples: [(name, {label: value}, value)]."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)", line)
        if m:
            labels = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"',
                                     m.group(2)))
            out.append((m.group(1), labels, float(m.group(3))))
    return out, text


work = Workdir("prometheus")
fake = FakeCloudWatch(work)
os.environ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
os.environ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
sim, sock, ledger_path = start_sim(work, ["--seed", "41", "--rate", "80",
                                          "--duration", "6", "--quiet"])
port = free_port()
blocks = "\n".join([
    plugin_block(runtime_block(NAME, sock, Interval=1, Timeout=0.8,
                               Totals=True)),
    'PluginDir "%s"' % SYSTEM_PLUGIN_DIR,
    "LoadPlugin write_prometheus",
    "<Plugin write_prometheus>",
    '  Host "127.0.0.1"',
    '  Port "%d"' % port,
    "</Plugin>",
    'PluginDir "%s"' % PLUGIN_DIR,
    "LoadPlugin write_cloudwatch",
    "<Plugin write_cloudwatch>",
    '  Region "us-east-1"',
    '  Endpoint "%s"' % fake.url,
    "  DataLog false",
    "  FlushInterval 1",
    "  GenericMetrics true",
    "</Plugin>",
])
conf, out, log = collectd_conf(work, blocks)
cd = start_collectd(work, conf)
generated = time.monotonic() + 7  # the simulator's --duration, and 1 s
# The page scraped below must be this collectd's (the port free_port()
# gave could have gone to another test's server since).
if not tap.ok(wait_for(lambda: listens(cd.pid, port), 15, step=0.2),
              "write_prometheus listens on port %d" % port,
              read_text(log)[-2000:]):
    stop(cd)
    tap.bail("write_prometheus is not serving")


def captured():
    """What collectd dispatched, but the totals (whose type instances are
    those of the per-interval counts)."""
    return [v for v in read_jsonl(out) if v.get("type") != "sagemaker_counter"]


def covered():
    """The highest seq the reads covered, and the last one generated."""
    led = Ledger(ledger_path)
    if not led.boots:
        return False
    last = max(led.requests.get(led.boots[-1], {}) or [0])
    got = 0
    for _, r in reads_of(captured(), NAME):
        for boot, first, lst in read_ranges(r):
            if boot == led.boots[-1] and lst is not None:
                got = max(got, lst)
    return time.monotonic() > generated and last > 0 and got >= last


if not tap.ok(wait_for(covered, 30, step=0.2),
              "collectd's reads covered every request the simulator made",
              read_text(log)[-2000:]):
    stop(cd)
    tap.bail("the reads did not catch up")
# One more read, so that the page holds the totals of the last one.
n_reads = len(reads_of(captured(), NAME))
wait_for(lambda: len(reads_of(captured(), NAME)) > n_reads, 5)
samples, page = scrape(port)
wait_for(lambda: fake.datums(), 10)
stop(cd)
stop(sim)

# What the reads covered, from the values' meta data; what it holds, from
# the ledger alone.
led = Ledger(ledger_path)
boot = led.boots[-1]
records = led.requests[boot]
ranges = set()
for _, r in reads_of(captured(), NAME):
    ranges |= {(f, l) for b, f, l in read_ranges(r) if b == boot and f <= l}
seqs = set()
for f, l in ranges:
    seqs.update(range(f, l + 1))
counts, stats = expected([records[s] for s in sorted(seqs) if s in records])
want = dict(counts)
want["Invocation4XXErrors"] = int(stats["Invocation4XXErrors"]["sum"])
want["Invocation5XXErrors"] = int(stats["Invocation5XXErrors"]["sum"])
want["LostRequests"] = len(led.skipped(boot))
tap.ok(len(seqs) > 200 and want["InvocationFailures"] > 0 and
       want["Invocation5XXErrors"] > 0,
       "the ledger has %d requests in the reads' range, failures among them"
       % len(seqs), want)

got = {}
kinds = re.findall(r"^# TYPE %s (\w+)" % METRIC, page, re.M)
tap.eq(kinds, ["counter"], "write_prometheus shows the totals as a counter")
for name, labels, value in samples:
    if name == METRIC and labels.get("sagemaker_async") == NAME:
        got[labels.get("type")] = int(value)
for k in TOTALS:
    tap.eq(got.get(k), want[k], "total %s equals the ledger's" % k)
tap.ok(not set(got) - set(TOTALS), "no other total", sorted(set(got)))

# The per-interval values are there too, as gauges.
gauges = [s for s in samples if s[0] ==
          "collectd_sagemaker_async_sagemaker_count" and
          s[1].get("sagemaker_async") == NAME]
tap.ok(gauges, "the per-interval counts are on the page too (%d series)"
       % len(gauges))

# write_cloudwatch publishes only SageMaker's metric names of
# sagemaker_async's values, even with GenericMetrics (its own counters
# are the only other values here).
names = {d["name"] for d in fake.datums()
         if not d["name"].startswith("write_cloudwatch.")}
known = set(COUNTS) | {"ModelLatency", "RequestDownloadLatency",
                       "ResponseUploadLatency", "TimeInBacklog",
                       "TotalProcessingTime", "Invocation4XXErrors",
                       "Invocation5XXErrors", "ApproximateBacklogSize",
                       "ApproximateBacklogSizePerInstance",
                       "ApproximateAgeOfOldestRequest"}
tap.ok(names and names <= known, "write_cloudwatch published %d metric "
       "names, all SageMaker's: nothing of the totals" % len(names),
       sorted(names - known))
# (write_prometheus of 5.12 logs an [error] about libmicrohttpd's logger
# option at start: its own, and harmless.)
errors = [l for l in read_text(log).splitlines() if "[error]" in l and
          ("sagemaker_async" in l or "write_cloudwatch" in l)]
tap.ok(not errors, "no error from our plugins in collectd's log",
       "\n".join(errors[:5]))
reports = sanitizer_reports(work)
tap.ok(not reports, "no sanitizer reports", "\n".join(reports[:10]))
fake.stop()
tap.done()
