#!/bin/sh
# The main command: builds the project, starts a local CloudWatch
# (moto_server on 127.0.0.1), the runtime simulator with a load that builds
# a backlog and drains it, and the real collectd with sagemaker_async and
# write_cloudwatch. Every few seconds it shows what collectd holds (the
# backlog gauges, the interval's counts and timing statistics, the
# notifications for failed requests); at the end it stops collectd (which
# flushes) and reads the SageMaker metrics back from the local CloudWatch
# with the AWS SDK. Stops everything it started.
#
#   DEMO_SECONDS=40 scripts/demo.sh
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=${DEMO_SECONDS:-40}
build=$top/build/demo

scripts/deps.sh || exit 1
if [ ! -x "$build/contrib/sagemaker-runtime-sim" ] ||
   [ ! -f "$build/.libs/sagemaker_async.so" ]; then
  echo "demo: building (once) in build/demo"
  [ -x ./configure ] || ./autogen.sh > /dev/null 2>&1 || exit 1
  mkdir -p "$build"
  (cd "$build" && "$top/configure" -q > /dev/null) || exit 1
fi
make -s -C "$build" -j2 > /dev/null || exit 1

work=$(mktemp -d /tmp/sagemaker-demo.XXXXXX)
sock=$work/async-runtime.sock
sim_pid=""
cd_pid=""
moto_pid=""
cleanup() {
  [ -n "$cd_pid" ] && kill "$cd_pid" 2> /dev/null && wait "$cd_pid" 2> /dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2> /dev/null && wait "$sim_pid" 2> /dev/null
  [ -n "$moto_pid" ] && kill "$moto_pid" 2> /dev/null && wait "$moto_pid" 2> /dev/null
  echo "demo: stopped collectd, the simulator and moto_server; files left in $work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "demo: starting a local CloudWatch (moto_server) on 127.0.0.1:$port"
moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2> /dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: moto_server did not start"; exit 1; }
  sleep 0.2
done

echo "demo: starting the runtime simulator on $sock"
"$build/contrib/sagemaker-runtime-sim" --socket "$sock" \
  --ledger "$work/ledger.jsonl" --seed 2026 --rate 120 \
  --endpoint demo-endpoint --variant AllTraffic --instance-count 2 \
  --restart-every 25 > "$work/sim.log" 2>&1 &
sim_pid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

cat > "$work/collectd.conf" << CONF
Hostname "demo-host"
FQDNLookup false
Interval 5
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
    Interval 5
    Timeout 2
  </Runtime>
</Plugin>
LoadPlugin write_cloudwatch
<Plugin write_cloudwatch>
  Region "us-east-1"
  Endpoint "http://127.0.0.1:$port/"
  LogsEndpoint "http://127.0.0.1:$port/"
  Namespace "SageMaker/AsyncInference"
  FlushInterval 10
  # moto_server cannot read gzip-compressed JSON bodies; CloudWatch can.
  Compress false
</Plugin>
CONF

echo "demo: starting collectd ($work/collectd.conf)"
AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
  /usr/sbin/collectd -f -C "$work/collectd.conf" > "$work/collectd.stderr" 2>&1 &
cd_pid=$!

get() { # get TYPE-INSTANCE: the values of one identifier, as "a=b c=d"
  collectdctl -s "$work/collectd-unixsock" getval \
    "demo-host/sagemaker_async-demo/$1" 2> /dev/null | tr '\n' ' '
}

show() {
  printf '\n--- %s  (values of the last 5 s interval)\n' "$(date +%T)"
  for m in ApproximateBacklogSize ApproximateBacklogSizePerInstance \
           ApproximateAgeOfOldestRequest; do
    printf '  %-34s %s\n' "$m" "$(get "sagemaker_gauge-$m" | sed 's/value=//')"
  done
  for m in InvocationsProcesssed ExpiredRequests InvocationFailures \
           RequestDownloadFailures ResponseUploadFailures \
           NotificationFailures LostRequests; do
    printf '  %-34s %s\n' "$m" "$(get "sagemaker_count-$m" | sed 's/value=//')"
  done
  for m in ModelLatency RequestDownloadLatency ResponseUploadLatency \
           TimeInBacklog TotalProcessingTime Invocation4XXErrors \
           Invocation5XXErrors; do
    printf '  %-34s %s\n' "$m" "$(get "sagemaker_stats-$m")"
  done
  n=$(grep -c 'Notification:' "$work/collectd.log" 2> /dev/null)
  echo "  notifications so far: ${n:-0} failed or expired requests; the latest:"
  grep 'Notification:' "$work/collectd.log" 2> /dev/null | tail -n 2 |
    sed 's/.*message = /    /'
}

elapsed=0
while [ $elapsed -lt "$seconds" ]; do
  sleep 5
  elapsed=$((elapsed + 5))
  if ! kill -0 "$cd_pid" 2> /dev/null; then
    echo "demo: collectd exited:"; cat "$work/collectd.stderr" "$work/collectd.log"
    exit 1
  fi
  show
done
echo
echo "demo: stopping collectd (it flushes what it holds to CloudWatch)"
kill "$cd_pid"; wait "$cd_pid" 2> /dev/null; cd_pid=""
echo "demo: collectd's log:"
grep '^\[' "$work/collectd.log" | grep -v 'Notification:' | tail -n 8
echo
echo "demo: the SageMaker metrics and the data log read back from the local CloudWatch with boto3:"
python3 "$top/scripts/show_cloudwatch.py" "http://127.0.0.1:$port" \
  SageMaker/AsyncInference 15
