# AMD graphics on amdgpu: the firmware a guest's driver loads, and a DKMS build of the module
# where the host has one.
#
# amdgpu is in the kernel, but AMD's packaged driver (amdgpu-dkms, from ROCm and AMDGPU-PRO
# releases) replaces it with a newer module of its own version in updates/dkms, and brings
# firmware of that release under /lib/firmware/updates/amdgpu. A guest running the host's
# kernel needs both of the same release; with the in-tree driver, only the firmware.
#
# Sources:
#  - the kernel's drivers/gpu/drm/amd/amdgpu/*.c MODULE_FIRMWARE() lines (the firmware= of
#    amdgpu.ko), and linux-firmware's amdgpu/ folder;
#  - AMD's ROCm installation guide (amdgpu-dkms, "/lib/firmware/updates/amdgpu").
# Directives: see nvidia.profile.

vendor amdgpu
title AMD graphics (amdgpu) firmware and DKMS module
pci-vendor 1002
version kernel

# The module itself only when it is a DKMS build (the in-tree one is the guest kernel's).
module amdgpu optional out-of-tree
firmware-of amdgpu
