#!/usr/bin/env bash
# The control socket's per-user limits (docs/daemon.md, "The control
# socket"): netlabd runs in a namespace of its own with --status-group set to
# a throwaway group; a throwaway unprivileged member of it (the attacker)
# holds 100 connections and trickles a status request one byte every 50 ms on
# another, while root runs `status`, `reload`, `apply --confirm`, `rollback`,
# `apply --confirm` again and `confirm` — each must succeed, and each one's
# time is printed (never asserted). Also:
#   - the attacker's connections beyond its cap are refused with the
#     message naming its uid and the cap, and netlabd serves no more than the
#     cap of them; `netlabctl status` as the attacker prints the same message;
#   - a second member of the group still gets `status` meanwhile;
#   - the trickled request, once finished, gets its status reply;
#   - after the attacker exits, netlabd's fd count is back to where it was;
#   - a non-member is refused as before (socket mode; SO_PEERCRED).
# The throwaway group and users are deleted by the EXIT trap, even on failure.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
lab_require
lab_require_netlabctl
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"
for tool in setpriv useradd userdel groupadd groupdel; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then skip "no nobody/nogroup"; fi

CAP=4          # sessions per non-root uid (docs/daemon.md)
HOLD=100       # connections the attacker opens besides its trickle
GROUP=nlq$$g   # names unique to this run
ATTACKER=nlq$$a
READER=nlq$$b
NS=$LAB_ID-ctl

PIDS=()
MADE_USERS=()
MADE_GROUP=""
limits_cleanup() {
    local p u
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for u in "${MADE_USERS[@]}"; do
        userdel "$u" 2>/dev/null || userdel -f "$u" 2>/dev/null || echo "cleanup: could not delete user $u" >&2
    done
    if [ -n "$MADE_GROUP" ]; then
        groupdel "$MADE_GROUP" 2>/dev/null || echo "cleanup: could not delete group $MADE_GROUP" >&2
    fi
    lab_down
}
trap limits_cleanup EXIT

T=$(lab_tmp)
D=$T/d
SOCK=$(daemon_sock "$D")
die() {
    note "--- netlabd log"; cat "$D/netlabd.log" 2>/dev/null || true
    note "--- attacker's output"; cat "$T/attacker.log" 2>/dev/null || true
    fail "$*"
}

groupadd "$GROUP" || skip "groupadd $GROUP failed"
MADE_GROUP=$GROUP
for u in "$ATTACKER" "$READER"; do
    useradd -M -N -g "$GROUP" -d /nonexistent -s /usr/sbin/nologin "$u" || fail "useradd $u failed"
    MADE_USERS+=("$u")
done
ATTACKER_UID=$(id -u "$ATTACKER")
note "throwaway group $GROUP, members $ATTACKER (uid $ATTACKER_UID) and $READER (uid $(id -u "$READER"))"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$GROUP" --init-groups "$@"; }

# The unprivileged users must reach the socket and run the client: the path is
# traversable, and netlabctl and the attacker's script are copied into it.
chmod 755 "$T"
mkdir -p "$D/etc" "$D/run" "$T/attack"
chmod 755 "$D" "$D/run"
chown "$ATTACKER" "$T/attack"
install -m 755 "$NETLABCTL" "$T/netlabctl"
CTL=$T/netlabctl

# The attacker (run as $ATTACKER): a trickle connection, then HOLD more; waits
# until HOLD+1-CAP of them are refused (or 8 s: less than the idle timeout, so
# an admitted one cannot be taken for refused); writes ATTACK/ready; then
# trickles one byte every 50 ms and re-opens admitted connections that the
# idle timeout closes, until ATTACK/stop exists; then finishes the trickled
# request and reads its reply; writes ATTACK/result and exits.
cat >"$T/attacker.py" <<'PY'
import json, os, select, socket, sys, time
path, out, hold, cap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    return s

