#!/bin/sh
# gpupv precheck on a real kernel: tests/vm/run-guest boots the distribution kernel under QEMU
# with an emulated Intel, then AMD, IOMMU; the guest runs gpupv precheck and gpupv list
# (tests/vm/guest-precheck.sh) and tests/vm/check-precheck.py holds the JSON to what the
# guest's kernel said. Skipped, with the reason, without QEMU, a kernel or busybox-static.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${GPUPV:=$top_srcdir/gpupv/gpupv}"
vm=$top_srcdir/tests/vm
py=${PYTHON3:-python3}
"$vm/run-guest" --check || exit 77
command -v "$py" >/dev/null 2>&1 || { echo "SKIP: python3 is needed to check the guest's output"; exit 77; }
[ -x "$GPUPV" ] || { echo "gpupv binary $GPUPV is missing"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpupv-vm-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
for model in intel amd; do
	echo "==== $model IOMMU"
	t0=$(date +%s)
	"$vm/run-guest" --iommu "$model" "$GPUPV" "$vm/guest-precheck.sh" "$tmp/$model"
	rc=$?
	t=$(($(date +%s) - t0))
	echo "==== $model IOMMU: guest exit $rc after $t s"
	if [ $rc != 0 ]; then
		echo "FAIL: $model: the guest did not run the test (exit $rc)"
		fail=1
		continue
	fi
	"$py" "$vm/check-precheck.py" "$model" "$tmp/$model" || fail=1
	[ $t -lt 120 ] || echo "warning: $model: $t s, more than the 2 minutes it takes on a 2-core TCG host"
done
exit $fail
