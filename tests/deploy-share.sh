#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv deploy --share below 100: the share allocator's slice, made for the VM. Against
# libvirt's test driver (test:///FILE from tests/data/demo-host.xml, which cannot define node
# devices, so mdevs are made through sysfs) and the kernel model (tests/model) over
#   - a copy of tests/fixtures/gvtg-four-types (Intel GVT-g: mdev types of 100, 50, 25 and
#     12.5 %), and
#   - an SR-IOV host built here, as tests/plan.sh builds one (8 possible VFs, none enabled).
# The plan and why, the domain XML (virt-xml-validate), the slice on the machine after a
# deploy, the rollback of a failure injected at every step (the machine as before), undeploy
# removing what the metadata records, nothing fitting, and --dry-run changing nothing.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
command -v virt-xml-validate >/dev/null ||
	{ echo "SKIP: no virt-xml-validate (Debian package libvirt-clients)"; exit 77; }
model="$abs_top_builddir/tests/model/libgpvmodel.so"
[ -f "$model" ] || { echo "SKIP: the kernel model $model is not built"; exit 77; }
# bash's builtins write through stdio, which the model cannot see; dash calls write(2).
command -v dash >/dev/null || { echo "SKIP: needs dash to write to the model"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: needs python3 to read --json"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

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

# The demo host, with two domains "deployed earlier" whose metadata records a slice: an mdev
# and a VF of VFs gpupv enabled (the test driver forgets what one gpupv defined before the
# next starts, so undeploy is tested on these).
MDEV_UUID=0b6f3e0c-5d4a-4f2e-9a1b-2c3d4e5f6a7b
mkdir -p "$tmp/pool"
sed -e "s|<path>/var/lib/libvirt/images</path>|<path>$tmp/pool</path>|" \
	-e "/<!-- The GPUs of tests/i\\
  <domain type='test'><name>sliced</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>\\
    <metadata><gpupv:deploy xmlns:gpupv='https://gpupv.org/deploy/1' template='linux' mdev='$MDEV_UUID'/></metadata>\\
    <os><type arch='x86_64'>hvm</type></os></domain>\\
  <domain type='test'><name>vfvm</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>\\
    <metadata><gpupv:deploy xmlns:gpupv='https://gpupv.org/deploy/1' template='linux' gpu='0000:03:00.1' bound='yes' pf='0000:03:00.0' vfs-enabled='3'/></metadata>\\
    <os><type arch='x86_64'>hvm</type></os></domain>" \
	"$top_srcdir/tests/data/demo-host.xml" >"$tmp/host.xml"
H="test://$tmp/host.xml"

t=$tmp/m
g() { # gpupv under the model, output in $tmp/out and $tmp/err
	env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" "$GPUPV" --root "$t" "$@" >"$tmp/out" 2>"$tmp/err"
}
has() { grep -q -- "$1" "$tmp/out" "$tmp/err"; }
sysw() { # VALUE FILE: one write(2), as the kernel wants, under the model
	env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" dash -c 'printf %s "$1" >"$2"' sh "$1" "$2"
}
# The machine's state: every path, its type and link target, and every file's content (not
# times: a slice made and removed leaves counters rewritten with what they held). gpupv's own
# /run (lock, journals) and the model's log are left out.
state() {
	(cd "$t" && find . \( -path ./.model -o -path ./run \) -prune -o -printf '%p %y %l\n' |
		LC_ALL=C sort && find . \( -path ./.model -o -path ./run \) -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 md5sum) | md5sum
}
no_journal() { [ -z "$(ls "$t/run/gpupv/bindings" 2>/dev/null)" ]; }

gvtg() { # a fresh copy of the GVT-g machine in $t
	rm -rf "$t" && cp -R "$top_srcdir/tests/fixtures/gvtg-four-types/root" "$t" &&
		chmod -R u+w "$t" && sh "$top_srcdir/tests/model/gpv-model-init" "$t" >/dev/null
}
sriov() { # a fresh SR-IOV machine in $t: the Intel GPU 0000:03:00.0 on i915, and a plain GPU
	local m=$t
	rm -rf "$t" && mkdir -p "$t"
	dev() { # addr vendor device class group [driver]
		local d="$m/sys/devices/pci0000:00/$1"
		mkdir -p "$d" "$m/sys/bus/pci/devices" "$m/sys/kernel/iommu_groups/$5/devices"
		printf '0x%s\n' "$2" >"$d/vendor"
		printf '0x%s\n' "$3" >"$d/device"
		printf '0x%s\n' "$4" >"$d/class"
		ln -s "../../../devices/pci0000:00/$1" "$m/sys/bus/pci/devices/$1"
		ln -s "../../../kernel/iommu_groups/$5" "$d/iommu_group"
		ln -s "../../../../devices/pci0000:00/$1" "$m/sys/kernel/iommu_groups/$5/devices/$1"
		if [ -n "${6:-}" ]; then
			mkdir -p "$m/sys/bus/pci/drivers/$6"
			ln -s "../../../bus/pci/drivers/$6" "$d/driver"
			ln -s "../../../../devices/pci0000:00/$1" "$m/sys/bus/pci/drivers/$6/$1"
		fi
	}
	mkdir -p "$m/proc/sys/kernel" "$m/dev" "$m/sys/firmware/acpi/tables"
	printf 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n' >"$m/proc/cpuinfo"
	echo "intel_iommu=on" >"$m/proc/cmdline"
	echo "6.8.0-test" >"$m/proc/sys/kernel/osrelease"
	: >"$m/dev/kvm"
	: >"$m/sys/firmware/acpi/tables/DMAR"
	dev 0000:03:00.0 8086 56c0 038000 3 i915
	echo 8 >"$m/sys/devices/pci0000:00/0000:03:00.0/sriov_totalvfs"
	echo 0 >"$m/sys/devices/pci0000:00/0000:03:00.0/sriov_numvfs"
	dev 0000:04:00.0 10de 1b06 030000 4 vfio-pci
	sh "$top_srcdir/tests/model/gpv-model-init" "$t" >/dev/null
}
P=sys/devices/pci0000:00/0000:00:02.0
V4=$P/mdev_supported_types/i915-GVTg_V5_2
PF=sys/devices/pci0000:00/0000:03:00.0

# ---- mdev: the plan, the XML, --dry-run ------------------------------------------------------
gvtg || exit 99
before=$(state)
if g deploy desk --template linux --gpu 0000:00:02.0 --share 30 --connect "$H" --dry-run; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/mdev.xml"
	check "mdev dry-run: the plan creates an mdev of the 50% type, and says why" \
		grep -q "1  create the mdev [0-9a-f-]\{36\} of type i915-GVTg_V5_2 on 0000:00:02.0; --share 30: an instance of mdev type i915-GVTg_V5_2 (2 free): the smallest free slice of at least 30%" "$tmp/out"
	uuid=$(sed -n 's/.*create the mdev \([0-9a-f-]*\) .*/\1/p' "$tmp/out")
	check "mdev dry-run: the domain has the mdev as a hostdev" \
		grep -q "<address uuid=\"$uuid\"/>" "$tmp/mdev.xml"
	check "mdev dry-run: the XML passes virt-xml-validate" \
		virt-xml-validate "$tmp/mdev.xml" domain
else
	bad "mdev dry-run: $(cat "$tmp/err")"
fi
[ "$(state)" = "$before" ] && ok "mdev --dry-run changed nothing" || bad "mdev --dry-run changed the machine"
g deploy desk --template linux --gpu auto --share 30 --connect "$H" --dry-run --json &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["kind"] for s in d["steps"]]==["create-mdev","create-volume","define","start"], d["steps"]; assert "i915-GVTg_V5_2" in d["steps"][0]["what"] and "type=\"mdev\"" in d["domain_xml"]' "$tmp/out" &&
	ok "mdev --json: the create-mdev step, the mdev in the domain" ||
	bad "mdev --json: $(head -5 "$tmp/out" "$tmp/err")"

