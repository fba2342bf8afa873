/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/crypt.h"
#include "lib/iso.h"
#include "lib/util.h"
#include "templates/password.h"
#include "templates/seed.h"
#include "tests/unit/tap.h"

#define PASSWORD "s3cr\"et <&> 'x': \xc3\xbc"

static const struct gpv_seed linux_seed = {
	.name = "ubuntu-gpu",
	.hostname = "ubuntu-gpu",
	.user = "alice",
	.password = PASSWORD,
	.ssh_pwauth = true,
};

static const struct gpv_seed windows_seed = {
	.name = "win11",
	.hostname = "WIN11-GPU",
	.user = "Alice",
	.password = PASSWORD,
	.autologon = 3,
};

static char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = NULL;

	check(gpv_asprintf(&d, "%s/gpv-test-seed.XXXXXX", t && *t ? t : "/tmp") == 0);
	check(mkdtemp(d));
	return d;
}

static void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	check(d);
	while ((e = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		check(gpv_asprintf(&p, "%s/%s", dir, e->d_name) == 0);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	check(d);
	while ((e = readdir(d)))
		n += !streq(e->d_name, ".") && !streq(e->d_name, "..");
	closedir(d);
	return n;
}

/* The value of "    passwd: "...\"" in user-data. */
static char *passwd_of(const char *user_data)
{
	const char *p = strstr(user_data, "    passwd: \"");
	size_t n;

	check(p);
	p += strlen("    passwd: \"");
	n = strcspn(p, "\"");
	return strndup(p, n);
}

TEST(cloud_init_files)
{
	_cleanup_free_ char *meta = NULL, *user = NULL, *hash = NULL;
	char *why = NULL;

	check_int(gpv_seed_cloud_init(&linux_seed, &meta, &user, &why), 0);
	check(!why);
	check_streq(meta, "instance-id: \"ubuntu-gpu\"\nlocal-hostname: \"ubuntu-gpu\"\n");
	check(startswith(user, "#cloud-config\n"));
	check(strstr(user, "\nhostname: \"ubuntu-gpu\"\n"));
	check(strstr(user, "\nusers:\n  - name: \"alice\"\n    sudo: \"ALL=(ALL) ALL\"\n"));
	check(strstr(user, "\n    lock_passwd: false\n"));
	check(strstr(user, "\nssh_pwauth: true\n"));
	check(!strstr(user, "locale"));
	check(!strstr(user, "timezone"));
	/* the password is there only as its SHA-512 hash */
	check(!strstr(user, "s3cr"));
	hash = passwd_of(user);
	check(startswith(hash, "$6$"));
	check_int(gpv_crypt_verify(PASSWORD, hash), 0);
	check_int(gpv_crypt_verify("s3cret", hash), -EACCES);
}

TEST(cloud_init_salt_is_random)
{
	_cleanup_free_ char *m1 = NULL, *u1 = NULL, *m2 = NULL, *u2 = NULL;
	_cleanup_free_ char *h1 = NULL, *h2 = NULL;

	check_int(gpv_seed_cloud_init(&linux_seed, &m1, &u1, NULL), 0);
	check_int(gpv_seed_cloud_init(&linux_seed, &m2, &u2, NULL), 0);
	h1 = passwd_of(u1);
	h2 = passwd_of(u2);
	check(!streq(h1, h2));
	check_int(gpv_crypt_verify(PASSWORD, h2), 0);
}

TEST(cloud_init_quoting)
{
	struct gpv_seed s = linux_seed;
	_cleanup_free_ char *meta = NULL, *user = NULL;

	/* values YAML would misread unquoted, and characters it must see escaped */
	s.name = "no: [x] #\"q\" \\ \xe2\x80\xa8 \xc2\x85 \xc2\x80";
	s.hostname = "yes";
	s.ssh_pwauth = false;
	s.locale = "de_DE.UTF-8";
	s.timezone = "Europe/Berlin";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, NULL), 0);
	check_streq(meta, "instance-id: \"no: [x] #\\\"q\\\" \\\\ \\L \\N \\x80\"\n"
			  "local-hostname: \"yes\"\n");
	check(strstr(user, "\nhostname: \"yes\"\n"));
	check(strstr(user, "\nssh_pwauth: false\n"));
	check(strstr(user, "\nlocale: \"de_DE.UTF-8\"\n"));
	check(strstr(user, "\ntimezone: \"Europe/Berlin\"\n"));
}

