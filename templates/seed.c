/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/crypt.h"
#include "lib/iso.h"
#include "lib/util.h"
#include "templates/password.h"
#include "templates/seed.h"
#include "templates/validate.h"

/*
 * A growing text buffer. Its text may hold the password, so growing it wipes the old copy
 * instead of leaving it to realloc; the first error sticks and later writes do nothing.
 */
struct text {
	char *p;
	size_t len, cap;
	int err;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->err)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (!p) {
			t->err = -ENOMEM;
			return;
		}
		if (t->p) {
			memcpy(p, t->p, t->len);
			explicit_bzero(t->p, t->cap);
			free(t->p);
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/* Markup only: never a user's value, which goes through yaml_str() or xml_str(). */
static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		t->err = t->err ? t->err : -EINVAL;
	else
		text_put(t, buf, (size_t)n);
}

/* Hands the text over (NULL and the error when there was one). */
static int text_take(struct text *t, char **ret)
{
	if (t->err || !t->p) {
		gpv_password_free(t->p);
		return t->err ? t->err : -ENOMEM;
	}
	*ret = t->p;
	return 0;
}

/* The next code point of valid UTF-8 (checked by the caller) and its length. */
static uint32_t utf8_next(const char *s, size_t *ret_len)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
	*ret_len = n;
	return cp;
}

/*
 * A YAML double-quoted scalar: '\' and '"' escaped, and every character that YAML would not
 * keep as it is (C0 and C1 controls, DEL, the line breaks NEL, LS and PS that a reader folds
 * into spaces, the BOM, non-characters) written as an escape.
 */
static void yaml_str(struct text *t, const char *s)
{
	text_puts(t, "\"");
	while (*s) {
		size_t n;
		uint32_t cp = utf8_next(s, &n);

		if (cp == '\\' || cp == '"')
			text_printf(t, "\\%c", (char)cp);
		else if (cp == 0x85)
			text_puts(t, "\\N");
		else if (cp == 0x2028)
			text_puts(t, "\\L");
		else if (cp == 0x2029)
			text_puts(t, "\\P");
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			text_printf(t, "\\x%02x", (unsigned)cp);
		else if (cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
			text_printf(t, "\\u%04x", (unsigned)cp);
		else
			text_put(t, s, n);
		s += n;
	}
	text_puts(t, "\"");
}

/* XML 1.0's Char production. */
static bool xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}

/* XML text or attribute value: the five special characters as entities. */
static void xml_str(struct text *t, const char *s)
{
	while (*s) {
		size_t n;
		uint32_t cp = utf8_next(s, &n);

		switch (cp) {
		case '&':
			text_puts(t, "&amp;");
			break;
		case '<':
			text_puts(t, "&lt;");
			break;
		case '>':
			text_puts(t, "&gt;");
			break;
		case '"':
			text_puts(t, "&quot;");
			break;
		case '\'':
			text_puts(t, "&apos;");
			break;
		default:
			if (!xml_char(cp))
				t->err = t->err ? t->err : -EINVAL;
			text_put(t, s, n);
		}
		s += n;
	}
}

/* <tag>value</tag> on a line of its own, at depth. */
static void xml_leaf(struct text *t, unsigned depth, const char *tag, const char *value)
{
	text_printf(t, "%*s<%s>", (int)depth * 2, "", tag);
	xml_str(t, value);
	text_printf(t, "</%s>\n", tag);
}

static void xml_line(struct text *t, unsigned depth, const char *markup)
{
	text_printf(t, "%*s", (int)depth * 2, "");
	text_puts(t, markup);
	text_puts(t, "\n");
}

#define say(why, ...) gpv_why(why, -EINVAL, __VA_ARGS__)

/* An optional free-text setting: UTF-8 without control characters, at most 128 bytes. */
static int check_setting(const char *what, const char *v, char **why)
{
	if (!v)
		return 0;
	if (!*v || strlen(v) > 128 || !gpv_valid_utf8(v))
		return say(why,
			"the %s is empty, too long or not UTF-8; give a value such as the "
			"defaults in gpupv's manual",
			what);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return say(why, "the %s holds a control character; remove it", what);
	return 0;
}

