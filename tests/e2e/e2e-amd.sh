#!/bin/sh
# The end-to-end test (tests/e2e/e2e.sh) with QEMU's emulated AMD IOMMU in the L1 host. One file
# per IOMMU model so that 'make -j2 check' runs the two at once: each L1 has one vCPU, one
# host thread under TCG, so two of them fill a 2-core machine and finish in the time of one.
exec "$(dirname "$0")/e2e.sh" amd
