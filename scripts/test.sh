#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit tests under ASan+UBSan, then
# the whole suite (unit + kernel tests in private namespaces + bench smoke).
# Run as root on Debian 12. Kernel tests never touch this machine's own
# network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
BUILD_DIR=build-asan scripts/build.sh -DNETLAB_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure

echo "== full suite"
scripts/build.sh
ctest --test-dir build --output-on-failure
