#!/bin/bash
# gpupv bind / unbind / status against the kernel model (tests/model): success, a failure
# injected at every write with the rollback verified, a kill before and after every write
# followed by 'unbind --recover', two gpupv at once, and each refusal.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
model="$abs_top_builddir/tests/model/libgpvmodel.so"
[ -f "$model" ] || { echo "SKIP: the kernel model $model is not built"; exit 77; }
command -v flock >/dev/null || { echo "SKIP: flock (util-linux) is needed"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
bad() { echo "FAIL: $*"; fail=1; }
ok() { n=$((n + 1)); }
# The model is preloaded into uninstrumented tools too; an ASan gpupv accepts it only so.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

machine() { # fixture: a fresh copy in $t with real links and the model's memory of drivers
	t="$tmp/m"
	rm -rf "$t"
	cp -R "$top_srcdir/tests/fixtures/$1/root" "$t"
	chmod -R u+w "$t"
	sh "$top_srcdir/tests/model/realize-links" "$t" >/dev/null
	sh "$top_srcdir/tests/model/gpv-model-init" "$t" >/dev/null
}

# Everything bind may change: each device's driver and override, /dev/vfio, the journals.
snapshot() {
	for d in "$t"/sys/bus/pci/devices/*; do
		printf '%s %s %s\n' "${d##*/}" "$(readlink "$d/driver" 2>/dev/null | sed 's|.*/||')" \
			"$(cat "$d/driver_override" 2>/dev/null)"
	done
	ls "$t/dev/vfio" 2>/dev/null | sed 's/^/vfio /'
	ls "$t/run/gpupv/bindings" 2>/dev/null | sed 's/^/journal /'
}

gpupv() { # runs gpupv under the model, output in $tmp/out and $tmp/err
	rm -f "$t/.model/count"
	local rc
	# The shell's own "Killed" notice for a killed gpupv goes nowhere.
	exec 3>&2 2>/dev/null
	env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" "$@" "$GPUPV" --root "$t" "${args[@]}" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	exec 2>&3 3>&-
	return $rc
}
run() { args=("$@"); gpupv; }
run_env() { # VAR=value... -- gpupv args
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	args=("$@")
	gpupv "${envs[@]}"
}
driver() { readlink "$t/sys/bus/pci/devices/$1/driver" 2>/dev/null | sed 's|.*/||'; }

# --- success, and the way back ---------------------------------------------------------
machine cometlake-gtx1660s
snapshot >"$tmp/before"
run bind 01:00.0 --dry-run
[ $? = 0 ] && grep -q "write 'vfio-pci' to /sys/bus/pci/devices/0000:01:00.1/driver_override" "$tmp/out" ||
	bad "dry-run plan"
snapshot | cmp -s - "$tmp/before" || bad "--dry-run changed the machine"
ok
run bind 01:00.0
[ $? = 0 ] || { bad "bind: exit $?"; cat "$tmp/err"; }
for f in 0 1 2 3; do
	[ "$(driver 0000:01:00.$f)" = vfio-pci ] || bad "bind: 0000:01:00.$f is on '$(driver 0000:01:00.$f)'"
done
[ -e "$t/dev/vfio/1" ] || bad "bind: no /dev/vfio/1"
[ "$(driver 0000:00:01.0)" = pcieport ] || bad "bind moved the root port"
grep -q "bound 0000:01:00.0" "$tmp/out" || bad "bind: no confirmation"
ok
run status --json
grep -q '"state": "bound"' "$tmp/out" && grep -q '"viable": true' "$tmp/out" &&
	grep -q '"original_driver": "snd_hda_intel"' "$tmp/out" || { bad "status --json"; cat "$tmp/out"; }
