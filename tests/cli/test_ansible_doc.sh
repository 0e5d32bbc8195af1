#!/usr/bin/env bash
# ansible-doc shows the netlab.host modules (their DOCUMENTATION, EXAMPLES and
# RETURN parse in Ansible's format); the role's files parse as YAML.
set -euo pipefail
SRC=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v ansible-doc >/dev/null || { echo "SKIP: ansible-core not installed"; exit 77; }
export ANSIBLE_COLLECTIONS_PATH=$SRC/ansible ANSIBLE_NOCOLOR=1 HOME=${TMPDIR:-/tmp}
list=$(ansible-doc -l netlab.host)
echo "$list"
for m in netlab_topology netlab_confirm; do
    grep -q "^netlab.host.$m " <<<"$list" || { echo "FAIL: ansible-doc -l does not list netlab.host.$m"; exit 1; }
    doc=$(ansible-doc "netlab.host.$m")
    for section in OPTIONS EXAMPLES RETURN; do
        grep -q "$section" <<<"$doc" || { echo "FAIL: ansible-doc netlab.host.$m shows no $section"; exit 1; }
    done
done
python3 - "$SRC" <<'PY'
import glob, sys, yaml
for f in glob.glob(sys.argv[1] + "/ansible/ansible_collections/netlab/host/**/*.yml", recursive=True):
    yaml.safe_load(open(f))
PY
echo "PASS: ansible-doc shows netlab.host.netlab_topology and netlab.host.netlab_confirm"
