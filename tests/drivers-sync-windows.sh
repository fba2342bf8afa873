#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gpupv drivers-sync into a Windows disk image, through libguestfs's appliance (every run below
# starts one, 20-50 s here, so they are few). The image is an NTFS file system that libguestfs
# inspects as Windows 10: C:\Windows\System32\cmd.exe (a PE32+ program ld links), and the
# SOFTWARE and SYSTEM registry hives, made here from nothing (a minimal regf file written by
# Python, then keys and values merged in by hivexregedit). Its C:\ProgramData is spelt
# "programdata", as Windows would find it whatever the case. The host is nvidia 550.127.05
# (tests/drivers/gen-host), whose profile takes a 55x package from the driver store.
#   an empty store: refused, saying why, exit 1;
#   package 552.74 in the store: copied into ProgramData\gpupv\drivers\552.74 (read back
#   through guestfish), the install script, the manifest drivers.json, and the RunOnce value
#   in the SOFTWARE hive (read back by hivexregedit) that runs it;
#   a second sync: in step, the registry left alone;
#   553.24 added: --check says what the upgrade would do (exit 3); the upgrade: copied,
#   RunOnce runs its script with the previous version to remove after the install, 552.74's
#   folder left for that script, its old script removed.
# Skipped (77) with the reason when a tool is missing or libguestfs cannot start here.
set -u
: "${GPUPV:?GPUPV must name the gpupv binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
gen=$top_srcdir/tests/drivers/gen-host
export PATH=$PATH:/sbin:/usr/sbin
for tool in gcc objcopy ldconfig depmod python3 ld; do
	command -v $tool >/dev/null ||
		{ echo "SKIP: needs $tool to generate a host and a Windows image"; exit 77; }
done
for tool in guestfish hivexregedit; do
	command -v $tool >/dev/null ||
		{ echo "SKIP: needs $tool (Debian packages libguestfs-tools, libwin-hivex-perl)"; exit 77; }
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
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
ds() { # ARGS...: gpupv drivers-sync on the host, output in $tmp/out, $tmp/err, status in $rc
	launches=$((launches + 1))
	"$GPUPV" --root "$h" drivers-sync "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
show_err() { sed 's/^/# /' "$tmp/err" | head -20; }
package() { # DIR VERSION: an extracted driver package, as NVIDIA's installer leaves it
	mkdir -p "$1/Display.Driver" "$1/HDAudio"
	printf '[Version]\r\nSignature="$Windows NT$"\r\nDriverVer=01/01/2024,%s\r\n' "$2" \
		>"$1/Display.Driver/nv_dispi.inf"
	head -c 300000 /dev/urandom >"$1/Display.Driver/nvlddmkm.sys"
	head -c 50000 /dev/urandom >"$1/Display.Driver/nv_dispi.cat"
	printf '[Version]\r\n' >"$1/HDAudio/nvhda.inf"
	echo "setup $2" >"$1/setup.cfg"
}

# --- a Windows image, made without gpupv ---
# A regf hive with its root key only (hivex adds keys to a hive, but cannot make one).
python3 - "$tmp/empty.hive" <<'PY' || { echo "Bail out! cannot write a hive"; exit 99; }
import struct, sys
def cell(payload):
    size = (4 + len(payload) + 7) & ~7
    return struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))
name = b"ROOT"
sk_off = 0x20 + 0x58  # the security cell, after the root key's (offsets from the first hbin)
nk = (b"nk" + struct.pack("<H", 0x2c) + b"\0" * 8 + struct.pack("<I", 0) +
      struct.pack("<9I", 0xffffffff, 0, 0, 0xffffffff, 0xffffffff, 0, 0xffffffff, sk_off,
                  0xffffffff) +
      struct.pack("<5I", 0, 0, 0, 0, 0) + struct.pack("<HH", len(name), 0) + name)
