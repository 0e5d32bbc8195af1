# shellcheck shell=bash
# shellcheck disable=SC2034,SC2163  # results are globals read by the sourcing test
# Lab harness for the kernel tests and the demo. Source it; it never touches
# the machine's own network namespace.
#
#   remote (203.0.113.2/24) ── wan0|gw|lan0 (203.0.113.1 / 198.51.100.1, forwarding)
#                                        │
#                       sw: bridge "lan" (the LAN switch)
#                                        │
#                     host1: veth "ens33" 198.51.100.10/24, default via 198.51.100.1
#                     (host2: .11, ... with `lab_up_hosts N`)
#
# Every namespace is named "nlt<PID>-<generation>-<role>" and deleted by the
# EXIT trap this file installs, even when the test fails. lab_up can be called
# again after lab_destroy to get a fresh lab (a new generation, new names).

# shellcheck source=tests/kernel/check_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_lib.sh"

LAB_ID="nlt$$"
LAB_GEN=0
LAB_NAMESPACES=()   # every namespace ever created by this run (for the trap)
LAB_PIDS=()         # background processes this run started
LAB_TMP=$(mktemp -d "/tmp/nlt$$.XXXXXX")  # topology files, state dir, probe outputs

NETLAB_SOURCE_DIR=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NETLAB_BIN=${NETLAB_BIN:-$NETLAB_SOURCE_DIR/build}
NETLABCTL="$NETLAB_BIN/netlabctl"
LABTOOL="$NETLAB_SOURCE_DIR/tests/kernel/labtool.py"
# The interpreter itself, not a version-manager shim (a shim can take seconds
# per start, and the probes start many times).
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3
    else PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3); fi
fi

# Lab addresses (documentation ranges only).
LAN_PREFIX=24
HOST1_ADDR=198.51.100.10
HOST2_ADDR=198.51.100.11      # with lab_up_hosts 2 (host<i>: 198.51.100.<9+i>)
GW_LAN_ADDR=198.51.100.1
GW_WAN_ADDR=203.0.113.1
REMOTE_ADDR=203.0.113.2
HOST1_MAC=02:00:c6:33:64:0a   # fixed so outputs are readable and comparable

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { printf '%s\n' "$*"; }
heading() { printf '\n== %s\n' "$*"; }

# lab_forget_pid PID: PID is no longer one of ours to kill. (Not
# ${LAB_PIDS[@]/PID}: that removes PID as a substring, turning 41234 into 44
# when PID is 123, a process lab_down would then kill.)
lab_forget_pid() {
    local keep=() p
    for p in "${LAB_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    LAB_PIDS=("${keep[@]}")
}

lab_down() {
    local pid ns
    for pid in "${LAB_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${LAB_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    LAB_PIDS=()
    for ns in "${LAB_NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    LAB_NAMESPACES=()
    if [ -n "$LAB_TMP" ]; then rm -rf "$LAB_TMP"; fi
    LAB_TMP=""
}
# set +e: a failing command in the cleanup must not end it early (errexit
# applies inside traps) and leave the rest of the lab behind.
trap 'set +e; lab_down' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# lab_sweep_dead: what a run killed without its trap (SIGKILL, a ctest
# timeout) left behind, removed once its PID is gone: namespaces
# nlt<PID>-* and nlc<PID>-*, its private dockerd's processes and directory.
# A live PID's objects are never touched. Called before each lab, and by the
# last kernel test (kernel.zz_sweep) so a suite run leaves nothing.
lab_sweep_dead() {
    local ns pid d p cmd
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^nl[tc]([0-9]+)- ]] || continue
        pid=${BASH_REMATCH[1]}
        kill -0 "$pid" 2>/dev/null && continue
        echo "sweep: namespace $ns of a run that is gone (PID $pid)" >&2
        ip netns del "$ns" 2>/dev/null || true
    done
    for d in /tmp/nlc[0-9]*-docker; do
        [ -d "$d" ] || continue
        pid=${d#/tmp/nlc}; pid=${pid%-docker}
        kill -0 "$pid" 2>/dev/null && continue
        echo "sweep: private dockerd directory $d of a run that is gone" >&2
        for p in /proc/[0-9]*; do
            cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
            case "$cmd" in *"$d"*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
        done
        awk -v d="$d" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r p; do
            umount -l "$p" 2>/dev/null || true
        done
        chmod -R u+w "$d" 2>/dev/null || true
        rm -rf "$d" 2>/dev/null || true
    done
}

