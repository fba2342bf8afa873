/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libxml2 wrapper, templates, quirks and the domain XML builder. */
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "lib/xml.h"
#include "templates/domain.h"
#include "tests/domain-cases.h"
#include "tests/unit/tap.h"

/* The source tree's templates, not an installed copy. */
static void use_source_templates(void)
{
	const char *top = getenv("top_srcdir");
	_cleanup_free_ char *dir = gpv_strf("%s/templates", top ? top : "..");

	check(dir && setenv("GPUPV_TEMPLATES", dir, 1) == 0);
	unsetenv("GPUPV_DATADIR");
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	check(fd >= 0);
	check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/gpupv-test-domain-XXXXXX");

	check(dir && mkdtemp(dir));
	return dir;
}

static struct gpv_xml_doc *parse(const char *xml)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_error err = {0};
	int r = gpv_xml_parse_memory(xml, strlen(xml), "built", &doc, &err);

	if (r < 0)
		printf("# line %d: %s\n%s", err.line, err.message, xml);
	check(r == 0);
	return doc;
}

static unsigned attr_uint(struct gpv_xml_node *n, const char *attr)
{
	uint64_t v;

	check(n);
	check(gpv_parse_uint(gpv_xml_attr(n, attr) ?: "", 100000, &v) == 0);
	return (unsigned)v;
}

static unsigned text_uint(struct gpv_xml_node *n)
{
	_cleanup_free_ char *s = NULL;
	uint64_t v;

	check(n);
	check(gpv_xml_text(n, &s) == 0);
	check(gpv_parse_uint(s, UINT64_MAX, &v) == 0);
	return (unsigned)v;
}

TEST(xml_parse_error_line)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_error err = {0};
	const char *bad = "<a>\n  <b>\n</a>\n";

	check_int(gpv_xml_parse_memory(bad, strlen(bad), "bad", &doc, &err), -EINVAL);
	check(doc == NULL);
	check_int(err.line, 3);
	check(strstr(err.message, "mismatch") != NULL);
	check_int(gpv_xml_parse_memory("", 0, "empty", &doc, &err), -EINVAL);
	check(err.message[0] != '\0');
	check_int(gpv_xml_parse_file("/nonexistent/gpupv.xml", &doc, &err), -ENOENT);
}

TEST(xml_no_entity_expansion)
{
	const char *evil = "<!DOCTYPE a [<!ENTITY x 'boom'><!ENTITY f SYSTEM '/etc/hostname'>]>"
			   "<a b='&x;'>&x;&f;</a>";
	struct gpv_xml_doc *doc = NULL;
	_cleanup_free_ char *text = NULL, *out = NULL;

	check_int(gpv_xml_parse_memory(evil, strlen(evil), "evil", &doc, NULL), 0);
	check(gpv_xml_text(gpv_xml_root(doc), &text) == 0);
	check(strstr(text, "boom") == NULL);
	check(!gpv_xml_attr(gpv_xml_root(doc), "b") ||
		!strstr(gpv_xml_attr(gpv_xml_root(doc), "b"), "boom"));
	check(gpv_xml_format(doc, &out) == 0);
	check(strstr(out, "&x;") != NULL);
	gpv_xml_free(doc);
}

