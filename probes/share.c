/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/util.h"
#include "probes/data.h"
#include "probes/share.h"

/* Shares are compared on a grid of 1/10000 percent, so that 100/3 on two GPUs is one size. */
#define KEY_SCALE 10000.0
#define EPS 1e-9

const char *gpv_share_kind_str(enum gpv_share_kind k)
{
	static const char *const names[] = {"whole", "vf", "mdev", "vgpu"};

	return names[k];
}

const char *gpv_share_percent_str(double percent, char buf[static 16])
{
	char *e;

	snprintf(buf, 16, "%.2f", percent);
	e = buf + strlen(buf);
	while (e > buf && e[-1] == '0')
		*--e = '\0';
	if (e > buf && e[-1] == '.')
		e[-1] = '\0';
	return buf;
}

static long key_of(double percent)
{
	return (long)(percent * KEY_SCALE + 0.5); /* percent > 0: no libm */
}

/* share-rules.ids, parsed once. */
struct rule {
	unsigned flag;
	bool vgpu;
	char match[48];
};
static struct rule share_rules[32];
static size_t n_rules;
static int rules_state; /* 0 not read, 1 read, < 0 error */

static int rules_load(void)
{
	_cleanup_free_ char *copy = NULL;
	const char *text;
	char *save = NULL;
	int r;

	if (rules_state != 0)
		return rules_state < 0 ? rules_state : 0;
	r = gpv_data_get("share-rules.ids", &text);
	if (r < 0 || !(copy = strdup(text))) {
		rules_state = r < 0 ? r : -ENOMEM;
		return rules_state;
	}
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char word[32], match[48];
		struct rule *ru;

		if (*l == '#' || sscanf(l, "%31s %47s", word, match) != 2)
			continue;
		if (n_rules >= ELEMENTSOF(share_rules)) {
			gpv_debug("share-rules.ids: more than %zu rules; '%s' ignored",
				ELEMENTSOF(share_rules), l);
			continue;
		}
		ru = &share_rules[n_rules];
		if (streq(word, "one-type"))
			*ru = (struct rule){.flag = GPV_SHARE_ONE_TYPE};
		else if (streq(word, "pool"))
			*ru = (struct rule){.flag = GPV_SHARE_POOL};
		else if (streq(word, "vgpu-one-type"))
			*ru = (struct rule){.flag = GPV_SHARE_ONE_TYPE, .vgpu = true};
		else {
			gpv_debug("share-rules.ids: unknown rule '%s' ignored", word);
			continue;
		}
		memcpy(ru->match, match, sizeof(ru->match));
		n_rules++;
	}
	rules_state = 1;
	return 0;
}

static unsigned mdev_rules(const char *id)
{
	unsigned flags = 0;

	if (rules_load() < 0)
		return 0;
	for (size_t i = 0; i < n_rules; i++)
		if (!share_rules[i].vgpu && startswith(id, share_rules[i].match))
			flags |= share_rules[i].flag;
	return flags;
}

static unsigned vgpu_rules(unsigned vendor)
{
	char v[8];
	unsigned flags = 0;

	if (rules_load() < 0)
		return 0;
	snprintf(v, sizeof(v), "%04x", vendor & 0xffff);
	for (size_t i = 0; i < n_rules; i++)
		if (share_rules[i].vgpu && streq(share_rules[i].match, v))
			flags |= share_rules[i].flag;
	return flags;
}

/*
 * The index: one bucket per distinct share size, ascending. In a bucket, the options of GPUs
 * not yet partitioned wait in "cold", sorted by preference, behind a cursor; the options of
 * partitioned GPUs sit on the "hot" stack, which is tried first (packing). An option never
 * comes back once it is gone (requests only take), so dead entries are dropped as they are
 * met and every request costs O(log buckets) plus the entries it drops.
 */
struct entry {
	uint32_t gpu;
	uint8_t kind;
	int32_t k; /* type index; VF: the sriov_numvfs it needs */
	uint32_t bucket;
	double percent;
};

struct bucket {
	long key;
	double percent;
	struct entry *cold;
	size_t n_cold, cur;
	struct entry *hot;
	size_t n_hot, cap_hot;
};

