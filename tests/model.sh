#!/bin/sh
# Test of the kernel model (tests/model/): copies of a recorded machine, changed by plain shell
# writes under LD_PRELOAD=libgpvmodel.so, must change the way the kernel would, fail the way it
# would, and fail or die on request.
# Exit status: 0 pass, 1 fail, 77 skip (with the reason on stdout).
set -u
LC_ALL=C
export LC_ALL

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
model=$abs_top_builddir/tests/model/libgpvmodel.so
status=$abs_top_builddir/tests/model/vfio-status
init=$top_srcdir/tests/model/gpv-model-init
fixtures=$top_srcdir/tests/fixtures

skip() {
	echo "SKIP: $*"
	exit 77
}

[ -f "$model" ] || skip "the model library $model is not built ('make check' builds it)"
[ -x "$status" ] || skip "the helper $status is not built ('make check' builds it)"
# bash's builtins write through stdio, which the model cannot see; dash calls write(2).
command -v dash >/dev/null 2>&1 || skip "needs dash to write to the model"
# The vfio-status helper may be an ASan build: let it run behind the preload.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/model-test.XXXXXX") || skip "cannot create a temporary folder"
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() {
	echo "ok: $*"
}

# fresh [FIXTURE]: a prepared copy of a fixture in $t (cometlake-gtx1660s by default: group 1
# holds the root port 00:01.0 on pcieport and the card's 01:00.0 nvidia, 01:00.1 snd_hda_intel,
# 01:00.2 xhci_hcd, 01:00.3 nvidia-gpu).
n=0
fresh() {
	n=$((n + 1))
	t=$tmp/t$n
	cp -a "$fixtures/${1:-cometlake-gtx1660s}/root" "$t" && "$init" "$t" ||
		{ echo "cannot prepare a copy of ${1:-cometlake-gtx1660s}"; exit 1; }
	devs=$t/sys/bus/pci/devices
	drivers=$t/sys/bus/pci/drivers
}