TEST(xml_edit)
{
	const char *in = "<r><a k='1'/><a k='2'><b>hi</b></a><c/></r>";
	struct gpv_xml_doc *doc = parse(in);
	struct gpv_xml_node *r = gpv_xml_root(doc), *n;
	_cleanup_free_ char *out = NULL, *t = NULL;

	check_streq(gpv_xml_name(r), "r");
	check_int(gpv_xml_count(r, "a"), 2);
	check_int(gpv_xml_count(r, "a[@k='2']"), 1);
	check_int(gpv_xml_count(r, "z"), 0);
	n = gpv_xml_find(r, "a[@k='2']/b");
	check(n);
	check(gpv_xml_text(n, &t) == 0);
	check_streq(t, "hi");
	check(gpv_xml_find(r, "a[@k='3']") == NULL);
	check(gpv_xml_find(r, "a[@k=3]") == NULL);
	check(gpv_xml_set_text(n, "<&> 'x'") == 0);
	check(gpv_xml_set_attr(gpv_xml_find(r, "c"), "v", "a\"b<") == 0);
	check(gpv_xml_ensure(r, "d/e/f", &n) == 0);
	check(gpv_xml_find(r, "d/e/f") == n);
	check(gpv_xml_ensure(r, "d/e", &n) == 0);
	check_int(gpv_xml_count(r, "d"), 1);
	gpv_xml_remove(gpv_xml_find(r, "a[@k='1']"));
	check_int(gpv_xml_count(r, "a"), 1);
	check(gpv_xml_set_attr(gpv_xml_find(r, "a"), "k", NULL) == 0);
	check(gpv_xml_attr(gpv_xml_find(r, "a"), "k") == NULL);
	check(gpv_xml_format(doc, &out) == 0);
	check(strstr(out, "&lt;&amp;&gt; 'x'") != NULL);
	check(strstr(out, "v=\"a&quot;b&lt;\"") != NULL);
	/* Indented: one element a line. */
	check(strstr(out, "\n  <c ") != NULL);
	gpv_xml_free(doc);
}

TEST(looking_glass_size)
{
	/* The sizes Looking Glass's documentation gives. */
	check_int(gpv_looking_glass_mib(1920, 1080), 32);
	check_int(gpv_looking_glass_mib(2560, 1440), 64);
	check_int(gpv_looking_glass_mib(3840, 2160), 128);
	check_int(gpv_looking_glass_mib(0, 0), 32);
	check_int(gpv_looking_glass_mib(1024, 768), 16);
}

TEST(templates_shipped)
{
	struct gpv_template **list;
	struct gpv_template_error err = {0};
	size_t n;

	use_source_templates();
	check_int(gpv_template_list(NULL, &list, &n, &err), 0);
	check_int(n, 2);
	check_streq(gpv_template_info(list[0])->name, "linux");
	check_streq(gpv_template_info(list[1])->name, "windows11");
	check_int(gpv_template_info(list[0])->os, GPV_TEMPLATE_OS_LINUX);
	check_streq(gpv_template_info(list[0])->seed, "cloud-init");
	check_int(gpv_template_info(list[1])->os, GPV_TEMPLATE_OS_WINDOWS);
	check_streq(gpv_template_info(list[1])->seed, "autounattend");
	check_int(gpv_template_info(list[1])->memory_mib, 8192);
	check(gpv_template_info(list[1])->smt);
	check(gpv_template_info(list[1])->sets[0] != NULL);
	check(strstr(gpv_template_info(list[1])->path, "templates/windows11.xml") != NULL);
	gpv_template_list_free(list, n);
}

TEST(templates_builtin)
{
	struct gpv_template *t = NULL;

	/* Nowhere to look but the copies built in. */
	setenv("GPUPV_TEMPLATES", "/nonexistent", 1);
	check_int(gpv_template_load(NULL, "windows11", &t, NULL), 0);
	check(strstr(gpv_template_info(t)->path, "windows11.xml") ||
		streq(gpv_template_info(t)->path, "(built-in)"));
	gpv_template_free(t);
	check_int(gpv_template_load(NULL, "nosuch", &t, NULL), -ENOENT);
	check_int(gpv_template_load(NULL, "../windows11", &t, NULL), -ENOENT);
	check_int(gpv_template_load(NULL, "", &t, NULL), -ENOENT);
}

