#!/usr/bin/env bash
# A netlab network published to Docker (docs/docker.md), with a private
# dockerd running in the lab host's own namespace (its ens33 is the parent):
#  1. plan shows the Docker steps in one numbering with the kernel's;
#  2. a fault injected at every step leaves Docker's network list and the
#     host's kernel dump as they were; so does a SIGKILL right after each
#     Docker step (create, connect), once the next apply has recovered
#     (checked where that apply stops before its own first step); after the
#     last one, a recovery without Docker first keeps the journal;
#  3. apply: `docker network inspect` shows driver, parent, subnet, gateway,
#     netlab's label, the reserved addresses and nl1 (connected by netlab)
#     with its fixed address; a second apply sends nothing;
# 3b. the same SIGKILLs after each Docker step of a re-creation (the shim's
#     address changed: disconnect and rm before the kernel's steps, create
#     and connect after): kernel and Docker as before, and mynet keeps its
#     ID unless the killed apply had removed it;
#  4. the seed's commands minus `docker network create`: `docker run
#     --net=mynet --ip=...` works, the host reaches that container through
#     the shim, the container reaches the gateway and the remote subnet;
#     containers started without --ip never get a reserved address;
#  5. the network removed from the topology while foreign containers use it:
#     refused, naming them, nothing changed; once they are gone: removed;
#  6. Docker unreachable: rejected before any write;
#  7. netlabd started on the journal of an apply killed after its last step,
#     with Docker's socket not there yet: status says it waits (recovery
#     retry), nothing changes; once the socket appears, the retry restores.
#  8. drift: that netlabd publishes mynet (no containers); `docker network
#     rm mynet` from outside -> netlabd re-creates it with netlab's label;
# 8b. with `drift: report`, the same removal is reported (status, netlabctl
#     status, log) and mynet stays removed, with no reconcile.
# nl1 is named by an ID prefix (docker:ID matches what Docker lists); nl2
# exists but never ran: skipped, with no Docker step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/kernel/docker_lib.sh
. "$here/docker_lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$here/daemon_lib.sh"
lab_require
lab_require_netlabctl
docker_require

lab_up
H=$NS_HOST1
dir=$(lab_tmp)
docker_up "$H"
note "  dockerd $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') in $H, socket $DOCKER_SOCK"
docker_image
# Docker connects no network to a container in `none` (ErrConflictNoNetwork):
# nl1 leaves it first, and waits for netlab's connect with no network at all.
dk run --net=none -d --name nl1 "$DOCKER_IMAGE" sleep 3600 >/dev/null
dk network disconnect none nl1
NL1_REF=$(dk inspect -f '{{.Id}}' nl1)
NL1_REF=${NL1_REF:0:12}
dk create --net=none --name nl2 "$DOCKER_IMAGE" sleep 3600 >/dev/null
PINNED="$LAB_PREFIX-pinned"
lab_ns_add "$PINNED"

write_topo() {  # write_topo FILE [no-network|no-containers]
    {
        printf 'version: 1\ninterfaces:\n  ens33:\n    promisc: true\n    addresses: [%s/24]\n' "$HOST1_ADDR"
        if [ "${2:-}" != no-network ]; then
            cat <<EOF
networks:
  mynet:
    parent: ens33
    subnet: 198.51.100.0/24
    gateway: $GW_LAN_ADDR
    host_access: 198.51.100.250/32
    docker: true
EOF
        fi
        if [ -z "${2:-}" ]; then
            cat <<EOF
containers:
  nl1:
    netns: docker:$NL1_REF
    interfaces:
      eth1: {network: mynet, address: 198.51.100.20/24}
  nl2:
    netns: docker:nl2
    interfaces:
      eth1: {network: mynet, address: 198.51.100.22/24}
  pinned:
    netns: netns:$PINNED
    interfaces:
      eth1: {network: mynet, address: 198.51.100.21/24}
EOF
        fi
    } >"$1"
}
topo="$dir/mynet.yaml"
write_topo "$topo"
gone="$dir/gone.yaml"
write_topo "$gone" no-network

