#!/usr/bin/env python3
"""Holds the guest's 'gpupv precheck --json' to what the guest's kernel said.

usage: check-precheck.py intel|amd DIR

DIR is what tests/vm/run-guest brought back from tests/vm/guest-precheck.sh: precheck.json,
precheck.rc, list.txt, list.rc, pci.txt (ADDRESS VENDOR DEVICE CLASS DRIVER GROUP for each PCI
function), groups.txt, iommus.txt, cmdline.txt, kvm.txt, virt.txt. The guest's devices are
those of run-guest: 01:00.0 VGA (1234:1111, 0300) and 01:00.1 ich9-intel-hda (8086:293e) in
one slot, 02:00.0 bochs-display (1234:1111, 0380).
"""
import json
import os
import sys

VGA, AUDIO, DISPLAY = "0000:01:00.0", "0000:01:00.1", "0000:02:00.0"
EXIT_OF_VERDICT = {"ready": 0, "needs-action": 3, "blocked": 4}

model, out = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def read(name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        return f.read()


kernel = {}  # address -> (vendor, device, class, driver, group)
for line in read("pci.txt").splitlines():
    addr, vendor, device, cls, driver, group = line.split()
    kernel[addr] = (vendor[2:], device[2:], cls[2:6], driver, group)
groups = read("groups.txt").split()

rc = int(read("precheck.rc"))
try:
    doc = json.loads(read("precheck.json"))
except ValueError as e:
    print(f"FAIL: {model}: precheck --json (exit {rc}) printed no JSON: {e}")
    print(read("precheck.err"))
    sys.exit(1)
host, checks = doc["host"], {c["id"]: c for c in doc["checks"]}
gpus = {g["address"]: g for g in doc["gpus"]}

print(f"{model}: kernel {host['kernel']}, {len(groups)} IOMMU groups, "
      f"IOMMU {' '.join(read('iommus.txt').split())}, verdict {doc['verdict']} (exit {rc})")
print(f"{model}: guest CPU flag {read('virt.txt').strip() or 'none'}, /dev/kvm "
      f"{read('kvm.txt').strip()}; gpupv: cpu.virt {checks['cpu.virt']['status']}, "
      f"kvm.device {checks['kvm.device']['status']}")

check(doc["schema"] == "gpupv.precheck/1", f"schema {doc['schema']}")
check(rc == EXIT_OF_VERDICT.get(doc["verdict"]), f"exit {rc} for verdict {doc['verdict']}")
check(read("precheck.err") == "", f"precheck wrote to stderr: {read('precheck.err')!r}")

# The IOMMU, as the guest's kernel set it up.
iommu = host["iommu"]
check(iommu["active"] is True, "host.iommu.active is not true")
check(iommu["groups"] == len(groups) > 0,
      f"host.iommu.groups {iommu['groups']}, the kernel has {len(groups)}")
table, intel_iommu = {"intel": ("DMAR", "on"), "amd": ("IVRS", None)}[model]
check(iommu["firmware_table"] == table, f"firmware_table {iommu['firmware_table']}, not {table}")
check(iommu["cmdline"]["intel_iommu"] == intel_iommu,
      f"cmdline.intel_iommu {iommu['cmdline']['intel_iommu']}")
check(iommu["cmdline"]["iommu"] == "pt", f"cmdline.iommu {iommu['cmdline']['iommu']}")
for c in ("iommu.firmware", "iommu.active", "iommu.cmdline", "iommu.acs_override",
          "vfio.module", "gpu.found"):
    check(checks[c]["status"] == "pass", f"{c}: {checks[c]['status']}: {checks[c]['message']}")
check("available as a module" in checks["vfio.module"]["message"],
      f"vfio.module: {checks['vfio.module']['message']}")
# Only what the guest's CPU flags and /dev/kvm decide: TCG's '-cpu max' changes with QEMU.
virt = read("virt.txt").strip() != ""
check((checks["cpu.virt"]["status"] == "pass") == virt,
      f"cpu.virt {checks['cpu.virt']['status']} with CPU flag {virt}")
check(host["kvm"] == (read("kvm.txt").strip() == "yes"), f"host.kvm {host['kvm']}")

# The two GPUs, each as the kernel sees it.
check(sorted(gpus) == [VGA, DISPLAY], f"GPUs {sorted(gpus)}, not {VGA} and {DISPLAY}")
for addr, cls in ((VGA, "0300"), (DISPLAY, "0380")):
    g = gpus.get(addr)
    if not g:
        continue
    vendor, device, kcls, driver, group = kernel[addr]
    check((g["vendor_id"], g["device_id"], g["class"]) == ("1234", "1111", cls),
          f"{addr}: {g['vendor_id']}:{g['device_id']} class {g['class']}")
    check(kcls == cls, f"{addr}: the kernel says class {kcls}")
    check(g["driver"] == driver == "bochs-drm", f"{addr}: driver {g['driver']}, kernel {driver}")
    check(str(g["iommu_group"]) == group, f"{addr}: group {g['iommu_group']}, kernel {group}")
    check(addr in g["functions"], f"{addr}: not among its own functions {g['functions']}")
    for m in g["group_members"]:
        k = kernel.get(m["address"])
        check(k is not None and str(m["group"]) == k[4] and m["class"] == k[2] and
              (m["driver"] or "-") == k[3], f"{addr}: member {m} is not as the kernel has it: {k}")
    mine = sorted(a for a, k in kernel.items() if k[4] == group)
    check(sorted(m["address"] for m in g["group_members"]) == mine,
          f"{addr}: group members {[m['address'] for m in g['group_members']]}, kernel {mine}")

vga, disp = gpus.get(VGA), gpus.get(DISPLAY)
if vga:
    check(vga["boot_vga"] is True, f"{VGA}: boot_vga {vga['boot_vga']}")
    # The audio function shares the VGA's slot and IOMMU group.
    check(kernel.get(AUDIO, ())[:4] == ("8086", "293e", "0403", "snd_hda_intel") and
          kernel[AUDIO][4] == kernel[VGA][4], f"{AUDIO} in the kernel: {kernel.get(AUDIO)}")
    audio = [m for m in vga["group_members"] if m["address"] == AUDIO]
    if check(len(audio) == 1, f"{AUDIO} is not a member of {VGA}'s group"):
        role = audio[0]["role"]
        # gpupv counts a slot's other functions as the card's own under the GPU's vendor ID
        # (an APU's PSP and USB share its slot under another), and the HD audio at function 1
        # whatever its vendor: QEMU's HDA is 8086, its VGA 1234, and the pair is one card.
        print(f"{model}: {AUDIO} (8086:293e) is a group member of role '{role}'; "
              f"{VGA} functions {vga['functions']}, isolated {vga['isolated']}, "
              f"verdict {vga['verdict']}")
        shared = [p for p in vga["problems"] if p["code"] == "group-shared"]
        # Not blocked: the VGA is the guest's boot display, which is an action (boot-vga).
        check(role == "function" and AUDIO in vga["functions"] and vga["isolated"] and
              not shared and vga["verdict"] != "blocked",
              f"{AUDIO} of role {role} is not counted as the card's own function")
if disp:
    check(disp["isolated"] is True and disp["verdict"] == "ready",
          f"{DISPLAY}: isolated {disp['isolated']}, verdict {disp['verdict']}")

# gpupv list: both GPUs with their drivers and groups.
check(read("list.rc").strip() == "0", f"gpupv list exited {read('list.rc').strip()}")
rows = {ln.split()[1]: ln.split() for ln in read("list.txt").splitlines()[1:] if ln.strip()}
for addr in (VGA, DISPLAY):
    r = rows.get(addr)
    check(r is not None and r[2] == kernel[addr][3] and r[3] == kernel[addr][4],
          f"gpupv list: {addr}: {r}")

for f in failures:
    print(f"FAIL: {model}: {f}")
if not failures:
    print(f"{model}: precheck and list agree with the guest's kernel")
sys.exit(1 if failures else 0)
