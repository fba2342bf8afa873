/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers-sync/tar.h"

#define BLOCK 512

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

static int pad(int fd, uint64_t size)
{
	static const char zeros[BLOCK];
	size_t n = (size_t)((BLOCK - size % BLOCK) % BLOCK);

	return n ? write_all(fd, zeros, n) : 0;
}

/* A number in a header field of width bytes: octal digits and a NUL. */
static bool octal(char *field, size_t width, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%0*llo", (int)(width - 1), (unsigned long long)v);
	if (strlen(buf) > width - 1)
		return false;
	memcpy(field, buf, width);
	return true;
}

/* A ustar header block (POSIX.1-2001), for name/linkname that fit; pax carries the rest. */
static void ustar_header(char h[static BLOCK], const char *name, char type, uint32_t mode,
	uint64_t size, int64_t mtime, const char *linkname)
{
	unsigned sum = 0;

	memset(h, 0, BLOCK);
	memcpy(h, name, strnlen(name, 100));
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	if (!octal(h + 124, 12, size))
		octal(h + 124, 12, 0);
	if (mtime < 0 || !octal(h + 136, 12, (uint64_t)mtime))
		octal(h + 136, 12, 0);
	h[156] = type;
	if (linkname)
		memcpy(h + 157, linkname, strnlen(linkname, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 5);
	memcpy(h + 297, "root", 5);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* One pax record, "LEN key=value\n", LEN counting itself. */
static int pax_add(char **buf, size_t *len, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, n = body + 1, digits;
	char *nb;

	for (;;) {
		char tmp[24];

		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", n);
		if (digits + body == n)
			break;
		n = digits + body;
	}
	nb = realloc(*buf, *len + n + 1);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	snprintf(nb + *len, n + 1, "%zu %s=%s\n", n, key, value);
	*len += n;
	return 0;
}

static int write_member(int fd, const char *name, const struct gpv_ds_file *f, uint64_t size)
{
	_cleanup_free_ char *pax = NULL;
	size_t pax_len = 0;
	int64_t sec = f->mtime_ns / 1000000000, nsec = f->mtime_ns % 1000000000;
	char h[BLOCK];
	int r = 0;

	if (nsec < 0) {
		sec--;
		nsec += 1000000000;
	}
	/* GNU tar, in the appliance, reads pax: long names and exact times go there. */
	if (strlen(name) >= 100)
		r = pax_add(&pax, &pax_len, "path", name);
	if (r >= 0 && f->type == GPV_DS_LINK && strlen(f->target) >= 100)
		r = pax_add(&pax, &pax_len, "linkpath", f->target);
	if (r >= 0 && size >= (1ULL << 33)) {
		char v[24];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)size);
		r = pax_add(&pax, &pax_len, "size", v);
	}
	if (r >= 0 && (nsec || sec < 0 || sec >= (1LL << 33))) {
		char v[48];

		snprintf(v, sizeof(v), "%lld.%09lld", (long long)sec, (long long)nsec);
		r = pax_add(&pax, &pax_len, "mtime", v);
	}
	if (r < 0)
		return r;
	if (pax) {
		ustar_header(h, "PaxHeader/gpupv", 'x', 0644, pax_len, sec, NULL);
		r = write_all(fd, h, BLOCK);
		if (r >= 0)
			r = write_all(fd, pax, pax_len);
		if (r >= 0)
			r = pad(fd, pax_len);
		if (r < 0)
			return r;
	}
	if (f->type == GPV_DS_LINK)
		ustar_header(h, name, '2', 0777, 0, sec, f->target);
	else
		ustar_header(h, name, '0', f->mode, size, sec, NULL);
	return write_all(fd, h, BLOCK);
}

/* Exactly size bytes of src: a file that changed size since it was read is an error. */
static int copy_exact(int src, int dst, uint64_t size)
{
	_cleanup_free_ char *buf = malloc(1 << 18);

	if (!buf)
		return -ENOMEM;
	while (size) {
		ssize_t n = read(src, buf, size < (1 << 18) ? (size_t)size : (1 << 18));
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		r = write_all(dst, buf, (size_t)n);
		if (r < 0)
			return r;
		size -= (uint64_t)n;
	}
	return 0;
}

int gpv_ds_tar_write(int fd, const struct gpv_ds_file *const *files, const char *const *names,
	size_t n, int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud)
{
	char end[2 * BLOCK] = {0};
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct gpv_ds_file *f = files[i];
		_cleanup_close_ int src = -1;
		struct stat st;

		if (f->type == GPV_DS_LINK) {
			r = write_member(fd, names[i], f, 0);
			continue;
		}
		src = open_src(ud, f);
		if (src < 0)
			return src;
		if (fstat(src, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		r = write_member(fd, names[i], f, (uint64_t)st.st_size);
		if (r >= 0)
			r = copy_exact(src, fd, (uint64_t)st.st_size);
		if (r >= 0)
			r = pad(fd, (uint64_t)st.st_size);
	}
	if (r >= 0)
		r = write_all(fd, end, sizeof(end));
	return r;
}
