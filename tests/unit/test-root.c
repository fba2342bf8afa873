/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lib/root.h"
#include "tests/unit/tree.h"

static struct gpv_root *open_root(const char *dir)
{
	struct gpv_root *r = NULL;

	check_int(gpv_root_new(dir, &r), 0);
	return r;
}

TEST(resolve_relative_links_inside_root)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *canon = NULL, *s = NULL;

	tree_file(t, "sys/devices/pci0000:00/0000:01:00.0/vendor", "0x10de\n");
	tree_link(
		t, "sys/bus/pci/devices/0000:01:00.0", "../../../devices/pci0000:00/0000:01:00.0");
	r = open_root(t);
	check_int(gpv_root_resolve(r, "/sys/bus/pci/devices/0000:01:00.0", &canon), 0);
	check_streq(canon, "/sys/devices/pci0000:00/0000:01:00.0");
	check_int(gpv_root_read(r, "/sys/bus/pci/devices/0000:01:00.0/vendor", 100, &s, NULL), 0);
	check_streq(s, "0x10de\n");
	free(s);
	free(canon);
	gpv_root_free(r);
	tree_free(t);
}

TEST(absolute_link_starts_again_at_root)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *canon = NULL;

	tree_file(t, "etc/real", "x\n");
	tree_link(t, "etc/alias", "/etc/real");
	r = open_root(t);
	check_int(gpv_root_resolve(r, "/etc/alias", &canon), 0);
	check_streq(canon, "/etc/real");
	free(canon);
	gpv_root_free(r);
	tree_free(t);
}

TEST(link_escaping_root_is_refused)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *canon = NULL;

	tree_link(t, "sys/kernel/iommu_groups/1/devices/0000:01:00.0",
		"../../../../../../../../../etc");
	r = open_root(t);
	check_int(gpv_root_resolve(r, "/sys/kernel/iommu_groups/1/devices/0000:01:00.0", &canon),
		-EXDEV);
	check(canon == NULL);
	gpv_root_free(r);
	tree_free(t);
}

TEST(link_loop_is_refused)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *canon = NULL;

	tree_link(t, "a", "b");
	tree_link(t, "b", "a");
	r = open_root(t);
	check_int(gpv_root_resolve(r, "/a/x", &canon), -ELOOP);
	gpv_root_free(r);
	tree_free(t);
}

TEST(recorded_links_are_followed)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *s = NULL;
	int fd;

	/* A copy that could not keep symlinks stores the target as a file, no newline. */
	tree_file(t, "sys/devices/pci0000:00/0000:00:02.0/class", "0x030000\n");
	tree_file(t, "sys/devices/pci0000:00/0000:00:02.0/driver", "../../../bus/pci/drivers/i915");
	tree_file(
		t, "sys/bus/pci/devices/0000:00:02.0", "../../../devices/pci0000:00/0000:00:02.0");
	r = open_root(t);
	check_int(gpv_root_read(r, "/sys/bus/pci/devices/0000:00:02.0/class", 100, &s, NULL), 0);
	check_streq(s, "0x030000\n");
	free(s);
	fd = gpv_root_open(r, "/sys/bus/pci/devices/0000:00:02.0", O_RDONLY | O_DIRECTORY);
	check(fd >= 0);
	check_int(gpv_readlink_base_at(fd, "driver", &s), 0);
	check_streq(s, "i915");
	free(s);
	/* An ordinary attribute is not a link. */
	check_int(gpv_readlink_base_at(fd, "class", &s), -EINVAL);
	close(fd);
	gpv_root_free(r);
	tree_free(t);
}

TEST(huge_attribute_is_refused)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *big = malloc(1024 * 1024 + 1), *s = NULL;
	int fd;

	check(big != NULL);
	memset(big, 'a', 1024 * 1024);
	big[1024 * 1024] = '\0';
	tree_file(t, "sys/x/attr", "%s", big);
	free(big);
	r = open_root(t);
	fd = gpv_root_open(r, "/sys/x", O_RDONLY | O_DIRECTORY);
	check(fd >= 0);
	check_int(gpv_read_attr_at(fd, "attr", &s), -EFBIG);
	check(s == NULL);
	close(fd);
	gpv_root_free(r);
	tree_free(t);
}

TEST(list_is_sorted_and_missing_is_enoent)
{
	char *t = tree_new();
	struct gpv_root *r;
	char **names = NULL;
	size_t n = 0;

	tree_file(t, "d/b", "");
	tree_file(t, "d/a", "");
	tree_file(t, "d/c", "");
	r = open_root(t);
	check_int(gpv_root_list(r, "/d", &names, &n), 0);
	check_int(n, 3);
	check_streq(names[0], "a");
	check_streq(names[2], "c");
	check(names[3] == NULL);
	gpv_names_free(names);
	check_int(gpv_root_list(r, "/nope", &names, &n), -ENOENT);
	check_int(gpv_root_exists(r, "/d/a"), 0);
	check_int(gpv_root_exists(r, "/d/z"), -ENOENT);
	gpv_root_free(r);
	tree_free(t);
}

TEST(host_path_for_foreign_libraries)
{
	char *t = tree_new();
	struct gpv_root *r = open_root(t), *host = open_root(NULL);
	char *p = NULL, *want = NULL;

	check_int(gpv_root_host_path(r, "/sys/bus/pci", &p), 0);
	check(asprintf(&want, "%s/sys/bus/pci", t) > 0);
	check_streq(p, want);
	free(p);
	free(want);
	check(gpv_root_is_host(host));
	check_int(gpv_root_host_path(host, "/sys/bus/pci", &p), 0);
	check_streq(p, "/sys/bus/pci");
	free(p);
	gpv_root_free(r);
	gpv_root_free(host);
	tree_free(t);
}

TEST(missing_root_is_an_error)
{
	struct gpv_root *r = NULL;

	check_int(gpv_root_new("/nonexistent/gpupv/root", &r), -ENOENT);
	check(r == NULL);
}

TEST(components_below_a_file_are_refused)
{
	char *t = tree_new();
	struct gpv_root *r;
	char *canon = NULL;

	tree_file(t, "sys/attr", "1\n");
	r = open_root(t);
	check_int(gpv_root_resolve(r, "/sys/attr/..", &canon), -ENOTDIR);
	check_int(gpv_root_resolve(r, "/sys/attr/.", &canon), -ENOTDIR);
	check_int(gpv_root_resolve(r, "/sys/attr/", &canon), 0);
	free(canon);
	gpv_root_free(r);
	tree_free(t);
}
