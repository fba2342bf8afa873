/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "probes/parse.h"

/* Copies the line starting at s (up to '\n' or NUL) into a new string; *next past it. */
static char *dup_line(const char *s, const char **next)
{
	size_t n = strcspn(s, "\n");

	*next = s[n] ? s + n + 1 : s + n;
	return strndup(s, n);
}

static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl) {
		bool start = p == list || isspace((unsigned char)p[-1]);
		bool end = !p[wl] || isspace((unsigned char)p[wl]);

		if (start && end)
			return true;
	}
	return false;
}

const char *gpv_cpu_vendor_str(enum gpv_cpu_vendor v)
{
	switch (v) {
	case GPV_CPU_INTEL:
		return "intel";
	case GPV_CPU_AMD:
		return "amd";
	default:
		return "other";
	}
}

int gpv_cpuinfo_parse(const char *text, struct gpv_cpuinfo *ret)
{
	struct gpv_cpuinfo c = {0};
	bool seen_flags = false;
	const char *p = text;

	while (*p) {
		_cleanup_free_ char *line = dup_line(p, &p);
		char *colon, *key, *val;

		if (!line) {
			gpv_cpuinfo_clear(&c);
			return -ENOMEM;
		}
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		key = gpv_strip(line);
		val = colon + 1;
		while (isspace((unsigned char)*val))
			val++;
		gpv_strip(val);
		if (streq(key, "processor"))
			c.processors++;
		else if (streq(key, "vendor_id") && c.vendor == GPV_CPU_OTHER) {
			if (streq(val, "GenuineIntel"))
				c.vendor = GPV_CPU_INTEL;
			else if (streq(val, "AuthenticAMD") || streq(val, "HygonGenuine"))
				c.vendor = GPV_CPU_AMD;
		} else if (streq(key, "model name") && !c.model) {
			c.model = strdup(val);
		} else if (streq(key, "flags") && !seen_flags) {
			/* The first processor speaks for all: a firmware that enables VT-x
			 * enables it on every core. */
			seen_flags = true;
			c.vmx = word_in(val, "vmx");
			c.svm = word_in(val, "svm");
			c.hypervisor = word_in(val, "hypervisor");
		}
	}
	if (!c.processors && !seen_flags) {
		gpv_cpuinfo_clear(&c);
		return -ENODATA;
	}
	*ret = c;
	return 0;
}

void gpv_cpuinfo_clear(struct gpv_cpuinfo *c)
{
	free(c->model);
	*c = (struct gpv_cpuinfo){0};
}

