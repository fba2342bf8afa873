/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small TAP test runner in the spirit of kmod's testsuite: tests are declared with TEST(),
 * gathered through a linker section, and each runs in a forked child so that a crash or a
 * failed check ends that test alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct gpv_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(n)                                                                                    \
	static void n(void);                                                                       \
	static const struct gpv_test n##_desc                                                      \
		__attribute__((used, section("gpv_tests"), aligned(sizeof(void *)))) = {#n, n};    \
	static void n(void)

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			fflush(stdout);                                                            \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

#define check_streq(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			printf("# %s:%d: '%s' != '%s' (%s vs %s)\n", __FILE__, __LINE__,           \
				_a ? _a : "(null)", _b ? _b : "(null)", #a, #b);                   \
			fflush(stdout);                                                            \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

#define check_int(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                    \
			printf("# %s:%d: %lld != %lld (%s vs %s)\n", __FILE__, __LINE__, _a, _b,   \
				#a, #b);                                                           \
			fflush(stdout);                                                            \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

/* Ends the test as skipped (TAP "# SKIP"), saying why: for a test that needs a tool the machine
 * lacks. */
#define GPV_TEST_SKIP 77
#define skip(...)                                                                                  \
	do {                                                                                       \
		printf("# skipped: ");                                                             \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		fflush(stdout);                                                                    \
		_exit(GPV_TEST_SKIP);                                                              \
	} while (0)

extern const struct gpv_test __start_gpv_tests[], __stop_gpv_tests[];

int main(void)
{
	const struct gpv_test *t;
	int n = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", (int)(__stop_gpv_tests - __start_gpv_tests));
	for (t = __start_gpv_tests; t < __stop_gpv_tests; t++) {
		int status = 0;
		pid_t pid;

		n++;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			t->fn();
			/* exit(), not _exit(): LeakSanitizer checks the child on the way out. */
			exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			printf("not ok %d - %s # cannot fork: %s\n", n, t->name, strerror(errno));
			failed++;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %d - %s\n", n, t->name);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == GPV_TEST_SKIP) {
			printf("ok %d - %s # SKIP\n", n, t->name);
		} else {
			printf("not ok %d - %s%s\n", n, t->name,
				WIFSIGNALED(status) ? " # crashed" : "");
			failed++;
		}
	}
	return failed ? 1 : 0;
}