def write(name, obj):
    with open(os.path.join(out, name + ".tmp"), "w") as f:
        json.dump(obj, f)
    os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))

HEAD = b'{"version": 1,'
TAIL = b' "cmd": "status"}\n'
res = {"refused": 0, "refused_later": 0, "messages": [], "other_replies": [], "idle_closed": 0,
       "trickle_bytes": 0, "trickle_restarts": 0}
trickle = connect()
trickle_sent = 0
admitted = {}   # fd -> socket: open, no reply yet
dead = []       # refused: kept open on this side, as a holder would
for _ in range(hold):
    s = connect()
    admitted[s.fileno()] = s

def tick_trickle():
    global trickle, trickle_sent
    if trickle is None:
        try:
            trickle = connect()
        except OSError:
            return
    try:
        r, _, _ = select.select([trickle], [], [], 0)
        if r and trickle.recv(4096) == b"":
            raise ConnectionResetError
        trickle.send(HEAD[trickle_sent:trickle_sent + 1] if trickle_sent < len(HEAD) else b" ")
        trickle_sent += 1
        res["trickle_bytes"] += 1
    except OSError:
        # closed by the idle timeout: start again
        trickle.close()
        trickle = None
        res["trickle_restarts"] += 1
        trickle_sent = 0

def poll_admitted(timeout, later):
    if not admitted:
        time.sleep(timeout)
        return
    r, _, _ = select.select(list(admitted.values()), [], [], timeout)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        del admitted[s.fileno()]
        if not data:
            res["idle_closed"] += 1
            s.close()
            if later:
                try:
                    n = connect()
                    admitted[n.fileno()] = n
                except OSError:
                    pass
            continue
        line = data.decode(errors="replace").strip()
        try:
            err = json.loads(line).get("error", "")
        except ValueError:
            err = ""
        if "too many connections" in err:
            res["refused_later" if later else "refused"] += 1
            if err not in res["messages"]:
                res["messages"].append(err)
        else:
            res["other_replies"].append(line[:200])
        dead.append(s)

want = hold + 1 - cap
until = time.monotonic() + 8
next_byte = time.monotonic()
while res["refused"] < want and time.monotonic() < until:
    if time.monotonic() >= next_byte:
        tick_trickle()
        next_byte += 0.05
    poll_admitted(0.01, later=False)
res["admitted"] = len(admitted) + 1
write("ready", res)
while not os.path.exists(os.path.join(out, "stop")):
    tick_trickle()
    poll_admitted(0.05, later=True)
# Finish the request, still one byte per send, and read the reply.
try:
    if trickle is None:
        trickle, trickle_sent = connect(), 0
    trickle.setblocking(True)
    trickle.settimeout(20)
    for i in range(max(0, len(HEAD) - trickle_sent)):
        trickle.send(HEAD[trickle_sent + i:trickle_sent + i + 1])
    for i in range(len(TAIL)):
        trickle.send(TAIL[i:i + 1])
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = trickle.recv(65536)
        if not chunk:
            break
        reply += chunk
    res["trickle_reply_ok"] = json.loads(reply).get("ok") is True
except (OSError, ValueError) as e:
    res["trickle_reply_ok"] = False
    res["trickle_error"] = str(e)
res["admitted_at_end"] = len(admitted) + 1
write("result", res)
PY

daemon_topology >"$D/etc/topology.yaml"
# Report, not repair: an address deleted from outside stays deleted, so that
# `apply --confirm` has a change to make pending.
printf 'drift: report\n' >>"$D/etc/topology.yaml"
lab_ns_add "$NS"
rc=0
daemon_start "$NS" "$D" -- --status-group "$GROUP" || rc=$?
PIDS+=("$NETLABD_PID")
[ "$rc" = 0 ] || die "netlabd did not start"
PID=$NETLABD_PID
daemon_wait_reconciled "$D" || die "no start-up reconcile"
mode=$(stat -c '%a %U %G' "$SOCK")
[ "$mode" = "660 root $GROUP" ] || die "socket is $mode, not 660 root $GROUP"

