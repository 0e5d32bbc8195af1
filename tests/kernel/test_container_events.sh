#!/usr/bin/env bash
# Container events judged like the host's (issue 24): netlabd in a host
# namespace with br0 attaches 100 named-netns containers (veth on br0, IPv4
# and IPv6 addresses, default route). Right after that apply the kernel keeps
# talking in every container and on the host ends (IPv6 DAD ending,
# link-local addresses and their routes, carrier): none of it leaves anything
# netlab manages other than desired, so
#  1. the first no-change reload, asked as soon as the last container's IPv6
#     DAD has ended (the others' follow-ups still arriving), is answered by
#     the fast path (the reply and the log say so);
#  2. an owned address deleted inside one container in that window marks
#     that container dirty, and only it: the next reload is a full one that
#     names it, observes only it (the host and the 99 others come from the
#     last reconcile) and puts the address back;
#  3. a foreign address on a link created in a container before the attach
#     (its creation never heard) leaves the next reload fast: the link is
#     named by asking the kernel (RTM_GETLINK by nsid), not taken as unknown.
# With `drift: report` (part 2's deletion waits for the reload). Times are
# measured and printed, never asserted; every wait polls with a
# deadline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
lab_require
lab_require_netlabctl
[ -x "$NETLAB_BIN/netlabd" ] || skip "netlabd not built at $NETLAB_BIN/netlabd"

N=100
VICTIM=42
dir=$(lab_tmp)
LAB_GEN=$((LAB_GEN + 1))
P="$LAB_ID-$LAB_GEN"
H="$P-host"
lab_ns_add "$H"
ip -n "$H" link add br0 address 02:00:c6:33:64:01 type bridge stp_state 0 forward_delay 0
ip -n "$H" addr add 198.51.100.1/24 dev br0
ip -n "$H" addr add 2001:db8::1/64 dev br0 nodad
ip -n "$H" link set br0 up

# The containers' namespaces in one `ip -batch` (one process, not 2N).
for ((k = 1; k <= N; k++)); do echo "netns add $P-c$k"; done >"$dir/netns.batch"
for ((k = 1; k <= N; k++)); do LAB_NAMESPACES+=("$P-c$k"); done
ip -batch "$dir/netns.batch"
for ((k = 1; k <= N; k++)); do
    in_ns "$P-c$k" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
done
# A foreign link in c7 from before the attach (so before c7 has an nsid, and
# netlabd never hears its creation): part 3 gives it an address.
FOREIGN_NS="$P-c7"
ip -n "$FOREIGN_NS" link add x0 type veth peer name x1
ip -n "$FOREIGN_NS" link set x0 up

ETC=$dir/etc
mkdir -p "$ETC"
{
    echo "version: 1"
    # Report only: the address deleted in part 2 waits for the reload
    # (with repair, netlabd would repair it by itself first).
    echo "drift: report"
    echo "interfaces:"
    echo "  br0: {kind: bridge, stp: false, addresses: [198.51.100.1/24, 2001:db8::1/64]}"
    echo "containers:"
    for ((k = 1; k <= N; k++)); do
        echo "  c$k:"
        echo "    netns: \"netns:$P-c$k\""
        echo "    interfaces:"
        echo "      eth1:"
        echo "        bridge: br0"
        echo "        addresses: [198.51.100.$((100 + k))/24, 2001:db8::$(printf '%x' $((256 + k)))/64]"
        echo "        gateway: 198.51.100.1"
    done
} >"$ETC/topology.yaml"
VICTIM_NS="$P-c$VICTIM"
VICTIM_ADDR="198.51.100.$((100 + VICTIM))"

STATUS=$dir/status.json
REPLY=$dir/reload.json
st() { json_get "$STATUS" "$1"; }
r() { json_get "$REPLY" "$1"; }
# reload: netlabctl reload --json into $REPLY; prints what it was.
reload() {
    "$NETLABCTL" reload --socket "$NLD_SOCK" --json --timeout 120 >"$REPLY" \
        || { cat "$REPLY" >&2; netlabd_fail "netlabctl reload failed"; }
    note "  reload: $(r 'j["result"]["status"]'), $(r 'j["result"]["writes"]') writes, $(r '"fast path" if j["result"].get("fast") else "full: " + j["result"].get("full_because", "?")')"
}
is_fast() { [ "$(r 'j["result"].get("fast") is True')" = True ]; }
has_addr() {
    local out
    out=$(ip -n "$1" -o -4 addr show dev eth1 2>/dev/null) || return 1
    grep -q " $2/" <<<"$out"
}

