#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv deploy and undeploy against a real libvirt daemon that this test starts itself: Debian's
# libvirtd as a session daemon of the user 'nobody', with its socket, configuration, disks and
# logs in a temporary folder, stopping by itself when idle (--timeout). Its QEMU runs the domain
# under TCG, so no KVM is needed.
#   1. deploy the linux template with --gpu none: the domain runs, its volume exists; undeploy:
#      nothing is left;
#   2. --import of a qcow2 and a raw image: the domain uses each where it is, as what it is;
#      undeploy leaves them, their bytes unchanged; --import with --disk, or of a missing image,
#      defines nothing;
#   3. direct kernel boot without a disk or a pool: the kernel, initrd and command line in the
#      domain libvirt keeps, the host's kernel booting with its console in the --serial-log file;
#   4. deploy with a whole GPU as a hostdev, on a host where libvirt cannot give it one (no
#      VFIO, no privileges): libvirt refuses the start, and gpupv leaves no domain and no volume
#      behind.
# Skipped (77) with the reason when libvirtd, QEMU, OVMF or root (to become 'nobody') is missing.
set -u

: "${GPUPV:=gpupv/gpupv}"
: "${top_srcdir:=.}"
skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	[ -s "${log:-/dev/null}" ] && tail -20 "$log"
	exit 1
}

command -v libvirtd >/dev/null || skip "no libvirtd (Debian package libvirt-daemon)"
command -v virsh >/dev/null || skip "no virsh (Debian package libvirt-clients)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (Debian package qemu-system-x86)"
ls /usr/share/OVMF/OVMF_CODE*.fd >/dev/null 2>&1 || skip "no UEFI firmware (Debian package ovmf)"
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
	skip "no QEMU driver for libvirtd (Debian package libvirt-daemon-driver-qemu)"
[ "$(id -u)" = 0 ] || skip "needs root, to start libvirtd as the user nobody"
command -v setpriv >/dev/null || skip "no setpriv (Debian package util-linux)"
command -v python3 >/dev/null || skip "no python3, to read the domain XML back"

tmp=$(mktemp -d /tmp/gpupv-daemon.XXXXXX) || exit 1
chmod 755 "$tmp"
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	# The daemon's QEMU, if a failure left one: it runs as nobody, from this folder.
	pkill -u nobody -f "qemu-system-x86_64.*$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/run" "$tmp/pool" "$tmp/home"
chown -R nobody:nogroup "$tmp/run" "$tmp/pool" "$tmp/home"
log=$tmp/libvirtd.log
setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/home/.config" \
	XDG_CACHE_HOME="$tmp/home/.cache" libvirtd --timeout 120 >"$log" 2>&1 &
daemon_pid=$!
sock=$tmp/run/libvirt/libvirt-sock
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
[ -S "$sock" ] || fail "libvirtd did not create its socket"
uri="qemu+unix:///session?socket=$sock"
v() { virsh -q -c "$uri" "$@"; }
v pool-define-as default dir --target "$tmp/pool" >/dev/null && v pool-start default >/dev/null ||
	fail "cannot make the storage pool"

n=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

# 1. --gpu none: deployed and running, then removed.
out=$("$GPUPV" deploy demo1 --template linux --gpu none --memory 256M --cpus 1 --disk 1G \
	--network none --connect "$uri" 2>&1) || fail "deploy demo1: $out"
[ "$(v domstate demo1)" = running ] || fail "demo1 is not running: $(v domstate demo1 2>&1)"
v vol-info --pool default demo1.qcow2 >/dev/null 2>&1 || fail "no volume demo1.qcow2"
v dumpxml demo1 | grep -q "<domain type='qemu'" || fail "demo1 is not a TCG domain"
ok "deploy --gpu none: demo1 runs under TCG with its volume"
out=$("$GPUPV" undeploy demo1 --connect "$uri" 2>&1) || fail "undeploy demo1: $out"
! v dominfo demo1 >/dev/null 2>&1 || fail "demo1 still exists"
! v vol-info --pool default demo1.qcow2 >/dev/null 2>&1 || fail "demo1.qcow2 still exists"
ok "undeploy: no domain and no volume left"

