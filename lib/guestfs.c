/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks libguestfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <guestfs.h>

#include "lib/dl.h"
#include "lib/guestfs.h"
#include "lib/image.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"
#include "lib/volume.h"

/* libguestfs is opened on first use (lib/dl.h): only a sync into an image needs it. */
static GPV_DL_SYM(guestfs_create_flags);
static GPV_DL_SYM(guestfs_parse_environment);
static GPV_DL_SYM(guestfs_close);
static GPV_DL_SYM(guestfs_set_error_handler);
static GPV_DL_SYM(guestfs_set_event_callback);
static GPV_DL_SYM(guestfs_last_errno);
static GPV_DL_SYM(guestfs_set_identifier);
static GPV_DL_SYM(guestfs_add_drive_opts);
static GPV_DL_SYM(guestfs_launch);
static GPV_DL_SYM(guestfs_inspect_os);
static GPV_DL_SYM(guestfs_inspect_get_type);
static GPV_DL_SYM(guestfs_inspect_get_distro);
static GPV_DL_SYM(guestfs_inspect_get_product_name);
static GPV_DL_SYM(guestfs_inspect_get_mountpoints);
static GPV_DL_SYM(guestfs_list_filesystems);
static GPV_DL_SYM(guestfs_list_devices);
static GPV_DL_SYM(guestfs_list_partitions);
static GPV_DL_SYM(guestfs_pread_device);
static GPV_DL_SYM(guestfs_pread);
static GPV_DL_SYM(guestfs_lstatnslist);
static GPV_DL_SYM(guestfs_free_statns_list);
static GPV_DL_SYM(guestfs_readlinklist);
static GPV_DL_SYM(guestfs_read_file);
static GPV_DL_SYM(guestfs_mount);
static GPV_DL_SYM(guestfs_mount_ro);
static GPV_DL_SYM(guestfs_lstatns);
static GPV_DL_SYM(guestfs_free_statns);
static GPV_DL_SYM(guestfs_readlink);
static GPV_DL_SYM(guestfs_download);
static GPV_DL_SYM(guestfs_upload);
static GPV_DL_SYM(guestfs_chmod);
static GPV_DL_SYM(guestfs_tar_in_opts);
static GPV_DL_SYM(guestfs_rename);
static GPV_DL_SYM(guestfs_rm);
static GPV_DL_SYM(guestfs_rmdir);
static GPV_DL_SYM(guestfs_mkdir_mode);
static GPV_DL_SYM(guestfs_statvfs);
static GPV_DL_SYM(guestfs_free_statvfs);
static GPV_DL_SYM(guestfs_sync);
static GPV_DL_SYM(guestfs_umount_all);
static GPV_DL_SYM(guestfs_shutdown);
static GPV_DL_SYM(guestfs_case_sensitive_path);
static GPV_DL_SYM(guestfs_hivex_open);
static GPV_DL_SYM(guestfs_hivex_root);
static GPV_DL_SYM(guestfs_hivex_node_get_child);
static GPV_DL_SYM(guestfs_hivex_node_add_child);
static GPV_DL_SYM(guestfs_hivex_node_set_value);
static GPV_DL_SYM(guestfs_hivex_commit);
static GPV_DL_SYM(guestfs_hivex_close);
static int guestfs_state;

