#!/usr/bin/env bash
# Drift: netlabd runs in host1 of the lab (lib.sh) with the bridge takeover in
# force, and the kernel is changed from outside (`ip -n host1 ...`):
#  1. drift: repair (the default) — br0's address deleted, br0 set down,
#     ens33 released from br0, the default route replaced by one with
#     another protocol: each is repaired by exactly one reconcile
#     (status counters) and the remote host reaches host1 again;
#  2. drift: report — the same three changes are each reported (status,
#     log) and left as they are (br0 down also takes its IPv6 address: two
#     reports); put back by hand, nothing more is reported;
#  3. lost events — netlabd frozen (SIGSTOP) while a flood of foreign route
#     changes overflows its event socket and br0's address is deleted: once
#     thawed, report mode runs a plan and reports what a reconcile would
#     change (the address), and repair mode repairs it with one reconcile
#     (if the flood did not overflow the socket here, the address event
#     itself is reported or repaired).
#  4. the window — with every step delayed, ens33 is released while a
#     reconcile (of a new route) runs: it rolls back, the state it ends with
#     is taken for drift, and one more reconcile repairs it.
# netlabd writes --metrics-file throughout: read with Prometheus' own parser
# (metrics.py), its counters follow the status — applies, drift repairs, the
# rollback of the window.
# Throughout, a foreign veth with an address and a foreign route, added and
# removed meanwhile, are never touched and trigger no reconcile.
# Repair latencies (outside change -> repaired, as netlabd measured them) and
# the event counts are printed; no time is asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
lab_takeover_files
NETLABD="$NETLAB_BIN/netlabd"
[ -x "$NETLABD" ] || skip "netlabd not built at $NETLABD"

lab_up
H=$NS_HOST1
ETC=$dir/etc
STATUS=$dir/status.json
mkdir -p "$ETC"
# br0 also gets an IPv6 address: its DAD, link-local and kernel routes come
# after the reconcile that adds it, and are no drift.
sed "s|addresses: \[$HOST1_ADDR/$LAN_PREFIX\]|addresses: [$HOST1_ADDR/$LAN_PREFIX, \"2001:db8:64::10/64\"]|" "$topo" >"$ETC/topology.yaml"
grep -q "2001:db8:64::10/64" "$ETC/topology.yaml" || fail "no IPv6 address in the topology"

status_json() { "$NETLABCTL" status --socket "$NLD_SOCK" --json --timeout 10 >"$STATUS"; }
st() { json_get "$STATUS" "$1"; }
idle() { [ "$(st 'j["daemon"]["busy"] or j["daemon"]["queued"] > 0')" = False ]; }

# wait_until DESCRIPTION COMMAND...: polls (status refreshed each time) until
# COMMAND holds and netlabd is idle. The bound is for a hung daemon, not a
# timing requirement.
wait_until() {
    local what=$1 i
    shift
    for i in $(seq 1 600); do
        kill -0 "$NLD_PID" 2>/dev/null || netlabd_fail "netlabd died while waiting for: $what"
        if status_json 2>/dev/null && idle && "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    "$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 >&2 || true
    netlabd_fail "never happened: $what"
}

# settle: lets late events (the kernel's follow-ups, a second reconcile that
# should not come) arrive, then refreshes the status. Counts are asserted
# after it; nothing about its length is.
settle() {
    sleep 1.5
    wait_until "netlabd idle" true
}

