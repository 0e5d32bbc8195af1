#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit tests under ASan+UBSan, then
# the whole suite (unit + kernel tests in private namespaces + bench smoke).
# Run as root on Debian 12. Kernel tests never touch this machine's own
# network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Only the unit-test binaries: they are what runs under the sanitizers here.
cmake -S . -B build-asan -G Ninja -DNETLAB_TESTING=ON -DNETLAB_SANITIZE=ON >/dev/null
cmake --build build-asan --target test_model test_reconcile test_daemon
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure

echo "== full suite"
scripts/build.sh
ctest --test-dir build --output-on-failure