fds() { local l; l=$(ls "/proc/$PID/fd"); wc -l <<<"$l"; }
FDS_BEFORE=$(fds)
note "netlabd pid $PID: $FDS_BEFORE fds before the attack"

heading "the attacker ($ATTACKER) holds $HOLD connections and trickles a request on another"
# Not through `as`: a function run with & is a subshell, and $! would be its
# PID, not the attacker's (setpriv execs python, so here $! is python).
setpriv --reuid="$ATTACKER" --regid="$GROUP" --init-groups \
    "$PYTHON" "$T/attacker.py" "$SOCK" "$T/attack" "$HOLD" "$CAP" >"$T/attacker.log" 2>&1 &
ATTACK_PID=$!
PIDS+=("$ATTACK_PID")
for _ in $(seq 300); do
    [ -e "$T/attack/ready" ] && break
    kill -0 "$ATTACK_PID" 2>/dev/null || die "the attacker exited early"
    sleep 0.05
done
[ -e "$T/attack/ready" ] || die "the attacker never got ready"
refused=$(json_get "$T/attack/ready" 'j["refused"]')
admitted=$(json_get "$T/attack/ready" 'j["admitted"]')
message=$(json_get "$T/attack/ready" '" | ".join(j["messages"])')
note "  refused: $refused of $((HOLD + 1)); admitted (no reply yet): $admitted"
note "  message: $message"
[ "$(json_get "$T/attack/ready" 'j["other_replies"]')" = "[]" ] \
    || die "the attacker got other replies: $(json_get "$T/attack/ready" 'j["other_replies"]')"
[ "$refused" = $((HOLD + 1 - CAP)) ] || die "refused $refused of $((HOLD + 1)), expected $((HOLD + 1 - CAP))"
[ "$message" = "too many connections from uid $ATTACKER_UID (at most $CAP at once per user); close one and try again" ] \
    || die "unexpected refusal: $message"
# One fd per session served (netlabd is idle otherwise).
for _ in $(seq 100); do
    FDS_DURING=$(fds)
    [ $((FDS_DURING - FDS_BEFORE)) = "$CAP" ] && break
    sleep 0.05
done
note "  netlabd holds $FDS_DURING fds: $((FDS_DURING - FDS_BEFORE)) sessions"
[ $((FDS_DURING - FDS_BEFORE)) = "$CAP" ] \
    || die "netlabd holds $((FDS_DURING - FDS_BEFORE)) fds more than before, not the attacker's cap of $CAP"

