#!/bin/sh
# The end-to-end test (tests/e2e/e2e.sh) with QEMU's emulated AMD IOMMU in the L1 host. One file
# per IOMMU model so that 'make -j2 check' runs the two at once (each L1 is a 2-vCPU guest
# that spends most of its time waiting on libvirtd and on its nested L2 guest).
exec "$(dirname "$0")/e2e.sh" amd
