#!/usr/bin/env bash
# Bridge takeover in host1 while the remote host pings it every 10 ms through
# the gateway and a TCP connection opened before the change sends data after
# it. Run twice on a fresh lab each time:
#   1. the seed's shell chain (must stop at `ip route del default` with
#      "No such process" and leave host1 without a default route);
#   2. `netlabctl apply` (must lose 0 packets, but for one the kernel drops
#      while it enslaves ens33 (see below), and keep the TCP connection).
# Both outcomes are printed as a table.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require

# Pause between steps so the pinger probes every intermediate state
# (~5 probes per step at 50 ms); not a timing assertion.
STEP_DELAY_MS=${STEP_DELAY_MS:-50}
TCP_PORT=5001

heading "1. the seed's shell chain, typed with && (fresh lab)"
lab_up
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
# 3 s: this connection is expected to break; waiting longer proves nothing.
tcp_open "$NS_HOST1" "$HOST1_ADDR" "$TCP_PORT" "$NS_REMOTE" 3
chain_rc=0
STEP_DELAY_S=$(awk "BEGIN { print $STEP_DELAY_MS / 1000 }")
lab_shell_chain "$NS_HOST1" "$STEP_DELAY_S" || chain_rc=$?
sleep "$STEP_DELAY_S"
pinger_stop
chain_tx=$PING_TX chain_lost=$PING_LOST
if tcp_finish; then chain_tcp="carries data"; else chain_tcp="broken: ${TCP_RESULT#after: }"; fi
chain_default=$(ip -n "$NS_HOST1" route show default)
note "  pinger: $PING_LINE"
note "  default route afterwards: ${chain_default:-none}"
[ "$chain_rc" -ne 0 ] || fail "shell chain: expected it to break, it succeeded"
[ "$CHAIN_FAILED_AT" = "ip route del default" ] \
    || fail "shell chain: expected it to stop at 'ip route del default', it stopped at '$CHAIN_FAILED_AT'"
grep -q "No such process" <<<"$CHAIN_ERROR" \
    || fail "shell chain: expected 'No such process', got '$CHAIN_ERROR'"
[ -z "$chain_default" ] || fail "shell chain: expected no default route left, found: $chain_default"
chain_error=$CHAIN_ERROR
lab_destroy

heading "2. netlabctl apply (fresh lab)"
lab_require_netlabctl
lab_up
topo="$(lab_tmp)/takeover.yaml"
write_takeover_yaml "$topo"
note "-- host1 before"
ip -n "$NS_HOST1" -br addr
ip -n "$NS_HOST1" route
note "-- netlabctl plan"
plan_rc=0
nlctl "$NS_HOST1" plan "$topo" || plan_rc=$?
[ "$plan_rc" -eq 2 ] || fail "plan: expected exit 2 (changes), got $plan_rc"

echos_before=$(in_ns "$NS_HOST1" nstat -az IcmpInEchos | awk '$1 == "IcmpInEchos" { print $2 }')
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
tcp_open "$NS_HOST1" "$HOST1_ADDR" "$TCP_PORT" "$NS_REMOTE"
# What the kernel did in host1 and when (UTC), to line up with the send time
# of any lost ping (the pinger's lost_at) should one be lost.
mon="$(lab_tmp)/monitor.txt"
TZ=UTC ip -n "$NS_HOST1" -ts monitor link address route neigh >"$mon" 2>&1 &
MON_PID=$!
LAB_PIDS+=("$MON_PID")
out="$(lab_tmp)/apply.json"
apply_rc=0
NETLAB_STEP_DELAY_MS=$STEP_DELAY_MS nlctl "$NS_HOST1" apply "$topo" --json >"$out" 2>"$out.err" || apply_rc=$?
sleep "$STEP_DELAY_S"
pinger_stop
kill "$MON_PID" 2>/dev/null || true
wait "$MON_PID" 2>/dev/null || true
lab_forget_pid "$MON_PID"
echos_after=$(in_ns "$NS_HOST1" nstat -az IcmpInEchos | awk '$1 == "IcmpInEchos" { print $2 }')
nl_tx=$PING_TX nl_rx=$PING_RX nl_lost=$PING_LOST
if tcp_finish; then nl_tcp="carries data"; else nl_tcp="broken: ${TCP_RESULT#after: }"; fi
note "-- netlabctl apply --json (exit $apply_rc)"
cat "$out"; cat "$out.err" >&2
note "  pinger: $PING_LINE"
note "  tcp:    $TCP_RESULT"
note "  host1 received $((echos_after - echos_before)) of the $nl_tx echo requests"
note "-- host1 after"
ip -n "$NS_HOST1" -br addr
ip -n "$NS_HOST1" route
if [ "$nl_lost" -ne 0 ]; then
    note "-- what the kernel did in host1 during the apply (UTC; lost pings sent at ${PING_LINE##*lost_at=})"
    cat "$mon"
    note "-- where the pings went (host1, then the gateway)"
    in_ns "$NS_HOST1" nstat -az Icmp* Ip*Discards IpOutNoRoutes IpInAddrErrors TcpExt*Drop* 2>&1 || true
    ip -n "$NS_HOST1" -s link show
    ip -n "$NS_HOST1" neigh show
    in_ns "$NS_GW" nstat -az Icmp* Ip*Discards IpOutNoRoutes IpForwDatagrams 2>&1 || true
    ip -n "$NS_GW" -s link show lan0
    ip -n "$NS_GW" neigh show
    ip -n "$NS_SW" -s link show
    bridge -n "$NS_SW" fdb show br lan