run status
grep -q "group 1: viable" "$tmp/out" || bad "status: viability"
ok
run bind 01:00.0
[ $? = 0 ] && grep -q "already on vfio-pci" "$tmp/out" || bad "second bind is not a no-op"
ok
run unbind 0000:01:00.0
[ $? = 0 ] || { bad "unbind: exit $?"; cat "$tmp/err"; }
snapshot | diff "$tmp/before" - >/dev/null || { bad "unbind did not restore the machine"; snapshot | diff "$tmp/before" -; }
grep -q "^bind 0000:01:00.0 nvidia" "$t/.model/log" || bad "unbind reprobed instead of binding nvidia"
run status
grep -q "bound nothing" "$tmp/out" || bad "status after unbind"
ok
run unbind 01:00.0
[ $? = 4 ] && grep -q "has not bound" "$tmp/err" || bad "unbind of a GPU gpupv did not bind"
ok

# --- --persist: a udev rule and a softdep that gpupv owns, and the way back ----------------
machine cometlake-gtx1660s
for m in nvidia:nvidia xhci_hcd:xhci_pci; do # drivers and the modules behind them
	mkdir -p "$t/sys/module/${m#*:}"
	ln -s "../../../../module/${m#*:}" "$t/sys/bus/pci/drivers/${m%:*}/module"
done
run bind 01:00.0 --persist
[ $? = 0 ] || bad "bind --persist"
rules="$t/etc/udev/rules.d/61-gpupv.rules"
grep -q 'KERNEL=="0000:01:00.1", ATTR{driver_override}="vfio-pci"' "$rules" || bad "--persist: no udev rule"
grep -q "^softdep nvidia pre: vfio-pci$" "$t/etc/modprobe.d/gpupv.conf" || bad "--persist: no softdep"
grep -q "^softdep xhci_pci pre: vfio-pci$" "$t/etc/modprobe.d/gpupv.conf" || bad "--persist: softdep by driver, not module"
grep -q "xhci_hcd" "$t/etc/modprobe.d/gpupv.conf" && bad "--persist: a driver name where a module belongs"
[ -f "$t/var/lib/gpupv/bindings/0000:01:00.0" ] || bad "--persist: no copy of the journal"
rm -rf "$t/run/gpupv" # a reboot: /run is gone, the devices come up on vfio-pci by the rule
run status
grep -q "persisted" "$tmp/out" && grep -q "returns to nvidia" "$tmp/out" || bad "status after a reboot"
run unbind 01:00.0
[ $? = 0 ] && grep -q "goes back to vfio-pci at the next boot" "$tmp/err" || bad "unbind of a persistent binding: no warning"
[ -f "$rules" ] || bad "unbind without --persist removed the rule"
run bind 01:00.0
run unbind 01:00.0 --persist
[ $? = 0 ] || bad "unbind --persist"
[ ! -e "$rules" ] && [ ! -e "$t/etc/modprobe.d/gpupv.conf" ] && [ ! -e "$t/var/lib/gpupv/bindings/0000:01:00.0" ] ||
	bad "unbind --persist left files behind"
snapshot | diff "$tmp/before" - >/dev/null || bad "unbind --persist did not restore the machine"
run status
grep -q "bound nothing" "$tmp/out" || bad "status after unbind --persist"
ok

# --- a failure at every write: everything goes back -------------------------------------
writes=$(grep -c . "$t/.model/log")
machine cometlake-gtx1660s
run bind 01:00.0 --dry-run
nwrites=$(grep -c "^ *[0-9]*  write" "$tmp/out")
nsteps=$(grep -c "^ *[0-9]*  " "$tmp/out")
[ "$nwrites" -ge 12 ] || bad "expected at least 12 writes in the plan, got $nwrites"
for i in $(seq 1 "$nwrites"); do
	machine cometlake-gtx1660s
	run_env GPV_MODEL_FAIL_AT="$i" -- bind 01:00.0
	rc=$?
	[ $rc = 1 ] || bad "failure at write $i: exit $rc"
	grep -q "failed at step" "$tmp/err" && grep -q "given back" "$tmp/err" ||
		bad "failure at write $i: message"
	snapshot | diff "$tmp/before" - >/dev/null || { bad "failure at write $i: not rolled back"; snapshot | diff "$tmp/before" -; }
	ok
done

