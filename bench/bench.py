# SPDX-License-Identifier: MIT
"""The benchmarks of collectd-sagemaker, side by side with their baselines.

Run through bench/run.sh (or `make bench`), which builds what is needed.
Every figure comes from real processes: the collectd daemon, the runtime
simulator, and bench_sink, a local HTTP server on 127.0.0.1 that answers
like CloudWatch and logs every request it accepts. A plugin and its
baseline are measured in the same round, in an order that rotates from
round to round, and compared round by round: this machine's speed drifts
by more than the differences being measured.

  write   collectd CPU per value dispatched (bench_load's fixed rate)
          through write_cloudwatch (Compress on and off), Debian's
          write_http (JSON; 4 KiB and 64 KiB buffers) and bench_null (the
          floor: collectd's own dispatch cost); CPU is utime+stime of the
          daemon from /proc/PID/stat over a steady window.
  api     PutMetricData requests and bytes per 1000 datums in those runs.
  read    bench_read: the plugin's read path against the simulator beside
          a bare yajl parse of the same bytes fed by libcurl over the same
          socket (the ratio that counts), and from memory the parser and
          aggregation (as deployed: with a percentile sketch per timing;
          and without) and yajl with callbacks that do nothing (the floor
          of any parser on yajl's callbacks) beside a bare yajl parse from
          memory.
  sketch  bench_sketch: a timing's percentile sketch (insert, then its
          Values/Counts) beside exact percentiles by sorting every sample;
          values and datums per metric per interval.
  memory  RSS of collectd with both plugins beside collectd without them,
          in the same run: at start (the simulator at 10,000 requests/s,
          no other values; the baseline a do-nothing configuration), then
          under bench_load's 10,000 generic values/s and through an outage
          (the sink answers 503) until both queues are full (the baseline
          bench_null under the same load, the simulator running unread).
  fresh   delay from a request's completion in the simulator to the sink
          accepting the PutMetricData that counts it.

Results: a table on stdout and a CSV (section, figure, value, unit,
min, max, rounds, note, and for the figures that have one: baseline,
above (value - baseline), target, verdict).
"""
import argparse
import csv
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
SYSTEM_PLUGIN_DIR = "/usr/lib/collectd"
SYSTEM_TYPES_DB = "/usr/share/collectd/types.db"
HOST = "bench-host"