# Exit 77 with the reason when this machine cannot run the lab.
lab_require() {
    [ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
    command -v ip >/dev/null || skip "needs iproute2 (ip)"
    lab_sweep_dead
    "$PYTHON" -c 1 2>/dev/null || skip "needs python3"
    local probe="$LAB_ID-probe"
    ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
    LAB_NAMESPACES+=("$probe")
    ip -n "$probe" link add pa type veth peer name pb 2>/dev/null \
        || skip "kernel has no veth support"
    ip -n "$probe" link add pbr type bridge 2>/dev/null \
        || skip "kernel has no bridge support"
    ip netns del "$probe"
    LAB_NAMESPACES=("${LAB_NAMESPACES[@]/$probe}")
}

# Exit 77 when netlabctl is not built (the lab half of a test can still run).
lab_require_netlabctl() {
    [ -x "$NETLABCTL" ] || skip "netlabctl not built at $NETLABCTL (set NETLAB_BIN)"
}

lab_tmp() { printf '%s\n' "$LAB_TMP"; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# lab_ns_add NAME: a namespace with lo up, deleted by the trap (and by
# lab_destroy when NAME starts with $LAB_PREFIX).
lab_ns_add() {
    ip netns add "$1"
    LAB_NAMESPACES+=("$1")
    ip -n "$1" link set lo up
}

# lab_up: builds a fresh lab with one managed host, host1.
lab_up() { lab_up_hosts 1; }

# lab_up_hosts N: builds a fresh lab with N managed hosts on the LAN switch:
# host1 (ens33 198.51.100.10, MAC 02:00:c6:33:64:0a), host2 (.11, ...:0b),
# ... Sets NS_SW NS_GW NS_REMOTE NS_HOST1..NS_HOSTN, HOST1_ADDR..HOSTN_ADDR,
# and LAB_PREFIX ("nlt<PID>-<generation>"): name further namespaces of this
# lab (containers) "$LAB_PREFIX-NAME".
lab_up_hosts() {
    local hosts=$1 i ns
    LAB_GEN=$((LAB_GEN + 1))
    LAB_PREFIX="$LAB_ID-$LAB_GEN"
    local p=$LAB_PREFIX
    NS_SW="$p-sw" NS_GW="$p-gw" NS_REMOTE="$p-remote"
    for ns in "$NS_SW" "$NS_GW" "$NS_REMOTE"; do lab_ns_add "$ns"; done

    # The LAN switch. The peers are created directly in their namespaces
    # (no moves) and brought up afterwards (a veth cannot be created up here).
    ip -n "$NS_SW" link add lan type bridge stp_state 0 forward_delay 0
    ip -n "$NS_SW" link set lan up
    ip -n "$NS_SW" link add p-gw type veth peer name lan0 netns "$NS_GW"
    ip -n "$NS_SW" link set p-gw master lan up

    # The gateway between the LAN and the remote subnet.
    ip -n "$NS_GW" link add wan0 type veth peer name eth0 netns "$NS_REMOTE"
    ip -n "$NS_GW" addr add "$GW_LAN_ADDR/$LAN_PREFIX" dev lan0
    ip -n "$NS_GW" addr add "$GW_WAN_ADDR/24" dev wan0
    ip -n "$NS_GW" link set lan0 up
    ip -n "$NS_GW" link set wan0 up
    in_ns "$NS_GW" sysctl -qw net.ipv4.ip_forward=1

    ip -n "$NS_REMOTE" addr add "$REMOTE_ADDR/24" dev eth0
    ip -n "$NS_REMOTE" link set eth0 up
    ip -n "$NS_REMOTE" route add default via "$GW_WAN_ADDR" dev eth0

    # Each host as an admin left it: the address and a static default route
    # on the NIC.
    for i in $(seq 1 "$hosts"); do
        ns="$p-host$i"
        local addr="198.51.100.$((9 + i))" mac
        mac=$(printf '02:00:c6:33:64:%02x' $((9 + i)))
        printf -v "NS_HOST$i" '%s' "$ns"
        printf -v "HOST${i}_ADDR" '%s' "$addr"
        lab_ns_add "$ns"
        ip -n "$NS_SW" link add "p-host$i" type veth peer name ens33 netns "$ns"
        ip -n "$NS_SW" link set "p-host$i" master lan up
        ip -n "$ns" link set ens33 address "$mac"
        ip -n "$ns" addr add "$addr/$LAN_PREFIX" dev ens33
        ip -n "$ns" link set ens33 up
        ip -n "$ns" route add default via "$GW_LAN_ADDR" dev ens33 proto static
    done
    # Soon, not at once: the new veths carry nothing until linkwatch gives
    # them their carrier, which a busy machine delays (seen: a first ping
    # lost under stress.sh).
    local seen
    for i in $(seq 1 "$hosts"); do
        seen=$(lab_reach_soon "$NS_REMOTE" "198.51.100.$((9 + i))" 3) \
            || fail "lab: remote cannot reach host$i through the gateway within 60 s of lab_up (last try: $seen)"
    done
}

# Deletes the current lab's namespaces (keeps the temp dir and other generations' cleanup).
lab_destroy() {
    local ns keep=()
    for ns in "${LAB_NAMESPACES[@]}"; do
        case "$ns" in
            "$LAB_ID-$LAB_GEN-"*) ip netns del "$ns" 2>/dev/null || true ;;
            *) keep+=("$ns") ;;
        esac
    done
    LAB_NAMESPACES=("${keep[@]}")
}

