#!/usr/bin/env bash
# Configure and build into BUILD_DIR (default: build/) with fault injection on
# (NETLAB_TESTING=ON); extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -G Ninja -DNETLAB_TESTING=ON "$@" >/dev/null
cmake --build "$dir"