# Predicates read ip's whole output first: under pipefail, grep -q fed by ip
# fails now and then when grep exits at the match and ip gets SIGPIPE.
has_addr() { grep -q " $2/" <<<"$(ip -n "$H" -o addr show dev "$1" 2>/dev/null)"; }
no_addr() { ! has_addr "$@"; }
is_up() { grep -q '<[^>]*\bUP\b' <<<"$(ip -n "$H" -o link show dev "$1")"; }
is_down() { ! is_up "$1"; }
master_of() { ip -n "$H" -o link show dev "$1" | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
enslaved() { [ "$(master_of ens33)" = br0 ]; }
released() { [ -z "$(master_of ens33)" ]; }
default_via_br0() { grep -q "via $GW_LAN_ADDR dev br0 proto 77" <<<"$(ip -n "$H" route show default)"; }
V6_ADDR=2001:db8:64::10
repaired() { has_addr br0 "$HOST1_ADDR" && has_addr br0 "$V6_ADDR" && is_up br0 && enslaved && default_via_br0; }

# not_repaired WHAT: fails, with host1's links, addresses and routes.
not_repaired() {
    ip -n "$H" -br link; ip -n "$H" -br addr; ip -n "$H" route; ip -n "$H" -6 route
    netlabd_fail "$1"
}
reconciles() { st 'j["daemon"]["reconciles"]'; }
METRICS=$dir/metrics/netlab.prom
mkdir -p "$dir/metrics"
# metric SAMPLE: its value in netlabd's metrics file (metrics.py parses it).
metric() { "$PYTHON" "$here/metrics.py" "$METRICS" "$1" || netlabd_fail "metrics file: $1"; }
drift() { st "j['drift']$1"; }

# The foreign objects: a veth pair with an address of its own and a route
# through it, in subnets netlab does not use (the lab's remote is 203.0.113.2).
FOREIGN_ADDR=203.0.113.201/30
FOREIGN_ROUTE=203.0.113.208/29
foreign_add() {
    ip -n "$H" link add vfx0 type veth peer name vfx1
    ip -n "$H" link set vfx1 up
    ip -n "$H" link set vfx0 up
    ip -n "$H" addr add "$FOREIGN_ADDR" dev vfx0
    ip -n "$H" route add "$FOREIGN_ROUTE" via 203.0.113.202 dev vfx0 proto static
}
foreign_del() {
    ip -n "$H" route del "$FOREIGN_ROUTE"
    ip -n "$H" link del vfx0
}
foreign_intact() {
    has_addr vfx0 "${FOREIGN_ADDR%/*}" && is_up vfx0 \
        && grep -q 'via 203.0.113.202 dev vfx0 proto static' <<<"$(ip -n "$H" route show "$FOREIGN_ROUTE")"
}
# No step netlabd sent names a foreign object.
foreign_untouched() {
    if grep -E "step [0-9]+/[0-9]+: .*(vfx|203\.0\.113\.20[0-9]|$FOREIGN_ROUTE)" "$NLD_LOG"; then
        netlabd_fail "netlabd touched a foreign object (steps above)"
    fi
}

# foreign_churn WHEN: removes, adds, removes and adds again the foreign
# objects (they are there afterwards); they cause no reconcile and no drift.
foreign_churn() {
    local r0 d0 f0
    status_json
    r0=$(reconciles) d0=$(drift '["drifts"]') f0=$(drift '["events"]["foreign"]')
    if foreign_intact; then foreign_del; fi
    foreign_add
    ip -n "$H" route add 203.0.113.216/29 via 203.0.113.202 dev vfx0
    ip -n "$H" route del 203.0.113.216/29
    foreign_del
    foreign_add
    wait_until "foreign events counted ($1)" foreign_counted "$f0"
    settle
    [ "$(reconciles)" = "$r0" ] || netlabd_fail "foreign changes $1 caused reconciles: $r0 -> $(reconciles)"
    [ "$(drift '["drifts"]')" = "$d0" ] || netlabd_fail "foreign changes $1 were taken as drift"
    note "  foreign churn $1: $(( $(drift '["events"]["foreign"]') - f0 )) foreign events ignored, 0 reconciles"
}
foreign_counted() { [ "$(drift '["events"]["foreign"]')" -gt "$1" ]; }

LATENCIES=()
# repair_case NAME COMMAND...: runs COMMAND in host1 and waits for the repair;
# exactly one reconcile, the remote reaches host1, the foreign objects intact.
repair_case() {
    local name=$1 r0 p0 ms
    shift
    heading "repair: $name"
    status_json
    r0=$(reconciles) p0=$(drift '["repairs"]')
    ip -n "$H" "$@"
    wait_until "$name repaired" repaired_after "$p0"
    settle
    repaired || not_repaired "$name: not repaired"
    [ "$(reconciles)" = $((r0 + 1)) ] || netlabd_fail "$name: $((  $(reconciles) - r0 )) reconciles, not 1"
    [ "$(drift '["repairs"]')" = $((p0 + 1)) ] || netlabd_fail "$name: repairs $p0 -> $(drift '["repairs"]')"
    ms=$(drift '["last_repair"]["latency_ms"]')
    LATENCIES+=("$ms")
    note "  $(drift '["last_repair"]["what"]'): $(drift '["last_repair"]["status"]') by 1 reconcile, $ms ms after the change"
    lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 || netlabd_fail "$name: the remote does not reach host1 after the repair"
    foreign_intact || netlabd_fail "$name: the foreign veth or route changed"
    foreign_untouched
}
repaired_after() { [ "$(drift '["repairs"]')" -gt "$1" ] && repaired; }

# report_case NAME EXPECT N CHECK_LEFT PUT_BACK CHANGE: makes CHANGE, waits
# for N reports, the first naming EXPECT, checks it is left (CHECK_LEFT), then
# puts it back by hand (PUT_BACK: `;`-separated ip commands) — which reports
# nothing more.
report_case() {
    local name=$1 expect=$2 n=$3 left=$4 back=$5 change=$6 r0 n0
    heading "report: $name"
    status_json
    r0=$(reconciles) n0=$(drift '["reported"]')
    # shellcheck disable=SC2086  # the change is a word list on purpose
    ip -n "$H" $change
    wait_until "$name reported" reported_after "$n0"
    settle
    [ "$(drift '["reported"]')" = $((n0 + n)) ] || netlabd_fail "$name: $(( $(drift '["reported"]') - n0 )) reports, not $n"
    local what
    what=$(drift "[\"reports\"][-$n][\"what\"]")
    [[ $what == *"$expect"* ]] || netlabd_fail "$name: reported '$what', not '$expect'"
    grep -q "drift: .*$expect.*left as it is" "$NLD_LOG" || netlabd_fail "$name: no warning in the log"
    grep -q "^  reported at .*: $expect" <<<"$("$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10)" \
        || netlabd_fail "$name: not in netlabctl status"
    $left || netlabd_fail "$name: not left as it was (netlabd changed it)"
    [ "$(reconciles)" = "$r0" ] || netlabd_fail "$name: report mode reconciled"
    note "  reported: $(drift "[\"reports\"][-$n:]"); left as it is"
    local cmd
    IFS=';' read -ra cmds <<<"$back"
    for cmd in "${cmds[@]}"; do
        # shellcheck disable=SC2086
        ip -n "$H" $cmd
    done
    settle
    repaired || not_repaired "$name: putting it back by hand did not restore the takeover"
    [ "$(drift '["reported"]')" = $((n0 + n)) ] || netlabd_fail "$name: putting it back was reported as drift"
    [ "$(reconciles)" = "$r0" ] || netlabd_fail "$name: report mode reconciled"
    foreign_intact || netlabd_fail "$name: the foreign veth or route changed"
}
reported_after() { [ "$(drift '["reported"]')" -gt "$1" ]; }

