/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "lib/util.h"
#include "templates/validate.h"

#define MIB (UINT64_C(1) << 20)

/* What a message shows of an input: at most 64 bytes, unprintable bytes escaped. */
static char *shown(const char *s)
{
	size_t n = strlen(s), max = n > 64 ? 64 : n, size = max * 4 + 4, o = 0;
	char *out = malloc(size);

	if (!out)
		return NULL;
	/* never cut a UTF-8 character in two */
	while (max > 0 && max < n && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			o += (size_t)snprintf(out + o, size - o, "\\n");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	snprintf(out + o, size - o, "%s", n > max ? "..." : "");
	return out;
}

int gpv_why(char **why, int r, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (!why)
		return r;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	*why = msg;
	return r;
}

#define refuse(why, ...) gpv_why(why, -EINVAL, __VA_ARGS__)

bool gpv_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates, past U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
			(cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int gpv_valid_domain_name(const char *name, char **why)
{
	_cleanup_free_ char *in = NULL;
	size_t n;

	if (!name || !*name)
		return refuse(why, "the domain name is empty: give the VM a name");
	in = shown(name);
	if (!in)
		return -ENOMEM;
	n = strlen(name);
	if (n > GPV_DOMAIN_NAME_MAX)
		return refuse(why,
			"the domain name '%s' is %zu bytes long: libvirt's files "
			"for it need it at most %d; choose a shorter name",
			in, n, GPV_DOMAIN_NAME_MAX);
	if (!gpv_valid_utf8(name))
		return refuse(why,
			"the domain name '%s' is not valid UTF-8; choose a name in "
			"UTF-8",
			in);
	if (has_control(name))
		return refuse(why,
			"the domain name '%s' holds a control character (such as a "
			"newline); choose a name without one",
			in);
	if (strchr(name, '/'))
		return refuse(why,
			"the domain name '%s' contains '/', which libvirt refuses; "
			"choose a name without '/'",
			in);
	if (name[0] == '-' || name[0] == '.')
		return refuse(why,
			"the domain name '%s' starts with '%c': virsh would read it "
			"as an option or a hidden file; start it with a letter or digit",
			in, name[0]);
	return 0;
}

/* RFC 1123 label of at most max bytes; what is "computer name" or "host name". */
static int valid_label(const char *name, size_t max, const char *what, const char *os, char **why)
{
	_cleanup_free_ char *in = NULL;
	bool digits = true;
	size_t n;

	if (!name || !*name)
		return refuse(why, "the %s is empty: give the %s guest a name", what, os);
	in = shown(name);
	if (!in)
		return -ENOMEM;
	n = strlen(name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-') {
			if (c < '0' || c > '9')
				digits = false;
			continue;
		}
		if (c > 0x20 && c < 0x7f)
			return refuse(why,
				"the %s '%s' holds '%c': %s allows only letters, "
				"digits and hyphens; choose another name",
				what, in, c, os);
		return refuse(why,
			"the %s '%s' holds a space, control or non-ASCII "
			"character: %s allows only letters, digits and hyphens; choose "
			"another name",
			what, in, os);
	}
	if (n > max)
		return refuse(why,
			"the %s '%s' is %zu characters long; %s allows at most "
			"%zu: choose a shorter name",
			what, in, n, os, max);
	if (digits)
		return refuse(why, "the %s '%s' is all digits, which %s refuses; add a letter",
			what, in, os);
	if (name[0] == '-' || name[n - 1] == '-')
		return refuse(why,
			"the %s '%s' starts or ends with a hyphen, which %s "
			"refuses; move or drop the hyphen",
			what, in, os);
	return 0;
}

int gpv_valid_computer_name(const char *name, char **why)
{
	return valid_label(name, 15, "computer name", "Windows", why);
}

int gpv_valid_hostname(const char *name, char **why)
{
	return valid_label(name, 63, "host name", "Linux", why);
}

static const char *const windows_builtin[] = {
	"administrator",
	"guest",
	"defaultaccount",
	"wdagutilityaccount",
	"system",
};
/* Debian's base-passwd accounts and the daemons of a cloud image. */
static const char *const linux_builtin[] = {
	"root",
	"daemon",
	"bin",
	"sys",
	"sync",
	"games",
	"man",
	"lp",
	"mail",
	"news",
	"uucp",
	"proxy",
	"backup",
	"list",
	"irc",
	"gnats",
	"nobody",
	"messagebus",
	"sshd",
	"syslog",
};

int gpv_valid_user_name(const char *user, const char *name, enum gpv_guest_os os, char **why)
{
	bool win = os == GPV_GUEST_WINDOWS;
	const char *osname = win ? "Windows" : "Linux";
	const char *const *builtin = win ? windows_builtin : linux_builtin;
	size_t nb = win ? ELEMENTSOF(windows_builtin) : ELEMENTSOF(linux_builtin);
	size_t max = win ? 20 : 32, n;
	_cleanup_free_ char *in = NULL;

	if (!user || !*user)
		return refuse(why, "the user name is empty: give the guest's user a name");
	in = shown(user);
	if (!in)
		return -ENOMEM;
	n = strlen(user);
	for (size_t i = 0; i < n; i++) {
		char c = user[i];
		bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
		bool digit = c >= '0' && c <= '9';

		if (!lower && !digit && !(upper && win))
			return refuse(why,
				"the user name '%s' may hold only %sletters and "
				"digits on %s; choose another",
				in, win ? "" : "lower-case ", osname);
		if (i == 0 && digit)
			return refuse(why,
				"the user name '%s' starts with a digit; start it "
				"with a letter",
				in);
	}
	if (n > max)
		return refuse(why,
			"the user name '%s' is %zu characters long; %s allows at "
			"most %zu: choose a shorter one",
			in, n, osname, max);
	if (name && strcasecmp(user, name) == 0)
		return refuse(why,
			"the user name '%s' is the guest's name too (ignoring case), "
			"which Windows cannot log on; choose a user name that differs "
			"from it",
			in);
	for (size_t i = 0; i < nb; i++)
		if (strcasecmp(user, builtin[i]) == 0)
			return refuse(why,
				"the user name '%s' is a built-in %s account; "
				"choose another name for the new user",
				in, osname);
	return 0;
}

int gpv_parse_size(const char *what, const char *s, uint64_t *ret, char **why)
{
	_cleanup_free_ char *in = NULL;
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p;

	if (!s || !*s)
		return refuse(why, "%s is empty: give a size such as 64G", what);
	in = shown(s);
	if (!in)
		return -ENOMEM;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return refuse(why, "%s '%s' is too large: sizes end at 16 EiB", what, in);
		v = v * 10 + d;
	}
	if (p == s)
		return refuse(why,
			"%s '%s' is not a size: give a whole number with an optional "
			"K, M, G or T suffix, such as 64G",
			what, in);
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		p++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		p++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		p++;
		break;
	case 't':
	case 'T':
		shift = 40;
		p++;
		break;
	default:
		break;
	}
	if (*p == '.' || *p == ',')
		return refuse(why,
			"%s '%s' is a fraction: give a whole number of a smaller "
			"unit (1536M, not 1.5G)",
			what, in);
	if (*p)
		return refuse(why,
			"%s '%s' has an unknown suffix: give a whole number with an "
			"optional K, M, G or T suffix (powers of 1024), such as 64G",
			what, in);
	if (v == 0)
		return refuse(why, "%s '%s' is zero: give a size such as 64G", what, in);
	if (shift && v > UINT64_MAX >> shift)
		return refuse(why, "%s '%s' is too large: sizes end at 16 EiB", what, in);
	*ret = v << shift;
	return 0;
}

int gpv_check_resources(
	uint64_t memory, unsigned vcpus, uint64_t host_memory, unsigned host_vcpus, char **why)
{
	if (vcpus == 0)
		return refuse(why, "--cpus is 0: give the VM at least 1 vCPU");
	if (host_vcpus && vcpus > host_vcpus)
		return refuse(why,
			"--cpus %u is more than the host's %u logical CPUs; give "
			"at most %u",
			vcpus, host_vcpus, host_vcpus);
	if (memory < MIB)
		return refuse(why,
			"--memory is %llu bytes: give the VM at least 1M (Windows "
			"11 needs 4G)",
			(unsigned long long)memory);
	if (host_memory && memory > host_memory)
		return refuse(why,
			"--memory %lluM is more than the host's %lluM of RAM; give "
			"at most %lluM",
			(unsigned long long)(memory / MIB), (unsigned long long)(host_memory / MIB),
			(unsigned long long)(host_memory / MIB));
	return 0;
}
