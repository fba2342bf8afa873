/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "probes/bootcfg.h"
#include "tests/unit/tap.h"

static char *edit(const char *text, const char *add1, const char *add2, const char *rm1,
	bool *changed)
{
	gpv_strv add = { 0 }, rm = { 0 };
	char *out = NULL;

	if (add1)
		check_int(gpv_strv_push(&add, add1), 0);
	if (add2)
		check_int(gpv_strv_push(&add, add2), 0);
	if (rm1)
		check_int(gpv_strv_push(&rm, rm1), 0);
	check_int(gpv_grub_edit(text, &add, &rm, &out, changed), 0);
	gpv_strv_clear(&add);
	gpv_strv_clear(&rm);
	return out;
}

TEST(grub_adds_to_the_last_assignment_only)
{
	bool changed;
	char *out = edit("# comment GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\n"
			 "GRUB_DEFAULT=0\n"
			 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
			 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\" # the one that counts\n"
			 "GRUB_CMDLINE_LINUX=\"\"\n",
		"intel_iommu=on", "iommu=pt", NULL, &changed);

	check(changed);
	check_streq(out, "# comment GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\n"
			 "GRUB_DEFAULT=0\n"
			 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
			 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on iommu=pt\" # the "
			 "one that counts\n"
			 "GRUB_CMDLINE_LINUX=\"\"\n");
	free(out);
}

TEST(grub_replaces_a_value_of_the_same_key_and_removes)
{
	bool changed;
	char *out = edit("GRUB_CMDLINE_LINUX_DEFAULT='quiet intel_iommu=off iommu=soft'\n",
		"intel_iommu=on", "iommu=pt", "amd_iommu=off", &changed);

	check(changed);
	check_streq(out, "GRUB_CMDLINE_LINUX_DEFAULT='quiet intel_iommu=on iommu=pt'\n");
	free(out);
	out = edit("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet amd_iommu=off\"\n", NULL, NULL,
		"amd_iommu=off", &changed);
	check(changed);
	check_streq(out, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
	free(out);
}

TEST(grub_already_right_is_unchanged)
{
	bool changed = true;
	const char *text = "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt  quiet intel_iommu=on\"\n";
	char *out = edit(text, "intel_iommu=on", "iommu=pt", NULL, &changed);

	check(!changed);
	free(out);
}

TEST(grub_unquoted_and_missing)
{
	bool changed;
	char *out = edit("GRUB_CMDLINE_LINUX_DEFAULT=quiet\nGRUB_TIMEOUT=5", "iommu=pt", NULL, NULL,
		&changed);

	check(changed);
	check_streq(out, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\nGRUB_TIMEOUT=5");
	free(out);
	out = edit("GRUB_TIMEOUT=5", "iommu=pt", NULL, NULL, &changed);
	check(changed);
	check_streq(out, "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n");
	free(out);
	out = edit("", NULL, NULL, NULL, &changed);
	check(!changed);
	free(out);
}

TEST(grub_unterminated_quote_is_survived)
{
	bool changed;
	char *out = edit("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n", "iommu=pt", NULL, NULL, &changed);

	check(changed);
	check(strstr(out, "iommu=pt") != NULL);
	free(out);
}
