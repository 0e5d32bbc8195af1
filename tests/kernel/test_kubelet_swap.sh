#!/usr/bin/env bash
# netlabd following a Kubernetes ConfigMap mounted as its configuration
# directory, with netlabd in a namespace of its own and every path in a
# temporary directory. The kubelet's atomic writer is reproduced exactly
# (kubernetes pkg/volume/util/atomic_writer.go): the content goes into a new
# timestamped directory "..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN", a "..data_tmp"
# symlink to it is renamed over "..data", the visible names (topology.yaml,
# topology.d) are symlinks through ..data, created only for new keys, and the
# old timestamped directory is removed. No *.yaml is ever written in place.
#   - a swap of topology.yaml's content: one reconcile, the new content in force;
#   - a swap that adds a topology.d/ key (a new visible symlink): the drop-in
#     is in force;
#   - a swap of the drop-in's content only: one reconcile, new content in force;
#   - a swap to an invalid topology: rejected (one rejection), the old
#     configuration stays in force; the next valid swap is applied.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for tool in ip python3; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
# shellcheck source=tests/kernel/daemon_lib.sh
. "$(dirname "$0")/daemon_lib.sh"
[ -x "$NETLABD" ] && [ -x "$NETLABCTL" ] || skip "netlabd/netlabctl not built in $NETLAB_BIN"

