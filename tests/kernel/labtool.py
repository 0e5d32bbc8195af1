#!/usr/bin/env python3
"""Probes for the kernel-test lab (tests/kernel/lib.sh).

  labtool.py dump NS                 normalized, sorted dump of a namespace
                                     (NS `-`: the namespace it runs in)
  labtool.py ping DST OUT READY      10 ms ICMP pinger; SIGTERM stops it
  labtool.py tcp-server ADDR PORT READY
  labtool.py tcp-client ADDR PORT GO

Run `ping` and the TCP probes inside the namespace (ip netns exec NS ...);
`dump` calls `ip -n NS` itself.
"""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time


# --- dump -------------------------------------------------------------------

def ip_json(ns, *args):
    where = [] if ns == "-" else ["-n", ns]
    out = subprocess.run(["ip", *where, "-j", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


# Keys that change without anyone touching the object (timers, DAD progress,
# carrier): leaving them out keeps "dump before == dump after" meaningful.
ADDR_VOLATILE = {"valid_life_time", "preferred_life_time", "dynamic",
                 "tentative", "optimistic", "dadfailed", "deprecated"}
ROUTE_VOLATILE = {"expires", "cache", "rt_offload", "rt_trap", "rt_offload_failed"}
ROUTE_FLAGS_VOLATILE = {"linkdown", "offload", "trap", "offload_failed"}


def dump(ns):
    lines = []
    for link in ip_json(ns, "-d", "link", "show"):
        flags = set(link.get("flags", []))
        kind = link.get("linkinfo", {}).get("info_kind") or link.get("link_type", "?")
        lines.append("link {} kind={} master={} up={} promisc={} mtu={} mac={} alias={} group={}".format(
            link["ifname"], kind, link.get("master", "-"),
            int("UP" in flags), int("PROMISC" in flags), link.get("mtu"),
            link.get("address", "-"), link.get("ifalias", "-"), link.get("group", "-")))
    for link in ip_json(ns, "addr", "show"):
        for a in link.get("addr_info", []):
            extra = {k: v for k, v in a.items()
                     if k not in ADDR_VOLATILE | {"family", "local", "prefixlen", "scope"}}
            lines.append("addr {} {} {}/{} scope={} {}".format(
                link["ifname"], a["family"], a["local"], a["prefixlen"], a.get("scope"),
                json.dumps(extra, sort_keys=True)))
    for fam in ("-4", "-6"):
        for r in ip_json(ns, fam, "route", "show", "table", "main"):
            r = {k: v for k, v in r.items() if k not in ROUTE_VOLATILE}
            if "flags" in r:
                r["flags"] = sorted(set(r["flags"]) - ROUTE_FLAGS_VOLATILE)
                if not r["flags"]:
                    del r["flags"]
            lines.append("route {} {}".format(fam[1:], json.dumps(r, sort_keys=True)))
    for line in sorted(lines):
        print(line)


# --- ping -------------------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(dst, out_path, ready_path, interval=0.01, drain=5.0):
    """Sends one echo request every `interval` until SIGTERM/SIGINT, then stops
    sending and waits up to `drain` seconds for the replies still in flight,
    so that stopping never counts a packet on the wire as lost (ping(8) does
    on SIGINT)."""
    stop = False

    def on_signal(_sig, _frame):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    sent = 0
    outstanding = set()  # sequence numbers sent and not answered yet
    sent_at = {}         # sequence number -> wall-clock time it was sent
    answered = 0
    lost_runs_max = 0    # longest run of consecutive lost sequence numbers
    ready = False
    next_send = time.monotonic()
    drain_until = None

    errors = 0           # sends the local stack refused (e.g. ENETUNREACH); counted as lost

    def send():
        nonlocal sent, errors
        seq = sent & 0xFFFF
        payload = struct.pack("!Q", sent) + b"netlab-lab-pinger"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, seq) + payload
        outstanding.add(sent)
        sent_at[sent] = time.time()
        sent += 1
        try:
            sock.sendto(pkt, (dst, 0))
        except OSError:
            errors += 1

    while True:
        now = time.monotonic()
        if stop and drain_until is None:
            drain_until = now + drain
        if drain_until is not None:
            if not outstanding or now >= drain_until:
                break
            timeout = drain_until - now
        else:
            if now >= next_send:
                send()
                next_send = max(next_send + interval, now)
            timeout = max(0.0, next_send - time.monotonic())
        try:
            r, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            data = sock.recv(2048)
        except OSError:
            continue  # an ICMP error reported on the socket; the packet stays lost
        ihl = (data[0] & 0x0F) * 4
        icmp = data[ihl:]
        if len(icmp) < 16:
            continue
        typ, _code, _ck, rid, _rseq = struct.unpack("!BBHHH", icmp[:8])
        if typ != 0 or rid != ident:
            continue
        (num,) = struct.unpack("!Q", icmp[8:16])
        if num in outstanding:
            outstanding.discard(num)
            answered += 1
            if not ready:
                ready = True
                with open(ready_path, "w") as f:
                    f.write("ready\n")

    lost = sorted(outstanding)
    run = 0
    prev = None
    for n in lost:
        run = run + 1 if prev is not None and n == prev + 1 else 1
        lost_runs_max = max(lost_runs_max, run)
        prev = n
    # The longest time between two answered pings, by their send times: how
    # long the path was cut, whatever the pinger's own pace was meanwhile.
    gap, gap_from, gap_to = 0.0, 0.0, 0.0
    prev_ok = None
    lost_set = set(lost)
    for n in range(sent):
        if n in lost_set:
            continue
        if prev_ok is not None and sent_at[n] - sent_at[prev_ok] > gap:
            gap, gap_from, gap_to = sent_at[n] - sent_at[prev_ok], sent_at[prev_ok], sent_at[n]
        prev_ok = n
    with open(out_path, "w") as f:
        # When each lost packet was sent (UTC, first 20): to line up with
        # `TZ=UTC ip -ts monitor` and say which step of a change cost it.
        lost_at = ",".join(time.strftime("%H:%M:%S", time.gmtime(sent_at[n])) +
                           ".{:03d}".format(int(sent_at[n] * 1000) % 1000) for n in lost[:20]) or "-"
        f.write("transmitted={} received={} lost={} longest_loss_run={} send_errors={} lost_seq={} "
                "longest_gap_ms={:.0f} gap_from={:.3f} gap_to={:.3f} lost_at={}\n".format(
                    sent, answered, len(lost), lost_runs_max, errors,
                    ranges(lost) or "-", gap * 1000, gap_from, gap_to, lost_at))


def ranges(nums):
    """[3, 4, 5, 9] -> "3-5,9" """
    out = []
    for n in nums:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)


