#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv deploy against libvirt's test driver (test:///FILE, a host described by
# tests/data/demo-host.xml, kept in memory by libvirt) and, for the GPU, the kernel model
# (tests/model) over a copy of tests/fixtures/x570-two-nvidia: the plan, the domain XML
# (checked by virt-xml-validate), every input rule, --replace, --dry-run changing nothing, and
# the rollback after a failure injected at each step, with the GPU given back to its driver.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
command -v virt-xml-validate >/dev/null ||
	{ echo "SKIP: no virt-xml-validate (Debian package libvirt-clients)"; exit 77; }
model="$abs_top_builddir/tests/model/libgpvmodel.so"
[ -f "$model" ] || { echo "SKIP: the kernel model $model is not built"; exit 77; }
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

# The demo host, its pool's folder in $tmp (the test driver writes nothing there; the seed
# medium is gpupv's own file and is).
mkdir -p "$tmp/pool"
sed "s|<path>/var/lib/libvirt/images</path>|<path>$tmp/pool</path>|" \
	"$top_srcdir/tests/data/demo-host.xml" >"$tmp/host.xml"
H="test://$tmp/host.xml"

# A machine for the GPU: the fixture under the kernel model.
t=$tmp/m
cp -R "$top_srcdir/tests/fixtures/x570-two-nvidia/root" "$t" && chmod -R u+w "$t"
sh "$top_srcdir/tests/model/realize-links" "$t" >/dev/null
sh "$top_srcdir/tests/model/gpv-model-init" "$t" >/dev/null
drivers() { # the drivers of the GT 710 and its audio function
	for f in 0000:0c:00.0 0000:0c:00.1; do
		l=$(readlink "$t/sys/bus/pci/devices/$f/driver") && printf '%s ' "${l##*/}" || printf '- '
	done
}
tree_sum() { (cd "$t" && find . -path ./.model -prune -o -print0 | sort -z |
	xargs -0 stat -c '%n %s %Y %N' 2>/dev/null | md5sum); }
g() { # gpupv under the model, output in $tmp/out and $tmp/err
	env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" "$GPUPV" --root "$t" "$@" >"$tmp/out" 2>"$tmp/err"
}
has() { grep -q -- "$1" "$tmp/out" "$tmp/err"; }

# ---- the plan and the domain ------------------------------------------------------------
for tpl in linux windows11; do
	if g deploy "vm-$tpl" --template $tpl --connect "$H" --dry-run; then
		sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/$tpl.xml"
		check "dry-run $tpl: the plan lists volume, define, start" \
			grep -q "create the .* qcow2 volume 'vm-$tpl.qcow2'" "$tmp/out"
		check "dry-run $tpl: the domain XML passes virt-xml-validate" \
			virt-xml-validate "$tmp/$tpl.xml" domain
	else
		bad "dry-run $tpl: $(cat "$tmp/err")"
	fi
done
grep -q "<tpm" "$tmp/windows11.xml" && ok "windows11 has a TPM" || bad "windows11 has no TPM"

before=$(tree_sum) dbefore=$(drivers)
if g deploy gamer --template windows11 --gpu 0000:0c:00.0 --connect "$H" --dry-run; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/gpu.xml"
	check "dry-run with a GPU: the plan binds it first" grep -q "1  bind 0000:0c:00.0" "$tmp/out"
	check "dry-run with a GPU: two hostdevs, multifunction on function 0" \
		test "$(grep -c '<hostdev' "$tmp/gpu.xml")" = 2 -a \
		"$(grep -c 'multifunction="on"' "$tmp/gpu.xml")" = 1
	check "dry-run with a GPU: the XML passes virt-xml-validate" \
		virt-xml-validate "$tmp/gpu.xml" domain
else
	bad "dry-run with a GPU: $(cat "$tmp/err")"
fi
[ "$(tree_sum)" = "$before" ] && [ "$(drivers)" = "$dbefore" ] &&
	ok "--dry-run changed nothing in the machine" || bad "--dry-run changed the machine"
g deploy x --template linux --connect "$H" --dry-run --json &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="gpupv.deploy/1" and d["dry_run"] and [s["kind"] for s in d["steps"]]==["create-volume","define","start"] and d["domain_xml"].startswith("<domain")' "$tmp/out" &&
	ok "--json: the plan as gpupv.deploy/1" || bad "--json: $(head -5 "$tmp/out" "$tmp/err")"

