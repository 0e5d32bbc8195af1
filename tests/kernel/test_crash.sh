#!/usr/bin/env bash
# Crash recovery: netlabd runs in host1 with the takeover topology and is
# killed with SIGKILL during step k of its start-up apply, for every k = 1..K
# (K from `netlabctl plan --json`). "During step k": netlabd stops itself
# right after sending step k (NETLAB_STOP_AFTER_STEP=k, a test-build hook),
# the test sees it stopped and kills it there, and its log's last "step k/K"
# line confirms where. Then netlabd is started again and stops itself before
# the first step of its reconcile (NETLAB_STOP_BEFORE_STEP=1): host1's full
# dump (links, addresses, routes v4+v6) must then equal the one before the
# first start, with nothing of the new reconcile sent (no "step 1" line
# yet); it goes on (SIGCONT), `netlabctl status` (and --json) must show the
# recovery, and the daemon must converge to the topology (the remote reaches
# host1 through br0).
# Also: SIGKILL during the recovery itself (after its rollback step 2,
# NETLAB_STOP_AFTER_ROLLBACK_STEP), then a third start still restores; a
# truncated and a corrupt journal give a clear error in the log and in
# status, nothing is written, netlabd stays up and holds until `netlabctl
# reload`, which then converges.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
lab_takeover_files
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"

# netlabd stops itself (SIGSTOP) where the test acts: after step k of the
# apply that is killed, before the first step of the restarted daemon's
# reconcile (its dump is taken there). No window has to be hit in time, so a
# busy machine cannot make the kill land in another step.

DAEMONS=()
crash_cleanup() {
    local pid
    for pid in "${DAEMONS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${DAEMONS[@]}"; do wait "$pid" 2>/dev/null || true; done
    lab_down
}
trap crash_cleanup EXIT

# show_logs D: every netlabd log of the run D, for failure reports.
show_logs() {
    local log
    for log in "$1"/netlabd*.log; do note "--- $log"; cat "$log"; done
}
die() { show_logs "$1"; fail "$2"; }

# start D [VAR=VALUE...]: netlabd in host1 for the run directory D.
start() {
    local d=$1 rc=0
    shift
    daemon_start "$NS_HOST1" "$d" "$@" || rc=$?
    DAEMONS+=("$NETLABD_PID")
    [ "$rc" = 0 ] || die "$d" "netlabd did not start ($*)"
}

# start_stopping D WHAT VAR=VALUE...: netlabd in host1 with a NETLAB_STOP_*
# variable; returns once it has stopped itself there (WHAT names the point).
start_stopping() {
    local d=$1 what=$2
    shift 2
    daemon_spawn "$NS_HOST1" "$d" "$@"
    DAEMONS+=("$NETLABD_PID")
    wait_stopped "$NETLABD_PID" || die "$d" "netlabd never stopped $what ($*)"
}

# kill9 D: SIGKILL the running netlabd and keep its log as netlabd.N.log, so
# the next start writes a fresh one.
kill9() {
    kill -9 "$NETLABD_PID"
    wait "$NETLABD_PID" 2>/dev/null || true
    local n=1
    while [ -e "$1/netlabd.$n.log" ]; do n=$((n + 1)); done
    mv "$1/netlabd.log" "$1/netlabd.$n.log"
    KILLED_LOG="$1/netlabd.$n.log"
}

# stop D: SIGTERM, and netlabd must exit 0.
stop() {
    local rc=0
    kill -TERM "$NETLABD_PID"
    wait "$NETLABD_PID" || rc=$?
    [ "$rc" = 0 ] || die "$1" "netlabd exited $rc on SIGTERM"
}

# new_run NAME: a fresh lab and a run directory with the takeover topology;
# sets D and takes host1's dump into D/before.
new_run() {
    lab_destroy
    lab_up
    D="$dir/$1"
    mkdir -p "$D/etc"
    cp "$topo" "$D/etc/topology.yaml"
    ns_dump "$NS_HOST1" >"$D/before"
}

# last_step LOG: the number of the last forward step logged by reconcile #1.
last_step() {
    grep -oE 'reconcile #1 \(start\): step [0-9]+/' "$1" | tail -n 1 | grep -oE '[0-9]+/$' | tr -d / || true
}

# changed_lines A B: how many dump lines differ between A and B.
changed_lines() { diff "$1" "$2" | grep -cE '^[<>]' || true; }

