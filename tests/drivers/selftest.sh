#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gen-host's own test (TAP): installs, upgrades and checks fake drivers in fresh roots under
# $TMPDIR: nvidia 550.127.05 -> 565.57.01 (a library goes, one comes, the data files stay
# untouched), i915 20230210 -> 20240115 next to it (two firmware files change, one comes), amdgpu
# in a split-/usr root, a kernel change, the same bytes from two runs, and bad input.
#
#   tests/drivers/selftest.sh        (about 30 seconds on a quiet machine, a few MB of disk)
# shellcheck disable=SC2317 # the helpers are called through check
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
gen=$top_srcdir/tests/drivers/gen-host
for tool in gcc objcopy readelf ldconfig depmod modinfo; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
		{ echo "SKIP: no $tool (Debian packages build-essential, binutils, libc-bin, kmod)"; exit 77; }
done
PATH=$PATH:/usr/sbin:/sbin

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }
check() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
gen() { # ROOT ARGS...: gen-host, timed, its output in $tmp/out
	local t0=$EPOCHREALTIME rc
	"$gen" "$@" >"$tmp/out" 2>&1
	rc=$?
	echo "# gen-host ${*:2}: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
	[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/out"
	return "$rc"
}
checked() { # ROOT [VENDOR]: gen-host --check passes
	if ! "$gen" "$1" ${2:+--vendor "$2"} --check >"$tmp/check" 2>&1 ||
		grep -q '^not ok' "$tmp/check"; then
		sed 's/^/# /' "$tmp/check"
		return 1
	fi
}
snap() { # ROOT: "inode mtime size path" of every file and link but gen-host's state
	(cd "$1" && find . -path ./var/lib/gen-host -prune -o \( -type f -o -type l \) -print |
		sort | xargs stat -c '%i %Y %s %N')
}
changed() { # BEFORE AFTER: the paths added, removed or replaced, the module index left out
	diff "$1" "$2" | sed -n 's/^[<>] [0-9]* [0-9]* [0-9]* //p' | grep -v \
		-e '/modules\.[a-z.]*'\''$' -e 'ld\.so\.cache' -e 'osrelease' | sort -u
}

# ---- nvidia ---------------------------------------------------------------------------------
r=$tmp/host
check "nvidia 550.127.05 installs" gen "$r" --vendor nvidia --version 550.127.05
check "its --check passes" checked "$r"
lib=$r/usr/lib/x86_64-linux-gnu
check "merged /usr: lib -> usr/lib" test "$(readlink "$r/lib")" = usr/lib
check "modinfo prints the version, the firmware, the dependencies" sh -c "
	modinfo -b '$r' -k 6.1.0-gpv-amd64 nvidia | grep -qx 'version: *550.127.05' &&
	modinfo -b '$r' -k 6.1.0-gpv-amd64 -F firmware nvidia | grep -qx nvidia/550.127.05/gsp_ga10x.bin &&
	modinfo -b '$r' -k 6.1.0-gpv-amd64 -F depends nvidia-drm | grep -qx nvidia-modeset,drm,drm_kms_helper"
check "modules.dep has nvidia-drm's dependencies" grep -qx \
	'updates/dkms/nvidia-drm.ko: kernel/drivers/gpu/drm/drm_kms_helper.ko updates/dkms/nvidia-modeset.ko updates/dkms/nvidia.ko kernel/drivers/gpu/drm/drm.ko' \
	"$r/lib/modules/6.1.0-gpv-amd64/modules.dep"
check "ldconfig made libcuda.so.1, the package libcuda.so" test \
	"$(readlink "$lib/libcuda.so.1") $(readlink "$lib/libcuda.so")" = "libcuda.so.550.127.05 libcuda.so.1"
check "libnvidia-fbc only before 560" test -f "$lib/libnvidia-fbc.so.550.127.05" -a \
	! -e "$lib/libnvidia-gpucomp.so.550.127.05"
size=$(du -sk "$r" | cut -f1)
check "the tree is small at --scale 1 ($size KiB)" test "$size" -lt 5000

# The same bytes and mtimes from a second run elsewhere.
check "a second root, same version" gen "$tmp/again" --vendor nvidia --version 550.127.05
sums() { (cd "$1" && sed 's|^/||' var/lib/gen-host/nvidia.list | xargs stat -L -c '%Y %s %n' &&
	sed 's|^/||' var/lib/gen-host/nvidia.list | xargs sha256sum); }
check "both roots have the same bytes and mtimes" cmp -s <(sums "$r") <(sums "$tmp/again")

snap "$r" >"$tmp/before"
check "the same version again" gen "$r" --vendor nvidia --version 550.127.05
snap "$r" >"$tmp/after"
check "installing it again leaves every file alone" test -z "$(changed "$tmp/before" "$tmp/after")"

check "upgrade to 565.57.01" gen "$r" --vendor nvidia --version 565.57.01
check "its --check passes" checked "$r"
snap "$r" >"$tmp/after"
check "libnvidia-fbc and its SONAME link are gone" test ! -e "$lib/libnvidia-fbc.so.550.127.05" -a \
	! -L "$lib/libnvidia-fbc.so.1"
check "libnvidia-gpucomp came" test -f "$lib/libnvidia-gpucomp.so.565.57.01"
check "no 550.127.05 file is left" test -z "$(cd "$r" && find . -name '*550.127.05*')"
check "lib/firmware/nvidia/550.127.05 is gone" test ! -e "$r/lib/firmware/nvidia/550.127.05"
check "the SONAME links follow" test "$(readlink "$lib/libcuda.so.1")" = libcuda.so.565.57.01
check "the JSON files are untouched (inode, mtime, bytes)" test \
	"$(grep json "$tmp/before")" = "$(grep json "$tmp/after")" -a \
	"$(grep -c json "$tmp/after")" = 3
check "nvidia.ko says 565.57.01" sh -c \
	"modinfo -b '$r' -k 6.1.0-gpv-amd64 -F version nvidia | grep -qx 565.57.01"
check "nvidia-smi runs against the new library" sh -c \
	"LD_LIBRARY_PATH='$lib' '$r/usr/bin/nvidia-smi' | grep -q 'Driver Version: 565.57.01'"

# ---- i915 next to it --------------------------------------------------------------------------
snap "$r" >"$tmp/before"
check "i915 20230210 next to nvidia" gen "$r" --vendor i915 --version 20230210
check "its --check passes" checked "$r" i915
check "nvidia's --check still passes" checked "$r" nvidia
snap "$r" >"$tmp/after"
check "drm.ko, shared with nvidia, is untouched" test \
	"$(grep "drm/drm.ko'" "$tmp/before")" = "$(grep "drm/drm.ko'" "$tmp/after")"
fw=$r/lib/firmware/i915
check "one firmware file is compressed" sh -c "ls '$fw' | grep -qx 'adlp_dmc.bin.\\(zst\\|xz\\)'"
check "no i915/mtl_gsc_1.bin before 20231211" test ! -e "$fw/mtl_gsc_1.bin"
snap "$r" >"$tmp/before"
check "i915 20240115" gen "$r" --vendor i915 --version 20240115
check "its --check passes" checked "$r" i915
snap "$r" >"$tmp/after"
changed "$tmp/before" "$tmp/after" | grep /firmware/ >"$tmp/fw"
check "two firmware files changed, one came" test "$(sed 's/.*firmware\/\([^'\'']*\).*/\1/' \
	"$tmp/fw" | sort -u | tr '\n' ' ')" = "i915/adlp_guc_70.bin i915/mtl_gsc_1.bin i915/tgl_guc_70.bin "
check "their sizes and mtimes changed" sh -c "
	[ \"\$(grep tgl_guc_70 '$tmp/before' | cut -d' ' -f2,3)\" != \
	  \"\$(grep tgl_guc_70 '$tmp/after' | cut -d' ' -f2,3)\" ]"
check "the user-space library changed in place of the old (same name, new bytes)" sh -c "
	[ \"\$(grep libigdgmm.so.12.3.0 '$tmp/before' | cut -d' ' -f1,2)\" != \
	  \"\$(grep libigdgmm.so.12.3.0 '$tmp/after' | cut -d' ' -f1,2)\" ]"

# ---- amdgpu, split /usr, a new kernel -------------------------------------------------------
s=$tmp/split
check "amdgpu 20230210 in a split-/usr root" gen "$s" --vendor amdgpu --version 20230210 \
	--split-usr --kernel 6.1.0-18-amd64
check "its --check passes" checked "$s"
check "lib is a folder there, the modules in it" test -d "$s/lib" -a ! -L "$s/lib" -a \
	-f "$s/lib/modules/6.1.0-18-amd64/kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko"
check "amdgpu/navi10_sos.bin is stored as .xz" test -f "$s/lib/firmware/amdgpu/navi10_sos.bin.xz"
check "amdgpu 20240115" gen "$s" --vendor amdgpu --version 20240115
check "its --check passes" checked "$s"

check "nvidia for a new kernel" gen "$r" --vendor nvidia --version 565.57.01 --kernel 6.1.0-gpv2-amd64
check "its --check passes" checked "$r" nvidia
check "osrelease names it" test "$(cat "$r/proc/sys/kernel/osrelease")" = 6.1.0-gpv2-amd64
check "the old kernel's nvidia modules are gone, and from its index" sh -c "
	[ ! -e '$r/lib/modules/6.1.0-gpv-amd64/updates' ] &&
	! grep -q nvidia '$r/lib/modules/6.1.0-gpv-amd64/modules.dep'"

# ---- bad input ------------------------------------------------------------------------------
for args in "--vendor nvidia --version 550" "--vendor nouveau --version 1" \
	"--vendor i915 --version 2023-02-10" "--vendor nvidia --version 550.127.05 --scale 0"; do
	# shellcheck disable=SC2086 # the arguments are words
	if "$gen" "$tmp/bad" $args >"$tmp/out" 2>&1; then
		bad "gen-host refuses $args"
	else
		ok "gen-host refuses $args: $(head -1 "$tmp/out")"
	fi
done
check "nothing made for bad input" test ! -e "$tmp/bad"

echo "1..$n"
exit $fail
