#!/usr/bin/env bash
# Benchmarks of issue 7: netlab against `ip`, `ip -batch` and the raw-netlink
# floor (bench/floor.cpp), side by side in one run, in namespaces this script
# creates and removes. Writes a Markdown report (docs/benchmarks.md).
#
#   bench/run.sh [--n "10 100 1000"] [--runs 5] [--ipv6 "on off"]
#                [--methods "a b c d"] [--out docs/benchmarks.md]
#                [--no-w5] [--raw FILE] [--slow-runs K] [--slow-n N] [--slow-max-n N]
#                [--v6-above K] [--deadline HH:MM] [--w8 "1 5 10"]
#                [--w7 "10 100 1000"] [--daemon-n "1000 5000"] [--bridge-size 1000]
#   bench/run.sh --render RAW --out FILE      (re-render a report from raw results)
#
# BENCH_ANNOUNCE=false in the environment: method (c)'s topology says
# `announce: false` (no gratuitous ARP / NA after the apply; otherwise their
# cost is the phase "announce"). RELOADS and RECONCILES (default 1000 each):
# W6's plain no-change reloads and --full reconciles at the largest N.
#
# --slow-runs K: K runs (instead of --runs) of the slowest method at each
# N >= --slow-n: (a) up to --slow-max-n, `ip -batch` (b) above it.
# --w8 OFFSETS: also W8 (bench/w8_after_apply.sh): netlabd attaches the
# largest N, then a no-change `netlabctl reload` at each offset (seconds)
# after that apply; on its own: bench/w8_after_apply.sh --n 1000 --at "1 5 10".
# --w7 LIST: also W7 (bench/w7_declarative.sh: netlab, ifupdown2's `ifreload
# -a` and `ip -batch`, N bridges each with an address and a route) at each N
# of LIST, --runs runs (1 for ifupdown2 at N >= 1000), rows in this run's raw
# file. --daemon-n LIST: the N (of --n) at which netlabd's reloads (W2, W3)
# are measured; default 1000 (when in --n) and the largest N, which also
# gets W6.
#
# The full run is one invocation (docs/benchmarks.md, bench/notes.md):
#   RECONCILES=100 bench/run.sh --n "10 100 1000 2000 5000" --runs 3 \
#       --ipv6 "on off" --slow-runs 1 --slow-max-n 1000 --no-w5 \
#       --w7 "10 100 1000" --raw bench/results/latest.tsv --out docs/benchmarks.md
# Containers are spread over bridges of --bridge-size (1000; a bridge holds
# at most 1,024 ports), br0, br1, ..., each with its own gateway: bridge b
# owns the b-th /22 of 198.18.0.0/15 (RFC 2544's range for benchmarks), so
# every address is unique at every N, with IPv6 on and off, and every method
# runs every cell (bench/lib.sh). --v6-above K: with IPv6 on, containers
# k >= K get 2001:db8:0:<b>::/64 addresses instead, to measure IPv6 ones too.
#
# Binaries: bench_floor and bench_timeit from $BENCH_BIN, netlabctl and netlabd
# from $NETLAB_BIN (both default to build/).
#
# W1 methods, each followed by its natural teardown (W4):
#   a  one `ip` process per command, as pipework does   -> one `ip link del` per link
#   b  `ip -batch`: one batch in the host netns, one per container netns
#                                                        -> one `ip -batch` of `link del`
#   c  `netlabctl apply` from cold (fresh state dir)     -> apply without the containers
#   d  bench_floor (one process, raw libnl)             -> one RTM_DELLINK for a link group
#
# Safety: every namespace is named "nlb<PID>-..." and is deleted by the EXIT
# trap, even on failure; nothing runs in the machine's own namespace (every
# network command is `ip -n NS`, `ip netns exec NS`, or bench_floor, which
# refuses to run outside a named namespace). Addresses: 198.18.0.0/15 and
# 2001:db8::/48, only inside this run's namespaces (see "Address plan" in
# bench/notes.md).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
FLOOR=$BENCH_BIN/bench_floor
TIMEIT=$BENCH_BIN/bench_timeit

NS_LIST="10 100 1000"
RUNS=5
IPV6_MODES="on off"
METHODS="a b c d"
OUT=$SRC/docs/benchmarks.md
RAW=""
RENDER=""
DO_W5=1
SLOW_RUNS=""   # runs of the slowest method at N >= SLOW_N: (a) up to SLOW_MAX_N, (b) above; default --runs
SLOW_N=500
SLOW_MAX_N=1000  # method (a) is not run above this N
V6_ABOVE=""      # with IPv6 on, containers k >= this get 2001:db8::/64 addresses instead
DEADLINE=""    # HH:MM UTC: no measurement of (a)/(b) that would end after it is started
W8_AT=""       # --w8: offsets (s) of the no-change reloads after netlabd's apply of the largest N
W7_N=""        # --w7: the N of W7 (bench/w7_declarative.sh), in this invocation
DAEMON_N=""    # --daemon-n: the N at which netlabd is measured (W2/W3 reloads); W6 at the largest
SETTLE_BASE=${SETTLE_BASE:-0.3}   # seconds after every attach/teardown, plus N/1000 s

