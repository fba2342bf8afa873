/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/hash.c: XXH3-128 of buffers and files, against known digests and `xxhsum -H2`. */
#include "lib/hash.h"
#include "lib/util.h"
#include "tests/unit/spawn.h"
#include "tests/unit/tree.h"

/* Digests `xxhsum -H2` (xxHash 0.8.1) prints for "" and "a". */
#define EMPTY_HEX "99aa06d3014798d86001c324468d497f"
#define A_HEX "a96faf705af16834e6c632b61e964e1f"

static void hex_of_buf(const void *buf, size_t len, char out[static GPV_HASH_HEX_LEN])
{
	uint8_t h[GPV_HASH_LEN];

	check_int(gpv_hash_buf(buf, len, h), 0);
	gpv_hash_hex(h, out);
}

static void hex_of_file(const char *path, char out[static GPV_HASH_HEX_LEN])
{
	uint8_t h[GPV_HASH_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	check(fd >= 0);
	check_int(gpv_hash_fd(fd, h), 0);
	close(fd);
	gpv_hash_hex(h, out);
}

TEST(known_digests)
{
	char hex[GPV_HASH_HEX_LEN];

	hex_of_buf("", 0, hex);
	check_streq(hex, EMPTY_HEX);
	hex_of_buf(NULL, 0, hex);
	check_streq(hex, EMPTY_HEX);
	hex_of_buf("a", 1, hex);
	check_streq(hex, A_HEX);
}

TEST(hex_round_trip)
{
	uint8_t h[GPV_HASH_LEN], back[GPV_HASH_LEN];
	char hex[GPV_HASH_HEX_LEN];

	check_int(gpv_hash_buf("a", 1, h), 0);
	gpv_hash_hex(h, hex);
	check_int(gpv_hash_from_hex(hex, back), 0);
	check(memcmp(h, back, sizeof(h)) == 0);
	check_int(gpv_hash_from_hex("A96FAF705AF16834E6C632B61E964E1F", back), 0);
	check(memcmp(h, back, sizeof(h)) == 0);
	check_int(back[0], 0xa9);
	check_int(back[15], 0x1f);
}

TEST(bad_hex_is_refused)
{
	uint8_t h[GPV_HASH_LEN], before[GPV_HASH_LEN];
	static const char *const bad[] = {
		"", "a96faf705af16834e6c632b61e964e1", /* 31 digits */
		"a96faf705af16834e6c632b61e964e1f0",   /* 33 */
		"a96faf705af16834e6c632b61e964e1g",    /* not hex */
		"a96faf705af16834e6c632b61e964e1f ",   /* trailing space */
		" a96faf705af16834e6c632b61e964e1f",   /* leading space */
		"0xa96faf705af16834e6c632b61e964e",    /* prefix */
		"a96faf705af16834-6c632b61e964e1f0",   /* sign */
	};

	memset(h, 0x55, sizeof(h));
	memcpy(before, h, sizeof(h));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		check_int(gpv_hash_from_hex(bad[i], h), -EINVAL);
	check_int(gpv_hash_from_hex(NULL, h), -EINVAL);
	check(memcmp(h, before, sizeof(h)) == 0);
}

TEST(fd_hash_reads_from_start_and_keeps_offset)
{
	char *t = tree_new(), path[4096], hex[GPV_HASH_HEX_LEN];
	uint8_t h[GPV_HASH_LEN];
	int fd;

	snprintf(path, sizeof(path), "%s/f", t);
	tree_file(t, "f", "a");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	check(fd >= 0);
	check(lseek(fd, 1, SEEK_SET) == 1);
	check_int(gpv_hash_fd(fd, h), 0);
	gpv_hash_hex(h, hex);
	check_streq(hex, A_HEX);
	check(lseek(fd, 0, SEEK_CUR) == 1);
	close(fd);

	fd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check(fd >= 0);
	check_int(gpv_hash_fd(fd, h), -EISDIR);
	close(fd);
	check_int(gpv_hash_fd(-1, h), -EBADF);
	tree_free(t);
}

/* Files of 0, 1 and 3 MiB + 7 bytes (more than one read, the last one short). */
static char *make_files(void)
{
	char *t = tree_new(), path[4096];
	size_t big = 3 * 1024 * 1024 + 7;
	char *buf = malloc(big);
	FILE *f;

	check(buf != NULL);
	for (size_t i = 0; i < big; i++)
		buf[i] = (char)(i * 2654435761u >> 24);
	tree_file(t, "empty", "%s", "");
	tree_file(t, "one", "x");
	snprintf(path, sizeof(path), "%s/big", t);
	f = fopen(path, "wb");
	check(f != NULL);
	check(fwrite(buf, 1, big, f) == big);
	check(fclose(f) == 0);
	free(buf);
	return t;
}

static const char *const files[] = {"empty", "one", "big"};

TEST(fd_and_buf_agree)
{
	char *t = make_files(), path[4096], a[GPV_HASH_HEX_LEN], b[GPV_HASH_HEX_LEN];

	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		size_t len;
		char *buf;

		snprintf(path, sizeof(path), "%s/%s", t, files[i]);
		buf = file_slurp(path, &len);
		hex_of_buf(buf, len, a);
		hex_of_file(path, b);
		check_streq(a, b);
		free(buf);
	}
	tree_free(t);
}

TEST(matches_xxhsum)
{
	char *xxhsum = tool_find("xxhsum"), *t, path[4096], out[4096], hex[GPV_HASH_HEX_LEN];

	if (!xxhsum)
		skip("xxhsum not found (Debian package xxhash)");
	t = make_files();
	snprintf(out, sizeof(out), "%s/xxhsum.out", t);
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		const char *argv[] = {xxhsum, "-H2", path, NULL};
		char *text;

		snprintf(path, sizeof(path), "%s/%s", t, files[i]);
		check_int(tool_run(argv, out), 0);
		/* "<32 hex digits>  <path>\n" */
		text = file_slurp(out, NULL);
		check(strlen(text) > 2 * GPV_HASH_LEN && text[2 * GPV_HASH_LEN] == ' ');
		text[2 * GPV_HASH_LEN] = '\0';
		hex_of_file(path, hex);
		printf("# %s: %s\n", files[i], hex);
		check_streq(hex, text);
		free(text);
	}
	tree_free(t);
	free(xxhsum);
}
