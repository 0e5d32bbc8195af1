#!/usr/bin/env bash
# netlabd's control socket, with netlabd running in a namespace of its own and
# every path in a temporary directory:
#   - `netlabctl status` answers and shows what was applied;
#   - a non-root peer is refused (by the socket's mode, and by SO_PEERCRED when
#     the mode would let it in); --status-group allows read-only status;
#   - 1 MB of garbage, malformed lines and half-written requests neither crash
#     nor block the daemon: status still answers meanwhile;
#   - SIGTERM ends it cleanly and leaves the network as it is.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for tool in ip setpriv python3; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || skip "no nobody/nogroup"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
[ -x "$NETLABD" ] && [ -x "$NETLABCTL" ] || skip "netlabd/netlabctl not built in $NETLAB_BIN"

NS=nl$$-ctl
NS2=nl$$-ctl2
T=$(mktemp -d /tmp/netlab-ctl.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$NS2" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for log in "$T"/*/netlabd.log; do echo "--- $log"; cat "$log"; done
    exit 1
}
step() { echo; echo "== $*"; }

# A non-root peer must reach the socket's own permission check: the path is
# traversable, and netlabctl is copied where nobody can run it.
chmod 755 "$T"
install -m 755 "$NETLABCTL" "$T/netlabctl"
CTL=$T/netlabctl

write_topology() {  # DIR
    mkdir -p "$1/etc" "$1/run"
    chmod 755 "$1" "$1/run"
    daemon_topology > "$1/etc/topology.yaml"
}

start_daemon() {  # NS DIR [extra args]
    local ns=$1 dir=$2 rc=0
    shift 2
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    daemon_start "$ns" "$dir" -- "$@" || rc=$?
    PIDS+=("$NETLABD_PID")
    [ "$rc" = 0 ] || fail "netlabd in $ns exited at start or never answered"
    # The socket answers at once; the start-up reconcile ends a little later.
    daemon_wait_reconciled "$dir" || fail "netlabd in $ns never finished its start-up reconcile"
}

D=$T/a
write_topology "$D"
SOCK=$D/run/netlabd.sock
start_daemon "$NS" "$D"
PID=${PIDS[0]}

step "status as root"
"$CTL" status --socket "$SOCK" | tee "$T/status.txt"
grep -q "outcome:   applied" "$T/status.txt" || fail "status does not show the applied start-up reconcile"
"$CTL" status --socket "$SOCK" --json > "$T/status.json"
python3 - "$T/status.json" <<'PY' || fail "status --json lacks what it should say"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ok"] and s["version"] == 1, s
assert s["last"]["status"] == "applied", s["last"]
assert s["in_force"]["files"][0].endswith("topology.yaml"), s["in_force"]
assert s["owned"]["links"] == 1 and s["owned"]["routes"] == 1, s["owned"]
print("status --json: last", s["last"]["status"], "owned", s["owned"])
PY
has_line ip -n "$NS" -br addr show br0 -- 198.51.100.1/24 || fail "br0 lacks its address"
mode=$(stat -c '%a %U' "$SOCK")
echo "socket: $mode"
[ "$mode" = "600 root" ] || fail "socket mode is not 0600 root"

step "a non-root peer is refused"
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --socket "$SOCK" 2>&1); then
    fail "nobody got status: $out"
fi
echo "nobody: $out"
grep -q "Permission denied" <<<"$out" || fail "nobody was not refused by the socket mode"
# Even if the mode let it in, SO_PEERCRED refuses it.
chmod 666 "$SOCK"
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --socket "$SOCK" 2>&1); then
    fail "nobody got status through a 0666 socket: $out"
fi
chmod 600 "$SOCK"
echo "nobody through a 0666 socket: $out"
grep -q "only root" <<<"$out" || fail "SO_PEERCRED did not refuse nobody"

step "--status-group: read-only status for one group, nothing else"
D2=$T/b
write_topology "$D2"
sed -i 's/198.51.100.1/198.51.100.2/' "$D2/etc/topology.yaml"
start_daemon "$NS2" "$D2" --status-group nogroup
mode=$(stat -c '%a %U %G' "$D2/run/netlabd.sock")
echo "socket: $mode"
[ "$mode" = "660 root nogroup" ] || fail "socket is not 0660 root:nogroup"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --socket "$D2/run/netlabd.sock" \
    | sed -n 1,2p || fail "nogroup may not read status"
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" reload --socket "$D2/run/netlabd.sock" 2>&1); then
    fail "nogroup could reload: $out"