# Every step, not only the writes (journal, waits, the viability check), fails in turn.
[ "$nsteps" -gt "$nwrites" ] || bad "expected more steps ($nsteps) than writes ($nwrites)"
for i in $(seq 1 "$nsteps"); do
	machine cometlake-gtx1660s
	run_env GPUPV_TEST_FAIL_STEP="$i" -- bind 01:00.0
	[ $? = 1 ] && grep -q "failed at step $i " "$tmp/err" || bad "step $i: no failure reported"
	snapshot | diff "$tmp/before" - >/dev/null || { bad "failure at step $i: not rolled back"; snapshot | diff "$tmp/before" -; }
	ok
done

# A failure while unbinding keeps the journal; --recover finishes.
for i in 1 5 9; do
	machine cometlake-gtx1660s
	run bind 01:00.0 || bad "bind before unbind failure $i"
	run_env GPV_MODEL_FAIL_AT="$i" -- unbind 01:00.0
	[ $? = 1 ] && grep -q "unbind --recover" "$tmp/err" || bad "unbind failure at $i"
	run unbind --recover
	[ $? = 0 ] && grep -q "recovered" "$tmp/out" || bad "recover after unbind failure $i"
	snapshot | diff "$tmp/before" - >/dev/null || bad "unbind failure at $i: not recovered"
	ok
done

# --- a kill before and after every write: --recover restores ---------------------------
for when in BEFORE AFTER; do
	for i in $(seq 1 "$nwrites"); do
		machine cometlake-gtx1660s
		run_env "GPV_MODEL_KILL_$when=$i" -- bind 01:00.0
		rc=$?
		[ $rc = 137 ] || bad "kill $when write $i: exit $rc"
		run bind 01:00.0
		[ $? = 4 ] && grep -q "unbind --recover" "$tmp/err" || bad "kill $when $i: bind does not refuse the unfinished journal"
		run unbind --recover
		[ $? = 0 ] || { bad "kill $when write $i: recover exit $?"; cat "$tmp/err"; }
		snapshot | diff "$tmp/before" - >/dev/null || { bad "kill $when write $i: not recovered"; snapshot | diff "$tmp/before" -; }
		ok
	done
done
machine cometlake-gtx1660s
run unbind --recover
grep -q "nothing to recover" "$tmp/out" || bad "recover with nothing to do"
ok

# A rollback that cannot finish says so and keeps the journal; --recover then finishes.
machine cometlake-gtx1660s
run_env GPUPV_TEST_FAIL_STEP="$nsteps" GPV_MODEL_FAIL=bind@0000:01:00.1 -- bind 01:00.0
[ $? = 1 ] && grep -q "journal is kept" "$tmp/err" && ! grep -q "given back" "$tmp/err" ||
	{ bad "a failed rollback is reported as done"; cat "$tmp/err"; }
run status
grep -q "unfinished" "$tmp/out" || bad "status does not show the unfinished bind"
run unbind --recover
[ $? = 0 ] || bad "recover after a failed rollback"
snapshot | diff "$tmp/before" - >/dev/null || bad "failed rollback: not recovered"
ok

# Bound, one function given back by hand, bound again: the journal keeps every original driver.
machine cometlake-gtx1660s
run bind 01:00.0 || bad "bind before the manual undo"
env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" dash -c 'printf "\n" > "$1/sys/bus/pci/devices/0000:01:00.1/driver_override"; printf 0000:01:00.1 > "$1/sys/bus/pci/drivers/vfio-pci/unbind"; printf 0000:01:00.1 > "$1/sys/bus/pci/drivers/snd_hda_intel/bind"' sh "$t"
[ "$(driver 0000:01:00.1)" = snd_hda_intel ] || bad "manual undo did not happen"
run bind 01:00.0
[ $? = 0 ] && [ "$(driver 0000:01:00.1)" = vfio-pci ] || bad "rebind after a manual undo"
grep -q "device 0000:01:00.0 group 1 driver nvidia" "$t/run/gpupv/bindings/0000:01:00.0" ||
	bad "rebind forgot the GPU's original driver"
