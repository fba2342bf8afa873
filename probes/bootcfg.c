/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "probes/bootcfg.h"

static int push_word(gpv_strv *v, const char *key, const char *value)
{
	return gpv_strv_push_take(v, gpv_strf("%s=%s", key, value));
}

int gpv_boot_params(const struct gpv_precheck *p, gpv_strv *add, gpv_strv *remove)
{
	const struct gpv_cmdline *c = &p->host.cmdline;
	int r = 0;

	/* Whatever turns the IOMMU off goes. */
	if (c->intel_iommu && gpv_option_has(c->intel_iommu, "off"))
		r = push_word(remove, "intel_iommu", c->intel_iommu);
	if (r == 0 && c->amd_iommu && gpv_option_has(c->amd_iommu, "off"))
		r = push_word(remove, "amd_iommu", c->amd_iommu);
	if (r == 0 && c->iommu && (gpv_option_has(c->iommu, "off") || gpv_option_has(c->iommu, "soft")))
		r = push_word(remove, "iommu", c->iommu);
	if (r < 0)
		return r;

	switch (p->host.cpu.vendor) {
	case GPV_CPU_INTEL:
		/* Many distribution kernels leave the Intel IOMMU off unless asked. */
		if (!gpv_option_has(c->intel_iommu, "on") && (r = gpv_strv_push(add, "intel_iommu=on")) < 0)
			return r;
		break;
	case GPV_CPU_AMD:
		/* AMD-Vi is on by default; amd_iommu=on is not even a valid value. */
		break;
	default:
		return 0;
	}
	/* Passthrough mode: host devices skip translation, only VFIO devices pay for it. */
	if (!gpv_option_has(c->iommu, "pt") && (r = gpv_strv_push(add, "iommu=pt")) < 0)
		return r;
	return 0;
}

static bool same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && strncmp(a, b, ka) == 0;
}

/* Where the value of an assignment line starts, or NULL when the line is not one. */
static const char *assignment(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	static const char key[] = "GRUB_CMDLINE_LINUX_DEFAULT=";

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < sizeof(key) - 1 || strncmp(p, key, sizeof(key) - 1) != 0)
		return NULL;
	return p + sizeof(key) - 1;
}

int gpv_grub_edit(const char *text, const gpv_strv *add, const gpv_strv *remove, char **ret,
	bool *changed)
{
	const char *last = NULL, *value = NULL, *tail = NULL;
	size_t last_len = 0;
	char quote = 0, *out = NULL;
	size_t out_len = 0;
	gpv_strv words = { 0 };
	FILE *f;
	int r = 0;

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *v = assignment(p, n);

		if (v) {
			last = p;
			last_len = n;
			value = v;
		}
		p += n + (p[n] == '\n');
	}

	if (value) {
		const char *end = last + last_len, *v = value;
		char word[1024];

		tail = end;
		if (v < end && (*v == '"' || *v == '\'')) {
			quote = *v++;
			while (end > v && end[-1] != quote)
				end--;
			if (end > v) {
				end--; /* the closing quote; what follows it is kept */
				tail = end + 1;
			}
		}
		while (v < end && r >= 0) {
			size_t n = 0;

			while (v < end && isspace((unsigned char)*v))
				v++;
			while (v < end && !isspace((unsigned char)*v) && n < sizeof(word) - 1)
				word[n++] = *v++;
			word[n] = '\0';
			if (n)
				r = gpv_strv_push(&words, word);
		}
	}
	if (r < 0)
		goto out;

	{
		gpv_strv kept = { 0 };
		bool differs = false;

		for (size_t i = 0; i < words.n && r >= 0; i++) {
			bool drop = gpv_strv_contains(remove, words.v[i]);

			for (size_t j = 0; j < add->n && !drop; j++)
				drop = same_key(words.v[i], add->v[j]) && !streq(words.v[i], add->v[j]);
			if (drop)
				differs = true;
			else
				r = gpv_strv_push(&kept, words.v[i]);
		}
		for (size_t j = 0; j < add->n && r >= 0; j++)
			if (!gpv_strv_contains(&kept, add->v[j])) {
				differs = true;
				r = gpv_strv_push(&kept, add->v[j]);
			}
		gpv_strv_clear(&words);
		words = kept;
		if (r < 0)
			goto out;
		*changed = differs;
	}

	f = open_memstream(&out, &out_len);
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	if (!value) {
		fputs(text, f);
		if (*text && text[strlen(text) - 1] != '\n')
			fputc('\n', f);
		fputs("GRUB_CMDLINE_LINUX_DEFAULT=\"", f);
	} else {
		fwrite(text, 1, (size_t)(value - text), f);
		fputc(quote ? quote : '"', f);
	}
	for (size_t i = 0; i < words.n; i++)
		fprintf(f, "%s%s", i ? " " : "", words.v[i]);
	if (!value) {
		fputs("\"\n", f);
	} else {
		fputc(quote ? quote : '"', f);
		fputs(tail, f);
	}
	if (fclose(f) != 0) {
		free(out);
		r = -ENOMEM;
		goto out;
	}
	if (!value)
		*changed = words.n > 0;
	*ret = out;
out:
	gpv_strv_clear(&words);
	return r;
}