ctl() {  # ctl SUBCOMMAND ARGS...: netlabctl in the lab host, on the private dockerd
    local state="$LAB_TMP/state-$H"
    mkdir -p "$state"
    in_ns "$H" "$NETLABCTL" "$@" --state-dir "$state" --docker-socket "$DOCKER_SOCK"
}
apply_json() {  # apply_json FILE OUT [ENV=VALUE...]
    local file=$1 out=$2; shift 2
    APPLY_RC=0
    # shellcheck disable=SC2163  # NAME=VALUE words, exported as given
    (if [ $# -gt 0 ]; then export "$@"; fi
     ctl apply "$file" --json) >"$out" 2>"$out.err" || APPLY_RC=$?
    APPLY_STATUS=$(json_get "$out" 'j.get("status")' 2>/dev/null || echo "(no JSON)")
}
docker_state() {  # what Docker holds, comparable: networks with their containers
    local n
    for n in $(dk network ls --format '{{.Name}}' | sort); do
        printf '%s %s\n' "$n" "$(dk network inspect -f '{{.Driver}} {{json .IPAM.Config}} {{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}' "$n")"
    done
}
snapshot() {  # snapshot TAG: the host's kernel dump and Docker's state
    ns_dump "$H" >"$dir/$1.kernel"
    docker_state >"$dir/$1.docker"
}
same_as() {  # same_as BEFORE AFTER WHAT
    assert_same_dump "$3 (kernel)" "$dir/$1.kernel" "$dir/$2.kernel"
    diff -u "$dir/$1.docker" "$dir/$2.docker" || fail "$3: Docker's networks changed (diff above)"
}

heading "1. plan"
ctl plan "$topo" >"$dir/plan.txt" 2>&1 || true
sed 's/^/  /' "$dir/plan.txt"
has_line cat "$dir/plan.txt" -- '^Docker:' || fail "the human plan has no Docker section"
has_line cat "$dir/plan.txt" -- 'nl2 (docker:nl2) skipped' || fail "the plan does not say that nl2 (never started) is skipped"
if has_line cat "$dir/plan.txt" -- 'connect.* nl2$'; then fail "the plan connects nl2, which does not run"; fi
ctl plan "$topo" --json >"$dir/plan.json" 2>"$dir/plan.err" || true
K=$(json_get "$dir/plan.json" 'len(j["steps"])')
has_line json_get "$dir/plan.json" '[s["op"] for s in j["steps"] if s["op"].startswith("docker_")]' -- \
    "\['docker_create_network', 'docker_connect'\]" || fail "plan --json lacks the Docker steps in order"
has_line json_get "$dir/plan.json" '[s["n"] for s in j["steps"]] == list(range(1, len(j["steps"]) + 1))' -- True \
    || fail "the steps are not numbered 1..$K"

heading "2. a fault at each of the $K steps: rolled back, Docker and kernel as before"
snapshot before
for k in $(seq 1 "$K"); do
    apply_json "$topo" "$dir/fault$k.json" NETLAB_FAIL_AT_STEP="$k"
    [ "$APPLY_STATUS" = rolled_back ] || { show_apply "$dir/fault$k.json"; fail "fault at step $k: not rolled back"; }
    snapshot "after$k"
    same_as before "after$k" "fault at step $k"
    note "  step $k/$K ($(step_text "$dir/plan.json" "$k")): rolled back, same"
done

heading "2b. SIGKILL right after each Docker step, then the next apply recovers"
bg_apply() {  # bg_apply FILE OUT ENV=VALUE: netlabctl apply in H in the background -> BG_PID
    ip netns exec "$H" env "$3" "$NETLABCTL" apply "$1" --json --state-dir "$LAB_TMP/state-$H" \
        --docker-socket "$DOCKER_SOCK" >"$2" 2>"$2.err" &
    BG_PID=$!
    LAB_PIDS+=("$BG_PID")
}
kill_bg() {  # kill_bg: SIGKILL the background apply (stopped by now) and reap it
    kill -9 "$BG_PID"
    wait "$BG_PID" 2>/dev/null || true
    lab_forget_pid "$BG_PID"
}
differs() {  # differs A B: how many lines of the kernel dump and Docker's state differ
    printf '%s' "$(( $(diff "$dir/$1.kernel" "$dir/$2.kernel" | grep -cE '^[<>]' || true) +
        $(diff "$dir/$1.docker" "$dir/$2.docker" | grep -cE '^[<>]' || true) ))"
}
KILL_ROWS=()
KILL_BAD=0
# kill_each_docker_step FILE PLAN_JSON BASE TAG [HOOK]: for every Docker step
# k of the plan, an apply of FILE stops itself right after step k
# (NETLAB_STOP_AFTER_STEP) and is SIGKILLed there; HOOK runs then, with the
# journal left. The next apply recovers and stops before its own first step
# (NETLAB_STOP_BEFORE_STEP=1): kernel and Docker must equal the snapshot
# BASE, and mynet must keep its ID unless the killed apply had removed it
# (Docker cannot re-create a network under its old ID). That apply is
# killed too: its journal records no step done, so the next recovery has
# nothing to undo. One row per step in KILL_ROWS.
mynet_id() { local id; id=$(dk network inspect -f '{{.Id}}' mynet 2>/dev/null) || true; printf '%s' "${id:0:12}"; }
kill_each_docker_step() {
    local file=$1 plan=$2 base=$3 tag=$4 hook=${5:-} k kind killed restored id0 id1 id2
    for k in $(json_get "$plan" '" ".join(str(s["n"]) for s in j["steps"] if s["op"].startswith("docker_"))'); do
        kind=$(json_get "$plan" "j['steps'][$k - 1]['op']")
        id0=$(mynet_id)
        bg_apply "$file" "$dir/$tag$k.json" NETLAB_STOP_AFTER_STEP="$k"
        wait_stopped "$BG_PID" || { cat "$dir/$tag$k.json" "$dir/$tag$k.json.err"; fail "$tag: the apply never stopped after step $k"; }
        killed=yes
        id1=$(mynet_id)
        kill_bg
        snapshot "$tag$k-killed"
        [ -f "$LAB_TMP/state-$H/journal.json" ] || killed="NO (no journal)"
        [ -z "$hook" ] || "$hook" "$tag$k-killed"
        bg_apply "$file" "$dir/$tag$k-next.json" NETLAB_STOP_BEFORE_STEP=1
        wait_stopped "$BG_PID" || { cat "$dir/$tag$k-next.json" "$dir/$tag$k-next.json.err"; fail "$tag: the next apply never stopped before its first step"; }
        snapshot "$tag$k-recovered"
        id2=$(mynet_id)
        kill_bg
        restored=yes
        { diff -u "$dir/$base.kernel" "$dir/$tag$k-recovered.kernel" &&
            diff -u "$dir/$base.docker" "$dir/$tag$k-recovered.docker"; } || restored=NO
        if [ -n "$id0" ] && [ "$id1" = "$id0" ] && [ "$id2" != "$id0" ]; then
            note "  mynet $id0 was never removed, but the recovery replaced it with ${id2:-nothing}"
            restored="NO (ID)"
        fi
        [ "$restored" = yes ] && [ "$killed" = yes ] || KILL_BAD=$((KILL_BAD + 1))
        KILL_ROWS+=("$(printf '%-9s %2d  %-22s %-7s %4s  %-8s %-12s %-12s %s' "$tag" "$k" "$kind" "$killed" \
            "$(differs "$base" "$tag$k-killed")" "$restored" "${id0:--}" "${id1:--}" "${id2:--}")")
        note "  $tag step $k ($(step_text "$plan" "$k")): killed, $(differs "$base" "$tag$k-killed") lines differed; restored: $restored"
    done
}
# After the kill at the last step, a recovery without Docker first: it
# changes nothing and keeps the journal.
no_docker_recovery() {  # no_docker_recovery TAG (the snapshot of the kill)
    [ "$1" = "create$K-killed" ] || return 0
    in_ns "$H" "$NETLABCTL" apply "$topo" --json --state-dir "$LAB_TMP/state-$H" --docker-socket "$dir/no.sock" \
        >"$dir/nodocker.json" 2>&1 || true
    snapshot nodocker
    [ -f "$LAB_TMP/state-$H/journal.json" ] || { cat "$dir/nodocker.json"; fail "a recovery without Docker dropped the journal"; }
    has_line json_get "$dir/nodocker.json" 'j["recovered"]["error"]' -- 'Docker does not answer.*journal is kept' \
        || { cat "$dir/nodocker.json"; fail "the recovery without Docker does not say it keeps the journal"; }
    same_as "$1" nodocker "the recovery without Docker"
    note "  recovery without Docker: journal kept, nothing changed: $(json_get "$dir/nodocker.json" 'j["recovered"]["error"]')"
}
kill_table() {  # prints KILL_ROWS, empties them; fails when a step was not restored
    note "  plan      step  kind                   killed  diff  restored mynet's ID: before  at the kill   recovered"
    printf '  %s\n' "${KILL_ROWS[@]}"
    KILL_ROWS=()
    [ "$KILL_BAD" = 0 ] || fail "$KILL_BAD kill(s) not restored by the next apply (diffs above)"
}
kill_each_docker_step "$topo" "$dir/plan.json" before create no_docker_recovery
kill_table

