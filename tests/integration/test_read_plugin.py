#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sagemaker_async in the real collectd daemon against the runtime
simulator: every value it dispatched is compared with the simulator's
ledger.

Run 1: one runtime under steady load, read in small pages over chunked
responses, restarted (new boot_id) half-way. Run 2: two <Runtime> blocks
in one daemon, one of them fed faster than the plugin may read, so the
runtime's ring overflows.

For every read the plugin tags its counts and statistic sets with the
boot and the seq range they cover; the test recomputes them from the
ledger's records with runtime-api.md's mapping (ledger.py) and requires
exact equality. Across reads, ranges must not overlap (nothing counted
twice), and every request the runtime announced is either covered or
counted in LostRequests (nothing lost silently).
"""
import os
import signal
import time
from collections import defaultdict

from harness import (Tap, Workdir, plugin_block, read_jsonl, read_text,
                     require_collectd, runtime_block, sanitizer_reports,
                     start_collectd, start_sim, stop, wait_for, collectd_conf)
from ledger import (COUNTS, GAUGES, READ_KEYS, STATS, Ledger,
                    compare_reads, failed)
from ledger import reads_of as ledger_reads_of

PLUGIN = "sagemaker_async"
tap = Tap()
require_collectd(tap)


def reads_of(captured, instance):
    """The value lists of one runtime, one dict per read, oldest first."""
    return [r for _, r in ledger_reads_of(captured, instance)]


def caught_up(capture_path, ledger_path, instance):
    """True once a read of instance covered the ledger's last request."""
    led = Ledger(ledger_path)
    if not led.boots or led.boots[-1] not in led.requests:
        return False
    boot = led.boots[-1]
    last = max(led.requests[boot])
    for r in reads_of(read_jsonl(capture_path), instance):
        c = r.get("InvocationsProcesssed")
        if c and c["meta"].get("sagemaker:boot_id") == boot and \
                c["meta"].get("sagemaker:seq_last") == last:
            return True
    return False


