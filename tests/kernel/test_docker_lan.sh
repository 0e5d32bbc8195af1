#!/usr/bin/env bash
# Two lab hosts on one LAN switch, each with its own private dockerd (in its
# own network namespace: ens33 is that host's NIC) and a topology that
# publishes mynet to Docker with an IPv4 and an IPv6 subnet and a host_access
# shim. The seed's commands minus `docker network create`: after `netlabctl
# apply` on each host, `docker run --net=mynet --ip=... --ip6=...` on both.
# Then the full ping matrix, IPv4 and IPv6, printed as a table, every cell
# must pass:
#   container <-> container on the same host and across the hosts,
#   container -> gateway and -> the remote subnet,
#   host -> its own containers through the shim,
#   remote -> containers.
# Each shim has an address of each family (host_access: [v4, v6]), so the
# host cells are pinged over both.
# Negative control: host1's shim taken out of its topology -> host1's cells
# fail, as with Docker's own macvlan (the kernel never passes traffic between
# a macvlan parent and its children); put back -> they pass again. The shim's
# address moves to ens33 meanwhile, so Docker's reservations, and with them
# the Docker network the containers are on, stay as they were (netlab
# re-creates a published network whose reservations change, and refuses to
# while foreign containers use it: docs/docker.md).
# Then examples/macvlan.yaml itself on host1: its `docker:` container
# connected by netlab, the seed's `docker run` of its comment, host and
# remote cells (IPv4: the example has no IPv6 subnet).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/kernel/docker_lib.sh
. "$here/docker_lib.sh"
lab_require
lab_require_netlabctl
docker_require

# docker_lib.sh runs one daemon; its globals are pointed at host N's by
# dk_host N. Host 2's directory lies inside host 1's, so lab_sweep_dead
# (which knows /tmp/nlcPID-docker) removes both after a SIGKILL; host 2 is
# therefore stopped first (host 1's docker_down matches host 2's processes
# by path too).
DK_BASE=$DOCKER_DIR
DK_CGROUP_BASE=$DOCKER_CGROUP_PARENT
declare -A DK_PIDS=()
DK_CUR=""
dk_host() {
    if [ -n "$DK_CUR" ]; then DK_PIDS[$DK_CUR]=$DOCKERD_PID; fi
    DK_CUR=$1
    DOCKER_DIR=$DK_BASE DOCKER_CGROUP_PARENT=$DK_CGROUP_BASE
    if [ "$1" = 2 ]; then DOCKER_DIR+=/h2 DOCKER_CGROUP_PARENT+=-h2; fi
    DOCKER_SOCK="$DOCKER_DIR/docker.sock"
    DOCKERD_PID=${DK_PIDS[$1]:-}
}
trap 'set +e; dk_host 2; docker_down; dk_host 1; docker_down; lab_down' EXIT
dkn() { local n=$1; shift; "$DOCKER_CLI" -H "unix://$DK_BASE$([ "$n" = 2 ] && echo /h2)/docker.sock" "$@"; }

start=$SECONDS
lab_up_hosts 2
dir=$(lab_tmp)
NS_HOST=([1]="$NS_HOST1" [2]="$NS_HOST2")
ADDR_HOST=([1]="$HOST1_ADDR" [2]="$HOST2_ADDR")
SHIM=([1]=198.51.100.250 [2]=198.51.100.251)
SHIM6=([1]=2001:db8:100::fa [2]=2001:db8:100::fb)

# IPv6 on the gateway and the remote subnet (lib.sh's lab is IPv4 only).
# nodad: usable at once, nothing else on these links claims them.
GW6=2001:db8:100::1
REMOTE6=2001:db8:203::2
ip -n "$NS_GW" addr add "$GW6/64" dev lan0 nodad
ip -n "$NS_GW" addr add 2001:db8:203::1/64 dev wan0 nodad
in_ns "$NS_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$NS_REMOTE" addr add "$REMOTE6/64" dev eth0 nodad
ip -n "$NS_REMOTE" -6 route add default via 2001:db8:203::1 dev eth0