bench_args "$@"
set -- "${BENCH_REST[@]}"
while [ $# -gt 0 ]; do
    case "$1" in
        --ipv6) IPV6_MODES=$2; shift 2 ;;
        --methods) METHODS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --render) RENDER=$2; shift 2 ;;
        --no-w5) DO_W5=0; shift ;;
        --slow-runs) SLOW_RUNS=$2; shift 2 ;;
        --slow-n) SLOW_N=$2; shift 2 ;;
        --slow-max-n) SLOW_MAX_N=$2; shift 2 ;;
        --v6-above) V6_ABOVE=$2; shift 2 ;;
        --deadline) DEADLINE=$2; shift 2 ;;
        --w8) W8_AT=$2; shift 2 ;;
        --w7) W7_N=$2; shift 2 ;;
        --daemon-n) DAEMON_N=$2; shift 2 ;;
        --bridge-size) BENCH_BRIDGE_SIZE=$2; shift 2 ;;
        -h|--help) sed -n '2,56p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

if [ -n "$RENDER" ]; then
    exec "$PYTHON" "$SRC/bench/report.py" --raw "$RENDER" --out "$OUT" --notes "$SRC/bench/notes.md"
fi

[ -x "$FLOOR" ] && [ -x "$TIMEIT" ] \
    || die "bench_floor/bench_timeit not built in $BENCH_BIN (cmake --build BUILD --target bench_floor bench_timeit)"
case "$BENCH_BRIDGE_SIZE" in ''|*[!0-9]*) die "--bridge-size wants a number" ;; esac
[ "$BENCH_BRIDGE_SIZE" -ge 1 ] && [ "$BENCH_BRIDGE_SIZE" -le 1000 ] \
    || die "--bridge-size must be 1..1000 (a bridge holds at most 1,024 ports; one /22 of addresses per bridge)"
bench_check_ns 1 $((128 * BENCH_BRIDGE_SIZE)) "128 bridges of --bridge-size $BENCH_BRIDGE_SIZE: one /22 of 198.18.0.0/15 each"
case "$V6_ABOVE" in ''|*[!0-9]*) [ -z "$V6_ABOVE" ] || die "--v6-above wants a number" ;; esac
for n in $DAEMON_N; do
    case " $NS_LIST " in *" $n "*) ;; *) die "--daemon-n $n is not one of --n" ;; esac
done

bench_init ""
HOSTNS="$PFX-host"
[ -n "$RAW" ] || RAW=$WORK/raw.tsv
: >"$RAW"
NETLABD_PID=""
bench_on_exit() {
    if [ -n "$NETLABD_PID" ]; then kill "$NETLABD_PID" 2>/dev/null; wait "$NETLABD_PID" 2>/dev/null; fi
    return 0
}

MAXN=$(bench_max_n)
# netlabd is measured at 1000 (when run) and at the largest N, unless --daemon-n says.
if [ -z "$DAEMON_N" ]; then
    case " $NS_LIST " in *" 1000 "*) [ "$MAXN" = 1000 ] || DAEMON_N=1000 ;; esac
    DAEMON_N="$DAEMON_N${DAEMON_N:+ }$MAXN"
fi

# ---- the lab ------------------------------------------------------------------
# Address plan (bench/lib.sh): containers spread over bridges of
# --bridge-size (1000), br0, br1, ... in the host netns, each with its own
# gateway: the b-th /22 of 198.18.0.0/15, unique addresses at every N with
# IPv6 on and off. With --v6-above K and IPv6 on, containers k >= K get
# 2001:db8:0:<b>::/64 addresses instead: two plans, plan-N (IPv4 only) and
# plan6-N.
v6_applies() {  # MODE: true when this IPv6 setting uses the --v6-above plan
    [ -n "$V6_ABOVE" ] && [ "$1" = on ]
}

plan_of() {  # MODE N|max -> the plan file for N containers in this IPv6 setting
    if v6_applies "$1"; then echo "$WORK/plan6-$2"; else echo "$WORK/plan-$2"; fi
}

setup_lab() {
    log "lab: host netns $HOSTNS with $(bench_bridges "$MAXN") bridge(s) of up to $BENCH_BRIDGE_SIZE, $MAXN container namespaces"
    bench_host_lab "$HOSTNS" "$MAXN" "$([ -n "$V6_ABOVE" ] && echo 1 || echo 0)"
    local v6=0 p k
    for v6 in 0 ${V6_ABOVE:+1}; do
        p=plan; [ "$v6" = 0 ] || p=plan6
        for ((k = 0; k < MAXN; k++)); do bench_container "$k" "$v6"; done >"$WORK/$p-max"
        for n in $NS_LIST; do head -n "$n" "$WORK/$p-max" >"$WORK/$p-$n"; done
    done
}

in_host() { ip netns exec "$HOSTNS" "$@"; }

set_ipv6() {  # on|off N: in the host netns and the N container namespaces in use
    local enable=0
    if [ "$1" = on ]; then enable=1; fi
    in_host "$FLOOR" sysctl "$WORK/plan-$2" --ipv6 "$enable" >/dev/null
    # Disabling IPv6 removed the bridges' IPv6 addresses: the --v6-above plan's gateways.
    if v6_applies "$1"; then
        local b
        for ((b = 0; b < $(bench_bridges "$MAXN"); b++)); do
            ip -n "$HOSTNS" addr replace "$(bench_gateway "$b" 1)" dev "br$b" nodad
        done
    fi
}

settle() { sleep "$(awk -v n="$1" -v b="$SETTLE_BASE" 'BEGIN { printf "%.2f", b + n / 1000 }')"; }

# Counts the host ends (the veths of the host netns, whoever named them, on
# whichever bridge); the host netns must hold exactly N of them.
host_ends() { ip -n "$HOSTNS" -o link show type veth 2>/dev/null | wc -l; }

