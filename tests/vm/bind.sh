#!/bin/sh
# gpupv bind, unbind and status on a real kernel: tests/vm/run-guest boots the distribution
# kernel under QEMU with an emulated Intel, then AMD, IOMMU; in the guest
# (tests/vm/guest-bind.sh) gpupv binds the VGA 01:00.0, whose ich9-intel-hda 01:00.1 must
# follow it onto vfio-pci, checks the group through VFIO (also while a process holds it open,
# as a VM would), binds a second GPU next to it, unbinds, and then fails on purpose: failures injected at the steps of the plan
# (GPUPV_TEST_FAIL_STEP), a wait for /dev/vfio/GROUP that times out, a kill -9 during that wait
# followed by 'gpupv unbind --recover', a failed unbind finished by --recover, and a refused
# bind (a process holds the GPU's DRM node). tests/vm/check-bind.py judges the result.
# Skipped, with the reason, without QEMU, a kernel or busybox-static.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${GPUPV:=$top_srcdir/gpupv/gpupv}"
vm=$top_srcdir/tests/vm
py=${PYTHON3:-python3}
"$vm/run-guest" --check || exit 77
command -v "$py" >/dev/null 2>&1 || { echo "SKIP: python3 is needed to check the guest's output"; exit 77; }
[ -x "$GPUPV" ] || { echo "gpupv binary $GPUPV is missing"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpupv-vm-bind.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
for model in intel amd; do
	echo "==== $model IOMMU"
	t0=$(date +%s)
	"$vm/run-guest" --iommu "$model" --timeout 240 "$GPUPV" "$vm/guest-bind.sh" "$tmp/$model"
	rc=$?
	t=$(($(date +%s) - t0))
	echo "==== $model IOMMU: guest exit $rc after $t s"
	if [ $rc != 0 ]; then
		echo "FAIL: $model: the guest did not run the test (exit $rc)"
		fail=1
		continue
	fi
	"$py" "$vm/check-bind.py" "$model" "$tmp/$model" || fail=1
	[ $t -lt 120 ] || echo "warning: $model: $t s, more than the 90 s it takes on a 2-core TCG host"
done
exit $fail
