#!/usr/bin/env bash
# The examples' pictures (docs/examples.md): each examples/*.yaml goes through
# `netlabctl graph | dot -Tsvg` by the build's own recipe
# (cmake/graph_svg.cmake), and each result is an SVG document whose text names
# every interface, network, container and gateway of the example. Skipped
# (77) without Graphviz's dot. Needs NETLAB_BIN and NETLAB_SOURCE_DIR (CTest).
set -euo pipefail
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source directory}
DOT=$(command -v dot || true)
[ -n "$DOT" ] || { echo "SKIP: dot (graphviz) is not installed (scripts/setup.sh installs it)"; exit 77; }
[ -x "$BIN/netlabctl" ] || { echo "SKIP: $BIN/netlabctl is not built"; exit 77; }
TMP=$(mktemp -d /tmp/netlab-graph-svg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

n=0
for f in "$SRC"/examples/*.yaml; do
    name=$(basename "$f" .yaml)
    out="$TMP/$name.svg"
    cmake -DNETLABCTL="$BIN/netlabctl" -DDOT="$DOT" -DEXAMPLE="$f" -DOUT="$out" \
        -P "$SRC/cmake/graph_svg.cmake"
    python3 - "$f" "$out" <<'PY'
import sys, xml.etree.ElementTree as ET
import yaml
example, svg = sys.argv[1], sys.argv[2]
root = ET.parse(svg).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", f"{svg}: root element is {root.tag}, not svg"
texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
topo = yaml.safe_load(open(example))
want = []
for name, i in (topo.get("interfaces") or {}).items():
    want.append(f"{name} ({(i or {}).get('kind', 'adopted')})")
for name, n in (topo.get("networks") or {}).items():
    want.append(f"network {name} ({n.get('driver', 'macvlan')})")
for name, c in (topo.get("containers") or {}).items():
    want.append(f"{name} ({c['netns']})")
    want.extend((c.get("interfaces") or {}).keys())
for r in topo.get("routes") or []:
    want.append(f"gateway {r.get('via', 'on-link')}")
missing = [w for w in want if w not in texts]
assert not missing, f"{svg}: no node labelled {missing}; its text: {texts}"
print(f"ok: {example.rsplit('/', 1)[-1]} -> valid SVG, {len(want)} labels: {', '.join(want)}")
PY
    n=$((n + 1))
done
[ "$n" -ge 4 ] || { echo "FAIL: expected at least 4 examples, found $n"; exit 1; }
echo "ok: $n examples drawn"
