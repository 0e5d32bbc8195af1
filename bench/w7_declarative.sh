#!/usr/bin/env bash
# W7 (issue 22): netlab beside a declarative peer, ifupdown2's `ifreload -a`,
# and `ip -batch`. N bridges, each with an address and a route through it,
# applied from cold, then again with no change, then with one bridge's
# address changed (the kernel flushes that bridge's route with the old
# address: every method must put it back). Each method runs in a fresh
# namespace per run; figures are medians of --runs runs (--slow-runs for
# ifupdown2 at N >= 1000).
#
#   bench/w7_declarative.sh [--n "10 100 1000"] [--runs 3] [--slow-runs 1]
#                           [--methods "netlab ifupdown2 ipbatch"] [--out FILE]
#                           [--raw FILE]
#
# --out FILE: the Markdown table; --raw FILE: rows appended in bench/run.sh's
# raw format (workload W7, the phase in the IPv6 column), which
# `bench/run.sh --w7 LIST` uses to put W7 in its report.
#
#   netlab     `netlabctl apply TOPOLOGY` (fresh state dir per run)
#   ifupdown2  `ifreload -a` of a generated /etc/network/interfaces; routes as
#              ifupdown2 users write them (`up ip route replace ...`)
#   ipbatch    cold: one `ip -batch`; no change: the same desired state as one
#              idempotent batch (`ip -force -batch`: link add answers "exists",
#              addr/route replace); change: the hand-written diff (delete
#              the old address, add the new, put the flushed route back)
#
# Safety: namespaces "nlb<PID>-w7-...", deleted by the EXIT trap even on
# failure (bench/lib.sh); addresses from 198.18.0.0/15 (RFC 2544, benchmark testing), only
# inside them. ifupdown2 runs only as `ip netns exec NS unshare -m ...`:
# `ip netns exec` bind-mounts /etc/netns/NS/network (this run's interfaces
# file and an ifupdown2.conf whose state_dir is this run's) over
# /etc/network in a mount namespace of its own, and a tmpfs over /run holds
# its lock files (/run/network), so nothing of it lands on the machine's own
# /etc/network, /run/network or /var/tmp/network. The script snapshots the
# machine's own namespace (`ip -br link`, `ip -br addr`, `ip route`,
# `ip -6 route`) before and after and fails if they differ; it also checks
# that /run/network and /var/tmp/network were not created. At the first N,
# every method's kernel state (IPv4 addresses and routes of the namespace,
# route protocol aside) is compared after each phase; a difference fails.
# Binaries from $NETLAB_BIN (default build/).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=w7_declarative.sh
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
NS_LIST="10 100 1000"
RUNS=3
RAW=""
SLOW_RUNS=1
METHODS="netlab ifupdown2 ipbatch"
OUT=""
bench_args "$@"
set -- "${BENCH_REST[@]}"
while [ $# -gt 0 ]; do
    case "$1" in
        --slow-runs) SLOW_RUNS=$2; shift 2 ;;
        --methods) METHODS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) echo "w7_declarative.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
bench_check_ns 2 4096 "one /28 of 198.18.0.0/16 per bridge"
for m in $METHODS; do
    case "$m" in netlab|ifupdown2|ipbatch) ;; *) die "unknown method $m" ;; esac
done
case " $METHODS " in *" netlab "*) [ -x "$NETLABCTL" ] || die "netlabctl not built at $NETLABCTL" ;; esac
IFRELOAD=$(command -v ifreload || true)
case " $METHODS " in *" ifupdown2 "*)
    [ -n "$IFRELOAD" ] || die "ifreload not found: ifupdown2 is installed by scripts/setup.sh" ;;
esac

ROOT_RUN_NETWORK=$([ -e /run/network ] && echo yes || echo no)
ROOT_VAR_TMP_NETWORK=$([ -e /var/tmp/network ] && echo yes || echo no)
ETC_NETNS=$([ -d /etc/netns ] && echo yes || echo no)
bench_init w7
RAWF=$WORK/raw.tsv
: >"$RAWF"
bench_on_exit() {
    # ifupdown2's /etc/netns/NS of this run's namespaces, and /etc/netns
    # itself only if this run made it and it is empty again.
    rm -rf /etc/netns/"$PFX"-*
    [ "$ETC_NETNS" = yes ] || rmdir /etc/netns 2>/dev/null
    return 0
}

