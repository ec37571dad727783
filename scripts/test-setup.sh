#!/usr/bin/env bash
# The one install step before Jest (npm's `pretest`): installs the Debian packages the tests need
# when they are missing. Never run from test files (parallel apt runs would fight over the lock).
# Services are not started by the install (a policy-rc.d that exits 101 while it runs), so a Debian
# host that starts services on install does not get InfluxDB or Mosquitto on their default ports:
# the tests start their own on free ports.
set -euo pipefail
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"

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

apt_install test-setup "${need[@]}"
for cmd in influxd mosquitto_pub chromium; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "test-setup: $cmd still missing after install" >&2; exit 1; }
done
[ -x /usr/sbin/mosquitto ] || { echo "test-setup: mosquitto still missing after install" >&2; exit 1; }
echo "test-setup: done"
