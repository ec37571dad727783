# Sourced by scripts/test-setup.sh and scripts/bench-setup.sh: installs Debian packages without
# starting their services. A Debian host may start a service on install (InfluxDB on 8086,
# Mosquitto on 1883); a policy-rc.d that exits 101 blocks that while apt runs, so the tests and the
# bench start their own servers on free ports. An existing policy-rc.d is left as it is.
#
#   apt_install <who> <package>...
apt_install() {
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing Debian packages: $*; run as root or install them: apt-get install -y $*" >&2
    exit 1
  fi
  echo "$who: installing $* (apt-get)"
  # APT_INSTALL_POLICY: only for scripts/apt-install.test.ts, which must not touch the real one.
  local policy=${APT_INSTALL_POLICY:-/usr/sbin/policy-rc.d}
  APT_INSTALL_CREATED_POLICY=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    APT_INSTALL_CREATED_POLICY=1
  fi
  trap apt_install_cleanup EXIT
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  apt_install_cleanup
  trap - EXIT
}

apt_install_cleanup() {
  if [ "${APT_INSTALL_CREATED_POLICY:-0}" = 1 ]; then
    rm -f "${APT_INSTALL_POLICY:-/usr/sbin/policy-rc.d}"
    APT_INSTALL_CREATED_POLICY=0
  fi
}
