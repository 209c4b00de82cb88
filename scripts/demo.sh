#!/bin/sh
# The main command: builds the project, starts the runtime simulator with a
# load that builds a backlog and drains it, starts the real collectd with
# sagemaker_async, and shows what the plugin collects every few seconds:
# the backlog gauges, the interval's counts and timing statistics, and the
# notifications for failed requests. Stops everything it started.
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
cleanup() {
  [ -n "$cd_pid" ] && kill "$cd_pid" 2> /dev/null && wait "$cd_pid" 2> /dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2> /dev/null && wait "$sim_pid" 2> /dev/null
  echo "demo: stopped collectd and the simulator; files left in $work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
CONF

echo "demo: starting collectd ($work/collectd.conf)"
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
echo "demo: collectd's log:"
grep -v 'Notification:' "$work/collectd.log" | tail -n 8
