#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Restarts: collectd stopped with SIGTERM and killed with SIGKILL while
CloudWatch and CloudWatch Logs are unreachable, then started again; and
the runtime restarted, its socket removed and created again, while
collectd reads it.

collectd keeps its place across its own restarts with sagemaker_async's
StateFile (the read cursor) and write_cloudwatch's SpoolDirectory (what
could not be sent yet: the metrics and the data log). With SIGTERM
nothing may be lost or counted twice: every request's datapoints arrive
once, and every failed or expired request's data-log event arrives once,
in its endpoint's log group and its instance's stream. A SIGKILL loses
what was only in memory: what was read since the last spill to the spool.
The test measures what it lost and counted twice against the simulator's
ledger and bounds it: every lost request, and every lost event, was read
after the last spill the plugin reported before the kill, and no more
than one read's requests (and events) are counted twice (the StateFile's
guarantee). When collectd refuses StateFile or SpoolDirectory as unknown
options, the two collectd restarts are skipped.

The runtime's restart needs neither option: the old boot's requests that
were read arrive once, those it announced but that were never read are
counted in LostRequests, and the new boot is read from its first request.
"""
import os
import signal
import time

from faults_common import (RATE, Accounting, Ledgers, check_exact,
                           datalog_accounting, datalog_summary, drain_and_stop,
                           drained, kill, last_counter, own_counters,
                           start_load, start_or_refused, summary,
                           use_fake_credentials, wcw_block, write_conf)
from fake_cloudwatch import FakeCloudWatch
from harness import (SIM, Workdir, read_jsonl, read_text, sanitizer_reports,
                     slow_tap, start, stop, wait_for)

tap = slow_tap("test_faults_restart")

FLUSH = 1
SHUTDOWN = 4
WARM = 5
DOWN_BEFORE = 8   # outage seconds before the stop
STOPPED = 4       # seconds collectd is down
DOWN_AFTER = 5    # outage seconds after the restart
AFTER = 6         # generation goes on this long after the outage
NEEDED = ("StateFile", "SpoolDirectory", "MaxRequestsPerSecond")


def collectd_restart(sig):
    """collectd stopped by sig during an outage, started again; returns
    False if this build lacks the options."""
    name = {signal.SIGTERM: "SIGTERM", signal.SIGKILL: "SIGKILL"}[sig]
    work = Workdir("faults-" + name.lower())
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger = start_load(
        work, 33 if sig == signal.SIGTERM else 34,
        WARM + DOWN_BEFORE + STOPPED + DOWN_AFTER + AFTER)
    spool = work.file("spool")
    os.mkdir(spool)
    state = work.file("main.state")
    runs = [Workdir("faults-%s-run1" % name.lower()),
            Workdir("faults-%s-run2" % name.lower())]
    confs = [write_conf(r, sock, wcw_block(
        fake, flush=FLUSH, shutdown=SHUTDOWN, datalog=True,
        extra=['SpoolDirectory "%s"' % spool, "MaxRequestsPerSecond 10"]),
        runtime_opts={"StateFile": state}) for r in runs]

    cd, refused = start_or_refused(runs[0], confs[0][0], confs[0][2], NEEDED,
                                   wait_for)
    if cd is None:
        stop(sim)
        fake.stop()
        return refused
    t0 = time.time()
    tap.ok(wait_for(lambda: any(p["status"] == 200 for p in fake.puts()), 10),
           "%s: write_cloudwatch publishes to the fake CloudWatch" % name)
    time.sleep(max(0, t0 + WARM - time.time()))
    t_out = fake.set("refuse")
    time.sleep(DOWN_BEFORE)
    t_kill = time.time()
    if sig == signal.SIGTERM:
        code, took = stop(cd, timeout=30)
        tap.ok(code == 0 and took <= SHUTDOWN + 1,
               "SIGTERM during the outage: collectd exits 0 in %.1f s "
               "(ShutdownTimeout %d)" % (took, SHUTDOWN))
    else:
        kill(cd, signal.SIGKILL)
    files = [f for f in os.listdir(spool) if f.endswith(".spool")]
    tap.ok(files, "%s: the spool holds what was not sent (%d batch files)"
           % (name, len(files)))
    tap.ok(os.path.exists(state), "%s: the state file exists" % name)
    time.sleep(STOPPED)
    t_restart = time.time()
    cd, refused = start_or_refused(runs[1], confs[1][0], confs[1][2], (),
                                   wait_for)
    time.sleep(DOWN_AFTER)
    t_back = fake.set("ok")
    out2 = confs[1][1]
    drain_and_stop(tap, cd, sim, out2, ledger, "%s: after the restart and "
                   "the outage the read plugin read every request and the "
                   "queues and the spool emptied" % name, logs=True, wait=60,
                   label="%s: restarted" % name)

    captures = [read_jsonl(c[1]) for c in confs]
    leds = Ledgers([ledger])
    acc = Accounting(leds, captures, fake.datums())
    dl = datalog_accounting(acc, fake)
    n, lost, twice = acc.figures()
    partial_ok = ()
    tap.note("%s: %d reads before the stop, %d after; %d requests to the "
             "fake" % (name, sum(r.run == 0 for r in acc.reads),
                       sum(r.run == 1 for r in acc.reads), len(fake.puts())))
    if sig == signal.SIGTERM:
        tap.ok(lost == 0 and twice == 0,
               "SIGTERM during an outage, restarted %d s later: %s"
               % (STOPPED, summary(n, lost, twice)), acc.lost_keys()[:10])
        dn, dlost, dtwice = dl.figures()
        tap.ok(dn > 0 and dlost == 0 and dtwice == 0,
               "SIGTERM: the data log: %s" % datalog_summary(dn, dlost,
                                                             dtwice),
               dl.lost_keys()[:10])
    else:
        # The last spill before the kill: every read up to the own
        # counters dispatched before it was sealed into it.
        sealed_by = last_spill(captures[0], "derive-datums_spooled", t_out)
        after = [k for k in acc.expected_keys
                 if acc.record_time(k) > sealed_by and
                 acc.record_time(k) < t_kill + 1]
        lost_keys = set(acc.lost_keys())
        # The read in progress at the kill is one of the first run's.
        per_read = max((len(r.records) for r in acc.reads if r.run == 0),
                       default=0)
        outside = sorted(lost_keys - set(after))
        tap.ok(not outside and twice <= per_read,
               "SIGKILL during an outage, restarted %d s later: %s (bounds: "
               "lost, the %d read in the %.1f s since the last spill before "
               "the kill; counted twice, one read's %d)"
               % (STOPPED, summary(n, lost, twice), len(after),
                  t_kill - sealed_by, per_read),
               "lost but read before the last spill: %s" % outside[:10])
        # A kill can cut a read's dispatch in two: the value lists that
        # reached the queue before the last spill arrive, the rest is
        # lost (and the read, its cursor not saved, is read again). Only
        # a read of the first run, around the last spill, may be cut.
        partial = acc.partial()
        near = {r.second for r in acc.reads
                if r.run == 0 and r.time >= sealed_by - 1}
        tap.ok(len(partial) <= 1 and set(partial) <= near,
               "SIGKILL: reads cut in two by the kill: %d%s"
               % (len(partial), "".join(
                   " (%s arrived, the rest of its metrics did not)"
                   % ", ".join(v) for v in partial.values())),
               partial)
        partial_ok = [sec for sec in partial if sec in near]
        datalog_after_kill(dl, captures[0], t_out, t_kill)
    tap.eq(dl.bad, [], "%s: every data-log event is a failed or expired "
           "request's, in %s:%s, with instance_id %s, its completion time, "
           "outcome and seq" % (name, dl.group, dl.stream, dl.instance_id))
    tap.eq(dl.unexpected(), [], "%s: no event of a request that was not to "
           "be logged" % name)
    check_exact(tap, acc, name, partial_ok)
    # What the first run read during the outage can only have come back
    # from the spool, after the restart.
    first_run = {r.second for r in acc.reads if r.run == 0 and
                 t_out <= r.time < t_kill}
    replayed = [d for d in fake.datums() if d["t"] >= t_back and
                int(d["ts"]) in first_run]
    tap.ok(replayed, "%s: %d datums of the first run's reads during the "
           "outage arrived from the spool after the restart"
           % (name, len(replayed)))
    left = [f for f in os.listdir(spool) if not f.startswith(".")]
    tap.eq(left, [], "%s: the spool directory is empty at the end" % name)
    errors = [last_counter(c, "derive-spool_errors") for c in captures]
    tap.eq(errors, [0, 0], "%s: own counters: no spool errors in either run"
           % name)
    for i, r in enumerate(runs):
        tap.ok(not sanitizer_reports(r), "%s: no sanitizer reports (run %d)"
               % (name, i + 1), sanitizer_reports(r)[:10])
    tap.note("%s: outage %.0f s to %.0f s, stop at %.0f s, restart at %.0f s"
             % (name, 0, t_back - t_out, t_kill - t_out, t_restart - t_out))
    fake.stop()
    return None


def last_spill(captured, counter, default):
    """The time before which everything read was in the last spill to the
    spool that the own counters reported: the counters dispatched before
    the flush that spooled (that flush sealed what was read until then)."""
    spills = []
    prev_t = None
    last_v = 0
    for t, k, v in own_counters(captured):
        if k != counter:
            continue
        if v > last_v:
            spills.append((prev_t, t))
        last_v = v
        prev_t = t
    return spills[-1][0] if spills and spills[-1][0] else default


def datalog_after_kill(dl, captured, t_out, t_kill):
    """SIGKILL: the data log's events lost were all read after the last
    spill of events before the kill; events counted twice are at most one
    read's (the read repeated because its cursor was not saved)."""
    acc = dl.acc
    sealed_by = last_spill(captured, "derive-log_events_spooled", t_out)
    lost = dl.lost_keys()
    outside = [k for k in lost if acc.record_time(k) <= sealed_by]
    per_read = max((sum(1 for r in rd.records if r["outcome"] != "success")
                    for rd in acc.reads if rd.run == 0), default=0)
    n, nlost, twice = dl.figures()
    at_risk = [k for k in dl.expected
               if sealed_by < acc.record_time(k) < t_kill + 1]
    tap.ok(not outside and twice <= per_read,
           "SIGKILL: the data log: %s (bounds: lost, the %d events read in "
           "the %.1f s since the last spill of events before the kill; "
           "counted twice, one read's %d)"
           % (datalog_summary(n, nlost, twice), len(at_risk),
              t_kill - sealed_by, per_read),
           "lost but read before the last spill: %s" % outside[:10])