static int guestfs_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(guestfs_create_flags),
		GPV_DL_ENTRY(guestfs_parse_environment),
		GPV_DL_ENTRY(guestfs_close),
		GPV_DL_ENTRY(guestfs_set_error_handler),
		GPV_DL_ENTRY(guestfs_set_event_callback),
		GPV_DL_ENTRY(guestfs_last_errno),
		GPV_DL_ENTRY(guestfs_set_identifier),
		GPV_DL_ENTRY(guestfs_add_drive_opts),
		GPV_DL_ENTRY(guestfs_launch),
		GPV_DL_ENTRY(guestfs_inspect_os),
		GPV_DL_ENTRY(guestfs_inspect_get_type),
		GPV_DL_ENTRY(guestfs_inspect_get_distro),
		GPV_DL_ENTRY(guestfs_inspect_get_product_name),
		GPV_DL_ENTRY(guestfs_inspect_get_mountpoints),
		GPV_DL_ENTRY(guestfs_list_filesystems),
		GPV_DL_ENTRY(guestfs_list_devices),
		GPV_DL_ENTRY(guestfs_list_partitions),
		GPV_DL_ENTRY(guestfs_pread_device),
		GPV_DL_ENTRY(guestfs_pread),
		GPV_DL_ENTRY(guestfs_lstatnslist),
		GPV_DL_ENTRY(guestfs_free_statns_list),
		GPV_DL_ENTRY(guestfs_readlinklist),
		GPV_DL_ENTRY(guestfs_read_file),
		GPV_DL_ENTRY(guestfs_mount),
		GPV_DL_ENTRY(guestfs_mount_ro),
		GPV_DL_ENTRY(guestfs_lstatns),
		GPV_DL_ENTRY(guestfs_free_statns),
		GPV_DL_ENTRY(guestfs_readlink),
		GPV_DL_ENTRY(guestfs_download),
		GPV_DL_ENTRY(guestfs_upload),
		GPV_DL_ENTRY(guestfs_chmod),
		GPV_DL_ENTRY(guestfs_tar_in_opts),
		GPV_DL_ENTRY(guestfs_rename),
		GPV_DL_ENTRY(guestfs_rm),
		GPV_DL_ENTRY(guestfs_rmdir),
		GPV_DL_ENTRY(guestfs_mkdir_mode),
		GPV_DL_ENTRY(guestfs_statvfs),
		GPV_DL_ENTRY(guestfs_free_statvfs),
		GPV_DL_ENTRY(guestfs_sync),
		GPV_DL_ENTRY(guestfs_umount_all),
		GPV_DL_ENTRY(guestfs_shutdown),
		GPV_DL_ENTRY(guestfs_case_sensitive_path),
		GPV_DL_ENTRY(guestfs_hivex_open),
		GPV_DL_ENTRY(guestfs_hivex_root),
		GPV_DL_ENTRY(guestfs_hivex_node_get_child),
		GPV_DL_ENTRY(guestfs_hivex_node_add_child),
		GPV_DL_ENTRY(guestfs_hivex_node_set_value),
		GPV_DL_ENTRY(guestfs_hivex_commit),
		GPV_DL_ENTRY(guestfs_hivex_close),
	};

	return gpv_dl_open(GPV_LIBGUESTFS_SONAME, syms, ELEMENTSOF(syms), &guestfs_state);
}

/* What the appliance's console said last: qemu's reason when it does not start. */
#define CONSOLE_TAIL 8192

struct gpv_guestfs {
	guestfs_h *h;
	char *err;		       /* the last error message */
	char console[CONSOLE_TAIL + 1]; /* the end of the appliance's output, NUL-terminated */
	size_t console_len;
	bool launched, shut_down;
	/* The drives added so far, /dev/sda, /dev/sdb... in the appliance, and their files and
	 * formats as given (n_drives < n_added where memory ran out: not used then). */
	struct drive {
		char *path, *format;
	} *drives;
	size_t n_drives, n_added;
};

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void on_error(guestfs_h *h, void *opaque, const char *msg)
{
	struct gpv_guestfs *g = opaque;

	gpv_debug("libguestfs: error: %s", msg);
	free(g->err);
	g->err = strdup(msg);
}

static void on_event(guestfs_h *h, void *opaque, uint64_t event, int handle, int flags,
	const char *buf, size_t len, const uint64_t *array, size_t array_len)
{
	struct gpv_guestfs *g = opaque;
	const char *kind = event == GUESTFS_EVENT_WARNING ? "warning" :
			   event == GUESTFS_EVENT_TRACE	  ? "trace" :
							    "library";

	if (!buf || !len)
		return;
	/* The appliance's console (its kernel and init booting) is kept, not logged: it only
	 * matters when the appliance does not start (gpv_guestfs_launch() logs it then). */
	if (event != GUESTFS_EVENT_APPLIANCE) {
		while (len && buf[len - 1] == '\n')
			len--;
		gpv_debug("libguestfs: %s: %.*s", kind, (int)(len > 4096 ? 4096 : len), buf);
		return;
	}
	/* Keep the last CONSOLE_TAIL bytes. */
	if (len >= CONSOLE_TAIL) {
		buf += len - CONSOLE_TAIL;
		len = CONSOLE_TAIL;
	}
	if (g->console_len + len > CONSOLE_TAIL) {
		size_t drop = g->console_len + len - CONSOLE_TAIL;

		memmove(g->console, g->console + drop, g->console_len - drop);
		g->console_len -= drop;
	}
	memcpy(g->console + g->console_len, buf, len);
	g->console_len += len;
	g->console[g->console_len] = '\0';
}

/* The -errno of the call that just failed. */
static int fail(struct gpv_guestfs *g)
{
	int e = sym_guestfs_last_errno(g->h);

	if (e > 0)
		return -e;
	/* Errors of programs the appliance runs (tar) come as text only. */
	if (g->err && strstr(g->err, "No space left on device"))
		return -ENOSPC;
	if (g->err && strstr(g->err, "Disk quota exceeded"))
		return -EDQUOT;
	return -EIO;
}

