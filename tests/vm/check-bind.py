#!/usr/bin/env python3
"""Judges what tests/vm/guest-bind.sh did with gpupv bind, unbind and status in the guest.

usage: check-bind.py intel|amd DIR

DIR is what tests/vm/run-guest brought back: for each command NAME, NAME/{out,err,rc} (and
NAME/step for an injected failure: the step made to fail), and for each state NAME/
{drivers.txt (ADDRESS DRIVER OVERRIDE of each PCI function), vfio.txt (ls /dev/vfio),
journals.txt, journal-text.txt, status.json, status.txt, status.rc}; times.txt holds
NAME START END (the guest's uptime). The guest's devices are those of run-guest: the VGA
01:00.0 (bochs-drm) and ich9-intel-hda 01:00.1 (snd_hda_intel) share an IOMMU group; the
bochs-display 02:00.0 (bochs-drm) has one to itself.
"""
import json
import os
import sys

model, out = sys.argv[1], sys.argv[2]
GPU, AUDIO, GPU2 = "0000:01:00.0", "0000:01:00.1", "0000:02:00.0"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def read(*name, default=None):
    try:
        with open(os.path.join(out, *name), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        if default is None:
            failures.append(f"{'/'.join(name)} is missing: the guest script stopped early?")
            return ""
        return default


def rc(name):
    text = read(name, "rc").strip()
    return int(text) if text.isdigit() else None


def doc(name, what="out"):
    text = read(name, what)
    try:
        return json.loads(text)
    except ValueError as e:
        failures.append(f"{name}: no JSON ({e}): {text[:200]!r}; stderr {read(name, 'err', default='')!r}")
        return {}


def drivers(name):
    """address -> (driver, override) in the state NAME."""
    ret = {}
    for line in read(name, "drivers.txt").splitlines():
        addr, drv, override = line.split(None, 2)
        ret[addr] = (drv, override)
    return ret


def vfio_groups(name):
    return sorted(n for n in read(name, "vfio.txt", default="").split() if n.isdigit())


def journals(name):
    return read(name, "journals.txt", default="").split()


def status(name):
    check(rc_of_status(name) == 0, f"{name}: gpupv status --json exit {rc_of_status(name)}")
    check(read(name, "status.err", default="") == "",
          f"{name}: gpupv status wrote to stderr: {read(name, 'status.err', default='')!r}")
    return doc(name, "status.json")


def rc_of_status(name):
    text = read(name, "status.rc").strip()
    return int(text) if text.isdigit() else None


def expect_rc(name, want):
    got = rc(name)
    return check(got == want, f"{name}: exit {got}, not {want}; stderr: {read(name, 'err', default='')!r}")


base = drivers("base")
check(base.get(GPU) == ("bochs-drm", "(null)"), f"base: {GPU} is {base.get(GPU)}")
check(base.get(AUDIO) == ("snd_hda_intel", "(null)"), f"base: {AUDIO} is {base.get(AUDIO)}")
check(base.get(GPU2) == ("bochs-drm", "(null)"), f"base: {GPU2} is {base.get(GPU2)}")


def restored(name):
    """The host is as it was before any bind: every driver and override, no group node in
    /dev/vfio, no journal, and gpupv status says nothing is bound."""
    now = drivers(name)
    for addr in sorted(set(base) | set(now)):
        check(now.get(addr) == base.get(addr),
              f"{name}: {addr} is {now.get(addr)}, was {base.get(addr)}")
    check(vfio_groups(name) == [], f"{name}: /dev/vfio still has {vfio_groups(name)}")
    check(journals(name) == [], f"{name}: journals left: {journals(name)}")
    st = status(name)
    check(st.get("bindings") == [], f"{name}: gpupv status lists {st.get('bindings')}")
    check(read(name, "status.txt").strip() == "gpupv has bound nothing",
          f"{name}: gpupv status says {read(name, 'status.txt')!r}")


restored("base")

# precheck
pre = doc("precheck")
if pre:
    check(pre.get("schema") == "gpupv.precheck/1", f"precheck: schema {pre.get('schema')}")
    check(rc("precheck") == {"ready": 0, "needs-action": 3, "blocked": 4}.get(pre.get("verdict")),
          f"precheck: exit {rc('precheck')} for verdict {pre.get('verdict')}")
    gpus = {g["address"]: g for g in pre.get("gpus", [])}
    check(set(gpus) == {GPU, GPU2}, f"precheck: GPUs {sorted(gpus)}")
    if GPU in gpus:
        members = sorted(m["address"] for m in gpus[GPU]["group_members"])
        check(members == [GPU, AUDIO], f"precheck: the group of {GPU} holds {members}")

# The plans
first = doc("dryrun-first")
expect_rc("dryrun-first", 0)
check(first.get("result") == "planned", f"dryrun-first: result {first.get('result')}")
check([s.get("action") for s in first.get("steps", [])[:1]] == ["load-module"],
      "dryrun-first: the plan does not start by loading vfio-pci")
check([(d["address"], d["original_driver"]) for d in first.get("devices", [])] ==
      [(AUDIO, "snd_hda_intel"), (GPU, "bochs-drm")],
      f"dryrun-first: devices {first.get('devices')}")
plan = doc("dryrun")
expect_rc("dryrun", 0)
steps = plan.get("steps", [])
check(all(s["action"] != "load-module" for s in steps), "dryrun: loads vfio-pci again")
group = next((d["group"] for d in plan.get("devices", []) if d["address"] == GPU), None)
check(isinstance(group, int), f"dryrun: no group for {GPU}")
text = [line for line in read("dryrun", "text").splitlines() if line[:5].strip().isdigit()]
check(len(text) == len(steps), f"dryrun: {len(text)} lines of text, {len(steps)} steps in JSON")


def failed(name, steps, want_action, rolled_back=True, message="Input/output error", **want):
    """NAME failed at the step it was made to fail, which is what WANT says."""
    expect_rc(name, 1)
    d = doc(name)
    n = read(name, "step", default="").strip()
    err = d.get("error") or {}
    check(d.get("result") == "failed", f"{name}: result {d.get('result')}")
    if n:
        check(n.isdigit(), f"{name}: no step found in the dry run for the injection")
        check(err.get("step") == int(n or 0), f"{name}: error.step {err.get('step')}, not {n}")
        check(f"failed at step {n} " in read(name, "err"), f"{name}: stderr {read(name, 'err')!r}")
    n = err.get("step")
    if check(isinstance(n, int) and 1 <= n <= len(steps), f"{name}: error {err}"):
        s = steps[n - 1]
        check(s["action"] == want_action, f"{name}: step {n} is {s}, not {want_action}")
        for k, v in want.items():
            check(v in (s.get(k) or ""), f"{name}: step {n} is {s}, its {k} not {v}")
    check(err.get("message") == message, f"{name}: error.message {err.get('message')!r}")
    check(err.get("rolled_back") is rolled_back, f"{name}: error.rolled_back {err.get('rolled_back')}")
    if rolled_back:
        check("every device was given back to its driver" in read(name, "err"),
              f"{name}: stderr {read(name, 'err')!r}")
        restored(name)


failed("fail-load", first.get("steps", []), "load-module", value="vfio-pci")

# bind
b = doc("bind")
expect_rc("bind", 0)
check(b.get("result") == "bound" and b.get("error") is None, f"bind: result {b.get('result')}, error {b.get('error')}")
# The HDA at function 1 is the card's own function (its HDMI audio): it moves with the VGA,
# with nothing to warn about (a group member of another device would be warned of).
check(not any(AUDIO in w for w in b.get("warnings", [])), f"bind: warnings {b.get('warnings')}")
bound = drivers("bind")
for addr in base:
    want = ("vfio-pci", "vfio-pci") if addr in (GPU, AUDIO) else base[addr]
    check(bound.get(addr) == want, f"bind: {addr} is {bound.get(addr)}, not {want}")
check(vfio_groups("bind") == [str(group)], f"bind: /dev/vfio has {vfio_groups('bind')}, not {group}")
check(journals("bind") == [GPU], f"bind: journals {journals('bind')}")
st = status("bind").get("bindings", [])
if check(len(st) == 1, f"bind: gpupv status lists {len(st)} bindings"):
    check(st[0]["gpu"] == GPU and st[0]["state"] == "bound", f"bind: status {st[0]}")
    check(sorted((d["address"], d["driver"], d["original_driver"]) for d in st[0]["devices"]) ==
          [(GPU, "vfio-pci", "bochs-drm"), (AUDIO, "vfio-pci", "snd_hda_intel")],
          f"bind: status devices {st[0]['devices']}")
    check(st[0]["groups"] == [{"group": group, "viable": True, "in_use": False}],
          f"bind: status groups {st[0]['groups']} (VFIO_GROUP_GET_STATUS)")
check(f"group {group}: viable" in read("bind", "status.txt"), f"bind: status {read('bind', 'status.txt')!r}")

# the same bind again: nothing to do, nothing changes
expect_rc("bind-again", 0)
check(doc("bind-again").get("result") == "nothing-to-do", f"bind-again: result {doc('bind-again').get('result')}")
check(drivers("bind-again") == bound, "bind-again: drivers changed")
check("state bound" in read("bind-again", "journal-text.txt"), "bind-again: the journal is no longer 'bound'")

# the group held open, as by a VM: status cannot ask the kernel, and says why
st = status("in-use").get("bindings", [])
check([x["groups"] for x in st] == [[{"group": group, "viable": None, "in_use": True}]],
      f"in-use: status {st}")
check(f"group {group}: in use (a VM holds it)" in read("in-use", "status.txt"),
      f"in-use: status {read('in-use', 'status.txt')!r}")
check(drivers("in-use") == bound, "in-use: drivers changed")

# a second GPU next to the first
expect_rc("bind-second", 0)
check(doc("bind-second").get("result") == "bound", "bind-second: not bound")
two = drivers("bind-second")
check(two.get(GPU2) == ("vfio-pci", "vfio-pci") and two.get(GPU) == bound[GPU],
      f"bind-second: {GPU2} is {two.get(GPU2)}, {GPU} is {two.get(GPU)}")
check(journals("bind-second") == [GPU, GPU2], f"bind-second: journals {journals('bind-second')}")
st = status("bind-second").get("bindings", [])
check([x["gpu"] for x in st] == [GPU, GPU2], f"bind-second: status lists {[x['gpu'] for x in st]}")
check(all(g["viable"] is True for x in st for g in x["groups"]), f"bind-second: status {st}")
check(len(vfio_groups("bind-second")) == 2, f"bind-second: /dev/vfio has {vfio_groups('bind-second')}")
expect_rc("unbind-second", 0)
check(doc("unbind-second").get("result") == "unbound", "unbind-second: not unbound")
check(drivers("unbind-second") == bound, "unbind-second: not as after the first bind")
check(journals("unbind-second") == [GPU], f"unbind-second: journals {journals('unbind-second')}")
check(vfio_groups("unbind-second") == [str(group)], f"unbind-second: /dev/vfio has {vfio_groups('unbind-second')}")

# unbind
u = doc("unbind")
expect_rc("unbind", 0)
check(u.get("result") == "unbound" and u.get("error") is None, f"unbind: result {u.get('result')}")
restored("unbind")

# failures injected mid-bind, then a wait that times out
failed("fail-first-probe", steps, "write", path="/sys/bus/pci/drivers_probe", value=AUDIO)
failed("fail-gpu-unbind", steps, "write", path="/sys/bus/pci/drivers/bochs-drm/unbind", value=GPU)
failed("fail-gpu-probe", steps, "write", path="/sys/bus/pci/drivers_probe", value=GPU)
failed("fail-wait-vfio", steps, "wait-vfio", path=f"/dev/vfio/{group}")
failed("fail-viable", steps, "check-viable")
failed("fail-bound", steps, "journal", value="bound")
failed("timeout", steps, "wait-vfio", message="Connection timed out", path=f"/dev/vfio/{group}")

times = {}
for line in read("times.txt").splitlines():
    name, a, z = line.split()
    times[name] = float(z) - float(a)
check(times.get("timeout", 0) >= 4.9, f"timeout: gave up after {times.get('timeout')} s, not 5")

# a kill while every device is moved and gpupv waits for /dev/vfio; then --recover
check(rc("kill") == 137, f"kill: gpupv ended with {rc('kill')} before it was killed: {read('kill', 'err')!r}")
k = drivers("kill")
check(k.get(GPU) == ("vfio-pci", "vfio-pci") and k.get(AUDIO) == ("vfio-pci", "vfio-pci"),
      f"kill: killed too early or too late: {GPU} {k.get(GPU)}, {AUDIO} {k.get(AUDIO)}")
check(journals("kill") == [GPU] and "state binding" in read("kill", "journal-text.txt"),
      f"kill: journal {read('kill', 'journal-text.txt')!r}")
st = status("kill").get("bindings", [])
check([x["state"] for x in st] == ["binding"], f"kill: status {st}")
check("unfinished: run 'gpupv unbind --recover'" in read("kill", "status.txt"),
      f"kill: status {read('kill', 'status.txt')!r}")
expect_rc("bind-unfinished", 4)
check(doc("bind-unfinished").get("refusal", {}).get("code") == "unfinished",
      f"bind-unfinished: {doc('bind-unfinished')}")
expect_rc("recover", 0)
check(read("recover", "out").strip() == f"{GPU}: recovered from an unfinished binding",
      f"recover: {read('recover', 'out')!r}")
restored("recover")
expect_rc("recover-again", 0)
check(read("recover-again", "out").strip() == "nothing to recover",
      f"recover-again: {read('recover-again', 'out')!r}")

# a failure injected mid-unbind, finished by --recover
expect_rc("bind-2", 0)
ub = doc("fail-unbind")
failed("fail-unbind", ub.get("steps", []), "write", rolled_back=False,
       path="/bind", value=AUDIO)
check(ub.get("command") == "unbind", f"fail-unbind: command {ub.get('command')}")
check("'gpupv unbind --recover' finishes the job" in read("fail-unbind", "err"),
      f"fail-unbind: stderr {read('fail-unbind', 'err')!r}")
f = drivers("fail-unbind")
check(f.get(GPU) == base[GPU] and f.get(AUDIO) == ("-", "(null)"),
      f"fail-unbind: {GPU} {f.get(GPU)}, {AUDIO} {f.get(AUDIO)}")
check("state unbinding" in read("fail-unbind", "journal-text.txt"),
      f"fail-unbind: journal {read('fail-unbind', 'journal-text.txt')!r}")
check([x["state"] for x in status("fail-unbind").get("bindings", [])] == ["unbinding"],
      "fail-unbind: status does not say 'unbinding'")
expect_rc("recover-unbind", 0)
check(read("recover-unbind", "out").strip() == f"{GPU}: recovered from an unfinished unbinding",
      f"recover-unbind: {read('recover-unbind', 'out')!r}")
restored("recover-unbind")

# a refusal: the GPU's DRM node is held open
expect_rc("drm-clients", 4)
card, holder = read("card").strip(), read("holder").strip()
check(card.startswith("card"), f"drm-clients: no card under /sys/bus/pci/devices/{GPU}/drm")
ref = doc("drm-clients").get("refusal", {})
check(ref.get("code") == "drm-clients", f"drm-clients: refusal {ref}")
check(f"sleep (pid {holder})" in ref.get("message", ""), f"drm-clients: {ref.get('message')!r} names not 'sleep (pid {holder})'")
check(f"sleep (pid {holder})" in read("drm-clients", "err"), f"drm-clients: stderr {read('drm-clients', 'err')!r}")
restored("drm-clients")
restored("end")

# No sanitizer report anywhere.
for name in sorted(os.listdir(out)):
    for f in ("err", "status.err", "out"):
        p = os.path.join(out, name, f)
        if os.path.isfile(p):
            t = read(name, f)
            check("Sanitizer" not in t and "runtime error:" not in t,
                  f"{name}/{f}: a sanitizer report: {t[:2000]}")

for name, t in times.items():
    print(f"{model}: {name:18s} {t:6.2f} s")
for f in failures:
    print(f"FAIL: {model}: {f}")
if not failures:
    print(f"{model}: bind, unbind, status, {sum(n.startswith('fail-') for n in times)} injected "
          f"failures, a timeout, a kill, --recover and a refusal: all as they should be")
sys.exit(1 if failures else 0)
