# L1 side of the end-to-end test (tests/e2e/e2e.sh), run by tests/vm/run-guest --rootfs host:
# this is an emulated host (QEMU TCG, q35, an emulated IOMMU, AMD SVM so that it has KVM, the
# VGA 01:00.0 + ich9-intel-hda 01:00.1 slot) running this machine's own programs. It starts
# libvirt as a host would, then runs the flow a user would, step by step:
#   setup     kvm_amd, vfio-pci, virtlogd and libvirtd
#   precheck  gpupv precheck: ready, exit 0; the VGA a ready candidate, its audio function
#             (8086:293e beside the VGA's 1234:1111) one of its functions, in its group
#   gpupv-deploy
#             gpupv deploy of the VGA with the linux template (a BIOS copy of it, see
#             gpupv_deploy), booting the L2 guest (--boot-kernel, --boot-initrd, --serial-log):
#             both functions on vfio-pci, the domain running with both as hostdevs
#   gpupv-l2  the L2 guest's result, read from the domain's serial log: both functions
#             present, the bochs ID register read, the VRAM round trip
#   gpupv-undeploy
#             gpupv undeploy: no domain, no volume, bochs-drm and snd_hda_intel back,
#             'gpupv status' empty
#   deploy-fail
#             the same deploy with a failure forced at each of its steps in turn, the start
#             step last (GPUPV_TEST_FAIL_STEP): each fails, and leaves nothing behind
# Each step prints "e2e: step NAME: ok|FAIL (SECONDS s)" (and its "note: " lines, or all its
# output when it fails) and leaves its output in $OUT/NAME;
# the exit status is the number of failed steps. Environment: GPUPV, OUT, and from e2e.sh
# E2E_KERNEL and E2E_INITRD (the L2 guest's, readable here through the shared root) and
# E2E_VMLINUX (the same kernel's ELF vmlinux, if there is one there), E2E_TEMPLATE (the
# shipped templates/linux.xml).
GPU=0000:01:00.0 # the VGA
AUDIO=0000:01:00.1 # its ich9-intel-hda, in the same slot and IOMMU group
DISPLAY=0000:02:00.0 # the bochs-display, alone in its group
NAME=e2e
export LIBVIRT_DEFAULT_URI=qemu:///system
failed=0

now() { cut -d' ' -f1 /proc/uptime; }
drv() { # ADDR: the driver the device is on, or -
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	else
		echo -
	fi
}

# step NAME FUNCTION: runs FUNCTION with its output in $OUT/NAME/log, prints the verdict and
# the time it took; FUNCTION returns non-zero on failure, having said why with 'why'.
step() {
	mkdir -p "$OUT/$1"
	t0=$(now)
	"$2" >"$OUT/$1/log" 2>&1
	rc=$?
	verdict=ok
	[ $rc = 0 ] || { verdict=FAIL; failed=$((failed + 1)); }
	printf 'e2e: step %s: %s (%s s)\n' "$1" "$verdict" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
	if [ $rc = 0 ]; then
		sed -n 's/^note: /    /p' "$OUT/$1/log"
	else
		sed 's/^/    /' "$OUT/$1/log"
	fi
	echo "$1 $verdict $t0 $(now)" >>"$OUT/steps.txt"
	return $rc
}
why() { echo "why: $*"; }