struct gpv_share_index {
	struct entry *all; /* sorted by bucket then preference; cold lists point into it */
	size_t n_all;
	struct bucket *b;
	size_t n_b;
	size_t *by_gpu; /* entry indexes, grouped by GPU */
	size_t *gpu_first; /* n + 1 offsets into by_gpu */
	unsigned long gen; /* slices taken so far */
	char *no_fit;	   /* gpv_share_no_fit()'s message less the percent, as of no_fit_gen */
	unsigned long no_fit_gen;
};

static void index_free(struct gpv_share_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n_b; i++)
		free(ix->b[i].hot);
	free(ix->b);
	free(ix->all);
	free(ix->by_gpu);
	free(ix->gpu_first);
	free(ix->no_fit);
	free(ix);
}

static void type_clear(struct gpv_share_type *t)
{
	free(t->id);
	free(t->name);
}

struct gpv_share_inventory *gpv_share_inventory_free(struct gpv_share_inventory *inv)
{
	if (!inv)
		return NULL;
	for (size_t i = 0; i < inv->n; i++) {
		struct gpv_share_gpu *g = &inv->gpus[i];

		free(g->blocked);
		gpv_strv_clear(&g->free_vfs);
		for (size_t t = 0; t < g->n_mdev; t++)
			type_clear(&g->mdev[t]);
		free(g->mdev);
		for (size_t t = 0; t < g->n_vgpu; t++)
			type_clear(&g->vgpu[t]);
		free(g->vgpu);
	}
	free(inv->gpus);
	index_free(inv->index);
	free(inv);
	return NULL;
}

int gpv_share_inventory_new_empty(struct gpv_share_inventory **ret)
{
	struct gpv_share_inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return -ENOMEM;
	*ret = inv;
	return 0;
}

int gpv_share_add_gpu(struct gpv_share_inventory *inv, const char *addr, const char *blocked,
	struct gpv_share_gpu **ret)
{
	struct gpv_share_gpu *g;