heading "3. apply"
apply_json "$topo" "$dir/apply.json"
[ "$APPLY_STATUS" = applied ] || { show_apply "$dir/apply.json"; fail "apply failed"; }
dk network inspect mynet >"$dir/inspect.json"
# shellcheck disable=SC2016
ins() { json_get "$dir/inspect.json" "$1"; }
note "  docker network inspect mynet:"
note "    driver $(ins 'j[0]["Driver"]'), options $(ins 'j[0]["Options"]')"
note "    IPAM $(ins 'j[0]["IPAM"]["Config"]')"
note "    labels $(ins 'j[0]["Labels"]')"
note "    containers $(ins 'sorted((c["Name"], c["IPv4Address"]) for c in j[0]["Containers"].values())')"
has_line ins 'j[0]["Driver"], j[0]["Options"]["parent"], j[0]["Labels"]["org.netlab.owner"]' -- \
    -x "('macvlan', 'ens33', 'netlab')" || fail "driver, parent or label wrong"
has_line ins '[(c["Subnet"], c["Gateway"]) for c in j[0]["IPAM"]["Config"]]' -- \
    -x "\[('198.51.100.0/24', '$GW_LAN_ADDR')\]" || fail "subnet or gateway wrong"
has_line ins 'sorted(j[0]["IPAM"]["Config"][0]["AuxiliaryAddresses"].values())' -- \
    -x "\['198.51.100.10', '198.51.100.21', '198.51.100.250'\]" || fail "the reserved addresses are not the host's, pinned's and the shim's"
