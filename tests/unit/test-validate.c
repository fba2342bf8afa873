/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lib/util.h"
#include "templates/validate.h"
#include "tests/unit/tap.h"

/* The rule refuses input with -EINVAL and a message holding each of the needles. */
#define check_refused(call, ...)                                                                   \
	do {                                                                                       \
		char *why = NULL;                                                                  \
		const char *needles[] = {__VA_ARGS__};                                             \
		int _r = (call);                                                                   \
		if (_r != -EINVAL || !why) {                                                       \
			printf("# %s:%d: %s returned %d, why %s\n", __FILE__, __LINE__, #call, _r, \
				why ? why : "(null)");                                             \
			_exit(1);                                                                  \
		}                                                                                  \
		for (size_t _i = 0; _i < ELEMENTSOF(needles); _i++)                                \
			if (!strstr(why, needles[_i])) {                                           \
				printf("# %s:%d: '%s' lacks '%s'\n", __FILE__, __LINE__, why,      \
					needles[_i]);                                              \
				_exit(1);                                                          \
			}                                                                          \
		check(!strchr(why, '\n'));                                                         \
		free(why);                                                                         \
	} while (0)

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	check(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

TEST(utf8)
{
	check(gpv_valid_utf8(""));
	check(gpv_valid_utf8("plain"));
	check(gpv_valid_utf8("Gr\xc3\xbc\xc3\x9f\x65 \xe2\x82\xac \xf0\x9f\x98\x80"));
	check(!gpv_valid_utf8("\xff"));
	check(!gpv_valid_utf8("\xc3"));		    /* cut short */
	check(!gpv_valid_utf8("\xc0\x80"));	    /* overlong NUL */
	check(!gpv_valid_utf8("\xe0\x80\xaf"));	    /* overlong '/' */
	check(!gpv_valid_utf8("\xed\xa0\x80"));	    /* surrogate */
	check(!gpv_valid_utf8("\xf4\x90\x80\x80")); /* past U+10FFFF */
	check(!gpv_valid_utf8("a\x80"));
}

TEST(domain_name_good)
{
	_cleanup_free_ char *longest = repeat('v', GPV_DOMAIN_NAME_MAX);

	check_int(gpv_valid_domain_name("win11", NULL), 0);
	check_int(gpv_valid_domain_name("my gaming vm (GPU)", NULL), 0);
	check_int(gpv_valid_domain_name("d\xc3\xa9j\xc3\xa0-vu_2:\"x\"<&>", NULL), 0);
	check_int(gpv_valid_domain_name(longest, NULL), 0);
}

TEST(domain_name_bad)
{
	_cleanup_free_ char *toolong = repeat('v', GPV_DOMAIN_NAME_MAX + 1);

	check_refused(gpv_valid_domain_name("", &why), "empty");
	check_refused(gpv_valid_domain_name(NULL, &why), "empty");
	check_refused(gpv_valid_domain_name("a/b", &why), "'a/b'", "'/'");
	/* the newline is shown escaped, the message stays one line */
	check_refused(gpv_valid_domain_name("a\nb", &why), "'a\\nb'", "control character");
	check_refused(gpv_valid_domain_name("a\tb", &why), "'a\\x09b'");
	check_refused(gpv_valid_domain_name(toolong, &why), "201 bytes", "...");
	check_refused(gpv_valid_domain_name("-rf", &why), "starts with '-'");
	check_refused(gpv_valid_domain_name("..", &why), "starts with '.'");
	check_refused(gpv_valid_domain_name("bad\xff", &why), "UTF-8");
	check_int(gpv_valid_domain_name("a/b", NULL), -EINVAL);
}

TEST(computer_name)
{
	check_int(gpv_valid_computer_name("WIN-GPU01", NULL), 0);
	check_int(gpv_valid_computer_name("a", NULL), 0);
	check_int(gpv_valid_computer_name("abcdefghij12345", NULL), 0);
	check_int(gpv_valid_computer_name("1st", NULL), 0);
	check_refused(
		gpv_valid_computer_name("abcdefghij123456", &why), "16 characters", "at most 15");
	check_refused(gpv_valid_computer_name("", &why), "empty");
	check_refused(gpv_valid_computer_name("12345", &why), "all digits");
	check_refused(gpv_valid_computer_name("-abc", &why), "hyphen");
	check_refused(gpv_valid_computer_name("abc-", &why), "hyphen");
	check_refused(gpv_valid_computer_name("a_b", &why), "'_'", "letters, digits and hyphens");
	check_refused(gpv_valid_computer_name("a.b", &why), "'.'");
	check_refused(gpv_valid_computer_name("a b", &why), "space");
	check_refused(gpv_valid_computer_name("\xc3\xa9t\xc3\xa9", &why), "non-ASCII");
}

TEST(hostname)
{
	_cleanup_free_ char *max = repeat('h', 63), *over = repeat('h', 64);

	check_int(gpv_valid_hostname("ubuntu-gpu", NULL), 0);
	check_int(gpv_valid_hostname(max, NULL), 0);
	check_refused(gpv_valid_hostname(over, &why), "64 characters", "at most 63");
	check_refused(gpv_valid_hostname("host.example.com", &why), "'.'");
	check_refused(gpv_valid_hostname("42", &why), "all digits");
}

TEST(user_name)
{
	_cleanup_free_ char *w20 = repeat('u', 20), *w21 = repeat('u', 21);
	_cleanup_free_ char *l32 = repeat('u', 32), *l33 = repeat('u', 33);

	check_int(gpv_valid_user_name("alice", "win11", GPV_GUEST_WINDOWS, NULL), 0);
	check_int(gpv_valid_user_name("Alice2", "win11", GPV_GUEST_WINDOWS, NULL), 0);
	check_int(gpv_valid_user_name("alice", NULL, GPV_GUEST_LINUX, NULL), 0);
	check_int(gpv_valid_user_name(w20, "vm", GPV_GUEST_WINDOWS, NULL), 0);
	check_int(gpv_valid_user_name(l32, "vm", GPV_GUEST_LINUX, NULL), 0);
	check_refused(gpv_valid_user_name(w21, "vm", GPV_GUEST_WINDOWS, &why), "at most 20");
	check_refused(gpv_valid_user_name(l33, "vm", GPV_GUEST_LINUX, &why), "at most 32");
	check_refused(gpv_valid_user_name("Alice", "vm", GPV_GUEST_LINUX, &why), "lower-case");
	check_refused(gpv_valid_user_name("", "vm", GPV_GUEST_LINUX, &why), "empty");
	check_refused(gpv_valid_user_name("1alice", "vm", GPV_GUEST_WINDOWS, &why),
		"starts with a digit");
	check_refused(gpv_valid_user_name("al-ice", "vm", GPV_GUEST_WINDOWS, &why),
		"only letters and digits");
	check_refused(gpv_valid_user_name("al ice", "vm", GPV_GUEST_WINDOWS, &why), "'al ice'");
	check_refused(gpv_valid_user_name("WIN11", "win11", GPV_GUEST_WINDOWS, &why), "'WIN11'",
		"guest's name");
	check_refused(gpv_valid_user_name("vm1", "vm1", GPV_GUEST_LINUX, &why), "guest's name");
	check_refused(gpv_valid_user_name("ADMINISTRATOR", "vm", GPV_GUEST_WINDOWS, &why),
		"built-in Windows account");
	check_refused(gpv_valid_user_name("guest", "vm", GPV_GUEST_WINDOWS, &why), "built-in");
	check_refused(
		gpv_valid_user_name("root", "vm", GPV_GUEST_LINUX, &why), "built-in Linux account");
	check_refused(gpv_valid_user_name("nobody", "vm", GPV_GUEST_LINUX, &why), "built-in");
	/* Linux's root is a fine Windows name, and Windows' built-ins fine Linux ones */
	check_int(gpv_valid_user_name("root", "vm", GPV_GUEST_WINDOWS, NULL), 0);
	check_int(gpv_valid_user_name("guest", "vm", GPV_GUEST_LINUX, NULL), 0);
}

TEST(size_good)
{
	uint64_t v = 0;

	check_int(gpv_parse_size("--disk", "64G", &v, NULL), 0);
	check(v == UINT64_C(64) << 30);
	check_int(gpv_parse_size("--memory", "512M", &v, NULL), 0);
	check(v == UINT64_C(512) << 20);
	check_int(gpv_parse_size("--disk", "1T", &v, NULL), 0);
	check(v == UINT64_C(1) << 40);
	check_int(gpv_parse_size("--memory", "1024K", &v, NULL), 0);
	check(v == UINT64_C(1) << 20);
	check_int(gpv_parse_size("--memory", "8g", &v, NULL), 0);
	check(v == UINT64_C(8) << 30);
	check_int(gpv_parse_size("--disk", "1536m", &v, NULL), 0);
	check(v == UINT64_C(1536) << 20);
	check_int(gpv_parse_size("--disk", "4096", &v, NULL), 0);
	check(v == 4096);
	check_int(gpv_parse_size("--disk", "007K", &v, NULL), 0);
	check(v == 7 * 1024);
	check_int(gpv_parse_size("--disk", "18446744073709551615", &v, NULL), 0);
	check(v == UINT64_MAX);
	check_int(gpv_parse_size("--disk", "16777215T", &v, NULL), 0);
	check(v == UINT64_C(16777215) << 40);
}

TEST(size_bad)
{
	uint64_t v = 42;

	check_refused(gpv_parse_size("--disk", "", &v, &why), "--disk", "empty");
	check_refused(gpv_parse_size("--disk", NULL, &v, &why), "empty");
	check_refused(gpv_parse_size("--disk", "0", &v, &why), "'0'", "zero");
	check_refused(gpv_parse_size("--disk", "0G", &v, &why), "zero");
	check_refused(gpv_parse_size("--disk", "-1", &v, &why), "'-1'", "not a size");
	check_refused(gpv_parse_size("--disk", "+1G", &v, &why), "not a size");
	check_refused(gpv_parse_size("--disk", " 1G", &v, &why), "not a size");
	check_refused(gpv_parse_size("--disk", "1G ", &v, &why), "suffix");
	check_refused(gpv_parse_size("--memory", "1.5G", &v, &why), "--memory", "'1.5G'", "1536M");
	check_refused(gpv_parse_size("--disk", "1GB", &v, &why), "suffix");
	check_refused(gpv_parse_size("--disk", "1P", &v, &why), "suffix");
	check_refused(gpv_parse_size("--disk", "G", &v, &why), "not a size");
	check_refused(gpv_parse_size("--disk", "0x10", &v, &why), "suffix");
	check_refused(gpv_parse_size("--disk", "18446744073709551616", &v, &why), "too large");
	check_refused(gpv_parse_size("--disk", "99999999999999999999999", &v, &why), "too large");
	check_refused(gpv_parse_size("--disk", "16777216T", &v, &why), "too large");
	check_refused(gpv_parse_size("--disk", "17179869184G", &v, &why), "too large");
	/* nothing written on failure */
	check(v == 42);
}

TEST(resources)
{
	const uint64_t g = UINT64_C(1) << 30;

	check_int(gpv_check_resources(8 * g, 4, 32 * g, 16, NULL), 0);
	check_int(gpv_check_resources(32 * g, 16, 32 * g, 16, NULL), 0);
	/* unknown host totals skip the check */
	check_int(gpv_check_resources(64 * g, 64, 0, 0, NULL), 0);
	check_refused(gpv_check_resources(8 * g, 0, 32 * g, 16, &why), "--cpus is 0");
	check_refused(
		gpv_check_resources(8 * g, 17, 32 * g, 16, &why), "--cpus 17", "16 logical CPUs");
	check_refused(
		gpv_check_resources(33 * g, 4, 32 * g, 16, &why), "--memory 33792M", "32768M");
	check_refused(gpv_check_resources(1000, 4, 32 * g, 16, &why), "at least 1M");
}
