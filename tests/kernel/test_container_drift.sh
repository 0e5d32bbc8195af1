#!/usr/bin/env bash
# Drift inside containers (issue 21): netlabd in a host namespace with br0
# attaches two containers on br0 (veth, address, default route via
# 198.51.100.1): c1 on a named netns, c2 on the pid of a process in a
# namespace of its own (`unshare --net`). It hears their events through the
# nsids it gave their namespaces, with no socket in them:
#  1. drift: repair — inside c1, eth1's address deleted, eth1 set down (the
#     kernel flushes the default route with it), the default route replaced
#     by another gateway; inside c2, its address deleted: each repaired by
#     exactly one reconcile, without a reload (status counters);
#  2. drift: report — the same three changes inside c1 are reported (status,
#     human and --json, with the container named; the log) and left as they
#     are; going back to repair mode (a file change) repairs them;
#  2b. c1's address deleted while a reconcile that writes only into c2 is
#     stopped after its first step: repaired by one more reconcile;
#  3. the containers stopped while netlabd watches them (c1's netns deleted,
#     c2's process killed): their namespaces die — their nsids leave the
#     host's list (`ip netns list-id`), their veths leave br0, c1 leaves
#     `ip netns` — and netlabd holds no namespace but its own; a container's
#     death is no drift.
# Each repair's latency (netlabd's, from the change to the repaired state)
# is printed; no time is asserted: every wait polls with a generous deadline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
lab_require
lab_require_netlabctl
[ -x "$NETLAB_BIN/netlabd" ] || skip "netlabd not built at $NETLAB_BIN/netlabd"
command -v unshare >/dev/null || skip "needs unshare (util-linux) for the pid: container"

dir=$(lab_tmp)
LAB_GEN=$((LAB_GEN + 1))
P="$LAB_ID-$LAB_GEN"
H="$P-host"
C1="$P-c1"
lab_ns_add "$H"
lab_ns_add "$C1"
ip -n "$H" link add br0 address 02:00:c6:33:64:01 type bridge stp_state 0 forward_delay 0
ip -n "$H" addr add 198.51.100.1/24 dev br0
ip -n "$H" link set br0 up
# c2: a process in a namespace of its own, as a container runtime leaves it.
unshare --net sleep 100000 &
C2_PID=$!
LAB_PIDS+=("$C2_PID")
# Polled as a function: the arguments of poll_until are expanded once, so
# `poll_until N test "$(readlink …)" = …` would compare the value read before
# unshare had exec'd sleep for the whole deadline.
SLEEP_EXE=$(readlink -f "$(command -v sleep)")
c2_started() { [ "$(readlink "/proc/$C2_PID/exe" 2>/dev/null)" = "$SLEEP_EXE" ]; }
poll_until 30 c2_started \
    || fail "the pid: container's process did not start: /proc/$C2_PID/exe is '$(readlink "/proc/$C2_PID/exe" 2>/dev/null)', not $SLEEP_EXE"
C2_INO=$(stat -L -c %i "/proc/$C2_PID/ns/net")
[ "$C2_INO" != "$(stat -L -c %i /proc/self/ns/net)" ] || fail "unshare --net gave no namespace of its own"
C1_ADDR=198.51.100.31 C2_ADDR=198.51.100.32 GW=198.51.100.1 OTHER_GW=198.51.100.254

ETC=$dir/etc
mkdir -p "$ETC"
C2_IN_FILE=$C2_ADDR
write_topology() {  # DRIFT_POLICY (c2's address: C2_IN_FILE)
    cat >"$ETC/topology.yaml.tmp" <<EOF
version: 1
drift: $1
interfaces:
  br0: {kind: bridge, stp: false, addresses: [198.51.100.1/24]}
containers:
  c1:
    netns: "netns:$C1"
    interfaces:
      eth1: {bridge: br0, address: $C1_ADDR/24, gateway: $GW}
  c2:
    netns: "pid:$C2_PID"
    interfaces:
      eth1: {bridge: br0, address: $C2_IN_FILE/24, gateway: $GW}
EOF
    mv "$ETC/topology.yaml.tmp" "$ETC/topology.yaml"
}

