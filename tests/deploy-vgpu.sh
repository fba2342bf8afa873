#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv deploy --share on NVIDIA SR-IOV vGPU (vGPU 17 and later, NVIDIA's vendor-specific VFIO
# framework: a vGPU is made by writing a type id to a VF's nvidia/current_vgpu_type, and the VF
# goes to the VM as a PCI hostdev on NVIDIA's driver). Against libvirt's test driver
# (tests/data/demo-host.xml) and the kernel model (tests/model) over an A100 host built here:
# 4 of 16 VFs enabled (as NVIDIA's sriov-manage leaves them), each on nvidia and listing the
# types 557 (A100-4C, 10%), 558 (A100-5C, 12.5%) and 560 (A100-40C, 100%). The plan and why,
# --dry-run and --json changing nothing, the domain XML (virt-xml-validate), the type on the VF
# after a deploy, the rollback of a failure injected at every step, the kernel refusing the
# type, undeploy releasing it, and the refusal on a host gpupv reaches only through libvirt
# (tests/data/sriov-host.xml). Then the model's answers to current_vgpu_type writes.
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

# The demo host, with a domain "deployed earlier" whose metadata records a vGPU on the VF
# 0000:41:00.5 (the test driver forgets what one gpupv defined before the next starts, so
# undeploy is tested on it).
mkdir -p "$tmp/pool"
sed -e "s|<path>/var/lib/libvirt/images</path>|<path>$tmp/pool</path>|" \
	-e "/<!-- The GPUs of tests/i\\
  <domain type='test'><name>gridvm</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>\\
    <metadata><gpupv:deploy xmlns:gpupv='https://gpupv.org/deploy/1' template='linux' gpu='0000:41:00.5' pf='0000:41:00.0' vgpu-vf='0000:41:00.5' vgpu-type='557'/></metadata>\\
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
# The machine's state: every path, its type and link target, and every file's content. gpupv's
# own /run (lock, journals) and the model's log are left out.
state() {
	(cd "$t" && find . \( -path ./.model -o -path ./run \) -prune -o -printf '%p %y %l\n' |
		LC_ALL=C sort && find . \( -path ./.model -o -path ./run \) -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 md5sum) | md5sum
}
PF=0000:41:00.0
cur() { cat "$t/sys/bus/pci/devices/$1/nvidia/current_vgpu_type"; }
TYPES='ID    : vGPU Name
557   : NVIDIA A100-4C
558   : NVIDIA A100-5C
560   : NVIDIA A100-40C
'
a100() { # a fresh A100 host in $t: 4 VFs enabled, 0000:41:00.4 to .7, on nvidia
	local m=$t
	rm -rf "$t" && mkdir -p "$t"
	dev() { # addr vendor device class group driver
		local d="$m/sys/devices/pci0000:40/$1"
		mkdir -p "$d" "$m/sys/bus/pci/devices" "$m/sys/kernel/iommu_groups/$5/devices"
		printf '0x%s\n' "$2" >"$d/vendor"
		printf '0x%s\n' "$3" >"$d/device"
		printf '0x%s\n' "$4" >"$d/class"
		ln -s "../../../devices/pci0000:40/$1" "$m/sys/bus/pci/devices/$1"
		ln -s "../../../kernel/iommu_groups/$5" "$d/iommu_group"
		ln -s "../../../../devices/pci0000:40/$1" "$m/sys/kernel/iommu_groups/$5/devices/$1"
		mkdir -p "$m/sys/bus/pci/drivers/$6"
		ln -s "../../../bus/pci/drivers/$6" "$d/driver"
		ln -s "../../../../devices/pci0000:40/$1" "$m/sys/bus/pci/drivers/$6/$1"
	}
	mkdir -p "$m/proc/sys/kernel" "$m/dev" "$m/sys/firmware/acpi/tables"
	printf 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n' >"$m/proc/cpuinfo"
	echo "amd_iommu=on iommu=pt" >"$m/proc/cmdline"
	echo "6.8.0-test" >"$m/proc/sys/kernel/osrelease"
	: >"$m/dev/kvm"
	: >"$m/sys/firmware/acpi/tables/IVRS"
	dev $PF 10de 20b0 030200 40 nvidia
	echo 16 >"$m/sys/devices/pci0000:40/$PF/sriov_totalvfs"
	echo 4 >"$m/sys/devices/pci0000:40/$PF/sriov_numvfs"
	for i in 0 1 2 3; do
		local vf=0000:41:00.$((4 + i)) d
		dev $vf 10de 20b0 030200 $((41 + i)) nvidia
		d=$m/sys/devices/pci0000:40/$vf
		ln -s "../$PF" "$d/physfn"
		ln -s "../$vf" "$m/sys/devices/pci0000:40/$PF/virtfn$i"
		mkdir "$d/nvidia"
		printf '%s' "$TYPES" >"$d/nvidia/creatable_vgpu_types"
		echo 0 >"$d/nvidia/current_vgpu_type"
	done
	sh "$top_srcdir/tests/model/gpv-model-init" "$t" >/dev/null
}

