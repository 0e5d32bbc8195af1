#!/usr/bin/env bash
# Container attachments in namespaces (no Docker needed: containers are named
# netns). Three labs:
#
# The labs are lib.sh's (lab_up_hosts 2: two hosts on the LAN switch, the gateway
# and the remote behind it); containers are namespaces "$LAB_PREFIX-NAME".
#
#  1. The seed's macvlan recipe: two hosts on one LAN switch, each with a
#     macvlan network on its "ens33" and two containers at fixed addresses.
#     Containers ping each other across hosts and ping the gateway; without
#     host_access a host cannot reach its own containers, with it it can.
#     Prints the ping matrix of both.
#  2. The seed's pipework recipe: a macvlan on a plain NIC (host A) and a veth
#     on a bridge (host B, after the bridge takeover), each ADDR/LEN@GW. Each
#     container already had a default route (a Docker-like eth0): afterwards
#     its default route is via the given gateway, and the gateway answers.
#  2b. The bridge takeover (lib.sh's lab, with the remote behind the gateway)
#     with two containers on br0: host, containers and remote all ping.
#     Two containers whose target is host1's own namespace (path: and pid:)
#     are refused by name; the rest is applied.
#  3. 100 containers in one apply, a fault injected in the 50th container's
#     steps: the host and all 100 containers equal their snapshots. Then the
#     same apply without the fault attaches all 100.
#  4. netlabd applies the same 100 and, after the start-up reconcile and a
#     reload, holds no container's network namespace open (/proc/PID/fd).
#
#          gw (lan0 198.51.100.1) ── remote
#                 │
#        sw: bridge "lan" ──────────────┐
#           │                           │
#   hostA = host1 ens33 .10        hostB = host2 ens33 .11
#    ├ a1 .21 (macvlan)             ├ b1 .31
#    └ a2 .22                       └ b2 .32
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

dir=$(lab_tmp)
GW=$GW_LAN_ADDR

# ct_lab_up: lib.sh's lab with two hosts (lab_up_hosts 2); sets NS_A NS_B (host1, host2),
# HOSTA HOSTB (their addresses) and P (prefix for container namespaces).
ct_lab_up() {
    lab_up_hosts 2
    NS_A=$NS_HOST1 NS_B=$NS_HOST2 HOSTA=$HOST1_ADDR HOSTB=$HOST2_ADDR P=$LAB_PREFIX
}

must_apply() {
    nl_apply "$@"
    [ "$APPLY_RC" -eq 0 ] || { show_apply "$3"; fail "apply of $2 in $1 failed"; }
    note "  $1: $APPLY_STATUS, $(json_get "$3" 'j.get("writes")') netlink writes"
}

# pings FROM_NS ADDR: any of three echo requests answered.
pings() { in_ns "$1" ping -n -q -c 3 -i 0.1 -W 1 "$2" >/dev/null 2>&1; }