# ---- mdev: a deploy, and its rollback at every step --------------------------------------------
if g deploy desk --template linux --gpu 0000:00:02.0 --share 30 --connect "$H"; then
	uuid=$(sed -n 's/^create the mdev \([0-9a-f-]*\) .*/\1/p' "$tmp/out")
	[ -n "$uuid" ] && [ -L "$t/sys/bus/mdev/devices/$uuid" ] &&
		[ "$(readlink -f "$t/sys/bus/mdev/devices/$uuid/mdev_type")" = "$(readlink -f "$t/$V4")" ] &&
		[ "$(cat "$t/$V4/available_instances")" = 1 ] &&
		ok "mdev deploy: the mdev $uuid of i915-GVTg_V5_2 exists, one instance fewer" ||
		bad "mdev deploy: no mdev '$uuid': $(ls "$t/sys/bus/mdev/devices")"
else
	bad "mdev deploy: $(cat "$tmp/err")"
fi
for step in 1 2 3 4; do
	gvtg || exit 99
	before=$(state)
	if GPUPV_TEST_FAIL_STEP=$step g deploy desk --template linux --gpu 0000:00:02.0 --share 30 \
		--connect "$H"; then
		bad "mdev, failure at step $step: deploy succeeded"
		continue
	fi
	has "step $step .* failed: injected failure" &&
		has "checked: no domain 'desk' and no volume 'desk.qcow2' in pool 'default' are left" &&
		{ [ $step = 1 ] || { has "undone: create the mdev" && has "checked: no mdev .* is left"; }; } &&
		[ -z "$(ls "$t/sys/bus/mdev/devices")" ] && [ "$(state)" = "$before" ] &&
		ok "mdev, failure at step $step: the mdev removed, the machine as before" ||
		bad "mdev, failure at step $step: $(cat "$tmp/err")"