	if (!addr || strlen(addr) >= sizeof(g->addr))
		return -EINVAL;
	if (inv->n == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 16;
		struct gpv_share_gpu *n = realloc(inv->gpus, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		inv->gpus = n;
		inv->cap = cap;
	}
	g = &inv->gpus[inv->n];
	*g = (struct gpv_share_gpu){.part_kind = -1, .locked_mdev = -1, .locked_vgpu = -1};
	memcpy(g->addr, addr, strlen(addr) + 1);
	if (blocked && !(g->blocked = strdup(blocked)))
		return -ENOMEM;
	inv->n++;
	/* The index holds GPU indexes: it is rebuilt with the new GPU on the next request. */
	index_free(inv->index);
	inv->index = NULL;
	*ret = g;
	return 0;
}

int gpv_share_add_vfs(struct gpv_share_gpu *g, int total, int enabled, const char *const *free_vfs,
	size_t n_free)
{
	int r;

	if (total <= 0 || enabled < 0 || enabled > total || n_free > (size_t)enabled)
		return -EINVAL;
	g->vfs_total = total;
	g->vfs_enabled = enabled;
	for (size_t i = 0; i < n_free; i++)
		if ((r = gpv_strv_push(&g->free_vfs, free_vfs[i])) < 0)
			return r;
	g->vfs_assigned = enabled - (int)n_free;
	return 0;
}

static int add_type(struct gpv_share_type **types, size_t *n, const char *id, const char *name,
	double percent, long available, long in_use, unsigned rules)
{
	struct gpv_share_type *nt, t = {
		.percent = percent, .available = available, .in_use = in_use, .rules = rules};

	if (!id || !(percent > 0.0) || percent > 100.0 + EPS)
		return -EINVAL;
	t.id = strdup(id);
	t.name = name ? strdup(name) : NULL;
	nt = realloc(*types, (*n + 1) * sizeof(**types));
	if (!t.id || (name && !t.name) || !nt) {
		if (nt)
			*types = nt;
		type_clear(&t);
		return -ENOMEM;
	}
	*types = nt;
	nt[(*n)++] = t;
	return 0;
}

/* How many instances of a type fit one GPU. */
static long fit(double percent)
{
	return (long)(100.0 / percent + 1e-6);
}

int gpv_share_add_mdev(struct gpv_share_gpu *g, const char *id, const char *name, double percent,
	long available, long in_use)
{
	if (in_use < 0)
		in_use = 0;
	/* A driver that does not say: as many as fit, less those that exist. */
	if (available < 0 && percent > 0.0)
		available = fit(percent) - in_use > 0 ? fit(percent) - in_use : 0;
	return add_type(&g->mdev, &g->n_mdev, id, name, percent, available, in_use,
		id ? mdev_rules(id) : 0);
}

int gpv_share_add_vgpu(struct gpv_share_gpu *g, unsigned vendor, const char *id, const char *name,
	double percent)
{
	return add_type(&g->vgpu, &g->n_vgpu, id, name, percent, percent > 0 ? fit(percent) : 0,
		0, vgpu_rules(vendor));
}

/* "NVIDIA A100-4C" -> 4: the framebuffer (GB) in a time-sliced vGPU type's name. A
 * MIG-backed type ("A100-1-5C") or a name without the size gives -1. */
static long vgpu_framebuffer(const char *name)
{
	const char *dash = strrchr(name, '-'), *p, *prev;
	long fb = 0;

	if (!dash || !(dash[1] >= '0' && dash[1] <= '9'))
		return -1;
	for (p = dash + 1; *p >= '0' && *p <= '9'; p++)
		if ((fb = fb * 10 + (*p - '0')) > 100000)
			return -1;
	if (!(*p >= 'A' && *p <= 'Z') || p[1] != '\0')
		return -1;
	for (prev = dash; prev > name && prev[-1] >= '0' && prev[-1] <= '9'; prev--)
		;
	if (prev < dash && prev > name && prev[-1] == '-')
		return -1; /* "-1-5C": MIG */
	return fb > 0 ? fb : -1;
}

static int add_vgpu_types(struct gpv_share_gpu *g, const struct gpv_pci_dev *d)
{
	long max_fb = 0;
	int r;

	/* A time-sliced vGPU of F GB on a board of B GB gets F / B of it: NVIDIA sizes these
	 * types so that B / F of them fit one GPU ("Virtual GPU Types for Supported GPUs" in the
	 * vGPU user guide). B is the largest type the board lists (the 1:1 type, e.g.
	 * A100-40C). */
	for (size_t i = 0; i < d->vgpu_types.n; i++) {
		const char *name = strstr(d->vgpu_types.v[i], " : ");
		long fb = name ? vgpu_framebuffer(name + 3) : -1;

		if (fb > max_fb)
			max_fb = fb;
	}
	for (size_t i = 0; i < d->vgpu_types.n; i++) {
		const char *entry = d->vgpu_types.v[i], *name = strstr(entry, " : ");
		long fb = name ? vgpu_framebuffer(name + 3) : -1;
		_cleanup_free_ char *id = NULL;

		if (fb <= 0) {
			gpv_debug("%s: vGPU type '%s' has no size in its name (MIG-backed?); not "
				  "offered",
				d->addr, entry);
			continue;
		}
		id = strndup(entry, (size_t)(name - entry));
		if (!id)
			return -ENOMEM;
		r = gpv_share_add_vgpu(g, d->vendor, id, name + 3, 100.0 * (double)fb / (double)max_fb);
		if (r < 0)
			return r;
	}
	return 0;
}

static char *blocked_why(const struct gpv_gpu *gg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (gg->bmc || gg->verdict == GPV_NOT_A_CANDIDATE)
		return strdup("it is the display of the server's management controller (BMC)");
	if (gg->verdict != GPV_BLOCKED)
		return NULL;
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fputs("precheck blocks it:", f);
	for (size_t i = 0, n = 0; i < gg->n_problems; i++)
		if (gg->problems[i].severity == GPV_BLOCKER)
			fprintf(f, "%s %s", n++ ? "," : "", gg->problems[i].code);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int gpv_share_inventory_new(const struct gpv_precheck *p, struct gpv_share_inventory **ret)
{
	struct gpv_share_inventory *inv = NULL;
	int r = gpv_share_inventory_new_empty(&inv);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct gpv_gpu *gg = &p->gpus[i];
		const struct gpv_pci_dev *d = gg->dev;
		_cleanup_free_ char *blocked = blocked_why(gg);
		struct gpv_share_gpu *g;

		if (!blocked && (gg->bmc || gg->verdict >= GPV_BLOCKED)) {
			r = -ENOMEM;
			goto fail;
		}
		r = gpv_share_add_gpu(inv, d->addr, blocked, &g);
		if (r < 0)
			goto fail;
		if (blocked)
			continue;
		if (d->sriov_total_vfs > 0) {
			int enabled = d->sriov_num_vfs > 0 ? d->sriov_num_vfs : 0;
			gpv_strv free_vfs = {};

			/* A VF is free when nothing took it: no driver, or the PF's own
			 * (which drives VFs it has not given away). Another driver (vfio-pci)
			 * means a VM has it or is about to; so does an NVIDIA vGPU VF that
			 * holds a type (current_vgpu_type), though it stays on nvidia. */
			for (size_t v = 0; v < d->vfs.n && r >= 0; v++) {
				const struct gpv_pci_dev *vf = gpv_pci_find(p->pci, d->vfs.v[v]);

				if (vf && (!vf->driver || streq(vf->driver, d->driver)) &&
					vf->vgpu_current <= 0)
					r = gpv_strv_push(&free_vfs, vf->addr);
			}
			if (enabled > 0 && d->vfs.n > 0 && (size_t)enabled != d->vfs.n)
				gpv_debug("%s: sriov_numvfs %d but %zu virtfn links", d->addr,
					enabled, d->vfs.n);
			if (enabled > 0 && free_vfs.n > (size_t)enabled)
				enabled = (int)free_vfs.n;
			if (r >= 0)
				r = gpv_share_add_vfs(g, d->sriov_total_vfs > enabled
							      ? d->sriov_total_vfs : enabled,
					enabled, (const char *const *)free_vfs.v, free_vfs.n);
			gpv_strv_clear(&free_vfs);
			if (r < 0)
				goto fail;
		}
		for (size_t t = 0; t < d->n_mdev_types; t++) {
			const struct gpv_mdev_type *mt = &d->mdev_types[t];

			if (mt->share_percent <= 0) {
				gpv_debug("%s: mdev type %s: its share is unknown; not offered",
					d->addr, mt->id);
				continue;
			}
			r = gpv_share_add_mdev(g, mt->id, mt->name, mt->share_percent,
				mt->available_instances, mt->instances);
			if (r < 0)
				goto fail;
		}
		if (d->nvidia_vgpu && (r = add_vgpu_types(g, d)) < 0)
			goto fail;
	}
	*ret = inv;
	return 0;
fail:
	gpv_share_inventory_free(inv);
	return r;
}

void gpv_share_result_clear(struct gpv_share_result *r)
{
	free(r->partition);
	free(r->why);
	*r = (struct gpv_share_result){0};
}

/* Instances of an mdev type still free on its GPU. */
static long mdev_free(const struct gpv_share_gpu *g, const struct gpv_share_type *t)
{
	long n = t->available - t->taken;

	/* GVT-g's available_instances is what is left of the GPU's pool (graphics memory,
	 * fences) divided by what one instance of the type takes: when a fraction of what
	 * was left is taken, each type keeps that fraction of its count. */
	if (t->rules & GPV_SHARE_POOL) {
		double left = (1.0 - g->pool_used) * (double)t->available + 1e-6;
		long pool = left > 0 ? (long)left : 0;

		if (pool < n)
			n = pool;
	}
	return n;
}

/* VFs a vGPU can still go on: the free enabled ones, or the ones still to enable. */
static long vgpu_slots(const struct gpv_share_gpu *g)
{
	return (g->vfs_enabled > 0 ? (long)g->free_vfs.n : g->vfs_total) - g->vfs_taken;
}

static bool alive(const struct gpv_share_gpu *g, const struct entry *e)
{
	if (g->whole_taken)
		return false;
	if (e->kind == GPV_SHARE_WHOLE)
		return g->part_kind < 0;
	if (g->part_kind >= 0 && g->part_kind != e->kind)
		return false;
	switch (e->kind) {
	case GPV_SHARE_VF:
		if (g->vfs_enabled > 0)
			return (long)g->free_vfs.n - g->vfs_taken > 0;
		if (g->vfs_chosen && g->vfs_chosen != e->k)
			return false;
		return e->k - g->vfs_taken > 0;
	case GPV_SHARE_MDEV: {
		const struct gpv_share_type *t = &g->mdev[e->k];

		if (g->locked_mdev >= 0 && g->locked_mdev != e->k &&
			((t->rules | g->mdev[g->locked_mdev].rules) & GPV_SHARE_ONE_TYPE))
			return false;
		return mdev_free(g, t) > 0;
	}
	default: {
		const struct gpv_share_type *t = &g->vgpu[e->k];

		if (g->locked_vgpu >= 0 && g->locked_vgpu != e->k && (t->rules & GPV_SHARE_ONE_TYPE))
			return false;
		return vgpu_slots(g) > 0 && t->available - t->taken > 0;
	}
	}
}

/* Ways a GPU can be partitioned: whole GPUs with fewer go first, keeping the others for
 * shares. */
static size_t n_partitions(const struct gpv_share_gpu *g)
{
	return (g->vfs_total > 0 && g->n_vgpu == 0 ? 1 : 0) + g->n_mdev + g->n_vgpu;
}

/* Kinds in order of preference at equal size: whole, then hardware isolation (VF), then
 * vGPU, then mdev. */
static int kind_rank(int kind)
{
	static const int rank[] = {0, 1, 3, 2};

	return rank[kind];
}

static int cmp_entry(const void *a, const void *b, void *data)
{
	const struct gpv_share_inventory *inv = data;
	const struct entry *x = a, *y = b;
	long kx = key_of(x->percent), ky = key_of(y->percent);

	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->kind != y->kind)
		return kind_rank(x->kind) - kind_rank(y->kind);
	if (x->kind == GPV_SHARE_WHOLE) {
		size_t px = n_partitions(&inv->gpus[x->gpu]);
		size_t py = n_partitions(&inv->gpus[y->gpu]);

		if (px != py)
			return px < py ? -1 : 1;
	}
	if (x->gpu != y->gpu)
		return x->gpu < y->gpu ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* What the GPU holds when read: partitions in use fix how it is partitioned. */
static void init_state(struct gpv_share_gpu *g)
{
	if (g->part_kind >= 0 || g->whole_taken)
		return;
	if (g->vfs_enabled > 0)
		g->part_kind = g->n_vgpu ? GPV_SHARE_VGPU : GPV_SHARE_VF;
	for (size_t t = 0; t < g->n_mdev; t++)
		if (g->mdev[t].in_use > 0) {
			g->part_kind = GPV_SHARE_MDEV;
			if (g->mdev[t].rules & GPV_SHARE_ONE_TYPE)
				g->locked_mdev = (int)t;
		}
}

static int push_hot(struct bucket *b, const struct entry *e)
{
	if (b->n_hot == b->cap_hot) {
		size_t cap = b->cap_hot ? b->cap_hot * 2 : 8;
		struct entry *n = realloc(b->hot, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->hot = n;
		b->cap_hot = cap;
	}
	b->hot[b->n_hot++] = *e;
	return 0;
}

static int add_entry(struct entry **v, size_t *n, size_t *cap, uint32_t gpu, int kind, int k,
	double percent)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		struct entry *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct entry){.gpu = gpu, .kind = (uint8_t)kind, .k = k, .percent = percent};
	return 0;
}

