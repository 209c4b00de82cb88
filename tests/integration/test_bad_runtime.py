#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sagemaker_async in the real collectd daemon against runtimes that
misbehave: down, slow, closing mid-response, answering non-200, sending
truncated or malformed JSON, values of the wrong type, too much, or
another protocol version.

Five <Runtime> blocks in one daemon (Interval 1, Timeout 0.5, PageSize 4,
MaxResponseBytes 8192), each backed by a scripted fake runtime running in
this process (fake_runtime.py). One thread per fake plays its faults one
after the other: a fault for a few seconds, then healthy until the plugin
says it recovered. Two fakes fault on /v1/snapshot, two on /v1/requests
(some after letting one good page through, some after good records in the
same page), one hangs.

For each fault: collectd's log has [error] lines naming the runtime, its
socket and the problem; they are rate-limited (no more than collectd's
c_complain back-off allows over the reads the fault lasted: 1, 2, 4, 8 s
apart); an [info] line says when the runtime answers again. No [error]
line comes from a runtime while it is healthy.

Across the whole run, per runtime: every read dispatched its 17 value
lists once each; their seq ranges do not overlap and together cover every
record the fake generated, none skipped; each read's counts and statistic
sets equal ledger.expected() of exactly the records of its range, so no
record of a page that was not accepted as a whole was counted; nothing is
counted as lost; one notification per failed or expired record covered.

The hangs: every request the plugin left hanging was abandoned (the fake
sees the client close) within Timeout, and reads kept their interval;
collectd stops on SIGTERM within Timeout + 1 s while a read hangs.