TEST(seed_refuses_bad_input)
{
	struct gpv_seed s = linux_seed;
	char *meta = NULL, *user = NULL, *xml = NULL, *why = NULL;

	s.hostname = "bad_host";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, &why), -EINVAL);
	check(why && strstr(why, "'bad_host'"));
	free(why);
	why = NULL;

	s = linux_seed;
	s.hostname = "Alice";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, &why), -EINVAL);
	check(why && strstr(why, "guest's name"));
	free(why);
	why = NULL;

	s = linux_seed;
	s.password = "line1\nline2";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, &why), -EINVAL);
	check(why && strstr(why, "control character") && !strstr(why, "line1"));
	free(why);
	why = NULL;

	s = linux_seed;
	s.password = "";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, &why), -EINVAL);
	free(why);
	why = NULL;

	s = linux_seed;
	s.locale = "en\nUS";
	check_int(gpv_seed_cloud_init(&s, &meta, &user, &why), -EINVAL);
	free(why);
	why = NULL;

	/* a Linux host name of 16 characters is no Windows computer name */
	s = windows_seed;
	s.hostname = "windows-gaming-1";
	check_int(gpv_seed_windows(&s, &xml, &why), -EINVAL);
	check(why && strstr(why, "at most 15"));
	free(why);
	why = NULL;

	s = windows_seed;
	s.password = "bad\xff";
	check_int(gpv_seed_windows(&s, &xml, &why), -EINVAL);
	check(why && strstr(why, "UTF-8"));
	free(why);
	check(!meta && !user && !xml);
}

