#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the files extracted from an unattended-install medium (tests/seed.sh).

seed-check.py linux DIR PWFILE NAME HOSTNAME USER SEED-TOOL
seed-check.py windows DIR PWFILE NAME HOSTNAME USER
Prints one line per failed check and exits 1; exits 0 when all hold.
"""
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


def password(path):
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\n")


def crypt_ok(pw, h, tool, pwfile):
    """Verifies h with Python's crypt module where it exists, else with libcrypt via the tool."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt  # removed in Python 3.13
        return crypt.crypt(pw, h) == h
    except ImportError:
        r = subprocess.run([tool, "verify", h, "--password-file", pwfile],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0


def linux(d, pwfile, name, host, user, tool):
    import yaml

    pw = password(pwfile)
    with open(d + "/meta-data", encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    expect(meta == {"instance-id": name, "local-hostname": host}, "meta-data is %r" % meta)
    with open(d + "/user-data", encoding="utf-8") as f:
        text = f.read()
    expect(text.startswith("#cloud-config\n"), "user-data does not start with #cloud-config")
    expect(pw not in text, "user-data holds the password in plain text")
    ud = yaml.safe_load(text)
    expect(ud.get("hostname") == host, "hostname is %r" % ud.get("hostname"))
    expect(ud.get("ssh_pwauth") is True, "ssh_pwauth is %r" % ud.get("ssh_pwauth"))
    expect(ud.get("locale") == "de_DE.UTF-8", "locale is %r" % ud.get("locale"))
    expect(ud.get("timezone") == "Europe/Berlin", "timezone is %r" % ud.get("timezone"))
    users = ud.get("users") or [{}]
    u = users[0]
    expect(len(users) == 1, "%d users" % len(users))
    expect(u.get("name") == user, "user is %r" % u.get("name"))
    expect(u.get("lock_passwd") is False, "lock_passwd is %r" % u.get("lock_passwd"))
    expect(u.get("sudo") == "ALL=(ALL) ALL", "sudo is %r" % u.get("sudo"))
    h = u.get("passwd", "")
    expect(h.startswith("$6$"), "passwd is not a SHA-512 crypt hash")
    expect(crypt_ok(pw, h, tool, pwfile), "the hash does not verify the password")
    with open(d + "/wrong", "w", encoding="utf-8") as f:
        f.write(pw + "x\n")
    import os
    os.chmod(d + "/wrong", 0o600)
    expect(not crypt_ok(pw + "x", h, tool, d + "/wrong"), "the hash verifies a wrong password")


def windows(d, pwfile, name, host, user):
    pw = password(pwfile)
    ns = {"u": "urn:schemas-microsoft-com:unattend"}
    root = ET.parse(d + "/autounattend.xml").getroot()

    def texts(path):
        return [e.text for e in root.findall(path, ns)]

    expect(texts(".//u:ComputerName") == [host], "ComputerName %r" % texts(".//u:ComputerName"))
    acct = root.findall(".//u:LocalAccount", ns)
    expect(len(acct) == 1, "%d local accounts" % len(acct))
    if acct:
        a = acct[0]
        expect(a.findtext("u:Name", None, ns) == user, "account name")
        expect(a.findtext("u:Group", None, ns) == "Administrators", "account group")
        expect(a.findtext("u:Password/u:Value", None, ns) == pw, "account password")
        expect(a.findtext("u:Password/u:PlainText", None, ns) == "true", "PlainText")
    expect(texts(".//u:AutoLogon/u:LogonCount") == ["2"], "LogonCount")
    expect(texts(".//u:AutoLogon/u:Username") == [user], "AutoLogon Username")
    expect(texts(".//u:AutoLogon/u:Password/u:Value") == [pw], "AutoLogon password")
    for flag in ("HideOnlineAccountScreens", "HideEULAPage", "HideLocalAccountScreen"):
        expect(texts(".//u:OOBE/u:" + flag) == ["true"], flag)
    expect(any("BypassNRO" in (p or "") for p in texts(".//u:Path")), "no BypassNRO command")
    expect(set(texts(".//u:UserLocale")) == {"de-DE"}, "UserLocale")
    expect(set(texts(".//u:InputLocale")) == {"de-DE"}, "InputLocale")
    expect(set(texts(".//u:TimeZone")) == {"W. Europe Standard Time"}, "TimeZone")
    expect(texts(".//u:MetaData/u:Value") == ["Windows 11 Pro"], "edition")
    passes = [s.get("pass") for s in root.findall("u:settings", ns)]
    expect(passes == ["windowsPE", "specialize", "oobeSystem"], "passes %r" % passes)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "linux":
        linux(*sys.argv[2:8])
    else:
        windows(*sys.argv[2:7])
    for f in failures:
        print("FAIL: %s: %s" % (kind, f))
    sys.exit(1 if failures else 0)