An error text with a newline and an escape sequence is logged escaped, on
the runtime's own line. Then two more runs: a runtime that loses records
before every read gets one warning at growing intervals and a line when it
keeps up; a root-owned socket served by a process of uid 65534 gets no
byte of a request, and a rate-limited error naming the uid and pid.
"""
import os
import re
import sys
import threading
import time
from collections import defaultdict

from fake_runtime import Fault, FakeRuntime
from harness import (Tap, Workdir, collectd_conf, plugin_block, read_jsonl,
                     read_text, require_collectd, runtime_block,
                     sanitizer_reports, start, start_collectd, stop, wait_for)
from ledger import READ_KEYS, compare_reads, failed, reads_of

PLUGIN = "sagemaker_async"
INTERVAL = 1.0
TIMEOUT = 0.5
PAGE_SIZE = 4
MAX_BYTES = 8192
# Slack for scheduling: a hung request must be given up within
# TIMEOUT + SLACK of its arrival.
SLACK = 0.4

tap = Tap()
require_collectd(tap)

TIMED_OUT = r"(?i)timed out|timeout"
NOT_ACCEPTED = r"records after seq \d+ not accepted"
HTML_500 = b"<html><body><h1>Internal Server Error</h1></body></html>\n"
# An error text that would forge a line of collectd's log and paint the
# terminal, and how the log must show it: escaped, on the line of the
# runtime's error.
FORGED = "busy\n[error] forged line\r\x1b[31m\xff"
FORGED_ESCAPED = "busy\\n[error] forged line\\r\\x1b[31m\xff"

# runtime -> [(label, path or "down", fault, seconds, [regexes the error
# lines must all match])]
STEPS = {
    "snapA": [
        ("snapshot 503 runtime starting (long)", "snapshot",
         Fault.status(503, {"error": "runtime starting"}), 7.5,
         [r"GET /v1/snapshot", r"\b503\b", r"runtime starting"]),
        ("snapshot 503 whose error text forges a log line", "snapshot",
         Fault.status(503, {"error": FORGED}), 3,
         [r"GET /v1/snapshot", r"\b503\b", re.escape(FORGED_ESCAPED)]),
        ("snapshot 500 with a non-JSON body", "snapshot",
         Fault.status(500, HTML_500, "text/html"), 3,
         [r"GET /v1/snapshot", r"\b500\b"]),
        ("snapshot malformed JSON", "snapshot", Fault.malformed(), 3,
         [r"GET /v1/snapshot", r"malformed JSON"]),
        ("snapshot backlog_size \"many\"", "snapshot",
         Fault.wrong_type("backlog_size", "many"), 3,
         [r"GET /v1/snapshot", r"backlog_size must be an integer"]),
    ],
    "snapB": [
        ("snapshot truncated (Content-Length larger than sent)", "snapshot",
         Fault.truncated(), 3,
         [r"GET /v1/snapshot", r"(?i)transfer closed|bytes remaining"]),
        ("snapshot connection closed before any answer", "snapshot",
         Fault.close(), 3, [r"GET /v1/snapshot", r"(?i)empty reply"]),
        ("snapshot larger than MaxResponseBytes", "snapshot",
         Fault.big(3 * MAX_BYTES), 3,
         [r"GET /v1/snapshot", r"larger than %d bytes" % MAX_BYTES]),
        ("snapshot protocol 2", "snapshot", Fault.protocol(2), 3,
         [r"GET /v1/snapshot", r"protocol 2 is not supported"]),
        ("runtime down (socket removed)", "down", None, 3,
         [r"GET /v1/snapshot", r"(?i)connect"]),
    ],
    "pageA": [
        ("page 503 after one good page", "requests",
         Fault.status(503, {"error": "runtime starting"}, skip=1), 3,
         [r"GET /v1/requests\?after=\d+", r"\b503\b", r"runtime starting",
          NOT_ACCEPTED]),
        ("page malformed JSON after a good record", "requests",
         Fault.malformed(), 3, [r"malformed JSON", NOT_ACCEPTED]),
        ("page model_us \"fast\" in the second record", "requests",
         Fault.wrong_type("model_us", "fast"), 3,
         [r"record 2 \(seq \d+\): member model_us must be an integer",
          NOT_ACCEPTED]),
        ("page truncated after a good record", "requests",
         Fault.truncated(), 3,
         [r"(?i)transfer closed|bytes remaining", NOT_ACCEPTED]),
        ("page protocol 2 given after its records", "requests",
         Fault.protocol(2), 3, [r"protocol 2 is not supported",
                                NOT_ACCEPTED]),
    ],
    "pageB": [
        ("page connection closed before any answer", "requests",
         Fault.close(), 3, [r"GET /v1/requests", r"(?i)empty reply",
                            NOT_ACCEPTED]),
        ("page larger than MaxResponseBytes", "requests",
         Fault.big(3 * MAX_BYTES), 3,
         [r"larger than %d bytes" % MAX_BYTES, NOT_ACCEPTED]),
        ("page 500 with a non-JSON body", "requests",
         Fault.status(500, HTML_500, "text/html"), 3,
         [r"GET /v1/requests", r"\b500\b", NOT_ACCEPTED]),
        ("page hangs", "requests", Fault.hang(30), 3,
         [r"GET /v1/requests", TIMED_OUT, NOT_ACCEPTED]),
        ("page download_ok \"yes\" after one good page", "requests",
         Fault.wrong_type("download_ok", "yes", skip=1), 3,
         [r"member download_ok must be true or false", NOT_ACCEPTED]),
    ],
    "hang": [
        ("snapshot hangs", "snapshot", Fault.hang(30), 5.5,
         [r"GET /v1/snapshot", TIMED_OUT]),
    ],
}
NAMES = list(STEPS)


def complaint_bound(n_reads):
    """The most lines c_complain lets through over n reads 1 s apart:
    the first, then after 1, 2, 4, ... s (reads 0, 1, 3, 7, 15...)."""
    k, at, gap = 0, 0, 1
    while at < n_reads:
        k += 1
        at += gap
        gap *= 2
    return k


class Log:
    """collectd's log file, read as (offset, line) of complete lines."""

    def __init__(self, path):
        self.path = path

    def size(self):
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    def lines(self, start=0, end=None):
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                data = f.read() if end is None else f.read(end - start)
        except FileNotFoundError:
            return []
        out = []
        off = start
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            out.append((off, raw.decode("utf-8", "replace").rstrip("\n")))
            off += len(raw)
        return out


def of_runtime(line, name):
    return ('runtime "%s"' % name) in line


class Phase:
    def __init__(self, name, label, target, fault, seconds, needles):
        self.name, self.label, self.target = name, label, target
        self.fault, self.seconds, self.needles = fault, seconds, needles
        self.off0 = self.off1 = None
        self.t0 = self.t1 = self.t2 = None
        self.w1 = None
        self.recovery = None