int gpv_guestfs_new(struct gpv_guestfs **ret, char **ret_err)
{
	struct gpv_guestfs *g;
	int r = guestfs_open();

	*ret_err = NULL;
	if (r < 0)
		return r;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	/* The environment (LIBGUESTFS_BACKEND...) is parsed once the handlers are in place, so
	 * that nothing is printed. */
	g->h = sym_guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
	if (!g->h) {
		r = errno > 0 ? -errno : -ENOMEM;
		gpv_debug("libguestfs: cannot create a handle: %s", strerror(-r));
		free(g);
		return r;
	}
	sym_guestfs_set_error_handler(g->h, on_error, g);
	if (sym_guestfs_set_event_callback(g->h, on_event,
		    GUESTFS_EVENT_LIBRARY | GUESTFS_EVENT_WARNING | GUESTFS_EVENT_APPLIANCE |
			    GUESTFS_EVENT_TRACE,
		    0, g) < 0 ||
		sym_guestfs_parse_environment(g->h) < 0) {
		r = fail(g);
		*ret_err = TAKE_PTR(g->err);
		gpv_guestfs_free(g);
		return r;
	}
	(void)sym_guestfs_set_identifier(g->h, "gpupv");
	*ret = g;
	return 0;
}

struct gpv_guestfs *gpv_guestfs_free(struct gpv_guestfs *g)
{
	if (!g)
		return NULL;
	if (g->h) {
		if (g->launched && !g->shut_down)
			(void)gpv_guestfs_shutdown(g);
		sym_guestfs_close(g->h);
	}
	for (size_t i = 0; i < g->n_drives; i++) {
		free(g->drives[i].path);
		free(g->drives[i].format);
	}
	free(g->drives);
	free(g->err);
	free(g);
	return NULL;
}

const char *gpv_guestfs_last_error(const struct gpv_guestfs *g)
{
	return g->err;
}

int gpv_guestfs_add_drive(struct gpv_guestfs *g, const char *path, const char *format,
	bool readonly)
{
	struct drive *d;
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (!format) {
		/* qcow2 or raw by the first bytes: qemu's own guess is never asked for. */
		r = gpv_image_probe(path, &format, NULL);
		if (r < 0)
			return r;
		gpv_debug("libguestfs: %s: format %s (from its first bytes)", path, format);
	}
	if (sym_guestfs_add_drive_opts(g->h, path, GUESTFS_ADD_DRIVE_OPTS_FORMAT, format,
		    GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly ? 1 : 0, -1) < 0)
		return fail(g);
	/* Remembered for mount_plain_linux(); where memory runs out, it asks the appliance. */
	g->n_added++;
	d = g->n_drives + 1 == g->n_added ?
		    reallocarray(g->drives, g->n_drives + 1, sizeof(*d)) :
		    NULL;
	if (d) {
		g->drives = d;
		d[g->n_drives].path = strdup(path);
		d[g->n_drives].format = strdup(format);
		if (d[g->n_drives].path && d[g->n_drives].format) {
			g->n_drives++;
		} else {
			free(d[g->n_drives].path);
			free(d[g->n_drives].format);
		}
	}
	return 0;
}

