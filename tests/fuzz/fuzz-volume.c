/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for lib/volume.c: the input is taken as a volume's first bytes, as a disk's
 * first bytes (a copy of it too, with its GPT's CRCs made right so that the entries are
 * reached), as fstab text and as os-release text. The answers are one of the kinds,
 * partitions numbered within the table's reach, a mount point inside the text, a value that is
 * a copy of part of it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void partitions(const uint8_t *data, size_t size)
{
	struct gpv_partition parts[GPV_PARTITIONS_MAX];
	size_t n = 0;
	enum gpv_partition_table t = gpv_partition_table(data, size, parts, &n);

	assert(t == GPV_PARTITIONS_UNKNOWN || t == GPV_PARTITIONS_NONE ||
		t == GPV_PARTITIONS_LISTED);
	assert(t == GPV_PARTITIONS_LISTED || n == 0);
	assert(n <= GPV_PARTITIONS_MAX);
	for (size_t i = 0; i < n; i++) {
		assert(parts[i].number >= 1 && parts[i].number <= GPV_PARTITIONS_MAX);
		assert(i == 0 || parts[i].number > parts[i - 1].number);
	}
}

/* The input with its GPT header's and entries' CRCs set as a partitioning tool would. */
static void partitions_crc_fixed(const uint8_t *data, size_t size)
{
	uint8_t *d, *h;
	uint32_t hsize, count;
	uint64_t entries = 0;

	if (size < 600)
		return;
	d = malloc(size);
	assert(d);
	memcpy(d, data, size);
	h = d + 512;
	hsize = le32(h + 12);
	count = le32(h + 80);
	for (int i = 7; i >= 0; i--)
		entries = entries << 8 | h[72 + i];
	if (entries >= 2 && entries <= size / 512 && count <= GPV_PARTITIONS_MAX &&
		(size - entries * 512) / 128 >= count)
		put_le32(h + 88, gpv_crc32(d + entries * 512, (size_t)count * 128));
	if (hsize >= 92 && hsize <= 512 && 512 + hsize <= size) {
		put_le32(h + 16, 0);
		put_le32(h + 16, gpv_crc32(h, hsize));
	}
	partitions(d, size);
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "ID", "PRETTY_NAME", "VERSION_ID" };
	const char *text = (const char *)data, *at = NULL;
	enum gpv_volume v = gpv_volume_classify(data, size);
	size_t len = 0;

	assert(v == GPV_VOLUME_NONE || v == GPV_VOLUME_PLAIN || v == GPV_VOLUME_OTHER);
	partitions(data, size);
	partitions_crc_fixed(data, size);
	if (gpv_fstab_splits_root(text, size, &at, &len)) {
		assert(at >= text && len > 0 && at + len <= text + size);
		assert(at[0] == '/');
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *value = gpv_os_release_value(text, size, keys[i]);

		assert(!value || strlen(value) < size);
		free(value);
	}
	return 0;
}