def drive(name, log, fake, phases):
    """Plays one runtime's faults; appends a Phase for each to phases."""
    for label, target, fault, seconds, needles in STEPS[name]:
        ph = Phase(name, label, target, fault, seconds, needles)
        ph.off0 = log.size()
        ph.t0 = time.monotonic()
        if target == "down":
            fake.stop()
        else:
            fake.set(**{target: fault})
        time.sleep(seconds)
        ph.t1 = time.monotonic()
        ph.w1 = time.time()
        if target == "down":
            fake.start()
            rec = 'runtime "%s" (socket %s) answers again' % (name, fake.path)
        elif target == "snapshot":
            fake.set()
            rec = 'runtime "%s" (socket %s) answers again' % (name, fake.path)
        else:
            fake.set()
            rec = 'runtime "%s": pages are read again' % name

        def recovered():
            for off, line in log.lines(ph.off0):
                if rec in line:
                    return off, line
            return None
        found = wait_for(recovered, 8, step=0.1)
        ph.t2 = time.monotonic()
        if found:
            ph.recovery = found[1]
            ph.off1 = found[0] + len(found[1].encode()) + 1
        else:
            ph.off1 = log.size()
        phases.append(ph)
        time.sleep(0.3)


def covered_last(captured, instance, boot):
    """The highest seq_last a read of instance dispatched for boot."""
    best = 0
    for _, r in reads_of(captured, instance):
        c = r.get("InvocationsProcesssed")
        if c and c["meta"].get("sagemaker:boot_id") == boot:
            best = max(best, c["meta"].get("sagemaker:seq_last", 0))
    return best


# ------------------------------------------------------------------ run

work = Workdir("bad")
fakes = {n: FakeRuntime(work.file(n + ".sock"), chunked=(n == "pageB"),
                        endpoint="ep-" + n).start() for n in NAMES}
conf, out, logpath = collectd_conf(work, plugin_block(*[
    runtime_block(n, fakes[n].path, Interval=INTERVAL, Timeout=TIMEOUT,
                  PageSize=PAGE_SIZE, MaxResponseBytes=MAX_BYTES)
    for n in NAMES]), interval=INTERVAL, extra_global="ReadThreads 8")
log = Log(logpath)
t_start = time.monotonic()
cd = start_collectd(work, conf)

# Every runtime read healthily at least twice before the faults begin.
ok = wait_for(lambda: all(len(reads_of(read_jsonl(out), n)) >= 2
                          for n in NAMES), 15, step=0.1)
if not tap.ok(ok, "collectd reads all %d fake runtimes" % len(NAMES),
              read_text(logpath)[-3000:] +
              read_text(work.file("collectd.stderr"))[-2000:]):
    stop(cd)
    tap.bail("collectd did not start reading")

phases = []
threads = [threading.Thread(target=drive, args=(n, log, fakes[n], phases))
           for n in NAMES]
for th in threads:
    th.start()
for th in threads:
    th.join()
tap.ok(cd.poll() is None, "collectd is still running after all the faults")

# Catch up: no more new records; wait until every runtime's reads have
# covered the last one.
for f in fakes.values():
    f.grow = 0
caught = wait_for(lambda: all(
    covered_last(read_jsonl(out), n, fakes[n].boot_id) == len(fakes[n].records)
    for n in NAMES), 10, step=0.2)
tap.ok(caught, "after recovery every runtime's reads covered its last record")

# SIGTERM while a read hangs.
hang = fakes["hang"]
t_hang = time.monotonic()
off_final_hang = log.size()
hang.set(snapshot=Fault.hang(30))
hung = wait_for(lambda: [a for a in hang.arrivals("snapshot", since=t_hang)
                         if a.answer != "ok" and a.client_closed is None],
                5, step=0.01)
tap.ok(hung, "a read hangs on the snapshot when SIGTERM is sent")
code, took = stop(cd, timeout=10)
tap.eq(code, 0, "collectd exits 0 on SIGTERM")
tap.ok(took <= TIMEOUT + 1.0, "collectd stops within Timeout + 1 s while a "
       "read hangs (%.2f s)" % took)
for f in fakes.values():
    f.stop()
tap.note("run took %.1f s" % (time.monotonic() - t_start))

# ------------------------------------------------------------ the faults

text = read_text(logpath)
all_lines = log.lines()
by_name = defaultdict(list)
for ph in phases:
    by_name[ph.name].append(ph)

