#!/usr/bin/env bash
# Commit-confirmed across `systemctl restart netlab` (issue 6), under a real
# systemd: a throwaway instance boots as PID 1 on an overlay of the root
# (tests/kernel/systemd_lib.sh), netlab is installed into it with the shipped
# unit, and the lab lives in the instance's own network namespace: the "NIC"
# nic0 (198.51.100.1/24) whose veth peer sits in netns `lab`, the gateway
# (198.51.100.254 and .253, with 203.0.113.5 behind it). 198.51.100.99 is on
# the LAN and answers nobody.
#   0. systemctl start: nic0's address and the default route via .254;
#      the kernel state is dumped (the "before");
#   1. the files ask for the default route via .99; netlabd holds (after a
#      `netlabctl rollback`), so only `netlabctl apply --confirm` applies it:
#      pending, the probe fails; `systemctl restart netlab`: active again, the
#      same change still pending with the same deadline; at the deadline it
#      is rolled back: the default route is back via .254, the dump equals
#      the before, the journal says "not confirmed by DEADLINE; rolled back",
#      203.0.113.5 answers again; restarted once more, netlabd still holds
#      (STATE_DIR/held): the files asking for .99 are not applied at start;
#   2. a good change (default route via .253) with `apply --confirm`,
#      `systemctl restart netlab`, `netlabctl confirm`: it stays after its
#      deadline.
# The journal's commit-confirmed events are found by their MESSAGE_ID
# (pending, rolled back — by netlabctl rollback and at the deadline —,
# confirmed; docs/daemon.md, Logging).
# Every command run inside is printed with its output and exit code. The
# restart's duration and the rollback's delay after the deadline are printed,
# never asserted.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts)"
for tool in unshare nsenter cmake findmnt python3; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
[ -x /lib/systemd/systemd ] || skip "systemd not installed"
[ -n "$(findmnt -n -t cgroup2 -o TARGET | sed -n 1p)" ] || skip "no cgroup2 hierarchy for the instance"
BIN=${NETLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
[ -x "$BIN/netlabd" ] && [ -f "$BIN/cmake_install.cmake" ] || skip "no build tree with netlabd in $BIN"
LABTOOL=$(cd "$(dirname "$0")" && pwd)/labtool.py
# Long enough for the probe, a restart and the checks on a loaded machine.
DEADLINE_S=${CONFIRM_SD_DEADLINE_S:-60}

# shellcheck source=systemd_lib.sh
source "$(dirname "$0")/systemd_lib.sh"
TMP=$(mktemp -d /tmp/netlab-sdconfirm.XXXXXX)
OUT=$TMP/out
cleanup() {
    sd_teardown
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo
    echo "FAIL: $*"
    if [ -n "$SD_PID" ]; then
        echo "--- journalctl -u netlab"
        sd journalctl -u netlab --no-pager -o short-monotonic 2>&1 | tail -80 || true
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
step() { printf '\n== %s\n' "$*"; }
# The instance's network namespace, dumped from here (labtool.py, as the
# other kernel tests compare namespaces).
dump() { nsenter -t "$SD_PID" -n python3 "$LABTOOL" dump - >"$1" || fail "dump failed"; }
same_dump() {  # WHAT BEFORE AFTER
    diff -u --label before --label after "$2" "$3" || fail "$1: the kernel state differs (diff above)"
    echo "  ok: $1: the kernel state equals the dump before"
}
# journal lines of netlabd (-o cat) written after the last mark
MARK=0
mark() { MARK=$(sd journalctl -u netlab --no-pager -o cat | wc -l); }
since_mark() { sd journalctl -u netlab --no-pager -o cat | tail -n +"$((MARK + 1))"; }
wait_journal() {  # REGEX: until a journal line since the mark matches (150 s at most)
    for _ in $(seq 750); do
        if has_line since_mark -- -E "$1"; then
            since_mark | grep -E "$1" | tail -1 | sed 's/^/  journal: /'
            return 0
        fi
        sleep 0.2
    done
    fail "the journal never said /$1/"
}
status_json() { sd netlabctl status --json >"$TMP/st.json" 2>"$TMP/st.err" || fail "netlabctl status failed: $(cat "$TMP/st.err")"; }
# st EXPR: a Python expression over the status JSON `j` fetched last
st() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/st.json" "$1"; }
wait_probe() {  # until status shows the probe's result
    for _ in $(seq 300); do
        status_json
        [ "$(st 'isinstance((j["pending"] or {}).get("probe"), dict)')" = True ] && return 0
        sleep 0.2
    done
    fail "no probe result in status"
}
reach() { q ping -n -c1 -W1 203.0.113.5; }  # through the default route's gateway
now_ms() { date +%s%3N; }
iso_ms() { python3 -c 'import sys,datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp()*1000))' "$1"; }
# The bad change here tests the deadline across restarts, so its probes'
# grace outlasts it (test_probes.sh tests the probes' own rollback).
NO_PROBE_ROLLBACK=$(printf 'commit_confirmed:\n  grace: 24h')
topology() {  # VIA [EXTRA LINES]: nic0 with its address, the default route via VIA
    cat <<YAML
version: 1
interfaces:
  nic0:
    up: true
    addresses: [198.51.100.1/24]
routes:
  - to: default
    via: $1
    dev: nic0
${2:-}
YAML
}
# restart: `systemctl restart netlab`, timed; the same change must still be
# pending afterwards (same started, same deadline), under a new MainPID.
restart_keeps_pending() {
    local deadline=$1 started=$2 pid0 pid1 t0 t1
    # Not a timing assertion: the checks below need the change still pending.
    [ $(( $(iso_ms "$deadline") - $(now_ms) )) -gt 5000 ] \
        || fail "less than 5 s left before $deadline: this machine is too slow for CONFIRM_SD_DEADLINE_S=$DEADLINE_S"
    pid0=$(sd systemctl show -p MainPID --value netlab)
    q test -s /run/netlab/pending.json || fail "no /run/netlab/pending.json before the restart"
    mark
    t0=$(now_ms)
    x systemctl restart netlab || fail "systemctl restart netlab"
    t1=$(now_ms)
    RESTART_MS+=("$((t1 - t0))")
    x systemctl is-active netlab || fail "netlab is not active after the restart"
    pid1=$(sd systemctl show -p MainPID --value netlab)
    [ "$pid1" != "$pid0" ] && [ "$pid1" != 0 ] || fail "MainPID $pid0 -> $pid1: not restarted"
    echo "  ok: MainPID $pid0 -> $pid1; systemctl restart took $((t1 - t0)) ms"
    q test -s /run/netlab/pending.json || fail "/run/netlab/pending.json is gone after the restart"
    wait_journal 'commit-confirmed: a change applied .* is still pending \(found in /run/netlab\); its deadline is re-armed'
    x netlabctl status || fail "netlabctl status after the restart"
    grep -q "^PENDING: .* until $deadline " "$OUT" || fail "status after the restart lacks the pending change until $deadline"
    status_json
    [ "$(st 'j["pending"]["deadline"]')" = "$deadline" ] || fail "the deadline changed: $(st 'j["pending"]["deadline"]')"
    [ "$(st 'j["pending"]["started"]')" = "$started" ] || fail "another change is pending: $(st 'j["pending"]["started"]')"
    echo "  ok: the same change (applied $started) is pending until the same deadline $deadline"
}
RESTART_MS=()

step "boot systemd on a throwaway overlay, netlab installed into it"
sd_boot "$BIN" || fail "systemd did not boot"
x systemd-analyze verify /usr/lib/systemd/system/netlab.service || fail "systemd-analyze verify"

step "the lab: nic0 in the instance's netns, its peer in netns lab as the gateway"
x ip netns add lab
x ip link add nic0 type veth peer name nic0p netns lab
x ip -n lab addr add 198.51.100.254/24 dev nic0p
x ip -n lab addr add 198.51.100.253/24 dev nic0p
x ip -n lab addr add 203.0.113.5/32 dev lo    # behind the gateway
x ip -n lab link set nic0p up
x ip -n lab link set lo up

step "0. systemctl start: the good topology (default route via 198.51.100.254)"
topology 198.51.100.254 | put /etc/netlab/topology.yaml
x systemctl start netlab || fail "systemctl start netlab"
x systemctl is-active netlab || fail "netlab is not active"
x ip -br addr show nic0
x ip route
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.254 dev nic0" || fail "no default route via .254"
for _ in $(seq 50); do reach && break; sleep 0.2; done
reach || fail "203.0.113.5 does not answer through .254"
echo "  ok: 203.0.113.5 answers through 198.51.100.254"
dump "$TMP/before"

step "1a. the files ask for the default route via 198.51.100.99 (commit_confirmed: 10m): pending; netlabctl rollback; netlabd holds"
mark
topology 198.51.100.99 "$(printf 'commit_confirmed:\n  deadline: 10m\n  grace: 24h')" | put /etc/netlab/topology.yaml
wait_journal 'commit-confirmed: pending until'
x netlabctl rollback || fail "netlabctl rollback"
wait_journal 'netlabd applies nothing until `netlabctl reload`'
dump "$TMP/after1a"
same_dump "netlabctl rollback" "$TMP/before" "$TMP/after1a"

step "1b. the same without commit_confirmed: held, not applied; netlabctl apply --confirm ${DEADLINE_S}s applies it"
mark
topology 198.51.100.99 "$NO_PROBE_ROLLBACK" | put /etc/netlab/topology.yaml
wait_journal 'not applied: held'
x netlabctl apply --confirm "${DEADLINE_S}s" || fail "netlabctl apply --confirm"
grep -q 'pending until' "$OUT" || fail "apply --confirm did not leave the change pending"
x ip route
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.99 dev nic0" || fail "the default route is not via .99"
if reach; then fail "203.0.113.5 answers through a default route via .99"; fi
wait_probe
[ "$(st 'j["pending"]["probe"]["ok"]')" = False ] || fail "the probe of 198.51.100.99 passed"
x netlabctl status
grep -q '^PENDING: ' "$OUT" || fail "status does not show the pending change"
deadline=$(st 'j["pending"]["deadline"]')
started=$(st 'j["pending"]["started"]')
echo "  ok: pending until $deadline; the probe failed; 203.0.113.5 does not answer"

step "1c. systemctl restart netlab while it is pending"
restart_keeps_pending "$deadline" "$started"
x ip route
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.99 dev nic0" || fail "the restart changed the pending default route"

step "1d. wait past the deadline ($deadline): rolled back"
settled=
for _ in $(seq $((DEADLINE_S * 5 + 600))); do  # the deadline plus 120 s at most
    status_json
    settled=$(st '(j["settled"] or {}).get("status")')
    [ "$settled" != None ] && [ "$(st 'j["pending"] is None')" = True ] && break
    sleep 0.2
done
[ "$settled" = rolled_back ] || fail "not rolled back at the deadline (settled: $settled)"
[ "$(st 'j["settled"]["trigger"]')" = deadline ] || fail "rolled back by $(st 'j["settled"]["trigger"]'), not the deadline"
[ "$(st 'j["settled"]["deadline"]')" = "$deadline" ] || fail "another deadline: $(st 'j["settled"]["deadline"]')"
after_ms=$(st 'j["settled"]["after_deadline_ms"]')
x netlabctl status
x ip route
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.254 dev nic0" || fail "the default route is not back via .254"
dump "$TMP/after1"
same_dump "rollback at the deadline after systemctl restart" "$TMP/before" "$TMP/after1"
wait_journal "commit-confirmed: not confirmed by $deadline; rolled back"
line=$(sd journalctl -u netlab --no-pager -o short-unix | grep -F "commit-confirmed: not confirmed by $deadline; rolled back" | tail -1)
ts=${line%% *}  # seconds.microseconds
journal_ms=$(( ${ts%.*} * 1000 + 10#${ts#*.} / 1000 - $(iso_ms "$deadline") ))
for _ in $(seq 50); do reach && break; sleep 0.2; done
reach || fail "203.0.113.5 does not answer after the rollback"
x ping -n -c1 -W1 203.0.113.5 || fail "ping 203.0.113.5"
echo "  ok: rolled back at the deadline, $after_ms ms after it (status), journal line $journal_ms ms after it; 203.0.113.5 answers"

step "1e. systemctl restart netlab after the rollback: still held, the files (via .99) are not applied at start"
mark
x systemctl restart netlab || fail "systemctl restart netlab"
x systemctl is-active netlab || fail "netlab is not active after the restart"
wait_journal 'start: not applied: held'
status_json
[ "$(st 'j["held"] is not None and j["pending"] is None')" = True ] || fail "not held after the restart: $(cat "$TMP/st.json")"
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.254 dev nic0" || fail "the restart applied the rolled-back change"
dump "$TMP/after1e"
same_dump "restart after the rollback" "$TMP/before" "$TMP/after1e"

step "2. a good change (default route via 198.51.100.253), apply --confirm ${DEADLINE_S}s, systemctl restart, netlabctl confirm"
mark
topology 198.51.100.253 | put /etc/netlab/topology.yaml
wait_journal 'not applied: held'
x netlabctl apply --confirm "${DEADLINE_S}s" || fail "netlabctl apply --confirm"
wait_probe
[ "$(st 'j["pending"]["probe"]["ok"]')" = True ] || fail "the probe of 198.51.100.253 failed: $(st 'j["pending"]["probe"]')"
deadline=$(st 'j["pending"]["deadline"]')
started=$(st 'j["pending"]["started"]')
x netlabctl status
dump "$TMP/good"
restart_keeps_pending "$deadline" "$started"
x netlabctl confirm || fail "netlabctl confirm after the restart"
q test -e /run/netlab/pending.json && fail "/run/netlab/pending.json is still there after confirm"
# Until the deadline has passed, and 3 s more (wall clock inside = here).
until_ms=$(( $(iso_ms "$deadline") + 3000 ))
while [ "$(now_ms)" -lt "$until_ms" ]; do sleep 0.5; done
x netlabctl status
status_json
[ "$(st 'j["pending"] is None and j["settled"]["status"] == "confirmed" and j["held"] is None')" = True ] \
    || fail "status after confirm and the deadline: $(cat "$TMP/st.json")"
dump "$TMP/after2"
same_dump "the confirmed change after its deadline" "$TMP/good" "$TMP/after2"
has_line sd ip route show default 2>/dev/null -- "via 198.51.100.253 dev nic0" || fail "the default route is not via .253"
if since_mark | grep -E 'commit-confirmed: (not confirmed by|rolled back)'; then fail "the confirmed change was rolled back"; fi
reach || fail "203.0.113.5 does not answer through .253"
echo "  ok: confirmed after the restart; still in place after its deadline $deadline"

step "the commit-confirmed events by MESSAGE_ID"
PENDING_ID=cbd6e1014109418aa2f7b62634624ba3
CONFIRMED_ID=0a345bfd295949b1baf60c95acc9378a
ROLLED_BACK_ID=9e0549d194044b03975c29f8e22d317b
x journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$PENDING_ID" "MESSAGE_ID=$CONFIRMED_ID" "MESSAGE_ID=$ROLLED_BACK_ID"
has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$PENDING_ID" 2>/dev/null -- 'commit-confirmed: pending until' \
    || fail "MESSAGE_ID=$PENDING_ID does not find the pending change"
has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$ROLLED_BACK_ID" 2>/dev/null -- -E "not confirmed by [^;]+; rolled back" \
    || fail "MESSAGE_ID=$ROLLED_BACK_ID does not find the rollback at the deadline"
has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$ROLLED_BACK_ID" 2>/dev/null -- "rolled back as asked" \
    || fail "MESSAGE_ID=$ROLLED_BACK_ID does not find netlabctl rollback"
has_line sd journalctl -u netlab --no-pager -o cat "MESSAGE_ID=$CONFIRMED_ID" 2>/dev/null -- 'commit-confirmed: confirmed (netlabctl confirm)' \
    || fail "MESSAGE_ID=$CONFIRMED_ID does not find the confirmation"
echo "  ok: pending, rolled back (twice) and confirmed found by MESSAGE_ID"

step "the journal of this run"
x journalctl -u netlab --no-pager -o short-iso-precise

step "figures (printed, not asserted)"
echo "  systemctl restart netlab: ${RESTART_MS[*]} ms"
echo "  bad change rolled back ${after_ms} ms after its deadline (status after_deadline_ms); its journal line ${journal_ms} ms after it"

step "tear down: kill -9 the instance's PID 1"
sd_teardown
echo "  done"
echo
echo "PASS: test_confirm_systemd"