heading "1. the first no-change reload right after attaching $N containers"
netlabd_start "$H" "$ETC" --debounce 100
netlabd_status "$STATUS"
# The reload comes once the kernel's follow-ups are under way: the last
# container's IPv6 DAD has ended (about a second after its address was
# added), so the others' events are arriving meanwhile.
dad_done() {
    local out
    out=$(ip -n "$P-c$N" -6 addr show dev eth1 2>/dev/null) || return 1
    grep -q "inet6 fe80" <<<"$out" && ! grep -q tentative <<<"$out"
}
for i in $(seq 1 600); do dad_done && break; sleep 0.05; done
dad_done || netlabd_fail "c$N's IPv6 DAD never ended: $(ip -n "$P-c$N" -6 addr show dev eth1)"
"$NETLABCTL" reload --socket "$NLD_SOCK" --json --timeout 120 >"$REPLY" \
    || { cat "$REPLY" >&2; netlabd_fail "netlabctl reload failed"; }
# In the same window: an owned address deleted inside one container.
ip -n "$VICTIM_NS" addr del "$VICTIM_ADDR/24" dev eth1
"$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 10 >"$dir/status-after.json"
[ "$(st 'j["last"]["status"]')" = applied ] || netlabd_fail "the start-up reconcile was not applied: $(st 'j["last"]')"
[ "$(st 'j["fast_reload"]["containers_heard"]')" = True ] || netlabd_fail "container namespaces' events are not heard"
# Both times are netlabd's own: when the apply finished, when the reload was answered.
gap=$("$PYTHON" -c '
import json, sys, datetime
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
a = json.load(open(sys.argv[1]))["last"]["finished"]
b = json.load(open(sys.argv[2]))["result"]["started"]
print(round((t(b) - t(a)).total_seconds() * 1000))' "$STATUS" "$REPLY")
note "  the apply of $N containers took $(st 'round(j["last"]["seconds"] * 1000)') ms; the reload was answered $gap ms after it finished"
note "  reload: $(r 'j["result"]["status"]'), $(r '"fast path" if j["result"].get("fast") else "full: " + j["result"].get("full_because", "?")')"
note "  events since the apply judged as desired: $(json_get "$dir/status-after.json" 'j["fast_reload"]["events"]["as_desired"]')"
is_fast || netlabd_fail "the first no-change reload was not answered by the fast path: $(r 'j["result"].get("full_because")')"
grep -q "fast path, nothing attached or observed" "$NLD_LOG" || netlabd_fail "the log does not say the reload took the fast path"
note "PASS part 1: the kernel's follow-ups of the attach leave the fast path on"

heading "2. an owned address deleted inside c$VICTIM in that window"
note "  ip -n c$VICTIM addr del $VICTIM_ADDR/24 dev eth1 (right after that reload)"
dirty=""
for i in $(seq 1 300); do
    "$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 10 >"$STATUS"
    dirty=$(st '" ".join(d["namespace"] for d in j["fast_reload"]["dirty"])')
    [ -n "$dirty" ] && break
    sleep 0.1
done
note "  dirty: ${dirty:-none}; events judged as desired: $(st 'j["fast_reload"]["events"]["as_desired"]'), as drift: $(st 'j["fast_reload"]["events"]["drift"]')"
[ "$dirty" = "container:c$VICTIM" ] || netlabd_fail "expected exactly container:c$VICTIM dirty, got: ${dirty:-none}"
reload
is_fast && netlabd_fail "the reload after the deletion took the fast path"
why=$(r 'j["result"].get("full_because", "")')
grep -q "container:c$VICTIM (eth1 address $VICTIM_ADDR/24 deleted)" <<<"$why" \
    || netlabd_fail "the full reconcile does not name c$VICTIM's deleted address: $why"
grep -q " more" <<<"$why" && netlabd_fail "more than one namespace was dirty: $why"
reused=$(r 'j["result"].get("reused_namespaces", 0)')
note "  namespaces taken from the last reconcile, not observed: $reused"
[ "$reused" = "$N" ] || netlabd_fail "expected the host and the $((N - 1)) other containers ($N) not observed again, got $reused"
[ "$(r 'j["result"]["writes"]')" -gt 0 ] || netlabd_fail "the address was not put back"
has_addr "$VICTIM_NS" "$VICTIM_ADDR" || netlabd_fail "c$VICTIM's address is not back"
note "PASS part 2: a change inside one container marks it and only it; the next reload repairs it"

heading "3. a foreign address on a link netlabd never heard of, inside c7"
# Its address event names x0 by an ifindex the event socket has not seen in
# c7: it asks the kernel for c7's links by nsid, finds x0 (foreign) and
# leaves c7 clean. Were x0 left unnamed, c7 would count as dirty.
ip -n "$FOREIGN_NS" addr add 203.0.113.77/32 dev x0
note "  ip -n c7 addr add 203.0.113.77/32 dev x0"
reload
is_fast || netlabd_fail "the reload after a foreign address on a link from before the attach was not fast: $(r 'j["result"].get("full_because")')"
addrs=$(ip -n "$FOREIGN_NS" -o addr show dev x0)
grep -q "203.0.113.77/32" <<<"$addrs" || netlabd_fail "the foreign address on x0 in c7 was touched: $addrs"
note "PASS part 3: a link from before the attach is named by asking the kernel; its foreign address is no change"

grep -qiE "critical|internal error" "$NLD_LOG" && netlabd_fail "errors in netlabd's log"
netlabd_stop
note "PASS: test_container_events"