int gpv_guestfs_launch(struct gpv_guestfs *g)
{
	struct timespec a, b;
	const char *lock;

	g->console_len = 0;
	g->console[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sym_guestfs_launch(g->h) >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		/* What the launch costs, apart from the work done in the appliance (measured by
		 * bench/drivers-sync-image). */
		gpv_debug("libguestfs: the appliance started in %.3f s",
			(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
		g->launched = true;
		return 0;
	}
	gpv_debug("libguestfs: the appliance did not start; the end of its output:\n%s",
		g->console);
	/* qemu refusing an image another process holds says so on its standard error, which
	 * libguestfs hands over as the appliance's output, not in its error. */
	lock = strstr(g->console, "Failed to get");
	if (lock) {
		const char *end = strchr(lock, '\n');
		_cleanup_free_ char *line = strndup(lock, end ? (size_t)(end - lock) : strlen(lock));

		if (!line || !strstr(line, " lock"))
			return fail(g);
		free(g->err);
		g->err = gpv_strip(TAKE_PTR(line));
		return -EBUSY;
	}
	return fail(g);
}

void gpv_guestfs_os_clear(struct gpv_guestfs_os *os)
{
	free(os->root);
	free(os->type);
	free(os->distro);
	free(os->product);
	*os = (struct gpv_guestfs_os){0};
}

static char *known(char *s)
{
	if (s && streq(s, "unknown")) {
		free(s);
		return NULL;
	}
	return s;
}

static int by_mountpoint_length(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	size_t lx = strlen(x[0]), ly = strlen(y[0]);

	return lx < ly ? -1 : lx > ly ? 1 : strcmp(x[0], y[0]);
}

static int mount_one(struct gpv_guestfs *g, const char *dev, const char *where, bool readonly)
{
	int r = readonly ? sym_guestfs_mount_ro(g->h, dev, where)
			 : sym_guestfs_mount(g->h, dev, where);

	return r < 0 ? fail(g) : 0;
}

/* The image's only file system, mounted as /, for an image that holds no operating system. */
static int mount_single(struct gpv_guestfs *g, bool readonly, struct gpv_guestfs_os *os)
{
	char **fs = sym_guestfs_list_filesystems(g->h);
	const char *dev = NULL;
	size_t n = 0;
	int r;

	if (!fs)
		return fail(g);
	for (size_t i = 0; fs[i] && fs[i + 1]; i += 2) {
		if (streq(fs[i + 1], "unknown") || streq(fs[i + 1], "swap"))
			continue;
		dev = fs[i];
		n++;
	}
	if (n != 1) {
		gpv_debug("libguestfs: no operating system, and %zu file systems", n);
		free_strv(fs);
		return -ENOENT;
	}
	r = mount_one(g, dev, "/", readonly);
	if (r >= 0 && !(os->root = strdup(dev)))
		r = -ENOMEM;
	free_strv(fs);
	return r;
}

/* Up to max bytes of a guest file (its links followed, inside the guest), NUL-terminated, in
 * one round trip; -EFBIG when it holds more. A download goes through a temporary file on each
 * side and costs a tenth of a second under emulation. Caller frees. */
static int read_head(struct gpv_guestfs *g, const char *path, size_t max, char **ret,
	size_t *ret_len)
{
	size_t got = 0;
	char *c = sym_guestfs_pread(g->h, path, (int)max + 1, 0, &got), *text;

	if (!c)
		return fail(g);
	if (got > max) {
		free(c);
		return -EFBIG;
	}
	text = realloc(c, got + 1);
	if (!text) {
		free(c);
		return -ENOMEM;
	}
	text[got] = '\0';
	*ret = text;
	*ret_len = got;
	return 0;
}

/* The volumes a root may be on as the appliance lists them: the partitions, or the whole
 * disks where there are none. */
static int listed_volumes(struct gpv_guestfs *g, char ***ret)
{
	char **v = sym_guestfs_list_partitions(g->h);

	if (v && !v[0]) {
		free_strv(v);
		v = sym_guestfs_list_devices(g->h);
	}
	if (!v)
		return fail(g);
	*ret = v;
	return 0;
}

/* Appends DISK followed by NUMBER (the disk itself for 0) to the NULL-terminated v[*n]. */
static int add_volume(char ***v, size_t *n, const char *disk, unsigned number)
{
	char **nv = reallocarray(*v, *n + 2, sizeof(**v)), *name;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (number == 0)
		name = strdup(disk);
	else if (asprintf(&name, "%s%u", disk, number) < 0)
		name = NULL;
	if (!name)
		return -ENOMEM;
	nv[(*n)++] = name;
	nv[*n] = NULL;
	return 0;
}

static void disk_name(char buf[static 16], size_t d)
{
	snprintf(buf, 16, "/dev/sd%c", (char)('a' + d));
}

/*
 * The volumes and their kinds from the image files themselves, before anything is asked of
 * the appliance: each disk's partition table and each volume's first bytes read by
 * gpv_image_pread(). libguestfs names the Nth disk added /dev/sd followed by the Nth letter,
 * its partition K that name followed by K (guestfs(3), "BLOCK DEVICE NAMING"). 0 when told,
 * 1 when the files do not tell (a backing file, a table gpupv does not read...).
 */
static int host_volumes(struct gpv_guestfs *g, char ***ret, enum gpv_volume **ret_kinds)
{
	unsigned char b[GPV_PARTITION_PROBE_BYTES], head[GPV_VOLUME_PROBE_BYTES];
	_cleanup_free_ enum gpv_volume *kinds = NULL;
	char **v = NULL;
	size_t n = 0;
	int r = 0;

	for (size_t d = 0; d < g->n_drives && r == 0; d++) {
		const struct drive *dr = &g->drives[d];
		struct gpv_partition parts[GPV_PARTITIONS_MAX];
		size_t np = 0;
		char disk[16];
		enum gpv_partition_table t = GPV_PARTITIONS_UNKNOWN;

		disk_name(disk, d);
		r = gpv_image_pread(dr->path, dr->format, b, sizeof(b), 0);
		if (r == 0)
			t = gpv_partition_table(b, sizeof(b), parts, &np);
		if (t == GPV_PARTITIONS_UNKNOWN) {
			gpv_debug("libguestfs: %s: %s: reading it in the appliance", dr->path,
				r < 0 ? strerror(-r) : "a partition table gpupv does not read");
			r = 1;
			break;
		}
		if (t == GPV_PARTITIONS_NONE || np == 0)
			parts[np++] = (struct gpv_partition){ 0, 0 };
		for (size_t i = 0; i < np && r == 0; i++) {
			enum gpv_volume *nk = reallocarray(kinds, n + 1, sizeof(*kinds));

			if (!nk) {
				r = -ENOMEM;
				break;
			}
			kinds = nk;
			r = gpv_image_pread(dr->path, dr->format, head, sizeof(head),
				parts[i].start);
			if (r < 0) {
				gpv_debug("libguestfs: %s: partition %u: %s: reading it in the "
					  "appliance",
					dr->path, parts[i].number, strerror(-r));
				r = 1;
				break;
			}
			kinds[n] = gpv_volume_classify(head, sizeof(head));
			r = add_volume(&v, &n, disk, parts[i].number);
		}
	}
	if (r != 0) {
		free_strv(v);
		return r;
	}
	gpv_debug("libguestfs: %zu volumes told from the image files, nothing asked of the "
		  "appliance",
		n);
	*ret = v;
	*ret_kinds = TAKE_PTR(kinds);
	return 0;
}

/*
 * The volumes from each disk's partition table read through the appliance, one read per disk
 * instead of list_partitions, which waits for udev first; a table gpupv does not read falls
 * back to that.
 */
static int disk_volumes(struct gpv_guestfs *g, char ***ret)
{
	char **v = NULL;
	size_t n = 0;
	int r = 0;

	if (g->n_added > 26)
		return listed_volumes(g, ret);
	for (size_t d = 0; d < g->n_added && r == 0; d++) {
		struct gpv_partition parts[GPV_PARTITIONS_MAX];
		char disk[16], *b;
		size_t got = 0, np = 0;
		enum gpv_partition_table t;

		disk_name(disk, d);
		b = sym_guestfs_pread_device(g->h, disk, GPV_PARTITION_PROBE_BYTES, 0, &got);
		t = b ? gpv_partition_table(b, got, parts, &np) : GPV_PARTITIONS_UNKNOWN;
		if (t == GPV_PARTITIONS_UNKNOWN) {
			gpv_debug("libguestfs: %s: %s: asking the appliance for the partitions", disk,
				b ? "a partition table gpupv does not read" : "cannot read it");
			free(b);
			free_strv(v);
			return listed_volumes(g, ret);
		}
		free(b);
		if (t == GPV_PARTITIONS_NONE || np == 0)
			parts[np++] = (struct gpv_partition){ 0, 0 };
		for (size_t i = 0; i < np && r == 0; i++)
			r = add_volume(&v, &n, disk, parts[i].number);
	}
	if (r < 0) {
		free_strv(v);
		return r;
	}
	if (!v)
		return listed_volumes(g, ret);
	*ret = v;
	return 0;
}

/*
 * The volumes a root may be on, and their kinds where the image files told them (else
 * *ret_kinds is NULL and each volume's first bytes are to be read in the appliance).
 */
static int volumes(struct gpv_guestfs *g, char ***ret, enum gpv_volume **ret_kinds)
{
	int r = 1;

	*ret_kinds = NULL;
	if (g->n_drives == g->n_added && g->n_drives > 0 && g->n_drives <= 26)
		r = host_volumes(g, ret, ret_kinds);
	if (r <= 0)
		return r;
	return disk_volumes(g, ret);
}

#define OS_FILE_MAX (64 * 1024)

/*
 * The common case without libguestfs's inspection, which runs blkid, LVM and more over every
 * volume and costs seconds under emulation: exactly one volume with an ext2/3/4 or XFS file
 * system (a file system a Linux root takes whole; not btrfs, whose root may be a subvolume),
 * no LVM, LUKS, MD RAID or NTFS volume, /etc/os-release in it once mounted, and no other file
 * system mounted by its /etc/fstab where drivers-sync writes. Each step is one round trip to
 * the appliance; the volumes are told apart by their first bytes.
 * 1: mounted, *os filled; 0: not this case, nothing mounted (inspect instead).
 */
static int mount_plain_linux(struct gpv_guestfs *g, bool readonly, struct gpv_guestfs_os *os)
{
	char **vols = NULL, *text = NULL, *fstab = NULL;
	const char *dev = NULL, *at = NULL;
	size_t n = 0, len = 0, flen = 0, at_len = 0;
	_cleanup_free_ enum gpv_volume *kinds = NULL;
	int r = volumes(g, &vols, &kinds);

	if (r < 0)
		return r;
	for (size_t i = 0; vols[i]; i++) {
		enum gpv_volume v;

		if (kinds) {
			v = kinds[i];
		} else {
			size_t got = 0;
			char *b = sym_guestfs_pread_device(g->h, vols[i], GPV_VOLUME_PROBE_BYTES, 0,
				&got);

			if (!b) {
				gpv_debug("libguestfs: cannot read %s's first bytes: inspecting",
					vols[i]);
				goto out;
			}
			v = gpv_volume_classify(b, got);
			free(b);
		}
		if (v == GPV_VOLUME_OTHER) {
			gpv_debug("libguestfs: %s is an LVM, LUKS, MD RAID or NTFS volume: inspecting",
				vols[i]);
			goto out;
		}
		if (v == GPV_VOLUME_PLAIN) {
			dev = vols[i];
			n++;
		}
	}
	if (n != 1) {
		gpv_debug("libguestfs: %zu ext2/3/4 or XFS file systems: inspecting", n);
		goto out;
	}
	if (mount_one(g, dev, "/", readonly) < 0) {
		gpv_debug("libguestfs: %s does not mount: inspecting", dev);
		goto out;
	}
	r = read_head(g, "/etc/os-release", OS_FILE_MAX, &text, &len);
	if (r >= 0) {
		r = read_head(g, "/etc/fstab", OS_FILE_MAX, &fstab, &flen);
		if (r == -ENOENT)
			r = 0;
	}
	if (r >= 0 && gpv_fstab_splits_root(fstab ? fstab : "", flen, &at, &at_len))
		gpv_debug("libguestfs: %s's /etc/fstab mounts %.*s apart from the root: inspecting",
			dev, (int)at_len, at);
	if (r < 0 || at) {
		/* Not told by these files (no os-release: an old release, or no OS): inspection
		 * decides. */
		if (r < 0)
			gpv_debug("libguestfs: %s: no /etc/os-release or /etc/fstab to read (%s): "
				  "inspecting",
				dev, strerror(-r));
		r = sym_guestfs_umount_all(g->h) < 0 ? fail(g) : 0;
		goto out;
	}
	os->type = strdup("linux");
	os->root = strdup(dev);
	os->distro = gpv_os_release_value(text, len, "ID");
	os->product = gpv_os_release_value(text, len, "PRETTY_NAME");
	r = os->type && os->root ? 1 : -ENOMEM;
	gpv_debug("libguestfs: %s has /etc/os-release: %s, mounted as / without inspection", dev,
		os->product ? os->product : "no PRETTY_NAME");
out:
	free(text);
	free(fstab);
	free_strv(vols);
	return r;
}

int gpv_guestfs_mount_os(struct gpv_guestfs *g, bool readonly, struct gpv_guestfs_os *ret)
{
	struct gpv_guestfs_os os = {0};
	char **roots, **mp = NULL;
	size_t n = 0;
	int r = mount_plain_linux(g, readonly, &os);

	if (r < 0) {
		gpv_guestfs_os_clear(&os);
		return r;
	}
	if (r > 0) {
		*ret = os;
		return 0;
	}
	roots = sym_guestfs_inspect_os(g->h);
	if (!roots)
		return fail(g);
	while (roots[n])
		n++;
	if (n == 0) {
		free_strv(roots);
		r = mount_single(g, readonly, &os);
		if (r < 0)
			return r;
		*ret = os;
		return 0;
	}
	if (n > 1) {
		gpv_debug("libguestfs: %zu operating systems in the image", n);
		free_strv(roots);
		return -ENOTUNIQ;
	}
	os.root = roots[0];
	free(roots);
	os.type = known(sym_guestfs_inspect_get_type(g->h, os.root));
	os.distro = known(sym_guestfs_inspect_get_distro(g->h, os.root));
	os.product = known(sym_guestfs_inspect_get_product_name(g->h, os.root));
	mp = sym_guestfs_inspect_get_mountpoints(g->h, os.root);
	if (!mp) {
		r = fail(g);
		goto out;
	}
	n = 0;
	while (mp[n] && mp[n + 1])
		n += 2;
	/* Parents before children: "/" before "/usr" before "/usr/local". */
	qsort(mp, n / 2, 2 * sizeof(*mp), by_mountpoint_length);
	for (size_t i = 0; i < n && r >= 0; i += 2) {
		r = mount_one(g, mp[i + 1], mp[i], readonly);
		gpv_debug("libguestfs: mount %s on %s%s: %s", mp[i + 1], mp[i],
			readonly ? " (read-only)" : "", r < 0 ? strerror(-r) : "done");
		/* As virt-inspector does: only the root must mount. */
		if (r < 0 && !streq(mp[i], "/"))
			r = 0;
	}
out:
	free_strv(mp);
	if (r < 0) {
		gpv_guestfs_os_clear(&os);
		return r;
	}
	*ret = os;
	return 0;
}

int gpv_guestfs_lstat(struct gpv_guestfs *g, const char *path, struct stat *ret)
{
	struct guestfs_statns *s = sym_guestfs_lstatns(g->h, path);

	if (!s)
		return fail(g);
	*ret = (struct stat){
		.st_mode = (mode_t)s->st_mode,
		.st_size = (off_t)s->st_size,
		.st_ino = (ino_t)s->st_ino,
		.st_nlink = (nlink_t)s->st_nlink,
		.st_mtim = { .tv_sec = s->st_mtime_sec, .tv_nsec = s->st_mtime_nsec },
	};
	sym_guestfs_free_statns(s);
	return 0;
}

/* libguestfs's own limit on a list's length in one message. */
#define LIST_CHUNK 4096

static int lstat_chunk(struct gpv_guestfs *g, const char *dir, const char *const *names,
	size_t n, struct gpv_guestfs_entry *ret)
{
	_cleanup_free_ char **links = calloc(n + 1, sizeof(*links));
	_cleanup_free_ size_t *at = calloc(n, sizeof(*at));
	struct guestfs_statns_list *l;
	char **targets = NULL;
	size_t n_links = 0, m = 0;

	if (!links || !at)
		return -ENOMEM;
	l = sym_guestfs_lstatnslist(g->h, dir, (char *const *)names);
	if (!l)
		return fail(g);
	if (l->len != n) {
		sym_guestfs_free_statns_list(l);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		const struct guestfs_statns *s = &l->val[i];

		/* libguestfs says "not there" (or "cannot lstat") with st_ino -1. */
		if (s->st_ino == -1) {
			ret[i] = (struct gpv_guestfs_entry){ .err = -ENOENT };
			continue;
		}
		ret[i] = (struct gpv_guestfs_entry){ .st = {
			.st_mode = (mode_t)s->st_mode,
			.st_size = (off_t)s->st_size,
			.st_ino = (ino_t)s->st_ino,
			.st_nlink = (nlink_t)s->st_nlink,
			.st_mtim = { .tv_sec = s->st_mtime_sec, .tv_nsec = s->st_mtime_nsec },
		} };
		if (S_ISLNK(ret[i].st.st_mode)) {
			at[n_links] = i;
			links[n_links++] = (char *)names[i];
		}
	}
	sym_guestfs_free_statns_list(l);
	if (!n_links)
		return 0;
	targets = sym_guestfs_readlinklist(g->h, dir, links);
	if (!targets)
		return fail(g);
	while (targets[m])
		m++;
	if (m != n_links) {
		free_strv(targets);
		return -EIO;
	}
	for (size_t j = 0; j < n_links; j++) {
		/* An empty string: that readlink failed (the link went away since). */
		if (!targets[j][0])
			ret[at[j]] = (struct gpv_guestfs_entry){ .err = -ENOENT };
		else
			ret[at[j]].target = TAKE_PTR(targets[j]);
		free(targets[j]);
	}
	free(targets);
	return 0;
}

int gpv_guestfs_lstat_list(struct gpv_guestfs *g, const char *dir, const char *const *names,
	size_t n, struct gpv_guestfs_entry *ret)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i += LIST_CHUNK) {
		size_t k = n - i > LIST_CHUNK ? LIST_CHUNK : n - i;
		/* libguestfs takes a NULL-terminated list. */
		_cleanup_free_ const char **v = calloc(k + 1, sizeof(*v));

		if (!v)
			return -ENOMEM;
		memcpy(v, names + i, k * sizeof(*v));
		r = lstat_chunk(g, dir, v, k, ret + i);
		if (r < 0)
			for (size_t j = 0; j < i; j++) {
				free(ret[j].target);
				ret[j].target = NULL;
			}
	}
	return r;
}