# ping_matrix LABEL... (each "name=ns=addr"): prints the matrix, fills CELL[src>dst].
declare -A CELL
ping_matrix() {
    local nodes=("$@") s d sn da sname dname line
    printf '\n  %-8s' "from\\to"
    for d in "${nodes[@]}"; do printf ' %-7s' "${d%%=*}"; done
    printf '\n'
    for s in "${nodes[@]}"; do
        sname=${s%%=*} sn=${s#*=} sn=${sn%%=*}
        line=$(printf '  %-8s' "$sname")
        for d in "${nodes[@]}"; do
            dname=${d%%=*} da=${d##*=}
            if [ "$s" = "$d" ]; then
                CELL["$sname>$dname"]=self
                line+=$(printf ' %-7s' ".")
            elif pings "$sn" "$da"; then
                CELL["$sname>$dname"]=ok
                line+=$(printf ' %-7s' "ok")
            else
                CELL["$sname>$dname"]=no
                line+=$(printf ' %-7s' "--")
            fi
        done
        printf '%s\n' "$line"
    done
}
expect() {  # expect SRC DST ok|no WHY
    [ "${CELL["$1>$2"]}" = "$3" ] || fail "$1 -> $2: expected ${3/no/no reply}, got ${CELL["$1>$2"]} ($4)"
}

# ---------------------------------------------------------------------------
heading "1. macvlan networks on two hosts (the seed's recipe 1)"
ct_lab_up
for c in a1 a2 b1 b2; do lab_ns_add "$P-$c"; done

# recipe1_yaml HOST HOST_ACCESS_ADDR|"" C1 ADDR1 C2 ADDR2
recipe1_yaml() {
    local access=""
    [ -n "$2" ] && access="    host_access: $2/32"
    cat <<EOF
version: 1

interfaces:
  ens33:
    promisc: true

networks:
  mynet:
    driver: macvlan
    parent: ens33
    mode: bridge
    subnet: 198.51.100.0/24
    gateway: $GW
$access

containers:
  $3:
    netns: netns:$P-$3
    interfaces:
      eth1:
        network: mynet
        address: $4/24
        default_route: true
  $5:
    netns: netns:$P-$5
    interfaces:
      eth1:
        network: mynet
        address: $6/24
        default_route: true
EOF
}
recipe1_yaml A "" a1 198.51.100.21 a2 198.51.100.22 >"$dir/r1-a.yaml"
recipe1_yaml B "" b1 198.51.100.31 b2 198.51.100.32 >"$dir/r1-b.yaml"
recipe1_yaml A 198.51.100.250 a1 198.51.100.21 a2 198.51.100.22 >"$dir/r1-a-access.yaml"
recipe1_yaml B 198.51.100.251 b1 198.51.100.31 b2 198.51.100.32 >"$dir/r1-b-access.yaml"

must_apply "$NS_A" "$dir/r1-a.yaml" "$dir/r1-a.json"
must_apply "$NS_B" "$dir/r1-b.yaml" "$dir/r1-b.json"
note "  in a1: $(in_ns "$P-a1" ip -o -4 addr show dev eth1 2>&1 | awk '{print $4}'), $(in_ns "$P-a1" ip -4 route show default)"

NODES=("hostA=$NS_A=$HOSTA" "hostB=$NS_B=$HOSTB" "gw=$NS_GW=$GW"
       "a1=$P-a1=198.51.100.21" "a2=$P-a2=198.51.100.22" "b1=$P-b1=198.51.100.31" "b2=$P-b2=198.51.100.32")
note ""
note "  ping matrix WITHOUT host_access (ok = answered, -- = no answer):"
ping_matrix "${NODES[@]}"
for s in a1 a2; do for d in b1 b2 gw; do expect "$s" "$d" ok "containers reach the other host's containers and the gateway"; done; done
for s in b1 b2; do for d in a1 a2 gw; do expect "$s" "$d" ok "containers reach the other host's containers and the gateway"; done; done
expect a1 a2 ok "macvlan bridge mode: siblings talk"
expect hostA b1 ok "a host reaches the other host's containers"
for d in a1 a2; do expect hostA "$d" no "macvlan: the parent never talks to its own children"; done
for d in b1 b2; do expect hostB "$d" no "macvlan: the parent never talks to its own children"; done
expect a1 hostA no "macvlan: a container never reaches its own host"

must_apply "$NS_A" "$dir/r1-a-access.yaml" "$dir/r1-a-access.json"
must_apply "$NS_B" "$dir/r1-b-access.yaml" "$dir/r1-b-access.json"
note ""
note "  ping matrix WITH host_access (hostA shim 198.51.100.250, hostB shim 198.51.100.251):"
ping_matrix "${NODES[@]}"
for d in a1 a2; do expect hostA "$d" ok "host_access: the host reaches its own containers"; done
for d in b1 b2; do expect hostB "$d" ok "host_access: the host reaches its own containers"; done
for s in a1 a2; do for d in b1 b2 gw; do expect "$s" "$d" ok "still"; done; done
expect a1 hostA ok "host_access: the shim answers for the host's addresses"
lab_destroy

# ---------------------------------------------------------------------------
heading "2. pipework-style attachments, ADDR/LEN@GW (the seed's recipe 2)"
ct_lab_up
for c in p1 p2; do
    lab_ns_add "$P-$c"
    # What Docker's default network leaves behind: an eth0 and a default route.
    ip -n "$P-$c" link add eth0 type veth peer name peer0
    ip -n "$P-$c" addr add 203.0.113.50/24 dev eth0
    ip -n "$P-$c" link set eth0 up
    ip -n "$P-$c" link set peer0 up
    ip -n "$P-$c" route add default via 203.0.113.1 dev eth0
done
cat >"$dir/r2-a.yaml" <<EOF
version: 1

networks:
  lan:
    driver: macvlan
    parent: ens33
    subnet: 198.51.100.0/24

containers:
  p1:
    netns: netns:$P-p1
    interfaces:
      eth1:
        network: lan
        address: 198.51.100.41/24@$GW
EOF
cat >"$dir/r2-b.yaml" <<EOF
version: 1

interfaces:
  br0:
    kind: bridge
    ports: [ens33]
    mac: ens33
    stp: false
    addresses: [$HOSTB/24]

routes:
  - to: default
    via: $GW
    dev: br0

containers:
  p2:
    netns: netns:$P-p2
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.42/24@$GW
EOF
must_apply "$NS_A" "$dir/r2-a.yaml" "$dir/r2-a.json"
must_apply "$NS_B" "$dir/r2-b.yaml" "$dir/r2-b.json"
for c in p1 p2; do
    def=$(in_ns "$P-$c" ip -4 route show default)
    note "  $c: $(in_ns "$P-$c" ip -o -4 addr show dev eth1 | awk '{print $4}'); $def"
    [ "$(wc -l <<<"$def")" -eq 1 ] || fail "$c: more than one default route: $def"
    grep -q "^default via $GW dev eth1" <<<"$def" || fail "$c: default route is not via $GW dev eth1: $def"
    lab_reach_soon "$P-$c" "$GW" 3 >/dev/null || fail "$c: the gateway $GW does not answer"
done
note "  hostB br0 ports: $(in_ns "$NS_B" ip -o link show master br0 | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ')"
NODES=("hostA=$NS_A=$HOSTA" "hostB=$NS_B=$HOSTB" "gw=$NS_GW=$GW" "p1=$P-p1=198.51.100.41" "p2=$P-p2=198.51.100.42")
ping_matrix "${NODES[@]}"
expect p1 p2 ok "macvlan container <-> veth-on-bridge container"
expect hostB p2 ok "bridge: the host and its veth containers talk"
expect p1 gw ok "gateway answers"
expect p2 gw ok "gateway answers"
expect hostA p1 no "pipework's macvlan on a plain NIC has the macvlan limit (use a network with host_access)"
lab_destroy

# ---------------------------------------------------------------------------
heading "2b. the bridge takeover with containers on br0 (host, containers, remote)"
lab_up   # lib.sh's lab: remote -- gw -- sw -- host1 (ens33 198.51.100.10)
P=$LAB_PREFIX
for c in t1 t2; do lab_ns_add "$P-$c"; done
write_takeover_yaml "$dir/r2b.yaml"
cat >>"$dir/r2b.yaml" <<EOF

containers:
  t1:
    netns: netns:$P-t1
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.61/24@$GW_LAN_ADDR
  t2:
    netns: netns:$P-t2
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.62/24
        gateway: $GW_LAN_ADDR
EOF
# Two more containers whose namespace is host1's own (netlabctl runs there):
# refused by name, the rest is applied. Never the machine's own namespace:
# the host of this test is host1.
ip netns exec "$NS_HOST1" sleep 600 &
SELF_PID=$!
LAB_PIDS+=("$SELF_PID")
bg_pid_in "$NS_HOST1" "$SELF_PID"   # never a process of the machine's own namespace
cat >>"$dir/r2b.yaml" <<EOF
  self1:
    netns: path:/run/netns/$NS_HOST1
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.63/24
  self2:
    netns: pid:$SELF_PID
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.64/24
EOF
must_apply "$NS_HOST1" "$dir/r2b.yaml" "$dir/r2b.json"
diags=$(json_get "$dir/r2b.json" '"\n".join(d.get("message", "") for d in j.get("diagnostics", []))')
for c in self1 self2; do
    line=$(grep "container $c " <<<"$diags" || true)
    note "  $line"
    grep -q "skipped: .*is the host's own network namespace" <<<"$line" \
        || fail "container $c (host1's own namespace) was not refused as such"
done
if has_line ip -n "$NS_HOST1" -o link -- -E 'self[12]'; then fail "a host end was made for a refused container"; fi
kill "$SELF_PID" 2>/dev/null || true
wait "$SELF_PID" 2>/dev/null || true
lab_forget_pid "$SELF_PID"
NODES=("host1=$NS_HOST1=$HOST1_ADDR" "remote=$NS_REMOTE=$REMOTE_ADDR" "gw=$NS_GW=$GW_LAN_ADDR"
       "t1=$P-t1=198.51.100.61" "t2=$P-t2=198.51.100.62")
ping_matrix "${NODES[@]}"
for s in host1 remote gw t1 t2; do
    for d in host1 remote gw t1 t2; do
        [ "$s" = "$d" ] || expect "$s" "$d" ok "takeover with containers on br0: everyone talks"
    done
done
lab_destroy

# ---------------------------------------------------------------------------
N=${NETLAB_CONTAINERS_N:-100}
FAULT_IN=${NETLAB_CONTAINERS_FAULT:-50}
heading "3. $N containers in one apply, a fault in container $FAULT_IN's steps"
ct_lab_up
names=()
{
    cat <<EOF
version: 1

interfaces:
  brct:
    kind: bridge
    stp: false
    addresses: [203.0.113.1/24]

containers:
EOF
    for i in $(seq 1 "$N"); do
        c=$(printf 'c%03d' "$i")
        cat <<EOF
  $c:
    netns: netns:$P-$c
    interfaces:
      eth1:
        bridge: brct
        address: 203.0.113.$((i + 1))/24
        gateway: 203.0.113.1
EOF
    done
} >"$dir/r3.yaml"
for i in $(seq 1 "$N"); do names[i - 1]=$(printf 'c%03d' "$i"); lab_ns_add "$P-${names[i - 1]}"; done

snapshot() {  # snapshot DIR
    mkdir -p "$1"
    ns_dump "$NS_A" >"$1/hostA"
    local c
    for c in "${names[@]}"; do ns_dump "$P-$c" >"$1/$c"; done
}
snapshot "$dir/r3-before"

plan_steps "$NS_A" "$dir/r3.yaml" "$dir/r3-plan.json"
target=$(printf 'c%03d' "$FAULT_IN")
k=$("$PYTHON" - "$dir/r3-plan.json" "container:$target" <<'EOF'
import json, sys
steps = json.load(open(sys.argv[1])).get("steps", [])
ns = sys.argv[2]
mine = [i for i, s in enumerate(steps, 1) if s.get("ns") == ns]
peers = [i for i, s in enumerate(steps, 1) if s.get("peer_ns") == ns or s.get("parent_ns") == ns]
pick = mine or peers
# a step in the middle of that container's own steps
print(pick[len(pick) // 2] if pick else 0)
EOF
)
K=$(json_get "$dir/r3-plan.json" 'len(j.get("steps", []))' 2>/dev/null || echo 0)
[ "$k" -gt 0 ] || { cat "$dir/r3-plan.json.err" "$dir/r3-plan.json" | sed -n 1,40p; fail "no step of container:$target in the plan ($K steps)"; }
note "  plan: $K steps; the fault is injected at step $k: $(step_text "$dir/r3-plan.json" "$k")"

nl_apply "$NS_A" "$dir/r3.yaml" "$dir/r3-fault.json" NETLAB_FAIL_AT_STEP="$k"
note "  apply with NETLAB_FAIL_AT_STEP=$k: exit $APPLY_RC, status $APPLY_STATUS, $(json_get "$dir/r3-fault.json" 'j.get("writes")') writes"
[ "$APPLY_RC" -ne 0 ] || { show_apply "$dir/r3-fault.json"; fail "apply with a fault succeeded"; }
[ "$APPLY_STATUS" = rolled_back ] || { show_apply "$dir/r3-fault.json"; fail "expected status rolled_back"; }
snapshot "$dir/r3-after"
same=0
for c in hostA "${names[@]}"; do
    if diff -u --label "$c before" --label "$c after" "$dir/r3-before/$c" "$dir/r3-after/$c"; then
        same=$((same + 1))
    fi
done
note "  after the rollback: $same of $((N + 1)) namespaces (host + $N containers) equal their snapshots"
[ "$same" -eq $((N + 1)) ] || fail "the rollback left $((N + 1 - same)) namespaces changed (diffs above)"

nl_apply "$NS_A" "$dir/r3.yaml" "$dir/r3-ok.json"
[ "$APPLY_RC" -eq 0 ] || { show_apply "$dir/r3-ok.json"; fail "apply of $N containers failed"; }
note "  apply without the fault: $APPLY_STATUS, $(json_get "$dir/r3-ok.json" 'j.get("writes")') writes"
lab_reach_soon "$P-c001" 203.0.113.1 3 >/dev/null || fail "c001 cannot reach the bridge address"
lab_reach_soon "$P-${names[N - 1]}" 203.0.113.2 3 >/dev/null || fail "${names[N - 1]} cannot reach c001"
attached=0
for c in "${names[@]}"; do
    has_line in_ns "$P-$c" ip -4 route show default -- "via 203.0.113.1 dev eth1" && attached=$((attached + 1))
done
note "  $attached of $N containers have eth1 and their default route via 203.0.113.1"
[ "$attached" -eq "$N" ] || fail "only $attached of $N containers attached"
nl_apply "$NS_A" "$dir/r3.yaml" "$dir/r3-again.json"
w=$(json_get "$dir/r3-again.json" 'j.get("writes")')
note "  apply again: $APPLY_STATUS, $w writes"
[ "$w" = 0 ] || fail "a converged apply of $N containers sent $w writes"


# ---------------------------------------------------------------------------
heading "4. netlabd attaches the $N containers and holds none of their namespaces afterwards"
if [ -x "$NETLAB_BIN/netlabd" ]; then
    mkdir -p "$dir/etc"
    cp "$dir/r3.yaml" "$dir/etc/topology.yaml"
    netlabd_start "$NS_A" "$dir/etc"
    netlabd_status "$dir/d-status.json"
    attached=$(json_get "$dir/d-status.json" 'sum(c["state"] == "attached" for c in j["containers"])')
    note "  start-up reconcile: $(json_get "$dir/d-status.json" 'j["last"]["status"]'), $(json_get "$dir/d-status.json" 'j["last"]["writes"]') writes; $attached of $N containers attached"
    [ "$attached" = "$N" ] || netlabd_fail "netlabd does not show all $N containers attached"
    netlabd_holds_only "$NS_A" "after the start-up reconcile"
    "$NETLABCTL" reload --socket "$NLD_SOCK" >"$dir/d-reload.out" 2>&1 || { cat "$dir/d-reload.out"; netlabd_fail "reload failed"; }
    netlabd_status "$dir/d-status2.json"
    note "  reload: $(json_get "$dir/d-status2.json" 'j["last"]["status"]'), $(json_get "$dir/d-status2.json" 'j["last"]["writes"]') writes"
    netlabd_holds_only "$NS_A" "after a reload"
    netlabd_stop
else
    note "  SKIP part 4: netlabd not built in $NETLAB_BIN"
fi

note ""
note "PASS: recipe 1 (matrix above, host_access makes host -> own containers work), recipe 2 (default via the gateway), $N containers roll back exactly and then attach"