for h in 1 2; do
    dk_host "$h"
    mkdir -p "$DOCKER_DIR"
    docker_up "${NS_HOST[$h]}"
    [ "$h" = 1 ] && paths_before=$DOCKER_HOST_PATHS_BEFORE
    note "  host$h: dockerd $(dk version --format '{{.Server.Version}}') in ${NS_HOST[$h]}, socket $DOCKER_SOCK"
    docker_image
done
DOCKER_HOST_PATHS_BEFORE=$paths_before  # as before the first daemon

write_topo() {  # write_topo HOST FILE [no-shim]
    local h=$1 extra=""
    # Without the shim its addresses stay on ens33, so Docker's reservations
    # do not change; the IPv6 one as a /64, so that the host has a route to
    # the containers and a failed ping is the macvlan isolation, not a
    # missing route (as for IPv4, where ens33 holds a /24).
    [ "${3:-}" = no-shim ] && extra=", ${SHIM[$h]}/32, \"${SHIM6[$h]}/64\""
    {
        printf 'version: 1\ninterfaces:\n  ens33:\n    promisc: true\n    addresses: [%s/24%s]\n' "${ADDR_HOST[$h]}" "$extra"
        cat <<EOF
networks:
  mynet:
    parent: ens33
    subnet: [198.51.100.0/24, "2001:db8:100::/64"]
    gateway: [$GW_LAN_ADDR, "$GW6"]
EOF
        [ "${3:-}" = no-shim ] || printf '    host_access: [%s/32, "%s/128"]\n' "${SHIM[$h]}" "${SHIM6[$h]}"
        printf '    docker: true\n'
    } >"$2"
}
ctl() {  # ctl HOST SUBCOMMAND ARGS...: netlabctl in that host, on its dockerd
    local h=$1; shift
    in_ns "${NS_HOST[$h]}" "$NETLABCTL" "$@" --state-dir "$LAB_TMP/state-${NS_HOST[$h]}" \
        --docker-socket "$DK_BASE$([ "$h" = 2 ] && echo /h2)/docker.sock"
}
apply() {  # apply HOST FILE EXPECTED_STATUS
    local out rc=0 st
    out="$dir/apply-$1-${2##*/}.json"
    ctl "$1" apply "$2" --json >"$out" 2>"$out.err" || rc=$?
    st=$(json_get "$out" 'j.get("status")' 2>/dev/null || echo "(no JSON)")
    [ "$st" = "$3" ] || { cat "$out" "$out.err"; fail "host$1: apply $(basename "$2"): exit $rc, status $st, not $3"; }
    note "  host$1: netlabctl apply $(basename "$2"): $st, $(json_get "$out" 'j["writes"]') writes"
}

heading "1. netlabctl apply on each host: mynet published, IPv4 and IPv6"
for h in 1 2; do
    write_topo "$h" "$dir/host$h.yaml"
    write_topo "$h" "$dir/host$h-noshim.yaml" no-shim
    apply "$h" "$dir/host$h.yaml" applied
    dkn "$h" network inspect mynet >"$dir/inspect$h.json"
    has_line json_get "$dir/inspect$h.json" \
        'j[0]["Driver"], j[0]["EnableIPv6"], sorted((c["Subnet"], c["Gateway"]) for c in j[0]["IPAM"]["Config"])' -- \
        -xF "('macvlan', True, [('198.51.100.0/24', '$GW_LAN_ADDR'), ('2001:db8:100::/64', '$GW6')])" \
        || { cat "$dir/inspect$h.json"; fail "host$h: mynet is not macvlan with both subnets and gateways"; }
    note "  host$h: docker network inspect mynet: $(json_get "$dir/inspect$h.json" \
        '[(c["Subnet"], c["Gateway"]) for c in j[0]["IPAM"]["Config"]]')"
done

heading "2. the seed's commands: docker run --net=mynet --ip=... --ip6=... on both hosts"
# name host address6
CONTAINERS=("a1 1 198.51.100.31 2001:db8:100::31" "a2 1 198.51.100.32 2001:db8:100::32"
            "b1 2 198.51.100.41 2001:db8:100::41" "b2 2 198.51.100.42 2001:db8:100::42")