# The comparison rate of the write path (values per second) and how it is
# made: SERIES values every INTERVAL seconds.
WRITE_SERIES = 10000
WRITE_INTERVAL = 0.2
# The runtime's load for the memory and freshness runs.
MEM_RATE = 10000
FRESH_RATE = 200
RT_INTERVAL = 5          # sagemaker_async Interval (memory, freshness)
FLUSH_INTERVAL = 5       # write_cloudwatch FlushInterval (memory, freshness)
MAX_QUEUED_DATUMS = 100000    # write_cloudwatch's defaults
MAX_QUEUED_LOG_EVENTS = 100000
# Memory targets (issue #14): RSS at start at most this much above
# collectd's own; peak RSS through the outage at most this much in all.
MEM_START_ABOVE_MIB = 12
MEM_OUTAGE_PEAK_MIB = 64


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Procs:
    """Every process started, stopped by its PID."""

    def __init__(self):
        self.procs = []

    def start(self, argv, out_path, env=None):
        with open(out_path, "ab") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=15):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, timeout=5)


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    rss = hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.src = os.path.abspath(args.srcdir)
        self.build = os.path.abspath(args.builddir)
        self.work = tempfile.mkdtemp(prefix="sagemaker-bench.")
        self.procs = Procs()
        self.rows = []   # CSV rows
        self.table = []  # (section, figure, text)
        self.runs = 0

    # ------------------------------------------------------------ helpers
    def path(self, name):
        return os.path.join(self.work, name)

    def env(self):
        env = dict(os.environ)
        # Nothing may leave 127.0.0.1: no instance metadata, no user files.
        env.update({
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "AKIDBENCHBENCHBENCH0",
            "AWS_SECRET_ACCESS_KEY": "bench/secret/not/used/anywhere/000000000",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_REGION": "us-east-1",
            "no_proxy": "127.0.0.1,localhost",
        })
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                  "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
            env.pop(k, None)
        return env

    def record(self, section, figure, value, unit, lo=None, hi=None,
               rounds=None, note="", baseline=None, target="",
               verdict=""):
        num = lambda x: "" if x is None else "%.6g" % x
        self.rows.append({
            "section": section, "figure": figure,
            "value": num(value), "unit": unit, "min": num(lo), "max": num(hi),
            "rounds": "" if rounds is None else rounds, "note": note,
            "baseline": num(baseline),
            "above": "" if baseline is None or value is None else
            num(value - baseline),
            "target": target, "verdict": verdict})

    def start_sink(self, name, bodies=False):
        port_file = self.path(name + ".port")
        argv = [os.path.join(self.build, "bench", "bench_sink"),
                "--port-file", port_file, "--log", self.path(name + ".log")]
        if bodies:
            argv += ["--bodies", self.path(name + ".bodies")]
        p = self.procs.start(argv, self.path(name + ".out"))
        wait_for(lambda: os.path.exists(port_file) and
                 open(port_file).read().endswith("\n"), 10, "bench_sink")
        return p, int(open(port_file).read())

    def read_sink_log(self, name):
        reqs = []
        with open(self.path(name + ".log")) as f:
            for line in f:
                t, op, wire, body, raw, items = line.split()
                reqs.append((int(t) / 1e6, op, int(wire), int(body),
                             int(raw), int(items)))
        return reqs

    def start_sim(self, name, args):
        sock = self.path(name + ".sock")
        argv = [os.path.join(self.build, "contrib", "sagemaker-runtime-sim"),
                "--socket", sock, "--quiet"] + args
        p = self.procs.start(argv, self.path(name + ".out"))
        wait_for(lambda: os.path.exists(sock), 10, "the simulator")
        return p, sock

    def collectd_conf(self, name, blocks, interval=1):
        lines = [
            'Hostname "%s"' % HOST,
            "FQDNLookup false",
            "Interval %s" % interval,
            'BaseDir "%s"' % self.work,
            'PIDFile "%s"' % self.path(name + ".pid"),
            'TypesDB "%s" "%s"' % (SYSTEM_TYPES_DB,
                                   os.path.join(self.src, "contrib",
                                                "types.db")),
            'PluginDir "%s"' % SYSTEM_PLUGIN_DIR,
            "LoadPlugin logfile",
            "<Plugin logfile>",
            "  LogLevel info",
            '  File "%s"' % self.path(name + ".collectd.log"),
            "  Timestamp true",
            "  PrintSeverity true",
            "</Plugin>",
        ] + blocks
        conf = self.path(name + ".conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start_collectd(self, name, conf):
        p = self.procs.start([COLLECTD, "-f", "-C", conf],
                             self.path(name + ".collectd.out"), env=self.env())
        time.sleep(0.3)
        if p.poll() is not None:
            raise RuntimeError("collectd did not start; see %s" %
                               self.path(name + ".collectd.log"))
        return p

    def plugin_dir(self, sub=None):
        d = os.path.join(self.build, sub, ".libs") if sub else \
            os.path.join(self.build, ".libs")
        return ['PluginDir "%s"' % d]

    def cw_block(self, port, **opts):
        o = {"Region": '"us-east-1"',
             "Endpoint": '"http://127.0.0.1:%d/"' % port,
             "LogsEndpoint": '"http://127.0.0.1:%d/"' % port}
        o.update(opts)
        return self.plugin_dir() + ["LoadPlugin write_cloudwatch",
                                    "<Plugin write_cloudwatch>"] + \
            ["  %s %s" % kv for kv in o.items()] + ["</Plugin>"]

    def load_block(self, series, interval, count_file):
        return self.plugin_dir("bench") + [
            "LoadPlugin bench_load", "<Plugin bench_load>",
            "  Series %d" % series, "  Interval %s" % interval,
            '  CountFile "%s"' % count_file, "</Plugin>"]

    # ---------------------------------------------------------- 1. write
    def write_variants(self):
        return [
            ("floor", "bench_null (floor)"),
            ("http4k", "write_http JSON, 4 KiB buffer"),
            ("http64k", "write_http JSON, 64 KiB buffer"),
            ("cw_gzip", "write_cloudwatch, Compress true"),
            ("cw_plain", "write_cloudwatch, Compress false"),
        ]

    def write_run(self, variant, rnd, warmup, window):
        name = "write-%s-%d" % (variant, rnd)
        count_file = self.path(name + ".count")
        sink, port = self.start_sink(name)
        blocks = self.load_block(WRITE_SERIES, WRITE_INTERVAL, count_file)
        if variant == "floor":
            blocks += self.plugin_dir("bench") + ["LoadPlugin bench_null"]
        elif variant.startswith("http"):
            blocks += ['PluginDir "%s"' % SYSTEM_PLUGIN_DIR,
                       "LoadPlugin write_http", "<Plugin write_http>",
                       '  <Node "sink">',
                       '    URL "http://127.0.0.1:%d/write_http"' % port,
                       '    Format "JSON"',
                       "    BufferSize %d" % (4096 if variant == "http4k"
                                              else 65536),
                       "  </Node>", "</Plugin>"]
        else:
            blocks += self.cw_block(
                port, GenericMetrics="true", DataLog="false",
                FlushInterval=10,
                Compress="true" if variant == "cw_gzip" else "false")
        cd = self.start_collectd(name, self.collectd_conf(name, blocks))

        def count():
            try:
                return int(open(count_file).read().strip() or 0)
            except (OSError, ValueError):
                return 0
        time.sleep(warmup)
        c0, n0, t0 = cpu_seconds(cd.pid), count(), time.monotonic()
        time.sleep(window)
        c1, n1, t1 = cpu_seconds(cd.pid), count(), time.monotonic()
        self.procs.stop(cd)
        self.procs.stop(sink)
        values = n1 - n0
        if values <= 0:
            raise RuntimeError("%s: no values dispatched" % name)
        return {"us_per_value": (c1 - c0) / values * 1e6,
                "rate": values / (t1 - t0),
                "sink": self.read_sink_log(name)}

    def bench_write(self):
        rounds = 2 if self.quick else 5
        warmup, window = (2, 5) if self.quick else (4, 12)
        variants = self.write_variants()
        res = {v: [] for v, _ in variants}
        rates = []
        api = {"cw_gzip": [], "cw_plain": []}
        log("write path: %d rounds of %d runs (%d values/s; %d s windows)" %
            (rounds, len(variants), WRITE_SERIES / WRITE_INTERVAL, window))
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v, _ in order:
                out = self.write_run(v, r, warmup, window)
                res[v].append(out["us_per_value"])
                rates.append(out["rate"])
                if v in api:
                    api[v].append(out["sink"])
            log("  round %d: %s" % (r + 1, ", ".join(
                "%s %.2f" % (v, res[v][-1]) for v, _ in variants)))
        sec = "write"
        for v, label in variants:
            xs = res[v]
            self.record(sec, "collectd CPU per value: " + label, median(xs),
                        "us", min(xs), max(xs), rounds)
        self.record(sec, "values dispatched per second", median(rates),
                    "values/s", min(rates), max(rates), len(rates))
        for cw in ("cw_gzip", "cw_plain"):
            label = dict(variants)[cw]
            for base in ("http64k", "http4k"):
                ratios = [a / b for a, b in zip(res[cw], res[base])]
                self.record(sec, "%s / %s" % (label, dict(variants)[base]),
                            median(ratios), "x", min(ratios), max(ratios),
                            rounds, "per-round ratio")
            above = [a - b for a, b in zip(res[cw], res["floor"])]
            self.record(sec, "%s above the floor" % label, median(above),
                        "us", min(above), max(above), rounds,
                        "per-round difference")
        above = [a - b for a, b in zip(res["http64k"], res["floor"])]
        self.record(sec, "write_http JSON, 64 KiB buffer above the floor",
                    median(above), "us", min(above), max(above), rounds,
                    "per-round difference")
        # The target: write_cloudwatch's cost above collectd's own dispatch
        # cost, as a share of write_http's above the same floor, per round.
        for cw in ("cw_gzip", "cw_plain"):
            ratios = [(a - f) / (b - f) for a, b, f in
                      zip(res[cw], res["http64k"], res["floor"]) if b > f]
            if ratios:
                self.record(sec, "%s above the floor / write_http 64 KiB "
                            "above the floor" % dict(variants)[cw],
                            median(ratios), "x", min(ratios), max(ratios),
                            len(ratios), "per-round ratio; target <= 0.2")
        self.api_figures(api)

    # ------------------------------------------------------------ 3. api
    def api_figures(self, api):
        sec = "api"
        for cw, label in (("cw_gzip", "Compress true"),
                          ("cw_plain", "Compress false")):
            reqs = datums = wire = body = raw = 0
            floor_reqs = 0
            for sink in api[cw]:
                pmd = [r for r in sink if r[1] == "PutMetricData"]
                reqs += len(pmd)
                datums += sum(r[5] for r in pmd)
                wire += sum(r[2] for r in pmd)
                body += sum(r[3] for r in pmd)
                raw += sum(r[4] for r in pmd)
                # The fewest requests the flushes allow: each flush's
                # datums (requests less than 1 s apart) in 1000s.
                burst, last = 0, None
                for r in pmd:
                    if last is not None and r[0] - last > 1.0:
                        floor_reqs += math.ceil(burst / 1000)
                        burst = 0
                    burst += r[5]
                    last = r[0]
                floor_reqs += math.ceil(burst / 1000)
            if datums == 0:
                continue
            k = 1000.0 / datums
            self.record(sec, "PutMetricData requests per 1000 datums, " + label,
                        reqs * k, "requests", rounds=len(api[cw]),
                        note="%d requests, %d datums; fewest the flushes "
                             "allow: %.4f" % (reqs, datums, floor_reqs * k))
            self.record(sec, "requests above the fewest possible, " + label,
                        (reqs / floor_reqs - 1) * 100, "%",
                        note="fewest: each flush's datums in requests of 1000")
            self.record(sec, "bytes on the wire per 1000 datums, " + label,
                        wire * k, "bytes", note="request line, headers, body")
            self.record(sec, "body bytes per 1000 datums, " + label,
                        body * k, "bytes",
                        note="%.0f bytes before compression" % (raw * k))

    # ----------------------------------------------------------- 2. read
    def bench_read(self):
        records = 50000 if self.quick else 200000
        rounds = 5 if self.quick else 15
        sec = "read"
        sim, sock = self.start_sim("read", [
            "--rate", "1000000", "--total", str(records),
            "--ring", str(records + 1000), "--seed", "7"])

        def generated():
            out = subprocess.run(
                ["curl", "-s", "--unix-socket", sock,
                 "http://localhost/v1/snapshot"], capture_output=True,
                text=True)
            try:
                return json.loads(out.stdout)["next_seq"] > records
            except (ValueError, KeyError):
                return False
        wait_for(generated, 60, "the simulator's records")
        log("read path: %d rounds over %d records" % (rounds, records))
        out = subprocess.run(
            [os.path.join(self.build, "bench", "bench_read"), sock,
             str(records), "1000", str(rounds)],
            capture_output=True, text=True, timeout=600)
        self.procs.stop(sim)
        if out.returncode != 0:
            raise RuntimeError("bench_read failed: " + out.stderr)
        rows = []
        for line in out.stdout.splitlines():
            f = line.split()
            rows.append({f[i]: float(f[i + 1]) for i in range(0, len(f), 2)})
        n = rows[0]["records"]
        per = lambda key: [n / r[key] for r in rows]
        bare, parse = per("bare_cpu"), per("parse_cpu")
        s_cpu, s_wall = per("streamed_cpu"), per("streamed_wall")
        bs_cpu, bs_wall = per("bare_streamed_cpu"), per("bare_streamed_wall")
        plain = per("plain_cpu")
        noop = per("noop_cpu")
        for label, xs in (("bare yajl parse, no callbacks (floor)", bare),
                          ("yajl with callbacks that do nothing", noop),
                          ("the parser + aggregation, from memory", parse),
                          ("the same without percentile sketches", plain),
                          ("bare yajl parse, streamed, per CPU second",
                           bs_cpu),
                          ("streamed as deployed, per CPU second", s_cpu),
                          ("streamed as deployed, per wall second", s_wall)):
            self.record(sec, "records/s: " + label, median(xs), "records/s",
                        min(xs), max(xs), len(rows))
        # The target: the plugin's whole read against yajl alone, both fed
        # by libcurl over the same socket in the same round.
        for label, xs, base in (
                ("streamed, per CPU second", s_cpu, bs_cpu),
                ("streamed, per wall second", s_wall, bs_wall)):
            ratios = [a / b for a, b in zip(xs, base)]
            self.record(sec, "ratio to the streamed bare parse: " + label,
                        median(ratios), "x", min(ratios), max(ratios),
                        len(rows), "per-round ratio")
        for label, xs in (("yajl's callbacks alone, from memory", noop),
                          ("from memory", parse),
                          ("from memory, without sketches", plain)):
            ratios = [a / b for a, b in zip(xs, bare)]
            self.record(sec, "ratio to the bare parse: " + label,
                        median(ratios), "x", min(ratios), max(ratios),
                        len(rows), "per-round ratio")
        for label, key in (("bare yajl parse", "bare_cpu"),
                           ("bare yajl parse, streamed", "bare_streamed_cpu"),
                           ("streamed as deployed", "streamed_cpu")):
            xs = [r[key] / n * 1e6 for r in rows]
            self.record(sec, "CPU per record: " + label, median(xs), "us",
                        min(xs), max(xs), len(rows))
        self.record(sec, "bytes per record", rows[0]["bytes"] / n, "bytes",
                    note="PageSize 1000, the simulator's default mix")

    # --------------------------------------------------------- sketch
    def bench_sketch(self):
        sec = "sketch"
        rounds = 3 if self.quick else 9
        for per, intervals in ((1000, 200), (10000, 20)):
            log("sketch: %d rounds, %d samples per interval" % (rounds, per))
            out = subprocess.run(
                [os.path.join(self.build, "bench", "bench_sketch"), str(per),
                 str(intervals), str(rounds)],
                capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError("bench_sketch failed: " + out.stderr)
            by = {}
            for line in out.stdout.splitlines():
                f = line.split()
                row = {f[i]: f[i + 1] for i in range(0, len(f), 2)}
                by.setdefault(row["dist"], []).append(row)
            for dist, rows in by.items():
                sk = [float(r["sketch_ns"]) for r in rows]
                ex = [float(r["exact_ns"]) for r in rows]
                what = "%s, %d samples per interval" % (dist, per)
                self.record(sec, "CPU per sample: sketch (insert + values), "
                            + what, median(sk), "ns", min(sk), max(sk),
                            len(rows))
                self.record(sec, "CPU per sample: exact (keep + sort), "
                            + what, median(ex), "ns", min(ex), max(ex),
                            len(rows))
                ratios = [a / b for a, b in zip(sk, ex)]
                self.record(sec, "ratio sketch / exact, " + what,
                            median(ratios), "x", min(ratios), max(ratios),
                            len(rows), "per-round ratio")
                self.record(sec, "values per metric per interval, " + what,
                            float(rows[0]["values"]), "values",
                            note="accuracy 1%, integer microseconds")
                self.record(sec, "datums per metric per interval, " + what,
                            float(rows[0]["datums"]), "datums",
                            note="at most 150 values per datum")
                self.record(sec, "sketch memory, " + what,
                            float(rows[0]["bytes"]) / 1024, "KiB",
                            note="bucket arrays, after all intervals")

    # --------------------------------------------------------- 4. memory
    def getval(self, sock, ident):
        out = subprocess.run(["collectdctl", "-s", sock, "getval", ident],
                             capture_output=True, text=True)
        for line in out.stdout.splitlines():
            if line.startswith("value="):
                try:
                    return float(line.split("=", 1)[1])
                except ValueError:
                    return None
        return None

    def mem_collectd(self, name, blocks):
        """Starts collectd with blocks (and the unix socket), returns it."""
        unixsock = self.path(name + ".unixsock")
        blocks = ["LoadPlugin unixsock", "<Plugin unixsock>",
                  '  SocketFile "%s"' % unixsock, "</Plugin>"] + blocks
        return self.start_collectd(name, self.collectd_conf(name, blocks)), \
            unixsock

    def sm_block(self, sock):
        return self.plugin_dir() + [
            "LoadPlugin sagemaker_async", "<Plugin sagemaker_async>",
            '  <Runtime "bench">', '    Socket "%s"' % sock,
            "    Interval %d" % RT_INTERVAL, "  </Runtime>", "</Plugin>"]

    def mem_cw_block(self, port):
        return self.cw_block(
            port, GenericMetrics="true", StorageResolution=1,
            FlushInterval=FLUSH_INTERVAL,
            MaxQueuedDatums=MAX_QUEUED_DATUMS,
            MaxQueuedLogEvents=MAX_QUEUED_LOG_EVENTS)

    def mem_start(self, plugins):
        """RSS 1 s after start: collectd with both plugins (the simulator
        at MEM_RATE, no other values), or a do-nothing configuration."""
        name = "memory-start-" + ("plugins" if plugins else "baseline")
        blocks = []
        procs = []
        if plugins:
            sink, port = self.start_sink(name)
            sim, sock = self.start_sim(name + "-sim", [
                "--rate", str(MEM_RATE), "--ring", "1000000", "--seed", "11"])
            procs = [sink, sim]
            blocks = self.sm_block(sock) + self.mem_cw_block(port)
        cd, _ = self.mem_collectd(name, blocks)
        time.sleep(1)
        rss, _ = rss_kib(cd.pid)
        self.procs.stop(cd, timeout=30)
        for p in procs:
            self.procs.stop(p)
        return rss

    def mem_load(self, plugins, steady, outage):
        """The load run: bench_load's generic values and the simulator, with
        both plugins (then the outage) or with bench_null (the simulator
        running unread, the same time)."""
        series = 10000
        name = "memory" if plugins else "memory-baseline"
        sink, port = self.start_sink(name)
        sim, sock = self.start_sim(name + "-sim", [
            "--rate", str(MEM_RATE), "--ring", "1000000", "--seed", "11"])
        blocks = self.load_block(series, 1, self.path(name + ".count"))
        if plugins:
            blocks += self.sm_block(sock) + self.mem_cw_block(port)
        else:
            blocks += self.plugin_dir("bench") + ["LoadPlugin bench_null"]
        cd, unixsock = self.mem_collectd(name, blocks)
        out = {"full_at": None, "rss_full": None, "max_d": 0, "max_l": 0}
        qd = "%s/write_cloudwatch-0/queue_length-datums" % HOST
        ql = "%s/write_cloudwatch-0/queue_length-log_events" % HOST
        qx = "%s/write_cloudwatch-0/derive-log_events_dropped-queue" % HOST
        time.sleep(1)
        out["rss_start"], _ = rss_kib(cd.pid)
        time.sleep(steady - 1)
        _, out["hwm_steady"] = rss_kib(cd.pid)
        if plugins:
            os.kill(sink.pid, signal.SIGUSR1)  # the outage begins
        t0 = time.monotonic()
        while time.monotonic() - t0 < outage:
            time.sleep(1)
            if not plugins:
                continue
            d = self.getval(unixsock, qd) or 0
            lq = self.getval(unixsock, ql) or 0
            out["max_d"] = max(out["max_d"], d)
            out["max_l"] = max(out["max_l"], lq)
            # The log queue is full when it drops (its byte bound may
            # come before MaxQueuedLogEvents).
            log_full = lq >= MAX_QUEUED_LOG_EVENTS or \
                (self.getval(unixsock, qx) or 0) > 0
            rss, _ = rss_kib(cd.pid)
            if out["full_at"] is None and d >= MAX_QUEUED_DATUMS and \
                    log_full:
                out["full_at"] = time.monotonic() - t0
                out["rss_full"] = rss
        _, out["hwm"] = rss_kib(cd.pid)
        if plugins:
            os.kill(sink.pid, signal.SIGUSR1)  # and ends
        self.procs.stop(cd, timeout=30)
        self.procs.stop(sim)
        self.procs.stop(sink)
        return out

    def bench_memory(self):
        steady, outage = (15, 30) if self.quick else (40, 75)
        sec = "memory"
        mib = lambda kib: kib / 1024.0
        verdict = lambda ok: "met" if ok else "missed"
        log("memory: at start, collectd without and with both plugins")
        start_base = mib(self.mem_start(False))
        start = mib(self.mem_start(True))
        log("memory: %d s at %d requests/s and %d generic values/s, then "
            "%d s of outage; the baseline first (bench_null, the same load "
            "and time)" % (steady, MEM_RATE, 10000, outage))
        base = self.mem_load(False, steady, outage)
        run = self.mem_load(True, steady, outage)

        self.record(sec, "RSS at start, both plugins loaded", start, "MiB",
                    note="1 s after start; the simulator at %d requests/s, "
                    "no other values; baseline: collectd with a do-nothing "
                    "configuration (logfile, unixsock)" % MEM_RATE,
                    baseline=start_base,
                    target="<= %d MiB above the baseline" %
                    MEM_START_ABOVE_MIB,
                    verdict=verdict(start - start_base <=
                                    MEM_START_ABOVE_MIB))
        load_note = "%d requests/s, %d generic values/s; baseline: " \
            "bench_null instead of both plugins" % (MEM_RATE, 10000)
        self.record(sec, "RSS 1 s after start, under load",
                    mib(run["rss_start"]), "MiB", note=load_note,
                    baseline=mib(base["rss_start"]))
        self.record(sec, "peak RSS, sustained load, sink up",
                    mib(run["hwm_steady"]), "MiB",
                    note="%d s; " % steady + load_note,
                    baseline=mib(base["hwm_steady"]))
        self.record(sec, "peak RSS, through the outage", mib(run["hwm"]),
                    "MiB", note="%d s of 503s; baseline: the same %d s" %
                    (outage, steady + outage),
                    baseline=mib(base["hwm"]),
                    target="<= %d MiB" % MEM_OUTAGE_PEAK_MIB,
                    verdict=verdict(mib(run["hwm"]) <= MEM_OUTAGE_PEAK_MIB))
        self.record(sec, "datums queued at most", run["max_d"], "datums",
                    note="MaxQueuedDatums %d" % MAX_QUEUED_DATUMS)
        self.record(sec, "data-log events queued at most", run["max_l"],
                    "events",
                    note="MaxQueuedLogEvents %d and 16 MiB of messages" %
                    MAX_QUEUED_LOG_EVENTS)
        if run["rss_full"] is not None:
            self.record(sec, "both queues full after", run["full_at"], "s",
                        note="into the outage")
            self.record(sec, "RSS when both queues were full",
                        mib(run["rss_full"]), "MiB")
            self.record(sec, "peak RSS above RSS at full queues",
                        mib(run["hwm"] - run["rss_full"]), "MiB",
                        note="growth once the bounds were reached")
        else:
            self.record(sec, "both queues full after", None, "s",
                        note="not full within the outage")
        self.record(sec, "RSS per queued datum or event, outage",
                    (run["hwm"] - run["hwm_steady"]) * 1024.0 /
                    max(1, run["max_d"] + run["max_l"]),
                    "bytes", note="(peak - steady peak) / items held")

    # ---------------------------------------------------------- 5. fresh
    def bench_fresh(self):
        seconds = 35 if self.quick else 100
        sec = "fresh"
        name = "fresh"
        sink, port = self.start_sink(name, bodies=True)
        ledger = self.path("fresh.ledger")
        sim, sock = self.start_sim("fresh-sim", [
            "--rate", str(FRESH_RATE), "--seed", "5", "--ledger", ledger])
        blocks = self.plugin_dir() + [
            "LoadPlugin sagemaker_async", "<Plugin sagemaker_async>",
            '  <Runtime "bench">', '    Socket "%s"' % sock,
            "    Interval %d" % RT_INTERVAL, "  </Runtime>", "</Plugin>"]
        blocks += self.cw_block(port, FlushInterval=FLUSH_INTERVAL,
                                DataLog="false")
        log("freshness: %d s at %d requests/s (Interval %d, FlushInterval %d)"
            % (seconds, FRESH_RATE, RT_INTERVAL, FLUSH_INTERVAL))
        cd = self.start_collectd(name, self.collectd_conf(name, blocks))
        time.sleep(seconds)
        t_stop = time.time()
        self.procs.stop(cd, timeout=30)
        self.procs.stop(sim)
        self.procs.stop(sink)

        first = None
        with open(self.path(name + ".collectd.log")) as f:
            for line in f:
                if "counting requests from seq" in line:
                    first = int(line.rsplit(" ", 1)[1])
        if first is None:
            raise RuntimeError("freshness: sagemaker_async never read")
        completed = {}
        with open(ledger) as f:
            for line in f:
                e = json.loads(line)
                if e.get("event") == "request":
                    completed[e["seq"]] = e["completed_ms"] / 1000.0
        # Requests counted by each accepted request, in order.
        accepted = []  # (time, cumulative count)
        total = 0
        with open(self.path(name + ".bodies")) as f:
            for line in f:
                t, body = line.split(" ", 1)
                n = 0
                for d in json.loads(body).get("MetricData", []):
                    if d["MetricName"] in ("InvocationsProcesssed",
                                           "ExpiredRequests"):
                        n += d["StatisticValues"]["Sum"]
                if n:
                    total += int(round(n))
                    accepted.append((int(t) / 1e6, total))
        # Only requests that had every chance to be sent before collectd
        # was stopped: its shutdown flush is not a delay.
        horizon = t_stop - 2 * (RT_INTERVAL + FLUSH_INTERVAL)
        delays = []
        i = 0
        seq = first
        missing = 0
        while seq in completed and completed[seq] < horizon:
            k = seq - first + 1
            while i < len(accepted) and accepted[i][1] < k:
                i += 1
            if i == len(accepted) or accepted[i][0] > t_stop:
                missing += 1
            else:
                delays.append(accepted[i][0] - completed[seq])
            seq += 1
        delays.sort()
        if not delays:
            raise RuntimeError("freshness: no request reached the sink")
        p99 = delays[min(len(delays) - 1, int(math.ceil(0.99 * len(delays))) - 1)]
        note = "%d requests; Interval %d, FlushInterval %d" % (
            len(delays), RT_INTERVAL, FLUSH_INTERVAL)
        self.record(sec, "completion to acceptance, median", median(delays),
                    "s", delays[0], delays[-1], note=note)
        self.record(sec, "completion to acceptance, p99", p99, "s",
                    note=note)
        self.record(sec, "requests never accepted before the stop", missing,
                    "requests")

    # ---------------------------------------------------------- output
    def write_csv(self, path):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["section", "figure", "value",
                                              "unit", "min", "max", "rounds",
                                              "note", "baseline", "above",
                                              "target", "verdict"])
            w.writeheader()
            for r in self.rows:
                w.writerow(r)

    def print_table(self):
        fmt = lambda s: s if s == "" else "%.4g" % float(s)
        print("%-8s %-62s %12s %-10s %s" % ("section", "figure", "median",
                                            "unit", "min..max / note"))
        for r in self.rows:
            rng = "%s..%s" % (fmt(r["min"]), fmt(r["max"])) if r["min"] else ""
            base = "baseline %s, above %s %s" % (
                fmt(r["baseline"]), fmt(r["above"]), r["unit"]) \
                if r["baseline"] else ""
            goal = "target %s: %s" % (r["target"], r["verdict"]) \
                if r["target"] else ""
            extra = "; ".join(x for x in (base, goal, rng, r["note"]) if x)
            print("%-8s %-62s %12s %-10s %s" % (r["section"], r["figure"],
                                                fmt(r["value"]), r["unit"],
                                                extra))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="write,read,sketch,memory,fresh",
                    help="comma-separated sections")
    args = ap.parse_args()
    b = Bench(args)
    log("work directory %s%s" % (b.work, " (quick mode)" if args.quick
                                 else ""))
    t0 = time.monotonic()
    status = 0
    try:
        only = args.only.split(",")
        for sec in ("write", "read", "sketch", "memory", "fresh"):
            if sec in only:
                getattr(b, "bench_" + sec)()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log("failed: %s (files in %s)" % (e, b.work))
        status = 1
    finally:
        b.procs.stop_all()
    b.print_table()
    sys.stdout.flush()
    b.write_csv(args.csv)
    log("%d figures in %s; %.0f s" % (len(b.rows), args.csv,
                                      time.monotonic() - t0))
    if status == 0 and not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(b.work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
