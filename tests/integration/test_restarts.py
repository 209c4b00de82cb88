#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sagemaker_async across restarts, in the real collectd daemon against
the runtime simulator under load, every figure from the simulator's
ledger.

(a) StateFile, collectd stopped with SIGTERM and started again while the
    runtime goes on completing requests: every request the runtime
    announced after the first read is covered exactly once across both
    runs, LostRequests 0.
(b) The same with SIGKILL, three times: the requests counted twice or
    lost are measured against the bound the documentation states (the
    values of one read twice at most, nothing lost).
(c) No StateFile: what is lost across a restart (the requests completed
    while collectd was down) is shown, and is exactly that gap.
(d) The runtime restarts (SIGUSR1) under load, once while collectd runs
    and once while it is down; then its socket is removed and a new
    runtime is started on the same path: covered + LostRequests =
    announced over both ledgers, nothing counted twice.
(e) StateFile, and the runtime's ring overflows while collectd is down:
    LostRequests counts exactly the seqs the runtime no longer held.
(f) SocketOwner (as root): a socket of another owner is refused with a
    message, accepted with SocketOwner; a symbolic link is refused.
(g) A truncated state file and one of another runtime: an error naming
    the file and the fault, the file set aside, a first contact, a new
    state file.

Each read's counts and statistic sets are recomputed from the ledger's
records of the seq range the read's meta data names (ledger.py).
"""
import os
import signal
import stat
import time
import zlib
from collections import Counter, defaultdict

from harness import (SIM, Workdir, collectd_conf, plugin_block, read_jsonl,
                     read_text, runtime_block, sanitizer_reports, slow_tap,
                     start, start_collectd, start_sim, stop, wait_for)
from ledger import READ_KEYS, Ledger, compare_reads, failed, reads_of

PLUGIN = "sagemaker_async"
MIX = ("success=0.8,model_error=0.06,download_failed=0.03,upload_failed=0.03,"
       "expired=0.04,timeout=0.02,internal_error=0.02")
tap = slow_tap("test_restarts")


class Ledgers:
    """Several simulators' ledgers seen as one (boot IDs are unique)."""

    def __init__(self, paths):
        self.leds = [Ledger(p) for p in paths]
        self.boots = [b for l in self.leds for b in l.boots]
        self.requests = {}
        for l in self.leds:
            self.requests.update(l.requests)
        self.snapshots = [s for l in self.leds for s in l.snapshots]

    def skipped(self, boot):
        return set().union(*(l.skipped(boot) for l in self.leds))

    def max_announced(self, boot):
        return max(l.max_announced(boot) for l in self.leds)


class Run:
    """One collectd daemon, with its own configuration, capture and log."""

    def __init__(self, name, blocks):
        self.work = Workdir(name)
        self.conf, self.capture, self.log = collectd_conf(self.work, blocks)
        self.proc = start_collectd(self.work, self.conf)

    def reads(self, instance="main"):
        return [r for _, r in reads_of(read_jsonl(self.capture), instance)]

    def notifications(self, instance="main"):
        return [n for n in read_jsonl(self.capture)
                if n["kind"] == "notification" and n["plugin"] == PLUGIN
                and n["plugin_instance"] == instance]


def covers_last(run, ledger_path):
    """True once a read of run covered the ledger's last request."""
    led = Ledger(ledger_path)
    if not led.boots or led.boots[-1] not in led.requests:
        return False
    boot = led.boots[-1]
    last = max(led.requests[boot])
    return any(r.get("InvocationsProcesssed", {}).get("meta", {}).get(
        "sagemaker:boot_id") == boot and
        r["InvocationsProcesssed"]["meta"].get("sagemaker:seq_last") == last
        for r in run.reads())


