#!/usr/bin/env bash
# Commit-confirmed (issue 6): netlabd runs in host1 (daemon_lib.sh); the
# remote pings host1 every 10 ms through the gateway.
#   1. the topology's `commit_confirmed:` makes a file change that moves the
#      default route pending; its new gateway (198.51.100.99) answers nothing:
#      the probe fails (its grace outlasts the deadline), `netlabctl confirm`
#      is refused, the remote's pings stop, and at the deadline the change is
#      rolled back (pings resume,
#      host1's dump equals the one before); netlabd then holds;
#   2. `netlabctl apply --confirm` of a good change (the takeover), probe ok,
#      confirmed in time: it stays after its deadline has passed;
#   3. a pending change (the removal of the takeover) and `netlabctl
#      rollback`: restored at once;
#   4. a pending change survives a restart of netlabd (SIGTERM, and SIGKILL)
#      and is still rolled back at its deadline; one whose deadline passed
#      while netlabd was down is rolled back as soon as it starts.
# Also: `netlabctl apply --confirm` without a running netlabd fails clearly.
# Timings are only waited for, never asserted.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
lab_takeover_files
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"

BAD_GW=198.51.100.99   # on the LAN, answered by nobody
# The bad changes here test the deadline, so their probes' grace outlasts it
# (test_probes.sh tests the probes' own rollback).
NO_PROBE_ROLLBACK=$(printf 'commit_confirmed:\n  grace: 24h')
# Long enough for a loaded machine to restart netlabd before it (case 4).
DEADLINE_S=${CONFIRM_DEADLINE_S:-30}

DAEMONS=()
confirm_cleanup() {
    local pid
    for pid in "${DAEMONS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${DAEMONS[@]}"; do wait "$pid" 2>/dev/null || true; done
    lab_down
}
trap confirm_cleanup EXIT

