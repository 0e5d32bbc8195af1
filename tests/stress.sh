#!/usr/bin/env bash
# Runs kernel tests again and again while CPU hogs keep every core busy, and
# prints pass/fail per test: a test that fails here on a busy machine is
# broken, even if it passes on a quiet one. Not part of CI (too long);
# docs/testing.md says how to use it.
#
#   tests/stress.sh [-k RUNS] [-j HOGS] [-o LOGDIR] [TEST...]
#
#   TEST    test names (test_pipeline, kernel.test_pipeline or a path);
#           default: every tests/kernel/test_*.sh
#   -k      runs of each test, one after the other (default 20)
#   -j      busy loops beside the tests (default: one per core, `nproc`)
#   -o      where the log of every failed run is kept (default: a new
#           directory under /tmp, printed at the end)
#
# Needs root and a build (NETLAB_BIN, default build/; scripts/build.sh makes
# it). Runs the tests one at a time, as ctest does, each in namespaces of its
# own. Exit 0 when every run passed or skipped, 1 otherwise.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
runs=20 hogs=$(nproc) logdir=
while getopts k:j:o:h opt; do
    case $opt in
        k) runs=$OPTARG ;;
        j) hogs=$OPTARG ;;
        o) logdir=$OPTARG ;;
        *) sed -n '2,18p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "stress: -k wants a positive number, not '$runs'" >&2; exit 2; }
[[ $hogs =~ ^[0-9]+$ ]] || { echo "stress: -j wants a number, not '$hogs'" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "stress: kernel tests need root" >&2; exit 2; }
export NETLAB_BIN=${NETLAB_BIN:-$src/build} NETLAB_SOURCE_DIR=$src
[ -x "$NETLAB_BIN/netlabd" ] || { echo "stress: no build at $NETLAB_BIN (run scripts/build.sh)" >&2; exit 2; }

tests=()
if [ $# -eq 0 ]; then
    for t in "$src"/tests/kernel/test_*.sh; do tests+=("$t"); done
else
    for t in "$@"; do
        t=${t#kernel.}
        case $t in
            */*) ;;
            *) t="$src/tests/kernel/${t%.sh}.sh" ;;
        esac
        [ -f "$t" ] || { echo "stress: no such test: $t" >&2; exit 2; }
        tests+=("$t")
    done
fi
logdir=${logdir:-$(mktemp -d /tmp/netlab-stress.XXXXXX)}
mkdir -p "$logdir"

hog_pids=()
stop_hogs() {
    local p
    for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    hog_pids=()
}
# A test runs in the background under `timeout`, which leads a process group
# of its own and passes a TERM on to the whole group: on INT or TERM the
# running test is stopped at once (its own trap removes its namespaces) and
# waited for, then the busy loops stop. `wait` returns early for a trapped
# signal, where a test in the foreground would delay the trap until it ended.
test_pid=
stop_test() {
    [ -n "$test_pid" ] || return 0
    kill -TERM "$test_pid" 2>/dev/null || true
    wait "$test_pid" 2>/dev/null || true
    test_pid=
}
trap 'stop_test; stop_hogs' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 1 "$hogs"); do
    bash -c 'while :; do :; done' &
    hog_pids+=($!)
done
echo "stress: $runs runs of ${#tests[@]} test(s), $hogs busy loop(s) on $(nproc) core(s); logs of failed runs in $logdir"

declare -A pass fail skip secs
all_ok=1
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    pass[$name]=0 fail[$name]=0 skip[$name]=0 secs[$name]=0
    for k in $(seq 1 "$runs"); do
        log="$logdir/$name.$k.log"
        t0=$SECONDS
        rc=0
        timeout --kill-after=30 900 bash "$t" >"$log" 2>&1 </dev/null &
        test_pid=$!
        wait "$test_pid" || rc=$?
        test_pid=
        dt=$((SECONDS - t0))
        secs[$name]=$((secs[$name] + dt))
        case $rc in
            0) pass[$name]=$((pass[$name] + 1)); rm -f "$log"; word=pass ;;
            77) skip[$name]=$((skip[$name] + 1)); word="skip ($(grep -m1 '^SKIP' "$log" || true))"; rm -f "$log" ;;
            *) fail[$name]=$((fail[$name] + 1)); all_ok=0
               word="FAIL (exit $rc, log $log): $(grep -E 'FAIL|fail' "$log" | tail -n 1 | cut -c1-160 || true)" ;;
        esac
        printf '%s  %-24s run %2d/%d  %4ds  %s\n' "$(date -u +%H:%M:%S)" "$name" "$k" "$runs" "$dt" "$word"
    done
done
stop_hogs

printf '\n%-24s %5s %5s %5s %9s\n' test pass fail skip "mean s"
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    printf '%-24s %5d %5d %5d %9d\n' "$name" "${pass[$name]}" "${fail[$name]}" "${skip[$name]}" \
        $((secs[$name] / runs))
done
if [ "$all_ok" = 1 ]; then
    echo "stress: every run passed (or was skipped)"
    rmdir "$logdir" 2>/dev/null || true
    exit 0
fi
echo "stress: failures above; their logs are in $logdir"
exit 1
