#!/usr/bin/env bash
# Announcements after an apply (issue 17, item 3), on one lab (lib.sh's:
# host1 with ens33 on the LAN switch, the gateway with lan0 on it). The lab
# gateway holds a stale neighbour entry for an address whose MAC the apply
# changes; each change is made once with `announce: false` and once with the
# default, on the same lab, so the entry flipping cannot come from the
# change alone:
#
#  1. Container c1 on br0 (198.51.100.20 and 2001:db8:1::20, DAD off in
#     c1): its `mac:` changed with announcements off leaves the gateway's
#     ARP and ND entries on the old MAC; changed again with them on, both
#     entries hold the new MAC after the apply, and `announced` is 2.
#  2. The takeover with a literal `mac:` on br0 (not ens33's): with
#     announcements off the gateway's entry for 198.51.100.10 keeps ens33's
#     MAC; after the removal (announce off again, the address back on ens33),
#     the same takeover with them on flips it to br0's MAC.
#
# The gateway's `ip neigh` lines are printed at each point.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

dir=$(lab_tmp)
lab_up
H=$NS_HOST1 G=$NS_GW
C1="$LAB_PREFIX-c1"
lab_ns_add "$C1"
# No duplicate address detection in c1: its IPv6 address is usable (and
# announced) at once instead of tentative for a second.
in_ns "$C1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$G" addr add 2001:db8:1::1/64 dev lan0 nodad
ENS33_MAC=$(ip -n "$H" -br link show dev ens33 | awk '{print $3}')

must_apply() {
    nl_apply "$@"
    [ "$APPLY_RC" -eq 0 ] || { show_apply "$3"; fail "apply of $2 in $1 failed"; }
    ANNOUNCED=$(json_get "$3" 'j.get("announced")')
    # Each address no round sent, with netlab's reason (tentative, a send error).
    NOT_ANNOUNCED=$(json_get "$3" '"; ".join("%s %s in %r: %s" % (m["address"], m["link"], m["ns"], m["reason"]) for m in j.get("not_announced", []))')
    note "  $APPLY_STATUS, $(json_get "$3" 'j.get("writes")') netlink writes, announced $ANNOUNCED${NOT_ANNOUNCED:+, not announced: $NOT_ANNOUNCED}"
}
# gw_lladdr ADDR: the MAC the gateway's entry for ADDR holds ("none" without one).
gw_lladdr() {
    local l
    l=$(ip -n "$G" neigh show dev lan0 to "$1")
    [[ $l =~ lladdr\ ([0-9a-f:]+) ]] && { printf '%s\n' "${BASH_REMATCH[1]}"; return; }
    printf 'none\n'
}
gw_neigh() { note "  gateway: $(ip -n "$G" neigh show dev lan0 to "$1")"; }
gw_holds() { [ "$(gw_lladdr "$1")" = "$2" ]; }
# expect_kept ADDR MAC WHY: the entry still holds MAC right after the apply.
expect_kept() {
    gw_neigh "$1"
    gw_holds "$1" "$2" || fail "$3: the gateway's entry for $1 is $(gw_lladdr "$1"), expected it to keep $2"
}
# expect_learnt ADDR MAC WHY: the entry holds MAC (polled: the frames are
# sent before the apply returns, the gateway's softirq takes them soon after).
expect_learnt() {
    poll_until 5 gw_holds "$1" "$2" || { gw_neigh "$1"; fail "$3: the gateway's entry for $1 is $(gw_lladdr "$1"), not $2"; }
    gw_neigh "$1"
}

OLD=02:00:00:00:aa:01 MID=02:00:00:00:aa:02 NEW=02:00:00:00:aa:03
c1_yaml() {  # FILE MAC ANNOUNCE: the takeover (lib.sh) and c1 on br0
    write_takeover_yaml "$1"
    cat >>"$1" <<EOF
announce: $3
containers:
  c1:
    netns: netns:$C1
    interfaces:
      eth1:
        bridge: br0
        mac: $2
        addresses: [198.51.100.20/24, "2001:db8:1::20/64"]
EOF
}

