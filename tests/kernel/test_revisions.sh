#!/usr/bin/env bash
# netlabd's revisions (docs/daemon.md, "Revisions"), with netlabd in a
# namespace of its own and every path in a temporary directory:
#   - three changes by three routes (a file edit, SIGHUP, the control socket)
#     are listed by `netlabctl history` with their origins;
#   - `netlabctl diff 1 3` shows the topology diff and the plans between;
#   - `netlabctl rollback --to 1` puts revision 1 back: the kernel dump equals
#     the one taken at revision 1, topology.yaml is revision 1's, and the file
#     it replaced is kept; a topology.yaml linked elsewhere stays a link, its
#     target written with its mode kept; a revision not kept is refused,
#     nothing changed;
#   - the revisions survive SIGKILL of netlabd and its restart;
#   - 60 more changes keep the last 50; --revisions 5 keeps 5.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for tool in ip python3; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
[ -x "$NETLABD" ] && [ -x "$NETLABCTL" ] || skip "netlabd/netlabctl not built in $NETLAB_BIN"
LABTOOL="$(dirname "$0")/labtool.py"

NS=nl$$-revs
T=$(mktemp -d /tmp/netlab-revs.XXXXXX)
D=$T/d
SOCK=$D/run/netlabd.sock
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    echo "--- netlabd.log (last 60 lines)"
    tail -n 60 "$D/netlabd.log" 2>/dev/null || true
    exit 1
}
step() { echo; echo "== $*"; }
ctl() { "$NETLABCTL" "$@" --socket "$SOCK" --timeout 60; }
dump() { python3 "$LABTOOL" dump "$NS"; }
# revisions: how many `history` lists.
revisions() { ctl history --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["revisions"]))'; }
has_revisions() { [ "$(revisions 2>/dev/null)" = "$1" ]; }
# write_topology METRIC [ADDRESS]: the daemon tests' bridge and route, the
# route's metric METRIC, and a second address when given; renamed into place.
write_topology() {  # METRIC [ADDRESS]
    daemon_topology "$1" > "$D/etc/topology.yaml.new"
    if [ -n "${2:-}" ]; then
        sed -i "s|addresses: \[198.51.100.1/24\]|addresses: [198.51.100.1/24, $2]|" "$D/etc/topology.yaml.new"
    fi
    mv "$D/etc/topology.yaml.new" "$D/etc/topology.yaml"
}

start() {  # [NETLABD_ARGS...]
    local rc=0
    # A long debounce: a SIGHUP or a reload sent right after an edit is
    # what applies it (the watch's own reconcile then finds nothing to do).
    daemon_start "$NS" "$D" -- --debounce 1500 "$@" || rc=$?
    PIDS+=("$NETLABD_PID")
    [ "$rc" = 0 ] || fail "netlabd exited at start or never answered"
    daemon_wait_reconciled "$D" || fail "netlabd never finished its start-up reconcile"
}

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$D/etc" "$D/run"
step "netlabd starts with no topology: nothing applied, no revision"
start
[ "$(revisions)" = 0 ] || fail "a revision without a change"

step "change 1: a file edit (the watch applies it)"
write_topology 100
poll_until 60 has_revisions 1 || fail "the file edit made no revision (history: $(ctl history))"
dump > "$T/rev1.dump"
cp "$D/etc/topology.yaml" "$T/rev1.yaml"

step "change 2: SIGHUP"
write_topology 200
kill -HUP "$NETLABD_PID"
poll_until 60 has_revisions 2 || fail "SIGHUP made no revision (history: $(ctl history))"

step "change 3: the control socket (netlabctl reload)"
write_topology 300 198.51.100.2/24
ctl reload >/dev/null || fail "netlabctl reload failed"
poll_until 30 has_revisions 3 || fail "netlabctl reload made no revision"
dump > "$T/rev3.dump"

step "history lists them with their origins"
ctl history | tee "$T/history.txt"
ctl history --json > "$T/history.json"
python3 - "$T/history.json" <<'PY' || fail "history --json says something else"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["ok"] and h["format"] == 1 and h["keep"] == 50, h
revs = h["revisions"]
assert [r["revision"] for r in revs] == [1, 2, 3], revs
assert [r["origin"] for r in revs] == ["file", "reload", "socket"], [r["origin"] for r in revs]
assert all(r["result"] == "applied" and r["steps"] > 0 for r in revs), revs
assert revs[0]["by"][0].startswith("files changed: topology.yaml"), revs[0]["by"]
assert revs[1]["by"] == ["SIGHUP"], revs[1]["by"]
assert revs[2]["by"][0].startswith("netlabctl reload: pid ") and " uid 0" in revs[2]["by"][0], revs[2]["by"]
assert all(r["time"].endswith("Z") and r["files"] for r in revs), revs
PY

step "diff 1 3: the topology diff and the plans between"
ctl diff 1 3 | tee "$T/diff.txt"
grep -qx -- '-    metric: 100' "$T/diff.txt" || fail "diff 1 3 does not remove metric 100"
grep -qx -- '+    metric: 300' "$T/diff.txt" || fail "diff 1 3 does not add metric 300"
grep -q -- '+.*198.51.100.2/24' "$T/diff.txt" || fail "diff 1 3 does not add the second address"
grep -q '^revision 2 (reload, applied)' "$T/diff.txt" || fail "diff 1 3 lacks revision 2's plan"
grep -q '^revision 3 (socket, applied)' "$T/diff.txt" || fail "diff 1 3 lacks revision 3's plan"
grep -q '^  ip addr add 198.51.100.2/24 dev br0' "$T/diff.txt" ||
    fail "revision 3's plan does not add the address"
