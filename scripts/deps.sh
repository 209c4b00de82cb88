#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs, with apt-get, the Debian 12 packages that building and testing
# collectd-sagemaker need and that are not there yet. Run as root.
# libprotobuf-c1 and libmicrohttpd12: collectd-core's write_prometheus
# plugin needs them (only recommended by the package), for
# tests/integration/test_prometheus.py.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
  collectd-core collectd-dev collectd-utils
  libcurl4-openssl-dev libyajl-dev zlib1g-dev libssl-dev
  clang valgrind python3 curl perl gnuplot-nox debhelper
  libprotobuf-c1 libmicrohttpd12"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # collectd-core's postinst would start a system collectd; keep it down
  # (unless the machine already has a policy of its own).
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=yes
  fi
  apt-get install -y -qq --no-install-recommends $missing
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# moto_server (a local CloudWatch) and boto3 (to read back) for the demo and
# the integration tests: from pip, only when they are missing.
if ! python3 -c 'import moto, boto3, flask' > /dev/null 2>&1 ||
   ! command -v moto_server > /dev/null 2>&1; then
  echo "deps: installing moto[server] and boto3 with pip"
  python3 -m pip install --quiet 'moto[server]>=5' boto3 ||
    echo "deps: could not install moto/boto3; tests that need them are skipped" >&2
fi