# ---- --import, direct kernel boot, the serial log -------------------------------------------
# The plan and the XML of each (the test driver keeps nothing after gpupv exits: what libvirt
# keeps is read back in tests/deploy-daemon.sh).
mkdir -p "$tmp/img" "$tmp/boot" "$tmp/logs"
printf 'QFI\373\0\0\0\3' >"$tmp/img/sys.qcow2" && truncate -s 1M "$tmp/img/sys.qcow2"
head -c 65536 /dev/urandom >"$tmp/img/sys.img"
printf 'kernel\n' >"$tmp/boot/vmlinuz" && printf 'initrd\n' >"$tmp/boot/initrd.img"
xq() { # FILE XPATH: an element's text or (XPATH ending in /@name) an attribute, per match
	python3 -c '
import sys, xml.etree.ElementTree as ET
root, path = ET.parse(sys.argv[1]).getroot(), sys.argv[2]
attr = None
if "/@" in path:
	path, attr = path.rsplit("/@", 1)
for e in root.findall(path):
	print(e.get(attr, "") if attr else (e.text or ""))' "$@"
}
dry_xml() { sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/$1.xml"; }
for fmt in qcow2 raw; do
	f=sys.img
	[ $fmt = qcow2 ] && f=sys.qcow2
	if (cd "$tmp/img" && g deploy imp --template linux --import "$f" --connect "$H" --dry-run); then
		dry_xml imp-$fmt
		[ "$(xq "$tmp/imp-$fmt.xml" "devices/disk[@device='disk']/source/@file")" = "$tmp/img/$f" ] &&
			[ "$(xq "$tmp/imp-$fmt.xml" "devices/disk[@device='disk']/@type")" = file ] &&
			[ "$(xq "$tmp/imp-$fmt.xml" "devices/disk[@device='disk']/driver/@type")" = $fmt ] &&
			virt-xml-validate "$tmp/imp-$fmt.xml" domain >/dev/null &&
			ok "--import $fmt (relative path): <disk type='file'> at the absolute path, driver type $fmt" ||
			bad "--import $fmt XML: $(grep -A4 'device="disk"' "$tmp/imp-$fmt.xml")"
		! grep -q "create-volume\|qcow2 volume" "$tmp/out" &&
			has "its disk: the $fmt image $tmp/img/$f, imported (undeploy leaves it)" &&
			ok "--import $fmt: the plan makes no volume and says the image stays" ||
			bad "--import $fmt plan: $(cat "$tmp/out")"
	else
		bad "--import $fmt: $(cat "$tmp/err")"
	fi
done
if (cd "$tmp/boot" && g deploy kb --template linux --boot-kernel vmlinuz --boot-initrd ./initrd.img \
	--boot-cmdline 'console=ttyS0 root=/dev/vda1 quiet' --serial-log ../logs/kb.log --connect "$H" --dry-run); then
	dry_xml kb
	[ "$(xq "$tmp/kb.xml" os/kernel)" = "$tmp/boot/vmlinuz" ] &&
		[ "$(xq "$tmp/kb.xml" os/initrd)" = "$tmp/boot/initrd.img" ] &&
		[ "$(xq "$tmp/kb.xml" os/cmdline)" = "console=ttyS0 root=/dev/vda1 quiet" ] &&
		[ "$(xq "$tmp/kb.xml" devices/serial/log/@file)" = "$tmp/logs/kb.log" ] &&
		[ -z "$(xq "$tmp/kb.xml" "devices/disk[@device='disk']/@type")" ] &&
		virt-xml-validate "$tmp/kb.xml" domain >/dev/null &&
		ok "--boot-kernel/--boot-initrd/--boot-cmdline/--serial-log: <os> and <serial><log> with absolute paths, no disk" ||
		bad "kernel boot XML: $(cat "$tmp/kb.xml")"
	grep -q "1  define the domain 'kb' (linux, .*; no disk; direct kernel boot: $tmp/boot/vmlinuz, initrd $tmp/boot/initrd.img, command line 'console=ttyS0 root=/dev/vda1 quiet'; serial console logged to $tmp/logs/kb.log)" "$tmp/out" &&
		ok "kernel boot without --disk: the plan makes no volume and says what boots" ||
		bad "kernel boot plan: $(cat "$tmp/out")"
else
	bad "kernel boot dry-run: $(cat "$tmp/err")"
fi
g deploy kb --template linux --boot-kernel "$tmp/boot/vmlinuz" --boot-cmdline 'console=ttyS0' \
	--import "$tmp/img/sys.qcow2" --connect "$H" --dry-run --json &&
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [s["kind"] for s in d["steps"]]
assert kinds == ["define", "start"], kinds
assert "direct kernel boot: " + sys.argv[2] in d["steps"][0]["what"], d["steps"][0]
assert "the qcow2 image " + sys.argv[3] in d["steps"][0]["what"], d["steps"][0]
x = d["domain_xml"]
assert "<kernel>" + sys.argv[2] + "</kernel>" in x and "<cmdline>console=ttyS0</cmdline>" in x, x
assert "<initrd>" not in x, x
' "$tmp/out" "$tmp/boot/vmlinuz" "$tmp/img/sys.qcow2" &&
	ok "--json: the define step and the domain XML show the kernel and the imported image" ||
	bad "--json with --boot-kernel and --import: $(cat "$tmp/out" "$tmp/err")"
g deploy kb --template linux --boot-kernel "$tmp/boot/vmlinuz" --disk 2G --connect "$H" --dry-run &&
	has "create the 2 GiB qcow2 volume 'kb.qcow2'" &&
	ok "kernel boot with --disk: the volume is made" || bad "kernel boot with --disk: $(cat "$tmp/out")"
# Applied (the test driver keeps it while gpupv runs): no pool is asked for, and a failure at
# the define step undoes nothing of the person's.
g deploy kb --template linux --boot-kernel "$tmp/boot/vmlinuz" --pool nosuchpool --no-start --connect "$H" &&
	has "deployed 'kb'" && ok "kernel boot without --disk needs no pool" ||
	bad "kernel boot with no pool: $(cat "$tmp/err")"
before=$(md5sum <"$tmp/img/sys.qcow2")
GPUPV_TEST_FAIL_STEP=1 g deploy imp --template linux --import "$tmp/img/sys.qcow2" --connect "$H"
[ $? = 1 ] && has "checked: no domain 'imp' is left" && [ "$(md5sum <"$tmp/img/sys.qcow2")" = "$before" ] &&
	ok "--import, a failure at define: nothing left, the image as it was" ||
	bad "--import rollback: $(cat "$tmp/err")"

# ---- the GPUs of a host that is not this one: libvirt's node devices ------------------------
# Without --root, a test:// (or remote) URI's GPUs are libvirt's: the demo host's.
if "$GPUPV" deploy lan --template linux --gpu 0000:0c:00.0 --connect "$H" --dry-run >"$tmp/out" 2>"$tmp/err"; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/remote.xml"
	grep -q "1  detach 0000:0c:00.1, 0000:0c:00.0 from the host to vfio-pci through libvirt" "$tmp/out" &&
		[ "$(grep -c '<hostdev' "$tmp/remote.xml")" = 2 ] && virt-xml-validate "$tmp/remote.xml" domain >/dev/null &&
		ok "a remote host's GPU: from libvirt's node devices, detached through libvirt" ||
		bad "remote GPU plan: $(cat "$tmp/out")"
else
	bad "remote GPU dry-run: $(cat "$tmp/err")"
fi
"$GPUPV" deploy lan --template linux --gpu 0000:0c:00.0 --connect "$H" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && has "not supported by the connection driver" && has "checked: no domain 'lan'" &&
	ok "the test driver cannot detach: refused at that step, nothing left" ||
	bad "remote detach: $(cat "$tmp/err")"
"$GPUPV" deploy lan --template linux --gpu 0000:99:00.0 --connect "$H" --dry-run >"$tmp/out" 2>"$tmp/err"
[ $? != 0 ] && has "no GPU at that address" && ok "a GPU libvirt does not list is refused" ||
	bad "unknown remote GPU: $(cat "$tmp/err")"

"$GPUPV" deploy pick --template linux --gpu auto --connect "$H" --dry-run >"$tmp/out" 2>"$tmp/err" &&
	grep -q "detach 0000:0b:00.1, 0000:0b:00.0" "$tmp/out" &&
	ok "--gpu auto skips the GPU another domain has (the demo host's 'handmade')" ||
	bad "--gpu auto with a GPU given: $(cat "$tmp/out" "$tmp/err")"

# VF shares on such a host (tests/data/sriov-host.xml): an enabled free VF is detached
# through libvirt; VFs to enable, or an NVIDIA GPU's vGPU VFs, cannot be made there.
sed "s|<path>/var/lib/libvirt/images</path>|<path>$tmp/pool</path>|" \
	"$top_srcdir/tests/data/sriov-host.xml" >"$tmp/sriov-host.xml"
S="test://$tmp/sriov-host.xml"
if "$GPUPV" deploy lan --template linux --gpu 0000:03:00.0 --share 30 --connect "$S" --dry-run >"$tmp/out" 2>"$tmp/err"; then
	sed -n '/^<domain/,/^<\/domain>/p' "$tmp/out" >"$tmp/remote-vf.xml"
	grep -q "1  detach 0000:03:00.1 from the host to vfio-pci through libvirt (the VF 0000:03:00.1 of 0000:03:00.0); --share 30: a VF (2 of the 2 enabled free)" "$tmp/out" &&
		[ "$(grep -c '<hostdev' "$tmp/remote-vf.xml")" = 1 ] &&
		grep -q '<address domain="0x0000" bus="0x03" slot="0x00" function="0x1"/>' "$tmp/remote-vf.xml" &&
		virt-xml-validate "$tmp/remote-vf.xml" domain >/dev/null &&
		ok "a remote host's enabled free VF: from libvirt's node devices, detached through libvirt" ||
		bad "remote VF plan: $(cat "$tmp/out")"
else
	bad "remote VF dry-run: $(cat "$tmp/err")"
fi
"$GPUPV" deploy lan --template linux --gpu 0000:03:00.0 --share 30 --connect "$S" --dry-run --json >"$tmp/out" 2>"$tmp/err" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["kind"] for s in d["steps"]]==["detach","create-volume","define","start"], d["steps"]' "$tmp/out" &&
	ok "remote VF --json: the detach step" || bad "remote VF --json: $(cat "$tmp/out" "$tmp/err")"
