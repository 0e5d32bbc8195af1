#!/usr/bin/env bash
# `cmake --install` into a DESTDIR, without root: for --prefix /usr/local and
# /usr, every file of the install is where the FHS puts it and the generated
# unit's ExecStart=/ExecReload= name binaries that exist there; --version of
# both programs prints project(VERSION); and in an interactive bash with
# bash-completion, completing `netlabctl ` offers the subcommands (the
# completion loaded on demand from the installed file).
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source directory}
TMP=$(mktemp -d /tmp/netlab-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BIN/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $BIN/CMakeCache.txt"
for prog in netlabctl netlabd; do
    out=$("$BIN/$prog" --version 2>&1)
    [ "$out" = "$prog $version" ] && pass "$prog --version: $out" || fail "$prog --version said '$out', want '$prog $version'"
done

for prefix in /usr/local /usr; do
    D=$TMP/destdir$(tr / _ <<<"$prefix")
    if ! out=$(DESTDIR=$D cmake --install "$BIN" --prefix "$prefix" 2>&1); then
        fail "cmake --install --prefix $prefix: $out"
        continue
    fi
    if [ "$prefix" = /usr ]; then unitdir=/lib/systemd/system conf=/etc/netlab; else unitdir=$prefix/lib/systemd/system conf=$prefix/etc/netlab; fi
    want=(
        "$prefix/sbin/netlabd" "$prefix/sbin/netlabctl" "$unitdir/netlab.service"
        "$conf/topology.yaml.example"
        "$prefix/share/man/man8/netlabctl.8.gz" "$prefix/share/man/man8/netlabd.8.gz" "$prefix/share/man/man5/netlab-topology.5.gz"
        "$prefix/share/bash-completion/completions/netlabctl" "$prefix/share/netlab/topology-v1.schema.json"
        "$prefix/share/doc/netlab/daemon.md" "$prefix/share/doc/netlab/topology.md" "$prefix/share/doc/netlab/copyright"
    )
    for ex in "$SRC"/examples/*.yaml; do want+=("$prefix/share/doc/netlab/examples/$(basename "$ex")"); done
    missing=()
    for f in "${want[@]}"; do [ -e "$D$f" ] || missing+=("$f"); done
    [ ${#missing[@]} -eq 0 ] && pass "--prefix $prefix: all ${#want[@]} files in place" || fail "--prefix $prefix: missing ${missing[*]}; installed: $(cd "$D" && find . -type f | sort)"
    unit=$D$unitdir/netlab.service
    [ -f "$unit" ] || continue
    exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
    exec_reload=$(sed -n 's/^ExecReload=\([^ ]*\).*/\1/p' "$unit")
    if [ "$exec_start" = "$prefix/sbin/netlabd" ] && [ -x "$D$exec_start" ]; then
        pass "--prefix $prefix: ExecStart=$exec_start exists in the DESTDIR"
    else
        fail "--prefix $prefix: ExecStart='$exec_start' (exists: $([ -x "$D$exec_start" ] && echo yes || echo no))"
    fi
    [ -x "$D$exec_reload" ] && pass "--prefix $prefix: ExecReload=$exec_reload exists" || fail "--prefix $prefix: ExecReload='$exec_reload' missing"
    left=$(grep -n '@[A-Z_]*@' "$unit")
    [ -z "$left" ] && pass "--prefix $prefix: no @VAR@ left in the unit" || fail "unsubstituted: $left"
    docs=$(grep '^Documentation=' "$unit")
    grep -q 'man:netlabctl(8)' <<<"$docs" && grep -q 'man:netlabd(8)' <<<"$docs" && grep -q 'man:netlab-topology(5)' <<<"$docs" &&
        grep -q "file:$prefix/share/doc/netlab/daemon.md" <<<"$docs" && pass "--prefix $prefix: Documentation= names the man pages and daemon.md" ||
        fail "--prefix $prefix: Documentation= lines: $docs"
done

# Completion: a real interactive bash on a pty, TAB TAB after `netlabctl `.
D=$TMP/destdir_usr
if [ -f /usr/share/bash-completion/bash_completion ] && [ -f "$D/usr/share/bash-completion/completions/netlabctl" ]; then
    out=$(XDG_DATA_DIRS=$D/usr/share PATH=$D/usr/sbin:$PATH /usr/bin/python3 - <<'PY' 2>&1
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
def read_until(markers, deadline):
    buf = b""
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            buf += chunk
            if all(m in buf for m in markers):
                return buf
    return buf
os.write(fd, b"PS1='READY> '; source /usr/share/bash-completion/bash_completion; echo loaded-$((6*7))\n")
read_until([b"loaded-42"], time.time() + 30)
os.write(fd, b"netlabctl \t\t")
out = read_until([c.encode() for c in "check plan apply status reload confirm rollback".split()], time.time() + 30)
os.write(fd, b"\x03exit\n")
sys.stdout.write(out.decode(errors="replace"))
PY
)
    missing=()
    for c in check plan apply status reload confirm rollback; do grep -q "\b$c\b" <<<"$out" || missing+=("$c"); done
    [ ${#missing[@]} -eq 0 ] && pass "bash -i: completing 'netlabctl ' offers the subcommands" || fail "bash -i completion lacks ${missing[*]}; the pty showed: $out"
else
    echo "SKIP part: bash-completion not installed (scripts/setup.sh)"
fi

[ "$fails" -eq 0 ] && echo "all ok" || echo "$fails failed"
[ "$fails" -eq 0 ]