# w [VAR=VALUE...] FILE TEXT: one write of TEXT to FILE, by dash under the model, with the
# given variables in its environment; the exit status is dash's (137 when the model killed it).
w() {
	(
		while [ $# -gt 2 ]; do
			export "$1"
			shift
		done
		export LD_PRELOAD="$model" GPV_MODEL_ROOT="$t"
		exec dash -c 'printf "%s" "$2" > "$1"' w "$1" "$2"
	) 2>>"$tmp/stderr"
}

# The tree as the kernel shows it: links with their targets, driver_override values and
# dev/vfio; the model's own state in .model/ is left out.
snapshot() {
	(cd "$t" && find . -path ./.model -prune -o -type l -printf '%p -> %l\n' -o \
		-path './dev/*' -print && find . -name driver_override -exec grep -H '' {} +) | sort
}

driver_of() {
	if [ -L "$devs/$1/driver" ]; then
		d=$(readlink "$devs/$1/driver")
		echo "${d##*/}"
	else
		echo none
	fi
}

expect_driver() { # ADDR DRIVER WHAT
	got=$(driver_of "$1")
	if [ "$got" = "$2" ]; then
		ok "$3: $1 on $2"
	else
		fail "$3: $1 is on $got, expected $2"
	fi
}

expect_log() { # WHAT LINE... : the log is exactly these lines
	what=$1
	shift
	printf '%s\n' "$@" >"$tmp/want"
	if diff -u "$tmp/want" "$t/.model/log"; then
		ok "$what: log"
	else
		fail "$what: log differs"
	fi
}

expect_unchanged() { # WHAT: the tree is as $tmp/before holds it
	snapshot >"$tmp/after"
	if diff -u "$tmp/before" "$tmp/after"; then
		ok "$1: tree unchanged"
	else
		fail "$1: tree changed"
	fi
}

expect_status() { # GROUP WANT WHAT
	got=$(env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" "$status" "$t/dev/vfio/$1" 2>&1)
	if [ "$got" = "$2" ]; then
		ok "$3: group $1 $2"
	else
		fail "$3: group $1 answered '$got', expected '$2'"
	fi
}

expect_fails() { # WHAT COMMAND...: the command exits non-zero but not by a kill
	what=$1
	shift
	"$@"
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; then
		ok "$what: refused"
	else
		fail "$what: exit status $rc"
	fi
}

# libvirt's sequence for one device: override, unbind from its driver, reprobe.
detach() { # ADDR DRIVER
	w "$devs/$1/driver_override" vfio-pci &&
		w "$drivers/$2/unbind" "$1" &&
		w "$t/sys/bus/pci/drivers_probe" "$1"
}

# And back: clear the override, unbind from vfio-pci, reprobe to the native driver.
reattach() { # ADDR
	w "$devs/$1/driver_override" "
" && w "$drivers/vfio-pci/unbind" "$1" && w "$t/sys/bus/pci/drivers_probe" "$1"
}

# --- preparing ----------------------------------------------------------------------------------

fresh
if [ -L "$devs/0000:01:00.0" ] && [ -L "$devs/0000:01:00.0/driver" ] &&
	[ "$(cat "$t/.model/native/0000:01:00.0")" = nvidia ] &&
	[ "$(cat "$t/.model/native/0000:00:01.0")" = pcieport ] &&
	[ -f "$drivers/vfio-pci/bind" ] && [ -f "$t/dev/vfio/vfio" ] && [ ! -e "$t/dev/vfio/1" ] &&
	grep -q '^vfio_pci ' "$t/proc/modules"; then
	ok "init: real links, native drivers recorded, vfio-pci loaded"
else
	fail "init: the prepared tree is not as expected"
fi
"$init" "$t" && snapshot >"$tmp/a" && "$init" "$t" && snapshot >"$tmp/b" &&
	cmp -s "$tmp/a" "$tmp/b" && ok "init: a second run changes nothing" ||
	fail "init: a second run changed the tree"

# --- the libvirt sequence, the whole group, and back ---------------------------------------------

fresh
snapshot >"$tmp/initial"
expect_fails "no group file before binding" env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" \
	"$status" "$t/dev/vfio/1" 2>/dev/null
detach 0000:01:00.0 nvidia || fail "bind 01:00.0: a write failed"
expect_driver 0000:01:00.0 vfio-pci "bind 01:00.0"
[ "$(cat "$devs/0000:01:00.0/driver_override")" = vfio-pci ] &&
	ok "bind 01:00.0: driver_override reads vfio-pci" || fail "bind 01:00.0: driver_override"
[ "$(readlink "$devs/0000:01:00.0/driver")" = ../../../../bus/pci/drivers/vfio-pci ] &&
	[ "$(readlink "$drivers/vfio-pci/0000:01:00.0")" = \
		../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0 ] &&
	[ ! -e "$drivers/nvidia/0000:01:00.0" ] &&
	ok "bind 01:00.0: the links are the kernel's" || fail "bind 01:00.0: links"
[ -f "$t/dev/vfio/1" ] && ok "bind 01:00.0: dev/vfio/1 appears" || fail "no dev/vfio/1"
expect_status 1 "not viable" "one function on vfio-pci"
detach 0000:01:00.1 snd_hda_intel && detach 0000:01:00.2 xhci_hcd &&
	detach 0000:01:00.3 nvidia-gpu || fail "bind the other functions: a write failed"
for a in 0000:01:00.1 0000:01:00.2 0000:01:00.3; do
	expect_driver $a vfio-pci "bind the group"
done
expect_driver 0000:00:01.0 pcieport "bind the group"
expect_status 1 viable "every function on vfio-pci, the bridge on pcieport"
expect_log "bind the group" \
	"override 0000:01:00.0 vfio-pci" "unbind 0000:01:00.0 nvidia" \
	"probe 0000:01:00.0 -> vfio-pci" \
	"override 0000:01:00.1 vfio-pci" "unbind 0000:01:00.1 snd_hda_intel" \
	"probe 0000:01:00.1 -> vfio-pci" \
	"override 0000:01:00.2 vfio-pci" "unbind 0000:01:00.2 xhci_hcd" \
	"probe 0000:01:00.2 -> vfio-pci" \
	"override 0000:01:00.3 vfio-pci" "unbind 0000:01:00.3 nvidia-gpu" \
	"probe 0000:01:00.3 -> vfio-pci"
[ "$(cat "$t/.model/count")" = 12 ] && ok "bind the group: 12 writes counted" ||
	fail "bind the group: count is $(cat "$t/.model/count")"

reattach 0000:01:00.0 || fail "unbind 01:00.0: a write failed"
expect_driver 0000:01:00.0 nvidia "unbind 01:00.0"
[ "$(cat "$devs/0000:01:00.0/driver_override")" = "(null)" ] &&
	ok "unbind 01:00.0: driver_override reads (null)" || fail "unbind 01:00.0: driver_override"
[ -f "$t/dev/vfio/1" ] && ok "unbind 01:00.0: dev/vfio/1 stays while the group has vfio devices" ||
	fail "dev/vfio/1 went too early"
expect_status 1 "not viable" "01:00.0 back on nvidia"
reattach 0000:01:00.1 && reattach 0000:01:00.2 && reattach 0000:01:00.3 ||
	fail "unbind the other functions: a write failed"
[ ! -e "$t/dev/vfio/1" ] && ok "unbind the group: dev/vfio/1 gone" || fail "dev/vfio/1 stays"
tail -n 3 "$t/.model/log" >"$tmp/tail"
printf '%s\n' "override 0000:01:00.3 (null)" "unbind 0000:01:00.3 vfio-pci" \
	"probe 0000:01:00.3 -> nvidia-gpu" | diff -u - "$tmp/tail" &&
	ok "unbind the group: log" || fail "unbind the group: log"
snapshot >"$tmp/final"
diff -u "$tmp/initial" "$tmp/final" && ok "bind and unbind: the tree is as it was" ||
	fail "bind and unbind: the tree differs"

# A trailing newline is what echo writes; the kernel takes both.
fresh
w "$devs/0000:01:00.1/driver_override" "vfio-pci
" && w "$drivers/snd_hda_intel/unbind" "0000:01:00.1
" && w "$t/sys/bus/pci/drivers_probe" "0000:01:00.1
" || fail "newline-terminated writes failed"
expect_driver 0000:01:00.1 vfio-pci "newline-terminated writes"

# --- the kernel's refusals -----------------------------------------------------------------------

fresh
snapshot >"$tmp/before"
expect_fails "unbind from a driver the device is not on" \
	w "$drivers/snd_hda_intel/unbind" 0000:01:00.0
expect_fails "unbind a device that does not exist" w "$drivers/nvidia/unbind" 0000:09:00.0
expect_fails "bind a bound device" w "$drivers/nvidia/bind" 0000:01:00.0
expect_fails "probe a device that does not exist" w "$t/sys/bus/pci/drivers_probe" 0000:09:00.0
expect_unchanged "refusals"
expect_log "refusals" "fail unbind 0000:01:00.0 snd_hda_intel ENODEV" \
	"fail unbind 0000:09:00.0 nvidia ENODEV" "fail bind 0000:01:00.0 nvidia EBUSY" \
	"fail probe 0000:09:00.0 ENODEV"

w "$drivers/nvidia/unbind" 0000:01:00.0 || fail "unbind 01:00.0"
: >"$t/.model/log"
expect_fails "bind to vfio-pci without an override" w "$drivers/vfio-pci/bind" 0000:01:00.0
w "$devs/0000:01:00.0/driver_override" pci-stub || fail "override pci-stub"
expect_fails "bind against the override" w "$drivers/vfio-pci/bind" 0000:01:00.0
w "$t/sys/bus/pci/drivers_probe" 0000:01:00.0 || fail "probe with an unloaded override"
expect_driver 0000:01:00.0 none "probe to a driver that is not loaded"
w "$devs/0000:01:00.0/driver_override" vfio-pci && w "$drivers/vfio-pci/bind" 0000:01:00.0 ||
	fail "bind with a matching override"
expect_driver 0000:01:00.0 vfio-pci "bind with a matching override"
w "$t/sys/bus/pci/drivers_probe" 0000:01:00.0 || fail "probe a bound device"
expect_log "bind rules" "fail bind 0000:01:00.0 vfio-pci ENODEV" \
	"override 0000:01:00.0 pci-stub" "fail bind 0000:01:00.0 vfio-pci ENODEV" \
	"probe 0000:01:00.0 -> none" "override 0000:01:00.0 vfio-pci" \
	"bind 0000:01:00.0 vfio-pci" "probe 0000:01:00.0 -> vfio-pci"
[ -f "$t/dev/vfio/1" ] && ok "bind through bind: dev/vfio/1" || fail "bind: no dev/vfio/1"

# No IOMMU: vfio-pci's probe fails, so the device is left without a driver.
fresh devbox-no-iommu
detach 0000:00:03.0 virtio-pci || fail "no IOMMU: a write failed"
expect_driver 0000:00:03.0 none "no IOMMU, probe"
expect_fails "no IOMMU: bind to vfio-pci" w "$drivers/vfio-pci/bind" 0000:00:03.0
expect_log "no IOMMU" "override 0000:00:03.0 vfio-pci" "unbind 0000:00:03.0 virtio-pci" \
	"probe 0000:00:03.0 -> none" "fail bind 0000:00:03.0 vfio-pci EINVAL"
[ ! -e "$t/dev/vfio/0" ] && ok "no IOMMU: no group file" || fail "no IOMMU: a group file"

# --- injected failures change nothing ------------------------------------------------------------

fresh
w "$devs/0000:01:00.1/driver_override" vfio-pci &&
	w "$drivers/snd_hda_intel/unbind" 0000:01:00.1 || fail "injected: setting up"
: >"$t/.model/log"
snapshot >"$tmp/before"
expect_fails "injected override" \
	w GPV_MODEL_FAIL=override "$devs/0000:01:00.0/driver_override" vfio-pci
expect_fails "injected unbind" \
	w GPV_MODEL_FAIL=unbind@0000:01:00.0 "$drivers/nvidia/unbind" 0000:01:00.0
expect_fails "injected bind" \
	w GPV_MODEL_FAIL=bind@0000:01:00.1=EBUSY "$drivers/vfio-pci/bind" 0000:01:00.1
expect_fails "injected probe" \
	w GPV_MODEL_FAIL=override,probe=ENOMEM "$t/sys/bus/pci/drivers_probe" 0000:01:00.1
expect_unchanged "injected failures"
w GPV_MODEL_FAIL=unbind@0000:01:00.3 "$drivers/nvidia/unbind" 0000:01:00.0 &&
	ok "a failure for another device does not fire" || fail "a failure fired for another device"
expect_log "injected failures" "fail override 0000:01:00.0 vfio-pci EIO injected" \
	"fail unbind 0000:01:00.0 nvidia EIO injected" \
	"fail bind 0000:01:00.1 vfio-pci EBUSY injected" \
	"fail probe 0000:01:00.1 ENOMEM injected" "unbind 0000:01:00.0 nvidia"

# GPV_MODEL_FAIL_AT counts writes across processes.
fresh
for step in 1 2 3; do
	: >"$t/.model/log"
	echo 0 >"$t/.model/count"
	w GPV_MODEL_FAIL_AT=$step "$devs/0000:01:00.0/driver_override" vfio-pci &&
		w GPV_MODEL_FAIL_AT=$step "$drivers/nvidia/unbind" 0000:01:00.0 &&
		w GPV_MODEL_FAIL_AT=$step "$t/sys/bus/pci/drivers_probe" 0000:01:00.0 &&
		fail "FAIL_AT=$step: the sequence did not fail"
	[ "$(grep -c . "$t/.model/log")" = "$step" ] &&
		grep -q "^fail .* EIO injected$" "$t/.model/log" &&
		[ "$(tail -n 1 "$t/.model/log" | cut -d' ' -f1)" = fail ] &&
		ok "FAIL_AT=$step: write $step failed" || fail "FAIL_AT=$step: log"
done
expect_driver 0000:01:00.0 none "FAIL_AT=3: the probe failed after the unbind"
fresh
w GPV_MODEL_FAIL_AT=1,3 "$devs/0000:01:00.0/driver_override" vfio-pci
w GPV_MODEL_FAIL_AT=1,3 "$devs/0000:01:00.0/driver_override" vfio-pci
w GPV_MODEL_FAIL_AT=1,3 "$drivers/nvidia/unbind" 0000:01:00.0
expect_log "FAIL_AT=1,3" "fail override 0000:01:00.0 vfio-pci EIO injected" \
	"override 0000:01:00.0 vfio-pci" "fail unbind 0000:01:00.0 nvidia EIO injected"

# --- kills, before and after a write -------------------------------------------------------------

fresh
w GPV_MODEL_KILL_BEFORE=2 "$devs/0000:01:00.0/driver_override" vfio-pci || fail "kill: write 1"
w GPV_MODEL_KILL_BEFORE=2 "$drivers/nvidia/unbind" 0000:01:00.0
rc=$?
[ $rc = 137 ] && ok "KILL_BEFORE=2: the writer was killed" || fail "KILL_BEFORE=2: status $rc"
expect_driver 0000:01:00.0 nvidia "KILL_BEFORE=2: nothing unbound"
expect_log "KILL_BEFORE=2" "override 0000:01:00.0 vfio-pci" "kill before unbind 0000:01:00.0 nvidia"

fresh
w GPV_MODEL_KILL_AFTER=2 "$devs/0000:01:00.0/driver_override" vfio-pci || fail "kill: write 1"
w GPV_MODEL_KILL_AFTER=2 "$drivers/nvidia/unbind" 0000:01:00.0
rc=$?
[ $rc = 137 ] && ok "KILL_AFTER=2: the writer was killed" || fail "KILL_AFTER=2: status $rc"
expect_driver 0000:01:00.0 none "KILL_AFTER=2: the unbind was made"
w GPV_MODEL_KILL_AFTER=2 "$t/sys/bus/pci/drivers_probe" 0000:01:00.0 || fail "after the kill"
expect_driver 0000:01:00.0 vfio-pci "after a kill, the next process goes on"
expect_log "KILL_AFTER=2" "override 0000:01:00.0 vfio-pci" "unbind 0000:01:00.0 nvidia" \
	"kill after unbind 0000:01:00.0 nvidia" "probe 0000:01:00.0 -> vfio-pci"

# --- other writers, and what the model leaves alone ----------------------------------------------

fresh
snapshot >"$tmp/before"
if command -v bash >/dev/null 2>&1; then
	env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" \
		bash -c 'echo 0000:01:00.0 > "$1"' b "$drivers/nvidia/unbind" 2>/dev/null &&
		fail "bash's stdio write went unseen" || ok "bash's stdio write is refused"
	expect_unchanged "bash's stdio write"
	[ ! -s "$drivers/nvidia/unbind" ] && ok "bash's stdio write: the unbind file is empty" ||
		fail "bash's stdio write reached the copy"
fi
if command -v tee >/dev/null 2>&1; then
	printf vfio-pci | env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" \
		tee "$devs/0000:01:00.0/driver_override" >/dev/null &&
		[ "$(cat "$devs/0000:01:00.0/driver_override")" = vfio-pci ] &&
		ok "fopen and fwrite (tee) go through the model" ||
		fail "tee: $(cat "$t/.model/log")"
fi
rm "$drivers/i915/bind"
expect_fails "a store file that does not exist" w "$drivers/i915/bind" 0000:00:02.0
[ ! -e "$drivers/i915/bind" ] && ok "a missing store file is not created" || fail "it was created"
mkdir -p "$tmp/outside/sys/devices/x"
w "$tmp/outside/sys/devices/x/driver_override" hello &&
	[ "$(cat "$tmp/outside/sys/devices/x/driver_override")" = hello ] &&
	ok "paths outside the root pass through" || fail "a path outside the root was modeled"
t_saved=$t
t=/
w "$tmp/outside/sys/devices/x/driver_override" bye &&
	[ "$(cat "$tmp/outside/sys/devices/x/driver_override")" = bye ] &&
	ok "GPV_MODEL_ROOT=/ leaves the model off" || fail "GPV_MODEL_ROOT=/ modeled a write"
t=$t_saved

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s); stderr of the writers:"
	cat "$tmp/stderr"
	exit 1
fi
exit 0