done
gvtg || exit 99
before=$(state)
GPV_MODEL_FAIL=mdev-create=EUSERS g deploy desk --template linux --gpu 0000:00:02.0 --share 30 \
	--connect "$H"
[ $? = 1 ] && has "cannot create the mdev .*i915-GVTg_V5_2/create" && [ "$(state)" = "$before" ] &&
	ok "mdev: the kernel refusing the create fails step 1, nothing left" ||
	bad "mdev create refused: $(cat "$tmp/err")"

# ---- mdev: undeploy removes it; nothing fits -------------------------------------------------
gvtg || exit 99
before=$(state)
sysw $MDEV_UUID "$t/$V4/create" && [ -L "$t/sys/bus/mdev/devices/$MDEV_UUID" ] ||
	bad "could not make the mdev the 'sliced' domain records"
g undeploy sliced --connect "$H" && [ ! -e "$t/sys/bus/mdev/devices/$MDEV_UUID" ] &&
	[ "$(state)" = "$before" ] && ok "undeploy removes the mdev its metadata records" ||
	bad "undeploy of an mdev: $(cat "$tmp/err"; ls "$t/sys/bus/mdev/devices")"
# The GPU partitioned, its one 100% instance taken: 60% no longer fits.
sysw $MDEV_UUID "$t/$P/mdev_supported_types/i915-GVTg_V5_1/create" ||
	bad "could not take the i915-GVTg_V5_1 instance"
g deploy big2 --template linux --gpu 0000:00:02.0 --share 60 --connect "$H"
[ $? = 4 ] && has "deploy: --share 60 on 0000:00:02.0: no free slice of at least 60%: this host can give .* (percent of one GPU); still free: 50, 25, 12.5" &&
	ok "nothing fits: exit 4, and the shares this host can give" ||
	bad "nothing fits: $(cat "$tmp/err")"