# The domain's persistent XML as libvirt keeps it: the text of an element, or an attribute
# (xpath ending in /@name), one line per match.
xq() { # DOMAIN XPATH
	v dumpxml --inactive "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
root, path = ET.fromstring(sys.stdin.read()), sys.argv[1]
attr = None
if "/@" in path:
	path, attr = path.rsplit("/@", 1)
for e in root.findall(path):
	print(e.get(attr, "") if attr else (e.text or ""))' "$2"
}
digest() { sha256sum <"$1" | cut -d" " -f1; }

# 2. --import: the person's images where they are, read as what they are, and left to them.
# Given by a relative path (the domain gets the absolute one); owned by nobody, who runs QEMU.
mkdir -p "$tmp/images"
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 "$tmp/images/sys.qcow2" 64M || fail "qemu-img create"
else
	echo "# no qemu-img (Debian package qemu-utils): a qcow2 header by hand"
	printf 'QFI\373\0\0\0\3' >"$tmp/images/sys.qcow2" && truncate -s 1M "$tmp/images/sys.qcow2"
fi
head -c 4M /dev/urandom >"$tmp/images/sys.img"
chown -R nobody:nogroup "$tmp/images"
qsum=$(digest "$tmp/images/sys.qcow2") rsum=$(digest "$tmp/images/sys.img")
out=$(cd "$tmp" && "$GPUPV" deploy imp1 --template linux --import images/sys.qcow2 --memory 256M \
	--cpus 1 --network none --connect "$uri" 2>&1) || fail "deploy --import qcow2: $out"
[ "$(v domstate imp1)" = running ] || fail "imp1 is not running: $(v domstate imp1 2>&1)"
[ "$(xq imp1 "devices/disk[@device='disk']/source/@file")" = "$tmp/images/sys.qcow2" ] &&
	[ "$(xq imp1 "devices/disk[@device='disk']/@type")" = file ] &&
	[ "$(xq imp1 "devices/disk[@device='disk']/driver/@type")" = qcow2 ] ||
	fail "imp1's disk as libvirt has it: $(v dumpxml imp1 | grep -A4 "device='disk'")"
! v vol-info --pool default imp1.qcow2 >/dev/null 2>&1 || fail "--import made a volume"
ok "deploy --import qcow2: running from the image where it is, by its absolute path, as qcow2"
out=$("$GPUPV" undeploy imp1 --connect "$uri" 2>&1) || fail "undeploy imp1: $out"
! v dominfo imp1 >/dev/null 2>&1 || fail "imp1 still exists"
[ -f "$tmp/images/sys.qcow2" ] && [ "$(digest "$tmp/images/sys.qcow2")" = "$qsum" ] ||
	fail "undeploy removed or changed the imported qcow2 image"
ok "undeploy of an --import domain: the qcow2 image stays, its bytes unchanged"

out=$("$GPUPV" deploy imp2 --template linux --import "$tmp/images/sys.img" --memory 256M \
	--cpus 1 --network none --no-start --connect "$uri" 2>&1) || fail "deploy --import raw: $out"
[ "$(xq imp2 "devices/disk[@device='disk']/source/@file")" = "$tmp/images/sys.img" ] &&
	[ "$(xq imp2 "devices/disk[@device='disk']/driver/@type")" = raw ] ||
	fail "imp2's disk: $(v dumpxml imp2 | grep -A4 "device='disk'")"
out=$("$GPUPV" undeploy imp2 --connect "$uri" 2>&1) || fail "undeploy imp2: $out"
! v dominfo imp2 >/dev/null 2>&1 && [ "$(digest "$tmp/images/sys.img")" = "$rsum" ] ||
	fail "undeploy imp2: the domain stays, or the raw image went or changed"
