#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The documentation against the code: every configuration option the
plugins accept is documented in README.md and in the man page, every
option documented exists, every metric of the table is in README, and the
man page is well-formed POD."""
import os
import re
import shutil
import subprocess

from tap import Tap

SRC = os.environ.get("SM_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), ".."))
tap = Tap()
ok = tap.ok


def read(*parts):
    with open(os.path.join(SRC, *parts)) as f:
        return f.read()


readme = read("README.md")
pod = read("doc", "collectd-sagemaker.5.pod")
STRCASECMP = r'strcasecmp\("([A-Za-z0-9]+)", (?:c|child)->key\)'


def table_options(code, array):
    """The options of a table of sm_collectd_option_t (include/sm_collectd.h)
    named array: [(name, default or None)], from the source."""
    m = re.search(r"\b%s\[\]\s*=\s*\{" % re.escape(array), code)
    if m is None:
        return []
    body = code[m.end():]
    body = body[:body.index("\n};")]
    out = []
    for entry in re.split(r"\{\s*\.name\s*=", body)[1:]:
        name = re.match(r'\s*"([A-Za-z0-9]+)"', entry).group(1)
        d = re.search(r'\.def\s*=\s*"([^"]*)"', entry)
        out.append((name, d.group(1) if d else None))
    return out


# The option tables of each plugin's glue.
TABLES = {"sagemaker_async": ["runtime_options"], "write_cloudwatch": ["options"]}
code_all = ""
known = set()
defaults = []  # (plugin, option, default from the table)
GLUE_FILES = {"sagemaker_async": ["sa_options.c"],
              "write_cloudwatch": ["wcw_options.c"]}
for plugin in ("sagemaker_async", "write_cloudwatch"):
    code = "".join(read("plugin", f) for f in GLUE_FILES[plugin])
    code_all += code
    tabled = [o for t in TABLES[plugin] for o in table_options(code, t)]
    for t in TABLES[plugin]:
        ok(table_options(code, t), "%s: the table %s is found" % (plugin, t))
    defaults += [(plugin, n, d) for n, d in tabled if d is not None]
    options = sorted({n for n, _ in tabled})
    known |= set(options)
    ok(len(options) >= 5, "%s: %d options found in the code" % (plugin, len(options)))
    for opt in options:
        ok("`%s`" % opt in readme, "%s: option %s is in README.md" % (plugin, opt))
        ok(re.search(r"=item B<%s>" % re.escape(opt), pod) is not None,
           "%s: option %s is in the man page" % (plugin, opt))

# Options the man page documents must exist.
documented = set(re.findall(r"=item B<([A-Za-z0-9]+)>", pod))
extra = sorted(documented - known - {"Runtime", "Plugin"})
ok(not extra, "the man page documents no option the code lacks", extra)


def pod_item(name, section):
    """The text of =item B<name> within the man page's section."""
    text = pod[pod.index(section):]
    m = re.search(r"^=item B<%s>.*?(?=^=item |^=back)" % re.escape(name), text,
                  re.M | re.S)
    return m.group(0) if m else ""


# Each default in a table is the default README and the man page give.
def readme_section(plugin):
    """README's section "## Configuring plugin", to the next "## "."""
    text = readme[readme.index("## Configuring %s" % plugin):]
    return text[:text.index("\n## ", 3)]


for plugin, name, want in defaults:
    row = re.search(r"^\| `%s` \| ([^|]*) \|" % re.escape(name),
                    readme_section(plugin), re.M)
    got = row.group(1).strip().strip("`") if row else None
    ok(got == want, "%s: README gives %s's default as in the code (%s)"
       % (plugin, name, want), "README says %r" % got)
    item = pod_item(name, "=head1 PLUGIN C<%s>" % plugin)
    m = re.search(r"[Dd]efault:\s+(?:[BFC]<([^>]*)>|(\S+))", item)
    got = (m.group(1) or m.group(2).rstrip(".,;")) if m else None
    ok(got == want, "%s: the man page gives %s's default as in the code (%s)"
       % (plugin, name, want), "the man page says %r" % got)

