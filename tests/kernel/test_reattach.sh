#!/usr/bin/env bash
# Re-attach without any command: netlabd runs in host1 of the lab (lib.sh) with
# a private config dir, state dir and socket, and only `netlabctl status` is
# asked while containers come and go.
#  1. netns: two containers c1, c2 on named namespaces (macvlan on ens33).
#     `ip netns del` of c1's namespace is seen (status: absent); creating it
#     again attaches c1 again (its address is back, it pings the gateway) and
#     c2 is not disturbed (its eth1 keeps its ifindex, no step names it).
#     Then delete + create at once, NETLAB_REATTACH_RUNS times (default 3).
#  2. docker: a private dockerd (docker_lib.sh) that starts only AFTER netlabd,
#     so netlabd's events stream first fails and retries with backoff;
#     `docker run test1` is attached without any command (the start event is
#     replayed with since= after the reconnect), then `docker restart test1`,
#     NETLAB_REATTACH_RUNS times: attached again, the container pings the
#     lab gateway. Exits 77 with the reason when dockerd cannot start here.
# Part 1's netlabd writes --metrics-file: its re-attach counter, read with
# Prometheus' parser (metrics.py), counts every run.
# Every re-attach latency netlabd measured (event -> attached) is printed;
# none is asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/kernel/docker_lib.sh
. "$here/docker_lib.sh"
lab_require
lab_require_netlabctl
NETLABD="$NETLAB_BIN/netlabd"
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"
RUNS=${NETLAB_REATTACH_RUNS:-3}

lab_up
C1="$LAB_PREFIX-c1"
C2="$LAB_PREFIX-c2"
lab_ns_add "$C1"
lab_ns_add "$C2"
C1_ADDR=198.51.100.31
C2_ADDR=198.51.100.32
CTR_ADDR=198.51.100.20

ETC=$(lab_tmp)/etc
STATUS=$(lab_tmp)/status.json
mkdir -p "$ETC"
# netlabd in host1 (lib.sh: private state dir and socket), until its first
# reconcile is reported.
reattach_netlabd() {
    netlabd_start "$NS_HOST1" "$ETC" --debounce 100 "$@"
    netlabd_status "$STATUS"
}

