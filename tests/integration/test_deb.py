#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Debian package end to end: built with dpkg-buildpackage from a copy
of the source tree, installed with dpkg, run by the real collectd with the
example configuration the package installs (adapted so that every peer is
on 127.0.0.1: the runtime simulator on a Unix socket, moto_server as
CloudWatch and CloudWatch Logs), then purged.

It installs a package, so it needs root and is not part of `make check`;
scripts/test.sh runs it. It leaves the machine as it found it: the package
is purged whatever happens, and it refuses to run when the package is
already installed. Installing starts no collectd (the package has no
maintainer scripts), which is checked."""
import atexit
import glob
import os
import re
import shutil
import subprocess
import time

from harness import (COLLECTD, SRCDIR, Tap, Workdir, collectd_env, read_text,
                     start, stop, wait_for)
import motoserver as motolib

PACKAGE = "collectd-sagemaker"
tap = Tap()


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def system_collectd_pids():
    """The PIDs of every collectd running with the system's configuration
    (no -C, or one under /etc), as an init script or systemd starts it.
    Tests elsewhere may run collectd with their own files meanwhile."""
    pids = set()
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(os.path.join(d, "cmdline"), "rb") as f:
                argv = [a.decode(errors="replace")
                        for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if not argv or os.path.basename(argv[0]) != "collectd":
            continue
        conf = argv[argv.index("-C") + 1] if "-C" in argv[:-1] else "/etc/"
        if conf.startswith("/etc/"):
            pids.add(int(os.path.basename(d)))
    return pids


if os.geteuid() != 0:
    tap.skip_all("installs a package: needs root")
for tool in ("dpkg-buildpackage", "dh", "git"):
    if shutil.which(tool) is None:
        tap.skip_all("%s is not installed (scripts/deps.sh installs it)" % tool)
if not os.path.isdir(os.path.join(SRCDIR, "debian")) or \
        not os.path.exists(os.path.join(SRCDIR, ".git")):
    tap.skip_all("not a git checkout with debian/")
if not os.access(COLLECTD, os.X_OK):
    tap.skip_all("no collectd daemon (apt-get install collectd-core)")
if installed(PACKAGE):
    tap.skip_all("%s is already installed; not touching it" % PACKAGE)

work = Workdir("deb")
before = system_collectd_pids()

# ------------------------------------------------------------ build
# The working tree as git sees it (tracked files and new ones not
# ignored), without build products: what a clean checkout would hold.
src = work.file("src")
files = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-z", "--cached",
                        "--others", "--exclude-standard"],
                       capture_output=True, check=True).stdout.split(b"\0")
for rel in (f.decode() for f in files if f):
    if not os.path.lexists(os.path.join(SRCDIR, rel)):
        continue  # deleted, not yet committed
    os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
    shutil.copy2(os.path.join(SRCDIR, rel), os.path.join(src, rel),
                 follow_symlinks=False)

env = dict(os.environ)
jobs = os.environ.get("JOBS") or str(os.cpu_count() or 1)
env["DEB_BUILD_OPTIONS"] = " ".join(
    filter(None, [env.get("DEB_BUILD_OPTIONS", ""), "parallel=" + jobs]))
t0 = time.monotonic()
with open(work.file("build.log"), "wb") as log:
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                       stdout=log, stderr=subprocess.STDOUT, env=env,
                       timeout=1800)
debs = glob.glob(os.path.join(work.path, "%s_*.deb" % PACKAGE))
if not tap.ok(r.returncode == 0 and len(debs) == 1,
              "dpkg-buildpackage -us -uc -b builds %s (%.0f s)"
              % (" ".join(os.path.basename(d) for d in debs) or "nothing",
                 time.monotonic() - t0),
              read_text(work.file("build.log"))[-3000:]):
    tap.bail("no package to install")
deb = debs[0]
summary = re.findall(r"^# (TOTAL|PASS|FAIL|ERROR): *(\d+)",
                     read_text(work.file("build.log")), re.M)
tap.note("make check in the package build: %s"
         % ", ".join("%s %s" % kv for kv in summary))
counts = dict(summary)
tap.ok(int(counts.get("PASS", 0)) > 0 and counts.get("FAIL") == "0" and
       counts.get("ERROR") == "0", "the package build ran its tests, and they pass")

contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                          text=True).stdout
paths = {re.sub(r"^\./", "/", l.split()[-1]) for l in contents.splitlines()}
want = {"/usr/lib/collectd/sagemaker_async.so",
        "/usr/lib/collectd/write_cloudwatch.so",
        "/usr/share/collectd-sagemaker/types.db",
        "/usr/share/man/man5/collectd-sagemaker.5.gz",
        "/usr/share/doc/collectd-sagemaker/copyright",
        "/usr/share/doc/collectd-sagemaker/examples/collectd.conf.example",
        "/usr/share/doc/collectd-sagemaker/examples/systemd/collectd.service.d/sagemaker.conf",
        "/usr/share/doc/collectd-sagemaker/examples/aws/iam-policy.json",
        "/usr/share/doc/collectd-sagemaker/examples/aws/dashboard.json",
        "/usr/share/doc/collectd-sagemaker/examples/aws/scaling-policy.json",
        "/usr/share/doc/collectd-sagemaker/examples/aws/scalable-target.json"}
tap.ok(want <= paths, "the package holds the plugins, types.db, the man page "
       "and the examples", "missing: %s" % sorted(want - paths))
tap.ok(not [p for p in paths if p.endswith(".la")], "and no libtool .la files")
depends = subprocess.run(["dpkg-deb", "-f", deb, "Depends"],
                         capture_output=True, text=True).stdout.strip()
tap.ok(re.search(r"collectd-core \(>= 5\.12[^)]*\), collectd-core \(<< 5\.13~\)",
                 depends) is not None,
       "it depends on the collectd-core x.y it was built against", depends)


# ---------------------------------------------------------- install
def purge():
    if installed(PACKAGE):
        subprocess.run(["dpkg", "--purge", PACKAGE], capture_output=True)


atexit.register(purge)
r = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True)
tap.ok(r.returncode == 0 and installed(PACKAGE), "dpkg -i installs it",
       r.stdout + r.stderr)
tap.ok(system_collectd_pids() <= before,
       "installing it started no system collectd")

# ------------------------------------------------------ configure
moto = motolib.Moto(work) if motolib.available() else None
if moto is None:
    tap.note("moto_server and boto3 are not installed: CloudWatch is a closed port")
cw_url = moto.url if moto else "http://127.0.0.1:%d" % motolib.free_port()
sock = work.file("runtime.sock")
example = read_text("/usr/share/doc/%s/examples/collectd.conf.example" % PACKAGE)


def adapt(text, pattern, repl, what):
    new, k = re.subn(pattern, repl, text, flags=re.M)
    tap.ok(k == 1, "example configuration: %s" % what,
           "%d matches of %r" % (k, pattern))
    return new


conf_text = adapt(example, r'^(\s*)Socket "[^"]*"$',
                  r'\1Socket "%s"' % sock, "the runtime's socket is the simulator's")
conf_text = adapt(conf_text, r"^(\s*)Interval 10$", r"\1Interval 1",
                  "the runtime is read every second")
conf_text = adapt(conf_text, r"^(\s*)Timeout 2$", r"\1Timeout 0.5",
                  "within half a second")
conf_text = adapt(conf_text, r'^(\s*)#Region "us-east-1"$',
                  r'\1Region "us-east-1"\n\1Endpoint "%s/"\n\1LogsEndpoint "%s/"'
                  # moto_server cannot read gzip-compressed JSON bodies.
                  r"\n\1Compress false" % (cw_url, cw_url),
                  "CloudWatch and CloudWatch Logs are on 127.0.0.1")
conf_text = adapt(conf_text, r"^(\s*)FlushInterval 10$", r"\1FlushInterval 2",
                  "sent every 2 seconds")
with open(work.file("sagemaker.conf"), "w") as f:
    f.write(conf_text)
csv_dir = work.file("csv")
log = work.file("collectd.log")
conf = work.file("collectd.conf")
with open(conf, "w") as f:
    # No PluginDir: the modules come from where the package put them.
    f.write("""Hostname "sm-deb"
