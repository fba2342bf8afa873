/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builds small machine trees in a temporary folder, laid out as the kernel lays out sysfs. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "tests/unit/tap.h"

static inline void tree_mkdirs(const char *root, const char *rel)
{
	char path[8192];

	/* A test's paths are short: one that does not fit is the test's own bug. */
	check((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) < sizeof(path));
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static inline void tree_parent(const char *root, const char *rel)
{
	char dir[4096];
	char *slash;

	check((size_t)snprintf(dir, sizeof(dir), "%s", rel) < sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		tree_mkdirs(root, dir);
	}
}

static inline void tree_file(const char *root, const char *rel, const char *fmt, ...)
{
	char path[8192];
	va_list ap;
	FILE *f;

	tree_parent(root, rel);
	check((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) < sizeof(path));
	f = fopen(path, "w");
	check(f != NULL);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static inline void tree_link(const char *root, const char *rel, const char *target)
{
	char path[8192];

	tree_parent(root, rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
	check(symlink(target, path) == 0);
}

static inline char *tree_new(void)
{
	char tmpl[] = "/tmp/gpupv-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	check(d != NULL);
	return strdup(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static inline void tree_free(char *root)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

/* A host with VT-x, /dev/kvm, a DMAR table and the given command line. */
static inline void tree_host(const char *root, const char *cmdline)
{
	tree_file(root, "proc/cpuinfo",
		"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n");
	tree_file(root, "proc/cmdline", "%s\n", cmdline);
	tree_file(root, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	tree_file(root, "dev/kvm", "");
	tree_file(root, "sys/firmware/acpi/tables/DMAR", "");
	tree_mkdirs(root, "sys/bus/pci/devices");
	tree_mkdirs(root, "sys/kernel/iommu_groups");
}

/*
 * A PCI function at sys/devices/pci0000:00/ADDR with its bus and group links. group < 0
 * means no group; driver NULL means none; header is the config header type.
 */
static inline void tree_dev(const char *root, const char *addr, unsigned vendor, unsigned device,
	unsigned class, int group, const char *driver, int header)
{
	char dev[256], rel[512], target[512];
	unsigned char cfg[64] = {0};
	int fd;

	snprintf(dev, sizeof(dev), "sys/devices/pci0000:00/%s", addr);
	snprintf(rel, sizeof(rel), "%s/vendor", dev);
	tree_file(root, rel, "0x%04x\n", vendor);
	snprintf(rel, sizeof(rel), "%s/device", dev);
	tree_file(root, rel, "0x%04x\n", device);
	snprintf(rel, sizeof(rel), "%s/class", dev);
	tree_file(root, rel, "0x%06x\n", class);
	cfg[0] = vendor & 0xff;
	cfg[1] = vendor >> 8;
	cfg[2] = device & 0xff;
	cfg[3] = device >> 8;
	cfg[0x0e] = (unsigned char)header;
	snprintf(rel, sizeof(rel), "%s/%s/config", root, dev);
	fd = open(rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0);
	check(write(fd, cfg, sizeof(cfg)) == sizeof(cfg));
	close(fd);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", addr);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", addr);
	tree_link(root, rel, target);
	if (group >= 0) {
		snprintf(rel, sizeof(rel), "%s/iommu_group", dev);
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
		tree_link(root, rel, target);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
		snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", addr);
		tree_link(root, rel, target);
	}
	if (driver) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", driver);
		tree_mkdirs(root, rel);
		snprintf(rel, sizeof(rel), "%s/driver", dev);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		tree_link(root, rel, target);
	}
}

/* Writes an attribute of a device made with tree_dev(). */
static inline void tree_attr(
	const char *root, const char *addr, const char *name, const char *value)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/%s", addr, name);
	tree_file(root, rel, "%s", value);
}
