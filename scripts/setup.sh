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
