#!/usr/bin/env bash
# The Debian package, built from the tree and installed the way an admin
# would (issue 18). scripts/deb.sh builds it (or NETLAB_DEB names one);
# `dpkg-deb -c` must list every installed file; lintian's verdict is printed.
# Then a throwaway systemd boots as PID 1 on an overlay of the root
# (tests/kernel/systemd_lib.sh) WITHOUT netlab in it, and inside it only:
#   dpkg -i            -> the unit is enabled, not started (no topology yet)
#   systemctl start    -> active with only the template in /etc/netlab;
#                         `netlabctl status` says "no topology"
#   write topology.yaml-> applied without a command
#   broken file, reload-> `systemctl reload` fails, the network is unchanged
#   man netlabctl      -> renders
#   dpkg -r            -> netlabd stopped, the network left as it is
#   dpkg -P            -> /etc/netlab and the state directories gone
# dpkg never runs on this machine's own root: every dpkg call goes through
# `sd` (the instance's mount namespace, whose root is the overlay).
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts)"
for tool in unshare nsenter cmake cpack findmnt dpkg-deb dpkg-buildflags; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
[ -x /lib/systemd/systemd ] || skip "systemd not installed"
[ -n "$(findmnt -n -t cgroup2 -o TARGET | sed -n 1p)" ] || skip "no cgroup2 hierarchy for the instance"
SRC=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${NETLAB_BIN:-$SRC/build}

# shellcheck source=systemd_lib.sh
source "$(dirname "$0")/systemd_lib.sh"
OUT=$(mktemp /tmp/netlab-debtest.XXXXXX)
NOINSTALL=$(mktemp -d /tmp/netlab-debtest-noinstall.XXXXXX)
cleanup() {
    sd_teardown
    rm -rf "$OUT" "$NOINSTALL"
}
trap cleanup EXIT

fail() {
    echo
    echo "FAIL: $*"
    if [ -n "$SD_PID" ]; then
        echo "--- journalctl -u netlab"
        sd journalctl -u netlab --no-pager -o short-monotonic >"$OUT" 2>&1 || true
        tail -60 "$OUT"
    fi
    exit 1
}
x() {  # run inside the instance; print the command, its output, its exit code
    local rc=0
    printf '\n# %s\n' "$*"
    sd "$@" >"$OUT" 2>&1 || rc=$?
    sed 's/^/  /' "$OUT"
    echo "  [exit $rc]"
    return $rc
}
inside() { sd "$@" 2>&1; }  # output of a command inside, for conditions
put() {  # FILE (inside): stdin -> FILE, written beside it and renamed into place
    # shellcheck disable=SC2016
    sd sh -c 'mkdir -p "$(dirname "$1")" && cat > "$1.new" && mv -f "$1.new" "$1"' _ "$1"
    printf '\n# (wrote %s)\n' "$1"
}
wait_for() {  # DESCRIPTION SCRIPT: bounded wait until `sh -c SCRIPT` inside succeeds
    local what=$1 script=$2 deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        if sd sh -c "$script" >/dev/null 2>&1; then
            echo "  ok: $what"
            return 0
        fi
        sleep 0.2
    done
    fail "never happened within 60 s: $what (last: $(sd sh -c "$script" 2>&1 || true))"
}
net_state() { sd sh -c 'ip -br link | sed "s/@[^ ]*//" | sort; ip -br addr | sort; ip route | sort'; }
step() { printf '\n== %s\n' "$*"; }

step "build the .deb"
DEB=${NETLAB_DEB:-}
if [ -z "$DEB" ]; then
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    t0=$SECONDS
    built=$(BUILD_DIR="$BIN/deb" "$SRC/scripts/deb.sh" "${launcher[@]}" 2>&1) || { echo "$built"; fail "scripts/deb.sh"; }
    DEB=$(tail -n1 <<<"$built")
    echo "  scripts/deb.sh: $DEB ($((SECONDS - t0)) s)"
fi
[ -f "$DEB" ] || fail "no package at '$DEB'"

