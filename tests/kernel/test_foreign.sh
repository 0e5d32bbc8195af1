#!/usr/bin/env bash
# Foreign objects — ones the topology does not name, created by "someone
# else" in host1 before netlab runs — survive a fault-injected rollback, the
# takeover and the removal unchanged:
#   - a veth pair fv0/fv1 (fv0 with 2001:db8:f00::1/64),
#   - a route 203.0.113.128/25 dev fv0 proto static,
#   - a route 2001:db8:f01::/64 via 2001:db8:f00::2 dev fv0 proto static,
#   - a route 203.0.113.64/26 via 198.51.100.1 (dev ens33) proto static.
# The kernel itself would flush the last one when ens33 loses its last IPv4
# address. netlab re-homes it onto br0 (NLM_F_REPLACE, same gateway, metric
# and protocol) before that address goes, and gives it back to ens33 exactly
# wherever it restores the previous state (rollback, removal).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files

FOREIGN_RE='fv0|fv1|203\.0\.113\.128/25|2001:db8:f0|203\.0\.113\.64/26'
foreign() { ns_dump "$NS_HOST1" | grep -E "$FOREIGN_RE" || true; }
gw_route() { ip -n "$NS_HOST1" route show 203.0.113.64/26; }

lab_up
h=$NS_HOST1
ip -n "$h" link add fv0 type veth peer name fv1
ip -n "$h" link set fv0 up
ip -n "$h" link set fv1 up
ip -n "$h" addr add 2001:db8:f00::1/64 dev fv0 nodad
ip -n "$h" route add 203.0.113.128/25 dev fv0 proto static
ip -n "$h" route add 2001:db8:f01::/64 via 2001:db8:f00::2 dev fv0 proto static
ip -n "$h" route add 203.0.113.64/26 via "$GW_LAN_ADDR" proto static
foreign >"$dir/foreign.before"
ns_dump "$h" >"$dir/all.before"
heading "foreign objects in host1"
cat "$dir/foreign.before"

rows=()
check() {  # check PHASE EXPECT_FULL_DUMP_EQUAL
    local phase=$1 same
    foreign >"$dir/foreign.$phase"
    if diff -u --label before --label "$phase" "$dir/foreign.before" "$dir/foreign.$phase"; then
        same=yes
    else
        same=no
    fi
    rows+=("$(printf '%-28s | %-4s | %-11s | %-9s | %s' "$phase" "$APPLY_RC" "$APPLY_STATUS" "$same" "$(gw_route | sed 's/ *$//')")")
    FOREIGN_SAME=$same
}

heading "1. takeover with a fault injected at the re-home step and at the last step (rollback)"
plan_steps "$h" "$topo" "$dir/plan.json"
{ [ "$PLAN_RC" -eq 2 ] && [ "$PLAN_K" -gt 0 ]; } || { cat "$dir/plan.json" "$dir/plan.json.err"; fail "plan: expected exit 2 with steps, got $PLAN_RC"; }
rehome_k=0
for k in $(seq 1 "$PLAN_K"); do
    note "  $k. $(step_text "$dir/plan.json" "$k")"
    case "$(step_text "$dir/plan.json" "$k")" in *"203.0.113.64/26"*"dev br0"*) rehome_k=$k ;; esac
done
[ "$rehome_k" -gt 0 ] || fail "the plan does not re-home 203.0.113.64/26 onto br0"
rollback_same=yes rollback_all=yes
for k in "$rehome_k" "$PLAN_K"; do
    nl_apply "$h" "$topo" "$dir/fault.$k.json" NETLAB_FAIL_AT_STEP="$k"
    note "  exit $APPLY_RC, status $APPLY_STATUS (fault at step $k of $PLAN_K)"
    check "rollback (k=$k)"
    [ "$FOREIGN_SAME" = yes ] || rollback_same=no
    ns_dump "$h" >"$dir/all.rollback.$k"
    diff -u --label before --label "rollback k=$k" "$dir/all.before" "$dir/all.rollback.$k" || rollback_all=no
done

heading "2. takeover"
nl_apply "$h" "$topo" "$dir/apply.json"
note "  exit $APPLY_RC, status $APPLY_STATUS"
[ "$APPLY_RC" -eq 0 ] || show_apply "$dir/apply.json"
takeover_rc=$APPLY_RC
check "takeover"
takeover_gw=$(gw_route)
# Only the side-effect route may differ after the takeover: it cannot stay on
# a bridge port, so it may follow the address to br0.
grep -v '203\.0\.113\.64/26' "$dir/foreign.before" >"$dir/foreign.before.strict"
grep -v '203\.0\.113\.64/26' "$dir/foreign.takeover" >"$dir/foreign.takeover.strict" || true
cmp -s "$dir/foreign.before.strict" "$dir/foreign.takeover.strict" && takeover_same=yes || takeover_same=no

heading "2b. plan again after the takeover: converged, the re-homed route stays on br0"
plan_steps "$h" "$topo" "$dir/plan2.json"
note "  plan exit $PLAN_RC, $PLAN_K steps"
again_rc=$PLAN_RC

heading "3. removal (version: 1 alone)"
nl_apply "$h" "$empty" "$dir/remove.json"
note "  exit $APPLY_RC, status $APPLY_STATUS"
[ "$APPLY_RC" -eq 0 ] || show_apply "$dir/remove.json"
removal_rc=$APPLY_RC
check "removal"
removal_same=$FOREIGN_SAME

heading "foreign objects per phase"
printf '%-28s | %-4s | %-11s | %-9s | %s\n' phase exit status unchanged "203.0.113.64/26 (kernel side-effect route)"
printf '%s\n' "${rows[@]}"

{ [ "$rollback_same" = yes ] && [ "$rollback_all" = yes ]; } || fail "rollback did not restore host1 exactly (foreign objects included)"
[ "$takeover_rc" -eq 0 ] || fail "takeover apply failed"
[ "$takeover_same" = yes ] || fail "takeover changed foreign objects"
[ -n "$takeover_gw" ] || fail "takeover lost the foreign route 203.0.113.64/26 (flushed by the kernel with ens33's address, not re-homed to br0)"
want_gw="203.0.113.64/26 via $GW_LAN_ADDR dev br0 proto static"
[ "${takeover_gw%% }" = "$want_gw" ] || fail "re-homed route is '$takeover_gw', expected '$want_gw'"
[ "$again_rc" -eq 0 ] || { cat "$dir/plan2.json"; fail "plan after the takeover: expected exit 0 (converged), got $again_rc"; }
[ "$removal_rc" -eq 0 ] || fail "removal apply failed"
[ "$removal_same" = yes ] || fail "removal changed foreign objects"
note "PASS: foreign veth, address and routes survived rollback, takeover (route re-homed to br0) and removal"
