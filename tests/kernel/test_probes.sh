#!/usr/bin/env bash
# Probes that decide a commit-confirmed change (issue 21): netlabd runs in
# host1 (daemon_lib.sh); the remote pings host1 every 10 ms through the
# gateway.
#   1. the takeover with `commit_confirmed: 60s` and its default route
#      via 198.51.100.99 (answered by nobody): the gateway probe fails for its
#      grace period (3 s) and the change is rolled back at once, long before
#      the deadline; the remote's pings stop and resume (the gap and the time
#      from the apply are printed, and must be well under the deadline);
#      host1's dump equals the one before; `status` names the failing probe;
#   2. the good takeover in automatic mode (`commit_confirmed: {mode: auto,
#      window: 3s}`): confirmed without a command once its probes passed;
#   3. a change (the takeover removed) probed by `tcp: 203.0.113.2:PORT` (a
#      listener in the remote):
#      the listener is closed after the change, and the change is rolled back
#      by the TCP probe;
#   4. case 1 again through `netlabctl apply --confirm 60s` (the files held
#      after 3's rollback).
# Timings are printed and compared only with the deadline they beat.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
lab_takeover_files
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"

BAD_GW=198.51.100.99   # on the LAN, answered by nobody
PORT=8022
DAEMONS=()
LISTENER=
probes_cleanup() {
    local pid
    [ -z "$LISTENER" ] || kill -9 "$LISTENER" 2>/dev/null || true
    for pid in "${DAEMONS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${DAEMONS[@]}"; do wait "$pid" 2>/dev/null || true; done
    lab_down
}
trap probes_cleanup EXIT