def account(runs, led):
    """Compares the reads of all runs with the ledgers. Returns a dict of
    figures; the per-read equality is checked here."""
    reads = [r for run in runs for r in run.reads()]
    incomplete = [sorted(READ_KEYS ^ set(r)) for r in reads
                  if set(r) != READ_KEYS]
    spans, mismatches, lost = compare_reads(
        reads, lambda boot, s: led.requests.get(boot, {}).get(s),
        led.skipped)
    seen = defaultdict(Counter)  # boot -> seq -> times covered
    for sp in spans:
        seen[sp.boot].update(sp.seqs)
    per_read = [len(sp.records) for sp in spans]
    gone_of = {}

    first_boot = led.snapshots[0]["boot_id"] if led.snapshots else None
    announced = 0
    uncovered = []  # (boot, seq) announced, neither covered nor gone
    outside = []
    for boot in dict.fromkeys(led.boots):
        top = led.max_announced(boot)
        start = led.snapshots[0]["next_seq"] if boot == first_boot else 1
        if top < start and not seen[boot]:
            continue
        announced += max(0, top - start + 1)
        gone = gone_of.setdefault(boot, led.skipped(boot))
        uncovered += [(boot, s) for s in range(start, top + 1)
                      if s not in seen[boot] and s not in gone]
        outside += [s for s in seen[boot] if s < start or s > top]
    covered = sum(len(c) for c in seen.values())
    doubled = sum(n - 1 for c in seen.values() for n in c.values() if n > 1)

    # Notifications: one per failed request covered, over all runs.
    want = {(b, s) for b, c in seen.items() for s in c
            if led.requests.get(b, {}).get(s) is not None and
            failed(led.requests[b][s])}
    got = Counter()
    for run in runs:
        for n in run.notifications():
            got[(n["meta"].get("sagemaker:boot_id"),
                 n["meta"].get("sagemaker:seq"))] += 1
    return {
        "reads": len(reads), "incomplete": incomplete,
        "mismatches": mismatches, "covered": covered, "doubled": doubled,
        "lost": lost, "announced": announced,
        "uncounted": announced - covered - lost, "uncovered": uncovered,
        "outside": outside, "max_read": max(per_read or [0]),
        "notif_want": len(want),
        "notif_missing": len(want - set(got)),
        "notif_doubled": sum(n - 1 for n in got.values() if n > 1),
        "notif_stray": len(set(got) - want),
        "max_failed_read": max_failed_per_read(runs, led),
    }


def max_failed_per_read(runs, led):
    """The most failed requests one read covered (the bound of repeated
    notifications)."""
    m = 0
    for run in runs:
        for r in run.reads():
            if "InvocationFailures" not in r:
                continue
            m = max(m, int(r["InvocationFailures"]["values"][0]) +
                    int(r["ExpiredRequests"]["values"][0]))
    return m


def check_exact(label, fig):
    tap.ok(not fig["incomplete"], "%s: every read dispatched its %d value "
           "lists" % (label, len(READ_KEYS)), fig["incomplete"][:3])
    tap.ok(not fig["mismatches"], "%s: every read's counts and statistic "
           "sets equal the ledger's records of its seq range" % label,
           "\n".join(map(str, fig["mismatches"][:10])))
    tap.ok(not fig["outside"], "%s: no read covers a seq the runtime had not "
           "announced" % label, fig["outside"][:5])


def state_block(sock, state, **extra):
    opts = dict(Interval=1, Timeout=0.8)
    if state is not None:
        opts["StateFile"] = state
    opts.update(extra)
    return plugin_block(runtime_block("main", sock, **opts))


def finish(label, run, ledger_path):
    ok = wait_for(lambda: covers_last(run, ledger_path), 20, step=0.25)
    tap.ok(ok, "%s: the last run caught up with the ledger" % label)
    time.sleep(1.2)  # an idle read: the cursor is where the runtime is
    code, _ = stop(run.proc)
    tap.eq(code, 0, "%s: collectd exits 0 on SIGTERM" % label)


def under_load(name, seed, seconds, *more):
    """A scenario's work directory, the path of its state file, and the
    simulator completing 300 requests a second of MIX for seconds, from
    seed (start_sim's triple); more: further options."""
    work = Workdir(name)
    return work, work.file("sagemaker_async-main.state"), start_sim(
        work, ["--seed", str(seed), "--rate", "300", "--duration",
               str(seconds), "--mix", MIX] + list(more))


def no_sanitizer_reports(label, runs):
    bad = [l for run in runs for l in sanitizer_reports(run.work)]
    tap.ok(not bad, "%s: no sanitizer reports" % label, bad[:10])


