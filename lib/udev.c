/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include <libudev.h>

#include "lib/log.h"
#include "lib/dl.h"
#include "lib/udev.h"
#include "lib/util.h"

/* libudev is opened on first use (lib/dl.h): only a bind or unbind that waits needs it. */
static GPV_DL_SYM(udev_new);
static GPV_DL_SYM(udev_unref);
static GPV_DL_SYM(udev_monitor_new_from_netlink);
static GPV_DL_SYM(udev_monitor_filter_add_match_subsystem_devtype);
static GPV_DL_SYM(udev_monitor_enable_receiving);
static GPV_DL_SYM(udev_monitor_unref);
static GPV_DL_SYM(udev_monitor_get_fd);
static GPV_DL_SYM(udev_monitor_receive_device);
static GPV_DL_SYM(udev_device_get_action);
static GPV_DL_SYM(udev_device_get_syspath);
static GPV_DL_SYM(udev_device_unref);
static int udev_state;

static int udev_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(udev_new),
		GPV_DL_ENTRY(udev_unref),
		GPV_DL_ENTRY(udev_monitor_new_from_netlink),
		GPV_DL_ENTRY(udev_monitor_filter_add_match_subsystem_devtype),
		GPV_DL_ENTRY(udev_monitor_enable_receiving),
		GPV_DL_ENTRY(udev_monitor_unref),
		GPV_DL_ENTRY(udev_monitor_get_fd),
		GPV_DL_ENTRY(udev_monitor_receive_device),
		GPV_DL_ENTRY(udev_device_get_action),
		GPV_DL_ENTRY(udev_device_get_syspath),
		GPV_DL_ENTRY(udev_device_unref),
	};

	return gpv_dl_open(GPV_LIBUDEV_SONAME, syms, ELEMENTSOF(syms), &udev_state);
}

struct gpv_uevents {
	struct udev *udev;
	struct udev_monitor *mon;
};

int gpv_uevents_new(struct gpv_uevents **ret)
{
	struct gpv_uevents *u;
	int r = udev_open();

	if (r < 0)
		return r;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	r = -ENOMEM;
	u->udev = sym_udev_new();
	if (!u->udev)
		goto fail;
	/* "kernel" events come straight from the kernel, without waiting for udev's rules. */
	u->mon = sym_udev_monitor_new_from_netlink(u->udev, "kernel");
	if (!u->mon) {
		r = -EPERM;
		goto fail;
	}
	if ((r = sym_udev_monitor_filter_add_match_subsystem_devtype(u->mon, "pci", NULL)) < 0 ||
		(r = sym_udev_monitor_filter_add_match_subsystem_devtype(u->mon, "vfio", NULL)) < 0 ||
		(r = sym_udev_monitor_enable_receiving(u->mon)) < 0)
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
	sym_udev_monitor_unref(u->mon);
	sym_udev_unref(u->udev);
	free(u);
	return NULL;
}

int gpv_uevents_wait(struct gpv_uevents *u, int timeout_ms)
{
	struct pollfd p = { .fd = sym_udev_monitor_get_fd(u->mon), .events = POLLIN };
	struct udev_device *d;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	while ((d = sym_udev_monitor_receive_device(u->mon))) {
		gpv_debug("uevent: %s %s", sym_udev_device_get_action(d) ? sym_udev_device_get_action(d) : "?",
			sym_udev_device_get_syspath(d) ? sym_udev_device_get_syspath(d) : "?");
		sym_udev_device_unref(d);
	}
	return 1;
}
