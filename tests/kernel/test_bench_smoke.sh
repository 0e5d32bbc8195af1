#!/usr/bin/env bash
# CI-sized smoke run of the benchmarks (issue 7): bench/run.sh with N = 10 and
# one run, to a temporary report, so the script cannot rot. Fails when the
# script fails or the report lacks a table; asserts no time.
set -euo pipefail
SRC=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${NETLAB_BIN:-$SRC/build}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "needs iproute2"
[ -x "$BIN/bench_floor" ] && [ -x "$BIN/bench_timeit" ] || skip "bench_floor/bench_timeit not built in $BIN"
probe="nlbs$$-probe"
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$probe"

out=$(mktemp -d "/tmp/nlbs$$.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
SETTLE_BASE=0.1 W5_BEFORE_S=0.2 W5_AFTER_S=0.5 RECONCILES=20 \
    NETLAB_BIN=$BIN BENCH_BIN=$BIN bash "$SRC/bench/run.sh" --n 10 --runs 1 --ipv6 on \
    --w8 "1" --out "$out/benchmarks.md" --raw "$out/raw.tsv" || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: bench/run.sh exited $rc"; exit 1; }
grep -q '^| on | 10 | floor (bench_floor) | ' "$out/benchmarks.md" \
    || { echo "FAIL: no W1 floor row in the report"; cat "$out/benchmarks.md"; exit 1; }
# Every method that is not netlab must have worked (netlab's rows may say "not available yet").
if grep -P '^W[1-4]\t[abd]\t' "$out/raw.tsv" | cut -f11 | grep -v '^ok$'; then
    echo "FAIL: a baseline method failed (above)"; cat "$out/raw.tsv"; exit 1
fi
if [ -x "$BIN/netlabd" ]; then
    grep -q '^| 10 | 1 | +' "$out/benchmarks.md" \
        || { echo "FAIL: no W8 row in the report"; sed -n '/^## W8/,/^## /p' "$out/benchmarks.md"; exit 1; }
fi
sed -n '/^## Targets/,/^## W1/p' "$out/benchmarks.md"
echo "PASS: bench/run.sh --n 10 --runs 1 --ipv6 on --w8 1"

# W7 (bench/w7_declarative.sh) at N = 3: the script checks itself that every
# method left the same kernel state and the machine's own namespace did not
# change; here only that it ran and wrote its table.
w7_methods="ipbatch"
[ -x "$BIN/netlabctl" ] && w7_methods="netlab $w7_methods"
if command -v ifreload >/dev/null; then w7_methods="$w7_methods ifupdown2"; else echo "W7: ifupdown2 not installed (scripts/setup.sh installs it): not in the smoke run"; fi
rc=0
NETLAB_BIN=$BIN bash "$SRC/bench/w7_declarative.sh" --n 3 --runs 1 --methods "$w7_methods" \
    --out "$out/w7.md" || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: bench/w7_declarative.sh exited $rc"; exit 1; }
grep -q '^| 3 | `ip -batch` | ' "$out/w7.md" || { echo "FAIL: no W7 row"; cat "$out/w7.md"; exit 1; }
if grep -F '**failed' "$out/w7.md"; then echo "FAIL: a W7 method failed (above)"; exit 1; fi
echo "PASS: bench/w7_declarative.sh --n 3 --runs 1 --methods \"$w7_methods\""
