#!/bin/sh
# gpupv plan: the real binary over recorded machines (tests/fixtures) and over an SR-IOV host
# built here, text and --json, and bad input.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
py=${PYTHON3:-python3}
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
fx="$top_srcdir/tests/fixtures"

bad() { echo "FAIL: $*"; fail=1; }

# run LABEL WANT_EXIT ARGS...: runs gpupv, output in $tmp/out and $tmp/err
run() {
	label=$1 want=$2
	shift 2
	n=$((n + 1))
	"$GPUPV" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$label: exit $rc, want $want"
		cat "$tmp/out" "$tmp/err"
	fi
}

has() { # label file pattern
	grep -q -- "$3" "$2" || { bad "$1: $(basename "$2") lacks '$3'"; cat "$2"; }
}

lacks() { # label file pattern
	! grep -q -- "$3" "$2" || { bad "$1: $(basename "$2") has '$3'"; cat "$2"; }
}

json_ok() { # label
	command -v "$py" >/dev/null 2>&1 || return 0
	"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"] == "gpupv.plan/1"' \
		"$tmp/out" || bad "$1: stdout is not one gpupv.plan/1 JSON object"
}

# Intel GVT-g, four types: 100, 50, 25 and 12.5 %.
gvtg="$fx/gvtg-four-types/root"
run "gvtg 30%" 0 plan --root "$gvtg" --share 30
has "gvtg 30%" "$tmp/out" '^1 30%: 0000:00:02.0 mdev i915-GVTg_V5_2 (50%): '
has "gvtg 30%" "$tmp/out" 'the smallest free slice of at least 30%'
[ -s "$tmp/err" ] && bad "gvtg 30%: wrote to stderr: $(cat "$tmp/err")"

run "gvtg 3 x 30%" 4 plan --root "$gvtg" --share 30 --count 3
has "gvtg 3 x 30%" "$tmp/out" '^2 30%: 0000:00:02.0 mdev i915-GVTg_V5_2 (50%): .*already partitioned'
has "gvtg 3 x 30%" "$tmp/out" '^3 30%: none: no free slice of at least 30%: this host can give 100, 50, 25, 12.5'
has "gvtg 3 x 30%" "$tmp/err" '1 of 3 requests cannot be met'
[ "$(wc -l <"$tmp/out")" -eq 3 ] || bad "gvtg 3 x 30%: not one line per request"

# The 12.5% type: 7 instances as the kernel says, not 8.
run "gvtg 8 x 10%" 4 plan --root "$gvtg" --share 10 --count 8
[ "$(grep -c 'i915-GVTg_V5_8 (12.5%)' "$tmp/out")" -eq 7 ] || bad "gvtg 8 x 10%: not 7 of V5_8"
has "gvtg 8 x 10%" "$tmp/out" '^8 10%: none: '

run "gvtg json" 4 plan --root "$gvtg" --json --share 60 --count 2
json_ok "gvtg json"
has "gvtg json" "$tmp/out" '"kind": "whole"'
has "gvtg json" "$tmp/out" '"met": false'
has "gvtg json" "$tmp/out" '"unmet": 1'
if command -v "$py" >/dev/null 2>&1; then
	"$py" - "$tmp/out" <<'EOF' || bad "gvtg json: content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["offered"] == [100, 50, 25, 12.5], d["offered"]
r = d["requests"]
assert len(r) == 2
assert r[0]["met"] and r[0]["gpu"] == "0000:00:02.0" and r[0]["share_percent"] == 100
assert r[0]["partition"] is None and r[0]["share"] == 60
assert not r[1]["met"] and "this host can give" in r[1]["why"]
EOF
fi

# A requests file: labels, comments, blank lines; a 100% request after partitions.
cat >"$tmp/req" <<'EOF'
# web tier
25 web-1
25 web-2   # packed with web-1

12.5% cache
100 render
EOF
run "requests file" 4 plan --root "$gvtg" --requests "$tmp/req"
has "requests file" "$tmp/out" '^1 web-1 25%: 0000:00:02.0 mdev i915-GVTg_V5_4 (25%)'
has "requests file" "$tmp/out" '^2 web-2 25%: 0000:00:02.0 mdev i915-GVTg_V5_4 (25%)'
has "requests file" "$tmp/out" '^3 cache 12.5%: 0000:00:02.0 mdev i915-GVTg_V5_8 (12.5%)'
has "requests file" "$tmp/out" '^4 render 100%: none: .*still free: 25, 12.5'
run "requests on stdin" 0 plan --root "$gvtg" --requests - <<'EOF'
50 a
EOF
has "requests on stdin" "$tmp/out" '^1 a 50%: 0000:00:02.0 mdev i915-GVTg_V5_2'