# ---- the plan, the XML, --dry-run and --json ------------------------------------------------
a100 || exit 99
before=$(state)
if g deploy grid --template linux --gpu auto --share 10 --connect "$H" --dry-run; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/vgpu.xml"
	check "dry-run: the plan creates a vGPU of type 557 on the first VF, and says why" \
		grep -q "1  create a vGPU of type 557 (NVIDIA A100-4C) on the VF 0000:41:00.4 of $PF (its nvidia/current_vgpu_type); --share 10: vGPU type 557 (NVIDIA A100-4C) on VF 0000:41:00.4: the smallest free slice of at least 10%" "$tmp/out"
	check "dry-run: the domain has the VF as a PCI hostdev, managed='no', on NVIDIA's driver" \
		python3 -c 'import sys, xml.etree.ElementTree as E
d = E.parse(sys.argv[1]).getroot()
h = d.findall("devices/hostdev")
assert len(h) == 1 and h[0].get("type") == "pci" and h[0].get("managed") == "no", h
assert h[0].find("driver") is None
a = h[0].find("source/address")
assert (a.get("bus"), a.get("slot"), a.get("function")) == ("0x41", "0x00", "0x4"), a.attrib' "$tmp/vgpu.xml"
	check "dry-run: the XML passes virt-xml-validate" virt-xml-validate "$tmp/vgpu.xml" domain
else
	bad "dry-run: $(cat "$tmp/err")"
fi
[ "$(state)" = "$before" ] && ok "--dry-run changed nothing" || bad "--dry-run changed the machine"
g deploy grid --template linux --gpu $PF --share 10 --connect "$H" --dry-run --json &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="gpupv.deploy/1" and d["dry_run"]; assert [s["kind"] for s in d["steps"]]==["create-vgpu","create-volume","define","start"], d["steps"]; assert "type 557" in d["steps"][0]["what"] and "0000:41:00.4" in d["steps"][0]["what"]; assert "function=\"0x4\"" in d["domain_xml"]' "$tmp/out" &&
	ok "--json: the create-vgpu step, the VF in the domain" ||
	bad "--json: $(head -5 "$tmp/out" "$tmp/err")"
[ "$(state)" = "$before" ] && ok "--dry-run --json changed nothing" || bad "--dry-run --json changed the machine"

# ---- a deploy, and its rollback at every step ---------------------------------------------------
if g deploy grid --template linux --gpu auto --share 10 --connect "$H" --json; then
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and all(s["done"] for s in d["steps"]); open(sys.argv[2], "w").write(d["domain_xml"])' \
		"$tmp/out" "$tmp/deployed.xml" &&
		[ "$(cur 0000:41:00.4)" = 557 ] && [ "$(cur 0000:41:00.5)" = 0 ] &&
		grep -q "^vgpu 0000:41:00.4 557$" "$t/.model/log" &&
		grep -q '<address domain="0x0000" bus="0x41" slot="0x00" function="0x4"/>' "$tmp/deployed.xml" &&
		virt-xml-validate "$tmp/deployed.xml" domain >/dev/null &&
		ok "deploy: the VF 0000:41:00.4 holds type 557, the domain has it" ||
		bad "deploy: current_vgpu_type $(cur 0000:41:00.4): $(cat "$tmp/err")"
