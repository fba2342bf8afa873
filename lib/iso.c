/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* gpupv hands libisofs no burn_source of its own: the header's copy of the struct is enough. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "lib/dl.h"
#include "lib/iso.h"
#include "lib/log.h"
#include "lib/util.h"

/* libisofs is opened on first use (lib/dl.h): only a deploy makes an image. */
static GPV_DL_SYM(iso_init_with_flag);
static GPV_DL_SYM(iso_set_msgs_severities);
static GPV_DL_SYM(iso_error_to_msg);
static GPV_DL_SYM(iso_image_new);
static GPV_DL_SYM(iso_image_unref);
static GPV_DL_SYM(iso_image_get_root);
static GPV_DL_SYM(iso_image_set_volume_id);
static GPV_DL_SYM(iso_image_add_new_file);
static GPV_DL_SYM(iso_stream_unref);
static GPV_DL_SYM(iso_write_opts_new);
static GPV_DL_SYM(iso_write_opts_free);
static GPV_DL_SYM(iso_write_opts_set_rockridge);
static GPV_DL_SYM(iso_write_opts_set_joliet);
static GPV_DL_SYM(iso_write_opts_set_relaxed_vol_atts);
static GPV_DL_SYM(iso_image_create_burn_source);
static GPV_DL_SYM(serial_id);
static int iso_state, iso_init_state;

static int iso_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(iso_init_with_flag),
		GPV_DL_ENTRY(iso_set_msgs_severities),
		GPV_DL_ENTRY(iso_error_to_msg),
		GPV_DL_ENTRY(iso_image_new),
		GPV_DL_ENTRY(iso_image_unref),
		GPV_DL_ENTRY(iso_image_get_root),
		GPV_DL_ENTRY(iso_image_set_volume_id),
		GPV_DL_ENTRY(iso_image_add_new_file),
		GPV_DL_ENTRY(iso_stream_unref),
		GPV_DL_ENTRY(iso_write_opts_new),
		GPV_DL_ENTRY(iso_write_opts_free),
		GPV_DL_ENTRY(iso_write_opts_set_rockridge),
		GPV_DL_ENTRY(iso_write_opts_set_joliet),
		GPV_DL_ENTRY(iso_write_opts_set_relaxed_vol_atts),
		GPV_DL_ENTRY(iso_image_create_burn_source),
		GPV_DL_ENTRY(serial_id),
	};
	int r = gpv_dl_open(GPV_LIBISOFS_SONAME, syms, ELEMENTSOF(syms), &iso_state);

	if (r < 0 || iso_init_state)
		return r < 0 ? r : iso_init_state > 0 ? 0 : iso_init_state;
	/* bit 0: leave the process's locale alone; the names gpupv writes are ASCII. */
	if (sym_iso_init_with_flag(1) < 0) {
		gpv_debug("libisofs: iso_init failed");
		iso_init_state = -EIO;
		return iso_init_state;
	}
	/* A library never prints: libisofs neither queues nor prints its messages. */
	sym_iso_set_msgs_severities("NEVER", "NEVER", "libisofs");
	iso_init_state = 1;
	return 0;
}

static int iso_errno(int code, const char *what)
{
	gpv_debug("libisofs: %s: %s", what, sym_iso_error_to_msg(code));
	return code == (int)ISO_OUT_OF_MEM ? -ENOMEM : -EIO;
}

/*
 * A stream over a copy of a file's bytes. libisofs' own memory stream frees its buffer
 * without wiping it; these files may hold a password, so this one wipes its copy first.
 */
struct mem {
	unsigned char *buf;
	size_t size, pos;
	ino_t ino;
};

static int mem_open(IsoStream *stream)
{
	((struct mem *)stream->data)->pos = 0;
	return ISO_SUCCESS;
}

static int mem_close(IsoStream *stream)
{
	return ISO_SUCCESS;
}

static off_t mem_get_size(IsoStream *stream)
{
	return (off_t)((struct mem *)stream->data)->size;
}

static int mem_read(IsoStream *stream, void *buf, size_t count)
{
	struct mem *m = stream->data;
	size_t n = m->size - m->pos;

	if (count > INT_MAX)
		count = INT_MAX;
	if (n > count)
		n = count;
	memcpy(buf, m->buf + m->pos, n);
	m->pos += n;
	return (int)n;
}

static int mem_is_repeatable(IsoStream *stream)
{
	return 1;
}

/* Streams libisofs cannot identify otherwise take a serial number with fs and dev 0. */
static void mem_get_id(IsoStream *stream, unsigned int *fs_id, dev_t *dev_id, ino_t *ino_id)
{
	*fs_id = 0;
	*dev_id = 0;
	*ino_id = ((struct mem *)stream->data)->ino;
}

static void mem_free(IsoStream *stream)
{
	struct mem *m = stream->data;

	explicit_bzero(m->buf, m->size);
	free(m->buf);
	free(m);
}

static int mem_update_size(IsoStream *stream)
{
	return ISO_SUCCESS;
}

