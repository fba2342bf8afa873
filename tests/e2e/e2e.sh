#!/bin/sh
# The end-to-end test: from 'gpupv precheck' to a running VM whose guest uses the GPU passed
# through to it, and back, on an emulated host with a real IOMMU, real vfio-pci and a real
# libvirtd, with no GPU and no KVM on this machine.
#
#   tests/e2e/e2e.sh intel|amd
#
# tests/vm/run-guest --rootfs host boots "L1" (QEMU TCG, q35, the emulated Intel or AMD IOMMU,
# -cpu max so that it has AMD SVM and KVM, the VGA 01:00.0 + ich9-intel-hda 01:00.1 slot) on
# this machine's own root file system, shared read-only; in it tests/e2e/guest-e2e.sh starts
# virtlogd and libvirtd and runs the steps (precheck, deploy, the L2 guest's result, undeploy),
# each named with its time in this test's log. The "L2" guest, a KVM guest of L1, boots this
# machine's kernel with a busybox initramfs whose /init (tests/e2e/l2-init) checks the devices
# it was given, reads the VGA's bochs ID register and writes and reads back its video memory.
#
# Skipped (exit 77), with the reason, without QEMU, a kernel image, busybox-static, libvirt's
# daemons or python3, or when not run as root (L1 reads this machine's files through QEMU,
# with this user's rights, and libvirt's are root's).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${GPUPV:=$top_srcdir/gpupv/gpupv}"
model=${1:-intel}
here=$top_srcdir/tests/e2e
vm=$top_srcdir/tests/vm
check=$("$vm/run-guest" --check) || { echo "$check"; exit 77; }
kver=$(echo "$check" | sed -n 's/^ok: kernel \([^,]*\),.*/\1/p')
for p in libvirtd virtlogd virsh python3; do
	command -v "$p" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null 2>&1 ||
		{ echo "SKIP: $p is not installed (Debian packages libvirt-daemon-system, libvirt-clients, python3)"; exit 77; }
done
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"virtio-9p-pci"' ||
	{ echo "SKIP: this QEMU cannot share a folder (no virtio-9p-pci)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root: L1 reads this machine's root file system through QEMU with this user's rights"; exit 77; }
[ -x "$GPUPV" ] || { echo "gpupv binary $GPUPV is missing"; exit 99; }
busybox=${BUSYBOX:-$(command -v busybox)}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpupv-e2e.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
t0=$(date +%s)

# The L2 guest: this machine's kernel and a busybox initramfs.
l2=$tmp/l2
mkdir -p "$l2/root/bin" "$l2/root/proc" "$l2/root/sys" "$l2/root/dev" &&
	cp "$busybox" "$l2/root/bin/busybox" &&
	for a in sh mount echo cat sed cut devmem poweroff printf; do
		ln -s busybox "$l2/root/bin/$a" || exit 1
	done &&
	cp "$here/l2-init" "$l2/root/init" && chmod 755 "$l2/root/init" &&
	(cd "$l2/root" && find . | cpio -o -H newc --quiet) >"$l2/initrd" &&
	cp "/boot/vmlinuz-$kver" "$l2/kernel" && chmod 644 "$l2/initrd" "$l2/kernel" ||
	{ echo "cannot make the L2 guest's kernel and initramfs in $l2"; exit 99; }

echo "==== $model IOMMU: L1 boots (kernel $kver)"
# --keep: the PVH vmlinux that run-guest extracts for L1 (DIR/vmlinux) is L2's kernel too.
"$vm/run-guest" --rootfs host --iommu "$model" --cpus 1 --memory 2048 --timeout 280 \
	--keep "$tmp/l1" --env "E2E_VMLINUX=$tmp/l1/vmlinux" \
	--env "E2E_KERNEL=$l2/kernel" --env "E2E_INITRD=$l2/initrd" \
	--env "E2E_TEMPLATE=$top_srcdir/templates/linux.xml" \
	"$GPUPV" "$here/guest-e2e.sh" "$tmp/out"
rc=$?
t=$(($(date +%s) - t0))
echo "==== $model IOMMU: L1 exit $rc after $t s"
[ -r "$tmp/out/steps.txt" ] && sed 's/^/steps: /' "$tmp/out/steps.txt"
if [ $rc != 0 ]; then
	echo "FAIL: $model: $([ $rc = 125 ] && echo "L1 did not run the test" || echo "$rc steps failed")"
	exit 1
fi
for s in setup precheck gpupv-deploy gpupv-l2 gpupv-undeploy deploy-fail; do
	grep -q "^$s ok " "$tmp/out/steps.txt" || { echo "FAIL: $model: step $s did not pass"; exit 1; }
done
echo "PASS: $model: precheck, gpupv deploy of the VGA and its audio, the L2 guest's checks of both, gpupv undeploy, a failure at each deploy step undone, in $t s"
