# Intel integrated and Arc graphics on i915: the firmware a guest's driver loads.
#
# i915 is in the kernel, so a guest running the host's kernel already has the module; what
# must match is the firmware. An SR-IOV VF's driver in the guest loads the GuC and HuC
# firmware of the same release as the PF's on the host (the PF's GuC hands out the VFs'
# resources, and its interface version must be one the VF's GuC speaks), and the display
# firmware (DMC) and GSC firmware of the same linux-firmware release.
#
# Sources:
#  - the kernel's drivers/gpu/drm/i915/gt/uc/intel_uc_fw.c (INTEL_GUC_FIRMWARE_DEFS,
#    INTEL_HUC_FIRMWARE_DEFS: the files each platform asks for, listed as firmware= in the
#    module) and drivers/gpu/drm/i915/display/intel_dmc.c;
#  - Intel's "SR-IOV on Intel graphics" documentation (matching GuC between PF and VF);
#  - linux-firmware's i915/ folder (and Debian's firmware-misc-nonfree, which installs it,
#    compressed with zstd on newer distributions).
# Directives: see nvidia.profile.

vendor i915
title Intel graphics (i915) firmware
pci-vendor 8086
version kernel

firmware-of i915
firmware i915/*_guc_*.bin optional
firmware i915/*_huc*.bin optional
firmware i915/*_dmc*.bin optional
firmware i915/*_gsc_*.bin optional
