#!/usr/bin/env bash
# `netlabctl check --json` pinned by golden files (tests/golden/check-*.json):
# a valid example and a file with an error and a warning.
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source tree}
[ -x "$BIN/netlabctl" ] || { echo "SKIP: netlabctl not built"; exit 77; }
# shellcheck source=tests/golden/compare.sh
. "$SRC/tests/golden/compare.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
"$BIN/netlabctl" check --json "$SRC/examples/takeover.yaml" >"$T/valid.json"; rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: check of examples/takeover.yaml exited $rc"; fails=$((fails + 1)); }
golden_compare check-valid "$T/valid.json" "$SRC=<src>" || fails=$((fails + 1))
"$BIN/netlabctl" check --json "$SRC/tests/bad/design-example-ebusy.yaml" >"$T/invalid.json"; rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: check of tests/bad/design-example-ebusy.yaml exited $rc, expected 1"; fails=$((fails + 1)); }
golden_compare check-invalid "$T/invalid.json" "$SRC=<src>" || fails=$((fails + 1))
[ "$fails" -eq 0 ]
