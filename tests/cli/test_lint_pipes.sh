#!/usr/bin/env bash
# No test or script that sets pipefail pipes into `grep -q`, `grep -m` or
# `head` (SIGPIPE makes such a check fail at random; see tests/lint_pipes.py).
# The checker first proves on samples that it catches the pattern.
set -euo pipefail
src=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 "$src/tests/lint_pipes.py" --self-test "$src/tests" "$src/scripts" "$src/bench" "$src/examples"
