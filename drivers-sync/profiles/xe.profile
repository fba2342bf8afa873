# Intel graphics on the xe driver (Lunar Lake, Battlemage and later): the firmware a guest's
# driver loads.
#
# Like i915, xe is in the kernel: a guest running the host's kernel has the module, and needs
# the GuC, HuC and GSC firmware of the host's linux-firmware release (SR-IOV VFs require the
# GuC interface the PF's GuC offers).
#
# Sources:
#  - the kernel's drivers/gpu/drm/xe/xe_uc_fw.c (XE_GUC_FIRMWARE_DEFS, XE_HUC_FIRMWARE_DEFS,
#    XE_GSC_FIRMWARE_DEFS: the firmware= lines of xe.ko);
#  - linux-firmware's xe/ folder.
# Directives: see nvidia.profile.

vendor xe
title Intel graphics (xe) firmware
pci-vendor 8086
version kernel

firmware-of xe
firmware xe/*_guc*.bin optional
firmware xe/*_huc*.bin optional
firmware xe/*_gsc*.bin optional
