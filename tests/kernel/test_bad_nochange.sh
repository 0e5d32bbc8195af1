#!/usr/bin/env bash
# Every bad topology of the corpus (tests/bad/*.yaml) is refused by
# `netlabctl apply` in host1 and changes nothing there (dump before = after).
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
bad=0
rows=()
for f in "${cases[@]}"; do
    name=$(basename "$f")
    nl_apply "$NS_HOST1" "$f" "$dir/$name.json"
    ns_dump "$NS_HOST1" >"$dir/after"
    same=yes
    if ! diff -u --label before --label "after $name" "$dir/before" "$dir/after"; then
        same=no
        # Start the next case from the original state again.
        lab_destroy; lab_up; ns_dump "$NS_HOST1" >"$dir/before"
    fi
    verdict=ok
    if [ "$APPLY_RC" -eq 0 ] || [ "$same" = no ]; then
        verdict=FAIL bad=$((bad + 1))
        show_apply "$dir/$name.json"
    fi
    rows+=("$(printf '%-40s | %-4s | %-10s | %-9s | %s' "$name" "$APPLY_RC" "$APPLY_STATUS" "$same" "$verdict")")
done

heading "bad corpus applied in host1"
printf '%-40s | %-4s | %-10s | %-9s | %s\n' file exit status unchanged verdict
printf '%s\n' "${rows[@]}"
[ "$bad" -eq 0 ] || fail "$bad of ${#cases[@]} bad topologies were accepted or changed host1"
note "PASS: all ${#cases[@]} bad topologies refused, host1 unchanged"
