#!/bin/sh
# SPDX-License-Identifier: MIT
# The main command: builds the project, starts a local CloudWatch
# (moto_server on 127.0.0.1), the runtime simulator with a burst of requests
# that builds a backlog which then drains, and the real collectd with
# sagemaker_async and write_cloudwatch. Every 5 s it prints a progress line
# (the backlog collectd holds, requests completed, what the local CloudWatch
# received); at the end it stops collectd (which flushes), reads the
# SageMaker metrics back with the AWS SDK, prints a table of their
# statistics and draws a chart. Stops everything it started, also on Ctrl-C
# and on errors. Nothing it starts talks to anything but 127.0.0.1 and Unix
# sockets in a temporary directory.
#
#   DEMO_SECONDS  how long collectd runs (40)
#   DEMO_BURST    the simulator's --burst AT:SECONDS:LOAD[:EVERY] (5:8:2:40)
#   DEMO_PNG      the chart (build/demo-output/sagemaker-demo.png; beside it
#                 the data and the gnuplot script that drew it)
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=${DEMO_SECONDS:-40}
burst=${DEMO_BURST:-5:8:2:40}
png=${DEMO_PNG:-$top/build/demo-output/sagemaker-demo.png}
case $png in /*) ;; *) png=$top/$png ;; esac
interval=5

# Everything below talks to 127.0.0.1 only: no proxy may relay it.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export NO_PROXY no_proxy

scripts/deps.sh || exit 1
# A tree configured in place builds in place (automake refuses a second,
# separate build of it); otherwise the demo has its own in build/demo.
if [ -f "$top/config.status" ]; then
  build=$top
else
  build=$top/build/demo
  if [ ! -f "$build/Makefile" ]; then
    echo "demo: configuring (once) in build/demo"
    [ -x ./configure ] || ./autogen.sh > /dev/null 2>&1 || exit 1
    mkdir -p "$build"
    (cd "$build" && "$top/configure" -q > /dev/null) || exit 1
  fi
fi
echo "demo: building"
make -s -C "$build" -j2 > /dev/null || exit 1

work=$(mktemp -d /tmp/sagemaker-demo.XXXXXX)
sock=$work/async-runtime.sock
pids=""

# stop PID NAME: SIGTERM, then SIGKILL if it is still there after 10 s.
stop() {
  kill "$1" 2> /dev/null || return 0
  i=0
  while kill -0 "$1" 2> /dev/null && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
  if kill -0 "$1" 2> /dev/null; then
    echo "demo: $2 did not stop; killing it"
    kill -KILL "$1" 2> /dev/null
  fi
  wait "$1" 2> /dev/null
  return 0
}
cleanup() {
  trap - EXIT
  trap '' INT TERM  # a second Ctrl-C does not cut the cleanup short
  for p in $pids; do
    stop "${p%%:*}" "${p#*:}"
  done
  echo "demo: stopped everything it started; files in $work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM
# Each in a session of its own, so that a Ctrl-C reaches only this script,
# which then stops them in order: collectd first, while it can still flush.
started() { pids="$1:$2 $pids"; }  # stopped in reverse order
forget() { pids=$(echo "$pids" | tr ' ' '\n' | grep -v "^$1:" | tr '\n' ' '); }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
echo "demo: starting a local CloudWatch (moto_server) on 127.0.0.1:$port"
# The recorder keeps every request moto_server receives: the read-back
# computes percentiles from the Values/Counts in it (moto computes none).
: > "$work/moto-recording.jsonl"
MOTO_ENABLE_RECORDING=1 MOTO_RECORDER_FILEPATH=$work/moto-recording.jsonl \
  setsid moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
started $! moto_server
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2> /dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: moto_server did not start"; exit 1; }
  sleep 0.2
done

echo "demo: starting the runtime simulator on $sock (--burst $burst)"
setsid "$build/contrib/sagemaker-runtime-sim" --socket "$sock" \
  --ledger "$work/ledger.jsonl" --seed 2026 --rate 120 --burst "$burst" \
  --endpoint demo-endpoint --variant AllTraffic --instance-count 2 \
  > "$work/sim.log" 2>&1 &
started $! "the simulator"
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { echo "demo: the simulator did not start:"; cat "$work/sim.log"; exit 1; }

# StorageResolution 1: one datum per read, so that the chart has a point
# per interval (with 60, CloudWatch and the plugin keep one a minute).
cat > "$work/collectd.conf" << CONF
Hostname "demo-host"
FQDNLookup false
Interval $interval
BaseDir "$work"
TypesDB "/usr/share/collectd/types.db" "$top/contrib/types.db"
PluginDir "/usr/lib/collectd"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$work/collectd.log"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$work/collectd-unixsock"
</Plugin>
PluginDir "$build/.libs"
LoadPlugin sagemaker_async
<Plugin sagemaker_async>
  <Runtime "demo">
    Socket "$sock"
    Interval $interval
    Timeout 2
  </Runtime>
</Plugin>
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "$url/"
  LogsEndpoint "$url/"
  Namespace "SageMaker/AsyncInference"
  FlushInterval 10
  StorageResolution 1
  # moto_server cannot read gzip-compressed JSON bodies; CloudWatch can.
  Compress false
</Plugin>
CONF

echo "demo: starting collectd ($work/collectd.conf)"
AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
AWS_EC2_METADATA_DISABLED=true \
AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent \
  setsid /usr/sbin/collectd -f -C "$work/collectd.conf" > "$work/collectd.stderr" 2>&1 &
cd_pid=$!
started $cd_pid collectd

get() { # get TYPE-INSTANCE: the first value of one identifier, or "-"
  collectdctl -s "$work/collectd-unixsock" getval \
    "demo-host/sagemaker_async-demo/$1" 2> /dev/null |
    sed -n '1s/^[a-z_]*=//p' | awk '{ v = $1 + 0; printf "%.0f", v; f = 1 }
      END { if (!f) printf "-" }'
}

echo "demo: every 5 s: the backlog in collectd's last read, the requests the"
echo "      runtime completed, and what the local CloudWatch received"
elapsed=0
while [ $elapsed -lt "$seconds" ]; do
  sleep 5
  elapsed=$((elapsed + 5))
  if ! kill -0 "$cd_pid" 2> /dev/null; then
    echo "demo: collectd exited:"; cat "$work/collectd.stderr" "$work/collectd.log"
    exit 1
  fi
  done_n=$(grep -c '"event":"request"' "$work/ledger.jsonl" 2> /dev/null)
  printf '%4ss  backlog %5s (%4s per instance, oldest %2s s)  ' \
    "$elapsed" "$(get sagemaker_gauge-ApproximateBacklogSize)" \
    "$(get sagemaker_gauge-ApproximateBacklogSizePerInstance)" \
    "$(get sagemaker_gauge-ApproximateAgeOfOldestRequest)"
  printf 'completed %5s  CloudWatch got %s\n' "${done_n:-0}" \
    "$(python3 "$top/scripts/show_cloudwatch.py" --received "$url")"
done
echo
echo "demo: stopping collectd (it flushes what it holds to CloudWatch)"
stop "$cd_pid" collectd
forget "$cd_pid"
echo "demo: collectd's log:"
grep '^\[' "$work/collectd.log" | grep -v 'Notification:' | tail -n 8
n=$(grep -c 'Notification:' "$work/collectd.log" 2> /dev/null)
echo "demo: ${n:-0} notifications for failed or expired requests; the latest:"
grep 'Notification:' "$work/collectd.log" 2> /dev/null | tail -n 2 |
  sed 's/.*message = /  /'
echo
echo "demo: the SageMaker metrics and the data log read back from the local CloudWatch with boto3:"
python3 "$top/scripts/show_cloudwatch.py" --minutes 15 --period "$interval" \
  --png "$png" "$url" SageMaker/AsyncInference
rc=$?
[ -f "$png" ] && echo "demo: the chart is $png"
exit $rc