/* The rules every seed follows; the password is never quoted. */
static int check(const struct gpv_seed *s, enum gpv_guest_os os, char **why)
{
	int r;

	if ((r = gpv_valid_domain_name(s->name, why)) < 0)
		return r;
	r = os == GPV_GUEST_WINDOWS ? gpv_valid_computer_name(s->hostname, why)
				    : gpv_valid_hostname(s->hostname, why);
	if (r < 0)
		return r;
	if ((r = gpv_valid_user_name(s->user, s->hostname, os, why)) < 0 ||
		(r = gpv_valid_user_name(s->user, s->name, os, why)) < 0)
		return r;
	if (!s->password || !*s->password)
		return say(why,
			"no password given for '%s': give it in a file or on standard "
			"input",
			s->user);
	if (!gpv_valid_utf8(s->password))
		return say(why, "the password is not valid UTF-8; write it in UTF-8");
	for (const char *p = s->password; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return say(why, "the password holds a control character, which the install "
					"files cannot carry; choose another");
	if ((r = check_setting("locale", s->locale, why)) < 0 ||
		(r = check_setting("keyboard layout", s->keyboard, why)) < 0 ||
		(r = check_setting("time zone", s->timezone, why)) < 0 ||
		(r = check_setting("Windows edition", s->edition, why)) < 0)
		return r;
	return 0;
}

int gpv_seed_cloud_init(
	const struct gpv_seed *s, char **ret_meta_data, char **ret_user_data, char **why)
{
	struct text meta = {0}, user = {0};
	_cleanup_free_ char *hash = NULL;
	char *m = NULL;
	int r;

	r = check(s, GPV_GUEST_LINUX, why);
	if (r < 0)
		return r;
	r = gpv_crypt_sha512(s->password, &hash);
	if (r < 0)
		return r;

	text_puts(&meta, "instance-id: ");
	yaml_str(&meta, s->name);
	text_puts(&meta, "\nlocal-hostname: ");
	yaml_str(&meta, s->hostname);
	text_puts(&meta, "\n");

	/* Every value is a double-quoted scalar: a host called "no" or "1e3" stays a string. */
	text_puts(&user, "#cloud-config\n");
	text_puts(&user, "# Made by gpupv: the first boot's user, host name and login settings.\n");
	text_puts(&user, "hostname: ");
	yaml_str(&user, s->hostname);
	text_puts(&user, "\npreserve_hostname: false\n");
	text_puts(&user, "users:\n  - name: ");
	yaml_str(&user, s->user);
	text_puts(&user, "\n    sudo: \"ALL=(ALL) ALL\"\n"
			 "    shell: /bin/bash\n"
			 "    lock_passwd: false\n"
			 "    passwd: ");
	yaml_str(&user, hash);
	text_printf(&user, "\nssh_pwauth: %s\n", s->ssh_pwauth ? "true" : "false");
	/* The password was chosen by the user: no change forced at first login. */
	text_puts(&user, "chpasswd:\n  expire: false\n");
	if (s->locale) {
		text_puts(&user, "locale: ");
		yaml_str(&user, s->locale);
		text_puts(&user, "\n");
	}
	if (s->timezone) {
		text_puts(&user, "timezone: ");
		yaml_str(&user, s->timezone);
		text_puts(&user, "\n");
	}
	r = text_take(&meta, &m);
	if (r < 0) {
		gpv_password_free(user.p);
		return r;
	}
	r = text_take(&user, ret_user_data);
	if (r < 0) {
		free(m);
		return r;
	}
	*ret_meta_data = m;
	return 0;
}

#define COMPONENT(name)                                                                            \
	"<component name=\"" name "\" processorArchitecture=\"amd64\" "                            \
	"publicKeyToken=\"31bf3856ad364e35\" language=\"neutral\" versionScope=\"nonSxS\">"

static void win_locale(struct text *t, const struct gpv_seed *s, bool pe)
{
	const char *locale = s->locale ? s->locale : "en-US";
	const char *keyboard = s->keyboard ? s->keyboard : locale;

	xml_line(t, 2,
		pe ? COMPONENT("Microsoft-Windows-International-Core-WinPE")
		   : COMPONENT("Microsoft-Windows-International-Core"));
	if (pe) {
		xml_line(t, 3, "<SetupUILanguage>");
		xml_leaf(t, 4, "UILanguage", locale);
		xml_line(t, 3, "</SetupUILanguage>");
	}
	xml_leaf(t, 3, "InputLocale", keyboard);
	xml_leaf(t, 3, "SystemLocale", locale);
	xml_leaf(t, 3, "UILanguage", locale);
	xml_leaf(t, 3, "UserLocale", locale);
	xml_line(t, 2, "</component>");
}

/* A RunSynchronousCommand of Setup (windowsPE) or Deployment (specialize). */
static void win_command(struct text *t, unsigned order, const char *path)
{
	xml_line(t, 4, "<RunSynchronousCommand wcm:action=\"add\">");
	text_printf(t, "%*s<Order>%u</Order>\n", 10, "", order);
	xml_leaf(t, 5, "Path", path);
	xml_line(t, 4, "</RunSynchronousCommand>");
}

static void win_password(struct text *t, unsigned depth, const char *password)
{
	xml_line(t, depth, "<Password>");
	xml_leaf(t, depth + 1, "Value", password);
	xml_leaf(t, depth + 1, "PlainText", "true");
	xml_line(t, depth, "</Password>");
}

static void win_partition(struct text *t, unsigned order, const char *type, unsigned size_mb)
{
	xml_line(t, 5, "<CreatePartition wcm:action=\"add\">");
	text_printf(t, "%*s<Order>%u</Order>\n", 12, "", order);
	xml_leaf(t, 6, "Type", type);
	if (size_mb)
		text_printf(t, "%*s<Size>%u</Size>\n", 12, "", size_mb);
	else
		xml_leaf(t, 6, "Extend", "true");
	xml_line(t, 5, "</CreatePartition>");
}

static void win_format(
	struct text *t, unsigned id, const char *format, const char *label, const char *letter)
{
	xml_line(t, 5, "<ModifyPartition wcm:action=\"add\">");
	text_printf(t, "%*s<Order>%u</Order>\n", 12, "", id);
	text_printf(t, "%*s<PartitionID>%u</PartitionID>\n", 12, "", id);
	if (format) {
		xml_leaf(t, 6, "Format", format);
		xml_leaf(t, 6, "Label", label);
	}
	if (letter)
		xml_leaf(t, 6, "Letter", letter);
	xml_line(t, 5, "</ModifyPartition>");
}

/* windowsPE: language, the whole of disk 0 for Windows (GPT: EFI, MSR, Windows), the EULA,
 * and the Windows 11 hardware checks lifted, as a VM may lack a TPM or Secure Boot. */
static void win_pe(struct text *t, const struct gpv_seed *s)
{
	static const char *const bypass[] = {
		"BypassTPMCheck",
		"BypassSecureBootCheck",
		"BypassRAMCheck",
		"BypassCPUCheck",
	};

	xml_line(t, 1, "<settings pass=\"windowsPE\">");
	win_locale(t, s, true);
	xml_line(t, 2, COMPONENT("Microsoft-Windows-Setup"));
	xml_line(t, 3, "<DiskConfiguration>");
	xml_line(t, 4, "<Disk wcm:action=\"add\">");
	xml_leaf(t, 5, "DiskID", "0");
	xml_leaf(t, 5, "WillWipeDisk", "true");
	xml_line(t, 5, "<CreatePartitions>");
	win_partition(t, 1, "EFI", 300);
	win_partition(t, 2, "MSR", 16);
	win_partition(t, 3, "Primary", 0);
	xml_line(t, 5, "</CreatePartitions>");
	xml_line(t, 5, "<ModifyPartitions>");
	win_format(t, 1, "FAT32", "System", NULL);
	win_format(t, 2, NULL, NULL, NULL);
	win_format(t, 3, "NTFS", "Windows", "C");
	xml_line(t, 5, "</ModifyPartitions>");
	xml_line(t, 4, "</Disk>");
	xml_line(t, 3, "</DiskConfiguration>");
	xml_line(t, 3, "<ImageInstall>");
	xml_line(t, 4, "<OSImage>");
	if (s->edition) {
		xml_line(t, 5, "<InstallFrom>");
		xml_line(t, 6, "<MetaData wcm:action=\"add\">");
		xml_leaf(t, 7, "Key", "/IMAGE/NAME");
		xml_leaf(t, 7, "Value", s->edition);
		xml_line(t, 6, "</MetaData>");
		xml_line(t, 5, "</InstallFrom>");
	}
	xml_line(t, 5, "<InstallTo>");
	xml_leaf(t, 6, "DiskID", "0");
	xml_leaf(t, 6, "PartitionID", "3");
	xml_line(t, 5, "</InstallTo>");
	xml_line(t, 4, "</OSImage>");
	xml_line(t, 3, "</ImageInstall>");
	xml_line(t, 3, "<RunSynchronous>");
	for (unsigned i = 0; i < ELEMENTSOF(bypass); i++) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd),
			"reg add HKLM\\SYSTEM\\Setup\\LabConfig /v %s /t REG_DWORD /d 1 /f",
			bypass[i]);
		win_command(t, i + 1, cmd);
	}
	xml_line(t, 3, "</RunSynchronous>");
	xml_line(t, 3, "<UserData>");
	xml_leaf(t, 4, "AcceptEula", "true");
	xml_line(t, 3, "</UserData>");
	xml_line(t, 2, "</component>");
	xml_line(t, 1, "</settings>");
}