static const char custom[] =
	"<domain type='kvm'><name>x</name><metadata>"
	"<g:template xmlns:g='urn:gpupv:template:1'><g:description>Mine</g:description>"
	"<g:os>linux</g:os><g:seed>cloud-init</g:seed>"
	"<g:defaults memory-mib='1024' vcpus='2' disk-gib='8'/>"
	"<g:sets><g:item>tiny</g:item></g:sets></g:template></metadata>"
	"<memory unit='MiB'>1024</memory><vcpu>2</vcpu>"
	"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices/></domain>\n";

TEST(templates_added_and_broken)
{
	_cleanup_free_ char *dir = temp_dir(), *path = gpv_strf("%s/mine.xml", dir),
			    *broken = gpv_strf("%s/zbroken.xml", dir),
			    *linux_override = gpv_strf("%s/linux.xml", dir);
	struct gpv_template **list;
	struct gpv_template *t = NULL;
	struct gpv_template_error err = {0};
	size_t n;

	use_source_templates();
	setenv("GPUPV_TEMPLATES", dir, 1);
	write_file(path, custom);
	check_int(gpv_template_load(NULL, "mine", &t, &err), 0);
	check_streq(gpv_template_info(t)->description, "Mine");
	check_int(gpv_template_info(t)->vcpus, 2);
	check_streq(gpv_template_info(t)->sets[0], "tiny");
	check(gpv_template_info(t)->sets[1] == NULL);
	gpv_template_free(t);
	/* The first folder wins over the shipped copy. */
	write_file(linux_override, custom);
	check_int(gpv_template_load(NULL, "linux", &t, &err), 0);
	check_streq(gpv_template_info(t)->description, "Mine");
	gpv_template_free(t);
	check_int(gpv_template_list(NULL, &list, &n, &err), 0);
	check_int(n, 3);
	check_streq(gpv_template_info(list[1])->name, "mine");
	gpv_template_list_free(list, n);

	write_file(broken, "<domain>\n<name>x</name>\n<devices>\n</domain>\n");
	check_int(gpv_template_load(NULL, "zbroken", &t, &err), -EINVAL);
	check_streq(err.path, broken);
	check_int(err.line, 4);
	memset(&err, 0, sizeof(err));
	check_int(gpv_template_list(NULL, &list, &n, &err), -EINVAL);
	check_streq(err.path, broken);
	check_int(err.line, 4);

	/* Well-formed, but not a gpupv template. */
	write_file(broken, "<domain type='kvm'><name>x</name></domain>");
	check_int(gpv_template_load(NULL, "zbroken", &t, &err), -EINVAL);
	check(strstr(err.message, "urn:gpupv:template:1") != NULL);
	write_file(broken, "<network/>");
	check_int(gpv_template_load(NULL, "zbroken", &t, &err), -EINVAL);
	check(strstr(err.message, "<network>") != NULL);
	unlink(broken);
	unlink(path);
	unlink(linux_override);
	rmdir(dir);
}

static char *build(const char *tname, const struct gpv_domain_spec *s)
{
	struct gpv_template *t = NULL;
	char *xml = NULL;
	int r;

	check_int(gpv_template_load(NULL, tname, &t, NULL), 0);
	r = gpv_domain_build(t, s, &xml);
	if (r < 0)
		printf("# %s: %s\n", tname, strerror(-r));
	check(r == 0);
	gpv_template_free(t);
	return xml;
}