FQDNLookup false
Interval 1
BaseDir "%s"
PIDFile "%s"
TypesDB "/usr/share/collectd/types.db" "/usr/share/collectd-sagemaker/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "%s"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "%s"
  StoreRates false
</Plugin>
Include "%s"
""" % (work.path, work.file("collectd.pid"), log, csv_dir,
       work.file("sagemaker.conf")))

cenv = collectd_env()
cenv["AWS_ACCESS_KEY_ID"] = moto.key_id if moto else "AKIDEXAMPLE"
cenv["AWS_SECRET_ACCESS_KEY"] = moto.secret if moto else "secret"
cenv.pop("AWS_SESSION_TOKEN", None)
cenv.pop("LD_PRELOAD", None)  # the packaged modules are not sanitized

sim_bin = os.path.join(src, "contrib", "sagemaker-runtime-sim")
sim = start([sim_bin, "--socket", sock, "--seed", "8", "--rate", "60",
             "--endpoint", "deb-endpoint", "--quiet"], work.file("sim.log"))
if not wait_for(lambda: os.path.exists(sock) or sim.poll() is not None, 10) \
        or sim.poll() is not None:
    tap.bail("the simulator did not start: " + read_text(work.file("sim.log")))

for flag in ("-t", "-T"):
    r = subprocess.run([COLLECTD, flag, "-C", conf], capture_output=True,
                       text=True, timeout=60, env=cenv)
    tap.eq(r.returncode, 0, "collectd %s passes the installed example "
           "configuration" % flag)
if r.returncode != 0:
    tap.note((r.stdout + r.stderr + read_text(log))[-2000:])

# ------------------------------------------------------------ run
open(log, "w").close()
cd = start([COLLECTD, "-f", "-C", conf], work.file("collectd.stderr"), env=cenv)


def csv_value(rel):
    """The last value of a csv plugin file (any date), or None."""
    files = sorted(glob.glob(os.path.join(csv_dir, "sm-deb", rel + "-*")))
    lines = read_text(files[-1]).splitlines() if files else []
    try:
        return float(lines[-1].split(",")[1]) if len(lines) > 1 else None
    except (IndexError, ValueError):
        return None


tap.ok(wait_for(lambda: csv_value(
    "sagemaker_async-main/sagemaker_gauge-ApproximateBacklogSize") is not None, 20),
       "sagemaker_async reads the runtime (the csv plugin has its backlog)")
tap.ok(wait_for(lambda: (csv_value(
    "sagemaker_async-main/sagemaker_count-InvocationsProcesssed") or 0) > 0, 20),
       "and counts the requests it processed")
if moto:
    tap.ok(wait_for(lambda: (csv_value(
        "write_cloudwatch-0/derive-datums_sent") or 0) > 0, 20),
           "write_cloudwatch sends datums to CloudWatch")
code, took = stop(cd, timeout=15)
tap.eq(code, 0, "collectd stops on SIGTERM and exits 0 (%.1f s)" % took)
stop(sim)
text = read_text(log)
tap.ok("plugin \"sagemaker_async\" successfully loaded" in text and
       "plugin \"write_cloudwatch\" successfully loaded" in text,
       "collectd loaded both plugins from /usr/lib/collectd",
       "\n".join(l for l in text.splitlines() if "load" in l)[-1000:])
errors = [l for l in text.splitlines() if "[error]" in l]
if moto:
    tap.ok(not errors, "nothing logged an error", "\n".join(errors[:10]))
    names = {m["MetricName"] for m in moto.cw.list_metrics(
        Namespace="SageMaker/AsyncInference")["Metrics"]}
    tap.ok({"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
            "InvocationsProcesssed", "ModelLatency"} <= names,
           "the SageMaker metrics are in CloudWatch", sorted(names))
    groups = [g["logGroupName"] for g in moto.logs().describe_log_groups(
        logGroupNamePrefix="/aws/sagemaker/Endpoints/")["logGroups"]]
    tap.eq(groups, ["/aws/sagemaker/Endpoints/deb-endpoint"],
           "the endpoint's data log is in CloudWatch Logs")
    moto.stop()
else:
    for what in ("write_cloudwatch sends datums to CloudWatch",
                 "nothing logged an error",
                 "the SageMaker metrics are in CloudWatch",
                 "the endpoint's data log is in CloudWatch Logs"):
        tap.ok(True, "%s # SKIP moto_server and boto3 are not installed" % what)

# --------------------------------------------------------- remove
r = subprocess.run(["dpkg", "--purge", PACKAGE], capture_output=True, text=True)
tap.ok(r.returncode == 0 and not installed(PACKAGE), "dpkg --purge removes it",
       r.stdout + r.stderr)
left = [p for p in want if os.path.exists(p)] + \
    [d for d in ("/usr/share/collectd-sagemaker", "/usr/share/doc/" + PACKAGE)
     if os.path.exists(d)]
tap.ok(not left, "and leaves none of its files", left)
tap.ok(system_collectd_pids() <= before, "no system collectd is left running")
tap.done()