# Checks the last container of a plan: eth1 up with its address and the default route.
check_container() {
    local plan=$1 line ns addr gw
    line=$(tail -n 1 "$plan")
    read -r ns _ _ addr gw _ <<<"$line"
    local fam=-4
    case "$addr" in *:*) fam=-6 ;; esac
    ip -n "$ns" -o "$fam" addr show dev eth1 2>/dev/null | grep -E "inet6? $addr " >/dev/null || return 1
    ip -n "$ns" "$fam" route show default 2>/dev/null | grep "via $gw dev eth1" >/dev/null || return 1
    ip -n "$ns" -o link show eth1 2>/dev/null | grep 'state UP\|,UP' >/dev/null || return 1
}

# Leaves the host netns with its bridges only, and (after a failure) every container
# netns empty, whatever state a failed method left.
force_clean() {  # [deep [PLAN]]
    if [ "$(ip -n "$HOSTNS" -o link | wc -l)" -gt $((1 + $(bench_bridges "$MAXN"))) ]; then
        # Whatever their names (netlabd's host ends are not the plan's vhK):
        # every link but lo and the bridges into group 99, then one delete of
        # the group; one by one what that left.
        local l
        ip -n "$HOSTNS" -o link | awk -F': ' '{print $2}' | sed 's/@.*//' \
            | grep -v -x -e lo -e 'br[0-9]*' >"$WORK/leftover" || true
        sed 's/^/link set dev /; s/$/ group 99/' "$WORK/leftover" >"$WORK/leftover.batch"
        ip -n "$HOSTNS" -force -batch "$WORK/leftover.batch" >/dev/null 2>&1 || true
        ip -n "$HOSTNS" link del group 99 >/dev/null 2>&1 || true
        for l in $(ip -n "$HOSTNS" -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -v -x -e lo -e 'br[0-9]*'); do
            ip -n "$HOSTNS" link del "$l" 2>/dev/null || true
        done
    fi
    if [ "${1:-}" = deep ]; then
        in_host "$FLOOR" sweep "${2:-$WORK/plan-max}" >/dev/null || true
    fi
}

# record WORKLOAD METHOD MODE N RUN TIMEFILE STATUS EXTRA
record() {
    local t
    t=$(tail -n 1 "$6" 2>/dev/null || true)
    [ -n "$t" ] || t="- - - - -"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$(tr ' ' '\t' <<<"$t")" "$7" "$8" >>"$RAW"
}

# ---- W1/W4 methods --------------------------------------------------------------

