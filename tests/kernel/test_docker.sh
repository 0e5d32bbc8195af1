#!/usr/bin/env bash
# Real Docker, private daemon (tests/kernel/docker_lib.sh):
#  1. docker:NAME resolves to the container's own netns (reconcile::resolve_netns,
#     through test_reconcile's "real dockerd" cases), a missing container is
#     "not found", a stopped one "stopped";
#  2. `docker restart` gives the container a new PID and a new, empty netns
#     (a marker link does not survive), resolution follows it, and GET
#     /events replays die + start;
#  3. netlabctl apply attaches test1 by docker:test1 (a macvlan on host1's
#     ens33), the container pings the lab gateway; a missing and a stopped
#     container in the same file are reported and do not block it; after
#     `docker restart` the next apply attaches it again and the ping works;
#     NETLAB_DOCKER_SOCKET works as well as --docker-socket;
#  4. netlabd --docker-socket attaches test1 (its status names test1's current
#     PID), re-attaches it after `docker restart` on reload, and holds no
#     container's network namespace open between runs (/proc/PID/fd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/kernel/docker_lib.sh
. "$here/docker_lib.sh"
lab_require
docker_require

TEST_RECONCILE=${NETLAB_TEST_RECONCILE:-$NETLAB_BIN/test_reconcile}

# Stops dockerd and checks it left nothing on the machine.
finish_docker() {
    docker_down
    docker_host_untouched || fail "the private dockerd wrote to the machine's Docker paths"
    note "  dockerd stopped; its files removed; no default Docker path was written"
}

heading "private dockerd"
docker_up
note "  dockerd $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') on $DOCKER_SOCK, netns $DOCKER_NETNS"
docker_image
note "  image $DOCKER_IMAGE imported offline from $(command -v busybox)"

dk run --net=none -d --name test1 "$DOCKER_IMAGE" sleep 3600 >/dev/null
dk run --net=none --name stopped1 "$DOCKER_IMAGE" true >/dev/null
pid1=$(docker_pid test1)
ino1=$(docker_netns_inode test1)
host_ino=$(stat -L -c %i /proc/self/ns/net)
note "  test1: pid $pid1, netns inode $ino1 (this shell's: $host_ino); stopped1: $(dk inspect -f '{{.State.Status}}' stopped1)"
[ "$ino1" != "$host_ino" ] || fail "test1 runs in this shell's network namespace"

# resolve NAME EXPECT_PID: the real-dockerd cases of test_reconcile.
resolve() {
    NETLAB_DOCKER_SOCK=$DOCKER_SOCK NETLAB_DOCKER_CONTAINER=$1 NETLAB_DOCKER_EXPECT_PID=$2 \
        NETLAB_DOCKER_STOPPED=stopped1 \
        "$TEST_RECONCILE" -tc="real dockerd: resolve*" >"$(lab_tmp)/resolve.out" 2>&1 || {
        cat "$(lab_tmp)/resolve.out"
        fail "resolve_netns(docker:$1) against the private dockerd"
    }
    [[ $(<"$(lab_tmp)/resolve.out") =~ test\ cases:\ +1\ [|]\ +1\ passed ]] || {
        cat "$(lab_tmp)/resolve.out"
        fail "the real-dockerd resolve case did not run"
    }
    sed -n 's/.*MESSAGE: \(resolved .*\)/  \1/p' "$(lab_tmp)/resolve.out"
}

heading "1. resolution"
if [ -x "$TEST_RECONCILE" ]; then
    resolve test1 "$pid1"
    note "  docker:netlab-no-such-container -> not found; docker:stopped1 -> stopped"
    HAVE_RESOLVER=1
else
    note "  (test_reconcile not built at $TEST_RECONCILE: resolution checked by part 3 only)"
    HAVE_RESOLVER=0
fi

heading "2. docker restart test1"
# A marker in the container's netns, and the old netns held open: nsfs inode
# numbers are recycled as soon as a namespace is freed, so without the held
# fd a new netns can show the old inode.
nsenter --net="/proc/$pid1/ns/net" ip link add nlmark0 type veth peer name nlmark1
exec {oldns}<"/proc/$pid1/ns/net"
since=$(date +%s)
dk restart -t 1 test1 >/dev/null
until_t=$(( $(date +%s) + 1 ))
pid2=$(docker_pid test1)
ino2=$(docker_netns_inode test1)
note "  test1: pid $pid1 -> $pid2, netns inode $ino1 -> $ino2 (old netns held open)"
[ "$pid2" != "$pid1" ] || fail "restart kept the PID"
[ "$ino2" != "$ino1" ] || fail "restart kept the network namespace"
exec {oldns}<&-
if nsenter --net="/proc/$pid2/ns/net" ip link show nlmark0 >/dev/null 2>&1; then
    fail "the marker link survived the restart: same netns"