static int index_build(struct gpv_share_inventory *inv)
{
	struct gpv_share_index *ix = calloc(1, sizeof(*ix));
	size_t cap = 0;
	int r = 0;

	if (!ix)
		return -ENOMEM;
	if (inv->n > UINT32_MAX) {
		free(ix);
		return -E2BIG;
	}
	for (size_t i = 0; i < inv->n && r >= 0; i++) {
		struct gpv_share_gpu *g = &inv->gpus[i];
		uint32_t gi = (uint32_t)i;

		if (g->blocked)
			continue;
		init_state(g);
		r = add_entry(&ix->all, &ix->n_all, &cap, gi, GPV_SHARE_WHOLE, 0, 100.0);
		if (g->vfs_total > 0 && g->n_vgpu == 0) {
			if (g->vfs_enabled > 0)
				r = r < 0 ? r : add_entry(&ix->all, &ix->n_all, &cap, gi,
					GPV_SHARE_VF, g->vfs_enabled, 100.0 / g->vfs_enabled);
			else
				for (int n = 1; n <= g->vfs_total && r >= 0; n++)
					r = add_entry(&ix->all, &ix->n_all, &cap, gi, GPV_SHARE_VF,
						n, 100.0 / n);
		}
		for (size_t t = 0; t < g->n_mdev && r >= 0; t++)
			r = add_entry(&ix->all, &ix->n_all, &cap, gi, GPV_SHARE_MDEV, (int)t,
				g->mdev[t].percent);
		for (size_t t = 0; t < g->n_vgpu && r >= 0; t++)
			r = add_entry(&ix->all, &ix->n_all, &cap, gi, GPV_SHARE_VGPU, (int)t,
				g->vgpu[t].percent);
	}
	if (r < 0)
		goto fail;
	/* Options already gone when read are not offered at all. */
	{
		size_t k = 0;

		for (size_t i = 0; i < ix->n_all; i++)
			if (alive(&inv->gpus[ix->all[i].gpu], &ix->all[i]))
				ix->all[k++] = ix->all[i];
		ix->n_all = k;
	}
	if (ix->n_all) /* qsort_r wants a base even for nothing */
		qsort_r(ix->all, ix->n_all, sizeof(*ix->all), cmp_entry, inv);

	ix->b = calloc(ix->n_all ? ix->n_all : 1, sizeof(*ix->b));
	ix->by_gpu = calloc(ix->n_all ? ix->n_all : 1, sizeof(*ix->by_gpu));
	ix->gpu_first = calloc(inv->n + 1, sizeof(*ix->gpu_first));
	if (!ix->b || !ix->by_gpu || !ix->gpu_first) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < ix->n_all; i++) {
		struct entry *e = &ix->all[i];
		long key = key_of(e->percent);

		if (ix->n_b == 0 || ix->b[ix->n_b - 1].key != key)
			ix->b[ix->n_b++] = (struct bucket){
				.key = key, .percent = e->percent, .cold = e};
		e->bucket = (uint32_t)(ix->n_b - 1);
		ix->b[ix->n_b - 1].n_cold++;
		ix->gpu_first[e->gpu + 1]++;
	}
	for (size_t g = 0; g < inv->n; g++)
		ix->gpu_first[g + 1] += ix->gpu_first[g];
	{
		_cleanup_free_ size_t *fill = calloc(inv->n + 1, sizeof(*fill));

		if (!fill) {
			r = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < ix->n_all; i++) {
			uint32_t g = ix->all[i].gpu;

			ix->by_gpu[ix->gpu_first[g] + fill[g]++] = i;
		}
	}
	/* GPUs partitioned when read: their options are hot from the start. Pushed from the
	 * last so that the first address ends on top. */
	for (size_t i = ix->n_all; i-- > 0;) {
		const struct entry *e = &ix->all[i];

		if (inv->gpus[e->gpu].part_kind >= 0 && (r = push_hot(&ix->b[e->bucket], e)) < 0)
			goto fail;
	}
	inv->index = ix;
	return 0;
