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

def runtime(name, body, *needles):
    """A bad <Runtime> block, and what its error names: the block, then
    the needles."""
    return ('<Runtime "%s">\n %s\n</Runtime>' % (name, body),
            ['<Runtime "%s">' % name] + list(needles))


BAD = [
    runtime("r1", 'Sockt "/tmp/x.sock"', 'unknown option "Sockt"'),
    runtime("r2", "PageSize 0", "PageSize", ": 0"),
    runtime("r3", "PageSize 10001", "PageSize", "10001"),
    runtime("r4", "Interval 5\n Timeout 20",
            "Timeout (20.000 s) must not exceed the interval (5.000 s)"),
    runtime("r5", 'Timeout "soon"', "Timeout", '"soon"'),
    runtime("r6", 'Socket "/%s.sock"' % ("x" * 120), "longer than the 107 bytes"),
    ('<Runtime>\n Socket "/tmp/x.sock"\n</Runtime>',
     ["<Runtime> needs one non-empty name"]),
    runtime("r8", 'Notifications "maybe"', "Notifications", '"maybe"'),
    ('Runtimes "r9"', ['unknown option "Runtimes"']),
    runtime("r10", "PercentileAccuracy 0.5", "PercentileAccuracy 0.5",
            "from 0.001 to 0.1"),
    runtime("r11", 'Percentiles "often"', "Percentiles", '"often"'),
    runtime("r12", "MaxResponseBytes -1", "MaxResponseBytes", "-1"),
    runtime("r13", 'Socket "/tmp/a.sock"\n socket "/tmp/b.sock"',
            "socket is given twice"),
    runtime("r14", 'Totals "often"', 'invalid value for Totals: "often"',
            "(expected true or false)"),
    runtime("r15", "PageSize 2.5", "PageSize: 2.5",
            "(expected an integer from 1 to 10000)"),
    runtime("r16", 'SocketOwner "no-such-user-here"',
            'SocketOwner "no-such-user-here": no such user'),
    runtime("r17", 'StateFile "/tmp/%s"' % ("s" * 201), "StateFile",
            "must be 1 to 200 bytes"),
    runtime("r18", 'StateFile "/tmp/"', 'StateFile "/tmp/"',
            "must be 1 to 200 bytes"),
    ('<Runtime "dup">\n Socket "/tmp/a.sock"\n Timeout 0.5\n</Runtime>\n'
     '<Runtime "dup">\n Socket "/tmp/b.sock"\n Timeout 0.5\n</Runtime>',
     ['<Runtime "dup">', "cannot be registered"]),
]
PLUGIN_DIR = os.path.join(os.environ.get("SM_BUILDDIR", SRCDIR), ".libs")


def check_config(conf):
    """collectd -T over conf: collectd 5.12's configuration check, which
    runs the plugins' configuration (-t only parses the file)."""
    return subprocess.run([COLLECTD, "-T", "-C", conf], capture_output=True,
                          text=True, timeout=30, env=collectd_env())


def errors(log, plugin, needles):
    """plugin's error lines in the log that hold every needle."""
    return [l for l in read_text(log).splitlines() if plugin in l and
            "[error]" in l and all(n in l for n in needles)]


def any_errors(log, most):
    """The log's last lines that say error, up to most characters."""
    return "\n".join(l for l in read_text(log).splitlines()
                     if "error" in l)[-most:]


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
for block, needles in BAD:
    tap.ok(errors(log, "sagemaker_async", needles),
           "error names %s" % " / ".join(needles), any_errors(log, 2000))

# The same file through collectd -T.
res = check_config(conf)
missing = [" / ".join(n) for b, n in BAD
           if not errors(log, "sagemaker_async", n)]
tap.ok(res.returncode != 0 and not missing,
       "collectd -T fails (exit %d) and reports every error with its key and "
       "value" % res.returncode, missing)

# write_cloudwatch's errors, each block on its own: the error names the
# option (its line's first word; said again only where it is more) and the
# needles.
WCW_BAD = [
    ('Namespace "AWS/SageMaker"', ["AWS/"]),
    ('StorageResolution 30', ["StorageResolution 30", "1 (high resolution) or 60"]),
    ('Endpoint "ftp://example.com/"', ["http or https"]),
    ('MaxQueuedDatums 10', ["block 1: MaxQueuedDatums 10", "from 1000 to 10000000"]),
    ('MaxQueuedDatums 1500.5', ["MaxQueuedDatums 1500.5", "a whole number"]),
    ('FlushInterval 0', ["block 1: FlushInterval 0", "seconds from 1 to 3600"]),
    ('FlushInterval 5\n  FlushInterval 6', ["FlushInterval is given twice"]),
    ('Include "(unclosed"', ["(unclosed"]),
    ('Dimension "OnlyName"', ["two strings"]),
    ('Regoin "us-east-1"', ['unknown option "Regoin"']),
    ('Percentiles 2', ["Percentiles 2", "true or false"]),
    ('Include "^c+++++++++++++++++++++"', ["repetition of a repetition"]),
    ('Exclude ".{32767}{32767}"', ["a bound above 255"]),
    ('SpoolDirectory "relative/spool"', ["absolute path"]),
    ('SpoolMaxBytes 1000', ["SpoolMaxBytes 1000", "1048576"]),
    ('MaxRequestsPerSecond 0', ["MaxRequestsPerSecond 0", "from 0.1 to 1000"]),
    # The second block is named: a configuration may have several.
    ('</Plugin>\n<Plugin write_cloudwatch>\n  Region "us-east-1"\n'
     '  Timeout 0', ["block 2: Timeout 0", "seconds from 0.1 to 300"]),
]
for line, needles in WCW_BAD:
    key = line.split("\n")[-1].split()[0]
    if not any(key in n for n in needles):
        needles = [key] + needles
    w = Workdir("config-wcw")
    conf, out, log = collectd_conf(w, """PluginDir "%s"
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  %s
</Plugin>""" % (PLUGIN_DIR, line))
    res = check_config(conf)
    tap.ok(res.returncode != 0 and errors(log, "write_cloudwatch", needles),
           "write_cloudwatch: %s is refused, naming %s" % (line, " / ".join(needles)),
           any_errors(log, 1000))

# A good configuration passes collectd -T (config, init, one read).
sim, sock, ledger = start_sim(work, ["--seed", "3", "--rate", "50"])
work2 = Workdir("config-good")
conf, out, log = collectd_conf(work2, plugin_block(
    runtime_block("good", sock, Interval=1, Timeout=0.5, PageSize=100,
                  EndpointName="ep-from-config", Notifications=False)))
res = check_config(conf)
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
    PLUGIN_DIR, example))
res = check_config(conf3)
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
