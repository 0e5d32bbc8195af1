#!/usr/bin/env bash
# deploy/kubernetes/ checked on paper (tests/k8s_manifests.py): there is no
# Kubernetes cluster here, so the manifests are parsed, not deployed.
set -euo pipefail
SRC=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }
NETLABCTL=${NETLAB_BIN:-$SRC/build}/netlabctl NETLAB_SOURCE_DIR=$SRC python3 "$SRC/tests/k8s_manifests.py"
