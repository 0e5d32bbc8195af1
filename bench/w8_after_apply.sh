#!/usr/bin/env bash
# W8 (issue 24): the no-change reload just after a large apply through
# netlabd. netlabd starts in a host netns with br0 and the N-container
# topology of bench/run.sh (veth on br0, IPv6 on, addresses from
# 198.18.0.0/15); its start-up reconcile is the apply. Then, in the same run,
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
# deleted on exit; addresses in 198.18.0.0/15 (RFC 2544's range for
# benchmarks) only, inside those namespaces.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
NETLAB_BIN=${NETLAB_BIN:-$SRC/build}
NETLABD=$NETLAB_BIN/netlabd
NETLABCTL=$NETLAB_BIN/netlabctl
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
N=1000
AT="1 5 10"
RUNS=1
RAW=""
while [ $# -gt 0 ]; do
    case "$1" in
        --n) N=$2; shift 2 ;;
        --at) AT=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --raw) RAW=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "w8_after_apply.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
die() { echo "w8_after_apply.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[ -x "$NETLABD" ] && [ -x "$NETLABCTL" ] || die "netlabd/netlabctl not built in $NETLAB_BIN"
case "$N" in ''|*[!0-9]*) die "--n wants a number" ;; esac

PFX="nlb$$-w8"
HOSTNS="$PFX-host"
WORK=$(mktemp -d "/tmp/$PFX.XXXXXX")
NETLABD_PID=""

cleanup() {
    local rc=$? ns
    set +e
    if [ -n "$NETLABD_PID" ]; then kill "$NETLABD_PID" 2>/dev/null; wait "$NETLABD_PID" 2>/dev/null; fi
    # Only this script's namespaces, by their unique prefix (never `ip -all`).
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do echo "netns del $ns"; done >"$WORK/cleanup.batch"
    [ -s "$WORK/cleanup.batch" ] && ip -batch "$WORK/cleanup.batch" >/dev/null 2>&1
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench/run.sh's container_line: 198.18.0.0 + (k + 2) in 198.18.0.0/15.
container_line() {  # k -> "NETNS IFNAME ADDR/LEN GATEWAY"
    local h=$(( $1 + 2 ))
    printf '%s-c%d eth1 198.%d.%d.%d/15 198.18.0.1\n' "$PFX" "$1" $((18 + h / 65536)) $((h / 256 % 256)) $((h % 256))
}

setup() {
    ip netns add "$HOSTNS"
    ip -n "$HOSTNS" link set lo up
    ip -n "$HOSTNS" link add br0 type bridge stp_state 0 forward_delay 0
    ip -n "$HOSTNS" addr add 198.18.0.1/15 dev br0
    ip -n "$HOSTNS" link set br0 up
    local k
    for ((k = 0; k < N; k++)); do echo "netns add $PFX-c$k"; done >"$WORK/netns.batch"
    ip -batch "$WORK/netns.batch"
    mkdir -p "$WORK/conf"
    {
        echo "version: 1"
        echo "interfaces:"
        echo "  br0: {kind: bridge, stp: false, addresses: [198.18.0.1/15]}"
        echo "containers:"
        for ((k = 0; k < N; k++)); do
            read -r ns ifn addr gw <<<"$(container_line "$k")"
            echo "  ${ns#"$PFX"-}:"
            echo "    netns: \"netns:$ns\""
            echo "    interfaces:"
            echo "      $ifn: {bridge: br0, address: \"$addr@$gw\"}"
        done
    } >"$WORK/conf/topology.yaml"
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
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do echo "netns del $ns"; done >"$WORK/del.batch"
    ip -batch "$WORK/del.batch" >/dev/null 2>&1 || true
}

log "W8: N=$N, reloads at +${AT// / s, +} s after the apply, $RUNS run(s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= RUNS; r++)); do one_run "$r"; done
echo "W8: no-change reload after a $N-container apply through netlabd ($(date -u '+%Y-%m-%d %H:%M UTC'), netlab $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| run | reload at (measured) | \`netlabctl reload\` | in netlabd | status | fast path, or why not |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
