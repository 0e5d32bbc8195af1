# shellcheck shell=bash
# shellcheck disable=SC2034  # results are globals read by the sourcing script
# Shared harness of the bench scripts (bench/run.sh, w7_declarative.sh,
# w8_after_apply.sh): the options every script takes (--n, --runs, --raw),
# where the binaries are, and the run's namespaces — all named
# "nlb<PID>[-TAG]-..." and deleted by the EXIT trap this file installs, even
# on failure, as tests/kernel/lib.sh does for the tests. Nothing here touches
# the machine's own network namespace.
#
#   BENCH_NAME=w7_declarative.sh; . "$SRC/bench/lib.sh"
#   bench_args "$@"; set -- "${BENCH_REST[@]}"   # then the script's own options
#   bench_check_ns 2 4096 "why"                  # every N of --n in range
#   bench_init w7                                # PFX=nlb<PID>-w7, WORK, the trap
#
# A script may define bench_on_exit (run first by the trap: stop a daemon,
# remove files it put outside WORK).

SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NETLAB_BIN=${NETLAB_BIN:-$SRC/build}
BENCH_BIN=${BENCH_BIN:-$NETLAB_BIN}
NETLABCTL=$NETLAB_BIN/netlabctl
NETLABD=$NETLAB_BIN/netlabd
# The interpreter itself, not a version-manager shim (seconds per start).
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
BENCH_NAME=${BENCH_NAME:-$(basename "$0")}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# bench_args ARGS...: --n LIST, --runs K and --raw FILE into NS_LIST, RUNS and
# RAW (each keeps the script's default when absent); every other argument is
# left, in order, in BENCH_REST.
BENCH_REST=()
bench_args() {
    BENCH_REST=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --n|--runs|--raw) [ $# -ge 2 ] || die "$1 wants a value" ;;
        esac
        case "$1" in
            --n) NS_LIST=$2; shift 2 ;;
            --runs) RUNS=$2; shift 2 ;;
            --raw) RAW=$2; shift 2 ;;
            *) BENCH_REST+=("$1"); shift ;;
        esac
    done
    case "${RUNS:-1}" in ''|*[!0-9]*) die "--runs wants a number" ;; esac
    [ "${RUNS:-1}" -ge 1 ] || die "--runs wants a number >= 1"
}

# bench_check_ns MIN MAX WHY: every N of NS_LIST is a number in MIN..MAX.
bench_check_ns() {
    local n
    [ -n "${NS_LIST// /}" ] || die "--n wants at least one number"
    for n in $NS_LIST; do
        case "$n" in ''|*[!0-9]*) die "--n wants numbers, not '$n'" ;; esac
        [ "$n" -ge "$1" ] && [ "$n" -le "$2" ] || die "N must be $1..$2 ($3), not $n"
    done
}

# bench_max_n: the largest N of NS_LIST.
bench_max_n() {
    local n m=0
    for n in $NS_LIST; do [ "$n" -gt "$m" ] && m=$n; done
    echo "$m"
}

# bench_del_netns: deletes this run's namespaces, by their unique prefix
# (never `ip -all`): one `ip -batch`, then one by one what it left.
bench_del_netns() {
    local ns
    ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-" >"$WORK/.netns" || true
    sed 's/^/netns del /' "$WORK/.netns" >"$WORK/.netns.batch"
    [ -s "$WORK/.netns.batch" ] && ip -batch "$WORK/.netns.batch" >/dev/null 2>&1
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do ip netns del "$ns"; done
    return 0
}

_bench_cleanup() {
    local rc=$?
    set +e
    if declare -F bench_on_exit >/dev/null; then bench_on_exit; fi
    bench_del_netns
    rm -rf "$WORK"
    exit $rc
}