# ------------------------------------------------------------------ (a)
def scenario_sigterm():
    label = "SIGTERM restart"
    work, state, (sim, sock, ledger) = under_load("restart-a", 21, 8)
    a = Run("restart-a1", state_block(sock, state, PageSize=50))
    time.sleep(3.2)
    code, _ = stop(a.proc)
    tap.eq(code, 0, "%s: first collectd exits 0 on SIGTERM" % label)
    st = os.stat(state) if os.path.exists(state) else None
    tap.ok(st is not None and stat.S_IMODE(st.st_mode) == 0o600 and
           stat.S_ISREG(st.st_mode),
           "%s: the state file exists with mode 0600 (%s)"
           % (label, oct(stat.S_IMODE(st.st_mode)) if st else "none"))
    tap.ok(not os.path.exists(state + ".tmp"),
           "%s: no temporary file left after a clean stop" % label)
    time.sleep(2.0)  # the runtime completes ~600 requests meanwhile
    b = Run("restart-a2", state_block(sock, state, PageSize=50))
    finish(label, b, ledger)
    stop(sim)

    led = Ledgers([ledger])
    fig = account([a, b], led)
    check_exact(label, fig)
    a_last = max((r["LostRequests"]["meta"]["sagemaker:seq_last"]
                  for r in a.reads() if "LostRequests" in r), default=None)
    b_first = [r["LostRequests"]["meta"]["sagemaker:seq_first"]
               for r in b.reads() if "LostRequests" in r and
               r["LostRequests"]["meta"]["sagemaker:seq_first"] <=
               r["LostRequests"]["meta"]["sagemaker:seq_last"]]
    tap.ok(a_last is not None and b_first and b_first[0] == a_last + 1,
           "%s: the second run's first records follow the first run's last "
           "(seq %s, then %s)" % (label, a_last, b_first[:1]))
    tap.ok(fig["covered"] > 1000 and fig["doubled"] == 0 and
           fig["lost"] == 0 and fig["uncounted"] == 0,
           "%s: %d lost, %d counted twice of %d announced; LostRequests %d"
           % (label, fig["uncounted"], fig["doubled"], fig["announced"],
              fig["lost"]), fig["uncovered"][:10])
    tap.ok(fig["notif_want"] > 0 and fig["notif_missing"] == 0 and
           fig["notif_doubled"] == 0 and fig["notif_stray"] == 0,
           "%s: one notification for each of the %d failed requests, across "
           "both runs" % (label, fig["notif_want"]), fig)
    text = read_text(b.log)
    tap.ok("as saved; reading on from seq %d" % a_last in text,
           "%s: the second run says it reads on from the saved seq" % label,
           [l for l in text.splitlines() if "state" in l or "boot" in l][:5])
    errors = [l for run in (a, b) for l in read_text(run.log).splitlines()
              if "[error]" in l]
    tap.ok(not errors, "%s: no errors logged" % label, errors[:5])
    no_sanitizer_reports(label, [a, b])


# ------------------------------------------------------------------ (b)
def scenario_sigkill():
    label = "SIGKILL restart"
    work, state, (sim, sock, ledger) = under_load("restart-b", 22, 12)
    runs = []
    # Killed at different points of the interval: 2.3 s, 2.6 s, 2.9 s in.
    for i, up in enumerate((2.3, 2.6, 2.9)):
        run = Run("restart-b%d" % i, state_block(sock, state, PageSize=50))
        runs.append(run)
        time.sleep(up)
        stop(run.proc, sig=signal.SIGKILL)
        time.sleep(0.7)
    last = Run("restart-b3", state_block(sock, state, PageSize=50))
    runs.append(last)
    finish(label, last, ledger)
    stop(sim)

    fig = account(runs, Ledgers([ledger]))
    check_exact(label, fig)
    tap.ok(fig["covered"] > 1500 and fig["uncounted"] == 0 and
           fig["lost"] == 0,
           "%s: %d lost, %d counted twice of %d announced (3 kills; the "
           "documented bound: none lost, at most one read's requests twice "
           "per kill, %d here)"
           % (label, fig["uncounted"], fig["doubled"], fig["announced"],
              fig["max_read"]), fig["uncovered"][:10])
    tap.ok(fig["doubled"] <= 3 * fig["max_read"],
           "%s: counted twice (%d) within the bound" % (label, fig["doubled"]))
    tap.ok(fig["notif_missing"] == 0 and fig["notif_stray"] == 0 and
           fig["notif_doubled"] <= 3 * fig["max_failed_read"],
           "%s: notifications: none missing, %d repeated of %d (bound: the "
           "failed requests of the read in progress, at most %d per kill)"
           % (label, fig["notif_doubled"], fig["notif_want"],
              fig["max_failed_read"]), fig)
    no_sanitizer_reports(label, runs)


