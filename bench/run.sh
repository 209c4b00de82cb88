#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmarks: builds what they need, runs them with real processes
# (collectd, the runtime simulator, a local CloudWatch stand-in on
# 127.0.0.1), prints a table and writes it as CSV. See bench/bench.py.
#
#   bench/run.sh                    # full run, about 13 minutes
#   BENCH_QUICK=1 bench/run.sh      # smoke run, under 3 minutes
#   bench/run.sh --csv FILE         # CSV path (default bench/results.csv)
#   bench/run.sh --builddir DIR     # an existing build (default build/bench)
#   bench/run.sh --only write,read  # some sections: write read memory fresh
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=""
csv=${BENCH_CSV:-}
only=""
while [ $# -gt 0 ]; do
  case $1 in
    --builddir) build=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--builddir DIR] [--csv FILE] [--only LIST]" >&2
       exit 2 ;;
  esac
done
[ -n "$csv" ] || csv=$src/bench/results.csv

for tool in collectd collectdctl curl python3; do
  if ! command -v "$tool" > /dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "bench: $tool is missing (scripts/deps.sh installs it)" >&2
    exit 1
  fi
done

if [ -z "$build" ]; then
  build=$src/build/bench
  if [ ! -f "$build/Makefile" ]; then
    echo "bench: configuring in $build" >&2
    [ -x "$src/configure" ] || (cd "$src" && ./autogen.sh > /dev/null) || exit 1
    mkdir -p "$build"
    (cd "$build" && "$src/configure" -q > /dev/null) || exit 1
  fi
  make -s -C "$build" -j2 bench-programs > /dev/null || exit 1
fi

PATH=$PATH:/usr/sbin
export PATH
exec python3 "$src/bench/bench.py" --srcdir "$src" --builddir "$build" \
  --csv "$csv" ${only:+--only "$only"} ${BENCH_QUICK:+--quick}
