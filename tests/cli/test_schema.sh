#!/usr/bin/env bash
# The JSON Schema against the loader (tests/cli/schema_check.py): examples
# valid for both, the bad corpus's shape errors rejected by both, and where
# the two disagree. Needs python3-jsonschema and python3-yaml (scripts/setup.sh).
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source directory}
# Debian's python, where python3-jsonschema is installed (not a pyenv shim's).
PY=/usr/bin/python3
"$PY" -c 'import jsonschema, yaml' 2>/dev/null || { echo "SKIP: python3-jsonschema or python3-yaml missing"; exit 77; }
exec "$PY" "$SRC/tests/cli/schema_check.py" "$SRC/schema/topology-v1.schema.json" "$SRC" "$BIN/netlabctl"