/* specialize: the computer name, the time zone, and BypassNRO so that OOBE offers a local
 * account without a network, as Easy-GPU-PV sets it. */
static void win_specialize(struct text *t, const struct gpv_seed *s, const char *tz)
{
	xml_line(t, 1, "<settings pass=\"specialize\">");
	xml_line(t, 2, COMPONENT("Microsoft-Windows-Shell-Setup"));
	xml_leaf(t, 3, "ComputerName", s->hostname);
	xml_leaf(t, 3, "TimeZone", tz);
	xml_line(t, 2, "</component>");
	xml_line(t, 2, COMPONENT("Microsoft-Windows-Deployment"));
	xml_line(t, 3, "<RunSynchronous>");
	win_command(t, 1,
		"reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\OOBE /v "
		"BypassNRO /t REG_DWORD /d 1 /f");
	xml_line(t, 3, "</RunSynchronous>");
	xml_line(t, 2, "</component>");
	xml_line(t, 1, "</settings>");
}

/* oobeSystem: no questions (EULA, OEM, online account, wireless, privacy), the local
 * administrator, and the automatic logons. */
static void win_oobe(struct text *t, const struct gpv_seed *s, const char *tz)
{
	xml_line(t, 1, "<settings pass=\"oobeSystem\">");
	win_locale(t, s, false);
	xml_line(t, 2, COMPONENT("Microsoft-Windows-Shell-Setup"));
	if (s->autologon) {
		xml_line(t, 3, "<AutoLogon>");
		xml_leaf(t, 4, "Enabled", "true");
		text_printf(t, "%*s<LogonCount>%u</LogonCount>\n", 8, "", s->autologon);
		win_password(t, 4, s->password);
		xml_leaf(t, 4, "Username", s->user);
		xml_line(t, 3, "</AutoLogon>");
	}
	xml_line(t, 3, "<OOBE>");
	xml_leaf(t, 4, "HideEULAPage", "true");
	xml_leaf(t, 4, "HideLocalAccountScreen", "true");
	xml_leaf(t, 4, "HideOEMRegistrationScreen", "true");
	xml_leaf(t, 4, "HideOnlineAccountScreens", "true");
	xml_leaf(t, 4, "HideWirelessSetupInOOBE", "true");
	xml_leaf(t, 4, "ProtectYourPC", "3");
	xml_line(t, 3, "</OOBE>");
	xml_leaf(t, 3, "TimeZone", tz);
	xml_line(t, 3, "<UserAccounts>");
	xml_line(t, 4, "<LocalAccounts>");
	xml_line(t, 5, "<LocalAccount wcm:action=\"add\">");
	win_password(t, 6, s->password);
	xml_leaf(t, 6, "DisplayName", s->user);
	xml_leaf(t, 6, "Group", "Administrators");
	xml_leaf(t, 6, "Name", s->user);
	xml_line(t, 5, "</LocalAccount>");
	xml_line(t, 4, "</LocalAccounts>");
	xml_line(t, 3, "</UserAccounts>");
	xml_line(t, 2, "</component>");
	xml_line(t, 1, "</settings>");
}

