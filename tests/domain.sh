#!/bin/sh
# The domain and nodedev XML gpupv builds, checked by libvirt itself: every template x slice x
# KVM/TCG x Looking Glass must pass virt-xml-validate and be accepted by libvirt's test
# driver; 'gpupv templates' must show a template added through GPUPV_TEMPLATES and name the
# file and line of a broken one.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
tool=$abs_top_builddir/tests/domain-tool
for t in virt-xml-validate virsh; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: no $t (Debian package libvirt-clients)"; exit 77; }
done
[ -x "$tool" ] || { echo "FAIL: $tool is not built (make check builds it)"; exit 1; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export GPUPV_TEMPLATES="$top_srcdir/templates"

mkdir "$tmp/xml"
"$tool" "$tmp/xml" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "domain-tool: exit $?"; }
n=$(ls "$tmp/xml" | wc -l)
# 2 templates x 8 slices x 4 variants, 2 templates x 2 kernel boots, and 2 mdev nodedevs.
[ "$n" -eq 70 ] || bad "domain-tool wrote $n files, not 70"

domains=0
for f in "$tmp/xml"/*.xml; do
	case $f in
	*/nodedev-*) kind=nodedev ;;
	*) kind=domain; domains=$((domains + 1)) ;;
	esac
	virt-xml-validate "$f" $kind >"$tmp/v" 2>&1 || { cat "$tmp/v"; bad "$(basename "$f") does not validate as $kind"; }
done

# One virsh session defines every domain into the test driver (which starts with its own
# 'test' domain): libvirt's parser accepts them, not only the schema.
: >"$tmp/cmds"
for f in "$tmp/xml"/*.xml; do
	case $f in */nodedev-*) continue ;; esac
	echo "define $f" >>"$tmp/cmds"
done
echo "list --all --name" >>"$tmp/cmds"
virsh -c test:///default <"$tmp/cmds" >"$tmp/virsh" 2>&1 || { cat "$tmp/virsh"; bad "virsh define: exit $?"; }
defined=$(grep -c "^Domain '.*' defined from" "$tmp/virsh")
[ "$defined" -eq "$domains" ] || { grep -v "defined from" "$tmp/virsh" | head -20; bad "test driver defined $defined of $domains domains"; }
grep -q '^windows11-whole-geforce-kvm-lg$' "$tmp/virsh" || bad "windows11-whole-geforce-kvm-lg is not listed"
# The kernel boots as libvirt reads them back: <os> holds the kernel, and the serial its log.
for d in linux-kernel-nodisk linux-import-raw-kernel windows11-kernel-nodisk; do
	grep -q "^$d\$" "$tmp/virsh" || bad "$d is not listed"
done
virsh -c test:///default "define $tmp/xml/linux-kernel-nodisk.xml; dumpxml linux-kernel-nodisk" >"$tmp/kb" 2>&1
grep -q "<kernel>/srv/boot/vmlinuz</kernel>" "$tmp/kb" && grep -q "<initrd>/srv/boot/initrd.img</initrd>" "$tmp/kb" &&
	grep -q "<cmdline>console=ttyS0 root=/dev/vda1 panic=-1</cmdline>" "$tmp/kb" &&
	grep -q "<log file='/var/log/gpupv/serial.log' append='off'/>" "$tmp/kb" &&
	! grep -q "device='disk'" "$tmp/kb" || { cat "$tmp/kb"; bad "linux-kernel-nodisk as libvirt reads it back"; }
virsh -c test:///default "define $tmp/xml/linux-import-raw-kernel.xml; dumpxml linux-import-raw-kernel" >"$tmp/kb" 2>&1
grep -q "<source file='/srv/images/vm.img'" "$tmp/kb" && grep -q "<driver name='qemu' type='raw'" "$tmp/kb" ||
	{ cat "$tmp/kb"; bad "linux-import-raw-kernel's disk as libvirt reads it back"; }

# gpupv templates: the shipped ones, one added in a folder, and a broken one.
"$GPUPV" templates >"$tmp/out" 2>&1 || bad "templates: exit $?"
grep -q '^windows11 ' "$tmp/out" && grep -q '^linux ' "$tmp/out" || { cat "$tmp/out"; bad "templates: the shipped ones"; }
grep -q 'TPM 2.0' "$tmp/out" || bad "templates: what windows11 sets"
mkdir "$tmp/mine"
sed -e 's|<gpupv:description>.*</gpupv:description>|<gpupv:description>A test template</gpupv:description>|' \
	"$top_srcdir/templates/linux.xml" >"$tmp/mine/tiny.xml"
GPUPV_TEMPLATES="$tmp/mine:$top_srcdir/templates" "$GPUPV" templates >"$tmp/out" 2>&1 || bad "templates with an added one: exit $?"
grep -q '^tiny  *A test template' "$tmp/out" || { cat "$tmp/out"; bad "templates: the added template"; }
GPUPV_TEMPLATES="$tmp/mine:$top_srcdir/templates" "$GPUPV" templates --json >"$tmp/out" 2>&1 || bad "templates --json: exit $?"
grep -q '"name": "tiny"' "$tmp/out" && grep -q '"schema": "gpupv.templates/1"' "$tmp/out" || { cat "$tmp/out"; bad "templates --json"; }
# A machine's own templates, in its /etc/gpupv/templates under --root.
mkdir -p "$tmp/root/etc/gpupv/templates"
sed -e 's|<gpupv:description>.*</gpupv:description>|<gpupv:description>The host admin'"'"'s</gpupv:description>|' \
	"$top_srcdir/templates/windows11.xml" >"$tmp/root/etc/gpupv/templates/office.xml"
"$GPUPV" templates --root "$tmp/root" >"$tmp/out" 2>&1 || bad "templates --root: exit $?"
grep -q "^office  *The host admin's" "$tmp/out" && grep -q "from: $tmp/root/etc/gpupv/templates/office.xml" "$tmp/out" || { cat "$tmp/out"; bad "templates --root: /etc/gpupv/templates"; }
"$GPUPV" templates >"$tmp/out" 2>&1
grep -q "^office" "$tmp/out" && bad "templates without --root shows the recorded machine's template"

printf '<domain type="kvm">\n  <name>x</name>\n  <devices>\n</domain>\n' >"$tmp/mine/broken.xml"
GPUPV_TEMPLATES="$tmp/mine" "$GPUPV" templates >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || bad "templates with a broken file: exit $rc, not 1"
grep -q "$tmp/mine/broken.xml:4:" "$tmp/out" || { cat "$tmp/out"; bad "templates: the broken file's name and line"; }

exit $fail
