/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpupv/gpupv.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/vfio.h"
#include "probes/bind.h"

/* "0000:01:00.0", "01:00.0" or the index 'gpupv list' shows. */
static int resolve_gpu(const struct gpv_precheck *p, const char *arg, char ret[static 13])
{
	char *end;
	unsigned long idx;

	if (gpv_pci_addr_normalize(arg, ret) == 0)
		return 0;
	idx = strtoul(arg, &end, 10);
	if (*arg && !*end && idx < p->n_gpus) {
		memcpy(ret, p->gpus[idx].dev->addr, 13);
		return 0;
	}
	gpv_error(
		"'%s' is neither a PCI address (0000:01:00.0 or 01:00.0) nor a GPU index shown by "
		"'gpupv list'",
		arg);
	return -EINVAL;
}

int gpv_take_lock(struct gpv_root *root, const struct gpv_opts *o)
{
	long holder = 0;
	int fd = gpv_bind_lock(root, false, &holder);

	if (fd == -EBUSY) {
		if (o->no_wait) {
			gpv_error(
				"another gpupv (pid %ld) is changing the host; try again when it is done",
				holder);
			return fd;
		}
		fprintf(stderr, "gpupv: waiting for gpupv (pid %ld) to finish...\n", holder);
		fd = gpv_bind_lock(root, true, &holder);
	}
	if (fd < 0 && fd != -EBUSY)
		gpv_error("cannot take the lock /run/gpupv/lock: %s%s", strerror(-fd),
			fd == -EACCES || fd == -EPERM || fd == -EROFS ? " (run gpupv as root)"
								      : "");
	return fd;
}

/* A plan that could not be made: a refusal (exit 4, with its fix) or an error (exit 1). */
static int plan_failed(const struct gpv_opts *o, const char *command, const char *gpu, int r,
	const struct gpv_refusal *refusal)
{
	if (!refusal->message) {
		gpv_error("cannot plan the %s of %s: %s", command, gpu, strerror(-r));
		return GPV_EXIT_ERROR;
	}
	gpv_error("%s", refusal->message);
	if (refusal->fix)
		fprintf(stderr, "gpupv: fix: %s\n", refusal->fix);
	if (o->json)
		gpv_print_refusal_json(stdout, command, gpu, refusal);
	return GPV_EXIT_BLOCKED;
}

static void print_steps(const struct gpv_plan *plan)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct gpv_step *s = &plan->steps[i];

		printf("  %2zu  ", i + 1);
		switch (s->kind) {
		case GPV_STEP_LOAD_MODULE:
			printf("load module %s\n", s->value);
			break;
		case GPV_STEP_JOURNAL:
			printf("journal %s: %s\n", s->path, s->value);
			break;
		case GPV_STEP_REMOVE_JOURNAL:
			printf("remove journal %s\n", s->path);
			break;
		case GPV_STEP_WRITE:
			printf("write '%s' to %s\n", streq(s->value, "\n") ? "\\n" : s->value,
				s->path);
			break;
		case GPV_STEP_WAIT_DRIVER:
			printf("wait for %s on %s\n", s->addr, s->value);
			break;
		case GPV_STEP_WAIT_VFIO:
			printf("wait for %s\n", s->path);
			break;
		case GPV_STEP_CHECK_VIABLE:
			printf("check that IOMMU group %d is viable (VFIO_GROUP_GET_STATUS)\n",
				s->group);
			break;
		case GPV_STEP_PERSIST:
			printf("%s /var/lib/gpupv/bindings/%s and rewrite "
			       "/etc/udev/rules.d/61-gpupv.rules and /etc/modprobe.d/gpupv.conf\n",
				streq(s->value, "add") ? "write" : "remove", plan->binding.gpu);
			break;
		}
	}
}