heading "start: netlabd in host1 applies the takeover"
netlabd_start "$H" "$ETC" --log-level debug --metrics-file "$METRICS"
netlabd_status "$STATUS"
[ "$(st 'j["last"]["status"]')" = applied ] || netlabd_fail "start-up reconcile: $(st 'j["last"]')"
wait_until "takeover in place" repaired
[ "$(drift '["mode"]')" = repair ] || netlabd_fail "drift mode: $(drift '["mode"]')"
[ "$(drift '["watching"]')" = True ] || netlabd_fail "drift not watched: $(drift '.get("error")')"
settle
[ "$(drift '["drifts"]')" = 0 ] || netlabd_fail "netlabd's own start-up reconcile was taken as drift"
note "  own events (the start-up reconcile's echo): $(drift '["events"]["own"]')"
[ "$(metric 'netlab_reconciles_total{result="applied"}')" = 1 ] || netlabd_fail "metrics: 1 apply expected"
[ "$(metric netlab_drift_repairs_total)" = 0 ] || netlabd_fail "metrics: drift repairs before any drift"
[ "$(metric netlab_last_apply_steps)" = "$(st 'j["last"]["steps"]')" ] || netlabd_fail "metrics: last apply's steps"
[ "$(metric 'netlab_owned_objects{kind="link"}')" -ge 1 ] || netlabd_fail "metrics: br0 is an owned link"

heading "foreign objects come and go"
foreign_churn "before any drift"

repair_case "br0's address deleted" addr del "$HOST1_ADDR/$LAN_PREFIX" dev br0
repair_case "br0 set down" link set br0 down
repair_case "ens33 released from br0" link set ens33 nomaster
repair_case "the default route replaced by someone's" route replace default via "$GW_LAN_ADDR" dev br0 proto static
status_json
[ "$(metric netlab_drift_repairs_total)" = "$(drift '["repairs"]')" ] \
    || netlabd_fail "metrics: $(metric netlab_drift_repairs_total) drift repairs, status says $(drift '["repairs"]')"