for name in NAMES:
    fake = fakes[name]
    tap.eq([ph.label for ph in by_name[name]], [s[0] for s in STEPS[name]],
           "%s: all its faults were played" % name)
    for ph in by_name[name]:
        what = "%s: %s" % (name, ph.label)
        window = [l for o, l in all_lines
                  if ph.off0 <= o < ph.off1 and of_runtime(l, name)]
        errors = [l for l in window if "[error]" in l]
        tap.ok(errors, "%s: logged as an error" % what,
               "\n".join(window[-10:]) or "(nothing logged)")
        if not errors:
            continue
        sock = "(socket %s)" % fake.path
        bad = [l for l in errors if sock not in l or
               not all(re.search(n, l) for n in ph.needles)]
        tap.ok(not bad, "%s: every error names the runtime, the socket and "
               "the problem (%s)" % (what, " & ".join(ph.needles)),
               "\n".join(bad[:4]))
        # Reads started while the fault was on: at most one per interval,
        # plus one in flight when it ended.
        n_reads = int((ph.t1 - ph.t0) / INTERVAL) + 2
        bound = complaint_bound(n_reads)
        tap.ok(len(errors) <= bound, "%s: rate-limited: %d error lines over "
               "at most %d reads (c_complain allows %d)"
               % (what, len(errors), n_reads, bound), "\n".join(errors))
        tap.ok(ph.recovery is not None and "[info]" in ph.recovery,
               "%s: an [info] line says the runtime recovered" % what,
               ph.recovery or "no recovery line within 8 s")

# The long 503: the number of reads it lasted, from the fake's log.
ph = by_name["snapA"][0]
faulted = [a for a in fakes["snapA"].log
           if a.kind == "snapshot" and a.answer != "ok"
           and ph.t0 <= a.t <= ph.t2]
errors = [l for o, l in all_lines if ph.off0 <= o < ph.off1 and
          of_runtime(l, "snapA") and "[error]" in l]
tap.ok(len(faulted) >= 6 and len(errors) <= complaint_bound(len(faulted))
       and len(errors) < len(faulted) / 1.5,
       "a fault over %d reads gives only %d error lines"
       % (len(faulted), len(errors)))

# No error while healthy.
stray = []
for o, l in all_lines:
    if "[error]" not in l:
        continue
    owners = [n for n in NAMES if of_runtime(l, n)]
    if owners == ["hang"] and o >= off_final_hang:
        continue  # the hang at SIGTERM
    if not owners or not any(ph.off0 <= o < ph.off1
                             for ph in by_name[owners[0]]):
        stray.append(l)
tap.ok(not stray, "no [error] line outside a fault", "\n".join(stray[:5]))
forged = [l for l in text.splitlines() if "forged line" in l]
tap.ok(forged and all(of_runtime(l, "snapA") and FORGED_ESCAPED in l
                      for l in forged),
       "an error text with a newline and an escape sequence is logged "
       "escaped, on the runtime's line (%d lines)" % len(forged),
       "\n".join(forged[:4]))

# ------------------------------------------------------------- the hangs

for name, label in (("hang", "snapshot hangs"), ("pageB", "page hangs")):
    ph = [p for p in by_name[name] if p.label == label][0]
    hung = [a for a in fakes[name].log
            if a.answer is not None and a.answer.startswith("hang")
            and ph.t0 <= a.t <= ph.t2]
    late = [(round(a.t - ph.t0, 3), None if a.client_closed is None
             else round(a.client_closed - a.t, 3)) for a in hung
            if a.client_closed is None or a.client_closed - a.t > TIMEOUT + SLACK]
    tap.ok(len(hung) >= 2 and not late,
           "%s: the plugin gave up each of %d hung requests within Timeout "
           "(longest %.3f s)" % (name, len(hung), max(
               [a.client_closed - a.t for a in hung if a.client_closed] or [0])),
           "not abandoned in time (arrival, waited): %r" % late)
    snaps = [a.t for a in fakes[name].log
             if a.kind == "snapshot" and ph.t0 - INTERVAL <= a.t <= ph.t2]
    gaps = [b - a for a, b in zip(snaps, snaps[1:])]
    tap.ok(len(gaps) >= 3 and max(gaps) < INTERVAL + TIMEOUT,
           "%s: reads keep their interval while the runtime hangs "
           "(gaps %.2f..%.2f s)" % (name, min(gaps or [0]), max(gaps or [0])),
           ["%.3f" % g for g in gaps])