has_line ins '[c["IPv4Address"] for c in j[0]["Containers"].values() if c["Name"] == "nl1"]' -- \
    -x "\['198.51.100.20/24'\]" || fail "nl1 is not connected with 198.51.100.20"
has_line ins '[c["Name"] for c in j[0]["Containers"].values() if c["Name"] == "nl2"]' -- -x '\[\]' \
    || fail "nl2, which never ran, is on mynet"
apply_json "$topo" "$dir/again.json"
[ "$APPLY_STATUS" = converged ] || { show_apply "$dir/again.json"; fail "a second apply is not converged"; }
note "  second apply: converged, $(json_get "$dir/again.json" 'j["writes"]') netlink writes"

heading "3b. SIGKILL right after each Docker step of a re-creation (host_access .250 -> .251)"
# Docker's steps on both sides of the kernel's: disconnect and remove
# before, create and connect after.
snapshot applied
sed 's|198.51.100.250/32|198.51.100.251/32|' "$topo" >"$dir/moved.yaml"
ctl plan "$dir/moved.yaml" --json >"$dir/plan3.json" 2>"$dir/plan3.err" || true
ops=$(json_get "$dir/plan3.json" '" ".join(s["op"] for s in j["steps"])')
note "  plan: $ops"
has_line printf '%s\n' "$ops" -- -xE 'docker_disconnect docker_remove_network .+ docker_create_network docker_connect' \
    || fail "the re-creation does not have Docker steps before and after the kernel's"
