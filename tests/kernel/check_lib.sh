# shellcheck shell=bash
# Checks that stay right on a busy machine, for every test and library here
# (lib.sh, daemon_lib.sh and systemd_lib.sh source this file).
#
# Why not a pipe from cmd into `grep -q PATTERN`: under pipefail, grep -q exits at
# the first match, cmd gets SIGPIPE writing its next line, the pipeline's
# status is 141 and a check that matched fails. Whether cmd still had a line
# to write depends on scheduling, so it fails now and then, more often under
# load. Pipes into head and grep -m have the same flaw. tests/lint_pipes.py
# rejects all three in scripts that set pipefail.

# has_line CMD... -- GREP_ARGS...: succeeds when CMD's output has a line
# matching (grep GREP_ARGS, e.g. `-E 'a|b'` or `-x True`). CMD runs to the
# end and its whole output is read before grep sees it; CMD's exit status is
# ignored (a failing command with no matching line is "no match"). CMD may be
# a shell function.
has_line() {
    local cmd=() out
    while [ $# -gt 0 ] && [ "$1" != -- ]; do cmd+=("$1"); shift; done
    if [ $# -eq 0 ]; then
        echo "has_line: no -- between the command and the pattern: ${cmd[*]}" >&2
        return 2
    fi
    shift
    out=$("${cmd[@]}") || true
    grep -q "$@" <<<"$out"
}

# poll_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS of wall-clock time have passed (1; CMD gets one last try at the
# deadline). Deadlines are generous on purpose: they bound a hang, they do
# not measure speed.
poll_until() {
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# wait_stopped PID [SECONDS]: until PID is stopped (state T: it raised
# SIGSTOP at a NETLAB_STOP_* point, see docs/engine.md); 1 when it exited
# first or SECONDS (default 120) passed.
wait_stopped() {
    local pid=$1 end=$((SECONDS + ${2:-120})) st
    while [ "$SECONDS" -lt "$end" ]; do
        st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
        case $st in
            T) return 0 ;;
            Z | X | "") return 1 ;;
        esac
        sleep 0.02
    done
    return 1
}
