#!/usr/bin/env bash
# The netlab.host Ansible collection over real SSH on a 20-host lab
# (ANSIBLE_LAB_HOSTS, default 20): hosts h1..hN on one LAN switch, each with
# its own netlabd (own --config-dir, --state-dir, --socket) and its own sshd
# (a host key and an authorized key made for the run, everything under the
# run's temp dir); ansible-core runs in the remote namespace (203.0.113.2),
# which reaches the hosts only through the lab's gateway and their default
# route. Checks:
#   - ansible-doc shows both modules;
#   - check mode before the rollout: every host "changed", the plan in the
#     diff, and nothing on any host changed (config dir, kernel dump);
#   - rollout of a bridge takeover (serial 5): every host converged and
#     reachable, nothing pending, changed on the first run, changed=0 on the
#     second;
#   - a template that fails `netlabctl check`: the play fails on every host and
#     no host's config dir changes;
#   - a bad change (default gateway .254, which does not exist) to the first
#     batch: those hosts are cut off, the play fails for them, the rollout
#     stops (max_fail_percentage 0), later batches are untouched, and the cut
#     hosts roll themselves back at the deadline (ANSIBLE_CONFIRM, default
#     20s) and answer again; the seconds from cut to reachable are printed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/kernel/daemon_lib.sh
. "$HERE/daemon_lib.sh"

lab_require
lab_require_netlabctl
[ -x "$NETLABD" ] || skip "netlabd not built in $NETLAB_BIN"
for tool in ansible-playbook ansible-doc ssh ssh-keygen /usr/sbin/sshd; do
    command -v "$tool" >/dev/null || skip "$tool not installed (scripts/setup.sh installs ansible-core, openssh-server, openssh-client)"
done

N=${ANSIBLE_LAB_HOSTS:-20}
CONFIRM=${ANSIBLE_CONFIRM:-20s}  # the bad change's deadline (the rollback timing waits for it)
GOOD_CONFIRM=${ANSIBLE_GOOD_CONFIRM:-180s}  # room for a loaded machine between apply and confirm
BATCH=5
T=$(lab_tmp)
COLL=$NETLAB_SOURCE_DIR/ansible
PLAYS=$NETLAB_SOURCE_DIR/tests/ansible
t_start=$SECONDS

