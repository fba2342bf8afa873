#!/bin/sh
# Test of tests/capture-sysfs: build a small machine tree in a temporary folder, capture it
# with --root and check what the capture holds and what it must not hold.
# Exit status: 0 pass, 1 fail, 77 skip (with the reason on stdout).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${srcdir:-$here/..}
capture=$srcdir/tests/capture-sysfs

skip() {
	echo "SKIP: $*"
	exit 77
}

[ -f "$capture" ] || skip "no capture script at $capture"
for tool in od dd readlink mktemp cmp find; do
	command -v "$tool" >/dev/null 2>&1 || skip "needs '$tool'"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capture-test.XXXXXX") || skip "cannot create a temporary folder"
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
ln -s target "$tmp/probe-link" 2>/dev/null || skip "cannot create symlinks in $tmp"
rm -f "$tmp/probe-link"

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() {
	echo "ok: $*"
}

# --- the source tree ------------------------------------------------------------------------

s=$tmp/src
kver=6.1.0-test
gpu=sys/devices/pci0000:00/0000:00:02.0
bridge=sys/devices/pci0000:00/0000:00:01.0
card=$bridge/0000:01:00.0

mkdir -p "$s/proc/sys/kernel" "$s/dev/vfio" "$s/sys/firmware/acpi/tables" \
	"$s/sys/kernel/iommu_groups/0/devices" "$s/sys/kernel/iommu_groups/1/devices" \
	"$s/sys/bus/pci/devices" "$s/sys/bus/pci/drivers/i915" "$s/sys/bus/pci/drivers/pcieport" \
	"$s/sys/bus/pci/drivers/nvidia" "$s/sys/class/iommu/dmar0" "$s/$gpu" "$s/$card" \
	"$s/$gpu/mdev_supported_types/i915-GVTg_V5_4" "$s/etc/modprobe.d" "$s/etc/default" \
	"$s/lib/modules/$kver/kernel/drivers/vfio/pci" "$s/proc/1"

cat >"$s/proc/cpuinfo" <<'EOF'
processor	: 0
vendor_id	: GenuineIntel
model name	: Test CPU
flags		: fpu vme vmx
Serial		: 0000000012345678

EOF
echo "quiet intel_iommu=on serial_number=SN12345 foo.serial=SN678 console=ttyS0 iommu=pt" \
	>"$s/proc/cmdline"
echo "$kver" >"$s/proc/sys/kernel/osrelease"
echo "i915 3145728 2 - Live 0x0000000000000000" >"$s/proc/modules"
echo "secret" >"$s/proc/1/environ"
: >"$s/dev/kvm"
: >"$s/dev/vfio/vfio"
printf 'DMAR table bytes' >"$s/sys/firmware/acpi/tables/DMAR"
printf 'DSDT table bytes' >"$s/sys/firmware/acpi/tables/DSDT"

# The iGPU: real symlinks, a serial attribute, an attribute off the allowlist, mdev types.
ln -s ../../../devices/pci0000:00/0000:00:02.0 "$s/sys/bus/pci/devices/0000:00:02.0"
ln -s ../../../devices/pci0000:00/0000:00:01.0 "$s/sys/bus/pci/devices/0000:00:01.0"
echo 0x8086 >"$s/$gpu/vendor"
echo 0x3e92 >"$s/$gpu/device"
echo 0x030000 >"$s/$gpu/class"
echo 1 >"$s/$gpu/boot_vga"
echo "flr bus" >"$s/$gpu/reset_method"
printf 'DRIVER=i915\nPCI_ID=8086:3E92\nID_SERIAL=GPU-0042\n' >"$s/$gpu/uevent"
echo "GPU-0042-SERIAL" >"$s/$gpu/serial"
echo "0x00000000fd000000 0x00000000fdffffff 0x0000000000040200" >"$s/$gpu/resource"
ln -s ../../../kernel/iommu_groups/0 "$s/$gpu/iommu_group"
ln -s ../../../bus/pci/drivers/i915 "$s/$gpu/driver"
ln -s ../../../../devices/pci0000:00/0000:00:02.0 \
	"$s/sys/kernel/iommu_groups/0/devices/0000:00:02.0"