# The runtime that went down: values again once it was back.
ph = [p for p in by_name["snapB"] if p.target == "down"][0]
captured = read_jsonl(out)
after = [t for t, _ in reads_of(captured, "snapB") if t > ph.w1]
tap.ok(after, "snapB: values resume once the socket is back")

# ----------------------------------------------- what was counted, exactly

for name in NAMES:
    fake = fakes[name]
    reads = reads_of(captured, name)
    records = {r["seq"]: r for r in fake.records}
    bad = [sorted(set(r) ^ READ_KEYS) for _, r in reads if set(r) != READ_KEYS]
    tap.ok(reads and not bad, "%s: each of %d reads dispatched the %d value "
           "lists once" % (name, len(reads), len(READ_KEYS)), bad[:3])
    spans, mismatches, lost = compare_reads(
        [r for _, r in reads], lambda boot, s: records.get(s))
    mismatches += [("unknown boot", sp.boot) for sp in spans
                   if sp.boot != fake.boot_id]
    ranges = [(sp.first, sp.last) for sp in spans]
    tap.ok(not mismatches, "%s: every read's counts and statistic sets equal "
           "the fake's records of its seq range exactly" % name,
           "\n".join(map(str, mismatches[:8])))
    ranges.sort()
    overlap = [(a, b) for a, b in zip(ranges, ranges[1:]) if b[0] <= a[1]]
    tap.ok(not overlap, "%s: no record counted twice" % name, overlap[:5])
    seqs = set()
    for a, b in ranges:
        seqs.update(range(a, b + 1))
    missing = sorted(set(records) - seqs)
    extra = sorted(seqs - set(records))
    tap.ok(records and not missing and not extra,
           "%s: the reads covered all %d records, none skipped"
           % (name, len(records)),
           "missing %r, beyond the records %r" % (missing[:20], extra[:20]))
    tap.eq(lost, 0, "%s: nothing counted as lost" % name)

    # A page error names the cursor: a later read must start right after
    # it (with the ranges contiguous, nothing before went past it).
    starts = {a for a, b in ranges}
    wrong = []
    for o, l in all_lines:
        m = re.search(r"records after seq (\d+) not accepted", l)
        if not m or not of_runtime(l, name):
            continue
        cur = int(m.group(1))
        if cur + 1 not in starts:
            wrong.append(l)
    tap.ok(not wrong, "%s: reading resumed right after the seq each page "
           "error named" % name, "\n".join(wrong[:3]))

    notifs = [n for n in captured if n["kind"] == "notification" and
              n["plugin"] == PLUGIN and n["plugin_instance"] == name]
    got = defaultdict(int)
    for n in notifs:
        got[n["meta"].get("sagemaker:seq")] += 1
    want = sorted(s for s in seqs if s in records and failed(records[s]))
    tap.ok(sorted(got) == want and all(c == 1 for c in got.values()),
           "%s: one notification per failed or expired record covered (%d)"
           % (name, len(want)),
           "twice: %r, missing: %r, unexpected: %r" % (
               [s for s, c in got.items() if c > 1][:10],
               [s for s in want if s not in got][:10],
               [s for s in got if s not in set(want)][:10]))

    # Reads whose page failed covered no record of the bad page: the
    # fake's log says which records it served in good pages only.
    served = set()
    for boot, a, b in fake.served:
        served.update(range(a, b + 1))
    tap.ok(seqs <= served, "%s: only records served in good pages were "
           "counted" % name, sorted(seqs - served)[:20])

tap.ok("[error]" in text and "Segmentation" not in text,
       "the log has the errors and no crash")
reports = sanitizer_reports(work)
tap.ok(not reports, "no sanitizer reports", "\n".join(reports[:10]))

# ----------------------------------------- a loss that lasts, rate-limited

# A runtime whose ring holds 3 records and that completes 6 per read loses
# 3 before every read: one warning, repeated at growing intervals, not one
# per read; then, once it keeps up, one line saying so.
work2 = Workdir("bad-ring")
ring = FakeRuntime(work2.file("ring.sock"), grow=6, ring=3).start()
conf2, out2, logpath2 = collectd_conf(work2, plugin_block(
    runtime_block("ring", ring.path, Interval=INTERVAL, Timeout=TIMEOUT,
                  PageSize=PAGE_SIZE)), interval=INTERVAL)