declare -A C_HOST=() C_V4=() C_V6=()
for c in "${CONTAINERS[@]}"; do
    read -r name h v4 v6 <<<"$c"
    C_HOST[$name]=$h C_V4[$name]=$v4 C_V6[$name]=$v6
    note "  host$h\$ docker run --net=mynet --ip=$v4 --ip6=$v6 -itd --name=$name busybox sh"
    # Its stderr only on failure: this dockerd runs with --ip-forward=false
    # and Docker warns about it at every run.
    dkn "$h" run --net=mynet --ip="$v4" --ip6="$v6" -itd --name="$name" "$DOCKER_IMAGE" sh \
        >/dev/null 2>"$dir/run-$name.err" || { cat "$dir/run-$name.err"; fail "docker run $name failed"; }
done

# A cell: FROM (a container name, hostN or remote) pings ADDR. Container
# sources run busybox ping through `docker exec`, the others iputils ping in
# their namespace.
ping_from() {  # ping_from FROM ADDR COUNT
    local out
    case $1 in
        host1 | host2) out=$(in_ns "${NS_HOST[${1#host}]}" ping -n -q -c "$3" -i 0.05 -W 2 "$2" 2>&1) || true ;;
        remote) out=$(in_ns "$NS_REMOTE" ping -n -q -c "$3" -i 0.05 -W 2 "$2" 2>&1) || true ;;
        *) out=$(dkn "${C_HOST[$1]}" exec "$1" ping -c "$3" -i 0.2 -W 2 "$2" 2>&1) || true ;;
    esac
    grep -Eq "^$3 packets transmitted, $3 (packets )?received" <<<"$out"
}
# The first packets of a pair wait for neighbour resolution (and a new IPv6
# address for its DAD): a cell may take a few tries before it holds.
cell_ok() { poll_until 30 ping_from "$1" "$2" 2; }

ROWS=()
for name in a1 a2 b1 b2; do
    h=${C_HOST[$name]}
    for peer in a1 a2 b1 b2; do
        [ "$peer" = "$name" ] && continue
        if [ "${C_HOST[$peer]}" = "$h" ]; then ROWS+=("$name $peer same host"); else ROWS+=("$name $peer other host"); fi
    done
    ROWS+=("$name gateway" "$name remote" "host$h $name through the shim" "remote $name")
done
target() {  # target NAME FAMILY: the address a cell pings
    case $1 in
        gateway) [ "$2" = 4 ] && echo "$GW_LAN_ADDR" || echo "$GW6" ;;
        remote) [ "$2" = 4 ] && echo "$REMOTE_ADDR" || echo "$REMOTE6" ;;
        *) [ "$2" = 4 ] && echo "${C_V4[$1]}" || echo "${C_V6[$1]}" ;;
    esac
}
MATRIX_V6=1
matrix() {  # matrix ROW_FILTER: the table of the rows matching the filter; fails on a cell
    local row from to what v4 v6 bad=0
    printf '  %-36s %-6s %s\n' "cell" IPv4 IPv6
    for row in "${ROWS[@]}"; do
        [[ $row =~ $1 ]] || continue
        read -r from to what <<<"$row"
        if cell_ok "$from" "$(target "$to" 4)"; then v4=ok; else v4=FAIL bad=1; fi
        if [ "$MATRIX_V6" = 0 ]; then v6=n/a
        elif cell_ok "$from" "$(target "$to" 6)"; then v6=ok; else v6=FAIL bad=1; fi
        printf '  %-36s %-6s %s\n' "$from -> $to${what:+ ($what)}" "$v4" "$v6"
    done
    return "$bad"
}

heading "3. the ping matrix"
matrix . || fail "a cell of the ping matrix failed (table above)"

heading "4. negative control: host1 without its shim"
apply 1 "$dir/host1-noshim.yaml" applied
dkn 1 network inspect mynet >"$dir/inspect1b.json"
[ "$(json_get "$dir/inspect1b.json" 'j[0]["Id"]')" = "$(json_get "$dir/inspect1.json" 'j[0]["Id"]')" ] \
    || fail "host1's mynet was re-created: its containers are no longer on the network the matrix tested"
