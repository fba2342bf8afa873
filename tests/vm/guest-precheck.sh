# Guest side of tests/vm/precheck.sh (run by /init of tests/vm/run-guest): gpupv precheck and
# gpupv list on a live kernel, and what the kernel itself says, for the host to compare.
echo "== gpupv precheck"
"$GPUPV" precheck
echo "== exit $?"
"$GPUPV" precheck --json >"$OUT/precheck.json" 2>"$OUT/precheck.err"
echo $? >"$OUT/precheck.rc"
echo "== gpupv list"
"$GPUPV" list >"$OUT/list.txt" 2>"$OUT/list.err"
echo $? >"$OUT/list.rc"
cat "$OUT/list.txt"
cat "$OUT/precheck.err" "$OUT/list.err"

# The kernel's view: ADDRESS VENDOR DEVICE CLASS DRIVER GROUP for each PCI function.
for d in /sys/bus/pci/devices/*; do
	drv=-
	[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	grp=-
	[ -e "$d/iommu_group" ] && grp=$(basename "$(readlink "$d/iommu_group")")
	echo "${d##*/} $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class") $drv $grp"
done >"$OUT/pci.txt"
ls /sys/kernel/iommu_groups >"$OUT/groups.txt"
ls /sys/class/iommu >"$OUT/iommus.txt"
cat /proc/cmdline >"$OUT/cmdline.txt"
if [ -e /dev/kvm ]; then echo yes; else echo no; fi >"$OUT/kvm.txt"
grep -m1 -o -w -E 'vmx|svm' /proc/cpuinfo >"$OUT/virt.txt"
exit 0