int gpv_guestfs_readlink(struct gpv_guestfs *g, const char *path, char **ret)
{
	char *t = sym_guestfs_readlink(g->h, path);

	if (!t)
		return fail(g);
	*ret = t;
	return 0;
}

/* libguestfs reads and writes host files by name: /dev/fd/N names an open one. */
static void fd_name(int fd, char out[static 32])
{
	snprintf(out, 32, "/dev/fd/%d", fd);
}

int gpv_guestfs_download(struct gpv_guestfs *g, const char *path, int fd)
{
	char name[32];

	fd_name(fd, name);
	return sym_guestfs_download(g->h, path, name) < 0 ? fail(g) : 0;
}

/* pread's share of the protocol's 4 MiB message. */
#define PREAD_CHUNK (1024 * 1024)

int gpv_guestfs_read_file(struct gpv_guestfs *g, const char *path, size_t max, char **ret,
	size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t size, have = 0;
	struct stat st;
	int r;

	/* Never more than max on the host, whatever the guest holds. */
	r = gpv_guestfs_lstat(g, path, &st);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -ELOOP;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	/* One round trip a MiB (a download costs two temporary files). */
	while (have < size) {
		size_t want = size - have > PREAD_CHUNK ? PREAD_CHUNK : size - have, got = 0;
		char *c = sym_guestfs_pread(g->h, path, (int)want, (int64_t)have, &got);

		if (!c)
			return fail(g);
		if (got > want)
			got = want;
		memcpy(buf + have, c, got);
		free(c);
		if (!got)
			break; /* shorter than its size said */
		have += got;
	}
	buf[have] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = have;
	return 0;
}

