#!/usr/bin/env bash
# Changing an IPv4 address within its subnet, on the host and in a container.
#
# The new address goes on first and becomes a secondary of the old one; the
# kernel deletes secondaries with their primary (and with the link's last
# address every route through it) unless the link has promote_secondaries.
# netlab turns it on around the swap and back off after. Lab: lib.sh's (host1
# behind the gateway, the remote on the other subnet) after the bridge
# takeover, with a container c9 on br0.
#
#   1. host: br0 198.51.100.10/24 -> .11/24 while host1 pings the remote every
#      10 ms; then .11 answers the remote, .10 does not, the default route was
#      never deleted (ip monitor), promote_secondaries is 0 again, plan exits 0.
#   2. the same change with a fault injected at every step k: host1 equals its
#      dump and its promote_secondaries before.
#   3. container: eth1 .12 -> .13 while the container pings the remote; the
#      container's default route was never deleted and the remote answers.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

dir=$(lab_tmp)
lab_up
h=$NS_HOST1
C="$LAB_ID-$LAB_GEN-c9"
ip netns add "$C"
LAB_NAMESPACES+=("$C")
ip -n "$C" link set lo up

# write_topo FILE HOST_ADDR CONTAINER_ADDR
write_topo() {
    cat >"$1" <<EOF
version: 1
interfaces:
  br0:
    kind: bridge
    ports: [ens33]
    mac: ens33
    stp: false
    addresses: [$2/$LAN_PREFIX]
routes:
  - to: default
    via: $GW_LAN_ADDR
    dev: br0
containers:
  c9:
    netns: netns:$C
    interfaces:
      eth1:
        bridge: br0
        address: $3/$LAN_PREFIX
        gateway: $GW_LAN_ADDR
EOF
}

must_apply() {  # must_apply FILE OUT [ENV=VALUE...]
    nl_apply "$h" "$@"
    if [ "$APPLY_RC" -ne 0 ] || [ "$APPLY_STATUS" != applied ]; then show_apply "$2"; fail "apply $1: expected applied"; fi
}

promote() { in_ns "$1" sysctl -n "net.ipv4.conf.$2.promote_secondaries"; }

write_topo "$dir/a.yaml" 198.51.100.10 198.51.100.12
write_topo "$dir/b.yaml" 198.51.100.11 198.51.100.12
write_topo "$dir/c.yaml" 198.51.100.11 198.51.100.13

heading "0. takeover with container c9 on br0 (.10, c9 .12)"
must_apply "$dir/a.yaml" "$dir/a.json"
lab_reach_soon "$NS_REMOTE" 198.51.100.10 3 || fail "remote cannot reach host1 after the takeover"
lab_reach_soon "$C" "$REMOTE_ADDR" 3 || fail "c9 cannot reach the remote after the takeover"
before_promote=$(promote "$h" br0)
ns_dump "$h" >"$dir/host1.a"

heading "1. host: br0 198.51.100.10/24 -> 198.51.100.11/24"
plan_steps "$h" "$dir/b.yaml" "$dir/b.plan.json"
[ "$PLAN_RC" -eq 2 ] || { cat "$dir/b.plan.json" "$dir/b.plan.json.err"; fail "plan: expected exit 2, got $PLAN_RC"; }
for k in $(seq 1 "$PLAN_K"); do note "  $k. $(step_text "$dir/b.plan.json" "$k")"; done
monitor_start "$h" "$dir/b.monitor"
pinger_start "$h" "$REMOTE_ADDR"
must_apply "$dir/b.yaml" "$dir/b.json" NETLAB_STEP_DELAY_MS=100
pinger_stop
monitor_stop
note "  host1 -> remote every 10 ms during the apply: $PING_LINE"
host_ping="tx=$PING_TX rx=$PING_RX lost=$PING_LOST longest_run=$PING_RUN"
if grep -E '^Deleted.*default' "$dir/b.monitor"; then fail "host1's default route was deleted during the change"; fi
# The prefix route changes its source address (.10 -> .11): proof that the monitor was listening.
grep -q '198\.51\.100\.0/24' "$dir/b.monitor" || { cat "$dir/b.monitor"; fail "ip monitor saw no route event on host1: it was not listening"; }
ip -n "$h" -4 addr show dev br0
ip -n "$h" route show default
has_line ip -n "$h" -4 addr show dev br0 -- 'inet 198.51.100.11/24' || fail "br0 does not have 198.51.100.11/24"
if has_line ip -n "$h" -4 addr show dev br0 -- 'inet 198.51.100.10/'; then fail "br0 still has 198.51.100.10"; fi
has_line ip -n "$h" route show default -- "^default via $GW_LAN_ADDR dev br0 proto 77" || fail "host1's default route changed"
lab_reach_soon "$NS_REMOTE" 198.51.100.11 3 || fail "remote cannot reach host1's new address"
if lab_reach "$NS_REMOTE" 198.51.100.10 1 >/dev/null; then fail "the old address still answers"; fi
[ "$(promote "$h" br0)" = "$before_promote" ] || fail "br0 promote_secondaries is $(promote "$h" br0), was $before_promote"
plan_steps "$h" "$dir/b.yaml" "$dir/b.again.json"
[ "$PLAN_RC" -eq 0 ] || { cat "$dir/b.again.json"; fail "plan after the change: expected 0 (converged), got $PLAN_RC"; }
ns_dump "$h" >"$dir/host1.b"