# Normalized, sorted dump of links, addresses and main-table routes (v4 + v6).
ns_dump() { "$PYTHON" "$LABTOOL" dump "$1"; }

# lab_reach FROM_NS DST [COUNT]: succeeds when all COUNT pings are answered.
lab_reach() {
    local out count=${3:-3}
    out=$(in_ns "$1" ping -n -q -c "$count" -i 0.05 -W 2 "$2" 2>&1) || true
    # Here-strings, not a pipe into grep -q: under pipefail grep -q exiting at
    # the match can SIGPIPE printf and fail the check now and then.
    grep -E 'packets transmitted' <<<"$out" || true
    grep -Eq "^$count packets transmitted, $count received" <<<"$out"
}

# lab_reach_soon FROM_NS DST [COUNT]: lab_reach, tried again for up to 60 s
# until it holds. A link just created, moved or set up carries nothing until
# the kernel's linkwatch gives it its carrier (up to a second later, more on
# a busy machine), and a new neighbour entry waits for its ARP answer. For
# "reachable after the change"; where no loss is allowed, the tests use the
# pinger instead.
lab_reach_soon() {
    local end=$((SECONDS + 60)) out
    until out=$(lab_reach "$@"); do
        if [ "$SECONDS" -ge "$end" ]; then printf '%s\n' "$out"; return 1; fi
        sleep 0.2
    done
    printf '%s\n' "$out"
}

# pinger_start FROM_NS DST: one echo request every 10 ms until pinger_stop.
# Returns once the first reply came back.
pinger_start() {
    local dir; dir=$(lab_tmp)
    rm -f "$dir/ping.out" "$dir/ping.ready"
    ip netns exec "$1" "$PYTHON" "$LABTOOL" ping "$2" "$dir/ping.out" "$dir/ping.ready" &
    PINGER_PID=$!
    LAB_PIDS+=("$PINGER_PID")
    local i
    for i in $(seq 1 1500); do
        [ -e "$dir/ping.ready" ] && return 0
        kill -0 "$PINGER_PID" 2>/dev/null || break
        sleep 0.02
    done
    fail "pinger: no reply from $2 in $1"
}