int gpv_seed_windows(const struct gpv_seed *s, char **ret_xml, char **why)
{
	const char *tz = s->timezone ? s->timezone : "UTC";
	struct text t = {0};
	int r;

	r = check(s, GPV_GUEST_WINDOWS, why);
	if (r < 0)
		return r;
	text_puts(&t, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
	text_puts(&t, "<!-- Made by gpupv: Windows 11 Setup without questions. -->\n");
	text_puts(&t, "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\" "
		      "xmlns:wcm=\"http://schemas.microsoft.com/WMIConfig/2002/State\" "
		      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
	win_pe(&t, s);
	win_specialize(&t, s, tz);
	win_oobe(&t, s, tz);
	text_puts(&t, "</unattend>\n");
	return text_take(&t, ret_xml);
}

int gpv_seed_write_iso(const struct gpv_seed *s, enum gpv_guest_os os, const char *path, char **why)
{
	char *a = NULL, *b = NULL;
	int r;

	if (os == GPV_GUEST_WINDOWS) {
		r = gpv_seed_windows(s, &a, why);
		if (r < 0)
			return r;
		/* Windows Setup reads the Joliet name; "AUTOUNAT.XML" is all plain ISO 9660 keeps.
		 */
		r = gpv_iso_write(path, "AUTOUNATTEND",
			(const struct gpv_iso_file[]){
				{"autounattend.xml", a, strlen(a)},
			},
			1);
	} else {
		r = gpv_seed_cloud_init(s, &a, &b, why);
		if (r < 0)
			return r;
		r = gpv_iso_write(path, GPV_SEED_CIDATA,
			(const struct gpv_iso_file[]){
				{"meta-data", a, strlen(a)},
				{"user-data", b, strlen(b)},
			},
			2);
	}
	gpv_password_free(a);
	gpv_password_free(b);
	return r;
}