[ "$(metric netlab_drift_repairs_total)" = 4 ] || netlabd_fail "metrics: 4 drift repairs expected"
[ "$(metric 'netlab_reconciles_total{result="applied"}')" = 5 ] || netlabd_fail "metrics: 1 + 4 applies expected"
note "  metrics file after the repairs:"
grep -E '^netlab_(reconciles_total|drift_repairs_total|last_apply_steps|owned_objects)' "$METRICS" | sed 's/^/    /'
foreign_churn "after the repairs"

heading "drift: report"
sed -i '1a drift: report' "$ETC/topology.yaml"
mode_in_force() { [ "$(drift '["mode"]')" = report ]; }
wait_until "report mode in force" mode_in_force
note "  topology with drift: report in force (reconcile $(reconciles): $(st 'j["last"]["status"]'))"

address_left() { no_addr br0 "$HOST1_ADDR"; }
report_case "br0's address deleted" "br0 address $HOST1_ADDR/$LAN_PREFIX deleted" 1 address_left \
    "addr add $HOST1_ADDR/$LAN_PREFIX dev br0;route replace default via $GW_LAN_ADDR dev br0 proto 77" \
    "addr del $HOST1_ADDR/$LAN_PREFIX dev br0"
br0_left_down() { is_down br0; }
# The kernel deletes br0's IPv6 address with it: a second report.
report_case "br0 set down" "br0 set down" 2 br0_left_down \
    "link set br0 up;addr add $V6_ADDR/64 dev br0;route replace default via $GW_LAN_ADDR dev br0 proto 77" \
    "link set br0 down"
ens33_left() { released; }
report_case "ens33 released from br0" "ens33 released from br0" 1 ens33_left \
    "link set ens33 master br0" \
    "link set ens33 nomaster"
foreign_churn "in report mode"
lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 || netlabd_fail "the remote does not reach host1 after report mode"

# flood CHANGE...: netlabd frozen (SIGSTOP) while 4000 foreign routes are
# added, CHANGE is made in host1 and the routes are deleted again, so the
# event socket overflows (ENOBUFS) where its buffer is smaller than that.
# Sets LOST (ENOBUFS netlabd counted since).
FLOOD=$dir/flood.batch
for i in $(seq 0 15); do
    for j in $(seq 0 249); do printf 'route add 10.%d.%d.0/24 via 203.0.113.202 dev vfx0\n' "$i" "$j"; done
done >"$FLOOD"
sed 's/^route add \([^ ]*\) .*/route del \1/' "$FLOOD" >"$FLOOD.del"
flood() {
    local l0
    status_json
    l0=$(drift '["lost"]')
    kill -STOP "$NLD_PID"
    ip -n "$H" -batch "$FLOOD"
    ip -n "$H" "$@"
    ip -n "$H" -batch "$FLOOD.del"
    kill -CONT "$NLD_PID"
    wait_until "netlabd has read the flood" flood_read "$l0"
    LOST=$(( $(drift '["lost"]') - l0 ))
    note "  $(wc -l <"$FLOOD") foreign routes added and deleted while netlabd was frozen: ENOBUFS seen $LOST time(s)"
}
flood_read() { [ "$(drift '["lost"]')" -gt "$1" ] || [ "$(drift '["events"]["foreign"]')" -gt "$f_before" ]; }

heading "lost events in report mode: a plan says what differs"
status_json
r0=$(reconciles) n0=$(drift '["reported"]') f_before=$(drift '["events"]["foreign"]')
flood addr del "$HOST1_ADDR/$LAN_PREFIX" dev br0
wait_until "the lost events reported" reported_after "$n0"
settle
what=$(drift '["reports"][-1]["what"]')
note "  reported: $what"
if [ "$LOST" -gt 0 ]; then
    [[ $what == "events were lost; a reconcile would take"*"$HOST1_ADDR/$LAN_PREFIX"* ]] \
        || netlabd_fail "lost events in report mode: reported '$what'"
else
    [[ $what == *"br0 address $HOST1_ADDR/$LAN_PREFIX deleted"* ]] || netlabd_fail "reported '$what'"
fi
address_left || netlabd_fail "report mode repaired the address after the flood"
[ "$(reconciles)" = "$r0" ] || netlabd_fail "lost events in report mode caused a reconcile"
ip -n "$H" addr add "$HOST1_ADDR/$LAN_PREFIX" dev br0
ip -n "$H" route replace default via "$GW_LAN_ADDR" dev br0 proto 77
settle
repaired || not_repaired "putting the address back by hand did not restore the takeover"