static int finish(struct gpv_root *root, const struct gpv_opts *o, const char *command,
	const char *gpu, struct gpv_plan *plan, const struct gpv_precheck *p)
{
	size_t failed = 0;
	int r = 0;

	if (!o->dry_run && plan && !plan->nothing_to_do) {
		const char *fail = getenv("GPUPV_TEST_FAIL_STEP");

		/* Fault injection for the real-kernel tests, where no model can make a write fail.
		 */
		if (fail)
			plan->fail_at = strtoul(fail, NULL, 10);
		r = gpv_plan_apply(root, plan, &failed);
		if (r < 0) {
			const struct gpv_step *s = &plan->steps[failed];

			gpv_error("%s %s failed at step %zu (%s%s%s): %s", command, gpu, failed + 1,
				gpv_step_kind_str(s->kind), s->path ? " " : "",
				s->path ? s->path : "", strerror(-r));
			if (plan->failure_detail)
				gpv_error("%s", plan->failure_detail);
			if (plan->rolled_back)
				fprintf(stderr,
					"gpupv: every device was given back to its driver\n");
			else
				fprintf(stderr,
					"gpupv: the journal is kept: 'gpupv unbind --recover' "
					"finishes the job\n");
		}
	}
	if (o->json) {
		if (gpv_print_plan_json(
			    stdout, command, gpu, plan, o->dry_run, r, r < 0 ? failed : 0) < 0)
			return GPV_EXIT_ERROR;
		return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
	}
	if (r < 0)
		return GPV_EXIT_ERROR;
	for (size_t i = 0; plan && i < plan->warnings.n; i++)
		fprintf(stderr, "gpupv: warning: %s\n", plan->warnings.v[i]);
	if (!plan || plan->nothing_to_do) {
		printf("%s: already on vfio-pci, nothing to do\n", gpu);
		return GPV_EXIT_OK;
	}
	if (o->dry_run) {
		printf("gpupv %s %s would, in order:\n", command, gpu);
		print_steps(plan);
		return GPV_EXIT_OK;
	}
	for (size_t i = 0; i < plan->binding.n_devs; i++) {
		const struct gpv_bind_dev *d = &plan->binding.devs[i];

		if (streq(command, "bind"))
			printf("%s  %s -> vfio-pci\n", d->addr,
				d->orig_driver ? d->orig_driver : "(no driver)");
		else
			printf("%s  vfio-pci -> %s\n", d->addr,
				d->orig_driver ? d->orig_driver : "(no driver)");
	}
	if (streq(command, "bind")) {
		size_t groups = 0;

		for (size_t i = 0; i < plan->n_steps; i++)
			groups += plan->steps[i].kind == GPV_STEP_CHECK_VIABLE;
		if (groups)
			printf("bound %s: %s viable; 'gpupv unbind %s' gives it back\n", gpu,
				groups == 1 ? "its IOMMU group is" : "its IOMMU groups are", gpu);
		if (o->persist)
			printf("persistent: a udev rule and a modprobe softdep keep %s on vfio-pci "
			       "across reboots (if its driver loads from the initramfs, rebuild it: "
			       "'update-initramfs -u'); 'gpupv unbind --persist %s' ends that\n",
				gpu, gpu);
	} else
		printf("gave %s back to the host\n", gpu);
	return GPV_EXIT_OK;
}

int gpv_cmd_bind(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_root *root = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_plan *plan = NULL;
	struct gpv_refusal refusal = {0};
	char gpu[13];
	int r, lock = -1, ret = GPV_EXIT_ERROR;
	bool focused;

	if (argc != 1) {
		gpv_error("bind: give one GPU (its address or its index in 'gpupv list')");
		return GPV_EXIT_USAGE;
	}
	if (gpv_open_machine(o, &root, NULL) < 0)
		return GPV_EXIT_ERROR;
	/* The lock comes first: the plan must be made from what the host is once no other
	 * gpupv is changing it. */
	if (!o->dry_run && (lock = gpv_take_lock(root, o)) < 0)
		goto out;
	/* A GPU given by its address: examine only what bears on it (its slot and groups, the
	 * other displays if it is the boot display), without the host checks. An index needs
	 * every GPU, in 'gpupv list' order. */
	focused = gpv_pci_addr_normalize(argv[0], gpu) == 0;
	if (gpv_examine(root, false, focused ? gpu : NULL, &p) < 0)
		goto out;
	if (resolve_gpu(p, argv[0], gpu) < 0) {
		ret = GPV_EXIT_USAGE;
		goto out;
	}
	r = gpv_bind_plan(root, p, gpu,
		(o->force ? GPV_BIND_FORCE : 0) | (o->persist ? GPV_BIND_PERSIST : 0), &plan,
		&refusal);
	if (r < 0) {
		ret = plan_failed(o, "bind", gpu, r, &refusal);
		goto out;
	}
	ret = finish(root, o, "bind", gpu, plan, p);
out:
	if (lock >= 0)
		close(lock);
	gpv_refusal_clear(&refusal);
	gpv_plan_free(plan);
	gpv_precheck_free(p);
	gpv_root_free(root);
	return ret;
}