def runtime_restart():
    """The runtime is stopped (its socket goes), stays away, and a new one
    (a new boot) creates the socket again."""
    work = Workdir("faults-runtime")
    fake = FakeCloudWatch(work)
    use_fake_credentials(fake)
    sim, sock, ledger1 = start_load(work, 35)
    conf, out, log = write_conf(work, sock, wcw_block(fake, flush=FLUSH))
    cd, _ = start_or_refused(work, conf, log, (), wait_for)
    time.sleep(6)
    stop(sim)
    tap.ok(not os.path.exists(sock),
           "runtime restart: the stopped runtime removed its socket")
    time.sleep(4)
    ledger2 = work.file("sim2.ledger.jsonl")
    sim2 = start([SIM, "--socket", sock, "--ledger", ledger2, "--seed", "36",
                  "--rate", str(RATE), "--duration", "8", "--quiet"],
                 work.file("sim2.log"))
    tap.ok(wait_for(lambda: os.path.exists(sock), 10),
           "runtime restart: the new runtime created the socket again")
    time.sleep(8)
    tap.ok(wait_for(lambda: drained(out, ledger2), 40, step=0.5),
           "runtime restart: the read plugin read every request of the new "
           "boot and the queue emptied")
    time.sleep(1.5)
    code, _ = stop(cd, timeout=30)
    stop(sim2)
    tap.eq(code, 0, "runtime restart: collectd exits 0")
    text = read_text(log)
    lines = [l for l in text.splitlines() if "sagemaker_async" in l and
             "Notification" not in l]
    tap.ok(any("[error]" in l and sock in l for l in lines) and
           any("answers again" in l for l in lines) and
           any("restarted" in l for l in lines),
           "runtime restart: the read plugin logged the missing socket, its "
           "return and the new boot", lines[-6:])

    captured = read_jsonl(out)
    leds = Ledgers([ledger1, ledger2])
    acc = Accounting(leds, [captured], fake.datums())
    boots = [b for b in leds.boots]
    tap.eq(len(boots), 2, "runtime restart: two boots in the ledgers")
    old = boots[0]
    died = len(acc.died.get(old, []))
    lost_reported = sum(v["values"][0] for v in captured
                        if v["kind"] == "value" and
                        v["type_instance"] == "LostRequests")
    tap.eq(lost_reported, died,
           "runtime restart: the %d requests the old runtime announced but "
           "that were never read are counted in LostRequests" % died)
    old_recs = leds.requests.get(old, {})
    unseen = len([s for s in old_recs if s > leds.max_announced(old)])
    n, lost, twice = acc.figures()
    tap.ok(lost == 0 and twice == 0,
           "runtime restarted, socket removed for 4 s and created again: %s "
           "(besides, %d announced by the old runtime but never read, in "
           "LostRequests; %d completed after its last answer, never seen)"
           % (summary(n, lost, twice), died, unseen), acc.lost_keys()[:10])
    new_first = min((s for (b, s) in acc.expected_keys if b == boots[1]),
                    default=None)
    tap.eq(new_first, 1, "runtime restart: the new boot is read from its "
           "first request")
    check_exact(tap, acc, "runtime restart")
    tap.ok(not sanitizer_reports(work), "runtime restart: no sanitizer "
           "reports", sanitizer_reports(work)[:10])
    fake.stop()


for sig in (signal.SIGTERM, signal.SIGKILL):
    refused = collectd_restart(sig)
    if refused:
        name = {signal.SIGTERM: "SIGTERM", signal.SIGKILL: "SIGKILL"}[sig]
        tap.skip("%s during an outage, restarted: requests lost and counted "
             "twice" % name,
             "collectd refuses %s (unknown option): the restart needs "
             "StateFile and SpoolDirectory" % ", ".join(refused))
runtime_restart()
tap.done()
