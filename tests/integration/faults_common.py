# SPDX-License-Identifier: MIT
"""What the fault-injection tests share: the stack they run (the runtime
simulator, the real collectd with sagemaker_async and write_cloudwatch,
the scripted fake CloudWatch) and the accounting that holds what the fake
accepted against the simulator's ledger.

Accounting. write_cloudwatch runs with StorageResolution 1 and collectd's
Interval 1, so every read of sagemaker_async becomes datums timestamped
with the read's second. The ledger says which requests each read covered
(the seq range on its values, which the capture plugin records) and what
their counts and statistic sets must be; the datums accepted for a second
say how many times each read of that second arrived (SampleCount of
InvocationsProcesssed is the number of reads delivered, and the counts and
statistic sets must add up). From that, every request of the ledger gets
the number of times it reached CloudWatch: zero is lost, two is counted
twice. A request the read plugin never covered is lost too. The totals
are then checked against an independent sum: InvocationsProcesssed plus
ExpiredRequests over every accepted datum must equal the requests
delivered, counting duplicates.

The data log (DataLog true, LogsEndpoint the fake) is held against the
same ledger: every failed or expired request the read plugin covered
must arrive as one event in its endpoint's log group and its variant's
and instance's stream, as many times as the notifications of its read
were dispatched (DataLogAccounting).
"""
import gzip
import itertools
import json
import math
import os
import re
import time
from collections import defaultdict

from harness import (PLUGIN_DIR, collectd_conf, plugin_block, read_jsonl,
                     read_text, runtime_block, sanitizer_reports,
                     start_collectd, start_sim, stop, wait_for)
from ledger import COUNTS, GAUGES, STATS, Ledger, expected

NS = "SageMaker/AsyncInference"
INSTANCE = "main"
# Requests a second the runtime simulator generates.
RATE = 40


# ------------------------------------------------------------------ stack


def use_fake_credentials(fake):
    """collectd (started after this) takes its credentials from the fake's
    container-credentials endpoint, so that a token can be revoked."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
              "AWS_CONTAINER_AUTHORIZATION_TOKEN",
              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        os.environ.pop(k, None)
    os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = fake.creds_url


def wcw_block(fake, flush=1, timeout=2, attempts=5, shutdown=4, extra=(),
              datalog=False):
    """write_cloudwatch against the fake. The data log only when asked
    (DataLog true, LogsEndpoint the fake: both services on its port).
    StorageResolution 1 keeps every read in a datum of its own second (see
    the accounting above); Compress true sends the bodies gzipped."""
    lines = ['PluginDir "%s"' % PLUGIN_DIR, "LoadPlugin write_cloudwatch",
             "<Plugin write_cloudwatch>",
             '  Region "us-east-1"',
             '  Endpoint "%s"' % fake.url,
             '  Namespace "%s"' % NS]
    if datalog:
        lines += ["  DataLog true", '  LogsEndpoint "%s"' % fake.url]
    else:
        lines += ["  DataLog false"]
    lines += ["  FlushInterval %s" % flush,
              "  StorageResolution 1",
              "  Compress true",
              "  Timeout %s" % timeout,
              "  MaxAttempts %d" % attempts,
              "  ShutdownTimeout %s" % shutdown]
    lines += ["  " + e for e in extra]
    lines.append("</Plugin>")
    return "\n".join(lines)


def start_load(work, seed, seconds=None, *more):
    """The runtime simulator generating RATE requests a second from seed,
    for seconds (None: until stopped), with the options in more."""
    args = ["--seed", str(seed), "--rate", str(RATE)]
    if seconds is not None:
        args += ["--duration", str(seconds)]
    return start_sim(work, args + list(more) + ["--quiet"])


def drain_and_stop(tap, cd, sim, out, ledger, what, logs=False, wait=40,
                   label=""):
    """Waits until the run drained (drained(); what says so), lets the own
    counters go out once more, stops collectd, which must exit 0, and the
    simulator. Returns when the run had drained."""
    tap.ok(wait_for(lambda: drained(out, ledger, logs=logs), wait, step=0.5),
           what)
    t_drained = time.time()
    time.sleep(1.5)
    code, took = stop(cd, timeout=30)
    stop(sim)
    tap.eq(code, 0, "%scollectd exits 0 (in %.1f s)"
           % (label + ": " if label else "", took))
    return t_drained


def write_conf(work, sock, wcw, runtime_opts=None):
    opts = {"Interval": 1, "Timeout": 0.8}
    opts.update(runtime_opts or {})
    return collectd_conf(
        work, plugin_block(runtime_block(INSTANCE, sock, **opts)) + "\n" + wcw)


def unknown_options(log):
    """Options collectd's plugins refused as unknown, from the log."""
    return sorted(set(re.findall(r'unknown option "([^"]+)"', read_text(log))))


