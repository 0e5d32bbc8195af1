#!/usr/bin/env bash
# Runs one libFuzzer target for a while from its seed corpora: the ctest
# fuzz.TARGET (label fuzz) and the long runs of docs/testing.md.
#   fuzz/run.sh TARGET BINARY [extra libFuzzer flags...]
# NETLAB_FUZZ_SECONDS (default: the build's NETLAB_FUZZ_SECONDS, else 60) is
# the run's length. New inputs go to a scratch directory (or
# NETLAB_FUZZ_CORPUS, kept, for a long run to resume); seeds are read from
# fuzz/corpus/TARGET and, for the topology, examples/ and tests/bad/. A crash
# leaves its input in NETLAB_FUZZ_ARTIFACTS (printed) and fails the run:
# copy it into fuzz/corpus/TARGET/ with the fix, as a regression case.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TARGET BINARY [libFuzzer flags...]" >&2; exit 2; }
target=$1 bin=$2
shift 2
src=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
seconds=${NETLAB_FUZZ_SECONDS:-${NETLAB_FUZZ_DEFAULT_SECONDS:-60}}
artifacts=${NETLAB_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
mkdir -p "$artifacts"

seeds=("$src/fuzz/corpus/$target")
# The largest input each target is given: the loader reads up to 1 MiB but
# its guards refuse more before parsing, so 64 KiB (as the control socket's
# request limit and the event socket's datagram) keeps the runs fast; a long
# run may pass -max_len=1100000 to cross the size guard too.
max_len=65536
case $target in
topology) seeds+=("$src/examples" "$src/tests/bad") ;;
netlink | control) ;;
*) echo "unknown fuzz target '$target'" >&2; exit 2 ;;
esac

# The target's keywords, so mutations reach past the first key check.
dict=()
[ -f "$src/fuzz/$target.dict" ] && dict=(-dict="$src/fuzz/$target.dict")

work=${NETLAB_FUZZ_CORPUS:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "/tmp/netlab-fuzz-$target.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# -rss_limit_mb: an input that makes the loader allocate past 2 GiB is a
# crash (the hostile-input guards must stop it first); -timeout: one input
# taking 10 s is a hang. Both fail the run like a sanitizer report.
echo "fuzz $target: ${seconds}s, seeds ${seeds[*]}"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "${dict[@]}" "$@" "$work" "${seeds[@]}"
