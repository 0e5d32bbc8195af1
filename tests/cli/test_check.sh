#!/usr/bin/env bash
# netlabctl check without root or kernel: the examples pass, every case of the
# bad corpus fails with the diagnostic it states, --json is a JSON array, and
# hostile input gets a clear error. Needs NETLAB_BIN (build dir) and
# NETLAB_SOURCE_DIR (set by CTest).
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source directory}
CTL="$BIN/netlabctl"
TMP=$(mktemp -d /tmp/netlab-check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

# --- the examples ---------------------------------------------------------
n=0
for f in "$SRC"/examples/*.yaml; do
    n=$((n + 1))
    if out=$("$CTL" check "$f" 2>&1); then
        if grep -q 'error' <<<"$out"; then fail "$f: exit 0 but printed an error: $out"; else pass "$(basename "$f") is valid"; fi
    else
        fail "$f is not valid:"$'\n'"$out"
    fi
done
[ "$n" -ge 4 ] || fail "expected at least 4 examples, found $n"

# A config directory: topology.yaml plus drop-ins, merged.
mkdir -p "$TMP/etc/topology.d"
cp "$SRC/examples/takeover.yaml" "$TMP/etc/topology.yaml"
printf 'version: 1\nroutes:\n  - to: 203.0.113.0/24\n    via: 198.51.100.1\n' >"$TMP/etc/topology.d/10-remote.yaml"
printf 'not: [yaml' >"$TMP/etc/topology.d/README.txt"   # other extensions are ignored
if out=$("$CTL" check "$TMP/etc" 2>&1) && grep -q '2 routes' <<<"$out" && grep -q 'from 2 files' <<<"$out"; then
    pass "directory with a drop-in merges ($out)"
else
    fail "directory check: $out"
fi
# The same object in two files names both places.
printf 'version: 1\ninterfaces:\n  br0:\n    kind: bridge\n' >"$TMP/etc/topology.d/20-dup.yaml"
out=$("$CTL" check "$TMP/etc" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "20-dup.yaml:3:3: error: interface 'br0' is defined in two files: here and at $TMP/etc/topology.yaml:" <<<"$out"; then
    pass "duplicate across files names both places"
else
    fail "duplicate across files (rc=$rc): $out"
fi

# Ansible's `validate: netlabctl check %s` passes a temp file of any name.
cp "$SRC/examples/macvlan.yaml" "$TMP/ansible.Xy12z.tmp"
"$CTL" check "$TMP/ansible.Xy12z.tmp" >/dev/null 2>&1 && pass "a file with any extension" || fail "check of a .tmp file"

# --- the bad corpus -------------------------------------------------------
n=0
for f in "$SRC"/tests/bad/*.yaml; do
    n=$((n + 1))
    name=$(basename "$f")
    out=$("$CTL" check "$f" 2>&1); rc=$?
    want_rc=0
    grep -q '^# expect: [0-9]*:[0-9]* error: ' "$f" && want_rc=1
    [ $rc -eq $want_rc ] || { fail "$name: exit $rc, expected $want_rc"$'\n'"$out"; continue; }
    ok=1
    while IFS= read -r line; do
        spec=${line#\# expect: }
        pos=${spec%% *}
        rest=${spec#* }
        sev=${rest%%:*}
        words=${rest#*: }
        first=${words%% ... *}
        if [ "$pos" = "0:0" ]; then loc="$f: $sev: "; else loc="$f:$pos: $sev: "; fi
        grep -qF -- "$loc" <<<"$out" && grep -qF -- "$first" <<<"$out" || { ok=0; fail "$name: missing '$loc$first' in:"$'\n'"$out"; }
    done < <(grep '^# expect: ' "$f")
    [ $ok -eq 1 ] && pass "$name"
done
[ "$n" -ge 50 ] || fail "expected at least 50 corpus cases, found $n"

# --- output formats -------------------------------------------------------
f="$SRC/tests/bad/design-example-ebusy.yaml"
out=$("$CTL" check "$f" 2>&1)
if grep -q "^$f:23:13: error: .*the kernel answers EBUSY" <<<"$out" && grep -q '^  hint: ' <<<"$out" &&
    grep -q '^1 error, 0 warnings$' <<<"$out"; then
    pass "human format: file:line:col: error: ..., hint line, summary"
else
    fail "human format: $out"
fi
json=$("$CTL" check "$f" --json 2>/dev/null); rc=$?
if [ $rc -eq 1 ] && python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["format"] == 1 and j["status"] == "invalid" and j["ok"] is False and j["errors"] == 1, j
a = j["diagnostics"]
assert isinstance(a, list) and len(a) == 1, a
d = a[0]
assert set(d) == {"severity", "file", "line", "col", "message", "hint"}, d
assert d["severity"] == "error" and d["line"] == 23 and d["col"] == 13 and "EBUSY" in d["message"], d
' "$json"; then pass "--json: format 1, status invalid, the diagnostic"; else fail "--json (rc=$rc): $json"; fi
json=$("$CTL" check --json "$SRC/examples/combined.yaml" 2>/dev/null); rc=$?
[ $rc -eq 0 ] && [ "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["status"], len(j["diagnostics"]))' "$json")" = "valid 0" ] &&
    pass "--json on a valid file: status valid, no diagnostics" || fail "--json valid (rc=$rc): $json"
out=$("$CTL" check "$SRC/tests/bad/mac-not-local.yaml" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && grep -q 'warning: ' <<<"$out" && grep -q '0 errors, 1 warning' <<<"$out" &&
    pass "warnings only: exit 0, warning on stderr" || fail "warnings only (rc=$rc): $out"
"$CTL" check --bogus >/dev/null 2>&1 && fail "unknown option accepted" || pass "unknown option refused"

# --- hostile input --------------------------------------------------------
hostile() {  # NAME WORDS: the check must fail with WORDS within a second or so
    local name=$1 words=$2 t0 t1 out rc
    t0=$(date +%s%N)
    out=$(timeout 20 "$CTL" check "$TMP/$name" 2>&1); rc=$?
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [ $rc -eq 1 ] && grep -qF -- "$words" <<<"$out"; then
        pass "$name: '$words' (${ms} ms)"
    else
        fail "$name (rc=$rc, ${ms} ms): $out"
    fi
}
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$TMP/big.yaml"
hostile big.yaml "file is 10.0 MiB, larger than the 1.0 MiB limit"
{ printf 'version: 1\nx: '; head -c 10000 /dev/zero | tr '\0' '['; head -c 10000 /dev/zero | tr '\0' ']'; echo; } >"$TMP/deep.yaml"
hostile deep.yaml "nesting is deeper than 64 levels"
python3 - "$TMP/lol.yaml" <<'PY'
import sys
lines = ["version: 1", "a0: &a0 [" + ", ".join(["{to: default, via: 198.51.100.1}"] * 9) + "]"]
for i in range(1, 10):
    lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]")
lines.append("routes: *a9")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
hostile lol.yaml "error"
printf 'version: 1\ninterfaces:\n  ens\xff33: {}\n' >"$TMP/latin1.yaml"
hostile latin1.yaml "latin1.yaml:3:6: error: file is not UTF-8 text"
: >"$TMP/empty.yaml"
hostile empty.yaml "empty file: expected \`version: 1\`"
mkdir -p "$TMP/dir.yaml"
hostile dir.yaml "is a directory"
printf 'version: 1\n' >"$TMP/secret.yaml"
chmod 000 "$TMP/secret.yaml"
if [ "$(id -u)" -ne 0 ]; then
    hostile secret.yaml "Permission denied"
elif command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$CTL" 2>/dev/null; then
    chmod 755 "$TMP"
    out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" check "$TMP/secret.yaml" 2>&1); rc=$?
    [ $rc -eq 1 ] && grep -q 'cannot read: Permission denied' <<<"$out" &&
        pass "unreadable file (as nobody): $out" || fail "unreadable (rc=$rc): $out"
else
    echo "skip: unreadable file: running as root and 'nobody' cannot execute $CTL (or setpriv is missing)"
fi

echo
if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
