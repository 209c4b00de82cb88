#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A CloudWatch outage: for SM_FAULT_OUTAGE_SECONDS (120 by default) the
endpoint refuses connections (the fake closes its listening socket and
every open connection), then comes back on the same port.

The real collectd keeps reading the runtime simulator throughout. What the
fake accepted is held against the simulator's ledger (see faults_common):
none of the requests counted during the outage, or before or after it,
may be lost or counted twice, and every count and statistic set must be
exact. The outage must not become a retry storm (the retry budget: 500
tokens, 5 per retry, so at most 100 retries), the failure is logged at
growing intervals with a line when sending succeeds again, and the backlog
goes out oldest first.

With a build that has the spool (SpoolDirectory) and the request rate
limit (MaxRequestsPerSecond), the outage runs with both: the datums that
could not be sent spill to the spool, are replayed from it, and the
replay never exceeds the rate. Without them (collectd refuses the
options), the outage runs on the in-memory queue and those checks are
skipped.
"""
import os
import re
import time

from faults_common import (Accounting, Ledgers, check_exact,
                           check_nothing_dropped, counter_at, drain_and_stop,
                           last_counter, max_in_window, start_load,
                           start_or_refused, summary, use_fake_credentials,
                           wcw_block, write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import (Workdir, read_jsonl, read_text, sanitizer_reports,
                     slow_tap, wait_for)

tap = slow_tap("test_faults_outage")

OUTAGE = int(os.environ.get("SM_FAULT_OUTAGE_SECONDS", "120"))
FLUSH = 1
WARM = 6
AFTER = 10            # generation goes on this long after the outage
MAX_RPS = 10
RETRY_BUDGET = 500 // 5
SPOOL_OPTIONS = ("SpoolDirectory", "MaxRequestsPerSecond")


def main():
    work = Workdir("faults-outage")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger = start_sim_for(work)
    spool = work.file("spool")
    os.mkdir(spool)
    conf, out, log = write_conf(work, sock, wcw_block(
        fake, flush=FLUSH, extra=['SpoolDirectory "%s"' % spool,
                                  "MaxRequestsPerSecond %d" % MAX_RPS]))
    cd, refused = start_or_refused(work, conf, log, SPOOL_OPTIONS, wait_for)
    with_spool = cd is not None
    if not with_spool:
        tap.note("this build refuses %s: the outage runs on the in-memory "
                 "queue" % ", ".join(refused))
        os.rename(log, log + ".refused")
        conf, out, log = write_conf(work, sock, wcw_block(fake, flush=FLUSH))
        cd, _ = start_or_refused(work, conf, log, (), wait_for)
    t_start = time.time()
    tap.ok(wait_for(lambda: any(p["status"] == 200 for p in fake.puts()), 10),
           "write_cloudwatch publishes to the fake CloudWatch")
    time.sleep(max(0, t_start + WARM - time.time()))

    t_out = fake.set("refuse", seconds=OUTAGE)
    # Halfway, the queue (or the spool) holds the outage so far.
    time.sleep(OUTAGE / 2)
    mid = read_jsonl(out)
    time.sleep(max(0, t_out + OUTAGE - time.time()))
    t_back = wait_for(lambda: fake.state()["mode"] == "ok" and time.time(), 5)
    time.sleep(AFTER)

    t_done = drain_and_stop(tap, cd, sim, out, ledger, "after the outage the "
                            "read plugin read every request and the backlog "
                            "was sent", wait=60)

    puts = fake.puts()
    captured = read_jsonl(out)
    acc = Accounting(Ledgers([ledger]), [captured], fake.datums())
    tap.note("%d reads, %d requests expected, %d requests to the fake"
             % (len(acc.reads), len(acc.expected_keys), len(puts)))

    during = [p for p in puts if t_out + 0.2 < p["t"] < t_back - 0.2]
    tap.eq(during, [], "no request reached the endpoint during the outage")
    q_mid = counter_at(mid, "queue_length-datums", time.time()) or 0
    s_mid = counter_at(mid, "queue_length-spool_datums", time.time()) or 0
    tap.ok(q_mid + s_mid > 0,
           "halfway through, %d datums wait in the queue and %d in the spool"
           % (q_mid, s_mid))
    r0 = counter_at(captured, "derive-retries", t_out) or 0
    r1 = counter_at(captured, "derive-retries", t_back) or 0
    n0 = counter_at(captured, "derive-requests", t_out) or 0
    n1 = counter_at(captured, "derive-requests", t_back) or 0
    tap.ok(r1 - r0 <= RETRY_BUDGET,
           "no retry storm: %d retries in %d s (the retry budget allows %d)"
           % (r1 - r0, OUTAGE, RETRY_BUDGET))
    tap.ok(n1 - n0 <= OUTAGE / FLUSH + RETRY_BUDGET + 2,
           "%d connection attempts in %d s: one send per FlushInterval plus "
           "the retries" % (n1 - n0, OUTAGE))

    text = read_text(log)
    errors = [l for l in text.splitlines()
              if "[error]" in l and "write_cloudwatch" in l and
              log_time(l) is not None and t_out <= log_time(l) <= t_back + 1]
    tap.ok(errors and re.search(r"[Cc]onnect|refused", errors[0]),
           "the failure is logged: %s"
           % (errors[0].split("): ", 1)[-1] if errors else None))
    tap.ok(len(errors) <= 12,
           "and repeated at growing intervals, not every send (%d lines)"
           % len(errors))
    tap.ok("PutMetricData succeeds again" in text,
           "the plugin logs when sending succeeds again")

    # After the outage: oldest first, within the rate.
    replay = [p for p in puts if p["t"] >= t_back and p["t"] <= t_done]
    by_req = {}
    for d in fake.datums():
        by_req.setdefault(d["req"], []).append(d["ts"])
    order = [ts for p in replay if p["status"] == 200
             for ts in by_req.get(p["n"], [])]
    back = [(i, a, b) for i, (a, b) in enumerate(zip(order, order[1:]))
            if b < a]
    tap.ok(not back, "the backlog is sent oldest first (%d datums in %d "
           "requests)" % (len(order), len(replay)), back[:5])
    first = min((p["t"] for p in replay if p["status"] == 200), default=None)
    tap.ok(first is not None and first - t_back <= FLUSH + 2,
           "accepted again %.1f s after the endpoint came back"
           % ((first or 99) - t_back))
    if with_spool:
        # Paced requests are 1/R apart: R + 1 of them span exactly one
        # second. A burst would put them milliseconds apart.
        times = sorted(p["t"] for p in replay)
        busiest = max_in_window(times, 1.0)
        closest = min((b - a for a, b in zip(times, times[1:])), default=1)
        tap.ok(len(times) > MAX_RPS and busiest <= MAX_RPS + 1 and
               closest >= 0.5 / MAX_RPS,
               "the replay keeps to MaxRequestsPerSecond %d: %d requests, "
               "at most %d in any second, never two within %d ms (closest: "
               "%d ms)" % (MAX_RPS, len(times), busiest, 500 / MAX_RPS,
                           closest * 1000))
        spooled = last_counter(captured, "derive-datums_spooled", 0)
        tap.ok(spooled > 0, "own counters: %d datums went through the spool"
               % spooled)
        left = [f for f in os.listdir(spool) if not f.startswith(".")]
        tap.eq(left, [], "the spool directory is empty at the end")
        tap.eq(last_counter(captured, "derive-spool_errors"), 0,
               "own counters: no spool errors")
    else:
        for what in ("the replay keeps to MaxRequestsPerSecond",
                     "own counters: datums went through the spool",
                     "the spool directory is empty at the end",
                     "own counters: no spool errors"):
            tap.skip(what, "this build has no %s" % " or ".join(refused))

    n, lost, twice = acc.figures(t_out, t_back)
    tap.ok(lost == 0 and twice == 0,
           "%d-second outage (connection refused): %s"
           % (OUTAGE, summary(n, lost, twice)), acc.lost_keys()[:10])
    n, lost, twice = acc.figures()
    tap.ok(lost == 0 and twice == 0, "the whole run: %s"
           % summary(n, lost, twice), acc.lost_keys()[:10])
    check_exact(tap, acc)
    tap.eq(acc.unattributed(), [], "no datum for a second without a read")
    check_nothing_dropped(tap, captured, spool=with_spool)
    tap.ok(not sanitizer_reports(work), "no sanitizer reports",
           sanitizer_reports(work)[:10])
    fake.stop()


def start_sim_for(work):
    return start_load(work, 32, WARM + OUTAGE + AFTER)


def log_time(line):
    """The epoch time of a logfile line's "[YYYY-MM-DD HH:MM:SS]"."""
    m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]", line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))


main()
tap.done()
