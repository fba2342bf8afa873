#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The unattended-install medium, read back with a real ISO reader: tests/seed-tool builds the
# Linux (cloud-init NoCloud) and Windows (autounattend.xml) images; xorriso's osirrox extracts
# them; tests/seed-check.py parses user-data as YAML, verifies the password hash and parses
# autounattend.xml. The password, full of characters YAML and XML must escape, never appears
# in what the tool prints, in its errors, or in plain text on the Linux medium.
# Skips (77) without xorriso or python3-yaml.
set -u

skip() {
    echo "SKIP: $*"
    exit 77
}

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/.." && pwd)}"
builddir=${abs_top_builddir:-$here/..}
tool=$builddir/tests/seed-tool
py=${PYTHON3:-python3}
[ -x "$tool" ] || { echo "FAIL: no $tool; run 'make check' or 'make tests/seed-tool'"; exit 99; }
command -v osirrox >/dev/null 2>&1 || skip "no osirrox: install the Debian package 'xorriso'"
command -v "$py" >/dev/null 2>&1 || skip "no python3: install the Debian package 'python3'"
"$py" -c 'import yaml' 2>/dev/null || skip "python3 cannot import yaml: install the Debian package 'python3-yaml'"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpv-seed.XXXXXX") || exit 99
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

# Quotes, a colon, a hash, XML's specials, a backslash and non-ASCII letters.
pw='p@ss "w0rd": <&> '"'"'#x'"'"' \ äöü €'
printf '%s\n' "$pw" > "$tmp/pw"
chmod 600 "$tmp/pw"

# Neither the password nor a recognisable piece of it appears in file $1.
no_password() { # file label
    if grep -qF -e "$pw" -e 'w0rd' "$1"; then
        bad "$2: the password appears in what seed-tool printed"
        cat "$1"
    fi
}

# --- Linux: cloud-init NoCloud seed ---------------------------------------------------
name='my "vm": <1> & ü'
"$tool" iso linux --out "$tmp/linux.iso" --name "$name" --hostname ubuntu-gpu --user alice \
    --password-file "$tmp/pw" --ssh-pwauth --locale de_DE.UTF-8 --timezone Europe/Berlin \
    > "$tmp/out" 2> "$tmp/err" || { bad "linux: seed-tool failed"; cat "$tmp/err"; }
no_password "$tmp/out" "linux stdout"
no_password "$tmp/err" "linux stderr (debug log)"
[ "$(stat -c %a "$tmp/linux.iso")" = 600 ] ||
    bad "linux: the image's mode is $(stat -c %a "$tmp/linux.iso"), not 600"
vol=$(xorriso -indev "$tmp/linux.iso" -pvd_info 2>/dev/null | sed -n "s/^Volume [Ii]d *: *//p" | head -n 1)
[ "$vol" = "'cidata'" ] || [ "$vol" = cidata ] || bad "linux: volume id is $vol, not cidata"
osirrox -indev "$tmp/linux.iso" -extract / "$tmp/linux" > "$tmp/x.log" 2>&1 ||
    { bad "linux: osirrox cannot extract the image"; cat "$tmp/x.log"; }
chmod -R u+w "$tmp/linux"
[ "$(ls "$tmp/linux" | tr '\n' ' ')" = "meta-data user-data " ] ||
    bad "linux: the image holds $(ls "$tmp/linux" | tr '\n' ' ')"
grep -qF 'w0rd' "$tmp/linux/user-data" && bad "linux: user-data holds the password"
"$py" "$top_srcdir/tests/seed-check.py" linux "$tmp/linux" "$tmp/pw" "$name" ubuntu-gpu alice \
    "$tool" || fail=1

# --- Windows: autounattend.xml, the password on standard input ---------------------------
"$tool" iso windows --out "$tmp/windows.iso" --name win11 --hostname WIN11-GPU --user Alice \
    --password-file - --autologon 2 --locale de-DE --timezone 'W. Europe Standard Time' \
    --edition 'Windows 11 Pro' < "$tmp/pw" > "$tmp/out" 2> "$tmp/err" ||
    { bad "windows: seed-tool failed"; cat "$tmp/err"; }
no_password "$tmp/out" "windows stdout"
no_password "$tmp/err" "windows stderr (debug log)"
[ "$(stat -c %a "$tmp/windows.iso")" = 600 ] || bad "windows: the image's mode is not 600"
# Windows Setup reads the Joliet tree: the long name must be there.
xorriso -rockridge off -joliet on -indev "$tmp/windows.iso" -ls / 2>/dev/null |
    grep -qx "'autounattend.xml'" || bad "windows: no autounattend.xml in the Joliet tree"
osirrox -indev "$tmp/windows.iso" -extract / "$tmp/windows" > "$tmp/x.log" 2>&1 ||
    { bad "windows: osirrox cannot extract the image"; cat "$tmp/x.log"; }
chmod -R u+w "$tmp/windows"
"$py" "$top_srcdir/tests/seed-check.py" windows "$tmp/windows" "$tmp/pw" win11 WIN11-GPU Alice ||
    fail=1

# --- refusals: each fails, names the problem, and never shows the password --------------
refused() { # label expected-text seed-tool-args...
    label=$1 want=$2
    shift 2
    if "$tool" "$@" > "$tmp/out" 2> "$tmp/err"; then
        bad "$label: accepted"
        return
    fi
    grep -qF -- "$want" "$tmp/err" || { bad "$label: the error lacks '$want'"; cat "$tmp/err"; }
    no_password "$tmp/out" "$label stdout"
    no_password "$tmp/err" "$label stderr"
    [ -e "$tmp/bad.iso" ] && bad "$label: an image was written"
    rm -f "$tmp/bad.iso"
}
common="--out $tmp/bad.iso --user alice --password-file $tmp/pw"
# shellcheck disable=SC2086
{
refused "computer name too long" "at most 15" iso windows $common --name vm --hostname WINDOWS-GAMING-1
refused "hostname with '_'" "'bad_host'" iso linux $common --name vm --hostname bad_host
refused "hostname with a newline" "\\n" iso linux $common --name vm --hostname "a
b"
refused "user equal to the computer name" "guest's name" iso windows $common --name vm --hostname ALICE
refused "built-in user" "built-in" iso linux --out "$tmp/bad.iso" --user root --password-file "$tmp/pw" --name vm --hostname vm
refused "domain name with '/'" "'/'" iso linux $common --name a/b --hostname vm
refused "fractional size" "1536M" size -- --memory 1.5G
}
chmod 644 "$tmp/pw"
refused "password file open to others" "chmod 600" iso linux --out "$tmp/bad.iso" --user alice \
    --password-file "$tmp/pw" --name vm --hostname vm
chmod 600 "$tmp/pw"
printf 'line one\nline two\n' > "$tmp/pw2"
chmod 600 "$tmp/pw2"
refused "two-line password" "one line" iso linux --out "$tmp/bad.iso" --user alice \
    --password-file "$tmp/pw2" --name vm --hostname vm
printf '' | refused "empty standard input" "empty" iso linux --out "$tmp/bad.iso" --user alice \
    --password-file - --name vm --hostname vm

[ "$fail" = 0 ] && echo "PASS: both media read back; the password never shown"
exit $fail
