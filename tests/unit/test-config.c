/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lib/pci.h"
#include "tests/unit/tap.h"

/* A 256-byte header with a capability list: PM at 0x40 -> PCIe at 0x50 -> next. */
static void make_config(uint8_t *c, bool flr, bool no_soft_reset, uint8_t last_next)
{
	memset(c, 0, 256);
	c[0] = 0xde;
	c[1] = 0x10;
	c[6] = 0x10; /* status: capability list */
	c[0x0e] = 0x00;
	c[0x34] = 0x40;
	c[0x40] = 0x01; /* PM */
	c[0x41] = 0x50;
	c[0x44] = no_soft_reset ? 0x08 : 0x00;
	c[0x50] = 0x10; /* PCIe */
	c[0x51] = last_next;
	if (flr)
		c[0x50 + 4 + 3] = 0x10; /* DevCap bit 28 */
}

TEST(config_flr_and_pm)
{
	uint8_t c[256];
	gpv_strv m = {0};

	make_config(c, true, false, 0);
	check_int(gpv_pci_config_reset_methods(c, sizeof(c), &m), 0);
	check_int(m.n, 2);
	check_streq(m.v[0], "flr");
	check_streq(m.v[1], "pm");
	gpv_strv_clear(&m);
}

TEST(config_no_soft_reset_means_no_pm_reset)
{
	uint8_t c[256];
	gpv_strv m = {0};

	make_config(c, false, true, 0);
	check_int(gpv_pci_config_reset_methods(c, sizeof(c), &m), 0);
	check_int(m.n, 0);
	gpv_strv_clear(&m);
}

TEST(config_capability_loop_terminates)
{
	uint8_t c[256];
	gpv_strv m = {0};

	make_config(c, true, false, 0x40); /* PCIe points back at PM */
	check_int(gpv_pci_config_reset_methods(c, sizeof(c), &m), 0);
	check(m.n >= 1);
	gpv_strv_clear(&m);
}

TEST(config_truncated)
{
	uint8_t c[256];
	gpv_strv m = {0};

	make_config(c, true, false, 0);
	check_int(gpv_pci_config_reset_methods(c, 32, &m), -ENODATA);
	check_int(gpv_pci_config_header_type(c, 32), -ENODATA);
	/* The list runs past a 64-byte (unprivileged) read: nothing is read out of bounds. */
	check_int(gpv_pci_config_reset_methods(c, 64, &m), 0);
	check_int(m.n, 0);
	gpv_strv_clear(&m);
}

TEST(config_header_type)
{
	uint8_t c[256];

	make_config(c, false, false, 0);
	c[0x0e] = 0x81; /* multifunction bridge */
	check_int(gpv_pci_config_header_type(c, sizeof(c)), 1);
}