/* Every template x slice x KVM/TCG x Looking Glass. */
TEST(domain_matrix)
{
	static const char *const templates[] = {"windows11", "linux"};
	unsigned built = 0;

	use_source_templates();
	for (size_t ti = 0; ti < ELEMENTSOF(templates); ti++)
		for (size_t c = 0; c < ELEMENTSOF(domain_cases); c++)
			for (int v = 0; v < 4; v++) {
				const struct gpv_slice *sl = &domain_cases[c].slice;
				bool kvm = !(v & 1), lg = v & 2, win = ti == 0;
				unsigned vcpus = 4 + 2 * (unsigned)c % 3, cores, threads;
				struct gpv_domain_spec s = {
					.name = "vm-1",
					.memory_bytes = 6ULL << 30,
					.vcpus = vcpus,
					.disk = "/var/lib/libvirt/images/vm-1.qcow2",
					.iso = "/srv/install.iso",
					.network = "lan",
					.kvm = kvm,
					.looking_glass = lg,
					.slice = *sl,
				};
				_cleanup_free_ char *xml = build(templates[ti], &s), *t = NULL;
				struct gpv_xml_doc *doc = parse(xml);
				struct gpv_xml_node *d = gpv_xml_root(doc), *topo, *h, *a;
				size_t hostdevs = gpv_xml_count(d, "devices/hostdev");
				bool hidden =
					gpv_xml_find(d, "features/kvm/hidden[@state='on']") != NULL;

				printf("# %s %s %s%s\n", templates[ti], domain_cases[c].name,
					kvm ? "kvm" : "tcg", lg ? " lg" : "");
				check_streq(gpv_xml_attr(d, "type"), kvm ? "kvm" : "qemu");
				check(gpv_xml_text(gpv_xml_find(d, "name"), &t) == 0);
				check_streq(t, "vm-1");
				check(strstr(xml, GPV_TEMPLATE_NS) == NULL);
				check_int(text_uint(gpv_xml_find(d, "memory")), 6 * 1024 * 1024);
				check_streq(gpv_xml_attr(gpv_xml_find(d, "memory"), "unit"), "KiB");
				/* The topology matches <vcpu>. */
				check_int(text_uint(gpv_xml_find(d, "vcpu")), vcpus);
				topo = gpv_xml_find(d, "cpu/topology");
				cores = attr_uint(topo, "cores");
				threads = attr_uint(topo, "threads");
				check_int(attr_uint(topo, "sockets") * attr_uint(topo, "dies") *
						  cores * threads,
					vcpus);
				check_int(threads, win && vcpus % 2 == 0 ? 2 : 1);
				/* TCG: no host CPU, no Hyper-V. */
				check_int(gpv_xml_find(d, "cpu[@mode='host-passthrough']") != NULL,
					kvm);
				check_int(gpv_xml_find(d, "features/hyperv") != NULL,
					kvm && (win || streq(domain_cases[c].name,
							       "whole-geforce")));
				check_int(gpv_xml_find(d, "features/hyperv/relaxed") != NULL,
					kvm && win);
				check_int(gpv_xml_count(d, "features/smm[@state='on']"), win);
				check_int(gpv_xml_count(d, "devices/tpm/backend[@version='2.0']"),
					win);
				check_int(gpv_xml_count(d, "devices/disk[@device='cdrom']"), 1);
				check(gpv_xml_find(
					d, "devices/disk[@device='cdrom']/boot[@order='2']"));
				check(gpv_xml_find(d, "devices/disk[@device='disk']/source[@file="
						      "'/var/lib/libvirt/images/vm-1.qcow2']"));
				check(gpv_xml_find(d, "devices/interface[@type='network']/"
						      "source[@network='lan']"));
				/* Code 43 quirks for a GeForce under KVM only. */
				check_int(hidden,
					kvm && streq(domain_cases[c].name, "whole-geforce"));
				check_int(gpv_xml_find(d,
						  "features/hyperv/vendor_id[@state='on']") != NULL,
					hidden);
				/* Looking Glass: IVSHMEM sized for 1920x1080, no balloon. */
				check_int(gpv_xml_count(d, "devices/shmem[@name='looking-glass']"),
					lg);
				if (lg) {
					check(gpv_xml_find(
						d, "devices/shmem/model[@type='ivshmem-plain']"));
					check_int(text_uint(gpv_xml_find(
							  d, "devices/shmem/size[@unit='M']")),
						32);
					check(gpv_xml_find(d, "devices/memballoon[@model='none']"));
				}
				switch (sl->kind) {
				case GPV_SLICE_NONE:
					check_int(hostdevs, 0);
					break;
				case GPV_SLICE_WHOLE:
					check_int(hostdevs, sl->n_addrs);
					check_int(
						gpv_xml_count(d, "devices/hostdev[@managed='no']"),
						sl->n_addrs);
					h = gpv_xml_find(d, "devices/hostdev");
					a = gpv_xml_find(h, "address[@type='pci']");
					check_streq(gpv_xml_attr(a, "function"), "0x0");
					if (sl->n_addrs > 1)
						check_streq(gpv_xml_attr(a, "multifunction"), "on");
					else
						check(!gpv_xml_attr(a, "multifunction"));
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "function"),
						"0x0");
					if (streq(domain_cases[c].name, "whole-igpu")) {
						check_streq(gpv_xml_attr(a, "bus"), "0x00");
						check_streq(gpv_xml_attr(a, "slot"), "0x02");
						check(gpv_xml_find(h, "rom[@bar='off']"));
						check_int(gpv_xml_count(d,
								  "devices/controller[@model="
								  "'pcie-root-port']"),
							0);
						break;
					}
					check(gpv_xml_find(h, "rom[@bar='on']"));
					/* All functions on the slot of a new root port. */
					check_int(gpv_xml_count(d, "devices/controller[@model="
								   "'pcie-root-port']"),
						1);
					check_streq(
						gpv_xml_attr(gpv_xml_find(d,
								     "devices/controller"
								     "[@model='pcie-root-port']"),
							"index"),
						"1");
					check_streq(gpv_xml_attr(a, "bus"), "0x01");
					h = gpv_xml_next(h, "hostdev");
					check(h);
					check_streq(gpv_xml_attr(
							    gpv_xml_find(h, "address[@type='pci']"),
							    "bus"),
						"0x01");
					check_streq(gpv_xml_attr(
							    gpv_xml_find(h, "address[@type='pci']"),
							    "slot"),
						gpv_xml_attr(a, "slot"));
					check_streq(gpv_xml_attr(
							    gpv_xml_find(h, "address[@type='pci']"),
							    "function"),
						"0x1");
					check(gpv_xml_find(h, "address[@multifunction]") == NULL);
					check(gpv_xml_find(h, "rom[@bar='off']"));
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "function"),
						"0x1");
					break;
				case GPV_SLICE_VF:
					check_int(hostdevs, 1);
					h = gpv_xml_find(d, "devices/hostdev[@type='pci']");
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "bus"),
						"0x4d");
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "function"),
						"0x1");
					check(gpv_xml_find(h, "address[@type='pci']") == NULL);
					break;
				case GPV_SLICE_VGPU:
					/* As NVIDIA's guide gives it: no <driver>, no guest
					 * address, the VF's own. */
					check_int(hostdevs, 1);
					h = gpv_xml_find(d, "devices/hostdev[@type='pci']");
					check_streq(gpv_xml_attr(h, "managed"), "no");
					check(gpv_xml_find(h, "driver") == NULL);
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "bus"),
						"0x41");
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "function"),
						"0x4");
					check(gpv_xml_find(h, "address[@type='pci']") == NULL);
					break;
				case GPV_SLICE_MDEV:
					check_int(hostdevs, 1);
					h = gpv_xml_find(d, "devices/hostdev[@type='mdev']");
					check_streq(gpv_xml_attr(h, "model"), "vfio-pci");
					check_streq(gpv_xml_attr(h, "display"),
						sl->mdev_display ? "on" : "off");
					if (sl->mdev_display)
						check_streq(gpv_xml_attr(h, "ramfb"), "on");
					else
						check(!gpv_xml_attr(h, "ramfb"));
					check_streq(gpv_xml_attr(gpv_xml_find(h, "source/address"),
							    "uuid"),
						sl->mdev_uuid);
					break;
				}
				gpv_xml_free(doc);
				built++;
			}
	check_int(built, 2 * ELEMENTSOF(domain_cases) * 4);
}

