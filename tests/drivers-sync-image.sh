#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv drivers-sync into disk images, through libguestfs's appliance (under TCG here: every
# gpupv run below starts one, some 20 s, so they are few). The images are made without it:
# mke2fs -d writes a Debian 12-like guest root (os-release, fstab, merged /usr) into an ext4
# file system, which libguestfs inspects as Linux; what a sync wrote is read back without
# libguestfs too, by e2fsprogs' debugfs (qemu-img makes a raw copy of a qcow2 image), so the
# checks do not trust the code under test. Hosts come from tests/drivers/gen-host: nvidia
# 550.127.05, then an upgrade to 565.57.01.
#   qcow2 (a partitioned disk): first sync (--json lists the files added; every file, link and
#   hash as on the host, the manifest complete), --check 0 after it (the partition table read
#   from the image file, no inspection), 3 after the host's upgrade (through an overlay, whose
#   partition table the appliance reads),
#   the upgrade sync (the JSON lists exactly the delta, the old version's files are gone, an
#   unchanged file keeps its inode); an image another process holds is refused, naming the lock;
#   raw (a bare file system): a sync killed in the middle of its renames, finished by the next
#   run; --check of both images in one run (0, a JSON document each); a hostile image
#   (usr/lib -> /, no operating system): refused, nothing written.
# Skipped (77) with the reason when libguestfs cannot start its appliance here.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
gen=$top_srcdir/tests/drivers/gen-host
export PATH=$PATH:/sbin:/usr/sbin
for tool in gcc objcopy ldconfig depmod python3 xxhsum; do
	command -v $tool >/dev/null ||
		{ echo "SKIP: needs $tool to generate a driver installation and check it"; exit 77; }
done
for tool in mke2fs debugfs sfdisk qemu-img qemu-nbd guestfish; do
	command -v $tool >/dev/null ||
		{
		echo "SKIP: needs $tool (Debian packages e2fsprogs, fdisk, qemu-utils, libguestfs-tools)"
		exit 77
	}
done