gen_a() {  # pipework: one ip process per command
    local plan=$1 ns he ifn addr gw br k
    {
        echo "set -e"
        while read -r ns he ifn addr gw br; do
            k=${he#vh}
            echo "ip link add $he type veth peer name vg$k"
            echo "ip link set $he master $br"
            echo "ip link set $he up"
            echo "ip link set vg$k netns $ns"
            echo "ip -n $ns link set vg$k name $ifn"
            echo "ip -n $ns addr add $addr dev $ifn"
            echo "ip -n $ns route del default >/dev/null 2>&1 || true"
            echo "ip -n $ns link set $ifn up"
            echo "ip -n $ns route replace default via $gw"
        done <"$plan"
    } >"$WORK/a-attach.sh"
    while read -r ns he ifn addr gw br; do echo "ip link del $he"; done <"$plan" \
        | { echo "set -e"; cat; } >"$WORK/a-teardown.sh"
}

gen_b() {  # ip -batch: host batch (peer born in its netns, no move) + one per container
    local plan=$1 ns he ifn addr gw br
    mkdir -p "$WORK/b"
    : >"$WORK/b/host.batch"
    : >"$WORK/b/containers.sh"
    echo "set -e" >"$WORK/b/containers.sh"
    while read -r ns he ifn addr gw br; do
        echo "link add $he master $br up type veth peer name $ifn netns $ns" >>"$WORK/b/host.batch"
        printf 'link set %s up\naddr add %s dev %s\nroute replace default via %s dev %s\n' \
            "$ifn" "$addr" "$ifn" "$gw" "$ifn" >"$WORK/b/$ns.batch"
        echo "ip -n $ns -batch $WORK/b/$ns.batch" >>"$WORK/b/containers.sh"
    done <"$plan"
    {
        echo "set -e"
        echo "ip -batch $WORK/b/host.batch"
        echo ". $WORK/b/containers.sh"
    } >"$WORK/b-attach.sh"
    while read -r ns he ifn addr gw br; do echo "link del $he"; done <"$plan" >"$WORK/b/teardown.batch"
    echo "ip -batch $WORK/b/teardown.batch" >"$WORK/b-teardown.sh"
}

# gen_c PLAN MODE: netlab's configuration directories (bench/lib.sh,
# bench_topology: the bridges in topology.yaml, one drop-in per bridge):
# c-topology (the containers of PLAN), c-empty (the bridges only: W4),
# c-changed (W3: the last container's address changed, in its drop-in W3_FILE).
W3_FILE=""
gen_c() {
    local plan=$1 v6=0
    if v6_applies "$2"; then v6=1; fi
    bench_topology "$plan" "$v6" "$WORK/c-topology"
    # (the bridges stay: they were there before netlab and are only adopted)
    rm -rf "$WORK/c-empty" "$WORK/c-changed"
    mkdir -p "$WORK/c-empty"
    cp "$WORK/c-topology/topology.yaml" "$WORK/c-empty/"
    cp -r "$WORK/c-topology" "$WORK/c-changed"
    W3_FILE=topology.d/$(tail -n 1 "$plan" | awk '{print $6}').yaml
    # W3: the last container's address changed (to the next address, which
    # no container has: the last one has the highest of its bridge)
    "$PYTHON" - "$WORK/c-changed/$W3_FILE" <<'EOF'
import ipaddress, re, sys
text = open(sys.argv[1]).read().rstrip("\n").split("\n")
last = max(i for i, l in enumerate(text) if "address:" in l)
m = re.search(r'address: "([0-9a-f.:]+)/(\d+)@', text[last])
old = ipaddress.ip_address(m.group(1))
new = old + (0x1000 if old.version == 6 else 1)
text[last] = text[last].replace(f'"{old}/', f'"{new}/', 1)
open(sys.argv[1], "w").write("\n".join(text) + "\n")
EOF
}

NETLAB_ERROR=""   # set once netlab fails: the remaining (c) cells say why

netlab_apply() {  # CONFIG_DIR STATE TIMEFILE JSONOUT
    "$TIMEIT" "$3" -- ip netns exec "$HOSTNS" "$NETLABCTL" apply "$1" --state-dir "$2" --json >"$4" 2>"$4.err"
}

first_error() {  # the error of `netlabctl ... --json` (JSON in $1, stderr in $1.err), one line
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null || { cat "$1.err" "$1" 2>/dev/null | grep -v '^\s*$' | sed -n 1p | cut -c1-200 || true; }
import json, sys
top = json.load(open(sys.argv[1]))
parts = []
# netlabd's replies (`netlabctl reload --json`) carry the outcome under "result".
for j in (top, top.get("result") if isinstance(top.get("result"), dict) else {}):
    parts.append(j.get("error") or "")
    parts += [d.get("text") or d.get("message", "") for d in j.get("diagnostics", [])[:1]]
    if j.get("failed_step"):
        parts.append("failed step: %s" % (j["failed_step"].get("describe") if isinstance(j["failed_step"], dict) else j["failed_step"]))
parts = [p for p in parts if isinstance(p, str) and p]
if not parts:   # nothing said where expected: the reply itself
    parts = [json.dumps(top)[:300]]
print("; ".join(parts)[:300].replace("\t", " ").replace("\n", " "))
EOF
}

# writes_of JSON: netlink write requests reported by `netlabctl apply --json`.
writes_of() {
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null || echo "?"
import json, sys
j = json.load(open(sys.argv[1]))
if isinstance(j.get("result"), dict) and "writes" not in j: j = j["result"]
for k in ("netlink_writes", "writes", "netlink_write_requests"):
    if isinstance(j.get(k), int): print(j[k]); sys.exit()
for k in ("stats", "counters", "metrics"):
    v = j.get(k)
    if isinstance(v, dict):
        for kk in ("netlink_writes", "writes"):
            if isinstance(v.get(kk), int): print(v[kk]); sys.exit()
if isinstance(j.get("steps"), list): print(len(j["steps"])); sys.exit()
print("?")
EOF
}

# netlab_extra JSON: what the raw results keep of `netlabctl apply --json`
# (or of netlabd's reply to `netlabctl reload --json`, under "result"):
# "writes=N phases=load:1.2,observe:3.4,... ops=delete-group:1,..." (phases
# in ms, as netlab reports them; ops counts the plan's steps by op; netlabd
# gives only their number, steps=N, and reused=N: the namespaces taken from
# its last verified run instead of observed).
netlab_extra() {
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null || echo "writes=$(writes_of "$1")"
import json, sys
j = json.load(open(sys.argv[1]))
if isinstance(j.get("result"), dict) and "writes" not in j: j = j["result"]
out = ["writes=%s" % j.get("writes", "?")]
ph = j.get("phases") or {}
if ph:
    out.append("phases=" + ",".join("%s:%.1f" % (k, v) for k, v in ph.items()))
ops = {}
steps = j.get("steps")
if isinstance(steps, list):   # netlabctl apply: the steps themselves
    for s in steps:
        ops[s.get("op", "?")] = ops.get(s.get("op", "?"), 0) + 1
elif isinstance(steps, int):  # netlabd's reply: their number
    out.append("steps=%d" % steps)
if ops:
    out.append("ops=" + ",".join("%s:%d" % kv for kv in sorted(ops.items())))
if isinstance(j.get("reused_namespaces"), int):
    out.append("reused=%d" % j["reused_namespaces"])
print(" ".join(out))
EOF
}

run_method() {  # METHOD MODE N RUN
    local m=$1 mode=$2 n=$3 run=$4 plan tf="$WORK/time" st before
    plan=$(plan_of "$mode" "$n")
    before=$(wc -l <"$RAW")
    rm -f "$tf"
    case "$m" in
        a)
            gen_a "$plan"
            st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" bash "$WORK/a-attach.sh" >"$WORK/out" 2>&1 || st="failed: $(head -n 1 "$WORK/out")"
            [ "$st" = ok ] && { [ "$(host_ends)" -eq "$n" ] && check_container "$plan" || st="failed: wrong result"; }
            record W1 a "$mode" "$n" "$run" "$tf" "$st" ""
            settle "$n"
            rm -f "$tf"; st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" bash "$WORK/a-teardown.sh" >"$WORK/out" 2>&1 || st="failed: $(head -n 1 "$WORK/out")"
            [ "$(host_ends)" -eq 0 ] || st="failed: links left"
            record W4 a "$mode" "$n" "$run" "$tf" "$st" ""
            ;;
        b)
            gen_b "$plan"
            st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" bash "$WORK/b-attach.sh" >"$WORK/out" 2>&1 || st="failed: $(head -n 1 "$WORK/out")"
            [ "$st" = ok ] && { [ "$(host_ends)" -eq "$n" ] && check_container "$plan" || st="failed: wrong result"; }
            record W1 b "$mode" "$n" "$run" "$tf" "$st" ""
            settle "$n"
            rm -f "$tf"; st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" bash "$WORK/b-teardown.sh" >"$WORK/out" 2>&1 || st="failed: $(head -n 1 "$WORK/out")"
            [ "$(host_ends)" -eq 0 ] || st="failed: links left"
            record W4 b "$mode" "$n" "$run" "$tf" "$st" ""
            ;;
        c)
            [ -x "$NETLABCTL" ] || NETLAB_ERROR="netlabctl not built at $NETLABCTL"
            if [ -n "$NETLAB_ERROR" ]; then
                record W1 c "$mode" "$n" "$run" /dev/null "not available yet: $NETLAB_ERROR" ""
                record W4 c "$mode" "$n" "$run" /dev/null "not available yet: $NETLAB_ERROR" ""
                settle 0
                return 0   # nothing was touched
            fi
            gen_c "$plan" "$mode"
            local state="$WORK/state-c" js="$WORK/c.json"
            rm -rf "$state"; mkdir -p "$state"
            st=ok
            netlab_apply "$WORK/c-topology" "$state" "$tf" "$js" || st="failed"
            if [ "$st" = ok ]; then
                local got
                got=$(host_ends)
                if [ "$got" -ne "$n" ] || ! check_container "$plan"; then
                    st="failed: apply said '$(first_error "$js")' but $got of $n host ends are on br0"
                    check_container "$plan" || st="$st and the last container lacks eth1/address/default route"
                fi
            else
                NETLAB_ERROR=$(first_error "$js")
                st="not available yet: $NETLAB_ERROR"
            fi
            record W1 c "$mode" "$n" "$run" "$tf" "$st" "$(netlab_extra "$js")"
            local attached=$st
            if [ "$st" = ok ]; then
                settle "$n"
                # W2: the same topology again, converged: nothing to write.
                rm -f "$tf"; st=ok
                netlab_apply "$WORK/c-topology" "$state" "$tf" "$js" || st="failed: $(first_error "$js")"
                record W2 c "$mode" "$n" "$run" "$tf" "$st" "$(netlab_extra "$js")"
                # W3: one container's address changed.
                rm -f "$tf"; st=ok
                netlab_apply "$WORK/c-changed" "$state" "$tf" "$js" || st="failed: $(first_error "$js")"
                record W3 c "$mode" "$n" "$run" "$tf" "$st" "$(netlab_extra "$js")"
                settle "$n"
            fi
            # W4: apply without the containers.
            if [ -n "$NETLAB_ERROR" ]; then
                record W4 c "$mode" "$n" "$run" /dev/null "not available yet: $NETLAB_ERROR" ""
            elif [ "$attached" != ok ]; then
                record W4 c "$mode" "$n" "$run" /dev/null "not measured: the attach failed" ""
                netlab_apply "$WORK/c-empty" "$state" /dev/null "$js" || true
            else
                rm -f "$tf"; st=ok
                netlab_apply "$WORK/c-empty" "$state" "$tf" "$js" || st="failed: $(first_error "$js")"
                [ "$(host_ends)" -eq 0 ] || st="failed: links left"
                record W4 c "$mode" "$n" "$run" "$tf" "$st" "$(netlab_extra "$js")"
            fi
            ;;
        d)
            st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" "$FLOOR" attach "$plan" --group 7 >"$WORK/out" 2>&1 || st="failed: $(grep -m1 'bench_floor' "$WORK/out")"
            [ "$st" = ok ] && { [ "$(host_ends)" -eq "$n" ] && check_container "$plan" || st="failed: wrong result"; }
            record W1 d "$mode" "$n" "$run" "$tf" "$st" "$(grep -m1 '^{' "$WORK/out" || true)"
            settle "$n"
            # W2 floor: a raw dump of the host netns and the N container namespaces.
            rm -f "$tf"; st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" "$FLOOR" dump "$plan" >"$WORK/out" 2>&1 || st="failed"
            record W2 d "$mode" "$n" "$run" "$tf" "$st" "$(grep -m1 '^{' "$WORK/out" || true)"
            # W4 floor: host ends into one group (again, as any teardown must), one RTM_DELLINK.
            rm -f "$tf"; st=ok
            "$TIMEIT" "$tf" -- ip netns exec "$HOSTNS" "$FLOOR" teardown "$plan" --group 8 >"$WORK/out" 2>&1 || st="failed: $(grep -m1 'bench_floor' "$WORK/out")"
            [ "$(host_ends)" -eq 0 ] || st="failed: links left"
            record W4 d "$mode" "$n" "$run" "$tf" "$st" "$(grep -m1 '^{' "$WORK/out" || true)"
            ;;
    esac
    if tail -n +$((before + 1)) "$RAW" | cut -f11 | grep '^failed' >/dev/null; then force_clean deep "$plan"; else force_clean; fi
    settle "$n"
}