NS=nl$$-kube
T=$(mktemp -d /tmp/netlab-kube.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

ETC=$T/etc          # the ConfigMap's mount point, netlabd's --config-dir
SRC=$T/configmap    # the ConfigMap's keys, one file each (the "API object")
SOCK=$T/run/netlabd.sock
fail() { echo "FAIL: $*"; echo "--- netlabd log"; cat "$T/netlabd.log"; echo "--- $ETC"; ls -laR "$ETC"; exit 1; }
step() { echo; echo "== $*"; }

# kubelet_write: projects every file under $SRC into $ETC the way the
# kubelet's atomic writer does (see the header).
kubelet_write() {
    python3 - "$SRC" "$ETC" <<'PY'
import datetime, os, shutil, sys
src, target = sys.argv[1], sys.argv[2]
payload = {}
for root, _, files in os.walk(src):
    for f in files:
        rel = os.path.relpath(os.path.join(root, f), src)
        payload[rel] = open(os.path.join(root, f), "rb").read()
data = os.path.join(target, "..data")
old_ts = os.readlink(data) if os.path.islink(data) else None
old_paths = set()
if old_ts:
    for root, _, files in os.walk(os.path.join(target, old_ts)):
        for f in files:
            old_paths.add(os.path.relpath(os.path.join(root, f), os.path.join(target, old_ts)))
# 1. a new timestamped directory holding the whole payload
now = datetime.datetime.now(datetime.timezone.utc)
ts = now.strftime("..%Y_%m_%d_%H_%M_%S.") + f"{now.microsecond * 1000:09d}"
ts_dir = os.path.join(target, ts)
os.mkdir(ts_dir, 0o755)
for rel, content in payload.items():
    os.makedirs(os.path.dirname(os.path.join(ts_dir, rel)), exist_ok=True)
    with open(os.path.join(ts_dir, rel), "wb") as f:
        f.write(content)
    os.chmod(os.path.join(ts_dir, rel), 0o644)
# 2. ..data_tmp -> the new directory, renamed over ..data (the atomic swap)
tmp = os.path.join(target, "..data_tmp")
os.symlink(ts, tmp)
os.rename(tmp, data)
# 3. visible symlinks for new top-level names, through ..data
tops = {p.split(os.sep)[0] for p in payload}
old_tops = {p.split(os.sep)[0] for p in old_paths}
for top in sorted(tops - old_tops):
    link = os.path.join(target, top)
    if not os.path.islink(link):
        os.symlink(os.path.join("..data", top), link)
for top in sorted(old_tops - tops):
    os.unlink(os.path.join(target, top))
# 4. the old timestamped directory goes
if old_ts:
    shutil.rmtree(os.path.join(target, old_ts))
PY
}

status_field() {  # python expression over the status JSON `s`
    daemon_status "$T" --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
idle() {
    local s
    s=$(daemon_status "$T" --json) || return 1
    grep -q '"busy": false' <<<"$s" && grep -q '"queued": 0' <<<"$s"
}
wait_for() {  # DESCRIPTION COMMAND...: bounded, until the daemon is idle and COMMAND holds
    local what=$1 _
    shift
    for _ in $(seq 300); do
        kill -0 "$PID" 2>/dev/null || fail "netlabd died while waiting for: $what"
        if "$@" >/dev/null 2>&1 && idle; then return 0; fi
        sleep 0.1
    done
    fail "never happened: $what"
}
has_route_metric() { has_line ip -n "$NS" route show 203.0.113.0/24 -- -w "metric $1"; }
has_br1() { has_line ip -n "$NS" -br addr show br1 2>/dev/null -- "$1"; }
reconciles() { status_field 's["daemon"]["reconciles"]'; }
rejected() { status_field 's["daemon"]["rejected"]'; }
# settle: the debounce window passes with nothing more queued, so a second
# reconcile for the same swap would have started by now.
settle() { local _; for _ in 1 2 3 4 5; do sleep 0.2; idle || return 0; done; }

mkdir -p "$SRC" "$ETC" "$T/run"
daemon_topology 100 >"$SRC/topology.yaml"
kubelet_write
ls -la "$ETC"
[ -L "$ETC/topology.yaml" ] && [ -L "$ETC/..data" ] || fail "the mount does not look like the kubelet's"
ip netns add "$NS"
ip -n "$NS" link set lo up
rc=0
daemon_start "$NS" "$T" || rc=$?
PID=$NETLABD_PID
[ "$rc" = 0 ] || fail "netlabd exited at start or never answered"
daemon_wait_reconciled "$T" || fail "netlabd never finished its start-up reconcile"
wait_for "start-up: metric 100 in force" has_route_metric 100

# swap DESCRIPTION: one kubelet update; prints the reconciles it took
swap() {
    local before after
    before=$(reconciles)
    kubelet_write
    wait_for "$1" "${@:2}"
    settle
    after=$(reconciles)
    echo "reconciles for this swap: $((after - before))"
    SWAP_COUNT=$((after - before))
}

step "a swap of topology.yaml's content"
daemon_topology 200 >"$SRC/topology.yaml"
swap "metric 200 in force" has_route_metric 200
[ "$SWAP_COUNT" = 1 ] || fail "$SWAP_COUNT reconciles for one swap (want 1)"
grep -q '\.\.data swapped' "$T/netlabd.log" || fail "the log does not name the ..data swap"
ip -n "$NS" route show 203.0.113.0/24

step "a swap that adds a topology.d/ key (the kubelet adds a visible topology.d symlink)"
mkdir -p "$SRC/topology.d"
cat >"$SRC/topology.d/10-br1.yaml" <<'YAML'
version: 1
interfaces:
  br1:
    kind: bridge
    addresses: [203.0.113.129/25]
YAML
has_br1_129() { has_br1 203.0.113.129/25; }
swap "br1 from the new drop-in" has_br1_129
# The symlink for the new name comes right after the rename; a stall between
# the two longer than the debounce may rightly take a second reconcile.
[ "$SWAP_COUNT" -ge 1 ] && [ "$SWAP_COUNT" -le 2 ] || fail "$SWAP_COUNT reconciles for one swap (want 1, 2 at most)"
[ -L "$ETC/topology.d" ] || fail "topology.d is not the kubelet's symlink"

step "a swap of the drop-in's content only (topology.d is a symlink through ..data)"
sed -i 's#203.0.113.129/25#203.0.113.65/26#' "$SRC/topology.d/10-br1.yaml"
has_br1_65() { has_br1 203.0.113.65/26; }
swap "br1 with the new address" has_br1_65
[ "$SWAP_COUNT" = 1 ] || fail "$SWAP_COUNT reconciles for one swap (want 1)"
ip -n "$NS" -br addr show br1

step "a swap to an invalid topology is rejected; the old one stays in force"
rej0=$(rejected)
good=$(cat "$SRC/topology.yaml")
cat >"$SRC/topology.yaml" <<'YAML'
version: 1
interfaces:
  br0:
    kind: bridge
    stp: false
    addresses: [198.51.100.1/24]
routes:
  - to: 203.0.113.0/24
    via: 198.51.100.254
    dev: br9
    metric: 300
YAML
rejected_once() { [ "$(rejected)" -gt "$rej0" ]; }
before=$(reconciles)
kubelet_write
wait_for "the rejection" rejected_once
settle
echo "rejections for this swap: $(( $(rejected) - rej0 ))"
[ "$(( $(rejected) - rej0 ))" = 1 ] || fail "$(( $(rejected) - rej0 )) rejections for one swap (want 1)"
has_route_metric 200 || fail "the old route (metric 200) is no longer in force"
has_br1_65 || fail "the old drop-in's br1 is no longer in force"
grep -E "rejected|br9" "$T/netlabd.log" | tail -n 3
echo "still in force: $(ip -n "$NS" route show 203.0.113.0/24)"

step "the next valid swap is applied"
printf '%s\n' "$good" | sed 's/metric: 200/metric: 400/' >"$SRC/topology.yaml"
swap "metric 400 in force" has_route_metric 400
[ "$SWAP_COUNT" = 1 ] || fail "$SWAP_COUNT reconciles for one swap (want 1)"

kill -0 "$PID" || fail "netlabd died"
kill -TERM "$PID"
wait "$PID" || fail "netlabd exited non-zero"
PID=
echo; echo "--- netlabd log (reconcile summaries)"
grep -vE "step [0-9]+/" "$T/netlabd.log"
echo; echo "PASS: test_kubelet_swap"
