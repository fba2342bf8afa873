# NVIDIA's proprietary driver: the files a guest needs in step with the host's driver.
#
# An NVIDIA vGPU guest must run the guest driver of the host's vGPU release, and a Linux guest
# that runs the host's kernel (a container-like VM, a guest built from the host's image) needs
# the host's kernel modules and user-space libraries of exactly the host's version: the
# libraries check the kernel module's version at every open of /dev/nvidia*.
#
# Sources:
#  - NVIDIA Accelerated Linux Graphics Driver README, "Installed Components"
#    (the .run installer's file list: kernel modules, libraries ending in the driver
#    version, nvidia-smi, the Vulkan, EGL and GLVND ICD files).
#  - NVIDIA/libnvidia-container, src/nvc_info.c: the libraries a GPU container gets
#    (utility, compute, video, graphics and display libraries), found by SONAME through
#    ld.so.cache and checked to end in the driver version.
#  - Debian's nvidia-graphics-drivers packages (nvidia-kernel-dkms, libcuda1,
#    libnvidia-ml1, libgl1-nvidia-glvnd-glx, libegl-nvidia0, libnvcuvid1, libnvidia-encode1).
#
# Directives (gpupv-drivers-sync(1), "PROFILES"):
#   vendor NAME               the profile's name, in manifests and --vendor
#   title TEXT                shown by gpupv drivers-sync --list
#   pci-vendor HEX            the GPUs whose VMs get this driver
#   version module NAME       the driver version is NAME's version= (.modinfo)
#   version kernel            the driver is in-tree: its version is the kernel release
#   module NAME [optional]    the module's file, and every firmware= it lists
#   firmware-of NAME          only the firmware= an in-tree module lists
#   firmware GLOB             firmware files under /lib/firmware by pattern
#   library GLOB              shared libraries by file name ({version} is the driver
#                             version), found through the root's ld.so.cache and its
#                             library folders, with their SONAME links
#   file PATH                 any file; the last component may be a pattern
#   windows-driver HOST GUEST  the Windows guest driver versions (pattern GUEST) that go
#                             with host driver versions matching HOST (see the end)
# Add "optional" after the argument when the host may lack it (debug, not a warning).

vendor nvidia
title NVIDIA proprietary driver
pci-vendor 10de
version module nvidia

# Kernel modules (DKMS puts them in updates/dkms, the .run installer in kernel/drivers/video).
module nvidia
module nvidia-modeset
module nvidia-uvm
module nvidia-drm
module nvidia-peermem optional
module nvidia-vgpu-vfio optional

# Utility and compute (libnvidia-container's "utility" and "compute" sets).
library libnvidia-ml.so.{version}
library libcuda.so.{version}
library libcudadebugger.so.{version} optional
library libnvidia-opencl.so.{version} optional
library libnvidia-ptxjitcompiler.so.{version} optional
library libnvidia-nvvm.so.{version} optional
library libnvidia-gpucomp.so.{version} optional
library libnvidia-cfg.so.{version} optional
library libnvidia-allocator.so.{version} optional
# Video.
library libnvcuvid.so.{version} optional
library libnvidia-encode.so.{version} optional
library libnvidia-opticalflow.so.{version} optional
library libnvidia-fbc.so.{version} optional
# Graphics (GLVND vendor libraries and what they load).
library libGLX_nvidia.so.{version}
library libEGL_nvidia.so.{version} optional
library libGLESv2_nvidia.so.{version} optional
library libGLESv1_CM_nvidia.so.{version} optional
library libnvidia-glcore.so.{version}
library libnvidia-tls.so.{version} optional
library libnvidia-glsi.so.{version} optional
library libnvidia-eglcore.so.{version} optional
library libnvidia-glvkspirv.so.{version} optional
library libnvidia-rtcore.so.{version} optional
library libnvoptix.so.{version} optional
library libnvidia-egl-gbm.so.* optional
library libnvidia-egl-wayland.so.* optional

# Programs.
file /usr/bin/nvidia-smi
file /usr/bin/nvidia-debugdump optional
file /usr/bin/nvidia-persistenced optional
file /usr/bin/nvidia-cuda-mps-control optional
file /usr/bin/nvidia-cuda-mps-server optional

# ICD files: how the Vulkan, EGL and GLVND loaders find the vendor libraries.
file /usr/share/vulkan/icd.d/nvidia_icd.json optional
file /usr/share/vulkan/implicit_layer.d/nvidia_layers.json optional
file /usr/share/glvnd/egl_vendor.d/10_nvidia.json optional
file /usr/share/egl/egl_external_platform.d/*nvidia*.json optional
file /etc/OpenCL/vendors/nvidia.icd optional

# Windows guests: the guest driver package (kept with 'gpupv drivers-store add') that goes with
# the host's driver. An NVIDIA vGPU guest must run a guest driver of the same vGPU software
# release as the host's Virtual GPU Manager; each release pairs one Linux host branch with one
# Windows guest branch (NVIDIA Virtual GPU Software release notes, "Supported NVIDIA vGPU
# Software Releases": e.g. vGPU 16 = host R535 / guest 53x, vGPU 17 = host R550 / guest
# 551-553, vGPU 18 = host R570 / guest 572-573). The newest package of the guest branch in the
# store is taken.
#   windows-driver HOST-VERSION-PATTERN GUEST-VERSION-PATTERN
windows-driver 535.* 53[5-9].*
windows-driver 550.* 55[0-3].*
windows-driver 570.* 57[0-3].*