ln -s ../../../../devices/pci0000:00/0000:00:02.0 "$s/sys/bus/pci/drivers/i915/0000:00:02.0"
: >"$s/sys/bus/pci/drivers/i915/bind"
echo DMA >"$s/sys/kernel/iommu_groups/0/type"
t=$s/$gpu/mdev_supported_types/i915-GVTg_V5_4
echo GVTg_V5_4 >"$t/name"
printf 'low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n' \
	>"$t/description"
echo 3 >"$t/available_instances"
echo vfio-pci >"$t/device_api"
: >"$t/create"

# The GPU's config space: 4096 bytes with a Device Serial Number capability at 0x100.
dd if=/dev/zero of="$s/$gpu/config" bs=4096 count=1 2>/dev/null
printf '\206\200\222\076' | dd of="$s/$gpu/config" bs=1 conv=notrunc 2>/dev/null
printf '\003\000\001\000\021\042\063\104\125\146\167\210' |
	dd of="$s/$gpu/config" bs=1 seek=256 conv=notrunc 2>/dev/null

# A card behind a bridge whose links are "recorded" (flattened to files holding the target
# text, as in the shared fixtures): the capture must turn them back into symlinks.
mkdir -p "$s/$bridge"
echo 0x8086 >"$s/$bridge/vendor"
echo 0x1901 >"$s/$bridge/device"
echo 0x060400 >"$s/$bridge/class"
printf '../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0' \
	>"$s/sys/bus/pci/devices/0000:01:00.0"
echo 0x10de >"$s/$card/vendor"
echo 0x2204 >"$s/$card/device"
echo 0x030000 >"$s/$card/class"
printf '../../../../kernel/iommu_groups/1' >"$s/$card/iommu_group"
printf '../../../../bus/pci/drivers/nvidia' >"$s/$card/driver"
ln -s ../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0 \
	"$s/sys/kernel/iommu_groups/1/devices/0000:01:00.0"
ln -s ../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0 \
	"$s/sys/bus/pci/drivers/nvidia/0000:01:00.0"

# /etc: an allowed conf file, a file off the allowlist.
echo "options vfio-pci ids=10de:2204" >"$s/etc/modprobe.d/vfio.conf"
echo "not a conf" >"$s/etc/modprobe.d/README"
printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_SERIAL_COMMAND="serial"\n' \
	>"$s/etc/default/grub"
echo "root:x:0:0" >"$s/etc/shadow"

# The module index, with a real-looking module file that must become an empty placeholder.
m=$s/lib/modules/$kver
echo "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/pci/vfio-pci-core.ko" \
	>"$m/modules.dep"
echo "kernel/drivers/vfio/pci/vfio-pci-core.ko:" >>"$m/modules.dep"
printf 'index' >"$m/modules.dep.bin"
printf 'ELF module bytes' >"$m/kernel/drivers/vfio/pci/vfio-pci.ko"
printf 'ELF module bytes' >"$m/kernel/drivers/vfio/pci/vfio-pci-core.ko"
printf 'ELF module bytes' >"$m/kernel/drivers/vfio/pci/other.ko"

# --- capture --------------------------------------------------------------------------------

o=$tmp/out
if ! sh "$capture" --root "$s" --with-modules --name testbox "$o" >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	fail "capture-sysfs exited with an error"
	exit 1
fi
r=$o/root

# A second run into the same folder refuses without --force, and works with it.
if sh "$capture" --root "$s" "$o" >/dev/null 2>&1; then
	fail "a second capture into $o did not refuse"
else
	ok "refuses to overwrite a capture"
fi
sh "$capture" --root "$s" --with-modules --name testbox --force "$o" >/dev/null 2>&1 ||
	fail "--force did not replace the capture"