heading "1. container c1's mac changed: announcements off, then on"
c1_yaml "$dir/c1-old.yaml" "$OLD" true
must_apply "$H" "$dir/c1-old.yaml" "$dir/c1-old.json"
# The stale entries a neighbour keeps from c1's old MAC. `extern_learn`
# keeps them out of the kernel's neighbour GC: the ARP and ND tables are
# shared by every namespace, and when other namespaces hold more than
# gc_thresh2 (512) entries a forced GC drops any entry idle for 5 s, which
# would leave nothing for the announcement to correct. An unsolicited NA or
# gratuitous ARP still updates such an entry (only NOARP and PERMANENT ones
# are closed to the kernel's own updates).
ip -n "$G" neigh replace 198.51.100.20 lladdr "$OLD" dev lan0 nud stale extern_learn
ip -n "$G" neigh replace 2001:db8:1::20 lladdr "$OLD" dev lan0 nud stale extern_learn
gw_neigh 198.51.100.20
gw_neigh 2001:db8:1::20

c1_yaml "$dir/c1-mid.yaml" "$MID" false
must_apply "$H" "$dir/c1-mid.yaml" "$dir/c1-mid.json"
[ "$ANNOUNCED" = 0 ] || fail "announce: false announced $ANNOUNCED addresses"
expect_kept 198.51.100.20 "$OLD" "announce: false"
expect_kept 2001:db8:1::20 "$OLD" "announce: false"

c1_yaml "$dir/c1-new.yaml" "$NEW" true
must_apply "$H" "$dir/c1-new.yaml" "$dir/c1-new.json"
[ "$ANNOUNCED" = 2 ] || fail "announced $ANNOUNCED addresses, expected c1's 2; not announced: ${NOT_ANNOUNCED:-none reported}"
expect_learnt 198.51.100.20 "$NEW" "announce: true"
expect_learnt 2001:db8:1::20 "$NEW" "announce: true"
printf 'version: 1\n' >"$dir/empty.yaml"
must_apply "$H" "$dir/empty.yaml" "$dir/empty1.json"

heading "2. the host's address moved to a bridge with a MAC of its own: off, then on"
BR_MAC=02:00:00:00:bb:01
takeover_yaml() {  # FILE ANNOUNCE
    cat >"$1" <<EOF
version: 1
announce: $2
interfaces:
  br0:
    kind: bridge
    ports: [ens33]
    mac: $BR_MAC
    stp: false
    addresses: [$HOST1_ADDR/$LAN_PREFIX]
routes:
  - to: default
    via: $GW_LAN_ADDR
    dev: br0
EOF
}
ip -n "$G" neigh replace "$HOST1_ADDR" lladdr "$ENS33_MAC" dev lan0 nud stale extern_learn
gw_neigh "$HOST1_ADDR"
takeover_yaml "$dir/take-off.yaml" false
must_apply "$H" "$dir/take-off.yaml" "$dir/take-off.json"
expect_kept "$HOST1_ADDR" "$ENS33_MAC" "takeover, announce: false"
printf 'version: 1\nannounce: false\n' >"$dir/empty-off.yaml"
must_apply "$H" "$dir/empty-off.yaml" "$dir/empty2.json"
expect_kept "$HOST1_ADDR" "$ENS33_MAC" "removal, announce: false"
takeover_yaml "$dir/take-on.yaml" true
must_apply "$H" "$dir/take-on.yaml" "$dir/take-on.json"
[ "$ANNOUNCED" = 1 ] || fail "the takeover announced $ANNOUNCED addresses, expected br0's 1; not announced: ${NOT_ANNOUNCED:-none reported}"
expect_learnt "$HOST1_ADDR" "$BR_MAC" "takeover, announce: true"
seen=$(lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3) || fail "the remote cannot reach host1 after the takeover (last try: $seen)"

note "PASS: the gateway learnt each new MAC from the announcements, and kept the old one without them"