kill_each_docker_step "$dir/moved.yaml" "$dir/plan3.json" applied recreate
kill_table
apply_json "$topo" "$dir/back.json"
[ "$APPLY_STATUS" = converged ] || { show_apply "$dir/back.json"; fail "after the recoveries, the topology is not converged"; }

heading "4. the seed's commands (docker network create is netlab's now)"
note "  \$ docker run --net=mynet --ip=198.51.100.30 -itd --name=test1 $DOCKER_IMAGE sh"
dk run --net=mynet --ip=198.51.100.30 -itd --name=test1 "$DOCKER_IMAGE" sh | sed 's/^/  /'
out=$(lab_reach_soon "$H" 198.51.100.30) || fail "the host cannot reach test1 through the shim: $out"
note "  host -> test1 (198.51.100.30): $out"
out=$(dk exec test1 ping -c 3 -W 2 "$GW_LAN_ADDR" 2>&1) || true
has_line printf '%s\n' "$out" -- -E '3 packets transmitted, 3 (packets )?received' || fail "test1 cannot reach the gateway: $out"
note "  test1 -> gateway: ok"
out=$(lab_reach_soon "$NS_REMOTE" 198.51.100.30) || fail "the remote subnet cannot reach test1: $out"
note "  remote -> test1: $out"
out=$(lab_reach_soon "$H" 198.51.100.20) || fail "the host cannot reach nl1 through the shim: $out"
note "  host -> nl1 (198.51.100.20, connected by netlab): $out"
declare -a auto=()
for i in $(seq 1 20); do
    dk run --net=mynet -d --name "auto$i" "$DOCKER_IMAGE" sleep 3600 >/dev/null
    auto+=("$(dk inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}}' "auto$i")")
done
note "  20 x docker run --net=mynet (no --ip): ${auto[*]}"
for a in "${auto[@]}"; do
    case "$a" in 198.51.100.10|198.51.100.20|198.51.100.21|198.51.100.250|198.51.100.30)
        fail "Docker handed out a reserved address: $a" ;;
    esac
done

heading "5. mynet removed from the topology"
snapshot used
apply_json "$gone" "$dir/refused.json"
[ "$APPLY_STATUS" = rejected ] || { show_apply "$dir/refused.json"; fail "removing a network foreign containers use was not refused"; }
has_line json_get "$dir/refused.json" '"\n".join(d["message"] for d in j["diagnostics"])' -- 'still use it: .*test1' \
    || { show_apply "$dir/refused.json"; fail "the refusal does not name test1"; }
note "  refused: $(json_get "$dir/refused.json" '[d["message"] for d in j["diagnostics"]][0]')"
snapshot used2
same_as used used2 "the refused removal"
dk rm -f test1 >/dev/null
for i in $(seq 1 20); do dk rm -f "auto$i" >/dev/null; done
apply_json "$gone" "$dir/removed.json"
[ "$APPLY_STATUS" = applied ] || { show_apply "$dir/removed.json"; fail "removing the network failed"; }
if dk network inspect mynet >/dev/null 2>&1; then fail "mynet is still in Docker"; fi
note "  applied: mynet gone from Docker ($(dk network ls --format '{{.Name}}' | tr '\n' ' '))"

heading "6. Docker unreachable: rejected before any write"
snapshot quiet
in_ns "$H" "$NETLABCTL" apply "$topo" --json --state-dir "$LAB_TMP/state-$H" --docker-socket "$dir/no.sock" \
    >"$dir/unreach.json" 2>&1 || true