fi
echo "nogroup reload: $out"
grep -q "root only" <<<"$out" || fail "reload by nogroup not refused as root-only"

step "1 MB of garbage, without and with newlines"
# raw.py: send stdin as is (the daemon may hang up half-way: its error reply
# is already waiting), then print what came back until it closes.
cat > "$T/raw.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
try:
    s.sendall(sys.stdin.buffer.read())
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass
out = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
PY
raw() { python3 "$T/raw.py" "$SOCK"; }
reply=$(head -c 1000000 /dev/zero | tr '\0' 'x' | raw)
echo "1 MB without newline -> $reply"
grep -q '"ok":false' <<<"$reply" || fail "no error reply to an oversized request"
grep -q 'longer than 65536' <<<"$reply" || fail "oversized request not named as such"
reply=$(head -c 1000000 /dev/urandom | raw)
echo "1 MB of random bytes -> $reply"
grep -q '"ok":false' <<<"$reply" || fail "no error reply to random bytes"
for bad in 'not json' '[1,2,3]' '{"cmd":"status"}' '{"version":2,"cmd":"status"}' '{"version":1}' '{"version":1,"cmd":7}'; do
    reply=$(printf '%s\n' "$bad" | raw)
    echo "$bad -> $reply"
    grep -q '"ok":false' <<<"$reply" || fail "no error reply to: $bad"
done
reply=$(printf '{"version":1,"cmd":"frobnicate"}\n{"version":1,"cmd":"status"}\n' | raw)
sed -n 1p <<<"$reply"
[ "$(echo "$reply" | wc -l)" = 2 ] || fail "an unknown command closed the connection"
kill -0 "$PID" || fail "netlabd died on garbage"

step "half-written requests do not block the loop"
# Eight clients each send half a request and then wait for a reply that must
# never come; the daemon closes them at its idle timeout.
python3 - "$SOCK" "$CTL" <<'PY' || fail "half-written requests blocked the daemon"
import socket, subprocess, sys
path, ctl = sys.argv[1], sys.argv[2]
held = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"version":1,"cmd":"sta')
    held.append(s)
r = subprocess.run([ctl, "status", "--socket", path, "--timeout", "5"], capture_output=True, text=True)
print("status while 8 clients hang half-way: rc", r.returncode, r.stdout.splitlines()[:1])
assert r.returncode == 0, r.stderr
for s in held:
    s.settimeout(60)
    assert s.recv(100) == b"", "a half-written request got an answer"
print("the daemon closed all 8 half-written connections")
PY
kill -0 "$PID" || fail "netlabd died"
"$CTL" status --socket "$SOCK" --timeout 5 >/dev/null || fail "status no longer answers"

step "SIGHUP reloads"
n=$("$CTL" status --socket "$SOCK" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["reconciles"])')
kill -HUP "$PID"
for _ in $(seq 600); do
    grep -q "reconcile #$((n + 1)) (SIGHUP): converged" "$D/netlabd.log" && break
    sleep 0.1
done
grep "SIGHUP" "$D/netlabd.log" || true
grep -q "reconcile #$((n + 1)) (SIGHUP): converged" "$D/netlabd.log" || fail "SIGHUP gave no (converged) reconcile"

step "SIGTERM: clean exit, network left as it is"
before=$(ip -n "$NS" addr show br0; ip -n "$NS" route)
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
[ "$rc" = 0 ] || fail "netlabd exited with $rc on SIGTERM"
after=$(ip -n "$NS" addr show br0; ip -n "$NS" route)
[ "$before" = "$after" ] || fail "the network changed at exit"
[ ! -e "$SOCK" ] || fail "the socket file was left behind"
echo "exit 0; br0, its address and the route are still there"

echo; echo "--- netlabd log"; cat "$D/netlabd.log"
echo; echo "PASS: test_daemon_control"