# ---- VF: enabling VFs, the plan, the XML, --dry-run --------------------------------------------
sriov || exit 99
before=$(state)
if g deploy vf --template linux --gpu auto --share 30 --connect "$H" --dry-run; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/vf.xml"
	check "VF dry-run: enable 3 VFs first, and why" \
		grep -q "1  enable 3 VFs on 0000:03:00.0 (sriov_numvfs 3); --share 30: VF 1 of the 3 to enable (of 8 possible): the smallest free slice of at least 30%" "$tmp/out"
	check "VF dry-run: then bind the first VF" \
		grep -q "2  bind its VF virtfn0 (0000:03:00.1, .*) to vfio-pci" "$tmp/out"
	check "VF dry-run: the domain has the VF as a PCI hostdev" \
		grep -q '<address domain="0x0000" bus="0x03" slot="0x00" function="0x1"/>' "$tmp/vf.xml"
	check "VF dry-run: the XML passes virt-xml-validate" virt-xml-validate "$tmp/vf.xml" domain
else
	bad "VF dry-run: $(cat "$tmp/err")"
fi
[ "$(state)" = "$before" ] && ok "VF --dry-run changed nothing" || bad "VF --dry-run changed the machine"
g deploy vf --template linux --gpu auto --share 30 --connect "$H" --dry-run --json &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["kind"] for s in d["steps"]]==["enable-vfs","bind","create-volume","define","start"], d["steps"]' "$tmp/out" &&
	ok "VF --json: enable-vfs, then bind" || bad "VF --json: $(head -5 "$tmp/out" "$tmp/err")"

# ---- VF: a deploy, undeploy, and the rollback at every step --------------------------------------
vfdrv() { l=$(readlink "$t/sys/bus/pci/devices/0000:03:00.1/driver") && echo "${l##*/}"; }
if g deploy vf --template linux --gpu auto --share 30 --connect "$H"; then
	[ "$(cat "$t/$PF/sriov_numvfs")" = 3 ] && [ -L "$t/$PF/virtfn2" ] && [ "$(vfdrv)" = vfio-pci ] &&
		[ -e "$t/run/gpupv/bindings/0000:03:00.1" ] &&
		ok "VF deploy: 3 VFs enabled, the first on vfio-pci, journaled" ||
		bad "VF deploy: numvfs $(cat "$t/$PF/sriov_numvfs"), VF driver $(vfdrv)"
	g undeploy vfvm --connect "$H" && [ "$(state)" = "$before" ] && no_journal &&
		ok "undeploy gives the VF back and disables the VFs gpupv enabled" ||
		bad "undeploy of a VF: $(cat "$tmp/err"); numvfs $(cat "$t/$PF/sriov_numvfs")"
else
	bad "VF deploy: $(cat "$tmp/err")"
fi
for step in 1 2 3 4 5; do
	sriov || exit 99
	before=$(state)
	if GPUPV_TEST_FAIL_STEP=$step g deploy vf --template linux --gpu auto --share 30 \
		--connect "$H"; then
		bad "VF, failure at step $step: deploy succeeded"
		continue
	fi
	has "step $step .* failed: injected failure" && [ "$(state)" = "$before" ] && no_journal &&
		{ [ $step = 1 ] || has "undone: enable 3 VFs on 0000:03:00.0"; } &&
		ok "VF, failure at step $step: VFs disabled again, the machine as before" ||
		bad "VF, failure at step $step: $(cat "$tmp/err")"
done
sriov || exit 99
before=$(state)
GPV_MODEL_FAIL=numvfs=EIO g deploy vf --template linux --gpu auto --share 30 --connect "$H"
[ $? = 1 ] && has "cannot enable 3 VFs on 0000:03:00.0" && [ "$(state)" = "$before" ] &&
	ok "VF: sriov_numvfs refused by the kernel fails step 1, nothing left" ||
	bad "VF enable refused: $(cat "$tmp/err")"