heading "root, while the attacker holds its cap and trickles"
TIMES=()
# timed NAME CMD...: runs CMD, fails the test when it fails, keeps its time.
timed() {
    local name=$1 t0 t1 out
    shift
    t0=$(date +%s%N)
    out=$("$@" 2>&1) || die "$name failed under the attack: $out"
    t1=$(date +%s%N)
    TIMES+=("$name $(( (t1 - t0) / 1000000 )) ms")
    out=${out//$'\n'/ }
    note "  $name: $(( (t1 - t0) / 1000000 )) ms: ${out:0:160}"
}
ctl() { local sub=$1; shift; "$CTL" "$sub" --socket "$SOCK" --timeout 60 "$@"; }
# wait_probe: until the pending change's probe has a result (confirm is
# refused while it runs).
wait_probe() {
    local _
    for _ in $(seq 300); do
        ctl status --json >"$T/st.json" || die "status failed"
        [ "$(json_get "$T/st.json" 'isinstance((j["pending"] or {}).get("probe"), dict)')" = True ] && return 0
        sleep 0.05
    done
    die "no probe result in status"
}
timed status ctl status
timed reload ctl reload
ip -n "$NS" addr del 198.51.100.1/24 dev br0
for _ in $(seq 200); do
    ctl status --json >"$T/st.json" || die "status failed"
    [ "$(json_get "$T/st.json" 'j["drift"]["drifts"] > 0')" = True ] && break
    sleep 0.05
done
[ "$(json_get "$T/st.json" 'j["drift"]["drifts"] > 0')" = True ] || die "the deleted address was not reported as drift"
timed "apply --confirm" ctl apply --confirm 60s
wait_probe
timed rollback ctl rollback
br0_addrs() { local a; a=$(ip -n "$NS" -br addr show br0); printf '%s\n' "$a"; }
grep -q 198.51.100.1/24 <<<"$(br0_addrs)" && die "the rollback left the address: $(br0_addrs)"
timed "apply --confirm (again)" ctl apply --confirm 60s
wait_probe
timed confirm ctl confirm
grep -q 198.51.100.1/24 <<<"$(br0_addrs)" || die "the confirmed change is not in place: $(br0_addrs)"
ctl status --json >"$T/st.json" || die "status failed"
[ "$(json_get "$T/st.json" 'j["pending"] is None and j["settled"]["status"] == "confirmed"')" = True ] \
    || die "status after the confirm: $(cat "$T/st.json")"

heading "other peers while the attacker holds its cap"
if out=$(as "$ATTACKER" "$CTL" status --socket "$SOCK" --timeout 10 2>&1); then
    die "the attacker got one more session: $out"
fi
note "  $ATTACKER's netlabctl status: $out"
grep -q "too many connections from uid $ATTACKER_UID (at most $CAP at once per user)" <<<"$out" \
    || die "the attacker's client did not print the refusal: $out"
out=$(as "$READER" "$CTL" status --socket "$SOCK" --timeout 10 2>&1) || die "$READER was refused: $out"
note "  $READER's netlabctl status: $(head -1 <<<"$out")"
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --socket "$SOCK" 2>&1); then
    die "nobody got status: $out"
fi
note "  nobody: $out"
grep -q "Permission denied" <<<"$out" || die "nobody was not refused by the socket mode"
chmod 666 "$SOCK"
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --socket "$SOCK" 2>&1) || rc=$?
chmod 660 "$SOCK"
[ "$rc" != 0 ] || die "nobody got status through a 0666 socket: $out"
note "  nobody through a 0666 socket: $out"
grep -q "only root" <<<"$out" || die "SO_PEERCRED did not refuse nobody"

heading "the attacker finishes its trickled request and exits"
touch "$T/attack/stop"
rc=0
wait "$ATTACK_PID" || rc=$?
[ "$rc" = 0 ] || die "the attacker failed (exit $rc)"
"$PYTHON" -c 'import json,sys; print("  " + json.dumps(json.load(open(sys.argv[1]))))' "$T/attack/result"
[ "$(json_get "$T/attack/result" 'j["trickle_reply_ok"]')" = True ] \
    || die "the trickled request got no status reply: $(cat "$T/attack/result")"
FDS_AFTER=""
for _ in $(seq 300); do
    FDS_AFTER=$(fds)
    [ "$FDS_AFTER" = "$FDS_BEFORE" ] && break
    sleep 0.05
done
note "  netlabd fds: $FDS_BEFORE before, $FDS_DURING during, $FDS_AFTER after"
[ "$FDS_AFTER" = "$FDS_BEFORE" ] || die "netlabd holds $FDS_AFTER fds, $FDS_BEFORE before the attack: $(ls -l "/proc/$PID/fd")"
logged=$(grep -c "too many connections from uid $ATTACKER_UID" "$D/netlabd.log" || true)
note "  refusals logged as warnings: $logged (the first of a flood; the rest at debug level)"

heading "timings under the attack (printed, not asserted)"
for t in "${TIMES[@]}"; do note "  $t"; done
kill -0 "$PID" || die "netlabd died"
note
note "PASS: test_control_limits"
