#!/usr/bin/env bash
# W8 (issue 24): the no-change reload just after a large apply through
# netlabd. netlabd starts in a host netns with the bridges and the
# N-container configuration of bench/run.sh (bench/lib.sh: veths on bridges
# of 1000, one drop-in per bridge, IPv6 on, addresses from 198.18.0.0/15);
# its start-up reconcile is the apply. Then, in the same run,
# one `netlabctl reload` (nothing changed) at each offset after the apply's
# end as netlabd reports it (+1 s, +5 s, +10 s by default, in that order):
# its wall time, netlabd's own time, and whether the fast path answered (else
# why not). While the kernel finishes IPv6 DAD, link-local addresses and
# carrier in the containers, the reloads show whether those events keep the
# fast path off.
#
#   bench/w8_after_apply.sh [--n 1000] [--at "1 5 10"] [--runs 1] [--raw FILE]
#
# Prints a Markdown table; with --raw, appends rows in bench/run.sh's raw
# format (workload W8, method "reload+Ts") that bench/report.py renders.
# Binaries from $NETLAB_BIN (default build/). Namespaces "nlb<PID>-w8-...",
# deleted on exit (bench/lib.sh); addresses in 198.18.0.0/15 (RFC 2544's range for
# benchmarks) only, inside those namespaces.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=w8_after_apply.sh
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
N=1000
AT="1 5 10"
RUNS=1
RAW=""
bench_args "$@"
set -- "${BENCH_REST[@]}"
while [ $# -gt 0 ]; do
    case "$1" in
        --at) AT=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "w8_after_apply.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
# --n is one N here.
NS_LIST=${NS_LIST:-$N}
bench_check_ns 1 $((128 * BENCH_BRIDGE_SIZE)) "128 bridges of $BENCH_BRIDGE_SIZE"
N=$(bench_max_n)
bench_init w8
[ -x "$NETLABD" ] && [ -x "$NETLABCTL" ] || die "netlabd/netlabctl not built in $NETLAB_BIN"
HOSTNS="$PFX-host"
NETLABD_PID=""
bench_on_exit() {
    if [ -n "$NETLABD_PID" ]; then kill "$NETLABD_PID" 2>/dev/null; wait "$NETLABD_PID" 2>/dev/null; fi
    return 0
}

# bench/run.sh's lab and address plan (bench/lib.sh): bridges of
# BENCH_BRIDGE_SIZE in the host netns, IPv4 from 198.18.0.0/15.
setup() {
    local k
    bench_host_lab "$HOSTNS" "$N" 0
    for ((k = 0; k < N; k++)); do bench_container "$k" 0; done >"$WORK/plan"
    bench_topology "$WORK/plan" 0 "$WORK/conf"
}

# status_done: netlabd's status into $WORK/status.json; fails until it has
# finished a reconcile and is idle.
status_done() {
    "$NETLABCTL" status --socket "$WORK/netlabd.sock" --json --timeout 10 >"$WORK/status.json" 2>/dev/null || return 1
    # grep first: a Python start per poll would see the apply's end late on
    # a loaded machine.
    grep -q '"busy": false' "$WORK/status.json" && grep -q '"last": {' "$WORK/status.json" || return 1
    "$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = j.get("last") and not j["daemon"]["busy"] and not j["daemon"]["queued"]
sys.exit(0 if ok else 1)' "$WORK/status.json"
}

ROWS=()
one_run() {  # RUN
    local run=$1 i t t0 t1 at wall
    setup
    rm -rf "$WORK/state"; mkdir -p "$WORK/state"
    log "W8 run $run: netlabd attaches $N containers"
    ip netns exec "$HOSTNS" "$NETLABD" --config-dir "$WORK/conf" --state-dir "$WORK/state" \
        --socket "$WORK/netlabd.sock" --log-level warn >"$WORK/netlabd.log" 2>&1 &
    NETLABD_PID=$!
    for ((i = 0; i < 6000; i++)); do   # up to 300 s to start and converge
        kill -0 "$NETLABD_PID" 2>/dev/null || die "netlabd exited: $(head -n 3 "$WORK/netlabd.log")"
        status_done && break
        sleep 0.05
    done
    [ "$i" -lt 6000 ] || die "netlabd did not finish its start-up reconcile in 300 s"
    local applied
    applied=$("$PYTHON" -c '
import json, sys, datetime
j = json.load(open(sys.argv[1]))["last"]
t = datetime.datetime.fromisoformat(j["finished"].replace("Z", "+00:00")).timestamp()
print("%s %.3f %d" % (j["status"], t, round(1000 * j.get("seconds", 0))))' "$WORK/status.json")
    read -r st finished apply_ms <<<"$applied"
    [ "$st" = applied ] || die "the start-up reconcile ended $st"
    log "W8 run $run: applied in $apply_ms ms"
    for at in $AT; do
        # Wait for the offset after the apply's end (netlabd's clock = this one).
        "$PYTHON" -c 'import sys, time; d = float(sys.argv[1]) + float(sys.argv[2]) - time.time(); time.sleep(max(d, 0))' "$finished" "$at"
        t0=$(date +%s%N)
        "$NETLABCTL" reload --socket "$WORK/netlabd.sock" --json --timeout 120 >"$WORK/reload.json" 2>&1 || true
        t1=$(date +%s%N)
        wall=$(( (t1 - t0) / 1000000 ))
        t=$("$PYTHON" -c '
import json, sys, datetime
try:
    r = json.load(open(sys.argv[1])).get("result", {})
except Exception as e:
    print("?\t?\tfailed: %s" % e); sys.exit(0)
started = datetime.datetime.fromisoformat(r["started"].replace("Z", "+00:00")).timestamp()
why = "fast" if r.get("fast") else "full: " + r.get("full_because", "?").replace("\t", " ")
print("%.1f\t%.1f\t%s\t%s" % (started - float(sys.argv[2]), 1000 * r.get("seconds", 0), r.get("status", "?"), why))' "$WORK/reload.json" "$finished")
        IFS=$'\t' read -r off daemon_ms status why <<<"$t"
        log "W8 run $run: +${at} s (at +$off s): $wall ms, netlabd $daemon_ms ms, $status, $why"
        ROWS+=("| $run | +$at s (+$off s) | $wall ms | $daemon_ms ms | $status | ${why:0:160} |")
        if [ -n "$RAW" ]; then
            # bench/run.sh's raw row: workload method mode n run wall_ms user sys rss exit status extra
            printf 'W8\treload+%ss\ton\t%s\t%s\t%s\t-\t-\t-\t0\tok\tdaemon_ms=%s at_s=%s apply_ms=%s fast=%s why=%s\n' \
                "$at" "$N" "$run" "$wall" "$daemon_ms" "$off" "$apply_ms" \
                "$([ "$why" = fast ] && echo True || echo False)" "$(tr ' \t' '__' <<<"${why:0:200}")" >>"$RAW"
        fi
    done
    kill "$NETLABD_PID" 2>/dev/null || true
    wait "$NETLABD_PID" 2>/dev/null || true
    NETLABD_PID=""
    bench_del_netns
}

log "W8: N=$N, reloads at +${AT// / s, +} s after the apply, $RUNS run(s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= RUNS; r++)); do one_run "$r"; done
echo "W8: no-change reload after a $N-container apply through netlabd ($(date -u '+%Y-%m-%d %H:%M UTC'), netlab $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| run | reload at (measured) | \`netlabctl reload\` | in netlabd | status | fast path, or why not |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