"$GPUPV" deploy lan --template linux --gpu 0000:03:00.0 --share 30 --connect "$S" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && has "step 1 (detach 0000:03:00.1 .*not supported by the connection driver" &&
	has "checked: no domain 'lan'" &&
	ok "remote VF: the test driver cannot detach; refused at that step, nothing left" ||
	bad "remote VF detach: $(cat "$tmp/err")"
"$GPUPV" deploy lan --template linux --gpu 0000:05:00.0 --share 30 --connect "$S" --dry-run >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && has "would get a VF of 0000:05:00.0, which has none enabled" && has "sriov_numvfs" &&
	has "run gpupv on that host" &&
	ok "remote VF: VFs that would have to be enabled are refused, saying so" ||
	bad "remote VFs to enable: $(cat "$tmp/out" "$tmp/err")"
# A VF whose IOMMU group holds its PF (no ACS between them): the PF cannot go with it.
sed "/<iommuGroup number='11'>/a <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>" \
	"$tmp/sriov-host.xml" >"$tmp/noacs-host.xml"
"$GPUPV" deploy lan --template linux --gpu 0000:03:00.0 --share 30 --connect "test://$tmp/noacs-host.xml" \
	--dry-run >"$tmp/out" 2>"$tmp/err"
[ $? = 4 ] && has "the VF 0000:03:00.1 shares IOMMU group 11 with its PF 0000:03:00.0" &&
	ok "remote VF: one that shares its group with its PF is refused" ||
	bad "remote VF in the PF's group: $(cat "$tmp/out" "$tmp/err")"
