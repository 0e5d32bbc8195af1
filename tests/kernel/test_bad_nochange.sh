#!/usr/bin/env bash
# Every bad topology of the corpus (tests/bad/*.yaml) is refused by
# `netlabctl apply` in host1 (exit non-zero, status "rejected") and changes
# nothing there (dump before = after).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"
lab_require
lab_require_netlabctl

shopt -s nullglob
cases=("$NETLAB_SOURCE_DIR"/tests/bad/*.yaml)
[ "${#cases[@]}" -gt 0 ] || skip "the bad-input corpus tests/bad/*.yaml is empty"

dir=$(lab_tmp)
lab_up
ns_dump "$NS_HOST1" >"$dir/before"
bad=0 applied=0
rows=()
for f in "${cases[@]}"; do
    name=$(basename "$f")
    # A case whose "# expect:" lines name only warnings is a valid file by
    # design (the corpus keeps warnings beside errors): nothing to refuse.
    if ! grep -Eq '^# expect:.* error:' "$f"; then
        rows+=("$(printf '%-40s | %-4s | %-10s | %-9s | %s' "$name" - - - "not applied: expects only warnings")")
        continue
    fi
    applied=$((applied + 1))
    nl_apply "$NS_HOST1" "$f" "$dir/$name.json"
    ns_dump "$NS_HOST1" >"$dir/after"
    same=yes
    if ! diff -u --label before --label "after $name" "$dir/before" "$dir/after"; then
        same=no
        # Start the next case from the original state again.
        lab_destroy; lab_up; ns_dump "$NS_HOST1" >"$dir/before"
    fi
    verdict=ok
    # "rejected" (not just any failure) so that a netlabctl that cannot apply
    # anything does not pass this test.
    if [ "$APPLY_RC" -ne 1 ] || [ "$APPLY_STATUS" != rejected ] || [ "$same" = no ]; then
        verdict=FAIL bad=$((bad + 1))
        show_apply "$dir/$name.json"
    fi
    rows+=("$(printf '%-40s | %-4s | %-10s | %-9s | %s' "$name" "$APPLY_RC" "$APPLY_STATUS" "$same" "$verdict")")
done

heading "bad corpus applied in host1"
printf '%-40s | %-4s | %-10s | %-9s | %s\n' file exit status unchanged verdict
printf '%s\n' "${rows[@]}"
[ "$bad" -eq 0 ] || fail "$bad of $applied bad topologies were accepted or changed host1"
note "PASS: all $applied bad topologies refused (status rejected), host1 unchanged; $((${#cases[@]} - applied)) warning-only cases not applied"
