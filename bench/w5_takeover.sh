#!/usr/bin/env bash
# W5 of issue 7: bridge takeover in host1 while "remote" (another subnet,
# through the gateway) pings host1 every 10 ms. Counts the lost echo replies
# for netlab and for the shell alternatives, on a fresh lab each run.
#
#   bench/w5_takeover.sh [--runs 5] [--raw FILE]
#
# Uses the kernel-test lab (tests/kernel/lib.sh: namespaces sw/gw/remote/host1,
# host1's NIC is the veth "ens33"; 198.51.100.0/24 LAN, 203.0.113.0/24 remote);
# its EXIT trap deletes every namespace this script made.
#   chain     the seed's recipe typed as one && chain at script speed (breaks
#             at `ip route del default`: the host keeps no default route)
#   careful   the best order a shell script can take: address on br0 first,
#             enslave, `ip route replace`, remove the old address last
#   netlab    `netlabctl apply` of the takeover topology
set -euo pipefail
RUNS=5
RAW=/dev/stdout
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --raw) RAW=$2; shift 2 ;;
        *) echo "w5_takeover.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$SRC/tests/kernel/lib.sh"
LAB_ID="nlb$$-w5"   # the bench's own prefix
lab_require

BEFORE_S=${W5_BEFORE_S:-0.5}   # pinging before the change
AFTER_S=${W5_AFTER_S:-1.0}    # and after it: a host left unreachable loses ~100 replies per second

now_ms() { date +%s%3N; }

# rec METHOD RUN WALL_MS EXIT STATUS EXTRA
rec() {
    printf 'W5\t%s\ton\t1\t%s\t%s\t-\t-\t-\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$RAW"
}

careful_chain() {
    local ns=$1 mac
    mac=$(ip -n "$ns" -j link show ens33 | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    in_ns "$ns" ip link add br0 type bridge stp_state 0 forward_delay 0 &&
        in_ns "$ns" ip link set br0 address "$mac" &&
        in_ns "$ns" ip link set br0 up &&
        in_ns "$ns" ip addr add "$HOST1_ADDR/$LAN_PREFIX" dev br0 &&
        in_ns "$ns" ip link set ens33 master br0 &&
        in_ns "$ns" ip route replace default via "$GW_LAN_ADDR" dev br0 &&
        in_ns "$ns" ip addr del "$HOST1_ADDR/$LAN_PREFIX" dev ens33
}

measure() {  # METHOD RUN
    local m=$1 run=$2 t0 t1 rc=0 status=ok label
    lab_up
    pinger_start "$NS_REMOTE" "$HOST1_ADDR"
    sleep "$BEFORE_S"
    t0=$(now_ms)
    case "$m" in
        chain)
            label="shell_chain_(&&),_script_speed"
            lab_shell_chain "$NS_HOST1" 0 >/dev/null || rc=$?
            [ "$rc" -eq 0 ] || status="chain stopped at '$CHAIN_FAILED_AT': $CHAIN_ERROR; host left without a default route"
            ;;
        careful)
            label="careful_shell_script_(route_replace,_old_address_last)"
            careful_chain "$NS_HOST1" >/dev/null 2>&1 || { rc=$?; status="failed"; }
            ;;
        netlab)
            label="netlabctl_apply"
            if [ ! -x "$NETLABCTL" ]; then
                rc=1; status="not available yet: netlabctl not built"
            else
                write_takeover_yaml "$(lab_tmp)/takeover.yaml"
                nlctl "$NS_HOST1" apply "$(lab_tmp)/takeover.yaml" --json >"$(lab_tmp)/apply.json" 2>"$(lab_tmp)/apply.err" || rc=$?
                if [ "$rc" -ne 0 ]; then
                    status="not available yet: $({ cat "$(lab_tmp)/apply.err"; cat "$(lab_tmp)/apply.json"; } | grep -v '^\s*$' | sed -n 1p | cut -c1-160)"
                fi
            fi
            ;;
    esac
    t1=$(now_ms)
    sleep "$AFTER_S"
    pinger_stop
    rec "$m" "$run" "$((t1 - t0))" "$rc" "$status" "label=$label lost=$PING_LOST tx=$PING_TX run=$PING_RUN"
    echo "W5 $m run $run: $status; $PING_LINE" >&2
    lab_destroy
}

for ((run = 1; run <= RUNS; run++)); do
    for m in chain careful netlab; do
        measure "$m" "$run"
    done
done
