#!/usr/bin/env bash
# `npm run bench`'s prebench step: installs Mosquitto (the bare-broker baseline of scenario 1) when
# it is missing. Like scripts/test-setup.sh, services are blocked while apt runs (a policy-rc.d that
# exits 101), so a Debian host that starts services on install gets no Mosquitto on port 1883: the
# bench starts its own on a free port.
set -euo pipefail

[ -x /usr/sbin/mosquitto ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-setup: Mosquitto is missing; run as root or install it: apt-get install -y mosquitto" >&2
  exit 1
fi

echo "bench-setup: installing mosquitto (apt-get)"
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
apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
[ -x /usr/sbin/mosquitto ] || { echo "bench-setup: mosquitto still missing after install" >&2; exit 1; }
echo "bench-setup: done"