# ---- W2/W3 reloads and W6: netlabd ------------------------------------------------
# netlabd in the host netns with the N-container configuration directory; once
# converged: 5 timed no-change reloads (W2: the fast path, which observes
# nothing when nothing changed), 5 more with --full (observe everything), 5
# one-container changes (W3). At the largest N also W6: its RSS once
# converged (the first converged state, before any timed reload), then after
# RELOADS plain no-change reloads (the fast path) and after RECONCILES more
# --full reloads (real reconciles), sampled every tenth of each series.
RECONCILES=${RECONCILES:-1000}
RELOADS=${RELOADS:-1000}

# is_fast REPLY_JSON: True when netlabd answered the reload by its fast path.
is_fast() {
    "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("result",{}).get("fast") is True)' "$1" 2>/dev/null || echo False
}

# reload_extra REPLY_JSON: the raw results' extras of a `netlabctl reload --json`:
# netlab_extra's, netlabd's own time (daemon_ms) and whether it took the fast path.
reload_extra() {
    echo "$(netlab_extra "$1") daemon_ms=$(
        "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])).get("result",{}); print(round(1000*r.get("seconds",-0.001),1))' "$1" 2>/dev/null || echo '?') fast=$(is_fast "$1")"
}

# netlabd_idle SOCKET: settle (0.3 s, longer than netlabd's 200 ms debounce),
# then wait up to 10 s until netlabd runs no reconcile and has none queued.
netlabd_idle() {
    local k
    sleep 0.3
    for ((k = 0; k < 100; k++)); do
        "$NETLABCTL" status --socket "$1" --json 2>/dev/null | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin).get("daemon", {})
