#!/usr/bin/env bash
# Sets up, builds and runs the sandboxed bridge-takeover demo. Everything
# happens in network namespaces this script creates and removes (a trap
# deletes them even on failure); the machine's own network is never touched.
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

NETLAB_SOURCE_DIR=$PWD NETLAB_BIN=${NETLAB_BIN:-$PWD/build}
# shellcheck source=tests/kernel/lib.sh
. tests/kernel/lib.sh
lab_require

heading "The lab (namespaces made for this run)"
cat <<'EOF'
  remote 203.0.113.2 ──── gw (203.0.113.1 | 198.51.100.1, routing) ──── sw (bridge "lan")
                                                                           │
                                   host1: ens33 198.51.100.10/24, default via 198.51.100.1
EOF
lab_up
note "namespaces: $NS_REMOTE $NS_GW $NS_SW $NS_HOST1"

# The example's containers (netns:NAME) become namespaces of this run: the
# only change made to the example is their names, so that nothing outside
# the lab is touched.
example=examples/takeover.yaml
shown=$example    # the name printed in the headings
containers=()
if [ -f "$example" ]; then
    copy="$(lab_tmp)/takeover.yaml"
    cp "$example" "$copy"
    # shellcheck disable=SC2013  # names are single words
    for name in $(grep -o 'netns:[A-Za-z0-9_.-]*' "$example" | cut -d: -f2 | sort -u); do
        ns="$LAB_PREFIX-$name"
        lab_ns_add "$ns"
        containers+=("$ns")
        sed -i "s/netns:$name\b/netns:$ns/" "$copy"
        note "container $name: namespace $ns (netns:$name -> netns:$ns in a copy of the example)"
    done
    example=$copy
else
    example="$(lab_tmp)/takeover.yaml"
    shown=takeover.yaml
    write_takeover_yaml "$example"
    note "(examples/takeover.yaml is not there yet: using the same topology from tests/kernel/lib.sh)"
fi

heading "The topology to apply in host1"
cat "$example"

show_host1() {
    note "\$ ip -br addr                  (in host1)"
    ip -n "$NS_HOST1" -br addr
    note "\$ ip route                     (in host1)"
    ip -n "$NS_HOST1" route
}

heading "host1 before"
show_host1

heading "netlabctl plan $shown   (in host1)"
plan_rc=0
nlctl "$NS_HOST1" plan "$example" || plan_rc=$?
note "(plan exit code $plan_rc: 0 converged, 2 changes, 1 error)"
if [ "$plan_rc" -eq 1 ]; then
    heading "Not there yet"
    note "netlabctl plan/apply did not run here (see the message above): the bridge"
    note "takeover cannot be shown yet. The lab itself works; here is what the seed's"
    note "hand-typed chain does to host1 instead:"
    lab_shell_chain "$NS_HOST1" || true
    show_host1
    exit 0
fi

heading "netlabctl apply $shown   (in host1), while the remote pings host1 every 10 ms"
pinger_start "$NS_REMOTE" "$HOST1_ADDR"
apply_rc=0
nlctl "$NS_HOST1" apply "$example" || apply_rc=$?
sleep 0.2
pinger_stop
note "(apply exit code $apply_rc)"

heading "The remote pinging host1 through the gateway during the apply"
note "transmitted $PING_TX, received $PING_RX, lost $PING_LOST"

heading "host1 after"
show_host1
for ns in "${containers[@]}"; do
    heading "container namespace $ns after"
    ip -n "$ns" -br addr
    ip -n "$ns" route
    addrs=$(ip -n "$ns" -4 -o addr show scope global | awk '{ split($4, p, "/"); print p[1] }')
    [ -n "$addrs" ] || note "  (no IPv4 address here: the container part was not applied)"
    for a in $addrs; do
        if lab_reach "$NS_REMOTE" "$a" 3 >/dev/null; then
            note "  remote -> $a (through the gateway and br0): reachable"
        else
            note "  remote -> $a: NOT reachable"
        fi
    done
done

heading "netlabctl plan again (converged: exit 0)"
plan_rc=0
nlctl "$NS_HOST1" plan "$example" || plan_rc=$?
note "(plan exit code $plan_rc)"

heading "For comparison: the seed's shell chain on a fresh lab"
lab_destroy
lab_up
lab_shell_chain "$NS_HOST1" || note "  -> stopped at '$CHAIN_FAILED_AT'; host1 is left with no default route:"
ip -n "$NS_HOST1" route
if lab_reach "$NS_REMOTE" "$HOST1_ADDR" 3 >/dev/null; then
    note "  remote still reaches host1"
else
    note "  remote can no longer reach host1"
fi

heading "Removing the lab"
[ "$apply_rc" -eq 0 ] || exit 1
