/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/volume.h"

/*
 * The magic numbers, as util-linux's libblkid reads them (libblkid/src/superblocks/ext.c,
 * xfs.c, lvm.c, luks.c, linux_raid.c, ntfs.c):
 *   ext2/3/4: the superblock at 1024, its s_magic 0xEF53 (little-endian) at 56 in it;
 *   XFS: "XFSB" at 0;
 *   LVM2 physical volume: the label "LABELONE" in one of the first four sectors (the second
 *   by default);
 *   LUKS: "LUKS\xba\xbe" at 0; MD RAID: 0xa92b4efc (little-endian) at 0 (superblock 1.1) or at
 *   4096 (1.2); NTFS: "NTFS    " at 3.
 * The MD superblocks 0.90 and 1.0 are at the end of the device: such a mirror's halves show
 * as two plain file systems, which is no single root either.
 */
enum gpv_volume gpv_volume_classify(const void *buf, size_t n)
{
	static const unsigned char md[] = { 0xfc, 0x4e, 0x2b, 0xa9 };
	const unsigned char *b = buf;

	for (size_t sector = 0; sector < 4; sector++)
		if (n >= sector * 512 + 8 && memcmp(b + sector * 512, "LABELONE", 8) == 0)
			return GPV_VOLUME_OTHER;
	if ((n >= 6 && memcmp(b, "LUKS\xba\xbe", 6) == 0) || (n >= 4 && memcmp(b, md, 4) == 0) ||
		(n >= 4100 && memcmp(b + 4096, md, 4) == 0) ||
		(n >= 11 && memcmp(b + 3, "NTFS    ", 8) == 0))
		return GPV_VOLUME_OTHER;
	if (n >= 1082 && b[1080] == 0x53 && b[1081] == 0xef)
		return GPV_VOLUME_PLAIN;
	if (n >= 4 && memcmp(b, "XFSB", 4) == 0)
		return GPV_VOLUME_PLAIN;
	return GPV_VOLUME_NONE;
}

/* The blank-separated field at *p, advancing *p; its length, 0 at the line's end. */
static size_t field(const char **p, const char *end, const char **ret)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (e = s; e < end && *e != ' ' && *e != '\t'; e++)
		;
	*p = e;
	*ret = s;
	return (size_t)(e - s);
}

static bool field_is(const char *f, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(f, word, len) == 0;
}

bool gpv_fstab_splits_root(const char *text, size_t len, const char **ret_at, size_t *ret_len)
{
	static const char *const written[] = { "/usr", "/var", "/etc", "/lib", "/lib32", "/lib64",
		"/libx32", "/opt", "/bin", "/sbin" };
	static const char *const virtual_fs[] = { "swap", "tmpfs", "proc", "sysfs", "devpts",
		"devtmpfs", "efivarfs", "securityfs", "cgroup", "cgroup2", "debugfs", "mqueue",
		"hugetlbfs" };

	for (const char *l = text, *end = text + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *p = l, *spec, *mp, *type;
		size_t mlen, tlen;
		bool skip = false;

		if (!nl)
			nl = end;
		l = nl + 1;
		if (!field(&p, nl, &spec) || *spec == '#')
			continue;
		mlen = field(&p, nl, &mp);
		tlen = field(&p, nl, &type);
		/* A trailing slash names the same folder ("/usr/"). */
		while (mlen > 1 && mp[mlen - 1] == '/')
			mlen--;
		for (size_t i = 0; i < ELEMENTSOF(virtual_fs); i++)
			skip = skip || field_is(type, tlen, virtual_fs[i]);
		if (skip || !mlen || field_is(mp, mlen, "/") || field_is(mp, mlen, "none"))
			continue;
		for (size_t i = 0; i < ELEMENTSOF(written); i++) {
			size_t wlen = strlen(written[i]);

			if (mlen >= wlen && strncmp(mp, written[i], wlen) == 0 &&
				(mlen == wlen || mp[wlen] == '/')) {
				if (ret_at)
					*ret_at = mp;
				if (ret_len)
					*ret_len = mlen;
				return true;
			}
		}
	}
	return false;
}

char *gpv_os_release_value(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text, *end = text + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *v;
		size_t vlen;

		if (!nl)
			nl = end;
		if ((size_t)(nl - l) > klen && strncmp(l, key, klen) == 0 && l[klen] == '=') {
			v = l + klen + 1;
			vlen = (size_t)(nl - v);
			if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
				v++;
				vlen -= 2;
			}
			return strndup(v, vlen);
		}
		l = nl + 1;
	}
	return NULL;
}
