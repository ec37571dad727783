#!/usr/bin/env bash
# The one install step before Jest (npm's `pretest`): installs the Debian packages the tests need
# when they are missing. Never run from test files (parallel apt runs would fight over the lock).
# Services are not started by the install (a policy-rc.d that exits 101 while it runs), so a Debian
# host that starts services on install does not get InfluxDB or Mosquitto on their default ports:
# the tests start their own on free ports.
set -euo pipefail

need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
# The bare-broker baseline of the bench's smoke run (test/integration/bench-smoke.test.ts).
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
# Headless Chromium for playwright-core (browser tests, scripts/plot-simulated-day.ts).
[ -x /usr/bin/chromium ] || need+=(chromium)
# Test certificates for the TLS listeners (test/support/tls-certs.ts).
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# A non-loopback test address (a veth pair) for what the TLS suite checks listens beyond loopback,
# and `ip netns` for the half-open TCP test (test/integration/halfopen.test.ts).
command -v ip >/dev/null 2>&1 || need+=(iproute2)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "test-setup: missing Debian packages: ${need[*]}; run as root or install them: apt-get install -y ${need[*]}" >&2
  exit 1
fi

echo "test-setup: installing ${need[*]} (apt-get)"
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for cmd in influxd mosquitto_pub chromium; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "test-setup: $cmd still missing after install" >&2; exit 1; }
done
[ -x /usr/sbin/mosquitto ] || { echo "test-setup: mosquitto still missing after install" >&2; exit 1; }
echo "test-setup: done"
