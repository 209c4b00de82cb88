#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Configuration errors in the real collectd: each names the block, the
key and the value at fault, every bad block is reported, and collectd
refuses to start; a good configuration passes collectd -T."""
import os
import subprocess

from harness import (COLLECTD, SRCDIR, Tap, Workdir, collectd_conf, collectd_env,
                     plugin_block, read_jsonl, read_text, require_collectd,
                     runtime_block, start_collectd, start_sim, stop, wait_for)

tap = Tap()
require_collectd(tap)

BAD = [
    ('<Runtime "r1">\n Sockt "/tmp/x.sock"\n</Runtime>',
     ['<Runtime "r1">', 'unknown option "Sockt"']),
    ('<Runtime "r2">\n PageSize 0\n</Runtime>',
     ['<Runtime "r2">', "PageSize", ": 0"]),
    ('<Runtime "r3">\n PageSize 10001\n</Runtime>',
     ['<Runtime "r3">', "PageSize", "10001"]),
    ('<Runtime "r4">\n Interval 5\n Timeout 20\n</Runtime>',
     ['<Runtime "r4">', "Timeout (20.000 s) must not exceed the interval (5.000 s)"]),
    ('<Runtime "r5">\n Timeout "soon"\n</Runtime>',
     ['<Runtime "r5">', "Timeout", '"soon"']),
    ('<Runtime "r6">\n Socket "/%s.sock"\n</Runtime>' % ("x" * 120),
     ['<Runtime "r6">', "longer than the 107 bytes"]),
    ('<Runtime>\n Socket "/tmp/x.sock"\n</Runtime>',
     ["<Runtime> needs one non-empty name"]),
    ('<Runtime "r8">\n Notifications "maybe"\n</Runtime>',
     ['<Runtime "r8">', "Notifications", '"maybe"']),
    ('Runtimes "r9"',
     ['unknown option "Runtimes"']),
    ('<Runtime "r10">\n PercentileAccuracy 0.5\n</Runtime>',
     ['<Runtime "r10">', "PercentileAccuracy 0.5", "from 0.001 to 0.1"]),
    ('<Runtime "r11">\n Percentiles "often"\n</Runtime>',
     ['<Runtime "r11">', "Percentiles", '"often"']),
    ('<Runtime "r12">\n MaxResponseBytes -1\n</Runtime>',
     ['<Runtime "r12">', "MaxResponseBytes", "-1"]),
    ('<Runtime "r13">\n Socket "/tmp/a.sock"\n socket "/tmp/b.sock"\n</Runtime>',
     ['<Runtime "r13">', "socket is given twice"]),
    ('<Runtime "r14">\n Totals "often"\n</Runtime>',
     ['<Runtime "r14">', 'invalid value for Totals: "often"',
      "(expected true or false)"]),
    ('<Runtime "r15">\n PageSize 2.5\n</Runtime>',
     ['<Runtime "r15">', "PageSize: 2.5",
      "(expected an integer from 1 to 10000)"]),
    ('<Runtime "r16">\n SocketOwner "no-such-user-here"\n</Runtime>',
     ['<Runtime "r16">', 'SocketOwner "no-such-user-here": no such user']),
    ('<Runtime "r17">\n StateFile "/tmp/%s"\n</Runtime>' % ("s" * 201),
     ['<Runtime "r17">', "StateFile", "must be 1 to 200 bytes"]),
    ('<Runtime "r18">\n StateFile "/tmp/"\n</Runtime>',
     ['<Runtime "r18">', 'StateFile "/tmp/"', "must be 1 to 200 bytes"]),
    ('<Runtime "dup">\n Socket "/tmp/a.sock"\n Timeout 0.5\n</Runtime>\n'
     '<Runtime "dup">\n Socket "/tmp/b.sock"\n Timeout 0.5\n</Runtime>',
     ['<Runtime "dup">', "cannot be registered"]),
]

work = Workdir("config")

# All the bad blocks in one file: each is reported, and collectd refuses
# to start rather than run with part of its configuration.
conf, out, log = collectd_conf(work, plugin_block(*[b for b, _ in BAD]))
cd = start_collectd(work, conf)
exited = wait_for(lambda: cd.poll() is not None, 10)
tap.ok(exited and cd.returncode != 0,
       "collectd refuses to start (exit %s)" % cd.poll())
stop(cd)
tap.ok("Parsing the config file failed" in read_text(work.file("collectd.stderr")),
       "collectd says its configuration failed")
text = read_text(log)
for block, needles in BAD:
    lines = [l for l in text.splitlines() if "sagemaker_async" in l and
             "[error]" in l and all(n in l for n in needles)]
    tap.ok(lines, "error names %s" % " / ".join(needles),
           "\n".join(l for l in text.splitlines() if "error" in l)[-2000:])

# The same file through collectd -T, the configuration check of collectd
# 5.12 that runs the plugins' configuration (-t only parses the file).
res = subprocess.run([COLLECTD, "-T", "-C", conf], capture_output=True,
                     text=True, timeout=30, env=collectd_env())
text = read_text(log)
missing = [" / ".join(n) for b, n in BAD
           if not [l for l in text.splitlines() if "sagemaker_async" in l and
                   "[error]" in l and all(x in l for x in n)]]
tap.ok(res.returncode != 0 and not missing,
       "collectd -T fails (exit %d) and reports every error with its key and "
       "value" % res.returncode, missing)

# write_cloudwatch's errors, each block on its own.
WCW_BAD = [
    ('Namespace "AWS/SageMaker"', ["Namespace", "AWS/"]),
    ('StorageResolution 30', ["StorageResolution 30", "1 (high resolution) or 60"]),
    ('Endpoint "ftp://example.com/"', ["Endpoint", "http or https"]),
    ('MaxQueuedDatums 10', ["block 1: MaxQueuedDatums 10", "from 1000 to 10000000"]),
    ('MaxQueuedDatums 1500.5', ["MaxQueuedDatums 1500.5", "a whole number"]),
    ('FlushInterval 0', ["block 1: FlushInterval 0", "seconds from 1 to 3600"]),
    ('FlushInterval 5\n  FlushInterval 6', ["FlushInterval is given twice"]),
    ('Include "(unclosed"', ["Include", "(unclosed"]),
    ('Dimension "OnlyName"', ["Dimension", "two strings"]),
    ('Regoin "us-east-1"', ['unknown option "Regoin"']),
    ('Percentiles 2', ["Percentiles 2", "true or false"]),
    ('Include "^c+++++++++++++++++++++"', ["Include", "repetition of a repetition"]),
    ('Exclude ".{32767}{32767}"', ["Exclude", "a bound above 255"]),
    ('SpoolDirectory "relative/spool"', ["SpoolDirectory", "absolute path"]),
    ('SpoolMaxBytes 1000', ["SpoolMaxBytes 1000", "1048576"]),
    ('MaxRequestsPerSecond 0', ["MaxRequestsPerSecond 0", "from 0.1 to 1000"]),
    # The second block is named: a configuration may have several.
    ('</Plugin>\n<Plugin write_cloudwatch>\n  Region "us-east-1"\n'
     '  Timeout 0', ["block 2: Timeout 0", "seconds from 0.1 to 300"]),
]
for line, needles in WCW_BAD:
    w = Workdir("config-wcw")
    conf, out, log = collectd_conf(w, """PluginDir "%s"
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  %s
</Plugin>""" % (os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs"),
                line))
    res = subprocess.run([COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=30, env=collectd_env())
    text = read_text(log)
    lines = [l for l in text.splitlines() if "write_cloudwatch" in l and
             "[error]" in l and all(n in l for n in needles)]
    tap.ok(res.returncode != 0 and lines,
           "write_cloudwatch: %s is refused, naming %s" % (line, " / ".join(needles)),
           "\n".join(l for l in text.splitlines() if "error" in l)[-1000:])

# A good configuration passes collectd -T (config, init, one read).
sim, sock, ledger = start_sim(work, ["--seed", "3", "--rate", "50"])
work2 = Workdir("config-good")
conf, out, log = collectd_conf(work2, plugin_block(
    runtime_block("good", sock, Interval=1, Timeout=0.5, PageSize=100,
                  EndpointName="ep-from-config", Notifications=False)))
res = subprocess.run([COLLECTD, "-T", "-C", conf], capture_output=True,
                     text=True, timeout=30, env=collectd_env())
tap.eq(res.returncode, 0, "collectd -T passes a good configuration")

# The example configuration (contrib/collectd.conf.example) passes collectd
# -T, with its socket, region and endpoints pointed at this machine.
example = read_text(os.path.join(SRCDIR, "contrib", "collectd.conf.example"))
example = example.replace('Socket "/run/sagemaker/async-runtime.sock"',
                          'Socket "%s"' % sock)
example = example.replace('#Region "us-east-1"',
                          'Region "us-east-1"\n  Endpoint "http://127.0.0.1:9/"'
                          '\n  LogsEndpoint "http://127.0.0.1:9/"')
work3 = Workdir("config-example")
conf3, out3, log3 = collectd_conf(work3, 'PluginDir "%s"\n%s' % (
    os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs"), example))
res = subprocess.run([COLLECTD, "-T", "-C", conf3], capture_output=True,
                     text=True, timeout=30, env=collectd_env())
tap.ok(res.returncode == 0 and sock in read_text(conf3) and
       "127.0.0.1:9" in read_text(conf3),
       "collectd -T passes contrib/collectd.conf.example (exit %d)"
       % res.returncode, [l for l in read_text(log3).splitlines()
                          if "error" in l][-5:])

# The same configuration, run: the options take effect.
cd = start_collectd(work2, conf)


def reads():
    return [v for v in read_jsonl(out) if v["kind"] == "value" and
            v["plugin"] == "sagemaker_async" and
            v["type_instance"] == "InvocationFailures"]


tap.ok(wait_for(lambda: sum(r["values"][0] for r in reads()) >= 3, 15),
       "failed requests were read")
stop(cd)
stop(sim)
values = [v for v in read_jsonl(out) if v["kind"] == "value" and
          v["plugin"] == "sagemaker_async"]
tap.ok(values and all(v["meta"]["sagemaker:endpoint_name"] == "ep-from-config"
                      and v["meta"]["sagemaker:variant_name"] == "AllTraffic"
                      for v in values),
       "EndpointName from the configuration overrides the snapshot's; "
       "VariantName comes from the snapshot")
tap.ok(not [n for n in read_jsonl(out) if n["kind"] == "notification"],
       "Notifications false: no notification for the failed requests")
tap.done()