sys.exit(1 if d.get("busy") or d.get("queued") else 0)' 2>/dev/null && return 0
        sleep 0.1
    done
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# daemon_not_run MODE N W6(0|1) WHY: the rows netlabd would have given.
daemon_not_run() {
    record W2 reload "$1" "$2" 1 /dev/null "$4" ""
    record W3 reload "$1" "$2" 1 /dev/null "$4" ""
    [ "$3" = 0 ] || record W6 netlabd "$1" "$2" 1 /dev/null "$4" ""
}

# rss_series COUNT FULL(0|1) SOCK: COUNT no-change reloads (--full with 1),
# RSS sampled every COUNT/10; prints "ok|failed at reload K" TAB "s1,s2,..." (MiB).
rss_series() {
    local count=$1 full="" i st=ok samples="" step
    [ "$2" = 0 ] || full=--full
    step=$(( count / 10 > 0 ? count / 10 : 1 ))
    local stop=""
    [ -z "$DEADLINE" ] || stop=$(( $(date -u -d "$DEADLINE" +%s) + 300 ))
    for ((i = 1; i <= count; i++)); do
        "$NETLABCTL" reload $full --socket "$3" >/dev/null 2>&1 || { st="failed at reload $i"; break; }
        if [ $((i % step)) = 0 ] || [ "$i" = "$count" ]; then
            samples="$samples${samples:+,}$(awk -v k="$(rss_kib "$NETLABD_PID")" 'BEGIN { printf "%.1f", k / 1024 }')"
        fi
        if [ -n "$stop" ] && [ "$(date -u +%s)" -gt "$stop" ]; then st="ok: stopped by the deadline after $i"; break; fi
    done
    printf '%s\t%s\t%s\n' "$st" "$samples" "$((i > count ? count : i))"
}

