#!/usr/bin/env bash
# CI-sized smoke run of the benchmarks (issues 7, 22): one invocation of
# bench/run.sh with N = 3 and 7 over bridges of 4 (two bridges at N = 7), W7,
# W8 and one run, to a temporary report, so the scripts cannot rot. Fails
# when a script fails or the report lacks a table; asserts no time.
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
# Bad options are refused with the reason, before the lab is made (no report).
for bad in "--n 0" "--n 3x" "--runs 0" "--bridge-size 1500" "--n 7 --daemon-n 3"; do
    # shellcheck disable=SC2086  # $bad is several words on purpose
    if NETLAB_BIN=$BIN BENCH_BIN=$BIN bash "$SRC/bench/run.sh" $bad --out "$out/bad.md" >"$out/bad.txt" 2>&1; then
        echo "FAIL: bench/run.sh $bad was accepted"; exit 1
    fi
    grep -q '^run.sh: ' "$out/bad.txt" || { echo "FAIL: bench/run.sh $bad: no reason given"; cat "$out/bad.txt"; exit 1; }
    echo "refused as it should: bench/run.sh $bad: $(cat "$out/bad.txt")"
done
[ ! -e "$out/bad.md" ] || { echo "FAIL: a refused run wrote a report"; exit 1; }

# W7 (bench/w7_declarative.sh) in the same invocation, rendered by
# bench/report.py from the raw rows; ifupdown2 when installed.
w7_methods="ipbatch"
[ -x "$BIN/netlabctl" ] && w7_methods="netlab $w7_methods"
if command -v ifreload >/dev/null; then w7_methods="$w7_methods ifupdown2"; else echo "W7: ifupdown2 not installed (scripts/setup.sh installs it): not in the smoke run"; fi
# N = 3 and 7 over bridges of 4: N = 7 takes the multi-bridge path (br0 and
# br1, each with its own gateway) that N above 1,000 takes with bridges of
# 1,000, for every method, netlabd (W2/W3/W6) and W8.
rc=0
SETTLE_BASE=0.1 W5_BEFORE_S=0.2 W5_AFTER_S=0.5 RECONCILES=20 RELOADS=20 W7_METHODS=$w7_methods \
    NETLAB_BIN=$BIN BENCH_BIN=$BIN bash "$SRC/bench/run.sh" --n "3 7" --bridge-size 4 --runs 1 --ipv6 on \
    --w8 "1" --w7 3 --out "$out/benchmarks.md" --raw "$out/raw.tsv" || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: bench/run.sh exited $rc"; exit 1; }
for n in 3 7; do
    grep -q "^| on | $n | floor (bench_floor) | " "$out/benchmarks.md" \
        || { echo "FAIL: no W1 floor row for N=$n in the report"; cat "$out/benchmarks.md"; exit 1; }
done
# Every method that is not netlab must have worked (netlab's rows may say "not available yet").
if grep -P '^W[1-4]\t[abd]\t' "$out/raw.tsv" | cut -f11 | grep -v '^ok$'; then
    echo "FAIL: a baseline method failed (above)"; cat "$out/raw.tsv"; exit 1
fi
if [ -x "$BIN/netlabd" ]; then
    grep -q '^| 7 | 1 | +' "$out/benchmarks.md" \
        || { echo "FAIL: no W8 row in the report"; sed -n '/^## W8/,/^## /p' "$out/benchmarks.md"; exit 1; }
    if grep -P '^W[1-4]\tc\t' "$out/raw.tsv" | cut -f11 | grep -v '^ok$'; then
        echo "FAIL: netlab failed on the multi-bridge lab (above)"; cat "$out/raw.tsv"; exit 1
    fi
    grep -q '^| W6 netlabd RSS, N=7 |' "$out/benchmarks.md" \
        || { echo "FAIL: no W6 target row"; sed -n '/^## Targets/,/^## W1/p' "$out/benchmarks.md"; exit 1; }
fi
grep -q '^| 3 | `ip -batch` | ' "$out/benchmarks.md" \
    || { echo "FAIL: no W7 row in the report"; sed -n '/^## W7/,/^## /p' "$out/benchmarks.md"; exit 1; }
if sed -n '/^## W7/,/^## /p' "$out/benchmarks.md" | grep -F '**failed'; then echo "FAIL: a W7 method failed (above)"; exit 1; fi
sed -n '/^## Targets/,/^## W1/p' "$out/benchmarks.md"
echo "PASS: bench/run.sh --n \"3 7\" --bridge-size 4 --runs 1 --ipv6 on --w8 1 --w7 3 (W7 methods: $w7_methods)"