"$GPUPV" deploy lan --template linux --gpu auto --share 30 --connect "$S" --dry-run >"$tmp/out" 2>"$tmp/err" &&
	grep -q "1  detach 0000:03:00.1 " "$tmp/out" &&
	ok "remote --gpu auto: VFs to enable and NVIDIA's vGPU VFs are passed over for a free VF" ||
	bad "remote --gpu auto VF: $(cat "$tmp/out" "$tmp/err")"

# ---- a deploy, and its rollback at every step ---------------------------------------------
if g deploy gamer --template windows11 --gpu 0000:0c:00.0 --connect "$H"; then
	check "deploy with a GPU: bound, defined, started" grep -q "deployed 'gamer'" "$tmp/out"
	check "deploy with a GPU: the GPU and its audio are on vfio-pci" \
		test "$(drivers)" = "vfio-pci vfio-pci "
else
	bad "deploy with a GPU: $(cat "$tmp/err")"
fi
env LD_PRELOAD="$model" GPV_MODEL_ROOT="$t" "$GPUPV" --root "$t" unbind 0000:0c:00.0 >/dev/null 2>&1
[ "$(drivers)" = "$dbefore" ] || bad "could not give the GPU back between cases"
for step in 1 2 3 4; do
	if GPUPV_TEST_FAIL_STEP=$step g deploy gamer --template windows11 --gpu 0000:0c:00.0 \
		--connect "$H"; then
		bad "failure at step $step: deploy succeeded"
		continue
	fi
	has "step $step .* failed: injected failure" &&
		has "checked: no domain 'gamer' and no volume 'gamer.qcow2' in pool 'default' are left" &&
		[ "$(drivers)" = "$dbefore" ] && [ ! -e "$t/run/gpupv/bindings/0000:0c:00.0" ] &&
		ok "failure at step $step: everything undone, the GPU back on $dbefore" ||
		bad "failure at step $step: $(cat "$tmp/err") drivers now: $(drivers)"