fail:
	index_free(ix);
	return r;
}

/* The entry to take in a bucket, dropping the dead ones met on the way; NULL when none. */
static const struct entry *bucket_pick(struct gpv_share_inventory *inv, struct bucket *b,
	bool *ret_hot)
{
	while (b->n_hot > 0) {
		const struct entry *e = &b->hot[b->n_hot - 1];

		if (alive(&inv->gpus[e->gpu], e)) {
			*ret_hot = true;
			return e;
		}
		b->n_hot--;
	}
	for (; b->cur < b->n_cold; b->cur++) {
		const struct entry *e = &b->cold[b->cur];
		const struct gpv_share_gpu *g = &inv->gpus[e->gpu];

		/* A partitioned GPU's options moved to the hot stacks. */
		if (g->part_kind < 0 && alive(g, e)) {
			*ret_hot = false;
			return e;
		}
	}
	return NULL;
}

static int describe(const struct gpv_share_gpu *g, const struct entry *e, bool hot,
	double asked, struct gpv_share_result *res)
{
	char a[16];
	_cleanup_free_ char *what = NULL, *extra = NULL;

	gpv_share_percent_str(asked, a);
	switch (e->kind) {
	case GPV_SHARE_WHOLE:
		res->partition = strdup("");
		what = strdup("the whole GPU");
		extra = n_partitions(g) == 0
				? gpv_strf("; it offers no partitions")
				: gpv_strf("; GPUs with fewer ways to partition are given whole first");
		break;
	case GPV_SHARE_VF:
		if (g->vfs_enabled > 0) {
			res->partition = strdup(g->free_vfs.v[g->vfs_taken]);
			what = gpv_strf("a VF (%ld of the %d enabled free)",
				(long)g->free_vfs.n - g->vfs_taken, g->vfs_enabled);
		} else {
			res->partition = gpv_strf("VF to enable: sriov_numvfs %d", e->k);
			what = gpv_strf("VF %d of the %d to enable (of %d possible)",
				g->vfs_taken + 1, e->k, g->vfs_total);
		}
		break;
	case GPV_SHARE_MDEV: {
		const struct gpv_share_type *t = &g->mdev[e->k];

		res->partition = strdup(t->id);
		what = gpv_strf("an instance of mdev type %s (%ld free)", t->id,
			mdev_free(g, t));
		if (t->rules & GPV_SHARE_ONE_TYPE)
			extra = gpv_strf("; from now on this GPU takes only type %s (one type per "
					 "GPU)",
				t->id);
		else if (t->rules & GPV_SHARE_POOL)
			extra = gpv_strf("; the GPU's other types lose what this takes (one pool)");
		break;
	}
	default: {
		const struct gpv_share_type *t = &g->vgpu[e->k];

		res->partition = strdup(t->id);
		if (g->vfs_enabled > 0)
			what = gpv_strf("vGPU type %s (%s) on VF %s", t->id,
				t->name ? t->name : "?", g->free_vfs.v[g->vfs_taken]);
		else
			what = gpv_strf("vGPU type %s (%s) on a VF to enable (sriov_numvfs %d)",
				t->id, t->name ? t->name : "?", g->vfs_total);
		if (t->rules & GPV_SHARE_ONE_TYPE)
			extra = gpv_strf("; from now on this GPU takes only vGPU type %s (one type "
					 "per GPU)",
				t->id);
		break;
	}
	}
	if (!what || !res->partition)
		return -ENOMEM;
	res->why = gpv_strf("%s: the smallest free slice of at least %s%%%s%s", what, a,
		e->kind == GPV_SHARE_WHOLE ? ""
		: hot			  ? ", on a GPU already partitioned"
					  : "; no partitioned GPU has one free, so this starts "
					    "partitioning a GPU",
		extra ? extra : "");
	return res->why ? 0 : -ENOMEM;
}