def start_or_refused(work, conf, log, wanted, wait_for, imds_endpoint=None):
    """Starts collectd. Returns (process, None), or (None, options) when it
    refused some of `wanted` as unknown and exited."""
    cd = start_collectd(work, conf, imds_endpoint)
    wait_for(lambda: cd.poll() is not None or
             "entering read-loop" in read_text(log), 10)
    refused = [o for o in unknown_options(log) if o in wanted]
    if cd.poll() is not None and refused:
        return None, refused
    return cd, None


def own_counters(captured, instance="0"):
    """write_cloudwatch's own values, oldest first: (time, name, value)."""
    out = []
    for v in captured:
        if v["kind"] == "value" and v["plugin"] == "write_cloudwatch" and \
                v["plugin_instance"] == instance:
            out.append((v["time"], v["type"] + "-" + v["type_instance"],
                        v["values"][0]))
    return out


def last_counter(captured, name, default=None):
    val = default
    for _, n, v in own_counters(captured):
        if n == name:
            val = v
    return val


def counter_at(captured, name, t):
    """The last value of a counter dispatched at or before time t."""
    val = None
    for tt, n, v in own_counters(captured):
        if n == name and tt <= t:
            val = v
    return val


def kill(p, sig):
    os.kill(p.pid, sig)
    p.wait()


# ------------------------------------------------------------- accounting


class Read:
    def __init__(self, run, time, values):
        self.run = run
        self.time = time
        self.second = int(math.floor(time))
        self.values = values
        m = values["InvocationsProcesssed"]["meta"]
        self.boot = m.get("sagemaker:boot_id")
        self.first = m.get("sagemaker:seq_first")
        self.last = m.get("sagemaker:seq_last")
        self.records = []
        self.counts = None
        self.stats = None


def empty_agg():
    return {"count": 0, "sum": 0.0, "min": None, "max": None}


def agg_add(a, count, total, mn, mx):
    a["count"] += count
    a["sum"] += total
    if mn is not None:
        a["min"] = mn if a["min"] is None else min(a["min"], mn)
    if mx is not None:
        a["max"] = mx if a["max"] is None else max(a["max"], mx)