# Two plain NVIDIA cards: whole GPUs only.
x570="$fx/x570-two-nvidia/root"
run "x570" 4 plan --root "$x570" --share 10 --count 3
has "x570" "$tmp/out" '^1 10%: 0000:0b:00.0 whole - (100%): the whole GPU: .*it offers no partitions'
has "x570" "$tmp/out" '^2 10%: 0000:0c:00.0 whole - (100%)'
has "x570" "$tmp/out" '^3 10%: none: no free slice of at least 10%: this host can give 100 (percent'

# A GPU in a shared IOMMU group is blocked: the other is given, and the message says why.
run "blocked" 4 plan --root "$fx/b550-chipset-slot/root" --share 50 --count 2
has "blocked" "$tmp/out" '^1 50%: 0000:08:00.0 whole'
has "blocked" "$tmp/out" "^2 50%: none: .*'0000:04:00.0' offers nothing: precheck blocks it: group-shared"
lacks "blocked" "$tmp/out" '0000:04:00.0 whole'

# An SR-IOV GPU built here: 8 VFs possible, none enabled; and a plain GPU beside it.
m="$tmp/m"
dev() { # addr vendor device class group [driver]
	d="$m/sys/devices/pci0000:00/$1"
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

run "sriov" 0 plan --root "$m" --share 30 --count 4
has "sriov" "$tmp/out" '^1 30%: 0000:03:00.0 vf VF to enable: sriov_numvfs 3 (33.33%): VF 1 of the 3 to enable (of 8 possible)'
has "sriov" "$tmp/out" '^2 30%: 0000:03:00.0 vf VF to enable: sriov_numvfs 3 (33.33%): .*already partitioned'
has "sriov" "$tmp/out" '^3 30%: 0000:03:00.0 vf VF to enable: sriov_numvfs 3 (33.33%)'
has "sriov" "$tmp/out" '^4 30%: 0000:04:00.0 whole - (100%)'
run "sriov json" 0 plan --root "$m" --json --share 12
json_ok "sriov json"
has "sriov json" "$tmp/out" '"partition": "VF to enable: sriov_numvfs 8"'
has "sriov json" "$tmp/out" '"share_percent": 12.5'
has "sriov json" "$tmp/out" '"offered": \['

# The same GPU with 4 VFs enabled, one of them given to a VM (vfio-pci).
echo 4 >"$m/sys/devices/pci0000:00/0000:03:00.0/sriov_numvfs"
for f in 1 2 3 4; do
	drv=
	[ "$f" = 1 ] && drv=vfio-pci
	dev "0000:03:00.$f" 8086 56c0 038000 "1$f" $drv
	ln -s "../0000:03:00.$f" "$m/sys/devices/pci0000:00/0000:03:00.0/virtfn$((f - 1))"
	ln -s "../0000:03:00.0" "$m/sys/devices/pci0000:00/0000:03:00.$f/physfn"
done
run "sriov enabled" 0 plan --root "$m" --share 20 --count 4
has "sriov enabled" "$tmp/out" '^1 20%: 0000:03:00.0 vf 0000:03:00.2 (25%): a VF (3 of the 4 enabled free)'
has "sriov enabled" "$tmp/out" '^3 20%: 0000:03:00.0 vf 0000:03:00.4 (25%)'
has "sriov enabled" "$tmp/out" '^4 20%: 0000:04:00.0 whole'
lacks "sriov enabled" "$tmp/out" '0000:03:00.1 (25%)'

# Bad input: every one a usage error (2) with a message that says what to give.
for s in 0 101 abc 12.34567 -5 ''; do
	run "--share '$s'" 2 plan --root "$gvtg" --share "$s"
	has "--share '$s'" "$tmp/err" "is not a share: give the percentage of one GPU"
done
run "--count 0" 2 plan --root "$gvtg" --share 10 --count 0
has "--count 0" "$tmp/err" "is not a number of requests"
run "no request" 2 plan --root "$gvtg"
has "no request" "$tmp/err" "give either --share PERCENT"
run "both" 2 plan --root "$gvtg" --share 10 --requests "$tmp/req"
run "--count alone" 2 plan --root "$gvtg" --requests "$tmp/req" --count 2
run "--share on another command" 2 list --root "$gvtg" --share 10
has "--share on another command" "$tmp/err" "list: --share does not apply"
printf '25 web\n\n  abc db # oops\n' >"$tmp/bad"
run "bad line" 2 plan --root "$gvtg" --requests "$tmp/bad"
has "bad line" "$tmp/err" "plan: $tmp/bad:3: 'abc' is not a share: start the line with a percentage of one GPU from 1 to 100"
printf '150\n' >"$tmp/bad"
run "bad share in file" 2 plan --root "$gvtg" --requests "$tmp/bad"
has "bad share in file" "$tmp/err" ":1: '150' is not a share"
printf '# nothing\n' >"$tmp/bad"
run "empty file" 2 plan --root "$gvtg" --requests "$tmp/bad"
has "empty file" "$tmp/err" "holds no request"
run "missing file" 2 plan --root "$gvtg" --requests "$tmp/nope"
has "missing file" "$tmp/err" "cannot read the requests file"

echo "$n plan runs checked"
exit $fail