else
	bad "deploy: $(cat "$tmp/out" "$tmp/err")"
fi
for step in 1 2 3 4; do
	a100 || exit 99
	before=$(state)
	if GPUPV_TEST_FAIL_STEP=$step g deploy grid --template linux --gpu auto --share 10 \
		--connect "$H"; then
		bad "failure at step $step: deploy succeeded"
		continue
	fi
	has "step $step .* failed: injected failure" &&
		has "checked: no domain 'grid' and no volume 'grid.qcow2' in pool 'default' are left" &&
		has "checked: the VF 0000:41:00.4 holds no vGPU type (current_vgpu_type 0)" &&
		{ [ $step = 1 ] || has "undone: create a vGPU of type 557"; } &&
		[ "$(cur 0000:41:00.4)" = 0 ] && [ "$(state)" = "$before" ] &&
		ok "failure at step $step: the type released, the machine as before" ||
		bad "failure at step $step: $(cat "$tmp/err")"
done
a100 || exit 99
before=$(state)
GPV_MODEL_FAIL=vgpu=EBUSY g deploy grid --template linux --gpu auto --share 10 --connect "$H"
[ $? = 1 ] && has "cannot create the vGPU of type 557 on the VF 0000:41:00.4: it holds a vGPU type already" &&
	[ "$(state)" = "$before" ] &&
	ok "a VF taken since the plan (EBUSY) fails step 1, nothing left" ||
	bad "EBUSY: $(cat "$tmp/err")"
GPV_MODEL_FAIL=vgpu=EINVAL g deploy grid --template linux --gpu auto --share 10 --connect "$H"
[ $? = 1 ] && has "NVIDIA's driver refuses the type there now" && [ "$(state)" = "$before" ] &&
	ok "a type the driver refuses (EINVAL) fails step 1, nothing left" ||
	bad "EINVAL: $(cat "$tmp/err")"

# ---- which VF: past one that holds a type; none free -----------------------------------------
a100 || exit 99
sysw 557 "$t/sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type"
g deploy grid --template linux --gpu auto --share 10 --connect "$H" --dry-run &&
	has "1  create a vGPU of type 557 (NVIDIA A100-4C) on the VF 0000:41:00.5 of $PF" &&
	has '<address domain="0x0000" bus="0x41" slot="0x00" function="0x5"/>' &&
	ok "a VF that holds a type is passed over for the next (virtfn1)" ||
	bad "VF in use: $(cat "$tmp/out" "$tmp/err")"
for f in 5 6 7; do sysw 558 "$t/sys/bus/pci/devices/0000:41:00.$f/nvidia/current_vgpu_type"; done
g deploy grid --template linux --gpu auto --share 10 --connect "$H" --dry-run
[ $? = 4 ] && has "deploy: --share 10: no GPU of this host can give a share" &&
	ok "every VF holds a type: nothing fits, exit 4" || bad "no VF free: $(cat "$tmp/err")"
# VFs that list no type (a GPU full, or a driver that shows none): not given as plain VFs.
a100 || exit 99
for f in 4 5 6 7; do
	printf 'ID    : vGPU Name\n' >"$t/sys/bus/pci/devices/0000:41:00.$f/nvidia/creatable_vgpu_types"
done
g deploy grid --template linux --gpu auto --share 10 --connect "$H" --dry-run
[ $? = 4 ] && has "an NVIDIA GPU whose VFs are vGPU VFs, and none of them lists a vGPU type" &&
	ok "an NVIDIA VF without a type to take is refused, not bound as a plain VF" ||
	bad "NVIDIA VF without types: $(cat "$tmp/out" "$tmp/err")"

