#!/usr/bin/env bash
# The man pages CMake built from man/*.scd: `mandoc -T lint` finds nothing at
# warning level or above except scdoc's own paragraph macros (every scdoc
# page starts its sections with .PP, which mandoc calls "PP empty"/"PP after
# SH"; the text is unaffected), and `man -l` renders each one.
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed (scripts/setup.sh)"; exit 77; }
command -v man >/dev/null || { echo "SKIP: man not installed (scripts/setup.sh)"; exit 77; }
fails=0
for page in netlabctl.8 netlabd.8 netlab-topology.5; do
    f=$BIN/man/$page
    if [ ! -s "$f" ]; then
        echo "FAIL: $f was not built"
        fails=$((fails + 1))
        continue
    fi
    lint=$(mandoc -T lint -W warning "$f" 2>&1)
    rest=$(grep -v 'skipping paragraph macro: PP \(empty\|after SH\)' <<<"$lint")
    if [ -n "$rest" ]; then
        echo "FAIL: mandoc -T lint $page:"
        echo "$rest"
        fails=$((fails + 1))
    else
        echo "ok: mandoc -T lint $page: clean ($(grep -c . <<<"$lint") scdoc .PP notes)"
    fi
    out=$(MANWIDTH=80 man -l "$f" 2>&1)
    name=${page%.*}
    if grep -q "^NAME" <<<"$out" && grep -q "$name" <<<"$out"; then
        echo "ok: man -l $page renders ($(wc -l <<<"$out") lines)"
    else
        echo "FAIL: man -l $page:"
        echo "$out"
        fails=$((fails + 1))
    fi
done
[ "$fails" -eq 0 ]