# Waits up to SECONDS (in tenths) for COMMAND to succeed.
wait_for() { # TENTHS COMMAND...
	n=$1
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

setup() {
	modprobe kvm_amd && modprobe vfio-pci || { why "cannot load kvm_amd and vfio-pci"; return 1; }
	[ -c /dev/kvm ] || { why "no /dev/kvm: kvm_amd found no SVM"; return 1; }
	# What udev does on a real host (60-kvm.rules); without it libvirt finds KVM unusable
	# for its qemu user and probes QEMU anew once it becomes usable.
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
	# libvirt's state starts empty, whatever this machine's own libvirt holds.
	for d in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		mount -t tmpfs -o mode=0755 tmpfs "$d" || return 1
	done
	mkdir -p /var/lib/libvirt/images /var/lib/libvirt/qemu /var/log/libvirt/qemu
	rm -f /etc/libvirt/qemu/networks/autostart/*.xml /etc/libvirt/qemu/*.xml
	mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
	# The qemu driver's private /dev for each domain cannot be built in this chroot (QEMU
	# then fails to create the serial console's PTY): the domains share the host's /dev.
	sed -i 's/^#* *namespaces *=.*/namespaces = []/' /etc/libvirt/qemu.conf
	grep -q '^namespaces = \[\]' /etc/libvirt/qemu.conf || echo 'namespaces = []' >>/etc/libvirt/qemu.conf
	# libvirtd probes every QEMU binary as it starts, with KVM and with TCG; L1's domains
	# need only qemu-system-x86_64 (10 s less).
	rm -f /usr/bin/qemu-system-i386
	virtlogd -d && libvirtd -d || { why "cannot start virtlogd and libvirtd"; return 1; }
	wait_for 1200 virsh version || { why "libvirtd did not answer in 120 s"; return 1; }
	virsh version
	# The storage pool a host's libvirt usually has.
	virsh pool-define-as default dir --target /var/lib/libvirt/images && virsh pool-start default ||
		{ why "cannot make the storage pool 'default'"; return 1; }
	echo "$GPU $(drv "$GPU"), $AUDIO $(drv "$AUDIO")"
	[ "$(drv "$GPU")" = bochs-drm ] && [ "$(drv "$AUDIO")" = snd_hda_intel ] ||
		{ why "the L1 host's drivers are not bochs-drm and snd_hda_intel"; return 1; }
}

precheck() {
	"$GPUPV" precheck
	"$GPUPV" precheck --json >"$OUT/precheck/precheck.json"
	rc=$?
	echo "exit $rc"
	python3 - "$OUT/precheck/precheck.json" "$rc" "$GPU" "$AUDIO" <<'PY'
import json, sys
doc, rc, gpu, audio = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], sys.argv[4]
bad = []
if rc != 0 or doc.get("verdict") != "ready":
    bad.append(f"precheck exited {rc}, verdict {doc.get('verdict')}, not 0 and ready")
g = [g for g in doc.get("gpus", []) if g["address"] == gpu]
if not g:
    bad.append(f"{gpu} is not among the GPUs")
else:
    g = g[0]
    print(f"note: {gpu}: verdict {g['verdict']}, functions {g['functions']}, problems "
          f"{[p['code'] for p in g['problems']]}")
    # L1's only VGA is its boot display: precheck says so (boot-vga, an action, as for a
    # host's only GPU), and that its driver is in use until it is bound. Nothing else.
    codes = {p["code"] for p in g["problems"] if p["severity"] != "info"}
    if g["verdict"] not in ("ready", "needs-action") or codes - {"boot-vga"}:
        bad.append(f"{gpu} is {g['verdict']} ({sorted(codes)}), not a candidate ready but for "
                   f"being the boot display")
    if audio not in [m["address"] for m in g["group_members"]]:
        bad.append(f"{audio} is not in {gpu}'s group")
    if audio not in g["functions"]:
        bad.append(f"{audio} is not one of {gpu}'s functions")
for b in bad:
    print("why:", b)
sys.exit(1 if bad else 0)
PY
}

check_clean() { # the L1 host as it was before deploy
	ok=0
	virsh list --all --name | grep -q . && { why "libvirt still has domains: $(virsh list --all --name)"; ok=1; }
	vols=$(virsh vol-list default | awk 'NR > 2 && NF { print $1 }')
	[ -z "$vols" ] || { why "pool default still holds $vols"; ok=1; }
	[ "$(drv "$GPU")" = bochs-drm ] || { why "$GPU is on $(drv "$GPU"), not bochs-drm"; ok=1; }
	[ "$(drv "$AUDIO")" = snd_hda_intel ] || { why "$AUDIO is on $(drv "$AUDIO"), not snd_hda_intel"; ok=1; }
	[ "$(drv "$DISPLAY")" = bochs-drm ] || { why "$DISPLAY is on $(drv "$DISPLAY"), not bochs-drm"; ok=1; }
	st=$("$GPUPV" status 2>&1)
	[ "$st" = "gpupv has bound nothing" ] || { why "gpupv status says: $st"; ok=1; }
	echo "$GPU $(drv "$GPU"), $AUDIO $(drv "$AUDIO"); gpupv status: $st"
	return $ok
}

# gpupv deploy of the VGA: what a user types, made to fit L1 (1 vCPU, 2 GiB, no network).
DEPLOY="deploy $NAME --gpu $GPU --share 100 --memory 512M --cpus 1 --disk 1G --network none"

