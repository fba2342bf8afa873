/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpupv/gpupv.h"
#include "lib/log.h"
#include "lib/pci.h"
#include "lib/root.h"

/* Options only some commands take. */
enum {
	OPT_DRY_RUN = 1 << 0,
	OPT_FORCE = 1 << 1,
	OPT_RECOVER = 1 << 2,
	OPT_NO_WAIT = 1 << 3,
	OPT_APPLY = 1 << 4,
	OPT_PERSIST = 1 << 5,
	OPT_SHARE = 1 << 6,
	OPT_COUNT = 1 << 7,
	OPT_REQUESTS = 1 << 8,
	/* The command parses the options after its name itself (deploy's many); main reads
	 * only those before it. */
	OPT_OWN = 1 << 30,
};

struct command {
	const char *name;
	int (*fn)(const struct gpv_opts *o, int argc, char **argv);
	const char *summary;
	unsigned opts;
};

static void log_stderr(void *data, int level, const char *fmt, va_list ap)
{
	fprintf(stderr, "gpupv: %s", level >= GPV_LOG_DEBUG ? "debug: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void gpv_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gpupv: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Opens the root and checks that it looks like a machine: a recorded tree needs /sys or
 * /proc, or everything reads as absent and the report would be meaningless. */
static int open_root(const struct gpv_opts *o, struct gpv_root **ret)
{
	struct gpv_root *root;
	int r = gpv_root_new(o->root, &root);

	if (r < 0) {
		gpv_error("cannot open the root '%s': %s; give --root a folder recorded with "
			  "tests/capture-sysfs",
			o->root ? o->root : "/", strerror(-r));
		return r;
	}
	if (gpv_root_exists(root, "/sys") < 0 && gpv_root_exists(root, "/proc") < 0) {
		if (gpv_root_exists(root, "/root/sys") == 0)
			gpv_error("'%s' holds no sys/ but root/sys: did you mean --root %s/root?",
				gpv_root_dir(root), gpv_root_dir(root));
		else
			gpv_error(
				"'%s' holds neither sys/ nor proc/: it is not a recorded machine; "
				"give --root the folder that contains them",
				gpv_root_dir(root));
		gpv_root_free(root);
		return -ENOENT;
	}
	*ret = root;
	return 0;
}

int gpv_examine(struct gpv_root *root, bool with_names, const char *focus, struct gpv_precheck **ret)
{
	struct gpv_pci_names *names = NULL;
	int r = 0;

	/* Names cost most of the examination (libpci parses all of pci.ids): only commands
	 * that show them ask for them. */
	if (with_names && (r = gpv_pci_names_new(root, getenv("GPUPV_PCI_IDS"), &names)) < 0)
		gpv_debug("no device names: %s", strerror(-r));
	r = gpv_precheck_run(root, names, focus, ret);
	if (r < 0)
		gpv_error(
			"cannot examine the machine in '%s': %s", gpv_root_dir(root), strerror(-r));
	gpv_pci_names_free(names);
	return r;
}

int gpv_open_machine(
	const struct gpv_opts *o, struct gpv_root **ret_root, struct gpv_precheck **ret_p)
{
	struct gpv_root *root = NULL;
	int r = open_root(o, &root);

	if (r < 0)
		return r;
	if (ret_p)
		r = gpv_examine(root, true, NULL, ret_p);
	if (r < 0 || !ret_root)
		gpv_root_free(root);
	else
		*ret_root = root;
	return r;
}

static int run_precheck(const struct gpv_opts *o, struct gpv_precheck **ret)
{
	return gpv_open_machine(o, NULL, ret);
}

static int no_operands(const char *cmd, int argc, char **argv)
{
	if (argc > 0) {
		gpv_error("%s: unexpected argument '%s'; see 'gpupv %s --help'", cmd, argv[0], cmd);
		return GPV_EXIT_USAGE;
	}
	return 0;
}

static int cmd_precheck(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_precheck *p;
	int r = no_operands("precheck", argc, argv);

	if (r)
		return r;
	if (run_precheck(o, &p) < 0)
		return GPV_EXIT_ERROR;
	if (o->json)
		r = gpv_print_precheck_json(stdout, p);
	else
		gpv_print_precheck_text(stdout, p, o->color);
	r = r < 0 ? GPV_EXIT_ERROR : gpv_verdict_exit_code(p->verdict);
	gpv_precheck_free(p);
	return r;
}

static int cmd_list(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_precheck *p;
	int r = no_operands("list", argc, argv);

	if (r)
		return r;
	if (run_precheck(o, &p) < 0)
		return GPV_EXIT_ERROR;
	if (o->json)
		r = gpv_print_list_json(stdout, p);
	else
		gpv_print_list_text(stdout, p, o->color);
	gpv_precheck_free(p);
	return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
}

static int cmd_help(const struct gpv_opts *o, int argc, char **argv);

static const struct command commands[] = {
	{"precheck", cmd_precheck,
		"check whether this host can pass a GPU to a VM, and how to fix it", 0},
	{"list", cmd_list, "list the GPUs with their IOMMU group and partitioning modes", 0},
	{"bind", gpv_cmd_bind, "move a GPU and its IOMMU groups to vfio-pci",
		OPT_DRY_RUN | OPT_FORCE | OPT_NO_WAIT | OPT_PERSIST},
	{"unbind", gpv_cmd_unbind,
		"give a GPU back to the drivers it had (--recover: after a crash)",
		OPT_DRY_RUN | OPT_RECOVER | OPT_NO_WAIT | OPT_PERSIST},
	{"status", gpv_cmd_status, "what gpupv has bound, and whether each group is viable", 0},
	{"boot-config", gpv_cmd_boot_config,
		"the kernel parameters this host needs (--apply: edit GRUB's)",
		OPT_APPLY | OPT_DRY_RUN},
	{"plan", gpv_cmd_plan, "which GPU and partition share requests would get; changes nothing",
		OPT_SHARE | OPT_COUNT | OPT_REQUESTS},
	{"templates", gpv_cmd_templates, "the VM templates and what each sets", 0},
	{"deploy", gpv_cmd_deploy,
		"create a libvirt VM from a template, with a GPU, a share of one or none", OPT_OWN},
	{"undeploy", gpv_cmd_undeploy, "remove a VM gpupv deployed, and what it made for it",
		OPT_OWN},
	{"drivers-sync", gpv_cmd_drivers_sync,
		"bring a guest's copy of the host's GPU driver files in step", OPT_OWN},
	{"drivers-store", gpv_cmd_drivers_store,
		"the Windows guest driver packages kept on the host", OPT_OWN},
	{"help", cmd_help, "show this help, or a command's help", 0},
};

static const char *const command_help[] = {
	"Usage: gpupv precheck [--root DIR] [--json] [--no-color] [-v]\n\nChecks, before anything "
	"is installed, whether this host can hand a GPU to a VM:\nCPU virtualization, /dev/kvm, "
	"the IOMMU (firmware, kernel, command line, ACS\noverride), vfio-pci, and for every GPU "
	"its IOMMU group, what must move with it,\nreset support and partitioning (SR-IOV, "
	"mediated devices). Each problem comes\nwith its fix.\n\nExit status: 0 ready, 3 needs "
	"action, 4 blocked, 1 error, 2 usage.\n",
	"Usage: gpupv list [--root DIR] [--json] [--no-color] [-v]\n\nLists the GPUs: index, "
	"address, driver, IOMMU group, whether the group is\nisolated, partitioning modes and "
	"name.\n",
	"Usage: gpupv bind GPU [--persist] [--dry-run] [--force] [--no-wait] [--json]\n"
	"                      [--root DIR]\n\n"
	"Moves the GPU (an address such as 0000:01:00.0 or 01:00.0, or its index in\n"
	"'gpupv list'), its functions and every other non-bridge device of their IOMMU\n"
	"groups to vfio-pci, then asks the kernel whether each group is viable. A journal\n"
	"under /run/gpupv is written before any change; a failure puts every device back.\n"
	"Refuses a group the host uses, a GPU with open DRM clients, and the host's only\n"
	"display (unless --force).\n\n"
	"--persist keeps the binding across reboots: a udev rule that gpupv owns sets the\n"
	"override as the devices appear, and a modprobe softdep loads vfio-pci first.\n\n"
	"Exit status: 0 done, 1 error (the host is as it was), 2 usage, 4 refused.\n",
	"Usage: gpupv unbind GPU [--persist] [--dry-run] [--no-wait] [--json] [--root DIR]\n"
	"       gpupv unbind --recover [--dry-run] [--no-wait]\n\n"
	"Gives each device gpupv bound back to the driver it had before, and touches\n"
	"nothing gpupv did not change; --persist also ends a persistent binding.\n"
	"--recover puts back every device of an unfinished\n"
	"bind or unbind (after a crash or a kill).\n",
	"Usage: gpupv status [--json] [--root DIR]\n\n"
	"What gpupv has bound, since when, the driver each device returns to, and\n"
	"whether each IOMMU group is viable now.\n",
	"Usage: gpupv boot-config [--apply] [--dry-run] [--json] [--root DIR]\n\n"
	"Prints the kernel parameters this host needs for passthrough (intel_iommu=on on\n"
	"Intel, iommu=pt) and those that must go (anything turning the IOMMU off), with\n"
	"what to change for GRUB and for systemd-boot. --apply edits\n"
	"GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, keeping a backup beside it, and\n"
	"runs update-grub (or grub2-mkconfig); if that fails, the file is put back.\n",
	"Usage: gpupv plan --share PERCENT [--count N] [--json] [--root DIR]\n"
	"       gpupv plan --requests FILE [--json] [--root DIR]\n\n"
	"Says which GPU and which partition each request for a share of a GPU would get\n"
	"on this host, changing nothing. A share is the percentage of one GPU a VM gets,\n"
	"1 to 100. Each request gets the smallest free slice at least as large (a whole\n"
	"GPU, an SR-IOV VF, an mdev type, an NVIDIA vGPU type), on a GPU already\n"
	"partitioned before a new one, with why. FILE holds one request a line,\n"
	"'SHARE [LABEL]', '#' starting a comment; '-' reads standard input.\n\n"
	"Exit status: 0 every request met, 4 some cannot be met, 1 error, 2 usage.\n",
	"Usage: gpupv templates [--json] [--root DIR]\n\n"
	"Lists the VM templates gpupv can deploy: each one's description, guest OS,\n"
	"how the guest is configured (autounattend or cloud-init), its defaults and\n"
	"what it sets. Templates are read from $GPUPV_TEMPLATES, /etc/gpupv/templates,\n"
	"the installed ones, then the copies built in; see gpupv-deploy(1).\n",
	NULL, /* deploy: its own --help */
	NULL, /* undeploy: its own --help */
	NULL, /* drivers-sync: its own --help */
	NULL, /* drivers-store: its own --help */
	"Usage: gpupv help [COMMAND]\n",
};

static void usage(FILE *f)
{
	fputs("Usage: gpupv [OPTIONS] COMMAND [ARGS]\n\n"
	      "Give virtual machines on a Linux/KVM host a whole GPU or a share of one.\n\n"
	      "Commands:\n",
		f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fputs("\nOptions (before or after the command):\n"
	      "  -r, --root DIR   read the machine recorded in DIR instead of this one\n"
	      "                   (also GPUPV_ROOT)\n"
	      "  -j, --json       print one JSON object instead of text\n"
	      "      --no-color   never colour the output (also NO_COLOR)\n"
	      "  -v, --verbose    log each decision to standard error\n"
	      "  -n, --dry-run    bind, unbind: print the planned changes, make none\n"
	      "  -f, --force      bind: take the host's only display\n"
	      "      --recover    unbind: put back what an interrupted gpupv left\n"
	      "      --no-wait    bind, unbind: fail instead of waiting for another gpupv\n"
	      "      --apply      boot-config: edit /etc/default/grub and run update-grub\n"
	      "      --persist    bind, unbind: keep (or stop keeping) it across reboots\n"
	      "      --share P    plan: a request for P percent of one GPU (1 to 100)\n"
	      "      --count N    plan: N such requests\n"
	      "      --requests FILE  plan: one request a line, 'SHARE [LABEL]'\n"
	      "  -h, --help       show this help ('gpupv COMMAND --help' for a command)\n"
	      "  -V, --version    show the version\n"
	      "\nSee gpupv(1), gpupv-precheck(1), gpupv-list(1), gpupv-bind(1), gpupv-plan(1)\n"
	      "and gpupv-deploy(1).\n",
		f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int command_usage(const struct command *c)
{
	/* The command reads argv[-1] as its name, as getopt wants a program name first. */
	char help[] = "--help", *argv[] = { (char *)c->name, help, NULL };

	if (c->opts & OPT_OWN)
		return c->fn(&(struct gpv_opts){ 0 }, 1, argv + 1);
	fputs(command_help[c - commands], stdout);
	return GPV_EXIT_OK;
}

static int cmd_help(const struct gpv_opts *o, int argc, char **argv)
{
	const struct command *c;

	if (argc == 0) {
		usage(stdout);
		return GPV_EXIT_OK;
	}
	c = find_command(argv[0]);
	if (!c) {
		gpv_error("unknown command '%s'; 'gpupv help' lists them", argv[0]);
		return GPV_EXIT_USAGE;
	}
	return command_usage(c);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"no-color", no_argument, NULL, 'C'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"dry-run", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"recover", no_argument, NULL, 'R'},
		{"no-wait", no_argument, NULL, 'W'},
		{"apply", no_argument, NULL, 'A'},
		{"persist", no_argument, NULL, 'P'},
		{"share", required_argument, NULL, 'S'},
		{"count", required_argument, NULL, 'N'},
		{"requests", required_argument, NULL, 'Q'},
		{},
	};
	static const struct {
		unsigned bit;
		const char *name;
	} cmd_opts[] = {
		{OPT_DRY_RUN, "--dry-run"},
		{OPT_FORCE, "--force"},
		{OPT_RECOVER, "--recover"},
		{OPT_NO_WAIT, "--no-wait"},
		{OPT_APPLY, "--apply"},
		{OPT_PERSIST, "--persist"},
		{OPT_SHARE, "--share"},
		{OPT_COUNT, "--count"},
		{OPT_REQUESTS, "--requests"},
	};
	unsigned given = 0;
	struct gpv_opts o = {.root = getenv("GPUPV_ROOT")};
	const struct command *cmd = NULL;
	bool help = false, no_color = false;
	int c, main_argc = argc;

	if (o.root && !*o.root)
		o.root = NULL;
	/* A command with options of its own gets every argument after its name. */
	for (int i = 1; i < argc; i++) {
		const struct command *own;

		if (streq(argv[i], "--"))
			break;
		if (streq(argv[i], "-r") || streq(argv[i], "--root")) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		own = find_command(argv[i]);
		if (own && (own->opts & OPT_OWN))
			main_argc = i + 1;
		break;
	}
	/* GNU getopt permutes: options are accepted before or after the command. */
	while ((c = getopt_long(main_argc, argv, "r:jvhVnf", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.dry_run = true;
			given |= OPT_DRY_RUN;
			break;
		case 'f':
			o.force = true;
			given |= OPT_FORCE;
			break;
		case 'R':
			o.recover = true;
			given |= OPT_RECOVER;
			break;
		case 'W':
			o.no_wait = true;
			given |= OPT_NO_WAIT;
			break;
		case 'A':
			o.apply = true;
			given |= OPT_APPLY;
			break;
		case 'P':
			o.persist = true;
			given |= OPT_PERSIST;
			break;
		case 'S':
			o.share = optarg;
			given |= OPT_SHARE;
			break;
		case 'N':
			o.count = optarg;
			given |= OPT_COUNT;
			break;
		case 'Q':
			o.requests = optarg;
			given |= OPT_REQUESTS;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'C':
			no_color = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			printf("gpupv %s\n", PACKAGE_VERSION);
			return GPV_EXIT_OK;
		default:
			fputs("Try 'gpupv --help'.\n", stderr);
			return GPV_EXIT_USAGE;
		}
	}
	if (optind < main_argc) {
		cmd = find_command(argv[optind]);
		if (!cmd) {
			gpv_error("unknown command '%s'; 'gpupv help' lists them", argv[optind]);
			return GPV_EXIT_USAGE;
		}
		optind++;
	}
	if (help) {
		if (cmd)
			return command_usage(cmd);
		usage(stdout);
		return GPV_EXIT_OK;
	}
	if (!cmd) {
		usage(stderr);
		return GPV_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmd_opts) / sizeof(cmd_opts[0]); i++)
		if ((given & cmd_opts[i].bit) && !(cmd->opts & cmd_opts[i].bit)) {
			gpv_error("%s: %s does not apply; see 'gpupv %s --help'", cmd->name,
				cmd_opts[i].name, cmd->name);
			return GPV_EXIT_USAGE;
		}
	o.color = !no_color && !(getenv("NO_COLOR") && *getenv("NO_COLOR")) &&
		  isatty(STDOUT_FILENO) && !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
	gpv_log_set(log_stderr, NULL, o.verbose ? GPV_LOG_DEBUG : GPV_LOG_WARNING);
	return cmd->fn(&o, argc - optind, argv + optind);
}
