#!/usr/bin/env bash
# netlab under a real systemd (issue 5). A throwaway systemd boots as PID 1 on
# an overlay of the root (tests/kernel/systemd_lib.sh),
# netlab is installed into it with `cmake --install`, and a lab lives in the
# instance's own network namespace: a "NIC" nic0 whose veth peer sits in a
# named netns `lab` (198.51.100.254, the gateway). Then, with the unit as
# shipped:
#   systemctl start     -> the topology is applied, is-active says active
#   edit the file       -> applied, no command needed
#   broken file, reload -> `systemctl reload` fails, the journal has the
#                          diagnostics with file:line:col, the network is unchanged
#   file in topology.d/ -> applied
#   journal fields      -> `journalctl -u netlab MESSAGE_ID=…` finds the
#                          reconcile-done events (with NETLAB_STEPS) and the
#                          rejection, logged through the native protocol
#   --metrics-file      -> under the unit's sandbox and UMask, the file is
#                          written 0644 and Prometheus' parser reads it
#   systemctl stop      -> the network is left as it is
# and kill -9 of the instance's PID 1 tears it all down. Every command run
# inside is printed with its output and exit code (the transcript).
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts)"
for tool in unshare nsenter cmake findmnt; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
[ -x /lib/systemd/systemd ] || skip "systemd not installed"
[ -n "$(findmnt -n -t cgroup2 -o TARGET | sed -n 1p)" ] || skip "no cgroup2 hierarchy for the instance"
BIN=${NETLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
[ -x "$BIN/netlabd" ] && [ -f "$BIN/cmake_install.cmake" ] || skip "no build tree with netlabd in $BIN"

# shellcheck source=systemd_lib.sh
source "$(dirname "$0")/systemd_lib.sh"
OUT=$(mktemp /tmp/netlab-sdtest.XXXXXX)
cleanup() {
    sd_teardown
    rm -f "$OUT"
}
trap cleanup EXIT

fail() {
    echo
    echo "FAIL: $*"
    if [ -n "$SD_PID" ]; then
        echo "--- journalctl -u netlab"
        sd journalctl -u netlab --no-pager -o short-monotonic 2>&1 | tail -60 || true
    fi
    exit 1
}
# x CMD...: run inside the instance, print the command, its output, its exit code.
x() {
    local rc=0
    printf '\n# %s\n' "$*"
    sd "$@" >"$OUT" 2>&1 || rc=$?
    sed 's/^/  /' "$OUT"
    echo "  [exit $rc]"
    return $rc
}
q() { sd "$@" >/dev/null 2>&1; }  # quiet: for conditions
put() {  # FILE (inside): stdin -> FILE, written beside it and renamed into place
    # shellcheck disable=SC2016
    sd sh -c 'mkdir -p "$(dirname "$1")" && cat > "$1.new" && mv -f "$1.new" "$1"' _ "$1"
    printf '\n# (wrote %s)\n' "$1"
}
wait_for() {  # DESCRIPTION COMMAND...: bounded wait for a condition inside
    local what=$1
    shift
    for _ in $(seq 300); do
        if q "$@"; then
            echo "  ok: $what"
            return 0
        fi
        sleep 0.2
    done
    fail "never happened: $what"
}
net_state() {  # what the test compares before/after: links, addresses, routes
    sd sh -c 'ip -br link | sed "s/@[^ ]*//" | sort; ip -br addr | sort; ip route | sort'
}
step() { printf '\n== %s\n' "$*"; }
bridge_topology() {  # DST: nic0 as the port of br0, a route to DST through the gateway
    cat <<YAML
version: 1
interfaces:
  nic0:
    up: true
  br0:
    kind: bridge
    ports: [nic0]
    stp: false
    addresses: [198.51.100.1/24]
routes:
  - to: $1
    via: 198.51.100.254
    dev: br0
YAML
}

step "boot systemd on a throwaway overlay, netlab installed into it"
sd_boot "$BIN" || fail "systemd did not boot"
x systemd-analyze verify /usr/lib/systemd/system/netlab.service || fail "systemd-analyze verify"
x ls -l /usr/sbin/netlabd /usr/sbin/netlabctl /usr/lib/systemd/system/netlab.service

step "the lab: nic0 in the instance's netns, its peer in netns lab as the gateway"
x ip netns add lab
x ip link add nic0 type veth peer name nic0p netns lab
x ip -n lab addr add 198.51.100.254/24 dev nic0p
x ip -n lab link set nic0p up
x ip -n lab link set lo up
x ip -n lab route add 203.0.113.0/24 dev lo   # the gateway "has" 203.0.113.0/24 behind it

bridge_topology 203.0.113.0/24 | put /etc/netlab/topology.yaml

step "systemctl start: applied, active"
x systemctl start netlab || fail "systemctl start netlab"
x systemctl is-active netlab || fail "netlab is not active"
x ip -br addr show br0
x ip route
has_line sd ip -br addr show br0 2>/dev/null -- 198.51.100.1/24 || fail "br0 lacks 198.51.100.1/24"
has_line sd ip link show nic0 2>/dev/null -- "master br0" || fail "nic0 is not a port of br0"
has_line sd ip route show 203.0.113.0/24 2>/dev/null -- "via 198.51.100.254 dev br0 proto 77" || fail "the route is missing"
wait_for "the gateway answers ping on the bridge" ip netns exec lab ping -c1 -W1 198.51.100.1
x systemctl show -p StatusText -p WatchdogUSec -p NRestarts -p MainPID netlab
x netlabctl status

step "edit the file: applied without any command"
bridge_topology 203.0.113.64/26 | put /etc/netlab/topology.yaml
wait_for "route 203.0.113.64/26 in place" sh -c 'case "$(ip route show 203.0.113.64/26)" in *"via 198.51.100.254"*) exit 0;; esac; exit 1'
wait_for "route 203.0.113.0/24 gone" sh -c '[ -z "$(ip route show 203.0.113.0/24)" ]'
x ip route

step "a broken file: systemctl reload fails, the journal says where, the network is unchanged"
before=$(net_state)
# mtu on line 9: the journal must name that line.
bridge_topology 203.0.113.64/26 | sed '/stp: false/a\    mtu: lots' | put /etc/netlab/topology.yaml
if x systemctl reload netlab; then fail "systemctl reload succeeded on a broken file"; fi
x systemctl is-active netlab || fail "netlab is not active after a rejected reload"
x sh -c 'journalctl -u netlab --no-pager -o cat | grep -E "topology.yaml:[0-9]+:[0-9]+: error" | tail -3'
has_line sd journalctl -u netlab --no-pager -o cat 2>/dev/null -- -E "/etc/netlab/topology.yaml:9:[0-9]+: error: .*mtu" \
    || fail "the journal lacks the diagnostic for line 9 (mtu)"
has_line sd journalctl -u netlab --no-pager -o cat 2>/dev/null -- "still in force: /etc/netlab/topology.yaml" \
    || fail "the journal does not say the configuration in force stays"
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "the network changed"; }
echo "  ok: network unchanged"

