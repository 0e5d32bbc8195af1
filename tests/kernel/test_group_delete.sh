#!/usr/bin/env bash
# Group delete (W4): removing N containers attached to br0 deletes their veth
# pairs with ONE RTM_DELLINK carrying IFLA_GROUP (plan step delete-group).
#   1. the plan has one delete-group step naming exactly the N host ends, in
#      a group no link had (a foreign veth sits in 7700, another in the
#      default group 0); afterwards exactly netlab's links are gone: the host
#      equals its dump before the attach, the foreign veths are untouched,
#      every container namespace is empty again;
#   2. NETLAB_FAIL_AT_STEP on the delete-group step: rolled back, the host and
#      every container equal their dumps before that apply;
#   3. a foreign link joins the chosen group after the plan was made (while
#      the apply is stopped before the step, NETLAB_STOP_BEFORE_STEP): the step refuses, nothing is
#      deleted, the members' groups are put back.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl
N=${GROUP_DELETE_N:-8}
dir=$(lab_tmp)
P="$LAB_ID-g"
HOST="$P-host"
lab_ns_add "$HOST"
for ((k = 0; k < N; k++)); do lab_ns_add "$P-c$k"; done
# Foreign links: a veth pair in group 7700 (netlab's first choice), one port
# of it on the bridge netlab makes later; another pair left in group 0.
ip -n "$HOST" link add fa0 type veth peer name fa1
ip -n "$HOST" link set fa0 group 7700
ip -n "$HOST" link set fa1 group 7700
ip -n "$HOST" link add fb0 type veth peer name fb1

topology() {  # N_CONTAINERS
    echo "version: 1"
    echo "interfaces:"
    echo "  br0: {kind: bridge, stp: false, addresses: [198.51.100.1/24]}"
    [ "$1" -gt 0 ] || return 0
    echo "containers:"
    for ((k = 0; k < $1; k++)); do
        echo "  c$k:"
        echo "    netns: \"netns:$P-c$k\""
        echo "    interfaces:"
        echo "      eth1: {bridge: br0, address: \"198.51.100.$((10 + k))/24@198.51.100.1\"}"
    done
}
topology 0 >"$dir/bridge.yaml"
topology "$N" >"$dir/attached.yaml"

dump_all() {  # OUT: host and every container, one file
    { ns_dump "$HOST"; for ((k = 0; k < N; k++)); do echo "== c$k"; ns_dump "$P-c$k"; done; } >"$1"
}
must_apply() {  # FILE OUT [ENV=VALUE...]
    local f=$1 o=$2; shift 2
    nl_apply "$HOST" "$f" "$o" "$@"
    [ "$APPLY_RC" -eq 0 ] || { show_apply "$o"; fail "apply of $f failed"; }
}
attach() {
    must_apply "$dir/attached.yaml" "$dir/attach.json"
    local ports
    ports=$(ip -n "$HOST" -o link show master br0)
    [ "$(grep -cv ': fa0@' <<<"$ports")" -eq "$N" ] || fail "not $N netlab ports on br0 after the attach: $ports"
}

heading "br0 alone, then $N containers on it"
must_apply "$dir/bridge.yaml" "$dir/bridge.json"
ip -n "$HOST" link set fa0 master br0
dump_all "$dir/before-attach"
attach
dump_all "$dir/attached"

heading "plan of the removal"
plan_table "$HOST" "$dir/bridge.yaml" "$dir/plan.json" "removal plan"
[ "$K" -eq 1 ] || fail "expected one step, got $K"
op=$(json_get "$dir/plan.json" 'j["steps"][0]["op"]')
group=$(json_get "$dir/plan.json" 'j["steps"][0]["group"]')
members=$(json_get "$dir/plan.json" '" ".join(sorted(j["steps"][0]["members"]))')
[ "$op" = delete-group ] || fail "the step is $op, not delete-group"
case "$group" in 0|7700) fail "group $group is taken (foreign veth / default)" ;; esac
ports=$(ip -n "$HOST" -o link show master br0)
want=$(awk -F': ' '$2 !~ /^fa0@/ {sub(/@.*/, "", $2); print $2}' <<<"$ports" | sort | tr '\n' ' ')
[ "$members " = "$want" ] || fail "members '$members' are not the host ends '$want'"
note "  group $group, $(wc -w <<<"$members") members"

