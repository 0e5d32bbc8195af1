#!/usr/bin/env bash
# netlab-topology(5) against docs/topology.md, the JSON Schema and the
# loader: the same keys, and the same validation rules (tests/cli/docs_sync.py).
set -u
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source directory}
exec /usr/bin/python3 "$SRC/tests/cli/docs_sync.py" "$SRC"