has_line json_get "$dir/unreach.json" 'j["status"], j["writes"]' -- -x "('rejected', 0)" \
    || { cat "$dir/unreach.json"; fail "an unreachable Docker did not reject the apply"; }
note "  $(json_get "$dir/unreach.json" 'j["error"]')"
snapshot quiet2
same_as quiet quiet2 "the apply with Docker unreachable"

heading "7. netlabd waits for Docker to recover a journal with Docker steps"
ctl plan "$topo" --json >"$dir/plan2.json" 2>"$dir/plan2.err" || true
K2=$(json_get "$dir/plan2.json" 'len(j["steps"])')  # ens33 kept its promisc and address: fewer than K
bg_apply "$topo" "$dir/killed2.json" NETLAB_STOP_AFTER_STEP="$K2"
wait_stopped "$BG_PID" || { cat "$dir/killed2.json" "$dir/killed2.json.err"; fail "the apply never stopped after step $K2"; }
note "  killed after step $K2/$K2 ($(step_text "$dir/plan2.json" "$K2"))"
kill_bg
snapshot killed2
ddir="$dir/netlabd"
mkdir -p "$ddir/etc" "$ddir/run"
cp "$gone" "$ddir/etc/topology.yaml"
cp -a "$LAB_TMP/state-$H/." "$ddir/run/"
late="$dir/late.sock"  # Docker's socket, linked only later
daemon_start "$H" "$ddir" -- --docker-socket "$late" || { cat "$ddir/netlabd.log"; fail "netlabd did not start"; }
LAB_PIDS+=("$NETLABD_PID")
retrying() { daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null && has_line cat "$dir/status.json" -- '"retry"'; }
poll_until 60 retrying || { cat "$dir/status.json" "$ddir/netlabd.log"; fail "netlabd's status does not say the recovery waits for Docker"; }
note "  status: recovery.retry $(json_get "$dir/status.json" '{k: v for k, v in j["recovery"]["retry"].items() if k != "reason"}')"
has_line daemon_status "$ddir" -- 'WAITING for Docker' || fail "the status line does not say WAITING for Docker"
[ -f "$ddir/run/journal.json" ] || fail "netlabd dropped the journal while Docker was unreachable"
snapshot waiting
same_as killed2 waiting "netlabd waiting for Docker"
ln -s "$DOCKER_SOCK" "$late"
recovered() { daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null &&
    has_line json_get "$dir/status.json" 'j["recovery"]["status"], "retry" in j["recovery"], (j["last"] or {}).get("status")' -- \
        -xE "\('rolled_back', False, '(converged|applied)'\)"; }
poll_until 60 recovered || { cat "$dir/status.json" "$ddir/netlabd.log"; fail "netlabd did not recover once Docker answered"; }
[ ! -f "$ddir/run/journal.json" ] || fail "the journal is still there after the recovery"
snapshot recovered2
same_as quiet2 recovered2 "the recovery once Docker answered"
note "  socket linked: recovered ($(json_get "$dir/status.json" 'j["recovery"]["writes"]') writes), then $(json_get "$dir/status.json" 'j["last"]["status"]'); kernel and Docker as before the killed apply"

heading "8. drift: docker network rm mynet from outside, repaired by netlabd"
write_topo "$dir/bare.yaml" no-containers
cp "$dir/bare.yaml" "$ddir/etc/.topology.yaml.new"
mv "$ddir/etc/.topology.yaml.new" "$ddir/etc/topology.yaml"
net_id() { dk network inspect -f '{{.Id}} {{index .Labels "org.netlab.owner"}}' mynet 2>/dev/null; }
published() {  # published [OLD_ID]: mynet is netlab's (and not OLD_ID), netlabd's events stream is open
    local seen
    seen=$(net_id) || return 1
    [ "${seen#* }" = netlab ] && [ "${seen%% *}" != "${1:-}" ] || return 1
    daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null &&
        has_line json_get "$dir/status.json" 'j["reattach"]["docker"]["events"]' -- -x connected
}
poll_until 60 published || { net_id; cat "$dir/status.json" "$ddir/netlabd.log"; fail "netlabd did not publish mynet"; }
old=$(net_id)
note "  published: mynet ${old:0:12}, label org.netlab.owner=${old#* }; events: $(json_get "$dir/status.json" 'j["reattach"]["docker"]["events"]')"
note "  \$ docker network rm mynet"
dk network rm mynet >/dev/null
poll_until 60 published "${old%% *}" || { dk network ls; cat "$dir/status.json" "$ddir/netlabd.log"; fail "mynet was not re-created after docker network rm"; }
new=$(net_id)
repaired() { daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null &&
    has_line json_get "$dir/status.json" '(j["drift"]["last_repair"] or {}).get("what")' -- -x 'docker network mynet removed'; }