ok "deploy --import raw: read as raw; undeploy leaves the image, bytes unchanged"

# An image in the pool's own folder is no volume of gpupv's either: undeploy keeps it.
cp "$tmp/images/sys.img" "$tmp/pool/mine.img" && chown nobody:nogroup "$tmp/pool/mine.img"
v pool-refresh default >/dev/null
out=$("$GPUPV" deploy imp3 --template linux --import "$tmp/pool/mine.img" --memory 256M --cpus 1 \
	--network none --no-start --connect "$uri" 2>&1) || fail "deploy --import from the pool: $out"
out=$("$GPUPV" undeploy imp3 --connect "$uri" 2>&1) || fail "undeploy imp3: $out"
[ "$(digest "$tmp/pool/mine.img")" = "$rsum" ] && v vol-info --pool default mine.img >/dev/null 2>&1 ||
	fail "undeploy removed an imported image that lies in the pool"
ok "an imported image in the pool's folder: undeploy leaves it"

# --replace of a domain gpupv made, from its own volume: the volume is the disk now, and stays.
out=$("$GPUPV" deploy rp1 --template linux --memory 256M --cpus 1 --disk 64M --network none \
	--no-start --connect "$uri" 2>&1) || fail "deploy rp1: $out"
vsum=$(digest "$tmp/pool/rp1.qcow2")
out=$("$GPUPV" deploy rp1 --template linux --memory 256M --cpus 1 --network none --no-start \
	--replace --import "$tmp/pool/rp1.qcow2" --connect "$uri" 2>&1) ||
	fail "deploy rp1 --replace --import: $out"
echo "$out" | grep -q "but its volume: the image --import boots" &&
	[ "$(xq rp1 "devices/disk[@device='disk']/source/@file")" = "$tmp/pool/rp1.qcow2" ] &&
	[ "$(digest "$tmp/pool/rp1.qcow2")" = "$vsum" ] || fail "--replace --import of rp1: $out"
out=$("$GPUPV" undeploy rp1 --connect "$uri" 2>&1) || fail "undeploy rp1: $out"
[ "$(digest "$tmp/pool/rp1.qcow2")" = "$vsum" ] || fail "undeploy rp1 removed its imported volume"
ok "--replace --import of a domain's own volume: kept by the replace and by undeploy"

