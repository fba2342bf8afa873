/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks libxxhash. */
#include <errno.h>

#include <xxhash.h>

#include "lib/dl.h"
#include "lib/hash.h"
#include "lib/util.h"

/* Large enough that a driver's 100 MiB library costs a hundred reads, small enough for the
 * heap. */
#define HASH_CHUNK (1024 * 1024)

/* libxxhash is opened on first use (lib/dl.h): only drivers-sync hashes. The one-shot and
 * streaming functions are exported by libxxhash.so (xxhash.h inlines them only under
 * XXH_INLINE_ALL, which is not defined here). */
static GPV_DL_SYM(XXH3_createState);
static GPV_DL_SYM(XXH3_freeState);
static GPV_DL_SYM(XXH3_128bits);
static GPV_DL_SYM(XXH3_128bits_reset);
static GPV_DL_SYM(XXH3_128bits_update);
static GPV_DL_SYM(XXH3_128bits_digest);
static GPV_DL_SYM(XXH128_canonicalFromHash);
static int xxhash_state;

static int xxhash_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(XXH3_createState),
		GPV_DL_ENTRY(XXH3_freeState),
		GPV_DL_ENTRY(XXH3_128bits),
		GPV_DL_ENTRY(XXH3_128bits_reset),
		GPV_DL_ENTRY(XXH3_128bits_update),
		GPV_DL_ENTRY(XXH3_128bits_digest),
		GPV_DL_ENTRY(XXH128_canonicalFromHash),
	};

	return gpv_dl_open(GPV_LIBXXHASH_SONAME, syms, ELEMENTSOF(syms), &xxhash_state);
}

static void canonical(XXH128_hash_t h, uint8_t out[static GPV_HASH_LEN])
{
	XXH128_canonical_t c;

	sym_XXH128_canonicalFromHash(&c, h);
	memcpy(out, c.digest, GPV_HASH_LEN);
}

static void statep(XXH3_state_t **s)
{
	if (*s)
		sym_XXH3_freeState(*s);
}

int gpv_hash_fd(int fd, uint8_t out[static GPV_HASH_LEN])
{
	_cleanup_(statep) XXH3_state_t *state = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	off_t off = 0;
	int r = xxhash_open();

	if (r < 0)
		return r;
	if (fd < 0)
		return -EBADF;
	state = sym_XXH3_createState();
	buf = malloc(HASH_CHUNK);
	if (!state || !buf)
		return -ENOMEM;
	if (sym_XXH3_128bits_reset(state) != XXH_OK)
		return -EIO;
	for (;;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if (sym_XXH3_128bits_update(state, buf, (size_t)n) != XXH_OK)
			return -EIO;
		off += n;
	}
	canonical(sym_XXH3_128bits_digest(state), out);
	return 0;
}

int gpv_hash_buf(const void *buf, size_t len, uint8_t out[static GPV_HASH_LEN])
{
	int r = xxhash_open();

	if (r < 0)
		return r;
	if (!buf && len)
		return -EINVAL;
	canonical(sym_XXH3_128bits(buf, len), out);
	return 0;
}

void gpv_hash_hex(const uint8_t h[static GPV_HASH_LEN], char out[static GPV_HASH_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < GPV_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 0xf];
	}
	out[2 * GPV_HASH_LEN] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gpv_hash_from_hex(const char *s, uint8_t out[static GPV_HASH_LEN])
{
	uint8_t h[GPV_HASH_LEN];

	if (!s || strlen(s) != 2 * GPV_HASH_LEN)
		return -EINVAL;
	for (size_t i = 0; i < GPV_HASH_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		h[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, h, sizeof(h));
	return 0;
}
