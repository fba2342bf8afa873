/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one wrapper around libudev: a monitor of kernel uevents, so that waiting for a driver
 * to bind is waiting for the event, not sleeping. Only meaningful on the live host.
 */
struct gpv_uevents;

/* Listens to the kernel's uevents for the pci and vfio subsystems. Caller frees. */
int gpv_uevents_new(struct gpv_uevents **ret);
struct gpv_uevents *gpv_uevents_free(struct gpv_uevents *u);

/* Waits up to timeout_ms for the next event and drains it. 1 event, 0 timeout, -errno. */
int gpv_uevents_wait(struct gpv_uevents *u, int timeout_ms);
