#!/bin/sh
# SPDX-License-Identifier: MIT
# The test command: installs what is missing (Debian 12, as root), then
# builds and runs every test three ways: with gcc, with clang, and with
# AddressSanitizer and UndefinedBehaviorSanitizer; the unit tests that start
# threads run under ThreadSanitizer, the unit tests under valgrind, and the
# release tarball is checked with make distcheck.
# Last, the Debian package is built, installed, run and purged.
# Each stage ends with the seconds it took; the last line is
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-2}
t_start=$(date +%s) # for the time each stage takes, and the whole
t_stage=$t_start

scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
./autogen.sh > build-autogen.log 2>&1 || {
  cat build-autogen.log; echo "0 passed, 1 failed"; exit 1; }
rm -f build-autogen.log

passed=0
failed=0
skipped=0

count() { # add one test-suite.log's totals
  p=$(sed -n 's/^# PASS: *//p' "$1" | head -n 1)
  f=$(sed -n 's/^# FAIL: *//p' "$1" | head -n 1)
  e=$(sed -n 's/^# ERROR: *//p' "$1" | head -n 1)
  x=$(sed -n 's/^# XPASS: *//p' "$1" | head -n 1)
  s=$(sed -n 's/^# SKIP: *//p' "$1" | head -n 1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
  skipped=$((skipped + ${s:-0}))
}

tap() { # add one TAP log's results; $2 is the exit status of its test
  p=$(grep -E '^ok ' "$1" | grep -vc '# SKIP')
  f=$(grep -Ec '^(not ok |Bail out!)' "$1")
  s=$(grep -Ec '^(ok .*# SKIP|1\.\.0 # SKIP)' "$1")
  [ "$2" = 0 ] || [ "$f" -gt 0 ] || f=1
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

stage() { # a heading, after the time the step before it took
  now=$(date +%s)
  echo "   ($((now - t_stage)) s)"
  t_stage=$now
  echo "== $*"
}

step() { # one pass/fail step that is not a test suite
  if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

build() { # build NAME CONFIGURE-ARGS...: configure, make, make check
  name=$1; shift
  dir=$top/build/$name
  rm -rf "$dir"; mkdir -p "$dir"
  stage "$name: configure $*"
  if ! (cd "$dir" && "$top/configure" "$@" > configure.log 2>&1); then
    tail -n 30 "$dir/configure.log"; step 1; return 1
  fi
  stage "$name: make"
  if ! make -C "$dir" -j"$jobs" > "$dir/make.log" 2>&1; then
    grep -E 'error|warning' "$dir/make.log" | head -n 40; step 1; return 1
  fi
  step 0
  stage "$name: make check"
  make -C "$dir" -j"$jobs" check > "$dir/check.log" 2>&1
  grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS):' "$dir/check.log" |
    grep -v '^PASS' | head -n 60
  grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/check.log" | tr '\n' ' '
  echo
  if [ -f "$dir/test-suite.log" ]; then
    count "$dir/test-suite.log"
    if grep -qE '^# (FAIL|ERROR): *[1-9]' "$dir/test-suite.log"; then
      sed -n '/^FAIL\|^ERROR\|^not ok/,+3p' "$dir"/tests/*/*.log \
        "$dir"/tests/*/*/*.log 2>/dev/null | head -n 80
    fi
  else
    step 1
  fi
}

# The tests that take minutes (faults, restarts) run in the gcc and
# sanitizer builds; the fuzzers once, in the gcc build (they build with
# clang's sanitizers themselves, whatever the build's compiler); the clang
# build (make check: its warnings, its code) and distcheck skip both.
SM_SLOW_TESTS=1 SM_FUZZ_SECONDS=20 build gcc CC=gcc
SM_SLOW_TESTS=0 SM_FUZZ_SECONDS=0 build clang CC=clang
SM_SLOW_TESTS=1 SM_FUZZ_SECONDS=0 build sanitizers CC=gcc --enable-sanitizers

# The unit tests that run threads (fake HTTP servers beside the code under
# test, concurrent credential refreshes), built with clang's
# ThreadSanitizer: the build is one step, each test counts its TAP results,
# and any ThreadSanitizer report fails that test.
stage "tsan: unit tests that start threads"
tsan=$top/build/tsan
tsan_tests=$(grep -l -e pthread_create -e '"fake_http.h"' tests/unit/*/test_*.c |
  sed 's|\.c$||')
rm -rf "$tsan"; mkdir -p "$tsan"
if (cd "$tsan" && "$top/configure" CC=clang \
      CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=thread" \
      LDFLAGS="-fsanitize=thread" > configure.log 2>&1) &&
    make -C "$tsan" -j"$jobs" $tsan_tests \
      > "$tsan/make.log" 2>&1; then
  step 0
  for t in $tsan_tests; do
    SM_SRCDIR=$top \
      TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:exitcode=66" \
      "$tsan/$t" > "$tsan/$(basename "$t").log" 2>&1
    rc=$?
    grep -q 'ThreadSanitizer' "$tsan/$(basename "$t").log" && [ "$rc" = 0 ] && rc=66
    tap "$tsan/$(basename "$t").log" "$rc"
    if [ "$rc" != 0 ]; then
      echo "tsan: $t failed (exit $rc):"
      grep -E -A 40 -m 1 '^(WARNING|FATAL): ThreadSanitizer|^not ok' \
        "$tsan/$(basename "$t").log" | head -n 60
    fi
  done
else
  echo "tsan: build failed:"
  tail -n 30 "$tsan/configure.log" "$tsan/make.log" 2>/dev/null
  step 1
fi

stage "valgrind: unit tests"
for t in "$top"/build/gcc/tests/unit/*/test_*; do
  case "$t" in *.log|*.trs|*.o) continue ;; esac
  [ -x "$t" ] || continue
  if SM_SRCDIR=$top valgrind -q --error-exitcode=99 \
      --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$t" > "$t.valgrind.log" 2>&1; then
    step 0
  else
    echo "valgrind: $(basename "$t") failed:"; tail -n 30 "$t.valgrind.log"
    step 1
  fi
done

stage "make distcheck"
if make -C "$top/build/gcc" distcheck \
    DISTCHECK_CONFIGURE_FLAGS="CC=gcc" SM_FUZZ_SECONDS=0 SM_SLOW_TESTS=0 \
    > "$top/build/distcheck.log" 2>&1; then
  step 0
else
  tail -n 40 "$top/build/distcheck.log"; step 1
fi

stage "Debian package: build, install, run, remove"
JOBS=$jobs python3 tests/integration/test_deb.py > "$top/build/deb.log" 2>&1
rc=$?
grep -E '^(not ok|Bail out!|1\.\.0)|# SKIP' "$top/build/deb.log"
[ "$rc" = 0 ] || tail -n 40 "$top/build/deb.log"
tap "$top/build/deb.log" "$rc"

stage "all done in $(($(date +%s) - t_start)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
