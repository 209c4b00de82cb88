# SPDX-License-Identifier: MIT
"""The simulator's ledger, and what runtime-api.md's mapping table says
the plugin must make of it. This is written from the API document alone,
independently of the plugin's C code."""
import math
from collections import defaultdict

from harness import read_jsonl

COUNTS = ["InvocationsProcesssed", "ExpiredRequests", "InvocationFailures",
          "RequestDownloadFailures", "ResponseUploadFailures",
          "NotificationFailures"]
STATS = ["ModelLatency", "RequestDownloadLatency", "ResponseUploadLatency",
         "TimeInBacklog", "TotalProcessingTime", "Invocation4XXErrors",
         "Invocation5XXErrors"]
GAUGES = ["ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
          "ApproximateAgeOfOldestRequest"]
# The value lists every read dispatches, once each.
READ_KEYS = frozenset(COUNTS + STATS + GAUGES + ["LostRequests"])


class Ledger:
    def __init__(self, path):
        self.events = read_jsonl(path)
        self.boots = [e["boot_id"] for e in self.events if e["event"] == "boot"]
        self.requests = {}  # boot_id -> {seq: record}
        self.snapshots = []
        self.pages = []
        for e in self.events:
            kind = e["event"]
            if kind == "request":
                self.requests.setdefault(e["boot_id"], {})[e["seq"]] = e
            elif kind == "snapshot":
                self.snapshots.append(e)
            elif kind == "page":
                self.pages.append(e)

    def skipped(self, boot):
        """Seqs of boot that a page served told the client were gone: for
        a page asked for after A whose first_seq F is above A + 1, the
        seqs A+1 .. F-1 (at most up to next_seq - 1). A client that
        accepted that page (or a retry of it, which reports the same seqs
        or more) counts exactly these as lost."""
        gone = set()
        for e in self.pages:
            if e["boot_id"] != boot:
                continue
            top = min(e["first_seq"], e["next_seq"]) - 1
            gone.update(range(e["after"] + 1, top + 1))
        return gone

    def max_announced(self, boot):
        """The highest seq of boot that any snapshot or page served
        announced (next_seq - 1): what a client could know existed."""
        m = 0
        for e in self.snapshots + self.pages:
            if e["boot_id"] == boot:
                m = max(m, e["next_seq"] - 1)
        return m


def empty_stats():
    return {"count": 0, "sum": 0.0, "min": None, "max": None}


def add(st, v):
    st["count"] += 1
    st["sum"] += v
    st["min"] = v if st["min"] is None else min(st["min"], v)
    st["max"] = v if st["max"] is None else max(st["max"], v)


def expected(records):
    """Counts and statistic sets of a list of ledger records."""
    counts = {k: 0 for k in COUNTS}
    stats = {k: empty_stats() for k in STATS}
    for r in records:
        expired = r["outcome"] == "expired"
        if expired:
            counts["ExpiredRequests"] += 1
        else:
            counts["InvocationsProcesssed"] += 1
            if r["outcome"] != "success":
                counts["InvocationFailures"] += 1
        if r.get("download_ok") is False:
            counts["RequestDownloadFailures"] += 1
        if r.get("upload_ok") is False:
            counts["ResponseUploadFailures"] += 1
        if r.get("notification") == "failed":
            counts["NotificationFailures"] += 1
        for name, v in samples_of(r):
            add(stats[name], v)
    return counts, stats


TIMINGS = ("ModelLatency", "RequestDownloadLatency", "ResponseUploadLatency",
           "TimeInBacklog", "TotalProcessingTime")


