#!/bin/sh
# gpupv boot-config over recorded machines: what it advises, and --apply editing a copy's
# /etc/default/grub with a backup (the update command runs only on the live host).
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
t="$tmp/m"

machine() { # fixture cmdline grub-line
	rm -rf "$t"
	cp -R "$top_srcdir/tests/fixtures/$1/root" "$t"
	chmod -R u+w "$t"
	printf '%s\n' "$2" >"$t/proc/cmdline"
	mkdir -p "$t/etc/default"
	printf 'GRUB_DEFAULT=0\n%s\nGRUB_CMDLINE_LINUX=""\n' "$3" >"$t/etc/default/grub"
}

# Intel, nothing on the command line: intel_iommu=on iommu=pt.
machine cometlake-gtx1660s "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet" 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
"$GPUPV" boot-config --root "$t" >"$tmp/out" 2>&1 || bad "advice: exit $?"
grep -q "add to the kernel command line: *intel_iommu=on iommu=pt" "$tmp/out" || { bad "advice"; cat "$tmp/out"; }
grep -q 'then: *GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"' "$tmp/out" || bad "advice: the GRUB line"
cp "$t/etc/default/grub" "$tmp/grub.before"
"$GPUPV" boot-config --root "$t" --apply --dry-run >"$tmp/out" 2>&1
cmp -s "$t/etc/default/grub" "$tmp/grub.before" || bad "--dry-run --apply changed the file"
"$GPUPV" boot-config --root "$t" --apply >"$tmp/out" 2>&1 || bad "--apply: exit $?"
grep -q '^GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"$' "$t/etc/default/grub" || bad "--apply: the line"
grep -q '^GRUB_CMDLINE_LINUX=""$' "$t/etc/default/grub" || bad "--apply changed another line"
set -- "$t"/etc/default/grub.gpupv-*
[ $# = 1 ] && cmp -s "$1" "$tmp/grub.before" || bad "--apply: no faithful backup"
grep -q "run the update command on that machine" "$tmp/out" || bad "--apply on a recorded machine must not run update-grub"
"$GPUPV" boot-config --root "$t" --apply >"$tmp/out" 2>&1 || bad "second --apply: exit $?"
set -- "$t"/etc/default/grub.gpupv-*
[ $# = 1 ] || bad "a second --apply with nothing to change made another backup"
"$GPUPV" boot-config --root "$t" --json >"$tmp/out" 2>&1 || bad "--json: exit $?"
grep -q '"schema": "gpupv.boot-config/1"' "$tmp/out" && grep -q '"intel_iommu=on"' "$tmp/out" || bad "--json"

# Parameters that turn the IOMMU off go.
machine cometlake-gtx1660s "quiet intel_iommu=off" 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=off"'
"$GPUPV" boot-config --root "$t" >"$tmp/out" 2>&1
grep -q "remove from the kernel command line: intel_iommu=off" "$tmp/out" || { bad "removal advice"; cat "$tmp/out"; }
"$GPUPV" boot-config --root "$t" --apply >/dev/null 2>&1
grep -q '^GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"$' "$t/etc/default/grub" || bad "removal --apply"

# AMD: no amd_iommu=on (not a valid value), and a host without an IOMMU is told why.
machine no-iommu-990fx "quiet" 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
"$GPUPV" boot-config --root "$t" >"$tmp/out" 2>&1
grep -q "amd_iommu" "$tmp/out" && ! grep -q "AMD-Vi" "$tmp/out" && bad "AMD advice names amd_iommu"
grep -q "note: the IOMMU is not active" "$tmp/out" || bad "no IOMMU: no note"

# Already right.
machine cometlake-gtx1660s "quiet intel_iommu=on iommu=pt" 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"'
"$GPUPV" boot-config --root "$t" >"$tmp/out" 2>&1
grep -q "already has what this host needs" "$tmp/out" || bad "nothing to do"

# No GRUB: --apply says what to do instead.
machine cometlake-gtx1660s "quiet" ""
rm -f "$t/etc/default/grub"
"$GPUPV" boot-config --root "$t" --apply >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q "/etc/kernel/cmdline" "$tmp/out" || bad "--apply without GRUB"
"$GPUPV" boot-config --root "$t" --force >/dev/null 2>&1
[ $? = 2 ] || bad "--force is not an option of boot-config"

[ $fail = 0 ] && echo "boot-config: advice, --apply, backup, removal, AMD, no GRUB"
exit $fail
