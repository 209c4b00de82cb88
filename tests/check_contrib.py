#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The files of contrib/ (and debian/, when the tree has it) against the
code: every JSON file parses; the dashboard names exactly the metrics of
the table (sm_metrics.c) with their dimensions and valid statistics,
and all of them; the scaling policy tracks ApproximateBacklogSizePerInstance
by EndpointName in the plugin's namespace; the IAM policy allows exactly
the API actions the code calls, in that namespace and on the endpoint's
log group; the systemd drop-in orders collectd after the runtime; the
Debian changelog carries configure.ac's version."""
import configparser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile

from tap import Tap

SRC = os.environ.get("SM_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), ".."))
tap = Tap()
ok, skip = tap.ok, tap.skip


def path(*parts):
    return os.path.join(SRC, *parts)


def read(*parts):
    with open(path(*parts)) as f:
        return f.read()


def plugin_files(ext=".c"):
    """Every source file under plugin/, as paths relative to SRC."""
    out = []
    for root, _, files in os.walk(path("plugin")):
        out += [os.path.relpath(os.path.join(root, f), SRC)
                for f in files if f.endswith(ext)]
    return sorted(out)


def source(name):
    """The text of the file called name, wherever it is under plugin/."""
    for rel in plugin_files(os.path.splitext(name)[1]):
        if os.path.basename(rel) == name:
            return read(rel)
    raise FileNotFoundError(name)


def c_code(text):
    """C source without its comments, so that only code is searched."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


# Placeholders of the contrib files, replaced before use (README).
ENDPOINT, VARIANT, REGION, ACCOUNT = \
    "ENDPOINT_NAME", "VARIANT_NAME", "REGION", "ACCOUNT_ID"
DIM_PLACEHOLDER = {"EndpointName": ENDPOINT, "VariantName": VARIANT}
# The metric table's short statistic names, as CloudWatch spells them.
STAT_NAME = {"Min": "Minimum", "Max": "Maximum"}
TIME_UNITS = ("Microseconds", "Milliseconds", "Seconds")

# ------------------------------------------------------------ the code
header = source("sm_metrics.h")
dim_sets = {k: [d.strip() for d in v.split(",")] for k, v in re.findall(
    r"(SM_DIMS_[A-Z_]+),?\s*/\*\s*([A-Za-z, ]+?)\s*\*/", header)}
table = {}
for name, unit, dims, kind, stats in re.findall(
        r'\{\s*"([A-Za-z0-9]+)",\s*"([A-Za-z]+)",\s*(SM_DIMS_[A-Z_]+),'
        r'\s*SM_KIND_([A-Z]+),\s*[A-Z0-9_]+,\s*"([A-Za-z,]+)"\s*\}',
        source("sm_metrics.c")):
    table[name] = {"unit": unit, "dims": dim_sets.get(dims),
                   # sm_metrics_is_timing: a statistic set in a unit of time
                   "timing": kind == "STATS" and unit in TIME_UNITS,
                   "stats": {STAT_NAME.get(s, s) for s in stats.split(",")}}
ok(len(table) == 16 and all(m["dims"] for m in table.values()),
   "16 metrics with their dimensions in sm_metrics.c",
   "%d metrics; dimension sets %r" % (len(table), dim_sets))

# The default of the Namespace option in write_cloudwatch's option table.
m = re.search(r'\.name = "Namespace",[^}]*?\.def = "([^"]+)"', source("wcw_options.c"),
              re.S)
NAMESPACE = m.group(1) if m else None
ok(NAMESPACE, "write_cloudwatch's default namespace: %s" % NAMESPACE)
m = re.search(r'#define CW_HOST_DEFAULT_NAMESPACE "([^"]+)"', source("cw_host.h"))
HOST_NAMESPACE = m.group(1) if m else None
ok(HOST_NAMESPACE, "the host metrics' default namespace: %s" % HOST_NAMESPACE)

m = re.search(r'"(/aws/sagemaker/Endpoints/)%s"', source("cw_datalog.c"))
LOG_GROUP = m.group(1) + ENDPOINT if m else None
ok(LOG_GROUP, "the data log's group: %s" % LOG_GROUP)

# The API actions the code calls. Each file that signs requests names the
# service it signs for; its actions are the X-Amz-Target values it sends:
# "Prefix.Action" literals, or a "Prefix." literal completed at run time
# with the action, which is then an Action-shaped string literal of that
# file. The IAM prefix of CloudWatch is "cloudwatch", its signing name
# "monitoring".
IAM_PREFIX = {"monitoring": "cloudwatch", "logs": "logs"}
AWS_VERBS = ("Associate|Cancel|Create|Delete|Describe|Disable|Disassociate|"
             "Enable|Filter|Get|List|Put|Set|Start|Stop|Tag|Test|Untag|Update")
code_actions = set()
senders = {}  # file: IAM prefix of the service it signs for
unknown = []
for fn in plugin_files():
    code = c_code(read(fn))
    # A file's own header may hold its constants.
    header = fn[:-2] + ".h"
    if os.path.exists(path(header)):
        code += "\n" + c_code(read(header))
    defines = dict(re.findall(r'#define\s+(\w+)\s+"([^"]*)"', code))
    services = set(re.findall(r'(?:\.|->)service\s*=\s*"([^"]+)"', code))
    services |= {defines[d]
                 for d in re.findall(r"(?:\.|->)service\s*=\s*(\w+)", code)
                 if d in defines}
    if not services:
        continue
    if len(services) > 1 or next(iter(services)) not in IAM_PREFIX:
        unknown.append("%s signs for %s" % (fn, sorted(services)))
        continue
    prefix = senders[fn] = IAM_PREFIX[next(iter(services))]
    literals = re.findall(r'"([^"\\]*)"', code) + list(defines.values())
    found = {l.split(".", 1)[1] for l in literals
             if re.fullmatch(r"[A-Za-z0-9_]+\.[A-Z][A-Za-z]+", l)}
    if any(re.fullmatch(r"[A-Za-z0-9_]+\.", l) for l in literals):
        found |= {l for l in literals
                  if re.fullmatch(r"(%s)[A-Z][A-Za-z]+" % AWS_VERBS, l)}
    if not found:
        unknown.append("%s signs for %s but sends no action found here"
                       % (fn, prefix))
    code_actions |= {"%s:%s" % (prefix, a) for a in found}
ok(not unknown and code_actions,
   "the code calls: %s" % ", ".join(sorted(code_actions)), "\n".join(unknown))

botocore = None
if importlib.util.find_spec("botocore") is not None:
    import botocore.session
    botocore = botocore.session.get_session()
if botocore is not None:
    real = {"cloudwatch": set(botocore.get_service_model("cloudwatch").operation_names),
            "logs": set(botocore.get_service_model("logs").operation_names)}
    bad = [a for a in code_actions if a.split(":")[1] not in real[a.split(":")[0]]]
    ok(not bad, "each is an operation of its service (botocore's models)", bad)
    # An operation named in the code but missed above (a verb not listed).
    missed = []
    for fn, prefix in sorted(senders.items()):
        lits = set(re.findall(r'"([A-Za-z]+)"', c_code(read(fn))))
        missed += ["%s:%s" % (prefix, l) for l in lits & real[prefix]
                   if "%s:%s" % (prefix, l) not in code_actions]
    ok(not missed, "no other operation name is a literal of the senders", missed)
else:
    skip("each is an operation of its service", "botocore is not installed")
    skip("no other operation name is a literal of the senders",
         "botocore is not installed")

# ------------------------------------------------------- the JSON files
docs = {}
for root, _, files in os.walk(path("contrib")):
    for fn in sorted(files):
        if fn.endswith(".json"):
            rel = os.path.relpath(os.path.join(root, fn), SRC)
            try:
                with open(os.path.join(root, fn)) as f:
                    docs[rel] = json.load(f)
                ok(True, "%s parses" % rel)
            except ValueError as e:
                ok(False, "%s parses" % rel, e)
for rel in ("contrib/aws/dashboard.json", "contrib/aws/iam-policy.json",
            "contrib/aws/scaling-policy.json", "contrib/aws/scalable-target.json"):
    ok(rel in docs, "%s is there" % rel)
dashboard = docs.get("contrib/aws/dashboard.json", {})
iam = docs.get("contrib/aws/iam-policy.json", {})
scaling = docs.get("contrib/aws/scaling-policy.json", {})
target = docs.get("contrib/aws/scalable-target.json", {})

# -------------------------------------------------------- the dashboard
widgets = dashboard.get("widgets", [])
cells = {}
overlap = []
for i, w in enumerate(widgets):
    x, y, wd, ht = (w.get(k) for k in ("x", "y", "width", "height"))
    if not all(isinstance(v, int) for v in (x, y, wd, ht)) or x + wd > 24:
        overlap.append("widget %d: position %r" % (i, (x, y, wd, ht)))
        continue
    for cx in range(x, x + wd):
        for cy in range(y, y + ht):
            if (cx, cy) in cells:
                overlap.append("widgets %d and %d overlap" % (cells[cx, cy], i))
            cells[cx, cy] = i
ok(widgets and not overlap,
   "dashboard: %d widgets within 24 columns, none overlapping" % len(widgets),
   "\n".join(sorted(set(overlap))))

seen = set()
pcts = {}
bad = []
for i, w in enumerate(widgets):
    if w.get("type") != "metric":
        continue
    p = w.get("properties", {})
    title = p.get("title", "widget %d" % i)
    if p.get("region") != REGION:
        bad.append("%s: region %r, not the placeholder %s"
                   % (title, p.get("region"), REGION))
    prev = []
    for e in p.get("metrics", []):
        opts = e[-1] if e and isinstance(e[-1], dict) else {}
        body = e[:-1] if opts else list(e)
        # "." repeats the previous entry's element at that position.
        body = [prev[k] if v == "." and k < len(prev) else v
                for k, v in enumerate(body)]
        prev = body
        if opts.get("expression"):
            continue
        if len(body) < 2:
            bad.append("%s: metric entry %r" % (title, e))
            continue
        ns, name, pairs = body[0], body[1], body[2:]
        dims = dict(zip(pairs[0::2], pairs[1::2]))
        stat = opts.get("stat", p.get("stat", "Average"))
        t = table.get(name)
        if ns != NAMESPACE:
            bad.append("%s: %s in namespace %r" % (title, name, ns))
        if t is None:
            bad.append("%s: %s is not in the metric table" % (title, name))
            continue
        seen.add(name)
        if len(pairs) % 2 or sorted(dims) != sorted(t["dims"]):
            bad.append("%s: %s with dimensions %r, not %r"
                       % (title, name, sorted(dims), t["dims"]))
        elif any(dims[d] != DIM_PLACEHOLDER[d] for d in dims):
            bad.append("%s: %s: dimension values %r, not the placeholders"
                       % (title, name, dims))
        # Timings go out as Values/Counts: CloudWatch has their
        # percentiles too.
        pct = t["timing"] and re.fullmatch(
            r"p(\d{1,2}(\.\d+)?|100)", stat) is not None
        if pct:
            pcts.setdefault(name, set()).add(stat)
        if stat not in t["stats"] and not pct:
            bad.append("%s: %s with statistic %s (valid: %s)"
                       % (title, name, stat, ", ".join(sorted(t["stats"]))))
ok(not bad, "dashboard: every metric is in the table, in namespace %s, with "
   "its dimensions and a valid statistic" % NAMESPACE, "\n".join(bad))
timings = sorted(n for n, t in table.items() if t["timing"])
ok(all({"p50", "p99"} <= pcts.get(n, set()) for n in timings),
   "dashboard: p50 and p99 of every timing (%s)" % ", ".join(timings),
   pcts)
missing = sorted(set(table) - seen)
ok(not missing, "dashboard: all %d metrics of the table are shown" % len(table),
   "missing: %s" % ", ".join(missing))

# ------------------------------------------------- scaling and its target
ttc = scaling.get("TargetTrackingScalingPolicyConfiguration", {})
spec = ttc.get("CustomizedMetricSpecification", {})
t = table.get("ApproximateBacklogSizePerInstance", {})
ok(scaling.get("PolicyType") == "TargetTrackingScaling" and
   spec.get("MetricName") == "ApproximateBacklogSizePerInstance" and
   spec.get("Namespace") == NAMESPACE,
   "scaling policy: target tracking of ApproximateBacklogSizePerInstance in %s"
   % NAMESPACE, json.dumps(spec))
ok(spec.get("Dimensions") == [{"Name": d, "Value": DIM_PLACEHOLDER[d]}
                              for d in t.get("dims", [])] and
   spec.get("Unit", t.get("unit")) == t.get("unit") and
   spec.get("Statistic") in t.get("stats", ()),
   "scaling policy: the metric's dimensions (EndpointName), unit and a valid "
   "statistic", json.dumps(spec))
want_id = "endpoint/%s/variant/%s" % (ENDPOINT, VARIANT)
ok(all(d.get("ResourceId") == want_id and
       d.get("ServiceNamespace") == "sagemaker" and
       d.get("ScalableDimension") == "sagemaker:variant:DesiredInstanceCount"
       for d in (scaling, target)),
   "scaling policy and scalable target name the same variant (%s)" % want_id)
# The metric comes from collectd on the instances: with none running,
# nothing publishes it and target tracking cannot scale out from zero.
ok(isinstance(target.get("MinCapacity"), int) and target["MinCapacity"] >= 1 and
   target.get("MaxCapacity", 0) >= target["MinCapacity"],
   "scalable target: at least one instance (MinCapacity %r, MaxCapacity %r)"
   % (target.get("MinCapacity"), target.get("MaxCapacity")))
lines = [a.get("value") for w in widgets
         for a in w.get("properties", {}).get("annotations", {}).get("horizontal", [])
         if a.get("label") == "scaling target"]
ok(lines == [ttc.get("TargetValue")],
   "dashboard's scaling-target line is the policy's TargetValue (%r)"
   % ttc.get("TargetValue"), "dashboard: %r" % lines)
if botocore is not None:
    from botocore.validate import validate_parameters
    model = botocore.get_service_model("application-autoscaling")
    for doc, op in ((target, "RegisterScalableTarget"), (scaling, "PutScalingPolicy")):
        try:
            validate_parameters(doc, model.operation_model(op).input_shape)
            ok(True, "botocore accepts the %s parameters" % op)
        except Exception as e:  # botocore's ParamValidationError
            ok(False, "botocore accepts the %s parameters" % op, e)
else:
    skip("botocore accepts the scaling parameters", "botocore is not installed")

# ----------------------------------------------------------- the policy
statements = iam.get("Statement", [])
if isinstance(statements, dict):
    statements = [statements]


def as_list(v):
    return v if isinstance(v, list) else [v]


policy_actions = {a for s in statements for a in as_list(s.get("Action", []))}
ok(policy_actions == code_actions,
   "IAM policy: its actions are exactly those the code calls",
   "policy only: %s\ncode only: %s" % (sorted(policy_actions - code_actions),
                                       sorted(code_actions - policy_actions)))
ok(all(s.get("Effect") == "Allow" and "NotAction" not in s and
       "NotResource" not in s for s in statements),
   "IAM policy: Allow statements only, no NotAction or NotResource")
bad = []
for s in statements:
    acts = as_list(s.get("Action", []))
    res = as_list(s.get("Resource", []))
    if any(a.startswith("cloudwatch:") for a in acts):
        cond = s.get("Condition", {}).get("StringEquals", {})
        if set(acts) != {"cloudwatch:PutMetricData"} or \
                sorted(as_list(cond.get("cloudwatch:namespace"))) != \
                sorted([NAMESPACE, HOST_NAMESPACE]):
            bad.append("%s: not PutMetricData bound to cloudwatch:namespace "
                       "%s and %s" % (s.get("Sid"), NAMESPACE, HOST_NAMESPACE))
    if any(a.startswith("logs:") for a in acts):
        want = "arn:aws:logs:%s:%s:log-group:%s:*" % (REGION, ACCOUNT, LOG_GROUP)
        if not all(a.startswith("logs:") for a in acts) or res != [want]:
            bad.append("%s: resources %r, not the endpoint's log group %s"
                       % (s.get("Sid"), res, want))
ok(not bad, "IAM policy: metrics only in %s and %s, logs only in %s"
   % (NAMESPACE, HOST_NAMESPACE, LOG_GROUP), "\n".join(bad))
if importlib.util.find_spec("moto") is not None:
    try:
        from moto.iam.policy_validation import IAMPolicyDocumentValidator
        IAMPolicyDocumentValidator(json.dumps(iam)).validate()
        ok(True, "IAM policy: moto's policy validator accepts it")
    except ImportError as e:
        skip("IAM policy: moto's policy validator accepts it", e)
    except Exception as e:  # moto's MalformedPolicyDocument
        ok(False, "IAM policy: moto's policy validator accepts it", e)
else:
    skip("IAM policy: moto's policy validator accepts it", "moto is not installed")

# ------------------------------------------------------ systemd drop-in
UNIT = "sagemaker-async-runtime.service"
dropin_rel = "contrib/systemd/collectd.service.d/sagemaker.conf"
dropin = read(*dropin_rel.split("/"))
cp = configparser.ConfigParser(strict=False, interpolation=None)
cp.optionxform = str
try:
    cp.read_string(dropin)
    after = cp.get("Unit", "After", fallback="").split()
except configparser.Error as e:
    after = []
    print("#   %s" % e)
ok(cp.sections() == ["Unit"] and UNIT in after,
   "drop-in: [Unit] After=%s" % UNIT, dropin)
ok("placeholder" in dropin and dropin.count(UNIT) >= 3,
   "drop-in: its comment says the unit name is a placeholder")
analyze = shutil.which("systemd-analyze")
if analyze:
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "collectd.service.d"))
        with open(os.path.join(d, "collectd.service"), "w") as f:
            f.write("[Unit]\nDescription=collectd\n[Service]\n"
                    "ExecStart=/usr/sbin/collectd\n")
        shutil.copy(path(dropin_rel), os.path.join(d, "collectd.service.d"))
        r = subprocess.run([analyze, "verify", "--man=no",
                            os.path.join(d, "collectd.service")],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="debug"))
        out = r.stdout + r.stderr
        complaints = [l for l in out.splitlines()
                      if "sagemaker.conf:" in l]
        ok("DropIn Path: %s" % os.path.join(d, "collectd.service.d",
                                            "sagemaker.conf") in out and
           "After: %s (origin-file)" % UNIT in out and not complaints,
           "drop-in: systemd-analyze verify loads it without complaint",
           "\n".join(complaints) or out[-1500:])
else:
    skip("drop-in: systemd-analyze verify", "systemd-analyze is not installed")

# ------------------------------------------------------------- debian/
if os.path.isdir(path("debian")):
    m = re.search(r"AC_INIT\(\[[^]]*\],\s*\[([^]]+)\]", read("configure.ac"))
    version = m.group(1) if m else None
    m = re.match(r"\S+ \(([^)]+)\)", read("debian", "changelog"))
    deb = m.group(1) if m else ""
    upstream = re.sub(r"-[^-]*$", "", deb.split(":", 1)[-1])
    ok(version and upstream == version,
       "debian/changelog (%s) is configure.ac's version (%s)" % (deb, version))
    control = read("debian", "control")
    m = re.search(r"^Build-Depends:(.*?)(?=^\S)", control, re.M | re.S)
    bdeps = set(re.findall(r"([a-z0-9][a-z0-9.+-]+)", m.group(1))) if m else set()
    need = set(re.findall(r"apt-get install ([a-z0-9][a-z0-9.+-]+)",
                          read("configure.ac")))
    need |= set(re.findall(r"\(Debian: ([a-z0-9.+-]+)\)", read("configure.ac")))
    ok(need and need <= bdeps,
       "debian/control builds-depends on what configure asks for (%s)"
       % ", ".join(sorted(need)), "missing: %s" % sorted(need - bdeps))
    for fn in sorted(os.listdir(path("debian"))):
        if fn.endswith((".examples", ".docs")):
            listed = [l.strip() for l in read("debian", fn).splitlines()
                      if l.strip() and not l.startswith("#")]
            gone = [l for l in listed if not os.path.exists(path(l))]
            ok(listed and not gone, "debian/%s names files that exist" % fn, gone)
else:
    skip("debian/", "not in this tree (release tarballs leave it out)")

tap.done()