GPV_MODEL_FAIL=probe=EIO g deploy vf --template linux --gpu auto --share 30 --connect "$H"
[ $? = 1 ] && [ "$(state)" = "$before" ] && no_journal &&
	ok "VF: a bind the kernel fails is rolled back, VFs disabled" ||
	bad "VF bind failing: $(cat "$tmp/err")"

# An enabled free VF is taken as it is: nothing to enable.
sriov || exit 99
sysw 3 "$t/$PF/sriov_numvfs"
g deploy vf --template linux --gpu 0000:03:00.0 --share 30 --connect "$H" --dry-run &&
	has "1  bind the VF 0000:03:00.1 of 0000:03:00.0 to vfio-pci; --share 30: a VF (3 of the 3 enabled free)" &&
	! has "enable-vfs\|enable 3 VFs" && ok "VFs already enabled: a free one is bound, none enabled" ||
	bad "enabled VFs: $(cat "$tmp/out" "$tmp/err")"

# ---- the model: sriov_numvfs and mdev writes as the kernel answers them --------------------------
sriov || exit 99
sysw 3 "$t/$PF/sriov_numvfs" && [ -L "$t/sys/bus/pci/devices/0000:03:00.3" ] &&
	[ "$(readlink "$t/sys/bus/pci/devices/0000:03:00.2/physfn")" = ../0000:03:00.0 ] &&
	[ ! -e "$t/sys/bus/pci/devices/0000:03:00.1/driver" ] &&
	ok "model: sriov_numvfs 3 makes three VFs, with physfn links, on no driver" ||
	bad "model: sriov_numvfs 3: $(ls "$t/$PF")"
g bind 0000:03:00.1
[ $? != 0 ] && has "'0000:03:00.1' is an SR-IOV virtual function of '0000:03:00.0'" &&
	ok "gpupv bind still refuses a VF (only deploy binds one, for a slice)" ||
	bad "bind of a VF: $(cat "$tmp/out" "$tmp/err")"
! sysw 2 "$t/$PF/sriov_numvfs" 2>/dev/null && grep -q "fail numvfs 0000:03:00.0 2 EBUSY" "$t/.model/log" &&
	ok "model: a new count while VFs are enabled is EBUSY" || bad "model: numvfs 3 -> 2 not EBUSY"
sysw 0 "$t/$PF/sriov_numvfs" && [ ! -e "$t/sys/bus/pci/devices/0000:03:00.1" ] &&
	[ ! -e "$t/sys/devices/pci0000:00/0000:03:00.1" ] && [ ! -L "$t/$PF/virtfn0" ] &&
	[ ! -d "$t/sys/kernel/iommu_groups/5" ] &&
	ok "model: sriov_numvfs 0 removes the VFs and their groups" ||
	bad "model: sriov_numvfs 0 left VFs: $(ls "$t/sys/bus/pci/devices")"
! sysw 9 "$t/$PF/sriov_numvfs" 2>/dev/null && grep -q "fail numvfs 0000:03:00.0 9 ERANGE" "$t/.model/log" &&
	ok "model: more than sriov_totalvfs is ERANGE" || bad "model: numvfs 9 not ERANGE"
gvtg || exit 99
! sysw not-a-uuid "$t/$V4/create" 2>/dev/null && sysw $MDEV_UUID "$t/$V4/create" &&
	! sysw $MDEV_UUID "$t/$V4/create" 2>/dev/null &&
	grep -q "fail mdev-create not-a-uuid i915-GVTg_V5_2 EINVAL" "$t/.model/log" &&
	grep -q "fail mdev-create $MDEV_UUID i915-GVTg_V5_2 EEXIST" "$t/.model/log" &&
	ok "model: create takes a new UUID only" || bad "model: create: $(cat "$t/.model/log")"

echo "1..$n"
exit $fail