poll_until 30 repaired || { cat "$dir/status.json" "$ddir/netlabd.log"; fail "status shows no repair of the removed network"; }
note "  re-created: mynet ${new:0:12}, label org.netlab.owner=${new#* }"
note "  status drift: $(json_get "$dir/status.json" '{k: j["drift"]["last_repair"][k] for k in ("what", "trigger", "status", "latency_ms")}')"
note "  docker network events: $(json_get "$dir/status.json" 'j["drift"]["events"]["docker_networks"]')"

heading "8b. drift: report: docker network rm mynet from outside is reported, left removed"
{ cat "$dir/bare.yaml"; echo 'drift: report'; } >"$ddir/etc/.topology.yaml.new"
mv "$ddir/etc/.topology.yaml.new" "$ddir/etc/topology.yaml"
dst() { json_get "$dir/status.json" "$1"; }
reporting() { daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null &&
    has_line dst 'j["drift"]["mode"], j["daemon"]["busy"] or j["daemon"]["queued"] > 0' -- -x "('report', False)"; }
poll_until 60 reporting || { cat "$dir/status.json" "$ddir/netlabd.log"; fail "netlabd did not take drift: report"; }
r0=$(dst 'j["daemon"]["reconciles"]') n0=$(dst 'j["drift"]["reported"]') p0=$(dst 'j["drift"]["repairs"]')
note "  drift: $(dst 'j["drift"]["mode"]'); \$ docker network rm mynet"
dk network rm mynet >/dev/null
reported() { daemon_status "$ddir" --json >"$dir/status.json" 2>/dev/null &&
    has_line dst 'j["drift"]["reported"] > '"$n0"' and j["drift"]["reports"][-1]["what"]' -- -x 'docker network mynet removed'; }
poll_until 30 reported || { cat "$dir/status.json" "$ddir/netlabd.log"; fail "status does not report the removed network"; }
# Time that must pass: a repair would come after netlabd's 200 ms debounce.
sleep 1.5
daemon_status "$ddir" --json >"$dir/status.json"
if dk network inspect mynet >/dev/null 2>&1; then fail "drift: report, yet mynet was re-created"; fi
has_line dst 'j["daemon"]["reconciles"] - '"$r0"', j["drift"]["repairs"] - '"$p0"', j["drift"]["reported"] - '"$n0" -- -x '(0, 0, 1)' \
    || { cat "$dir/status.json"; fail "drift: report reconciled, repaired or did not report exactly once"; }
has_line cat "$ddir/netlabd.log" -- -F 'drift: docker network mynet removed; left as it is (drift: report)' \
    || { cat "$ddir/netlabd.log"; fail "no warning in netlabd's log"; }
has_line daemon_status "$ddir" -- '^  reported at .*: docker network mynet removed$' \
    || { daemon_status "$ddir"; fail "netlabctl status does not show the report"; }
note "  reported: $(dst 'j["drift"]["reports"][-1]'); 0 reconciles; mynet not in Docker: $(dk network ls --format '{{.Name}}' | tr '\n' ' ')"
kill "$NETLABD_PID"
wait "$NETLABD_PID" 2>/dev/null || true
lab_forget_pid "$NETLABD_PID"

docker_down
docker_host_untouched || fail "the private dockerd wrote to the machine's Docker paths"
note "PASS"