STATUS=$dir/status.json
st() { json_get "$STATUS" "$1"; }
status_json() { "$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 10 >"$STATUS"; }
idle() { [ "$(st 'j["daemon"]["busy"] or j["daemon"]["queued"] > 0')" = False ]; }
reconciles() { st 'j["daemon"]["reconciles"]'; }
drift() { st "j['drift']$1"; }
mode_is() { [ "$(drift '["mode"]')" = "$1" ]; }
watched_none() { [ "$(drift '["containers_watched"]')" = "[]" ]; }

# wait_until DESCRIPTION COMMAND...: polls (status refreshed each time) until
# COMMAND holds and netlabd is idle; the bound is for a hang.
wait_until() {
    local what=$1 i
    shift
    for i in $(seq 1 600); do
        kill -0 "$NLD_PID" 2>/dev/null || netlabd_fail "netlabd died while waiting for: $what"
        if status_json 2>/dev/null && idle && "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    "$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 >&2 || true
    netlabd_fail "never happened: $what"
}
# settle: lets a second reconcile that should not come arrive (time that
# must pass), then refreshes the status; counts are asserted after it.
settle() {
    sleep 1.5
    wait_until "netlabd idle" true
}

# in_c c1|c2 CMD...: CMD inside that container's namespace.
in_c() {
    local c=$1
    shift
    if [ "$c" = c1 ]; then ip netns exec "$C1" "$@"; else nsenter -t "$C2_PID" -n "$@"; fi
}
addr_of() { [ "$1" = c1 ] && echo "$C1_ADDR" || echo "$C2_ADDR"; }
has_addr() { has_line in_c "$1" ip -o -4 addr show dev eth1 -- " $(addr_of "$1")/24"; }
no_addr() { ! has_addr "$1"; }
is_up() { has_line in_c "$1" ip -o link show dev eth1 -- '<[^>]*\bUP\b'; }
is_down() { ! is_up "$1"; }
default_via() { has_line in_c "$1" ip route show default -- "via $2 dev eth1"; }
no_default() { [ -z "$(in_c "$1" ip route show default)" ]; }
repaired() { has_addr "$1" && is_up "$1" && default_via "$1" "$GW" && ! default_via "$1" "$OTHER_GW"; }
# container_nsids: the nsids the host's namespace has for other namespaces
# (one the kernel may give the host's namespace itself is left out).
container_nsids() {
    local out
    out=$(ip -n "$H" netns list-id 2>/dev/null) || true
    grep '^nsid' <<<"$out" | grep -vF "netns name: $H)" || true
}
show_c() { in_c "$1" ip -br link; in_c "$1" ip -br addr; in_c "$1" ip route; }

LATENCIES=()
# repair_case NAME C COMMAND...: COMMAND inside container C, then waits until
# it is repaired: by exactly one reconcile, which the drift watch asked for.
repair_case() {
    local name=$1 c=$2 r0 p0 ms
    shift 2
    status_json
    r0=$(reconciles) p0=$(drift '["repairs"]')
    in_c "$c" "$@"
    note "  $c: $*"
    wait_until "$name repaired in $c" drift_repaired "$p0"
    repaired "$c" || { show_c "$c"; netlabd_fail "$name: $c is not as the topology wants it after the repair"; }
    settle
    [ "$(reconciles)" = $((r0 + 1)) ] || netlabd_fail "$name: expected exactly one reconcile, got $((r0)) -> $(reconciles)"
    [ "$(drift '["repairs"]')" = $((p0 + 1)) ] || netlabd_fail "$name: expected one drift repair, got $(drift '["repairs"]')"
    repaired "$c" || { show_c "$c"; netlabd_fail "$name: undone after the repair"; }
    ms=$(drift '["last_repair"]["latency_ms"]')
    LATENCIES+=("$name ($c): $ms ms")
    note "  repaired: $(drift '["last_repair"]["what"]') -> $(drift '["last_repair"]["status"]') in $ms ms (trigger: $(drift '["last_repair"]["trigger"]'))"
}
drift_repaired() { [ "$(drift '["repairs"]')" -gt "$1" ] && [ "$(drift '["pending"]')" = None ]; }

heading "1. drift: repair, inside the containers"
write_topology repair
netlabd_start "$H" "$ETC"
netlabd_status "$STATUS"
wait_until "both containers attached" true
[ "$(st 'j["last"]["status"]')" = applied ] || netlabd_fail "the start-up reconcile: $(st 'j["last"]')"
for c in c1 c2; do repaired "$c" || { show_c "$c"; netlabd_fail "$c not attached as the topology says"; }; done
[ "$(drift '["containers_heard"]')" = True ] || skip "this kernel does not let netlabd hear other namespaces' events (NETLINK_LISTEN_ALL_NSID): $(drift '')"
[ "$(drift '["containers_watched"]')" = "['c1', 'c2']" ] || netlabd_fail "containers watched: $(drift '["containers_watched"]')"
nsids_before=$(container_nsids)
note "  containers' nsids in the host's namespace: $(tr '\n' ';' <<<"$nsids_before")"
[ "$(grep -c '^nsid' <<<"$nsids_before")" = 2 ] || netlabd_fail "expected an nsid for each container in the host's namespace"
c0=$(drift '["container_drifts"]')
repair_case "address deleted" c1 ip addr del "$C1_ADDR/24" dev eth1
repair_case "eth1 set down" c1 ip link set eth1 down
repair_case "default route replaced" c1 ip route replace default via "$OTHER_GW" dev eth1
repair_case "address deleted" c2 ip addr del "$C2_ADDR/24" dev eth1
[ "$(drift '["container_drifts"]')" -ge $((c0 + 4)) ] || netlabd_fail "container drifts not counted: $(drift '')"
has_line "$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 -- "and those of 2 containers" \
    || netlabd_fail "netlabctl status does not say the containers are watched"
"$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 | sed -n '/^drift:/,/^[a-z]/p' | sed 's/^/  status: /'
note "PASS part 1: each change inside a container repaired by one reconcile, no reload"

heading "2. drift: report"
write_topology report
wait_until "report mode in force" mode_is report
r0=$(reconciles) n0=$(drift '["reported"]')
reported_has() { has_line drift '["reports"]' -- "$1"; }
in_c c1 ip addr del "$C1_ADDR/24" dev eth1
wait_until "address deletion reported" reported_has "container c1: eth1 address $C1_ADDR/24 deleted"
no_addr c1 || netlabd_fail "report mode put the address back"
# Put back by hand (with the route the kernel flushed with it): nothing to report.
in_c c1 ip addr add "$C1_ADDR/24" dev eth1
in_c c1 ip route add default via "$GW" dev eth1 proto 77
in_c c1 ip link set eth1 down
wait_until "eth1 down reported" reported_has "container c1: eth1 set down"
in_c c1 ip link set eth1 up
in_c c1 ip route replace default via "$OTHER_GW" dev eth1
wait_until "route replaced reported" reported_has "container c1: route default via $OTHER_GW dev eth1"
settle
[ "$(reconciles)" = "$r0" ] || netlabd_fail "report mode reconciled: $r0 -> $(reconciles)"
if ! { is_up c1 && default_via c1 "$OTHER_GW"; }; then show_c c1; netlabd_fail "report mode changed what it reported"; fi
[ "$(st '[r["namespace"] for r in j["drift"]["reports"]][-1]')" = container:c1 ] \
    || netlabd_fail "the report does not name its namespace: $(drift '["reports"]')"
note "  reported: $(( $(drift '["reported"]') - n0 )), reconciles: 0"
has_line grep -F "drift: container c1: eth1 set down; left as it is (drift: report)" "$NLD_LOG" -- . \
    || netlabd_fail "the log does not report eth1 down"
"$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 >"$dir/status.txt"
grep -F "reported at" "$dir/status.txt" | sed 's/^/  status: /'
grep -qE "^  reported at .*: container c1: eth1 set down$" "$dir/status.txt" \
    || netlabd_fail "netlabctl status does not show the report naming c1"
write_topology repair
wait_until "repair mode repairs what report mode left" repaired c1
note "PASS part 2: report mode reports the changes inside c1 and changes nothing"

heading "2b. inside c1 while a reconcile that writes only into c2 runs"
# netlabd again, stopping itself after the first step of a plan
# (NETLAB_STOP_AFTER_STEP=1): c2's address changes in the file, and c1's
# address is deleted while that reconcile is stopped. c1 is taken from the
# last reconcile (not observed) and the event is heard as the job's: the
# fast reload's dirty set finds it at the job's end, and one more reconcile
# repairs it.
netlabd_stop
cp "$NLD_LOG" "$dir/netlabd-first.log"
export NETLAB_STOP_AFTER_STEP=1
netlabd_start "$H" "$ETC"
unset NETLAB_STOP_AFTER_STEP
netlabd_status "$STATUS"
settle
r0=$(reconciles)
C2_IN_FILE=198.51.100.42
write_topology repair
wait_stopped "$NLD_PID" || netlabd_fail "netlabd did not stop after the first step of c2's reconcile"
in_c c1 ip addr del "$C1_ADDR/24" dev eth1
kill -CONT "$NLD_PID"
note "  c2's address -> $C2_IN_FILE in the file; during its reconcile: c1: ip addr del $C1_ADDR/24 dev eth1"
wait_until "c1 repaired after the reconcile that ran meanwhile" repaired c1
has_line in_c c2 ip -o -4 addr show dev eth1 -- " $C2_IN_FILE/24" || netlabd_fail "c2 does not have $C2_IN_FILE"
has_line grep -F "drift: changed while the reconcile ran: container c1: eth1 address $C1_ADDR/24 deleted" "$NLD_LOG" -- . \
    || netlabd_fail "the log does not say c1 changed while the reconcile ran"
settle
note "  reconciles: $r0 -> $(reconciles) (the file's, then the repair)"
[ "$(reconciles)" = $((r0 + 2)) ] || netlabd_fail "expected the file's reconcile and one repair, got $r0 -> $(reconciles)"
grep -F "changed while the reconcile ran" "$NLD_LOG" | sed 's/^/  log: /'
note "PASS part 2b: a change inside a container the reconcile did not observe is repaired right after it"

heading "3. the containers stopped while netlabd watches them"
settle
d0=$(drift '["drifts"]')
c1_ino=$(stat -L -c %i "/run/netns/$C1")
note "  c1's namespace inode $c1_ino, c2's $C2_INO; br0's ports: $(ip -n "$H" -o link show master br0 | awk '{print $2}' | tr '\n' ' ')"
netlabd_holds_only "$H" "before the stop"
ip netns del "$C1"
kill "$C2_PID"
wait "$C2_PID" 2>/dev/null || true
lab_forget_pid "$C2_PID"
note "  ip netns del c1; kill c2's process"
no_nsids() { [ -z "$(container_nsids)" ]; }
no_ports() { [ -z "$(ip -n "$H" -o link show master br0)" ]; }
poll_until 60 no_nsids || netlabd_fail "a container's namespace is still alive: nsids in the host: $(ip -n "$H" netns list-id)"
note "  nsids in the host's namespace now: $(ip -n "$H" netns list-id | tr '\n' ';')"
poll_until 60 no_ports || netlabd_fail "a container's veth is still on br0: $(ip -n "$H" -o link show master br0)"
has_line ip netns list -- "^$C1\b" && netlabd_fail "c1 is still in ip netns"
note "  containers' nsids in the host's namespace: none; br0's ports: none; ip netns: no c1"
wait_until "the watch forgot the stopped containers" watched_none
netlabd_holds_only "$H" "after the stop"
settle
[ "$(drift '["drifts"]')" = "$d0" ] || netlabd_fail "a container's death was taken as drift: $(drift '')"
note "PASS part 3: a stopped container's namespace and veth go; netlabd holds nothing of them"

heading "repair latencies (netlabd's, change -> repaired, default 200 ms debounce)"
for l in "${LATENCIES[@]}"; do note "  $l"; done
grep -qiE "critical|internal error" "$NLD_LOG" && netlabd_fail "errors in netlabd's log"
netlabd_stop
note "PASS: test_container_drift"