cd2 = start_collectd(work2, conf2)
tap.ok(wait_for(lambda: len(ring.arrivals("snapshot")) >= 8, 15, step=0.1),
       "ring: 8 reads while the runtime loses records",
       read_text(logpath2)[-2000:])
lossy = len(ring.arrivals("snapshot"))
ring.grow = 2
recovered = wait_for(lambda: [l for l in read_text(logpath2).splitlines()
                              if "[info]" in l and 'runtime "ring"' in l and
                              "again" in l and "lost" in l], 8, step=0.1)
stop(cd2)
ring.stop()
lines = read_text(logpath2).splitlines()
warned = [l for l in lines if "[warning]" in l and 'runtime "ring"' in l and
          "were gone before they could be read" in l]
lost = sum(r["LostRequests"]["values"][0]
           for _, r in reads_of(read_jsonl(out2), "ring"))
tap.ok(1 <= len(warned) <= complaint_bound(lossy) and len(warned) < lossy / 2,
       "ring: %d warnings over %d lossy reads (c_complain allows %d)"
       % (len(warned), lossy, complaint_bound(lossy)), "\n".join(warned))
tap.ok(recovered, "ring: an [info] line says when nothing is lost again",
       "\n".join(lines[-10:]))
tap.ok(lost >= 3 * (lossy - 2), "ring: the losses were counted in "
       "LostRequests (%d)" % lost)

# ----------------------------------- a socket served by another user's process

# A socket file owned by root (it passes the file's owner check) whose
# listener runs as uid 65534, as after a swap between that check and the
# connect: every connection is refused before a byte is sent, with a
# rate-limited error naming the socket, the uid and pid found and the owner
# expected. The listener counts the bytes it received.
PEER_SERVER = r"""
import os, socket, sys
path, counts = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
os.setgid(65534)
os.setuid(65534)
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    while True:
        b = c.recv(4096)
        if not b:
            break
        n += len(b)
    c.close()
    with open(counts, "a") as f:
        f.write("%d\n" % n)
"""
if os.geteuid() != 0:
    tap.ok(True, "# SKIP the peer check needs root to serve as uid 65534")
else:
    work3 = Workdir("bad-peer")
    os.chmod(work3.path, 0o755)
    psock, counts = work3.file("peer.sock"), work3.file("counts")
    with open(counts, "w"):
        pass
    os.chmod(counts, 0o666)
    peer = start([sys.executable, "-c", PEER_SERVER, psock, counts],
                 work3.file("peer.log"))
    wait_for(lambda: os.path.exists(psock), 5)
    conf3, out3, logpath3 = collectd_conf(work3, plugin_block(
        runtime_block("peer", psock, Interval=INTERVAL, Timeout=TIMEOUT)),
        interval=INTERVAL)
    cd3 = start_collectd(work3, conf3)
    tap.ok(wait_for(lambda: len(read_text(counts).split()) >= 6, 15, step=0.1),
           "peer: collectd connected at every read",
           read_text(logpath3)[-1500:] + read_text(work3.file("peer.log")))
    stop(cd3)
    stop(peer)
    conns = [int(x) for x in read_text(counts).split()]
    lines = read_text(logpath3).splitlines()
    refused = [l for l in lines if "[error]" in l and 'runtime "peer"' in l]
    want = ("socket %s is served by pid %d running as uid 65534, expected "
            "root (uid 0); refusing to send to it" % (psock, peer.pid))
    tap.ok(conns and conns[-1] == 0, "peer: not a byte reached it over %d "
           "connections" % len(conns), conns)
    tap.ok(refused and all(want in l for l in refused),
           "peer: the error names the socket, the uid and pid found and the "
           "owner expected", "\n".join(refused[:3]))
    tap.ok(len(refused) <= complaint_bound(len(conns)) and
           len(refused) < len(conns),
           "peer: rate-limited (%d errors over %d reads)"
           % (len(refused), len(conns)))
    tap.ok(not [v for v in read_jsonl(out3) if v["kind"] == "value" and
                v["plugin"] == PLUGIN],
           "peer: nothing dispatched for it")
tap.done()