TEST(domain_defaults_and_disks)
{
	struct gpv_domain_spec s = {.name = "d",
		.kvm = true,
		.disk = "images/d.qcow2",
		.virtio_iso = "/v.iso",
		.seed_iso = "/s.iso"};
	_cleanup_free_ char *xml = NULL, *xml2 = NULL, *xml3 = NULL;
	struct gpv_xml_doc *doc;
	struct gpv_xml_node *d;

	use_source_templates();
	xml = build("windows11", &s);
	doc = parse(xml);
	d = gpv_xml_root(doc);
	/* The template's defaults: 8 GiB, 4 vCPUs as 2 cores x 2 threads. */
	check_int(text_uint(gpv_xml_find(d, "memory")), 8 * 1024 * 1024);
	check_int(text_uint(gpv_xml_find(d, "vcpu")), 4);
	check_int(attr_uint(gpv_xml_find(d, "cpu/topology"), "cores"), 2);
	check(gpv_xml_find(d, "devices/disk[@type='volume']/source[@pool='images']"));
	check_streq(gpv_xml_attr(gpv_xml_find(d, "devices/disk[@type='volume']/source"), "volume"),
		"d.qcow2");
	/* No installer: the virtio and seed ISOs are sda and sdb, and none boots. */
	check_int(gpv_xml_count(d, "devices/disk[@device='cdrom']"), 2);
	check(gpv_xml_find(d, "devices/disk[@device='cdrom']/target[@dev='sda']"));
	check(gpv_xml_find(d, "devices/disk[@device='cdrom']/boot") == NULL);
	/* The template's network stays. */
	check(gpv_xml_find(d, "devices/interface/source[@network='default']"));
	gpv_xml_free(doc);

	s.disk = "/dev/vg0/vm";
	s.vcpus = 3;
	xml2 = build("windows11", &s);
	doc = parse(xml2);
	d = gpv_xml_root(doc);
	check(gpv_xml_find(d, "devices/disk[@type='block']/source[@dev='/dev/vg0/vm']"));
	check(gpv_xml_find(d, "devices/disk[@type='block']/driver[@type='raw']"));
	check_int(attr_uint(gpv_xml_find(d, "cpu/topology"), "cores"), 3);
	check_int(attr_uint(gpv_xml_find(d, "cpu/topology"), "threads"), 1);
	gpv_xml_free(doc);

	s.disk = NULL;
	xml3 = build("linux", &s);
	doc = parse(xml3);
	check_int(gpv_xml_count(gpv_xml_root(doc), "devices/disk[@device='disk']"), 0);
	gpv_xml_free(doc);
}