static int take(struct gpv_share_inventory *inv, const struct entry *e)
{
	struct gpv_share_gpu *g = &inv->gpus[e->gpu];
	struct gpv_share_index *ix = inv->index;
	bool was_partitioned = g->part_kind >= 0;
	int r;

	ix->gen++;

	switch (e->kind) {
	case GPV_SHARE_WHOLE:
		g->whole_taken = true;
		return 0;
	case GPV_SHARE_VF:
		if (g->vfs_enabled == 0)
			g->vfs_chosen = e->k;
		g->vfs_taken++;
		break;
	case GPV_SHARE_MDEV:
		g->mdev[e->k].taken++;
		if (g->mdev[e->k].rules & GPV_SHARE_POOL)
			g->pool_used += 1.0 / (double)g->mdev[e->k].available;
		if (g->mdev[e->k].rules & GPV_SHARE_ONE_TYPE)
			g->locked_mdev = e->k;
		break;
	default:
		g->vgpu[e->k].taken++;
		g->vfs_taken++;
		if (g->vgpu[e->k].rules & GPV_SHARE_ONE_TYPE)
			g->locked_vgpu = e->k;
		break;
	}
	g->part_kind = e->kind;
	if (was_partitioned)
		return 0;
	/* Newly partitioned: its options go on the hot stacks, the one just used on top. */
	for (size_t i = ix->gpu_first[e->gpu]; i < ix->gpu_first[e->gpu + 1]; i++) {
		const struct entry *o = &ix->all[ix->by_gpu[i]];

		if (!(o->kind == e->kind && o->k == e->k) && alive(g, o) &&
			(r = push_hot(&ix->b[o->bucket], o)) < 0)
			return r;
	}
	if (alive(g, e))
		return push_hot(&ix->b[e->bucket], e);
	return 0;
}

