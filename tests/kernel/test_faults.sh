#!/usr/bin/env bash
# Fault injected at every step k = 1..K of the takeover plan
# (NETLAB_FAIL_AT_STEP=k): apply must fail with status rolled_back, host1's
# full dump (links, addresses, routes v4+v6) must equal the dump before the
# apply, and the remote must reach host1 again. Each k runs on a fresh lab.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files

lab_up
plan_table "$NS_HOST1" "$topo" "$dir/plan.json" "takeover plan"

rows=()
bad=0
for k in $(seq 1 "$K"); do
    heading "k=$k: NETLAB_FAIL_AT_STEP=$k"
    if [ "$k" -gt 1 ]; then lab_destroy; lab_up; fi
    ns_dump "$NS_HOST1" >"$dir/before.$k"
    pinger_start "$NS_REMOTE" "$HOST1_ADDR"
    nl_apply "$NS_HOST1" "$topo" "$dir/apply.$k.json" NETLAB_FAIL_AT_STEP="$k"
    pinger_stop
    ns_dump "$NS_HOST1" >"$dir/after.$k"
    failed=$(json_get "$dir/apply.$k.json" 'j.get("failed_step")' 2>/dev/null || echo "?")
    note "  apply exit $APPLY_RC, status $APPLY_STATUS, failed_step $failed"
    note "  error: $(json_get "$dir/apply.$k.json" 'j.get("error")' 2>/dev/null || echo "?")"
    note "  pinger during apply+rollback: $PING_LINE"

    ok=yes restored=yes reach=yes
    if [ "$APPLY_RC" -ne 3 ] || [ "$APPLY_STATUS" != rolled_back ]; then
        ok=no; show_apply "$dir/apply.$k.json"
        note "  expected exit 3 (rolled back) and status rolled_back"
    fi
    if ! diff -u --label before --label after "$dir/before.$k" "$dir/after.$k"; then
        ok=no restored=no
    fi
    lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null || { ok=no reach=no; }
    [ "$ok" = yes ] || bad=$((bad + 1))
    rows+=("$(printf '%2d | %-72s | %-4s | %-11s | %-8s | %-13s | %s' \
        "$k" "$(step_text "$dir/plan.json" "$k")" "$APPLY_RC" "$APPLY_STATUS" \
        "$restored" "$reach" "$PING_LOST/$PING_TX")")
done

heading "fault injection: $K steps"
printf '%2s | %-72s | %-4s | %-11s | %-8s | %-13s | %s\n' \
    k "failing step" exit status restored "remote pings" "lost/sent during apply+rollback"
printf '%s\n' "${rows[@]}"
[ "$bad" -eq 0 ] || fail "$bad of $K injected faults were not rolled back to the exact previous state"
note "PASS: every injected fault (k=1..$K) was rolled back to the exact previous state"
