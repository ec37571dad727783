#!/usr/bin/env bash
# `npm run bench`'s prebench step: installs what the bench starts when it is missing: Mosquitto
# (the bare-broker baseline of scenario 1) and InfluxDB 1.x (scenarios 3–5 and the soak), so the
# bench runs on a fresh machine without `npm test` first. Services are blocked while apt runs
# (scripts/apt-install.sh): the bench starts its own servers on free ports.
set -euo pipefail
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"

need=()
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
[ ${#need[@]} -eq 0 ] && exit 0

apt_install bench-setup "${need[@]}"
[ -x /usr/sbin/mosquitto ] || { echo "bench-setup: mosquitto still missing after install" >&2; exit 1; }
command -v influxd >/dev/null 2>&1 || { echo "bench-setup: influxd still missing after install" >&2; exit 1; }
echo "bench-setup: done"