run_daemon() {  # MODE N W6(0|1)
    local mode=$1 n=$2 w6=$3 conf="$WORK/w6/conf" state="$WORK/w6/state" sock="$WORK/w6/netlabd.sock" i st
    if [ -n "$NETLAB_ERROR" ] || [ ! -x "$NETLABD" ]; then
        daemon_not_run "$mode" "$n" "$w6" "not available yet: ${NETLAB_ERROR:-netlabd not built at $NETLABD}"
        return 0
    fi
    if ! awk -F'\t' -v n="$n" -v m="$mode" '$1 == "W1" && $2 == "c" && $3 == m && $4 == n && $11 == "ok" { f = 1 } END { exit !f }' "$RAW"; then
        daemon_not_run "$mode" "$n" "$w6" "not measured: netlab's own attach of the $n containers did not work in this run (see W1)"
        return 0
    fi
    local plan
    plan=$(plan_of "$mode" "$n")
    gen_c "$plan" "$mode"
    rm -rf "$WORK/w6"; mkdir -p "$conf" "$state"
    cp -r "$WORK/c-topology/." "$conf/"
    log "netlabd: IPv6 $mode N=$n (W2/W3 reloads$([ "$w6" = 0 ] || echo ", W6 memory"))"
    ip netns exec "$HOSTNS" "$NETLABD" --config-dir "$conf" --state-dir "$state" --socket "$sock" \
        --log-level warn >"$WORK/w6/netlabd.log" 2>&1 &
    NETLABD_PID=$!
    st=""
    local limit=$(( 1200 + n / 2 ))   # tenths of a second to start and converge: 120 s + 50 s per 1000
    for ((i = 0; i < limit; i++)); do
        kill -0 "$NETLABD_PID" 2>/dev/null || { st="netlabd exited: $(head -n 1 "$WORK/w6/netlabd.log")"; break; }
        if [ -S "$sock" ] && [ "$(host_ends)" -eq "$n" ] && check_container "$plan"; then break; fi
        sleep 0.1
    done
    [ "$i" -lt "$limit" ] || st="netlabd did not converge in $((limit / 10)) s: $(head -n 1 "$WORK/w6/netlabd.log")"
    if [ -n "$st" ]; then
        daemon_not_run "$mode" "$n" "$w6" "failed: $st"
    else
        settle "$n"
        netlabd_idle "$sock"
        local rss0 js="$WORK/w6/reload.json"
        rss0=$(rss_kib "$NETLABD_PID")
        # Untimed: until three reloads in a row, 0.5 s apart, take the fast
        # path (the kernel's late follow-ups of the start-up reconcile, such
        # as IPv6 DAD in the containers, make reloads full for a few seconds
        # at N >= 500: with one fast answer only, later timed ones were not).
        local fast_row=0
        for ((i = 1; i <= 40 && fast_row < 3; i++)); do
            "$NETLABCTL" reload --socket "$sock" --json >"$js" 2>&1 || break
            if [ "$(is_fast "$js")" = True ]; then fast_row=$((fast_row + 1)); else fast_row=0; fi
            sleep 0.5
        done
        # W2 as netlabd answers it (the fast path when nothing changed), then
        # the same reload forced to observe everything (--full).
        local method full
        for method in reload reload-full; do
            full=""; [ "$method" = reload ] || full=--full
            for ((i = 1; i <= 5; i++)); do
                rm -f "$WORK/time"; st=ok
                "$TIMEIT" "$WORK/time" -- "$NETLABCTL" reload $full --socket "$sock" --json >"$js" 2>&1 || st="failed: $(first_error "$js")"
                record W2 "$method" "$mode" "$n" "$i" "$WORK/time" "$st" "$(reload_extra "$js")"
            done
        done
        # W3 through netlabd: one container's address changed in its drop-in
        # (the one file a user would edit), then `netlabctl reload`. The runs
        # alternate between the changed file and the original (run 1 changes
        # the last container's address, run 2 puts it back, ...), so every one
        # is a one-container change. netlabd's file watch would reconcile on
        # its own 200 ms after the copy; the reload comes first and covers it
        # (the job cancels the pending debounce), and netlabd is let go idle
        # between runs, untimed.
        local src
        for ((i = 1; i <= 5; i++)); do
            if [ $((i % 2)) = 1 ]; then src=c-changed; else src=c-topology; fi
            cp "$WORK/$src/$W3_FILE" "$conf/$W3_FILE"
            rm -f "$WORK/time"; st=ok
            "$TIMEIT" "$WORK/time" -- "$NETLABCTL" reload --socket "$sock" --json >"$js" 2>&1 || st="failed: $(first_error "$js")"
            record W3 reload "$mode" "$n" "$i" "$WORK/time" "$st" "$(reload_extra "$js")"
            netlabd_idle "$sock"
        done
        # Back to the converged topology (after an odd number of runs the
        # drop-in holds the changed one): the first reload reconverges.
        if ! cmp -s "$WORK/c-topology/$W3_FILE" "$conf/$W3_FILE"; then
            cp "$WORK/c-topology/$W3_FILE" "$conf/$W3_FILE"
            "$NETLABCTL" reload --socket "$sock" --json >"$js" 2>&1 || log "W3 reload: putting the original topology back failed: $(first_error "$js")"
            netlabd_idle "$sock"
        fi
        if [ "$w6" = 1 ]; then
            # W6: plain reloads (the fast path, a few ms each), then --full
            # reloads (real reconciles); flatness is judged from the first
            # converged state (rss0, before any timed reload).
            local t0 t1 fast_st fast_s fast_k full_st full_s full_k rss1 rss2
            IFS=$'\t' read -r fast_st fast_s fast_k <<<"$(rss_series "$RELOADS" 0 "$sock")"
            rss1=$(rss_kib "$NETLABD_PID")
            t0=$(date +%s%3N)
            IFS=$'\t' read -r full_st full_s full_k <<<"$(rss_series "$RECONCILES" 1 "$sock")"
            t1=$(date +%s%3N)
            rss2=$(rss_kib "$NETLABD_PID")
            local verdict=met top=$(( rss1 > rss2 ? rss1 : rss2 ))
            [ "$rss0" -le 65536 ] && [ "$top" -le 65536 ] && [ $((top - rss0)) -le $((rss0 / 10 + 1024)) ] || verdict=missed
            st=ok
            case "$fast_st $full_st" in *failed*) st="failed: reloads $fast_st; reconciles $full_st" ;; esac
            record W6 netlabd "$mode" "$n" 1 /dev/null "$st" "rss_start=$((rss0 / 1024))MiB rss_reloads=$((rss1 / 1024))MiB reloads=$fast_k rss_end=$((rss2 / 1024))MiB reconciles=$full_k reconcile_ms_avg=$(( (t1 - t0) / (full_k > 0 ? full_k : 1) )) samples_reloads=$fast_s samples_reconciles=$full_s verdict=$verdict"
        fi
    fi
    kill "$NETLABD_PID" 2>/dev/null || true
    wait "$NETLABD_PID" 2>/dev/null || true
    NETLABD_PID=""
    force_clean deep
}

# ---- main -------------------------------------------------------------------------