status_json() { "$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 10 >"$STATUS"; }
# st EXPR: a Python expression over the last status reply `j`.
st() { json_get "$STATUS" "$1"; }
ctr_state() { st "next((c['state'] for c in j['containers'] if c['name'] == '$1'), 'none')"; }
last_field() { st "(j.get('reattach') or {}).get('last') and j['reattach']['last']['$1']"; }

# wait_until DESCRIPTION COMMAND...: polls (status refreshed each time) until
# COMMAND holds and netlabd is idle. The bound is for a hung daemon, not a
# timing requirement.
wait_until() {
    local what=$1 i
    shift
    for i in $(seq 1 600); do
        kill -0 "$NLD_PID" 2>/dev/null || netlabd_fail "netlabd died while waiting for: $what"
        if status_json 2>/dev/null && [ "$(st 'j["daemon"]["busy"] or j["daemon"]["queued"] > 0')" = False ] \
            && "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    "$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 >&2 || true
    netlabd_fail "never happened: $what"
}

has_addr() { has_line ip -n "$1" -o -4 addr show dev eth1 2>/dev/null -- " $2/"; }
ifindex() { ip -n "$1" -o link show dev eth1 | cut -d: -f1; }
attached() { [ "$(ctr_state "$1")" = attached ]; }
absent() { [ "$(ctr_state "$1")" = absent ]; }
# reattached NAME PREVIOUS_EVENT_AT: the status' last re-attach is NAME's and newer.
reattached() { [ "$(last_field container)" = "$1" ] && [ "$(last_field event_at)" != "$2" ]; }

LATENCIES_NETNS=()
LATENCIES_DOCKER=()
record_latency() {  # KIND
    local ms
    ms=$(last_field latency_ms)
    note "  re-attach: $(last_field container) ($(last_field netns)) attached $ms ms after its $(last_field event) ($(last_field reconcile))"
    if [ "$1" = netns ]; then LATENCIES_NETNS+=("$ms"); else LATENCIES_DOCKER+=("$ms"); fi
}

# No step of the reconciles since log line FROM names container NAME.
untouched_in_log() {  # NAME FROM_LINE
    if tail -n +"$2" "$NLD_LOG" | grep -E "step [0-9]+/[0-9]+: .*container:$1\b"; then
        netlabd_fail "a re-attach reconcile touched container $1 (steps above)"
    fi
}

write_netns_topology() {
    cat >"$ETC/topology.yaml" <<EOF
version: 1

networks:
  lan:
    driver: macvlan
    parent: ens33
    mode: bridge
    subnet: 198.51.100.0/$LAN_PREFIX
    gateway: $GW_LAN_ADDR

containers:
  c1:
    netns: netns:$C1
    interfaces:
      eth1:
        network: lan
        address: $C1_ADDR/$LAN_PREFIX
        default_route: true
  c2:
    netns: netns:$C2
    interfaces:
      eth1:
        network: lan
        address: $C2_ADDR/$LAN_PREFIX
        default_route: true
$(if [ "${1:-}" = docker ]; then cat <<EOT
  test1:
    netns: docker:test1
    interfaces:
      eth1:
        network: lan
        address: $CTR_ADDR/$LAN_PREFIX
        default_route: true
EOT
fi)
EOF
}

heading "1. named netns: deleted and created again"
write_netns_topology
METRICS=$(lab_tmp)/netlab.prom
reattach_netlabd --metrics-file "$METRICS"
both_attached() { attached c1 && attached c2 && has_addr "$C1" "$C1_ADDR" && has_addr "$C2" "$C2_ADDR"; }
c1_back() { reattached c1 "$prev" && attached c1 && has_addr "$C1" "$C1_ADDR"; }
wait_until "c1 and c2 attached at start" both_attached
lab_reach_soon "$C1" "$GW_LAN_ADDR" | sed 's/^/  c1: /' || netlabd_fail "c1 cannot ping the gateway after the start-up reconcile"
C2_IFINDEX=$(ifindex "$C2")
note "  c1, c2 attached; c2's eth1 is ifindex $C2_IFINDEX"
from=$(($(wc -l <"$NLD_LOG") + 1))
prev=""

ip netns del "$C1"
note "  ip netns del $C1"
wait_until "c1 reported absent" absent c1
note "  status: c1 $(ctr_state c1): $(st "next(c.get('detail', '') for c in j['containers'] if c['name'] == 'c1')")"
lab_ns_add "$C1"
note "  ip netns add $C1"
wait_until "c1 attached again" c1_back
record_latency netns
prev=$(last_field event_at)
lab_reach_soon "$C1" "$GW_LAN_ADDR" | sed 's/^/  c1: /' || netlabd_fail "c1 cannot ping the gateway after the re-attach"

for run in $(seq 2 "$RUNS"); do
    ip netns del "$C1"
    lab_ns_add "$C1"
    note "  run $run: ip netns del + add $C1"
    wait_until "c1 attached again (run $run)" c1_back
    record_latency netns
    prev=$(last_field event_at)
    lab_reach_soon "$C1" "$GW_LAN_ADDR" >/dev/null || netlabd_fail "c1 cannot ping the gateway after re-attach run $run"
done

[ "$(ifindex "$C2")" = "$C2_IFINDEX" ] || netlabd_fail "c2's eth1 was recreated (ifindex $C2_IFINDEX -> $(ifindex "$C2"))"
has_addr "$C2" "$C2_ADDR" || netlabd_fail "c2 lost its address"
netlabd_holds_only "$NS_HOST1" "after the re-attaches"
untouched_in_log c2 "$from"
lab_reach_soon "$C2" "$GW_LAN_ADDR" >/dev/null || netlabd_fail "c2 cannot ping the gateway any more"
note "  c2 undisturbed: eth1 still ifindex $C2_IFINDEX, no step named it, it pings the gateway"
grep -E "re-attach:|netns: " "$NLD_LOG" | sed 's/^/  log: /'
"$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 | sed -n '/^re-attach:/,$p' | sed 's/^/  status: /'
grep -qiE "critical|internal error" "$NLD_LOG" && netlabd_fail "errors in netlabd's log"
reattaches=$("$PYTHON" "$here/metrics.py" "$METRICS" netlab_container_reattaches_total) \
    || netlabd_fail "metrics file: $reattaches"
note "  metrics: netlab_container_reattaches_total $reattaches"
[ "$reattaches" -ge "$RUNS" ] || netlabd_fail "metrics: $reattaches re-attaches counted, $RUNS runs made"
netlabd_stop
note "PASS part 1: a recreated named netns is attached again without any command ($RUNS runs)"

heading "2. docker restart"
docker_require
write_netns_topology docker
# netlabd first: the socket does not exist yet, the events stream retries.
reattach_netlabd --docker-socket "$DOCKER_SOCK"
note "  netlabd started before dockerd: test1 is $(ctr_state test1) ($(st "next(c.get('detail', '') for c in j['containers'] if c['name'] == 'test1')"))"
docker_up
note "  dockerd $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') on $DOCKER_SOCK"
docker_image
dk run --net=none -d --name test1 "$DOCKER_IMAGE" sleep 3600 >/dev/null
note "  docker run test1: pid $(docker_pid test1)"

ctr_has_addr() { has_line dk exec test1 ip -o -4 addr show dev eth1 2>/dev/null -- " $CTR_ADDR/"; }
ctr_ping() {
    local out
    out=$(dk exec test1 ping -c 3 -W 2 "$GW_LAN_ADDR" 2>&1) || true
    grep -E 'packets transmitted' <<<"$out" | sed 's/^/  test1: /' || true
    grep -Eq '3 packets transmitted, 3 (packets )?received' <<<"$out"
}
test1_back() { reattached test1 "$prev" && attached test1 && ctr_has_addr; }
prev=""
wait_until "test1 attached after dockerd came up" test1_back
record_latency docker
prev=$(last_field event_at)
grep -E "docker: events" "$NLD_LOG" | sed -n "1,2s/^/  log: /p"
ctr_ping || netlabd_fail "test1 cannot ping the gateway after it was attached"

from=$(($(wc -l <"$NLD_LOG") + 1))
for run in $(seq 1 "$RUNS"); do
    old_pid=$(docker_pid test1)
    dk restart -t 1 test1 >/dev/null
    note "  run $run: docker restart test1: pid $old_pid -> $(docker_pid test1)"
    wait_until "test1 attached again (run $run)" test1_back
    record_latency docker
    prev=$(last_field event_at)
    ctr_ping || netlabd_fail "test1 cannot ping the gateway after re-attach run $run"
done
{ has_addr "$C1" "$C1_ADDR" && has_addr "$C2" "$C2_ADDR"; } || netlabd_fail "c1/c2 lost their addresses"
untouched_in_log c1 "$from"
untouched_in_log c2 "$from"
note "  c1, c2 undisturbed by the docker re-attaches"
netlabd_holds_only "$NS_HOST1" "after the docker re-attaches"
"$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 | sed -n '/^re-attach:/,$p' | sed 's/^/  status: /'
grep -qiE "critical|internal error" "$NLD_LOG" && netlabd_fail "errors in netlabd's log"
netlabd_stop
docker_down
docker_host_untouched || netlabd_fail "the private dockerd wrote to the machine's Docker paths"

note ""
note "re-attach latencies (event -> attached, ms): netns ${LATENCIES_NETNS[*]}; docker ${LATENCIES_DOCKER[*]}"
note "PASS: named netns and docker containers are attached again without any command"
