/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The binding journal's text form: what gpupv writes before it changes the host. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "probes/bind.h"

const char *gpv_binding_state_str(enum gpv_binding_state s)
{
	static const char *const names[] = { "binding", "bound", "unbinding" };

	return names[s];
}

void gpv_binding_clear(struct gpv_binding *b)
{
	for (size_t i = 0; i < b->n_devs; i++) {
		free(b->devs[i].orig_driver);
		free(b->devs[i].orig_override);
	}
	free(b->devs);
	free(b->orig_reset);
	*b = (struct gpv_binding){ 0 };
}

int gpv_binding_format(const struct gpv_binding *b, char **ret)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# gpupv binding journal: 'gpupv unbind --recover' reads it; do not edit\n");
	fprintf(f, "gpu %s\nstate %s\nsince %lld\n", b->gpu, gpv_binding_state_str(b->state),
		b->since);
	if (b->orig_reset) {
		/* One word: the methods joined by commas, "-" for an empty list. */
		fputs("reset ", f);
		for (const char *c = b->orig_reset; *c; c++)
			fputc(*c == ' ' ? ',' : *c, f);
		fputs(*b->orig_reset ? "\n" : "-\n", f);
	}
	for (size_t i = 0; i < b->n_devs; i++)
		fprintf(f, "device %s group %d driver %s override %s\n", b->devs[i].addr,
			b->devs[i].group, b->devs[i].orig_driver ? b->devs[i].orig_driver : "-",
			b->devs[i].orig_override ? b->devs[i].orig_override : "-");
	if (fclose(f) != 0) {
		free(out);
		return -ENOMEM;
	}
	*ret = out;
	return 0;
}

/* A driver or override name: printable, no spaces, no slashes. */
static bool good_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || *s == '/')
			return false;
	return true;
}

int gpv_binding_parse(const char *text, struct gpv_binding *ret, int *ret_line)
{
	struct gpv_binding b = { .state = -1 };
	bool have_gpu = false;
	int line = 0, r = 0;

	for (const char *p = text; *p && r == 0;) {
		size_t n = strcspn(p, "\n");
		char buf[512], addr[32], drv[80], ov[80], state[32];
		long long since;
		int group;

		line++;
		if (n >= sizeof(buf)) {
			r = -EINVAL;
			break;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (p[n] == '\n');
		if (!*buf || *buf == '#')
			continue;
		if (sscanf(buf, "gpu %31s", addr) == 1 && gpv_pci_addr_valid(addr) && !have_gpu) {
			memcpy(b.gpu, addr, 13);
			have_gpu = true;
		} else if (sscanf(buf, "state %31s", state) == 1) {
			b.state = streq(state, "binding") ? GPV_BINDING_BINDING
				: streq(state, "bound")   ? GPV_BINDING_BOUND
				: streq(state, "unbinding") ? GPV_BINDING_UNBINDING
							      : -1;
			if ((int)b.state < 0)
				r = -EINVAL;
		} else if (sscanf(buf, "since %lld", &since) == 1) {
			b.since = since;
		} else if (sscanf(buf, "reset %79s", ov) == 1 && !b.orig_reset) {
			b.orig_reset = strdup(streq(ov, "-") ? "" : ov);
			if (!b.orig_reset)
				r = -ENOMEM;
			for (char *c = b.orig_reset; c && *c; c++)
				if (*c == ',')
					*c = ' ';
		} else if (sscanf(buf, "device %31s group %d driver %79s override %79s", addr, &group,
				   drv, ov) == 4 &&
			gpv_pci_addr_valid(addr) && group >= 0 && good_name(drv) && good_name(ov)) {
			struct gpv_bind_dev *nd = realloc(b.devs, (b.n_devs + 1) * sizeof(*nd));

			if (!nd) {
				r = -ENOMEM;
				break;
			}
			b.devs = nd;
			nd = &b.devs[b.n_devs++];
			*nd = (struct gpv_bind_dev){ .group = group };
			memcpy(nd->addr, addr, 13);
			nd->orig_driver = streq(drv, "-") ? NULL : strdup(drv);
			nd->orig_override = streq(ov, "-") ? NULL : strdup(ov);
			if ((!streq(drv, "-") && !nd->orig_driver) ||
				(!streq(ov, "-") && !nd->orig_override))
				r = -ENOMEM;
		} else {
			r = -EINVAL;
		}
	}
	if (r == 0 && (!have_gpu || (int)b.state < 0))
		r = -EINVAL;
	if (r < 0) {
		if (ret_line)
			*ret_line = line;
		gpv_binding_clear(&b);
		return r;
	}
	*ret = b;
	return 0;
}