static IsoStreamIface mem_class = {
	.version = 1,
	.type = "gpvm",
	.open = mem_open,
	.close = mem_close,
	.get_size = mem_get_size,
	.read = mem_read,
	.is_repeatable = mem_is_repeatable,
	.get_id = mem_get_id,
	.free = mem_free,
	.update_size = mem_update_size,
};

/* libisofs frees the IsoStream itself with free() after calling mem_free(). */
static int mem_stream_new(const void *data, size_t size, IsoStream **ret)
{
	IsoStream *s = calloc(1, sizeof(*s));
	struct mem *m = calloc(1, sizeof(*m));

	if (!s || !m || !(m->buf = malloc(size ? size : 1))) {
		free(s);
		free(m);
		return -ENOMEM;
	}
	memcpy(m->buf, data, size);
	m->size = size;
	m->ino = (*sym_serial_id)++;
	s->class = &mem_class;
	s->refcount = 1;
	s->data = m;
	*ret = s;
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 64 && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

static int build(const char *volume_id, const struct gpv_iso_file *files, size_t n, IsoImage **ret)
{
	IsoImage *image = NULL;
	int r;

	r = sym_iso_image_new(volume_id, &image);
	if (r < 0)
		return iso_errno(r, "cannot make an image");
	sym_iso_image_set_volume_id(image, volume_id);
	for (size_t i = 0; i < n; i++) {
		IsoStream *stream;

		r = mem_stream_new(files[i].data, files[i].size, &stream);
		if (r < 0)
			goto fail;
		r = sym_iso_image_add_new_file(
			image, sym_iso_image_get_root(image), files[i].name, stream, NULL);
		if (r < 0) {
			sym_iso_stream_unref(stream);
			r = r == (int)ISO_NODE_NAME_NOT_UNIQUE ? -EEXIST
							       : iso_errno(r, files[i].name);
			goto fail;
		}
	}
	*ret = image;
	return 0;
fail:
	sym_iso_image_unref(image);
	return r;
}

static void burn_source_unref(struct burn_source *src)
{
	if (--src->refcount < 1) {
		if (src->free_data)
			src->free_data(src);
		free(src);
	}
}

/*
 * Reads the image from the writer thread into fd, one 2048-byte sector a call: asked for
 * more, libisofs' burn_source answers end of data before a last, partial buffer.
 */
static int drain(struct burn_source *src, int fd)
{
	unsigned char buf[2048];
	int r = 0;

	for (;;) {
		int n = src->version >= 1 && src->read_xt ? src->read_xt(src, buf, sizeof(buf))
							  : src->read(src, buf, sizeof(buf));
		size_t done = 0;

		if (n == 0)
			break;
		if (n < 0) {
			gpv_debug("libisofs: writing the image failed");
			r = -EIO;
			break;
		}
		while (done < (size_t)n) {
			ssize_t w = write(fd, buf + done, (size_t)n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = w < 0 ? -errno : -EIO;
				break;
			}
			done += (size_t)w;
		}
		if (r < 0)
			break;
	}
	if (r < 0 && src->version >= 1 && src->cancel)
		src->cancel(src);
	return r;
}

static int render(IsoImage *image, int fd)
{
	IsoWriteOpts *opts = NULL;
	struct burn_source *src = NULL;
	int r;

	/* Profile 2 ("distribution"): Rock Ridge and Joliet, modes and owners reset. */
	r = sym_iso_write_opts_new(&opts, 2);
	if (r < 0)
		return iso_errno(r, "cannot make write options");
	if ((r = sym_iso_write_opts_set_rockridge(opts, 1)) < 0 ||
		(r = sym_iso_write_opts_set_joliet(opts, 1)) < 0 ||
		/* keeps the label as given: cloud-init looks for "cidata" or "CIDATA" */
		(r = sym_iso_write_opts_set_relaxed_vol_atts(opts, 1)) < 0 ||
		(r = sym_iso_image_create_burn_source(image, opts, &src)) < 0) {
		sym_iso_write_opts_free(opts);
		return iso_errno(r, "cannot start writing the image");
	}
	sym_iso_write_opts_free(opts);
	r = drain(src, fd);
	burn_source_unref(src);
	return r;
}

int gpv_iso_write(
	const char *path, const char *volume_id, const struct gpv_iso_file *files, size_t n)
{
	_cleanup_free_ char *tmp = NULL;
	IsoImage *image = NULL;
	int fd, r;

	if (!volume_id || !*volume_id || strlen(volume_id) > 32 || !path || !*path)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_ok(files[i].name) || (!files[i].data && files[i].size))
			return -EINVAL;
	r = iso_open();
	if (r < 0)
		return r;
	r = build(volume_id, files, n, &image);
	if (r < 0)
		return r;
	r = gpv_asprintf(&tmp, "%s.XXXXXX", path);
	if (r < 0)
		goto out;
	/* mkostemp makes the file 0600 whatever the umask, before a byte is written. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = render(image, fd);
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	sym_iso_image_unref(image);
	return r;
}