fi
note "  the marker link put in the old netns is not in the new one: everything in it is gone"
if [ "$HAVE_RESOLVER" = 1 ]; then
    resolve test1 "$pid2"
    NETLAB_DOCKER_SOCK=$DOCKER_SOCK NETLAB_DOCKER_CONTAINER=test1 \
        NETLAB_DOCKER_EVENTS_SINCE=$since NETLAB_DOCKER_EVENTS_UNTIL=$until_t \
        "$TEST_RECONCILE" -tc="real dockerd: the events*" >"$(lab_tmp)/events.out" 2>&1 || {
        cat "$(lab_tmp)/events.out"
        fail "GET /events did not replay die + start of test1"
    }
    sed -n 's/.*MESSAGE: \(event .*\)/  \1/p' "$(lab_tmp)/events.out"
fi

heading "3. netlabctl apply attaches docker:test1"
if [ ! -x "$NETLABCTL" ]; then
    note "  SKIP part 3: netlabctl not built at $NETLABCTL"
    finish_docker
    note "PASS (parts 1-2): resolution and restart facts on a real dockerd"
    exit 0
fi

lab_up
CTR_ADDR=198.51.100.20
dir=$(lab_tmp)
topo="$dir/docker.yaml"
cat >"$topo" <<EOF
version: 1

networks:
  lan:
    driver: macvlan
    parent: ens33
    mode: bridge
    subnet: 198.51.100.0/$LAN_PREFIX
    gateway: $GW_LAN_ADDR

containers:
  test1:
    netns: docker:test1
    interfaces:
      eth1:
        network: lan
        address: $CTR_ADDR/$LAN_PREFIX
        default_route: true
  # Neither of these can be attached; each is reported and the rest is applied.
  ghost:
    netns: docker:netlab-ghost
    interfaces:
      eth1:
        network: lan
        address: 198.51.100.21/$LAN_PREFIX
  stopped1:
    netns: docker:stopped1
    interfaces:
      eth1:
        network: lan
        address: 198.51.100.22/$LAN_PREFIX
EOF

# apply_docker OUT: netlabctl apply in host1, pointed at the private dockerd
# by --docker-socket (the machine's /var/run/docker.sock is never asked).
apply_docker() {
    local out=$1 state="$LAB_TMP/state-$NS_HOST1"
    mkdir -p "$state"
    APPLY_RC=0
    in_ns "$NS_HOST1" "$NETLABCTL" apply "$topo" --json --state-dir "$state" --docker-socket "$DOCKER_SOCK" \
        >"$out" 2>"$out.err" || APPLY_RC=$?
    APPLY_STATUS=$(json_get "$out" 'j.get("status")' 2>/dev/null || echo "(no JSON)")
}

# ctr_ping: the container pings the lab gateway (inside the container: its ping).
ctr_ping() {
    local out
    out=$(dk exec test1 ping -c 3 -W 2 "$GW_LAN_ADDR" 2>&1) || true
    # Here-strings, not a pipe into grep -q: bash's printf writes line by line,
    # grep -q exits at the match and, under pipefail, the SIGPIPE of a later
    # line fails the pipeline.
    grep -E 'packets transmitted' <<<"$out" | sed 's/^/  /' || true
    grep -Eq '3 packets transmitted, 3 (packets )?received' <<<"$out"
}

apply_docker "$dir/apply1.json"
if [ "$APPLY_RC" -ne 0 ]; then
    show_apply "$dir/apply1.json"
    if grep -qiE 'container|docker|not (yet )?supported|unknown' "$dir/apply1.json.err" "$dir/apply1.json" 2>/dev/null; then
        note "  netlabctl apply does not attach containers yet (output above)"
    fi
    fail "netlabctl apply of docker:test1 failed"
fi
note "  apply: $APPLY_STATUS, $(json_get "$dir/apply1.json" 'j["writes"]') netlink writes"
diags=$(json_get "$dir/apply1.json" '"\n".join("  diagnostic: " + d.get("message", str(d)) for d in j.get("diagnostics", []))' || true)
[ -z "$diags" ] || note "$diags"
grep -q "ghost.*container netlab-ghost not found" <<<"$diags" || fail "the missing container is not reported"
grep -q "stopped1.*container stopped1 is stopped" <<<"$diags" || fail "the stopped container is not reported"
{ dk exec test1 ip -o -4 addr show dev eth1 2>&1 || true; } | sed 's/^/  in test1: /'
{ dk exec test1 ip route 2>&1 || true; } | sed 's/^/  in test1: /'
ctr_ping || fail "test1 cannot ping the gateway $GW_LAN_ADDR after the apply"

