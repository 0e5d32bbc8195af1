#!/usr/bin/env bash
# Runs last (name order): removes what a kernel test killed without its trap
# (SIGKILL, a ctest timeout) left behind, then fails if any namespace of a
# finished run is still there, naming it, so a leak is seen in the suite's
# result instead of on the next machine. Also proves the sweep on a namespace
# made to look like a killed run's.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
# A PID that is certainly gone: a child that has exited and been reaped.
true &
dead=$!
wait "$dead"
kill -0 "$dead" 2>/dev/null && skip "PID $dead was reused at once; nothing to prove"
ip netns add "nlt$dead-1-host1"
lab_sweep_dead
left=()
for ns in $(ip netns list | awk '{print $1}'); do
    [[ $ns =~ ^nl[tc]([0-9]+)- ]] || continue
    kill -0 "${BASH_REMATCH[1]}" 2>/dev/null || left+=("$ns")
done
[ "${#left[@]}" -eq 0 ] || fail "namespaces of finished runs are still there: ${left[*]}"
note "PASS: nothing left by finished runs (the killed-run namespace nlt$dead-1-host1 was swept)"
