#!/usr/bin/env bash
# The JSON of `netlabctl plan`, `apply` and `status` (from a running netlabd)
# pinned by golden files under tests/golden/ (docs/json.md): the takeover on
# a fresh lab host, then netlabd on the converged host. Times, pids, MACs and
# the run's names are normalized (tests/golden/normalize.py).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/golden/compare.sh
. "$(dirname "$0")/../golden/compare.sh"
lab_takeover_files
lab_up
subs=("$LAB_TMP=<tmp>" "$NS_HOST1=<host1>")
bad=0

heading "plan --json (takeover on a fresh host)"
plan_steps "$NS_HOST1" "$topo" "$dir/plan.json"
[ "$PLAN_RC" -eq 2 ] || { cat "$dir/plan.json" "$dir/plan.json.err"; fail "plan exited $PLAN_RC, expected 2"; }
golden_compare plan "$dir/plan.json" "${subs[@]}" || bad=$((bad + 1))

heading "apply --json"
nl_apply "$NS_HOST1" "$topo" "$dir/apply.json"
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/apply.json"; fail "apply failed"; }
golden_compare apply "$dir/apply.json" "${subs[@]}" || bad=$((bad + 1))

heading "status --json from netlabd on the converged host"
mkdir -p "$dir/etc"
cp "$topo" "$dir/etc/topology.yaml"
netlabd_start "$NS_HOST1" "$dir/etc"
netlabd_status "$dir/status.json"
golden_compare status "$dir/status.json" "${subs[@]}" || bad=$((bad + 1))
netlabd_stop

[ "$bad" -eq 0 ] || fail "$bad golden file(s) differ"
note "PASS: plan, apply and status JSON match tests/golden/{plan,apply,status}.json"