tmp=$(mktemp -d) || exit 99
nbd_pid=
cleanup() {
	[ -z "$nbd_pid" ] || kill "$nbd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# libguestfs's sockets and overlays go here (a killed run leaves its own behind); its cached
# appliance stays where it is, shared with every other run.
export LIBGUESTFS_TMPDIR=$tmp/lgfs
mkdir "$tmp/lgfs"
n=0 fail=0 launches=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }
check() { # DESCRIPTION COMMAND... (a compound one: check DESCRIPTION eval '...'); 1 on failure
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; return 1; fi
}
ds() { # HOST ARGS...: gpupv drivers-sync, output in $tmp/out, $tmp/err, status in $rc
	local host=$1
	shift
	launches=$((launches + 1))
	"$GPUPV" --root "$host" drivers-sync "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
show_err() { sed 's/^/# /' "$tmp/err" | head -20; }

new_guest() { # DIR: a Debian 12 root as libguestfs's inspection wants it
	mkdir -p "$1/usr/lib/x86_64-linux-gnu" "$1/usr/bin" "$1/etc" "$1/var/lib"
	ln -s usr/lib "$1/lib"
	ln -s usr/bin "$1/bin"
	cat >"$1/etc/os-release" <<-'EOF'
	PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
	NAME="Debian GNU/Linux"
	VERSION_ID="12"
	VERSION_CODENAME=bookworm
	ID=debian
	EOF
	echo 12.7 >"$1/etc/debian_version"
	# As an installer writes it: none of these mounts anything where drivers-sync writes.
	cat >"$1/etc/fstab" <<-'EOF'
	# /etc/fstab: static file system information.
	LABEL=root / ext4 errors=remount-ro 0 1
	UUID=8A3F-11D2  /boot/efi  vfat  umask=0077  0 1
	LABEL=home /home ext4 defaults 0 2
	/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0
	tmpfs /tmp tmpfs defaults 0 0
	UUID=77aa none swap sw 0 0
	EOF
	echo guest >"$1/etc/hostname"
	# The architecture is read from a program of the guest's.
	cp /bin/sh "$1/usr/bin/sh"
	echo "a library of the guest's own" >"$1/usr/lib/x86_64-linux-gnu/libown.so.1"
}
# A partitioned disk (one partition at 1 MiB) as qcow2, or a bare file system as raw.
OFFSET=1048576
make_qcow2() { # ROOT IMAGE
	truncate -s 100M "$tmp/mk.raw" &&
		echo 'start=2048, type=83' | sfdisk -q "$tmp/mk.raw" &&
		mke2fs -q -t ext4 -L root -E offset=$OFFSET -d "$1" "$tmp/mk.raw" 96M &&
		qemu-img convert -f raw -O qcow2 "$tmp/mk.raw" "$2" && rm -f "$tmp/mk.raw"
}
make_raw() { # ROOT IMAGE
	truncate -s 64M "$2" && mke2fs -q -t ext4 -L root -d "$1" "$2"
}
# The image's file system, unpacked by debugfs into DIR (links as links, modes and mtimes kept);
# $fs names it for debugfs until the next unpack.
unpack() { # IMAGE DIR
	fs=$1
	rm -rf "$2" && mkdir "$2" || return 1
	if [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "QFI373" ]; then
		qemu-img convert -U -f qcow2 -O raw "$1" "$tmp/unpack.raw" || return 1
		fs="$tmp/unpack.raw?offset=$OFFSET"
	fi
	debugfs -R "rdump / $2" "$fs" >/dev/null 2>"$tmp/debugfs.err"
	[ -d "$2/etc" ] || { sed 's/^/# /' "$tmp/debugfs.err"; return 1; }
}
inode() { # PATH: its inode number in the file system last unpacked
	debugfs -R "stat $1" "$fs" 2>/dev/null | sed -n 's/^Inode: *\([0-9]*\).*/\1/p'
}
# Every file the run's --json lists (add, change, keep) is in the unpacked guest as on the host:
# bytes, mode, links as links; the manifest is complete, for the host's version, and its
# hashes are those xxhsum -H2 gives for the host's files.
same_as_host() { # HOST GUEST JSON VERSION
	python3 - "$@" <<'PY'
import json, os, stat, subprocess, sys
host, guest, plan, version = sys.argv[1:]
bad = 0
def differs(what, p):
    global bad
    print("# differs:", what, p)
    bad = 1
(drv,) = json.load(open(plan))["targets"][0]["drivers"]
for kind in ("add", "change", "keep"):
    for f in drv[kind]:
        p = f["path"].lstrip("/")
        g, h = os.path.join(guest, p), os.path.join(host, p)
        if os.path.islink(h) and os.path.basename(os.readlink(h)) == os.readlink(h):
            if not (os.path.islink(g) and os.readlink(g) == os.readlink(h)):
                differs("link", p)
        elif (os.path.islink(g) or not os.path.isfile(g) or
              open(g, "rb").read() != open(os.path.realpath(h), "rb").read() or
              stat.S_IMODE(os.stat(g).st_mode) != stat.S_IMODE(os.stat(h).st_mode) or
              os.stat(g).st_mtime_ns != os.stat(h).st_mtime_ns):
            differs("file", p)
m = json.load(open(os.path.join(guest, "var/lib/gpupv/drivers.json")))
(v,) = m["drivers"]
if v["state"] != "complete" or v["version"] != version:
    differs("manifest", v["state"] + " " + v["version"])
files = [f for f in v["files"] if f["type"] == "file"]
out = subprocess.run(["xxhsum", "-H2"] +
                     [os.path.realpath(os.path.join(host, f["path"].lstrip("/"))) for f in files],
                     capture_output=True, text=True, check=True).stdout.split("\n")
for f, line in zip(files, out):
    if line.split()[0] != f["hash"]:
        differs("hash in the manifest", f["path"])
if len(files) < 15:
    differs("too few files in the manifest", str(len(files)))
sys.exit(bad)
PY
}
no_temp_left() { [ -z "$(find "$1" -name '.gpupv-new.*')" ]; }
own_untouched() { # GUEST: the guest's own files as they were
	local f
	for f in usr/lib/x86_64-linux-gnu/libown.so.1 etc/os-release etc/fstab usr/bin/sh; do
		cmp -s "$1/$f" "$tmp/root/$f" || { echo "# changed: $f"; return 1; }
	done
}

# Two hosts: nvidia 550.127.05, and the same host upgraded to 565.57.01.
h1=$tmp/h1 h2=$tmp/h2
"$gen" "$h1" --vendor nvidia --version 550.127.05 >/dev/null 2>"$tmp/gen.err" ||
	{ cat "$tmp/gen.err"; echo "Bail out! gen-host failed"; exit 99; }
cp -a "$h1" "$h2"
"$gen" "$h2" --vendor nvidia --version 565.57.01 >/dev/null 2>"$tmp/gen.err" ||
	{ cat "$tmp/gen.err"; echo "Bail out! gen-host upgrade failed"; exit 99; }

new_guest "$tmp/root"
Q=$tmp/guest.qcow2
make_qcow2 "$tmp/root" "$Q" || { echo "Bail out! cannot make the qcow2 image"; exit 99; }
unpack "$Q" "$tmp/before" || { echo "Bail out! debugfs cannot read the image"; exit 99; }

# --- qcow2: first sync ---
ds "$h1" --image "$Q" --json
if [ "$rc" != 0 ] && grep -q "libguestfs" "$tmp/err"; then
	# gpupv's fault, or this host's? libguestfs's own tool says.
	if ! guestfish -a /dev/null run >"$tmp/gf.out" 2>&1; then
		echo "SKIP: libguestfs cannot start its appliance here ($(grep -m1 error "$tmp/gf.out"));" \
			"libguestfs-test-tool says why"
		exit 77
	fi
fi
[ "$rc" = 0 ] || { show_err; echo "Bail out! the first sync failed, though libguestfs works here"; exit 1; }
cp "$tmp/out" "$tmp/sync1.json"
check "first sync into a qcow2 image: exit 0" [ "$rc" = 0 ] || show_err
check "first sync: --json names the image and lists the files added" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "gpupv.drivers-sync/1" and not d["dry_run"], d
(t,) = d["targets"]
assert t["target"] == sys.argv[2] and t["kind"] == "image", d
(v,) = t["drivers"]
assert v["state"] == "synced" and v["to"] == "550.127.05" and "from" not in v, v
paths = [f["path"] for f in v["add"]]
assert len(paths) > 15 and not v["change"] and not v["remove"] and not v["keep"], v
for want in ("/usr/lib/x86_64-linux-gnu/libcuda.so.550.127.05",
             "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
             "/lib/firmware/nvidia/550.127.05/gsp_ga10x.bin",
             "/usr/bin/nvidia-smi",
             "/usr/share/vulkan/icd.d/nvidia_icd.json"):
    assert want in paths, want
' "$tmp/sync1.json" "$Q"
unpack "$Q" "$tmp/g1"
icd=/usr/share/vulkan/icd.d/nvidia_icd.json
icd_ino=$(inode "$icd")
check "first sync: files, links, modes, mtimes as the host's; manifest complete, hashes the host's" \
	same_as_host "$h1" "$tmp/g1" "$tmp/sync1.json" 550.127.05
check "first sync: through the guest's lib -> usr/lib, into usr/lib" \
	eval '[ -L "$tmp/g1/lib" ] && [ -f "$tmp/g1/usr/lib/firmware/nvidia/550.127.05/gsp_ga10x.bin" ]'
check "first sync: the SONAME link is a link" \
	[ "$(readlink "$tmp/g1/usr/lib/x86_64-linux-gnu/libcuda.so.1")" = libcuda.so.550.127.05 ]
check "first sync: the guest's own files are untouched, no temporary file left" \
	eval 'own_untouched "$tmp/g1" && no_temp_left "$tmp/g1"'

ds "$h1" --image "$Q" --check -v
check "--check after the sync: exit 0, in step" \
	eval '[ "$rc" = 0 ] && grep -q "in step" "$tmp/out"' || show_err
check "... the image mounted without inspection (one ext4 root, its fstab mounts nothing apart)" \
	grep -q "/dev/sda1 has /etc/os-release: Debian GNU/Linux 12 (bookworm), mounted as / without inspection" "$tmp/err"
check "... its partition table and volume read from the image file, not asked of the appliance" \
	grep -q "1 volumes told from the image files, nothing asked of the appliance" "$tmp/err"
check "... the guest's folders read once each (lstatnslist), not a file at a time" \
	grep -q "/usr/lib/x86_64-linux-gnu: [0-9]* paths read at once" "$tmp/err"

# --- qcow2: the host's driver upgraded ---
# Checked through an overlay (as a VM's snapshot is), whose clusters gpupv does not read
# itself: the appliance reads the partition table, still no inspection.
sum_before=$(md5sum <"$Q")
O=$tmp/overlay.qcow2
qemu-img create -q -f qcow2 -F qcow2 -b "$Q" "$O" || bad "qemu-img cannot make an overlay"
sum_overlay=$(md5sum <"$O")
ds "$h2" --image "$O" --check -v
check "after the host's upgrade, --check: exit 3, naming the versions" \
	eval '[ "$rc" = 3 ] && grep -q "550.127.05 -> 565.57.01" "$tmp/out"' || show_err
check "... an overlay's partition table read in the appliance, mounted without inspection" \
	eval 'grep -q "overlay.qcow2: Operation not supported: reading it in the appliance" "$tmp/err" &&
		! grep -q "asking the appliance for the partitions" "$tmp/err" &&
		grep -q "/dev/sda1 has /etc/os-release: .* without inspection" "$tmp/err"'
check "--check opens the image read-only: not a byte changed" \
	eval '[ "$(md5sum <"$Q")" = "$sum_before" ] && [ "$(md5sum <"$O")" = "$sum_overlay" ]'
rm -f "$O"
ds "$h2" --image "$Q" --json
cp "$tmp/out" "$tmp/sync2.json"
check "upgrade sync: exit 0" [ "$rc" = 0 ] || show_err
unpack "$Q" "$tmp/g2"
check "upgrade sync: a file the upgrade did not change is not rewritten (same inode)" \
	eval '[ -n "$icd_ino" ] && [ "$(inode "$icd")" = "$icd_ino" ]'
# The delta, from the two manifests and the two host trees, not from gpupv's plan.
check "upgrade sync: --json lists exactly the delta (added, changed, removed, kept)" python3 - \
	"$tmp/sync2.json" "$tmp/g1" "$tmp/g2" "$h1" "$h2" <<'PY'
import json, os, sys
plan, g1, g2, h1, h2 = sys.argv[1:]
def files(guest):
    (v,) = json.load(open(os.path.join(guest, "var/lib/gpupv/drivers.json")))["drivers"]
    return {f["path"] for f in v["files"]}
def same(p):
    a, b = os.path.join(h1, p.lstrip("/")), os.path.join(h2, p.lstrip("/"))
    if os.path.islink(a) != os.path.islink(b):
        return False
    if os.path.islink(a) and os.path.basename(os.readlink(a)) == os.readlink(a):
        return os.readlink(a) == os.readlink(b)
    return (open(os.path.realpath(a), "rb").read() == open(os.path.realpath(b), "rb").read() and
            os.stat(a).st_mode == os.stat(b).st_mode)
old, new = files(g1), files(g2)
(v,) = json.load(open(plan))["targets"][0]["drivers"]
got = {k: {f["path"] for f in v[k]} for k in ("add", "change", "remove", "keep")}
want = {"add": new - old, "remove": old - new,
        "change": {p for p in old & new if not same(p)}, "keep": {p for p in old & new if same(p)}}
for k in want:
    if got[k] != want[k]:
        print("#", k, "extra:", sorted(got[k] - want[k]), "missing:", sorted(want[k] - got[k]))
        sys.exit(1)
assert v["from"] == "550.127.05" and v["to"] == "565.57.01" and v["state"] == "synced", v
assert "/usr/lib/x86_64-linux-gnu/libnvidia-gpucomp.so.565.57.01" in got["add"]
assert "/usr/lib/x86_64-linux-gnu/libnvidia-fbc.so.550.127.05" in got["remove"]
assert "/usr/share/vulkan/icd.d/nvidia_icd.json" in got["keep"]
print("# %d added, %d changed, %d removed, %d kept" %
      tuple(len(got[k]) for k in ("add", "change", "remove", "keep")))
PY
check "upgrade sync: the guest has the new driver as the host, manifest and hashes included" \
	same_as_host "$h2" "$tmp/g2" "$tmp/sync2.json" 565.57.01
check "upgrade sync: the old version's files are gone, no temporary file left" \
	eval '[ -z "$(find "$tmp/g2" -name "*550.127.05*" ! -type d)" ] && no_temp_left "$tmp/g2"'
check "upgrade sync: the old version's emptied firmware folder is removed, its parent kept" \
	eval '[ ! -e "$tmp/g2/usr/lib/firmware/nvidia/550.127.05" ] && [ -d "$tmp/g2/usr/lib/firmware/nvidia/565.57.01" ]'
check "upgrade sync: the guest's own files are untouched" own_untouched "$tmp/g2"

# --- an image another process has open for writing (qemu's image lock) ---
if qemu-nbd --fork --persistent --pid-file="$tmp/nbd.pid" -k "$tmp/nbd.sock" -f qcow2 "$Q" \
	2>"$tmp/nbd.err"; then
	nbd_pid=$(cat "$tmp/nbd.pid")
	sum_before=$(md5sum <"$Q")
	ds "$h1" --image "$Q"
	check "an image in use by another process: refused (exit 1), saying so with qemu's reason" \
		eval '[ "$rc" = 1 ] && grep -q "in use.*lock" "$tmp/err"' || show_err
	kill "$nbd_pid" && nbd_pid=
	check "... and the image unchanged" [ "$(md5sum <"$Q")" = "$sum_before" ]
else
	ok "# SKIP an image in use: qemu-nbd cannot serve it here ($(head -1 "$tmp/nbd.err"))"
	ok "# SKIP an image in use"
fi

# --- raw: a sync killed among its renames, finished by the next run ---
# Its fstab mounts /var from a file system of its own (not in the image): drivers-sync must not
# take the root file system alone for the guest's files, and inspects.
R=$tmp/guest.raw
cp -a "$tmp/root" "$tmp/rroot" && echo 'LABEL=var /var ext4 defaults 0 2' >>"$tmp/rroot/etc/fstab"
make_raw "$tmp/rroot" "$R" || { echo "Bail out! cannot make the raw image"; exit 99; }
launches=$((launches + 1))
# (The braces keep bash's own "Killed" off the log.)
{
	GPUPV_TEST_KILL_AT=12 "$GPUPV" --root "$h2" drivers-sync --image "$R" >/dev/null 2>"$tmp/err"
} 2>/dev/null
krc=$?
check "raw image: a sync killed before its 12th change (a rename) dies there" [ "$krc" = 137 ] ||
	show_err
# What the guest would see at its next boot: the journal replayed (on a copy).
cp "$R" "$tmp/k.raw" && e2fsck -E journal_only "$tmp/k.raw" >/dev/null 2>&1
unpack "$tmp/k.raw" "$tmp/k"
rm -f "$tmp/k.raw"
# The manifest reached the disk before anything else was written; the temporary files and the
# renames made before the kill may not have (the appliance died with its page cache, as a
# power loss would leave it).
check "... leaving the manifest in progress on the disk" python3 -c '
import json, sys
(v,) = json.load(open(sys.argv[1]))["drivers"]
assert v["state"] == "in-progress", v
' "$tmp/k/var/lib/gpupv/drivers.json"
echo "# on the disk after the kill: $(find "$tmp/k" -name '.gpupv-new.*' | wc -l) temporary files"
# The killed run's appliance goes once libguestfs's watchdog sees gpupv gone; its image lock with
# it (qemu-img info needs the lock).
for ((i = 0; i < 60; i++)); do
	qemu-img info -f raw "$R" >/dev/null 2>&1 && break
	sleep 0.5
done
ds "$h2" --image "$R" --json -v
cp "$tmp/out" "$tmp/resume.json"
check "the next run finishes it: exit 0" [ "$rc" = 0 ] || show_err
check "... having inspected the image, whose fstab mounts /var apart from the root" \
	grep -q "/dev/sda's /etc/fstab mounts /var apart from the root: inspecting" "$tmp/err"
check "... as an interrupted sync, says --json" python3 -c '
import json, sys
(v,) = json.load(open(sys.argv[1]))["targets"][0]["drivers"]
assert v["resume"] and v["state"] == "synced", v
' "$tmp/resume.json"
unpack "$R" "$tmp/r"
# Checked against the upgrade's list (the host's files): the finishing run keeps what the killed
# one renamed.
check "... and the raw image has the driver as the host, no temporary file left" \
	eval 'same_as_host "$h2" "$tmp/r" "$tmp/sync2.json" 565.57.01 && no_temp_left "$tmp/r"'

# --- both images at once: in step after their syncs ---
ds "$h2" --image "$Q" --image "$R" --check --json
launches=$((launches + 1))
check "--check of both images in one run: exit 0" [ "$rc" = 0 ] || show_err
check "... one JSON document, the images in the order given, each in step" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dry_run"] and [t["target"] for t in d["targets"]] == sys.argv[2:], d
for t in d["targets"]:
    (v,) = t["drivers"]
    assert t["kind"] == "image" and v["state"] == "in-step" and v["to"] == "565.57.01", d
' "$tmp/out" "$Q" "$R"

# --- a hostile image: usr/lib is a link to / (a bare file system: no operating system) ---
mkdir -p "$tmp/hroot/usr" "$tmp/hroot/etc"
ln -s / "$tmp/hroot/usr/lib"
ln -s usr/lib "$tmp/hroot/lib"
echo hostile >"$tmp/hroot/etc/hostname"
H=$tmp/hostile.raw
make_raw "$tmp/hroot" "$H" || { echo "Bail out! cannot make the hostile image"; exit 99; }
unpack "$H" "$tmp/hb"
ds "$h1" --image "$H"
unpack "$H" "$tmp/ha"
check "an image whose usr/lib is a link to /: refused (exit 1), naming the path" \
	eval '[ "$rc" = 1 ] && grep -q "leads out of the guest" "$tmp/err"' || show_err
check "... and nothing written in it" diff -r --no-dereference "$tmp/hb" "$tmp/ha"

ds "$h1" --image "$tmp/nosuch.qcow2"
launches=$((launches - 1))
check "an --image that does not exist: exit 1, named, without starting libguestfs" \
	eval '[ "$rc" = 1 ] && grep -q "nosuch.qcow2.*No such file" "$tmp/err"' || show_err

echo "# $launches appliance launches (the one of the image in use stops at once)"
echo "1..$n"
exit $fail