root_snapshot() {  # FILE: the machine's own namespace, as `ip` shows it
    { ip -br link; ip -br addr; ip route; ip -6 route; } >"$1" 2>&1
}
root_snapshot "$WORK/root.before"

# gen N DIR: every method's input, for cold/no change (A) and with bridge
# N/2 changed (B). Address plan: bridge k has 198.18.0.0/16's k-th /28; its
# address is .1 (.3 once changed); its route sends 198.19.0.0/16's k-th /28
# via .2. One Python process: a shell loop of $(...) per line takes seconds
# per 100 bridges on a loaded machine.
gen() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import os, sys
n, d = int(sys.argv[1]), sys.argv[2]
j = n // 2
os.makedirs(d, exist_ok=True)
def addr(k, changed):
    return "198.18.%d.%d/28" % (k * 16 // 256, k * 16 % 256 + (3 if changed else 1))
def gw(k): return "198.18.%d.%d" % (k * 16 // 256, k * 16 % 256 + 2)
def dst(k): return "198.19.%d.%d/28" % (k * 16 // 256, k * 16 % 256)
def w(name, lines): open(os.path.join(d, name), "w").write("".join(l + "\n" for l in lines))
for c in "AB":
    ch = lambda k: c == "B" and k == j
    w("topology.%s.yaml" % c, ["version: 1", "interfaces:"] +
      ["  br%d: {kind: bridge, stp: false, addresses: [%s]}" % (k, addr(k, ch(k))) for k in range(n)] +
      ["routes:"] + ["  - {to: %s, via: %s, dev: br%d}" % (dst(k), gw(k), k) for k in range(n)])
    lines = ["auto lo", "iface lo inet loopback"]
    for k in range(n):
        lines += ["", "auto br%d" % k, "iface br%d" % k, "    bridge-ports none", "    bridge-stp off",
                  "    address %s" % addr(k, ch(k)),
                  "    up ip route replace %s via %s dev br%d" % (dst(k), gw(k), k)]
    w("interfaces.%s" % c, lines)
w("cold.batch", [l for k in range(n) for l in (
    "link add br%d type bridge stp_state 0" % k, "link set br%d up" % k,
    "addr add %s dev br%d" % (addr(k, False), k), "route add %s via %s dev br%d" % (dst(k), gw(k), k))])
w("noop.batch", [l for k in range(n) for l in (
    "link add br%d type bridge stp_state 0" % k, "link set br%d up" % k,
    "addr replace %s dev br%d" % (addr(k, False), k), "route replace %s via %s dev br%d" % (dst(k), gw(k), k))])
# Old address first: deleting a primary address also deletes its secondaries
# (promote_secondaries is off by default), so the new one added first would
# go with it. The route goes with the old address and is put back.
w("change.batch", ["addr del %s dev br%d" % (addr(j, False), j), "addr add %s dev br%d" % (addr(j, True), j),
                   "route replace %s via %s dev br%d" % (dst(j), gw(j), j)])
EOF
}

# ifupdown2 in NS: its /etc/network is /etc/netns/NS/network (ip netns exec),
# its lock dir a tmpfs over /run in a private mount namespace.
ifupdown2_setup() {  # NS STATE_DIR
    local e=/etc/netns/$1/network
    mkdir -p "$e/ifupdown2" "$2"
    cp /etc/network/ifupdown2/*.conf "$e/ifupdown2/"
    sed -i "s|^state_dir=.*|state_dir=$2/|" "$e/ifupdown2/ifupdown2.conf"
    grep -qx "state_dir=$2/" "$e/ifupdown2/ifupdown2.conf" || die "could not set ifupdown2's state_dir"
}
# It runs with a Debian service's PATH: ifupdown2 starts with
# `#!/usr/bin/env python3`, and a pyenv shim first on a PATH (root's here)
# added 1.4 s to every call.
ifreload_in() {  # NS
    ip netns exec "$1" unshare -m --propagation private \
        env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        sh -c 'mount -t tmpfs nlb-w7 /run && mkdir /run/network && exec "$0" -a' "$IFRELOAD"
}

ns_state() {  # NS FILE: what every method must agree on (IPv4; route protocol aside)
    { ip -n "$1" -4 -br addr; ip -n "$1" -4 route | sed -E 's/ proto [a-z0-9]+//'; } >"$2"
}

now_ns() { date +%s%N; }

# phase METHOD N RUN PHASE CMD...: runs CMD, records wall ms and status.
# With $TOLERATE set, a failure whose every output line matches that regex
# counts as ok.
phase() {
    local m=$1 n=$2 run=$3 ph=$4 t0 t1 rc=0 st=ok
    shift 4
    t0=$(now_ns)
    "$@" >"$WORK/out" 2>&1 || rc=$?
    t1=$(now_ns)
    if [ "$rc" -ne 0 ] && [ -n "${TOLERATE:-}" ] && ! grep -Evq "$TOLERATE|^\s*$" "$WORK/out"; then rc=0; fi
    [ "$rc" -eq 0 ] || st="failed($rc): $(grep -v '^\s*$' "$WORK/out" | sed -n 1p | cut -c1-120 | tr '\t' ' ')"
    [ "$rc" -eq 0 ] || log "W7 $m N=$n run $run $ph: $st"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$n" "$run" "$ph" $(( (t1 - t0) / 1000000 )) "$st" >>"$RAWF"
}

one_run() {  # METHOD N RUN CHECK(0/1)
    local m=$1 n=$2 run=$3 check=$4 ns d="$WORK/in-$2"
    ns="$PFX-$m-n$n-r$run"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    case "$m" in
        netlab)
            mkdir -p "$WORK/state-$ns"
            phase "$m" "$n" "$run" cold ip netns exec "$ns" "$NETLABCTL" apply "$d/topology.A.yaml" --state-dir "$WORK/state-$ns"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.cold"
            phase "$m" "$n" "$run" noop ip netns exec "$ns" "$NETLABCTL" apply "$d/topology.A.yaml" --state-dir "$WORK/state-$ns"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.noop"
            phase "$m" "$n" "$run" change ip netns exec "$ns" "$NETLABCTL" apply "$d/topology.B.yaml" --state-dir "$WORK/state-$ns"
            ;;
        ifupdown2)
            ifupdown2_setup "$ns" "$WORK/ifstate-$ns"
            cp "$d/interfaces.A" "/etc/netns/$ns/network/interfaces"
            phase "$m" "$n" "$run" cold ifreload_in "$ns"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.cold"
            phase "$m" "$n" "$run" noop ifreload_in "$ns"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.noop"
            cp "$d/interfaces.B" "/etc/netns/$ns/network/interfaces"
            phase "$m" "$n" "$run" change ifreload_in "$ns"
            ;;
        ipbatch)
            phase "$m" "$n" "$run" cold ip -n "$ns" -batch "$d/cold.batch"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.cold"
            # -force goes on past the "File exists" of each link add; any
            # other error still fails the phase.
            TOLERATE='RTNETLINK answers: File exists|^Command failed ' \
                phase "$m" "$n" "$run" noop ip -n "$ns" -force -batch "$d/noop.batch"
            [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.noop"
            phase "$m" "$n" "$run" change ip -n "$ns" -batch "$d/change.batch"
            ;;
    esac
    [ "$check" = 0 ] || ns_state "$ns" "$WORK/state.$m.change"
    ip netns del "$ns"
    rm -rf "/etc/netns/$ns"
}

log "W7: N in {$NS_LIST}, methods {$METHODS}, $RUNS run(s) ($SLOW_RUNS for ifupdown2 at N >= 1000); load average $(cut -d' ' -f1-3 /proc/loadavg)"
FIRST=1
CHECKED=""
for n in $NS_LIST; do
    gen "$n" "$WORK/in-$n"
    for ((r = 1; r <= RUNS; r++)); do
        for m in $METHODS; do
            if [ "$m" = ifupdown2 ] && [ "$n" -ge 1000 ] && [ "$r" -gt "$SLOW_RUNS" ]; then continue; fi
            log "W7 N=$n run $r: $m"
            one_run "$m" "$n" "$r" "$([ "$FIRST$r" = 11 ] && echo 1 || echo 0)"
        done
    done
    if [ "$FIRST" = 1 ]; then
        set -- $METHODS
        ref=$1
        for m in $METHODS; do
            for ph in cold noop change; do
                cmp -s "$WORK/state.$ref.$ph" "$WORK/state.$m.$ph" ||
                    die "N=$n $ph: $m's kernel state differs from $ref's: $(diff "$WORK/state.$ref.$ph" "$WORK/state.$m.$ph" | sed -n 2,4p | tr '\n' ' ')"
            done
        done
        CHECKED="at N=$n every method left the same IPv4 addresses and routes (\`ip -4 -br addr\`, \`ip -4 route\` without proto) after each phase ($(grep -c . "$WORK/state.$ref.change") lines)"
        log "W7: $CHECKED"
        FIRST=0
    fi
done

root_snapshot "$WORK/root.after"
ROOT_OK="the machine's own namespace was the same before and after (\`ip -br link\`, \`ip -br addr\`, \`ip route\`, \`ip -6 route\`: $(grep -c . "$WORK/root.after") lines), and ifupdown2 left no /run/network or /var/tmp/network there"
if ! cmp -s "$WORK/root.before" "$WORK/root.after"; then
    diff "$WORK/root.before" "$WORK/root.after" >&2 || true
    die "the machine's own namespace changed during the run (diff above)"
fi
[ "$ROOT_RUN_NETWORK" = yes ] || [ ! -e /run/network ] || die "/run/network appeared in the machine's own mount namespace"
[ "$ROOT_VAR_TMP_NETWORK" = yes ] || [ ! -e /var/tmp/network ] || die "/var/tmp/network appeared"

{
    echo "W7: N bridges, each with an address and a route ($(date -u '+%Y-%m-%d %H:%M UTC'), netlab $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), ifupdown2 $(dpkg-query -W -f='${Version}' ifupdown2 2>/dev/null || echo '?'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    "$PYTHON" - "$RAWF" "$METHODS" <<'EOF'
import sys, statistics
from collections import defaultdict
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
methods = sys.argv[2].split()
label = {"netlab": "`netlabctl apply`", "ifupdown2": "`ifreload -a` (ifupdown2)", "ipbatch": "`ip -batch`"}
t = defaultdict(list); bad = defaultdict(list)
for m, n, run, ph, ms, st in rows:
    t[(m, int(n), ph)].append(int(ms))
    if st != "ok": bad[(m, int(n), ph)].append(st)
def cell(m, n, ph):
    v = t.get((m, n, ph))
    if not v: return "not run"
    s = "%d ms" % statistics.median(v)
    if len(v) == 1: s += " (1 run)"
    if bad.get((m, n, ph)): s += " **" + bad[(m, n, ph)][0] + "**"
    return s
def ratio(n, ph):
    a, b = t.get(("ifupdown2", n, ph)), t.get(("netlab", n, ph))
    if not a or not b: return "-"
    return "%.1f×" % (statistics.median(a) / max(statistics.median(b), 1))
phs = [("cold", "cold apply"), ("noop", "no-change reload"), ("change", "one bridge changed")]
print("| N | method | " + " | ".join(p[1] for p in phs) + " |")
print("|---|---|" + "---|" * len(phs))
for n in sorted({k[1] for k in t}):
    for m in methods:
        print("| %d | %s | %s |" % (n, label[m], " | ".join(cell(m, n, p) for p, _ in phs)))
    if "netlab" in methods and "ifupdown2" in methods:
        print("| %d | ifupdown2 ÷ netlab (target ≥ 10×) | %s |" % (n, " | ".join(ratio(n, p) for p, _ in phs)))
EOF
    echo
    echo "Medians of $RUNS run(s) ($SLOW_RUNS for ifupdown2 at N ≥ 1000), wall time of the one command (\`ip netns exec\` included for every method). Checks: ${CHECKED:-none}; $ROOT_OK."
} >"$WORK/table.md"
cat "$WORK/table.md"
[ -z "$OUT" ] || cp "$WORK/table.md" "$OUT"
if [ -n "$RAW" ]; then
    # bench/run.sh's raw format (workload method ipv6 n run wall_ms user sys
    # rss exit status extra), the phase in the ipv6 column: bench/report.py
    # renders W7 from these rows.
    {
        echo "# w7-ifupdown2 $(dpkg-query -W -f='${Version}' ifupdown2 2>/dev/null || echo '?')"
        echo "# w7-checks ${CHECKED:-none}; $ROOT_OK"
        echo "# w7-loadavg-at-end $(cut -d' ' -f1-3 /proc/loadavg)"
        awk -F'\t' -v OFS='\t' '{ print "W7", $1, $4, $2, $3, $5, "-", "-", "-", ($6 == "ok" ? 0 : 1), $6, "" }' "$RAWF"
    } >>"$RAW"
fi