heading "lost events in repair mode: a reconcile observes everything"
sed -i '/^drift: report$/d' "$ETC/topology.yaml"
mode_repair() { [ "$(drift '["mode"]')" = repair ]; }
wait_until "repair mode in force" mode_repair
status_json
r0=$(reconciles) p0=$(drift '["repairs"]') f_before=$(drift '["events"]["foreign"]')
flood addr del "$HOST1_ADDR/$LAN_PREFIX" dev br0
wait_until "repaired after the flood" repaired_after "$p0"
settle
repaired || not_repaired "not repaired after the flood"
note "  repaired: $(drift '["last_repair"]["what"]') ($(( $(reconciles) - r0 )) reconcile)"
[ "$(drift '["repairs"]')" = $((p0 + 1)) ] || netlabd_fail "lost events: repairs $p0 -> $(drift '["repairs"]')"
[ "$(reconciles)" = $((r0 + 1)) ] || netlabd_fail "lost events: $(( $(reconciles) - r0 )) reconciles, not 1"
foreign_intact || netlabd_fail "lost events: the foreign veth or route changed"
lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 || netlabd_fail "the remote does not reach host1 after the flood"

heading "foreign objects removed"
status_json
r0=$(reconciles)
foreign_del
settle
[ "$(reconciles)" = "$r0" ] || netlabd_fail "removing the foreign objects caused a reconcile"
foreign_untouched

# Every apply's end state was judged too (drift_in): none showed drift.
if grep -E "drift: (changed while the reconcile ran|still there after the repair)" "$NLD_LOG"; then
    netlabd_fail "an apply's end state was taken for drift (lines above)"
fi

heading "the window: a change made while a reconcile runs"
# netlabd again, stopping itself once after the first step it sends
# (NETLAB_STOP_AFTER_STEP=1): a new route in the files gives a reconcile;
# ens33 is released while it is stopped there, between its step and its
# verification. The verification fails and it rolls back the route; the
# state it ends with shows the drift, which one more reconcile repairs (with
# the new route).
figures=$(st 'j["drift"]')
"$NETLABCTL" status --socket "$NLD_SOCK" --timeout 10 | sed -n '/^drift:/,$p' | sed 's/^/  status: /'
netlabd_stop
export NETLAB_STOP_AFTER_STEP=1
netlabd_start "$H" "$ETC" --log-level debug --metrics-file "$METRICS"
unset NETLAB_STOP_AFTER_STEP
netlabd_status "$STATUS"
printf '  - to: 203.0.113.224/27\n    via: %s\n    dev: br0\n' "$GW_LAN_ADDR" >>"$ETC/topology.yaml"
log_has() { grep -qE "$1" "$NLD_LOG"; }
wait_stopped "$NLD_PID" || netlabd_fail "netlabd never stopped after the first step of the new route's reconcile"
log_has 'files changed.*step 1/' || netlabd_fail "netlabd stopped, but not in the reconcile of the new route"
ip -n "$H" link set ens33 nomaster
kill -CONT "$NLD_PID"
new_route() { grep -q "via $GW_LAN_ADDR dev br0" <<<"$(ip -n "$H" route show 203.0.113.224/27)"; }
window_repaired() { [ "$(drift '["repairs"]')" = 1 ] && repaired && new_route; }
wait_until "the change made during the reconcile repaired" window_repaired
grep -E "rolled back|drift: " "$NLD_LOG" | grep -vE "drift: (repair|report) \(" | sed 's/^[^ ]* [^ ]* /  log: /'
log_has "drift: changed while the reconcile ran: ens33 released from br0" \
    || netlabd_fail "the change made during the reconcile was not taken for drift"
[ "$(st 'j["last"]["status"]')" = applied ] || netlabd_fail "the repair: $(st 'j["last"]')"
[ "$(metric 'netlab_reconciles_total{result="rolled_back"}')" = 1 ] || netlabd_fail "metrics: 1 rollback expected"
[ "$(metric netlab_drift_repairs_total)" = 1 ] || netlabd_fail "metrics: the window's repair not counted"
lab_reach_soon "$NS_REMOTE" "$HOST1_ADDR" 3 || netlabd_fail "the remote does not reach host1 after the window repair"

heading "figures"
note "  repair latencies (change -> repaired, ms): ${LATENCIES[*]}"
note "  first netlabd: $figures"
netlabd_stop
note "PASS"