TEST(windows_xml)
{
	_cleanup_password_ char *xml = NULL;

	check_int(gpv_seed_windows(&windows_seed, &xml, NULL), 0);
	check(startswith(xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"));
	check(strstr(xml, "<ComputerName>WIN11-GPU</ComputerName>"));
	check(strstr(xml, "<Name>Alice</Name>"));
	check(strstr(xml, "<Group>Administrators</Group>"));
	check(strstr(xml, "<Value>s3cr&quot;et &lt;&amp;&gt; &apos;x&apos;: \xc3\xbc</Value>"));
	check(strstr(xml, "<PlainText>true</PlainText>"));
	check(!strstr(xml, PASSWORD));
	check(strstr(xml, "<LogonCount>3</LogonCount>"));
	check(strstr(xml, "<Username>Alice</Username>"));
	check(strstr(xml, "<HideOnlineAccountScreens>true</HideOnlineAccountScreens>"));
	check(strstr(xml, "<HideEULAPage>true</HideEULAPage>"));
	check(strstr(xml, "/v BypassNRO /t REG_DWORD /d 1 /f"));
	check(strstr(xml, "<UILanguage>en-US</UILanguage>"));
	check(strstr(xml, "<InputLocale>en-US</InputLocale>"));
	check(strstr(xml, "<TimeZone>UTC</TimeZone>"));
	check(!strstr(xml, "<InstallFrom>"));
	check(strstr(xml, "</unattend>\n"));
}

TEST(windows_xml_options)
{
	struct gpv_seed s = windows_seed;
	_cleanup_password_ char *xml = NULL;

	s.autologon = 0;
	s.locale = "de-DE";
	s.keyboard = "0407:00000407";
	s.timezone = "W. Europe Standard Time";
	s.edition = "Windows 11 Pro <N>";
	check_int(gpv_seed_windows(&s, &xml, NULL), 0);
	check(!strstr(xml, "<AutoLogon>"));
	check(strstr(xml, "<UserLocale>de-DE</UserLocale>"));
	check(strstr(xml, "<InputLocale>0407:00000407</InputLocale>"));
	check(strstr(xml, "<TimeZone>W. Europe Standard Time</TimeZone>"));
	check(strstr(xml, "<Value>Windows 11 Pro &lt;N&gt;</Value>"));
}

/* Whether the image at path holds the bytes of needle. */
static bool iso_holds(const char *path, const char *needle)
{
	_cleanup_free_ char *data = malloc(1024 * 1024);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	check(fd >= 0 && data);
	n = read(fd, data, 1024 * 1024);
	close(fd);
	check(n > 0);
	return memmem(data, (size_t)n, needle, strlen(needle)) != NULL;
}

static void check_iso(const char *path, const char *volume_id)
{
	char buf[2048];
	struct stat st;
	int fd;

	check(stat(path, &st) == 0);
	check_int(st.st_mode & 07777, 0600);
	check(st.st_size >= 17 * 2048);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	check(fd >= 0);
	/* the primary volume descriptor: sector 16, "CD001", the label at byte 40 */
	check(pread(fd, buf, sizeof(buf), 16 * 2048) == (ssize_t)sizeof(buf));
	close(fd);
	check(buf[0] == 1 && memcmp(buf + 1, "CD001", 5) == 0);
	check(memcmp(buf + 40, volume_id, strlen(volume_id)) == 0);
	check(buf[40 + strlen(volume_id)] == ' ');
}

TEST(iso_write)
{
	_cleanup_free_ char *dir = tmpdir(), *path = NULL;
	const struct gpv_iso_file files[] = {
		{"meta-data", "first: 1\n", 9},
		{"user-data", "second file", 11},
		{"empty", "", 0},
	};

	check(gpv_asprintf(&path, "%s/seed.iso", dir) == 0);
	/* the umask makes no difference: the image is 0600 */
	umask(0);
	check_int(gpv_iso_write(path, "cidata", files, ELEMENTSOF(files)), 0);
	check_iso(path, "cidata");
	/* the last file's bytes are there too: the image is whole */
	check(iso_holds(path, "first: 1\n") && iso_holds(path, "second file"));
	/* written again over the first, with nothing left beside it */
	check_int(gpv_iso_write(path, "CIDATA", files, 1), 0);
	check_iso(path, "CIDATA");
	check_int(count_entries(dir), 1);
	rmtree(dir);
}

TEST(iso_write_errors)
{
	_cleanup_free_ char *dir = tmpdir(), *path = NULL, *missing = NULL;
	const struct gpv_iso_file slash[] = {{"a/b", "x", 1}};
	const struct gpv_iso_file twice[] = {{"a", "x", 1}, {"a", "y", 1}};
	const struct gpv_iso_file good[] = {{"a", "x", 1}};

	check(gpv_asprintf(&path, "%s/x.iso", dir) == 0);
	check(gpv_asprintf(&missing, "%s/no/x.iso", dir) == 0);
	check_int(gpv_iso_write(path, "v", slash, 1), -EINVAL);
	check_int(gpv_iso_write(path, "", good, 1), -EINVAL);
	check_int(gpv_iso_write(path, "a-label-longer-than-32-bytes-xxxx", good, 1), -EINVAL);
	check_int(gpv_iso_write(path, "v", twice, 2), -EEXIST);
	check_int(gpv_iso_write(missing, "v", good, 1), -ENOENT);
	/* no half-written file left behind */
	check_int(count_entries(dir), 0);
	rmtree(dir);
}

TEST(seed_iso_both)
{
	_cleanup_free_ char *dir = tmpdir(), *lin = NULL, *win = NULL;

	check(gpv_asprintf(&lin, "%s/linux.iso", dir) == 0);
	check(gpv_asprintf(&win, "%s/windows.iso", dir) == 0);
	check_int(gpv_seed_write_iso(&linux_seed, GPV_GUEST_LINUX, lin, NULL), 0);
	check_iso(lin, GPV_SEED_CIDATA);
	check(iso_holds(lin, "instance-id: \"ubuntu-gpu\"\n"));
	check(iso_holds(lin, "#cloud-config\n"));
	check(!iso_holds(lin, "s3cr"));
	check_int(gpv_seed_write_iso(&windows_seed, GPV_GUEST_WINDOWS, win, NULL), 0);
	check_iso(win, "AUTOUNATTEND");
	check(iso_holds(win, "</unattend>\n"));
	rmtree(dir);
}

static char *write_file(const char *dir, const char *name, const char *content, mode_t mode)
{
	char *p = NULL;
	int fd;

	check(gpv_asprintf(&p, "%s/%s", dir, name) == 0);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0);
	check(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	check(fchmod(fd, mode) == 0);
	close(fd);
	return p;
}

/* The password read from a file holding content, or the error; why never quotes it. */
static int read_pw(const char *dir, const char *content, mode_t mode, char **ret)
{
	_cleanup_free_ char *p = write_file(dir, "pw", content, mode);
	char *why = NULL;
	int r = gpv_password_read(p, ret, &why);

	check((r < 0) == !!why);
	if (why) {
		check(strstr(why, p));
		check(!strstr(why, "hunter"));
		free(why);
	}
	return r;
}

TEST(password_file)
{
	_cleanup_free_ char *dir = tmpdir(), *big = malloc(GPV_PASSWORD_MAX + 2);
	char *pw = NULL, *why = NULL;

	check_int(read_pw(dir, "hunter2\n", 0600, &pw), 0);
	check_streq(pw, "hunter2");
	gpv_password_free(pw);
	check_int(read_pw(dir, "hunter2 \"<&>\" \xc3\xbc\r\n", 0400, &pw), 0);
	check_streq(pw, "hunter2 \"<&>\" \xc3\xbc");
	gpv_password_free(pw);
	check_int(read_pw(dir, "hunter2", 0600, &pw), 0);
	check_streq(pw, "hunter2");
	gpv_password_free(pw);
	pw = NULL;
	check_int(read_pw(dir, "hunter2\n", 0644, &pw), -EACCES);
	check_int(read_pw(dir, "hunter2\n", 0640, &pw), -EACCES);
	check_int(read_pw(dir, "hunter2\n", 0602, &pw), -EACCES);
	check_int(read_pw(dir, "", 0600, &pw), -EINVAL);
	check_int(read_pw(dir, "\n", 0600, &pw), -EINVAL);
	check_int(read_pw(dir, "hunter2\nhunter3\n", 0600, &pw), -EINVAL);
	check_int(read_pw(dir, "hunter2\n\n", 0600, &pw), -EINVAL);
	check_int(read_pw(dir, "hunter\t2\n", 0600, &pw), -EINVAL);
	check_int(read_pw(dir, "hunter\xff\n", 0600, &pw), -EINVAL);
	memset(big, 'h', GPV_PASSWORD_MAX + 1);
	big[GPV_PASSWORD_MAX + 1] = '\0';
	check_int(read_pw(dir, big, 0600, &pw), -E2BIG);
	big[GPV_PASSWORD_MAX] = '\0';
	check_int(read_pw(dir, big, 0600, &pw), 0);
	check_int(strlen(pw), GPV_PASSWORD_MAX);
	gpv_password_free(pw);
	pw = NULL;

	/* the message for a loose mode says what to run */
	{
		_cleanup_free_ char *p = write_file(dir, "loose", "hunter2\n", 0644);

		check_int(gpv_password_read(p, &pw, &why), -EACCES);
		check(strstr(why, "chmod 600") && strstr(why, "0644"));
		free(why);
		why = NULL;
	}
	check_int(gpv_password_read(dir, &pw, &why), -EINVAL);
	check(strstr(why, "not a regular file"));
	free(why);
	why = NULL;
	check_int(gpv_password_read("/nonexistent/pw", &pw, &why), -ENOENT);
	free(why);
	check(!pw);
	rmtree(dir);
}

TEST(password_stdin)
{
	int fds[2];
	char *pw = NULL, *why = NULL, rest[16] = "";
	const char input[] = "hunter2\nnext line\n";

	check(pipe(fds) == 0);
	check(write(fds[1], input, strlen(input)) == (ssize_t)strlen(input));
	close(fds[1]);
	check(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
	close(fds[0]);
	check_int(gpv_password_read("-", &pw, &why), 0);
	check_streq(pw, "hunter2");
	gpv_password_free(pw);
	/* only the first line was taken */
	check(read(STDIN_FILENO, rest, sizeof(rest) - 1) == 10);
	check_streq(rest, "next line\n");
	/* an empty standard input */
	check_int(gpv_password_read("-", &pw, &why), -EINVAL);
	check(strstr(why, "standard input") && strstr(why, "empty"));
	free(why);
}