def samples_of(r):
    """The (metric, sample) pairs of one record's statistic-set metrics,
    by runtime-api.md's mapping table."""
    out = []
    if "status_code" in r:
        out.append(("Invocation4XXErrors", 1 if r["status_code"] // 100 == 4 else 0))
        out.append(("Invocation5XXErrors", 1 if r["status_code"] // 100 == 5 else 0))
    if "model_us" in r:
        out.append(("ModelLatency", r["model_us"]))
    if "download_us" in r:
        out.append(("RequestDownloadLatency", r["download_us"]))
    if "upload_us" in r:
        out.append(("ResponseUploadLatency", r["upload_us"]))
    if r["outcome"] != "expired":
        out.append(("TimeInBacklog", r["backlog_us"]))
        out.append(("TotalProcessingTime", r["total_ms"]))
    return out


def timing_samples(records):
    """Every sample of each timing metric in the records."""
    out = {k: [] for k in TIMINGS}
    for r in records:
        for name, v in samples_of(r):
            if name in out:
                out[name].append(v)
    return out


def percentile(values, p):
    """Nearest-rank percentile (0 < p <= 100) of a list of numbers."""
    s = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def stats_of_values(values):
    """A dispatched sagemaker_stats value list as the dict above."""
    count, total, mn, mx = values
    return {"count": int(count), "sum": total,
            "min": None if mn is None or (isinstance(mn, float) and math.isnan(mn)) else mn,
            "max": None if mx is None or (isinstance(mx, float) and math.isnan(mx)) else mx}


def failed(r):
    return r["outcome"] != "success"


def read_ranges(read):
    """The (boot_id, seq_first, seq_last) tags of one read's counts and
    statistic sets: a set of one when the read is consistent."""
    return {(v["meta"].get("sagemaker:boot_id"),
             v["meta"].get("sagemaker:seq_first"),
             v["meta"].get("sagemaker:seq_last"))
            for k, v in read.items() if k not in GAUGES}


class Span:
    """What one read covered: the boot and seq range its meta data names,
    the seqs of that range the runtime had not said were gone, and the
    records of those seqs the ledger holds."""

    def __init__(self, boot, first, last, seqs, records):
        self.boot, self.first, self.last = boot, first, last
        self.seqs, self.records = seqs, records


def compare_reads(reads, record, gone=lambda boot: ()):
    """Holds every complete read (all of READ_KEYS) against the ledger:
    its 6 counts and 7 statistic sets must equal expected() of exactly
    the records of the seq range its meta data names, leaving out the seqs
    gone(boot) says the runtime reported gone. record(boot, seq) is the
    ledger's record of a request, or None.

    Returns (spans, mismatches, lost): a Span per read whose range is not
    empty, in the order of the reads; what differed, one tuple each; the
    sum of the reads' LostRequests."""
    spans, mismatches, lost = [], [], 0
    gone_of = {}
    for r in reads:
        if set(r) != READ_KEYS:
            continue
        metas = read_ranges(r)
        if len(metas) != 1:
            mismatches.append(("ranges differ within a read", metas))
            continue
        boot, first, last = metas.pop()
        recs = []
        if first <= last:
            if boot not in gone_of:
                gone_of[boot] = gone(boot)
            seqs = [s for s in range(first, last + 1)
                    if s not in gone_of[boot]]
            recs = [x for x in (record(boot, s) for s in seqs)
                    if x is not None]
            spans.append(Span(boot, first, last, seqs, recs))
        counts, stats = expected(recs)
        for k in COUNTS:
            if r[k]["values"][0] != counts[k]:
                mismatches.append((boot, first, last, k, r[k]["values"][0],
                                   counts[k]))
        for k in STATS:
            got = stats_of_values(r[k]["values"])
            if got != stats[k]:
                mismatches.append((boot, first, last, k, got, stats[k]))
        lost += int(r["LostRequests"]["values"][0])
    return spans, mismatches, lost


def reads_of(captured, instance, plugin="sagemaker_async"):
    """The value lists one runtime dispatched, grouped by read (their
    time), oldest first, as (time, {type_instance: value list}); a type
    instance dispatched twice in one read is marked under "__dup__"."""
    reads = defaultdict(dict)
    for v in captured:
        if v["kind"] == "value" and v["plugin"] == plugin and \
                v["plugin_instance"] == instance:
            key = v["type_instance"]
            if key in reads[v["time"]]:
                reads[v["time"]]["__dup__"] = key
            reads[v["time"]][key] = v
    return [(t, reads[t]) for t in sorted(reads)]
