/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include <crypt.h>

#include "lib/crypt.h"
#include "lib/dl.h"
#include "lib/log.h"
#include "lib/util.h"

/* libcrypt is opened on first use (lib/dl.h): only a Linux guest's seed hashes a password. */
static GPV_DL_SYM(crypt_gensalt_rn);
static GPV_DL_SYM(crypt_rn);
static int crypt_state;

static int crypt_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(crypt_gensalt_rn),
		GPV_DL_ENTRY(crypt_rn),
	};

	return gpv_dl_open(GPV_LIBCRYPT_SONAME, syms, ELEMENTSOF(syms), &crypt_state);
}

/* crypt_data holds the password's derived state: wiped before it is freed. */
static void crypt_data_freep(struct crypt_data **d)
{
	if (*d) {
		explicit_bzero(*d, sizeof(**d));
		free(*d);
	}
}

/* Runs crypt_rn; on success *ret points into d->output. A failed hash starts with '*'. */
static int hash_with(
	const char *password, const char *setting, struct crypt_data *d, const char **ret)
{
	const char *h = sym_crypt_rn(password, setting, d, (int)sizeof(*d));

	if (!h || h[0] == '*')
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	*ret = h;
	return 0;
}

int gpv_crypt_sha512(const char *password, char **ret)
{
	_cleanup_(crypt_data_freep) struct crypt_data *d = NULL;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;
	char *copy;
	int r;

	if (!password || !*password)
		return -EINVAL;
	r = crypt_open();
	if (r < 0)
		return r;
	/* No random bytes passed: libxcrypt reads them from the kernel (getentropy). */
	if (!sym_crypt_gensalt_rn("$6$", 0, NULL, 0, salt, (int)sizeof(salt))) {
		gpv_debug("libcrypt: crypt_gensalt_rn(\"$6$\") failed: %s", strerror(errno));
		return errno == EINVAL ? -EOPNOTSUPP : -EIO;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = hash_with(password, salt, d, &h);
	if (r < 0)
		return r == -EINVAL ? -EIO : r;
	if (!startswith(h, "$6$"))
		return -EIO;
	copy = strdup(h);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

int gpv_crypt_verify(const char *password, const char *hash)
{
	_cleanup_(crypt_data_freep) struct crypt_data *d = NULL;
	unsigned char diff = 0;
	const char *h;
	size_t n;
	int r;

	if (!password || !hash || !*hash)
		return -EINVAL;
	r = crypt_open();
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = hash_with(password, hash, d, &h);
	if (r < 0)
		return r;
	n = strlen(h);
	/* Compare every byte, so the time taken says nothing about where they differ. */
	if (n != strlen(hash))
		return -EACCES;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(h[i] ^ hash[i]);
	return diff ? -EACCES : 0;
}
