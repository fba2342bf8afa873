#!/bin/sh
# Bad input: broken and hostile machine trees, bad arguments. gpupv must never crash, must
# answer with a verdict or a clear message naming the problem, and must never follow a link
# out of the root.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
py=${PYTHON3:-python3}
tmp=$(mktemp -d) || exit 99
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fail=0
base="$top_srcdir/tests/fixtures/cometlake-gtx1660s/root"

bad() { echo "FAIL: $*"; fail=1; }

fresh() { # copy of the base machine in $tmp/m
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp/m"
	cp -R "$base" "$tmp/m"
	chmod -R u+w "$tmp/m"
}

dev() { # the device directory of an address in $tmp/m
	echo "$tmp/m/sys/devices/pci0000:00/0000:00:01.0/$1"
}

# runs precheck --json; the verdict must come out (exit 0/3/4) with one JSON object
verdict() { # label
	"$GPUPV" precheck --root "$tmp/m" --json >"$tmp/out" 2>"$tmp/err"
	rc=$?
	case $rc in
	0 | 3 | 4) ;;
	*) bad "$1: exit $rc"; cat "$tmp/err"; return 1 ;;
	esac
	if command -v "$py" >/dev/null 2>&1; then
		"$py" -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" ||
			{ bad "$1: stdout is not one JSON object"; return 1; }
	fi
	"$GPUPV" precheck --root "$tmp/m" --no-color >/dev/null 2>>"$tmp/err"
	rc=$?
	case $rc in 0 | 3 | 4) ;; *) bad "$1: text output exit $rc" ;; esac
	return 0
}

has() { # label pattern
	grep -q -- "$2" "$tmp/out" || { bad "$1: output lacks '$2'"; sed -n 1,40p "$tmp/out"; }
}

fresh
printf '\001' >"$(dev 0000:01:00.0)/config"
verdict "truncated config" && has "truncated config" '"address": "0000:01:00.0"'

fresh
printf '0xZZ0000\n' >"$(dev 0000:01:00.0)/class"
verdict "garbage class" && has "garbage class" '"class: Invalid argument"'
grep -q '"address": "0000:01:00.0",\s*$' "$tmp/out" && grep -q '"vendor_id": "10de"' "$tmp/out" &&
	bad "garbage class: the device still counts as a GPU"

fresh
printf 'nvidia\n' >"$(dev 0000:01:00.0)/vendor"
verdict "garbage vendor" && has "garbage vendor" '"vendor: Invalid argument"'

fresh
rm -f "$(dev 0000:01:00.0)/iommu_group"
ln -s ../../../../../../../../../../../../etc "$(dev 0000:01:00.0)/iommu_group"
verdict "group link out of the root" && has "group link out of the root" '"iommu_group": 1'

fresh
rm -f "$tmp/m/sys/kernel/iommu_groups/1/devices/0000:01:00.0"
ln -s ../../../../../../../../../../../../etc/passwd "$tmp/m/sys/kernel/iommu_groups/1/devices/0000:01:00.0"
rm -f "$tmp/m/sys/bus/pci/devices/0000:01:00.0"
ln -s ../../../../../../../../../../../../etc "$tmp/m/sys/bus/pci/devices/0000:01:00.0"
verdict "device link out of the root" && has "device link out of the root" 'device directory: Invalid cross-device link'

fresh
head -c 1048576 /dev/zero | tr '\0' 'a' >"$(dev 0000:01:00.0)/device"
verdict "1 MB attribute" && has "1 MB attribute" '"device: File too large"'

fresh
head -c 1048576 /dev/zero | tr '\0' 'x' >"$tmp/m/proc/cmdline"
verdict "1 MB command line"

fresh
: >"$tmp/m/proc/cpuinfo"
verdict "empty cpuinfo"
grep -A1 '"id": "cpu.virt"' "$tmp/out" | grep -q '"skip"' || bad "empty cpuinfo: cpu.virt is not skip"

fresh
rm -f "$(dev 0000:01:00.0)/driver"
ln -s ../../../bus/pci/drivers/missing-driver "$(dev 0000:01:00.0)/driver"
rm -rf "$(dev 0000:01:00.1)"
verdict "dangling links" && has "dangling links" '"driver": "missing-driver"'

fresh
printf '../../../../x\n' >"$tmp/m/sys/kernel/iommu_groups/1/type"
rm -rf "$tmp/m/sys/kernel/iommu_groups/2"
mkdir -p "$tmp/m/sys/kernel/iommu_groups/not-a-number/devices"
verdict "odd group folders"

fresh
chmod 000 "$(dev 0000:01:00.0)"
if [ "$(id -u)" != 0 ]; then
	verdict "unreadable device" && has "unreadable device" 'Permission denied'
fi
chmod 755 "$(dev 0000:01:00.0)"

# Not a machine at all.
mkdir -p "$tmp/empty"
"$GPUPV" precheck --root "$tmp/empty" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] || bad "empty root: expected exit 1"
grep -q "neither sys/ nor proc/" "$tmp/err" || bad "empty root: no clear message"
"$GPUPV" precheck --root "$top_srcdir/tests/fixtures/x570-two-nvidia" >"$tmp/out" 2>"$tmp/err"
grep -q "did you mean --root" "$tmp/err" || bad "fixture folder instead of its root: no hint"
"$GPUPV" precheck --root "$tmp/does-not-exist" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] || bad "missing root: expected exit 1"
grep -q "does-not-exist" "$tmp/err" || bad "missing root: the message does not name it"

# Usage errors exit 2 and say what to do.
"$GPUPV" frobnicate >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err" || bad "unknown command"
"$GPUPV" precheck --frobnicate >/dev/null 2>"$tmp/err"
[ $? = 2 ] || bad "unknown option: expected exit 2"
"$GPUPV" precheck extra >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "unexpected argument 'extra'" "$tmp/err" || bad "extra operand"
"$GPUPV" >/dev/null 2>&1
[ $? = 2 ] || bad "no command: expected exit 2"
"$GPUPV" --help | grep -q precheck || bad "--help lists no precheck"
"$GPUPV" precheck --help | grep -q "Exit status" || bad "precheck --help"
"$GPUPV" --version | grep -q '^gpupv ' || bad "--version"

# --root before or after the command, or from the environment: the same answer.
r="$top_srcdir/tests/fixtures/b550-chipset-slot/root"
"$GPUPV" precheck --root "$r" --json >"$tmp/a"
"$GPUPV" --root "$r" precheck --json >"$tmp/b"
GPUPV_ROOT="$r" "$GPUPV" precheck --json >"$tmp/c"
cmp -s "$tmp/a" "$tmp/b" || bad "--root before the command gives another answer"
cmp -s "$tmp/a" "$tmp/c" || bad "GPUPV_ROOT gives another answer"
NO_COLOR= "$GPUPV" precheck --root "$r" | grep -q "$(printf '\033')" && bad "colour on a pipe"

[ $fail = 0 ] && echo "all bad-input cases handled"
exit $fail