# restart_and_check D: the start after a crash. netlabd stops itself before
# the first step of its reconcile: by then its recovery is done, host1 must
# equal D/before, and nothing of the new reconcile has been sent; then it
# goes on (SIGCONT). Sets RESTORED, SHOWN (status and
# status --json show the recovery) and CONVERGED; prints what differs.
restart_and_check() {
    local d=$1
    start_stopping "$d" "before the first step of its reconcile after the recovery" NETLAB_STOP_BEFORE_STEP=1
    grep -qE 'recovery: (an interrupted transaction was found|FAILED)' "$d/netlabd.log" \
        || die "$d" "the restarted netlabd logged no recovery outcome before its reconcile"
    ns_dump "$NS_HOST1" >"$d/recovered"
    grep -q 'reconcile #1 (start): step 1/' "$d/netlabd.log" \
        && die "$d" "the new reconcile reported its first step before it stopped"
    kill -CONT "$NETLABD_PID"
    RESTORED=yes
    diff -u --label before --label "at recovery" "$d/before" "$d/recovered" || RESTORED=no
    grep 'recovery: ' "$d/netlabd.log" | sed 's/^/  log: /'

    SHOWN=yes
    daemon_status "$d" >"$d/status.txt" || SHOWN=no
    daemon_status "$d" --json >"$d/status.json" || SHOWN=no
    grep -q '^crash recovery' "$d/status.txt" || SHOWN=no
    grep -qE '^  outcome: +rolled_back' "$d/status.txt" || SHOWN=no
    has_line json_get "$d/status.json" \
        'j["recovery"]["status"] == "rolled_back" and j["recovery"]["trigger"] == "start" and "rolled back" in j["recovery"]["error"] and j["held"] is None' \
        -- -x True || SHOWN=no
    sed -n '/^crash recovery/,/^[a-z]/p' "$d/status.txt" | sed 's/^/  status: /'

    CONVERGED=yes
    daemon_wait_log "$d" 'reconcile #1 \(start\): (applied|converged|rejected|rolled back|FAILED)' \
        || die "$d" "the restarted netlabd never finished its reconcile"
    grep -q 'reconcile #1 (start): applied' "$d/netlabd.log" || CONVERGED=no
    has_line ip -n "$NS_HOST1" -4 addr show dev br0 2>/dev/null -- "inet $HOST1_ADDR/$LAN_PREFIX" || CONVERGED=no
    has_line ip -n "$NS_HOST1" route show default -- "via $GW_LAN_ADDR dev br0" || CONVERGED=no
    lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null || CONVERGED=no
    stop "$d"
}

lab_up
note "netlabd stops itself after step k (NETLAB_STOP_AFTER_STEP) and is killed there; after the restart it stops before its first step (NETLAB_STOP_BEFORE_STEP=1)"
plan_table "$NS_HOST1" "$topo" "$dir/plan.json" "takeover plan"
[ "$K" -gt 1 ] || fail "plan: expected several steps, got $K"

rows=()
bad=0
for k in $(seq 1 "$K"); do
    heading "k=$k: SIGKILL during step $k/$K"
    new_run "k$k"
    start_stopping "$D" "after step $k/$K" NETLAB_STOP_AFTER_STEP="$k"
    kill9 "$D"
    at=$(last_step "$KILLED_LOG")
    journal=no
    [ -s "$D/run/journal.json" ] && journal=yes
    if [ "$k" = "$K" ] && [ "$journal" = yes ]; then cp "$D/run/journal.json" "$dir/journal.sample"; fi
    ns_dump "$NS_HOST1" >"$D/crashed"
    changed=$(changed_lines "$D/before" "$D/crashed")
    note "  killed during step ${at:-?}; journal left: $journal; $changed dump lines differ from before"
    restart_and_check "$D"
    { [ "$at" = "$k" ] && [ "$journal" = yes ] && [ "$RESTORED" = yes ] && [ "$SHOWN" = yes ] \
        && [ "$CONVERGED" = yes ]; } || { bad=$((bad + 1)); show_logs "$D"; }
    rows+=("$(printf '%2d | %-72s | %-6s | %-7s | %-7s | %-8s | %-6s | %s' \
        "$k" "$(step_text "$dir/plan.json" "$k")" "${at:-?}" "$journal" "$changed" "$RESTORED" "$SHOWN" \
        "$CONVERGED")")
done

heading "SIGKILL during the recovery itself, then a third start"
new_run second
start_stopping "$D" "after step $K/$K" NETLAB_STOP_AFTER_STEP="$K"
kill9 "$D"
ns_dump "$NS_HOST1" >"$D/crashed"
note "  1st start killed during step $(last_step "$KILLED_LOG")/$K; $(changed_lines "$D/before" "$D/crashed") dump lines differ"
start_stopping "$D" "after step 2 of its recovery" NETLAB_STOP_AFTER_ROLLBACK_STEP=2
kill9 "$D"
grep 'recovery: rollback step' "$KILLED_LOG" | sed 's/^/  log: /'
grep -q 'recovery: an interrupted transaction was found' "$KILLED_LOG" \
    && die "$D" "the recovery finished before the kill; nothing was tested"
ns_dump "$NS_HOST1" >"$D/crashed2"
second_journal=no
[ -s "$D/run/journal.json" ] && second_journal=yes
note "  2nd start killed during recovery step 2; journal left: $second_journal; $(changed_lines "$D/before" "$D/crashed2") dump lines differ"
restart_and_check "$D"
second_ok=no
[ "$second_journal" = yes ] && [ "$RESTORED" = yes ] && [ "$SHOWN" = yes ] && [ "$CONVERGED" = yes ] && second_ok=yes
note "  3rd start: restored $RESTORED, status shows it $SHOWN, converged $CONVERGED"
[ "$second_ok" = yes ] || show_logs "$D"