done

# ---- the unattended-install medium ---------------------------------------------------------
printf 's3cr3t-Pa55\n' >"$tmp/pw" && chmod 600 "$tmp/pw"
if g deploy web1 --template linux --connect "$H" --user alice --password-file "$tmp/pw" --no-start; then
	check "--user: the cloud-init seed is written beside the disk, mode 0600" \
		test "$(stat -c %a "$tmp/pool/web1-seed.iso" 2>/dev/null)" = 600
else
	bad "--user: $(cat "$tmp/err")"
fi
! grep -q s3cr3t "$tmp/out" "$tmp/err" && ok "the password is in no output" || bad "the password was printed"
rm -f "$tmp/pool/web1-seed.iso"
GPUPV_TEST_FAIL_STEP=3 g deploy web2 --template linux --connect "$H" --user alice --password-file "$tmp/pw"
[ ! -e "$tmp/pool/web2-seed.iso" ] && has "undone: write the cloud-init medium" &&
	ok "a failure after the seed removes it" || bad "the seed of a failed deploy: $(cat "$tmp/err")"
g deploy web3 --template linux --connect "$H" --user alice --password-file - --dry-run <"$tmp/pw" &&
	! grep -q s3cr3t "$tmp/out" && ok "--password-file -: from standard input" ||
	bad "--password-file -: $(cat "$tmp/err")"
chmod 644 "$tmp/pw"
g deploy web4 --template linux --connect "$H" --user alice --password-file "$tmp/pw" --dry-run
[ $? = 2 ] && has "chmod 600" && ok "a password file others can read is refused" ||
	bad "mode 0644 password file: $(cat "$tmp/err")"

# ---- --replace -----------------------------------------------------------------------------
g deploy old --template linux --connect "$H"
[ $? = 2 ] && has "a domain named 'old' exists" && ok "an existing name is refused" ||
	bad "existing name: $(cat "$tmp/err")"
g deploy old --template linux --connect "$H" --replace --no-start &&
	has "remove the existing domain 'old'" && ok "--replace removes gpupv's old domain first" ||
	bad "--replace: $(cat "$tmp/err")"
g deploy handmade --template linux --connect "$H" --replace
[ $? = 2 ] && has "was not deployed by gpupv" && ok "--replace leaves a domain gpupv did not make" ||
	bad "--replace of a hand-made domain: $(cat "$tmp/err")"

