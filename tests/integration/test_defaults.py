#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The defaults fit any global setting: collectd -T (configuration, every
init, one read) passes with sagemaker_async's and write_cloudwatch's
defaults under collectd's Interval from 1 to 300 s, a <Runtime> with an
Interval of its own, several runtimes, WriteQueueLimitHigh/Low, and
several <Plugin write_cloudwatch> blocks: exit 0 and no error line.

Each configuration gives only what it must (a Socket, a Region and local
endpoints), so that every other option has its default. A Timeout given
above the interval is still refused, naming the block and both values.
"""
import os
import subprocess

from harness import (COLLECTD, PLUGIN_DIR, Tap, Workdir, collectd_conf,
                     collectd_env, plugin_block, read_text, require_collectd,
                     runtime_block, start_sim, stop)

tap = Tap()
require_collectd(tap)

work = Workdir("defaults")
sim1, sock1, _ = start_sim(work, ["--seed", "5", "--rate", "20"], name="sim1")
sim2, sock2, _ = start_sim(work, ["--seed", "6", "--rate", "20"], name="sim2")


def wcw_block(n, extra=""):
    """A write_cloudwatch block with local endpoints nothing answers:
    -T sends nothing (no I/O at configuration or init)."""
    return """<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "http://127.0.0.1:9/wcw%d"
  LogsEndpoint "http://127.0.0.1:9/logs%d"
%s</Plugin>""" % (n, n, extra)


def wcw(*blocks):
    return 'PluginDir "%s"\nLoadPlugin write_cloudwatch\n%s' % (
        PLUGIN_DIR, "\n".join(blocks))


runs = [0]


def check_T(name, blocks, interval=1, extra_global=""):
    """Runs collectd -T; returns (exit code, error lines of the start:
    configuration, init and the read, whole log)."""
    runs[0] += 1
    w = Workdir("defaults-%d" % runs[0])
    conf, _, log = collectd_conf(w, blocks, interval=interval,
                                 extra_global=extra_global, capture=False)
    res = subprocess.run([COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=60, env=collectd_env())
    text = read_text(log)
    start = text.split("Exiting normally.")[0]
    errors = [l for l in start.splitlines() if "[error]" in l]
    errors += [l for l in (res.stdout + res.stderr).splitlines()
               if "error" in l.lower() or "fail" in l.lower()]
    return res.returncode, errors, text


def passes(name, blocks, **kw):
    code, errors, text = check_T(name, blocks, **kw)
    tap.ok(code == 0 and not errors,
           "collectd -T passes: %s (exit %d, %d error lines)"
           % (name, code, len(errors)), "\n".join(errors[:8]) or text[-1500:])
    # After the read, -T shuts down, and write_cloudwatch then tries to
    # send the read's values (to the endpoints nothing answers here): not
    # part of starting, but noted.
    late = [l for l in text.split("Exiting normally.", 1)[-1].splitlines()
            if "[error]" in l] if "Exiting normally." in text else []
    if late:
        tap.note("%s: %d error lines at -T's shutdown, e.g. %r"
                 % (name, len(late), late[0]))


only_socket = plugin_block(runtime_block("main", sock1))
for interval in (1, 5, 10, 60, 300):
    passes("Interval %d, a <Runtime> with only its Socket" % interval,
           only_socket, interval=interval)

passes("Interval 0.5 (below the default Timeout)", only_socket,
       interval=0.5)
passes("Interval 10, a <Runtime> of Interval 1", plugin_block(
    runtime_block("fast", sock1, Interval=1)), interval=10)
passes("Interval 1, a <Runtime> of Interval 300", plugin_block(
    runtime_block("slow", sock1, Interval=300)), interval=1)
passes("Interval 1, two runtimes, one with its own Interval 0.5",
       plugin_block(runtime_block("a", sock1),
                    runtime_block("b", sock2, Interval=0.5)), interval=1)
passes("Interval 1, WriteQueueLimitHigh/Low 1000", only_socket, interval=1,
       extra_global="WriteQueueLimitHigh 1000\nWriteQueueLimitLow 1000")
passes("Interval 1, a <Runtime> with Totals true", plugin_block(
    runtime_block("main", sock1, Totals=True)), interval=1)

for interval in (1, 300):
    passes("Interval %d, a runtime and two write_cloudwatch blocks"
           % interval, only_socket + "\n" + wcw(wcw_block(1), wcw_block(2)),
           interval=interval)
passes("Interval 1, two runtimes, two write_cloudwatch blocks, "
       "WriteQueueLimitHigh/Low 1000",
       plugin_block(runtime_block("a", sock1), runtime_block("b", sock2)) +
       "\n" + wcw(wcw_block(1), wcw_block(2, '  StorageResolution 1\n')),
       interval=1,
       extra_global="WriteQueueLimitHigh 1000\nWriteQueueLimitLow 1000")

# A Timeout given above the interval is an error, said clearly.
code, errors, text = check_T("timeout-above", plugin_block(
    runtime_block("main", sock1, Timeout=2)), interval=1)
want = [l for l in errors if '<Runtime "main">' in l and
        "Timeout (2.000 s) must not exceed the interval (1.000 s)" in l]
tap.ok(code != 0 and want, "an explicit Timeout 2 under Interval 1 is "
       "refused, naming the block and both values", "\n".join(errors[:5]))
code, errors, text = check_T("timeout-runtime-interval", plugin_block(
    runtime_block("main", sock1, Interval=0.5, Timeout=1)), interval=10)
tap.ok(code != 0 and [l for l in errors if "Timeout (1.000 s) must not "
                      "exceed the interval (0.500 s)" in l],
       "and so is Timeout 1 in a <Runtime> of Interval 0.5",
       "\n".join(errors[:5]))

stop(sim1)
stop(sim2)
tap.done()
