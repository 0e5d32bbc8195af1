#!/usr/bin/env bash
# netlabctl show on one lab, three hosts in turn: what it writes is a topology
# that `netlabctl plan` finds converged (exit 0), and showing changes nothing.
#   1. a fresh host (the NIC as an admin left it; a foreign route is a note);
#   2. the same host after a bridge takeover, with an address whose broadcast
#      is not the default one;
#   3. a container host: a bridge, a container on it with an on_link gateway
#      and routes (IPv4 and IPv6), shown with --netns NAME=netns:...; then
#      as --json.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files

# show_ns NS OUT [show args...]: netlabctl show inside NS, to OUT; the
# namespace's dump before and after must be the same (show only reads).
show_ns() {
    local ns=$1 out=$2; shift 2
    ns_dump "$ns" >"$out.before"
    in_ns "$ns" "$NETLABCTL" show "$@" >"$out" || fail "netlabctl show $* failed in $ns"
    ns_dump "$ns" >"$out.after"
    assert_same_dump "netlabctl show" "$out.before" "$out.after"
}

# converged NS FILE: plan on FILE finds nothing to do.
converged() {
    local rc=0
    nlctl "$1" plan "$2" || rc=$?
    [ "$rc" -eq 0 ] || fail "plan on the shown file: exit $rc, not 0 (converged); the file:
$(cat "$2")"
}

lab_up

heading "1. a fresh host"
show_ns "$NS_HOST1" "$dir/fresh.yaml"
cat "$dir/fresh.yaml"
has_line cat "$dir/fresh.yaml" -- "^  ens33:" || fail "ens33 is not in the shown topology"
# The lab added it as `ip addr add` does, without a broadcast: shown so.
has_line cat "$dir/fresh.yaml" -- "address: $HOST1_ADDR/$LAN_PREFIX" || fail "ens33's address is not shown"
has_line cat "$dir/fresh.yaml" -- "^# route default via $GW_LAN_ADDR dev ens33 proto static is not netlab's" \
    || fail "the admin's default route is not a note"
converged "$NS_HOST1" "$dir/fresh.yaml"
note "  plan on it: converged"

heading "2. after a bridge takeover, and an address with broadcast none"
nlctl "$NS_HOST1" apply "$topo" >/dev/null
ip -n "$NS_HOST1" addr add 203.0.113.9/24 broadcast 0.0.0.0 dev br0
ip -n "$NS_HOST1" -br addr show br0
show_ns "$NS_HOST1" "$dir/takeover-shown.yaml"
cat "$dir/takeover-shown.yaml"
has_line cat "$dir/takeover-shown.yaml" -- "ports: \[ens33\]" || fail "br0's port is not shown"
has_line cat "$dir/takeover-shown.yaml" -- "mac: ens33" || fail "br0's MAC is not shown as ens33's"
has_line cat "$dir/takeover-shown.yaml" -- "address: 203.0.113.9/24" || fail "203.0.113.9/24 is not shown"
has_line cat "$dir/takeover-shown.yaml" -- "broadcast: none" || fail "the address without broadcast is not shown so"
converged "$NS_HOST1" "$dir/takeover-shown.yaml"
note "  plan on it: converged"

heading "3. a container host, the container named with --netns"
lab_destroy
lab_up
c1="$LAB_PREFIX-c1"
lab_ns_add "$c1"
cat >"$dir/containers.yaml" <<YAML
version: 1
interfaces:
  br1:
    kind: bridge
    ports: []
    mtu: 9000
    addresses: [203.0.113.1/24]
containers:
  web:
    netns: netns:$c1
    interfaces:
      eth1:
        bridge: br1
        addresses: [198.51.100.99/32, 2001:db8:1::5/128]
        gateway: 203.0.113.1
        on_link: true
        routes:
          - to: 192.0.2.0/24
            via: 203.0.113.254
            on_link: true
            metric: 7
          - to: 2001:db8:9::/48
            via: 2001:db8:2::1
            on_link: true
YAML
nlctl "$NS_HOST1" apply "$dir/containers.yaml" >/dev/null
ip -n "$c1" -br addr; ip -n "$c1" route
show_ns "$NS_HOST1" "$dir/ct-shown.yaml" --netns "web=netns:$c1"
cat "$dir/ct-shown.yaml"
has_line cat "$dir/ct-shown.yaml" -- "bridge: br1" || fail "web's eth1 is not shown on br1"
has_line cat "$dir/ct-shown.yaml" -- "on_link: true" || fail "the on_link gateway is not shown"
converged "$NS_HOST1" "$dir/ct-shown.yaml"
note "  plan on it: converged"

# Without --netns the container's host end is a note saying what a plan would do.
show_ns "$NS_HOST1" "$dir/host-only.yaml"
has_line cat "$dir/host-only.yaml" -- "is the host end of a netlab container's veth" \
    || fail "the container's host end is not a note: $(cat "$dir/host-only.yaml")"

in_ns "$NS_HOST1" "$NETLABCTL" show --json --netns "web=netns:$c1" >"$dir/ct-shown.json" || fail "show --json failed"
[ "$(json_get "$dir/ct-shown.json" 'j["format"] == 1 and j["topology"]["containers"]["web"]["interfaces"]["eth1"]["bridge"]')" = br1 ] \
    || fail "show --json: $(cat "$dir/ct-shown.json")"

# A target that is not there: a clear error, exit 1.
rc=0
err=$(in_ns "$NS_HOST1" "$NETLABCTL" show --netns "gone=netns:$LAB_PREFIX-nosuch" 2>&1 >/dev/null) || rc=$?
note "  missing namespace: exit $rc: $err"
[ "$rc" -eq 1 ] || fail "show with a missing namespace: exit $rc, not 1"
has_line printf '%s\n' "$err" -- "gone=netns:$LAB_PREFIX-nosuch" || fail "the error does not name the target"

note "PASS: netlabctl show: a fresh host, a takeover and a container host are each shown as a converged topology"