# pinger_stop: stops sending, waits (up to 5 s) for the replies in flight; sets PING_TX,
# PING_RX, PING_LOST, PING_RUN (longest run of lost packets), PING_GAP_MS (the
# longest time between two answered pings, by their send times) with
# PING_GAP_FROM/PING_GAP_TO (its ends, epoch seconds) and PING_LINE.
pinger_stop() {
    local dir; dir=$(lab_tmp)
    kill -TERM "$PINGER_PID" 2>/dev/null || true
    wait "$PINGER_PID" 2>/dev/null || true
    lab_forget_pid "$PINGER_PID"
    [ -s "$dir/ping.out" ] || fail "pinger: no result"
    PING_LINE=$(cat "$dir/ping.out")
    PING_TX=$(sed -n 's/.*transmitted=\([0-9]*\).*/\1/p' <<<"$PING_LINE")
    PING_RX=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' <<<"$PING_LINE")
    PING_LOST=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$PING_LINE")
    PING_RUN=$(sed -n 's/.*longest_loss_run=\([0-9]*\).*/\1/p' <<<"$PING_LINE")
    PING_GAP_MS=$(sed -n 's/.*longest_gap_ms=\([0-9]*\).*/\1/p' <<<"$PING_LINE")
    PING_GAP_FROM=$(sed -n 's/.*gap_from=\([0-9.]*\).*/\1/p' <<<"$PING_LINE")
    PING_GAP_TO=$(sed -n 's/.*gap_to=\([0-9.]*\).*/\1/p' <<<"$PING_LINE")
}

# tcp_open SERVER_NS ADDR PORT CLIENT_NS [TIMEOUT_S]: an echo server in
# SERVER_NS and a client connection from CLIENT_NS, proven to work before
# returning. TIMEOUT_S (default 30) is how long a receive may wait before the
# connection counts as broken: generous, so a loaded machine does not fail.
tcp_open() {
    local dir; dir=$(lab_tmp)
    rm -f "$dir/tcp.ready" "$dir/tcp.go" "$dir/tcp.client"
    ip netns exec "$1" "$PYTHON" "$LABTOOL" tcp-server "$2" "$3" "$dir/tcp.ready" &
    TCP_SERVER_PID=$!
    LAB_PIDS+=("$TCP_SERVER_PID")
    local i
    for i in $(seq 1 500); do
        [ -e "$dir/tcp.ready" ] && break
        sleep 0.02
    done
    [ -e "$dir/tcp.ready" ] || fail "tcp: server did not start in $1"
    ip netns exec "$4" "$PYTHON" "$LABTOOL" tcp-client "$2" "$3" "$dir/tcp.go" "${5:-30}" >"$dir/tcp.client" 2>&1 &
    TCP_CLIENT_PID=$!
    LAB_PIDS+=("$TCP_CLIENT_PID")
    for i in $(seq 1 500); do
        grep -q '^before ok' "$dir/tcp.client" 2>/dev/null && return 0
        kill -0 "$TCP_CLIENT_PID" 2>/dev/null || break
        sleep 0.02
    done
    fail "tcp: connection $4 -> $2:$3 did not work before the change: $(cat "$dir/tcp.client")"
}

# tcp_finish: sends data on the connection opened by tcp_open; sets
# TCP_RESULT; returns non-zero when the data did not come back.
tcp_finish() {
    local dir rc=0; dir=$(lab_tmp)
    touch "$dir/tcp.go"
    wait "$TCP_CLIENT_PID" || rc=$?
    lab_forget_pid "$TCP_CLIENT_PID"
    kill "$TCP_SERVER_PID" 2>/dev/null || true
    wait "$TCP_SERVER_PID" 2>/dev/null || true
    lab_forget_pid "$TCP_SERVER_PID"
    TCP_RESULT=$(tail -n 1 "$dir/tcp.client")
    return "$rc"
}