run unbind 01:00.0
snapshot | diff "$tmp/before" - >/dev/null || bad "unbind after rebind did not restore everything"
ok

# A member that bind does not move (a bridge on another driver) keeps the group from being
# viable: the bind fails, names it, and puts everything back.
machine cometlake-gtx1660s
mkdir -p "$t/sys/bus/pci/drivers/shpchp"
rm -f "$t/sys/bus/pci/drivers/pcieport/0000:00:01.0" "$t/sys/devices/pci0000:00/0000:00:01.0/driver"
ln -s ../../../bus/pci/drivers/shpchp "$t/sys/devices/pci0000:00/0000:00:01.0/driver"
ln -s ../../../../devices/pci0000:00/0000:00:01.0 "$t/sys/bus/pci/drivers/shpchp/0000:00:01.0"
snapshot >"$tmp/before2"
run bind 01:00.0
[ $? = 1 ] && grep -q "IOMMU group 1 is not viable: '0000:00:01.0' is on shpchp" "$tmp/err" ||
	{ bad "non-viable group: no culprit named"; cat "$tmp/err"; }
grep -q "given back" "$tmp/err" || bad "non-viable group: no rollback"
snapshot | diff "$tmp/before2" - >/dev/null || bad "non-viable group: not rolled back"
ok

# --- two gpupv at once ------------------------------------------------------------------
machine cometlake-gtx1660s
mkdir -p "$t/run/gpupv"
echo 4242 >"$t/run/gpupv/lock"
mkfifo "$tmp/release"
flock "$t/run/gpupv/lock" sh -c "echo held >'$tmp/held'; read x <'$tmp/release'" &
holder=$!
for _ in $(seq 200); do [ -e "$tmp/held" ] && break; sleep 0.05; done
run bind 01:00.0 --no-wait
[ $? = 1 ] && grep -q "another gpupv (pid 4242)" "$tmp/err" || bad "--no-wait while locked"
snapshot | diff "$tmp/before" - >/dev/null || bad "a refused second gpupv changed the machine"
args=(bind 01:00.0)
gpupv &
waiter=$!
for _ in $(seq 200); do grep -q "waiting for gpupv" "$tmp/err" 2>/dev/null && break; sleep 0.05; done
grep -q "waiting for gpupv (pid 4242)" "$tmp/err" || bad "a second gpupv does not say whom it waits for"
echo go >"$tmp/release"
wait "$holder"
wait "$waiter" || bad "the waiting gpupv failed"
[ "$(driver 0000:01:00.0)" = vfio-pci ] || bad "the waiting gpupv did not bind"
ok

