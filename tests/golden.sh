#!/bin/sh
# Golden tests: the real gpupv binary over every recorded machine in tests/fixtures, its
# output compared with tests/expected/. GPUPV_UPDATE_GOLDEN=1 rewrites the expected files.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0

compare() { # name file
	want="$top_srcdir/tests/expected/$1"
	if [ "${GPUPV_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$2" "$want"
	elif ! diff -u "$want" "$2"; then
		echo "FAIL: $1 differs from tests/expected/$1"
		fail=1
	fi
}

for fx in "$top_srcdir"/tests/fixtures/*/; do
	name=$(basename "$fx")
	root="$fx/root"
	[ -d "$root" ] || continue
	n=$((n + 1))
	"$GPUPV" precheck --root "$root" --json >"$tmp/json" 2>"$tmp/err"
	echo "exit $?" >>"$tmp/json"
	compare "$name.precheck.json" "$tmp/json"
	"$GPUPV" precheck --root "$root" --no-color >"$tmp/txt" 2>>"$tmp/err"
	echo "exit $?" >>"$tmp/txt"
	compare "$name.precheck.txt" "$tmp/txt"
	"$GPUPV" list --root "$root" >"$tmp/list" 2>>"$tmp/err"
	echo "exit $?" >>"$tmp/list"
	"$GPUPV" list --root "$root" --json >>"$tmp/list" 2>>"$tmp/err"
	compare "$name.list.txt" "$tmp/list"
	if [ -s "$tmp/err" ]; then
		echo "FAIL: $name: gpupv wrote to stderr:"
		cat "$tmp/err"
		fail=1
	fi
done
[ "$n" -gt 0 ] || { echo "no fixtures found under $top_srcdir/tests/fixtures"; exit 99; }
echo "$n fixtures compared"
exit $fail