/* An imported image, direct kernel boot and the serial log. */
TEST(domain_import_and_kernel_boot)
{
	struct gpv_domain_spec s = {.name = "d",
		.kvm = true,
		.disk = "/srv/images/d.img",
		.disk_format = "raw",
		.kernel = "/srv/boot/vmlinuz",
		.initrd = "/srv/boot/initrd.img",
		.cmdline = "console=ttyS0 root=/dev/vda1 x<y&z",
		.serial_log = "/var/log/d-serial.log"};
	_cleanup_free_ char *xml = NULL, *xml2 = NULL, *t = NULL;
	struct gpv_xml_doc *doc;
	struct gpv_xml_node *d;

	use_source_templates();
	xml = build("linux", &s);
	doc = parse(xml);
	d = gpv_xml_root(doc);
	/* The image where it is, read as raw (the template's disk is qcow2). */
	check(gpv_xml_find(d, "devices/disk[@device='disk']/source[@file='/srv/images/d.img']"));
	check_streq(gpv_xml_attr(gpv_xml_find(d, "devices/disk[@device='disk']"), "type"), "file");
	check_streq(gpv_xml_attr(gpv_xml_find(d, "devices/disk[@device='disk']/driver"), "type"),
		"raw");
	check_int(gpv_xml_count(d, "devices/disk[@device='disk']/driver"), 1);
	check(gpv_xml_text(gpv_xml_find(d, "os/kernel"), &t) == 0);
	check_streq(t, "/srv/boot/vmlinuz");
	free(TAKE_PTR(t));
	check(gpv_xml_text(gpv_xml_find(d, "os/initrd"), &t) == 0);
	check_streq(t, "/srv/boot/initrd.img");
	free(TAKE_PTR(t));
	/* The command line as given, escaped in the file and read back whole. */
	check(gpv_xml_text(gpv_xml_find(d, "os/cmdline"), &t) == 0);
	check_streq(t, "console=ttyS0 root=/dev/vda1 x<y&z");
	check(gpv_xml_find(d, "os/type"));
	check_int(gpv_xml_count(d, "devices/serial"), 1);
	check(gpv_xml_find(d, "devices/serial/log[@file='/var/log/d-serial.log']"));
	check_streq(gpv_xml_attr(gpv_xml_find(d, "devices/serial/log"), "append"), "off");
	gpv_xml_free(doc);

	/* A template without a serial port gets one; no disk, no initrd, qcow2. */
	s.disk = NULL;
	s.initrd = NULL;
	s.cmdline = NULL;
	xml2 = build("windows11", &s);
	doc = parse(xml2);
	d = gpv_xml_root(doc);
	check_int(gpv_xml_count(d, "devices/disk[@device='disk']"), 0);
	check(gpv_xml_find(d, "os/kernel"));
	check(gpv_xml_find(d, "os/initrd") == NULL);
	check(gpv_xml_find(d, "os/cmdline") == NULL);
	check(gpv_xml_find(d, "devices/serial[@type='pty']/log[@file='/var/log/d-serial.log']"));
	gpv_xml_free(doc);
}

