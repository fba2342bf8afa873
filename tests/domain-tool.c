/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the domain XML of every template (as gpupv finds them: GPUPV_TEMPLATES first) for
 * every slice of tests/domain-cases.h, with KVM and with TCG, with and without Looking Glass,
 * into OUTDIR/TEMPLATE-SLICE-kvm|tcg[-lg].xml, and each mdev's nodedev XML into
 * OUTDIR/nodedev-SLICE.xml, for tests/domain.sh to validate with libvirt's own tools.
 * Usage: domain-tool OUTDIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "lib/util.h"
#include "templates/domain.h"
#include "tests/domain-cases.h"

static int write_file(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = gpv_strf("%s/%s.xml", dir, name);
	FILE *f;

	if (!path || !(f = fopen(path, "we")))
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	struct gpv_template_error err = {0};
	struct gpv_template **list;
	size_t n;
	int r, written = 0;

	if (argc != 2) {
		fputs("Usage: domain-tool OUTDIR\n", stderr);
		return 2;
	}
	r = gpv_template_list(NULL, &list, &n, &err);
	if (r < 0) {
		fprintf(stderr, "domain-tool: %s:%d: %s (%s)\n", err.path, err.line, err.message,
			strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < ELEMENTSOF(domain_cases); c++)
			for (int v = 0; v < 4; v++) {
				const struct gpv_template_info *t = gpv_template_info(list[i]);
				_cleanup_free_ char *name =
					gpv_strf("%s-%s-%s%s", t->name, domain_cases[c].name,
						v & 1 ? "tcg" : "kvm", v & 2 ? "-lg" : "");
				_cleanup_free_ char *xml = NULL;
				struct gpv_domain_spec s = {
					.name = name,
					.disk = c % 2 ? "default/vm.qcow2"
						      : "/var/lib/libvirt/images/vm.qcow2",
					.iso = "/srv/iso/install.iso",
					.virtio_iso = t->os == GPV_TEMPLATE_OS_WINDOWS
							      ? "/srv/iso/virtio-win.iso"
							      : NULL,
					.seed_iso = "/srv/iso/seed.iso",
					.network = "default",
					.kvm = !(v & 1),
					.looking_glass = v & 2,
					.lg_width = 2560,
					.lg_height = 1440,
					.slice = domain_cases[c].slice,
				};

				if (!name)
					return 1;
				r = gpv_domain_build(list[i], &s, &xml);
				if (r >= 0)
					r = write_file(argv[1], name, xml);
				if (r < 0) {
					fprintf(stderr, "domain-tool: %s: %s\n", name,
						strerror(-r));
					return 1;
				}
				written++;
			}
	/* Every template with an imported raw image and direct kernel boot, and with a kernel
	 * boot and no disk, the serial console logged. */
	for (size_t i = 0; i < n; i++)
		for (int v = 0; v < 2; v++) {
			const struct gpv_template_info *t = gpv_template_info(list[i]);
			_cleanup_free_ char *name = gpv_strf(
				"%s-%s", t->name, v ? "kernel-nodisk" : "import-raw-kernel");
			_cleanup_free_ char *xml = NULL;
			struct gpv_domain_spec s = {
				.name = name,
				.disk = v ? NULL : "/srv/images/vm.img",
				.disk_format = v ? NULL : "raw",
				.kernel = "/srv/boot/vmlinuz",
				.initrd = v ? "/srv/boot/initrd.img" : NULL,
				.cmdline = "console=ttyS0 root=/dev/vda1 panic=-1",
				.serial_log = "/var/log/gpupv/serial.log",
				.network = "default",
				.kvm = true,
				.slice = domain_cases[1].slice,
			};

			if (!name)
				return 1;
			r = gpv_domain_build(list[i], &s, &xml);
			if (r >= 0)
				r = write_file(argv[1], name, xml);
			if (r < 0) {
				fprintf(stderr, "domain-tool: %s: %s\n", name, strerror(-r));
				return 1;
			}
			written++;
		}
	for (size_t c = 0; c < ELEMENTSOF(domain_cases); c++) {
		_cleanup_free_ char *xml = NULL, *name = NULL;

		if (domain_cases[c].slice.kind != GPV_SLICE_MDEV)
			continue;
		name = gpv_strf("nodedev-%s", domain_cases[c].name);
		if (!name || (r = gpv_nodedev_build(&domain_cases[c].slice, &xml)) < 0 ||
			(r = write_file(argv[1], name, xml)) < 0) {
			fprintf(stderr, "domain-tool: nodedev %s: %s\n", domain_cases[c].name,
				strerror(-r));
			return 1;
		}
		written++;
	}
	gpv_template_list_free(list, n);
	printf("%d files\n", written);
	return 0;
}