# The destination may not lie inside the source.
if sh "$capture" --root "$s" "$s/sys/out" >/dev/null 2>&1 || [ -e "$s/sys/out" ]; then
	fail "capture into the source tree was not refused"
else
	ok "refuses to write inside the source"
fi

# --- assertions -----------------------------------------------------------------------------

same() { # REL: copied with the same content
	if [ -f "$r/$1" ] && [ ! -L "$r/$1" ] && cmp -s "$s/$1" "$r/$1"; then
		ok "$1 copied"
	else
		fail "$1 not copied as it is"
	fi
}
absent() { # REL: not in the capture
	if [ -e "$r/$1" ] || [ -L "$r/$1" ]; then fail "$1 must not be copied"; else ok "$1 left out"; fi
}
empty() { # REL: an empty regular file
	if [ -f "$r/$1" ] && [ ! -L "$r/$1" ] && [ ! -s "$r/$1" ]; then
		ok "$1 recorded as an empty file"
	else
		fail "$1 is not an empty placeholder"
	fi
}
islink() { # REL TARGET: a real symlink with this target text
	if [ -L "$r/$1" ] && [ "$(readlink "$r/$1")" = "$2" ]; then
		ok "$1 -> $2"
	else
		fail "$1 is not a symlink to $2 ($(readlink "$r/$1" 2>/dev/null || echo none))"
	fi
}
has() { # REL PATTERN
	if grep -q -- "$2" "$r/$1" 2>/dev/null; then ok "$1 holds '$2'"; else fail "$1 lacks '$2'"; fi
}
lacks() { # REL PATTERN
	if grep -q -- "$2" "$r/$1" 2>/dev/null; then
		fail "$1 still holds '$2'"
	else
		ok "$1 has no '$2'"
	fi
}

# /proc
has proc/cpuinfo "vmx"
lacks proc/cpuinfo "Serial"
lacks proc/cpuinfo "12345678"
has proc/cmdline "intel_iommu=on"
has proc/cmdline "iommu=pt"
lacks proc/cmdline "SN12345"
lacks proc/cmdline "SN678"
has proc/cmdline "console=ttyS0"
same proc/sys/kernel/osrelease
same proc/modules
absent proc/1

# /dev and ACPI: existence only
empty dev/kvm
empty dev/vfio/vfio
empty sys/firmware/acpi/tables/DMAR
absent sys/firmware/acpi/tables/DSDT
[ -d "$r/sys/class/iommu/dmar0" ] && ok "sys/class/iommu/dmar0 recorded" ||
	fail "sys/class/iommu/dmar0 missing"

# PCI devices, groups and drivers
islink sys/bus/pci/devices/0000:00:02.0 ../../../devices/pci0000:00/0000:00:02.0
islink sys/bus/pci/devices/0000:01:00.0 ../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0
islink sys/kernel/iommu_groups/0/devices/0000:00:02.0 ../../../../devices/pci0000:00/0000:00:02.0
islink sys/bus/pci/drivers/i915/0000:00:02.0 ../../../../devices/pci0000:00/0000:00:02.0
islink "$gpu/iommu_group" ../../../kernel/iommu_groups/0
islink "$gpu/driver" ../../../bus/pci/drivers/i915
islink "$card/iommu_group" ../../../../kernel/iommu_groups/1
islink "$card/driver" ../../../../bus/pci/drivers/nvidia
for a in vendor device class boot_vga reset_method; do same "$gpu/$a"; done
for a in vendor device class; do same "$card/$a" && same "$bridge/$a"; done
same sys/kernel/iommu_groups/0/type
has "$gpu/uevent" "DRIVER=i915"
lacks "$gpu/uevent" "SERIAL"
absent "$gpu/serial"
absent "$gpu/resource"
absent sys/bus/pci/drivers/i915/bind
for a in name description available_instances device_api; do
	same "$gpu/mdev_supported_types/i915-GVTg_V5_4/$a"
