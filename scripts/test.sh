#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit tests under ASan+UBSan, the
# fuzz targets for a minute each (docs/testing.md, "Fuzzing"), then the whole
# suite (unit + kernel tests in private namespaces + bench smoke).
# Run as root on Debian 12. Kernel tests never touch this machine's own
# network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Only the unit-test binaries: they are what runs under the sanitizers here.
cmake -S . -B build-asan -G Ninja -DNETLAB_TESTING=ON -DNETLAB_SANITIZE=ON >/dev/null
cmake --build build-asan --target unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure

echo "== fuzz targets under ASan+UBSan (clang, libFuzzer), NETLAB_FUZZ_SECONDS each (default 60)"
# A build of their own: the normal build stays gcc's.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DNETLAB_FUZZ=ON -DNETLAB_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target fuzz
ctest --test-dir build-fuzz -L fuzz -j2 --output-on-failure

echo "== full suite"
scripts/build.sh
ctest --test-dir build --output-on-failure