# --- refusals leave the machine alone ---------------------------------------------------
refused() { # label code-text
	[ "$rc" = 4 ] || bad "$1: exit $rc, expected 4"
	grep -q -- "$2" "$tmp/err" || { bad "$1: message lacks '$2'"; cat "$tmp/err"; }
	grep -q "fix:" "$tmp/err" || bad "$1: no fix"
	snapshot | diff "$tmp/before" - >/dev/null || bad "$1: the machine changed"
	[ ! -s "$t/.model/log" ] || bad "$1: the model saw writes"
	ok
}
machine b550-chipset-slot
snapshot >"$tmp/before"
run bind 04:00.0; rc=$?
refused "group in use, cannot tell" "'0000:02:00.0' (group 15, class 0c03, driver xhci_hcd: this recording cannot tell whether the host uses it)"
run bind 04:00.0 --json; rc=$?
grep -q '"code": "group-in-use"' "$tmp/out" || bad "refusal --json"
# The same group on a machine that shows what the host uses: a mounted disk, the default
# route and a keyboard each keep their controller; without them, everything moves.
sysfs_of() { readlink -f "$t/sys/bus/pci/devices/$1"; }
link_class() { # class name target: a relative link, as sysfs has them
	ln -s "../../${3#"$(readlink -f "$t")/sys/"}" "$t/sys/class/$1/$2"
}
uses() { # disk mount route keyboard: 1 to set each
	rm -rf "$t/sys/class/block" "$t/sys/class/net" "$t/sys/class/input"
	mkdir -p "$t/sys/class/block" "$t/sys/class/net" "$t/sys/class/input" "$t/proc/net"
	d=$(sysfs_of 0000:02:00.1)/ata1/host0/target0:0:0/0:0:0:0/block/sda
	mkdir -p "$d/sda2"
	link_class block sda "$d"
	link_class block sda2 "$d/sda2"
	if [ "$2" = 1 ]; then echo "/dev/sda2 / ext4 rw 0 0"; else echo "proc /proc proc rw 0 0"; fi >"$t/proc/mounts"
	d=$(sysfs_of 0000:05:00.0)/net/enp5s0
	mkdir -p "$d"
	link_class net enp5s0 "$d"
	printf 'Iface\tDestination\tGateway\n' >"$t/proc/net/route"
	[ "$3" = 1 ] && printf 'enp5s0\t00000000\t0101A8C0\n' >>"$t/proc/net/route"
	printf 'enp5s0\t0001A8C0\t00000000\n' >>"$t/proc/net/route"
	d=$(sysfs_of 0000:02:00.0)/usb1/1-1/1-1:1.0/input/input3
	mkdir -p "$d/capabilities"
	link_class input input3 "$d"
	echo "Logitech USB Keyboard" >"$d/name"
	if [ "$4" = 1 ]; then echo 120013; else echo 17; fi >"$d/capabilities/ev"
}
machine b550-chipset-slot
uses 1 1 1 1
snapshot >"$tmp/before"
run bind 04:00.0; rc=$?
refused "group in use" "'0000:02:00.1' (group 15, class 0106, driver ahci: /dev/sda2 mounted on /)"
grep -q "enp5s0 carries the default route" "$tmp/err" && grep -q "the keyboard 'Logitech USB Keyboard' is on it" "$tmp/err" ||
	bad "group in use: not every use named"
uses 1 0 1 0
run bind 04:00.0; rc=$?
refused "group in use, route only" "enp5s0 carries the default route"
grep -q "0000:02:00.1\|0000:02:00.0" "$tmp/err" && bad "devices the host does not use were named"
uses 1 0 0 0
run bind 04:00.0
[ $? = 0 ] || { bad "a group the host does not use: exit"; cat "$tmp/err"; }
for a in 0000:02:00.0 0000:02:00.1 0000:05:00.0 0000:04:00.0 0000:04:00.1; do
	[ "$(driver $a)" = vfio-pci ] || bad "group moved: $a is on '$(driver $a)'"
done
grep -q "'0000:05:00.0' (class 0200, r8169) leaves the host too" "$tmp/err" || bad "no warning for the devices that leave too"
[ "$(driver 0000:02:00.2)" = pcieport ] || bad "a bridge of the group moved"
run unbind 04:00.0
[ "$(driver 0000:05:00.0)" = r8169 ] && [ "$(driver 0000:02:00.1)" = ahci ] || bad "group given back"
ok

# A root that /proc/mounts calls /dev/root is found by its device number, and a default
# route on a bridge over the NIC counts for the NIC.
uses 1 0 0 0
echo 8:2 >"$t/sys/class/block/sda2/dev"
mkdir -p "$t/proc/self"
echo "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/root rw" >"$t/proc/self/mountinfo"
mkdir -p "$t/sys/devices/virtual/net/br0"
ln -s ../../devices/virtual/net/br0 "$t/sys/class/net/br0"
ln -s ../../../../../virtual/net/br0 "$(sysfs_of 0000:05:00.0)/net/enp5s0/master"
printf 'Iface\tDestination\tGateway\nbr0\t00000000\t0101A8C0\n' >"$t/proc/net/route"
: >"$t/.model/log"
run bind 04:00.0; rc=$?
refused "root by device number" "a filesystem on it is mounted on /)"
grep -q "br0 carries the default route" "$tmp/err" || { bad "a route on a bridge over the NIC"; cat "$tmp/err"; }