# ------------------------------------------------------------------ (c)
def scenario_no_state():
    label = "no StateFile"
    work, _, (sim, sock, ledger) = under_load("restart-c", 23, 8)
    a = Run("restart-c1", state_block(sock, None))
    time.sleep(3.2)
    stop(a.proc)
    time.sleep(2.0)
    b = Run("restart-c2", state_block(sock, None))
    finish(label, b, ledger)
    stop(sim)

    fig = account([a, b], Ledgers([ledger]))
    check_exact(label, fig)
    gap = sorted(s for _, s in fig["uncovered"])
    a_last = max(r["LostRequests"]["meta"]["sagemaker:seq_last"]
                 for r in a.reads())
    contiguous = bool(gap) and gap == list(range(gap[0], gap[-1] + 1)) and \
        gap[0] == a_last + 1
    tap.ok(fig["doubled"] == 0, "%s: nothing counted twice" % label)
    tap.ok(contiguous and fig["lost"] == 0,
           "%s: %d of %d requests lost across the restart, those completed "
           "while collectd was down (seqs %s..%s), not in LostRequests"
           % (label, len(gap), fig["announced"], gap[0] if gap else "-",
              gap[-1] if gap else "-"))
    no_sanitizer_reports(label, [a, b])


# ------------------------------------------------------------------ (d)
def scenario_runtime_restarts():
    label = "runtime restarts"
    work, state, (sim, sock, ledger1) = under_load("restart-d", 24, 30)
    a = Run("restart-d1", state_block(sock, state, PageSize=50))
    time.sleep(2.1)
    os.kill(sim.pid, signal.SIGUSR1)  # restart while collectd reads
    time.sleep(1.6)
    stop(a.proc)
    os.kill(sim.pid, signal.SIGUSR1)  # and while it is down
    time.sleep(1.0)
    b = Run("restart-d2", state_block(sock, state, PageSize=50))
    time.sleep(2.2)
    # The runtime goes away with its socket; another takes the path.
    stop(sim)
    tap.ok(not os.path.exists(sock), "%s: the socket is gone" % label)
    ledger2 = work.file("sim2.ledger.jsonl")
    sim2 = start([SIM, "--socket", sock, "--ledger", ledger2, "--seed", "25",
                  "--rate", "300", "--duration", "3", "--mix", MIX],
                 work.file("sim2.log"))
    tap.ok(wait_for(lambda: os.path.exists(sock), 10),
           "%s: a new runtime listens on the same path" % label)
    finish(label, b, ledger2)
    stop(sim2)

    led = Ledgers([ledger1, ledger2])
    tap.eq(len(led.boots), 4, "%s: four boots (two restarts, a new runtime)"
           % label)
    fig = account([a, b], led)
    check_exact(label, fig)
    tap.ok(fig["doubled"] == 0, "%s: nothing counted twice" % label)
    tap.eq(fig["covered"] + fig["lost"], fig["announced"],
           "%s: covered (%d) + LostRequests (%d) = announced (%d)"
           % (label, fig["covered"], fig["lost"], fig["announced"]))
    seen_boots = {r["LostRequests"]["meta"]["sagemaker:boot_id"]
                  for run in (a, b) for r in run.reads()}
    tap.ok(set(led.boots) <= seen_boots,
           "%s: every boot was read, the one born while collectd was down "
           "too" % label)
    tap.ok(fig["notif_missing"] == 0 and fig["notif_doubled"] == 0,
           "%s: one notification per failed request" % label)
    no_sanitizer_reports(label, [a, b])


# ------------------------------------------------------------------ (e)
def scenario_overflow_while_down():
    label = "ring overflow while down"
    work, state, (sim, sock, ledger) = under_load("restart-e", 26, 7,
                                                  "--ring", "200")
    a = Run("restart-e1", state_block(sock, state))
    time.sleep(2.2)
    stop(a.proc)
    time.sleep(2.0)  # ~600 completions, the ring holds 200
    b = Run("restart-e2", state_block(sock, state))
    finish(label, b, ledger)
    stop(sim)

    led = Ledgers([ledger])
    fig = account([a, b], led)
    check_exact(label, fig)
    gone = len(led.skipped(led.boots[0]))
    tap.ok(fig["lost"] > 0 and fig["lost"] == gone,
           "%s: LostRequests (%d) = the seqs the runtime no longer held (%d)"
           % (label, fig["lost"], gone))
    tap.ok(fig["doubled"] == 0 and fig["uncounted"] == 0,
           "%s: covered (%d) + LostRequests (%d) = announced (%d)"
           % (label, fig["covered"], fig["lost"], fig["announced"]))
    no_sanitizer_reports(label, [a, b])


