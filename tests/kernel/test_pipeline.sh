#!/usr/bin/env bash
# Pipelined execution (reconcile/nl/pipeline.cpp): each namespace's requests
# go out together, so after a refusal the requests after it in the same send
# have been carried out too. The rollback must undo them.
#
# A host namespace with br0 and three container namespaces; c2 has IPv6
# disabled, so of its steps (eth1 up, 198.51.100.32/24, 2001:db8::32/64,
# default route) the IPv6 address is refused (EACCES) while the route after
# it, sent in the same batch, is added. The apply must report that address as
# the failing step with the kernel's errno, roll back to status rolled_back,
# and leave the host and every container equal to their dumps from before;
# `ip monitor` in c2 proves the route was there in between. Then, with IPv6
# back on in c2, the same apply attaches all three and a second apply is
# a no-op.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

dir=$(lab_tmp)
LAB_GEN=$((LAB_GEN + 1))
P="$LAB_ID-$LAB_GEN"
H="$P-host"
lab_ns_add "$H"
# A set MAC: a bridge with a random one takes its ports' and loses it with the last.
ip -n "$H" link add br0 address 02:00:c6:33:64:01 type bridge stp_state 0 forward_delay 0
ip -n "$H" addr add 198.51.100.1/24 dev br0
ip -n "$H" addr add 2001:db8::1/64 dev br0 nodad
ip -n "$H" link set br0 up
# A foreign port, so br0 has its carrier (and its fe80:: address) before the
# snapshot, not only while netlab's ports are on it.
ip -n "$H" link add d0 type veth peer name d1
ip -n "$H" link set d1 up
ip -n "$H" link set d0 master br0 up
br0_settled() {
    local out
    out=$(ip -n "$H" -6 addr show dev br0 scope link) || return 1
    grep -q 'inet6 fe80' <<<"$out" && ! grep -q tentative <<<"$out"
}
poll_until 60 br0_settled || fail "br0 has no settled link-local address: $(ip -n "$H" addr show dev br0)"
for c in c1 c2 c3; do lab_ns_add "$P-$c"; done
in_ns "$P-c2" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns "$P-c2" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

topo="$dir/topology.yaml"
{
    echo "version: 1"
    echo "interfaces:"
    echo "  br0: {kind: bridge, stp: false, addresses: [198.51.100.1/24, 2001:db8::1/64]}"
    echo "containers:"
    for k in 1 2 3; do
        echo "  c$k:"
        echo "    netns: \"netns:$P-c$k\""
        echo "    interfaces:"
        echo "      eth1:"
        echo "        bridge: br0"
        echo "        addresses: [198.51.100.3$k/24, 2001:db8::3$k/64]"
        echo "        gateway: 198.51.100.1"
    done
} >"$topo"

dump_all() {
    local ns
    for ns in "$H" "$P-c1" "$P-c2" "$P-c3"; do
        echo "### $ns"
        ns_dump "$ns" | sed "s/$P-//g"
    done
}

heading "apply with IPv6 disabled in c2"
nlctl "$H" plan "$topo" >"$dir/plan.txt" 2>&1 || true  # exits non-zero when there are changes
cat "$dir/plan.txt"
dump_all >"$dir/before"
monitor_start "$P-c2" "$dir/monitor"
nl_apply "$H" "$topo" "$dir/apply.json"
monitor_stop
dump_all >"$dir/after"
show_apply "$dir/apply.json"

[ "$APPLY_RC" -eq 3 ] && [ "$APPLY_STATUS" = rolled_back ] \
    || fail "expected exit 3 (rolled back) and status rolled_back (got $APPLY_RC, $APPLY_STATUS)"
failed=$(json_get "$dir/apply.json" 'j["steps"][j["failed_step"] - 1]["text"]')
error=$(json_get "$dir/apply.json" 'j.get("error")')
note "failing step: $failed"
note "error: $error"
grep -q "2001:db8::32" <<<"$failed" || fail "the failing step should be c2's IPv6 address, not: $failed"
grep -q "Permission denied" <<<"$error" || fail "the error should be the kernel's EACCES, not: $error"
note "c2's routes as ip monitor saw them during the apply:"
cat "$dir/monitor"
# ip monitor names the device when it prints the event: a line it prints
# after the rollback deleted eth1 says "dev ifN".
grep -Eq "^default via 198.51.100.1 dev (eth1|if[0-9]+) " "$dir/monitor" \
    || fail "c2's default route (after the refused step, same batch) was never added: nothing to prove"
if ! diff -u --label before --label after "$dir/before" "$dir/after"; then
    fail "the rollback did not restore the host and the containers exactly"
fi
note "  host and containers equal their snapshots"

heading "apply with IPv6 on in c2"
in_ns "$P-c2" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
in_ns "$P-c2" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
nl_apply "$H" "$topo" "$dir/apply2.json"
[ "$APPLY_RC" -eq 0 ] && [ "$APPLY_STATUS" = applied ] || { show_apply "$dir/apply2.json"; fail "apply failed"; }
note "  applied, $(json_get "$dir/apply2.json" 'j.get("writes")') netlink writes"
for k in 1 2 3; do
    addrs=$(ip -n "$P-c$k" -o addr show dev eth1)
    grep -q "198.51.100.3$k/24" <<<"$addrs" || fail "c$k lacks its IPv4 address: $addrs"
    grep -q "2001:db8::3$k/64" <<<"$addrs" || fail "c$k lacks its IPv6 address: $addrs"
    has_line ip -n "$P-c$k" route show default -- "via 198.51.100.1 dev eth1" || fail "c$k lacks its default route"
    has_line ip -n "$P-c$k" link show eth1 -- "alias netlab:veth-peer" || fail "c$k's eth1 lacks the ownership alias"
done
nl_apply "$H" "$topo" "$dir/apply3.json"
[ "$APPLY_STATUS" = converged ] || { show_apply "$dir/apply3.json"; fail "a second apply should change nothing"; }
note "PASS: a refusal in the middle of a batch is rolled back exactly; the batched apply converges"
