# shellcheck shell=bash
# netlabd in a network namespace with every path private, for the kernel
# tests that run the daemon (test_daemon_control.sh, test_daemon_watch.sh,
# test_crash.sh). Source it; it installs no trap: the caller kills the
# daemons it started (NETLABD_PID after each start) in its own cleanup.
#
# One daemon = one directory DIR:
#   DIR/etc/topology.yaml   --config-dir DIR/etc
#   DIR/run/                --state-dir (journal.json, ledger.json, lock)
#   DIR/run/netlabd.sock    --socket
#   DIR/netlabd.log         its stderr, appended (a restarted daemon adds to it)

# shellcheck source=tests/kernel/check_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_lib.sh"

NETLAB_BIN=${NETLAB_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
NETLABD="$NETLAB_BIN/netlabd"
NETLABCTL="$NETLAB_BIN/netlabctl"

daemon_sock() { printf '%s\n' "$1/run/netlabd.sock"; }

# daemon_start NS DIR [VAR=VALUE...] [-- NETLABD_ARGS...]: starts netlabd in
# NS with DIR's paths and the given environment; sets NETLABD_PID (at once,
# so a cleanup can kill it even when the start fails). Returns 0 once the
# control socket answers — the start-up recovery and reconcile may still run
# — and 1 when netlabd exited or never answered.
daemon_start() {
    daemon_spawn "$@"
    local dir=$2 _
    for _ in $(seq 300); do
        "$NETLABCTL" status --socket "$dir/run/netlabd.sock" --timeout 2 >/dev/null 2>&1 && return 0
        kill -0 "$NETLABD_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# daemon_spawn NS DIR [VAR=VALUE...] [-- NETLABD_ARGS...]: daemon_start
# without waiting for the socket (for a netlabd that stops itself at a
# NETLAB_STOP_* point before it can answer); sets NETLABD_PID.
daemon_spawn() {
    local ns=$1 dir=$2 envs=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    mkdir -p "$dir/etc" "$dir/run"
    ip netns exec "$ns" env "${envs[@]}" "$NETLABD" --config-dir "$dir/etc" --state-dir "$dir/run" \
        --socket "$dir/run/netlabd.sock" "$@" 2>>"$dir/netlabd.log" &
    NETLABD_PID=$!
}

# daemon_status DIR [ARGS...]: `netlabctl status` of DIR's daemon.
daemon_status() {
    local dir=$1
    shift
    "$NETLABCTL" status --socket "$dir/run/netlabd.sock" --timeout 10 "$@"
}

# daemon_wait_reconciled DIR: until DIR's daemon has finished a reconcile
# (status "last" is set); 1 when it died or it took more than 60 s.
daemon_wait_reconciled() {
    local _
    for _ in $(seq 600); do
        has_line daemon_status "$1" --json 2>/dev/null -- '"last": {' && return 0
        kill -0 "$NETLABD_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# daemon_wait_log DIR REGEX [PID]: until a line of DIR/netlabd.log matches
# REGEX (grep -E); 1 when the daemon (PID, default NETLABD_PID) exited first
# or after 120 s. Polls every 20 ms, so a test can act "during" a logged step.
daemon_wait_log() {
    local dir=$1 re=$2 pid=${3:-$NETLABD_PID} _
    for _ in $(seq 6000); do
        grep -qE "$re" "$dir/netlabd.log" 2>/dev/null && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -qE "$re" "$dir/netlabd.log" 2>/dev/null
            return
        fi
        sleep 0.02
    done
    return 1
}

# daemon_topology [METRIC]: a bridge with an address and a route through it,
# the topology the daemon tests start from (METRIC: the route's metric).
daemon_topology() {
    cat <<YAML
version: 1
interfaces:
  br0:
    kind: bridge
    stp: false
    addresses: [198.51.100.1/24]
routes:
  - to: 203.0.113.0/24
    via: 198.51.100.254
    dev: br0
YAML
    if [ -n "${1:-}" ]; then printf '    metric: %s\n' "$1"; fi
}
