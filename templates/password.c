/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "templates/password.h"
#include "templates/validate.h"

void gpv_password_free(char *password)
{
	if (!password)
		return;
	explicit_bzero(password, strlen(password));
	free(password);
}


/*
 * Reads up to the first newline (standard input: the rest is left for whoever reads next, so
 * one byte at a time) or the whole file, into buf of GPV_PASSWORD_MAX + 2 bytes.
 */
static int read_line(int fd, bool one_line, char *buf, size_t *ret_len)
{
	size_t n = 0, size = GPV_PASSWORD_MAX + 2;

	while (n < size) {
		ssize_t k = read(fd, buf + n, one_line ? 1 : size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
		if (one_line && buf[n - 1] == '\n')
			break;
	}
	*ret_len = n;
	return 0;
}

int gpv_password_read(const char *path, char **ret, char **why)
{
	const bool in = streq(path, "-");
	const char *what = in ? "standard input" : path;
	char *buf = NULL;
	size_t n = 0;
	struct stat st;
	int fd = -1, r;

	if (!path || !*path)
		return gpv_why(why, -EINVAL,
			"no password file given: name a file or '-' for standard "
			"input");
	if (in) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return gpv_why(why, -errno, "cannot open the password file '%s': %s", path,
				strerror(errno));
		if (fstat(fd, &st) < 0) {
			r = gpv_why(why, -errno, "cannot read the password file '%s': %s", path,
				strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			r = gpv_why(why, -EINVAL,
				"the password file '%s' is not a regular file; put the "
				"password in a file of its own",
				path);
			goto out;
		}
		if (st.st_mode & (S_IRWXG | S_IRWXO)) {
			r = gpv_why(why, -EACCES,
				"the password file '%s' is open to other users (mode "
				"%04o); run chmod 600 '%s'",
				path, (unsigned)(st.st_mode & 07777), path);
			goto out;
		}
	}
	buf = malloc(GPV_PASSWORD_MAX + 3);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = read_line(fd, in, buf, &n);
	if (r < 0) {
		r = gpv_why(why, r, "cannot read the password from %s: %s", what, strerror(-r));
		goto out;
	}
	buf[n] = '\0';
	/* One line end is the file's, not the password's. */
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n > GPV_PASSWORD_MAX) {
		r = gpv_why(why, -E2BIG,
			"the password in %s is longer than %d bytes; choose a shorter "
			"one",
			what, GPV_PASSWORD_MAX);
		goto out;
	}
	if (n == 0) {
		r = gpv_why(why, -EINVAL, "the password in %s is empty; write the password on one line",
			what);
		goto out;
	}
	if (strlen(buf) != n || strchr(buf, '\n')) {
		r = gpv_why(why, -EINVAL,
			"the password in %s is more than one line (or holds a NUL "
			"byte); write it on one line",
			what);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
			r = gpv_why(why, -EINVAL,
				"the password in %s holds a control character, which "
				"the install files cannot carry; choose another",
				what);
			goto out;
		}
	if (!gpv_valid_utf8(buf)) {
		r = gpv_why(why, -EINVAL, "the password in %s is not valid UTF-8; write it in UTF-8",
			what);
		goto out;
	}
	*ret = TAKE_PTR(buf);
	r = 0;
out:
	if (buf) {
		explicit_bzero(buf, GPV_PASSWORD_MAX + 3);
		free(buf);
	}
	if (!in && fd >= 0)
		close(fd);
	return r;
}