# ------------------------------------------------------------------ (f)
def scenario_socket_owner():
    label = "SocketOwner"
    work = Workdir("owner")
    sim, sock, ledger = start_sim(work, ["--seed", "27", "--rate", "50"])
    link = work.file("link.sock")
    os.symlink(sock, link)
    root = os.geteuid() == 0
    if root:
        os.chown(sock, 65534, 65534)
    blocks = [runtime_block("default", sock, Interval=1, Timeout=0.8),
              runtime_block("nobody", sock, Interval=1, Timeout=0.8,
                            SocketOwner=65534),
              runtime_block("link", link, Interval=1, Timeout=0.8)]
    run = Run("owner", plugin_block(*blocks))
    time.sleep(3.3)
    stop(run.proc)
    stop(sim)
    text = read_text(run.log)
    refused = [l for l in text.splitlines() if 'runtime "default"' in l and
               "owned by uid 65534" in l]
    if root:
        tap.ok(refused and "expected root (uid 0)" in refused[0] and
               sock in refused[0],
               "%s: a socket of uid 65534 is refused, naming the path, the "
               "owner and what was expected" % label, text[-2000:])
        tap.ok(1 <= len(refused) <= 2,
               "%s: the refusal is rate-limited (%d lines in 3 reads)"
               % (label, len(refused)))
        tap.eq(len(run.reads("default")), 0,
               "%s: nothing read from the refused socket" % label)
        tap.ok(len(run.reads("nobody")) >= 2,
               "%s: SocketOwner 65534 accepts it (%d reads)"
               % (label, len(run.reads("nobody"))))
    else:
        for what in ("a socket of uid 65534 is refused",
                     "the refusal is rate-limited",
                     "nothing read from the refused socket",
                     "SocketOwner 65534 accepts it"):
            tap.ok(True, "%s: %s # SKIP not root: cannot chown the socket"
                   % (label, what))
    linked = [l for l in text.splitlines() if 'runtime "link"' in l and
              "symbolic link" in l]
    tap.ok(linked and link in linked[0],
           "%s: a symbolic link to the socket is refused" % label,
           text[-2000:])
    tap.eq(len(run.reads("link")), 0,
           "%s: nothing read through the link" % label)
    no_sanitizer_reports(label, [run])


# ------------------------------------------------------------------ (g)
def scenario_bad_state():
    label = "bad state file"
    work = Workdir("badstate")
    sim, sock, ledger = start_sim(work, ["--seed", "28", "--rate", "100"])
    cut = work.file("cut.state")
    other = work.file("other.state")
    with open(cut, "w") as f:
        f.write("sagemaker_async state 1\nruntime cut\nboot_id 0d5b")
    with open(other, "w") as f:
        # A valid file, but of the runtime "elsewhere".
        body = ("sagemaker_async state 1\nruntime elsewhere\nboot_id x\n"
                "seq 1\nnext_seq 2\nsaved_ms 0\n")
        f.write(body + "crc32 %08x\n" % zlib.crc32(body.encode()))
    run = Run("badstate", plugin_block(
        runtime_block("cut", sock, Interval=1, Timeout=0.8, StateFile=cut),
        runtime_block("other", sock, Interval=1, Timeout=0.8,
                      StateFile=other)))
    time.sleep(2.5)
    code, _ = stop(run.proc)
    stop(sim)
    tap.eq(code, 0, "%s: collectd runs on and exits 0" % label)
    text = read_text(run.log)
    for name, path, why in (("cut", cut, "truncated"),
                            ("other", other, 'written for runtime "elsewhere"')):
        lines = [l for l in text.splitlines() if "[error]" in l and
                 'runtime "%s"' % name in l and path in l]
        tap.ok(lines and why in lines[0] and path + ".corrupt" in lines[0],
               "%s: %s: an error names the file and the fault, and where it "
               "went" % (label, name), lines or text[-1500:])
        tap.ok(os.path.exists(path + ".corrupt"),
               "%s: %s: the file is set aside as .corrupt" % (label, name))
        tap.ok("runtime \"%s\": boot" % name in text and
               len(run.reads(name)) >= 1,
               "%s: %s: read as on first contact (%d reads)"
               % (label, name, len(run.reads(name))))
        tap.ok(Ledger(ledger).boots and
               open(path).read().startswith("sagemaker_async state 1\n"
                                            "runtime %s\n" % name),
               "%s: %s: a new state file replaces it" % (label, name))
    no_sanitizer_reports(label, [run])


t0 = time.monotonic()
scenario_sigterm()
scenario_sigkill()
scenario_no_state()
scenario_runtime_restarts()
scenario_overflow_while_down()
scenario_socket_owner()
scenario_bad_state()
tap.note("took %.1f s" % (time.monotonic() - t0))
tap.done()
