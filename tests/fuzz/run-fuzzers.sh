#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds each libFuzzer target with clang and runs it for SM_FUZZ_SECONDS
# over a copy of its seed corpus (unset or 0: skipped; make check-all and
# scripts/test.sh set 20). TAP: one test per target.
# A crash, leak or UBSan report fails the test and leaves the input in
# the log directory.
set -u
src=${SM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
seconds=${SM_FUZZ_SECONDS:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

targets="rt_parser aws_creds cw_logs aws_http sm_sketch cw_spool rt_state config"
n=0
for t in $targets; do n=$((n + 1)); done

if ! command -v clang > /dev/null 2>&1; then
  echo "1..0 # SKIP clang is not installed"
  exit 0
fi
if [ "$seconds" = 0 ]; then
  echo "1..0 # SKIP SM_FUZZ_SECONDS is not set (make check-all sets it)"
  exit 0
fi

echo "1..$((n * 2))"
i=0
for t in $targets; do
  rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* # not an earlier target's
  i=$((i + 1))
  bin=$work/fuzz_$t
  cflags=""
  # Each target links the layers it needs, whole (a layer is a folder of
  # plugin/), so that moving code within a layer needs no change here.
  layers() { for l in "$@"; do ls "$src/plugin/$l"/*.c; done; }
  case $t in
    rt_parser) srcs="$(layers read common)" libs="-lcurl -lyajl -lz -lm" ;;
    aws_creds|aws_http) srcs="$(layers aws common)"
      libs="-lcurl -lyajl -lcrypto -lpthread -lm" ;;
    cw_logs|cw_spool) srcs="$(layers cloudwatch aws common)"
      libs="-lcurl -lyajl -lz -lcrypto -lpthread -lm" ;;
    sm_sketch) srcs="$(layers common)" libs="-lcurl -lyajl -lm" ;;
    rt_state) srcs="$(layers read common)" libs="-lcurl -lyajl -lz -lm" ;;
    config) # both plugins' collectd glue over the whole core, against
      # stubs of the daemon; collectd's headers and a build header
      srcs="$(layers read cloudwatch aws common) $src/plugin/sm_collectd.c
        $src/tests/fuzz/glue_sagemaker_async.c $src/plugin/sa_*.c
        $src/tests/fuzz/glue_write_cloudwatch.c $src/plugin/wcw_*.c
        $src/tests/fakes/collectd_stubs.c"
      libs="-lcurl -lyajl -lz -lcrypto -lpthread -lm"
      echo '/* sm_build.h for the fuzzers: nothing is read from it */' \
        > "$work/sm_build.h"
      cflags="-DHAVE_CONFIG_H -I$work -I$src/tests/fakes
        ${SM_COLLECTD_CPPFLAGS:--I/usr/include/collectd -I/usr/include}" ;;
  esac
  if clang -g -O1 -fsanitize=fuzzer,address,undefined \
      -fno-sanitize-recover=undefined -I"$src/include" -I"$src/plugin" \
      -I"$src/plugin/common" -I"$src/plugin/read" -I"$src/plugin/aws" \
      -I"$src/plugin/cloudwatch" $cflags \
      $srcs "$src/tests/fuzz/fuzz_$t.c" $libs -o "$bin" > "$work/$t.build" 2>&1
  then
    echo "ok $i - fuzz_$t builds"
  else
    echo "not ok $i - fuzz_$t builds"; sed 's/^/# /' "$work/$t.build"
    i=$((i + 1)); echo "not ok $i - fuzz_$t runs # not built"; continue
  fi
  i=$((i + 1))
  mkdir -p "$work/corpus_$t"
  cp "$src/tests/fuzz/corpus/$t"/* "$work/corpus_$t/" 2>/dev/null
  if (cd "$work" && "$bin" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=1024 -print_final_stats=1 "$work/corpus_$t" \
      > "$work/$t.run" 2>&1); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.run")
    echo "ok $i - fuzz_$t: ${runs:-?} inputs in ${seconds}s, no crash, leak or UB"
  else
    echo "not ok $i - fuzz_$t found a failure"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$t.run" |
      head -n 20 | sed 's/^/# /'
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
      [ -f "$f" ] && echo "# input (base64): $(base64 -w0 "$f")"
    done
  fi
done
