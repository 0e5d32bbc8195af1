#!/usr/bin/env bash
# Removal: after the takeover, applying a topology without br0 deletes br0
# and gives ens33 back what it had before netlab adopted it: its address and
# the default route through it. host1's dump must equal the one taken before
# the takeover, and the remote must reach host1.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files
lab_up
ns_dump "$NS_HOST1" >"$dir/before"

heading "takeover"
nl_apply "$NS_HOST1" "$topo" "$dir/apply.json"
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/apply.json"; fail "takeover apply failed"; }
ip -n "$NS_HOST1" -br addr
ip -n "$NS_HOST1" route

heading "apply a topology without br0 (version: 1 alone)"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
nl_apply "$NS_HOST1" "$empty" "$dir/remove.json"
pinger_stop
show_apply "$dir/remove.json"
[ "$APPLY_RC" -eq 0 ] || fail "removal apply failed"
ip -n "$NS_HOST1" -br addr
ip -n "$NS_HOST1" route
note "  pinger during the removal: $PING_LINE"
ns_dump "$NS_HOST1" >"$dir/after"

ip -n "$NS_HOST1" link show br0 >/dev/null 2>&1 && fail "br0 still exists"
has_line ip -n "$NS_HOST1" -4 addr show dev ens33 -- "inet $HOST1_ADDR/$LAN_PREFIX" \
    || fail "ens33 did not get $HOST1_ADDR/$LAN_PREFIX back"
has_line ip -n "$NS_HOST1" route show default -- "via $GW_LAN_ADDR dev ens33" \
    || fail "the default route via ens33 is not back"
has_line ip -n "$NS_HOST1" -j link show ens33 -- '"master"' && fail "ens33 is still enslaved"
lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 || fail "remote cannot reach host1 after the removal"
assert_same_dump "takeover then removal" "$dir/before" "$dir/after"

plan_rc=0
nlctl "$NS_HOST1" plan "$empty" >/dev/null || plan_rc=$?
[ "$plan_rc" -eq 0 ] || fail "plan of the empty topology exited $plan_rc after the removal, expected 0"
note "PASS: br0 deleted, ens33 has $HOST1_ADDR/$LAN_PREFIX and the default route again; host1 equals its pre-takeover dump ($PING_LOST/$PING_TX pings lost during the removal)"
