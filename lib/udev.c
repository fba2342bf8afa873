/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include <libudev.h>

#include "lib/log.h"
#include "lib/udev.h"

struct gpv_uevents {
	struct udev *udev;
	struct udev_monitor *mon;
};

int gpv_uevents_new(struct gpv_uevents **ret)
{
	struct gpv_uevents *u = calloc(1, sizeof(*u));
	int r = -ENOMEM;

	if (!u)
		return -ENOMEM;
	u->udev = udev_new();
	if (!u->udev)
		goto fail;
	/* "kernel" events come straight from the kernel, without waiting for udev's rules. */
	u->mon = udev_monitor_new_from_netlink(u->udev, "kernel");
	if (!u->mon) {
		r = -EPERM;
		goto fail;
	}
	if ((r = udev_monitor_filter_add_match_subsystem_devtype(u->mon, "pci", NULL)) < 0 ||
		(r = udev_monitor_filter_add_match_subsystem_devtype(u->mon, "vfio", NULL)) < 0 ||
		(r = udev_monitor_enable_receiving(u->mon)) < 0)
		goto fail;
	*ret = u;
	return 0;
fail:
	gpv_uevents_free(u);
	return r < 0 ? r : -EIO;
}

struct gpv_uevents *gpv_uevents_free(struct gpv_uevents *u)
{
	if (!u)
		return NULL;
	udev_monitor_unref(u->mon);
	udev_unref(u->udev);
	free(u);
	return NULL;
}

int gpv_uevents_wait(struct gpv_uevents *u, int timeout_ms)
{
	struct pollfd p = { .fd = udev_monitor_get_fd(u->mon), .events = POLLIN };
	struct udev_device *d;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	while ((d = udev_monitor_receive_device(u->mon))) {
		gpv_debug("uevent: %s %s", udev_device_get_action(d) ? udev_device_get_action(d) : "?",
			udev_device_get_syspath(d) ? udev_device_get_syspath(d) : "?");
		udev_device_unref(d);
	}
	return 1;
}
