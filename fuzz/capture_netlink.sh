#!/usr/bin/env bash
# Captures real rtnetlink messages for the netlink fuzz target's seed corpus
# (fuzz/corpus/netlink/), from a lab namespace made for it and deleted at the
# end, never from this machine's own: the dumps of links (lo, a bridge with
# STP, veth pairs, a macvlan, a vxlan), IPv4 and IPv6 addresses and main-table
# routes (multipath included), and the event datagrams that changing them
# sends. Needs root.   fuzz/capture_netlink.sh [OUTDIR]
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)"; exit 77; }
out=${1:-$(cd "$(dirname "$0")" && pwd)/corpus/netlink}
mkdir -p "$out"
ns=nlfz$$-cap
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
n() { ip -n "$ns" "$@"; }
n link set lo up
n link add br0 type bridge stp_state 1
n link add v0 type veth peer name v1
n link set v1 master br0
n link add mv0 link v0 type macvlan mode bridge
n link add vx0 type vxlan id 42 dstport 4789 local 198.51.100.10 dev br0 2>/dev/null || true
n link set br0 alias "netlab:fuzz seed"
for l in br0 v0 v1 mv0; do n link set "$l" up; done
n addr add 198.51.100.10/24 dev br0
n addr add 198.51.100.11/24 dev br0
n addr add 2001:db8::10/64 dev br0 nodad
n addr add 203.0.113.10/24 dev mv0
n route add default via 198.51.100.1 dev br0 proto static
n route add 203.0.113.128/25 proto 77 metric 5 nexthop via 198.51.100.2 dev br0 nexthop via 198.51.100.3 dev br0
n -6 route add 2001:db8:1::/48 via 2001:db8::1 dev br0

ip netns exec "$ns" python3 - "$out" <<'PY'
import os, socket, struct, subprocess, sys, time
out = sys.argv[1]
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLMSG_DONE, NLMSG_ERROR = 3, 2

def dump(msgtype, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16 + len(body), msgtype, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    msgs = []
    while True:
        data = s.recv(1 << 20)
        off, done = 0, False
        while off + 16 <= len(data):
            length, t = struct.unpack_from("=IH", data, off)
            if t in (NLMSG_DONE, NLMSG_ERROR):
                done = True
                break
            msgs.append(data[off:off + length])
            off += (length + 3) & ~3
        if done:
            return msgs

def save(name, msgs):
    # each message keeps its own 4-byte padding, as the kernel sends them
    with open(os.path.join(out, name), "wb") as f:
        for m in msgs:
            f.write(m + b"\0" * (-len(m) % 4))

links = dump(RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0))
addrs = dump(RTM_GETADDR, struct.pack("=BBBBI", 0, 0, 0, 0, 0))
routes4 = dump(RTM_GETROUTE, struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 254, 0, 0, 0, 0))
routes6 = dump(RTM_GETROUTE, struct.pack("=BBBBBBBBI", socket.AF_INET6, 0, 0, 0, 254, 0, 0, 0, 0))
save("dump-links", links)
save("dump-addresses", addrs)
save("dump-routes", routes4 + routes6)
save("dump-all", links + addrs + routes4 + routes6)
for i, m in enumerate(links):
    save(f"link-{i}", [m])

# Events: what netlabd's event socket hears while the lab changes.
groups = 0
for g in (1, 5, 7, 9, 11):  # RTNLGRP_LINK, IPV4_IFADDR, IPV4_ROUTE, IPV6_IFADDR, IPV6_ROUTE
    groups |= 1 << (g - 1)
ev = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
ev.bind((0, groups))
def ip(*args):
    subprocess.run(["ip", *args], check=True)
ip("addr", "del", "198.51.100.11/24", "dev", "br0")
ip("link", "set", "v0", "down")
ip("link", "set", "v1", "nomaster")
ip("route", "replace", "default", "via", "198.51.100.1", "dev", "br0", "proto", "77", "metric", "3")
ip("link", "set", "mv0", "name", "mv1")
ip("-6", "route", "del", "2001:db8:1::/48")
ip("link", "del", "v0")
ev.setblocking(False)
time.sleep(0.2)  # the kernel queues its notifications synchronously; this only bounds the read
datagrams = []
while True:
    try:
        datagrams.append(ev.recv(1 << 16))
    except BlockingIOError:
        break
with open(os.path.join(out, "events-all"), "wb") as f:
    f.write(b"".join(datagrams))
for i, d in enumerate(datagrams):
    with open(os.path.join(out, f"event-{i}"), "wb") as f:
        f.write(d)
print(f"captured {len(links)} links, {len(addrs)} addresses, {len(routes4) + len(routes6)} routes, "
      f"{len(datagrams)} event datagrams into {out}")
PY