TEST(domain_bad_specs)
{
	struct gpv_template *t = NULL;
	struct gpv_domain_spec s = {.name = "x", .kvm = true};
	char *xml = NULL;

	use_source_templates();
	check_int(gpv_template_load(NULL, "linux", &t, NULL), 0);
	s.name = NULL;
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.name = "a/b";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.name = "x";
	s.disk = "justapool";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.disk = "pool/";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.disk = NULL;
	s.slice = (struct gpv_slice){.kind = GPV_SLICE_WHOLE};
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.slice = (struct gpv_slice){.kind = GPV_SLICE_WHOLE, .addrs = {"01:00.0"}, .n_addrs = 1};
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.slice = (struct gpv_slice){
		.kind = GPV_SLICE_VF, .addrs = {"0000:01:00.1", "0000:01:00.2"}, .n_addrs = 2};
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.slice = (struct gpv_slice){.kind = GPV_SLICE_VGPU};
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.slice = (struct gpv_slice){.kind = GPV_SLICE_MDEV, .mdev_uuid = "not-a-uuid"};
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.slice = (struct gpv_slice){.kind = GPV_SLICE_NONE};
	/* An initrd or a command line without a kernel; relative files; an unknown format. */
	s.initrd = "/boot/initrd.img";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.initrd = NULL;
	s.cmdline = "console=ttyS0";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.kernel = "vmlinuz";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.kernel = "/boot/vmlinuz";
	s.initrd = "initrd.img";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.initrd = NULL;
	s.serial_log = "serial.log";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	s.serial_log = NULL;
	s.disk = "/srv/d.vmdk";
	s.disk_format = "vmdk";
	check_int(gpv_domain_build(t, &s, &xml), -EINVAL);
	check(xml == NULL);
	s.disk_format = "qcow2";
	check_int(gpv_domain_build(t, &s, &xml), 0);
	free(xml);
	gpv_template_free(t);
}