def check_runtime(label, captured, led, instance, interval, expect_lost):
    reads = reads_of(captured, instance)
    tap.ok(len(reads) >= 3, "%s: %d reads dispatched" % (label, len(reads)))

    bad = [sorted(set(r) ^ READ_KEYS) for r in reads if set(r) != READ_KEYS]
    tap.ok(not bad, "%s: every read dispatched the %d value lists, once each"
           % (label, len(READ_KEYS)), bad[:3])
    snap0 = led.snapshots[0] if led.snapshots else {}
    tap.ok(all(v["interval"] == interval for r in reads for v in r.values()),
           "%s: values carry the runtime's interval" % label)
    tap.ok(all(v["meta"].get("sagemaker:endpoint_name") == snap0.get("endpoint_name")
               and v["meta"].get("sagemaker:variant_name") == snap0.get("variant_name")
               and v["meta"].get("sagemaker:instance_id") == snap0.get("instance_id")
               for r in reads for v in r.values()),
           "%s: endpoint, variant and instance ID from the snapshot" % label)

    # Per read: exact counts and statistic sets of the records it covers.
    skipped = {}  # boot -> seqs the runtime said were gone

    def gone(boot):
        return skipped.setdefault(boot, led.skipped(boot))

    spans, mismatches, lost_dispatched = compare_reads(
        reads, lambda boot, s: led.requests.get(boot, {}).get(s), gone)
    ranges = defaultdict(list)  # boot -> [(first, last)]
    for sp in spans:
        ranges[sp.boot].append((sp.first, sp.last))
    tap.ok(not mismatches,
           "%s: every read's 6 counts and 7 statistic sets equal the ledger's "
           "records of its seq range exactly" % label,
           "\n".join(map(str, mismatches[:10])))

    # Across reads: no overlap; covered + lost = announced.
    overlap = []
    covered = {}
    for boot, rs in ranges.items():
        rs.sort()
        for a, b in zip(rs, rs[1:]):
            if b[0] <= a[1]:
                overlap.append((boot, a, b))
        gone = skipped.setdefault(boot, led.skipped(boot))
        covered[boot] = sum(1 for a, b in rs for s in range(a, b + 1)
                            if s not in gone)
    tap.ok(not overlap, "%s: no request counted twice" % label, overlap[:5])

    announced = 0
    unknowable = 0
    seen_boots = [b for b in led.boots if b in led.requests or b in covered]
    first_boot = snap0.get("boot_id")
    for boot in seen_boots:
        start = snap0["next_seq"] if boot == first_boot else 1
        top = led.max_announced(boot)
        announced += max(0, top - start + 1)
        unknowable += sum(1 for s in led.requests.get(boot, {}) if s > top)
        outside = [(a, b) for a, b in ranges.get(boot, []) if a < start or b > top]
        tap.ok(not outside, "%s: boot %s: ranges within what the runtime "
               "announced (%d..%d)" % (label, boot[:8], start, top), outside)
    total_covered = sum(covered.values())
    tap.eq(total_covered + lost_dispatched, announced,
           "%s: covered (%d) + LostRequests (%d) = requests announced after "
           "the first read (%d)" % (label, total_covered, lost_dispatched,
                                    announced))
    if expect_lost:
        gone = sum(len(led.skipped(b)) for b in seen_boots)
        tap.ok(lost_dispatched > 0, "%s: the ring overflowed and LostRequests "
               "says by how much (%d)" % (label, lost_dispatched))
        tap.eq(lost_dispatched, gone, "%s: LostRequests equals the seqs the "
               "runtime's pages said were gone" % label)
    tap.note("%s: %d requests covered, %d lost and counted, %d completed by a "
             "boot after its last announcement (unknowable)"
             % (label, total_covered, lost_dispatched, unknowable))

    # Zeros when idle: the last read came after the load stopped.
    last = reads[-1]
    tap.ok(all(last[k]["values"][0] == 0 for k in COUNTS) and
           all(last[k]["values"][0] == 0 for k in STATS),
           "%s: an idle read dispatches zeros, not silence" % label)

    # Gauges: each read's three equal one snapshot the runtime served.
    snaps = [(s["backlog_size"], s["backlog_size"] / s["instance_count"],
              s["oldest_request_age_ms"] / 1000.0) for s in led.snapshots]
    unmatched = []
    j = 0
    for r in reads:
        g = tuple(r[k]["values"][0] for k in GAUGES)
        while j < len(snaps) and snaps[j] != g:
            j += 1
        if j == len(snaps):
            unmatched.append(g)
            j = 0
    tap.ok(not unmatched, "%s: every read's backlog gauges equal a snapshot "
           "served, in order" % label, unmatched[:5])
    tap.ok(any(r["ApproximateBacklogSize"]["values"][0] > 0 for r in reads),
           "%s: the backlog moved" % label)

    # Notifications: one per failed or expired request covered.
    notifs = [n for n in captured if n["kind"] == "notification" and
              n["plugin"] == PLUGIN and n["plugin_instance"] == instance]
    want = {}
    for boot, rs in ranges.items():
        for a, b in rs:
            for s in range(a, b + 1):
                if s in skipped[boot]:
                    continue
                rec = led.requests[boot].get(s)
                if rec is not None and failed(rec):
                    want[(boot, s)] = rec
    got = defaultdict(int)
    wrong = []
    for n in notifs:
        m = n["meta"]
        key = (m.get("sagemaker:boot_id"), m.get("sagemaker:seq"))
        got[key] += 1
        rec = want.get(key)
        if rec is None:
            continue
        exp = {"sagemaker:inference_id": rec["inference_id"],
               "sagemaker:outcome": rec["outcome"],
               "sagemaker:endpoint_name": snap0["endpoint_name"],
               "sagemaker:variant_name": snap0["variant_name"],
               "sagemaker:instance_id": snap0["instance_id"],
               "sagemaker:received_ms": rec["received_ms"],
               "sagemaker:completed_ms": rec["completed_ms"]}
        if "status_code" in rec:
            exp["sagemaker:status_code"] = rec["status_code"]
        if "error" in rec:
            exp["sagemaker:error"] = rec["error"]
        diff = {k: (m.get(k), v) for k, v in exp.items() if m.get(k) != v}
        if "status_code" not in rec and "sagemaker:status_code" in m:
            diff["status_code"] = (m["sagemaker:status_code"], None)
        if rec["inference_id"] not in n["message"]:
            diff["message"] = n["message"]
        if diff:
            wrong.append((key, diff))
    tap.ok(len(want) > 0, "%s: %d failed or expired requests to report"
           % (label, len(want)))
    tap.eq(sorted(k for k in got if k in want), sorted(want),
           "%s: a notification for every failed or expired request" % label)
    tap.ok(all(c == 1 for c in got.values()) and set(got) <= set(want),
           "%s: none twice, none for a success or an unread request" % label,
           [k for k, c in got.items() if c != 1 or k not in want][:5])
    tap.ok(not wrong, "%s: each carries the inference ID, outcome, status, "
           "error text, endpoint, variant and instance" % label, wrong[:5])