# lab_shell_chain NS [PAUSE_S]: the seed's bridge takeover typed by hand, as
# one && chain, in NS (PAUSE_S seconds between commands, like a typist).
# Sets CHAIN_FAILED_AT (the command that failed, empty if none) and
# CHAIN_ERROR (its stderr); prints each command with its outcome.
SHELL_CHAIN=(
    "ip addr add $HOST1_ADDR/$LAN_PREFIX dev br0"
    "ip addr del $HOST1_ADDR/$LAN_PREFIX dev ens33"
    "ip link set ens33 master br0"
    "ip route del default"
    "ip route add default via $GW_LAN_ADDR dev br0"
)
lab_shell_chain() {
    local ns=$1 pause=${2:-0} mac cmd err
    mac=$(ip -n "$ns" -j link show ens33 | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    in_ns "$ns" ip link add br0 type bridge stp_state 0
    in_ns "$ns" ip link set br0 address "$mac"
    in_ns "$ns" ip link set br0 up
    CHAIN_FAILED_AT="" CHAIN_ERROR=""
    for cmd in "${SHELL_CHAIN[@]}"; do
        sleep "$pause"
        # shellcheck disable=SC2086  # the command is a word list on purpose
        if err=$(in_ns "$ns" $cmd 2>&1); then
            printf '  ok      %s\n' "$cmd"
        else
            printf '  FAILED  %s: %s\n' "$cmd" "$err"
            CHAIN_FAILED_AT=$cmd CHAIN_ERROR=$err
            return 1
        fi
    done
    return 0
}

# The takeover topology the tests apply (the host part of examples/takeover.yaml).
write_takeover_yaml() {
    cat >"$1" <<EOF
version: 1

interfaces:
  br0:
    kind: bridge
    ports: [ens33]
    mac: ens33
    stp: false
    addresses: [$HOST1_ADDR/$LAN_PREFIX]

routes:
  - to: default
    via: $GW_LAN_ADDR
    dev: br0
EOF
}

# lab_takeover_files: the start of the netlabctl tests: skips (exit 77) when
# the lab or netlabctl cannot run, then sets `dir` (the run's temp dir),
# `topo` (the takeover topology) and `empty` (`version: 1` alone: a topology
# that names nothing, i.e. the removal of everything netlab made).
lab_takeover_files() {
    lab_require
    lab_require_netlabctl
    dir=$(lab_tmp)
    topo="$dir/takeover.yaml"
    empty="$dir/empty.yaml"
    write_takeover_yaml "$topo"
    printf 'version: 1\n' >"$empty"
}

# nlctl NS plan|apply FILE [args...]: netlabctl inside a namespace, with a
# state directory private to that namespace (so to the lab generation).
nlctl() {
    local ns=$1 sub=$2 state="$LAB_TMP/state-$1"; shift 2
    mkdir -p "$state"
    in_ns "$ns" "$NETLABCTL" "$sub" "$@" --state-dir "$state"
}

# json_get FILE EXPR: evaluates a Python expression over the JSON object `j`.
json_get() {
    "$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# Prints a unified diff of two dumps and fails when they differ.
assert_same_dump() {
    local what=$1 before=$2 after=$3
    if ! diff -u --label before --label after "$before" "$after"; then
        fail "$what: the namespace changed (diff above)"
    fi
}

# nl_apply NS FILE OUT [ENV=VALUE...]: `netlabctl apply FILE --json` in NS, the
# JSON in OUT and stderr in OUT.err; sets APPLY_RC and APPLY_STATUS.
nl_apply() {
    local ns=$1 file=$2 out=$3; shift 3
    APPLY_RC=0
    (if [ $# -gt 0 ]; then export "$@"; fi
     nlctl "$ns" apply "$file" --json) >"$out" 2>"$out.err" || APPLY_RC=$?
    APPLY_STATUS=$(json_get "$out" 'j.get("status")' 2>/dev/null || echo "(no JSON)")
}

# Prints OUT and OUT.err of nl_apply, for failure reports.
show_apply() {
    note "-- apply exit $APPLY_RC, status $APPLY_STATUS"
    cat "$1"
    [ -s "$1.err" ] && { note "-- stderr"; cat "$1.err"; }
    return 0
}

# plan_steps NS FILE OUT: `netlabctl plan FILE --json` into OUT; sets PLAN_RC
# and PLAN_K (number of steps).
plan_steps() {
    PLAN_RC=0
    nlctl "$1" plan "$2" --json >"$3" 2>"$3.err" || PLAN_RC=$?
    PLAN_K=$(json_get "$3" 'len(j.get("steps", []))' 2>/dev/null || echo 0)
}

# plan_table NS FILE OUT TITLE: plan_steps, which must exit 2 (changes) with
# at least one step; sets K and prints the steps under "TITLE: K steps".
plan_table() {
    plan_steps "$1" "$2" "$3"
    { [ "$PLAN_RC" -eq 2 ] && [ "$PLAN_K" -gt 0 ]; } \
        || { cat "$3" "$3.err"; fail "plan: expected exit 2 with steps, got exit $PLAN_RC with $PLAN_K steps"; }
    K=$PLAN_K
    heading "$4: $K steps"
    local k
    for k in $(seq 1 "$K"); do printf '  %2d  %s\n' "$k" "$(step_text "$3" "$k")"; done
}

# step_text PLAN_JSON K: the K-th (1-based) step as one line.
step_text() {
    json_get "$1" "(lambda s: s.get('text') or s.get('description') or json.dumps(s))(j['steps'][$2 - 1])"
}

# netns_fds PID: the inode of every network namespace PID holds an fd of
# (readlink of /proc/PID/fd/N says net:[INODE]), one a line.
netns_fds() {
    local f l
    for f in /proc/"$1"/fd/*; do
        l=$(readlink "$f" 2>/dev/null) || continue
        case $l in net:\[*\]) l=${l#net:[}; printf '%s\n' "${l%]}" ;; esac
    done
}

# bg_pid_in NS PID: fails unless PID runs in NS. (`in_ns … &` would give the
# PID of a subshell in the machine's own namespace: start background
# processes with `ip netns exec NS … &`, which execs the command.)
bg_pid_in() {
    local want got
    want=$(stat -L -c %i "/run/netns/$1")
    got=$(stat -L -c %i "/proc/$2/ns/net" 2>/dev/null || echo gone)
    [ "$got" = "$want" ] || fail "process $2 is not in namespace $1 (netns inode $got, not $want)"
}

# netlabd_start NS CONFIG_DIR [ARGS...]: netlabd in NS with a state directory
# and control socket of its own under the run's temp dir; sets NLD_PID (of
# netlabd itself: `ip netns exec` execs it), NLD_SOCK, NLD_LOG.
netlabd_start() {
    local ns=$1 conf=$2; shift 2
    local d="$LAB_TMP/netlabd-$ns" i
    mkdir -p "$d"
    NLD_SOCK="$d/netlabd.sock" NLD_LOG="$d/netlabd.log"
    ip netns exec "$ns" "$NETLAB_BIN/netlabd" --config-dir "$conf" --state-dir "$LAB_TMP/state-$ns" \
        --socket "$NLD_SOCK" "$@" 2>"$NLD_LOG" &
    NLD_PID=$!
    LAB_PIDS+=("$NLD_PID")
    for i in $(seq 1 600); do
        [ "$(readlink "/proc/$NLD_PID/exe" 2>/dev/null)" = "$(readlink -f "$NETLAB_BIN/netlabd")" ] && break
        sleep 0.05
    done
    [ "$(readlink "/proc/$NLD_PID/exe" 2>/dev/null)" = "$(readlink -f "$NETLAB_BIN/netlabd")" ] \
        || netlabd_fail "process $NLD_PID is not netlabd"
    bg_pid_in "$ns" "$NLD_PID"
}

# netlabd_fail MESSAGE: fails with netlabd's log.
netlabd_fail() { note "-- netlabd log"; cat "$NLD_LOG" 2>/dev/null || true; fail "$@"; }

# netlabd_status OUT: waits (30 s at most) until netlabd has reported a
# reconcile and is idle; its status JSON in OUT.
netlabd_status() {
    local i
    for i in $(seq 1 300); do
        if "$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 5 >"$1" 2>/dev/null \
            && [ "$(json_get "$1" 'j["last"] is not None and not j["daemon"]["busy"] and not j["daemon"]["queued"]')" = True ]; then
            return 0
        fi
        kill -0 "$NLD_PID" 2>/dev/null || netlabd_fail "netlabd exited"
        sleep 0.1
    done
    netlabd_fail "netlabd did not report a reconcile"
}

# netlabd_stop: SIGTERM, and it must exit 0.
netlabd_stop() {
    kill -TERM "$NLD_PID"
    wait "$NLD_PID" || netlabd_fail "netlabd did not exit cleanly on SIGTERM"
    lab_forget_pid "$NLD_PID"
}

# netlabd_holds_only NS WHEN: netlabd holds no network namespace open but its
# own (NS): every container's is let go after each run.
netlabd_holds_only() {
    local own held ino
    own=$(stat -L -c %i "/run/netns/$1")
    held=$(netns_fds "$NLD_PID" | sort -u | tr '\n' ' ')
    note "  $2: netlabd (pid $NLD_PID) holds netns fds: ${held:-none} (its own: $own)"
    for ino in $held; do
        [ "$ino" = "$own" ] || netlabd_fail "netlabd holds a network namespace that is not its own (inode $ino) $2"
    done
}

# monitor_start NS OUT [OBJECTS...] / monitor_stop: `ip monitor OBJECTS`
# (default: route) of NS into OUT while a change runs. Both ends are
# synchronised with a marker route in table 4242 (added and deleted until the
# monitor has printed it), not with a sleep: every event before monitor_stop
# is in OUT, and none was missed after monitor_start. The marker lines are
# left out of OUT.
MONITOR_TABLE=4242
monitor_start() {
    local ns=$1 out=$2 objs
    shift 2
    objs=("$@")
    [ ${#objs[@]} -gt 0 ] || objs=(route)
    case " ${objs[*]} " in *" route "*) ;; *) objs+=(route) ;; esac
    MONITOR_NS=$ns MONITOR_OUT=$out MONITOR_SKIP=0
    ip -n "$ns" monitor "${objs[@]}" >"$out.raw" 2>&1 &
    MONITOR_PID=$!
    LAB_PIDS+=("$MONITOR_PID")
    monitor_mark 203.0.113.253
}
# monitor_mark ADDR: adds and deletes the marker route until the monitor has
# printed both (an event sent before the monitor subscribed is not printed).
monitor_mark() {
    local mark="$1 table $MONITOR_TABLE" _
    for _ in $(seq 60); do
        ip -n "$MONITOR_NS" route add unreachable "$1/32" table "$MONITOR_TABLE"
        if poll_until 2 has_line cat "$MONITOR_OUT.raw" -- -F "$mark"; then
            ip -n "$MONITOR_NS" route del unreachable "$1/32" table "$MONITOR_TABLE"
            poll_until 60 has_line cat "$MONITOR_OUT.raw" -- -E "^Deleted.*$1 table $MONITOR_TABLE" \
                || fail "ip monitor in $MONITOR_NS did not print the deletion of its marker route: $(cat "$MONITOR_OUT.raw")"
            return 0
        fi
        ip -n "$MONITOR_NS" route del unreachable "$1/32" table "$MONITOR_TABLE"
        kill -0 "$MONITOR_PID" 2>/dev/null || fail "ip monitor in $MONITOR_NS exited: $(cat "$MONITOR_OUT.raw")"
    done
    fail "ip monitor in $MONITOR_NS never printed its marker route: $(cat "$MONITOR_OUT.raw")"
}
# monitor_quiet SECONDS: waits until the monitor has printed nothing for
# SECONDS (at most 120 s), then leaves everything printed so far out of OUT:
# the kernel's own follow-ups to an earlier change (carrier and operstate
# from linkwatch, DAD, link-local routes) arrive for a while after it, later
# on a busy machine, and are not what the next check is about.
monitor_quiet() {
    local quiet=$1 size last end=$((SECONDS + 120)) since=$SECONDS
    last=$(stat -c %s "$MONITOR_OUT.raw")
    while [ "$SECONDS" -lt "$end" ]; do
        sleep 0.2
        size=$(stat -c %s "$MONITOR_OUT.raw")
        if [ "$size" != "$last" ]; then last=$size since=$SECONDS; continue; fi
        if [ $((SECONDS - since)) -ge "$quiet" ]; then
            MONITOR_SKIP=$size
            return 0
        fi
    done
    fail "ip monitor in $MONITOR_NS never went quiet for ${quiet}s: $(cat "$MONITOR_OUT.raw")"
}
monitor_stop() {
    monitor_mark 203.0.113.254
    kill "$MONITOR_PID" 2>/dev/null || true
    wait "$MONITOR_PID" 2>/dev/null || true
    lab_forget_pid "$MONITOR_PID"
    tail -c +"$((MONITOR_SKIP + 1))" "$MONITOR_OUT.raw" | grep -v -F "table $MONITOR_TABLE" >"$MONITOR_OUT" || true
}