static bool percent_ok(double percent)
{
	return percent > 0.0 && percent <= 100.0; /* false for NaN */
}

/* The first bucket at least as large as percent. */
static size_t lower_bound(const struct gpv_share_index *ix, double percent)
{
	long key = key_of(percent);
	size_t lo = 0, hi = ix->n_b;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->b[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int gpv_share_allocate(struct gpv_share_inventory *inv, double percent,
	struct gpv_share_result *ret)
{
	struct gpv_share_result res = {0};
	const struct entry *e = NULL;
	struct entry chosen;
	bool hot = false;
	int r;

	if (!percent_ok(percent))
		return -EINVAL;
	if (!inv->index && (r = index_build(inv)) < 0)
		return r;
	for (size_t b = lower_bound(inv->index, percent); b < inv->index->n_b && !e; b++)
		e = bucket_pick(inv, &inv->index->b[b], &hot);
	if (!e)
		return -ENOSPC;
	chosen = *e; /* take() may move the hot stack */
	res.gpu = chosen.gpu;
	res.kind = chosen.kind;
	res.percent = chosen.percent;
	r = describe(&inv->gpus[chosen.gpu], &chosen, hot, percent, &res);
	if (r < 0 || (r = take(inv, &chosen)) < 0) {
		gpv_share_result_clear(&res);
		return r;
	}
	*ret = res;
	return 0;
}

static void print_list(FILE *f, const struct gpv_share_index *ix, bool only_free,
	struct gpv_share_inventory *inv)
{
	bool first = true;
	char buf[16];

	for (size_t i = ix->n_b; i-- > 0;) {
		bool hot;

		if (only_free && !bucket_pick(inv, &ix->b[i], &hot))
			continue;
		fprintf(f, "%s%s", first ? "" : ", ", gpv_share_percent_str(ix->b[i].percent, buf));
		first = false;
	}
	if (first)
		fputs("none", f);
}

int gpv_share_offered(struct gpv_share_inventory *inv, double **ret, size_t *ret_n)
{
	double *v;
	int r;

	if (!inv->index && (r = index_build(inv)) < 0)
		return r;
	v = calloc(inv->index->n_b ? inv->index->n_b : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < inv->index->n_b; i++)
		v[i] = inv->index->b[inv->index->n_b - 1 - i].percent;
	*ret = v;
	*ret_n = inv->index->n_b;
	return 0;
}

/* Everything of the message but the request's percent: the same for every request refused
 * until a request is met, so it is kept until then (a full host refuses thousands). */
static int no_fit_tail(struct gpv_share_inventory *inv, char **ret)
{
	struct gpv_share_index *ix = inv->index;
	char *out = NULL;
	size_t len = 0, n_blocked = 0;
	FILE *f;

	if (ix->no_fit && ix->no_fit_gen == ix->gen) {
		*ret = ix->no_fit;
		return 0;
	}
	f = open_memstream(&out, &len);
	if (!f)
		return -ENOMEM;
	if (ix->n_b > 0) {
		fputs(": this host can give ", f);
		print_list(f, ix, false, inv);
		fputs(" (percent of one GPU); still free: ", f);
		print_list(f, ix, true, inv);
	}
	for (size_t i = 0; i < inv->n; i++) {
		if (!inv->gpus[i].blocked)
			continue;
		if (n_blocked++ < 3)
			fprintf(f, "; '%s' offers nothing: %s", inv->gpus[i].addr,
				inv->gpus[i].blocked);
	}
	if (n_blocked > 3)
		fprintf(f, "; %zu more GPUs offer nothing", n_blocked - 3);
	if (fclose(f) != 0) {
		free(out);
		return -ENOMEM;
	}
	free(ix->no_fit);
	ix->no_fit = out;
	ix->no_fit_gen = ix->gen;
	*ret = out;
	return 0;
}

int gpv_share_no_fit(struct gpv_share_inventory *inv, double percent, char **ret)
{
	char a[16], *tail, *out;
	int r;

	if (!inv->index && (r = index_build(inv)) < 0)
		return r;
	r = no_fit_tail(inv, &tail);
	if (r < 0)
		return r;
	if (inv->index->n_b == 0)
		out = gpv_strf("no GPU of this host can give a share%s", tail);
	else
		out = gpv_strf("no free slice of at least %s%%%s", gpv_share_percent_str(percent, a),
			tail);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}