heading "2. NETLAB_FAIL_AT_STEP=1 (the delete-group step)"
nl_apply "$HOST" "$dir/bridge.yaml" "$dir/fault.json" NETLAB_FAIL_AT_STEP=1
[ "$APPLY_STATUS" = rolled_back ] || { show_apply "$dir/fault.json"; fail "expected rolled_back"; }
dump_all "$dir/after-fault"
assert_same_dump "fault at the delete-group step" "$dir/attached" "$dir/after-fault"
note "  rolled back: $(json_get "$dir/fault.json" 'j["error"]')"

heading "3. a foreign link joins group $group after the plan was made"
state="$LAB_TMP/state-$HOST"
# The apply stops itself (SIGSTOP) before its first step, with its journal
# written: the foreign link joins the group then, and the apply goes on.
mkdir -p "$state"
ip netns exec "$HOST" env NETLAB_STOP_BEFORE_STEP=1 "$NETLABCTL" apply "$dir/bridge.yaml" --json \
    --state-dir "$state" >"$dir/race.json" 2>"$dir/race.json.err" &
apply_pid=$!
LAB_PIDS+=("$apply_pid")
wait_stopped "$apply_pid" || { cat "$dir/race.json" "$dir/race.json.err"; fail "the apply never stopped before its first step"; }
[ -e "$state/journal.json" ] || fail "the apply wrote no journal"
jgroup=$(json_get "$state/journal.json" '[s for s in j["plan"]["steps"] if s["op"] == "delete-group"][0]["group"]')
ip -n "$HOST" link set fb0 group "$jgroup"
kill -CONT "$apply_pid"
rc=0; wait "$apply_pid" || rc=$?
status=$(json_get "$dir/race.json" 'j["status"]')
error=$(json_get "$dir/race.json" 'j["error"]')
note "  exit $rc, status $status: $error"
[ "$status" = rolled_back ] || { cat "$dir/race.json" "$dir/race.json.err"; fail "expected rolled_back"; }
case "$error" in *"fb0, which is not to be deleted"*) ;; *) fail "the refusal does not name fb0" ;; esac
ip -n "$HOST" link set fb0 group default
dump_all "$dir/after-race"
assert_same_dump "refused group delete" "$dir/attached" "$dir/after-race"

heading "1. the removal"
must_apply "$dir/bridge.yaml" "$dir/remove.json"
[ "$(json_get "$dir/remove.json" 'j["steps"][0]["op"]')" = delete-group ] || fail "the removal did not use delete-group"
note "  $(json_get "$dir/remove.json" 'j["steps"][0]["text"]')"
note "  $(json_get "$dir/remove.json" 'j["writes"]') netlink writes"
dump_all "$dir/after-remove"
assert_same_dump "attach then removal" "$dir/before-attach" "$dir/after-remove"
has_line ip -n "$HOST" -o link show fa0 -- 'master br0.*group 7700' || fail "fa0 lost its master or group"
has_line ip -n "$HOST" -o link show fb0 -- 'group default' || fail "fb0 is not in the default group"
plan_rc=0
nlctl "$HOST" plan "$dir/bridge.yaml" >/dev/null || plan_rc=$?
[ "$plan_rc" -eq 0 ] || fail "plan exited $plan_rc after the removal, expected 0 (converged)"
note "PASS: $N attachments deleted with one group request; foreign veths (group 7700, group 0) untouched; a fault and a foreign link in the group both rolled back exactly"