# ansible's ssh masters (ControlPersist) outlive ansible-playbook: end them
# by their control sockets before lab_down removes the namespaces. sshd's
# per-connection processes (sshd: root@notty) are in sessions of their own
# (sshd calls setsid for each) and outlive their listener: one whose client
# was cut off by the bad change waits forever, so every process that holds a
# file of this run open is ended too (found by its open fds, which name the
# run's temp dir; nothing else on the machine does).
run_processes() {
    local f p
    for f in /proc/[0-9]*/fd/*; do
        case $(readlink "$f" 2>/dev/null) in "$T"/*) p=${f#/proc/}; printf '%s\n' "${p%%/*}" ;; esac
    done | sort -u
}
cleanup() {
    local s p
    for s in "$T"/cp/*; do
        [ -S "$s" ] && ip netns exec "$NS_REMOTE" ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1 || true
    done
    for p in $(run_processes); do
        [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] && kill "$p" 2>/dev/null || true
    done
    lab_down
}
trap cleanup EXIT

heading "ansible-doc"
doc=$(ANSIBLE_COLLECTIONS_PATH=$COLL ansible-doc netlab.host.netlab_topology)
grep -q "confirm_timeout" <<<"$doc" || fail "ansible-doc netlab.host.netlab_topology does not show confirm_timeout"
grep -q "EXAMPLES" <<<"$doc" || fail "ansible-doc netlab.host.netlab_topology shows no EXAMPLES"
doc=$(ANSIBLE_COLLECTIONS_PATH=$COLL ansible-doc netlab.host.netlab_confirm)
grep -q "probe_wait" <<<"$doc" || fail "ansible-doc netlab.host.netlab_confirm does not show probe_wait"
note "ansible-doc shows netlab.host.netlab_topology and netlab.host.netlab_confirm"

heading "lab: $N hosts, each with netlabd and sshd"
lab_up_hosts "$N"
# sshd insists on its privilege-separation directory (compiled in); the
# package's postinst would make the same one.
[ -d /run/sshd ] || install -d -m 0755 /run/sshd
mkdir -p "$T/ssh" "$T/cp" "$T/home" "$T/remote-tmp" "$T/local-tmp"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/id" -C netlab-test
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_key" -C netlab-test-host
cp "$T/ssh/id.pub" "$T/ssh/authorized_keys"
PIDS=()
for i in $(seq 1 "$N"); do
    ns_var="NS_HOST$i" addr_var="HOST${i}_ADDR"
    ns=${!ns_var} addr=${!addr_var} d=$T/h$i
    mkdir -p "$d/etc" "$d/run"
    printf 'version: 1\n' >"$d/etc/topology.yaml"
    cat >"$d/sshd_config" <<CONF
ListenAddress $addr
Port 22
HostKey $T/ssh/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
CONF
    # No stdio of the test's: a session process that outlived the test would
    # hold ctest's pipe open, and ctest waits for it to close.
    ip netns exec "$ns" /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" </dev/null >/dev/null 2>&1 &
    LAB_PIDS+=($!)
    daemon_spawn "$ns" "$d"
    LAB_PIDS+=("$NETLABD_PID")
    PIDS+=("$NETLABD_PID")
done
sshd_up() { ip netns exec "$NS_REMOTE" "$PYTHON" -c 'import socket,sys; socket.create_connection((sys.argv[1], 22), 1).close()' "$1"; }
for i in $(seq 1 "$N"); do
    addr_var="HOST${i}_ADDR"
    poll_until 60 daemon_wait_reconciled "$T/h$i" || { cat "$T/h$i/netlabd.log"; fail "h$i: netlabd never reconciled"; }
    poll_until 60 sshd_up "${!addr_var}" 2>/dev/null || { cat "$T/h$i/sshd.log"; fail "h$i: sshd never answered on ${!addr_var}:22"; }
done
note "$N netlabd and $N sshd up ($((SECONDS - t_start)) s)"

{
    printf '[netlab_hosts]\n'
    for i in $(seq 1 "$N"); do
        addr_var="HOST${i}_ADDR"
        printf 'h%d ansible_host=%s netlab_dir=%s\n' "$i" "${!addr_var}" "$T/h$i"
    done
    cat <<INV
[netlab_hosts:vars]
ansible_user=root
ansible_connection=ssh
ansible_python_interpreter=$PYTHON
netlab_netlabctl=$NETLABCTL
netlab_config_dir={{ netlab_dir }}/etc
netlab_state_dir={{ netlab_dir }}/run
netlab_socket={{ netlab_dir }}/run/netlabd.sock
netlab_confirm_timeout=$GOOD_CONFIRM
netlab_template=takeover.yaml.j2
netlab_reconnect_timeout=60
INV
} >"$T/inventory.ini"
cat >"$T/ansible.cfg" <<CFG
[defaults]
inventory = $T/inventory.ini
private_key_file = $T/ssh/id
host_key_checking = False
forks = 20
gathering = explicit
remote_tmp = $T/remote-tmp
local_tmp = $T/local-tmp
retry_files_enabled = False
timeout = 10
[ssh_connection]
pipelining = True
control_path_dir = $T/cp
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=2 -o ServerAliveCountMax=3 -o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=no -o IdentitiesOnly=yes
CFG

# play NAME [ansible-playbook args...]: runs the rollout from the remote
# namespace; the transcript goes to $T/NAME.log, its recap to stdout.
# Returns ansible-playbook's exit status.
play() {
    local name=$1 rc=0 t0=$SECONDS
    shift
    ip netns exec "$NS_REMOTE" env HOME="$T/home" ANSIBLE_CONFIG="$T/ansible.cfg" \
        ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
        ansible-playbook "$PLAYS/rollout.yml" "$@" >"$T/$name.log" 2>&1 || rc=$?
    note "-- $name: ansible-playbook exit $rc, $((SECONDS - t0)) s; recap:"
    sed -n '/^PLAY RECAP/,$p' "$T/$name.log" | grep -E '^h[0-9]+ ' || true
    return "$rc"
}
# recap_field NAME HOST FIELD: the number in HOST's recap line (empty: absent)
recap_field() {
    sed -n '/^PLAY RECAP/,$p' "$T/$1.log" | sed -nE "s/^$2 +:.* $3=([0-9]+).*/\1/p"
}
play_fail() { echo "--- transcript $1"; cat "$T/$1.log"; fail "$2"; }
conf_sum() { cat "$T"/h*/etc/topology.yaml | md5sum; }
host_sum() { md5sum <"$T/h$1/etc/topology.yaml"; }
all_dumps() {
    local i ns_var
    for i in $(seq 1 "$N"); do ns_var="NS_HOST$i"; ns_dump "${!ns_var}"; done
}
reach() { ip netns exec "$NS_REMOTE" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
default_via() {  # I: the gateway of host I's default route
    local ns_var="NS_HOST$1"
    ip -n "${!ns_var}" route show default | sed -nE 's/^default via ([0-9.]+) dev ([^ ]+).*/\1 \2/p'
}

heading "check mode before the rollout: reports the plan, changes nothing"
sum0=$(conf_sum)
dump0=$(all_dumps)
play check --check --diff || play_fail check "check mode failed"
for i in $(seq 1 "$N"); do
    [ "$(recap_field check "h$i" changed)" -ge 1 ] || play_fail check "h$i: check mode did not report a change"
done
has_line cat "$T/check.log" -- -E "^netlabctl plan: [1-9][0-9]* step" || play_fail check "the diff does not show the plan"
has_line cat "$T/check.log" -- -E "^  ip link add br0 .*type bridge" || play_fail check "the plan does not create br0"
grep -A7 '^netlabctl plan:' "$T/check.log" | sed -n 1,8p
[ "$(conf_sum)" = "$sum0" ] || fail "check mode changed a config dir"
[ "$(all_dumps)" = "$dump0" ] || fail "check mode changed a host's network"
note "config dirs and kernel dumps of all $N hosts unchanged"

heading "rollout of the bridge takeover, serial $BATCH"
play rollout1 || play_fail rollout1 "the rollout failed"
for i in $(seq 1 "$N"); do
    [ "$(recap_field rollout1 "h$i" changed)" -ge 1 ] || play_fail rollout1 "h$i: not changed on the first run"
    [ "$(default_via "$i")" = "198.51.100.1 br0" ] || fail "h$i: default route is '$(default_via "$i")', not via br0"
    ns_var="NS_HOST$i" addr_var="HOST${i}_ADDR"
    has_line ip -n "${!ns_var}" -br addr show br0 -- "${!addr_var}/24" || fail "h$i: br0 lacks ${!addr_var}/24"
    has_line ip -n "${!ns_var}" link show ens33 -- "master br0" || fail "h$i: ens33 is not a port of br0"
    reach "${!addr_var}" || fail "h$i: not reachable from the controller after the rollout"
    has_line daemon_status "$T/h$i" --json -- '"pending": null' || fail "h$i: a change is still pending"
done
note "all $N hosts converged (br0 with the host's address, default via br0), reachable, nothing pending"
play rollout2 || play_fail rollout2 "the second rollout failed"
for i in $(seq 1 "$N"); do
    [ "$(recap_field rollout2 "h$i" changed)" = 0 ] || play_fail rollout2 "h$i: changed on the second run"
done
note "second run: changed=0 on all $N hosts"

heading "a template that fails netlabctl check reaches no host"
sum1=$(conf_sum)
rc=0
play invalid -e netlab_template=invalid.yaml.j2 -e netlab_serial="$N" || rc=$?
[ "$rc" != 0 ] || play_fail invalid "the play passed with an invalid template"
for i in $(seq 1 "$N"); do
    [ "$(recap_field invalid "h$i" failed)" = 1 ] || play_fail invalid "h$i: the invalid template did not fail"
done
grep -q "route dev 'br9' is not an interface" "$T/invalid.log" || play_fail invalid "no diagnostic in the transcript"
diag=$(grep -o "topology.yaml:[0-9]*:[0-9]*: error: route dev 'br9' is not an interface of the topology" "$T/invalid.log" | sort -u) || true
note "diagnostic: $diag"
[ "$(conf_sum)" = "$sum1" ] || fail "an invalid template reached a config dir"
note "failed on all $N hosts; every config dir unchanged"

heading "a bad change (default via 198.51.100.254) to the first batch"
declare -A before
for i in $(seq 1 "$N"); do before[$i]=$(host_sum "$i"); done
# The controller watches the first batch's sshd: when each stops answering
# (the cut) and when it answers again.
cat >"$T/prober.py" <<'PY'
import socket, sys, time
out, n, net, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
hosts = {i: "%s.%d" % (net, first + i - 1) for i in range(1, n + 1)}
cut, back = {}, {}
end = time.monotonic() + 240
def up(a):
    try:
        socket.create_connection((a, 22), 0.25).close()
        return True
    except OSError:
        return False
while time.monotonic() < end and len(back) < n:
    for i, a in hosts.items():
        if i in back:
            continue
        ok = up(a)
        now = time.monotonic()
        if not ok and i not in cut:
            cut[i] = now
        elif ok and i in cut:
            back[i] = now
    time.sleep(0.1)
with open(out + ".tmp", "w") as f:
    for i in sorted(hosts):
        if i in cut and i in back:
            f.write("h%d %.1f\n" % (i, back[i] - cut[i]))
        else:
            f.write("h%d never-cut=%s never-back=%s\n" % (i, i not in cut, i not in back))
import os
os.rename(out + ".tmp", out)
PY
ip netns exec "$NS_REMOTE" "$PYTHON" "$T/prober.py" "$T/reach.txt" "$BATCH" "${HOST1_ADDR%.*}" "${HOST1_ADDR##*.}" &
prober=$!
LAB_PIDS+=("$prober")
rc=0
play bad -e netlab_gateway=198.51.100.254 -e netlab_confirm_timeout="$CONFIRM" || rc=$?
[ "$rc" != 0 ] || play_fail bad "the play passed although the change cut hosts off"
for i in $(seq 1 "$BATCH"); do
    u=$(recap_field bad "h$i" unreachable) f=$(recap_field bad "h$i" failed)
    [ "$((${u:-0} + ${f:-0}))" -ge 1 ] || play_fail bad "h$i: neither unreachable nor failed"
done
for i in $(seq $((BATCH + 1)) "$N"); do
    [ -z "$(recap_field bad "h$i" ok)" ] || play_fail bad "h$i (a later batch) was run: the rollout did not stop"
    [ "$(host_sum "$i")" = "${before[$i]}" ] || fail "h$i (a later batch): its config dir changed"
    [ "$(default_via "$i")" = "198.51.100.1 br0" ] || fail "h$i (a later batch): default route is '$(default_via "$i")'"
done
note "the play failed for h1..h$BATCH; h$((BATCH + 1))..h$N untouched (config dir, default route)"
has_reach_file() { [ -s "$T/reach.txt" ]; }
poll_until 240 has_reach_file || fail "the prober never finished"
wait "$prober" || true
heading "rollback at the deadline ($CONFIRM): seconds from the cut to reachable, per bad host"
cat "$T/reach.txt"
for i in $(seq 1 "$BATCH"); do
    has_line cat "$T/reach.txt" -- -E "^h$i [0-9.]+$" || fail "h$i: not cut off and back (see above)"
    [ "$(default_via "$i")" = "198.51.100.1 br0" ] || fail "h$i: default route after the rollback is '$(default_via "$i")'"
    st=$(daemon_status "$T/h$i" --json)
    grep -q '"rolled_back"' <<<"$st" || { echo "$st"; fail "h$i: status does not show the rollback"; }
    addr_var="HOST${i}_ADDR"
    reach "${!addr_var}" || fail "h$i: not reachable after the rollback"
done
grep -h "commit-confirmed: not confirmed" "$T"/h[1-5]/netlabd.log || true
note "h1..h$BATCH rolled themselves back and answer again"

for pid in "${PIDS[@]}"; do kill -0 "$pid" || fail "a netlabd died (pid $pid)"; done
echo
echo "PASS: test_ansible ($N hosts, $((SECONDS - t_start)) s)"
