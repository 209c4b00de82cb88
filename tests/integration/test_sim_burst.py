#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The runtime simulator's --burst load pattern, against its own ledger.

One simulator runs with a burst: arrivals twice what the instances
complete for 2 s, half of it afterwards. The test reads its snapshots
every 0.2 s and all its records page by page over the Unix socket, then
checks from the ledger that the snapshot's backlog and oldest-request age
rise above a threshold during the burst and fall back to the requests in
flight once it has drained, that the records' time in backlog follows,
and that the pattern leaves the ledger's guarantees alone: every request
is in the ledger exactly once, with consecutive sequence numbers, and
every record served is the ledger's record. A second simulator with the
same seed and options, run at the same time, generates the same records.
"""
import json
import os
import socket
import subprocess
import time

from harness import SIM, Tap, Workdir, start_sim, stop, wait_for

tap = Tap()
if not os.access(SIM, os.X_OK):
    tap.bail("not built: " + SIM)

RATE = 400
MAX_CONCURRENCY = 4
# Requests pile up at (LOAD - 1) * instances per completion during the
# burst and leave at (1 - 0.5) * instances per completion after it: about
# 1600 at the crest, drained some 4 s later.
ARGS = ["--seed", "42", "--rate", str(RATE), "--burst", "0.5:2:2",
        "--instance-count", "2", "--max-concurrency", str(MAX_CONCURRENCY),
        "--chunked", "never", "--restart-every", "0", "--quiet"]
CREST = 1000  # the backlog must pass this
SETTLE_S = 30  # the most the whole pattern may take, even on a busy machine


def get(sock, path):
    """One HTTP/1.0 GET over the Unix socket; the JSON body."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    try:
        c.connect(sock)
        c.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = c.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        c.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("%s: %r" % (path, head[:80]))
    return json.loads(body)


def records(ledger_path):
    out = {}  # boot_id -> list of records, in ledger order
    with open(ledger_path) as f:
        for line in f:
            e = json.loads(line)
            if e["event"] == "request":
                out.setdefault(e["boot_id"], []).append(e)
    return out


def without_clock(r):
    """A record without its wall-clock members."""
    return {k: v for k, v in r.items()
            if k not in ("received_ms", "completed_ms", "boot_id")}


work = Workdir("burst")
sim, sock, ledger = start_sim(work, ARGS)
twin, twin_sock, twin_ledger = start_sim(work, ARGS, name="twin")

# Snapshots until the backlog has crested and drained again.
crested = drained = False
deadline = time.monotonic() + SETTLE_S
while time.monotonic() < deadline and not drained:
    snap = get(sock, "/v1/snapshot")
    crested = crested or snap["backlog_size"] >= CREST
    drained = crested and snap["backlog_size"] <= MAX_CONCURRENCY
    time.sleep(0.2)

# Every record, page by page.
served = []
after = 0
while True:
    page = get(sock, "/v1/requests?after=%d&limit=1000" % after)
    served += page["requests"]
    if not page["requests"]:
        break
    after = page["requests"][-1]["seq"]
stop(sim)
stop(twin)

events = [json.loads(l) for l in open(ledger)]
snaps = [e for e in events if e["event"] == "snapshot"]
backlog = [s["backlog_size"] for s in snaps]
age = [s["oldest_request_age_ms"] for s in snaps]
tap.note("%d snapshots; backlog %s" % (len(snaps), backlog))

peak = max(range(len(snaps)), key=lambda i: backlog[i]) if snaps else 0
tap.ok(crested and backlog[peak] >= CREST,
       "the backlog rises above %d during the burst (crest %d)"
       % (CREST, backlog[peak] if snaps else -1))
tap.ok(snaps and backlog[0] < backlog[peak] and age[0] < age[peak] and
       age[peak] >= 1000,
       "the oldest request's age grows with it (%d ms at the crest)"
       % (age[peak] if snaps else -1))
tap.ok(drained and backlog[-1] <= MAX_CONCURRENCY and
       all(s["in_flight"] <= MAX_CONCURRENCY for s in snaps),
       "the backlog drains back to the requests in flight (%d) within %d s"
       % (backlog[-1] if snaps else -1, SETTLE_S))
falling = backlog[peak:]
tap.ok(all(b >= a for a, b in zip(falling[1:], falling)),
       "after the crest it only falls", falling)

recs = records(ledger)
tap.eq(len(recs), 1, "one boot")
boot, rs = next(iter(recs.items())) if recs else (None, [])
seqs = [r["seq"] for r in rs]
tap.ok(seqs == list(range(1, len(seqs) + 1)),
       "the ledger holds every request once, seqs 1..%d in order" % len(seqs))
# Requests generated after the last page was read are in the ledger only.
tap.ok(len(served) > 1000 and
       [r["seq"] for r in served] == seqs[:len(served)],
       "the pages served %d requests, each once, in the ledger's order"
       % len(served))
led_by_seq = {r["seq"]: r for r in rs}
mismatch = [r["seq"] for r in served
            if dict(r, event="request", boot_id=boot) != led_by_seq.get(r["seq"])]
tap.ok(not mismatch, "every record served is the ledger's record",
       mismatch[:5])

waited = [r["backlog_us"] for r in rs if r["outcome"] != "expired"] or [0]
tail = waited[-200:]
tap.ok(max(waited) >= 1000000 and sorted(tail)[len(tail) // 2] < 100000,
       "time in backlog rises past 1 s in the burst and falls back after it "
       "(max %d us, median of the last 200 %d us)"
       % (max(waited), sorted(tail)[len(tail) // 2]))

twin_rs = list(records(twin_ledger).values())
twin_rs = twin_rs[0] if len(twin_rs) == 1 else []
n = min(len(rs), len(twin_rs))
tap.ok(n > 1000 and [without_clock(r) for r in rs[:n]] ==
       [without_clock(r) for r in twin_rs[:n]],
       "the same seed and options give the same %d records" % n)

# A burst that never ends is refused, naming the field.
bad = subprocess.run([SIM, "--socket", work.file("bad.sock"),
                      "--burst", "1:5:2:5"], capture_output=True, text=True)
tap.ok(bad.returncode == 2 and "EVERY" in bad.stderr,
       "--burst with EVERY not above SECONDS is refused", bad.stderr)
tap.done()