step "the file fixed again; reload succeeds"
bridge_topology 203.0.113.64/26 | put /etc/netlab/topology.yaml
x systemctl reload netlab || fail "reload of a valid file failed"

step "the journal's structured events: MESSAGE_ID finds them, with netlab's fields"
# daemon/netlabd/events.cpp, docs/daemon.md (Logging).
DONE_ID=ead87147d9ad46a9a21a143df90fc10c
REJECTED_ID=e3f8e8be12be4db3809329d2ba91bddb
x sh -c "journalctl -u netlab --no-pager -o verbose MESSAGE_ID=$DONE_ID | grep -E '^ *(MESSAGE|MESSAGE_ID|PRIORITY|NETLAB_[A-Z]+|SYSLOG_IDENTIFIER)=' | tail -12"
has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$DONE_ID" 2>/dev/null -- -E '^reconcile #1 \(start\): applied [0-9]+ steps' \
    || fail "MESSAGE_ID=$DONE_ID does not find the start-up reconcile"
has_line sd journalctl -u netlab --no-pager -o verbose "MESSAGE_ID=$DONE_ID" 2>/dev/null -- -E '^ *NETLAB_STEPS=[1-9]' \
    || fail "the reconcile-done event lacks NETLAB_STEPS"
has_line sd journalctl -u netlab --no-pager -o verbose "MESSAGE_ID=$DONE_ID" 2>/dev/null -- -E '^ *_SYSTEMD_UNIT=netlab.service' \
    || fail "the reconcile-done event is not the unit's"
x journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$REJECTED_ID"
has_line sd journalctl -u netlab --no-pager -o cat -p err "MESSAGE_ID=$REJECTED_ID" 2>/dev/null -- -E ': rejected \([0-9]+ errors?\); nothing was changed' \
    || fail "MESSAGE_ID=$REJECTED_ID (priority err) does not find the rejected reload"
if has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$REJECTED_ID" 2>/dev/null -- "applied"; then
    fail "MESSAGE_ID=$REJECTED_ID finds more than the rejection"
fi
echo "  ok: journalctl -u netlab MESSAGE_ID=... finds each event kind, NETLAB_STEPS set"

step "a valid file dropped into topology.d/: applied"
put /etc/netlab/topology.d/10-br1.yaml <<'YAML'
version: 1
interfaces:
  br1:
    kind: bridge
    addresses: [203.0.113.129/25]
YAML
wait_for "br1 with 203.0.113.129/25" sh -c 'case "$(ip -br addr show br1)" in *203.0.113.129/25*) exit 0;; esac; exit 1'
x ip -br addr
x netlabctl status

step "restart with a 2 s watchdog and --metrics-file: converged without a write, keep-alives hold"
# The metrics go where the sandbox (ProtectSystem=strict) lets netlabd write.
put /etc/systemd/system/netlab.service.d/watchdog.conf <<'UNIT'
[Service]
WatchdogSec=2s
ExecStart=
ExecStart=/usr/sbin/netlabd --metrics-file /var/lib/netlab/netlab.prom
UNIT
x systemctl daemon-reload
before=$(net_state)
x systemctl restart netlab || fail "systemctl restart netlab"
pid=$(sd systemctl show -p MainPID --value netlab)
has_line sd journalctl -u netlab --no-pager -o cat "_PID=$pid" 2>/dev/null -- 'reconcile #1 (start): converged, no netlink write' \
    || fail "the restarted netlabd was not converged at once"
sleep 6  # three watchdog periods: a missing keep-alive would have restarted it
x systemctl show -p MainPID -p NRestarts -p WatchdogUSec -p StatusText netlab
[ "$(sd systemctl show -p MainPID --value netlab)" = "$pid" ] || fail "netlabd was restarted (watchdog?)"
[ "$(sd systemctl show -p NRestarts --value netlab)" = 0 ] || fail "NRestarts is not 0"
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "restart changed the network"; }
echo "  ok: same MainPID after three watchdog periods; restart changed nothing"
x stat -c '%a %U %n' /var/lib/netlab/netlab.prom || fail "no metrics file"
put /root/metrics.py <"$(dirname "$0")/metrics.py"
[ "$(sd stat -c %a /var/lib/netlab/netlab.prom)" = 644 ] || fail "the metrics file is not 0644 (UMask=0077 applies?)"
x /usr/bin/python3 /root/metrics.py /var/lib/netlab/netlab.prom 'netlab_reconciles_total{result="converged"}' \
    'netlab_owned_objects{kind="link"}' netlab_commit_confirmed_pending || fail "the metrics file does not parse"
[ "$(sd /usr/bin/python3 /root/metrics.py /var/lib/netlab/netlab.prom 'netlab_reconciles_total{result="converged"}')" = 1 ] \
    || fail "the restarted netlabd's one converged reconcile is not counted"
x rm -r /etc/systemd/system/netlab.service.d
x systemctl daemon-reload

step "systemctl stop: the network is left as it is"
before=$(net_state)
x systemctl stop netlab || fail "systemctl stop netlab"
if x systemctl is-active netlab; then fail "netlab still active after stop"; fi
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "stop changed the network"; }
echo "  ok: network unchanged by stop"
x ip -br addr
x ip route
wait_for "the gateway still answers ping" ip netns exec lab ping -c1 -W1 198.51.100.1

step "the journal of this run"
x journalctl -u netlab --no-pager -o cat

step "tear down: kill -9 the instance's PID 1"
sd_teardown
echo "  done"
echo
echo "PASS: test_systemd"