ctl diff 3 --json > "$T/diff3.json"
python3 - "$T/diff3.json" <<'PY' || fail "diff 3 --json is not revision 2 to 3"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == 1 and d["from"] == 2 and d["to"] == 3, d
assert [p["revision"] for p in d["plans"]] == [3], d["plans"]
PY

step "a revision not kept is refused; nothing changes"
cp "$D/etc/topology.yaml" "$T/before-bad.yaml"
if ctl rollback --to 999 2>"$T/bad.err"; then fail "rollback --to 999 succeeded"; fi
cat "$T/bad.err"
grep -q "no revision 999: the revisions kept are 1 to 3; nothing was changed" "$T/bad.err" ||
    fail "rollback --to 999 does not say why"
cmp -s "$T/before-bad.yaml" "$D/etc/topology.yaml" || fail "rollback --to 999 changed topology.yaml"
dump > "$T/after-bad.dump"
diff -u "$T/rev3.dump" "$T/after-bad.dump" || fail "rollback --to 999 changed the kernel"

step "rollback --to 1: revision 1's kernel state and files"
# topology.yaml linked into a checkout, as configuration management does: the
# rollback writes the link's target and keeps its mode; the link stays.
mkdir -p "$D/checkout"
cp "$D/etc/topology.yaml" "$D/checkout/topology.yaml"
chmod 0640 "$D/checkout/topology.yaml"
ln -s ../checkout/topology.yaml "$D/etc/topology.yaml.lnk"
mv -T "$D/etc/topology.yaml.lnk" "$D/etc/topology.yaml"
poll_until 30 has_line ctl status --json -- '"status": "converged"' || fail "not converged after linking topology.yaml"
ctl rollback --to 1 | tee "$T/rollback.txt"
[ -L "$D/etc/topology.yaml" ] || fail "rollback --to replaced the symlink topology.yaml with a file"
[ "$(stat -c %a "$D/checkout/topology.yaml")" = 640 ] ||
    fail "rollback --to changed the mode of topology.yaml's target to $(stat -c %a "$D/checkout/topology.yaml")"
dump > "$T/after-rollback.dump"
diff -u "$T/rev1.dump" "$T/after-rollback.dump" || fail "rollback --to 1 did not restore revision 1's kernel state"
grep -qx '    metric: 100' "$D/etc/topology.yaml" || fail "topology.yaml is not revision 1's"
saved=$(find "$D/etc/replaced" -name topology.yaml -path '*rollback-to-1*')
[ -n "$saved" ] && grep -qx '    metric: 300' "$saved" || fail "the file rollback replaced is not kept ($saved)"
ctl diff 1 4 > "$T/diff14.txt"
grep -q '^topology: revision 1 and revision 4 are the same' "$T/diff14.txt" || {
    cat "$T/diff14.txt"
    fail "revision 4 (the rollback) is not revision 1's topology"
}
ctl history --json > "$T/history4.json"
python3 - "$T/history4.json" <<'PY' || fail "the rollback's revision is not listed as one"
import json, sys
r = json.load(open(sys.argv[1]))["revisions"][-1]
assert r["revision"] == 4 and r["origin"] == "rollback" and r["result"] == "applied", r
assert r["by"][0].startswith("netlabctl rollback --to 1: pid "), r
PY
# The files and the kernel agree: a reload finds nothing to do (the watch
# does not see a write to a symlink's target outside the directory).
ctl reload >/dev/null || fail "the reload after the rollback failed"
poll_until 30 has_line ctl status --json -- '"status": "converged"' || {
    ctl status || true
    fail "the files and the kernel disagree after rollback"
}
diff -u "$T/rev1.dump" <(dump) || fail "the kernel moved after the rollback"

step "the revisions survive SIGKILL and restart"
ctl history --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["revisions"]))' > "$T/before-kill.json"
kill -9 "$NETLABD_PID"
wait "$NETLABD_PID" 2>/dev/null || true
start
ctl history --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["revisions"]))' > "$T/after-kill.json"
cmp -s "$T/before-kill.json" "$T/after-kill.json" || {
    diff "$T/before-kill.json" "$T/after-kill.json" || true
    fail "history differs after SIGKILL and restart"
}

step "60 more changes keep the last 50"
for i in $(seq 1 60); do
    write_topology $((1000 + i))
    ctl reload >/dev/null || fail "reload $i failed"
done
poll_until 30 has_revisions 50 || fail "history lists $(revisions) revisions, not 50"
python3 - <(ctl history --json) <<'PY' || fail "the 50 kept are not the last 50"
import json, sys
revs = json.load(open(sys.argv[1]))["revisions"]
assert [r["revision"] for r in revs] == list(range(15, 65)), [r["revision"] for r in revs]
PY
n=$(find "$D/run/revisions" -name '*.json' | wc -l)
[ "$n" = 50 ] || fail "$n revision files in the state directory, not 50"

step "--revisions 5 keeps 5"
kill "$NETLABD_PID"
wait "$NETLABD_PID" 2>/dev/null || true
start --revisions 5
[ "$(revisions)" = 5 ] || fail "history lists $(revisions) revisions with --revisions 5"
write_topology 2000
ctl reload >/dev/null || fail "the reload with --revisions 5 failed"
n=$(find "$D/run/revisions" -name '*.json' | wc -l)
[ "$n" = 5 ] || fail "$n revision files with --revisions 5"

echo
echo "PASS: history, diff, rollback --to, SIGKILL and restart, rotation"
