#!/usr/bin/env bash
# netlabctl graph --live on one lab host (docs/examples.md, "graph --live"):
# the takeover file plus a container on br0, drawn over the live state.
#   1. before the apply: br0, its port, the default route and the container's
#      interface are marked (planned); nothing else is marked;
#   2. after the apply: nothing is marked;
#   3. drift: an address added to br0 marks br0 (differs) with the address
#      (live only); an address added in the container marks its interface;
#      the default route deleted marks the route (planned);
#   4. a broken file: exit 1 with file:line:col, nothing printed on stdout.
# Every DOT is accepted by `dot -Tsvg`, and graph leaves the dumps unchanged.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_takeover_files
command -v dot >/dev/null || skip "needs dot (graphviz; scripts/setup.sh installs it)"

lab_up
c1="$LAB_PREFIX-c1"
lab_ns_add "$c1"
file="$dir/graph.yaml"
cp "$topo" "$file"
cat >>"$file" <<YAML

containers:
  web:
    netns: netns:$c1
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.50/24
        gateway: $GW_LAN_ADDR
YAML

# graph_live OUT: `netlabctl graph --live` in host1 to OUT; host1's and the
# container's dumps are the same before and after, and dot makes an SVG of it.
graph_live() {
    local out=$1
    ns_dump "$NS_HOST1" >"$out.before"; ns_dump "$c1" >"$out.ct-before"
    in_ns "$NS_HOST1" "$NETLABCTL" graph --live "$file" >"$out" || fail "netlabctl graph --live failed"
    ns_dump "$NS_HOST1" >"$out.after"; ns_dump "$c1" >"$out.ct-after"
    assert_same_dump "graph --live in host1" "$out.before" "$out.after"
    assert_same_dump "graph --live in the container" "$out.ct-before" "$out.ct-after"
    dot -Tsvg -o "$out.svg" "$out" || fail "dot -Tsvg refused $out: $(cat "$out")"
    [[ $(<"$out.svg") == *'<svg'* ]] || fail "$out.svg is not an SVG"
}

# ll_settled NS: every link that is up (but lo) has its IPv6 link-local
# address: the kernel adds them on its own after an apply, and a dump taken
# meanwhile would differ from the next one for a reason not graph's.
ll_settled() {
    local up ll name
    up=$(ip -n "$1" -o link show up) || return 1
    ll=$(ip -n "$1" -6 -o addr show scope link) || return 1
    while read -r _ name _; do
        name=${name%:}; name=${name%@*}
        [ "$name" = lo ] && continue
        [[ $ll == *" $name "* ]] || return 1
    done <<<"$up"
}
settle() {
    poll_until 20 ll_settled "$NS_HOST1" || fail "host1's links got no link-local address: $(ip -n "$NS_HOST1" -br addr)"
    poll_until 20 ll_settled "$c1" || fail "the container's links got no link-local address: $(ip -n "$c1" -br addr)"
}

# marked FILE: the lines of the DOT that carry a mark (not the legend or the
# comments).
marked() {
    local all
    all=$(grep -E '\((planned|live only|differs|not found live)\)' "$1" || true)
    grep -v -e '^  // ' -e '"legend"' <<<"$all" || true
}

# expect_mark FILE REGEX WHAT: a marked line matches REGEX.
expect_mark() {
    has_line marked "$1" -- -E "$2" || fail "$3; the marked lines:
$(marked "$1")"
}

heading "1. before the apply"
graph_live "$dir/before.dot"
marked "$dir/before.dot"
expect_mark "$dir/before.dot" '^    "if:br0" \[label="br0 \(bridge\)\\n198\.51\.100\.10/24\\n\(planned\)".*color=darkgreen' \
    "br0 is not marked planned"
expect_mark "$dir/before.dot" '"if:ens33" -> "if:br0" \[label="port \(planned\)"' "the port is not planned"
expect_mark "$dir/before.dot" '"if:br0" -> "gw:'"$GW_LAN_ADDR"'" \[label="route 0\.0\.0\.0/0 \(planned\)"' \
    "the default route via br0 is not planned"
expect_mark "$dir/before.dot" '"ct:web/eth1" \[label=.*\(planned\)"' "the container's eth1 is not planned"
before_marks=$(marked "$dir/before.dot")
[ "$(grep -c -v -E '\(planned\)' <<<"$before_marks")" -eq 0 ] \
    || fail "something else is marked before the apply: $(marked "$dir/before.dot")"
# ens33 is live with the host's address; the file names it as a port: plain.
has_line cat "$dir/before.dot" -- -F "\"if:ens33\" [label=\"ens33 (adopted)\\n$HOST1_ADDR/$LAN_PREFIX\", shape=box];" \
    || fail "ens33 is not drawn plainly with its live address"
has_line cat "$dir/before.dot" -- -F "// live, not drawn: route default via $GW_LAN_ADDR dev ens33 proto static" \
    || fail "the admin's default route is not a comment"

heading "2. after the apply"
nlctl "$NS_HOST1" apply "$file" >/dev/null
settle
graph_live "$dir/applied.dot"
[ -z "$(marked "$dir/applied.dot")" ] || fail "marked after the apply:
$(marked "$dir/applied.dot")"
note "  nothing marked ($(grep -c -- '->' "$dir/applied.dot") edges)"

heading "3. drift"
ip -n "$NS_HOST1" addr add 203.0.113.9/24 dev br0
ip -n "$c1" addr add 198.51.100.51/24 dev eth1
graph_live "$dir/drift.dot"
marked "$dir/drift.dot"
expect_mark "$dir/drift.dot" '^    "if:br0" \[label="br0 \(bridge\)\\n198\.51\.100\.10/24\\n203\.0\.113\.9/24 \(live only\)\\n\(differs\)".*color=darkorange' \
    "br0's extra address is not marked"
expect_mark "$dir/drift.dot" '"ct:web/eth1" \[label=".*198\.51\.100\.51/24 \(live only\)\\n\(differs\)"' \
    "the container's extra address is not marked"
ip -n "$NS_HOST1" route del default
graph_live "$dir/noroute.dot"
expect_mark "$dir/noroute.dot" '"if:br0" -> "gw:'"$GW_LAN_ADDR"'" \[label="route 0\.0\.0\.0/0 \(planned\)"' \
    "the deleted default route is not planned"
marked "$dir/noroute.dot"

heading "4. a broken file"
printf 'version: 1\ninterfaces:\n  br0:\n    kind: brige\n' >"$dir/bad.yaml"
rc=0
in_ns "$NS_HOST1" "$NETLABCTL" graph --live "$dir/bad.yaml" >"$dir/bad.out" 2>"$dir/bad.err" || rc=$?
note "  exit $rc: $(cat "$dir/bad.err")"
[ "$rc" -eq 1 ] || fail "graph --live on a broken file: exit $rc, not 1"
[[ $(<"$dir/bad.err") == *"bad.yaml:4:"* ]] || fail "the error does not say file:line:col"
[ ! -s "$dir/bad.out" ] || fail "graph printed a graph for a broken file: $(cat "$dir/bad.out")"

note "SVGs: $dir/before.dot.svg $dir/applied.dot.svg $dir/drift.dot.svg"
note "PASS: netlabctl graph --live marks what is planned, nothing when converged, and the drift"