table = read("plugin", "common", "sm_metrics.c")
names = re.findall(r'\{"([A-Za-z0-9]+)", "(?:None|Microseconds|Milliseconds|Count|Seconds)"', table)
ok(len(names) == 16, "16 metrics in the table")
for name in names:
    ok(name in readme, "metric %s is in README.md" % name)
    ok(name in pod, "metric %s is in the man page" % name)

# The README's layout table against the tree: every source file under
# plugin/ and every folder is named, and everything named exists.
lay = readme[readme.index("## Layout"):]
lay = lay[:lay.index("\n## ")]
named = set(re.findall(r"`((?:plugin|include|tests|contrib|bench|debian|doc|scripts)[^`]*)`", lay))
missing = [p for p in sorted(named) if not os.path.exists(os.path.join(SRC, p))
           and not p.startswith("debian/")]  # not in release tarballs
ok(not missing, "every path in README's layout table exists", missing)
unnamed = []
for d, dirs, files in os.walk(os.path.join(SRC, "plugin")):
    rel = os.path.relpath(d, SRC)
    if rel != "plugin" and rel + "/" not in named:
        unnamed.append(rel + "/")
    unnamed += [os.path.join(rel, f) for f in files
                if f.endswith(".c") and os.path.join(rel, f) not in named]
ok(not unnamed, "README's layout table names every folder and source file "
   "of plugin/", unnamed)
for rel in sorted(n for n in named if n.startswith("plugin/") and n.endswith(".c")
                  and os.path.exists(os.path.join(SRC, n))):
    # File prefix = symbol prefix: every function it defines for others.
    base = os.path.splitext(os.path.basename(rel))[0]
    if base in ("sagemaker_async", "write_cloudwatch"):
        continue
    code = read(*rel.split("/"))
    defs = re.findall(r"^(?!static)[a-z][a-z0-9_ *]*?\b([a-z_][a-z0-9_]*)\(", code, re.M)
    bad = [f for f in defs if not f.startswith(base + "_") and f != base]
    ok(not bad, "%s exports only %s_* symbols" % (rel, base), bad)

# The licence: LICENSE is MIT's text, and every source file names it.
lic = read("LICENSE")
ok(lic.startswith("MIT License") and "Permission is hereby granted" in lic,
   "LICENSE holds the MIT licence")
if os.path.exists(os.path.join(SRC, "debian", "copyright")):  # not in tarballs
    cp = read("debian", "copyright")
    ok("License: Expat" in cp and "License: Apache-2.0" in cp,
       "debian/copyright names the MIT (Expat) and the test vectors' Apache-2.0")
SOURCE = re.compile(r"\.(c|h|py|sh|am|ac)$|^(autogen\.sh|\.ci/run|debian/rules)$")
unlabelled = []
for top in ("plugin", "include", "tests", "contrib", "bench", "scripts",
            "debian", ".ci", "."):
    base = os.path.join(SRC, top)
    walk = os.walk(base) if top != "." else [(base, [], os.listdir(base))]
    for d, dirs, files in walk:
        dirs[:] = [x for x in dirs if x not in ("corpus", "data", "build")]
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), SRC)
            if not SOURCE.search(rel) or not os.path.isfile(os.path.join(SRC, rel)):
                continue
            if os.path.exists(os.path.join(SRC, rel + ".in")):
                continue  # configure's output (sm_build.h in an in-tree build)
            with open(os.path.join(SRC, rel), errors="replace") as fh:
                head = fh.read(300)
            if "SPDX-License-Identifier: MIT" not in head:
                unlabelled.append(rel)
ok(not unlabelled, "every source file starts with its SPDX line (%d without)"
   % len(unlabelled), unlabelled[:10])

if shutil.which("podchecker"):
    r = subprocess.run(["podchecker", os.path.join(SRC, "doc", "collectd-sagemaker.5.pod")],
                       capture_output=True, text=True)
    ok(r.returncode == 0 and "WARNING" not in r.stderr,
       "podchecker: the man page is well-formed", r.stderr.strip()[:500])
tap.done()
