#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Faults of the CloudWatch endpoint while collectd runs: throttling, 5xx
bursts, an expired token, a hung endpoint, and a shutdown while it hangs.

One real collectd (sagemaker_async reading the runtime simulator,
write_cloudwatch sending to the scripted fake CloudWatch) lives through
the faults one after the other, each followed by a recovery period; the
phases are independent because each ends with everything sent. It runs
with a spool (SpoolDirectory), as a deployment would: batches that fail
their attempts go through it. What the
fake accepted is then held against the simulator's ledger (see
faults_common): for each phase, how many of the requests counted in it
were lost or counted twice (none may be), and over the whole run, every
count and statistic set exactly. The fake's request log shows how the
plugin behaved: at most MaxAttempts requests per send while throttled, one
immediate retry with fresh credentials after an expired token, every hung
request abandoned after Timeout, recovery soon after each fault.

The 2-minute outage is test_faults_outage.py; restarts of collectd and of
the runtime are test_faults_restart.py.
"""
import os
import time

from faults_common import (Accounting, Ledgers, check_end, check_exact,
                           check_nothing_dropped, drained, last_counter,
                           max_in_window, requests_between, start_load,
                           summary, use_fake_credentials, wcw_block,
                           write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import (Workdir, read_jsonl, read_text, slow_tap, start_collectd,
                     stop, wait_for)

tap = slow_tap("test_faults")


FLUSH = 1
TIMEOUT = 2
ATTEMPTS = 5
# As the defaults (5 and 5): a request may take as long as the shutdown.
SHUTDOWN = 2
# The phases, in seconds: each fault, then its recovery period.
WARM = 6
THROTTLE, THROTTLE_AFTER = 10, 8
BURSTS, BURST_LEN, BURST_GAP, BURST_AFTER = 3, 3, 4, 8
TOKEN_AFTER = 7
HANG, HANG_AFTER = 10, 10
GENERATE = WARM + THROTTLE + THROTTLE_AFTER + BURSTS * BURST_GAP + \
    BURST_AFTER + 2 * TOKEN_AFTER + HANG + HANG_AFTER


def main():
    work = Workdir("faults")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger = start_load(work, 31, GENERATE)
    spool = work.file("spool")
    conf, out, log = write_conf(work, sock, wcw_block(
        fake, flush=FLUSH, timeout=TIMEOUT, attempts=ATTEMPTS,
        shutdown=SHUTDOWN, extra=['SpoolDirectory "%s"' % spool]))
    cd = start_collectd(work, conf)
    phases = []  # (name, start, end)

    def phase(name, t0):
        if phases:
            phases[-1] = phases[-1][:2] + (t0,)
        phases.append((name, t0, None))

    def sleep_until(t):
        time.sleep(max(0.0, t - time.time()))

    def first_ok_after(t):
        oks = [p["t"] for p in fake.puts()
               if p["status"] == 200 and p["t"] >= t]
        return min(oks) if oks else None

    t = time.time()
    phase("warm-up", t)
    tap.ok(wait_for(lambda: first_ok_after(t), 10),
           "write_cloudwatch publishes to the fake CloudWatch")
    sleep_until(t + WARM)

    # -------------------------------------------------------- throttling
    t_thr = fake.set("throttle", seconds=THROTTLE)
    phase("throttling", t_thr)
    sleep_until(t_thr + THROTTLE + THROTTLE_AFTER)
    t_thr_end = t_thr + THROTTLE

    # ---------------------------------------------------------- 5xx bursts
    t_5xx = time.time()
    phase("5xx bursts", t_5xx)
    for i in range(BURSTS):
        fake.set("error500", count=BURST_LEN)
        sleep_until(t_5xx + (i + 1) * BURST_GAP)
    sleep_until(t_5xx + BURSTS * BURST_GAP + BURST_AFTER)

    # ------------------------------------------------------ expired token
    t_tok = fake.set("revoke_token")
    phase("expired token", t_tok)
    sleep_until(t_tok + TOKEN_AFTER)
    t_tok2 = fake.set("expire_token", count=3)
    sleep_until(t_tok2 + TOKEN_AFTER)

    # ------------------------------------------------------------- hang
    t_hang = fake.set("hang", seconds=HANG)
    phase("hung endpoint", t_hang)
    sleep_until(t_hang + HANG + HANG_AFTER)
    t_hang_end = t_hang + HANG

    # ------------------------------------------------------------- end
    # Generation is over: wait until the read plugin has read everything
    # and the queue is empty, then shut down while the endpoint hangs.
    phase("after the faults", time.time())
    tap.ok(wait_for(lambda: drained(out, ledger), 30, step=0.5),
           "after the faults the read plugin read every request and the "
           "queue emptied")
    time.sleep(1.5)
    t_end = fake.set("hang")
    wait_for(lambda: fake.state()["hung"] > 0, 10)
    code, took = stop(cd, timeout=30)
    phases[-1] = phases[-1][:2] + (time.time(),)
    fake.release()
    stop(sim)
    tap.eq(code, 0, "collectd exits 0")
    tap.ok(took <= SHUTDOWN + 0.5,
           "shutdown while the endpoint hangs stays within ShutdownTimeout, "
           "the request in flight included (%d s; Timeout %d s): %.1f s"
           % (SHUTDOWN, TIMEOUT, took))

    # ------------------------------------------------------------ checks
    puts = fake.puts()
    creds = [r for r in fake.log() if r["kind"] == "creds"]
    captured = read_jsonl(out)
    acc = Accounting(Ledgers([ledger]), [captured], fake.datums())
    tap.note("%d reads, %d requests expected, %d requests to the fake"
             % (len(acc.reads), len(acc.expected_keys), len(puts)))
    ok_puts = [p for p in puts if p["status"] == 200]
    gz = [p for p in ok_puts if p["encoding"] == "gzip"]
    tap.ok(gz and all(p["bytes"] < 1024 for p in ok_puts
                      if p["encoding"] != "gzip"),
           "Compress: bodies of 1 KiB and more arrive gzipped (%d of %d "
           "accepted requests)" % (len(gz), len(ok_puts)))

    # Throttling: the fault was hit, no retry storm, recovery.
    thr = [p for p in requests_between(puts, t_thr, t_thr_end)
           if p["mode"] == "throttle"]
    tap.ok(len(thr) >= THROTTLE // FLUSH,
           "throttling: %d requests answered ThrottlingException" % len(thr))
    burst = max_in_window([p["t"] for p in thr], 0.999)
    tap.ok(burst <= ATTEMPTS,
           "throttling: at most MaxAttempts (%d) requests in any second "
           "(most: %d): one send at a time, then FlushInterval"
           % (ATTEMPTS, burst))
    rec = first_ok_after(t_thr_end)
    tap.ok(rec is not None and rec - t_thr_end <= FLUSH + 4,
           "throttling: accepted again %.1f s after it stopped"
           % ((rec or 0) - t_thr_end))

    # 5xx bursts: every scripted 500 was answered, each retried.
    e500 = [p for p in puts if p["mode"] == "error500"]
    tap.eq(len(e500), BURSTS * BURST_LEN,
           "5xx bursts: %d requests answered 500 InternalServiceFault"
           % (BURSTS * BURST_LEN))
    after = [p for p in puts if p["t"] > max(p["t"] for p in e500)]
    tap.ok(after and after[0]["status"] == 200,
           "5xx bursts: the request after the last 500 is accepted")

    # Expired token: one refusal, fresh credentials, an immediate retry.
    revoked = [p for p in puts if p["mode"] == "revoked"]
    tap.ok(len(revoked) == 1,
           "expired token: %d request refused with the revoked token"
           % len(revoked))
    if revoked:
        r0 = revoked[0]
        nxt = [p for p in puts if p["t"] > r0["t"]]
        fetched = [c for c in creds if c["t"] > r0["t"] and
                   (not nxt or c["t"] < nxt[0]["t"])]
        tap.ok(fetched and nxt and nxt[0]["token"] == fetched[0]["token"]
               and nxt[0]["token"] != r0["token"] and
               nxt[0]["status"] == 200,
               "expired token: new credentials fetched, the retry carries "
               "the new token and is accepted")
        gap = nxt[0]["t"] - r0["t"] if nxt else 99
        tap.ok(gap < 1.0,
               "expired token: retried at once (%.2f s later)" % gap)
        tap.ok(all(p["token"] != r0["token"] for p in nxt),
               "expired token: the revoked token is never used again")
    exp = [p for p in puts if p["mode"] == "expire_token"]
    tap.eq(len(exp), 3, "expired token: the next 3 requests refused as "
           "expired (whatever the token) were all retried")
    if exp:
        nxt = [p for p in puts if p["t"] > exp[-1]["t"]]
        tap.ok(nxt and nxt[0]["status"] == 200,
               "expired token: and the next one was accepted")

    # Hang: Timeout bounds each attempt; recovery after the release.
    hung = [p for p in requests_between(puts, t_hang, t_hang_end)
            if p["mode"] == "hang"]
    by_client = [p for p in hung if p.get("closed_by") == "client"]
    waits = [p["t_end"] - p["t"] for p in by_client]
    tap.ok(len(hung) >= 2 and len(by_client) >= len(hung) - 1,
           "hung endpoint: %d requests hung, %d abandoned by the plugin"
           % (len(hung), len(by_client)))
    tap.ok(waits and all(TIMEOUT - 0.3 <= w <= TIMEOUT + 0.5 for w in waits),
           "hung endpoint: each abandoned after Timeout (%d s): %.2f to "
           "%.2f s" % (TIMEOUT, min(waits or [0]), max(waits or [0])))
    rec = first_ok_after(t_hang_end)
    tap.ok(rec is not None and rec - t_hang_end <= TIMEOUT + FLUSH + 3,
           "hung endpoint: accepted again %.1f s after the release"
           % ((rec or 0) - t_hang_end))

    # At shutdown, the hung request and what was queued are given up
    # within ShutdownTimeout, spooled for the next start, and said so.
    text = read_text(log)
    files = [f for f in os.listdir(spool) if f.endswith(".spool")]
    at_exit = text[text.find("Exiting normally"):].splitlines()
    tap.ok(files and any("spooled" in l for l in at_exit),
           "shutdown while hanging: what could not be sent is spooled (%d "
           "batch files) and logged" % len(files),
           [l for l in at_exit if "write_cloudwatch" in l][-3:])

    # The ledger: per phase, then the whole run exactly.
    for name, p0, p1 in phases:
        n, lost, twice = acc.figures(p0, p1)
        label = {"throttling": "throttling for %d s" % THROTTLE,
                 "5xx bursts": "5xx bursts (%d x %d requests)"
                 % (BURSTS, BURST_LEN),
                 "expired token": "expired token mid-run (revoked, then "
                 "3 refusals)",
                 "hung endpoint": "hung endpoint for %d s (Timeout %d s)"
                 % (HANG, TIMEOUT)}.get(name, name)
        tap.ok(lost == 0 and twice == 0, "%s: %s"
               % (label, summary(n, lost, twice)),
               acc.lost_keys()[:10])
    check_exact(tap, acc)
    tap.eq(acc.unattributed(), [], "no datum for a second without a read")
    check_nothing_dropped(tap, captured, spool=True)
    tap.ok((last_counter(captured, "derive-retries") or 0) >= len(thr),
           "own counters: retries counted (%s)"
           % last_counter(captured, "derive-retries"))
    tap.ok("PutMetricData succeeds again" in text,
           "the plugin logs when sending succeeds again")
    # Errors belong to the faults: the plugin's reports of failed sends.
    check_end(tap, work, text, allowed=("PutMetricData failed", "out of time"),
              what="no error lines but the plugin's reports of the faults "
              "(none from collectd about a missing plugin context at "
              "shutdown)")
    fake.stop()


main()
tap.done()