static int set_str(char **slot, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

static int parse_ids(struct gpv_cmdline *c, const char *val)
{
	gpv_strv_clear(&c->vfio_pci_ids);
	gpv_strv_clear(&c->bad_vfio_ids);
	while (*val) {
		size_t n = strcspn(val, ",");
		char id[32];
		int r;

		if (n > 0) {
			bool ok = n == 9 && val[4] == ':';

			for (size_t i = 0; ok && i < 9; i++)
				ok = i == 4 || isxdigit((unsigned char)val[i]);
			snprintf(id, sizeof(id), "%.*s", (int)(n < 31 ? n : 31), val);
			for (char *q = id; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			r = gpv_strv_push(ok ? &c->vfio_pci_ids : &c->bad_vfio_ids, id);
			if (r < 0)
				return r;
		}
		val += n;
		if (*val == ',')
			val++;
	}
	return 0;
}

/* Splits like the kernel's next_arg(): whitespace separates, double quotes group. */
int gpv_cmdline_parse(const char *text, struct gpv_cmdline *ret)
{
	struct gpv_cmdline c = {0};
	const char *p = text;
	int r = 0;

	while (r >= 0) {
		char tok[4096];
		size_t n = 0;
		bool quoted = false;
		char *eq;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && (quoted || !isspace((unsigned char)*p))) {
			if (*p == '"')
				quoted = !quoted;
			else if (n < sizeof(tok) - 1)
				tok[n++] = *p;
			p++;
		}
		tok[n] = '\0';
		/* Everything after "--" belongs to init, not to the kernel. */
		if (streq(tok, "--"))
			break;
		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (streq(tok, "intel_iommu"))
			r = set_str(&c.intel_iommu, eq + 1);
		else if (streq(tok, "amd_iommu"))
			r = set_str(&c.amd_iommu, eq + 1);
		else if (streq(tok, "iommu"))
			r = set_str(&c.iommu, eq + 1);
		else if (streq(tok, "pcie_acs_override"))
			r = set_str(&c.acs_override, eq + 1);
		else if (streq(tok, "vfio-pci.ids") || streq(tok, "vfio_pci.ids"))
			r = parse_ids(&c, eq + 1);
	}
	if (r < 0) {
		gpv_cmdline_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void gpv_cmdline_clear(struct gpv_cmdline *c)
{
	free(c->intel_iommu);
	free(c->amd_iommu);
	free(c->iommu);
	free(c->acs_override);
	gpv_strv_clear(&c->vfio_pci_ids);
	gpv_strv_clear(&c->bad_vfio_ids);
	*c = (struct gpv_cmdline){0};
}

bool gpv_option_has(const char *value, const char *word)
{
	size_t wl = strlen(word);

	if (!value)
		return false;
	for (const char *p = value; *p;) {
		size_t n = strcspn(p, ",");

		if (n == wl && strncmp(p, word, wl) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int gpv_uevent_get(const char *text, const char *key, char **ret)
{
	size_t kl = strlen(key);

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n > kl + 1 && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			*ret = strndup(p + kl + 1, n - kl - 1);
			return *ret ? 0 : -ENOMEM;
		}
		p += n;
		if (*p)
			p++;
	}
	return -ENOENT;
}

/* Reads a decimal number at s; -1 when there is none or it does not fit. */
static long number_at(const char *s, const char **end)
{
	long v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > 100000000L)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (end)
		*end = s;
	return v;
}

/*
 * NVIDIA writes "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=4096x2160,
 * max_instance=8"; Intel GVT-g writes one "key: value" per line ("weight: 4").
 */
int gpv_mdev_desc_parse(const char *text, struct gpv_mdev_desc *ret)
{
	struct gpv_mdev_desc d = {.max_instance = -1, .framebuffer_mib = -1, .weight = -1};
	const char *p = text;

	while (*p) {
		char key[64];
		size_t kl = 0;
		const char *v;

		while (*p && (isspace((unsigned char)*p) || *p == ','))
			p++;
		while (*p && *p != '=' && *p != ':' && *p != ',' && *p != '\n') {
			if (kl < sizeof(key) - 1)
				key[kl++] = *p;
			p++;
		}
		while (kl > 0 && isspace((unsigned char)key[kl - 1]))
			kl--;
		key[kl] = '\0';
		if (*p != '=' && *p != ':')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		v = p;
		p += strcspn(p, ",\n");
		if (streq(key, "max_instance")) {
			d.max_instance = number_at(v, NULL);
		} else if (streq(key, "weight")) {
			d.weight = number_at(v, NULL);
		} else if (streq(key, "framebuffer")) {
			const char *e;
			long n = number_at(v, &e);

			if (n >= 0 && (*e == 'M' || *e == 'm'))
				d.framebuffer_mib = n;
			else if (n >= 0 && (*e == 'G' || *e == 'g'))
				d.framebuffer_mib = n * 1024;
		} else if ((streq(key, "max_resolution") || streq(key, "resolution")) &&
			   !d.resolution) {
			d.resolution = strndup(v, (size_t)(p - v));
			if (!d.resolution)
				return -ENOMEM;
			gpv_strip(d.resolution);
		}
	}
	*ret = d;
	return 0;
}

void gpv_mdev_desc_clear(struct gpv_mdev_desc *d)
{
	free(d->resolution);
	*d = (struct gpv_mdev_desc){.max_instance = -1, .framebuffer_mib = -1, .weight = -1};
}

static int hex4(const char *s, uint16_t *ret)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int c = tolower((unsigned char)s[i]);

		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	*ret = (uint16_t)v;
	return 0;
}

int gpv_ids_lookup(const char *text, uint16_t vendor, uint16_t device, char **ret_rest)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *line = p;
		uint16_t v, d0, d1;

		p += n;
		if (*p)
			p++;
		/* "VVVV DDDD" or "VVVV DDDD-DDDD" */
		if (n < 9 || line[4] != ' ' || hex4(line, &v) < 0 || hex4(line + 5, &d0) < 0)
			continue;
		d1 = d0;
		if (line[9] == '-' && (n < 14 || hex4(line + 10, &d1) < 0))
			continue;
		if (v != vendor || device < d0 || device > d1)
			continue;
		if (ret_rest) {
			const char *r = line + (line[9] == '-' ? 14 : 9);
			const char *e = line + n;

			while (r < e && isspace((unsigned char)*r))
				r++;
			*ret_rest = r < e ? strndup(r, (size_t)(e - r)) : NULL;
			if (r < e && !*ret_rest)
				return -ENOMEM;
		}
		return 1;
	}
	return 0;
}