int gpv_guestfs_write_file(struct gpv_guestfs *g, const char *path, const void *buf, size_t len,
	mode_t mode)
{
	_cleanup_close_ int fd = memfd_create("gpupv-guest-file", MFD_CLOEXEC);
	char name[32];

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	fd_name(fd, name);
	if (sym_guestfs_upload(g->h, name, path) < 0 ||
		sym_guestfs_chmod(g->h, (int)mode, path) < 0)
		return fail(g);
	return 0;
}

int gpv_guestfs_tar_in(struct gpv_guestfs *g, int fd, const char *dir)
{
	char name[32];

	fd_name(fd, name);
	return sym_guestfs_tar_in_opts(g->h, name, dir, -1) < 0 ? fail(g) : 0;
}

int gpv_guestfs_rename(struct gpv_guestfs *g, const char *from, const char *to)
{
	return sym_guestfs_rename(g->h, from, to) < 0 ? fail(g) : 0;
}

int gpv_guestfs_rm(struct gpv_guestfs *g, const char *path)
{
	return sym_guestfs_rm(g->h, path) < 0 ? fail(g) : 0;
}

int gpv_guestfs_rmdir(struct gpv_guestfs *g, const char *path)
{
	return sym_guestfs_rmdir(g->h, path) < 0 ? fail(g) : 0;
}

