# SPDX-License-Identifier: MIT
"""Shared pieces of the integration tests: TAP output, the real collectd
daemon, the runtime simulator, and readers for what they wrote.

Every process a test starts is stopped by its PID when the test ends,
whatever happens. Paths come from the environment that `make check` sets
(SM_SRCDIR, SM_BUILDDIR, SM_COLLECTD, SM_SANITIZERS).
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# TAP: the one Tap of every Python test, tests/tap.py.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tap import Tap  # noqa: E402 (after the path it is found in)

SRCDIR = os.environ.get("SM_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("SM_BUILDDIR") or SRCDIR
COLLECTD = os.environ.get("SM_COLLECTD") or shutil.which("collectd") or \
    "/usr/sbin/collectd"
SANITIZERS = os.environ.get("SM_SANITIZERS") == "yes"
SIM = os.path.join(BUILDDIR, "contrib", "sagemaker-runtime-sim")
PLUGIN_DIR = os.path.join(BUILDDIR, ".libs")
TEST_PLUGIN_DIR = os.path.join(BUILDDIR, "tests", "fakes", ".libs")
SYSTEM_PLUGIN_DIR = "/usr/lib/collectd"
SYSTEM_TYPES_DB = "/usr/share/collectd/types.db"


def require_slow(tap, what):
    """Skips a test that takes minutes unless SM_SLOW_TESTS=1: `make check`
    is the quick tier a developer runs after each change; `make check-all`
    and scripts/test.sh (in its gcc and sanitizer builds) run these too."""
    if os.environ.get("SM_SLOW_TESTS", "0") != "1":
        tap.skip_all("%s takes minutes: run with SM_SLOW_TESTS=1 "
                     "(make check-all, scripts/test.sh)" % what)


def require_collectd(tap):
    if not os.access(COLLECTD, os.X_OK):
        tap.skip_all("no collectd daemon (apt-get install collectd-core)")
    for f in (os.path.join(PLUGIN_DIR, "sagemaker_async.so"),
              os.path.join(TEST_PLUGIN_DIR, "capture.so"), SIM):
        if not os.path.exists(f):
            tap.bail("not built: " + f)


def slow_tap(name):
    """The Tap of a test of the real collectd that takes minutes: it skips
    without collectd (require_collectd) or SM_SLOW_TESTS=1 (require_slow)."""
    tap = Tap()
    require_collectd(tap)
    require_slow(tap, name)
    return tap


class Workdir:
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="sm-%s-" % name)
        atexit.register(self.cleanup)

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        if os.environ.get("SM_KEEP_TMP"):
            return
        shutil.rmtree(self.path, ignore_errors=True)


_procs = []


def _stop_all():
    for p in _procs:
        stop(p, timeout=3)


atexit.register(_stop_all)


def start(argv, log_path, env=None):
    """Starts a process with stdout and stderr going to log_path."""
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env)
    log.close()
    _procs.append(p)
    return p


def stop(p, timeout=10, sig=signal.SIGTERM):
    """Stops a process by its PID: sig, then SIGKILL after timeout.
    Returns (exit code, seconds it took to exit)."""
    if p.poll() is not None:
        return p.returncode, 0.0
    t0 = time.monotonic()
    try:
        os.kill(p.pid, sig)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    return p.returncode, time.monotonic() - t0


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def free_port():
    """A TCP port of 127.0.0.1 nothing listens on (as of now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listens(pid, port):
    """Whether process pid listens on TCP port of 127.0.0.1 (or of every
    address): a server started on a port free_port() gave may have lost
    it to another test's server, which then answers in its place."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and \
                    int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % cols[9])
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


def start_sim(work, args, name="sim"):
    """Starts the simulator; returns (process, socket path, ledger path)."""
    sock = work.file(name + ".sock")
    ledger = work.file(name + ".ledger.jsonl")
    p = start([SIM, "--socket", sock, "--ledger", ledger] + list(args),
              work.file(name + ".log"))
    if not wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10):
        raise RuntimeError("simulator did not create " + sock)
    if p.poll() is not None:
        raise RuntimeError("simulator exited: " + read_text(work.file(name + ".log")))
    return p, sock, ledger


def collectd_env(imds_endpoint=None):
    env = dict(os.environ)
    # Tests never ask a real instance-metadata service (it is not on this
    # machine) nor read the user's AWS files (a test may name its own).
    # A test that serves instance metadata itself names its endpoint.
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if imds_endpoint is not None:
        del env["AWS_EC2_METADATA_DISABLED"]
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds_endpoint
    env.setdefault("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    env.setdefault("AWS_CONFIG_FILE", "/nonexistent/config")
    if SANITIZERS:
        # The daemon is not instrumented; the runtime must come first.
        cc = os.environ.get("SM_CC", "gcc").split()[0]
        libs = []
        for lib in ("libasan.so", "libubsan.so"):
            path = subprocess.run([cc, "-print-file-name=" + lib],
                                  capture_output=True, text=True).stdout.strip()
            if os.path.isabs(path):
                libs.append(path)
        env["LD_PRELOAD"] = ":".join(libs)
        # collectd's own allocations at exit are not ours to judge here;
        # leaks in our code are checked by the unit tests under valgrind.
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=66"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def collectd_conf(work, plugin_blocks, capture=True, interval=1,
                  extra_global="", log_level="info"):
    """Writes a collectd.conf that loads logfile (to a file), our plugin
    and, unless told otherwise, the capture plugin."""
    out = work.file("capture.jsonl")
    log = work.file("collectd.log")
    lines = [
        'Hostname "sm-test"',
        "FQDNLookup false",
        "Interval %s" % interval,
        'BaseDir "%s"' % work.path,
        'TypesDB "%s" "%s"' % (SYSTEM_TYPES_DB,
                               os.path.join(SRCDIR, "contrib", "types.db")),
        extra_global,
        'PluginDir "%s"' % SYSTEM_PLUGIN_DIR,
        "LoadPlugin logfile",
        "<Plugin logfile>",
        "  LogLevel %s" % log_level,
        '  File "%s"' % log,
        "  Timestamp true",
        "  PrintSeverity true",
        "</Plugin>",
        'PluginDir "%s"' % PLUGIN_DIR,
        "LoadPlugin sagemaker_async",
    ]
    if capture:
        lines += ['PluginDir "%s"' % TEST_PLUGIN_DIR, "LoadPlugin capture",
                  "<Plugin capture>", '  File "%s"' % out, "</Plugin>"]
    lines.append(plugin_blocks)
    conf = work.file("collectd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf, out, log


def start_collectd(work, conf, imds_endpoint=None):
    """Starts collectd -f -C conf; with imds_endpoint, instance metadata is
    asked there (AWS_EC2_METADATA_SERVICE_ENDPOINT) instead of disabled."""
    return start([COLLECTD, "-f", "-C", conf], work.file("collectd.stderr"),
                 env=collectd_env(imds_endpoint))


def sanitizer_reports(work):
    text = read_text(work.file("collectd.stderr"))
    bad = [l for l in text.splitlines()
           if "AddressSanitizer" in l or "runtime error:" in l
           or "LeakSanitizer" in l]
    return bad


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def read_jsonl(path):
    """Reads a JSON-lines file; a last line still being written is left
    out."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def reads_idle(capture_path):
    """True once the last two reads the capture plugin recorded counted
    no request: the read plugin drained the runtime."""
    vals = [v for v in read_jsonl(capture_path) if v["kind"] == "value" and
            v["type_instance"] == "InvocationsProcesssed"]
    return len(vals) >= 2 and all(v["values"][0] == 0 for v in vals[-2:])


def runtime_block(name, sock, **opts):
    body = ['  <Runtime "%s">' % name, '    Socket "%s"' % sock]
    for k, v in opts.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, str):
            v = json.dumps(v)
        body.append("    %s %s" % (k, v))
    body.append("  </Runtime>")
    return "\n".join(body)


def plugin_block(*runtimes):
    return "<Plugin sagemaker_async>\n%s\n</Plugin>" % "\n".join(runtimes)