nkc = cell(nk)
assert len(nkc) == 0x58
sd = bytes([1, 0, 0x04, 0x80]) + b"\0" * 16
body = nkc + cell(b"sk\0\0" + struct.pack("<4I", sk_off, sk_off, 1, len(sd)) + sd)
hbin = b"hbin" + struct.pack("<II", 0, 0x1000) + b"\0" * 20 + body
free = 0x1000 - len(hbin)
hbin += struct.pack("<i", free) + b"\0" * (free - 4)
hdr = bytearray(0x1000)
struct.pack_into("<4sIIQ7I", hdr, 0, b"regf", 1, 1, 0, 1, 3, 0, 1, 0x20, 0x1000, 1)
csum = 0
for i in range(0, 0x1fc, 4):
    csum ^= struct.unpack_from("<I", hdr, i)[0]
struct.pack_into("<I", hdr, 0x1fc, csum)
open(sys.argv[1], "wb").write(bytes(hdr) + hbin)
PY
cat >"$tmp/software.reg" <<'EOF2'
Windows Registry Editor Version 5.00

[\Microsoft]

[\Microsoft\Windows NT]

[\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"CurrentVersion"="6.3"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"InstallationType"="Client"
EOF2
cat >"$tmp/system.reg" <<'EOF2'
Windows Registry Editor Version 5.00

[\Select]
"Current"=dword:00000001

[\ControlSet001]

[\ControlSet001\Control]

[\ControlSet001\Control\ComputerName]

[\ControlSet001\Control\ComputerName\ComputerName]
"ComputerName"="WINGUEST"

[\MountedDevices]
EOF2
for hive in software system; do
	cp "$tmp/empty.hive" "$tmp/$hive.hive" &&
		hivexregedit --merge "$tmp/$hive.hive" "$tmp/$hive.reg" ||
		{ echo "Bail out! hivexregedit cannot fill the $hive hive"; exit 99; }
done
# Inspection reads the architecture from cmd.exe.
echo 'void _start(void) {}' >"$tmp/cmd.c"
if ! gcc -c -fno-asynchronous-unwind-tables -o "$tmp/cmd.o" "$tmp/cmd.c" ||
	! ld -m i386pep -o "$tmp/cmd.exe" "$tmp/cmd.o" 2>"$tmp/ld.err"; then
	echo "SKIP: ld cannot link a PE32+ program here ($(head -1 "$tmp/ld.err"))"
	exit 77
fi
W=$tmp/windows.raw
truncate -s 64M "$W"
launches=$((launches + 1))
if ! guestfish -a "$W" >"$tmp/gf.out" 2>&1 <<EOF2
run
part-disk /dev/sda mbr
part-set-mbr-id /dev/sda 1 0x07
mkfs ntfs /dev/sda1
mount /dev/sda1 /
mkdir-p /Windows/System32/config
mkdir /programdata
upload $tmp/cmd.exe /Windows/System32/cmd.exe
upload $tmp/software.hive /Windows/System32/config/SOFTWARE
upload $tmp/system.hive /Windows/System32/config/SYSTEM
EOF2
then
	echo "SKIP: libguestfs cannot make an NTFS image here ($(grep -m1 -i error "$tmp/gf.out"))"
	exit 77
fi
readback() { # DIR: the guest's C:\ProgramData\gpupv, its SOFTWARE hive and its top folder
	launches=$((launches + 1))
	rm -rf "$1" && mkdir "$1" &&
		guestfish --ro -a "$W" -m /dev/sda1 >"$1.ls" 2>"$tmp/gf.err" <<-EOF2
		copy-out /programdata/gpupv $1
		download /Windows/System32/config/SOFTWARE $1/SOFTWARE
		ls /
		EOF2
	[ -d "$1/gpupv" ] || { sed 's/^/# /' "$tmp/gf.err"; return 1; }
}
run_once() { # DIR: the RunOnce value gpupv-drivers-nvidia in DIR's SOFTWARE hive, as text
	python3 - "$1/SOFTWARE" <<-'PY'
	import re, subprocess, sys
	out = subprocess.run(["hivexregedit", "--export", sys.argv[1],
	                      "\\Microsoft\\Windows\\CurrentVersion\\RunOnce"],
	                     capture_output=True, text=True, check=True).stdout
	m = re.search(r'^"gpupv-drivers-nvidia"=hex\(1\):([0-9a-f,\\\n ]*)', out, re.M)
	if m:
	    data = bytes.fromhex(re.sub(r"[,\\\n ]", "", m.group(1)))
	    print(data.decode("utf-16-le").rstrip("\0"))
	PY
}

h=$tmp/h
"$gen" "$h" --vendor nvidia --version 550.127.05 >/dev/null 2>"$tmp/gen.err" ||
	{ cat "$tmp/gen.err"; echo "Bail out! gen-host failed"; exit 99; }
store=$h/var/lib/gpupv/drivers-store/nvidia
run553='cmd.exe /c C:\ProgramData\gpupv\install-nvidia-553.24.cmd 552.74'

# --- no package for the host's driver: refused, saying why ---
ds --image "$W"
if [ "$rc" != 0 ] && ! grep -q "driver store" "$tmp/err"; then
	if ! guestfish -a /dev/null run >"$tmp/gf.out" 2>&1; then
		echo "SKIP: libguestfs cannot start its appliance here ($(grep -m1 error "$tmp/gf.out"))"
		exit 77
	fi
fi
check "an empty store: exit 1, the image is seen as Windows and the missing package named" eval '
	[ "$rc" = 1 ] && grep -q "Windows guest (Windows 10 Pro)" "$tmp/err" &&
	grep -qF "the store has no nvidia package of version 55" "$tmp/err"' || show_err

# --- 552.74: the first sync ---
for v in 552.74 553.24; do package "$tmp/p$v" "$v"; done
"$GPUPV" --root "$h" drivers-store add "$tmp/p552.74" --vendor nvidia --version 552.74 \
	>/dev/null || { echo "Bail out! drivers-store add failed"; exit 99; }
ds --image "$W" --json
cp "$tmp/out" "$tmp/sync1.json"
check "first sync into the Windows image: exit 0" [ "$rc" = 0 ] || show_err
check "first sync: --json lists the package's files and the install script, added" python3 -c '
import json, sys
(t,) = json.load(open(sys.argv[1]))["targets"]
(v,) = t["drivers"]
assert v["state"] == "synced" and v["to"] == "552.74" and "from" not in v, v
add = sorted(f["path"] for f in v["add"])
d = "/ProgramData/gpupv/drivers/552.74/"
assert add == [d + "Display.Driver/nv_dispi.cat", d + "Display.Driver/nv_dispi.inf",
               d + "Display.Driver/nvlddmkm.sys", d + "HDAudio/nvhda.inf", d + "setup.cfg",
               "/ProgramData/gpupv/install-nvidia-552.74.cmd"], add
' "$tmp/sync1.json"
readback "$tmp/g1" || { echo "Bail out! guestfish cannot read the image back"; exit 99; }
G=$tmp/g1/gpupv
check "the package is in C:\\ProgramData\\gpupv\\drivers\\552.74, byte for byte" \
	diff -r "$store/552.74" "$G/drivers/552.74"
check "found as C:\\programdata (the case it has), no second ProgramData made" eval '
	grep -qx programdata "$tmp/g1.ls" && ! grep -qx ProgramData "$tmp/g1.ls"'
check "the manifest C:\\ProgramData\\gpupv\\drivers.json: nvidia 552.74, complete, 6 files" \
	python3 -c '
import json, sys
(v,) = json.load(open(sys.argv[1]))["drivers"]
assert v["vendor"] == "nvidia" and v["version"] == "552.74" and v["state"] == "complete", v
assert len(v["files"]) == 6, v["files"]
' "$G/drivers.json"
S=$G/install-nvidia-552.74.cmd
check "the install script: pnputil on the package's INF files, with a limit of 3 attempts" eval '
	grep -qF "pnputil /add-driver \"%base%\\drivers\\552.74\\*.inf\" /subdirs /install" "$S" &&
	grep -qF "if %n% geq 3 goto give_up" "$S" &&
	grep -qF "rd /s /q \"%base%\\drivers\\%~1\"" "$S" &&
	[ "$(grep -c $'"'"'\r$'"'"' "$S")" = "$(wc -l <"$S")" ]'
check "RunOnce runs it at the next logon" eval '
	[ "$(run_once "$tmp/g1")" = "cmd.exe /c C:\\ProgramData\\gpupv\\install-nvidia-552.74.cmd" ]' ||
	echo "# RunOnce: $(run_once "$tmp/g1")"
check "the hive keeps what it had" eval '
	hivexregedit --export "$tmp/g1/SOFTWARE" "\\Microsoft\\Windows NT\\CurrentVersion" |
	grep -q "^\"CurrentMajorVersionNumber\"=dword:0000000a"'

# --- again: in step, the registry left alone ---
ds --image "$W" -v
check "a second sync: in step, exit 0, no RunOnce written" eval '
	[ "$rc" = 0 ] && grep -q "552.74: in step (6 files)" "$tmp/out" && ! grep -q RunOnce "$tmp/err"' ||
	{ show_err; sed 's/^/# /' "$tmp/out"; }

# --- 553.24 in the store: the upgrade ---
"$GPUPV" --root "$h" drivers-store add "$tmp/p553.24" --vendor nvidia --version 553.24 \
	>/dev/null || { echo "Bail out! drivers-store add failed"; exit 99; }
ds --image "$W" --check
check "--check after 553.24 is stored: exit 3, the plan names the RunOnce value it would set" eval '
	[ "$rc" = 3 ] && grep -q "552.74 -> 553.24: 6 to add, 0 to change, 1 to remove" "$tmp/out" &&
	grep -qF "RunOnce gpupv-drivers-nvidia = $run553" "$tmp/out"' ||
	{ show_err; sed 's/^/# /' "$tmp/out"; }
ds --image "$W" --json
cp "$tmp/out" "$tmp/sync2.json"
check "the upgrade to 553.24: exit 0" [ "$rc" = 0 ] || show_err
check "the upgrade: --json adds 553.24, removes the old script only" python3 -c '
import json, sys
(t,) = json.load(open(sys.argv[1]))["targets"]
(v,) = t["drivers"]
assert v["state"] == "synced" and v["from"] == "552.74" and v["to"] == "553.24", v
assert len(v["add"]) == 6 and not v["change"] and not v["keep"], v
assert [f["path"] for f in v["remove"]] == ["/ProgramData/gpupv/install-nvidia-552.74.cmd"], v
' "$tmp/sync2.json"
readback "$tmp/g2" || { echo "Bail out! guestfish cannot read the image back"; exit 99; }
G=$tmp/g2/gpupv
check "553.24 is in C:\\ProgramData\\gpupv\\drivers\\553.24, byte for byte" \
	diff -r "$store/553.24" "$G/drivers/553.24"
check "552.74 is left for the install script to remove, its old script is gone" eval '
	diff -r "$store/552.74" "$G/drivers/552.74" && [ ! -e "$G/install-nvidia-552.74.cmd" ] &&
	[ -f "$G/install-nvidia-553.24.cmd" ]'
check "RunOnce runs 553.24's script, which removes 552.74 once installed" eval '
	[ "$(run_once "$tmp/g2")" = "$run553" ]' ||
	echo "# RunOnce: $(run_once "$tmp/g2")"
check "the manifest: nvidia 553.24, complete, no file of 552.74 listed" python3 -c '
import json, sys
(v,) = json.load(open(sys.argv[1]))["drivers"]
assert v["version"] == "553.24" and v["state"] == "complete", v
assert len(v["files"]) == 6 and not [f for f in v["files"] if "552.74" in f["path"]], v
' "$G/drivers.json"

echo "# $launches libguestfs appliance launches"
echo "1..$n"
exit $fail