# too_late METHOD N: with --deadline, true when the slow shell methods (a, b)
# would likely end after it, judged by their slowest attach + teardown at this
# N so far in this run (x1.2), or by 10x their figure at the previous N.
too_late() {
    [ -n "$DEADLINE" ] || return 1
    local now end est
    now=$(date -u +%s)
    end=$(date -u -d "$DEADLINE" +%s)
    # the quick methods may go on for 4 minutes past the deadline, no longer
    case "$1" in a|b) ;; *) [ "$now" -gt $((end + 240)) ]; return ;; esac
    est=$(awk -F'\t' -v m="$1" -v n="$2" '
        $2 == m && ($1 == "W1" || $1 == "W4") && $6 ~ /^[0-9.]+$/ && $4 <= n {
            t[$4 SUBSEP $3 "/" $5] += $6; if ($4 < n && $4 > pn) pn = $4 }
        END { for (k in t) { split(k, f, SUBSEP)
                  if (f[1] == n && t[k] > c) c = t[k]; if (f[1] == pn && t[k] > p) p = t[k] }
              if (c > 0) print int(c * 1.2 / 1000); else if (p > 0) print int(p * n / pn * 1.1 / 1000); else print 0 }' "$RAW")
    [ $((now + est)) -gt "$end" ]
}

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
{
    echo "# start $START"
    echo "# command bench/run.sh --n \"$NS_LIST\" --runs $RUNS --ipv6 \"$IPV6_MODES\"${V6_ABOVE:+ --v6-above $V6_ABOVE} --methods \"$METHODS\"${SLOW_RUNS:+ --slow-runs $SLOW_RUNS} --slow-n $SLOW_N --slow-max-n $SLOW_MAX_N${DEADLINE:+ --deadline $DEADLINE}$([ "$DO_W5" = 1 ] || echo ' --no-w5')${W8_AT:+ --w8 \"$W8_AT\"}${W7_N:+ --w7 \"$W7_N\"} --daemon-n \"$DAEMON_N\" --bridge-size $BENCH_BRIDGE_SIZE (RELOADS=$RELOADS RECONCILES=$RECONCILES${BENCH_ANNOUNCE:+ BENCH_ANNOUNCE=$BENCH_ANNOUNCE})"
    echo "# kernel $(uname -r)"
    echo "# cpus $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "# memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "# iproute2 $(ip -V | sed 's/.*iproute2-//; s/,.*//')"
    echo "# netlab $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# loadavg-at-start $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RAW"
setup_lab
if [ "$DO_W5" = 1 ]; then
    log "W5: bridge takeover under a 10 ms ping"
    NETLAB_BIN=$NETLAB_BIN bash "$SRC/bench/w5_takeover.sh" --runs "$RUNS" --raw "$RAW" >&2 \
        || log "W5 failed (see above)"
fi
# N outermost, then the run, then the IPv6 setting: an interrupted or
# time-boxed run still has every method in both settings for the smaller N
# (bench/run.sh --render renders whatever is there).
for n in $NS_LIST; do
    for ((run = 1; run <= RUNS; run++)); do
        for mode in $IPV6_MODES; do
            set_ipv6 "$mode" "$n"
            # What starting a process in the host netns costs on this machine
            # now (every method pays it at least once).
            rm -f "$WORK/time"
            "$TIMEIT" "$WORK/time" -- ip netns exec "$HOSTNS" true
            record launch "ip netns exec true" "$mode" "$n" "$run" "$WORK/time" ok ""
            # Rotate the order of the methods from run to run, so background
            # noise and leftovers of the previous method fall on each in turn.
            read -r -a ms <<<"$METHODS"
            off=$(( (run - 1) % ${#ms[@]} ))
            order="${ms[*]:off} ${ms[*]:0:off}"
            for m in $order; do
                # --slow-runs: the slowest method at this N, (a) where it
                # runs, `ip -batch` (b) above --slow-max-n.
                if [ "$n" -ge "$SLOW_N" ] && [ "$run" -gt "${SLOW_RUNS:-$RUNS}" ]; then
                    if [ "$m" = a ] || { [ "$m" = b ] && [ "$n" -gt "$SLOW_MAX_N" ]; }; then continue; fi
                fi
                if [ "$m" = a ] && [ "$n" -gt "$SLOW_MAX_N" ]; then
                    [ "$run" -gt 1 ] || record W1 a "$mode" "$n" 1 /dev/null "not run: --slow-max-n $SLOW_MAX_N (too slow for this run's time box)" ""
                    continue
                fi
                if too_late "$m" "$n"; then
                    log "IPv6 $mode N=$n run $run: skipping method $m (it would end after the deadline $DEADLINE)"
                    continue
                fi
                log "IPv6 $mode N=$n run $run/$RUNS method $m"
                run_method "$m" "$mode" "$n" "$run"
            done
        done
    done
done
if [[ " $METHODS " == *" c "* ]]; then
    # netlabd's figures do not depend on the IPv6 setting: in the first one only.
    mode=${IPV6_MODES%% *}
    set_ipv6 "$mode" max
    for n in $DAEMON_N; do
        w6=0; [ "$n" != "$MAXN" ] || w6=1
        if [ -n "$DEADLINE" ] && [ "$(date -u +%s)" -gt $(( $(date -u -d "$DEADLINE" +%s) + 240 )) ]; then
            daemon_not_run "$mode" "$n" "$w6" "not measured: past the run's deadline $DEADLINE"
            continue
        fi
        run_daemon "$mode" "$n" "$w6"
    done
fi
if [ -n "$W8_AT" ]; then
    log "W8: the no-change reload at +${W8_AT// / s, +} s after netlabd's apply of $MAXN containers"
    NETLAB_BIN=$NETLAB_BIN BENCH_BRIDGE_SIZE=$BENCH_BRIDGE_SIZE bash "$SRC/bench/w8_after_apply.sh" --n "$MAXN" --at "$W8_AT" --raw "$RAW" >&2 \
        || log "W8 failed (see above)"
fi
if [ -n "$W7_N" ]; then
    # W7 in namespaces of its own (nlb<PID>-w7-...): netlab beside ifupdown2
    # and `ip -batch`; its rows go into this run's raw file.
    log "W7: N bridges with an address and a route, N in {$W7_N}"
    NETLAB_BIN=$NETLAB_BIN bash "$SRC/bench/w7_declarative.sh" --n "$W7_N" --runs "$RUNS" --slow-runs 1 \
        ${W7_METHODS:+--methods "$W7_METHODS"} --raw "$RAW" >&2 || log "W7 failed (see above)"
fi
END=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

{
    echo "# end $END"
    echo "# loadavg-at-end $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RAW"
if [ "$RAW" != "$WORK/raw.tsv" ]; then log "raw results in $RAW"; fi
"$PYTHON" "$SRC/bench/report.py" --raw "$RAW" --out "$OUT" --notes "$SRC/bench/notes.md"
log "report written to $OUT"