step "dpkg-deb -I / -c: computed dependencies, every installed file"
info=$(dpkg-deb -I "$DEB")
echo "$info" | sed 's/^/  /'
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
for lib in libc6 libnl-3 libnl-route-3 libyaml-cpp libsystemd0 libstdc++6; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
echo "  ok: Depends computed by dpkg-shlibdeps: $depends"
list=$(dpkg-deb -c "$DEB")
echo "$list" | sed 's/^/  /'
want=(
    ./usr/sbin/netlabd ./usr/sbin/netlabctl ./lib/systemd/system/netlab.service
    ./etc/netlab/topology.yaml.example
    ./usr/share/man/man8/netlabctl.8.gz ./usr/share/man/man8/netlabd.8.gz ./usr/share/man/man5/netlab-topology.5.gz
    ./usr/share/bash-completion/completions/netlabctl ./usr/share/netlab/topology-v1.schema.json
    ./usr/share/doc/netlab/daemon.md ./usr/share/doc/netlab/topology.md ./usr/share/doc/netlab/copyright
    ./usr/share/doc/netlab/changelog.gz ./usr/share/lintian/overrides/netlab
)
for ex in "$SRC"/examples/*.yaml; do want+=("./usr/share/doc/netlab/examples/$(basename "$ex")"); done
files=$(awk '{print $6}' <<<"$list")
for f in "${want[@]}"; do grep -qxF "$f" <<<"$files" || fail "dpkg-deb -c lacks $f"; done
echo "  ok: all ${#want[@]} files listed"
conffiles=$(dpkg-deb -f "$DEB" Package >/dev/null && dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)
[ "$conffiles" = /etc/netlab/topology.yaml.example ] || fail "conffiles: '$conffiles'"
echo "  ok: conffiles: $conffiles"

step "lintian"
if command -v lintian >/dev/null; then
    rc=0
    lint=$(lintian --info --display-info --show-overrides "$DEB" 2>&1) || rc=$?
    echo "${lint:-  (no tags)}" | sed 's/^/  /'
    echo "  [lintian exit $rc]"
    errors=$(grep -c '^E: ' <<<"$lint" || true)
    [ "$errors" = 0 ] || fail "lintian reports $errors error tags"
else
    echo "  lintian not installed: not run"
fi

step "boot systemd on a throwaway overlay, without netlab"
echo "# netlab comes from the .deb in this test" >"$NOINSTALL/cmake_install.cmake"
sd_boot "$NOINSTALL" || fail "systemd did not boot"
# The overlay's /tmp is a fresh tmpfs: the package goes in through stdin.
sd sh -c 'cat > /root/netlab.deb' <"$DEB"
# A container image's policy-rc.d (exit 101) would forbid every start made
# by the maintainer scripts; a real host has none.
x rm -f /usr/sbin/policy-rc.d

step "the lab: nic0 in the instance's netns, its peer in netns lab as the gateway"
x ip netns add lab
x ip link add nic0 type veth peer name nic0p netns lab
x ip -n lab addr add 198.51.100.254/24 dev nic0p
x ip -n lab link set nic0p up
x ip -n lab link set lo up
x ip -n lab route add 203.0.113.0/24 dev lo

step "dpkg -i: enabled, not started (no topology yet)"
x dpkg -i /root/netlab.deb || fail "dpkg -i"
x systemctl is-enabled netlab || fail "netlab.service is not enabled"
if x systemctl is-active netlab; then fail "netlab started on install without a topology"; fi
x ls -la /etc/netlab
x netlabctl --version
x systemd-analyze verify /lib/systemd/system/netlab.service || fail "systemd-analyze verify"

step "systemctl start with only the template: active, no topology"
before=$(net_state)
x systemctl start netlab || fail "systemctl start netlab"
x systemctl is-active netlab || fail "netlab is not active"
x netlabctl status || fail "netlabctl status"
grep -q "no topology" "$OUT" || fail "netlabctl status does not say 'no topology'"
x systemctl show -p StatusText netlab
grep -q "no topology" "$OUT" || fail "STATUS= does not say 'no topology'"
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "starting with no topology changed the network"; }
echo "  ok: no network change"

step "write the first topology.yaml: applied without a command"
put /etc/netlab/topology.yaml <<'YAML'
version: 1
interfaces:
  nic0:
    up: true
  br0:
    kind: bridge
    ports: [nic0]
    stp: false
    addresses: [198.51.100.1/24]
routes:
  - to: 203.0.113.0/24
    via: 198.51.100.254
    dev: br0
YAML
wait_for "br0 has 198.51.100.1/24" 'case "$(ip -br addr show br0)" in *198.51.100.1/24*) exit 0;; esac; exit 1'
wait_for "the route via the gateway" 'case "$(ip route show 203.0.113.0/24)" in *"via 198.51.100.254 dev br0"*) exit 0;; esac; exit 1'
wait_for "the gateway answers ping on the bridge" 'ip netns exec lab ping -c1 -W1 198.51.100.1'
x netlabctl status

step "a broken file: systemctl reload fails visibly, the network is unchanged"
before=$(net_state)
put /etc/netlab/topology.d/50-broken.yaml <<'YAML'
version: 1
interfaces:
  br0x:
    kind: bridge
    mtu: lots
YAML
if x systemctl reload netlab; then fail "systemctl reload succeeded on a broken file"; fi
x systemctl is-active netlab || fail "netlab is not active after a rejected reload"
journal=$(inside journalctl -u netlab --no-pager -o cat)
grep -qE "/etc/netlab/topology.d/50-broken.yaml:5:[0-9]+: error: .*mtu" <<<"$journal" || fail "the journal lacks the diagnostic (50-broken.yaml:5)"
echo "  ok: the journal names 50-broken.yaml:5"
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "the network changed"; }
echo "  ok: network unchanged"
x rm /etc/netlab/topology.d/50-broken.yaml

step "man netlabctl renders"
man_out=$(sd env MANWIDTH=80 man netlabctl 2>&1) || true
grep -q "netlabctl - check, plan and apply" <<<"$man_out" || { echo "$man_out"; fail "man netlabctl did not render"; }
sed -n '1,12p' <<<"$man_out" | sed 's/^/  /'
echo "  ok: man netlabctl ($(wc -l <<<"$man_out") lines)"

step "dpkg -r: netlabd stopped, the network left as it is"
before=$(net_state)
x dpkg -r netlab || fail "dpkg -r"
if x systemctl is-active netlab; then fail "netlab still active after dpkg -r"; fi
after=$(net_state)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "dpkg -r changed the network"; }
echo "  ok: network unchanged by dpkg -r"
x ls -la /etc/netlab /var/lib/netlab /run/netlab || true

step "dpkg -P: /etc/netlab and the state directories are gone"
x dpkg -P netlab || fail "dpkg -P"
for d in /etc/netlab /var/lib/netlab /run/netlab; do
    if sd test -e "$d"; then fail "$d is still there after purge"; fi
done
echo "  ok: /etc/netlab, /var/lib/netlab, /run/netlab removed"
x ip -br addr show br0

step "tear down: kill -9 the instance's PID 1"
sd_teardown
echo "  done"
echo
echo "PASS: test_deb"