def accepted_by_second(datums, ns=NS):
    """{(metric, second): {count, sum, min, max}} over accepted datums:
    statistic sets as they are, Values/Counts as their samples."""
    out = defaultdict(empty_agg)
    for d in datums:
        if d["ns"] != ns:
            continue
        a = out[(d["name"], int(d["ts"]))]
        if "StatisticValues" in d:
            s = d["StatisticValues"]
            agg_add(a, s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"])
        elif "Values" in d:
            vals = d["Values"]
            cnts = d.get("Counts") or [1] * len(vals)
            agg_add(a, sum(cnts), sum(v * c for v, c in zip(vals, cnts)),
                    min(vals), max(vals))
        else:
            v = d["Value"]
            agg_add(a, 1, v, v, v)
    return out


class Ledgers:
    """The ledgers of one or more simulator processes, as one."""

    def __init__(self, paths):
        self.parts = [Ledger(p) for p in paths]
        self.requests = {}
        for led in self.parts:
            for boot, recs in led.requests.items():
                self.requests.setdefault(boot, {}).update(recs)
        self.boots = [b for led in self.parts for b in led.boots]

    def first_snapshot_seq(self, boot):
        for led in self.parts:
            for e in led.snapshots:
                if e["boot_id"] == boot:
                    return e["next_seq"]
        return None

    def skipped(self, boot):
        gone = set()
        for led in self.parts:
            gone |= led.skipped(boot)
        return gone

    def max_announced(self, boot):
        return max(led.max_announced(boot) for led in self.parts)


class Accounting:
    """captures: the capture plugin's records of each collectd run;
    starts: {boot: first seq the read plugin must count} (default: the
    first snapshot's next_seq for the first boot, 1 for later ones)."""

    def __init__(self, ledgers, captures, datums, starts=None):
        self.led = ledgers
        self.reads = []
        for run, captured in enumerate(captures):
            by_time = defaultdict(dict)
            for v in captured:
                if v["kind"] == "value" and v["plugin"] == "sagemaker_async" \
                        and v["plugin_instance"] == INSTANCE:
                    by_time[v["time"]][v["type_instance"]] = v
            for t in sorted(by_time):
                if "InvocationsProcesssed" in by_time[t]:
                    self.reads.append(Read(run, t, by_time[t]))
        self.reads.sort(key=lambda r: r.time)
        gone = {b: ledgers.skipped(b) for b in ledgers.requests}
        self.coverage = defaultdict(list)  # (boot, seq) -> reads
        for r in self.reads:
            recs = ledgers.requests.get(r.boot, {})
            if r.first is not None and r.last is not None:
                for s in range(r.first, r.last + 1):
                    if s in recs and s not in gone.get(r.boot, ()):
                        r.records.append(recs[s])
                        self.coverage[(r.boot, s)].append(r)
            r.counts, r.stats = expected(r.records)
        self.accepted = accepted_by_second(datums)
        self._solve()
        self._expected_records(starts or {})

    # -- how many times each read arrived

    def _solve(self):
        by_second = defaultdict(list)
        for r in self.reads:
            by_second[r.second].append(r)
        self.inconsistent = []  # seconds no multiplicity explains
        for sec, reads in by_second.items():
            got = {k: self.accepted.get((k, sec), empty_agg())
                   for k in COUNTS + STATS}
            n = got["InvocationsProcesssed"]["count"]
            found = None
            # Earlier reads first: at a kill the later ones are lost.
            for ms in itertools.product((1, 0, 2), repeat=len(reads)):
                if sum(ms) != n:
                    continue
                if all(sum(m * r.counts[k] for m, r in zip(ms, reads)) ==
                       got[k]["sum"] for k in COUNTS) and \
                   all(sum(m * r.stats[k]["count"] for m, r in zip(ms, reads))
                       == got[k]["count"] for k in STATS):
                    found = ms
                    break
            if found is None:
                self.inconsistent.append(sec)
                found = tuple(1 if i < n else 0 for i in range(len(reads)))
            for m, r in zip(found, reads):
                r.delivered = m

    def _expected_records(self, starts):
        """Every request the ledger says should reach CloudWatch: for each
        boot the read plugin saw, from where it had to start counting to
        the last request it covered."""
        self.expected_keys = []
        self.died = {}  # boot -> requests announced but never read
        boots_seen = []
        for r in self.reads:
            if r.boot not in boots_seen:
                boots_seen.append(r.boot)
        for i, boot in enumerate(boots_seen):
            if boot in starts:
                first = starts[boot]
            elif i == 0:
                first = self.led.first_snapshot_seq(boot)
            else:
                first = 1
            covered = [s for (b, s) in self.coverage if b == boot]
            last = max(covered) if covered else first - 1
            recs = self.led.requests.get(boot, {})
            gone = self.led.skipped(boot)
            for s in range(first, last + 1):
                if s in recs and s not in gone:
                    self.expected_keys.append((boot, s))
            announced = self.led.max_announced(boot)
            self.died[boot] = [s for s in range(last + 1, announced + 1)
                               if s in recs]

    def arrivals(self, key):
        return sum(r.delivered for r in self.coverage.get(key, []))

    def record_time(self, key):
        """When the request was counted (its first read), or, never read,
        when it completed."""
        reads = self.coverage.get(key)
        if reads:
            return reads[0].time
        return self.led.requests[key[0]][key[1]]["completed_ms"] / 1000.0

    def figures(self, t0=None, t1=None):
        """(requests, lost, counted twice) among the expected requests
        counted in [t0, t1)."""
        n = lost = twice = 0
        for key in self.expected_keys:
            t = self.record_time(key)
            if (t0 is not None and t < t0) or (t1 is not None and t >= t1):
                continue
            n += 1
            a = self.arrivals(key)
            if a == 0:
                lost += 1
            twice += max(0, a - 1)
        return n, lost, twice

    def lost_keys(self):
        return [k for k in self.expected_keys if self.arrivals(k) == 0]

    def independent_total(self):
        """InvocationsProcesssed + ExpiredRequests summed over every
        accepted datum, and the same from the ledger with each request
        counted as many times as it arrived."""
        got = sum(a["sum"] for (k, _), a in self.accepted.items()
                  if k in ("InvocationsProcesssed", "ExpiredRequests"))
        want = sum(self.arrivals(k) for k in self.expected_keys)
        return int(got), want

    def exact(self, partial_ok=()):
        """Per metric, the accepted totals against the ledger's, each read
        weighted by how many times it arrived. Seconds in partial_ok (reads
        cut in two by a kill, see partial()) are left out of both sides.
        Returns a list of differences (empty when exact)."""
        diffs = []
        skip = set(partial_ok)
        want = {k: empty_agg() for k in COUNTS + STATS}
        for r in self.reads:
            if r.second in skip:
                continue
            for _ in range(r.delivered):
                for k in COUNTS:
                    agg_add(want[k], 1, r.counts[k], None, None)
                for k in STATS:
                    s = r.stats[k]
                    if s["count"]:
                        agg_add(want[k], s["count"], s["sum"], s["min"],
                                s["max"])
        got = {k: empty_agg() for k in COUNTS + STATS}
        for (k, sec), a in self.accepted.items():
            if k in got and sec not in skip:
                agg_add(got[k], a["count"], a["sum"], a["min"], a["max"])
        for k in COUNTS + STATS:
            g, w = dict(got[k]), dict(want[k])
            if k in COUNTS:  # min/max of counts are per read: not kept here
                g["min"] = g["max"] = w["min"] = w["max"] = None
            if g != w:
                diffs.append("%s: accepted %r, ledger %r" % (k, g, w))
        bad = [sec for sec in self.inconsistent if sec not in skip]
        if bad:
            diffs.append("seconds whose datums no number of deliveries of "
                         "their reads explains: %s" % bad[:10])
        return diffs

    def partial(self):
        """{second: metrics that arrived} for the seconds whose reads
        arrived in part: some of a read's value lists reached the queue
        before a spill and the rest did not (a kill cuts a read's dispatch
        in two). A metric counts as arrived when its accepted datums carry
        at least one read's worth."""
        out = {}
        for sec in self.inconsistent:
            reads = [r for r in self.reads if r.second == sec]
            arrived = []
            for k in COUNTS + STATS:
                a = self.accepted.get((k, sec))
                if a is None:
                    continue
                if k in COUNTS and a["count"] >= 1:
                    arrived.append(k)
                elif k in STATS and a["count"] >= min(
                        r.stats[k]["count"] for r in reads):
                    arrived.append(k)
            out[sec] = arrived
        return out

    def gauges(self):
        """Every gauge sample of a delivered read, as collectd dispatched
        it, against the accepted statistic sets: a list of differences."""
        want = defaultdict(empty_agg)
        for r in self.reads:
            for _ in range(r.delivered):
                for k in GAUGES:
                    if k in r.values:
                        v = r.values[k]["values"][0]
                        agg_add(want[(k, r.second)], 1, v, v, v)
        diffs = []
        for key, w in want.items():
            g = self.accepted.get(key, empty_agg())
            if g["count"] != w["count"] or g["min"] != w["min"] or \
                    g["max"] != w["max"] or abs(g["sum"] - w["sum"]) > 1e-9 * \
                    max(1.0, abs(w["sum"])):
                diffs.append("%s at %d: accepted %r, dispatched %r"
                             % (key[0], key[1], g, w))
        return diffs

    def unattributed(self):
        """Accepted datums of seconds in which collectd dispatched no read
        (they cannot be checked against anything)."""
        seconds = {r.second for r in self.reads}
        return sorted({s for (k, s) in self.accepted
                       if k in COUNTS + STATS + GAUGES and s not in seconds})


def summary(n, lost, twice):
    return "%d of %d requests lost, %d counted twice" % (lost, n, twice)


def requests_between(puts, t0, t1):
    return [p for p in puts if t0 <= p["t"] < t1]


def max_in_window(times, width):
    """The most events within any window of `width` seconds."""
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def drained(capture_path, ledger_path, logs=False):
    """True once the read plugin has covered the last request in the
    ledger and write_cloudwatch's queue and spool are empty (as its
    latest own counters say); with logs, the data log's too."""
    last = max((e["seq"] for e in read_jsonl(ledger_path)
                if e["event"] == "request"), default=0)
    capt = read_jsonl(capture_path)
    seqs = [v["meta"].get("sagemaker:seq_last", 0) for v in capt
            if v["kind"] == "value" and
            v["type_instance"] == "InvocationsProcesssed"]
    return bool(seqs) and max(seqs) >= last and \
        last_counter(capt, "queue_length-datums") == 0 and \
        last_counter(capt, "queue_length-spool_datums", 0) == 0 and \
        (not logs or all(last_counter(capt, "queue_length-" + k, 0) == 0
                         for k in ("log_events", "log_events_unnamed",
                                   "spool_log_events")))


# --------------------------------------------------------------- data log


def datalog_names(ledgers, instance_id=None):
    """The log group and stream of the ledger's endpoint (its first
    snapshot), with the runtime's instance ID unless one is given."""
    snap = next(e for led in ledgers.parts for e in led.snapshots)
    iid = instance_id or snap.get("instance_id")
    return ("/aws/sagemaker/Endpoints/%s" % snap["endpoint_name"],
            "%s/%s/data-log" % (snap["variant_name"], iid), iid)


class DataLogAccounting:
    """The fake's accepted log events against the ledger, through the
    reads of an Accounting: each failed or expired request the read
    plugin covered must arrive once per dispatch of its read's
    notifications (a read counted twice after a SIGKILL repeats them)."""

    def __init__(self, acc, events, group, stream, instance_id):
        self.acc = acc
        self.group, self.stream, self.instance_id = group, stream, instance_id
        self.by_id = defaultdict(list)
        self.bad = []  # (what, event)
        for e in events:
            try:
                line = json.loads(e["message"])
            except ValueError:
                self.bad.append(("not JSON", e))
                continue
            self.by_id[line.get("inference_id")].append((e, line))
        recs = acc.led.requests
        self.expected = [k for k in acc.expected_keys
                         if recs[k[0]][k[1]]["outcome"] != "success"]
        self.ids = {recs[b][s]["inference_id"]: (b, s)
                    for b in recs for s in recs[b]}
        for iid, got in self.by_id.items():
            key = self.ids.get(iid)
            for e, line in got:
                if key is None:
                    self.bad.append(("not in the ledger", e))
                    continue
                r = recs[key[0]][key[1]]
                if (e["group"], e["stream"]) != (group, stream):
                    self.bad.append(("in %s:%s" % (e["group"], e["stream"]),
                                     e))
                if line.get("instance_id") != instance_id:
                    self.bad.append(("instance_id %r"
                                     % line.get("instance_id"), e))
                if e["ts"] != r["completed_ms"] or \
                        line.get("outcome") != r["outcome"] or \
                        line.get("seq") != r["seq"]:
                    self.bad.append(("timestamp, outcome or seq differ from "
                                     "the ledger's", e))

    def record(self, key):
        return self.acc.led.requests[key[0]][key[1]]

    def arrivals(self, key):
        return len(self.by_id.get(self.record(key)["inference_id"], []))

    def dispatches(self, key):
        """How many times the notification was dispatched: once per read
        that covered the request (a read repeated after a kill repeats its
        notifications, whether or not its values arrived)."""
        return len(self.acc.coverage.get(key, []))

    def figures(self):
        """(events expected, lost, counted twice)."""
        lost = sum(1 for k in self.expected if self.arrivals(k) == 0)
        twice = sum(max(0, self.arrivals(k) - 1) for k in self.expected)
        return len(self.expected), lost, twice

    def lost_keys(self):
        return [k for k in self.expected if self.arrivals(k) == 0]

    def unexpected(self):
        """Events of requests not expected (successes, requests never
        covered)."""
        want = {self.record(k)["inference_id"] for k in self.expected}
        return [iid for iid in self.by_id if iid not in want]


def datalog_summary(n, lost, twice):
    return "%d of %d failed or expired requests' events lost, %d twice" % (
        lost, n, twice)


def datalog_accounting(acc, fake, instance_id=None):
    """The fake's log events against acc's ledgers, in the log group and
    stream of their endpoint (datalog_names)."""
    group, stream, iid = datalog_names(acc.led, instance_id)
    return DataLogAccounting(acc, fake.events(), group, stream, iid)


# ----------------------------------------------------------------- checks
# What every fault test holds its run to, once the faults are over.


def check_exact(tap, acc, label="", partial_ok=()):
    """The metrics of the whole run against the ledger: the independent
    total, every count and statistic set (but the seconds in partial_ok,
    see Accounting.partial) and every gauge sample, exactly."""
    pre = label + ": " if label else ""
    got, want = acc.independent_total()
    tap.eq(got, want, "%sInvocationsProcesssed + ExpiredRequests summed over "
           "every accepted datum: %d, the ledger's requests delivered: %d"
           % (pre, got, want))
    tap.eq(acc.exact(partial_ok), [], "%severy count and statistic set "
           "accepted equals the ledger's, exactly%s"
           % (pre, " (but the read cut in two)" if partial_ok else ""))
    tap.eq(acc.gauges(), [], "%severy gauge sample of the delivered reads "
           "arrived once, exactly" % pre)


def check_datalog(tap, dl, label="", more=""):
    """Every failed or expired request's data-log event arrived once (more:
    what the test adds to that line), and every event is one the ledger
    has, in its stream, as the ledger has it."""
    pre = label + ": " if label else ""
    n, lost, twice = dl.figures()
    tap.ok(n > 0 and lost == 0 and twice == 0, "%sthe data log: %s%s"
           % (pre, datalog_summary(n, lost, twice), more),
           dl.lost_keys()[:10])
    tap.eq(dl.bad + [("unexpected", x) for x in dl.unexpected()], [],
           "%severy event in %s:%s with instance_id %s, as the ledger has it "
           "(completion time, outcome, seq), none unexpected"
           % (pre, dl.group, dl.stream, dl.instance_id))


def check_nothing_dropped(tap, captured, spool=False, logs=False):
    """write_cloudwatch's own counters of what it dropped (wcw_own.c), those
    of the spool and of the data log when it has them: each dispatched,
    and 0."""
    kinds = ["datums"] + (["log_events"] if logs else [])
    names = ["datums_dropped-" + k for k in ("queue_full", "invalid",
                                             "refused", "expired")]
    if logs:
        names += ["log_events_dropped-" + k for k in ("queue", "refused",
                                                      "invalid")]
    if spool:
        names += [k + "_dropped-spool_full" for k in kinds]
    dropped = {k: last_counter(captured, "derive-" + k) for k in names}
    tap.eq(dropped, dict.fromkeys(names, 0), "own counters: nothing dropped")


def check_end(tap, work, log_text, allowed=(), what="no error logged"):
    """collectd's log has no [error] line but those holding one of allowed,
    and the sanitizers reported nothing."""
    errors = [l for l in log_text.splitlines() if "[error]" in l and
              not any(a in l for a in allowed)]
    tap.eq(errors[:5], [], what)
    tap.ok(not sanitizer_reports(work), "no sanitizer reports",
           sanitizer_reports(work)[:10])


# ------------------------------------------------------------------ spool


def read_spool(directory):
    """Every batch file of a spool (cw_spool.h's format), oldest first:
    (header fields, the body decoded from JSON)."""
    out = []
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".spool"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        head, _, rest = data.partition(b"\n\n")
        lines = head.decode().split("\n")
        fields = {"version": lines[0]}
        for line in lines[1:]:
            k, _, v = line.partition(" ")
            fields[k] = v
        body = gzip.decompress(rest[:int(fields["length"])])
        out.append((fields, json.loads(body)))
    return out
