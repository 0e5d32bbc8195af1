#!/usr/bin/env bash
# A bridge the kernel would find full partway through a plan is refused
# before any write (issue 22, item 5). br0, made outside netlab, already
# holds 1023 ports (veth pairs): the kernel's limit (BR_MAX_PORTS is 1024,
# port 0 reserved), which a 1024th `ip link add ... master br0` proves by
# answering "Exchange full". A topology attaching two containers to br0
# passes the validator (it counts only the file's ports) but the plan's
# preflight counts the live ports: apply exits 1, status rejected, 0
# writes, the message names the count and the limit, and the host and both
# containers equal their dumps from before. With one port taken off by
# hand, one container attaches (1023 ports again).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl
dir=$(lab_tmp)
P="$LAB_ID-bf"
HOST="$P-host"
lab_ns_add "$HOST"
for c in c0 c1; do lab_ns_add "$P-$c"; done

ip -n "$HOST" link add br0 type bridge stp_state 0 forward_delay 0
ip -n "$HOST" addr add 198.51.100.1/24 dev br0
ip -n "$HOST" link set br0 up
for ((i = 1; i <= 1023; i++)); do echo "link add fp$i master br0 type veth peer name fq$i"; done >"$dir/ports.batch"
ip -n "$HOST" -batch "$dir/ports.batch"
ports=$(ip -n "$HOST" -o link show master br0 | wc -l)
[ "$ports" -eq 1023 ] || fail "br0 has $ports ports, not 1023"

heading "the kernel's limit: a 1024th port"
if out=$(ip -n "$HOST" link add fx master br0 type veth peer name fy 2>&1); then
    fail "the kernel took a 1024th port on br0"
fi
note "ip link add fx master br0 ...: $out"
grep -q "Exchange full" <<<"$out" || fail "expected 'Exchange full', got: $out"

topology() {  # CONTAINERS...
    echo "version: 1"
    echo "interfaces:"
    echo "  br0: {addresses: [198.51.100.1/24]}"
    echo "containers:"
    local c k=10
    for c in "$@"; do
        k=$((k + 1))
        echo "  $c: {netns: \"netns:$P-$c\", interfaces: {eth1: {bridge: br0, address: \"198.51.100.$k/24@198.51.100.1\"}}}"
    done
}
topology c0 c1 >"$dir/two.yaml"
topology c0 >"$dir/one.yaml"

dump_all() {  # OUT
    { ns_dump "$HOST"; for c in c0 c1; do echo "== $c"; ns_dump "$P-$c"; done; } >"$1"
}

heading "two containers on the full bridge: refused before any write"
dump_all "$dir/before"
nl_apply "$HOST" "$dir/two.yaml" "$dir/two.json"
show_apply "$dir/two.json"
[ "$APPLY_RC" -eq 1 ] || fail "apply exited $APPLY_RC, expected 1"
[ "$APPLY_STATUS" = rejected ] || fail "status $APPLY_STATUS, expected rejected"
writes=$(json_get "$dir/two.json" 'j["writes"]')
[ "$writes" -eq 0 ] || fail "$writes netlink writes, expected 0"
grep -q "br0: would hold 1025 ports after this plan (1023 now); a Linux bridge holds at most 1023" "$dir/two.json" \
    || fail "the refusal does not name the count and the limit"
grep -q "BR_MAX_PORTS" "$dir/two.json" || fail "the refusal does not name BR_MAX_PORTS"
dump_all "$dir/after"
assert_same_dump "refused apply" "$dir/before" "$dir/after"
note "ok: rejected with 0 writes, host and containers unchanged"

heading "one port taken off by hand: one container attaches"
ip -n "$HOST" link del fp1
nl_apply "$HOST" "$dir/one.yaml" "$dir/one.json"
[ "$APPLY_RC" -eq 0 ] && [ "$APPLY_STATUS" = applied ] || { show_apply "$dir/one.json"; fail "apply of one container failed"; }
ports=$(ip -n "$HOST" -o link show master br0 | wc -l)
[ "$ports" -eq 1023 ] || fail "br0 has $ports ports after the attach, not 1023"
note "ok: applied, br0 holds 1023 ports"
echo "PASS"
