#!/usr/bin/env bash
# Applying the takeover a second time sends no netlink write (JSON "writes"
# is 0), changes nothing, and `netlabctl plan` then exits 0 (converged).
# `apply --detailed-exitcode` exits 2 when it changed something (the first
# apply) and 0 when the namespace was converged (a third apply).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files
lab_up

heading "first apply, with --detailed-exitcode"
APPLY_RC=0
nlctl "$NS_HOST1" apply "$topo" --json --detailed-exitcode >"$dir/apply1.json" 2>"$dir/apply1.json.err" || APPLY_RC=$?
APPLY_STATUS=$(json_get "$dir/apply1.json" 'j.get("status")' 2>/dev/null || echo "(no JSON)")
applied_at=$SECONDS
[ "$APPLY_RC" -eq 2 ] && [ "$APPLY_STATUS" = applied ] \
    || { show_apply "$dir/apply1.json"; fail "first apply: expected exit 2 (changed) with --detailed-exitcode"; }
writes1=$(json_get "$dir/apply1.json" 'j["writes"]')
note "  status $APPLY_STATUS, $writes1 netlink writes"
ns_dump "$NS_HOST1" >"$dir/after1"

heading "second apply of the same file"
# Independent of netlab's own count: the kernel must announce no change.
# The first apply's follow-ups are the kernel's own, not changes: carrier and
# operstate (linkwatch, within a second or so), and one bridge-port
# notification for ens33 when br0's forward-delay timer fires (15 s after
# the port joined, even with STP off). Time that must pass: the forward
# delay plus 2 s from the first apply, then 2 s without any event.
out=$(ip -n "$NS_HOST1" -d link show br0)
fd_cs=$(grep -oE 'forward_delay [0-9]+' <<<"$out" | grep -oE '[0-9]+$') || fd_cs=1500
monitor_start "$NS_HOST1" "$dir/events" link address route
while [ $((SECONDS - applied_at)) -lt $((fd_cs / 100 + 2)) ]; do sleep 0.5; done
monitor_quiet 2
nl_apply "$NS_HOST1" "$topo" "$dir/apply2.json"
monitor_stop
# IPv6 link-local addresses finishing duplicate address detection after the
# first apply are the kernel's own doing, not a write: they are left out.
events=$(grep -v -e 'fe80::' -e 'valid_lft' -e 'inet6 fe80' "$dir/events" | grep -c . || true)
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/apply2.json"; fail "second apply failed"; }
writes2=$(json_get "$dir/apply2.json" 'j["writes"]')
steps2=$(json_get "$dir/apply2.json" 'len(j.get("steps", []))')
note "  status $APPLY_STATUS, $writes2 netlink writes, $steps2 steps, $events kernel change events (ip monitor)"
[ "$events" -eq 0 ] || { cat "$dir/events"; fail "the kernel reported changes during the second apply"; }
ns_dump "$NS_HOST1" >"$dir/after2"
assert_same_dump "second apply" "$dir/after1" "$dir/after2"
[ "$writes2" -eq 0 ] || { show_apply "$dir/apply2.json"; fail "second apply sent $writes2 netlink writes, expected 0"; }

heading "netlabctl plan on the converged namespace"
plan_rc=0
nlctl "$NS_HOST1" plan "$topo" || plan_rc=$?
[ "$plan_rc" -eq 0 ] || fail "plan exited $plan_rc, expected 0 (converged)"

heading "apply --detailed-exitcode on the converged namespace"
detailed_rc=0
nlctl "$NS_HOST1" apply "$topo" --detailed-exitcode >"$dir/apply3.txt" 2>&1 || detailed_rc=$?
[ "$detailed_rc" -eq 0 ] || { cat "$dir/apply3.txt"; fail "apply --detailed-exitcode exited $detailed_rc on a converged namespace, expected 0"; }
note "  exit 0: $(cat "$dir/apply3.txt")"

printf '\n%-14s | %-14s | %s\n' apply "netlink writes" "kernel events"
printf '%-14s | %-14s | %s\n' first "$writes1" - second "$writes2" "$events"
note "PASS: second apply sent 0 netlink writes; plan exits 0; apply --detailed-exitcode exits 2 then 0"
