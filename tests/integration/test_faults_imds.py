#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The data log's instance ID from instance metadata that fails, then
answers.

The runtime simulator names no instance (--instance-id ""), write_cloudwatch
has no InstanceId option, so the data log's stream name
(<VariantName>/<instance-id>/data-log) must come from EC2 instance metadata:
the scripted fake CloudWatch serves IMDSv2 on its control port
(AWS_EC2_METADATA_SERVICE_ENDPOINT), answering 500 for the first
IMDS_FAIL seconds, then the instance ID. Meanwhile the events wait in
write_cloudwatch's queue (queue_length-log_events_unnamed), a warning says
why (rate-limited: one per attempt at most, the attempts 1 s apart and
doubling), and once the ID is known every event, those that waited too,
arrives once in the instance's stream with the instance_id in its line.
Nothing is dropped; the metrics are exact against the simulator's ledger
meanwhile.
"""
import time

from faults_common import (Accounting, Ledgers, check_datalog, check_end,
                           check_exact, check_nothing_dropped,
                           datalog_accounting, drain_and_stop, own_counters,
                           start_load, summary, use_fake_credentials,
                           wcw_block, write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import Workdir, read_jsonl, read_text, slow_tap, start_collectd

tap = slow_tap("test_faults_imds")

INSTANCE_ID = "i-0feedface0000001"
IMDS_FAIL = 5
GENERATE = 14
WARNING = "data-log events wait for the instance ID"


def main():
    t0 = time.time()
    work = Workdir("faults-imds")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger = start_load(work, 42, GENERATE, "--instance-id", "")
    conf, out, log = write_conf(work, sock, wcw_block(fake, datalog=True))
    t_fail = fake.set("imds_fail", seconds=IMDS_FAIL, instance_id=INSTANCE_ID)
    cd = start_collectd(work, conf, imds_endpoint=fake.imds_url)
    time.sleep(GENERATE)
    drain_and_stop(tap, cd, sim, out, ledger, "the read plugin read every "
                   "request and the queues emptied", logs=True)

    imds = fake.imds_requests()
    failed = [r for r in imds if r["failing"]]
    answered = [r for r in imds if r["path"].endswith("/instance-id") and
                r["status"] == 200]
    t_known = answered[0]["t"] if answered else None
    tap.ok(failed and answered and len(answered) == 1,
           "instance metadata asked %d times while it failed (the first "
           "%d s), then answered once (%.1f s after it started failing)"
           % (len(failed), IMDS_FAIL, (t_known or t_fail) - t_fail))
    tries = sorted(r["t"] for r in failed if r["method"] == "PUT")
    gaps = [round(b - a, 1) for a, b in zip(tries, tries[1:])]
    captured = read_jsonl(out)
    # Own counters go out after every flush: one of them counts the flushes.
    flushes = [t for t, k, _ in own_counters(captured)
               if k == "derive-requests" and tries and
               tries[0] <= t <= t_fail + IMDS_FAIL]
    # Waits of 1 and 2 s (then 4) leave room for 3 tries in 5 s at most;
    # one per flush would be about 5.
    tap.ok(len(tries) <= 3 and len(tries) < len(flushes),
           "asked again with a growing delay, not at every flush: %d tries "
           "(%s s apart) in %d flushes" % (len(tries), gaps, len(flushes)))

    unnamed = [v for _, k, v in own_counters(captured)
               if k == "queue_length-log_events_unnamed"]
    tap.ok(unnamed and max(unnamed) > 0 and unnamed[-1] == 0,
           "own counters: up to %d events waited for the instance ID, none "
           "at the end" % max(unnamed or [0]))
    text = read_text(log)
    warnings = [l for l in text.splitlines() if WARNING in l]
    tap.ok(1 <= len(warnings) <= len(tries),
           "a warning while instance metadata failed, rate-limited: %d lines "
           "for %d failed tries" % (len(warnings), len(tries)), warnings[:3])
    tap.ok(warnings and "[warning]" in warnings[0] and
           "InstanceId" in warnings[0],
           "the warning says why and names the InstanceId option",
           warnings[:1])
    known = [l for l in text.splitlines()
             if "data log: instance ID %s" % INSTANCE_ID in l]
    tap.eq(len(known), 1, "the log says once which instance ID it uses")

    acc = Accounting(Ledgers([ledger]), [captured], fake.datums())
    dl = datalog_accounting(acc, fake, INSTANCE_ID)
    waited = [k for k in dl.expected
              if t_known and acc.record_time(k) < t_known]
    check_datalog(tap, dl, more="; %d of them were read before the instance "
                  "ID was known and waited" % len(waited))
    tap.ok(len(waited) > 0, "some events waited for the instance ID")
    streams = sorted({(e["group"], e["stream"]) for e in fake.events()})
    tap.eq(streams, [(dl.group, dl.stream)], "one log stream: %s" % dl.stream)
    n, lost, twice = acc.figures()
    tap.ok(n > 0 and lost == 0 and twice == 0,
           "the metrics meanwhile: %s" % summary(n, lost, twice),
           acc.lost_keys()[:10])
    check_exact(tap, acc)
    check_nothing_dropped(tap, captured, logs=True)
    check_end(tap, work, text)
    tap.note("%.1f s in all" % (time.time() - t0))
    fake.stop()


main()
tap.done()
