#!/usr/bin/env python3
"""Rejects pipes that make a pipefail script fail at random.

Under `set -o pipefail`, `cmd | grep -q X`, `cmd | grep -m N X` and
`cmd | head` stop reading early; cmd then gets SIGPIPE on its next write and
the pipeline's status is 141 although the check matched. Whether cmd still
had something to write depends on scheduling, so such a test fails now and
then, more often on a busy machine. Read the output first instead:
`out=$(cmd); grep -q X <<<"$out"`, or `has_line cmd -- X`
(tests/kernel/check_lib.sh).

Also rejects `poll_until SECS CMD ARGS` whose ARGS hold a command
substitution: the shell expands `$(...)` once, before poll_until runs, so
the poll compares the same stale value until its deadline (put the check in
a function and poll that).

Usage: lint_pipes.py [--self-test] FILE_OR_DIR...
Checks every *.sh (and every file whose first line names bash) that sets
pipefail, and every library (lib.sh, *_lib.sh: they run in the scripts that
source them). Prints FILE:LINE: the line, and exits 1 when anything is found.
"""
import os
import re
import sys

# A pipe into head, or into grep with -q/-m (bundled or alone, before or
# after the pattern) or their long forms, up to the end of that command.
_GREP_EARLY = re.compile(
    r"""(?<!\|)\|(?!\|)\s*(?:
        head\b
      | grep\b[^|;&)]*?\s(?:-[A-Za-z]*[qm][A-Za-z0-9]*|--quiet\b|--silent\b|--max-count\b)
    )""",
    re.VERBOSE,
)


# poll_until's command, up to the end of that command (||, &&, ;).
_POLL_ARGS = re.compile(r"\bpoll_until\s+\S+\s+(?P<cmd>(?:[^|&;]|\|(?!\|)|&(?!&))*)")


def frozen_poll(code):
    m = _POLL_ARGS.search(code)
    return bool(m) and ("$(" in m.group("cmd") or "`" in m.group("cmd"))


def code_part(line):
    """The line without a trailing comment (a # after a blank, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def findings(text, path=""):
    # A library (lib.sh, *_lib.sh) runs inside the scripts that source it.
    pipefail = "pipefail" in text or path.endswith("lib.sh")
    out = []
    # A command continued with a trailing backslash is checked whole, and
    # reported at its first line.
    start, joined, shown = 0, "", ""
    for n, line in enumerate(text.splitlines(), 1):
        code = code_part(line).rstrip()
        if not joined:
            start, shown = n, line.strip()
        if code.endswith("\\"):
            joined += code[:-1] + " "
            continue
        joined += code
        if (pipefail and _GREP_EARLY.search(joined)) or frozen_poll(joined):
            out.append((start, shown))
        joined = ""
    return out


def is_script(path):
    if path.endswith(".sh"):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"bash" in first


def walk(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "build")))
                for f in sorted(files):
                    full = os.path.join(root, f)
                    if is_script(full):
                        yield full
        else:
            yield p


SELF_TEST_BAD = [
    "set -o pipefail\nip addr | grep -q 198.51.100.1\n",
    "set -euo pipefail\nx=$(ip route | head -1)\n",
    "set -euo pipefail\nip route | grep -qE 'a|b' || fail\n",
    "set -euo pipefail\nip route | grep -m1 default\n",
    "set -euo pipefail\nip route | grep default -q && echo\n",
    "set -euo pipefail\nip route | grep --quiet default\n",
    "set -euo pipefail\njournalctl | grep -v x | head -n 3\n",
    "set -euo pipefail\nq sh -c 'ip route | grep -q via'\n",
    'poll_until 10 test "$(readlink /proc/$PID/exe)" = /usr/bin/sleep || fail\n',
    "poll_until 5 [ `cat f` = 1 ]\n",
    'poll_until 10 test \\\n    "$(readlink /proc/$PID/exe)" = /usr/bin/sleep\n',
    "set -euo pipefail\nip route \\\n  | grep -q default\n",
]
SELF_TEST_GOOD = [
    "set -euo pipefail\nout=$(ip addr); grep -q 198.51.100.1 <<<\"$out\"\n",
    "set -euo pipefail\nip route | grep -c default\n",
    "set -euo pipefail\nip route | grep -v default | sort\n",
    "set -euo pipefail\n# ip addr | grep -q x is what we avoid\n",
    "ip addr | grep -q x\n",  # no pipefail: the pipeline's status is grep's
    "set -euo pipefail\nip -n \"$ns\" -o link | tail -n 1\n",
    "set -euo pipefail\ngrep -q x file | cat\n",
    'poll_until 10 started "$PID" || fail "not started: $(cat /proc/$PID/comm)"\n',
    'poll_until "$3" settled "$1" "$2" || die "x"\n',
    'poll_until 10 settled "$1" \\\n    || fail "not settled: $(cat f)"\n',
]


def self_test():
    bad = [t for t in SELF_TEST_BAD if not findings(t)]
    good = [t for t in SELF_TEST_GOOD if findings(t)]
    for t in bad:
        print(f"self-test: not caught: {t!r}")
    for t in good:
        print(f"self-test: wrongly caught: {t!r}")
    return not bad and not good


def main(argv):
    args = argv[1:]
    ok = True
    if args and args[0] == "--self-test":
        args = args[1:]
        ok = self_test()
        print(f"self-test: {len(SELF_TEST_BAD)} bad and {len(SELF_TEST_GOOD)} good samples "
              + ("classified right" if ok else "MISCLASSIFIED"))
    files = 0
    hits = 0
    for path in walk(args):
        files += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in findings(f.read(), path):
                print(f"{path}:{n}: {line}")
                hits += 1
    print(f"{files} scripts checked, {hits} early-exit pipes under pipefail or polls of a value expanded once")
    if hits:
        print("read the output first: out=$(cmd); grep -q X <<<\"$out\" (or has_line cmd -- X);")
        print("poll a function that runs the command each time, not poll_until N test \"$(cmd)\" = X")
    return 0 if ok and hits == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