[ -s "$dir/journal.sample" ] || fail "no journal was kept from the k=$K run"
corrupt_rows=()
corrupt_bad=0
for variant in truncated corrupt; do
    heading "a $variant journal"
    new_run "$variant"
    mkdir -p "$D/run"
    if [ "$variant" = truncated ]; then
        head -c $(($(stat -c %s "$dir/journal.sample") / 2)) "$dir/journal.sample" >"$D/run/journal.json"
    else
        # Valid JSON, wrong content: a snapshot that is not one.
        "$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); j["snapshot"]={"": {"links": 7}}; print(json.dumps(j))' \
            "$dir/journal.sample" >"$D/run/journal.json"
    fi
    start "$D"
    daemon_wait_log "$D" 'recovery: FAILED' || die "$D" "no 'recovery: FAILED' line for a $variant journal"
    # Idle: the start-up reconcile was held, not queued behind anything.
    for _ in $(seq 600); do
        daemon_status "$D" --json >"$D/status.json" 2>/dev/null \
            && has_line json_get "$D/status.json" 'not j["daemon"]["busy"] and j["daemon"]["queued"] == 0' -- -x True && break
        sleep 0.1
    done
    ns_dump "$NS_HOST1" >"$D/after"
    daemon_status "$D" >"$D/status.txt"
    grep -E 'recovery: ' "$D/netlabd.log" | sed 's/^/  log: /'
    sed -n '/^crash recovery/,$p' "$D/status.txt" | sed 's/^/  status: /'
    same=yes clear=yes held=yes aside=yes once=yes
    diff -u --label before --label after "$D/before" "$D/after" || same=no
    grep -q 'recovery: FAILED: the journal of an interrupted transaction is unreadable' "$D/netlabd.log" || clear=no
    has_line json_get "$D/status.json" \
        'j["recovery"]["status"] == "failed" and "unreadable" in j["recovery"]["error"] and j["recovery"]["writes"] == 0' \
        -- -x True || clear=no
    grep -q '^HELD' "$D/status.txt" || held=no
    has_line json_get "$D/status.json" 'isinstance(j["held"], str) and j["last"] is None and j["daemon"]["reconciles"] == 0' -- -x True \
        || held=no
    { [ ! -e "$D/run/journal.json" ] && [ -s "$D/run/journal.json.unreadable" ]; } || aside=no
    [ "$(grep -c 'recovery: FAILED:' "$D/netlabd.log")" = 1 ] || once=no
    kill -0 "$NETLABD_PID" 2>/dev/null || once=no
    reload=no
    if daemon_status "$D" >/dev/null && "$NETLABCTL" reload --socket "$(daemon_sock "$D")" >"$D/reload.txt" 2>&1 \
        && has_line ip -n "$NS_HOST1" route show default -- "via $GW_LAN_ADDR dev br0" \
        && lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null; then
        reload=yes
    fi
    sed 's/^/  reload: /' "$D/reload.txt"
    stop "$D"
    if [ "$same" = yes ] && [ "$clear" = yes ] && [ "$held" = yes ] && [ "$aside" = yes ] && [ "$once" = yes ] \
        && [ "$reload" = yes ]; then :; else corrupt_bad=$((corrupt_bad + 1)); show_logs "$D"; fi
    corrupt_rows+=("$(printf '%-9s | %-15s | %-23s | %-18s | %-14s | %-14s | %s' \
        "$variant" "$same" "$clear" "$held" "$aside" "$once" "$reload")")
done

heading "crash table: SIGKILL during step k of $K, then a restart"
printf '%2s | %-72s | %-6s | %-7s | %-7s | %-8s | %-6s | %s\n' \
    k "step killed during" "killed" journal changed restored status converged
printf '%s\n' "${rows[@]}"
note "(killed: the last step netlabd logged; changed: dump lines the crash left different from before;"
note " restored: host1 equals its pre-apply dump when the restarted netlabd logs 'recovery:', before its"
note " reconcile sends anything; status: netlabctl status and --json show the recovery)"
note "SIGKILL during the recovery (step 2), third start restores: $second_ok"
heading "unreadable journals"
printf '%-9s | %-15s | %-23s | %-18s | %-14s | %-14s | %s\n' \
    journal "nothing written" "clear error log+status" "held until reload" "moved aside" "one attempt" "reload converges"
printf '%s\n' "${corrupt_rows[@]}"

[ "$bad" -eq 0 ] || fail "$bad of $K crashes were not recovered exactly (see above)"
[ "$second_ok" = yes ] || fail "a crash during the recovery was not recovered by the next start"
[ "$corrupt_bad" -eq 0 ] || fail "$corrupt_bad unreadable journal case(s) misbehaved"
note "PASS: a SIGKILL during every step k=1..$K was restored exactly before the next reconcile; so was a crash during the recovery; unreadable journals changed nothing"
