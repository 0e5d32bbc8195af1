#!/usr/bin/env bash
# Bridge takeover in host1 while the remote host pings it every 10 ms through
# the gateway and a TCP connection opened before the change sends data after
# it. Run twice on a fresh lab each time:
#   1. the seed's shell chain (must stop at `ip route del default` with
#      "No such process" and leave host1 without a default route);
#   2. `netlabctl apply` (must lose 0 packets and keep the TCP connection).
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

pinger_start "$NS_REMOTE" "$HOST1_ADDR"
tcp_open "$NS_HOST1" "$HOST1_ADDR" "$TCP_PORT" "$NS_REMOTE"
out="$(lab_tmp)/apply.json"
apply_rc=0
NETLAB_STEP_DELAY_MS=$STEP_DELAY_MS nlctl "$NS_HOST1" apply "$topo" --json >"$out" 2>"$out.err" || apply_rc=$?
sleep "$STEP_DELAY_S"
pinger_stop
nl_tx=$PING_TX nl_rx=$PING_RX nl_lost=$PING_LOST
if tcp_finish; then nl_tcp="carries data"; else nl_tcp="broken: ${TCP_RESULT#after: }"; fi
note "-- netlabctl apply --json (exit $apply_rc)"
cat "$out"; cat "$out.err" >&2
note "  pinger: $PING_LINE"
note "  tcp:    $TCP_RESULT"
note "-- host1 after"
ip -n "$NS_HOST1" -br addr
ip -n "$NS_HOST1" route
if [ "$nl_lost" -ne 0 ]; then
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
[ "$nl_rx" -eq "$nl_tx" ] || fail "netlabctl apply: $nl_lost of $nl_tx pings lost"
[ "$nl_tcp" = "carries data" ] || fail "netlabctl apply: TCP connection broken: $TCP_RESULT"
has_line ip -n "$NS_HOST1" -j link show ens33 -- '"master":"br0"' || fail "ens33 is not a port of br0"
has_line ip -n "$NS_HOST1" -4 addr show dev br0 -- "inet $HOST1_ADDR/$LAN_PREFIX" || fail "br0 lacks $HOST1_ADDR"
[ -z "$(ip -n "$NS_HOST1" -4 addr show dev ens33)" ] || fail "ens33 still holds an IPv4 address"
grep -q "via $GW_LAN_ADDR dev br0" <<<"$nl_default" || fail "default route is not via br0: $nl_default"
note "PASS: netlab took over with 0 of $nl_tx pings lost and the TCP connection intact;"
note "      the shell chain stopped at '$CHAIN_FAILED_AT' ($chain_error)."
