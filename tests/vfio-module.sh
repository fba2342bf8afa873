#!/bin/sh
# vfio.module against real module indexes: depmod builds them over tiny modules made with the
# C compiler, inside a copy of a recorded machine, and libkmod reads them as it would
# /lib/modules on a live host.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
depmod=$(command -v depmod || echo /sbin/depmod)
[ -x "$depmod" ] || { echo "SKIP: depmod (Debian package kmod) is needed"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "SKIP: a C compiler is needed to make test modules"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
kver=6.1.0-56-amd64
bad() { echo "FAIL: $*"; fail=1; }

# module NAME: an object file with the .modinfo section depmod reads.
module() {
	printf 'const char n[] __attribute__((section(".modinfo"), used)) = "name=%s";\n' "$1" >"$tmp/m.c"
	"$cc" -c "$tmp/m.c" -o "$tmp/m.o" || exit 99
}

machine() { # fresh copy in $tmp/m with an empty module tree
	rm -rf "$tmp/m"
	cp -R "$top_srcdir/tests/fixtures/x570-two-nvidia/root" "$tmp/m"
	chmod -R u+w "$tmp/m"
	mods="$tmp/m/lib/modules/$kver"
	mkdir -p "$mods/kernel/drivers/vfio/pci" "$mods/kernel/drivers/usb"
	module usbcore
	cp "$tmp/m.o" "$mods/kernel/drivers/usb/usbcore.ko"
}

with_vfio() {
	module vfio_pci
	cp "$tmp/m.o" "$mods/kernel/drivers/vfio/pci/vfio-pci.ko"
}

index() { "$depmod" -b "$tmp/m" "$kver" 2>/dev/null || bad "depmod failed"; }

check() { # label, expected status, expected text in the message or fix, expected exit
	"$GPUPV" precheck --root "$tmp/m" --json >"$tmp/out" 2>"$tmp/err"
	rc=$?
	line=$(tr -d '\n' <"$tmp/out" | sed 's/.*"id": "vfio.module", *"status": "\([a-z]*\)", *"message": "\([^"]*\)", *"fix": \(null\|"[^"]*"\).*/\1|\2|\3/')
	case $line in
	"$2|"*"$3"*) ;;
	*) bad "$1: expected $2 with '$3', got: $line"; cat "$tmp/err" ;;
	esac
	[ "$rc" = "$4" ] || bad "$1: exit $rc, expected $4"
}

machine
with_vfio
index
check "module" pass "available as a module (kernel/drivers/vfio/pci/vfio-pci.ko)" 0

printf 'vfio_pci 61440 0 - Live 0x0000000000000000\n' >>"$tmp/m/proc/modules"
check "loaded" pass "vfio_pci is loaded" 0

machine
with_vfio
mkdir -p "$tmp/m/etc/modprobe.d"
printf '# keep the GPU on the host\nblacklist vfio-pci\n' >"$tmp/m/etc/modprobe.d/no-vfio.conf"
index
check "blacklisted" fail "/etc/modprobe.d/no-vfio.conf" 4
grep -q "remove the 'blacklist vfio_pci' line from /etc/modprobe.d/no-vfio.conf" "$tmp/out" ||
	bad "blacklisted: the fix does not name the file"

machine
echo "kernel/drivers/vfio/pci/vfio-pci.ko" >"$mods/modules.builtin"
index
check "built in" pass "built into kernel $kver" 0

machine
index
check "missing" fail "has no vfio-pci module" 4

[ $fail = 0 ] && echo "vfio.module: module, loaded, blacklisted, built in, missing"
exit $fail
