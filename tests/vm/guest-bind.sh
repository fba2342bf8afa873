# Guest side of tests/vm/bind.sh (run by /init of tests/vm/run-guest): gpupv bind, unbind,
# status (also of a group held open), injected failures, a timed-out wait, a kill, a failed
# unbind and a refusal, on a live kernel. Each command's output goes to $OUT/NAME/{out,err,rc};
# after each one that changes (or must not change) the host, the host's state goes to
# $OUT/NAME/ too (snap). The host side, tests/vm/check-bind.py, judges it all.
# $OUT/times.txt: NAME START END (the guest's uptime).
GPU=0000:01:00.0 # the VGA; its group holds the ich9-intel-hda 01:00.1 too
GPU2=0000:02:00.0 # the bochs-display, alone in its group

now() { cut -d' ' -f1 /proc/uptime; }

drv() { # ADDR: the driver the device is on, or -
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	else
		echo -
	fi
}

snap() { # NAME: everything bind may change, and what gpupv status says of it
	d=$OUT/$1
	mkdir -p "$d"
	for dev in /sys/bus/pci/devices/*; do
		echo "${dev##*/} $(drv "${dev##*/}") $(cat "$dev/driver_override")"
	done >"$d/drivers.txt"
	ls -A /dev/vfio >"$d/vfio.txt" 2>/dev/null
	ls -A /run/gpupv/bindings >"$d/journals.txt" 2>/dev/null
	for j in /run/gpupv/bindings/*; do
		[ -f "$j" ] && cat "$j"
	done >"$d/journal-text.txt" 2>/dev/null
	"$GPUPV" status --json >"$d/status.json" 2>"$d/status.err"
	echo $? >"$d/status.rc"
	"$GPUPV" status >"$d/status.txt" 2>&1
}

run() { # NAME COMMAND...: output in $OUT/NAME, exit status in $OUT/NAME/rc
	name=$1
	shift
	mkdir -p "$OUT/$name"
	a=$(now)
	"$@" >"$OUT/$name/out" 2>"$OUT/$name/err"
	rc=$?
	b=$(now)
	echo $rc >"$OUT/$name/rc"
	echo "$name $a $b" >>"$OUT/times.txt"
	echo "== $name: exit $rc ($*)"
	sed 's/^/   /' "$OUT/$name/err"
	return $rc
}

step_of() { # VERB PATTERN...: the number of the first (first) or last (last) line of
	# 'gpupv VERB GPU --dry-run' holding every PATTERN
	which=$1 verb=$2
	shift 2
	"$GPUPV" "$verb" "$GPU" --dry-run 2>/dev/null | awk -v which="$which" -v pats="$*" '
		BEGIN { n = split(pats, p, " ") }
		/^ *[0-9]+  / { for (i = 1; i <= n; i++) if (!index($0, p[i])) next
			last = $1; if (which == "first" && !found) { found = $1 } }
		END { print which == "first" ? found : last }'
}

hold() { # FILE: a process ($holder) that holds FILE open, once it does
	# shellcheck disable=SC2217 # sleep only holds the file open
	sleep 1000 <"$1" &
	holder=$!
	i=0
	while [ $i -lt 100 ] && [ "$(readlink /proc/$holder/fd/0)" != "$1" ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

inject() { # NAME VERB N: gpupv VERB GPU --json with step N failing
	mkdir -p "$OUT/$1"
	echo "$3" >"$OUT/$1/step"
	run "$1" env GPUPV_TEST_FAIL_STEP="$3" "$GPUPV" "$2" "$GPU" --json
	snap "$1"
}

mkdir -p "$OUT"
: >"$OUT/times.txt"
echo "$GPU" >"$OUT/gpu"
snap base

# 1. precheck
run precheck "$GPUPV" precheck --json
cp "$OUT/precheck/out" "$OUT/precheck.json"

# The plan, with vfio-pci not loaded yet; a failure at loading it.
run dryrun-first "$GPUPV" bind "$GPU" --dry-run --json
n=$(step_of first bind "load module vfio-pci")
inject fail-load bind "$n"

# 2. bind; the same bind again; a second GPU next to it
run bind "$GPUPV" bind "$GPU" --json
snap bind
ls -l /dev/vfio
run bind-again "$GPUPV" bind "$GPU" --json
snap bind-again
# A process that holds the group open, as a VM would: VFIO lets one open it at a time.
group=$(basename "$(readlink "/sys/bus/pci/devices/$GPU/iommu_group")")
hold "/dev/vfio/$group"
snap in-use
kill $holder
wait $holder 2>/dev/null
run bind-second "$GPUPV" bind "$GPU2" --json
snap bind-second
run unbind-second "$GPUPV" unbind "$GPU2" --json
snap unbind-second

# 3. unbind
run unbind "$GPUPV" unbind "$GPU" --json
snap unbind
ls -l /dev/vfio

# 4. failures injected mid-bind (numbers from the dry run, vfio-pci loaded now)
run dryrun "$GPUPV" bind "$GPU" --dry-run --json
"$GPUPV" bind "$GPU" --dry-run >"$OUT/dryrun/text" 2>/dev/null
cat "$OUT/dryrun/text"
inject fail-first-probe bind "$(step_of first bind "to /sys/bus/pci/drivers_probe")"
inject fail-gpu-unbind bind "$(step_of first bind "'$GPU'" /unbind)"
inject fail-gpu-probe bind "$(step_of first bind "'$GPU'" drivers_probe)"
inject fail-wait-vfio bind "$(step_of first bind "wait for /dev/vfio/")"
inject fail-viable bind "$(step_of first bind "is viable")"
inject fail-bound bind "$(step_of first bind ": bound")"

# A real failure: a tmpfs over /dev/vfio hides the group's node, so the wait for it times out.
mkdir -p /dev/vfio
mount -t tmpfs tmpfs /dev/vfio
run timeout "$GPUPV" bind "$GPU" --json
umount /dev/vfio
snap timeout

# 5. a kill: with /dev/vfio hidden again, every device is moved and gpupv then waits (5 s) for
# the group's node; it is killed during that wait, with the journal still 'binding'.
mount -t tmpfs tmpfs /dev/vfio
mkdir -p "$OUT/kill"
a=$(now)
"$GPUPV" bind "$GPU" >"$OUT/kill/out" 2>"$OUT/kill/err" &
pid=$!
i=0
while [ $i -lt 200 ] && [ "$(drv "$GPU")" != vfio-pci ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.2
kill -9 $pid
wait $pid 2>/dev/null
echo $? >"$OUT/kill/rc"
echo "kill $a $(now)" >>"$OUT/times.txt"
echo "== kill: gpupv bind killed, exit $(cat "$OUT/kill/rc")"
umount /dev/vfio
snap kill
run bind-unfinished "$GPUPV" bind "$GPU" --json
run recover "$GPUPV" unbind --recover
snap recover
run recover-again "$GPUPV" unbind --recover

# A failure injected mid-unbind (the last device's bind write: it is left with no driver):
# the journal stays 'unbinding', and --recover finishes the job.
run bind-2 "$GPUPV" bind "$GPU"
"$GPUPV" unbind "$GPU" --dry-run >"$OUT/bind-2/unbind-plan" 2>/dev/null
inject fail-unbind unbind "$(step_of last unbind "to /sys/bus/pci/drivers/" /bind)"
run recover-unbind "$GPUPV" unbind --recover
snap recover-unbind

# 6. a refusal: a process holds the GPU's DRM node open.
card=
for c in "/sys/bus/pci/devices/$GPU/drm"/card*; do
	[ -e "$c" ] && { card=${c##*/}; break; }
done
echo "$card" >"$OUT/card"
hold "/dev/dri/$card"
echo $holder >"$OUT/holder"
run drm-clients "$GPUPV" bind "$GPU" --json
kill $holder
wait $holder 2>/dev/null
snap drm-clients

snap end
exit 0
