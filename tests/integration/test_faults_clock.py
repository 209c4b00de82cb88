#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A host clock 10 minutes behind CloudWatch's: the scripted fake
CloudWatch's clock runs 600 s ahead (mode skew), refuses any request
signed more than 5 minutes away from it (400 InvalidSignatureException
"Signature expired: ...", as the services word it) and sends its clock in
every answer's Date header, as the services do.

write_cloudwatch must take the service's time from the refusal's Date,
sign again and go on signing with it: the fake sees the first request(s)
refused, then only requests signed with the corrected time, accepted. The
log says it once. Nothing is lost or counted twice: the metrics are exact
against the simulator's ledger (see faults_common) and every failed or
expired request's data-log event arrives once.
"""
import re
import time

from faults_common import (Accounting, Ledgers, check_datalog, check_end,
                           check_exact, check_nothing_dropped,
                           datalog_accounting, drain_and_stop, start_load,
                           summary, use_fake_credentials, wcw_block,
                           write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import Workdir, read_jsonl, read_text, slow_tap, start_collectd

tap = slow_tap("test_faults_clock")

OFFSET = 600        # the service's clock ahead of this host's, seconds
GENERATE = 12


def main():
    t0 = time.time()
    work = Workdir("faults-clock")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    t_skew = fake.set("skew", offset=OFFSET)
    sim, sock, ledger = start_load(work, 41, GENERATE)
    conf, out, log = write_conf(work, sock, wcw_block(
        fake, datalog=True, extra=['SpoolDirectory "%s"'
                                   % work.file("spool")]))
    cd = start_collectd(work, conf)
    time.sleep(GENERATE)
    drain_and_stop(tap, cd, sim, out, ledger, "the read plugin read every "
                   "request and the queues and the spool emptied", logs=True)

    reqs = [p for p in fake.puts() if p["t"] >= t_skew]
    refused = [p for p in reqs if p["error"] == "InvalidSignatureException"]
    accepted = [p for p in reqs if p["status"] == 200]
    first_ok = min((p["t"] for p in accepted), default=None)
    tap.ok(refused and first_ok is not None and
           all(p["t"] < first_ok for p in refused),
           "the fake refused %d request(s) signed with the host's clock "
           "(signing time %s s from the host's clock), then accepted %d"
           % (len(refused), sorted({round(p["signed_offset"])
                                    for p in refused}), len(accepted)))
    offsets = sorted({round(p["signed_offset"]) for p in accepted})
    tap.ok(accepted and all(abs(p["signed_offset"] - OFFSET) <= 2
                            for p in accepted),
           "every accepted request was signed with the service's time "
           "(%s s ahead of the host's clock)" % offsets)
    others = [p for p in reqs if p["status"] != 200 and p not in refused and
              p["error"] != "ResourceAlreadyExistsException"]
    tap.eq(others, [], "no other refusal")
    by_action = {}
    for p in accepted:
        by_action[p["action"]] = by_action.get(p["action"], 0) + 1
    tap.note("accepted: %s" % by_action)
    tap.ok({"PutMetricData", "PutLogEvents"} <= set(by_action),
           "metrics and the data log both went through the corrected clock")

    text = read_text(log)
    lines = [l for l in text.splitlines()
             if "this host's clock is" in l]
    said = [int(x) for x in re.findall(
        r"this host's clock is (\d+) s behind the service's; signing with "
        r"the service's time from now on", text)]
    tap.ok(len(lines) == 1 and len(said) == 1 and
           abs(said[0] - OFFSET) <= 1,
           "the log says once that the clock is %s s behind" % said, lines)
    tap.ok(lines and "Signature expired" in lines[0],
           "and quotes the service's refusal",
           lines[:1])

    captured = read_jsonl(out)
    leds = Ledgers([ledger])
    acc = Accounting(leds, [captured], fake.datums())
    tap.note("%d reads, %d requests expected, %d requests to the fake"
             % (len(acc.reads), len(acc.expected_keys), len(reqs)))
    n, lost, twice = acc.figures()
    tap.ok(n > 0 and lost == 0 and twice == 0,
           "clock 10 minutes behind the service's: %s"
           % summary(n, lost, twice), acc.lost_keys()[:10])
    check_exact(tap, acc)
    check_datalog(tap, datalog_accounting(acc, fake))
    check_nothing_dropped(tap, captured, spool=True, logs=True)
    check_end(tap, work, text)
    tap.note("%.1f s in all" % (time.time() - t0))
    fake.stop()


main()
tap.done()