heading "2. host: the same change back and forth with a fault at every step"
rows=()
plan_steps "$h" "$dir/a.yaml" "$dir/back.plan.json"
K=$PLAN_K
for k in $(seq 1 "$K"); do
    nl_apply "$h" "$dir/a.yaml" "$dir/fault.$k.json" NETLAB_FAIL_AT_STEP="$k"
    ns_dump "$h" >"$dir/host1.fault.$k"
    same=yes
    cmp -s "$dir/host1.b" "$dir/host1.fault.$k" || same=no
    [ "$(promote "$h" br0)" = "$before_promote" ] || same=no
    rows+=("$(printf '%-3s | %-11s | %-8s | %s' "$k" "$APPLY_STATUS" "$same" "$(step_text "$dir/back.plan.json" "$k")")")
    if [ "$same" != yes ]; then
        diff -u "$dir/host1.b" "$dir/host1.fault.$k" || true
        fail "fault at step $k: host1 not restored (status $APPLY_STATUS)"
    fi
    [ "$APPLY_STATUS" = rolled_back ] || { show_apply "$dir/fault.$k.json"; fail "fault at step $k: status $APPLY_STATUS"; }
done
printf '%-3s | %-11s | %-8s | %s\n' k status restored "failing step"
printf '%s\n' "${rows[@]}"

heading "3. container: c9 eth1 198.51.100.12/24 -> 198.51.100.13/24"
plan_steps "$h" "$dir/c.yaml" "$dir/c.plan.json"
[ "$PLAN_RC" -eq 2 ] || { cat "$dir/c.plan.json" "$dir/c.plan.json.err"; fail "plan: expected exit 2, got $PLAN_RC"; }
for k in $(seq 1 "$PLAN_K"); do note "  $k. $(step_text "$dir/c.plan.json" "$k")"; done
monitor_start "$C" "$dir/c.monitor"
pinger_start "$C" "$REMOTE_ADDR"
must_apply "$dir/c.yaml" "$dir/c.json" NETLAB_STEP_DELAY_MS=100
pinger_stop
monitor_stop
note "  c9 -> remote every 10 ms during the apply: $PING_LINE"
container_ping="tx=$PING_TX rx=$PING_RX lost=$PING_LOST longest_run=$PING_RUN"
if grep -E '^Deleted.*default' "$dir/c.monitor"; then fail "c9's default route was deleted during the change"; fi
grep -q '198\.51\.100\.0/24' "$dir/c.monitor" || { cat "$dir/c.monitor"; fail "ip monitor saw no route event in c9: it was not listening"; }
ip -n "$C" -4 addr show dev eth1
has_line ip -n "$C" -4 addr show dev eth1 -- 'inet 198.51.100.13/24' || fail "c9 eth1 does not have 198.51.100.13/24"
if has_line ip -n "$C" -4 addr show dev eth1 -- 'inet 198.51.100.12/'; then fail "c9 eth1 still has .12"; fi
has_line ip -n "$C" route show default -- "via $GW_LAN_ADDR dev eth1" || fail "c9 lost its default route"
[ "$(promote "$C" eth1)" = 0 ] || fail "c9 eth1 promote_secondaries left on"
lab_reach_soon "$C" "$REMOTE_ADDR" 3 || fail "c9 cannot reach the remote after the change"
lab_reach_soon "$NS_REMOTE" 198.51.100.13 3 || fail "remote cannot reach c9's new address"
plan_steps "$h" "$dir/c.yaml" "$dir/c.again.json"
[ "$PLAN_RC" -eq 0 ] || { cat "$dir/c.again.json"; fail "plan after the container change: expected 0, got $PLAN_RC"; }

heading "summary"
note "host readdress:      applied, default route never deleted; pinger host1->remote $host_ping"
note "fault injection:     $K/$K steps rolled back to the exact dump"
note "container readdress: applied, default route never deleted; pinger c9->remote $container_ping"
note "PASS"
