#!/usr/bin/env bash
# Installs every Debian package that building, testing, the demo and the
# benchmarks need. Idempotent: safe to run again; does nothing when all is there.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git
  libyaml-cpp-dev libnl-3-dev libnl-route-3-dev
  libboost-dev libboost-system-dev
  libspdlog-dev doctest-dev libsystemd-dev nlohmann-json3-dev libcli11-dev
  iproute2 iputils-ping procps util-linux socat python3
  docker.io busybox-static gnuplot-nox systemd
  ansible-core openssh-server openssh-client
  # packaging: man pages, the .deb and its checks, completion, JSON Schema
  scdoc mandoc man-db dpkg-dev fakeroot file lintian bash-completion
  python3-jsonschema python3-yaml
  # docs: the examples' pictures (netlabctl graph | dot -Tsvg)
  graphviz
  # the metrics test reads --metrics-file with a real exposition-format parser
  python3-prometheus-client
  # fuzzing (fuzz/): clang, libFuzzer with the sanitizer runtimes, and
  # llvm-symbolizer for readable reports
  clang libclang-rt-14-dev llvm
)
missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ifupdown2: the declarative peer of bench/w7_declarative.sh (`ifreload -a`),
# run only inside the bench's own namespaces. Its maintainer scripts (3.0.0)
# start no service and write no link: postinst creates /etc/network/interfaces
# (lo only) if absent, masks two udev rules if /etc/udev/rules.d exists, and
# enables networking.service, which would run `ifup -a` at the next boot of a
# systemd host -- or in the kernel tests' systemd booted on a copy of this
# root. So: a policy-rc.d denying every service start holds during the install
# (in case a later version adds one), networking.service is disabled right
# after, and a host managed by ifupdown (which ifupdown2 Conflicts with and
# would replace, with its boot-time networking) is left alone: the bench then
# reports ifupdown2 as not installed.
if [ "$(dpkg-query -W -f='${Status}' ifupdown2 2>/dev/null || true)" != "install ok installed" ]; then
  if [ "$(dpkg-query -W -f='${Status}' ifupdown 2>/dev/null || true)" = "install ok installed" ]; then
    echo "setup: ifupdown manages this host's network; not replacing it with ifupdown2 (bench W7 skips ifupdown2)"
  else
    echo "setup: installing ifupdown2 (no service started; networking.service disabled)"
    export DEBIAN_FRONTEND=noninteractive
    policy=/usr/sbin/policy-rc.d own_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# setup.sh: no service starts while ifupdown2 installs\nexit 101\n' >"$policy"
      chmod 755 "$policy"; own_policy=1
    fi
    rc=0
    # Package lists are fetched above only when something else was missing.
    apt-get install -y -qq --no-install-recommends ifupdown2 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends ifupdown2; } || rc=$?
    [ -z "$own_policy" ] || rm -f "$policy"
    [ "$rc" -eq 0 ] || exit "$rc"
    # systemctl edits the unit links offline too (PID 1 need not be systemd).
    systemctl disable networking.service >/dev/null 2>&1 || true
  fi
fi