# bench_init [TAG]: PFX (nlb<PID>[-TAG]: every namespace of the run starts
# with "$PFX-"), WORK (a fresh directory, removed on exit) and the trap.
bench_init() {
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
    command -v ip >/dev/null || die "needs iproute2"
    PFX="nlb$$${1:+-$1}"
    WORK=$(mktemp -d "/tmp/$PFX.XXXXXX")
    trap _bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---- the address plan of the container workloads (W1-W4, W6, W8) -----------------
# Containers are spread over bridges of BENCH_BRIDGE_SIZE (default 1000: a
# bridge holds at most 1,024 ports): container k is the (k % size)-th of
# bridge b = k / size, "br<b>" in the host netns. Bridge b owns the b-th /22 of
# 198.18.0.0/15 (RFC 2544 reserves it for benchmarks; used only inside the
# bench's namespaces): gateway .1 of it, container j of it gets the /22's
# (j + 2)-th address. 128 bridges, unique addresses at every N, with IPv6 on
# and off. With V6_ABOVE=K (bench/run.sh --v6-above) and IPv6 on, containers
# k >= K get 2001:db8:0:<b>::(j+2)/64 instead, gateway 2001:db8:0:<b>::1.
BENCH_BRIDGE_SIZE=${BENCH_BRIDGE_SIZE:-1000}

bench_bridges() {  # N -> how many bridges N containers need
    echo $(( ($1 + BENCH_BRIDGE_SIZE - 1) / BENCH_BRIDGE_SIZE ))
}

bench_gateway() {  # B V6(0|1) -> "ADDR/LEN" of bridge B's gateway
    if [ "$2" = 1 ]; then printf '2001:db8:0:%x::1/64\n' "$1"
    else local a=$(( $1 * 1024 )); printf '198.%d.%d.1/22\n' $((18 + a / 65536)) $((a / 256 % 256)); fi
}

bench_container() {  # k V6(0|1) -> "NETNS HOST_END IFNAME ADDR/LEN GATEWAY BRIDGE"
    local k=$1 b=$(( $1 / BENCH_BRIDGE_SIZE )) j=$(( $1 % BENCH_BRIDGE_SIZE ))
    if [ "$2" = 1 ] && [ -n "${V6_ABOVE:-}" ] && [ "$k" -ge "$V6_ABOVE" ]; then
        printf '%s-c%d vh%d eth1 2001:db8:0:%x::%x/64 2001:db8:0:%x::1 br%d\n' "$PFX" "$k" "$k" "$b" $((j + 2)) "$b" "$b"
    else
        local a=$(( b * 1024 + j + 2 )) g=$(( b * 1024 + 1 ))
        printf '%s-c%d vh%d eth1 198.%d.%d.%d/22 198.%d.%d.%d br%d\n' "$PFX" "$k" "$k" \
            $((18 + a / 65536)) $((a / 256 % 256)) $((a % 256)) \
            $((18 + g / 65536)) $((g / 256 % 256)) $((g % 256)) "$b"
    fi
}

# bench_host_lab HOSTNS N V6(0|1): the host netns with the bridges N
# containers need, each with its gateway address(es), STP off, up; and the
# container namespaces $PFX-c0 ... (one `ip -batch` each).
bench_host_lab() {
    local ns=$1 n=$2 v6=$3 b k nb
    nb=$(bench_bridges "$n")
    ip netns add "$ns"
    {
        echo "link set lo up"
        for ((b = 0; b < nb; b++)); do
            echo "link add br$b type bridge stp_state 0 forward_delay 0"
            echo "addr add $(bench_gateway "$b" 0) dev br$b"
            [ "$v6" = 0 ] || echo "addr add $(bench_gateway "$b" 1) dev br$b nodad"
            echo "link set br$b up"
        done
    } >"$WORK/.host.batch"
    ip -n "$ns" -batch "$WORK/.host.batch"
    for ((k = 0; k < n; k++)); do echo "netns add $PFX-c$k"; done >"$WORK/.netns-add.batch"
    ip -batch "$WORK/.netns-add.batch"
}

# bench_topology PLAN V6(0|1) DIR [announce]: a netlab configuration directory
# for PLAN's containers as users would lay it out: DIR/topology.yaml holds
# the bridges (already there, adopted), DIR/topology.d/br<b>.yaml the
# containers of bridge b, one drop-in per bridge (a 1000-container drop-in is
# ~130 KiB, well under the 1 MiB per-file limit).
bench_topology() {
    local plan=$1 v6=$2 dir=$3 nb b
    rm -rf "$dir"; mkdir -p "$dir/topology.d"
    nb=$(awk '{ b = substr($6, 3) + 1; if (b > m) m = b } END { print m + 0 }' "$plan")
    {
        echo "version: 1"
        echo "interfaces:"
        for ((b = 0; b < nb; b++)); do
            echo "  br$b: {kind: bridge, stp: false, addresses: [$(bench_gateway "$b" 0)$([ "$v6" = 0 ] || echo ", $(bench_gateway "$b" 1)")]}"
        done
        # BENCH_ANNOUNCE=false: no gratuitous ARP / NA after the apply (their
        # cost is the phase "announce" otherwise).
        if [ "${BENCH_ANNOUNCE:-true}" = false ]; then echo "announce: false"; fi
    } >"$dir/topology.yaml"
    awk -v pfx="$PFX-" -v dir="$dir/topology.d" '
        { f = dir "/" $6 ".yaml"
          if (!(f in seen)) { seen[f] = 1; print "version: 1\ncontainers:" > f }
          name = $1; sub("^" pfx, "", name)
          printf "  %s:\n    netns: \"netns:%s\"\n    interfaces:\n      %s: {bridge: %s, address: \"%s@%s\"}\n",
                 name, $1, $3, $6, $4, $5 > f }' "$plan"
}