# ---- bad input: each names the thing and the fix, exit 2, nothing done ------------------------
bad_input() { # EXPECTED-TEXT ARGS...
	local want=$1
	shift
	g deploy "$@" --connect "$H"
	local rc=$?
	if [ $rc = 2 ] && has "$want"; then
		ok "refused: $*"
	else
		bad "'$*' exit $rc, wanted 2 and '$want': $(cat "$tmp/err")"
	fi
}
bad_input "15" much-too-long-name --template windows11
bad_input "name" 'a/b' --template linux
bad_input "no template 'nope'" vm --template nope
bad_input "--memory" vm --template linux --memory 1.5G
bad_input "--disk" vm --template linux --disk 10X
bad_input "memory" vm --template linux --memory 1T
bad_input "logical CPUs" vm --template linux --cpus 64
bad_input "--share" vm --template linux --gpu 0000:0c:00.0 --share 0
bad_input "--user and --password-file go together" vm --template linux --user alice
printf "pw\n" >"$tmp/pw2" && chmod 600 "$tmp/pw2"
bad_input "alice" alice --template linux --user alice --password-file "$tmp/pw2"
bad_input "--template is needed" vm
# --import, --boot-*, --serial-log: each names the file or the options, and the fix.
bad_input "--import IMAGE and --disk SIZE both give the system disk.*drop --disk" vm --template linux --import "$tmp/img/sys.qcow2" --disk 8G
bad_input "--import IMAGE and --iso FILE do not go together.*drop --iso" vm --template linux --import "$tmp/img/sys.qcow2" --iso "$tmp/img/sys.img"
bad_input "--import '$tmp/img/none.qcow2': No such file or directory" vm --template linux --import "$tmp/img/none.qcow2"
bad_input "--import '$tmp/img' is a folder, not a file" vm --template linux --import "$tmp/img"
: >"$tmp/img/empty.img"
bad_input "--import '$tmp/img/empty.img' is empty" vm --template linux --import "$tmp/img/empty.img"
printf 'KDMV\1\0\0\0' >"$tmp/img/disk.vmdk"
bad_input "is a vmdk image.*qemu-img convert -O qcow2" vm --template linux --import "$tmp/img/disk.vmdk"
printf 'QFI\373\0\0\0\1' >"$tmp/img/old.qcow"
bad_input "is a qcow (version 1) image" vm --template linux --import "$tmp/img/old.qcow"
bad_input "--boot-initrd needs --boot-kernel" vm --template linux --boot-initrd "$tmp/boot/initrd.img"
bad_input "--boot-cmdline needs --boot-kernel" vm --template linux --boot-cmdline console=ttyS0
bad_input "--boot-kernel '$tmp/boot/nothing': No such file" vm --template linux --boot-kernel "$tmp/boot/nothing"
bad_input "--boot-initrd '$tmp/boot/nothing': No such file" vm --template linux --boot-kernel "$tmp/boot/vmlinuz" --boot-initrd "$tmp/boot/nothing"
bad_input "template 'windows11' is a Windows guest" vm --template windows11 --boot-kernel "$tmp/boot/vmlinuz"
bad_input "--serial-log '$tmp/no/dir/s.log': its folder" vm --template linux --serial-log "$tmp/no/dir/s.log"
bad_input "--serial-log '$tmp/logs' is a folder" vm --template linux --serial-log "$tmp/logs"
# (a host where no domain has the GT 710 yet)
sed '/<hostdev/,/<\/hostdev>/d' "$tmp/host.xml" >"$tmp/host-free.xml"
g deploy vm --template linux --connect "test://$tmp/host-free.xml" --gpu 0000:0c:00.0 --share 50 --dry-run &&
	has "1  bind 0000:0c:00.0 .*; --share 50: the whole GPU: the smallest free slice of at least 50%; it offers no partitions" &&
	ok "--share 50 on a GPU with no partitions: the whole GPU, and why" ||
	bad "--share 50: $(cat "$tmp/out" "$tmp/err")"
g deploy vm --template linux --connect "test:///nonexistent.xml"
[ $? = 1 ] && has "cannot connect to libvirt" && ok "a bad URI: libvirt's message" ||
	bad "bad URI: $(cat "$tmp/err")"
g deploy --help && has "Usage: gpupv deploy" && ok "deploy --help" || bad "deploy --help"

echo "1..$n"
exit $fail