int gpv_guestfs_mkdir(struct gpv_guestfs *g, const char *path)
{
	return sym_guestfs_mkdir_mode(g->h, path, 0755) < 0 ? fail(g) : 0;
}

int gpv_guestfs_case_path(struct gpv_guestfs *g, const char *path, char **ret)
{
	char *p = sym_guestfs_case_sensitive_path(g->h, path);

	if (!p)
		return fail(g);
	*ret = p;
	return 0;
}

/* hivex's value type of a string (REG_SZ). */
#define REG_SZ 1

int gpv_guestfs_hive_set_string(struct gpv_guestfs *g, const char *hive, const char *const *keys,
	const char *name, const char *value)
{
	_cleanup_free_ char *utf16 = NULL;
	size_t len = strlen(value), size = 2 * (len + 1);
	int64_t node;
	int r = 0;

	/* Registry strings are UTF-16LE with their NUL; the values gpupv writes are ASCII. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] >= 0x80 || (unsigned char)value[i] < 0x20)
			return -EINVAL;
	utf16 = calloc(1, size);
	if (!utf16)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		utf16[2 * i] = value[i];
	if (sym_guestfs_hivex_open(g->h, hive, GUESTFS_HIVEX_OPEN_WRITE, 1, -1) < 0)
		return fail(g);
	node = sym_guestfs_hivex_root(g->h);
	if (node <= 0)
		r = fail(g);
	for (size_t i = 0; r >= 0 && keys[i]; i++) {
		int64_t child = sym_guestfs_hivex_node_get_child(g->h, node, keys[i]);

		if (child == 0) {
			gpv_debug("libguestfs: %s: adding the key %s", hive, keys[i]);
			child = sym_guestfs_hivex_node_add_child(g->h, node, keys[i]);
		}
		if (child <= 0)
			r = fail(g);
		node = child;
	}
	if (r >= 0 && (sym_guestfs_hivex_node_set_value(g->h, node, name, REG_SZ, utf16, size) < 0 ||
			      sym_guestfs_hivex_commit(g->h, NULL) < 0))
		r = fail(g);
	/* Closing without a commit leaves the hive file as it was. */
	if (sym_guestfs_hivex_close(g->h) < 0 && r >= 0)
		r = fail(g);
	return r;
}

