/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runs the real tools a test compares against (ldconfig, xxhsum, cc), without a shell. */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/tap.h"

/* The full path of a program, searched in PATH and then in the sbin folders (where ldconfig
 * lives, and which a user's PATH may lack); NULL when there is none. The caller frees. */
static inline char *tool_find(const char *name)
{
	const char *env = getenv("PATH");
	char dirs[8192], path[8192];

	snprintf(dirs, sizeof(dirs), "%s:/usr/local/sbin:/usr/sbin:/sbin", env ? env : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
		d = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", d, name) >= sizeof(path))
			continue;
		if (access(path, X_OK) == 0)
			return strdup(path);
	}
	return NULL;
}

/* Runs argv (argv[0] a full path) with stdout to out (NULL: /dev/null), stdin and stderr on
 * /dev/null. Returns the exit status, or -1 when it did not exit. */
static inline int tool_run(const char *const argv[], const char *out)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : null;

		if (null < 0 || fd < 0)
			_exit(127);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	check(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A whole file, NUL-terminated; *len (may be NULL) without the NUL. The caller frees. */
static inline char *file_slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	check(fd >= 0);
	check(fstat(fd, &st) == 0);
	buf = malloc((size_t)st.st_size + 1);
	check(buf != NULL);
	check(read(fd, buf, (size_t)st.st_size) == st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (len)
		*len = (size_t)st.st_size;
	return buf;
}
