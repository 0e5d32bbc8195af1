#!/usr/bin/env bash
# Attachments as good as the tools they replace (issue 17), on one lab
# (lib.sh's: host1 with ens33 on the LAN switch, the gateway, the remote):
#
#  1. Broadcast: host1's ens33 holds its address with `brd +` and a label,
#     as a distribution's network manager leaves it. netlab takes it over
#     (br0) and attaches container c1 to br0; beside it, namespace "pw" is
#     wired with the `ip` commands pipework runs (veth, `ip addr add ... brd +`,
#     route replace). c1's and pw's `ip addr`/`ip route` are printed side by
#     side and must show the same brd; br0 has ens33's exact attributes; /31
#     and /32 get no brd; `broadcast:` overrides and `none` disables. Removal
#     gives ens33 back its exact dump.
#  3. On-link gateway: c2 with 198.51.100.20/32@198.51.100.1 is refused
#     without `on_link: true` (file:line:col, nothing changed) and with it
#     reaches the remote subnet through the lab gateway; the plan adds the
#     host route to the gateway before the default route.
#  2. MTU: bridge br9 with mtu 9000 and container c9 on it (no mtu written):
#     both veth ends get 9000 and c9 pings br9 with `ping -M do -s 8000`;
#     br9's mtu changed to 4000 changes both ends in the same apply.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

dir=$(lab_tmp)
lab_up
H=$NS_HOST1 P=$LAB_PREFIX
C1="$P-c1" PW="$P-pw" C9="$P-c9"
for ns in "$C1" "$PW" "$C9"; do lab_ns_add "$ns"; done

must_apply() {
    nl_apply "$@"
    [ "$APPLY_RC" -eq 0 ] || { show_apply "$3"; fail "apply of $2 in $1 failed"; }
    note "  $APPLY_STATUS, $(json_get "$3" 'j.get("writes")') netlink writes"
}
# addr_line NS DEV ADDR: the `ip -4 -o addr` line of ADDR on DEV, fields from
# "inet" on, without the lifetimes.
addr_line() {
    local l
    l=$(ip -n "$1" -4 -o addr show dev "$2" to "$3/32")
    l=${l#*inet }
    l=${l%%\\*}
    printf 'inet %s\n' "$l"
}

# ens33 as a distribution's network manager leaves it: brd and a label.
ip -n "$H" addr flush dev ens33
ip -n "$H" addr add "$HOST1_ADDR/$LAN_PREFIX" brd + dev ens33 label ens33:lan
ip -n "$H" route add default via "$GW_LAN_ADDR" dev ens33 proto static
ns_dump "$H" >"$dir/host1.before"
ens33_before=$(addr_line "$H" ens33 "$HOST1_ADDR")
note "ens33 before: $ens33_before"

heading "1. broadcast addresses: takeover, container c1, and pipework's commands in pw"
cat >"$dir/t1.yaml" <<EOF
version: 1
interfaces:
  br0:
    kind: bridge
    ports: [ens33]
    mac: ens33
    stp: false
    addresses: [$HOST1_ADDR/$LAN_PREFIX]
  br9:
    kind: bridge
    mtu: 9000
    addresses: [203.0.113.193/26]
routes:
  - to: default
    via: $GW_LAN_ADDR
    dev: br0
containers:
  c1:
    netns: netns:$C1
    interfaces:
      eth1:
        bridge: br0
        addresses:
          - 198.51.100.22/24
          - 198.51.100.220/31
          - 198.51.100.222/32
          - address: 203.0.113.100/27
            broadcast: 203.0.113.120
          - address: 203.0.113.140/28
            broadcast: none
        gateway: $GW_LAN_ADDR
  c9:
    netns: netns:$C9
    interfaces:
      eth1:
        bridge: br9
        address: 203.0.113.200/26
EOF
must_apply "$H" "$dir/t1.yaml" "$dir/a1.json"

# pipework br0 pw 198.51.100.21/24@198.51.100.1, as the ip commands it runs.
mtu=$(ip -n "$H" -o link show br0); mtu=${mtu#*mtu }; mtu=${mtu%% *}
ip -n "$H" link add pwh mtu "$mtu" type veth peer name pwg mtu "$mtu" netns "$PW"
ip -n "$H" link set pwh master br0
ip -n "$H" link set pwh up
ip -n "$PW" link set pwg name eth1
ip -n "$PW" addr add 198.51.100.21/24 brd + dev eth1
ip -n "$PW" link set eth1 up
ip -n "$PW" route replace default via "$GW_LAN_ADDR" dev eth1

note "-- c1 (netlab): ip addr show eth1; ip route"
ip -n "$C1" addr show dev eth1
ip -n "$C1" route
note "-- pw (pipework's commands): ip addr show eth1; ip route"
ip -n "$PW" addr show dev eth1
ip -n "$PW" route
note "-- host1: ip addr show br0"
ip -n "$H" addr show dev br0

c1_line=$(addr_line "$C1" eth1 198.51.100.22)
pw_line=$(addr_line "$PW" eth1 198.51.100.21)
note "c1: $c1_line"
note "pw: $pw_line"
[ "${c1_line/198.51.100.22/X}" = "${pw_line/198.51.100.21/X}" ] || fail "c1's address differs from pipework's"
[ "$c1_line" = "inet 198.51.100.22/24 brd 198.51.100.255 scope global eth1" ] || fail "c1: unexpected: $c1_line"
for a in 198.51.100.220 198.51.100.222; do
    l=$(addr_line "$C1" eth1 "$a")
    case $l in *brd*) fail "c1: $a has a broadcast: $l" ;; esac
done
[ "$(addr_line "$C1" eth1 203.0.113.100)" = "inet 203.0.113.100/27 brd 203.0.113.120 scope global eth1" ] \
    || fail "c1: broadcast override not applied: $(addr_line "$C1" eth1 203.0.113.100)"
case $(addr_line "$C1" eth1 203.0.113.140) in *brd*) fail "c1: broadcast: none not applied" ;; esac
br0_line=$(addr_line "$H" br0 "$HOST1_ADDR")
[ "$br0_line" = "inet $HOST1_ADDR/$LAN_PREFIX brd 198.51.100.255 scope global br0:lan" ] \
    || fail "br0 lacks ens33's attributes: $br0_line (ens33 had: $ens33_before)"