int gpv_cmd_unbind(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_root *root = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_plan *plan = NULL;
	struct gpv_refusal refusal = {0};
	char gpu[13];
	int r, lock = -1, ret = GPV_EXIT_ERROR;

	if (o->recover ? argc != 0 : argc != 1) {
		gpv_error(
			"unbind: give one GPU (its address or its index in 'gpupv list'), or --recover "
			"alone");
		return GPV_EXIT_USAGE;
	}
	if (gpv_open_machine(o, &root, NULL) < 0)
		return GPV_EXIT_ERROR;
	if (!o->dry_run && (lock = gpv_take_lock(root, o)) < 0)
		goto out;
	/* Unbinding needs the journal and the live drivers, not an examination of the host:
	 * only a GPU given by its index in 'gpupv list' needs that. */
	if (!o->recover && gpv_pci_addr_normalize(argv[0], gpu) < 0 &&
		gpv_examine(root, false, NULL, &p) < 0)
		goto out;
	if (o->recover) {
		gpv_strv log = {0};

		if (o->dry_run) {
			struct gpv_binding *all = NULL;
			size_t n = 0;

			r = gpv_bindings_load(root, &all, &n);
			for (size_t i = 0; r >= 0 && i < n; i++)
				if (all[i].state != GPV_BINDING_BOUND)
					printf("would put back the devices of %s (left %s)\n",
						all[i].gpu, gpv_binding_state_str(all[i].state));
			gpv_bindings_free(all, n);
			ret = r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
			goto out;
		}
		r = gpv_recover(root, &log);
		for (size_t i = 0; i < log.n; i++)
			printf("%s\n", log.v[i]);
		if (r == 0)
			printf("nothing to recover\n");
		gpv_strv_clear(&log);
		ret = r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
		goto out;
	}
	if (p && resolve_gpu(p, argv[0], gpu) < 0) {
		ret = GPV_EXIT_USAGE;
		goto out;
	}
	r = gpv_unbind_plan(root, gpu, o->persist ? GPV_BIND_PERSIST : 0, &plan, &refusal);
	if (r < 0) {
		ret = plan_failed(o, "unbind", gpu, r, &refusal);
		goto out;
	}
	ret = finish(root, o, "unbind", gpu, plan, NULL);
out:
	if (lock >= 0)
		close(lock);
	gpv_refusal_clear(&refusal);
	gpv_plan_free(plan);
	gpv_precheck_free(p);
	gpv_root_free(root);
	return ret;
}

int gpv_cmd_status(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_root *root = NULL;
	struct gpv_binding *all = NULL;
	size_t n = 0;
	int r, ret = GPV_EXIT_ERROR;

	if (argc != 0) {
		gpv_error("status: unexpected argument '%s'", argv[0]);
		return GPV_EXIT_USAGE;
	}
	if (gpv_open_machine(o, &root, NULL) < 0)
		return GPV_EXIT_ERROR;
	r = gpv_bindings_load(root, &all, &n);
	if (r < 0) {
		gpv_error("cannot read /run/gpupv/bindings: %s", strerror(-r));
		goto out;
	}
	if (o->json) {
		ret = gpv_print_status_json(stdout, root, all, n) < 0 ? GPV_EXIT_ERROR
								      : GPV_EXIT_OK;
		goto out;
	}
	if (n == 0)
		printf("gpupv has bound nothing\n");
	for (size_t i = 0; i < n; i++) {
		const struct gpv_binding *b = &all[i];
		char when[64] = "?";
		time_t t = (time_t)b->since;
		struct tm tm;
		int last = -1;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("GPU %s  %s since %s%s%s\n", b->gpu,
			b->this_boot ? gpv_binding_state_str(b->state) : "persisted", when,
			!b->this_boot	? " (vfio-pci again at each boot)"
			: b->persistent ? ", persistent"
					: "",
			b->state == GPV_BINDING_BOUND
				? ""
				: "  (unfinished: run 'gpupv unbind --recover')");
		for (size_t j = 0; j < b->n_devs; j++) {
			const struct gpv_bind_dev *d = &b->devs[j];
			_cleanup_close_ int fd = -1;
			_cleanup_free_ char *cur = NULL;
			char path[64];

			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", d->addr);
			fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
			if (fd >= 0)
				(void)gpv_readlink_base_at(fd, "driver", &cur);
			printf("  %s  group %-3d now %-14s returns to %s\n", d->addr, d->group,
				cur ? cur : "(no driver)",
				d->orig_driver ? d->orig_driver : "(no driver)");
		}
		for (size_t j = 0; j < b->n_devs; j++) {
			bool seen = false;
			int v;

			for (size_t k = 0; k < j; k++)
				seen |= b->devs[k].group == b->devs[j].group;
			if (seen)
				continue;
			last = b->devs[j].group;
			v = gpv_vfio_group_viable(root, last);
			printf("  group %d: %s\n", last,
				v == 1	       ? "viable"
				: v == 0       ? "NOT viable"
				: v == -EBUSY  ? "in use (a VM holds it)"
				: v == -ENOENT ? "not on vfio-pci"
					       : strerror(-v));
		}
	}
	ret = GPV_EXIT_OK;
out:
	gpv_bindings_free(all, n);
	gpv_root_free(root);
	return ret;
}