out=$("$GPUPV" deploy imp4 --template linux --import "$tmp/images/sys.qcow2" --disk 1G \
	--connect "$uri" 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q -- "--import IMAGE and --disk SIZE" &&
	! v dominfo imp4 >/dev/null 2>&1 ||
	fail "--import with --disk: exit $rc, $out"
out=$("$GPUPV" deploy imp4 --template linux --import "$tmp/images/gone.qcow2" --connect "$uri" 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "images/gone.qcow2': No such file" &&
	! v dominfo imp4 >/dev/null 2>&1 ||
	fail "--import of a missing image: exit $rc, $out"
ok "--import with --disk, or of a missing image: refused, nothing defined"

# 3. Direct kernel boot, with no disk and no pool (--pool names none), the serial console
# logged to a file that outlives the domain. The host's own kernel boots, when it has one we
# can read; a file that is no kernel is defined but not started otherwise.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
[ -r "$kernel" ] || kernel=
mkdir -p "$tmp/boot" "$tmp/logs"
printf 'not an initramfs\n' >"$tmp/boot/initrd.img"
nostart=
[ -n "$kernel" ] || { printf 'not a kernel\n' >"$tmp/boot/vmlinuz" && nostart=--no-start; }
chown -R nobody:nogroup "$tmp/logs"
out=$(cd "$tmp/boot" && "$GPUPV" deploy kb1 --template linux --memory 256M --cpus 1 \
	--network none --pool nosuchpool --boot-kernel "${kernel:-vmlinuz}" \
	--boot-initrd initrd.img --boot-cmdline 'console=ttyS0 panic=-1 gpupv_test=1' \
	--serial-log ../logs/kb1.log $nostart --connect "$uri" 2>&1) ||
	fail "deploy --boot-kernel: $out"
[ "$(xq kb1 os/kernel)" = "${kernel:-$tmp/boot/vmlinuz}" ] &&
	[ "$(xq kb1 os/initrd)" = "$tmp/boot/initrd.img" ] &&
	[ "$(xq kb1 os/cmdline)" = "console=ttyS0 panic=-1 gpupv_test=1" ] &&
	[ "$(xq kb1 devices/serial/log/@file)" = "$tmp/logs/kb1.log" ] &&
	[ -z "$(xq kb1 "devices/disk[@device='disk']/@type")" ] ||
	fail "kb1's <os> and serial as libvirt has them: $(v dumpxml --inactive kb1)"
ok "deploy --boot-kernel/--boot-initrd/--boot-cmdline/--serial-log: in the domain libvirt keeps; no disk, no pool"
if [ -n "$kernel" ]; then
	[ "$(v domstate kb1)" = running ] || fail "kb1 is not running: $(v domstate kb1 2>&1)"
	for _ in $(seq 300); do
		grep -q "Linux version" "$tmp/logs/kb1.log" 2>/dev/null &&
			grep -q "gpupv_test=1" "$tmp/logs/kb1.log" && break
		sleep 0.5
	done
	grep -q "Linux version" "$tmp/logs/kb1.log" 2>/dev/null &&
		grep -q "gpupv_test=1" "$tmp/logs/kb1.log" ||
		fail "the kernel's console is not in the serial log: $(tail -5 "$tmp/logs/kb1.log" 2>&1)"
	ok "the kernel booted directly, its console (with our command line) in the serial log"
fi
out=$("$GPUPV" undeploy kb1 --connect "$uri" 2>&1) || fail "undeploy kb1: $out"
! v dominfo kb1 >/dev/null 2>&1 || fail "kb1 still exists"
[ -e "$tmp/boot/initrd.img" ] || fail "undeploy removed the initrd"
[ -z "$kernel" ] || [ -s "$tmp/logs/kb1.log" ] || fail "undeploy removed the serial log"
ok "undeploy of a kernel-boot domain: gone; its kernel, initrd and serial log stay"
out=$("$GPUPV" deploy kb2 --template linux --boot-initrd "$tmp/boot/initrd.img" --connect "$uri" 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q -- "--boot-initrd needs --boot-kernel" &&
	! v dominfo kb2 >/dev/null 2>&1 || fail "--boot-initrd without --boot-kernel: exit $rc, $out"
ok "--boot-initrd without --boot-kernel: refused, nothing defined"

# 4. A whole GPU this host cannot give: the fixture's GTX 1080 Ti, which the recording shows
# on vfio-pci already (so nothing is bound here). libvirt refuses to start the domain.
root=$tmp/root
cp -R "$top_srcdir/tests/fixtures/x570-two-nvidia/root" "$root" && chmod -R u+w "$root"
out=$("$GPUPV" --root "$root" deploy demo2 --template linux --gpu 0000:0b:00.0 --memory 256M \
	--cpus 1 --disk 1G --network none --connect "$uri" 2>&1) && fail "demo2 was deployed: $out"
echo "$out" | grep -q "start" || fail "the failure is not the start: $out"
! v dominfo demo2 >/dev/null 2>&1 || fail "demo2 was left defined: $out"
! v vol-info --pool default demo2.qcow2 >/dev/null 2>&1 || fail "demo2.qcow2 was left: $out"
echo "$out" | grep -q "checked: no domain 'demo2'" || fail "gpupv did not check the rollback: $out"
ok "deploy with a GPU libvirt cannot give: refused at start, nothing left"
echo "1..$n"