# A card with a reset bug (the RX 550 here, Polaris 12 in probes/data/reset-bugs.ids) gets
# device_specific from vendor-reset when the module is there, and its methods back after.
if command -v depmod >/dev/null && command -v "${CC:-cc}" >/dev/null; then
	rm -f "$t/proc/self/mountinfo"
	uses 1 0 0 0
	reset_attr="$(sysfs_of 0000:04:00.0)/reset_method"
	printf 'flr bus\n' >"$reset_attr"
	run bind 04:00.0
	[ $? = 0 ] && grep -q "vendor-reset is not installed" "$tmp/err" || bad "reset bug without vendor-reset: no warning"
	[ "$(cat "$reset_attr")" = "flr bus" ] || bad "reset_method changed without vendor-reset"
	run unbind 04:00.0
	mods="$t/lib/modules/6.1.0-56-amd64"
	mkdir -p "$mods/extra"
	printf 'const char n[] __attribute__((section(".modinfo"), used)) = "name=vendor_reset";\n' >"$tmp/m.c"
	"${CC:-cc}" -c "$tmp/m.c" -o "$mods/extra/vendor-reset.ko" && depmod -b "$t" 6.1.0-56-amd64 2>/dev/null
	echo "vendor_reset 118784 0 - Live 0x0000000000000000 (OE)" >>"$t/proc/modules"
	run bind 04:00.0 --dry-run
	grep -q "write 'device_specific' to /sys/bus/pci/devices/0000:04:00.0/reset_method" "$tmp/out" ||
		{ bad "reset bug: no device_specific in the plan"; cat "$tmp/out"; }
	run bind 04:00.0
	[ $? = 0 ] && [ "$(cat "$reset_attr")" = device_specific ] || bad "reset bug: reset_method not set"
	grep -q "^reset flr,bus$" "$t/run/gpupv/bindings/0000:04:00.0" || bad "reset bug: the journal lacks the methods"
	run unbind 04:00.0
	[ "$(cat "$reset_attr")" = "flr bus" ] || bad "unbind did not give the reset methods back"
	run bind 04:00.0 --dry-run
	check_step=$(sed -n 's/^ *\([0-9]*\)  check that IOMMU group.*/\1/p' "$tmp/out" | head -n1)
	run_env GPUPV_TEST_FAIL_STEP="$check_step" -- bind 04:00.0
	[ $? = 1 ] && [ "$(cat "$reset_attr")" = "flr bus" ] || bad "a failed bind did not give the reset methods back"
	ok
fi

machine b550-chipset-slot
snapshot >"$tmp/before"
run bind 00:14.0; rc=$?
refused "not a GPU" "no GPU at '0000:00:14.0'"
run bind 7; rc=$?
[ $rc = 2 ] || bad "index out of range: exit $rc"

machine gvtg-four-types
printf '1\n' >"$t/sys/devices/pci0000:00/0000:00:02.0/boot_vga"
snapshot >"$tmp/before"
run bind 00:02.0; rc=$?
refused "only display" "the last display the host keeps"
run bind 00:02.0 --force
[ $? = 0 ] && grep -q "console goes dark" "$tmp/err" || bad "--force on the only display"
ok

# The boot display is also the last one when every other GPU is already on vfio-pci.
machine cometlake-gtx1660s
run bind 01:00.0 || bad "bind of the second GPU"
snapshot >"$tmp/before"
: >"$t/.model/log"
run bind 00:02.0; rc=$?
refused "last display left" "the last display the host keeps"

machine cometlake-gtx1660s
mkdir -p "$t/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card1" "$t/proc/4242/fd"
ln -s /dev/dri/card1 "$t/proc/4242/fd/7"
echo Xorg >"$t/proc/4242/comm"
snapshot >"$tmp/before"
run bind 01:00.0; rc=$?
refused "DRM clients" "Xorg (pid 4242) holds its display nodes open"

[ $fail = 0 ] && echo "bind: $n cases"
exit $fail
