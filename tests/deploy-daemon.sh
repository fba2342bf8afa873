#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv deploy and undeploy against a real libvirt daemon that this test starts itself: Debian's
# libvirtd as a session daemon of the user 'nobody', with its socket, configuration, disks and
# logs in a temporary folder, stopping by itself when idle (--timeout). Its QEMU runs the domain
# under TCG, so no KVM is needed.
#   1. deploy the linux template with --gpu none: the domain runs, its volume exists; undeploy:
#      nothing is left;
#   2. deploy with a whole GPU as a hostdev, on a host where libvirt cannot give it one (no
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

# 2. A whole GPU this host cannot give: the fixture's GTX 1080 Ti, which the recording shows
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