def run_restart():
    work = Workdir("read1")
    sim, sock, ledger = start_sim(work, [
        "--seed", "42", "--rate", "400", "--duration", "7", "--chunked",
        "random", "--mix", "success=0.8,model_error=0.06,download_failed=0.03,"
        "upload_failed=0.03,expired=0.04,timeout=0.02,internal_error=0.02"])
    conf, out, log = collectd_conf(work, plugin_block(runtime_block(
        "main", sock, Interval=1, Timeout=0.8, PageSize=37)))
    cd = start_collectd(work, conf)
    time.sleep(3.5)
    os.kill(sim.pid, signal.SIGUSR1)  # the runtime restarts: new boot_id
    time.sleep(4)
    ok = wait_for(lambda: caught_up(out, ledger, "main"), 20, step=0.25)
    tap.ok(ok, "run 1: the plugin caught up with the ledger")
    time.sleep(2.2)  # an idle read or two after the load stopped
    code, took = stop(cd)
    tap.eq(code, 0, "run 1: collectd exits 0 on SIGTERM")
    tap.ok(took < 3, "run 1: and stops promptly (%.2f s)" % took)
    stop(sim)
    led = Ledger(ledger)
    tap.eq(len(led.boots), 2, "run 1: the runtime restarted once")
    captured = read_jsonl(out)
    check_runtime("run 1", captured, led, "main", 1.0, expect_lost=False)
    text = read_text(log)
    tap.ok("restarted" in text, "run 1: the restart is logged")
    errors = [l for l in text.splitlines() if "[error]" in l]
    tap.ok(not errors, "run 1: no errors logged", errors[:5])
    tap.ok(not sanitizer_reports(work), "run 1: no sanitizer reports",
           sanitizer_reports(work)[:10])


def run_overflow():
    work = Workdir("read2")
    sim_a, sock_a, ledger_a = start_sim(work, [
        "--seed", "7", "--rate", "200", "--duration", "6"], name="a")
    sim_b, sock_b, ledger_b = start_sim(work, [
        "--seed", "8", "--rate", "6000", "--duration", "4", "--ring", "300",
        "--chunked", "never", "--endpoint", "ep-b", "--variant", "v-b",
        "--instance-id", "i-0b"], name="b")
    conf, out, log = collectd_conf(work, plugin_block(
        runtime_block("a", sock_a, Interval=1, Timeout=0.9),
        runtime_block("b", sock_b, Interval=1, Timeout=0.05, PageSize=5)))
    cd = start_collectd(work, conf)
    time.sleep(6)
    ok = wait_for(lambda: caught_up(out, ledger_a, "a") and
                  caught_up(out, ledger_b, "b"), 30, step=0.25)
    tap.ok(ok, "run 2: the plugin caught up with both ledgers")
    time.sleep(2.2)
    code, took = stop(cd)
    tap.eq(code, 0, "run 2: collectd exits 0 on SIGTERM")
    stop(sim_a)
    stop(sim_b)
    captured = read_jsonl(out)
    check_runtime("run 2 runtime a", captured, Ledger(ledger_a), "a", 1.0,
                  expect_lost=False)
    check_runtime("run 2 runtime b", captured, Ledger(ledger_b), "b", 1.0,
                  expect_lost=True)
    text = read_text(log)
    tap.ok("gone before they could be read" in text,
           "run 2: the loss is logged")
    tap.ok(not sanitizer_reports(work), "run 2: no sanitizer reports",
           sanitizer_reports(work)[:10])


run_restart()
run_overflow()
tap.done()
