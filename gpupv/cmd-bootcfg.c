/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpupv/gpupv.h"
#include "lib/log.h"
#include "lib/root.h"
#include "probes/bootcfg.h"

extern char **environ;

#define GRUB_FILE "/etc/default/grub"

static void join(FILE *f, const gpv_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		fprintf(f, "%s%s", i ? " " : "", v->v[i]);
}

/* The line of text that holds the (last) GRUB_CMDLINE_LINUX_DEFAULT, for showing. */
static char *grub_line(const char *text)
{
	const char *found = NULL;
	size_t len = 0;

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *s = p;

		while (*s == ' ' || *s == '\t')
			s++;
		if (startswith(s, "GRUB_CMDLINE_LINUX_DEFAULT=") && s < p + n) {
			found = p;
			len = n;
		}
		p += n + (p[n] == '\n');
	}
	return found ? strndup(found, len) : NULL;
}

/* The command that turns /etc/default/grub into grub.cfg on this distribution. */
static const char *const *update_command(void)
{
	static const char *const debian[] = { "update-grub", NULL };
	static const char *const fedora[] = { "grub2-mkconfig", "-o", "/boot/grub2/grub.cfg", NULL };
	static const char *const plain[] = { "grub-mkconfig", "-o", "/boot/grub/grub.cfg", NULL };
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/update-grub", (int)n, p);
		if (access(buf, X_OK) == 0)
			return debian;
		p += n + (p[n] == ':');
	}
	return access("/boot/grub2", F_OK) == 0 ? fedora : plain;
}

static int run_command(const char *const *argv)
{
	pid_t pid;
	int status, r;

	r = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int gpv_cmd_boot_config(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_root *root = NULL;
	struct gpv_precheck *p = NULL;
	gpv_strv add = { 0 }, remove = { 0 };
	_cleanup_free_ char *text = NULL, *edited = NULL, *before = NULL, *after = NULL;
	const char *const *update = NULL;
	bool changed = false, applied = false;
	int r, ret = GPV_EXIT_ERROR;

	if (argc != 0) {
		fprintf(stderr, "gpupv: boot-config: unexpected argument '%s'\n", argv[0]);
		return GPV_EXIT_USAGE;
	}
	if (gpv_open_machine(o, &root, &p) < 0)
		return GPV_EXIT_ERROR;
	r = gpv_boot_params(p, &add, &remove);
	if (r < 0)
		goto oom;

	r = gpv_root_read(root, GRUB_FILE, 1024 * 1024, &text, NULL);
	if (r == 0) {
		r = gpv_grub_edit(text, &add, &remove, &edited, &changed);
		if (r < 0)
			goto oom;
		before = grub_line(text);
		after = grub_line(edited);
		update = update_command();
	} else if (o->apply) {
		fprintf(stderr,
			"gpupv: cannot read %s: %s; --apply edits GRUB's settings only: with "
			"systemd-boot, add the parameters to /etc/kernel/cmdline\n",
			GRUB_FILE, strerror(-r));
		goto out;
	}

	if (o->apply && changed && !o->dry_run) {
		_cleanup_free_ char *backup = NULL;
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
		backup = gpv_strf("%s.gpupv-%s", GRUB_FILE, stamp);
		if (!backup)
			goto oom;
		/* Plan: the backup first, then the new file, then the update command; a
		 * failure of the command puts the old file back. */
		r = gpv_root_replace(root, backup, text, GPV_ROOT_DURABLE);
		if (r < 0) {
			fprintf(stderr, "gpupv: cannot write the backup %s: %s\n", backup, strerror(-r));
			goto out;
		}
		r = gpv_root_replace(root, GRUB_FILE, edited, GPV_ROOT_DURABLE);
		if (r < 0) {
			fprintf(stderr, "gpupv: cannot write %s: %s\n", GRUB_FILE, strerror(-r));
			goto out;
		}
		if (gpv_root_is_host(root)) {
			r = run_command(update);
			if (r < 0) {
				(void)gpv_root_replace(root, GRUB_FILE, text, GPV_ROOT_DURABLE);
				fprintf(stderr,
					"gpupv: '%s' failed (%s); %s is as it was (backup in %s)\n",
					update[0], strerror(-r), GRUB_FILE, backup);
				goto out;
			}
		}
		applied = true;
		if (!o->json)
			printf("edited %s (backup: %s)%s\n", GRUB_FILE, backup,
				gpv_root_is_host(root) ? "" : "; run the update command on that machine");
	}

	if (o->json) {
		ret = gpv_print_bootcfg_json(stdout, &add, &remove, text != NULL, before, after,
			      update, o->apply && !o->dry_run, applied) < 0
			? GPV_EXIT_ERROR
			: GPV_EXIT_OK;
		goto out;
	}
	if (!add.n && !remove.n) {
		printf("the kernel command line already has what this host needs\n");
		goto note;
	}
	if (add.n) {
		printf("add to the kernel command line:      ");
		join(stdout, &add);
		putchar('\n');
	}
	if (remove.n) {
		printf("remove from the kernel command line: ");
		join(stdout, &remove);
		putchar('\n');
	}
	if (text && !applied) {
		printf("\nGRUB (%s):\n  now:   %s\n  then:  %s\n  then run: ", GRUB_FILE,
			before ? before : "(no GRUB_CMDLINE_LINUX_DEFAULT)", after ? after : "");
		for (size_t i = 0; update[i]; i++)
			printf("%s%s", i ? " " : "", update[i]);
		printf("\n  ('gpupv boot-config --apply' does both, keeping a backup)\n");
	}
	if (!text)
		printf("\nGRUB: make that change to GRUB_CMDLINE_LINUX_DEFAULT in %s, then run "
		       "update-grub\n",
			GRUB_FILE);
	printf("systemd-boot: make it in /etc/kernel/cmdline, then run 'kernel-install add %s "
	       "/boot/vmlinuz-%s'\n",
		p->host.kernel ? p->host.kernel : "$(uname -r)",
		p->host.kernel ? p->host.kernel : "$(uname -r)");
	printf("then reboot\n");
note:
	if (!p->host.iommu_active) {
		const struct gpv_check *c = gpv_precheck_check(p, "iommu.active");

		printf("\nnote: the IOMMU is not active, and parameters alone may not change that: "
		       "%s\n",
			c && c->fix ? c->fix : "see 'gpupv precheck'");
	}
	ret = GPV_EXIT_OK;
	goto out;
oom:
	fprintf(stderr, "gpupv: out of memory\n");
out:
	gpv_strv_clear(&add);
	gpv_strv_clear(&remove);
	gpv_precheck_free(p);
	gpv_root_free(root);
	return ret;
}
