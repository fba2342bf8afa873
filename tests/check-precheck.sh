#!/bin/sh
# Holds gpupv to each fixture's EXPECTED.json (tests/check-precheck.py, shared with the fixtures),
# and to the shared real-machine fixtures when they sit beside the source tree.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "SKIP: python3 is needed to run check-precheck"; exit 77; }
set --
for fx in "$top_srcdir"/tests/fixtures/*/; do
	[ -f "$fx/EXPECTED.json" ] && set -- "$@" "$fx"
done
for fx in "$top_srcdir"/../shared/fixtures/real/*/; do
	[ -f "$fx/EXPECTED.json" ] && set -- "$@" "$fx"
done
[ $# -gt 0 ] || { echo "no fixture has an EXPECTED.json"; exit 99; }
"$py" "$top_srcdir/tests/check-precheck.py" "$GPUPV" "$@"