note "  host1's mynet kept its ID (the shim's address stays reserved, on ens33): a1 and a2 are still on it"
# The IPv6 address on ens33 first passes duplicate address detection: while
# it is tentative a ping would fail for that reason instead.
ens33_v6_usable() {
    local out
    out=$(ip -n "$NS_HOST1" -6 addr show dev ens33 to "${SHIM6[1]}/128")
    [[ $out == *"${SHIM6[1]}/64"* && $out != *tentative* ]]
}
poll_until 30 ens33_v6_usable || fail "host1's ${SHIM6[1]}/64 on ens33 never became usable: $(ip -n "$NS_HOST1" -6 addr show dev ens33)"
printf '  %-36s %s\n' cell IPv4/IPv6
for name in a1 a2; do
    for addr in "${C_V4[$name]}" "${C_V6[$name]}"; do
        # No poll: a single try of 3 pings, each waiting 2 s, that must all
        # go unanswered (the kernel drops them; more time would not change
        # it). One answer would be a leak: 0 received, not "not all".
        in_ns "$NS_HOST1" ping -n -q -c 3 -i 0.05 -W 2 "$addr" >"$dir/noshim-$name.txt" 2>&1 || true
        has_line cat "$dir/noshim-$name.txt" -- -E '^3 packets transmitted, 0 (packets )?received' \
            || fail "host1 reaches $name ($addr) without the shim: $(cat "$dir/noshim-$name.txt")"
        printf '  %-36s %s\n' "host1 -> $name $addr (no shim)" "fails: $(grep -E 'packets transmitted' "$dir/noshim-$name.txt" || true)"
    done
done
note "  host2 keeps its shim:"
matrix '^host2 ' || fail "host2's cells failed while host1 had no shim"
apply 1 "$dir/host1.yaml" applied
note "  host1's shim back:"
matrix '^host1 ' || fail "host1's cells failed with its shim back"

heading "5. examples/macvlan.yaml as it is, on host1 (IPv4 only)"
for name in a1 a2; do dkn 1 rm -f "$name" >/dev/null; done
# web waits for netlab's connect with no network at all: Docker connects no
# network to a container in `none`.
dkn 1 run --net=none -d --name=web "$DOCKER_IMAGE" sleep 3600 >/dev/null
dkn 1 network disconnect none web
apply 1 "$NETLAB_SOURCE_DIR/examples/macvlan.yaml" applied
dkn 1 network inspect mynet >"$dir/inspect-example.json"
has_line json_get "$dir/inspect-example.json" '[c["IPv4Address"] for c in j[0]["Containers"].values() if c["Name"] == "web"]' -- \
    -xF "['198.51.100.21/24']" || { cat "$dir/inspect-example.json"; fail "the example's web is not connected with 198.51.100.21"; }
note "  docker network inspect mynet: web $(json_get "$dir/inspect-example.json" \
    '[c["IPv4Address"] for c in j[0]["Containers"].values() if c["Name"] == "web"][0]') (connected by netlab)"
note "  host1\$ docker run --net=mynet --ip=198.51.100.20 -itd --name=test1 busybox sh   (the example's comment)"
dkn 1 run --net=mynet --ip=198.51.100.20 -itd --name=test1 "$DOCKER_IMAGE" sh >/dev/null 2>"$dir/run-test1.err" \
    || { cat "$dir/run-test1.err"; fail "docker run test1 failed"; }
C_HOST[test1]=1 C_V4[test1]=198.51.100.20 C_HOST[web]=1 C_V4[web]=198.51.100.21
ROWS=("host1 test1 through the shim" "host1 web through the shim" "test1 web same host" "web test1 same host"
      "test1 gateway" "web remote" "b1 web other host" "remote test1")
MATRIX_V6=0
matrix . || fail "a cell failed with examples/macvlan.yaml (table above)"

for h in 2 1; do
    dk_host "$h"
    docker_down
done
docker_host_untouched || fail "a private dockerd wrote to the machine's Docker paths"
note "PASS ($((SECONDS - start)) s)"
