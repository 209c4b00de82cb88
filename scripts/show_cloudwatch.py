#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads the SageMaker metrics back from a CloudWatch endpoint with the AWS
SDK (boto3) and prints one row per metric and dimension set with its
statistics over the last minutes; then the endpoints' data logs from
CloudWatch Logs at the same endpoint. With --png it also draws the backlog,
the backlog per instance and the p50/p99 of ModelLatency and
TotalProcessingTime per period, with gnuplot.

  show_cloudwatch.py [--minutes M] [--period S] [--png FILE] URL NAMESPACE
  show_cloudwatch.py --received URL

Percentiles. CloudWatch computes p50 and p99 itself from the Values and
Counts it was sent; moto_server, the local CloudWatch of the demo and the
tests, computes none (GetMetricStatistics leaves ExtendedStatistics out of
its datapoints, GetMetricData fails on a percentile statistic), and its
/moto-api/data.json dump holds the stored values without their timestamps
or dimensions. So the percentiles here are computed by this script, by
nearest rank, from the Values/Counts datums moto_server received, as its
request recorder kept them (moto_server started with
MOTO_ENABLE_RECORDING=1; GET /moto-api/recorder/download-recording). A
period's percentiles are shown only when they are over exactly what moto
stored for that period: its SampleCount, Minimum and Maximum from
GetMetricStatistics must equal those of the recorded samples. Timings
published as statistic sets only have no percentiles ("no percentile
data"); the chart then shows their average and maximum.

--received prints one line: the datums and log events moto_server received
so far, from the same recording (for progress lines).
"""
import argparse
import base64
import datetime
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import urllib.request

# The panels of the chart: metric, what to plot, y-axis label, scale.
BACKLOG = ["ApproximateBacklogSize", "ApproximateBacklogSizePerInstance"]
TIMINGS = [("ModelLatency", "ms", 1e-3), ("TotalProcessingTime", "ms", 1.0)]
PCT_NOTE = ("p50/p99: nearest rank over the Values/Counts moto_server "
            "stored (from its request recording); CloudWatch computes "
            "these itself")
NO_PCT_NOTE = ("no percentile data: the timings reached moto_server as "
               "statistic sets only; CloudWatch computes p50/p99 from "
               "Values/Counts itself")


def recording(url):
    """The requests moto_server's recorder kept, or None (with why)."""
    try:
        with urllib.request.urlopen(
                url + "/moto-api/recorder/download-recording",
                timeout=10) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError as e:
        return None, "no request recording at %s (%s)" % (url, e)
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out, None


def json_body(req, target):
    """The JSON body of a recorded AWS JSON request for target (an
    X-Amz-Target suffix), else None. Query and CBOR requests are not
    decoded."""
    h = {k.lower(): v for k, v in (req.get("headers") or {}).items()}
    if not h.get("x-amz-target", "").endswith("." + target):
        return None
    body = req.get("body") or ""
    raw = base64.b64decode(body) if req.get("body_encoded") else \
        body.encode("utf-8")
    if h.get("content-encoding", "").lower() == "gzip":
        raw = gzip.decompress(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return None


def recorded_series(reqs, ns):
    """Every (metric, dimensions) PutMetricData of namespace ns carried in
    the recording, as ListMetrics would list them."""
    out = set()
    for req in reqs:
        body = json_body(req, "PutMetricData")
        if not body or body.get("Namespace") != ns:
            continue
        for d in body.get("MetricData", []):
            out.add((d["MetricName"], tuple(sorted(
                (x["Name"], x["Value"]) for x in d.get("Dimensions", [])))))
    return out


def recorded_values(reqs, ns):
    """(metric, dimensions) -> [(timestamp, [(value, count)])] of every
    Values datum of namespace ns the recording holds."""
    out = {}
    for req in reqs:
        body = json_body(req, "PutMetricData")
        if not body or body.get("Namespace") != ns:
            continue
        for d in body.get("MetricData", []):
            if not d.get("Values"):
                continue
            dims = tuple(sorted((x["Name"], x["Value"])
                                for x in d.get("Dimensions", [])))
            counts = d.get("Counts") or [1] * len(d["Values"])
            out.setdefault((d["MetricName"], dims), []).append(
                (float(d["Timestamp"]),
                 [(float(v), int(c)) for v, c in zip(d["Values"], counts)]))
    return out


def percentile(samples, p):
    """Nearest rank: the smallest value with at least p% of the samples
    at or below it. samples: [(value, count)]."""
    samples = sorted(samples)
    n = sum(c for _, c in samples)
    rank = max(1, math.ceil(p / 100.0 * n))
    seen = 0
    for v, c in samples:
        seen += c
        if seen >= rank:
            return v
    return None


def percentiles_per_period(datums, dps, period):
    """{period start: (p50, p99)} for the datapoints dps whose samples the
    recorded datums account for exactly; and how many did not."""
    out = {}
    partial = 0
    for dp in dps:
        t0 = dp["Timestamp"].timestamp()
        samples = [s for t, ss in datums if t0 <= t < t0 + period for s in ss]
        n = sum(c for _, c in samples)
        if n == 0:
            continue
        if n != dp["SampleCount"] or \
                min(v for v, _ in samples) != dp["Minimum"] or \
                max(v for v, _ in samples) != dp["Maximum"]:
            partial += 1
            continue
        out[t0] = (percentile(samples, 50), percentile(samples, 99))
    return out, partial


def received(url):
    reqs, why = recording(url)
    if reqs is None:
        print(why)
        return 1
    datums = puts = events = batches = 0
    for req in reqs:
        body = json_body(req, "PutMetricData")
        if body:
            puts += 1
            datums += len(body.get("MetricData", []))
        body = json_body(req, "PutLogEvents")
        if body:
            batches += 1
            events += len(body.get("logEvents", []))
    print("%d datums in %d requests, %d log events in %d"
          % (datums, puts, events, batches))
    return 0


def fmt(v, width, spec="%.6g"):
    return ("%*s" % (width, "-")) if v is None else ("%*s" % (width, spec % v))


def chart(png, series, pct, period, url, ns):
    """Writes the data file and the gnuplot script next to png and runs
    gnuplot. Returns a line saying what was written."""
    base = os.path.splitext(png)[0]
    dat, gp = base + ".dat", base + ".gp"
    cols = ["time"] + BACKLOG
    for m, _, _ in TIMINGS:
        cols += [m + "." + s for s in ("p50", "p99", "avg", "max")]
    rows = {}

    def put(t, col, v):
        rows.setdefault(t, {})[col] = v

    for m in BACKLOG:
        for dp in series.get(m, []):
            put(dp["Timestamp"].timestamp(), m,
                dp["Sum"] / dp["SampleCount"])
    have_pct = {}
    for m, _, scale in TIMINGS:
        have_pct[m] = bool(pct.get(m))
        for t, (p50, p99) in pct.get(m, {}).items():
            put(t, m + ".p50", p50 * scale)
            put(t, m + ".p99", p99 * scale)
        for dp in series.get(m, []):
            t = dp["Timestamp"].timestamp()
            put(t, m + ".avg", dp["Sum"] / dp["SampleCount"] * scale)
            put(t, m + ".max", dp["Maximum"] * scale)
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    with open(dat, "w") as f:
        f.write("# " + "\t".join(cols) + "\n")
        for t in sorted(rows):
            f.write("\t".join(["%d" % t] + [
                "%.6g" % rows[t][c] if c in rows[t] else "NaN"
                for c in cols[1:]]) + "\n")

    col = {c: i + 1 for i, c in enumerate(cols)}
    lines = [
        "# gnuplot script written by show_cloudwatch.py; data in the .dat",
        'set terminal pngcairo noenhanced size 1000,1150 font "sans,10"',
        'set output "%s"' % png,
        'set datafile missing "NaN"',
        "set xdata time",
        'set timefmt "%s"',
        'set format x "%H:%M:%S"',
        "set grid",
        "set key top right opaque",
        "set lmargin 12",
        "set xrange [%d:%d]" % (min(rows, default=0) - period / 2,
                                max(rows, default=0) + period / 2),
        'set multiplot layout 4,1 title "%s at %s, read back with boto3 '
        '(period %d s; times UTC)"' % (ns, url, period),
    ]
    for m in BACKLOG:
        lines += ['set title "%s (Average per period)"' % m,
                  'set ylabel "requests"',
                  'plot "%s" using 1:%d with linespoints lw 2 pt 7 ps 0.6 '
                  'title "%s"' % (dat, col[m], m)]
    for i, (m, unit, _) in enumerate(TIMINGS):
        if have_pct[m]:
            title = "%s p50 and p99 per period" % m
            plots = ['"%s" using 1:%d with linespoints lw 2 pt 7 ps 0.6 '
                     'title "p50"' % (dat, col[m + ".p50"]),
                     '"%s" using 1:%d with linespoints lw 2 pt 7 ps 0.6 '
                     'title "p99"' % (dat, col[m + ".p99"])]
        else:
            title = ("%s: no percentile data (statistic sets only); "
                     "Average and Maximum per period" % m)
            plots = ['"%s" using 1:%d with linespoints lw 2 pt 7 ps 0.6 '
                     'title "Average"' % (dat, col[m + ".avg"]),
                     '"%s" using 1:%d with linespoints lw 1 dt 2 pt 6 '
                     'ps 0.6 title "Maximum"' % (dat, col[m + ".max"])]
        if i == len(TIMINGS) - 1:
            note = PCT_NOTE if any(have_pct.values()) else NO_PCT_NOTE
            lines.append('set xlabel "%s"' % note.replace('"', "'"))
        lines += ['set title "%s"' % title,
                  'set ylabel "%s (log scale)"' % unit,
                  "set logscale y", "plot " + ", ".join(plots)]
    lines.append("unset multiplot")
    with open(gp, "w") as f:
        f.write("\n".join(lines) + "\n")

    if not rows:
        return "chart: no datapoints to draw"
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return ("chart: gnuplot is not installed (apt-get install "
                "gnuplot-nox); data in %s, script in %s" % (dat, gp))
    r = subprocess.run([gnuplot, gp], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        return "chart: gnuplot failed (%d): %s" % (r.returncode,
                                                   r.stderr.strip()[-500:])
    return "chart: %s (data %s, gnuplot script %s)" % (png, dat, gp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("namespace", nargs="?")
    ap.add_argument("minutes_pos", nargs="?", type=int, metavar="MINUTES")
    ap.add_argument("--minutes", type=int, default=15,
                    help="how far back to read (15)")
    ap.add_argument("--period", type=int, default=60,
                    help="seconds per datapoint (60; 1, 5, 10 or 30 for "
                    "high-resolution metrics)")
    ap.add_argument("--png", help="draw the chart to this file")
    ap.add_argument("--received", action="store_true",
                    help="only say what moto_server received so far")
    a = ap.parse_args()
    if a.received:
        return received(a.url)
    if a.namespace is None:
        ap.error("NAMESPACE is required")
    import boto3  # not needed by --received, which runs every few seconds

    url, ns = a.url, a.namespace
    minutes = a.minutes_pos or a.minutes
    cw = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="demo", aws_secret_access_key="demo")
    now = datetime.datetime.now(datetime.timezone.utc)
    reqs, why = recording(url)
    values = recorded_values(reqs, ns) if reqs is not None else {}

    seen = set()
    rows = []
    series = {}  # metric -> datapoints, of its one dimension set
    pct = {}  # metric -> {period start: (p50, p99)}
    partial = 0
    if reqs is not None:
        # moto_server's ListMetrics slows down with the number of values it
        # holds (each Value is a datapoint of its own): take the series
        # from what was sent instead.
        metrics = [{"MetricName": n,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims]}
                   for n, dims in sorted(recorded_series(reqs, ns))]
    else:
        paginator = cw.get_paginator("list_metrics")
        metrics = [m for page in paginator.paginate(Namespace=ns)
                   for m in page["Metrics"]]
    for m in metrics:
        dims = tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
        key = (m["MetricName"], dims)
        if key in seen:
            continue
        seen.add(key)
        dps = cw.get_metric_statistics(
            Namespace=ns, MetricName=m["MetricName"],
            Dimensions=[{"Name": n, "Value": v} for n, v in dims],
            StartTime=now - datetime.timedelta(minutes=minutes),
            EndTime=now + datetime.timedelta(minutes=1), Period=a.period,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"],
        )["Datapoints"]
        if not dps:
            continue
        dps.sort(key=lambda d: d["Timestamp"])
        series.setdefault(m["MetricName"], dps)
        n = sum(d["SampleCount"] for d in dps)
        s = sum(d["Sum"] for d in dps)
        p50 = p99 = None
        if key in values:
            # Over the whole window: every period's samples, if moto
            # stored exactly the recorded ones in every period.
            per, bad = percentiles_per_period(values[key], dps, a.period)
            partial += bad
            pct[m["MetricName"]] = per
            samples = [x for _, ss in values[key] for x in ss]
            if not bad and sum(c for _, c in samples) == n:
                p50, p99 = percentile(samples, 50), percentile(samples, 99)
        rows.append((m["MetricName"], ",".join(v for _, v in dims),
                     dps[0].get("Unit", ""), n, s, s / n if n else 0,
                     min(d["Minimum"] for d in dps),
                     max(d["Maximum"] for d in dps), p50, p99))
    rows.sort(key=lambda r: r[:2])
    print("%-34s %-26s %-12s %9s %14s %12s %11s %12s %11s %11s" % (
        "metric", "dimensions", "unit", "samples", "sum", "average",
        "minimum", "maximum", "p50*", "p99*"))
    for r in rows:
        print("%-34s %-26s %-12s %9d %14.6g %12.6g %11.6g %12.6g %s %s"
              % (r[:8] + (fmt(r[8], 11), fmt(r[9], 11))))
    print("(%d metrics read back from %s, namespace %s, period %d s)"
          % (len(rows), url, ns, a.period))
    if reqs is None:
        print("* no percentile data: " + why)
    elif not pct:
        print("* " + NO_PCT_NOTE)
    else:
        print("* " + PCT_NOTE + "; '-': not all of the metric's samples "
              "were sent as Values" + (
                  " (periods left out: %d)" % partial if partial else ""))

    if a.png:
        print(chart(a.png, series, pct, a.period, url, ns))

    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")
    for g in logs.describe_log_groups(
            logGroupNamePrefix="/aws/sagemaker/Endpoints/")["logGroups"]:
        for st in logs.describe_log_streams(
                logGroupName=g["logGroupName"])["logStreams"]:
            evs = logs.get_log_events(logGroupName=g["logGroupName"],
                                      logStreamName=st["logStreamName"],
                                      startFromHead=True)["events"]
            print("\ndata log %s, stream %s: %d events; the last ones:"
                  % (g["logGroupName"], st["logStreamName"], len(evs)))
            for e in evs[-3:]:
                print("  " + e["message"])
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
