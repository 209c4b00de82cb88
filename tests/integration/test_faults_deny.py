#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Refusals that say "not now" and "not you": AccessDenied for a while
(an IAM policy being fixed), then throttling with a Retry-After header.

The scripted fake CloudWatch denies CloudWatch Logs from the start for
START_DENY seconds (so that the log group and stream cannot be created:
the first PutLogEvents allowed finds no group), later both services for
DENY seconds (CloudWatch: 400 AccessDenied, CloudWatch Logs: 400
AccessDeniedException, each naming the action, as the services do), then
accepts again; later it throttles for THROTTLE seconds with "Retry-After:
RETRY_AFTER". collectd runs without a spool, so what cannot be sent waits
in memory.

While denied, write_cloudwatch keeps everything (a policy may be fixed at
any time), probes with one request per flush instead of retrying, and
says what permission the identity needs (cloudwatch:PutMetricData,
logs:PutLogEvents), once per streak; then it says it succeeds again and
sends what waited, creating the group and stream it could not create
before. While throttled, it never asks again sooner than the service
said. Nothing is dropped: the metrics are exact against the
simulator's ledger (see faults_common) and every failed or expired
request's data-log event arrives once.
"""
import time

from faults_common import (Accounting, Ledgers, check_datalog, check_end,
                           check_exact, check_nothing_dropped,
                           datalog_accounting, drain_and_stop, last_counter,
                           start_load, summary, use_fake_credentials,
                           wcw_block, write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import (Workdir, read_jsonl, read_text, slow_tap, start_collectd,
                     wait_for)

tap = slow_tap("test_faults_deny")

FLUSH = 1
START_DENY = 6
WARM = 5
DENY, DENY_AFTER = 10, 6
THROTTLE, RETRY_AFTER, THROTTLE_AFTER = 5, 2, 6
GENERATE = START_DENY + WARM + DENY + DENY_AFTER + THROTTLE + THROTTLE_AFTER
PERMISSIONS = {"PutMetricData": "cloudwatch:PutMetricData",
               "PutLogEvents": "logs:PutLogEvents"}
STREAMS = {"PutMetricData": "metrics", "PutLogEvents": "data log"}


def main():
    t0 = time.time()
    work = Workdir("faults-deny")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger = start_load(work, 43, GENERATE)
    conf, out, log = write_conf(work, sock, wcw_block(fake, flush=FLUSH,
                                                      datalog=True))
    t_start_deny = fake.set("deny", seconds=START_DENY, service="logs")
    cd = start_collectd(work, conf)
    t_start_deny_end = t_start_deny + START_DENY
    tap.ok(wait_for(lambda: [p for p in fake.puts(action="PutLogEvents")
                             if p["status"] == 200], START_DENY + 15),
           "write_cloudwatch publishes metrics and the data log")
    time.sleep(max(0, t0 + START_DENY + WARM - time.time()))

    t_deny = fake.set("deny", seconds=DENY)
    time.sleep(DENY + DENY_AFTER)
    t_deny_end = t_deny + DENY
    t_thr = fake.set("throttle_after", seconds=THROTTLE,
                     retry_after=RETRY_AFTER)
    time.sleep(THROTTLE + THROTTLE_AFTER)
    t_thr_end = t_thr + THROTTLE
    drain_and_stop(tap, cd, sim, out, ledger, "the read plugin read every "
                   "request and the queues emptied", logs=True)

    puts = fake.puts()
    text = read_text(log)
    captured = read_jsonl(out)

    # Denied from the start: the group and stream could not be created;
    # once allowed, PutLogEvents finds no group, and they are created.
    logs = [p for p in puts if p["service"] == "logs"]
    n_first = next((i for i, p in enumerate(logs) if p["mode"] != "deny"),
                   len(logs))
    first, later = logs[:n_first], logs[n_first:n_first + 4]
    tap.ok({p["action"] for p in first} ==
           {"CreateLogGroup", "CreateLogStream", "PutLogEvents"} and
           all(p["t"] < t_start_deny_end + 0.5 for p in first),
           "CloudWatch Logs denied from the start: CreateLogGroup, "
           "CreateLogStream and PutLogEvents refused (%d requests)"
           % len(first))
    tap.eq([(p["action"], p["status"], p["error"]) for p in later],
           [("PutLogEvents", 400, "ResourceNotFoundException"),
            ("CreateLogGroup", 200, None),
            ("CreateLogStream", 200, None),
            ("PutLogEvents", 200, None)],
           "then PutLogEvents found no log group, the plugin created the "
           "group and the stream and sent the events that waited")
    anyway = [l for l in text.splitlines() if "trying PutLogEvents anyway"
              in l]
    tap.ok(anyway and "logs:CreateLogGroup" in anyway[0],
           "the refused creation was logged with the service's message",
           anyway[:2])

    # Denied: probed once per flush, the permission named once per streak
    # (the data log's two), then recovery.
    for action in ("PutMetricData", "PutLogEvents"):
        denied = [p for p in puts if p["action"] == action and
                  p["mode"] == "deny" and p["t"] >= t_deny]
        tap.ok(denied and len(denied) <= DENY / FLUSH + 2,
               "denied for %d s: %d %s requests refused: one probe per "
               "flush, no retries" % (DENY, len(denied), action))
        streaks = 2 if action == "PutLogEvents" else 1
        lines = [l for l in text.splitlines()
                 if "%s denied" % action in l]
        tap.ok(len(lines) == streaks and
               all("[error]" in l and "the identity needs the permission %s"
                   % PERMISSIONS[action] in l and "kept for later" in l
                   for l in lines),
               "the error names %s and says what is kept, once per streak "
               "of denials (%d lines)" % (PERMISSIONS[action], len(lines)),
               lines[:3])
        again = [l for l in text.splitlines() if "%s succeeds again for the "
                 "%s after" % (action, STREAMS[action]) in l]
        tap.ok(len(again) == streaks, "and then that %s succeeds again "
               "(%d lines)" % (action, len(again)), again[:3])
        ok_after = [p["t"] for p in puts if p["action"] == action and
                    p["status"] == 200 and p["t"] >= t_deny_end]
        tap.ok(ok_after and ok_after[0] - t_deny_end <= FLUSH + 2,
               "%s accepted again %.1f s after the denial ended"
               % (action, (ok_after or [99 + t_deny_end])[0] - t_deny_end))

    # Throttled with Retry-After: never sooner than the service said.
    thr = [p for p in puts if p["mode"] == "throttle_after"]
    soon = []
    for p in thr:
        nxt = [q for q in puts if q["action"] == p["action"] and
               q["t"] > p["t"]]
        if nxt and nxt[0]["t"] - p["t_end"] < RETRY_AFTER - 0.05:
            soon.append((p["action"], round(nxt[0]["t"] - p["t_end"], 2)))
    tap.ok(thr and not soon,
           "throttled for %d s with Retry-After %d: %d requests throttled, "
           "none asked again within %d s" % (THROTTLE, RETRY_AFTER, len(thr),
                                             RETRY_AFTER), soon)
    ok_after = [p["t"] for p in puts if p["status"] == 200 and
                p["t"] >= t_thr_end]
    tap.ok(ok_after and ok_after[0] - t_thr_end <= RETRY_AFTER + FLUSH + 1,
           "accepted again %.1f s after the throttling ended"
           % ((ok_after or [99 + t_thr_end])[0] - t_thr_end))
    tap.ok((last_counter(captured, "derive-retries") or 0) +
           (last_counter(captured, "derive-log_retries") or 0) >= 1,
           "own counters: the retries counted (%s metrics, %s data log)"
           % (last_counter(captured, "derive-retries"),
              last_counter(captured, "derive-log_retries")))

    # Nothing dropped, everything once.
    leds = Ledgers([ledger])
    acc = Accounting(leds, [captured], fake.datums())
    tap.note("%d reads, %d requests expected, %d requests to the fake"
             % (len(acc.reads), len(acc.expected_keys), len(puts)))
    n, lost, twice = acc.figures(t_deny, t_deny_end)
    tap.ok(n > 0 and lost == 0 and twice == 0,
           "denied for %d s: %s" % (DENY, summary(n, lost, twice)),
           acc.lost_keys()[:10])
    n, lost, twice = acc.figures(t_thr, t_thr_end)
    tap.ok(n > 0 and lost == 0 and twice == 0,
           "throttled for %d s with Retry-After %d: %s"
           % (THROTTLE, RETRY_AFTER, summary(n, lost, twice)),
           acc.lost_keys()[:10])
    n, lost, twice = acc.figures()
    tap.ok(lost == 0 and twice == 0, "the whole run: %s"
           % summary(n, lost, twice), acc.lost_keys()[:10])
    check_exact(tap, acc)
    check_datalog(tap, datalog_accounting(acc, fake))
    check_nothing_dropped(tap, captured, logs=True)
    check_end(tap, work, text, allowed=("denied", "failed"),
              what="no error logged but the refusals'")
    tap.note("%.1f s in all" % (time.time() - t0))
    fake.stop()


main()
tap.done()