# ---- undeploy releases the type its metadata records ------------------------------------------
a100 || exit 99
before=$(state)
sysw 557 "$t/sys/bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type" && [ "$(cur 0000:41:00.5)" = 557 ] ||
	bad "could not give 0000:41:00.5 the type the 'gridvm' domain records"
g undeploy gridvm --connect "$H" && [ "$(cur 0000:41:00.5)" = 0 ] && [ "$(state)" = "$before" ] &&
	grep -q "^vgpu 0000:41:00.5 0$" "$t/.model/log" &&
	ok "undeploy writes 0 to the VF's current_vgpu_type" ||
	bad "undeploy: $(cat "$tmp/err"); current_vgpu_type $(cur 0000:41:00.5)"
sysw 558 "$t/sys/bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type"
g undeploy gridvm --connect "$H" && [ "$(cur 0000:41:00.5)" = 558 ] &&
	ok "undeploy leaves a VF that holds another type by now alone" ||
	bad "undeploy, another type: $(cat "$tmp/err"); current_vgpu_type $(cur 0000:41:00.5)"

# ---- a host gpupv reaches only through libvirt -----------------------------------------------
sed "s|<path>/var/lib/libvirt/images</path>|<path>$tmp/pool</path>|" \
	"$top_srcdir/tests/data/sriov-host.xml" >"$tmp/sriov-host.xml"
"$GPUPV" deploy grid --template linux --gpu $PF --share 10 --connect "test://$tmp/sriov-host.xml" \
	--dry-run >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && has "an NVIDIA GPU whose VFs are vGPU VFs" && has "nvidia/current_vgpu_type" &&
	has "run gpupv on that host" &&
	ok "through libvirt, an NVIDIA VF is refused: no API for current_vgpu_type, run gpupv there" ||
	bad "remote vGPU: $(cat "$tmp/out" "$tmp/err")"

# ---- the model: current_vgpu_type as NVIDIA's driver answers it --------------------------------
a100 || exit 99
V=$t/sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type
! sysw 999 "$V" 2>/dev/null && ! sysw abc "$V" 2>/dev/null && [ "$(cur 0000:41:00.4)" = 0 ] &&
	grep -q "^fail vgpu 0000:41:00.4 999 EINVAL$" "$t/.model/log" &&
	ok "model: a type the VF does not list, or no number, is EINVAL" ||
	bad "model: EINVAL: $(cat "$t/.model/log")"
sysw 558 "$V" && [ "$(cur 0000:41:00.4)" = 558 ] && ! sysw 557 "$V" 2>/dev/null &&
	grep -q "^fail vgpu 0000:41:00.4 557 EBUSY$" "$t/.model/log" && [ "$(cur 0000:41:00.4)" = 558 ] &&
	ok "model: a listed type is taken; another while one is held is EBUSY" ||
	bad "model: EBUSY: $(cat "$t/.model/log")"
sysw 0 "$V" && [ "$(cur 0000:41:00.4)" = 0 ] && sysw 0 "$V" && sysw 557 "$V" &&
	[ "$(cur 0000:41:00.4)" = 557 ] &&
	ok "model: 0 releases the type (twice is fine), and the VF takes a type again" ||
	bad "model: release: $(cat "$t/.model/log")"
! GPV_MODEL_FAIL=vgpu@0000:41:00.5=EIO sysw 557 "$t/sys/bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type" 2>/dev/null &&
	grep -q "^fail vgpu 0000:41:00.5 557 EIO injected$" "$t/.model/log" && [ "$(cur 0000:41:00.5)" = 0 ] &&
	ok "model: GPV_MODEL_FAIL=vgpu@VF fails the write, changing nothing" ||
	bad "model: injected: $(cat "$t/.model/log")"

echo "1..$n"
exit $fail