D="$dir/d"
SOCK=$(daemon_sock "$D")
die() { note "--- netlabd log"; cat "$D"/netlabd*.log 2>/dev/null || true; fail "$*"; }
ctl() { local sub=$1; shift; "$NETLABCTL" "$sub" --socket "$SOCK" --timeout 60 "$@"; }
start() {
    local rc=0
    daemon_start "$NS_HOST1" "$D" || rc=$?
    DAEMONS+=("$NETLABD_PID")
    [ "$rc" = 0 ] || die "netlabd did not start"
}
# topology FILE_CONTENT: replaces topology.yaml at once (rename), as editors do.
topology() { printf '%s\n' "$1" >"$D/etc/.next.yaml"; mv "$D/etc/.next.yaml" "$D/etc/topology.yaml"; }
# takeover VIA [EXTRA]: the takeover topology with its default route via VIA.
takeover() { sed "s/via: $GW_LAN_ADDR/via: $1/" "$topo"; printf '%s\n' "${2:-}"; }
# mark: later wait_log calls look only at log lines written from now on.
MARK=0
mark() { MARK=$(wc -l <"$D/netlabd.log"); }
since_mark() { tail -n +"$((MARK + 1))" "$D/netlabd.log"; }
# wait_log REGEX: until a log line since the mark matches REGEX (150 s at most).
wait_log() {
    local _
    for _ in $(seq 3000); do
        has_line since_mark -- -E "$1" && return 0
        kill -0 "$NETLABD_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "netlabd never logged /$1/"
}
status_json() { ctl status --json >"$1" || die "status failed"; }
# wait_probe: until status shows the probe's result; prints it.
wait_probe() {
    local _
    for _ in $(seq 600); do
        status_json "$dir/st.json"
        if [ "$(json_get "$dir/st.json" 'isinstance((j["pending"] or {}).get("probe"), dict)')" = True ]; then
            json_get "$dir/st.json" 'j["pending"]["probe"]["text"]'
            return 0
        fi
        sleep 0.1
    done
    die "no probe result in status"
}
reach() { lab_reach "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null; }
# reach_within S: the remote reaches host1 within S seconds.
reach_within() {
    local _
    for _ in $(seq "$1"); do reach && return 0; done
    return 1
}
# past_deadline ISO EXTRA_S: returns once the wall clock is EXTRA_S seconds
# past the deadline ISO (as status prints it).
past_deadline() {
    local until_s
    until_s=$("$PYTHON" -c 'import sys,datetime; print(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp() + float(sys.argv[2]))' "$1" "$2")
    while "$PYTHON" -c 'import sys,time; sys.exit(0 if time.time() < float(sys.argv[1]) else 1)' "$until_s"; do
        sleep 0.5
    done
}
after_deadline_ms() { status_json "$dir/st.json"; json_get "$dir/st.json" '(j["settled"] or {}).get("after_deadline_ms")'; }

lab_up
heading "no daemon"
rc=0
out=$("$NETLABCTL" apply --confirm 5s --socket "$dir/nothing.sock" 2>&1) || rc=$?
[ "$rc" -eq 5 ] || fail "apply --confirm without netlabd: exit $rc, expected 5 (netlabd not running): $out"
grep -qF "netlabd is not running (no socket at $dir/nothing.sock)" <<<"$out" || fail "apply --confirm without netlabd: unclear error: $out"
for sub in status reload; do
    rc=0
    o=$("$NETLABCTL" "$sub" --socket "$dir/nothing.sock" 2>&1) || rc=$?
    [ "$rc" -eq 5 ] || fail "$sub without netlabd: exit $rc, expected 5: $o"
    grep -qF "netlabd is not running (no socket at $dir/nothing.sock)" <<<"$o" || fail "$sub without netlabd: unclear error: $o"
    note "  $sub: exit 5: $o"
done
note "  $out"

mkdir -p "$D/etc"
topology 'version: 1'
start
daemon_wait_reconciled "$D" || die "no start-up reconcile"
ns_dump "$NS_HOST1" >"$dir/before"

# ---- 1 ----------------------------------------------------------------------
heading "1. default route via $BAD_GW (nothing answers), commit_confirmed: ${DEADLINE_S}s from the topology"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
mark
topology "$(takeover "$BAD_GW" "$(printf 'commit_confirmed:\n  deadline: %s\n  grace: 24h' "${DEADLINE_S}s")")"
wait_log 'commit-confirmed: pending until'
probe=$(wait_probe)
note "  probe: $probe"
[ "$(json_get "$dir/st.json" 'j["pending"]["probe"]["ok"]')" = False ] || die "the probe of $BAD_GW passed"
if out=$(ctl confirm 2>&1); then die "confirm was accepted although the probe failed: $out"; fi
grep -q 'refused: the probe failed' <<<"$out" || die "confirm refused without the reason: $out"
note "  confirm: $out"
has_line ctl status -- '^PENDING' || die "status does not show the pending change"
ctl status | sed -n '/^PENDING/,/probe:/p' | sed 's/^/  status: /'
if reach; then die "the remote still reaches host1 through a default route via $BAD_GW"; fi
note "  the remote's pings stop"
wait_log 'commit-confirmed: not confirmed by .*; rolled back'
reach_within 10 || die "the remote does not reach host1 after the rollback"
pinger_stop
lost1=$PING_LOST run1=$PING_RUN tx1=$PING_TX
ms1=$(after_deadline_ms)
grep 'commit-confirmed: not confirmed' "$D/netlabd.log" | sed 's/^/  log: /'
ns_dump "$NS_HOST1" >"$dir/after1"
assert_same_dump "rollback at the deadline" "$dir/before" "$dir/after1"
has_line json_get "$dir/st.json" 'j["pending"] is None and j["settled"]["status"] == "rolled_back" and isinstance(j["held"], str)' -- -x True \
        || die "status after the rollback: $(cat "$dir/st.json")"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
sleep 2
pinger_stop
lost1b=$PING_LOST tx1b=$PING_TX
note "  pings: $lost1/$tx1 lost while pending (longest run $run1), $lost1b/$tx1b lost in 2 s after the rollback; restored ${ms1} ms after the deadline"

# ---- 2 ----------------------------------------------------------------------
heading "2. good change (the takeover), netlabctl apply --confirm ${DEADLINE_S}s, confirmed in time"
mark
topology "$(cat "$topo")"   # held after the rollback: not applied by itself
wait_log 'not applied: held'
out=$(ctl apply --confirm "${DEADLINE_S}s") || die "apply --confirm failed: $out"
note "  $out"
grep -q 'pending until' <<<"$out" || die "apply --confirm did not leave the change pending: $out"
probe=$(wait_probe)
note "  probe: $probe"
[ "$(json_get "$dir/st.json" 'j["pending"]["probe"]["ok"]')" = True ] || die "the probe of $GW_LAN_ADDR failed: $probe"
deadline=$(json_get "$dir/st.json" 'j["pending"]["deadline"]')
out=$(ctl confirm) || die "confirm failed: $out"
note "  confirm: $out"
ns_dump "$NS_HOST1" >"$dir/takeover"
# Time that must pass: until 2 s after the deadline.
past_deadline "$deadline" 2
ns_dump "$NS_HOST1" >"$dir/after2"
assert_same_dump "confirmed change after its deadline ($deadline)" "$dir/takeover" "$dir/after2"
since_mark | grep -E 'commit-confirmed: (not confirmed by|.*rollback step)' && die "the confirmed change was rolled back"
reach || die "the remote does not reach host1 through br0"
status_json "$dir/st.json"
has_line json_get "$dir/st.json" 'j["pending"] is None and j["settled"]["status"] == "confirmed" and j["held"] is None' -- -x True \
        || die "status after confirm: $(cat "$dir/st.json")"
note "  br0 stays after the deadline ($deadline) passed; the remote reaches host1"

# ---- 3 ----------------------------------------------------------------------
heading "3. pending change (the takeover removed), netlabctl rollback"
mark
topology "$(printf 'version: 1\ncommit_confirmed: 60s')"
wait_log 'commit-confirmed: pending until'
out=$(ctl rollback) || die "rollback failed: $out"
note "  rollback: $out"
ns_dump "$NS_HOST1" >"$dir/after3"
assert_same_dump "netlabctl rollback" "$dir/takeover" "$dir/after3"
reach_within 10 || die "the remote does not reach host1 after netlabctl rollback"
status_json "$dir/st.json"
has_line json_get "$dir/st.json" 'j["pending"] is None and j["settled"]["status"] == "rolled_back" and j["settled"]["trigger"] == "netlabctl rollback"' -- -x True \
        || die "status after rollback: $(cat "$dir/st.json")"
note "  restored at once (the takeover is back)"

# ---- 4 ----------------------------------------------------------------------
restart_case() {  # SIGNAL: pending change, netlabd killed with SIGNAL and started again
    local sig=$1 rc=0
    heading "4. pending change, netlabd restarted (SIG$sig) while it is pending"
    mark
    topology "$(takeover "$BAD_GW" "$NO_PROBE_ROLLBACK")"
    wait_log 'not applied: held'
    out=$(ctl apply --confirm "${DEADLINE_S}s") || die "apply --confirm failed: $out"
    wait_probe >/dev/null
    [ -s "$D/run/pending.json" ] || die "no pending file in the state directory"
    kill -"$sig" "$NETLABD_PID"
    wait "$NETLABD_PID" 2>/dev/null || rc=$?
    if [ "$sig" = TERM ] && [ "$rc" != 0 ]; then die "netlabd exited $rc on SIGTERM"; fi
    if reach; then die "the remote reaches host1 while the bad change is pending"; fi
    mark
    start
    wait_log 'is still pending .* its deadline is re-armed'
    has_line ctl status -- '^PENDING' || die "the restarted netlabd does not show the pending change"
    note "  after the restart: $(ctl status | grep '^PENDING')"
    wait_log 'commit-confirmed: not confirmed by .*; rolled back'
    since_mark | grep -E 'commit-confirmed: (a change applied|not confirmed)' | sed 's/^/  log: /'
    reach_within 10 || die "the remote does not reach host1 after the rollback"
    ns_dump "$NS_HOST1" >"$dir/after4"
    assert_same_dump "rollback after SIG$sig" "$dir/takeover" "$dir/after4"
    RESTART_MS+=("SIG$sig: $(after_deadline_ms) ms")
}
RESTART_MS=()
restart_case TERM
restart_case KILL

heading "4c. the deadline passes while netlabd is down"
mark
topology "$(takeover "$BAD_GW" "$NO_PROBE_ROLLBACK")"
wait_log 'not applied: held'
ctl apply --confirm 6s >/dev/null || die "apply --confirm failed"
[ -s "$D/run/pending.json" ] || die "no pending file in the state directory"
status_json "$dir/st.json"
dl=$(json_get "$dir/st.json" 'j["pending"]["deadline"]')
kill -9 "$NETLABD_PID"
wait "$NETLABD_PID" 2>/dev/null || true
past_deadline "$dl" 1   # time that must pass while netlabd is down
mark
start
wait_log 'is still pending .* its deadline has passed'
wait_log 'commit-confirmed: not confirmed by .*; rolled back'
reach_within 10 || die "the remote does not reach host1 after the rollback at start"
ns_dump "$NS_HOST1" >"$dir/after4c"
assert_same_dump "rollback at start" "$dir/takeover" "$dir/after4c"
RESTART_MS+=("deadline passed while down: rolled back $(after_deadline_ms) ms after it")

kill -TERM "$NETLABD_PID"
wait "$NETLABD_PID" || die "netlabd did not exit cleanly"
heading "figures"
note "  bad change: $lost1 of $tx1 pings lost while pending (longest run $run1 x 10 ms); $lost1b of $tx1b lost in 2 s after the rollback"
note "  restored after the deadline: ${ms1} ms (bad change); restarts: ${RESTART_MS[*]}"
note "PASS"