# --- TCP --------------------------------------------------------------------

def recv_line(conn, buf):
    while b"\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed by peer")
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line, rest


def tcp_server(addr, port, ready_path):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(1)
    with open(ready_path, "w") as f:
        f.write("ready\n")
    conn, _ = srv.accept()
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            conn.sendall(data)


def tcp_client(addr, port, go_path, timeout="30"):
    """Opens the connection and proves it works ("before ok"), then waits for
    GO (the test creates it after the apply) and sends more lines over the
    same connection; exits 0 only if every line comes back intact. `timeout`
    (seconds per receive) only bounds a dead connection; it is not a check."""
    after_lines = 100
    timeout = float(timeout)
    conn = socket.create_connection((addr, int(port)), timeout=timeout)
    conn.settimeout(timeout)
    buf = b""
    try:
        conn.sendall(b"before\n")
        line, buf = recv_line(conn, buf)
        if line != b"before":
            print("before: bad echo %r" % line, flush=True)
            return 1
        print("before ok", flush=True)
        while not os.path.exists(go_path):
            time.sleep(0.02)
        for i in range(after_lines):
            msg = b"after-%d" % i
            conn.sendall(msg + b"\n")
            line, buf = recv_line(conn, buf)
            if line != msg:
                print("after: bad echo %r for %r" % (line, msg), flush=True)
                return 1
        print("after ok: %d lines echoed on the connection opened before the apply"
              % after_lines, flush=True)
        return 0
    except (OSError, ConnectionError) as e:
        print("after: connection failed: %s" % e, flush=True)
        return 1
    finally:
        conn.close()


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "dump":
        dump(*args)
    elif cmd == "ping":
        ping(*args)
    elif cmd == "tcp-server":
        tcp_server(*args)
    elif cmd == "tcp-client":
        return tcp_client(*args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
