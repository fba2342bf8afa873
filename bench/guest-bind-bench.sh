# shellcheck shell=sh
# Guest side of bench/bind (run by /init of tests/vm/run-guest, busybox sh). After a warm-up
# round 0, RUNS rounds (bench.conf) of moving 0000:01:00.0 (VGA) and 0000:01:00.1 (its audio
# function) onto vfio-pci and back, by
#   shell-bind, shell-unbind        one 'sh -c' of the six writes gpupv makes, each way
#   gpupv-bind, gpupv-unbind        gpupv bind / unbind
#   dctl-{set,unset}-{aud,gpu}      driverctl --nosave set-override / unset-override, one
#                                   function at a time (when /guest has driverctl and bash)
# with 'gpupv bind --dry-run', 'gpupv --version', 'sh -c :' and /guest/nop (a C program
# that does nothing) in each round; then, when /guest/libs
# brought libvirt, libvirtd is started and RUNS rounds more (and a warm-up) time
#   virsh-{detach,reattach}-{aud,gpu}  virsh nodedev-detach / nodedev-reattach.
# Each command is timed by /guest/timeit (the guest's monotonic clock). $OUT/times.txt gets
# "ROUND KIND WALL_US CPU_US" lines; $OUT/info "KERNEL GPU_DRIVER AUDIO_DRIVER";
# $OUT/driverctl-skipped and $OUT/virsh-skipped the reason a tool that came could not run.
# A command that fails, or leaves the devices elsewhere than expected, ends it with exit 1.
GPU=0000:01:00.0
AUD=0000:01:00.1
PCI=/sys/bus/pci
RUNS=3
# shellcheck disable=SC1091 # written by bench/bind
. ./bench.conf
T=/guest/timeit

drv() { # ADDR: the driver the device is on, or -
	if [ -e "$PCI/devices/$1/driver" ]; then
		basename "$(readlink "$PCI/devices/$1/driver")"
	else
		echo -
	fi
}
fail() {
	echo "guest-bind-bench: $*"
	exit 1
}
expect() { # WHEN GPU_DRIVER AUDIO_DRIVER
	now="$(drv $GPU) $(drv $AUD)"
	[ "$now" = "$2 $3" ] || fail "after $1, $GPU and $AUD are on '$now', not '$2 $3'"
}
t() { # ROUND KIND COMMAND...
	r=$1 k=$2
	shift 2
	res=$($T /tmp/out "$@") || fail "the timer failed on $*"
	# shellcheck disable=SC2086 # three numbers
	set -- $res
	case $k:$3 in
	*:0) ;;
	*) cat /tmp/out; fail "round $r: $k failed (exit $3)" ;;
	esac
	echo "$r $k $1 $2" >>"$OUT/times.txt"
}

mkdir -p "$OUT"
: >"$OUT/times.txt"
gdrv=$(drv $GPU) adrv=$(drv $AUD)
[ "$gdrv" != - ] && [ "$adrv" != - ] || fail "$GPU and $AUD are on '$gdrv $adrv'"
echo "$(uname -r) $gdrv $adrv" >"$OUT/info"
# vfio-pci is loaded once, before anything is timed, for all of them alike.
modprobe vfio-pci || fail "cannot load vfio-pci"

shell_bind="set -e
echo vfio-pci > $PCI/devices/$AUD/driver_override
echo $AUD > $PCI/drivers/$adrv/unbind
echo $AUD > $PCI/drivers_probe
echo vfio-pci > $PCI/devices/$GPU/driver_override
echo $GPU > $PCI/drivers/$gdrv/unbind
echo $GPU > $PCI/drivers_probe"
shell_unbind="set -e
echo > $PCI/devices/$GPU/driver_override
echo $GPU > $PCI/drivers/vfio-pci/unbind
echo $GPU > $PCI/drivers/$gdrv/bind
echo > $PCI/devices/$AUD/driver_override
echo $AUD > $PCI/drivers/vfio-pci/unbind
echo $AUD > $PCI/drivers/$adrv/bind"