heading "docker restart test1, then apply again"
dk restart -t 1 test1 >/dev/null
note "  test1: pid $(docker_pid test1), netns inode $(docker_netns_inode test1); eth1 gone: $(dk exec test1 ip -o link show eth1 >/dev/null 2>&1 && echo no || echo yes)"
if ctr_ping; then fail "test1 reaches the gateway before netlab re-attached it (no eth1 expected)"; fi
apply_docker "$dir/apply2.json"
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/apply2.json"; fail "apply after the restart failed"; }
note "  apply: $APPLY_STATUS, $(json_get "$dir/apply2.json" 'j["writes"]') netlink writes"
ctr_ping || fail "test1 cannot ping the gateway after the restart and re-apply"

heading "converged: a third apply sends nothing"
apply_docker "$dir/apply3.json"
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/apply3.json"; fail "third apply failed"; }
w3=$(json_get "$dir/apply3.json" 'j["writes"]')
[ "$w3" -eq 0 ] || { show_apply "$dir/apply3.json"; fail "third apply sent $w3 writes, expected 0"; }

heading "NETLAB_DOCKER_SOCKET instead of --docker-socket"
plan_rc=0
in_ns "$NS_HOST1" env NETLAB_DOCKER_SOCKET="$DOCKER_SOCK" "$NETLABCTL" plan "$topo" --json \
    --state-dir "$LAB_TMP/state-$NS_HOST1" >"$dir/plan-env.json" 2>"$dir/plan-env.json.err" || plan_rc=$?
plan_diags=$(json_get "$dir/plan-env.json" '"\n".join(d.get("message", "") for d in j.get("diagnostics", []))' || true)
if [ "$plan_rc" -ne 0 ] || [[ $plan_diags == *"test1 ("* ]]; then
    cat "$dir/plan-env.json" "$dir/plan-env.json.err"
    fail "plan with NETLAB_DOCKER_SOCKET did not resolve docker:test1 (exit $plan_rc)"
fi
note "  plan: exit 0 (converged), docker:test1 resolved through the variable"

heading "netlabd --docker-socket: attaches test1, holds no container namespace between runs"
[ -x "$NETLAB_BIN/netlabd" ] || fail "netlabd not built in $NETLAB_BIN"
mkdir -p "$dir/etc"
cp "$topo" "$dir/etc/topology.yaml"
netlabd_start "$NS_HOST1" "$dir/etc" --docker-socket "$DOCKER_SOCK"
# test1_status STATUS_JSON: "state detail" of test1 in netlabd's status.
test1_status() { json_get "$1" '[c["state"] + " " + c.get("detail", "") for c in j["containers"] if c["name"] == "test1"][0]'; }
netlabd_status "$dir/status1.json"
[ "$(json_get "$dir/status1.json" 'j["daemon"]["docker_socket"]')" = "$DOCKER_SOCK" ] \
    || netlabd_fail "status shows another Docker socket"
st=$(test1_status "$dir/status1.json")
note "  status: last $(json_get "$dir/status1.json" 'j["last"]["status"]'); test1: $st"
grep -q "^attached docker test1 id .* pid $(docker_pid test1) " <<<"$st" \
    || netlabd_fail "netlabd's status does not show test1 attached in its current namespace: $st"
netlabd_holds_only "$NS_HOST1" "after the start-up reconcile (test1's netns: $(docker_netns_inode test1))"

dk restart -t 1 test1 >/dev/null
note "  docker restart test1: pid $(docker_pid test1), netns inode $(docker_netns_inode test1)"
"$NETLABCTL" reload --socket "$NLD_SOCK" >"$dir/reload.out" 2>&1 || { cat "$dir/reload.out"; netlabd_fail "netlabctl reload failed"; }
netlabd_status "$dir/status2.json"
st=$(test1_status "$dir/status2.json")
note "  reload: $(json_get "$dir/status2.json" 'j["last"]["status"]'), $(json_get "$dir/status2.json" 'j["last"]["writes"]') writes; test1: $st"
grep -q "^attached docker test1 id .* pid $(docker_pid test1) " <<<"$st" || netlabd_fail "test1 not attached after the restart: $st"
ctr_ping || netlabd_fail "test1 cannot ping the gateway after netlabd re-attached it"
netlabd_holds_only "$NS_HOST1" "after the reload (test1's netns: $(docker_netns_inode test1))"
netlabd_stop

finish_docker
note "PASS: docker:test1 resolved, attached, pings $GW_LAN_ADDR; re-attached after docker restart (netlabctl and netlabd)"
