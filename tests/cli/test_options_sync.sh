#!/usr/bin/env bash
# Every option each netlabctl command lists in its --help (CLI11, the one
# parser) is offered by the bash completion for that command and named in
# netlabctl(8); every netlabd option is named in netlabd(8).
set -u
BIN=${NETLAB_BIN:?set NETLAB_BIN to the build directory}
SRC=${NETLAB_SOURCE_DIR:?set NETLAB_SOURCE_DIR to the source tree}
[ -x "$BIN/netlabctl" ] || { echo "SKIP: netlabctl not built"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
comp=$SRC/completion/netlabctl.bash
# The commands as --help lists them, so a new one cannot be left out here.
cmds=$("$BIN/netlabctl" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$cmds" ] || fail "netlabctl --help lists no subcommands"
for cmd in $cmds; do
    help=$("$BIN/netlabctl" "$cmd" --help) || { fail "netlabctl $cmd --help exited non-zero"; continue; }
    opts=$(grep -oE '^ +(-h,)?--[a-z-]+' <<<"$help" | sed 's/^ *-h,//; s/^ *//')
    line=$(grep -E "^    $cmd\) opts=" "$comp") || { fail "completion has no line for $cmd"; continue; }
    for o in $opts; do
        grep -qw -- "$o" <<<"$line" || fail "completion of '$cmd' lacks $o"
        grep -qF -- "*$o*" "$SRC/man/netlabctl.8.scd" || fail "netlabctl(8) does not name $o"
    done
    echo "ok: netlabctl $cmd: $(wc -w <<<"$opts") options in --help, completion and man page"
done
help=$("$BIN/netlabd" --help) || fail "netlabd --help exited non-zero"
for o in $(grep -oE '^ +(-h,)?--[a-z-]+' <<<"$help" | sed 's/^ *-h,//; s/^ *//'); do
    grep -qF -- "*$o*" "$SRC/man/netlabd.8.scd" || fail "netlabd(8) does not name $o"
done
echo "ok: netlabd: options in --help named in netlabd(8)"
[ "$fails" -eq 0 ]