lab_reach_soon "$C1" "$REMOTE_ADDR" >/dev/null || fail "c1 cannot reach the remote"
plan_steps "$H" "$dir/t1.yaml" "$dir/p1.json"
[ "$PLAN_RC" -eq 0 ] || { cat "$dir/p1.json"; fail "plan after apply: exit $PLAN_RC, not converged"; }

heading "2. MTU: c9 on br9 (mtu 9000)"
host_end=$(ip -n "$H" -o link show master br9)
note "$host_end"
c9_mtu=$(ip -n "$C9" -o link show eth1); c9_mtu=${c9_mtu#*mtu }; c9_mtu=${c9_mtu%% *}
[ "$c9_mtu" = 9000 ] || fail "c9's eth1 has mtu $c9_mtu, not br9's 9000"
grep -q "mtu 9000 " <<<"$host_end" || fail "the host end is not at 9000: $host_end"
poll_until 10 in_ns "$C9" ping -n -q -c 1 -W 1 -M do -s 8000 203.0.113.193 \
    || fail "c9 cannot ping br9 with 8000-byte unfragmented packets"
out=$(in_ns "$C9" ping -n -c 1 -W 1 -M do -s 8000 203.0.113.193 2>&1) || true
grep -E "bytes from|transmitted" <<<"$out" || true
sed 's/mtu: 9000/mtu: 4000/' "$dir/t1.yaml" >"$dir/t1b.yaml"
plan_table "$H" "$dir/t1b.yaml" "$dir/p1b.json" "br9 mtu 9000 -> 4000"
must_apply "$H" "$dir/t1b.yaml" "$dir/a1b.json"
for l in "$(ip -n "$H" -o link show br9)" "$(ip -n "$H" -o link show master br9)" "$(ip -n "$C9" -o link show eth1)"; do
    grep -q "mtu 4000 " <<<"$l" || fail "not at mtu 4000 after the change: $l"
done
note "br9, its port and c9's eth1 are at mtu 4000"

heading "3. on-link gateway: c2 with 198.51.100.20/32, gateway $GW_LAN_ADDR outside it"
C2="$P-c2"
lab_ns_add "$C2"
onlink_yaml() {  # onlink_yaml FILE MARK: t1b.yaml plus c2
    cp "$dir/t1b.yaml" "$1"
    printf '  c2:\n    netns: netns:%s\n    interfaces:\n      eth1:\n        bridge: br0\n' "$C2" >>"$1"
    printf '        address: 198.51.100.20/32@%s\n' "$GW_LAN_ADDR" >>"$1"
    [ -z "$2" ] || printf '%s\n' "$2" >>"$1"
}
onlink_yaml "$dir/t3bad.yaml" ""
ns_dump "$H" >"$dir/host1.t3"
check_rc=0
"$NETLABCTL" check "$dir/t3bad.yaml" >"$dir/check3.out" 2>&1 || check_rc=$?
cat "$dir/check3.out"
[ "$check_rc" -eq 1 ] || fail "check without on_link: exit $check_rc, expected 1"
line=$(grep -n "address: 198.51.100.20/32" "$dir/t3bad.yaml"); line=${line%%:*}
grep -qF "t3bad.yaml:$line:18: error: container 'c2' eth1: gateway $GW_LAN_ADDR is outside every subnet" "$dir/check3.out" \
    || fail "check without on_link: no file:line:col error for the gateway"
nl_apply "$H" "$dir/t3bad.yaml" "$dir/a3bad.json"
[ "$APPLY_RC" -ne 0 ] || fail "apply without on_link succeeded"
ns_dump "$H" >"$dir/host1.t3b"
assert_same_dump "apply refused without on_link" "$dir/host1.t3" "$dir/host1.t3b"
[ -z "$(ip -n "$C2" link show eth1 2>/dev/null)" ] || fail "c2 has an eth1 although the apply was refused"

onlink_yaml "$dir/t3.yaml" "        on_link: true"
plan_table "$H" "$dir/t3.yaml" "$dir/p3.json" "c2 with an on-link gateway"
must_apply "$H" "$dir/t3.yaml" "$dir/a3.json"
note "-- c2: ip addr show eth1; ip route"
ip -n "$C2" -4 addr show dev eth1
ip -n "$C2" route
c2_routes=$(ip -n "$C2" route)
grep -q "^default via $GW_LAN_ADDR dev eth1" <<<"$c2_routes" || fail "c2: no default via $GW_LAN_ADDR"
grep -q "^$GW_LAN_ADDR dev eth1 .*scope link" <<<"$c2_routes" || fail "c2: no on-link route to $GW_LAN_ADDR"
lab_reach_soon "$C2" "$REMOTE_ADDR" >/dev/null || fail "c2 cannot reach the remote $REMOTE_ADDR through its on-link gateway"
note "c2 reaches the remote $REMOTE_ADDR"
plan_steps "$H" "$dir/t3.yaml" "$dir/p3b.json"
[ "$PLAN_RC" -eq 0 ] || { cat "$dir/p3b.json"; fail "plan after the on-link apply: exit $PLAN_RC"; }
plan_table "$H" "$dir/t1b.yaml" "$dir/p3c.json" "c2 dropped from the topology"
must_apply "$H" "$dir/t1b.yaml" "$dir/a3c.json"

heading "removal: ens33 gets its address back exactly"
ip -n "$H" link del pwh
printf 'version: 1\n' >"$dir/empty.yaml"
must_apply "$H" "$dir/empty.yaml" "$dir/a9.json"
ns_dump "$H" >"$dir/host1.after"
note "ens33 after: $(addr_line "$H" ens33 "$HOST1_ADDR")"
assert_same_dump "removal after the takeover" "$dir/host1.before" "$dir/host1.after"
note "PASS"