fi
nl_default=$(ip -n "$NS_HOST1" route show default)

heading "outcomes"
row() { printf '%-22s | %-58s | %s\n' "$@"; }
row "" "shell chain (&&)" "netlabctl apply"
row "exit" "$chain_rc" "$apply_rc"
row "stopped at" "$CHAIN_FAILED_AT: $chain_error" "-"
row "pings sent / lost" "$chain_tx / $chain_lost" "$nl_tx / $nl_lost"
row "TCP opened before" "$chain_tcp" "$nl_tcp"
row "default route after" "${chain_default:-none}" "${nl_default:-none}"

[ "$apply_rc" -eq 0 ] || fail "netlabctl apply exited $apply_rc"
[ "$(json_get "$out" 'j["status"]')" = applied ] || fail "apply: status is not applied"
# The one loss the kernel makes whatever the order: br_add_if registers ens33
# as a bridge port before it enables it, and a frame that arrives in those
# microseconds is dropped by the bridge (port state disabled). Seen about once
# in 30 takeovers on a busy machine. Such a loss is told apart and allowed:
# a single ping, whose request host1's IP never received (host1 answered every
# request it got), sent at most 30 ms before ens33 became a port of br0.
# Any other loss fails.
enslave_window_loss() {
    [ "$nl_lost" -eq 1 ] && [ "$((echos_after - echos_before))" -eq "$((nl_tx - 1))" ] || return 1
    "$PYTHON" - "$mon" "${PING_LINE##*lost_at=}" <<'PY'
import re, sys
mon, lost = sys.argv[1], sys.argv[2].strip()
def secs(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
enslaved = None
for line in open(mon):
    m = re.match(r"\[\d{4}-\d\d-\d\dT(\d\d:\d\d:[\d.]+)\] \d+: ens33\S*: .* master br0 ", line)
    if m:
        enslaved = secs(m.group(1))
        break
if enslaved is None:
    sys.exit("no 'ens33 ... master br0' event in the monitor")
ahead = (enslaved - secs(lost)) % 86400
print("  the lost ping was sent %.1f ms before ens33 became a port of br0" % (ahead * 1000))
sys.exit(0 if ahead <= 0.030 else 1)
PY
}
if [ "$nl_rx" -ne "$nl_tx" ]; then
    if enslave_window_loss; then
        note "  1 ping lost in the kernel's enslave window (bridge port not yet enabled); allowed, see above"
    else
        fail "netlabctl apply: $nl_lost of $nl_tx pings lost"
    fi
fi
[ "$nl_tcp" = "carries data" ] || fail "netlabctl apply: TCP connection broken: $TCP_RESULT"
has_line ip -n "$NS_HOST1" -j link show ens33 -- '"master":"br0"' || fail "ens33 is not a port of br0"
has_line ip -n "$NS_HOST1" -4 addr show dev br0 -- "inet $HOST1_ADDR/$LAN_PREFIX" || fail "br0 lacks $HOST1_ADDR"
[ -z "$(ip -n "$NS_HOST1" -4 addr show dev ens33)" ] || fail "ens33 still holds an IPv4 address"
grep -q "via $GW_LAN_ADDR dev br0" <<<"$nl_default" || fail "default route is not via br0: $nl_default"
note "PASS: netlab took over with $nl_lost of $nl_tx pings lost and the TCP connection intact;"
note "      the shell chain stopped at '$CHAIN_FAILED_AT' ($chain_error)."