SERIAL=/var/log/libvirt/qemu/$NAME-serial.log
gpupv_deploy() {
	# The L2 guest, from a template of L1's own: the linux one with BIOS instead of UEFI. OVMF under KVM in this TCG-emulated L1 makes
	# QEMU 7.2 abort (tcg_handle_interrupt: assertion qemu_mutex_iothread_locked() failed).
	mkdir -p /etc/gpupv/templates
	sed -e "s/<os firmware='efi'>/<os>/" -e '/<firmware>/,/<\/firmware>/d' \
		"$E2E_TEMPLATE" >/etc/gpupv/templates/linux-bios.xml
	l2k=$E2E_KERNEL
	[ -r "${E2E_VMLINUX:-}" ] && l2k=$E2E_VMLINUX
	# shellcheck disable=SC2086 # DEPLOY is words
	"$GPUPV" $DEPLOY --template linux-bios --boot-kernel "$l2k" --boot-initrd "$E2E_INITRD" \
		--boot-cmdline "console=ttyS0 panic=-1 quiet" --serial-log "$SERIAL" ||
		{ why "gpupv $DEPLOY failed"; return 1; }
	ok=0
	st=$(virsh domstate $NAME 2>&1)
	[ "$st" = running ] || { why "the domain is '$st', not running"; ok=1; }
	for f in "$GPU" "$AUDIO"; do
		[ "$(drv "$f")" = vfio-pci ] || { why "$f is on $(drv "$f"), not vfio-pci"; ok=1; }
	done
	for fn in 0 1; do
		virsh dumpxml $NAME | grep -q "<address domain='0x0000' bus='0x01' slot='0x00' function='0x$fn'/>" ||
			{ why "the domain has no hostdev for 0000:01:00.$fn"; ok=1; }
	done
	"$GPUPV" status
	return $ok
}

gpupv_l2() {
	# The guest powers off when it is done.
	wait_for 1200 sh -c "! virsh domstate $NAME 2>/dev/null | grep -qx running" ||
		why "the L2 guest still runs after 120 s"
	tr -d '\r' <"$SERIAL" >"$OUT/gpupv-l2/serial.log"
	grep '^E2E-L2 ' "$OUT/gpupv-l2/serial.log"
	ok=1
	for c in "ok vga 1234:1111 class 0300 present" "ok audio 8086:293e present" \
		"ok bochs id register 0xB0C5" "ok vram round trip" "done 0"; do
		grep -q "^E2E-L2 $c" "$OUT/gpupv-l2/serial.log" || { why "L2 did not print '$c'"; ok=0; }
	done
	[ $ok = 1 ] || tail -n 30 "/var/log/libvirt/qemu/$NAME.log"
	[ $ok = 1 ]
}

gpupv_undeploy() {
	"$GPUPV" undeploy $NAME || why "gpupv undeploy failed"
	rm -f "$SERIAL"
	check_clean
}

deploy_fail() {
	# The plan's steps, by kind, in order.
	# shellcheck disable=SC2086 # DEPLOY is words
	kinds=$("$GPUPV" $DEPLOY --template linux --dry-run --json | python3 -c 'import json, sys
print(" ".join(s["kind"] for s in json.load(sys.stdin)["steps"]))') ||
		{ why "cannot read deploy's plan"; return 1; }
	echo "note: the plan: $kinds"
	case " $kinds " in *" start "*) ;; *) why "the plan has no start step"; return 1 ;; esac
	n=0
	for kind in $kinds; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # DEPLOY is words
		if GPUPV_TEST_FAIL_STEP=$n "$GPUPV" $DEPLOY --template linux 2>"$OUT/deploy-fail/err-$n"; then
			why "deploy succeeded with a failure forced at step $n ($kind)"
			return 1
		fi
		cat "$OUT/deploy-fail/err-$n"
		check_clean || { why "a failure forced at step $n ($kind) left the above behind"; return 1; }
		echo "note: a failure forced at step $n ($kind): undone, nothing left"
	done
}

echo "e2e: L1 up after $(now) s"
step setup setup || exit 1
step precheck precheck
step gpupv-deploy gpupv_deploy && step gpupv-l2 gpupv_l2
step gpupv-undeploy gpupv_undeploy
step deploy-fail deploy_fail
exit $failed