# What bench/bind brought (bash's and libvirt's files, at their paths under /guest/libs) goes
# where the guest has nothing; /bin/bash, busybox's ash, makes room for the real one.
if [ -d /guest/libs ]; then
	(cd /guest/libs && find . -type f) | while read -r f; do
		f=${f#.}
		[ -e "$f" ] || { mkdir -p "${f%/*}" && cp "/guest/libs$f" "$f"; }
	done
fi
dctl=0
if [ -f /guest/driverctl ] && [ -f /guest/bash ]; then
	rm -f /bin/bash
	cp /guest/bash /bin/bash && chmod 755 /bin/bash /guest/driverctl
	if /bin/bash -c 'declare -A a=([x]=1); [[ ${a[x]} == 1 ]]' 2>/dev/null; then
		dctl=1
	else
		echo "the host's bash does not run in the guest" >"$OUT/driverctl-skipped"
	fi
fi

r=0
while [ $r -le "$RUNS" ]; do
	echo "round $r of $RUNS"
	t $r shell-bind sh -c "$shell_bind"
	expect "the shell's bind" vfio-pci vfio-pci
	t $r shell-unbind sh -c "$shell_unbind"
	expect "the shell's unbind" "$gdrv" "$adrv"
	t $r gpupv-bind "$GPUPV" bind $GPU
	expect "gpupv bind" vfio-pci vfio-pci
	t $r gpupv-unbind "$GPUPV" unbind $GPU
	expect "gpupv unbind" "$gdrv" "$adrv"
	if [ $dctl = 1 ]; then
		t $r dctl-set-aud /guest/driverctl --nosave set-override $AUD vfio-pci
		t $r dctl-set-gpu /guest/driverctl --nosave set-override $GPU vfio-pci
		expect "driverctl set-override" vfio-pci vfio-pci
		t $r dctl-unset-gpu /guest/driverctl --nosave unset-override $GPU
		t $r dctl-unset-aud /guest/driverctl --nosave unset-override $AUD
		expect "driverctl unset-override" "$gdrv" "$adrv"
	fi
	t $r plan "$GPUPV" bind --dry-run $GPU
	t $r version "$GPUPV" --version
	t $r sh-start sh -c :
	t $r nop /guest/nop
	r=$((r + 1))
done

# libvirt, last: its daemon listens to every uevent, and would slow the others down. A
# minimal setup: root's QEMU driver without confinement, a socket without authentication.
if [ -x /usr/sbin/libvirtd ] && [ -x /usr/bin/virsh ]; then
	printf '%s\n' root:x:0:0:root:/root:/bin/sh libvirt-qemu:x:64055:64055::/var/lib/libvirt:/bin/false >/etc/passwd
	printf '%s\n' root:x:0: kvm:x:994: libvirt:x:995: libvirt-qemu:x:64055: >/etc/group
	mkdir -p /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
	ln -sfn /run /var/run
	printf '%s\n' 'auth_unix_rw = "none"' 'auth_unix_ro = "none"' >/etc/libvirt/libvirtd.conf
	printf '%s\n' 'user = "root"' 'group = "root"' 'security_driver = "none"' \
		'cgroup_controllers = [ ]' >/etc/libvirt/qemu.conf
	/usr/sbin/libvirtd >/tmp/libvirtd.log 2>&1 &
	i=0
	while [ $i -lt 300 ] && ! virsh -c qemu:///system nodedev-list >/dev/null 2>&1; do
		sleep 0.1
		i=$((i + 1))
	done
	if virsh -c qemu:///system nodedev-list 2>/dev/null | grep -q pci_0000_01_00_0; then
		export LIBVIRT_DEFAULT_URI=qemu:///system
		a=pci_$(echo $AUD | tr :. __) g=pci_$(echo $GPU | tr :. __)
		r=0
		while [ $r -le "$RUNS" ]; do
			echo "virsh round $r of $RUNS"
			t $r virsh-detach-aud virsh nodedev-detach $a
			t $r virsh-detach-gpu virsh nodedev-detach $g
			expect "virsh nodedev-detach" vfio-pci vfio-pci
			t $r virsh-reattach-gpu virsh nodedev-reattach $g
			t $r virsh-reattach-aud virsh nodedev-reattach $a
			expect "virsh nodedev-reattach" "$gdrv" "$adrv"
			r=$((r + 1))
		done
	else
		tail -5 /tmp/libvirtd.log
		echo "libvirtd did not come up in the guest (or did not list the GPU)" >"$OUT/virsh-skipped"
	fi
fi
[ -z "$(cat $PCI/devices/$GPU/driver_override $PCI/devices/$AUD/driver_override | grep -v '(null)')" ] ||
	fail "an override was left behind"
exit 0