done
absent "$gpu/mdev_supported_types/i915-GVTg_V5_4/create"

# Config space: whole, with the Device Serial Number zeroed and nothing else changed.
if [ "$(wc -c <"$r/$gpu/config")" -eq 4096 ]; then
	ok "config kept whole"
else
	fail "config size changed"
fi
dsn=$(od -An -tx1 -j 260 -N 8 "$r/$gpu/config" | tr -d ' \n')
[ "$dsn" = 0000000000000000 ] && ok "device serial number zeroed" || fail "DSN still $dsn"
cmp -s -n 260 "$s/$gpu/config" "$r/$gpu/config" && ok "config header unchanged" ||
	fail "config header changed"

# /etc
same etc/modprobe.d/vfio.conf
same etc/default/grub
absent etc/modprobe.d/README
absent etc/shadow

# Modules: the index, and empty placeholders for vfio-pci and its dependency only.
same "lib/modules/$kver/modules.dep.bin"
absent "lib/modules/$kver/modules.dep"
empty "lib/modules/$kver/kernel/drivers/vfio/pci/vfio-pci.ko"
empty "lib/modules/$kver/kernel/drivers/vfio/pci/vfio-pci-core.ko"
absent "lib/modules/$kver/kernel/drivers/vfio/pci/other.ko"

# Whole-tree rules: no serial-named file, no absolute or dangling link, no device node.
bad=$(find "$r" -name '*serial*' -type f | head -n 1)
[ -z "$bad" ] && ok "no serial-named files" || fail "serial-named file $bad"
bad=$(find "$r" \( -type b -o -type c -o -type p -o -type s \) | head -n 1)
[ -z "$bad" ] && ok "no device nodes" || fail "special file $bad"
n=0
for l in $(find "$r" -type l); do
	case $(readlink "$l") in /*) fail "absolute link $l" ;; esac
	[ -e "$l" ] || fail "dangling link $l -> $(readlink "$l")"
	n=$((n + 1))
done
[ "$n" -ge 9 ] && ok "$n links, all relative and resolving" || fail "only $n links"
[ -s "$o/SOURCE.md" ] && ok "SOURCE.md written" || fail "no SOURCE.md"
has ../SOURCE.md "$kver"

# When a built gpupv is at hand, it must read the capture as it reads the source.
gpupv=${GPUPV:-}
[ -n "$gpupv" ] || for c in ./gpupv/gpupv "$srcdir/gpupv/gpupv"; do
	[ -x "$c" ] && { gpupv=$c; break; }
done
if [ -n "$gpupv" ] && [ -x "$gpupv" ]; then
	"$gpupv" precheck --root "$s" --json >"$tmp/a.json" 2>/dev/null
	ra=$?
	"$gpupv" precheck --root "$r" --json >"$tmp/b.json" 2>/dev/null
	rb=$?
	if [ "$ra" = "$rb" ] && cmp -s "$tmp/a.json" "$tmp/b.json"; then
		ok "gpupv gives the same JSON on the source and on the capture"
	else
		diff "$tmp/a.json" "$tmp/b.json" | head -n 20
		fail "gpupv reads the capture differently (exit $ra vs $rb)"
	fi
else
	echo "note: no built gpupv found, the comparison of precheck outputs was not run"
fi

# A link that leaves the root is not recreated (checked on a second capture, since a physfn
# link changes what precheck reports).
ln -s ../../../../../../../../etc "$s/$card/physfn"
if sh "$capture" --root "$s" "$tmp/out2" >"$tmp/log2" 2>&1; then
	r=$tmp/out2/root
	absent "$card/physfn"
	grep -q 'leaves the root' "$tmp/log2" && ok "the escaping link is reported" ||
		fail "no warning about the escaping link"
else
	cat "$tmp/log2"
	fail "capture-sysfs failed on a tree with an escaping link"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
