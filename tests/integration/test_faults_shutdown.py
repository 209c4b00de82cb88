#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collectd stopped (SIGTERM) with thousands of datums queued: everything
is sent, or spooled and sent at the next start, exactly once.

A test read plugin (tests/fakes/gauges.c) dispatches 5,000 distinct gauge
series once each; write_cloudwatch publishes them (GenericMetrics) with
FlushInterval 60, so nothing is sent before the stop and all 5,000 wait in
its queue. What the plugin dispatched is known independently: its count
file, the capture plugin's record of every value list, and each value
(series i carries i). What arrived is what the scripted fake CloudWatch
accepted.

1. A healthy endpoint: the shutdown sends all 5,000 in full requests
   (1,000 datums each, PutMetricData's limit), each series once with its
   value, within ShutdownTimeout + Timeout, and nothing is reported unsent.
2. A hung endpoint, with a spool: the shutdown gives up within
   ShutdownTimeout + Timeout, every datum is in the spool files (read back
   here: the header, then the gzipped PutMetricData body) and the log says
   how many; the next start, with the endpoint healthy, sends the spool,
   every series once. Twice: stopped before the first flush (the endpoint
   hangs from the stop on), and stopped while a request of the first
   flush hangs (FlushInterval 2, the endpoint hung from the start). The
   next start sends the spool with no value to write.
3. Two write_cloudwatch blocks, both endpoints hung, no spool: they stop
   together, within one ShutdownTimeout + Timeout.
"""
import os
import re
import time

from faults_common import NS, read_spool, use_fake_credentials, wcw_block
from fake_cloudwatch import FakeCloudWatch
from harness import (TEST_PLUGIN_DIR, Workdir, collectd_conf, read_jsonl,
                     read_text, sanitizer_reports, slow_tap, start_collectd,
                     stop, wait_for)

tap = slow_tap("test_faults_shutdown")
if not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "gauges.so")):
    tap.bail("not built: " + os.path.join(TEST_PLUGIN_DIR, "gauges.so"))

SERIES = 5000
MAX_DATUMS = 1000   # per PutMetricData request
TIMEOUT = 2
SHUTDOWN = 4
MARGIN = 0.5        # collectd's own stop (threads, other plugins)


def gauges_block(count_file):
    return "\n".join(['PluginDir "%s"' % TEST_PLUGIN_DIR, "LoadPlugin gauges",
                      "<Plugin gauges>", "  Series %d" % SERIES,
                      "  Reads 1", '  CountFile "%s"' % count_file,
                      "</Plugin>"])


def wcw(fake, flush, spool=None):
    extra = ["GenericMetrics true", 'Include "^gauges/"']
    if spool:
        extra.append('SpoolDirectory "%s"' % spool)
    return wcw_block(fake, flush=flush, timeout=TIMEOUT, shutdown=SHUTDOWN,
                     extra=extra)


def dispatched(work, out):
    """(count file's number, {series: value} of the gauges captured)."""
    try:
        with open(work.file("dispatched")) as f:
            n = int(f.read())
    except (OSError, ValueError):
        n = None
    vals = {v["type_instance"]: v["values"][0] for v in read_jsonl(out)
            if v["kind"] == "value" and v["plugin"] == "gauges"}
    return n, vals


def queued(work, out):
    """Starts nothing: waits until every series was dispatched and reached
    the write plugins (collectd's write queue drops what it still holds at
    a SIGTERM)."""
    ok = wait_for(lambda: dispatched(work, out)[0] == SERIES and
                  len(dispatched(work, out)[1]) == SERIES, 30, step=0.2)
    time.sleep(1.0)  # the write threads hand each value to both writers
    return ok


def by_series(datums):
    """{series: [value, ...]} of the accepted gauge datums."""
    out = {}
    for d in datums:
        if d["ns"] != NS or not d["name"].startswith("gauges.gauge."):
            continue
        s = d["StatisticValues"]
        out.setdefault(d["name"][len("gauges.gauge."):], []).append(
            (s["SampleCount"], s["Sum"]))
    return out


def check_once(label, got, want):
    """Every series dispatched arrived once with its value, and nothing
    else arrived."""
    twice = sorted(k for k, v in got.items() if len(v) > 1)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(k for k, v in got.items()
                   if k in want and v[0] != (1, want[k]))
    tap.ok(not twice and not missing and not extra and not wrong,
           "%s: %d of %d series arrived, each once with its value (lost %d, "
           "twice %d, unknown %d, wrong value %d)"
           % (label, len(set(got) & set(want)), len(want), len(missing),
              len(twice), len(extra), len(wrong)),
           {"missing": missing[:5], "twice": twice[:5], "extra": extra[:5],
            "wrong": wrong[:5]})


def requests_summary(puts):
    sizes = [p["datums"] for p in puts if p["status"] == 200]
    return sizes, "%d requests of %s datums" % (len(sizes), sizes)


def healthy():
    work = Workdir("faults-shutdown")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    conf, out, log = collectd_conf(
        work, gauges_block(work.file("dispatched")) + "\n" + wcw(fake, 60))
    t0 = time.time()
    cd = start_collectd(work, conf)
    tap.ok(queued(work, out), "healthy: the gauges plugin dispatched %d "
           "series and collectd handed them to the writers" % SERIES)
    n, want = dispatched(work, out)
    before = fake.puts()
    tap.eq(before, [], "healthy: nothing sent before the stop "
           "(FlushInterval 60): all %d datums are queued" % SERIES)
    code, took = stop(cd, timeout=30)
    tap.eq(code, 0, "healthy: collectd exits 0")
    tap.ok(took <= SHUTDOWN + TIMEOUT + MARGIN,
           "healthy: SIGTERM with %d datums queued: collectd exits in %.2f s "
           "(ShutdownTimeout %d + Timeout %d)"
           % (SERIES, took, SHUTDOWN, TIMEOUT))
    puts = fake.puts()
    sizes, text = requests_summary(puts)
    tap.ok(all(p["status"] == 200 for p in puts) and
           all(s <= MAX_DATUMS for s in sizes) and
           len(sizes) == -(-SERIES // MAX_DATUMS),
           "healthy: sent in full requests: %s" % text)
    tap.eq(sum(sizes), n, "healthy: datums accepted by the fake: %d, "
           "dispatched by the gauges plugin (its count file): %d"
           % (sum(sizes), n))
    check_once("healthy", by_series(fake.datums()), want)
    text = read_text(log)
    tap.ok("not sent" not in text, "healthy: the log reports nothing unsent",
           [l for l in text.splitlines() if "not sent" in l][:3])
    tap.ok(not sanitizer_reports(work), "healthy: no sanitizer reports",
           sanitizer_reports(work)[:10])
    tap.note("healthy: %.1f s in all" % (time.time() - t0))
    fake.stop()


def spool_files(spool):
    try:
        return [f for f in os.listdir(spool) if not f.startswith(".")]
    except FileNotFoundError:
        return []


def hung(label, flush):
    """flush 60: stopped before the first flush, the endpoint hung from
    then on; else the endpoint hangs from the start and collectd is
    stopped while a request of the first flush hangs."""
    work = Workdir("faults-shutdown-hung")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    spool = work.file("spool")
    conf, out, log = collectd_conf(
        work, gauges_block(work.file("dispatched")) + "\n" +
        wcw(fake, flush, spool))
    t0 = time.time()
    if flush < 60:
        fake.set("hang")
    cd = start_collectd(work, conf)
    tap.ok(queued(work, out), "%s: the gauges plugin dispatched %d series "
           "and collectd handed them to the writers" % (label, SERIES))
    n, want = dispatched(work, out)
    if flush < 60:
        tap.ok(wait_for(lambda: fake.state()["hung"] > 0, 10),
               "%s: a request of the first flush hangs" % label)
    else:
        fake.set("hang")
    code, took = stop(cd, timeout=30)
    hung_reqs = fake.puts()
    fake.release()
    tap.eq(code, 0, "%s: collectd exits 0" % label)
    tap.ok(took <= SHUTDOWN + TIMEOUT + MARGIN,
           "%s: SIGTERM with %d datums queued: collectd exits in %.2f s "
           "(ShutdownTimeout %d + Timeout %d)"
           % (label, SERIES, took, SHUTDOWN, TIMEOUT))
    tap.ok(hung_reqs and all(p["mode"] == "hang" for p in hung_reqs),
           "%s: %d requests to the endpoint, none answered"
           % (label, len(hung_reqs)))
    batches = read_spool(spool)
    spooled = {}
    for fields, body in batches:
        for d in body["MetricData"]:
            s = d["StatisticValues"]
            spooled.setdefault(d["MetricName"][len("gauges.gauge."):],
                               []).append((s["SampleCount"], s["Sum"]))
    count = sum(len(v) for v in spooled.values())
    tap.ok(batches and
           all(f["version"] == "cw-spool 2" and f["kind"] == "metrics" and
               f["destination"] == NS for f, _ in batches) and
           sum(int(f["items"]) for f, _ in batches) == count,
           "%s: %d spool files, version 2, kind metrics, namespace %s; "
           "their headers count what their bodies hold"
           % (label, len(batches), NS))
    delivered = len(fake.datums())
    tap.eq(count, n - delivered,
           "%s: datums in the spool files: %d; dispatched %d, delivered %d"
           % (label, count, n, delivered))
    check_once(label + ": the spool", spooled, want)
    text = read_text(log)
    said = re.findall(r"shutdown: (\d+) datums of the metrics spooled", text)
    tap.eq([int(x) for x in said], [n - delivered], "%s: the log says how "
           "many were spooled: %s" % (label, said))
    unsent = [l for l in text.splitlines() if "not sent" in l]
    tap.eq(unsent, [], "%s: the log reports nothing unsent" % label)
    tap.ok(not sanitizer_reports(work), "%s: no sanitizer reports (run 1)"
           % label, sanitizer_reports(work)[:10])

    # The next start, the endpoint healthy: the spool goes out, though no
    # plugin gives write_cloudwatch anything to write (its sender thread
    # starts with collectd).
    fake.set("ok")
    run2 = Workdir("faults-shutdown-hung-run2")
    conf2, out2, log2 = collectd_conf(run2, wcw(fake, 1, spool))
    t_start = time.time()
    cd = start_collectd(run2, conf2)
    sent = wait_for(lambda: len(fake.datums()) >= n and
                    not spool_files(spool), 20 if batches else 3, step=0.3)
    t_sent = time.time()
    time.sleep(1.5)  # a flush more: nothing else may come
    code, _ = stop(cd, timeout=30)
    tap.eq(code, 0, "%s: the next start exits 0" % label)
    tap.ok(sent, "%s: the next start sent the spool within %.1f s"
           % (label, t_sent - t_start))
    puts = [p for p in fake.puts() if p["status"] is not None]
    sizes, text = requests_summary(puts)
    tap.ok(sizes and all(s <= MAX_DATUMS for s in sizes),
           "%s: the spool replayed in requests of at most %d datums: %s"
           % (label, MAX_DATUMS, text))
    check_once(label + ": after the restart", by_series(fake.datums()), want)
    tap.eq(spool_files(spool), [], "%s: the spool directory is empty at the "
           "end" % label)
    tap.ok(not sanitizer_reports(run2), "%s: no sanitizer reports (run 2)"
           % label, sanitizer_reports(run2)[:10])
    tap.note("%s: %.1f s in all" % (label, time.time() - t0))
    fake.stop()


def two_blocks():
    """Two <Plugin write_cloudwatch> blocks, both endpoints hung, no
    spool: the blocks stop together, so collectd exits within one
    ShutdownTimeout + Timeout, not two; each says what it did not send."""
    work = Workdir("faults-shutdown-two")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    # The second block: the same, in a namespace of its own.
    second = "\n".join(l for l in wcw(fake, 60).splitlines()
                       if not l.startswith(("PluginDir", "LoadPlugin")))
    second = second.replace('Namespace "%s"' % NS, 'Namespace "%s/second"' % NS)
    conf, out, log = collectd_conf(
        work, gauges_block(work.file("dispatched")) + "\n" + wcw(fake, 60) +
        "\n" + second)
    cd = start_collectd(work, conf)
    tap.ok(queued(work, out), "two blocks: the gauges plugin dispatched %d "
           "series and collectd handed them to the writers" % SERIES)
    n, _ = dispatched(work, out)
    fake.set("hang")
    code, took = stop(cd, timeout=40)
    fake.release()
    tap.eq(code, 0, "two blocks: collectd exits 0")
    tap.ok(took <= SHUTDOWN + TIMEOUT + MARGIN,
           "two blocks, both endpoints hung: collectd exits in %.2f s "
           "(one ShutdownTimeout %d + Timeout %d; one after the other would "
           "take twice that)" % (took, SHUTDOWN, TIMEOUT))
    text = read_text(log)
    said = sorted(re.findall(r"\((%s(?:/second)?)\): shutdown: (\d+) datums "
                             r"of the metrics not sent \(no SpoolDirectory\)"
                             % re.escape(NS), text))
    tap.eq(said, [(NS, str(n)), (NS + "/second", str(n))],
           "two blocks: each logs its %d datums not sent: %s" % (n, said))
    tap.ok(not sanitizer_reports(work), "two blocks: no sanitizer reports",
           sanitizer_reports(work)[:10])
    fake.stop()


healthy()
hung("hung before the first flush", 60)
hung("hung during the first flush", 2)
two_blocks()
tap.done()