D="$dir/d"
SOCK=$(daemon_sock "$D")
die() { note "--- netlabd log"; cat "$D"/netlabd*.log 2>/dev/null || true; fail "$*"; }
ctl() { local sub=$1; shift; "$NETLABCTL" "$sub" --socket "$SOCK" --timeout 60 "$@"; }
topology() { printf '%s\n' "$1" >"$D/etc/.next.yaml"; mv "$D/etc/.next.yaml" "$D/etc/topology.yaml"; }
takeover() { sed "s/via: $GW_LAN_ADDR/via: $1/" "$topo"; printf '%s\n' "${2:-}"; }
now() { date +%s.%N; }
secs() { "$PYTHON" -c 'import sys; print("%.2f" % (float(sys.argv[1]) - float(sys.argv[2])))' "$1" "$2"; }
st() { ctl status --json >"$dir/st.json" || die "status failed"; }
# settled STATUS TRIGGER: the last pending change ended so.
settled() {
    st
    [ "$(json_get "$dir/st.json" "j['pending'] is None and (j['settled'] or {}).get('status') == '$1' and j['settled'].get('trigger') == '$2'")" = True ]
}
# wait_settled STATUS TRIGGER SECONDS: sets SETTLED_AT (epoch) when seen.
wait_settled() {
    poll_until "$3" settled "$1" "$2" || die "not $1 by $2 in $3 s; status: $(cat "$dir/st.json")"
    SETTLED_AT=$(now)
}
reach() { lab_reach "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null; }
reach_within() {
    local _
    for _ in $(seq "$1"); do reach && return 0; done
    return 1
}

lab_up
mkdir -p "$D/etc"
topology 'version: 1'
daemon_start "$NS_HOST1" "$D" || die "netlabd did not start"
DAEMONS+=("$NETLABD_PID")
daemon_wait_reconciled "$D" || die "no start-up reconcile"
ns_dump "$NS_HOST1" >"$dir/before"

# ---- 1 ----------------------------------------------------------------------
heading "1. default route via $BAD_GW (nothing answers), commit_confirmed: 60s"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
t_apply=$(now)
topology "$(takeover "$BAD_GW" "commit_confirmed: 60s")"
daemon_wait_log "$D" 'commit-confirmed: pending until' || die "the change was not applied pending"
t_applied=$(now)
wait_settled rolled_back probe 50
ctl status >"$dir/status1.txt" || die "status failed"
reach_within 10 || die "the remote does not reach host1 after the rollback"
pinger_stop
gap1=$PING_GAP_MS
resume1=$(secs "$PING_GAP_TO" "$t_apply")
rolled1=$(secs "$SETTLED_AT" "$t_apply")
note "  pings: $PING_LOST of $PING_TX lost; longest gap between answered pings ${gap1} ms, from $(secs "$PING_GAP_FROM" "$t_apply") s to ${resume1} s after the apply began"
note "  the file written, netlabd logged the change pending $(secs "$t_applied" "$t_apply") s later; status showed it rolled back ${rolled1} s after the apply began"
failed=$(json_get "$dir/st.json" 'j["settled"]["probe"]["failed"]')
[ "$failed" = "gateway $BAD_GW on br0" ] || die "the failing probe is not named: '$failed'; $(cat "$dir/st.json")"
grep -F "gateway $BAD_GW on br0 failed" "$dir/status1.txt" >/dev/null || { cat "$dir/status1.txt"; die "status does not name the failing probe"; }
sed -n '/^commit-confirmed/,$p' "$dir/status1.txt" | sed -n '1,4p' | sed 's/^/  status: /'
grep 'commit-confirmed: .*probe' "$D/netlabd.log" | sed 's/^/  log: /'
ns_dump "$NS_HOST1" >"$dir/after1"
assert_same_dump "rollback by the probe" "$dir/before" "$dir/after1"
ctl history --json >"$dir/hist1.json" || die "history failed"
settled1=$(json_get "$dir/hist1.json" '" ".join(str(j["revisions"][-1].get(k)) for k in ("pending", "settled", "settled_by"))')
note "  history: the change's revision: pending, settled, settled_by = $settled1"
[ "$settled1" = "True rolled_back probe" ] || die "history does not say the change was rolled back by the probe: $(cat "$dir/hist1.json")"
rev1=$(json_get "$dir/hist1.json" 'j["revisions"][-1]["revision"]')
if out=$(ctl rollback --to "$rev1" 2>&1); then die "rollback --to $rev1, a change the probe rolled back, was accepted: $out"; fi
[[ $out == *"applied pending, then rolled_back"* ]] || die "rollback --to $rev1 was refused for another reason: $out"
note "  rollback --to $rev1: refused: ${out##*: revision}"
# Well under the deadline: a rollback at the deadline would show a gap of ~60 s.
[ "$gap1" -lt 30000 ] || die "the pings stopped for $gap1 ms: the probe did not roll back before the deadline"

# ---- 2 ----------------------------------------------------------------------
heading "2. the good takeover, mode auto with a 3 s window: confirmed without a command"
topology "$(takeover "$GW_LAN_ADDR" "$(printf 'commit_confirmed:\n  mode: auto\n  window: 3s')")"
daemon_wait_log "$D" 'not applied: held' || die "the file change was applied while held"
t_apply=$(now)
out=$(ctl apply --confirm 60s) || die "apply --confirm failed: $out"
grep -q 'pending until' <<<"$out" || die "apply --confirm did not leave the change pending: $out"
wait_settled confirmed "probes passed" 50
note "  confirmed $(secs "$SETTLED_AT" "$t_apply") s after the apply began, without netlabctl confirm"
json_get "$dir/st.json" '"; ".join("%s: %d passed, %d failed" % (c["name"], c["passes"], c["failures"]) for c in j["settled"]["probe"]["checks"])' | sed 's/^/  probes: /'
has_line ip -n "$NS_HOST1" route show default -- "via $GW_LAN_ADDR dev br0" || die "the takeover's default route is gone"
reach || die "the remote does not reach host1 through br0"
ns_dump "$NS_HOST1" >"$dir/takeover"

# ---- 3 ----------------------------------------------------------------------
heading "3. a change probed by tcp 203.0.113.2:$PORT; the port is closed after the change"
ip netns exec "$NS_REMOTE" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
while True:
    c, _ = s.accept(); c.close()' "$REMOTE_ADDR" "$PORT" &
LISTENER=$!
LAB_PIDS+=("$LISTENER")
poll_until 30 has_line ip netns exec "$NS_REMOTE" ss -ltn -- ":$PORT" || die "the remote's listener did not start"
topology "$(printf 'version: 1\ncommit_confirmed:\n  deadline: 60s\n  window: 1h\nprobes:\n  - tcp: %s:%s\n' "$REMOTE_ADDR" "$PORT")"
tcp_passed() {
    st
    [ "$(json_get "$dir/st.json" 'any(c["name"].startswith("tcp ") and c["ok"] for c in (((j["pending"] or {}).get("probe") or {}).get("checks") or []))')" = True ]
}
poll_until 30 tcp_passed || die "the TCP probe never passed: $(cat "$dir/st.json")"
note "  TCP probe passing: $(json_get "$dir/st.json" '[c["text"] for c in j["pending"]["probe"]["checks"] if c["name"].startswith("tcp ")][0]')"
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null || true
lab_forget_pid "$LISTENER"
LISTENER=
t_closed=$(now)
wait_settled rolled_back probe 50
note "  rolled back $(secs "$SETTLED_AT" "$t_closed") s after the port was closed"
failed=$(json_get "$dir/st.json" 'j["settled"]["probe"]["failed"]')
[ "$failed" = "tcp $REMOTE_ADDR:$PORT" ] || die "the failing probe is not the TCP one: '$failed'"
note "  $(json_get "$dir/st.json" '[c["name"] + ": " + c["text"] for c in j["settled"]["probe"]["checks"] if c["name"].startswith("tcp ")][0]')"
ns_dump "$NS_HOST1" >"$dir/after3"
assert_same_dump "rollback by the TCP probe" "$dir/takeover" "$dir/after3"

# ---- 4 ----------------------------------------------------------------------
heading "4. the bad gateway again, held files applied by netlabctl apply --confirm 60s"
topology "$(takeover "$BAD_GW")"
daemon_wait_log "$D" 'not applied: held' || die "the file change was applied while held"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
t_apply=$(now)
out=$(ctl apply --confirm 60s) || die "apply --confirm failed: $out"
grep -q 'pending until' <<<"$out" || die "apply --confirm did not leave the change pending: $out"
wait_settled rolled_back probe 50
reach_within 10 || die "the remote does not reach host1 after the rollback"
pinger_stop
gap4=$PING_GAP_MS
resume4=$(secs "$PING_GAP_TO" "$t_apply")
rolled4=$(secs "$SETTLED_AT" "$t_apply")
note "  pings: $PING_LOST of $PING_TX lost; longest gap ${gap4} ms; resumed ${resume4} s after apply --confirm began; status rolled back at ${rolled4} s"
ns_dump "$NS_HOST1" >"$dir/after4"
assert_same_dump "rollback by the probe after apply --confirm" "$dir/takeover" "$dir/after4"
[ "$gap4" -lt 30000 ] || die "the pings stopped for $gap4 ms: the probe did not roll back before the deadline"

kill -TERM "$NETLABD_PID"
wait "$NETLABD_PID" || die "netlabd did not exit cleanly"
heading "figures"
note "  bad gateway, commit_confirmed: 60s, grace 3s: longest gap in the remote's pings ${gap1} ms; pings resumed ${resume1} s after the file was written; status rolled back at ${rolled1} s"
note "  bad gateway, apply --confirm 60s, grace 3s: longest gap in the remote's pings ${gap4} ms; pings resumed ${resume4} s after the apply began; status rolled back at ${rolled4} s"
note "PASS"