TEST(quirks_broken_file)
{
	_cleanup_free_ char *dir = temp_dir(), *path = gpv_strf("%s/quirks.ids", dir);
	struct gpv_template *t = NULL;
	struct gpv_domain_spec s = {.name = "x", .kvm = true, .slice = domain_cases[1].slice};
	char *xml = NULL;

	use_source_templates();
	check_int(gpv_template_load(NULL, "linux", &t, NULL), 0);
	setenv("GPUPV_DATADIR", dir, 1);
	write_file(path, "10de * geforce kvm-hidden\n10de * sometimes kvm-hidden\n");
	check_int(gpv_domain_build(t, &s, &xml), -EBADMSG);
	check(xml == NULL);
	unlink(path);
	rmdir(dir);
	gpv_template_free(t);
}

TEST(quirks_edited_copy)
{
	_cleanup_free_ char *dir = temp_dir(), *path = gpv_strf("%s/quirks.ids", dir), *xml = NULL;
	/* A Radeon, which the shipped file gives no Code 43 quirk. */
	struct gpv_domain_spec s = {.name = "x", .kvm = true, .slice = domain_cases[2].slice};
	struct gpv_xml_doc *doc;

	use_source_templates();
	setenv("GPUPV_DATADIR", dir, 1);
	write_file(path, "# mine\n1002 73bf whole hyperv-vendor-id AMDAMDAMD\n");
	xml = build("windows11", &s);
	doc = parse(xml);
	check(gpv_xml_find(gpv_xml_root(doc), "features/hyperv/vendor_id[@value='AMDAMDAMD']"));
	check(gpv_xml_find(gpv_xml_root(doc), "features/kvm") == NULL);
	/* Not in this file: no ROM BAR rule. */
	check(gpv_xml_find(gpv_xml_root(doc), "devices/hostdev/rom") == NULL);
	gpv_xml_free(doc);
	unlink(path);
	rmdir(dir);
}

TEST(nodedev)
{
	_cleanup_free_ char *xml = NULL;
	struct gpv_slice sl = domain_cases[5].slice;
	struct gpv_xml_doc *doc;
	struct gpv_xml_node *d;
	_cleanup_free_ char *parent = NULL, *uuid = NULL;

	check_int(gpv_nodedev_build(&sl, &xml), 0);
	doc = parse(xml);
	d = gpv_xml_root(doc);
	check_streq(gpv_xml_name(d), "device");
	check(gpv_xml_text(gpv_xml_find(d, "parent"), &parent) == 0);
	check_streq(parent, "pci_0000_00_02_0");
	check(gpv_xml_find(d, "capability[@type='mdev']/type[@id='i915-GVTg_V5_4']"));
	check(gpv_xml_text(gpv_xml_find(d, "capability/uuid"), &uuid) == 0);
	check_streq(uuid, sl.mdev_uuid);
	gpv_xml_free(doc);

	sl.mdev_type = NULL;
	check_int(gpv_nodedev_build(&sl, &xml), -EINVAL);
	sl = domain_cases[1].slice;
	check_int(gpv_nodedev_build(&sl, &xml), -EINVAL);
}

TEST(templates_symlinked_folder)
{
	_cleanup_free_ char *dir = temp_dir(), *real = gpv_strf("%s/real", dir),
			    *link = gpv_strf("%s/link", dir), *path = gpv_strf("%s/mine.xml", real);
	struct gpv_template **list;
	struct gpv_template_error err = {0};
	size_t n;

	check(mkdir(real, 0755) == 0);
	check(symlink("real", link) == 0);
	write_file(path, custom);
	setenv("GPUPV_TEMPLATES", link, 1);
	check_int(gpv_template_list(NULL, &list, &n, &err), 0);
	check_int(n, 3);
	check_streq(gpv_template_info(list[0])->name, "linux");
	check_streq(gpv_template_info(list[1])->name, "mine");
	gpv_template_list_free(list, n);
	unlink(path);
	unlink(link);
	rmdir(real);
	rmdir(dir);
}
