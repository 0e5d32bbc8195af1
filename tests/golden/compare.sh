# golden_compare NAME JSON_FILE [TEXT=PLACEHOLDER...]: normalizes JSON_FILE
# (tests/golden/normalize.py) and compares it with tests/golden/NAME.json;
# prints the diff and returns 1 when they differ. NETLAB_GOLDEN_UPDATE=1
# writes the golden file instead (then review the diff and commit it).
golden_compare() {
    local name=$1 file=$2; shift 2
    local src=${NETLAB_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    local golden="$src/tests/golden/$name.json" got
    got=$(python3 "$src/tests/golden/normalize.py" "$file" "$@") || { echo "golden $name: $file is not JSON"; cat "$file"; return 1; }
    if [ "${NETLAB_GOLDEN_UPDATE:-0}" = 1 ]; then
        printf '%s\n' "$got" >"$golden"
        echo "golden $name: wrote $golden"
        return 0
    fi
    if ! diff -u --label "$golden" --label "$name (this run)" "$golden" - <<<"$got"; then
        echo "golden $name: the JSON changed (diff above); if on purpose, rerun with NETLAB_GOLDEN_UPDATE=1 and update docs/json.md"
        return 1
    fi
    echo "ok: golden $name: $(wc -l <"$golden") lines match"
}