int gpv_guestfs_statvfs(struct gpv_guestfs *g, const char *path, struct statvfs *ret)
{
	struct guestfs_statvfs *s = sym_guestfs_statvfs(g->h, path);

	if (!s)
		return fail(g);
	*ret = (struct statvfs){
		.f_bsize = (unsigned long)s->bsize,
		.f_frsize = (unsigned long)s->frsize,
		.f_blocks = (fsblkcnt_t)s->blocks,
		.f_bfree = (fsblkcnt_t)s->bfree,
		.f_bavail = (fsblkcnt_t)s->bavail,
		.f_files = (fsfilcnt_t)s->files,
		.f_ffree = (fsfilcnt_t)s->ffree,
		.f_favail = (fsfilcnt_t)s->favail,
	};
	sym_guestfs_free_statvfs(s);
	return 0;
}

int gpv_guestfs_sync(struct gpv_guestfs *g)
{
	return sym_guestfs_sync(g->h) < 0 ? fail(g) : 0;
}

int gpv_guestfs_shutdown(struct gpv_guestfs *g)
{
	int r = 0;

	if (!g->launched || g->shut_down)
		return 0;
	g->shut_down = true;
	/* Unmounting writes everything back (a sync before it would only flush twice); the
	 * shutdown then waits for qemu to write its image and exit. */
	if (sym_guestfs_umount_all(g->h) < 0)
		r = fail(g);
	/* Also when the above failed: the appliance is stopped either way. */
	if (sym_guestfs_shutdown(g->h) < 0 && r >= 0)
		r = fail(g);
	return r;
}
